/*
 * Copyright (C) ngx_llm_module authors
 *
 * Core helpers of the answer that the pipeline and the features share: the
 * answer's JSON parsed into the request's reusable token array, and the
 * cost of a request from the catalogue's prices.
 */


#include "ngx_http_llm_module.h"


#define NGX_HTTP_LLM_PARSE_KEEP  65536


static uint64_t ngx_http_llm_mul_sat(uint64_t a, uint64_t b);
static uint64_t ngx_http_llm_add_sat(uint64_t a, uint64_t b);


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

    /*
     * The same answer (or event) read again by another feature (the usage
     * reader, redaction, the cache each read it): its tokens are still in
     * the array when it is the last document parsed into it, at the same
     * place, with the same bytes.  The bytes are compared with a copy, not
     * a digest: a buffer is reused for the next event at the same place and
     * length, and an upstream that chose bytes colliding in a fast digest
     * would have another feature read the previous event's tokens.
     */

    if (ctx->tokens_n
        && ctx->tokens_of == data->data
        && ctx->tokens_len == data->len
        && ngx_memcmp(ctx->tokens_copy, data->data, data->len) == 0)
    {
        json->tokens = ctx->tokens;
        json->max_tokens = ctx->tokens_size;
        json->ntokens = ctx->tokens_n;

        return NGX_OK;
    }

    ctx->tokens_n = 0;

    /*
     * One pass when the array is large enough, as it mostly is: the first
     * answer of the request gets one sized by a guess, as request bodies do
     * (ngx_http_llm_parse_tokens())
     */

    if (ctx->tokens == NULL) {
        size = ngx_min(data->len / 32 + 64, 2048);

        if (ctx->req.json.tokens
            && ctx->req.json.ntokens <= ctx->req.json.max_tokens
            && ctx->req.json.max_tokens - ctx->req.json.ntokens >= size)
        {
            /*
             * The request body's array, sized by a guess as well, mostly
             * has that much room past its tokens, which nothing writes to
             * once the body is parsed (it is parsed once, before any
             * answer): no allocation.
             */

            ctx->tokens = ctx->req.json.tokens + ctx->req.json.ntokens;
            ctx->tokens_size = ctx->req.json.max_tokens
                               - ctx->req.json.ntokens;

        } else {
            ctx->tokens = ngx_palloc(r->pool,
                                     size * sizeof(ngx_http_llm_json_token_t));
            if (ctx->tokens == NULL) {
                return NGX_ERROR;
            }

            ctx->tokens_size = size;
        }
    }

    json->tokens = ctx->tokens;
    json->max_tokens = ctx->tokens_size;

    if (ngx_http_llm_json_parse(json) == NGX_HTTP_LLM_JSON_OK) {
        goto parsed;
    }

    if (!json->full) {
        return NGX_DECLINED;
    }

    /* more tokens than the array holds: count them, then fill */

    json->tokens = NULL;
    json->max_tokens = 0;

    if (ngx_http_llm_json_parse(json) != NGX_HTTP_LLM_JSON_OK) {
        return NGX_DECLINED;
    }

    if (json->ntokens > ctx->tokens_size) {
        if (ctx->tokens
            && ctx->tokens != ctx->req.json.tokens + ctx->req.json.ntokens)
        {
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

    if (ngx_http_llm_json_parse(json) != NGX_HTTP_LLM_JSON_OK) {
        return NGX_DECLINED;
    }

parsed:

    if (json->tokens[0].type != NGX_HTTP_LLM_JSON_OBJECT) {
        return NGX_DECLINED;
    }

    /* kept for the next reader: documents up to 64 KB (events, answers) */

    if (data->len > NGX_HTTP_LLM_PARSE_KEEP) {
        return NGX_OK;
    }

    if (data->len > ctx->tokens_copy_size) {
        /*
         * a stream's events reuse one copy, of 1 KB at least; a whole
         * answer is one document: its size (the pool's blocks hold the
         * rest of the request, its log line among others).  An answer read
         * event by event (ctx->st) is a stream even when the client did
         * not ask for one (llm_stream off, SSE to a plain request)
         */
        size = ctx->st ? ngx_max(data->len, 1024) : data->len;

        if (ctx->tokens_copy) {
            ngx_pfree(r->pool, ctx->tokens_copy);
        }

        ctx->tokens_copy = ngx_pnalloc(r->pool, size);
        if (ctx->tokens_copy == NULL) {
            ctx->tokens_copy_size = 0;
            return NGX_OK;
        }

        ctx->tokens_copy_size = size;
    }

    ngx_memcpy(ctx->tokens_copy, data->data, data->len);

    ctx->tokens_n = json->ntokens;
    ctx->tokens_of = data->data;
    ctx->tokens_len = data->len;

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
    uint64_t               prompt, cached, cached_price, sum;
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

    if (ctx->error && !ctx->forwarded) {
        /* refused before it was forwarded: nothing reached the provider */
        *nano_usd = 0;
        return NGX_OK;
    }

    /*
     * Usage figures are at most NGX_HTTP_LLM_USAGE_MAX, estimates are
     * bounded by the body's size, prices by llm_model's parser: the
     * saturation is only a guard, no figure wraps around.
     */

    sum = ngx_http_llm_mul_sat(prompt, (uint64_t) ngx_max(m->input, 0));
    sum = ngx_http_llm_add_sat(sum, ngx_http_llm_mul_sat(cached,
                                                         cached_price));
    sum = ngx_http_llm_add_sat(sum,
                               ngx_http_llm_mul_sat(completion_tokens,
                                           (uint64_t) ngx_max(m->output, 0)));

    *nano_usd = sum / 1000;

    return NGX_OK;
}


static uint64_t
ngx_http_llm_mul_sat(uint64_t a, uint64_t b)
{
    if (a != 0 && b > UINT64_MAX / a) {
        return UINT64_MAX;
    }

    return a * b;
}


static uint64_t
ngx_http_llm_add_sat(uint64_t a, uint64_t b)
{
    return (a > UINT64_MAX - b) ? UINT64_MAX : a + b;
}
