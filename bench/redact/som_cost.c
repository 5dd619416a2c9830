/*
 * Copyright (C) ngx_llm_module authors
 *
 * What Hyperscan's start-of-match costs the IBAN and number databases
 * apart (docs/benchmarks.md 7m): their patterns compiled with and without
 * HS_FLAG_SOM_LEFTMOST, hs_scan() of three short texts (an IBAN; a phone
 * number and a card; hex), the fastest of 20 runs of 500 scans.
 * Experiment code, not a test.
 *
 *   cc -O2 -I ngx_llm_module/engines bench/redact/som_cost.c \
 *       ngx_llm_module/engines/ngx_http_llm_json.c -lhs -lcrypto -lpcre2-8 \
 *       -o som_cost && ./som_cost
 */

#define main scan_main
#include "scan_bench.c"
#undef main
#include "ngx_http_llm_pii.c"
static int on_c(unsigned int id, unsigned long long from, unsigned long long to, unsigned int f, void *c) { (*(int*)c)++; return 0; }
int main(void) {
    const char *txt[] = {"x DE89 3704 0044 0532 0130 00 y", "call +44 20 7946 0958 or 4111 1111 1111 1111 now", "ab12cdef3456abcdef7890abcdef"};
    unsigned flag[] = {NGX_HTTP_LLM_PII_APART_IBAN, NGX_HTTP_LLM_PII_APART_DIGITS};
    for (int g = 0; g < 2; g++) for (int som = 0; som < 2; som++) {
        const char *e[32]; unsigned f[32], d[32], n = 0, t; hs_database_t *db; hs_compile_error_t *ce; hs_scratch_t *S = NULL;
        for (unsigned i = 0; i < NGX_HTTP_LLM_PII_NPATTERNS; i++) if (ngx_http_llm_pii_builtins[i].flags & flag[g]) { e[n] = ngx_http_llm_pii_builtin_pattern(i, &t, &f[n]); if (!som) f[n] &= ~HS_FLAG_SOM_LEFTMOST; d[n] = n; n++; }
        hs_compile_multi(e, f, d, n, HS_MODE_BLOCK, NULL, &db, &ce); hs_alloc_scratch(db, &S);
        for (int k = 0; k < 3; k++) { double best = 1e9; int c = 0;
            for (int r = 0; r < 20; r++) { double t0 = now(); for (int j = 0; j < 500; j++) hs_scan(db, txt[k], strlen(txt[k]), 0, S, on_c, &c); double tt = (now() - t0) / 500; if (tt < best) best = tt; }
            printf("%s som=%d text %d: %.0f ns, %d reports\n", g ? "digits" : "iban", som, k, best * 1e9, c / 10000); }
    }
}
