
/*
 * Copyright (C) ngx_llm_module authors
 *
 * The answer cache's remote embedder (llm_cache_embedder URI): on an exact
 * miss, a background subrequest to its location, which proxies to an
 * OpenAI-compatible /v1/embeddings, asks for the vector of the last user
 * message; the request waits for it, at most the timeout, then goes on
 * with the semantic lookup (or as a miss).
 */


#include "ngx_http_llm_cache.h"


static ngx_int_t ngx_http_llm_cache_embed_finished(ngx_http_request_t *sr,
    void *data, ngx_int_t rc);
static void ngx_http_llm_cache_embed_timeout(ngx_event_t *ev);
static void ngx_http_llm_cache_embed_cleanup(void *data);
static void ngx_http_llm_cache_embed_done(ngx_http_llm_cache_ctx_t *cctx);
static ngx_int_t ngx_http_llm_cache_embed_read(ngx_http_request_t *sr,
    ngx_http_llm_cache_ctx_t *cctx, ngx_http_llm_ctx_t *ectx,
    ngx_str_t *err);


/*
 * A remote embedder: a background subrequest to its location, which
 * proxies to an OpenAI-compatible /v1/embeddings, with the last user
 * message as input; the request waits for it, at most the timeout.
 */

ngx_int_t
ngx_http_llm_cache_embed_start(ngx_http_request_t *r, ngx_http_llm_ctx_t *ctx,
    ngx_http_llm_cache_ctx_t *cctx, ngx_http_llm_cache_loc_conf_t *clcf)
{
    u_char                      *p;
    ngx_str_t                    input, body;
    ngx_http_request_t          *sr;
    ngx_http_llm_ctx_t          *ectx;
    ngx_http_cleanup_t          *cln;
    ngx_http_post_subrequest_t  *ps;

    static u_char  model[] = "{\"model\":\"";
    static u_char  in[] = "\",\"input\":\"";
    static u_char  fmt[] = "\",\"encoding_format\":\"float\"}";

    /* the message as it came, escapes kept: it is valid in a JSON string */

    ngx_http_llm_json_raw_string(&ctx->req.json, cctx->sem_tok,
                                 (const u_char **) &input.data, &input.len);

    body.len = sizeof(model) - 1
               + ngx_http_llm_json_encoded_len(clcf->embedder_model.data,
                                               clcf->embedder_model.len)
               + sizeof(in) - 1 + input.len + sizeof(fmt) - 1;

    body.data = ngx_pnalloc(r->pool, body.len);
    ectx = ngx_pcalloc(r->pool, sizeof(ngx_http_llm_ctx_t));
    ps = ngx_palloc(r->pool, sizeof(ngx_http_post_subrequest_t));
    cln = ngx_http_cleanup_add(r, 0);

    if (body.data == NULL || ectx == NULL || ps == NULL || cln == NULL) {
        return NGX_ERROR;
    }

    p = ngx_cpymem(body.data, model, sizeof(model) - 1);
    p = ngx_http_llm_json_encode_string(p, clcf->embedder_model.data,
                                        clcf->embedder_model.len);
    p = ngx_cpymem(p, in, sizeof(in) - 1);
    p = ngx_cpymem(p, input.data, input.len);
    ngx_memcpy(p, fmt, sizeof(fmt) - 1);

    ectx->ttft = -1;
    ectx->embedding = 1;
    ectx->primary = ctx;

    ps->handler = ngx_http_llm_cache_embed_finished;
    ps->data = cctx;

    if (ngx_http_llm_subrequest(r, &clcf->embedder_uri, NULL, &body, ectx,
                                ps, &sr)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    /*
     * The subrequest shares the client's headers: its Accept-Encoding is
     * set aside now (and given back to the answer) so that the service's
     * answer comes uncompressed.
     */

    if (ngx_http_llm_identity_encoding(r, ctx) != NGX_OK) {
        return NGX_ERROR;
    }

    cctx->embed_sr = sr;
    cctx->embed_ctx = ectx;
    cctx->embed_started = ngx_current_msec;
    cctx->embed_wait = 1;

    cctx->embed_timer.handler = ngx_http_llm_cache_embed_timeout;
    cctx->embed_timer.data = cctx;
    cctx->embed_timer.log = r->connection->log;
    ngx_add_timer(&cctx->embed_timer, clcf->embedder_timeout);

    cln->handler = ngx_http_llm_cache_embed_cleanup;
    cln->data = cctx;

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "llm cache: embedder \"%V\" asked, %uz bytes",
                   &clcf->embedder_uri, body.len);

    return NGX_AGAIN;
}


/* the embedder's subrequest ends: its vector read, the request goes on */

