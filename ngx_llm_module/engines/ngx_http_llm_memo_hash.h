
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


#endif /* _NGX_HTTP_LLM_MEMO_HASH_H_INCLUDED_ */
