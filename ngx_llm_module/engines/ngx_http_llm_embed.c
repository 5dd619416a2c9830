
/*
 * Copyright (C) ngx_llm_module authors
 *
 * The builtin embedder of the semantic cache (see ngx_http_llm_embed.h).
 *
 * The text is split into words: ASCII letters and digits lowercased, bytes
 * of UTF-8 sequences kept, apostrophes dropped, anything else a separator.
 * Filler words ("please", "can you", "the") are left out, as are negations,
 * which go to the guard instead; a plural "s" is removed.  Each remaining
 * word adds three kinds of features, hashed into the vector with a sign
 * (the "hashing trick"):
 *
 *   - the word itself;
 *   - the character trigrams of "#word#", which make a typo cost only the
 *     trigrams it touches;
 *   - the pair it makes with the next word, which tells "celsius to
 *     fahrenheit" from "fahrenheit to celsius" while a changed word order
 *     elsewhere costs little.
 *
 * The vector is normalized to its largest component and rounded to signed
 * bytes; the similarity of two texts is the cosine of their vectors.
 *
 * The guard is a hash of the number of negations (none, one, two or more),
 * the numbers of the text (in order of their value), words that have an
 * opposite (in a list), and the count of words with a negating prefix
 * (un-, dis-, non-): texts with different guards are never similar.
 */


#include <stdlib.h>
#include <string.h>

#include "ngx_http_llm_embed.h"


#define NGX_HTTP_LLM_EMBED_WORDS    256     /* words of a text, at most */
#define NGX_HTTP_LLM_EMBED_WORD     32      /* bytes of a word kept */
#define NGX_HTTP_LLM_EMBED_NUMBERS  16
#define NGX_HTTP_LLM_EMBED_PREFIX   4       /* letters of a word in pairs */

/* feature weights, chosen on the evaluation set (docs/cache.md) */
#if (NGX_HTTP_LLM_EMBED_TUNE)
double  ngx_http_llm_embed_w[4] = { 0.4, 1.4, 1.2, 2.0 };
#define NGX_HTTP_LLM_EMBED_W_WORD     ngx_http_llm_embed_w[0]
#define NGX_HTTP_LLM_EMBED_W_TRIGRAM  ngx_http_llm_embed_w[1]
#define NGX_HTTP_LLM_EMBED_W_PAIR     ngx_http_llm_embed_w[2]
#define NGX_HTTP_LLM_EMBED_W_DIRECTED ngx_http_llm_embed_w[3]
#else
#define NGX_HTTP_LLM_EMBED_W_WORD     0.4
#define NGX_HTTP_LLM_EMBED_W_TRIGRAM  1.4
#define NGX_HTTP_LLM_EMBED_W_PAIR     1.2
#define NGX_HTTP_LLM_EMBED_W_DIRECTED 2.0
#endif


typedef struct {
    const char                 *word;
    unsigned                    len:8;
    unsigned                    bit:8;
} ngx_http_llm_embed_word_t;


/* filler: words that change the wording, not the question */

static const char  *ngx_http_llm_embed_filler[] = {
    "a", "an", "the", "is", "are", "was", "were", "be", "been", "being", "am",
    "do", "does", "did", "i", "me", "my", "mine", "you", "your", "we", "us",
    "our", "it", "its", "of", "in", "on", "at", "to", "for", "with", "by",
    "about", "please", "pls", "plz", "kindly", "can", "could", "would",
    "will", "should", "shall", "may", "might", "tell", "explain", "know",
    "want", "wanna", "like", "just", "hey", "hi", "hello", "so", "some",
    "any", "and", "or", "there", "that", "this", "these", "those", "give",
    "show", "help", "need", "let", "lets", "quick", "quickly", "briefly",
    "simply", "question", "thanks", "thank", "im", "ive", "id", "youre",
    "get", "got",
    "also", "really", "actually", "basically", "exactly", "okay", "ok",
    "um", "uh", "well", "then", "have", "has", "had", "if",
    "as", "into", "from", "one", "way", "ways", "thing", "things",
    NULL
};


/*
 * Question words: features like other words, but in the comparison of
 * words a text without any matches one with them ("capital of france").
 */

static const char  *ngx_http_llm_embed_question[] = {
    "what", "how", "who", "whom", "whose", "where", "when", "why", "which",
    NULL
};


static const char  *ngx_http_llm_embed_negations[] = {
    "not", "no", "never", "none", "nothing", "nobody", "nowhere", "neither",
    "nor", "without", "cannot", "cant", "dont", "doesnt", "didnt", "isnt",
    "arent", "wasnt", "werent", "wont", "wouldnt", "shouldnt", "couldnt",
    "hasnt", "havent", "hadnt", "aint", "mustnt", "neednt", "shant",
    NULL
};


/* words with an opposite: a word and its opposite have different bits */

static const char  *ngx_http_llm_embed_polar[] = {
    "increase", "decrease", "more", "less", "fewer", "max", "min",
    "maximum", "minimum", "before", "after", "first", "last", "best",
    "worst", "buy", "sell", "add", "remove", "delete", "enable", "disable",
    "start", "stop", "open", "close", "true", "false", "above", "below",
    "up", "down", "left", "right", "north", "south", "east", "west",
    "high", "low", "higher", "lower", "highest", "lowest", "big", "small",
    "bigger", "smaller", "biggest", "smallest", "large", "largest", "fast",
    "slow", "faster", "slower", "fastest", "slowest", "positive",
    "negative", "plus", "minus", "import", "export", "upload", "download",
    "encrypt", "decrypt", "compress", "decompress", "push", "pull", "win",
    "lose", "accept", "reject", "allow", "deny", "include", "exclude",
    "input", "output", "inside", "outside", "hot", "cold", "old", "new",
    "older", "newer", "oldest", "newest", "ascending", "descending",
    "install", "uninstall", "lock", "unlock", "encode", "decode", "good",
    "bad", "better", "worse", "early", "late", "earlier", "later", "long",
    "short", "longer", "shorter", "rich", "poor", "safe", "dangerous",
    "legal", "illegal", "always", "sometimes", "all", "each", "most",
    "least", "pro", "con", "pros", "cons", "advantage", "disadvantage",
    "advantages", "disadvantages", "benefit", "risk", "benefits", "risks",
    "cause", "effect", "causes", "effects", "love", "hate", "dislike",
    "agree", "disagree", "male", "female", "men", "women",
    "boy", "girl", "day", "night", "summer", "winter", "spring", "autumn",
    "fall", "morning", "evening", "yesterday", "tomorrow", "today",
    "past", "future", "import", "send", "receive", "client", "server",
    "read", "write", "parent", "child",
    "internal", "external", "public", "private", "sync", "async",
    "synchronous", "asynchronous", "celsius", "fahrenheit", "kelvin",
    "km", "mile", "miles", "kg", "pound", "pounds", "meter", "meters",
    "feet", "foot", "inch", "inches", "cm", "dollar", "dollars", "euro",
    "euros", "usd", "eur", "gbp", "jpy",
    NULL
};


