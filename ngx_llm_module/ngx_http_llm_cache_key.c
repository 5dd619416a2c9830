
/*
 * Copyright (C) ngx_llm_module authors
 *
 * The answer cache's key: which requests are cached at all (one choice, no
 * log probabilities...), the client's Cache-Control, the scope (by default
 * the caller's credentials), and the digest of the scope, the API, the
 * effective model and the request body's parsed structure (strings
 * decoded, numbers by value, object members sorted by name), less the
 * members that only change the framing or the bookkeeping (stream,
 * stream_options, user, metadata, ...).  White space in the JSON text does
 * not matter; any difference in content does.
 */


#include "ngx_http_llm_cache.h"

#include <ngx_sha1.h>

#if (NGX_OPENSSL)
/*
 * SHA-256 through its own functions rather than EVP: no provider dispatch,
 * no allocation of the digest's context at each EVP_DigestInit_ex() and no
 * cleansing free at each final (OpenSSL 3), the same block function (and
 * so the same SHA-NI/AVX code) and the same digest
 */
#ifndef OPENSSL_SUPPRESS_DEPRECATED
#define OPENSSL_SUPPRESS_DEPRECATED
#endif
#include <openssl/sha.h>
#endif


/*
 * The key's digest is computed over a canonical form: small pieces (type
 * tags, lengths, short strings) are gathered in buf, long strings go
 * straight from the request body into the digest, so the bytes hashed are
 * the same whatever the chunks.
 */

#define NGX_HTTP_LLM_CACHE_HASH_DIRECT  128

typedef struct {
#if (NGX_OPENSSL)
    SHA256_CTX                  sha256;
#else
    ngx_sha1_t                  sha1;
#endif
    ngx_pool_t                 *pool;
    uint32_t                    skip;          /* a token left out */
    u_char                     *scratch;       /* decoded strings */
    size_t                      scratch_size;
    ngx_http_llm_text_t        *texts;         /* the prompt's texts */
    ngx_uint_t                  ntexts;
    ngx_uint_t                  text;          /* the next one expected */
    size_t                      n;
    u_char                      buf[4096];
} ngx_http_llm_cache_hash_t;


typedef struct {
    ngx_str_t                   key;
    uint32_t                    value;
} ngx_http_llm_cache_member_t;


static ngx_inline void ngx_http_llm_cache_hash_add(
    ngx_http_llm_cache_hash_t *h, const void *data, size_t len);
static void ngx_http_llm_cache_hash_long(ngx_http_llm_cache_hash_t *h,
    const void *data, size_t len);
static ngx_int_t ngx_http_llm_cache_hash_escaped(ngx_http_llm_cache_hash_t *h,
    ngx_http_llm_json_t *json, uint32_t tok, const u_char *raw, size_t len);
static void ngx_http_llm_cache_hash_str(ngx_http_llm_cache_hash_t *h,
    u_char tag, const u_char *data, size_t len);
static ngx_int_t ngx_http_llm_cache_hash_value(ngx_http_llm_cache_hash_t *h,
    ngx_http_llm_json_t *json, uint32_t tok, ngx_uint_t top);
static ngx_int_t ngx_http_llm_cache_hash_object(ngx_http_llm_cache_hash_t *h,
    ngx_http_llm_json_t *json, uint32_t obj, ngx_uint_t top);
static int ngx_libc_cdecl ngx_http_llm_cache_member_cmp(const void *one,
    const void *two);


/*
 * Top-level members left out of the key: the framing of the answer, and
 * the caller's bookkeeping, which does not change what the model says.
 * The model is keyed as the effective model, after routing.
 */

static ngx_str_t  ngx_http_llm_cache_unkeyed[] = {
    ngx_string("model"),
    ngx_string("stream"),
    ngx_string("stream_options"),
    ngx_string("user"),
    ngx_string("metadata"),
    ngx_string("store"),
    ngx_string("service_tier"),
    ngx_string("prompt_cache_key"),
    ngx_string("safety_identifier"),
    ngx_null_string
};

