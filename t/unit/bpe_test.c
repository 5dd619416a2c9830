
/*
 * Copyright (C) ngx_llm_module authors
 *
 * TAP unit test of ngx_http_llm_bpe.c with a small made-up vocabulary (the
 * real rank files are compared with gpt-tokenizer in t/018-tokens-exact.t):
 * merge order (lowest rank first, leftmost of equals), the in-place and the
 * heap merges against a naive reference, the pre-split (no merge across
 * pieces), invalid UTF-8 as U+FFFD, the loader's errors.
 *
 *   cc -I ngx_llm_module/engines t/unit/bpe_test.c ngx_llm_module/engines/ngx_http_llm_bpe.c \
 *       -lpcre2-8 -o build/unit/bpe_test
 */


#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "ngx_http_llm_bpe.h"


static int  tests;
static int  failed;


static void
ok(int cond, const char *name)
{
    tests++;

    if (!cond) {
        failed++;
    }

    printf("%sok %d - %s\n", cond ? "" : "not ", tests, name);
}


/* the merges beyond the 256 bytes, in rank order */

static const char  *merges[] = {
    "ab", "bc", "abc", "aa", "aaaa", "o ", "\xef\xbf", "\xef\xbf\xbd",
    "ca", "cab", "bb", "bbb", "abab", "lo", "he", "hel", "hello", " w",
    "or", " wor", " world", "\xe4\xb8", "\xe4\xb8\xad", "\xe4\xb8\xad\xe4\xb8",
    "\xe4\xb8\xad\xe4\xb8\xad", "cc", "ccc", "bca", "abca", "zC", "t'",
};

#define NMERGES  (sizeof(merges) / sizeof(merges[0]))


static const char  b64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";


static size_t
base64(const u_char *p, size_t n, char *out)
{
    size_t    i, o;
    uint32_t  v;

    o = 0;

    for (i = 0; i < n; i += 3) {
        v = p[i] << 16;
        v |= (i + 1 < n) ? p[i + 1] << 8 : 0;
        v |= (i + 2 < n) ? p[i + 2] : 0;

        out[o++] = b64[v >> 18];
        out[o++] = b64[(v >> 12) & 63];
        out[o++] = (i + 1 < n) ? b64[(v >> 6) & 63] : '=';
        out[o++] = (i + 2 < n) ? b64[v & 63] : '=';
    }

    return o;
}


static char *
rank_file(size_t *len)
{
    char    *f;
    size_t   i, o;
    u_char   c;

    f = malloc(64 * 1024);
    o = 0;

    for (i = 0; i < 256; i++) {
        c = (u_char) i;
        o += base64(&c, 1, f + o);
        o += sprintf(f + o, " %zu\n", i);
    }

    for (i = 0; i < NMERGES; i++) {
        o += base64((u_char *) merges[i], strlen(merges[i]), f + o);
        o += sprintf(f + o, " %zu\n", 256 + i);
    }

    *len = o;

    return f;
}


/* tiktoken's merge loop, on the made-up vocabulary */

static long
rank_of(const u_char *p, size_t n)
{
    size_t  i;

    if (n == 1) {
        return p[0];
    }

    for (i = 0; i < NMERGES; i++) {
        if (strlen(merges[i]) == n && memcmp(merges[i], p, n) == 0) {
            return 256 + i;
        }
    }

    return -1;
}


static size_t
naive(const u_char *p, size_t n)
{
    long     best, *rank;
    size_t   i, m, at, *start;

    if (rank_of(p, n) >= 0) {
        return 1;
    }

    start = malloc((n + 1) * sizeof(size_t));
    rank = malloc((n + 1) * sizeof(long));

    for (i = 0; i <= n; i++) {
        start[i] = i;
    }

    for (i = 0; i + 1 < n; i++) {
        rank[i] = rank_of(p + i, 2);
    }

    m = n;

    for ( ;; ) {
        best = -1;
        at = 0;

        for (i = 0; i + 1 < m; i++) {
            if (rank[i] >= 0 && (best < 0 || rank[i] < best)) {
                best = rank[i];
                at = i;
            }
        }

        if (best < 0) {
            break;
        }

        memmove(&start[at + 1], &start[at + 2], (m - at - 1) * sizeof(size_t));
        memmove(&rank[at + 1], &rank[at + 2], (m - at - 1) * sizeof(long));
        m--;

        rank[at] = (at + 1 < m) ? rank_of(p + start[at], start[at + 2]
                                                         - start[at])
                                : -1;

        if (at > 0) {
            rank[at - 1] = rank_of(p + start[at - 1],
                                   start[at + 1] - start[at - 1]);
        }
    }

    free(start);
    free(rank);

    return m;
}


