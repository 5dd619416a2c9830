
/*
 * Copyright (C) ngx_llm_module authors
 *
 * The oracle shared by t/unit/pii_apart_test.c and
 * bench/redact/gate_check.c: the engine's Hyperscan stage
 * (ngx_http_llm_pii_hs_scan(), the databases apart) compared with one
 * database of every pattern scanned over the whole text, and the random
 * texts made of the patterns' characters both feed it.  Include it after
 * ngx_http_llm_pii.c (it uses the engine's static functions); define
 * PII_ORACLE_NOTE first to prefix its messages (a TAP "# ").
 */


#ifndef PII_ORACLE_H
#define PII_ORACLE_H


#ifndef PII_ORACLE_NOTE
#define PII_ORACLE_NOTE  ""
#endif


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


static const char  *pieces[] = {
    "0", "1", "2", "3", "5", "7", "9", " ", ".", "-", "+", "(", ")", "k",
    "x", "X", "K", "A", "B", "a", "b", "M", "R", "L", "P", "T", "H", "Z",
    "z", "d", "e", "\n", ":", "/", "_", "Q", "00", "+4", "2A", "0 ", "DE",
    "de", "GODE", "561231", "HDFRRL09", "12345678", "RSSMRA", "85T10A562S",
    "X1234567L",
    /* "@", URLs, IPv6 (from 49) */
    "@", "://", "::", ":", "f", "c", "ff", "fe80", "ffff", "1:2", "a:b",
    "@x.io", "u:p", "http", "redis", "db.example.com", "/", ".", "0", "9",
    "192.0.2.1", "FF:", "@[", "]", "ipv6:", " ", "-", "%", "~",
    /* credentials' names, operators, values (from ASSIGN_FROM) */
    "api_key", "API-KEY", "token", "Tokens", "secret", "client_secret",
    "aws_secret_access_key", "secret_access_key", "_authToken", "_auth",
    "credentials", "password", "=", ":=", "=>", ": ", "=", ":", "\"", "'",
    "`", "\t", " ", "   ", "AbC9dE1f", "x7Q+/z0=", "0123456789abcdef", "-",
    "_", ".", "\n", "ghp_", "gho_", "gh", "z"
};

#define ASSIGN_FROM  78

#define NPIECES  (sizeof(pieces) / sizeof(pieces[0]))


/* a random text: pieces from all, from the number characters, mostly
   letters, the "@", URL and IPv6 ones, or the credentials' ones */

static size_t
random_text(u_char *text, size_t max)
{
    int     pick;
    size_t  len, k, l, c;

    len = 0;
    pick = rand() % 5;

    for (k = rand() % 120 + 1; k > 0 && len + 64 < max; k--) {
        c = pick == 0 ? (size_t) rand() % NPIECES
            : pick == 1 ? (size_t) rand() % 16
            : pick == 2 ? (size_t) (rand() % 2 ? rand() % 12
                                               : 17 + rand() % 12)
            : pick == 3 ? (rand() % 3 ? 49 + (size_t) rand()
                                             % (ASSIGN_FROM - 49)
                                      : (size_t) rand() % 49)
            : (rand() % 3 ? ASSIGN_FROM + (size_t) rand()
                                          % (NPIECES - ASSIGN_FROM)
                          : (size_t) rand() % ASSIGN_FROM);
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
        printf("%scompile: %s\n", PII_ORACLE_NOTE, cerr->message);
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


#endif /* PII_ORACLE_H */
