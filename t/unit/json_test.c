
/*
 * Copyright (C) ngx_llm_module authors
 *
 * Unit tests of the JSON scanner; prints TAP.
 *
 *   cc -I ngx_llm_module/engines t/unit/json_test.c \
 *       ngx_llm_module/engines/ngx_http_llm_json.c -o build/unit/json_test
 */


#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ngx_http_llm_json.h"


#define NONE  NGX_HTTP_LLM_JSON_NONE
#define S(s)  (const u_char *) (s), sizeof(s) - 1

#define T_OBJ   NGX_HTTP_LLM_JSON_OBJECT
#define T_ARR   NGX_HTTP_LLM_JSON_ARRAY
#define T_STR   NGX_HTTP_LLM_JSON_STRING
#define T_NUM   NGX_HTTP_LLM_JSON_NUMBER
#define T_TRUE  NGX_HTTP_LLM_JSON_TRUE
#define T_FALSE NGX_HTTP_LLM_JSON_FALSE
#define T_NULL  NGX_HTTP_LLM_JSON_NULL

#define MAX_TOKENS  4096


static int                         tests;
static int                         failures;
static ngx_http_llm_json_token_t   toks[MAX_TOKENS];


static int
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

    return cond;
}


static void
diag(const char *fmt, ...)
{
    va_list  args;

    printf("# ");

    va_start(args, fmt);
    vprintf(fmt, args);
    va_end(args);

    printf("\n");
}


/* the filling pass into toks[] */

static int
parse(ngx_http_llm_json_t *p, const u_char *s, size_t len, uint32_t depth)
{
    memset(p, 0, sizeof(*p));

    p->data = s;
    p->len = len;
    p->tokens = toks;
    p->max_tokens = MAX_TOKENS;
    p->max_depth = depth;

    return ngx_http_llm_json_parse(p);
}


static int
count(ngx_http_llm_json_t *p, const u_char *s, size_t len, uint32_t depth)
{
    memset(p, 0, sizeof(*p));

    p->data = s;
    p->len = len;
    p->max_depth = depth;

    return ngx_http_llm_json_parse(p);
}


/* both passes must fail with the same message at the same offset */

static void
check_err_depth(const char *desc, const u_char *s, size_t len, uint32_t depth,
    const char *err, size_t off)
{
    int                  rc1, rc2;
    ngx_http_llm_json_t  c, f;

    rc1 = count(&c, s, len, depth);
    rc2 = parse(&f, s, len, depth);

    if (!ok(rc1 == NGX_HTTP_LLM_JSON_ERROR && rc2 == NGX_HTTP_LLM_JSON_ERROR
            && c.err && f.err && strcmp(c.err, err) == 0
            && strcmp(f.err, err) == 0
            && c.err_offset == off && f.err_offset == off,
            "%s: \"%s\" at %zu", desc, err, off))
    {
        diag("count: rc %d err \"%s\" at %zu; fill: rc %d err \"%s\" at %zu",
             rc1, c.err ? c.err : "(null)", c.err_offset,
             rc2, f.err ? f.err : "(null)", f.err_offset);
    }
}


static void
check_err(const char *desc, const u_char *s, size_t len, const char *err,
    size_t off)
{
    check_err_depth(desc, s, len, 0, err, off);
}


/* both passes succeed with the same number of tokens */

static void
check_ok_depth(const char *desc, const u_char *s, size_t len, uint32_t depth,
    uint32_t ntokens)
{
    int                  rc1, rc2;
    ngx_http_llm_json_t  c, f;

    rc1 = count(&c, s, len, depth);
    rc2 = parse(&f, s, len, depth);

    if (!ok(rc1 == NGX_HTTP_LLM_JSON_OK && rc2 == NGX_HTTP_LLM_JSON_OK
            && c.err == NULL && f.err == NULL
            && c.ntokens == ntokens && f.ntokens == ntokens,
            "%s: valid, %u tokens", desc, ntokens))
    {
        diag("count: rc %d err \"%s\" at %zu n %u; "
             "fill: rc %d err \"%s\" at %zu n %u",
             rc1, c.err ? c.err : "(null)", c.err_offset, c.ntokens,
             rc2, f.err ? f.err : "(null)", f.err_offset, f.ntokens);
    }
}


static void
check_ok(const char *desc, const u_char *s, size_t len, uint32_t ntokens)
{
    check_ok_depth(desc, s, len, 0, ntokens);
}


