
/*
 * Copyright (C) ngx_llm_module authors
 *
 * PII and secret detection.  It depends on libc, Hyperscan and OpenSSL
 * only, so that it can be unit-tested, fuzzed and benchmarked without nginx.
 *
 * The built-in types and the custom rules are compiled into block-mode
 * Hyperscan databases, most patterns with start-of-match reporting: one
 * main database, and three for the patterns that would slow it down
 * (IBANs, numbers, national IDs), each scanned only where its patterns can
 * match (see NGX_HTTP_LLM_PII_APART in the source).  A scan collects the
 * candidate spans Hyperscan reports, confirms each with its
 * type's validator (Luhn, mod-97, SSN ranges, IPv4 octets, inet_pton(),
 * boundaries, ...; a validator may narrow a span), and keeps the
 * leftmost-longest non-overlapping ones.
 *
 * Streams (answers that arrive in many small pieces) keep a small buffer:
 * the text not yet released plus a few bytes of released context.  After
 * each write the buffer is scanned again, and everything is released except
 * the bytes that could still become part of a match:
 *
 *   - the trailing run of characters that built-in values are made of
 *     (letters, digits, "._%+-@:()/=~", single spaces between digit or
 *     capital groups or lower-case groups of a code, characters that
 *     normalise to these, words in another script shorter than 64 bytes),
 *     at most NGX_HTTP_LLM_PII_RUN_MAX bytes;
 *   - a private key block whose END line has not arrived yet, at most
 *     NGX_HTTP_LLM_PII_BLOCK_MAX bytes; a longer one is redacted whole;
 *   - any match that reaches into the held bytes, from its start;
 *   - a value whose validator's answer depends on text not written yet
 *     (a quoted value after a credential word, while the bytes after the
 *     word that decide it have not all come: see docs/redaction.md), from
 *     its start (matches.hold);
 *   - a credential's companion (an id, a user, a host named next to a
 *     credential), from its start until the text up to COMP_GAP bytes
 *     after it can be released (a credential may still come);
 *   - with custom rules, the last (longest match - 1) bytes, at most
 *     NGX_HTTP_LLM_PII_RULE_MAX - 1 for rules without a bound;
 *   - with NGX_HTTP_LLM_PII_PLACEHOLDERS, an unfinished "[NAME_N]".
 *
 * In prose this holds back the last word, so a value split over any number
 * of pieces is seen whole, and the stream keeps flowing.
 *
 * Before matching, a few characters are normalised as NFKC and common
 * sense would: full-width ASCII forms (U+FF01..U+FF5E, "１２３") to ASCII,
 * no-break and other spaces (U+00A0, U+2007, U+202F, U+3000) to a space,
 * hyphens and the minus sign (U+2010..U+2013, U+2212) to "-", and
 * zero-width characters (U+200B..U+200D, U+2060, U+FEFF, the soft hyphen
 * U+00AD) removed, so that a value cannot hide behind them.  Matches are
 * mapped back to the original bytes (a value written with them is
 * redacted with them).
 */


#ifndef _NGX_HTTP_LLM_PII_H_INCLUDED_
#define _NGX_HTTP_LLM_PII_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <hs/hs.h>


#define NGX_HTTP_LLM_PII_EMAIL        0
#define NGX_HTTP_LLM_PII_PHONE        1
#define NGX_HTTP_LLM_PII_CARD         2
#define NGX_HTTP_LLM_PII_SSN          3
#define NGX_HTTP_LLM_PII_IBAN         4
#define NGX_HTTP_LLM_PII_IP           5
#define NGX_HTTP_LLM_PII_SECRET       6
#define NGX_HTTP_LLM_PII_NATIONAL_ID  7
#define NGX_HTTP_LLM_PII_NBUILTIN     8

#define NGX_HTTP_LLM_PII_ALL          0xff  /* all built-in types */
#define NGX_HTTP_LLM_PII_DEFAULT      0x7f  /* the default and "all" of
                                               llm_redact_types: all but
                                               national_id */

#define NGX_HTTP_LLM_PII_MAX_TYPES    64    /* built-in and custom */
#define NGX_HTTP_LLM_PII_MAX_RULES    1024
#define NGX_HTTP_LLM_PII_NAME_LEN     32

/* stream hold-back bounds, in bytes */
#define NGX_HTTP_LLM_PII_RUN_MAX      1024
#define NGX_HTTP_LLM_PII_BLOCK_MAX    65536
#define NGX_HTTP_LLM_PII_RULE_MAX     256
#define NGX_HTTP_LLM_PII_CONTEXT      64    /* the words before a value:
                                               "SSN", "phone: " */
