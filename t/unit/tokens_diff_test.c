
/*
 * Copyright (C) ngx_llm_module authors
 *
 * TAP unit test: the estimator gives, for every text, exactly the estimate
 * of the implementation of e28ee8b (before the block scanner and the
 * separate language pass), kept as it was in t/unit/ref/ and built into
 * this test under another name.  Any one-token difference fails.
 *
 * The texts:
 *
 *   - random texts from an alphabet of pieces (ASCII words of every case,
 *     contractions, digits, punctuation, every white space, non-ASCII
 *     letters, digits, symbols and spaces, invalid and truncated UTF-8),
 *     and every prefix and suffix of some of them;
 *   - random bytes, all 256 values, and mostly ASCII;
 *   - random valid UTF-8 of every script the estimator knows (Latin,
 *     Greek, Cyrillic, Armenian, Hebrew, Arabic, Indic, Thai, Hangul, Kana,
 *     Han, emoji, symbols, Unicode spaces, fullwidth forms, ...), alone and
 *     mixed with ASCII;
 *   - long runs of digits, punctuation, spaces, newlines, tabs, letters,
 *     emoji, placed at every offset around the scanner's 64 byte blocks;
 *   - texts around the language guess's 2048 byte sample, with a character
 *     across its end;
 *   - the evaluation texts of ../shared/eval/text/texts.jsonl, whole and
 *     cut at random places (when the file is found, LLM_EVAL_TEXTS);
 *   - bench/make_body.mjs style prompts of 1 and 16 KB.
 *
 * TOKENS_DIFF_SECONDS=N keeps generating random texts for N seconds
 * (fuzzing), TOKENS_DIFF_SEED=S changes the seed.  Every text is copied to
 * a heap buffer of exactly its length, so that a read past the end shows
 * under ASan or valgrind.
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/types.h>

/* the implementation of e28ee8b, under another name */

#define ngx_http_llm_estimate_tokens  tokens_ref_estimate

#include "ref/ngx_http_llm_tokens_e28ee8b.c"

#undef ngx_http_llm_estimate_tokens

/* the module's (ngx_http_llm_tokens.c, linked) */
size_t ngx_http_llm_estimate_tokens(const u_char *text, size_t len);

#include "ngx_http_llm_json.h"


#define TOKENS_DIFF_MAX  (1 << 16)


static int            diff_n;
static int            diff_failed;
static unsigned long  diff_texts;
static unsigned long  diff_bad;
static unsigned long  diff_seed = 28;


static void
diff_ok(int ok, const char *what)
{
    diff_n++;

    if (!ok) {
        diff_failed = 1;
    }

    printf("%sok %d - %s\n", ok ? "" : "not ", diff_n, what);
}


static unsigned
diff_rand(void)
{
    diff_seed = diff_seed * 6364136223846793005UL + 1442695040888963407UL;
    return (unsigned) (diff_seed >> 33);
}


/* both estimates of exactly len bytes in their own heap buffer; 0: differ */

static int
diff_same(const u_char *text, size_t len)
{
    size_t   i, now, ref;
    u_char  *p;

    p = malloc(len ? len : 1);

    if (p == NULL) {
        fprintf(stderr, "out of memory\n");
        exit(2);
    }

    memcpy(p, text, len);
    now = ngx_http_llm_estimate_tokens(p, len);
    ref = tokens_ref_estimate(p, len);
    free(p);

    diff_texts++;

    if (now == ref) {
        return 1;
    }

    if (diff_bad++ < 10) {
        printf("# %zu bytes: %zu tokens, e28ee8b %zu: \"", len, now, ref);

        for (i = 0; i < len && i < 300; i++) {
            if (text[i] >= 0x20 && text[i] < 0x7f && text[i] != '\\'
                && text[i] != '"')
            {
                putchar(text[i]);

            } else {
                printf("\\x%02x", text[i]);
            }
        }

        printf("\"\n");
    }

    return 0;
}


