
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
 * includes the engine's source (the gates are static).
 *
 *   cc -O2 -I ngx_llm_module/engines bench/redact/gate_check.c \
 *       -lhs -lcrypto -o gate_check
 *   ./gate_check [SEED] [TEXTS]             (exit status 1 on a failure)
 */


#include "ngx_http_llm_pii.c"


#define MAX_REPORTS  65536


typedef struct {
    unsigned long long   v[MAX_REPORTS];
    size_t               n;
} reports_t;


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


static const char  *pieces[] = {
    "0", "1", "2", "3", "5", "7", "9", " ", ".", "-", "+", "(", ")", "k",
    "x", "X", "K", "A", "B", "a", "b", "M", "R", "L", "P", "T", "H", "Z",
    "z", "d", "e", "\n", ":", "/", "_", "Q", "00", "+4", "2A", "0 ", "DE",
    "de", "GODE", "561231", "HDFRRL09", "12345678", "RSSMRA", "85T10A562S",
    "X1234567L",
    /* "@", URLs, IPv6 (from 49) */
    "@", "://", "::", ":", "f", "c", "ff", "fe80", "ffff", "1:2", "a:b",
    "@x.io", "u:p", "http", "redis", "db.example.com", "/", ".", "0", "9",
    "192.0.2.1", "FF:", "@[", "]", "ipv6:", " ", "-", "%", "~"
};

#define NPIECES  (sizeof(pieces) / sizeof(pieces[0]))


/* a random text: pieces from all, from the number characters, mostly
   letters, or the "@", URL and IPv6 ones */

static size_t
random_text(u_char *text, size_t max)
{
    int     pick;
    size_t  len, k, l, c;

    len = 0;
    pick = rand() % 4;

    for (k = rand() % 120 + 1; k > 0 && len + 64 < max; k--) {
        c = pick == 0 ? (size_t) rand() % NPIECES
            : pick == 1 ? (size_t) rand() % 16
            : pick == 2 ? (size_t) (rand() % 2 ? rand() % 12
                                               : 17 + rand() % 12)
            : (rand() % 3 ? 49 + (size_t) rand() % (NPIECES - 49)
                          : (size_t) rand() % 49);
        l = strlen(pieces[c]);
        memcpy(text + len, pieces[c], l);
        len += l;
    }

    return len;
}


/* one database of every pattern of pii (and "-----BEGIN "), ids as pii's */

static hs_database_t *
compile_all(const ngx_http_llm_pii_t *pii, unsigned types)
{
    unsigned             i, n, t, f, fl[128], ids[128];
    const char          *ex[128], *r;
    hs_database_t       *db;
    hs_compile_error_t  *cerr;

    n = 0;

    for (i = 0; (r = ngx_http_llm_pii_builtin_pattern(i, &t, &f)); i++) {
        if (types & (1u << t)) {
            ex[n] = r;
            fl[n] = f;
            ids[n] = n;
            n++;
        }
    }

    if (pii->begin != NGX_HTTP_LLM_PII_NOID) {
        ex[n] = NGX_HTTP_LLM_PII_BEGIN;
        fl[n] = 0;
        ids[n++] = pii->begin;
    }

    if (hs_compile_multi(ex, fl, ids, n, HS_MODE_BLOCK, NULL, &db, &cerr)
        != HS_SUCCESS)
    {
        printf("compile: %s\n", cerr->message);
        hs_free_compile_error(cerr);
        return NULL;
    }

    return db;
}


/* the engine's reports and one database's, sorted; 0 when the same */

static int
compare(const ngx_http_llm_pii_t *pii, hs_database_t *all,
    hs_scratch_t *scratch, const u_char *text, size_t len,
    ngx_http_llm_pii_matches_t *m, reports_t *r1, reports_t *r2)
{
    r1->n = 0;
    hs_scan(all, (const char *) text, (unsigned) len, 0, scratch, collect,
            r1);

    r2->n = 0;

    if (ngx_http_llm_pii_hs_scan(pii, scratch, text, len, collect, r2, m)
        != 0)
    {
        return -1;
    }

    qsort(r1->v, r1->n, sizeof(r1->v[0]), cmp_ull);
    qsort(r2->v, r2->n, sizeof(r2->v[0]), cmp_ull);

    return r1->n != r2->n
           || memcmp(r1->v, r2->v, r1->n * sizeof(r1->v[0])) != 0;
}


int
main(int argc, char **argv)
{
    int                          bad;
    char                         err[256];
    long                         it, iters, fail, open, reports[2];
    size_t                       len, k;
    unsigned                     t, f, n, fl[64], ids[64];
    const char                  *ex[64], *r;
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
