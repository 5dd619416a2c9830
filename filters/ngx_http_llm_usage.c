
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
static int64_t ngx_http_llm_get_count(ngx_http_llm_ctx_t *ctx,
    ngx_http_llm_json_t *json, uint32_t obj, const char *key, size_t len);
static int64_t ngx_http_llm_count_of(ngx_http_llm_ctx_t *ctx,
    ngx_http_llm_json_t *json, uint32_t t, const char *key, size_t len);
static int64_t ngx_http_llm_clamp_count(ngx_http_llm_ctx_t *ctx,
    const char *key, size_t len, const u_char *text, size_t size);
static ngx_int_t ngx_http_llm_responses_event(ngx_http_request_t *r,
    ngx_http_llm_ctx_t *ctx, ngx_str_t *event, ngx_str_t *data);
static void ngx_http_llm_responses_json(ngx_http_request_t *r,
    ngx_http_llm_ctx_t *ctx, ngx_http_llm_json_t *json);
static ngx_int_t ngx_http_llm_gemini_event(ngx_http_request_t *r,
    ngx_http_llm_ctx_t *ctx, ngx_str_t *data);
static ngx_int_t ngx_http_llm_gemini_chunk(ngx_http_request_t *r,
    ngx_http_llm_ctx_t *ctx, ngx_http_llm_json_t *json, uint32_t obj);
static void ngx_http_llm_gemini_json(ngx_http_request_t *r,
    ngx_http_llm_ctx_t *ctx, ngx_str_t *body);
static void ngx_http_llm_provider_error(ngx_http_llm_ctx_t *ctx);
static ngx_int_t ngx_http_llm_count_raw(ngx_http_request_t *r,
    ngx_http_llm_ctx_t *ctx, ngx_http_llm_json_t *json, uint32_t tok);


#define ngx_http_llm_get(json, obj, key)                                      \
    ngx_http_llm_json_object_get(json, obj, key, sizeof(key) - 1)

#define ngx_http_llm_is(json, tok, t)                                         \
    ((tok) != NGX_HTTP_LLM_NONE && (json)->tokens[tok].type == (t))

#define ngx_http_llm_usage_name(s)  { s, sizeof(s) - 1 }


ngx_int_t
ngx_http_llm_usage_event(ngx_http_request_t *r, ngx_http_llm_ctx_t *ctx,
    ngx_str_t *event, ngx_str_t *data)
{
    ctx->data_events++;

    if (ctx->api == NGX_HTTP_LLM_API_ANTHROPIC) {
        return ngx_http_llm_anthropic_event(r, ctx, event, data);
    }

    if (ctx->endpoint == NGX_HTTP_LLM_EP_RESPONSES) {
        return ngx_http_llm_responses_event(r, ctx, event, data);
    }

    if (ctx->api == NGX_HTTP_LLM_API_GEMINI) {
        return ngx_http_llm_gemini_event(r, ctx, data);
    }

    return ngx_http_llm_openai_event(r, ctx, data);
}


