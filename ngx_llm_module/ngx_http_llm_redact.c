
/*
 * Copyright (C) ngx_llm_module authors
 *
 * PII and secret redaction: the llm_redact* directives, the request hook
 * called by the core pipeline, and the answer hooks (streamed events and
 * JSON answers).  Detection itself is ngx_http_llm_pii.c.
 *
 * Databases are compiled at configuration time, one per distinct set of
 * types and rules.  A prototype scratch space sized for all of them is
 * made after the configuration is read; each worker clones it in
 * init_process.  No request allocates Hyperscan memory.
 *
 * Redacted values are never logged, at any level.
 */


#include "ngx_http_llm_module.h"
#include "ngx_http_llm_pii.h"


#define NGX_HTTP_LLM_REDACT_OFF       0x01
#define NGX_HTTP_LLM_REDACT_REQUEST   0x02
#define NGX_HTTP_LLM_REDACT_RESPONSE  0x04

#define NGX_HTTP_LLM_REDACT_MASK      1
#define NGX_HTTP_LLM_REDACT_TOKENIZE  2
#define NGX_HTTP_LLM_REDACT_HASH      3
#define NGX_HTTP_LLM_REDACT_BLOCK     4

/* the tokenize map: a chained hash that doubles at one value a bucket */
#define NGX_HTTP_LLM_REDACT_BUCKETS   64

/* llm_redact_max_values: placeholders are numbered up to 999999 a type */
#define NGX_HTTP_LLM_REDACT_MAX_VALUES      10000
#define NGX_HTTP_LLM_REDACT_MAX_VALUES_MAX  999999

/* ngx_http_llm_redact_count() */
#define NGX_HTTP_LLM_REDACT_IN_REQUEST   0
#define NGX_HTTP_LLM_REDACT_IN_RESPONSE  1
#define NGX_HTTP_LLM_REDACT_RESTORED     2
#define NGX_HTTP_LLM_REDACT_BLOCKED      3
#define NGX_HTTP_LLM_REDACT_MAX_RULES_FILE  (1024 * 1024)

/*
 * The worker's buffer of joined strings is at most this large (with their
 * offsets): the strings of a larger request are scanned one by one
 */
#define NGX_HTTP_LLM_REDACT_JOIN_MAX     (1024 * 1024)

/* a longer string is scanned alone (see _walk()) */
#define NGX_HTTP_LLM_REDACT_JOIN_LONG    2048


typedef struct {
    ngx_str_t                       file;
    ngx_array_t                     rules;     /* ngx_http_llm_pii_rule_t */
} ngx_http_llm_redact_rules_t;


/* counters of a type, in the shared zone; names survive reloads */
typedef struct {
    u_char                          name[NGX_HTTP_LLM_PII_NAME_LEN + 1];
    ngx_atomic_t                    request;   /* values in requests */
    ngx_atomic_t                    response;  /* values in answers */
    ngx_atomic_t                    restored;  /* placeholders restored */
    ngx_atomic_t                    blocked;   /* refusals naming it */
} ngx_http_llm_redact_stat_t;


typedef struct {
    ngx_uint_t                      nslots;
    ngx_http_llm_redact_stat_t      slot[NGX_HTTP_LLM_PII_MAX_TYPES];
} ngx_http_llm_redact_sh_t;


typedef struct {
    ngx_uint_t                      types;
    ngx_http_llm_redact_rules_t    *rules;
    ngx_http_llm_pii_t             *pii;
    ngx_http_llm_redact_stat_t     *stat[NGX_HTTP_LLM_PII_MAX_TYPES];
} ngx_http_llm_redact_db_t;


typedef struct {
    ngx_array_t                     dbs;       /* of db pointers */
    ngx_http_llm_pii_t             *none;      /* finds nothing: restore
                                                  placeholders only */
    hs_scratch_t                   *proto;     /* for all the databases */
    ngx_http_llm_redact_sh_t       *sh;        /* counters */
} ngx_http_llm_redact_main_conf_t;


typedef struct {
    ngx_uint_t                      where;
    ngx_uint_t                      mode;
    ngx_uint_t                      types;
    ngx_http_llm_redact_rules_t    *rules;
    ngx_int_t                       max_values;    /* tokenize, a request */
    ngx_str_t                       secret;
    ngx_http_llm_pii_hmac_t        *hmac;      /* keyed with secret */
    ngx_http_llm_redact_db_t       *db;
    ngx_http_llm_pii_t             *pii;       /* NULL: off */
} ngx_http_llm_redact_loc_conf_t;


/* a tokenized value */
typedef struct ngx_http_llm_redact_value_s  ngx_http_llm_redact_value_t;

struct ngx_http_llm_redact_value_s {
    ngx_http_llm_redact_value_t    *next;      /* in its bucket */
    ngx_uint_t                      type;
    ngx_uint_t                      hash;
    ngx_str_t                       value;
    ngx_str_t                       placeholder;
    unsigned                        restore:1;     /* from the request */
};


/*
 * For _skip(): the model's token; the object whose "data" members were
 * looked at last, and whether it is a text source.
 */
typedef struct {
    uint32_t                        model;
    uint32_t                        obj;
    ngx_uint_t                      text;
} ngx_http_llm_redact_source_t;


/* the text of one choice (OpenAI) or content block (Anthropic) */
typedef struct {
    ngx_uint_t                      index;
    ngx_http_llm_pii_stream_t       s;
} ngx_http_llm_redact_stream_t;


typedef struct {
    uint32_t                        start;
    uint32_t                        end;
    ngx_str_t                       text;
} ngx_http_llm_redact_edit_t;


typedef struct {
    ngx_http_llm_redact_loc_conf_t *conf;
    ngx_http_llm_ctx_t             *ctx;
    ngx_http_llm_pii_t             *pii;       /* answers: pii or "none" */
    ngx_pool_t                     *pool;

    ngx_uint_t                      count;     /* values redacted */
    ngx_uint_t                      restored;  /* placeholders restored */
    size_t                          attempt;   /* ctx->attempts of streams */

    ngx_http_llm_redact_value_t   **buckets;
    ngx_uint_t                      nbuckets;  /* a power of 2 */
    ngx_array_t                   **bytype;    /* tokenize: values by type,
                                                  NGX_HTTP_LLM_PII_MAX_TYPES
                                                  allocated on the first */
    ngx_uint_t                      nvalues;

    ngx_http_llm_pii_matches_t      matches;   /* of block scans */
    ngx_array_t                     spans;     /* ngx_http_llm_span_t */
    ngx_array_t                     reps;      /* ngx_str_t */
    ngx_array_t                     edits;     /* ngx_http_llm_redact_edit_t */
    ngx_array_t                     streams;   /* of choices, blocks */

    ngx_str_t                       id;        /* raw JSON of the chunks' */
    ngx_str_t                       model;

    u_char                         *text;      /* built text, reused: it is
                                                  encoded at once */
    size_t                          text_size;

    unsigned                        response:1;    /* redact answers */
    unsigned                        restore:1;     /* tokenized values */
    unsigned                        answer:1;      /* the request is done */
} ngx_http_llm_redact_ctx_t;


static ngx_int_t ngx_http_llm_redact_walk(ngx_http_request_t *r,
    ngx_http_llm_ctx_t *ctx, ngx_http_llm_redact_ctx_t *rc, uint64_t *found);
static ngx_int_t ngx_http_llm_redact_decode(ngx_http_request_t *r,
    ngx_http_llm_json_t *json, uint32_t i, ngx_str_t *text);
static void ngx_http_llm_redact_keep(ngx_http_llm_ctx_t *ctx,
    ngx_uint_t *next, uint32_t tok, ngx_str_t *text);
static ngx_uint_t ngx_http_llm_redact_skip(ngx_http_llm_json_t *json,
    uint32_t tok, ngx_str_t *text, ngx_http_llm_redact_source_t *cache);
static ngx_uint_t ngx_http_llm_redact_opaque(u_char *p, size_t len);
static ngx_int_t ngx_http_llm_redact_text(ngx_http_request_t *r,
    ngx_http_llm_ctx_t *ctx, ngx_http_llm_redact_ctx_t *rc,
    ngx_http_llm_text_t *t, uint64_t *found);
static ngx_int_t ngx_http_llm_redact_blocked(ngx_http_request_t *r,
    ngx_http_llm_ctx_t *ctx, ngx_http_llm_redact_ctx_t *rc, uint64_t found);
static ngx_int_t ngx_http_llm_redact_replacement(ngx_http_llm_redact_ctx_t *rc,
    ngx_uint_t type, u_char *value, size_t len, ngx_str_t *out);
static ngx_int_t ngx_http_llm_redact_tokenize(ngx_http_llm_redact_ctx_t *rc,
    ngx_uint_t type, u_char *value, size_t len,
    ngx_http_llm_redact_value_t **value_out);
static ngx_int_t ngx_http_llm_redact_grow(ngx_http_llm_redact_ctx_t *rc);
static ngx_int_t ngx_http_llm_redact_build(ngx_http_llm_redact_ctx_t *rc,
    u_char *text, size_t from, size_t to, ngx_http_llm_pii_matches_t *m,
    ngx_str_t *out, ngx_uint_t *changed);
static size_t ngx_http_llm_redact_restore(ngx_http_llm_redact_ctx_t *rc,
    u_char *p, size_t len, u_char *dst, ngx_uint_t *changed);

static ngx_int_t ngx_http_llm_redact_event(ngx_http_request_t *r,
    ngx_http_llm_ctx_t *ctx, ngx_str_t *event, ngx_str_t *data,
    ngx_str_t *out);
static ngx_int_t ngx_http_llm_redact_openai(ngx_http_request_t *r,
    ngx_http_llm_ctx_t *ctx, ngx_http_llm_redact_ctx_t *rc, ngx_str_t *event,
    ngx_str_t *data, ngx_str_t *out);
static ngx_int_t ngx_http_llm_redact_anthropic(ngx_http_request_t *r,
    ngx_http_llm_ctx_t *ctx, ngx_http_llm_redact_ctx_t *rc, ngx_str_t *event,
    ngx_str_t *data, ngx_str_t *out);
static ngx_int_t ngx_http_llm_redact_responses(ngx_http_request_t *r,
    ngx_http_llm_ctx_t *ctx, ngx_http_llm_redact_ctx_t *rc, ngx_str_t *event,
    ngx_str_t *data, ngx_str_t *out);
static ngx_int_t ngx_http_llm_redact_responses_texts(
    ngx_http_llm_redact_ctx_t *rc, ngx_http_llm_json_t *json, uint32_t obj);
static ngx_int_t ngx_http_llm_redact_flush(ngx_http_request_t *r,
    ngx_http_llm_ctx_t *ctx, ngx_http_llm_redact_ctx_t *rc, ngx_str_t *event,
    ngx_str_t *data, ngx_str_t *out);
static ngx_int_t ngx_http_llm_redact_delta(ngx_http_llm_redact_ctx_t *rc,
    ngx_http_llm_redact_stream_t *s, ngx_http_llm_json_t *json, uint32_t tok,
    ngx_uint_t final, ngx_str_t *out, ngx_uint_t *changed);
static ngx_int_t ngx_http_llm_redact_release(ngx_http_llm_redact_ctx_t *rc,
    ngx_http_llm_redact_stream_t *s, ngx_uint_t final, ngx_str_t *out,
    ngx_uint_t *changed);
static ngx_http_llm_redact_stream_t *ngx_http_llm_redact_stream(
    ngx_http_llm_redact_ctx_t *rc, ngx_uint_t index, ngx_uint_t create);
static ngx_int_t ngx_http_llm_redact_json(ngx_http_request_t *r,
    ngx_http_llm_ctx_t *ctx, ngx_str_t *body, ngx_str_t *out);
static ngx_int_t ngx_http_llm_redact_json_text(ngx_http_llm_redact_ctx_t *rc,
    ngx_http_llm_json_t *json, uint32_t tok);
static ngx_int_t ngx_http_llm_redact_raw(ngx_http_llm_redact_ctx_t *rc,
    ngx_str_t *src, ngx_str_t *out);
static ngx_int_t ngx_http_llm_redact_raw_event(ngx_http_llm_redact_ctx_t *rc,
    ngx_str_t *event, ngx_str_t *data, ngx_str_t *out);
static ngx_int_t ngx_http_llm_redact_add_edit(ngx_http_llm_redact_ctx_t *rc,
    uint32_t start, uint32_t end, ngx_str_t *text);
static ngx_int_t ngx_http_llm_redact_string(ngx_http_llm_redact_ctx_t *rc,
    ngx_str_t *text, ngx_str_t *out);
static ngx_int_t ngx_http_llm_redact_apply(ngx_http_llm_redact_ctx_t *rc,
    ngx_str_t *src, ngx_str_t *event, ngx_str_t *out);
static ngx_int_t ngx_http_llm_redact_event_out(ngx_http_llm_redact_ctx_t *rc,
    ngx_str_t *event, ngx_str_t *data, ngx_str_t *out);
static ngx_int_t ngx_http_llm_redact_append(ngx_http_llm_redact_ctx_t *rc,
    ngx_str_t *out, ngx_str_t *more);
static ngx_int_t ngx_http_llm_redact_copy(ngx_http_llm_redact_ctx_t *rc,
    ngx_http_llm_json_t *json, ngx_str_t *data, const char *key,
    ngx_str_t *out);
static int64_t ngx_http_llm_redact_index(ngx_http_llm_json_t *json,
    uint32_t obj, int64_t dflt);
static ngx_uint_t ngx_http_llm_redact_is(ngx_http_llm_json_t *json,
    uint32_t tok, const char *s, size_t len);
static void *ngx_http_llm_redact_palloc(void *data, size_t size);
static ngx_int_t ngx_http_llm_redact_get_scratch(ngx_http_request_t *r);

static ngx_int_t ngx_http_llm_redact_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);