static size_t
count(ngx_http_llm_bpe_t *bpe, const char *s, size_t n)
{
    size_t   c;
    u_char  *copy;

    /* an exactly sized copy, for ASan and valgrind */
    copy = malloc(n ? n : 1);
    memcpy(copy, s, n);

    c = ngx_http_llm_bpe_count(bpe, copy, n);

    free(copy);

    return c;
}


static void
is_count(ngx_http_llm_bpe_t *bpe, const char *s, size_t want,
    const char *name)
{
    size_t  got;
    char    msg[256];

    got = count(bpe, s, strlen(s));

    snprintf(msg, sizeof(msg), "%s (%zu, want %zu)", name, got, want);
    ok(got == want, msg);
}


static void
load_error(const char *file, const char *enc, size_t want_line,
    const char *want, const char *name)
{
    char                 err[256], msg[512];
    size_t               line;
    ngx_http_llm_bpe_t  *bpe;

    bpe = ngx_http_llm_bpe_load((u_char *) enc, strlen(enc), (u_char *) file,
                                strlen(file), err, sizeof(err), &line);

    snprintf(msg, sizeof(msg), "%s: line %zu: %s", name, line,
             bpe ? "loaded" : err);
    ok(bpe == NULL && line == want_line && strstr(err, want) != NULL, msg);

    ngx_http_llm_bpe_free(bpe);
}