/*
 * A credential's companions (an id, a user, a host named next to it): the
 * most bytes between the credential and the companion's value, and the
 * longest value taken.  A stream holds a companion until COMP_GAP bytes
 * after it are decided (see docs/redaction.md).
 */
#define NGX_HTTP_LLM_PII_COMP_GAP     64
#define NGX_HTTP_LLM_PII_COMP_MAX     256

/* a placeholder: "[" NAME "_" digits "]" or "[" NAME ":" 8 hex "]" */
#define NGX_HTTP_LLM_PII_LABEL_LEN    (NGX_HTTP_LLM_PII_NAME_LEN + 12)

/* flags of ngx_http_llm_pii_stream_scan() */
#define NGX_HTTP_LLM_PII_FINAL        0x01  /* the end: release it all */
#define NGX_HTTP_LLM_PII_PLACEHOLDERS 0x02  /* hold unfinished "[NAME_N" */


typedef struct ngx_http_llm_pii_s       ngx_http_llm_pii_t;
typedef struct ngx_http_llm_pii_hmac_s  ngx_http_llm_pii_hmac_t;


/* a custom rule: "NAME REGEX" */
typedef struct {
    const u_char               *name;
    size_t                      name_len;
    const u_char               *regex;
    size_t                      regex_len;
    unsigned                    line;
} ngx_http_llm_pii_rule_t;


typedef struct {
    size_t                      start;
    size_t                      end;
    unsigned                    type;
    unsigned                    prio:8;      /* for equal spans */
    unsigned                    tail:1;      /* the rest of a long private
                                                key block: its placeholder
                                                was already given */
    unsigned                    comp:1;      /* a secret's companion (an
                                                id, a user, a host named
                                                next to a credential) */
} ngx_http_llm_pii_match_t;


/* allocates size bytes; the old array is not freed (pool semantics) */
typedef void *(*ngx_http_llm_pii_alloc_pt)(void *data, size_t size);


typedef struct {
    ngx_http_llm_pii_match_t   *elts;
    size_t                      nelts;
    size_t                      nalloc;
    ngx_http_llm_pii_alloc_pt   alloc;
    void                       *data;
    u_char                     *norm;        /* normalised text and its */
    size_t                      norm_size;   /* offsets, reused (zero them) */
    u_char                     *runs;        /* the runs of digits scanned */
    size_t                      runs_size;   /* apart, reused (zero them) */
    size_t                      hold;        /* of the last scan: a
                                                validator's answer depends
                                                on text after the end, a
                                                stream holds from here;
                                                (size_t) -1: none */
} ngx_http_llm_pii_matches_t;


typedef struct {
    u_char                     *buf;         /* context + held text */
    size_t                      len;
    size_t                      size;
    size_t                      from;        /* context bytes in front */
    size_t                      cut;         /* releasable: [from, cut) */
    ngx_http_llm_pii_matches_t  matches;     /* of the last scan */
    size_t                      block;       /* open: where the key block
                                                starts */
    size_t                      checked;     /* open: no END line before */
    size_t                      base;        /* bytes dropped before buf */
    size_t                      cred;        /* where the last credential
                                                released ends, counted from
                                                the stream's start; 0: none
                                                (see the companions) */
    unsigned                    swallow:1;   /* in a too long key block */
    unsigned                    open:1;      /* held: an open key block,
                                                nothing after it changes
                                                until its END line */
} ngx_http_llm_pii_stream_t;


/* built-in type index of a name ("email", ...), or -1 */
int ngx_http_llm_pii_builtin(const u_char *name, size_t len);
const char *ngx_http_llm_pii_builtin_name(unsigned type);
/* the i-th built-in pattern (NULL after the last), its type, its flags */
const char *ngx_http_llm_pii_builtin_pattern(unsigned i, unsigned *type,
    unsigned *flags);

/*
 * One line of a rules file: 1 with *rule filled (pointers into line), 0 for
 * a blank line or a comment ('#'), -1 with *err set.
 */
int ngx_http_llm_pii_parse_rule(const u_char *line, size_t len,
    ngx_http_llm_pii_rule_t *rule, const char **err);

/*
 * Compile the built-in types of the mask and the rules (rules with the same
 * name form one type).  NULL with err filled (a rule's error names it and
 * gives Hyperscan's message; *bad is its index, else -1).  Memory comes
 * from malloc and Hyperscan; ngx_http_llm_pii_free() releases it.
 */
ngx_http_llm_pii_t *ngx_http_llm_pii_compile(unsigned types,
    const ngx_http_llm_pii_rule_t *rules, size_t nrules, char *err,
    size_t errlen, int *bad);
void ngx_http_llm_pii_free(ngx_http_llm_pii_t *pii);

