
/*
 * Copyright (C) ngx_llm_module authors
 *
 * The token memo's hash (ngx_http_llm_tokenizer.c), libc only, so that
 * bench/interaction_bench.c measures the product's own function.
 *
 * A keyed 64-bit hash: one multiply and one xorshift per 8 bytes, in four
 * lanes (the words at 0, 8, 16 and 24 modulo 32 bytes, then the tail's in
 * the lanes in turn), combined by the same step, then murmur3's finalizer.
 * Each step is a bijection of a lane's state, and for a given state a
 * different word gives a different state; the combination is a bijection
 * of each lane's result when the others are fixed: so two texts of the
 * same length that differ in one 8-byte word never collide.  The key
 * (the caller's seed, random per worker, and whatever else must start the
 * state) and the length start the state.  Four lanes, not one chain of
 * multiplies: 1.3 us instead of 3.1 us for the 16 KB of a long chat
 * (docs/benchmarks.md).
 */

#ifndef _NGX_HTTP_LLM_MEMO_HASH_H_INCLUDED_
#define _NGX_HTTP_LLM_MEMO_HASH_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/types.h>


#define NGX_HTTP_LLM_MEMO_STEP(h, w)                                          \
    (h) = ((h) ^ (w)) * 0x9e3779b97f4a7c15ULL;                                \
    (h) ^= (h) >> 32


static inline uint64_t
ngx_http_llm_memo_hash64(uint64_t key, const u_char *p, size_t len)
{
    size_t         i, n;
    uint64_t       h[4], w, x;
    const u_char  *last;

    x = key ^ ((uint64_t) len * 0xc2b2ae3d27d4eb4fULL);

    h[0] = x;
    h[1] = x ^ 0x8ebc6af09c88c6e3ULL;
    h[2] = x ^ 0x589965cc75374cc3ULL;
    h[3] = x ^ 0x1d8e4e27c47d124fULL;

    last = p + (len & ~(size_t) 31);

    for ( /* void */ ; p < last; p += 32) {
        memcpy(&w, p, 8);
        NGX_HTTP_LLM_MEMO_STEP(h[0], w);
        memcpy(&w, p + 8, 8);
        NGX_HTTP_LLM_MEMO_STEP(h[1], w);
        memcpy(&w, p + 16, 8);
        NGX_HTTP_LLM_MEMO_STEP(h[2], w);
        memcpy(&w, p + 24, 8);
        NGX_HTTP_LLM_MEMO_STEP(h[3], w);
    }

    n = (len & 31) >> 3;

    for (i = 0; i < n; i++, p += 8) {
        memcpy(&w, p, 8);
        NGX_HTTP_LLM_MEMO_STEP(h[i], w);
    }

    if (len & 7) {
        w = 0;
        memcpy(&w, p, len & 7);
        NGX_HTTP_LLM_MEMO_STEP(h[n], w);
    }

    x = h[0];
    NGX_HTTP_LLM_MEMO_STEP(x, h[1]);
    NGX_HTTP_LLM_MEMO_STEP(x, h[2]);
    NGX_HTTP_LLM_MEMO_STEP(x, h[3]);

    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    x ^= x >> 33;

    return x;
}


/*
 * The same hash's AES-NI form, used where the CPU has AES (x86-64, checked
 * at run time by the caller): one AES round per 16 bytes, in four lanes
 * (the blocks at 0, 16, 32 and 48 modulo 64 bytes, then the tail's in the
 * lanes in turn, the last one padded with zeros), the lanes combined by a
 * round each, three more rounds, the two halves of the result xor'ed.  An
 * AES round is a bijection of its input, so as above a lane's state for a
 * given state and different 16 bytes differs, the combination is a
 * bijection of each lane's result, and two texts of the same length that
 * differ in one 16-byte block have different 128-bit states (their 64-bit
 * hashes collide with a chance of about 2^-64).  A round a block instead
 * of a multiply a word: ~0.2 instead of ~0.75 instructions a byte, and no
 * chain of multiplies (docs/benchmarks.md, 7t).  The value differs from
 * ngx_http_llm_memo_hash64()'s: a worker uses one of them only.
 */