/*
 * Antonyms in pairs (a word, its opposite): two texts "flip" when one has
 * a word of a pair and the other its opposite only; measured as a part of
 * the guard by the evaluation (docs/cache.md).  Each word once.
 */

static const char  *ngx_http_llm_embed_antonyms[] = {
    "increase", "decrease", "more", "less", "max", "min",
    "maximum", "minimum", "before", "after", "first", "last",
    "best", "worst", "buy", "sell", "add", "remove", "enable", "disable",
    "start", "stop", "open", "close", "true", "false", "above", "below",
    "up", "down", "left", "right", "north", "south", "east", "west",
    "high", "low", "higher", "lower", "highest", "lowest", "big", "small",
    "bigger", "smaller", "biggest", "smallest", "fast", "slow",
    "faster", "slower", "fastest", "slowest", "positive", "negative",
    "plus", "minus", "import", "export", "upload", "download",
    "encrypt", "decrypt", "compress", "decompress", "push", "pull",
    "win", "lose", "accept", "reject", "allow", "deny", "include", "exclude",
    "input", "output", "inside", "outside", "hot", "cold", "old", "new",
    "older", "newer", "oldest", "newest", "ascending", "descending",
    "install", "uninstall", "lock", "unlock", "encode", "decode",
    "good", "bad", "better", "worse", "early", "late", "earlier", "later",
    "long", "short", "longer", "shorter", "rich", "poor", "safe", "unsafe",
    "legal", "illegal", "advantage", "disadvantage", "advantages",
    "disadvantages", "love", "hate", "like", "dislike", "agree", "disagree",
    "male", "female", "men", "women", "boy", "girl", "day", "night",
    "summer", "winter", "morning", "evening", "yesterday", "tomorrow",
    "past", "future", "send", "receive", "client", "server", "read", "write",
    "internal", "external", "public", "private", "sync", "async",
    "celsius", "fahrenheit", "cheap", "expensive",
    "cheaper", "costlier", "possible", "impossible", "valid", "invalid",
    "lowercase", "uppercase", "inner", "outer",
    NULL
};


/*
 * Words that mark the role of the next one: in the order of a text's words
 * (ngx_http_llm_embed_swapped()) they stay, as markers.
 */

static const char  *ngx_http_llm_embed_relations[] = {
    "from", "to", "by", "of", "than", "vs", "versus", "into", "onto", "for",
    "between", "against", "at", "in", "on", "with", "as", "over", "toward",
    "towards",
    NULL
};


/* a word before and after these: "celsius to fahrenheit" has a direction */

static const char  *ngx_http_llm_embed_directed[] = {
    "to", "from", "into", "onto", "than", "vs", "versus", "over", "toward",
    "towards", "for",
    NULL
};


/*
 * Han, kana and hangul: each character is a word (the characters and, as
 * pairs of words, their bigrams are the features); 0 keeps the runs of
 * them as one word, as before (the evaluation compares the two).
 */
#if (NGX_HTTP_LLM_EMBED_EVAL)
int  ngx_http_llm_embed_cjk = 1;
#else
#define ngx_http_llm_embed_cjk  1
#endif

#define ngx_http_llm_embed_memcpy(d, s, n)  (void) memcpy(d, s, n)

/* the check of swapped words: 1, both directions; 2, neighbours too */
#if (NGX_HTTP_LLM_EMBED_EVAL)
int  ngx_http_llm_embed_swap_mode = 1;
#else
#define ngx_http_llm_embed_swap_mode  1
#endif


static size_t ngx_http_llm_embed_utf8(const u_char *p, const u_char *last,
    uint32_t *cp);
static uint32_t ngx_http_llm_embed_script_of(uint32_t c);
static int ngx_http_llm_embed_in(const char **list, const u_char *w,
    size_t len);
static int ngx_http_llm_embed_vowel(const u_char *w, size_t len);
static int ngx_http_llm_embed_covered(const ngx_http_llm_embed_t *a,
    const ngx_http_llm_embed_t *b);
static int ngx_http_llm_embed_near(const u_char *a, size_t al,
    const u_char *b, size_t bl);
static int ngx_http_llm_embed_index(const char **list, const u_char *w,
    size_t len);
static void ngx_http_llm_embed_add(double *x, uint32_t h, double weight);
static uint32_t ngx_http_llm_embed_hash(uint32_t h, const u_char *p,
    size_t len);
static int ngx_http_llm_embed_cmp(const void *a, const void *b);
static void ngx_http_llm_embed_order_add(ngx_http_llm_embed_order_t *o,
    const u_char *w, size_t wl, unsigned rel);
static int ngx_http_llm_embed_order_find(const ngx_http_llm_embed_order_t *o,
    uint16_t h);
static void ngx_http_llm_embed_name_add(ngx_http_llm_embed_order_t *o,
    const u_char *w, size_t wl);
static int ngx_http_llm_embed_names_in(const ngx_http_llm_embed_order_t *a,
    const ngx_http_llm_embed_order_t *b);
static unsigned ngx_http_llm_embed_popcount(uint64_t x);
static int ngx_http_llm_embed_swapped_dir(
    const ngx_http_llm_embed_order_t *a, const ngx_http_llm_embed_order_t *b,
    int dir);


int
ngx_http_llm_embed(const u_char *text, size_t len, ngx_http_llm_embed_t *e)
{
    return ngx_http_llm_embed_parts(text, len, e, NULL);
}