static char *ngx_http_llm_redact(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_llm_redact_types(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_llm_redact_rules(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static ngx_http_llm_redact_db_t *ngx_http_llm_redact_compile(ngx_conf_t *cf,
    ngx_uint_t types, ngx_http_llm_redact_rules_t *rules);
static void ngx_http_llm_redact_count(ngx_http_llm_redact_ctx_t *rc,
    ngx_uint_t type, ngx_uint_t what);
static ngx_int_t ngx_http_llm_redact_init_zone(ngx_shm_zone_t *shm_zone,
    void *data);
static void ngx_http_llm_redact_free_pii(void *data);
static void ngx_http_llm_redact_free_hmac(void *data);
static void ngx_http_llm_redact_free_scratch(void *data);
static ngx_int_t ngx_http_llm_redact_preconfiguration(ngx_conf_t *cf);
static ngx_int_t ngx_http_llm_redact_postconfiguration(ngx_conf_t *cf);
static void *ngx_http_llm_redact_create_main_conf(ngx_conf_t *cf);
static void *ngx_http_llm_redact_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_llm_redact_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child);
static ngx_int_t ngx_http_llm_redact_init_process(ngx_cycle_t *cycle);
static void ngx_http_llm_redact_exit_process(ngx_cycle_t *cycle);


static ngx_conf_enum_t  ngx_http_llm_redact_modes[] = {
    { ngx_string("mask"), NGX_HTTP_LLM_REDACT_MASK },
    { ngx_string("tokenize"), NGX_HTTP_LLM_REDACT_TOKENIZE },
    { ngx_string("hash"), NGX_HTTP_LLM_REDACT_HASH },
    { ngx_string("block"), NGX_HTTP_LLM_REDACT_BLOCK },
    { ngx_null_string, 0 }
};


static ngx_conf_num_bounds_t  ngx_http_llm_redact_max_values_bounds = {
    ngx_conf_check_num_bounds, 1, NGX_HTTP_LLM_REDACT_MAX_VALUES_MAX
};


static ngx_command_t  ngx_http_llm_redact_commands[] = {

    { ngx_string("llm_redact"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE12,
      ngx_http_llm_redact,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("llm_redact_mode"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_enum_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_llm_redact_loc_conf_t, mode),
      &ngx_http_llm_redact_modes },

    { ngx_string("llm_redact_types"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_http_llm_redact_types,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("llm_redact_rules"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_llm_redact_rules,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("llm_redact_max_values"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_llm_redact_loc_conf_t, max_values),
      &ngx_http_llm_redact_max_values_bounds },

    { ngx_string("llm_redact_secret"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_llm_redact_loc_conf_t, secret),
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_llm_redact_module_ctx = {
    ngx_http_llm_redact_preconfiguration,  /* preconfiguration */
    ngx_http_llm_redact_postconfiguration, /* postconfiguration */

    ngx_http_llm_redact_create_main_conf,  /* create main configuration */
    NULL,                                  /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    ngx_http_llm_redact_create_loc_conf,   /* create location configuration */
    ngx_http_llm_redact_merge_loc_conf     /* merge location configuration */
};


ngx_module_t  ngx_http_llm_redact_module = {
    NGX_MODULE_V1,
    &ngx_http_llm_redact_module_ctx,       /* module context */
    ngx_http_llm_redact_commands,          /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    ngx_http_llm_redact_init_process,      /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    ngx_http_llm_redact_exit_process,      /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


/* the worker's scratch space, and the configuration it was made for */
static hs_scratch_t                     *ngx_http_llm_redact_scratch;
static ngx_http_llm_redact_main_conf_t  *ngx_http_llm_redact_scratch_conf;

/* the worker's buffer of a request's strings, joined (see _walk()) */
static u_char                           *ngx_http_llm_redact_join;
static size_t                            ngx_http_llm_redact_join_size;


/*
 * The pipeline's OTHER hook: a POST that is not a model call.  Asked first
 * without a context (is its body wanted?): yes when the location redacts
 * requests; then, with the body parsed, redacted like a model call's.
 */

static ngx_int_t
ngx_http_llm_redact_other(ngx_http_request_t *r, ngx_http_llm_ctx_t *ctx)
{
    ngx_http_llm_redact_loc_conf_t  *rlcf;

    if (ctx) {
        return ngx_http_llm_redact_request(r, ctx);
    }

    rlcf = ngx_http_get_module_loc_conf(r, ngx_http_llm_redact_module);

    return (rlcf->pii != NULL && (rlcf->where & NGX_HTTP_LLM_REDACT_REQUEST))
           ? NGX_OK : NGX_DECLINED;
}


/*
 * The request: called by the pipeline after the catalogue lookup.  Returns
 * NGX_DECLINED to go on, NGX_HTTP_SPECIAL_RESPONSE with a prepared refusal
 * (block mode), or an HTTP status.
 */

ngx_int_t
ngx_http_llm_redact_request(ngx_http_request_t *r, ngx_http_llm_ctx_t *ctx)
{
    uint32_t                         u;
    uint64_t                         found;
    ngx_int_t                        rv;
    const char                      *name;
    ngx_http_llm_redact_ctx_t       *rc;
    ngx_http_llm_redact_loc_conf_t  *rlcf;
    ngx_http_llm_redact_main_conf_t *rmcf;

    rlcf = ngx_http_get_module_loc_conf(r, ngx_http_llm_redact_module);

    if (rlcf->pii == NULL) {
        return NGX_DECLINED;
    }

    rmcf = ngx_http_get_module_main_conf(r, ngx_http_llm_redact_module);

    rc = ngx_pcalloc(r->pool, sizeof(ngx_http_llm_redact_ctx_t));
    if (rc == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    rc->conf = rlcf;
    rc->ctx = ctx;
    rc->pool = r->pool;
    rc->matches.alloc = ngx_http_llm_redact_palloc;
    rc->matches.data = r->pool;

    if (ngx_array_init(&rc->spans, r->pool, 4, sizeof(ngx_http_llm_span_t))
        != NGX_OK
        || ngx_array_init(&rc->reps, r->pool, 4, sizeof(ngx_str_t))
           != NGX_OK
        || ngx_array_init(&rc->edits, r->pool, 4,
                          sizeof(ngx_http_llm_redact_edit_t))
           != NGX_OK
        || ngx_array_init(&rc->streams, r->pool, 1,
                          sizeof(ngx_http_llm_redact_stream_t))
           != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->hook_data = rc;
    ngx_http_set_ctx(r, rc, ngx_http_llm_redact_module);

    if ((rlcf->where & NGX_HTTP_LLM_REDACT_REQUEST)
        && rlcf->mode == NGX_HTTP_LLM_REDACT_TOKENIZE
        && ctx->endpoint == NGX_HTTP_LLM_EP_RESPONSES)
    {
        /*
         * Placeholders are numbered per request: the turns the provider
         * stored ("previous_response_id", "conversation") hold those of
         * earlier requests, which would be restored to this request's
         * values.  Refused.
         */

        name = "previous_response_id";
        u = ngx_http_llm_json_object_get(&ctx->req.json, 0, name, 20);

        if (u == NGX_HTTP_LLM_NONE
            || ctx->req.json.tokens[u].type == NGX_HTTP_LLM_JSON_NULL)
        {
            name = "conversation";
            u = ngx_http_llm_json_object_get(&ctx->req.json, 0, name, 12);
        }

        if (u != NGX_HTTP_LLM_NONE
            && ctx->req.json.tokens[u].type != NGX_HTTP_LLM_JSON_NULL)
        {
            ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                          "llm redact: \"%s\" with llm_redact_mode "
                          "tokenize, refused", name);

            return ngx_http_llm_fail(r, ctx, NGX_HTTP_BAD_REQUEST,
                                     "unsupported_with_tokenize", name,
                                     "%s cannot be used through this "
                                     "gateway: its redaction policy "
                                     "(tokenize) numbers placeholders per "
                                     "request, so the turns the provider "
                                     "stored would be restored to the "
                                     "wrong values.  Send the whole "
                                     "conversation in input instead.",
                                     name);
        }
    }

    if (rlcf->where & NGX_HTTP_LLM_REDACT_REQUEST) {

        if (ngx_http_llm_redact_get_scratch(r) != NGX_OK) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        found = 0;

        rv = ngx_http_llm_redact_walk(r, ctx, rc, &found);

        if (rv == NGX_DECLINED) {
            ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                          "llm redact: the request has more than %i "
                          "distinct values to tokenize (llm_redact_max_values)",
                          rlcf->max_values);

            return ngx_http_llm_fail(r, ctx, NGX_HTTP_BAD_REQUEST,
                                     "too_many_sensitive_values", NULL,
                                     "The request contains more than %i "
                                     "distinct sensitive values, more than "
                                     "the gateway's redaction policy "
                                     "allows in one request.",
                                     rlcf->max_values);
        }

        if (rv != NGX_OK) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                       "llm redact: %ui values in the request", rc->count);

        if (found && rlcf->mode == NGX_HTTP_LLM_REDACT_BLOCK) {
            return ngx_http_llm_redact_blocked(r, ctx, rc, found);
        }
    }

    rc->response = (rlcf->where & NGX_HTTP_LLM_REDACT_RESPONSE) ? 1 : 0;
    rc->restore = (rc->nvalues > 0);
    rc->answer = 1;
    rc->attempt = ctx->attempts;

    if (rc->response || rc->restore) {
        rc->pii = rc->response ? rlcf->pii : rmcf->none;
        ctx->event_hook = ngx_http_llm_redact_event;
        ctx->json_hook = ngx_http_llm_redact_json;
    }

    ngx_log_debug3(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "llm redact: the answer is %s (redacted:%ui "
                   "restored values:%ui)",
                   (rc->response || rc->restore) ? "scanned" : "not scanned",
                   (ngx_uint_t) rc->response, rc->nvalues);

    return NGX_DECLINED;
}


/*
 * Every string value of the request is text a user or a tool may have
 * written: message contents of any shape, tool calls and their results,
 * system prompts and instructions, documents, thinking, predictions, stop
 * sequences, metadata, tool definitions.  Skipped: object keys, and the
 * values that only the API or the provider writes (see _skip()).
 * NGX_DECLINED: past llm_redact_max_values.
 */

static ngx_int_t
ngx_http_llm_redact_walk(ngx_http_request_t *r, ngx_http_llm_ctx_t *ctx,
    ngx_http_llm_redact_ctx_t *rc, uint64_t *found)
{
    int                            each;
    size_t                         len, size, pos, *ends;
    u_char                        *hit, *hitj, *join;
    uint32_t                       i, *toks, *jk;
    ngx_int_t                      rv;
    ngx_str_t                     *texts;
    ngx_uint_t                     n, k, j, all, next;
    const u_char                  *raw;
    ngx_http_llm_text_t            t;
    ngx_http_llm_json_t           *json;
    ngx_http_llm_json_token_t     *tok;
    ngx_http_llm_redact_source_t   source;

    json = &ctx->req.json;
    texts = NULL;
    ends = NULL;
    toks = NULL;
    jk = NULL;
    hit = NULL;
    hitj = NULL;
    join = NULL;

    /*
     * The strings to scan, decoded and joined (each followed by '\n') in
     * a buffer of the request, are scanned at once: only those in which
     * Hyperscan reported something are scanned again, alone, and redacted
     * (a Hyperscan scan has a fixed cost, that of about 150 bytes of
     * text).  A string longer than JOIN_LONG is scanned alone only: it
     * would be scanned twice if it has a value.  The body itself is not
     * copied.  The decoded texts of the prompt are kept in the request's
     * texts (ngx_http_llm_text_find()): the cache key and the token
     * estimate do not decode them again; hence the request's pool for the
     * joined text, the worker's buffer for the arrays.
     */

    size = 0;
    n = 0;

    for (i = 0; i < json->ntokens; i++) {
        tok = &json->tokens[i];

        if (tok->type == NGX_HTTP_LLM_JSON_STRING && !tok->key
            && tok->end - tok->start > 2)
        {
            size += tok->end - tok->start - 1;
            n++;
        }
    }

    len = n * (sizeof(ngx_str_t) + sizeof(size_t) + 2 * sizeof(uint32_t) + 2)
          + sizeof(ngx_str_t);

    all = (n < 2 || size + len > NGX_HTTP_LLM_REDACT_JOIN_MAX);

    if (!all) {
        join = ngx_pnalloc(r->pool, size);
        if (join == NULL) {
            return NGX_ERROR;
        }

        if (ngx_http_llm_redact_join_size < len) {
            if (ngx_http_llm_redact_join) {
                ngx_free(ngx_http_llm_redact_join);
            }

            ngx_http_llm_redact_join_size = 0;

            ngx_http_llm_redact_join = ngx_alloc(len, r->connection->log);
            if (ngx_http_llm_redact_join == NULL) {
                return NGX_ERROR;
            }

            ngx_http_llm_redact_join_size = len;
        }

        texts = (ngx_str_t *) ngx_align_ptr(ngx_http_llm_redact_join,
                                            sizeof(ngx_str_t));
        ends = (size_t *) (texts + n);
        toks = (uint32_t *) (ends + n);
        jk = toks + n;
        hit = (u_char *) (jk + n);
        hitj = hit + n;
    }

    source.model = ctx->req.model_tok;
    source.obj = NGX_HTTP_LLM_NONE;
    source.text = 0;

    pos = 0;
    k = 0;
    j = 0;
    next = 0;

    for (i = 0; i < json->ntokens; i++) {
        tok = &json->tokens[i];

        if (tok->type != NGX_HTTP_LLM_JSON_STRING || tok->key
            || tok->end - tok->start <= 2)
        {
            continue;
        }

        ngx_http_llm_json_raw_string(json, i, &raw, &len);

        ngx_memzero(&t, sizeof(ngx_http_llm_text_t));
        t.tok = i;

        if (!all && len <= NGX_HTTP_LLM_REDACT_JOIN_LONG) {
            t.text.data = join + pos;

            if (tok->escaped) {
                t.text.len = ngx_http_llm_json_decode_string(raw, len,
                                                             t.text.data);
            } else {
                ngx_memcpy(t.text.data, raw, len);
                t.text.len = len;
            }

            if (ngx_http_llm_redact_skip(json, i, &t.text, &source)) {
                continue;
            }

            if (tok->escaped) {
                ngx_http_llm_redact_keep(ctx, &next, i, &t.text);
            }

            texts[k] = t.text;
            toks[k] = i;
            hit[k] = 0;
            pos += t.text.len;
            ends[j] = pos;
            jk[j++] = k++;
            join[pos++] = '\n';

            continue;
        }

        if (ngx_http_llm_redact_decode(r, json, i, &t.text) != NGX_OK) {
            return NGX_ERROR;
        }

        if (ngx_http_llm_redact_skip(json, i, &t.text, &source)) {
            continue;
        }

        if (tok->escaped) {
            ngx_http_llm_redact_keep(ctx, &next, i, &t.text);
        }

        if (!all) {
            /* scanned alone, in its turn */
            texts[k] = t.text;
            toks[k] = i;
            hit[k++] = 1;
            continue;
        }

        rv = ngx_http_llm_redact_text(r, ctx, rc, &t, found);
        if (rv != NGX_OK) {
            return rv;
        }
    }

    if (all) {
        ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                       "llm redact: %ui strings of the request scanned", n);
        return NGX_OK;
    }

    each = ngx_http_llm_pii_texts(rc->conf->pii, ngx_http_llm_redact_scratch,
                                  join, pos, ends, j,
                                  hitj, &rc->matches);

    if (each == -1) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "llm redact: the scan of the request failed");
        return NGX_ERROR;
    }

    for (n = 0; n < j; n++) {
        if (hitj[n] || each) {
            hit[jk[n]] = 1;
        }
    }

    ngx_log_debug3(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "llm redact: %ui strings of the request, %ui scanned "
                   "at once%s", k, j,
                   each ? " (custom rules: each alone)" : "");

    /* in the order of the request: tokenize numbers the values so */

    for (n = 0; n < k; n++) {
        if (!hit[n]) {
            continue;
        }

        ngx_memzero(&t, sizeof(ngx_http_llm_text_t));
        t.tok = toks[n];
        t.text = texts[n];

        rv = ngx_http_llm_redact_text(r, ctx, rc, &t, found);
        if (rv != NGX_OK) {
            return rv;
        }
    }

    return NGX_OK;
}


/* a string of the request, decoded (zero-copy without escapes) */

static ngx_int_t
ngx_http_llm_redact_decode(ngx_http_request_t *r, ngx_http_llm_json_t *json,
    uint32_t i, ngx_str_t *text)
{
    size_t         len;
    const u_char  *raw;

    ngx_http_llm_json_raw_string(json, i, &raw, &len);

    if (json->tokens[i].escaped) {
        text->data = ngx_pnalloc(r->pool, len);
        if (text->data == NULL) {
            return NGX_ERROR;
        }

        text->len = ngx_http_llm_json_decode_string(raw, len, text->data);

    } else {
        text->data = (u_char *) raw;
        text->len = len;
    }

    return NGX_OK;
}


/*
 * A string of the request decoded here, kept for the prompt text it is (if
 * it is one not decoded yet): the cache key and the token estimate read it
 * instead of decoding it again.  The original's decoding: a redaction
 * rewrites a copy (ngx_http_llm_edit_text()).
 */

static void
ngx_http_llm_redact_keep(ngx_http_llm_ctx_t *ctx, ngx_uint_t *next,
    uint32_t tok, ngx_str_t *text)
{
    ngx_http_llm_text_t  *t;

    t = ngx_http_llm_text_find(ctx->req.texts.elts, ctx->req.texts.nelts,
                               next, tok);

    if (t != NULL && t->text.data == NULL) {
        t->text = *text;

        ngx_log_debug2(NGX_LOG_DEBUG_HTTP, ctx->request->connection->log, 0,
                       "llm redact: prompt text %ui decoded, %uz bytes, "
                       "kept", (ngx_uint_t) (t - (ngx_http_llm_text_t *)
                                             ctx->req.texts.elts),
                       text->len);
    }
}


/*
 * String values that are not scanned: the request's model (routing owns
 * it), and, by the key of the member they are (or whose array they are
 * in):
 *
 *   - identifiers and the provider's opaque blobs: "id", "*_id", "*_ids",
 *     "signature", "encrypted_content";
 *   - base64 payloads: "data" (unless its object is a text source,
 *     "type": "text"), and data: URLs in base64 in "url", "image_url",
 *     "file_data".
 *
 * They are skipped only when the value has the shape of an identifier or
 * of base64 (letters, digits, "+/=_-", line breaks): text put there is
 * scanned.  Changing them would break the request.  Everything else is
 * scanned, enumerations too ("role", "type": no built-in type matches
 * them).
 */

static ngx_uint_t
ngx_http_llm_redact_skip(ngx_http_llm_json_t *json, uint32_t tok,
    ngx_str_t *text, ngx_http_llm_redact_source_t *cache)
{
    size_t         len, n;
    uint32_t       v, obj, type;
    const u_char  *key, *raw, *comma;

    static const struct {
        size_t       len;
        const char  *name;
    }  keys[] = {
        { 2, "id" },
        { 9, "signature" },
        { 17, "encrypted_content" },
        { 0, NULL }
    };

    if (tok == cache->model) {
        return 1;
    }

    /* the key of the member: of the value, or of the array it is in */

    v = tok;
    obj = json->tokens[v].parent;

    while (obj != NGX_HTTP_LLM_NONE
           && json->tokens[obj].type == NGX_HTTP_LLM_JSON_ARRAY)
    {
        v = obj;
        obj = json->tokens[v].parent;
    }

    if (obj == NGX_HTTP_LLM_NONE || v == 0 || !json->tokens[v - 1].key) {
        return 0;
    }

    ngx_http_llm_json_raw_string(json, v - 1, &key, &len);

    for (n = 0; keys[n].name; n++) {
        if (len == keys[n].len
            && ngx_strncmp(key, keys[n].name, len) == 0)
        {
            return ngx_http_llm_redact_opaque(text->data, text->len);
        }
    }

    if ((len > 3 && ngx_strncmp(key + len - 3, "_id", 3) == 0)
        || (len > 4 && ngx_strncmp(key + len - 4, "_ids", 4) == 0))
    {
        return ngx_http_llm_redact_opaque(text->data, text->len);
    }

    if (len == 4 && ngx_strncmp(key, "data", 4) == 0) {

        /*
         * Anthropic's text source: {"type":"text","data":"..."}.  The last
         * object looked at is remembered: an object with many "data"
         * members costs one search.
         */

        if (cache->obj != obj) {
            cache->obj = obj;
            cache->text = 0;

            type = ngx_http_llm_json_object_get(json, obj, "type", 4);

            if (type != NGX_HTTP_LLM_NONE
                && json->tokens[type].type == NGX_HTTP_LLM_JSON_STRING)
            {
                ngx_http_llm_json_raw_string(json, type, &raw, &n);
                cache->text = (n == 4 && ngx_strncmp(raw, "text", 4) == 0);
            }
        }

        if (cache->text) {
            return 0;
        }

        return ngx_http_llm_redact_opaque(text->data, text->len);
    }

    if ((len == 3 && ngx_strncmp(key, "url", 3) == 0)
        || (len == 9 && ngx_strncmp(key, "image_url", 9) == 0)
        || (len == 9 && ngx_strncmp(key, "file_data", 9) == 0))
    {
        /* "data:MEDIA;base64,DATA" */

        if (text->len < 5
            || ngx_strncasecmp(text->data, (u_char *) "data:", 5) != 0)
        {
            return 0;
        }

        comma = ngx_strlchr(text->data, text->data + ngx_min(text->len, 256),
                            ',');

        if (comma == NULL || comma - text->data < 12
            || ngx_strncasecmp((u_char *) comma - 7, (u_char *) ";base64",
                               7) != 0)
        {
            return 0;
        }

        comma++;

        return ngx_http_llm_redact_opaque((u_char *) comma,
                                          text->data + text->len - comma);
    }

    return 0;
}


/* an identifier or base64 (also URL-safe, with line breaks) */

static ngx_uint_t
ngx_http_llm_redact_opaque(u_char *p, size_t len)
{
    u_char  c, *last;

    for (last = p + len; p < last; p++) {
        c = *p;

        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
            || (c >= '0' && c <= '9')
            || c == '+' || c == '/' || c == '=' || c == '_' || c == '-'
            || c == CR || c == LF)
        {
            continue;
        }

        return 0;
    }

    return 1;
}


static ngx_int_t
ngx_http_llm_redact_text(ngx_http_request_t *r, ngx_http_llm_ctx_t *ctx,
    ngx_http_llm_redact_ctx_t *rc, ngx_http_llm_text_t *t, uint64_t *found)
{
    ngx_int_t                  rv;
    ngx_uint_t                 i;
    ngx_http_llm_span_t       *span;
    ngx_http_llm_pii_match_t  *m;

    if (ngx_http_llm_pii_scan(rc->conf->pii, ngx_http_llm_redact_scratch,
                              t->text.data, t->text.len, 0, &rc->matches)
        != 0)
    {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "llm redact: the scan of the request failed");
        return NGX_ERROR;
    }

    if (rc->matches.nelts == 0) {
        return NGX_OK;
    }

    m = rc->matches.elts;
    rc->count += rc->matches.nelts;

    for (i = 0; i < rc->matches.nelts; i++) {
        ngx_http_llm_redact_count(rc, m[i].type,
                                  NGX_HTTP_LLM_REDACT_IN_REQUEST);
    }

    if (rc->conf->mode == NGX_HTTP_LLM_REDACT_BLOCK) {
        for (i = 0; i < rc->matches.nelts; i++) {
            *found |= (uint64_t) 1 << m[i].type;
        }

        return NGX_OK;
    }

    rc->spans.nelts = 0;

    for (i = 0; i < rc->matches.nelts; i++) {
        span = ngx_array_push(&rc->spans);
        if (span == NULL) {
            return NGX_ERROR;
        }

        span->start = m[i].start;
        span->end = m[i].end;

        rv = ngx_http_llm_redact_replacement(rc, m[i].type,
                                             t->text.data + m[i].start,
                                             m[i].end - m[i].start,
                                             &span->text);
        if (rv != NGX_OK) {
            /* NGX_DECLINED: past llm_redact_max_values */
            return rv;
        }
    }

    return ngx_http_llm_edit_text(r, ctx, t, &rc->spans);
}


/* block mode: a 400 in the API's format naming the types, not the values */

static ngx_int_t
ngx_http_llm_redact_blocked(ngx_http_request_t *r, ngx_http_llm_ctx_t *ctx,
    ngx_http_llm_redact_ctx_t *rc, uint64_t found)
{
    u_char       *p, *last;
    ngx_str_t     list;
    ngx_uint_t    t, n;
    const char   *name;

    list.data = ngx_pnalloc(r->pool, 512);
    if (list.data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = list.data;
    last = list.data + 512;
    n = ngx_http_llm_pii_ntypes(rc->conf->pii);

    for (t = 0; t < n; t++) {
        if (!(found & ((uint64_t) 1 << t))) {
            continue;
        }

        name = ngx_http_llm_pii_name(rc->conf->pii, t);
        p = ngx_slprintf(p, last, "%s%s", (p == list.data) ? "" : ", ",
                         name);

        ngx_http_llm_redact_count(rc, t, NGX_HTTP_LLM_REDACT_BLOCKED);
    }

    list.len = p - list.data;

    return ngx_http_llm_fail(r, ctx, NGX_HTTP_BAD_REQUEST, "sensitive_data",
                             NULL, "The request contains sensitive data "
                             "(%V) and was blocked by the gateway's "
                             "redaction policy.", &list);
}


static ngx_int_t
ngx_http_llm_redact_replacement(ngx_http_llm_redact_ctx_t *rc,
    ngx_uint_t type, u_char *value, size_t len, ngx_str_t *out)
{
    u_char                       *p, tag[8];
    size_t                        n;
    ngx_int_t                     rv;
    const char                   *label;
    ngx_http_llm_redact_value_t  *v;

    label = ngx_http_llm_pii_label(rc->conf->pii, type, &n);

    switch (rc->conf->mode) {

    case NGX_HTTP_LLM_REDACT_TOKENIZE:
        rv = ngx_http_llm_redact_tokenize(rc, type, value, len, &v);

        if (rv == NGX_OK) {
            *out = v->placeholder;
            return NGX_OK;
        }

        if (rv == NGX_ERROR || !rc->answer) {
            /* the request is refused past llm_redact_max_values */
            return rv;
        }

        /* a new value of the answer past the bound: masked */
        break;

    case NGX_HTTP_LLM_REDACT_HASH:
        if (ngx_http_llm_pii_hmac_tag(rc->conf->hmac, value, len, tag) != 0)
        {
            return NGX_ERROR;
        }

        p = ngx_pnalloc(rc->pool, n + 11);
        if (p == NULL) {
            return NGX_ERROR;
        }

        out->data = p;
        *p++ = '[';
        p = ngx_cpymem(p, label, n);
        *p++ = ':';
        p = ngx_cpymem(p, tag, 8);
        *p++ = ']';
        out->len = p - out->data;

        return NGX_OK;

    default: /* mask, and block mode in answers */
        break;
    }

    p = ngx_pnalloc(rc->pool, n + 2);
    if (p == NULL) {
        return NGX_ERROR;
    }

    out->data = p;
    *p++ = '[';
    p = ngx_cpymem(p, label, n);
    *p++ = ']';
    out->len = p - out->data;

    return NGX_OK;
}


/*
 * The same value gets the same placeholder within a request.  The map is a
 * chained hash that doubles when it holds a value a bucket, so a request
 * with many values costs linear time.  NGX_DECLINED: the value is new and
 * the map holds llm_redact_max_values values already.
 */

static ngx_int_t
ngx_http_llm_redact_tokenize(ngx_http_llm_redact_ctx_t *rc, ngx_uint_t type,
    u_char *value, size_t len, ngx_http_llm_redact_value_t **value_out)
{
    u_char                       *p;
    size_t                        n;
    ngx_uint_t                    hash, b;
    const char                   *label;
    ngx_http_llm_redact_value_t  *v, **slot;

    if (rc->buckets == NULL) {
        rc->buckets = ngx_pcalloc(rc->pool, NGX_HTTP_LLM_REDACT_BUCKETS
                                  * sizeof(ngx_http_llm_redact_value_t *));
        if (rc->buckets == NULL) {
            return NGX_ERROR;
        }

        rc->nbuckets = NGX_HTTP_LLM_REDACT_BUCKETS;
    }

    hash = ngx_hash_key(value, len) ^ type;
    b = hash & (rc->nbuckets - 1);

    for (v = rc->buckets[b]; v; v = v->next) {
        if (v->hash == hash && v->type == type && v->value.len == len
            && ngx_memcmp(v->value.data, value, len) == 0)
        {
            *value_out = v;
            return NGX_OK;
        }
    }

    if (rc->nvalues >= (ngx_uint_t) rc->conf->max_values) {
        return NGX_DECLINED;
    }

    if (rc->nvalues >= rc->nbuckets) {
        if (ngx_http_llm_redact_grow(rc) != NGX_OK) {
            return NGX_ERROR;
        }

        b = hash & (rc->nbuckets - 1);
    }

    if (rc->bytype == NULL) {
        rc->bytype = ngx_pcalloc(rc->pool, NGX_HTTP_LLM_PII_MAX_TYPES
                                           * sizeof(ngx_array_t *));
        if (rc->bytype == NULL) {
            return NGX_ERROR;
        }
    }

    if (rc->bytype[type] == NULL) {
        rc->bytype[type] = ngx_array_create(rc->pool, 4,
                                       sizeof(ngx_http_llm_redact_value_t *));
        if (rc->bytype[type] == NULL) {
            return NGX_ERROR;
        }
    }

    slot = ngx_array_push(rc->bytype[type]);
    v = ngx_palloc(rc->pool, sizeof(ngx_http_llm_redact_value_t));
    label = ngx_http_llm_pii_label(rc->conf->pii, type, &n);
    p = ngx_pnalloc(rc->pool, len + n + NGX_INT_T_LEN + 3);

    if (slot == NULL || v == NULL || p == NULL) {
        return NGX_ERROR;
    }

    *slot = v;

    v->type = type;
    v->hash = hash;

    /*
     * Only the request's values are restored: a value found in the answer
     * gets a placeholder that the answer itself must not turn back.
     */

    v->restore = !rc->answer;
    v->value.data = ngx_cpymem(p, value, len) - len;
    v->value.len = len;

    p += len;
    v->placeholder.data = p;
    p = ngx_sprintf(p, "[%*s_%ui]", n, label, rc->bytype[type]->nelts);
    v->placeholder.len = p - v->placeholder.data;

    v->next = rc->buckets[b];
    rc->buckets[b] = v;

    rc->nvalues++;

    *value_out = v;

    return NGX_OK;
}


/* twice the buckets; the values are linked into them again */

static ngx_int_t
ngx_http_llm_redact_grow(ngx_http_llm_redact_ctx_t *rc)
{
    ngx_uint_t                     i, n, b;
    ngx_http_llm_redact_value_t  **buckets, *v, *next;

    n = rc->nbuckets * 2;

    buckets = ngx_pcalloc(rc->pool, n * sizeof(ngx_http_llm_redact_value_t *));
    if (buckets == NULL) {
        return NGX_ERROR;
    }

    for (i = 0; i < rc->nbuckets; i++) {
        for (v = rc->buckets[i]; v; v = next) {
            next = v->next;
            b = v->hash & (n - 1);
            v->next = buckets[b];
            buckets[b] = v;
        }
    }

    if (rc->nbuckets > NGX_HTTP_LLM_REDACT_BUCKETS) {
        /* a large block goes back to the system at once */
        ngx_pfree(rc->pool, rc->buckets);
    }

    rc->buckets = buckets;
    rc->nbuckets = n;

    return NGX_OK;
}


/*
 * text[from, to) with the matches replaced and, when values were
 * tokenized, the placeholders in between restored; *changed is set when
 * the result differs.  The result is in a buffer reused by the next call:
 * the caller encodes it at once.
 */

static ngx_int_t
ngx_http_llm_redact_build(ngx_http_llm_redact_ctx_t *rc, u_char *text,
    size_t from, size_t to, ngx_http_llm_pii_matches_t *m, ngx_str_t *out,
    ngx_uint_t *changed)
{
    u_char                    *p;
    size_t                     len, pos;
    ngx_str_t                 *rep;
    ngx_uint_t                 i, n;
    ngx_http_llm_pii_match_t  *e;

    e = m->elts;
    rc->reps.nelts = 0;

    len = 0;
    pos = from;
    n = 0;

    for (i = 0; i < m->nelts; i++) {
        if (e[i].start < from || e[i].end > to) {
            continue;
        }

        rep = ngx_array_push(&rc->reps);
        if (rep == NULL) {
            return NGX_ERROR;
        }

        if (e[i].tail) {
            ngx_str_null(rep);

        } else if (ngx_http_llm_redact_replacement(rc, e[i].type,
                                                   text + e[i].start,
                                                   e[i].end - e[i].start, rep)
                   != NGX_OK)
        {
            return NGX_ERROR;
        }

        len += ngx_http_llm_redact_restore(rc, text + pos, e[i].start - pos,
                                           NULL, changed);
        len += rep->len;
        pos = e[i].end;
        n++;

        if (!e[i].tail) {
            rc->count++;
            ngx_http_llm_redact_count(rc, e[i].type,
                                      NGX_HTTP_LLM_REDACT_IN_RESPONSE);
        }
    }

    if (n && rc->answer) {
        /* values of the answer must not reach the cache's memory */
        rc->ctx->no_store = 1;
    }

    len += ngx_http_llm_redact_restore(rc, text + pos, to - pos, NULL,
                                       changed);

    if (n) {
        *changed = 1;
    }

    if (len == 0) {
        ngx_str_null(out);
        return NGX_OK;
    }

    if (len > rc->text_size) {
        rc->text_size = ngx_max(len, 256);
        rc->text = ngx_pnalloc(rc->pool, rc->text_size);
        if (rc->text == NULL) {
            rc->text_size = 0;
            return NGX_ERROR;
        }
    }

    out->data = rc->text;

    p = out->data;
    pos = from;
    rep = rc->reps.elts;
    n = 0;

    for (i = 0; i < m->nelts; i++) {
        if (e[i].start < from || e[i].end > to) {
            continue;
        }

        p += ngx_http_llm_redact_restore(rc, text + pos, e[i].start - pos, p,
                                         NULL);
        p = ngx_cpymem(p, rep[n].data, rep[n].len);
        pos = e[i].end;
        n++;
    }

    p += ngx_http_llm_redact_restore(rc, text + pos, to - pos, p, NULL);

    out->len = p - out->data;

    return NGX_OK;
}


/*
 * Copies (dst != NULL) or measures text with the placeholders of tokenized
 * values replaced by the values.
 */

static size_t
ngx_http_llm_redact_restore(ngx_http_llm_redact_ctx_t *rc, u_char *p,
    size_t len, u_char *dst, ngx_uint_t *changed)
{
    int                           type;
    u_char                       *last, *q;
    size_t                        n, total, label_len;
    unsigned                      num;
    ngx_array_t                  *values;
    const u_char                 *label;
    ngx_http_llm_redact_value_t **v;

    if (!rc->restore) {
        if (dst && len) {
            ngx_memcpy(dst, p, len);
        }

        return len;
    }

    last = p + len;
    total = 0;

    while (p < last) {
        q = ngx_strlchr(p, last, '[');
        if (q == NULL) {
            q = last;
        }

        if (dst) {
            dst = ngx_cpymem(dst, p, q - p);
        }

        total += q - p;
        p = q;

        if (p == last) {
            break;
        }

        n = ngx_http_llm_pii_placeholder(p, last - p, &label, &label_len,
                                         &num);
        if (n) {
            type = ngx_http_llm_pii_find_label(rc->conf->pii, label,
                                               label_len);
            values = (type >= 0 && rc->bytype) ? rc->bytype[type] : NULL;

            v = values ? values->elts : NULL;

            if (v && num <= values->nelts && v[num - 1]->restore) {

                if (dst) {
                    dst = ngx_cpymem(dst, v[num - 1]->value.data,
                                     v[num - 1]->value.len);
                    rc->restored++;
                    ngx_http_llm_redact_count(rc, type,
                                              NGX_HTTP_LLM_REDACT_RESTORED);
                }

                total += v[num - 1]->value.len;
                p += n;

                if (changed) {
                    *changed = 1;
                }

                continue;
            }
        }

        if (dst) {
            *dst++ = '[';
        }

        total++;
        p++;
    }

    return total;
}


/* answers: streamed events */

static ngx_int_t
ngx_http_llm_redact_event(ngx_http_request_t *r, ngx_http_llm_ctx_t *ctx,
    ngx_str_t *event, ngx_str_t *data, ngx_str_t *out)
{
    ngx_http_llm_redact_ctx_t  *rc;

    rc = ctx->hook_data;

    if (ngx_http_llm_redact_get_scratch(r) != NGX_OK) {
        return NGX_ERROR;
    }

    if (rc->attempt != ctx->attempts) {
        /* a fallback attempt: nothing held from the one that failed */
        rc->attempt = ctx->attempts;
        rc->streams.nelts = 0;
    }

    if (event == NULL) {
        /* the end of the stream: what is still held */
        return ngx_http_llm_redact_flush(r, ctx, rc, NULL, NULL, out);
    }

    if (ctx->api == NGX_HTTP_LLM_API_ANTHROPIC) {
        return ngx_http_llm_redact_anthropic(r, ctx, rc, event, data, out);
    }

    if (ctx->endpoint == NGX_HTTP_LLM_EP_RESPONSES) {
        return ngx_http_llm_redact_responses(r, ctx, rc, event, data, out);
    }

    return ngx_http_llm_redact_openai(r, ctx, rc, event, data, out);
}


/*
 * OpenAI chunks: choices[].delta.content (choices[].text for completions).
 * The text is held back across chunks where a value may continue, and
 * flushed into the chunk that carries the choice's finish_reason, or before
 * "[DONE]".
 */

static ngx_int_t
ngx_http_llm_redact_openai(ngx_http_request_t *r, ngx_http_llm_ctx_t *ctx,
    ngx_http_llm_redact_ctx_t *rc, ngx_str_t *event, ngx_str_t *data,
    ngx_str_t *out)
{
    u_char                        *p;
    int64_t                        index;
    uint32_t                       choices, c, delta, text, fin;
    ngx_int_t                      rv;
    ngx_str_t                      released, head;
    ngx_uint_t                     final, changed, i;
    ngx_http_llm_json_t            json;
    ngx_http_llm_redact_stream_t  *s;

    if (data->len == 6 && ngx_strncmp(data->data, "[DONE]", 6) == 0) {
        return ngx_http_llm_redact_flush(r, ctx, rc, event, data, out);
    }

    rv = ngx_http_llm_parse_json(r, ctx, data, &json);
    if (rv != NGX_OK) {
        return (rv == NGX_ERROR)
               ? NGX_ERROR : ngx_http_llm_redact_raw_event(rc, event, data,
                                                           out);
    }

    choices = ngx_http_llm_json_object_get(&json, 0, "choices", 7);

    if (choices == NGX_HTTP_LLM_NONE
        || json.tokens[choices].type != NGX_HTTP_LLM_JSON_ARRAY)
    {
        return NGX_HTTP_LLM_EVENT_PASS;
    }

    /* the chunk's id and model, for text flushed in a chunk of our own */

    if (rc->id.data == NULL
        && (ngx_http_llm_redact_copy(rc, &json, data, "id", &rc->id)
            != NGX_OK
            || ngx_http_llm_redact_copy(rc, &json, data, "model", &rc->model)
               != NGX_OK))
    {
        return NGX_ERROR;
    }

    rc->edits.nelts = 0;

    for (c = ngx_http_llm_json_first(&json, choices), i = 0;
         c != NGX_HTTP_LLM_NONE;
         c = json.tokens[c].next, i++)
    {
        if (json.tokens[c].type != NGX_HTTP_LLM_JSON_OBJECT) {
            continue;
        }

        index = ngx_http_llm_redact_index(&json, c, i);

        fin = ngx_http_llm_json_object_get(&json, c, "finish_reason", 13);
        final = (fin != NGX_HTTP_LLM_NONE
                 && json.tokens[fin].type != NGX_HTTP_LLM_JSON_NULL);

        delta = ngx_http_llm_json_object_get(&json, c, "delta", 5);
        text = ngx_http_llm_json_object_get(&json, delta, "content", 7);

        if (delta == NGX_HTTP_LLM_NONE) {
            text = ngx_http_llm_json_object_get(&json, c, "text", 4);
        }

        if (text != NGX_HTTP_LLM_NONE
            && json.tokens[text].type == NGX_HTTP_LLM_JSON_STRING)
        {
            s = ngx_http_llm_redact_stream(rc, (ngx_uint_t) index, 1);
            if (s == NULL) {
                return NGX_ERROR;
            }

            changed = 0;

            if (ngx_http_llm_redact_delta(rc, s, &json, text, final,
                                          &released, &changed)
                != NGX_OK)
            {
                return NGX_ERROR;
            }

            if (changed
                && ngx_http_llm_redact_add_edit(rc, json.tokens[text].start,
                                                json.tokens[text].end,
                                                &released)
                   != NGX_OK)
            {
                return NGX_ERROR;
            }

            continue;
        }

        if (!final || delta == NGX_HTTP_LLM_NONE
            || json.tokens[delta].type != NGX_HTTP_LLM_JSON_OBJECT)
        {
            continue;
        }

        /* the choice ends: its held text goes into this chunk's delta */

        s = ngx_http_llm_redact_stream(rc, (ngx_uint_t) index, 0);

        if (s == NULL || s->s.len == s->s.from) {
            continue;
        }

        changed = 0;

        if (ngx_http_llm_redact_release(rc, s, 1, &released, &changed)
            != NGX_OK)
        {
            return NGX_ERROR;
        }

        if (released.len == 0) {
            continue;
        }

        if (ngx_http_llm_redact_string(rc, &released, &released) != NGX_OK) {
            return NGX_ERROR;
        }

        p = ngx_pnalloc(rc->pool, released.len + sizeof(",\"content\":") - 1);
        if (p == NULL) {
            return NGX_ERROR;
        }

        head.data = p;

        if (json.tokens[delta].size) {
            *p++ = ',';
        }

        p = ngx_cpymem(p, "\"content\":", sizeof("\"content\":") - 1);
        p = ngx_cpymem(p, released.data, released.len);
        head.len = p - head.data;

        if (ngx_http_llm_redact_add_edit(rc, json.tokens[delta].end - 1,
                                         json.tokens[delta].end - 1, &head)
            != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    if (rc->edits.nelts == 0) {
        return NGX_HTTP_LLM_EVENT_PASS;
    }

    if (ngx_http_llm_redact_apply(rc, data, event, out) != NGX_OK) {
        return NGX_ERROR;
    }

    return NGX_HTTP_LLM_EVENT_REPLACE;
}


/*
 * Anthropic events: content_block_delta text.  Held text is flushed in an
 * extra content_block_delta before the block's content_block_stop (or
 * before message_delta / message_stop).
 */

static ngx_int_t
ngx_http_llm_redact_anthropic(ngx_http_request_t *r, ngx_http_llm_ctx_t *ctx,
    ngx_http_llm_redact_ctx_t *rc, ngx_str_t *event, ngx_str_t *data,
    ngx_str_t *out)
{
    int64_t                        index;
    uint32_t                       type, delta, text;
    ngx_int_t                      rv;
    ngx_str_t                      released;
    ngx_uint_t                     changed;
    ngx_http_llm_json_t            json;
    ngx_http_llm_redact_stream_t  *s;

    rv = ngx_http_llm_parse_json(r, ctx, data, &json);
    if (rv != NGX_OK) {
        return (rv == NGX_ERROR)
               ? NGX_ERROR : ngx_http_llm_redact_raw_event(rc, event, data,
                                                           out);
    }

    type = ngx_http_llm_json_object_get(&json, 0, "type", 4);

    if (ngx_http_llm_redact_is(&json, type, "content_block_stop", 18)
        || ngx_http_llm_redact_is(&json, type, "message_delta", 13)
        || ngx_http_llm_redact_is(&json, type, "message_stop", 12))
    {
        return ngx_http_llm_redact_flush(r, ctx, rc, event, data, out);
    }

    if (!ngx_http_llm_redact_is(&json, type, "content_block_delta", 19)) {
        return NGX_HTTP_LLM_EVENT_PASS;
    }

    delta = ngx_http_llm_json_object_get(&json, 0, "delta", 5);
    text = ngx_http_llm_json_object_get(&json, delta, "text", 4);

    if (text == NGX_HTTP_LLM_NONE
        || json.tokens[text].type != NGX_HTTP_LLM_JSON_STRING)
    {
        return NGX_HTTP_LLM_EVENT_PASS;
    }

    index = ngx_http_llm_redact_index(&json, 0, 0);

    s = ngx_http_llm_redact_stream(rc, (ngx_uint_t) index, 1);
    if (s == NULL) {
        return NGX_ERROR;
    }

    changed = 0;

    if (ngx_http_llm_redact_delta(rc, s, &json, text, 0, &released, &changed)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (!changed) {
        return NGX_HTTP_LLM_EVENT_PASS;
    }

    rc->edits.nelts = 0;

    if (ngx_http_llm_redact_add_edit(rc, json.tokens[text].start,
                                     json.tokens[text].end, &released)
        != NGX_OK
        || ngx_http_llm_redact_apply(rc, data, event, out) != NGX_OK)
    {
        return NGX_ERROR;
    }

    return NGX_HTTP_LLM_EVENT_REPLACE;
}


/*
 * Release all held text, each stream in an event of its own, followed by
 * the event that ends the text (if any).
 */

static ngx_int_t
ngx_http_llm_redact_flush(ngx_http_request_t *r, ngx_http_llm_ctx_t *ctx,
    ngx_http_llm_redact_ctx_t *rc, ngx_str_t *event, ngx_str_t *data,
    ngx_str_t *out)
{
    u_char                        *p;
    size_t                         len;
    ngx_str_t                      released, ev, one;
    ngx_uint_t                     i, changed;
    ngx_http_llm_redact_stream_t  *s;

    ngx_str_null(out);

    s = rc->streams.elts;

    for (i = 0; i < rc->streams.nelts; i++) {
        if (s[i].s.len == s[i].s.from) {
            continue;
        }

        changed = 0;

        if (ngx_http_llm_redact_release(rc, &s[i], 1, &released, &changed)
            != NGX_OK)
        {
            return NGX_ERROR;
        }

        if (released.len == 0) {
            continue;
        }

        if (ngx_http_llm_redact_string(rc, &released, &released) != NGX_OK) {
            return NGX_ERROR;
        }

        len = released.len + rc->id.len + rc->model.len + NGX_INT_T_LEN + 256;

        p = ngx_pnalloc(rc->pool, len);
        if (p == NULL) {
            return NGX_ERROR;
        }

        one.data = p;

        if (ctx->api == NGX_HTTP_LLM_API_ANTHROPIC) {
            p = ngx_sprintf(p, "event: content_block_delta\n"
                            "data: {\"type\":\"content_block_delta\","
                            "\"index\":%ui,\"delta\":{\"type\":\"text_delta\","
                            "\"text\":%V}}\n\n", s[i].index, &released);

        } else if (ctx->endpoint == NGX_HTTP_LLM_EP_RESPONSES) {
            /* index: output_index << 16 | content_index; id: item_id */
            p = ngx_cpymem(p, "event: response.output_text.delta\n"
                           "data: {\"type\":\"response.output_text.delta\",",
                           sizeof("event: response.output_text.delta\n"
                                  "data: {\"type\":\"response.output_text"
                                  ".delta\",") - 1);

            if (rc->id.len) {
                p = ngx_sprintf(p, "\"item_id\":%V,", &rc->id);
            }

            p = ngx_sprintf(p, "\"output_index\":%ui,\"content_index\":%ui,"
                            "\"delta\":%V}\n\n", s[i].index >> 16,
                            s[i].index & 0xffff, &released);

        } else {
            p = ngx_cpymem(p, "data: {", 7);

            if (rc->id.len) {
                p = ngx_sprintf(p, "\"id\":%V,", &rc->id);
            }

            p = ngx_cpymem(p, "\"object\":\"chat.completion.chunk\",",
                           sizeof("\"object\":\"chat.completion.chunk\",")
                           - 1);

            if (rc->model.len) {
                p = ngx_sprintf(p, "\"model\":%V,", &rc->model);
            }

            p = ngx_sprintf(p, "\"choices\":[{\"index\":%ui,\"delta\":"
                            "{\"content\":%V},\"finish_reason\":null}]}\n\n",
                            s[i].index, &released);
        }

        one.len = p - one.data;

        if (ngx_http_llm_redact_append(rc, out, &one) != NGX_OK) {
            return NGX_ERROR;
        }
    }

    if (out->len == 0) {
        return NGX_HTTP_LLM_EVENT_PASS;
    }

    if (data) {
        if (ngx_http_llm_redact_event_out(rc, event, data, &ev) != NGX_OK
            || ngx_http_llm_redact_append(rc, out, &ev) != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    return NGX_HTTP_LLM_EVENT_REPLACE;
}


/*
 * A delta of text: decoded into the stream, scanned; out is the JSON string
 * (quoted) of what can be released now.
 */

static ngx_int_t
ngx_http_llm_redact_delta(ngx_http_llm_redact_ctx_t *rc,
    ngx_http_llm_redact_stream_t *s, ngx_http_llm_json_t *json, uint32_t tok,
    ngx_uint_t final, ngx_str_t *out, ngx_uint_t *changed)
{
    size_t         len, held;
    const u_char  *raw;

    ngx_http_llm_json_raw_string(json, tok, &raw, &len);


    held = s->s.len - s->s.from;

    if (ngx_http_llm_pii_stream_reserve(&s->s, len) != 0) {
        return NGX_ERROR;
    }

    if (json->tokens[tok].escaped) {
        s->s.len += ngx_http_llm_json_decode_string(raw, len,
                                                    s->s.buf + s->s.len);

    } else {
        ngx_memcpy(s->s.buf + s->s.len, raw, len);
        s->s.len += len;
    }

    if (ngx_http_llm_redact_release(rc, s, final, out, changed) != NGX_OK) {
        return NGX_ERROR;
    }

    if (held || s->s.len > s->s.from) {
        /* held text went out, or some of this delta stays */
        *changed = 1;
    }

    if (!*changed) {
        return NGX_OK;
    }

    return ngx_http_llm_redact_string(rc, out, out);
}


static ngx_int_t
ngx_http_llm_redact_release(ngx_http_llm_redact_ctx_t *rc,
    ngx_http_llm_redact_stream_t *s, ngx_uint_t final, ngx_str_t *out,
    ngx_uint_t *changed)
{
    unsigned  flags;

    flags = final ? NGX_HTTP_LLM_PII_FINAL : 0;

    if (rc->restore) {
        flags |= NGX_HTTP_LLM_PII_PLACEHOLDERS;
    }

    if (ngx_http_llm_pii_stream_scan(rc->pii, ngx_http_llm_redact_scratch,
                                     &s->s, flags)
        != 0)
    {
        return NGX_ERROR;
    }

    if (!rc->response) {
        /* "none" finds nothing; a key block is not redacted either */
        s->s.matches.nelts = 0;
    }

    if (ngx_http_llm_redact_build(rc, s->s.buf, s->s.from, s->s.cut,
                                  &s->s.matches, out, changed)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    ngx_http_llm_pii_stream_consume(&s->s);

    return NGX_OK;
}


static ngx_http_llm_redact_stream_t *
ngx_http_llm_redact_stream(ngx_http_llm_redact_ctx_t *rc, ngx_uint_t index,
    ngx_uint_t create)
{
    ngx_uint_t                     i;
    ngx_http_llm_redact_stream_t  *s;

    s = rc->streams.elts;

    for (i = 0; i < rc->streams.nelts; i++) {
        if (s[i].index == index) {
            return &s[i];
        }
    }

    if (!create) {
        return NULL;
    }

    s = ngx_array_push(&rc->streams);
    if (s == NULL) {
        return NULL;
    }

    ngx_memzero(s, sizeof(ngx_http_llm_redact_stream_t));

    s->index = index;
    s->s.matches.alloc = ngx_http_llm_redact_palloc;
    s->s.matches.data = rc->pool;

    return s;
}


/* answers: JSON */

static ngx_int_t
ngx_http_llm_redact_json(ngx_http_request_t *r, ngx_http_llm_ctx_t *ctx,
    ngx_str_t *body, ngx_str_t *out)
{
    uint32_t                    list, c, m, t, p;
    ngx_int_t                   rv;
    ngx_http_llm_json_t         json;
    ngx_http_llm_redact_ctx_t  *rc;

    rc = ctx->hook_data;

    if (ngx_http_llm_redact_get_scratch(r) != NGX_OK) {
        return NGX_ERROR;
    }

    rv = ngx_http_llm_parse_json(r, ctx, body, &json);

    if (rv == NGX_ERROR) {
        return NGX_ERROR;
    }

    if (rv != NGX_OK) {
        /* not the JSON expected: its bytes are scanned as text */
        return ngx_http_llm_redact_raw(rc, body, out);
    }

    rc->edits.nelts = 0;

    if (ctx->endpoint == NGX_HTTP_LLM_EP_RESPONSES) {
        if (ngx_http_llm_redact_responses_texts(rc, &json, 0) != NGX_OK) {
            return NGX_ERROR;
        }

    } else if (ctx->api == NGX_HTTP_LLM_API_GEMINI) {

        /* candidates[].content.parts[].text; a stream is withheld */

        list = ngx_http_llm_json_object_get(&json, 0, "candidates", 10);

        if (list != NGX_HTTP_LLM_NONE
            && json.tokens[list].type == NGX_HTTP_LLM_JSON_ARRAY)
        {
            for (c = ngx_http_llm_json_first(&json, list);
                 c != NGX_HTTP_LLM_NONE;
                 c = json.tokens[c].next)
            {
                m = ngx_http_llm_json_object_get(&json, c, "content", 7);
                p = ngx_http_llm_json_object_get(&json, m, "parts", 5);

                if (p == NGX_HTTP_LLM_NONE
                    || json.tokens[p].type != NGX_HTTP_LLM_JSON_ARRAY)
                {
                    continue;
                }

                for (t = ngx_http_llm_json_first(&json, p);
                     t != NGX_HTTP_LLM_NONE;
                     t = json.tokens[t].next)
                {
                    if (ngx_http_llm_redact_json_text(rc, &json,
                            ngx_http_llm_json_object_get(&json, t, "text", 4))
                        != NGX_OK)
                    {
                        return NGX_ERROR;
                    }
                }
            }
        }

    } else if (ctx->api == NGX_HTTP_LLM_API_ANTHROPIC) {
        list = ngx_http_llm_json_object_get(&json, 0, "content", 7);

        if (list != NGX_HTTP_LLM_NONE
            && json.tokens[list].type == NGX_HTTP_LLM_JSON_ARRAY)
        {
            for (c = ngx_http_llm_json_first(&json, list);
                 c != NGX_HTTP_LLM_NONE;
                 c = json.tokens[c].next)
            {
                t = ngx_http_llm_json_object_get(&json, c, "text", 4);

                if (ngx_http_llm_redact_json_text(rc, &json, t) != NGX_OK) {
                    return NGX_ERROR;
                }
            }
        }

    } else {
        list = ngx_http_llm_json_object_get(&json, 0, "choices", 7);

        if (list != NGX_HTTP_LLM_NONE
            && json.tokens[list].type == NGX_HTTP_LLM_JSON_ARRAY)
        {
            for (c = ngx_http_llm_json_first(&json, list);
                 c != NGX_HTTP_LLM_NONE;
                 c = json.tokens[c].next)
            {
                m = ngx_http_llm_json_object_get(&json, c, "message", 7);

                t = (m != NGX_HTTP_LLM_NONE)
                    ? ngx_http_llm_json_object_get(&json, m, "content", 7)
                    : ngx_http_llm_json_object_get(&json, c, "text", 4);

                if (ngx_http_llm_redact_json_text(rc, &json, t) != NGX_OK) {
                    return NGX_ERROR;
                }
            }
        }
    }

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "llm redact: answer: %ui values redacted, %ui restored",
                   rc->count, rc->restored);

    if (rc->edits.nelts == 0) {
        return NGX_DECLINED;
    }

    if (ngx_http_llm_redact_apply(rc, body, NULL, out) != NGX_OK) {
        return NGX_ERROR;
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_llm_redact_json_text(ngx_http_llm_redact_ctx_t *rc,
    ngx_http_llm_json_t *json, uint32_t tok)
{
    size_t         len;
    ngx_str_t      text, out;
    ngx_uint_t     changed;
    const u_char  *raw;

    if (tok == NGX_HTTP_LLM_NONE
        || json->tokens[tok].type != NGX_HTTP_LLM_JSON_STRING)
    {
        return NGX_OK;
    }

    ngx_http_llm_json_raw_string(json, tok, &raw, &len);

    if (json->tokens[tok].escaped) {
        text.data = ngx_pnalloc(rc->pool, len);
        if (text.data == NULL) {
            return NGX_ERROR;
        }

        text.len = ngx_http_llm_json_decode_string(raw, len, text.data);

    } else {
        text.data = (u_char *) raw;
        text.len = len;
    }

    rc->matches.nelts = 0;

    if (rc->response
        && ngx_http_llm_pii_scan(rc->pii, ngx_http_llm_redact_scratch,
                                 text.data, text.len, 0, &rc->matches)
           != 0)
    {
        return NGX_ERROR;
    }

    if (rc->matches.nelts == 0 && !rc->restore) {
        /* nothing found, no placeholder to restore: unchanged, no copy */
        return NGX_OK;
    }

    changed = 0;

    if (ngx_http_llm_redact_build(rc, text.data, 0, text.len, &rc->matches,
                                  &out, &changed)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (!changed) {
        return NGX_OK;
    }

    if (ngx_http_llm_redact_string(rc, &out, &out) != NGX_OK) {
        return NGX_ERROR;
    }

    return ngx_http_llm_redact_add_edit(rc, json->tokens[tok].start,
                                        json->tokens[tok].end, &out);
}


/*
 * An answer, or an event's data, that is not the JSON the hooks read (not
 * JSON, or not an object): its bytes are scanned as text and the values
 * replaced (the request's placeholders restored), so that nothing unread
 * reaches the client.  A value split over two such events is not joined.
 * NGX_DECLINED: unchanged.
 */

static ngx_int_t
ngx_http_llm_redact_raw(ngx_http_llm_redact_ctx_t *rc, ngx_str_t *src,
    ngx_str_t *out)
{
    u_char      *p;
    ngx_str_t    text;
    ngx_uint_t   changed;

    rc->matches.nelts = 0;

    if (rc->response
        && ngx_http_llm_pii_scan(rc->pii, ngx_http_llm_redact_scratch,
                                 src->data, src->len, 0, &rc->matches)
           != 0)
    {
        return NGX_ERROR;
    }

    if (rc->matches.nelts == 0 && !rc->restore) {
        return NGX_DECLINED;
    }

    changed = 0;

    if (ngx_http_llm_redact_build(rc, src->data, 0, src->len, &rc->matches,
                                  &text, &changed)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (!changed) {
        return NGX_DECLINED;
    }

    /* build's buffer is reused by the next call */

    p = ngx_pnalloc(rc->pool, text.len ? text.len : 1);
    if (p == NULL) {
        return NGX_ERROR;
    }

    out->data = p;
    out->len = text.len;
    ngx_memcpy(p, text.data, text.len);

    return NGX_OK;
}


static ngx_int_t
ngx_http_llm_redact_raw_event(ngx_http_llm_redact_ctx_t *rc,
    ngx_str_t *event, ngx_str_t *data, ngx_str_t *out)
{
    u_char     *p, *q, *last, *eol;
    size_t      len;
    ngx_int_t   rv;
    ngx_str_t   text;

    rv = ngx_http_llm_redact_raw(rc, data, &text);

    if (rv != NGX_OK) {
        return (rv == NGX_ERROR) ? NGX_ERROR : NGX_HTTP_LLM_EVENT_PASS;
    }

    /* a "data:" line for each line of the text */

    len = (event->len ? event->len + 8 : 0) + text.len + 7 + 1;
    last = text.data + text.len;

    for (q = text.data; q < last; q++) {
        if (*q == LF) {
            len += 7;
        }
    }

    p = ngx_pnalloc(rc->pool, len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    out->data = p;

    if (event->len) {
        p = ngx_cpymem(p, "event: ", 7);
        p = ngx_cpymem(p, event->data, event->len);
        *p++ = LF;
    }

    for (q = text.data; /* void */; q = eol + 1) {
        eol = ngx_strlchr(q, last, LF);

        p = ngx_cpymem(p, "data: ", 6);
        p = ngx_cpymem(p, q, (eol ? eol : last) - q);

        if (p[-1] == CR) {
            /* a CR alone would end the line too */
            p--;
        }

        *p++ = LF;

        if (eol == NULL) {
            break;
        }
    }

    *p++ = LF;

    out->len = p - out->data;

    return NGX_HTTP_LLM_EVENT_REPLACE;
}


/* helpers */

static ngx_int_t
ngx_http_llm_redact_add_edit(ngx_http_llm_redact_ctx_t *rc, uint32_t start,
    uint32_t end, ngx_str_t *text)
{
    ngx_http_llm_redact_edit_t  *e;

    e = ngx_array_push(&rc->edits);
    if (e == NULL) {
        return NGX_ERROR;
    }

    e->start = start;
    e->end = end;
    e->text = *text;

    return NGX_OK;
}


/* a quoted JSON string of text */

static ngx_int_t
ngx_http_llm_redact_string(ngx_http_llm_redact_ctx_t *rc, ngx_str_t *text,
    ngx_str_t *out)
{
    u_char     *p;
    size_t      len;
    ngx_str_t   src;

    src = *text;                            /* text may be out */
    len = ngx_http_llm_json_encoded_len(src.data, src.len) + 2;

    p = ngx_pnalloc(rc->pool, len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    out->data = p;
    *p++ = '"';
    p = ngx_http_llm_json_encode_string(p, src.data, src.len);
    *p++ = '"';
    out->len = p - out->data;

    return NGX_OK;
}


/*
 * src with the edits (in order, not overlapping) applied.  With an event
 * (a stream), the result is the complete event: "event: NAME\n" if it had
 * a name, "data: ", the edited JSON, "\n\n", written in one allocation.
 */

static ngx_int_t
ngx_http_llm_redact_apply(ngx_http_llm_redact_ctx_t *rc, ngx_str_t *src,
    ngx_str_t *event, ngx_str_t *out)
{
    u_char                      *p;
    size_t                       len, pos;
    ngx_uint_t                   i;
    ngx_http_llm_redact_edit_t  *e;

    e = rc->edits.elts;
    len = src->len;

    for (i = 0; i < rc->edits.nelts; i++) {
        len = len - (e[i].end - e[i].start) + e[i].text.len;
    }

    if (event) {
        len += (event->len ? event->len + 8 : 0) + sizeof("data: \n\n") - 1;
    }

    p = ngx_pnalloc(rc->pool, len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    out->data = p;
    pos = 0;

    if (event) {
        if (event->len) {
            p = ngx_cpymem(p, "event: ", 7);
            p = ngx_cpymem(p, event->data, event->len);
            *p++ = '\n';
        }

        p = ngx_cpymem(p, "data: ", 6);
    }

    for (i = 0; i < rc->edits.nelts; i++) {
        p = ngx_cpymem(p, src->data + pos, e[i].start - pos);
        p = ngx_cpymem(p, e[i].text.data, e[i].text.len);
        pos = e[i].end;
    }

    p = ngx_cpymem(p, src->data + pos, src->len - pos);

    if (event) {
        *p++ = '\n';
        *p++ = '\n';
    }

    out->len = p - out->data;

    return NGX_OK;
}


/* a complete event: "event: NAME\n" if it had one, "data: ...\n\n" */

static ngx_int_t
ngx_http_llm_redact_event_out(ngx_http_llm_redact_ctx_t *rc,
    ngx_str_t *event, ngx_str_t *data, ngx_str_t *out)
{
    u_char  *p;
    size_t   len;

    len = (event && event->len ? event->len + 8 : 0) + data->len + 8;

    p = ngx_pnalloc(rc->pool, len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    out->data = p;

    if (event && event->len) {
        p = ngx_cpymem(p, "event: ", 7);
        p = ngx_cpymem(p, event->data, event->len);
        *p++ = '\n';
    }

    p = ngx_cpymem(p, "data: ", 6);
    p = ngx_cpymem(p, data->data, data->len);
    *p++ = '\n';
    *p++ = '\n';

    out->len = p - out->data;

    return NGX_OK;
}


static ngx_int_t
ngx_http_llm_redact_append(ngx_http_llm_redact_ctx_t *rc, ngx_str_t *out,
    ngx_str_t *more)
{
    u_char  *p;

    if (out->len == 0) {
        *out = *more;
        return NGX_OK;
    }

    p = ngx_pnalloc(rc->pool, out->len + more->len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(p, out->data, out->len);
    ngx_memcpy(p + out->len, more->data, more->len);

    out->data = p;
    out->len += more->len;

    return NGX_OK;
}


/* a copy of the raw JSON string of a top-level member */

static ngx_int_t
ngx_http_llm_redact_copy(ngx_http_llm_redact_ctx_t *rc,
    ngx_http_llm_json_t *json, ngx_str_t *data, const char *key,
    ngx_str_t *out)
{
    uint32_t  t;

    t = ngx_http_llm_json_object_get(json, 0, key, ngx_strlen(key));

    if (t == NGX_HTTP_LLM_NONE
        || json->tokens[t].type != NGX_HTTP_LLM_JSON_STRING)
    {
        return NGX_OK;
    }

    out->len = json->tokens[t].end - json->tokens[t].start;
    out->data = ngx_pnalloc(rc->pool, out->len);
    if (out->data == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(out->data, data->data + json->tokens[t].start, out->len);

    return NGX_OK;
}


static int64_t
ngx_http_llm_redact_index(ngx_http_llm_json_t *json, uint32_t obj,
    int64_t dflt)
{
    int64_t   n;
    uint32_t  t;

    t = ngx_http_llm_json_object_get(json, obj, "index", 5);

    if (t == NGX_HTTP_LLM_NONE
        || json->tokens[t].type != NGX_HTTP_LLM_JSON_NUMBER
        || ngx_http_llm_json_get_int(json, t, &n) != NGX_HTTP_LLM_JSON_OK
        || n < 0 || n > 65535)
    {
        return dflt;
    }

    return n;
}


static ngx_uint_t
ngx_http_llm_redact_is(ngx_http_llm_json_t *json, uint32_t tok,
    const char *s, size_t len)
{
    size_t         n;
    const u_char  *raw;

    if (tok == NGX_HTTP_LLM_NONE
        || json->tokens[tok].type != NGX_HTTP_LLM_JSON_STRING)
    {
        return 0;
    }

    ngx_http_llm_json_raw_string(json, tok, &raw, &n);

    return (n == len && ngx_strncmp(raw, s, len) == 0);
}


static void *
ngx_http_llm_redact_palloc(void *data, size_t size)
{
    return ngx_palloc((ngx_pool_t *) data, size);
}


/*
 * The worker's scratch space.  It is cloned in init_process; a worker that
 * did not run init_process for this configuration (nginx reconfigured with
 * master_process off) sizes it once for the new databases.
 */

static ngx_int_t
ngx_http_llm_redact_get_scratch(ngx_http_request_t *r)
{
    ngx_uint_t                        i;
    ngx_http_llm_redact_db_t        **db;
    ngx_http_llm_redact_main_conf_t  *rmcf;

    rmcf = ngx_http_get_module_main_conf(r, ngx_http_llm_redact_module);

    if (ngx_http_llm_redact_scratch_conf == rmcf) {
        return NGX_OK;
    }

    db = rmcf->dbs.elts;

    for (i = 0; i < rmcf->dbs.nelts; i++) {
        if (ngx_http_llm_pii_alloc_scratch(db[i]->pii,
                                           &ngx_http_llm_redact_scratch)
            != 0)
        {
            ngx_log_error(NGX_LOG_ALERT, r->connection->log, 0,
                          "llm redact: hs_alloc_scratch() failed");
            return NGX_ERROR;
        }
    }

    ngx_http_llm_redact_scratch_conf = rmcf;

    return NGX_OK;
}


static ngx_int_t
ngx_http_llm_redact_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    u_char                     *p;
    ngx_http_llm_ctx_t         *ctx;
    ngx_http_llm_redact_ctx_t  *rc;

    ctx = ngx_http_llm_get_ctx(r);

    if (ctx == NULL || !ctx->parsed) {
        v->not_found = 1;
        return NGX_OK;
    }

    rc = ngx_http_get_module_ctx(r->main, ngx_http_llm_redact_module);

    if (rc == NULL
        && (ctx->event_hook == ngx_http_llm_redact_event
            || ctx->json_hook == ngx_http_llm_redact_json))
    {
        rc = ctx->hook_data;
    }

    if (rc == NULL || rc->count == 0) {
        /* most requests: nothing to format */
        v->len = 1;
        v->data = (u_char *) "0";

    } else {
        p = ngx_pnalloc(r->pool, NGX_INT_T_LEN);
        if (p == NULL) {
            return NGX_ERROR;
        }

        v->len = ngx_http_llm_format_uint(p, rc->count, 0) - p;
        v->data = p;
    }

    v->valid = 1;
    v->no_cacheable = 1;
    v->not_found = 0;

    return NGX_OK;
}


/* configuration */

static char *
ngx_http_llm_redact(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_llm_redact_loc_conf_t *rlcf = conf;

    ngx_str_t   *value;
    ngx_uint_t   i, where;

    if (rlcf->where != NGX_CONF_UNSET_UINT) {
        return "is duplicate";
    }

    value = cf->args->elts;
    where = 0;

    for (i = 1; i < cf->args->nelts; i++) {

        if (ngx_strcmp(value[i].data, "request") == 0) {
            where |= NGX_HTTP_LLM_REDACT_REQUEST;

        } else if (ngx_strcmp(value[i].data, "response") == 0) {
            where |= NGX_HTTP_LLM_REDACT_RESPONSE;

        } else if (ngx_strcmp(value[i].data, "off") == 0
                   && cf->args->nelts == 2)
        {
            where = NGX_HTTP_LLM_REDACT_OFF;

        } else {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid value \"%V\" in \"%V\" directive, "
                               "it must be \"request\", \"response\" or "
                               "\"off\"", &value[i], &cmd->name);
            return NGX_CONF_ERROR;
        }
    }

    rlcf->where = where;

    return NGX_CONF_OK;
}


static char *
ngx_http_llm_redact_types(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_llm_redact_loc_conf_t *rlcf = conf;

    int          t;
    ngx_str_t   *value;
    ngx_uint_t   i, types;

    if (rlcf->types != NGX_CONF_UNSET_UINT) {
        return "is duplicate";
    }

    value = cf->args->elts;
    types = 0;

    for (i = 1; i < cf->args->nelts; i++) {

        if (ngx_strcmp(value[i].data, "all") == 0) {
            types |= NGX_HTTP_LLM_PII_DEFAULT;
            continue;
        }

        t = ngx_http_llm_pii_builtin(value[i].data, value[i].len);

        if (t < 0) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "unknown type \"%V\" in \"%V\" directive, "
                               "it must be \"email\", \"phone\", \"card\", "
                               "\"ssn\", \"iban\", \"ip\", \"secret\", "
                               "\"national_id\" or \"all\" (rules of "
                               "llm_redact_rules are always on)", &value[i],
                               &cmd->name);
            return NGX_CONF_ERROR;
        }

        types |= (ngx_uint_t) 1 << t;
    }

    rlcf->types = types;

    return NGX_CONF_OK;
}


static char *
ngx_http_llm_redact_rules(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_llm_redact_loc_conf_t *rlcf = conf;

    int                           rv, bad;
    char                          err[NGX_MAX_ERROR_STR];
    u_char                       *p, *last, *eol;
    ssize_t                       n;
    ngx_fd_t                      fd;
    ngx_str_t                    *value, name, data;
    ngx_uint_t                    line;
    ngx_file_info_t               fi;
    const char                   *msg;
    ngx_http_llm_pii_t           *pii;
    ngx_http_llm_pii_rule_t      *rule, tmp;
    ngx_http_llm_redact_rules_t  *rules;

    if (rlcf->rules != NGX_CONF_UNSET_PTR) {
        return "is duplicate";
    }

    value = cf->args->elts;
    name = value[1];

    if (ngx_conf_full_name(cf->cycle, &name, 1) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    fd = ngx_open_file(name.data, NGX_FILE_RDONLY, NGX_FILE_OPEN, 0);

    if (fd == NGX_INVALID_FILE) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           "llm_redact_rules: " ngx_open_file_n
                           " \"%V\" failed", &name);
        return NGX_CONF_ERROR;
    }

    if (ngx_fd_info(fd, &fi) == NGX_FILE_ERROR) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           "llm_redact_rules: " ngx_fd_info_n
                           " \"%V\" failed", &name);
        ngx_close_file(fd);
        return NGX_CONF_ERROR;
    }

    if (ngx_file_size(&fi) > NGX_HTTP_LLM_REDACT_MAX_RULES_FILE) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "llm_redact_rules: \"%V\" is larger than 1M",
                           &name);
        ngx_close_file(fd);
        return NGX_CONF_ERROR;
    }

    data.len = (size_t) ngx_file_size(&fi);
    data.data = ngx_pnalloc(cf->pool, data.len + 1);

    if (data.data == NULL) {
        ngx_close_file(fd);
        return NGX_CONF_ERROR;
    }

    n = ngx_read_fd(fd, data.data, data.len);

    if (n == -1 || (size_t) n != data.len) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           "llm_redact_rules: " ngx_read_fd_n
                           " \"%V\" failed", &name);
        ngx_close_file(fd);
        return NGX_CONF_ERROR;
    }

    ngx_close_file(fd);

    rules = ngx_pcalloc(cf->pool, sizeof(ngx_http_llm_redact_rules_t));
    if (rules == NULL
        || ngx_array_init(&rules->rules, cf->pool, 8,
                          sizeof(ngx_http_llm_pii_rule_t))
           != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    rules->file = name;

    p = data.data;
    last = data.data + data.len;

    for (line = 1; p < last; line++) {
        eol = ngx_strlchr(p, last, '\n');
        if (eol == NULL) {
            eol = last;
        }

        rv = ngx_http_llm_pii_parse_rule(p, eol - p, &tmp, &msg);

        if (rv == -1) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "llm_redact_rules \"%V\", line %ui: %s",
                               &name, line, msg);
            return NGX_CONF_ERROR;
        }

        if (rv == 1) {
            rule = ngx_array_push(&rules->rules);
            if (rule == NULL) {
                return NGX_CONF_ERROR;
            }

            *rule = tmp;
            rule->line = (unsigned) line;
        }

        p = eol + 1;
    }

    /* the rules alone: each error names its line */

    pii = ngx_http_llm_pii_compile(0, rules->rules.elts, rules->rules.nelts,
                                   err, sizeof(err), &bad);

    if (pii == NULL) {
        rule = rules->rules.elts;

        if (bad >= 0) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "llm_redact_rules \"%V\", line %ui: %s",
                               &name, (ngx_uint_t) rule[bad].line, err);

        } else {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "llm_redact_rules \"%V\": %s", &name, err);
        }

        return NGX_CONF_ERROR;
    }

    ngx_http_llm_pii_free(pii);

    rlcf->rules = rules;

    return NGX_CONF_OK;
}


/* one database per distinct set of types and rules */

static ngx_http_llm_redact_db_t *
ngx_http_llm_redact_compile(ngx_conf_t *cf, ngx_uint_t types,
    ngx_http_llm_redact_rules_t *rules)
{
    int                               bad;
    char                              err[NGX_MAX_ERROR_STR];
    ngx_uint_t                        i;
    ngx_pool_cleanup_t               *cln;
    ngx_http_llm_pii_t               *pii;
    ngx_http_llm_pii_rule_t          *rule;
    ngx_http_llm_redact_db_t         *db, **dbp;
    ngx_http_llm_redact_main_conf_t  *rmcf;

    rmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_llm_redact_module);

    dbp = rmcf->dbs.elts;

    for (i = 0; i < rmcf->dbs.nelts; i++) {
        if (dbp[i]->types == types && dbp[i]->rules == rules) {
            return dbp[i];
        }
    }

    cln = ngx_pool_cleanup_add(cf->pool, 0);
    if (cln == NULL) {
        return NULL;
    }

    pii = ngx_http_llm_pii_compile((unsigned) types,
                                   rules ? rules->rules.elts : NULL,
                                   rules ? rules->rules.nelts : 0,
                                   err, sizeof(err), &bad);

    if (pii == NULL) {
        if (rules && bad >= 0) {
            rule = rules->rules.elts;
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "llm_redact_rules \"%V\", line %ui: %s",
                               &rules->file, (ngx_uint_t) rule[bad].line,
                               err);

        } else {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "llm_redact: cannot compile the patterns: %s",
                               err);
        }

        return NULL;
    }

    cln->handler = ngx_http_llm_redact_free_pii;
    cln->data = pii;

    dbp = ngx_array_push(&rmcf->dbs);
    db = ngx_pcalloc(cf->pool, sizeof(ngx_http_llm_redact_db_t));
    if (dbp == NULL || db == NULL) {
        return NULL;
    }

    *dbp = db;

    db->types = types;
    db->rules = rules;
    db->pii = pii;

    return db;
}


