
/*
 * Copyright (C) ngx_llm_module authors
 *
 * What the answer says about usage, per API: the provider's reported
 * figures where it gives them, and an estimate of the answer's text as it
 * streams by, so that a cut stream is still counted.
 */


#include "ngx_http_llm_module.h"


static ngx_int_t ngx_http_llm_openai_event(ngx_http_request_t *r,
    ngx_http_llm_ctx_t *ctx, ngx_str_t *data);
static ngx_int_t ngx_http_llm_anthropic_event(ngx_http_request_t *r,
    ngx_http_llm_ctx_t *ctx, ngx_str_t *event, ngx_str_t *data);
static void ngx_http_llm_openai_usage(ngx_http_llm_ctx_t *ctx,
    ngx_http_llm_json_t *json, uint32_t usage);
static void ngx_http_llm_anthropic_usage(ngx_http_llm_ctx_t *ctx,
    ngx_http_llm_json_t *json, uint32_t usage, ngx_uint_t final);
static ngx_int_t ngx_http_llm_count_text(ngx_http_request_t *r,
    ngx_http_llm_ctx_t *ctx, ngx_http_llm_json_t *json, uint32_t tok);
static ngx_int_t ngx_http_llm_count_member(ngx_http_request_t *r,
    ngx_http_llm_ctx_t *ctx, ngx_http_llm_json_t *json, uint32_t obj,
    const char *key, size_t len);
static int64_t ngx_http_llm_get_count(ngx_http_llm_json_t *json,
    uint32_t obj, const char *key, size_t len);


#define ngx_http_llm_get(json, obj, key)                                      \
    ngx_http_llm_json_object_get(json, obj, key, sizeof(key) - 1)

#define ngx_http_llm_is(json, tok, t)                                         \
    ((tok) != NGX_HTTP_LLM_NONE && (json)->tokens[tok].type == (t))


ngx_int_t
ngx_http_llm_usage_event(ngx_http_request_t *r, ngx_http_llm_ctx_t *ctx,
    ngx_str_t *event, ngx_str_t *data)
{
    ctx->data_events++;

    if (ctx->api == NGX_HTTP_LLM_API_ANTHROPIC) {
        return ngx_http_llm_anthropic_event(r, ctx, event, data);
    }

    return ngx_http_llm_openai_event(r, ctx, data);
}


