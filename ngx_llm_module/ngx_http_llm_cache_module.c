
/*
 * Copyright (C) ngx_llm_module authors
 *
 * Answer cache: complete, successful answers kept in a shared memory zone
 * and served again, without going upstream, to a later request with the
 * same key (see ngx_http_llm_cache.h for its files).  This is its glue:
 * the module, its directives and configuration, the lookup (the
 * pipeline's ANSWER hook: key, exact, Redis, embedder, semantic), the
 * X-LLM-Cache header filter, the $llm_cache_* variables and the counters
 * of llm_status.
 */


#include "ngx_http_llm_cache.h"


static ngx_int_t ngx_http_llm_cache_fetch(ngx_http_request_t *r,
    ngx_http_llm_ctx_t *ctx, ngx_http_llm_cache_ctx_t *cctx);
static ngx_int_t ngx_http_llm_cache_set_header(ngx_http_request_t *r,
    ngx_str_t *key, ngx_str_t *value);
static ngx_int_t ngx_http_llm_cache_header_filter(ngx_http_request_t *r);
static ngx_int_t ngx_http_llm_cache_variable_status(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static ngx_int_t ngx_http_llm_cache_variable_similarity(
    ngx_http_request_t *r, ngx_http_variable_value_t *v, uintptr_t data);
static char *ngx_http_llm_cache_zone(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_llm_cache(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_llm_cache_scope_slot(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_llm_cache_semantic(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_llm_cache_embedder(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_llm_cache_scripts(ngx_conf_t *cf, ngx_str_t *value,
    ngx_http_llm_cache_loc_conf_t *clcf);
static void *ngx_http_llm_cache_create_main_conf(ngx_conf_t *cf);
static char *ngx_http_llm_cache_init_main_conf(ngx_conf_t *cf, void *conf);
static void *ngx_http_llm_cache_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_llm_cache_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child);
static ngx_int_t ngx_http_llm_cache_preconfiguration(ngx_conf_t *cf);
static ngx_int_t ngx_http_llm_cache_postconfiguration(ngx_conf_t *cf);
static void ngx_http_llm_cache_exit_process(ngx_cycle_t *cycle);


static ngx_command_t  ngx_http_llm_cache_commands[] = {

    { ngx_string("llm_cache_zone"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_1MORE,
      ngx_http_llm_cache_zone,
      0,
      0,
      NULL },

    { ngx_string("llm_cache"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_llm_cache,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("llm_cache_scope"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_http_llm_cache_scope_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_llm_cache_loc_conf_t, scope),
      NULL },

    { ngx_string("llm_cache_bypass"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_http_set_predicate_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_llm_cache_loc_conf_t, bypass),
      NULL },

    { ngx_string("llm_cache_semantic"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_llm_cache_semantic,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("llm_cache_embedder"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1234,
      ngx_http_llm_cache_embedder,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_llm_cache_module_ctx = {
    ngx_http_llm_cache_preconfiguration,   /* preconfiguration */
    ngx_http_llm_cache_postconfiguration,  /* postconfiguration */

    ngx_http_llm_cache_create_main_conf,   /* create main configuration */
    ngx_http_llm_cache_init_main_conf,     /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    ngx_http_llm_cache_create_loc_conf,    /* create location configuration */
    ngx_http_llm_cache_merge_loc_conf      /* merge location configuration */
};


ngx_module_t  ngx_http_llm_cache_module = {
    NGX_MODULE_V1,
    &ngx_http_llm_cache_module_ctx,        /* module context */
    ngx_http_llm_cache_commands,           /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    NULL,                                  /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    ngx_http_llm_cache_exit_process,       /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


static ngx_http_variable_t  ngx_http_llm_cache_vars[] = {

    { ngx_string("llm_cache_status"), NULL,
      ngx_http_llm_cache_variable_status, 0, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("llm_cache_similarity"), NULL,
      ngx_http_llm_cache_variable_similarity, 0, NGX_HTTP_VAR_NOCACHEABLE, 0 },

      ngx_http_null_variable
};


static ngx_str_t  ngx_http_llm_cache_statuses[] = {
    ngx_null_string,
    ngx_string("MISS"),
    ngx_string("HIT"),
    ngx_string("BYPASS"),
    ngx_string("SEMANTIC")
};



static ngx_http_output_header_filter_pt  ngx_http_next_header_filter;



/*
 * The pre-content pipeline's cache step, before budgets.  NGX_DECLINED: go
 * on (a miss, or the cache does not apply); NGX_OK: a hit, the content
 * handler is ours; an HTTP status on an internal error.
 */

ngx_int_t
ngx_http_llm_cache_lookup(ngx_http_request_t *r, ngx_http_llm_ctx_t *ctx)
{
    ngx_int_t                       rc;
    ngx_uint_t                      cc;
    ngx_http_llm_cache_ctx_t       *cctx;
    ngx_http_llm_cache_zone_t      *zone;
    ngx_http_llm_cache_loc_conf_t  *clcf;

    clcf = ngx_http_get_module_loc_conf(r, ngx_http_llm_cache_module);

    if (clcf->shm_zone == NULL || r != r->main || ctx->shadow) {
        return NGX_DECLINED;
    }

    zone = clcf->shm_zone->data;

    cctx = ngx_pcalloc(r->pool, sizeof(ngx_http_llm_cache_ctx_t));
    if (cctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->cache = cctx;
    cctx->zone = zone;
    cctx->request = r;
    cctx->ctx = ctx;
    cctx->status = NGX_HTTP_LLM_CACHE_BYPASS;

    if (ngx_http_llm_cache_applies(r, ctx) != NGX_OK) {
        goto bypass;
    }

    /* Cache-Control: no-store: neither read nor written; no-cache: written */

    cc = ngx_http_llm_cache_control(r);

    if (cc & NGX_HTTP_LLM_CACHE_NO_STORE) {
        ngx_log_debug0(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                       "llm cache: \"no-store\" asked by the client");
        goto bypass;
    }

    rc = ngx_http_llm_cache_scope(r, clcf, &cctx->scope);

    if (rc == NGX_ERROR) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (rc == NGX_DECLINED) {
        ngx_log_debug0(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                       "llm cache: no credentials, or an empty scope");
        goto bypass;
    }

    ngx_http_llm_cache_bench_start(cctx);

    if (ngx_http_llm_cache_key(r, ctx, cctx, &ctx->model) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_http_llm_cache_bench_stop(cctx, key_ns);

    cctx->store = 1;

    if (clcf->semantic && ctx->endpoint != NGX_HTTP_LLM_EP_RESPONSES
        && ctx->api != NGX_HTTP_LLM_API_GEMINI)
    {
        ngx_http_llm_cache_bench_start(cctx);
        rc = ngx_http_llm_cache_semantic_key(r, ctx, cctx, clcf);

        if (rc == NGX_ERROR) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
        ngx_http_llm_cache_bench_stop(cctx, sem_key_ns);
    }

    if ((cc & NGX_HTTP_LLM_CACHE_NO_CACHE)
        || ngx_http_test_predicates(r, clcf->bypass) == NGX_DECLINED)
    {
        ngx_log_debug0(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                       "llm cache: lookup bypassed");

        if (ngx_http_llm_cache_arm(r, ctx, cctx) != NGX_OK) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        goto bypass;
    }

    ngx_http_llm_cache_bench_start(cctx);

    rc = ngx_http_llm_cache_fetch(r, ctx, cctx);

    ngx_http_llm_cache_bench_stop(cctx, lookup_ns);

    if (rc == NGX_ERROR) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (rc == NGX_OK) {
        cctx->status = NGX_HTTP_LLM_CACHE_HIT;
        cctx->store = 0;
        r->content_handler = ngx_http_llm_cache_handler;
        return NGX_OK;
    }

    if (zone->redis
        && ngx_http_llm_cache_redis_lookup(r, cctx) == NGX_AGAIN)
    {
        /* an exact miss here: Redis is asked, the request waits */
        return NGX_AGAIN;
    }

    if (cctx->remote) {
        /* the vector of the last message is asked for, the request waits */

        rc = ngx_http_llm_cache_embed_start(r, ctx, cctx, clcf);

        if (rc == NGX_AGAIN) {
            return NGX_AGAIN;
        }

        if (rc == NGX_ERROR) {
            /* the embedder is not asked: the request just misses */
            ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                          "llm cache \"%V\": could not ask the embedder "
                          "\"%V\"", &zone->name, &clcf->embedder_uri);
        }
    }

    return ngx_http_llm_cache_semantic_end(r, ctx, cctx);

bypass:

    (void) ngx_atomic_fetch_add(&zone->sh->bypassed, 1);

    return NGX_DECLINED;
}


/*
 * After an exact miss: the semantic lookup, if the request has an
 * embedding, then a hit (NGX_OK) or a miss (NGX_DECLINED, the answer will
 * be read and stored).
 */

ngx_int_t
ngx_http_llm_cache_semantic_end(ngx_http_request_t *r,
    ngx_http_llm_ctx_t *ctx, ngx_http_llm_cache_ctx_t *cctx)
{
    ngx_int_t                       rc;
    ngx_http_llm_cache_zone_t      *zone;
    ngx_http_llm_cache_loc_conf_t  *clcf;

    clcf = ngx_http_get_module_loc_conf(r, ngx_http_llm_cache_module);
    zone = cctx->zone;

    if (cctx->semantic) {
        ngx_http_llm_cache_bench_start(cctx);
        rc = ngx_http_llm_cache_semantic_fetch(r, ctx, cctx,
                                               clcf->semantic / 1000.0);
        ngx_http_llm_cache_bench_stop(cctx, sem_lookup_ns);

        if (rc == NGX_ERROR) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        if (rc == NGX_OK) {
            cctx->status = NGX_HTTP_LLM_CACHE_SEMANTIC;
            cctx->store = 0;
            r->content_handler = ngx_http_llm_cache_handler;
            return NGX_OK;
        }
    }

    cctx->status = NGX_HTTP_LLM_CACHE_MISS;

    /* a counter alone: no lock taken for it */

    (void) ngx_atomic_fetch_add(&zone->sh->misses, 1);

    if (ngx_http_llm_cache_arm(r, ctx, cctx) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return NGX_DECLINED;
}




/*
 * Look the key up; on a hit, the entry is copied into the request's pool
 * (it may be evicted while the answer is sent).  NGX_OK: a hit;
 * NGX_DECLINED: a miss.
 */

static ngx_int_t
ngx_http_llm_cache_fetch(ngx_http_request_t *r, ngx_http_llm_ctx_t *ctx,
    ngx_http_llm_cache_ctx_t *cctx)
{
    ngx_int_t                   rc;
    ngx_http_llm_cache_zone_t  *zone;

    zone = cctx->zone;

    rc = ngx_http_llm_cache_read(zone, cctx->digest, r->pool, &cctx->entry,
                                 ngx_http_llm_cache_cost, ctx);

    if (rc != NGX_OK) {
        return rc;
    }

    cctx->similarity = 1;

    ngx_log_debug4(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "llm cache \"%V\": hit, model \"%V\", %uD+%uD tokens",
                   &zone->name, &ctx->model, cctx->entry.prompt_tokens,
                   cctx->entry.completion_tokens);

    return NGX_OK;
}


/* what a hit saved: its tokens at the prices of the request's model */

uint64_t
ngx_http_llm_cache_cost(void *data, uint32_t prompt, uint32_t completion)
{
    ngx_http_llm_ctx_t *ctx = data;

    uint64_t  nano;

    if (ngx_http_llm_cost_of(ctx, prompt, completion, &nano) != NGX_OK) {
        return 0;
    }

    return nano;
}


/* X-LLM-Cache on every answer to a request the cache looked at */

static ngx_int_t
ngx_http_llm_cache_header_filter(ngx_http_request_t *r)
{
    ngx_str_t                  key;
    ngx_http_llm_ctx_t        *ctx;
    ngx_http_llm_cache_ctx_t  *cctx;

    if (r != r->main) {
        return ngx_http_next_header_filter(r);
    }

    ctx = ngx_http_llm_get_ctx(r);

    if (ctx == NULL || ctx->cache == NULL) {
        return ngx_http_next_header_filter(r);
    }

    cctx = ctx->cache;

    ngx_str_set(&key, "X-LLM-Cache");

    if (ngx_http_llm_cache_set_header(r, &key,
                                      &ngx_http_llm_cache_statuses[
                                                          cctx->status])
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    return ngx_http_next_header_filter(r);
}


static ngx_int_t
ngx_http_llm_cache_set_header(ngx_http_request_t *r, ngx_str_t *key,
    ngx_str_t *value)
{
    ngx_uint_t        i;
    ngx_list_part_t  *part;
    ngx_table_elt_t  *h;

    part = &r->headers_out.headers.part;
    h = part->elts;

    for (i = 0; /* void */; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                break;
            }

            part = part->next;
            h = part->elts;
            i = 0;
        }

        if (h[i].hash != 0
            && h[i].key.len == key->len
            && ngx_strncasecmp(h[i].key.data, key->data, key->len) == 0)
        {
            h[i].value = *value;
            return NGX_OK;
        }
    }

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    h->hash = 1;
    h->key = *key;
    h->value = *value;
    h->lowcase_key = NULL;
#if (nginx_version >= 1023000)
    h->next = NULL;
#endif

    return NGX_OK;
}


static ngx_int_t
ngx_http_llm_cache_variable_status(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    ngx_str_t                 *s;
    ngx_http_llm_ctx_t        *ctx;
    ngx_http_llm_cache_ctx_t  *cctx;

    ctx = ngx_http_llm_get_ctx(r);

    if (ctx == NULL || ctx->cache == NULL) {
        v->not_found = 1;
        return NGX_OK;
    }

    cctx = ctx->cache;
    s = &ngx_http_llm_cache_statuses[cctx->status];

    v->len = s->len;
    v->data = s->data;
    v->valid = 1;
    v->no_cacheable = 0;
    v->not_found = 0;

    return NGX_OK;
}


static ngx_int_t
ngx_http_llm_cache_variable_similarity(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    ngx_http_llm_ctx_t        *ctx;
    ngx_http_llm_cache_ctx_t  *cctx;

    ctx = ngx_http_llm_get_ctx(r);

    if (ctx == NULL || ctx->cache == NULL) {
        v->not_found = 1;
        return NGX_OK;
    }

    cctx = ctx->cache;

    if (cctx->status != NGX_HTTP_LLM_CACHE_HIT
        && cctx->status != NGX_HTTP_LLM_CACHE_SEMANTIC)
    {
        v->not_found = 1;
        return NGX_OK;
    }

    v->data = ngx_pnalloc(r->pool, sizeof("1.000") - 1);
    if (v->data == NULL) {
        return NGX_ERROR;
    }

    v->len = ngx_sprintf(v->data, "%.3f", cctx->similarity) - v->data;
    v->valid = 1;
    v->no_cacheable = 0;
    v->not_found = 0;

    return NGX_OK;
}




/* llm_status: the zones' counters, in the Prometheus text format or JSON */

size_t
ngx_http_llm_cache_status_size(void)
{
    ngx_http_llm_cache_main_conf_t  *cmcf;

    cmcf = ngx_http_cycle_get_module_main_conf(ngx_cycle,
                                               ngx_http_llm_cache_module);

    if (cmcf == NULL || cmcf->zones.nelts == 0) {
        return 0;
    }

    return 2048 + cmcf->zones.nelts * 3072;
}


u_char *
ngx_http_llm_cache_status(u_char *p, ngx_uint_t json)
{
    size_t                           len;
    u_char                          *name;
    ngx_uint_t                       i, f;
    ngx_http_llm_cache_sh_t          sh;
    ngx_http_llm_cache_zone_t      **zones;
    ngx_http_llm_cache_main_conf_t  *cmcf;

    static const char  *families[] = {
        "llm_cache_requests_total", "counter",
            "Cache lookups by zone and result (bypass: not looked up).",
        "llm_cache_stored_total", "counter", "Answers stored.",
        "llm_cache_evicted_total", "counter",
            "Entries evicted from a full zone.",
        "llm_cache_expired_total", "counter", "Entries dropped at their ttl.",
        "llm_cache_entries", "gauge",
            "Entries held (kind: all, or semantic: comparable by meaning).",
        "llm_cache_bytes", "gauge", "Bytes of the entries held.",
        "llm_cache_saved_tokens_total", "counter",
            "Tokens of the answers served from the cache.",
        "llm_cache_saved_usd_total", "counter",
            "Their cost at the catalogue's prices, in USD.",
        "llm_cache_embedder_requests_total", "counter",
            "Calls of a remote embedder by result (error and timeout: "
            "looked up as a miss).",
        NULL
    };

    cmcf = ngx_http_cycle_get_module_main_conf(ngx_cycle,
                                               ngx_http_llm_cache_module);

    if (cmcf == NULL || cmcf->zones.nelts == 0) {
        return p;
    }

    zones = cmcf->zones.elts;

    if (json) {
        p = ngx_cpymem(p, ",\"cache\":{", sizeof(",\"cache\":{") - 1);
    }

    for (f = 0; json ? f < 1 : families[3 * f] != NULL; f++) {

        if (!json) {
            p = ngx_sprintf(p, "# HELP %s %s\n# TYPE %s %s\n",
                            families[3 * f], families[3 * f + 2],
                            families[3 * f], families[3 * f + 1]);
        }

        for (i = 0; i < cmcf->zones.nelts; i++) {

            if (zones[i]->sh == NULL) {
                continue;
            }

            ngx_shmtx_lock(&zones[i]->shpool->mutex);
            sh = *zones[i]->sh;
            ngx_shmtx_unlock(&zones[i]->shpool->mutex);

            len = ngx_min(zones[i]->name.len, 64);
            name = zones[i]->name.data;

            if (json) {
                p = ngx_sprintf(p, "%s\"%*s\":{\"hits\":%uL,"
                                "\"semantic_hits\":%uL,\"misses\":%uA,"
                                "\"bypassed\":%uA,\"stored\":%uL,"
                                "\"evicted\":%uL,\"expired\":%uL,"
                                "\"entries\":%ui,\"semantic_entries\":%ui,"
                                "\"bytes\":%uz,\"saved_tokens\":%uL,"
                                "\"saved_usd\":%uL.%09uL,"
                                "\"embedder\":{\"ok\":%uL,\"errors\":%uL,"
                                "\"timeouts\":%uL}}",
                                i ? "," : "", len, name, sh.hits,
                                sh.semantic_hits, sh.misses,
                                sh.bypassed, sh.stored, sh.evicted,
                                sh.expired, sh.entries, sh.sem_entries,
                                sh.bytes, sh.tokens_saved,
                                sh.nano_usd_saved / 1000000000,
                                sh.nano_usd_saved % 1000000000,
                                sh.embed_ok, sh.embed_errors,
                                sh.embed_timeouts);
                continue;
            }

            switch (f) {

            case 0:
                p = ngx_sprintf(p, "%s{zone=\"%*s\",result=\"hit\"} %uL\n"
                                "%s{zone=\"%*s\",result=\"semantic\"} %uL\n"
                                "%s{zone=\"%*s\",result=\"miss\"} %uA\n"
                                "%s{zone=\"%*s\",result=\"bypass\"} %uA\n",
                                families[0], len, name, sh.hits,
                                families[0], len, name, sh.semantic_hits,
                                families[0], len, name, sh.misses,
                                families[0], len, name, sh.bypassed);
                break;

            case 1:
                p = ngx_sprintf(p, "%s{zone=\"%*s\"} %uL\n", families[3],
                                len, name, sh.stored);
                break;

            case 2:
                p = ngx_sprintf(p, "%s{zone=\"%*s\"} %uL\n", families[6],
                                len, name, sh.evicted);
                break;

            case 3:
                p = ngx_sprintf(p, "%s{zone=\"%*s\"} %uL\n", families[9],
                                len, name, sh.expired);
                break;

            case 4:
                p = ngx_sprintf(p, "%s{zone=\"%*s\",kind=\"all\"} %ui\n"
                                "%s{zone=\"%*s\",kind=\"semantic\"} %ui\n",
                                families[12], len, name, sh.entries,
                                families[12], len, name, sh.sem_entries);
                break;

            case 5:
                p = ngx_sprintf(p, "%s{zone=\"%*s\"} %uz\n", families[15],
                                len, name, sh.bytes);
                break;

            case 6:
                p = ngx_sprintf(p, "%s{zone=\"%*s\"} %uL\n", families[18],
                                len, name, sh.tokens_saved);
                break;

            case 7:
                p = ngx_sprintf(p, "%s{zone=\"%*s\"} %uL.%09uL\n",
                                families[21], len, name,
                                sh.nano_usd_saved / 1000000000,
                                sh.nano_usd_saved % 1000000000);
                break;

            default: /* 8 */
                p = ngx_sprintf(p, "%s{zone=\"%*s\",result=\"ok\"} %uL\n"
                                "%s{zone=\"%*s\",result=\"error\"} %uL\n"
                                "%s{zone=\"%*s\",result=\"timeout\"} %uL\n",
                                families[24], len, name, sh.embed_ok,
                                families[24], len, name, sh.embed_errors,
                                families[24], len, name, sh.embed_timeouts);
                break;
            }
        }
    }

    if (json) {
        *p++ = '}';
    }

    return p;
}


/* llm_cache_zone zone=NAME:SIZE [ttl=TIME] [max_entry=SIZE]; */

static char *
ngx_http_llm_cache_zone(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_llm_cache_main_conf_t *cmcf = conf;

    ssize_t                      size, max;
    time_t                       ttl;
    ngx_str_t                   *value, name, s;
    ngx_uint_t                   i;
    ngx_shm_zone_t              *shm_zone;
    ngx_http_llm_cache_zone_t   *zone;
    ngx_http_llm_redis_t        *redis;

    value = cf->args->elts;

    size = 0;
    max = NGX_CONF_UNSET;
    ttl = NGX_HTTP_LLM_CACHE_TTL;
    redis = NULL;
    ngx_str_null(&name);

    for (i = 1; i < cf->args->nelts; i++) {

        if (ngx_strncmp(value[i].data, "zone=", 5) == 0) {

            if (ngx_http_llm_parse_zone(cf, &value[i], "llm_cache_zone", &name,
                                        &size)
                != NGX_OK)
            {
                return NGX_CONF_ERROR;
            }

            continue;
        }

        if (ngx_strncmp(value[i].data, "ttl=", 4) == 0) {

            s.data = value[i].data + 4;
            s.len = value[i].len - 4;

            ttl = ngx_parse_time(&s, 1);

            if (ttl == (time_t) NGX_ERROR || ttl == 0) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "llm_cache_zone: invalid ttl \"%V\" "
                                   "(a time of at least 1s, e.g. 10m)",
                                   &value[i]);
                return NGX_CONF_ERROR;
            }

            continue;
        }

        if (ngx_strncmp(value[i].data, "max_entry=", 10) == 0) {

            s.data = value[i].data + 10;
            s.len = value[i].len - 10;

            max = ngx_parse_size(&s);

            if (max == NGX_ERROR || max == 0) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "llm_cache_zone: invalid max_entry \"%V\"",
                                   &value[i]);
                return NGX_CONF_ERROR;
            }

            continue;
        }

        if (ngx_strncmp(value[i].data, "redis=", 6) == 0) {

            redis = ngx_http_llm_redis_param(cf, &value[i], "llm_cache_zone");

            if (redis == NULL) {
                return NGX_CONF_ERROR;
            }

            continue;
        }

        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "llm_cache_zone: invalid parameter \"%V\"",
                           &value[i]);
        return NGX_CONF_ERROR;
    }

    if (name.len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "llm_cache_zone: \"zone=\" is required");
        return NGX_CONF_ERROR;
    }

    if (max == NGX_CONF_UNSET) {
        max = ngx_min(NGX_HTTP_LLM_CACHE_MAX_ENTRY, size / 8);

    } else if (max > size / 4) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "llm_cache_zone \"%V\": max_entry=%z is more than "
                           "a quarter of the zone", &name, max);
        return NGX_CONF_ERROR;
    }

    zone = ngx_pcalloc(cf->pool, sizeof(ngx_http_llm_cache_zone_t));
    if (zone == NULL) {
        return NGX_CONF_ERROR;
    }

    zone->name = name;
    zone->ttl = ttl;
    zone->max_entry = (size_t) max;
    zone->redis = redis;

    shm_zone = ngx_http_llm_zone_add(cf, "llm_cache_zone", &name, size,
                                     &ngx_http_llm_cache_module,
                                     ngx_http_llm_cache_init_zone, zone,
                                     &cmcf->zones);
    if (shm_zone == NULL) {
        return NGX_CONF_ERROR;
    }

    zone->shm_zone = shm_zone;

    return NGX_CONF_OK;
}


/* llm_cache NAME | off; */

static char *
ngx_http_llm_cache(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_llm_cache_loc_conf_t *clcf = conf;

    ngx_str_t                       *value;
    ngx_http_llm_cache_main_conf_t  *cmcf;

    if (clcf->shm_zone != NGX_CONF_UNSET_PTR) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (ngx_strcmp(value[1].data, "off") == 0) {
        clcf->shm_zone = NULL;
        return NGX_CONF_OK;
    }

    clcf->shm_zone = ngx_shared_memory_add(cf, &value[1], 0,
                                           &ngx_http_llm_cache_module);
    if (clcf->shm_zone == NULL) {
        return NGX_CONF_ERROR;
    }

    /* checked once the http block is read: zones may be declared later */

    cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_llm_cache_module);

    if (ngx_http_llm_zone_ref(cf, &cmcf->refs, clcf->shm_zone) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


/* llm_cache_scope $var ...; ("" alone: shared by every caller) */

static char *
ngx_http_llm_cache_scope_slot(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_llm_cache_loc_conf_t *clcf = conf;

    ngx_str_t                         *value;
    ngx_uint_t                         i;
    ngx_http_complex_value_t          *cv;
    ngx_http_compile_complex_value_t   ccv;

    if (clcf->scope != NGX_CONF_UNSET_PTR) {
        return "is duplicate";
    }

    clcf->scope = ngx_array_create(cf->pool, cf->args->nelts - 1,
                                   sizeof(ngx_http_complex_value_t));
    if (clcf->scope == NULL) {
        return NGX_CONF_ERROR;
    }

    value = cf->args->elts;

    for (i = 1; i < cf->args->nelts; i++) {
        cv = ngx_array_push(clcf->scope);
        if (cv == NULL) {
            return NGX_CONF_ERROR;
        }

        ngx_memzero(&ccv, sizeof(ngx_http_compile_complex_value_t));

        ccv.cf = cf;
        ccv.value = &value[i];
        ccv.complex_value = cv;

        if (ngx_http_compile_complex_value(&ccv) != NGX_OK) {
            return NGX_CONF_ERROR;
        }
    }

    return NGX_CONF_OK;
}


/* llm_cache_semantic THRESHOLD | on | off; (cosine, 0 < THRESHOLD <= 1) */

static char *
ngx_http_llm_cache_semantic(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_llm_cache_loc_conf_t *clcf = conf;

    ngx_int_t   n;
    ngx_str_t  *value;

    if (clcf->semantic != NGX_CONF_UNSET) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (ngx_strcmp(value[1].data, "off") == 0) {
        clcf->semantic = 0;
        return NGX_CONF_OK;
    }

    if (ngx_strcmp(value[1].data, "on") == 0) {
        clcf->semantic = NGX_HTTP_LLM_CACHE_THRESHOLD;
        return NGX_CONF_OK;
    }

    n = ngx_atofp(value[1].data, value[1].len, 3);

    if (n <= 0 || n > 1000) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "llm_cache_semantic: invalid threshold \"%V\" "
                           "(a cosine similarity above 0 and at most 1, "
                           "with up to 3 decimals, e.g. 0.8; or on, off)",
                           &value[1]);
        return NGX_CONF_ERROR;
    }

    clcf->semantic = n;

    return NGX_CONF_OK;
}


/* llm_cache_embedder builtin | URI [model=NAME] [timeout=TIME]; */

static char *
ngx_http_llm_cache_embedder(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_llm_cache_loc_conf_t *clcf = conf;

    u_char      *eq;
    ngx_str_t   *value, s;
    ngx_uint_t   i, j;

    if (clcf->embedder != NGX_CONF_UNSET) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (ngx_strcmp(value[1].data, "builtin") == 0) {

        if (cf->args->nelts > 2) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "llm_cache_embedder builtin takes no "
                               "parameters, \"%V\" given", &value[2]);
            return NGX_CONF_ERROR;
        }

        clcf->embedder = NGX_HTTP_LLM_CACHE_BUILTIN;
        return NGX_CONF_OK;
    }

    if (value[1].len < 2 || value[1].data[0] != '/') {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "llm_cache_embedder \"%V\": \"builtin\" or the "
                           "URI of a location (starting with \"/\") that "
                           "proxies to an OpenAI-compatible /v1/embeddings",
                           &value[1]);
        return NGX_CONF_ERROR;
    }

    clcf->embedder = NGX_HTTP_LLM_CACHE_REMOTE;
    clcf->embedder_uri = value[1];
    ngx_str_set(&clcf->embedder_model, "text-embedding-3-small");
    clcf->embedder_timeout = NGX_HTTP_LLM_CACHE_EMBED_TIMEOUT;
    clcf->embedder_scripts = NGX_HTTP_LLM_SCRIPT_ALL;

    for (i = 2; i < cf->args->nelts; i++) {

        /* each parameter once: "scripts=latin scripts=han" is an error */

        eq = ngx_strlchr(value[i].data, value[i].data + value[i].len, '=');

        for (j = 2; eq && j < i; j++) {
            if (value[j].len > (size_t) (eq - value[i].data)
                && ngx_strncmp(value[j].data, value[i].data,
                               eq - value[i].data + 1) == 0)
            {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "llm_cache_embedder: duplicate parameter "
                                   "\"%V\"", &value[i]);
                return NGX_CONF_ERROR;
            }
        }

        if (ngx_strncmp(value[i].data, "model=", 6) == 0
            && value[i].len > 6)
        {
            clcf->embedder_model.data = value[i].data + 6;
            clcf->embedder_model.len = value[i].len - 6;
            continue;
        }

        if (ngx_strncmp(value[i].data, "timeout=", 8) == 0) {
            s.data = value[i].data + 8;
            s.len = value[i].len - 8;

            clcf->embedder_timeout = ngx_parse_time(&s, 0);

            if (clcf->embedder_timeout == (ngx_msec_t) NGX_ERROR
                || clcf->embedder_timeout == 0)
            {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "llm_cache_embedder: invalid timeout "
                                   "\"%V\" (a time above 0, e.g. 500ms)",
                                   &s);
                return NGX_CONF_ERROR;
            }

            continue;
        }

        if (ngx_strncmp(value[i].data, "scripts=", 8) == 0) {
            if (ngx_http_llm_cache_scripts(cf, &value[i], clcf)
                != NGX_CONF_OK)
            {
                return NGX_CONF_ERROR;
            }

            continue;
        }

        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "llm_cache_embedder: invalid parameter \"%V\" "
                           "(model=NAME, timeout=TIME or scripts=LIST)",
                           &value[i]);
        return NGX_CONF_ERROR;
    }

    /* entries of another embedder or model are never compared */

    clcf->embedder_tag = ngx_crc32_short(clcf->embedder_uri.data,
                                         clcf->embedder_uri.len)
                         ^ (ngx_crc32_short(clcf->embedder_model.data,
                                            clcf->embedder_model.len)
                            * 16777619);

    return NGX_CONF_OK;
}


