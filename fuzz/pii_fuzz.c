
/*
 * Copyright (C) ngx_llm_module authors
 *
 * libFuzzer target for the PII engine, see fuzz/README.md.
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -I ngx_llm_module/engines \
 *       fuzz/pii_fuzz.c ngx_llm_module/engines/ngx_http_llm_pii.c -lhs -lcrypto \
 *       -o build/fuzz/pii_fuzz
 *
 * Byte 0 chooses the largest slice (1 to 16 bytes, bit 4: times 8), byte 1
 * seeds the slice sizes, byte 2 bit 0 turns placeholder hold-back on; the
 * rest is the text (at most 900 bytes, under the stream's run bound).
 *
 * The text is scanned whole (block mode) and as a stream written in those
 * slices.  The matches must be sorted, inside the text, not overlapping;
 * the stream must release exactly the text, and redact exactly what the
 * whole scan redacts: a value is never let out in pieces.  Every slice is
 * copied into an exactly sized buffer.
 */


#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ngx_http_llm_pii.h"


#define check(cond)                                                          \
    if (!(cond)) {                                                           \
        __builtin_trap();                                                    \
    }

#define MAX_TEXT  900


static ngx_http_llm_pii_t  *pii;
static hs_scratch_t        *scratch;
static void                *allocs;


static void *
fuzz_alloc(void *data, size_t size)
{
    void  **p;

    p = malloc(size + sizeof(void *));
    if (p == NULL) {
        return NULL;
    }

    *p = allocs;
    allocs = p;

    return p + 1;
}


static void
fuzz_free_all(void)
{
    void  *p, *next;

    for (p = allocs; p; p = next) {
        next = *(void **) p;
        free(p);
    }

    allocs = NULL;
}


/* text with each match as "\x01TYPE\x02" (tail matches: nothing) */

static size_t
put(const u_char *t, size_t from, size_t to, ngx_http_llm_pii_matches_t *m,
    u_char *out)
{
    u_char  *p;
    size_t   i, pos, last;

    p = out;
    pos = from;
    last = from;

    for (i = 0; i < m->nelts; i++) {
        check(m->elts[i].start < m->elts[i].end);
        check(m->elts[i].start >= last);

        last = m->elts[i].end;

        if (m->elts[i].start < from || m->elts[i].end > to) {
            continue;
        }

        memcpy(p, t + pos, m->elts[i].start - pos);
        p += m->elts[i].start - pos;

        if (!m->elts[i].tail) {
            *p++ = 1;
            *p++ = (u_char) ('A' + m->elts[i].type);
            *p++ = 2;
        }

        pos = m->elts[i].end;
    }

    memcpy(p, t + pos, to - pos);

    return (p - out) + (to - pos);
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int                          bad;
    char                         err[256];
    u_char                      *slice, whole[4 * MAX_TEXT], out[4 * MAX_TEXT];
    size_t                       len, pos, n, max, wlen, olen;
    unsigned                     seed, flags;
    const u_char                *text;
    ngx_http_llm_pii_stream_t    s;
    ngx_http_llm_pii_matches_t   m;

    if (pii == NULL) {
        pii = ngx_http_llm_pii_compile(NGX_HTTP_LLM_PII_ALL, NULL, 0, err,
                                       sizeof(err), &bad);
        check(pii != NULL);
        check(ngx_http_llm_pii_alloc_scratch(pii, &scratch) == 0);
    }

    if (size < 3) {
        return 0;
    }

    max = (data[0] & 0x0f) + 1;
    if (data[0] & 0x10) {
        max *= 8;
    }

    seed = data[1];
    flags = (data[2] & 1) ? NGX_HTTP_LLM_PII_PLACEHOLDERS : 0;

    text = data + 3;
    len = size - 3;

    if (len > MAX_TEXT) {
        len = MAX_TEXT;
    }

    /* whole */

    memset(&m, 0, sizeof(m));
    m.alloc = fuzz_alloc;

    check(ngx_http_llm_pii_scan(pii, scratch, text, len, 0, &m) == 0);

    wlen = put(text, 0, len, &m, whole);

    /* as a stream */

    memset(&s, 0, sizeof(s));
    s.matches.alloc = fuzz_alloc;

    olen = 0;

    for (pos = 0; pos < len; pos += n) {
        seed = seed * 1103515245 + 12345;
        n = 1 + (seed >> 16) % max;

        if (n > len - pos) {
            n = len - pos;
        }

        slice = malloc(n);
        check(slice != NULL);
        memcpy(slice, text + pos, n);

        check(ngx_http_llm_pii_stream_write(&s, slice, n) == 0);
        free(slice);

        check(ngx_http_llm_pii_stream_scan(pii, scratch, &s,
                                           flags | (pos + n == len
                                                    ? NGX_HTTP_LLM_PII_FINAL
                                                    : 0))
              == 0);

        check(s.from <= s.cut && s.cut <= s.len);

        olen += put(s.buf, s.from, s.cut, &s.matches, out + olen);

        ngx_http_llm_pii_stream_consume(&s);
    }

    check(olen == wlen && memcmp(out, whole, wlen) == 0);

    fuzz_free_all();

    return 0;
}
