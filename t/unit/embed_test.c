
/*
 * Copyright (C) ngx_llm_module authors
 *
 * TAP unit test of the semantic cache's builtin embedder
 * (ngx_http_llm_embed.c): fixed cases, edge cases, and the evaluation set
 * bench/cache/semantic_pairs.tsv at the default threshold (precision at
 * least 0.97, recall at least 0.60: the figures of docs/cache.md).
 *
 *   cc -I ngx_llm_module t/unit/embed_test.c \
 *       ngx_llm_module/ngx_http_llm_embed.c -o build/unit/embed_test
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "ngx_http_llm_embed.h"


#define THRESHOLD  0.80


static int  tests;
static int  failed;


static void
ok(int cond, const char *fmt, const char *a, const char *b)
{
    tests++;

    if (!cond) {
        failed++;
    }

    printf("%sok %d - ", cond ? "" : "not ", tests);
    printf(fmt, a, b);
    printf("\n");
}


static double
similarity(const char *a, const char *b)
{
    char                   *ca, *cb;
    double                  sim;
    ngx_http_llm_embed_t    ea, eb;

    /* heap copies of the exact length: a read past the end shows */

    ca = malloc(strlen(a) + 1);
    cb = malloc(strlen(b) + 1);
    memcpy(ca, a, strlen(a));
    memcpy(cb, b, strlen(b));

    if (ngx_http_llm_embed((u_char *) ca, strlen(a), &ea) != 0
        || ngx_http_llm_embed((u_char *) cb, strlen(b), &eb) != 0)
    {
        free(ca);
        free(cb);
        return -1;
    }

    sim = ngx_http_llm_embed_similarity(&ea, &eb);

    if (ea.signature != eb.signature) {
        sim = 0;
    }

    free(ca);
    free(cb);

    return sim;
}


static const char  *same[][2] = {
    { "What is the capital of France?", "what is the capital of france" },
    { "How do I reverse a list in Python?",
      "In Python, how do I reverse a list?" },
    { "What's the weather in Paris today?",
      "What is the weather in Paris today" },
    { "Explain the difference between TCP and UDP.",
      "Could you please explain the difference between TCP and UDP?" },
    { "How do I undo the last git commit?",
      "How do I undo the last git comit?" },
    { NULL, NULL }
};


static const char  *different[][2] = {
    { "What is the capital of France?", "What is the capital of Spain?" },
    { "Is coffee bad for you?", "Is coffee not bad for you?" },
    { "Why is my build failing?", "Why isn't my build failing?" },
    { "What is 2 + 2?", "What is 2 + 3?" },
    { "How do I enable SSH?", "How do I disable SSH?" },
    { "Convert 10 euros to dollars.", "Convert 10 dollars to euros." },
    { "Redirect HTTP to HTTPS in nginx.", "Redirect HTTPS to HTTP in nginx." },
    { "Why did the empire fall?", "When did the empire fall?" },
    { "Write a product description for a red cotton t-shirt, size M, for "
      "our online store, in a friendly tone, under 100 words.",
      "Write a product description for a blue cotton t-shirt, size M, for "
      "our online store, in a friendly tone, under 100 words." },
    { NULL, NULL }
};


static int
evaluate(const char *path)
{
    int     n, tp, fp, fn, label;
    char    line[4096], *f[4], *p;
    FILE   *in;
    double  sim, precision, recall;
    char    msg[128];

    in = fopen(path, "r");
    if (in == NULL) {
        ok(0, "the evaluation set %s%s opens", path, "");
        return -1;
    }

    n = tp = fp = fn = 0;

    while (fgets(line, sizeof(line), in)) {
        if (line[0] == '#' || line[0] == '\n') {
            continue;
        }

        line[strcspn(line, "\r\n")] = '\0';

        p = line;
        f[0] = strsep(&p, "\t");
        f[1] = strsep(&p, "\t");
        f[2] = strsep(&p, "\t");
        f[3] = strsep(&p, "\t");

        if (f[3] == NULL) {
            continue;
        }

        label = atoi(f[0]);
        sim = similarity(f[2], f[3]);

        if (sim >= THRESHOLD) {
            label ? tp++ : fp++;

        } else if (label) {
            fn++;
        }

        n++;
    }

    fclose(in);

    precision = (tp + fp) ? (double) tp / (tp + fp) : 0;
    recall = (tp + fn) ? (double) tp / (tp + fn) : 0;

    snprintf(msg, sizeof(msg), "%d pairs: precision %.3f", n, precision);
    ok(n > 200 && precision >= 0.97, "%s%s >= 0.97", msg, "");

    snprintf(msg, sizeof(msg), "recall %.3f", recall);
    ok(recall >= 0.60, "%s%s >= 0.60", msg, "");

    return 0;
}