/* the text, every prefix and every suffix (of a long one, 256 of each) */

static int
diff_cuts(const u_char *text, size_t len)
{
    int     good;
    size_t  k, step;

    good = diff_same(text, len);
    step = (len > 256) ? len / 256 : 1;

    for (k = 0; k < len; k += step) {
        good &= diff_same(text, k);
        good &= diff_same(text + k, len - k);
    }

    return good;
}


static size_t
diff_utf8(u_char *p, uint32_t cp)
{
    if (cp < 0x80) {
        p[0] = (u_char) cp;
        return 1;
    }

    if (cp < 0x800) {
        p[0] = (u_char) (0xc0 | (cp >> 6));
        p[1] = (u_char) (0x80 | (cp & 0x3f));
        return 2;
    }

    if (cp < 0x10000) {
        p[0] = (u_char) (0xe0 | (cp >> 12));
        p[1] = (u_char) (0x80 | ((cp >> 6) & 0x3f));
        p[2] = (u_char) (0x80 | (cp & 0x3f));
        return 3;
    }

    p[0] = (u_char) (0xf0 | (cp >> 18));
    p[1] = (u_char) (0x80 | ((cp >> 12) & 0x3f));
    p[2] = (u_char) (0x80 | ((cp >> 6) & 0x3f));
    p[3] = (u_char) (0x80 | (cp & 0x3f));
    return 4;
}


/* pieces the random texts are made of */

static const char  *diff_alphabet[] = {
    "a", "e", "s", "t", "word", "the", "Hello", "HTTP", "WORDword", "McDo",
    "x", "Z", "I", "ABCDEFGHIJKLMNOPQRSTUVWXYZABCD", "HTTPServer", "iPhone",
    "abcdefghijklmnopqrstuvwxyzabcdefg", "0", "7", "42", "12345", " ", " ",
    " ", " ", " ", "  ", "\t", "\n", "\r\n", "\n\n", "\v", "\f",
    "                   ", ".", ",", ", ", ". ", "!", "?", "\"", "'", "'s",
    "'S", "'t", "'re", "'VE", "'m", "'ll", "'d", "'x", "'", "-", "--",
    "...", "/", "//", "\n//", "/\n", "{", "}", "();", "<", ">", "=", "_",
    "`", "@", "#", "$", "%", "^", "&", "*", "[", "]", "|", "~", "\\", ":",
    ";", "\x7f", "\x01", "\x00", "!!!!!!!!!!!!!!!!!!!", "della", "yang",
    "and", "der", "nicht", "sebagai", "questo", "trong", "dengan",
    "\xc3\xa9", "\xc3\x89", "caf\xc3\xa9", "na\xc3\xafve", "\xc3\x9f",
    "\xc3\xb1", "\xc3\xa7", "\xc5\x82", "\xc4\x9f", "\xc6\xb0",
    "\xd0\x96", "\xd0\xb6", "\xd1\x96", "\xd1\x8b", "\xce\xa9",
    "\xe4\xb8\xad", "\xe3\x81\x82", "\xe3\x82\xa2", "\xea\xb0\x80",
    "\xd8\xb9", "\xd9\xbe", "\xd7\x90", "\xe0\xa4\x95", "\xe0\xa6\x95",
    "\xe0\xae\x95", "\xe0\xb8\x81", "\xe2\x80\x99", "\xe2\x80\x9c",
    "\xe2\x80\xa6", "\xe2\x82\xac", "\xc2\xa0", "\xe2\x80\xa8",
    "\xe3\x80\x80", "\xe3\x80\x82", "\xc2\xb2", "\xd9\xa3", "\xef\xbc\x91",
    "\xef\xbc\xa1", "\xf0\x9f\x98\x80", "\xcc\x81", "\xc2\xaa", "\xc4\x80",
    "\xc4\x81", "\xe1\xba\xa0", "\xff", "\xc3", "\xe4\xb8", "\xf0\x9f\x98",
    "\x80", "\xed\xa0\x80", "\xc0\x80", "\xf4\x90\x80\x80", "\xe0\x80\x80"
};

