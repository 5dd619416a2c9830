
/*
 * Copyright (C) ngx_llm_module authors
 *
 * The answer cache's capture: on a miss, the answer is read as it passes
 * (a streamed answer's events through the pipeline's EVENT hook, a JSON
 * answer from the filter's capture at the end) and stored once the request
 * ends, only when it ended properly (no error, no cut stream, no tool
 * call) and an entry can reproduce it.
 */


#include "ngx_http_llm_cache.h"


static ngx_int_t ngx_http_llm_cache_append(ngx_http_request_t *r,
    ngx_http_llm_cache_ctx_t *cctx, ngx_http_llm_json_t *json, uint32_t tok);
static ngx_int_t ngx_http_llm_cache_copy(ngx_http_request_t *r,
    ngx_http_llm_json_t *json, uint32_t tok, size_t max, ngx_str_t *out);
static void ngx_http_llm_cache_cleanup(void *data);
static void ngx_http_llm_cache_json_answer(ngx_http_request_t *r,
    ngx_http_llm_ctx_t *ctx, ngx_http_llm_cache_ctx_t *cctx,
    ngx_http_llm_json_t *json);
static ngx_int_t ngx_http_llm_cache_read_json(ngx_http_request_t *r,
    ngx_http_llm_ctx_t *ctx, ngx_http_llm_cache_ctx_t *cctx);
static ngx_int_t ngx_http_llm_cache_read_answer(ngx_http_request_t *r,
    ngx_http_llm_ctx_t *ctx, ngx_http_llm_cache_ctx_t *cctx,
    ngx_http_llm_json_t *json);
static ngx_int_t ngx_http_llm_cache_gemini_json(ngx_http_request_t *r,
    ngx_http_llm_cache_ctx_t *cctx, ngx_http_llm_json_t *json);
static void ngx_http_llm_cache_responses_event(ngx_http_request_t *r,
    ngx_http_llm_ctx_t *ctx, ngx_http_llm_cache_ctx_t *cctx,
    ngx_http_llm_json_t *json);
static ngx_int_t ngx_http_llm_cache_responses_json(ngx_http_request_t *r,
    ngx_http_llm_cache_ctx_t *cctx, ngx_http_llm_json_t *json);
static void ngx_http_llm_cache_store(ngx_http_request_t *r,
    ngx_http_llm_ctx_t *ctx, ngx_http_llm_cache_ctx_t *cctx);


/* a miss or a bypass: the answer is read as it passes, stored at the end */

ngx_int_t
ngx_http_llm_cache_arm(ngx_http_request_t *r, ngx_http_llm_ctx_t *ctx,
    ngx_http_llm_cache_ctx_t *cctx)
{
    ngx_http_cleanup_t  *cln;

    cln = ngx_http_cleanup_add(r, 0);
    if (cln == NULL) {
        return NGX_ERROR;
    }

    cln->handler = ngx_http_llm_cache_cleanup;
    cln->data = ctx;

    cctx->attempt = ctx->attempts;

    ctx->cache_collect = 1;

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "llm cache: miss, model \"%V\", the answer of attempt %ui "
                   "will be read for storing", &ctx->model, ctx->attempts);

    return NGX_OK;
}


/*
 * Called by the usage reader for every event of a streamed answer, parsed:
 * the text is assembled; anything that an entry cannot reproduce (an error,
 * a tool call, a refusal, another choice) marks the answer as not kept.
 */