static void
ngx_http_llm_redact_free_pii(void *data)
{
    ngx_http_llm_pii_free(data);
}


static void
ngx_http_llm_redact_free_hmac(void *data)
{
    ngx_http_llm_pii_hmac_free(data);
}


static void
ngx_http_llm_redact_free_scratch(void *data)
{
    hs_scratch_t  **scratch = data;

    if (*scratch) {
        hs_free_scratch(*scratch);
        *scratch = NULL;
    }
}


static void
ngx_http_llm_redact_count(ngx_http_llm_redact_ctx_t *rc, ngx_uint_t type,
    ngx_uint_t what)
{
    ngx_http_llm_redact_stat_t  *st;

    st = rc->conf->db->stat[type];

    if (st == NULL) {
        /* no shared zone, or more names than slots */
        return;
    }

    switch (what) {

    case NGX_HTTP_LLM_REDACT_IN_REQUEST:
        (void) ngx_atomic_fetch_add(&st->request, 1);
        break;

    case NGX_HTTP_LLM_REDACT_IN_RESPONSE:
        (void) ngx_atomic_fetch_add(&st->response, 1);
        break;

    case NGX_HTTP_LLM_REDACT_RESTORED:
        (void) ngx_atomic_fetch_add(&st->restored, 1);
        break;

    default: /* NGX_HTTP_LLM_REDACT_BLOCKED */
        (void) ngx_atomic_fetch_add(&st->blocked, 1);
        break;
    }
}