static ngx_int_t
ngx_http_llm_openai_event(ngx_http_request_t *r, ngx_http_llm_ctx_t *ctx,
    ngx_str_t *data)
{
    uint32_t             usage, choices, c, delta, calls, f;
    ngx_int_t            rc;
    ngx_http_llm_json_t  json;

    if (data->len == 6 && ngx_strncmp(data->data, "[DONE]", 6) == 0) {
        ctx->complete = 1;
        return NGX_HTTP_LLM_EVENT_PASS;
    }

    rc = ngx_http_llm_parse_json(r, ctx, data, &json);
    if (rc != NGX_OK) {
        return (rc == NGX_ERROR) ? NGX_ERROR : NGX_HTTP_LLM_EVENT_PASS;
    }

    if (ctx->cache_collect) {
        ngx_http_llm_cache_event(r, ctx, &json);
    }

    if (ctx->data_events == 1
        && ngx_http_llm_get(&json, 0, "error") != NGX_HTTP_LLM_NONE)
    {
        ctx->error_first = 1;
    }

    usage = ngx_http_llm_get(&json, 0, "usage");

    if (ngx_http_llm_is(&json, usage, NGX_HTTP_LLM_JSON_OBJECT)) {
        ngx_http_llm_openai_usage(ctx, &json, usage);
    }

    choices = ngx_http_llm_get(&json, 0, "choices");

    if (!ngx_http_llm_is(&json, choices, NGX_HTTP_LLM_JSON_ARRAY)) {
        return NGX_HTTP_LLM_EVENT_PASS;
    }

    if (json.tokens[choices].size == 0
        && ngx_http_llm_is(&json, usage, NGX_HTTP_LLM_JSON_OBJECT)
        && ctx->strip_usage)
    {
        /* the usage chunk we asked for on the client's behalf */
        return NGX_HTTP_LLM_EVENT_DROP;
    }

    for (c = ngx_http_llm_json_first(&json, choices);
         c != NGX_HTTP_LLM_NONE;
         c = json.tokens[c].next)
    {
        delta = ngx_http_llm_get(&json, c, "delta");

        if (!ngx_http_llm_is(&json, delta, NGX_HTTP_LLM_JSON_OBJECT)) {
            continue;
        }

        if (ngx_http_llm_count_member(r, ctx, &json, delta, "content", 7)
            != NGX_OK
            || ngx_http_llm_count_member(r, ctx, &json, delta,
                                         "reasoning_content", 17)
               != NGX_OK
            || ngx_http_llm_count_member(r, ctx, &json, delta, "refusal", 7)
               != NGX_OK)
        {
            return NGX_ERROR;
        }

        calls = ngx_http_llm_get(&json, delta, "tool_calls");

        if (!ngx_http_llm_is(&json, calls, NGX_HTTP_LLM_JSON_ARRAY)) {
            continue;
        }

        for (f = ngx_http_llm_json_first(&json, calls);
             f != NGX_HTTP_LLM_NONE;
             f = json.tokens[f].next)
        {
            if (ngx_http_llm_count_member(r, ctx, &json,
                                          ngx_http_llm_get(&json, f,
                                                           "function"),
                                          "arguments", 9)
                != NGX_OK)
            {
                return NGX_ERROR;
            }
        }
    }

    return NGX_HTTP_LLM_EVENT_PASS;
}


static ngx_int_t
ngx_http_llm_anthropic_event(ngx_http_request_t *r, ngx_http_llm_ctx_t *ctx,
    ngx_str_t *event, ngx_str_t *data)
{
    size_t               len;
    u_char              *type;
    uint32_t             t, v;
    ngx_int_t            rc;
    ngx_http_llm_json_t  json;

    rc = ngx_http_llm_parse_json(r, ctx, data, &json);
    if (rc != NGX_OK) {
        return (rc == NGX_ERROR) ? NGX_ERROR : NGX_HTTP_LLM_EVENT_PASS;
    }

    if (ctx->cache_collect) {
        ngx_http_llm_cache_event(r, ctx, &json);
    }

    /* the "type" member names the event; the "event:" line repeats it */

    t = ngx_http_llm_get(&json, 0, "type");

    if (ngx_http_llm_is(&json, t, NGX_HTTP_LLM_JSON_STRING)) {
        ngx_http_llm_json_raw_string(&json, t, (const u_char **) &type, &len);

    } else {
        type = event->data;
        len = event->len;
    }

    if (len == 13 && ngx_strncmp(type, "message_start", 13) == 0) {
        v = ngx_http_llm_get(&json, 0, "message");
        v = ngx_http_llm_get(&json, v, "usage");

        if (ngx_http_llm_is(&json, v, NGX_HTTP_LLM_JSON_OBJECT)) {
            ngx_http_llm_anthropic_usage(ctx, &json, v, 0);
        }

    } else if (len == 19 && ngx_strncmp(type, "content_block_delta", 19) == 0) {
        v = ngx_http_llm_get(&json, 0, "delta");

        if (ngx_http_llm_count_member(r, ctx, &json, v, "text", 4) != NGX_OK
            || ngx_http_llm_count_member(r, ctx, &json, v, "partial_json", 12)
               != NGX_OK
            || ngx_http_llm_count_member(r, ctx, &json, v, "thinking", 8)
               != NGX_OK)
        {
            return NGX_ERROR;
        }

    } else if (len == 13 && ngx_strncmp(type, "message_delta", 13) == 0) {
        v = ngx_http_llm_get(&json, 0, "usage");

        if (ngx_http_llm_is(&json, v, NGX_HTTP_LLM_JSON_OBJECT)) {
            ngx_http_llm_anthropic_usage(ctx, &json, v, 1);
        }

    } else if (len == 12 && ngx_strncmp(type, "message_stop", 12) == 0) {
        ctx->complete = 1;

    } else if (len == 5 && ngx_strncmp(type, "error", 5) == 0
               && ctx->data_events == 1)
    {
        ctx->error_first = 1;
    }

    return NGX_HTTP_LLM_EVENT_PASS;
}