void
ngx_http_llm_cache_event(ngx_http_request_t *r, ngx_http_llm_ctx_t *ctx,
    ngx_http_llm_json_t *json)
{
    size_t                     len;
    u_char                    *type;
    int64_t                    index;
    uint32_t                   t, c, d, v;
    ngx_http_llm_cache_ctx_t  *cctx;

    cctx = ctx->cache;

    if (cctx == NULL) {
        return;
    }

    if (ctx->st == NULL) {
        /* a JSON answer's object, parsed once by the usage reader */
        ngx_http_llm_cache_json_answer(r, ctx, cctx, json);
        return;
    }

    if (cctx->attempt != ctx->attempts) {
        /* a fallback attempt: its answer replaces the failed one's */

        cctx->attempt = ctx->attempts;
        cctx->entry.text.len = 0;
        ngx_str_null(&cctx->entry.model);
        ngx_str_null(&cctx->entry.finish);
        ngx_str_null(&cctx->entry.stop);
        cctx->failed = 0;
        cctx->too_large = 0;
        cctx->message = 0;
    }

    if (cctx->failed) {
        return;
    }

    t = ngx_http_llm_cache_get(json, 0, "error");

    if (t != NGX_HTTP_LLM_NONE
        && json->tokens[t].type != NGX_HTTP_LLM_JSON_NULL)
    {
        /* "error": null is no error (a Responses API object has one) */
        goto failed;
    }

    if (ctx->endpoint == NGX_HTTP_LLM_EP_RESPONSES) {
        ngx_http_llm_cache_responses_event(r, ctx, cctx, json);
        return;
    }

    if (ctx->api == NGX_HTTP_LLM_API_ANTHROPIC) {
        t = ngx_http_llm_cache_get(json, 0, "type");

        if (!ngx_http_llm_cache_is(json, t, NGX_HTTP_LLM_JSON_STRING)) {
            return;
        }

        ngx_http_llm_json_raw_string(json, t, (const u_char **) &type, &len);

        if (len == 13 && ngx_strncmp(type, "message_start", 13) == 0) {
            v = ngx_http_llm_cache_get(json, 0, "message");
            v = ngx_http_llm_cache_get(json, v, "model");

            if (ngx_http_llm_cache_copy(r, json, v,
                                        NGX_HTTP_LLM_CACHE_MAX_MODEL,
                                        &cctx->entry.model)
                != NGX_OK)
            {
                goto failed;
            }

            return;
        }

        if (len == 19 && ngx_strncmp(type, "content_block_start", 19) == 0) {
            v = ngx_http_llm_cache_get(json, 0, "content_block");
            v = ngx_http_llm_cache_get(json, v, "type");

            if (!ngx_http_llm_cache_is(json, v, NGX_HTTP_LLM_JSON_STRING)) {
                goto failed;
            }

            ngx_http_llm_json_raw_string(json, v, (const u_char **) &type,
                                         &len);

            /* text is kept, thinking is left out, anything else is not */

            if ((len == 4 && ngx_strncmp(type, "text", 4) == 0)
                || (len == 8 && ngx_strncmp(type, "thinking", 8) == 0)
                || (len == 17
                    && ngx_strncmp(type, "redacted_thinking", 17) == 0))
            {
                return;
            }

            goto failed;
        }

        if (len == 19 && ngx_strncmp(type, "content_block_delta", 19) == 0) {
            d = ngx_http_llm_cache_get(json, 0, "delta");
            v = ngx_http_llm_cache_get(json, d, "type");

            if (!ngx_http_llm_cache_is(json, v, NGX_HTTP_LLM_JSON_STRING)) {
                goto failed;
            }

            ngx_http_llm_json_raw_string(json, v, (const u_char **) &type,
                                         &len);

            if (len == 10 && ngx_strncmp(type, "text_delta", 10) == 0) {
                v = ngx_http_llm_cache_get(json, d, "text");

                if (ngx_http_llm_cache_is(json, v, NGX_HTTP_LLM_JSON_STRING)
                    && ngx_http_llm_cache_append(r, cctx, json, v) != NGX_OK)
                {
                    goto failed;
                }

                return;
            }

            if ((len == 14 && ngx_strncmp(type, "thinking_delta", 14) == 0)
                || (len == 15
                    && ngx_strncmp(type, "signature_delta", 15) == 0))
            {
                return;
            }

            goto failed;
        }

        if (len == 13 && ngx_strncmp(type, "message_delta", 13) == 0) {
            d = ngx_http_llm_cache_get(json, 0, "delta");

            if (ngx_http_llm_cache_copy(r, json,
                                        ngx_http_llm_cache_get(json, d,
                                                           "stop_reason"),
                                        32, &cctx->entry.finish)
                != NGX_OK
                || ngx_http_llm_cache_copy(r, json,
                                           ngx_http_llm_cache_get(json, d,
                                                          "stop_sequence"),
                                           NGX_HTTP_LLM_CACHE_MAX_STOP,
                                           &cctx->entry.stop)
                   != NGX_OK)
            {
                goto failed;
            }
        }

        return;
    }

    /* OpenAI chunks */

    if (cctx->entry.model.len == 0
        && ngx_http_llm_cache_copy(r, json,
                                   ngx_http_llm_cache_get(json, 0, "model"),
                                   NGX_HTTP_LLM_CACHE_MAX_MODEL,
                                   &cctx->entry.model)
           != NGX_OK)
    {
        goto failed;
    }

    t = ngx_http_llm_cache_get(json, 0, "choices");

    if (!ngx_http_llm_cache_is(json, t, NGX_HTTP_LLM_JSON_ARRAY)) {
        return;
    }

    for (c = ngx_http_llm_json_first(json, t);
         c != NGX_HTTP_LLM_NONE;
         c = json->tokens[c].next)
    {
        v = ngx_http_llm_cache_get(json, c, "index");

        if (ngx_http_llm_cache_is(json, v, NGX_HTTP_LLM_JSON_NUMBER)
            && (ngx_http_llm_json_get_int(json, v, &index)
                != NGX_HTTP_LLM_JSON_OK
                || index != 0))
        {
            goto failed;
        }

        d = ngx_http_llm_cache_get(json, c, "delta");

        if (ngx_http_llm_cache_is(json, d, NGX_HTTP_LLM_JSON_OBJECT)) {

            v = ngx_http_llm_cache_get(json, d, "tool_calls");

            if (ngx_http_llm_cache_is(json, v, NGX_HTTP_LLM_JSON_ARRAY)
                && json->tokens[v].size)
            {
                goto failed;
            }

            v = ngx_http_llm_cache_get(json, d, "function_call");

            if (v != NGX_HTTP_LLM_NONE
                && json->tokens[v].type != NGX_HTTP_LLM_JSON_NULL)
            {
                goto failed;
            }

            v = ngx_http_llm_cache_get(json, d, "refusal");

            if (ngx_http_llm_cache_is(json, v, NGX_HTTP_LLM_JSON_STRING)) {
                goto failed;
            }

            v = ngx_http_llm_cache_get(json, d, "content");

            if (ngx_http_llm_cache_is(json, v, NGX_HTTP_LLM_JSON_STRING)
                && ngx_http_llm_cache_append(r, cctx, json, v) != NGX_OK)
            {
                goto failed;
            }
        }

        v = ngx_http_llm_cache_get(json, c, "finish_reason");

        if (ngx_http_llm_cache_is(json, v, NGX_HTTP_LLM_JSON_STRING)
            && ngx_http_llm_cache_copy(r, json, v, 32, &cctx->entry.finish)
               != NGX_OK)
        {
            goto failed;
        }
    }

    return;

failed:

    ngx_log_debug0(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "llm cache: the answer will not be stored");

    cctx->failed = 1;
}


