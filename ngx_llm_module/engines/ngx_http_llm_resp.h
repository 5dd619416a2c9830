
/*
 * Copyright (C) ngx_llm_module authors
 *
 * RESP2 (the Redis protocol): the encoding of commands and an incremental
 * parser of replies.  libc only, so that it is unit-tested and fuzzed
 * without nginx (t/unit/resp_test.c, fuzz/resp_fuzz.c).
 */


#ifndef _NGX_HTTP_LLM_RESP_H_INCLUDED_
#define _NGX_HTTP_LLM_RESP_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>


#define NGX_HTTP_LLM_RESP_STATUS   '+'
#define NGX_HTTP_LLM_RESP_ERROR    '-'
#define NGX_HTTP_LLM_RESP_INTEGER  ':'
#define NGX_HTTP_LLM_RESP_BULK     '$'
#define NGX_HTTP_LLM_RESP_ARRAY    '*'
#define NGX_HTTP_LLM_RESP_NIL      '_'     /* $-1 or *-1 */

/* limits: a reply beyond them is a protocol error */
#define NGX_HTTP_LLM_RESP_MAX_DEPTH   8
#define NGX_HTTP_LLM_RESP_MAX_ITEMS   4096
#define NGX_HTTP_LLM_RESP_MAX_BULK    (512 * 1024 * 1024)
#define NGX_HTTP_LLM_RESP_MAX_LINE    4096

#define NGX_HTTP_LLM_RESP_INCOMPLETE  0
#define NGX_HTTP_LLM_RESP_INVALID     -1


typedef struct {
    int                   type;
    int64_t               integer;    /* ':'; the count of '*' */
    const unsigned char  *data;       /* '+', '-', '$': into the buffer */
    size_t                len;
} ngx_http_llm_resp_value_t;


/*
 * One complete reply at the start of buf[0, len): the number of bytes it
 * takes (> 0), NGX_HTTP_LLM_RESP_INCOMPLETE when more is needed, or
 * NGX_HTTP_LLM_RESP_INVALID.  Its values go to v[0, max) in prefix order
 * (an array, then its elements); *n is how many there were (it may exceed
 * max: the rest were checked, not stored).
 */
ssize_t ngx_http_llm_resp_parse(const unsigned char *buf, size_t len,
    ngx_http_llm_resp_value_t *v, size_t max, size_t *n);

/*
 * A command as an array of bulk strings: the bytes written to out (which
 * has room for ngx_http_llm_resp_command_size() bytes).
 */
size_t ngx_http_llm_resp_command_size(size_t argc, const size_t *lens);
size_t ngx_http_llm_resp_command(unsigned char *out, size_t argc,
    const unsigned char *const *args, const size_t *lens);


#endif /* _NGX_HTTP_LLM_RESP_H_INCLUDED_ */
