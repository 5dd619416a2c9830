
/*
 * Copyright (C) ngx_llm_module authors
 *
 * The token memo's hash (ngx_http_llm_tokenizer.c), libc only, so that
 * bench/interaction_bench.c measures the product's own function.
 *
 * A keyed 64-bit hash: a 64x64 -> 128-bit multiply of each 8 bytes (xor'ed
 * into a lane's state) by a multiplier made from the key, the product's
 * halves xor'ed, in four lanes (the words at 0, 8, 16 and 24 modulo 32
 * bytes, then the tail's in the lanes in turn), combined by the same step,
 * then murmur3's finalizer.  The key (the caller's seed, random per worker,
 * and whatever else must start the state) and the length start the state;
 * the multipliers depend on the key: a difference between two texts moves
 * a lane's state by an amount that depends on the state and the multiplier,
 * which a writer of the text does not know, so that crafted collisions are
 * a matter of luck (about 2^-64 a try).  (Before, a multiply by a constant
 * after an xor: flipping the top bit of a word moved the state by a
 * constant, which the next word of the lane could undo, whatever the key:
 * t/unit/memo_hash_test.c keeps that form and such a pair.)  Four lanes,
 * not one chain of multiplies: 1.3 us instead of 3.1 us for the 16 KB of a
 * long chat (docs/benchmarks.md).
 */

#ifndef _NGX_HTTP_LLM_MEMO_HASH_H_INCLUDED_
#define _NGX_HTTP_LLM_MEMO_HASH_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/types.h>


/* a * b, 128 bits, the high half xor'ed into the low one */

static inline uint64_t
ngx_http_llm_memo_mum(uint64_t a, uint64_t b)
{
#if (defined __SIZEOF_INT128__)
    unsigned __int128  r;

    r = (unsigned __int128) a * b;

    return (uint64_t) r ^ (uint64_t) (r >> 64);
#else
    uint64_t  al, ah, bl, bh, ll, lh, hl, hh, mid, lo, hi;

    al = a & 0xffffffff;
    ah = a >> 32;
    bl = b & 0xffffffff;
    bh = b >> 32;

    ll = al * bl;
    lh = al * bh;
    hl = ah * bl;
    hh = ah * bh;

    mid = (ll >> 32) + (lh & 0xffffffff) + (hl & 0xffffffff);
    lo = (ll & 0xffffffff) | (mid << 32);
    hi = hh + (lh >> 32) + (hl >> 32) + (mid >> 32);

    return lo ^ hi;
#endif
}


#define NGX_HTTP_LLM_MEMO_STEP(h, w, m)                                       \
    (h) = ngx_http_llm_memo_mum((h) ^ (w), (m))


static inline uint64_t
ngx_http_llm_memo_hash64(uint64_t key, const u_char *p, size_t len)
{
    size_t         i, n;
    uint64_t       h[4], m[4], w, x;
    const u_char  *last;

    x = key ^ ((uint64_t) len * 0xc2b2ae3d27d4eb4fULL);

    h[0] = x;
    h[1] = x ^ 0x8ebc6af09c88c6e3ULL;
    h[2] = x ^ 0x589965cc75374cc3ULL;
    h[3] = x ^ 0x1d8e4e27c47d124fULL;

    /* the lanes' multipliers: of the key, odd, apart */

    m[0] = ((key ^ 0x165667b19e3779f9ULL) * 0x9e3779b97f4a7c15ULL) | 1;
    m[1] = ((key ^ 0x27d4eb2f165667c5ULL) * 0x9e3779b97f4a7c15ULL) | 1;
    m[2] = ((key ^ 0x85ebca77c2b2ae63ULL) * 0x9e3779b97f4a7c15ULL) | 1;
    m[3] = ((key ^ 0xff51afd7ed558ccdULL) * 0x9e3779b97f4a7c15ULL) | 1;

    last = p + (len & ~(size_t) 31);

    for ( /* void */ ; p < last; p += 32) {
        memcpy(&w, p, 8);
        NGX_HTTP_LLM_MEMO_STEP(h[0], w, m[0]);
        memcpy(&w, p + 8, 8);
        NGX_HTTP_LLM_MEMO_STEP(h[1], w, m[1]);
        memcpy(&w, p + 16, 8);
        NGX_HTTP_LLM_MEMO_STEP(h[2], w, m[2]);
        memcpy(&w, p + 24, 8);
        NGX_HTTP_LLM_MEMO_STEP(h[3], w, m[3]);
    }

    n = (len & 31) >> 3;

    for (i = 0; i < n; i++, p += 8) {
        memcpy(&w, p, 8);
        NGX_HTTP_LLM_MEMO_STEP(h[i], w, m[i]);
    }

    if (len & 7) {
        w = 0;
        memcpy(&w, p, len & 7);
        NGX_HTTP_LLM_MEMO_STEP(h[n], w, m[n]);
    }

    x = h[0];
    NGX_HTTP_LLM_MEMO_STEP(x, h[1], m[1]);
    NGX_HTTP_LLM_MEMO_STEP(x, h[2], m[2]);
    NGX_HTTP_LLM_MEMO_STEP(x, h[3], m[3]);

    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    x ^= x >> 33;

    return x;
}


