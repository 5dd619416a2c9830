
/*
 * Copyright (C) ngx_llm_module authors
 *
 * The redaction engine's databases apart (NGX_HTTP_LLM_PII_APART in
 * ngx_http_llm_pii.c): the IBAN and national ID gates open on every text
 * their patterns match (fixed cases, and random texts made of the
 * patterns' characters, each gate against its database scanned over the
 * whole text; the IBAN one computed on the way over the runs of digits
 * too), stay closed on prose; the number patterns scanned over the
 * runs of digits report what they report over the whole text, start-of-
 * match included; a scan of a value of each kind finds it.  The engine's
 * source is included (the gates are static).
 */


#include <stdarg.h>

#include "ngx_http_llm_pii.c"


#define MAX_REPORTS  4096


typedef struct {
    unsigned long long   v[MAX_REPORTS];
    size_t               n;
} reports_t;


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


static int
collect(unsigned int id, unsigned long long from, unsigned long long to,
    unsigned int flags, void *data)
{
    reports_t  *r = data;

    if (r->n < MAX_REPORTS) {
        r->v[r->n++] = ((unsigned long long) id << 48) | (from << 24) | to;
    }

    return 0;
}


static int
cmp_ull(const void *a, const void *b)
{
    unsigned long long  x = *(const unsigned long long *) a;
    unsigned long long  y = *(const unsigned long long *) b;

    return (x > y) - (x < y);
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


static const char  *pieces[] = {
    "0", "1", "2", "3", "5", "7", "9", " ", ".", "-", "+", "(", ")", "k",
    "x", "X", "K", "A", "B", "a", "b", "M", "R", "L", "P", "T", "H", "Z",
    "z", "d", "e", "\n", ":", "/", "_", "Q", "00", "+4", "2A", "0 ", "DE",
    "de", "GODE", "561231", "HDFRRL09", "12345678", "RSSMRA", "85T10A562S",
    "X1234567L"
};

#define NPIECES  (sizeof(pieces) / sizeof(pieces[0]))


int
main(void)
{
    int                          bad, g, pick, iban, iban_match;
    char                         err[256];
    long                         it, gate_fail, runs_fail, opened[3];
    size_t                       len, l, k, i, np;
    unsigned                     a, t, f, fl[64], ids[64];
    const char                  *ex[64], *piece, *s;
    static u_char                text[4096];
    static reports_t             r1, r2;
    hs_scratch_t                *scratch;
    hs_database_t               *whole[NGX_HTTP_LLM_PII_NAPART];
    hs_compile_error_t          *cerr;
    ngx_http_llm_pii_t          *pii, *dflt;
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
        { "codice fiscale RSSMRA85T10A562S", NGX_HTTP_LLM_PII_NATIONAL_ID },
        { "DNI 12345678Z", NGX_HTTP_LLM_PII_NATIONAL_ID },
        { NULL, 0 }
    };

    static const char  *prose[] = {
        "The gateway streams tokens to the client while a budget is "
        "reserved and reconciled at the end of each request.",
        "Version 3.2 of the API shipped in May, with HTTP/2 and TLS.",
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

    /* prose: the gates stay closed */

    for (k = 0; prose[k]; k++) {
        s = prose[k];

        ok(!ngx_http_llm_pii_iban_gate((const u_char *) s, strlen(s))
           && !ngx_http_llm_pii_national_gate((const u_char *) s, strlen(s)),
           "gates closed on \"%.20s...\"", s);
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

    /* random texts of the patterns' characters */

    srand(1);
    gate_fail = 0;
    runs_fail = 0;
    opened[0] = opened[1] = opened[2] = 0;
    iban_match = 0;

    for (it = 0; it < 30000; it++) {
        len = 0;
        pick = rand() % 3;

        for (k = rand() % 120 + 1; k > 0 && len < 3000; k--) {
            piece = pieces[pick == 0 ? (size_t) rand() % NPIECES
                           : pick == 1 ? (size_t) rand() % 16
                           : (size_t) (rand() % 2 ? rand() % 12
                                                  : 17 + rand() % 12)];
            l = strlen(piece);
            memcpy(text + len, piece, l);
            len += l;
        }

        for (a = 0; a < NGX_HTTP_LLM_PII_NAPART; a++) {
            if (a == NGX_HTTP_LLM_PII_DB_DIGITS) {
                continue;
            }

            r1.n = 0;
            hs_scan(whole[a], (const char *) text, (unsigned) len, 0,
                    scratch, collect, &r1);

            g = (a == NGX_HTTP_LLM_PII_DB_IBAN)
                ? ngx_http_llm_pii_iban_gate(text, len)
                : ngx_http_llm_pii_national_gate(text, len);

            if (r1.n) {
                opened[a]++;
            }

            if (a == NGX_HTTP_LLM_PII_DB_IBAN) {
                iban_match = (r1.n != 0);
            }

            if (r1.n && !g && gate_fail++ < 3) {
                printf("# gate %u closed on \"%.*s\"\n", a, (int) len, text);
            }
        }

        r1.n = 0;
        hs_scan(whole[NGX_HTTP_LLM_PII_DB_DIGITS], (const char *) text,
                (unsigned) len, 0, scratch, collect, &r1);

        r2.n = 0;
        iban = 0;
        ngx_http_llm_pii_runs(pii, scratch, text, len, collect, &r2, &m,
                              &iban);

        qsort(r1.v, r1.n, sizeof(r1.v[0]), cmp_ull);
        qsort(r2.v, r2.n, sizeof(r2.v[0]), cmp_ull);

        if (r1.n) {
            opened[NGX_HTTP_LLM_PII_DB_DIGITS]++;
        }

        if (iban_match && !iban && gate_fail++ < 3) {
            printf("# the runs' IBAN gate closed on \"%.*s\"\n", (int) len,
                   text);
        }

        if ((r1.n != r2.n
             || memcmp(r1.v, r2.v, r1.n * sizeof(r1.v[0])) != 0)
            && runs_fail++ < 3)
        {
            printf("# runs: %zu reports, the whole text %zu: \"%.*s\"\n",
                   r2.n, r1.n, (int) len, text);
        }
    }

    ok(opened[0] > 1000 && opened[1] > 1000 && opened[2] > 1000,
       "random texts with matches: IBAN %ld, numbers %ld, national IDs %ld",
       opened[0], opened[1], opened[2]);
    ok(gate_fail == 0, "the gates open on every match (%ld failures)",
       gate_fail);
    ok(runs_fail == 0, "the runs of digits report as the whole text "
       "(%ld failures)", runs_fail);

    for (a = 0; a < NGX_HTTP_LLM_PII_NAPART; a++) {
        hs_free_database(whole[a]);
    }

    hs_free_scratch(scratch);
    ngx_http_llm_pii_free(pii);
    ngx_http_llm_pii_free(dflt);
    test_free_all();

    printf("1..%d\n", tests);

    return 0;
}