/*
 * The counters' zone: a slot per type name, the built-in ones first.  After
 * a reload, names are found again, so their counters go on.
 */

static ngx_int_t
ngx_http_llm_redact_init_zone(ngx_shm_zone_t *shm_zone, void *data)
{
    ngx_http_llm_redact_main_conf_t  *ormcf = data;

    size_t                            len;
    ngx_uint_t                        i, t, s, n;
    const char                       *name;
    ngx_slab_pool_t                  *shpool;
    ngx_http_llm_redact_sh_t         *sh;
    ngx_http_llm_redact_db_t        **db;
    ngx_http_llm_redact_main_conf_t  *rmcf;

    rmcf = shm_zone->data;
    shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;

    if (ormcf) {
        sh = ormcf->sh;

    } else if (shm_zone->shm.exists) {
        sh = shpool->data;

    } else {
        sh = ngx_slab_calloc(shpool, sizeof(ngx_http_llm_redact_sh_t));
        if (sh == NULL) {
            return NGX_ERROR;
        }

        shpool->data = sh;

        for (t = 0; t < NGX_HTTP_LLM_PII_NBUILTIN; t++) {
            name = ngx_http_llm_pii_builtin_name(t);
            ngx_memcpy(sh->slot[t].name, name, ngx_strlen(name));
        }

        sh->nslots = NGX_HTTP_LLM_PII_NBUILTIN;
    }

    rmcf->sh = sh;

    db = rmcf->dbs.elts;

    for (i = 0; i < rmcf->dbs.nelts; i++) {
        n = ngx_http_llm_pii_ntypes(db[i]->pii);

        for (t = 0; t < n; t++) {
            name = ngx_http_llm_pii_name(db[i]->pii, t);
            len = ngx_strlen(name);

            for (s = 0; s < sh->nslots; s++) {
                if (ngx_strlen(sh->slot[s].name) == len
                    && ngx_strncmp(sh->slot[s].name, name, len) == 0)
                {
                    break;
                }
            }

            if (s == sh->nslots) {
                if (s == NGX_HTTP_LLM_PII_MAX_TYPES) {
                    continue;
                }

                ngx_memcpy(sh->slot[s].name, name, len);
                sh->nslots++;
            }

            db[i]->stat[t] = &sh->slot[s];
        }
    }

    return NGX_OK;
}