/* scripts=latin,cyrillic,...: the scripts the embedder reads */

static char *
ngx_http_llm_cache_scripts(ngx_conf_t *cf, ngx_str_t *value,
    ngx_http_llm_cache_loc_conf_t *clcf)
{
    u_char    *p, *last, *comma;
    uint32_t   script, mask;

    p = value->data + 8;
    last = value->data + value->len;
    mask = 0;

    if (p == last) {
        goto invalid;
    }

    while (p < last) {
        comma = ngx_strlchr(p, last, ',');
        if (comma == NULL) {
            comma = last;
        }

        script = ngx_http_llm_embed_script(p, comma - p);

        if (script == 0) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "llm_cache_embedder: unknown script \"%*s\" "
                               "in \"%V\" (latin, greek, cyrillic, armenian, "
                               "hebrew, arabic, devanagari, bengali, thai, "
                               "georgian, hangul, han, kana, or all)",
                               (size_t) (comma - p), p, value);
            return NGX_CONF_ERROR;
        }

        mask |= script;
        p = comma + 1;

        if (comma + 1 == last) {
            goto invalid;
        }
    }

    clcf->embedder_scripts = mask;

    return NGX_CONF_OK;

invalid:

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "llm_cache_embedder: invalid \"%V\" (scripts= and a "
                       "list of scripts separated by commas)", value);
    return NGX_CONF_ERROR;
}


