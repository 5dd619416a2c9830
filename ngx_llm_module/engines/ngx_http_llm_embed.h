
/*
 * Copyright (C) ngx_llm_module authors
 *
 * The semantic cache's builtin embedder: a text becomes a fixed-size vector
 * of hashed features (words, their character trigrams, pairs of successive
 * words), normalized and quantized to signed bytes; no model file, no
 * network.  It is good at near-duplicates (case, punctuation, typos, word
 * order, filler words), not at paraphrases with other words.
 *
 * Next to the vector, a guard: a hash of what must be equal for two texts
 * to mean the same even when they look alike: the negations, the numbers,
 * and words with an opposite (increase / decrease, before / after, ...);
 * and the text's words (filler left out), which must match one by one, up
 * to typos: a near-duplicate may move or misspell words, not change them.
 *
 * The signature is a hash of the set of the first three letters of those
 * words (question words left out): near-duplicates have the same one unless
 * a typo is in the first three letters of a word, so it can index them.
 *
 * It depends on libc only, so that it can be evaluated and unit-tested
 * outside nginx.
 */

#ifndef _NGX_HTTP_LLM_EMBED_H_INCLUDED_
#define _NGX_HTTP_LLM_EMBED_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>


#define NGX_HTTP_LLM_EMBED_DIM    128
#define NGX_HTTP_LLM_EMBED_TEXT    240     /* bytes of words, at most */


/*
 * The order of a text's first words, for ngx_http_llm_embed_swapped():
 * each word a 14-bit hash, with NGX_HTTP_LLM_EMBED_REL for the words that
 * mark the role of the next one ("from", "to", "by", "of", ...) and
 * NGX_HTTP_LLM_EMBED_ONCE for a word that is there once; bag has bit
 * (hash % 64) of each word.
 */

#define NGX_HTTP_LLM_EMBED_ORDER  24
#define NGX_HTTP_LLM_EMBED_REL    0x8000
#define NGX_HTTP_LLM_EMBED_ONCE   0x4000

#define NGX_HTTP_LLM_EMBED_NAMES  12

typedef struct {
    uint64_t                    bag;
    uint16_t                    w[NGX_HTTP_LLM_EMBED_ORDER];
    uint8_t                     n;
    /*
     * names: words with a capital letter that do not start a sentence
     * (16-bit hashes); caps: the text capitalizes too many words for them
     * to be names (German nouns), or has more than NGX_HTTP_LLM_EMBED_NAMES
     */
    uint8_t                     nnames;
    uint8_t                     caps;
    uint16_t                    names[NGX_HTTP_LLM_EMBED_NAMES];
} ngx_http_llm_embed_order_t;


typedef struct {
    uint32_t                    norm2;      /* squared norm of v */
    uint32_t                    guard;
    uint32_t                    signature;  /* of its words, for an index */
    uint16_t                    words_len;
    ngx_http_llm_embed_order_t  order;
    int8_t                      v[NGX_HTTP_LLM_EMBED_DIM];
    u_char                      words[NGX_HTTP_LLM_EMBED_TEXT];
} ngx_http_llm_embed_t;


/* the bytes of an embedding that matter, words included */
#define ngx_http_llm_embed_size(e)                                           \
    (offsetof(ngx_http_llm_embed_t, words) + (e)->words_len)


/*
 * The embedding of UTF-8 text.  Returns 0, or -1 when the text has no word
 * or more words than NGX_HTTP_LLM_EMBED_TEXT bytes hold: such a text is not
 * compared.
 */
int ngx_http_llm_embed(const u_char *text, size_t len,
    ngx_http_llm_embed_t *e);

/* cosine similarity of two embeddings, 0 when their guards differ */
double ngx_http_llm_embed_cosine(const ngx_http_llm_embed_t *a,
    const ngx_http_llm_embed_t *b);

/*
 * 1 when every word of each text matches a word of the other: the same, or
 * one typo apart (two for words of 8 letters or more; none under 5); and
 * no two words trade places (ngx_http_llm_embed_swapped()).
 */
int ngx_http_llm_embed_same_words(const ngx_http_llm_embed_t *a,
    const ngx_http_llm_embed_t *b);

/* the two above: the similarity, 0 when the words differ */
double ngx_http_llm_embed_similarity(const ngx_http_llm_embed_t *a,
    const ngx_http_llm_embed_t *b);

/* a square root without libm (Newton's method) */
double ngx_http_llm_embed_sqrt(double x);

/*
 * Cosine similarity of two vectors of signed bytes of dim components
 * (at most 65535) with their squared norms, or 0 when it is below the
 * threshold (or not positive): a remote embedder's vectors.
 */
double ngx_http_llm_embed_cosine_i8(const int8_t *a, uint32_t a_norm2,
    const int8_t *b, uint32_t b_norm2, size_t dim, double threshold);


/*
 * Scripts, for llm_cache_embedder ... scripts=LIST: a text is sent to an
 * embedder only when at least half of its letters are of the scripts it
 * reads.  A letter is a code point of a script's blocks; digits,
 * punctuation, symbols and emoji are not letters.
 */