/* append a text token's decoded value to the answer, within max_entry */

static ngx_int_t
ngx_http_llm_cache_append(ngx_http_request_t *r,
    ngx_http_llm_cache_ctx_t *cctx, ngx_http_llm_json_t *json, uint32_t tok)
{
    u_char        *p;
    size_t         len, size;
    const u_char  *raw;

    ngx_http_llm_json_raw_string(json, tok, &raw, &len);

    if (len == 0) {
        return NGX_OK;
    }

    if (cctx->entry.text.len + len > cctx->text_size) {

        /* decoded text is never longer than its raw JSON form */

        /* a stream's deltas double the buffer; a whole answer: its text */

        size = cctx->text_size ? cctx->text_size * 2
                               : (cctx->ctx->st ? 256 : 0);
        size = ngx_max(size, cctx->entry.text.len + len);

        p = ngx_pnalloc(r->pool, size);
        if (p == NULL) {
            return NGX_ERROR;
        }

        if (cctx->entry.text.len) {
            ngx_memcpy(p, cctx->entry.text.data, cctx->entry.text.len);
            ngx_pfree(r->pool, cctx->entry.text.data);
        }

        cctx->entry.text.data = p;
        cctx->text_size = size;
    }

    p = cctx->entry.text.data + cctx->entry.text.len;

    if (json->tokens[tok].escaped) {
        cctx->entry.text.len += ngx_http_llm_json_decode_string(raw, len, p);

    } else {
        ngx_memcpy(p, raw, len);
        cctx->entry.text.len += len;
    }

    if (cctx->entry.text.len > cctx->zone->max_entry) {
        cctx->too_large = 1;
        return NGX_ERROR;
    }

    return NGX_OK;
}


/* a short string of the answer (model, finish reason), copied */

static ngx_int_t
ngx_http_llm_cache_copy(ngx_http_request_t *r, ngx_http_llm_json_t *json,
    uint32_t tok, size_t max, ngx_str_t *out)
{
    ngx_str_t  s;

    if (!ngx_http_llm_cache_is(json, tok, NGX_HTTP_LLM_JSON_STRING)) {
        return NGX_OK;
    }

    if (ngx_http_llm_cache_decode(r->pool, json, tok, &s) != NGX_OK) {
        return NGX_ERROR;
    }

    if (s.len > max) {
        /* not something an entry keeps */
        return NGX_ERROR;
    }

    out->data = ngx_pnalloc(r->pool, s.len ? s.len : 1);
    if (out->data == NULL) {
        return NGX_ERROR;
    }

    out->len = s.len;
    ngx_memcpy(out->data, s.data, s.len);

    return NGX_OK;
}


/* the end of the request: store a complete, successful answer */

