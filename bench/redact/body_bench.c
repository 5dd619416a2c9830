
/*
 * Copyright (C) ngx_llm_module authors
 *
 * The request side of redaction on one request body, as
 * ngx_http_llm_redact.c does it, without nginx: the body parsed, its
 * string values decoded and joined (each followed by '\n', those longer
 * than 2 KB apart), one ngx_http_llm_pii_texts() over the joined ones,
 * ngx_http_llm_pii_scan() over the others and over the strings it hit.
 * Prints the CPU time of one request's scan (the minimum over RUNS runs
 * of many requests each) and the values found.
 *
 *   cc -O2 -I ngx_llm_module/engines bench/redact/body_bench.c \
 *       ngx_llm_module/engines/ngx_http_llm_pii.c \
 *       ngx_llm_module/engines/ngx_http_llm_json.c -lhs -lcrypto -o body_bench
 *   node bench/make_body.mjs 16384 > body.json
 *   taskset -c 0 ./body_bench body.json
 *
 * BODY_ONCE=1 scans once (for callgrind: --toggle-collect=scan_body).
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ngx_http_llm_json.h"
#include "ngx_http_llm_pii.h"


#define RUNS       7
#define MIN_TIME   0.3
#define JOIN_LONG  2048
#define MAX_TEXTS  4096


static ngx_http_llm_pii_t          *pii;
static hs_scratch_t                *scratch;
static ngx_http_llm_pii_matches_t   m;
static u_char                      *join;
static size_t                       join_len, ends[MAX_TEXTS], njoined;
static u_char                      *texts[MAX_TEXTS], *alone[MAX_TEXTS];
static size_t                       lens[MAX_TEXTS], alone_lens[MAX_TEXTS];
static size_t                       nalone;
static unsigned long                found;


static void *
bench_alloc(void *data, size_t size)
{
    return malloc(size);
}


static double
now(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);

    return ts.tv_sec + ts.tv_nsec / 1e9;
}


void
scan_body(void)
{
    size_t  k;
    u_char  hit[MAX_TEXTS];
    int     each;

    each = ngx_http_llm_pii_texts(pii, scratch, join, join_len, ends,
                                  njoined, hit, &m);

    for (k = 0; k < njoined; k++) {
        if (hit[k] || each) {
            ngx_http_llm_pii_scan(pii, scratch, texts[k], lens[k], 0, &m);
            found += m.nelts;
        }
    }

    for (k = 0; k < nalone; k++) {
        ngx_http_llm_pii_scan(pii, scratch, alone[k], alone_lens[k], 0, &m);
        found += m.nelts;
    }
}


int
main(int argc, char **argv)
{
    int                   bad, r;
    char                  err[256];
    long                  size;
    size_t                len, i, n, best_n;
    FILE                 *f;
    u_char               *body, *out;
    double                t0, t, best;
    const u_char         *raw;
    ngx_http_llm_json_t   j;

    if (argc < 2) {
        fprintf(stderr, "usage: %s body.json\n", argv[0]);
        return 1;
    }

    f = fopen(argv[1], "r");
    if (f == NULL) {
        perror(argv[1]);
        return 1;
    }

    fseek(f, 0, SEEK_END);
    size = ftell(f);
    fseek(f, 0, SEEK_SET);
    body = malloc(size);

    if (body == NULL || fread(body, 1, size, f) != (size_t) size) {
        return 1;
    }

    fclose(f);

    memset(&j, 0, sizeof(j));
    j.data = body;
    j.len = size;

    if (ngx_http_llm_json_parse(&j) != NGX_HTTP_LLM_JSON_OK) {
        fprintf(stderr, "not JSON\n");
        return 1;
    }

    j.tokens = malloc(j.ntokens * sizeof(ngx_http_llm_json_token_t));
    j.max_tokens = j.ntokens;
    ngx_http_llm_json_parse(&j);

    join = malloc(size + j.ntokens + 1);
    join_len = 0;

    for (i = 0; i < j.ntokens; i++) {
        if (j.tokens[i].type != NGX_HTTP_LLM_JSON_STRING || j.tokens[i].key) {
            continue;
        }

        ngx_http_llm_json_raw_string(&j, (uint32_t) i, &raw, &len);

        if (len <= JOIN_LONG && njoined < MAX_TEXTS) {
            out = join + join_len;
            n = ngx_http_llm_json_decode_string(raw, len, out);
            texts[njoined] = out;
            lens[njoined] = n;
            join_len += n;
            ends[njoined++] = join_len;
            join[join_len++] = '\n';

        } else if (nalone < MAX_TEXTS) {
            out = malloc(len);
            alone_lens[nalone] = ngx_http_llm_json_decode_string(raw, len,
                                                                 out);
            alone[nalone++] = out;
        }
    }

    pii = ngx_http_llm_pii_compile(
              (argc > 2 && strcmp(argv[2], "all") == 0)
              ? NGX_HTTP_LLM_PII_ALL : NGX_HTTP_LLM_PII_DEFAULT,
              NULL, 0, err, sizeof(err), &bad);

    if (pii == NULL || ngx_http_llm_pii_alloc_scratch(pii, &scratch) != 0) {
        fprintf(stderr, "compile: %s\n", pii ? "scratch" : err);
        return 1;
    }

    m.alloc = bench_alloc;

    if (getenv("BODY_ONCE")) {
        scan_body();
        printf("%lu values\n", found);
        return 0;
    }

    best = 1e9;
    best_n = 0;

    for (r = 0; r < RUNS; r++) {
        n = 0;
        t0 = now();

        do {
            scan_body();
            n++;
            t = now() - t0;
        } while (t < MIN_TIME);

        if (t / n < best) {
            best = t / n;
            best_n = n;
        }
    }

    printf("%ld bytes, %zu strings joined, %zu alone: %.2f us a request "
           "(min of %d runs of %zu), %lu values a request\n",
           size, njoined, nalone, best * 1e6, RUNS, best_n,
           found / (unsigned long) best_n / RUNS);

    return 0;
}
