
/*
 * Copyright (C) ngx_llm_module authors
 *
 * o200k_base token estimate.
 *
 * The o200k pre-tokenizer splits a text with this regular expression
 * (alternatives tried in order):
 *
 *   [^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*
 *       [\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?
 *   [^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+
 *       [\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?
 *   \p{N}{1,3}
 *    ?[^\s\p{L}\p{N}]+[\r\n/]*
 *   \s*[\r\n]+
 *   \s+(?!\S)
 *   \s+
 *
 * and byte-pair encoding then never merges across those pieces.  The scanner
 * below reproduces the split exactly for ASCII and closely for the rest of
 * Unicode (a compact range table gives each code point a class and a script),
 * and the BPE step is replaced by a cost per piece: a piece is at least one
 * token, and longer or rarer pieces cost more.  The costs (in 1/256 token)
 * were fitted on the training part of the corpus in bench/estimator/ by
 * bench/estimator/fit.mjs, which also writes the tables between the FITTED
 * markers below; docs/estimator.md gives the method and the errors.
 */


#include <stdint.h>
#include <string.h>

#include "ngx_http_llm_tokens.h"


#define NGX_HTTP_LLM_TOKEN_UNIT       256


/* runs of ASCII letters eight bytes at a time where the lowest byte is first */

#define NGX_HTTP_LLM_TOKENS_ONES      0x0101010101010101ULL
#define NGX_HTTP_LLM_TOKENS_HIGHS     0x8080808080808080ULL

#if (defined __GNUC__ && defined __BYTE_ORDER__                               \
     && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__)
#define NGX_HTTP_LLM_TOKENS_SWAR      1
#else
#define NGX_HTTP_LLM_TOKENS_SWAR      0
#endif

/*
 * and sixteen at a time with SSE2 (x86-64), unless built with
 * -DNGX_HTTP_LLM_TOKENS_NO_SIMD (the portable path, tested as well)
 */

#if (defined __SSE2__ && !defined NGX_HTTP_LLM_TOKENS_NO_SIMD)
#define NGX_HTTP_LLM_TOKENS_SSE2      1
#include <emmintrin.h>
#else
#define NGX_HTTP_LLM_TOKENS_SSE2      0
#endif

/*
 * on aarch64 (which always has NEON, little endian only) the transposition
 * of the portable path's bit-sliced block masks with NEON, unless built
 * with -DNGX_HTTP_LLM_TOKENS_NO_SIMD
 */

#if (defined __aarch64__ && defined __ARM_NEON && NGX_HTTP_LLM_TOKENS_SWAR    \
     && !defined NGX_HTTP_LLM_TOKENS_NO_SIMD)
#define NGX_HTTP_LLM_TOKENS_NEON      1
#include <arm_neon.h>
#else
#define NGX_HTTP_LLM_TOKENS_NEON      0
#endif

/*
 * and the bit masks of 64 bytes of text 32 at a time with AVX2 on x86-64
 * when the CPU has it (chosen at run time: the build stays SSE2), unless
 * built with -DNGX_HTTP_LLM_TOKENS_NO_AVX2 (SSE2 only, tested as well)
 */

#if (NGX_HTTP_LLM_TOKENS_SSE2 && defined __x86_64__ && defined __GNUC__      \
     && (__GNUC__ >= 5 || defined __clang__)                                  \
     && !defined NGX_HTTP_LLM_TOKENS_NO_AVX2)
#define NGX_HTTP_LLM_TOKENS_AVX2      1
#define NGX_HTTP_LLM_TOKENS_X86       "avx2,bmi,bmi2,popcnt"
#include <immintrin.h>
#include <cpuid.h>
#else
#define NGX_HTTP_LLM_TOKENS_AVX2      0
#endif


/* character classes (low 4 bits of an attribute byte) */

#define NGX_HTTP_LLM_TC_WS            0    /* \s but \r and \n */
#define NGX_HTTP_LLM_TC_NL            1    /* \r \n */
#define NGX_HTTP_LLM_TC_UP            2    /* Lu Lt */
#define NGX_HTTP_LLM_TC_LOW           3    /* Ll */
#define NGX_HTTP_LLM_TC_BOTH          4    /* Lo Lm M */
#define NGX_HTTP_LLM_TC_NUM           5    /* N */
#define NGX_HTTP_LLM_TC_PUNCT         6    /* anything else */
#define NGX_HTTP_LLM_TC_ALT           7    /* range table: even Lu, odd Ll */
#define NGX_HTTP_LLM_TC_ALT1          8    /* range table: odd Lu, even Ll */
#define NGX_HTTP_LLM_TC_END           15   /* end of text */


/* scripts of letters (high 4 bits of an attribute byte) */

#define NGX_HTTP_LLM_TS_ASCII         0
#define NGX_HTTP_LLM_TS_LATIN         1
#define NGX_HTTP_LLM_TS_CYRL          2
#define NGX_HTTP_LLM_TS_GREEK         3    /* and other small cased scripts */
#define NGX_HTTP_LLM_TS_HAN           4
#define NGX_HTTP_LLM_TS_KANA          5
#define NGX_HTTP_LLM_TS_HANGUL        6
#define NGX_HTTP_LLM_TS_ARABIC        7    /* and Hebrew, Syriac, Thaana */
#define NGX_HTTP_LLM_TS_INDIC         8
#define NGX_HTTP_LLM_TS_SEA           9    /* Thai, Lao, Tibetan, Myanmar */
#define NGX_HTTP_LLM_TS_OTHER         10
#define NGX_HTTP_LLM_TS_N             11


#define ngx_http_llm_tc(attr)         ((attr) & 0x0f)
#define ngx_http_llm_ts(attr)         ((attr) >> 4)
#define ngx_http_llm_is_letter(c)                                             \
    ((c) == NGX_HTTP_LLM_TC_UP || (c) == NGX_HTTP_LLM_TC_LOW                  \
     || (c) == NGX_HTTP_LLM_TC_BOTH)

