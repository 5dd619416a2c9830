
/*
 * Copyright (C) ngx_llm_module authors
 */


#ifndef _NGX_HTTP_LLM_MODULE_H_INCLUDED_
#define _NGX_HTTP_LLM_MODULE_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_llm_json.h"
#include "ngx_http_llm_tokens.h"
#include "ngx_http_llm_bpe.h"


#define NGX_HTTP_LLM_API_OFF        0
#define NGX_HTTP_LLM_API_OPENAI     1
#define NGX_HTTP_LLM_API_ANTHROPIC  2
#define NGX_HTTP_LLM_API_GEMINI     3

/*
 * What a request is, by the URI's last segments (ngx_http_llm_api.c holds
 * the one table); NONE: passed through untouched.
 */
#define NGX_HTTP_LLM_EP_NONE            0
#define NGX_HTTP_LLM_EP_CHAT            1   /* /chat/completions */
#define NGX_HTTP_LLM_EP_COMPLETIONS     2   /* /completions (legacy) */
#define NGX_HTTP_LLM_EP_RESPONSES       3   /* /responses */
#define NGX_HTTP_LLM_EP_EMBEDDINGS      4   /* /embeddings */
#define NGX_HTTP_LLM_EP_MESSAGES        5   /* /messages */
#define NGX_HTTP_LLM_EP_GENERATE        6   /* :generateContent */
#define NGX_HTTP_LLM_EP_STREAM_GENERATE 7   /* :streamGenerateContent */

#define NGX_HTTP_LLM_NONE           NGX_HTTP_LLM_JSON_NONE

/* prices are kept in micro-dollars per 1M tokens */
#define NGX_HTTP_LLM_PRICE_UNSET    -1

/*
 * The largest usage figure taken from an answer: a larger one (a hostile or
 * broken upstream) is taken as this, with a warning.  Far above any context
 * window, small enough that no sum or product of figures and prices
 * overflows.
 */
#define NGX_HTTP_LLM_USAGE_MAX      1000000000

/* a budget key is kept as the SHA-1 of its value */
#define NGX_HTTP_LLM_BUDGET_DIGEST  20

/* per-message framing overhead of chat formats, in tokens */
#define NGX_HTTP_LLM_MESSAGE_TOKENS  4
#define NGX_HTTP_LLM_REPLY_TOKENS    3


typedef struct ngx_http_llm_stat_s  ngx_http_llm_stat_t;
typedef struct ngx_http_llm_redis_s  ngx_http_llm_redis_t;   /* redis.h */
typedef struct ngx_http_llm_route_s  ngx_http_llm_route_t;   /* routing's
                                                  own, opaque to the core */


typedef struct {
    ngx_str_t                   name;
    ngx_str_t                   upstream;
    ngx_int_t                   input;         /* micro-USD per 1M tokens */
    ngx_int_t                   output;
    ngx_int_t                   cached_input;
    ngx_uint_t                  line;
    u_char                     *file;
    ngx_http_llm_stat_t        *stat;          /* its counters */
    ngx_str_t                   tokenizer_name;
    ngx_http_llm_bpe_t         *bpe;           /* exact counts, or NULL */
} ngx_http_llm_model_t;


/* llm_tokenizer NAME FILE */

typedef struct {
    ngx_str_t                   name;
    ngx_http_llm_bpe_t         *bpe;
} ngx_http_llm_tokenizer_t;


/* the start of a zone's shared state: a tree of its keys, an LRU queue */

typedef struct {
    ngx_rbtree_t                rbtree;
    ngx_rbtree_node_t           sentinel;
    ngx_queue_t                 queue;
} ngx_http_llm_shm_index_t;


typedef struct {
    ngx_rbtree_t                rbtree;
    ngx_rbtree_node_t           sentinel;
    ngx_queue_t                 queue;
    ngx_uint_t                  keys;
    ngx_uint_t                  admitted;
    ngx_uint_t                  refused;
    ngx_uint_t                  evicted;
    ngx_uint_t                  full;          /* new keys refused: no room */
} ngx_http_llm_budget_sh_t;