int
ngx_http_llm_embed_parts(const u_char *text, size_t len,
    ngx_http_llm_embed_t *e, ngx_http_llm_embed_guard_t *g)
{
    u_char         c, *w, buf[NGX_HTTP_LLM_EMBED_WORD + 2];
    size_t         n, wl, i, k, words, nnum, prev_len, ntri, npre;
    double         x[NGX_HTTP_LLM_EMBED_DIM], max, scale, wt;
    uint32_t       h, prev, num[NGX_HTTP_LLM_EMBED_NUMBERS], guard, dir,
                   dir_prev, pre[NGX_HTTP_LLM_EMBED_WORDS];
    uint64_t       polar[4], flip[2][2];
    ngx_http_llm_embed_order_t  order;
    const u_char  *p, *last;
    unsigned       negations, prefixed, digits, dir_pending, capital,
                   ascii, sentence, letters, capitals, rel, question,
                   pronoun;
    int            bit;
    long           q;
    uint32_t       cp, script;

    memset(x, 0, sizeof(x));
    memset(polar, 0, sizeof(polar));

    memset(flip, 0, sizeof(flip));
    order.n = 0;
    order.bag = 0;
    order.nnames = 0;
    order.caps = 0;

    sentence = 1;
    letters = 0;
    capitals = 0;

    e->words_len = 0;

    negations = 0;
    prefixed = 0;
    nnum = 0;
    npre = 0;
    words = 0;
    prev = 0;
    prev_len = 0;
    dir = 0;
    dir_prev = 0;
    dir_pending = 0;

    p = text;
    last = text + len;

    while (p < last && words < NGX_HTTP_LLM_EMBED_WORDS) {

        /* the next word, lowercased, apostrophes dropped, into buf + 1 */

        w = buf + 1;
        wl = 0;
        digits = 0;
        capital = 0;
        pronoun = 0;
        ascii = 1;

        while (p < last) {
            c = *p;

            if (c >= 'A' && c <= 'Z') {
                c |= 0x20;

            } else if (c == '\'' && wl) {
                /* "I'm", "I've", "I'll", "I'd": the pronoun, not a name */
                pronoun |= (wl == 1 && w[0] == 'i');
                p++;
                continue;

            } else if (c == 0xe2 && last - p >= 3 && p[1] == 0x80
                       && p[2] == 0x99 && wl)
            {
                /* a typographic apostrophe, U+2019 */
                pronoun |= (wl == 1 && w[0] == 'i');
                p += 3;
                continue;

            } else if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')
                         || c >= 0x80))
            {
                if (wl) {
                    break;
                }

                if (c == '.' || c == '?' || c == '!' || c == ':' || c == ';') {
                    sentence = 1;
                }

                p++;
                continue;

            } else if (c >= 0xe1 && ngx_http_llm_embed_cjk
                       && (n = ngx_http_llm_embed_utf8(p, last, &cp)) != 0)
            {
                script = ngx_http_llm_embed_script_of(cp);

                if (script & (NGX_HTTP_LLM_SCRIPT_HAN
                              |NGX_HTTP_LLM_SCRIPT_KANA
                              |NGX_HTTP_LLM_SCRIPT_HANGUL))
                {
                    /* a character of these scripts is a word by itself */

                    if (wl == 0) {
                        ngx_http_llm_embed_memcpy(w, p, n);
                        wl = n;
                        p += n;
                        ascii = 0;
                    }

                    break;
                }

                if (script == 0 && ((cp >= 0x3000 && cp <= 0x303f)
                                    || (cp >= 0xff01 && cp <= 0xff0f)
                                    || (cp >= 0xff1a && cp <= 0xff20)
                                    || (cp >= 0xff5b && cp <= 0xff65)))
                {
                    /* CJK and full width punctuation: a separator */

                    if (wl) {
                        break;
                    }

                    p += n;
                    continue;
                }
            }

            if (c >= '0' && c <= '9') {
                digits = 1;

            } else if (c >= 0x80) {
                ascii = 0;
            }

            if (wl == 0) {
                capital = (*p >= 'A' && *p <= 'Z');
            }

            if (wl < NGX_HTTP_LLM_EMBED_WORD) {
                w[wl++] = c;
            }

            p++;
        }

        if (wl == 0) {
            break;
        }

        /*
         * names: capitalized, not at the start of a sentence, not "I" nor
         * its contractions ("I'm" is "im" here), which are not counted
         * among the capitalized words either
         */

        pronoun |= (wl == 1 && w[0] == 'i');

        if (!(w[0] >= '0' && w[0] <= '9')) {
            if (letters++ && capital && !pronoun) {
                capitals++;
            }

            if (capital && !sentence && !pronoun) {
                ngx_http_llm_embed_name_add(&order, w, wl);
            }

            sentence = 0;
        }

        if (ngx_http_llm_embed_in(ngx_http_llm_embed_negations, w, wl)) {
            negations++;
            continue;
        }

        if (wl > 3 && w[wl - 1] == 's' && w[0] == 'w'
            && ngx_http_llm_embed_in(ngx_http_llm_embed_question, w, wl - 1))
        {
            /* "what's", "where's" */
            wl--;

        } else if (wl == 4 && memcmp(w, "hows", 4) == 0) {
            wl--;
        }

        rel = ascii
              && ngx_http_llm_embed_in(ngx_http_llm_embed_relations, w, wl);

        if (rel) {
            ngx_http_llm_embed_order_add(&order, w, wl, 1);
        }

        if (ngx_http_llm_embed_in(ngx_http_llm_embed_directed, w, wl)) {
            dir = ngx_http_llm_embed_hash(0x811c9dc5u ^ 'd', w, wl);
            dir_prev = prev_len ? prev : 0;
            dir_pending = 1;
            continue;
        }

        bit = ngx_http_llm_embed_index(ngx_http_llm_embed_polar, w, wl);

        if (bit >= 0 && bit < (int) (sizeof(polar) * 8)) {
            polar[bit / 64] |= (uint64_t) 1 << (bit % 64);
        }

        bit = ngx_http_llm_embed_index(ngx_http_llm_embed_antonyms, w, wl);

        if (bit >= 0 && bit / 2 < 128) {
            flip[bit % 2][bit / 2 / 64] |= (uint64_t) 1 << (bit / 2 % 64);
        }

        if (ngx_http_llm_embed_in(ngx_http_llm_embed_filler, w, wl)) {
            continue;
        }

        if (wl >= 6
            && ((w[0] == 'u' && w[1] == 'n')
                || (w[0] == 'd' && w[1] == 'i' && w[2] == 's')
                || (w[0] == 'n' && w[1] == 'o' && w[2] == 'n')))
        {
            prefixed++;
        }

        if (digits) {
            if (nnum < NGX_HTTP_LLM_EMBED_NUMBERS) {
                num[nnum++] = ngx_http_llm_embed_hash(2166136261u, w, wl);
            }

        } else if (wl >= 5 && w[wl - 1] == 's' && w[wl - 2] >= 'a'
                   && w[wl - 2] <= 'z' && w[wl - 2] != 's' && w[wl - 2] != 'u'
                   && w[wl - 2] != 'i' && ngx_http_llm_embed_vowel(w, wl - 1))
        {
            /* a plural (not an abbreviation such as "https") */
            wl--;
        }

        words++;

        /*
         * The order of words in ASCII letters only: languages that mark
         * roles by case (Russian, Polish) or write no spaces (Chinese,
         * Japanese) say the same in another order.
         */

        question = ngx_http_llm_embed_in(ngx_http_llm_embed_question, w, wl);

        if (ascii && !rel && !question) {
            ngx_http_llm_embed_order_add(&order, w, wl, 0);
        }

        /* the word, kept for the comparison of words */

        if (e->words_len + wl + 2 > NGX_HTTP_LLM_EMBED_TEXT) {
            e->words_len = NGX_HTTP_LLM_EMBED_TEXT + 1;

        } else {
            if (question) {
                /* marked: "?what" */
                e->words[e->words_len++] = '?';
            }

            memcpy(e->words + e->words_len, w, wl);
            e->words_len += wl;
            e->words[e->words_len++] = ' ';
        }

        if (!question) {
            pre[npre++] = ngx_http_llm_embed_hash(2166136261u, w,
                                                  wl < 3 ? wl : 3);
        }

        /* its features */

        h = ngx_http_llm_embed_hash(0x811c9dc5u ^ 'w', w, wl);
        ngx_http_llm_embed_add(x, h, NGX_HTTP_LLM_EMBED_W_WORD);

        /*
         * The pair with the word before it, and the words on both sides of
         * a direction, by their first four letters and their last: a typo
         * in between leaves them as they are.
         */

        h = ngx_http_llm_embed_hash(0x811c9dc5u ^ 'p', w,
                                    wl < NGX_HTTP_LLM_EMBED_PREFIX
                                    ? wl : NGX_HTTP_LLM_EMBED_PREFIX);
        h = (h ^ w[wl - 1]) * 16777619;

        if (prev_len) {
            ngx_http_llm_embed_add(x, (prev * 16777619) ^ h ^ 0x9e3779b9,
                                   NGX_HTTP_LLM_EMBED_W_PAIR);
        }

        if (dir_pending) {
            if (dir_prev) {
                ngx_http_llm_embed_add(x, ((dir_prev * 16777619) ^ dir)
                                          * 16777619 ^ h,
                                       NGX_HTTP_LLM_EMBED_W_DIRECTED);
            }

            dir_pending = 0;
        }

        prev = h;
        prev_len = wl;

        /* the trigrams of "#word#" */

        buf[0] = '#';
        w[wl] = '#';
        n = wl + 2;
        ntri = n - 2;

        wt = NGX_HTTP_LLM_EMBED_W_TRIGRAM / ngx_http_llm_embed_sqrt(ntri);

        for (i = 0; i + 3 <= n; i++) {
            h = ngx_http_llm_embed_hash(0x811c9dc5u ^ 't', buf + i, 3);
            ngx_http_llm_embed_add(x, h, wt);
        }
    }

    /* the guard */

    qsort(num, nnum, sizeof(uint32_t), ngx_http_llm_embed_cmp);

    guard = 2166136261u;
    guard = (guard ^ (negations > 2 ? 2 : negations)) * 16777619;
    guard = (guard ^ (prefixed > 3 ? 3 : prefixed)) * 16777619;
    guard = ngx_http_llm_embed_hash(guard, (u_char *) polar, sizeof(polar));
    guard = ngx_http_llm_embed_hash(guard, (u_char *) num,
                                    nnum * sizeof(uint32_t));

    e->guard = guard;

    /* the order: which words are there once */

    for (i = 0; i < order.n; i++) {
        for (k = 0; k < order.n; k++) {
            if (k != i && order.w[k] == order.w[i]) {
                break;
            }
        }

        if (k == order.n) {
            order.w[i] |= NGX_HTTP_LLM_EMBED_ONCE;
        }
    }

    if (capitals >= 2
        && capitals * 10 > (letters > 1 ? letters - 1 : 0) * 3)
    {
        /*
         * more than 30% of the words after the first, two at least: not
         * names (a short text with one name, "Who wrote Hamlet?", is not
         * a text that capitalizes its nouns)
         */
        order.caps = 1;
    }

    e->order = order;

    if (g) {
        memcpy(g->polar, polar, sizeof(polar));
        memcpy(g->flip.side, flip, sizeof(flip));
        g->numbers = nnum ? ngx_http_llm_embed_hash(2166136261u, (u_char *) num,
                                                    nnum * sizeof(uint32_t))
                          : 0;
        g->nnum = (uint8_t) nnum;
        g->negations = negations > 2 ? 2 : negations;
        g->prefixed = prefixed > 3 ? 3 : prefixed;
        g->flip.order = order;

    }

    /* the signature: the set of the words' first letters */

    qsort(pre, npre, sizeof(uint32_t), ngx_http_llm_embed_cmp);

    h = 2166136261u;

    for (i = 0; i < npre; i++) {
        if (i == 0 || pre[i] != pre[i - 1]) {
            h = ngx_http_llm_embed_hash(h, (u_char *) &pre[i],
                                        sizeof(uint32_t));
        }
    }

    e->signature = h;

    /* normalized to the largest component, rounded to signed bytes */

    max = 0;

    for (k = 0; k < NGX_HTTP_LLM_EMBED_DIM; k++) {
        if (x[k] > max) {
            max = x[k];

        } else if (-x[k] > max) {
            max = -x[k];
        }
    }

    e->norm2 = 0;

    if (max == 0 || e->words_len > NGX_HTTP_LLM_EMBED_TEXT) {
        memset(e->v, 0, sizeof(e->v));
        e->words_len = 0;
        return -1;
    }

    scale = 127 / max;

    for (k = 0; k < NGX_HTTP_LLM_EMBED_DIM; k++) {
        q = (long) (x[k] * scale + (x[k] < 0 ? -0.5 : 0.5));
        e->v[k] = (int8_t) q;
        e->norm2 += (uint32_t) (q * q);
    }

    return 0;
}


