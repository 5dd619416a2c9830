
/*
 * Copyright (C) ngx_llm_module authors
 *
 * RESP2: commands are arrays of bulk strings; replies are parsed from the
 * start each time more bytes came (a bulk string is skipped by its length,
 * so that a large value costs one pass over its header only).
 */


#include <string.h>

#include "ngx_http_llm_resp.h"


typedef struct {
    const unsigned char        *p;
    const unsigned char        *last;
    ngx_http_llm_resp_value_t  *v;
    size_t                      max;
    size_t                      n;
    size_t                      items;
} ngx_http_llm_resp_ctx_t;


static int ngx_http_llm_resp_value(ngx_http_llm_resp_ctx_t *ctx,
    unsigned depth);
static int ngx_http_llm_resp_line(ngx_http_llm_resp_ctx_t *ctx,
    const unsigned char **start, size_t *len);
static int ngx_http_llm_resp_int(const unsigned char *p, size_t len,
    int64_t *value);


ssize_t
ngx_http_llm_resp_parse(const unsigned char *buf, size_t len,
    ngx_http_llm_resp_value_t *v, size_t max, size_t *n)
{
    int                      rc;
    ngx_http_llm_resp_ctx_t  ctx;

    ctx.p = buf;
    ctx.last = buf + len;
    ctx.v = v;
    ctx.max = max;
    ctx.n = 0;
    ctx.items = 0;

    rc = ngx_http_llm_resp_value(&ctx, 0);

    *n = ctx.n;

    if (rc != 1) {
        return rc;
    }

    return ctx.p - buf;
}


/* 1: a value parsed; 0: incomplete; -1: invalid */

static int
ngx_http_llm_resp_value(ngx_http_llm_resp_ctx_t *ctx, unsigned depth)
{
    int                         rc, type;
    size_t                      len, slot;
    int64_t                     i, count;
    const unsigned char        *start;
    ngx_http_llm_resp_value_t  *v, dummy;

    if (ctx->p >= ctx->last) {
        return NGX_HTTP_LLM_RESP_INCOMPLETE;
    }

    if (++ctx->items > NGX_HTTP_LLM_RESP_MAX_ITEMS) {
        return NGX_HTTP_LLM_RESP_INVALID;
    }

    type = *ctx->p++;

    rc = ngx_http_llm_resp_line(ctx, &start, &len);
    if (rc != 1) {
        return rc;
    }

    slot = ctx->n++;
    v = (slot < ctx->max) ? &ctx->v[slot] : &dummy;

    v->type = type;
    v->integer = 0;
    v->data = start;
    v->len = len;

    switch (type) {

    case NGX_HTTP_LLM_RESP_STATUS:
    case NGX_HTTP_LLM_RESP_ERROR:
        return 1;

    case NGX_HTTP_LLM_RESP_INTEGER:
        return ngx_http_llm_resp_int(start, len, &v->integer) ? 1
               : NGX_HTTP_LLM_RESP_INVALID;

    case NGX_HTTP_LLM_RESP_BULK:
        if (!ngx_http_llm_resp_int(start, len, &count)) {
            return NGX_HTTP_LLM_RESP_INVALID;
        }

        if (count == -1) {
            v->type = NGX_HTTP_LLM_RESP_NIL;
            v->data = NULL;
            v->len = 0;
            return 1;
        }

        if (count < 0 || count > NGX_HTTP_LLM_RESP_MAX_BULK) {
            return NGX_HTTP_LLM_RESP_INVALID;
        }

        if ((size_t) (ctx->last - ctx->p) < (size_t) count + 2) {
            return NGX_HTTP_LLM_RESP_INCOMPLETE;
        }

        if (ctx->p[count] != '\r' || ctx->p[count + 1] != '\n') {
            return NGX_HTTP_LLM_RESP_INVALID;
        }

        v->data = ctx->p;
        v->len = (size_t) count;
        ctx->p += count + 2;

        return 1;

    case NGX_HTTP_LLM_RESP_ARRAY:
        if (!ngx_http_llm_resp_int(start, len, &count)) {
            return NGX_HTTP_LLM_RESP_INVALID;
        }

        v->data = NULL;
        v->len = 0;

        if (count == -1) {
            v->type = NGX_HTTP_LLM_RESP_NIL;
            return 1;
        }

        if (count < 0 || count > NGX_HTTP_LLM_RESP_MAX_ITEMS
            || depth + 1 >= NGX_HTTP_LLM_RESP_MAX_DEPTH)
        {
            return NGX_HTTP_LLM_RESP_INVALID;
        }

        v->integer = count;

        for (i = 0; i < count; i++) {
            rc = ngx_http_llm_resp_value(ctx, depth + 1);
            if (rc != 1) {
                return rc;
            }
        }

        return 1;

    default:
        return NGX_HTTP_LLM_RESP_INVALID;
    }
}