static void
ngx_http_llm_cache_cleanup(void *data)
{
    ngx_http_llm_ctx_t *ctx = data;

    ngx_int_t                  rc;
    ngx_http_request_t        *r;
    ngx_http_llm_cache_ctx_t  *cctx;

    r = ctx->request;
    cctx = ctx->cache;

    ctx->cache_collect = 0;

    if (cctx == NULL || !cctx->store) {
        return;
    }

    cctx->store = 0;

    if (r->headers_out.status != NGX_HTTP_OK || !ctx->answered
        || !ctx->complete || ctx->cut || ctx->cut_stream || ctx->client_abort
        || cctx->failed || ctx->no_store)
    {
        ngx_log_debug6(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                       "llm cache: not stored: status %ui answered:%ui "
                       "complete:%ui cut:%ui abort:%ui failed:%ui",
                       r->headers_out.status, (ngx_uint_t) ctx->answered,
                       (ngx_uint_t) ctx->complete,
                       (ngx_uint_t) (ctx->cut || ctx->cut_stream),
                       (ngx_uint_t) ctx->client_abort,
                       (ngx_uint_t) cctx->failed);

        if (cctx->too_large) {
            ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                          "llm cache \"%V\": the answer of model \"%V\" is "
                          "larger than max_entry=%uz, not stored",
                          &cctx->zone->name, &ctx->model,
                          cctx->zone->max_entry);
        }

        return;
    }

    if (ctx->st == NULL) {
        /*
         * A JSON answer: read already from the object the usage reader
         * parsed, or else from the filter's capture
         */

        if (cctx->json_read && cctx->attempt == ctx->attempts) {
            rc = cctx->json_ok ? NGX_OK : NGX_DECLINED;

        } else {
            rc = ngx_http_llm_cache_read_json(r, ctx, cctx);
        }

        if (rc != NGX_OK) {
            if (cctx->too_large) {
                ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                              "llm cache \"%V\": the answer of model \"%V\" "
                              "is larger than max_entry=%uz, not stored",
                              &cctx->zone->name, &ctx->model,
                              cctx->zone->max_entry);
            }

            return;
        }
    }

    ngx_http_llm_cache_store(r, ctx, cctx);
}


/*
 * The answer's last byte is about to be sent: store it now, so that the
 * client's next request finds it (the request's cleanup may run only after
 * the client saw the end, e.g. with a lingering close).
 */

void
ngx_http_llm_cache_end(ngx_http_llm_ctx_t *ctx)
{
    if (ctx->cache) {
        ngx_http_llm_cache_cleanup(ctx);
    }
}


/*
 * A JSON answer's object, given by the usage reader (the EVENT hook) once
 * it parsed it: read at once, rather than parsed again at the end.  An
 * answer that will not be stored (its status) is not read.
 */

static void
ngx_http_llm_cache_json_answer(ngx_http_request_t *r, ngx_http_llm_ctx_t *ctx,
    ngx_http_llm_cache_ctx_t *cctx, ngx_http_llm_json_t *json)
{
    cctx->attempt = ctx->attempts;
    cctx->json_read = 1;
    cctx->json_ok = 0;

    if (r->headers_out.status != NGX_HTTP_OK || !cctx->store) {
        return;
    }

    cctx->entry.text.len = 0;
    ngx_str_null(&cctx->entry.model);
    ngx_str_null(&cctx->entry.finish);
    ngx_str_null(&cctx->entry.stop);
    cctx->too_large = 0;
    cctx->message = 0;

    cctx->json_ok = (ngx_http_llm_cache_read_answer(r, ctx, cctx, json)
                     == NGX_OK);
}


/*
 * A JSON answer not read yet (its object was not given to the EVENT hook:
 * Gemini's, or one the usage reader could not parse): parsed here.
 */

static ngx_int_t
ngx_http_llm_cache_read_json(ngx_http_request_t *r, ngx_http_llm_ctx_t *ctx,
    ngx_http_llm_cache_ctx_t *cctx)
{
    ngx_str_t            body;
    ngx_http_llm_json_t  json;

    if (ctx->capture == NULL) {
        return NGX_DECLINED;
    }

    body.data = ctx->capture->pos;
    body.len = ctx->capture->last - ctx->capture->pos;

    if (ngx_http_llm_parse_json(r, ctx, &body, &json) != NGX_OK) {
        return NGX_DECLINED;
    }

    return ngx_http_llm_cache_read_answer(r, ctx, cctx, &json);
}


/*
 * The members an answer object is read for, each object's in one walk over
 * its keys (ngx_http_llm_json_object_get_n()) rather than one per member.
 */

static const ngx_http_llm_json_name_t  ngx_http_llm_cache_answer_keys[] = {
    { "error", 5 }, { "model", 5 }, { "choices", 7 }
};

static const ngx_http_llm_json_name_t  ngx_http_llm_cache_choice_keys[] = {
    { "message", 7 }, { "finish_reason", 13 }
};

static const ngx_http_llm_json_name_t  ngx_http_llm_cache_message_keys[] = {
    { "tool_calls", 10 }, { "function_call", 13 }, { "refusal", 7 },
    { "content", 7 }
};