/*
 * The same hash's AES-NI form, used where the CPU has AES (x86-64, checked
 * at run time by the caller): each 16 bytes are the round key of one AES
 * round of a lane's state, which then goes through a second round keyed
 * by the key, in eight lanes (the blocks at 0, 16, .. 112 modulo 128
 * bytes, then the tail's in the lanes in turn, the last one padded with
 * zeros); a round more for each lane, the lanes joined by a round each in
 * two chains of four (0-3 and 4-7, at once), the chains by a round, two
 * more rounds, the two halves of the result xor'ed.  A round is a
 * bijection of the state, and its key is xor'ed into the result: so for a
 * given state, different 16 bytes give a different state; the join is a
 * bijection of each lane's result; two texts of the same length that
 * differ in one 16-byte block have different 128-bit states (their 64-bit
 * hashes collide with a chance of about 2^-64).
 *
 * Two rounds a block, not one: with one (before), a difference in a block
 * went through one S-box before the next block of the lane could cancel
 * it, and a writer of the text could craft, whatever the key, two texts of
 * the same length a few bytes apart that collided with a chance of ~1/255
 * a try (review of 2026-12-07; t/unit/memo_hash_test.c keeps that form and
 * such pairs).  With two, the difference goes through five S-boxes, and
 * over the 16 bytes, before the next block: their inputs depend on the
 * key, so a crafted pair collides with a chance of ~2^-35 a try at best.
 * A memo hit is trusted on hash and length, so a collision would give the
 * other text's estimate: a few tokens of a budget's admission estimate,
 * never the provider's reported usage that settlement uses.  Two
 * instructions a block instead of one, and twice the latency of a lane:
 * eight lanes, not four, so that 16 KB of texts take ~0.8 us natively,
 * not ~0.9 (0.6 with one round; 7za in docs/benchmarks.md), still
 * under the portable form's multiplies; the value differs from
 * ngx_http_llm_memo_hash64()'s: a worker uses one of them all its life.
 */

#if (defined __x86_64__ && defined __GNUC__                                   \
     && !defined NGX_HTTP_LLM_MEMO_NO_AES)

#define NGX_HTTP_LLM_MEMO_AES  1

#include <wmmintrin.h>


#define NGX_HTTP_LLM_MEMO_LOAD(p)  _mm_loadu_si128((const __m128i *) (p))

/* a block the round key of a round of a lane's state, then a round more */
#define NGX_HTTP_LLM_MEMO_BLOCK(s, b)                                         \
    (s) = _mm_aesenc_si128(_mm_aesenc_si128(s, b), k)


