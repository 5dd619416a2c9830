
/*
 * Copyright (C) ngx_llm_module authors
 *
 * The redaction engine's databases apart (NGX_HTTP_LLM_PII_APART in
 * ngx_http_llm_pii.c): the engine's Hyperscan stage (the main database,
 * the runs of digits, the IBAN windows, the starts of match found by
 * ngx_http_llm_pii_som(), the national ID gate) reports what one
 * database of every pattern reports over the whole text, start-of-match
 * included (fixed cases, and random texts made of the patterns'
 * characters); the national ID gate opens on every text its patterns
 * match; prose opens no window and no gate; a scan of a value of each
 * kind finds it.  The engine's source is included (the gates are static).
 */


#include <stdarg.h>

#include "ngx_http_llm_pii.c"

#define PII_ORACLE_NOTE  "# "
#include "pii_oracle.h"


static int  tests;


static int
ok(int cond, const char *fmt, ...)
{
    va_list  args;

    tests++;

    if (!cond) {
        printf("not ");
    }

    printf("ok %d - ", tests);

    va_start(args, fmt);
    vprintf(fmt, args);
    va_end(args);

    printf("\n");

    return cond;
}


static void  *allocs;             /* every block, freed at the end */


static void *
test_alloc(void *data, size_t size)
{
    void  **p;

    p = malloc(size + sizeof(void *));
    if (p == NULL) {
        return NULL;
    }

    *p = allocs;
    allocs = p;

    return p + 1;
}


static void
test_free_all(void)
{
    void  *p, *next;

    for (p = allocs; p; p = next) {
        next = *(void **) p;
        free(p);
    }

    allocs = NULL;
}