static ngx_int_t
ngx_http_llm_openai_event(ngx_http_request_t *r, ngx_http_llm_ctx_t *ctx,
    ngx_str_t *data)
{
    uint32_t             usage, choices, c, delta, calls, f, t;
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

    ngx_http_llm_answer_event_hooks(r, ctx, &json);

    t = ngx_http_llm_get(&json, 0, "error");

    if (t != NGX_HTTP_LLM_NONE
        && json.tokens[t].type != NGX_HTTP_LLM_JSON_NULL)
    {
        /* the provider ended the stream with its error */
        ngx_http_llm_provider_error(ctx);
    }

    usage = ngx_http_llm_get(&json, 0, "usage");

    if (!ngx_http_llm_is(&json, usage, NGX_HTTP_LLM_JSON_OBJECT)) {
        /* older Groq: usage in "x_groq" */
        usage = ngx_http_llm_get(&json, ngx_http_llm_get(&json, 0, "x_groq"),
                                 "usage");
    }

    if (ngx_http_llm_is(&json, usage, NGX_HTTP_LLM_JSON_OBJECT)) {
        ngx_http_llm_openai_usage(ctx, &json, usage);
    }

    choices = ngx_http_llm_get(&json, 0, "choices");

    if (!ngx_http_llm_is(&json, choices, NGX_HTTP_LLM_JSON_ARRAY)) {
        return NGX_HTTP_LLM_EVENT_PASS;
    }

    if (json.tokens[choices].size == 0
        && ngx_http_llm_is(&json, usage, NGX_HTTP_LLM_JSON_OBJECT))
    {
        /*
         * The usage chunk comes last: the answer is complete, whether
         * [DONE] follows or not (Writer sends none).
         */

        ctx->complete = 1;

        if (ctx->strip_usage) {
            /* the usage chunk we asked for on the client's behalf */
            return NGX_HTTP_LLM_EVENT_DROP;
        }
    }

    for (c = ngx_http_llm_json_first(&json, choices);
         c != NGX_HTTP_LLM_NONE;
         c = json.tokens[c].next)
    {
        if (ngx_http_llm_is(&json, ngx_http_llm_get(&json, c, "finish_reason"),
                            NGX_HTTP_LLM_JSON_STRING)
            && ngx_http_llm_is(&json, usage, NGX_HTTP_LLM_JSON_OBJECT))
        {
            /* the last chunk, with the usage (Groq's x_groq, Mistral) */
            ctx->complete = 1;
        }

        delta = ngx_http_llm_get(&json, c, "delta");

        if (!ngx_http_llm_is(&json, delta, NGX_HTTP_LLM_JSON_OBJECT)) {
            continue;
        }

        if (ngx_http_llm_count_member(r, ctx, &json, delta, "content", 7)
            != NGX_OK
            || ngx_http_llm_count_member(r, ctx, &json, delta,
                                         "reasoning_content", 17)
               != NGX_OK
            || ngx_http_llm_count_member(r, ctx, &json, delta, "reasoning", 9)
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

    ngx_http_llm_answer_event_hooks(r, ctx, &json);

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

    } else if (len == 5 && ngx_strncmp(type, "error", 5) == 0) {
        ngx_http_llm_provider_error(ctx);
    }

    return NGX_HTTP_LLM_EVENT_PASS;
}


/* a whole JSON answer; its members read in one walk over the root's keys */

static const ngx_http_llm_json_name_t  ngx_http_llm_answer_keys[] = {
    ngx_http_llm_usage_name("usage"),
    ngx_http_llm_usage_name("choices"),
    ngx_http_llm_usage_name("content")
};


void
ngx_http_llm_usage_json(ngx_http_request_t *r, ngx_http_llm_ctx_t *ctx,
    ngx_str_t *body)
{
    uint32_t             usage, list, c, m, v[3];
    ngx_http_llm_json_t  json;

    if (ctx->api == NGX_HTTP_LLM_API_GEMINI) {
        /* an object, or an array of them (streamGenerateContent as JSON) */
        ngx_http_llm_gemini_json(r, ctx, body);
        return;
    }

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

    /* the answer's object to the features that read it (the cache) */
    ngx_http_llm_answer_event_hooks(r, ctx, &json);

    ngx_http_llm_json_object_get_n(&json, 0, ngx_http_llm_answer_keys, 3, v);

    usage = v[0];

    if (ctx->api == NGX_HTTP_LLM_API_ANTHROPIC) {
        if (ngx_http_llm_is(&json, usage, NGX_HTTP_LLM_JSON_OBJECT)) {
            ngx_http_llm_anthropic_usage(ctx, &json, usage, 1);
        }

        list = v[2];

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

    if (ctx->endpoint == NGX_HTTP_LLM_EP_RESPONSES) {
        ngx_http_llm_responses_json(r, ctx, &json);
        return;
    }

    list = v[1];

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


/*
 * The members of an OpenAI usage object that ngx_http_llm_openai_usage()
 * reads, found in one walk over its keys (ngx_http_llm_json_object_get_ix()):
 * the same tokens as one lookup per name.
 */

enum {
    NGX_HTTP_LLM_USAGE_PROMPT = 0,
    NGX_HTTP_LLM_USAGE_INPUT,
    NGX_HTTP_LLM_USAGE_COMPLETION,
    NGX_HTTP_LLM_USAGE_OUTPUT,
    NGX_HTTP_LLM_USAGE_PROMPT_DETAILS,
    NGX_HTTP_LLM_USAGE_INPUT_DETAILS,
    NGX_HTTP_LLM_USAGE_CACHE_HIT,
    NGX_HTTP_LLM_USAGE_COMPLETION_DETAILS,
    NGX_HTTP_LLM_USAGE_OUTPUT_DETAILS,
    NGX_HTTP_LLM_USAGE_REASONING,
    NGX_HTTP_LLM_USAGE_KEYS
};

/* the index cannot hold more names: the build fails rather than the lookup */
typedef char ngx_http_llm_usage_keys_fit_index_t
    [NGX_HTTP_LLM_USAGE_KEYS <= NGX_HTTP_LLM_JSON_INDEX_MAX ? 1 : -1];

static const ngx_http_llm_json_name_t  ngx_http_llm_openai_usage_keys[] = {
    ngx_http_llm_usage_name("prompt_tokens"),
    ngx_http_llm_usage_name("input_tokens"),
    ngx_http_llm_usage_name("completion_tokens"),
    ngx_http_llm_usage_name("output_tokens"),
    ngx_http_llm_usage_name("prompt_tokens_details"),
    ngx_http_llm_usage_name("input_tokens_details"),
    ngx_http_llm_usage_name("prompt_cache_hit_tokens"),
    ngx_http_llm_usage_name("completion_tokens_details"),
    ngx_http_llm_usage_name("output_tokens_details"),
    ngx_http_llm_usage_name("reasoning_tokens")
};

/* the names by length, built at the first answer of the worker */
static ngx_http_llm_json_index_t  ngx_http_llm_openai_usage_index;


static void
ngx_http_llm_openai_usage(ngx_http_llm_ctx_t *ctx, ngx_http_llm_json_t *json,
    uint32_t usage)
{
    int64_t   n;
    uint32_t  d, v[NGX_HTTP_LLM_USAGE_KEYS];

    if (ngx_http_llm_openai_usage_index.names == NULL) {
        (void) ngx_http_llm_json_index_init(&ngx_http_llm_openai_usage_index,
                                            ngx_http_llm_openai_usage_keys,
                                            NGX_HTTP_LLM_USAGE_KEYS);
    }

    ngx_http_llm_json_object_get_ix(json, usage,
                                    &ngx_http_llm_openai_usage_index, v);

    n = ngx_http_llm_count_of(ctx, json, v[NGX_HTTP_LLM_USAGE_PROMPT],
                              "prompt_tokens", 13);
    if (n < 0) {
        /* the Responses API's names */
        n = ngx_http_llm_count_of(ctx, json, v[NGX_HTTP_LLM_USAGE_INPUT],
                                  "input_tokens", 12);
    }

    if (n >= 0) {
        ctx->prompt_tokens = (size_t) n;
        ctx->prompt_reported = 1;
    }

    n = ngx_http_llm_count_of(ctx, json, v[NGX_HTTP_LLM_USAGE_COMPLETION],
                              "completion_tokens", 17);
    if (n < 0) {
        n = ngx_http_llm_count_of(ctx, json, v[NGX_HTTP_LLM_USAGE_OUTPUT],
                                  "output_tokens", 13);
    }

    if (n < 0 && ctx->endpoint == NGX_HTTP_LLM_EP_EMBEDDINGS
        && ctx->prompt_reported)
    {
        /* an embedding: the input is all there is */
        n = 0;
    }

    if (n >= 0) {
        ctx->completion_tokens = (size_t) n;
        ctx->usage_reported = 1;
    }

    d = v[NGX_HTTP_LLM_USAGE_PROMPT_DETAILS];
    if (d == NGX_HTTP_LLM_NONE) {
        d = v[NGX_HTTP_LLM_USAGE_INPUT_DETAILS];
    }

    n = ngx_http_llm_get_count(ctx, json, d, "cached_tokens", 13);
    if (n < 0) {
        /* DeepSeek */
        n = ngx_http_llm_count_of(ctx, json, v[NGX_HTTP_LLM_USAGE_CACHE_HIT],
                                  "prompt_cache_hit_tokens", 23);
    }

    if (n >= 0) {
        ctx->cached_tokens = (size_t) n;
    }

    /* reasoning: part of the completion's figure, also kept apart */

    d = v[NGX_HTTP_LLM_USAGE_COMPLETION_DETAILS];
    if (d == NGX_HTTP_LLM_NONE) {
        d = v[NGX_HTTP_LLM_USAGE_OUTPUT_DETAILS];
    }

    n = ngx_http_llm_get_count(ctx, json, d, "reasoning_tokens", 16);
    if (n < 0) {
        n = ngx_http_llm_count_of(ctx, json, v[NGX_HTTP_LLM_USAGE_REASONING],
                                  "reasoning_tokens", 16);
    }

    if (n >= 0) {
        ctx->reasoning_tokens = (size_t) n;
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

    in = ngx_http_llm_get_count(ctx, json, usage, "input_tokens", 12);
    creation = ngx_http_llm_get_count(ctx, json, usage,
                                      "cache_creation_input_tokens", 27);
    read = ngx_http_llm_get_count(ctx, json, usage,
                                  "cache_read_input_tokens", 23);
    out = ngx_http_llm_get_count(ctx, json, usage, "output_tokens", 13);

    if (in >= 0) {
        /* each at most NGX_HTTP_LLM_USAGE_MAX: the sum cannot overflow */
        in += ngx_max(creation, 0) + ngx_max(read, 0);

        if (in > NGX_HTTP_LLM_USAGE_MAX) {
            in = ngx_http_llm_clamp_count(ctx, "input_tokens + cache_*", 22,
                                          NULL, 0);
        }

        ctx->prompt_tokens = (size_t) in;
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
    const u_char  *raw, *text;

    ngx_http_llm_json_raw_string(json, tok, &raw, &len);

    text = NULL;

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

    text = raw;

    if (estimate) {
        n = ngx_http_llm_count_tokens(ctx, raw, len);

        ctx->completion_estimate += n;

        if (!ctx->usage_reported) {
            ctx->completion_tokens = ctx->completion_estimate;
        }
    }

done:

    if (!ctx->shadow) {
        ngx_http_llm_mark_ttft(r, ctx);
    }

    /* routing's comparison, the budget's cut of a stream */

    ngx_http_llm_answer_text_hooks(r, ctx, text, text ? len : 0);

    return NGX_OK;
}


/*
 * A usage figure: a non-negative JSON integer, -1 when there is none.  A
 * figure above NGX_HTTP_LLM_USAGE_MAX (a broken or hostile upstream), an
 * integer too large for int64_t or a number in exponent form included, is
 * taken as NGX_HTTP_LLM_USAGE_MAX, with a warning.
 */

static int64_t
ngx_http_llm_get_count(ngx_http_llm_ctx_t *ctx, ngx_http_llm_json_t *json,
    uint32_t obj, const char *key, size_t len)
{
    return ngx_http_llm_count_of(ctx, json,
                                 ngx_http_llm_json_object_get(json, obj, key,
                                                              len),
                                 key, len);
}


/* the same, of token t (NONE: none), the value of member "key" */

static int64_t
ngx_http_llm_count_of(ngx_http_llm_ctx_t *ctx, ngx_http_llm_json_t *json,
    uint32_t t, const char *key, size_t len)
{
    double                      d;
    int64_t                     n;
    ngx_http_llm_json_token_t  *tok;

    if (!ngx_http_llm_is(json, t, NGX_HTTP_LLM_JSON_NUMBER)) {
        return -1;
    }

    tok = &json->tokens[t];

    if (ngx_http_llm_json_get_int(json, t, &n) != NGX_HTTP_LLM_JSON_OK) {

        if (ngx_http_llm_json_get_double(json, t, &d) != NGX_HTTP_LLM_JSON_OK
            || !(d > NGX_HTTP_LLM_USAGE_MAX))
        {
            /* a fraction, or a negative number */
            return -1;
        }

        n = (int64_t) NGX_HTTP_LLM_USAGE_MAX + 1;
    }

    if (n < 0) {
        return -1;
    }

    if (n > NGX_HTTP_LLM_USAGE_MAX) {
        return ngx_http_llm_clamp_count(ctx, key, len, json->data + tok->start,
                                        tok->end - tok->start);
    }

    return n;
}


static int64_t
ngx_http_llm_clamp_count(ngx_http_llm_ctx_t *ctx, const char *key, size_t len,
    const u_char *text, size_t size)
{
    ngx_log_error(NGX_LOG_WARN, ctx->request->connection->log, 0,
                  "llm: the answer of model \"%V\" reports %*s %*s%s, "
                  "above %d tokens: taken as %d", &ctx->model, len, key,
                  ngx_min(size, 40), text ? text : (u_char *) "",
                  text ? (size > 40 ? "..." : "") : "in all",
                  NGX_HTTP_LLM_USAGE_MAX, NGX_HTTP_LLM_USAGE_MAX);

    return NGX_HTTP_LLM_USAGE_MAX;
}


/*
 * The provider ended the stream with its own error event (an OpenAI
 * object with "error", Anthropic's and the Responses API's "error" event,
 * Gemini's error object): a complete stream, nothing is appended to it.
 */

static void
ngx_http_llm_provider_error(ngx_http_llm_ctx_t *ctx)
{
    ctx->error_event = 1;
    ctx->no_store = 1;

    if (ctx->data_events == 1) {
        ctx->error_first = 1;
    }
}


/*
 * A Responses API event: "type" names it (the "event:" line repeats it).
 * Usage comes with the terminal event (response.completed, .incomplete,
 * .failed) in "response.usage"; the text of every "*.delta" event (output
 * text, reasoning, summaries, function call arguments, refusals) is
 * estimated as it streams by.
 */

static ngx_int_t
ngx_http_llm_responses_event(ngx_http_request_t *r, ngx_http_llm_ctx_t *ctx,
    ngx_str_t *event, ngx_str_t *data)
{
    size_t               len;
    u_char              *type;
    int64_t              n;
    uint32_t             t, resp, v;
    ngx_int_t            rc;
    ngx_http_llm_json_t  json;

    rc = ngx_http_llm_parse_json(r, ctx, data, &json);
    if (rc != NGX_OK) {
        return (rc == NGX_ERROR) ? NGX_ERROR : NGX_HTTP_LLM_EVENT_PASS;
    }

    ngx_http_llm_answer_event_hooks(r, ctx, &json);

    t = ngx_http_llm_get(&json, 0, "type");

    if (ngx_http_llm_is(&json, t, NGX_HTTP_LLM_JSON_STRING)) {
        ngx_http_llm_json_raw_string(&json, t, (const u_char **) &type, &len);

    } else {
        type = event->data;
        len = event->len;
    }

    t = ngx_http_llm_get(&json, 0, "sequence_number");

    if (ngx_http_llm_is(&json, t, NGX_HTTP_LLM_JSON_NUMBER)
        && ngx_http_llm_json_get_int(&json, t, &n) == NGX_HTTP_LLM_JSON_OK)
    {
        ctx->sequence = n;
    }

    if (len > 6 && ngx_strncmp(type + len - 6, ".delta", 6) == 0) {

        if (len == sizeof("response.audio.delta") - 1
            && ngx_strncmp(type, "response.audio.delta", len) == 0)
        {
            /* base64 audio, not text */
            return NGX_HTTP_LLM_EVENT_PASS;
        }

        if (ngx_http_llm_count_member(r, ctx, &json, 0, "delta", 5)
            != NGX_OK)
        {
            return NGX_ERROR;
        }

        return NGX_HTTP_LLM_EVENT_PASS;
    }

    if (len == 5 && ngx_strncmp(type, "error", 5) == 0) {
        ngx_http_llm_provider_error(ctx);
        return NGX_HTTP_LLM_EVENT_PASS;
    }

    if (len < 9 || ngx_strncmp(type, "response.", 9) != 0) {
        return NGX_HTTP_LLM_EVENT_PASS;
    }

    resp = ngx_http_llm_get(&json, 0, "response");

    if (!ngx_http_llm_is(&json, resp, NGX_HTTP_LLM_JSON_OBJECT)) {
        return NGX_HTTP_LLM_EVENT_PASS;
    }

    if (ctx->response_id.len == 0) {
        /* for the response.incomplete event of a budget's cut */

        v = ngx_http_llm_get(&json, resp, "id");

        if (ngx_http_llm_is(&json, v, NGX_HTTP_LLM_JSON_STRING)) {
            ngx_http_llm_json_raw_string(&json, v, (const u_char **) &type,
                                         &len);

            ctx->response_id.data = ngx_pnalloc(r->pool, len);
            if (ctx->response_id.data == NULL) {
                return NGX_ERROR;
            }

            ngx_memcpy(ctx->response_id.data, type, len);
            ctx->response_id.len = len;

            /* the event's type again: "type" was reused */
            t = ngx_http_llm_get(&json, 0, "type");

            if (ngx_http_llm_is(&json, t, NGX_HTTP_LLM_JSON_STRING)) {
                ngx_http_llm_json_raw_string(&json, t,
                                             (const u_char **) &type, &len);
            } else {
                type = event->data;
                len = event->len;
            }
        }
    }

    if ((len == sizeof("response.completed") - 1
         && ngx_strncmp(type, "response.completed", len) == 0)
        || (len == sizeof("response.incomplete") - 1
            && ngx_strncmp(type, "response.incomplete", len) == 0)
        || (len == sizeof("response.failed") - 1
            && ngx_strncmp(type, "response.failed", len) == 0))
    {
        ctx->complete = 1;

        if (len == sizeof("response.failed") - 1) {
            ctx->no_store = 1;
        }

        v = ngx_http_llm_get(&json, resp, "usage");

        if (ngx_http_llm_is(&json, v, NGX_HTTP_LLM_JSON_OBJECT)) {
            ngx_http_llm_openai_usage(ctx, &json, v);
        }
    }

    return NGX_HTTP_LLM_EVENT_PASS;
}


/* a Responses API JSON answer: the text of its output items */

static void
ngx_http_llm_responses_json(ngx_http_request_t *r, ngx_http_llm_ctx_t *ctx,
    ngx_http_llm_json_t *json)
{
    uint32_t  list, item, c, p;

    list = ngx_http_llm_get(json, 0, "output");

    if (!ngx_http_llm_is(json, list, NGX_HTTP_LLM_JSON_ARRAY)) {
        return;
    }

    for (item = ngx_http_llm_json_first(json, list);
         item != NGX_HTTP_LLM_NONE;
         item = json->tokens[item].next)
    {
        (void) ngx_http_llm_count_member(r, ctx, json, item, "arguments", 9);

        c = ngx_http_llm_get(json, item, "content");

        if (!ngx_http_llm_is(json, c, NGX_HTTP_LLM_JSON_ARRAY)) {
            continue;
        }

        for (p = ngx_http_llm_json_first(json, c);
             p != NGX_HTTP_LLM_NONE;
             p = json->tokens[p].next)
        {
            (void) ngx_http_llm_count_member(r, ctx, json, p, "text", 4);
            (void) ngx_http_llm_count_member(r, ctx, json, p, "refusal", 7);
        }
    }
}


/*
 * A Gemini chunk (streamGenerateContent?alt=sse): "usageMetadata" has the
 * running figures (the last one counts), "candidates[].content.parts[]"
 * the text, thoughts included; a "finishReason" or a blocked prompt ends
 * the answer.
 */

static ngx_int_t
ngx_http_llm_gemini_event(ngx_http_request_t *r, ngx_http_llm_ctx_t *ctx,
    ngx_str_t *data)
{
    ngx_int_t            rc;
    ngx_http_llm_json_t  json;

    rc = ngx_http_llm_parse_json(r, ctx, data, &json);
    if (rc != NGX_OK) {
        return (rc == NGX_ERROR) ? NGX_ERROR : NGX_HTTP_LLM_EVENT_PASS;
    }

    if (ngx_http_llm_gemini_chunk(r, ctx, &json, 0) != NGX_OK) {
        return NGX_ERROR;
    }

    return NGX_HTTP_LLM_EVENT_PASS;
}


static ngx_int_t
ngx_http_llm_gemini_chunk(ngx_http_request_t *r, ngx_http_llm_ctx_t *ctx,
    ngx_http_llm_json_t *json, uint32_t obj)
{
    int64_t   prompt, candidates, thoughts, cached, tool;
    uint32_t  usage, list, c, parts, p, v;

    v = ngx_http_llm_get(json, obj, "error");

    if (v != NGX_HTTP_LLM_NONE
        && json->tokens[v].type != NGX_HTTP_LLM_JSON_NULL)
    {
        ngx_http_llm_provider_error(ctx);
        return NGX_OK;
    }

    usage = ngx_http_llm_get(json, obj, "usageMetadata");

    if (ngx_http_llm_is(json, usage, NGX_HTTP_LLM_JSON_OBJECT)) {
        prompt = ngx_http_llm_get_count(ctx, json, usage,
                                        "promptTokenCount", 16);
        tool = ngx_http_llm_get_count(ctx, json, usage,
                                      "toolUsePromptTokenCount", 23);
        candidates = ngx_http_llm_get_count(ctx, json, usage,
                                            "candidatesTokenCount", 20);
        thoughts = ngx_http_llm_get_count(ctx, json, usage,
                                          "thoughtsTokenCount", 18);
        cached = ngx_http_llm_get_count(ctx, json, usage,
                                        "cachedContentTokenCount", 23);

        if (prompt >= 0) {
            /* tool use prompts are billed as input */
            ctx->prompt_tokens = (size_t) (prompt + ngx_max(tool, 0));
            ctx->prompt_reported = 1;
        }

        if (candidates >= 0 || thoughts >= 0) {
            /* thoughts are billed as output */
            ctx->completion_tokens = (size_t) (ngx_max(candidates, 0)
                                               + ngx_max(thoughts, 0));
            ctx->usage_reported = 1;
        }

        if (thoughts >= 0) {
            ctx->reasoning_tokens = (size_t) thoughts;
        }

        if (cached >= 0) {
            ctx->cached_tokens = (size_t) cached;
        }
    }

    v = ngx_http_llm_get(json, ngx_http_llm_get(json, obj, "promptFeedback"),
                         "blockReason");

    if (ngx_http_llm_is(json, v, NGX_HTTP_LLM_JSON_STRING)) {
        ctx->complete = 1;
        ctx->no_store = 1;
    }

    list = ngx_http_llm_get(json, obj, "candidates");

    if (!ngx_http_llm_is(json, list, NGX_HTTP_LLM_JSON_ARRAY)) {
        return NGX_OK;
    }

    for (c = ngx_http_llm_json_first(json, list);
         c != NGX_HTTP_LLM_NONE;
         c = json->tokens[c].next)
    {
        if (ngx_http_llm_is(json, ngx_http_llm_get(json, c, "finishReason"),
                            NGX_HTTP_LLM_JSON_STRING))
        {
            ctx->complete = 1;
        }

        parts = ngx_http_llm_get(json, ngx_http_llm_get(json, c, "content"),
                                 "parts");

        if (!ngx_http_llm_is(json, parts, NGX_HTTP_LLM_JSON_ARRAY)) {
            continue;
        }

        for (p = ngx_http_llm_json_first(json, parts);
             p != NGX_HTTP_LLM_NONE;
             p = json->tokens[p].next)
        {
            /* text and thoughts ("thought": true) */

            if (ngx_http_llm_count_member(r, ctx, json, p, "text", 4)
                != NGX_OK)
            {
                return NGX_ERROR;
            }

            v = ngx_http_llm_get(json, p, "functionCall");
            v = ngx_http_llm_get(json, v, "args");

            if (v != NGX_HTTP_LLM_NONE
                && ngx_http_llm_count_raw(r, ctx, json, v) != NGX_OK)
            {
                return NGX_ERROR;
            }

            v = ngx_http_llm_get(json, p, "executableCode");

            if (ngx_http_llm_count_member(r, ctx, json, v, "code", 4)
                != NGX_OK)
            {
                return NGX_ERROR;
            }
        }
    }

    return NGX_OK;
}


/* a Gemini JSON answer: one object, or an array of chunks */

static void
ngx_http_llm_gemini_json(ngx_http_request_t *r, ngx_http_llm_ctx_t *ctx,
    ngx_str_t *body)
{
    u_char               *p, *last;
    uint32_t              c;
    ngx_http_llm_json_t   json;

    last = body->data + body->len;

    for (p = body->data;
         p < last && (*p == ' ' || *p == '\t' || *p == CR || *p == LF);
         p++)
    {
        /* void */
    }

    if (p == last || *p != '[') {
        if (ngx_http_llm_parse_json(r, ctx, body, &json) != NGX_OK) {
            ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                          "llm: the JSON answer of model \"%V\" could not be "
                          "read for usage", &ctx->model);
            return;
        }

        ctx->complete = 1;
        (void) ngx_http_llm_gemini_chunk(r, ctx, &json, 0);
        return;
    }

    /* an array: each element is read on its own */

    ngx_memzero(&json, sizeof(ngx_http_llm_json_t));
    json.data = body->data;
    json.len = body->len;

    if (ngx_http_llm_json_parse(&json) != NGX_HTTP_LLM_JSON_OK) {
        return;
    }

    json.tokens = ngx_palloc(r->pool,
                             json.ntokens * sizeof(ngx_http_llm_json_token_t));
    if (json.tokens == NULL) {
        return;
    }

    json.max_tokens = json.ntokens;

    if (ngx_http_llm_json_parse(&json) != NGX_HTTP_LLM_JSON_OK
        || json.tokens[0].type != NGX_HTTP_LLM_JSON_ARRAY)
    {
        return;
    }

    for (c = ngx_http_llm_json_first(&json, 0);
         c != NGX_HTTP_LLM_NONE;
         c = json.tokens[c].next)
    {
        if (json.tokens[c].type == NGX_HTTP_LLM_JSON_OBJECT) {
            (void) ngx_http_llm_gemini_chunk(r, ctx, &json, c);
        }
    }

    ctx->complete = 1;
}


/* the estimate of a raw JSON value (tool call arguments as an object) */

static ngx_int_t
ngx_http_llm_count_raw(ngx_http_request_t *r, ngx_http_llm_ctx_t *ctx,
    ngx_http_llm_json_t *json, uint32_t tok)
{
    size_t  n;

    n = ngx_http_llm_estimate_tokens(json->data + json->tokens[tok].start,
                                     json->tokens[tok].end
                                     - json->tokens[tok].start);

    ctx->completion_estimate += n;

    if (!ctx->usage_reported) {
        ctx->completion_tokens = ctx->completion_estimate;
    }

    return NGX_OK;
}
