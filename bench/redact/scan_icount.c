
/*
 * Copyright (C) ngx_llm_module authors
 *
 * A fixed amount of scanning work for instruction counts (valgrind
 * --tool=callgrind), which a loaded machine does not disturb as it does
 * timings: every text of the inputs scanned once whole and once as a stream
 * written in 16-byte deltas, all built-in types on.  Only scan_all() is
 * meant to be counted (--toggle-collect=scan_all): compiling the database
 * is left out.
 *
 *   cc -O2 -g -I ngx_llm_module/engines bench/redact/scan_icount.c \
 *       ngx_llm_module/engines/ngx_http_llm_pii.c \
 *       ngx_llm_module/engines/ngx_http_llm_json.c -lhs -lcrypto -o scan_icount
 *   valgrind --tool=callgrind --toggle-collect=scan_all ./scan_icount \
 *       bench/estimator/corpus/{code,english,intl,cjk}.jsonl
 *
 * Inputs: JSON lines (their "text" member) or, for any other file, one
 * text per line (bench/redact/corpus.txt: labels and all).
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ngx_http_llm_json.h"
#include "ngx_http_llm_pii.h"


#define DELTA  16


typedef struct {
    u_char  *data;
    size_t   len;
} text_t;


static void *
icount_alloc(void *data, size_t size)
{
    return malloc(size);               /* a short-lived tool: never freed */
}


static size_t __attribute__((noinline))
scan_all(ngx_http_llm_pii_t *pii, hs_scratch_t *scratch, text_t *texts,
    size_t n)
{
    size_t                       i, pos, k, found;
    ngx_http_llm_pii_matches_t   m;
    ngx_http_llm_pii_stream_t    s;

    found = 0;

    memset(&m, 0, sizeof(m));
    m.alloc = icount_alloc;

    for (i = 0; i < n; i++) {
        if (ngx_http_llm_pii_scan(pii, scratch, texts[i].data, texts[i].len,
                                  0, &m)
            != 0)
        {
            return 0;
        }

        found += m.nelts;

        memset(&s, 0, sizeof(s));
        s.matches.alloc = icount_alloc;

        for (pos = 0; pos < texts[i].len; pos += k) {
            k = (texts[i].len - pos < DELTA) ? texts[i].len - pos : DELTA;

            if (ngx_http_llm_pii_stream_write(&s, texts[i].data + pos, k) != 0
                || ngx_http_llm_pii_stream_scan(pii, scratch, &s,
                                                (pos + k == texts[i].len)
                                                ? NGX_HTTP_LLM_PII_FINAL : 0)
                   != 0)
            {
                return 0;
            }

            ngx_http_llm_pii_stream_consume(&s);
        }
    }

    return found;
}


int
main(int argc, char **argv)
{
    int                   a, bad;
    char                  err[256], *line;
    size_t                n, nalloc, cap, len, bytes, rlen;
    uint32_t              t;
    const u_char         *raw;
    ngx_http_llm_json_t   j;
    FILE                 *f;
    text_t               *texts;
    hs_scratch_t         *scratch;
    ngx_http_llm_pii_t   *pii;

    pii = ngx_http_llm_pii_compile(NGX_HTTP_LLM_PII_ALL, NULL, 0, err,
                                   sizeof(err), &bad);
    scratch = NULL;

    if (pii == NULL || ngx_http_llm_pii_alloc_scratch(pii, &scratch) != 0) {
        fprintf(stderr, "compile: %s\n", pii ? "scratch" : err);
        return 1;
    }

    texts = NULL;
    n = 0;
    nalloc = 0;
    bytes = 0;
    line = NULL;
    cap = 0;

    for (a = 1; a < argc; a++) {
        f = fopen(argv[a], "r");
        if (f == NULL) {
            perror(argv[a]);
            return 1;
        }

        while (getline(&line, &cap, f) > 0) {
            len = strcspn(line, "\n");
            line[len] = '\0';

            if (n == nalloc) {
                nalloc = nalloc ? nalloc * 2 : 1024;
                texts = realloc(texts, nalloc * sizeof(text_t));
                if (texts == NULL) {
                    return 1;
                }
            }

            if (line[0] == '{') {
                /* the "text" member of a JSON line */
                memset(&j, 0, sizeof(j));
                j.data = (u_char *) line;
                j.len = len;

                if (ngx_http_llm_json_parse(&j) != NGX_HTTP_LLM_JSON_OK) {
                    continue;
                }

                j.tokens = malloc(j.ntokens
                                  * sizeof(ngx_http_llm_json_token_t));
                j.max_tokens = j.ntokens;
                ngx_http_llm_json_parse(&j);

                t = ngx_http_llm_json_object_get(&j, 0, "text", 4);

                if (t == NGX_HTTP_LLM_JSON_NONE) {
                    free(j.tokens);
                    continue;
                }

                ngx_http_llm_json_raw_string(&j, t, &raw, &rlen);
                texts[n].data = malloc(rlen + 1);
                texts[n].len = ngx_http_llm_json_decode_string(raw, rlen,
                                                               texts[n].data);
                free(j.tokens);

            } else {
                texts[n].data = (u_char *) strdup(line);
                texts[n].len = len;
            }

            bytes += texts[n].len;
            n++;
        }

        fclose(f);
    }

    printf("%zu texts, %zu bytes, %zu matches\n", n, bytes,
           scan_all(pii, scratch, texts, n));

    hs_free_scratch(scratch);
    ngx_http_llm_pii_free(pii);

    return 0;
}