double
ngx_http_llm_embed_similarity(const ngx_http_llm_embed_t *a,
    const ngx_http_llm_embed_t *b)
{
    double  cos;

    cos = ngx_http_llm_embed_cosine(a, b);

    if (cos > 0 && !ngx_http_llm_embed_same_words(a, b)) {
        return 0;
    }

    return cos;
}


int
ngx_http_llm_embed_same_words(const ngx_http_llm_embed_t *a,
    const ngx_http_llm_embed_t *b)
{
    return ngx_http_llm_embed_covered(a, b)
           && ngx_http_llm_embed_covered(b, a)
           && !ngx_http_llm_embed_swapped(&a->order, &b->order);
}


/*
 * Every word of a matches a word of b; a question word ("?what") of a may
 * stay unmatched when b has none.
 */

static int
ngx_http_llm_embed_covered(const ngx_http_llm_embed_t *a,
    const ngx_http_llm_embed_t *b)
{
    int            bq;
    const u_char  *p, *pe, *q, *qe, *alast, *blast;

    alast = a->words + a->words_len;
    blast = b->words + b->words_len;

    bq = (memchr(b->words, '?', b->words_len) != NULL);

    for (p = a->words; p < alast; p = pe + 1) {
        pe = memchr(p, ' ', alast - p);
        if (pe == NULL) {
            pe = alast;
        }

        if (*p == '?' && !bq) {
            continue;
        }

        for (q = b->words; q < blast; q = qe + 1) {
            qe = memchr(q, ' ', blast - q);
            if (qe == NULL) {
                qe = blast;
            }

            if (ngx_http_llm_embed_near(p, pe - p, q, qe - q)) {
                break;
            }
        }

        if (q >= blast) {
            return 0;
        }
    }

    return 1;
}


/*
 * Two words are near when they are equal, or, for words of 5 letters or
 * more, at most one edit apart (a letter added, removed, replaced, or two
 * neighbours swapped), two for words of 8 letters or more.
 */

