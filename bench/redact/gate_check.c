
/*
 * Copyright (C) ngx_llm_module authors
 *
 * A check of the databases apart (NGX_HTTP_LLM_PII_APART in
 * ngx_http_llm_pii.c), longer than t/unit/pii_apart_test.c's: on random
 * texts made of the characters the patterns are made of, the engine's
 * Hyperscan stage (the main database, the runs of digits, the IBAN
 * windows, the national ID gate, the starts of match found by
 * ngx_http_llm_pii_som()) must report what one database of every pattern
 * reports over the whole text, start-of-match included; and the national
 * ID gate must be open whenever its database reports anything.  It
 * includes the engine's source (the gates are static) and the oracle it
 * shares with that unit test (t/unit/pii_oracle.h).
 *
 *   cc -O2 -I ngx_llm_module/engines bench/redact/gate_check.c \
 *       -lhs -lcrypto -o gate_check
 *   ./gate_check [SEED] [TEXTS]             (exit status 1 on a failure)
 */


#include "ngx_http_llm_pii.c"
#include "../../t/unit/pii_oracle.h"


static void *
check_alloc(void *data, size_t size)
{
    return malloc(size);
}


int
main(int argc, char **argv)
{
    int                          bad;
    char                         err[256];
    long                         it, iters, fail, open, reports[2];
    size_t                       len, k;
    unsigned                     t, f, n, fl[128], ids[128];
    const char                  *ex[128], *r;
    static u_char                text[4096];
    static reports_t             r1, r2;
    hs_scratch_t                *scratch;
    hs_database_t               *national, *all[2];
    hs_compile_error_t          *cerr;
    ngx_http_llm_pii_t          *e[2];
    ngx_http_llm_pii_matches_t   m;

    e[0] = ngx_http_llm_pii_compile(NGX_HTTP_LLM_PII_ALL, NULL, 0, err,
                                    sizeof(err), &bad);
    e[1] = ngx_http_llm_pii_compile(NGX_HTTP_LLM_PII_DEFAULT, NULL, 0, err,
                                    sizeof(err), &bad);
    if (e[0] == NULL || e[1] == NULL) {
        fprintf(stderr, "compile: %s\n", err);
        return 2;
    }

    all[0] = compile_all(e[0], NGX_HTTP_LLM_PII_ALL);
    all[1] = compile_all(e[1], NGX_HTTP_LLM_PII_DEFAULT);

    /* the national ID patterns, to scan whole texts */

    n = 0;

    for (k = 0; (r = ngx_http_llm_pii_builtin_pattern((unsigned) k, &t, &f));
         k++)
    {
        if (t == NGX_HTTP_LLM_PII_NATIONAL_ID) {
            ex[n] = r;
            fl[n] = f;
            ids[n++] = (unsigned) k;
        }
    }

    if (all[0] == NULL || all[1] == NULL
        || hs_compile_multi(ex, fl, ids, n, HS_MODE_BLOCK, NULL, &national,
                            &cerr)
           != HS_SUCCESS)
    {
        fprintf(stderr, "compile\n");
        return 2;
    }

    scratch = NULL;
    ngx_http_llm_pii_alloc_scratch(e[0], &scratch);
    ngx_http_llm_pii_alloc_scratch(e[1], &scratch);
    hs_alloc_scratch(all[0], &scratch);
    hs_alloc_scratch(all[1], &scratch);
    hs_alloc_scratch(national, &scratch);

    srand(argc > 1 ? atoi(argv[1]) : 1);
    iters = argc > 2 ? atol(argv[2]) : 200000;

    memset(&m, 0, sizeof(m));
    m.alloc = check_alloc;
    fail = 0;
    open = 0;
    reports[0] = reports[1] = 0;

    for (it = 0; it < iters; it++) {
        len = random_text(text, sizeof(text));

        /* the national ID gate closed: its database reports nothing */

        r1.n = 0;
        hs_scan(national, (const char *) text, (unsigned) len, 0, scratch,
                collect, &r1);

        open += ngx_http_llm_pii_national_gate(text, len);

        if (r1.n && !ngx_http_llm_pii_national_gate(text, len)
            && fail++ < 5)
        {
            printf("the national ID gate closed on a match: \"%.*s\"\n",
                   (int) len, text);
        }

        /* the engine's reports: those of one database */

        for (k = 0; k < 2; k++) {
            if (compare(e[k], all[k], scratch, text, len, &m, &r1, &r2) != 0
                && fail++ < 5)
            {
                printf("%s types: %zu reports, one database %zu: \"%.*s\"\n",
                       k ? "default" : "all", r2.n, r1.n, (int) len, text);
            }

            reports[k] += (long) r1.n;
        }
    }

    printf("%ld texts, %ld failures; the national ID gate open %ld times; "
           "%ld and %ld reports (all types, the default ones)\n",
           iters, fail, open, reports[0], reports[1]);

    return fail != 0;
}