typedef struct {
    ngx_str_t                   name;
    ngx_http_complex_value_t    key;
    double                      limit;         /* tokens, or USD */
    double                      rate;          /* of refill, per ms */
    ngx_msec_t                  period;
    ngx_http_llm_budget_sh_t   *sh;
    ngx_slab_pool_t            *shpool;
    ngx_shm_zone_t             *shm_zone;
    ngx_http_llm_redis_t       *redis;         /* redis=NAME: shared */
    void                      **hint;          /* each worker's own: the
                                                  node last found for a
                                                  key's slot (budget.c) */
    double                      lease;         /* what a lease asks for */
    unsigned                    cost:1;        /* a zone of dollars */
    unsigned                    cut:1;         /* ends streams that overrun */
    unsigned                    full_admit:1;  /* full=admit */
    unsigned                    fail_closed:1; /* fail=closed */
    unsigned                    empty_refuse:1; /* empty=refuse */
} ngx_http_llm_budget_zone_t;


typedef struct {
    ngx_http_llm_budget_zone_t *zone;
    ngx_rbtree_key_t            hash;          /* the digest's first bytes */
    u_char                      digest[NGX_HTTP_LLM_BUDGET_DIGEST];
    double                      reserved;
    double                      charged;       /* reserved, plus what a
                                                  stream took beyond it */
    double                      remaining;
    void                       *node;          /* the key's node admission
                                                  found (the budget's
                                                  ngx_http_llm_budget_node_t),
                                                  NULL: none yet */
    unsigned                    held:1;
    unsigned                    unlimited:1;   /* no room, full=admit */
} ngx_http_llm_reservation_t;


/* a zone named by a directive (llm_budget, llm_cache), checked later */
typedef struct {
    ngx_shm_zone_t             *shm_zone;
    u_char                     *file;
    ngx_uint_t                  line;
} ngx_http_llm_zone_ref_t;


/*
 * The pipeline's hooks.  A feature registers its own in its
 * postconfiguration (ngx_http_llm_add_hook(), like nginx's phase handlers);
 * the request pipeline (ngx_http_llm_request.c) and the answer reader
 * (filters/) run them in the order of registration and never name a
 * feature.  The lists are in the main configuration, so a reload that
 * fails keeps the running cycle's.
 *
 * Request hooks, ngx_http_llm_request_hook_pt, once the body is parsed:
 *   ROUTE     choose the model and its entry: NGX_OK chosen, NGX_DECLINED
 *             next (then the catalogue), NGX_ERROR;
 *   CHECK     refuse or rewrite the request (redaction);
 *   ANSWER    answer it from elsewhere (the cache): NGX_OK answered,
 *             NGX_AGAIN wait (the hook calls ngx_http_llm_resume() later);
 *   ADMIT     admission (budgets);
 *             for these three: NGX_DECLINED to go on, anything else ends
 *             the pipeline with it;
 *   FORWARD   the body is final and goes upstream (shadows): all run, their
 *             result is ignored;
 *   CONTENT   the request (or a subrequest with a context) goes to its
 *             content handler: all run, result ignored;
 *   UPSTREAM  the location's content handler created r->upstream (the
 *             pipeline's wrapper of it, filters/): adjust its
 *             configuration (routing: timeouts of shadows, errors
 *             intercepted for a fallback); all run, result ignored;
 *   REDIRECT  the request came back through an internal redirect:
 *             NGX_DECLINED not for this hook, else the pipeline's result.
 *   OTHER     a POST of a gateway location that is not a model call (not
 *             in the endpoint table: token counting, batches): called first
 *             with ctx NULL before the body is read, NGX_OK if the hook
 *             wants the body (request redaction in the location), else
 *             NGX_DECLINED; then, with the body parsed as JSON, as CHECK
 *             (NGX_DECLINED to go on).  Such a request is neither budgeted
 *             nor logged as a model call.
 * Answer hooks:
 *   EVENT     ngx_http_llm_answer_json_pt: each event of a streamed answer,
 *             parsed, and the object of a JSON answer (ctx->st is NULL),
 *             parsed once for all (the cache's capture);
 *   TEXT      ngx_http_llm_answer_text_pt: after each piece of answer text
 *             was counted (routing's comparison, the budget's cut); text
 *             is the decoded piece, always when a feature set
 *             ctx->collect_text, else it may be NULL;
 *   END       ngx_http_llm_answer_end_pt: the answer ended, its last bytes
 *             not yet sent (cache store, budget settlement).
 * A feature that changes the answer sets ctx->event_hook / ctx->json_hook
 * for the request, from its CHECK hook (redaction).
 */

