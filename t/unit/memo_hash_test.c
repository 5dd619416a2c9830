
/*
 * Copyright (C) ngx_llm_module authors
 *
 * The token memo's hash (engines/ngx_http_llm_memo_hash.h), both forms:
 * the portable one (a multiply a word) and the AES-NI one (a round a
 * block, used by ngx_http_llm_tokenizer.c where the CPU has AES).  Each
 * must be a function of the key, the length and every byte (the same
 * input gives the same value; a byte changed anywhere, the length or the
 * key changed, give another), never read past the text (texts end at a
 * guard page), and spread texts over the memo's sets.  Prints TAP.
 *
 *   cc -I ngx_llm_module/engines t/unit/memo_hash_test.c -o build/unit/memo
 */


#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

typedef unsigned char  u_char;

#include "ngx_http_llm_memo_hash.h"


#define TEXT_MAX  4096
#define SETS      2048          /* NGX_HTTP_LLM_MEMO_SETS */


typedef uint64_t (*hash_pt)(uint64_t key, const u_char *p, size_t len);


static int       tests;
static int       failures;
static u_char   *area;           /* TEXT_MAX bytes before a guard page */
static uint64_t  rng = 0x9e3779b97f4a7c15ULL;


static void
ok(int cond, const char *fmt, ...)
{
    va_list  args;

    tests++;

    if (!cond) {
        failures++;
        printf("not ");
    }

    printf("ok %d - ", tests);

    va_start(args, fmt);
    vprintf(fmt, args);
    va_end(args);

    printf("\n");
}


static uint32_t
rnd(uint32_t n)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;

    return n ? (uint32_t) ((rng >> 11) % n) : 0;
}


static int
cmp64(const void *a, const void *b)
{
    uint64_t  x = *(const uint64_t *) a, y = *(const uint64_t *) b;

    return (x > y) - (x < y);
}


/* a text of len bytes ending at the guard page: chat-like letters */

static u_char *
text(size_t len)
{
    size_t   i;
    u_char  *p;

    p = area + TEXT_MAX - len;

    for (i = 0; i < len; i++) {
        p[i] = rnd(6) == 0 ? ' ' : (u_char) ('a' + rnd(26));
    }

    return p;
}


