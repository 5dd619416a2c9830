
/*
 * Evaluation of the semantic cache's builtin embedder on labelled query
 * pairs (bench/cache/semantic_pairs.tsv): the similarity of each pair,
 * precision and recall by threshold, the figures by category at one
 * threshold, and the pairs it gets wrong there.
 *
 *   cc -O2 -I ngx_llm_module/engines bench/cache/semantic_eval.c \
 *       ngx_llm_module/engines/ngx_http_llm_embed.c -lm -o semantic_eval
 *   ./semantic_eval bench/cache/semantic_pairs.tsv [THRESHOLD]
 *
 * A pair labelled 1 is a hit wanted (the same question), 0 a hit that
 * would serve a wrong answer.  Precision: right hits over all hits;
 * recall: right hits over the pairs labelled 1.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ngx_http_llm_embed.h"


#define MAX_PAIRS  4096


typedef struct {
    int      label;
    char     category[32];
    char    *a;
    char    *b;
    double   sim;
} pair_t;


static pair_t  pairs[MAX_PAIRS];


#if (NGX_HTTP_LLM_EMBED_TUNE)

extern double  ngx_http_llm_embed_w[4];

/* the best recall at a precision of at least 0.97, by feature weights */

static void
sweep(int n)
{
    int                    i, t, tp, fp, fn, best_t;
    double                 wu, wt, wp, wd, th, rec, best;
    ngx_http_llm_embed_t   ea, eb;

    for (wu = 0.4; wu <= 1.01; wu += 0.2)
    for (wt = 0.4; wt <= 1.61; wt += 0.2)
    for (wp = 0.2; wp <= 1.21; wp += 0.2)
    for (wd = 0.0; wd <= 2.01; wd += 0.5) {
        ngx_http_llm_embed_w[0] = wu;
        ngx_http_llm_embed_w[1] = wt;
        ngx_http_llm_embed_w[2] = wp;
        ngx_http_llm_embed_w[3] = wd;

        for (i = 0; i < n; i++) {
            ngx_http_llm_embed((u_char *) pairs[i].a, strlen(pairs[i].a),
                               &ea);
            ngx_http_llm_embed((u_char *) pairs[i].b, strlen(pairs[i].b),
                               &eb);
            pairs[i].sim = ngx_http_llm_embed_similarity(&ea, &eb);
        }

        best = 0;
        best_t = 0;

        for (t = 70; t <= 98; t++) {
            th = t / 100.0;
            tp = fp = fn = 0;

            for (i = 0; i < n; i++) {
                if (pairs[i].sim >= th) {
                    pairs[i].label ? tp++ : fp++;
                } else if (pairs[i].label) {
                    fn++;
                }
            }

            rec = (double) tp / (tp + fn);

            if ((tp + fp) && (double) tp / (tp + fp) >= 0.97 && rec > best) {
                best = rec;
                best_t = t;
            }
        }

        printf("%.3f t=%.2f wu=%.1f wt=%.1f wp=%.1f wd=%.1f\n", best,
               best_t / 100.0, wu, wt, wp, wd);
    }
}

#endif


