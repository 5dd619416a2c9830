
/*
 * The builtin embedder's view of text pairs, for the paraphrase evaluation
 * (bench/cache/paraphrase_eval.mjs): for each line "A<TAB>B" of stdin, one
 * line of tab-separated fields on stdout:
 *
 *   cos      cosine of the builtin vectors, guard not applied
 *   words    1 when the words match one by one (up to typos)
 *   sig      1 when the signatures match (the index would find the entry)
 *   guard    1 when the module's guard is equal
 *   neg      1 when the counts of negations (0, 1, 2 or more) are equal
 *   negp     1 when both or neither have a negation
 *   prefix   1 when the counts of un-/dis-/non- words are equal
 *   polar    1 when the same words with an opposite are present
 *   flip     1 when no antonym pair is flipped (a word in one text, its
 *            opposite only in the other)
 *   swap     1 unless two words trade places (ngx_http_llm_embed_swapped())
 *   names    1 unless each text has a name the other has not
 *            (ngx_http_llm_embed_renamed())
 *   num      1 when the numbers are the same
 *   numc     1 unless both have numbers and they differ
 *   latin_a, latin_b   1 when at least half of the letters are Latin
 *
 * With --no-cjk, runs of han, kana and hangul are one word, as in the
 * builtin embedder before its character n-grams.
 *
 * Built with -DNGX_HTTP_LLM_EMBED_EVAL (for --no-cjk):
 *
 *   cc -O2 -DNGX_HTTP_LLM_EMBED_EVAL -I ngx_llm_module/engines \
 *       bench/cache/paraphrase_pairs.c ngx_llm_module/engines/ngx_http_llm_embed.c \
 *       -o build/paraphrase_pairs
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ngx_http_llm_embed.h"


int
main(int argc, char **argv)
{
    int                          ra, rb, k;
    char                        *line, *tab;
    size_t                       cap, la, lb;
    ssize_t                      n;
    double                       cos;
    int32_t                      dot;
    ngx_http_llm_embed_t         ea, eb;
    ngx_http_llm_embed_guard_t   pa, pb;

    for (k = 1; k < argc; k++) {
        if (strcmp(argv[k], "--no-cjk") == 0) {
            /* the builtin as it was: a run of CJK characters is one word */
            ngx_http_llm_embed_cjk = 0;

        } else if (strncmp(argv[k], "--swap=", 7) == 0) {
            /* variants of the check of swapped words */
            ngx_http_llm_embed_swap_mode = atoi(argv[k] + 7);
        }
    }

    line = NULL;
    cap = 0;

    while ((n = getline(&line, &cap, stdin)) > 0) {
        if (line[n - 1] == '\n') {
            line[--n] = '\0';
        }

        tab = strchr(line, '\t');
        if (tab == NULL) {
            fprintf(stderr, "no tab in line\n");
            return 1;
        }

        *tab = '\0';
        la = tab - line;
        lb = n - la - 1;

        ra = ngx_http_llm_embed_parts((u_char *) line, la, &ea, &pa);
        rb = ngx_http_llm_embed_parts((u_char *) tab + 1, lb, &eb, &pb);

        cos = 0;

        if (ra == 0 && rb == 0) {
            dot = 0;

            for (k = 0; k < NGX_HTTP_LLM_EMBED_DIM; k++) {
                dot += (int32_t) ea.v[k] * eb.v[k];
            }

            if (dot > 0) {
                cos = dot / ngx_http_llm_embed_sqrt((double) ea.norm2
                                                    * eb.norm2);
            }
        }

        printf("%.4f\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\n",
               cos,
               ra == 0 && rb == 0 && ngx_http_llm_embed_same_words(&ea, &eb),
               ra == 0 && rb == 0 && ea.signature == eb.signature,
               ea.guard == eb.guard,
               pa.negations == pb.negations,
               (pa.negations > 0) == (pb.negations > 0),
               pa.prefixed == pb.prefixed,
               memcmp(pa.polar, pb.polar, sizeof(pa.polar)) == 0,
               !ngx_http_llm_embed_antonyms_flipped(&pa.flip, &pb.flip),
               !ngx_http_llm_embed_swapped(&ea.order, &eb.order),
               !ngx_http_llm_embed_renamed(&ea.order, &eb.order),
               pa.nnum == pb.nnum && pa.numbers == pb.numbers,
               pa.nnum == 0 || pb.nnum == 0
               || (pa.nnum == pb.nnum && pa.numbers == pb.numbers),
               ngx_http_llm_embed_scripts_in((u_char *) line, la,
                                             NGX_HTTP_LLM_SCRIPT_LATIN),
               ngx_http_llm_embed_scripts_in((u_char *) tab + 1, lb,
                                             NGX_HTTP_LLM_SCRIPT_LATIN));
    }

    free(line);

    return 0;
}