__attribute__((target("aes,sse2"))) static inline uint64_t
ngx_http_llm_memo_hash_aes(uint64_t key, const u_char *p, size_t len)
{
    size_t         i, n;
    __m128i        k, k2, s[8], x, y;
    const u_char  *last;
    u_char         tail[16];

    /* the lanes' start: the key and the length, apart by constants */

    static const uint64_t  lanes[8] = {
        0x8ebc6af09c88c6e3ULL, 0x589965cc75374cc3ULL, 0x1d8e4e27c47d124fULL,
        0x165667b19e3779f9ULL, 0x27d4eb2f165667c5ULL, 0x85ebca77c2b2ae63ULL,
        0xc2b2ae3d27d4eb4fULL, 0x9e3779b97f4a7c15ULL
    };

    k = _mm_set_epi64x((long long) (key * 0x9e3779b97f4a7c15ULL),
                       (long long) key);

    x = _mm_xor_si128(k, _mm_set_epi64x((long long) len,
                                 (long long) (len * 0xc2b2ae3d27d4eb4fULL)));

    for (i = 0; i < 8; i++) {
        s[i] = _mm_xor_si128(x, _mm_set_epi64x((long long) lanes[i],
                                               (long long) lanes[7 - i]));
    }

    last = p + (len & ~(size_t) 127);

    k2 = _mm_shuffle_epi32(k, 0x4e);

    for ( /* void */ ; p < last; p += 128) {
        NGX_HTTP_LLM_MEMO_BLOCK(s[0], NGX_HTTP_LLM_MEMO_LOAD(p));
        NGX_HTTP_LLM_MEMO_BLOCK(s[1], NGX_HTTP_LLM_MEMO_LOAD(p + 16));
        NGX_HTTP_LLM_MEMO_BLOCK(s[2], NGX_HTTP_LLM_MEMO_LOAD(p + 32));
        NGX_HTTP_LLM_MEMO_BLOCK(s[3], NGX_HTTP_LLM_MEMO_LOAD(p + 48));
        NGX_HTTP_LLM_MEMO_BLOCK(s[4], NGX_HTTP_LLM_MEMO_LOAD(p + 64));
        NGX_HTTP_LLM_MEMO_BLOCK(s[5], NGX_HTTP_LLM_MEMO_LOAD(p + 80));
        NGX_HTTP_LLM_MEMO_BLOCK(s[6], NGX_HTTP_LLM_MEMO_LOAD(p + 96));
        NGX_HTTP_LLM_MEMO_BLOCK(s[7], NGX_HTTP_LLM_MEMO_LOAD(p + 112));
    }

    n = (len & 127) >> 4;

    for (i = 0; i < n; i++, p += 16) {
        NGX_HTTP_LLM_MEMO_BLOCK(s[i], NGX_HTTP_LLM_MEMO_LOAD(p));
    }

    if (len & 15) {
        memset(tail, 0, sizeof(tail));
        memcpy(tail, p, len & 15);
        NGX_HTTP_LLM_MEMO_BLOCK(s[n], NGX_HTTP_LLM_MEMO_LOAD(tail));
    }

    /*
     * A round more for each lane, and x (y) a round more before each lane
     * joins it: a byte changed in a lane's block and one in another's meet
     * after two rounds or more (after one, the same change in the last
     * block of a lane and the one before last of the next would cancel
     * often: 1 in ~2^7), when one byte's difference has spread to all 16;
     * y a round more before it joins x
     */

    for (i = 0; i < 8; i++) {
        s[i] = _mm_aesenc_si128(s[i], k);
    }

    x = _mm_aesenc_si128(s[0], k);
    y = _mm_aesenc_si128(s[4], k);

    for (i = 1; i < 4; i++) {
        x = _mm_aesenc_si128(_mm_xor_si128(x, s[i]), k);
        y = _mm_aesenc_si128(_mm_xor_si128(y, s[i + 4]), k);
    }

    x = _mm_aesenc_si128(_mm_xor_si128(x, _mm_aesenc_si128(y, k2)), k2);

    /* every byte of the state depends on every byte of x after two */

    x = _mm_aesenc_si128(x, k);
    x = _mm_aesenc_si128(x, k2);

    return (uint64_t) _mm_cvtsi128_si64(x)
           ^ (uint64_t) _mm_cvtsi128_si64(_mm_unpackhi_epi64(x, x));
}

#endif


#endif /* _NGX_HTTP_LLM_MEMO_HASH_H_INCLUDED_ */