#define NGX_HTTP_LLM_TA(c, s)                                                 \
    (NGX_HTTP_LLM_TC_##c | (NGX_HTTP_LLM_TS_##s << 4))


/* kinds of pieces */

#define NGX_HTTP_LLM_TK_WORD          0
#define NGX_HTTP_LLM_TK_NUM           1
#define NGX_HTTP_LLM_TK_PUNCT         2
#define NGX_HTTP_LLM_TK_SPACE         3


/* the sums the costs of pieces go to */

#define NGX_HTTP_LLM_TB_ASCII         0    /* words of ASCII letters */
#define NGX_HTTP_LLM_TB_WORD          1    /* other words */
#define NGX_HTTP_LLM_TB_OTHER         2    /* the other pieces */
#define NGX_HTTP_LLM_TB_N             3


/* the character in front of a word, or of a punctuation run */

#define NGX_HTTP_LLM_TL_NONE          0
#define NGX_HTTP_LLM_TL_SPACE         1
#define NGX_HTTP_LLM_TL_OTHER         2


/* the case of a word made of cased letters only */

#define NGX_HTTP_LLM_TW_LOWER         0    /* "word" */
#define NGX_HTTP_LLM_TW_CAP           1    /* "Word" */
#define NGX_HTTP_LLM_TW_CAPS          2    /* "WORD" */
#define NGX_HTTP_LLM_TW_MIXED         3    /* "WORDword" */


#define NGX_HTTP_LLM_TW_MAX_LEN       24
#define NGX_HTTP_LLM_TW_ROW           (NGX_HTTP_LLM_TW_MAX_LEN + 1)
#define NGX_HTTP_LLM_TP_MAX_LEN       16


typedef struct {
    uint32_t                    letters[NGX_HTTP_LLM_TS_N];
    uint32_t                    n;         /* word: all letters */
    uint32_t                    upper;
    uint32_t                    ascii;     /* punct: ASCII characters;
                                              space: U+0020 */
    uint32_t                    sym[3];    /* punct: 2, 3, 4 byte characters
                                              (an invalid byte counts as a
                                              3 byte U+FFFD); space: [0] other
                                              white space */
    uint32_t                    nl;        /* newlines */
    u_char                      kind;
    u_char                      lead;
    u_char                      contraction;
} ngx_http_llm_tokens_piece_t;


typedef struct {
    uint32_t                    lo;
    u_char                      attr;
} ngx_http_llm_tokens_range_t;


/* short local names for the ASCII table only */
#define S   NGX_HTTP_LLM_TA(WS, OTHER)
#define N   NGX_HTTP_LLM_TA(NL, OTHER)
#define P   NGX_HTTP_LLM_TA(PUNCT, OTHER)
#define D   NGX_HTTP_LLM_TA(NUM, OTHER)
#define U   NGX_HTTP_LLM_TA(UP, ASCII)
#define L   NGX_HTTP_LLM_TA(LOW, ASCII)

static const u_char  ngx_http_llm_tokens_ascii[128] = {
    P, P, P, P, P, P, P, P, P, S, N, S, S, N, P, P,     /* \t \n \v \f \r */
    P, P, P, P, P, P, P, P, P, P, P, P, P, P, P, P,
    S, P, P, P, P, P, P, P, P, P, P, P, P, P, P, P,     /* space ! ... / */
    D, D, D, D, D, D, D, D, D, D, P, P, P, P, P, P,     /* 0-9 :;<=>? */
    P, U, U, U, U, U, U, U, U, U, U, U, U, U, U, U,     /* @ A-O */
    U, U, U, U, U, U, U, U, U, U, U, P, P, P, P, P,     /* P-Z [\]^_ */
    P, L, L, L, L, L, L, L, L, L, L, L, L, L, L, L,     /* ` a-o */
    L, L, L, L, L, L, L, L, L, L, L, P, P, P, P, P      /* p-z {|}~ DEL */
};

#undef S
#undef N
#undef P
#undef D
#undef U
#undef L


/*
 * Non-ASCII code points: each entry holds from its "lo" up to the next
 * entry's.  An approximation of the Unicode general categories that matter
 * to the pre-tokenizer, exact for the common scripts and punctuation.
 */

static const ngx_http_llm_tokens_range_t  ngx_http_llm_tokens_ranges[] = {
    { 0x0080, NGX_HTTP_LLM_TA(PUNCT, OTHER) },    /* C1 controls */
    { 0x00a0, NGX_HTTP_LLM_TA(WS, OTHER) },
    { 0x00a1, NGX_HTTP_LLM_TA(PUNCT, OTHER) },
    { 0x00aa, NGX_HTTP_LLM_TA(BOTH, LATIN) },
    { 0x00ab, NGX_HTTP_LLM_TA(PUNCT, OTHER) },
    { 0x00b2, NGX_HTTP_LLM_TA(NUM, OTHER) },
    { 0x00b4, NGX_HTTP_LLM_TA(PUNCT, OTHER) },
    { 0x00b5, NGX_HTTP_LLM_TA(LOW, LATIN) },
    { 0x00b6, NGX_HTTP_LLM_TA(PUNCT, OTHER) },
    { 0x00b9, NGX_HTTP_LLM_TA(NUM, OTHER) },
    { 0x00ba, NGX_HTTP_LLM_TA(BOTH, LATIN) },
    { 0x00bb, NGX_HTTP_LLM_TA(PUNCT, OTHER) },
    { 0x00bc, NGX_HTTP_LLM_TA(NUM, OTHER) },
    { 0x00bf, NGX_HTTP_LLM_TA(PUNCT, OTHER) },
    { 0x00c0, NGX_HTTP_LLM_TA(UP, LATIN) },
    { 0x00d7, NGX_HTTP_LLM_TA(PUNCT, OTHER) },
    { 0x00d8, NGX_HTTP_LLM_TA(UP, LATIN) },
    { 0x00df, NGX_HTTP_LLM_TA(LOW, LATIN) },
    { 0x00f7, NGX_HTTP_LLM_TA(PUNCT, OTHER) },
    { 0x00f8, NGX_HTTP_LLM_TA(LOW, LATIN) },
    { 0x0100, NGX_HTTP_LLM_TA(ALT, LATIN) },      /* Latin Extended-A */
    { 0x0138, NGX_HTTP_LLM_TA(LOW, LATIN) },
    { 0x0139, NGX_HTTP_LLM_TA(ALT1, LATIN) },
    { 0x0149, NGX_HTTP_LLM_TA(LOW, LATIN) },
    { 0x014a, NGX_HTTP_LLM_TA(ALT, LATIN) },
    { 0x0179, NGX_HTTP_LLM_TA(ALT1, LATIN) },
    { 0x017f, NGX_HTTP_LLM_TA(LOW, LATIN) },      /* Latin Extended-B, IPA */
    { 0x02b0, NGX_HTTP_LLM_TA(BOTH, LATIN) },     /* modifier letters */
    { 0x02c2, NGX_HTTP_LLM_TA(PUNCT, OTHER) },
    { 0x02c6, NGX_HTTP_LLM_TA(BOTH, LATIN) },
    { 0x02d2, NGX_HTTP_LLM_TA(PUNCT, OTHER) },
    { 0x02e0, NGX_HTTP_LLM_TA(BOTH, LATIN) },
    { 0x02e5, NGX_HTTP_LLM_TA(PUNCT, OTHER) },
    { 0x0300, NGX_HTTP_LLM_TA(BOTH, OTHER) },     /* combining marks */
    { 0x0370, NGX_HTTP_LLM_TA(ALT, GREEK) },
    { 0x0374, NGX_HTTP_LLM_TA(PUNCT, OTHER) },
    { 0x0376, NGX_HTTP_LLM_TA(ALT, GREEK) },
    { 0x0378, NGX_HTTP_LLM_TA(PUNCT, OTHER) },
    { 0x037b, NGX_HTTP_LLM_TA(LOW, GREEK) },
    { 0x037e, NGX_HTTP_LLM_TA(PUNCT, OTHER) },
    { 0x037f, NGX_HTTP_LLM_TA(UP, GREEK) },
    { 0x0380, NGX_HTTP_LLM_TA(PUNCT, OTHER) },
    { 0x0386, NGX_HTTP_LLM_TA(UP, GREEK) },
    { 0x0387, NGX_HTTP_LLM_TA(PUNCT, OTHER) },
    { 0x0388, NGX_HTTP_LLM_TA(UP, GREEK) },
    { 0x0390, NGX_HTTP_LLM_TA(LOW, GREEK) },
    { 0x0391, NGX_HTTP_LLM_TA(UP, GREEK) },
    { 0x03ac, NGX_HTTP_LLM_TA(LOW, GREEK) },
    { 0x03cf, NGX_HTTP_LLM_TA(UP, GREEK) },
    { 0x03d0, NGX_HTTP_LLM_TA(LOW, GREEK) },
    { 0x0400, NGX_HTTP_LLM_TA(UP, CYRL) },
    { 0x0430, NGX_HTTP_LLM_TA(LOW, CYRL) },
    { 0x0460, NGX_HTTP_LLM_TA(ALT, CYRL) },
    { 0x0482, NGX_HTTP_LLM_TA(PUNCT, OTHER) },
    { 0x0483, NGX_HTTP_LLM_TA(BOTH, OTHER) },
    { 0x048a, NGX_HTTP_LLM_TA(ALT, CYRL) },
    { 0x04c0, NGX_HTTP_LLM_TA(UP, CYRL) },
    { 0x04c1, NGX_HTTP_LLM_TA(ALT1, CYRL) },
    { 0x04cf, NGX_HTTP_LLM_TA(LOW, CYRL) },
    { 0x04d0, NGX_HTTP_LLM_TA(ALT, CYRL) },
    { 0x0530, NGX_HTTP_LLM_TA(UP, GREEK) },       /* Armenian */
    { 0x0557, NGX_HTTP_LLM_TA(BOTH, GREEK) },
    { 0x0560, NGX_HTTP_LLM_TA(LOW, GREEK) },
    { 0x0589, NGX_HTTP_LLM_TA(PUNCT, OTHER) },
    { 0x0591, NGX_HTTP_LLM_TA(BOTH, ARABIC) },    /* Hebrew */
    { 0x05be, NGX_HTTP_LLM_TA(PUNCT, OTHER) },
    { 0x05bf, NGX_HTTP_LLM_TA(BOTH, ARABIC) },
    { 0x05c0, NGX_HTTP_LLM_TA(PUNCT, OTHER) },
    { 0x05c1, NGX_HTTP_LLM_TA(BOTH, ARABIC) },
    { 0x05c3, NGX_HTTP_LLM_TA(PUNCT, OTHER) },
    { 0x05c4, NGX_HTTP_LLM_TA(BOTH, ARABIC) },
    { 0x05c6, NGX_HTTP_LLM_TA(PUNCT, OTHER) },
    { 0x05c7, NGX_HTTP_LLM_TA(BOTH, ARABIC) },
    { 0x05f3, NGX_HTTP_LLM_TA(PUNCT, OTHER) },
    { 0x0610, NGX_HTTP_LLM_TA(BOTH, ARABIC) },    /* Arabic */
    { 0x061b, NGX_HTTP_LLM_TA(PUNCT, OTHER) },
    { 0x0620, NGX_HTTP_LLM_TA(BOTH, ARABIC) },
    { 0x0660, NGX_HTTP_LLM_TA(NUM, OTHER) },
    { 0x066a, NGX_HTTP_LLM_TA(PUNCT, OTHER) },
    { 0x066e, NGX_HTTP_LLM_TA(BOTH, ARABIC) },
    { 0x06d4, NGX_HTTP_LLM_TA(PUNCT, OTHER) },
    { 0x06d5, NGX_HTTP_LLM_TA(BOTH, ARABIC) },
    { 0x06dd, NGX_HTTP_LLM_TA(PUNCT, OTHER) },
    { 0x06df, NGX_HTTP_LLM_TA(BOTH, ARABIC) },
    { 0x06e9, NGX_HTTP_LLM_TA(PUNCT, OTHER) },
    { 0x06ea, NGX_HTTP_LLM_TA(BOTH, ARABIC) },
    { 0x06f0, NGX_HTTP_LLM_TA(NUM, OTHER) },
    { 0x06fa, NGX_HTTP_LLM_TA(BOTH, ARABIC) },
    { 0x0700, NGX_HTTP_LLM_TA(PUNCT, OTHER) },
    { 0x0710, NGX_HTTP_LLM_TA(BOTH, ARABIC) },    /* Syriac, Thaana, ... */
    { 0x0900, NGX_HTTP_LLM_TA(BOTH, INDIC) },     /* Devanagari */
    { 0x0964, NGX_HTTP_LLM_TA(PUNCT, OTHER) },
    { 0x0966, NGX_HTTP_LLM_TA(NUM, OTHER) },
    { 0x0970, NGX_HTTP_LLM_TA(PUNCT, OTHER) },
    { 0x0971, NGX_HTTP_LLM_TA(BOTH, INDIC) },     /* Bengali */
    { 0x09e6, NGX_HTTP_LLM_TA(NUM, OTHER) },
    { 0x09f0, NGX_HTTP_LLM_TA(BOTH, INDIC) },     /* Gurmukhi */
    { 0x0a66, NGX_HTTP_LLM_TA(NUM, OTHER) },
    { 0x0a70, NGX_HTTP_LLM_TA(BOTH, INDIC) },     /* Gujarati */
    { 0x0ae6, NGX_HTTP_LLM_TA(NUM, OTHER) },
    { 0x0af0, NGX_HTTP_LLM_TA(BOTH, INDIC) },     /* Oriya */
    { 0x0b66, NGX_HTTP_LLM_TA(NUM, OTHER) },
    { 0x0b70, NGX_HTTP_LLM_TA(BOTH, INDIC) },     /* Tamil */
    { 0x0be6, NGX_HTTP_LLM_TA(NUM, OTHER) },
    { 0x0bf0, NGX_HTTP_LLM_TA(BOTH, INDIC) },     /* Telugu */
    { 0x0c66, NGX_HTTP_LLM_TA(NUM, OTHER) },
    { 0x0c70, NGX_HTTP_LLM_TA(BOTH, INDIC) },     /* Kannada */
    { 0x0ce6, NGX_HTTP_LLM_TA(NUM, OTHER) },
    { 0x0cf0, NGX_HTTP_LLM_TA(BOTH, INDIC) },     /* Malayalam */
    { 0x0d66, NGX_HTTP_LLM_TA(NUM, OTHER) },
    { 0x0d70, NGX_HTTP_LLM_TA(BOTH, INDIC) },     /* Sinhala */
    { 0x0de6, NGX_HTTP_LLM_TA(NUM, OTHER) },
    { 0x0df0, NGX_HTTP_LLM_TA(BOTH, INDIC) },
    { 0x0e00, NGX_HTTP_LLM_TA(BOTH, SEA) },       /* Thai */
    { 0x0e3f, NGX_HTTP_LLM_TA(PUNCT, OTHER) },
    { 0x0e40, NGX_HTTP_LLM_TA(BOTH, SEA) },
    { 0x0e4f, NGX_HTTP_LLM_TA(PUNCT, OTHER) },
    { 0x0e50, NGX_HTTP_LLM_TA(NUM, OTHER) },
    { 0x0e5a, NGX_HTTP_LLM_TA(PUNCT, OTHER) },
    { 0x0e5c, NGX_HTTP_LLM_TA(BOTH, SEA) },       /* Lao */
    { 0x0ed0, NGX_HTTP_LLM_TA(NUM, OTHER) },
    { 0x0eda, NGX_HTTP_LLM_TA(BOTH, SEA) },       /* Tibetan */
    { 0x0f20, NGX_HTTP_LLM_TA(NUM, OTHER) },
    { 0x0f34, NGX_HTTP_LLM_TA(BOTH, SEA) },       /* Myanmar */
    { 0x1040, NGX_HTTP_LLM_TA(NUM, OTHER) },
    { 0x104a, NGX_HTTP_LLM_TA(PUNCT, OTHER) },
    { 0x1050, NGX_HTTP_LLM_TA(BOTH, SEA) },
    { 0x10a0, NGX_HTTP_LLM_TA(UP, GREEK) },       /* Georgian */
    { 0x10d0, NGX_HTTP_LLM_TA(LOW, GREEK) },
    { 0x1100, NGX_HTTP_LLM_TA(BOTH, HANGUL) },    /* Hangul Jamo */
    { 0x1200, NGX_HTTP_LLM_TA(BOTH, OTHER) },     /* Ethiopic */
    { 0x1360, NGX_HTTP_LLM_TA(PUNCT, OTHER) },
    { 0x1369, NGX_HTTP_LLM_TA(NUM, OTHER) },
    { 0x137d, NGX_HTTP_LLM_TA(BOTH, OTHER) },
    { 0x13a0, NGX_HTTP_LLM_TA(UP, GREEK) },       /* Cherokee */
    { 0x13f8, NGX_HTTP_LLM_TA(LOW, GREEK) },
    { 0x1400, NGX_HTTP_LLM_TA(BOTH, OTHER) },     /* Canadian syllabics */
    { 0x1680, NGX_HTTP_LLM_TA(WS, OTHER) },
    { 0x1681, NGX_HTTP_LLM_TA(BOTH, OTHER) },
    { 0x1780, NGX_HTTP_LLM_TA(BOTH, SEA) },       /* Khmer */
    { 0x17d4, NGX_HTTP_LLM_TA(PUNCT, OTHER) },
    { 0x17e0, NGX_HTTP_LLM_TA(NUM, OTHER) },
    { 0x17ea, NGX_HTTP_LLM_TA(BOTH, SEA) },
    { 0x1800, NGX_HTTP_LLM_TA(BOTH, OTHER) },     /* Mongolian, ... */
    { 0x1c80, NGX_HTTP_LLM_TA(LOW, CYRL) },
    { 0x1c90, NGX_HTTP_LLM_TA(UP, GREEK) },       /* Georgian Mtavruli */
    { 0x1cc0, NGX_HTTP_LLM_TA(BOTH, OTHER) },
    { 0x1d00, NGX_HTTP_LLM_TA(LOW, LATIN) },      /* phonetic extensions */
    { 0x1dc0, NGX_HTTP_LLM_TA(BOTH, OTHER) },
    { 0x1e00, NGX_HTTP_LLM_TA(ALT, LATIN) },      /* Latin Ext. Additional */
    { 0x1e96, NGX_HTTP_LLM_TA(LOW, LATIN) },
    { 0x1e9e, NGX_HTTP_LLM_TA(ALT, LATIN) },
    { 0x1f00, NGX_HTTP_LLM_TA(LOW, GREEK) },      /* Greek Extended */
    { 0x2000, NGX_HTTP_LLM_TA(WS, OTHER) },
    { 0x200b, NGX_HTTP_LLM_TA(PUNCT, OTHER) },
    { 0x2028, NGX_HTTP_LLM_TA(WS, OTHER) },
    { 0x202a, NGX_HTTP_LLM_TA(PUNCT, OTHER) },
    { 0x202f, NGX_HTTP_LLM_TA(WS, OTHER) },
    { 0x2030, NGX_HTTP_LLM_TA(PUNCT, OTHER) },
    { 0x205f, NGX_HTTP_LLM_TA(WS, OTHER) },
    { 0x2060, NGX_HTTP_LLM_TA(PUNCT, OTHER) },
    { 0x2070, NGX_HTTP_LLM_TA(NUM, OTHER) },
    { 0x2071, NGX_HTTP_LLM_TA(BOTH, LATIN) },
    { 0x2072, NGX_HTTP_LLM_TA(PUNCT, OTHER) },
    { 0x2074, NGX_HTTP_LLM_TA(NUM, OTHER) },
    { 0x207a, NGX_HTTP_LLM_TA(PUNCT, OTHER) },
    { 0x207f, NGX_HTTP_LLM_TA(BOTH, LATIN) },
    { 0x2080, NGX_HTTP_LLM_TA(NUM, OTHER) },
    { 0x208a, NGX_HTTP_LLM_TA(PUNCT, OTHER) },
    { 0x2090, NGX_HTTP_LLM_TA(BOTH, LATIN) },
    { 0x209d, NGX_HTTP_LLM_TA(PUNCT, OTHER) },
    { 0x20d0, NGX_HTTP_LLM_TA(BOTH, OTHER) },
    { 0x2100, NGX_HTTP_LLM_TA(PUNCT, OTHER) },
    { 0x2150, NGX_HTTP_LLM_TA(NUM, OTHER) },
    { 0x218a, NGX_HTTP_LLM_TA(PUNCT, OTHER) },
    { 0x2460, NGX_HTTP_LLM_TA(NUM, OTHER) },
    { 0x249c, NGX_HTTP_LLM_TA(PUNCT, OTHER) },
    { 0x24ea, NGX_HTTP_LLM_TA(NUM, OTHER) },
    { 0x2500, NGX_HTTP_LLM_TA(PUNCT, OTHER) },    /* symbols, dingbats */
    { 0x2c00, NGX_HTTP_LLM_TA(UP, GREEK) },       /* Glagolitic */
    { 0x2c30, NGX_HTTP_LLM_TA(LOW, GREEK) },
    { 0x2c60, NGX_HTTP_LLM_TA(LOW, LATIN) },      /* Latin Extended-C, Coptic */
    { 0x2d00, NGX_HTTP_LLM_TA(LOW, GREEK) },
    { 0x2d30, NGX_HTTP_LLM_TA(BOTH, OTHER) },
    { 0x2e00, NGX_HTTP_LLM_TA(PUNCT, OTHER) },    /* punct., CJK radicals */
    { 0x3000, NGX_HTTP_LLM_TA(WS, OTHER) },
    { 0x3001, NGX_HTTP_LLM_TA(PUNCT, OTHER) },
    { 0x3005, NGX_HTTP_LLM_TA(BOTH, HAN) },
    { 0x3007, NGX_HTTP_LLM_TA(NUM, OTHER) },
    { 0x3008, NGX_HTTP_LLM_TA(PUNCT, OTHER) },
    { 0x3021, NGX_HTTP_LLM_TA(NUM, OTHER) },
    { 0x302a, NGX_HTTP_LLM_TA(BOTH, HAN) },
    { 0x3030, NGX_HTTP_LLM_TA(PUNCT, OTHER) },
    { 0x3031, NGX_HTTP_LLM_TA(BOTH, KANA) },
    { 0x3036, NGX_HTTP_LLM_TA(PUNCT, OTHER) },
    { 0x3038, NGX_HTTP_LLM_TA(NUM, OTHER) },
    { 0x303b, NGX_HTTP_LLM_TA(BOTH, HAN) },
    { 0x303d, NGX_HTTP_LLM_TA(PUNCT, OTHER) },
    { 0x3041, NGX_HTTP_LLM_TA(BOTH, KANA) },      /* Hiragana */
    { 0x309b, NGX_HTTP_LLM_TA(PUNCT, OTHER) },
    { 0x309d, NGX_HTTP_LLM_TA(BOTH, KANA) },
    { 0x30a0, NGX_HTTP_LLM_TA(PUNCT, OTHER) },
    { 0x30a1, NGX_HTTP_LLM_TA(BOTH, KANA) },      /* Katakana */
    { 0x30fb, NGX_HTTP_LLM_TA(PUNCT, OTHER) },
    { 0x30fc, NGX_HTTP_LLM_TA(BOTH, KANA) },
    { 0x3100, NGX_HTTP_LLM_TA(BOTH, OTHER) },     /* Bopomofo */
    { 0x3130, NGX_HTTP_LLM_TA(BOTH, HANGUL) },    /* Hangul compat. Jamo */
    { 0x3190, NGX_HTTP_LLM_TA(PUNCT, OTHER) },
    { 0x31a0, NGX_HTTP_LLM_TA(BOTH, OTHER) },
    { 0x31c0, NGX_HTTP_LLM_TA(PUNCT, OTHER) },
    { 0x31f0, NGX_HTTP_LLM_TA(BOTH, KANA) },
    { 0x3200, NGX_HTTP_LLM_TA(PUNCT, OTHER) },    /* enclosed CJK */
    { 0x3220, NGX_HTTP_LLM_TA(NUM, OTHER) },
    { 0x322a, NGX_HTTP_LLM_TA(PUNCT, OTHER) },
    { 0x3280, NGX_HTTP_LLM_TA(NUM, OTHER) },
    { 0x328a, NGX_HTTP_LLM_TA(PUNCT, OTHER) },
    { 0x3400, NGX_HTTP_LLM_TA(BOTH, HAN) },       /* CJK Extension A */
    { 0x4dc0, NGX_HTTP_LLM_TA(PUNCT, OTHER) },
    { 0x4e00, NGX_HTTP_LLM_TA(BOTH, HAN) },       /* CJK Unified Ideographs */
    { 0xa000, NGX_HTTP_LLM_TA(BOTH, OTHER) },     /* Yi, Lisu, Vai, ... */
    { 0xa640, NGX_HTTP_LLM_TA(ALT, CYRL) },
    { 0xa670, NGX_HTTP_LLM_TA(BOTH, OTHER) },
    { 0xa680, NGX_HTTP_LLM_TA(ALT, CYRL) },
    { 0xa69e, NGX_HTTP_LLM_TA(BOTH, OTHER) },
    { 0xa700, NGX_HTTP_LLM_TA(PUNCT, OTHER) },
    { 0xa722, NGX_HTTP_LLM_TA(ALT, LATIN) },      /* Latin Extended-D */
    { 0xa800, NGX_HTTP_LLM_TA(BOTH, INDIC) },
    { 0xa830, NGX_HTTP_LLM_TA(PUNCT, OTHER) },
    { 0xa840, NGX_HTTP_LLM_TA(BOTH, INDIC) },
    { 0xab30, NGX_HTTP_LLM_TA(LOW, LATIN) },
    { 0xab70, NGX_HTTP_LLM_TA(LOW, GREEK) },
    { 0xabc0, NGX_HTTP_LLM_TA(BOTH, INDIC) },
    { 0xac00, NGX_HTTP_LLM_TA(BOTH, HANGUL) },    /* Hangul syllables */
    { 0xd800, NGX_HTTP_LLM_TA(PUNCT, OTHER) },    /* private use */
    { 0xf900, NGX_HTTP_LLM_TA(BOTH, HAN) },       /* CJK compat. ideographs */
    { 0xfb00, NGX_HTTP_LLM_TA(LOW, LATIN) },
    { 0xfb1d, NGX_HTTP_LLM_TA(BOTH, ARABIC) },
    { 0xfe00, NGX_HTTP_LLM_TA(BOTH, OTHER) },     /* variation selectors */
    { 0xfe10, NGX_HTTP_LLM_TA(PUNCT, OTHER) },
    { 0xfe20, NGX_HTTP_LLM_TA(BOTH, OTHER) },
    { 0xfe30, NGX_HTTP_LLM_TA(PUNCT, OTHER) },
    { 0xfe70, NGX_HTTP_LLM_TA(BOTH, ARABIC) },
    { 0xfeff, NGX_HTTP_LLM_TA(WS, OTHER) },       /* \s in JavaScript */
    { 0xff00, NGX_HTTP_LLM_TA(PUNCT, OTHER) },    /* fullwidth forms */
    { 0xff10, NGX_HTTP_LLM_TA(NUM, OTHER) },
    { 0xff1a, NGX_HTTP_LLM_TA(PUNCT, OTHER) },
    { 0xff21, NGX_HTTP_LLM_TA(UP, LATIN) },
    { 0xff3b, NGX_HTTP_LLM_TA(PUNCT, OTHER) },
    { 0xff41, NGX_HTTP_LLM_TA(LOW, LATIN) },
    { 0xff5b, NGX_HTTP_LLM_TA(PUNCT, OTHER) },
    { 0xff66, NGX_HTTP_LLM_TA(BOTH, KANA) },
    { 0xffa0, NGX_HTTP_LLM_TA(BOTH, HANGUL) },
    { 0xffe0, NGX_HTTP_LLM_TA(PUNCT, OTHER) },
    { 0x10000, NGX_HTTP_LLM_TA(BOTH, OTHER) },    /* historic scripts */
    { 0x1d000, NGX_HTTP_LLM_TA(PUNCT, OTHER) },
    { 0x1d400, NGX_HTTP_LLM_TA(LOW, LATIN) },     /* math. alphanumerics */
    { 0x1d7ce, NGX_HTTP_LLM_TA(NUM, OTHER) },
    { 0x1d800, NGX_HTTP_LLM_TA(BOTH, OTHER) },
    { 0x1f000, NGX_HTTP_LLM_TA(PUNCT, OTHER) },   /* emoji and other symbols */
    { 0x1f100, NGX_HTTP_LLM_TA(NUM, OTHER) },
    { 0x1f10d, NGX_HTTP_LLM_TA(PUNCT, OTHER) },
    { 0x1fbf0, NGX_HTTP_LLM_TA(NUM, OTHER) },
    { 0x1fbfa, NGX_HTTP_LLM_TA(PUNCT, OTHER) },
    { 0x20000, NGX_HTTP_LLM_TA(BOTH, HAN) },      /* CJK Extensions B - H */
    { 0x32400, NGX_HTTP_LLM_TA(PUNCT, OTHER) },
    { 0xe0100, NGX_HTTP_LLM_TA(BOTH, OTHER) },    /* variation selectors */
    { 0xe01f0, NGX_HTTP_LLM_TA(PUNCT, OTHER) }
};


/*
 * U+0080 .. U+00FF as the ranges above give them, one byte each (written
 * from them; t/unit/tokens_fast_test.c checks that they agree)
 */

static const u_char  ngx_http_llm_tokens_latin1[128] = {
    0xa6, 0xa6, 0xa6, 0xa6, 0xa6, 0xa6, 0xa6, 0xa6,
    0xa6, 0xa6, 0xa6, 0xa6, 0xa6, 0xa6, 0xa6, 0xa6,
    0xa6, 0xa6, 0xa6, 0xa6, 0xa6, 0xa6, 0xa6, 0xa6,
    0xa6, 0xa6, 0xa6, 0xa6, 0xa6, 0xa6, 0xa6, 0xa6,
    0xa0, 0xa6, 0xa6, 0xa6, 0xa6, 0xa6, 0xa6, 0xa6,
    0xa6, 0xa6, 0x14, 0xa6, 0xa6, 0xa6, 0xa6, 0xa6,
    0xa6, 0xa6, 0xa5, 0xa5, 0xa6, 0x13, 0xa6, 0xa6,
    0xa6, 0xa5, 0x14, 0xa6, 0xa5, 0xa5, 0xa5, 0xa6,
    0x12, 0x12, 0x12, 0x12, 0x12, 0x12, 0x12, 0x12,
    0x12, 0x12, 0x12, 0x12, 0x12, 0x12, 0x12, 0x12,
    0x12, 0x12, 0x12, 0x12, 0x12, 0x12, 0x12, 0xa6,
    0x12, 0x12, 0x12, 0x12, 0x12, 0x12, 0x12, 0x13,
    0x13, 0x13, 0x13, 0x13, 0x13, 0x13, 0x13, 0x13,
    0x13, 0x13, 0x13, 0x13, 0x13, 0x13, 0x13, 0x13,
    0x13, 0x13, 0x13, 0x13, 0x13, 0x13, 0x13, 0xa6,
    0x13, 0x13, 0x13, 0x13, 0x13, 0x13, 0x13, 0x13
};


/*
 * U+0100 .. U+0FFF (Latin Extended, IPA, Greek, Cyrillic, Armenian, Hebrew,
 * Arabic, Indic scripts, Thai, Lao, Tibetan, ...) as the ranges above give
 * them, one byte each, so that the letters of most scripts need no search
 * (written from them; t/unit/tokens_fast_test.c checks that they agree)
 */

static const u_char  ngx_http_llm_tokens_bmp[0x1000 - 0x100] = {
    /* U+0100 */
    0x12, 0x13, 0x12, 0x13, 0x12, 0x13, 0x12, 0x13, 0x12, 0x13, 0x12, 0x13,
    0x12, 0x13, 0x12, 0x13, 0x12, 0x13, 0x12, 0x13, 0x12, 0x13, 0x12, 0x13,
    0x12, 0x13, 0x12, 0x13, 0x12, 0x13, 0x12, 0x13, 0x12, 0x13, 0x12, 0x13,
    0x12, 0x13, 0x12, 0x13, 0x12, 0x13, 0x12, 0x13, 0x12, 0x13, 0x12, 0x13,
    0x12, 0x13, 0x12, 0x13, 0x12, 0x13, 0x12, 0x13, 0x13, 0x12, 0x13, 0x12,
    0x13, 0x12, 0x13, 0x12, 0x13, 0x12, 0x13, 0x12, 0x13, 0x12, 0x13, 0x12,
    0x13, 0x13, 0x12, 0x13, 0x12, 0x13, 0x12, 0x13, 0x12, 0x13, 0x12, 0x13,
    0x12, 0x13, 0x12, 0x13, 0x12, 0x13, 0x12, 0x13, 0x12, 0x13, 0x12, 0x13,
    0x12, 0x13, 0x12, 0x13, 0x12, 0x13, 0x12, 0x13, 0x12, 0x13, 0x12, 0x13,
    0x12, 0x13, 0x12, 0x13, 0x12, 0x13, 0x12, 0x13, 0x12, 0x13, 0x12, 0x13,
    0x12, 0x12, 0x13, 0x12, 0x13, 0x12, 0x13, 0x13, 0x13, 0x13, 0x13, 0x13,
    0x13, 0x13, 0x13, 0x13, 0x13, 0x13, 0x13, 0x13, 0x13, 0x13, 0x13, 0x13,
    0x13, 0x13, 0x13, 0x13, 0x13, 0x13, 0x13, 0x13, 0x13, 0x13, 0x13, 0x13,
    0x13, 0x13, 0x13, 0x13, 0x13, 0x13, 0x13, 0x13, 0x13, 0x13, 0x13, 0x13,
    0x13, 0x13, 0x13, 0x13, 0x13, 0x13, 0x13, 0x13, 0x13, 0x13, 0x13, 0x13,
    0x13, 0x13, 0x13, 0x13, 0x13, 0x13, 0x13, 0x13, 0x13, 0x13, 0x13, 0x13,
    0x13, 0x13, 0x13, 0x13, 0x13, 0x13, 0x13, 0x13, 0x13, 0x13, 0x13, 0x13,
    0x13, 0x13, 0x13, 0x13, 0x13, 0x13, 0x13, 0x13, 0x13, 0x13, 0x13, 0x13,
    0x13, 0x13, 0x13, 0x13, 0x13, 0x13, 0x13, 0x13, 0x13, 0x13, 0x13, 0x13,
    0x13, 0x13, 0x13, 0x13, 0x13, 0x13, 0x13, 0x13, 0x13, 0x13, 0x13, 0x13,
    0x13, 0x13, 0x13, 0x13, 0x13, 0x13, 0x13, 0x13, 0x13, 0x13, 0x13, 0x13,
    0x13, 0x13, 0x13, 0x13,
    /* U+0200 */
    0x13, 0x13, 0x13, 0x13, 0x13, 0x13, 0x13, 0x13, 0x13, 0x13, 0x13, 0x13,
    0x13, 0x13, 0x13, 0x13, 0x13, 0x13, 0x13, 0x13, 0x13, 0x13, 0x13, 0x13,
    0x13, 0x13, 0x13, 0x13, 0x13, 0x13, 0x13, 0x13, 0x13, 0x13, 0x13, 0x13,
    0x13, 0x13, 0x13, 0x13, 0x13, 0x13, 0x13, 0x13, 0x13, 0x13, 0x13, 0x13,
    0x13, 0x13, 0x13, 0x13, 0x13, 0x13, 0x13, 0x13, 0x13, 0x13, 0x13, 0x13,
    0x13, 0x13, 0x13, 0x13, 0x13, 0x13, 0x13, 0x13, 0x13, 0x13, 0x13, 0x13,
    0x13, 0x13, 0x13, 0x13, 0x13, 0x13, 0x13, 0x13, 0x13, 0x13, 0x13, 0x13,
    0x13, 0x13, 0x13, 0x13, 0x13, 0x13, 0x13, 0x13, 0x13, 0x13, 0x13, 0x13,
    0x13, 0x13, 0x13, 0x13, 0x13, 0x13, 0x13, 0x13, 0x13, 0x13, 0x13, 0x13,
    0x13, 0x13, 0x13, 0x13, 0x13, 0x13, 0x13, 0x13, 0x13, 0x13, 0x13, 0x13,
    0x13, 0x13, 0x13, 0x13, 0x13, 0x13, 0x13, 0x13, 0x13, 0x13, 0x13, 0x13,
    0x13, 0x13, 0x13, 0x13, 0x13, 0x13, 0x13, 0x13, 0x13, 0x13, 0x13, 0x13,
    0x13, 0x13, 0x13, 0x13, 0x13, 0x13, 0x13, 0x13, 0x13, 0x13, 0x13, 0x13,
    0x13, 0x13, 0x13, 0x13, 0x13, 0x13, 0x13, 0x13, 0x13, 0x13, 0x13, 0x13,
    0x13, 0x13, 0x13, 0x13, 0x13, 0x13, 0x13, 0x13, 0x14, 0x14, 0x14, 0x14,
    0x14, 0x14, 0x14, 0x14, 0x14, 0x14, 0x14, 0x14, 0x14, 0x14, 0x14, 0x14,
    0x14, 0x14, 0xa6, 0xa6, 0xa6, 0xa6, 0x14, 0x14, 0x14, 0x14, 0x14, 0x14,
    0x14, 0x14, 0x14, 0x14, 0x14, 0x14, 0xa6, 0xa6, 0xa6, 0xa6, 0xa6, 0xa6,
    0xa6, 0xa6, 0xa6, 0xa6, 0xa6, 0xa6, 0xa6, 0xa6, 0x14, 0x14, 0x14, 0x14,
    0x14, 0xa6, 0xa6, 0xa6, 0xa6, 0xa6, 0xa6, 0xa6, 0xa6, 0xa6, 0xa6, 0xa6,
    0xa6, 0xa6, 0xa6, 0xa6, 0xa6, 0xa6, 0xa6, 0xa6, 0xa6, 0xa6, 0xa6, 0xa6,
    0xa6, 0xa6, 0xa6, 0xa6,
    /* U+0300 */
    0xa4, 0xa4, 0xa4, 0xa4, 0xa4, 0xa4, 0xa4, 0xa4, 0xa4, 0xa4, 0xa4, 0xa4,
    0xa4, 0xa4, 0xa4, 0xa4, 0xa4, 0xa4, 0xa4, 0xa4, 0xa4, 0xa4, 0xa4, 0xa4,
    0xa4, 0xa4, 0xa4, 0xa4, 0xa4, 0xa4, 0xa4, 0xa4, 0xa4, 0xa4, 0xa4, 0xa4,
    0xa4, 0xa4, 0xa4, 0xa4, 0xa4, 0xa4, 0xa4, 0xa4, 0xa4, 0xa4, 0xa4, 0xa4,
    0xa4, 0xa4, 0xa4, 0xa4, 0xa4, 0xa4, 0xa4, 0xa4, 0xa4, 0xa4, 0xa4, 0xa4,
    0xa4, 0xa4, 0xa4, 0xa4, 0xa4, 0xa4, 0xa4, 0xa4, 0xa4, 0xa4, 0xa4, 0xa4,
    0xa4, 0xa4, 0xa4, 0xa4, 0xa4, 0xa4, 0xa4, 0xa4, 0xa4, 0xa4, 0xa4, 0xa4,
    0xa4, 0xa4, 0xa4, 0xa4, 0xa4, 0xa4, 0xa4, 0xa4, 0xa4, 0xa4, 0xa4, 0xa4,
    0xa4, 0xa4, 0xa4, 0xa4, 0xa4, 0xa4, 0xa4, 0xa4, 0xa4, 0xa4, 0xa4, 0xa4,
    0xa4, 0xa4, 0xa4, 0xa4, 0x32, 0x33, 0x32, 0x33, 0xa6, 0xa6, 0x32, 0x33,
    0xa6, 0xa6, 0xa6, 0x33, 0x33, 0x33, 0xa6, 0x32, 0xa6, 0xa6, 0xa6, 0xa6,
    0xa6, 0xa6, 0x32, 0xa6, 0x32, 0x32, 0x32, 0x32, 0x32, 0x32, 0x32, 0x32,
    0x33, 0x32, 0x32, 0x32, 0x32, 0x32, 0x32, 0x32, 0x32, 0x32, 0x32, 0x32,
    0x32, 0x32, 0x32, 0x32, 0x32, 0x32, 0x32, 0x32, 0x32, 0x32, 0x32, 0x32,
    0x32, 0x32, 0x32, 0x32, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33,
    0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33,
    0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33,
    0x33, 0x33, 0x33, 0x32, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33,
    0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33,
    0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33,
    0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33,
    0x33, 0x33, 0x33, 0x33,
    /* U+0400 */
    0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22,
    0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22,
    0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22,
    0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22,
    0x23, 0x23, 0x23, 0x23, 0x23, 0x23, 0x23, 0x23, 0x23, 0x23, 0x23, 0x23,
    0x23, 0x23, 0x23, 0x23, 0x23, 0x23, 0x23, 0x23, 0x23, 0x23, 0x23, 0x23,
    0x23, 0x23, 0x23, 0x23, 0x23, 0x23, 0x23, 0x23, 0x23, 0x23, 0x23, 0x23,
    0x23, 0x23, 0x23, 0x23, 0x23, 0x23, 0x23, 0x23, 0x23, 0x23, 0x23, 0x23,
    0x22, 0x23, 0x22, 0x23, 0x22, 0x23, 0x22, 0x23, 0x22, 0x23, 0x22, 0x23,
    0x22, 0x23, 0x22, 0x23, 0x22, 0x23, 0x22, 0x23, 0x22, 0x23, 0x22, 0x23,
    0x22, 0x23, 0x22, 0x23, 0x22, 0x23, 0x22, 0x23, 0x22, 0x23, 0xa6, 0xa4,
    0xa4, 0xa4, 0xa4, 0xa4, 0xa4, 0xa4, 0x22, 0x23, 0x22, 0x23, 0x22, 0x23,
    0x22, 0x23, 0x22, 0x23, 0x22, 0x23, 0x22, 0x23, 0x22, 0x23, 0x22, 0x23,
    0x22, 0x23, 0x22, 0x23, 0x22, 0x23, 0x22, 0x23, 0x22, 0x23, 0x22, 0x23,
    0x22, 0x23, 0x22, 0x23, 0x22, 0x23, 0x22, 0x23, 0x22, 0x23, 0x22, 0x23,
    0x22, 0x23, 0x22, 0x23, 0x22, 0x23, 0x22, 0x23, 0x22, 0x23, 0x22, 0x23,
    0x22, 0x22, 0x23, 0x22, 0x23, 0x22, 0x23, 0x22, 0x23, 0x22, 0x23, 0x22,
    0x23, 0x22, 0x23, 0x23, 0x22, 0x23, 0x22, 0x23, 0x22, 0x23, 0x22, 0x23,
    0x22, 0x23, 0x22, 0x23, 0x22, 0x23, 0x22, 0x23, 0x22, 0x23, 0x22, 0x23,
    0x22, 0x23, 0x22, 0x23, 0x22, 0x23, 0x22, 0x23, 0x22, 0x23, 0x22, 0x23,
    0x22, 0x23, 0x22, 0x23, 0x22, 0x23, 0x22, 0x23, 0x22, 0x23, 0x22, 0x23,
    0x22, 0x23, 0x22, 0x23,
    /* U+0500 */
    0x22, 0x23, 0x22, 0x23, 0x22, 0x23, 0x22, 0x23, 0x22, 0x23, 0x22, 0x23,
    0x22, 0x23, 0x22, 0x23, 0x22, 0x23, 0x22, 0x23, 0x22, 0x23, 0x22, 0x23,
    0x22, 0x23, 0x22, 0x23, 0x22, 0x23, 0x22, 0x23, 0x22, 0x23, 0x22, 0x23,
    0x22, 0x23, 0x22, 0x23, 0x22, 0x23, 0x22, 0x23, 0x22, 0x23, 0x22, 0x23,
    0x32, 0x32, 0x32, 0x32, 0x32, 0x32, 0x32, 0x32, 0x32, 0x32, 0x32, 0x32,
    0x32, 0x32, 0x32, 0x32, 0x32, 0x32, 0x32, 0x32, 0x32, 0x32, 0x32, 0x32,
    0x32, 0x32, 0x32, 0x32, 0x32, 0x32, 0x32, 0x32, 0x32, 0x32, 0x32, 0x32,
    0x32, 0x32, 0x32, 0x34, 0x34, 0x34, 0x34, 0x34, 0x34, 0x34, 0x34, 0x34,
    0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33,
    0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33,
    0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33,
    0x33, 0x33, 0x33, 0x33, 0x33, 0xa6, 0xa6, 0xa6, 0xa6, 0xa6, 0xa6, 0xa6,
    0xa6, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74,
    0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74,
    0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74,
    0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0xa6, 0x74,
    0xa6, 0x74, 0x74, 0xa6, 0x74, 0x74, 0xa6, 0x74, 0x74, 0x74, 0x74, 0x74,
    0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74,
    0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74,
    0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74,
    0x74, 0x74, 0x74, 0xa6, 0xa6, 0xa6, 0xa6, 0xa6, 0xa6, 0xa6, 0xa6, 0xa6,
    0xa6, 0xa6, 0xa6, 0xa6,
    /* U+0600 */
    0xa6, 0xa6, 0xa6, 0xa6, 0xa6, 0xa6, 0xa6, 0xa6, 0xa6, 0xa6, 0xa6, 0xa6,
    0xa6, 0xa6, 0xa6, 0xa6, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74,
    0x74, 0x74, 0x74, 0xa6, 0xa6, 0xa6, 0xa6, 0xa6, 0x74, 0x74, 0x74, 0x74,
    0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74,
    0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74,
    0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74,
    0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74,
    0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74,
    0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa6, 0xa6,
    0xa6, 0xa6, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74,
    0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74,
    0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74,
    0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74,
    0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74,
    0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74,
    0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74,
    0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74,
    0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0xa6, 0x74, 0x74, 0x74,
    0x74, 0x74, 0x74, 0x74, 0x74, 0xa6, 0xa6, 0x74, 0x74, 0x74, 0x74, 0x74,
    0x74, 0x74, 0x74, 0x74, 0x74, 0xa6, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74,
    0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0x74, 0x74,
    0x74, 0x74, 0x74, 0x74,
    /* U+0700 */
    0xa6, 0xa6, 0xa6, 0xa6, 0xa6, 0xa6, 0xa6, 0xa6, 0xa6, 0xa6, 0xa6, 0xa6,
    0xa6, 0xa6, 0xa6, 0xa6, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74,
    0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74,
    0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74,
    0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74,
    0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74,
    0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74,
    0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74,
    0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74,
    0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74,
    0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74,
    0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74,
    0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74,
    0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74,
    0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74,
    0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74,
    0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74,
    0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74,
    0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74,
    0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74,
    0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74,
    0x74, 0x74, 0x74, 0x74,
    /* U+0800 */
    0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74,
    0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74,
    0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74,
    0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74,
    0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74,
    0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74,
    0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74,
    0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74,
    0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74,
    0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74,
    0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74,
    0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74,
    0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74,
    0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74,
    0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74,
    0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74,
    0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74,
    0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74,
    0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74,
    0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74,
    0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74, 0x74,
    0x74, 0x74, 0x74, 0x74,
    /* U+0900 */
    0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84,
    0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84,
    0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84,
    0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84,
    0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84,
    0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84,
    0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84,
    0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84,
    0x84, 0x84, 0x84, 0x84, 0xa6, 0xa6, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5,
    0xa5, 0xa5, 0xa5, 0xa5, 0xa6, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84,
    0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84,
    0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84,
    0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84,
    0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84,
    0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84,
    0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84,
    0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84,
    0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84,
    0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84,
    0x84, 0x84, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5,
    0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84,
    0x84, 0x84, 0x84, 0x84,
    /* U+0A00 */
    0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84,
    0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84,
    0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84,
    0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84,
    0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84,
    0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84,
    0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84,
    0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84,
    0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5,
    0xa5, 0xa5, 0xa5, 0xa5, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84,
    0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84,
    0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84,
    0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84,
    0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84,
    0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84,
    0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84,
    0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84,
    0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84,
    0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84,
    0x84, 0x84, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5,
    0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84,
    0x84, 0x84, 0x84, 0x84,
    /* U+0B00 */
    0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84,
    0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84,
    0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84,
    0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84,
    0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84,
    0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84,
    0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84,
    0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84,
    0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5,
    0xa5, 0xa5, 0xa5, 0xa5, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84,
    0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84,
    0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84,
    0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84,
    0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84,
    0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84,
    0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84,
    0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84,
    0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84,
    0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84,
    0x84, 0x84, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5,
    0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84,
    0x84, 0x84, 0x84, 0x84,
    /* U+0C00 */
    0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84,
    0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84,
    0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84,
    0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84,
    0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84,
    0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84,
    0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84,
    0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84,
    0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5,
    0xa5, 0xa5, 0xa5, 0xa5, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84,
    0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84,
    0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84,
    0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84,
    0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84,
    0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84,
    0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84,
    0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84,
    0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84,
    0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84,
    0x84, 0x84, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5,
    0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84,
    0x84, 0x84, 0x84, 0x84,
    /* U+0D00 */
    0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84,
    0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84,
    0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84,
    0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84,
    0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84,
    0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84,
    0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84,
    0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84,
    0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5,
    0xa5, 0xa5, 0xa5, 0xa5, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84,
    0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84,
    0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84,
    0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84,
    0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84,
    0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84,
    0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84,
    0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84,
    0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84,
    0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84,
    0x84, 0x84, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5,
    0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84,
    0x84, 0x84, 0x84, 0x84,
    /* U+0E00 */
    0x94, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94,
    0x94, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94,
    0x94, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94,
    0x94, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94,
    0x94, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94,
    0x94, 0x94, 0x94, 0xa6, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94,
    0x94, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94, 0xa6, 0xa5, 0xa5, 0xa5, 0xa5,
    0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa6, 0xa6, 0x94, 0x94, 0x94, 0x94,
    0x94, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94,
    0x94, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94,
    0x94, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94,
    0x94, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94,
    0x94, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94,
    0x94, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94,
    0x94, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94,
    0x94, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94,
    0x94, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94,
    0x94, 0x94, 0x94, 0x94, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5,
    0xa5, 0xa5, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94,
    0x94, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94,
    0x94, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94,
    0x94, 0x94, 0x94, 0x94,
    /* U+0F00 */
    0x94, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94,
    0x94, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94,
    0x94, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94, 0xa5, 0xa5, 0xa5, 0xa5,
    0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5,
    0xa5, 0xa5, 0xa5, 0xa5, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94,
    0x94, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94,
    0x94, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94,
    0x94, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94,
    0x94, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94,
    0x94, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94,
    0x94, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94,
    0x94, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94,
    0x94, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94,
    0x94, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94,
    0x94, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94,
    0x94, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94,
    0x94, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94,
    0x94, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94,
    0x94, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94,
    0x94, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94,
    0x94, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94,
    0x94, 0x94, 0x94, 0x94
};


/*
 * and U+1E00 .. U+20FF (Latin Extended Additional: Vietnamese; Greek
 * Extended; general punctuation: ’ “ ” …; super- and subscripts; currency
 * symbols), the same way
 */

static const u_char  ngx_http_llm_tokens_punct_block[0x2100 - 0x1e00] = {
    /* U+1E00 */
    0x12, 0x13, 0x12, 0x13, 0x12, 0x13, 0x12, 0x13, 0x12, 0x13, 0x12, 0x13,
    0x12, 0x13, 0x12, 0x13, 0x12, 0x13, 0x12, 0x13, 0x12, 0x13, 0x12, 0x13,
    0x12, 0x13, 0x12, 0x13, 0x12, 0x13, 0x12, 0x13, 0x12, 0x13, 0x12, 0x13,
    0x12, 0x13, 0x12, 0x13, 0x12, 0x13, 0x12, 0x13, 0x12, 0x13, 0x12, 0x13,
    0x12, 0x13, 0x12, 0x13, 0x12, 0x13, 0x12, 0x13, 0x12, 0x13, 0x12, 0x13,
    0x12, 0x13, 0x12, 0x13, 0x12, 0x13, 0x12, 0x13, 0x12, 0x13, 0x12, 0x13,
    0x12, 0x13, 0x12, 0x13, 0x12, 0x13, 0x12, 0x13, 0x12, 0x13, 0x12, 0x13,
    0x12, 0x13, 0x12, 0x13, 0x12, 0x13, 0x12, 0x13, 0x12, 0x13, 0x12, 0x13,
    0x12, 0x13, 0x12, 0x13, 0x12, 0x13, 0x12, 0x13, 0x12, 0x13, 0x12, 0x13,
    0x12, 0x13, 0x12, 0x13, 0x12, 0x13, 0x12, 0x13, 0x12, 0x13, 0x12, 0x13,
    0x12, 0x13, 0x12, 0x13, 0x12, 0x13, 0x12, 0x13, 0x12, 0x13, 0x12, 0x13,
    0x12, 0x13, 0x12, 0x13, 0x12, 0x13, 0x12, 0x13, 0x12, 0x13, 0x12, 0x13,
    0x12, 0x13, 0x12, 0x13, 0x12, 0x13, 0x13, 0x13, 0x13, 0x13, 0x13, 0x13,
    0x13, 0x13, 0x12, 0x13, 0x12, 0x13, 0x12, 0x13, 0x12, 0x13, 0x12, 0x13,
    0x12, 0x13, 0x12, 0x13, 0x12, 0x13, 0x12, 0x13, 0x12, 0x13, 0x12, 0x13,
    0x12, 0x13, 0x12, 0x13, 0x12, 0x13, 0x12, 0x13, 0x12, 0x13, 0x12, 0x13,
    0x12, 0x13, 0x12, 0x13, 0x12, 0x13, 0x12, 0x13, 0x12, 0x13, 0x12, 0x13,
    0x12, 0x13, 0x12, 0x13, 0x12, 0x13, 0x12, 0x13, 0x12, 0x13, 0x12, 0x13,
    0x12, 0x13, 0x12, 0x13, 0x12, 0x13, 0x12, 0x13, 0x12, 0x13, 0x12, 0x13,
    0x12, 0x13, 0x12, 0x13, 0x12, 0x13, 0x12, 0x13, 0x12, 0x13, 0x12, 0x13,
    0x12, 0x13, 0x12, 0x13, 0x12, 0x13, 0x12, 0x13, 0x12, 0x13, 0x12, 0x13,
    0x12, 0x13, 0x12, 0x13,
    /* U+1F00 */
    0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33,
    0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33,
    0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33,
    0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33,
    0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33,
    0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33,
    0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33,
    0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33,
    0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33,
    0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33,
    0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33,
    0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33,
    0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33,
    0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33,
    0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33,
    0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33,
    0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33,
    0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33,
    0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33,
    0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33,
    0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33,
    0x33, 0x33, 0x33, 0x33,
    /* U+2000 */
    0xa0, 0xa0, 0xa0, 0xa0, 0xa0, 0xa0, 0xa0, 0xa0, 0xa0, 0xa0, 0xa0, 0xa6,
    0xa6, 0xa6, 0xa6, 0xa6, 0xa6, 0xa6, 0xa6, 0xa6, 0xa6, 0xa6, 0xa6, 0xa6,
    0xa6, 0xa6, 0xa6, 0xa6, 0xa6, 0xa6, 0xa6, 0xa6, 0xa6, 0xa6, 0xa6, 0xa6,
    0xa6, 0xa6, 0xa6, 0xa6, 0xa0, 0xa0, 0xa6, 0xa6, 0xa6, 0xa6, 0xa6, 0xa0,
    0xa6, 0xa6, 0xa6, 0xa6, 0xa6, 0xa6, 0xa6, 0xa6, 0xa6, 0xa6, 0xa6, 0xa6,
    0xa6, 0xa6, 0xa6, 0xa6, 0xa6, 0xa6, 0xa6, 0xa6, 0xa6, 0xa6, 0xa6, 0xa6,
    0xa6, 0xa6, 0xa6, 0xa6, 0xa6, 0xa6, 0xa6, 0xa6, 0xa6, 0xa6, 0xa6, 0xa6,
    0xa6, 0xa6, 0xa6, 0xa6, 0xa6, 0xa6, 0xa6, 0xa6, 0xa6, 0xa6, 0xa6, 0xa0,
    0xa6, 0xa6, 0xa6, 0xa6, 0xa6, 0xa6, 0xa6, 0xa6, 0xa6, 0xa6, 0xa6, 0xa6,
    0xa6, 0xa6, 0xa6, 0xa6, 0xa5, 0x14, 0xa6, 0xa6, 0xa5, 0xa5, 0xa5, 0xa5,
    0xa5, 0xa5, 0xa6, 0xa6, 0xa6, 0xa6, 0xa6, 0x14, 0xa5, 0xa5, 0xa5, 0xa5,
    0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa6, 0xa6, 0xa6, 0xa6, 0xa6, 0xa6,
    0x14, 0x14, 0x14, 0x14, 0x14, 0x14, 0x14, 0x14, 0x14, 0x14, 0x14, 0x14,
    0x14, 0xa6, 0xa6, 0xa6, 0xa6, 0xa6, 0xa6, 0xa6, 0xa6, 0xa6, 0xa6, 0xa6,
    0xa6, 0xa6, 0xa6, 0xa6, 0xa6, 0xa6, 0xa6, 0xa6, 0xa6, 0xa6, 0xa6, 0xa6,
    0xa6, 0xa6, 0xa6, 0xa6, 0xa6, 0xa6, 0xa6, 0xa6, 0xa6, 0xa6, 0xa6, 0xa6,
    0xa6, 0xa6, 0xa6, 0xa6, 0xa6, 0xa6, 0xa6, 0xa6, 0xa6, 0xa6, 0xa6, 0xa6,
    0xa6, 0xa6, 0xa6, 0xa6, 0xa4, 0xa4, 0xa4, 0xa4, 0xa4, 0xa4, 0xa4, 0xa4,
    0xa4, 0xa4, 0xa4, 0xa4, 0xa4, 0xa4, 0xa4, 0xa4, 0xa4, 0xa4, 0xa4, 0xa4,
    0xa4, 0xa4, 0xa4, 0xa4, 0xa4, 0xa4, 0xa4, 0xa4, 0xa4, 0xa4, 0xa4, 0xa4,
    0xa4, 0xa4, 0xa4, 0xa4, 0xa4, 0xa4, 0xa4, 0xa4, 0xa4, 0xa4, 0xa4, 0xa4,
    0xa4, 0xa4, 0xa4, 0xa4
};


/* FITTED: begin (written by bench/estimator/fit.mjs, do not edit) */

/* a word of cased letters: [case][lead][letters] */
static const uint16_t  ngx_http_llm_tokens_word[4][3][25] = {
    {   /* word */
        {   /* no lead */
               0,  256,  258,  265,  275,  303,  324,  330,  344,  365,
             435,  435,  435,  435,  542,  617,  942,  942, 1016, 1016,
            1016, 1105, 1407, 1407, 1628
        },
        {   /* space */
               0,  256,  256,  257,  263,  264,  277,  277,  292,  306,
             321,  366,  376,  380,  520,  578,  928,  928, 1044, 1044,
            1044, 1133, 1377, 1377, 1628
        },
        {   /* other */
               0,  265,  278,  316,  318,  330,  336,  369,  452,  529,
             529,  562,  562,  562,  601,  786,  951,  951, 1037, 1037,
            1037, 1105, 1407, 1407, 1636
        }
    },
    {   /* Word */
        {   /* no lead */
               0,  256,  262,  262,  271,  271,  271,  286,  307,  307,
             430,  430,  430,  430,  587,  587,  998,  998,  998,  998,
             998, 1046, 1424, 1424, 1615
        },
        {   /* space */
               0,  256,  256,  258,  268,  294,  294,  295,  324,  380,
             380,  460,  460,  460,  614,  614,  994,  994,  994,  994,
             994, 1021, 1411, 1411, 1609
        },
        {   /* other */
               0,  261,  281,  357,  357,  381,  448,  448,  448,  448,
             448,  469,  482,  504,  592,  592, 1001, 1001, 1001, 1001,
            1001, 1046, 1424, 1424, 1615
        }
    },
    {   /* WORD */
        {   /* no lead */
               0,  258,  259,  341,  368,  434,  484,  484,  605,  605,
             605,  605,  663,  663,  663,  663, 1055, 1055, 1055, 1055,
            1055, 1075, 1480, 1480, 1621
        },
        {   /* space */
               0,  257,  257,  276,  326,  326,  377,  377,  403,  485,
             485,  485,  485,  485,  485,  485, 1032, 1032, 1032, 1032,
            1032, 1075, 1480, 1480, 1621
        },
        {   /* other */
               0,  258,  290,  397,  397,  397,  426,  604,  604,  635,
             635,  635,  656,  656,  656,  656, 1030, 1030, 1030, 1030,
            1030, 1075, 1538, 1538, 1621
        }
    },
    {   /* WORDword */
        {   /* no lead */
               0,  258,  259,  349,  486,  486,  486,  486,  500,  508,
             508,  508,  508,  508,  573,  573,  999,  999, 1007, 1007,
            1007, 1075, 1437, 1437, 1621
        },
        {   /* space */
               0,  258,  259,  298,  450,  450,  466,  466,  531,  532,
             532,  532,  532,  532,  573,  573,  999,  999, 1007, 1007,
            1007, 1075, 1437, 1437, 1621
        },
        {   /* other */
               0,  258,  259,  309,  438,  438,  491,  491,  543,  548,
             548,  548,  548,  548,  573,  573,  999,  999, 1007, 1007,
            1007, 1075, 1437, 1437, 1621
        }
    }
};

/* per letter above NGX_HTTP_LLM_TW_MAX_LEN */
#define NGX_HTTP_LLM_TOKENS_WORD_LONG          26

/* extra cost of a non-ASCII cased letter, by script */
static const int16_t  ngx_http_llm_tokens_cased[NGX_HTTP_LLM_TS_N] = {
       0,  184,   47,   59,    0,    0,    0,    0,    0,    0,    0
};

/* a word with uncased letters (CJK, ...): intercept by lead, rate by script */
static const int16_t  ngx_http_llm_tokens_uncased_lead[3] = {
      73,   61,  229
};

static const int16_t  ngx_http_llm_tokens_uncased[NGX_HTTP_LLM_TS_N] = {
      83,   77,   77,   77,  176,  170,  143,   85,   76,   97,  128
};

/* correction for short words: [letters], 1 to 4 */
static const int16_t  ngx_http_llm_tokens_uncased_short[5] = {
       0,   72,   58,   52,   53
};

/* 's 't 're 've 'm 'll 'd */
#define NGX_HTTP_LLM_TOKENS_CONTRACTION        22

/* a punctuation run: [lead][ASCII characters] */
static const uint16_t  ngx_http_llm_tokens_punct[2][17] = {
    {   /* no lead */
           0,  256,  258,  294,  407,  583,  597,  939, 1004, 1152,
        1152, 1431, 1431, 1431, 1431, 1431, 1548
    },
    {   /* space */
           0,  256,  260,  348,  499,  627,  627,  939,  970, 1152,
        1152, 1428, 1428, 1428, 1428, 1428, 1428
    }
};

#define NGX_HTTP_LLM_TOKENS_PUNCT_LONG         13
#define NGX_HTTP_LLM_TOKENS_PUNCT_SYM2         247
#define NGX_HTTP_LLM_TOKENS_PUNCT_SYM3         224
#define NGX_HTTP_LLM_TOKENS_PUNCT_SYM4         384
#define NGX_HTTP_LLM_TOKENS_PUNCT_NL           (-2)

/* FITTED: end */


/* a punctuation character alone, at least one token */

#define NGX_HTTP_LLM_TOKENS_PUNCT1                                           \
    (ngx_http_llm_tokens_punct[NGX_HTTP_LLM_TL_NONE][1]                     \
     < NGX_HTTP_LLM_TOKEN_UNIT                                               \
     ? NGX_HTTP_LLM_TOKEN_UNIT                                               \
     : ngx_http_llm_tokens_punct[NGX_HTTP_LLM_TL_NONE][1])


/*
 * Languages: the costs of words are scaled by the language of the text
 * (ngx_http_llm_tokens_lang()), fitted on a split of ../shared/eval/text by
 * bench/tokenizer/fit_lang.py.
 */

#define NGX_HTTP_LLM_TL_EN            0    /* English, code, unsure */
#define NGX_HTTP_LLM_TL_DE            1
#define NGX_HTTP_LLM_TL_FR            2
#define NGX_HTTP_LLM_TL_ES            3
#define NGX_HTTP_LLM_TL_PT            4
#define NGX_HTTP_LLM_TL_IT            5
#define NGX_HTTP_LLM_TL_ID            6
#define NGX_HTTP_LLM_TL_TR            7
#define NGX_HTTP_LLM_TL_PL            8
#define NGX_HTTP_LLM_TL_VI            9
#define NGX_HTTP_LLM_TL_RU            10
#define NGX_HTTP_LLM_TL_UK            11
#define NGX_HTTP_LLM_TL_AR            12
#define NGX_HTTP_LLM_TL_FA            13
#define NGX_HTTP_LLM_TL_HE            14
#define NGX_HTTP_LLM_TL_EL            15
#define NGX_HTTP_LLM_TL_ZH            16
#define NGX_HTTP_LLM_TL_JA            17
#define NGX_HTTP_LLM_TL_KO            18
#define NGX_HTTP_LLM_TL_TH            19
#define NGX_HTTP_LLM_TL_HI            20
#define NGX_HTTP_LLM_TL_BN            21
#define NGX_HTTP_LLM_TL_TA            22
#define NGX_HTTP_LLM_TL_N             23

/* scripts of letters, for the language */

#define NGX_HTTP_LLM_TG_NONE          0
#define NGX_HTTP_LLM_TG_LATIN         1
#define NGX_HTTP_LLM_TG_CYRL          2
#define NGX_HTTP_LLM_TG_GREK          3
#define NGX_HTTP_LLM_TG_ARAB          4
#define NGX_HTTP_LLM_TG_HEBR          5
#define NGX_HTTP_LLM_TG_HAN           6
#define NGX_HTTP_LLM_TG_KANA          7
#define NGX_HTTP_LLM_TG_HANG          8
#define NGX_HTTP_LLM_TG_THAI          9
#define NGX_HTTP_LLM_TG_DEVA          10
#define NGX_HTTP_LLM_TG_BENG          11
#define NGX_HTTP_LLM_TG_TAML          12
#define NGX_HTTP_LLM_TG_N             13

#define NGX_HTTP_LLM_TOKENS_LANG_SAMPLE        2048
#define NGX_HTTP_LLM_TOKENS_LANG_MIN           48


/* the language guess, made in steps */

typedef struct {
    const u_char               *p;          /* where the scan is */
    const u_char               *end;        /* the end of the sample */
    size_t                      wn;         /* letters of the current word */
    unsigned                    ascii_word;
    u_char                      w[8];       /* its first 8, zero-padded */
    uint32_t                    votes[NGX_HTTP_LLM_TL_N];
    uint32_t                    script[NGX_HTTP_LLM_TG_N];
} ngx_http_llm_tokens_lang_t;


/* the bit masks of 64 bytes of text (ngx_http_llm_tokens_classify()) */

typedef struct {
    uint64_t                    letter;
    uint64_t                    upper;
    uint64_t                    digit;
    uint64_t                    space;
    uint64_t                    white;
    uint64_t                    nl;
    uint64_t                    high;
    uint64_t                    punct;
    uint64_t                    stop;      /* high, and apostrophes */
    uint64_t                    halt;      /* stop, and the end */
    uint64_t                    sw;        /* " word" */
    uint64_t                    ps;        /* ", " */
    uint64_t                    ws;        /* white space alone */
} ngx_http_llm_tokens_block_t;


typedef struct {
    u_char                      word[8];    /* zero-padded */
    size_t                      len;
    unsigned                    lang;
} ngx_http_llm_tokens_word_t;


#define ngx_http_llm_tokens_w(s, l)  { s, sizeof(s) - 1, NGX_HTTP_LLM_TL_##l }

static const ngx_http_llm_tokens_word_t  ngx_http_llm_tokens_words[] = {
    ngx_http_llm_tokens_w("the", EN), ngx_http_llm_tokens_w("and", EN),
    ngx_http_llm_tokens_w("of", EN), ngx_http_llm_tokens_w("that", EN),
    ngx_http_llm_tokens_w("with", EN), ngx_http_llm_tokens_w("was", EN),
    ngx_http_llm_tokens_w("this", EN), ngx_http_llm_tokens_w("have", EN),
    ngx_http_llm_tokens_w("der", DE), ngx_http_llm_tokens_w("die", DE),
    ngx_http_llm_tokens_w("und", DE), ngx_http_llm_tokens_w("das", DE),
    ngx_http_llm_tokens_w("ist", DE), ngx_http_llm_tokens_w("nicht", DE),
    ngx_http_llm_tokens_w("mit", DE), ngx_http_llm_tokens_w("von", DE),
    ngx_http_llm_tokens_w("sich", DE), ngx_http_llm_tokens_w("auf", DE),
    ngx_http_llm_tokens_w("le", FR), ngx_http_llm_tokens_w("les", FR),
    ngx_http_llm_tokens_w("des", FR), ngx_http_llm_tokens_w("et", FR),
    ngx_http_llm_tokens_w("est", FR), ngx_http_llm_tokens_w("une", FR),
    ngx_http_llm_tokens_w("du", FR), ngx_http_llm_tokens_w("dans", FR),
    ngx_http_llm_tokens_w("pour", FR), ngx_http_llm_tokens_w("qui", FR),
    ngx_http_llm_tokens_w("el", ES), ngx_http_llm_tokens_w("los", ES),
    ngx_http_llm_tokens_w("las", ES), ngx_http_llm_tokens_w("por", ES),
    ngx_http_llm_tokens_w("y", ES), ngx_http_llm_tokens_w("como", ES),
    ngx_http_llm_tokens_w("pero", ES), ngx_http_llm_tokens_w("fue", ES),
    ngx_http_llm_tokens_w("os", PT), ngx_http_llm_tokens_w("dos", PT),
    ngx_http_llm_tokens_w("das", PT), ngx_http_llm_tokens_w("em", PT),
    ngx_http_llm_tokens_w("um", PT), ngx_http_llm_tokens_w("com", PT),
    ngx_http_llm_tokens_w("ao", PT), ngx_http_llm_tokens_w("foi", PT),
    ngx_http_llm_tokens_w("il", IT), ngx_http_llm_tokens_w("che", IT),
    ngx_http_llm_tokens_w("della", IT), ngx_http_llm_tokens_w("non", IT),
    ngx_http_llm_tokens_w("sono", IT), ngx_http_llm_tokens_w("gli", IT),
    ngx_http_llm_tokens_w("nel", IT), ngx_http_llm_tokens_w("alla", IT),
    ngx_http_llm_tokens_w("anche", IT), ngx_http_llm_tokens_w("degli", IT),
    ngx_http_llm_tokens_w("per", IT), ngx_http_llm_tokens_w("una", IT),
    ngx_http_llm_tokens_w("come", IT), ngx_http_llm_tokens_w("questo", IT),
    ngx_http_llm_tokens_w("stato", IT), ngx_http_llm_tokens_w("delle", IT),
    ngx_http_llm_tokens_w("nella", IT), ngx_http_llm_tokens_w("dei", IT),
    ngx_http_llm_tokens_w("yang", ID), ngx_http_llm_tokens_w("dan", ID),
    ngx_http_llm_tokens_w("dengan", ID), ngx_http_llm_tokens_w("untuk", ID),
    ngx_http_llm_tokens_w("ini", ID), ngx_http_llm_tokens_w("itu", ID),
    ngx_http_llm_tokens_w("dari", ID), ngx_http_llm_tokens_w("tidak", ID),
    ngx_http_llm_tokens_w("dalam", ID), ngx_http_llm_tokens_w("pada", ID),
    ngx_http_llm_tokens_w("adalah", ID), ngx_http_llm_tokens_w("akan", ID),
    ngx_http_llm_tokens_w("oleh", ID), ngx_http_llm_tokens_w("juga", ID),
    ngx_http_llm_tokens_w("sebagai", ID), ngx_http_llm_tokens_w("telah", ID),
    ngx_http_llm_tokens_w("atau", ID), ngx_http_llm_tokens_w("karena", ID),
    ngx_http_llm_tokens_w("bir", TR), ngx_http_llm_tokens_w("ve", TR),
    ngx_http_llm_tokens_w("bu", TR), ngx_http_llm_tokens_w("ile", TR),
    ngx_http_llm_tokens_w("olan", TR), ngx_http_llm_tokens_w("gibi", TR),
    ngx_http_llm_tokens_w("daha", TR), ngx_http_llm_tokens_w("sonra", TR),
    ngx_http_llm_tokens_w("nie", PL), ngx_http_llm_tokens_w("jest", PL),
    ngx_http_llm_tokens_w("przez", PL), ngx_http_llm_tokens_w("jak", PL),
    ngx_http_llm_tokens_w("oraz", PL), ngx_http_llm_tokens_w("przy", PL),
    ngx_http_llm_tokens_w("na", PL), ngx_http_llm_tokens_w("w", PL),
    ngx_http_llm_tokens_w("trong", VI), ngx_http_llm_tokens_w("cho", VI),
    ngx_http_llm_tokens_w("khi", VI), ngx_http_llm_tokens_w("anh", VI),
    { "", 0, 0 }
};


/*
 * ngx_http_llm_tokens_words[] by a hash of the word (1 + index; 0: none),
 * open addressing; written from the list above by
 * bench/tokenizer/word_hash.py: run it after editing the list.
 */

#define ngx_http_llm_tokens_word_hash(w, n)                                   \
    (((w)[0] * 7 + ((n) > 1 ? (w)[1] : 0) * 31 + (n) * 131 + (w)[(n) - 1])   \
     & 255)

/* the same of a zero-padded word: w[1] is 0 when n is 1 */
#define ngx_http_llm_tokens_word_hash8(w, n)                                  \
    (((w)[0] * 7 + (w)[1] * 31 + (n) * 131 + (w)[(n) - 1]) & 255)

static const u_char  ngx_http_llm_tokens_word_index[256] = {
      0,   0,   0,   0,   0,   0,   0,   0,   8,   0,   0,   0,   0,   0,   0,   0,
      0,  49,   0,   0,   0,   0,  74,   0,   0,   0,   0,   0,  42,   0,   0,  80,
      0,   0,   0,  67,   0,   0,   0,   0,  52,  38,  95,  20,   0,  44,  61,  59,
      0,   0,  51,   0,  28,  79,   0,   0,   0,   0,   0,  46,  72,  73,  96,   0,
      0,   0,   0,   7,   4,  98,  55,   0,   0,  22,  29,  33,   0,   0,   0,   0,
     17,   0,   0,   0,  83,   0,   0,   0,   0,   0,   0,   0,   0,  93,  77,  78,
     81,  10,  25,  30,  94,  45,   0,   0,   0,  40,  48,   0,   5,   0,   0,  37,
     56,   0,  11,  24,  64,   0,   0,  12,  39,  65,  71,  99,  32,   0,  76,  66,
      0,  63,   0,   0,   0,   0,  88,   0,   0,   0,   0,   0,   0,  43,   0,   0,
      0,  75,   0,   0,   0,   0,   0,  57,  85,  92,  19,   0,   0,   0,   0,   0,
      0,  34,  16,  90,   0,   0,   0,  89,   0,   0,   0,   0,   0,  23,   0,  15,
     31,   0,   1,   0,   0,   0,   0,   0,   0,   0,   0,   0,  14,   0,   0,   0,
      0,  18,   0,  58,   0,   0,  35,   0,   0,  13,   0,   0,   0,   0,   0,   3,
      0,   0,   0,   0,   0,   0,   0,  50,   0,  41,   0,   0,   0,  70,   0,   0,
     82,  84,   0,  36,   0,   0,   2,  47,  87,  62,  68,  60,  91,  53, 100,  54,
     69,  97,   9,  21,   0,   0,   0,   0,   0,   0,  26,   0,   6,  86,   0,  27
};


/*
 * The lengths (bit n - 1: n letters) of the words of the list above by
 * their first two characters, each as (c & 0x1f) (1 for a, 26 for z): a
 * word that is not there needs no lookup.  The second character of a word
 * of one letter is what ends it, anything: bit 0 is in each column of its
 * first letter's row.  Written from the list; t/unit/tokens_fast_test.c
 * checks that they agree.
 */

static const u_char  ngx_http_llm_tokens_word_first[27][32] = {
    {   /* not a letter */
          0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,
          0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0
    },
    {   /* a */
          0,  0,  0,  0, 32,  0,  0,  0,  0,  0,  0,  8,  8,  0, 20,  2,
          0,  0,  0,  0,  8,  4,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0
    },
    {   /* b */
          0,  0,  0,  0,  0,  0,  0,  0,  0,  4,  0,  0,  0,  0,  0,  0,
          0,  0,  0,  0,  0,  2,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0
    },
    {   /* c */
          0,  0,  0,  0,  0,  0,  0,  0,  4,  0,  0,  0,  0,  0,  0, 12,
          0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0
    },
    {   /* d */
          0, 28,  0,  0,  0, 52,  0,  0,  0,  4,  0,  0,  0,  0,  0,  4,
          0,  0,  0,  0,  0,  2,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0
    },
    {   /* e */
          0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  2,  2,  0,  0,
          0,  0,  0,  4,  2,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0
    },
    {   /* f */
          0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  4,
          0,  0,  0,  0,  0,  4,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0
    },
    {   /* g */
          0,  0,  0,  0,  0,  0,  0,  0,  0,  8,  0,  0,  4,  0,  0,  0,
          0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0
    },
    {   /* h */
          0,  8,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,
          0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0
    },
    {   /* i */
          0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  6,  0,  4,  0,
          0,  0,  0,  4,  4,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0
    },
    {   /* j */
          0,  4,  0,  0,  0,  8,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,
          0,  0,  0,  0,  0,  8,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0
    },
    {   /* k */
          0, 32,  0,  0,  0,  0,  0,  0,  4,  0,  0,  0,  0,  0,  0,  0,
          0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0
    },
    {   /* l */
          0,  4,  0,  0,  0,  6,  0,  0,  0,  0,  0,  0,  0,  0,  0,  4,
          0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0
    },
    {   /* m */
          0,  0,  0,  0,  0,  0,  0,  0,  0,  4,  0,  0,  0,  0,  0,  0,
          0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0
    },
    {   /* n */
          0,  2,  0,  0,  0, 20,  0,  0,  0, 20,  0,  0,  0,  0,  0,  4,
          0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0
    },
    {   /* o */
          0,  0,  0,  0,  0,  0,  2,  0,  0,  0,  0,  0,  8,  0,  0,  0,
          0,  0,  8,  2,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0
    },
    {   /* p */
          0,  8,  0,  0,  0, 12,  0,  0,  0,  0,  0,  0,  0,  0,  0, 12,
          0,  0, 24,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0
    },
    {   /* q */
          0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,
          0,  0,  0,  0,  0, 36,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0
    },
    {   /* r */
          0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,
          0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0
    },
    {   /* s */
          0,  0,  0,  0,  0, 64,  0,  0,  0,  8,  0,  0,  0,  0,  0, 24,
          0,  0,  0,  0, 16,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0
    },
    {   /* t */
          0,  0,  0,  0,  0, 16,  0,  0, 12, 16,  0,  0,  0,  0,  0,  0,
          0,  0, 16,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0
    },
    {   /* u */
          0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  2, 20,  0,
          0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0
    },
    {   /* v */
          0,  0,  0,  0,  0,  2,  0,  0,  0,  0,  0,  0,  0,  0,  0,  4,
          0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0
    },
    {   /* w */
          1,  5,  1,  1,  1,  1,  1,  1,  1,  9,  1,  1,  1,  1,  1,  1,
          1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1
    },
    {   /* x */
          0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,
          0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0
    },
    {   /* y */
          1,  9,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,
          1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1
    },
    {   /* z */
          0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,
          0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0
    }
};


/* LANG FITTED: begin (written by bench/tokenizer/fit_lang.py) */

/* the cost of words in 1/256 of the fitted one, by language */
static const uint32_t  ngx_http_llm_tokens_lang_scale[NGX_HTTP_LLM_TL_N] = {
     256,  276,  258,  264,  259,  329,  347,  311,  379,  190,  212,  255,
     229,  230,  291,  245,  279,  279,  279,  279,  242,  276,  269
};

/* LANG FITTED: end */


/*
 * A text that is one piece only (a word, a punctuation run) and costs less
 * than this is one token: streamed deltas are one token each by
 * construction, and most of them are a single piece.
 */
#define NGX_HTTP_LLM_TOKENS_LONE               704


/*
 * A white space run: 1 token, 1 more per 16 newlines or tabs, 1 more per
 * 85 spaces beyond 16.
 */
#define NGX_HTTP_LLM_TOKENS_SPACE_OTHER        16
#define NGX_HTTP_LLM_TOKENS_SPACE_SPACES       16
#define NGX_HTTP_LLM_TOKENS_SPACE_SPACE        3


/*
 * The ASCII fast path (left out with -DNGX_HTTP_LLM_TOKENS_NO_FAST, and when
 * the pieces are traced): most pieces of most prompts are ASCII, and are
 * cut and costed without the piece structure and the generic scanners, and
 * the language guess is made along with them.
 */

#if (!defined NGX_HTTP_LLM_TOKENS_NO_FAST                                     \
     && !defined NGX_HTTP_LLM_TOKENS_TRACE && defined __GNUC__)
