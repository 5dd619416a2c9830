
/*
 * Copyright (C) ngx_llm_module authors
 *
 * Exact token counts of OpenAI's byte-pair encodings, see
 * ngx_http_llm_bpe.h and docs/estimator.md ("Exact counts").
 */


#define PCRE2_CODE_UNIT_WIDTH  8

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pcre2.h>

#include "ngx_http_llm_bpe.h"


#define BPE_NONE          0xffffffffu
#define BPE_MAX_RANK      (1u << 24)
#define BPE_MAX_TOKEN     1024

/* pieces up to this length are merged in place, longer ones with a heap */
#define BPE_SMALL         48

/* heap scratch kept per worker: pieces up to this length */
#define BPE_SCRATCH       16384

/*
 * A piece longer than BPE_CHUNK bytes (a run of letters with no space, a
 * long base64 or hex blob) is merged in chunks of about BPE_CHUNK bytes,
 * cut on UTF-8 character boundaries: the cost stays linear and no memory
 * beyond the worker's scratch is needed.  The count may differ from the
 * exact one by at most one token per chunk boundary (a token that would
 * have spanned it).  No real text has such pieces; see docs/estimator.md.
 */
#define BPE_CHUNK         16384

/* per-worker cache of the counts of pieces up to BPE_CACHE_KEY bytes */
#define BPE_CACHE_BITS    14
#define BPE_CACHE_KEY     26

/* per-worker cache of the ranks of 3 to 8 byte strings (found or not) */
#define BPE_RCACHE_BITS   16

#define BPE_JIT_STACK     (1024 * 1024)


enum {
    BPE_O200K = 0,
    BPE_CL100K
};


/*
 * JavaScript's \s (gpt-tokenizer runs its regexes in JavaScript): White_Space
 * plus U+FEFF, spelled out so that it does not depend on what PCRE2's \s
 * means in UCP mode.
 */

#define WS  "\\t\\n\\x0B\\f\\r \\x{A0}\\x{1680}\\x{2000}-\\x{200A}\\x{2028}"  \
            "\\x{2029}\\x{202F}\\x{205F}\\x{3000}\\x{FEFF}"

#define CONTRACTION  "'(?:[sS]|[dD]|[mM]|[tT]|[lL][lL]|[vV][eE]|[rR][eE])"

#define UPPER  "[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]"
#define LOWER  "[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]"


/* gpt-tokenizer 4.0.0, src/encodingParams/constants.ts */

static const char  *bpe_patterns[] = {

    /* o200k_base */
    "[^\\r\\n\\p{L}\\p{N}]?" UPPER "*" LOWER "+(?:" CONTRACTION ")?"
    "|[^\\r\\n\\p{L}\\p{N}]?" UPPER "+" LOWER "*(?:" CONTRACTION ")?"
    "|\\p{N}{1,3}"
    "| ?[^" WS "\\p{L}\\p{N}]+[\\r\\n/]*"
    "|[" WS "]*[\\r\\n]+"
    "|[" WS "]+(?![^" WS "])"
    "|[" WS "]+",

    /* cl100k_base ("$" of JavaScript without the m flag is "\z") */
    CONTRACTION
    "|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+"
    "|\\p{N}{1,3}"
    "| ?[^" WS "\\p{L}\\p{N}]+[\\r\\n]*"
    "|[" WS "]+\\z"
    "|[" WS "]*[\\r\\n]"
    "|[" WS "]+(?![^" WS "])"
    "|[" WS "]"
};


static const char  *bpe_names[] = { "o200k_base", "cl100k_base" };


typedef struct {
    uint64_t              key;      /* the bytes, little-endian, 0-padded */
    uint32_t              rank;
    uint32_t              len;      /* 0: an empty slot */
} bpe_short_t;


typedef struct {
    uint32_t              hash;
    uint32_t              idx;      /* entry + 1; 0: an empty slot */
} bpe_slot_t;


typedef struct {
    uint32_t              off;      /* in blob */
    uint32_t              len;
    uint32_t              rank;
} bpe_long_t;


typedef struct {
    uint64_t              k0;       /* bytes 0-7 and 8-15, 0-padded */
    uint64_t              k1;
    uint32_t              rank;
    uint32_t              len;      /* 0: empty */
} bpe_rcache_t;


typedef struct {
    uint32_t              hash;
    uint8_t               len;      /* 0: empty */
    uint8_t               count;
    u_char                key[BPE_CACHE_KEY];
} bpe_cache_t;


struct ngx_http_llm_bpe_s {
    int                   encoding;
    pcre2_code           *re;
    int                   jit;