/* llm_status: counters per type, in the Prometheus text format or JSON */

size_t
ngx_http_llm_redact_status_size(void)
{
    ngx_http_llm_redact_main_conf_t  *rmcf;

    rmcf = ngx_http_cycle_get_module_main_conf(ngx_cycle,
                                               ngx_http_llm_redact_module);

    if (rmcf == NULL || rmcf->sh == NULL) {
        return 0;
    }

    return 1024 + rmcf->sh->nslots * 512;
}


u_char *
ngx_http_llm_redact_status(u_char *p, ngx_uint_t json)
{
    ngx_uint_t                        i, f, n;
    ngx_atomic_uint_t                 v[4];
    ngx_http_llm_redact_sh_t         *sh;
    ngx_http_llm_redact_stat_t       *st;
    ngx_http_llm_redact_main_conf_t  *rmcf;

    static const char  *families[] = {
        "llm_redactions_total", "counter",
            "Values redacted, by type and where they were found.",
        "llm_redact_restored_total", "counter",
            "Placeholders restored in answers (tokenize), by type.",
        "llm_redact_blocked_total", "counter",
            "Requests refused by llm_redact_mode block, by type found.",
        NULL
    };

    rmcf = ngx_http_cycle_get_module_main_conf(ngx_cycle,
                                               ngx_http_llm_redact_module);

    if (rmcf == NULL || rmcf->sh == NULL) {
        return p;
    }

    sh = rmcf->sh;
    n = ngx_min(sh->nslots, NGX_HTTP_LLM_PII_MAX_TYPES);

    if (json) {
        p = ngx_cpymem(p, ",\"redactions\":{", sizeof(",\"redactions\":{") - 1);

        for (i = 0; i < n; i++) {
            st = &sh->slot[i];

            p = ngx_sprintf(p, "%s\"%s\":{\"request\":%uA,\"response\":%uA,"
                            "\"restored\":%uA,\"blocked\":%uA}",
                            i ? "," : "", st->name, st->request,
                            st->response, st->restored, st->blocked);
        }

        *p++ = '}';

        return p;
    }

    for (f = 0; families[3 * f]; f++) {
        p = ngx_sprintf(p, "# HELP %s %s\n# TYPE %s %s\n",
                        families[3 * f], families[3 * f + 2],
                        families[3 * f], families[3 * f + 1]);

        for (i = 0; i < n; i++) {
            st = &sh->slot[i];

            v[0] = st->request;
            v[1] = st->response;
            v[2] = st->restored;
            v[3] = st->blocked;

            if (f == 0) {
                p = ngx_sprintf(p, "%s{type=\"%s\",where=\"request\"} %uA\n"
                                "%s{type=\"%s\",where=\"response\"} %uA\n",
                                families[0], st->name, v[0],
                                families[0], st->name, v[1]);

            } else {
                p = ngx_sprintf(p, "%s{type=\"%s\"} %uA\n",
                                families[3 * f], st->name, v[f + 1]);
            }
        }
    }

    return p;
}