static void
test_errors(void)
{
    static const u_char  too_large[1] = "1";
    int                  rc;
    ngx_http_llm_json_t  p;

    /* unexpected character */

    check_err("missing colon", S("{\"a\" 1}"), "unexpected character", 5);
    check_err("trailing comma in array", S("[1,]"),
              "unexpected character", 3);
    check_err("trailing comma in object", S("{\"a\":1,}"),
              "unexpected character", 7);
    check_err("bad first byte", S("@"), "unexpected character", 0);
    check_err("bad literal", S("trux"), "unexpected character", 3);
    check_err("capitalized literal", S("True"), "unexpected character", 0);
    check_err("missing comma", S("[1 2]"), "unexpected character", 3);
    check_err("number as key", S("{1:2}"), "unexpected character", 1);
    check_err("mismatched bracket", S("[1}"), "unexpected character", 2);
    check_err("mismatched brace", S("{\"a\":1]"), "unexpected character", 6);
    check_err("single quotes", S("['a']"), "unexpected character", 1);
    check_err("leading comma", S("[,1]"), "unexpected character", 1);
    check_err("empty object member", S("{,}"), "unexpected character", 1);
    check_err("BOM", S("\xef\xbb\xbf{}"), "unexpected character", 0);
    check_err("non-ASCII outside strings", S("[1,\xc3\xa9]"),
              "unexpected character", 3);
    check_err("vertical tab is not white space", S("\v1"),
              "unexpected character", 0);
    check_err("comment", S("[1/*x*/]"), "unexpected character", 2);

    /* invalid UTF-8 in string */

    check_err("byte 0xff", S("\"\xff\""), "invalid UTF-8 in string", 1);
    check_err("byte 0xfe", S("\"a\xfe\""), "invalid UTF-8 in string", 2);
    check_err("bare continuation byte", S("\"\x80\""),
              "invalid UTF-8 in string", 1);
    check_err("bare continuation byte after text", S("\"abc\xbf\""),
              "invalid UTF-8 in string", 4);
    check_err("overlong 2 bytes C0 AF", S("\"\xc0\xaf\""),
              "invalid UTF-8 in string", 1);
    check_err("overlong 2 bytes C1 BF", S("\"\xc1\xbf\""),
              "invalid UTF-8 in string", 1);
    check_err("overlong 3 bytes E0 80 AF", S("\"\xe0\x80\xaf\""),
              "invalid UTF-8 in string", 2);
    check_err("overlong 3 bytes E0 9F BF", S("\"\xe0\x9f\xbf\""),
              "invalid UTF-8 in string", 2);
    check_err("overlong 4 bytes F0 80 80 AF", S("\"\xf0\x80\x80\xaf\""),
              "invalid UTF-8 in string", 2);
    check_err("overlong 4 bytes F0 8F BF BF", S("\"\xf0\x8f\xbf\xbf\""),
              "invalid UTF-8 in string", 2);
    check_err("UTF-8 encoded surrogate ED A0 80", S("\"\xed\xa0\x80\""),
              "invalid UTF-8 in string", 2);
    check_err("UTF-8 encoded surrogate ED BF BF", S("\"\xed\xbf\xbf\""),
              "invalid UTF-8 in string", 2);
    check_err("above U+10FFFF F4 90 80 80", S("\"\xf4\x90\x80\x80\""),
              "invalid UTF-8 in string", 2);
    check_err("above U+10FFFF F5 80 80 80", S("\"\xf5\x80\x80\x80\""),
              "invalid UTF-8 in string", 1);
    check_err("5-byte form F8", S("\"\xf8\x88\x80\x80\x80\""),
              "invalid UTF-8 in string", 1);
    check_err("truncated 2-byte sequence", S("\"\xc3\""),
              "invalid UTF-8 in string", 2);
    check_err("truncated 3-byte sequence", S("\"\xe2\x82\""),
              "invalid UTF-8 in string", 3);
    check_err("truncated 4-byte sequence", S("\"\xf0\x9f\x98\""),
              "invalid UTF-8 in string", 4);
    check_err("truncated sequence followed by ASCII", S("\"\xe2\x82x\""),
              "invalid UTF-8 in string", 3);
    check_err("two lead bytes", S("\"\xc3\xc3\xa9\""),
              "invalid UTF-8 in string", 2);
    check_err("invalid UTF-8 in a key", S("{\"\xff\":1}"),
              "invalid UTF-8 in string", 2);
    check_err("invalid UTF-8 after 8 plain bytes", S("\"abcdefgh\x80\""),
              "invalid UTF-8 in string", 9);

    /* control characters */

    check_err("raw newline in string", S("\"a\nb\""),
              "control character in string", 2);
    check_err("raw tab in string", S("\"\t\""),
              "control character in string", 1);
    check_err("raw NUL in string", S("\"abcdefghij\0\""),
              "control character in string", 11);
    check_err("raw 0x1f in string", S("[\"\x1f\"]"),
              "control character in string", 2);

    /* unterminated string */

    check_err("unterminated string", S("\"abc"), "unterminated string", 4);
    check_err("unterminated long string", S("\"abcdefghijklmnop"),
              "unterminated string", 17);
    check_err("unterminated key", S("{\"a"), "unterminated string", 3);
    check_err("backslash at end", S("\"\\"), "unterminated string", 2);
    check_err("short \\u at end", S("\"\\u12"), "unterminated string", 5);
    check_err("truncated UTF-8 at end", S("\"\xe2\x82"),
              "unterminated string", 3);
    check_err("high surrogate at end", S("\"\\ud800"),
              "unterminated string", 7);
    check_err("high surrogate and backslash at end", S("\"\\ud800\\"),
              "unterminated string", 8);
    check_err("escaped quote at end", S("\"\\\""), "unterminated string", 3);

    /* invalid escape */

    check_err("\\x escape", S("\"\\x41\""), "invalid escape", 2);
    check_err("\\U escape", S("\"\\U0041\""), "invalid escape", 2);
    check_err("\\' escape", S("\"\\'\""), "invalid escape", 2);
    check_err("non-hex digit in \\u", S("\"\\u12G4\""), "invalid escape", 5);
    check_err("short \\u", S("\"\\u12\""), "invalid escape", 5);
    check_err("non-hex digit in low surrogate", S("\"\\ud800\\udcXX\""),
              "invalid escape", 11);
    check_err("escaped raw newline", S("\"\\\n\""), "invalid escape", 2);

    /* lone surrogates */

    check_err("lone high surrogate", S("\"\\ud800\""),
              "lone surrogate in \\u escape", 1);
    check_err("lone low surrogate", S("\"\\udc00\""),
              "lone surrogate in \\u escape", 1);
    check_err("lone low surrogate DFFF", S("\"ab\\uDFFF\""),
              "lone surrogate in \\u escape", 3);
    check_err("high surrogate then text", S("\"\\uD83Dx\""),
              "lone surrogate in \\u escape", 1);
    check_err("high surrogate then BMP escape", S("\"a\\uD83D\\u0041\""),
              "lone surrogate in \\u escape", 2);
    check_err("high surrogate then \\n", S("\"\\uD83D\\n\""),
              "lone surrogate in \\u escape", 1);
    check_err("two high surrogates", S("\"\\uDBFF\\uDBFF\""),
              "lone surrogate in \\u escape", 1);
    check_err("swapped pair", S("\"\\uDE00\\uD83D\""),
              "lone surrogate in \\u escape", 1);

    /* numbers */

    check_err("leading zero", S("01"), "invalid number", 1);
    check_err("negative leading zero", S("-01"), "invalid number", 2);
    check_err("leading zeros in array", S("[00]"), "invalid number", 2);
    check_err("minus alone", S("-"), "invalid number", 1);
    check_err("minus alone in array", S("[-]"), "invalid number", 2);
    check_err("minus letter", S("-a"), "invalid number", 1);
    check_err("trailing dot", S("1."), "invalid number", 2);
    check_err("dot then exponent", S("1.e5"), "invalid number", 2);
    check_err("empty exponent", S("1e"), "invalid number", 2);
    check_err("exponent sign only", S("1e+"), "invalid number", 3);
    check_err("exponent sign then letter", S("[1E-x]"), "invalid number", 4);
    check_err("leading dot", S(".5"), "unexpected character", 0);
    check_err("leading plus", S("+1"), "unexpected character", 0);
    check_err("number followed by dot", S("1.5.3"),
              "trailing data after the JSON value", 3);
    check_err("hex number", S("0x10"),
              "trailing data after the JSON value", 1);
    check_err("Infinity", S("[Infinity]"), "unexpected character", 1);

    /* unexpected end of data */

    check_err("open bracket", S("["), "unexpected end of data", 1);
    check_err("open brace", S("{ "), "unexpected end of data", 2);
    check_err("after comma", S("[1, "), "unexpected end of data", 4);
    check_err("after colon", S("{\"a\":"), "unexpected end of data", 5);
    check_err("after key", S("{\"a\" "), "unexpected end of data", 5);
    check_err("after member", S("{\"a\":1"), "unexpected end of data", 6);
    check_err("after element", S("[[1]"), "unexpected end of data", 4);
    check_err("truncated literal", S("nul"), "unexpected end of data", 3);
    check_err("truncated literal in array", S("[fals"),
              "unexpected end of data", 5);

    /* trailing data */

    check_err("two numbers", S("1 2"),
              "trailing data after the JSON value", 2);
    check_err("extra brace", S("{}}"),
              "trailing data after the JSON value", 2);
    check_err("two strings", S("\"a\"\"b\""),
              "trailing data after the JSON value", 3);
    check_err("garbage after object", S("{} x"),
              "trailing data after the JSON value", 3);
    check_err("literal with suffix", S("truex"),
              "trailing data after the JSON value", 4);
    check_err("NUL after the value", S("[]\0"),
              "trailing data after the JSON value", 2);

    /* empty body */

    check_err("empty input", (const u_char *) "", 0, "empty body", 0);
    check_err("white space only", S(" \t\r\n"), "empty body", 4);

    /* document too large: rejected before the data is read */

    if (sizeof(size_t) > 4) {
        memset(&p, 0, sizeof(p));
        p.data = too_large;
        p.len = (size_t) 0xffffffffULL + 1;

        rc = ngx_http_llm_json_parse(&p);

        ok(rc == NGX_HTTP_LLM_JSON_ERROR && p.err
           && strcmp(p.err, "document too large") == 0,
           "4 GiB document: \"document too large\"");

    } else {
        ok(1, "# SKIP 4 GiB document on a 32-bit platform");
    }
}


