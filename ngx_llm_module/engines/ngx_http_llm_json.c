
/*
 * Copyright (C) ngx_llm_module authors
 */


#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "ngx_http_llm_json.h"


#define NGX_HTTP_LLM_JSON_ONES     0x0101010101010101ULL
#define NGX_HTTP_LLM_JSON_HIGHS    0x8080808080808080ULL

#define NGX_HTTP_LLM_JSON_DBL_MAX  1.7976931348623157e308

#if (defined __GNUC__ && defined __BYTE_ORDER__                              \
     && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__)
#define NGX_HTTP_LLM_JSON_CTZ      1
#else
#define NGX_HTTP_LLM_JSON_CTZ      0
#endif

/*
 * String contents are scanned sixteen bytes at a time with SSE2 (x86-64's
 * baseline), unless built with -DNGX_HTTP_LLM_JSON_NO_SIMD: then eight at a
 * time in a 64-bit word, the portable path (tested as well, t/000-unit.t).
 */

#if (defined __SSE2__ && defined __GNUC__ && !defined NGX_HTTP_LLM_JSON_NO_SIMD)
#define NGX_HTTP_LLM_JSON_SSE2     1
#include <emmintrin.h>
#else
#define NGX_HTTP_LLM_JSON_SSE2     0
#endif

/*
 * Where the CPU has AVX2 (checked at run time), string contents are
 * scanned 32 bytes at a time instead; -DNGX_HTTP_LLM_JSON_NO_AVX2 keeps
 * the SSE2 path (tested as well, t/000-unit.t).
 */

#if (NGX_HTTP_LLM_JSON_SSE2 && defined __x86_64__                             \
     && !defined NGX_HTTP_LLM_JSON_NO_AVX2)
#define NGX_HTTP_LLM_JSON_AVX2     1
#include <immintrin.h>
#else
#define NGX_HTTP_LLM_JSON_AVX2     0
#endif

#if (defined __GNUC__)
#define NGX_HTTP_LLM_JSON_INLINE   inline __attribute__((always_inline))
#else
#define NGX_HTTP_LLM_JSON_INLINE   inline
#endif

/* the role of the next token */
#define NGX_HTTP_LLM_JSON_ROOT     0
#define NGX_HTTP_LLM_JSON_ELEMENT  1
#define NGX_HTTP_LLM_JSON_KEY      2
#define NGX_HTTP_LLM_JSON_MEMBER   3


/* one comparison for the bytes that are not white space, most of them */

#define ngx_http_llm_json_is_ws(c)                                           \
    ((c) <= ' '                                                              \
     && ((c) == ' ' || (c) == '\n' || (c) == '\r' || (c) == '\t'))

#define ngx_http_llm_json_skip_ws(pos, last)                                 \
    while ((pos) < (last) && ngx_http_llm_json_is_ws(*(pos))) (pos)++

#define ngx_http_llm_json_is_digit(c)  ((u_char) ((c) - '0') <= 9)


static const u_char *ngx_http_llm_json_fail(ngx_http_llm_json_t *p,
    const char *err, size_t offset);
static const u_char *ngx_http_llm_json_scan_string(ngx_http_llm_json_t *p,
    const u_char *pos, const u_char *last, unsigned *escaped);
#if (NGX_HTTP_LLM_JSON_AVX2)
static const u_char *ngx_http_llm_json_scan_string_avx2(
    ngx_http_llm_json_t *p, const u_char *pos, const u_char *last,
    unsigned *escaped);
#endif
static NGX_HTTP_LLM_JSON_INLINE const u_char *ngx_http_llm_json_scan_special(
    ngx_http_llm_json_t *p, const u_char *pos, const u_char *last,
    unsigned *escaped);
static const u_char *ngx_http_llm_json_scan_hex4(ngx_http_llm_json_t *p,
    const u_char *pos, const u_char *last, uint32_t *cp);
static const u_char *ngx_http_llm_json_scan_number(ngx_http_llm_json_t *p,
    const u_char *pos, const u_char *last, unsigned *integer);
static const u_char *ngx_http_llm_json_scan_literal(ngx_http_llm_json_t *p,
    const u_char *pos, const u_char *last, const char *lit, size_t n);
static inline int ngx_http_llm_json_hex(u_char c);
static int ngx_http_llm_json_hex4(const u_char *pos, uint32_t *cp);
static NGX_HTTP_LLM_JSON_INLINE size_t ngx_http_llm_json_unescape(
    const u_char **ppos, const u_char *last, u_char *out);
static int ngx_http_llm_json_key_eq(const u_char *raw, size_t len,
    const u_char *key, size_t key_len);
static const ngx_http_llm_json_token_t *ngx_http_llm_json_number(
    const ngx_http_llm_json_t *p, uint32_t tok);


/*
 * Bytes that end a run of plain string contents: control characters, '"',
 * '\\' and everything above 0x7f (the start of a multibyte UTF-8 sequence
 * or an invalid byte).
 */

static const u_char  ngx_http_llm_json_special[256] = {
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,    /* 0x00 */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,    /* 0x10 */
    0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,    /* 0x20 '"' */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,    /* 0x30 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,    /* 0x40 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0,    /* 0x50 '\\' */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,    /* 0x60 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,    /* 0x70 */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,    /* 0x80 */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,    /* 0x90 */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,    /* 0xa0 */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,    /* 0xb0 */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,    /* 0xc0 */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,    /* 0xd0 */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,    /* 0xe0 */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1     /* 0xf0 */
};


#if (NGX_HTTP_LLM_JSON_SSE2)

/*
 * The bytes of pos[0..15] that do not end a run of plain string contents
 * (ngx_http_llm_json_special[] is 0), each 0xff in the result.  '"' ^ 2 is
 * 0x20, control characters ^ 2 stay below it, bytes above 0x7f are negative:
 * one signed comparison of the bytes ^ 2 with 0x20 leaves out the three
 * kinds; '\\' needs one of its own.
 */

static inline __m128i
ngx_http_llm_json_plain16(const u_char *pos)
{
    __m128i  v;

    v = _mm_loadu_si128((const __m128i *) pos);

    return _mm_andnot_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('\\')),
                            _mm_cmpgt_epi8(_mm_xor_si128(v, _mm_set1_epi8(2)),
                                           _mm_set1_epi8(0x20)));
}


/* the special bytes of pos[0..15], bit i for pos[i] */

static inline uint32_t
ngx_http_llm_json_special16(const u_char *pos)
{
    return (uint32_t) _mm_movemask_epi8(ngx_http_llm_json_plain16(pos))
           ^ 0xffff;
}

#endif


#if (NGX_HTTP_LLM_JSON_AVX2)

/* 1: AVX2, 0: not, -1: not known yet */
static int  ngx_http_llm_json_avx2 = -1;


