
/*
 * The remote embedder's scan: what a semantic lookup costs in comparisons
 * when its bucket is full (NGX_HTTP_LLM_CACHE_SCAN = 256 entries compared,
 * the most recent first), at the dimensions of common embedding models.
 * The comparison is the module's own (ngx_http_llm_embed_cosine_i8), built
 * with the flags of Debian's nginx (-O2).
 *
 *   cc -O2 -g -I ngx_llm_module/engines bench/cache/vec_scan.c \
 *       ngx_llm_module/engines/ngx_http_llm_embed.c -o vec_scan
 *   ./vec_scan [ENTRIES]
 *
 * Vectors are random (normalized to the largest component, rounded to
 * signed bytes as the module does); the threshold is 0.9, so nearly every
 * comparison is a miss and costs the whole dot product (the worst case).
 * Prints "dim entries ns_per_scan ns_per_comparison" per dimension, the
 * median of 31 runs.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ngx_http_llm_embed.h"


#define RUNS  31


static uint64_t
now_ns(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);

    return (uint64_t) ts.tv_sec * 1000000000 + ts.tv_nsec;
}


static int
cmp_u64(const void *a, const void *b)
{
    uint64_t  x = *(const uint64_t *) a, y = *(const uint64_t *) b;

    return (x > y) - (x < y);
}


static uint32_t
fill(int8_t *v, size_t dim)
{
    size_t    i;
    uint32_t  n2;
    double    x[4096], max;

    max = 0;

    for (i = 0; i < dim; i++) {
        x[i] = (double) rand() / RAND_MAX - 0.5;

        if (x[i] > max || -x[i] > max) {
            max = x[i] > 0 ? x[i] : -x[i];
        }
    }

    n2 = 0;

    for (i = 0; i < dim; i++) {
        long  q = (long) (x[i] * 127 / max + (x[i] < 0 ? -0.5 : 0.5));

        v[i] = (int8_t) q;
        n2 += (uint32_t) (q * q);
    }

    return n2;
}


int
main(int argc, char **argv)
{
    int                run;
    size_t             d, e, entries, dim;
    int8_t            *store, query[4096];
    uint32_t          *norms, qn;
    uint64_t           t0, runs[RUNS];
    volatile double    sink;
    static const size_t  dims[] = { 256, 768, 1024, 1536, 3072, 4096 };

    entries = (argc > 1) ? (size_t) atoi(argv[1]) : 256;

    store = malloc(entries * 4096);
    norms = malloc(entries * sizeof(uint32_t));

    if (store == NULL || norms == NULL) {
        return 1;
    }

    srand(1);
    sink = 0;

    printf("dim entries ns_per_scan ns_per_comparison\n");

    for (d = 0; d < sizeof(dims) / sizeof(dims[0]); d++) {
        dim = dims[d];

        for (e = 0; e < entries; e++) {
            norms[e] = fill(store + e * dim, dim);
        }

        qn = fill(query, dim);

        for (run = 0; run < RUNS; run++) {
            t0 = now_ns();

            for (e = 0; e < entries; e++) {
                sink += ngx_http_llm_embed_cosine_i8(query, qn,
                                                     store + e * dim,
                                                     norms[e], dim, 0.9);
            }

            runs[run] = now_ns() - t0;
        }

        qsort(runs, RUNS, sizeof(uint64_t), cmp_u64);

        printf("%zu %zu %llu %.1f\n", dim, entries,
               (unsigned long long) runs[RUNS / 2],
               (double) runs[RUNS / 2] / entries);
    }

    return sink > 1e300;
}