static ngx_int_t
ngx_http_llm_cache_embed_finished(ngx_http_request_t *sr, void *data,
    ngx_int_t rc)
{
    ngx_http_llm_cache_ctx_t *cctx = data;

    ngx_str_t                       err;
    ngx_http_request_t             *r;
    ngx_http_llm_cache_zone_t      *zone;
    ngx_http_llm_cache_loc_conf_t  *clcf;

    if (!cctx->embed_wait || cctx->embed_gone) {
        /* timed out before, or the request is torn down */
        return rc;
    }

    r = cctx->request;
    zone = cctx->zone;
    clcf = ngx_http_get_module_loc_conf(r, ngx_http_llm_cache_module);

    if (cctx->embed_ctx->shadow_status == 0) {
        cctx->embed_ctx->shadow_status = sr->headers_out.status
                                         ? sr->headers_out.status
                                         : (rc > 0) ? (ngx_uint_t) rc : 0;
    }

    if (ngx_http_llm_cache_embed_read(sr, cctx, cctx->embed_ctx, &err)
        == NGX_OK)
    {
        ngx_shmtx_lock(&zone->shpool->mutex);
        zone->sh->embed_ok++;
        ngx_shmtx_unlock(&zone->shpool->mutex);

        cctx->semantic = 1;

        ngx_log_debug3(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                       "llm cache: embedder \"%V\": %ui dimensions in %Mms",
                       &clcf->embedder_uri, (ngx_uint_t) cctx->vec->dim,
                       ngx_current_msec - cctx->embed_started);

    } else {
        ngx_shmtx_lock(&zone->shpool->mutex);
        zone->sh->embed_errors++;
        ngx_shmtx_unlock(&zone->shpool->mutex);

        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "llm cache \"%V\": embedder \"%V\" failed: %V; "
                      "looked up as a miss", &zone->name,
                      &clcf->embedder_uri, &err);
    }

    /* its answer is not needed any more (the vector is a copy) */

    if (cctx->embed_ctx->capture) {
        ngx_pfree(r->pool, cctx->embed_ctx->capture->start);
        cctx->embed_ctx->capture = NULL;
    }

    ngx_http_llm_cache_embed_done(cctx);

    return rc;
}


/*
 * The embedder did not answer in time: the request goes on as a miss, and
 * the subrequest's upstream times out the way nginx's own read timeout
 * would do it, so that the client's connection is not held by it.
 */

static void
ngx_http_llm_cache_embed_timeout(ngx_event_t *ev)
{
    ngx_http_llm_cache_ctx_t *cctx = ev->data;

    ngx_connection_t               *c, *pc;
    ngx_http_request_t             *r;
    ngx_http_upstream_t            *u;
    ngx_http_llm_cache_zone_t      *zone;
    ngx_http_llm_cache_loc_conf_t  *clcf;

    if (!cctx->embed_wait || cctx->embed_gone) {
        return;
    }

    r = cctx->request;
    c = r->connection;
    zone = cctx->zone;
    clcf = ngx_http_get_module_loc_conf(r, ngx_http_llm_cache_module);

    ngx_shmtx_lock(&zone->shpool->mutex);
    zone->sh->embed_timeouts++;
    ngx_shmtx_unlock(&zone->shpool->mutex);

    ngx_log_error(NGX_LOG_WARN, c->log, 0,
                  "llm cache \"%V\": embedder \"%V\" did not answer in %Mms; "
                  "looked up as a miss", &zone->name, &clcf->embedder_uri,
                  clcf->embedder_timeout);

    u = cctx->embed_sr->upstream;

    ngx_http_llm_cache_embed_done(cctx);

    /* nothing of the request is touched after this: it may have ended */

    if (u && u->peer.connection) {
        pc = u->peer.connection;
        pc->read->timedout = 1;
        pc->read->handler(pc->read);
        return;
    }

    ngx_http_run_posted_requests(c);
}


/* the request ends (or is torn down) with the embedder asked: forgotten */

static void
ngx_http_llm_cache_embed_cleanup(void *data)
{
    ngx_http_llm_cache_ctx_t *cctx = data;

    if (cctx->embed_timer.timer_set) {
        ngx_del_timer(&cctx->embed_timer);
    }

    cctx->embed_gone = 1;
}


/* the rest of the lookup, with or without a vector, then the pipeline */

