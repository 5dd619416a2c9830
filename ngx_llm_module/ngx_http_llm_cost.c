/*
 * Copyright (C) ngx_llm_module authors
 *
 * Core helpers of the answer that the pipeline and the features share: the
 * answer's JSON parsed into the request's reusable token array, and the
 * cost of a request from the catalogue's prices.
 */


#include "ngx_http_llm_module.h"


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

    if (ctx->tokens == NULL) {
        ctx->tokens = ngx_palloc(r->pool,
                                 64 * sizeof(ngx_http_llm_json_token_t));
        if (ctx->tokens == NULL) {
            return NGX_ERROR;
        }

        ctx->tokens_size = 64;
    }

    /*
     * One pass when the tokens allocated (64, or for an earlier event of the
     * answer) are enough; else counted first, then parsed.
     */

    json->tokens = ctx->tokens;
    json->max_tokens = ctx->tokens_size;

    if (ngx_http_llm_json_parse(json) == NGX_HTTP_LLM_JSON_OK) {
        return (json->tokens[0].type == NGX_HTTP_LLM_JSON_OBJECT)
               ? NGX_OK : NGX_DECLINED;
    }

    json->tokens = NULL;
    json->max_tokens = 0;
    json->ntokens = 0;
    json->err = NULL;

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