#define DIFF_ALPHABET_N  (sizeof(diff_alphabet) / sizeof(diff_alphabet[0]))


static size_t
diff_alphabet_text(u_char *buf, size_t max)
{
    size_t       len, k, n, m;
    const char  *piece;

    len = 0;
    n = 1 + diff_rand() % ((diff_rand() % 4) ? 40 : 400);

    for (k = 0; k < n; k++) {
        piece = diff_alphabet[diff_rand() % DIFF_ALPHABET_N];
        m = strlen(piece);

        if (m == 0) {
            m = 1;      /* "\x00" */
        }

        if (len + m > max) {
            break;
        }

        memcpy(buf + len, piece, m);
        len += m;
    }

    return len;
}


/* code point ranges of the scripts, for random valid UTF-8 */

static const uint32_t  diff_scripts[][2] = {
    { 0x0041, 0x007a }, { 0x00a0, 0x00ff }, { 0x0100, 0x024f },
    { 0x0250, 0x036f }, { 0x0370, 0x03ff }, { 0x0400, 0x052f },
    { 0x0530, 0x058f }, { 0x0590, 0x05ff }, { 0x0600, 0x06ff },
    { 0x0700, 0x08ff }, { 0x0900, 0x097f }, { 0x0980, 0x09ff },
    { 0x0a00, 0x0dff }, { 0x0b80, 0x0bff }, { 0x0e00, 0x0e7f },
    { 0x0e80, 0x109f }, { 0x10a0, 0x1fff }, { 0x1e00, 0x1eff },
    { 0x2000, 0x206f }, { 0x2070, 0x2bff }, { 0x2c00, 0x2fff },
    { 0x3000, 0x30ff }, { 0x3100, 0x33ff }, { 0x3400, 0x4dff },
    { 0x4e00, 0x9fff }, { 0xa000, 0xabff }, { 0xac00, 0xd7ff },
    { 0xe000, 0xfaff }, { 0xfb00, 0xffff }, { 0x10000, 0x1cfff },
    { 0x1d000, 0x1ffff }, { 0x1f300, 0x1f6ff }, { 0x20000, 0x32fff },
    { 0xe0000, 0x10ffff }
};

#define DIFF_SCRIPTS_N  (sizeof(diff_scripts) / sizeof(diff_scripts[0]))


static size_t
diff_script_text(u_char *buf, size_t max)
{
    size_t    len, n, k, s1, s2;
    uint32_t  cp;

    len = 0;
    n = 1 + diff_rand() % 300;
    s1 = diff_rand() % DIFF_SCRIPTS_N;
    s2 = diff_rand() % DIFF_SCRIPTS_N;

    for (k = 0; k < n && len + 4 <= max; k++) {

        switch (diff_rand() % 8) {

        case 0:
            buf[len++] = " \n\t.,'-0"[diff_rand() % 8];
            continue;

        case 1:
            buf[len++] = (u_char) (diff_rand() % 128);
            continue;

        case 2:
            cp = diff_scripts[s2][0]
                 + diff_rand() % (diff_scripts[s2][1] - diff_scripts[s2][0]
                                  + 1);
            break;

        default:
            cp = diff_scripts[s1][0]
                 + diff_rand() % (diff_scripts[s1][1] - diff_scripts[s1][0]
                                  + 1);
        }

        if (cp >= 0xd800 && cp <= 0xdfff) {
            cp = 0xfffd;
        }

        len += diff_utf8(buf + len, cp);
    }

    return len;
}


/* runs of one kind of character, and what they border */

