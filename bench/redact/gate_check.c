
/*
 * Copyright (C) ngx_llm_module authors
 *
 * A check of the databases apart (NGX_HTTP_LLM_PII_APART in
 * ngx_http_llm_pii.c): on random texts made of the characters the
 * patterns are made of, the IBAN and national ID gates must be open
 * whenever their database, scanned over the whole text, reports anything;
 * and the reports of the number patterns over the runs of digits
 * (ngx_http_llm_pii_runs()) must be those of the whole text, start-of-match
 * included.  It includes the engine's source (the gates are static).
 *
 *   cc -O2 -I ngx_llm_module/engines bench/redact/gate_check.c \
 *       -lhs -lcrypto -o gate_check
 *   ./gate_check [SEED] [TEXTS]             (exit status 1 on a failure)
 */


#include "ngx_http_llm_pii.c"


#define MAX_REPORTS  4096


typedef struct {
    unsigned long long   v[MAX_REPORTS];
    size_t               n;
} reports_t;


static const char  *pieces[] = {
    "0", "1", "2", "3", "5", "7", "9", " ", ".", "-", "+", "(", ")", "k",
    "x", "X", "K", "A", "B", "a", "b", "M", "R", "L", "P", "T", "H", "Z",
    "z", "d", "e", "\n", ":", "/", "_", "Q", "00", "+4", "2A", "0 ", "DE",
    "de", "GODE", "561231", "HDFRRL09", "12345678", "RSSMRA", "85T10A562S",
    "X1234567L"
};

#define NPIECES  (sizeof(pieces) / sizeof(pieces[0]))


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


static void *
check_alloc(void *data, size_t size)
{
    return malloc(size);
}


int
main(int argc, char **argv)
{
    int                          bad, g, pick, iban, iban_match;
    char                         err[256];
    long                         it, iters, fail, open[3];
    size_t                       len, l, k, i, np;
    unsigned                     a, t, f, fl[64], ids[64];
    const char                  *ex[64], *piece;
    static u_char                text[4096];
    static reports_t             r1, r2;
    hs_scratch_t                *scratch;
    hs_database_t               *whole[NGX_HTTP_LLM_PII_NAPART];
    hs_compile_error_t          *cerr;
    ngx_http_llm_pii_t          *pii;
    ngx_http_llm_pii_matches_t   m;

    pii = ngx_http_llm_pii_compile(NGX_HTTP_LLM_PII_ALL, NULL, 0, err,
                                   sizeof(err), &bad);
    if (pii == NULL) {
        fprintf(stderr, "compile: %s\n", err);
        return 2;
    }

    scratch = NULL;
    ngx_http_llm_pii_alloc_scratch(pii, &scratch);

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
            fprintf(stderr, "compile: %s\n", cerr->message);
            return 2;
        }

        hs_alloc_scratch(whole[a], &scratch);
    }

    srand(argc > 1 ? atoi(argv[1]) : 1);
    iters = argc > 2 ? atol(argv[2]) : 200000;

    memset(&m, 0, sizeof(m));
    m.alloc = check_alloc;
    fail = 0;
    open[0] = open[1] = open[2] = 0;
    iban_match = 0;

    for (it = 0; it < iters; it++) {

        /* pieces from all, from the number characters, or mostly letters */

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

        /* a gate closed: its database reports nothing */

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

            open[a] += g;

            if (a == NGX_HTTP_LLM_PII_DB_IBAN) {
                iban_match = (r1.n != 0);
            }

            if (r1.n && !g) {
                if (fail++ < 5) {
                    printf("gate %u closed on a match: \"%.*s\"\n", a,
                           (int) len, text);
                }
            }
        }

        /* the runs of digits: the same reports */

        r1.n = 0;
        hs_scan(whole[NGX_HTTP_LLM_PII_DB_DIGITS], (const char *) text,
                (unsigned) len, 0, scratch, collect, &r1);

        r2.n = 0;
        iban = 0;
        ngx_http_llm_pii_runs(pii, scratch, text, len, collect, &r2, &m,
                              &iban);

        if (iban_match && !iban && fail++ < 5) {
            printf("the runs' IBAN gate closed on a match: \"%.*s\"\n",
                   (int) len, text);
        }

        qsort(r1.v, r1.n, sizeof(r1.v[0]), cmp_ull);
        qsort(r2.v, r2.n, sizeof(r2.v[0]), cmp_ull);

        open[NGX_HTTP_LLM_PII_DB_DIGITS] += r1.n;

        if (r1.n != r2.n || memcmp(r1.v, r2.v, r1.n * sizeof(r1.v[0])) != 0)
        {
            if (fail++ < 5) {
                printf("runs: %zu reports, the whole text %zu: \"%.*s\"\n",
                       r2.n, r1.n, (int) len, text);
            }
        }
    }

    printf("%ld texts, %ld failures; the IBAN gate open %ld times, the "
           "national ID gate %ld; %ld reports of the number patterns\n",
           iters, fail, open[NGX_HTTP_LLM_PII_DB_IBAN],
           open[NGX_HTTP_LLM_PII_DB_NATIONAL],
           open[NGX_HTTP_LLM_PII_DB_DIGITS]);

    return fail != 0;
}