#define NGX_HTTP_LLM_TOKENS_FAST  1
#endif

/*
 * and the pieces 64 bytes at a time from the bit masks of their characters
 * (SSE2, AVX2, or bit-sliced in 64-bit words), the language
 * guess along; elsewhere the fast path alone, the guess a scan of its own
 */

#if (defined NGX_HTTP_LLM_TOKENS_FAST                                        \
     && (NGX_HTTP_LLM_TOKENS_SSE2 || NGX_HTTP_LLM_TOKENS_SWAR))
#define NGX_HTTP_LLM_TOKENS_BLOCKS  1
#endif


static inline size_t ngx_http_llm_tokens_next(const u_char *p,
    const u_char *end, u_char *attr);
static size_t ngx_http_llm_tokens_char(const u_char *p, const u_char *end,
    u_char *attr);
static u_char ngx_http_llm_tokens_lookup(uint32_t cp);
static u_char ngx_http_llm_tokens_lookup_ranges(uint32_t cp);
static const u_char *ngx_http_llm_tokens_word_scan(const u_char *p,
    const u_char *end, ngx_http_llm_tokens_piece_t *pc);
static const u_char *ngx_http_llm_tokens_punct_scan(const u_char *p,
    const u_char *end, ngx_http_llm_tokens_piece_t *pc);
