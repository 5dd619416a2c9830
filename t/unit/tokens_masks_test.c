
/*
 * Copyright (C) ngx_llm_module authors
 *
 * TAP unit test: the bit masks of a block of text that the estimator's
 * block scanner cuts its pieces from (ngx_http_llm_tokens_classify(): AVX2
 * and SSE2 on x86-64, the bit-sliced planes elsewhere, their transposition
 * by NEON on aarch64; t/000-unit.t builds this test as it is and with
 * -DNGX_HTTP_LLM_TOKENS_NO_SIMD, tools/test-aarch64.sh for aarch64) are
 * each byte's class as the ASCII table says, bit i for p[i]:
 *
 *   - every byte value at every position of a block, among random bytes;
 *   - random blocks (all 256 values, and mostly ASCII);
 *   - every length from 0 to 64 (the bits from the length on clear), the
 *     block at the end of a heap buffer of exactly that length, so that a
 *     read past it shows under ASan or valgrind;
 *
 * and bit 63 always clear; on x86-64 with AVX2, the masks of the block
 * scanner's x86 build (ngx_http_llm_tokens_classify_x86()) as well, and
 * the estimates with that build and without the same.
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "ngx_http_llm_tokens.c"


static int  masks_n;
static int  masks_failed;
#if (NGX_HTTP_LLM_TOKENS_AVX2)
static int  masks_x86;          /* ngx_http_llm_tokens_classify_x86() */
#endif


static void
masks_ok(int ok, const char *what)
{
    masks_n++;

    if (!ok) {
        masks_failed = 1;
    }

    printf("%sok %d - %s\n", ok ? "" : "not ", masks_n, what);
}


/* the masks of p[0 .. n - 1] byte by byte, from the ASCII table */

static void
masks_expected(const u_char *p, size_t n, ngx_http_llm_tokens_block_t *b)
{
    u_char    c, a;
    size_t    i;
    uint64_t  bit;

    memset(b, 0, sizeof(ngx_http_llm_tokens_block_t));

    for (i = 0; i < n && i < 63; i++) {
        c = p[i];
        bit = 1ULL << i;

        if (c >= 0x80) {
            b->high |= bit;
            b->stop |= bit;
            continue;
        }

        a = ngx_http_llm_tokens_ascii[c];

        switch (ngx_http_llm_tc(a)) {

        case NGX_HTTP_LLM_TC_UP:
            b->upper |= bit;
            b->letter |= bit;
            break;

        case NGX_HTTP_LLM_TC_LOW:
            b->letter |= bit;
            break;

        case NGX_HTTP_LLM_TC_NUM:
            b->digit |= bit;
            break;

        case NGX_HTTP_LLM_TC_NL:
            b->nl |= bit;
            b->white |= bit;
            break;

        case NGX_HTTP_LLM_TC_WS:
            b->white |= bit;

            if (c == ' ') {
                b->space |= bit;
            }

            break;

        default: /* NGX_HTTP_LLM_TC_PUNCT */
            b->punct |= bit;

            if (c == '\'') {
                b->stop |= bit;
            }
        }
    }
}


/* 0: the same, else the first block that differs is printed */

static int
masks_check(const u_char *p, size_t n)
{
    u_char                      *heap;
    ngx_http_llm_tokens_block_t  got, want;

    /* a copy of exactly n bytes (n <= 64 reads up to its end only) */
    heap = malloc(n ? n : 1);
    if (heap == NULL) {
        return 1;
    }

    memcpy(heap, p, n);
    memset(&got, 0, sizeof(ngx_http_llm_tokens_block_t));

#if (NGX_HTTP_LLM_TOKENS_AVX2)
    if (masks_x86) {
        ngx_http_llm_tokens_classify_x86(heap, n, &got);

    } else
#endif
    {
        ngx_http_llm_tokens_classify(heap, n, &got);
    }

    masks_expected(p, n, &want);
    free(heap);

    if (got.letter == want.letter && got.upper == want.upper
        && got.digit == want.digit && got.space == want.space
        && got.white == want.white && got.nl == want.nl
        && got.high == want.high && got.stop == want.stop
        && got.punct == want.punct)
    {
        return 0;
    }

    printf("# n %zu: letter %016llx/%016llx upper %016llx/%016llx"
           " digit %016llx/%016llx space %016llx/%016llx"
           " white %016llx/%016llx nl %016llx/%016llx high %016llx/%016llx"
           " stop %016llx/%016llx punct %016llx/%016llx (got/expected)\n",
           n,
           (unsigned long long) got.letter, (unsigned long long) want.letter,
           (unsigned long long) got.upper, (unsigned long long) want.upper,
           (unsigned long long) got.digit, (unsigned long long) want.digit,
           (unsigned long long) got.space, (unsigned long long) want.space,
           (unsigned long long) got.white, (unsigned long long) want.white,
           (unsigned long long) got.nl, (unsigned long long) want.nl,
           (unsigned long long) got.high, (unsigned long long) want.high,
           (unsigned long long) got.stop, (unsigned long long) want.stop,
           (unsigned long long) got.punct, (unsigned long long) want.punct);

    return 1;
}