    uint32_t             *pairs;    /* rank of every 2-byte token, 64K */
    bpe_short_t          *shorts;   /* tokens of 3 to 8 bytes */
    uint32_t              short_bits;
    bpe_slot_t           *slots;    /* tokens of 9 bytes and more */
    uint32_t              slot_mask;
    bpe_long_t           *longs;
    uint32_t              nlongs;
    u_char               *blob;
    size_t                ntokens;
    size_t                memory;

    /* a worker's own, allocated on its first count */
    pcre2_match_data     *md;
    pcre2_match_context  *mctx;
    pcre2_jit_stack      *jstack;
    bpe_cache_t          *cache;
    bpe_rcache_t         *rcache;
    void                 *scratch;  /* heap merge of pieces <= BPE_SCRATCH */

    size_t                lookups;
    size_t                hits;
};


static uint64_t bpe_load_key(const u_char *p, size_t n);
static uint32_t bpe_hash(const u_char *p, size_t n);
static uint64_t bpe_short_hash(uint64_t key, size_t n);
static uint32_t bpe_rank(ngx_http_llm_bpe_t *bpe, const u_char *p, size_t n);
static uint32_t bpe_rank_short(ngx_http_llm_bpe_t *bpe, uint64_t key,
    size_t n);
static uint32_t bpe_rank_padded(ngx_http_llm_bpe_t *bpe, const u_char *p,
    size_t n);
static uint32_t bpe_rank_long(ngx_http_llm_bpe_t *bpe, const u_char *p,
    size_t n, uint32_t h);
static int bpe_add(ngx_http_llm_bpe_t *bpe, const u_char *p, size_t n,
    uint32_t rank, size_t *used);
static size_t bpe_merge_small(ngx_http_llm_bpe_t *bpe, const u_char *p,
    size_t n);
static size_t bpe_merge_heap(ngx_http_llm_bpe_t *bpe, const u_char *p,
    size_t n);
static size_t bpe_piece(ngx_http_llm_bpe_t *bpe, const u_char *p, size_t n);
static size_t bpe_chunks(ngx_http_llm_bpe_t *bpe, const u_char *p, size_t n);
static size_t bpe_split(ngx_http_llm_bpe_t *bpe, const u_char *text,
    size_t len);
static size_t bpe_utf8_valid(const u_char *p, size_t n);
static size_t bpe_utf8_sanitize(const u_char *p, size_t n, u_char *out);
static int bpe_worker_init(ngx_http_llm_bpe_t *bpe);
static int bpe_base64(const u_char *p, size_t n, u_char *out, size_t *len);


int
ngx_http_llm_bpe_known(const u_char *name, size_t len)
{
    size_t  i;

    for (i = 0; i < sizeof(bpe_names) / sizeof(bpe_names[0]); i++) {
        if (strlen(bpe_names[i]) == len && memcmp(bpe_names[i], name, len) == 0)
        {
            return 1;
        }
    }

    return 0;
}


static uint64_t
bpe_load_key(const u_char *p, size_t n)
{
    uint64_t  k;

    k = 0;
    memcpy(&k, p, n);

    return k;
}


static uint32_t
bpe_hash(const u_char *p, size_t n)
{
    uint64_t  h, w;

    h = 0x9e3779b97f4a7c15ull ^ (n * 0xc2b2ae3d27d4eb4full);

    while (n >= 8) {
        memcpy(&w, p, 8);
        h = (h ^ w) * 0xff51afd7ed558ccdull;
        h ^= h >> 32;
        p += 8;
        n -= 8;
    }

    if (n) {
        w = 0;
        memcpy(&w, p, n);
        h = (h ^ w) * 0xc4ceb9fe1a85ec53ull;
    }

    h ^= h >> 29;
    h *= 0x94d049bb133111ebull;

    return (uint32_t) (h >> 32);
}


static uint64_t
bpe_short_hash(uint64_t key, size_t n)
{
    uint64_t  h;

    h = (key ^ (uint64_t) n << 59) * 0x9e3779b97f4a7c15ull;
    h ^= h >> 31;
    h *= 0xbf58476d1ce4e5b9ull;

    return h;
}


static uint32_t
bpe_rank(ngx_http_llm_bpe_t *bpe, const u_char *p, size_t n)
{
    if (n == 2) {
        return bpe->pairs[p[0] | (p[1] << 8)];
    }

    if (n > 8) {
        return bpe_rank_long(bpe, p, n, bpe_hash(p, n));
    }

    if (n == 1) {
        return bpe->pairs[p[0] | 0x10000];
    }

    return bpe_rank_short(bpe, bpe_load_key(p, n), n);
}


static uint32_t
bpe_rank_short(ngx_http_llm_bpe_t *bpe, uint64_t key, size_t n)
{
    uint32_t      i, mask;
    bpe_short_t  *s;

    mask = (1u << bpe->short_bits) - 1;
    i = (uint32_t) (bpe_short_hash(key, n) >> (64 - bpe->short_bits));

    for ( ;; ) {
        s = &bpe->shorts[i];

        if (s->len == n && s->key == key) {
            return s->rank;
        }

        if (s->len == 0) {
            return BPE_NONE;
        }

        i = (i + 1) & mask;
    }
}