static ngx_http_variable_t  ngx_http_llm_redact_vars[] = {

    { ngx_string("llm_redactions"), NULL, ngx_http_llm_redact_variable,
      0, NGX_HTTP_VAR_NOCACHEABLE, 0 },

      ngx_http_null_variable
};


static ngx_int_t
ngx_http_llm_redact_preconfiguration(ngx_conf_t *cf)
{
    ngx_http_variable_t  *var, *v;

    for (v = ngx_http_llm_redact_vars; v->name.len; v++) {
        var = ngx_http_add_variable(cf, &v->name, v->flags);
        if (var == NULL) {
            return NGX_ERROR;
        }

        var->get_handler = v->get_handler;
        var->data = v->data;
    }

    return NGX_OK;
}


/* the prototype scratch space, sized for every database */

static ngx_int_t
ngx_http_llm_redact_postconfiguration(ngx_conf_t *cf)
{
    ngx_uint_t                        i;
    ngx_shm_zone_t                   *shm_zone;
    ngx_pool_cleanup_t               *cln;
    ngx_http_llm_hook_t              *h;
    ngx_http_llm_redact_db_t        **db;
    ngx_http_llm_redact_main_conf_t  *rmcf;

    static ngx_str_t  name = ngx_string("ngx_http_llm_redact");

    /*
     * the pipeline's CHECK hook (see ngx_http_llm_module.h); it sets the
     * request's answer hooks when the location redacts answers
     */

    h = ngx_http_llm_add_hook(cf, NGX_HTTP_LLM_HOOK_CHECK);
    if (h == NULL) {
        return NGX_ERROR;
    }

    h->request = ngx_http_llm_redact_request;

    h = ngx_http_llm_add_hook(cf, NGX_HTTP_LLM_HOOK_OTHER);
    if (h == NULL) {
        return NGX_ERROR;
    }

    h->request = ngx_http_llm_redact_other;

    if (ngx_http_llm_add_counters(cf, NGX_HTTP_LLM_COUNTERS_REDACT,
                                  NGX_HTTP_LLM_COUNTERS_REDACT,
                                  ngx_http_llm_redact_status_size,
                                  ngx_http_llm_redact_status)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    rmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_llm_redact_module);

    if (rmcf->dbs.nelts == 0) {
        return NGX_OK;
    }

    /* the counters of llm_status */

    shm_zone = ngx_shared_memory_add(cf, &name, 8 * ngx_pagesize,
                                     &ngx_http_llm_redact_module);
    if (shm_zone == NULL) {
        return NGX_ERROR;
    }

    shm_zone->init = ngx_http_llm_redact_init_zone;
    shm_zone->data = rmcf;

    cln = ngx_pool_cleanup_add(cf->pool, 0);
    if (cln == NULL) {
        return NGX_ERROR;
    }

    cln->handler = ngx_http_llm_redact_free_scratch;
    cln->data = &rmcf->proto;

    db = rmcf->dbs.elts;

    for (i = 0; i < rmcf->dbs.nelts; i++) {
        if (ngx_http_llm_pii_alloc_scratch(db[i]->pii, &rmcf->proto) != 0) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "llm redact: hs_alloc_scratch() failed");
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


static void *
ngx_http_llm_redact_create_main_conf(ngx_conf_t *cf)
{
    int                               bad;
    char                              err[128];
    ngx_pool_cleanup_t               *cln;
    ngx_http_llm_redact_main_conf_t  *rmcf;

    rmcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_llm_redact_main_conf_t));
    if (rmcf == NULL) {
        return NULL;
    }

    if (ngx_array_init(&rmcf->dbs, cf->pool, 4,
                       sizeof(ngx_http_llm_redact_db_t *))
        != NGX_OK)
    {
        return NULL;
    }

    /* no patterns, no Hyperscan database: restores placeholders only */

    cln = ngx_pool_cleanup_add(cf->pool, 0);
    if (cln == NULL) {
        return NULL;
    }

    rmcf->none = ngx_http_llm_pii_compile(0, NULL, 0, err, sizeof(err), &bad);

    if (rmcf->none == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "llm redact: %s", err);
        return NULL;
    }

    cln->handler = ngx_http_llm_redact_free_pii;
    cln->data = rmcf->none;

    return rmcf;
}