/* a JSON answer's object, parsed: NGX_OK, an entry can reproduce it */

static ngx_int_t
ngx_http_llm_cache_read_answer(ngx_http_request_t *r, ngx_http_llm_ctx_t *ctx,
    ngx_http_llm_cache_ctx_t *cctx, ngx_http_llm_json_t *json)
{
    size_t               len;
    u_char              *type;
    uint32_t             t, c, m, v, top[3], choice[2], msg[4];

    ngx_http_llm_json_object_get_n(json, 0, ngx_http_llm_cache_answer_keys,
                                   3, top);

    t = top[0];

    if (t != NGX_HTTP_LLM_NONE
        && json->tokens[t].type != NGX_HTTP_LLM_JSON_NULL)
    {
        /* "error": null is no error (a Responses API object has one) */
        return NGX_DECLINED;
    }

    if (ngx_http_llm_cache_copy(r, json, top[1],
                                NGX_HTTP_LLM_CACHE_MAX_MODEL,
                                &cctx->entry.model)
        != NGX_OK)
    {
        return NGX_DECLINED;
    }

    if (ctx->endpoint == NGX_HTTP_LLM_EP_RESPONSES) {
        return ngx_http_llm_cache_responses_json(r, cctx, json);
    }

    if (ctx->api == NGX_HTTP_LLM_API_GEMINI) {
        return ngx_http_llm_cache_gemini_json(r, cctx, json);
    }

    if (ctx->api == NGX_HTTP_LLM_API_ANTHROPIC) {
        t = ngx_http_llm_cache_get(json, 0, "content");

        if (!ngx_http_llm_cache_is(json, t, NGX_HTTP_LLM_JSON_ARRAY)) {
            return NGX_DECLINED;
        }

        for (c = ngx_http_llm_json_first(json, t);
             c != NGX_HTTP_LLM_NONE;
             c = json->tokens[c].next)
        {
            v = ngx_http_llm_cache_get(json, c, "type");

            if (!ngx_http_llm_cache_is(json, v, NGX_HTTP_LLM_JSON_STRING)) {
                return NGX_DECLINED;
            }

            ngx_http_llm_json_raw_string(json, v, (const u_char **) &type,
                                         &len);

            if (len == 4 && ngx_strncmp(type, "text", 4) == 0) {
                /* cited text: its citations cannot be replayed */

                v = ngx_http_llm_cache_get(json, c, "citations");

                if (v != NGX_HTTP_LLM_NONE
                    && json->tokens[v].type != NGX_HTTP_LLM_JSON_NULL)
                {
                    return NGX_DECLINED;
                }

                v = ngx_http_llm_cache_get(json, c, "text");

                if (ngx_http_llm_cache_is(json, v, NGX_HTTP_LLM_JSON_STRING)
                    && ngx_http_llm_cache_append(r, cctx, json, v) != NGX_OK)
                {
                    return NGX_DECLINED;
                }

                continue;
            }

            if ((len == 8 && ngx_strncmp(type, "thinking", 8) == 0)
                || (len == 17
                    && ngx_strncmp(type, "redacted_thinking", 17) == 0))
            {
                continue;
            }

            return NGX_DECLINED;
        }

        if (ngx_http_llm_cache_copy(r, json,
                                    ngx_http_llm_cache_get(json, 0,
                                                           "stop_reason"),
                                    32, &cctx->entry.finish)
            != NGX_OK
            || ngx_http_llm_cache_copy(r, json,
                                       ngx_http_llm_cache_get(json, 0,
                                                          "stop_sequence"),
                                       NGX_HTTP_LLM_CACHE_MAX_STOP,
                                       &cctx->entry.stop)
               != NGX_OK)
        {
            return NGX_DECLINED;
        }

        return NGX_OK;
    }

    t = top[2];

    if (!ngx_http_llm_cache_is(json, t, NGX_HTTP_LLM_JSON_ARRAY)
        || json->tokens[t].size != 1)
    {
        return NGX_DECLINED;
    }

    c = ngx_http_llm_json_first(json, t);

    ngx_http_llm_json_object_get_n(json, c, ngx_http_llm_cache_choice_keys,
                                   2, choice);
    m = choice[0];

    if (!ngx_http_llm_cache_is(json, m, NGX_HTTP_LLM_JSON_OBJECT)) {
        return NGX_DECLINED;
    }

    ngx_http_llm_json_object_get_n(json, m, ngx_http_llm_cache_message_keys,
                                   4, msg);

    v = msg[0];   /* tool_calls */

    if (ngx_http_llm_cache_is(json, v, NGX_HTTP_LLM_JSON_ARRAY)
        && json->tokens[v].size)
    {
        return NGX_DECLINED;
    }

    v = msg[1];   /* function_call */

    if (v != NGX_HTTP_LLM_NONE
        && !ngx_http_llm_cache_is(json, v, NGX_HTTP_LLM_JSON_NULL))
    {
        return NGX_DECLINED;
    }

    v = msg[2];   /* refusal */

    if (ngx_http_llm_cache_is(json, v, NGX_HTTP_LLM_JSON_STRING)) {
        return NGX_DECLINED;
    }

    v = msg[3];   /* content */

    if (!ngx_http_llm_cache_is(json, v, NGX_HTTP_LLM_JSON_STRING)
        || ngx_http_llm_cache_append(r, cctx, json, v) != NGX_OK)
    {
        return NGX_DECLINED;
    }

    if (ngx_http_llm_cache_copy(r, json, choice[1], 32, &cctx->entry.finish)
        != NGX_OK)
    {
        return NGX_DECLINED;
    }

    return NGX_OK;
}