/* bit n: a name above is n bytes long (longer keys are compared), set once */
static uint32_t  ngx_http_llm_cache_unkeyed_lens;


/*
 * Chat requests whose answer an entry can reproduce: one choice, no
 * log probabilities, no audio.
 */

ngx_int_t
ngx_http_llm_cache_applies(ngx_http_request_t *r, ngx_http_llm_ctx_t *ctx)
{
    int64_t               n;
    uint32_t              t, m, v[4];
    ngx_str_t             s;
    ngx_http_llm_json_t  *json;

    static const ngx_http_llm_json_name_t  ngx_http_llm_cache_chat_keys[] = {
        { "messages", 8 }, { "n", 1 }, { "logprobs", 8 }, { "modalities", 10 }
    };

    json = &ctx->req.json;

    if (ctx->api == NGX_HTTP_LLM_API_GEMINI) {
        /* Gemini: whole answers (:generateContent) of one candidate */

        t = ngx_http_llm_cache_get(json, 0, "contents");

        return (ctx->endpoint == NGX_HTTP_LLM_EP_GENERATE
                && !ctx->req.stream
                && ctx->req.choices <= 1
                && ngx_http_llm_cache_is(json, t, NGX_HTTP_LLM_JSON_ARRAY))
               ? NGX_OK : NGX_DECLINED;
    }

    if (ctx->endpoint == NGX_HTTP_LLM_EP_RESPONSES) {
        /*
         * The Responses API: not a request that continues a stored
         * response (its context is not in the body), not a background one
         */

        t = ngx_http_llm_cache_get(json, 0, "background");

        return (ctx->unknown_context
                || ngx_http_llm_cache_is(json, t, NGX_HTTP_LLM_JSON_TRUE))
               ? NGX_DECLINED : NGX_OK;
    }

    /* the four members in one walk over the body's keys */

    ngx_http_llm_json_object_get_n(json, 0, ngx_http_llm_cache_chat_keys,
                                   4, v);

    t = v[0];

    if (!ngx_http_llm_cache_is(json, t, NGX_HTTP_LLM_JSON_ARRAY)) {
        return NGX_DECLINED;
    }

    if (ctx->api == NGX_HTTP_LLM_API_ANTHROPIC) {
        return NGX_OK;
    }

    t = v[1];

    if (ngx_http_llm_cache_is(json, t, NGX_HTTP_LLM_JSON_NUMBER)
        && (ngx_http_llm_json_get_int(json, t, &n) != NGX_HTTP_LLM_JSON_OK
            || n != 1))
    {
        return NGX_DECLINED;
    }

    t = v[2];

    if (ngx_http_llm_cache_is(json, t, NGX_HTTP_LLM_JSON_TRUE)) {
        return NGX_DECLINED;
    }

    t = v[3];

    if (ngx_http_llm_cache_is(json, t, NGX_HTTP_LLM_JSON_ARRAY)) {
        for (m = ngx_http_llm_json_first(json, t);
             m != NGX_HTTP_LLM_NONE;
             m = json->tokens[m].next)
        {
            if (json->tokens[m].type != NGX_HTTP_LLM_JSON_STRING) {
                continue;
            }

            ngx_http_llm_json_raw_string(json, m, (const u_char **) &s.data,
                                         &s.len);

            if (s.len != 4 || ngx_strncmp(s.data, "text", 4) != 0) {
                return NGX_DECLINED;
            }
        }
    }

    return NGX_OK;
}


/* the client's Cache-Control: no-store, no-cache */