#define NGX_HTTP_LLM_HOOK_ROUTE     0
#define NGX_HTTP_LLM_HOOK_CHECK     1
#define NGX_HTTP_LLM_HOOK_ANSWER    2
#define NGX_HTTP_LLM_HOOK_ADMIT     3
#define NGX_HTTP_LLM_HOOK_FORWARD   4
#define NGX_HTTP_LLM_HOOK_CONTENT   5
#define NGX_HTTP_LLM_HOOK_REDIRECT  6
#define NGX_HTTP_LLM_HOOK_EVENT     7
#define NGX_HTTP_LLM_HOOK_TEXT      8
#define NGX_HTTP_LLM_HOOK_END       9
#define NGX_HTTP_LLM_HOOK_OTHER     10
#define NGX_HTTP_LLM_HOOK_UPSTREAM  11
#define NGX_HTTP_LLM_HOOKS          12


typedef struct ngx_http_llm_ctx_s     ngx_http_llm_ctx_t;

typedef ngx_int_t (*ngx_http_llm_request_hook_pt)(ngx_http_request_t *r,
    ngx_http_llm_ctx_t *ctx);
typedef void (*ngx_http_llm_answer_json_pt)(ngx_http_request_t *r,
    ngx_http_llm_ctx_t *ctx, ngx_http_llm_json_t *json);
typedef void (*ngx_http_llm_answer_text_pt)(ngx_http_request_t *r,
    ngx_http_llm_ctx_t *ctx, const u_char *text, size_t len);
typedef void (*ngx_http_llm_answer_end_pt)(ngx_http_llm_ctx_t *ctx);

typedef union {
    ngx_http_llm_request_hook_pt    request;
    ngx_http_llm_answer_json_pt     json;
    ngx_http_llm_answer_text_pt     text;
    ngx_http_llm_answer_end_pt      end;
} ngx_http_llm_hook_t;


/*
 * Counter slots (ngx_http_llm_counters.c): one zone of shared memory holds
 * up to 256 named slots of atomics, found by name again at each
 * configuration load, so counters live across reloads.  The core gives one
 * to each catalogue model and to "(unlisted)"; a feature asks for its own
 * at configuration time with ngx_http_llm_add_stat() (routing: one per
 * route).  Who counts into a slot is its owner's business: the status
 * module counts the models in the log phase, routing its routes.
 */

#define NGX_HTTP_LLM_STAT_SLOTS   256
#define NGX_HTTP_LLM_STAT_NAME    64
#define NGX_HTTP_LLM_TTFT_BINS    8

#define NGX_HTTP_LLM_STAT_MODEL   1
#define NGX_HTTP_LLM_STAT_ROUTE   2


struct ngx_http_llm_stat_s {
    u_char                      name[NGX_HTTP_LLM_STAT_NAME];
    ngx_uint_t                  len;
    ngx_uint_t                  kind;

    ngx_atomic_t                requests;
    ngx_atomic_t                streams;
    ngx_atomic_t                status_2xx;
    ngx_atomic_t                status_4xx;
    ngx_atomic_t                status_429;
    ngx_atomic_t                status_5xx;
    ngx_atomic_t                aborted;
    ngx_atomic_t                cut;
    ngx_atomic_t                prompt_tokens;
    ngx_atomic_t                completion_tokens;
    ngx_atomic_t                cached_tokens;
    ngx_atomic_t                estimated;
    ngx_atomic_t                cost;              /* nano-USD */
    ngx_atomic_t                fallbacks;
    ngx_atomic_t                ttft[NGX_HTTP_LLM_TTFT_BINS + 1];
    ngx_atomic_t                ttft_sum;
    ngx_atomic_t                ttft_count;

    ngx_atomic_t                shadow_sent;
    ngx_atomic_t                shadow_skipped;
    ngx_atomic_t                shadow_ok;
    ngx_atomic_t                shadow_errors;
    ngx_atomic_t                shadow_agree;
    ngx_atomic_t                shadow_similarity; /* sum, hundredths */
    ngx_atomic_t                shadow_latency;    /* sum, ms */
};


typedef struct {
    ngx_uint_t                  nslots;
    ngx_http_llm_stat_t         slots[NGX_HTTP_LLM_STAT_SLOTS];
} ngx_http_llm_stats_t;


/* a slot asked for by a feature: *stat is set when the zone is ready */
typedef struct {
    ngx_str_t                   name;
    ngx_uint_t                  kind;
    ngx_http_llm_stat_t       **stat;
} ngx_http_llm_stat_want_t;


