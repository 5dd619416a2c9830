
/*
 * Copyright (C) ngx_llm_module authors
 *
 * TAP unit test: the estimator's ASCII fast path gives the same estimate as
 * the generic scanners, byte for byte.  The estimator is built twice into
 * this test: once as the module has it (linked, ngx_http_llm_tokens.c in
 * t/000-unit.t's list), once included here with -DNGX_HTTP_LLM_TOKENS_NO_FAST
 * semantics and its entry point renamed, and both are run over
 *
 *   - random texts from an alphabet that mixes what each branch of the fast
 *     path looks at (ASCII letters, digits, punctuation, every ASCII white
 *     space, contractions, slashes after newlines) with what sends it back
 *     to the generic path (accented and non-Latin letters, non-ASCII digits,
 *     symbols and white space, invalid and truncated UTF-8), and every
 *     prefix of each, so that each piece also ends at the end of the text;
 *   - the evaluation texts of ../shared/eval/text/texts.jsonl (every
 *     language of the corpus), whole and from 8 random offsets (cut in the
 *     middle of words and of UTF-8 sequences), when the file is found
 *     (LLM_EVAL_TEXTS, or looked for next to the repository);
 *   - a bench/make_body.mjs style chat prompt of 16 KB;
 *
 * and that the Latin-1 table gives each code point the class of the ranges.
 *
 * Every text is copied to a heap buffer of exactly its length, so that a
 * read past the end shows under ASan or valgrind.
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

/* the generic path only, under another name */

#define NGX_HTTP_LLM_TOKENS_NO_FAST  1
#define ngx_http_llm_estimate_tokens  tokens_slow_estimate

#include "ngx_http_llm_tokens.c"

#undef ngx_http_llm_estimate_tokens

/* the module's, with the fast path (ngx_http_llm_tokens.c, linked) */
size_t ngx_http_llm_estimate_tokens(const u_char *text, size_t len);

#include "ngx_http_llm_json.h"


static int       tokens_test_n;
static int       tokens_test_failed;
static uint64_t  tokens_digest;     /* FNV-1a of the estimates, in order */


/*
 * The digests of the estimates of each set of texts below as
 * ngx_http_llm_estimate_tokens() gave them at 9720c6e, before the fast path
 * and the letter runs of the language guess: the estimates stay the same,
 * not only the two paths alike.
 */

#define TOKENS_DIGEST_RANDOM   0xd9407393338463c9ULL
#define TOKENS_DIGEST_BYTES    0x5227530b706fda0fULL
#define TOKENS_DIGEST_CORPUS   0xf57b1c901e683bcdULL


static void
tokens_ok(int ok, const char *what)
{
    tokens_test_n++;

    if (!ok) {
        tokens_test_failed = 1;
    }

    printf("%sok %d - %s\n", ok ? "" : "not ", tokens_test_n, what);
}


static void
tokens_digest_ok(uint64_t expected, const char *what)
{
    char  msg[160];

    snprintf(msg, sizeof(msg), "%s: the estimates are those of 9720c6e "
             "(digest %016llx)", what, (unsigned long long) tokens_digest);
    tokens_ok(tokens_digest == expected, msg);
}


static unsigned long  tokens_seed = 15;

static unsigned
tokens_rand(void)
{
    tokens_seed = tokens_seed * 6364136223846793005UL + 1442695040888963407UL;
    return (unsigned) (tokens_seed >> 33);
}


/* both estimates of exactly len bytes in their own heap buffer; 0: differ */

static int
tokens_same(const u_char *text, size_t len, const char *what)
{
    size_t   fast, slow;
    u_char  *p;

    p = malloc(len ? len : 1);

    if (p == NULL) {
        fprintf(stderr, "out of memory\n");
        exit(2);
    }

    memcpy(p, text, len);
    fast = ngx_http_llm_estimate_tokens(p, len);
    slow = tokens_slow_estimate(p, len);
    free(p);

    tokens_digest = (tokens_digest ^ fast) * 0x100000001b3ULL;

    if (fast != slow) {
        printf("# %s: %zu bytes: fast %zu, generic %zu: \"", what, len, fast,
               slow);
        fwrite(text, 1, len < 200 ? len : 200, stdout);
        printf("\"\n");
        return 0;
    }

    return 1;
}


