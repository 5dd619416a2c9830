
/*
 * Copyright (C) ngx_llm_module authors
 *
 * libFuzzer target for the JSON scanner, see fuzz/README.md.
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -I ngx_llm_module/engines \
 *       fuzz/json_fuzz.c ngx_llm_module/engines/ngx_http_llm_json.c \
 *       -o build/fuzz/json_fuzz
 */


#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ngx_http_llm_json.h"


#define NONE  NGX_HTTP_LLM_JSON_NONE

#define check(cond)                                                          \
    if (!(cond)) {                                                           \
        __builtin_trap();                                                    \
    }


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


static int
same_error(const ngx_http_llm_json_t *a, const ngx_http_llm_json_t *b)
{
    if (a->err == NULL || b->err == NULL) {
        return a->err == b->err;
    }

    return strcmp(a->err, b->err) == 0 && a->err_offset == b->err_offset;
}


/* an independent RFC 3629 validator */

static int
utf8_valid(const u_char *s, size_t len)
{
    size_t    i, n, k;
    uint32_t  cp, min;

    for (i = 0; i < len; i += n) {
        if (s[i] < 0x80) {
            n = 1;
            continue;
        }

        if ((s[i] & 0xe0) == 0xc0) {
            n = 2;
            cp = s[i] & 0x1f;
            min = 0x80;

        } else if ((s[i] & 0xf0) == 0xe0) {
            n = 3;
            cp = s[i] & 0x0f;
            min = 0x800;

        } else if ((s[i] & 0xf8) == 0xf0) {
            n = 4;
            cp = s[i] & 0x07;
            min = 0x10000;

        } else {
            return 0;
        }

        if (len - i < n) {
            return 0;
        }

        for (k = 1; k < n; k++) {
            if ((s[i + k] & 0xc0) != 0x80) {
                return 0;
            }

            cp = (cp << 6) | (s[i + k] & 0x3f);
        }

        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
            return 0;
        }
    }

    return 1;
}


static int
hex4(const u_char *s, size_t left, uint32_t *cp)
{
    size_t    i;
    uint32_t  v;

    if (left < 4) {
        return 0;
    }

    v = 0;

    for (i = 0; i < 4; i++) {
        v <<= 4;

        if (s[i] >= '0' && s[i] <= '9') {
            v |= s[i] - '0';

        } else if (s[i] >= 'a' && s[i] <= 'f') {
            v |= s[i] - 'a' + 10;

        } else if (s[i] >= 'A' && s[i] <= 'F') {
            v |= s[i] - 'A' + 10;

        } else {
            return 0;
        }
    }

    *cp = v;

    return 1;
}


/*
 * An independent decoder of validated string contents: it traps on
 * anything the scanner should have rejected.
 */

static size_t
reference_decode(const u_char *s, size_t len, u_char *out)
{
    size_t    i, n;
    uint32_t  cp, lo;

    for (i = 0, n = 0; i < len; ) {
        check(s[i] >= 0x20 && s[i] != '"');

        if (s[i] != '\\') {
            out[n++] = s[i++];
            continue;
        }

        check(i + 1 < len);

        switch (s[i + 1]) {
        case '"': case '\\': case '/':
            out[n++] = s[i + 1];
            i += 2;
            continue;
        case 'b':
            out[n++] = '\b';
            i += 2;
            continue;
        case 'f':
            out[n++] = '\f';
            i += 2;
            continue;
        case 'n':
            out[n++] = '\n';
            i += 2;
            continue;
        case 'r':
            out[n++] = '\r';
            i += 2;
            continue;
        case 't':
            out[n++] = '\t';
            i += 2;
            continue;
        case 'u':
            break;
        default:
            check(0);
        }

        check(hex4(s + i + 2, len - i - 2, &cp));
        i += 6;

        check(cp < 0xdc00 || cp > 0xdfff);

        if (cp >= 0xd800 && cp <= 0xdbff) {
            check(i + 1 < len && s[i] == '\\' && s[i + 1] == 'u');
            check(hex4(s + i + 2, len - i - 2, &lo));
            check(lo >= 0xdc00 && lo <= 0xdfff);
            i += 6;

            cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
        }

        if (cp < 0x80) {
            out[n++] = (u_char) cp;

        } else if (cp < 0x800) {
            out[n++] = (u_char) (0xc0 | (cp >> 6));
            out[n++] = (u_char) (0x80 | (cp & 0x3f));

        } else if (cp < 0x10000) {
            out[n++] = (u_char) (0xe0 | (cp >> 12));
            out[n++] = (u_char) (0x80 | ((cp >> 6) & 0x3f));
            out[n++] = (u_char) (0x80 | (cp & 0x3f));

        } else {
            out[n++] = (u_char) (0xf0 | (cp >> 18));
            out[n++] = (u_char) (0x80 | ((cp >> 12) & 0x3f));
            out[n++] = (u_char) (0x80 | ((cp >> 6) & 0x3f));
            out[n++] = (u_char) (0x80 | (cp & 0x3f));
        }
    }

    return n;
}