/*
 * The registry of the llm_status page: a feature with counters to show
 * registers, in its postconfiguration, how much room its section needs at
 * most and how to write it (Prometheus text, or a JSON member beginning
 * with ","); the status module writes its models, then the sections by
 * rank, and names no feature.  The ranks keep the page's order as it was
 * (Redis comes before redaction in the Prometheus text, after it in JSON).
 */

#define NGX_HTTP_LLM_COUNTERS_ROUTES      10
#define NGX_HTTP_LLM_COUNTERS_BUDGETS     20
#define NGX_HTTP_LLM_COUNTERS_CACHE       30
#define NGX_HTTP_LLM_COUNTERS_REDIS       40
#define NGX_HTTP_LLM_COUNTERS_REDACT      50
#define NGX_HTTP_LLM_COUNTERS_REDIS_JSON  60

typedef size_t (*ngx_http_llm_counters_size_pt)(void);
typedef u_char *(*ngx_http_llm_counters_pt)(u_char *p, ngx_uint_t json);

typedef struct {
    ngx_uint_t                      rank;      /* in the Prometheus text */
    ngx_uint_t                      json_rank;
    ngx_http_llm_counters_size_pt   size;
    ngx_http_llm_counters_pt        write;
} ngx_http_llm_counters_t;


typedef struct {
    ngx_array_t                 models;        /* ngx_http_llm_model_t */
    ngx_http_llm_model_t       *default_model; /* "llm_model * ..." */
    ngx_array_t                 redis;         /* ngx_http_llm_redis_t * */
    ngx_http_llm_stats_t       *stats;         /* in shared memory */
    ngx_http_llm_stat_t        *unlisted;      /* models not in the catalogue */
    ngx_array_t                 stat_wants;    /* ngx_http_llm_stat_want_t */
    ngx_array_t                 counters;      /* ngx_http_llm_counters_t */
    ngx_array_t                 tokenizers;    /* ngx_http_llm_tokenizer_t */
    ngx_array_t                 hooks[NGX_HTTP_LLM_HOOKS];
                                               /* ngx_http_llm_hook_t */
} ngx_http_llm_main_conf_t;


typedef struct {
    ngx_uint_t                  api;
    ngx_flag_t                  stream;
    ngx_flag_t                  stream_usage;
} ngx_http_llm_loc_conf_t;


/* one piece of prompt text: a message content, a text part, a system prompt */
typedef struct {
    uint32_t                    tok;           /* its STRING token */
    ngx_int_t                   message;       /* message index, -1: system */
    ngx_str_t                   role;          /* decoded, may be empty */
    ngx_str_t                   text;          /* zero-copy when the JSON
                                                  string has no escapes; else
                                                  NULL until decoded, read it
                                                  with ngx_http_llm_text(); the
                                                  cache key hashes it as the
                                                  decoded token tok when set;
                                                  whoever decodes token tok
                                                  first (redaction, the cache
                                                  key, the estimate) sets it,
                                                  to the original's decoding
                                                  (never a redacted one) */
} ngx_http_llm_text_t;


/* parsed request body */
typedef struct {
    ngx_str_t                   body;          /* the original body */
    ngx_http_llm_json_t         json;
    ngx_buf_t                  *header_in;     /* r->header_in, while the
                                                  body is read into another
                                                  (ngx_http_llm_body_buffer) */

    ngx_str_t                   model;         /* decoded "model" */
    uint32_t                    model_tok;
    uint32_t                    messages_tok;
    uint32_t                    stream_options_tok;
    uint32_t                    tools_tok;

    ngx_array_t                 texts;         /* ngx_http_llm_text_t */
    ngx_uint_t                  nmessages;
    size_t                      token_ids;     /* inputs given as token IDs */

    int64_t                     max_tokens;    /* -1: not given */
    int64_t                     choices;       /* "n", 1 if not given */
    double                      temperature;   /* -1: not given */

    size_t                      prompt_estimate;

    unsigned                    stream:1;
    unsigned                    include_usage:1;   /* asked by the client */
    unsigned                    has_tools:1;
    unsigned                    keepalive:1;   /* r->keepalive, while
                                                  header_in is set */
} ngx_http_llm_request_t;


typedef struct {
    uint32_t                    start;
    uint32_t                    end;
    ngx_uint_t                  seq;
    ngx_str_t                   text;          /* raw JSON to put there */
} ngx_http_llm_edit_t;