static int
ngx_http_llm_embed_near(const u_char *a, size_t al, const u_char *b,
    size_t bl)
{
    size_t    i, j, max, lo, hi;
    unsigned  d[NGX_HTTP_LLM_EMBED_WORD + 1][NGX_HTTP_LLM_EMBED_WORD + 1];
    unsigned  c, best;

    if (al == bl && memcmp(a, b, al) == 0) {
        return 1;
    }

    i = (al < bl) ? al : bl;

    if (i < 5) {
        return 0;
    }

    max = (i >= 8) ? 2 : 1;

    if ((al > bl ? al - bl : bl - al) > max) {
        return 0;
    }

    /* optimal string alignment distance, in a band of width max */

    for (i = 0; i <= al; i++) {
        for (j = 0; j <= bl; j++) {
            d[i][j] = NGX_HTTP_LLM_EMBED_WORD * 2;
        }
    }

    for (i = 0; i <= al; i++) {
        d[i][0] = i;
    }

    for (j = 0; j <= bl; j++) {
        d[0][j] = j;
    }

    for (i = 1; i <= al; i++) {
        lo = (i > max) ? i - max : 1;
        hi = (i + max < bl) ? i + max : bl;
        best = NGX_HTTP_LLM_EMBED_WORD * 2;

        for (j = lo; j <= hi; j++) {
            c = (a[i - 1] == b[j - 1]) ? 0 : 1;

            d[i][j] = d[i - 1][j - 1] + c;

            if (d[i - 1][j] + 1 < d[i][j]) {
                d[i][j] = d[i - 1][j] + 1;
            }

            if (d[i][j - 1] + 1 < d[i][j]) {
                d[i][j] = d[i][j - 1] + 1;
            }

            if (i > 1 && j > 1 && a[i - 1] == b[j - 2]
                && a[i - 2] == b[j - 1] && d[i - 2][j - 2] + 1 < d[i][j])
            {
                d[i][j] = d[i - 2][j - 2] + 1;
            }

            if (d[i][j] < best) {
                best = d[i][j];
            }
        }

        if (best > max) {
            return 0;
        }
    }

    return d[al][bl] <= max;
}


double
ngx_http_llm_embed_cosine(const ngx_http_llm_embed_t *a,
    const ngx_http_llm_embed_t *b)
{
    int32_t  dot;
    size_t   k;

    if (a->guard != b->guard || a->norm2 == 0 || b->norm2 == 0) {
        return 0;
    }

    dot = 0;

    for (k = 0; k < NGX_HTTP_LLM_EMBED_DIM; k++) {
        dot += (int32_t) a->v[k] * b->v[k];
    }

    if (dot <= 0) {
        return 0;
    }

    return dot / ngx_http_llm_embed_sqrt((double) a->norm2 * b->norm2);
}


static int
ngx_http_llm_embed_in(const char **list, const u_char *w, size_t len)
{
    return ngx_http_llm_embed_index(list, w, len) >= 0;
}


/* the square root by Newton's method: no libm in an nginx module */

double
ngx_http_llm_embed_cosine_i8(const int8_t *a, uint32_t a_norm2,
    const int8_t *b, uint32_t b_norm2, size_t dim, double threshold)
{
    size_t   i, k;
    double   n2;
    int32_t  dot, acc[16];

    if (a_norm2 == 0 || b_norm2 == 0 || dim > 65535) {
        return 0;
    }

    /*
     * 65535 * 128 * 128 fits in 32 bits.  Blocks of 16 with a fixed count:
     * compilers vectorize them at -O2, which the loop over dim is not.
     */

    memset(acc, 0, sizeof(acc));

    for (i = 0; i + 16 <= dim; i += 16) {
        for (k = 0; k < 16; k++) {
            acc[k] += (int32_t) a[i + k] * b[i + k];
        }
    }

    dot = 0;

    for (k = 0; k < 16; k++) {
        dot += acc[k];
    }

    for ( /* void */ ; i < dim; i++) {
        dot += (int32_t) a[i] * b[i];
    }

    n2 = (double) a_norm2 * b_norm2;

    if (dot <= 0 || (double) dot * dot < threshold * threshold * n2) {
        return 0;
    }

    return dot / ngx_http_llm_embed_sqrt(n2);
}


double
ngx_http_llm_embed_sqrt(double x)
{
    int     i;
    double  g, n;

    if (x <= 0) {
        return 0;
    }

    g = (x > 1) ? x : 1;

    for (i = 0; i < 100; i++) {
        n = (g + x / g) / 2;

        if (n >= g) {
            break;
        }

        g = n;
    }

    return g;
}


static int
ngx_http_llm_embed_vowel(const u_char *w, size_t len)
{
    size_t  i;

    for (i = 0; i < len; i++) {
        switch (w[i]) {
        case 'a': case 'e': case 'i': case 'o': case 'u': case 'y':
            return 1;
        }
    }

    return 0;
}


/*
 * The index of a word in one of the lists, or -1: an open-addressing table
 * of every list's words, built at the first call (the lists never change).
 */

#define NGX_HTTP_LLM_EMBED_SLOTS  2048

typedef struct {
    const char                **list;
    const char                 *word;
    int                         index;
} ngx_http_llm_embed_slot_t;

static ngx_http_llm_embed_slot_t  ngx_http_llm_embed_table[
                                      NGX_HTTP_LLM_EMBED_SLOTS];
static int                        ngx_http_llm_embed_ready;


static int
ngx_http_llm_embed_index(const char **list, const u_char *w, size_t len)
{
    int                         i, k;
    uint32_t                    h;
    const char                **lists[8], **l;
    ngx_http_llm_embed_slot_t  *s;

    if (!ngx_http_llm_embed_ready) {
        lists[0] = ngx_http_llm_embed_filler;
        lists[1] = ngx_http_llm_embed_negations;
        lists[2] = ngx_http_llm_embed_polar;
        lists[3] = ngx_http_llm_embed_directed;
        lists[4] = ngx_http_llm_embed_question;
        lists[5] = ngx_http_llm_embed_antonyms;
        lists[6] = ngx_http_llm_embed_relations;
        lists[7] = NULL;

        for (k = 0; lists[k]; k++) {
            l = lists[k];

            for (i = 0; l[i]; i++) {
                h = ngx_http_llm_embed_hash(0x811c9dc5u ^ k, (u_char *) l[i],
                                            strlen(l[i]))
                    % NGX_HTTP_LLM_EMBED_SLOTS;

                while (ngx_http_llm_embed_table[h].list
                       && !(ngx_http_llm_embed_table[h].list == l
                            && strcmp(ngx_http_llm_embed_table[h].word, l[i])
                               == 0))
                {
                    h = (h + 1) % NGX_HTTP_LLM_EMBED_SLOTS;
                }

                if (ngx_http_llm_embed_table[h].list == NULL) {
                    /* a word listed twice keeps its first index */
                    ngx_http_llm_embed_table[h].list = l;
                    ngx_http_llm_embed_table[h].word = l[i];
                    ngx_http_llm_embed_table[h].index = i;
                }
            }
        }

        ngx_http_llm_embed_ready = 1;
    }

    k = (list == ngx_http_llm_embed_filler) ? 0
        : (list == ngx_http_llm_embed_negations) ? 1
        : (list == ngx_http_llm_embed_polar) ? 2
        : (list == ngx_http_llm_embed_directed) ? 3
        : (list == ngx_http_llm_embed_question) ? 4
        : (list == ngx_http_llm_embed_antonyms) ? 5 : 6;

    h = ngx_http_llm_embed_hash(0x811c9dc5u ^ k, w, len)
        % NGX_HTTP_LLM_EMBED_SLOTS;

    for ( ;; ) {
        s = &ngx_http_llm_embed_table[h];

        if (s->list == NULL) {
            return -1;
        }

        if (s->list == list && strlen(s->word) == len
            && memcmp(s->word, w, len) == 0)
        {
            return s->index;
        }

        h = (h + 1) % NGX_HTTP_LLM_EMBED_SLOTS;
    }
}