int
main(int argc, char **argv)
{
    int                    n, i, t, tp, fp, fn, k, ncat;
    char                   line[4096], *f[4], *p;
    FILE                  *in;
    double                 threshold, th, prec, rec;
    const char            *cats[64];
    struct timespec        t0, t1;
    ngx_http_llm_embed_t   ea, eb;

    if (argc < 2) {
        fprintf(stderr, "usage: %s PAIRS.tsv [THRESHOLD]\n", argv[0]);
        return 2;
    }

    threshold = (argc > 2) ? atof(argv[2]) : 0.80;

    in = fopen(argv[1], "r");
    if (in == NULL) {
        perror(argv[1]);
        return 2;
    }

    n = 0;

    while (fgets(line, sizeof(line), in) && n < MAX_PAIRS) {
        if (line[0] == '#' || line[0] == '\n') {
            continue;
        }

        line[strcspn(line, "\r\n")] = '\0';

        p = line;

        for (k = 0; k < 4; k++) {
            f[k] = strsep(&p, "\t");
            if (f[k] == NULL) {
                break;
            }
        }

        if (k < 4) {
            fprintf(stderr, "bad line: %s\n", line);
            return 2;
        }

        pairs[n].label = atoi(f[0]);
        snprintf(pairs[n].category, sizeof(pairs[n].category), "%s", f[1]);
        pairs[n].a = strdup(f[2]);
        pairs[n].b = strdup(f[3]);
        n++;
    }

    fclose(in);

#if (NGX_HTTP_LLM_EMBED_TUNE)
    if (getenv("SWEEP")) {
        sweep(n);
        return 0;
    }
#endif

    clock_gettime(CLOCK_MONOTONIC, &t0);

    for (i = 0; i < n; i++) {
        ngx_http_llm_embed((u_char *) pairs[i].a, strlen(pairs[i].a), &ea);
        ngx_http_llm_embed((u_char *) pairs[i].b, strlen(pairs[i].b), &eb);
        pairs[i].sim = ngx_http_llm_embed_similarity(&ea, &eb);

        if (ea.signature != eb.signature) {
            /* not found by the cache's index */
            pairs[i].sim = -pairs[i].sim;
        }
    }

    clock_gettime(CLOCK_MONOTONIC, &t1);

    printf("%d pairs, %d labelled 1; %.2f us per embedding\n\n", n,
           (int) ({ int c = 0; for (i = 0; i < n; i++) c += pairs[i].label;
                    c; }),
           ((t1.tv_sec - t0.tv_sec) * 1e9 + (t1.tv_nsec - t0.tv_nsec))
           / 1e3 / (2 * n));

    printf("| threshold | hits | wrong hits | precision | recall |\n");
    printf("|---|---|---|---|---|\n");

    for (t = 60; t <= 98; t += 2) {
        th = t / 100.0;
        tp = fp = fn = 0;

        for (i = 0; i < n; i++) {
            if (pairs[i].sim >= th) {
                if (pairs[i].label) {
                    tp++;
                } else {
                    fp++;
                }

            } else if (pairs[i].label) {
                fn++;
            }
        }

        prec = (tp + fp) ? (double) tp / (tp + fp) : 1;
        rec = (tp + fn) ? (double) tp / (tp + fn) : 0;

        printf("| %.2f | %d | %d | %.3f | %.3f |\n", th, tp + fp, fp, prec,
               rec);
    }

    /* by category at the threshold */

    ncat = 0;

    for (i = 0; i < n; i++) {
        for (k = 0; k < ncat; k++) {
            if (strcmp(cats[k], pairs[i].category) == 0) {
                break;
            }
        }

        if (k == ncat && ncat < 64) {
            cats[ncat++] = pairs[i].category;
        }
    }

    printf("\nAt %.2f:\n\n| category | label | pairs | hits |\n"
           "|---|---|---|---|\n", threshold);

    for (k = 0; k < ncat; k++) {
        int  pairs_n = 0, hits = 0, label = 0;

        for (i = 0; i < n; i++) {
            if (strcmp(cats[k], pairs[i].category) != 0) {
                continue;
            }

            label = pairs[i].label;
            pairs_n++;
            hits += (pairs[i].sim >= threshold);
        }

        printf("| %s | %d | %d | %d |\n", cats[k], label, pairs_n, hits);
    }

    printf("\nWrong at %.2f:\n\n", threshold);

    for (i = 0; i < n; i++) {
        if ((pairs[i].sim >= threshold) != pairs[i].label) {
            printf("  %s %.3f [%s] %s | %s\n",
                   pairs[i].label ? "missed" : "FALSE HIT", pairs[i].sim,
                   pairs[i].category, pairs[i].a, pairs[i].b);
        }
    }

    return 0;
}