#define NGX_HTTP_LLM_MODE_NONE      0
#define NGX_HTTP_LLM_MODE_STREAM    1          /* text/event-stream answer */
#define NGX_HTTP_LLM_MODE_JSON      2          /* JSON answer */
#define NGX_HTTP_LLM_MODE_WITHHELD  3          /* unreadable, replaced by
                                                  an error */


/* a request header whose value was replaced, and its value */
typedef struct {
    ngx_table_elt_t            *header;
    ngx_str_t                   value;
} ngx_http_llm_saved_header_t;


typedef struct ngx_http_llm_stream_s  ngx_http_llm_stream_t;


/*
 * Hooks a feature sets on a request to change the answer.
 *
 * event_hook: called for every complete event of a streamed answer (after
 * usage was read from it), and once with event == NULL and data == NULL at
 * the end of the stream.  Returns NGX_HTTP_LLM_EVENT_PASS (unchanged),
 * NGX_HTTP_LLM_EVENT_REPLACE with *out set to the raw bytes to send instead
 * (complete events, or nothing), or NGX_ERROR.
 *
 * json_hook: called with the whole JSON answer (then held back by the
 * filter); NGX_OK with *out the body to send, NGX_DECLINED to send it as it
 * was, NGX_ERROR.
 */

typedef ngx_int_t (*ngx_http_llm_event_pt)(ngx_http_request_t *r,
    ngx_http_llm_ctx_t *ctx, ngx_str_t *event, ngx_str_t *data,
    ngx_str_t *out);
typedef ngx_int_t (*ngx_http_llm_json_pt)(ngx_http_request_t *r,
    ngx_http_llm_ctx_t *ctx, ngx_str_t *body, ngx_str_t *out);


typedef struct {
    ngx_uint_t                  status;
    const char                 *type;          /* OpenAI error type */
    const char                 *code;
    ngx_str_t                   param;
    ngx_str_t                   message;
} ngx_http_llm_error_t;


struct ngx_http_llm_ctx_s {
    ngx_http_request_t         *request;
    ngx_http_llm_request_t      req;
    ngx_http_llm_error_t       *error;         /* a refusal to send */

    ngx_uint_t                  api;
    ngx_uint_t                  endpoint;      /* NGX_HTTP_LLM_EP_* */
    ngx_int_t                   status;        /* of the body processing */

    ngx_str_t                   requested_model;
    ngx_str_t                   model;         /* effective model */
    ngx_http_llm_model_t       *entry;         /* catalogue entry */

    ngx_array_t                 edits;         /* ngx_http_llm_edit_t */

    size_t                      prompt_tokens;     /* usage or estimate */
    size_t                      completion_tokens; /* usage or estimate */
    size_t                      cached_tokens;
    size_t                      reasoning_tokens;  /* of the completion */
    size_t                      completion_estimate;
    ngx_msec_int_t              ttft;              /* -1: no answer yet */

    ngx_array_t                *accept_encoding;   /* client's, set aside:
                                           ngx_http_llm_saved_header_t */

    ngx_uint_t                  mode;              /* NGX_HTTP_LLM_MODE_* */
    ngx_http_llm_stream_t      *st;
    ngx_buf_t                  *capture;           /* JSON answer */
    ngx_buf_t                  *withheld;          /* error sent instead */

    ngx_array_t                 reservations;  /* ngx_http_llm_reservation_t */
    time_t                      retry_after;
    uint64_t                    budget_limit;      /* tightest zone, tokens */
    uint64_t                    budget_remaining;
    ngx_msec_t                  budget_reset;

    /* routing (ngx_http_llm_route.c) */
    ngx_http_llm_route_t       *route;
    ngx_str_t                   route_alias;       /* $llm_route */
    ngx_http_handler_pt         content_handler;   /* the location's own */
    ngx_uint_t                  fallback_next;
    ngx_int_t                   failed_status;
    size_t                      attempts;
    ngx_uint_t                  data_events;

    /* shadow: on the primary, and on the shadow subrequest's own ctx */
    ngx_http_llm_ctx_t         *shadow_ctx;
    ngx_http_llm_ctx_t         *primary;
    ngx_msec_t                  started;
    ngx_msec_t                  latency;
    ngx_event_t                 timer;             /* of the shadow */
    ngx_uint_t                  shadow_status;
    uint32_t                    text_hash;
    size_t                      text_len;
    ngx_str_t                   sketch;

    ngx_http_llm_event_pt       event_hook;
    ngx_http_llm_json_pt        json_hook;
    void                       *hook_data;
    off_t                       held_length;       /* the upstream's
                                                      Content-Length of a
                                                      held answer, or -1 */

