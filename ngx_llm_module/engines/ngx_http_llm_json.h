
/*
 * Copyright (C) ngx_llm_module authors
 *
 * A zero-copy JSON scanner.  It depends on libc only, so that it can be
 * fuzzed and unit-tested outside nginx.
 *
 * The document is validated in full (RFC 8259: grammar, UTF-8 inside
 * strings, escapes, numbers, nesting depth) and described by a flat array of
 * tokens that point into the caller's buffer; nothing is copied.  Parsing is
 * done in two passes over the same input: the first one (tokens == NULL)
 * validates and counts the tokens, the second fills an array of exactly that
 * many tokens, so the caller allocates once and the memory is bounded by the
 * document's own structure (or the caller fills an array sized by a guess,
 * and counts only when the scanner says it is full).  String contents are
 * scanned sixteen bytes at a time with SSE2 where the compiler targets it
 * (-DNGX_HTTP_LLM_JSON_NO_SIMD: eight at a time in a 64-bit word); the
 * results are the same either way, and the same as those of the scanner of
 * e28ee8b (t/unit/json_diff_test.c, fuzz/json_diff_fuzz.c).
 *
 * Token layout: tokens are stored in document order (pre-order).  An object
 * with N members is followed by N key/value pairs: each key is a STRING token
 * with the "key" bit set, immediately followed by its value (and the value's
 * own descendants).  Siblings are linked through "next": for an object, from
 * one key to the next key; for an array, from one element to the next.
 */

#ifndef _NGX_HTTP_LLM_JSON_H_INCLUDED_
#define _NGX_HTTP_LLM_JSON_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>


#define NGX_HTTP_LLM_JSON_OK         0
#define NGX_HTTP_LLM_JSON_ERROR     -1

#define NGX_HTTP_LLM_JSON_NONE       0xffffffff

#define NGX_HTTP_LLM_JSON_MAX_DEPTH  128


typedef enum {
    NGX_HTTP_LLM_JSON_OBJECT = 1,
    NGX_HTTP_LLM_JSON_ARRAY,
    NGX_HTTP_LLM_JSON_STRING,
    NGX_HTTP_LLM_JSON_NUMBER,
    NGX_HTTP_LLM_JSON_TRUE,
    NGX_HTTP_LLM_JSON_FALSE,
    NGX_HTTP_LLM_JSON_NULL
} ngx_http_llm_json_type_e;


typedef struct {
    uint32_t                    start;   /* offset of the first byte: '{', '[',
                                            '"', digit, '-', 't', 'f', 'n' */
    uint32_t                    end;     /* offset one past the last byte
                                            ('}', ']', closing '"', ...) */
    uint32_t                    parent;  /* index of the enclosing object or
                                            array; NONE for the root.  For a
                                            member value: the object (not the
                                            key) */
    uint32_t                    next;    /* next sibling, or NONE */
    uint32_t                    size;    /* arrays: elements; objects:
                                            members; others: 0 */
    unsigned                    type:4;  /* ngx_http_llm_json_type_e */
    unsigned                    key:1;   /* a string used as an object key */
    unsigned                    escaped:1;  /* string has '\' escapes */
    unsigned                    integer:1;  /* number has no '.', 'e', 'E' */
} ngx_http_llm_json_token_t;


typedef struct {
    /* input */
    const u_char               *data;
    size_t                      len;        /* at most 4 GiB - 1 */
    ngx_http_llm_json_token_t  *tokens;     /* NULL: validate and count only */
    uint32_t                    max_tokens; /* size of tokens[] */
    uint32_t                    max_depth;  /* 0: NGX_HTTP_LLM_JSON_MAX_DEPTH */

    /* output */
    uint32_t                    ntokens;    /* tokens used (or needed) */
    size_t                      err_offset; /* where the error was found */
    const char                 *err;        /* static message, NULL if OK */
    unsigned                    full:1;     /* the error is that tokens[] is
                                               too small (the document may
                                               be valid): count, then fill */
} ngx_http_llm_json_t;


/*
 * Parse (or, with tokens == NULL, validate and count) p->data.
 * Leading and trailing white space is allowed; anything else after the root
 * value is an error.  Returns NGX_HTTP_LLM_JSON_OK or NGX_HTTP_LLM_JSON_ERROR
 * with p->err ("unexpected character", "invalid UTF-8 in string",
 * "maximum nesting depth exceeded", "unterminated string", "invalid escape",
 * "lone surrogate in \\u escape", "invalid number", "unexpected end of data",
 * "too many tokens", "trailing data after the JSON value", "empty body",
 * "control character in string") and p->err_offset.
 */
int ngx_http_llm_json_parse(ngx_http_llm_json_t *p);