ngx_uint_t
ngx_http_llm_cache_control(ngx_http_request_t *r)
{
    u_char           *p, *last, *start;
    ngx_uint_t        i, cc;
    ngx_list_part_t  *part;
    ngx_table_elt_t  *h;

    cc = 0;

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

        if (h[i].key.len != sizeof("Cache-Control") - 1
            || ngx_strncasecmp(h[i].key.data, (u_char *) "Cache-Control",
                               sizeof("Cache-Control") - 1) != 0)
        {
            continue;
        }

        p = h[i].value.data;
        last = p + h[i].value.len;

        while (p < last) {

            while (p < last && (*p == ' ' || *p == '\t' || *p == ',')) {
                p++;
            }

            start = p;

            while (p < last && *p != ',' && *p != ' ' && *p != '\t'
                   && *p != '=')
            {
                p++;
            }

            if (p - start == 8
                && ngx_strncasecmp(start, (u_char *) "no-store", 8) == 0)
            {
                cc |= NGX_HTTP_LLM_CACHE_NO_STORE;

            } else if (p - start == 8
                       && ngx_strncasecmp(start, (u_char *) "no-cache", 8)
                          == 0)
            {
                cc |= NGX_HTTP_LLM_CACHE_NO_CACHE;
            }

            while (p < last && *p != ',') {
                p++;
            }
        }
    }

    return cc;
}


/*
 * The scope: the llm_cache_scope values, or the caller's credentials
 * (Authorization, x-api-key, api-key).  NGX_DECLINED: no credentials and no
 * llm_cache_scope, or llm_cache_scope values from variables that are all
 * empty: the cache is not used.  Each value is length-prefixed,
 * so ("ab", "c") and ("a", "bc") differ.
 */

ngx_int_t
ngx_http_llm_cache_scope(ngx_http_request_t *r,
    ngx_http_llm_cache_loc_conf_t *clcf, ngx_str_t *scope)
{
    u_char                    *p;
    size_t                     len;
    ngx_str_t                  val[4], *v;
    ngx_uint_t                 i, n, found;
    ngx_list_part_t           *part;
    ngx_table_elt_t           *h;
    ngx_http_complex_value_t  *cv;

    static ngx_str_t  names[] = {
        ngx_string("Authorization"),
        ngx_string("x-api-key"),
        ngx_string("api-key"),
        ngx_string("x-goog-api-key")      /* Gemini */
    };

    if (clcf->scope) {
        cv = clcf->scope->elts;
        n = clcf->scope->nelts;

        v = ngx_palloc(r->pool, n * sizeof(ngx_str_t));
        if (v == NULL) {
            return NGX_ERROR;
        }

        /*
         * Values with variables that all come out empty (the header of
         * "llm_cache_scope $http_x_tenant" missing) name nobody: no cache,
         * as without credentials.  Constants name nobody either; only a
         * scope of constants alone ("") is shared, on purpose.
         */

        found = 1;

        for (i = 0; i < n; i++) {
            if (ngx_http_complex_value(r, &cv[i], &v[i]) != NGX_OK) {
                return NGX_ERROR;
            }

            if (cv[i].lengths != NULL && found != 2) {
                found = v[i].len ? 2 : 0;
            }
        }

    } else {
        v = val;
        n = 3;
        found = 0;

        ngx_memzero(val, sizeof(val));

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

            /* the names' lengths differ: the one name of this length */

            switch (h[i].key.len) {
            case sizeof("Authorization") - 1:
                len = 0;
                break;
            case sizeof("x-api-key") - 1:
                len = 1;
                break;
            case sizeof("api-key") - 1:
                len = 2;
                break;
            case sizeof("x-goog-api-key") - 1:
                len = 3;
                break;
            default:
                continue;
            }

            if (h[i].value.len
                && ngx_strncasecmp(h[i].key.data, names[len].data,
                                   names[len].len) == 0)
            {
                val[len] = h[i].value;
                found = 1;
            }
        }

        /* the fourth only when present: the other APIs' keys unchanged */

        if (val[3].len) {
            n = 4;
        }
    }

    if (!found) {
        return NGX_DECLINED;
    }

    len = 0;

    for (i = 0; i < n; i++) {
        len += 4 + v[i].len;
    }

    p = ngx_pnalloc(r->pool, len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    scope->data = p;
    scope->len = len;

    for (i = 0; i < n; i++) {
        *p++ = (u_char) (v[i].len >> 24);
        *p++ = (u_char) (v[i].len >> 16);
        *p++ = (u_char) (v[i].len >> 8);
        *p++ = (u_char) v[i].len;
        p = ngx_cpymem(p, v[i].data, v[i].len);
    }

    return NGX_OK;
}