    void                       *cache;             /* of the cache module */

    ngx_http_llm_json_token_t  *tokens;            /* reused per event */
    uint32_t                    tokens_size;
    uint32_t                    tokens_n;          /* the last document
                                                      parsed into tokens:
                                                      its tokens, where, how
                                                      long, a copy of its
                                                      bytes */
    u_char                     *tokens_of;
    size_t                      tokens_len;
    u_char                     *tokens_copy;
    size_t                      tokens_copy_size;
    u_char                     *text;              /* decoded delta text */
    size_t                      text_size;

    void                      (*upstream_finalize)(ngx_http_request_t *r,
                                    ngx_int_t rc);

    /* Responses API streams: for the event that ends a cut stream */
    ngx_str_t                   response_id;
    int64_t                     sequence;          /* last sequence_number */

    unsigned                    body_requested:1;
    unsigned                    body_done:1;
    unsigned                    parsed:1;      /* a gateway request */
    unsigned                    stream:1;
    unsigned                    strip_usage:1;     /* we asked for usage */
    unsigned                    usage_reported:1;  /* completion usage seen */
    unsigned                    prompt_reported:1;
    unsigned                    prompt_estimated:1;
    unsigned                    tokens_exact:1;    /* a tokenizer counted */
    unsigned                    tokens_estimated:1;
    unsigned                    complete:1;        /* answer ended properly */
    unsigned                    cut:1;             /* ended by an error */
    unsigned                    client_abort:1;
    unsigned                    answered:1;        /* upstream answered 200 */
    unsigned                    budgeted:1;
    unsigned                    budget_cut_armed:1;
    unsigned                    budget_leased:1;   /* Redis was asked */
    unsigned                    no_retry:1;        /* can never succeed */
    unsigned                    forwarded:1;       /* content handler ran */
    unsigned                    cut_stream:1;      /* end the stream now */
    unsigned                    cut_unread:1;      /* the answer hook
                                                      could not read the
                                                      answer: a stream ends
                                                      with an error event, a
                                                      held JSON answer is
                                                      not sent */
    unsigned                    headers_done:1;
    unsigned                    hold_json:1;       /* json_hook: hold all */
    unsigned                    fallback_wait:1;   /* error_page comes back */
    unsigned                    fallback_armed:1;  /* wait from the content
                                                      handler on (routing) */
    unsigned                    fallback_left:1;   /* a fallback model is
                                                      left (routing) */
    unsigned                    header_held:1;     /* until the first event */
    unsigned                    fallback_event:1;  /* it was an error */
    unsigned                    error_first:1;     /* first event: an error */
    unsigned                    shadow_wanted:1;
    unsigned                    shadow:1;          /* a shadow subrequest */
    unsigned                    embedding:1;   /* an embedder subrequest */
    unsigned                    collect_text:1;
    unsigned                    cache_collect:1;   /* cache: read answer */
    unsigned                    done:1;
    unsigned                    no_store:1;        /* redacted: not cached */
    unsigned                    error_event:1;     /* the provider's own */
    unsigned                    unknown_context:1; /* previous_response_id */
    unsigned                    unread:1;          /* answer not read: the
                                                      budget keeps all it
                                                      reserved */
};


/* ngx_http_llm_module.c */
ngx_http_llm_hook_t *ngx_http_llm_add_hook(ngx_conf_t *cf, ngx_uint_t kind);
ngx_int_t ngx_http_llm_run_hooks(ngx_http_request_t *r,
    ngx_http_llm_ctx_t *ctx, ngx_uint_t kind);
void ngx_http_llm_answer_event_hooks(ngx_http_request_t *r,
    ngx_http_llm_ctx_t *ctx, ngx_http_llm_json_t *json);
void ngx_http_llm_answer_text_hooks(ngx_http_request_t *r,
    ngx_http_llm_ctx_t *ctx, const u_char *text, size_t len);
void ngx_http_llm_answer_end_hooks(ngx_http_llm_ctx_t *ctx);
ngx_http_llm_ctx_t *ngx_http_llm_get_ctx(ngx_http_request_t *r);
ngx_http_llm_ctx_t *ngx_http_llm_create_ctx(ngx_http_request_t *r);
ngx_http_llm_model_t *ngx_http_llm_find_model(ngx_http_llm_main_conf_t *lmcf,
    ngx_str_t *name);