static const char  *diff_runs[] = {
    "0", "9", ".", "!", "/", "-", "=", "'", " ", "\n", "\r", "\t", "a",
    "Z", "m", "Q", "\xf0\x9f\x98\x80", "\xe2\x80\x94", "\xc3\xa9",
    "\xe4\xb8\xad", "\xc2\xa0", "\xd9\xa3", "\xe3\x80\x80", "\x80"
};

#define DIFF_RUNS_N  (sizeof(diff_runs) / sizeof(diff_runs[0]))


static size_t
diff_run_text(u_char *buf, size_t max)
{
    size_t       len, n, k, i, m;
    const char  *c;

    len = 0;

    for (k = 0, n = 1 + diff_rand() % 5; k < n; k++) {
        c = diff_runs[diff_rand() % DIFF_RUNS_N];
        m = strlen(c);

        for (i = diff_rand() % ((diff_rand() % 3) ? 20 : 300);
             i > 0 && len + m <= max;
             i--)
        {
            memcpy(buf + len, c, m);
            len += m;
        }

        if (diff_rand() % 2 && len + 8 <= max) {
            memcpy(buf + len, (diff_rand() % 2) ? " word" : "Word, ", 5);
            len += 5;
        }
    }

    return len;
}


/* one random text of any kind */

static size_t
diff_any_text(u_char *buf, size_t max)
{
    size_t  len, k;

    switch (diff_rand() % 5) {

    case 0:
        len = diff_rand() % ((diff_rand() % 4) ? 80 : 3000);

        for (k = 0; k < len && k < max; k++) {
            buf[k] = (u_char) diff_rand();
        }

        return k;

    case 1:
        len = diff_rand() % ((diff_rand() % 4) ? 80 : 3000);

        for (k = 0; k < len && k < max; k++) {
            buf[k] = (diff_rand() % 8) ? diff_rand() % 128 : diff_rand() % 256;
        }

        return k;

    case 2:
        return diff_script_text(buf, max);

    case 3:
        return diff_run_text(buf, max);

    default:
        return diff_alphabet_text(buf, max);
    }
}


/*
 * texts TOKENS_DIFF_SECONDS found different once (minimized): an ASCII
 * word cut before a Latin-1 upper case letter ("m" of "mÀ") in an Arabic
 * text
 */

static const char  *diff_found[] = {
    "\xbf,\xdb\x96\xda\x88\xdb\x9b\x5c-\xdb\x97\xda\xa6\x98\xd9\x9f\xc3"
    "\x9a\xdb\xb8m\xc3\x80\xd9\x93\xbf\xc3\xbe\xa2\xda\xbb\xdb\xab\xd8"
    "\xac\xd8\xb2\xda\x9d\xd8\x93\xd9\xb9\xdb\x90\xd9\x90\xa2\xda\xda"
    "\x93\xae\xda\xd8",
    "\xd8\xb9\xd8\xb1\xd8\xa8\xd9\x8a \xd8\xb9\xd8\xb1\xd8\xa8\xd9\x8a "
    "\xd8\xb9\xd8\xb1\xd8\xa8\xd9\x8a \xd8\xb9\xd8\xb1\xd8\xa8\xd9\x8a "
    "mÀ wordÉ WORDé xÀy"
};


/* a bench/make_body.mjs prompt of about size bytes, as one text */

static size_t
diff_prompt(u_char *buf, size_t size)
{
    size_t        len, m;
    unsigned long k;
    const char   *piece;

    static const char  *words[] = {
        "the", "gateway", "streams", "tokens", "to", "the", "client",
        "while", "a", "budget", "is", "reserved", "and", "reconciled", "at",
        "the", "end", "of", "each", "request;", "nginx", "workers", "share",
        "state", "through", "memory", "zones,", "so", "a", "reload", "keeps",
        "every", "counter.", "Please", "summarize", "this", "document", "in",
        "three", "sentences", "and", "list", "any", "risks", "you", "see",
        "with", "the", "approach.", "caf\xc3\xa9", "na\xc3\xafve",
        "42\xe2\x82\xac", "\"quoted\"", "line\nbreak"
    };

    len = 0;
    k = 1;

    while (len < size) {
        k = (k * 1103515245 + 12345) % 2147483648UL;
        piece = words[(k >> 8) % (sizeof(words) / sizeof(words[0]))];
        m = strlen(piece);

        if (len) {
            buf[len++] = ' ';
        }

        memcpy(buf + len, piece, m);
        len += m;
    }

    return len;
}


