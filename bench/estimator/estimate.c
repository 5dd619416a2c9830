
/*
 * Copyright (C) ngx_llm_module authors
 *
 * Runs ngx_http_llm_estimate_tokens() over texts read from stdin.
 *
 * Input: records "<length in bytes>\n<bytes>", back to back.
 *
 *   estimate          one estimate per record, one per line
 *   estimate -b       throughput: MB/s over all records, and ns per call
 *   estimate_dump     (built with -DESTIMATE_DUMP, which includes the .c) the
 *                     pieces the scanner cut and their features, one line
 *                     each before the record's estimate, for fit.mjs:
 *                     "record start end kind lead contraction upper
 *                      letters[11] ascii sym[3] nl cost"
 *
 * Build: cc -O2 -I ngx_llm_module/engines bench/estimator/estimate.c \
 *            ngx_llm_module/engines/ngx_http_llm_tokens.c -o build/estimate
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sys/types.h>

#ifdef ESTIMATE_DUMP

static size_t  estimate_record;

#define NGX_HTTP_LLM_TOKENS_TRACE(text, start, end, pc, cost)                 \
    estimate_trace(text, start, end, pc, cost)

static void estimate_trace(const u_char *text, const u_char *start,
    const u_char *end, const void *piece, unsigned cost);

#include "ngx_http_llm_tokens.c"

#else

#include "ngx_http_llm_tokens.h"

#endif


typedef struct {
    u_char   *data;
    size_t    len;
} estimate_text_t;


static estimate_text_t *estimate_read(size_t *n);
static void estimate_free(estimate_text_t *texts, size_t n);
static double estimate_now(void);


int
main(int argc, char **argv)
{
    int               bench;
    size_t            i, n, total, iters, calls, sink;
    double            t0, t1;
    estimate_text_t  *texts;

    bench = argc > 1 && strcmp(argv[1], "-b") == 0;

    texts = estimate_read(&n);

    if (!bench) {
        for (i = 0; i < n; i++) {

#ifdef ESTIMATE_DUMP
            estimate_record = i;
#endif

            printf("%zu\n", ngx_http_llm_estimate_tokens(texts[i].data,
                                                         texts[i].len));
        }

        estimate_free(texts, n);

        return 0;
    }

    total = 0;

    for (i = 0; i < n; i++) {
        total += texts[i].len;
    }

    /* whole texts: at least 1 s */

    sink = 0;
    iters = 0;
    t0 = estimate_now();

    do {
        for (i = 0; i < n; i++) {
            sink += ngx_http_llm_estimate_tokens(texts[i].data, texts[i].len);
        }

        iters++;
        t1 = estimate_now();

    } while (t1 - t0 < 1.0);

    printf("bytes %zu records %zu: %.1f MB/s", total, n,
           (double) total * iters / (t1 - t0) / 1e6);

    /* short fragments, as streamed deltas: the first 6 bytes of each text */

    calls = 0;
    t0 = estimate_now();

    do {
        for (i = 0; i < n; i++) {
            sink += ngx_http_llm_estimate_tokens(texts[i].data,
                                             texts[i].len < 6 ? texts[i].len
                                                              : 6);
        }

        calls += n;
        t1 = estimate_now();

    } while (t1 - t0 < 1.0);

    printf(", %.1f ns per 6-byte call (checksum %zu)\n",
           (t1 - t0) * 1e9 / calls, sink);

    estimate_free(texts, n);

    return 0;
}


static estimate_text_t *
estimate_read(size_t *n)
{
    size_t            len, cap, count;
    estimate_text_t  *texts, *t;

    texts = NULL;
    cap = 0;
    count = 0;

    while (scanf("%zu", &len) == 1) {

        if (getchar() != '\n') {
            fprintf(stderr, "estimate: bad record header\n");
            exit(2);
        }

        if (count == cap) {
            cap = cap ? cap * 2 : 1024;
            t = realloc(texts, cap * sizeof(estimate_text_t));

            if (t == NULL) {
                fprintf(stderr, "estimate: out of memory\n");
                exit(2);
            }

            texts = t;
        }

        /* a private copy of exactly len bytes: overreads show in ASan */

        texts[count].data = malloc(len ? len : 1);
        texts[count].len = len;

        if (texts[count].data == NULL
            || fread(texts[count].data, 1, len, stdin) != len)
        {
            fprintf(stderr, "estimate: short record\n");
            exit(2);
        }

        count++;
    }

    *n = count;

    return texts;
}


static void
estimate_free(estimate_text_t *texts, size_t n)
{
    size_t  i;

    for (i = 0; i < n; i++) {
        free(texts[i].data);
    }

    free(texts);
}


static double
estimate_now(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);

    return ts.tv_sec + ts.tv_nsec / 1e9;
}


#ifdef ESTIMATE_DUMP

static void
estimate_trace(const u_char *text, const u_char *start, const u_char *end,
    const void *piece, unsigned cost)
{
    size_t                              i;
    const ngx_http_llm_tokens_piece_t  *pc;

    pc = piece;

    printf("%zu %zu %zu %u %u %u %u", estimate_record,
           (size_t) (start - text), (size_t) (end - text), pc->kind,
           pc->lead, pc->contraction, pc->upper);

    for (i = 0; i < NGX_HTTP_LLM_TS_N; i++) {
        printf(" %u", pc->letters[i]);
    }

    printf(" %u %u %u %u %u %u\n", pc->ascii, pc->sym[0], pc->sym[1],
           pc->sym[2], pc->nl, cost);
}

#endif
