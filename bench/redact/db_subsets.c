/*
 * Copyright (C) ngx_llm_module authors
 *
 * What each pattern of the main database costs (docs/benchmarks.md 7m):
 * the main database's patterns (the default types, not the ones apart,
 * numbered in the order of the table, and "-----BEGIN ") compiled without
 * some of them, or some without start-of-match, and each variant's hs_scan()
 * of the same texts timed in turns (30 rounds, the fastest of each: a
 * loaded machine slows all variants alike).  Experiment code, not a test.
 *
 *   cc -O2 -I ngx_llm_module/engines bench/redact/db_subsets.c \
 *       ngx_llm_module/engines/ngx_http_llm_json.c -lhs -lcrypto -lpcre2-8 \
 *       -o db_subsets
 *   VARIANTS="63;0,13,2,3;0,13,1,2,3" ./db_subsets bench/estimator/corpus/*.jsonl
 *
 * VARIANTS: variants split by ";", each "LEFT OUT[:WITHOUT SOM]", comma
 * lists of pattern numbers (63: none left out); the number of each pattern
 * is printed first.
 */

#define main scan_main
#include "scan_bench.c"
#undef main
#include "ngx_http_llm_pii.c"

static const char *ex[128]; static unsigned fl[128], id[128]; static int nm;
typedef struct { hs_database_t *db; hs_scratch_t *s; double best; char name[200]; } var_t;
static int on_c(unsigned int i, unsigned long long f, unsigned long long t, unsigned int fl, void *c) { return 0; }
static unsigned long long parse(const char **q) { unsigned long long m = 0; while (**q && **q != ':' && **q != ';') { char *e; m |= 1ull << strtol(*q, &e, 10); *q = e; if (**q == ',') (*q)++; } return m; }
int main(int argc, char **argv)
{
    set_t chat; int i, nv = 0, r, k; unsigned t; var_t v[16]; const char *q = getenv("VARIANTS");
    memset(&chat, 0, sizeof(chat));
    for (i = 1; i < argc; i++) load_jsonl(&chat, argv[i]);
    for (i = 0; i < (int) NGX_HTTP_LLM_PII_NPATTERNS; i++) {
        const ngx_http_llm_pii_pattern_t *p = &ngx_http_llm_pii_builtins[i];
        if (!(NGX_HTTP_LLM_PII_DEFAULT & (1u << p->type)) || (p->flags & (NGX_HTTP_LLM_PII_APART|NGX_HTTP_LLM_PII_WORD))) continue;
        ex[nm] = ngx_http_llm_pii_builtin_pattern(i, &t, &fl[nm]); id[nm] = nm;
        printf("%2d %.60s\n", nm, ex[nm]); nm++;
    }
    while (1) {
        const char *st = q; unsigned long long skip = parse(&q), nosom = 0; const char *e[128]; unsigned f[128], d[128]; int n = 0; hs_compile_error_t *ce;
        if (*q == ':') { q++; nosom = parse(&q); }
        for (i = 0; i < nm; i++) { if (skip >> i & 1) continue; e[n] = ex[i]; f[n] = (nosom >> i & 1) ? fl[i] & ~HS_FLAG_SOM_LEFTMOST : fl[i]; d[n] = i; n++; }
        e[n] = NGX_HTTP_LLM_PII_BEGIN; f[n] = 0; d[n] = 127; n++;
        if (hs_compile_multi(e, f, d, n, HS_MODE_BLOCK, NULL, &v[nv].db, &ce) != HS_SUCCESS) { fprintf(stderr, "%s\n", ce->message); return 1; }
        v[nv].s = NULL; hs_alloc_scratch(v[nv].db, &v[nv].s); v[nv].best = 1e9;
        snprintf(v[nv].name, 200, "%.*s", (int) (q - st), st); nv++;
        if (*q != ';') break; q++;
    }
    int reps = chat.bytes > 1000000 ? 1 : 150;
    for (r = 0; r < 30; r++) for (k = 0; k < nv; k++) {
        double t0 = now(); int j; size_t x;
        for (j = 0; j < reps; j++) for (x = 0; x < chat.n; x++) hs_scan(v[k].db, (const char *) chat.texts[x].data, chat.texts[x].len, 0, v[k].s, on_c, NULL);
        double tt = (now() - t0) / reps; if (tt < v[k].best) v[k].best = tt;
    }
    for (k = 0; k < nv; k++) printf("%-40s %7.1f us %6.0f MB/s\n", v[k].name[0] ? v[k].name : "(all)", v[k].best * 1e6, chat.bytes / v[k].best / 1e6);
    return 0;
}