int
main(void)
{
    char                 err[256], *file, *buf, msg[128];
    char                *big;
    size_t               len, line, i, j, n, bad, c, want;
    unsigned             seed;
    ngx_http_llm_bpe_t  *bpe, *cl;

    file = rank_file(&len);

    bpe = ngx_http_llm_bpe_load((u_char *) "o200k_base", 10, (u_char *) file,
                                len, err, sizeof(err), &line);
    ok(bpe != NULL, "a rank file loads");
    if (bpe == NULL) {
        printf("# %s (line %zu)\n", err, line);
        return 1;
    }

    cl = ngx_http_llm_bpe_load((u_char *) "cl100k_base", 11, (u_char *) file,
                               len, err, sizeof(err), &line);
    ok(cl != NULL, "the same file as cl100k_base");

    ok(ngx_http_llm_bpe_tokens(bpe) == 256 + NMERGES, "every line a token");
    ok(ngx_http_llm_bpe_known((u_char *) "o200k_base", 10)
       && ngx_http_llm_bpe_known((u_char *) "cl100k_base", 11)
       && !ngx_http_llm_bpe_known((u_char *) "p50k_base", 9),
       "known encodings");

    is_count(bpe, "", 0, "empty text");
    is_count(bpe, "abc", 1, "a whole piece in the vocabulary");
    is_count(bpe, "abcb", 2, "ab first (lowest rank), then abc");
    is_count(bpe, "aaaaa", 2, "leftmost of equal ranks: aa aa a, then aaaa");
    is_count(bpe, "cabab", 2, "ab ab before ca, then cab before abab");
    is_count(bpe, "bbbb", 2, "bb bb, bbb never formed");

    /* the pre-split: "o " exists but a word keeps its leading space */
    is_count(bpe, "hello world", 2, "hello | world");
    is_count(bpe, "hellohello", 2, "one piece, two tokens");
    is_count(bpe, "he  world", 3, "he | ' ' | ' world'");
    is_count(bpe, "abc123", 4, "letters | digits in a group of 3");
    is_count(bpe, "1234567", 7, "digits cut in groups of 3, no merges");

    /* invalid UTF-8 becomes U+FFFD (EF BF BD, one token here) */
    is_count(bpe, "\xff", 1, "a lone invalid byte");
    is_count(bpe, "\xe2\x82", 1, "a truncated sequence is one U+FFFD");
    is_count(bpe, "\xed\xa0\x80", 3, "a surrogate: three U+FFFD");
    is_count(bpe, "\xc0\xaf", 2, "an overlong: two U+FFFD");
    is_count(bpe, "\xf0\x9f\x98", 1, "a truncated 4-byte sequence");
    is_count(bpe, "a\x80" "b", 3, "a | U+FFFD b");
    is_count(bpe, "\xe4\xb8\xad\xe4\xb8\xad", 1, "valid multi-byte text");
    is_count(bpe, "\xe4\xb8\xad\xe4\xb8", 2, "a cut character at the end");

    /* the in-place merges (short pieces) and the heap (long ones) */

    bad = 0;
    seed = 2026;
    buf = malloc(6000);

    for (i = 0; i < 2100; i++) {
        n = 1 + (i < 2000 ? i % 120 : (size_t) (rand_r(&seed) % 3000));

        for (j = 0; j < n; j++) {
            buf[j] = "abc"[rand_r(&seed) % (i % 7 == 0 ? 1 : 3)];
        }

        if (count(bpe, buf, n) != naive((u_char *) buf, n)) {
            if (bad++ < 5) {
                printf("# length %zu: %zu, naive %zu\n", n,
                       count(bpe, buf, n), naive((u_char *) buf, n));
            }
        }
    }

    snprintf(msg, sizeof(msg), "2100 random words of 1 to 3000 letters "
             "as the naive merge loop (%zu differ)", bad);
    ok(bad == 0, msg);

    /*
     * A word over 16 KB is merged in chunks of 16 KB (no allocation, linear
     * time): a 4 MB word counts as the sum of its 256 chunks, each exact
     * (the heap is checked against the naive loop above), and stays within
     * two tokens per chunk boundary of the naive count (checked on 40 KB).
     */

    big = malloc(4 << 20);
    for (j = 0; j < (4 << 20); j++) {
        big[j] = "abc"[rand_r(&seed) % 3];
    }

    c = count(bpe, big, 4 << 20);
    want = 0;
    for (j = 0; j < (4 << 20); j += 16384) {
        want += count(bpe, big + j, 16384);
    }

    ok(c == want, "a 4 MB word counts as its 16 KB chunks");

    c = count(bpe, big, 40000);
    want = naive((u_char *) big, 40000);
    snprintf(msg, sizeof(msg), "a 40000-byte word: %zu, naive %zu, within "
             "2 tokens per boundary (2)", c, want);
    ok((c > want ? c - want : want - c) <= 4, msg);

    free(big);

    /* a long run of one character, through the heap, twice (cache) */

    memset(buf, 'a', 5001);
    ok(count(bpe, buf, 5000) == 1250, "5000 a: 1250 aaaa");
    ok(count(bpe, buf, 5001) == 1251, "5001 a: 1250 aaaa and a");
    ok(count(bpe, buf, 5000) == 1250, "again");

    /* the two encodings' patterns differ: cl100k has no case split */
    is_count(bpe, "zzCzz", 5, "o200k: zz | Czz");
    is_count(cl, "zzCzz", 4, "cl100k: zzCzz is one piece: z zC z z");
    is_count(bpe, "it's", 3, "o200k: it's is one piece: i t' s");
    is_count(cl, "it's", 4, "cl100k: it | 's");

    free(buf);

    /* the loader */

    load_error("IQ== 0\nIg== 1\n!!!! 2\n", "o200k_base", 3, "invalid base64",
               "invalid base64");
    load_error("IQ== 0\nIg==1\n", "o200k_base", 2, "no space",
               "no space");
    load_error("IQ== 0\nIg== \n", "o200k_base", 2, "no rank", "no rank");
    load_error("IQ== 0\nIg== 0\n", "o200k_base", 2, "duplicate rank 0",
               "duplicate rank");
    load_error("IQ== 0\nIQ== 1\n", "o200k_base", 2, "duplicate token",
               "duplicate token");
    load_error("IQ== 99999999\n", "o200k_base", 1, "rank too large",
               "rank too large");
    load_error("IQ== 0\nIg== 1\n", "o200k_base", 0, "no token for the byte 0x00",
               "every byte must be a token");
    load_error("IQ== 0\n", "r50k_base", 0, "unknown encoding", "unknown");
    load_error("IQ= 0\n", "o200k_base", 1, "invalid base64",
               "base64 without its padding");

    ngx_http_llm_bpe_free(bpe);
    ngx_http_llm_bpe_free(cl);
    free(file);

    printf("1..%d\n", tests);

    return failed ? 1 : 0;
}