static const u_char *ngx_http_llm_tokens_space_scan(const u_char *p,
    const u_char *end, ngx_http_llm_tokens_piece_t *pc);
static uint32_t ngx_http_llm_tokens_cost(ngx_http_llm_tokens_piece_t *pc);
static const u_char *ngx_http_llm_tokens_piece(const u_char *p,
    const u_char *end, uint32_t *cost, unsigned *bucket,
    ngx_http_llm_tokens_piece_t *pc);
#ifndef NGX_HTTP_LLM_TOKENS_BLOCKS
static unsigned ngx_http_llm_tokens_lang(const u_char *text, size_t len);
#endif
static void ngx_http_llm_tokens_lang_init(ngx_http_llm_tokens_lang_t *l,
    const u_char *text, size_t len);
static inline void ngx_http_llm_tokens_lang_break(
    ngx_http_llm_tokens_lang_t *l);
static inline void ngx_http_llm_tokens_lang_run(ngx_http_llm_tokens_lang_t *l,
    const u_char *p, size_t n);
static void ngx_http_llm_tokens_lang_scan(ngx_http_llm_tokens_lang_t *l,
    const u_char *to);
static unsigned ngx_http_llm_tokens_lang_done(ngx_http_llm_tokens_lang_t *l,
    size_t len);
static unsigned ngx_http_llm_tokens_lang_char(uint32_t cp, uint32_t *votes);
static inline void ngx_http_llm_tokens_lang_word(const u_char *w, size_t n,
    uint32_t *votes);
static inline void ngx_http_llm_tokens_lang_lookup(const u_char *w,
    size_t n, uint32_t *votes);
static inline void ngx_http_llm_tokens_lower8(u_char *w, const u_char *p,
    size_t n, const u_char *end);
static inline const u_char *ngx_http_llm_tokens_letters(const u_char *p,
    const u_char *end, uint64_t fold);
#ifdef NGX_HTTP_LLM_TOKENS_BLOCKS
static void ngx_http_llm_tokens_classify(const u_char *p, size_t n,
    ngx_http_llm_tokens_block_t *b);
static unsigned ngx_http_llm_tokens_latin1_word(const u_char *p,
    const ngx_http_llm_tokens_block_t *b, unsigned w, unsigned s,
    unsigned *end, unsigned *letters, unsigned *uppers, unsigned *latin);
static uint32_t ngx_http_llm_tokens_word_cost(unsigned n, unsigned u,
    unsigned latin, unsigned lead);
static unsigned ngx_http_llm_tokens_hot(const ngx_http_llm_tokens_block_t *b,
    const u_char *p, unsigned i, uint64_t *words, uint64_t *rest,
    ngx_http_llm_tokens_lang_t *l);
static void ngx_http_llm_tokens_lang_block(ngx_http_llm_tokens_lang_t *l,
    const u_char *p, const ngx_http_llm_tokens_block_t *b, unsigned to);
static inline unsigned ngx_http_llm_tokens_run(uint64_t m, unsigned i);
static inline unsigned ngx_http_llm_tokens_popcount(uint64_t x);
static const u_char *ngx_http_llm_tokens_blocks(const u_char *text,
    const u_char *p, const u_char *end, uint64_t *sums,
    ngx_http_llm_tokens_lang_t *l);
#endif
#ifdef NGX_HTTP_LLM_TOKENS_FAST
static inline const u_char *ngx_http_llm_tokens_fast(const u_char *p,
    const u_char *end, uint32_t *cost, unsigned *word);
#endif


size_t
ngx_http_llm_estimate_tokens(const u_char *text, size_t len)
{
    size_t                        n;
    uint32_t                      cost;
    uint64_t                      total, words, ascii;
    uint64_t                      sums[NGX_HTTP_LLM_TB_N];
    unsigned                      lang, bucket;
    const u_char                 *p, *q, *end;
    ngx_http_llm_tokens_piece_t   pc;
#ifdef NGX_HTTP_LLM_TOKENS_BLOCKS
    ngx_http_llm_tokens_lang_t    l;
#endif

    if (text == NULL || len == 0) {
        return 0;
    }

    p = text;
    end = text + len;
    sums[NGX_HTTP_LLM_TB_ASCII] = 0;
    sums[NGX_HTTP_LLM_TB_WORD] = 0;
    sums[NGX_HTTP_LLM_TB_OTHER] = 0;

#ifdef NGX_HTTP_LLM_TOKENS_BLOCKS
    if (len >= NGX_HTTP_LLM_TOKENS_LANG_MIN) {
        ngx_http_llm_tokens_lang_init(&l, text, len);
    }
#endif

    while (p < end) {

#ifdef NGX_HTTP_LLM_TOKENS_BLOCKS

        /*
         * 64 bytes at a time; the first piece of the text, which may be
         * the whole text, is left to the code below
         */

        p = ngx_http_llm_tokens_blocks(text, p, end, sums,
                              len >= NGX_HTTP_LLM_TOKENS_LANG_MIN ? &l : NULL);

        if (p == end) {
            break;
        }
#endif

        q = ngx_http_llm_tokens_piece(p, end, &cost, &bucket, &pc);

#ifdef NGX_HTTP_LLM_TOKENS_TRACE
        NGX_HTTP_LLM_TOKENS_TRACE(text, p, q, &pc, cost);
#endif

        if (q == end && p == text && cost < NGX_HTTP_LLM_TOKENS_LONE) {
            /* the whole text is one piece */
            return 1;
        }

        sums[bucket] += cost;
        p = q;
    }

    total = sums[NGX_HTTP_LLM_TB_OTHER];
    words = sums[NGX_HTTP_LLM_TB_WORD];
    ascii = sums[NGX_HTTP_LLM_TB_ASCII];

    /*
     * Word costs corrected for the text's language: all words in a language
     * written in Latin letters, the others' own words only (not the ASCII
     * words of a Chinese text).  Short texts, streamed deltas among them,
     * keep the costs as fitted.
     */

#ifdef NGX_HTTP_LLM_TOKENS_BLOCKS
    if (len >= NGX_HTTP_LLM_TOKENS_LANG_MIN) {
        /* the rest of the sample, if the pieces did not get there */
        ngx_http_llm_tokens_lang_scan(&l, l.end);
        lang = ngx_http_llm_tokens_lang_done(&l, len);

    } else {
        lang = NGX_HTTP_LLM_TL_EN;
    }
#else
    lang = (len >= NGX_HTTP_LLM_TOKENS_LANG_MIN)
           ? ngx_http_llm_tokens_lang(text, len) : NGX_HTTP_LLM_TL_EN;
#endif

#ifdef NGX_HTTP_LLM_TOKENS_PARTS
    NGX_HTTP_LLM_TOKENS_PARTS(lang, words, ascii, total);
#endif

    if (lang <= NGX_HTTP_LLM_TL_VI) {
        words += ascii;

    } else {
        total += ascii;
    }

    total += words * ngx_http_llm_tokens_lang_scale[lang]
             / NGX_HTTP_LLM_TOKEN_UNIT;

    n = (size_t) ((total + NGX_HTTP_LLM_TOKEN_UNIT / 2)
                  / NGX_HTTP_LLM_TOKEN_UNIT);

    return n ? n : 1;
}


/*
 * One piece from p (p < end): returns its end, its cost, and the sum it
 * goes to: a word of ASCII letters, another word, or another piece.  The
 * ASCII fast path first, then the generic scanners (pc: the piece they
 * saw, for the trace).
 */