static void
ngx_http_llm_embed_add(double *x, uint32_t h, double weight)
{
    h ^= h >> 16;
    h *= 0x7feb352d;
    h ^= h >> 15;

    x[h % NGX_HTTP_LLM_EMBED_DIM] += (h & 0x80000000) ? -weight : weight;
}


static uint32_t
ngx_http_llm_embed_hash(uint32_t h, const u_char *p, size_t len)
{
    size_t  i;

    for (i = 0; i < len; i++) {
        h = (h ^ p[i]) * 16777619;
    }

    return h;
}


static int
ngx_http_llm_embed_cmp(const void *a, const void *b)
{
    uint32_t  x = *(const uint32_t *) a;
    uint32_t  y = *(const uint32_t *) b;

    return (x > y) - (x < y);
}


/* scripts: their names, and the blocks of their letters */

static const struct {
    const char                 *name;
    uint32_t                    script;
} ngx_http_llm_embed_script_names[] = {
    { "latin", NGX_HTTP_LLM_SCRIPT_LATIN },
    { "greek", NGX_HTTP_LLM_SCRIPT_GREEK },
    { "cyrillic", NGX_HTTP_LLM_SCRIPT_CYRILLIC },
    { "armenian", NGX_HTTP_LLM_SCRIPT_ARMENIAN },
    { "hebrew", NGX_HTTP_LLM_SCRIPT_HEBREW },
    { "arabic", NGX_HTTP_LLM_SCRIPT_ARABIC },
    { "devanagari", NGX_HTTP_LLM_SCRIPT_DEVANAGARI },
    { "bengali", NGX_HTTP_LLM_SCRIPT_BENGALI },
    { "thai", NGX_HTTP_LLM_SCRIPT_THAI },
    { "georgian", NGX_HTTP_LLM_SCRIPT_GEORGIAN },
    { "hangul", NGX_HTTP_LLM_SCRIPT_HANGUL },
    { "han", NGX_HTTP_LLM_SCRIPT_HAN },
    { "kana", NGX_HTTP_LLM_SCRIPT_KANA },
    { "all", NGX_HTTP_LLM_SCRIPT_ALL },
    { NULL, 0 }
};


/* code point ranges of letters, sorted; symbols and punctuation are none */

static const struct {
    uint32_t                    from;
    uint32_t                    to;
    uint32_t                    script;
} ngx_http_llm_embed_blocks[] = {
    { 0x0041, 0x005a, NGX_HTTP_LLM_SCRIPT_LATIN },
    { 0x0061, 0x007a, NGX_HTTP_LLM_SCRIPT_LATIN },
    { 0x00aa, 0x00aa, NGX_HTTP_LLM_SCRIPT_LATIN },
    { 0x00ba, 0x00ba, NGX_HTTP_LLM_SCRIPT_LATIN },
    { 0x00c0, 0x00d6, NGX_HTTP_LLM_SCRIPT_LATIN },
    { 0x00d8, 0x00f6, NGX_HTTP_LLM_SCRIPT_LATIN },
    { 0x00f8, 0x024f, NGX_HTTP_LLM_SCRIPT_LATIN },
    { 0x0250, 0x02af, NGX_HTTP_LLM_SCRIPT_LATIN },      /* IPA */
    { 0x0370, 0x03ff, NGX_HTTP_LLM_SCRIPT_GREEK },
    { 0x0400, 0x052f, NGX_HTTP_LLM_SCRIPT_CYRILLIC },
    { 0x0531, 0x058a, NGX_HTTP_LLM_SCRIPT_ARMENIAN },
    { 0x05d0, 0x05f4, NGX_HTTP_LLM_SCRIPT_HEBREW },
    { 0x0620, 0x064a, NGX_HTTP_LLM_SCRIPT_ARABIC },
    { 0x066e, 0x06d3, NGX_HTTP_LLM_SCRIPT_ARABIC },
    { 0x06fa, 0x06ff, NGX_HTTP_LLM_SCRIPT_ARABIC },
    { 0x0750, 0x077f, NGX_HTTP_LLM_SCRIPT_ARABIC },
    { 0x08a0, 0x08ff, NGX_HTTP_LLM_SCRIPT_ARABIC },
    { 0x0900, 0x0963, NGX_HTTP_LLM_SCRIPT_DEVANAGARI },
    { 0x0971, 0x097f, NGX_HTTP_LLM_SCRIPT_DEVANAGARI },
    { 0x0980, 0x09e3, NGX_HTTP_LLM_SCRIPT_BENGALI },
    { 0x09f0, 0x09f1, NGX_HTTP_LLM_SCRIPT_BENGALI },
    { 0x0e01, 0x0e4e, NGX_HTTP_LLM_SCRIPT_THAI },
    { 0x10a0, 0x10ff, NGX_HTTP_LLM_SCRIPT_GEORGIAN },
    { 0x1100, 0x11ff, NGX_HTTP_LLM_SCRIPT_HANGUL },
    { 0x1c80, 0x1c8f, NGX_HTTP_LLM_SCRIPT_CYRILLIC },
    { 0x1c90, 0x1cbf, NGX_HTTP_LLM_SCRIPT_GEORGIAN },
    { 0x1e00, 0x1eff, NGX_HTTP_LLM_SCRIPT_LATIN },
    { 0x1f00, 0x1fff, NGX_HTTP_LLM_SCRIPT_GREEK },
    { 0x2c60, 0x2c7f, NGX_HTTP_LLM_SCRIPT_LATIN },
    { 0x2de0, 0x2dff, NGX_HTTP_LLM_SCRIPT_CYRILLIC },
    { 0x2e80, 0x2fdf, NGX_HTTP_LLM_SCRIPT_HAN },
    { 0x3005, 0x3007, NGX_HTTP_LLM_SCRIPT_HAN },
    { 0x3021, 0x3029, NGX_HTTP_LLM_SCRIPT_HAN },
    { 0x3041, 0x309f, NGX_HTTP_LLM_SCRIPT_KANA },
    { 0x30a1, 0x30ff, NGX_HTTP_LLM_SCRIPT_KANA },
    { 0x3131, 0x318e, NGX_HTTP_LLM_SCRIPT_HANGUL },
    { 0x31f0, 0x31ff, NGX_HTTP_LLM_SCRIPT_KANA },
    { 0x3400, 0x4dbf, NGX_HTTP_LLM_SCRIPT_HAN },
    { 0x4e00, 0x9fff, NGX_HTTP_LLM_SCRIPT_HAN },
    { 0xa640, 0xa69f, NGX_HTTP_LLM_SCRIPT_CYRILLIC },
    { 0xa720, 0xa7ff, NGX_HTTP_LLM_SCRIPT_LATIN },
    { 0xa960, 0xa97f, NGX_HTTP_LLM_SCRIPT_HANGUL },
    { 0xab30, 0xab6f, NGX_HTTP_LLM_SCRIPT_LATIN },
    { 0xac00, 0xd7ff, NGX_HTTP_LLM_SCRIPT_HANGUL },
    { 0xf900, 0xfaff, NGX_HTTP_LLM_SCRIPT_HAN },
    { 0xfb00, 0xfb06, NGX_HTTP_LLM_SCRIPT_LATIN },
    { 0xfb1d, 0xfb4f, NGX_HTTP_LLM_SCRIPT_HEBREW },
    { 0xfb50, 0xfdff, NGX_HTTP_LLM_SCRIPT_ARABIC },
    { 0xfe70, 0xfefc, NGX_HTTP_LLM_SCRIPT_ARABIC },
    { 0xff21, 0xff3a, NGX_HTTP_LLM_SCRIPT_LATIN },      /* full width */
    { 0xff41, 0xff5a, NGX_HTTP_LLM_SCRIPT_LATIN },
    { 0xff66, 0xff9f, NGX_HTTP_LLM_SCRIPT_KANA },       /* half width */
    { 0xffa0, 0xffdc, NGX_HTTP_LLM_SCRIPT_HANGUL },
    { 0x1b000, 0x1b16f, NGX_HTTP_LLM_SCRIPT_KANA },
    { 0x20000, 0x323af, NGX_HTTP_LLM_SCRIPT_HAN },
};


