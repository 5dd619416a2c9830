/*
 * Copyright (C) ngx_llm_module authors
 *
 * libFuzzer target for the exact token counter, see fuzz/README.md.
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -I ngx_llm_module/engines \
 *       fuzz/bpe_fuzz.c ngx_llm_module/engines/ngx_http_llm_bpe.c -lpcre2-8 \
 *       -o build/fuzz/bpe_fuzz
 *
 * The rank file is $BPE_FUZZ_RANKS (e.g. build/tokenizers/o200k_base.tiktoken),
 * else a made-up one of the 256 bytes and a few merges.
 * Each input is counted by a tokenizer that has seen every earlier input
 * (warm caches) and by one whose caches are emptied first: both must agree,
 * and the count is at least 1 and at most the length of the text with every
 * byte made U+FFFD; the other encoding's count is only bounded.
 */


#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ngx_http_llm_bpe.h"


#define check(cond)                                                          \
    if (!(cond)) {                                                           \
        __builtin_trap();                                                    \
    }


static u_char  *ranks;
static size_t   ranks_len;
static ngx_http_llm_bpe_t  *warm, *cold, *other;


static void
load_ranks(void)
{
    FILE        *f;
    long         n;
    size_t       i, o;
    const char  *path;

    static const char  b64[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

    path = getenv("BPE_FUZZ_RANKS");
    f = path ? fopen(path, "rb") : NULL;

    if (f) {
        fseek(f, 0, SEEK_END);
        n = ftell(f);
        fseek(f, 0, SEEK_SET);
        ranks = malloc(n);
        check(ranks && fread(ranks, 1, n, f) == (size_t) n);
        fclose(f);
        ranks_len = n;
        return;
    }

    /* the 256 bytes, then "ab", "abc", "  ", "\xef\xbf", "\xef\xbf\xbd" */

    ranks = malloc(8192);
    o = 0;

    for (i = 0; i < 256; i++) {
        o += sprintf((char *) ranks + o, "%c%c== %zu\n", b64[i >> 2],
                     b64[(i & 3) << 4], i);
    }

    o += sprintf((char *) ranks + o, "YWI= 256\nYWJj 257\nICA= 258\n"
                 "778= 259\n77+9 260\n");
    ranks_len = o;
}


static ngx_http_llm_bpe_t *
load(const char *enc)
{
    char                 err[256];
    size_t               line;
    ngx_http_llm_bpe_t  *bpe;

    bpe = ngx_http_llm_bpe_load((u_char *) enc, strlen(enc), ranks, ranks_len,
                                err, sizeof(err), &line);
    if (bpe == NULL) {
        fprintf(stderr, "bpe_fuzz: line %zu: %s\n", line, err);
        abort();
    }

    return bpe;
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t    a, b;
    u_char   *copy;

    if (ranks == NULL) {
        load_ranks();
        warm = load("o200k_base");
        cold = load("o200k_base");
        other = load("cl100k_base");
    }

    if (size == 0) {
        return 0;
    }

    copy = malloc(size);
    memcpy(copy, data, size);

    a = ngx_http_llm_bpe_count(warm, copy, size);
    check(a != (size_t) -1);
    check(a >= 1 && a <= 3 * size);

    ngx_http_llm_bpe_reset_caches(cold);
    b = ngx_http_llm_bpe_count(cold, copy, size);
    check(a == b);

    b = ngx_http_llm_bpe_count(other, copy, size);
    check(b >= 1 && b <= 3 * size);

    free(copy);

    return 0;
}