/*
 * Gemini: a whole generateContent answer of one candidate whose parts are
 * text (thought parts are left out, as they are of Anthropic's thinking);
 * any other part (a function call, code, inline data) is not kept.
 */

static ngx_int_t
ngx_http_llm_cache_gemini_json(ngx_http_request_t *r,
    ngx_http_llm_cache_ctx_t *cctx, ngx_http_llm_json_t *json)
{
    uint32_t  t, c, v;

    t = ngx_http_llm_cache_get(json, 0, "candidates");

    if (!ngx_http_llm_cache_is(json, t, NGX_HTTP_LLM_JSON_ARRAY)
        || json->tokens[t].size != 1)
    {
        return NGX_DECLINED;
    }

    c = ngx_http_llm_json_first(json, t);

    t = ngx_http_llm_cache_get(json, c, "content");
    t = ngx_http_llm_cache_get(json, t, "parts");

    if (!ngx_http_llm_cache_is(json, t, NGX_HTTP_LLM_JSON_ARRAY)) {
        return NGX_DECLINED;
    }

    for (t = ngx_http_llm_json_first(json, t);
         t != NGX_HTTP_LLM_NONE;
         t = json->tokens[t].next)
    {
        v = ngx_http_llm_cache_get(json, t, "thought");

        if (ngx_http_llm_cache_is(json, v, NGX_HTTP_LLM_JSON_TRUE)) {
            continue;
        }

        v = ngx_http_llm_cache_get(json, t, "text");

        if (!ngx_http_llm_cache_is(json, v, NGX_HTTP_LLM_JSON_STRING)
            || ngx_http_llm_cache_get(json, t, "functionCall")
               != NGX_HTTP_LLM_NONE
            || ngx_http_llm_cache_get(json, t, "executableCode")
               != NGX_HTTP_LLM_NONE
            || ngx_http_llm_cache_get(json, t, "inlineData")
               != NGX_HTTP_LLM_NONE
            || ngx_http_llm_cache_append(r, cctx, json, v) != NGX_OK)
        {
            return NGX_DECLINED;
        }
    }

    if (ngx_http_llm_cache_copy(r, json,
                                ngx_http_llm_cache_get(json, c,
                                                       "finishReason"),
                                32, &cctx->entry.finish)
        != NGX_OK
        || ngx_http_llm_cache_copy(r, json,
                                   ngx_http_llm_cache_get(json, 0,
                                                          "modelVersion"),
                                   NGX_HTTP_LLM_CACHE_MAX_MODEL,
                                   &cctx->entry.model)
           != NGX_OK)
    {
        return NGX_DECLINED;
    }

    return NGX_OK;
}


/*
 * The Responses API, streamed: one message item with one output_text part
 * is kept (reasoning items are left out); function calls, other tools'
 * items, refusals, annotations (citations) and answers that did not
 * complete are not stored.
 */