/*
 * The rank of p[0..n) where 16 bytes from p can be read: the merges work on
 * a padded copy of the piece.  Strings up to 16 bytes go through the
 * worker's rank cache first.
 */

static uint32_t
bpe_rank_padded(ngx_http_llm_bpe_t *bpe, const u_char *p, size_t n)
{
    uint32_t       r;
    uint64_t       k0, k1, h;
    bpe_rcache_t  *c;

    if (n == 2) {
        return bpe->pairs[p[0] | (p[1] << 8)];
    }

    if (n > 16) {
        return bpe_rank_long(bpe, p, n, bpe_hash(p, n));
    }

    memcpy(&k0, p, 8);
    memcpy(&k1, p + 8, 8);

    if (n < 8) {
        k0 &= (1ull << (n * 8)) - 1;
        k1 = 0;

    } else if (n == 8) {
        k1 = 0;

    } else if (n < 16) {
        k1 &= (1ull << ((n - 8) * 8)) - 1;
    }

    h = (k0 ^ (uint64_t) n << 59) * 0x9e3779b97f4a7c15ull;
    h = (h ^ (h >> 29) ^ k1) * 0xbf58476d1ce4e5b9ull;
    h ^= h >> 32;

    c = &bpe->rcache[h >> (64 - BPE_RCACHE_BITS)];

    if (c->len == n && c->k0 == k0 && c->k1 == k1) {
        return c->rank;
    }

    r = (n <= 8) ? bpe_rank_short(bpe, k0, n)
                 : bpe_rank_long(bpe, p, n, bpe_hash(p, n));

    c->k0 = k0;
    c->k1 = k1;
    c->len = (uint32_t) n;
    c->rank = r;

    return r;
}


static uint32_t
bpe_rank_long(ngx_http_llm_bpe_t *bpe, const u_char *p, size_t n, uint32_t h)
{
    uint32_t     i;
    bpe_slot_t  *s;
    bpe_long_t  *l;

    i = h & bpe->slot_mask;

    for ( ;; ) {
        s = &bpe->slots[i];

        if (s->idx == 0) {
            return BPE_NONE;
        }

        if (s->hash == h) {
            l = &bpe->longs[s->idx - 1];

            if (l->len == n && memcmp(bpe->blob + l->off, p, n) == 0) {
                return l->rank;
            }
        }

        i = (i + 1) & bpe->slot_mask;
    }
}


/* 0: added, 1: duplicate */

static int
bpe_add(ngx_http_llm_bpe_t *bpe, const u_char *p, size_t n, uint32_t rank,
    size_t *used)
{
    uint32_t      i, h, mask;
    uint64_t      key;
    bpe_slot_t   *slot;
    bpe_long_t   *l;
    bpe_short_t  *s;

    if (bpe_rank(bpe, p, n) != BPE_NONE) {
        return 1;
    }

    if (n == 1) {
        bpe->pairs[p[0] | 0x10000] = rank;
        return 0;
    }

    if (n == 2) {
        bpe->pairs[p[0] | (p[1] << 8)] = rank;
        return 0;
    }

    if (n <= 8) {
        key = bpe_load_key(p, n);
        mask = (1u << bpe->short_bits) - 1;
        i = (uint32_t) (bpe_short_hash(key, n) >> (64 - bpe->short_bits));

        while (bpe->shorts[i].len) {
            i = (i + 1) & mask;
        }

        s = &bpe->shorts[i];
        s->key = key;
        s->len = (uint32_t) n;
        s->rank = rank;

        return 0;
    }

    l = &bpe->longs[bpe->nlongs++];
    l->off = (uint32_t) *used;
    l->len = (uint32_t) n;
    l->rank = rank;

    memcpy(bpe->blob + *used, p, n);
    *used += n;

    h = bpe_hash(p, n);
    i = h & bpe->slot_mask;

    while (bpe->slots[i].idx) {
        i = (i + 1) & bpe->slot_mask;
    }

    slot = &bpe->slots[i];
    slot->hash = h;
    slot->idx = bpe->nlongs;

    return 0;
}