/*
 * The special bytes of pos[0..31], bit i for pos[i]: as plain16(), the
 * bytes ^ 2 below 0x21 (signed: '"', control characters, bytes above 0x7f)
 * or '\\'
 */

__attribute__((target("avx2"))) static inline uint32_t
ngx_http_llm_json_special32(const u_char *pos)
{
    __m256i  v;

    v = _mm256_loadu_si256((const __m256i *) pos);

    return (uint32_t) _mm256_movemask_epi8(_mm256_or_si256(
               _mm256_cmpgt_epi8(_mm256_set1_epi8(0x21),
                                 _mm256_xor_si256(v, _mm256_set1_epi8(2))),
               _mm256_cmpeq_epi8(v, _mm256_set1_epi8('\\'))));
}

#endif


/* the type of a value by its first byte, 0: no value starts with it */

static const u_char  ngx_http_llm_json_type_of[256] = {
    ['{'] = NGX_HTTP_LLM_JSON_OBJECT,
    ['['] = NGX_HTTP_LLM_JSON_ARRAY,
    ['"'] = NGX_HTTP_LLM_JSON_STRING,
    ['-'] = NGX_HTTP_LLM_JSON_NUMBER,
    ['0'] = NGX_HTTP_LLM_JSON_NUMBER, ['1'] = NGX_HTTP_LLM_JSON_NUMBER,
    ['2'] = NGX_HTTP_LLM_JSON_NUMBER, ['3'] = NGX_HTTP_LLM_JSON_NUMBER,
    ['4'] = NGX_HTTP_LLM_JSON_NUMBER, ['5'] = NGX_HTTP_LLM_JSON_NUMBER,
    ['6'] = NGX_HTTP_LLM_JSON_NUMBER, ['7'] = NGX_HTTP_LLM_JSON_NUMBER,
    ['8'] = NGX_HTTP_LLM_JSON_NUMBER, ['9'] = NGX_HTTP_LLM_JSON_NUMBER,
    ['t'] = NGX_HTTP_LLM_JSON_TRUE,
    ['f'] = NGX_HTTP_LLM_JSON_FALSE,
    ['n'] = NGX_HTTP_LLM_JSON_NULL
};


/* short escapes of control characters for the encoder, 0: use \u00XX */

static const u_char  ngx_http_llm_json_ctl_escape[32] = {
    0, 0, 0, 0, 0, 0, 0, 0, 'b', 't', 'n', 0, 'f', 'r', 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0
};


static const double  ngx_http_llm_json_pow10[] = {
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
    1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22
};


/* 10^(2^i), in extended precision where the platform has it */

static const long double  ngx_http_llm_json_pow10_bin[] = {
    1e1L, 1e2L, 1e4L, 1e8L, 1e16L, 1e32L, 1e64L, 1e128L, 1e256L
};


int
ngx_http_llm_json_parse(ngx_http_llm_json_t *p)
{
    u_char                      c, kind[NGX_HTTP_LLM_JSON_MAX_DEPTH];
    unsigned                    role, type, escaped, integer;
    uint32_t                    n, idx, depth, max_depth, max_tokens;
    uint32_t                    stack[NGX_HTTP_LLM_JSON_MAX_DEPTH];
    uint32_t                    prev[NGX_HTTP_LLM_JSON_MAX_DEPTH];
    const u_char               *data, *pos, *last;
    ngx_http_llm_json_token_t  *tokens, *tok;
#if (NGX_HTTP_LLM_JSON_AVX2)
    uint32_t                    short_bits;
#endif

    p->ntokens = 0;
    p->err = NULL;
    p->err_offset = 0;
    p->full = 0;

    if ((uint64_t) p->len > 0xffffffffULL) {
        p->err = "document too large";
        return NGX_HTTP_LLM_JSON_ERROR;
    }

    if (p->len == 0) {
        p->err = "empty body";
        return NGX_HTTP_LLM_JSON_ERROR;
    }

#if (NGX_HTTP_LLM_JSON_AVX2)
    if (ngx_http_llm_json_avx2 < 0) {
        ngx_http_llm_json_avx2 = __builtin_cpu_supports("avx2") ? 1 : 0;
    }
#endif

    max_depth = p->max_depth;
    if (max_depth == 0 || max_depth > NGX_HTTP_LLM_JSON_MAX_DEPTH) {
        max_depth = NGX_HTTP_LLM_JSON_MAX_DEPTH;
    }

    tokens = p->tokens;

    /*
     * The filling pass cannot go beyond its array; the counting pass is
     * unlimited unless the caller sets a limit.
     */

    max_tokens = p->max_tokens;
    if (tokens == NULL && max_tokens == 0) {
        max_tokens = NGX_HTTP_LLM_JSON_NONE;
    }

    data = p->data;
    pos = data;
    last = data + p->len;

    n = 0;
    depth = 0;
    tok = NULL;
    role = NGX_HTTP_LLM_JSON_ROOT;

    ngx_http_llm_json_skip_ws(pos, last);

    if (pos == last) {
        p->err = "empty body";
        p->err_offset = p->len;
        return NGX_HTTP_LLM_JSON_ERROR;
    }

token:

    /* pos < last, white space skipped: the first byte of a token */

    c = *pos;
    type = ngx_http_llm_json_type_of[c];

    if (type == 0 || (role == NGX_HTTP_LLM_JSON_KEY && c != '"')) {
        goto unexpected;
    }

    if (n >= max_tokens) {
        p->err = "too many tokens";
        p->full = (tokens != NULL);
        goto failed;
    }

    idx = n++;

    if (tokens) {
        tok = &tokens[idx];

        /* one store of the whole token: the bit fields are zero */

        *tok = (ngx_http_llm_json_token_t) {
            .start = (uint32_t) (pos - data),
            .parent = depth ? stack[depth - 1] : NGX_HTTP_LLM_JSON_NONE,
            .next = NGX_HTTP_LLM_JSON_NONE,
            .type = type,
            .key = (role == NGX_HTTP_LLM_JSON_KEY)
        };

        if (role == NGX_HTTP_LLM_JSON_ELEMENT
            || role == NGX_HTTP_LLM_JSON_KEY)
        {
            if (prev[depth - 1] != NGX_HTTP_LLM_JSON_NONE) {
                tokens[prev[depth - 1]].next = idx;
            }

            prev[depth - 1] = idx;
            tokens[stack[depth - 1]].size++;
        }
    }

    switch (c) {

    case '{':
    case '[':
        if (depth == max_depth) {
            p->err = "maximum nesting depth exceeded";
            goto failed;
        }

        stack[depth] = idx;
        prev[depth] = NGX_HTTP_LLM_JSON_NONE;
        kind[depth] = c;
        depth++;

        pos++;
        ngx_http_llm_json_skip_ws(pos, last);

        if (pos == last) {
            goto unexpected_end;
        }

        if (*pos == (u_char) (c + 2)) {
            /* "{}" or "[]": '}' is '{' + 2, ']' is '[' + 2 */
            goto close;
        }

        role = (c == '{') ? NGX_HTTP_LLM_JSON_KEY : NGX_HTTP_LLM_JSON_ELEMENT;
        goto token;

    case '"':
        escaped = 0;
#if (NGX_HTTP_LLM_JSON_AVX2)
        if (ngx_http_llm_json_avx2) {

            /*
             * A short plain string (a key, a role, a model): its closing
             * quote the first special byte of the first 16, found here
             * without a call; longer ones 32 bytes at a time
             */

            if ((size_t) (last - pos) > 16
                && (short_bits = ngx_http_llm_json_special16(pos + 1)) != 0
                && pos[1 + __builtin_ctz(short_bits)] == '"')
            {
                pos += 2 + __builtin_ctz(short_bits);

            } else {
                pos = ngx_http_llm_json_scan_string_avx2(p, pos + 1, last,
                                                         &escaped);
            }

        } else
#endif
        pos = ngx_http_llm_json_scan_string(p, pos + 1, last, &escaped);
        if (pos == NULL) {
            goto error;
        }

        if (tok) {
            tok->escaped = escaped;
            tok->end = (uint32_t) (pos - data);
        }

        if (role != NGX_HTTP_LLM_JSON_KEY) {
            break;
        }

        ngx_http_llm_json_skip_ws(pos, last);

        if (pos == last) {
            goto unexpected_end;
        }

        if (*pos != ':') {
            goto unexpected;
        }

        pos++;
        ngx_http_llm_json_skip_ws(pos, last);

        if (pos == last) {
            goto unexpected_end;
        }

        role = NGX_HTTP_LLM_JSON_MEMBER;
        goto token;

    case 't':
        pos = ngx_http_llm_json_scan_literal(p, pos, last, "true", 4);
        goto literal;

    case 'f':
        pos = ngx_http_llm_json_scan_literal(p, pos, last, "false", 5);
        goto literal;

    case 'n':
        pos = ngx_http_llm_json_scan_literal(p, pos, last, "null", 4);

    literal:

        if (pos == NULL) {
            goto error;
        }

        if (tok) {
            tok->end = (uint32_t) (pos - data);
        }

        break;

    default: /* '-', '0' .. '9' */
        integer = 1;
        pos = ngx_http_llm_json_scan_number(p, pos, last, &integer);
        if (pos == NULL) {
            goto error;
        }

        if (tok) {
            tok->integer = integer;
            tok->end = (uint32_t) (pos - data);
        }

        break;
    }

next:

    /* a value has ended at pos */

    ngx_http_llm_json_skip_ws(pos, last);

    if (depth == 0) {
        if (pos != last) {
            p->err = "trailing data after the JSON value";
            goto failed;
        }

        p->ntokens = n;
        return NGX_HTTP_LLM_JSON_OK;
    }

    if (pos == last) {
        goto unexpected_end;
    }

    if (*pos == ',') {
        pos++;
        ngx_http_llm_json_skip_ws(pos, last);

        if (pos == last) {
            goto unexpected_end;
        }

        role = (kind[depth - 1] == '{') ? NGX_HTTP_LLM_JSON_KEY
                                        : NGX_HTTP_LLM_JSON_ELEMENT;
        goto token;
    }

    if (*pos != (u_char) (kind[depth - 1] + 2)) {
        goto unexpected;
    }

close:

    /* pos points to the '}' or ']' that closes stack[depth - 1] */

    depth--;

    if (tokens) {
        tokens[stack[depth]].end = (uint32_t) (pos + 1 - data);
    }

    pos++;
    goto next;

unexpected:

    p->err = "unexpected character";
    goto failed;

unexpected_end:

    p->err = "unexpected end of data";

failed:

    p->err_offset = (size_t) (pos - data);

error:

    p->ntokens = n;
    return NGX_HTTP_LLM_JSON_ERROR;
}


