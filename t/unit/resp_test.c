
/*
 * Copyright (C) ngx_llm_module authors
 *
 * Unit tests of the RESP2 parser and command encoder; prints TAP.
 *
 *   cc -I ngx_llm_module t/unit/resp_test.c \
 *       ngx_llm_module/engines/ngx_http_llm_resp.c -o build/unit/resp_test
 */


#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ngx_http_llm_resp.h"


#define S(s)  (const unsigned char *) (s), sizeof(s) - 1


static int  tests;
static int  failures;


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


static int
eq(ngx_http_llm_resp_value_t *v, const char *s)
{
    return v->len == strlen(s) && memcmp(v->data, s, v->len) == 0;
}


int
main(void)
{
    size_t                      n, i, len;
    ssize_t                     rc;
    unsigned char               out[256], *big;
    const unsigned char        *args[3];
    size_t                      lens[3];
    ngx_http_llm_resp_value_t   v[8];

    rc = ngx_http_llm_resp_parse(S("+OK\r\n"), v, 8, &n);
    ok(rc == 5 && n == 1 && v[0].type == '+' && eq(&v[0], "OK"), "status");

    rc = ngx_http_llm_resp_parse(S("-WRONGPASS invalid\r\n"), v, 8, &n);
    ok(rc == 20 && v[0].type == '-' && eq(&v[0], "WRONGPASS invalid"),
       "error");

    rc = ngx_http_llm_resp_parse(S(":-42\r\n"), v, 8, &n);
    ok(rc == 6 && v[0].type == ':' && v[0].integer == -42, "integer");

    rc = ngx_http_llm_resp_parse(S("$5\r\nhe\r\no\r\n"), v, 8, &n);
    ok(rc == 11 && v[0].type == '$' && v[0].len == 5
       && memcmp(v[0].data, "he\r\no", 5) == 0, "bulk with CRLF inside");

    rc = ngx_http_llm_resp_parse(S("$0\r\n\r\n"), v, 8, &n);
    ok(rc == 6 && v[0].type == '$' && v[0].len == 0, "empty bulk");

    rc = ngx_http_llm_resp_parse(S("$-1\r\n"), v, 8, &n);
    ok(rc == 5 && v[0].type == NGX_HTTP_LLM_RESP_NIL, "nil bulk");

    rc = ngx_http_llm_resp_parse(S("*-1\r\n"), v, 8, &n);
    ok(rc == 5 && v[0].type == NGX_HTTP_LLM_RESP_NIL, "nil array");

    rc = ngx_http_llm_resp_parse(S("*3\r\n$3\r\n100\r\n$1\r\n0\r\n:3\r\n"),
                                 v, 8, &n);
    ok(rc == 24 && n == 4 && v[0].type == '*' && v[0].integer == 3
       && eq(&v[1], "100") && eq(&v[2], "0") && v[3].integer == 3,
       "array of a lease reply");

    rc = ngx_http_llm_resp_parse(S("*2\r\n*1\r\n:1\r\n+x\r\n"), v, 2, &n);
    ok(rc > 0 && n == 4 && v[1].type == '*', "nested, more values than room");

    /* incomplete at every cut */

    {
        static const char  full[] = "*2\r\n$5\r\nhello\r\n:12\r\n";

        len = sizeof(full) - 1;
        rc = 1;

        for (i = 0; i < len; i++) {
            if (ngx_http_llm_resp_parse((const unsigned char *) full, i, v, 8,
                                        &n)
                != NGX_HTTP_LLM_RESP_INCOMPLETE)
            {
                rc = 0;
                break;
            }
        }

        ok(rc == 1, "every prefix of a reply is incomplete (%zu bytes)", i);
        ok(ngx_http_llm_resp_parse((const unsigned char *) full, len, v, 8,
                                   &n) == (ssize_t) len, "then complete");
    }

    /* two replies: one at a time */

    rc = ngx_http_llm_resp_parse(S("+A\r\n+B\r\n"), v, 8, &n);
    ok(rc == 4 && eq(&v[0], "A"), "pipelined: the first reply only");

    /* invalid */

    ok(ngx_http_llm_resp_parse(S("?x\r\n"), v, 8, &n)
       == NGX_HTTP_LLM_RESP_INVALID, "unknown type");
    ok(ngx_http_llm_resp_parse(S(":12a\r\n"), v, 8, &n)
       == NGX_HTTP_LLM_RESP_INVALID, "bad integer");
    ok(ngx_http_llm_resp_parse(S(":\r\n"), v, 8, &n)
       == NGX_HTTP_LLM_RESP_INVALID, "empty integer");
    ok(ngx_http_llm_resp_parse(S(":99999999999999999999\r\n"), v, 8, &n)
       == NGX_HTTP_LLM_RESP_INVALID, "integer overflow");
    ok(ngx_http_llm_resp_parse(S("$3\r\nabcd\r\n"), v, 8, &n)
       == NGX_HTTP_LLM_RESP_INVALID, "bulk longer than said");
    ok(ngx_http_llm_resp_parse(S("$-2\r\n"), v, 8, &n)
       == NGX_HTTP_LLM_RESP_INVALID, "negative bulk length");
    ok(ngx_http_llm_resp_parse(S("+a\nb\r\n"), v, 8, &n)
       == NGX_HTTP_LLM_RESP_INVALID, "LF alone in a line");
    ok(ngx_http_llm_resp_parse(S("+a\rb\r\n"), v, 8, &n)
       == NGX_HTTP_LLM_RESP_INVALID, "CR alone in a line");
    ok(ngx_http_llm_resp_parse(S("*99999\r\n"), v, 8, &n)
       == NGX_HTTP_LLM_RESP_INVALID, "too many items");
    ok(ngx_http_llm_resp_parse(S("*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n"
                                 "*1\r\n:1\r\n"), v, 8, &n)
       == NGX_HTTP_LLM_RESP_INVALID, "too deep");

    big = malloc(NGX_HTTP_LLM_RESP_MAX_LINE + 16);
    memset(big, 'x', NGX_HTTP_LLM_RESP_MAX_LINE + 16);
    big[0] = '+';
    ok(ngx_http_llm_resp_parse(big, NGX_HTTP_LLM_RESP_MAX_LINE + 16, v, 8, &n)
       == NGX_HTTP_LLM_RESP_INVALID, "a line without end, too long");
    free(big);

    /* encoding */

    args[0] = (const unsigned char *) "GET";
    args[1] = (const unsigned char *) "k\r\ney";
    args[2] = (const unsigned char *) "";
    lens[0] = 3;
    lens[1] = 5;
    lens[2] = 0;

    len = ngx_http_llm_resp_command_size(3, lens);
    i = ngx_http_llm_resp_command(out, 3, args, lens);

    ok(i == len && len == 30
       && memcmp(out, "*3\r\n$3\r\nGET\r\n$5\r\nk\r\ney\r\n$0\r\n\r\n", len) == 0,
       "a command as an array of bulk strings (%zu bytes)", i);

    lens[1] = 1234567;
    ok(ngx_http_llm_resp_command_size(2, lens) == 4 + 9 + 10 + 1234567 + 2,
       "its size with a 7-digit length");

    printf("1..%d\n", tests);

    return failures ? 1 : 0;
}