static const u_char *
ngx_http_llm_tokens_piece(const u_char *p, const u_char *end, uint32_t *cost,
    unsigned *bucket, ngx_http_llm_tokens_piece_t *pc)
{
    size_t         n;
    u_char         a, c0, c1;
    const u_char  *q;
#ifdef NGX_HTTP_LLM_TOKENS_FAST
    unsigned       word;

    if (*p < 0x80) {
        q = ngx_http_llm_tokens_fast(p, end, cost, &word);

        if (q != NULL) {
            *bucket = word ? NGX_HTTP_LLM_TB_ASCII : NGX_HTTP_LLM_TB_OTHER;
            return q;
        }

        /* a character the fast path does not know: the generic one */
    }
#endif

    n = ngx_http_llm_tokens_next(p, end, &a);
    c0 = ngx_http_llm_tc(a);
    q = p + n;

    c1 = NGX_HTTP_LLM_TC_END;

    if (q < end
        && (c0 == NGX_HTTP_LLM_TC_WS || c0 == NGX_HTTP_LLM_TC_PUNCT))
    {
        (void) ngx_http_llm_tokens_next(q, end, &a);
        c1 = ngx_http_llm_tc(a);
    }

    memset(pc, 0, sizeof(ngx_http_llm_tokens_piece_t));

    switch (c0) {

    case NGX_HTTP_LLM_TC_UP:
    case NGX_HTTP_LLM_TC_LOW:
    case NGX_HTTP_LLM_TC_BOTH:
        p = ngx_http_llm_tokens_word_scan(p, end, pc);
        break;

    case NGX_HTTP_LLM_TC_NUM:

        /* \p{N}{1,3} */

        pc->kind = NGX_HTTP_LLM_TK_NUM;
        p = q;

        for (n = 1; n < 3 && p < end; n++) {
            q = p + ngx_http_llm_tokens_next(p, end, &a);

            if (ngx_http_llm_tc(a) != NGX_HTTP_LLM_TC_NUM) {
                break;
            }

            p = q;
        }

        break;

    case NGX_HTTP_LLM_TC_PUNCT:

        if (ngx_http_llm_is_letter(c1)) {
            pc->lead = NGX_HTTP_LLM_TL_OTHER;
            p = ngx_http_llm_tokens_word_scan(q, end, pc);

        } else {
            p = ngx_http_llm_tokens_punct_scan(p, end, pc);
        }

        break;

    case NGX_HTTP_LLM_TC_WS:

        if (ngx_http_llm_is_letter(c1)) {
            pc->lead = (*p == ' ') ? NGX_HTTP_LLM_TL_SPACE
                                   : NGX_HTTP_LLM_TL_OTHER;
            p = ngx_http_llm_tokens_word_scan(q, end, pc);

        } else if (*p == ' ' && c1 == NGX_HTTP_LLM_TC_PUNCT) {
            pc->lead = NGX_HTTP_LLM_TL_SPACE;
            p = ngx_http_llm_tokens_punct_scan(q, end, pc);

        } else {
            p = ngx_http_llm_tokens_space_scan(p, end, pc);
        }

        break;

    default: /* NGX_HTTP_LLM_TC_NL */
        p = ngx_http_llm_tokens_space_scan(p, end, pc);
        break;
    }

    *cost = ngx_http_llm_tokens_cost(pc);

    if (pc->kind != NGX_HTTP_LLM_TK_WORD) {
        *bucket = NGX_HTTP_LLM_TB_OTHER;

    } else if (pc->letters[NGX_HTTP_LLM_TS_ASCII] == pc->n) {
        *bucket = NGX_HTTP_LLM_TB_ASCII;

    } else {
        *bucket = NGX_HTTP_LLM_TB_WORD;
    }

    return p;
}


/*
 * The end of a run of ASCII lower case letters from p, or, with fold
 * 0x2020202020202020, of letters of either case.  Eight bytes at a time: a
 * byte x (| fold) is a letter when x + (0x80 - 'a') has its high bit set
 * and x + (0x80 - 'z' - 1) has not, and the byte itself is below 0x80; a
 * carry out of a byte above 0x7f can only spoil the bytes after it, and the
 * first byte that is not a letter is the lowest one flagged.
 */

static inline const u_char *
ngx_http_llm_tokens_letters(const u_char *p, const u_char *end, uint64_t fold)
{
#if (NGX_HTTP_LLM_TOKENS_SSE2)
    unsigned  m;
    __m128i   v;

    /*
     * a byte (| fold) is a letter when, as a signed byte, it is above
     * 'a' - 1 and below 'z' + 1: a byte above 0x7f is negative
     */

    while (end - p >= 16) {
        v = _mm_or_si128(_mm_loadu_si128((const __m128i *) p),
                         _mm_set1_epi8((char) fold));
        v = _mm_and_si128(_mm_cmpgt_epi8(v, _mm_set1_epi8('a' - 1)),
                          _mm_cmplt_epi8(v, _mm_set1_epi8('z' + 1)));
        m = ~(unsigned) _mm_movemask_epi8(v) & 0xffff;

        if (m) {
            return p + __builtin_ctz(m);
        }

        p += 16;
    }
#endif
#if (NGX_HTTP_LLM_TOKENS_SWAR)
    uint64_t  w, x, bad;

    while (end - p >= 8) {
        memcpy(&w, p, 8);

        x = w | fold;
        bad = ~((x + NGX_HTTP_LLM_TOKENS_ONES * (0x80 - 'a'))
                & ~(x + NGX_HTTP_LLM_TOKENS_ONES * (0x80 - 'z' - 1))
                & ~w)
              & NGX_HTTP_LLM_TOKENS_HIGHS;

        if (bad) {
            return p + (__builtin_ctzll(bad) >> 3);
        }

        p += 8;
    }
#endif

    while (p < end && (u_char) ((*p | (u_char) fold) - 'a') < 26) {
        p++;
    }

    return p;
}


#ifdef NGX_HTTP_LLM_TOKENS_BLOCKS


/*
 * 63 bytes from p as bit masks, bit i for p[i]: ASCII letters, upper case
 * ASCII letters, digits, spaces, white space (\t \n \v \f \r and the space),
 * newlines (\r \n), bytes above 0x7f, what cannot end a word of the fast
 * paths (bytes above 0x7f and apostrophes), and the other ASCII characters
 * (the pre-tokenizer's punctuation, TC_PUNCT in ngx_http_llm_tokens_ascii[]).
 * With n < 63 (the end of the text) the bits from n on are clear in all;
 * bit 63 is always clear.
 */

#if (NGX_HTTP_LLM_TOKENS_AVX2)

/* 1: the CPU has AVX2, BMI1, BMI2 and POPCNT, 0: not, -1: not known yet */
static int  ngx_http_llm_tokens_avx2 = -1;


/* the constants of ngx_http_llm_tokens_classify_avx2(), a byte each */

#define ngx_http_llm_tokens_c32(c)                                            \
    { (c) * NGX_HTTP_LLM_TOKENS_ONES, (c) * NGX_HTTP_LLM_TOKENS_ONES,         \
      (c) * NGX_HTTP_LLM_TOKENS_ONES, (c) * NGX_HTTP_LLM_TOKENS_ONES }

static const uint64_t  ngx_http_llm_tokens_avx2_c[11][4]
    __attribute__((aligned(32))) =
{
    ngx_http_llm_tokens_c32(0x20),                  /* case bit */
    ngx_http_llm_tokens_c32(0x80 - 'a'),
    ngx_http_llm_tokens_c32(0x80 + 26),             /* -128 + 26 */
    ngx_http_llm_tokens_c32(0x80 - '0'),
    ngx_http_llm_tokens_c32(0x80 + 10),
    ngx_http_llm_tokens_c32(0x80 - '\t'),
    ngx_http_llm_tokens_c32(0x80 + 5),
    ngx_http_llm_tokens_c32(' '),
    ngx_http_llm_tokens_c32('\''),
    ngx_http_llm_tokens_c32('\n'),
    ngx_http_llm_tokens_c32('\r')
};

#define ngx_http_llm_tokens_c(i)                                              \
    _mm256_load_si256((const __m256i *) ngx_http_llm_tokens_avx2_c[i])


/*
 * ngx_http_llm_tokens_classify() 32 bytes at a time (p: 64 bytes); inlined
 * in ngx_http_llm_tokens_blocks_avx2() and in
 * ngx_http_llm_tokens_classify_avx2(), which ngx_http_llm_tokens_classify()
 * calls
 */

static inline __attribute__((always_inline, target(NGX_HTTP_LLM_TOKENS_X86)))
void
ngx_http_llm_tokens_classify_avx2_in(const u_char *p, uint64_t valid,
    ngx_http_llm_tokens_block_t *b)
{
    unsigned  k;
    uint32_t  lt;
    uint64_t  letter, upper, digit, space, white, nl, high, stop;
    __m256i   v, ws, sp;

    letter = 0;
    upper = 0;
    digit = 0;
    space = 0;
    white = 0;
    nl = 0;
    high = 0;
    stop = 0;

    /* both halves unrolled: no loop, the shifts by 32 constant */

#if (defined __GNUC__ && __GNUC__ >= 8 && !defined __clang__)
#pragma GCC unroll 2
#endif
    for (k = 0; k < 64; k += 32) {
        v = _mm256_loadu_si256((const __m256i *) (p + k));

        lt = (uint32_t) _mm256_movemask_epi8(_mm256_cmpgt_epi8(
                 ngx_http_llm_tokens_c(2),
                 _mm256_add_epi8(_mm256_or_si256(v, ngx_http_llm_tokens_c(0)),
                                 ngx_http_llm_tokens_c(1))));
        letter |= (uint64_t) lt << k;

        upper |= (uint64_t) (lt & ~(uint32_t) _mm256_movemask_epi8(
                                               _mm256_slli_epi16(v, 2)))
                 << k;

        digit |= (uint64_t) (uint32_t) _mm256_movemask_epi8(
                     _mm256_cmpgt_epi8(ngx_http_llm_tokens_c(4),
                         _mm256_add_epi8(v, ngx_http_llm_tokens_c(3))))
                 << k;

        ws = _mm256_cmpgt_epi8(ngx_http_llm_tokens_c(6),
                               _mm256_add_epi8(v, ngx_http_llm_tokens_c(5)));
        sp = _mm256_cmpeq_epi8(v, ngx_http_llm_tokens_c(7));

        space |= (uint64_t) (uint32_t) _mm256_movemask_epi8(sp) << k;
        white |= (uint64_t) (uint32_t) _mm256_movemask_epi8(
                                                 _mm256_or_si256(ws, sp)) << k;

        nl |= (uint64_t) (uint32_t) _mm256_movemask_epi8(
                  _mm256_or_si256(
                      _mm256_cmpeq_epi8(v, ngx_http_llm_tokens_c(9)),
                      _mm256_cmpeq_epi8(v, ngx_http_llm_tokens_c(10))))
              << k;

        high |= (uint64_t) (uint32_t) _mm256_movemask_epi8(v) << k;

        stop |= (uint64_t) (uint32_t) _mm256_movemask_epi8(
                    _mm256_or_si256(v,
                        _mm256_cmpeq_epi8(v, ngx_http_llm_tokens_c(8))))
                << k;
    }

    b->letter = letter & valid;
    b->upper = upper & valid;
    b->digit = digit & valid;
    b->space = space & valid;
    b->white = white & valid;
    b->nl = nl & valid;
    b->high = high & valid;
    b->stop = stop & valid;
    b->punct = ~(letter | digit | white | high) & valid;
}


__attribute__((target(NGX_HTTP_LLM_TOKENS_X86))) static void
ngx_http_llm_tokens_classify_avx2(const u_char *p, uint64_t valid,
    ngx_http_llm_tokens_block_t *b)
{
    ngx_http_llm_tokens_classify_avx2_in(p, valid, b);
}


/* ngx_http_llm_tokens_classify() in ngx_http_llm_tokens_blocks_avx2() */

static inline __attribute__((target(NGX_HTTP_LLM_TOKENS_X86))) void
ngx_http_llm_tokens_classify_x86(const u_char *p, size_t n,
    ngx_http_llm_tokens_block_t *b)
{
    u_char  buf[64];

    if (n < 64) {
        memcpy(buf, p, n);
        memset(buf + n, 0, 64 - n);
        ngx_http_llm_tokens_classify_avx2_in(buf, (1ULL << n) - 1, b);
        return;
    }

    ngx_http_llm_tokens_classify_avx2_in(p, ~0ULL >> 1, b);
}


/*
 * whether PEXT is microcoded: AMD's (and Hygon's, a Zen 1) families before
 * 19h (Zen 3) have BMI2 but run PEXT at tens of cycles a set bit of the
 * mask, which the hot loop would pay once a word
 */

static int
ngx_http_llm_tokens_slow_pext(void)
{
    char      vendor[12];
    unsigned  a, b, c, d, family;

    if (!__get_cpuid(0, &a, &b, &c, &d)) {
        return 0;
    }

    memcpy(vendor, &b, 4);
    memcpy(vendor + 4, &d, 4);
    memcpy(vendor + 8, &c, 4);

    if (memcmp(vendor, "AuthenticAMD", 12) != 0
        && memcmp(vendor, "HygonGenuine", 12) != 0)
    {
        return 0;
    }

    if (!__get_cpuid(1, &a, &b, &c, &d)) {
        return 0;
    }

    family = (a >> 8) & 0xf;

    if (family == 0xf) {
        family += (a >> 20) & 0xff;
    }

    return family < 0x19;
}


/*
 * whether the CPU has AVX2, BMI1, BMI2 and POPCNT and a PEXT that is not
 * microcoded: ngx_http_llm_tokens_avx2 on the first call (the others, Zen 1
 * and 2 among them, still common in clouds, take the SSE2 build)
 */

static int
ngx_http_llm_tokens_x86_init(void)
{
    __builtin_cpu_init();

    ngx_http_llm_tokens_avx2 = (__builtin_cpu_supports("avx2")
                                && __builtin_cpu_supports("bmi")
                                && __builtin_cpu_supports("bmi2")
                                && __builtin_cpu_supports("popcnt")
                                && !ngx_http_llm_tokens_slow_pext())
                               ? 1 : 0;

    return ngx_http_llm_tokens_avx2;
}

#endif


static void
ngx_http_llm_tokens_classify(const u_char *p, size_t n,
    ngx_http_llm_tokens_block_t *b)
{
    u_char    buf[64];
    uint64_t  valid, letter, upper, digit, space, white, nl, high, stop;
#if (NGX_HTTP_LLM_TOKENS_SSE2)
    unsigned  k, lt;
    __m128i   v, ws, sp;
#else
    uint64_t  w0, w1, w2, w3, w4, w5, w6, w7, t, low5, ctl;
#endif
#if (NGX_HTTP_LLM_TOKENS_NEON)
    uint8x16_t    q0, q1, q2, q3, r;
    uint8x16x4_t  v;
#endif

    if (n < 64) {
        memcpy(buf, p, n);
        memset(buf + n, 0, 64 - n);
        p = buf;
        valid = (1ULL << n) - 1;

    } else {
        /* bit 63 stays clear: a run of bits ends at 63 at most */
        valid = ~0ULL >> 1;
    }

#if (NGX_HTTP_LLM_TOKENS_AVX2)

    if (ngx_http_llm_tokens_avx2) {

        if (ngx_http_llm_tokens_avx2 > 0
            || ngx_http_llm_tokens_x86_init())
        {
            ngx_http_llm_tokens_classify_avx2(p, valid, b);
            return;
        }
    }

#endif

#if (NGX_HTTP_LLM_TOKENS_SSE2)

    letter = 0;
    upper = 0;
    digit = 0;
    space = 0;
    white = 0;
    nl = 0;
    high = 0;
    stop = 0;

    /*
     * x in [lo, lo + n) when (x - lo) mod 256 < n: x + (0x80 - lo) below
     * -128 + n as a signed byte
     */

#if (defined __GNUC__ && __GNUC__ >= 8 && !defined __clang__)
#pragma GCC unroll 4
#endif
    for (k = 0; k < 64; k += 16) {
        v = _mm_loadu_si128((const __m128i *) (p + k));

        lt = _mm_movemask_epi8(_mm_cmpgt_epi8(_mm_set1_epi8(-128 + 26),
                 _mm_add_epi8(_mm_or_si128(v, _mm_set1_epi8(0x20)),
                              _mm_set1_epi8((char) (0x80 - 'a')))));
        letter |= (uint64_t) lt << k;

        /* bit 5 of a letter (lower case) moved to bit 7 */
        upper |= (uint64_t) (lt & ~_mm_movemask_epi8(_mm_slli_epi16(v, 2)))
                 << k;

        digit |= (uint64_t) _mm_movemask_epi8(
                     _mm_cmpgt_epi8(_mm_set1_epi8(-128 + 10),
                         _mm_add_epi8(v, _mm_set1_epi8((char) (0x80 - '0')))))
                 << k;

        /* \t \n \v \f \r */
        ws = _mm_cmpgt_epi8(_mm_set1_epi8(-128 + 5),
                            _mm_add_epi8(v, _mm_set1_epi8((char) (0x80 - 9))));
        sp = _mm_cmpeq_epi8(v, _mm_set1_epi8(' '));

        space |= (uint64_t) _mm_movemask_epi8(sp) << k;
        white |= (uint64_t) _mm_movemask_epi8(_mm_or_si128(ws, sp)) << k;

        nl |= (uint64_t) _mm_movemask_epi8(
                  _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('\n')),
                               _mm_cmpeq_epi8(v, _mm_set1_epi8('\r'))))
              << k;

        high |= (uint64_t) _mm_movemask_epi8(v) << k;

        stop |= (uint64_t) _mm_movemask_epi8(
                    _mm_or_si128(v, _mm_cmpeq_epi8(v, _mm_set1_epi8('\''))))
                << k;
    }

#else

    /*
     * Without SIMD, bit-sliced: the 64 bytes in eight 64-bit words are
     * transposed into the eight planes of their bits (plane c, bit i: bit c
     * of p[i]), and the masks are boolean functions of the planes, each made
     * for the 64 bytes at once.  The transposition is six rounds of swaps
     * between pairs of words (a word is 8 bytes of 8 bits, so an element
     * (byte 8k + j, bit c) is at bit 8j + c of word k): the word index with
     * the byte within the word (the bytes at offset j of the eight words
     * go to word j), then with the bit within the byte (bit c of each byte
     * goes to word c).  About 290 instructions a block on x86-64 (as many
     * as SSE2) and 160 on aarch64, where comparing eight bytes at a time
     * in a word and gathering the high bits of each comparison took 900 on
     * x86-64.  On aarch64, NEON makes the transposition (below): 120 a
     * block.  (Comparing 16 bytes at a time with NEON and emulating SSE2's
     * movemask took 170, c1c4be3.)
     */

#if (NGX_HTTP_LLM_TOKENS_NEON)

    /*
     * The bytes: vld4q_u8() loads p[4i + r] to lane i of v.val[r], whose
     * even lanes are then p[8k + r] and odd ones p[8k + 4 + r], which the
     * unzips gather: q0 holds the words (w0 w1) of the rounds below, where
     * wj is p[j], p[8 + j], .. p[56 + j], q1 (w2 w3), q2 (w4 w5), q3 (w6 w7).
     */

    v = vld4q_u8(p);
    q0 = vuzp1q_u8(v.val[0], v.val[1]);
    q1 = vuzp1q_u8(v.val[2], v.val[3]);
    q2 = vuzp2q_u8(v.val[0], v.val[1]);
    q3 = vuzp2q_u8(v.val[2], v.val[3]);

    /*
     * The bits, in lanes of a byte (a shift moves nothing across bytes):
     * the words 4 apart and 2 apart, in two vectors (a keeps its bits of m
     * and takes b's shifted up by s in the others, b keeps its bits out of
     * m and takes a's shifted down in m), then the words 1 apart, the two
     * halves of a vector, each shifted its way and selected
     */

#define ngx_http_llm_tokens_vswap(a, b, s, m)                                 \
    r = vbslq_u8(vdupq_n_u8(m), vshrq_n_u8(a, s), b);                         \
    a = vbslq_u8(vdupq_n_u8(m), a, vshlq_n_u8(b, s));                         \
    b = r

#define ngx_http_llm_tokens_vswap1(a)                                         \
    a = vbslq_u8(vcombine_u8(vdup_n_u8(0x55), vdup_n_u8(0xaa)), a,            \
                 vshlq_u8(vextq_u8(a, a, 8),                                  \
                          vcombine_s8(vdup_n_s8(1), vdup_n_s8(-1))))

    ngx_http_llm_tokens_vswap(q0, q2, 4, 0x0f);
    ngx_http_llm_tokens_vswap(q1, q3, 4, 0x0f);
    ngx_http_llm_tokens_vswap(q0, q1, 2, 0x33);
    ngx_http_llm_tokens_vswap(q2, q3, 2, 0x33);
    ngx_http_llm_tokens_vswap1(q0);
    ngx_http_llm_tokens_vswap1(q1);
    ngx_http_llm_tokens_vswap1(q2);
    ngx_http_llm_tokens_vswap1(q3);

#undef ngx_http_llm_tokens_vswap
#undef ngx_http_llm_tokens_vswap1

    w0 = vgetq_lane_u64(vreinterpretq_u64_u8(q0), 0);
    w1 = vgetq_lane_u64(vreinterpretq_u64_u8(q0), 1);
    w2 = vgetq_lane_u64(vreinterpretq_u64_u8(q1), 0);
    w3 = vgetq_lane_u64(vreinterpretq_u64_u8(q1), 1);
    w4 = vgetq_lane_u64(vreinterpretq_u64_u8(q2), 0);
    w5 = vgetq_lane_u64(vreinterpretq_u64_u8(q2), 1);
    w6 = vgetq_lane_u64(vreinterpretq_u64_u8(q3), 0);
    w7 = vgetq_lane_u64(vreinterpretq_u64_u8(q3), 1);

    /* the classes below in general registers, where GCC mixes in vectors */
    __asm__ ("" : "+r" (w0), "+r" (w1), "+r" (w2), "+r" (w3),
                  "+r" (w4), "+r" (w5), "+r" (w6), "+r" (w7));

#else

#define ngx_http_llm_tokens_swap(a, b, s, m)                                  \
    t = (((a) >> (s)) ^ (b)) & (m);                                           \
    (b) ^= t;                                                                 \
    (a) ^= t << (s)

#define ngx_http_llm_tokens_round(s, m, a0, b0, a1, b1, a2, b2, a3, b3)       \
    ngx_http_llm_tokens_swap(a0, b0, s, m);                                   \
    ngx_http_llm_tokens_swap(a1, b1, s, m);                                   \
    ngx_http_llm_tokens_swap(a2, b2, s, m);                                   \
    ngx_http_llm_tokens_swap(a3, b3, s, m)

    memcpy(&w0, p, 8);
    memcpy(&w1, p + 8, 8);
    memcpy(&w2, p + 16, 8);
    memcpy(&w3, p + 24, 8);
    memcpy(&w4, p + 32, 8);
    memcpy(&w5, p + 40, 8);
    memcpy(&w6, p + 48, 8);
    memcpy(&w7, p + 56, 8);

    /* bytes: the word index with the byte within the word */

    ngx_http_llm_tokens_round(32, 0x00000000ffffffffULL,
                              w0, w4, w1, w5, w2, w6, w3, w7);
    ngx_http_llm_tokens_round(16, 0x0000ffff0000ffffULL,
                              w0, w2, w1, w3, w4, w6, w5, w7);
    ngx_http_llm_tokens_round(8, 0x00ff00ff00ff00ffULL,
                              w0, w1, w2, w3, w4, w5, w6, w7);

    /* bits: the word index with the bit within the byte */

    ngx_http_llm_tokens_round(4, 0x0f0f0f0f0f0f0f0fULL,
                              w0, w4, w1, w5, w2, w6, w3, w7);
    ngx_http_llm_tokens_round(2, 0x3333333333333333ULL,
                              w0, w2, w1, w3, w4, w6, w5, w7);
    ngx_http_llm_tokens_round(1, 0x5555555555555555ULL,
                              w0, w1, w2, w3, w4, w5, w6, w7);

#undef ngx_http_llm_tokens_round
#undef ngx_http_llm_tokens_swap

#endif

    /* wc: bit c of each byte; the ASCII classes from the bits */

    high = w7;
    t = w7 | w6;                                     /* not 0x00-0x3f */
    low5 = w4 | w3 | w2 | w1 | w0;                   /* x & 0x1f != 0 */

    /* 0x41-0x5a, 0x61-0x7a: 0x40, 0x20 in lower case, 1 .. 26 */
    letter = w6 & ~w7 & low5 & ~(w4 & w3 & (w2 | (w1 & w0)));
    upper = letter & ~w5;

    /* 0x30-0x39 */
    digit = ~t & w5 & w4 & ~(w3 & (w2 | w1));

    /* 0x20 */
    space = w5 & ~(t | low5);

    /* 0x08-0x0f, of which \t \n \v \f \r 0x09-0x0d and \n \r 0x0a 0x0d */
    ctl = ~(t | w5 | w4) & w3;
    white = (ctl & (w2 | w1 | w0) & ~(w2 & w1)) | space;
    nl = ctl & (w2 ^ w1) & ~(w2 ^ w0);

    /* and 0x27 */
    stop = high | (w5 & ~(t | w4 | w3) & w2 & w1 & w0);

