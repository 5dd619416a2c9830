
/*
 * Copyright (C) ngx_llm_module authors
 *
 * The answer cache's second level, redis=NAME: the exact entries are
 * shared by the fleet.  A complete answer stored here is also SET in
 * Redis, with the zone's TTL, under its key's digest (the scope is part
 * of it: never across tenants); an exact miss here asks Redis before the
 * upstream, the request waiting at most the llm_redis timeout.  A Redis
 * failure is a miss.
 *
 * The value: "LLC1", created (8 bytes), prompt and completion tokens (4
 * each), the text's length (4), the stop's (2), the model's and the
 * finish reason's (1 each), then model, finish, stop, text; integers in
 * the host's order (the fleet runs one build).
 */


#include "ngx_http_llm_cache.h"


#define NGX_HTTP_LLM_CACHE_REDIS_HEADER  28


static void ngx_http_llm_cache_redis_found(ngx_http_llm_redis_cmd_t *cmd,
    ngx_int_t rc, ngx_http_llm_resp_value_t *v, size_t n);
static void ngx_http_llm_cache_redis_cleanup(void *data);


static u_char *
ngx_http_llm_cache_redis_key(u_char *p, ngx_http_llm_cache_zone_t *zone,
    u_char *digest)
{
    p = ngx_sprintf(p, "llm:cache:{%V}:", &zone->name);
    return ngx_hex_dump(p, digest, NGX_HTTP_LLM_CACHE_DIGEST);
}


void
ngx_http_llm_cache_redis_store(ngx_http_request_t *r, ngx_http_llm_ctx_t *ctx,
    ngx_http_llm_cache_ctx_t *cctx, time_t now)
{
    u_char                     *p;
    size_t                      size;
    uint16_t                    u16;
    uint32_t                    u32;
    uint64_t                    u64;
    ngx_str_t                   argv[5];
    ngx_http_llm_cache_zone_t  *zone;

    zone = cctx->zone;

    if (zone->name.len > 256) {
        return;
    }

    size = NGX_HTTP_LLM_CACHE_REDIS_HEADER + cctx->entry.model.len
           + cctx->entry.finish.len + cctx->entry.stop.len
           + cctx->entry.text.len;

    p = ngx_pnalloc(r->pool, size + 512 + 2 * NGX_HTTP_LLM_CACHE_DIGEST
                             + NGX_TIME_T_LEN);
    if (p == NULL) {
        return;
    }

    argv[2].data = p;

    p = ngx_cpymem(p, "LLC1", 4);
    u64 = (uint64_t) now;
    p = ngx_cpymem(p, &u64, 8);
    u32 = (uint32_t) ngx_min(ctx->prompt_tokens, 0xffffffff);
    p = ngx_cpymem(p, &u32, 4);
    u32 = (uint32_t) ngx_min(ctx->completion_tokens, 0xffffffff);
    p = ngx_cpymem(p, &u32, 4);
    u32 = (uint32_t) cctx->entry.text.len;
    p = ngx_cpymem(p, &u32, 4);
    u16 = (uint16_t) cctx->entry.stop.len;
    p = ngx_cpymem(p, &u16, 2);
    *p++ = (u_char) cctx->entry.model.len;
    *p++ = (u_char) cctx->entry.finish.len;
    p = ngx_cpymem(p, cctx->entry.model.data, cctx->entry.model.len);
    p = ngx_cpymem(p, cctx->entry.finish.data, cctx->entry.finish.len);
    p = ngx_cpymem(p, cctx->entry.stop.data, cctx->entry.stop.len);
    p = ngx_cpymem(p, cctx->entry.text.data, cctx->entry.text.len);

    argv[2].len = p - argv[2].data;

    argv[1].data = p;
    p = ngx_http_llm_cache_redis_key(p, zone, cctx->digest);
    argv[1].len = p - argv[1].data;

    ngx_str_set(&argv[0], "SET");
    ngx_str_set(&argv[3], "EX");

    argv[4].data = p;
    p = ngx_sprintf(p, "%T", zone->ttl);
    argv[4].len = p - argv[4].data;

    if (ngx_http_llm_redis_send(zone->redis, 5, argv, NULL, NULL) != NULL) {
        (void) ngx_atomic_fetch_add(&zone->redis->sh->cache_stores, 1);
    }
}


/* NGX_AGAIN: Redis is asked, the request waits; NGX_DECLINED: a miss */

ngx_int_t
ngx_http_llm_cache_redis_lookup(ngx_http_request_t *r,
    ngx_http_llm_cache_ctx_t *cctx)
{
    u_char                     *p;
    ngx_str_t                   argv[2];
    ngx_pool_cleanup_t         *cln;
    ngx_http_llm_cache_zone_t  *zone;
    u_char                      key[320 + 2 * NGX_HTTP_LLM_CACHE_DIGEST];

    zone = cctx->zone;

    if (zone->name.len > 256) {
        return NGX_DECLINED;
    }

    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (cln == NULL) {
        return NGX_DECLINED;
    }

    p = ngx_http_llm_cache_redis_key(key, zone, cctx->digest);

    ngx_str_set(&argv[0], "GET");
    argv[1].data = key;
    argv[1].len = p - key;

    cctx->redis_cmd = ngx_http_llm_redis_send(zone->redis, 2, argv,
                                              ngx_http_llm_cache_redis_found,
                                              cctx);
    if (cctx->redis_cmd == NULL) {
        return NGX_DECLINED;
    }

    /* the request may go before the reply: the reply is then ignored */

    cln->handler = ngx_http_llm_cache_redis_cleanup;
    cln->data = cctx;

    return NGX_AGAIN;
}