static void
test_depth(void)
{
    int                  i;
    u_char               buf[1024];
    size_t               n;
    ngx_http_llm_json_t  p;

    check_ok_depth("depth 3 with max_depth 3", S("[[[1]]]"), 3, 4);
    check_err_depth("depth 4 with max_depth 3", S("[[[[1]]]]"), 3,
                    "maximum nesting depth exceeded", 3);
    check_ok_depth("objects at max_depth 2", S("{\"a\":{\"b\":1}}"), 2, 5);
    check_err_depth("objects beyond max_depth 2",
                    S("{\"a\":{\"b\":{}}}"), 2,
                    "maximum nesting depth exceeded", 10);
    check_ok_depth("scalar with max_depth 1", S("1"), 1, 1);

    /* the default, 128 */

    for (n = 0, i = 0; i < 128; i++) {
        buf[n++] = '[';
    }

    for (i = 0; i < 128; i++) {
        buf[n++] = ']';
    }

    check_ok("128 nested arrays with the default depth", buf, n, 128);
    check_ok_depth("128 nested arrays with max_depth 1000", buf, n, 1000,
                   128);
    check_err_depth("128 nested arrays with max_depth 127", buf, n, 127,
                    "maximum nesting depth exceeded", 127);

    for (n = 0, i = 0; i < 129; i++) {
        buf[n++] = '[';
    }

    for (i = 0; i < 129; i++) {
        buf[n++] = ']';
    }

    check_err("129 nested arrays with the default depth", buf, n,
              "maximum nesting depth exceeded", 128);
    check_err_depth("129 nested arrays with max_depth 1000", buf, n, 1000,
                    "maximum nesting depth exceeded", 128);

    /* mixed objects and arrays: {"a":[{"a":[ ... ]}]} */

    for (n = 0, i = 0; i < 64; i++) {
        memcpy(buf + n, "{\"a\":[", 6);
        n += 6;
    }

    for (i = 0; i < 64; i++) {
        memcpy(buf + n, "]}", 2);
        n += 2;
    }

    check_ok("128 nested objects and arrays", buf, n, 64 * 3);

    parse(&p, buf, n, 0);
    ok(p.ntokens == 192 && toks[191].type == T_ARR
       && toks[191].parent == 189 && toks[191].end == 64 * 6 + 1
       && toks[0].end == n,
       "deep nesting: parents and ends");
}


typedef struct {
    unsigned   type;
    uint32_t   start;
    uint32_t   end;
    uint32_t   parent;
    uint32_t   next;
    uint32_t   size;
    unsigned   key;
    unsigned   escaped;
    unsigned   integer;
} expect_t;


static void
check_layout(const char *desc, const u_char *s, size_t len,
    const expect_t *e, uint32_t n)
{
    uint32_t                    i;
    ngx_http_llm_json_t         p;
    ngx_http_llm_json_token_t  *t;

    if (!ok(parse(&p, s, len, 0) == NGX_HTTP_LLM_JSON_OK && p.ntokens == n,
            "%s: parsed, %u tokens", desc, n))
    {
        diag("err \"%s\" at %zu, %u tokens", p.err ? p.err : "(null)",
             p.err_offset, p.ntokens);
        return;
    }

    for (i = 0; i < n; i++) {
        t = &toks[i];

        if (!ok(t->type == e[i].type && t->start == e[i].start
                && t->end == e[i].end && t->parent == e[i].parent
                && t->next == e[i].next && t->size == e[i].size
                && t->key == e[i].key && t->escaped == e[i].escaped
                && t->integer == e[i].integer,
                "%s: token %u", desc, i))
        {
            diag("got type %u [%u,%u) parent %d next %d size %u "
                 "key %u escaped %u integer %u",
                 t->type, t->start, t->end, (int) t->parent, (int) t->next,
                 t->size, t->key, t->escaped, t->integer);
            diag("expected type %u [%u,%u) parent %d next %d size %u "
                 "key %u escaped %u integer %u",
                 e[i].type, e[i].start, e[i].end, (int) e[i].parent,
                 (int) e[i].next, e[i].size, e[i].key, e[i].escaped,
                 e[i].integer);
        }
    }
}