static int
bpe_base64(const u_char *p, size_t n, u_char *out, size_t *len)
{
    size_t    i, o, pad;
    uint32_t  v, d;
    u_char    c;

    if (n == 0 || n % 4) {
        return -1;
    }

    pad = 0;

    if (p[n - 1] == '=') {
        pad++;

        if (p[n - 2] == '=') {
            pad++;
        }
    }

    o = 0;
    v = 0;

    for (i = 0; i < n; i++) {
        c = p[i];

        if (c >= 'A' && c <= 'Z') {
            d = c - 'A';

        } else if (c >= 'a' && c <= 'z') {
            d = c - 'a' + 26;

        } else if (c >= '0' && c <= '9') {
            d = c - '0' + 52;

        } else if (c == '+') {
            d = 62;

        } else if (c == '/') {
            d = 63;

        } else if (c == '=' && i >= n - pad) {
            d = 0;

        } else {
            return -1;
        }

        v = (v << 6) | d;

        if (i % 4 == 3) {
            if (o + 3 > BPE_MAX_TOKEN) {
                return -1;
            }

            out[o++] = (u_char) (v >> 16);
            out[o++] = (u_char) (v >> 8);
            out[o++] = (u_char) v;
            v = 0;
        }
    }

    *len = o - pad;

    return *len ? 0 : -1;
}


ngx_http_llm_bpe_t *
ngx_http_llm_bpe_load(const u_char *name, size_t name_len, const u_char *data,
    size_t len, char *err, size_t err_size, size_t *line)
{
    int                  rc;
    size_t               i, n, lines, nshort, nlong, blob, used, tlen, ln;
    size_t               nlen;
    uint32_t             rank, bits;
    uint8_t             *seen;
    u_char               tok[BPE_MAX_TOKEN + 3];
    PCRE2_SIZE           erroff;
    const u_char        *p, *end, *eol, *sp, *q;
    ngx_http_llm_bpe_t  *bpe;

    *line = 0;
    seen = NULL;

    bpe = calloc(1, sizeof(ngx_http_llm_bpe_t));
    if (bpe == NULL) {
        snprintf(err, err_size, "out of memory");
        return NULL;
    }

    for (i = 0; i < sizeof(bpe_names) / sizeof(bpe_names[0]); i++) {
        if (strlen(bpe_names[i]) == name_len
            && memcmp(bpe_names[i], name, name_len) == 0)
        {
            break;
        }
    }

    if (i == sizeof(bpe_names) / sizeof(bpe_names[0])) {
        snprintf(err, err_size, "unknown encoding \"%.*s\" "
                 "(known: o200k_base, cl100k_base)", (int) name_len, name);
        goto failed;
    }

    bpe->encoding = (int) i;

    /* sizes: lines, and an upper bound of the decoded bytes */

    lines = 0;
    nshort = 0;
    nlong = 0;
    blob = 1;

    for (p = data, end = data + len; p < end; p = eol + 1) {
        eol = memchr(p, '\n', end - p);
        if (eol == NULL) {
            eol = end;
        }

        lines++;

        sp = memchr(p, ' ', eol - p);
        nlen = (sp ? (size_t) (sp - p) : (size_t) (eol - p)) / 4 * 3;

        /* nlen - 2 <= decoded length <= nlen: upper bounds of both kinds */

        if (nlen <= 10) {
            nshort++;
        }

        if (nlen >= 9) {
            nlong++;
            blob += nlen;
        }
    }

    for (bits = 10; (1u << bits) < nshort + nshort / 2; bits++) { /* void */ }

    bpe->short_bits = bits;
    bpe->pairs = malloc(0x10100 * sizeof(uint32_t));
    bpe->shorts = calloc((size_t) 1 << bits, sizeof(bpe_short_t));
    bpe->memory = 0x10100 * sizeof(uint32_t)
                  + ((size_t) 1 << bits) * sizeof(bpe_short_t);

    for (bits = 10; (1u << bits) < 2 * nlong; bits++) { /* void */ }

    bpe->slot_mask = (1u << bits) - 1;
    bpe->slots = calloc((size_t) 1 << bits, sizeof(bpe_slot_t));
    bpe->longs = malloc(nlong * sizeof(bpe_long_t) + 1);
    bpe->blob = malloc(blob);
    seen = calloc(BPE_MAX_RANK / 8, 1);

    if (bpe->pairs == NULL || bpe->shorts == NULL || bpe->slots == NULL
        || bpe->longs == NULL || bpe->blob == NULL || seen == NULL)
    {
        snprintf(err, err_size, "out of memory");
        goto failed;
    }

    memset(bpe->pairs, 0xff, 0x10100 * sizeof(uint32_t));

    used = 0;
    ln = 0;

    for (p = data, end = data + len; p < end; p = eol + 1) {
        eol = memchr(p, '\n', end - p);
        if (eol == NULL) {
            eol = end;
        }

        ln++;

        q = eol;
        if (q > p && q[-1] == '\r') {
            q--;
        }

        if (q == p) {
            continue;   /* an empty line, as tiktoken skips them */
        }

        *line = ln;

        sp = memchr(p, ' ', q - p);
        if (sp == NULL) {
            snprintf(err, err_size, "no space between token and rank");
            goto failed;
        }

        if (bpe_base64(p, sp - p, tok, &tlen) != 0) {
            snprintf(err, err_size, "invalid base64 token \"%.*s\"",
                     (int) ((sp - p) > 64 ? 64 : (sp - p)), p);
            goto failed;
        }

        sp++;

        if (sp == q) {
            snprintf(err, err_size, "no rank");
            goto failed;
        }

        rank = 0;

        for ( /* void */ ; sp < q; sp++) {
            if (*sp < '0' || *sp > '9') {
                snprintf(err, err_size, "invalid rank \"%.*s\"",
                         (int) ((q - sp) > 32 ? 32 : (q - sp)), sp);
                goto failed;
            }

            rank = rank * 10 + (*sp - '0');

            if (rank >= BPE_MAX_RANK) {
                snprintf(err, err_size, "rank too large (at most %u)",
                         BPE_MAX_RANK - 1);
                goto failed;
            }
        }

        if (seen[rank >> 3] & (1 << (rank & 7))) {
            snprintf(err, err_size, "duplicate rank %u", rank);
            goto failed;
        }

        seen[rank >> 3] |= 1 << (rank & 7);

        if (bpe_add(bpe, tok, tlen, rank, &used) != 0) {
            snprintf(err, err_size, "duplicate token");
            goto failed;
        }

        bpe->ntokens++;
    }

    *line = 0;

    for (i = 0; i < 256; i++) {
        if (bpe->pairs[i | 0x10000] == BPE_NONE) {
            snprintf(err, err_size, "no token for the byte 0x%02x "
                     "(not a byte-level BPE rank file)", (unsigned) i);
            goto failed;
        }
    }

    free(seen);
    seen = NULL;

    bpe->memory += ((size_t) bpe->slot_mask + 1) * sizeof(bpe_slot_t)
                   + bpe->nlongs * sizeof(bpe_long_t) + used;

    /* give back what the upper bounds did not use */

    n = bpe->nlongs ? bpe->nlongs : 1;
    q = realloc(bpe->longs, n * sizeof(bpe_long_t));
    if (q) {
        bpe->longs = (bpe_long_t *) q;
    }

    q = realloc(bpe->blob, used ? used : 1);
    if (q) {
        bpe->blob = (u_char *) q;
    }

    bpe->re = pcre2_compile((PCRE2_SPTR) bpe_patterns[bpe->encoding],
                            PCRE2_ZERO_TERMINATED,
                            PCRE2_UTF | PCRE2_UCP | PCRE2_ANCHORED
                            | PCRE2_NO_UTF_CHECK,
                            &rc, &erroff, NULL);
    if (bpe->re == NULL) {
        u_char  msg[128];

        pcre2_get_error_message(rc, msg, sizeof(msg));
        snprintf(err, err_size, "pcre2_compile() failed: %s at %zu",
                 (char *) msg, (size_t) erroff);
        goto failed;
    }

    bpe->jit = (pcre2_jit_compile(bpe->re, PCRE2_JIT_COMPLETE) == 0);

    return bpe;

failed:

    free(seen);
    ngx_http_llm_bpe_free(bpe);

    return NULL;
}