/* a whole JSON answer */

void
ngx_http_llm_usage_json(ngx_http_request_t *r, ngx_http_llm_ctx_t *ctx,
    ngx_str_t *body)
{
    uint32_t             usage, list, c, m;
    ngx_http_llm_json_t  json;

    if (ngx_http_llm_parse_json(r, ctx, body, &json) != NGX_OK) {

        /* not a JSON object (text/plain, say): all of it is the answer */

        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "llm: the answer of model \"%V\" is not a JSON "
                      "object: its text is estimated for usage", &ctx->model);

        ctx->completion_estimate += ngx_http_llm_estimate_tokens(body->data,
                                                                 body->len);
        if (!ctx->usage_reported) {
            ctx->completion_tokens = ctx->completion_estimate;
        }

        return;
    }

    ctx->complete = 1;

    usage = ngx_http_llm_get(&json, 0, "usage");

    if (ctx->api == NGX_HTTP_LLM_API_ANTHROPIC) {
        if (ngx_http_llm_is(&json, usage, NGX_HTTP_LLM_JSON_OBJECT)) {
            ngx_http_llm_anthropic_usage(ctx, &json, usage, 1);
        }

        list = ngx_http_llm_get(&json, 0, "content");

        if (ngx_http_llm_is(&json, list, NGX_HTTP_LLM_JSON_ARRAY)) {
            for (c = ngx_http_llm_json_first(&json, list);
                 c != NGX_HTTP_LLM_NONE;
                 c = json.tokens[c].next)
            {
                (void) ngx_http_llm_count_member(r, ctx, &json, c, "text", 4);
            }
        }

        return;
    }

    if (ngx_http_llm_is(&json, usage, NGX_HTTP_LLM_JSON_OBJECT)) {
        ngx_http_llm_openai_usage(ctx, &json, usage);
    }

    list = ngx_http_llm_get(&json, 0, "choices");

    if (!ngx_http_llm_is(&json, list, NGX_HTTP_LLM_JSON_ARRAY)) {
        return;
    }

    for (c = ngx_http_llm_json_first(&json, list);
         c != NGX_HTTP_LLM_NONE;
         c = json.tokens[c].next)
    {
        m = ngx_http_llm_get(&json, c, "message");

        if (m == NGX_HTTP_LLM_NONE) {
            /* legacy completions */
            (void) ngx_http_llm_count_member(r, ctx, &json, c, "text", 4);
            continue;
        }

        (void) ngx_http_llm_count_member(r, ctx, &json, m, "content", 7);
    }
}


static void
ngx_http_llm_openai_usage(ngx_http_llm_ctx_t *ctx, ngx_http_llm_json_t *json,
    uint32_t usage)
{
    int64_t   n;
    uint32_t  d;

    n = ngx_http_llm_get_count(json, usage, "prompt_tokens", 13);
    if (n >= 0) {
        ctx->prompt_tokens = (size_t) n;
        ctx->prompt_reported = 1;
    }

    n = ngx_http_llm_get_count(json, usage, "completion_tokens", 17);
    if (n >= 0) {
        ctx->completion_tokens = (size_t) n;
        ctx->usage_reported = 1;
    }

    d = ngx_http_llm_get(json, usage, "prompt_tokens_details");
    n = ngx_http_llm_get_count(json, d, "cached_tokens", 13);
    if (n >= 0) {
        ctx->cached_tokens = (size_t) n;
    }
}