static const u_char *
ngx_http_llm_json_fail(ngx_http_llm_json_t *p, const char *err,
    size_t offset)
{
    p->err = err;
    p->err_offset = offset;

    return NULL;
}


/*
 * pos points past the opening quote; returns the position past the closing
 * quote or NULL on error.
 */

static const u_char *
ngx_http_llm_json_scan_string(ngx_http_llm_json_t *p, const u_char *pos,
    const u_char *last, unsigned *escaped)
{
#if (NGX_HTTP_LLM_JSON_SSE2)
    size_t         off;
    uint32_t       bits;
    const u_char  *base;
#else
    uint64_t       w, t, hit;
#endif

#if (NGX_HTTP_LLM_JSON_SSE2)

    /*
     * Sixteen bytes at a time, two per round: the special bytes of a
     * window of sixteen are found at once, and each is handled in turn
     * without loading the window again (escapes and non-ASCII characters
     * are often a few bytes apart).  Short strings (keys) end in the first
     * window.
     */

    while ((size_t) (last - pos) >= 32) {
        base = pos;

        for ( ;; ) {
            bits = ngx_http_llm_json_special16(base);

            if (bits) {
                break;
            }

            bits = ngx_http_llm_json_special16(base + 16);

            if (bits) {
                base += 16;
                break;
            }

            base += 32;

            if ((size_t) (last - base) < 32) {
                pos = base;
                goto tail;
            }
        }

        for ( ;; ) {
            pos = base + __builtin_ctz(bits);

            if (*pos == '"') {
                return pos + 1;
            }

            pos = ngx_http_llm_json_scan_special(p, pos, last, escaped);
            if (pos == NULL) {
                return NULL;
            }

            /* the next special byte of the window past what was consumed */

            off = (size_t) (pos - base);

            if (off >= 16) {
                break;
            }

            bits &= 0xffff << off;

            if (bits == 0) {
                pos = base + 16;
                break;
            }
        }
    }

tail:

#endif

    for ( ;; ) {

#if !(NGX_HTTP_LLM_JSON_SSE2)

        /* skip plain ASCII eight bytes at a time */

        while (last - pos >= 8) {
            memcpy(&w, pos, 8);

            t = w ^ (NGX_HTTP_LLM_JSON_ONES * '"');
            hit = (t - NGX_HTTP_LLM_JSON_ONES) & ~t;

            t = w ^ (NGX_HTTP_LLM_JSON_ONES * '\\');
            hit |= (t - NGX_HTTP_LLM_JSON_ONES) & ~t;

            hit |= (w - NGX_HTTP_LLM_JSON_ONES * 0x20) & ~w;
            hit |= w;
            hit &= NGX_HTTP_LLM_JSON_HIGHS;

            if (hit) {
#if (NGX_HTTP_LLM_JSON_CTZ)
                /*
                 * The lowest flagged byte is a real one: a false flag can
                 * only come from a borrow, and borrows propagate upwards.
                 */
                pos += __builtin_ctzll(hit) >> 3;
#endif
                break;
            }

            pos += 8;
        }

#endif

        while (pos < last && ngx_http_llm_json_special[*pos] == 0) {
            pos++;
        }

        if (pos == last) {
            return ngx_http_llm_json_fail(p, "unterminated string", p->len);
        }

        if (*pos == '"') {
            return pos + 1;
        }

        pos = ngx_http_llm_json_scan_special(p, pos, last, escaped);
        if (pos == NULL) {
            return NULL;
        }
    }
}