void
ngx_http_llm_bpe_free(ngx_http_llm_bpe_t *bpe)
{
    if (bpe == NULL) {
        return;
    }

    if (bpe->md) {
        pcre2_match_data_free(bpe->md);
    }

    if (bpe->mctx) {
        pcre2_match_context_free(bpe->mctx);
    }

    if (bpe->jstack) {
        pcre2_jit_stack_free(bpe->jstack);
    }

    if (bpe->re) {
        pcre2_code_free(bpe->re);
    }

    free(bpe->pairs);
    free(bpe->shorts);
    free(bpe->slots);
    free(bpe->longs);
    free(bpe->blob);
    free(bpe->cache);
    free(bpe->rcache);
    free(bpe->scratch);
    free(bpe);
}


size_t
ngx_http_llm_bpe_tokens(ngx_http_llm_bpe_t *bpe)
{
    return bpe->ntokens;
}


size_t
ngx_http_llm_bpe_memory(ngx_http_llm_bpe_t *bpe)
{
    return bpe->memory;
}


size_t
ngx_http_llm_bpe_worker_memory(ngx_http_llm_bpe_t *bpe)
{
    return ((size_t) 1 << BPE_CACHE_BITS) * sizeof(bpe_cache_t)
           + ((size_t) 1 << BPE_RCACHE_BITS) * sizeof(bpe_rcache_t)
           + BPE_SCRATCH * 3 * (sizeof(uint32_t) + sizeof(uint64_t))
           + BPE_SCRATCH + 16
           + BPE_JIT_STACK;
}