static void *
ngx_http_llm_redact_create_loc_conf(ngx_conf_t *cf)
{
    ngx_http_llm_redact_loc_conf_t  *conf;

    conf = ngx_pcalloc(cf->pool, sizeof(ngx_http_llm_redact_loc_conf_t));
    if (conf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     conf->secret = { 0, NULL };
     *     conf->hmac = NULL;
     *     conf->pii = NULL;
     */

    conf->where = NGX_CONF_UNSET_UINT;
    conf->mode = NGX_CONF_UNSET_UINT;
    conf->types = NGX_CONF_UNSET_UINT;
    conf->rules = NGX_CONF_UNSET_PTR;
    conf->max_values = NGX_CONF_UNSET;

    return conf;
}


static char *
ngx_http_llm_redact_merge_loc_conf(ngx_conf_t *cf, void *parent, void *child)
{
    ngx_http_llm_redact_loc_conf_t *prev = parent;
    ngx_http_llm_redact_loc_conf_t *conf = child;

    ngx_pool_cleanup_t  *cln;

    ngx_conf_merge_uint_value(conf->where, prev->where,
                              NGX_HTTP_LLM_REDACT_OFF);
    ngx_conf_merge_uint_value(conf->mode, prev->mode,
                              NGX_HTTP_LLM_REDACT_MASK);
    ngx_conf_merge_uint_value(conf->types, prev->types,
                              NGX_HTTP_LLM_PII_DEFAULT);
    ngx_conf_merge_ptr_value(conf->rules, prev->rules, NULL);
    ngx_conf_merge_str_value(conf->secret, prev->secret, "");
    ngx_conf_merge_value(conf->max_values, prev->max_values,
                         NGX_HTTP_LLM_REDACT_MAX_VALUES);

    if (conf->where & NGX_HTTP_LLM_REDACT_OFF) {
        conf->db = NULL;
        conf->pii = NULL;
        return NGX_CONF_OK;
    }

    if (conf->mode == NGX_HTTP_LLM_REDACT_HASH) {

        if (conf->secret.len == 0) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"llm_redact_mode hash\" requires "
                               "\"llm_redact_secret\"");
            return NGX_CONF_ERROR;
        }

        if (prev->hmac && prev->secret.data == conf->secret.data) {
            conf->hmac = prev->hmac;

        } else {
            cln = ngx_pool_cleanup_add(cf->pool, 0);
            if (cln == NULL) {
                return NGX_CONF_ERROR;
            }

            conf->hmac = ngx_http_llm_pii_hmac_create(conf->secret.data,
                                                      conf->secret.len);
            if (conf->hmac == NULL) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "llm_redact: cannot set up HMAC-SHA256");
                return NGX_CONF_ERROR;
            }

            cln->handler = ngx_http_llm_redact_free_hmac;
            cln->data = conf->hmac;
        }
    }

    conf->db = ngx_http_llm_redact_compile(cf, conf->types, conf->rules);

    if (conf->db == NULL) {
        return NGX_CONF_ERROR;
    }

    conf->pii = conf->db->pii;

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_http_llm_redact_init_process(ngx_cycle_t *cycle)
{
    ngx_http_conf_ctx_t              *hctx;
    ngx_http_llm_redact_main_conf_t  *rmcf;

    hctx = (ngx_http_conf_ctx_t *) cycle->conf_ctx[ngx_http_module.index];

    if (hctx == NULL) {
        return NGX_OK;
    }

    rmcf = hctx->main_conf[ngx_http_llm_redact_module.ctx_index];

    if (rmcf == NULL || rmcf->proto == NULL) {
        /* nothing to scan with: no scratch needed */
        ngx_http_llm_redact_scratch_conf = rmcf;
        return NGX_OK;
    }

    if (hs_clone_scratch(rmcf->proto, &ngx_http_llm_redact_scratch)
        != HS_SUCCESS)
    {
        ngx_log_error(NGX_LOG_ALERT, cycle->log, 0,
                      "llm redact: hs_clone_scratch() failed");
        return NGX_ERROR;
    }

    ngx_http_llm_redact_scratch_conf = rmcf;

    return NGX_OK;
}