#if (NGX_HTTP_LLM_JSON_AVX2)

/*
 * scan_string()'s SSE2 loop with windows of 32 bytes: fewer windows for
 * long contents (the special bytes of a prompt are tens of bytes apart);
 * the last 31 bytes or fewer are scan_string()'s.
 */

__attribute__((target("avx2"))) static const u_char *
ngx_http_llm_json_scan_string_avx2(ngx_http_llm_json_t *p, const u_char *pos,
    const u_char *last, unsigned *escaped)
{
    size_t         off;
    uint32_t       bits;
    const u_char  *base;

    while ((size_t) (last - pos) >= 32) {
        base = pos;

        for ( ;; ) {
            bits = ngx_http_llm_json_special32(base);

            if (bits) {
                break;
            }

            base += 32;

            if ((size_t) (last - base) < 32) {
                return ngx_http_llm_json_scan_string(p, base, last, escaped);
            }
        }

        for ( ;; ) {
            pos = base + __builtin_ctz(bits);

            if (*pos == '"') {
                return pos + 1;
            }

            pos = ngx_http_llm_json_scan_special(p, pos, last, escaped);
            if (pos == NULL) {
                return NULL;
            }

            /* the next special byte of the window past what was consumed */

            off = (size_t) (pos - base);

            if (off >= 32) {
                break;
            }

            bits &= 0xffffffffU << off;

            if (bits == 0) {
                pos = base + 32;
                break;
            }
        }
    }

    return ngx_http_llm_json_scan_string(p, pos, last, escaped);
}

#endif


/*
 * A special byte of string contents other than the closing quote, at pos:
 * an escape, a control character (an error) or the start of a UTF-8
 * sequence.  Returns the position past it, or NULL on error.
 */

static NGX_HTTP_LLM_JSON_INLINE const u_char *
ngx_http_llm_json_scan_special(ngx_http_llm_json_t *p, const u_char *pos,
    const u_char *last, unsigned *escaped)
{
    u_char         c, lo, hi;
    size_t         more;
    uint32_t       cp, low;
    const u_char  *esc;

    c = *pos;

    if (c >= 0xc2 && c < 0xe0) {

        /* the most common: a 2-byte sequence (Latin, Greek, Cyrillic) */

        if (last - pos < 2) {
            goto unterminated;
        }

        if ((pos[1] & 0xc0) != 0x80) {
            pos++;
            goto invalid;
        }

        return pos + 2;
    }

    if (c == '\\') {
        *escaped = 1;
        esc = pos++;

        if (pos == last) {
            goto unterminated;
        }

        switch (*pos) {
        case '"': case '\\': case '/':
        case 'b': case 'f': case 'n': case 'r': case 't':
            return pos + 1;

        case 'u':
            break;

        default:
            return ngx_http_llm_json_fail(p, "invalid escape", pos - p->data);
        }

        pos = ngx_http_llm_json_scan_hex4(p, pos + 1, last, &cp);
        if (pos == NULL) {
            return NULL;
        }

        if (cp < 0xd800 || cp > 0xdfff) {
            return pos;
        }

        if (cp >= 0xdc00) {
            goto lone;
        }

        /* a high surrogate: "\uDC00".."\uDFFF" must follow */

        if (pos == last) {
            goto unterminated;
        }

        if (*pos != '\\') {
            goto lone;
        }

        if (pos + 1 == last) {
            goto unterminated;
        }

        if (pos[1] != 'u') {
            goto lone;
        }

        pos = ngx_http_llm_json_scan_hex4(p, pos + 2, last, &low);
        if (pos == NULL) {
            return NULL;
        }

        if (low < 0xdc00 || low > 0xdfff) {
            goto lone;
        }

        return pos;
    }

    if (c < 0x20) {
        return ngx_http_llm_json_fail(p, "control character in string",
                                      pos - p->data);
    }

    /* UTF-8, RFC 3629 */

    lo = 0x80;
    hi = 0xbf;

    if (c < 0xc2) {
        goto invalid;

    } else if (c < 0xf0) {
        more = 1;

        if (c == 0xe0) {
            lo = 0xa0;

        } else if (c == 0xed) {
            hi = 0x9f;
        }

    } else if (c < 0xf5) {
        more = 2;

        if (c == 0xf0) {
            lo = 0x90;

        } else if (c == 0xf4) {
            hi = 0x8f;
        }

    } else {
        goto invalid;
    }

    pos++;

    if (pos == last) {
        goto unterminated;
    }

    if (*pos < lo || *pos > hi) {
        goto invalid;
    }

    pos++;

    while (more) {
        if (pos == last) {
            goto unterminated;
        }

        if ((*pos & 0xc0) != 0x80) {
            goto invalid;
        }

        pos++;
        more--;
    }

    return pos;

unterminated:

    return ngx_http_llm_json_fail(p, "unterminated string", p->len);

invalid:

    return ngx_http_llm_json_fail(p, "invalid UTF-8 in string",
                                  pos - p->data);

lone:

    return ngx_http_llm_json_fail(p, "lone surrogate in \\u escape",
                                  esc - p->data);
}


static const u_char *
ngx_http_llm_json_scan_hex4(ngx_http_llm_json_t *p, const u_char *pos,
    const u_char *last, uint32_t *cp)
{
    int       d;
    uint32_t  v, i;

    v = 0;

    for (i = 0; i < 4; i++) {
        if (pos == last) {
            return ngx_http_llm_json_fail(p, "unterminated string", p->len);
        }

        d = ngx_http_llm_json_hex(*pos);
        if (d < 0) {
            return ngx_http_llm_json_fail(p, "invalid escape", pos - p->data);
        }

        v = (v << 4) | (uint32_t) d;
        pos++;
    }

    *cp = v;

    return pos;
}


/* RFC 8259: -? (0 | [1-9][0-9]*) (\.[0-9]+)? ([eE][+-]?[0-9]+)? */