#endif

    b->letter = letter & valid;
    b->upper = upper & valid;
    b->digit = digit & valid;
    b->space = space & valid;
    b->white = white & valid;
    b->nl = nl & valid;
    b->high = high & valid;
    b->stop = stop & valid;
    b->punct = ~(letter | digit | white | high) & valid;
}


/* the number of set bits of m from bit i up (i < 63) */

static inline unsigned
ngx_http_llm_tokens_run(uint64_t m, unsigned i)
{
    /* bit 63 of a block's masks is never used: 63 when the run gets there */

    return (unsigned) __builtin_ctzll(~(m >> i) | (1ULL << 63));
}


static inline unsigned
ngx_http_llm_tokens_popcount(uint64_t x)
{
    x -= (x >> 1) & 0x5555555555555555ULL;
    x = (x & 0x3333333333333333ULL) + ((x >> 2) & 0x3333333333333333ULL);
    x = (x + (x >> 4)) & 0x0f0f0f0f0f0f0f0fULL;

    return (unsigned) ((x * NGX_HTTP_LLM_TOKENS_ONES) >> 56);
}


#define ngx_http_llm_tokens_bit(m, i)  (((m) >> (i)) & 1)


/*
 * The commonest pieces, one after another from i in p's block b: " word"
 * and "word" ([A-Z]?[a-z]* of up to NGX_HTTP_LLM_TW_MAX_LEN letters that
 * an ASCII character other than an apostrophe ends), ", " (a punctuation
 * character, then a space) and white space alone (a newline, a space
 * before a digit).  Returns where the first other piece starts.
 *
 * The language guess along (lang: l is at p + i, the block is in its
 * sample): each piece but the first starts with what ends a word, each
 * word is a whole one.  Made twice by the compiler, with and without it,
 * so that the few variables of each stay in registers.
 */

#if (NGX_HTTP_LLM_TOKENS_AVX2)

/*
 * ngx_http_llm_tokens_word_first[p[0] & 0x1f][p[1] & 0x1f] with PEXT: the
 * two bytes, the first one high, their low five bits each
 */

static inline __attribute__((target(NGX_HTTP_LLM_TOKENS_X86))) unsigned
ngx_http_llm_tokens_first2_x86(const u_char *p)
{
    uint16_t  x;

    memcpy(&x, p, 2);

    return (&ngx_http_llm_tokens_word_first[0][0])
               [_pext_u32(__builtin_bswap16(x), 0x1f1f)];
}

#define ngx_http_llm_tokens_first2(x86, p)                                    \
    ((x86) ? ngx_http_llm_tokens_first2_x86(p)                                \
           : ngx_http_llm_tokens_word_first[(p)[0] & 0x1f][(p)[1] & 0x1f])

#else

#define ngx_http_llm_tokens_first2(x86, p)                                    \
    ngx_http_llm_tokens_word_first[(p)[0] & 0x1f][(p)[1] & 0x1f]

#endif


static inline __attribute__((always_inline)) unsigned
ngx_http_llm_tokens_hot_run(const ngx_http_llm_tokens_block_t *b,
    const u_char *p, unsigned i, uint64_t *words, uint64_t *rest,
    ngx_http_llm_tokens_lang_t *l, int lang, int x86)
{
    unsigned         s, n, t, h, nh, sp, latin, osum, hit[32];
    uint64_t         sw, ps, ws, letter, brk, halt, upper, wsum;
    const uint16_t  *tab;

    tab = &ngx_http_llm_tokens_word[NGX_HTTP_LLM_TW_LOWER][NGX_HTTP_LLM_TL_NONE]
                                   [0];
    sw = b->sw;
    ps = b->ps;
    ws = b->ws;
    letter = b->letter;
    upper = b->upper;

    /*
     * where a simple word stops: not a letter, or an upper case letter
     * after a letter ("wordWORD"); and where it must not stop: that upper
     * case letter, a non-ASCII byte, an apostrophe, the end of the block
     */

    brk = ~letter | (upper & (letter << 1));
    halt = b->halt | (upper & (letter << 1));

    wsum = 0;
    osum = 0;
    nh = 0;
    latin = 0;

    if (lang && l->wn) {

        if (ngx_http_llm_tokens_bit(letter, i)) {
            /* a word that goes on: not a whole one */
            return i;
        }

        if (ngx_http_llm_tokens_bit(sw | ps | ws, i)) {
            /* what is at i ends the word before */
            ngx_http_llm_tokens_lang_break(l);
        }
    }

    for ( ;; ) {

        /*
         * " word" at i (its letters from s = i + 1) or "word" (from s = i):
         * bit s of letter either way, bit i of sw the lead
         */

        sp = (unsigned) ngx_http_llm_tokens_bit(sw, i);
        s = i + sp;

        if (!ngx_http_llm_tokens_bit(letter, s)) {

            if (ngx_http_llm_tokens_bit(ps, i)) {
                osum += NGX_HTTP_LLM_TOKENS_PUNCT1;
                i++;
                continue;
            }

            if (ngx_http_llm_tokens_bit(ws, i)) {
                osum += NGX_HTTP_LLM_TOKEN_UNIT;
                i++;
                continue;
            }

            break;
        }

        /* bit 63 of brk is set (bit 63 of letter is clear) */
        n = __builtin_ctzll(brk >> s);
        t = s + n;

        /* n is not 0 below: a break at s is an upper case letter, in halt */

        if (ngx_http_llm_tokens_bit(halt, t) | (n > NGX_HTTP_LLM_TW_MAX_LEN)) {
            break;
        }

        /*
         * [TW_LOWER or TW_CAP][TL_NONE or TL_SPACE][n] of the table, whose
         * words of 1 letter or more cost a token or more (checked by
         * t/unit/tokens_fast_test.c): no clamp to NGX_HTTP_LLM_TOKEN_UNIT
         */

        wsum += ((upper >> s) & 1 ? tab + 3 * NGX_HTTP_LLM_TW_ROW : tab)
                    [n + sp * NGX_HTTP_LLM_TW_ROW];

        if (lang) {

            /*
             * ngx_http_llm_tokens_lang_run() and the break after it; most
             * words are not on the list by their first two characters, the
             * others are looked up after the loop, which calls nothing (a
             * block holds 32 words at most)
             */

            latin += n;

            if ((ngx_http_llm_tokens_first2(x86, p + s) >> (n - 1)) & 1) {
                hit[nh++] = s | n << 8;
            }
        }

        i = t;
    }

    *words += wsum;
    *rest += osum;

    if (lang) {
        for (h = 0; h < nh; h++) {
            ngx_http_llm_tokens_lower8(l->w, p + (hit[h] & 0xff), hit[h] >> 8,
                                       l->end);
            ngx_http_llm_tokens_lang_lookup(l->w, hit[h] >> 8, l->votes);
        }

        l->script[NGX_HTTP_LLM_TG_LATIN] += latin;
        l->p = p + i;
    }

    return i;
}


static unsigned
ngx_http_llm_tokens_hot(const ngx_http_llm_tokens_block_t *b,
    const u_char *p, unsigned i, uint64_t *words, uint64_t *rest,
    ngx_http_llm_tokens_lang_t *l)
{
    if (l != NULL) {
        return ngx_http_llm_tokens_hot_run(b, p, i, words, rest, l, 1, 0);
    }

    return ngx_http_llm_tokens_hot_run(b, p, i, words, rest, NULL, 0, 0);
}


#if (NGX_HTTP_LLM_TOKENS_AVX2)

/* the same, with BMI1 and BMI2 (ngx_http_llm_tokens_blocks_avx2()) */

__attribute__((target(NGX_HTTP_LLM_TOKENS_X86))) static unsigned
ngx_http_llm_tokens_hot_x86(const ngx_http_llm_tokens_block_t *b,
    const u_char *p, unsigned i, uint64_t *words, uint64_t *rest,
    ngx_http_llm_tokens_lang_t *l)
{
    if (l != NULL) {
        return ngx_http_llm_tokens_hot_run(b, p, i, words, rest, l, 1, 1);
    }

    return ngx_http_llm_tokens_hot_run(b, p, i, words, rest, NULL, 0, 1);
}

#endif


/*
 * The language guess's scan (ngx_http_llm_tokens_lang_scan()) of the bytes
 * from l->p to p + to, from p's block b: ASCII from the bit masks of its
 * letters (a word that starts and ends there is looked up at once, one
 * that goes on past it is opened), a non-ASCII character by the scan;
 * to <= 63.
 */

static void
ngx_http_llm_tokens_lang_block(ngx_http_llm_tokens_lang_t *l,
    const u_char *p, const ngx_http_llm_tokens_block_t *b, unsigned to)
{
    unsigned  x, m, r, os, s, e, n;
    uint64_t  hi, letters, seg, gaps, complete, starts, ends;

    if (l->p < p) {
        /* the first piece of the text, before the blocks */
        ngx_http_llm_tokens_lang_scan(l, p);
    }

    if (l->p >= p + to) {
        return;
    }

    x = l->p - p;

    if (l->end < p + to) {
        /* the end of the sample: the scan cuts the run of letters there */
        ngx_http_llm_tokens_lang_scan(l, p + to);
        return;
    }

    while (x < to) {

        /* the ASCII bytes x .. m - 1 */

        seg = ((1ULL << to) - 1) & ~((1ULL << x) - 1);
        hi = b->high & seg;
        m = hi ? (unsigned) __builtin_ctzll(hi) : to;

        if (m > x) {
            seg &= (1ULL << m) - 1;
            letters = b->letter & seg;

            if (l->wn) {

                /* the word that is open goes on with the letters from x */

                r = ngx_http_llm_tokens_run(letters, x);

                if (r) {
                    ngx_http_llm_tokens_lang_run(l, p + x, r);
                }

                if (x + r >= m) {
                    x = m;
                    goto high;
                }

                ngx_http_llm_tokens_lang_break(l);
                letters &= ~((1ULL << (x + r)) - 1);
            }

            /* no word is open: the run of letters that reaches m stays open */

            if (ngx_http_llm_tokens_bit(letters, m - 1)) {
                gaps = ~letters & seg;
                os = gaps ? (unsigned) (64 - __builtin_clzll(gaps)) : x;

            } else {
                os = m;
            }

            complete = letters & ((1ULL << os) - 1);

            if (complete) {
                l->script[NGX_HTTP_LLM_TG_LATIN] +=
                                     ngx_http_llm_tokens_popcount(complete);

                starts = complete & ~(complete << 1);
                ends = complete & ~(complete >> 1);

                do {
                    s = __builtin_ctzll(starts);
                    e = __builtin_ctzll(ends);
                    n = e - s + 1;

                    if (n <= sizeof(l->w)) {

                        /* most words are not on the list by their first two */

                        if (ngx_http_llm_tokens_word_first[p[s] & 0x1f]
                                                          [p[s + 1] & 0x1f]
                            & (1u << (n - 1)))
                        {
                            ngx_http_llm_tokens_lower8(l->w, p + s, n, l->end);
                            ngx_http_llm_tokens_lang_lookup(l->w, n, l->votes);
                        }
                    }

                    starts &= starts - 1;
                    ends &= ends - 1;

                } while (starts);
            }

            if (os < m) {
                ngx_http_llm_tokens_lang_run(l, p + os, m - os);
            }

            x = m;
        }

    high:

        if (x < to) {
            /* non-ASCII characters (or invalid bytes), all at once */
            l->p = p + x;
            ngx_http_llm_tokens_lang_scan(l,
                                 p + x + ngx_http_llm_tokens_run(b->high, x));
            x = l->p - p;
        }
    }

    l->p = p + x;
}


/*
 * The language guess along the pieces the bit masks cut outside
 * ngx_http_llm_tokens_hot(), when it is at their start (l->p == p + i, the
 * block in the sample), so that the commonest pieces after them are voted
 * on by ngx_http_llm_tokens_hot() and not ngx_http_llm_tokens_lang_block()
 * afterwards.  As ngx_http_llm_tokens_lang_block() would: a word from s to
 * e, its letters a whole run of ASCII letters after a lead of ASCII
 * characters that are not letters (s > i) or after the break of the word
 * before (l->wn is 0), is looked up at once; a piece of ASCII characters
 * that are not letters ends the word open before it.
 */

static inline void
ngx_http_llm_tokens_lang_piece(ngx_http_llm_tokens_lang_t *l,
    const u_char *p, unsigned i, unsigned s, unsigned e)
{
    unsigned  n;

    if (s != i) {
        ngx_http_llm_tokens_lang_break(l);

    } else if (l->wn) {
        /* the word goes on from the one open: left to the scan */
        return;
    }

    n = e - s;

    l->script[NGX_HTTP_LLM_TG_LATIN] += n;

    if (n <= sizeof(l->w)
        && ((ngx_http_llm_tokens_word_first[p[s] & 0x1f][p[s + 1] & 0x1f]
             >> (n - 1)) & 1))
    {
        ngx_http_llm_tokens_lower8(l->w, p + s, n, l->end);
        ngx_http_llm_tokens_lang_lookup(l->w, n, l->votes);
    }

    l->p = p + e;
}


static inline void
ngx_http_llm_tokens_lang_ascii(ngx_http_llm_tokens_lang_t *l,
    const u_char *p, unsigned i, unsigned j, size_t w)
{
    if (l != NULL && l->p == p + i && p + w <= l->end) {
        ngx_http_llm_tokens_lang_break(l);
        l->p = p + j;
    }
}


/*
 * A word of ASCII letters and Latin-1 ones (U+00C0 .. U+00FF but × ÷, two
 * bytes each) from s in p's block b, as ngx_http_llm_tokens_word_scan()
 * cuts it: [upper]*[lower]*, then an ASCII character other than an
 * apostrophe.  Returns 0 when it is not one (another non-ASCII character,
 * the end of the block), else its end, its letters, upper case ones and
 * Latin-1 ones.
 */

static unsigned
ngx_http_llm_tokens_latin1_word(const u_char *p,
    const ngx_http_llm_tokens_block_t *b, unsigned w, unsigned s,
    unsigned *end, unsigned *letters, unsigned *uppers, unsigned *latin)
{
    u_char    a;
    unsigned  x, r, n, u, nl, low;

    x = s;
    n = 0;
    u = 0;
    nl = 0;
    low = 0;

    for ( ;; ) {

        if (x >= w) {
            /* what ends the word is past the block */
            return 0;
        }

        if (!low) {
            r = ngx_http_llm_tokens_run(b->upper, x);
            n += r;
            u += r;
            x += r;

            if (x >= w) {
                return 0;
            }
        }

        r = ngx_http_llm_tokens_run(b->letter & ~b->upper, x);

        if (r) {
            low = 1;
            n += r;
            x += r;

            if (x >= w) {
                return 0;
            }
        }

        if (p[x] < 0x80) {

            if (p[x] == '\'') {
                /* a contraction, maybe */
                return 0;
            }

            /* not a letter, or an upper case one after lower case ones */
            break;
        }

        if (p[x] != 0xc3 || x + 1 >= w || (p[x + 1] & 0xc0) != 0x80) {
            return 0;
        }

        /* U+00C0 + (p[x + 1] & 0x3f) */

        a = ngx_http_llm_tokens_latin1[0x40 + (p[x + 1] & 0x3f)];

        if (ngx_http_llm_tc(a) == NGX_HTTP_LLM_TC_UP) {

            if (low) {
                /* it starts the next piece */
                break;
            }

            u++;

        } else if (ngx_http_llm_tc(a) == NGX_HTTP_LLM_TC_LOW) {
            low = 1;

        } else {
            return 0;
        }

        n++;
        nl++;
        x += 2;
    }

    *end = x;
    *letters = n;
    *uppers = u;
    *latin = nl;

    return 1;
}


/* the cost of a word of n cased letters, u upper case, latin Latin-1 */

static uint32_t
ngx_http_llm_tokens_word_cost(unsigned n, unsigned u, unsigned latin,
    unsigned lead)
{
    int32_t   k;
    unsigned  shape;

    if (u == 0) {
        shape = NGX_HTTP_LLM_TW_LOWER;

    } else if (u == 1) {
        shape = NGX_HTTP_LLM_TW_CAP;

    } else if (u == n) {
        shape = NGX_HTTP_LLM_TW_CAPS;

    } else {
        shape = NGX_HTTP_LLM_TW_MIXED;
    }

    if (n > NGX_HTTP_LLM_TW_MAX_LEN) {
        k = ngx_http_llm_tokens_word[shape][lead][NGX_HTTP_LLM_TW_MAX_LEN]
            + (int32_t) (n - NGX_HTTP_LLM_TW_MAX_LEN)
              * NGX_HTTP_LLM_TOKENS_WORD_LONG;

    } else {
        k = ngx_http_llm_tokens_word[shape][lead][n];
    }

    k += (int32_t) latin * ngx_http_llm_tokens_cased[NGX_HTTP_LLM_TS_LATIN];

    return k < NGX_HTTP_LLM_TOKEN_UNIT ? NGX_HTTP_LLM_TOKEN_UNIT
                                       : (uint32_t) k;
}


/* ngx_http_llm_tokens_hot() or its x86 clone, popcount with POPCNT or not */

#if (NGX_HTTP_LLM_TOKENS_AVX2)
#define ngx_http_llm_tokens_hot_call(x86, b, p, i, words, rest, l)            \
    ((x86) ? ngx_http_llm_tokens_hot_x86(b, p, i, words, rest, l)             \
           : ngx_http_llm_tokens_hot(b, p, i, words, rest, l))
#define ngx_http_llm_tokens_popcount_x(x86, m)                                \
    ((x86) ? (unsigned) __builtin_popcountll(m)                               \
           : ngx_http_llm_tokens_popcount(m))
#else
#define ngx_http_llm_tokens_hot_call(x86, b, p, i, words, rest, l)            \
    ngx_http_llm_tokens_hot(b, p, i, words, rest, l)
#define ngx_http_llm_tokens_popcount_x(x86, m)                                \
    ngx_http_llm_tokens_popcount(m)
#endif


/*
 * The pieces of the text from p, 64 bytes at a time from their bit masks:
 *
 *   - words of ASCII letters ([A-Z]*[a-z]*) with or without their lead (a
 *     space, an ASCII punctuation character, \t \v \f) that an ASCII
 *     character other than an apostrophe ends;
 *   - runs of ASCII punctuation, with or without a leading space, then
 *     [\r\n/]*, that an ASCII character ends;
 *   - runs of ASCII white space, cut as ngx_http_llm_tokens_space_scan()
 *     does, that an ASCII character ends;
 *   - runs of ASCII digits, 3 to a piece, that an ASCII character ends;
 *
 * each when what ends it (and what decides its kind: the character after
 * its first) is in the same block.  They are cut and costed as
 * ngx_http_llm_tokens_piece() would.  A piece that does not fit in the rest
 * of a block starts the next one; the others (a non-ASCII character, a
 * contraction, a piece longer than a block, the end of the text) are cut
 * by ngx_http_llm_tokens_piece() in between.  The costs are added to sums.
 *
 * The language guess (l, NULL: none) is made along: a piece cut here is
 * made of ASCII letters or of ASCII characters that end a word, a word
 * that starts and ends in its sample is looked up at once; the scan of
 * ngx_http_llm_tokens_lang_scan() takes the rest.
 *
 * The first piece of the text is left to the caller, which knows when the
 * whole text is one piece: returns text then, else end.
 */