int
main(int argc, char **argv)
{
    int                    i;
    char                   big[8192], *p;
    double                 sim;
    const char            *set;
    ngx_http_llm_embed_t   e;

    for (i = 0; same[i][0]; i++) {
        sim = similarity(same[i][0], same[i][1]);
        ok(sim >= THRESHOLD, "near-duplicates: \"%s\" ~ \"%s\"", same[i][0],
           same[i][1]);
    }

    for (i = 0; different[i][0]; i++) {
        sim = similarity(different[i][0], different[i][1]);
        ok(sim >= 0 && sim < THRESHOLD, "different: \"%s\" / \"%s\"",
           different[i][0], different[i][1]);
    }

    ok(similarity("Hello world", "Hello world") > 0.999,
       "a text is similar to itself%s%s", "", "");

    ok(ngx_http_llm_embed((u_char *) "", 0, &e) == -1,
       "an empty text is not compared%s%s", "", "");

    ok(ngx_http_llm_embed((u_char *) "?! ...", 6, &e) == -1,
       "punctuation only is not compared%s%s", "", "");

    memset(big, 'a', sizeof(big));

    for (i = 7; i < (int) sizeof(big); i += 8) {
        big[i] = ' ';
    }

    ok(ngx_http_llm_embed((u_char *) big, sizeof(big), &e) == -1,
       "a text of more words than are kept is not compared%s%s", "", "");

    ok(ngx_http_llm_embed((u_char *) "\xff\xfe caf\xc3\xa9 \xe2\x80", 9, &e)
       == 0, "invalid and cut UTF-8 is read within its length%s%s", "", "");

    /* the cosine of a remote embedder's vectors (signed bytes) */

    {
        int8_t    va[4] = { 127, 0, 0, 0 }, vb[4] = { 90, 90, 0, 0 },
                  vc[4] = { 0, 0, 127, 0 }, vd[4] = { -127, 0, 0, 0 };
        uint32_t  na = 127 * 127, nb = 2 * 90 * 90, nc = 127 * 127;
        double    c;

        c = ngx_http_llm_embed_cosine_i8(va, na, va, na, 4, 0.9);
        ok(c > 0.9999 && c < 1.0001, "an int8 vector is its own neighbour"
           "%s%s", "", "");

        c = ngx_http_llm_embed_cosine_i8(va, na, vb, nb, 4, 0.7);
        ok(c > 0.7070 && c < 0.7072, "int8 cosine at 45 degrees is 0.707"
           "%s%s", "", "");

        ok(ngx_http_llm_embed_cosine_i8(va, na, vb, nb, 4, 0.75) == 0,
           "int8 cosine under the threshold is 0%s%s", "", "");

        ok(ngx_http_llm_embed_cosine_i8(va, na, vc, nc, 4, 0.1) == 0,
           "orthogonal int8 vectors: 0%s%s", "", "");

        ok(ngx_http_llm_embed_cosine_i8(va, na, vd, na, 4, 0.0) == 0,
           "opposite int8 vectors: 0, not negative%s%s", "", "");

        ok(ngx_http_llm_embed_cosine_i8(va, 0, va, na, 4, 0.0) == 0,
           "a zero vector is similar to nothing%s%s", "", "");
    }

    /* the set, next to this file's directory: __FILE__ is .../t/unit/... */

    if (argc > 1) {
        set = argv[1];

    } else {
        snprintf(big, sizeof(big), "%s", __FILE__);
        p = strstr(big, "t/unit/embed_test.c");

        if (p) {
            strcpy(p, "bench/cache/semantic_pairs.tsv");
        }

        set = p ? big : "bench/cache/semantic_pairs.tsv";
    }

    if (evaluate(set) != 0) {
        return 1;
    }

    printf("1..%d\n", tests);

    return failed ? 1 : 0;
}