static const u_char *
ngx_http_llm_json_scan_number(ngx_http_llm_json_t *p, const u_char *pos,
    const u_char *last, unsigned *integer)
{
    if (*pos == '-') {
        pos++;

        if (pos == last) {
            goto invalid;
        }
    }

    if (*pos == '0') {
        pos++;

        if (pos < last && ngx_http_llm_json_is_digit(*pos)) {
            goto invalid;
        }

    } else if (ngx_http_llm_json_is_digit(*pos)) {
        do {
            pos++;
        } while (pos < last && ngx_http_llm_json_is_digit(*pos));

    } else {
        goto invalid;
    }

    *integer = 1;

    if (pos < last && *pos == '.') {
        *integer = 0;
        pos++;

        if (pos == last || !ngx_http_llm_json_is_digit(*pos)) {
            goto invalid;
        }

        do {
            pos++;
        } while (pos < last && ngx_http_llm_json_is_digit(*pos));
    }

    if (pos < last && (*pos == 'e' || *pos == 'E')) {
        *integer = 0;
        pos++;

        if (pos < last && (*pos == '+' || *pos == '-')) {
            pos++;
        }

        if (pos == last || !ngx_http_llm_json_is_digit(*pos)) {
            goto invalid;
        }

        do {
            pos++;
        } while (pos < last && ngx_http_llm_json_is_digit(*pos));
    }

    return pos;

invalid:

    return ngx_http_llm_json_fail(p, "invalid number", pos - p->data);
}


static const u_char *
ngx_http_llm_json_scan_literal(ngx_http_llm_json_t *p, const u_char *pos,
    const u_char *last, const char *lit, size_t n)
{
    size_t  i;

    if ((size_t) (last - pos) >= n && memcmp(pos, lit, n) == 0) {
        return pos + n;
    }

    /* where it differs */

    for (i = 0; i < n; i++) {
        if (pos == last) {
            return ngx_http_llm_json_fail(p, "unexpected end of data",
                                          p->len);
        }

        if (*pos != (u_char) lit[i]) {
            return ngx_http_llm_json_fail(p, "unexpected character",
                                          pos - p->data);
        }

        pos++;
    }

    return pos;
}


static inline int
ngx_http_llm_json_hex(u_char c)
{
    u_char  l;

    if (c >= '0' && c <= '9') {
        return c - '0';
    }

    l = c | 0x20;

    if (l >= 'a' && l <= 'f') {
        return l - 'a' + 10;
    }

    return -1;
}


/* four hex digits at pos, which has at least four bytes */

static int
ngx_http_llm_json_hex4(const u_char *pos, uint32_t *cp)
{
    int       d;
    uint32_t  v, i;

    v = 0;

    for (i = 0; i < 4; i++) {
        d = ngx_http_llm_json_hex(pos[i]);
        if (d < 0) {
            return NGX_HTTP_LLM_JSON_ERROR;
        }

        v = (v << 4) | (uint32_t) d;
    }

    *cp = v;

    return NGX_HTTP_LLM_JSON_OK;
}


/*
 * Decode the escape at *ppos (a '\\') into out, advance *ppos past it and
 * return the number of bytes written, never more than were consumed.  Input
 * that was not validated is tolerated: a malformed escape yields its
 * characters without the backslash, a lone surrogate yields U+FFFD.
 */

static NGX_HTTP_LLM_JSON_INLINE size_t
ngx_http_llm_json_unescape(const u_char **ppos, const u_char *last,
    u_char *out)
{
    u_char         c;
    uint32_t       cp, low;
    const u_char  *pos;

    pos = *ppos + 1;

    if (pos == last) {
        *ppos = pos;
        out[0] = '\\';
        return 1;
    }

    c = *pos++;
    *ppos = pos;

    switch (c) {
    case 'b':
        out[0] = '\b';
        return 1;
    case 'f':
        out[0] = '\f';
        return 1;
    case 'n':
        out[0] = '\n';
        return 1;
    case 'r':
        out[0] = '\r';
        return 1;
    case 't':
        out[0] = '\t';
        return 1;
    case 'u':
        break;
    default:
        out[0] = c;
        return 1;
    }

    if (last - pos < 4 || ngx_http_llm_json_hex4(pos, &cp) != 0) {
        out[0] = 'u';
        return 1;
    }

    pos += 4;

    if (cp >= 0xd800 && cp <= 0xdbff
        && last - pos >= 6 && pos[0] == '\\' && pos[1] == 'u'
        && ngx_http_llm_json_hex4(pos + 2, &low) == 0
        && low >= 0xdc00 && low <= 0xdfff)
    {
        cp = 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00);
        pos += 6;

    } else if (cp >= 0xd800 && cp <= 0xdfff) {
        cp = 0xfffd;
    }

    *ppos = pos;

    if (cp < 0x80) {
        out[0] = (u_char) cp;
        return 1;
    }

    if (cp < 0x800) {
        out[0] = (u_char) (0xc0 | (cp >> 6));
        out[1] = (u_char) (0x80 | (cp & 0x3f));
        return 2;
    }

    if (cp < 0x10000) {
        out[0] = (u_char) (0xe0 | (cp >> 12));
        out[1] = (u_char) (0x80 | ((cp >> 6) & 0x3f));
        out[2] = (u_char) (0x80 | (cp & 0x3f));
        return 3;
    }

    out[0] = (u_char) (0xf0 | (cp >> 18));
    out[1] = (u_char) (0x80 | ((cp >> 12) & 0x3f));
    out[2] = (u_char) (0x80 | ((cp >> 6) & 0x3f));
    out[3] = (u_char) (0x80 | (cp & 0x3f));
    return 4;
}


/* compare the raw contents of a string with decoded text, without a copy */

static int
ngx_http_llm_json_key_eq(const u_char *raw, size_t len, const u_char *key,
    size_t key_len)
{
    u_char         buf[4];
    size_t         n;
    const u_char  *pos, *last, *k, *klast;

    pos = raw;
    last = raw + len;
    k = key;
    klast = key + key_len;

    while (pos < last) {

        if (*pos != '\\') {
            if (k == klast || *k != *pos) {
                return 0;
            }

            k++;
            pos++;
            continue;
        }

        n = ngx_http_llm_json_unescape(&pos, last, buf);

        if ((size_t) (klast - k) < n || memcmp(k, buf, n) != 0) {
            return 0;
        }

        k += n;
    }

    return k == klast;
}


uint32_t
ngx_http_llm_json_object_get(const ngx_http_llm_json_t *p, uint32_t obj,
    const char *key, size_t key_len)
{
    uint32_t                          k, found;
    const u_char                     *raw;
    const ngx_http_llm_json_token_t  *t;

    if (p->tokens == NULL || obj >= p->ntokens
        || p->tokens[obj].type != NGX_HTTP_LLM_JSON_OBJECT
        || p->tokens[obj].size == 0)
    {
        return NGX_HTTP_LLM_JSON_NONE;
    }

    found = NGX_HTTP_LLM_JSON_NONE;

    for (k = obj + 1; k != NGX_HTTP_LLM_JSON_NONE; k = t->next) {
        t = &p->tokens[k];
        raw = p->data + t->start + 1;

        if (t->escaped) {
            if (ngx_http_llm_json_key_eq(raw, t->end - t->start - 2,
                                         (const u_char *) key, key_len))
            {
                found = k + 1;
            }

        } else if (t->end - t->start - 2 == key_len
                   && memcmp(raw, key, key_len) == 0)
        {
            found = k + 1;
        }
    }

    return found;
}


