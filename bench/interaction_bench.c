
/*
 * Copyright (C) ngx_llm_module authors
 *
 * The per-request work that all features on used to do more than once, on
 * one core, natively (callgrind counts instructions, not these times: it
 * lacks SHA-NI and counts a "rep movsb" copy byte by byte): decoding a
 * body's prompt texts, the token memo's hash over them (one chain of
 * multiplies, as before 7m, and four lanes, as now), a copy of the
 * body, SHA-256 over it (the cache key's order of magnitude).  The minimum
 * of REPS runs of each, so that a loaded machine shows the cost of the
 * code, not of the load.
 *
 *   node bench/make_body.mjs 16384 0 > /tmp/body-16384.json
 *   cc -O2 -I ngx_llm_module/engines bench/interaction_bench.c \
 *       ngx_llm_module/engines/ngx_http_llm_json.c -lcrypto \
 *       -o build/interaction_bench
 *   ./build/interaction_bench /tmp/body-16384.json
 *
 * The memo hashes are copies of ngx_http_llm_memo_hash()
 * (ngx_llm_module/ngx_http_llm_tokenizer.c), before and after.
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <time.h>
#include <openssl/sha.h>

#include "ngx_http_llm_json.h"


#define REPS  2000
#define MUL   0x9e3779b97f4a7c15ULL
#define STEP(h, w)  (h) = ((h) ^ (w)) * MUL; (h) ^= (h) >> 32


static const uint64_t  seed = 0x0123456789abcdefULL;


static uint64_t
fmix(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    x ^= x >> 33;
    return x;
}


static uint64_t
hash_chain(const u_char *p, size_t len)
{
    uint64_t       h, w;
    const u_char  *last;

    h = seed ^ ((uint64_t) len * 0xc2b2ae3d27d4eb4fULL);
    last = p + (len & ~(size_t) 7);

    for ( /* void */ ; p < last; p += 8) {
        memcpy(&w, p, 8);
        STEP(h, w);
    }

    if (len & 7) {
        w = 0;
        memcpy(&w, p, len & 7);
        STEP(h, w);
    }

    return fmix(h);
}


static uint64_t
hash_lanes(const u_char *p, size_t len)
{
    size_t         i, n;
    uint64_t       h[4], w, x;
    const u_char  *last;

    x = seed ^ ((uint64_t) len * 0xc2b2ae3d27d4eb4fULL);
    h[0] = x;
    h[1] = x ^ 0x8ebc6af09c88c6e3ULL;
    h[2] = x ^ 0x589965cc75374cc3ULL;
    h[3] = x ^ 0x1d8e4e27c47d124fULL;

    last = p + (len & ~(size_t) 31);

    for ( /* void */ ; p < last; p += 32) {
        memcpy(&w, p, 8);
        STEP(h[0], w);
        memcpy(&w, p + 8, 8);
        STEP(h[1], w);
        memcpy(&w, p + 16, 8);
        STEP(h[2], w);
        memcpy(&w, p + 24, 8);
        STEP(h[3], w);
    }

    n = (len & 31) >> 3;

    for (i = 0; i < n; i++, p += 8) {
        memcpy(&w, p, 8);
        STEP(h[i], w);
    }

    if (len & 7) {
        w = 0;
        memcpy(&w, p, len & 7);
        STEP(h[n], w);
    }

    x = h[0];
    STEP(x, h[1]);
    STEP(x, h[2]);
    STEP(x, h[3]);

    return fmix(x);
}


static double
now(void)
{
    struct timespec  t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e9 + t.tv_nsec;
}


int
main(int argc, char **argv)
{
    int                i, nt, rep, k;
    FILE              *f;
    size_t             n, l[256], o, tot;
    u_char            *p, *q, md[SHA256_DIGEST_LENGTH];
    double             t[6], best[5];
    uint64_t           h;
    const u_char      *s[256];
    volatile uint64_t  sink;

    static u_char      body[1 << 20], out[1 << 20], copy[1 << 20];
    static const char *names[] = { "decode the texts", "memo hash, one chain",
                                   "memo hash, four lanes", "copy the body",
                                   "SHA-256 of the body" };

    if (argc != 2 || (f = fopen(argv[1], "rb")) == NULL) {
        fprintf(stderr, "usage: %s BODY.json\n", argv[0]);
        return 1;
    }

    n = fread(body, 1, sizeof(body) - 1, f);
    fclose(f);
    body[n] = '\0';

    /* the prompt's texts: every "content" string */

    nt = 0;

    for (p = body; nt < 256 && (p = (u_char *) strstr((char *) p,
                                                       "\"content\":\""));
         /* void */)
    {
        p += 11;

        for (q = p; *q && *q != '"'; q++) {
            if (*q == '\\' && q[1]) {
                q++;
            }
        }

        s[nt] = p;
        l[nt++] = q - p;
        p = q;
    }

    for (k = 0; k < 5; k++) {
        best[k] = 1e18;
    }

    sink = 0;

    for (rep = 0; rep < REPS; rep++) {
        t[0] = now();

        tot = 0;
        for (i = 0; i < nt; i++) {
            tot += ngx_http_llm_json_decode_string(s[i], l[i], out + tot);
        }

        t[1] = now();

        h = 0;
        for (i = 0, o = 0; i < nt; i++) {
            h ^= hash_chain(out + o, l[i]);
            o += l[i];
        }

        t[2] = now();

        for (i = 0, o = 0; i < nt; i++) {
            h ^= hash_lanes(out + o, l[i]);
            o += l[i];
        }

        t[3] = now();

        memcpy(copy, body, n);

        t[4] = now();

        SHA256(body, n, md);

        t[5] = now();

        sink += h + tot + copy[rep % n] + md[0];

        for (k = 0; k < 5; k++) {
            if (t[k + 1] - t[k] < best[k]) {
                best[k] = t[k + 1] - t[k];
            }
        }
    }

    printf("%s: %zu bytes, %d texts; the minimum of %d runs:\n", argv[1], n,
           nt, REPS);

    for (k = 0; k < 5; k++) {
        printf("  %-24s %7.2f us\n", names[k], best[k] / 1e3);
    }

    return sink == 42;
}