uint32_t
ngx_http_llm_embed_script(const u_char *name, size_t len)
{
    size_t  i;

    for (i = 0; ngx_http_llm_embed_script_names[i].name; i++) {
        if (strlen(ngx_http_llm_embed_script_names[i].name) == len
            && memcmp(ngx_http_llm_embed_script_names[i].name, name, len) == 0)
        {
            return ngx_http_llm_embed_script_names[i].script;
        }
    }

    return 0;
}


/*
 * The script of a code point, 0 when it is not a letter: the blocks
 * above, and, outside them, every code point from U+00C0 up but
 * punctuation, symbols, marks, spaces, emoji and private use counts as a
 * letter of another script.
 */

static uint32_t
ngx_http_llm_embed_script_of(uint32_t c)
{
    size_t  lo, hi, mid;

    lo = 0;
    hi = sizeof(ngx_http_llm_embed_blocks)
         / sizeof(ngx_http_llm_embed_blocks[0]);

    while (lo < hi) {
        mid = (lo + hi) / 2;

        if (c < ngx_http_llm_embed_blocks[mid].from) {
            hi = mid;

        } else if (c > ngx_http_llm_embed_blocks[mid].to) {
            lo = mid + 1;

        } else {
            return ngx_http_llm_embed_blocks[mid].script;
        }
    }

    if (c < 0x00c0
        || (c >= 0x0300 && c <= 0x036f)       /* combining marks */
        || (c >= 0x0591 && c <= 0x05cf)       /* Hebrew points */
        || (c >= 0x0600 && c <= 0x061f)       /* Arabic signs */
        || (c >= 0x064b && c <= 0x066d)       /* Arabic marks, digits */
        || (c >= 0x06d4 && c <= 0x06f9)
        || (c >= 0x0964 && c <= 0x0970)       /* dandas, digits */
        || (c >= 0x09e4 && c <= 0x09ef)
        || (c >= 0x0e4f && c <= 0x0e5b)       /* Thai digits */
        || (c >= 0x1ab0 && c <= 0x1aff)
        || (c >= 0x1dc0 && c <= 0x1dff)
        || (c >= 0x2000 && c <= 0x2bff)       /* punctuation, symbols */
        || (c >= 0x2e00 && c <= 0x2e7f)
        || (c >= 0x3000 && c <= 0x303f)       /* CJK punctuation */
        || (c >= 0x3200 && c <= 0x33ff)       /* enclosed, compatibility */
        || (c >= 0xd800 && c <= 0xf8ff)       /* surrogates, private use */
        || (c >= 0xfe00 && c <= 0xfe6f)       /* variation, small forms */
        || (c >= 0xff00 && c <= 0xff65)       /* full width punctuation */
        || (c >= 0xffe0 && c <= 0xffff)
        || (c >= 0x1f000 && c <= 0x1faff)     /* emoji, symbols */
        || (c >= 0xe0000))
    {
        return 0;
    }

    return NGX_HTTP_LLM_SCRIPT_OTHER;
}


int
ngx_http_llm_embed_scripts_in(const u_char *text, size_t len, uint32_t mask)
{
    size_t         in, all, n, w;
    uint32_t       c, script;
    const u_char  *p, *last;

    if (mask == NGX_HTTP_LLM_SCRIPT_ALL) {
        return 1;
    }

    in = 0;
    all = 0;

    p = text;
    last = text + len;

    while (p < last) {
        c = *p;

        if (c < 0x80) {
            p++;

            if ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') {
                all++;
                in += (mask & NGX_HTTP_LLM_SCRIPT_LATIN) ? 1 : 0;
            }

            continue;
        }

        /* a UTF-8 sequence; an invalid one is a letter of no script */

        n = ngx_http_llm_embed_utf8(p, last, &c);

        if (n == 0) {
            p++;
            all++;
            continue;
        }

        p += n;

        script = ngx_http_llm_embed_script_of(c);

        if (script) {

            /*
             * A Han ideograph says about what 3 Latin letters say, a kana
             * or a Hangul syllable 2: weighed so, a Chinese question with
             * two English words in it is not "mostly Latin".
             */

            w = (script == NGX_HTTP_LLM_SCRIPT_HAN) ? 3
                : (script == NGX_HTTP_LLM_SCRIPT_KANA
                   || script == NGX_HTTP_LLM_SCRIPT_HANGUL) ? 2 : 1;

            all += w;
            in += (mask & script) ? w : 0;
        }
    }

    return in * 2 >= all;
}


/* the code point of a valid UTF-8 sequence at p and its length, or 0 */

static size_t
ngx_http_llm_embed_utf8(const u_char *p, const u_char *last, uint32_t *cp)
{
    size_t    n, i;
    uint32_t  c;

    c = *p;

    n = (c >= 0xc2 && c < 0xe0) ? 2
        : (c >= 0xe0 && c < 0xf0) ? 3
        : (c >= 0xf0 && c < 0xf5) ? 4 : 0;

    if (n == 0 || (size_t) (last - p) < n) {
        return 0;
    }

    c &= (n == 2) ? 0x1f : (n == 3) ? 0x0f : 0x07;

    for (i = 1; i < n; i++) {
        if ((p[i] & 0xc0) != 0x80) {
            return 0;
        }

        c = (c << 6) | (p[i] & 0x3f);
    }

    /* overlong forms and surrogates */

    if ((n == 3 && c < 0x800) || (n == 4 && (c < 0x10000 || c > 0x10ffff))
        || (c >= 0xd800 && c <= 0xdfff))
    {
        return 0;
    }

    *cp = c;

    return n;
}