void
ngx_http_llm_json_object_get_n(const ngx_http_llm_json_t *p, uint32_t obj,
    const ngx_http_llm_json_name_t *names, uint32_t n, uint32_t *vals)
{
    size_t                            len;
    uint32_t                          i, k;
    const u_char                     *raw;
    const ngx_http_llm_json_token_t  *t;

    for (i = 0; i < n; i++) {
        vals[i] = NGX_HTTP_LLM_JSON_NONE;
    }

    if (p->tokens == NULL || obj >= p->ntokens
        || p->tokens[obj].type != NGX_HTTP_LLM_JSON_OBJECT
        || p->tokens[obj].size == 0)
    {
        return;
    }

    for (k = obj + 1; k != NGX_HTTP_LLM_JSON_NONE; k = t->next) {
        t = &p->tokens[k];
        raw = p->data + t->start + 1;
        len = t->end - t->start - 2;

        if (t->escaped) {
            for (i = 0; i < n; i++) {
                if (ngx_http_llm_json_key_eq(raw, len,
                                             (const u_char *) names[i].name,
                                             names[i].len))
                {
                    vals[i] = k + 1;
                }
            }

            continue;
        }

        for (i = 0; i < n; i++) {
            if (len == names[i].len
                && (len == 0 || raw[0] == (u_char) names[i].name[0])
                && memcmp(raw, names[i].name, len) == 0)
            {
                vals[i] = k + 1;
            }
        }
    }
}


#define ngx_http_llm_json_index_of(len)                                       \
    ((len) < NGX_HTTP_LLM_JSON_INDEX_LEN ? (len) : NGX_HTTP_LLM_JSON_INDEX_LEN)


int
ngx_http_llm_json_index_init(ngx_http_llm_json_index_t *ix,
    const ngx_http_llm_json_name_t *names, uint32_t n)
{
    uint32_t  i;
    size_t    len;

    if (n > NGX_HTTP_LLM_JSON_INDEX_MAX) {
        return NGX_HTTP_LLM_JSON_ERROR;
    }

    memset(ix->head, NGX_HTTP_LLM_JSON_INDEX_NONE, sizeof(ix->head));

    /* each list in the names' order */

    for (i = n; i-- > 0; /* void */) {
        len = ngx_http_llm_json_index_of(names[i].len);
        ix->link[i] = ix->head[len];
        ix->head[len] = (uint8_t) i;
    }

    ix->names = names;
    ix->n = n;

    return NGX_HTTP_LLM_JSON_OK;
}


void
ngx_http_llm_json_object_get_ix(const ngx_http_llm_json_t *p, uint32_t obj,
    const ngx_http_llm_json_index_t *ix, uint32_t *vals)
{
    size_t                            len;
    uint32_t                          i, k;
    const u_char                     *raw;
    const ngx_http_llm_json_name_t   *names;
    const ngx_http_llm_json_token_t  *t;

    names = ix->names;

    for (i = 0; i < ix->n; i++) {
        vals[i] = NGX_HTTP_LLM_JSON_NONE;
    }

    if (p->tokens == NULL || obj >= p->ntokens
        || p->tokens[obj].type != NGX_HTTP_LLM_JSON_OBJECT
        || p->tokens[obj].size == 0)
    {
        return;
    }

    for (k = obj + 1; k != NGX_HTTP_LLM_JSON_NONE; k = t->next) {
        t = &p->tokens[k];
        raw = p->data + t->start + 1;
        len = t->end - t->start - 2;

        if (t->escaped) {
            /* its decoded length is not known: every name */

            for (i = 0; i < ix->n; i++) {
                if (ngx_http_llm_json_key_eq(raw, len,
                                             (const u_char *) names[i].name,
                                             names[i].len))
                {
                    vals[i] = k + 1;
                }
            }

            continue;
        }

        for (i = ix->head[ngx_http_llm_json_index_of(len)];
             i != NGX_HTTP_LLM_JSON_INDEX_NONE;
             i = ix->link[i])
        {
            if (len == names[i].len
                && (len == 0 || raw[0] == (u_char) names[i].name[0])
                && memcmp(raw, names[i].name, len) == 0)
            {
                vals[i] = k + 1;
            }
        }
    }
}


uint32_t
ngx_http_llm_json_first(const ngx_http_llm_json_t *p, uint32_t tok)
{
    const ngx_http_llm_json_token_t  *t;

    if (p->tokens == NULL || tok >= p->ntokens) {
        return NGX_HTTP_LLM_JSON_NONE;
    }

    t = &p->tokens[tok];

    if ((t->type != NGX_HTTP_LLM_JSON_OBJECT
         && t->type != NGX_HTTP_LLM_JSON_ARRAY)
        || t->size == 0)
    {
        return NGX_HTTP_LLM_JSON_NONE;
    }

    return tok + 1;
}


void
ngx_http_llm_json_raw_string(const ngx_http_llm_json_t *p, uint32_t tok,
    const u_char **s, size_t *len)
{
    const ngx_http_llm_json_token_t  *t;

    t = &p->tokens[tok];

    *s = p->data + t->start + 1;
    *len = t->end - t->start - 2;
}


#if (NGX_HTTP_LLM_JSON_SSE2)

/*
 * What a backslash and a character decode to (as in
 * ngx_http_llm_json_unescape(), 'u' aside): the character itself, or a
 * control character for \b \f \n \r \t; a table, not a branch that
 * \n and \" would take by turns
 */