static inline __attribute__((always_inline)) const u_char *
ngx_http_llm_tokens_blocks_run(const u_char *text, const u_char *p,
    const u_char *end, uint64_t *sums, ngx_http_llm_tokens_lang_t *l,
    int x86)
{
    size_t                       w;
    int32_t                      k;
    uint32_t                     cost;
    unsigned                     i, s, e, j, n, u, lead, shape, spaces, nl;
    unsigned                     bucket;
    uint64_t                     words, rest, range, m;
    const u_char                *q;
    const uint16_t              *t;
    ngx_http_llm_tokens_block_t  b;
    ngx_http_llm_tokens_piece_t  pc;

    (void) x86;

    words = 0;
    rest = 0;

    if (l != NULL && l->p >= l->end) {
        l = NULL;
    }

    for ( ;; ) {

        w = end - p;

#if (NGX_HTTP_LLM_TOKENS_AVX2)
        if (x86) {
            ngx_http_llm_tokens_classify_x86(p, w < 64 ? w : 64, &b);

        } else
#endif
        {
            ngx_http_llm_tokens_classify(p, w < 64 ? w : 64, &b);
        }

        if (w > 63) {
            w = 63;
        }

        /* what cannot end a word here, and where the commonest start */

        b.halt = b.stop | ~((1ULL << w) - 1);
        b.sw = b.space & (b.letter >> 1);
        b.ps = b.punct & (b.space >> 1);

        /*
         * a white space character that is a piece alone: not before
         * another or a non-ASCII character (which may be one), not a space
         * before a letter or a punctuation character, not \t \v \f before
         * a letter; and before the end of the block
         */

        b.ws = b.white & ~((b.white | b.high) >> 1) & ~b.sw
               & ~(b.space & (b.punct >> 1))
               & ~((b.white & ~b.space & ~b.nl) & (b.letter >> 1))
               & (~b.halt >> 1);

        i = 0;

    again:

        for ( ;; ) {

            /* the commonest pieces, then a piece from i (< w) */

            i = ngx_http_llm_tokens_hot_call(x86, &b, p, i, &words, &rest,
                                             (l != NULL && l->p == p + i
                                              && p + w <= l->end) ? l : NULL);

            if (ngx_http_llm_tokens_bit(b.sw, i)) {
                lead = NGX_HTTP_LLM_TL_SPACE;
                s = i + 1;
                goto word;
            }

            if (ngx_http_llm_tokens_bit(b.letter, i)) {
                lead = NGX_HTTP_LLM_TL_NONE;
                s = i;
                goto word;
            }

            if (i + 1 >= w) {
                /* what decides the piece is in the next block */
                goto next;
            }

            if (ngx_http_llm_tokens_bit(b.space, i)) {

                if (ngx_http_llm_tokens_bit(b.punct, i + 1)) {
                    lead = NGX_HTTP_LLM_TL_SPACE;
                    s = i + 1;
                    goto punct;
                }

                if (ngx_http_llm_tokens_bit(b.high, i + 1)) {
                    goto piece;
                }

                goto white;
            }

            if (ngx_http_llm_tokens_bit(b.punct, i)) {

                if (ngx_http_llm_tokens_bit(b.letter, i + 1)) {
                    lead = NGX_HTTP_LLM_TL_OTHER;
                    s = i + 1;
                    goto word;
                }

                if (ngx_http_llm_tokens_bit(b.high, i + 1)) {
                    goto piece;
                }

                lead = NGX_HTTP_LLM_TL_NONE;
                s = i;
                goto punct;
            }

            if (ngx_http_llm_tokens_bit(b.digit, i)) {
                goto digits;
            }

            if (ngx_http_llm_tokens_bit(b.nl, i)) {
                goto white;
            }

            if (ngx_http_llm_tokens_bit(b.white, i)) {

                /* \t \v \f */

                if (ngx_http_llm_tokens_bit(b.letter, i + 1)) {
                    lead = NGX_HTTP_LLM_TL_OTHER;
                    s = i + 1;
                    goto word;
                }

                if (ngx_http_llm_tokens_bit(b.high, i + 1)) {
                    goto piece;
                }

                goto white;
            }

            /* a non-ASCII character */
            goto piece;

        word:

            /*
             * [A-Z]*[a-z]*, then not an apostrophe, not a non-ASCII letter;
             * the run of letters first, the piece when no upper case
             * letter follows its first: "word", "Word"
             */

            e = s + ngx_http_llm_tokens_run(b.letter, s);
            n = e - s;
            m = b.upper >> s;

            if (!ngx_http_llm_tokens_bit(b.halt, e)
                && (m & ((1ULL << n) - 2)) == 0)
            {
                shape = (unsigned) (m & 1);

            } else {

                if (e >= w) {
                    goto next;
                }

                /* "WORD", "WORDword", "wordWORD": "word", then "WORD" */

                u = ngx_http_llm_tokens_run(b.upper, s);
                e = s + u + ngx_http_llm_tokens_run(b.letter & ~b.upper, s + u);

                if (ngx_http_llm_tokens_bit(b.stop, e)) {

                    if (p[e] == 0xc3
                        && ngx_http_llm_tokens_latin1_word(p, &b, w, s, &e,
                                                           &n, &u, &j))
                    {
                        /*
                         * "café", "naïve": a word of its own sum; "m" of
                         * "mÀ" is all ASCII
                         */

                        sums[j ? NGX_HTTP_LLM_TB_WORD : NGX_HTTP_LLM_TB_ASCII]
                            += ngx_http_llm_tokens_word_cost(n, u, j, lead);

                        if (l != NULL && l->p == p + i && p + w <= l->end) {
                            /* the guess up to e: the hot pieces after it */
                            ngx_http_llm_tokens_lang_block(l, p, &b, e);
                        }

                        i = e;
                        continue;
                    }

                    goto piece;
                }

                n = e - s;

                if (u == 0) {
                    shape = NGX_HTTP_LLM_TW_LOWER;

                } else if (u == 1) {
                    shape = NGX_HTTP_LLM_TW_CAP;

                } else if (u == n) {
                    shape = NGX_HTTP_LLM_TW_CAPS;

                } else {
                    shape = NGX_HTTP_LLM_TW_MIXED;
                }
            }

            t = ngx_http_llm_tokens_word[shape][lead];

            if (n > NGX_HTTP_LLM_TW_MAX_LEN) {
                k = t[NGX_HTTP_LLM_TW_MAX_LEN]
                    + (int32_t) (n - NGX_HTTP_LLM_TW_MAX_LEN)
                      * NGX_HTTP_LLM_TOKENS_WORD_LONG;

            } else {
                k = t[n];
            }

            words += k < NGX_HTTP_LLM_TOKEN_UNIT ? NGX_HTTP_LLM_TOKEN_UNIT
                                                 : (uint32_t) k;

            if (l != NULL && l->p == p + i && p + w <= l->end
                && !ngx_http_llm_tokens_bit(b.letter, e))
            {
                ngx_http_llm_tokens_lang_piece(l, p, i, s, e);
            }

            i = e;
            continue;

        punct:

            /* [^\s\p{L}\p{N}]+[\r\n/]* from s */

            j = s + ngx_http_llm_tokens_run(b.punct, s);

            if (j >= w) {
                goto next;
            }

            if (ngx_http_llm_tokens_bit(b.high, j)) {
                goto piece;
            }

            n = j - s;
            nl = 0;

            while (j < w && (p[j] == '\n' || p[j] == '\r' || p[j] == '/')) {
                if (p[j] == '/') {
                    n++;

                } else {
                    nl++;
                }

                j++;
            }

            if (j >= w) {
                goto next;
            }

            if (n > NGX_HTTP_LLM_TP_MAX_LEN) {
                k = ngx_http_llm_tokens_punct[lead][NGX_HTTP_LLM_TP_MAX_LEN]
                    + (int32_t) (n - NGX_HTTP_LLM_TP_MAX_LEN)
                      * NGX_HTTP_LLM_TOKENS_PUNCT_LONG;

            } else {
                k = ngx_http_llm_tokens_punct[lead][n];
            }

            k += (int32_t) nl * NGX_HTTP_LLM_TOKENS_PUNCT_NL;

            rest += k < NGX_HTTP_LLM_TOKEN_UNIT ? NGX_HTTP_LLM_TOKEN_UNIT
                                                : (uint32_t) k;

            ngx_http_llm_tokens_lang_ascii(l, p, i, j, w);

            i = j;
            continue;

        white:

            /* \s*[\r\n]+ | \s+(?!\S) | \s+ from i */

            j = i + ngx_http_llm_tokens_run(b.white, i);

            if (j >= w) {
                goto next;
            }

            if (ngx_http_llm_tokens_bit(b.high, j)) {
                goto piece;
            }

            /* bits i .. j - 1 (j < 64) */
            range = ((1ULL << j) - 1) & ~((1ULL << i) - 1);
            m = b.nl & range;

            if (m) {
                /* up to the last newline */
                j = 64 - __builtin_clzll(m);
                nl = ngx_http_llm_tokens_popcount_x(x86, m);

            } else {
                /* the last white space character goes to the next piece */
                j = (j - i > 1) ? j - 1 : j;
                nl = 0;
            }

            range &= (1ULL << j) - 1;
            spaces = ngx_http_llm_tokens_popcount_x(x86, b.space & range);
            n = j - i - spaces;

            k = NGX_HTTP_LLM_TOKEN_UNIT;

            if (n > 1) {
                k += (int32_t) (n - 1) * NGX_HTTP_LLM_TOKEN_UNIT
                     / NGX_HTTP_LLM_TOKENS_SPACE_OTHER;
            }

            if (spaces > NGX_HTTP_LLM_TOKENS_SPACE_SPACES) {
                k += (int32_t) (spaces - NGX_HTTP_LLM_TOKENS_SPACE_SPACES)
                     * NGX_HTTP_LLM_TOKENS_SPACE_SPACE;
            }

            rest += (uint32_t) k;

            ngx_http_llm_tokens_lang_ascii(l, p, i, j, w);

            i = j;
            continue;

        digits:

            /* \p{N}{1,3}, one token each */

            j = i + ngx_http_llm_tokens_run(b.digit, i);

            if (j >= w) {
                goto next;
            }

            if (ngx_http_llm_tokens_bit(b.high, j)) {
                goto piece;
            }

            rest += (j - i + 2) / 3 * NGX_HTTP_LLM_TOKEN_UNIT;

            ngx_http_llm_tokens_lang_ascii(l, p, i, j, w);

            i = j;
        }

    next:

        /* the piece from i does not fit in the rest of the block */

        if (i != 0 && p + w < end) {

            if (l != NULL) {
                if (l->p < p + i) {
                    ngx_http_llm_tokens_lang_block(l, p, &b, i);
                }

                if (l->p >= l->end) {
                    l = NULL;
                }
            }

            p += i;
            continue;
        }

    piece:

        /*
         * A piece the bit masks do not cut: by the fast path or the generic
         * one; the first piece of the text is left to the caller
         */

        if (p + i == text) {
            break;
        }

        q = ngx_http_llm_tokens_piece(p + i, end, &cost, &bucket, &pc);
        sums[bucket] += cost;

        if (l != NULL) {
            ngx_http_llm_tokens_lang_block(l, p, &b, i);
            ngx_http_llm_tokens_lang_scan(l, q);

            if (l->p >= l->end) {
                l = NULL;
            }
        }

        if (q == end) {
            p = end;
            i = 0;
            break;
        }

        if (q - p < (ssize_t) w) {
            i = q - p;
            goto again;
        }

        p = q;
    }

    sums[NGX_HTTP_LLM_TB_ASCII] += words;
    sums[NGX_HTTP_LLM_TB_OTHER] += rest;

    return p + i;
}


/*
 * ngx_http_llm_tokens_blocks_run() made twice: with AVX2, BMI1, BMI2 and
 * POPCNT when the CPU has them (the same code, its bit tests and counts in
 * fewer instructions, the masks' constants kept in registers), and for the
 * build's target (SSE2 on x86-64, the portable path elsewhere)
 */

#if (NGX_HTTP_LLM_TOKENS_AVX2)

__attribute__((target(NGX_HTTP_LLM_TOKENS_X86))) static const u_char *
ngx_http_llm_tokens_blocks_avx2(const u_char *text, const u_char *p,
    const u_char *end, uint64_t *sums, ngx_http_llm_tokens_lang_t *l)
{
    return ngx_http_llm_tokens_blocks_run(text, p, end, sums, l, 1);
}

#endif


static const u_char *
ngx_http_llm_tokens_blocks(const u_char *text, const u_char *p,
    const u_char *end, uint64_t *sums, ngx_http_llm_tokens_lang_t *l)
{
#if (NGX_HTTP_LLM_TOKENS_AVX2)
    if (ngx_http_llm_tokens_avx2 > 0
        || (ngx_http_llm_tokens_avx2 < 0 && ngx_http_llm_tokens_x86_init()))
    {
        return ngx_http_llm_tokens_blocks_avx2(text, p, end, sums, l);
    }
#endif

    return ngx_http_llm_tokens_blocks_run(text, p, end, sums, l, 0);
}

#endif /* NGX_HTTP_LLM_TOKENS_BLOCKS */


#ifdef NGX_HTTP_LLM_TOKENS_FAST

/*
 * One piece from p (*p < 0x80), as the main loop and the generic scanners
 * would cut and cost it, when every character whose class decides is ASCII
 * or ends the piece: returns its end, its cost and whether it is a word of
 * ASCII letters ("ascii" in the main loop).  NULL when the generic scanners
 * would take a non-ASCII character into the piece (a letter in a word, a
 * symbol in a punctuation run, white space): the caller scans the piece
 * again from p with them.  t/unit/tokens_fast_test.c compares both paths.
 */

static inline const u_char *
ngx_http_llm_tokens_fast(const u_char *p, const u_char *end, uint32_t *cost,
    unsigned *word)
{
    u_char         a, c, c0, c1, lead, l1, l2;
    int32_t        k;
    uint32_t       n, upper, nl, spaces, other, sv_spaces, sv_other, sv_nl;
    unsigned       contraction, shape;
    const u_char  *s, *q, *start, *last, *after_nl;

    q = p + 1;

    /* the most common piece first: " word" */

    if (*p == ' ' && q < end && (u_char) ((*q | 0x20) - 'a') < 26) {
        lead = NGX_HTTP_LLM_TL_SPACE;
        s = q;
        goto word;
    }

    c0 = ngx_http_llm_tc(ngx_http_llm_tokens_ascii[*p]);
    c1 = NGX_HTTP_LLM_TC_END;

    if (q < end
        && (c0 == NGX_HTTP_LLM_TC_WS || c0 == NGX_HTTP_LLM_TC_PUNCT))
    {
        (void) ngx_http_llm_tokens_next(q, end, &a);
        c1 = ngx_http_llm_tc(a);
    }

    switch (c0) {

    case NGX_HTTP_LLM_TC_UP:
    case NGX_HTTP_LLM_TC_LOW:
        lead = NGX_HTTP_LLM_TL_NONE;
        s = p;
        goto word;

    case NGX_HTTP_LLM_TC_NUM:

        /* \p{N}{1,3}: one token; a non-ASCII digit: the generic path */

        s = q;

        for (n = 1; n < 3 && s < end; n++) {
            (void) ngx_http_llm_tokens_next(s, end, &a);

            if (ngx_http_llm_tc(a) != NGX_HTTP_LLM_TC_NUM) {
                break;
            }

            if (*s >= 0x80) {
                return NULL;
            }

            s++;
        }

        *cost = NGX_HTTP_LLM_TOKEN_UNIT;
        *word = 0;
        return s;

    case NGX_HTTP_LLM_TC_PUNCT:

        if (ngx_http_llm_is_letter(c1)) {
            lead = NGX_HTTP_LLM_TL_OTHER;
            s = q;
            goto word;
        }

        lead = NGX_HTTP_LLM_TL_NONE;
        s = p;
        goto punct;

    case NGX_HTTP_LLM_TC_WS:

        if (ngx_http_llm_is_letter(c1)) {
            lead = (*p == ' ') ? NGX_HTTP_LLM_TL_SPACE : NGX_HTTP_LLM_TL_OTHER;
            s = q;
            goto word;
        }

        if (*p == ' ' && c1 == NGX_HTTP_LLM_TC_PUNCT) {
            lead = NGX_HTTP_LLM_TL_SPACE;
            s = q;
            goto punct;
        }

        s = p;
        goto space;

    default: /* NGX_HTTP_LLM_TC_NL */
        s = p;
        goto space;
    }

word:

    /* [A-Z]*[a-z]+ or [A-Z]+[a-z]*; a non-ASCII letter: the generic path */

    upper = 0;

    while (s < end && (u_char) (*s - 'A') < 26) {
        upper++;
        s++;
    }

    n = upper;

    if (s < end) {
        if (*s >= 0x80) {
            (void) ngx_http_llm_tokens_char(s, end, &a);

            if (ngx_http_llm_is_letter(ngx_http_llm_tc(a))) {
                return NULL;
            }

        } else if ((u_char) (*s - 'a') < 26) {

            q = ngx_http_llm_tokens_letters(s + 1, end, 0);
            n += q - s;
            s = q;

            if (s < end && *s >= 0x80) {
                (void) ngx_http_llm_tokens_char(s, end, &a);
                c = ngx_http_llm_tc(a);

                if (c == NGX_HTTP_LLM_TC_LOW || c == NGX_HTTP_LLM_TC_BOTH) {
                    return NULL;
                }
            }
        }
    }

    /* (?i:'s|'t|'re|'ve|'m|'ll|'d) */

    contraction = 0;

    if (end - s >= 2 && s[0] == '\'') {
        l1 = s[1] | 0x20;
        l2 = (end - s >= 3) ? (s[2] | 0x20) : 0;

        if (l1 == 's' || l1 == 't' || l1 == 'm' || l1 == 'd') {
            contraction = 1;
            s += 2;

        } else if ((l1 == 'l' && l2 == 'l') || (l1 == 'v' && l2 == 'e')
                   || (l1 == 'r' && l2 == 'e'))
        {
            contraction = 2;
            s += 3;
        }
    }

    *word = 1;

    if (upper == 0) {
        shape = NGX_HTTP_LLM_TW_LOWER;

    } else if (upper == 1) {
        shape = NGX_HTTP_LLM_TW_CAP;

    } else if (upper == n) {
        shape = NGX_HTTP_LLM_TW_CAPS;

    } else {
        shape = NGX_HTTP_LLM_TW_MIXED;
    }

    if (n > NGX_HTTP_LLM_TW_MAX_LEN) {
        k = ngx_http_llm_tokens_word[shape][lead][NGX_HTTP_LLM_TW_MAX_LEN]
            + (int32_t) (n - NGX_HTTP_LLM_TW_MAX_LEN)
              * NGX_HTTP_LLM_TOKENS_WORD_LONG;

    } else {
        k = ngx_http_llm_tokens_word[shape][lead][n];
    }

    if (contraction) {
        k += NGX_HTTP_LLM_TOKENS_CONTRACTION;
    }

    *cost = k < NGX_HTTP_LLM_TOKEN_UNIT ? NGX_HTTP_LLM_TOKEN_UNIT
                                        : (uint32_t) k;
    return s;

punct:

    /* [^\s\p{L}\p{N}]+[\r\n/]*: a non-ASCII symbol, the generic path */

    n = 0;

    while (s < end) {

        if (*s >= 0x80) {
            (void) ngx_http_llm_tokens_char(s, end, &a);

            if (ngx_http_llm_tc(a) == NGX_HTTP_LLM_TC_PUNCT) {
                return NULL;
            }

            break;
        }

        if (ngx_http_llm_tc(ngx_http_llm_tokens_ascii[*s])
            != NGX_HTTP_LLM_TC_PUNCT)
        {
            break;
        }

        n++;
        s++;
    }

    nl = 0;

    while (s < end) {

        if (*s == '\n' || *s == '\r') {
            nl++;

        } else if (*s == '/') {
            n++;

        } else {
            break;
        }

        s++;
    }

    if (n > NGX_HTTP_LLM_TP_MAX_LEN) {
        k = ngx_http_llm_tokens_punct[lead][NGX_HTTP_LLM_TP_MAX_LEN]
            + (int32_t) (n - NGX_HTTP_LLM_TP_MAX_LEN)
              * NGX_HTTP_LLM_TOKENS_PUNCT_LONG;

    } else {
        k = ngx_http_llm_tokens_punct[lead][n];
    }

    k += (int32_t) nl * NGX_HTTP_LLM_TOKENS_PUNCT_NL;

    *cost = k < NGX_HTTP_LLM_TOKEN_UNIT ? NGX_HTTP_LLM_TOKEN_UNIT
                                        : (uint32_t) k;
    *word = 0;
    return s;

space:

    /* \s*[\r\n]+ | \s+(?!\S) | \s+, as ngx_http_llm_tokens_space_scan() */

    start = s;
    last = s;
    after_nl = NULL;
    spaces = 0;
    other = 0;
    nl = 0;
    sv_spaces = 0;
    sv_other = 0;
    sv_nl = 0;

    while (s < end) {

        if (*s >= 0x80) {
            (void) ngx_http_llm_tokens_char(s, end, &a);
            c = ngx_http_llm_tc(a);

            if (c == NGX_HTTP_LLM_TC_WS || c == NGX_HTTP_LLM_TC_NL) {
                return NULL;
            }

            break;
        }

        c = ngx_http_llm_tc(ngx_http_llm_tokens_ascii[*s]);

        if (c == NGX_HTTP_LLM_TC_NL) {
            nl++;
            after_nl = s + 1;
            sv_spaces = spaces;
            sv_other = other;
            sv_nl = nl;

        } else if (c != NGX_HTTP_LLM_TC_WS) {
            break;

        } else if (*s == ' ') {
            spaces++;

        } else {
            other++;
        }

        last = s;
        s++;
    }

    if (after_nl != NULL) {
        s = after_nl;
        spaces = sv_spaces;
        other = sv_other;
        nl = sv_nl;

    } else if (s < end && last > start) {

        /* the last white space character goes to the next piece */

        if (*last == ' ') {
            spaces--;

        } else {
            other--;
        }

        s = last;
    }

    n = other + nl;
    k = NGX_HTTP_LLM_TOKEN_UNIT;

    if (n > 1) {
        k += (int32_t) (n - 1) * NGX_HTTP_LLM_TOKEN_UNIT
             / NGX_HTTP_LLM_TOKENS_SPACE_OTHER;
    }

    if (spaces > NGX_HTTP_LLM_TOKENS_SPACE_SPACES) {
        k += (int32_t) (spaces - NGX_HTTP_LLM_TOKENS_SPACE_SPACES)
             * NGX_HTTP_LLM_TOKENS_SPACE_SPACE;
    }

    *cost = (uint32_t) k;
    *word = 0;
    return s;
}

#endif /* NGX_HTTP_LLM_TOKENS_FAST */


/*
 * The language of a text, from its first NGX_HTTP_LLM_TOKENS_LANG_SAMPLE
 * bytes: the script most of its letters are written in, then letters
 * peculiar to a language (ы, і, پ, ñ, ş, ą, ư, ...) and a few frequent
 * short words ("the", "yang", "della", ...).  NGX_HTTP_LLM_TL_EN (English,
 * code, anything unsure) keeps the costs as fitted.
 */

#ifndef NGX_HTTP_LLM_TOKENS_BLOCKS

static unsigned
ngx_http_llm_tokens_lang(const u_char *text, size_t len)
{
    ngx_http_llm_tokens_lang_t  l;

    ngx_http_llm_tokens_lang_init(&l, text, len);

    ngx_http_llm_tokens_lang_scan(&l, l.end);

    return ngx_http_llm_tokens_lang_done(&l, len);
}

#endif


/*
 * The guess is a scan of the sample from left to right; it can be made in
 * steps (the estimator's fast path makes it along with the pieces): l->p is
 * where it stopped, which may be past where it was asked to go (a character
 * it decoded, a run of letters).
 */

static void
ngx_http_llm_tokens_lang_init(ngx_http_llm_tokens_lang_t *l,
    const u_char *text, size_t len)
{
    memset(l, 0, sizeof(ngx_http_llm_tokens_lang_t));

    l->p = text;
    l->end = text + (len < NGX_HTTP_LLM_TOKENS_LANG_SAMPLE
                     ? len : NGX_HTTP_LLM_TOKENS_LANG_SAMPLE);
    l->ascii_word = 1;
}


/* an ASCII character that is not a letter: the end of a word */

static inline void
ngx_http_llm_tokens_lang_break(ngx_http_llm_tokens_lang_t *l)
{
    if (l->wn && l->ascii_word && l->wn <= sizeof(l->w)) {
        ngx_http_llm_tokens_lang_word(l->w, l->wn, l->votes);
    }

    l->wn = 0;
    l->ascii_word = 1;
}


/* n ASCII letters at p, all of them (the whole run or the rest of it) */

static inline void
ngx_http_llm_tokens_lang_run(ngx_http_llm_tokens_lang_t *l, const u_char *p,
    size_t n)
{
    size_t  i;

    /*
     * The word in lower case, zero-padded for ngx_http_llm_tokens_lang_word();
     * a word goes on after an invalid byte, which is skipped
     */

    if (l->wn == 0) {
        if (n <= sizeof(l->w)) {
            ngx_http_llm_tokens_lower8(l->w, p, n, l->end);
        }

    } else if (l->ascii_word) {
        for (i = 0; i < n && l->wn + i < sizeof(l->w); i++) {
            l->w[l->wn + i] = p[i] | 0x20;
        }
    }

    l->wn += n;
    l->script[NGX_HTTP_LLM_TG_LATIN] += n;
}


/* the sample up to "to" (or past it, to the end of what it looks at) */

static void
ngx_http_llm_tokens_lang_scan(ngx_http_llm_tokens_lang_t *l, const u_char *to)
{
    u_char         c;
    size_t         n;
    uint32_t       cp;
    unsigned       sc;
    const u_char  *p, *end;

    end = l->end;

    if (to > end) {
        to = end;
    }

    for (p = l->p; p < to; p += n) {
        c = *p;

        if (c < 0x80) {
            n = 1;

            if ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') {

                /* a run of ASCII letters at once */

                n = ngx_http_llm_tokens_letters(p + 1, end,
                                                NGX_HTTP_LLM_TOKENS_ONES * 0x20)
                    - p;

                ngx_http_llm_tokens_lang_run(l, p, n);
                continue;
            }

            ngx_http_llm_tokens_lang_break(l);
            continue;
        }

        /* a non-ASCII character: decode it (an invalid byte is skipped) */

        if (c >= 0xc2 && c <= 0xdf && end - p >= 2) {
            n = 2;
            cp = (c & 0x1f) << 6 | (p[1] & 0x3f);

        } else if (c >= 0xe0 && c <= 0xef && end - p >= 3) {
            n = 3;
            cp = (c & 0x0f) << 12 | (p[1] & 0x3f) << 6 | (p[2] & 0x3f);

        } else if (c >= 0xf0 && c <= 0xf4 && end - p >= 4) {
            n = 4;
            cp = (uint32_t) (c & 0x07) << 18 | (p[1] & 0x3f) << 12
                 | (p[2] & 0x3f) << 6 | (p[3] & 0x3f);

        } else {
            n = 1;
            continue;
        }

        sc = ngx_http_llm_tokens_lang_char(cp, l->votes);
        l->script[sc]++;

        if (sc == NGX_HTTP_LLM_TG_LATIN) {
            l->ascii_word = 0;      /* part of a word, not an ASCII word */
            l->wn++;

        } else {
            ngx_http_llm_tokens_lang_break(l);
        }
    }

    if (p > l->p) {
        l->p = p;
    }
}


static unsigned
ngx_http_llm_tokens_lang_done(ngx_http_llm_tokens_lang_t *l, size_t len)
{
    unsigned   i, best;
    uint32_t  *votes, *script;

    if (l->wn && l->ascii_word && l->wn <= sizeof(l->w)) {
        ngx_http_llm_tokens_lang_word(l->w, l->wn, l->votes);
    }

    votes = l->votes;
    script = l->script;

    /* the script of most letters */

    best = NGX_HTTP_LLM_TG_NONE;

    for (i = 1; i < NGX_HTTP_LLM_TG_N; i++) {
        if (script[i] > script[best]) {
            best = i;
        }
    }

    switch (best) {

    case NGX_HTTP_LLM_TG_NONE:
        return NGX_HTTP_LLM_TL_EN;

    case NGX_HTTP_LLM_TG_CYRL:
        return votes[NGX_HTTP_LLM_TL_UK] > votes[NGX_HTTP_LLM_TL_RU]
               ? NGX_HTTP_LLM_TL_UK : NGX_HTTP_LLM_TL_RU;

    case NGX_HTTP_LLM_TG_ARAB:
        return votes[NGX_HTTP_LLM_TL_FA] > votes[NGX_HTTP_LLM_TL_AR]
               ? NGX_HTTP_LLM_TL_FA : NGX_HTTP_LLM_TL_AR;

    case NGX_HTTP_LLM_TG_HEBR:
        return NGX_HTTP_LLM_TL_HE;

    case NGX_HTTP_LLM_TG_GREK:
        return NGX_HTTP_LLM_TL_EL;

    case NGX_HTTP_LLM_TG_HAN:
    case NGX_HTTP_LLM_TG_KANA:
        return script[NGX_HTTP_LLM_TG_KANA] * 8 > script[NGX_HTTP_LLM_TG_HAN]
               ? NGX_HTTP_LLM_TL_JA : NGX_HTTP_LLM_TL_ZH;

    case NGX_HTTP_LLM_TG_HANG:
        return NGX_HTTP_LLM_TL_KO;

    case NGX_HTTP_LLM_TG_THAI:
        return NGX_HTTP_LLM_TL_TH;

    case NGX_HTTP_LLM_TG_DEVA:
        return NGX_HTTP_LLM_TL_HI;

    case NGX_HTTP_LLM_TG_BENG:
        return NGX_HTTP_LLM_TL_BN;

    case NGX_HTTP_LLM_TG_TAML:
        return NGX_HTTP_LLM_TL_TA;

    default: /* NGX_HTTP_LLM_TG_LATIN */
        break;
    }

    best = NGX_HTTP_LLM_TL_EN;

    for (i = NGX_HTTP_LLM_TL_EN + 1; i <= NGX_HTTP_LLM_TL_VI; i++) {
        if (votes[i] > votes[best]) {
            best = i;
        }
    }

    /* one frequent word is enough in a short text */
    return votes[best] >= (len < 256 ? 1u : 2u) ? best : NGX_HTTP_LLM_TL_EN;
}