/* exact token counts (ngx_http_llm_tokenizer.c) */
char *ngx_http_llm_tokenizer(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);
ngx_int_t ngx_http_llm_tokenizer_resolve(ngx_conf_t *cf,
    ngx_http_llm_main_conf_t *lmcf, ngx_http_llm_model_t *m);
size_t ngx_http_llm_count_tokens(ngx_http_llm_ctx_t *ctx, const u_char *text,
    size_t len);
ngx_int_t ngx_http_llm_tokens_init_process(ngx_cycle_t *cycle);
ngx_int_t ngx_http_llm_subrequest(ngx_http_request_t *r, ngx_str_t *uri,
    ngx_str_t *args, ngx_str_t *body, ngx_http_llm_ctx_t *sctx,
    ngx_http_post_subrequest_t *ps, ngx_http_request_t **psr);
ngx_int_t ngx_http_llm_parse_zone(ngx_conf_t *cf, ngx_str_t *value,
    const char *directive, ngx_str_t *name, ssize_t *size);
ngx_shm_zone_t *ngx_http_llm_zone_add(ngx_conf_t *cf, const char *directive,
    ngx_str_t *name, ssize_t size, void *tag, ngx_shm_zone_init_pt init,
    void *data, ngx_array_t *zones);
ngx_int_t ngx_http_llm_zone_ref(ngx_conf_t *cf, ngx_array_t *refs,
    ngx_shm_zone_t *shm_zone);
ngx_int_t ngx_http_llm_zone_refs_check(ngx_conf_t *cf, ngx_array_t *refs,
    ngx_shm_zone_init_pt init, const char *directive,
    const char *zone_directive);
void *ngx_http_llm_shm_state(ngx_shm_zone_t *shm_zone, size_t size,
    ngx_rbtree_insert_pt insert, const char *directive, ngx_uint_t *created);

/* ngx_http_llm_request.c */
ngx_int_t ngx_http_llm_precontent_handler(ngx_http_request_t *r);
void ngx_http_llm_resume(ngx_http_request_t *r, ngx_http_llm_ctx_t *ctx,
    ngx_int_t rc);
ngx_int_t ngx_http_llm_identity_encoding(ngx_http_request_t *r,
    ngx_http_llm_ctx_t *ctx);
size_t ngx_http_llm_prompt_tokens(ngx_http_llm_ctx_t *ctx);
ngx_int_t ngx_http_llm_text(ngx_http_llm_ctx_t *ctx, ngx_http_llm_text_t *t,
    ngx_str_t *text);
ngx_int_t ngx_http_llm_texts_decode(ngx_http_llm_ctx_t *ctx);
ngx_http_llm_text_t *ngx_http_llm_text_find(ngx_http_llm_text_t *texts,
    ngx_uint_t ntexts, ngx_uint_t *next, uint32_t tok);
ngx_int_t ngx_http_llm_parse_tokens(ngx_pool_t *pool,
    ngx_http_llm_json_t *json);
ngx_int_t ngx_http_llm_fail(ngx_http_request_t *r, ngx_http_llm_ctx_t *ctx,
    ngx_uint_t status, const char *code, const char *param,
    const char *fmt, ...);
ngx_int_t ngx_http_llm_send_error(ngx_http_request_t *r, ngx_uint_t api,
    ngx_uint_t status, const char *type, const char *code, ngx_str_t *param,
    ngx_str_t *message);

/* ngx_http_llm_api.c */
ngx_uint_t ngx_http_llm_endpoint(ngx_http_request_t *r, ngx_uint_t api,
    ngx_str_t *model);
const char *ngx_http_llm_endpoint_name(ngx_uint_t endpoint);
ngx_int_t ngx_http_llm_send_gemini_error(ngx_http_request_t *r,
    ngx_uint_t status, ngx_str_t *message);

/* ngx_http_llm_rewrite.c */
ngx_int_t ngx_http_llm_edit_replace(ngx_http_request_t *r,
    ngx_http_llm_ctx_t *ctx, uint32_t start, uint32_t end, ngx_str_t *text);
ngx_int_t ngx_http_llm_edit_set_member(ngx_http_request_t *r,
    ngx_http_llm_ctx_t *ctx, uint32_t obj, ngx_str_t *key, ngx_str_t *value);
ngx_int_t ngx_http_llm_edit_set_string(ngx_http_request_t *r,
    ngx_http_llm_ctx_t *ctx, uint32_t tok, ngx_str_t *text);