void
ngx_http_llm_bpe_reset_caches(ngx_http_llm_bpe_t *bpe)
{
    if (bpe->cache) {
        memset(bpe->cache, 0,
               ((size_t) 1 << BPE_CACHE_BITS) * sizeof(bpe_cache_t));
    }

    if (bpe->rcache) {
        memset(bpe->rcache, 0,
               ((size_t) 1 << BPE_RCACHE_BITS) * sizeof(bpe_rcache_t));
    }
}


void
ngx_http_llm_bpe_stats(ngx_http_llm_bpe_t *bpe, size_t *lookups, size_t *hits)
{
    *lookups = bpe->lookups;
    *hits = bpe->hits;
}


static int
bpe_worker_init(ngx_http_llm_bpe_t *bpe)
{
    bpe->md = pcre2_match_data_create(1, NULL);
    bpe->mctx = pcre2_match_context_create(NULL);
    bpe->cache = calloc((size_t) 1 << BPE_CACHE_BITS, sizeof(bpe_cache_t));
    bpe->rcache = calloc((size_t) 1 << BPE_RCACHE_BITS, sizeof(bpe_rcache_t));
    bpe->scratch = malloc(BPE_SCRATCH * 3 * (sizeof(uint32_t)
                                             + sizeof(uint64_t))
                          + BPE_SCRATCH + 16);

    if (bpe->md == NULL || bpe->mctx == NULL || bpe->cache == NULL
        || bpe->rcache == NULL || bpe->scratch == NULL)
    {
        return -1;
    }

    if (bpe->jit) {
        bpe->jstack = pcre2_jit_stack_create(32 * 1024, BPE_JIT_STACK, NULL);
        if (bpe->jstack == NULL) {
            return -1;
        }

        pcre2_jit_stack_assign(bpe->mctx, NULL, bpe->jstack);
    }

    return 0;
}


/*
 * The merges of a short piece, as tiktoken does them: the pair of lowest
 * rank (the leftmost of equals) is merged until no pair is a token.
 */

static size_t
bpe_merge_small(ngx_http_llm_bpe_t *bpe, const u_char *p, size_t n)
{
    size_t    i, m, min;
    u_char    copy[BPE_SMALL + 16];
    uint32_t  r, start[BPE_SMALL + 1], rank[BPE_SMALL];

    memcpy(copy, p, n);
    memset(copy + n, 0, 16);
    p = copy;

    for (i = 0; i < n; i++) {
        start[i] = (uint32_t) i;
    }

    start[n] = (uint32_t) n;

    for (i = 0; i + 1 < n; i++) {
        rank[i] = bpe->pairs[p[i] | (p[i + 1] << 8)];
    }

    rank[n - 1] = BPE_NONE;
    m = n;

    while (m > 1) {
        r = BPE_NONE;
        min = 0;

        for (i = 0; i + 1 < m; i++) {
            if (rank[i] < r) {
                r = rank[i];
                min = i;
            }
        }

        if (r == BPE_NONE) {
            break;
        }

        /* parts min and min + 1 become one */

        memmove(&start[min + 1], &start[min + 2],
                (m - min - 1) * sizeof(uint32_t));
        memmove(&rank[min + 1], &rank[min + 2],
                (m - min - 2) * sizeof(uint32_t));
        m--;

        rank[min] = (min + 1 < m)
                    ? bpe_rank_padded(bpe, p + start[min],
                                      start[min + 2] - start[min])
                    : BPE_NONE;

        if (min > 0) {
            rank[min - 1] = bpe_rank_padded(bpe, p + start[min - 1],
                                            start[min + 1] - start[min - 1]);
        }
    }

    return m;
}


/*
 * The same merges for a long piece in O(n log n): a heap of (rank, start)
 * pairs, where an entry whose pair has changed since is skipped.
 */

#define bpe_heap_less(a, b)  ((a) < (b))