/* grows *scratch (NULL: allocates one) for pii's databases; 0 or -1 */
int ngx_http_llm_pii_alloc_scratch(const ngx_http_llm_pii_t *pii,
    hs_scratch_t **scratch);

/*
 * The Hyperscan stage of a scan alone (benchmarks): pii's databases over
 * the text as it is, every report to handler (the pattern's index, not a
 * type); m only lends its buffers; 0, or -1 on an error or when the
 * handler stopped it
 */
int ngx_http_llm_pii_hs_scan(const ngx_http_llm_pii_t *pii,
    hs_scratch_t *scratch, const u_char *text, size_t len,
    match_event_handler handler, void *data, ngx_http_llm_pii_matches_t *m);

unsigned ngx_http_llm_pii_ntypes(const ngx_http_llm_pii_t *pii);
unsigned ngx_http_llm_pii_types(const ngx_http_llm_pii_t *pii);
/* "email", or a rule's name as written */
const char *ngx_http_llm_pii_name(const ngx_http_llm_pii_t *pii,
    unsigned type);
/* "EMAIL", upper case: the placeholders' label */
const char *ngx_http_llm_pii_label(const ngx_http_llm_pii_t *pii,
    unsigned type, size_t *len);
/* type of a label, or -1 */
int ngx_http_llm_pii_find_label(const ngx_http_llm_pii_t *pii,
    const u_char *label, size_t len);
/* the bytes a stream of this database may hold back besides blocks */
size_t ngx_http_llm_pii_window(const ngx_http_llm_pii_t *pii);

/*
 * Validated leftmost-longest matches of text, sorted, not overlapping, with
 * start >= from (the bytes before from are context: seen by the
 * validators, never matched).  Replaces m's contents.  0, or -1 on a
 * Hyperscan or allocation error.
 */
int ngx_http_llm_pii_scan(const ngx_http_llm_pii_t *pii,
    hs_scratch_t *scratch, const u_char *text, size_t len, size_t from,
    ngx_http_llm_pii_matches_t *m);

/*
 * Which of n texts ngx_http_llm_pii_scan() may find values in, with one
 * Hyperscan scan: the caller joins them in text, each followed by '\n'
 * (ends[k]: the offset of text k's '\n'); hit[k] is set for each text
 * Hyperscan reported a candidate in (a superset of the texts with
 * values).  0; 1 when the database has custom rules (not supported: scan
 * each text); -1 on an error.
 */
int ngx_http_llm_pii_texts(const ngx_http_llm_pii_t *pii,
    hs_scratch_t *scratch, const u_char *text, size_t len,
    const size_t *ends, size_t n, u_char *hit,
    ngx_http_llm_pii_matches_t *m);

/*
 * Streams.  Zero the stream and set matches.alloc/data first.  Write what
 * arrived, scan: s->buf[s->from, s->cut) can be released now, with the
 * matches of s->matches that end at or before s->cut; then consume it.
 */
int ngx_http_llm_pii_stream_write(ngx_http_llm_pii_stream_t *s,
    const u_char *p, size_t n);
/* room for n more bytes at s->buf + s->len (to decode into); 0 or -1 */
int ngx_http_llm_pii_stream_reserve(ngx_http_llm_pii_stream_t *s, size_t n);
int ngx_http_llm_pii_stream_scan(const ngx_http_llm_pii_t *pii,
    hs_scratch_t *scratch, ngx_http_llm_pii_stream_t *s, unsigned flags);
void ngx_http_llm_pii_stream_consume(ngx_http_llm_pii_stream_t *s);

/*
 * A placeholder "[NAME_N]" at p: its length (0 if there is none), the
 * label and N (1..999999).
 */
size_t ngx_http_llm_pii_placeholder(const u_char *p, size_t len,
    const u_char **label, size_t *label_len, unsigned *n);

/*
 * HMAC-SHA256 keyed once (configuration time); a tag is its first 8
 * lower-case hex digits.  0 or -1.
 */
ngx_http_llm_pii_hmac_t *ngx_http_llm_pii_hmac_create(const u_char *key,
    size_t key_len);
int ngx_http_llm_pii_hmac_tag(ngx_http_llm_pii_hmac_t *h,
    const u_char *value, size_t len, u_char *tag);
void ngx_http_llm_pii_hmac_free(ngx_http_llm_pii_hmac_t *h);

/* validators, exported for the unit tests */
int ngx_http_llm_pii_luhn(const u_char *p, size_t len);
int ngx_http_llm_pii_iban_valid(const u_char *p, size_t len);


#endif /* _NGX_HTTP_LLM_PII_H_INCLUDED_ */