/* the script of a non-ASCII code point, and its votes */

static unsigned
ngx_http_llm_tokens_lang_char(uint32_t cp, uint32_t *votes)
{
    /* the big blocks first (none of the ranges below holds them) */

    if (cp >= 0x4e00 && cp <= 0x9fff) {
        return NGX_HTTP_LLM_TG_HAN;
    }

    if (cp >= 0xac00 && cp <= 0xd7af) {
        return NGX_HTTP_LLM_TG_HANG;
    }

    if (cp >= 0x3040 && cp <= 0x30ff) {
        return NGX_HTTP_LLM_TG_KANA;
    }

    if (cp < 0x250) {

        switch (cp) {

        case 0x0103: case 0x0102: case 0x0110: case 0x0111:
        case 0x01a0: case 0x01a1: case 0x01af: case 0x01b0:
            votes[NGX_HTTP_LLM_TL_VI] += 2;             /* ă đ ơ ư */
            break;

        case 0x0105: case 0x0104: case 0x0119: case 0x0118: case 0x0142:
        case 0x0141: case 0x015b: case 0x015a: case 0x017a: case 0x0179:
        case 0x017c: case 0x017b: case 0x0107: case 0x0106: case 0x0144:
        case 0x0143:
            votes[NGX_HTTP_LLM_TL_PL] += 2;             /* ą ę ł ś ź ż ć ń */
            break;

        case 0x015f: case 0x015e: case 0x011f: case 0x011e: case 0x0131:
        case 0x0130:
            votes[NGX_HTTP_LLM_TL_TR] += 2;             /* ş ğ ı İ */
            break;

        case 0x00df: case 0x00e4: case 0x00c4:
            votes[NGX_HTTP_LLM_TL_DE] += 2;             /* ß ä */
            break;

        case 0x00f6: case 0x00fc: case 0x00d6: case 0x00dc:
            votes[NGX_HTTP_LLM_TL_DE]++;                /* ö ü */
            votes[NGX_HTTP_LLM_TL_TR]++;
            break;

        case 0x00e3: case 0x00f5: case 0x00c3: case 0x00d5:
            votes[NGX_HTTP_LLM_TL_PT] += 2;             /* ã õ */
            break;

        case 0x00e7: case 0x00c7:
            votes[NGX_HTTP_LLM_TL_PT]++;                /* ç */
            votes[NGX_HTTP_LLM_TL_FR]++;
            votes[NGX_HTTP_LLM_TL_TR]++;
            break;

        case 0x00f1: case 0x00d1: case 0x00bf: case 0x00a1:
            votes[NGX_HTTP_LLM_TL_ES] += 2;             /* ñ ¿ ¡ */
            break;

        case 0x00e1: case 0x00ed: case 0x00f3: case 0x00fa:
            votes[NGX_HTTP_LLM_TL_ES]++;                /* á í ó ú */
            votes[NGX_HTTP_LLM_TL_PT]++;
            break;

        case 0x00ea: case 0x00e2: case 0x00ee: case 0x00f4: case 0x00fb:
        case 0x00eb: case 0x0153:
            votes[NGX_HTTP_LLM_TL_FR]++;                /* ê â î ô û ë œ */
            break;

        case 0x00e8: case 0x00e0:
            votes[NGX_HTTP_LLM_TL_FR]++;                /* è à */
            votes[NGX_HTTP_LLM_TL_IT]++;
            break;

        case 0x00ec: case 0x00f2: case 0x00f9:
            votes[NGX_HTTP_LLM_TL_IT] += 2;             /* ì ò ù */
            break;
        }

        return (cp >= 0xc0 && cp != 0xd7 && cp != 0xf7)
               ? NGX_HTTP_LLM_TG_LATIN : NGX_HTTP_LLM_TG_NONE;
    }

    if (cp >= 0x1ea0 && cp <= 0x1ef9) {
        votes[NGX_HTTP_LLM_TL_VI] += 2;
        return NGX_HTTP_LLM_TG_LATIN;
    }

    if (cp >= 0x1e00 && cp <= 0x1eff) {
        return NGX_HTTP_LLM_TG_LATIN;
    }

    if (cp >= 0x370 && cp <= 0x3ff) {
        return NGX_HTTP_LLM_TG_GREK;
    }

    if (cp >= 0x1f00 && cp <= 0x1fff) {
        return NGX_HTTP_LLM_TG_GREK;
    }

    if (cp >= 0x400 && cp <= 0x52f) {

        switch (cp) {

        case 0x0456: case 0x0406: case 0x0457: case 0x0407: case 0x0454:
        case 0x0404: case 0x0491: case 0x0490:
            votes[NGX_HTTP_LLM_TL_UK] += 2;             /* і ї є ґ */
            break;

        case 0x044b: case 0x042b: case 0x044d: case 0x042d: case 0x044a:
        case 0x0451:
            votes[NGX_HTTP_LLM_TL_RU] += 2;             /* ы э ъ ё */
            break;
        }

        return NGX_HTTP_LLM_TG_CYRL;
    }

    if (cp >= 0x590 && cp <= 0x5ff) {
        return NGX_HTTP_LLM_TG_HEBR;
    }

    if ((cp >= 0x600 && cp <= 0x6ff) || (cp >= 0x750 && cp <= 0x77f)
        || (cp >= 0xfb50 && cp <= 0xfeff))
    {
        switch (cp) {

        case 0x067e: case 0x0686: case 0x0698: case 0x06af: case 0x06a9:
        case 0x06cc:
            votes[NGX_HTTP_LLM_TL_FA]++;                /* پ چ ژ گ ک ی */
            break;

        case 0x064a: case 0x0643: case 0x0629:
            votes[NGX_HTTP_LLM_TL_AR]++;                /* ي ك ة */
            break;
        }

        return (cp >= 0x660 && cp <= 0x669) || (cp >= 0x6f0 && cp <= 0x6f9)
               || (cp >= 0x60c && cp <= 0x61f)
               ? NGX_HTTP_LLM_TG_NONE : NGX_HTTP_LLM_TG_ARAB;
    }

    if (cp >= 0x900 && cp <= 0x97f) {
        return NGX_HTTP_LLM_TG_DEVA;
    }

    if (cp >= 0x980 && cp <= 0x9ff) {
        return NGX_HTTP_LLM_TG_BENG;
    }

    if (cp >= 0xb80 && cp <= 0xbff) {
        return NGX_HTTP_LLM_TG_TAML;
    }

    if (cp >= 0xe00 && cp <= 0xe7f) {
        return NGX_HTTP_LLM_TG_THAI;
    }

    if (cp >= 0x1100 && cp <= 0x11ff) {
        return NGX_HTTP_LLM_TG_HANG;
    }

    if (cp >= 0x3040 && cp <= 0x30ff) {
        return NGX_HTTP_LLM_TG_KANA;
    }

    if ((cp >= 0x3400 && cp <= 0x4dbf) || (cp >= 0x4e00 && cp <= 0x9fff)
        || (cp >= 0x20000 && cp <= 0x2ffff))
    {
        return NGX_HTTP_LLM_TG_HAN;
    }

    if ((cp >= 0xac00 && cp <= 0xd7af) || (cp >= 0x3130 && cp <= 0x318f)) {
        return NGX_HTTP_LLM_TG_HANG;
    }

    return NGX_HTTP_LLM_TG_NONE;
}


/* frequent short words, lower case, that tell Latin-script languages apart */

/*
 * w: n letters (n <= 8) zero-padded to 8 bytes, as the list's words are,
 * compared 8 bytes at once
 */

static inline void
ngx_http_llm_tokens_lang_word(const u_char *w, size_t n, uint32_t *votes)
{
    /* most words are not on the list by their first two letters */

    if (!((ngx_http_llm_tokens_word_first[w[0] & 0x1f][w[1] & 0x1f]
           >> (n - 1)) & 1))
    {
        return;
    }

    ngx_http_llm_tokens_lang_lookup(w, n, votes);
}


/* the same, for a word that its first two letters say may be on the list */

static inline void
ngx_http_llm_tokens_lang_lookup(const u_char *w, size_t n, uint32_t *votes)
{
    unsigned                            h;
    const ngx_http_llm_tokens_word_t     *sw;

    for (h = ngx_http_llm_tokens_word_hash8(w, n);
         ngx_http_llm_tokens_word_index[h];
         h = (h + 1) & 255)
    {
        sw = &ngx_http_llm_tokens_words[ngx_http_llm_tokens_word_index[h] - 1];

        if (memcmp(sw->word, w, 8) == 0) {
            votes[sw->lang]++;
            return;
        }
    }
}


/* w[0 .. 7]: the n (<= 8) ASCII letters at p in lower case, then zeros */

static inline void
ngx_http_llm_tokens_lower8(u_char *w, const u_char *p, size_t n,
    const u_char *end)
{
    size_t    i;
#if (NGX_HTTP_LLM_TOKENS_SWAR)
    uint64_t  x;

    if (end - p >= 8) {
        memcpy(&x, p, 8);

        x |= NGX_HTTP_LLM_TOKENS_ONES * 0x20;

        if (n < 8) {
            x &= (1ULL << (8 * n)) - 1;
        }

        memcpy(w, &x, 8);
        return;
    }
#endif

    for (i = 0; i < 8; i++) {
        w[i] = (i < n) ? (p[i] | 0x20) : 0;
    }
}


/* the attribute and the length of the character at p (p < end) */

static inline size_t
ngx_http_llm_tokens_next(const u_char *p, const u_char *end, u_char *attr)
{
    if (*p < 0x80) {
        *attr = ngx_http_llm_tokens_ascii[*p];
        return 1;
    }

    return ngx_http_llm_tokens_char(p, end, attr);
}


/*
 * Decodes the non-ASCII character at p (p < end), stores its attribute and
 * returns its length.  An invalid or truncated sequence is one byte of
 * U+FFFD.
 */

static size_t
ngx_http_llm_tokens_char(const u_char *p, const u_char *end, u_char *attr)
{
    u_char    c;
    size_t    n, i;
    uint32_t  cp, min;

    c = *p;

    if (c >= 0xc2 && c <= 0xdf) {

        /* two bytes, U+0080 .. U+07FF: the commonest, at once */

        if (end - p >= 2 && (p[1] & 0xc0) == 0x80) {
            cp = (c & 0x1f) << 6 | (p[1] & 0x3f);
            *attr = (cp < 0x100) ? ngx_http_llm_tokens_latin1[cp - 0x80]
                                 : ngx_http_llm_tokens_bmp[cp - 0x100];
            return 2;
        }

        goto invalid;

    } else if (c >= 0xe0 && c <= 0xef) {

        /* three bytes: CJK, Hangul and the symbols at once */

        if (end - p >= 3 && (p[1] & 0xc0) == 0x80 && (p[2] & 0xc0) == 0x80) {
            cp = (c & 0x0f) << 12 | (p[1] & 0x3f) << 6 | (p[2] & 0x3f);

            if (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff)) {
                goto invalid;
            }

            *attr = ngx_http_llm_tokens_lookup(cp);
            return 3;
        }

        goto invalid;

    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 4;
        cp = c & 0x07;
        min = 0x10000;

    } else {
        goto invalid;
    }

    if ((size_t) (end - p) < n) {
        goto invalid;
    }

    for (i = 1; i < n; i++) {
        if ((p[i] & 0xc0) != 0x80) {
            goto invalid;
        }

        cp = (cp << 6) | (p[i] & 0x3f);
    }

    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
        goto invalid;
    }

    *attr = ngx_http_llm_tokens_lookup(cp);

    return n;

invalid:

    *attr = NGX_HTTP_LLM_TA(PUNCT, OTHER);

    return 1;
}


static u_char
ngx_http_llm_tokens_lookup(uint32_t cp)
{
    /* Latin-1 (é, ñ, ß, NBSP, ...) and the small scripts from tables */

    if (cp < 0x100) {
        return ngx_http_llm_tokens_latin1[cp - 0x80];
    }

    if (cp < 0x1000) {
        return ngx_http_llm_tokens_bmp[cp - 0x100];
    }

    if (cp - 0x1e00 < 0x2100 - 0x1e00) {
        return ngx_http_llm_tokens_punct_block[cp - 0x1e00];
    }

    return ngx_http_llm_tokens_lookup_ranges(cp);
}


static u_char
ngx_http_llm_tokens_lookup_ranges(uint32_t cp)
{
    u_char  a;
    size_t  lo, hi, mid;

    /* the big blocks first */

    if (cp >= 0x4e00 && cp < 0xa000) {
        return NGX_HTTP_LLM_TA(BOTH, HAN);
    }

    if (cp >= 0xac00 && cp < 0xd7a4) {
        return NGX_HTTP_LLM_TA(BOTH, HANGUL);
    }

    lo = 0;
    hi = sizeof(ngx_http_llm_tokens_ranges)
         / sizeof(ngx_http_llm_tokens_range_t);

    /* the last entry with ranges[].lo <= cp; ranges[0].lo is 0x80 */

    while (hi - lo > 1) {
        mid = (lo + hi) / 2;

        if (ngx_http_llm_tokens_ranges[mid].lo <= cp) {
            lo = mid;

        } else {
            hi = mid;
        }
    }

    a = ngx_http_llm_tokens_ranges[lo].attr;

    switch (ngx_http_llm_tc(a)) {

    case NGX_HTTP_LLM_TC_ALT:
        return (a & 0xf0) | ((cp & 1) ? NGX_HTTP_LLM_TC_LOW
                                      : NGX_HTTP_LLM_TC_UP);

    case NGX_HTTP_LLM_TC_ALT1:
        return (a & 0xf0) | ((cp & 1) ? NGX_HTTP_LLM_TC_UP
                                      : NGX_HTTP_LLM_TC_LOW);

    default:
        return a;
    }
}


/*
 * Letters from p: [UP BOTH]* [LOW BOTH]+ or [UP BOTH]+ [LOW BOTH]*, as the
 * first of the two that matches (with the regex's backtracking), then an
 * optional contraction.
 */

static const u_char *
ngx_http_llm_tokens_word_scan(const u_char *p, const u_char *end,
    ngx_http_llm_tokens_piece_t *pc)
{
    u_char         a, c, l1, l2;
    size_t         n;
    uint32_t       ascii;
    const u_char  *both;

    both = NULL;
    c = NGX_HTTP_LLM_TC_END;

    while (p < end) {
        n = ngx_http_llm_tokens_next(p, end, &a);
        c = ngx_http_llm_tc(a);

        if (c == NGX_HTTP_LLM_TC_UP) {
            pc->upper++;

        } else if (c == NGX_HTTP_LLM_TC_BOTH) {
            both = p + n;

        } else {
            break;
        }

        pc->letters[ngx_http_llm_ts(a)]++;
        pc->n++;
        p += n;
    }

    if (c == NGX_HTTP_LLM_TC_LOW) {

        /* ASCII lower case letters, the common case, counted in a register */

        ascii = 0;

        while (p < end) {

            if (*p < 0x80) {
                if (ngx_http_llm_tokens_ascii[*p]
                    != NGX_HTTP_LLM_TA(LOW, ASCII))
                {
                    break;
                }

                ascii++;
                p++;
                continue;
            }

            n = ngx_http_llm_tokens_char(p, end, &a);
            c = ngx_http_llm_tc(a);

            if (c != NGX_HTTP_LLM_TC_LOW && c != NGX_HTTP_LLM_TC_BOTH) {
                break;
            }

            pc->letters[ngx_http_llm_ts(a)]++;
            pc->n++;
            p += n;
        }

        pc->letters[NGX_HTTP_LLM_TS_ASCII] += ascii;
        pc->n += ascii;

    } else if (both != NULL && both != p) {

        /*
         * upper case letters after the last uncased one: the first
         * alternative matches up to that one, they start the next piece
         */

        while (both < p) {
            p -= 1;

            if ((*p & 0xc0) == 0x80) {
                continue;
            }

            (void) ngx_http_llm_tokens_next(p, end, &a);
            pc->letters[ngx_http_llm_ts(a)]--;
            pc->n--;
            pc->upper--;
        }
    }

    /* (?i:'s|'t|'re|'ve|'m|'ll|'d) */

    if (end - p >= 2 && p[0] == '\'') {
        l1 = p[1] | 0x20;
        l2 = (end - p >= 3) ? (p[2] | 0x20) : 0;

        if (l1 == 's' || l1 == 't' || l1 == 'm' || l1 == 'd') {
            pc->contraction = 1;
            p += 2;

        } else if ((l1 == 'l' && l2 == 'l') || (l1 == 'v' && l2 == 'e')
                   || (l1 == 'r' && l2 == 'e'))
        {
            pc->contraction = 1;
            p += 3;
        }
    }

    return p;
}


/* [^\s\p{L}\p{N}]+[\r\n/]* from p, the optional space already skipped */

static const u_char *
ngx_http_llm_tokens_punct_scan(const u_char *p, const u_char *end,
    ngx_http_llm_tokens_piece_t *pc)
{
    u_char  a, c;
    size_t  n;

    pc->kind = NGX_HTTP_LLM_TK_PUNCT;

    while (p < end) {
        n = ngx_http_llm_tokens_next(p, end, &a);
        c = ngx_http_llm_tc(a);

        if (c != NGX_HTTP_LLM_TC_PUNCT) {
            break;
        }

        if (n == 1) {
            if (*p < 0x80) {
                pc->ascii++;

            } else {
                pc->sym[1]++;
            }

        } else {
            pc->sym[n - 2]++;
        }

        p += n;
    }

    /* [\r\n/]*: slashes after newlines, as in "};\n\n// ..." */

    while (p < end) {

        if (*p == '\n' || *p == '\r') {
            pc->nl++;

        } else if (*p == '/') {
            pc->ascii++;

        } else {
            break;
        }

        p++;
    }

    return p;
}


/* \s*[\r\n]+ | \s+(?!\S) | \s+ */

static const u_char *
ngx_http_llm_tokens_space_scan(const u_char *p, const u_char *end,
    ngx_http_llm_tokens_piece_t *pc)
{
    u_char         a, c;
    size_t         n;
    uint32_t       spaces, other, nl;
    const u_char  *start, *last, *after_nl;

    pc->kind = NGX_HTTP_LLM_TK_SPACE;

    start = p;
    last = p;
    after_nl = NULL;
    spaces = 0;
    other = 0;
    nl = 0;

    while (p < end) {
        n = ngx_http_llm_tokens_next(p, end, &a);
        c = ngx_http_llm_tc(a);

        if (c == NGX_HTTP_LLM_TC_NL) {
            nl++;
            after_nl = p + n;

            pc->ascii = spaces;
            pc->sym[0] = other;
            pc->nl = nl;

        } else if (c != NGX_HTTP_LLM_TC_WS) {
            break;

        } else if (*p == ' ') {
            spaces++;

        } else {
            other++;
        }

        last = p;
        p += n;
    }

    if (after_nl != NULL) {
        /* the counts were saved at the last newline */
        return after_nl;
    }

    pc->ascii = spaces;
    pc->sym[0] = other;

    if (p < end && last > start) {

        /* leave the last white space character to the next piece */

        if (*last == ' ') {
            pc->ascii--;

        } else {
            pc->sym[0]--;
        }

        return last;
    }

    return p;
}


static uint32_t
ngx_http_llm_tokens_cost(ngx_http_llm_tokens_piece_t *pc)
{
    int32_t   cost;
    uint32_t  n, cased, shape, i;

    switch (pc->kind) {

    case NGX_HTTP_LLM_TK_NUM:
        return NGX_HTTP_LLM_TOKEN_UNIT;

    case NGX_HTTP_LLM_TK_SPACE:
        n = pc->sym[0] + pc->nl;
        cost = NGX_HTTP_LLM_TOKEN_UNIT;

        if (n > 1) {
            cost += (int32_t) (n - 1) * NGX_HTTP_LLM_TOKEN_UNIT
                    / NGX_HTTP_LLM_TOKENS_SPACE_OTHER;
        }

        if (pc->ascii > NGX_HTTP_LLM_TOKENS_SPACE_SPACES) {
            cost += (int32_t) (pc->ascii - NGX_HTTP_LLM_TOKENS_SPACE_SPACES)
                    * NGX_HTTP_LLM_TOKENS_SPACE_SPACE;
        }

        return cost;

    case NGX_HTTP_LLM_TK_PUNCT:
        n = pc->ascii;

        if (n > NGX_HTTP_LLM_TP_MAX_LEN) {
            cost = ngx_http_llm_tokens_punct[pc->lead]
                                            [NGX_HTTP_LLM_TP_MAX_LEN]
                   + (int32_t) (n - NGX_HTTP_LLM_TP_MAX_LEN)
                     * NGX_HTTP_LLM_TOKENS_PUNCT_LONG;

        } else {
            cost = ngx_http_llm_tokens_punct[pc->lead][n];
        }

        cost += (int32_t) pc->sym[0] * NGX_HTTP_LLM_TOKENS_PUNCT_SYM2
                + (int32_t) pc->sym[1] * NGX_HTTP_LLM_TOKENS_PUNCT_SYM3
                + (int32_t) pc->sym[2] * NGX_HTTP_LLM_TOKENS_PUNCT_SYM4
                + (int32_t) pc->nl * NGX_HTTP_LLM_TOKENS_PUNCT_NL;

        break;

    default: /* NGX_HTTP_LLM_TK_WORD */

        cased = pc->letters[NGX_HTTP_LLM_TS_ASCII]
                + pc->letters[NGX_HTTP_LLM_TS_LATIN]
                + pc->letters[NGX_HTTP_LLM_TS_CYRL]
                + pc->letters[NGX_HTTP_LLM_TS_GREEK];

        n = pc->n;

        if (n == cased) {

            if (pc->upper == 0) {
                shape = NGX_HTTP_LLM_TW_LOWER;

            } else if (pc->upper == 1) {
                shape = NGX_HTTP_LLM_TW_CAP;

            } else if (pc->upper == n) {
                shape = NGX_HTTP_LLM_TW_CAPS;

            } else {
                shape = NGX_HTTP_LLM_TW_MIXED;
            }

            if (n > NGX_HTTP_LLM_TW_MAX_LEN) {
                cost = ngx_http_llm_tokens_word[shape][pc->lead]
                                               [NGX_HTTP_LLM_TW_MAX_LEN]
                       + (int32_t) (n - NGX_HTTP_LLM_TW_MAX_LEN)
                         * NGX_HTTP_LLM_TOKENS_WORD_LONG;

            } else {
                cost = ngx_http_llm_tokens_word[shape][pc->lead][n];
            }

            for (i = NGX_HTTP_LLM_TS_LATIN; i <= NGX_HTTP_LLM_TS_GREEK; i++) {
                cost += (int32_t) pc->letters[i]
                        * ngx_http_llm_tokens_cased[i];
            }

        } else {
            cost = ngx_http_llm_tokens_uncased_lead[pc->lead];

            if (n <= 4) {
                cost += ngx_http_llm_tokens_uncased_short[n];
            }

            for (i = 0; i < NGX_HTTP_LLM_TS_N; i++) {
                cost += (int32_t) pc->letters[i]
                        * ngx_http_llm_tokens_uncased[i];
            }
        }

        if (pc->contraction) {
            cost += NGX_HTTP_LLM_TOKENS_CONTRACTION;
        }

        break;
    }

    return cost < NGX_HTTP_LLM_TOKEN_UNIT ? NGX_HTTP_LLM_TOKEN_UNIT
                                          : (uint32_t) cost;
}