static void *
ngx_http_llm_cache_create_main_conf(ngx_conf_t *cf)
{
    ngx_http_llm_cache_main_conf_t  *cmcf;

    cmcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_llm_cache_main_conf_t));
    if (cmcf == NULL) {
        return NULL;
    }

    if (ngx_array_init(&cmcf->refs, cf->pool, 4,
                       sizeof(ngx_http_llm_zone_ref_t))
        != NGX_OK
        || ngx_array_init(&cmcf->zones, cf->pool, 4,
                          sizeof(ngx_http_llm_cache_zone_t *))
           != NGX_OK)
    {
        return NULL;
    }

    return cmcf;
}


/* after the http block: every llm_cache names a declared zone */

static char *
ngx_http_llm_cache_init_main_conf(ngx_conf_t *cf, void *conf)
{
    ngx_http_llm_cache_main_conf_t *cmcf = conf;

    if (ngx_http_llm_zone_refs_check(cf, &cmcf->refs,
                                     ngx_http_llm_cache_init_zone,
                                     "llm_cache", "llm_cache_zone")
        != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


static void *
ngx_http_llm_cache_create_loc_conf(ngx_conf_t *cf)
{
    ngx_http_llm_cache_loc_conf_t  *conf;

    conf = ngx_pcalloc(cf->pool, sizeof(ngx_http_llm_cache_loc_conf_t));
    if (conf == NULL) {
        return NULL;
    }

    conf->shm_zone = NGX_CONF_UNSET_PTR;
    conf->scope = NGX_CONF_UNSET_PTR;
    conf->bypass = NGX_CONF_UNSET_PTR;
    conf->semantic = NGX_CONF_UNSET;
    conf->embedder = NGX_CONF_UNSET;

    return conf;
}


static char *
ngx_http_llm_cache_merge_loc_conf(ngx_conf_t *cf, void *parent, void *child)
{
    ngx_http_llm_cache_loc_conf_t *prev = parent;
    ngx_http_llm_cache_loc_conf_t *conf = child;

    ngx_conf_merge_ptr_value(conf->shm_zone, prev->shm_zone, NULL);
    ngx_conf_merge_ptr_value(conf->scope, prev->scope, NULL);
    ngx_conf_merge_ptr_value(conf->bypass, prev->bypass, NULL);
    ngx_conf_merge_value(conf->semantic, prev->semantic, 0);
    if (conf->embedder == NGX_CONF_UNSET) {
        conf->embedder = (prev->embedder == NGX_CONF_UNSET)
                         ? NGX_HTTP_LLM_CACHE_BUILTIN : prev->embedder;
        conf->embedder_uri = prev->embedder_uri;
        conf->embedder_model = prev->embedder_model;
        conf->embedder_timeout = prev->embedder_timeout;
        conf->embedder_tag = prev->embedder_tag;
        conf->embedder_scripts = prev->embedder_scripts;
    }

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_http_llm_cache_preconfiguration(ngx_conf_t *cf)
{
    ngx_http_variable_t  *var, *v;

    for (v = ngx_http_llm_cache_vars; v->name.len; v++) {
        var = ngx_http_add_variable(cf, &v->name, v->flags);
        if (var == NULL) {
            return NGX_ERROR;
        }

        var->get_handler = v->get_handler;
        var->data = v->data;
    }

    return ngx_http_llm_cache_bench_init(cf);
}


/* the answer's events, parsed: captured while a miss is armed */

static void
ngx_http_llm_cache_event_hook(ngx_http_request_t *r, ngx_http_llm_ctx_t *ctx,
    ngx_http_llm_json_t *json)
{
    if (ctx->cache_collect) {
        ngx_http_llm_cache_event(r, ctx, json);
    }
}


static ngx_int_t
ngx_http_llm_cache_postconfiguration(ngx_conf_t *cf)
{
    ngx_http_llm_hook_t  *h;

    ngx_http_next_header_filter = ngx_http_top_header_filter;
    ngx_http_top_header_filter = ngx_http_llm_cache_header_filter;

    /* the pipeline's hooks (see ngx_http_llm_module.h) */

    h = ngx_http_llm_add_hook(cf, NGX_HTTP_LLM_HOOK_ANSWER);
    if (h == NULL) {
        return NGX_ERROR;
    }

    h->request = ngx_http_llm_cache_lookup;

    h = ngx_http_llm_add_hook(cf, NGX_HTTP_LLM_HOOK_EVENT);
    if (h == NULL) {
        return NGX_ERROR;
    }

    h->json = ngx_http_llm_cache_event_hook;

    h = ngx_http_llm_add_hook(cf, NGX_HTTP_LLM_HOOK_END);
    if (h == NULL) {
        return NGX_ERROR;
    }

    h->end = ngx_http_llm_cache_end;

    return ngx_http_llm_add_counters(cf, NGX_HTTP_LLM_COUNTERS_CACHE,
                                     NGX_HTTP_LLM_COUNTERS_CACHE,
                                     ngx_http_llm_cache_status_size,
                                     ngx_http_llm_cache_status);
}


static void
ngx_http_llm_cache_exit_process(ngx_cycle_t *cycle)
{
    ngx_http_llm_cache_key_exit();
}
