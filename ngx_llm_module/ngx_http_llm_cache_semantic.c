
/*
 * Copyright (C) ngx_llm_module authors
 *
 * The answer cache's semantic index: a request's semantic key (the
 * embedding of its last user message, and the digest of the rest of the
 * request with the signature of that message's words: its bucket), and
 * the lookup of the bucket's entry most similar to it (cosine, then the
 * words; a remote embedder's vectors by cosine and antonym pairs).
 */


#include "ngx_http_llm_cache.h"


/*
 * The semantic key of a request: the embedding of its last message, which
 * must be the user's and a string, and the digest of the rest of the
 * request with the signature of that message's words.  NGX_DECLINED: the
 * request cannot be compared.
 */

ngx_int_t
ngx_http_llm_cache_semantic_key(ngx_http_request_t *r,
    ngx_http_llm_ctx_t *ctx, ngx_http_llm_cache_ctx_t *cctx,
    ngx_http_llm_cache_loc_conf_t *clcf)
{
    uint32_t                    m, last, t, sig;
    ngx_str_t                   role, text;
    ngx_http_llm_json_t        *json;
    ngx_http_llm_embed_t       *e;
    ngx_http_llm_embed_guard_t  guard;

    json = &ctx->req.json;

    if (ctx->req.messages_tok == NGX_HTTP_LLM_NONE) {
        return NGX_DECLINED;
    }

    last = NGX_HTTP_LLM_NONE;

    for (m = ngx_http_llm_json_first(json, ctx->req.messages_tok);
         m != NGX_HTTP_LLM_NONE;
         m = json->tokens[m].next)
    {
        last = m;
    }

    if (!ngx_http_llm_cache_is(json, last, NGX_HTTP_LLM_JSON_OBJECT)) {
        return NGX_DECLINED;
    }

    t = ngx_http_llm_cache_get(json, last, "role");

    if (!ngx_http_llm_cache_is(json, t, NGX_HTTP_LLM_JSON_STRING)) {
        return NGX_DECLINED;
    }

    ngx_http_llm_json_raw_string(json, t, (const u_char **) &role.data,
                                 &role.len);

    if (role.len != 4 || ngx_strncmp(role.data, "user", 4) != 0) {
        return NGX_DECLINED;
    }

    t = ngx_http_llm_cache_get(json, last, "content");

    if (!ngx_http_llm_cache_is(json, t, NGX_HTTP_LLM_JSON_STRING)) {
        return NGX_DECLINED;
    }

    if (ngx_http_llm_cache_decode(r->pool, json, t, &text) != NGX_OK) {
        return NGX_ERROR;
    }

    e = ngx_palloc(r->pool, sizeof(ngx_http_llm_embed_t));
    if (e == NULL) {
        return NGX_ERROR;
    }

    if (clcf->embedder == NGX_HTTP_LLM_CACHE_REMOTE
        && !ngx_http_llm_embed_scripts_in(text.data, text.len,
                                          clcf->embedder_scripts))
    {
        /*
         * Mostly letters the embedder does not read (scripts=): it is not
         * asked, the builtin embedder compares near-duplicates instead.
         */

        ngx_log_debug0(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                       "llm cache: the message is not in the embedder's "
                       "scripts, the builtin embedder compares it");

    } else if (clcf->embedder == NGX_HTTP_LLM_CACHE_REMOTE) {

        /*
         * The vector will be the service's; the builtin embedder gives the
         * guard only (of any text), the parts of it that were measured to
         * pay with a real model (docs/cache.md): the negations and the
         * numbers must be equal (they are in the bucket's digest), and no
         * antonym pair may be flipped ("enable" / "disable", compared
         * entry by entry).  The bucket: context, guard, embedder, model.
         */

        (void) ngx_http_llm_embed_parts(text.data, text.len, e, &guard);

        cctx->flip = guard.flip;

        sig = (ngx_http_llm_embed_guard_hash(&guard) * 16777619)
              ^ clcf->embedder_tag;

        if (ngx_http_llm_cache_digest(r, ctx, cctx, &ctx->model, t, &sig,
                                      cctx->sem_digest)
            != NGX_OK)
        {
            return NGX_ERROR;
        }

        cctx->sem_tok = t;
        cctx->remote = 1;

        return NGX_OK;
    }

    if (ngx_http_llm_embed(text.data, text.len, e) != 0) {
        return NGX_DECLINED;
    }

    /* texts with different guards never match: they need no comparison */

    sig = (e->signature * 16777619) ^ e->guard;

    if (ngx_http_llm_cache_digest(r, ctx, cctx, &ctx->model, t, &sig,
                                  cctx->sem_digest)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    cctx->embed = e;
    cctx->semantic = 1;

    return NGX_OK;
}


/*
 * A semantic lookup: the entry of the request's bucket most similar to it,
 * at or above the threshold, with the same words up to typos.  NGX_OK: a
 * hit; NGX_DECLINED: none.
 */

ngx_int_t
ngx_http_llm_cache_semantic_fetch(ngx_http_request_t *r,
    ngx_http_llm_ctx_t *ctx, ngx_http_llm_cache_ctx_t *cctx, double threshold)
{
    double                        sim, best;
    time_t                        now;
    ngx_uint_t                    n;
    ngx_queue_t                  *q;
    ngx_http_llm_cache_sem_t     *sem;
    ngx_http_llm_cache_vec_t     *vec;
    ngx_http_llm_cache_node_t    *hit;
    ngx_http_llm_cache_zone_t    *zone;
    ngx_http_llm_cache_bucket_t  *b;

    zone = cctx->zone;
    now = ngx_time();
    best = 0;
    hit = NULL;

    ngx_shmtx_lock(&zone->shpool->mutex);

    b = ngx_http_llm_cache_find_bucket(zone, cctx->sem_digest);

    if (b && cctx->vec) {

        /* a remote embedder's: the most recent entries of the bucket */

        n = 0;

        for (q = ngx_queue_head(&b->entries);
             q != ngx_queue_sentinel(&b->entries)
             && n < NGX_HTTP_LLM_CACHE_SCAN;
             q = ngx_queue_next(q))
        {
            sem = ngx_queue_data(q, ngx_http_llm_cache_sem_t, link);

            if (!(sem->node->node.data & NGX_HTTP_LLM_CACHE_VEC)
                || ngx_http_llm_cache_expired(zone, sem->node, now))
            {
                continue;
            }

            n++;

            vec = (ngx_http_llm_cache_vec_t *) &sem->embed;

            if (vec->dim != cctx->vec->dim) {
                continue;
            }

            sim = ngx_http_llm_embed_cosine_i8(cctx->vec->v,
                                               cctx->vec->norm2,
                                               vec->v, vec->norm2,
                                               vec->dim, threshold);

            /* antonyms, swapped words, names: above the threshold only */

            if (sim >= threshold && sim > best
                && !ngx_http_llm_embed_flipped(&vec->flip, &cctx->vec->flip))
            {
                best = sim;
                hit = sem->node;
            }
        }

        b = NULL;
    }

    if (b) {
        for (q = ngx_queue_head(&b->entries);
             q != ngx_queue_sentinel(&b->entries);
             q = ngx_queue_next(q))
        {
            sem = ngx_queue_data(q, ngx_http_llm_cache_sem_t, link);

            if ((sem->node->node.data & NGX_HTTP_LLM_CACHE_VEC)
                || ngx_http_llm_cache_expired(zone, sem->node, now))
            {
                continue;
            }

            sim = ngx_http_llm_embed_cosine(cctx->embed, &sem->embed);

            if (sim >= threshold && sim > best
                && ngx_http_llm_embed_same_words(cctx->embed, &sem->embed))
            {
                best = sim;
                hit = sem->node;
            }
        }
    }

    if (hit == NULL) {
        ngx_shmtx_unlock(&zone->shpool->mutex);
        return NGX_DECLINED;
    }

    if (ngx_http_llm_cache_copy_node(zone, hit, r->pool, &cctx->entry,
                                     ngx_http_llm_cache_cost, ctx)
        != NGX_OK)
    {
        ngx_shmtx_unlock(&zone->shpool->mutex);
        return NGX_ERROR;
    }

    zone->sh->semantic_hits++;

    ngx_shmtx_unlock(&zone->shpool->mutex);

    cctx->similarity = best;

    ngx_log_debug3(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "llm cache \"%V\": semantic hit, model \"%V\", "
                   "similarity %.3f", &zone->name, &ctx->model, best);

    return NGX_OK;
}