static void
ngx_http_llm_cache_responses_event(ngx_http_request_t *r,
    ngx_http_llm_ctx_t *ctx, ngx_http_llm_cache_ctx_t *cctx,
    ngx_http_llm_json_t *json)
{
    size_t         len;
    u_char        *type;
    uint32_t       t, v;
    ngx_str_t      item;

    t = ngx_http_llm_cache_get(json, 0, "type");

    if (!ngx_http_llm_cache_is(json, t, NGX_HTTP_LLM_JSON_STRING)) {
        return;
    }

    ngx_http_llm_json_raw_string(json, t, (const u_char **) &type, &len);

#define ngx_http_llm_cache_type_is(s)                                         \
    (len == sizeof(s) - 1 && ngx_strncmp(type, s, len) == 0)

    if (ngx_http_llm_cache_type_is("response.output_text.delta")) {
        v = ngx_http_llm_cache_get(json, 0, "delta");

        if (ngx_http_llm_cache_is(json, v, NGX_HTTP_LLM_JSON_STRING)
            && ngx_http_llm_cache_append(r, cctx, json, v) != NGX_OK)
        {
            goto failed;
        }

        return;
    }

    if (ngx_http_llm_cache_type_is("response.created")
        || ngx_http_llm_cache_type_is("response.completed"))
    {
        v = ngx_http_llm_cache_get(json, 0, "response");

        if (cctx->entry.model.len == 0
            && ngx_http_llm_cache_copy(r, json,
                                       ngx_http_llm_cache_get(json, v,
                                                              "model"),
                                       NGX_HTTP_LLM_CACHE_MAX_MODEL,
                                       &cctx->entry.model)
               != NGX_OK)
        {
            goto failed;
        }

        if (ngx_http_llm_cache_type_is("response.completed")) {
            ngx_str_set(&cctx->entry.finish, "stop");   /* completed */
        }

        return;
    }

    if (ngx_http_llm_cache_type_is("response.output_item.added")) {
        v = ngx_http_llm_cache_get(json, 0, "item");
        v = ngx_http_llm_cache_get(json, v, "type");

        if (!ngx_http_llm_cache_is(json, v, NGX_HTTP_LLM_JSON_STRING)) {
            goto failed;
        }

        ngx_http_llm_json_raw_string(json, v, (const u_char **) &item.data,
                                     &item.len);

        if (item.len == 9 && ngx_strncmp(item.data, "reasoning", 9) == 0) {
            return;
        }

        if (item.len == 7 && ngx_strncmp(item.data, "message", 7) == 0
            && !cctx->message)
        {
            /* the first message item: the only one kept */
            cctx->message = 1;
            return;
        }

        goto failed;
    }

    if (ngx_http_llm_cache_type_is("response.content_part.added")) {
        v = ngx_http_llm_cache_get(json, 0, "content_index");

        if (ngx_http_llm_cache_is(json, v, NGX_HTTP_LLM_JSON_NUMBER)
            && json->tokens[v].end - json->tokens[v].start == 1
            && json->data[json->tokens[v].start] == '0')
        {
            /* a summary part of a reasoning item, or the message's text */
            return;
        }

        goto failed;
    }

    if (ngx_http_llm_cache_type_is("response.refusal.delta")
        || ngx_http_llm_cache_type_is("response.output_text.annotation.added")
        || ngx_http_llm_cache_type_is("response.incomplete")
        || ngx_http_llm_cache_type_is("response.failed"))
    {
        goto failed;
    }

#undef ngx_http_llm_cache_type_is

    return;

failed:

    ngx_log_debug0(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "llm cache: the answer will not be stored");

    cctx->failed = 1;
}


/* a Responses API JSON answer: the same rules */

static ngx_int_t
ngx_http_llm_cache_responses_json(ngx_http_request_t *r,
    ngx_http_llm_cache_ctx_t *cctx, ngx_http_llm_json_t *json)
{
    size_t     len;
    u_char    *type;
    uint32_t   t, item, c, v;
    ngx_uint_t messages;

    t = ngx_http_llm_cache_get(json, 0, "status");

    if (!ngx_http_llm_cache_is(json, t, NGX_HTTP_LLM_JSON_STRING)) {
        return NGX_DECLINED;
    }

    ngx_http_llm_json_raw_string(json, t, (const u_char **) &type, &len);

    if (len != 9 || ngx_strncmp(type, "completed", 9) != 0) {
        return NGX_DECLINED;
    }

    t = ngx_http_llm_cache_get(json, 0, "output");

    if (!ngx_http_llm_cache_is(json, t, NGX_HTTP_LLM_JSON_ARRAY)) {
        return NGX_DECLINED;
    }

    messages = 0;

    for (item = ngx_http_llm_json_first(json, t);
         item != NGX_HTTP_LLM_NONE;
         item = json->tokens[item].next)
    {
        v = ngx_http_llm_cache_get(json, item, "type");

        if (!ngx_http_llm_cache_is(json, v, NGX_HTTP_LLM_JSON_STRING)) {
            return NGX_DECLINED;
        }

        ngx_http_llm_json_raw_string(json, v, (const u_char **) &type, &len);

        if (len == 9 && ngx_strncmp(type, "reasoning", 9) == 0) {
            continue;
        }

        if (len != 7 || ngx_strncmp(type, "message", 7) != 0
            || messages++)
        {
            return NGX_DECLINED;
        }

        c = ngx_http_llm_cache_get(json, item, "content");

        if (!ngx_http_llm_cache_is(json, c, NGX_HTTP_LLM_JSON_ARRAY)
            || json->tokens[c].size != 1)
        {
            return NGX_DECLINED;
        }

        c = ngx_http_llm_json_first(json, c);
        v = ngx_http_llm_cache_get(json, c, "type");

        if (!ngx_http_llm_cache_is(json, v, NGX_HTTP_LLM_JSON_STRING)) {
            return NGX_DECLINED;
        }

        ngx_http_llm_json_raw_string(json, v, (const u_char **) &type, &len);

        if (len != 11 || ngx_strncmp(type, "output_text", 11) != 0) {
            return NGX_DECLINED;
        }

        v = ngx_http_llm_cache_get(json, c, "annotations");

        if (ngx_http_llm_cache_is(json, v, NGX_HTTP_LLM_JSON_ARRAY)
            && json->tokens[v].size)
        {
            return NGX_DECLINED;
        }

        v = ngx_http_llm_cache_get(json, c, "text");

        if (!ngx_http_llm_cache_is(json, v, NGX_HTTP_LLM_JSON_STRING)
            || ngx_http_llm_cache_append(r, cctx, json, v) != NGX_OK)
        {
            return NGX_DECLINED;
        }
    }

    if (messages != 1) {
        return NGX_DECLINED;
    }

    ngx_str_set(&cctx->entry.finish, "stop");   /* completed */

    return NGX_OK;
}



