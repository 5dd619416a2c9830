
/*
 * Copyright (C) ngx_llm_module authors
 *
 * $llm_* variables.  All are computed from the main request's ctx when they
 * are read and are not cached, so that the access log sees final values.
 */


#include "ngx_http_llm_module.h"


static ngx_int_t ngx_http_llm_variable_number(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uint64_t n);
static ngx_int_t ngx_http_llm_variable_string(ngx_http_variable_value_t *v,
    ngx_str_t *s);
static ngx_int_t ngx_http_llm_variable_str(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static ngx_int_t ngx_http_llm_variable_size(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static ngx_int_t ngx_http_llm_variable_upstream(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static ngx_int_t ngx_http_llm_variable_stream(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static ngx_int_t ngx_http_llm_variable_tokens_source(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static ngx_int_t ngx_http_llm_variable_total_tokens(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static ngx_int_t ngx_http_llm_variable_prompt_tokens(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static ngx_int_t ngx_http_llm_variable_cost(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static ngx_int_t ngx_http_llm_variable_ttft(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static ngx_int_t ngx_http_llm_variable_budget_remaining(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static ngx_int_t ngx_http_llm_variable_route(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static ngx_int_t ngx_http_llm_variable_shadow(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static ngx_int_t ngx_http_llm_variable_endpoint(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static ngx_int_t ngx_http_llm_variable_api_key(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static ngx_uint_t ngx_http_llm_api_key(ngx_str_t *value, ngx_uint_t scheme,
    ngx_str_t *key);


static ngx_http_variable_t  ngx_http_llm_vars[] = {

    { ngx_string("llm_model"), NULL, ngx_http_llm_variable_str,
      offsetof(ngx_http_llm_ctx_t, model), NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("llm_requested_model"), NULL, ngx_http_llm_variable_str,
      offsetof(ngx_http_llm_ctx_t, requested_model),
      NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("llm_upstream"), NULL, ngx_http_llm_variable_upstream,
      0, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("llm_stream"), NULL, ngx_http_llm_variable_stream,
      0, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("llm_prompt_tokens"), NULL,
      ngx_http_llm_variable_prompt_tokens, 0, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("llm_completion_tokens"), NULL, ngx_http_llm_variable_size,
      offsetof(ngx_http_llm_ctx_t, completion_tokens),
      NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("llm_total_tokens"), NULL,
      ngx_http_llm_variable_total_tokens, 0, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("llm_tokens_source"), NULL,
      ngx_http_llm_variable_tokens_source, 0, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("llm_cost"), NULL, ngx_http_llm_variable_cost,
      0, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("llm_ttft"), NULL, ngx_http_llm_variable_ttft,
      0, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("llm_route"), NULL, ngx_http_llm_variable_route,
      0, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("llm_attempts"), NULL, ngx_http_llm_variable_size,
      offsetof(ngx_http_llm_ctx_t, attempts), NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("llm_shadow"), NULL, ngx_http_llm_variable_shadow,
      0, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("llm_budget_remaining"), NULL,
      ngx_http_llm_variable_budget_remaining, 0, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("llm_cached_tokens"), NULL, ngx_http_llm_variable_size,
      offsetof(ngx_http_llm_ctx_t, cached_tokens), NGX_HTTP_VAR_NOCACHEABLE,
      0 },

    { ngx_string("llm_reasoning_tokens"), NULL, ngx_http_llm_variable_size,
      offsetof(ngx_http_llm_ctx_t, reasoning_tokens),
      NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("llm_endpoint"), NULL, ngx_http_llm_variable_endpoint,
      0, NGX_HTTP_VAR_NOCACHEABLE, 0 },
    { ngx_string("llm_api_key"), NULL, ngx_http_llm_variable_api_key,
      0, 0, 0 },

      ngx_http_null_variable
};


ngx_int_t
ngx_http_llm_add_variables(ngx_conf_t *cf)
{
    ngx_http_variable_t  *var, *v;

    for (v = ngx_http_llm_vars; v->name.len; v++) {
        var = ngx_http_add_variable(cf, &v->name, v->flags);
        if (var == NULL) {
            return NGX_ERROR;
        }

        var->get_handler = v->get_handler;
        var->data = v->data;
    }

    return NGX_OK;
}


static ngx_http_llm_ctx_t *
ngx_http_llm_variable_ctx(ngx_http_request_t *r, ngx_http_variable_value_t *v)
{
    ngx_http_llm_ctx_t  *ctx;

    ctx = ngx_http_llm_get_ctx(r);

    if (ctx == NULL || !ctx->parsed) {
        v->not_found = 1;
        return NULL;
    }

    v->valid = 1;
    v->no_cacheable = 0;
    v->not_found = 0;

    return ctx;
}


/* a number, formatted in the request's pool */

static ngx_int_t
ngx_http_llm_variable_number(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uint64_t n)
{
    u_char  *p;

    p = ngx_pnalloc(r->pool, NGX_INT64_LEN);
    if (p == NULL) {
        return NGX_ERROR;
    }

    v->len = ngx_http_llm_format_uint(p, n, 0) - p;
    v->data = p;

    return NGX_OK;
}


/*
 * n in decimal at p, at least "width" digits (zero-padded); returns the end.
 * What ngx_sprintf("%uL") and ("%0NuL") write, without parsing a format:
 * every logged request formats several of these, and every budgeted answer
 * its x-ratelimit-* headers.
 */

u_char *
ngx_http_llm_format_uint(u_char *p, uint64_t n, size_t width)
{
    u_char   buf[NGX_INT64_LEN], *d;
    size_t   len;

    /* two digits a division: "00" to "99" */
    static const u_char  pairs[] =
        "00010203040506070809101112131415161718192021222324252627282930313233"
        "34353637383940414243444546474849505152535455565758596061626364656667"
        "6869707172737475767778798081828384858687888990919293949596979899";

    d = buf + NGX_INT64_LEN;

    while (n >= 100) {
        d -= 2;
        ngx_memcpy(d, &pairs[(n % 100) * 2], 2);
        n /= 100;
    }

    if (n >= 10) {
        d -= 2;
        ngx_memcpy(d, &pairs[n * 2], 2);

    } else {
        *--d = (u_char) ('0' + n);
    }

    len = buf + NGX_INT64_LEN - d;

    while (width > len) {
        *p++ = '0';
        width--;
    }

    return ngx_cpymem(p, d, len);
}


/* a string that may be absent */

static ngx_int_t
ngx_http_llm_variable_string(ngx_http_variable_value_t *v, ngx_str_t *s)
{
    if (s == NULL) {
        v->not_found = 1;
        return NGX_OK;
    }

    v->len = s->len;
    v->data = s->data;

    return NGX_OK;
}


static ngx_int_t
ngx_http_llm_variable_str(ngx_http_request_t *r, ngx_http_variable_value_t *v,
    uintptr_t data)
{
    ngx_http_llm_ctx_t  *ctx;

    ctx = ngx_http_llm_variable_ctx(r, v);
    if (ctx == NULL) {
        return NGX_OK;
    }

    return ngx_http_llm_variable_string(v,
                                        (ngx_str_t *) ((char *) ctx + data));
}


static ngx_int_t
ngx_http_llm_variable_size(ngx_http_request_t *r, ngx_http_variable_value_t *v,
    uintptr_t data)
{
    ngx_http_llm_ctx_t  *ctx;

    ctx = ngx_http_llm_variable_ctx(r, v);
    if (ctx == NULL) {
        return NGX_OK;
    }

    return ngx_http_llm_variable_number(r, v,
                                        *(size_t *) ((char *) ctx + data));
}


static ngx_int_t
ngx_http_llm_variable_upstream(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    ngx_http_llm_ctx_t        *ctx;
    ngx_http_llm_model_t      *entry;
    ngx_http_llm_main_conf_t  *lmcf;

    /* requests that are not model calls go to the catch-all entry */

    lmcf = ngx_http_get_module_main_conf(r, ngx_http_llm_module);

    ctx = ngx_http_llm_get_ctx(r);

    entry = (ctx && ctx->parsed) ? ctx->entry : lmcf->default_model;

    if (entry == NULL) {
        v->not_found = 1;
        return NGX_OK;
    }

    v->len = entry->upstream.len;
    v->data = entry->upstream.data;
    v->valid = 1;
    v->no_cacheable = 0;
    v->not_found = 0;

    return NGX_OK;
}


static ngx_int_t
ngx_http_llm_variable_stream(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    ngx_http_llm_ctx_t  *ctx;

    ctx = ngx_http_llm_variable_ctx(r, v);
    if (ctx == NULL) {
        return NGX_OK;
    }

    v->len = 1;
    v->data = (u_char *) (ctx->stream ? "1" : "0");

    return NGX_OK;
}


static ngx_int_t
ngx_http_llm_variable_tokens_source(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    ngx_http_llm_ctx_t  *ctx;

    ctx = ngx_http_llm_variable_ctx(r, v);
    if (ctx == NULL) {
        return NGX_OK;
    }

    if (ctx->usage_reported) {
        ngx_str_set(v, "usage");

    } else if (ctx->tokens_exact && !ctx->tokens_estimated) {
        ngx_str_set(v, "exact");

    } else {
        ngx_str_set(v, "estimate");
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_llm_variable_total_tokens(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    ngx_http_llm_ctx_t  *ctx;

    ctx = ngx_http_llm_variable_ctx(r, v);
    if (ctx == NULL) {
        return NGX_OK;
    }

    return ngx_http_llm_variable_number(r, v, ngx_http_llm_prompt_tokens(ctx)
                                              + ctx->completion_tokens);
}


/* USD, to the nano-dollar: "0.000012345" */

static ngx_int_t
ngx_http_llm_variable_cost(ngx_http_request_t *r, ngx_http_variable_value_t *v,
    uintptr_t data)
{
    u_char              *p;
    uint64_t             nano;
    ngx_http_llm_ctx_t  *ctx;

    ctx = ngx_http_llm_variable_ctx(r, v);
    if (ctx == NULL) {
        return NGX_OK;
    }

    if (ngx_http_llm_cost(ctx, &nano) != NGX_OK) {
        v->not_found = 1;
        return NGX_OK;
    }

    p = ngx_pnalloc(r->pool, NGX_INT64_LEN + 11);
    if (p == NULL) {
        return NGX_ERROR;
    }

    v->data = p;

    p = ngx_http_llm_format_uint(p, nano / 1000000000, 0);
    *p++ = '.';
    p = ngx_http_llm_format_uint(p, nano % 1000000000, 9);

    v->len = p - v->data;

    return NGX_OK;
}


static ngx_int_t
ngx_http_llm_variable_ttft(ngx_http_request_t *r, ngx_http_variable_value_t *v,
    uintptr_t data)
{
    ngx_http_llm_ctx_t  *ctx;

    ctx = ngx_http_llm_variable_ctx(r, v);
    if (ctx == NULL) {
        return NGX_OK;
    }

    if (ctx->ttft < 0) {
        v->not_found = 1;
        return NGX_OK;
    }

    return ngx_http_llm_variable_number(r, v, (uint64_t) ctx->ttft);
}


static ngx_int_t
ngx_http_llm_variable_budget_remaining(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    ngx_http_llm_ctx_t  *ctx;

    ctx = ngx_http_llm_variable_ctx(r, v);
    if (ctx == NULL) {
        return NGX_OK;
    }

    if (!ctx->budgeted) {
        v->not_found = 1;
        return NGX_OK;
    }

    return ngx_http_llm_variable_number(r, v, ctx->budget_remaining);
}


static ngx_int_t
ngx_http_llm_variable_route(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    ngx_http_llm_ctx_t  *ctx;

    ctx = ngx_http_llm_variable_ctx(r, v);
    if (ctx == NULL) {
        return NGX_OK;
    }

    return ngx_http_llm_variable_string(v, ctx->route ? &ctx->route_alias
                                                      : NULL);
}


/* the shadow's model, when a shadow request was sent */

static ngx_int_t
ngx_http_llm_variable_shadow(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    ngx_http_llm_ctx_t  *ctx;

    ctx = ngx_http_llm_variable_ctx(r, v);
    if (ctx == NULL) {
        return NGX_OK;
    }

    return ngx_http_llm_variable_string(v, ctx->shadow_ctx
                                           ? &ctx->shadow_ctx->model : NULL);
}


static ngx_int_t
ngx_http_llm_variable_prompt_tokens(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    ngx_http_llm_ctx_t  *ctx;

    ctx = ngx_http_llm_variable_ctx(r, v);
    if (ctx == NULL) {
        return NGX_OK;
    }

    return ngx_http_llm_variable_number(r, v, ngx_http_llm_prompt_tokens(ctx));
}

/* $llm_endpoint: what the request is (ngx_http_llm_api.c's table) */

static ngx_int_t
ngx_http_llm_variable_endpoint(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    const char          *name;
    ngx_http_llm_ctx_t  *ctx;

    ctx = ngx_http_llm_variable_ctx(r, v);
    if (ctx == NULL) {
        return NGX_OK;
    }

    name = ngx_http_llm_endpoint_name(ctx->endpoint);

    v->data = (u_char *) name;
    v->len = ngx_strlen(name);

    return NGX_OK;
}


/*
 * The caller's credential, normalised, for budget keys and cache scopes:
 * the API's own credential first, as the provider reads it, then the
 * others (a client cannot pick a fresh key, and so a fresh budget, by
 * adding a header its provider ignores):
 *
 *   openai (and no llm_gateway): "Authorization: Bearer TOKEN" (the scheme
 *       in any case, any white space around the token), "api-key" (Azure),
 *       "x-api-key", "x-goog-api-key";
 *   anthropic: "x-api-key", Authorization, "api-key", "x-goog-api-key";
 *   gemini: "x-goog-api-key", the "key" argument of the URI, Authorization,
 *       "api-key", "x-api-key".
 *
 * Values are trimmed; the first header of a name counts.  Not found when
 * there is none, or it is empty.
 */

static ngx_int_t
ngx_http_llm_variable_api_key(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    ngx_str_t                 key, arg;
    ngx_uint_t                i, n, best, api, *rank;
    ngx_list_part_t          *part;
    ngx_table_elt_t          *h;
    ngx_http_llm_loc_conf_t  *lcf;

    static ngx_str_t  names[] = {
        ngx_string("Authorization"),
        ngx_string("x-api-key"),
        ngx_string("api-key"),
        ngx_string("x-goog-api-key")
    };

    /* the rank of each name above per API, 0 first; gemini's 1 is ?key= */

    static ngx_uint_t  ranks[][4] = {
        { 0, 2, 1, 3 },     /* openai */
        { 1, 0, 2, 3 },     /* anthropic */
        { 2, 4, 3, 0 }      /* gemini */
    };

    lcf = ngx_http_get_module_loc_conf(r, ngx_http_llm_module);

    api = lcf->api;

    rank = (api == NGX_HTTP_LLM_API_ANTHROPIC) ? ranks[1]
           : (api == NGX_HTTP_LLM_API_GEMINI) ? ranks[2] : ranks[0];

    best = 5;
    ngx_str_null(&key);

    part = &r->headers_in.headers.part;
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

        for (n = 0; n < sizeof(names) / sizeof(names[0]); n++) {
            if (h[i].key.len == names[n].len
                && ngx_strncasecmp(h[i].key.data, names[n].data,
                                   names[n].len) == 0)
            {
                break;
            }
        }

        if (n == sizeof(names) / sizeof(names[0]) || rank[n] >= best) {
            continue;
        }

        /* the first header of the most preferred name that holds a key */

        if (ngx_http_llm_api_key(&h[i].value, n == 0, &key)) {
            best = rank[n];
        }
    }

    if (api == NGX_HTTP_LLM_API_GEMINI && best > 1
        && ngx_http_arg(r, (u_char *) "key", 3, &arg) == NGX_OK
        && ngx_http_llm_api_key(&arg, 0, &arg))
    {
        key = arg;
    }

    if (key.len == 0) {
        v->not_found = 1;
        return NGX_OK;
    }

    v->len = key.len;
    v->data = key.data;
    v->valid = 1;
    v->no_cacheable = 0;
    v->not_found = 0;

    return NGX_OK;
}


/* 1 if value holds a key: "Bearer TOKEN" (scheme) or "KEY", trimmed */

static ngx_uint_t
ngx_http_llm_api_key(ngx_str_t *value, ngx_uint_t scheme, ngx_str_t *key)
{
    u_char  *p, *last;

    p = value->data;
    last = p + value->len;

    while (p < last && (*p == ' ' || *p == '\t')) {
        p++;
    }

    while (last > p && (last[-1] == ' ' || last[-1] == '\t')) {
        last--;
    }

    if (scheme) {
        if (last - p < 7
            || ngx_strncasecmp(p, (u_char *) "bearer", 6) != 0
            || (p[6] != ' ' && p[6] != '\t'))
        {
            return 0;
        }

        p += 7;

        while (p < last && (*p == ' ' || *p == '\t')) {
            p++;
        }
    }

    if (p == last) {
        return 0;
    }

    key->data = p;
    key->len = last - p;

    return 1;
}