static const u_char  ngx_http_llm_json_unescaped[256] = {
    0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07,
    0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f,
    0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17,
    0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f,
    0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27,
    0x28, 0x29, 0x2a, 0x2b, 0x2c, 0x2d, 0x2e, 0x2f,
    0x30, 0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37,
    0x38, 0x39, 0x3a, 0x3b, 0x3c, 0x3d, 0x3e, 0x3f,
    0x40, 0x41, 0x42, 0x43, 0x44, 0x45, 0x46, 0x47,
    0x48, 0x49, 0x4a, 0x4b, 0x4c, 0x4d, 0x4e, 0x4f,
    0x50, 0x51, 0x52, 0x53, 0x54, 0x55, 0x56, 0x57,
    0x58, 0x59, 0x5a, 0x5b, 0x5c, 0x5d, 0x5e, 0x5f,
    0x60, 0x61, 0x08, 0x63, 0x64, 0x65, 0x0c, 0x67,
    0x68, 0x69, 0x6a, 0x6b, 0x6c, 0x6d, 0x0a, 0x6f,
    0x70, 0x71, 0x0d, 0x73, 0x09, 0x75, 0x76, 0x77,
    0x78, 0x79, 0x7a, 0x7b, 0x7c, 0x7d, 0x7e, 0x7f,
    0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87,
    0x88, 0x89, 0x8a, 0x8b, 0x8c, 0x8d, 0x8e, 0x8f,
    0x90, 0x91, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97,
    0x98, 0x99, 0x9a, 0x9b, 0x9c, 0x9d, 0x9e, 0x9f,
    0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7,
    0xa8, 0xa9, 0xaa, 0xab, 0xac, 0xad, 0xae, 0xaf,
    0xb0, 0xb1, 0xb2, 0xb3, 0xb4, 0xb5, 0xb6, 0xb7,
    0xb8, 0xb9, 0xba, 0xbb, 0xbc, 0xbd, 0xbe, 0xbf,
    0xc0, 0xc1, 0xc2, 0xc3, 0xc4, 0xc5, 0xc6, 0xc7,
    0xc8, 0xc9, 0xca, 0xcb, 0xcc, 0xcd, 0xce, 0xcf,
    0xd0, 0xd1, 0xd2, 0xd3, 0xd4, 0xd5, 0xd6, 0xd7,
    0xd8, 0xd9, 0xda, 0xdb, 0xdc, 0xdd, 0xde, 0xdf,
    0xe0, 0xe1, 0xe2, 0xe3, 0xe4, 0xe5, 0xe6, 0xe7,
    0xe8, 0xe9, 0xea, 0xeb, 0xec, 0xed, 0xee, 0xef,
    0xf0, 0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7,
    0xf8, 0xf9, 0xfa, 0xfb, 0xfc, 0xfd, 0xfe, 0xff
};

#endif


size_t
ngx_http_llm_json_decode_string(const u_char *raw, size_t len, u_char *out)
{
    size_t         n;
    u_char        *o;
#if (NGX_HTTP_LLM_JSON_SSE2)
    u_char         c;
    size_t         off;
    const u_char  *base;
#endif
    const u_char  *pos, *last, *bs;
#if (NGX_HTTP_LLM_JSON_SSE2)
    uint32_t       h;
    uint64_t       w;
    unsigned       bits;
    __m128i        v, v2;
#endif

    if (len == 0) {
        return 0;
    }

    pos = raw;
    last = raw + len;
    o = out;

    while (pos < last) {

#if (NGX_HTTP_LLM_JSON_SSE2)

        /*
         * Far from the end, 32 bytes are stored at a time whatever they
         * hold, and the escapes of the window found at once: each decoded
         * over what was stored past it, the 32 bytes after it stored next
         * (where the window's next escape is known without a load: no
         * chain of loads, each waiting for the one before).  The output
         * never runs ahead of the input (o - out <= pos - raw), and
         * nothing is written past the decoded text: every 6 bytes of input
         * or less decode to one byte or more (\uXXXX), so the 192 bytes
         * or more after an escape write over the 32 or fewer stored past
         * it.
         */

        while (last - pos >= 32 + 192) {
            v = _mm_loadu_si128((const __m128i *) pos);
            v2 = _mm_loadu_si128((const __m128i *) (pos + 16));

            _mm_storeu_si128((__m128i *) o, v);
            _mm_storeu_si128((__m128i *) (o + 16), v2);

            bits = (unsigned) _mm_movemask_epi8(
                                  _mm_cmpeq_epi8(v, _mm_set1_epi8('\\')))
                   | (unsigned) _mm_movemask_epi8(
                                  _mm_cmpeq_epi8(v2, _mm_set1_epi8('\\')))
                     << 16;

            if (bits == 0) {
                pos += 32;
                o += 32;
                continue;
            }

            base = pos;
            n = __builtin_ctz(bits);
            pos += n;
            o += n;

            for ( ;; ) {

                /* the commonest escapes (\n, \", \\) here, \uXXXX apart */

                c = pos[1];

                if (c != 'u') {
                    *o++ = ngx_http_llm_json_unescaped[c];
                    pos += 2;

                } else {
                    o += ngx_http_llm_json_unescape(&pos, last, o);
                }

                off = (size_t) (pos - base);

                if (off >= 32) {
                    break;
                }

                v = _mm_loadu_si128((const __m128i *) pos);
                v2 = _mm_loadu_si128((const __m128i *) (pos + 16));

                _mm_storeu_si128((__m128i *) o, v);
                _mm_storeu_si128((__m128i *) (o + 16), v2);

                bits &= 0xffffffffU << off;

                if (bits == 0) {
                    o += 32 - off;
                    pos = base + 32;
                    break;
                }

                n = __builtin_ctz(bits);
                o += n - off;
                pos = base + n;
            }
        }

        /*
         * Near the end, sixteen bytes copied at a time up to the next
         * escape, the few before it in pieces.
         */

        while (last - pos >= 32) {
            v = _mm_loadu_si128((const __m128i *) pos);
            v2 = _mm_loadu_si128((const __m128i *) (pos + 16));

            if (_mm_movemask_epi8(
                    _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('\\')),
                                 _mm_cmpeq_epi8(v2, _mm_set1_epi8('\\'))))
                != 0)
            {
                break;
            }

            _mm_storeu_si128((__m128i *) o, v);
            _mm_storeu_si128((__m128i *) (o + 16), v2);
            pos += 32;
            o += 32;
        }

        while (last - pos >= 16) {
            v = _mm_loadu_si128((const __m128i *) pos);

            bits = (unsigned) _mm_movemask_epi8(
                                   _mm_cmpeq_epi8(v, _mm_set1_epi8('\\')));

            if (bits == 0) {
                _mm_storeu_si128((__m128i *) o, v);
                pos += 16;
                o += 16;
                continue;
            }

            n = __builtin_ctz(bits);

            if (n & 8) {
                memcpy(&w, pos, 8);
                memcpy(o, &w, 8);
                pos += 8;
                o += 8;
            }

            if (n & 4) {
                memcpy(&h, pos, 4);
                memcpy(o, &h, 4);
                pos += 4;
                o += 4;
            }

            if (n & 2) {
                o[0] = pos[0];
                o[1] = pos[1];
                pos += 2;
                o += 2;
            }

            if (n & 1) {
                *o++ = *pos++;
            }

            goto escape;
        }

        if (pos == last) {
            break;
        }

#endif

        bs = memchr(pos, '\\', last - pos);

        if (bs == NULL) {
            n = last - pos;
            memcpy(o, pos, n);
            o += n;
            break;
        }

        n = bs - pos;
        memcpy(o, pos, n);
        o += n;

        pos = bs;