#if (defined __x86_64__ && defined __GNUC__                                   \
     && !defined NGX_HTTP_LLM_MEMO_NO_AES)

#define NGX_HTTP_LLM_MEMO_AES  1

#include <wmmintrin.h>


#define NGX_HTTP_LLM_MEMO_ROUND(s, w, k)                                      \
    (s) = _mm_aesenc_si128(_mm_xor_si128((s), (w)), (k))


__attribute__((target("aes,sse2"))) static inline uint64_t
ngx_http_llm_memo_hash_aes(uint64_t key, const u_char *p, size_t len)
{
    size_t         i, n;
    __m128i        k, s[4], w, x;
    const u_char  *last;
    u_char         tail[16];

    k = _mm_set_epi64x((long long) (key * 0x9e3779b97f4a7c15ULL),
                       (long long) key);

    x = _mm_xor_si128(k, _mm_set_epi64x((long long) len,
                                 (long long) (len * 0xc2b2ae3d27d4eb4fULL)));

    s[0] = x;
    s[1] = _mm_xor_si128(x, _mm_set_epi64x(0x8ebc6af09c88c6e3LL,
                                           0x589965cc75374cc3LL));
    s[2] = _mm_xor_si128(x, _mm_set_epi64x(0x1d8e4e27c47d124fLL,
                                           0x165667b19e3779f9LL));
    s[3] = _mm_xor_si128(x, _mm_set_epi64x(0x27d4eb2f165667c5LL,
                                           0x85ebca77c2b2ae63LL));

    last = p + (len & ~(size_t) 63);

    for ( /* void */ ; p < last; p += 64) {
        NGX_HTTP_LLM_MEMO_ROUND(s[0], _mm_loadu_si128((const __m128i *) p),
                                k);
        NGX_HTTP_LLM_MEMO_ROUND(s[1],
                                _mm_loadu_si128((const __m128i *) (p + 16)),
                                k);
        NGX_HTTP_LLM_MEMO_ROUND(s[2],
                                _mm_loadu_si128((const __m128i *) (p + 32)),
                                k);
        NGX_HTTP_LLM_MEMO_ROUND(s[3],
                                _mm_loadu_si128((const __m128i *) (p + 48)),
                                k);
    }

    n = (len & 63) >> 4;

    for (i = 0; i < n; i++, p += 16) {
        NGX_HTTP_LLM_MEMO_ROUND(s[i], _mm_loadu_si128((const __m128i *) p),
                                k);
    }

    if (len & 15) {
        memset(tail, 0, sizeof(tail));
        memcpy(tail, p, len & 15);
        w = _mm_loadu_si128((const __m128i *) tail);
        NGX_HTTP_LLM_MEMO_ROUND(s[n], w, k);
    }

    /*
     * A round before each lane joins: the differences of two lanes never
     * meet after the same number of rounds (a byte changed in one lane and
     * the same in another would, after one round each, often cancel)
     */

    x = _mm_aesenc_si128(s[0], k);
    NGX_HTTP_LLM_MEMO_ROUND(x, s[1], k);
    NGX_HTTP_LLM_MEMO_ROUND(x, s[2], k);
    NGX_HTTP_LLM_MEMO_ROUND(x, s[3], k);

    /* every byte of the state depends on every byte of x after two */

    w = _mm_shuffle_epi32(k, 0x4e);
    x = _mm_aesenc_si128(x, w);
    x = _mm_aesenc_si128(x, k);
    x = _mm_aesenc_si128(x, w);

    return (uint64_t) _mm_cvtsi128_si64(x)
           ^ (uint64_t) _mm_cvtsi128_si64(_mm_unpackhi_epi64(x, x));
}

#endif


#endif /* _NGX_HTTP_LLM_MEMO_HASH_H_INCLUDED_ */
