
/*
 * Copyright (C) ngx_llm_module authors
 *
 * Every text scanned whole and as a stream of 1, 4 and 7-byte deltas
 * (the engine with every type on); prints the texts whose stream output
 * differs from the whole text's (each match as "[TYPE]").  Input: the
 * format of scan_cases.c ("LEN\n" then LEN bytes, repeated).  The
 * differential fuzzer (fuzz/pii_fuzz.c) does the same on random inputs;
 * this runs it over a corpus, e.g. every secret text of the public
 * corpus' fit half:
 *
 *   cc -O1 -I ngx_llm_module/engines bench/redact/stream_whole.c \
 *       ngx_llm_module/engines/ngx_http_llm_pii.c -lhs -lcrypto -o stream_whole
 *   python3 -c 'import json,glob,hashlib,sys
 *   for f in sorted(glob.glob("../shared/eval/pii/secrets_*.jsonl")):
 *       for l in open(f):
 *           r = json.loads(l)
 *           if hashlib.sha256(r["id"].encode()).digest()[0] % 2: continue
 *           t = r["text"].encode(); sys.stdout.buffer.write(b"%d\n" % len(t) + t)
 *   ' | ./stream_whole
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ngx_http_llm_pii.h"


static void *
alloc(void *data, size_t size)
{
    return malloc(size);                /* a check: never freed */
}


/* text with each match as "[TYPE]" (tail matches: nothing) */

static size_t
put(const u_char *t, size_t from, size_t to, ngx_http_llm_pii_matches_t *m,
    u_char *out)
{
    u_char  *p;
    size_t   i, pos;

    p = out;
    pos = from;

    for (i = 0; i < m->nelts; i++) {
        if (m->elts[i].start < from || m->elts[i].end > to) {
            continue;
        }

        memcpy(p, t + pos, m->elts[i].start - pos);
        p += m->elts[i].start - pos;

        if (!m->elts[i].tail) {
            *p++ = '[';
            *p++ = (u_char) ('A' + m->elts[i].type);
            *p++ = ']';
        }

        pos = m->elts[i].end;
    }

    memcpy(p, t + pos, to - pos);

    return (p - out) + (to - pos);
}


int
main(void)
{
    int                          bad, fails, total;
    char                         err[256];
    size_t                       len, wl, ol, pos, n, step;
    hs_scratch_t                *scratch;
    ngx_http_llm_pii_t          *pii;
    ngx_http_llm_pii_stream_t    s;
    ngx_http_llm_pii_matches_t   m;

    static u_char  buf[1 << 16], whole[1 << 18], out[1 << 18];

    pii = ngx_http_llm_pii_compile(NGX_HTTP_LLM_PII_ALL, NULL, 0, err,
                                   sizeof(err), &bad);
    scratch = NULL;

    if (pii == NULL || ngx_http_llm_pii_alloc_scratch(pii, &scratch) != 0) {
        fprintf(stderr, "compile: %s\n", err);
        return 1;
    }

    fails = 0;
    total = 0;

    while (scanf("%zu", &len) == 1) {
        if (getchar() != '\n' || len > sizeof(buf)
            || fread(buf, 1, len, stdin) != len)
        {
            break;
        }

        memset(&m, 0, sizeof(m));
        m.alloc = alloc;

        if (ngx_http_llm_pii_scan(pii, scratch, buf, len, 0, &m) != 0) {
            return 1;
        }

        wl = put(buf, 0, len, &m, whole);

        for (step = 1; step <= 7; step += 3) {
            memset(&s, 0, sizeof(s));
            s.matches.alloc = alloc;
            ol = 0;

            for (pos = 0; pos < len; pos += n) {
                n = (step < len - pos) ? step : len - pos;

                if (ngx_http_llm_pii_stream_write(&s, buf + pos, n) != 0
                    || ngx_http_llm_pii_stream_scan(pii, scratch, &s,
                                                    (pos + n == len)
                                                    ? NGX_HTTP_LLM_PII_FINAL
                                                    : 0)
                       != 0)
                {
                    return 1;
                }

                ol += put(s.buf, s.from, s.cut, &s.matches, out + ol);
                ngx_http_llm_pii_stream_consume(&s);
            }

            total++;

            if (ol != wl || memcmp(out, whole, wl) != 0) {
                fails++;
                printf("DIFF step %zu\n  whole:  %.*s\n  stream: %.*s\n",
                       step, (int) wl, whole, (int) ol, out);
            }
        }
    }

    printf("%d/%d stream runs differ\n", fails, total);

    return fails != 0;
}
