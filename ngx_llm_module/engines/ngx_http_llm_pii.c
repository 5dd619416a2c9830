
/*
 * Copyright (C) ngx_llm_module authors
 *
 * PII and secret detection with Hyperscan (see ngx_http_llm_pii.h).
 */


#ifndef _GNU_SOURCE
#define _GNU_SOURCE                        /* memmem() */
#endif

#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <arpa/inet.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#if (OPENSSL_VERSION_NUMBER >= 0x30000000L)
#include <openssl/core_names.h>
#include <openssl/params.h>
#endif

#include "ngx_http_llm_pii.h"
#include "ngx_http_llm_pii_phone.h"

#if (defined __SSE2__ && defined __GNUC__)
#include <emmintrin.h>
#define NGX_HTTP_LLM_PII_SSE2  1
#else
#define NGX_HTTP_LLM_PII_SSE2  0
#endif

/* normalisation's search 32 bytes at a time where the CPU has AVX2 */
#if (NGX_HTTP_LLM_PII_SSE2 && defined __x86_64__                              \
     && !defined NGX_HTTP_LLM_PII_NO_AVX2)
#include <immintrin.h>
#define NGX_HTTP_LLM_PII_AVX2  1
#else
#define NGX_HTTP_LLM_PII_AVX2  0
#endif


typedef int (*ngx_http_llm_pii_validate_pt)(const u_char *t, size_t len,
    size_t *start, size_t *end);


typedef struct {
    unsigned                        type;
    unsigned                        prio;
    unsigned                        flags;
    const char                     *regex;
    ngx_http_llm_pii_validate_pt    validate;
} ngx_http_llm_pii_pattern_t;


/* the databases apart from the main one, by index */
#define NGX_HTTP_LLM_PII_DB_IBAN      0
#define NGX_HTTP_LLM_PII_DB_DIGITS    1
#define NGX_HTTP_LLM_PII_DB_NATIONAL  2
#define NGX_HTTP_LLM_PII_DB_TOKEN     3
#define NGX_HTTP_LLM_PII_NAPART       4


struct ngx_http_llm_pii_s {
    hs_database_t                  *db;
    hs_database_t                  *apart[NGX_HTTP_LLM_PII_NAPART];
                                                 /* the patterns scanned
                                                    apart: IBAN, numbers,
                                                    national IDs, see
                                                    NGX_HTTP_LLM_PII_APART */
    ngx_http_llm_pii_pattern_t     *patterns;    /* by Hyperscan id */
    unsigned                        npatterns;
    unsigned                        ntypes;
    unsigned                        types;       /* built-in types */
    size_t                          window;      /* of the custom rules */
    unsigned                        begin;       /* the Hyperscan id of
                                                    "-----BEGIN ", or
                                                    NGX_HTTP_LLM_PII_NOID */
    unsigned                        token;       /* the id of "token"
                                                    found by the engine
                                                    (NGX_HTTP_LLM_PII_WORD),
                                                    or NGX_HTTP_LLM_PII_NOID */
    char                            names[NGX_HTTP_LLM_PII_MAX_TYPES]
                                         [NGX_HTTP_LLM_PII_NAME_LEN + 1];
    char                            labels[NGX_HTTP_LLM_PII_MAX_TYPES]
                                          [NGX_HTTP_LLM_PII_NAME_LEN + 1];
    size_t                          label_lens[NGX_HTTP_LLM_PII_MAX_TYPES];
};


typedef struct {
    const ngx_http_llm_pii_t       *pii;
    const u_char                   *text;
    size_t                          len;
    size_t                          from;
    ngx_http_llm_pii_matches_t     *m;
    int                             error;
    int                             begin;       /* "-----BEGIN " seen */
} ngx_http_llm_pii_scan_t;


typedef struct {
    const size_t                   *ends;
    size_t                          n;
    u_char                         *hit;
} ngx_http_llm_pii_texts_t;


/* the runs of digits scanned apart, see ngx_http_llm_pii_runs() */
typedef struct {
    match_event_handler             handler;
    void                           *data;
    const uint32_t                 *map;         /* each run: its offset in
                                                    the runs, in the text */
    size_t                          n;
    const ngx_http_llm_pii_t       *pii;
    const u_char                   *text;
} ngx_http_llm_pii_runs_t;


/*
 * Windows of a text scanned with a database apart (see
 * ngx_http_llm_pii_runs()): at most NGX_HTTP_LLM_PII_NWIN, in the order of
 * the text; one closer than NGX_HTTP_LLM_PII_WGAP bytes to the one before
 * joins it (an hs_scan() call costs more than that many bytes); with no
 * room left, the last one runs to the end of the text.
 */
#define NGX_HTTP_LLM_PII_NWIN  16
#define NGX_HTTP_LLM_PII_WGAP  64

typedef struct {
    size_t                          n;
    size_t                          w[NGX_HTTP_LLM_PII_NWIN][2];
} ngx_http_llm_pii_wins_t;


/* what the passes over the text found for the databases apart */
typedef struct {
    ngx_http_llm_pii_wins_t         iban;
    ngx_http_llm_pii_wins_t         token;
} ngx_http_llm_pii_marks_t;


/* a window's reports moved back to the text */
typedef struct {
    match_event_handler             handler;
    void                           *data;
    const ngx_http_llm_pii_t       *pii;
    const u_char                   *text;
    size_t                          off;
} ngx_http_llm_pii_shift_t;


/* where the breakpoints start in m->norm, after len + 1 bytes */
#define NGX_HTTP_LLM_PII_BP_OFF(len)                                          \
    (((len) + 1 + sizeof(ngx_http_llm_pii_bp_t) - 1)                          \
     & ~(sizeof(ngx_http_llm_pii_bp_t) - 1))

/* normalised text: from byte norm on, the bytes come from orig on */
typedef struct {
    uint32_t                        norm;
    uint32_t                        orig;
} ngx_http_llm_pii_bp_t;


static int ngx_http_llm_pii_v_email(const u_char *t, size_t len,
    size_t *start, size_t *end);
static int ngx_http_llm_pii_v_phone_intl(const u_char *t, size_t len,
    size_t *start, size_t *end);
static int ngx_http_llm_pii_v_phone_nanp(const u_char *t, size_t len,
    size_t *start, size_t *end);
static int ngx_http_llm_pii_v_phone_national(const u_char *t, size_t len,
    size_t *start, size_t *end);
static int ngx_http_llm_pii_v_phone_grouped(const u_char *t, size_t len,
    size_t *start, size_t *end);
static int ngx_http_llm_pii_v_card(const u_char *t, size_t len,
    size_t *start, size_t *end);
static int ngx_http_llm_pii_v_ssn(const u_char *t, size_t len,
    size_t *start, size_t *end);
static int ngx_http_llm_pii_v_iban(const u_char *t, size_t len,
    size_t *start, size_t *end);
static int ngx_http_llm_pii_v_ipv4(const u_char *t, size_t len,
    size_t *start, size_t *end);
static int ngx_http_llm_pii_v_ipv6(const u_char *t, size_t len,
    size_t *start, size_t *end);
static int ngx_http_llm_pii_v_aws(const u_char *t, size_t len,
    size_t *start, size_t *end);
static int ngx_http_llm_pii_v_aws_secret(const u_char *t, size_t len,
    size_t *start, size_t *end);
static int ngx_http_llm_pii_v_sk(const u_char *t, size_t len,
    size_t *start, size_t *end);
static int ngx_http_llm_pii_v_token(const u_char *t, size_t len,
    size_t *start, size_t *end);
/* secrets found by context (secctx, at the end) */
static int ngx_http_llm_pii_ctx_prefixed(const u_char *p, size_t n);
static int ngx_http_llm_pii_ctx_short(const u_char *t, size_t len, size_t v,
    size_t ve, size_t b);
static int ngx_http_llm_pii_v_ctx_pair(const u_char *t, size_t len,
    size_t *start, size_t *end);
static size_t ngx_http_llm_pii_ctx_pair_hold(const u_char *t, size_t len,
    size_t from);
static int ngx_http_llm_pii_v_jwt(const u_char *t, size_t len,
    size_t *start, size_t *end);
static int ngx_http_llm_pii_v_pem(const u_char *t, size_t len,
    size_t *start, size_t *end);
static int ngx_http_llm_pii_v_phone_context(const u_char *t, size_t len,
    size_t *start, size_t *end);
static int ngx_http_llm_pii_v_phone_idiom(const u_char *t, size_t len,
    size_t *start, size_t *end);
static int ngx_http_llm_pii_phone_dateish(const u_char *p, size_t n);
static int ngx_http_llm_pii_v_ssn_bare(const u_char *t, size_t len,
    size_t *start, size_t *end);
static int ngx_http_llm_pii_v_url_secret(const u_char *t, size_t len,
    size_t *start, size_t *end);
static int ngx_http_llm_pii_v_assigned(const u_char *t, size_t len,
    size_t *start, size_t *end);
static int ngx_http_llm_pii_v_cred_url(const u_char *t, size_t len,
    size_t *start, size_t *end);
static int ngx_http_llm_pii_v_national(const u_char *t, size_t len,
    size_t *start, size_t *end);
static int ngx_http_llm_pii_v_national_alpha(const u_char *t, size_t len,
    size_t *start, size_t *end);
static int ngx_http_llm_pii_v_national2(const u_char *t, size_t len,
    size_t *start, size_t *end);
static int ngx_http_llm_pii_v_context(const u_char *t, size_t len,
    size_t *start, size_t *end);
static int ngx_http_llm_pii_v_azure(const u_char *t, size_t len,
    size_t *start, size_t *end);
static int ngx_http_llm_pii_v_cred_bare(const u_char *t, size_t len,
    size_t *start, size_t *end);
static int ngx_http_llm_pii_v_cred_url_open(const u_char *t, size_t len,
    size_t *start, size_t *end);
static int ngx_http_llm_pii_v_jdbc(const u_char *t, size_t len,
    size_t *start, size_t *end);
static int ngx_http_llm_pii_v_conn_password(const u_char *t, size_t len,
    size_t *start, size_t *end);
static int ngx_http_llm_pii_v_curl_user(const u_char *t, size_t len,
    size_t *start, size_t *end);
/* secret recall, second block (see "Provider names" at the end) */
static int ngx_http_llm_pii_v_provider(const u_char *t, size_t len,
    size_t *start, size_t *end);
static int ngx_http_llm_pii_v_tableau(const u_char *t, size_t len,
    size_t *start, size_t *end);
static int ngx_http_llm_pii_v_sas(const u_char *t, size_t len,
    size_t *start, size_t *end);
static int ngx_http_llm_pii_v_bundler(const u_char *t, size_t len,
    size_t *start, size_t *end);
static int ngx_http_llm_pii_v_password(const u_char *t, size_t len,
    size_t *start, size_t *end);
/* secret recall, third block (see "Fixed formats" at the end) */
static int ngx_http_llm_pii_v_b64key(const u_char *t, size_t len,
    size_t *start, size_t *end);
static int ngx_http_llm_pii_v_fixed(const u_char *t, size_t len,
    size_t *start, size_t *end);
/* sechost: unnamed companions, connection strings (see the end) */
static int ngx_http_llm_pii_sh_comp(const u_char *t, size_t len, size_t from,
    size_t prior, ngx_http_llm_pii_matches_t *m, size_t n);
static size_t ngx_http_llm_pii_sh_hold(const u_char *t, size_t len,
    size_t from, size_t cut);
static size_t ngx_http_llm_pii_sh_url_start(const u_char *t, size_t c);
static const u_char *ngx_http_llm_pii_sh_sep(const u_char *p,
    const u_char *last);
static int ngx_http_llm_pii_sh_account(const u_char *t, size_t ks);
static int ngx_http_llm_pii_v_sh_conn(const u_char *t, size_t len,
    size_t *start, size_t *end);
/* secret recall, fourth block (see "Manifests and credential files") */
static int ngx_http_llm_pii_v_k8s_kind(const u_char *t, size_t len,
    size_t *start, size_t *end);
static int ngx_http_llm_pii_v_k8s_data(const u_char *t, size_t len,
    size_t *start, size_t *end);
static int ngx_http_llm_pii_v_jenkins(const u_char *t, size_t len,
    size_t *start, size_t *end);
static int ngx_http_llm_pii_b64_part(const u_char *p, size_t n);
static int ngx_http_llm_pii_v_sumo(const u_char *t, size_t len,
    size_t *start, size_t *end);
/* secret recall, provider formats (branch secrules, see "Provider formats") */
static int ngx_http_llm_pii_v_secrules(const u_char *t, size_t len,
    size_t *start, size_t *end);
static int ngx_http_llm_pii_v_secrules_teams(const u_char *t, size_t len,
    size_t *start, size_t *end);
static int ngx_http_llm_pii_header_name(const u_char *t, size_t len,
    size_t w, size_t e);
static int ngx_http_llm_pii_quoted_token(const u_char *t, size_t len,
    size_t v, size_t ve);
static size_t ngx_http_llm_pii_quoted_any(const u_char *t, size_t len,
    size_t v);

static int ngx_http_llm_pii_random(const u_char *v, size_t n, size_t min);
static int ngx_http_llm_pii_slack(const u_char *v, size_t n);
static int ngx_http_llm_pii_fake(const u_char *v, size_t n);
static int ngx_http_llm_pii_casecmp(const u_char *p, const char *s,
    size_t n);
static size_t ngx_http_llm_pii_scheme(const u_char *t, size_t c);
static int ngx_http_llm_pii_number_edges(const u_char *t, size_t len,
    size_t s, size_t e);
static int ngx_http_llm_pii_in_code(const u_char *t, size_t len, size_t s,
    size_t e);
static size_t ngx_http_llm_pii_norm_char(const u_char *p, size_t n,
    u_char *out);
static size_t ngx_http_llm_pii_norm_next(const u_char *t, size_t i,
    size_t len, size_t *cl, u_char *c);
static size_t ngx_http_llm_pii_norm_at(const u_char *t, size_t i,
    size_t len, size_t *cl, u_char *c);
static size_t ngx_http_llm_pii_orig(const ngx_http_llm_pii_bp_t *bp,
    size_t nbp, size_t x);
static int ngx_http_llm_pii_normalise(const u_char *text, size_t len,
    size_t from, ngx_http_llm_pii_matches_t *m, size_t *pnlen,
    size_t *pnfrom, size_t *pnbp);
static size_t ngx_http_llm_pii_norm_pos(const ngx_http_llm_pii_bp_t *bp,
    size_t nbp, size_t x);
static int ngx_http_llm_pii_on_report(unsigned int id,
    unsigned long long from, unsigned long long to, unsigned int flags,
    void *data);
static int ngx_http_llm_pii_compile_apart(const char **exprs,
    unsigned *flags, unsigned *ids, size_t n, hs_database_t **db, char *err,
    size_t errlen);
static int ngx_http_llm_pii_iban_at(const u_char *t, size_t len, size_t d);
static int ngx_http_llm_pii_national_gate(const u_char *t, size_t len);
static int ngx_http_llm_pii_token_pass(const ngx_http_llm_pii_t *pii,
    const u_char *t, size_t len, ngx_http_llm_pii_wins_t *ws,
    match_event_handler handler, void *data);
static int ngx_http_llm_pii_token_at(const ngx_http_llm_pii_t *pii,
    const u_char *t, size_t len, size_t i, ngx_http_llm_pii_wins_t *ws,
    size_t *run, match_event_handler handler, void *data);
static int ngx_http_llm_pii_cf_shape(const u_char *p);
static int ngx_http_llm_pii_runs(const ngx_http_llm_pii_t *pii,
    hs_scratch_t *scratch, const u_char *t, size_t len,
    match_event_handler handler, void *data, ngx_http_llm_pii_matches_t *m,
    ngx_http_llm_pii_marks_t *mk);
static void ngx_http_llm_pii_win_add(ngx_http_llm_pii_wins_t *ws, size_t s,
    size_t e, size_t len);
static int ngx_http_llm_pii_scan_wins(const ngx_http_llm_pii_t *pii,
    const hs_database_t *db, hs_scratch_t *scratch, const u_char *t,
    const ngx_http_llm_pii_wins_t *ws, match_event_handler handler,
    void *data);
static size_t ngx_http_llm_pii_som(const ngx_http_llm_pii_pattern_t *pat,
    const u_char *t, size_t e);
static size_t ngx_http_llm_pii_som_national(const u_char *t, size_t e);
static size_t ngx_http_llm_pii_som_iban(const u_char *t, size_t e,
    int lower);
static int ngx_http_llm_pii_on_shifted(unsigned int id,
    unsigned long long from, unsigned long long to, unsigned int flags,
    void *data);
static int ngx_http_llm_pii_on_run(unsigned int id, unsigned long long from,
    unsigned long long to, unsigned int flags, void *data);
static int ngx_http_llm_pii_scan_text(const ngx_http_llm_pii_t *pii,
    hs_scratch_t *scratch, const u_char *text, size_t len, size_t from,
    ngx_http_llm_pii_matches_t *m);
static int ngx_http_llm_pii_phone_plan(const u_char *d, size_t n,
    size_t *cc_len);
static size_t ngx_http_llm_pii_ip_suffix(const u_char *t, size_t len,
    size_t e, unsigned bits, unsigned zone);

static int ngx_http_llm_pii_on_match(unsigned int id,
    unsigned long long from, unsigned long long to, unsigned int flags,
    void *data);
static int ngx_http_llm_pii_push(ngx_http_llm_pii_matches_t *m,
    size_t start, size_t end, unsigned type, unsigned prio);
static int ngx_http_llm_pii_insert(ngx_http_llm_pii_matches_t *m,
    size_t i, size_t start, size_t end, unsigned type, unsigned tail);
static int ngx_http_llm_pii_cmp(const void *one, const void *two);
static size_t ngx_http_llm_pii_open_block(const u_char *t, size_t len,
    size_t from);
static const u_char *ngx_http_llm_pii_footer(const u_char *p,
    const u_char *last);
static const u_char *ngx_http_llm_pii_header(const u_char *p,
    const u_char *last);
static int ngx_http_llm_pii_key_words(const u_char *p, const u_char *last);
static size_t ngx_http_llm_pii_run_start(const u_char *t, size_t len,
    size_t from);
static size_t ngx_http_llm_pii_word_start(const u_char *t, size_t i);
static int ngx_http_llm_pii_code_word(const u_char *t, size_t k);
static int ngx_http_llm_pii_upunct(const u_char *p, size_t n);
static size_t ngx_http_llm_pii_open_placeholder(const u_char *t, size_t len,
    size_t from);
static size_t ngx_http_llm_pii_open_email(const u_char *t, size_t len,
    size_t from);
static size_t ngx_http_llm_pii_open_literal(const u_char *t, size_t len,
    size_t from);
static size_t ngx_http_llm_pii_open_quoted(const u_char *t, size_t len,
    size_t from);
static size_t ngx_http_llm_pii_email_quoted(const u_char *t, size_t at,
    int *bad);
static const u_char *ngx_http_llm_pii_memmem(const u_char *p,
    const u_char *last, const char *s, size_t n);
/* a credential's companions (see "Companions" below) */
static int ngx_http_llm_pii_scan_prior(const ngx_http_llm_pii_t *pii,
    hs_scratch_t *scratch, const u_char *text, size_t len, size_t from,
    size_t prior, ngx_http_llm_pii_matches_t *m);
static int ngx_http_llm_pii_comp(const ngx_http_llm_pii_t *pii,
    const u_char *text, size_t len, size_t from, size_t prior,
    ngx_http_llm_pii_matches_t *m);
static size_t ngx_http_llm_pii_comp_hold(const u_char *t, size_t len,
    size_t from, size_t cut);


#define NGX_HTTP_LLM_PII_NONE  ((size_t) -1)

/* a credential: a secret that is no companion (see "Companions") */
#define ngx_pii_cred(e)  ((e)->type == NGX_HTTP_LLM_PII_SECRET && !(e)->comp  \
                          && !(e)->tail)

/*
 * A word in another script than Latin is held back in a stream when it is
 * shorter than this (an internationalised e-mail address's local part or
 * domain label); longer runs (CJK prose has no spaces) are not.
 */
#define NGX_HTTP_LLM_PII_WORD_MAX  64

/*
 * A pattern compiled without start-of-match: its validator finds the start.
 * SOM tracking of a pattern that begins with an unbounded class (the local
 * part of an e-mail address) costs Hyperscan 35 times its speed.
 */
#define NGX_HTTP_LLM_PII_NOSOM  0x80000000

#define NGX_HTTP_LLM_PII_NOID   ((unsigned) -1)

/*
 * Not a type: a literal compiled into the database with the secrets, so
 * that the scan says whether the text has the start of a private key
 * block header.  Without it, the search for an unclosed block (two memmem()
 * passes over every text scanned) is skipped.
 */
#define NGX_HTTP_LLM_PII_BEGIN  "-----BEGIN "

/*
 * A pattern whose value a stream holds from its start as long as it may
 * still match (its validator reports a value that reaches the end of the
 * text).  Found begun in the released context, it was refused before: its
 * look-behind ("curl " before "-u") has been cut at the start of the
 * context since, and is not taken, as the whole text does not take it.
 */
#define NGX_HTTP_LLM_PII_HELD   0x40000000

/*
 * A validator's answer "decided on text that may go on": it read up to the
 * end of the text without the bytes it needs to decide, so that more text
 * can still change it.  [*start, *end) is the answer for the text as it is
 * (a value, or nothing when empty); a stream holds from *start
 * (matches.hold) until the answer is final.
 */
#define NGX_HTTP_LLM_PII_OPEN   2

/*
 * A pattern whose validator, answering NGX_HTTP_LLM_PII_OPEN, needs its
 * own match again when more text comes (a Kubernetes Secret's "kind:" or
 * "data:" line, read again with the members after it): a stream holds
 * from the start of the match (compiled with start-of-match), not from
 * the start of the answer.
 */
#define NGX_HTTP_LLM_PII_HOLD_SOM  0x00800000

/*
 * Services that publish API keys without a prefix of their own (or with a
 * short one), by the name people write next to a key: "mapbox", "new
 * relic", "aws".  Written from the services' documentation, not from a
 * corpus; no English word ("box", "square", "linear", "notion" are left
 * out: prose is full of them).  See ngx_http_llm_pii_v_provider().
 */
#define NGX_HTTP_LLM_PII_PROVIDERS                                            \
    "(?:new\\x20relic|browserstack|digitalocean|launchdarkly|artifactory|"    \
    "huggingface|messagebird|sourcegraph|uptimerobot|woocommerce|"            \
    "assemblyai|cloudflare|cloudinary|cloudsmith|confluence|contentful|"      \
    "elevenlabs|eventbrite|freshworks|gocardless|mattermost|quickbooks|"      \
    "salesforce|sendinblue|smartsheet|sonarcloud|statuspage|amplitude|"       \
    "anthropic|atlassian|backblaze|bitbucket|bitwarden|braintree|"            \
    "buildkite|chargebee|coveralls|dynatrace|freshdesk|infisical|"            \
    "langsmith|mailchimp|onesignal|pagerduty|pinterest|pipedrive|"            \
    "sonarqube|sumologic|terraform|airtable|appveyor|bitfinex|calendly|"      \
    "circleci|clearbit|coinbase|deepgram|docusign|firebase|intercom|"         \
    "langfuse|linkedin|mandrill|mixpanel|newrelic|opsgenie|pastebin|"         \
    "paystack|postmark|razorpay|scaleway|sendbird|sendgrid|supabase|"         \
    "telegram|typeform|unsplash|wakatime|weaviate|algolia|alibaba|"           \
    "binance|bugsnag|clickup|codecov|datadog|discord|doppler|dropbox|"        \
    "grafana|hetzner|hubspot|ipstack|klaviyo|mailgun|mailjet|maxmind|"        \
    "mistral|netlify|posthog|rollbar|shopify|spotify|tencent|twitter|"        \
    "webflow|zendesk|aliyun|bitmex|codacy|cohere|disqus|fastly|flickr|"       \
    "github|gitlab|gitter|heroku|ipinfo|linode|mapbox|openai|paypal|"         \
    "pubnub|pusher|qdrant|sentry|splunk|strava|stripe|telnyx|travis|"         \
    "trello|twilio|twitch|vercel|vonage|yandex|zapier|adobe|apify|asana|"     \
    "auth0|azure|bitly|deepl|figma|imgur|jfrog|nexmo|ngrok|nuget|plaid|"      \
    "plivo|sinch|vultr|groq|jira|okta|snyk|zoho|aws|gcp|"                    \
    /* secret recall, fourth block: services seen in the fit half */         \
    "cloudmersive|invoiceocean|textmagic|bitstamp|metabase|loggly|kucoin|"   \
    "shippo|duffel|redhat|geoip|luno)"

/*
 * Patterns compiled into databases of their own, each scanned only where
 * its patterns can match.  A pattern that begins with a class of letters or
 * digits cannot be accelerated where those are frequent: in one database
 * with the others, Hyperscan merges such patterns into engines that look at
 * every byte (on chat text the one database of all the default patterns
 * was scanned at 0.4 GB/s; without these, at 1.2).  The reports are those
 * of the whole text (the pattern, the text and the start-of-match are the
 * same), and a scan's result does not depend on the order of its reports.
 *
 * IBAN: scanned in windows around what every match starts with, two
 * letters, an optional separator, two digits and 11 more characters (see
 * ngx_http_llm_pii_runs()).
 */
#define NGX_HTTP_LLM_PII_APART_IBAN      0x20000000

/*
 * Numbers: every match is made of the characters "0-9 ().+-" and has four
 * digits, or "+", a digit and 7 more characters (the phone numbers, cards,
 * SSNs, IPv4 addresses; no anchor, no "\b", with start-of-match); only the
 * runs of these characters that have that are scanned, each followed by
 * '\n' (see ngx_http_llm_pii_runs()).  Every match lies in one run, and so
 * do all the matches that end where it ends.  A pattern given this flag
 * must be so (or its matches outside the runs are lost):
 * t/unit/pii_apart_test.c compares the runs with the whole text.
 */
#define NGX_HTTP_LLM_PII_APART_DIGITS    0x10000000

/*
 * National IDs: scanned when the text has six digits in a row, "2A" or
 * "2B", the shape of a codice fiscale, or a run of "0-9 .+-" with two
 * digits 7 characters apart or 7 characters and "k" or "x" after it (see
 * ngx_http_llm_pii_national_gate()).
 */
#define NGX_HTTP_LLM_PII_APART_NATIONAL  0x08000000

/*
 * A pattern scanned apart whose start of match is not Hyperscan's: it is
 * compiled without start-of-match there, and ngx_http_llm_pii_som() finds
 * the leftmost start of a match that ends at a report, as Hyperscan does
 * (the number patterns with bounded repeats and the IBAN ones: with
 * start-of-match, Hyperscan spent 3 us on each value in their databases,
 * 4 to 20 times the time without; t/unit/pii_apart_test.c compares the
 * starts with Hyperscan's).
 */
#define NGX_HTTP_LLM_PII_OWNSOM          0x01000000

/*
 * "token": Hyperscan spent 35 ns on each "token" of prose ("tokens" too: a
 * name may go on, "tokens_secret = ..."), 40 % of the main database's time
 * on bench/make_body.mjs's 16 KB body (an LLM gateway's traffic is full of
 * the word).  The patterns that start with it are not in the main
 * database: the engine finds each "token" itself, caseless (a pass over
 * the text that looks at each "k", ngx_http_llm_pii_token_pass()), and
 *
 * - reports "token" and a character that is not a letter as Hyperscan
 *   would (NGX_HTTP_LLM_PII_WORD: one pattern of the table may have it,
 *   "token[^a-z]", caseless, without start-of-match: the end, 0 for the
 *   start); it goes to the main database when there are no databases apart;
 *
 * - scans the patterns of NGX_HTTP_LLM_PII_APART_TOKEN ("token = value")
 *   in a window from "token" to the end of the value where an operator
 *   and a value follow it.
 */
#define NGX_HTTP_LLM_PII_APART_TOKEN     0x04000000
#define NGX_HTTP_LLM_PII_WORD            0x02000000

#define NGX_HTTP_LLM_PII_APART  (NGX_HTTP_LLM_PII_APART_IBAN                  \
                                 |NGX_HTTP_LLM_PII_APART_DIGITS               \
                                 |NGX_HTTP_LLM_PII_APART_NATIONAL             \
                                 |NGX_HTTP_LLM_PII_APART_TOKEN)

#if (NGX_HTTP_LLM_PII_SSE2)
/* each byte of the 16 at p less '0': a digit is at most 9 */
#define ngx_pii_sse_from0(p)                                                  \
    _mm_sub_epi8(_mm_loadu_si128((const __m128i *) (p)), _mm_set1_epi8('0'))
/* 0xff where a byte of the 16 at p is "k" or "K" (lc: 0x20 each) */
#define ngx_pii_sse_k(p, lc, k)                                               \
    _mm_cmpeq_epi8(_mm_or_si128(_mm_loadu_si128((const __m128i *) (p)), lc), k)
#endif

#define ngx_pii_run(c)  (ngx_pii_digit(c) || (c) == ' ' || (c) == '('         \
                         || (c) == ')' || (c) == '.' || (c) == '+'             \
                         || (c) == '-')

#define ngx_pii_digit(c)  ((c) >= '0' && (c) <= '9')
#define ngx_pii_upper(c)  ((c) >= 'A' && (c) <= 'Z')
#define ngx_pii_lower(c)  ((c) >= 'a' && (c) <= 'z')
#define ngx_pii_alpha(c)  (ngx_pii_upper(c) || ngx_pii_lower(c))
#define ngx_pii_alnum(c)  (ngx_pii_digit(c) || ngx_pii_alpha(c))
#define ngx_pii_hex(c)    (ngx_pii_digit(c)                                   \
                           || ((c) >= 'a' && (c) <= 'f')                      \
                           || ((c) >= 'A' && (c) <= 'F'))
#define ngx_pii_word(c)   (ngx_pii_alnum(c) || (c) == '_')
#define ngx_pii_tokch(c)  (ngx_pii_word(c) || (c) == '-')
/* e-mail local parts: RFC 5322 atext, the ordinary and the other characters */
#define ngx_pii_atext_ord(c)  (ngx_pii_alnum(c) || (c) == '.' || (c) == '_'  \
                               || (c) == '%' || (c) == '+' || (c) == '-')
#define ngx_pii_atext_sp(c)   ((c) != 0 && strchr("!#$&'*/=?^`{|}~", (c)) \
                               != NULL)


static const char  *ngx_http_llm_pii_names[NGX_HTTP_LLM_PII_NBUILTIN] = {
    "email", "phone", "card", "ssn", "iban", "ip", "secret", "national_id"
};


/*
 * Built-in patterns.  Hyperscan reports, for every end of a match, the
 * leftmost start (NOSOM: the validator finds it); the validators confirm a
 * span (and may narrow it).
 * prio orders equal spans: secret, card, iban, ssn, national_id, phone, ip,
 * email.
 */

static const ngx_http_llm_pii_pattern_t  ngx_http_llm_pii_builtins[] = {

    { NGX_HTTP_LLM_PII_EMAIL, 7, HS_FLAG_CASELESS|NGX_HTTP_LLM_PII_NOSOM,
      "@(?:[a-z0-9\\x80-\\xff-]+(?:\\.[a-z0-9\\x80-\\xff-]+)*"
      "\\.(?:[a-z](?:[a-z0-9-]{0,61}[a-z])?|[\\x80-\\xff]{4,64})"
      "|[a-z]{2}"
      "|\\[(?:[0-9]{1,3}(?:\\.[0-9]{1,3}){3}|ipv6:[0-9a-f:.]{2,45})\\])",
      ngx_http_llm_pii_v_email },

    /*
     * E.164 and international notations: "+44 20 7946 0958"; the short
     * national numbers of small plans, "+98 9601", "+4702000" (six digits
     * at least, so that a run of the numbers has them: see APART_DIGITS)
     */
    { NGX_HTTP_LLM_PII_PHONE, 5,
      NGX_HTTP_LLM_PII_APART_DIGITS|NGX_HTTP_LLM_PII_OWNSOM,
      "\\+[1-9](?:[0-9 ().-]{6,22}|[0-9]{1,2}[ .-]?[0-9]{3})[0-9]",
      ngx_http_llm_pii_v_phone_intl },

    /* the same with the international prefix 00: "0044 20 7946 0958" */
    { NGX_HTTP_LLM_PII_PHONE, 5,
      NGX_HTTP_LLM_PII_APART_DIGITS|NGX_HTTP_LLM_PII_OWNSOM,
      "00[1-9][0-9 ().-]{6,22}[0-9]",
      ngx_http_llm_pii_v_phone_intl },

    /* NANP: "(415) 555-0100", "415-555-0100", "1-800-555-0199" */
    { NGX_HTTP_LLM_PII_PHONE, 5,
      NGX_HTTP_LLM_PII_APART_DIGITS|NGX_HTTP_LLM_PII_OWNSOM,
      "(?:\\+?1[ .-]?)?(?:\\([2-9][0-9]{2}\\)|[2-9][0-9]{2})[ .-]?"
      "[2-9][0-9]{2}[ .-]?[0-9]{4}",
      ngx_http_llm_pii_v_phone_nanp },

    /*
     * national numbers with a trunk 0: "020 7946 0958", "06 12 34 56 78",
     * "07700 900123", "030 12345678"
     */
    { NGX_HTTP_LLM_PII_PHONE, 5,
      NGX_HTTP_LLM_PII_APART_DIGITS|NGX_HTTP_LLM_PII_OWNSOM,
      "\\(?0[1-9][0-9]{0,3}\\)?(?:[ .-][0-9]{2,8}){1,4}",
      ngx_http_llm_pii_v_phone_national },

    /*
     * two national presentations without a trunk 0: a two-digit area
     * code in parentheses before 4-5 and 4 digits (Brazil's DDD, "(11)
     * 2345-6789", "(11) 98765-4321"; Mexico's and Argentina's "(55) 1234
     * 5678"), Spain's nine digits grouped 3-2-2-2 ("612 34 56 78",
     * "901 12 34 56": the plan's numbers start with 6 to 9), and the
     * trunk 8 of Russia, Kazakhstan and Belarus before an area code in
     * parentheses and the line's "-XX-XX" ("8 (812) 555-12-34")
     */
    { NGX_HTTP_LLM_PII_PHONE, 5, NGX_HTTP_LLM_PII_APART_DIGITS,
      "\\([1-9][0-9]\\) ?[0-9]{4,5}[ -][0-9]{4}"
      "|[6-9][0-9]{2} [0-9]{2} [0-9]{2} [0-9]{2}"
      "|8 ?\\([0-9]{3,5}\\) ?[0-9]{1,3}-[0-9]{2}-[0-9]{2}",
      ngx_http_llm_pii_v_phone_grouped },

    /*
     * any national or local format after a word that names a phone
     * number (13 languages); the validator finds the number backwards
     */
    { NGX_HTTP_LLM_PII_PHONE, 5, HS_FLAG_CASELESS|NGX_HTTP_LLM_PII_NOSOM,
      "(?:(?:\\b(?:phone|tel\\b|telephone|mobile|cell\\b|cellphone|call|fax\\b"
      "|whatsapp|telefon|handy\\b|rufnummer|erreichen|anrufen"
      "|t\xc3\xa9l\xc3\xa9phone|t\xc3\xa9l\\b|portable|joindre|appeler"
      "|tel\xc3\xa9" "fono|m\xc3\xb3vil|celular|llamar|telefone|ligue|ligar"
      "|telefono|cellulare|chiamami|chiamare|telefoon|mobiel|bel me"
      "|zadzwo\xc5\x84|kom\xc3\xb3rk)|"
      "\xd1\x82\xd0\xb5\xd0\xbb\xd0\xb5\xd1\x84\xd0\xbe\xd0\xbd|"
      "\xd0\xb7\xd0\xb2\xd0\xbe\xd0\xbd\xd0\xb8|"
      "\xe9\x9b\xbb\xe8\xa9\xb1|\xe6\x90\xba\xe5\xb8\xaf|"
      "\xe7\x94\xb5\xe8\xaf\x9d|\xe6\x8b\xa8\xe6\x89\x93|"
      "\xe6\x89\x8b\xe6\x9c\xba|"
      "\xe0\xa4\xab\xe0\xa4\xbc\xe0\xa5\x8b\xe0\xa4\xa8|"
      "\xe0\xa4\xab\xe0\xa5\x8b\xe0\xa4\xa8|"
      "\xd9\x87\xd8\xa7\xd8\xaa\xd9\x81|\xd8\xa7\xd8\xaa\xd8\xb5\xd9\x84)"
      "[^0-9\\n]{0,32})[(+]?[0-9][0-9 ().\\/-]{3,22}[0-9]",
      ngx_http_llm_pii_v_phone_context },

    /*
     * "my number" in the same languages, the idiom for one's phone number,
     * with at most a copula and a colon before the digits ("my number
     * is", "il mio numero \xc3\xa8", "meine Nummer ist", "m\xc3\xb3j numer to",
     * "numaram:"), so that "my numbers are 4 8 15 16 23 42" and "our
     * number was (grew) 12 345 678" are no phone; the number is checked
     * more strictly than after a phone word (ngx_http_llm_pii_v_phone_idiom)
     */
    { NGX_HTTP_LLM_PII_PHONE, 5, HS_FLAG_CASELESS|NGX_HTTP_LLM_PII_NOSOM,
      "(?:\\b(?:my|our) number|\\b(?:mio|nostro) numero"
      "|\\b(?:mi|nuestro|meu|nosso) n\xc3\xbamero"
      "|\\b(?:mon|notre) num\xc3\xa9ro|\\b(?:meine|unsere) nummer"
      "|\\b(?:mijn|ons) nummer|\\b(?:m\xc3\xb3j|nasz) numer|\\bnumaram"
      "|(?:\xd0[\x9c\xbc]\xd0\xbe\xd0\xb9|\xd0[\x9d\xbd]\xd0\xb0\xd1\x88) "
      "\xd0\xbd\xd0\xbe\xd0\xbc\xd0\xb5\xd1\x80)"
      "(?: (?:is|ist|lautet|est|es|\xc3\xa8|\xc3\xa9|jest|to"
      "|\xd1\x8d\xd1\x82\xd0\xbe|\xe2\x80\x94)|'s)?(?: |: ?)"
      "[(+]?[0-9][0-9 ().\\/-]{3,22}[0-9]",
      ngx_http_llm_pii_v_phone_idiom },

    /*
     * English "reach" as German "erreichen" and French "joindre": a
     * person or a desk reached on or at a number ("you can reach me at",
     * "reach the front desk on", "reach our support team at", "reachable
     * under"): a pronoun, or a determiner, at most one word and a noun of
     * a short list (not "reach the milestone at 2024-06-30", "reach the
     * server at 192.168.0.10"); bounded, so that the idiom and the number
     * fit in the context a stream keeps (NGX_HTTP_LLM_PII_CONTEXT); the
     * number is checked as after "my number"
     */
    { NGX_HTTP_LLM_PII_PHONE, 5, HS_FLAG_CASELESS|NGX_HTTP_LLM_PII_NOSOM,
      "\\breach(?:ed|able)?(?: (?:me|us|you|him|her|them"
      "|(?:the|our|my|your|his|her|their) (?:[a-z]{1,12} )?"
      "(?:desk|office|team|line|reception|support|hotline|helpdesk"
      "|switchboard|concierge|service|centre|center|department|staff"
      "|agent|manager|clinic)))? (?:on|at|under)[ :]{1,2}"
      "[(+]?[0-9][0-9 ().\\/-]{3,22}[0-9]",
      ngx_http_llm_pii_v_phone_idiom },

    { NGX_HTTP_LLM_PII_CARD, 2,
      NGX_HTTP_LLM_PII_APART_DIGITS|NGX_HTTP_LLM_PII_OWNSOM,
      "[0-9](?:[ -]?[0-9]){11,18}",
      ngx_http_llm_pii_v_card },

    /* "123-45-6789", "123 45 6789", "123.45.6789" */
    { NGX_HTTP_LLM_PII_SSN, 4, NGX_HTTP_LLM_PII_APART_DIGITS,
      "[0-9]{3}(?:-[0-9]{2}-| [0-9]{2} |\\.[0-9]{2}\\.)[0-9]{4}",
      ngx_http_llm_pii_v_ssn },

    /* nine bare digits after "SSN" or "social security" */
    { NGX_HTTP_LLM_PII_SSN, 4, NGX_HTTP_LLM_PII_APART_DIGITS,
      "[0-9]{9}",
      ngx_http_llm_pii_v_ssn_bare },

    /* compact, grouped by 4 or otherwise, spaces, dashes or dots */
    { NGX_HTTP_LLM_PII_IBAN, 3,
      NGX_HTTP_LLM_PII_APART_IBAN|NGX_HTTP_LLM_PII_OWNSOM,
      "[A-Z]{2}[ .-]?[0-9]{2}(?:[ .-]?[A-Z0-9]){11,30}",
      ngx_http_llm_pii_v_iban },

    { NGX_HTTP_LLM_PII_IBAN, 3,
      NGX_HTTP_LLM_PII_APART_IBAN|NGX_HTTP_LLM_PII_OWNSOM,
      "[a-z]{2}[ .-]?[0-9]{2}(?:[ .-]?[a-z0-9]){11,30}",
      ngx_http_llm_pii_v_iban },

    { NGX_HTTP_LLM_PII_IP, 6, NGX_HTTP_LLM_PII_APART_DIGITS,
      "[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]{1,3}",
      ngx_http_llm_pii_v_ipv4 },

    { NGX_HTTP_LLM_PII_IP, 6, HS_FLAG_CASELESS,
      "[0-9a-f]{0,4}(?::[0-9a-f]{0,4}){2,8}",
      ngx_http_llm_pii_v_ipv6 },

    /* IPv4-mapped and -compatible: "::ffff:192.0.2.128" */
    { NGX_HTTP_LLM_PII_IP, 6, HS_FLAG_CASELESS,
      "[0-9a-f]{0,4}(?::[0-9a-f]{0,4}){1,6}:[0-9]{1,3}(?:\\.[0-9]{1,3}){3}",
      ngx_http_llm_pii_v_ipv6 },

    /* AWS access key ids */
    { NGX_HTTP_LLM_PII_SECRET, 1, 0,
      "(?:AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AIPA|ANPA|ANVA|APKA|AROA|ASCA)"
      "[A-Z0-9]{16}",
      ngx_http_llm_pii_v_aws },

    /* AWS secret access keys, after their name: the value only */
    { NGX_HTTP_LLM_PII_SECRET, 1, HS_FLAG_CASELESS,
      "(?:aws_?)?secret_?access_?key[\"']?\\s{0,4}[:=]\\s{0,4}[\"']?"
      "[a-z0-9/+]{40}",
      ngx_http_llm_pii_v_aws_secret },

    /* OpenAI ("sk-", "sk-proj-", ...) and Anthropic ("sk-ant-api03-") */
    { NGX_HTTP_LLM_PII_SECRET, 1, 0,
      "sk-[A-Za-z0-9_-]{20,}",
      ngx_http_llm_pii_v_sk },

    /*
     * tokens with a provider's prefix, one pattern (a database of fewer
     * patterns scans faster): GitHub; GitLab (runner registration and
     * agent tokens too); Slack ("xoxe.xoxp-" configuration tokens, app
     * tokens); Stripe; npm.  GitHub's five prefixes spelled out: from
     * "gh[pousr]_", Hyperscan looked at every "gh" of prose ("through"),
     * 1 us of its 9 on bench/make_body.mjs's 16 KB body
     */
    { NGX_HTTP_LLM_PII_SECRET, 1, 0,
      "(?:ghp_[A-Za-z0-9]{36,}|gho_[A-Za-z0-9]{36,}|ghu_[A-Za-z0-9]{36,}"
      "|ghs_[A-Za-z0-9]{36,}|ghr_[A-Za-z0-9]{36,}"
      "|github_pat_[A-Za-z0-9_]{22,}"
      "|gl(?:pat|dt|rt|ptt|ft|cbt|imt|oas|soat|ffct|sa)-[A-Za-z0-9_-]{20,}"
      "|GR1348941[A-Za-z0-9_-]{20,}|glagent-[A-Za-z0-9_-]{50,}"
      "|(?:xoxe\\.)?xox[abposre]-[A-Za-z0-9-]{10,}"
      "|xapp-[0-9]-[A-Z0-9]{9,}-[0-9]{10,}-[a-z0-9]{32,}"
      "|(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{16,}|whsec_[A-Za-z0-9]{24,}"
      "|npm_[A-Za-z0-9]{36})",
      ngx_http_llm_pii_v_token },

    /* chat webhooks: Slack, Discord, Microsoft Teams */
    { NGX_HTTP_LLM_PII_SECRET, 1, HS_FLAG_CASELESS,
      "(?:https?://)?hooks\\.slack\\.com/(?:services|workflows|triggers)"
      "/[A-Za-z0-9+/_-]{30,}",
      ngx_http_llm_pii_v_url_secret },

    { NGX_HTTP_LLM_PII_SECRET, 1, HS_FLAG_CASELESS,
      "(?:https?://)?(?:ptb\\.|canary\\.)?discord(?:app)?\\.com/api/"
      "webhooks/[0-9]{17,20}/[A-Za-z0-9_-]{60,}",
      ngx_http_llm_pii_v_url_secret },

    /* cloud and SaaS keys with a fixed prefix */
    { NGX_HTTP_LLM_PII_SECRET, 1, 0,
      "(?:AIza[A-Za-z0-9_-]{35}"
      "|hf_[A-Za-z]{34}|api_org_[A-Za-z]{34}"
      "|AC[0-9a-f]{32}|SK[0-9a-f]{32}"
      "|SG\\.[A-Za-z0-9_-]{22}\\.[A-Za-z0-9_-]{43}"
      "|shp(?:at|ca|pa|ss)_[a-fA-F0-9]{32}"
      "|dop_v1_[a-f0-9]{64}|do[or]_v1_[a-f0-9]{64}"
      "|pypi-AgEIcHlwaS5vcmc[A-Za-z0-9_-]{50,}"
      "|dapi[a-f0-9]{32}(?:-[0-9])?"
      "|PMAK-[a-f0-9]{24}-[a-f0-9]{34}"
      "|ATATT3[A-Za-z0-9_=-]{150,}"
      "|hv[sb]\\.[A-Za-z0-9_-]{24,}"
      "|glsa_[A-Za-z0-9]{32}_[A-Fa-f0-9]{8}|glc_[A-Za-z0-9+/]{32,}={0,2}"
      "|lin_api_[A-Za-z0-9]{40}"
      "|AGE-SECRET-KEY-1[QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L]{58}"
      "|pul-[a-f0-9]{40}"
      "|dt0c01\\.[A-Z0-9]{24}\\.[A-Z0-9]{64}"
      "|sntry[su]_[A-Za-z0-9+/=_-]{40,}"
      "|gsk_[A-Za-z0-9]{52}"
      "|r8_[A-Za-z0-9]{37}"
      "|ntn_[0-9]{11}[A-Za-z0-9]{35}"
      "|dp\\.(?:pt|st|sa|ct|scim|audit)\\.[A-Za-z0-9]{40,44}"
      "|(?:sandbox-)?sq0(?:atp|csp|idp|ige|idb|csb)-[A-Za-z0-9_-]{22,60}"
      "|EAAA[A-Za-z0-9_-]{60}"
      "|LTAI[A-Za-z0-9]{17,21}"
      "|xkeysib-[a-f0-9]{64}-[A-Za-z0-9]{16}"
      "|key-[a-f0-9]{32}"
      "|[a-f0-9]{32}-us[0-9]{1,2}"
      "|pscale_(?:pw|tkn|oauth)_[A-Za-z0-9_.=-]{32,64}"
      "|fo1_[A-Za-z0-9_-]{43}"
      "|snyk_[a-z]{2,4}\\.[A-Za-z0-9_-]{20,}"
      "|sk_live_[A-Za-z0-9]{24,}|pk_live_[A-Za-z0-9]{24,}"
      "|rzp_(?:live|test)_[A-Za-z0-9]{14}"
      "|ops_eyJ[A-Za-z0-9+/=]{100,}"
      "|[0-9]{8,10}:[A-Za-z0-9_-]{35})",
      ngx_http_llm_pii_v_token },

    /*
     * URLs with a password: databases, brokers, any scheme; with the host,
     * port and path; an empty user ("redis://:pw@host"), a password with
     * "@", ":" or other special characters ("P@ss:w0rd!"), percent-encoded
     */
    { NGX_HTTP_LLM_PII_SECRET, 1, HS_FLAG_CASELESS|NGX_HTTP_LLM_PII_NOSOM,
      "[a-z][a-z0-9+.:-]{1,24}://"
      "[A-Za-z0-9._%+~-]{0,64}:[^/\\s\"'<>]{1,128}@[A-Za-z0-9._-]+"
      "(?::[0-9]{1,5})?(?:,[A-Za-z0-9._-]+(?::[0-9]{1,5})?){0,16}"
      "(?:/[A-Za-z0-9._~%/?&=+-]*)?",
      ngx_http_llm_pii_v_cred_url },

    /*
     * the same, not finished yet: at the end of a stream's held text it is
     * held from the scheme, so that a long password with characters that
     * are not held back ("P@ss w?rd") is judged whole; with the "@" after a
     * password of the longest length, held until the host comes
     */
    { NGX_HTTP_LLM_PII_SECRET, 1, HS_FLAG_CASELESS|NGX_HTTP_LLM_PII_NOSOM,
      "[a-z][a-z0-9+.:-]{1,24}://[A-Za-z0-9._%+~-]{0,64}:[^/\\s\"'<>]{1,128}@?",
      ngx_http_llm_pii_v_cred_url_open },

    /*
     * the same without a scheme, with a port or a path after the host:
     * "admin:s3cret@db.example.com:5432/app"; from the "@" (a literal is
     * cheap to look for), the validator finds "user:password" before it
     */
    { NGX_HTTP_LLM_PII_SECRET, 1, NGX_HTTP_LLM_PII_NOSOM,
      "@[A-Za-z0-9-]+(?:\\.[A-Za-z0-9-]+)*"
      "(?::[0-9]{2,5}|/)[A-Za-z0-9._~%/?&=+-]*",
      ngx_http_llm_pii_v_cred_bare },

    /*
     * JDBC URLs with a password, whole: "jdbc:mysql://app:pw@db/app",
     * "jdbc:sqlserver://db:1433;user=sa;password=...",
     * "jdbc:oracle:thin:scott/tiger@db:1521:orcl"
     */
    { NGX_HTTP_LLM_PII_SECRET, 1, HS_FLAG_CASELESS,
      "jdbc:[a-z][a-z0-9-]*:[^\\s\"'`<>]*",
      ngx_http_llm_pii_v_jdbc },

    /*
     * a password in a connection string or a query: "Server=db;User
     * ID=sa;Password=P@ssw0rd!;", "?user=app&password=...": the value
     */
    { NGX_HTTP_LLM_PII_SECRET, 1, HS_FLAG_CASELESS|NGX_HTTP_LLM_PII_NOSOM,
      "[;&?][ \\t]{0,2}(?:password|passwd|pwd)[ \\t]{0,2}=",
      ngx_http_llm_pii_v_conn_password },

    /* curl -u user:password, --user user:password: the argument */
    { NGX_HTTP_LLM_PII_SECRET, 1,
      NGX_HTTP_LLM_PII_NOSOM|NGX_HTTP_LLM_PII_HELD,
      "(?:-u|--user)[ \\t=]|-u[A-Za-z0-9_\"']",
      ngx_http_llm_pii_v_curl_user },

    /* Azure AD client secrets: "abc8Q~" and 31 to 34 more characters */
    { NGX_HTTP_LLM_PII_SECRET, 1, 0,
      "[A-Za-z0-9_~.]{3}[0-9]Q~[A-Za-z0-9_~.-]{31,34}",
      ngx_http_llm_pii_v_azure },

    /* npm: "//registry.npmjs.org/:_authToken=..." in .npmrc */
    { NGX_HTTP_LLM_PII_SECRET, 1, 0,
      "_auth(?:Token)?\\s{0,2}=\\s{0,2}[\"']?[A-Za-z0-9_.+/=-]{20,}",
      ngx_http_llm_pii_v_assigned },

    /*
     * a value assigned to a name that says it is a credential:
     * "api_key = '...'", "SECRET_TOKEN: ...", "password=..."
     */
    { NGX_HTTP_LLM_PII_SECRET, 1, HS_FLAG_CASELESS|NGX_HTTP_LLM_PII_NOSOM,
      "(?:api[_.-]?key|apikey|secret|passw(?:or)?d|access[_.-]?key"
      "|private[_.-]?key|client[_.-]?secret|auth[_.-]?key|credentials?)"
      "[a-z0-9_.-]{0,24}[\"']?\\s{0,3}(?::=|=>|[:=])\\s{0,3}[\"'`]?"
      "[A-Za-z0-9_.+/=-]{16,}",
      ngx_http_llm_pii_v_assigned },

    /* the same after "token" (see NGX_HTTP_LLM_PII_APART_TOKEN) */
    { NGX_HTTP_LLM_PII_SECRET, 1, HS_FLAG_CASELESS|NGX_HTTP_LLM_PII_NOSOM
                                  |NGX_HTTP_LLM_PII_APART_TOKEN,
      "token[a-z0-9_.-]{0,24}[\"']?\\s{0,3}(?::=|=>|[:=])\\s{0,3}[\"'`]?"
      "[A-Za-z0-9_.+/=-]{16,}",
      ngx_http_llm_pii_v_assigned },

    /*
     * a random-looking token shortly after a word that names a credential,
     * on the same line: "Using adobe KEY=zoaw0c0m50m0hz2h1fm21y4tqfyl7ifi",
     * "plivo token - 'qFj32Da8vf-g_-8qLu9P_k8XPyAHGrvKrzGTQIN4'",
     * "<secret>{x AQAAABAAA xTiPNSDg6JjzG8fWoLb8JlE8SBcMKkCx2fZLZD91}";
     * the word and the character after it (not a letter: "keyboard",
     * "tokenizer", and plurals, "tokens", "keys", are not reported: prose
     * about tokens, which a gateway's traffic is full of, would halve
     * Hyperscan's speed, and no case of the public corpus' fit or held half
     * needs a plural); the validator finds the token
     */
    { NGX_HTTP_LLM_PII_SECRET, 1, HS_FLAG_CASELESS|NGX_HTTP_LLM_PII_NOSOM,
      "(?:key|secret|passw(?:or)?d|pwd|auth|authorization"
      "|credentials?|bearer)[^a-z]",
      ngx_http_llm_pii_v_context },

    /* the same after "token" (see NGX_HTTP_LLM_PII_APART_TOKEN) */
    { NGX_HTTP_LLM_PII_SECRET, 1,
      HS_FLAG_CASELESS|NGX_HTTP_LLM_PII_NOSOM|NGX_HTTP_LLM_PII_WORD,
      "token[^a-z]",
      ngx_http_llm_pii_v_context },

    /*
     * JSON Web Tokens: any header (a JSON object, base64url), a JSON
     * payload, a signature (empty with "alg": "none")
     */
    { NGX_HTTP_LLM_PII_SECRET, 1, 0,
      "eyJ[A-Za-z0-9_-]{6,}={0,2}\\.eyJ[A-Za-z0-9_-]{6,}={0,2}\\."
      "[A-Za-z0-9_-]*={0,2}",
      ngx_http_llm_pii_v_jwt },

    /*
     * national identification numbers with a check (see the validators):
     * digits in their countries' layouts; then the schemes with letters
     * (ES DNI/NIE, FR NIR of Corsica, IT codice fiscale, MX CURP)
     */
    { NGX_HTTP_LLM_PII_NATIONAL_ID, 4,
      NGX_HTTP_LLM_PII_NOSOM|NGX_HTTP_LLM_PII_APART_NATIONAL,
      "[0-9][0-9 .+-]{6,22}[0-9kKxX]",
      ngx_http_llm_pii_v_national },

    /* codice fiscale and CURP in capitals: caseless, these patterns
       would halve the scan's speed */
    { NGX_HTTP_LLM_PII_NATIONAL_ID, 4, NGX_HTTP_LLM_PII_APART_NATIONAL,
      "(?:[0-9]{8}|[XYZxyz][ -]?[0-9]{7})[ -]?[A-Za-z]"
      "|[1-8] ?[0-9]{2} ?[0-9]{2} ?2[ABab] ?[0-9]{3} ?[0-9]{3} ?[0-9]{2}"
      "|[A-Z]{6}[0-9LMNP-V]{2}[ABCDEHLMPRST][0-9LMNP-V]{2}[A-Z]"
      "[0-9LMNP-V]{3}[A-Z]"
      "|[A-Z]{4}[0-9]{6}[HMX][A-Z]{5}[0-9A-Z][0-9]",
      ngx_http_llm_pii_v_national_alpha },

    /* PEM private key blocks */
    { NGX_HTTP_LLM_PII_SECRET, 1, 0,
      "-----BEGIN (?:[A-Z0-9]{1,16} ){0,3}PRIVATE KEY-----[\\s\\S]*"
      "-----END (?:[A-Z0-9]{1,16} ){0,3}PRIVATE KEY-----",
      ngx_http_llm_pii_v_pem },

    /*
     * Secret recall, second block: appended, so that the entries above
     * keep their shapes (see "Provider names" near the end of the file).
     *
     * A random-looking token shortly after the name of a service whose
     * keys have no prefix of their own ("mapbox sk.nc7...", "textmagic
     * 'hnNIvpj0...'"): names of services that publish API keys, written
     * from their documentation, none of them an English word; the
     * validator finds the token as the context detector does
     */
    { NGX_HTTP_LLM_PII_SECRET, 1, HS_FLAG_CASELESS,
      NGX_HTTP_LLM_PII_PROVIDERS "[^a-z]",
      ngx_http_llm_pii_v_provider },

    /*
     * more tokens with a provider's prefix (their documented formats):
     * Bitbucket Data Center, Sourcegraph, LangSmith, New Relic user keys,
     * Harness, Heroku, AWS AppSync, OpenShift, Facebook user access
     * tokens ("EAA..."; an app token "<app id>|<secret>" starts with a
     * digit class, which cost Hyperscan 6 % on prose: left out)
     */
    { NGX_HTTP_LLM_PII_SECRET, 1, 0,
      "(?:BBDC-[A-Za-z0-9+/]{44}"
      "|sgp_(?:[A-Fa-f0-9]{16}_)?[A-Fa-f0-9]{40}"
      "|lsv2_(?:pt|sk)_[a-f0-9]{32}_[a-f0-9]{10}"
      "|NRAK-[A-Z0-9]{27}"
      "|(?:pat|sat)\\.[A-Za-z0-9_-]{22}\\.[a-f0-9]{24}\\.[A-Za-z0-9]{20}"
      "|HRKU-[A-Za-z0-9_-]{60}"
      "|da2-[a-z0-9]{26}"
      "|sha256~[A-Za-z0-9_-]{43}"
      "|EAA[A-Za-z0-9]{90,}"
      /* fourth block: Shippo, Duffel, BestTime private keys */
      "|shippo_(?:live|test)_[a-f0-9]{40}"
      "|duffel_(?:live|test)_[A-Za-z0-9_-]{43}"
      "|pri_[a-f0-9]{32})",
      ngx_http_llm_pii_v_token },

    /* Zapier webhooks */
    { NGX_HTTP_LLM_PII_SECRET, 1, HS_FLAG_CASELESS,
      "(?:https?://)?hooks\\.zapier\\.com/hooks/catch/[A-Za-z0-9/]{8,}",
      ngx_http_llm_pii_v_url_secret },

    /* Tableau personal access token secrets: "<22>==:<32>" */
    { NGX_HTTP_LLM_PII_SECRET, 1, 0,
      "[A-Za-z0-9+/]{22}==:[A-Za-z0-9]{32}",
      ngx_http_llm_pii_v_tableau },

    /*
     * Azure shared access signatures: a query with "sv=" and "sig=",
     * whole; from "sig=", the validator finds the query's start
     */
    { NGX_HTTP_LLM_PII_SECRET, 1, NGX_HTTP_LLM_PII_NOSOM,
      "sig=[A-Za-z0-9%+/]{20,}(?:=|%3[Dd]){0,2}",
      ngx_http_llm_pii_v_sas },

    /*
     * Bundler credentials for a gem source in the environment or in
     * .bundle/config: "BUNDLE_GEMS__EXAMPLE__COM: user:password"; the value
     */
    { NGX_HTTP_LLM_PII_SECRET, 1, NGX_HTTP_LLM_PII_NOSOM,
      "BUNDLE_[A-Z0-9_]*__[A-Z]{2,}[\"']?[ \\t]{0,2}[:=][ \\t]{0,2}[\"']?"
      "[A-Za-z0-9._%+-]+:[^\\s\"']+",
      ngx_http_llm_pii_v_bundler },

    /*
     * a password assigned in a configuration file (env, ini, YAML, TOML,
     * HCL, properties, JSON): "password = \"rootpw42\"", "db_pwd: s3cr3t!1";
     * shorter than the assigned values above and without their shape;
     * the validator takes the value, whole, quoted or to the end of its word
     */
    { NGX_HTTP_LLM_PII_SECRET, 1, HS_FLAG_CASELESS|NGX_HTTP_LLM_PII_NOSOM,
      "(?:passw(?:or)?d|pwd)[a-z0-9_.-]{0,16}[\"']?[ \\t]{0,16}"
      "(?::=|=>|[:=])[ \\t]{0,3}",
      ngx_http_llm_pii_v_password },

    /*
     * Secret recall, third block: appended, so that the entries above
     * keep their shapes (see "Fixed formats" at the end of the file).
     *
     * Tokens of a fixed, documented shape: 42 (intra.42.fr) client
     * secrets "s-s4t2ud-" and "s-s4t2af-" and 64 hexadecimal digits;
     * Atlassian tokens with the "ATCTT3" prefix (as "ATATT3" above);
     * Microsoft Entra refresh tokens "0.A<client>.AgABAAAAAAD<...>"
     * (the version marker after the first dot)
     */
    { NGX_HTTP_LLM_PII_SECRET, 1, 0,
      "(?:s-s4t2(?:ud|af)-[a-f0-9]{64}"
      "|ATCTT3[A-Za-z0-9_=-]{150,}"
      "|[01]\\.A[A-Za-z0-9_-]{20,}\\.AgABAAAAAAD[A-Za-z0-9_-]{100,})",
      ngx_http_llm_pii_v_fixed },

    /*
     * Azure storage account keys: 64 random bytes in base64, 86
     * characters and "=="; not a SHA-512 digest ("sha512-...==", an
     * integrity attribute), see ngx_http_llm_pii_v_b64key()
     */
    { NGX_HTTP_LLM_PII_SECRET, 1, 0,
      "[A-Za-z0-9+/]{86}==",
      ngx_http_llm_pii_v_b64key },

    /*
     * Secret recall, fourth block: appended (see "Manifests and credential
     * files" at the end of the file).
     *
     * Kubernetes Secret manifests: the base64 members of the "data:" block
     * of a document whose kind is Secret, the "kind:" line before the
     * block or after it; from either line, the validator reads the other
     * and the block (a stream holds from the line while it is undecided)
     */
    { NGX_HTTP_LLM_PII_SECRET, 1,
      HS_FLAG_CASELESS|NGX_HTTP_LLM_PII_HOLD_SOM,
      "kind:[ \\t]{0,4}[\"']?secret",
      ngx_http_llm_pii_v_k8s_kind },

    { NGX_HTTP_LLM_PII_SECRET, 1, NGX_HTTP_LLM_PII_HOLD_SOM,
      "data:[ \\t]{0,4}\\r?\\n",
      ngx_http_llm_pii_v_k8s_data },

    /*
     * Jenkins credentials (credentials.xml, a job's config.xml): a secret
     * encrypted by Jenkins, "{AQAAABAAAAA...}" (the header of its format),
     * and the test form "{AQAAABAAA <value>}": what is between the braces
     */
    { NGX_HTTP_LLM_PII_SECRET, 1, NGX_HTTP_LLM_PII_NOSOM,
      "\\{AQAAABAAA",
      ngx_http_llm_pii_v_jenkins },

    /*
     * SumoLogic access ids, "su" and 12 letters or digits, after a name
     * that starts with "sumo" (gitleaks' rule): the id
     */
    { NGX_HTTP_LLM_PII_SECRET, 1, HS_FLAG_CASELESS|NGX_HTTP_LLM_PII_NOSOM,
      "sumo[a-z0-9_.-]{0,24}[\"']?[ \\t]{0,3}(?::=|=>|\\?=|[:=])[ \\t]{0,3}"
      "[\"'`]?su[a-z0-9]{12}",
      ngx_http_llm_pii_v_sumo },

    /*
     * National IDs, second block: appended.  The forms of the second
     * block's schemes that no digit candidate reaches (a letter or "/"
     * right after six digits): the Finnish henkilötunnus of the 2000s
     * "131052A308T", Swedish interim numbers "870512-T989", the Czech and
     * Slovak birth number "880523/1237"; in the national ID database (its
     * gate: six digits in a row), see ngx_http_llm_pii_v_national2()
     */
    { NGX_HTTP_LLM_PII_NATIONAL_ID, 4,
      NGX_HTTP_LLM_PII_NOSOM|NGX_HTTP_LLM_PII_APART_NATIONAL,
      "[0-9]{6}(?:[A-FU-Y][0-9]{3}[0-9A-Y]"
      "|[-+]?[JKLMNRSTUWXjklmnrstuwx][0-9]{3}|/[0-9]{3,4})",
      ngx_http_llm_pii_v_national2 },

    /*
     * Secrets found by context (secctx): a "name: key / e-mail" credential
     * pair on a line of its own; from " / " to the end of the address, the
     * validator reads the line back (ngx_http_llm_pii_v_ctx_pair()); a
     * value a stream has released was no pair's then (HELD)
     */
    { NGX_HTTP_LLM_PII_SECRET, 1, NGX_HTTP_LLM_PII_NOSOM|NGX_HTTP_LLM_PII_HELD,
      " / (?:[A-Za-z0-9_.-]{1,32} ?[:=] ?)?[A-Za-z0-9._%+-]{1,64}"
      "@[A-Za-z0-9-]+(?:\\.[A-Za-z0-9-]+)*\\.[A-Za-z]{2,24}",
      ngx_http_llm_pii_v_ctx_pair },

    /*
     * Secret recall, provider formats (branch secrules): appended, see
     * "Provider formats" at the end of the file.  Tokens whose documented
     * format has a prefix of their own or a fixed structure (a literal of
     * four characters or more, or a short one with a fixed length and
     * alphabet after it), in patterns of at most eight alternatives:
     * 1Password secret keys, Adobe client secrets, Artifactory API keys and
     * reference tokens ("reftkn" in base64), ClickHouse Cloud, Clojars,
     * Cloudflare origin CA keys, Defined Networking, EasyPost, Flutterwave,
     * Fly.io macaroons, Frame.io, GitLab session cookies and routable
     * tokens, Grafana API keys (base64 JSON '{"k":'), Infracost, JWTs in
     * base64, New Relic browser and insert keys, Octopus Deploy, Perplexity,
     * Prefect, ReadMe, RubyGems, Scalingo, SettleMint, Twitter bearer
     * tokens, Typeform, Yandex, Dropbox short-lived tokens, Mapbox (base64
     * JSON '{"u":'), Plaid access tokens, HubSpot private app tokens, Google
     * OAuth client secrets, access and refresh tokens, Tencent Cloud,
     * Tailscale, Docker Hub, Supabase, Contentful, Figma, Buildkite,
     * CircleCI, NVIDIA, xAI, Brevo SMTP, Linear OAuth, Bitbucket app
     * passwords, MailerSend, PostHog, Apify, Netlify, Tavily, Pinecone,
     * Jina, Slack client tokens, Notion, TestPyPI, Azure shared access keys,
     * Stripe "prod" keys, Lob, Mailgun public keys, Sourcegraph local
     * tokens, Amazon Bedrock API keys, MaxMind license keys, HashiCorp
     * Terraform tokens, Azure's 84-character keys ("JQQJ9" at 52); more
     * below
     */
    { NGX_HTTP_LLM_PII_SECRET, 1, 0,
      "(?:A3-[A-Z0-9]{6}-(?:[A-Z0-9]{11}|[A-Z0-9]{6}-[A-Z0-9]{5})"
      "(?:-[A-Z0-9]{5}){3}"
      "|p8e-[A-Za-z0-9]{32}|AKCp[A-Za-z0-9]{69}"
      "|cmVmdGtu[A-Za-z0-9]{56}|4b1d[A-Za-z0-9]{38}"
      "|CLOJARS_[A-Za-z0-9]{60}|v1\\.0-[a-f0-9]{24}-[a-f0-9]{146}"
      "|dnkey-[A-Za-z0-9=_-]{26}-[A-Za-z0-9=_-]{52})",
      ngx_http_llm_pii_v_secrules },

    { NGX_HTTP_LLM_PII_SECRET, 1, 0,
      "(?:EZ[AT]K[A-Za-z0-9]{54}"
      "|FLW(?:SEC|PUB)K(?:_TEST)?-[A-Ha-h0-9]{32}-X"
      "|FLWSECK_TEST[A-Ha-h0-9]{12}"
      "|(?:fm1[ar]|fm2)_[A-Za-z0-9+/]{100,}={0,3}"
      "|fio-u-[A-Za-z0-9_=-]{64}|_gitlab_session=[0-9a-z]{32}"
      "|gl(?:pat|rt)-[A-Za-z0-9_-]{27,}\\.[0-9a-z]{9}"
      "|eyJrIjoi[A-Za-z0-9]{70,}={0,3})",
      ngx_http_llm_pii_v_secrules },

    { NGX_HTTP_LLM_PII_SECRET, 1, 0,
      "(?:ico-[A-Za-z0-9]{32}|ZXlK[A-Za-z0-9+/_-]{40,}={0,2}"
      "|NRJS-[a-f0-9]{19}|NRII-[A-Za-z0-9-]{32}|API-[A-Z0-9]{26,32}"
      "|pplx-[A-Za-z0-9]{48}|pnu_[A-Za-z0-9]{36}|rdme_[a-z0-9]{70})",
      ngx_http_llm_pii_v_secrules },

    { NGX_HTTP_LLM_PII_SECRET, 1, 0,
      "(?:rubygems_[a-f0-9]{48}|tk-us-[A-Za-z0-9_-]{48}"
      "|sm_[aps]at_[A-Za-z0-9]{16}|A{22}[A-Za-z0-9%]{80,}"
      "|tfp_[A-Za-z0-9_.=-]{59}|AQVN[A-Za-z0-9_-]{35,38})",
      ngx_http_llm_pii_v_secrules },

    { NGX_HTTP_LLM_PII_SECRET, 1, 0,
      "(?:sl\\.[A-Za-z0-9_=-]{130,}"
      "|[pst]k\\.eyJ1Ijoi[A-Za-z0-9_-]{20,}\\.[A-Za-z0-9_-]{20,}"
      "|access-(?:sandbox|development|production)-[a-f0-9]{8}"
      "(?:-[a-f0-9]{4}){3}-[a-f0-9]{12}"
      "|pat-(?:na|eu|ap)[0-9]-[a-f0-9]{8}(?:-[a-f0-9]{4}){3}-[a-f0-9]{12}"
      "|GOCSPX-[A-Za-z0-9_-]{28}|ya29\\.[A-Za-z0-9_-]{30,}"
      "|1//0[A-Za-z0-9_-]{40,}|AKID[A-Za-z0-9]{32})",
      ngx_http_llm_pii_v_secrules },

    { NGX_HTTP_LLM_PII_SECRET, 1, 0,
      "(?:tskey-[a-z]{3,8}-[A-Za-z0-9_]{6,24}-[A-Za-z0-9_]{20,64}"
      "|dckr_[po]at_[A-Za-z0-9_-]{27,32}|sbp_[a-z0-9]{40}"
      "|sb_secret_[A-Za-z0-9_-]{31,}|CFPAT-[A-Za-z0-9_-]{43}"
      "|figd_[A-Za-z0-9_-]{40}|bkua_[a-z0-9]{40}"
      "|CCIPAT_[A-Za-z0-9]{22}_[a-fA-F0-9]{40})",
      ngx_http_llm_pii_v_secrules },

    { NGX_HTTP_LLM_PII_SECRET, 1, 0,
      "(?:nvapi-[A-Za-z0-9_-]{64}|xai-[A-Za-z0-9_]{80}"
      "|xsmtpsib-[a-f0-9]{64}-[A-Za-z0-9]{16}|lin_oauth_[a-f0-9]{64}"
      "|ATBB[A-Za-z0-9_=.-]{32}|mlsn\\.[a-f0-9]{64}"
      "|phx_[A-Za-z0-9]{43})",
      ngx_http_llm_pii_v_secrules },

    { NGX_HTTP_LLM_PII_SECRET, 1, 0,
      "(?:apify_api_[A-Za-z0-9]{36}"
      "|nfp_[A-Za-z0-9]{36}"
      "|tvly-(?:dev-|prod-)?[A-Za-z0-9]{32}"
      "|pcsk_[A-Za-z0-9]{5,6}_[A-Za-z0-9]{50,80}"
      "|jina_[a-f0-9]{32}[A-Za-z0-9_-]{28})",
      ngx_http_llm_pii_v_secrules },

    { NGX_HTTP_LLM_PII_SECRET, 1, 0,
      "(?:xoxc-[0-9]{10,13}-[0-9]{10,13}-[0-9]{10,13}-[a-f0-9]{64}"
      "|secret_[A-Za-z0-9]{43}"
      "|pypi-AgENdGVzdC5weXBpLm9yZw[A-Za-z0-9_-]{50,}"
      "|SharedAccessKey=[A-Za-z0-9+/]{42,43}="
      "|[sr]k_prod_[A-Za-z0-9]{10,99}"
      "|(?:live|test)_(?:pub_[a-f0-9]{31}|[a-f0-9]{35})"
      "|pubkey-[a-f0-9]{32}|sgp_local_[a-f0-9]{40})",
      ngx_http_llm_pii_v_secrules },

    { NGX_HTTP_LLM_PII_SECRET, 1, 0,
      "(?:ABSKQmVkcm9ja0FQSUtleS[A-Za-z0-9+/]{40,}={0,2}"
      "|[A-Za-z0-9]{6}_[A-Za-z0-9]{29}_mmk"
      "|[A-Za-z0-9]{14}\\.atlasv1\\.[A-Za-z0-9_=-]{60,70}"
      "|[A-Za-z0-9]{52}JQQJ9[A-Za-z0-9]{27})",
      ngx_http_llm_pii_v_secrules },

    /*
     * the same, more providers: OpenRouter, Langfuse (secret and public
     * keys), Cerebras, Neon, Render, Braintree access tokens, Firebase
     * Cloud Messaging server keys, Cloudflare user and account tokens
     * (40 characters and an 8-digit hexadecimal check), Stytch secrets,
     * Intercom access tokens ("tok:" in base64), LaunchDarkly SDK and API
     * keys
     */
    { NGX_HTTP_LLM_PII_SECRET, 1, 0,
      "(?:sk-or-v1-[a-f0-9]{64}"
      "|[sp]k-lf-[a-f0-9]{8}(?:-[a-f0-9]{4}){3}-[a-f0-9]{12}"
      "|csk-[a-z0-9]{48}|napi_[a-z0-9]{64}|rnd_[A-Za-z0-9]{32,64}"
      "|access_token\\$(?:production|sandbox)\\$[a-z0-9]{16}\\$[a-f0-9]{32}"
      "|AAAA[A-Za-z0-9_-]{7}:APA91b[A-Za-z0-9_-]{134}"
      "|cf(?:k|ut|at)_[A-Za-z0-9]{40}[a-f0-9]{8})",
      ngx_http_llm_pii_v_secrules },

    { NGX_HTTP_LLM_PII_SECRET, 1, 0,
      "(?:secret-(?:live|test)-[A-Za-z0-9_=-]{36}"
      "|dG9rO[A-Za-z0-9+/]{40,}={0,2}"
      "|(?:sdk|api)-[a-f0-9]{8}(?:-[a-f0-9]{4}){3}-[a-f0-9]{12})",
      ngx_http_llm_pii_v_secrules },

    /*
     * Microsoft Teams incoming webhooks: from the literal, the validator
     * finds the host before it (and "https://")
     */
    { NGX_HTTP_LLM_PII_SECRET, 1, NGX_HTTP_LLM_PII_NOSOM,
      "\\.webhook\\.office\\.com/webhookb2/[a-f0-9-]{36}@[a-f0-9-]{36}"
      "/IncomingWebhook/[A-Za-z0-9]{32}/[a-f0-9-]{36}(?:/[A-Za-z0-9_-]{20,})?",
      ngx_http_llm_pii_v_secrules_teams },

    /*
     * sechost: Go's MySQL driver DSN, "user:password@tcp(host:3306)/db",
     * "user:password@unix(/run/mysqld.sock)/db": from the "@", the user and
     * the password before it as without a scheme; the address is made of
     * characters a stream holds back (a stream released "...@tcp(db.x.c"
     * and a NUL before the ")" came: fuzz/corpus/pii/sechost-dsn-nul)
     */
    { NGX_HTTP_LLM_PII_SECRET, 1, NGX_HTTP_LLM_PII_NOSOM,
      "@(?:tcp|unix)\\([A-Za-z0-9._:/%+~-]{1,128}\\)(?:/[A-Za-z0-9._~%/?&=+-]*)?",
      ngx_http_llm_pii_v_cred_bare },

    /*
     * sechost: connection strings with a credential, whole, from their
     * first name ("Server=", "Endpoint=", "DefaultEndpointsProtocol=", ...;
     * see ngx_http_llm_pii_v_sh_conn())
     */
    { NGX_HTTP_LLM_PII_SECRET, 1, HS_FLAG_CASELESS,
      "(?:endpoint|accountendpoint|defaultendpointsprotocol|accountname"
      "|hostname|host|server)=",
      ngx_http_llm_pii_v_sh_conn }
};


#define NGX_HTTP_LLM_PII_NPATTERNS                                            \
    (sizeof(ngx_http_llm_pii_builtins) / sizeof(ngx_http_llm_pii_pattern_t))


/* the flag of each database apart, by index */
static const unsigned  ngx_http_llm_pii_apart_flags[NGX_HTTP_LLM_PII_NAPART]
    = {
    NGX_HTTP_LLM_PII_APART_IBAN,
    NGX_HTTP_LLM_PII_APART_DIGITS,
    NGX_HTTP_LLM_PII_APART_NATIONAL,
    NGX_HTTP_LLM_PII_APART_TOKEN
};


int
ngx_http_llm_pii_builtin(const u_char *name, size_t len)
{
    unsigned  i;

    for (i = 0; i < NGX_HTTP_LLM_PII_NBUILTIN; i++) {
        if (strlen(ngx_http_llm_pii_names[i]) == len
            && strncasecmp(ngx_http_llm_pii_names[i], (const char *) name,
                           len) == 0)
        {
            return (int) i;
        }
    }

    return -1;
}


const char *
ngx_http_llm_pii_builtin_name(unsigned type)
{
    return (type < NGX_HTTP_LLM_PII_NBUILTIN) ? ngx_http_llm_pii_names[type]
                                              : "";
}


const char *
ngx_http_llm_pii_builtin_pattern(unsigned i, unsigned *type, unsigned *flags)
{
    if (i >= NGX_HTTP_LLM_PII_NPATTERNS) {
        return NULL;
    }

    *type = ngx_http_llm_pii_builtins[i].type;
    *flags = ngx_http_llm_pii_builtins[i].flags
             & ~(NGX_HTTP_LLM_PII_HELD|NGX_HTTP_LLM_PII_APART
                 |NGX_HTTP_LLM_PII_OWNSOM|NGX_HTTP_LLM_PII_WORD
                 |NGX_HTTP_LLM_PII_HOLD_SOM);

    if (*flags & NGX_HTTP_LLM_PII_NOSOM) {
        *flags &= ~NGX_HTTP_LLM_PII_NOSOM;

    } else {
        *flags |= HS_FLAG_SOM_LEFTMOST;
    }

    return ngx_http_llm_pii_builtins[i].regex;
}


int
ngx_http_llm_pii_parse_rule(const u_char *line, size_t len,
    ngx_http_llm_pii_rule_t *rule, const char **err)
{
    const u_char  *p, *last, *name;

    p = line;
    last = line + len;

    while (p < last && (*p == ' ' || *p == '\t' || *p == '\r')) {
        p++;
    }

    while (last > p
           && (last[-1] == ' ' || last[-1] == '\t' || last[-1] == '\r'))
    {
        last--;
    }

    if (p == last || *p == '#') {
        return 0;
    }

    name = p;

    while (p < last && *p != ' ' && *p != '\t') {
        if (!ngx_pii_word(*p)) {
            *err = "the rule name must be made of letters, digits and \"_\"";
            return -1;
        }

        p++;
    }

    if ((size_t) (p - name) > NGX_HTTP_LLM_PII_NAME_LEN) {
        *err = "the rule name is longer than 32 characters";
        return -1;
    }

    while (p < last && (*p == ' ' || *p == '\t')) {
        p++;
    }

    if (p == last) {
        *err = "a regular expression must follow the rule name";
        return -1;
    }

    rule->name = name;
    rule->name_len = 0;

    while (name + rule->name_len < last
           && name[rule->name_len] != ' ' && name[rule->name_len] != '\t')
    {
        rule->name_len++;
    }

    rule->regex = p;
    rule->regex_len = last - p;

    return 1;
}


ngx_http_llm_pii_t *
ngx_http_llm_pii_compile(unsigned types, const ngx_http_llm_pii_rule_t *rules,
    size_t nrules, char *err, size_t errlen, int *bad)
{
    char                        **exprs, *name;
    size_t                        i, j, k, n, w, a;
    size_t                        an[NGX_HTTP_LLM_PII_NAPART];
    unsigned                     *flags, *ids, t, apart;
    unsigned                      aflags[NGX_HTTP_LLM_PII_NAPART]
                                        [NGX_HTTP_LLM_PII_NPATTERNS];
    unsigned                      aids[NGX_HTTP_LLM_PII_NAPART]
                                      [NGX_HTTP_LLM_PII_NPATTERNS];
    const char                   *aexprs[NGX_HTTP_LLM_PII_NAPART]
                                        [NGX_HTTP_LLM_PII_NPATTERNS];
    hs_error_t                    rc;
    hs_expr_info_t               *info;
    hs_compile_error_t           *cerr;
    ngx_http_llm_pii_t           *pii;
    ngx_http_llm_pii_pattern_t   *pat;

    *bad = -1;
    n = 0;
    pii = NULL;
    exprs = NULL;
    flags = NULL;
    ids = NULL;

    if (nrules > NGX_HTTP_LLM_PII_MAX_RULES) {
        snprintf(err, errlen, "more than %d rules",
                 NGX_HTTP_LLM_PII_MAX_RULES);
        return NULL;
    }

    pii = calloc(1, sizeof(ngx_http_llm_pii_t));
    if (pii == NULL) {
        goto nomem;
    }

    n = NGX_HTTP_LLM_PII_NPATTERNS + nrules + 1;     /* and BEGIN */

    pii->patterns = calloc(n, sizeof(ngx_http_llm_pii_pattern_t));
    exprs = calloc(n, sizeof(char *));
    flags = calloc(n, sizeof(unsigned));
    ids = calloc(n, sizeof(unsigned));
    pii->begin = NGX_HTTP_LLM_PII_NOID;
    pii->token = NGX_HTTP_LLM_PII_NOID;

    if (pii->patterns == NULL || exprs == NULL || flags == NULL
        || ids == NULL)
    {
        goto nomem;
    }

    pii->types = types & NGX_HTTP_LLM_PII_ALL;
    pii->ntypes = NGX_HTTP_LLM_PII_NBUILTIN;

    for (t = 0; t < NGX_HTTP_LLM_PII_NBUILTIN; t++) {
        strcpy(pii->names[t], ngx_http_llm_pii_names[t]);

        for (j = 0; ngx_http_llm_pii_names[t][j]; j++) {
            pii->labels[t][j] = (char) toupper(ngx_http_llm_pii_names[t][j]);
        }

        pii->label_lens[t] = j;
    }

    n = 0;

    for (i = 0; i < NGX_HTTP_LLM_PII_NPATTERNS; i++) {
        if (!(pii->types & (1u << ngx_http_llm_pii_builtins[i].type))) {
            continue;
        }

        pii->patterns[n] = ngx_http_llm_pii_builtins[i];
        exprs[n] = (char *) ngx_http_llm_pii_builtin_pattern(i, &t, &flags[n]);
        ids[n] = (unsigned) n;
        n++;
    }

    for (i = 0; i < nrules; i++) {

        /* the type: rules that share a name share it */

        for (t = NGX_HTTP_LLM_PII_NBUILTIN; t < pii->ntypes; t++) {
            if (strlen(pii->names[t]) == rules[i].name_len
                && strncmp(pii->names[t], (const char *) rules[i].name,
                           rules[i].name_len) == 0)
            {
                break;
            }
        }

        if (t == pii->ntypes) {
            if (ngx_http_llm_pii_builtin(rules[i].name, rules[i].name_len)
                >= 0)
            {
                snprintf(err, errlen, "rule \"%.*s\": the name of a "
                         "built-in type", (int) rules[i].name_len,
                         rules[i].name);
                *bad = (int) i;
                goto failed;
            }

            if (rules[i].name_len == 0
                || rules[i].name_len > NGX_HTTP_LLM_PII_NAME_LEN)
            {
                snprintf(err, errlen, "rule %d: invalid name", (int) i + 1);
                *bad = (int) i;
                goto failed;
            }

            if (pii->ntypes == NGX_HTTP_LLM_PII_MAX_TYPES) {
                snprintf(err, errlen, "more than %d rule names",
                         NGX_HTTP_LLM_PII_MAX_TYPES
                         - NGX_HTTP_LLM_PII_NBUILTIN);
                *bad = (int) i;
                goto failed;
            }

            name = pii->names[t];
            memcpy(name, rules[i].name, rules[i].name_len);
            name[rules[i].name_len] = '\0';

            for (j = 0; j < rules[i].name_len; j++) {
                pii->labels[t][j] = (char) toupper((u_char) name[j]);
            }

            pii->label_lens[t] = j;
            pii->ntypes++;
        }

        exprs[n] = malloc(rules[i].regex_len + 1);
        if (exprs[n] == NULL) {
            goto nomem;
        }

        memcpy(exprs[n], rules[i].regex, rules[i].regex_len);
        exprs[n][rules[i].regex_len] = '\0';

        flags[n] = HS_FLAG_SOM_LEFTMOST;
        ids[n] = (unsigned) n;

        /* each rule alone first: its own error message, its width */

        if (hs_expression_info(exprs[n], flags[n], &info, &cerr)
            != HS_SUCCESS)
        {
            snprintf(err, errlen, "rule \"%s\": %s", pii->names[t],
                     cerr->message);
            hs_free_compile_error(cerr);
            *bad = (int) i;
            n++;
            goto failed;
        }

        w = (info->max_width == UINT_MAX
             || info->max_width > NGX_HTTP_LLM_PII_RULE_MAX)
            ? NGX_HTTP_LLM_PII_RULE_MAX : info->max_width;

        free(info);

        if (w > pii->window) {
            pii->window = w;
        }

        pat = &pii->patterns[n];
        pat->type = t;
        pat->prio = 0;
        pat->regex = exprs[n];
        pat->validate = NULL;

        n++;
    }

    pii->npatterns = (unsigned) n;

    if (n == 0) {
        /* nothing to find: no database, scans find nothing */
        goto done;
    }

    if (hs_valid_platform() != HS_SUCCESS) {
        snprintf(err, errlen, "Hyperscan does not support this CPU "
                 "(SSSE3 is needed)");
        goto failed;
    }

    /*
     * The IBAN, the number and the national ID patterns in databases of
     * their own (their ids stay theirs), unless nothing would be left for
     * the main one; the others keep their order
     */

    apart = NGX_HTTP_LLM_PII_APART;

    for (i = 0; i < n; i++) {
        if (!(pii->patterns[i].flags & apart)) {
            break;
        }
    }

    if (i == n && !(pii->types & (1u << NGX_HTTP_LLM_PII_SECRET))) {
        apart = 0;
    }

    memset(an, 0, sizeof(an));
    w = 0;

    for (i = 0; i < n; i++) {
        if (apart && (pii->patterns[i].flags & NGX_HTTP_LLM_PII_WORD)) {
            pii->token = ids[i];
            continue;
        }

        for (a = 0; a < NGX_HTTP_LLM_PII_NAPART; a++) {
            if (pii->patterns[i].flags & apart
                & ngx_http_llm_pii_apart_flags[a])
            {
                break;
            }
        }

        if (a < NGX_HTTP_LLM_PII_NAPART) {
            aexprs[a][an[a]] = exprs[i];
            aflags[a][an[a]] = (pii->patterns[i].flags
                                & NGX_HTTP_LLM_PII_OWNSOM)
                               ? flags[i] & ~HS_FLAG_SOM_LEFTMOST : flags[i];
            aids[a][an[a]++] = ids[i];
            continue;
        }

        exprs[w] = exprs[i];
        flags[w] = flags[i];
        ids[w++] = ids[i];
    }

    if (pii->types & (1u << NGX_HTTP_LLM_PII_SECRET)) {
        /* after the patterns: not one of them (not freed, not a type) */
        pii->begin = (unsigned) n;
        exprs[w] = NGX_HTTP_LLM_PII_BEGIN;
        flags[w] = 0;              /* each: see ngx_http_llm_pii_texts() */
        ids[w++] = (unsigned) n;
    }

    rc = hs_compile_multi((const char * const *) exprs, flags, ids,
                          (unsigned) w, HS_MODE_BLOCK, NULL, &pii->db, &cerr);

    if (rc != HS_SUCCESS) {
        k = (cerr->expression >= 0 && cerr->expression < (int) w)
            ? ids[cerr->expression] : n;

        if (k < n && pii->patterns[k].validate == NULL) {
            t = pii->patterns[k].type;
            *bad = (int) k - (int) (n - nrules);
            snprintf(err, errlen, "rule \"%s\": %s", pii->names[t],
                     cerr->message);

        } else {
            snprintf(err, errlen, "%s", cerr->message);
        }

        hs_free_compile_error(cerr);
        pii->db = NULL;
        goto failed;
    }

    for (a = 0; a < NGX_HTTP_LLM_PII_NAPART; a++) {
        if (an[a]
            && ngx_http_llm_pii_compile_apart(aexprs[a], aflags[a], aids[a],
                                              an[a], &pii->apart[a], err,
                                              errlen)
               != 0)
        {
            goto failed;
        }
    }

done:

    free(exprs);
    free(flags);
    free(ids);

    return pii;

nomem:

    snprintf(err, errlen, "out of memory");

failed:

    if (exprs && pii && pii->patterns) {
        for (i = 0; i < n; i++) {
            if (pii->patterns[i].validate == NULL && exprs[i]
                && pii->patterns[i].regex == NULL)
            {
                free(exprs[i]);
            }
        }
    }

    if (pii) {
        pii->npatterns = (unsigned) n;
        ngx_http_llm_pii_free(pii);
    }

    free(exprs);
    free(flags);
    free(ids);

    return NULL;
}


/* a database of built-in patterns apart from the main one */

static int
ngx_http_llm_pii_compile_apart(const char **exprs, unsigned *flags,
    unsigned *ids, size_t n, hs_database_t **db, char *err, size_t errlen)
{
    hs_compile_error_t  *cerr;

    if (hs_compile_multi(exprs, flags, ids, (unsigned) n, HS_MODE_BLOCK,
                         NULL, db, &cerr)
        != HS_SUCCESS)
    {
        snprintf(err, errlen, "%s", cerr->message);
        hs_free_compile_error(cerr);
        *db = NULL;
        return -1;
    }

    return 0;
}


void
ngx_http_llm_pii_free(ngx_http_llm_pii_t *pii)
{
    unsigned  i;

    if (pii == NULL) {
        return;
    }

    if (pii->db) {
        hs_free_database(pii->db);
    }

    for (i = 0; i < NGX_HTTP_LLM_PII_NAPART; i++) {
        if (pii->apart[i]) {
            hs_free_database(pii->apart[i]);
        }
    }

    if (pii->patterns) {
        for (i = 0; i < pii->npatterns; i++) {
            if (pii->patterns[i].validate == NULL) {
                free((char *) pii->patterns[i].regex);
            }
        }

        free(pii->patterns);
    }

    free(pii);
}


int
ngx_http_llm_pii_alloc_scratch(const ngx_http_llm_pii_t *pii,
    hs_scratch_t **scratch)
{
    unsigned  i;

    if (pii->db == NULL) {
        return 0;
    }

    for (i = 0; i < NGX_HTTP_LLM_PII_NAPART; i++) {
        if (pii->apart[i]
            && hs_alloc_scratch(pii->apart[i], scratch) != HS_SUCCESS)
        {
            return -1;
        }
    }

    return (hs_alloc_scratch(pii->db, scratch) == HS_SUCCESS) ? 0 : -1;
}


unsigned
ngx_http_llm_pii_ntypes(const ngx_http_llm_pii_t *pii)
{
    return pii->ntypes;
}


unsigned
ngx_http_llm_pii_types(const ngx_http_llm_pii_t *pii)
{
    return pii->types;
}


const char *
ngx_http_llm_pii_name(const ngx_http_llm_pii_t *pii, unsigned type)
{
    return (type < pii->ntypes) ? pii->names[type] : "";
}


const char *
ngx_http_llm_pii_label(const ngx_http_llm_pii_t *pii, unsigned type,
    size_t *len)
{
    if (type >= pii->ntypes) {
        *len = 0;
        return "";
    }

    *len = pii->label_lens[type];

    return pii->labels[type];
}


int
ngx_http_llm_pii_find_label(const ngx_http_llm_pii_t *pii,
    const u_char *label, size_t len)
{
    unsigned  t;

    for (t = 0; t < pii->ntypes; t++) {
        if (pii->label_lens[t] == len
            && memcmp(pii->labels[t], label, len) == 0)
        {
            return (int) t;
        }
    }

    return -1;
}


size_t
ngx_http_llm_pii_window(const ngx_http_llm_pii_t *pii)
{
    return pii->window;
}


/* scanning */

int
ngx_http_llm_pii_scan(const ngx_http_llm_pii_t *pii, hs_scratch_t *scratch,
    const u_char *text, size_t len, size_t from,
    ngx_http_llm_pii_matches_t *m)
{
    return ngx_http_llm_pii_scan_prior(pii, scratch, text, len, from,
                                       NGX_HTTP_LLM_PII_NONE, m);
}


/* a scan; prior: where a credential a stream released before from ends */

static int
ngx_http_llm_pii_scan_prior(const ngx_http_llm_pii_t *pii,
    hs_scratch_t *scratch, const u_char *text, size_t len, size_t from,
    size_t prior, ngx_http_llm_pii_matches_t *m)
{
    int                       rc;
    u_char                    c, *n;
    size_t                    i, k, nlen, nfrom, cl, nbp;
    ngx_http_llm_pii_bp_t    *bp;
    ngx_http_llm_pii_match_t *e;

    m->nelts = 0;
    m->hold = NGX_HTTP_LLM_PII_NONE;

    if (pii->db == NULL || len <= from) {
        return 0;
    }

    if (len > UINT_MAX / 2) {
        return -1;
    }

    rc = ngx_http_llm_pii_normalise(text, len, from, m, &nlen, &nfrom, &nbp);

    if (rc == -1) {
        return -1;
    }

    if (rc == 0) {
        if (ngx_http_llm_pii_scan_text(pii, scratch, text, len, from, m)
            != 0)
        {
            return -1;
        }

        return ngx_http_llm_pii_comp(pii, text, len, from, prior, m);
    }

    n = m->norm;
    bp = (ngx_http_llm_pii_bp_t *) (m->norm + NGX_HTTP_LLM_PII_BP_OFF(len));

    if (ngx_http_llm_pii_scan_text(pii, scratch, n, nlen, nfrom, m) != 0) {
        return -1;
    }

    /* back to the original bytes: a match ends after its last character */

    if (m->hold != NGX_HTTP_LLM_PII_NONE) {
        m->hold = ngx_http_llm_pii_orig(bp, nbp, m->hold);
    }

    e = m->elts;

    for (k = 0; k < m->nelts; k++) {
        i = ngx_http_llm_pii_orig(bp, nbp, e[k].end - 1);
        cl = 1;

        if (text[i] >= 0xc2 && n[e[k].end - 1] < 0x80) {
            cl = ngx_http_llm_pii_norm_char(text + i, len - i, &c);
        }

        e[k].start = ngx_http_llm_pii_orig(bp, nbp, e[k].start);
        e[k].end = i + (cl ? cl : 1);

        if (e[k].start < from) {
            e[k].start = from;
        }
    }

    return ngx_http_llm_pii_comp(pii, text, len, from, prior, m);
}


/*
 * Many texts, one scan: the texts joined by the caller, each followed by a
 * '\n' (ends[k]: the offset of text k's '\n'), scanned once; hit[k] is set
 * when Hyperscan reported a match that ends in text k or on its '\n'.
 * Every text that ngx_http_llm_pii_scan() would find a value in is hit:
 * the built-in patterns have no anchors, a word boundary at a text's edge
 * is one at the '\n' too, and a candidate of a text alone is one in the
 * joined text, reported at the same end (and "-----BEGIN " is reported
 * at each occurrence).  A text hit may have none (a candidate that
 * validation refuses, or that spans two texts): the caller scans the hit
 * ones.  Returns 0; 1 with custom rules (a rule may be anchored: the
 * caller scans each text); -1 on an error.
 */

int
ngx_http_llm_pii_texts(const ngx_http_llm_pii_t *pii, hs_scratch_t *scratch,
    const u_char *text, size_t len, const size_t *ends, size_t n,
    u_char *hit, ngx_http_llm_pii_matches_t *m)
{
    int                        rc;
    size_t                     k, nlen, nfrom, nbp;
    size_t                    *nends;
    const u_char              *scan;
    ngx_http_llm_pii_bp_t     *bp;
    ngx_http_llm_pii_texts_t   tx;

    memset(hit, 0, n);

    if (pii->db == NULL || n == 0) {
        return 0;
    }

    if (pii->ntypes > NGX_HTTP_LLM_PII_NBUILTIN) {
        return 1;
    }

    if (len > UINT_MAX / 2) {
        return -1;
    }

    rc = ngx_http_llm_pii_normalise(text, len, 0, m, &nlen, &nfrom, &nbp);

    if (rc == -1) {
        return -1;
    }

    scan = text;
    nends = (size_t *) ends;

    if (rc == 1) {

        /*
         * The ends in the normalised text: a '\n' is copied, never inside
         * a normalised character (the last breakpoint at or before it)
         */

        scan = m->norm;
        bp = (ngx_http_llm_pii_bp_t *) (m->norm + NGX_HTTP_LLM_PII_BP_OFF(len));
        len = nlen;

        nends = m->alloc(m->data, n * sizeof(size_t));
        if (nends == NULL) {
            return -1;
        }

        for (k = 0; k < n; k++) {
            nends[k] = ngx_http_llm_pii_norm_pos(bp, nbp, ends[k]);
        }
    }

    tx.ends = nends;
    tx.n = n;
    tx.hit = hit;

    return ngx_http_llm_pii_hs_scan(pii, scratch, scan, len,
                                    ngx_http_llm_pii_on_report, &tx, m);
}


/*
 * The Hyperscan part of a scan: the main database, then each database
 * apart where its patterns can match (NGX_HTTP_LLM_PII_APART): one pass
 * over the text (ngx_http_llm_pii_runs()) finds the runs of digits and
 * the windows of the IBAN patterns; 0 or -1 (an error, or the handler
 * stopped the scan)
 */

int
ngx_http_llm_pii_hs_scan(const ngx_http_llm_pii_t *pii,
    hs_scratch_t *scratch, const u_char *text, size_t len,
    match_event_handler handler, void *data, ngx_http_llm_pii_matches_t *m)
{
    ngx_http_llm_pii_marks_t  mk;

    if (pii->db == NULL) {
        return 0;
    }

    if (hs_scan(pii->db, (const char *) text, (unsigned int) len, 0, scratch,
                handler, data)
        != HS_SUCCESS)
    {
        return -1;
    }

    if (pii->apart[NGX_HTTP_LLM_PII_DB_DIGITS]
        || pii->apart[NGX_HTTP_LLM_PII_DB_IBAN])
    {
        if (ngx_http_llm_pii_runs(pii, scratch, text, len, handler, data, m,
                                  &mk)
            != 0
            || ngx_http_llm_pii_scan_wins(pii,
                                       pii->apart[NGX_HTTP_LLM_PII_DB_IBAN],
                                       scratch, text, &mk.iban, handler, data)
               != 0)
        {
            return -1;
        }
    }

    if (pii->apart[NGX_HTTP_LLM_PII_DB_NATIONAL]
        && ngx_http_llm_pii_national_gate(text, len)
        && hs_scan(pii->apart[NGX_HTTP_LLM_PII_DB_NATIONAL],
                   (const char *) text, (unsigned int) len, 0, scratch,
                   handler, data)
           != HS_SUCCESS)
    {
        return -1;
    }

    if ((pii->apart[NGX_HTTP_LLM_PII_DB_TOKEN]
         || pii->token != NGX_HTTP_LLM_PII_NOID)
        && (ngx_http_llm_pii_token_pass(pii, text, len, &mk.token, handler,
                                        data)
            != 0
            || ngx_http_llm_pii_scan_wins(pii,
                                       pii->apart[NGX_HTTP_LLM_PII_DB_TOKEN],
                                       scratch, text, &mk.token, handler,
                                       data)
               != 0))
    {
        return -1;
    }

    return 0;
}


/*
 * Each "token" of the text, caseless (NGX_HTTP_LLM_PII_APART_TOKEN): 64
 * bytes at once, then each "k" in them.  A match of the patterns apart
 * starts with "token" at p, and what follows it is made of classes that
 * share no character: name characters (24 at most: the longest run of
 * them, as the next character is not one), a quote, 3 spaces at most, an
 * operator at q (':', '=', ":=", "=>"), then a value of 16 characters or
 * more of "A-Za-z0-9_.+/=-" that starts 1 to 6 bytes after q (the rest of
 * the operator, 3 spaces, a quote): it holds the byte at q + 6, and the
 * match ends by the end of the run of these characters through q + 6.  A
 * window from p to there holds the match, and every match that ends where
 * it ends (each starts with such a "token", and its window holds the same
 * last byte: the windows are joined).  Prose has no "token" followed by an
 * operator: no window.  0, or -1 when the handler stopped the scan.
 */

#define NGX_HTTP_LLM_PII_TOKEN_NAME    24
#define NGX_HTTP_LLM_PII_TOKEN_SPACES  3
#define NGX_HTTP_LLM_PII_TOKEN_VALUE   6
#define NGX_HTTP_LLM_PII_TOKEN_MIN     16

/* "A-Za-z0-9_.+/=-", a bit a byte */
static const uint32_t  ngx_http_llm_pii_tok_value_map[] = {
    0x00000000, 0x23ffe800, 0x87fffffe, 0x07fffffe,
    0x00000000, 0x00000000, 0x00000000, 0x00000000
};

#define ngx_pii_tok_value(c)                                                  \
    (ngx_http_llm_pii_tok_value_map[(u_char) (c) >> 5] & (1U << ((c) & 0x1f)))
#define ngx_pii_tok_name(c)  (ngx_pii_alnum(c) || (c) == '_' || (c) == '.'    \
                              || (c) == '-')
/* \s: Hyperscan's, PCRE's */
#define ngx_pii_tok_space(c)  ((c) == ' ' || ((c) >= '\t' && (c) <= '\r'))

static int
ngx_http_llm_pii_token_pass(const ngx_http_llm_pii_t *pii, const u_char *t,
    size_t len, ngx_http_llm_pii_wins_t *ws, match_event_handler handler,
    void *data)
{
    size_t    i, run[2];
#if (NGX_HTTP_LLM_PII_SSE2)
    size_t    b;
    uint64_t  mask;

    const __m128i  k = _mm_set1_epi8('k');
    const __m128i  lc = _mm_set1_epi8(0x20);
#endif

    ws->n = 0;
    run[0] = 0;
    run[1] = 0;
    i = 2;                             /* "to" before the "k" */

#if (NGX_HTTP_LLM_PII_SSE2)

    /* the last 64 bytes of the text end it, less those looked at */

    while (len >= 64 && i < len) {
        b = (i + 64 <= len) ? i : len - 64;

        mask = (uint64_t) (unsigned) _mm_movemask_epi8(
                   ngx_pii_sse_k(t + b, lc, k))
               | (uint64_t) (unsigned) _mm_movemask_epi8(
                   ngx_pii_sse_k(t + b + 16, lc, k)) << 16
               | (uint64_t) (unsigned) _mm_movemask_epi8(
                   ngx_pii_sse_k(t + b + 32, lc, k)) << 32
               | (uint64_t) (unsigned) _mm_movemask_epi8(
                   ngx_pii_sse_k(t + b + 48, lc, k)) << 48;

        mask &= ~(uint64_t) 0 << (i - b);

        while (mask) {
            if (ngx_http_llm_pii_token_at(pii, t, len,
                                          b + __builtin_ctzll(mask), ws, run,
                                          handler, data)
                != 0)
            {
                return -1;
            }

            mask &= mask - 1;
        }

        i = b + 64;
    }

#endif

    for ( /* void */ ; i < len; i++) {
        if ((t[i] | 0x20) == 'k'
            && ngx_http_llm_pii_token_at(pii, t, len, i, ws, run, handler,
                                         data)
               != 0)
        {
            return -1;
        }
    }

    return 0;
}


/*
 * A "k" or "K" at i (i >= 2) of ngx_http_llm_pii_token_pass().  run: the
 * last run of value characters read to its end, [run[0], run[1]): a value
 * in it ends there ("token=token=..." is read once, not once a "token").
 */

static int
ngx_http_llm_pii_token_at(const ngx_http_llm_pii_t *pii, const u_char *t,
    size_t len, size_t i, ngx_http_llm_pii_wins_t *ws, size_t *run,
    match_event_handler handler, void *data)
{
    size_t  p, q, e, a, b;

    if (i + 3 >= len
        || (t[i - 2] | 0x20) != 't' || (t[i - 1] | 0x20) != 'o'
        || (t[i + 1] | 0x20) != 'e' || (t[i + 2] | 0x20) != 'n')
    {
        return 0;
    }

    p = i - 2;
    e = i + 3;                         /* after "token" */

    /* "token" and not a letter: ends after that character */

    if (pii->token != NGX_HTTP_LLM_PII_NOID && !ngx_pii_alpha(t[e])
        && handler(pii->token, 0, e + 1, 0, data) != 0)
    {
        return -1;
    }

    if (pii->apart[NGX_HTTP_LLM_PII_DB_TOKEN] == NULL) {
        return 0;
    }

    /* the name's rest, a quote, spaces, an operator */

    for (q = e; q < len && ngx_pii_tok_name(t[q]); q++) {
        if (q - e == NGX_HTTP_LLM_PII_TOKEN_NAME) {
            return 0;
        }
    }

    if (q < len && (t[q] == '"' || t[q] == '\'')) {
        q++;
    }

    for (a = q; q < len && ngx_pii_tok_space(t[q]); q++) {
        if (q - a == NGX_HTTP_LLM_PII_TOKEN_SPACES) {
            return 0;
        }
    }

    if (q >= len || (t[q] != ':' && t[q] != '=')) {
        return 0;
    }

    /* a value through q + 6, 16 characters long from q + 1 at least */

    b = q + NGX_HTTP_LLM_PII_TOKEN_VALUE;

    if (b >= len || !ngx_pii_tok_value(t[b])) {
        return 0;
    }

    for (a = b; a > q + 1 && ngx_pii_tok_value(t[a - 1]); a--) {
        /* void */
    }

    if (b >= run[0] && b < run[1]) {
        b = run[1];

    } else {
        run[0] = b;

        while (b < len && ngx_pii_tok_value(t[b])) {
            b++;
        }

        run[1] = b;
    }

    if (b - a >= NGX_HTTP_LLM_PII_TOKEN_MIN) {
        ngx_http_llm_pii_win_add(ws, p, b, len);
    }

    return 0;
}


/*
 * One pass over the text for the databases apart.  The number patterns
 * (NGX_HTTP_LLM_PII_APART_DIGITS) are scanned over the runs of "0-9
 * ().+-" that have four digits, or "+", a digit and 9 characters in all:
 * the runs copied one after the other, each followed by '\n' (which none
 * of these patterns matches), scanned at once, the reports moved back to
 * the text.  Prose has few digits: 64 or 16 bytes are looked at at once
 * for one (the smallest of each byte less '0').
 *
 * On the way, the IBAN windows: a match starts with two letters, an
 * optional separator and two digits at d that are at the start of a run
 * of digits, or after its first character, a separator (every digit is in
 * a run), with 11 more characters after them (ngx_http_llm_pii_iban_at());
 * it starts at d - 2 or d - 3 and ends by d + 63 (65 bytes at most); a
 * window from d - 3 to d + 63 holds it, and every match that ends where it
 * ends (each starts at such a d too, and its window holds the same last
 * byte: the windows are joined).
 */

static int
ngx_http_llm_pii_runs(const ngx_http_llm_pii_t *pii, hs_scratch_t *scratch,
    const u_char *t, size_t len, match_event_handler handler, void *data,
    ngx_http_llm_pii_matches_t *m, ngx_http_llm_pii_marks_t *mk)
{
    u_char                   c, *p, *buf;
    size_t                   i, s, e, n, nd, size, cap, d;
    uint32_t                *map;
    unsigned                 plus;
    ngx_http_llm_pii_runs_t  rs;
#if (NGX_HTTP_LLM_PII_SSE2)
    int                      mask;
    __m128i                  v;

    const __m128i  nine = _mm_set1_epi8(9);
#endif

    buf = NULL;
    map = NULL;
    p = NULL;
    n = 0;
    i = 0;

    mk->iban.n = 0;

    while (i < len) {

#if (NGX_HTTP_LLM_PII_SSE2)
        if (i + 64 <= len) {

            /*
             * 64 bytes without a digit at once: the smallest of each byte
             * less '0' is more than 9
             */

            v = _mm_min_epu8(
                    _mm_min_epu8(ngx_pii_sse_from0(t + i),
                                 ngx_pii_sse_from0(t + i + 16)),
                    _mm_min_epu8(ngx_pii_sse_from0(t + i + 32),
                                 ngx_pii_sse_from0(t + i + 48)));

            if (_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_min_epu8(v, nine), v))
                == 0)
            {
                i += 64;
                continue;
            }
        }

        if (i + 16 <= len) {
            v = ngx_pii_sse_from0(t + i);
            mask = _mm_movemask_epi8(_mm_cmpeq_epi8(_mm_min_epu8(v, nine),
                                                    v));
            if (mask == 0) {
                i += 16;
                continue;
            }

            i += __builtin_ctz((unsigned) mask);
        }
#endif

        c = t[i];

        if (!ngx_pii_digit(c)) {
            i++;
            continue;
        }

        /* the run of the digit at i (the one before ended before it) */

        for (s = i; s > 0 && ngx_pii_run(t[s - 1]); s--) { /* void */ }

        nd = 0;
        plus = 0;

        for (e = s; e < len && ngx_pii_run(t[e]); e++) {
            c = t[e];

            if (ngx_pii_digit(c)) {
                nd++;

            } else if (c == '+' && e + 1 < len && t[e + 1] >= '1'
                       && t[e + 1] <= '9')
            {
                plus = 1;
            }
        }

        i = e;

        if (pii->apart[NGX_HTTP_LLM_PII_DB_IBAN]) {
            d = ngx_http_llm_pii_iban_at(t, len, s) ? s
                : ngx_http_llm_pii_iban_at(t, len, s + 1) ? s + 1
                : NGX_HTTP_LLM_PII_NONE;

            if (d != NGX_HTTP_LLM_PII_NONE) {
                ngx_http_llm_pii_win_add(&mk->iban, d > 3 ? d - 3 : 0,
                                         d + 63 < len ? d + 63 : len, len);
            }
        }

        if (pii->apart[NGX_HTTP_LLM_PII_DB_DIGITS] == NULL
            || (nd < 4 && !(plus && e - s >= 9)))
        {
            continue;
        }

        if (buf == NULL) {

            /*
             * The runs and their '\n', and their offsets: a run has four
             * characters at least, and one that is not of a run after it
             */

            size = (len + len / 4 + 2 + sizeof(uint32_t) - 1)
                   & ~(sizeof(uint32_t) - 1);
            cap = len / 4 + 2;

            if (m->runs_size < size + cap * 2 * sizeof(uint32_t)) {
                m->runs = m->alloc(m->data,
                                   size + cap * 2 * sizeof(uint32_t));
                if (m->runs == NULL) {
                    m->runs_size = 0;
                    return -1;
                }

                m->runs_size = size + cap * 2 * sizeof(uint32_t);
            }

            buf = m->runs;
            map = (uint32_t *) (buf + size);
            p = buf;
        }

        map[2 * n] = (uint32_t) (p - buf);
        map[2 * n + 1] = (uint32_t) s;
        n++;

        p = (u_char *) memcpy(p, t + s, e - s) + (e - s);
        *p++ = '\n';
    }

    if (n == 0) {
        return 0;
    }

    rs.handler = handler;
    rs.data = data;
    rs.map = map;
    rs.n = n;
    rs.pii = pii;
    rs.text = t;

    if (hs_scan(pii->apart[NGX_HTTP_LLM_PII_DB_DIGITS], (const char *) buf,
                (unsigned int) (p - buf), 0, scratch, ngx_http_llm_pii_on_run,
                &rs)
        != HS_SUCCESS)
    {
        return -1;
    }

    return 0;
}


/* a window after the others (s at or after the last one's start) */

static void
ngx_http_llm_pii_win_add(ngx_http_llm_pii_wins_t *ws, size_t s, size_t e,
    size_t len)
{
    size_t  *last;

    if (ws->n) {
        last = ws->w[ws->n - 1];

        if (s <= last[1] + NGX_HTTP_LLM_PII_WGAP) {
            if (e > last[1]) {
                last[1] = e;
            }

            return;
        }

        if (ws->n == NGX_HTTP_LLM_PII_NWIN) {
            last[1] = len;
            return;
        }
    }

    ws->w[ws->n][0] = s;
    ws->w[ws->n][1] = e;
    ws->n++;
}


/* a database apart over windows of the text */

static int
ngx_http_llm_pii_scan_wins(const ngx_http_llm_pii_t *pii,
    const hs_database_t *db, hs_scratch_t *scratch, const u_char *t,
    const ngx_http_llm_pii_wins_t *ws, match_event_handler handler,
    void *data)
{
    size_t                    k;
    ngx_http_llm_pii_shift_t  sh;

    if (db == NULL) {
        return 0;
    }

    sh.handler = handler;
    sh.data = data;
    sh.pii = pii;
    sh.text = t;

    for (k = 0; k < ws->n; k++) {
        sh.off = ws->w[k][0];

        if (hs_scan(db, (const char *) t + sh.off,
                    (unsigned int) (ws->w[k][1] - sh.off), 0, scratch,
                    ngx_http_llm_pii_on_shifted, &sh)
            != HS_SUCCESS)
        {
            return -1;
        }
    }

    return 0;
}


static int
ngx_http_llm_pii_on_shifted(unsigned int id, unsigned long long from,
    unsigned long long to, unsigned int flags, void *data)
{
    ngx_http_llm_pii_shift_t *sh = data;

    const ngx_http_llm_pii_pattern_t  *pat;

    pat = &sh->pii->patterns[id];
    to += sh->off;

    /* without start-of-match, Hyperscan says 0, as over the whole text */

    if (pat->flags & NGX_HTTP_LLM_PII_OWNSOM) {
        from = ngx_http_llm_pii_som(pat, sh->text, (size_t) to);

    } else if (!(pat->flags & NGX_HTTP_LLM_PII_NOSOM)) {
        from += sh->off;
    }

    return sh->handler(id, from, to, flags, sh->data);
}


static int
ngx_http_llm_pii_on_run(unsigned int id, unsigned long long from,
    unsigned long long to, unsigned int flags, void *data)
{
    ngx_http_llm_pii_runs_t *rs = data;

    size_t    lo, hi, mid;
    uint32_t  d;

    if (to == 0) {
        return 0;
    }

    /* the last run that starts at or before the match's last byte */

    lo = 0;
    hi = rs->n;

    while (hi - lo > 1) {
        mid = lo + (hi - lo) / 2;

        if (rs->map[2 * mid] <= to - 1) {
            lo = mid;

        } else {
            hi = mid;
        }
    }

    d = rs->map[2 * lo + 1] - rs->map[2 * lo];

    if (rs->pii->patterns[id].flags & NGX_HTTP_LLM_PII_OWNSOM) {
        return rs->handler(id,
                           ngx_http_llm_pii_som(&rs->pii->patterns[id],
                                                rs->text, (size_t) to + d),
                           to + d, flags, rs->data);
    }

    return rs->handler(id, from + d, to + d, flags, rs->data);
}


/*
 * The leftmost start of a match of pat (NGX_HTTP_LLM_PII_OWNSOM) that ends
 * at e, as Hyperscan's start-of-match gives it: each pattern's layout read
 * backwards from its end.  A match ends at e (Hyperscan reported it).
 */

#define ngx_pii_nsep(c)   ((c) == ' ' || (c) == '.' || (c) == '-')
#define ngx_pii_phch(c)   (ngx_pii_digit(c) || (c) == ' ' || (c) == '('      \
                           || (c) == ')' || (c) == '.' || (c) == '-')

static size_t
ngx_http_llm_pii_som(const ngx_http_llm_pii_pattern_t *pat, const u_char *t,
    size_t e)
{
    size_t  s, r, n, lo;

    if (pat->validate == ngx_http_llm_pii_v_card) {

        /* "[0-9](?:[ -]?[0-9]){11,18}": back to the 19th digit at most */

        s = e - 1;

        for (n = 1; n < 19; n++) {
            r = s;

            if (r > 0 && (t[r - 1] == ' ' || t[r - 1] == '-')) {
                r--;
            }

            if (r == 0 || !ngx_pii_digit(t[r - 1])) {
                break;
            }

            s = r - 1;
        }

        return s;
    }

    if (pat->validate == ngx_http_llm_pii_v_phone_intl) {

        /*
         * "\+[1-9](?:[0-9 ().-]{6,22}|...)[0-9]" and
         * "00[1-9][0-9 ().-]{6,22}[0-9]": the run of "0-9 ().-" before the
         * last digit starts at r
         */

        lo = (e > 26) ? e - 26 : 0;

        for (r = e - 1; r > lo && ngx_pii_phch(t[r - 1]); r--) { /* void */ }

        if (pat->regex[0] == '\\') {
            /* "+" is not of the run: the one before it */
            return r - 1;
        }

        for (s = r; s + 10 <= e; s++) {
            if (t[s] == '0' && t[s + 1] == '0'
                && t[s + 2] >= '1' && t[s + 2] <= '9')
            {
                return s;
            }
        }

        return r;
    }

    if (pat->validate == ngx_http_llm_pii_v_phone_nanp) {

        /*
         * "(?:\+?1[ .-]?)?(?:\([2-9][0-9]{2}\)|[2-9][0-9]{2})[ .-]?"
         * "[2-9][0-9]{2}[ .-]?[0-9]{4}": the line, the exchange and the area
         * code have one reading backwards; the longest prefix
         */

        s = e - 4;

        if (ngx_pii_nsep(t[s - 1])) {
            s--;
        }

        s -= 3;

        if (ngx_pii_nsep(t[s - 1])) {
            s--;
        }

        s -= (t[s - 1] == ')') ? 5 : 3;

        r = s;

        if (r > 0 && ngx_pii_nsep(t[r - 1])) {
            r--;
        }

        if (r > 0 && t[r - 1] == '1') {
            s = r - 1;

            if (s > 0 && t[s - 1] == '+') {
                s--;
            }
        }

        return s;
    }

    if (pat->validate == ngx_http_llm_pii_v_phone_national) {
        return ngx_http_llm_pii_som_national(t, e);
    }

    if (pat->validate == ngx_http_llm_pii_v_iban) {
        return ngx_http_llm_pii_som_iban(t, e, pat->regex[1] == 'a');
    }

    return 0;
}


/*
 * "\(?0[1-9][0-9]{0,3}\)?(?:[ .-][0-9]{2,8}){1,4}": each group is a run of
 * 2 to 8 digits after a separator (the last one ends at e); with k groups
 * (1 to 4), the trunk ends before the first one's separator (and a ")"),
 * starts at its leftmost "0[1-9]" 2 to 5 digits before that (and a "(");
 * the leftmost of the k that read
 */

static size_t
ngx_http_llm_pii_som_national(const u_char *t, size_t e)
{
    size_t    p, x, q, y, z, best;
    unsigned  k;

    best = e;
    p = e;

    for (k = 1; k <= 4; k++) {

        /* the group that ends at p */

        for (x = p; x > 0 && ngx_pii_digit(t[x - 1]); x--) { /* void */ }

        if (p - x < 2 || p - x > 8 || x == 0 || !ngx_pii_nsep(t[x - 1])) {
            break;
        }

        /* the trunk before its separator */

        q = x - 1;

        if (q > 0 && t[q - 1] == ')') {
            q--;
        }

        for (y = q; y > 0 && ngx_pii_digit(t[y - 1]) && q - y < 5; y--) {
            /* void */
        }

        for (z = y; z + 2 <= q; z++) {
            if (t[z] == '0' && t[z + 1] >= '1' && t[z + 1] <= '9') {
                if (z > 0 && t[z - 1] == '(') {
                    z--;
                }

                if (z < best) {
                    best = z;
                }

                break;
            }
        }

        /* the group before it ends at its separator */

        p = x - 1;
    }

    return best;
}


/*
 * "[A-Z]{2}[ .-]?[0-9]{2}(?:[ .-]?[A-Z0-9]){11,30}" (and in lower case):
 * the first start from 65 bytes before e that reads to e
 */

static size_t
ngx_http_llm_pii_som_iban(const u_char *t, size_t e, int lower)
{
    size_t    s, p, n;
    u_char    c;

#define ngx_pii_iban_letter(c)  (lower ? ngx_pii_lower(c) : ngx_pii_upper(c))

    for (s = (e > 65) ? e - 65 : 0; s + 15 <= e; s++) {
        if (!ngx_pii_iban_letter(t[s]) || !ngx_pii_iban_letter(t[s + 1])) {
            continue;
        }

        p = s + 2;

        if (ngx_pii_nsep(t[p])) {
            p++;
        }

        if (p + 2 > e || !ngx_pii_digit(t[p]) || !ngx_pii_digit(t[p + 1])) {
            continue;
        }

        n = 0;

        for (p += 2; p < e; p++) {
            c = t[p];

            if (ngx_pii_nsep(c)) {
                if (++p == e) {
                    n = 0;                  /* not after a separator */
                    break;
                }

                c = t[p];
            }

            if (!ngx_pii_digit(c) && !ngx_pii_iban_letter(c)) {
                break;
            }

            n++;
        }

        if (p == e && n >= 11 && n <= 30) {
            return s;
        }
    }

#undef ngx_pii_iban_letter

    return 0;
}


/*
 * Whether the text may have a match of the national ID patterns: each has
 * six digits in a row (the DNI, NIE, CURP), "2A" or "2B" (the NIR of
 * Corsica), the shape of a codice fiscale, or is a digit, 6
 * to 22 characters of "0-9 .+-" and a digit or "k" or "x" (the layouts of
 * digits: a run of these characters with two digits 7 characters apart or
 * more, or of 7 characters from its first digit and "k" or "x" after it).
 * Prose has few digits and capitals: 16 bytes are looked at at once.
 */

static int
ngx_http_llm_pii_cf_shape(const u_char *p)
{
    u_char  c;
    size_t  k;

    /* "[A-Z]{6}" (seen), "[0-9LMNP-V]{2}[ABCDEHLMPRST][0-9LMNP-V]{2}[A-Z]"
       "[0-9LMNP-V]{3}[A-Z]" */

    static const char  shape[] = "ddmddaddda";

    for (k = 0; k < 10; k++) {
        c = p[6 + k];

        switch (shape[k]) {

        case 'd':
            if (!ngx_pii_digit(c) && !(c >= 'P' && c <= 'V')
                && c != 'L' && c != 'M' && c != 'N')
            {
                return 0;
            }
            break;

        case 'm':
            if (c == 0 || strchr("ABCDEHLMPRST", c) == NULL) {
                return 0;
            }
            break;

        default: /* 'a' */
            if (!ngx_pii_upper(c)) {
                return 0;
            }
        }
    }

    return 1;
}


static int
ngx_http_llm_pii_national_gate(const u_char *t, size_t len)
{
    u_char   c;
    size_t   i, r, first, last, row;
#if (NGX_HTTP_LLM_PII_SSE2)
    int       mask;
    __m128i   v, d, u;

    const __m128i  zero = _mm_set1_epi8('0');
    const __m128i  nine = _mm_set1_epi8(9);
    const __m128i  a = _mm_set1_epi8('A');
    const __m128i  z = _mm_set1_epi8(25);
#endif

    i = 0;

    while (i < len) {

#if (NGX_HTTP_LLM_PII_SSE2)
        if (i + 16 <= len) {
            v = _mm_loadu_si128((const __m128i *) (t + i));
            d = _mm_sub_epi8(v, zero);
            u = _mm_sub_epi8(v, a);
            mask = _mm_movemask_epi8(
                       _mm_or_si128(_mm_cmpeq_epi8(_mm_min_epu8(d, nine), d),
                                    _mm_cmpeq_epi8(_mm_min_epu8(u, z), u)));
            if (mask == 0) {
                i += 16;
                continue;
            }

            i += __builtin_ctz((unsigned) mask);
        }
#endif

        c = t[i];

        if (ngx_pii_upper(c)) {
            for (r = i; r < len && ngx_pii_upper(t[r]); r++) { /* void */ }

            /* the codice fiscale: 16 characters from six capitals */

            for (first = i; first + 6 <= r && first + 16 <= len; first++) {
                if (ngx_http_llm_pii_cf_shape(t + first)) {
                    return 1;
                }
            }

            i = r;
            continue;
        }

        if (!ngx_pii_digit(c)) {
            i++;
            continue;
        }

        /* the run of "0-9 .+-" from the digit at i */

        first = i;
        last = i;
        row = 0;

        for (r = i; r < len; r++) {
            c = t[r];

            if (ngx_pii_digit(c)) {
                if (++row == 6) {
                    return 1;
                }

                last = r;
                continue;
            }

            if (c != ' ' && c != '.' && c != '+' && c != '-') {
                break;
            }

            row = 0;
        }

        if (last >= first + 7) {
            return 1;
        }

        if (r < len) {
            c = t[r];

            if (r - first >= 7
                && (c == 'k' || c == 'K' || c == 'x' || c == 'X'))
            {
                return 1;
            }

            if (t[r - 1] == '2'
                && (c == 'A' || c == 'B' || c == 'a' || c == 'b'))
            {
                return 1;
            }
        }

        i = r;
    }

    return 0;
}


/* an IBAN pattern's start with its two digits at d, see above */

static int
ngx_http_llm_pii_iban_at(const u_char *t, size_t len, size_t d)
{
    u_char  c;
    size_t  q, k;

    if (d < 2 || d + 2 + 11 > len
        || !ngx_pii_digit(t[d]) || !ngx_pii_digit(t[d + 1]))
    {
        return 0;
    }

    /* the letters before them */

    c = t[d - 1];

    if (!(ngx_pii_alpha(c) && ngx_pii_alpha(t[d - 2]))
        && !((c == ' ' || c == '.' || c == '-') && d >= 3
             && ngx_pii_alpha(t[d - 2]) && ngx_pii_alpha(t[d - 3])))
    {
        return 0;
    }

    /* 11 more */

    q = d + 2;

    for (k = 0; k < 11 && q < len; k++) {
        c = t[q];

        if (c == ' ' || c == '.' || c == '-') {
            if (++q == len) {
                break;
            }

            c = t[q];
        }

        if (!ngx_pii_alnum(c)) {
            break;
        }

        q++;
    }

    return (k == 11);
}


static int
ngx_http_llm_pii_on_report(unsigned int id, unsigned long long from,
    unsigned long long to, unsigned int flags, void *data)
{
    ngx_http_llm_pii_texts_t *tx = data;

    size_t  lo, hi, mid, last;

    if (to == 0) {
        return 0;
    }

    /* the first text whose '\n' is at or after the match's last byte */

    last = (size_t) to - 1;
    lo = 0;
    hi = tx->n;

    while (lo < hi) {
        mid = lo + (hi - lo) / 2;

        if (tx->ends[mid] < last) {
            lo = mid + 1;

        } else {
            hi = mid;
        }
    }

    if (lo < tx->n) {
        tx->hit[lo] = 1;
    }

    return 0;
}


/* the offset in the normalised text of byte x of the text, not inside a
 * normalised character */

static size_t
ngx_http_llm_pii_norm_pos(const ngx_http_llm_pii_bp_t *bp, size_t nbp,
    size_t x)
{
    size_t  lo, hi, mid;

    lo = 0;
    hi = nbp;

    while (hi - lo > 1) {
        mid = lo + (hi - lo) / 2;

        if (bp[mid].orig <= x) {
            lo = mid;

        } else {
            hi = mid;
        }
    }

    return bp[lo].norm + (x - bp[lo].orig);
}


/*
 * The normalised text of text (in m->norm, with its breakpoints after it,
 * see NGX_HTTP_LLM_PII_BP_OFF): 1, or 0 when nothing is to normalise (the
 * text is scanned as it is), -1 on an allocation error.  *pnfrom: where
 * from is in it.
 */

static int
ngx_http_llm_pii_normalise(const u_char *text, size_t len, size_t from,
    ngx_http_llm_pii_matches_t *m, size_t *pnlen, size_t *pnfrom,
    size_t *pnbp)
{
    u_char                    c, *n;
    size_t                    i, next, nlen, nfrom, size, cl, nbp;
    ngx_http_llm_pii_bp_t    *bp;

    next = ngx_http_llm_pii_norm_next(text, 0, len, &cl, &c);

    if (next == len) {
        return 0;
    }

    /*
     * The normalised text, and where its bytes come from: runs copied as
     * they are, a breakpoint after each normalised character (the next
     * byte's offset in the text).  A normalised character takes 2 bytes
     * or more: at most len / 2 + 1 breakpoints.
     */

    size = NGX_HTTP_LLM_PII_BP_OFF(len)
           + (len / 2 + 2) * sizeof(ngx_http_llm_pii_bp_t);

    if (m->norm_size < size) {
        m->norm = m->alloc(m->data, size);
        if (m->norm == NULL) {
            m->norm_size = 0;
            return -1;
        }

        m->norm_size = size;
    }

    n = m->norm;
    bp = (ngx_http_llm_pii_bp_t *) (m->norm + NGX_HTTP_LLM_PII_BP_OFF(len));
    bp[0].norm = 0;
    bp[0].orig = 0;
    nbp = 1;
    nlen = 0;
    nfrom = NGX_HTTP_LLM_PII_NONE;

    for (i = 0; /* void */; /* void */) {

        /* the run before the next character to normalise */

        if (next > i) {
            if (from >= i && from < next) {
                nfrom = nlen + (from - i);
            }

            memcpy(n + nlen, text + i, next - i);
            nlen += next - i;
            i = next;
        }

        if (i == len) {
            break;
        }

        if (i == from) {
            nfrom = nlen;
        }

        if (c) {
            n[nlen++] = c;
        }

        i += cl;

        /* the next byte comes from i */

        if (bp[nbp - 1].norm == nlen) {
            bp[nbp - 1].orig = (uint32_t) i;

        } else {
            bp[nbp].norm = (uint32_t) nlen;
            bp[nbp].orig = (uint32_t) i;
            nbp++;
        }

        if (i > from && nfrom == NGX_HTTP_LLM_PII_NONE) {
            /* from was inside a normalised character */
            nfrom = nlen;
        }

        next = ngx_http_llm_pii_norm_next(text, i, len, &cl, &c);
    }

    if (nfrom == NGX_HTTP_LLM_PII_NONE) {
        nfrom = nlen;
    }

    *pnlen = nlen;
    *pnfrom = nfrom;
    *pnbp = nbp;

    return 1;
}


/* the offset in the text of byte x of the normalised text */

static size_t
ngx_http_llm_pii_orig(const ngx_http_llm_pii_bp_t *bp, size_t nbp, size_t x)
{
    size_t  lo, hi, mid;

    /* the last breakpoint at or before x (bp[0].norm is 0) */

    lo = 0;
    hi = nbp;

    while (hi - lo > 1) {
        mid = lo + (hi - lo) / 2;

        if (bp[mid].norm <= x) {
            lo = mid;

        } else {
            hi = mid;
        }
    }

    return bp[lo].orig + (x - bp[lo].norm);
}


#if (NGX_HTTP_LLM_PII_AVX2)

static int  ngx_http_llm_pii_avx2 = -1;


/*
 * norm_next()'s search in windows of 32 bytes, from *pi while 32 are left:
 * the offset of the next character to normalise, or (size_t) -1 and *pi
 * where the rest (fewer than 32 bytes) starts
 */

__attribute__((target("avx2"))) static size_t
ngx_http_llm_pii_norm_next_avx2(const u_char *t, size_t *pi, size_t len,
    size_t *cl, u_char *c)
{
    size_t    i, end;
    uint32_t  bits;
    __m256i   v;

    for (i = *pi; len - i >= 32; i += 32) {
        v = _mm256_loadu_si256((const __m256i *) (t + i));

        if (_mm256_movemask_epi8(v) == 0) {
            continue;
        }

        bits = (uint32_t) _mm256_movemask_epi8(_mm256_or_si256(
                   _mm256_or_si256(
                       _mm256_cmpeq_epi8(v, _mm256_set1_epi8((char) 0xc2)),
                       _mm256_cmpeq_epi8(v, _mm256_set1_epi8((char) 0xe2))),
                   _mm256_or_si256(
                       _mm256_cmpeq_epi8(v, _mm256_set1_epi8((char) 0xe3)),
                       _mm256_cmpeq_epi8(v, _mm256_set1_epi8((char) 0xef)))));

        for ( /* void */ ; bits; bits &= bits - 1) {
            end = i + __builtin_ctz(bits);

            if (ngx_http_llm_pii_norm_at(t, end, len, cl, c)) {
                return end;
            }
        }
    }

    *pi = i;

    return (size_t) -1;
}

#endif


/*
 * The offset of the next character to normalise at or after i (its length
 * in *cl, its replacement in *c), or len.  Every byte offset is tried, as
 * ngx_http_llm_pii_norm_char() would be at each, but only at the lead
 * bytes of the characters (0xc2, 0xe2, 0xe3, 0xef) followed by a byte that
 * can come second in one of them; 16 bytes are looked at at once (SSE2),
 * or 8 when they are ASCII.
 */

static size_t
ngx_http_llm_pii_norm_next(const u_char *t, size_t i, size_t len,
    size_t *cl, u_char *c)
{
    size_t     end;
    uint64_t   w;
#if (NGX_HTTP_LLM_PII_SSE2)
    unsigned   bits;
    __m128i    v, lead;

    const __m128i  c2 = _mm_set1_epi8((char) 0xc2);
    const __m128i  e2 = _mm_set1_epi8((char) 0xe2);
    const __m128i  e3 = _mm_set1_epi8((char) 0xe3);
    const __m128i  ef = _mm_set1_epi8((char) 0xef);

#if (NGX_HTTP_LLM_PII_AVX2)
    if (ngx_http_llm_pii_avx2 < 0) {
        ngx_http_llm_pii_avx2 = __builtin_cpu_supports("avx2") ? 1 : 0;
    }

    if (ngx_http_llm_pii_avx2) {
        end = ngx_http_llm_pii_norm_next_avx2(t, &i, len, cl, c);

        if (end != (size_t) -1) {
            return end;
        }
    }
#endif

    while (len - i >= 16) {
        v = _mm_loadu_si128((const __m128i *) (t + i));

        if (_mm_movemask_epi8(v) == 0) {
            i += 16;
            continue;
        }

        lead = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, c2),
                                         _mm_cmpeq_epi8(v, e2)),
                            _mm_or_si128(_mm_cmpeq_epi8(v, e3),
                                         _mm_cmpeq_epi8(v, ef)));

        for (bits = (unsigned) _mm_movemask_epi8(lead);
             bits;
             bits &= bits - 1)
        {
            end = i + __builtin_ctz(bits);

            if (ngx_http_llm_pii_norm_at(t, end, len, cl, c)) {
                return end;
            }
        }

        i += 16;
    }
#endif

    for ( ;; ) {
        while (len - i >= 8) {
            memcpy(&w, t + i, 8);

            if (w & 0x8080808080808080ULL) {
                break;
            }

            i += 8;
        }

        end = (len - i > 8) ? i + 8 : len;

        for ( /* void */ ; i < end; i++) {
            if (t[i] >= 0xc2 && ngx_http_llm_pii_norm_at(t, i, len, cl, c)) {
                return i;
            }
        }

        if (i == len) {
            return len;
        }
    }
}


/* a character to normalise at t + i: its length (or 0), see norm_next() */

static size_t
ngx_http_llm_pii_norm_at(const u_char *t, size_t i, size_t len, size_t *cl,
    u_char *c)
{
    u_char  b;

    if (i + 1 >= len) {
        return 0;
    }

    b = t[i + 1];

    switch (t[i]) {

    case 0xc2:
        if (b != 0xa0 && b != 0xad) {
            return 0;
        }
        break;

    case 0xe2:
        if (b != 0x80 && b != 0x81 && b != 0x88) {
            return 0;
        }
        break;

    case 0xe3:
        if (b != 0x80) {
            return 0;
        }
        break;

    case 0xef:
        if (b != 0xbb && b != 0xbc && b != 0xbd) {
            return 0;
        }
        break;

    default:
        return 0;
    }

    *cl = ngx_http_llm_pii_norm_char(t + i, len - i, c);

    return *cl;
}


/*
 * A character to normalise at p: its length (0 if it is not one) and, in
 * *out, its ASCII replacement (0: removed).
 */

static size_t
ngx_http_llm_pii_norm_char(const u_char *p, size_t n, u_char *out)
{
    unsigned  cp;

    if (p[0] == 0xc2) {
        if (n < 2) {
            return 0;
        }

        if (p[1] == 0xa0) {
            *out = ' ';
            return 2;
        }

        if (p[1] == 0xad) {
            *out = 0;
            return 2;
        }

        return 0;
    }

    if ((p[0] != 0xe2 && p[0] != 0xe3 && p[0] != 0xef) || n < 3
        || (p[1] & 0xc0) != 0x80 || (p[2] & 0xc0) != 0x80)
    {
        return 0;
    }

    cp = ((p[0] & 0x0f) << 12) | ((p[1] & 0x3f) << 6) | (p[2] & 0x3f);

    if (cp >= 0xff01 && cp <= 0xff5e) {
        *out = (u_char) (cp - 0xff01 + 0x21);
        return 3;
    }

    switch (cp) {

    case 0x2007:
    case 0x202f:
    case 0x3000:
        *out = ' ';
        return 3;

    case 0x2010:
    case 0x2011:
    case 0x2012:
    case 0x2013:
    case 0x2212:
        *out = '-';
        return 3;

    case 0x200b:
    case 0x200c:
    case 0x200d:
    case 0x2060:
    case 0xfeff:
        *out = 0;
        return 3;
    }

    return 0;
}


static int
ngx_http_llm_pii_scan_text(const ngx_http_llm_pii_t *pii,
    hs_scratch_t *scratch, const u_char *text, size_t len, size_t from,
    ngx_http_llm_pii_matches_t *m)
{
    size_t                    i, j, b, last;
    ngx_http_llm_pii_scan_t   sc;
    ngx_http_llm_pii_match_t *e;

    m->nelts = 0;
    m->hold = NGX_HTTP_LLM_PII_NONE;

    if (len <= from) {
        return 0;
    }

    sc.pii = pii;
    sc.text = text;
    sc.len = len;
    sc.from = from;
    sc.m = m;
    sc.error = 0;
    sc.begin = 0;

    if (ngx_http_llm_pii_hs_scan(pii, scratch, text, len,
                                 ngx_http_llm_pii_on_match, &sc, m)
        != 0 || sc.error)
    {
        return -1;
    }

    /*
     * A private key block that is not closed runs to the end.  Its header
     * starts with "-----BEGIN ": without it in the text (Hyperscan says),
     * there is none.
     */

    if (sc.begin) {
        b = ngx_http_llm_pii_open_block(text, len, from);

        if (b != NGX_HTTP_LLM_PII_NONE
            && ngx_http_llm_pii_push(m, b, len, NGX_HTTP_LLM_PII_SECRET, 1)
               != 0)
        {
            return -1;
        }
    }

    if (m->nelts < 2) {
        return 0;
    }

    /*
     * Leftmost first, then longest, then by priority.  A candidate that
     * overlaps the one kept before it keeps what goes beyond it: whatever
     * a validator accepted is redacted, even when two values overlap.
     */

    e = m->elts;

    qsort(e, m->nelts, sizeof(ngx_http_llm_pii_match_t),
          ngx_http_llm_pii_cmp);

    j = 0;
    last = 0;

    for (i = 0; i < m->nelts; i++) {
        if (j > 0 && e[i].start < last) {
            if (e[i].end <= last) {
                continue;
            }

            e[i].start = last;
        }

        e[j++] = e[i];
        last = e[i].end;
    }

    m->nelts = j;

    return 0;
}


static int
ngx_http_llm_pii_on_match(unsigned int id, unsigned long long from,
    unsigned long long to, unsigned int flags, void *data)
{
    ngx_http_llm_pii_scan_t *sc = data;

    int                          rc;
    size_t                       s, e, h;
    const u_char                *t;
    ngx_http_llm_pii_pattern_t  *pat;

    if (id == sc->pii->begin) {
        sc->begin = 1;
        return 0;
    }

    pat = &sc->pii->patterns[id];
    t = sc->text;
    s = (size_t) from;
    e = (size_t) to;

    if (pat->validate) {
        rc = pat->validate(t, sc->len, &s, &e);

        if (rc == 0) {
            return 0;
        }

        if (rc == NGX_HTTP_LLM_PII_OPEN) {
            h = (pat->flags & NGX_HTTP_LLM_PII_HOLD_SOM) ? (size_t) from : s;

            if (h < sc->m->hold) {
                sc->m->hold = h;
            }
        }

    } else {
        /* custom rules: whole UTF-8 characters */

        while (s > 0 && (t[s] & 0xc0) == 0x80) {
            s--;
        }

        while (e < sc->len && (t[e] & 0xc0) == 0x80) {
            e++;
        }
    }

    if (e <= s || e <= sc->from) {
        return 0;
    }

    if (s < sc->from) {

        if (pat->flags & NGX_HTTP_LLM_PII_HELD) {
            /* refused while it was held: its look-behind is cut short */
            return 0;
        }

        /* begun in the context, released already: the rest of it */
        s = sc->from;
    }

    if (ngx_http_llm_pii_push(sc->m, s, e, pat->type, pat->prio) != 0) {
        sc->error = 1;
        return 1;
    }

    return 0;
}


static int
ngx_http_llm_pii_push(ngx_http_llm_pii_matches_t *m, size_t start,
    size_t end, unsigned type, unsigned prio)
{
    size_t                     n;
    ngx_http_llm_pii_match_t  *e;

    /* the same span again (several patterns of a type, or ends) */

    if (m->nelts) {
        e = &m->elts[m->nelts - 1];

        if (e->start == start && e->end == end && e->type == type) {
            return 0;
        }
    }

    if (m->nelts == m->nalloc) {
        n = m->nalloc ? m->nalloc * 2 : 16;

        e = m->alloc(m->data, n * sizeof(ngx_http_llm_pii_match_t));
        if (e == NULL) {
            return -1;
        }

        if (m->nelts) {
            memcpy(e, m->elts, m->nelts * sizeof(ngx_http_llm_pii_match_t));
        }

        m->elts = e;
        m->nalloc = n;
    }

    e = &m->elts[m->nelts++];

    e->start = start;
    e->end = end;
    e->type = type;
    e->prio = prio;
    e->tail = 0;
    e->comp = 0;

    return 0;
}


static int
ngx_http_llm_pii_insert(ngx_http_llm_pii_matches_t *m, size_t i,
    size_t start, size_t end, unsigned type, unsigned tail)
{
    ngx_http_llm_pii_match_t  *e, tmp;

    if (ngx_http_llm_pii_push(m, start, end, type, 0) != 0) {
        return -1;
    }

    e = m->elts;
    tmp = e[m->nelts - 1];
    tmp.tail = tail;

    memmove(&e[i + 1], &e[i], (m->nelts - 1 - i) * sizeof(*e));
    e[i] = tmp;

    return 0;
}


static int
ngx_http_llm_pii_cmp(const void *one, const void *two)
{
    const ngx_http_llm_pii_match_t  *a = one;
    const ngx_http_llm_pii_match_t  *b = two;

    if (a->start != b->start) {
        return (a->start < b->start) ? -1 : 1;
    }

    if (a->end != b->end) {
        return (a->end > b->end) ? -1 : 1;
    }

    if (a->prio != b->prio) {
        return (a->prio < b->prio) ? -1 : 1;
    }

    return (a->type < b->type) ? -1 : (a->type > b->type);
}


/* streams */

int
ngx_http_llm_pii_stream_reserve(ngx_http_llm_pii_stream_t *s, size_t n)
{
    size_t   size;
    u_char  *buf;

    if (s->size - s->len >= n) {
        return 0;
    }

    size = s->size ? s->size * 2 : 256;

    while (size - s->len < n) {
        size *= 2;
    }

    buf = s->matches.alloc(s->matches.data, size);
    if (buf == NULL) {
        return -1;
    }

    if (s->len) {
        memcpy(buf, s->buf, s->len);
    }

    s->buf = buf;
    s->size = size;

    return 0;
}


int
ngx_http_llm_pii_stream_write(ngx_http_llm_pii_stream_t *s, const u_char *p,
    size_t n)
{
    if (ngx_http_llm_pii_stream_reserve(s, n) != 0) {
        return -1;
    }

    memcpy(s->buf + s->len, p, n);
    s->len += n;

    return 0;
}


int
ngx_http_llm_pii_stream_scan(const ngx_http_llm_pii_t *pii,
    hs_scratch_t *scratch, ngx_http_llm_pii_stream_t *s, unsigned flags)
{
    size_t                       cut, from, b, i, n, keep, run, decided;
    const u_char                *f;
    ngx_http_llm_pii_match_t    *m;
    ngx_http_llm_pii_matches_t  *ms;

    ms = &s->matches;
    from = s->from;

    if (s->swallow) {

        /* the rest of a key block that was too long to hold: dropped */

        f = ngx_http_llm_pii_footer(s->buf + from, s->buf + s->len);

        if (f == NULL) {
            keep = (flags & NGX_HTTP_LLM_PII_FINAL) ? 0 : 64;
            cut = (s->len - from > keep) ? s->len - keep : from;

            ms->nelts = 0;

            if (cut > from
                && ngx_http_llm_pii_insert(ms, 0, from, cut,
                                           NGX_HTTP_LLM_PII_SECRET, 1)
                   != 0)
            {
                return -1;
            }

            s->cut = cut;
            return 0;
        }

        s->swallow = 0;
        from = f - s->buf;
        s->cred = s->base + from;           /* the block's end: a credential */
    }

    if (s->open) {

        /*
         * An open key block is held from its BEGIN line, and what was held
         * before it stays held: until the block's END line comes (or it
         * grows too long, or the stream ends), a scan of the whole held
         * text gives the same cut.  Only the new bytes are searched for
         * the END line (from where one could have begun unfinished), so
         * that a block streamed in small pieces costs linear time.
         */

        b = (s->checked > from + 96) ? s->checked - 96 : from;

        if (!(flags & NGX_HTTP_LLM_PII_FINAL)
            && s->len - s->block <= NGX_HTTP_LLM_PII_BLOCK_MAX
            && ngx_http_llm_pii_footer(s->buf + b, s->buf + s->len) == NULL)
        {
            s->checked = s->len;
            ms->nelts = 0;
            s->cut = s->from;
            return 0;
        }

        s->open = 0;
    }

    run = s->len;

    if (pii->types && !(flags & NGX_HTTP_LLM_PII_FINAL)) {
        run = ngx_http_llm_pii_run_start(s->buf, s->len, from);

        if (run <= s->from && from == s->from
            && ngx_http_llm_pii_memmem(s->buf, s->buf + s->len,
                                       NGX_HTTP_LLM_PII_BEGIN,
                                       sizeof(NGX_HTTP_LLM_PII_BEGIN) - 1)
               == NULL)
        {
            /*
             * All the text after the context is one run that may go on:
             * nothing can be released (the cut below is never after the
             * run's start, nor before s->from), whatever the scan finds.
             * Scanned when the run ends (a delta that begins a new word).
             * With a key block's header, scanned: the scan may find the
             * block open, which holds what comes after it (see above).
             */

            ms->nelts = 0;
            s->cut = s->from;
            return 0;
        }
    }

    /* the last credential released, for its companions after it */

    b = (s->cred && s->cred >= s->base) ? s->cred - s->base
                                        : NGX_HTTP_LLM_PII_NONE;

    if (ngx_http_llm_pii_scan_prior(pii, scratch, s->buf, s->len, from, b, ms)
        != 0)
    {
        return -1;
    }

    if (from > s->from
        && ngx_http_llm_pii_insert(ms, 0, s->from, from,
                                   NGX_HTTP_LLM_PII_SECRET, 1)
           != 0)
    {
        return -1;
    }

    if (flags & NGX_HTTP_LLM_PII_FINAL) {
        s->cut = s->len;
        return 0;
    }

    cut = s->len;
    m = ms->elts;
    n = ms->nelts;

    if (n && m[n - 1].type == NGX_HTTP_LLM_PII_SECRET
        && m[n - 1].end == s->len
        && m[n - 1].end - m[n - 1].start > NGX_HTTP_LLM_PII_BLOCK_MAX)
    {
        b = ngx_http_llm_pii_open_block(s->buf, s->len, from);

        if (b == m[n - 1].start) {
            /* a key block too long to hold: redacted now, the rest dropped */
            s->swallow = 1;
            s->cut = s->len;
            return 0;
        }
    }

    if (pii->types) {
        cut = run;
    }

    if (pii->window > 1) {
        b = (s->len - from > pii->window - 1) ? s->len - (pii->window - 1)
                                              : from;
        if (b < cut) {
            cut = b;
        }
    }

    if (pii->types & (1u << NGX_HTTP_LLM_PII_EMAIL)) {
        b = ngx_http_llm_pii_open_email(s->buf, s->len, from);
        if (b < cut) {
            cut = b;
        }
    }

    if (pii->types & (1u << NGX_HTTP_LLM_PII_SECRET)) {
        /* a "name: key / e-mail" line not whole yet (secctx) */
        b = ngx_http_llm_pii_ctx_pair_hold(s->buf, s->len, from);
        if (b < cut) {
            cut = b;
        }
    }

    if (flags & NGX_HTTP_LLM_PII_PLACEHOLDERS) {
        b = ngx_http_llm_pii_open_placeholder(s->buf, s->len, from);
        if (b < cut) {
            cut = b;
        }
    }

    /*
     * A match that reaches the held bytes is held whole; but not more than
     * RUN_MAX bytes of it before the held run (a URL with a password whose
     * path never ends, a JDBC URL, a long token: each delta would rescan
     * all of it).  Such a match is redacted up to the cut now; the rest is
     * released as text (the scheme and the password are gone from the
     * buffer, so the rest is no longer part of a value).  Not a key block:
     * it is held up to BLOCK_MAX above.
     */

    /* a value decided on text that may go on (NGX_HTTP_LLM_PII_OPEN) */

    if (ms->hold < cut) {
        cut = ms->hold;
    }

    decided = NGX_HTTP_LLM_PII_NONE;

    for ( ;; ) {
        for (i = n; i-- > 0; /* void */) {
            if (m[i].start < cut && m[i].end >= cut) {
                if (cut - m[i].start >= NGX_HTTP_LLM_PII_RUN_MAX
                    && cut > from
                    && memcmp(s->buf + m[i].start, NGX_HTTP_LLM_PII_BEGIN,
                              sizeof(NGX_HTTP_LLM_PII_BEGIN) - 2) != 0)
                {
                    m[i].end = cut;
                    continue;
                }

                cut = m[i].start;
            }
        }

        /* a credential's companion, while a credential may follow it */

        if (!(pii->types & (1u << NGX_HTTP_LLM_PII_SECRET))) {
            break;
        }

        if (decided == NGX_HTTP_LLM_PII_NONE) {
            decided = cut;
        }

        b = ngx_http_llm_pii_comp_hold(s->buf, s->len, from, decided);

        if (b >= cut) {
            break;
        }

        cut = b;
    }

    /* never in the middle of a UTF-8 character */

    while (cut > from && cut < s->len && (s->buf[cut] & 0xc0) == 0x80) {
        cut--;
    }

    s->cut = (cut < s->from) ? s->from : cut;

    /* the last credential released: its companions may come after it */

    for (i = 0; i < n; i++) {
        if (ngx_pii_cred(&m[i]) && m[i].end <= s->cut) {
            s->cred = s->base + m[i].end;
        }
    }

    /* the text ends in an open key block, held whole: see above */

    if (n && m[n - 1].type == NGX_HTTP_LLM_PII_SECRET
        && m[n - 1].end == s->len && m[n - 1].start >= s->cut
        && (pii->types & (1u << NGX_HTTP_LLM_PII_SECRET)))
    {
        b = ngx_http_llm_pii_open_block(s->buf, s->len, from);

        if (b == m[n - 1].start) {
            s->open = 1;
            s->block = b;
            s->checked = s->len;
        }
    }

    return 0;
}


void
ngx_http_llm_pii_stream_consume(ngx_http_llm_pii_stream_t *s)
{
    size_t  keep, drop;

    keep = (s->cut > NGX_HTTP_LLM_PII_CONTEXT) ? NGX_HTTP_LLM_PII_CONTEXT
                                               : s->cut;
    drop = s->cut - keep;

    if (drop) {
        memmove(s->buf, s->buf + drop, s->len - drop);
        s->len -= drop;
        s->base += drop;

        if (s->open) {
            s->block -= drop;
            s->checked -= drop;
        }
    }

    s->from = keep;
    s->cut = keep;
    s->matches.nelts = 0;
}


/*
 * Companions of a credential (issue 17): the id, the user, the account,
 * the client, the organisation, the tenant, the host or the endpoint named
 * next to a credential the engine found.  What a detector such as
 * trufflehog reports with a key (and verifies it against): the key alone
 * is worth less without them, and with them a reader knows whose key it is
 * and where it works.  Taken only next to a credential, never alone: an
 * "id: 42" or a "host = db.internal" with no credential near is left as it
 * is.
 *
 * A companion is a value after a name whose last word is one of
 * NGX_HTTP_LLM_PII_COMP_WORDS ("ID=", "org_id: ", "host = ", "appId",
 * "\"client_id\": \"", "account ID = '", "spotify id - '"), or the last word of a
 * Jenkins-style element "<id>{adobe ftd7hkeafk0q}</id>"; the value is
 * made of letters, digits and "._%+@:/~-", 4 to COMP_MAX characters, with a
 * digit or one of ".@:/" (an identifier, an address, a URL: not a word).
 * It is taken when a credential (a secret the engine found, not another
 * companion) ends at most COMP_GAP bytes before the value (the nearest one
 * before it, before the name), or starts at most COMP_GAP bytes after it,
 * with at most two line breaks and no blank line between them (the same
 * block of lines).
 *
 * Streams: the name is at most 48 bytes before the value and the
 * credential before a companion ends at most COMP_GAP (64) bytes before
 * it, so both are within the context a stream keeps; the credential's
 * start may be gone, so the stream remembers where the last credential it
 * released ends (stream->cred).  A credential after a companion comes
 * later: a stream holds every companion (taken or not) from its start
 * until the text up to COMP_GAP bytes after its end can be released
 * (ngx_http_llm_pii_comp_hold()): at most COMP_GAP bytes more than the
 * value itself.
 */

#define NGX_HTTP_LLM_PII_COMP_BACK  48      /* the name before the value */

#define ngx_pii_comp_ch(c)  (ngx_pii_alnum(c) || (c) == '.' || (c) == '_'     \
                             || (c) == '%' || (c) == '+' || (c) == '@'        \
                             || (c) == ':' || (c) == '/' || (c) == '~'        \
                             || (c) == '-')

/* the last word of a companion's name, lower case, longest first */
static const char  *ngx_http_llm_pii_comp_words[] = {
    "organization", "organisation", "subdomain", "accountid", "workspace",
    "projectid", "username", "hostname", "clientid", "tenantid", "endpoint",
    "instance", "account", "project", "userid", "client",
    "domain", "server", "tenant", "appid", "email", "login", "orgid",
    "acct", "host", "mail", "user", "app", "org", "uri", "url", "id",
    NULL
};


/*
 * The ids of things that are not the owner of a key ("model_id",
 * "request_id", "threadId"): the word before "id" that says so.
 */
static const char  *ngx_http_llm_pii_comp_other[] = {
    "completion", "transaction", "version", "session", "request", "message",
    "invoice", "product", "record", "object", "thread", "commit", "parent",
    "region", "model", "trace", "build", "image", "order", "event", "batch",
    "chat", "span", "file", "item", "node", "zone", "task", "msg", "req",
    "run", "job", "row",
    NULL
};


/* "id" after a word of ngx_http_llm_pii_comp_other (ends at qe) */

static int
ngx_http_llm_pii_comp_other_id(const u_char *t, size_t qe, size_t lo)
{
    size_t       qb, i, w;
    const char  *s;

    if (qe > lo && (t[qe - 1] == '_' || t[qe - 1] == '-' || t[qe - 1] == '.'
                    || t[qe - 1] == ' '))
    {
        qe--;
    }

    qb = qe;

    while (qb > lo && ngx_pii_alpha(t[qb - 1]) && qe - qb < 16) {
        qb--;
    }

    for (i = 0; ngx_http_llm_pii_comp_other[i]; i++) {
        s = ngx_http_llm_pii_comp_other[i];
        w = strlen(s);

        if (w == qe - qb && ngx_http_llm_pii_casecmp(t + qb, s, w)) {
            return 1;
        }
    }

    return 0;
}


/* the last word of a name that ends at ke: 1 when it names a companion */

static int
ngx_http_llm_pii_comp_word(const u_char *t, size_t ke, size_t lo)
{
    size_t       kb, n, w;
    const char  *s;
    size_t       i;

    kb = ke;

    while (kb > lo && ngx_pii_alpha(t[kb - 1]) && ke - kb < 24) {
        kb--;
    }

    if (kb == ke) {
        return 0;
    }

    n = ke - kb;

    for (i = 0; ngx_http_llm_pii_comp_words[i]; i++) {
        s = ngx_http_llm_pii_comp_words[i];
        w = strlen(s);

        if (w > n || !ngx_http_llm_pii_casecmp(t + ke - w, s, w)) {
            continue;
        }

        /* a word of its own: "ORG_ID", "account ID", "appId", "ClientID" */

        if (w == n) {
            if (kb > 0 && ngx_pii_digit(t[kb - 1])) {
                return 0;
            }

        } else if (!(ngx_pii_upper(t[ke - w]) && ngx_pii_lower(t[ke - w - 1])))
        {
            continue;
        }

        return !(w == 2 && ngx_http_llm_pii_comp_other_id(t, ke - w, lo));
    }

    return 0;
}


/* where the name of a companion whose value starts at vs starts, or NONE */

static size_t
ngx_http_llm_pii_comp_key(const u_char *t, size_t vs, int brace)
{
    int     quoted, words;
    size_t  p, lo, sp;

    lo = (vs > NGX_HTTP_LLM_PII_COMP_BACK) ? vs - NGX_HTTP_LLM_PII_COMP_BACK
                                          : 0;
    p = vs;

    /* a name, an operator, the value: "ID=", "host = '", "id - '" */

    quoted = 0;

    if (p > lo && (t[p - 1] == '"' || t[p - 1] == '\'')) {
        p--;
        quoted = 1;
    }

    for (sp = 0; p > lo && (t[p - 1] == ' ' || t[p - 1] == '\t') && sp < 4;
         sp++)
    {
        p--;
    }

    if (p > lo + 1 && t[p - 1] == '>' && t[p - 2] == '=') {
        p -= 2;                                 /* "=>" */

    } else if (p > lo && t[p - 1] == '=') {
        p--;

        if (p > lo && t[p - 1] == ':') {        /* ":=" */
            p--;
        }

    } else if (p > lo && t[p - 1] == ':') {
        p--;

    } else if (p > lo + 1 && t[p - 1] == '-' && t[p - 2] == ' ' && quoted
               && sp)
    {
        p--;                                    /* "token - 'value'" */

    } else {
        goto element;
    }

    for (sp = 0; p > lo && (t[p - 1] == ' ' || t[p - 1] == '\t') && sp < 4;
         sp++)
    {
        p--;
    }

    if (p > lo && (t[p - 1] == '"' || t[p - 1] == '\'')) {
        p--;
    }

    if (ngx_http_llm_pii_comp_word(t, p, lo)) {
        while (p > lo && ngx_pii_alpha(t[p - 1])) {
            p--;
        }

        return p;
    }

element:

    /* "<id>value", "<id>{value", "<id>{adobe value", "<id>{anypoint org v" */

    p = vs;

    if (p > lo && t[p - 1] == ' ') {
        if (!brace) {
            return NGX_HTTP_LLM_PII_NONE;       /* no "{" before the words */
        }

        for (words = 0; words < 3; words++) {
            if (p <= lo || t[p - 1] != ' ') {
                return NGX_HTTP_LLM_PII_NONE;
            }

            p--;

            sp = p;

            while (p > lo && ngx_pii_alpha(t[p - 1]) && sp - p < 24) {
                p--;
            }

            if (p == sp || p <= lo) {
                return NGX_HTTP_LLM_PII_NONE;
            }

            if (t[p - 1] == '{') {
                break;
            }
        }
    }

    if (p > lo && t[p - 1] == '{') {
        p--;

    } else if (p != vs) {
        return NGX_HTTP_LLM_PII_NONE;           /* words only inside "{" */
    }

    if (p <= lo || t[p - 1] != '>') {
        return NGX_HTTP_LLM_PII_NONE;
    }

    p--;

    if (!ngx_http_llm_pii_comp_word(t, p, lo)) {
        return NGX_HTTP_LLM_PII_NONE;
    }

    while (p > lo && ngx_pii_alpha(t[p - 1])) {
        p--;
    }

    if (p <= lo || t[p - 1] != '<') {
        return NGX_HTTP_LLM_PII_NONE;
    }

    return p - 1;
}


/* the end of a companion's value that starts at vs, or NONE */

static size_t
ngx_http_llm_pii_comp_value(const u_char *t, size_t len, size_t vs)
{
    int     mark;
    size_t  i, j, e;

    mark = 0;

    for (i = vs; i < len && ngx_pii_comp_ch(t[i]); i++) {
        if (i - vs > NGX_HTTP_LLM_PII_COMP_MAX) {
            return NGX_HTTP_LLM_PII_NONE;
        }
    }

    e = i;

    /* base64's padding ends a value: "YWRtaW4=" whole, not "[SECRET]=" */

    for (j = i; j < len && j - i < 2 && t[j] == '='; j++) {
        /* void */
    }

    if (j > i && (j == len || (!ngx_pii_comp_ch(t[j]) && t[j] != '='))) {
        e = j;

    } else {
        while (e > vs && (t[e - 1] == '.' || t[e - 1] == ':'
                          || t[e - 1] == '-' || t[e - 1] == '/'))
        {
            e--;
        }
    }

    if (e - vs < 4 || e - vs > NGX_HTTP_LLM_PII_COMP_MAX) {
        return NGX_HTTP_LLM_PII_NONE;
    }

    for (i = vs; i < e; i++) {
        if (ngx_pii_digit(t[i]) || t[i] == '.' || t[i] == '@' || t[i] == ':'
            || t[i] == '/')
        {
            mark = 1;
            break;
        }
    }

    return mark ? e : NGX_HTTP_LLM_PII_NONE;
}


/*
 * How far after an operator a companion's value may start (see
 * comp_key()): "=", ":", "-", ">" then spaces and a quote, 6 bytes; "{"
 * then the words of "<id>{adobe value", COMP_BACK.  0: no operator.
 */

static const u_char  ngx_http_llm_pii_comp_op[256] = {
    ['='] = 6, [':'] = 6, ['-'] = 6, ['>'] = 6,
    ['{'] = NGX_HTTP_LLM_PII_COMP_BACK
};


/*
 * The next companion (a name and a value after it) whose value starts in
 * [i, end): the value's end, *ks and *vs; or NONE.  Only the bytes within
 * the reach of an operator are looked at: the others are skipped a byte
 * and a table look-up each.
 */

static size_t
ngx_http_llm_pii_comp_next(const u_char *t, size_t len, size_t i, size_t end,
    size_t *ks, size_t *vs)
{
    u_char         c;
    size_t         k, e, br, reach, r;
    const u_char  *p;

    if (end > len) {
        end = len;
    }

    if (i == 0) {
        i = 1;
    }

    if (i >= end) {
        return NGX_HTTP_LLM_PII_NONE;
    }

    /* the operators before i-1 whose reach may go to i or beyond */

    br = NGX_HTTP_LLM_PII_NONE;
    reach = 0;

    k = (i > NGX_HTTP_LLM_PII_COMP_BACK + 1)
        ? i - 1 - NGX_HTTP_LLM_PII_COMP_BACK : 0;

    while (k < i - 1) {
        p = memchr(t + k, '{', i - 1 - k);

        if (p == NULL) {
            break;
        }

        br = p - t;
        reach = br + NGX_HTTP_LLM_PII_COMP_BACK;
        k = br + 1;
    }

    for (k = (i > 7) ? i - 7 : 0; k < i - 1; k++) {
        r = ngx_http_llm_pii_comp_op[t[k]];

        if (k + r > reach) {
            reach = k + r;
        }
    }

    for (/* void */; i < end; i++) {

        c = t[i - 1];
        r = ngx_http_llm_pii_comp_op[c];

        if (r) {
            if (i - 1 + r > reach) {
                reach = i - 1 + r;
            }

            if (c == '{') {
                br = i - 1;
            }

        } else if (i > reach) {

            /* on to the byte after the next operator */

#if (NGX_HTTP_LLM_PII_SSE2)
            while (i + 16 <= end) {
                __m128i  v, m;

                v = _mm_loadu_si128((const __m128i *) (t + i));
                m = _mm_or_si128(
                        _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('=')),
                                     _mm_cmpeq_epi8(v, _mm_set1_epi8(':'))),
                        _mm_or_si128(
                            _mm_or_si128(
                                _mm_cmpeq_epi8(v, _mm_set1_epi8('-')),
                                _mm_cmpeq_epi8(v, _mm_set1_epi8('>'))),
                            _mm_cmpeq_epi8(v, _mm_set1_epi8('{'))));

                if (_mm_movemask_epi8(m)) {
                    break;
                }

                i += 16;
            }
#endif

            while (i < end && ngx_http_llm_pii_comp_op[t[i]] == 0) {
                i++;
            }

            continue;
        }

        /* what may come right before a value: see comp_key() */

        switch (c) {
        case ' ': case '\t': case '"': case '\'': case '=': case '{': case '>':
            break;
        default:
            continue;
        }

        if (!ngx_pii_alnum(t[i])) {
            continue;
        }

        k = ngx_http_llm_pii_comp_key(t, i,
                                      br != NGX_HTTP_LLM_PII_NONE
                                      && i - br <= NGX_HTTP_LLM_PII_COMP_BACK);

        if (k == NGX_HTTP_LLM_PII_NONE) {
            continue;
        }

        e = ngx_http_llm_pii_comp_value(t, len, i);

        if (e == NGX_HTTP_LLM_PII_NONE) {
            continue;
        }

        *ks = k;
        *vs = i;

        return e;
    }

    return NGX_HTTP_LLM_PII_NONE;
}


/* the text between a credential and its companion: one block of lines */

static int
ngx_http_llm_pii_comp_gap(const u_char *t, size_t a, size_t b)
{
    size_t  i, nl, last;

    nl = 0;
    last = NGX_HTTP_LLM_PII_NONE;

    for (i = a; i < b; i++) {
        if (t[i] == '\n') {
            if (++nl > 2 || last != NGX_HTTP_LLM_PII_NONE) {
                return 0;
            }

            last = i;

        } else if (t[i] != ' ' && t[i] != '\t' && t[i] != '\r') {
            last = NGX_HTTP_LLM_PII_NONE;
        }
    }

    return 1;
}


/* a companion [vs, ve) named at ks: next to a credential of e[0, n)? */

static int
ngx_http_llm_pii_comp_take(const u_char *t, ngx_http_llm_pii_match_t *e,
    size_t n, size_t prior, size_t ks, size_t vs, size_t ve)
{
    size_t  lo, hi, j, c;

    /* the first match that ends after vs */

    lo = 0;
    hi = n;

    while (lo < hi) {
        j = lo + (hi - lo) / 2;

        if (e[j].end <= vs) {
            lo = j + 1;

        } else {
            hi = j;
        }
    }

    /*
     * nothing found in the value: a value another detector took (an
     * address, an IP address) keeps its type, it is redacted either way
     */

    /*
     * sechost: but an address under an account's name next to a
     * credential is its companion ("X-Auth-Email: ...", "sms_email: ...")
     */

    if (lo < n && e[lo].start < ve
        && !(e[lo].type == NGX_HTTP_LLM_PII_EMAIL && e[lo].start >= vs
             && e[lo].end <= ve && (lo + 1 == n || e[lo + 1].start >= ve)
             && ngx_http_llm_pii_sh_account(t, ks)))
    {
        return 0;
    }

    /* the nearest credential before it (or the stream's, before from) */

    c = prior;

    for (j = lo; j-- > 0; /* void */) {
        if (e[j].end + NGX_HTTP_LLM_PII_COMP_GAP < vs) {
            c = NGX_HTTP_LLM_PII_NONE;
            break;
        }

        if (ngx_pii_cred(&e[j])) {
            c = e[j].end;
            break;
        }
    }

    if (c != NGX_HTTP_LLM_PII_NONE && c <= ks
        && vs - c <= NGX_HTTP_LLM_PII_COMP_GAP
        && ngx_http_llm_pii_comp_gap(t, c, ks))
    {
        return 1;
    }

    /* the nearest credential after it */

    for (j = lo; j < n; j++) {
        if (e[j].start < ve) {
            continue;
        }

        if (e[j].start - ve > NGX_HTTP_LLM_PII_COMP_GAP) {
            break;
        }

        if (ngx_pii_cred(&e[j])) {
            return ngx_http_llm_pii_comp_gap(t, ve, e[j].start);
        }
    }

    return 0;
}


/*
 * After a scan: the companions of the credentials of m (and of the one
 * that ends at prior, released by a stream before from), as secrets.
 */

static int
ngx_http_llm_pii_comp(const ngx_http_llm_pii_t *pii, const u_char *text,
    size_t len, size_t from, size_t prior, ngx_http_llm_pii_matches_t *m)
{
    size_t                     i, n, k, lo, hi, done, ks, vs, ve, j, last;
    ngx_http_llm_pii_match_t  *e;

    if (!(pii->types & (1u << NGX_HTTP_LLM_PII_SECRET))) {
        return 0;
    }

    n = m->nelts;
    done = from;

    for (k = 0; k <= 2 * n; k++) {

        /* the ranges where a companion of a credential may start */

        if (k == 0) {
            if (prior == NGX_HTTP_LLM_PII_NONE) {
                continue;
            }

            lo = prior;
            hi = prior + NGX_HTTP_LLM_PII_COMP_GAP + 1;

        } else {
            e = &m->elts[(k - 1) / 2];

            if (!ngx_pii_cred(e)) {
                continue;
            }

            if (k % 2) {
                lo = (e->start > NGX_HTTP_LLM_PII_COMP_GAP
                                 + NGX_HTTP_LLM_PII_COMP_MAX)
                     ? e->start - NGX_HTTP_LLM_PII_COMP_GAP
                       - NGX_HTTP_LLM_PII_COMP_MAX
                     : 0;
                hi = e->start;

            } else {
                lo = e->end;
                hi = e->end + NGX_HTTP_LLM_PII_COMP_GAP + 1;
            }
        }

        if (lo < done) {
            lo = done;
        }

        while (lo < hi) {
            ve = ngx_http_llm_pii_comp_next(text, len, lo, hi, &ks, &vs);

            if (ve == NGX_HTTP_LLM_PII_NONE) {
                break;
            }

            lo = vs + 1;

            if (ngx_http_llm_pii_comp_take(text, m->elts, n, prior, ks, vs,
                                           ve))
            {
                if (ngx_http_llm_pii_push(m, vs, ve, NGX_HTTP_LLM_PII_SECRET,
                                          0)
                    != 0)
                {
                    return -1;
                }

                m->elts[m->nelts - 1].comp = 1;
            }
        }

        if (hi > done) {
            done = hi;
        }
    }

    /* sechost: the unnamed ones (hosts, URLs, addresses) */

    if (ngx_http_llm_pii_sh_comp(text, len, from, prior, m, n) != 0) {
        return -1;
    }

    if (m->nelts == n) {
        return 0;
    }

    /* in order; a match inside a companion goes (an address, a host) */

    e = m->elts;

    qsort(e, m->nelts, sizeof(ngx_http_llm_pii_match_t),
          ngx_http_llm_pii_cmp);

    j = 0;
    last = 0;

    for (i = 0; i < m->nelts; i++) {
        if (j > 0 && e[i].start < last) {
            if (e[i].end <= last) {
                continue;
            }

            e[i].start = last;
        }

        e[j++] = e[i];
        last = e[i].end;
    }

    m->nelts = j;

    return 0;
}


/*
 * A stream releases [from, cut): a companion (taken or not) whose value
 * starts before cut is held from its start while a credential could still
 * come within COMP_GAP bytes after it (cut <= its end + COMP_GAP).  The
 * new cut, or cut.
 */

static size_t
ngx_http_llm_pii_comp_hold(const u_char *t, size_t len, size_t from,
    size_t cut)
{
    size_t  lo, ks, vs, ve, min, u;

    /* sechost: a URL before a credential that may come */

    u = ngx_http_llm_pii_sh_hold(t, len, from, cut);

    /*
     * Only a value that ends at or after cut - COMP_GAP matters: from the
     * start of the run of value characters there (a value is one run of
     * them, at most COMP_MAX long)
     */

    lo = (cut > from + NGX_HTTP_LLM_PII_COMP_GAP)
         ? cut - NGX_HTTP_LLM_PII_COMP_GAP : from;
    min = (lo > from + NGX_HTTP_LLM_PII_COMP_MAX)
          ? lo - NGX_HTTP_LLM_PII_COMP_MAX : from;

    while (lo > min && ngx_pii_comp_ch(t[lo - 1])) {
        lo--;
    }

    while (lo < cut) {
        ve = ngx_http_llm_pii_comp_next(t, len, lo, cut, &ks, &vs);

        if (ve == NGX_HTTP_LLM_PII_NONE) {
            break;
        }

        if (cut <= ve + NGX_HTTP_LLM_PII_COMP_GAP) {
            return (vs < u) ? vs : u;
        }

        lo = vs + 1;
    }

    return u;
}


/*
 * Where the trailing run of "value" characters starts: letters, digits,
 * "._%+-@:()/=~", and single spaces between digit or capital groups (cards,
 * phones, IBANs, key headers).
 */

static size_t
ngx_http_llm_pii_run_start(const u_char *t, size_t len, size_t from)
{
    u_char  c, l, r;
    size_t  i, k, min;

    min = (len - from > NGX_HTTP_LLM_PII_RUN_MAX)
          ? len - NGX_HTTP_LLM_PII_RUN_MAX : from;

    for (i = len; i > min; i--) {
        c = t[i - 1];
        k = i - 1;

        if (c >= 0x80) {
            /* a character that normalises to one of these, or nothing */

            while (k > min && (t[k] & 0xc0) == 0x80 && i - k < 3) {
                k--;
            }

            if (i == len && t[k] >= 0xc2
                && i - k < (size_t) ((t[k] >= 0xf0) ? 4
                                     : (t[k] >= 0xe0) ? 3 : 2))
            {
                /* an unfinished character: it may be one of them */
                i = k + 1;
                continue;
            }

            if (ngx_http_llm_pii_norm_char(t + k, len - k, &c) != i - k) {

                /* a short word in another script: held */

                k = ngx_http_llm_pii_word_start(t, i);

                if (k == NGX_HTTP_LLM_PII_NONE || k >= i) {
                    /* too long, or a punctuation character */
                    break;
                }

                i = k + 1;
                continue;
            }

            if (c == 0) {
                i = k + 1;
                continue;
            }
        }

        if (ngx_pii_alnum(c) || c == '.' || c == '_' || c == '%' || c == '+'
            || c == '-' || c == '@' || c == ':' || c == '(' || c == ')'
            || c == '/' || c == '=' || c == '~' || ngx_pii_atext_sp(c))
        {
            i = k + 1;
            continue;
        }

        if (c != ' ' || k < 1) {
            break;
        }

        l = t[k - 1];

        if (l >= 0x80 && k >= 3
            && ngx_http_llm_pii_norm_char(t + k - 3, 3, &c) != 3)
        {
            c = l;
        }

        if (l >= 0x80) {
            l = c;
        }

        /* lower case only next to a digit: "gb82 west 1234", "3704 p044" */

        if (!(ngx_pii_digit(l) || ngx_pii_upper(l) || l == ')'
              || ngx_pii_lower(l)))
        {
            break;
        }

        if (i < len) {
            r = t[i];

            if (r >= 0x80) {
                if (ngx_http_llm_pii_norm_char(t + i, len - i, &c)) {
                    r = c;

                } else if (r >= 0xc2 && len - i < 3) {
                    r = '0';            /* unfinished: may be a digit */
                }
            }

            if (!(ngx_pii_digit(r) || ngx_pii_upper(r) || r == '('
                  || r == '+' || r == '-'
                  || (ngx_pii_lower(r) && ngx_pii_digit(l))))
            {
                break;
            }

            if (ngx_pii_lower(l) && !ngx_pii_digit(r)) {
                break;
            }

        } else if (ngx_pii_lower(l) && !ngx_http_llm_pii_code_word(t, k)) {
            /* "Hi " at the end is prose, "gb82 west " may go on */
            break;
        }

        i = k + 1;
    }

    return i;
}


/*
 * The start of the word that ends at i (letters of any script, ASCII
 * letters and digits, "_-+"), if it is shorter than WORD_MAX; else NONE.
 * The word may begin in the released context: the context
 * (64 bytes) is as long as the longest word held, so the validators see
 * the same word in a stream as in the whole text.
 */

static size_t
ngx_http_llm_pii_word_start(const u_char *t, size_t i)
{
    u_char  c;
    size_t  k;

    for (k = i; k > 0; k--) {
        c = t[k - 1];

        if (i - k >= NGX_HTTP_LLM_PII_WORD_MAX) {
            return NGX_HTTP_LLM_PII_NONE;
        }

        if (c < 0x80) {
            if (ngx_pii_alnum(c) || c == '_' || c == '-' || c == '+') {
                continue;
            }

            return k;
        }

        if ((c & 0xc0) == 0xc0
            && ngx_http_llm_pii_upunct(t + k - 1, i - k + 1))
        {
            /* after a punctuation character */
            while (k < i && (t[k] & 0xc0) == 0x80) {
                k++;
            }

            return k;
        }
    }

    return 0;
}


/*
 * The word that ends at k has a digit, or follows a word that ends with one
 * ("gb82 west"): a group of a code in lower case.
 */

static int
ngx_http_llm_pii_code_word(const u_char *t, size_t k)
{
    size_t  w;

    for (w = k; w > 0 && ngx_pii_alnum(t[w - 1]); w--) {
        if (ngx_pii_digit(t[w - 1])) {
            return 1;
        }
    }

    return (w >= 2 && t[w - 1] == ' ' && ngx_pii_digit(t[w - 2]));
}


/*
 * An e-mail address being written that the run of value characters does
 * not hold whole: a quoted local part (it has spaces, '"' is not a value
 * character: '"a b', '"a b"', '"a b"@exam') and a domain literal
 * ("me@[192.0.2.", "me@[IPv6:::1]").  Where to hold from, or len.
 */

static size_t
ngx_http_llm_pii_open_email(const u_char *t, size_t len, size_t from)
{
    size_t  lit, q;

    /*
     * both: a domain literal may be opened inside an open quoted string
     * ('"a b me@[' goes on to '"a b me@[x] ok"@example.org')
     */

    lit = ngx_http_llm_pii_open_literal(t, len, from);
    q = ngx_http_llm_pii_open_quoted(t, len, from);

    return (lit < q) ? lit : q;
}


/* a domain literal ("me@[192.0.2.", "me@[IPv6:::1]"): from its local part */

static size_t
ngx_http_llm_pii_open_literal(const u_char *t, size_t len, size_t from)
{
    int     bad;
    size_t  i, q;

    i = len;

    if (i > from && t[i - 1] == ']') {
        i--;
    }

    while (i > from && len - i < 48
           && (ngx_pii_alnum(t[i - 1]) || t[i - 1] == '.' || t[i - 1] == ':'))
    {
        i--;
    }

    if (i >= from + 2 && t[i - 1] == '[' && t[i - 2] == '@') {
        i -= 2;

        if (i > from && t[i - 1] == '"') {
            q = ngx_http_llm_pii_email_quoted(t, i, &bad);
            return (q != NGX_HTTP_LLM_PII_NONE && q >= from) ? q : i;
        }

        return ngx_http_llm_pii_run_start(t, i, from);
    }

    return len;
}


/* a quoted local part: '"a b', '"a b"', '"a b"@exam' */

static size_t
ngx_http_llm_pii_open_quoted(const u_char *t, size_t len, size_t from)
{
    int     bad;
    u_char  c;
    size_t  i, q, min;

    /* a quoted local part and the domain after it */

    for (i = len; i > from && (ngx_pii_alnum(t[i - 1]) || t[i - 1] == '.'
                               || t[i - 1] == '-' || t[i - 1] >= 0x80);
         i--)
    { /* void */ }

    if (i > from + 1 && t[i - 1] == '@' && t[i - 2] == '"') {
        q = ngx_http_llm_pii_email_quoted(t, i - 1, &bad);

        if (q != NGX_HTTP_LLM_PII_NONE && q >= from) {
            return q;
        }

        /* or an open one that has an "@" in it: '"a@' */
    }

    /* an open quoted string, or one that has just been closed */

    min = (len - from > 64) ? len - 64 : from;

    for (q = len; q-- > min; /* void */) {
        if (t[q] != '"' || (q > 0 && t[q - 1] == '\\')) {
            continue;
        }

        if (q == len - 1) {
            i = ngx_http_llm_pii_email_quoted(t, len, &bad);

            if (i != NGX_HTTP_LLM_PII_NONE && i >= from) {
                return i;
            }
        }

        for (i = q + 1; i < len; i++) {
            if (t[i] < 0x20 || t[i] == 0x7f) {
                return len;
            }
        }

        c = (q > 0) ? t[q - 1] : ' ';

        if (ngx_pii_atext_ord(c) || ngx_pii_atext_sp(c) || c == '"'
            || c == '\\')
        {
            return len;
        }

        return q;
    }

    return len;
}


/* an unfinished "[LABEL_N" at the end */

static size_t
ngx_http_llm_pii_open_placeholder(const u_char *t, size_t len, size_t from)
{
    u_char  c;
    size_t  i, min;

    min = (len - from > NGX_HTTP_LLM_PII_LABEL_LEN)
          ? len - NGX_HTTP_LLM_PII_LABEL_LEN : from;

    for (i = len; i > min; i--) {
        c = t[i - 1];

        if (c == '[') {
            return i - 1;
        }

        if (!(ngx_pii_upper(c) || ngx_pii_digit(c) || c == '_')) {
            break;
        }
    }

    return len;
}


/*
 * The start of the private key block whose END line has not come: the first
 * complete header after the last END line, or NONE.  The context before
 * from is searched too (a header may have begun there), the result is at
 * least from.
 */

static size_t
ngx_http_llm_pii_open_block(const u_char *t, size_t len, size_t from)
{
    const u_char  *p, *f, *h, *pf;

    p = t;
    pf = p;

    /*
     * "KEY-----BEGIN": a header may begin with the footer's dashes; the
     * block then starts where the footer ends
     */

    while ((f = ngx_http_llm_pii_footer(p, t + len))) {
        p = f - 5;
        pf = f;
    }

    h = ngx_http_llm_pii_header(p, t + len);

    if (h == NULL) {
        return NGX_HTTP_LLM_PII_NONE;
    }

    if (h < pf) {
        h = pf;
    }

    return ((size_t) (h - t) > from) ? (size_t) (h - t) : from;
}


/* the first complete "-----BEGIN ... PRIVATE KEY-----" line */

static const u_char *
ngx_http_llm_pii_header(const u_char *p, const u_char *last)
{
    const u_char  *q, *e;

    while ((q = ngx_http_llm_pii_memmem(p, last, "-----BEGIN ", 11))) {
        e = ngx_http_llm_pii_memmem(q + 11, (last - q > 80) ? q + 80 : last,
                                    "PRIVATE KEY-----", 16);

        if (e && ngx_http_llm_pii_key_words(q + 11, e)) {
            return q;
        }

        p = q + 11;
    }

    return NULL;
}


/*
 * What may come between "BEGIN " or "END " and "PRIVATE KEY": up to three
 * words, each followed by one space, (?:[A-Z0-9]{1,16} ){0,3} ("RSA ").
 */

static int
ngx_http_llm_pii_key_words(const u_char *p, const u_char *last)
{
    int  words, letters;

    words = 0;
    letters = 0;

    for ( /* void */ ; p < last; p++) {
        if (ngx_pii_upper(*p) || ngx_pii_digit(*p)) {
            if (++letters > 16) {
                return 0;
            }

            continue;
        }

        if (*p != ' ' || letters == 0 || ++words > 3) {
            return 0;
        }

        letters = 0;
    }

    return (letters == 0);
}


/* the end of the first complete "-----END ... PRIVATE KEY-----" line */

static const u_char *
ngx_http_llm_pii_footer(const u_char *p, const u_char *last)
{
    const u_char  *q, *e;

    while ((q = ngx_http_llm_pii_memmem(p, last, "-----END ", 9))) {
        e = ngx_http_llm_pii_memmem(q + 9, (last - q > 80) ? q + 80 : last,
                                    "PRIVATE KEY-----", 16);
        if (e && ngx_http_llm_pii_key_words(q + 9, e)) {
            return e + 16;
        }

        p = q + 9;
    }

    return NULL;
}


static const u_char *
ngx_http_llm_pii_memmem(const u_char *p, const u_char *last, const char *s,
    size_t n)
{
    if (last - p < (ssize_t) n) {
        return NULL;
    }

    return memmem(p, last - p, s, n);
}


/* placeholders, hashes */

size_t
ngx_http_llm_pii_placeholder(const u_char *p, size_t len,
    const u_char **label, size_t *label_len, unsigned *n)
{
    size_t    i, us;
    unsigned  v;

    if (len < 4 || p[0] != '[') {
        return 0;
    }

    us = 0;

    for (i = 1; i < len && i < NGX_HTTP_LLM_PII_LABEL_LEN; i++) {
        if (p[i] == ']') {
            break;
        }

        if (p[i] == '_') {
            us = i;

        } else if (!(ngx_pii_upper(p[i]) || ngx_pii_digit(p[i]))) {
            return 0;
        }
    }

    if (i >= len || p[i] != ']' || us < 2 || us + 1 == i || i - us > 7
        || p[us + 1] == '0')
    {
        return 0;
    }

    v = 0;

    for (i = us + 1; p[i] != ']'; i++) {
        if (!ngx_pii_digit(p[i])) {
            return 0;
        }

        v = v * 10 + (p[i] - '0');
    }

    *label = p + 1;
    *label_len = us - 1;
    *n = v;

    return i + 1;
}


/*
 * OpenSSL 3: a MAC context keyed once and re-initialized per value (HMAC()
 * fetches the algorithm on every call: 8 us a value instead of 1).
 */

struct ngx_http_llm_pii_hmac_s {
#if (OPENSSL_VERSION_NUMBER >= 0x30000000L)
    EVP_MAC_CTX                    *ctx;
#else
    u_char                         *key;
    size_t                          key_len;
#endif
};


ngx_http_llm_pii_hmac_t *
ngx_http_llm_pii_hmac_create(const u_char *key, size_t key_len)
{
    ngx_http_llm_pii_hmac_t  *h;
#if (OPENSSL_VERSION_NUMBER >= 0x30000000L)
    EVP_MAC                  *mac;
    OSSL_PARAM                params[2];
#endif

    h = calloc(1, sizeof(ngx_http_llm_pii_hmac_t));
    if (h == NULL) {
        return NULL;
    }

#if (OPENSSL_VERSION_NUMBER >= 0x30000000L)

    mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    if (mac == NULL) {
        free(h);
        return NULL;
    }

    h->ctx = EVP_MAC_CTX_new(mac);
    EVP_MAC_free(mac);

    params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
                                                 (char *) "SHA256", 0);
    params[1] = OSSL_PARAM_construct_end();

    if (h->ctx == NULL
        || EVP_MAC_init(h->ctx, key, key_len, params) != 1)
    {
        ngx_http_llm_pii_hmac_free(h);
        return NULL;
    }

#else

    h->key = malloc(key_len + 1);
    if (h->key == NULL) {
        free(h);
        return NULL;
    }

    memcpy(h->key, key, key_len);
    h->key_len = key_len;

#endif

    return h;
}


void
ngx_http_llm_pii_hmac_free(ngx_http_llm_pii_hmac_t *h)
{
    if (h == NULL) {
        return;
    }

#if (OPENSSL_VERSION_NUMBER >= 0x30000000L)
    EVP_MAC_CTX_free(h->ctx);
#else
    free(h->key);
#endif

    free(h);
}


int
ngx_http_llm_pii_hmac_tag(ngx_http_llm_pii_hmac_t *h, const u_char *value,
    size_t len, u_char *tag)
{
    u_char         md[EVP_MAX_MD_SIZE];
    unsigned int   i;
    static u_char  hex[] = "0123456789abcdef";
#if (OPENSSL_VERSION_NUMBER >= 0x30000000L)
    size_t         md_len;

    if (EVP_MAC_init(h->ctx, NULL, 0, NULL) != 1
        || EVP_MAC_update(h->ctx, value, len) != 1
        || EVP_MAC_final(h->ctx, md, &md_len, sizeof(md)) != 1)
    {
        return -1;
    }

#else
    unsigned int   md_len;

    if (HMAC(EVP_sha256(), h->key, (int) h->key_len, value, len, md,
             &md_len)
        == NULL)
    {
        return -1;
    }

#endif

    for (i = 0; i < 4; i++) {
        tag[2 * i] = hex[md[i] >> 4];
        tag[2 * i + 1] = hex[md[i] & 0xf];
    }

    return 0;
}


/* validators: 1 to keep [*start, *end), 0 to drop it */

int
ngx_http_llm_pii_luhn(const u_char *p, size_t len)
{
    size_t    i;
    unsigned  sum, d, dbl;

    sum = 0;
    dbl = 0;

    for (i = len; i-- > 0; /* void */) {
        if (!ngx_pii_digit(p[i])) {
            continue;
        }

        d = p[i] - '0';

        if (dbl) {
            d *= 2;
            if (d > 9) {
                d -= 9;
            }
        }

        sum += d;
        dbl = !dbl;
    }

    return (sum % 10 == 0);
}


/* country codes and lengths of the IBAN registry */

static const char  ngx_http_llm_pii_iban_countries[] =
    "AD24AE23AL28AT20AZ28BA20BE16BG22BH22BI27BR29BY28CH21CR22CY28CZ24DE22"
    "DJ27DK18DO28EE20EG29ES24FI18FK18FO18FR27GB22GE22GI23GL18GR27GT28HR21"
    "HU28IE22IL23IQ23IS26IT27JO30KW30KZ20LB28LC32LI21LT20LU20LV21LY25MC27"
    "MD24ME22MK19MN20MR27MT31MU30NI28NL18NO15OM23PK24PL28PS29PT25QA29RO24"
    "RS22RU33SA24SC31SD18SE24SI19SK24SM27SO23ST25SV28TL23TN24TR26UA29VA22"
    "VG24XK20YE30"
    /* IBANs of SWIFT's partial list and national registries */
    "AO25BF28BJ28CF27CG27CI28CM27CV25DZ26GA27GQ27GW25HN28IR26KM27MA28"
    "MG27ML28MZ25NE28SN28TD27TG28";


int
ngx_http_llm_pii_iban_valid(const u_char *p, size_t len)
{
    u_char       c, buf[40];
    size_t       i, n, want;
    unsigned     rem;
    const char  *cc;

    n = 0;

    for (i = 0; i < len; i++) {
        if (p[i] == ' ' || p[i] == '-' || p[i] == '.') {
            continue;
        }

        if (n == sizeof(buf) || !ngx_pii_alnum(p[i])) {
            return 0;
        }

        buf[n++] = ngx_pii_lower(p[i]) ? p[i] - 'a' + 'A' : p[i];
    }

    if (n < 15 || n > 34) {
        return 0;
    }

    want = 0;

    for (cc = ngx_http_llm_pii_iban_countries; *cc; cc += 4) {
        if (cc[0] == buf[0] && cc[1] == buf[1]) {
            want = (cc[2] - '0') * 10 + (cc[3] - '0');
            break;
        }
    }

    if (want != n) {
        return 0;
    }

    /* mod-97 of the rearranged number, letters as 10..35 */

    rem = 0;

    for (i = 0; i < n; i++) {
        c = buf[(i + 4) % n];

        if (ngx_pii_digit(c)) {
            rem = (rem * 10 + (c - '0')) % 97;

        } else {
            rem = (rem * 100 + (c - 'A' + 10)) % 97;
        }
    }

    return (rem == 1);
}


/*
 * A punctuation or symbol character at p, by its first bytes: Latin-1's
 * (U+0080..U+00BF), Greek's (U+037E ";", U+0387), general punctuation and
 * symbols (U+2000..U+2BFF), CJK punctuation (U+3000..U+303F), full-width
 * forms.
 */

static int
ngx_http_llm_pii_upunct(const u_char *p, size_t n)
{
    if (p[0] == 0xc2 || p[0] == 0xe2) {
        return 1;
    }

    if (n < 2) {
        return 0;
    }

    return ((p[0] == 0xcd && p[1] == 0xbe) || (p[0] == 0xce && p[1] == 0x87)
            || (p[0] == 0xe3 && p[1] == 0x80)
            || (p[0] == 0xef && (p[1] == 0xbc || p[1] == 0xbd)));
}


/*
 * E-mail addresses.  The pattern starts at the "@" (without SOM): the
 * validator finds the local part backwards, checks the domain (RFC 1035
 * and 5321 labels, a domain literal, a dotless top-level domain) and what
 * follows it.
 *
 * The local part is RFC 5322's dot-atom (letters, digits and
 * "!#$%&'*+-/=?^_`{|}~"), a quoted string ("a b"@x.org), or letters of
 * any script (RFC 6532).  In text, the atext characters are more often
 * delimiters than part of an address: "x=me@example.com" is a key and an
 * address, "'me@example.com'" and "**me@example.com**" are quoted.  So the
 * local part is the run of ordinary characters (letters, digits,
 * "._%+-") before the "@", and it is extended over one of the other atext
 * characters only where that character cannot be a delimiter:
 *
 *   "=" after a piece that itself follows another atext character
 *       ("user+mailbox/department=shipping@"), and not after a key name
 *       ("email=", "to=") nor a URL's "?", "&", "#" or "=";
 *   "/", "?", "&", "#" after the first piece of a word, when that piece
 *       is no URL's host or path ("user+mailbox/department", not
 *       "example.com/users/me@", "https://");
 *   the others ("o'brien", "a!b", "x*y") between two letters or digits.
 *
 * A local part made only of atext characters ("!#$%&'*+-/=?^_`{|}~@") is
 * taken whole.
 */


/* two-letter top-level domains taken without a dot ("test@io"): ccTLDs that
   are not also common words or tags ("me", "us", "in", "it", "no", ...) */

static const char  ngx_http_llm_pii_cctld[] =
    "ac ad ae af ag ai al ao aq ar au aw ax az ba bb bd bf bg bh bi bj bm "
    "bn bo br bs bt bw bz ca cc cd cf cg ch ci ck cl cm cn co cr cu cv cw "
    "cx cy cz de dj dk dm dz ec ee eg er es et eu fi fj fk fm fo fr ga gb "
    "gd ge gf gg gh gi gl gm gn gp gq gr gs gt gu gw gy hk hm hn hr ht hu "
    "ie il im io iq ir je jm jo jp ke kg kh ki km kn kp kr kw ky kz lb lc "
    "li lk lr ls lt lu lv ly mc md mg mh mk ml mm mn mp mq mr mt mu mv mw "
    "mx mz nc nf ng ni nl np nr nu nz om pe pf pg ph pk pl pm pn pr ps pt "
    "pw py qa ro rs ru rw sa sb sc sd se sg si sj sk sl sm sn sr ss sv sx "
    "sy sz tc td tf tg th tj tk tl tm tn tr tt tv tw tz ua ug uk uy uz va "
    "vc ve vg vi vn vu wf ws ye yt za zm zw";


static int
ngx_http_llm_pii_email_key(const u_char *p, size_t n)
{
    size_t  i, k;

    static const char  *keys[] = {
        "email", "e-mail", "e_mail", "mail", "to", "from", "cc", "bcc",
        "user", "username", "login", "address", "addr", "recipient",
        "sender", "reply-to", "author", "committer", "account", "contact",
        "id", "q", "u", "e", NULL
    };

    for (i = 0; keys[i]; i++) {
        k = strlen(keys[i]);

        if (n >= k && strncasecmp((const char *) p + n - k, keys[i], k) == 0
            && (n == k || !ngx_pii_alpha(p[n - k - 1])))
        {
            return 1;
        }
    }

    return 0;
}


/*
 * A quoted local part that ends with the '"' before at: where it starts,
 * NONE if there is none; *bad is set when one ends there but is glued to
 * a word before it ('test"text"@').
 */

static size_t
ngx_http_llm_pii_email_quoted(const u_char *t, size_t at, int *bad)
{
    u_char  c;
    size_t  q, i, min;

    *bad = 0;

    if (at < 3 || t[at - 1] != '"') {
        return NGX_HTTP_LLM_PII_NONE;
    }

    /*
     * the opening quote at most 63 bytes before the "@", so that the byte
     * before it, looked at, is in a stream's 64 bytes of context too (at 64
     * a stream saw the quote at the start of its context, not the "\\"
     * before it)
     */

    min = (at > 63) ? at - 63 : 0;

    for (q = at - 1; q-- > min; /* void */) {
        if (t[q] != '"' || (q > 0 && t[q - 1] == '\\')) {
            continue;
        }

        for (i = q + 1; i < at - 1; i++) {
            c = t[i];

            if (c == '\\') {
                /* a quoted pair: an ASCII character (RFC 5322) */

                if (i + 1 >= at - 1 || t[i + 1] < 0x20 || t[i + 1] >= 0x7f) {
                    break;
                }

                i++;
                continue;
            }

            if (c == '"' || c < 0x20 || c == 0x7f) {
                break;
            }
        }

        if (i != at - 1) {
            continue;
        }

        if (q + 2 == at) {
            /* "" */
            return NGX_HTTP_LLM_PII_NONE;
        }

        if (q > 0 && (ngx_pii_atext_ord(t[q - 1]) || t[q - 1] == '"'
                      || t[q - 1] == '\\' || ngx_pii_atext_sp(t[q - 1])))
        {
            *bad = 1;
            return NGX_HTTP_LLM_PII_NONE;
        }

        return q;
    }

    return NGX_HTTP_LLM_PII_NONE;
}


/*
 * A symbol that IDNA 2008 does not allow in a domain and that the
 * punctuation test does not know: Greek spacing accents (U+1FBD..U+1FFE,
 * "me@\xe1\xbf\xaf.com").
 */

static int
ngx_http_llm_pii_email_symbol(const u_char *p, size_t n)
{
    unsigned  cp;

    if (n < 3 || p[0] != 0xe1) {
        return 0;
    }

    cp = 0x1000 | ((p[1] & 0x3f) << 6) | (p[2] & 0x3f);

    return cp == 0x1fbd || (cp >= 0x1fbf && cp <= 0x1fc1)
           || (cp >= 0x1fcd && cp <= 0x1fcf) || (cp >= 0x1fdd && cp <= 0x1fdf)
           || (cp >= 0x1fed && cp <= 0x1fef) || cp == 0x1ffd || cp == 0x1ffe;
}


/* the start of a dot-atom local part that ends at at (see above) */

static size_t
ngx_http_llm_pii_email_local(const u_char *t, size_t at)
{
    u_char  c, b;
    size_t  s, k, l, i;
    int     cross;

    for (s = at; s > 0 && ngx_pii_atext_ord(t[s - 1]); s--) { /* void */ }

    if (s == at) {
        if (at == 0 || !ngx_pii_atext_sp(t[at - 1])) {
            return at;
        }

        /* only atext characters: "!#$%&'*+-/=?^_`{|}~@" */

        while (s > 0 && (ngx_pii_atext_ord(t[s - 1])
                         || ngx_pii_atext_sp(t[s - 1])))
        {
            s--;
        }

        return s;
    }

    while (s > 0 && ngx_pii_atext_sp(t[s - 1])) {
        k = s - 1;
        c = t[k];

        for (l = k; l > 0 && ngx_pii_atext_ord(t[l - 1]); l--) { /* void */ }

        if (l == k) {
            /* a delimiter: "**me@", "'me@", "==me@" */
            break;
        }

        b = (l > 0) ? t[l - 1] : ' ';

        switch (c) {

        case '=':
            cross = ngx_pii_atext_sp(b) && b != '?' && b != '&' && b != '#'
                    && b != '=' && !ngx_http_llm_pii_email_key(t + l, k - l);
            break;

        case '/':
        case '?':
        case '&':
        case '#':
            cross = !ngx_pii_atext_sp(b) && b != ':' && b != '@';

            for (i = l; cross && i < k; i++) {
                if (t[i] == '.') {
                    /* a host or a file name: "example.com/me@" */
                    cross = 0;
                }
            }

            if (c != '/' && ngx_http_llm_pii_email_key(t + l, k - l)) {
                cross = 0;
            }

            break;

        default:
            cross = ngx_pii_alnum(t[k - 1]) && ngx_pii_alnum(t[s]);
        }

        if (!cross) {
            break;
        }

        s = l;
    }

    return s;
}


static int
ngx_http_llm_pii_v_email(const u_char *t, size_t len, size_t *start,
    size_t *end)
{
    u_char         c, ip[16];
    char           lit[48];
    size_t         s, e, i, at, dot, label, n;
    int            bad, upper;
    const u_char  *tld;
    size_t         tld_len;

    static const char  *exts[] = {
        "png", "jpg", "jpeg", "gif", "svg", "webp", "bmp", "ico", "css",
        "js", "ts", "json", "html", "txt", "pdf", "md", "py", "yaml", NULL
    };

    /* compiled without SOM: back over the domain and the local part */

    e = *end;

    for (at = e; at > 0 && t[at - 1] != '@'; at--) { /* void */ }

    if (at == 0) {
        return 0;
    }

    at--;

    if (at > 0 && t[at - 1] >= 0x80) {

        /*
         * an internationalised local part ("θσερ@", "我買@"): letters of
         * any script, up to a space or punctuation
         */

        for (s = at; s > 0; s--) {
            c = t[s - 1];

            if (at - s >= NGX_HTTP_LLM_PII_WORD_MAX) {
                /* as a stream holds it back: shorter than 64 bytes */
                return 0;
            }

            if (c < 0x80) {
                if (!(ngx_pii_alnum(c) || c == '.' || c == '_' || c == '-'
                      || c == '+'))
                {
                    break;
                }

                continue;
            }

            if ((c & 0xc0) == 0x80) {
                continue;
            }

            /* a lead byte: not general or CJK punctuation, not Latin-1's */

            if (ngx_http_llm_pii_upunct(t + s - 1, at - s + 1)) {
                /* the character is not part of it */
                break;
            }
        }

        if (at - s >= NGX_HTTP_LLM_PII_WORD_MAX) {
            return 0;
        }

        while (s < at && (t[s] & 0xc0) == 0x80) {
            s++;
        }

    } else if (at > 0 && t[at - 1] == '"') {

        s = ngx_http_llm_pii_email_quoted(t, at, &bad);

        if (s == NGX_HTTP_LLM_PII_NONE) {
            return 0;
        }

        goto domain;

    } else {
        s = ngx_http_llm_pii_email_local(t, at);
    }

    /* no leading dot, no "..": the local part starts after them */

    for (i = s; i < at; i++) {
        if (t[i] == '.' && (i == s || t[i - 1] == '.')) {
            s = i + 1;
        }
    }

    if (s >= at || t[at - 1] == '.' || at - s > 64) {
        return 0;
    }

domain:

    if (t[at + 1] == '[') {

        /* a domain literal: "[192.0.2.1]", "[IPv6:2001:db8::1]" */

        n = e - at - 3;

        if (t[e - 1] != ']' || n >= sizeof(lit)) {
            return 0;
        }

        memcpy(lit, t + at + 2, n);
        lit[n] = '\0';

        if (n > 5 && strncasecmp(lit, "ipv6:", 5) == 0) {
            if (inet_pton(AF_INET6, lit + 5, ip) != 1) {
                return 0;
            }

        } else if (inet_pton(AF_INET, lit, ip) != 1) {
            return 0;
        }

        goto after;
    }

    /*
     * labels of 1..63 characters, no hyphen at either end, no "--" in the
     * third and fourth places but in "xn--" (RFC 5891); at most 253
     */

    if (e - at - 1 > 253) {
        return 0;
    }

    label = at + 1;
    dot = 0;
    upper = 0;

    for (i = at + 1; i <= e; i++) {
        if (i < e && t[i] != '.') {
            if (t[i] >= 0x80 && (ngx_http_llm_pii_upunct(t + i, e - i)
                                 || ngx_http_llm_pii_email_symbol(t + i,
                                                                  e - i)))
            {
                return 0;
            }

            upper |= ngx_pii_upper(t[i]);

            continue;
        }

        if (i == label || i - label > 63 || t[label] == '-'
            || t[i - 1] == '-')
        {
            return 0;
        }

        if (i - label >= 4 && t[label + 2] == '-' && t[label + 3] == '-'
            && strncasecmp((const char *) t + label, "xn", 2) != 0)
        {
            return 0;
        }

        dot = label;
        label = i + 1;
    }

    tld = t + dot;
    tld_len = e - dot;

    if (dot == at + 1) {

        /* a top-level domain alone: a two-letter country code */

        if (tld_len != 2 || !ngx_pii_lower(tld[0] | 0x20)
            || !ngx_pii_lower(tld[1] | 0x20))
        {
            return 0;
        }

        for (i = 0; i + 1 < sizeof(ngx_http_llm_pii_cctld); i += 3) {
            if ((tld[0] | 0x20) == ngx_http_llm_pii_cctld[i]
                && (tld[1] | 0x20) == ngx_http_llm_pii_cctld[i + 1])
            {
                break;
            }
        }

        if (i + 1 >= sizeof(ngx_http_llm_pii_cctld)) {
            return 0;
        }

    } else if (tld_len == 1 && upper) {
        /* a one-letter TLD in lower case only: not "X@W.T" (code) */
        return 0;
    }

    for (i = 0; exts[i]; i++) {
        if (strlen(exts[i]) == tld_len
            && strncasecmp(exts[i], (const char *) tld, tld_len) == 0)
        {
            return 0;
        }
    }

after:

    if (e < len) {
        c = t[e];

        if (ngx_pii_tokch(c) || c == '@' || (c & 0xc0) == 0x80) {
            return 0;
        }

        if (c == '.' && e + 1 < len && ngx_pii_alnum(t[e + 1])) {
            return 0;
        }

        /* "git@github.com:org/repo": a host and a path (scp, ssh) */

        if (c == ':' && e + 1 < len && (ngx_pii_alnum(t[e + 1])
                                        || t[e + 1] == '/'
                                        || t[e + 1] == '~'))
        {
            return 0;
        }
    }

    *start = s;

    return 1;
}


/*
 * No digit, letter or digit group right before or after; with spaces
 * between its groups, no digit group before it either ("0044 0532 0130 01"
 * in a longer number).
 */

static int
ngx_http_llm_pii_number_edges(const u_char *t, size_t len, size_t s,
    size_t e)
{
    u_char  c;

    if (s > 0) {
        c = t[s - 1];

        if (ngx_pii_word(c)) {
            return 0;
        }

        if (c == ' ' && s > 1 && ngx_pii_digit(t[s - 2])
            && memchr(t + s, ' ', e - s) != NULL)
        {
            return 0;
        }

        if ((c == '-' || c == '.' || c == '/' || c == '+' || c == ':')
            && s > 1 && ngx_pii_digit(t[s - 2]))
        {
            return 0;
        }
    }

    if (e < len) {
        c = t[e];

        if (ngx_pii_word(c)) {
            return 0;
        }

        if ((c == '-' || c == '.' || c == '/' || c == ':')
            && e + 1 < len && ngx_pii_digit(t[e + 1]))
        {
            return 0;
        }
    }

    return 1;
}


/*
 * "+CC NSN": a calling code of the numbering plans and a national number of
 * a length possible under it; a trunk prefix in parentheses, "+44 (0)20",
 * is not counted.
 */

static int
ngx_http_llm_pii_phone_lengths(const u_char *p, size_t n, size_t digits)
{
    int     plan;
    u_char  d[3];
    size_t  i, k, cc_len;

    k = 0;

    for (i = 0; i < n && k < 3; i++) {
        if (ngx_pii_digit(p[i])) {
            d[k++] = p[i];
        }
    }

    plan = ngx_http_llm_pii_phone_plan(d, k, &cc_len);

    if (plan < 0) {
        return 0;
    }

    digits -= cc_len;

    for (i = 0; i + 2 < n; i++) {
        if (p[i] == '(' && p[i + 1] == '0' && p[i + 2] == ')') {
            digits--;
            break;
        }
    }

    return (digits < 16
            && (ngx_http_llm_pii_phone_plans[plan].lengths & (1u << digits)));
}


static int
ngx_http_llm_pii_v_phone_intl(const u_char *t, size_t len, size_t *start,
    size_t *end)
{
    u_char  c, prev;
    size_t  s, e, i, digits, open, close, inside;

    s = *start;
    e = *end;

    if (s > 0 && (ngx_pii_word(t[s - 1]) || t[s - 1] == '+')) {
        return 0;
    }

    if (t[s] == '0') {
        /* "00" instead of "+": not in a longer number, not an SSN */

        if (!ngx_http_llm_pii_number_edges(t, len, s, e)
            || (e - s == 11 && !ngx_pii_digit(t[s + 3])
                && t[s + 6] == t[s + 3])
            || ngx_http_llm_pii_in_code(t, len, s, e))
        {
            return 0;
        }

        s++;
    }

    if (e < len) {
        c = t[e];

        if (ngx_pii_word(c)) {
            return 0;
        }

        if ((c == ' ' || c == '-' || c == '.') && e + 1 < len
            && ngx_pii_digit(t[e + 1]))
        {
            return 0;
        }
    }

    digits = 0;
    open = 0;
    close = 0;
    inside = 0;
    prev = '+';

    for (i = s + 1; i < e; i++) {
        c = t[i];

        if (ngx_pii_digit(c)) {
            digits++;

            if (open > close) {
                inside++;
            }

        } else if (prev == '(') {
            /* "( 515)" */
            return 0;

        } else if (c == '(') {
            if (open++ || (prev != ' ' && !ngx_pii_digit(prev))) {
                return 0;
            }

        } else if (c == ')') {
            if (close++ || open != 1 || inside == 0 || inside > 4
                || !ngx_pii_digit(prev))
            {
                return 0;
            }

        } else if (!ngx_pii_digit(prev) && prev != ')') {
            /* two separators in a row */
            return 0;
        }

        prev = c;
    }

    if (open != close || digits < 5 || digits > 17) {
        return 0;
    }

    return ngx_http_llm_pii_phone_lengths(t + s + 1, e - s - 1, digits);
}


static int
ngx_http_llm_pii_v_phone_nanp(const u_char *t, size_t len, size_t *start,
    size_t *end)
{
    size_t    s, e, i, n, seps, prefix, sep1, sep2;
    u_char    d[11];

    s = *start;
    e = *end;
    n = 0;
    seps = 0;
    prefix = 0;

    for (i = s; i < e; i++) {
        if (ngx_pii_digit(t[i])) {
            if (n == 11) {
                return 0;
            }

            d[n++] = t[i];

        } else if (t[i] == '+') {
            prefix = 1;

        } else {
            seps++;
        }
    }

    /*
     * bare ten digits are order numbers more often than phones, and so are
     * bare eleven with a leading "1" ("order 16223891923"): the country
     * code is written with a "+" or a separator ("+1 415 555 0100",
     * "1-800-555-0199"); after a phone word the context rule takes them
     */

    if (seps == 0 && !prefix) {
        return 0;
    }

    if (n == 11) {
        if (d[0] != '1') {
            return 0;
        }

        memmove(d, d + 1, 10);
    }

    /*
     * the numbering plan (NANPA's NPA and central office code assignment
     * guidelines): no N11 area code (service codes: 211, 411, 911), no N9X
     * (the middle digit 9 is held back for the plan's expansion), no 37X
     * nor 96X (reserved for unanticipated purposes).  An N11 exchange
     * stays: the guidelines keep it unassigned where N11 dialling is in
     * use, not everywhere, and libphonenumber's patterns admit it
     */

    if ((d[1] == '1' && d[2] == '1') || d[1] == '9'
        || (d[0] == '3' && d[1] == '7') || (d[0] == '9' && d[1] == '6'))
    {
        return 0;
    }

    /*
     * the groups: NPA, NXX and the line are written in three groups
     * ("415-555-0100", "415 555 0100", "(415) 555-0100", "(415)555-0100",
     * the parentheses set the area code apart) or in one ("+14155550100");
     * a separator before the line but none between the area code and the
     * exchange ("230916-0478": a yymmdd build stamp, "200612 6663") is no
     * presentation of the plan
     */

    i = e - 4;
    sep2 = ngx_pii_nsep(t[i - 1]);
    i -= 3 + sep2;
    sep1 = ngx_pii_nsep(t[i - 1]);

    if (t[i - 1] != ')' && sep1 != sep2) {
        return 0;
    }

    return ngx_http_llm_pii_number_edges(t, len, s, e)
           && !ngx_http_llm_pii_in_code(t, len, s, e);
}


static int
ngx_http_llm_pii_v_phone_national(const u_char *t, size_t len,
    size_t *start, size_t *end)
{
    u_char  sep, first, c;
    size_t  s, e, i, digits, d, m, rest;

    s = *start;
    e = *end;
    rest = s;

    if (!ngx_http_llm_pii_number_edges(t, len, s, e)
        || ngx_http_llm_pii_in_code(t, len, s, e))
    {
        return 0;
    }

    if (e < len && t[e] == ':') {
        return 0;
    }

    /*
     * the area code (with its trunk 0) may be set apart by a separator of
     * its own, "030 212-345", "(02) 212-3456", "077-123 45 67",
     * "011 15-2345-6789"; the subscriber number's groups have one
     */

    digits = 0;
    sep = 0;
    first = 0;

    for (i = s; i < e; i++) {
        c = t[i];

        if (ngx_pii_digit(c)) {
            digits++;
            continue;
        }

        if (c == '(' || c == ')') {
            continue;
        }

        if (!first) {
            first = c;
            rest = i + 1;
            continue;
        }

        if (sep && c != sep) {
            /* "05-11-2024 10": mixed separators */
            return 0;
        }

        sep = c;
    }

    if (sep == 0) {
        sep = first;

    } else if (sep != first) {

        /*
         * a separator of the area code's own: the subscriber number is in
         * the plans' groups with spaces or dashes ("030 212-345", "077-123
         * 45 67"), not a label's number before a date, a decimal, a year
         * or time range ("Nr. 05 12.03.2024", "row 07 2024-03-15", "item
         * 05 1234.5678", "Season 02 2019-2020", "bus 07 1030-1130")
         */

        if (sep == '.' || ngx_http_llm_pii_phone_dateish(t + rest, e - rest))
        {
            return 0;
        }
    }

    /* 13: Argentina's mobile numbers, "011 15-2345-6789" */

    if (digits < 9 || digits > 13) {
        return 0;
    }

    /* the shape of an SSN: "036 00 2541" */

    if (e - s == 11 && t[s + 3] == sep && t[s + 6] == sep) {
        return 0;
    }

    /* a date first: DD.MM.YYYY */

    if (e - s >= 10 && ngx_pii_digit(t[s]) && ngx_pii_digit(t[s + 1])
        && !ngx_pii_digit(t[s + 2]) && ngx_pii_digit(t[s + 3])
        && ngx_pii_digit(t[s + 4]) && !ngx_pii_digit(t[s + 5]))
    {
        d = (t[s] - '0') * 10 + (t[s + 1] - '0');
        m = (t[s + 3] - '0') * 10 + (t[s + 4] - '0');

        if (d >= 1 && d <= 31 && m >= 1 && m <= 12
            && (t[s + 6] == '1' || t[s + 6] == '2'))
        {
            return 0;
        }
    }

    return 1;
}


/*
 * "(11) 2345-6789", "612 34 56 78", "8 (812) 555-12-34": not a piece of
 * longer groups ("612 34 56 78 90"), not a year range after a number in
 * parentheses ("(12) 2019-2020"); the rest as a national number
 */

static int
ngx_http_llm_pii_v_phone_grouped(const u_char *t, size_t len,
    size_t *start, size_t *end)
{
    size_t    s, e;
    unsigned  y1, y2;

    s = *start;
    e = *end;

    if (e + 1 < len && t[e] == ' ' && ngx_pii_digit(t[e + 1])) {
        return 0;
    }

    /* "(12) 2019-2020", "(12) 2019 2020": the shortest is 13 bytes */

    if (t[s] == '(' && e - s >= 13
        && (t[e - 5] == '-' || t[e - 5] == ' '))
    {
        y1 = (t[e - 9] - '0') * 10 + (t[e - 8] - '0');
        y2 = (t[e - 4] - '0') * 10 + (t[e - 3] - '0');

        if (ngx_pii_digit(t[e - 9]) && !ngx_pii_digit(t[e - 10])
            && (y1 == 19 || y1 == 20) && (y2 == 19 || y2 == 20))
        {
            return 0;
        }
    }

    if (t[s] == '8' && (t[s + 1] == '(' || t[s + 2] == '(')) {
        /*
         * "8 (812) 555-12-34": the shape is the pattern's (Spain's
         * "812 34 56 78" is checked as a national number)
         */
        return ngx_http_llm_pii_number_edges(t, len, s, e)
               && !ngx_http_llm_pii_in_code(t, len, s, e);
    }

    return ngx_http_llm_pii_v_phone_national(t, len, start, end);
}


/* issuer prefixes and lengths of the card networks */

static int
ngx_http_llm_pii_card_iin(const u_char *d, size_t n)
{
    unsigned  two, four;

    two = (d[0] - '0') * 10 + (d[1] - '0');
    four = two * 100 + (d[2] - '0') * 10 + (d[3] - '0');

    switch (d[0]) {

    case '1':
        return (n == 15);                   /* UATP */

    case '4':
        return (n == 13 || n == 16 || n == 19);

    case '5':
        if (two >= 51 && two <= 55) {
            return (n == 16);
        }

        if (two == 50 || (two >= 56 && two <= 58)) {
            return (n >= 12);               /* Maestro */
        }

        return (n >= 16);

    case '2':
        if (four >= 2200 && four <= 2204) {
            return (n >= 16);               /* Mir */
        }

        return (four >= 2221 && four <= 2720 && n == 16);

    case '3':
        if (two == 34 || two == 37) {
            return (n == 15);
        }

        if (two == 36 || (four >= 3000 && four <= 3059)) {
            return (n == 14);
        }

        if (two == 38 || two == 39) {
            return (n >= 14 && n <= 16);
        }

        return (four >= 3528 && four <= 3589 && n >= 16);

    case '6':
        if (two == 62) {
            return (n >= 14);               /* UnionPay */
        }

        if (two == 63 || two == 67) {
            return (n >= 12);               /* Maestro */
        }

        return (n >= 16);

    case '8':
        return (four >= 8100 && four <= 8171 && n >= 16);   /* UnionPay */

    case '9':
        return (four == 9792 && n == 16);   /* Troy */

    default:
        return 0;
    }
}


/* four capitals or digits, with a digit: "1463", "DE89" */

static int
ngx_http_llm_pii_code_group(const u_char *p)
{
    int  i, digit;

    digit = 0;

    for (i = 0; i < 4; i++) {
        if (ngx_pii_digit(p[i])) {
            digit = 1;

        } else if (!ngx_pii_upper(p[i])) {
            return 0;
        }
    }

    return digit;
}


static int
ngx_http_llm_pii_v_card(const u_char *t, size_t len, size_t *start,
    size_t *end)
{
    u_char  d[19], sep;
    size_t  s, e, i, n, group, seps, fours;

    s = *start;
    e = *end;

    if (e < len) {
        if (ngx_pii_word(t[e])) {
            return 0;
        }

        if ((t[e] == '.' || t[e] == '/') && e + 1 < len
            && ngx_pii_digit(t[e + 1]))
        {
            return 0;
        }
    }

    /* from the leftmost start, then from each later group */

    for ( /* void */ ; s < e; s++) {

        if (s > *start && !(ngx_pii_digit(t[s]) && !ngx_pii_digit(t[s - 1])))
        {
            continue;
        }

        if (s > 0) {
            if (ngx_pii_word(t[s - 1])) {
                continue;
            }

            if ((t[s - 1] == '.' || t[s - 1] == '/') && s > 1
                && ngx_pii_digit(t[s - 2]))
            {
                continue;
            }

            /* a group of a longer code: "ES21 1463 6921 2729 3888 6114" */

            if ((t[s - 1] == ' ' || t[s - 1] == '-') && s > 4
                && ngx_http_llm_pii_code_group(t + s - 5))
            {
                continue;
            }
        }

        n = 0;
        sep = 0;
        seps = 0;
        group = 0;
        fours = 1;

        for (i = s; i < e; i++) {
            if (ngx_pii_digit(t[i])) {
                if (n == 19) {
                    break;
                }

                d[n++] = t[i];
                group++;
                continue;
            }

            /* separators: all the same, groups of 3 or more */

            if ((sep && t[i] != sep) || group < 3) {
                break;
            }

            if (group != 4) {
                fours = 0;
            }

            sep = t[i];
            seps++;
            group = 0;
        }

        /* a shorter last group after groups of four: "4222-2222-2222-2" */

        if (i < e || n < 12 || (seps && group < 3 && !(fours && seps >= 3)))
        {
            continue;
        }

        /* the groups go on: "4111 1111 1111 1111 111" is longer */

        if (seps && e + 1 < len && t[e] == sep && ngx_pii_digit(t[e + 1])) {
            return 0;
        }

        if (n < 13 && seps == 0 && s > 0 && t[s - 1] == '-') {
            continue;
        }

        if (ngx_http_llm_pii_in_code(t, len, s, e)) {
            continue;
        }

        if (!ngx_http_llm_pii_card_iin(d, n) || !ngx_http_llm_pii_luhn(d, n))
        {
            continue;
        }

        /*
         * thirteen digits in one run in a Maestro range (the only 13-digit
         * lengths are Visa's and Maestro's) are an EAN-13 barcode (GS1
         * prefixes 50, 560-579, ...), not a card; written in groups they
         * stay a card
         */

        if (n == 13 && seps == 0 && d[0] != '4') {
            continue;
        }

        *start = s;
        return 1;
    }

    return 0;
}


static int
ngx_http_llm_pii_v_ssn(const u_char *t, size_t len, size_t *start,
    size_t *end)
{
    size_t          s, e;
    unsigned        area, group, serial;
    const u_char   *p;

    s = *start;
    e = *end;
    p = t + s;

    if (!ngx_http_llm_pii_number_edges(t, len, s, e)) {
        return 0;
    }

    if (e < len && t[e] == p[3] && e + 1 < len && ngx_pii_digit(t[e + 1])) {
        return 0;
    }

    area = (p[0] - '0') * 100 + (p[1] - '0') * 10 + (p[2] - '0');
    group = (p[4] - '0') * 10 + (p[5] - '0');
    serial = (p[7] - '0') * 1000 + (p[8] - '0') * 100 + (p[9] - '0') * 10
             + (p[10] - '0');

    if (area == 0 || area == 666 || area >= 900 || group == 0
        || serial == 0)
    {
        return 0;
    }

    return 1;
}


static int
ngx_http_llm_pii_v_iban(const u_char *t, size_t len, size_t *start,
    size_t *end)
{
    size_t  s, e;

    s = *start;
    e = *end;

    if ((s > 0 && ngx_pii_word(t[s - 1])) || (e < len && ngx_pii_word(t[e])))
    {
        return 0;
    }

    return ngx_http_llm_pii_iban_valid(t + s, e - s);
}


static int
ngx_http_llm_pii_v_ipv4(const u_char *t, size_t len, size_t *start,
    size_t *end)
{
    u_char    c;
    size_t    s, e, i, w, digits;
    unsigned  octet;

    static const char  *words[] = {
        "v", "version", "ver", "release", "build", "firmware", NULL
    };

    s = *start;
    e = *end;

    if (s > 0) {
        c = t[s - 1];

        if (ngx_pii_word(c) || c == '.' || c == '-') {
            return 0;
        }

        /* the end of an IPv6-like group list: "7:6:5:4:3:42.42.42.42" */

        if (c == ':') {
            digits = 0;

            for (i = s; i > 0 && (ngx_pii_hex(t[i - 1]) || t[i - 1] == ':');
                 i--)
            {
                digits += (t[i - 1] == ':');
            }

            if (digits >= 2) {
                return 0;
            }
        }
    }

    if (e < len) {
        c = t[e];

        if (ngx_pii_word(c)) {
            return 0;
        }

        if ((c == '.' || c == '-') && e + 1 < len && ngx_pii_alnum(t[e + 1]))
        {
            return 0;
        }

        if (c == ':' && e + 1 < len && t[e + 1] == ':') {
            return 0;
        }
    }

    octet = 0;
    digits = 0;

    for (i = s; i <= e; i++) {
        if (i < e && ngx_pii_digit(t[i])) {
            if (digits == 1 && octet == 0) {
                /* a leading zero */
                return 0;
            }

            octet = octet * 10 + (t[i] - '0');
            digits++;
            continue;
        }

        if (octet > 255) {
            return 0;
        }

        octet = 0;
        digits = 0;
    }

    /* "version 1.2.3.4" */

    i = s;

    while (i > 0 && t[i - 1] == ' ') {
        i--;
    }

    for (w = 0; words[w]; w++) {
        digits = strlen(words[w]);

        if (i >= digits
            && strncasecmp((const char *) t + i - digits, words[w], digits)
               == 0
            && (i == digits || !ngx_pii_alpha(t[i - digits - 1])))
        {
            return 0;
        }
    }

    *end = ngx_http_llm_pii_ip_suffix(t, len, e, 32, 0);

    return 1;
}


/*
 * What follows an address and belongs to it: a zone "%eth0" (IPv6), a
 * prefix length "/24" or, for IPv4, a netmask "/255.255.255.0".
 */

static size_t
ngx_http_llm_pii_ip_suffix(const u_char *t, size_t len, size_t e,
    unsigned bits, unsigned zone)
{
    size_t    i, dots;
    unsigned  v;

    if (zone && e + 1 < len && t[e] == '%' && ngx_pii_alnum(t[e + 1])) {
        for (i = e + 1; i < len && (ngx_pii_alnum(t[i]) || t[i] == '_'
                                    || t[i] == '-' || t[i] == '.');
             i++)
        { /* void */ }

        while (t[i - 1] == '.') {
            i--;
        }

        e = i;
    }

    if (e + 1 >= len || t[e] != '/' || !ngx_pii_digit(t[e + 1])) {
        return e;
    }

    v = 0;
    dots = 0;

    for (i = e + 1; i < len && i < e + 17; i++) {
        if (ngx_pii_digit(t[i])) {
            v = v * 10 + (t[i] - '0');

            if (v > 255) {
                return e;
            }

            continue;
        }

        if (t[i] == '.' && bits == 32 && i + 1 < len
            && ngx_pii_digit(t[i + 1]))
        {
            dots++;
            v = 0;
            continue;
        }

        break;
    }

    if (i < len && (ngx_pii_word(t[i]) || t[i] == '/'
                    || (t[i] == '.' && i + 1 < len
                        && ngx_pii_alnum(t[i + 1]))))
    {
        return e;
    }

    if (dots == 0 && v > bits) {
        return e;
    }

    if (dots != 0 && dots != 3) {
        return e;
    }

    return i;
}


static int
ngx_http_llm_pii_v_ipv6(const u_char *t, size_t len, size_t *start,
    size_t *end)
{
    u_char          c, buf[48], addr[16];
    size_t          s, e, i, groups, digit;

    s = *start;
    e = *end;

    /* ":2001:db8::1" after "host": the address starts after the colon */

    if (t[s] == ':' && s + 1 < e && t[s + 1] != ':') {
        s++;
    }

    if (s > 0) {
        c = t[s - 1];

        if (ngx_pii_word(c) || c == ':' || c == '.') {
            return 0;
        }
    }

    if (e < len) {
        c = t[e];

        if (ngx_pii_word(c) || c == ':') {
            return 0;
        }

        if (c == '.' && e + 1 < len && ngx_pii_alnum(t[e + 1])) {
            return 0;
        }
    }

    if (e - s >= sizeof(buf)) {
        return 0;
    }

    groups = 0;
    digit = 0;

    for (i = s; i < e; i++) {
        if (ngx_pii_hex(t[i]) && (i == s || !ngx_pii_hex(t[i - 1]))) {
            groups++;
        }

        digit |= ngx_pii_digit(t[i]);
    }

    /*
     * one group: "::1", "fe80::"; with a digit or a reserved prefix
     * ("ff::", "fecf::"; "::add" is code); none: "::" only with a zone or
     * a prefix length ("::/0")
     */

    i = ngx_http_llm_pii_ip_suffix(t, len, e, 128, 1);

    if ((groups == 0 && i == e)
        || (groups == 1 && !digit && t[s] != 'f' && t[s] != 'F'
            && t[e - 1] != 'f' && t[e - 1] != 'F'))
    {
        return 0;
    }

    memcpy(buf, t + s, e - s);
    buf[e - s] = '\0';

    if (inet_pton(AF_INET6, (const char *) buf, addr) != 1) {
        return 0;
    }

    *start = s;
    *end = i;

    return 1;
}


/* "AKIAXXXXXXXXXXXXXXXX", "glc_1111...": six times the same character */

static int
ngx_http_llm_pii_placeholder_run(const u_char *p, size_t n)
{
    size_t  i, run;

    run = 1;

    for (i = 1; i < n; i++) {
        run = (p[i] == p[i - 1]) ? run + 1 : 1;

        if (run >= 6) {
            return 1;
        }
    }

    return 0;
}


static int
ngx_http_llm_pii_v_aws(const u_char *t, size_t len, size_t *start,
    size_t *end)
{
    if ((*start > 0 && ngx_pii_alnum(t[*start - 1]))
        || (*end < len && ngx_pii_alnum(t[*end])))
    {
        return 0;
    }

    return !ngx_http_llm_pii_placeholder_run(t + *start, *end - *start);
}


static int
ngx_http_llm_pii_v_aws_secret(const u_char *t, size_t len, size_t *start,
    size_t *end)
{
    u_char    c;
    size_t    i;
    unsigned  upper, lower, digit;

    if (*start > 0 && ngx_pii_word(t[*start - 1])) {
        return 0;
    }

    if (*end < len) {
        c = t[*end];

        if (ngx_pii_alnum(c) || c == '/' || c == '+' || c == '=') {
            return 0;
        }
    }

    upper = 0;
    lower = 0;
    digit = 0;

    for (i = *end - 40; i < *end; i++) {
        c = t[i];

        upper += ngx_pii_upper(c);
        lower += ngx_pii_lower(c);
        digit += ngx_pii_digit(c);
    }

    if (!upper || !lower || !digit) {
        return 0;
    }

    *start = *end - 40;

    return 1;
}


/* a token: whole, with digits and letters (not "sk-learn-tutorial") */

static int
ngx_http_llm_pii_v_token(const u_char *t, size_t len, size_t *start,
    size_t *end)
{
    size_t    i;
    unsigned  digit, alpha, upper, lower;

    /* not after "-" but for OpenShift's "sha256~" + 43 (base64url) */

    if ((*start > 0 && ngx_pii_tokch(t[*start - 1]))
        || (*end < len && ngx_pii_tokch(t[*end]))
        || (t[*end - 1] == '-'
            && !(*end - *start == 50 && t[*start + 6] == '~')))
    {
        return 0;
    }

    if (ngx_http_llm_pii_ctx_prefixed(t + *start, *end - *start)) {
        return 1;                      /* a distinctive prefix (secctx) */
    }

    if (*end - *start > 5 && memcmp(t + *start, "xox", 3) == 0) {
        if (!ngx_http_llm_pii_slack(t + *start, *end - *start)) {
            return 0;
        }

    } else if (ngx_http_llm_pii_placeholder_run(t + *start, *end - *start)) {
        return 0;
    }

    digit = 0;
    alpha = 0;
    upper = 0;
    lower = 0;

    for (i = *start; i < *end; i++) {
        if (ngx_pii_digit(t[i])) {
            digit++;

        } else if (ngx_pii_alpha(t[i])) {
            alpha++;
            upper += ngx_pii_upper(t[i]);
            lower += ngx_pii_lower(t[i]);
        }
    }

    /* letters only ("hf_..."): both cases, long */

    return ((digit && alpha) || (upper && lower && *end - *start >= 24));
}


static int
ngx_http_llm_pii_v_sk(const u_char *t, size_t len, size_t *start,
    size_t *end)
{
    size_t    i;
    unsigned  upper, lower;

    if (!ngx_http_llm_pii_v_token(t, len, start, end)) {
        return 0;
    }

    if (ngx_http_llm_pii_ctx_prefixed(t + *start, *end - *start)) {
        return 1;                      /* "sk-lf-<uuid>" (secctx) */
    }

    upper = 0;
    lower = 0;

    for (i = *start + 3; i < *end; i++) {
        if (ngx_pii_upper(t[i])) {
            upper++;

        } else if (ngx_pii_lower(t[i])) {
            lower++;
        }
    }

    return (upper && lower);
}


static int
ngx_http_llm_pii_v_jwt(const u_char *t, size_t len, size_t *start,
    size_t *end)
{
    u_char          c, out[192];
    size_t          i, n, bits;
    unsigned        acc, v;

    if ((*start > 0 && (ngx_pii_tokch(t[*start - 1]) || t[*start - 1] == '.'))
        || (*end < len && (ngx_pii_tokch(t[*end]) || t[*end] == '.')))
    {
        return 0;
    }

    /* the header is base64url JSON with "alg" */

    n = 0;
    acc = 0;
    bits = 0;

    for (i = *start; i < *end && t[i] != '.' && n < sizeof(out); i++) {
        c = t[i];

        if (ngx_pii_upper(c)) {
            v = c - 'A';

        } else if (ngx_pii_lower(c)) {
            v = c - 'a' + 26;

        } else if (ngx_pii_digit(c)) {
            v = c - '0' + 52;

        } else if (c == '-') {
            v = 62;

        } else {
            v = 63;
        }

        acc = (acc << 6) | v;
        bits += 6;

        if (bits >= 8) {
            bits -= 8;
            out[n++] = (u_char) (acc >> bits);
            acc &= (1u << bits) - 1;
        }
    }

    /* a JSON object with members; no signature only with "alg": "none" */

    if (n < 6 || out[0] != '{' || out[1] != '"'
        || memmem(out, n, "\":", 2) == NULL)
    {
        return 0;
    }

    if (t[*end - 1] == '.') {
        return (memmem(out, n, "none", 4) != NULL);
    }

    for (i = *end; t[i - 1] != '.'; i--) { /* void */ }

    return (*end - i >= 16
            || (*end - i == 0 && memmem(out, n, "none", 4) != NULL));
}


/*
 * Several blocks in one text: a block starts at the first header after the
 * END line before its own (the match's leftmost start is the first header
 * of the text).
 */

static int
ngx_http_llm_pii_v_pem(const u_char *t, size_t len, size_t *start,
    size_t *end)
{
    const u_char  *p, *q, *f, *footer, *h, *pf;

    footer = NULL;
    p = t + *start;

    /* this match's END line */

    while ((q = ngx_http_llm_pii_memmem(p, t + *end, "-----END ", 9))) {
        footer = q;
        p = q + 9;
    }

    if (footer == NULL) {
        return 0;
    }

    /* END lines before this one: from the text's start, context included */

    p = t;
    pf = p;

    while ((f = ngx_http_llm_pii_footer(p, footer))) {
        p = f - 5;
        pf = f;
    }

    h = ngx_http_llm_pii_header(p, footer);

    if (h == NULL) {
        return 0;
    }

    *start = ((h < pf) ? pf : h) - t;

    return 1;
}


/*
 * Inside a longer code of capitals and digits that starts like an IBAN
 * ("DE89 3704 0044 0532 0130 01" with a wrong check): the digits are the
 * IBAN's, whether it is valid or not; no other type takes them.
 */

static int
ngx_http_llm_pii_in_code(const u_char *t, size_t len, size_t s, size_t e)
{
    size_t  b, n;

    b = s;

    while (b > 0 && (ngx_pii_upper(t[b - 1]) || ngx_pii_digit(t[b - 1])
                     || (t[b - 1] == ' ' && b > 1
                         && (ngx_pii_upper(t[b - 2])
                             || ngx_pii_digit(t[b - 2])))))
    {
        /*
         * no two spaces follow each other: 70 bytes back hold 35
         * characters or more, a code longer than 34 (not to the start of
         * every long run of digit groups: "12345678901 12345678901 ...")
         */

        if (s - b >= 70) {
            return 0;
        }

        b--;
    }

    if (b == s && !ngx_pii_upper(t[s])) {
        return 0;
    }

    if (b + 4 > len || !ngx_pii_upper(t[b]) || !ngx_pii_upper(t[b + 1])
        || !ngx_pii_digit(t[b + 2]) || !ngx_pii_digit(t[b + 3]))
    {
        return 0;
    }

    if (b > 0 && ngx_pii_word(t[b - 1])) {
        return 0;
    }

    /* 15 characters or more, compact */

    n = 0;

    for (e = b; e < len && (ngx_pii_upper(t[e]) || ngx_pii_digit(t[e])
                            || (t[e] == ' ' && e + 1 < len
                                && ngx_pii_digit(t[e + 1])));
         e++)
    {
        n += (t[e] != ' ');
    }

    return (n >= 15 && n <= 34 && e > s);
}


/* the calling code at p (1 to 3 digits) in the numbering plans, or -1 */

static int
ngx_http_llm_pii_phone_plan(const u_char *d, size_t n, size_t *cc_len)
{
    size_t    i, l;
    unsigned  cc;

    cc = 0;

    for (l = 1; l <= 3 && l <= n; l++) {
        cc = cc * 10 + (d[l - 1] - '0');

        for (i = 0; i < sizeof(ngx_http_llm_pii_phone_plans)
                        / sizeof(ngx_http_llm_pii_phone_plans[0]); i++)
        {
            if (ngx_http_llm_pii_phone_plans[i].cc == cc) {
                *cc_len = l;
                return (int) i;
            }
        }
    }

    return -1;
}


/*
 * A number after a word that names a phone number: the match ends at the
 * number's last digit; the number runs back over digits and single
 * separators.  (A word after the number, as in Turkish, is not used: a
 * stream would have released the number before the word arrives.)
 */

static int
ngx_http_llm_pii_v_phone_context(const u_char *t, size_t len,
    size_t *start, size_t *end)
{
    u_char    c, sep;
    size_t    s, e, i, digits, groups, open;
    unsigned  two;

    e = *end;
    s = e;

    while (s > 0) {
        c = t[s - 1];

        if (ngx_pii_digit(c)) {
            s--;
            continue;
        }

        /* a separator after a digit or ")", a ")" after a digit */

        if ((c == ' ' || c == '-' || c == '.' || c == '/' || c == ')')
            && s > 1
            && (ngx_pii_digit(t[s - 2]) || (c != ')' && t[s - 2] == ')')))
        {
            s--;
            continue;
        }

        if (c == '(') {
            s--;
            continue;
        }

        if (c == '+') {
            s--;
        }

        break;
    }

    while (s < e && !ngx_pii_digit(t[s]) && t[s] != '(' && t[s] != '+') {
        s++;
    }

    if (s >= e || !ngx_http_llm_pii_number_edges(t, len, s, e)) {
        return 0;
    }

    /*
     * "10:30"; only characters that a stream holds back may be looked at
     * after the end ("12,50" cannot: a stream decides before "5" arrives)
     */

    if (e < len && t[e] == ':' && e + 1 < len && ngx_pii_digit(t[e + 1])) {
        return 0;
    }

    if (s > 0 && (t[s - 1] == '$' || t[s - 1] == '#' || t[s - 1] == '/'
                  || (t[s - 1] & 0x80 && s > 1 && t[s - 2] == 0xe2
                      && t[s - 1] == 0x82)))
    {
        return 0;
    }

    if (ngx_http_llm_pii_in_code(t, len, s, e)) {
        return 0;
    }

    digits = 0;
    groups = 0;
    open = 0;
    sep = 0;

    for (i = s; i < e; i++) {
        c = t[i];

        if (ngx_pii_digit(c)) {
            digits++;

            if (i == s || !ngx_pii_digit(t[i - 1])) {
                groups++;
            }

            continue;
        }

        if (c == '(') {
            open++;

        } else if (c == ')') {
            if (open == 0) {
                return 0;
            }

            open--;

        } else if (c == '.' || c == '/') {
            if (sep && sep != c) {
                return 0;
            }

            sep = c;
        }
    }

    if (open || digits < 5 || digits > 15) {
        return 0;
    }

    /* not a date, a time, a decimal or a year range */

    if (sep == '/' || (sep == '.' && groups == 3 && e - s == 10)) {
        return 0;
    }

    if (groups == 2 && e - s == 9 && t[s + 4] == '-') {
        two = (t[s] - '0') * 10 + (t[s + 1] - '0');

        if (two == 19 || two == 20) {
            return 0;
        }
    }

    if (groups == 2 && sep == '.' && digits <= 8) {
        return 0;
    }

    *start = s;
    *end = e;

    return 1;
}


/*
 * The digit groups of p[0..n): at most 8, their offsets and lengths; the
 * number of groups, or 0 when there are more
 */

static size_t
ngx_http_llm_pii_phone_groups(const u_char *p, size_t n, size_t *off,
    size_t *glen)
{
    size_t  i, k;

    k = 0;

    for (i = 0; i < n; i++) {
        if (!ngx_pii_digit(p[i])) {
            continue;
        }

        if (i == 0 || !ngx_pii_digit(p[i - 1])) {
            if (k == 8) {
                return 0;
            }

            off[k] = i;
            glen[k++] = 0;
        }

        glen[k - 1]++;
    }

    return k;
}


static unsigned
ngx_http_llm_pii_phone_num(const u_char *p, size_t n)
{
    unsigned  v;

    for (v = 0; n; n--) {
        v = v * 10 + (*p++ - '0');
    }

    return v;
}


/*
 * p[0..n) is a date, a year range or a time range, not a phone number:
 * "12.03.2024", "03-15-2024", "2024-03-15", "2024.03.15", "12 03 2024"
 * (one separator twice), "2019-2020", "1914 1918" (19xx and 20xx),
 * "0800-1700", "1030-1130" (HHMM-HHMM, the end after the start)
 */

static int
ngx_http_llm_pii_phone_dateish(const u_char *p, size_t n)
{
    u_char    s1, s2;
    size_t    k, off[8], glen[8];
    unsigned  a, b, y;

    k = ngx_http_llm_pii_phone_groups(p, n, off, glen);

    if (k == 3 && off[0] == 0 && off[2] + glen[2] == n
        && off[1] == off[0] + glen[0] + 1 && off[2] == off[1] + glen[1] + 1)
    {
        s1 = p[off[1] - 1];
        s2 = p[off[2] - 1];

        if (s1 != s2 || (s1 != '-' && s1 != '.' && s1 != ' ' && s1 != '/'))
        {
            return 0;
        }

        if (glen[0] == 4 && glen[1] == 2 && glen[2] == 2) {
            y = ngx_http_llm_pii_phone_num(p, 2);
            a = ngx_http_llm_pii_phone_num(p + off[1], 2);
            b = ngx_http_llm_pii_phone_num(p + off[2], 2);

            return (y == 19 || y == 20) && a >= 1 && a <= 12
                   && b >= 1 && b <= 31;
        }

        if (glen[0] == 2 && glen[1] == 2 && glen[2] == 4) {
            a = ngx_http_llm_pii_phone_num(p, 2);
            b = ngx_http_llm_pii_phone_num(p + off[1], 2);
            y = ngx_http_llm_pii_phone_num(p + off[2], 2);

            return (y == 19 || y == 20) && a >= 1 && a <= 31
                   && b >= 1 && b <= 31 && (a <= 12 || b <= 12);
        }

        return 0;
    }

    if (k == 2 && n == 9 && glen[0] == 4 && glen[1] == 4) {
        a = ngx_http_llm_pii_phone_num(p, 4);
        b = ngx_http_llm_pii_phone_num(p + 5, 4);

        if ((a / 100 == 19 || a / 100 == 20)
            && (b / 100 == 19 || b / 100 == 20))
        {
            return 1;
        }

        return p[4] == '-' && a < b && a / 100 <= 24 && a % 100 <= 59
               && b / 100 <= 24 && b % 100 <= 59;
    }

    return 0;
}


/*
 * A number after "my number" or "reach ... on/at" (no phone word): as
 * after a phone word, and not an IPv4 address ("reachable at
 * 192.168.1.10"), a date or a time range ("on 2024-05-12", "at
 * 0800-1700"), a quantity ("at 12 000 000", "at 4 294 967 295"), nor
 * numbers that start with 1-9 and have a one-digit group after the first
 * ("my number: 42 17 9 33 8"; "06 1 234 5678", "+33 6 12 ..." and "8
 * (71234) 5 67 89" stay)
 */

static int
ngx_http_llm_pii_v_phone_idiom(const u_char *t, size_t len,
    size_t *start, size_t *end)
{
    u_char          c;
    size_t          s, n, k, i, off[8], glen[8];
    unsigned        zeros, threes;
    const u_char   *p;

    if (!ngx_http_llm_pii_v_phone_context(t, len, start, end)) {
        return 0;
    }

    s = *start;
    p = t + s;
    n = *end - s;

    k = ngx_http_llm_pii_phone_groups(p, n, off, glen);

    if (k == 0 || ngx_http_llm_pii_phone_dateish(p, n)) {
        return 0;
    }

    if (!(p[0] >= '1' && p[0] <= '9') || memchr(p, '(', n) != NULL) {
        /* a trunk 0, "+", an area code in parentheses: "8 (71234) 5 67 89" */
        return 1;
    }

    /* IPv4: four groups of 1-3 digits, each below 256, dots between */

    if (k == 4) {
        for (i = 0; i < 4; i++) {
            if (glen[i] > 3 || (i && p[off[i] - 1] != '.')
                || ngx_http_llm_pii_phone_num(p + off[i], glen[i]) > 255)
            {
                break;
            }
        }

        if (i == 4) {
            return 0;
        }
    }

    zeros = 1;
    threes = 1;

    for (i = 1; i < k; i++) {
        if (glen[i] == 1) {
            return 0;
        }

        c = p[off[i] - 1];

        if (glen[i] != 3 || off[i] != off[i - 1] + glen[i - 1] + 1
            || (c != ' ' && c != ',' && c != '.'))
        {
            threes = 0;
        }

        if (glen[i] != 3 || p[off[i]] != '0' || p[off[i] + 1] != '0'
            || p[off[i] + 2] != '0')
        {
            zeros = 0;
        }
    }

    /* thousands: "100 000", "12 000 000", "4 294 967 295" */

    if (k > 1 && threes && glen[0] <= 3
        && (zeros || (glen[0] == 1 && k >= 4)))
    {
        return 0;
    }

    return 1;
}


/* "SSN 078051120": nine digits, a valid structure, the word before */

static int
ngx_http_llm_pii_v_ssn_bare(const u_char *t, size_t len, size_t *start,
    size_t *end)
{
    size_t          s, e, b, i, w, n;
    unsigned        area, group, serial;
    const u_char   *p;

    static const char  *words[] = {
        "ssn", "social security", "seguro social", "securite sociale",
        "s\xc3\xa9" "curit\xc3\xa9 sociale", "taxpayer", "itin", NULL
    };

    s = *start;
    e = *end;
    p = t + s;

    if ((s > 0 && (ngx_pii_word(t[s - 1]) || t[s - 1] == '.'
                   || t[s - 1] == '-' || t[s - 1] == '+'))
        || (e < len && (ngx_pii_word(t[e])
                        || ((t[e] == '.' || t[e] == '-')
                            && e + 1 < len && ngx_pii_digit(t[e + 1])))))
    {
        return 0;
    }

    area = (p[0] - '0') * 100 + (p[1] - '0') * 10 + (p[2] - '0');
    group = (p[3] - '0') * 10 + (p[4] - '0');
    serial = (p[5] - '0') * 1000 + (p[6] - '0') * 100 + (p[7] - '0') * 10
             + (p[8] - '0');

    if (area == 0 || area == 666 || area >= 900 || group == 0
        || serial == 0)
    {
        return 0;
    }

    /* a word within 48 bytes before */

    b = (s > 48) ? s - 48 : 0;

    for (i = b; i < s; i++) {
        for (w = 0; words[w]; w++) {
            n = strlen(words[w]);

            if (i + n <= s
                && strncasecmp((const char *) t + i, words[w], n) == 0
                && (i == 0 || !ngx_pii_alpha(t[i - 1]))
                && (i + n == s || !ngx_pii_alpha(t[i + n])))
            {
                return 1;
            }
        }
    }

    return 0;
}


/* a webhook or a URL with a password: whole, to the end of the token */

static int
ngx_http_llm_pii_v_url_secret(const u_char *t, size_t len, size_t *start,
    size_t *end)
{
    if (*start > 0 && ngx_pii_alnum(t[*start - 1])) {
        return 0;
    }

    if (*end < len && (ngx_pii_tokch(t[*end]) || t[*end] == '/')) {
        return 0;
    }

    return 1;
}


/*
 * "api_key = 'value'": the value only, whole, long enough and not a
 * placeholder, with letters and digits.
 */

static int
ngx_http_llm_pii_v_assigned(const u_char *t, size_t len, size_t *start,
    size_t *end)
{
    u_char         c;
    size_t         s, e, i, n, run, max_run;
    unsigned       upper, lower, digit;
    const u_char  *v;

    static const char  *fake[] = {
        "xxxx", "****", "your", "example", "placeholder", "changeme",
        "redacted", "dummy", "sample", "<", "${", "{{", "process.env",
        "os.environ", "getenv", NULL
    };

    s = *start;                        /* compiled without SOM: 0 */
    e = *end;

    if (e < len) {
        c = t[e];

        if (ngx_pii_alnum(c) || c == '_' || c == '-' || c == '/'
            || c == '+' || c == '=' || c == '.' || c == '$' || c == '{'
            || c == '(' || c == '[' || c == '<' || c == '*' || c == '%'
            || c == '@' || c == ':' || c == '#')
        {
            /* cut in the middle, or an expression, a URL */
            if (!(c == '.' && (e + 1 == len || !ngx_pii_alnum(t[e + 1])))) {
                return 0;
            }
        }
    }

    /*
     * the value: back from the end over base64 padding, then over the
     * characters values are made of (the assignment, a quote or a space
     * before it)
     */

    for (i = e; i > s && t[i - 1] == '='; i--) { /* void */ }

    for ( /* void */ ; i > s; i--) {
        c = t[i - 1];

        if (!(ngx_pii_alnum(c) || c == '_' || c == '.' || c == '+'
              || c == '/' || c == '-'))
        {
            break;
        }
    }

    v = t + i;
    n = e - i;

    while (n && v[n - 1] == '.') {
        n--;
    }

    if (n < 16) {
        return 0;
    }

    for (i = 0; fake[i]; i++) {
        if (memmem(v, n, fake[i], strlen(fake[i])) != NULL) {
            return 0;
        }
    }

    upper = 0;
    lower = 0;
    digit = 0;
    run = 0;
    max_run = 0;

    for (i = 0; i < n; i++) {
        c = v[i];

        upper += ngx_pii_upper(c);
        lower += ngx_pii_lower(c);
        digit += ngx_pii_digit(c);

        run = (i && v[i - 1] == c) ? run + 1 : 1;

        if (run > max_run) {
            max_run = run;
        }
    }

    if (!digit || !(upper || lower) || max_run > 4) {
        return 0;
    }

    /* a path or a dotted name: "com.example.app.Service", "/usr/lib/x" */

    if (memchr(v, '/', n) && !(upper && lower)) {
        return 0;
    }

    *start = v - t;
    *end = v - t + n;

    return 1;
}


/*
 * "scheme://user:password@host:port/path" (compiled without start of
 * match): back to the "://" before the "@", then over the scheme.
 */

static int
ngx_http_llm_pii_v_cred_url(const u_char *t, size_t len, size_t *start,
    size_t *end)
{
    size_t  s, at;

    /* only the end of the token, first: see ngx_http_llm_pii_v_cred_bare() */

    if (*end < len && (ngx_pii_tokch(t[*end]) || t[*end] == '/')) {
        return 0;
    }

    for (at = *end; at > 0 && t[at - 1] != '@'; at--) { /* void */ }

    if (at == 0) {
        return 0;
    }

    for (s = at - 1; s >= 3; s--) {
        if (t[s - 1] == '/' && t[s - 2] == '/' && t[s - 3] == ':') {
            break;
        }
    }

    if (s < 3) {
        return 0;
    }

    /* an empty user: "redis://:pw@host", not "cvs://:pserver:anon@host" */

    if (t[s] == ':' && memchr(t + s + 1, ':', at - 1 - (s + 1)) != NULL) {
        return 0;
    }

    s = ngx_http_llm_pii_scheme(t, s - 3);

    if (s == NGX_HTTP_LLM_PII_NONE) {
        return 0;
    }

    *start = s;

    /*
     * sechost: "...@h1:27017," at the end of the text: a MongoDB host list
     * may go on ("h2:27017,h3/?replicaSet=rs0"): held from the scheme
     * (fuzz/corpus/pii/sechost-mongodb-list-long-password: with a password
     * too long for the pattern of an unfinished URL, a stream released
     * the first host)
     */

    if (*end < len && t[*end] == ',' && len - s <= NGX_HTTP_LLM_PII_RUN_MAX) {
        for (at = *end + 1; at < len && at - *end <= 256
                            && (ngx_pii_alnum(t[at]) || t[at] == '.'
                                || t[at] == '-' || t[at] == '_'
                                || t[at] == ':');
             at++)
        {
            /* void */
        }

        if (at == len && at - *end <= 256) {
            return NGX_HTTP_LLM_PII_OPEN;
        }
    }

    return 1;
}


/*
 * The start of the scheme that ends at c (the ":" of "://"): back over
 * scheme characters, at most 25, from the first letter ("--postgres://"
 * starts at "p").  Nothing before those 25 characters is looked at: a
 * stream holds a URL with a password from there (the pattern of an
 * unfinished one), so it sees the same bytes as a whole text.
 */

static size_t
ngx_http_llm_pii_scheme(const u_char *t, size_t c)
{
    size_t  s;

    for (s = c; s > 0 && c - s < 25
                && (ngx_pii_alnum(t[s - 1]) || t[s - 1] == '+'
                    || t[s - 1] == '.' || t[s - 1] == '-'
                    || t[s - 1] == ':');
         s--)
    {
        /* void */
    }

    while (s < c && !ngx_pii_alpha(t[s])) {
        s++;
    }

    return (s < c) ? s : NGX_HTTP_LLM_PII_NONE;
}


/*
 * The context detector.  Hyperscan reports the end of a word that names a
 * credential; the value is the first token of characters values are made
 * of ("A-Za-z0-9_+/=.%-") that starts at most CONTEXT_GAP bytes after the
 * word's end, on the same line, with at most three short words in between
 * ("<secret>{airship AQAAABAAA xyz...}"), and that looks random
 * (ngx_http_llm_pii_random()).  It is not taken when:
 *
 *   - the word is part of a longer word ("keyboard", "author", "monkey";
 *     a plural "s" is fine, so is a compound name: "apiKey",
 *     "SECRET_TOKEN", "sumoKey1");
 *   - the name goes on with a part that says the value is something else
 *     ("key_id", "tokenName", "PASSWORD_FILE", "secret_hash");
 *   - the word before it is "public", "cache", "primary", ... ("public
 *     key: ...", "cache key: ...");
 *   - a word in between says so ("key fingerprint SHA256:...", "token
 *     id 9f0c...", "commit"), or starts another assignment
 *     ("password=x; session=8f3a...").
 *
 * In a stream the word may be in the released context: CONTEXT_GAP plus
 * the longest word stays within NGX_HTTP_LLM_PII_CONTEXT bytes, and every
 * character of a token is one that the stream holds back, so the token is
 * judged whole, as in a whole text.
 */

#define NGX_HTTP_LLM_PII_CONTEXT_GAP   40
#define NGX_HTTP_LLM_PII_CONTEXT_TAIL  24
#define NGX_HTTP_LLM_PII_CONTEXT_BEHIND 18    /* a separator, 16 letters and
                                                 the one before them */

#define ngx_pii_valch(c)  (ngx_pii_word(c) || (c) == '-' || (c) == '+'        \
                           || (c) == '/' || (c) == '=' || (c) == '.'          \
                           || (c) == '%')


typedef struct {
    const char                     *name;
    size_t                          len;
} ngx_http_llm_pii_word_t;

#define ngx_pii_w(s)  { s, sizeof(s) - 1 }


/* the words of the pattern above, longest first */

static const ngx_http_llm_pii_word_t  ngx_http_llm_pii_cred_words[] = {
    ngx_pii_w("authorization"), ngx_pii_w("credentials"),
    ngx_pii_w("credential"), ngx_pii_w("password"), ngx_pii_w("passwd"),
    ngx_pii_w("secret"), ngx_pii_w("bearer"), ngx_pii_w("token"),
    ngx_pii_w("auth"), ngx_pii_w("pwd"), ngx_pii_w("key"),
    { NULL, 0 }
};


/* a word (or a part of a name) that says that the value is no secret */

static const ngx_http_llm_pii_word_t  ngx_http_llm_pii_not_secret[] = {
    ngx_pii_w("id"), ngx_pii_w("ids"), ngx_pii_w("uuid"), ngx_pii_w("guid"),
    ngx_pii_w("name"), ngx_pii_w("names"), ngx_pii_w("file"),
    ngx_pii_w("filename"), ngx_pii_w("path"), ngx_pii_w("dir"),
    ngx_pii_w("url"), ngx_pii_w("uri"), ngx_pii_w("host"),
    ngx_pii_w("endpoint"), ngx_pii_w("type"), ngx_pii_w("hash"),
    ngx_pii_w("hashes"), ngx_pii_w("sha"), ngx_pii_w("sha1"),
    ngx_pii_w("sha256"), ngx_pii_w("sha384"), ngx_pii_w("sha512"),
    ngx_pii_w("md5"), ngx_pii_w("checksum"), ngx_pii_w("digest"),
    ngx_pii_w("fingerprint"), ngx_pii_w("commit"), ngx_pii_w("integrity"),
    ngx_pii_w("version"), ngx_pii_w("len"), ngx_pii_w("length"),
    ngx_pii_w("size"), ngx_pii_w("count"), ngx_pii_w("format"),
    ngx_pii_w("prefix"), ngx_pii_w("expiry"), ngx_pii_w("expires"),
    ngx_pii_w("expiration"), ngx_pii_w("date"), ngx_pii_w("time"),
    ngx_pii_w("timestamp"), ngx_pii_w("index"), ngx_pii_w("field"),
    ngx_pii_w("column"), ngx_pii_w("header"), ngx_pii_w("public"),
    ngx_pii_w("pub"), ngx_pii_w("limit"), ngx_pii_w("usage"),
    ngx_pii_w("tokens"),
    { NULL, 0 }
};


/* said before "key" or "token" */

static const ngx_http_llm_pii_word_t  ngx_http_llm_pii_not_before[] = {
    ngx_pii_w("public"), ngx_pii_w("pub"), ngx_pii_w("cache"),
    ngx_pii_w("primary"), ngx_pii_w("foreign"), ngx_pii_w("sort"),
    ngx_pii_w("partition"), ngx_pii_w("object"), ngx_pii_w("routing"),
    ngx_pii_w("max"), ngx_pii_w("total"), ngx_pii_w("input"),
    ngx_pii_w("output"), ngx_pii_w("completion"), ngx_pii_w("prompt"),
    ngx_pii_w("authenticity"), ngx_pii_w("csrf"), ngx_pii_w("xsrf"),
    { NULL, 0 }
};


/* English words that a credential word is part of */

static const ngx_http_llm_pii_word_t  ngx_http_llm_pii_not_words[] = {
    ngx_pii_w("monkey"), ngx_pii_w("donkey"), ngx_pii_w("turkey"),
    ngx_pii_w("hockey"), ngx_pii_w("jockey"), ngx_pii_w("whiskey"),
    ngx_pii_w("lackey"),
    { NULL, 0 }
};


/* p is s (lower case letters and digits) in any case */

static int
ngx_http_llm_pii_casecmp(const u_char *p, const char *s, size_t n)
{
    u_char  c;
    size_t  i;

    for (i = 0; i < n; i++) {
        c = p[i];

        if (ngx_pii_upper(c)) {
            c |= 0x20;
        }

        if (c != (u_char) s[i]) {
            return 0;
        }
    }

    return 1;
}


static int
ngx_http_llm_pii_in_list(const u_char *p, size_t n,
    const ngx_http_llm_pii_word_t *list)
{
    size_t  i;

    for (i = 0; list[i].name; i++) {
        if (list[i].len == n && ngx_http_llm_pii_casecmp(p, list[i].name, n))
        {
            return 1;
        }
    }

    return 0;
}


/*
 * A part of a name says that the value is no secret: the name is cut at
 * "_", "-", "." and where lower case turns to upper case or to digits
 * ("key_id", "tokenName", "SECRET_FILE").
 */

static int
ngx_http_llm_pii_name_negated(const u_char *p, size_t n)
{
    size_t  i, s;

    s = 0;

    for (i = 0; i <= n; i++) {
        if (i == n || !ngx_pii_alnum(p[i])
            || (i > s && ngx_pii_upper(p[i]) && ngx_pii_lower(p[i - 1]))
            || (i > s && ngx_pii_digit(p[i]) != ngx_pii_digit(p[i - 1])))
        {
            if (i - s >= 2 && i - s <= 11
                && ngx_http_llm_pii_in_list(p + s, i - s,
                                            ngx_http_llm_pii_not_secret))
            {
                return 1;
            }

            s = (i < n && ngx_pii_alnum(p[i])) ? i : i + 1;
        }
    }

    return 0;
}


/*
 * A token [v, *ve) ending at *b, found after a credential word or a
 * provider's name: "key:secret" pairs ("KUoABcy4...:ocjGep7t...") take the
 * parts after a ":" too (characters a stream holds back).  0: too long, or
 * "user:password@host" (a URL's, not this detector's).
 */

static int
ngx_http_llm_pii_pair_end(const u_char *t, size_t len, size_t v, size_t *b,
    size_t *ve)
{
    size_t  p;

    while (*ve == *b && *b + 1 < len && t[*b] == ':'
           && ngx_pii_alnum(t[*b + 1]))
    {
        for (p = *b + 1; p < len && ngx_pii_valch(t[p]); p++) {
            if (p - v >= NGX_HTTP_LLM_PII_RUN_MAX) {
                return 0;
            }
        }

        *b = p;

        for (*ve = p; *ve > v && t[*ve - 1] == '.'; (*ve)--) { /* void */ }
    }

    return !(*b < len && t[*b] == '@');
}


static int
ngx_http_llm_pii_v_context(const u_char *t, size_t len, size_t *start,
    size_t *end)
{
    u_char   c;
    size_t   e, w, i, k, l, a, b, v, ve, p, limit, skipped, wl, min;
    int      hdr, open, late, tiny;

    /* the character after the word, and a plural "s" */

    e = *end - 1;
    min = 16;
    wl = 0;

    if (e > 4 && (t[e - 1] == 's' || t[e - 1] == 'S')
        && (t[e - 2] | 0x20) != 's')
    {
        e--;
    }

    c = t[e - 1] | 0x20;

    for (i = 0; ngx_http_llm_pii_cred_words[i].name; i++) {
        wl = ngx_http_llm_pii_cred_words[i].len;

        if (wl <= e && ngx_http_llm_pii_cred_words[i].name[wl - 1] == c
            && ngx_http_llm_pii_casecmp(t + e - wl,
                                        ngx_http_llm_pii_cred_words[i].name,
                                        wl))
        {
            break;
        }
    }

    if (ngx_http_llm_pii_cred_words[i].name == NULL) {
        return 0;
    }

    w = e - wl;

    if (e < len && (t[e] == 's' || t[e] == 'S')) {
        e++;                                   /* a plural */
    }

    /* a run of value characters long enough to look at, on this line */

    limit = e + NGX_HTTP_LLM_PII_CONTEXT_GAP;

    for (p = e, a = e; p < len; p++) {
        c = t[p];

        if (ngx_pii_valch(c)) {
            if (p + 1 - a >= 8) {
                break;
            }

            continue;
        }

        if (c == '\n' || c == '\r' || p >= limit) {
            return 0;
        }

        a = p + 1;
    }

    open = 0;
    late = 0;

    if (p == len) {
        /*
         * a run at the end of the text: it may go on in a stream.  The
         * answer is open (NGX_HTTP_LLM_PII_OPEN): the text after may end
         * the line or the look without such a run, or give a run that
         * began at the limit its 8 characters.  Every token taken below is
         * such a run, but a quoted value (quoted_any()) need not be: found,
         * the whole text takes it (refuses it after a run begun at the
         * limit, "late"), a stream holds it until the run or the limit has
         * come.
         */
        open = 1;
        late = (a >= limit);
    }

    /* "monkey": the whole word of letters */

    for (a = w; a > 0 && ngx_pii_alpha(t[a - 1]); a--) { /* void */ }

    if (a < w && ngx_pii_lower(t[w])
        && ngx_http_llm_pii_in_list(t + a, e - a, ngx_http_llm_pii_not_words))
    {
        return 0;
    }

    /* "public key", "publicKey", "cache_key", "max_tokens" */

    p = w;

    if (p > 0 && (t[p - 1] == ' ' || t[p - 1] == '_' || t[p - 1] == '-'
                  || t[p - 1] == '.'))
    {
        p--;
    }

    for (k = p; k > 0 && ngx_pii_alpha(t[k - 1]) && p - k < 16; k--) {
        /* void */
    }

    for (i = 0; k < p && ngx_http_llm_pii_not_before[i].name; i++) {
        l = ngx_http_llm_pii_not_before[i].len;

        if (l <= p - k
            && ngx_http_llm_pii_casecmp(t + p - l,
                                        ngx_http_llm_pii_not_before[i].name,
                                        l)
            && (p - l == k
                || (ngx_pii_lower(t[p - l - 1]) && ngx_pii_upper(t[p - l]))))
        {
            return 0;
        }
    }

    /* the rest of the name: "_KEY", "1", "_secret", not "_id" */

    for (p = e; p < len && ngx_pii_word(t[p]); p++) {
        if (p - e >= NGX_HTTP_LLM_PII_CONTEXT_TAIL) {
            return 0;
        }
    }

    if (p > e && ngx_http_llm_pii_name_negated(t + e, p - e)) {
        return 0;
    }

    /* "X-Api-Key: ...", "Api-Token: ...": an HTTP header, shorter */

    hdr = (p < len && t[p] == ':'
           && ngx_http_llm_pii_header_name(t, len, w, p));

    if (hdr) {
        min = 8;
    }

    skipped = 0;

    for ( ;; ) {

        /* to the next token, on this line */

        while (p < len && p < limit && !ngx_pii_valch(t[p])) {
            if (t[p] == '\n' || t[p] == '\r') {
                return 0;
            }

            p++;
        }

        if (p >= len || p >= limit) {
            return 0;
        }

        /*
         * a run longer than a stream holds (RUN_MAX) is no value: a stream
         * releases it in pieces, and ngx_http_llm_pii_random() takes at
         * most 1000 characters; not looked at to its end, as each credential
         * word in "key=key=key=..." would look at the same run again
         */

        /*
         * "=value": the value from its first letter or digit; "name=value"
         * after it: another assignment, in the same pass
         */

        v = NGX_HTTP_LLM_PII_NONE;

        for (a = p; p < len && ngx_pii_valch(t[p]); p++) {
            if (p - a >= NGX_HTTP_LLM_PII_RUN_MAX) {
                return 0;
            }

            if (v == NGX_HTTP_LLM_PII_NONE) {
                if (ngx_pii_alnum(t[p])) {
                    v = p;
                }

            } else if (t[p] == '=' && p + 1 < len && ngx_pii_alnum(t[p + 1])
                       && !ngx_http_llm_pii_b64_part(t + v, p - v))
            {
                return 0;
            }
        }

        b = p;

        if (v == NGX_HTTP_LLM_PII_NONE) {
            v = b;
        }

        if (v == b) {
            continue;                          /* "=", " - ", "://" */
        }

        /*
         * a quoted value with characters the run above stops at
         * ("secret_key" => "sk_ubb4yN3m#P7r5&@*xC$utE"), whole: see
         * ngx_http_llm_pii_quoted_any()
         */

        if (skipped == 0 && v == a && b < len && v > 0
            && (t[v - 1] == '"' || t[v - 1] == '\'') && t[b] != t[v - 1]
            && v < limit
            && v - w <= NGX_HTTP_LLM_PII_CONTEXT
                        - NGX_HTTP_LLM_PII_CONTEXT_BEHIND)
        {
            ve = ngx_http_llm_pii_quoted_any(t, len, v);

            if (ve) {
                *start = v;
                *end = late ? v : ve;

                return open ? NGX_HTTP_LLM_PII_OPEN : 1;
            }
        }

        for (ve = b; ve > v && t[ve - 1] == '.'; ve--) { /* void */ }

        /* a header's short value: right after its name (header_name()) */

        if (hdr && v - e > 4) {
            hdr = 0;
            min = 16;
        }

        /*
         * a quoted token ("token = '3ff77bb6fe6885'"): 12 characters are
         * enough, the quotes say where it ends
         */

        if (min == 16 && ve - v >= 12 && ve == b && v > 0 && b < len
            && (t[v - 1] == '\'' || t[v - 1] == '"') && t[b] == t[v - 1])
        {
            min = 12;
        }

        /* a short quoted token (secctx): ngx_http_llm_pii_ctx_short() */

        tiny = (skipped == 0 && ngx_http_llm_pii_ctx_short(t, len, v, ve, b));

        if (ve - v >= min || tiny) {
            c = (b < len) ? t[b] : '\0';

            /*
             * the look-behind ("public", "authenticity_" before the word)
             * reads up to BEHIND bytes before the word: with the token, it
             * must fit in a stream's context, or a stream, whose context
             * starts at v - CONTEXT, would judge a word cut short
             */

            if (c == '@' || v >= limit
                || v - w > NGX_HTTP_LLM_PII_CONTEXT
                           - NGX_HTTP_LLM_PII_CONTEXT_BEHIND)
            {
                return 0;
            }

            if (!tiny && !ngx_http_llm_pii_random(t + v, ve - v, min)
                && !(skipped == 0
                     && ngx_http_llm_pii_quoted_token(t, len, v, ve)))
            {
                return 0;
            }

            if (!ngx_http_llm_pii_pair_end(t, len, v, &b, &ve)) {
                return 0;
            }

            if (late) {
                return 0;                      /* as before: refused */
            }

            *start = v;
            *end = ve;

            return 1;
        }

        /* a short word between: "{airship AQAAABAAA ...}", "token - '" */

        if (++skipped > 3 || ngx_http_llm_pii_name_negated(t + v, ve - v)) {
            return 0;
        }

        if (b < len && t[b] == ':') {
            return 0;                          /* "token x: ...": another */
        }

        if (hdr) {
            hdr = 0;                           /* not right after the name */
            min = 16;
        }

        /* "Authorization: Basic YnJvd3Nlcjo=": an HTTP scheme, shorter */

        if (wl == 13 && ve - v >= 5
            && (strncasecmp((const char *) t + v, "basic", ve - v) == 0
                || strncasecmp((const char *) t + v, "bearer", ve - v) == 0))
        {
            min = 8;
        }
    }
}


/* s (lower case) in p, in any case */

static int
ngx_http_llm_pii_memcasemem(const u_char *p, size_t n, const char *s)
{
    u_char  c0, c;
    size_t  i, k;

    k = strlen(s);
    c0 = (u_char) s[0];

    for (i = 0; i + k <= n; i++) {
        c = p[i];

        if (ngx_pii_upper(c)) {
            c |= 0x20;
        }

        if (c == c0 && strncasecmp((const char *) p + i, s, k) == 0) {
            return 1;
        }
    }

    return 0;
}


/*
 * A placeholder word in a token: "xxxx", "your", "example", "placeholder",
 * "changeme", "redacted", "dummy", "sample", "<", "${", "{{"; one pass.
 */

static int
ngx_http_llm_pii_fake(const u_char *v, size_t n)
{
    u_char       c;
    size_t       i, k;
    const char  *w;

    for (i = 0; i < n; i++) {
        c = v[i];

        if (ngx_pii_upper(c)) {
            c |= 0x20;
        }

        switch (c) {

        case 'x':
            w = "xxxx";
            break;

        case 'y':
            w = "your";
            break;

        case 'e':
            w = "example";
            break;

        case 'p':
            w = "placeholder";
            break;

        case 'c':
            w = "changeme";
            break;

        case 'r':
            w = "redacted";
            break;

        case 'd':
            w = "dummy";
            break;

        case 's':
            w = "sample";
            break;

        case '<':
            return 1;

        case '$':
            w = "${";
            break;

        case '{':
            w = "{{";
            break;

        default:
            continue;
        }

        k = strlen(w);

        if (n - i >= k && ngx_http_llm_pii_casecmp(v + i, w, k)) {
            return 1;
        }
    }

    return 0;
}


/* "8-4-4-4-12" hexadecimal digits */

static int
ngx_http_llm_pii_uuid(const u_char *v, size_t n)
{
    size_t  i;

    if (n != 36) {
        return 0;
    }

    for (i = 0; i < 36; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (v[i] != '-') {
                return 0;
            }

        } else if (!ngx_pii_hex(v[i])) {
            return 0;
        }
    }

    return 1;
}


/* hexadecimal digits and dashes only */

static int
ngx_http_llm_pii_hex(const u_char *v, size_t n)
{
    size_t  i;

    for (i = 0; i < n; i++) {
        if (!ngx_pii_hex(v[i]) && v[i] != '-') {
            return 0;
        }
    }

    return 1;
}


/* n * log2(n) * 1000, for the entropy of up to 64 characters */

static const unsigned  ngx_http_llm_pii_nlogn[] = {
    0, 0, 2000, 4755, 8000, 11610, 15510, 19651,
    24000, 28529, 33219, 38054, 43020, 48106, 53303, 58603,
    64000, 69487, 75059, 80711, 86439, 92239, 98107, 104042,
    110039, 116096, 122211, 128382, 134606, 140881, 147207, 153580,
    160000, 166465, 172974, 179525, 186117, 192750, 199421, 206131,
    212877, 219660, 226477, 233329, 240215, 247133, 254084, 261066,
    268078, 275121, 282193, 289294, 296423, 303580, 310764, 317975,
    325212, 332475, 339763, 347076, 354413, 361775, 369160, 376569,
    384000
};


/*
 * The Shannon entropy of v[0 .. n-1] (n <= 64) times n, in thousandths of
 * a bit: n log2 n minus the sum of c log2 c over the characters' counts.
 */

static unsigned
ngx_http_llm_pii_entropy(const u_char *v, size_t n)
{
    u_char    counts[256];
    size_t    i;
    unsigned  h;

    memset(counts, 0, sizeof(counts));

    for (i = 0; i < n; i++) {
        counts[v[i]]++;
    }

    h = ngx_http_llm_pii_nlogn[n];

    for (i = 0; i < n; i++) {
        if (counts[v[i]]) {
            h -= ngx_http_llm_pii_nlogn[counts[v[i]]];
            counts[v[i]] = 0;
        }
    }

    return h;
}


/*
 * A token that looks random rather than like a word, a name, a number, a
 * path or a placeholder:
 *
 *   - 16 to 1000 characters (a stream holds a run of up to 1024), no run
 *     of five times the same character, no
 *     placeholder word ("your_", "example", "xxxx", "changeme", ...);
 *   - Shannon entropy of at least 3 bits per character (of the first 64);
 *   - letters and digits, the character class changing often (at least
 *     once in five characters: "zoaw0c0m50m0hz2h1fm21y4t", not
 *     "release-2024-01-15"), and, when there are few digits, letters
 *     that are not words (when the class changes less than once in 2.5
 *     characters, fewer than 30 % vowels: "generateKeyPair2" is a name);
 *     or a UUID; or, without digits, both cases changing at
 *     least every 2.5 characters and few vowels ("hfCnuVcYOgiRjlDEmAoRbN");
 *   - with a "/", both cases and digits (not a path).
 */

static int
ngx_http_llm_pii_random(const u_char *v, size_t n, size_t min)
{
    u_char    c, cls, prev;
    size_t    i, m, run, max_run, alnum, tr, digit, upper, lower, vowel;
    unsigned  h;

    if (n < min || n > 1000) {
        return 0;
    }

    for (m = n; m > 0 && v[m - 1] == '='; m--) { /* void */ }

    if (m < min) {
        return 0;
    }

    /*
     * entropy of the first 64 characters, in thousandths of a bit; first,
     * as it costs the same for a long token ("key/key/key/...": each word
     * in the run looks at the rest of it)
     */

    n = (m < 64) ? m : 64;

    h = ngx_http_llm_pii_entropy(v, n);

    if (h < ((min < 16) ? 2500 : 3000) * n) {
        return 0;
    }

    if (ngx_http_llm_pii_fake(v, m)) {
        return 0;
    }

    alnum = 0;
    tr = 0;
    digit = 0;
    upper = 0;
    lower = 0;
    vowel = 0;
    run = 0;
    max_run = 0;
    prev = 0;

    for (i = 0; i < m; i++) {
        c = v[i];

        run = (i && v[i - 1] == c) ? run + 1 : 1;

        if (run > max_run) {
            max_run = run;
        }

        if (ngx_pii_digit(c)) {
            cls = 1;
            digit++;

        } else if (ngx_pii_upper(c)) {
            cls = 2;
            upper++;

        } else if (ngx_pii_lower(c)) {
            cls = 3;
            lower++;

        } else {
            continue;
        }

        c |= 0x20;
        vowel += (c == 'a' || c == 'e' || c == 'i' || c == 'o' || c == 'u');

        tr += (prev && prev != cls);
        prev = cls;
        alnum++;
    }

    if (max_run > 4 || alnum < min) {
        return 0;
    }

    if (ngx_http_llm_pii_uuid(v, m)) {
        return 1;
    }

    if (memchr(v, '/', m) && !(upper && lower && digit)) {
        return 0;
    }

    if (digit == 0) {
        return (upper && lower && m >= 20 && tr * 5 >= alnum * 2
                && vowel * 10 < (upper + lower) * 3);
    }

    if (upper + lower == 0 || tr * 5 < alnum) {
        return 0;
    }

    /* few digits and letters that read like words: a name */

    if (!ngx_http_llm_pii_hex(v, m) && upper + lower >= 12 && digit * 5 < m
        && tr * 5 < alnum * 2 && vowel * 10 >= (upper + lower) * 3)
    {
        return 0;
    }

    return 1;
}


/*
 * A Slack token "xoxb-<digits>-<digits>-<random>": the digit groups may
 * repeat a digit ("xoxa-2-511111111-..."), the last part must not be a
 * placeholder ("xoxe.xoxp-1-RANDOMSTRINGHERE", "...AccessTokenHere").
 */

static int
ngx_http_llm_pii_slack(const u_char *v, size_t n)
{
    size_t  i, k;

    for (k = n; k > 0 && v[k - 1] != '-'; k--) { /* void */ }

    if (ngx_http_llm_pii_placeholder_run(v + k, n - k)) {
        return 0;
    }

    if (n - k >= 16) {
        for (i = k; i < n && !ngx_pii_digit(v[i]); i++) { /* void */ }

        if (i == n && !ngx_http_llm_pii_random(v + k, n - k, 16)) {
            return 0;
        }
    }

    return 1;
}


static int
ngx_http_llm_pii_v_azure(const u_char *t, size_t len, size_t *start,
    size_t *end)
{
    size_t  s, e;

    s = *start;
    e = *end;

    if ((s > 0 && (ngx_pii_tokch(t[s - 1]) || t[s - 1] == '~'))
        || (e < len && (ngx_pii_tokch(t[e]) || t[e] == '~' || t[e] == '.')))
    {
        return 0;
    }

    /* a full stop after it */

    if (t[e - 1] == '.' && e - s > 37) {
        e--;
    }

    *end = e;

    return !ngx_http_llm_pii_placeholder_run(t + s, e - s);
}


/* where a connection string's value ends: ";", "&", a quote, a space */

#define ngx_pii_conn_end(c)  ((c) == ';' || (c) == '&' || (c) == '"'         \
                              || (c) == '\'' || (c) == '`' || (c) == '<'      \
                              || (c) == '>' || (c) == ' ' || (c) == '\t'      \
                              || (c) == '\r' || (c) == '\n')


/* a value that stands for a password: "{password}", "$DB_PASS", "***" */

static int
ngx_http_llm_pii_conn_placeholder(const u_char *v, size_t n)
{
    static const char  *fake[] = {
        "your", "xxx", "***", "redacted", "<", NULL
    };

    size_t  i;

    if (n == 0 || v[0] == '{' || v[0] == '$' || v[0] == '%' || v[0] == '*'
        || v[0] == '[' || v[0] == '(')
    {
        return 1;
    }

    for (i = 0; fake[i]; i++) {
        if (ngx_http_llm_pii_memcasemem(v, n, fake[i])) {
            return 1;
        }
    }

    return 0;
}


/*
 * "jdbc:...": whole, to the end of the token, when it holds a password:
 * a "password=" (or "pwd=", "pass=") parameter with a value, or
 * "user:password@" / "user/password@".
 */

static int ngx_http_llm_pii_v_jdbc_at(const u_char *t, size_t len,
    size_t *start, size_t *end);


/*
 * sechost: a JDBC URL that reaches the end of the text without a password
 * may get one in the parameters still to come ("...;user=sa;" then
 * "password=..."): a stream holds it from "jdbc:" (NGX_HTTP_LLM_PII_OPEN,
 * nothing taken yet), at most RUN_MAX bytes
 */

static int
ngx_http_llm_pii_v_jdbc(const u_char *t, size_t len, size_t *start,
    size_t *end)
{
    int     rc;
    size_t  s, e, c;

    s = *start;
    e = *end;

    /*
     * 4 characters at least after "jdbc:sub:" (the pattern takes none, so
     * that a stream holds the URL from its first characters, whatever they
     * are: fuzz/corpus/pii/sechost-jdbc-short-start)
     */

    for (c = s + 5; c < e && t[c] != ':'; c++) { /* void */ }

    rc = (e - c > 4) ? ngx_http_llm_pii_v_jdbc_at(t, len, start, end) : 0;

    if (rc == 0 && e == len && len - s <= NGX_HTTP_LLM_PII_RUN_MAX) {
        *start = s;
        *end = s;
        return NGX_HTTP_LLM_PII_OPEN;
    }

    /*
     * taken, without the punctuation at the end of the text ("...;"): the
     * parameters may go on (fuzz/corpus/pii/sechost-jdbc-semicolon-at-end)
     */

    if (rc == 1 && e == len && *end < len
        && len - s <= NGX_HTTP_LLM_PII_RUN_MAX)
    {
        return NGX_HTTP_LLM_PII_OPEN;
    }

    return rc;
}


static int
ngx_http_llm_pii_v_jdbc_at(const u_char *t, size_t len, size_t *start,
    size_t *end)
{
    size_t   s, e, i, k, at, u;

    s = *start;
    e = *end;

    if (e < len && !ngx_pii_conn_end(t[e]) && t[e] != ';' && t[e] != '&') {
        return 0;
    }

    /* the whole token: its parameters go on after ";" and "&" */

    if (e < len && (t[e] == ';' || t[e] == '&')) {
        return 0;
    }

    if (s > 0 && ngx_pii_alnum(t[s - 1])) {
        return 0;
    }

    /* punctuation after it: "...:orcl;", "...:orcl." */

    while (t[e - 1] == ';' || t[e - 1] == ',' || t[e - 1] == '.'
           || t[e - 1] == ')')
    {
        e--;
    }

    *end = e;

    for (i = s; i < e; i++) {
        if (t[i] != '=' || i < s + 4) {
            continue;
        }

        for (k = i; k > s && ngx_pii_alpha(t[k - 1]); k--) { /* void */ }

        if (k == s || (t[k - 1] != ';' && t[k - 1] != '&' && t[k - 1] != '?'
                       && t[k - 1] != ':' && t[k - 1] != '('
                       && t[k - 1] != ','))
        {
            continue;
        }

        if (!((i - k == 8 && strncasecmp((const char *) t + k, "password", 8)
               == 0)
              || (i - k == 3 && strncasecmp((const char *) t + k, "pwd", 3)
                  == 0)
              || (i - k == 4 && strncasecmp((const char *) t + k, "pass", 4)
                  == 0)))
        {
            continue;
        }

        for (u = i + 1; u < e && t[u] != ';' && t[u] != '&' && t[u] != ')'
                        && t[u] != ',';
             u++)
        {
            /* void */
        }

        if (u == e && e == len) {
            return 1;                          /* the value may go on */
        }

        if (!ngx_http_llm_pii_conn_placeholder(t + i + 1, u - i - 1)) {
            return 1;
        }
    }

    /* "//user:password@host", "thin:scott/tiger@host" */

    for (at = s; at < e && t[at] != '@'; at++) { /* void */ }

    if (at == e) {
        return 0;
    }

    for (u = at; u > s && t[u - 1] != ':' && !(t[u - 1] == '/'
                                               && t[u - 2] == '/');
         u--)
    {
        /* void */
    }

    if (t[u - 1] == ':' && u >= s + 3 && t[u - 2] == '/' && t[u - 3] == '/') {
        /* "//user:password@" */
        return 0;
    }

    if (t[u - 1] == '/') {
        /* after "//": "user:password" */
        for (k = u; k < at && t[k] != ':'; k++) { /* void */ }

        return (k + 1 < at);
    }

    /* after ":": "scott/tiger" */

    for (k = u; k < at && t[k] != '/'; k++) { /* void */ }

    return (k > u && k + 1 < at);
}


/* the value after "password=" in a connection string or a query */

static int
ngx_http_llm_pii_v_conn_password(const u_char *t, size_t len, size_t *start,
    size_t *end)
{
    size_t  v, e;

    v = *end;

    /*
     * at most two blanks, as before the "=": in a stream, blanks are not
     * held, and the "password=" of a value after more of them could have
     * left the context when the value comes (more: e == v, no value)
     */

    while (v < len && v - *end < 2 && (t[v] == ' ' || t[v] == '\t')) {
        v++;
    }

    for (e = v; e < len && !ngx_pii_conn_end(t[e]); e++) { /* void */ }

    if (e == v) {
        return 0;
    }

    if (e < len && ngx_http_llm_pii_conn_placeholder(t + v, e - v)) {
        return 0;
    }

    /* at the end of the text: it may go on in a stream, taken as it is */

    *start = v;
    *end = e;

    return 1;
}


/*
 * "curl -u user:password", "--user user:password", quoted or not: the
 * argument, when it has a ":" and "curl" or "wget" comes before on its line
 * (within 56 bytes: in a stream the option is in the released context).
 * An argument that reaches the end of the text is taken as it is: in a
 * stream it may go on, and it is held from its start.
 */

static int
ngx_http_llm_pii_v_curl_user(const u_char *t, size_t len, size_t *start,
    size_t *end)
{
    u_char  q;
    size_t  o, p, a, b, colon, i;

    p = *end;

    /*
     * sechost: "-uadmin:pw", the argument attached to the option (curl
     * takes it so): the match ends at its first character
     */

    if (t[p - 1] != ' ' && t[p - 1] != '\t' && t[p - 1] != '=') {
        p--;

        if (p < 3 || t[p - 1] != 'u' || t[p - 2] != '-'
            || (t[p - 3] != ' ' && t[p - 3] != '\t'))
        {
            return 0;
        }
    }

    /* the option: after a space; "-u" or "--user" */

    for (o = p - 1; o > 0 && t[o - 1] != ' ' && t[o - 1] != '\t'; o--) {
        if (p - o > 8) {
            return 0;
        }
    }

    if (o == 0 || t[o] != '-') {
        return 0;
    }

    /*
     * "curl" or "wget" before it, within 56 bytes, on its line or on the
     * lines it continues ("curl -s \\\n  -u admin:pw": sechost)
     */

    for (i = o; i > 4 && o - i < 56; i--) {
        if (t[i - 1] == '\n') {
            b = i - 1;

            if (b > 0 && t[b - 1] == '\r') {
                b--;
            }

            if (b == 0 || t[b - 1] != '\\') {
                break;
            }

            continue;
        }

        if ((strncasecmp((const char *) t + i - 5, "curl", 4) == 0
             || strncasecmp((const char *) t + i - 5, "wget", 4) == 0)
            && (t[i - 1] == ' ' || t[i - 1] == '\t')
            && (i == 5 || !ngx_pii_alnum(t[i - 6])))
        {
            break;
        }
    }

    if (i <= 4 || o - i >= 56 || t[i - 1] == '\n') {
        return 0;
    }

    /*
     * at most a few spaces: they are not held in a stream, and the option
     * must still be in the context when its argument comes
     */

    while (p < len && (t[p] == ' ' || t[p] == '\t')) {
        if (p - *end >= 4) {
            return 0;
        }

        p++;
    }

    if (p == len) {
        return 0;
    }

    a = p;
    q = 0;

    if (t[p] == '"' || t[p] == '\'') {
        q = t[p];
        a = ++p;
    }

    colon = 0;

    for (b = a; b < len; b++) {
        if (q) {
            if (t[b] == q || t[b] == '\n') {
                break;
            }

        } else if (t[b] == ' ' || t[b] == '\t' || t[b] == '\n'
                   || t[b] == '\r')
        {
            break;

        } else if (t[b] == '"' || t[b] == '\'') {
            /* a quoted part: kevin:'pRf7vG2h1L8nQkW9' */
            for (i = b + 1; i < len && t[i] != t[b] && t[i] != '\n'; i++) {
                /* void */
            }

            b = (i < len && t[i] == t[b]) ? i : i - 1;
            continue;
        }

        if (t[b] == ':' && colon == 0) {
            colon = b + 1;
        }
    }

    if (b - a > 256 || b == a || t[a] == '<' || t[a] == '[' || t[a] == '{'
        || t[a] == '$')
    {
        return 0;
    }

    if (b == len) {
        /* it may go on in a stream: held from its start */
        *start = a;
        *end = b;
        return 1;
    }

    if (colon == 0 || b - a < 4
        || (b > colon
            && ngx_http_llm_pii_conn_placeholder(t + colon, b - colon)))
    {
        return 0;
    }

    /*
     * "user:" with no password (curl asks for it): an API key given as the
     * user ("curl -u sk_test_...:"), taken when it looks random (fourth
     * block)
     */

    if (b == colon) {
        if (!ngx_http_llm_pii_random(t + a, colon - 1 - a, 8)) {
            return 0;
        }

        *start = a;
        *end = b;

        return 1;
    }

    /* "1000:1000" is a user and a group */

    for (i = colon; i < b && (ngx_pii_digit(t[i]) || t[i] == '\''); i++) {
        /* void */
    }

    if (i == b) {
        return 0;
    }

    *start = a;
    *end = b;

    return 1;
}


/*
 * "user:password@host:port/path" without a scheme (compiled without start
 * of match): back to the "@", the ":" before it, the user; whole, after a
 * space, a quote, "=" or the start; not a number for a user ("10:30@").
 */

static int
ngx_http_llm_pii_v_cred_bare(const u_char *t, size_t len, size_t *start,
    size_t *end)
{
    u_char  c;
    size_t  at, colon, s, i;

    /*
     * Hyperscan reports every end in the path ("@db/app": "/", "/a", ...):
     * only the end of the token is taken (ngx_http_llm_pii_v_url_secret()),
     * the others are refused first, before going back to the "@" (each
     * would: quadratic)
     */

    if (*end < len && (ngx_pii_tokch(t[*end]) || t[*end] == '/')) {
        return 0;
    }

    for (at = *end; at > 0 && t[at - 1] != '@'; at--) { /* void */ }

    if (at == 0) {
        return 0;
    }

    at--;

    /* the password: 3 to 128 characters a stream holds back */

    for (colon = at; colon > 0 && at - colon <= 128; colon--) {
        c = t[colon - 1];

        if (!(ngx_pii_alnum(c) || c == '.' || c == '_' || c == '%'
              || c == '+' || c == '~' || c == '=' || c == '(' || c == ')'
              || c == '-'))
        {
            break;
        }
    }

    if (colon == 0 || t[colon - 1] != ':' || at - colon < 3
        || at - colon > 128)
    {
        return 0;
    }

    colon--;

    for (s = colon; s > 0 && (ngx_pii_alnum(t[s - 1]) || t[s - 1] == '.'
                              || t[s - 1] == '_' || t[s - 1] == '-');
         s--)
    {
        /* void */
    }

    if (s == colon
        || (s > 0 && t[s - 1] != ' ' && t[s - 1] != '\t' && t[s - 1] != '\n'
            && t[s - 1] != '"' && t[s - 1] != '\'' && t[s - 1] != '='
            && t[s - 1] != '(' && t[s - 1] != '`'))
    {
        return 0;
    }

    for (i = s; i < colon && ngx_pii_digit(t[i]); i++) { /* void */ }

    if (i == colon) {
        return 0;
    }

    if (ngx_http_llm_pii_conn_placeholder(t + colon + 1, at - colon - 1)) {
        return 0;
    }

    *start = s;

    return ngx_http_llm_pii_v_url_secret(t, len, start, end);
}


/*
 * National identification numbers (type national_id, off by default).
 * Only schemes with a check digit or letter are found, each in the
 * layouts its country writes it in, and every candidate is validated:
 *
 *   CN resident identity card  18 characters, birth date, ISO 7064 mod 11-2
 *   IN Aadhaar                 12 digits grouped 4-4-4, Verhoeff
 *   BR CPF                     11 digits, "ddd.ddd.ddd-dd", two mod-11 digits
 *   ES DNI / NIE               8 digits (X/Y/Z and 7) and a mod-23 letter
 *   IT codice fiscale          16 characters, birth date, check letter
 *   MX CURP                    18 characters, birth date, check digit
 *   FR NIR                     15 characters (Corsica "2A"/"2B"), mod-97 key
 *   TR T.C. kimlik no          11 digits, two check digits
 *   CL RUT                     "12.345.678-5", "12345678-K": mod 11
 *   GR AMKA                    11 digits, birth date, Luhn
 *   PL PESEL                   11 digits, birth date, weighted check digit
 *   NO fodselsnummer           11 digits, birth date, two mod-11 digits
 *   ZA identity number         13 digits, birth date, Luhn
 *   TH personal ID             13 digits, mod 11
 *   KR resident registration   13 digits ("YYMMDD-NNNNNNN"), birth date, check
 *   DO cedula                  "ddd-ddddddd-d", Luhn
 *   SE personnummer            "YYMMDD-NNNN", "YYYYMMDD-NNNN": date, Luhn
 *
 * A random run of digits passes one check digit in ten: bare numbers are
 * taken only in the layouts with a date and a check, or two checks;
 * shorter or weaker schemes (NL BSN, bare RUT, bare Aadhaar, bare cedula)
 * need their separators.
 */

typedef int (*ngx_http_llm_pii_nid_pt)(const u_char *c, size_t n);


static int
ngx_http_llm_pii_nid_date(unsigned y, unsigned m, unsigned d)
{
    static const unsigned char  days[] = {
        31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31
    };

    (void) y;

    return m >= 1 && m <= 12 && d >= 1 && d <= days[m - 1];
}


#define ngx_pii_d(c, i)  ((unsigned) ((c)[i] - '0'))
#define ngx_pii_d2(c, i) (ngx_pii_d(c, i) * 10 + ngx_pii_d(c, (i) + 1))


static int
ngx_http_llm_pii_nid_digits(const u_char *c, size_t n)
{
    size_t  i;

    for (i = 0; i < n; i++) {
        if (!ngx_pii_digit(c[i])) {
            return 0;
        }
    }

    /* "11111111111", "00000000000": placeholders */

    for (i = 1; i < n && c[i] == c[0]; i++) { /* void */ }

    return i < n;
}


static int
ngx_http_llm_pii_nid_cpf(const u_char *c, size_t n)
{
    unsigned  i, s1, s2;

    if (n != 11 || !ngx_http_llm_pii_nid_digits(c, n)) {
        return 0;
    }

    s1 = 0;
    s2 = 0;

    for (i = 0; i < 9; i++) {
        s1 += ngx_pii_d(c, i) * (10 - i);
        s2 += ngx_pii_d(c, i) * (11 - i);
    }

    if ((s1 * 10) % 11 % 10 != ngx_pii_d(c, 9)) {
        return 0;
    }

    s2 += ngx_pii_d(c, 9) * 2;

    return (s2 * 10) % 11 % 10 == ngx_pii_d(c, 10);
}


static int
ngx_http_llm_pii_nid_tckn(const u_char *c, size_t n)
{
    int       odd, even;
    unsigned  i, sum;

    if (n != 11 || !ngx_http_llm_pii_nid_digits(c, n) || c[0] == '0') {
        return 0;
    }

    odd = ngx_pii_d(c, 0) + ngx_pii_d(c, 2) + ngx_pii_d(c, 4) + ngx_pii_d(c, 6)
          + ngx_pii_d(c, 8);
    even = ngx_pii_d(c, 1) + ngx_pii_d(c, 3) + ngx_pii_d(c, 5)
           + ngx_pii_d(c, 7);

    if ((unsigned) (((odd * 7 - even) % 10 + 10) % 10) != ngx_pii_d(c, 9)) {
        return 0;
    }

    for (sum = 0, i = 0; i < 10; i++) {
        sum += ngx_pii_d(c, i);
    }

    return sum % 10 == ngx_pii_d(c, 10);
}


static int
ngx_http_llm_pii_nid_amka(const u_char *c, size_t n)
{
    return n == 11 && ngx_http_llm_pii_nid_digits(c, n)
           && ngx_http_llm_pii_nid_date(ngx_pii_d2(c, 4), ngx_pii_d2(c, 2),
                                        ngx_pii_d2(c, 0))
           && ngx_http_llm_pii_luhn(c, n);
}


static int
ngx_http_llm_pii_nid_pesel(const u_char *c, size_t n)
{
    unsigned  i, m, sum;

    static const unsigned  w[] = { 1, 3, 7, 9, 1, 3, 7, 9, 1, 3 };

    if (n != 11 || !ngx_http_llm_pii_nid_digits(c, n)) {
        return 0;
    }

    m = ngx_pii_d2(c, 2) % 20;         /* 1800s +80, 2000s +20, ... */

    if (!ngx_http_llm_pii_nid_date(ngx_pii_d2(c, 0), m, ngx_pii_d2(c, 4))) {
        return 0;
    }

    for (sum = 0, i = 0; i < 10; i++) {
        sum += ngx_pii_d(c, i) * w[i];
    }

    return (10 - sum % 10) % 10 == ngx_pii_d(c, 10);
}


static int
ngx_http_llm_pii_nid_mod11(const u_char *c, const unsigned *w, size_t n)
{
    unsigned  i, sum;

    for (sum = 0, i = 0; i < n; i++) {
        sum += ngx_pii_d(c, i) * w[i];
    }

    sum = 11 - sum % 11;

    return (sum == 11) ? 0 : (int) sum;     /* 10: invalid */
}


static int
ngx_http_llm_pii_nid_fnr(const u_char *c, size_t n)
{
    unsigned  d, m;

    static const unsigned  w1[] = { 3, 7, 6, 1, 8, 9, 4, 5, 2 };
    static const unsigned  w2[] = { 5, 4, 3, 2, 7, 6, 5, 4, 3, 2 };

    if (n != 11 || !ngx_http_llm_pii_nid_digits(c, n)) {
        return 0;
    }

    d = ngx_pii_d2(c, 0) % 40;           /* D-numbers: day + 40 */
    m = ngx_pii_d2(c, 2) % 40;           /* H-numbers: month + 40 */

    return ngx_http_llm_pii_nid_date(0, m, d)
           && (unsigned) ngx_http_llm_pii_nid_mod11(c, w1, 9)
              == ngx_pii_d(c, 9)
           && (unsigned) ngx_http_llm_pii_nid_mod11(c, w2, 10)
              == ngx_pii_d(c, 10);
}


static int
ngx_http_llm_pii_nid_11(const u_char *c, size_t n)
{
    return ngx_http_llm_pii_nid_cpf(c, n) || ngx_http_llm_pii_nid_tckn(c, n)
           || ngx_http_llm_pii_nid_amka(c, n)
           || ngx_http_llm_pii_nid_pesel(c, n)
           || ngx_http_llm_pii_nid_fnr(c, n);
}


static int
ngx_http_llm_pii_nid_za(const u_char *c, size_t n)
{
    return n == 13 && ngx_http_llm_pii_nid_digits(c, n)
           && ngx_http_llm_pii_nid_date(ngx_pii_d2(c, 0), ngx_pii_d2(c, 2),
                                        ngx_pii_d2(c, 4))
           && c[10] <= '2' && ngx_http_llm_pii_luhn(c, n);
}


static int
ngx_http_llm_pii_nid_th(const u_char *c, size_t n)
{
    unsigned  i, sum;

    if (n != 13 || !ngx_http_llm_pii_nid_digits(c, n) || c[0] == '0'
        || c[0] == '9')
    {
        return 0;
    }

    for (sum = 0, i = 0; i < 12; i++) {
        sum += ngx_pii_d(c, i) * (13 - i);
    }

    return (11 - sum % 11) % 10 == ngx_pii_d(c, 12);
}


static int
ngx_http_llm_pii_nid_kr(const u_char *c, size_t n)
{
    unsigned  i, sum;

    static const unsigned  w[] = { 2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5 };

    if (n != 13 || !ngx_http_llm_pii_nid_digits(c, n)
        || !ngx_http_llm_pii_nid_date(ngx_pii_d2(c, 0), ngx_pii_d2(c, 2),
                                      ngx_pii_d2(c, 4)))
    {
        return 0;
    }

    for (sum = 0, i = 0; i < 12; i++) {
        sum += ngx_pii_d(c, i) * w[i];
    }

    return (11 - sum % 11) % 10 == ngx_pii_d(c, 12);
}


static int
ngx_http_llm_pii_nid_13(const u_char *c, size_t n)
{
    return ngx_http_llm_pii_nid_za(c, n) || ngx_http_llm_pii_nid_th(c, n)
           || ngx_http_llm_pii_nid_kr(c, n);
}


static int
ngx_http_llm_pii_nid_cn(const u_char *c, size_t n)
{
    unsigned  i, sum, y;

    static const unsigned  w[] = {
        7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2
    };
    static const char      check[] = "10X98765432";

    if (n != 18 || !ngx_http_llm_pii_nid_digits(c, 17)
        || c[0] < '1' || c[0] > '8')
    {
        return 0;
    }

    y = ngx_pii_d2(c, 6) * 100 + ngx_pii_d2(c, 8);

    if (y < 1900 || y > 2099
        || !ngx_http_llm_pii_nid_date(y, ngx_pii_d2(c, 10),
                                      ngx_pii_d2(c, 12)))
    {
        return 0;
    }

    for (sum = 0, i = 0; i < 17; i++) {
        sum += ngx_pii_d(c, i) * w[i];
    }

    return (u_char) check[sum % 11] == ((c[17] == 'x') ? 'X' : c[17]);
}


static int
ngx_http_llm_pii_nid_aadhaar(const u_char *c, size_t n)
{
    unsigned  i, k;

    static const unsigned char  d[10][10] = {
        { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9 }, { 1, 2, 3, 4, 0, 6, 7, 8, 9, 5 },
        { 2, 3, 4, 0, 1, 7, 8, 9, 5, 6 }, { 3, 4, 0, 1, 2, 8, 9, 5, 6, 7 },
        { 4, 0, 1, 2, 3, 9, 5, 6, 7, 8 }, { 5, 9, 8, 7, 6, 0, 4, 3, 2, 1 },
        { 6, 5, 9, 8, 7, 1, 0, 4, 3, 2 }, { 7, 6, 5, 9, 8, 2, 1, 0, 4, 3 },
        { 8, 7, 6, 5, 9, 3, 2, 1, 0, 4 }, { 9, 8, 7, 6, 5, 4, 3, 2, 1, 0 }
    };
    static const unsigned char  p[8][10] = {
        { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9 }, { 1, 5, 7, 6, 2, 8, 3, 0, 9, 4 },
        { 5, 8, 0, 3, 7, 9, 6, 1, 4, 2 }, { 8, 9, 1, 6, 0, 4, 3, 5, 2, 7 },
        { 9, 4, 5, 3, 1, 2, 6, 8, 7, 0 }, { 4, 2, 8, 6, 5, 7, 3, 9, 0, 1 },
        { 2, 7, 9, 3, 8, 0, 6, 4, 1, 5 }, { 7, 0, 4, 6, 9, 1, 3, 2, 5, 8 }
    };

    if (n != 12 || !ngx_http_llm_pii_nid_digits(c, n) || c[0] < '2') {
        return 0;
    }

    for (k = 0, i = 0; i < 12; i++) {
        k = d[k][p[i % 8][ngx_pii_d(c, 11 - i)]];
    }

    return k == 0;
}


static int
ngx_http_llm_pii_nid_rut(const u_char *c, size_t n)
{
    unsigned  i, sum, w, r;
    u_char    v;

    if (n < 8 || n > 9 || !ngx_http_llm_pii_nid_digits(c, n - 1)) {
        return 0;
    }

    for (sum = 0, w = 2, i = n - 1; i-- > 0; /* void */) {
        sum += ngx_pii_d(c, i) * w;
        w = (w == 7) ? 2 : w + 1;
    }

    r = 11 - sum % 11;
    v = (r == 11) ? '0' : (r == 10) ? 'K' : (u_char) ('0' + r);

    return (ngx_pii_digit(c[n - 1]) ? c[n - 1] : (c[n - 1] & ~0x20)) == v;
}


static int
ngx_http_llm_pii_nid_nir(const u_char *c, size_t n)
{
    u_char    d[13];
    unsigned  i, r;

    if (n != 15 || c[0] < '1' || c[0] > '8'
        || !ngx_pii_digit(c[13]) || !ngx_pii_digit(c[14]))
    {
        return 0;
    }

    /* the key: 97 - (the first 13 mod 97), Corsica "2A" as 19, "2B" 18 */

    memcpy(d, c, 13);

    if (d[5] == '2' && (d[6] == 'A' || d[6] == 'a')) {
        d[5] = '1';
        d[6] = '9';

    } else if (d[5] == '2' && (d[6] == 'B' || d[6] == 'b')) {
        d[5] = '1';
        d[6] = '8';
    }

    for (r = 0, i = 0; i < 13; i++) {
        if (!ngx_pii_digit(d[i])) {
            return 0;
        }

        r = (r * 10 + (d[i] - '0')) % 97;
    }

    if (97 - r == ngx_pii_d2(c, 13)) {
        return 1;
    }

    if (d[5] != '1' || c[5] != '2') {
        return 0;
    }

    /* Corsica as "20", as some implementations compute it */

    d[5] = '2';
    d[6] = '0';

    for (r = 0, i = 0; i < 13; i++) {
        r = (r * 10 + (d[i] - '0')) % 97;
    }

    return 97 - r == ngx_pii_d2(c, 13);
}


static int
ngx_http_llm_pii_nid_cedula(const u_char *c, size_t n)
{

    return n == 11 && ngx_http_llm_pii_nid_digits(c, n)
           && ngx_http_llm_pii_luhn(c, n);
}


static int
ngx_http_llm_pii_nid_se(const u_char *c, size_t n)
{
    if (n == 12) {
        /* YYYYMMDDNNNC: the century is not in the check */
        if (ngx_pii_d2(c, 0) < 18 || ngx_pii_d2(c, 0) > 20) {
            return 0;
        }

        c += 2;
        n = 10;
    }

    return n == 10 && ngx_http_llm_pii_nid_digits(c, n)
           && ngx_http_llm_pii_nid_date(0, ngx_pii_d2(c, 2),
                                        ngx_pii_d2(c, 4) % 60)
           && ngx_http_llm_pii_luhn(c, n);
}


/* the layouts of the digit schemes: 'd' a digit, 'c' the check character */

typedef struct {
    const char                *layout;
    ngx_http_llm_pii_nid_pt    valid;
} ngx_http_llm_pii_nid_layout_t;


static const ngx_http_llm_pii_nid_layout_t  ngx_http_llm_pii_nid_layouts[] = {
    { "ddddddddddd", ngx_http_llm_pii_nid_11 },
    { "ddd.ddd.ddd-dd", ngx_http_llm_pii_nid_cpf },
    { "ddddddddd-dd", ngx_http_llm_pii_nid_cpf },
    { "ddd-ddddddd-d", ngx_http_llm_pii_nid_cedula },
    { "dddddd ddddd", ngx_http_llm_pii_nid_fnr },
    { "dddddd-ddddd", ngx_http_llm_pii_nid_fnr },
    { "dd-dd-dd-ddddd", ngx_http_llm_pii_nid_fnr },
    { "dd dd dd ddd dd", ngx_http_llm_pii_nid_fnr },
    { "dd.ddd.ddd-c", ngx_http_llm_pii_nid_rut },
    { "d.ddd.ddd-c", ngx_http_llm_pii_nid_rut },
    { "dddddddd-c", ngx_http_llm_pii_nid_rut },
    { "ddddddd-c", ngx_http_llm_pii_nid_rut },
    { "ddddddddddddd", ngx_http_llm_pii_nid_13 },
    { "d-dddd-ddddd-dd-d", ngx_http_llm_pii_nid_th },
    { "d dddd ddddd dd d", ngx_http_llm_pii_nid_th },
    { "dddddd-ddddddd", ngx_http_llm_pii_nid_kr },
    { "dddddddddddddddddc", ngx_http_llm_pii_nid_cn },
    { "dddd dddd dddd", ngx_http_llm_pii_nid_aadhaar },
    { "dddd-dddd-dddd", ngx_http_llm_pii_nid_aadhaar },
    { "ddddddddddddddd", ngx_http_llm_pii_nid_nir },
    { "d dd dd dd ddd ddd dd", ngx_http_llm_pii_nid_nir },
    { "dddddd-dddd", ngx_http_llm_pii_nid_se },
    { "dddddd+dddd", ngx_http_llm_pii_nid_se },
    { "dddddddd-dddd", ngx_http_llm_pii_nid_se },
    { NULL, NULL }
};


/* the second block of schemes and layouts, below */
static int ngx_http_llm_pii_nid2_layout(const u_char *t, size_t s, size_t e);
static int ngx_http_llm_pii_nid2_letters(const u_char *t, size_t len,
    size_t e, size_t *start, size_t *end);
static int ngx_http_llm_pii_nid2_interim(const u_char *t, size_t len,
    size_t e, size_t *start, size_t *end);


static int
ngx_http_llm_pii_v_national(const u_char *t, size_t len, size_t *start,
    size_t *end)
{
    u_char    c, chars[24];
    size_t    s, e, i, k, n;
    unsigned  l;
    const char  *lay;

    /* compiled without SOM: back over the digits and separators */

    e = *end;

    for (s = e - 1; s > 0 && e - s < 24
                    && (ngx_pii_digit(t[s - 1]) || t[s - 1] == ' '
                        || t[s - 1] == '.' || t[s - 1] == '-'
                        || t[s - 1] == '+');
         s--)
    { /* void */ }

    *start = s;

    if (ngx_http_llm_pii_nid2_letters(t, len, e, start, end)
        || ngx_http_llm_pii_nid2_interim(t, len, e, start, end))
    {
        return 1;
    }

    if (e < len) {
        c = t[e];

        if (ngx_pii_alnum(c) || c == '@'
            || ((c == '.' || c == '-' || c == '+' || c == ' ')
                && e + 1 < len && ngx_pii_digit(t[e + 1])))
        {
            /* a longer number */
            return 0;
        }
    }

    if (e - s > 24) {
        s = e - 24;
    }

    /* the start: the candidate's, or a later group's ("5678 3100600445635") */

    for (/* void */; s < e; s++) {
        if (!ngx_pii_alnum(t[s])
            || (s > *start && ngx_pii_alnum(t[s - 1])))
        {
            continue;
        }

        if (s > 0) {
            c = t[s - 1];

            if (ngx_pii_alnum(c) || c == '+' || c == '@' || c == '/'
                || (c & 0xc0) == 0x80
                || ((c == '.' || c == '-' || c == ',')
                    && s > 1 && ngx_pii_digit(t[s - 2])))
            {
                continue;
            }

            /* a group of a longer number ("4023 8984 9398 8029") */

            if (c == ' ' && s > 1 && ngx_pii_digit(t[s - 2])) {
                continue;
            }
        }

        if (ngx_http_llm_pii_in_code(t, len, s, e)) {
            /* an IBAN's groups */
            return 0;
        }

        n = 0;

        for (l = 0; ngx_http_llm_pii_nid_layouts[l].layout; l++) {
            lay = ngx_http_llm_pii_nid_layouts[l].layout;

            if (strlen(lay) != e - s) {
                continue;
            }

            for (i = 0, n = 0; i < e - s; i++) {
                c = t[s + i];

                if (lay[i] == 'd' ? !ngx_pii_digit(c)
                    : lay[i] == 'c' ? !(ngx_pii_digit(c) || c == 'k'
                                        || c == 'K' || c == 'x' || c == 'X')
                    : c != (u_char) lay[i])
                {
                    break;
                }

                if (lay[i] == 'd' || lay[i] == 'c') {
                    chars[n++] = c;
                }
            }

            if (i == e - s && ngx_http_llm_pii_nid_layouts[l].valid(chars, n))
            {
                goto found;
            }
        }

        if (ngx_http_llm_pii_nid2_layout(t, s, e)) {
            goto found;
        }
    }

    return 0;

found:

    /*
     * "CL 12.345.678-5": the country code belongs to it; in capitals only,
     * which a stream holds with the number ("Cl " is released before it)
     */

    k = s;

    if (k >= 3 && t[k - 1] == ' ' && t[k - 3] == 'C' && t[k - 2] == 'L'
        && (k == 3 || !ngx_pii_alnum(t[k - 4])))
    {
        s = k - 3;
    }

    *start = s;

    return 1;
}


/* the schemes with letters: ES DNI/NIE, IT codice fiscale, MX CURP, FR NIR */

static int
ngx_http_llm_pii_nid_es(const u_char *c, size_t n)
{
    unsigned  i, v;

    static const char  letters[] = "TRWAGMYFPDXBNJZSQVHLCKE";

    v = 0;

    for (i = 0; i + 1 < n; i++) {
        if (i == 0 && (c[0] | 0x20) >= 'x' && (c[0] | 0x20) <= 'z') {
            v = (c[0] | 0x20) - 'x';
            continue;
        }

        if (!ngx_pii_digit(c[i])) {
            return 0;
        }

        v = v * 10 + ngx_pii_d(c, i);
    }

    return n == 9 && letters[v % 23] == (c[8] & ~0x20);
}


static int
ngx_http_llm_pii_nid_cf(const u_char *c, size_t n)
{
    u_char    ch;
    unsigned  i, sum, v;

    static const unsigned char  odd[] = {
        1, 0, 5, 7, 9, 13, 15, 17, 19, 21, 2, 4, 18, 20, 11, 3, 6, 8, 12,
        14, 16, 10, 22, 25, 24, 23
    };

    if (n != 16) {
        return 0;
    }

    for (sum = 0, i = 0; i < 15; i++) {
        ch = c[i];
        v = ngx_pii_digit(ch) ? (unsigned) (ch - '0')
                              : (unsigned) ((ch | 0x20) - 'a');

        if (v > 25) {
            return 0;
        }

        sum += (i % 2 == 0) ? odd[v] : v;
    }

    /* the birth date: month letter and day (women: +40), omocodia aside */

    return (unsigned) ((c[15] | 0x20) - 'a') == sum % 26;
}


static int
ngx_http_llm_pii_nid_curp(const u_char *c, size_t n)
{
    u_char    ch;
    unsigned  i, sum, v;

    if (n != 18
        || !ngx_http_llm_pii_nid_date(0, ngx_pii_d2(c, 6), ngx_pii_d2(c, 8)))
    {
        return 0;
    }

    for (sum = 0, i = 0; i < 17; i++) {
        ch = c[i];

        if (ngx_pii_digit(ch)) {
            v = ch - '0';

        } else {
            v = (ch | 0x20) - 'a' + 10;
            v += (v > 23);                 /* "Ñ" is 24 */
        }

        sum += v * (18 - i);
    }

    return (10 - sum % 10) % 10 == ngx_pii_d(c, 17);
}


static int
ngx_http_llm_pii_v_national_alpha(const u_char *t, size_t len, size_t *start,
    size_t *end)
{
    u_char  c, chars[24];
    size_t  s, e, i, n;

    s = *start;
    e = *end;

    if ((s > 0 && ngx_pii_alnum(t[s - 1]))
        || (e < len && (ngx_pii_alnum(t[e]) || t[e] == '@')))
    {
        return 0;
    }

    for (n = 0, i = s; i < e && n < sizeof(chars); i++) {
        c = t[i];

        if (ngx_pii_alnum(c)) {
            chars[n++] = c;
        }
    }

    switch (n) {

    case 9:
        return ngx_http_llm_pii_nid_es(chars, n);

    case 15:
        return ngx_http_llm_pii_nid_nir(chars, n);

    case 16:
        return ngx_http_llm_pii_nid_cf(chars, n);

    case 18:
        return ngx_http_llm_pii_nid_curp(chars, n);
    }

    return 0;
}


/*
 * National identification numbers, second block (issue 17): more schemes
 * and layouts, validated on the candidates the digit pattern of the type
 * already reports.  ngx_http_llm_pii_v_national() tries these layouts
 * after its own, and the forms with a letter next to the digits before it
 * refuses a candidate followed by a letter; one pattern of its own, in the
 * national ID database, reaches the forms with a letter or "/" right after
 * six digits (ngx_http_llm_pii_v_national2(), at the end of this block):
 *
 *   SE personnummer        bare "YYMMDDNNNC", "YYYYMMDDNNNC"; interim
 *                          numbers "YYYYMMDD-TNNC", "YYMMDD-TNNC" (a
 *                          letter of "TRSUWXJKLMN" for the first serial
 *                          digit, counted as 1 by Luhn)
 *   FI henkilötunnus       "DDMMYY-NNNQ", "DDMMYY+NNNQ", "DDMMYYANNNQ":
 *                          the date, the mod-31 check character
 *   IS kennitala           "DDMMYY-NNCV", bare: the date (day + 40 for an
 *                          organisation), the mod-11 digit, the century
 *   BG EGN                 10 digits: the date (month + 20, + 40), the check
 *   CZ/SK rodné číslo      10 digits, "YYMMDD/NNNC" ("YYMMDD/NNN" before
 *                          1954): the date (month + 50, + 20), mod 11
 *   EE isikukood, LT asmens kodas
 *                          11 digits: sex and century 1-8, the date, the
 *                          two-round mod-11 check
 *   BE numéro national     11 digits, "YY.MM.DD-NNN.CC", "YY MM DD NNN CC":
 *                          97 - mod 97 (born in 2000 or later: with a 2)
 *   RO CNP                 13 digits: sex 1-9, the date, the county (01-52,
 *                          70), the weighted check
 *   CH AHV/AVS number      "756.NNNN.NNNN.NC", 13 digits: 756, EAN-13
 *   AE Emirates ID         "784-YYYY-NNNNNNN-C", spaced, 15 digits: 784, Luhn
 *   ZA identity number     "YYMMDD NNNN NNC" (spaced 6-4-3)
 *   MU national ID         a capital, "DDMMYY" and 6 characters, a check
 *                          character (mod 17 of the weighted characters)
 *   PE CUI (DNI)           8 digits and a check digit or letter
 *                          ("10812543-3", "10812543-H", "10586119B")
 *   JMBG / EMŠO            13 digits: the date "DDMMYYY", the mod-11 digit
 *
 * A number whose only protection is a date and one check digit (SE, FI,
 * IS, BG, CZ, EE/LT bare, PE, JMBG) is taken only after a word that names
 * it (ngx_http_llm_pii_nid2_words): one random number in ten of its shape
 * passes the check.  The others (a prefix, a letter, mod 97, a county)
 * are taken without one.
 */

/* SE: 10 digits, the date, Luhn; 12 with the century 18 to 20 */

static int
ngx_http_llm_pii_nid2_se(const u_char *c, size_t n)
{
    return (n == 10 || n == 12) && ngx_http_llm_pii_nid_se(c, n);
}


/* SE interim numbers: "YYYYMMDD", a letter, three digits */

static int
ngx_http_llm_pii_nid2_se_interim(const u_char *date, const u_char *serial)
{
    u_char  d[10];

    static const char  letters[] = "TRSUWXJKLMN";

    if (ngx_pii_d2(date, 0) < 18 || ngx_pii_d2(date, 0) > 20
        || (serial[0] & ~0x20) == 0
        || strchr(letters, serial[0] & ~0x20) == NULL)
    {
        return 0;
    }

    memcpy(d, date + 2, 6);
    d[6] = '1';
    memcpy(d + 7, serial + 1, 3);

    return ngx_http_llm_pii_nid_digits(d, 10)
           && ngx_http_llm_pii_nid_date(0, ngx_pii_d2(d, 2),
                                        ngx_pii_d2(d, 4) % 60)
           && ngx_http_llm_pii_luhn(d, 10);
}


/* FI: "DDMMYY", the century sign, "NNN", the check character */

static int
ngx_http_llm_pii_nid2_fi(const u_char *c, u_char q)
{
    unsigned  i, v;

    static const char  check[] = "0123456789ABCDEFHJKLMNPRSTUVWXY";

    if (!ngx_http_llm_pii_nid_date(0, ngx_pii_d2(c, 2), ngx_pii_d2(c, 0))
        || ngx_pii_d2(c, 6) * 10 + ngx_pii_d(c, 8) < 2)
    {
        return 0;
    }

    for (v = 0, i = 0; i < 9; i++) {
        v = v * 10 + ngx_pii_d(c, i);
    }

    return (u_char) check[v % 31] == q;
}


static int
ngx_http_llm_pii_nid2_fi_digits(const u_char *c, size_t n)
{
    return n == 10 && ngx_http_llm_pii_nid_digits(c, n)
           && ngx_http_llm_pii_nid2_fi(c, c[9]);
}


/* IS: "DDMMYY", two digits, the mod-11 digit, the century 8, 9 or 0 */

static int
ngx_http_llm_pii_nid2_is(const u_char *c, size_t n)
{
    static const unsigned  w[] = { 3, 2, 7, 6, 5, 4, 3, 2 };

    if (n != 10 || !ngx_http_llm_pii_nid_digits(c, n)
        || (c[9] != '8' && c[9] != '9' && c[9] != '0')
        || !ngx_http_llm_pii_nid_date(0, ngx_pii_d2(c, 2),
                                      ngx_pii_d2(c, 0) % 40))
    {
        return 0;
    }

    return (unsigned) ngx_http_llm_pii_nid_mod11(c, w, 8) == ngx_pii_d(c, 8)
           && ngx_http_llm_pii_nid_mod11(c, w, 8) != 10;
}


/* BG: "YYMMDD" (1800s: month + 20, 2000s: + 40), three digits, the check */

static int
ngx_http_llm_pii_nid2_bg(const u_char *c, size_t n)
{
    unsigned  i, m, sum;

    static const unsigned  w[] = { 2, 4, 8, 5, 10, 9, 7, 3, 6 };

    if (n != 10 || !ngx_http_llm_pii_nid_digits(c, n)) {
        return 0;
    }

    m = ngx_pii_d2(c, 2);
    m = (m > 40) ? m - 40 : (m > 20) ? m - 20 : m;

    if (!ngx_http_llm_pii_nid_date(0, m, ngx_pii_d2(c, 4))) {
        return 0;
    }

    for (sum = 0, i = 0; i < 9; i++) {
        sum += ngx_pii_d(c, i) * w[i];
    }

    return sum % 11 % 10 == ngx_pii_d(c, 9);
}


/* CZ/SK: "YYMMDD" (women: month + 50, from 2004 also + 20), mod 11 */

static int
ngx_http_llm_pii_nid2_cz(const u_char *c, size_t n)
{
    unsigned  i, m, r;

    if (n != 10 || !ngx_http_llm_pii_nid_digits(c, n)) {
        return 0;
    }

    m = ngx_pii_d2(c, 2) % 50;
    m = (m > 20) ? m - 20 : m;

    if (!ngx_http_llm_pii_nid_date(0, m, ngx_pii_d2(c, 4))) {
        return 0;
    }

    for (r = 0, i = 0; i < 9; i++) {
        r = (r * 10 + ngx_pii_d(c, i)) % 11;
    }

    return r % 10 == ngx_pii_d(c, 9);      /* 10: the check digit is 0 */
}


static int
ngx_http_llm_pii_nid2_10(const u_char *c, size_t n)
{
    return ngx_http_llm_pii_nid2_se(c, n) || ngx_http_llm_pii_nid2_is(c, n)
           || ngx_http_llm_pii_nid2_bg(c, n) || ngx_http_llm_pii_nid2_cz(c, n);
}


static int
ngx_http_llm_pii_nid2_dash10(const u_char *c, size_t n)
{
    return ngx_http_llm_pii_nid2_fi_digits(c, n)
           || ngx_http_llm_pii_nid2_is(c, n);
}


/* EE/LT: sex and century 1-8, "YYMMDD", three digits, the check */

static int
ngx_http_llm_pii_nid2_ee(const u_char *c, size_t n)
{
    unsigned  i, sum;

    if (n != 11 || !ngx_http_llm_pii_nid_digits(c, n)
        || c[0] < '1' || c[0] > '8'
        || !ngx_http_llm_pii_nid_date(0, ngx_pii_d2(c, 3), ngx_pii_d2(c, 5)))
    {
        return 0;
    }

    for (sum = 0, i = 0; i < 10; i++) {
        sum += ngx_pii_d(c, i) * (i % 9 + 1);            /* 1..9, 1 */
    }

    if (sum % 11 == 10) {
        for (sum = 0, i = 0; i < 10; i++) {
            sum += ngx_pii_d(c, i) * ((i + 2) % 9 + 1);  /* 3..9, 1..3 */
        }
    }

    return sum % 11 % 10 == ngx_pii_d(c, 10);
}


/* BE: "YYMMDD" (a month or day 0 when unknown), three digits, 97 - mod 97 */

static int
ngx_http_llm_pii_nid2_be(const u_char *c, size_t n)
{
    unsigned  i, r, k;

    if (n != 11 || !ngx_http_llm_pii_nid_digits(c, n)
        || ngx_pii_d2(c, 2) > 12 || ngx_pii_d2(c, 4) > 31)
    {
        return 0;
    }

    for (r = 0, i = 0; i < 9; i++) {
        r = (r * 10 + ngx_pii_d(c, i)) % 97;
    }

    k = ngx_pii_d2(c, 9);

    /* born in 2000 or later: "2" before the nine digits */

    return 97 - r == k || 97 - (2000000000 % 97 + r) % 97 == k;
}


/* RO CNP: sex and century 1-9, "YYMMDD", county, serial, the check */

static int
ngx_http_llm_pii_nid2_cnp(const u_char *c, size_t n)
{
    unsigned  i, k, sum;

    static const unsigned  w[] = { 2, 7, 9, 1, 4, 6, 3, 5, 8, 2, 7, 9 };

    if (n != 13 || !ngx_http_llm_pii_nid_digits(c, n) || c[0] == '0'
        || !ngx_http_llm_pii_nid_date(0, ngx_pii_d2(c, 3), ngx_pii_d2(c, 5)))
    {
        return 0;
    }

    /* the county: 01 to 52 (Bucharest's sectors 41 to 46), 70 residents */

    k = ngx_pii_d2(c, 7);

    if (k == 0 || (k > 52 && k != 70)) {
        return 0;
    }

    for (sum = 0, i = 0; i < 12; i++) {
        sum += ngx_pii_d(c, i) * w[i];
    }

    sum %= 11;

    return ((sum == 10) ? 1 : sum) == ngx_pii_d(c, 12);
}


/* CH: 756, nine digits, the EAN-13 check */

static int
ngx_http_llm_pii_nid2_ahv(const u_char *c, size_t n)
{
    unsigned  i, sum;

    if (n != 13 || c[0] != '7' || c[1] != '5' || c[2] != '6'
        || !ngx_http_llm_pii_nid_digits(c, n))
    {
        return 0;
    }

    for (sum = 0, i = 0; i < 12; i++) {
        sum += ngx_pii_d(c, i) * ((i % 2) ? 3 : 1);
    }

    return (10 - sum % 10) % 10 == ngx_pii_d(c, 12);
}


static int
ngx_http_llm_pii_nid2_13(const u_char *c, size_t n)
{
    return ngx_http_llm_pii_nid2_cnp(c, n) || ngx_http_llm_pii_nid2_ahv(c, n);
}


/* AE: 784, the year of birth, seven digits, Luhn */

static int
ngx_http_llm_pii_nid2_ae(const u_char *c, size_t n)
{
    return n == 15 && c[0] == '7' && c[1] == '8' && c[2] == '4'
           && ngx_http_llm_pii_nid_digits(c, n) && ngx_http_llm_pii_luhn(c, n);
}


static int
ngx_http_llm_pii_nid2_za(const u_char *c, size_t n)
{
    return ngx_http_llm_pii_nid_za(c, n);
}


/* PE CUI/DNI: 8 digits and a check digit or letter, the same index */

static int
ngx_http_llm_pii_nid2_pe(const u_char *c, u_char q)
{
    unsigned  i, sum, k;

    static const unsigned  w[] = { 3, 2, 7, 6, 5, 4, 3, 2 };

    for (sum = 0, i = 0; i < 8; i++) {
        sum += ngx_pii_d(c, i) * w[i];
    }

    k = (11 - sum % 11) % 11;

    return q == (u_char) "67890112345"[k]
           || (q & ~0x20) == (u_char) "KABCDEFGHIJ"[k];
}


static int
ngx_http_llm_pii_nid2_pe_digits(const u_char *c, size_t n)
{
    return n == 9 && ngx_http_llm_pii_nid_digits(c, n)
           && ngx_http_llm_pii_nid2_pe(c, c[8]);
}


/* JMBG/EMŠO (ex-Yugoslavia): "DDMMYYY", region, serial, the mod-11 digit */

static int
ngx_http_llm_pii_nid2_jmbg(const u_char *c, size_t n)
{
    unsigned  i, sum, y;

    static const unsigned  w[] = { 7, 6, 5, 4, 3, 2, 7, 6, 5, 4, 3, 2 };

    if (n != 13 || !ngx_http_llm_pii_nid_digits(c, n)) {
        return 0;
    }

    y = ngx_pii_d(c, 4) * 100 + ngx_pii_d2(c, 5);

    if ((y < 900 && y > 30)
        || !ngx_http_llm_pii_nid_date(0, ngx_pii_d2(c, 2), ngx_pii_d2(c, 0)))
    {
        return 0;
    }

    for (sum = 0, i = 0; i < 12; i++) {
        sum += ngx_pii_d(c, i) * w[i];
    }

    sum = 11 - sum % 11;

    return ((sum > 9) ? 0 : sum) == ngx_pii_d(c, 12);
}


/*
 * The words that name a personal identity number, before a number whose
 * only protection is a date and one check digit (bare 10, 11 and 12
 * digits, "DDMMYY-NNNN", the Finnish and Swedish forms with a letter):
 * one random number in ten of these shapes passes, and order numbers,
 * Unix times and build stamps have them.  The scheme's own name, or a
 * phrase for "identity number"; the last NID2_CONTEXT bytes before the
 * number (a stream keeps NGX_HTTP_LLM_PII_CONTEXT of them).
 */

#define NGX_HTTP_LLM_PII_NID2_CONTEXT  48

static const char  *ngx_http_llm_pii_nid2_words[] = {
    "personnummer", "personnr", "samordningsnummer",
    "henkil\xc3\xb6tunnus",                          /* henkilötunnus */
    "hetu", "personbeteckning", "kennitala", "kennit\xc3\xb6lu", "egn",
    "\xd0\x95\xd0\x93\xd0\x9d",                     /* ЕГН */
    "rodn\xc3\xa9 \xc4\x8d\xc3\xadslo",               /* rodné číslo */
    "rodne cislo",
    "rodn\xc3\xa9ho \xc4\x8d\xc3\xadsla",             /* rodného čísla */
    "birth number",
    "isikukood", "asmens kodas", "asmens kodo", "personal code",
    "personal number", "personal id", "personal identity", "national id",
    "national identity", "identity number", "identification number",
    "id number", "id no", "id-nr", "id nr", "identifikationsnummer",
    "n\xc3\xbamero de documento", "numero de documento",
    "num\xc3\xa9ro d'identification", "numero d'identification",
    "social security", "dni", "cui", "jmbg", "emso",
    "em\xc5\xa0o",                                 /* EMŠO */
    "mati\xc4\x8dni broj", "maticni broj",           /* matični broj */
    NULL
};


static int
ngx_http_llm_pii_nid2_context(const u_char *t, size_t s)
{
    size_t        b, i, n;
    unsigned      w;
    const char   *word;

    b = (s > NGX_HTTP_LLM_PII_NID2_CONTEXT) ? s - NGX_HTTP_LLM_PII_NID2_CONTEXT
                                            : 0;

    for (w = 0; ngx_http_llm_pii_nid2_words[w]; w++) {
        word = ngx_http_llm_pii_nid2_words[w];
        n = strlen(word);

        for (i = b; i + n <= s; i++) {
            if ((t[i] | 0x20) == (u_char) (word[0] | 0x20)
                && strncasecmp((const char *) t + i, word, n) == 0
                && (i == 0 || !ngx_pii_alpha(t[i - 1]))
                && (i + n == s || !ngx_pii_alpha(t[i + n])))
            {
                return 1;
            }
        }
    }

    return 0;
}


/* the layouts: 'd' a digit; ctx: only after one of the words above */

typedef struct {
    const char                *layout;
    size_t                     len;
    ngx_http_llm_pii_nid_pt    valid;
    unsigned                   ctx;
} ngx_http_llm_pii_nid2_layout_t;

#define ngx_pii_nid2(lay, valid, ctx)  { lay, sizeof(lay) - 1, valid, ctx }

/* the lengths of the layouts below, a bit each: most candidates have none */
#define NGX_HTTP_LLM_PII_NID2_LENS                                            \
    ((1u << 9) | (1u << 10) | (1u << 11) | (1u << 12) | (1u << 13)            \
     | (1u << 15) | (1u << 16) | (1u << 18))


static const ngx_http_llm_pii_nid2_layout_t  ngx_http_llm_pii_nid2_layouts[] = {
    ngx_pii_nid2("dddddddddd", ngx_http_llm_pii_nid2_10, 1),
    ngx_pii_nid2("dddddd-dddd", ngx_http_llm_pii_nid2_dash10, 1),
    ngx_pii_nid2("dddddd+dddd", ngx_http_llm_pii_nid2_fi_digits, 1),
    ngx_pii_nid2("dddddddddddd", ngx_http_llm_pii_nid2_se, 1),
    ngx_pii_nid2("ddddddddddd", ngx_http_llm_pii_nid2_ee, 1),
    ngx_pii_nid2("ddddddddddd", ngx_http_llm_pii_nid2_be, 0),
    ngx_pii_nid2("dd.dd.dd-ddd.dd", ngx_http_llm_pii_nid2_be, 0),
    ngx_pii_nid2("dd dd dd ddd dd", ngx_http_llm_pii_nid2_be, 0),
    ngx_pii_nid2("ddddddddddddd", ngx_http_llm_pii_nid2_13, 0),
    ngx_pii_nid2("ddd.dddd.dddd.dd", ngx_http_llm_pii_nid2_ahv, 0),
    ngx_pii_nid2("ddd-dddd-ddddddd-d", ngx_http_llm_pii_nid2_ae, 0),
    ngx_pii_nid2("ddd dddd ddddddd d", ngx_http_llm_pii_nid2_ae, 0),
    ngx_pii_nid2("ddddddddddddddd", ngx_http_llm_pii_nid2_ae, 0),
    ngx_pii_nid2("dddddd dddd ddd", ngx_http_llm_pii_nid2_za, 0),
    ngx_pii_nid2("dddddddd-d", ngx_http_llm_pii_nid2_pe_digits, 1),
    ngx_pii_nid2("ddddddddd", ngx_http_llm_pii_nid2_pe_digits, 1),
    ngx_pii_nid2("ddddddddddddd", ngx_http_llm_pii_nid2_jmbg, 1),
    { NULL, 0, NULL, 0 }
};


/* the candidate t[s, e) in a layout of this block */

static int
ngx_http_llm_pii_nid2_layout(const u_char *t, size_t s, size_t e)
{
    u_char       c, chars[24];
    size_t       i, k, n;
    unsigned     l;
    const char  *lay;

    n = e - s;

    if (n > 31 || !(NGX_HTTP_LLM_PII_NID2_LENS & (1u << n))) {
        return 0;
    }

    for (l = 0; ngx_http_llm_pii_nid2_layouts[l].layout; l++) {
        if (ngx_http_llm_pii_nid2_layouts[l].len != n) {
            continue;
        }

        lay = ngx_http_llm_pii_nid2_layouts[l].layout;

        for (i = 0, k = 0; i < n; i++) {
            c = t[s + i];

            if (lay[i] == 'd' ? !ngx_pii_digit(c) : c != (u_char) lay[i]) {
                break;
            }

            if (lay[i] == 'd') {
                chars[k++] = c;
            }
        }

        if (i == n && ngx_http_llm_pii_nid2_layouts[l].valid(chars, k)
            && (!ngx_http_llm_pii_nid2_layouts[l].ctx
                || ngx_http_llm_pii_nid2_context(t, s)))
        {
            return 1;
        }
    }

    return 0;
}


/* MU: a capital, 12 digits, a digit or capital; the date DDMMYY, mod 17 */

static int
ngx_http_llm_pii_nid2_mu(const u_char *c)
{
    unsigned  i, v, sum;

    static const char  alphabet[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";

    if (!ngx_http_llm_pii_nid_date(0, ngx_pii_d2(c, 3), ngx_pii_d2(c, 1))) {
        return 0;
    }

    for (sum = 0, i = 0; i < 13; i++) {
        v = ngx_pii_digit(c[i]) ? (unsigned) (c[i] - '0')
                                : (unsigned) (c[i] - 'A' + 10);
        sum += (14 - i) * v;
    }

    return (u_char) alphabet[(17 - sum % 17) % 17] == c[13];
}


/* a boundary: the start or end of the text, or not a letter, digit, "@" */

#define ngx_pii_nid2_left(t, k)   ((k) == 0 || !ngx_pii_alnum((t)[(k) - 1]))
#define ngx_pii_nid2_right(t, len, k)                                         \
    ((k) == (len) || !(ngx_pii_alnum((t)[k]) || (t)[k] == '@'))


/*
 * The forms with a letter next to the digits of a candidate that ends at
 * e: MU (a capital before, a digit or capital after), FI (the check
 * character a capital), SE interim numbers (a letter after the date).
 */

static int
ngx_http_llm_pii_nid2_letters(const u_char *t, size_t len, size_t e,
    size_t *start, size_t *end)
{
    u_char  c;
    size_t  i, b;

    if (e < 10) {
        return 0;
    }

    c = (e < len) ? t[e] : 0;

    /* most candidates: none of the letters (or "-" and a letter) around */

    if (!ngx_pii_alpha(c) && c != '-'
        && !(e >= 13 && ngx_pii_upper(t[e - 13]))
        && !(e >= 14 && ngx_pii_upper(t[e - 14])))
    {
        return 0;
    }

    /* MU: "A2103451905713" ends here, "B120106274060E" one later */

    for (b = (e >= 12) ? e - 12 : 0; b < e && ngx_pii_digit(t[b]); b++) {
        /* void */
    }

    if (b == e && e >= 13 && ngx_pii_upper(t[e - 13])) {

        if (ngx_pii_digit(t[e - 12])
            && e < len && ngx_pii_upper(c) && ngx_pii_nid2_right(t, len, e + 1)
            && ngx_pii_nid2_left(t, e - 13)
            && ngx_http_llm_pii_nid2_mu(t + e - 13))
        {
            *start = e - 13;
            *end = e + 1;
            return 1;
        }
    }

    if (e >= 14 && ngx_pii_upper(t[e - 14]) && ngx_pii_nid2_left(t, e - 14)
        && ngx_pii_nid2_right(t, len, e))
    {
        for (i = e - 13; i < e && ngx_pii_digit(t[i]); i++) { /* void */ }

        if (i == e && ngx_http_llm_pii_nid2_mu(t + e - 14)) {
            *start = e - 14;
            *end = e;
            return 1;
        }
    }

    /* PE: "10586119B", "10812543-H" */

    b = (c == '-' && e + 1 < len) ? e + 1 : e;

    if (b < len && ngx_pii_alpha(t[b]) && ngx_pii_nid2_right(t, len, b + 1)
        && ngx_pii_nid2_left(t, e - 8))
    {
        for (i = e - 8; i < e && ngx_pii_digit(t[i]); i++) { /* void */ }

        if (i == e && ngx_http_llm_pii_nid2_pe(t + e - 8, t[b])
            && ngx_http_llm_pii_nid2_context(t, e - 8))
        {
            *start = e - 8;
            *end = b + 1;
            return 1;
        }
    }

    if (e == len || !ngx_pii_alpha(c)) {
        return 0;
    }

    /* FI: "131052-308T" */

    if (ngx_pii_upper(c) && ngx_pii_nid2_right(t, len, e + 1)
        && (t[e - 4] == '-' || t[e - 4] == '+')
        && ngx_pii_nid2_left(t, e - 10))
    {
        u_char  d[9];

        for (i = e - 10, b = 0; i < e; i++) {
            if (i == e - 4) {
                continue;
            }

            if (!ngx_pii_digit(t[i])) {
                break;
            }

            d[b++] = t[i];
        }

        if (i == e && ngx_http_llm_pii_nid2_fi(d, c)
            && ngx_http_llm_pii_nid2_context(t, e - 10))
        {
            *start = e - 10;
            *end = e + 1;
            return 1;
        }
    }

    return 0;
}


/* SE interim: "19870512-S989", "19870512u989" after a candidate "YYYYMMDD" */

static int
ngx_http_llm_pii_nid2_interim(const u_char *t, size_t len, size_t e,
    size_t *start, size_t *end)
{
    size_t  k, i;

    k = e;

    if (k < len && (t[k] == '-' || t[k] == '+')) {
        k++;
    }

    if (k + 4 > len || !ngx_pii_alpha(t[k]) || !ngx_pii_digit(t[k + 1])
        || !ngx_pii_digit(t[k + 2]) || !ngx_pii_digit(t[k + 3])
        || !ngx_pii_nid2_right(t, len, k + 4))
    {
        return 0;
    }

    if (e < 8 || !ngx_pii_nid2_left(t, e - 8)) {
        return 0;
    }

    for (i = e - 8; i < e; i++) {
        if (!ngx_pii_digit(t[i])) {
            return 0;
        }
    }

    if (!ngx_http_llm_pii_nid2_se_interim(t + e - 8, t + k)
        || !ngx_http_llm_pii_nid2_context(t, e - 8))
    {
        return 0;
    }

    *start = e - 8;
    *end = k + 4;

    return 1;
}



/* SE interim numbers with the date in 6 digits: "870512-T989" */

static int
ngx_http_llm_pii_nid2_se_interim6(const u_char *date, const u_char *serial)
{
    u_char  d[12];

    d[0] = '1';                      /* a century the check ignores */
    d[1] = '9';
    memcpy(d + 2, date, 6);

    return ngx_http_llm_pii_nid2_se_interim(d, serial);
}


/*
 * The pattern of the second block (compiled without start of match): six
 * digits, then a Finnish century letter and "NNNQ", a Swedish interim
 * serial "TNNC" (after "-" or "+" or not), or "/" and the Czech or Slovak
 * serial (3 digits before 1954, 4 with the mod-11 check after); only after
 * a word that names the number (ngx_http_llm_pii_nid2_context()).
 */

static int
ngx_http_llm_pii_v_national2(const u_char *t, size_t len, size_t *start,
    size_t *end)
{
    u_char  c, d[10];
    size_t  e, s, i, k;

    e = *end;

    if (!ngx_pii_nid2_right(t, len, e)) {
        return 0;
    }

    for (k = 10; k <= 11; k++) {
        if (e < k) {
            break;
        }

        s = e - k;

        if (!ngx_pii_nid2_left(t, s)
            || (s > 1 && (t[s - 1] == '/' || t[s - 1] == '.'
                          || t[s - 1] == '-')
                && ngx_pii_digit(t[s - 2])))
        {
            continue;
        }

        for (i = s; i < s + 6 && ngx_pii_digit(t[i]); i++) { /* void */ }

        if (i < s + 6) {
            continue;
        }

        c = t[s + 6];

        if (c == '/') {
            /* CZ/SK: 9 digits before 1954 (no check), 10 after */

            memcpy(d, t + s, 6);
            memcpy(d + 6, t + s + 7, k - 7);

            for (i = 6; i < k - 1 && ngx_pii_digit(d[i]); i++) { /* void */ }

            if (i < k - 1) {
                continue;
            }

            if (k == 11 ? !ngx_http_llm_pii_nid2_cz(d, 10)
                        : (ngx_pii_d2(d, 0) >= 54
                           || !ngx_http_llm_pii_nid_date(0,
                                  ngx_pii_d2(d, 2) % 50, ngx_pii_d2(d, 4))))
            {
                continue;
            }

        } else if (k == 11 && ngx_pii_upper(c)
                   && ngx_pii_digit(t[s + 7]) && ngx_pii_digit(t[s + 8])
                   && ngx_pii_digit(t[s + 9])
                   && strchr("ABCDEFUVWXY", c) != NULL)
        {
            /* FI: "131052A308T" */

            memcpy(d, t + s, 6);
            memcpy(d + 6, t + s + 7, 3);

            if (!ngx_http_llm_pii_nid2_fi(d, t[e - 1])) {
                /* or SE "870512-T989" below: not with a letter first */
                continue;
            }

        } else {
            /* SE interim: "870512T989", "870512-T989", "870512+T989" */

            i = s + 6;

            if (k == 11) {
                if (t[i] != '-' && t[i] != '+') {
                    continue;
                }

                i++;
            }

            if (!ngx_pii_alpha(t[i])
                || !ngx_http_llm_pii_nid2_se_interim6(t + s, t + i))
            {
                continue;
            }
        }

        if (!ngx_http_llm_pii_nid2_context(t, s)) {
            continue;
        }

        *start = s;

        return 1;
    }

    return 0;
}

/*
 * "scheme://user:passw" at the very end of the text (compiled without start
 * of match): what a stream has of a URL with a password so far, "@" and a
 * part of the host included.  Not a port ("http://host:8080"): the part
 * after the user's ":" has a non-digit.  The user is made of characters a
 * stream holds back (as in the pattern of a whole URL), so the URL is held
 * from its scheme until this takes over.
 */

static int
ngx_http_llm_pii_v_cred_url_open(const u_char *t, size_t len, size_t *start,
    size_t *end)
{
    size_t  s, c, i;

    if (*end != len) {
        return 0;
    }

    /* the last "://", the ":" after the user */

    for (s = len; s >= 3; s--) {
        if (t[s - 1] == '/' && t[s - 2] == '/' && t[s - 3] == ':') {
            break;
        }
    }

    if (s < 3) {
        return 0;
    }

    c = s;

    while (c < len && t[c] != ':') {
        c++;
    }

    for (i = c + 1; i < len && ngx_pii_digit(t[i]); i++) { /* void */ }

    if (c == len || i == len) {
        return 0;
    }

    s = ngx_http_llm_pii_scheme(t, s - 3);

    if (s == NGX_HTTP_LLM_PII_NONE) {
        return 0;
    }

    *start = s;

    return 1;
}


/*
 * Secret recall, second block: the validators of the patterns appended to
 * the table ("Provider names" and what follows).  They reuse the context
 * detector's checks (ngx_http_llm_pii_random(), _name_negated()) and
 * follow its rules for streams: a word may lie in the released context, a
 * token is made of characters a stream holds back.
 */


/* a word between a provider's name and a token that says it is no key */

static const ngx_http_llm_pii_word_t  ngx_http_llm_pii_not_key[] = {
    ngx_pii_w("user"), ngx_pii_w("username"), ngx_pii_w("login"),
    ngx_pii_w("email"), ngx_pii_w("account"), ngx_pii_w("acct"),
    ngx_pii_w("org"), ngx_pii_w("organization"), ngx_pii_w("team"),
    ngx_pii_w("project"), ngx_pii_w("workspace"), ngx_pii_w("tenant"),
    ngx_pii_w("region"), ngx_pii_w("zone"), ngx_pii_w("bucket"),
    ngx_pii_w("cluster"), ngx_pii_w("instance"), ngx_pii_w("channel"),
    ngx_pii_w("repo"), ngx_pii_w("repository"), ngx_pii_w("branch"),
    ngx_pii_w("tag"), ngx_pii_w("release"), ngx_pii_w("build"),
    ngx_pii_w("run"), ngx_pii_w("job"), ngx_pii_w("workflow"),
    ngx_pii_w("pipeline"), ngx_pii_w("issue"), ngx_pii_w("ticket"),
    ngx_pii_w("pr"), ngx_pii_w("event"), ngx_pii_w("request"),
    ngx_pii_w("req"), ngx_pii_w("trace"), ngx_pii_w("span"),
    ngx_pii_w("ray"), ngx_pii_w("order"), ngx_pii_w("invoice"),
    ngx_pii_w("customer"), ngx_pii_w("charge"), ngx_pii_w("payment"),
    ngx_pii_w("subscription"), ngx_pii_w("price"), ngx_pii_w("product"),
    ngx_pii_w("plan"), ngx_pii_w("message"), ngx_pii_w("msg"),
    ngx_pii_w("app"), ngx_pii_w("site"), ngx_pii_w("page"),
    ngx_pii_w("dashboard"), ngx_pii_w("model"), ngx_pii_w("image"),
    ngx_pii_w("container"), ngx_pii_w("package"), ngx_pii_w("gist"),
    ngx_pii_w("file"), ngx_pii_w("sheet"), ngx_pii_w("doc"),
    ngx_pii_w("document"), ngx_pii_w("folder"), ngx_pii_w("record"),
    ngx_pii_w("object"), ngx_pii_w("resource"), ngx_pii_w("deployment"),
    ngx_pii_w("session"), ngx_pii_w("number"), ngx_pii_w("code"),
    ngx_pii_w("status"), ngx_pii_w("error"), ngx_pii_w("sid"),
    ngx_pii_w("style"), ngx_pii_w("styles"), ngx_pii_w("map"),
    { NULL, 0 }
};


static int
ngx_http_llm_pii_not_key_name(const u_char *p, size_t n)
{
    size_t  i, s;

    if (ngx_http_llm_pii_name_negated(p, n)) {
        return 1;
    }

    s = 0;

    for (i = 0; i <= n; i++) {
        if (i == n || !ngx_pii_alnum(p[i])
            || (i > s && ngx_pii_upper(p[i]) && ngx_pii_lower(p[i - 1]))
            || (i > s && ngx_pii_digit(p[i]) != ngx_pii_digit(p[i - 1])))
        {
            if (i - s >= 2 && i - s <= 12
                && ngx_http_llm_pii_in_list(p + s, i - s,
                                            ngx_http_llm_pii_not_key))
            {
                return 1;
            }

            s = (i < n && ngx_pii_alnum(p[i])) ? i : i + 1;
        }
    }

    return 0;
}


/*
 * The token after a name that ends at e (w: the name's start): the first
 * run of value characters of at least min characters that starts within
 * CONTEXT_GAP bytes after e on the same line, with at most three short
 * words before it, none of which says that the value is something else;
 * it must look random.  The name's start and the token's start stay
 * within a stream's context (w is looked at, and one byte before it).
 */

static int
ngx_http_llm_pii_named_token(const u_char *t, size_t len, size_t w,
    size_t e, size_t min, size_t *start, size_t *end)
{
    size_t  p, a, b, v, ve, limit, skipped;

    limit = e + NGX_HTTP_LLM_PII_CONTEXT_GAP;

    /* a run of value characters long enough to look at, on this line */

    for (p = e, a = e; p < len; p++) {
        if (ngx_pii_valch(t[p])) {
            if (p + 1 - a >= 8) {
                break;
            }

            continue;
        }

        if (t[p] == '\n' || t[p] == '\r' || p >= limit) {
            return 0;
        }

        a = p + 1;
    }

    if (p == len && a >= limit) {
        return 0;
    }

    /* the rest of the name: "_API_KEY", "1", not "_id", "_user" */

    for (p = e; p < len && ngx_pii_word(t[p]); p++) {
        if (p - e >= NGX_HTTP_LLM_PII_CONTEXT_TAIL) {
            return 0;
        }
    }

    if (p > e && ngx_http_llm_pii_not_key_name(t + e, p - e)) {
        return 0;
    }

    skipped = 0;

    for ( ;; ) {

        while (p < len && p < limit && !ngx_pii_valch(t[p])) {
            if (t[p] == '\n' || t[p] == '\r') {
                return 0;
            }

            p++;
        }

        if (p >= len || p >= limit) {
            return 0;
        }

        v = NGX_HTTP_LLM_PII_NONE;

        for (a = p; p < len && ngx_pii_valch(t[p]); p++) {
            if (p - a >= NGX_HTTP_LLM_PII_RUN_MAX) {
                return 0;
            }

            if (v == NGX_HTTP_LLM_PII_NONE) {
                if (ngx_pii_alnum(t[p])) {
                    v = p;
                }

            } else if (t[p] == '=' && p + 1 < len && ngx_pii_alnum(t[p + 1])
                       && !ngx_http_llm_pii_b64_part(t + v, p - v))
            {
                /* "KEY=value": the value, unless the name says otherwise */
                if (ngx_http_llm_pii_not_key_name(t + v, p - v)) {
                    return 0;
                }

                v = p + 1;
            }
        }

        b = p;

        if (v == NGX_HTTP_LLM_PII_NONE || v == b) {
            continue;
        }

        for (ve = b; ve > v && t[ve - 1] == '.'; ve--) { /* void */ }

        if (ve - v >= min) {
            if ((b < len && t[b] == '@') || v >= limit
                || v - w > NGX_HTTP_LLM_PII_CONTEXT - 2)
            {
                return 0;
            }

            /* a path or a URL ("mapbox://styles/user/ck2x..."), not base64 */

            if ((memchr(t + v, '/', ve - v) != NULL
                 || memchr(t + a, '/', v - a) != NULL)
                && memchr(t + v, '+', ve - v) == NULL
                && memchr(t + v, '=', ve - v) == NULL)
            {
                return 0;
            }

            if (!ngx_http_llm_pii_random(t + v, ve - v, min)) {
                return 0;
            }

            if (!ngx_http_llm_pii_pair_end(t, len, v, &b, &ve)) {
                return 0;
            }

            *start = v;
            *end = ve;

            return 1;
        }

        if (++skipped > 3 || ngx_http_llm_pii_not_key_name(t + v, ve - v)) {
            return 0;
        }

        if (b < len && t[b] == ':') {
            return 0;                       /* "github user: ...": another */
        }
    }
}


/*
 * Provider names: "mapbox sk.nc7.R5t...", "aws: AKIA...", "stripe
 * '...'".  The name is a word of its own, or the first part of a name
 * ("mapboxToken", "SENDGRID_KEY"); not part of a host or a path
 * ("github.com/...", "api.stripe.com", "@sentry/node").
 */

static int
ngx_http_llm_pii_v_provider(const u_char *t, size_t len, size_t *start,
    size_t *end)
{
    u_char  c;
    size_t  w, e;

    w = *start;
    e = *end - 1;                     /* the character after the name */

    if (w > 0) {
        c = t[w - 1];

        if (ngx_pii_digit(c) || c == '.' || c == '/' || c == '@'
            || c == '-' || c == '_'
            || (ngx_pii_alpha(c) && !(ngx_pii_lower(c) && ngx_pii_upper(t[w]))))
        {
            return 0;
        }
    }

    c = t[e];

    if (c == '/' || c == '@'
        || (c == '.' && e + 1 < len && ngx_pii_alpha(t[e + 1])))
    {
        return 0;
    }

    return ngx_http_llm_pii_named_token(t, len, w, e, 16, start, end);
}


/* Tableau personal access token secrets: "<22 base64>==:<32>" */

static int
ngx_http_llm_pii_v_tableau(const u_char *t, size_t len, size_t *start,
    size_t *end)
{
    u_char  c;

    if (*start > 0) {
        c = t[*start - 1];

        if (ngx_pii_alnum(c) || c == '+' || c == '/' || c == '=') {
            return 0;
        }
    }

    if (*end < len && ngx_pii_tokch(t[*end])) {
        return 0;
    }

    return ngx_http_llm_pii_random(t + *end - 32, 32, 16);
}


/*
 * Azure shared access signatures: "sv=2022-11-02&ss=b&...&sig=...", the
 * query whole, with the parameters after "sig=" (all of them characters a
 * stream holds back).  Back from "sig=" over the parameters to the query's
 * start ("?", a space, a quote, or "NAME=" before the first parameter); the
 * query must have "sv=" (the signed version).
 */

#define ngx_pii_sasch(c)  (ngx_pii_alnum(c) || (c) == '%' || (c) == ':'      \
                           || (c) == '.' || (c) == '_' || (c) == '='          \
                           || (c) == '&' || (c) == '-')

static int
ngx_http_llm_pii_v_sas(const u_char *t, size_t len, size_t *start,
    size_t *end)
{
    size_t  e, g, s, p, q, eq;
    int     sv;

    e = *end;

    if (e < len && (ngx_pii_alnum(t[e]) || t[e] == '+' || t[e] == '/'
                    || t[e] == '%' || t[e] == '='))
    {
        return 0;
    }

    /* the parameters after the signature */

    while (e + 1 < len && t[e] == '&' && ngx_pii_alpha(t[e + 1])) {
        for (p = e + 1; p < len && ngx_pii_sasch(t[p]) && t[p] != '&'; p++) {
            /* void */
        }

        e = p;
    }

    /* "sig=": its start, the last one before the end */

    for (g = *end; g >= 4; g--) {
        if (t[g - 4] == 's' && t[g - 3] == 'i' && t[g - 2] == 'g'
            && t[g - 1] == '=')
        {
            break;
        }
    }

    if (g < 4) {
        return 0;
    }

    g -= 4;

    if (g == 0 || t[g - 1] != '&') {
        return 0;                   /* the signature alone says nothing */
    }

    for (s = g; s > 0 && g - s < 512 && ngx_pii_sasch(t[s - 1]); s--) {
        /* void */
    }

    /* "NAME=sv=...": the query starts after the name */

    for (q = s; q < g && t[q] != '&'; q++) { /* void */ }

    eq = 0;

    for (p = s; p < q; p++) {
        if (t[p] == '=') {
            eq++;
        }
    }

    if (eq > 1) {
        while (t[s] != '=') {
            s++;
        }

        s++;
    }

    /* the parameters: "sv=" among them */

    sv = 0;

    for (p = s; p < g; p++) {
        if ((p == s || t[p - 1] == '&') && p + 3 <= g
            && t[p] == 's' && t[p + 1] == 'v' && t[p + 2] == '=')
        {
            sv = 1;
        }
    }

    if (!sv) {
        return 0;
    }

    *start = s;
    *end = e;

    return 1;
}


/*
 * Bundler: "BUNDLE_GEMS__EXAMPLE__COM=user:password" (compiled without
 * start of match): the value, after the name; the name's start within a
 * stream's context before the value.
 */

static int
ngx_http_llm_pii_v_bundler(const u_char *t, size_t len, size_t *start,
    size_t *end)
{
    u_char  c;
    size_t  e, k, n, v;

    e = *end;

    /* back to "BUNDLE_", at most a context before the end */

    for (n = e; n >= 7; n--) {
        if (memcmp(t + n - 7, "BUNDLE_", 7) == 0) {
            break;
        }

        if (e - n > 2 * NGX_HTTP_LLM_PII_CONTEXT) {
            return 0;
        }
    }

    if (n < 7) {
        return 0;
    }

    n -= 7;

    if (n > 0 && (ngx_pii_word(t[n - 1]))) {
        return 0;
    }

    for (v = n + 7; v < e && (ngx_pii_upper(t[v]) || ngx_pii_digit(t[v])
                              || t[v] == '_');
         v++)
    {
        /* void */
    }

    /*
     * the name of the pattern ("__" and two capitals at its end): not
     * another "BUNDLE_" nearer the end than the one that matched, which a
     * stream may have released with its context
     */

    for (k = v; k > n + 7 && ngx_pii_upper(t[k - 1]); k--) { /* void */ }

    if (v - k < 2 || k < n + 9 || t[k - 1] != '_' || t[k - 2] != '_') {
        return 0;
    }

    /*
     * the pattern itself after the name: the match may have begun at an
     * earlier name (its password runs on over anything but a blank or a
     * quote), which a stream has released with its context; so this name
     * is taken only with an assignment and "user:x" of its own, as the
     * pattern would match it from here: ["']? [ \t]{0,2} [:=] [ \t]{0,2}
     * ["']? [A-Za-z0-9._%+-]+ ":" and a character, not a blank or a quote
     */

    if (v < len && (t[v] == '"' || t[v] == '\'')) {
        v++;
    }

    for (k = 0; k < 2 && v < len && (t[v] == ' ' || t[v] == '\t'); k++) {
        v++;
    }

    if (v >= len || (t[v] != ':' && t[v] != '=')) {
        return 0;
    }

    v++;

    for (k = 0; k < 2 && v < len && (t[v] == ' ' || t[v] == '\t'); k++) {
        v++;
    }

    if (v < len && (t[v] == '"' || t[v] == '\'')) {
        v++;
    }

    for (k = v; k < len && (ngx_pii_alnum(t[k]) || t[k] == '.' || t[k] == '_'
                            || t[k] == '%' || t[k] == '+' || t[k] == '-');
         k++)
    {
        /* void */
    }

    if (k == v || k + 1 >= len || t[k] != ':'
        || (t[k + 1] != 0 && strchr(" \t\n\v\f\r\"'", t[k + 1]) != NULL))
    {
        return 0;
    }

    if (v >= e || v - n > NGX_HTTP_LLM_PII_CONTEXT - 1) {
        return 0;
    }

    c = t[v];

    if (c == '$' || c == '<' || c == '{' || c == '%') {
        return 0;
    }

    /*
     * the value: up to the first character a stream does not hold back
     * (";", ",", a blank, a quote), whatever follows it
     */

    for (e = v; e < len; e++) {
        c = t[e];

        if (!(ngx_pii_alnum(c) || (c != 0 && strchr("._%+@:/=~!#$&*?^{|}()-",
                                                     c) != NULL)))
        {
            break;
        }
    }

    if (e == v || memchr(t + v, ':', e - v) == NULL) {
        return 0;
    }

    *start = v;
    *end = e;

    return 1;
}


/*
 * A password assigned in a configuration file (compiled without start of
 * match; the match ends after the assignment and its blanks).  The value:
 *
 *   - quoted ("..." or '...'), up to the closing quote, or bare, up to a
 *     blank, a line end, ",", ";" or "#" (a comment);
 *   - 6 to 128 characters that a stream holds back (letters, digits and
 *     "._%+-@:()/=~!$&*?^{|}" ...): a value with another one is not
 *     taken, in a whole text as in a stream, which could have released
 *     its first part;
 *   - a letter and a digit or another character, or a quoted value of 8
 *     or more letters ("rootpasswd"), not a placeholder ("changeme",
 *     "${DB_PASS}", "<password>", "%PASSWORD%", "****", "your..."), not
 *     a word that names the value itself ("password", "secret", "none");
 *   - the name does not say that the value is something else
 *     ("password_file", "PASSWORD_HASH", "pwd_length"), and the name is a
 *     name: not part of a longer word ("passwordless").
 *
 * The closing quote or the blank after the value comes after it; a stream
 * holds the value (a run) until that character arrives.
 */

static int
ngx_http_llm_pii_v_password(const u_char *t, size_t len, size_t *start,
    size_t *end)
{
    u_char   c, q;
    size_t   e, n, p, v, ve, i, k;
    unsigned alpha, digit, other;

    static const char  *words[] = {
        "password", "passwd", "secret", "changeme", "none", "null", "true",
        "false", "empty", "required", "optional", "string", "undefined",
        NULL
    };

    e = *end;

    /* the name: back over name characters to "pass" / "pwd" */

    for (n = e; n > 0 && (t[n - 1] == ' ' || t[n - 1] == '\t'
                          || t[n - 1] == ':' || t[n - 1] == '='
                          || t[n - 1] == '>');
         n--)
    {
        /* void */
    }

    if (n > 0 && (t[n - 1] == '"' || t[n - 1] == '\'')) {
        n--;
    }

    p = n;

    for (i = n; i > 0 && n - i < 40 && (ngx_pii_alnum(t[i - 1])
                                        || t[i - 1] == '_' || t[i - 1] == '.'
                                        || t[i - 1] == '-');
         i--)
    {
        /* void */
    }

    /* the credential word in the name, and what follows it */

    for ( /* void */ ; i < p; i++) {
        if (ngx_http_llm_pii_casecmp(t + i, "passw", 5)
            || (ngx_http_llm_pii_casecmp(t + i, "pwd", 3)
                && (i == 0 || !ngx_pii_lower(t[i - 1]))))
        {
            break;
        }
    }

    if (i == p || e - i > NGX_HTTP_LLM_PII_CONTEXT - 8) {
        return 0;
    }

    for (v = i; v < p && ngx_pii_alpha(t[v]); v++) { /* void */ }

    if (v < p && ngx_pii_lower(t[v - 1]) && ngx_pii_lower(t[v])) {
        return 0;                                   /* "passwordless" */
    }

    if (v < p && ngx_http_llm_pii_name_negated(t + v, p - v)) {
        return 0;
    }

    /* the value */

    v = e;
    q = 0;

    if (v < len && (t[v] == '"' || t[v] == '\'' || t[v] == '`')) {
        q = t[v++];
    }

    alpha = 0;
    digit = 0;
    other = 0;

    for (ve = v; ve < len; ve++) {
        c = t[ve];

        if (q ? c == q
              : (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == ','
                 || c == ';' || c == '#' || c == '"'))
        {
            break;
        }

        if (ngx_pii_alpha(c)) {
            alpha++;

        } else if (ngx_pii_digit(c)) {
            digit++;

        } else if (c != 0 && strchr("._%+-@:()/=~!$&*?^{|}'", c) != NULL) {
            other++;

        } else {
            return 0;
        }

        if (ve - v > 128) {
            return 0;
        }
    }

    /*
     * At the end of the text: in a stream it may go on, but it is a run
     * that the stream holds whole anyway, and judged again with what
     * follows; in a whole text it ends there.
     */

    while (!q && ve > v && (t[ve - 1] == '.' || t[ve - 1] == ':')) {
        ve--;                       /* the end of a sentence */
    }

    n = ve - v;

    if (n < 6 || alpha == 0) {
        return 0;
    }

    if (digit + other == 0 && !(q && n >= 8)) {
        return 0;
    }

    c = t[v];

    if (c == '$' || c == '%' || c == '{' || c == '*' || c == '<'
        || c == '(' || c == '&')
    {
        return 0;
    }

    if (ngx_http_llm_pii_fake(t + v, n)
        || ngx_http_llm_pii_placeholder_run(t + v, n))
    {
        return 0;
    }

    for (k = n; k > 0 && t[v + k - 1] == '='; k--) { /* void */ }

    for (i = 0; words[i]; i++) {
        if (k == strlen(words[i])
            && ngx_http_llm_pii_casecmp(t + v, words[i], k))
        {
            return 0;
        }
    }

    /* another assignment in a bare value: "password=pwd=x" */

    if (!q) {
        for (i = v; i + 1 < ve; i++) {
            if (t[i] == '=' && t[i + 1] != '=') {
                return 0;
            }
        }
    }

    /* an expression: "os.getenv(...)", "var.db_password", "env:X" */

    if (!q && (memchr(t + v, '(', n) != NULL
               || (n > 4 && (ngx_http_llm_pii_casecmp(t + v, "var.", 4)
                             || ngx_http_llm_pii_casecmp(t + v, "env.", 4)))))
    {
        return 0;
    }

    *start = v;
    *end = ve;

    return 1;
}


/*
 * Secret recall, third block: fixed formats and the shorter values a
 * credential's name vouches for.
 *
 * An Azure storage account key: 88 characters of base64 ending in "==",
 * whole (no base64 character before or after it), with capitals, small
 * letters and digits as 64 random bytes have them; not a SHA-512 digest
 * ("sha512-...==" in a lock file, "SHA512: ...==").
 */

static int
ngx_http_llm_pii_v_b64key(const u_char *t, size_t len, size_t *start,
    size_t *end)
{
    u_char    c;
    size_t    i, s, e;
    unsigned  upper, lower, digit;

    e = *end;

    if (e < 88) {
        return 0;
    }

    s = e - 88;

    if (s > 0) {
        c = t[s - 1];

        if (ngx_pii_alnum(c) || c == '+' || c == '/' || c == '-'
            || c == '_')
        {
            return 0;
        }
    }

    if (e < len) {
        c = t[e];

        if (ngx_pii_alnum(c) || c == '+' || c == '/' || c == '='
            || c == '-' || c == '_')
        {
            return 0;
        }
    }

    /* "sha512-", "SHA512: ", "sha-512=" just before it */

    for (i = (s > 12) ? s - 12 : 0; i + 3 <= s; i++) {
        if (t[i] == '5' && t[i + 1] == '1' && t[i + 2] == '2') {
            return 0;
        }
    }

    upper = 0;
    lower = 0;
    digit = 0;

    for (i = s; i < e - 2; i++) {
        c = t[i];

        upper += ngx_pii_upper(c);
        lower += ngx_pii_lower(c);
        digit += ngx_pii_digit(c);
    }

    if (upper < 10 || lower < 10 || digit < 3
        || ngx_http_llm_pii_placeholder_run(t + s, 86))
    {
        return 0;
    }

    *start = s;

    return 1;
}


/*
 * An HTTP header whose name ends with the credential word that ends at e:
 * "X-Api-Key: ...", "Api-Token: ...", "X-Auth-Token: ...",
 * "Private-Token: ...".  The name has a "-" before the word, starts a
 * line, a quoted string or an argument, and is followed by ": ".  It is
 * looked at no further than 40 bytes before the word (the value follows
 * within 4 bytes: all of it is in a stream's context).
 */

static int
ngx_http_llm_pii_header_name(const u_char *t, size_t len, size_t w,
    size_t e)
{
    u_char  c;
    size_t  ns;

    if (w < 2 || t[w - 1] != '-' || e + 1 >= len || t[e] != ':'
        || (t[e + 1] != ' ' && t[e + 1] != '\t'))
    {
        return 0;
    }

    for (ns = w - 1; ns > 0 && w - ns < 40; ns--) {
        c = t[ns - 1];

        if (!(ngx_pii_alnum(c) || c == '-')) {
            break;
        }
    }

    if (!ngx_pii_alpha(t[ns])) {
        return 0;
    }

    if (ns == 0) {
        return 1;
    }

    c = t[ns - 1];

    return (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '"'
            || c == '\'' || c == '{' || c == '(' || c == '[' || c == ',');
}


/*
 * A quoted value right after a credential's name that ngx_http_llm_pii_
 * random() does not take, as it has no letters or no digits:
 *
 *   - 20 to 64 digits ("token = '9734741337193905126710251'"): longer than
 *     a card number, no run of five times one digit, not counting
 *     ("12345678901234567890"), six different digits or more;
 *   - 16 to 64 letters of both cases and no digit
 *     ("token = 'SSVmFDNCFfOHKXQAEckx'"): a quarter capitals or more,
 *     fewer than 20 % vowels, the case changing at least once in five
 *     letters (an identifier, "AccessTokenValue", has words: vowels), no
 *     placeholder word.
 *
 * The quotes say where it ends.
 */

static int
ngx_http_llm_pii_quoted_token(const u_char *t, size_t len, size_t v,
    size_t ve)
{
    u_char    c, q;
    size_t    i, n, run, max_run, step;
    unsigned  upper, lower, digit, vowel, tr, seen;

    n = ve - v;

    if (v == 0 || ve >= len || n < 16 || n > 64) {
        return 0;
    }

    q = t[v - 1];

    if ((q != '\'' && q != '"') || t[ve] != q) {
        return 0;
    }

    upper = 0;
    lower = 0;
    digit = 0;
    vowel = 0;
    tr = 0;
    step = 0;
    seen = 0;
    run = 0;
    max_run = 0;

    for (i = v; i < ve; i++) {
        c = t[i];

        run = (i > v && t[i - 1] == c) ? run + 1 : 1;

        if (run > max_run) {
            max_run = run;
        }

        if (ngx_pii_digit(c)) {
            digit++;
            seen |= 1u << (c - '0');

            if (i > v && ngx_pii_digit(t[i - 1])
                && (unsigned) (t[i - 1] - '0' + 1) % 10
                   == (unsigned) (c - '0'))
            {
                step++;
            }

            continue;
        }

        if (ngx_pii_upper(c)) {
            upper++;

        } else if (ngx_pii_lower(c)) {
            lower++;

        } else {
            return 0;
        }

        c |= 0x20;
        vowel += (c == 'a' || c == 'e' || c == 'i' || c == 'o' || c == 'u');

        if (i > v && ngx_pii_alpha(t[i - 1])
            && ngx_pii_upper(t[i - 1]) != ngx_pii_upper(t[i]))
        {
            tr++;
        }
    }

    if (max_run > 4) {
        return 0;
    }

    if (digit == n) {
        for (i = 0, run = 0; i < 10; i++) {
            run += (seen >> i) & 1;
        }

        return (n >= 20 && step * 3 < n && run >= 6);
    }

    if (digit) {
        return 0;
    }

    return (upper * 4 >= n && lower >= 2 && vowel * 5 < n && tr * 5 >= n
            && !ngx_http_llm_pii_fake(t + v, n));
}


/*
 * A token of a fixed format (the third block's first entry), whole: no
 * token character before or after it; base64url may end in "-"; six
 * times the same character is a placeholder, but for the Entra version
 * marker ".AgABAAAAAAD", which is part of the format.
 */

static int
ngx_http_llm_pii_v_fixed(const u_char *t, size_t len, size_t *start,
    size_t *end)
{
    size_t         s;
    const u_char  *m;

    if ((*start > 0 && ngx_pii_tokch(t[*start - 1]))
        || (*end < len && ngx_pii_tokch(t[*end])))
    {
        return 0;
    }

    s = *start;

    m = ngx_http_llm_pii_memmem(t + s, t + *end, ".AgABAAAAAAD", 12);

    if (m != NULL) {
        s = (m - t) + 12;
    }

    return !ngx_http_llm_pii_placeholder_run(t + s, *end - s);
}


/*
 * A quoted value right after a credential's name, with characters other
 * than the context detector's ("'sk_ubb4yN3mzqGR2x8#P7r5&@*xC$utE'",
 * "'ai$oy@v8w9-$rcawnt^87rv3-9k0t&srbc8v'"), from v (after the opening
 * quote) to the closing quote on the same line; its end, or 0:
 *
 *   - only characters a stream holds back in a run (letters, digits,
 *     "._%+-@:()/=~!#$&*?^{|}", and "'" in double quotes): a stream holds
 *     the value whole until the closing quote comes, and a value with
 *     another character (a blank, "]", ";", "<", '"') is not taken, in a
 *     whole text as in a stream, which could have released its first
 *     part;
 *   - 12 to 128 characters; four letters, two digits and a character
 *     other than a letter or a digit (without one, the token rules apply);
 *     entropy of at least 3.5 bits a character (of the first 64); no run
 *     of five; not a placeholder or a template ("${", "{{", "<", "#{",
 *     "%(", "your", "example", ...), not a URL ("://"); a "/" only with
 *     both cases and digits (not a path).
 */

static size_t
ngx_http_llm_pii_quoted_any(const u_char *t, size_t len, size_t v)
{
    u_char    c, q;
    size_t    i, n, m, run, max_run;
    unsigned  h, alpha, digit, other, upper, lower;

    q = t[v - 1];

    alpha = 0;
    digit = 0;
    other = 0;
    upper = 0;
    lower = 0;
    run = 0;
    max_run = 0;

    for (i = v; i < len; i++) {
        c = t[i];

        if (c == q) {
            break;
        }

        if (i - v >= 128) {
            return 0;
        }

        run = (i > v && t[i - 1] == c) ? run + 1 : 1;

        if (run > max_run) {
            max_run = run;
        }

        if (ngx_pii_alpha(c)) {
            alpha++;
            upper += ngx_pii_upper(c);
            lower += ngx_pii_lower(c);

        } else if (ngx_pii_digit(c)) {
            digit++;

        } else if (c != 0 && strchr("._%+-@:()/=~!#$&*?^{|}'", c) != NULL) {
            other++;

        } else {
            return 0;
        }
    }

    if (i == len) {
        return 0;                       /* not closed: it may go on */
    }

    n = i - v;

    if (n < 12 || alpha < 4 || digit < 2 || other == 0 || max_run > 4) {
        return 0;
    }

    if (ngx_http_llm_pii_fake(t + v, n)
        || ngx_http_llm_pii_memmem(t + v, t + i, "://", 3) != NULL
        || ngx_http_llm_pii_memmem(t + v, t + i, "#{", 2) != NULL
        || ngx_http_llm_pii_memmem(t + v, t + i, "%(", 2) != NULL
        || (memchr(t + v, '/', n) != NULL && !(upper && lower && digit)))
    {
        return 0;
    }

    /* entropy of the first 64 characters, in thousandths of a bit */

    m = (n < 64) ? n : 64;

    h = ngx_http_llm_pii_entropy(t + v, m);

    if (h < 3500 * m) {
        return 0;
    }

    return v + n;
}


/*
 * Secret recall, fourth block: manifests and credential files.
 *
 * Kubernetes Secret manifests (YAML): the members of the "data:" block of
 * a document whose "kind:" is Secret are base64 ("password: UyFCXCpk...",
 * "tls.key: |" and the value on the lines after it); they are taken when
 * the value has 10 base64 characters or more (a shorter one, "YmFyCg==",
 * is a word or a placeholder).  The span starts right after the line that
 * was matched (with "kind:" first, the lines between it and the block are
 * masked too) and ends with the last such value: so the matched line is
 * never more than a stream's context before the span, and a stream that
 * has not released the span yet (another value held before it) still has
 * the line to match again (a span that started further on was lost when
 * the line left the context: found by the fuzzer).
 * The "kind:" line may come before the block (ngx_http_llm_pii_v_k8s_kind())
 * or after it (_v_k8s_data()), within K8S_GAP bytes, in the same document
 * (no "---" and no other "kind:" line between).  Each validator reads
 * forward only, at most K8S_GAP bytes and a block of K8S_BLOCK bytes; at
 * the end of the text before it could decide, it answers
 * NGX_HTTP_LLM_PII_OPEN with what the text as it is gives, and a stream
 * holds from the "kind:" or "data:" line (NGX_HTTP_LLM_PII_HOLD_SOM), so
 * that it reads the same bytes as the whole text.
 */

#define NGX_HTTP_LLM_PII_K8S_GAP    512
#define NGX_HTTP_LLM_PII_K8S_BLOCK  4096
#define NGX_HTTP_LLM_PII_K8S_INDENT 16

#define ngx_pii_b64(c)  (ngx_pii_alnum(c) || (c) == '+' || (c) == '/')


/*
 * The start of the line of s, if only blanks come before s on it and a
 * line break before them, or NONE.  Not the start of the text: a stream's
 * text may start there in the middle of a line (its context released, the
 * line break with it), and a stream must answer what the whole text
 * answers (a line at the very start of a text is not taken: the lines of a
 * manifest come after "apiVersion:").  A stream that holds from the line
 * (NGX_HTTP_LLM_PII_HOLD_SOM) keeps the line break in its context: at most
 * K8S_INDENT blanks come between.
 */

static size_t
ngx_http_llm_pii_k8s_line(const u_char *t, size_t s)
{
    size_t  p;

    for (p = s; p > 0 && (t[p - 1] == ' ' || t[p - 1] == '\t'); p--) {
        if (s - p >= NGX_HTTP_LLM_PII_K8S_INDENT) {
            return NGX_HTTP_LLM_PII_NONE;
        }
    }

    if (p == 0 || t[p - 1] != '\n') {
        return NGX_HTTP_LLM_PII_NONE;
    }

    return p;
}


/* the end of the line at p: its '\n', or len */

static size_t
ngx_http_llm_pii_k8s_eol(const u_char *t, size_t len, size_t p)
{
    const u_char  *n;

    n = memchr(t + p, '\n', len - p);

    return (n == NULL) ? len : (size_t) (n - t);
}


/*
 * From p (after a quote or the blanks after ":") to the end of a base64
 * value on this line: its end, the number of base64 characters before the
 * padding; NONE when the line has something else (a template, a quoted
 * empty string, a comment is fine).
 */

static size_t
ngx_http_llm_pii_k8s_value(const u_char *t, size_t len, size_t p,
    size_t *n)
{
    u_char  q;
    size_t  v, e;

    q = 0;

    if (p < len && (t[p] == '"' || t[p] == '\'')) {
        q = t[p++];
    }

    for (v = p; p < len && ngx_pii_b64(t[p]); p++) { /* void */ }

    *n = p - v;

    while (p < len && t[p] == '=' && p - v < *n + 2) {
        p++;
    }

    e = p;

    if (q) {
        if (p < len && t[p] != q) {
            return NGX_HTTP_LLM_PII_NONE;
        }

        if (p < len) {
            p++;
        }
    }

    while (p < len && (t[p] == ' ' || t[p] == '\t' || t[p] == '\r')) {
        p++;
    }

    if (p < len && t[p] != '\n' && t[p] != '#') {
        return NGX_HTTP_LLM_PII_NONE;
    }

    return e;
}


/*
 * The members of a block whose lines are indented more than di, from the
 * line at p: [*bs, *be) from the first base64 member's name to the last
 * one's value (*bs == NONE: none), *next the line after the block.
 * NGX_HTTP_LLM_PII_OPEN: the text ends in the block (it may go on).
 */

static int
ngx_http_llm_pii_k8s_block(const u_char *t, size_t len, size_t p, size_t di,
    size_t *bs, size_t *be, size_t *next)
{
    u_char  c;
    size_t  q, k, ind, eol, v, ve, n, m, lim;

    *bs = NGX_HTTP_LLM_PII_NONE;
    *be = NGX_HTTP_LLM_PII_NONE;

    lim = p + NGX_HTTP_LLM_PII_K8S_BLOCK;

    for ( ;; ) {
        if (p >= len) {
            return NGX_HTTP_LLM_PII_OPEN;
        }

        if (p >= lim) {
            *next = p;
            return 1;
        }

        for (q = p; q < len && (t[q] == ' ' || t[q] == '\t'); q++) {
            /* void */
        }

        if (q == len) {
            return NGX_HTTP_LLM_PII_OPEN;
        }

        ind = q - p;
        eol = ngx_http_llm_pii_k8s_eol(t, len, q);

        if (t[q] == '\n' || t[q] == '\r') {
            if (eol == len) {
                return NGX_HTTP_LLM_PII_OPEN;
            }

            p = eol + 1;                       /* a blank line */
            continue;
        }

        if (ind <= di) {
            *next = p;                         /* the block has ended */
            return 1;
        }

        if (t[q] == '#') {
            if (eol == len) {
                return NGX_HTTP_LLM_PII_OPEN;
            }

            p = eol + 1;
            continue;
        }

        /* "name:", the name of a key of a Secret */

        for (k = q; k < eol; k++) {
            c = t[k];

            if (!(ngx_pii_alnum(c) || c == '.' || c == '_' || c == '-')) {
                break;
            }
        }

        if (k == q || k == eol || t[k] != ':') {
            if (eol == len) {
                return NGX_HTTP_LLM_PII_OPEN;
            }

            *next = p;                         /* no member: the end */
            return 1;
        }

        for (v = k + 1; v < len && (t[v] == ' ' || t[v] == '\t'); v++) {
            /* void */
        }

        if (v == len) {
            return NGX_HTTP_LLM_PII_OPEN;
        }

        if (t[v] != '|' && t[v] != '>') {
            ve = ngx_http_llm_pii_k8s_value(t, len, v, &n);

            if (ve != NGX_HTTP_LLM_PII_NONE && n >= 10) {
                if (*bs == NGX_HTTP_LLM_PII_NONE) {
                    *bs = q;
                }

                *be = ve;
            }

            if (eol == len) {
                return NGX_HTTP_LLM_PII_OPEN;
            }

            p = eol + 1;
            continue;
        }

        /* a block scalar: the value on the lines after, indented more */

        for (v++; v < len && (t[v] == '-' || t[v] == '+'
                              || ngx_pii_digit(t[v]) || t[v] == ' '
                              || t[v] == '\t' || t[v] == '\r');
             v++)
        {
            /* void */
        }

        if (v == len) {
            return NGX_HTTP_LLM_PII_OPEN;
        }

        if (t[v] != '\n') {
            *next = p;
            return 1;
        }

        n = 0;
        ve = NGX_HTTP_LLM_PII_NONE;

        for (p = v + 1; p < len; p = eol + 1) {
            for (v = p; v < len && (t[v] == ' ' || t[v] == '\t'); v++) {
                /* void */
            }

            if (v == len || v - p <= ind || t[v] == '\n' || t[v] == '\r') {
                break;
            }

            eol = ngx_http_llm_pii_k8s_eol(t, len, v);
            k = ngx_http_llm_pii_k8s_value(t, len, v, &m);

            if (k == NGX_HTTP_LLM_PII_NONE) {
                n = 0;
                break;
            }

            n += m;
            ve = k;

            if (eol == len) {
                p = len;
                break;
            }
        }

        if (n >= 10 && ve != NGX_HTTP_LLM_PII_NONE) {
            if (*bs == NGX_HTTP_LLM_PII_NONE) {
                *bs = q;
            }

            *be = ve;
        }

        if (p >= len) {
            return NGX_HTTP_LLM_PII_OPEN;
        }
    }
}


/* "kind: Secret" (its line): the end of the line, or NONE; OPEN at the end */

static size_t
ngx_http_llm_pii_k8s_secret(const u_char *t, size_t len, size_t e, int *open)
{
    size_t  p;

    *open = 0;
    p = e;

    if (p < len && (t[p] == '"' || t[p] == '\'')) {
        if (t[p] != t[e - 7] && (t[e - 7] == '"' || t[e - 7] == '\'')) {
            return NGX_HTTP_LLM_PII_NONE;
        }

        p++;
    }

    while (p < len && (t[p] == ' ' || t[p] == '\t' || t[p] == '\r')) {
        p++;
    }

    if (p == len) {
        *open = 1;
        return len;
    }

    return (t[p] == '\n') ? p : NGX_HTTP_LLM_PII_NONE;
}


/* "kind: Secret", then "data:" within K8S_GAP bytes */

static int
ngx_http_llm_pii_v_k8s_kind(const u_char *t, size_t len, size_t *start,
    size_t *end)
{
    int     open, rc;
    size_t  ls, ki, di, ks, p, q, eol, lim, bs, be, next;

    ls = ngx_http_llm_pii_k8s_line(t, *start);

    if (ls == NGX_HTTP_LLM_PII_NONE) {
        return 0;
    }

    ki = *start - ls;

    p = ngx_http_llm_pii_k8s_secret(t, len, *end, &open);

    if (p == NGX_HTTP_LLM_PII_NONE) {
        return 0;
    }

    if (open) {
        *end = *start;                         /* "SecretStore"? */
        return NGX_HTTP_LLM_PII_OPEN;
    }

    lim = p + NGX_HTTP_LLM_PII_K8S_GAP;
    ks = p + 1;

    for (p++; p < lim; p = eol + 1) {
        if (p >= len) {
            *end = *start;
            return NGX_HTTP_LLM_PII_OPEN;
        }

        for (q = p; q < len && (t[q] == ' ' || t[q] == '\t'); q++) {
            /* void */
        }

        eol = ngx_http_llm_pii_k8s_eol(t, len, q);

        if (eol == len) {
            *end = *start;                     /* the line is not whole */
            return NGX_HTTP_LLM_PII_OPEN;
        }

        if (eol - q >= 3 && q == p && memcmp(t + q, "---", 3) == 0) {
            return 0;
        }

        if (eol - q >= 5 && memcmp(t + q, "kind:", 5) == 0) {
            return 0;
        }

        if (q - p > ki || eol - q < 5 || memcmp(t + q, "data:", 5) != 0) {
            continue;
        }

        di = q - p;

        for (q += 5; q < eol && (t[q] == ' ' || t[q] == '\t'
                                 || t[q] == '\r');
             q++)
        {
            /* void */
        }

        if (q != eol) {
            continue;                          /* "data: {...}" */
        }

        rc = ngx_http_llm_pii_k8s_block(t, len, eol + 1, di, &bs, &be, &next);
        (void) next;

        if (bs == NGX_HTTP_LLM_PII_NONE) {
            if (rc == NGX_HTTP_LLM_PII_OPEN) {
                *end = *start;
                return NGX_HTTP_LLM_PII_OPEN;
            }

            return 0;
        }

        *start = ks;
        *end = be;

        return rc;
    }

    return 0;
}


/* a "data:" block, then "kind: Secret" within K8S_GAP bytes after it */

static int
ngx_http_llm_pii_v_k8s_data(const u_char *t, size_t len, size_t *start,
    size_t *end)
{
    int     open, rc;
    size_t  ls, di, p, q, k, eol, lim, bs, be, next;

    ls = ngx_http_llm_pii_k8s_line(t, *start);

    if (ls == NGX_HTTP_LLM_PII_NONE) {
        return 0;
    }

    di = *start - ls;

    rc = ngx_http_llm_pii_k8s_block(t, len, *end, di, &bs, &be, &next);

    if (rc == NGX_HTTP_LLM_PII_OPEN) {
        *end = *start;
        return NGX_HTTP_LLM_PII_OPEN;
    }

    if (bs == NGX_HTTP_LLM_PII_NONE) {
        return 0;
    }

    lim = next + NGX_HTTP_LLM_PII_K8S_GAP;

    for (p = next; p < lim; p = eol + 1) {
        if (p >= len) {
            break;
        }

        for (q = p; q < len && (t[q] == ' ' || t[q] == '\t'); q++) {
            /* void */
        }

        eol = ngx_http_llm_pii_k8s_eol(t, len, q);

        if (eol - q >= 3 && q == p && memcmp(t + q, "---", 3) == 0) {
            return 0;
        }

        if (eol - q < 5 || memcmp(t + q, "kind:", 5) != 0) {
            if (eol == len) {
                break;
            }

            continue;
        }

        if (q - p > di) {
            return 0;
        }

        for (k = q + 5; k < eol && k - q < 9 && (t[k] == ' ' || t[k] == '\t');
             k++)
        {
            /* void */
        }

        if (k < eol && (t[k] == '"' || t[k] == '\'')) {
            k++;
        }

        if (eol - k < 6 || strncasecmp((const char *) t + k, "secret", 6) != 0)
        {
            if (eol == len) {
                break;                         /* "Sec...": it may go on */
            }

            return 0;
        }

        if (ngx_http_llm_pii_k8s_secret(t, len, k + 6, &open)
            == NGX_HTTP_LLM_PII_NONE)
        {
            return 0;
        }

        *start = *end;                         /* the line after "data:" */
        *end = be;

        return open ? NGX_HTTP_LLM_PII_OPEN : 1;
    }

    if (p >= lim) {
        return 0;
    }

    *end = *start;

    return NGX_HTTP_LLM_PII_OPEN;
}


/*
 * Jenkins: "{AQAAABAAAAA...}" (a secret encrypted by Jenkins, whole) or
 * "{AQAAABAAA <value>}" (the test form): to the closing brace, made of
 * characters a stream holds back (a stream holds the value whole until the
 * brace comes; with any other character it is not taken), 8 to 1000 of
 * them, no placeholder.
 */

static int
ngx_http_llm_pii_v_jenkins(const u_char *t, size_t len, size_t *start,
    size_t *end)
{
    u_char  c;
    size_t  b, v, q;

    b = *end - 10;                             /* the "{" */
    v = *end;

    if (v < len && t[v] == ' ') {
        v++;

    } else {
        v = b + 1;
    }

    for (q = v; q < len && q - v <= 1000; q++) {
        c = t[q];

        if (!(ngx_pii_alnum(c) || c == '.' || c == '_' || c == '%'
              || c == '+' || c == '-' || c == '@' || c == ':' || c == '/'
              || c == '=' || c == '~'))
        {
            break;
        }
    }

    if (q == len || t[q] != '}' || q - v < 8 || q - v > 1000
        || ngx_http_llm_pii_fake(t + v, q - v)
        || ngx_http_llm_pii_placeholder_run(t + b + 12, q - (b + 12)))
    {
        return 0;
    }

    *start = v;
    *end = q;

    return 1;
}


/*
 * The part of a run before a "=" that is followed by a letter or a digit:
 * with "+" or "/" it is no name ("KEY=value") but a piece of a base64
 * value with a "=" inside ("N8Br7K+jbDiu...=31u", "Oe1xUe+sNT7...SZ=NMmk"),
 * which is then taken whole.
 */

static int
ngx_http_llm_pii_b64_part(const u_char *p, size_t n)
{
    return (memchr(p, '+', n) != NULL || memchr(p, '/', n) != NULL);
}


/*
 * SumoLogic access ids: "su" and 12 letters or digits, whole (no token
 * character after it), with a digit or both cases (not a word), no
 * placeholder, after "sumo", "Sumo" or "SUMO"; the value is the last 14
 * bytes of the match.
 */

static int
ngx_http_llm_pii_v_sumo(const u_char *t, size_t len, size_t *start,
    size_t *end)
{
    size_t    i, s;
    unsigned  digit, upper, lower;

    s = *end - 14;

    if ((*end < len && ngx_pii_tokch(t[*end]))
        || (t[s] != 's' && t[s] != 'S') || (t[s + 1] != 'u' && t[s + 1] != 'U'))
    {
        return 0;
    }

    /*
     * the name: "sumo", "Sumo" or "SUMO" (as gitleaks' rule: caseless,
     * "sumObj = ...", "sumOfExposures" were names of another kind), the
     * nearest before the value (the match has one, within 40 bytes)
     */

    for (i = s; i >= 4 && s - i < 48; i--) {
        if (strncasecmp((const char *) t + i - 4, "sumo", 4) == 0) {
            break;
        }
    }

    if (i < 4 || s - i >= 48
        || !(memcmp(t + i - 4, "sumo", 4) == 0
             || memcmp(t + i - 4, "Sumo", 4) == 0
             || memcmp(t + i - 4, "SUMO", 4) == 0))
    {
        return 0;
    }

    digit = 0;
    upper = 0;
    lower = 0;

    for (i = s + 2; i < *end; i++) {
        digit += ngx_pii_digit(t[i]);
        upper += ngx_pii_upper(t[i]);
        lower += ngx_pii_lower(t[i]);
    }

    if (!(digit || (upper && lower))
        || ngx_http_llm_pii_placeholder_run(t + s, 14)
        || ngx_http_llm_pii_fake(t + s, 14))
    {
        return 0;
    }

    *start = s;

    return 1;
}


/*
 * Secret recall, secrets found by context (branch secctx, issue 17).
 *
 * Three families, each checked only after another detector's literal was
 * found (no Hyperscan pattern of its own but the pair's " / "):
 *
 *   - a token behind a distinctive provider prefix of its documented
 *     length is a key whatever its entropy: "shippo_live_" and 40 hex
 *     digits, "duffel_test_" and 43, "AGE-SECRET-KEY-1" and 58 bech32
 *     characters, "sk-lf-" and a UUID (Langfuse secret keys); a
 *     placeholder there ("shippo_live_aaaa...") is what a user pasted for
 *     a key, and redacting it loses nothing;
 *   - a short quoted token right after a credential word and its
 *     assignment ("parsehub token = 'vZrEclFwOqeA'", "token - 'YGIQ...'"),
 *     shorter than the context detector's 12/16 characters or of one
 *     class of letters: ngx_http_llm_pii_ctx_short();
 *   - a "name: key / e-mail" credential pair on a line ("cloudflare:
 *     <key> / user@example.com", "zipbooks = P@ss123x / a@b.com",
 *     "gocanvas: <key> / gocanvasemail = a@b.com"): the key and the
 *     address, one span: ngx_http_llm_pii_v_ctx_pair().
 */


/* a distinctive prefix and its documented length: a key, whatever it holds */

static int
ngx_http_llm_pii_ctx_prefixed(const u_char *p, size_t n)
{
    if (n == 52
        && (memcmp(p, "shippo_live_", 12) == 0
            || memcmp(p, "shippo_test_", 12) == 0))
    {
        return 1;
    }

    if (n == 55
        && (memcmp(p, "duffel_live_", 12) == 0
            || memcmp(p, "duffel_test_", 12) == 0))
    {
        return 1;
    }

    if (n == 74 && memcmp(p, "AGE-SECRET-KEY-1", 16) == 0) {
        return 1;
    }

    return (n == 42 && memcmp(p, "sk-lf-", 6) == 0
            && ngx_http_llm_pii_uuid(p + 6, 36));
}


/*
 * A short quoted token right after a credential word and its assignment
 * ("token = 'vZrEclFwOqeA'", "token - 'YGIQXPGZSVVGVGOREMAE'", "key:
 * \"rb1nz5xhues\""), [v, ve) between two equal quotes, that the context
 * detector's rules (ngx_http_llm_pii_random(): 12 or 16 characters and
 * letters with digits; ngx_http_llm_pii_quoted_token(): 16, both cases)
 * do not take.  Letters and digits only, 10 to 64 of them, no run of four,
 * at least 3 bits of entropy a character, not a placeholder word, and
 * not a word or an identifier:
 *
 *   - with digits: letters too, the class changing at least once in four
 *     characters, fewer than 40 % vowels among the letters ("rb1nz5xhues";
 *     not "password123", "v1beta2api"), not hexadecimal below 16 (a short
 *     commit or an object's id, "5f2b3c9d1e");
 *   - letters of both cases: the case changing at least once in two
 *     letters, fewer than 40 % vowels ("vZrEclFwOqeA"; not
 *     "XmlHttpRequest", "getUserName");
 *   - letters of one case: 16 or more, fewer than 30 % vowels, not an
 *     alphabet's run ("YGIQXPGZSVVGVGOREMAE"; not "abcdefghijklmnop").
 *
 * The closing quote must be in the text: in a stream, the token is a run
 * that the stream holds back until the quote comes, and the credential
 * word is at most NGX_HTTP_LLM_PII_CONTEXT bytes before it (the context
 * detector's own bound), so the stream decides as the whole text does.
 */

static int
ngx_http_llm_pii_ctx_short(const u_char *t, size_t len, size_t v, size_t ve,
    size_t b)
{
    u_char    c, q;
    size_t    i, n, run;
    unsigned  upper, lower, digit, vowel, tr, ctr, step;

    n = ve - v;

    if (n < 10 || n > 64 || ve != b || v == 0 || b >= len) {
        return 0;
    }

    q = t[v - 1];

    if ((q != '\'' && q != '"') || t[b] != q) {
        return 0;
    }

    upper = 0;
    lower = 0;
    digit = 0;
    vowel = 0;
    tr = 0;                            /* letter <-> digit */
    ctr = 0;                           /* lower <-> upper */
    step = 0;                          /* "ab", "bc": an alphabet's run */
    run = 1;

    for (i = v; i < ve; i++) {
        c = t[i];

        if (!ngx_pii_alnum(c)) {
            return 0;
        }

        if (i > v) {
            run = (t[i - 1] == c) ? run + 1 : 1;

            if (run > 3) {
                return 0;
            }

            tr += (ngx_pii_digit(t[i - 1]) != ngx_pii_digit(c));
            ctr += (ngx_pii_alpha(t[i - 1]) && ngx_pii_alpha(c)
                    && ngx_pii_upper(t[i - 1]) != ngx_pii_upper(c));
            step += ((t[i - 1] | 0x20) + 1 == (c | 0x20));
        }

        if (ngx_pii_digit(c)) {
            digit++;
            continue;
        }

        upper += ngx_pii_upper(c);
        lower += ngx_pii_lower(c);

        c |= 0x20;
        vowel += (c == 'a' || c == 'e' || c == 'i' || c == 'o' || c == 'u');
    }

    if (upper + lower == 0
        || ngx_http_llm_pii_entropy(t + v, n) < 3000 * n
        || ngx_http_llm_pii_fake(t + v, n))
    {
        return 0;
    }

    if (digit) {
        /* short hexadecimal: a commit, an object's id ("5f2b3c9a1e") */
        return (tr * 4 >= n && vowel * 10 < (upper + lower) * 4
                && !(n < 16 && ngx_http_llm_pii_hex(t + v, n)));
    }

    if (upper && lower) {
        return (ctr * 2 >= n && vowel * 10 < n * 4);
    }

    return (n >= 16 && vowel * 10 < n * 3 && step * 4 < n);
}


/*
 * A "name: key / e-mail" credential pair, one line of its own:
 *
 *     cloudflare: abcdef1234567890abcdef1234567890abcdef0 / me@example.com
 *     zipbooks = SecureP@ss123 / admin@secure.com
 *     gocanvas: Abc123+/Xyz456...= / gocanvasemail = me@example.com
 *
 * at the start of a line (at most PAIR_INDENT blanks before it), a name of
 * 2 to PAIR_NAME letters, digits and "_.-" that does not say the value is
 * no secret (ngx_http_llm_pii_name_negated(): "version", "id", "url"), ":"
 * or "=", the value (no blank, 8 to PAIR_VALUE characters), " / ", then an
 * e-mail address, or a name, "=" or ":" and the address, no more than
 * PAIR_AFTER characters to the end of the address.  The value is made of
 * the characters a stream holds back in a run (letters, digits and
 * "._%+-@:()/=~!#$&*?^{|}"; no quote, ",", ";", "<", ">", "[", "]"), has
 * letters and digits, no "://", no placeholder word, and
 * is 12 characters or more, or has both cases, or a character other than
 * a letter, a digit and "._-" ("lukasz123 / l@x.org", "v1.2.3-rc1" are no
 * key).  What a user writes when giving a service's credentials: the key
 * and the account (the address) it belongs to, both redacted, one span.
 *
 * Pattern: from " / " to the end of the address; the validator reads the
 * line backwards.  Streams: a stream holds the value from its start while
 * the line may still become such a pair (ngx_http_llm_pii_ctx_pair_hold():
 * the value is at the end of the text, or " ", " /" or " / " and the start
 * of the part after it follow it), at most PAIR_VALUE + 3 + PAIR_AFTER
 * bytes; the line's start is at most PAIR_INDENT + PAIR_NAME + 3 bytes
 * before the value, within the context a stream keeps.  An address at the
 * end of the text may go on: the answer is open.  A value that a stream
 * has released (its start in the context) was not held, as its line was
 * no pair's when it ended ("<a name longer than PAIR_NAME>: value"): the
 * pattern is HELD, refused then, as the whole text refuses it (the name
 * the context shows may be cut short).
 */

#define NGX_HTTP_LLM_PII_PAIR_INDENT  16
#define NGX_HTTP_LLM_PII_PAIR_NAME    32
#define NGX_HTTP_LLM_PII_PAIR_VALUE   128
#define NGX_HTTP_LLM_PII_PAIR_AFTER   128

#define ngx_pii_blank(c)   ((c) == ' ' || (c) == '\t')
#define ngx_pii_pairname(c)  (ngx_pii_word(c) || (c) == '.' || (c) == '-')


/*
 * The start of the value that ends at ve, when a name at the start of its
 * line and ":" or "=" are before it (the grammar above), or NONE.
 */

static size_t
ngx_http_llm_pii_ctx_pair_value(const u_char *t, size_t ve, size_t *ns)
{
    size_t  v, p, n;

    for (v = ve; v > 0 && ve - v <= NGX_HTTP_LLM_PII_PAIR_VALUE; v--) {
        if (ngx_pii_blank(t[v - 1]) || t[v - 1] == '\n' || t[v - 1] == '\r')
        {
            break;
        }
    }

    if (v == ve || ve - v > NGX_HTTP_LLM_PII_PAIR_VALUE) {
        return NGX_HTTP_LLM_PII_NONE;
    }

    /* "name: ", "name=", "name = ": the value starts after the separator */

    p = v;

    if (p > 0 && ngx_pii_blank(t[p - 1])) {
        p--;
    }

    if (p == 0 || (t[p - 1] != ':' && t[p - 1] != '=')) {
        /* "name:value": the separator is in the run */

        for (p = v; p < ve && ngx_pii_pairname(t[p]); p++) { /* void */ }

        if (p == v || p + 1 >= ve || (t[p] != ':' && t[p] != '=')
            || p - v > NGX_HTTP_LLM_PII_PAIR_NAME)
        {
            return NGX_HTTP_LLM_PII_NONE;
        }

        n = p - v;
        *ns = v;
        v = p + 1;
        p = *ns;

        goto line;
    }

    p--;

    if (p > 0 && ngx_pii_blank(t[p - 1])) {
        p--;
    }

    for (n = 0; p > 0 && ngx_pii_pairname(t[p - 1]); p--, n++) {
        if (n >= NGX_HTTP_LLM_PII_PAIR_NAME) {
            return NGX_HTTP_LLM_PII_NONE;
        }
    }

    if (n == 0) {
        return NGX_HTTP_LLM_PII_NONE;
    }

    *ns = p;

line:

    if (n < 2 || !ngx_pii_alpha(t[*ns])) {
        return NGX_HTTP_LLM_PII_NONE;
    }

    for (n = 0; p > 0 && ngx_pii_blank(t[p - 1]); p--, n++) {
        if (n >= NGX_HTTP_LLM_PII_PAIR_INDENT) {
            return NGX_HTTP_LLM_PII_NONE;
        }
    }

    if (p > 0 && t[p - 1] != '\n' && t[p - 1] != '\r') {
        return NGX_HTTP_LLM_PII_NONE;
    }

    return v;
}


/* review7a: names of a person, an account or an address, not a key's */

static const ngx_http_llm_pii_word_t  ngx_http_llm_pii_pair_people[] = {
    ngx_pii_w("user"), ngx_pii_w("username"), ngx_pii_w("login"),
    ngx_pii_w("author"), ngx_pii_w("owner"), ngx_pii_w("maintainer"),
    ngx_pii_w("contact"), ngx_pii_w("from"), ngx_pii_w("to"),
    ngx_pii_w("cc"), ngx_pii_w("bcc"), ngx_pii_w("by"),
    ngx_pii_w("reviewer"), ngx_pii_w("reporter"), ngx_pii_w("assignee"),
    ngx_pii_w("twitter"), ngx_pii_w("github"), ngx_pii_w("skype"),
    ngx_pii_w("handle"), ngx_pii_w("nick"), ngx_pii_w("release"),
    ngx_pii_w("room"), ngx_pii_w("team"),
    { NULL, 0 }
};


static int
ngx_http_llm_pii_pair_person(const u_char *p, size_t n)
{
    size_t  i, s;

    s = 0;

    for (i = 0; i <= n; i++) {
        if (i == n || !ngx_pii_alnum(p[i])
            || (i > s && ngx_pii_upper(p[i]) && ngx_pii_lower(p[i - 1])))
        {
            if (i - s >= 2
                && ngx_http_llm_pii_in_list(p + s, i - s,
                                            ngx_http_llm_pii_pair_people))
            {
                return 1;
            }

            s = (i < n && ngx_pii_alnum(p[i])) ? i : i + 1;
        }
    }

    return 0;
}


/* review7a: "local@label.tld" (the value is an e-mail address) */

static int
ngx_http_llm_pii_pair_address(const u_char *p, size_t n)
{
    size_t  i, at, dot;

    for (at = 0; at < n && p[at] != '@'; at++) { /* void */ }

    if (at == 0 || at + 1 >= n) {
        return 0;
    }

    dot = 0;

    for (i = at + 1; i < n; i++) {
        if (p[i] == '.') {
            if (i == at + 1 || p[i - 1] == '.') {
                return 0;
            }

            dot = i;

        } else if (!(ngx_pii_alnum(p[i]) || p[i] == '-')) {
            return 0;
        }
    }

    return (dot && n - dot > 2 && ngx_pii_alpha(p[n - 1]));
}


static int
ngx_http_llm_pii_pair_keyish(const u_char *p, size_t n, int cases)
{
    u_char  c;
    size_t  i;
    int     alphabet, sym, brk;

    alphabet = 1;
    sym = 0;
    brk = 0;

    for (i = 0; i < n; i++) {
        c = p[i];

        if (ngx_pii_alnum(c)) {
            continue;
        }

        if (c != '+' && c != '/' && c != '=' && c != '_' && c != '.'
            && c != '-')
        {
            alphabet = 0;
        }

        if (c == '/' || c == '(' || c == ')') {
            brk = 1;
        }

        if (c == '@' || c == '!' || c == '#' || c == '$' || c == '%'
            || c == '^' || c == '&' || c == '*' || c == '+' || c == '='
            || c == '~' || c == '?')
        {
            sym = 1;
        }
    }

    if (n >= 24 && alphabet) {
        return 1;                      /* hex, base64, a token */
    }

    if (ngx_http_llm_pii_random(p, n, 12)) {
        return 1;
    }

    return (cases && sym && !brk);     /* "SecureP@ss123" */
}


static int
ngx_http_llm_pii_v_ctx_pair(const u_char *t, size_t len, size_t *start,
    size_t *end)
{
    u_char    c;
    size_t    e, a, p, k, v, ns, i, n;
    unsigned  alpha, digit, upper, lower, other;

    e = *end;

    /* the address ends here, whole ("a@b.c" of "a@b.com" is not) */

    if (e < len
        && (ngx_pii_alnum(t[e]) || t[e] == '-' || t[e] == '_'
            || (t[e] == '.' && e + 1 < len && ngx_pii_alnum(t[e + 1]))))
    {
        return 0;
    }

    /* the "@", the local part, then " / " or " / name = " before it */

    for (a = e; a > 0 && t[a - 1] != '@'; a--) {
        if (e - a > NGX_HTTP_LLM_PII_PAIR_AFTER) {
            return 0;
        }
    }

    if (a == 0) {
        return 0;
    }

    for (p = a - 1; p > 0 && ngx_pii_atext_ord(t[p - 1]); p--) { /* void */ }

    if (p == a - 1) {
        return 0;
    }

    /* " / gocanvasemail = ": a name, "=" or ":", blanks */

    k = p;

    if (!(k >= 4 && t[k - 1] == ' ' && t[k - 2] == '/' && t[k - 3] == ' ')) {
        if (ngx_pii_blank(t[k - 1])) {
            k--;
        }

        if (t[k - 1] != '=' && t[k - 1] != ':') {
            return 0;
        }

        k--;

        if (k > 0 && ngx_pii_blank(t[k - 1])) {
            k--;
        }

        for (n = 0; k > 0 && ngx_pii_pairname(t[k - 1]); k--, n++) {
            if (n >= NGX_HTTP_LLM_PII_PAIR_NAME) {
                return 0;
            }
        }

        if (n == 0) {
            return 0;
        }
    }

    if (k < 4 || t[k - 1] != ' ' || t[k - 2] != '/' || t[k - 3] != ' '
        || e - (k - 3) > NGX_HTTP_LLM_PII_PAIR_AFTER + 3)
    {
        return 0;
    }

    k -= 3;                                    /* the value's end */

    v = ngx_http_llm_pii_ctx_pair_value(t, k, &ns);

    if (v == NGX_HTTP_LLM_PII_NONE || k - v < 8) {
        return 0;
    }

    for (p = ns; p < len && ngx_pii_pairname(t[p]); p++) { /* void */ }

    if (ngx_http_llm_pii_name_negated(t + ns, p - ns)
        || ngx_http_llm_pii_pair_person(t + ns, p - ns))
    {
        return 0;
    }

    /* the value */

    n = k - v;
    alpha = 0;
    digit = 0;
    upper = 0;
    lower = 0;
    other = 0;

    for (i = v; i < k; i++) {
        c = t[i];

        if (!(ngx_pii_alnum(c) || c == '.' || c == '_' || c == '%'
              || c == '+' || c == '-' || c == '@' || c == ':' || c == '('
              || c == ')' || c == '/' || c == '=' || c == '~'
              || (c != '\'' && c != '`' && ngx_pii_atext_sp(c))))
        {
            return 0;                  /* not held in a stream's run */
        }

        if (ngx_pii_digit(c)) {
            digit++;

        } else if (ngx_pii_alpha(c)) {
            alpha++;
            upper += ngx_pii_upper(c);
            lower += ngx_pii_lower(c);

        } else if (c != '.' && c != '_' && c != '-') {
            other++;
        }
    }

    if (!alpha || !digit || !(n >= 12 || (upper && lower) || other)
        || ngx_http_llm_pii_memmem(t + v, t + k, "://", 3) != NULL
        || ngx_http_llm_pii_fake(t + v, n))
    {
        return 0;
    }

    /* review7a: the value is an address itself ("cc: b2@x.com / a@x.com") */

    if (ngx_http_llm_pii_pair_address(t + v, n)) {
        return 0;
    }

    /*
     * review7a: the value must read as a key, not as a user name, a date,
     * a price, opening hours or a room ("alice_smith2", "Alice.W1",
     * "2024-05-01T10:00", "$12.99/month", "Mon-Fri(9-17)", "Bldg4/Rm210"):
     * a long token of a key's alphabet, a random token, or a password
     * (both cases, digits and one of "@!#$%^&*+=~?", no "/()")
     */

    if (!ngx_http_llm_pii_pair_keyish(t + v, n, upper && lower))
    {
        return 0;
    }

    *start = v;

    return (e == len) ? NGX_HTTP_LLM_PII_OPEN : 1;
}


/*
 * Streams: where to hold from while the end of the text may be a pair's
 * line that has not come whole (see above), or len.  A value at the end
 * of the text is a run that the stream holds back anyway (run_start():
 * the value's characters are those of a run); after it, " ", " /" or
 * " / " and the start of the part after it (an address, a name and "=",
 * no "/"): the last "/" of the last PAIR_AFTER + 4 bytes (memrchr()),
 * then the value and the name before it.
 */

static size_t
ngx_http_llm_pii_ctx_pair_hold(const u_char *t, size_t len, size_t from)
{
    u_char         c;
    size_t         k, ve, v, ns;
    unsigned       blanks;
    const u_char  *m;

    if (len - from < 1 || len < 2) {
        return len;
    }

    c = t[len - 1];
    ve = len;

    if (c == '/') {
        if (t[len - 2] != ' ') {
            return len;
        }

        ve = len - 2;                          /* "value /" */

    } else if (c == ' ' && t[len - 2] == '/' && len >= 3 && t[len - 3] == ' ')
    {
        ve = len - 3;                          /* "value / " */

    } else {
        /*
         * "value / me@exa", "value / gocanvasemail = me@", "value ": the
         * part after " / " has no "/", so the last "/" is the separator's
         */

        k = (len > NGX_HTTP_LLM_PII_PAIR_AFTER + 4)
            ? len - (NGX_HTTP_LLM_PII_PAIR_AFTER + 4) : 0;

        m = memrchr(t + k, '/', len - k);

        if (m != NULL) {
            k = m - t;
            blanks = 0;

            if (k > 0 && t[k - 1] == ' ' && k + 1 < len && t[k + 1] == ' ') {
                for (k += 2; k < len; k++) {
                    c = t[k];

                    if (c == ' ' ? ++blanks > 2
                        : !(ngx_pii_atext_ord(c) || c == '@' || c == ':'
                            || c == '='))
                    {
                        break;
                    }
                }

                if (k == len) {
                    ve = (m - t) - 1;
                }
            }
        }

        if (ve == len) {
            if (t[len - 1] != ' ') {
                return len;                    /* a run: held anyway */
            }

            ve = len - 1;                      /* "value " */
        }
    }

    v = ngx_http_llm_pii_ctx_pair_value(t, ve, &ns);

    if (v == NGX_HTTP_LLM_PII_NONE) {
        return len;
    }

    return (v < from) ? from : v;
}


/*
 * Secret recall, provider formats (branch secrules).
 *
 * Tokens of a provider's documented format that the entries above do not
 * know, written from the public rule lists of gitleaks (its default
 * configuration) and trufflehog (its detectors' patterns), read to learn
 * each format (prefix, length, alphabet), not copied; in patterns of at
 * most eight alternatives (one pattern of all of them is too large for
 * Hyperscan).  Every alternative starts with a literal of four characters
 * or more, or a short one with a fixed length and alphabet after it ("sl."
 * and 130 base64url), or ends with one ("_mmk", ".atlasv1.", "JQQJ9" at a
 * fixed place): Hyperscan looks for the literals, the classes are read
 * only after one was found.  A short literal that prose is full of costs
 * on every byte even when it never matches: Resend's "re_" (English "re"
 * before any character is a candidate) cost 1 % of the 16 KB body's scan
 * alone, and was left out, as were Vault's legacy "s." and Facebook's
 * "<app id>|<secret>"; so were Airtable's "pat" + 14 + "." ("path",
 * "pattern"), ElevenLabs' "sk_" + 48 hexadecimal digits ("task_",
 * "disk_"), Yandex's "YC" + 38 and Scaleway's "SCW" + 17 (two and three
 * capitals), and Figma's other prefixes than "figd_" ("config"): with
 * them the block cost 2.0 % of the code and English chat texts' scan,
 * without them 0.8 %.
 *
 * The validator takes the token whole: no token character before or
 * after it (not "prefix_token", not a longer run), not in a file or a
 * host name (no "." before it, nor "." and a letter or a digit after it);
 * not a run of six times the same character (a placeholder) after the
 * format's own run (the 22 "A" of a Twitter bearer token); digits and
 * letters, or both cases and 24 characters (as the other token rules); a
 * JWT in base64 ("ZXlK...") decodes to base64url that decodes to a JSON
 * object; an Azure shared access key's name ("SharedAccessKey=") is not
 * part of the value.
 */

static u_char
ngx_http_llm_pii_secrules_b64(u_char c)
{
    if (ngx_pii_upper(c)) {
        return c - 'A';
    }

    if (ngx_pii_lower(c)) {
        return c - 'a' + 26;
    }

    if (ngx_pii_digit(c)) {
        return c - '0' + 52;
    }

    if (c == '+' || c == '-') {
        return 62;
    }

    if (c == '/' || c == '_') {
        return 63;
    }

    return 0xff;
}


/* decodes n (a multiple of 4) base64 or base64url characters; 0: invalid */

static size_t
ngx_http_llm_pii_secrules_decode(const u_char *p, size_t n, u_char *out)
{
    size_t    i, o;
    u_char    v;
    unsigned  acc;

    o = 0;
    acc = 0;

    for (i = 0; i < n; i++) {
        v = ngx_http_llm_pii_secrules_b64(p[i]);

        if (v == 0xff) {
            return 0;
        }

        acc = (acc << 6) | v;

        if (i % 4 == 3) {
            out[o++] = (u_char) (acc >> 16);
            out[o++] = (u_char) (acc >> 8);
            out[o++] = (u_char) acc;
            acc = 0;
        }
    }

    return o;
}


static int
ngx_http_llm_pii_v_secrules(const u_char *t, size_t len, size_t *start,
    size_t *end)
{
    u_char        one[48], two[36];
    size_t        s, e, b, i, n;
    unsigned      digit, alpha, upper, lower;
    const u_char  *p;

    s = *start;
    e = *end;

    /* not a part of a file or host name: "video_box.ico-<32 hex>.png" */

    if ((s > 0 && (ngx_pii_tokch(t[s - 1]) || t[s - 1] == '.'))
        || (e < len && ngx_pii_tokch(t[e]))
        || (e + 1 < len && t[e] == '.' && ngx_pii_alnum(t[e + 1])))
    {
        return 0;
    }

    p = t + s;
    n = e - s;

    /* the value after the name */

    if (n > 16 && memcmp(p, "SharedAccessKey=", 16) == 0) {
        s += 16;
        p += 16;
        n -= 16;
    }

    /* the format's own run: a Twitter bearer token's 22 "A" */

    for (b = 0; b < n && p[b] == 'A'; b++) { /* void */ }

    if (b < 22) {
        b = 0;

    } else if ((s > 0 && (t[s - 1] == '+' || t[s - 1] == '/'))
               || (e < len && (t[e] == '+' || t[e] == '/' || t[e] == '=')))
    {
        /* zero bytes in a base64 blob, not a URL-encoded bearer token */
        return 0;
    }

    if (ngx_http_llm_pii_placeholder_run(p + b, n - b)) {
        return 0;
    }

    /* a JWT in base64: base64url JSON, '{"' */

    if (n >= 4 && memcmp(p, "ZXlK", 4) == 0) {
        /* the first 48 characters decoded, never fewer: not the padding */
        if (n - (p[n - 1] == '=') - (p[n - 2] == '=') < 48
            || ngx_http_llm_pii_secrules_decode(p, 48, one) != 36
            || ngx_http_llm_pii_secrules_decode(one, 36, two) != 27
            || two[0] != '{' || two[1] != '"')
        {
            return 0;
        }

        for (i = 2; i < 27; i++) {
            if (two[i] < 0x20 || two[i] >= 0x7f) {
                return 0;
            }
        }
    }

    digit = 0;
    alpha = 0;
    upper = 0;
    lower = 0;

    for (i = b; i < n; i++) {
        if (ngx_pii_digit(p[i])) {
            digit++;

        } else if (ngx_pii_alpha(p[i])) {
            alpha++;
            upper += ngx_pii_upper(p[i]);
            lower += ngx_pii_lower(p[i]);
        }
    }

    if (!((digit && alpha) || (upper && lower && n - b >= 24))) {
        return 0;
    }

    *start = s;

    return 1;
}


/*
 * A Microsoft Teams incoming webhook, whole: the host's first label
 * before ".webhook.office.com" (1 to 63 letters, digits or "-") and
 * "https://" before it, when there is one; the URL ends with its UUID or
 * its last segment.
 */

static int
ngx_http_llm_pii_v_secrules_teams(const u_char *t, size_t len,
    size_t *start, size_t *end)
{
    size_t         s, e;
    const u_char  *m, *f;

    e = *end;

    if (e < len && (ngx_pii_tokch(t[e]) || t[e] == '/')) {
        return 0;
    }

    s = (e > 400) ? e - 400 : 0;

    /* the last one: the match's own (no "." after it in the URL) */

    m = NULL;

    for ( ;; ) {
        f = ngx_http_llm_pii_memmem(t + s, t + e, ".webhook.office.com/", 20);

        if (f == NULL) {
            break;
        }

        m = f;
        s = f + 20 - t;
    }

    if (m == NULL) {
        return 0;
    }

    s = m - t;

    while (s > 0 && (size_t) (m - t) - s < 63
           && (ngx_pii_digit(t[s - 1]) || ngx_pii_lower(t[s - 1])
               || t[s - 1] == '-'))
    {
        s--;
    }

    if (s == (size_t) (m - t)
        || (s > 0 && (ngx_pii_tokch(t[s - 1]) || t[s - 1] == '.')))
    {
        return 0;
    }

    if (s >= 8 && memcmp(t + s - 8, "https://", 8) == 0) {
        s -= 8;
    }

    *start = s;

    return 1;
}


/*
 * ---- sechost (issue 17): unnamed companions, connection strings ----
 *
 * What a credential carries with it without a name: the host or the URL it
 * works on, written next to it ("loggly '<key>' 'w8wW1-x.loggly.com'",
 * "[DEBUG] Using token: <key>\n[INFO] Connected to acme.jfrog.io",
 * "https://acct.blob.core.windows.net/c?sv=...&sig=..."), and the e-mail
 * address that goes with a key ("<key> / admin@example.com").  Taken as
 * companions (type secret, see "Companions of a credential" above), only
 * next to a credential the engine found:
 *
 *   - after it: a URL ("scheme://host...", up to its "?"), a host name
 *     whose last label is a top-level domain of SH_TLDS, or an address the
 *     e-mail detector found, that starts at most COMP_GAP (64) bytes after
 *     the credential's end, in the same block of lines (comp_gap()), after
 *     a blank, a quote or a bracket;
 *   - before it: a URL with a scheme that ends at most COMP_GAP bytes
 *     before the credential's start, in the same block.  A stream holds
 *     every such URL until the text up to COMP_GAP bytes after its end can
 *     be released (ngx_http_llm_pii_sh_hold(), called by comp_hold()): at
 *     most COMP_GAP bytes past the URL, which is at most COMP_MAX long.
 *
 * A bare host before a credential, and an address before one without a
 * name, are not taken: a stream would hold every host name of prose.
 */

/* what may come right before an unnamed companion */
#define ngx_pii_sh_delim(c)  ((c) == ' ' || (c) == '\t' || (c) == '\n'       \
                              || (c) == '\r' || (c) == '"' || (c) == '\''     \
                              || (c) == '`' || (c) == '(' || (c) == '['       \
                              || (c) == '{' || (c) == '<' || (c) == '>'       \
                              || (c) == '=' || (c) == ',' || (c) == ';'       \
                              || (c) == '|')

/*
 * Top-level domains of host names: the generic ones and country codes that
 * are no file extension ("py", "md", "sh", "rs", "pl", "so", "in", "id",
 * "me", "be", "to" are left out: "setup.py", "user.id", "to.be").
 */
static const char  *ngx_http_llm_pii_sh_tlds[] = {
    "com", "net", "org", "io", "co", "ai", "app", "dev", "cloud", "info",
    "biz", "tech", "xyz", "site", "online", "us", "uk", "eu", "de", "fr",
    "nl", "ch", "jp", "cn", "ru", "br", "au", "ca", "es", "se", "fi", "dk",
    "pt", "cz", "kr", "sg", "hk", "tw", "nz", "za", "mx", "ar", "gov",
    "edu", "internal", "local", "corp", "lan",
    NULL
};


static int
ngx_http_llm_pii_sh_tld(const u_char *p, size_t n)
{
    size_t  i;

    for (i = 0; ngx_http_llm_pii_sh_tlds[i]; i++) {
        if (strlen(ngx_http_llm_pii_sh_tlds[i]) == n
            && ngx_http_llm_pii_casecmp(p, ngx_http_llm_pii_sh_tlds[i], n))
        {
            return 1;
        }
    }

    return 0;
}


/*
 * The end of a URL or a host name that starts at vs, or NONE: a token of
 * companion characters (comp_ch(): all of them held back by a stream),
 * without "@" (an address, or a URL with a user: other detectors'), at
 * most COMP_MAX long; "scheme://host" or a host name with a known
 * top-level domain, then a port or a path.  The host names a tenant or a
 * deployment: it has a subdomain ("acme.jfrog.io", "git.zorbex.com") or a
 * port; a registered domain alone ("github.com/org/repo", "x1.io") names a
 * service, and "localhost" nothing.
 */

/*
 * review7c: a first label that names a service, not a tenant
 * ("www.python.org", "api.openai.com", "docs.github.com"): 1, or 0
 */

static size_t
ngx_http_llm_pii_sh_generic(const u_char *h, size_t n)
{
    size_t              i, k;
    static const char  *labels[] = {
        "www", "api", "docs", "doc", "status", "platform", "help",
        "support", "developer", "developers", "console", NULL
    };

    for (i = 0; labels[i]; i++) {
        k = strlen(labels[i]);

        if (n > k && h[k] == '.' && ngx_http_llm_pii_casecmp(h, labels[i], k))
        {
            return 1;
        }
    }

    return 0;
}


static size_t
ngx_http_llm_pii_sh_host(const u_char *t, size_t len, size_t vs)
{
    size_t  e, i, h, lb, dots;

    for (e = vs; e < len && ngx_pii_comp_ch(t[e]); e++) {
        if (e - vs >= NGX_HTTP_LLM_PII_COMP_MAX) {
            return NGX_HTTP_LLM_PII_NONE;
        }
    }

    while (e > vs && (t[e - 1] == '.' || t[e - 1] == ':' || t[e - 1] == '-'
                      || t[e - 1] == '/'))
    {
        e--;
    }

    if (e - vs < 4 || memchr(t + vs, '@', e - vs) != NULL) {
        return NGX_HTTP_LLM_PII_NONE;
    }

    /* "scheme://host" */

    for (i = vs; i < e && i - vs < 16
                && (ngx_pii_alnum(t[i]) || t[i] == '+' || t[i] == '.'
                    || t[i] == '-');
         i++)
    {
        /* void */
    }

    if (i > vs && i + 3 < e && t[i] == ':' && t[i + 1] == '/'
        && t[i + 2] == '/' && ngx_pii_alpha(t[vs]))
    {
        dots = 0;

        for (h = i + 3; h < e && (ngx_pii_alnum(t[h]) || t[h] == '.'
                                  || t[h] == '-' || t[h] == '_'
                                  || t[h] == '+');
             h++)
        {
            dots += (t[h] == '.');
        }

        dots -= ngx_http_llm_pii_sh_generic(t + i + 3, h - (i + 3));

        if (h - (i + 3) < 3 || !(dots >= 2 || (h < e && t[h] == ':'))
            || (h - (i + 3) == 9
                && ngx_http_llm_pii_casecmp(t + i + 3, "localhost", 9)))
        {
            return NGX_HTTP_LLM_PII_NONE;   /* a loopback says nothing */
        }

        return e;
    }

    /* a host name: labels, a top-level domain, a port or a path */

    dots = 0;
    lb = vs;

    for (h = vs; h < e && (ngx_pii_alnum(t[h]) || t[h] == '-'
                           || t[h] == '.');
         h++)
    {
        if (t[h] == '.') {
            if (h == lb) {
                return NGX_HTTP_LLM_PII_NONE;
            }

            dots++;
            lb = h + 1;
        }
    }

    if (dots == 0 || h - lb < 2 || !ngx_http_llm_pii_sh_tld(t + lb, h - lb)) {
        return NGX_HTTP_LLM_PII_NONE;
    }

    if (h < e && !(t[h] == '/' || (t[h] == ':' && ngx_pii_digit(t[h + 1]))))
    {
        return NGX_HTTP_LLM_PII_NONE;
    }

    /* a tenant's host: a subdomain, or a port ("github.com/x" names none) */

    dots -= ngx_http_llm_pii_sh_generic(t + vs, h - vs);

    if (dots < 2 && !(h < e && t[h] == ':')) {
        return NGX_HTTP_LLM_PII_NONE;
    }

    return e;
}


/*
 * Anything found in [vs, ve) among e[0, n)?  A URL with an IP address keeps
 * it as such ("http://10.0.0.5:8080/health": an ip, redacted either way),
 * as the named companions do.
 */

static int
ngx_http_llm_pii_sh_found_in(const ngx_http_llm_pii_match_t *e, size_t n,
    size_t vs, size_t ve)
{
    size_t  lo, hi, j;

    lo = 0;
    hi = n;

    while (lo < hi) {
        j = lo + (hi - lo) / 2;

        if (e[j].end <= vs) {
            lo = j + 1;

        } else {
            hi = j;
        }
    }

    return (lo < n && e[lo].start < ve);
}


/* an address at a, joined to a credential that ends at ce: "key / a@b" */

#define NGX_HTTP_LLM_PII_SH_JOIN  2

static int
ngx_http_llm_pii_sh_joined(const u_char *t, size_t ce, size_t a)
{
    size_t  p, sp;
    int     sep;

    sep = 0;
    sp = 0;

    for (p = ce; p < a; p++) {
        if (t[p] == ' ' || t[p] == '\t') {
            if (++sp > 2 * NGX_HTTP_LLM_PII_SH_JOIN) {
                return 0;
            }

        } else if ((t[p] == '/' || t[p] == ':' || t[p] == ',' || t[p] == '|')
                   && !sep)
        {
            sep = 1;

        } else {
            return 0;
        }
    }

    return sep;
}


/*
 * The name of a companion that starts at ks (its last word, see
 * comp_key()) names an account's address: a compound name
 * ("dotdigital_email", "X-Auth-Email", "gocanvasemail", "SMTP_USER"), or a
 * Jenkins element ("<id>{a@b.example}").  A bare "email:" in prose is a
 * person's address, and keeps its type.
 */

static int
ngx_http_llm_pii_sh_account(const u_char *t, size_t ks)
{
    size_t  w, b;

    if (t[ks] == '<') {
        return 1;
    }

    for (w = ks; ngx_pii_alpha(t[w]); w++) { /* void */ }

    if (w - ks > 5) {
        return 1;                       /* "gocanvasemail", "useremail" */
    }

    for (b = ks; b > 0 && ks - b < 48
                 && (ngx_pii_alnum(t[b - 1]) || t[b - 1] == '_'
                     || t[b - 1] == '-' || t[b - 1] == '.');
         b--)
    {
        /* void */
    }

    /* "e-mail" is one word */

    return (b < ks && !(ks - b == 2 && (t[b] | 0x20) == 'e'));
}


static int
ngx_http_llm_pii_sh_push(ngx_http_llm_pii_matches_t *m, size_t vs, size_t ve)
{
    if (ngx_http_llm_pii_push(m, vs, ve, NGX_HTTP_LLM_PII_SECRET, 0) != 0) {
        return -1;
    }

    m->elts[m->nelts - 1].comp = 1;

    return 0;
}


/*
 * The unnamed companions of the credentials of m->elts[0, n) (and of the
 * one that ends at prior, released by a stream before from), pushed to m.
 */

static int
ngx_http_llm_pii_sh_comp(const u_char *t, size_t len, size_t from,
    size_t prior, ngx_http_llm_pii_matches_t *m, size_t n)
{
    size_t                     k, j, ce, cs, p, hi, lo, vs, ve, c;
    const u_char              *q;
    ngx_http_llm_pii_match_t  *e;

    for (k = 0; k <= n; k++) {

        if (k == 0) {
            if (prior == NGX_HTTP_LLM_PII_NONE) {
                continue;
            }

            ce = prior;
            cs = NGX_HTTP_LLM_PII_NONE;

        } else {
            e = &m->elts[k - 1];

            if (!ngx_pii_cred(e)) {
                continue;
            }

            ce = e->end;
            cs = e->start;
        }

        /* after it: a URL, a host, an address */

        hi = ce + NGX_HTTP_LLM_PII_COMP_GAP + 1;

        if (hi > len) {
            hi = len;
        }

        for (p = (ce > from) ? ce : from; p < hi; p++) {
            if (p == 0 || !ngx_pii_alnum(t[p]) || !ngx_pii_sh_delim(t[p - 1]))
            {
                continue;
            }

            ve = ngx_http_llm_pii_sh_host(t, len, p);

            if (ve == NGX_HTTP_LLM_PII_NONE) {
                continue;
            }

            if (ngx_http_llm_pii_comp_gap(t, ce, p)
                && !ngx_http_llm_pii_sh_found_in(m->elts, n, p, ve)
                && ngx_http_llm_pii_sh_push(m, p, ve) != 0)
            {
                return -1;
            }

            p = ve;
        }

        /*
         * the address the e-mail detector found right after it, joined by
         * at most SH_JOIN blanks and one of "/:,|" ("<key> / a@b.example")
         */

        lo = 0;
        c = n;

        while (lo < c) {
            j = lo + (c - lo) / 2;

            if (m->elts[j].start < ce) {
                lo = j + 1;

            } else {
                c = j;
            }
        }

        for (j = lo; j < n && m->elts[j].start < hi; j++) {
            e = &m->elts[j];

            if (e->type != NGX_HTTP_LLM_PII_EMAIL || e->start < from
                || !ngx_http_llm_pii_sh_joined(t, ce, e->start))
            {
                continue;
            }

            if (ngx_http_llm_pii_sh_push(m, e->start, e->end) != 0) {
                return -1;
            }
        }

        /* before it: a URL with a scheme */

        if (cs == NGX_HTTP_LLM_PII_NONE || cs < 4) {
            continue;
        }

        lo = (cs > NGX_HTTP_LLM_PII_COMP_GAP + NGX_HTTP_LLM_PII_COMP_MAX)
             ? cs - NGX_HTTP_LLM_PII_COMP_GAP - NGX_HTTP_LLM_PII_COMP_MAX : 0;

        if (lo < from) {
            lo = from;
        }

        while (lo + 3 <= cs) {
            q = ngx_http_llm_pii_sh_sep(t + lo, t + cs);

            if (q == NULL) {
                break;
            }

            c = q - t;
            lo = c + 3;

            vs = ngx_http_llm_pii_sh_url_start(t, c);

            if (vs == NGX_HTTP_LLM_PII_NONE || vs < from) {
                continue;
            }

            ve = ngx_http_llm_pii_sh_host(t, len, vs);

            if (ve == NGX_HTTP_LLM_PII_NONE || ve > cs
                || cs - ve > NGX_HTTP_LLM_PII_COMP_GAP
                || !ngx_http_llm_pii_comp_gap(t, ve, cs)
                || ngx_http_llm_pii_sh_found_in(m->elts, n, vs, ve))
            {
                continue;
            }

            if (ngx_http_llm_pii_sh_push(m, vs, ve) != 0) {
                return -1;
            }

            lo = ve;
        }
    }

    return 0;
}


/* the first "://" in [p, last): a ":" found by memchr() (memmem() sets up
   a search each call: a stream looks on each delta) */

static const u_char *
ngx_http_llm_pii_sh_sep(const u_char *p, const u_char *last)
{
    while (last - p >= 3) {
        p = memchr(p, ':', last - p - 2);

        if (p == NULL) {
            return NULL;
        }

        if (p[1] == '/' && p[2] == '/') {
            return p;
        }

        p++;
    }

    return NULL;
}


/*
 * The start of the URL whose "://" is at c: back over its scheme (letters,
 * digits, "+.-", at most 16, from a letter), after a delimiter; or NONE.
 */

static size_t
ngx_http_llm_pii_sh_url_start(const u_char *t, size_t c)
{
    size_t  s;

    for (s = c; s > 0 && c - s < 16
                && (ngx_pii_alnum(t[s - 1]) || t[s - 1] == '+'
                    || t[s - 1] == '.' || t[s - 1] == '-');
         s--)
    {
        /* void */
    }

    if (s == c || !ngx_pii_alpha(t[s])
        || (s > 0 && !ngx_pii_sh_delim(t[s - 1])))
    {
        return NGX_HTTP_LLM_PII_NONE;
    }

    return s;
}


/*
 * A stream releases [from, cut): a URL (a companion before a credential
 * that may still come) whose start is before cut is held from its start
 * while cut <= its end + COMP_GAP.  The new cut, or cut.  Only the URLs
 * that end at or after cut - COMP_GAP are looked at: from the start of the
 * run of companion characters there (a URL is one, at most COMP_MAX long)
 * to cut and the 16 characters of a scheme after it.
 */

static size_t
ngx_http_llm_pii_sh_hold(const u_char *t, size_t len, size_t from, size_t cut)
{
    size_t         lo, hi, c, vs, ve, min;
    const u_char  *q;

    /* from the start of the token (a URL is one) at cut - COMP_GAP */

    lo = (cut > from + NGX_HTTP_LLM_PII_COMP_GAP)
         ? cut - NGX_HTTP_LLM_PII_COMP_GAP : from;
    min = (lo > from + NGX_HTTP_LLM_PII_COMP_MAX)
          ? lo - NGX_HTTP_LLM_PII_COMP_MAX : from;

    while (lo > min && ngx_pii_comp_ch(t[lo - 1])) {
        lo--;
    }

    hi = (cut + 16 + 3 < len) ? cut + 16 + 3 : len;

    while (lo + 3 <= hi) {
        q = ngx_http_llm_pii_sh_sep(t + lo, t + hi);

        if (q == NULL) {
            break;
        }

        c = q - t;
        lo = c + 3;

        vs = ngx_http_llm_pii_sh_url_start(t, c);

        if (vs == NGX_HTTP_LLM_PII_NONE || vs < from || vs >= cut) {
            continue;
        }

        ve = ngx_http_llm_pii_sh_host(t, len, vs);

        if (ve != NGX_HTTP_LLM_PII_NONE
            && cut <= ve + NGX_HTTP_LLM_PII_COMP_GAP)
        {
            return vs;
        }
    }

    return cut;
}


/*
 * Connection strings (sechost): "Name=value;Name=value;..." as .NET, Azure
 * and ODBC write them, "Server=db;User ID=sa;Password=...;",
 * "Endpoint=https://x.azconfig.io;Id=...;Secret=...",
 * "DefaultEndpointsProtocol=https;AccountName=...;AccountKey=...": whole,
 * from its first name to the end of its last value, when one of its
 * parameters is a credential with a value (the host, the user, the account
 * are its companions, and the string is one value to a reader).  Hyperscan
 * reports the first name and "=" (with start of match); the validator
 * reads forward only, at most SH_CONN_MAX bytes.  A string that reaches
 * the end of the text is answered NGX_HTTP_LLM_PII_OPEN: a stream holds it
 * from its first name until it ends (at most SH_CONN_MAX bytes).
 */

#define NGX_HTTP_LLM_PII_SH_CONN_MAX  384

#define ngx_pii_sh_connv(c)  ((c) != ';' && (c) != '"' && (c) != '\''        \
                              && (c) != '`' && (c) != '<' && (c) != '>'       \
                              && (c) != ' ' && (c) != '\t' && (c) != '\r'     \
                              && (c) != '\n')

/* the names of a credential's parameter, lower case, without blanks */
static const char  *ngx_http_llm_pii_sh_conn_creds[] = {
    "password", "pwd", "secret", "accountkey", "sharedaccesskey",
    "accesskey", "primarykey", "clientsecret", "apikey", "sharedsecret",
    NULL
};


static int
ngx_http_llm_pii_sh_conn_cred(const u_char *p, size_t n)
{
    u_char  w[24];
    size_t  i, k;

    for (i = 0, k = 0; i < n; i++) {
        if (p[i] == ' ' || p[i] == '_') {
            continue;
        }

        if (k == sizeof(w)) {
            return 0;
        }

        w[k++] = ngx_pii_upper(p[i]) ? (p[i] | 0x20) : p[i];
    }

    for (i = 0; ngx_http_llm_pii_sh_conn_creds[i]; i++) {
        if (strlen(ngx_http_llm_pii_sh_conn_creds[i]) == k
            && memcmp(w, ngx_http_llm_pii_sh_conn_creds[i], k) == 0)
        {
            return 1;
        }
    }

    return 0;
}


static int
ngx_http_llm_pii_v_sh_conn(const u_char *t, size_t len, size_t *start,
    size_t *end)
{
    int     cred;
    size_t  s, p, n, v, ve, pairs, last;

    s = *start;

    if (s > 0 && (ngx_pii_word(t[s - 1]) || t[s - 1] == '-'
                  || t[s - 1] == '.'))
    {
        return 0;                       /* "SqlServer=", "myhost=" */
    }

    p = s;
    pairs = 0;
    cred = 0;
    last = s;

    for ( ;; ) {

        /* a name: letters, digits, blanks, "_.-" */

        for (n = p; p < len && (ngx_pii_alnum(t[p]) || t[p] == ' '
                                || t[p] == '_' || t[p] == '.'
                                || t[p] == '-');
             p++)
        {
            if (p - n > 48) {
                goto done;
            }
        }

        if (p == len) {
            goto open;
        }

        if (t[p] != '=' || p == n || t[n] == ' ') {
            goto done;
        }

        /* its value */

        v = ++p;

        while (p < len && ngx_pii_sh_connv(t[p])) {
            if (p - s >= NGX_HTTP_LLM_PII_SH_CONN_MAX) {
                return 0;
            }

            p++;
        }

        ve = p;

        if (ve > v) {
            pairs++;
            last = ve;

            if (ngx_http_llm_pii_sh_conn_cred(t + n, v - 1 - n)
                && (ve == len
                    || !ngx_http_llm_pii_conn_placeholder(t + v, ve - v)))
            {
                cred = 1;
            }
        }

        if (p == len) {
            goto open;
        }

        if (t[p] != ';' || p + 1 - s >= NGX_HTTP_LLM_PII_SH_CONN_MAX) {
            goto done;
        }

        p++;

        if (p == len) {
            goto open;
        }

        if (!ngx_pii_alpha(t[p])) {
            goto done;
        }
    }

done:

    if (pairs < 2 || !cred) {
        return 0;
    }

    *end = last;

    return 1;

open:

    /* the text as it is, and held from the first name: it may go on */

    *end = (pairs >= 2 && cred) ? last : s;

    return NGX_HTTP_LLM_PII_OPEN;
}