static void
test_layout(void)
{
    static const u_char  doc1[] =
        "{\"a\":{\"b\":[1,2],\"c\":\"x\\n\"},\"d\":[[],{}],\"e\":-3}";

    static const expect_t  exp1[] = {
        /* type  start end parent next size key esc int */
        { T_OBJ,  0, 46, NONE, NONE, 3, 0, 0, 0 },   /* root */
        { T_STR,  1,  4,    0,    9, 0, 1, 0, 0 },   /* "a" */
        { T_OBJ,  5, 26,    0, NONE, 2, 0, 0, 0 },   /* {"b" ... } */
        { T_STR,  6,  9,    2,    7, 0, 1, 0, 0 },   /* "b" */
        { T_ARR, 10, 15,    2, NONE, 2, 0, 0, 0 },   /* [1,2] */
        { T_NUM, 11, 12,    4,    6, 0, 0, 0, 1 },   /* 1 */
        { T_NUM, 13, 14,    4, NONE, 0, 0, 0, 1 },   /* 2 */
        { T_STR, 16, 19,    2, NONE, 0, 1, 0, 0 },   /* "c" */
        { T_STR, 20, 25,    2, NONE, 0, 0, 1, 0 },   /* "x\n" */
        { T_STR, 27, 30,    0,   13, 0, 1, 0, 0 },   /* "d" */
        { T_ARR, 31, 38,    0, NONE, 2, 0, 0, 0 },   /* [[],{}] */
        { T_ARR, 32, 34,   10,   12, 0, 0, 0, 0 },   /* [] */
        { T_OBJ, 35, 37,   10, NONE, 0, 0, 0, 0 },   /* {} */
        { T_STR, 39, 42,    0, NONE, 0, 1, 0, 0 },   /* "e" */
        { T_NUM, 43, 45,    0, NONE, 0, 0, 0, 1 },   /* -3 */
    };

    static const u_char  doc2[] =
        " [ 1.5 , \"s\" ,\n{ \"k\" : true } , null,false, [ 2e3 ] ] ";

    static const expect_t  exp2[] = {
        { T_ARR,   1, 53, NONE, NONE, 6, 0, 0, 0 },
        { T_NUM,   3,  6,    0,    2, 0, 0, 0, 0 },   /* 1.5 */
        { T_STR,   9, 12,    0,    3, 0, 0, 0, 0 },   /* "s" */
        { T_OBJ,  15, 29,    0,    6, 1, 0, 0, 0 },   /* { "k" : true } */
        { T_STR,  17, 20,    3, NONE, 0, 1, 0, 0 },   /* "k" */
        { T_TRUE, 23, 27,    3, NONE, 0, 0, 0, 0 },   /* true */
        { T_NULL, 32, 36,    0,    7, 0, 0, 0, 0 },   /* null */
        { T_FALSE, 37, 42,   0,    8, 0, 0, 0, 0 },   /* false */
        { T_ARR,  44, 51,    0, NONE, 1, 0, 0, 0 },   /* [ 2e3 ] */
        { T_NUM,  46, 49,    8, NONE, 0, 0, 0, 0 },   /* 2e3 */
    };

    static const expect_t  exp3[] = {
        { T_STR, 1, 5, NONE, NONE, 0, 0, 1, 0 },
    };

    check_layout("nested objects and arrays", doc1, sizeof(doc1) - 1,
                 exp1, sizeof(exp1) / sizeof(exp1[0]));
    check_layout("white space and all types", doc2, sizeof(doc2) - 1,
                 exp2, sizeof(exp2) / sizeof(exp2[0]));
    check_layout("top-level string", S("\t\"\\\"\"\n"), exp3, 1);
}


static void
test_valid(void)
{
    check_ok("empty object", S("{}"), 1);
    check_ok("empty array", S("[]"), 1);
    check_ok("empty object with white space", S(" { \n } "), 1);
    check_ok("empty string", S("\"\""), 1);
    check_ok("string", S("\"hello\""), 1);
    check_ok("zero", S("0"), 1);
    check_ok("negative zero", S("-0"), 1);
    check_ok("integer", S("1234567890"), 1);
    check_ok("negative fraction", S("-0.5"), 1);
    check_ok("exponent", S("1e3"), 1);
    check_ok("signed exponents", S("[1E+2,1e-2,0.0e0,-0.0E-0]"), 5);
    check_ok("long number", S("123456789012345678901234567890.5e-7"), 1);
    check_ok("true", S("true"), 1);
    check_ok("false", S("false"), 1);
    check_ok("null", S("null"), 1);
    check_ok("top-level scalar with white space", S(" \r\n\t42 \r\n\t"), 1);
    check_ok("top-level string with white space", S("  \"x\"  "), 1);
    check_ok("UTF-8 of every length",
             S("\"\x7f \xc2\x80 \xdf\xbf \xe0\xa0\x80 \xed\x9f\xbf "
               "\xee\x80\x80 \xef\xbf\xbf \xf0\x90\x80\x80 "
               "\xf4\x8f\xbf\xbf \xc3\xa9t\xc3\xa9 \xe2\x82\xac\""), 1);
    check_ok("every escape",
             S("\"\\\" \\\\ \\/ \\b \\f \\n \\r \\t \\u0000 \\u00e9 "
               "\\uFFFF \\ud83d\\ude00 \\uDBFF\\uDFFF\""), 1);
    check_ok("escaped key", S("{\"mod\\u0065l\":\"x\"}"), 3);
    check_ok("repeated keys", S("{\"a\":1,\"a\":2}"), 5);
    check_ok("mixed document",
             S("{\"model\":\"gpt-4o\",\"messages\":[{\"role\":\"user\","
               "\"content\":\"hi\"}],\"temperature\":0.7,\"stream\":true,"
               "\"stop\":null,\"n\":1}"), 18);
    check_ok("long plain string",
             S("\"0123456789abcdefghijklmnopqrstuvwxyz0123456789\""), 1);
    check_ok("DEL is not a control character", S("\"\x7f\""), 1);
}


static void
test_tokens_limit(void)
{
    int                  rc;
    ngx_http_llm_json_t  p;

    memset(&p, 0, sizeof(p));
    p.data = (const u_char *) "[1,2,3]";
    p.len = 7;
    p.tokens = toks;
    p.max_tokens = 3;

    rc = ngx_http_llm_json_parse(&p);

    ok(rc == NGX_HTTP_LLM_JSON_ERROR && p.err
       && strcmp(p.err, "too many tokens") == 0 && p.err_offset == 5,
       "max_tokens 3 for 4 tokens: \"too many tokens\" at 5");

    p.max_tokens = 4;
    rc = ngx_http_llm_json_parse(&p);

    ok(rc == NGX_HTTP_LLM_JSON_OK && p.ntokens == 4,
       "max_tokens 4 for 4 tokens: ok");

    p.max_tokens = 0;
    rc = ngx_http_llm_json_parse(&p);

    ok(rc == NGX_HTTP_LLM_JSON_ERROR && p.err
       && strcmp(p.err, "too many tokens") == 0 && p.err_offset == 0,
       "max_tokens 0 with an array: \"too many tokens\" at 0");

    /* the counting pass honours a non-zero limit */

    p.tokens = NULL;
    p.max_tokens = 2;
    rc = ngx_http_llm_json_parse(&p);

    ok(rc == NGX_HTTP_LLM_JSON_ERROR && p.err
       && strcmp(p.err, "too many tokens") == 0 && p.err_offset == 3,
       "counting pass with max_tokens 2: \"too many tokens\" at 3");

    p.max_tokens = 0;
    rc = ngx_http_llm_json_parse(&p);

    ok(rc == NGX_HTTP_LLM_JSON_OK && p.ntokens == 4,
       "counting pass with max_tokens 0: unlimited");

    p.data = (const u_char *) "{\"a\":{\"b\":1}}";
    p.len = 13;
    p.tokens = toks;
    p.max_tokens = 4;
    rc = ngx_http_llm_json_parse(&p);

    ok(rc == NGX_HTTP_LLM_JSON_ERROR && p.err
       && strcmp(p.err, "too many tokens") == 0 && p.err_offset == 10,
       "too many tokens on a member value at 10");

    /*
     * "full": the array was too small (one pass into a guessed array, then
     * count and fill again), unlike any other error
     */

    ok(p.full == 1, "too many tokens for the array: full");

    p.data = (const u_char *) "[1,2,3]";
    p.len = 7;
    p.max_tokens = 4;
    rc = ngx_http_llm_json_parse(&p);

    ok(rc == NGX_HTTP_LLM_JSON_OK && p.full == 0,
       "parsed into an array large enough: not full");

    p.data = (const u_char *) "[1,2,x]";
    rc = ngx_http_llm_json_parse(&p);

    ok(rc == NGX_HTTP_LLM_JSON_ERROR && p.full == 0 && p.err
       && strcmp(p.err, "unexpected character") == 0,
       "invalid document, array large enough: not full");

    p.max_tokens = 2;
    rc = ngx_http_llm_json_parse(&p);

    ok(rc == NGX_HTTP_LLM_JSON_ERROR && p.full == 1,
       "invalid document past a full array: full (the count says why)");

    p.tokens = NULL;
    p.max_tokens = 0;
    rc = ngx_http_llm_json_parse(&p);

    ok(rc == NGX_HTTP_LLM_JSON_ERROR && p.full == 0 && p.err
       && strcmp(p.err, "unexpected character") == 0 && p.err_offset == 5,
       "then the counting pass: the document's own error, not full");

    p.max_tokens = 2;
    p.data = (const u_char *) "[1,2,3]";
    rc = ngx_http_llm_json_parse(&p);

    ok(rc == NGX_HTTP_LLM_JSON_ERROR && p.full == 0,
       "a limit on the counting pass: an error, not full");
}