int
main(void)
{
    int                          bad;
    char                         err[256];
    long                         it, gate_fail, fail[2], opened[8];
    size_t                       len, k, i, np;
    unsigned                     a, t, f, fl[64], ids[64];
    const char                  *ex[64], *s;
    static u_char                text[4096];
    static reports_t             r1, r2;
    hs_scratch_t                *scratch;
    hs_database_t               *whole[NGX_HTTP_LLM_PII_NAPART], *all[2];
    hs_compile_error_t          *cerr;
    ngx_http_llm_pii_t          *pii, *dflt, *e[2];
    ngx_http_llm_pii_marks_t     mk;
    ngx_http_llm_pii_matches_t   m;

    static const struct {
        const char  *text;
        unsigned     type;
    }  values[] = {
        { "iban DE89 3704 0044 0532 0130 00 ok", NGX_HTTP_LLM_PII_IBAN },
        { "iban gb82west12345698765432.", NGX_HTTP_LLM_PII_IBAN },
        { "call +44 20 7946 0958 now", NGX_HTTP_LLM_PII_PHONE },
        { "card 4111 1111 1111 1111", NGX_HTTP_LLM_PII_CARD },
        { "ssn 078-05-1120", NGX_HTTP_LLM_PII_SSN },
        { "host 192.168.0.1", NGX_HTTP_LLM_PII_IP },
        { "host 2001:db8::8a2e:370:7334 up", NGX_HTTP_LLM_PII_IP },
        { "mapped ::ffff:192.0.2.128 here", NGX_HTTP_LLM_PII_IP },
        { "mail jane.doe@example.com now", NGX_HTTP_LLM_PII_EMAIL },
        { "db postgres://app:s3cr3tPassw0rd@db.example.com:5432/app",
          NGX_HTTP_LLM_PII_SECRET },
        { "codice fiscale RSSMRA85T10A562S", NGX_HTTP_LLM_PII_NATIONAL_ID },
        { "DNI 12345678Z", NGX_HTTP_LLM_PII_NATIONAL_ID },
        { NULL, 0 }
    };

    static const char  *edges[] = {
        "see abcdefghijklmnopqrstuvwxy://user:pw@host.example.com/x ok",
        "see a2345678901234567890123.-://user:pw@host ok",
        "pay to AB-12-1-2-3-4-5-6-7-8-9-0-1-2-3-4-5-6-7-8-9-0-1-2-3-4-5-6"
        "-7-8-9-0 now",
        "pay to ab 12.a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.p.q.r.s.t.u.v.w.x.y.z"
        ".a.b.c.d now",
        /* the longest names before an operator, the farthest values */
        "set client-secret0123456789abcdefghijklmn\"\t \t:=\t \t`"
        "Ab3dEf6hIj9lMn2pQr5t ok",
        "set aws_secret_access_key'\t\t\t\t=\t\t\t\t'"
        "AbCdEfGhIj0123456789KlMnOpQrSt0123456789 ok",
        "set credentials0123456789abcdefghijklmn'   =>   "
        "'Ab3dEf6hIj9lMn2pQr5t ok",
        "npm _authToken  =  'Ab3dEf6hIj9lMn2pQr5tUv8x' ok",
        "token==Ab3dEf6hIj9lMn2pQr5t=",
        "set TOKEN0123456789abcdefghijklmn'\v\f\r=>\t\n `"
        "Ab3dEf6hIj9lMn2pQr5t ok",
        "x.tokenABCDEFGHIJKLMNOPQRSTUVWX\"   :   Ab3dEf6hIj9lMn2pQr5t",
        /* "token" found by the pass: at the edges, in either case */
        "token: Ab3dEf6hIj9lMn2pQr5t",
        "Tokens TOKEN: ToKeN\xc3\xa9 tokenA token_ token9 tok3n token\n",
        "the token.",
        NULL
    };

    static const char  *prose[] = {
        "The gateway streams tokens to the client while a budget is "
        "reserved and reconciled at the end of each request.",
        "Version 3.2 of the API shipped in May, with HTTP/2 and TLS.",
        "Note: tokens are counted, a budget = reserved + reconciled.",
        NULL
    };

    pii = ngx_http_llm_pii_compile(NGX_HTTP_LLM_PII_ALL, NULL, 0, err,
                                   sizeof(err), &bad);
    dflt = ngx_http_llm_pii_compile(NGX_HTTP_LLM_PII_DEFAULT, NULL, 0, err,
                                    sizeof(err), &bad);

    if (!ok(pii != NULL && dflt != NULL, "compile")) {
        printf("1..%d\n", tests);
        return 1;
    }

    scratch = NULL;

    ok(ngx_http_llm_pii_alloc_scratch(pii, &scratch) == 0
       && ngx_http_llm_pii_alloc_scratch(dflt, &scratch) == 0, "scratch");

    for (a = 0; a < NGX_HTTP_LLM_PII_NAPART; a++) {
        ok(pii->apart[a] != NULL, "database apart %u", a);
    }

    ok(dflt->apart[NGX_HTTP_LLM_PII_DB_NATIONAL] == NULL,
       "no national ID database when the type is off");

    memset(&m, 0, sizeof(m));
    m.alloc = test_alloc;

    /* a value of each kind, found through the engine */

    for (k = 0; values[k].text; k++) {
        s = values[k].text;

        ok(ngx_http_llm_pii_scan(pii, scratch, (const u_char *) s, strlen(s),
                                 0, &m) == 0
           && m.nelts == 1 && m.elts[0].type == values[k].type,
           "found in \"%s\"", s);
    }

    /* prose: no window, no gate */

    for (k = 0; prose[k]; k++) {
        s = prose[k];

        r2.n = 0;

        ok(ngx_http_llm_pii_token_pass(pii, (const u_char *) s, strlen(s),
                                       &mk.token, collect, &r2) == 0
           && ngx_http_llm_pii_runs(pii, scratch, (const u_char *) s,
                                    strlen(s), collect, &r1, &m, &mk) == 0
           && mk.iban.n == 0 && mk.token.n == 0
           && !ngx_http_llm_pii_national_gate((const u_char *) s, strlen(s)),
           "no window, gates closed on \"%.20s...\"", s);
    }

    /* each database apart's patterns, compiled to scan whole texts */

    for (a = 0; a < NGX_HTTP_LLM_PII_NAPART; a++) {
        np = 0;

        for (i = 0; i < pii->npatterns; i++) {
            if (pii->patterns[i].flags & ngx_http_llm_pii_apart_flags[a]) {
                ex[np] = ngx_http_llm_pii_builtin_pattern((unsigned) i, &t,
                                                          &f);
                fl[np] = f;
                ids[np++] = (unsigned) i;
            }
        }

        if (hs_compile_multi(ex, fl, ids, (unsigned) np, HS_MODE_BLOCK, NULL,
                             &whole[a], &cerr)
            != HS_SUCCESS)
        {
            ok(0, "compile the patterns apart: %s", cerr->message);
            printf("1..%d\n", tests);
            return 1;
        }

        hs_alloc_scratch(whole[a], &scratch);
    }

    /* every pattern in one database: all types, the default ones */

    e[0] = pii;
    e[1] = dflt;
    all[0] = compile_all(pii, NGX_HTTP_LLM_PII_ALL);
    all[1] = compile_all(dflt, NGX_HTTP_LLM_PII_DEFAULT);

    if (!ok(all[0] != NULL && all[1] != NULL, "one database of all")) {
        printf("1..%d\n", tests);
        return 1;
    }

    hs_alloc_scratch(all[0], &scratch);
    hs_alloc_scratch(all[1], &scratch);

    /* the fixed cases, the values above, more than 16 windows */

    len = 0;

    for (k = 0; k < 40; k++) {
        len += (size_t) sprintf((char *) text + len,
                                "DE%02zu 3704 0044 0532 0130 00 fe80::%zx "
                                "%zu@x.io ", k, k, k);
    }

    for (k = 0; k < 2; k++) {
        ok(compare(e[k], all[k], scratch, text, len, &m, &r1, &r2) == 0
           && r1.n > 100,
           "40 IBANs, IPv6 and e-mail addresses: %zu reports, as one "
           "database", r1.n);
    }

    for (k = 0; values[k].text; k++) {
        s = values[k].text;

        ok(compare(pii, all[0], scratch, (const u_char *) s, strlen(s), &m,
                   &r1, &r2) == 0 && r1.n > 0,
           "\"%.24s...\": the reports of one database", s);
    }

    /* the longest matches: a scheme of 25 bytes, an IBAN of 65 */

    for (k = 0; edges[k]; k++) {
        s = edges[k];

        ok(compare(pii, all[0], scratch, (const u_char *) s, strlen(s), &m,
                   &r1, &r2) == 0 && r1.n > 0,
           "\"%.24s...\": the reports of one database", s);
    }

    /* "token" at the end: nothing yet */

    s = "the token";

    ok(compare(pii, all[0], scratch, (const u_char *) s, strlen(s), &m, &r1,
               &r2) == 0 && r1.n == 0 && r2.n == 0,
       "\"%s\": no report, as one database", s);

    /* random texts of the patterns' characters */

    srand(1);
    gate_fail = 0;
    fail[0] = fail[1] = 0;
    memset(opened, 0, sizeof(opened));

    for (it = 0; it < 30000; it++) {
        len = random_text(text, sizeof(text));

        for (a = 0; a < NGX_HTTP_LLM_PII_NAPART; a++) {
            r1.n = 0;
            hs_scan(whole[a], (const char *) text, (unsigned) len, 0,
                    scratch, collect, &r1);

            if (r1.n) {
                opened[a]++;
            }

            if (a == NGX_HTTP_LLM_PII_DB_NATIONAL && r1.n
                && !ngx_http_llm_pii_national_gate(text, len)
                && gate_fail++ < 3)
            {
                printf("# the national ID gate closed on \"%.*s\"\n",
                       (int) len, text);
            }
        }

        for (k = 0; k < 2; k++) {
            if (compare(e[k], all[k], scratch, text, len, &m, &r1, &r2) != 0
                && fail[k]++ < 3)
            {
                printf("# %s types: %zu reports, one database %zu: "
                       "\"%.*s\"\n", k ? "default" : "all", r2.n, r1.n,
                       (int) len, text);
            }
        }
    }

    ok(opened[NGX_HTTP_LLM_PII_DB_IBAN] > 1000
       && opened[NGX_HTTP_LLM_PII_DB_DIGITS] > 1000
       && opened[NGX_HTTP_LLM_PII_DB_NATIONAL] > 1000
       && opened[NGX_HTTP_LLM_PII_DB_TOKEN] > 1000,
       "random texts with matches: IBAN %ld, numbers %ld, national IDs %ld, "
       "\"token\" assignments %ld",
       opened[NGX_HTTP_LLM_PII_DB_IBAN], opened[NGX_HTTP_LLM_PII_DB_DIGITS],
       opened[NGX_HTTP_LLM_PII_DB_NATIONAL],
       opened[NGX_HTTP_LLM_PII_DB_TOKEN]);
    ok(gate_fail == 0, "the national ID gate opens on every match (%ld "
       "failures)", gate_fail);
    ok(fail[0] == 0 && fail[1] == 0, "the databases apart report as one "
       "database over the whole text (%ld and %ld failures)", fail[0],
       fail[1]);

    for (a = 0; a < NGX_HTTP_LLM_PII_NAPART; a++) {
        hs_free_database(whole[a]);
    }

    hs_free_database(all[0]);
    hs_free_database(all[1]);
    hs_free_scratch(scratch);
    ngx_http_llm_pii_free(pii);
    ngx_http_llm_pii_free(dflt);
    test_free_all();

    printf("1..%d\n", tests);

    return 0;
}
