
/*
 * Copyright (C) ngx_llm_module authors
 *
 * Body rewriting: features record edits (byte ranges of the original body
 * and what to put there); ngx_http_llm_apply_edits() builds the new body in
 * one pass and gives it to whatever content handler reads r->request_body.
 */


#include "ngx_http_llm_module.h"


static int ngx_libc_cdecl ngx_http_llm_edit_cmp(const void *one,
    const void *two);
static ngx_int_t ngx_http_llm_edits_sort(ngx_http_request_t *r,
    ngx_http_llm_ctx_t *ctx, size_t *len);
static ngx_int_t ngx_http_llm_replace_body_pieces(ngx_http_request_t *r,
    ngx_str_t *pieces, ngx_uint_t n, size_t len);


ngx_int_t
ngx_http_llm_edit_replace(ngx_http_request_t *r, ngx_http_llm_ctx_t *ctx,
    uint32_t start, uint32_t end, ngx_str_t *text)
{
    ngx_http_llm_edit_t  *e;

    if (ctx->edits.elts == NULL) {
        if (ngx_array_init(&ctx->edits, r->pool, 4,
                           sizeof(ngx_http_llm_edit_t))
            != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    e = ngx_array_push(&ctx->edits);
    if (e == NULL) {
        return NGX_ERROR;
    }

    e->start = start;
    e->end = end;
    e->seq = ctx->edits.nelts;
    e->text = *text;

    return NGX_OK;
}


/*
 * Set member "key" of object token obj to the raw JSON value: the value is
 * replaced when the member exists, else the member is appended before the
 * closing brace.
 */

ngx_int_t
ngx_http_llm_edit_set_member(ngx_http_request_t *r, ngx_http_llm_ctx_t *ctx,
    uint32_t obj, ngx_str_t *key, ngx_str_t *value)
{
    u_char                     *p;
    uint32_t                    v, at;
    ngx_str_t                   member;
    ngx_uint_t                  i, comma;
    ngx_http_llm_edit_t        *e;
    ngx_http_llm_json_t        *json;
    ngx_http_llm_json_token_t  *o;

    json = &ctx->req.json;
    o = &json->tokens[obj];

    if (o->type != NGX_HTTP_LLM_JSON_OBJECT) {
        return NGX_ERROR;
    }

    v = ngx_http_llm_json_object_get(json, obj, (char *) key->data, key->len);

    if (v != NGX_HTTP_LLM_NONE) {
        return ngx_http_llm_edit_replace(r, ctx, json->tokens[v].start,
                                         json->tokens[v].end, value);
    }

    at = o->end - 1;
    comma = (o->size > 0);

    /* an earlier insertion into the same (empty) object needs a comma too */

    e = ctx->edits.elts;
    for (i = 0; i < ctx->edits.nelts; i++) {
        if (e[i].start == at && e[i].end == at) {
            comma = 1;
        }
    }

    member.len = comma + 1 + key->len + 2 + value->len;
    member.data = ngx_pnalloc(r->pool, member.len);
    if (member.data == NULL) {
        return NGX_ERROR;
    }

    p = member.data;

    if (comma) {
        *p++ = ',';
    }

    *p++ = '"';
    p = ngx_cpymem(p, key->data, key->len);
    *p++ = '"';
    *p++ = ':';
    ngx_memcpy(p, value->data, value->len);

    return ngx_http_llm_edit_replace(r, ctx, at, at, &member);
}


/* replace the STRING token tok by the JSON encoding of text */

ngx_int_t
ngx_http_llm_edit_set_string(ngx_http_request_t *r, ngx_http_llm_ctx_t *ctx,
    uint32_t tok, ngx_str_t *text)
{
    u_char                     *p;
    ngx_str_t                   value;
    ngx_http_llm_json_token_t  *t;

    t = &ctx->req.json.tokens[tok];

    if (t->type != NGX_HTTP_LLM_JSON_STRING) {
        return NGX_ERROR;
    }

    value.len = ngx_http_llm_json_encoded_len(text->data, text->len) + 2;
    value.data = ngx_pnalloc(r->pool, value.len);
    if (value.data == NULL) {
        return NGX_ERROR;
    }

    p = value.data;
    *p++ = '"';
    p = ngx_http_llm_json_encode_string(p, text->data, text->len);
    *p++ = '"';

    value.len = p - value.data;

    return ngx_http_llm_edit_replace(r, ctx, t->start, t->end, &value);
}


/*
 * Replace spans of a prompt text's decoded value (sorted, not overlapping)
 * and re-encode the whole string.
 */

ngx_int_t
ngx_http_llm_edit_text(ngx_http_request_t *r, ngx_http_llm_ctx_t *ctx,
    ngx_http_llm_text_t *t, ngx_array_t *spans)
{
    u_char               *p;
    size_t                len, pos;
    ngx_str_t             text;
    ngx_uint_t            i;
    ngx_http_llm_span_t  *s;

    s = spans->elts;
    len = t->text.len;

    for (i = 0; i < spans->nelts; i++) {
        if (s[i].end < s[i].start || s[i].end > t->text.len
            || (i > 0 && s[i].start < s[i - 1].end))
        {
            ngx_log_error(NGX_LOG_ALERT, r->connection->log, 0,
                          "llm: invalid text span %uz-%uz", s[i].start,
                          s[i].end);
            return NGX_ERROR;
        }

        len = len - (s[i].end - s[i].start) + s[i].text.len;
    }

    text.data = ngx_pnalloc(r->pool, len);
    if (text.data == NULL) {
        return NGX_ERROR;
    }

    p = text.data;
    pos = 0;

    for (i = 0; i < spans->nelts; i++) {
        p = ngx_cpymem(p, t->text.data + pos, s[i].start - pos);
        p = ngx_cpymem(p, s[i].text.data, s[i].text.len);
        pos = s[i].end;
    }

    p = ngx_cpymem(p, t->text.data + pos, t->text.len - pos);

    text.len = p - text.data;

    if (ngx_http_llm_edit_set_string(r, ctx, t->tok, &text) != NGX_OK) {
        return NGX_ERROR;
    }

    t->text = text;

    return NGX_OK;
}


static int ngx_libc_cdecl
ngx_http_llm_edit_cmp(const void *one, const void *two)
{
    const ngx_http_llm_edit_t  *a = one;
    const ngx_http_llm_edit_t  *b = two;

    if (a->start != b->start) {
        return (a->start < b->start) ? -1 : 1;
    }

    /* insertions before a replacement at the same place; then by age */

    if ((a->end == a->start) != (b->end == b->start)) {
        return (a->end == a->start) ? -1 : 1;
    }

    return (a->seq < b->seq) ? -1 : (a->seq > b->seq);
}


/*
 * The edits sorted and checked; *len: the length of the body with them.
 */

static ngx_int_t
ngx_http_llm_edits_sort(ngx_http_request_t *r, ngx_http_llm_ctx_t *ctx,
    size_t *len)
{
    size_t                n;
    ngx_str_t            *orig;
    ngx_uint_t            i;
    ngx_http_llm_edit_t  *e;

    orig = &ctx->req.body;
    e = ctx->edits.elts;

    ngx_qsort(e, ctx->edits.nelts, sizeof(ngx_http_llm_edit_t),
              ngx_http_llm_edit_cmp);

    n = orig->len;

    for (i = 0; i < ctx->edits.nelts; i++) {
        if (e[i].end < e[i].start || e[i].end > orig->len
            || (i > 0 && e[i].start < e[i - 1].end))
        {
            ngx_log_error(NGX_LOG_ALERT, r->connection->log, 0,
                          "llm: overlapping body edits at %uD-%uD",
                          e[i].start, e[i].end);
            return NGX_ERROR;
        }

        n = n - (e[i].end - e[i].start) + e[i].text.len;
    }

    *len = n;

    return NGX_OK;
}


/* the original body with every edit applied; the edits are kept */

ngx_int_t
ngx_http_llm_build_body(ngx_http_request_t *r, ngx_http_llm_ctx_t *ctx,
    ngx_str_t *body)
{
    u_char               *p;
    size_t                len, pos;
    ngx_str_t            *orig;
    ngx_uint_t            i;
    ngx_http_llm_edit_t  *e;

    if (ngx_http_llm_edits_sort(r, ctx, &len) != NGX_OK) {
        return NGX_ERROR;
    }

    orig = &ctx->req.body;
    e = ctx->edits.elts;

    body->data = ngx_pnalloc(r->pool, len ? len : 1);
    if (body->data == NULL) {
        return NGX_ERROR;
    }

    p = body->data;
    pos = 0;

    for (i = 0; i < ctx->edits.nelts; i++) {
        p = ngx_cpymem(p, orig->data + pos, e[i].start - pos);
        p = ngx_cpymem(p, e[i].text.data, e[i].text.len);
        pos = e[i].end;
    }

    p = ngx_cpymem(p, orig->data + pos, orig->len - pos);

    body->len = p - body->data;

    ngx_log_debug3(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "llm: body rewritten by %ui edits, %uz -> %uz bytes",
                   ctx->edits.nelts, orig->len, body->len);

    return NGX_OK;
}


/*
 * The body proxy_pass sends: a few edits (the model routing chose, a
 * redacted value or two) become a chain of buffers, the original body's
 * pieces between them where they are, not a copy of the whole body; more
 * edits, a copy (one buffer: writev() takes 64 pieces at once), and a
 * small body too (the buffers cost more than copying a few KB).
 */

#define NGX_HTTP_LLM_EDITS_CHAIN_MAX  8
#define NGX_HTTP_LLM_EDITS_CHAIN_MIN  4096    /* smaller: a copy costs less */

ngx_int_t
ngx_http_llm_apply_edits(ngx_http_request_t *r, ngx_http_llm_ctx_t *ctx)
{
    size_t                len, pos;
    ngx_str_t             body, *orig;
    ngx_uint_t            i, n;
    ngx_http_llm_edit_t  *e;
    ngx_str_t             pieces[2 * NGX_HTTP_LLM_EDITS_CHAIN_MAX + 1];

    if (ctx->edits.nelts == 0) {
        return NGX_OK;
    }

    if (ctx->edits.nelts > NGX_HTTP_LLM_EDITS_CHAIN_MAX
        || ctx->req.body.len < NGX_HTTP_LLM_EDITS_CHAIN_MIN)
    {
        if (ngx_http_llm_build_body(r, ctx, &body) != NGX_OK) {
            return NGX_ERROR;
        }

        return ngx_http_llm_replace_body(r, &body);
    }

    if (ngx_http_llm_edits_sort(r, ctx, &len) != NGX_OK) {
        return NGX_ERROR;
    }

    orig = &ctx->req.body;
    e = ctx->edits.elts;
    pos = 0;
    n = 0;

    for (i = 0; i < ctx->edits.nelts; i++) {
        if (e[i].start > pos) {
            pieces[n].data = orig->data + pos;
            pieces[n++].len = e[i].start - pos;
        }

        if (e[i].text.len) {
            pieces[n++] = e[i].text;
        }

        pos = e[i].end;
    }

    if (orig->len > pos) {
        pieces[n].data = orig->data + pos;
        pieces[n++].len = orig->len - pos;
    }

    ngx_log_debug4(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "llm: body rewritten by %ui edits, %uz -> %uz bytes "
                   "in %ui buffers", ctx->edits.nelts, orig->len, len, n);

    return ngx_http_llm_replace_body_pieces(r, pieces, n, len);
}


/*
 * Make body what proxy_pass (and any module reading r->request_body) sends:
 * one memory buffer with start == pos (upstream retries rewind to start),
 * no temp file, and a Content-Length that matches.
 */

ngx_int_t
ngx_http_llm_replace_body(ngx_http_request_t *r, ngx_str_t *body)
{
    return ngx_http_llm_replace_body_pieces(r, body, 1, body->len);
}


/* the same with the body in n pieces (memory that must outlive r), len bytes */

static ngx_int_t
ngx_http_llm_replace_body_pieces(ngx_http_request_t *r,
    ngx_str_t *pieces, ngx_uint_t n, size_t len)
{
    u_char                   *p;
    ngx_buf_t                *b;
    ngx_uint_t                i;
    ngx_chain_t              *cl, *first, **ll;
    ngx_http_request_body_t  *rb;

    rb = r->request_body;

    first = NULL;
    ll = &first;
    b = NULL;

    /* an empty body: one empty buffer, the last one */

    for (i = 0; i < n || (i == 0 && n == 0); i++) {
        b = ngx_calloc_buf(r->pool);
        if (b == NULL) {
            return NGX_ERROR;
        }

        if (n) {
            b->start = pieces[i].data;
            b->pos = b->start;
            b->last = b->start + pieces[i].len;
            b->end = b->last;
            b->memory = 1;
        }

        b->tag = (ngx_buf_tag_t) &ngx_http_llm_module;

        cl = ngx_alloc_chain_link(r->pool);
        if (cl == NULL) {
            return NGX_ERROR;
        }

        cl->buf = b;
        cl->next = NULL;

        *ll = cl;
        ll = &cl->next;
    }

    b->last_buf = 1;
    b->last_in_chain = 1;

    rb->temp_file = NULL;
    rb->bufs = first;
    rb->buf = b;

    r->headers_in.content_length_n = len;

    if (r->headers_in.content_length) {
        p = ngx_pnalloc(r->pool, NGX_OFF_T_LEN);
        if (p == NULL) {
            return NGX_ERROR;
        }

        /* what ngx_sprintf("%uz") writes, without parsing a format */
        r->headers_in.content_length->value.len =
                                   ngx_http_llm_format_uint(p, len, 0) - p;
        r->headers_in.content_length->value.data = p;
    }

    return NGX_OK;
}