/* a complete answer: kept when an entry can reproduce it */

static void
ngx_http_llm_cache_store(ngx_http_request_t *r, ngx_http_llm_ctx_t *ctx,
    ngx_http_llm_cache_ctx_t *cctx)
{
    size_t                       size;
    time_t                       now;
    ngx_str_t                   *f, model;
    ngx_http_llm_cache_zone_t   *zone;
    ngx_http_llm_cache_entry_t  *e;

    static ngx_str_t  openai_ok[] = {
        ngx_string("stop"), ngx_string("length"), ngx_null_string
    };

    static ngx_str_t  anthropic_ok[] = {
        ngx_string("end_turn"), ngx_string("max_tokens"),
        ngx_string("stop_sequence"), ngx_null_string
    };

    static ngx_str_t  gemini_ok[] = {
        ngx_string("STOP"), ngx_string("MAX_TOKENS"), ngx_null_string
    };

    zone = cctx->zone;
    e = &cctx->entry;

    if (e->text.len == 0) {
        return;
    }

    /* only answers that ended on their own or at their length limit */

    if (e->finish.len == 0) {
        if (ctx->api == NGX_HTTP_LLM_API_ANTHROPIC) {
            ngx_str_set(&e->finish, "end_turn");

        } else if (ctx->api == NGX_HTTP_LLM_API_GEMINI) {
            ngx_str_set(&e->finish, "STOP");

        } else {
            ngx_str_set(&e->finish, "stop");
        }
    }

    for (f = (ctx->api == NGX_HTTP_LLM_API_ANTHROPIC) ? anthropic_ok
             : (ctx->api == NGX_HTTP_LLM_API_GEMINI) ? gemini_ok : openai_ok;
         f->len;
         f++)
    {
        if (f->len == e->finish.len
            && ngx_strncmp(f->data, e->finish.data, f->len) == 0)
        {
            break;
        }
    }

    if (f->len == 0) {
        ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                       "llm cache: not stored: finish reason \"%V\"",
                       &e->finish);
        return;
    }

    if (ctx->model.len != cctx->key_model.len
        || ngx_strncmp(ctx->model.data, cctx->key_model.data,
                       ctx->model.len) != 0)
    {
        /* a fallback model answered: the entry is keyed by that model */

        model = ctx->model;

        if (ngx_http_llm_cache_key(r, ctx, cctx, &model) != NGX_OK) {
            return;
        }

        cctx->semantic = 0;
    }

    if (e->model.len == 0) {
        e->model.data = ctx->model.data;
        e->model.len = ngx_min(ctx->model.len, NGX_HTTP_LLM_CACHE_MAX_MODEL);
    }

    if (e->stop.len > NGX_HTTP_LLM_CACHE_MAX_STOP) {
        e->stop.len = 0;
    }

    e->prompt_tokens = (uint32_t) ngx_min(ctx->prompt_tokens, 0xffffffff);
    e->completion_tokens = (uint32_t) ngx_min(ctx->completion_tokens,
                                              0xffffffff);

    now = ngx_time();

    if (zone->redis) {
        /* for the other nginx of the fleet: the exact entry */
        ngx_http_llm_cache_redis_store(r, ctx, cctx, now);
    }

    if (ngx_http_llm_cache_write(zone, cctx->digest, e,
                                 cctx->semantic ? cctx->sem_digest : NULL,
                                 cctx->vec, cctx->embed, now, &size,
                                 r->connection->log)
        != NGX_OK)
    {
        return;
    }

    ngx_log_debug3(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "llm cache \"%V\": stored %uz bytes, model \"%V\"",
                   &zone->name, size, &ctx->model);
}