/* the "text" members of a JSON lines file: whole and cut */

static size_t
diff_corpus(const char *path, int *good)
{
    char                        line[1 << 16];
    FILE                       *f;
    size_t                      n, len, k, a, b;
    u_char                     *text;
    uint32_t                    t;
    ngx_http_llm_json_t         json;
    ngx_http_llm_json_token_t   tokens[64];

    f = fopen(path, "r");

    if (f == NULL) {
        return 0;
    }

    n = 0;

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

        *good &= diff_same(text, len);

        for (k = 0; k < 16 && len > 1; k++) {
            a = diff_rand() % len;
            b = a + diff_rand() % (len - a + 1);
            *good &= diff_same(text + a, b - a);
            *good &= diff_same(text + a, len - a);
            *good &= diff_same(text, a);
        }

        n++;
        free(text);
    }

    fclose(f);

    return n;
}


int
main(void)
{
    int            good;
    char           what[160];
    u_char        *buf, *big;
    size_t         i, k, len, n, off;
    time_t         stop;
    const char    *env;
    unsigned long  rounds;

    static const char  *corpus[] = {
        "../shared/eval/text/texts.jsonl",
        "../../shared/eval/text/texts.jsonl",
        "/work/shared/eval/text/texts.jsonl"
    };

    env = getenv("TOKENS_DIFF_SEED");

    if (env != NULL) {
        diff_seed = strtoul(env, NULL, 10);
        printf("# seed %lu\n", diff_seed);
    }

    buf = malloc(TOKENS_DIFF_MAX);
    big = malloc(TOKENS_DIFF_MAX);

    if (buf == NULL || big == NULL) {
        return 2;
    }

    /* random texts of each kind, and every prefix and suffix of some */

    good = 1;

    for (i = 0; i < 30000; i++) {
        len = diff_alphabet_text(buf, 4096);
        good &= (i % 20 == 0) ? diff_cuts(buf, len) : diff_same(buf, len);
    }

    diff_ok(good, "30000 texts of random pieces, prefixes and suffixes: the "
                  "estimates of e28ee8b");

    good = 1;

    for (i = 0; i < 20000; i++) {
        len = diff_rand() % ((i % 8) ? 100 : 3000);

        for (k = 0; k < len; k++) {
            buf[k] = (i % 2 || diff_rand() % 8 == 0) ? diff_rand() % 256
                                                     : diff_rand() % 128;
        }

        good &= (i % 100 == 0) ? diff_cuts(buf, len) : diff_same(buf, len);
    }

    diff_ok(good, "20000 texts of random bytes: the same");

    good = 1;

    for (i = 0; i < 20000; i++) {
        len = diff_script_text(buf, 4096);
        good &= (i % 50 == 0) ? diff_cuts(buf, len) : diff_same(buf, len);
    }

    diff_ok(good, "20000 texts of random UTF-8 of every script: the same");

    good = 1;

    for (i = 0; i < 10000; i++) {
        len = diff_run_text(buf, 4096);
        good &= (i % 50 == 0) ? diff_cuts(buf, len) : diff_same(buf, len);
    }

    diff_ok(good, "10000 texts of long runs of digits, punctuation, spaces, "
                  "letters, emoji: the same");

    /* every run of every length at every offset around a 64 byte block */

    good = 1;

    for (i = 0; i < DIFF_RUNS_N; i++) {
        for (n = 1; n < 140; n++) {
            for (off = 0; off < 70; off += (n < 70) ? 1 : 7) {
                memset(big, 'a', off);
                len = off;

                for (k = 0; k < n; k++) {
                    memcpy(big + len, diff_runs[i], strlen(diff_runs[i]));
                    len += strlen(diff_runs[i]);
                }

                memcpy(big + len, " x, y", 5);
                good &= diff_same(big, len + 5);
                good &= diff_same(big, len);

                big[0] = ' ';
                good &= diff_same(big, len + 2);
            }
        }
    }

    diff_ok(good, "runs of 1 to 139 characters at offsets 0 to 69: the same");

    /* around the 2048 byte sample of the language guess */

    good = 1;

    for (i = 0; i < 3000; i++) {
        len = 1990 + diff_rand() % 120;
        n = 0;

        while (n < len) {
            n += diff_alphabet_text(big + n, TOKENS_DIFF_MAX - n);
        }

        for (k = 0; k < 3; k++) {
            off = 2040 + diff_rand() % 10;
            n = diff_utf8(big + off, (k == 0) ? 0xe9
                                     : (k == 1) ? 0x4e2d : 0x1f600);
            (void) n;
        }

        good &= diff_same(big, len);
    }

    diff_ok(good, "3000 texts around the language guess's 2048 byte sample: "
                  "the same");

    /* texts the fuzzing found */

    good = 1;

    for (i = 0; i < sizeof(diff_found) / sizeof(diff_found[0]); i++) {
        good &= diff_cuts((const u_char *) diff_found[i],
                          strlen(diff_found[i]));
    }

    diff_ok(good, "the texts fuzzing found, prefixes and suffixes: the same");

    /* prompts */

    good = 1;

    for (n = 1; n <= 16; n++) {
        len = diff_prompt(big, n * 1024);
        good &= diff_same(big, len);
        good &= diff_same(big + 7, len - 7);
    }

    len = diff_prompt(big, 16384);
    snprintf(what, sizeof(what), "bench/make_body.mjs prompts of 1 to 16 KB: "
             "the same (16 KB: %zu tokens)",
             ngx_http_llm_estimate_tokens(big, len));
    diff_ok(good && ngx_http_llm_estimate_tokens(big, len) > 2000, what);

    /* the evaluation texts */

    env = getenv("LLM_EVAL_TEXTS");
    n = 0;
    good = 1;

    if (env != NULL) {
        n = diff_corpus(env, &good);

    } else {
        for (i = 0; i < sizeof(corpus) / sizeof(corpus[0]) && n == 0; i++) {
            n = diff_corpus(corpus[i], &good);
        }
    }

    if (n == 0) {
        printf("# ../shared/eval/text/texts.jsonl not found (LLM_EVAL_TEXTS): "
               "the evaluation texts are not compared\n");

    } else {
        snprintf(what, sizeof(what), "%zu evaluation texts, whole and cut: "
                 "the same", n);
        diff_ok(good && n > 1000, what);
    }

    /* fuzzing, on demand */

    env = getenv("TOKENS_DIFF_SECONDS");

    if (env != NULL) {
        stop = time(NULL) + atol(env);
        good = 1;
        rounds = 0;

        while (time(NULL) < stop) {
            for (i = 0; i < 1000; i++) {
                len = diff_any_text(buf, 4096);
                good &= (i == 0) ? diff_cuts(buf, len) : diff_same(buf, len);
            }

            rounds++;
        }

        snprintf(what, sizeof(what), "fuzzing for %s s, %lu000 random texts: "
                 "the same", env, rounds);
        diff_ok(good, what);
    }

    printf("# %lu texts compared, %lu differ\n", diff_texts, diff_bad);

    free(buf);
    free(big);

    printf("1..%d\n", diff_n);

    return diff_failed ? 1 : 0;
}
