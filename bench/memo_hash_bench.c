
/*
 * Copyright (C) ngx_llm_module authors
 *
 * The token memo's hash (engines/ngx_http_llm_memo_hash.h) over one text,
 * ROUNDS times (a byte of it changed each round), for instruction counts
 * under callgrind: (Ir of 11 rounds - Ir of 1) / 10 is one hash
 * (docs/benchmarks.md, 7za).  Build it against two trees of the
 * engines to compare them:
 *
 *   cc -O2 -I ngx_llm_module/engines bench/memo_hash_bench.c \
 *       -o build/memo_hash_bench
 *   for n in 1 11; do
 *       valgrind --tool=callgrind --callgrind-out-file=/dev/null \
 *           build/memo_hash_bench aes 1024 $n 2>&1 | grep refs
 *   done
 *
 * argv[1]: "aes" (the AES-NI form; x86-64 with AES only) or "portable",
 * argv[2]: the text's length, argv[3]: ROUNDS.  Prints the time a hash
 * too (a hint only: bench/allon_bench.c measures the hash natively).
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/types.h>

#include "ngx_http_llm_memo_hash.h"


int
main(int argc, char **argv)
{
    long             r, n;
    size_t           len, i;
    u_char          *p;
    uint64_t         h;
    struct timespec  t0, t1;

    if (argc < 4) {
        fprintf(stderr, "usage: %s aes|portable LENGTH ROUNDS\n", argv[0]);
        return 2;
    }

    len = (size_t) atol(argv[2]);
    n = atol(argv[3]);

    p = malloc(len ? len : 1);
    if (p == NULL || n < 1) {
        return 2;
    }

    for (i = 0; i < len; i++) {
        p[i] = (u_char) ('a' + i % 26);
    }

#if !(NGX_HTTP_LLM_MEMO_AES)
    if (argv[1][0] == 'a') {
        fprintf(stderr, "the AES-NI form is not built here\n");
        return 2;
    }
#endif

    h = 0;

    clock_gettime(CLOCK_MONOTONIC, &t0);

    for (r = 0; r < n; r++) {
        if (len) {
            p[r % len] ^= 1;
        }

#if (NGX_HTTP_LLM_MEMO_AES)
        if (argv[1][0] == 'a') {
            h ^= ngx_http_llm_memo_hash_aes(0x0123456789abcdefULL + r, p, len);
            continue;
        }
#endif

        h ^= ngx_http_llm_memo_hash64(0x0123456789abcdefULL + r, p, len);
    }

    clock_gettime(CLOCK_MONOTONIC, &t1);

    printf("%s, %zu bytes: %.1f ns a hash (%016llx)\n", argv[1], len,
           ((t1.tv_sec - t0.tv_sec) * 1e9 + (t1.tv_nsec - t0.tv_nsec)) / n,
           (unsigned long long) h);

    free(p);

    return 0;
}