static void
ngx_http_llm_embed_order_add(ngx_http_llm_embed_order_t *o, const u_char *w,
    size_t wl, unsigned rel)
{
    uint32_t  h;

    if (o->n >= NGX_HTTP_LLM_EMBED_ORDER) {
        return;
    }

    h = ngx_http_llm_embed_hash(0x811c9dc5u ^ 'o', w, wl);
    h = (h ^ (h >> 16)) & 0x3fff;

    o->w[o->n++] = (uint16_t) (h | (rel ? NGX_HTTP_LLM_EMBED_REL : 0));
    o->bag |= (uint64_t) 1 << (h % 64);
}


static void
ngx_http_llm_embed_name_add(ngx_http_llm_embed_order_t *o, const u_char *w,
    size_t wl)
{
    int       i;
    uint32_t  h;

    h = ngx_http_llm_embed_hash(0x811c9dc5u ^ 'n', w, wl);
    h = (h ^ (h >> 16)) & 0xffff;

    for (i = 0; i < o->nnames; i++) {
        if (o->names[i] == h) {
            return;
        }
    }

    if (o->nnames == NGX_HTTP_LLM_EMBED_NAMES) {
        /* too many to compare */
        o->caps = 1;
        return;
    }

    o->names[o->nnames++] = (uint16_t) h;
}


int
ngx_http_llm_embed_renamed(const ngx_http_llm_embed_order_t *a,
    const ngx_http_llm_embed_order_t *b)
{
    if (a->caps || b->caps) {
        return 0;
    }

    return !ngx_http_llm_embed_names_in(a, b)
           && !ngx_http_llm_embed_names_in(b, a);
}


/* 1 when every name of a is one of b */

static int
ngx_http_llm_embed_names_in(const ngx_http_llm_embed_order_t *a,
    const ngx_http_llm_embed_order_t *b)
{
    int  i, k;

    for (i = 0; i < a->nnames; i++) {
        for (k = 0; k < b->nnames; k++) {
            if (a->names[i] == b->names[k]) {
                break;
            }
        }

        if (k == b->nnames) {
            return 0;
        }
    }

    return 1;
}


/* the place of h in the order o, or -1 */

static int
ngx_http_llm_embed_order_find(const ngx_http_llm_embed_order_t *o,
    uint16_t h)
{
    int  i;

    for (i = 0; i < o->n; i++) {
        if (o->w[i] == h) {
            return i;
        }
    }

    return -1;
}


static unsigned
ngx_http_llm_embed_popcount(uint64_t x)
{
    x = x - ((x >> 1) & 0x5555555555555555ULL);
    x = (x & 0x3333333333333333ULL) + ((x >> 2) & 0x3333333333333333ULL);
    x = (x + (x >> 4)) & 0x0f0f0f0f0f0f0f0fULL;

    return (unsigned) ((x * 0x0101010101010101ULL) >> 56);
}


int
ngx_http_llm_embed_swapped(const ngx_http_llm_embed_order_t *a,
    const ngx_http_llm_embed_order_t *b)
{
    /* the word before, and the two that trade places: three in common */

    if (ngx_http_llm_embed_popcount(a->bag & b->bag) < 3) {
        return 0;
    }

    return ngx_http_llm_embed_swapped_dir(a, b, 1)
           || ((ngx_http_llm_embed_swap_mode & 1)
               && ngx_http_llm_embed_swapped_dir(a, b, -1));
}


/*
 * Two words x and y (once in each text) follow the same word t (once in
 * each text): x in a, y in b, and they are in the other order in the
 * other text; dir -1: they precede t.
 */

static int
ngx_http_llm_embed_swapped_dir(const ngx_http_llm_embed_order_t *a,
    const ngx_http_llm_embed_order_t *b, int dir)
{
    int       i, j, ax, ay, bx, by;
    uint16_t  t, x, y;

    for (i = 0; i < a->n; i++) {
        t = a->w[i];

        if (!(t & NGX_HTTP_LLM_EMBED_ONCE)) {
            continue;
        }

        j = ngx_http_llm_embed_order_find(b, t);

        ax = i + dir;
        by = j + dir;

        if (j < 0 || ax < 0 || ax >= a->n || by < 0 || by >= b->n) {
            continue;
        }

        /* x next to t in a, y in b: words (not markers), once in each */

        x = a->w[ax];
        y = b->w[by];

        if (x == y
            || ((x | y) & NGX_HTTP_LLM_EMBED_REL)
            || !(x & y & NGX_HTTP_LLM_EMBED_ONCE))
        {
            continue;
        }

        ay = ngx_http_llm_embed_order_find(a, y);
        bx = ngx_http_llm_embed_order_find(b, x);

        if (ay < 0 || bx < 0) {
            continue;
        }

        /* neighbours in both ("Spain (Catalonia)"), or the same order */

        if ((ngx_http_llm_embed_swap_mode & 2) == 0
            && (ax - ay == 1 || ay - ax == 1) && (bx - by == 1 || by - bx == 1))
        {
            continue;
        }

        if ((ax < ay) == (bx < by)) {
            continue;
        }

        return 1;
    }

    return 0;
}


int
ngx_http_llm_embed_flipped(const ngx_http_llm_embed_flip_t *a,
    const ngx_http_llm_embed_flip_t *b)
{
    return ngx_http_llm_embed_antonyms_flipped(a, b)
           || ngx_http_llm_embed_swapped(&a->order, &b->order)
           || ngx_http_llm_embed_renamed(&a->order, &b->order);
}


int
ngx_http_llm_embed_antonyms_flipped(const ngx_http_llm_embed_flip_t *a,
    const ngx_http_llm_embed_flip_t *b)
{
    int       i;
    uint64_t  a0, a1, b0, b1;

    for (i = 0; i < 2; i++) {
        /* pairs of which a text has one side only */

        a0 = a->side[0][i] & ~a->side[1][i];
        a1 = a->side[1][i] & ~a->side[0][i];
        b0 = b->side[0][i] & ~b->side[1][i];
        b1 = b->side[1][i] & ~b->side[0][i];

        if ((a0 & b1) || (a1 & b0)) {
            return 1;
        }
    }

    return 0;
}


uint32_t
ngx_http_llm_embed_guard_hash(const ngx_http_llm_embed_guard_t *g)
{
    uint32_t  h;

    h = 2166136261u;
    h = (h ^ g->negations) * 16777619;
    h = (h ^ g->nnum) * 16777619;
    h = ngx_http_llm_embed_hash(h, (u_char *) &g->numbers,
                                sizeof(g->numbers));

    return h;
}