static size_t
bpe_merge_heap(ngx_http_llm_bpe_t *bpe, const u_char *p, size_t n)
{
    size_t     i, j, k, m, hn, child;
    uint32_t  *nxt, *prv, *rk, r, a;
    uint64_t  *heap, e, t;
    u_char    *copy;
    void      *mem;

    if (n <= BPE_SCRATCH) {
        mem = bpe->scratch;

    } else {
        mem = malloc(n * 3 * (sizeof(uint32_t) + sizeof(uint64_t)) + n + 16);
        if (mem == NULL) {
            return (size_t) -1;
        }
    }

    heap = mem;
    nxt = (uint32_t *) (heap + 3 * n);
    prv = nxt + n;
    rk = prv + n;

    /* a padded copy for bpe_rank_padded() */
    copy = (u_char *) (rk + n);
    memcpy(copy, p, n);
    memset(copy + n, 0, 16);
    p = copy;

    hn = 0;

    for (i = 0; i < n; i++) {
        nxt[i] = (uint32_t) (i + 1);
        prv[i] = (uint32_t) (i - 1);
        rk[i] = (i + 1 < n) ? bpe->pairs[p[i] | (p[i + 1] << 8)] : BPE_NONE;

        if (rk[i] != BPE_NONE) {
            heap[hn++] = (uint64_t) rk[i] << 32 | i;
        }
    }

    /* heapify */

    for (k = hn / 2; k-- > 0; /* void */) {
        e = heap[k];
        j = k;

        for ( ;; ) {
            child = 2 * j + 1;
            if (child >= hn) {
                break;
            }

            if (child + 1 < hn && heap[child + 1] < heap[child]) {
                child++;
            }

            if (heap[child] >= e) {
                break;
            }

            heap[j] = heap[child];
            j = child;
        }

        heap[j] = e;
    }

    m = n;

    while (hn) {

        /* pop the least */

        e = heap[0];
        t = heap[--hn];

        j = 0;

        for ( ;; ) {
            child = 2 * j + 1;
            if (child >= hn) {
                break;
            }

            if (child + 1 < hn && heap[child + 1] < heap[child]) {
                child++;
            }

            if (heap[child] >= t) {
                break;
            }

            heap[j] = heap[child];
            j = child;
        }

        if (hn) {
            heap[j] = t;
        }

        i = (uint32_t) e;
        r = (uint32_t) (e >> 32);

        if (rk[i] != r) {
            continue;           /* stale */
        }

        /* merge part i with the next one */

        a = nxt[i];
        nxt[i] = nxt[a];
        rk[a] = BPE_NONE;

        if (nxt[i] < n) {
            prv[nxt[i]] = (uint32_t) i;
        }

        m--;

        /* the pairs around the new part */

        for (k = 0; k < 2; k++) {
            size_t  at;

            if (k == 0) {
                at = i;

            } else {
                if (i == 0) {
                    break;
                }

                at = prv[i];
            }

            rk[at] = (nxt[at] < n)
                     ? bpe_rank_padded(bpe, p + at, nxt[nxt[at]] - at)
                     : BPE_NONE;

            if (rk[at] == BPE_NONE) {
                continue;
            }

            /* push */

            e = (uint64_t) rk[at] << 32 | at;
            j = hn++;

            while (j > 0) {
                child = (j - 1) / 2;    /* the parent */

                if (heap[child] <= e) {
                    break;
                }

                heap[j] = heap[child];
                j = child;
            }

            heap[j] = e;
        }
    }

    if (mem != bpe->scratch) {
        free(mem);
    }

    return m;
}


static size_t
bpe_chunks(ngx_http_llm_bpe_t *bpe, const u_char *p, size_t n)
{
    size_t  c, len, total;

    total = 0;

    while (n) {
        len = n;

        if (len > BPE_CHUNK) {
            len = BPE_CHUNK;

            /* not inside a UTF-8 sequence (at most 3 continuation bytes) */

            while (len > BPE_CHUNK - 3 && (p[len] & 0xc0) == 0x80) {
                len--;
            }
        }

        c = (len > BPE_SMALL) ? bpe_merge_heap(bpe, p, len)
                              : bpe_merge_small(bpe, p, len);
        if (c == (size_t) -1) {
            return c;
        }

        total += c;
        p += len;
        n -= len;
    }

    return total;
}


static size_t
bpe_piece(ngx_http_llm_bpe_t *bpe, const u_char *p, size_t n)
{
    size_t        c;
    uint32_t      h;
    bpe_cache_t  *e;

    if (n == 1) {
        return 1;
    }

    if (n > BPE_CHUNK) {
        return bpe_chunks(bpe, p, n);
    }

    if (n > BPE_CACHE_KEY) {
        if (bpe_rank(bpe, p, n) != BPE_NONE) {
            return 1;
        }

        return bpe_merge_heap(bpe, p, n);
    }

    h = bpe_hash(p, n);
    e = &bpe->cache[h >> (32 - BPE_CACHE_BITS)];

    bpe->lookups++;

    if (e->hash == h && e->len == n && memcmp(e->key, p, n) == 0) {
        bpe->hits++;
        return e->count;
    }

    if (n > 8 ? bpe_rank_long(bpe, p, n, h) != BPE_NONE
              : bpe_rank(bpe, p, n) != BPE_NONE)
    {
        c = 1;

    } else if (n <= BPE_SMALL) {
        c = bpe_merge_small(bpe, p, n);

    } else {
        c = bpe_merge_heap(bpe, p, n);
    }

    e->hash = h;
    e->len = (uint8_t) n;
    e->count = (uint8_t) c;
    memcpy(e->key, p, n);

    return c;
}