#define NGX_HTTP_LLM_SCRIPT_LATIN       0x0001
#define NGX_HTTP_LLM_SCRIPT_GREEK       0x0002
#define NGX_HTTP_LLM_SCRIPT_CYRILLIC    0x0004
#define NGX_HTTP_LLM_SCRIPT_ARMENIAN    0x0008
#define NGX_HTTP_LLM_SCRIPT_HEBREW      0x0010
#define NGX_HTTP_LLM_SCRIPT_ARABIC      0x0020
#define NGX_HTTP_LLM_SCRIPT_DEVANAGARI  0x0040
#define NGX_HTTP_LLM_SCRIPT_BENGALI     0x0080
#define NGX_HTTP_LLM_SCRIPT_THAI        0x0100
#define NGX_HTTP_LLM_SCRIPT_GEORGIAN    0x0200
#define NGX_HTTP_LLM_SCRIPT_HANGUL      0x0400
#define NGX_HTTP_LLM_SCRIPT_HAN         0x0800
#define NGX_HTTP_LLM_SCRIPT_KANA        0x1000
#define NGX_HTTP_LLM_SCRIPT_OTHER       0x8000  /* letters of other scripts */
#define NGX_HTTP_LLM_SCRIPT_ALL         0xffff


/* the script of a name ("latin", "han", ..., "all"), or 0 */
uint32_t ngx_http_llm_embed_script(const u_char *name, size_t len);

/*
 * 1 when at least half of the letters of the UTF-8 text are of the scripts
 * of mask (or the text has no letter), 0 otherwise.  Invalid UTF-8 bytes
 * count as letters of no script.
 */
int ngx_http_llm_embed_scripts_in(const u_char *text, size_t len,
    uint32_t mask);


/*
 * The parts of a text's guard, each measured by the evaluation
 * (bench/cache/paraphrase_eval.mjs, docs/cache.md): negations, negating
 * prefixes, words with an opposite, antonym pairs, numbers.
 */



/*
 * What a remote embedder's entries are compared by, one by one, besides
 * the guard's hash: the antonym pairs of a text (the words of side 0, of
 * side 1 present) and the order of its words.
 */

typedef struct {
    uint64_t                    side[2][2];
    ngx_http_llm_embed_order_t  order;
} ngx_http_llm_embed_flip_t;


typedef struct {
    uint64_t                    polar[4];    /* words with an opposite */
    ngx_http_llm_embed_flip_t   flip;
    uint32_t                    numbers;     /* hash, in order of value */
    uint8_t                     nnum;        /* numbers, at most 16 */
    uint8_t                     negations;   /* 0, 1, 2: two or more */
    uint8_t                     prefixed;    /* un-, dis-, non-: 0 to 3 */
} ngx_http_llm_embed_guard_t;


/* ngx_http_llm_embed(), and the parts of the guard in g */
int ngx_http_llm_embed_parts(const u_char *text, size_t len,
    ngx_http_llm_embed_t *e, ngx_http_llm_embed_guard_t *g);

/*
 * 1 when a word of an antonym pair is in one text and its opposite only
 * in the other ("increase" / "decrease").
 */
int ngx_http_llm_embed_antonyms_flipped(const ngx_http_llm_embed_flip_t *a,
    const ngx_http_llm_embed_flip_t *b);

/*
 * 1 when two words that both texts have once trade places, after the same
 * word ("flights from Paris to Rome" / "flights from Rome to Paris",
 * "Quintiq was bought by Dassault" / "Dassault was bought by Quintiq"),
 * unless they are neighbours in both texts ("Spain (Catalonia)").
 */
int ngx_http_llm_embed_swapped(const ngx_http_llm_embed_order_t *a,
    const ngx_http_llm_embed_order_t *b);

/*
 * 1 when each text has a name that the other has not ("... in Kolkata" /
 * "... in Mumbai"), unless one of them capitalizes more than 30% of its
 * words (German nouns are not names).
 */
int ngx_http_llm_embed_renamed(const ngx_http_llm_embed_order_t *a,
    const ngx_http_llm_embed_order_t *b);

/*
 * What a remote embedder's entries must not differ by, compared one by
 * one: an antonym pair flipped, two words swapped, a name replaced.
 */
int ngx_http_llm_embed_flipped(const ngx_http_llm_embed_flip_t *a,
    const ngx_http_llm_embed_flip_t *b);

/*
 * The guard of a remote embedder's texts, as measured (docs/cache.md):
 * the negations and the numbers, hashed (they must be equal); and
 * ngx_http_llm_embed_flipped() on the antonym pairs, compared one by one.
 */
uint32_t ngx_http_llm_embed_guard_hash(const ngx_http_llm_embed_guard_t *g);


#if (NGX_HTTP_LLM_EMBED_EVAL)
/* 0: runs of han, kana and hangul are one word, as before 2026-12 */
extern int  ngx_http_llm_embed_cjk;
/* ngx_http_llm_embed_swapped(): 1, both directions; 2, neighbours too */
extern int  ngx_http_llm_embed_swap_mode;
#endif


#endif /* _NGX_HTTP_LLM_EMBED_H_INCLUDED_ */