static u_char *
decode(const ngx_http_llm_json_t *p, uint32_t tok, size_t *dlen)
{
    u_char        *out, *ref;
    size_t         len;
    const u_char  *raw;

    ngx_http_llm_json_raw_string(p, tok, &raw, &len);

    check(raw == p->data + p->tokens[tok].start + 1);
    check(len == p->tokens[tok].end - p->tokens[tok].start - 2);

    out = malloc(len + 1);
    check(out != NULL);

    *dlen = ngx_http_llm_json_decode_string(raw, len, out);

    check(*dlen <= len);

    ref = malloc(len * 2 + 8);
    check(ref != NULL);
    check(reference_decode(raw, len, ref) == *dlen);
    check(memcmp(ref, out, *dlen) == 0);
    free(ref);

    check(utf8_valid(out, *dlen));
    check(p->tokens[tok].escaped || (*dlen == len
                                     && memcmp(out, raw, len) == 0));

    return out;
}


/* encode decoded text, parse it back as a string and decode it again */

static void
round_trip(const u_char *text, size_t len)
{
    u_char                     *doc, *end, *again;
    size_t                      n, alen;
    ngx_http_llm_json_t         p;
    ngx_http_llm_json_token_t   tok[2];

    n = ngx_http_llm_json_encoded_len(text, len);
    check(n >= len && n <= len * 6);

    doc = malloc(n + 2);
    check(doc != NULL);

    doc[0] = '"';
    end = ngx_http_llm_json_encode_string(doc + 1, text, len);
    check(end == doc + 1 + n);
    *end++ = '"';

    memset(&p, 0, sizeof(p));
    p.data = doc;
    p.len = n + 2;
    p.tokens = tok;
    p.max_tokens = 2;

    check(ngx_http_llm_json_parse(&p) == NGX_HTTP_LLM_JSON_OK);
    check(p.ntokens == 1);
    check(tok[0].type == NGX_HTTP_LLM_JSON_STRING);
    check(tok[0].start == 0 && tok[0].end == n + 2);
    check(tok[0].escaped == (n != len || memchr(text, '\\', len) != NULL));

    again = decode(&p, 0, &alen);
    check(alen == len && memcmp(again, text, len) == 0);

    free(again);
    free(doc);
}


static void
check_number(const ngx_http_llm_json_t *p, uint32_t i)
{
    int                               rc, dot;
    double                            d;
    int64_t                           v;
    uint32_t                          k;
    const ngx_http_llm_json_token_t  *t;

    t = &p->tokens[i];

    dot = 0;
    for (k = t->start; k < t->end; k++) {
        if (p->data[k] == '.' || p->data[k] == 'e' || p->data[k] == 'E') {
            dot = 1;
        }
    }

    check(t->integer == !dot);

    rc = ngx_http_llm_json_get_int(p, i, &v);
    check(rc == NGX_HTTP_LLM_JSON_ERROR || t->integer);

    /* short integers always fit */
    check(rc == NGX_HTTP_LLM_JSON_OK || !t->integer || t->end - t->start > 18);

    if (ngx_http_llm_json_get_double(p, i, &d) == NGX_HTTP_LLM_JSON_OK) {
        check(d == d);
        check(d <= 1.7976931348623157e308 && d >= -1.7976931348623157e308);

        if (rc == NGX_HTTP_LLM_JSON_OK && v > -(1LL << 53) && v < (1LL << 53))
        {
            check(d == (double) v);
        }

    } else {
        check(rc == NGX_HTTP_LLM_JSON_ERROR);
    }
}


