
/*
 * Copyright (C) ngx_llm_module authors
 *
 * The engine's matches for a list of texts, for public_eval.py.  Input on
 * stdin: for each text, its length in bytes, a newline and the bytes.
 * Output: one line per text, "start end type" triples (byte offsets, the
 * built-in type's name) separated by ";".  All built-in types are on.
 *
 *   cc -O2 -I ngx_llm_module/engines bench/redact/scan_cases.c \
 *       ngx_llm_module/engines/ngx_http_llm_pii.c -lhs -lcrypto -o scan_cases
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ngx_http_llm_pii.h"


static void *
cases_alloc(void *data, size_t size)
{
    return malloc(size);               /* a short-lived tool: never freed */
}


int
main(void)
{
    int                          bad;
    char                         err[256];
    size_t                       len, k, size;
    u_char                      *text;
    hs_scratch_t                *scratch;
    ngx_http_llm_pii_t          *pii;
    ngx_http_llm_pii_matches_t   ms;

    pii = ngx_http_llm_pii_compile(NGX_HTTP_LLM_PII_ALL, NULL, 0, err,
                                   sizeof(err), &bad);
    if (pii == NULL) {
        fprintf(stderr, "compile: %s\n", err);
        return 1;
    }

    scratch = NULL;

    if (ngx_http_llm_pii_alloc_scratch(pii, &scratch) != 0) {
        fprintf(stderr, "scratch\n");
        return 1;
    }

    memset(&ms, 0, sizeof(ms));
    ms.alloc = cases_alloc;

    size = 1 << 16;
    text = malloc(size);

    while (scanf("%zu", &len) == 1) {
        if (getchar() != '\n') {
            fprintf(stderr, "bad input\n");
            return 1;
        }

        if (len > size) {
            size = len;
            text = realloc(text, size);
        }

        if (text == NULL || fread(text, 1, len, stdin) != len) {
            fprintf(stderr, "bad input\n");
            return 1;
        }

        if (ngx_http_llm_pii_scan(pii, scratch, text, len, 0, &ms) != 0) {
            fprintf(stderr, "scan failed\n");
            return 1;
        }

        for (k = 0; k < ms.nelts; k++) {
            printf("%s%zu %zu %s", k ? ";" : "", ms.elts[k].start,
                   ms.elts[k].end,
                   ngx_http_llm_pii_builtin_name(ms.elts[k].type));
        }

        printf("\n");
    }

    hs_free_scratch(scratch);
    ngx_http_llm_pii_free(pii);

    return 0;
}