static void
ngx_http_llm_cache_embed_done(ngx_http_llm_cache_ctx_t *cctx)
{
    ngx_int_t            rc;
    ngx_http_request_t  *r;

    r = cctx->request;

    cctx->embed_wait = 0;

    if (cctx->embed_timer.timer_set) {
        ngx_del_timer(&cctx->embed_timer);
    }

    rc = ngx_http_llm_cache_semantic_end(r, cctx->ctx, cctx);

    if (rc == NGX_ERROR) {
        rc = NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_http_llm_resume(r, cctx->ctx, rc);
}


/*
 * The embedder's answer: {"data": [{"embedding": [numbers]}], ...}; its
 * vector normalized to the largest component and rounded to signed bytes.
 */

static ngx_int_t
ngx_http_llm_cache_embed_read(ngx_http_request_t *sr,
    ngx_http_llm_cache_ctx_t *cctx, ngx_http_llm_ctx_t *ectx, ngx_str_t *err)
{
    long                       q;
    double                     x, max, scale;
    uint32_t                   t, e, i, dim;
    ngx_buf_t                 *body;
    ngx_http_llm_json_t        json;
    ngx_http_llm_cache_vec_t  *vec;

    static u_char  buf[64];

    if (ectx->shadow_status != NGX_HTTP_OK) {
        err->data = buf;
        err->len = ngx_sprintf(buf, "status %ui", ectx->shadow_status) - buf;
        return NGX_ERROR;
    }

    body = ectx->capture;

    if (body == NULL || body->last == body->pos) {
        ngx_str_set(err, "empty answer");
        return NGX_ERROR;
    }

    if (ectx->mode != NGX_HTTP_LLM_MODE_JSON) {
        ngx_str_set(err, "answer too large");
        return NGX_ERROR;
    }

    if (sr->headers_out.content_encoding
        && sr->headers_out.content_encoding->value.len
        && !(sr->headers_out.content_encoding->value.len == 8
             && ngx_strncasecmp(sr->headers_out.content_encoding->value.data,
                                (u_char *) "identity", 8) == 0))
    {
        ngx_str_set(err, "compressed answer (proxy_set_header "
                    "Accept-Encoding \"\" in its location)");
        return NGX_ERROR;
    }

    /* counted first, then parsed into tokens of the right number */

    ngx_memzero(&json, sizeof(ngx_http_llm_json_t));
    json.data = body->pos;
    json.len = body->last - body->pos;
    json.max_depth = 8;

    if (ngx_http_llm_json_parse(&json) != NGX_HTTP_LLM_JSON_OK
        || json.ntokens > 4 * NGX_HTTP_LLM_CACHE_MAX_DIM + 64)
    {
        ngx_str_set(err, "invalid answer (not an embeddings list)");
        return NGX_ERROR;
    }

    json.max_tokens = json.ntokens;
    json.tokens = ngx_palloc(sr->pool,
                             json.ntokens * sizeof(ngx_http_llm_json_token_t));
    if (json.tokens == NULL) {
        ngx_str_set(err, "out of memory");
        return NGX_ERROR;
    }

    if (ngx_http_llm_json_parse(&json) != NGX_HTTP_LLM_JSON_OK) {
        ngx_str_set(err, "invalid answer (not an embeddings list)");
        return NGX_ERROR;
    }

    t = ngx_http_llm_cache_get(&json, 0, "data");

    if (!ngx_http_llm_cache_is(&json, t, NGX_HTTP_LLM_JSON_ARRAY)) {
        ngx_str_set(err, "invalid answer (no \"data\" list)");
        return NGX_ERROR;
    }

    t = ngx_http_llm_json_first(&json, t);

    if (!ngx_http_llm_cache_is(&json, t, NGX_HTTP_LLM_JSON_OBJECT)) {
        ngx_str_set(err, "invalid answer (no embedding in \"data\")");
        return NGX_ERROR;
    }

    t = ngx_http_llm_cache_get(&json, t, "embedding");

    if (!ngx_http_llm_cache_is(&json, t, NGX_HTTP_LLM_JSON_ARRAY)) {
        ngx_str_set(err, "invalid answer (\"embedding\" is not a list of "
                    "numbers; base64 is not read)");
        return NGX_ERROR;
    }

    dim = json.tokens[t].size;

    if (dim == 0 || dim > NGX_HTTP_LLM_CACHE_MAX_DIM) {
        err->data = buf;
        err->len = ngx_sprintf(buf, "%uD dimensions (1 to %d are read)",
                               dim, NGX_HTTP_LLM_CACHE_MAX_DIM) - buf;
        return NGX_ERROR;
    }

    max = 0;

    for (e = ngx_http_llm_json_first(&json, t);
         e != NGX_HTTP_LLM_NONE;
         e = json.tokens[e].next)
    {
        if (json.tokens[e].type != NGX_HTTP_LLM_JSON_NUMBER
            || ngx_http_llm_json_get_double(&json, e, &x)
               != NGX_HTTP_LLM_JSON_OK)
        {
            ngx_str_set(err, "invalid answer (\"embedding\" is not a list "
                        "of numbers)");
            return NGX_ERROR;
        }

        if (x < 0) {
            x = -x;
        }

        if (x > max) {
            max = x;
        }
    }

    if (!(max > 0) || max > 1e30) {
        ngx_str_set(err, "invalid answer (a zero or unbounded vector)");
        return NGX_ERROR;
    }

    vec = ngx_palloc(sr->pool, offsetof(ngx_http_llm_cache_vec_t, v) + dim);
    if (vec == NULL) {
        ngx_str_set(err, "out of memory");
        return NGX_ERROR;
    }

    vec->flip = cctx->flip;
    vec->dim = (uint16_t) dim;
    vec->norm2 = 0;

    scale = 127 / max;
    i = 0;

    for (e = ngx_http_llm_json_first(&json, t);
         e != NGX_HTTP_LLM_NONE;
         e = json.tokens[e].next)
    {
        (void) ngx_http_llm_json_get_double(&json, e, &x);

        q = (long) (x * scale + (x < 0 ? -0.5 : 0.5));
        vec->v[i++] = (int8_t) q;
        vec->norm2 += (uint32_t) (q * q);
    }

    ngx_pfree(sr->pool, json.tokens);

    cctx->vec = vec;

    return NGX_OK;
}