static void
check_object(const ngx_http_llm_json_t *p, uint32_t obj)
{
    u_char    *key, *other;
    size_t     klen, olen;
    uint32_t   k, j, v, last;

    for (k = ngx_http_llm_json_first(p, obj); k != NONE;
         k = p->tokens[k].next)
    {
        key = decode(p, k, &klen);

        /* the last key with the same decoded text */

        last = k;

        for (j = p->tokens[k].next; j != NONE; j = p->tokens[j].next) {
            other = decode(p, j, &olen);

            if (olen == klen && memcmp(other, key, klen) == 0) {
                last = j;
            }

            free(other);
        }

        v = ngx_http_llm_json_object_get(p, obj, (const char *) key, klen);

        check(v != NONE && v < p->ntokens);
        check(v == last + 1);
        check(!p->tokens[v].key && p->tokens[v].parent == obj);
        check(p->tokens[v - 1].key);

        free(key);
    }
}


static void
check_tokens(const ngx_http_llm_json_t *p)
{
    u_char                           *text;
    size_t                            len;
    uint32_t                          i, j, n, s, e;
    const u_char                     *d;
    const ngx_http_llm_json_token_t  *t, *par, *tokens;

    tokens = p->tokens;
    n = p->ntokens;
    d = p->data;

    check(n > 0);
    check(tokens[0].parent == NONE && tokens[0].next == NONE);
    check(!tokens[0].key);

    /* the root spans the document without its white space */

    for (s = 0; d[s] == ' ' || d[s] == '\t' || d[s] == '\n' || d[s] == '\r';
         s++)
    { /* void */ }

    for (e = p->len; d[e - 1] == ' ' || d[e - 1] == '\t' || d[e - 1] == '\n'
                     || d[e - 1] == '\r'; e--)
    { /* void */ }

    check(tokens[0].start == s && tokens[0].end == e);

    for (i = 0; i < n; i++) {
        t = &tokens[i];

        check(t->type >= NGX_HTTP_LLM_JSON_OBJECT
              && t->type <= NGX_HTTP_LLM_JSON_NULL);
        check(t->start < t->end && t->end <= p->len);
        check(t->next == NONE || (t->next > i && t->next < n));

        if (i > 0) {
            check(t->parent < i);

            par = &tokens[t->parent];

            check(par->type == NGX_HTTP_LLM_JSON_OBJECT
                  || par->type == NGX_HTTP_LLM_JSON_ARRAY);
            check(t->start > par->start && t->end < par->end);
            check(t->start > tokens[i - 1].start);
        }

        if (t->next != NONE) {
            check(tokens[t->next].parent == t->parent);
            check(tokens[t->next].start >= t->end);
            check(tokens[t->next].key == t->key);
        }

        if (t->key) {
            check(t->type == NGX_HTTP_LLM_JSON_STRING);
            check(tokens[t->parent].type == NGX_HTTP_LLM_JSON_OBJECT);
            check(i + 1 < n);
            check(!tokens[i + 1].key);
            check(tokens[i + 1].parent == t->parent);
            check(tokens[i + 1].next == NONE);
            check(tokens[i + 1].start >= t->end);

        } else if (i > 0 && tokens[t->parent].type == NGX_HTTP_LLM_JSON_OBJECT)
        {
            /* a member value follows its key */
            check(tokens[i - 1].key && tokens[i - 1].parent == t->parent);
        }

        check(t->escaped == 0 || t->type == NGX_HTTP_LLM_JSON_STRING);
        check(t->integer == 0 || t->type == NGX_HTTP_LLM_JSON_NUMBER);
        check(t->size == 0 || t->type == NGX_HTTP_LLM_JSON_OBJECT
              || t->type == NGX_HTTP_LLM_JSON_ARRAY);

        switch (t->type) {

        case NGX_HTTP_LLM_JSON_OBJECT:
        case NGX_HTTP_LLM_JSON_ARRAY:
            if (t->type == NGX_HTTP_LLM_JSON_OBJECT) {
                check(d[t->start] == '{' && d[t->end - 1] == '}');
            } else {
                check(d[t->start] == '[' && d[t->end - 1] == ']');
            }

            /* the sibling chain has exactly "size" members */

            j = ngx_http_llm_json_first(p, i);
            check((j == NONE) == (t->size == 0));
            check(j == NONE || j == i + 1);

            for (s = 0; j != NONE; j = tokens[j].next, s++) {
                check(tokens[j].parent == i);
                check(tokens[j].key == (t->type == NGX_HTTP_LLM_JSON_OBJECT));
            }

            check(s == t->size);

            if (t->type == NGX_HTTP_LLM_JSON_OBJECT) {
                check_object(p, i);

            } else {
                check(ngx_http_llm_json_object_get(p, i, "a", 1) == NONE);
            }

            break;

        case NGX_HTTP_LLM_JSON_STRING:
            check(t->end - t->start >= 2);
            check(d[t->start] == '"' && d[t->end - 1] == '"');
            check(t->escaped
                  == (memchr(d + t->start + 1, '\\', t->end - t->start - 2)
                      != NULL));

            check(ngx_http_llm_json_first(p, i) == NONE);
            check(ngx_http_llm_json_object_get(p, i, "", 0) == NONE);

            text = decode(p, i, &len);
            round_trip(text, len);
            free(text);

            break;

        case NGX_HTTP_LLM_JSON_NUMBER:
            check(d[t->start] == '-'
                  || (d[t->start] >= '0' && d[t->start] <= '9'));
            check(d[t->end - 1] >= '0' && d[t->end - 1] <= '9');
            check_number(p, i);
            break;

        case NGX_HTTP_LLM_JSON_TRUE:
            check(t->end - t->start == 4 && memcmp(d + t->start, "true", 4)
                                            == 0);
            break;

        case NGX_HTTP_LLM_JSON_FALSE:
            check(t->end - t->start == 5 && memcmp(d + t->start, "false", 5)
                                            == 0);
            break;

        case NGX_HTTP_LLM_JSON_NULL:
            check(t->end - t->start == 4 && memcmp(d + t->start, "null", 4)
                                            == 0);
            break;
        }
    }
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int                         rc;
    size_t                      cap;
    ngx_http_llm_json_t         c, f, s;
    ngx_http_llm_json_token_t  *tokens;

    /* counting pass */

    memset(&c, 0, sizeof(c));
    c.data = data;
    c.len = size;

    rc = ngx_http_llm_json_parse(&c);

    check(rc == NGX_HTTP_LLM_JSON_OK || rc == NGX_HTTP_LLM_JSON_ERROR);
    check((rc == NGX_HTTP_LLM_JSON_OK) == (c.err == NULL));
    check(c.err_offset <= size);

    /*
     * A token takes at least one byte; in a valid document also a separator
     * or a bracket: "[0,0,0]" is the densest.
     */

    check(c.ntokens <= size);
    check(rc == NGX_HTTP_LLM_JSON_ERROR || c.ntokens <= size / 2 + 1);

    /*
     * Filling pass with exactly the tokens counted: on error too, the
     * counting pass has allocated all the tokens seen before the error.
     */

    cap = c.ntokens;

    tokens = malloc((cap ? cap : 1) * sizeof(ngx_http_llm_json_token_t));
    check(tokens != NULL);

    memset(&f, 0, sizeof(f));
    f.data = data;
    f.len = size;
    f.tokens = tokens;
    f.max_tokens = (uint32_t) cap;

    check(ngx_http_llm_json_parse(&f) == rc);
    check(f.ntokens == c.ntokens);
    check(same_error(&f, &c));

    if (rc == NGX_HTTP_LLM_JSON_OK) {
        check_tokens(&f);

        /* one token less is not enough */

        f.max_tokens = c.ntokens - 1;
        check(ngx_http_llm_json_parse(&f) == NGX_HTTP_LLM_JSON_ERROR);
        check(strcmp(f.err, "too many tokens") == 0);
        check(f.err_offset < size);

        /* the counting pass stops at the same place with the same limit */

        memset(&s, 0, sizeof(s));
        s.data = data;
        s.len = size;
        s.max_tokens = c.ntokens - 1;

        if (s.max_tokens) {
            check(ngx_http_llm_json_parse(&s) == NGX_HTTP_LLM_JSON_ERROR);
            check(same_error(&s, &f));
        }
    }

    /* a lower depth limit changes nothing but the depth error */

    memset(&s, 0, sizeof(s));
    s.data = data;
    s.len = size;
    s.max_depth = 3;

    if (ngx_http_llm_json_parse(&s) == NGX_HTTP_LLM_JSON_OK) {
        check(rc == NGX_HTTP_LLM_JSON_OK && s.ntokens == c.ntokens);

    } else if (rc == NGX_HTTP_LLM_JSON_OK) {
        check(strcmp(s.err, "maximum nesting depth exceeded") == 0);
        check(data[s.err_offset] == '{' || data[s.err_offset] == '[');

    } else if (!same_error(&s, &c)) {
        check(strcmp(s.err, "maximum nesting depth exceeded") == 0);
        check(s.err_offset < c.err_offset);
    }

    free(tokens);

    return 0;
}