static void
test_counting(void)
{
    size_t                i;
    ngx_http_llm_json_t   c, f;

    static const char  *docs[] = {
        "{\"model\":\"claude\",\"max_tokens\":1024,\"messages\":[{\"role\":"
        "\"user\",\"content\":[{\"type\":\"text\",\"text\":\"Hello\"},"
        "{\"type\":\"image\",\"source\":{\"type\":\"base64\",\"data\":"
        "\"AAAA\"}}]}],\"system\":[{\"type\":\"text\",\"text\":\"Be "
        "brief\\n\"}]}",
        "[[[[]]],{},{\"a\":[1,2,{\"b\":null}]},true,false,\"\\u00e9\"]",
        "  \"just a string\"  ",
        "-12.5e-3",
        "{\"a\":{},\"b\":[],\"c\":{\"d\":{\"e\":[[[\"f\"]]]}}}",
    };

    for (i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
        count(&c, (const u_char *) docs[i], strlen(docs[i]), 0);
        parse(&f, (const u_char *) docs[i], strlen(docs[i]), 0);

        ok(c.err == NULL && f.err == NULL && c.ntokens == f.ntokens
           && c.ntokens > 0,
           "counting pass and filling pass agree on document %zu (%u)",
           i, f.ntokens);
    }

    /* the counting pass never touches the tokens */

    memset(toks, 0xa5, sizeof(toks));
    count(&c, (const u_char *) docs[0], strlen(docs[0]), 0);

    ok(((u_char *) toks)[0] == 0xa5
       && ((u_char *) toks)[sizeof(toks) - 1] == 0xa5,
       "counting pass does not write tokens");
}


/*
 * object_get_ix, the names indexed by length, with as many names as the
 * request body's walk and the usage object's: names of one length, of the
 * same length as a key with another first byte, of 32 bytes and more,
 * empty, given twice, keys with escapes, repeated keys.  The same values as
 * object_get (and object_get_n), name by name, for every count of names
 * from 1 to 32 and every rotation of the table.
 */

static void
test_object_get_ix(void)
{
    uint32_t                   i, j, n, rot, want, bad, calls;
    uint32_t                   vals[32], vals_n[32];
    ngx_http_llm_json_t        p;
    ngx_http_llm_json_name_t   names[33];
    ngx_http_llm_json_index_t  ix;

    static const u_char  doc[] =
        "{\"model\":\"a\",\"stream\":true,\"n\":2,\"model\":\"b\","
        "\"mod\\u0065m\":1,\"modem\":7,\"tools\":[],\"tool\\u0073\":{},"
        "\"\":0,\"max_completion_tokens_and_more_\":5,"
        "\"max_completion_tokens_and_more_x\":6,\"temperature\":0.5,"
        "\"messages\":[{\"role\":\"user\"}],\"input\":\"x\","
        "\"best_of\":3,\"stream\":false,\"max_completion_tokens_and_more_\\u0078y\":8}";

    static const ngx_http_llm_json_name_t  all[32] = {
        { "model", 5 }, { "modem", 5 }, { "stream", 6 }, { "n", 1 },
        { "tools", 5 }, { "", 0 }, { "messages", 8 }, { "input", 5 },
        { "max_completion_tokens_and_more_", 31 },
        { "max_completion_tokens_and_more_x", 32 },
        { "max_completion_tokens_and_more_xy", 33 },
        { "temperature", 11 }, { "best_of", 7 }, { "role", 4 },
        { "model", 5 }, { "absent", 6 }, { "x", 1 }, { "modex", 5 },
        { "stream_options", 14 }, { "tool", 4 }, { "a", 1 }, { "b", 1 },
        { "stream", 6 }, { "streak", 6 }, { "inputs", 6 }, { "mode", 4 },
        { "best_off", 8 }, { "temperaturE", 11 }, { "", 0 }, { "n", 1 },
        { "max_completion_tokens_and_more_x", 32 }, { "user", 4 }
    };

    parse(&p, doc, sizeof(doc) - 1, 0);
    ok(p.err == NULL, "object_get_ix document parsed");

    bad = 0;
    calls = 0;

    for (n = 1; n <= 32; n++) {
        for (rot = 0; rot < 32; rot++) {
            for (i = 0; i < n; i++) {
                names[i] = all[(i + rot) % 32];
            }

            if (ngx_http_llm_json_index_init(&ix, names, n)
                != NGX_HTTP_LLM_JSON_OK)
            {
                bad++;
                continue;
            }

            ngx_http_llm_json_object_get_ix(&p, 0, &ix, vals);
            ngx_http_llm_json_object_get_n(&p, 0, names, n, vals_n);
            calls++;

            for (j = 0; j < n; j++) {
                want = ngx_http_llm_json_object_get(&p, 0, names[j].name,
                                                    names[j].len);
                if (vals[j] != want || vals_n[j] != want) {
                    bad++;
                }
            }
        }
    }

    ok(bad == 0 && calls == 32 * 32,
       "object_get_ix and object_get_n agree with object_get, 1 to 32 names");

    for (i = 0; i < 32; i++) {
        names[i] = all[i];
    }

    ngx_http_llm_json_index_init(&ix, names, 32);
    ngx_http_llm_json_object_get_ix(&p, 0, &ix, vals);

    ok(vals[0] != NONE && doc[toks[vals[0]].start + 1] == 'b'
       && vals[14] == vals[0], "object_get_ix: the last \"model\", twice");
    ok(vals[1] != NONE && doc[toks[vals[1]].start] == '7',
       "object_get_ix: the last \"modem\" (plain after escaped)");
    ok(vals[2] != NONE && toks[vals[2]].type == T_FALSE
       && vals[22] == vals[2], "object_get_ix: the last \"stream\"");
    ok(vals[4] != NONE && toks[vals[4]].type == T_OBJ,
       "object_get_ix: an escaped key after a plain one");
    ok(vals[8] != NONE && doc[toks[vals[8]].start] == '5'
       && vals[9] != NONE && doc[toks[vals[9]].start] == '6'
       && vals[10] != NONE && doc[toks[vals[10]].start] == '8'
       && vals[30] == vals[9],
       "object_get_ix: names of 31, 32 and 33 bytes (one escaped)");
    ok(vals[5] != NONE && doc[toks[vals[5]].start] == '0' && vals[28] == vals[5]
       && vals[13] == NONE && vals[15] == NONE && vals[17] == NONE
       && vals[18] == NONE && vals[19] == NONE && vals[31] == NONE,
       "object_get_ix: the empty key; nested and absent names");

    ngx_http_llm_json_object_get_ix(&p, vals[6], &ix, vals);
    ok(vals[0] == NONE && vals[31] == NONE, "object_get_ix on an array");

    names[32] = all[0];
    ok(ngx_http_llm_json_index_init(&ix, names, 33) == NGX_HTTP_LLM_JSON_ERROR,
       "object_get_ix: at most 32 names");
}