static size_t
bpe_split(ngx_http_llm_bpe_t *bpe, const u_char *text, size_t len)
{
    int          rc;
    size_t       off, end, c, n;
    PCRE2_SIZE  *ov;

    ov = pcre2_get_ovector_pointer(bpe->md);
    n = 0;

    for (off = 0; off < len; off = end) {

        if (bpe->jit) {
            rc = pcre2_jit_match(bpe->re, text, len, off, 0, bpe->md,
                                 bpe->mctx);
        } else {
            rc = pcre2_match(bpe->re, text, len, off, PCRE2_NO_UTF_CHECK,
                             bpe->md, bpe->mctx);
        }

        if (rc < 0 || ov[1] <= off) {
            return (size_t) -1;
        }

        end = ov[1];

        c = bpe_piece(bpe, text + off, end - off);
        if (c == (size_t) -1) {
            return c;
        }

        n += c;
    }

    return n;
}


size_t
ngx_http_llm_bpe_count(ngx_http_llm_bpe_t *bpe, const u_char *text,
    size_t len)
{
    size_t   n, valid;
    u_char  *copy;

    if (len == 0) {
        return 0;
    }

    if (bpe->md == NULL && bpe_worker_init(bpe) != 0) {
        return (size_t) -1;
    }

    valid = bpe_utf8_valid(text, len);

    if (valid == len) {
        return bpe_split(bpe, text, len);
    }

    /* at most 3 bytes (U+FFFD) for each byte */

    copy = malloc(len * 3);
    if (copy == NULL) {
        return (size_t) -1;
    }

    memcpy(copy, text, valid);
    n = valid + bpe_utf8_sanitize(text + valid, len - valid, copy + valid);

    n = bpe_split(bpe, copy, n);

    free(copy);

    return n;
}


/* the length of the valid UTF-8 prefix */

static size_t
bpe_utf8_valid(const u_char *p, size_t n)
{
    size_t    i, k;
    uint64_t  w;
    u_char    c, lo, hi;

    i = 0;

    while (i < n) {

        if (i + 8 <= n) {
            memcpy(&w, p + i, 8);

            if ((w & 0x8080808080808080ull) == 0) {
                i += 8;
                continue;
            }
        }

        c = p[i];

        if (c < 0x80) {
            i++;
            continue;
        }

        lo = 0x80;
        hi = 0xbf;

        if (c >= 0xc2 && c <= 0xdf) {
            k = 1;

        } else if (c >= 0xe0 && c <= 0xef) {
            k = 2;

            if (c == 0xe0) {
                lo = 0xa0;

            } else if (c == 0xed) {
                hi = 0x9f;
            }

        } else if (c >= 0xf0 && c <= 0xf4) {
            k = 3;

            if (c == 0xf0) {
                lo = 0x90;

            } else if (c == 0xf4) {
                hi = 0x8f;
            }

        } else {
            return i;
        }

        if (i + k >= n) {
            return i;           /* truncated */
        }

        if (p[i + 1] < lo || p[i + 1] > hi) {
            return i;
        }

        if (k > 1 && (p[i + 2] < 0x80 || p[i + 2] > 0xbf)) {
            return i;
        }

        if (k > 2 && (p[i + 3] < 0x80 || p[i + 3] > 0xbf)) {
            return i;
        }

        i += k + 1;
    }

    return n;
}


/*
 * Replace every maximal invalid subpart with U+FFFD, as the WHATWG UTF-8
 * decoder does; returns the bytes written.
 */

static size_t
bpe_utf8_sanitize(const u_char *p, size_t n, u_char *out)
{
    size_t   i, j, k, need, o;
    u_char   c, lo, hi;

    o = 0;
    i = 0;

    while (i < n) {
        c = p[i];

        if (c < 0x80) {
            out[o++] = c;
            i++;
            continue;
        }

        lo = 0x80;
        hi = 0xbf;

        if (c >= 0xc2 && c <= 0xdf) {
            need = 1;

        } else if (c >= 0xe0 && c <= 0xef) {
            need = 2;
            lo = (c == 0xe0) ? 0xa0 : 0x80;
            hi = (c == 0xed) ? 0x9f : 0xbf;

        } else if (c >= 0xf0 && c <= 0xf4) {
            need = 3;
            lo = (c == 0xf0) ? 0x90 : 0x80;
            hi = (c == 0xf4) ? 0x8f : 0xbf;

        } else {
            goto replace1;
        }

        j = i + 1;

        for (k = 0; k < need; k++, j++) {
            if (j >= n || p[j] < lo || p[j] > hi) {
                /* the bytes so far are one invalid subpart */
                i = j;
                goto replace;
            }

            lo = 0x80;
            hi = 0xbf;
        }

        memcpy(out + o, p + i, j - i);
        o += j - i;
        i = j;
        continue;

    replace1:

        i++;

    replace:

        out[o++] = 0xef;
        out[o++] = 0xbf;
        out[o++] = 0xbd;
    }

    return o;
}