/* a line up to CRLF: no CR or LF in it */

static int
ngx_http_llm_resp_line(ngx_http_llm_resp_ctx_t *ctx,
    const unsigned char **start, size_t *len)
{
    const unsigned char  *p;

    for (p = ctx->p; p < ctx->last; p++) {

        if (p - ctx->p > NGX_HTTP_LLM_RESP_MAX_LINE) {
            return NGX_HTTP_LLM_RESP_INVALID;
        }

        if (*p == '\n') {
            return NGX_HTTP_LLM_RESP_INVALID;
        }

        if (*p == '\r') {
            if (p + 1 == ctx->last) {
                return NGX_HTTP_LLM_RESP_INCOMPLETE;
            }

            if (p[1] != '\n') {
                return NGX_HTTP_LLM_RESP_INVALID;
            }

            *start = ctx->p;
            *len = p - ctx->p;
            ctx->p = p + 2;

            return 1;
        }
    }

    return (ctx->last - ctx->p > NGX_HTTP_LLM_RESP_MAX_LINE)
           ? NGX_HTTP_LLM_RESP_INVALID : NGX_HTTP_LLM_RESP_INCOMPLETE;
}


/* a signed decimal that fits in 63 bits: 1, or 0 */

static int
ngx_http_llm_resp_int(const unsigned char *p, size_t len, int64_t *value)
{
    int       neg;
    size_t    i;
    uint64_t  n;

    neg = 0;
    i = 0;

    if (len && p[0] == '-') {
        neg = 1;
        i = 1;
    }

    if (i == len || len - i > 18) {
        return 0;
    }

    n = 0;

    for ( /* void */ ; i < len; i++) {
        if (p[i] < '0' || p[i] > '9') {
            return 0;
        }

        n = n * 10 + (p[i] - '0');
    }

    *value = neg ? -(int64_t) n : (int64_t) n;

    return 1;
}


static size_t
ngx_http_llm_resp_digits(size_t n)
{
    size_t  d;

    for (d = 1; n >= 10; n /= 10) {
        d++;
    }

    return d;
}


size_t
ngx_http_llm_resp_command_size(size_t argc, const size_t *lens)
{
    size_t  i, size;

    size = 1 + ngx_http_llm_resp_digits(argc) + 2;

    for (i = 0; i < argc; i++) {
        size += 1 + ngx_http_llm_resp_digits(lens[i]) + 2 + lens[i] + 2;
    }

    return size;
}


static unsigned char *
ngx_http_llm_resp_header(unsigned char *p, int type, size_t n)
{
    size_t          d, k;
    unsigned char  *q;

    *p++ = (unsigned char) type;

    d = ngx_http_llm_resp_digits(n);
    q = p + d;

    for (k = 0; k < d; k++) {
        *--q = (unsigned char) ('0' + n % 10);
        n /= 10;
    }

    p += d;
    *p++ = '\r';
    *p++ = '\n';

    return p;
}


size_t
ngx_http_llm_resp_command(unsigned char *out, size_t argc,
    const unsigned char *const *args, const size_t *lens)
{
    size_t          i;
    unsigned char  *p;

    p = ngx_http_llm_resp_header(out, '*', argc);

    for (i = 0; i < argc; i++) {
        p = ngx_http_llm_resp_header(p, '$', lens[i]);

        if (lens[i]) {
            memcpy(p, args[i], lens[i]);
        }

        p += lens[i];
        *p++ = '\r';
        *p++ = '\n';
    }

    return p - out;
}