static uint32_t  masks_seed = 2463534242u;

static u_char
masks_random(void)
{
    masks_seed ^= masks_seed << 13;
    masks_seed ^= masks_seed >> 17;
    masks_seed ^= masks_seed << 5;

    return (u_char) (masks_seed >> 7);
}


static void
masks_run(const char *path)
{
    int     bad;
    char    what[128];
    u_char  p[64];
    size_t  i, k, n;

    /* every byte value at every position, the others random */

    bad = 0;

    for (i = 0; i < 64 && !bad; i++) {
        for (k = 0; k < 256 && !bad; k++) {
            for (n = 0; n < 64; n++) {
                p[n] = masks_random();
            }

            p[i] = (u_char) k;
            bad = masks_check(p, 64);
        }
    }

    snprintf(what, sizeof(what),
             "%s: every byte value at every position of a block", path);
    masks_ok(!bad, what);

    /* random blocks, mostly ASCII */

    bad = 0;

    for (k = 0; k < 20000 && !bad; k++) {
        for (n = 0; n < 64; n++) {
            p[n] = masks_random();

            if (k & 1) {
                p[n] &= 0x7f;
            }
        }

        bad = masks_check(p, 64);
    }

    snprintf(what, sizeof(what), "%s: 20000 random blocks", path);
    masks_ok(!bad, what);

    /* every length, the end of the text in the block */

    bad = 0;

    for (n = 0; n <= 64 && !bad; n++) {
        for (k = 0; k < 200 && !bad; k++) {
            for (i = 0; i < 64; i++) {
                p[i] = masks_random() & ((k & 1) ? 0x7f : 0xff);
            }

            bad = masks_check(p, n);
        }
    }

    snprintf(what, sizeof(what), "%s: blocks of 0 to 64 bytes", path);
    masks_ok(!bad, what);
}


#if (NGX_HTTP_LLM_TOKENS_AVX2)

/*
 * The block scanner's two builds in one binary: with AVX2, BMI1, BMI2 and
 * POPCNT (ngx_http_llm_tokens_blocks_avx2()) and for the build's target
 * (SSE2), the same estimate for random texts of words, punctuation, white
 * space, digits and some non-ASCII characters, 1 to 400 bytes (the diff
 * tests compare each build with e28ee8b's estimator on far more)
 */

static void
masks_estimates(void)
{
    static const char  *pieces[] = {
        " the", " word", "Word", " WORD", "wordWORD", ",", ". ", "\n", "\n\n",
        "  ", "\t", "42", "1234567", "'s", "\"", "na\xc3\xafve", " caf\xc3\xa9",
        "\xe2\x82\xac", "\xe4\xb8\xad\xe6\x96\x87", " und", " le", " de",
        "://", "--", " a", "x"
    };

    int          bad;
    char         what[128];
    u_char       text[512];
    size_t       n, k, l, len, with, without;
    const char  *piece;

    bad = 0;

    for (k = 0; k < 20000 && !bad; k++) {
        len = 1 + masks_random() % 200 + masks_random() % 200;

        for (n = 0; n < len; /* void */) {
            piece = pieces[masks_random()
                           % (sizeof(pieces) / sizeof(pieces[0]))];
            l = strlen(piece);

            if (n + l > len) {
                l = len - n;
            }

            memcpy(text + n, piece, l);
            n += l;
        }

        ngx_http_llm_tokens_avx2 = 1;
        with = ngx_http_llm_estimate_tokens(text, len);
        ngx_http_llm_tokens_avx2 = 0;
        without = ngx_http_llm_estimate_tokens(text, len);

        if (with != without) {
            printf("# %zu bytes: %zu with AVX2 and BMI2, %zu without\n",
                   len, with, without);
            bad = 1;
        }
    }

    snprintf(what, sizeof(what), "the block scanner with AVX2 and BMI2 and "
             "without: the same estimates of 20000 texts");
    masks_ok(!bad, what);
}

#endif


int
main(void)
{
#if (NGX_HTTP_LLM_TOKENS_AVX2)

    if (__builtin_cpu_supports("avx2")) {
        ngx_http_llm_tokens_avx2 = 1;
        masks_run("AVX2");

    } else {
        printf("# no AVX2 on this CPU: its masks not tested\n");
    }

    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("bmi")
        && __builtin_cpu_supports("bmi2") && __builtin_cpu_supports("popcnt"))
    {
        masks_x86 = 1;
        masks_run("AVX2 in the block scanner's x86 build");
        masks_x86 = 0;

        masks_estimates();

    } else {
        printf("# no AVX2, BMI1, BMI2 or POPCNT on this CPU: the block "
               "scanner's x86 build not tested\n");
    }

    ngx_http_llm_tokens_avx2 = 0;
    masks_run("SSE2");

#elif (NGX_HTTP_LLM_TOKENS_SSE2)
    masks_run("SSE2");
#elif (NGX_HTTP_LLM_TOKENS_NEON)
    masks_run("bit planes, NEON");
#else
    masks_run("bit planes");
#endif

    printf("1..%d\n", masks_n);

    return masks_failed;
}