/*
 * The key: a digest (SHA-256, cut to 128 bits) of the scope, the API, the
 * model and the canonical form of the request body.
 */

ngx_int_t
ngx_http_llm_cache_key(ngx_http_request_t *r, ngx_http_llm_ctx_t *ctx,
    ngx_http_llm_cache_ctx_t *cctx, ngx_str_t *model)
{
    if (ngx_http_llm_cache_digest(r, ctx, cctx, model, NGX_HTTP_LLM_NONE,
                                  NULL, cctx->digest)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    cctx->key_model = *model;

    return NGX_OK;
}


/*
 * The digest of a request: all of it, or all but one token (the last user
 * message of a semantic lookup, with the signature of its words).
 */

ngx_int_t
ngx_http_llm_cache_digest(ngx_http_request_t *r, ngx_http_llm_ctx_t *ctx,
    ngx_http_llm_cache_ctx_t *cctx, ngx_str_t *model, uint32_t skip,
    uint32_t *signature, u_char *digest)
{
    u_char                     api;
    ngx_int_t                  rc;
    ngx_http_llm_cache_hash_t  h;
#if (NGX_OPENSSL)
    u_char                     md[SHA256_DIGEST_LENGTH];

    if (SHA256_Init(&h.sha256) != 1) {
        return NGX_ERROR;
    }
#else
    u_char                     md[20];

    ngx_sha1_init(&h.sha1);
#endif

    /* the prompt's texts, decoded once for the token estimate too */

    if (ngx_http_llm_texts_decode(ctx) != NGX_OK) {
        return NGX_ERROR;
    }

    h.pool = r->pool;
    h.skip = skip;
    h.scratch = NULL;
    h.scratch_size = 0;
    h.texts = ctx->req.texts.elts;
    h.ntexts = ctx->req.texts.nelts;
    h.text = 0;
    h.n = 0;

    api = (ctx->endpoint == NGX_HTTP_LLM_EP_RESPONSES) ? 'R'
                                                        : (u_char) ctx->api;

    if (skip == NGX_HTTP_LLM_NONE) {
        ngx_http_llm_cache_hash_add(&h, "llm-cache/1", sizeof("llm-cache/1"));

    } else {
        ngx_http_llm_cache_hash_add(&h, "llm-cache-semantic/1",
                                    sizeof("llm-cache-semantic/1"));
    }

    ngx_http_llm_cache_hash_add(&h, &api, 1);
    ngx_http_llm_cache_hash_str(&h, 'S', cctx->scope.data, cctx->scope.len);
    ngx_http_llm_cache_hash_str(&h, 'M', model->data, model->len);

    rc = ngx_http_llm_cache_hash_value(&h, &ctx->req.json, 0, 1);

    if (signature) {
        ngx_http_llm_cache_hash_add(&h, signature, sizeof(uint32_t));
    }

    if (h.scratch) {
        ngx_pfree(r->pool, h.scratch);
    }

    if (rc != NGX_OK) {
        return NGX_ERROR;
    }

#if (NGX_OPENSSL)
    if (SHA256_Update(&h.sha256, h.buf, h.n) != 1
        || SHA256_Final(md, &h.sha256) != 1)
    {
        return NGX_ERROR;
    }
#else
    ngx_sha1_update(&h.sha1, h.buf, h.n);
    ngx_sha1_final(md, &h.sha1);
#endif

    ngx_memcpy(digest, md, NGX_HTTP_LLM_CACHE_DIGEST);

    return NGX_OK;
}


static ngx_inline void
ngx_http_llm_cache_hash_add(ngx_http_llm_cache_hash_t *h, const void *data,
    size_t len)
{
    if (len <= sizeof(h->buf) - h->n && len < NGX_HTTP_LLM_CACHE_HASH_DIRECT)
    {
        ngx_memcpy(h->buf + h->n, data, len);
        h->n += len;
        return;
    }

    ngx_http_llm_cache_hash_long(h, data, len);
}


static void
ngx_http_llm_cache_hash_flush(ngx_http_llm_cache_hash_t *h)
{
    if (h->n == 0) {
        return;
    }

#if (NGX_OPENSSL)
    (void) SHA256_Update(&h->sha256, h->buf, h->n);
#else
    ngx_sha1_update(&h->sha1, h->buf, h->n);
#endif

    h->n = 0;
}


/* a long piece: what is gathered goes first, then the piece where it is */

static void
ngx_http_llm_cache_hash_long(ngx_http_llm_cache_hash_t *h, const void *data,
    size_t len)
{
    if (len < NGX_HTTP_LLM_CACHE_HASH_DIRECT) {
        /* a short piece that does not fit */
        ngx_http_llm_cache_hash_flush(h);

        ngx_memcpy(h->buf, data, len);
        h->n = len;
        return;
    }

    ngx_http_llm_cache_hash_flush(h);

#if (NGX_OPENSSL)
    (void) SHA256_Update(&h->sha256, data, len);
#else
    ngx_sha1_update(&h->sha1, data, len);
#endif
}


static void
ngx_http_llm_cache_hash_str(ngx_http_llm_cache_hash_t *h, u_char tag,
    const u_char *data, size_t len)
{
    u_char  head[5];

    head[0] = tag;
    head[1] = (u_char) (len >> 24);
    head[2] = (u_char) (len >> 16);
    head[3] = (u_char) (len >> 8);
    head[4] = (u_char) len;

    ngx_http_llm_cache_hash_add(h, head, 5);
    ngx_http_llm_cache_hash_add(h, data, len);
}


/*
 * The canonical form of a JSON value: a type tag, then strings decoded and
 * length-prefixed, numbers by value (1, 1.0 and 1e0 are the same), arrays in
 * order, object members sorted by name.
 */

static ngx_int_t
ngx_http_llm_cache_hash_value(ngx_http_llm_cache_hash_t *h,
    ngx_http_llm_json_t *json, uint32_t tok, ngx_uint_t top)
{
    u_char                      num[9];
    double                      d;
    int64_t                     i;
    uint32_t                    e;
    ngx_str_t                   s;
    ngx_http_llm_json_token_t  *t;

    if (tok == h->skip) {
        ngx_http_llm_cache_hash_add(h, "X", 1);
        return NGX_OK;
    }

    t = &json->tokens[tok];

    switch (t->type) {

    case NGX_HTTP_LLM_JSON_OBJECT:
        return ngx_http_llm_cache_hash_object(h, json, tok, top);

    case NGX_HTTP_LLM_JSON_ARRAY:
        num[0] = 'a';
        num[1] = (u_char) (t->size >> 24);
        num[2] = (u_char) (t->size >> 16);
        num[3] = (u_char) (t->size >> 8);
        num[4] = (u_char) t->size;
        ngx_http_llm_cache_hash_add(h, num, 5);

        for (e = ngx_http_llm_json_first(json, tok);
             e != NGX_HTTP_LLM_NONE;
             e = json->tokens[e].next)
        {
            if (ngx_http_llm_cache_hash_value(h, json, e, 0) != NGX_OK) {
                return NGX_ERROR;
            }
        }

        return NGX_OK;

    case NGX_HTTP_LLM_JSON_STRING:
        ngx_http_llm_json_raw_string(json, tok, (const u_char **) &s.data,
                                     &s.len);

        if (t->escaped) {
            return ngx_http_llm_cache_hash_escaped(h, json, tok, s.data,
                                                   s.len);
        }

        /* no escapes: its bytes in the body are its decoded bytes */

        ngx_http_llm_cache_hash_str(h, 's', s.data, s.len);
        return NGX_OK;

    case NGX_HTTP_LLM_JSON_NUMBER:
        if (t->integer
            && ngx_http_llm_json_get_int(json, tok, &i) == NGX_HTTP_LLM_JSON_OK)
        {
            goto integer;
        }

        if (ngx_http_llm_json_get_double(json, tok, &d)
            != NGX_HTTP_LLM_JSON_OK)
        {
            /* out of range: by its text */
            ngx_http_llm_cache_hash_str(h, 'N', json->data + t->start,
                                        t->end - t->start);
            return NGX_OK;
        }

        if (d > -9.2e18 && d < 9.2e18 && d == (double) (int64_t) d) {
            i = (int64_t) d;
            goto integer;
        }

        num[0] = 'd';
        ngx_memcpy(&num[1], &d, 8);
        ngx_http_llm_cache_hash_add(h, num, 9);
        return NGX_OK;

    case NGX_HTTP_LLM_JSON_TRUE:
        ngx_http_llm_cache_hash_add(h, "t", 1);
        return NGX_OK;

    case NGX_HTTP_LLM_JSON_FALSE:
        ngx_http_llm_cache_hash_add(h, "f", 1);
        return NGX_OK;

    default: /* NGX_HTTP_LLM_JSON_NULL */
        ngx_http_llm_cache_hash_add(h, "n", 1);
        return NGX_OK;
    }

integer:

    num[0] = 'i';
    ngx_memcpy(&num[1], &i, 8);
    ngx_http_llm_cache_hash_add(h, num, 9);

    return NGX_OK;
}


/*
 * A string with escapes, decoded.  A text of the prompt is decoded once
 * for all its readers: by redaction when it ran, else by
 * ngx_http_llm_texts_decode() before the walk, and kept for the token
 * estimate (ngx_http_llm_text_find()).  Other strings are decoded into the
 * gathering buffer, after room for their header, or into the scratch when
 * larger.
 */

static ngx_int_t
ngx_http_llm_cache_hash_escaped(ngx_http_llm_cache_hash_t *h,
    ngx_http_llm_json_t *json, uint32_t tok, const u_char *raw, size_t len)
{
    u_char               *p;
    size_t                n;
    ngx_http_llm_text_t  *t;

    t = ngx_http_llm_text_find(h->texts, h->ntexts, &h->text, tok);

    if (t != NULL && t->text.data != NULL) {
        /* decoded already: raw is the decoded text from here on */
        raw = t->text.data;
        len = t->text.len;
    }

    /* the decoded text is never longer than the raw one */

    if (len + 5 <= sizeof(h->buf)) {
        /*
         * Into the gathering buffer, decoded or copied: SHA-256 is given
         * the same pieces of 4 KB as before the texts were decoded once
         * (one call per text costs more, under callgrind at least)
         */

        if (len + 5 > sizeof(h->buf) - h->n) {
            ngx_http_llm_cache_hash_flush(h);
        }

        p = h->buf + h->n;

        if (t != NULL && t->text.data != NULL) {
            ngx_memcpy(p + 5, raw, len);
            n = len;

        } else {
            n = ngx_http_llm_json_decode_string(raw, len, p + 5);
        }

        p[0] = 's';
        p[1] = (u_char) (n >> 24);
        p[2] = (u_char) (n >> 16);
        p[3] = (u_char) (n >> 8);
        p[4] = (u_char) n;

        h->n += 5 + n;

        return NGX_OK;
    }

    if (t != NULL && t->text.data != NULL) {
        ngx_http_llm_cache_hash_str(h, 's', raw, len);
        return NGX_OK;
    }

    if (len > h->scratch_size) {
        if (h->scratch) {
            ngx_pfree(h->pool, h->scratch);
        }

        h->scratch_size = len;
        h->scratch = ngx_pnalloc(h->pool, h->scratch_size);
        if (h->scratch == NULL) {
            h->scratch_size = 0;
            return NGX_ERROR;
        }
    }

    n = ngx_http_llm_json_decode_string(raw, len, h->scratch);

    ngx_http_llm_cache_hash_str(h, 's', h->scratch, n);

    return NGX_OK;
}


static ngx_int_t
ngx_http_llm_cache_hash_object(ngx_http_llm_cache_hash_t *h,
    ngx_http_llm_json_t *json, uint32_t obj, ngx_uint_t top)
{
    u_char                        head[5];
    uint32_t                      k;
    ngx_str_t                    *u;
    ngx_uint_t                    i, j, n;
    ngx_http_llm_cache_member_t  *m, local[16], tmp;

    if (top && ngx_http_llm_cache_unkeyed_lens == 0) {
        for (u = ngx_http_llm_cache_unkeyed; u->len; u++) {
            if (u->len < 32) {
                ngx_http_llm_cache_unkeyed_lens |= (uint32_t) 1 << u->len;
            }
        }
    }

    n = json->tokens[obj].size;

    if (n <= 16) {
        m = local;

    } else {
        m = ngx_palloc(h->pool, n * sizeof(ngx_http_llm_cache_member_t));
        if (m == NULL) {
            return NGX_ERROR;
        }
    }

    i = 0;

    for (k = ngx_http_llm_json_first(json, obj);
         k != NGX_HTTP_LLM_NONE && i < n;
         k = json->tokens[k].next)
    {
        if (ngx_http_llm_cache_decode(h->pool, json, k, &m[i].key) != NGX_OK)
        {
            return NGX_ERROR;
        }

        if (top
            && (m[i].key.len >= 32
                || (ngx_http_llm_cache_unkeyed_lens >> m[i].key.len & 1)))
        {
            /* a name of the length of one left out: compared */

            for (u = ngx_http_llm_cache_unkeyed; u->len; u++) {
                if (u->len == m[i].key.len
                    && ngx_strncmp(u->data, m[i].key.data, u->len) == 0)
                {
                    break;
                }
            }

            if (u->len) {
                continue;
            }
        }

        m[i].value = k + 1;
        i++;
    }

    n = i;

    if (n > 16) {
        ngx_qsort(m, n, sizeof(ngx_http_llm_cache_member_t),
                  ngx_http_llm_cache_member_cmp);

    } else {
        /*
         * A few members (the usual case): an insertion sort, stable like
         * glibc's qsort() (a merge sort), so that members of the same name
         * keep their order; no call per comparison
         */

        for (i = 1; i < n; i++) {
            tmp = m[i];

            for (j = i;
                 j > 0 && ngx_memn2cmp(m[j - 1].key.data, tmp.key.data,
                                       m[j - 1].key.len, tmp.key.len) > 0;
                 j--)
            {
                m[j] = m[j - 1];
            }

            m[j] = tmp;
        }
    }

    head[0] = 'o';
    head[1] = (u_char) (n >> 24);
    head[2] = (u_char) (n >> 16);
    head[3] = (u_char) (n >> 8);
    head[4] = (u_char) n;
    ngx_http_llm_cache_hash_add(h, head, 5);

    for (i = 0; i < n; i++) {
        ngx_http_llm_cache_hash_str(h, 'k', m[i].key.data, m[i].key.len);

        if (ngx_http_llm_cache_hash_value(h, json, m[i].value, 0) != NGX_OK) {
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


/* a string token, decoded: in place when it has no escapes */

ngx_int_t
ngx_http_llm_cache_decode(ngx_pool_t *pool, ngx_http_llm_json_t *json,
    uint32_t tok, ngx_str_t *out)
{
    size_t         len;
    const u_char  *raw;

    ngx_http_llm_json_raw_string(json, tok, &raw, &len);

    if (!json->tokens[tok].escaped) {
        out->data = (u_char *) raw;
        out->len = len;
        return NGX_OK;
    }

    out->data = ngx_pnalloc(pool, len);
    if (out->data == NULL) {
        return NGX_ERROR;
    }

    out->len = ngx_http_llm_json_decode_string(raw, len, out->data);

    return NGX_OK;
}


static int ngx_libc_cdecl
ngx_http_llm_cache_member_cmp(const void *one, const void *two)
{
    const ngx_http_llm_cache_member_t  *a = one;
    const ngx_http_llm_cache_member_t  *b = two;

    return ngx_memn2cmp(a->key.data, b->key.data, a->key.len, b->key.len);
}


/* the worker exits: nothing is kept between digests any more */

void
ngx_http_llm_cache_key_exit(void)
{
}