/* pieces the random texts are made of */

static const char  *tokens_alphabet[] = {
    "a", "e", "s", "t", "word", "the", "Hello", "HTTP", "WORDword", "McDo",
    "x", "Z", "I", "ABCDEFGHIJKLMNOPQRSTUVWXYZABCD",
    "abcdefghijklmnopqrstuvwxyzabcdefg", "0", "7", "42", "12345", " ", " ",
    " ", "  ", "\t", "\n", "\r\n", "\n\n", "\v", "\f", "                   ",
    ".", ",", "!", "?", "\"", "'", "'s", "'S", "'t", "'re", "'VE", "'m",
    "'ll", "'d", "'x", "'", "-", "--", "...", "/", "//", "\n//", "{", "}",
    "();", "<", ">", "=", "_", "`", "@", "#", "$", "%", "^", "&", "*",
    "[", "]", "|", "~", "\\", ":", ";", "\x7f", "\x01", "!!!!!!!!!!!!!!!!!!!",
    "\xc3\xa9", "\xc3\x89", "caf\xc3\xa9", "na\xc3\xafve", "\xc3\x9f",
    "\xd0\x96", "\xd0\xb6", "\xce\xa9", "\xe4\xb8\xad", "\xe3\x81\x82",
    "\xea\xb0\x80", "\xd8\xb9", "\xe0\xa4\x95", "\xe2\x80\x99",
    "\xe2\x80\x9c", "\xe2\x80\xa6", "\xe2\x82\xac", "\xc2\xa0",
    "\xe2\x80\xa8", "\xe3\x80\x80", "\xc2\xb2", "\xd9\xa3", "\xef\xbc\x91",
    "\xf0\x9f\x98\x80", "\xcc\x81", "\xc2\xaa", "\xc4\x80", "\xc4\x81",
    "\xff", "\xc3", "\xe4\xb8", "\xf0\x9f\x98", "\x80", "\xed\xa0\x80"
};

#define TOKENS_ALPHABET_N                                                     \
    (sizeof(tokens_alphabet) / sizeof(tokens_alphabet[0]))


/* the "text" members of a JSON lines file, decoded, one after the other */

static size_t
tokens_corpus(const char *path, size_t *bytes)
{
    char                        line[1 << 16];
    FILE                       *f;
    size_t                      n, len, k, off, good, all;
    u_char                     *text;
    uint32_t                    t;
    ngx_http_llm_json_t         json;
    ngx_http_llm_json_token_t   tokens[64];

    f = fopen(path, "r");

    if (f == NULL) {
        return 0;
    }

    n = 0;
    good = 1;
    all = 0;
    tokens_digest = 0xcbf29ce484222325ULL;

    while (fgets(line, sizeof(line), f) != NULL) {
        memset(&json, 0, sizeof(json));
        json.data = (u_char *) line;
        json.len = strlen(line);
        json.tokens = tokens;
        json.max_tokens = 64;

        if (ngx_http_llm_json_parse(&json) != NGX_HTTP_LLM_JSON_OK) {
            continue;
        }

        t = ngx_http_llm_json_object_get(&json, 0, "text", 4);

        if (t == NGX_HTTP_LLM_JSON_NONE
            || tokens[t].type != NGX_HTTP_LLM_JSON_STRING)
        {
            continue;
        }

        len = tokens[t].end - tokens[t].start - 2;
        text = malloc(len ? len : 1);

        if (text == NULL) {
            exit(2);
        }

        len = ngx_http_llm_json_decode_string(json.data + tokens[t].start + 1,
                                              len, text);

        good &= tokens_same(text, len, "corpus text");

        for (k = 0; k < 8 && len > 1; k++) {
            off = tokens_rand() % len;
            good &= tokens_same(text + off, len - off, "corpus text, offset");
            good &= tokens_same(text, off, "corpus text, prefix");
        }

        all += len;
        n++;
        free(text);
    }

    fclose(f);

    tokens_ok(good, "evaluation texts, whole, suffixes and prefixes: the "
                    "fast path's estimates are the generic path's");
    tokens_digest_ok(TOKENS_DIGEST_CORPUS, "evaluation texts");

    *bytes = all;

    return n;
}


