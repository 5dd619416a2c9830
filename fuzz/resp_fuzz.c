/*
 * Copyright (C) ngx_llm_module authors
 *
 * libFuzzer target for the RESP2 reply parser, see fuzz/README.md.
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -I ngx_llm_module \
 *       fuzz/resp_fuzz.c ngx_llm_module/engines/ngx_http_llm_resp.c \
 *       -o build/fuzz/resp_fuzz
 *
 * The input, from an exactly sized copy, is parsed reply after reply as
 * the client does.  A reply must take at least one byte and no more than
 * what is left; every prefix of a complete reply must be incomplete (the
 * client parses again from the start when more bytes come), and the
 * values of a reply must lie inside the input.
 */


#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ngx_http_llm_resp.h"


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t                      pos, n, i, k;
    ssize_t                     rc, rc2;
    unsigned char              *copy;
    ngx_http_llm_resp_value_t   v[16];

    copy = malloc(size ? size : 1);
    if (copy == NULL) {
        return 0;
    }

    memcpy(copy, data, size);

    pos = 0;

    while (pos < size) {
        rc = ngx_http_llm_resp_parse(copy + pos, size - pos, v, 16, &n);

        if (rc <= 0) {
            break;
        }

        if ((size_t) rc > size - pos) {
            abort();
        }

        for (i = 0; i < n && i < 16; i++) {
            if (v[i].data
                && (v[i].data < copy + pos
                    || v[i].data + v[i].len > copy + pos + rc))
            {
                abort();
            }
        }

        /* a few prefixes: incomplete, never a reply */

        for (k = 1; k <= 4 && k < (size_t) rc; k++) {
            rc2 = ngx_http_llm_resp_parse(copy + pos, rc - k, v, 16, &n);

            if (rc2 != NGX_HTTP_LLM_RESP_INCOMPLETE) {
                abort();
            }
        }

        pos += rc;
    }

    free(copy);

    return 0;
}
