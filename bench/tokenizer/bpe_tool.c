
/*
 * Copyright (C) ngx_llm_module authors
 *
 * Drives ngx_http_llm_bpe.c outside nginx (t/018-tokens-exact.t,
 * bench/tokenizer/run.sh):
 *
 *   bpe_tool count ENCODING RANKFILE FRAMES
 *       FRAMES holds records (4-byte little-endian length, then the bytes);
 *       prints the count of each record, one per line
 *
 *   bpe_tool estimate ENCODING RANKFILE FRAMES
 *       the same with the estimator (ngx_http_llm_tokens.c)
 *
 *   bpe_tool bench ENCODING RANKFILE FRAMES [SECONDS]
 *       counts all records again and again for SECONDS of CPU time (default
 *       2) and prints MB/s of the exact count and of the estimator on the
 *       same records, the cache hit rate and the memory of the tables
 *
 *   cc -O2 -I ngx_llm_module/engines bench/tokenizer/bpe_tool.c \
 *       ngx_llm_module/engines/ngx_http_llm_bpe.c ngx_llm_module/engines/ngx_http_llm_tokens.c \
 *       -lpcre2-8 -o build/tokenizer/bpe_tool
 */


#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ngx_http_llm_bpe.h"
#include "ngx_http_llm_tokens.h"


#ifdef NGX_HTTP_LLM_TOKENS_PARTS

/*
 * "bpe_tool parts ...": the estimator's language and its costs (1/256
 * token) of non-ASCII words, ASCII words and the rest before the
 * language's scale, for
 * bench/tokenizer/fit_lang.py; built with ngx_http_llm_tokens.c included.
 */

static unsigned  parts_lang;
static uint64_t  parts_words, parts_ascii, parts_other;

#undef NGX_HTTP_LLM_TOKENS_PARTS
#define NGX_HTTP_LLM_TOKENS_PARTS(l, w, a, o)                                 \
    parts_lang = l; parts_words = w; parts_ascii = a; parts_other = o

#include "ngx_http_llm_tokens.c"

#endif


typedef struct {
    u_char  *data;
    size_t   len;
} rec_t;


static u_char *
read_file(const char *path, size_t *len)
{
    FILE    *f;
    long     n;
    u_char  *buf;

    f = fopen(path, "rb");
    if (f == NULL) {
        perror(path);
        exit(2);
    }

    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);

    buf = malloc(n + 1);
    if (buf == NULL || fread(buf, 1, n, f) != (size_t) n) {
        fprintf(stderr, "%s: read failed\n", path);
        exit(2);
    }

    fclose(f);
    *len = n;

    return buf;
}


static rec_t *
read_frames(const char *path, size_t *nrec)
{
    size_t    len, off, n, cap;
    u_char   *buf;
    uint32_t  l;
    rec_t    *r;

    buf = read_file(path, &len);

    cap = 1024;
    r = malloc(cap * sizeof(rec_t));
    n = 0;

    for (off = 0; off + 4 <= len; off += l) {
        memcpy(&l, buf + off, 4);
        off += 4;

        if (off + l > len) {
            fprintf(stderr, "%s: truncated record\n", path);
            exit(2);
        }

        if (n == cap) {
            cap *= 2;
            r = realloc(r, cap * sizeof(rec_t));
        }

        /* an exactly sized copy, so that a read past the end shows */
        r[n].data = malloc(l ? l : 1);
        memcpy(r[n].data, buf + off, l);
        r[n].len = l;
        n++;
    }

    free(buf);
    *nrec = n;

    return r;
}


static double
cpu_seconds(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);

    return ts.tv_sec + ts.tv_nsec / 1e9;
}


