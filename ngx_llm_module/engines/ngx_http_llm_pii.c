
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


typedef int (*ngx_http_llm_pii_validate_pt)(const u_char *t, size_t len,
    size_t *start, size_t *end);


typedef struct {
    unsigned                        type;
    unsigned                        prio;
    unsigned                        flags;
    const char                     *regex;
    ngx_http_llm_pii_validate_pt    validate;
} ngx_http_llm_pii_pattern_t;


struct ngx_http_llm_pii_s {
    hs_database_t                  *db;
    ngx_http_llm_pii_pattern_t     *patterns;    /* by Hyperscan id */
    unsigned                        npatterns;
    unsigned                        ntypes;
    unsigned                        types;       /* built-in types */
    size_t                          window;      /* of the custom rules */
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
} ngx_http_llm_pii_scan_t;


static int ngx_http_llm_pii_v_email(const u_char *t, size_t len,
    size_t *start, size_t *end);
static int ngx_http_llm_pii_v_phone_intl(const u_char *t, size_t len,
    size_t *start, size_t *end);
static int ngx_http_llm_pii_v_phone_nanp(const u_char *t, size_t len,
    size_t *start, size_t *end);
static int ngx_http_llm_pii_v_phone_national(const u_char *t, size_t len,
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
static int ngx_http_llm_pii_v_jwt(const u_char *t, size_t len,
    size_t *start, size_t *end);
static int ngx_http_llm_pii_v_pem(const u_char *t, size_t len,
    size_t *start, size_t *end);

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
static size_t ngx_http_llm_pii_open_placeholder(const u_char *t, size_t len,
    size_t from);
static const u_char *ngx_http_llm_pii_memmem(const u_char *p,
    const u_char *last, const char *s, size_t n);


#define NGX_HTTP_LLM_PII_NONE  ((size_t) -1)

/*
 * A pattern compiled without start-of-match: its validator finds the start.
 * SOM tracking of a pattern that begins with an unbounded class (the local
 * part of an e-mail address) costs Hyperscan 35 times its speed.
 */
#define NGX_HTTP_LLM_PII_NOSOM  0x80000000

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


static const char  *ngx_http_llm_pii_names[NGX_HTTP_LLM_PII_NBUILTIN] = {
    "email", "phone", "card", "ssn", "iban", "ip", "secret"
};


/*
 * Built-in patterns.  Hyperscan reports, for every end of a match, the
 * leftmost start (NOSOM: the validator finds it); the validators confirm a
 * span (and may narrow it).
 * prio orders equal spans: secret, card, iban, ssn, phone, ip, email.
 */

static const ngx_http_llm_pii_pattern_t  ngx_http_llm_pii_builtins[] = {

    { NGX_HTTP_LLM_PII_EMAIL, 7, HS_FLAG_CASELESS|NGX_HTTP_LLM_PII_NOSOM,
      "[a-z0-9._%+-]+@[a-z0-9-]+(?:\\.[a-z0-9-]+)*\\.[a-z]{2,24}",
      ngx_http_llm_pii_v_email },

    /* E.164 and international notations: "+44 20 7946 0958" */
    { NGX_HTTP_LLM_PII_PHONE, 5, 0,
      "\\+[1-9][0-9 ().-]{6,22}[0-9]",
      ngx_http_llm_pii_v_phone_intl },

    /* the same with the international prefix 00: "0044 20 7946 0958" */
    { NGX_HTTP_LLM_PII_PHONE, 5, 0,
      "00[1-9][0-9 ().-]{6,22}[0-9]",
      ngx_http_llm_pii_v_phone_intl },

    /* NANP: "(415) 555-0100", "415-555-0100", "1-800-555-0199" */
    { NGX_HTTP_LLM_PII_PHONE, 5, 0,
      "(?:\\+?1[ .-]?)?(?:\\([2-9][0-9]{2}\\)|[2-9][0-9]{2})[ .-]?"
      "[2-9][0-9]{2}[ .-]?[0-9]{4}",
      ngx_http_llm_pii_v_phone_nanp },

    /*
     * national numbers with a trunk 0: "020 7946 0958", "06 12 34 56 78",
     * "07700 900123", "030 12345678"
     */
    { NGX_HTTP_LLM_PII_PHONE, 5, 0,
      "\\(?0[1-9][0-9]{0,3}\\)?(?:[ .-][0-9]{2,8}){1,4}",
      ngx_http_llm_pii_v_phone_national },

    { NGX_HTTP_LLM_PII_CARD, 2, 0,
      "[0-9](?:[ -]?[0-9]){12,18}",
      ngx_http_llm_pii_v_card },

    { NGX_HTTP_LLM_PII_SSN, 4, 0,
      "[0-9]{3}-[0-9]{2}-[0-9]{4}",
      ngx_http_llm_pii_v_ssn },

    { NGX_HTTP_LLM_PII_SSN, 4, 0,
      "[0-9]{3} [0-9]{2} [0-9]{4}",
      ngx_http_llm_pii_v_ssn },

    { NGX_HTTP_LLM_PII_IBAN, 3, 0,
      "[A-Z]{2}[0-9]{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?",
      ngx_http_llm_pii_v_iban },

    { NGX_HTTP_LLM_PII_IP, 6, 0,
      "[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]{1,3}",
      ngx_http_llm_pii_v_ipv4 },

    { NGX_HTTP_LLM_PII_IP, 6, HS_FLAG_CASELESS,
      "[0-9a-f]{0,4}(?::[0-9a-f]{0,4}){2,7}",
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

    /* GitHub */
    { NGX_HTTP_LLM_PII_SECRET, 1, 0,
      "gh[pousr]_[A-Za-z0-9]{36,}",
      ngx_http_llm_pii_v_token },

    { NGX_HTTP_LLM_PII_SECRET, 1, 0,
      "github_pat_[A-Za-z0-9_]{22,}",
      ngx_http_llm_pii_v_token },

    /* GitLab */
    { NGX_HTTP_LLM_PII_SECRET, 1, 0,
      "gl(?:pat|dt|rt|ptt|ft|cbt|imt|oas|soat)-[A-Za-z0-9_-]{20,}",
      ngx_http_llm_pii_v_token },

    /* Slack */
    { NGX_HTTP_LLM_PII_SECRET, 1, 0,
      "xox[abposre]-[A-Za-z0-9-]{10,}",
      ngx_http_llm_pii_v_token },

    /* Stripe */
    { NGX_HTTP_LLM_PII_SECRET, 1, 0,
      "(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{16,}",
      ngx_http_llm_pii_v_token },

    { NGX_HTTP_LLM_PII_SECRET, 1, 0,
      "whsec_[A-Za-z0-9]{24,}",
      ngx_http_llm_pii_v_token },

    /* npm */
    { NGX_HTTP_LLM_PII_SECRET, 1, 0,
      "npm_[A-Za-z0-9]{36}",
      ngx_http_llm_pii_v_token },

    /* JSON Web Tokens */
    { NGX_HTTP_LLM_PII_SECRET, 1, 0,
      "eyJ[A-Za-z0-9_-]{6,}\\.eyJ[A-Za-z0-9_-]{6,}\\.[A-Za-z0-9_-]{16,}",
      ngx_http_llm_pii_v_jwt },

    /* PEM private key blocks */
    { NGX_HTTP_LLM_PII_SECRET, 1, 0,
      "-----BEGIN (?:[A-Z0-9]{1,16} ){0,3}PRIVATE KEY-----[\\s\\S]*"
      "-----END (?:[A-Z0-9]{1,16} ){0,3}PRIVATE KEY-----",
      ngx_http_llm_pii_v_pem }
};


#define NGX_HTTP_LLM_PII_NPATTERNS                                            \
    (sizeof(ngx_http_llm_pii_builtins) / sizeof(ngx_http_llm_pii_pattern_t))


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
    *flags = ngx_http_llm_pii_builtins[i].flags;

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
    size_t                        i, j, n, w;
    unsigned                     *flags, *ids, t;
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

    n = NGX_HTTP_LLM_PII_NPATTERNS + nrules;

    pii->patterns = calloc(n, sizeof(ngx_http_llm_pii_pattern_t));
    exprs = calloc(n, sizeof(char *));
    flags = calloc(n, sizeof(unsigned));
    ids = calloc(n, sizeof(unsigned));

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

    rc = hs_compile_multi((const char * const *) exprs, flags, ids,
                          (unsigned) n, HS_MODE_BLOCK, NULL, &pii->db, &cerr);

    if (rc != HS_SUCCESS) {
        if (cerr->expression >= 0
            && pii->patterns[cerr->expression].validate == NULL)
        {
            t = pii->patterns[cerr->expression].type;
            *bad = cerr->expression - (int) (n - nrules);
            snprintf(err, errlen, "rule \"%s\": %s", pii->names[t],
                     cerr->message);

        } else {
            snprintf(err, errlen, "%s", cerr->message);
        }

        hs_free_compile_error(cerr);
        pii->db = NULL;
        goto failed;
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
    if (pii->db == NULL) {
        return 0;
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
    size_t                    i, j, b, last;
    ngx_http_llm_pii_scan_t   sc;
    ngx_http_llm_pii_match_t *e;

    m->nelts = 0;

    if (pii->db == NULL || len <= from) {
        return 0;
    }

    if (len > UINT_MAX) {
        return -1;
    }

    sc.pii = pii;
    sc.text = text;
    sc.len = len;
    sc.from = from;
    sc.m = m;
    sc.error = 0;

    if (hs_scan(pii->db, (const char *) text, (unsigned int) len, 0, scratch,
                ngx_http_llm_pii_on_match, &sc)
        != HS_SUCCESS || sc.error)
    {
        return -1;
    }

    /* a private key block that is not closed runs to the end */

    if (pii->types & (1u << NGX_HTTP_LLM_PII_SECRET)) {
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

    size_t                       s, e;
    const u_char                *t;
    ngx_http_llm_pii_pattern_t  *pat;

    pat = &sc->pii->patterns[id];
    t = sc->text;
    s = (size_t) from;
    e = (size_t) to;

    if (pat->validate) {
        if (!pat->validate(t, sc->len, &s, &e)) {
            return 0;
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
    size_t                       cut, from, b, i, n, keep;
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

    if (ngx_http_llm_pii_scan(pii, scratch, s->buf, s->len, from, ms) != 0) {
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
        cut = ngx_http_llm_pii_run_start(s->buf, s->len, from);
    }

    if (pii->window > 1) {
        b = (s->len - from > pii->window - 1) ? s->len - (pii->window - 1)
                                              : from;
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

    /* a match that reaches the held bytes is held whole */

    for (i = n; i-- > 0; /* void */) {
        if (m[i].start < cut && m[i].end >= cut) {
            cut = m[i].start;
        }
    }

    /* never in the middle of a UTF-8 character */

    while (cut > from && cut < s->len && (s->buf[cut] & 0xc0) == 0x80) {
        cut--;
    }

    s->cut = (cut < s->from) ? s->from : cut;

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
 * Where the trailing run of "value" characters starts: letters, digits,
 * "._%+-@:()/=", and single spaces between digit or capital groups (cards,
 * phones, IBANs, key headers).
 */

static size_t
ngx_http_llm_pii_run_start(const u_char *t, size_t len, size_t from)
{
    u_char  c, l, r;
    size_t  i, min;

    min = (len - from > NGX_HTTP_LLM_PII_RUN_MAX)
          ? len - NGX_HTTP_LLM_PII_RUN_MAX : from;

    for (i = len; i > min; i--) {
        c = t[i - 1];

        if (ngx_pii_alnum(c) || c == '.' || c == '_' || c == '%' || c == '+'
            || c == '-' || c == '@' || c == ':' || c == '(' || c == ')'
            || c == '/' || c == '=')
        {
            continue;
        }

        if (c != ' ' || i < 2) {
            break;
        }

        l = t[i - 2];

        if (!(ngx_pii_digit(l) || ngx_pii_upper(l) || l == ')')) {
            break;
        }

        if (i < len) {
            r = t[i];

            if (!(ngx_pii_digit(r) || ngx_pii_upper(r) || r == '('
                  || r == '+' || r == '-'))
            {
                break;
            }
        }
    }

    return i;
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
    "VG24XK20YE30";


int
ngx_http_llm_pii_iban_valid(const u_char *p, size_t len)
{
    u_char       c, buf[40];
    size_t       i, n, want;
    unsigned     rem;
    const char  *cc;

    n = 0;

    for (i = 0; i < len; i++) {
        if (p[i] == ' ') {
            continue;
        }

        if (n == sizeof(buf) || !(ngx_pii_upper(p[i]) || ngx_pii_digit(p[i])))
        {
            return 0;
        }

        buf[n++] = p[i];
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


static int
ngx_http_llm_pii_v_email(const u_char *t, size_t len, size_t *start,
    size_t *end)
{
    u_char         c;
    size_t         s, e, i, at, dot, label;
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

    for (s = at; s > 0; s--) {
        c = t[s - 1];

        if (!(ngx_pii_alnum(c) || c == '.' || c == '_' || c == '%'
              || c == '+' || c == '-'))
        {
            break;
        }
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

    /* labels of 1..63 characters, no hyphen at either end */

    label = at + 1;
    dot = 0;

    for (i = at + 1; i <= e; i++) {
        if (i < e && t[i] != '.') {
            continue;
        }

        if (i == label || i - label > 63 || t[label] == '-'
            || t[i - 1] == '-')
        {
            return 0;
        }

        dot = label;
        label = i + 1;
    }

    tld = t + dot;
    tld_len = e - dot;

    for (i = 0; exts[i]; i++) {
        if (strlen(exts[i]) == tld_len
            && strncasecmp(exts[i], (const char *) tld, tld_len) == 0)
        {
            return 0;
        }
    }

    if (e < len) {
        if (ngx_pii_tokch(t[e]) || t[e] == '@') {
            return 0;
        }

        if (t[e] == '.' && e + 1 < len && ngx_pii_alnum(t[e + 1])) {
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
                && t[s + 6] == t[s + 3]))
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

    if (open != close || digits < 8 || digits > 15) {
        return 0;
    }

    /* NANP numbers have exactly 11 digits */

    if (t[s + 1] == '1' && digits != 11) {
        return 0;
    }

    return 1;
}


static int
ngx_http_llm_pii_v_phone_nanp(const u_char *t, size_t len, size_t *start,
    size_t *end)
{
    size_t    s, e, i, n, seps, prefix;
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

    if (n == 11) {
        if (d[0] != '1') {
            return 0;
        }

        prefix = 1;
        memmove(d, d + 1, 10);
    }

    /* bare ten digits are order numbers more often than phones */

    if (seps == 0 && !prefix) {
        return 0;
    }

    /* no N11 area code */

    if (d[1] == '1' && d[2] == '1') {
        return 0;
    }

    return ngx_http_llm_pii_number_edges(t, len, s, e);
}


static int
ngx_http_llm_pii_v_phone_national(const u_char *t, size_t len,
    size_t *start, size_t *end)
{
    u_char  sep, c;
    size_t  s, e, i, digits, d, m;

    s = *start;
    e = *end;

    if (!ngx_http_llm_pii_number_edges(t, len, s, e)) {
        return 0;
    }

    if (e < len && t[e] == ':') {
        return 0;
    }

    digits = 0;
    sep = 0;

    for (i = s; i < e; i++) {
        c = t[i];

        if (ngx_pii_digit(c)) {
            digits++;
            continue;
        }

        if (c == '(' || c == ')') {
            continue;
        }

        if (sep && c != sep) {
            /* "05-11-2024 10": mixed separators */
            return 0;
        }

        sep = c;
    }

    if (digits < 9 || digits > 12) {
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


/* issuer prefixes and lengths of the card networks */

static int
ngx_http_llm_pii_card_iin(const u_char *d, size_t n)
{
    unsigned  two, four;

    two = (d[0] - '0') * 10 + (d[1] - '0');
    four = two * 100 + (d[2] - '0') * 10 + (d[3] - '0');

    switch (d[0]) {

    case '4':
        return (n == 13 || n == 16 || n == 19);

    case '5':
        if (two >= 51 && two <= 55) {
            return (n == 16);
        }

        return (n >= 13);                   /* Maestro */

    case '2':
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
        return (n >= 16);

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
    size_t  s, e, i, n, group, seps;

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

            sep = t[i];
            seps++;
            group = 0;
        }

        if (i < e || n < 13 || (seps && group < 3)) {
            continue;
        }

        if (!ngx_http_llm_pii_card_iin(d, n) || !ngx_http_llm_pii_luhn(d, n))
        {
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

    return 1;
}


static int
ngx_http_llm_pii_v_ipv6(const u_char *t, size_t len, size_t *start,
    size_t *end)
{
    u_char          c, buf[48], addr[16];
    size_t          s, e, i, groups;

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

        if (c == '.' && e + 1 < len && ngx_pii_digit(t[e + 1])) {
            return 0;
        }
    }

    if (e - s >= sizeof(buf)) {
        return 0;
    }

    groups = 0;

    for (i = s; i < e; i++) {
        if (ngx_pii_hex(t[i]) && (i == s || !ngx_pii_hex(t[i - 1]))) {
            groups++;
        }
    }

    if (groups < 2) {
        return 0;
    }

    memcpy(buf, t + s, e - s);
    buf[e - s] = '\0';

    if (inet_pton(AF_INET6, (const char *) buf, addr) != 1) {
        return 0;
    }

    *start = s;

    return 1;
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

    return 1;
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
    unsigned  digit, alpha;

    if ((*start > 0 && ngx_pii_tokch(t[*start - 1]))
        || (*end < len && ngx_pii_tokch(t[*end])))
    {
        return 0;
    }

    digit = 0;
    alpha = 0;

    for (i = *start; i < *end; i++) {
        if (ngx_pii_digit(t[i])) {
            digit++;

        } else if (ngx_pii_alpha(t[i])) {
            alpha++;
        }
    }

    return (digit && alpha);
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

    return (memmem(out, n, "\"alg\"", 5) != NULL
            || memmem(out, n, "\"typ\"", 5) != NULL);
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