#if (NGX_HTTP_LLM_JSON_SSE2)
    escape:
#endif

        o += ngx_http_llm_json_unescape(&pos, last, o);
    }

    return o - out;
}


size_t
ngx_http_llm_json_encoded_len(const u_char *s, size_t len)
{
    u_char  c;
    size_t  i, n;

    n = len;

    for (i = 0; i < len; i++) {
        c = s[i];

        if (c < 0x20) {
            n += ngx_http_llm_json_ctl_escape[c] ? 1 : 5;

        } else if (c == '"' || c == '\\') {
            n++;
        }
    }

    return n;
}


u_char *
ngx_http_llm_json_encode_string(u_char *dst, const u_char *s, size_t len)
{
    u_char                c;
    size_t                i;
    static const u_char   hex[] = "0123456789abcdef";

    for (i = 0; i < len; i++) {
        c = s[i];

        if (c >= 0x20 && c != '"' && c != '\\') {
            *dst++ = c;
            continue;
        }

        *dst++ = '\\';

        if (c >= 0x20) {
            *dst++ = c;

        } else if (ngx_http_llm_json_ctl_escape[c]) {
            *dst++ = ngx_http_llm_json_ctl_escape[c];

        } else {
            *dst++ = 'u';
            *dst++ = '0';
            *dst++ = '0';
            *dst++ = hex[c >> 4];
            *dst++ = hex[c & 0xf];
        }
    }

    return dst;
}


static const ngx_http_llm_json_token_t *
ngx_http_llm_json_number(const ngx_http_llm_json_t *p, uint32_t tok)
{
    const ngx_http_llm_json_token_t  *t;

    if (p->tokens == NULL || tok >= p->ntokens) {
        return NULL;
    }

    t = &p->tokens[tok];

    if (t->type != NGX_HTTP_LLM_JSON_NUMBER || t->end <= t->start) {
        return NULL;
    }

    return t;
}


int
ngx_http_llm_json_get_int(const ngx_http_llm_json_t *p, uint32_t tok,
    int64_t *out)
{
    int                               neg;
    uint64_t                          v, d, limit;
    const u_char                     *pos, *last;
    const ngx_http_llm_json_token_t  *t;

    t = ngx_http_llm_json_number(p, tok);

    if (t == NULL || !t->integer) {
        return NGX_HTTP_LLM_JSON_ERROR;
    }

    pos = p->data + t->start;
    last = p->data + t->end;

    neg = (*pos == '-');
    if (neg) {
        pos++;
    }

    limit = neg ? (uint64_t) INT64_MAX + 1 : (uint64_t) INT64_MAX;

    if (pos == last) {
        return NGX_HTTP_LLM_JSON_ERROR;
    }

    v = 0;

    while (pos < last) {
        d = (uint64_t) (*pos - '0');

        if (d > 9 || v > (limit - d) / 10) {
            return NGX_HTTP_LLM_JSON_ERROR;
        }

        v = v * 10 + d;
        pos++;
    }

    if (!neg) {
        *out = (int64_t) v;

    } else if (v == (uint64_t) INT64_MAX + 1) {
        *out = INT64_MIN;

    } else {
        *out = -(int64_t) v;
    }

    return NGX_HTTP_LLM_JSON_OK;
}


/*
 * Up to 19 significant digits are gathered into a 64-bit mantissa and scaled
 * by a power of ten.  With a mantissa below 2^53 and |exponent| <= 22 (the
 * common case: "0.7", "1e3", "12.5E-1") both operands are exact and the
 * result is correctly rounded.  Otherwise the scaling is done in long double
 * (64-bit mantissa on x86, 113 bits on aarch64) and the result is within an
 * ulp or so; where long double is double, within a few ulps.  Values beyond
 * the range of double are an error, values below it are 0.
 */

int
ngx_http_llm_json_get_double(const ngx_http_llm_json_t *p, uint32_t tok,
    double *out)
{
    int                               neg, eneg;
    double                            v;
    int64_t                           e10, exp;
    uint64_t                          m;
    uint32_t                          nd, i;
    long double                       lv;
    const u_char                     *pos, *last;
    const ngx_http_llm_json_token_t  *t;

    t = ngx_http_llm_json_number(p, tok);

    if (t == NULL) {
        return NGX_HTTP_LLM_JSON_ERROR;
    }

    pos = p->data + t->start;
    last = p->data + t->end;

    neg = (*pos == '-');
    if (neg) {
        pos++;
    }

    m = 0;
    nd = 0;
    e10 = 0;

    while (pos < last && ngx_http_llm_json_is_digit(*pos)) {
        if (nd < 19) {
            m = m * 10 + (*pos - '0');
            nd += (m != 0);

        } else {
            e10++;
        }

        pos++;
    }

    if (pos < last && *pos == '.') {
        pos++;

        while (pos < last && ngx_http_llm_json_is_digit(*pos)) {
            if (nd < 19) {
                m = m * 10 + (*pos - '0');
                nd += (m != 0);
                e10--;
            }

            pos++;
        }
    }

    if (pos < last && (*pos == 'e' || *pos == 'E')) {
        pos++;

        eneg = 0;

        if (pos < last && (*pos == '+' || *pos == '-')) {
            eneg = (*pos == '-');
            pos++;
        }

        exp = 0;

        while (pos < last && ngx_http_llm_json_is_digit(*pos)) {
            if (exp < 1000000) {
                exp = exp * 10 + (*pos - '0');
            }

            pos++;
        }

        e10 += eneg ? -exp : exp;
    }

    if (pos != last) {
        return NGX_HTTP_LLM_JSON_ERROR;
    }

    if (m == 0 || e10 < -400) {
        v = 0.0;

    } else if (e10 > 400) {
        return NGX_HTTP_LLM_JSON_ERROR;

    } else if (e10 >= -22 && e10 <= 22 && m <= (1ULL << 53)) {
        v = (double) m;

        if (e10 >= 0) {
            v *= ngx_http_llm_json_pow10[e10];

        } else {
            v /= ngx_http_llm_json_pow10[-e10];
        }

    } else {
        lv = (long double) m;

        if (e10 >= 0) {
            for (i = 0; e10; i++, e10 >>= 1) {
                if (e10 & 1) {
                    lv *= ngx_http_llm_json_pow10_bin[i];
                }
            }

        } else {
            for (i = 0, e10 = -e10; e10; i++, e10 >>= 1) {
                if (e10 & 1) {
                    lv /= ngx_http_llm_json_pow10_bin[i];
                }
            }
        }

        v = (double) lv;
    }

    if (v > NGX_HTTP_LLM_JSON_DBL_MAX) {
        return NGX_HTTP_LLM_JSON_ERROR;
    }

    *out = neg ? -v : v;

    return NGX_HTTP_LLM_JSON_OK;
}
