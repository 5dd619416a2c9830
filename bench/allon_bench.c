
/*
 * Copyright (C) ngx_llm_module authors
 *
 * The engines' share of all features on, natively, on one core: what
 * callgrind cannot weigh (SIMD width, the latency of a chain of multiplies
 * or AES rounds).  For a request body: the JSON scan of the whole body
 * (ngx_http_llm_json_parse(), as llm_gateway alone), decoding its strings
 * (as redaction's join of the texts), the token memo's hash over the
 * decoded texts of 256 bytes or more (the portable form, and the AES-NI
 * form where it is built), SHA-256 of the decoded texts with a 5-byte
 * header each as the cache key hashes them (copied into a gathering buffer
 * of 4 KB, as ngx_http_llm_cache_key.c does, and each hashed where it is,
 * the alternative: slower, 7t).  The minimum
 * of REPS runs of each, so that a
 * loaded machine shows the cost of the code, not of the load.  Build it
 * against two trees of the engines to compare them (docs/benchmarks.md,
 * 7t):
 *
 *   node bench/make_body.mjs 16384 0 > /tmp/body-16384.json
 *   cc -O2 -I ngx_llm_module/engines bench/allon_bench.c \
 *       ngx_llm_module/engines/ngx_http_llm_json.c -lcrypto \
 *       -o build/allon_bench
 *   ./build/allon_bench /tmp/body-16384.json
 *
 * With -DALLON_PII (and -lhs): also redaction's search for characters to
 * normalise over the decoded texts joined (ngx_http_llm_pii_norm_next(),
 * static: ngx_http_llm_pii.c is included, not linked).
 */


#define OPENSSL_SUPPRESS_DEPRECATED

#if (ALLON_PII)
#include "ngx_http_llm_pii.c"       /* first: it defines _GNU_SOURCE */
#endif

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <time.h>
#include <openssl/sha.h>

#include "ngx_http_llm_json.h"
#include "ngx_http_llm_memo_hash.h"


#ifndef ALLON_PII
#define ALLON_PII  0
#endif

#define REPS    3000
#define TOKENS  65536


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
    int                  rep, k, nk;
    FILE                *f;
    size_t               n, o, tot, len[4096];
    double               t[8], best[7];
    u_char               head[5], gather[4096], md[SHA256_DIGEST_LENGTH];
    size_t               g;
    SHA256_CTX           sha;
    uint32_t             i, nt;
    uint64_t             h;
    const u_char        *raw;
    ngx_http_llm_json_t  p;
    volatile uint64_t    sink;

    static u_char                     body[1 << 20], out[1 << 20];
    static ngx_http_llm_json_token_t  tokens[TOKENS];
    static const char  *names[] = { "JSON scan of the body",
                                    "decode the strings",
                                    "memo hash, portable",
                                    "memo hash, AES-NI",
                                    "SHA-256, texts gathered",
                                    "SHA-256, texts where they are",
                                    "normalisation's search" };

    if (argc != 2 || (f = fopen(argv[1], "rb")) == NULL) {
        fprintf(stderr, "usage: %s BODY.json\n", argv[0]);
        return 1;
    }

    n = fread(body, 1, sizeof(body) - 1, f);
    fclose(f);

#if (NGX_HTTP_LLM_MEMO_AES)
    nk = __builtin_cpu_supports("aes") ? 4 : 3;
#else
    nk = 3;
#endif

    for (k = 0; k < 7; k++) {
        best[k] = 1e18;
    }

    sink = 0;
    nt = 0;

    for (rep = 0; rep < REPS; rep++) {
        t[0] = now();

        memset(&p, 0, sizeof(p));
        p.data = body;
        p.len = n;
        p.tokens = tokens;
        p.max_tokens = TOKENS;

        if (ngx_http_llm_json_parse(&p) != NGX_HTTP_LLM_JSON_OK) {
            fprintf(stderr, "%s: %s at %zu\n", argv[1], p.err, p.err_offset);
            return 1;
        }

        t[1] = now();

        tot = 0;
        nt = 0;

        for (i = 0; i < p.ntokens; i++) {
            if (tokens[i].type != NGX_HTTP_LLM_JSON_STRING || tokens[i].key) {
                continue;
            }

            ngx_http_llm_json_raw_string(&p, i, &raw, &o);

            if (tokens[i].escaped) {
                o = ngx_http_llm_json_decode_string(raw, o, out + tot);

            } else {
                memcpy(out + tot, raw, o);
            }

            if (nt < 4096) {
                len[nt++] = o;
            }

            tot += o;
        }

        t[2] = now();

        h = 0;

        for (i = 0, o = 0; i < nt; o += len[i++]) {
            if (len[i] >= 256) {
                h ^= ngx_http_llm_memo_hash64(0x0123456789abcdefULL, out + o,
                                              len[i]);
            }
        }

        t[3] = now();

#if (NGX_HTTP_LLM_MEMO_AES)
        if (nk == 4) {
            for (i = 0, o = 0; i < nt; o += len[i++]) {
                if (len[i] >= 256) {
                    h ^= ngx_http_llm_memo_hash_aes(0x0123456789abcdefULL,
                                                    out + o, len[i]);
                }
            }
        }
#endif

        t[4] = now();

        /* the texts into 4 KB pieces, as ngx_http_llm_cache_hash_escaped() */

        SHA256_Init(&sha);
        g = 0;

        for (i = 0, o = 0; i < nt; o += len[i++]) {
            if (len[i] + 5 > sizeof(gather) - g) {
                SHA256_Update(&sha, gather, g);
                g = 0;
            }

            gather[g] = 's';
            memcpy(gather + g + 1, &len[i], 4);
            memcpy(gather + g + 5, out + o, len[i]);
            g += 5 + len[i];
        }

        SHA256_Update(&sha, gather, g);
        SHA256_Final(md, &sha);
        h ^= md[0];

        t[5] = now();

        /* each header and text hashed where it is: two calls a text */

        SHA256_Init(&sha);

        for (i = 0, o = 0; i < nt; o += len[i++]) {
            head[0] = 's';
            memcpy(head + 1, &len[i], 4);
            SHA256_Update(&sha, head, 5);
            SHA256_Update(&sha, out + o, len[i]);
        }

        SHA256_Final(md, &sha);
        h ^= md[0];

        t[6] = now();

#if (ALLON_PII)
        {
            u_char  c;
            size_t  cl, x;

            for (x = 0; x < tot; x += cl) {
                x = ngx_http_llm_pii_norm_next(out, x, tot, &cl, &c);
                h += x;

                if (x == tot) {
                    break;
                }
            }
        }
#endif

        t[7] = now();

        sink += h + tot + p.ntokens;

        for (k = 0; k < 7; k++) {
            if (k == 3 && nk == 3) {
                continue;
            }

            if (t[k + 1] - t[k] < best[k]) {
                best[k] = t[k + 1] - t[k];
            }
        }
    }

    printf("%s: %zu bytes, %u texts; the minimum of %d runs:\n", argv[1], n,
           nt, REPS);

    for (k = 0; k < 7; k++) {
        if ((k != 3 || nk == 4) && (k != 6 || ALLON_PII)) {
            printf("  %-30s %7.2f us\n", names[k], best[k] / 1e3);
        }
    }

    return sink == 42;
}