int
main(void)
{
    char           what[128];
    u_char        *buf;
    size_t         i, k, len, n, bytes, fast, slow;
    const char    *env, *piece;
    unsigned       good, prefixes;

    static const char  *corpus[] = {
        "../shared/eval/text/texts.jsonl",
        "../../shared/eval/text/texts.jsonl",
        "/work/shared/eval/text/texts.jsonl"
    };

    static const char  *words[] = {
        "the", "gateway", "streams", "tokens", "to", "the", "client",
        "while", "a", "budget", "is", "reserved", "and", "reconciled", "at",
        "end", "of", "each", "request;", "nginx", "workers", "share",
        "state", "through", "memory", "zones,", "so", "reload", "keeps",
        "every", "counter.", "Please", "summarize", "this", "document", "in",
        "three", "sentences", "list", "any", "risks", "you", "see", "with",
        "approach.", "caf\xc3\xa9", "na\xc3\xafve", "42\xe2\x82\xac",
        "\"quoted\"", "line\nbreak"
    };

    buf = malloc(1 << 16);

    if (buf == NULL) {
        return 2;
    }

    /* the Latin-1 table is what the ranges say */

    good = 1;

    for (i = 0x80; i < 0x100; i++) {
        if (ngx_http_llm_tokens_latin1[i - 0x80]
            != ngx_http_llm_tokens_lookup_ranges((uint32_t) i))
        {
            printf("# U+%04zX: table %02x, ranges %02x\n", i,
                   ngx_http_llm_tokens_latin1[i - 0x80],
                   ngx_http_llm_tokens_lookup_ranges((uint32_t) i));
            good = 0;
        }
    }

    tokens_ok(good, "the Latin-1 table agrees with the ranges");

    /* so do the tables of U+0100 .. U+0FFF and U+1E00 .. U+20FF */

    good = 1;

    for (i = 0x100; i < 0x1000; i++) {
        if (ngx_http_llm_tokens_bmp[i - 0x100]
            != ngx_http_llm_tokens_lookup_ranges((uint32_t) i))
        {
            printf("# U+%04zX: table %02x, ranges %02x\n", i,
                   ngx_http_llm_tokens_bmp[i - 0x100],
                   ngx_http_llm_tokens_lookup_ranges((uint32_t) i));
            good = 0;
        }
    }

    for (i = 0x1e00; i < 0x2100; i++) {
        if (ngx_http_llm_tokens_punct_block[i - 0x1e00]
            != ngx_http_llm_tokens_lookup_ranges((uint32_t) i))
        {
            printf("# U+%04zX: table %02x, ranges %02x\n", i,
                   ngx_http_llm_tokens_punct_block[i - 0x1e00],
                   ngx_http_llm_tokens_lookup_ranges((uint32_t) i));
            good = 0;
        }
    }

    tokens_ok(good, "the tables of U+0100..U+0FFF and U+1E00..U+20FF agree "
                    "with the ranges");

    /* every word of the language guess's list passes its first filter */

    good = 1;

    for (i = 0; ngx_http_llm_tokens_words[i].len; i++) {
        len = ngx_http_llm_tokens_words[i].len;

        for (k = 0; k < 32; k++) {
            if (len > 1 && k != (ngx_http_llm_tokens_words[i].word[1] & 0x1fu))
            {
                continue;
            }

            if (!(ngx_http_llm_tokens_word_first
                      [ngx_http_llm_tokens_words[i].word[0] & 0x1f][k]
                  & (1u << (len - 1))))
            {
                printf("# \"%s\" is not in the filter\n",
                       (const char *) ngx_http_llm_tokens_words[i].word);
                good = 0;
            }
        }
    }

    tokens_ok(good, "the words of the language guess pass its filter");

    /*
     * ngx_http_llm_tokens_hot() adds the costs of "word", "Word", " word"
     * and " Word" without the clamp to a token: each is one or more
     */

    good = 1;

    for (i = 0; i < 2; i++) {
        for (k = 0; k < 2; k++) {
            for (n = 1; n <= NGX_HTTP_LLM_TW_MAX_LEN; n++) {
                if (ngx_http_llm_tokens_word[i][k][n]
                    < NGX_HTTP_LLM_TOKEN_UNIT)
                {
                    printf("# word[%zu][%zu][%zu] is %u\n", i, k, n,
                           ngx_http_llm_tokens_word[i][k][n]);
                    good = 0;
                }
            }
        }
    }

    tokens_ok(good, "the hot path's word costs are a token or more");

    /* random texts and every prefix of each */

    good = 1;
    prefixes = 1;
    tokens_digest = 0xcbf29ce484222325ULL;

    for (i = 0; i < 20000; i++) {
        len = 0;
        n = 1 + tokens_rand() % 40;

        for (k = 0; k < n; k++) {
            piece = tokens_alphabet[tokens_rand() % TOKENS_ALPHABET_N];
            memcpy(buf + len, piece, strlen(piece));
            len += strlen(piece);
        }

        good &= tokens_same(buf, len, "random text");

        if (i % 10 == 0) {
            for (k = 0; k < len; k++) {
                prefixes &= tokens_same(buf, k, "random text, prefix");
            }
        }
    }

    tokens_ok(good, "20000 random texts: the fast path's estimates are the "
                    "generic path's");
    tokens_ok(prefixes, "every prefix of 2000 random texts: the same");
    tokens_digest_ok(TOKENS_DIGEST_RANDOM, "random texts and prefixes");

    /* random bytes, ASCII mostly */

    good = 1;
    tokens_digest = 0xcbf29ce484222325ULL;

    for (i = 0; i < 20000; i++) {
        len = tokens_rand() % 64;

        for (k = 0; k < len; k++) {
            buf[k] = (tokens_rand() % 8) ? tokens_rand() % 128
                                         : tokens_rand() % 256;
        }

        good &= tokens_same(buf, len, "random bytes");
    }

    tokens_ok(good, "20000 texts of random bytes: the same");
    tokens_digest_ok(TOKENS_DIGEST_BYTES, "random bytes");

    /* a chat prompt of 16 KB, as bench/make_body.mjs writes them */

    len = 0;
    k = 1;

    while (len < 16384) {
        k = (k * 1103515245 + 12345) % 2147483648UL;
        piece = words[(k >> 8) % (sizeof(words) / sizeof(words[0]))];

        if (len) {
            buf[len++] = ' ';
        }

        memcpy(buf + len, piece, strlen(piece));
        len += strlen(piece);
    }

    fast = ngx_http_llm_estimate_tokens(buf, len);
    slow = tokens_slow_estimate(buf, len);
    snprintf(what, sizeof(what), "a 16 KB chat prompt: %zu tokens by both "
             "paths (generic %zu)", fast, slow);
    tokens_ok(fast == slow && fast > 2000, what);

    /* the evaluation texts */

    env = getenv("LLM_EVAL_TEXTS");
    n = 0;
    bytes = 0;

    if (env != NULL) {
        n = tokens_corpus(env, &bytes);

    } else {
        for (i = 0; i < sizeof(corpus) / sizeof(corpus[0]) && n == 0; i++) {
            n = tokens_corpus(corpus[i], &bytes);
        }
    }

    if (n == 0) {
        printf("# ../shared/eval/text/texts.jsonl not found (LLM_EVAL_TEXTS): "
               "the evaluation texts are not compared\n");

    } else {
        printf("# %zu evaluation texts, %zu bytes\n", n, bytes);
        tokens_ok(n > 1000, "the evaluation texts were read");
    }

    free(buf);

    printf("1..%d\n", tokens_test_n);

    return tokens_test_failed ? 1 : 0;
}
