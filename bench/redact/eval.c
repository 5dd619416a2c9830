
/*
 * Copyright (C) ngx_llm_module authors
 *
 * Recall and precision of the built-in types on a labelled corpus
 * (bench/redact/corpus.txt, see make_corpus.py).  A found value counts only
 * with its exact span and type.
 *
 *   cc -O2 -I ngx_llm_module/engines bench/redact/eval.c \
 *       ngx_llm_module/engines/ngx_http_llm_pii.c -lhs -lcrypto -o eval
 *   ./eval [-v] bench/redact/corpus.txt
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ngx_http_llm_pii.h"


#define MAX_LINE   65536
#define MAX_GOLD   64


typedef struct {
    size_t    start;
    size_t    end;
    int       type;
    int       hit;
} gold_t;


static unsigned long  tp[NGX_HTTP_LLM_PII_NBUILTIN];
static unsigned long  fp[NGX_HTTP_LLM_PII_NBUILTIN];
static unsigned long  fn[NGX_HTTP_LLM_PII_NBUILTIN];


static void *
eval_alloc(void *data, size_t size)
{
    return malloc(size);               /* a short-lived tool: never freed */
}


/* a corpus line to text and gold spans; returns the number of spans */

static int
parse_line(const char *in, char *text, size_t *len, gold_t *gold)
{
    int          n, t;
    size_t       o;
    const char  *p, *colon;

    n = 0;
    o = 0;

    for (p = in; *p && *p != '\n'; /* void */) {

        if (p[0] == '\\' && p[1] == 'n') {
            text[o++] = '\n';
            p += 2;
            continue;
        }

        if (p[0] == '\\' && p[1] == '\\') {
            text[o++] = '\\';
            p += 2;
            continue;
        }

        if (strncmp(p, "\xc2\xab", 2) == 0) {
            colon = strchr(p, ':');
            t = ngx_http_llm_pii_builtin((const u_char *) p + 2,
                                         colon - p - 2);
            if (t < 0 || n == MAX_GOLD) {
                fprintf(stderr, "bad label: %s", in);
                exit(1);
            }

            gold[n].type = t;
            gold[n].start = o;
            gold[n].hit = 0;

            for (p = colon + 1; strncmp(p, "\xc2\xbb", 2) != 0; /* void */) {
                if (p[0] == '\\' && p[1] == 'n') {
                    text[o++] = '\n';
                    p += 2;

                } else {
                    text[o++] = *p++;
                }
            }

            gold[n].end = o;
            n++;
            p += 2;
            continue;
        }

        text[o++] = *p++;
    }

    *len = o;

    return n;
}


int
main(int argc, char **argv)
{
    int                          verbose, bad, ngold, i, lines, type, all;
    char                         err[256], *line, *text;
    size_t                       len, k;
    FILE                        *f;
    gold_t                       gold[MAX_GOLD];
    hs_scratch_t                *scratch;
    ngx_http_llm_pii_t          *pii;
    ngx_http_llm_pii_match_t    *m;
    ngx_http_llm_pii_matches_t   ms;
    unsigned long                stp, sfp, sfn;

    verbose = (argc > 2 && strcmp(argv[1], "-v") == 0);

    f = fopen(argv[argc - 1], "r");
    if (f == NULL) {
        perror(argv[argc - 1]);
        return 1;
    }

    pii = ngx_http_llm_pii_compile(NGX_HTTP_LLM_PII_ALL, NULL, 0, err,
                                   sizeof(err), &bad);
    if (pii == NULL) {
        fprintf(stderr, "compile: %s\n", err);
        return 1;
    }

    scratch = NULL;
    ngx_http_llm_pii_alloc_scratch(pii, &scratch);

    memset(&ms, 0, sizeof(ms));
    ms.alloc = eval_alloc;

    line = malloc(MAX_LINE);
    text = malloc(MAX_LINE);
    lines = 0;

    while (fgets(line, MAX_LINE, f)) {
        lines++;
        ngold = parse_line(line, text, &len, gold);

        if (ngx_http_llm_pii_scan(pii, scratch, (u_char *) text, len, 0, &ms)
            != 0)
        {
            fprintf(stderr, "scan failed\n");
            return 1;
        }

        m = ms.elts;

        for (k = 0; k < ms.nelts; k++) {
            for (i = 0; i < ngold; i++) {
                if (gold[i].start == m[k].start && gold[i].end == m[k].end
                    && gold[i].type == (int) m[k].type)
                {
                    break;
                }
            }

            if (i < ngold) {
                gold[i].hit = 1;
                tp[m[k].type]++;
                continue;
            }

            fp[m[k].type]++;

            if (verbose) {
                printf("FP %-6s \"%.*s\" in: %.*s\n",
                       ngx_http_llm_pii_builtin_name(m[k].type),
                       (int) (m[k].end - m[k].start), text + m[k].start,
                       (int) len, text);
            }
        }

        for (i = 0; i < ngold; i++) {
            if (gold[i].hit) {
                continue;
            }

            fn[gold[i].type]++;

            if (verbose) {
                printf("FN %-6s \"%.*s\" in: %.*s\n",
                       ngx_http_llm_pii_builtin_name(gold[i].type),
                       (int) (gold[i].end - gold[i].start),
                       text + gold[i].start, (int) len, text);
            }
        }
    }

    printf("%d lines\n\n", lines);
    printf("| type | values | found | false positives | missed | "
           "precision | recall |\n");
    printf("|---|---:|---:|---:|---:|---:|---:|\n");

    stp = sfp = sfn = 0;

    for (all = 0; all < 2; all++) {
        for (type = 0; type < (all ? 1 : NGX_HTTP_LLM_PII_NBUILTIN); type++) {
            unsigned long  t_, f_, n_;

            if (all) {
                t_ = stp;
                f_ = sfp;
                n_ = sfn;

            } else {
                t_ = tp[type];
                f_ = fp[type];
                n_ = fn[type];
                stp += t_;
                sfp += f_;
                sfn += n_;
            }

            printf("| %s | %lu | %lu | %lu | %lu | %.3f | %.3f |\n",
                   all ? "**all**" : ngx_http_llm_pii_builtin_name(type),
                   t_ + n_, t_, f_, n_,
                   (t_ + f_) ? (double) t_ / (t_ + f_) : 1.0,
                   (t_ + n_) ? (double) t_ / (t_ + n_) : 1.0);
        }
    }

    hs_free_scratch(scratch);
    ngx_http_llm_pii_free(pii);

    return 0;
}