/*
 * Anthropic: the prompt is input + cache creation + cache read tokens;
 * output tokens are cumulative (message_start has a first figure, each
 * message_delta the running total): the last one is the answer's.
 */

static void
ngx_http_llm_anthropic_usage(ngx_http_llm_ctx_t *ctx,
    ngx_http_llm_json_t *json, uint32_t usage, ngx_uint_t final)
{
    int64_t  in, creation, read, out;

    in = ngx_http_llm_get_count(json, usage, "input_tokens", 12);
    creation = ngx_http_llm_get_count(json, usage,
                                      "cache_creation_input_tokens", 27);
    read = ngx_http_llm_get_count(json, usage, "cache_read_input_tokens", 23);
    out = ngx_http_llm_get_count(json, usage, "output_tokens", 13);

    if (in >= 0) {
        ctx->prompt_tokens = (size_t) (in + ngx_max(creation, 0)
                                       + ngx_max(read, 0));
        ctx->prompt_reported = 1;
    }

    if (read >= 0) {
        ctx->cached_tokens = (size_t) read;
    }

    if (out >= 0 && (final || !ctx->usage_reported)) {
        if (final) {
            ctx->completion_tokens = (size_t) out;
            ctx->usage_reported = 1;

        } else if (ctx->completion_estimate < (size_t) out) {
            ctx->completion_estimate = (size_t) out;
            ctx->completion_tokens = (size_t) out;
        }
    }
}


static ngx_int_t
ngx_http_llm_count_member(ngx_http_request_t *r, ngx_http_llm_ctx_t *ctx,
    ngx_http_llm_json_t *json, uint32_t obj, const char *key, size_t len)
{
    uint32_t  t;

    t = ngx_http_llm_json_object_get(json, obj, key, len);

    if (!ngx_http_llm_is(json, t, NGX_HTTP_LLM_JSON_STRING)) {
        return NGX_OK;
    }

    return ngx_http_llm_count_text(r, ctx, json, t);
}


/* add the estimated tokens of an answer's text */

static ngx_int_t
ngx_http_llm_count_text(ngx_http_request_t *r, ngx_http_llm_ctx_t *ctx,
    ngx_http_llm_json_t *json, uint32_t tok)
{
    size_t         len, n;
    ngx_uint_t     estimate;
    const u_char  *raw;

    ngx_http_llm_json_raw_string(json, tok, &raw, &len);

    if (len == 0) {
        return NGX_OK;
    }

    /*
     * A whole answer that reports its usage (read before its text) needs
     * no estimate; a stream's usage comes last, if at all.
     */

    estimate = (!ctx->usage_reported || ctx->mode == NGX_HTTP_LLM_MODE_STREAM);

    if (!estimate && !ctx->collect_text) {
        goto done;
    }

    if (json->tokens[tok].escaped) {
        if (len > ctx->text_size) {
            if (ctx->text) {
                ngx_pfree(r->pool, ctx->text);
            }

            ctx->text_size = ngx_max(len, 1024);
            ctx->text = ngx_palloc(r->pool, ctx->text_size);
            if (ctx->text == NULL) {
                return NGX_ERROR;
            }
        }

        len = ngx_http_llm_json_decode_string(raw, len, ctx->text);
        raw = ctx->text;
    }

    if (ctx->collect_text) {
        ngx_http_llm_collect_text(r, ctx, (u_char *) raw, len);
    }

    if (estimate) {
        n = ngx_http_llm_estimate_tokens(raw, len);

        ctx->completion_estimate += n;

        if (!ctx->usage_reported) {
            ctx->completion_tokens = ctx->completion_estimate;
        }
    }

done:

    if (!ctx->shadow) {
        ngx_http_llm_mark_ttft(r, ctx);
    }

    if (ctx->budget_cut_armed && ctx->mode == NGX_HTTP_LLM_MODE_STREAM
        && ngx_http_llm_budget_overrun(ctx))
    {
        ctx->budget_cut_armed = 0;
        ctx->cut_stream = 1;
    }

    return NGX_OK;
}