static void
check(hash_pt hash, const char *name, int strict)
{
    size_t     len, i, n, distinct, dup, same;
    u_char    *p, save;
    uint64_t   h, key, *v;
    unsigned   sets[SETS], bit, max;

    v = malloc(sizeof(uint64_t) * TEXT_MAX * 8);
    if (v == NULL) {
        ok(0, "%s: memory", name);
        return;
    }

    key = 0x0123456789abcdefULL;

    /* the same input, the same value; every length from 1 to 300 */

    dup = 0;

    for (len = 1; len <= 300; len++) {
        p = text(len);
        h = hash(key, p, len);

        if (hash(key, p, len) != h) {
            dup++;
        }
    }

    ok(dup == 0, "%s: the same text, the same value", name);

    /*
     * One byte changed at each offset (one bit, or all bits), of texts of
     * several lengths: each value differs from the text's (what both forms
     * promise: one word or block changed, never the same value); strict
     * (the AES-NI form): all differ from each other too (the portable
     * form's lanes, xor'ed, let the same change in two lanes cancel
     * now and then)
     */

    dup = 0;
    same = 0;

    for (len = 256; len <= 1300; len += 347) {
        p = text(len);
        n = 0;
        v[n++] = hash(key, p, len);

        for (i = 0; i < len; i++) {
            save = p[i];

            for (bit = 0; bit < 9; bit++) {
                p[i] = (u_char) (bit < 8 ? save ^ (1u << bit) : save ^ 0xffu);
                v[n++] = hash(key, p, len);
            }

            p[i] = save;
        }

        for (i = 1; i < n; i++) {
            same += (v[i] == v[0]);
        }

        qsort(v, n, sizeof(uint64_t), cmp64);

        for (i = 1; i < n; i++) {
            dup += (v[i] == v[i - 1]);
        }
    }

    ok(same == 0, "%s: a byte changed anywhere, another value (%zu same)",
       name, same);

    if (strict) {
        ok(dup == 0, "%s: and all the changed texts' values differ (%zu same)",
           name, dup);
    }

    /* the same bytes, other lengths (a text and its prefixes, zeros at
     * the end: the padding of the last block); another key */

    p = text(600);
    memset(p + 500, 0, 100);
    n = 0;

    for (len = 480; len < 600; len++) {
        v[n++] = hash(key, p + 600 - len, len);
        v[n++] = hash(key, p, len);
        v[n++] = hash(key ^ 1, p, len);
        v[n++] = hash(key ^ 0x8000000000000000ULL, p, len);
    }

    qsort(v, n, sizeof(uint64_t), cmp64);
    dup = 0;

    for (i = 1; i < n; i++) {
        dup += (v[i] == v[i - 1]);
    }

    ok(dup == 0, "%s: lengths, zeros at the end and keys count (%zu same)",
       name, dup);

    /* spread over the sets: 2048 sets, 64k texts of 256..2048 bytes that
     * differ in one word only (a message's tag): no set far from 32 */

    memset(sets, 0, sizeof(sets));
    distinct = 0;
    p = text(2048);

    for (i = 0; i < 65536; i++) {
        len = 256 + (i % 1793);
        memcpy(p + 2048 - len + len / 2, &i, sizeof(i));
        h = hash(key, p + 2048 - len, len);
        sets[h & (SETS - 1)]++;
    }

    max = 0;

    for (i = 0; i < SETS; i++) {
        if (sets[i]) {
            distinct++;
        }

        if (sets[i] > max) {
            max = sets[i];
        }
    }

    ok(distinct == SETS && max < 80,
       "%s: spread over the memo's sets (%zu of %u used, at most %u)",
       name, distinct, SETS, max);

    free(v);
}


/*
 * Crafted collisions (review of 2026-12-07).  The forms before 4c85649's
 * successor, kept here as they were: the portable one's step was
 * h = (h ^ w) * C, h ^= h >> 32, and the AES-NI one's a block was the round
 * key of one round of its lane.  Against each, a pair of texts of the same
 * length a few bytes apart, made without the key, that collides: always
 * (portable) or about once in 255 tries (AES-NI); the memo trusts a hit on
 * hash and length, so the second text would get the first's estimate.
 * The current forms must not collide on the same pairs.
 */

static uint64_t
old_hash64(uint64_t key, const u_char *p, size_t len)
{
    size_t    i;
    uint64_t  h[4], w, x;

    /* texts of a multiple of 32 bytes only, which is all the pairs need */

    x = key ^ ((uint64_t) len * 0xc2b2ae3d27d4eb4fULL);

    h[0] = x;
    h[1] = x ^ 0x8ebc6af09c88c6e3ULL;
    h[2] = x ^ 0x589965cc75374cc3ULL;
    h[3] = x ^ 0x1d8e4e27c47d124fULL;

#define OLD_STEP(h, w)                                                        \
    (h) = ((h) ^ (w)) * 0x9e3779b97f4a7c15ULL;                                \
    (h) ^= (h) >> 32

    for (i = 0; i < len; i += 8) {
        memcpy(&w, p + i, 8);
        OLD_STEP(h[(i >> 3) & 3], w);
    }

    x = h[0];
    OLD_STEP(x, h[1]);
    OLD_STEP(x, h[2]);
    OLD_STEP(x, h[3]);

#undef OLD_STEP

    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    x ^= x >> 33;

    return x;
}


/*
 * The portable form's pair: the top bit of word 0 flipped moves lane 0's
 * state by (1 << 63) | (1 << 31) whatever the state (an odd multiplier
 * keeps the top bit's flip, the shift copies it to bit 31): word 4, the
 * lane's next, flipped by the same undoes it
 */