/*
 * Value of member "key" (raw key bytes compared after decoding escapes of the
 * stored key) in object token "obj"; the LAST occurrence wins when a key is
 * repeated (as in JavaScript and Python).  Returns the value's token index or
 * NONE (also when obj is not an object).
 */
uint32_t ngx_http_llm_json_object_get(const ngx_http_llm_json_t *p,
    uint32_t obj, const char *key, size_t key_len);

/* a member name for ngx_http_llm_json_object_get_n() */
typedef struct {
    const char                 *name;
    size_t                      len;
} ngx_http_llm_json_name_t;


/*
 * The values of n members of object token "obj" in one walk over its keys:
 * vals[i] is what ngx_http_llm_json_object_get(p, obj, names[i].name,
 * names[i].len) returns (NONE for every name when obj is not an object).
 */
void ngx_http_llm_json_object_get_n(const ngx_http_llm_json_t *p,
    uint32_t obj, const ngx_http_llm_json_name_t *names, uint32_t n,
    uint32_t *vals);

/*
 * A table of names indexed by length, built once (names of
 * NGX_HTTP_LLM_JSON_INDEX_LEN bytes or more share one list), for
 * ngx_http_llm_json_object_get_ix(): a plain key is compared only with the
 * names of its length, not with every name (the request body's walk looks
 * for 14 names, the usage object's for 10).  The names must outlive the
 * index.  ngx_http_llm_json_index_init() returns NGX_HTTP_LLM_JSON_ERROR
 * for more than NGX_HTTP_LLM_JSON_INDEX_MAX names.
 */

#define NGX_HTTP_LLM_JSON_INDEX_MAX   32
#define NGX_HTTP_LLM_JSON_INDEX_LEN   32
#define NGX_HTTP_LLM_JSON_INDEX_NONE  0xff

typedef struct {
    const ngx_http_llm_json_name_t  *names;
    uint32_t                         n;
    uint8_t                          head[NGX_HTTP_LLM_JSON_INDEX_LEN + 1];
    uint8_t                          link[NGX_HTTP_LLM_JSON_INDEX_MAX];
} ngx_http_llm_json_index_t;

int ngx_http_llm_json_index_init(ngx_http_llm_json_index_t *ix,
    const ngx_http_llm_json_name_t *names, uint32_t n);

/* what ngx_http_llm_json_object_get_n() returns for ix's names */
void ngx_http_llm_json_object_get_ix(const ngx_http_llm_json_t *p,
    uint32_t obj, const ngx_http_llm_json_index_t *ix, uint32_t *vals);

/* first element / first key of an array or object, or NONE */
uint32_t ngx_http_llm_json_first(const ngx_http_llm_json_t *p, uint32_t tok);

/*
 * Raw contents of a string token, between the quotes (escapes not decoded):
 * data + start + 1 .. data + end - 1.
 */
void ngx_http_llm_json_raw_string(const ngx_http_llm_json_t *p, uint32_t tok,
    const u_char **s, size_t *len);

/*
 * Decode the raw contents of a validated JSON string (as returned by
 * ngx_http_llm_json_raw_string) into out, which must have room for len
 * bytes: the decoded text is never longer than the raw text.  Nothing is
 * written past the decoded text (texts can be decoded one after another
 * into one buffer); out must not overlap raw (long strings are copied 32
 * bytes at a time, escapes written over them).  Returns the decoded
 * length.  Surrogate pairs become one 4-byte UTF-8 sequence.
 */
size_t ngx_http_llm_json_decode_string(const u_char *raw, size_t len,
    u_char *out);

/*
 * Bytes needed to encode UTF-8 text s as the contents of a JSON string
 * (without the quotes), and the encoder itself, which returns the end of
 * what it wrote.  '"', '\\' and control characters are escaped (\n \r \t \b
 * \f, others as \u00XX); everything else is copied as is.
 */
size_t ngx_http_llm_json_encoded_len(const u_char *s, size_t len);
u_char *ngx_http_llm_json_encode_string(u_char *dst, const u_char *s,
    size_t len);

/*
 * Integer value of a NUMBER token with no fraction or exponent, within
 * int64_t.  Returns NGX_HTTP_LLM_JSON_OK or NGX_HTTP_LLM_JSON_ERROR.
 */
int ngx_http_llm_json_get_int(const ngx_http_llm_json_t *p, uint32_t tok,
    int64_t *out);

/* Value of any NUMBER token as a double (strtod-free, locale-independent). */
int ngx_http_llm_json_get_double(const ngx_http_llm_json_t *p, uint32_t tok,
    double *out);


#endif /* _NGX_HTTP_LLM_JSON_H_INCLUDED_ */