static void
test_object_get(void)
{
    uint32_t             v, arr;
    ngx_http_llm_json_t  p;

    static const u_char  doc[] =
        "{\"model\":\"a\",\"x\":1,\"model\":\"b\",\"mod\\u0065l2\":true,"
        "\"a\\\"b\":2,\"\\ud83d\\ude00\":3,\"\":4,\"o\":{\"k\":\"v\"},"
        "\"arr\":[{\"model\":\"c\"}]}";

    parse(&p, doc, sizeof(doc) - 1, 0);
    ok(p.err == NULL, "object_get document parsed");

    v = ngx_http_llm_json_object_get(&p, 0, "model", 5);
    ok(v != NONE && toks[v].type == T_STR
       && memcmp(doc + toks[v].start, "\"b\"", 3) == 0,
       "repeated key: the last occurrence wins");

    v = ngx_http_llm_json_object_get(&p, 0, "x", 1);
    ok(v != NONE && toks[v].type == T_NUM && doc[toks[v].start] == '1',
       "plain key");

    v = ngx_http_llm_json_object_get(&p, 0, "model2", 6);
    ok(v != NONE && toks[v].type == T_TRUE,
       "escaped key \"mod\\u0065l2\" matches \"model2\"");

    v = ngx_http_llm_json_object_get(&p, 0, "a\"b", 3);
    ok(v != NONE && doc[toks[v].start] == '2', "escaped quote in a key");

    v = ngx_http_llm_json_object_get(&p, 0, "\xf0\x9f\x98\x80", 4);
    ok(v != NONE && doc[toks[v].start] == '3',
       "surrogate pair key matches its UTF-8");

    v = ngx_http_llm_json_object_get(&p, 0, "", 0);
    ok(v != NONE && doc[toks[v].start] == '4', "empty key");

    ok(ngx_http_llm_json_object_get(&p, 0, "mode", 4) == NONE,
       "prefix of a key does not match");
    ok(ngx_http_llm_json_object_get(&p, 0, "models", 6) == NONE,
       "longer key does not match");
    ok(ngx_http_llm_json_object_get(&p, 0, "mod\\u0065l2", 11) == NONE,
       "raw escaped text does not match");
    ok(ngx_http_llm_json_object_get(&p, 0, "k", 1) == NONE,
       "nested keys are not members");

    v = ngx_http_llm_json_object_get(&p, 0, "o", 1);
    v = ngx_http_llm_json_object_get(&p, v, "k", 1);
    ok(v != NONE && toks[v].type == T_STR && doc[toks[v].start + 1] == 'v',
       "nested object member");

    arr = ngx_http_llm_json_object_get(&p, 0, "arr", 3);
    ok(arr != NONE && toks[arr].type == T_ARR, "array member");

    ok(ngx_http_llm_json_object_get(&p, arr, "model", 5) == NONE,
       "object_get on an array");

    v = ngx_http_llm_json_object_get(&p, 1, "model", 5);
    ok(v == NONE, "object_get on a string");

    v = ngx_http_llm_json_object_get(&p, p.ntokens, "model", 5);
    ok(v == NONE, "object_get past the last token");

    v = ngx_http_llm_json_object_get(&p, NONE, "model", 5);
    ok(v == NONE, "object_get on NONE");

    v = ngx_http_llm_json_first(&p, arr);
    v = ngx_http_llm_json_object_get(&p, v, "model", 5);
    ok(v != NONE && doc[toks[v].start + 1] == 'c',
       "object_get in an array element");

    parse(&p, S("{}"), 0);
    ok(ngx_http_llm_json_object_get(&p, 0, "a", 1) == NONE,
       "object_get on an empty object");

    parse(&p, S("[\"model\",1]"), 0);
    ok(ngx_http_llm_json_object_get(&p, 0, "model", 5) == NONE,
       "object_get on a root array");

    parse(&p, S("{\"mod\\u0065l\":1,\"model\":2,\"m\\u006fdel\":3}"), 0);
    v = ngx_http_llm_json_object_get(&p, 0, "model", 5);
    ok(v == 6, "last wins across escaped and plain spellings");

    count(&p, S("{\"a\":1}"), 0);
    ok(ngx_http_llm_json_object_get(&p, 0, "a", 1) == NONE,
       "object_get without tokens");
}


static void
test_first(void)
{
    ngx_http_llm_json_t  p;

    parse(&p, S("{\"a\":[1,2],\"b\":[],\"c\":{},\"d\":\"s\"}"), 0);

    ok(ngx_http_llm_json_first(&p, 0) == 1, "first key of an object");
    ok(ngx_http_llm_json_first(&p, 2) == 3, "first element of an array");
    ok(toks[ngx_http_llm_json_first(&p, 2)].next == 4,
       "first element links to the second");
    ok(ngx_http_llm_json_first(&p, 6) == NONE, "first of an empty array");
    ok(ngx_http_llm_json_first(&p, 8) == NONE, "first of an empty object");
    ok(ngx_http_llm_json_first(&p, 10) == NONE, "first of a string");
    ok(ngx_http_llm_json_first(&p, 1) == NONE, "first of a key");
    ok(ngx_http_llm_json_first(&p, p.ntokens) == NONE,
       "first past the last token");
    ok(ngx_http_llm_json_first(&p, NONE) == NONE, "first of NONE");
}