ngx_int_t ngx_http_llm_edit_text(ngx_http_request_t *r,
    ngx_http_llm_ctx_t *ctx, ngx_http_llm_text_t *t, ngx_array_t *spans);
ngx_int_t ngx_http_llm_apply_edits(ngx_http_request_t *r,
    ngx_http_llm_ctx_t *ctx);
ngx_int_t ngx_http_llm_build_body(ngx_http_request_t *r,
    ngx_http_llm_ctx_t *ctx, ngx_str_t *body);
ngx_int_t ngx_http_llm_replace_body(ngx_http_request_t *r, ngx_str_t *body);

/* filters/ngx_http_llm_filter_module.c */
void ngx_http_llm_mark_ttft(ngx_http_request_t *r, ngx_http_llm_ctx_t *ctx);
void ngx_http_llm_upstream_finalize(ngx_http_request_t *r, ngx_int_t rc);
void ngx_http_llm_shadow_read(ngx_http_request_t *r, ngx_http_llm_ctx_t *sctx);

/* filters/ngx_http_llm_usage.c */
ngx_int_t ngx_http_llm_usage_event(ngx_http_request_t *r,
    ngx_http_llm_ctx_t *ctx, ngx_str_t *event, ngx_str_t *data);
void ngx_http_llm_usage_json(ngx_http_request_t *r, ngx_http_llm_ctx_t *ctx,
    ngx_str_t *body);

/* ngx_http_llm_cost.c */
ngx_int_t ngx_http_llm_parse_json(ngx_http_request_t *r,
    ngx_http_llm_ctx_t *ctx, ngx_str_t *data, ngx_http_llm_json_t *json);
ngx_int_t ngx_http_llm_cost(ngx_http_llm_ctx_t *ctx, uint64_t *nano_usd);
ngx_int_t ngx_http_llm_cost_of(ngx_http_llm_ctx_t *ctx, size_t prompt_tokens,
    size_t completion_tokens, uint64_t *nano_usd);

/* ngx_http_llm_redact.c */
ngx_int_t ngx_http_llm_redact_request(ngx_http_request_t *r,
    ngx_http_llm_ctx_t *ctx);
size_t ngx_http_llm_redact_status_size(void);
u_char *ngx_http_llm_redact_status(u_char *p, ngx_uint_t json);

#define NGX_HTTP_LLM_EVENT_PASS     0
#define NGX_HTTP_LLM_EVENT_DROP     1
#define NGX_HTTP_LLM_EVENT_REPLACE  2

/* ngx_http_llm_cache_module.c, ngx_http_llm_cache_capture.c */
ngx_int_t ngx_http_llm_cache_lookup(ngx_http_request_t *r,
    ngx_http_llm_ctx_t *ctx);
void ngx_http_llm_cache_end(ngx_http_llm_ctx_t *ctx);
void ngx_http_llm_cache_event(ngx_http_request_t *r, ngx_http_llm_ctx_t *ctx,
    ngx_http_llm_json_t *json);
size_t ngx_http_llm_cache_status_size(void);
u_char *ngx_http_llm_cache_status(u_char *p, ngx_uint_t json);

/* ngx_http_llm_counters.c */
ngx_int_t ngx_http_llm_stats_zone(ngx_conf_t *cf,
    ngx_http_llm_main_conf_t *lmcf);
ngx_int_t ngx_http_llm_add_stat(ngx_conf_t *cf, ngx_str_t *name,
    ngx_uint_t kind, ngx_http_llm_stat_t **stat);
ngx_int_t ngx_http_llm_add_counters(ngx_conf_t *cf, ngx_uint_t rank,
    ngx_uint_t json_rank, ngx_http_llm_counters_size_pt size,
    ngx_http_llm_counters_pt write);
u_char *ngx_http_llm_prom_family(u_char *p, const char *name,
    const char *type, const char *help);

/* ngx_http_llm_variables.c */
ngx_int_t ngx_http_llm_add_variables(ngx_conf_t *cf);
u_char *ngx_http_llm_format_uint(u_char *p, uint64_t n, size_t width);


/* a replacement of decoded text [start, end) by text, for edit_text() */
typedef struct {
    size_t                      start;
    size_t                      end;
    ngx_str_t                   text;
} ngx_http_llm_span_t;


extern ngx_module_t  ngx_http_llm_module;


#include "ngx_http_llm_redis.h"


#endif /* _NGX_HTTP_LLM_MODULE_H_INCLUDED_ */