static void
ngx_http_llm_redact_exit_process(ngx_cycle_t *cycle)
{
    if (ngx_http_llm_redact_scratch) {
        hs_free_scratch(ngx_http_llm_redact_scratch);
        ngx_http_llm_redact_scratch = NULL;
        ngx_http_llm_redact_scratch_conf = NULL;
    }

    if (ngx_http_llm_redact_join) {
        ngx_free(ngx_http_llm_redact_join);
        ngx_http_llm_redact_join = NULL;
        ngx_http_llm_redact_join_size = 0;
    }
}


/*
 * Responses API events: the text of response.output_text.delta is held
 * back where a value may continue (a stream per output_index and
 * content_index), as for chat.  Held text is flushed in extra
 * response.output_text.delta events before the events that close a text
 * (response.output_text.done, content_part.done, output_item.done) or the
 * response (completed, incomplete, failed); the whole texts those events
 * repeat are redacted as in a JSON answer.
 */

static ngx_int_t
ngx_http_llm_redact_responses(ngx_http_request_t *r, ngx_http_llm_ctx_t *ctx,
    ngx_http_llm_redact_ctx_t *rc, ngx_str_t *event, ngx_str_t *data,
    ngx_str_t *out)
{
    int64_t                        oi, ci;
    uint32_t                       type, text;
    ngx_int_t                      rv;
    ngx_str_t                      released, held, ev;
    ngx_uint_t                     changed;
    ngx_http_llm_json_t            json;
    ngx_http_llm_redact_stream_t  *s;

    rv = ngx_http_llm_parse_json(r, ctx, data, &json);
    if (rv != NGX_OK) {
        return (rv == NGX_ERROR) ? NGX_ERROR : NGX_HTTP_LLM_EVENT_PASS;
    }

    type = ngx_http_llm_json_object_get(&json, 0, "type", 4);

    if (ngx_http_llm_redact_is(&json, type, "response.output_text.delta",
                               26))
    {
        text = ngx_http_llm_json_object_get(&json, 0, "delta", 5);

        if (text == NGX_HTTP_LLM_NONE
            || json.tokens[text].type != NGX_HTTP_LLM_JSON_STRING)
        {
            return NGX_HTTP_LLM_EVENT_PASS;
        }

        if (rc->id.data == NULL
            && ngx_http_llm_redact_copy(rc, &json, data, "item_id", &rc->id)
               != NGX_OK)
        {
            return NGX_ERROR;
        }

        oi = ngx_http_llm_redact_index(&json, 0, 0);
        ci = 0;

        text = ngx_http_llm_json_object_get(&json, 0, "content_index", 13);

        if (text != NGX_HTTP_LLM_NONE
            && (ngx_http_llm_json_get_int(&json, text, &ci)
                != NGX_HTTP_LLM_JSON_OK || ci < 0 || ci > 0xffff))
        {
            ci = 0;
        }

        text = ngx_http_llm_json_object_get(&json, 0, "output_index", 12);

        if (text == NGX_HTTP_LLM_NONE
            || ngx_http_llm_json_get_int(&json, text, &oi)
               != NGX_HTTP_LLM_JSON_OK || oi < 0 || oi > 0xffff)
        {
            oi = 0;
        }

        s = ngx_http_llm_redact_stream(rc, (ngx_uint_t) (oi << 16 | ci), 1);
        if (s == NULL) {
            return NGX_ERROR;
        }

        text = ngx_http_llm_json_object_get(&json, 0, "delta", 5);
        changed = 0;

        if (ngx_http_llm_redact_delta(rc, s, &json, text, 0, &released,
                                      &changed)
            != NGX_OK)
        {
            return NGX_ERROR;
        }

        if (!changed) {
            return NGX_HTTP_LLM_EVENT_PASS;
        }

        rc->edits.nelts = 0;

        if (ngx_http_llm_redact_add_edit(rc, json.tokens[text].start,
                                         json.tokens[text].end, &released)
            != NGX_OK
            || ngx_http_llm_redact_apply(rc, data, event, out) != NGX_OK)
        {
            return NGX_ERROR;
        }

        return NGX_HTTP_LLM_EVENT_REPLACE;
    }

    if (!ngx_http_llm_redact_is(&json, type, "response.output_text.done", 25)
        && !ngx_http_llm_redact_is(&json, type, "response.content_part.done",
                                   26)
        && !ngx_http_llm_redact_is(&json, type, "response.output_item.done",
                                   25)
        && !ngx_http_llm_redact_is(&json, type, "response.completed", 18)
        && !ngx_http_llm_redact_is(&json, type, "response.incomplete", 19)
        && !ngx_http_llm_redact_is(&json, type, "response.failed", 15))
    {
        return NGX_HTTP_LLM_EVENT_PASS;
    }

    /* the held text first, in events of its own */

    rv = ngx_http_llm_redact_flush(r, ctx, rc, NULL, NULL, &held);
    if (rv == NGX_ERROR) {
        return NGX_ERROR;
    }

    if (rv != NGX_HTTP_LLM_EVENT_REPLACE) {
        ngx_str_null(&held);
    }

    /* the whole texts this event repeats (parsed again: flush parsed) */

    rv = ngx_http_llm_parse_json(r, ctx, data, &json);
    if (rv != NGX_OK) {
        return NGX_ERROR;
    }

    rc->edits.nelts = 0;

    if (ngx_http_llm_redact_responses_texts(rc, &json, 0) != NGX_OK) {
        return NGX_ERROR;
    }

    if (held.len == 0 && rc->edits.nelts == 0) {
        return NGX_HTTP_LLM_EVENT_PASS;
    }

    if (rc->edits.nelts) {
        if (ngx_http_llm_redact_apply(rc, data, event, &ev) != NGX_OK) {
            return NGX_ERROR;
        }

    } else if (ngx_http_llm_redact_event_out(rc, event, data, &ev) != NGX_OK) {
        return NGX_ERROR;
    }

    *out = held;

    if (ngx_http_llm_redact_append(rc, out, &ev) != NGX_OK) {
        return NGX_ERROR;
    }

    return NGX_HTTP_LLM_EVENT_REPLACE;
}


/*
 * The answer's texts in a Responses object or event, in document order:
 * "text" (output_text.done), "part" (content_part.done), "item"
 * (output_item.done), "response" (the terminal events), "output" (a JSON
 * answer) and, in a message item, "content"[].text.
 */

static ngx_int_t
ngx_http_llm_redact_responses_texts(ngx_http_llm_redact_ctx_t *rc,
    ngx_http_llm_json_t *json, uint32_t obj)
{
    uint32_t  t, v;

    if (obj == NGX_HTTP_LLM_NONE
        || json->tokens[obj].type != NGX_HTTP_LLM_JSON_OBJECT)
    {
        return NGX_OK;
    }

    /* members in the order they appear: edits must be in order */

    for (t = ngx_http_llm_json_first(json, obj);
         t != NGX_HTTP_LLM_NONE;
         t = json->tokens[t].next)
    {
        /* t is a key, its value follows */

        v = t + 1;

        if (ngx_http_llm_redact_is(json, t, "text", 4)) {
            if (ngx_http_llm_redact_json_text(rc, json, v) != NGX_OK) {
                return NGX_ERROR;
            }

        } else if (ngx_http_llm_redact_is(json, t, "part", 4)
                   || ngx_http_llm_redact_is(json, t, "item", 4)
                   || ngx_http_llm_redact_is(json, t, "response", 8))
        {
            if (ngx_http_llm_redact_responses_texts(rc, json, v) != NGX_OK) {
                return NGX_ERROR;
            }

        } else if ((ngx_http_llm_redact_is(json, t, "output", 6)
                    || ngx_http_llm_redact_is(json, t, "content", 7))
                   && json->tokens[v].type == NGX_HTTP_LLM_JSON_ARRAY)
        {
            for (v = ngx_http_llm_json_first(json, v);
                 v != NGX_HTTP_LLM_NONE;
                 v = json->tokens[v].next)
            {
                if (ngx_http_llm_redact_responses_texts(rc, json, v)
                    != NGX_OK)
                {
                    return NGX_ERROR;
                }
            }
        }
    }

    return NGX_OK;
}