static void
craft64(u_char *a, u_char *b, size_t len)
{
    uint64_t  w;

    memcpy(b, a, len);

    memcpy(&w, b, 8);
    w ^= 1ULL << 63;
    memcpy(b, &w, 8);

    memcpy(&w, b + 32, 8);
    w ^= (1ULL << 63) | (1ULL << 31);
    memcpy(b + 32, &w, 8);
}


#if (NGX_HTTP_LLM_MEMO_AES)

static unsigned
gmul(unsigned a, unsigned b)
{
    unsigned  r;

    for (r = 0; b; b >>= 1) {
        if (b & 1) {
            r ^= a;
        }

        a = (a << 1) ^ ((a & 0x80) ? 0x11b : 0);
    }

    return r & 0xff;
}


/*
 * The AES-NI form's pair: byte 0 of block 0 xor'ed with 1, so the
 * S-box's output at byte 0 in lane 0's next round changes by some d (one of
 * 127 values, by the unknown state); ShiftRows leaves it at byte 0 and
 * MixColumns spreads it to bytes 0-3 as (2d, d, d, 3d); block 4 (64 bytes
 * on, the lane's next) xor'ed with a guess of that cancels it when the
 * guess is right.  next: where the lane's next block is (64 in the old
 * form's four lanes, 128 in the eight of the current one)
 */

static void
craft_aes(u_char *a, u_char *b, size_t len, unsigned d, size_t next)
{
    memcpy(b, a, len);

    b[0] ^= 1;
    b[next] ^= (u_char) gmul(d, 2);
    b[next + 1] ^= (u_char) d;
    b[next + 2] ^= (u_char) d;
    b[next + 3] ^= (u_char) gmul(d, 3);
}


__attribute__((target("aes,sse2"))) static uint64_t
old_hash_aes(uint64_t key, const u_char *p, size_t len)
{
    size_t   i;
    __m128i  k, s[4], x;

    static const uint64_t  lanes[8] = {
        0x8ebc6af09c88c6e3ULL, 0x589965cc75374cc3ULL, 0x1d8e4e27c47d124fULL,
        0x165667b19e3779f9ULL, 0x27d4eb2f165667c5ULL, 0x85ebca77c2b2ae63ULL,
        0xc2b2ae3d27d4eb4fULL, 0x9e3779b97f4a7c15ULL
    };

    /* texts of a multiple of 64 bytes only */

    k = _mm_set_epi64x((long long) (key * 0x9e3779b97f4a7c15ULL),
                       (long long) key);

    x = _mm_xor_si128(k, _mm_set_epi64x((long long) len,
                                 (long long) (len * 0xc2b2ae3d27d4eb4fULL)));

    for (i = 0; i < 4; i++) {
        s[i] = _mm_xor_si128(x, _mm_set_epi64x((long long) lanes[i],
                                               (long long) lanes[7 - i]));
    }

    for (i = 0; i < len; i += 16) {
        s[(i >> 4) & 3] = _mm_aesenc_si128(s[(i >> 4) & 3],
                                  _mm_loadu_si128((const __m128i *) (p + i)));
    }

    for (i = 0; i < 4; i++) {
        s[i] = _mm_aesenc_si128(s[i], k);
    }

    x = _mm_aesenc_si128(s[0], k);

    for (i = 1; i < 4; i++) {
        x = _mm_aesenc_si128(_mm_xor_si128(x, s[i]), k);
    }

    s[0] = _mm_shuffle_epi32(k, 0x4e);
    x = _mm_aesenc_si128(x, s[0]);
    x = _mm_aesenc_si128(x, k);
    x = _mm_aesenc_si128(x, s[0]);

    return (uint64_t) _mm_cvtsi128_si64(x)
           ^ (uint64_t) _mm_cvtsi128_si64(_mm_unpackhi_epi64(x, x));
}

#endif


#define CRAFT_TRIES  4000
#define CRAFT_LEN    1024


