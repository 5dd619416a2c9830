
/*
 * Copyright (C) ngx_llm_module authors
 *
 * TAP unit test of the semantic cache's builtin embedder
 * (ngx_http_llm_embed.c): fixed cases, edge cases, and the evaluation set
 * bench/cache/semantic_pairs.tsv at the default threshold (precision at
 * least 0.97, recall at least 0.60: the figures of docs/cache.md).
 *
 *   cc -I ngx_llm_module/engines t/unit/embed_test.c \
 *       ngx_llm_module/engines/ngx_http_llm_embed.c -o build/unit/embed_test
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

    /* scripts: at least half of the letters in the mask (han 3, kana and
       hangul 2) */

    {
        static const struct {
            const char  *text;
            uint32_t     mask;
            int          in;
        } sc[] = {
            { "How do I reset my password?", NGX_HTTP_LLM_SCRIPT_LATIN, 1 },
            { "Wie setze ich mein Passwort zur\xc3\xbc" "ck?",
              NGX_HTTP_LLM_SCRIPT_LATIN, 1 },
            { "\xeb\xb9\x84\xeb\xb0\x80\xeb\xb2\x88\xed\x98\xb8\xeb\xa5\xbc "
              "\xeb\xb0\x94\xea\xbf\x94\xec\x9a\x94", /* Korean */
              NGX_HTTP_LLM_SCRIPT_LATIN, 0 },
            { "\xeb\xb9\x84\xeb\xb0\x80\xeb\xb2\x88\xed\x98\xb8 ok",
              NGX_HTTP_LLM_SCRIPT_HANGUL, 1 },
            { "\xe5\xa6\x82\xe4\xbd\x95\xe6\x9b\xb4\xe6\x8d\xa2 API key",
              NGX_HTTP_LLM_SCRIPT_LATIN, 0 },  /* 4 han (12), 6 latin */
            { "\xe5\xa6\x82\xe4\xbd\x95 reset the API key",
              NGX_HTTP_LLM_SCRIPT_LATIN, 1 },  /* 2 han (6), 14 latin */
            /* "如何在Python中使用asyncio库的事件循环": 12 han (36), 13 latin */
            { "\xe5\xa6\x82\xe4\xbd\x95\xe5\x9c\xa8Python\xe4\xb8\xad"
              "\xe4\xbd\xbf\xe7\x94\xa8" "asyncio\xe5\xba\x93\xe7\x9a\x84"
              "\xe4\xba\x8b\xe4\xbb\xb6\xe5\xbe\xaa\xe7\x8e\xaf",
              NGX_HTTP_LLM_SCRIPT_LATIN, 0 },
            /* "useEffect 훅에서 async 함수를 쓰는 방법": 10 hangul (20), 14 latin */
            { "useEffect \xed\x9b\x85\xec\x97\x90\xec\x84\x9c async "
              "\xed\x95\xa8\xec\x88\x98\xeb\xa5\xbc \xec\x93\xb0\xeb\x8a\x94 "
              "\xeb\xb0\xa9\xeb\xb2\x95", NGX_HTTP_LLM_SCRIPT_LATIN, 0 },
            { "\xe5\xa6\x82\xe4\xbd\x95\xe6\x9b\xb4\xe6\x8d\xa2 API",
              NGX_HTTP_LLM_SCRIPT_LATIN, 0 },  /* 4 han, 3 latin */
            { "\xd0\x9f\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82 2024 !!!",
              NGX_HTTP_LLM_SCRIPT_LATIN, 0 },  /* Cyrillic */
            { "\xd0\x9f\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82",
              NGX_HTTP_LLM_SCRIPT_LATIN|NGX_HTTP_LLM_SCRIPT_CYRILLIC, 1 },
            { "\xe3\x81\x93\xe3\x82\x93\xe3\x81\xab\xe3\x81\xa1\xe3\x81\xaf",
              NGX_HTTP_LLM_SCRIPT_KANA, 1 },   /* hiragana */
            { "12345 ?! \xf0\x9f\x98\x80", NGX_HTTP_LLM_SCRIPT_LATIN, 1 },
            { "\xff\xfe\xfd ab", NGX_HTTP_LLM_SCRIPT_LATIN, 0 },
            { NULL, 0, 0 }
        };

        for (i = 0; sc[i].text; i++) {
            ok(ngx_http_llm_embed_scripts_in((u_char *) sc[i].text,
                                             strlen(sc[i].text), sc[i].mask)
               == sc[i].in, "scripts: \"%s\" %s", sc[i].text,
               sc[i].in ? "in" : "out");
        }

        ok(ngx_http_llm_embed_script((u_char *) "hangul", 6)
           == NGX_HTTP_LLM_SCRIPT_HANGUL
           && ngx_http_llm_embed_script((u_char *) "all", 3)
              == NGX_HTTP_LLM_SCRIPT_ALL
           && ngx_http_llm_embed_script((u_char *) "klingon", 7) == 0,
           "script names%s%s", "", "");
    }

    /* han, kana, hangul: one word per character */

    sim = similarity("\xe5\xa6\x82\xe4\xbd\x95\xe6\x9b\xb4\xe6\x8d\xa2"
                     "\xe6\x89\x8b\xe6\x9c\xba\xe5\x8f\xb7\xef\xbc\x9f",
                     "\xe6\x89\x8b\xe6\x9c\xba\xe5\x8f\xb7\xe5\xa6\x82"
                     "\xe4\xbd\x95\xe6\x9b\xb4\xe6\x8d\xa2");
    ok(sim >= THRESHOLD, "han: the same characters in another order and "
       "without the full width question mark are near-duplicates%s%s",
       "", "");

    sim = similarity("\xe5\xa6\x82\xe4\xbd\x95\xe6\x9b\xb4\xe6\x8d\xa2"
                     "\xe6\x89\x8b\xe6\x9c\xba\xe5\x8f\xb7",
                     "\xe5\xa6\x82\xe4\xbd\x95\xe6\x9b\xb4\xe6\x8d\xa2"
                     "\xe9\x93\xb6\xe8\xa1\x8c\xe5\x8d\xa1");
    ok(sim < THRESHOLD, "han: other characters (phone number / bank card) "
       "differ%s%s", "", "");

    /* the guard's parts: antonym pairs flipped */

    {
        ngx_http_llm_embed_t        ea, eb;
        ngx_http_llm_embed_guard_t  ga, gb;

        ngx_http_llm_embed_parts((u_char *) "increase the font size", 22,
                                 &ea, &ga);
        ngx_http_llm_embed_parts((u_char *) "decrease the font size", 22,
                                 &eb, &gb);
        ok(ngx_http_llm_embed_flipped(&ga.flip, &gb.flip), "antonyms: increase / "
           "decrease flip%s%s", "", "");

        ngx_http_llm_embed_parts((u_char *) "the best way to increase "
                                 "the font size", 37, &eb, &gb);
        ok(!ngx_http_llm_embed_flipped(&ga.flip, &gb.flip), "antonyms: a word of a "
           "pair only on one side does not flip%s%s", "", "");

        ngx_http_llm_embed_parts((u_char *) "increase or decrease the "
                                 "font size", 34, &eb, &gb);
        ok(!ngx_http_llm_embed_flipped(&ga.flip, &gb.flip), "antonyms: both words of "
           "a pair on one side do not flip%s%s", "", "");

        /* two words trade places; a name replaced */

#define parts(text, e, g)                                                    \
        ngx_http_llm_embed_parts((u_char *) text, sizeof(text) - 1, e, g)

        parts("flights from Paris to Rome", &ea, &ga);
        parts("flights from Rome to Paris", &eb, &gb);
        ok(ngx_http_llm_embed_swapped(&ga.flip.order, &gb.flip.order)
           && ngx_http_llm_embed_flipped(&ga.flip, &gb.flip),
           "swapped: from Paris to Rome / from Rome to Paris%s%s", "", "");
        ok(ngx_http_llm_embed_similarity(&ea, &eb) == 0,
           "swapped: the builtin embedder tells them apart%s%s", "", "");

        parts("Later in 2014, Quintiq was bought by Dassault.", &ea, &ga);
        parts("In 2014, Dassault was bought by Quintiq.", &eb, &gb);
        ok(ngx_http_llm_embed_swapped(&ga.flip.order, &gb.flip.order),
           "swapped: bought by Dassault / bought by Quintiq%s%s", "", "");

        parts("Wilder committed suicide and Walter died in 1938",
              &ea, &ga);
        parts("Walter committed suicide and Wilder died in 1938",
              &eb, &gb);
        ok(ngx_http_llm_embed_swapped(&ga.flip.order, &gb.flip.order),
           "swapped: the subjects of two verbs%s%s", "", "");

        parts("In Spain (Catalonia) there are many festivals", &ea, &ga);
        parts("In Catalonia (Spain) there are many festivals", &eb, &gb);
        ok(!ngx_http_llm_embed_swapped(&ga.flip.order, &gb.flip.order),
           "swapped: neighbours that trade places are not%s%s", "", "");

        parts("In 2009 he moved to Paris for his studies", &ea, &ga);
        parts("He moved to Paris for his studies in 2009", &eb, &gb);
        ok(!ngx_http_llm_embed_swapped(&ga.flip.order, &gb.flip.order)
           && !ngx_http_llm_embed_flipped(&ga.flip, &gb.flip),
           "swapped: a clause moved as a whole is not%s%s", "", "");

        parts("How do I learn Python quickly?", &ea, &ga);
        parts("What is the fastest way to learn Python?", &eb, &gb);
        ok(!ngx_http_llm_embed_flipped(&ga.flip, &gb.flip),
           "swapped: a paraphrase in other words is not%s%s", "", "");

        parts("\xd0\x9c\xd0\xb0\xd0\xbc\xd0\xb0 "
              "\xd0\xbc\xd0\xbe\xd0\xb5\xd1\x82 "
              "\xd1\x80\xd0\xb0\xd0\xbc\xd1\x83", &ea, &ga);
        parts("\xd0\xa0\xd0\xb0\xd0\xbc\xd1\x83 "
              "\xd0\xbc\xd0\xbe\xd0\xb5\xd1\x82 "
              "\xd0\xbc\xd0\xb0\xd0\xbc\xd0\xb0", &eb, &gb);
        ok(ga.flip.order.n == 0
           && !ngx_http_llm_embed_swapped(&ga.flip.order, &gb.flip.order),
           "swapped: words not in ASCII letters (Russian marks roles by "
           "case) are not compared%s%s", "", "");

        parts("What is the best hotel in Kolkata?", &ea, &ga);
        parts("What is the best hotel in Mumbai?", &eb, &gb);
        ok(ngx_http_llm_embed_renamed(&ga.flip.order, &gb.flip.order)
           && ngx_http_llm_embed_flipped(&ga.flip, &gb.flip),
           "renamed: Kolkata / Mumbai%s%s", "", "");

        parts("What is the best hotel in Kolkata, India?", &eb, &gb);
        ok(!ngx_http_llm_embed_renamed(&ga.flip.order, &gb.flip.order),
           "renamed: a name added on one side only is not%s%s", "", "");

        parts("Which hotel in Kolkata is the best?", &eb, &gb);
        ok(!ngx_http_llm_embed_renamed(&ga.flip.order, &gb.flip.order),
           "renamed: the first word of a sentence is not a name%s%s", "", "");

        parts("Ein junger Mann sitzt im Park auf einer Bank", &ea, &ga);
        parts("Ein junger Mensch sitzt im Garten auf einer Bank", &eb, &gb);
        ok(!ngx_http_llm_embed_renamed(&ga.flip.order, &gb.flip.order),
           "renamed: a text that capitalizes its nouns has no names%s%s",
           "", "");

        /* one name in a short text is more than 30% of its words */

        parts("Who wrote Hamlet?", &ea, &ga);
        parts("Who wrote Macbeth?", &eb, &gb);
        ok(ngx_http_llm_embed_renamed(&ga.flip.order, &gb.flip.order)
           && ngx_http_llm_embed_flipped(&ga.flip, &gb.flip),
           "renamed: Hamlet / Macbeth (one name in three words)%s%s",
           "", "");

        parts("population of Tokyo", &ea, &ga);
        parts("population of Osaka", &eb, &gb);
        ok(ngx_http_llm_embed_renamed(&ga.flip.order, &gb.flip.order),
           "renamed: Tokyo / Osaka (one name in three words)%s%s", "", "");

        /* "I'm", "I've" are the pronoun, not names */

        parts("Tell me what I'm missing here", &ea, &ga);
        parts("Tell me what I\xe2\x80\x99ve missed here", &eb, &gb);
        ok(!ngx_http_llm_embed_renamed(&ga.flip.order, &gb.flip.order)
           && ga.flip.order.nnames == 0 && gb.flip.order.nnames == 0,
           "renamed: I'm / I've are not names%s%s", "", "");

#undef parts

        ngx_http_llm_embed_parts((u_char *) "I don't have 3 apples", 21,
                                 &ea, &ga);
        ok(ga.negations == 1 && ga.nnum == 1 && ga.numbers != 0,
           "guard parts: a negation, a number%s%s", "", "");
    }

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