static int
decodes_to(const char *json, const char *expect, size_t expect_len)
{
    u_char               out[256];
    size_t               len, n;
    const u_char        *raw;
    ngx_http_llm_json_t  p;

    if (parse(&p, (const u_char *) json, strlen(json), 0)
        != NGX_HTTP_LLM_JSON_OK
        || toks[0].type != T_STR)
    {
        return 0;
    }

    ngx_http_llm_json_raw_string(&p, 0, &raw, &len);

    if (raw != p.data + 1 || len != strlen(json) - 2) {
        return 0;
    }

    memset(out, 0xee, sizeof(out));
    n = ngx_http_llm_json_decode_string(raw, len, out);

    return n == expect_len && n <= len && memcmp(out, expect, n) == 0
           && out[n] == 0xee;
}


static void
test_decode(void)
{
    u_char  out[16];

#define D(json, text)                                                        \
    ok(decodes_to(json, text, sizeof(text) - 1), "decode %s", json)

    D("\"\"", "");
    D("\"plain\"", "plain");
    D("\"\\\"\"", "\"");
    D("\"\\\\\"", "\\");
    D("\"\\/\"", "/");
    D("\"\\b\"", "\b");
    D("\"\\f\"", "\f");
    D("\"\\n\"", "\n");
    D("\"\\r\"", "\r");
    D("\"\\t\"", "\t");
    D("\"\\u0041\"", "A");
    D("\"\\u0000\"", "\0");
    D("\"a\\u0000b\"", "a\0b");
    D("\"\\u007f\"", "\x7f");
    D("\"\\u0080\"", "\xc2\x80");
    D("\"\\u00e9\"", "\xc3\xa9");
    D("\"\\u00E9\"", "\xc3\xa9");
    D("\"\\u07ff\"", "\xdf\xbf");
    D("\"\\u0800\"", "\xe0\xa0\x80");
    D("\"\\u20AC\"", "\xe2\x82\xac");
    D("\"\\uffff\"", "\xef\xbf\xbf");
    D("\"\\ud83d\\ude00\"", "\xf0\x9f\x98\x80");
    D("\"\\uD800\\uDC00\"", "\xf0\x90\x80\x80");
    D("\"\\uDBFF\\uDFFF\"", "\xf4\x8f\xbf\xbf");
    D("\"x\\ud83d\\ude00y\\n\"", "x\xf0\x9f\x98\x80y\n");
    D("\"caf\xc3\xa9 \\\"ok\\\"\"", "caf\xc3\xa9 \"ok\"");
    D("\"\\\\u0041\"", "\\u0041");

#undef D

    /* decode is safe on text that was not validated */

    ok(ngx_http_llm_json_decode_string((const u_char *) "\\ud800", 6, out)
       == 3 && memcmp(out, "\xef\xbf\xbd", 3) == 0,
       "decode of an unvalidated lone surrogate gives U+FFFD");
    ok(ngx_http_llm_json_decode_string((const u_char *) "a\\", 2, out) == 2
       && memcmp(out, "a\\", 2) == 0,
       "decode of an unvalidated trailing backslash");
    ok(ngx_http_llm_json_decode_string((const u_char *) "\\u12", 4, out)
       == 3 && memcmp(out, "u12", 3) == 0,
       "decode of an unvalidated short \\u");

    check_err("escaped lone surrogate rejected at parse time",
              S("[\"ok\",\"\\uD834\"]"), "lone surrogate in \\u escape", 7);
}


static void
test_encode(void)
{
    int                  i;
    u_char               src[256], enc[2048], doc[2048], dec[2048], *e;
    size_t               n, len, dlen;
    const u_char        *raw;
    ngx_http_llm_json_t  p;

    static const u_char  text[] = "a\"b\\c\n\r\t\b\f\x01\x1f/\x7f\xc3\xa9";
    static const u_char  expect[] =
        "a\\\"b\\\\c\\n\\r\\t\\b\\f\\u0001\\u001f/\x7f\xc3\xa9";

    n = ngx_http_llm_json_encoded_len(text, sizeof(text) - 1);
    e = ngx_http_llm_json_encode_string(enc, text, sizeof(text) - 1);

    ok(n == sizeof(expect) - 1 && (size_t) (e - enc) == n
       && memcmp(enc, expect, n) == 0,
       "encode of quotes, backslash and control characters");

    ok(ngx_http_llm_json_encoded_len((const u_char *) "", 0) == 0
       && ngx_http_llm_json_encode_string(enc, (const u_char *) "", 0)
          == enc,
       "encode of empty text");

    /* round trip: all ASCII, and some UTF-8 */

    for (i = 0; i < 128; i++) {
        src[i] = (u_char) i;
    }

    memcpy(src + 128, "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", 9);
    len = 137;

    n = ngx_http_llm_json_encoded_len(src, len);
    e = ngx_http_llm_json_encode_string(doc + 1, src, len);

    ok((size_t) (e - doc - 1) == n, "encoded_len matches encode (%zu)", n);

    doc[0] = '"';
    *e++ = '"';

    if (ok(parse(&p, doc, e - doc, 0) == NGX_HTTP_LLM_JSON_OK
           && p.ntokens == 1 && toks[0].type == T_STR && toks[0].escaped,
           "encoded text parses as one string"))
    {
        ngx_http_llm_json_raw_string(&p, 0, &raw, &dlen);
        dlen = ngx_http_llm_json_decode_string(raw, dlen, dec);

        ok(dlen == len && memcmp(dec, src, len) == 0,
           "decode of the encoded text gives the original");

    } else {
        ok(0, "decode of the encoded text gives the original");
    }
}