static int64_t
ngx_http_llm_get_count(ngx_http_llm_json_t *json, uint32_t obj,
    const char *key, size_t len)
{
    int64_t   n;
    uint32_t  t;

    t = ngx_http_llm_json_object_get(json, obj, key, len);

    if (!ngx_http_llm_is(json, t, NGX_HTTP_LLM_JSON_NUMBER)
        || ngx_http_llm_json_get_int(json, t, &n) != NGX_HTTP_LLM_JSON_OK
        || n < 0)
    {
        return -1;
    }

    return n;
}


/*
 * Parse a JSON text of the answer into the ctx's token array, which is
 * reused from event to event and grows only for a larger one.
 * NGX_DECLINED: not JSON, or not an object.
 */

ngx_int_t
ngx_http_llm_parse_json(ngx_http_request_t *r, ngx_http_llm_ctx_t *ctx,
    ngx_str_t *data, ngx_http_llm_json_t *json)
{
    uint32_t  size;

    ngx_memzero(json, sizeof(ngx_http_llm_json_t));

    json->data = data->data;
    json->len = data->len;

    if (ngx_http_llm_json_parse(json) != NGX_HTTP_LLM_JSON_OK) {
        return NGX_DECLINED;
    }

    if (json->ntokens > ctx->tokens_size) {
        if (ctx->tokens) {
            ngx_pfree(r->pool, ctx->tokens);
        }

        size = ngx_max(json->ntokens, 64);

        ctx->tokens = ngx_palloc(r->pool,
                                 size * sizeof(ngx_http_llm_json_token_t));
        if (ctx->tokens == NULL) {
            ctx->tokens_size = 0;
            return NGX_ERROR;
        }

        ctx->tokens_size = size;
    }

    json->tokens = ctx->tokens;
    json->max_tokens = ctx->tokens_size;

    if (ngx_http_llm_json_parse(json) != NGX_HTTP_LLM_JSON_OK
        || json->tokens[0].type != NGX_HTTP_LLM_JSON_OBJECT)
    {
        return NGX_DECLINED;
    }

    return NGX_OK;
}


/* cost in nano-dollars; NGX_DECLINED when the model has no prices */

ngx_int_t
ngx_http_llm_cost(ngx_http_llm_ctx_t *ctx, uint64_t *nano_usd)
{
    return ngx_http_llm_cost_of(ctx, ngx_http_llm_prompt_tokens(ctx),
                                ctx->completion_tokens, nano_usd);
}


ngx_int_t
ngx_http_llm_cost_of(ngx_http_llm_ctx_t *ctx, size_t prompt_tokens,
    size_t completion_tokens, uint64_t *nano_usd)
{
    uint64_t               prompt, cached, cached_price;
    ngx_http_llm_model_t  *m;

    m = ctx->entry;

    if (m == NULL
        || (m->input == NGX_HTTP_LLM_PRICE_UNSET
            && m->output == NGX_HTTP_LLM_PRICE_UNSET))
    {
        return NGX_DECLINED;
    }

    cached = ngx_min(ctx->cached_tokens, prompt_tokens);
    prompt = prompt_tokens - cached;

    cached_price = (m->cached_input != NGX_HTTP_LLM_PRICE_UNSET)
                   ? (uint64_t) m->cached_input
                   : (m->input != NGX_HTTP_LLM_PRICE_UNSET)
                     ? (uint64_t) m->input : 0;

    /* micro-USD per 1M tokens = nano-USD per 1000 tokens */

    *nano_usd = (prompt * (uint64_t) ngx_max(m->input, 0)
                 + cached * cached_price
                 + completion_tokens * (uint64_t) ngx_max(m->output, 0))
                / 1000;

    return NGX_OK;
}
