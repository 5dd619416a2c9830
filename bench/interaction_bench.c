
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
 * "four lanes" is the product's own hash, ngx_http_llm_memo_hash64()
 * (engines/ngx_http_llm_memo_hash.h, what ngx_http_llm_tokenizer.c's memo
 * calls on a CPU without AES; with AES it calls ngx_http_llm_memo_hash_aes(),
 * measured by bench/allon_bench.c, 7t); "one chain" is hash_chain_ref(), a
 * reference copy of the hash before 7m, kept only to compare with.
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <time.h>
#include <openssl/sha.h>

#include "ngx_http_llm_json.h"
#include "ngx_http_llm_memo_hash.h"


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


/* a reference copy of the memo hash before 7m (one chain), kept to compare */

static uint64_t
hash_chain_ref(const u_char *p, size_t len)
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
            h ^= hash_chain_ref(out + o, l[i]);
            o += l[i];
        }

        t[2] = now();

        for (i = 0, o = 0; i < nt; i++) {
            h ^= ngx_http_llm_memo_hash64(seed, out + o, l[i]);
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