static void
ngx_http_llm_cache_redis_cleanup(void *data)
{
    ngx_http_llm_cache_ctx_t *cctx = data;

    if (cctx->redis_cmd) {
        cctx->redis_cmd->handler = NULL;
        cctx->redis_cmd = NULL;
    }
}


/* an entry of the value, checked: NGX_OK, its fields in cctx */

static ngx_int_t
ngx_http_llm_cache_redis_decode(ngx_http_request_t *r,
    ngx_http_llm_cache_ctx_t *cctx, ngx_http_llm_resp_value_t *v)
{
    u_char          *p;
    size_t           len;
    time_t           now;
    uint16_t         stop_len;
    uint32_t         prompt, completion, text_len;
    uint64_t         created;
    ngx_uint_t       model_len, finish_len;
    const u_char    *d;

    if (v->type != NGX_HTTP_LLM_RESP_BULK
        || v->len < NGX_HTTP_LLM_CACHE_REDIS_HEADER
        || ngx_memcmp(v->data, "LLC1", 4) != 0)
    {
        return NGX_DECLINED;
    }

    d = v->data + 4;

    ngx_memcpy(&created, d, 8);
    ngx_memcpy(&prompt, d + 8, 4);
    ngx_memcpy(&completion, d + 12, 4);
    ngx_memcpy(&text_len, d + 16, 4);
    ngx_memcpy(&stop_len, d + 20, 2);
    model_len = d[22];
    finish_len = d[23];

    len = (size_t) text_len + stop_len + model_len + finish_len;

    if (len != v->len - NGX_HTTP_LLM_CACHE_REDIS_HEADER || text_len == 0
        || text_len > cctx->zone->max_entry)
    {
        return NGX_DECLINED;
    }

    /* this zone's TTL applies */

    now = ngx_time();

    if ((time_t) created > now || now - (time_t) created >= cctx->zone->ttl) {
        return NGX_DECLINED;
    }

    p = ngx_pnalloc(r->pool, len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(p, v->data + NGX_HTTP_LLM_CACHE_REDIS_HEADER, len);

    cctx->entry.model.data = p;
    cctx->entry.model.len = model_len;
    p += model_len;

    cctx->entry.finish.data = p;
    cctx->entry.finish.len = finish_len;
    p += finish_len;

    cctx->entry.stop.data = p;
    cctx->entry.stop.len = stop_len;
    p += stop_len;

    cctx->entry.text.data = p;
    cctx->entry.text.len = text_len;

    cctx->entry.prompt_tokens = prompt;
    cctx->entry.completion_tokens = completion;
    cctx->entry.created = (time_t) created;

    return NGX_OK;
}


static void
ngx_http_llm_cache_redis_found(ngx_http_llm_redis_cmd_t *cmd, ngx_int_t rc,
    ngx_http_llm_resp_value_t *v, size_t n)
{
    ngx_http_llm_cache_ctx_t *cctx = cmd->data;

    uint64_t                        nano;
    ngx_connection_t               *c;
    ngx_http_request_t             *r;
    ngx_http_llm_ctx_t             *ctx;
    ngx_http_llm_cache_zone_t      *zone;
    ngx_http_llm_cache_loc_conf_t  *clcf;

    cctx->redis_cmd = NULL;

    r = cctx->request;
    ctx = cctx->ctx;
    c = r->connection;
    zone = cctx->zone;

    rc = (rc == NGX_OK) ? ngx_http_llm_cache_redis_decode(r, cctx, v)
                        : NGX_DECLINED;

    if (rc == NGX_OK) {
        cctx->status = NGX_HTTP_LLM_CACHE_HIT;
        cctx->store = 0;
        cctx->similarity = 1;
        r->content_handler = ngx_http_llm_cache_handler;

        if (ngx_http_llm_cost_of(ctx, cctx->entry.prompt_tokens,
                                 cctx->entry.completion_tokens, &nano)
            != NGX_OK)
        {
            nano = 0;
        }

        ngx_shmtx_lock(&zone->shpool->mutex);
        zone->sh->hits++;
        zone->sh->tokens_saved += cctx->entry.prompt_tokens
                                  + cctx->entry.completion_tokens;
        zone->sh->nano_usd_saved += nano;
        ngx_shmtx_unlock(&zone->shpool->mutex);

        (void) ngx_atomic_fetch_add(&zone->redis->sh->cache_hits, 1);

        ngx_log_debug1(NGX_LOG_DEBUG_HTTP, c->log, 0,
                       "llm cache \"%V\": hit in Redis", &zone->name);

        rc = NGX_OK;

    } else if (rc == NGX_ERROR) {
        rc = NGX_HTTP_INTERNAL_SERVER_ERROR;

    } else {
        (void) ngx_atomic_fetch_add(&zone->redis->sh->cache_misses, 1);

        /* the rest of the lookup: the semantic level */

        clcf = ngx_http_get_module_loc_conf(r, ngx_http_llm_cache_module);

        if (cctx->remote
            && ngx_http_llm_cache_embed_start(r, ctx, cctx, clcf) == NGX_AGAIN)
        {
            /* the embedder resumes the request */
            return;
        }

        rc = ngx_http_llm_cache_semantic_end(r, ctx, cctx);

        if (rc == NGX_ERROR) {
            rc = NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
    }

    ngx_http_llm_resume(r, ctx, rc);
    ngx_http_run_posted_requests(c);
}