static void
crafted(void)
{
    size_t    t, old, now;
    u_char   *a, *b;
    uint64_t  key;
#if (NGX_HTTP_LLM_MEMO_AES)
    unsigned  d;
#endif

    a = malloc(CRAFT_LEN);
    b = malloc(CRAFT_LEN);

    if (a == NULL || b == NULL) {
        ok(0, "crafted pairs: memory");
        return;
    }

    /* the portable form: a new key and text each try */

    old = 0;
    now = 0;

    for (t = 0; t < CRAFT_TRIES; t++) {
        key = ((uint64_t) rnd(0xffffffff) << 32) | rnd(0xffffffff);
        memcpy(a, text(CRAFT_LEN), CRAFT_LEN);
        craft64(a, b, CRAFT_LEN);

        old += old_hash64(key, a, CRAFT_LEN) == old_hash64(key, b, CRAFT_LEN);
        now += ngx_http_llm_memo_hash64(key, a, CRAFT_LEN)
               == ngx_http_llm_memo_hash64(key, b, CRAFT_LEN);
    }

    ok(old == CRAFT_TRIES,
       "portable, the old form: the crafted pairs collide, whatever the key "
       "(%zu of %d)", old, CRAFT_TRIES);
    ok(now == 0, "portable: the same pairs do not (%zu of %d)",
       now, CRAFT_TRIES);

#if (NGX_HTTP_LLM_MEMO_AES)

    if (!__builtin_cpu_supports("aes")) {
        ok(1, "# SKIP AES-NI: the CPU has no AES");
        free(a);
        free(b);
        return;
    }

    /* a new key, text and guess each try */

    old = 0;
    now = 0;

    for (t = 0; t < CRAFT_TRIES; t++) {
        key = ((uint64_t) rnd(0xffffffff) << 32) | rnd(0xffffffff);
        memcpy(a, text(CRAFT_LEN), CRAFT_LEN);
        d = 1 + rnd(255);

        craft_aes(a, b, CRAFT_LEN, d, 64);

        old += old_hash_aes(key, a, CRAFT_LEN)
               == old_hash_aes(key, b, CRAFT_LEN);
        now += ngx_http_llm_memo_hash_aes(key, a, CRAFT_LEN)
               == ngx_http_llm_memo_hash_aes(key, b, CRAFT_LEN);

        /* the same against the current form's lanes */

        craft_aes(a, b, CRAFT_LEN, d, 128);

        now += ngx_http_llm_memo_hash_aes(key, a, CRAFT_LEN)
               == ngx_http_llm_memo_hash_aes(key, b, CRAFT_LEN);
    }

    /* ~4000 / 255: 15.7 expected, below 4 with a chance of ~1e-4 */

    ok(old >= 4,
       "AES-NI, the old form: the crafted pairs collide about once in 255 "
       "tries (%zu of %d)", old, CRAFT_TRIES);
    ok(now == 0, "AES-NI: the same pairs do not, nor those made for its "
       "lanes (%zu of %d)", now, 2 * CRAFT_TRIES);

#else
    ok(1, "# SKIP AES-NI: not built (not x86-64)");
#endif

    free(a);
    free(b);
}


int
main(void)
{
    long     page;
    u_char  *map;

    page = sysconf(_SC_PAGESIZE);

    map = mmap(NULL, TEXT_MAX + (size_t) page, PROT_READ | PROT_WRITE,
               MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

    if (map == MAP_FAILED
        || mprotect(map + TEXT_MAX, (size_t) page, PROT_NONE) != 0)
    {
        printf("Bail out! no guarded memory\n");
        return 1;
    }

    area = map;

    check(ngx_http_llm_memo_hash64, "portable", 0);

#if (NGX_HTTP_LLM_MEMO_AES)
    if (__builtin_cpu_supports("aes")) {
        check(ngx_http_llm_memo_hash_aes, "AES-NI", 1);

    } else {
        ok(1, "# SKIP AES-NI: the CPU has no AES");
    }
#else
    ok(1, "# SKIP AES-NI: not built (not x86-64)");
#endif

    crafted();

    printf("1..%d\n", tests);

    return failures ? 1 : 0;
}