static void
test_get_int(void)
{
    size_t               i;
    int64_t              v;
    ngx_http_llm_json_t  p;

    static const struct {
        const char  *json;
        int          rc;
        int64_t      value;
    } cases[] = {
        { "0", NGX_HTTP_LLM_JSON_OK, 0 },
        { "-0", NGX_HTTP_LLM_JSON_OK, 0 },
        { "42", NGX_HTTP_LLM_JSON_OK, 42 },
        { "-17", NGX_HTTP_LLM_JSON_OK, -17 },
        { "1024", NGX_HTTP_LLM_JSON_OK, 1024 },
        { "9223372036854775807", NGX_HTTP_LLM_JSON_OK, INT64_MAX },
        { "-9223372036854775808", NGX_HTTP_LLM_JSON_OK, INT64_MIN },
        { "9223372036854775808", NGX_HTTP_LLM_JSON_ERROR, 0 },
        { "-9223372036854775809", NGX_HTTP_LLM_JSON_ERROR, 0 },
        { "18446744073709551616", NGX_HTTP_LLM_JSON_ERROR, 0 },
        { "99999999999999999999999", NGX_HTTP_LLM_JSON_ERROR, 0 },
        { "1.0", NGX_HTTP_LLM_JSON_ERROR, 0 },
        { "1e2", NGX_HTTP_LLM_JSON_ERROR, 0 },
        { "-5E0", NGX_HTTP_LLM_JSON_ERROR, 0 },
        { "\"1\"", NGX_HTTP_LLM_JSON_ERROR, 0 },
        { "true", NGX_HTTP_LLM_JSON_ERROR, 0 },
        { "[1]", NGX_HTTP_LLM_JSON_ERROR, 0 },
    };

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        v = 12345;
        parse(&p, (const u_char *) cases[i].json, strlen(cases[i].json), 0);

        if (cases[i].rc == NGX_HTTP_LLM_JSON_OK) {
            ok(ngx_http_llm_json_get_int(&p, 0, &v) == NGX_HTTP_LLM_JSON_OK
               && v == cases[i].value,
               "get_int %s", cases[i].json);

        } else {
            ok(ngx_http_llm_json_get_int(&p, 0, &v)
               == NGX_HTTP_LLM_JSON_ERROR && v == 12345,
               "get_int %s rejected", cases[i].json);
        }
    }

    parse(&p, S("[7]"), 0);
    ok(ngx_http_llm_json_get_int(&p, 1, &v) == NGX_HTTP_LLM_JSON_OK && v == 7,
       "get_int of an array element");
    ok(ngx_http_llm_json_get_int(&p, 2, &v) == NGX_HTTP_LLM_JSON_ERROR,
       "get_int past the last token rejected");
}


static double
rel_err(double a, double b)
{
    double  d;

    if (a == b) {
        return 0;
    }

    d = (a - b) / (b != 0 ? b : 1);

    return d < 0 ? -d : d;
}


static void
test_get_double(void)
{
    int                  n;
    char                 buf[64];
    size_t               i, bad;
    double               v, want;
    uint64_t             seed;
    ngx_http_llm_json_t  p;

    static const char  *exact[] = {
        "1e3", "-0.5", "12.5E-1", "0.7", "0.1", "1", "2", "0.95", "1.0",
        "3.141592653589793", "100", "1e22", "1e-22", "123456789", "0.000001",
        "9007199254740992", "-273.15", "1E+2", "0.30000000000000004",
    };

    static const char  *approx[] = {
        "123456789012345678901234567890", "1.7976931348623157e308",
        "2.2250738585072014e-308", "4.9e-300", "1e300", "1e-300",
        "0.00000000000000000000000000001234567", "12345678901234567890123e-5",
        "9007199254740993", "1e23", "8.5e-38", "6.02214076e23",
        "1.0000000000000000000000000000000000001",
        "0.000000000000000000000000000000000000000000000000000000000001",
    };

    for (i = 0; i < sizeof(exact) / sizeof(exact[0]); i++) {
        parse(&p, (const u_char *) exact[i], strlen(exact[i]), 0);

        v = -1;
        want = strtod(exact[i], NULL);

        ok(ngx_http_llm_json_get_double(&p, 0, &v) == NGX_HTTP_LLM_JSON_OK
           && v == want,
           "get_double %s is exact", exact[i]);
    }

    for (i = 0; i < sizeof(approx) / sizeof(approx[0]); i++) {
        parse(&p, (const u_char *) approx[i], strlen(approx[i]), 0);

        v = -1;
        want = strtod(approx[i], NULL);

        if (!ok(ngx_http_llm_json_get_double(&p, 0, &v)
                == NGX_HTTP_LLM_JSON_OK && rel_err(v, want) < 1e-15,
                "get_double %s within 1e-15", approx[i]))
        {
            diag("got %.17g want %.17g", v, want);
        }
    }

    /* pseudo-random numbers of every magnitude against strtod */

    for (i = 0, bad = 0, seed = 12345; i < 100000; i++) {
        seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;

        n = snprintf(buf, sizeof(buf), "%s%llu.%05llue%d",
                     (seed >> 63) ? "-" : "",
                     (unsigned long long) ((seed >> 20) % 100000000000ULL),
                     (unsigned long long) ((seed >> 5) % 100000),
                     (int) ((seed >> 40) % 600) - 310);

        want = strtod(buf, NULL);

        if (want == 0 || want > 1.7976931348623157e308
            || want < -1.7976931348623157e308)
        {
            continue;
        }

        if (parse(&p, (const u_char *) buf, n, 0) != NGX_HTTP_LLM_JSON_OK
            || ngx_http_llm_json_get_double(&p, 0, &v)
               != NGX_HTTP_LLM_JSON_OK
            || (rel_err(v, want) > 1e-15
                && (want > 1e-300 || want < -1e-300)))
        {
            if (bad++ < 5) {
                diag("%s: got %.17g want %.17g", buf, v, want);
            }
        }
    }

    ok(bad == 0, "get_double of 100000 pseudo-random numbers within 1e-15");

    parse(&p, S("1e1000"), 0);
    ok(ngx_http_llm_json_get_double(&p, 0, &v) == NGX_HTTP_LLM_JSON_ERROR,
       "get_double 1e1000 (overflow) rejected");

    parse(&p, S("-1.8e308"), 0);
    ok(ngx_http_llm_json_get_double(&p, 0, &v) == NGX_HTTP_LLM_JSON_ERROR,
       "get_double -1.8e308 (overflow) rejected");

    parse(&p, S("1e-1000"), 0);
    ok(ngx_http_llm_json_get_double(&p, 0, &v) == NGX_HTTP_LLM_JSON_OK
       && v == 0, "get_double 1e-1000 is 0");

    parse(&p, S("0e999999999999999999"), 0);
    ok(ngx_http_llm_json_get_double(&p, 0, &v) == NGX_HTTP_LLM_JSON_OK
       && v == 0, "get_double 0e999999999999999999 is 0");

    parse(&p, S("-0.0"), 0);
    ok(ngx_http_llm_json_get_double(&p, 0, &v) == NGX_HTTP_LLM_JSON_OK
       && v == 0 && 1 / v < 0, "get_double -0.0 is negative zero");

    parse(&p, S("\"1.5\""), 0);
    ok(ngx_http_llm_json_get_double(&p, 0, &v) == NGX_HTTP_LLM_JSON_ERROR,
       "get_double of a string rejected");

    parse(&p, S("{\"temperature\":0.2}"), 0);
    ok(ngx_http_llm_json_get_double(&p,
           ngx_http_llm_json_object_get(&p, 0, "temperature", 11), &v)
       == NGX_HTTP_LLM_JSON_OK && v == 0.2,
       "get_double of a member");
}


int
main(void)
{
    test_errors();
    test_depth();
    test_layout();
    test_valid();
    test_tokens_limit();
    test_counting();
    test_object_get();
    test_object_get_ix();
    test_first();
    test_decode();
    test_encode();
    test_get_int();
    test_get_double();

    printf("1..%d\n", tests);

    if (failures) {
        printf("# %d of %d tests failed\n", failures, tests);
        return 1;
    }

    return 0;
}