int
main(int argc, char **argv)
{
    char                 err[256];
    size_t               len, nrec, i, line, bytes, n, lookups, hits;
    double               t0, t, secs, sum;
    u_char              *ranks;
    rec_t               *rec;
    ngx_http_llm_bpe_t  *bpe;

    if (argc < 5) {
        fprintf(stderr, "usage: bpe_tool count|bench ENCODING RANKFILE "
                "FRAMES [SECONDS]\n");
        return 2;
    }

    ranks = read_file(argv[3], &len);

    t0 = cpu_seconds();
    bpe = ngx_http_llm_bpe_load((u_char *) argv[2], strlen(argv[2]), ranks,
                                len, err, sizeof(err), &line);
    t = cpu_seconds() - t0;

    if (bpe == NULL) {
        fprintf(stderr, "%s: line %zu: %s\n", argv[3], line, err);
        return 1;
    }

    free(ranks);

    rec = read_frames(argv[4], &nrec);

#ifdef NGX_HTTP_LLM_TOKENS_PARTS
    if (strcmp(argv[1], "parts") == 0) {
        for (i = 0; i < nrec; i++) {
            parts_lang = 0;
            parts_words = 0;
            parts_ascii = 0;
            parts_other = 0;
            n = ngx_http_llm_estimate_tokens(rec[i].data, rec[i].len);
            printf("%zu %u %llu %llu %llu\n", n, parts_lang,
                   (unsigned long long) parts_words,
                   (unsigned long long) parts_ascii,
                   (unsigned long long) parts_other);
        }

        return 0;
    }
#endif

    if (strcmp(argv[1], "estimate") == 0) {
        for (i = 0; i < nrec; i++) {
            printf("%zu\n", ngx_http_llm_estimate_tokens(rec[i].data,
                                                          rec[i].len));
        }

        ngx_http_llm_bpe_free(bpe);
        return 0;
    }

    if (strcmp(argv[1], "count") == 0) {
        for (i = 0; i < nrec; i++) {
            n = ngx_http_llm_bpe_count(bpe, rec[i].data, rec[i].len);
            printf("%zd\n", (ssize_t) n);
            free(rec[i].data);
        }

        free(rec);
        ngx_http_llm_bpe_free(bpe);
        return 0;
    }

    secs = (argc > 5) ? atof(argv[5]) : 2.0;

    bytes = 0;
    for (i = 0; i < nrec; i++) {
        bytes += rec[i].len;
    }

    printf("%s: %zu tokens loaded in %.0f ms; tables %.1f MB (shared), "
           "scratch %.2f MB per worker\n", argv[2],
           ngx_http_llm_bpe_tokens(bpe), t * 1000,
           ngx_http_llm_bpe_memory(bpe) / 1048576.0,
           ngx_http_llm_bpe_worker_memory(bpe) / 1048576.0);

    /* exact: the first pass has a cold cache */

    sum = 0;
    t0 = cpu_seconds();
    for (i = 0; i < nrec; i++) {
        sum += ngx_http_llm_bpe_count(bpe, rec[i].data, rec[i].len);
    }
    t = cpu_seconds() - t0;

    printf("  records %zu, %.2f MB, %.0f tokens\n", nrec, bytes / 1e6, sum);
    printf("  exact, cold cache: %.1f MB/s\n", bytes / t / 1e6);

    n = 0;
    t0 = cpu_seconds();
    do {
        for (i = 0; i < nrec; i++) {
            ngx_http_llm_bpe_count(bpe, rec[i].data, rec[i].len);
        }
        n++;
        t = cpu_seconds() - t0;
    } while (t < secs);

    ngx_http_llm_bpe_stats(bpe, &lookups, &hits);

    printf("  exact, warm cache: %.1f MB/s (cache hits %.1f%%)\n",
           bytes * (double) n / t / 1e6,
           lookups ? 100.0 * hits / lookups : 0.0);

    n = 0;
    t0 = cpu_seconds();
    do {
        for (i = 0; i < nrec; i++) {
            ngx_http_llm_estimate_tokens(rec[i].data, rec[i].len);
        }
        n++;
        t = cpu_seconds() - t0;
    } while (t < secs / 2);

    printf("  estimator:         %.1f MB/s\n", bytes * (double) n / t / 1e6);

    ngx_http_llm_bpe_free(bpe);

    return 0;
}
