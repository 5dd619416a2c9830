
/*
 * Copyright (C) ngx_llm_module authors
 *
 * Answer cache: complete, successful answers kept in a shared memory zone
 * (slab, red-black tree by key digest, LRU queue, TTL) and served again,
 * without going upstream, to a later request with the same key.
 *
 * The key is a digest of the scope (by default the caller's credentials),
 * the API, the effective model and the request body's parsed structure
 * (strings decoded, numbers by value, object members sorted by name), less
 * the members that only change the framing or the bookkeeping (stream,
 * stream_options, user, metadata, ...).  White space in the JSON text does
 * not matter; any difference in content does.
 *
 * An entry holds the answer's text, model, usage and finish reason, not its
 * bytes: a hit is written in the format the new request asks for (JSON or
 * an event stream, OpenAI or Anthropic), whatever the format it was stored
 * from.  Streamed answers are assembled from their events as they pass
 * (a hook in the usage reader), JSON answers are read from the filter's
 * capture; both are stored once the request ends, only when the answer
 * ended properly (no error, no cut stream, no tool call).
 */


#include "ngx_http_llm_module.h"
#include "ngx_http_llm_embed.h"

#include <ngx_sha1.h>

#if (NGX_OPENSSL)
#include <openssl/evp.h>
#endif


#define NGX_HTTP_LLM_CACHE_DIGEST     16          /* bytes of the key kept */

#define NGX_HTTP_LLM_CACHE_NONE       0
#define NGX_HTTP_LLM_CACHE_MISS       1
#define NGX_HTTP_LLM_CACHE_HIT        2
#define NGX_HTTP_LLM_CACHE_BYPASS     3
#define NGX_HTTP_LLM_CACHE_SEMANTIC   4

#define NGX_HTTP_LLM_CACHE_NO_STORE   1
#define NGX_HTTP_LLM_CACHE_NO_CACHE   2

/* node.data of an entry: it has a semantic part; a remote embedder's */
#define NGX_HTTP_LLM_CACHE_SEM        0x01
#define NGX_HTTP_LLM_CACHE_VEC        0x02

#define NGX_HTTP_LLM_CACHE_BUILTIN    1
#define NGX_HTTP_LLM_CACHE_REMOTE     2

/* a remote embedder: its vectors' dimensions at most, its default timeout */
#define NGX_HTTP_LLM_CACHE_MAX_DIM    4096
#define NGX_HTTP_LLM_CACHE_EMBED_TIMEOUT  1000

/* a remote embedder's entries compared per lookup, most recent first */
#define NGX_HTTP_LLM_CACHE_SCAN       256

/* llm_cache_semantic on: the threshold, in thousandths */
#define NGX_HTTP_LLM_CACHE_THRESHOLD  800

#define NGX_HTTP_LLM_CACHE_TTL        3600
#define NGX_HTTP_LLM_CACHE_MAX_ENTRY  (128 * 1024)
#define NGX_HTTP_LLM_CACHE_MAX_MODEL  255
#define NGX_HTTP_LLM_CACHE_MAX_STOP   1024

/* replayed stream: pieces of about this many bytes, cut at a space */
#define NGX_HTTP_LLM_CACHE_PIECE      64
#define NGX_HTTP_LLM_CACHE_MIN_PIECE  32

/* "full zone" warnings: at most one per zone in this many seconds */
#define NGX_HTTP_LLM_CACHE_WARN_EVERY 60


typedef struct {
    ngx_rbtree_node_t           node;          /* key: the digest's start */
    ngx_queue_t                 queue;         /* LRU, head: most recent */
    u_char                      digest[NGX_HTTP_LLM_CACHE_DIGEST];
    time_t                      created;
    uint32_t                    prompt_tokens;
    uint32_t                    completion_tokens;
    uint32_t                    text_len;
    u_short                     stop_len;
    u_char                      model_len;
    u_char                      finish_len;
    u_char                      data[1];       /* model, finish, stop, text */
} ngx_http_llm_cache_node_t;


/*
 * The semantic index: entries whose context (everything but the last user
 * message), words' signature and guard are the same share a bucket, found
 * by the digest of them; a lookup compares the entries of one bucket only.
 */

typedef struct {
    ngx_rbtree_node_t           node;          /* key: the digest's start */
    ngx_queue_t                 entries;       /* head: most recent */
    u_char                      digest[NGX_HTTP_LLM_CACHE_DIGEST];
} ngx_http_llm_cache_bucket_t;


/*
 * A remote embedder's vector: normalized to its largest component and
 * rounded to signed bytes, like the builtin's, at the service's dimension.
 */

typedef struct {
    ngx_http_llm_embed_flip_t   flip;          /* its text's antonym pairs */
    uint32_t                    norm2;         /* squared norm of v */
    uint16_t                    dim;
    int8_t                      v[1];
} ngx_http_llm_cache_vec_t;


#define ngx_http_llm_cache_vec_size(vec)                                     \
    (offsetof(ngx_http_llm_cache_vec_t, v) + (vec)->dim)


/*
 * The semantic part of an entry, after its text, aligned; with a remote
 * embedder (NGX_HTTP_LLM_CACHE_VEC) a ngx_http_llm_cache_vec_t takes the
 * place of the builtin embedding.
 */

typedef struct {
    ngx_queue_t                 link;          /* in its bucket */
    ngx_http_llm_cache_bucket_t *bucket;
    ngx_http_llm_cache_node_t  *node;
    ngx_http_llm_embed_t        embed;         /* its words: as needed */
} ngx_http_llm_cache_sem_t;


typedef struct {
    ngx_rbtree_t                rbtree;
    ngx_rbtree_node_t           sentinel;
    ngx_queue_t                 queue;
    ngx_rbtree_t                sem_rbtree;    /* of buckets */
    ngx_rbtree_node_t           sem_sentinel;
    ngx_uint_t                  buckets;
    ngx_uint_t                  sem_entries;
    uint64_t                    semantic_hits;
    ngx_uint_t                  entries;
    size_t                      bytes;         /* of the entries */
    uint64_t                    hits;
    uint64_t                    misses;
    uint64_t                    bypassed;
    uint64_t                    stored;
    uint64_t                    evicted;
    uint64_t                    expired;
    uint64_t                    tokens_saved;
    uint64_t                    nano_usd_saved;
    uint64_t                    embed_ok;      /* remote embedder calls */
    uint64_t                    embed_errors;
    uint64_t                    embed_timeouts;
    time_t                      warned;        /* last "full" warning */
} ngx_http_llm_cache_sh_t;


typedef struct {
    ngx_str_t                   name;
    ngx_http_llm_cache_sh_t    *sh;
    ngx_slab_pool_t            *shpool;
    ngx_shm_zone_t             *shm_zone;
    time_t                      ttl;
    size_t                      max_entry;
    ngx_http_llm_redis_t       *redis;         /* redis=NAME: shared */
} ngx_http_llm_cache_zone_t;


typedef struct {
    ngx_shm_zone_t             *shm_zone;
    u_char                     *file;
    ngx_uint_t                  line;
} ngx_http_llm_cache_ref_t;


typedef struct {
    ngx_array_t                 refs;          /* ngx_http_llm_cache_ref_t */
    ngx_array_t                 zones;   /* ngx_http_llm_cache_zone_t * */
} ngx_http_llm_cache_main_conf_t;


typedef struct {
    ngx_shm_zone_t             *shm_zone;      /* NULL: off */
    ngx_array_t                *scope;         /* ngx_http_complex_value_t */
    ngx_array_t                *bypass;        /* predicates */
    ngx_int_t                   semantic;      /* thousandths; 0: off */
    ngx_int_t                   embedder;      /* NGX_HTTP_LLM_CACHE_* */

    /* a remote embedder: its location, model, timeout; a hash of the two */
    ngx_str_t                   embedder_uri;
    ngx_str_t                   embedder_model;
    ngx_msec_t                  embedder_timeout;
    uint32_t                    embedder_tag;
    uint32_t                    embedder_scripts;  /* it reads: a mask */
} ngx_http_llm_cache_loc_conf_t;


/* what a request knows of the cache: its key, a hit, the answer built up */

typedef struct {
    ngx_http_llm_cache_zone_t  *zone;
    ngx_uint_t                  status;        /* NGX_HTTP_LLM_CACHE_* */

    u_char                      digest[NGX_HTTP_LLM_CACHE_DIGEST];
    ngx_str_t                   scope;
    ngx_str_t                   key_model;     /* the model of the digest */

    /* semantic: the last user message's embedding, the bucket's digest */
    ngx_http_llm_embed_t       *embed;
    ngx_http_llm_cache_vec_t   *vec;           /* a remote embedder's */
    ngx_http_llm_embed_flip_t   flip;          /* and its antonym pairs */
    u_char                      sem_digest[NGX_HTTP_LLM_CACHE_DIGEST];
    double                      similarity;

    /* a remote embedder asked: the message, the subrequest, its timer */
    ngx_http_request_t         *request;
    ngx_http_llm_ctx_t         *ctx;
    uint32_t                    sem_tok;
    ngx_http_request_t         *embed_sr;
    ngx_http_llm_ctx_t         *embed_ctx;
    ngx_event_t                 embed_timer;
    ngx_msec_t                  embed_started;
    ngx_http_llm_redis_cmd_t   *redis_cmd;     /* Redis asked, awaited */

    /* a hit, or the answer to store */
    ngx_str_t                   text;
    ngx_str_t                   model;
    ngx_str_t                   finish;
    ngx_str_t                   stop;
    uint32_t                    prompt_tokens;
    uint32_t                    completion_tokens;
    time_t                      created;

    size_t                      text_size;     /* of the text's buffer */
    size_t                      attempt;       /* the answer read is of */

#if (NGX_HTTP_LLM_CACHE_BENCH)
    uint64_t                    key_ns;        /* time of the digest */
    uint64_t                    lookup_ns;     /* of the zone's lookup */
    uint64_t                    sem_key_ns;    /* of the embedding, digest */
    uint64_t                    sem_lookup_ns; /* of the semantic lookup */
#endif

    unsigned                    store:1;       /* store the answer */
    unsigned                    semantic:1;    /* embed or vec, sem_digest */
    unsigned                    remote:1;      /* sem_digest, vec to ask */
    unsigned                    embed_wait:1;  /* the embedder is asked */
    unsigned                    embed_gone:1;  /* the request is torn down */
    unsigned                    failed:1;      /* the answer is not kept */
    unsigned                    too_large:1;
    unsigned                    message:1;     /* Responses: its item seen */
} ngx_http_llm_cache_ctx_t;


/* the key's digest is computed over a canonical form, fed in blocks */

typedef struct {
#if (NGX_OPENSSL)
    EVP_MD_CTX                 *md;
#else
    ngx_sha1_t                  sha1;
#endif
    ngx_pool_t                 *pool;
    uint32_t                    skip;          /* a token left out */
    u_char                     *scratch;       /* decoded strings */
    size_t                      scratch_size;
    size_t                      n;
    u_char                      buf[2048];
} ngx_http_llm_cache_hash_t;


typedef struct {
    ngx_str_t                   key;
    uint32_t                    value;
} ngx_http_llm_cache_member_t;


static ngx_int_t ngx_http_llm_cache_applies(ngx_http_request_t *r,
    ngx_http_llm_ctx_t *ctx);
static ngx_uint_t ngx_http_llm_cache_control(ngx_http_request_t *r);
static ngx_int_t ngx_http_llm_cache_scope(ngx_http_request_t *r,
    ngx_http_llm_cache_loc_conf_t *clcf, ngx_str_t *scope);
static ngx_int_t ngx_http_llm_cache_key(ngx_http_request_t *r,
    ngx_http_llm_ctx_t *ctx, ngx_http_llm_cache_ctx_t *cctx,
    ngx_str_t *model);
static ngx_int_t ngx_http_llm_cache_digest(ngx_http_request_t *r,
    ngx_http_llm_ctx_t *ctx, ngx_http_llm_cache_ctx_t *cctx,
    ngx_str_t *model, uint32_t skip, uint32_t *signature, u_char *digest);
static ngx_int_t ngx_http_llm_cache_semantic_key(ngx_http_request_t *r,
    ngx_http_llm_ctx_t *ctx, ngx_http_llm_cache_ctx_t *cctx,
    ngx_http_llm_cache_loc_conf_t *clcf);
static ngx_int_t ngx_http_llm_cache_semantic_fetch(ngx_http_request_t *r,
    ngx_http_llm_ctx_t *ctx, ngx_http_llm_cache_ctx_t *cctx,
    double threshold);
static ngx_int_t ngx_http_llm_cache_semantic_end(ngx_http_request_t *r,
    ngx_http_llm_ctx_t *ctx, ngx_http_llm_cache_ctx_t *cctx);
static ngx_int_t ngx_http_llm_cache_embed_start(ngx_http_request_t *r,
    ngx_http_llm_ctx_t *ctx, ngx_http_llm_cache_ctx_t *cctx,
    ngx_http_llm_cache_loc_conf_t *clcf);
static ngx_int_t ngx_http_llm_cache_embed_finished(ngx_http_request_t *sr,
    void *data, ngx_int_t rc);
static void ngx_http_llm_cache_embed_timeout(ngx_event_t *ev);
static void ngx_http_llm_cache_embed_cleanup(void *data);
static void ngx_http_llm_cache_embed_done(ngx_http_llm_cache_ctx_t *cctx);
static ngx_int_t ngx_http_llm_cache_embed_read(ngx_http_request_t *sr,
    ngx_http_llm_cache_ctx_t *cctx, ngx_http_llm_ctx_t *ectx,
    ngx_str_t *err);
static ngx_int_t ngx_http_llm_cache_copy_entry(ngx_http_request_t *r,
    ngx_http_llm_ctx_t *ctx, ngx_http_llm_cache_ctx_t *cctx,
    ngx_http_llm_cache_node_t *cn);
static ngx_http_llm_cache_sem_t *ngx_http_llm_cache_sem(
    ngx_http_llm_cache_node_t *cn);
static size_t ngx_http_llm_cache_node_size(ngx_http_llm_cache_node_t *cn);
static ngx_http_llm_cache_bucket_t *ngx_http_llm_cache_find_bucket(
    ngx_http_llm_cache_zone_t *zone, u_char *digest);
static void *ngx_http_llm_cache_alloc(ngx_http_llm_cache_zone_t *zone,
    size_t size, ngx_uint_t *evicted);
static ngx_rbtree_node_t *ngx_http_llm_cache_find_digest(ngx_rbtree_t *tree,
    u_char *digest);
static void ngx_http_llm_cache_rbtree_insert_value(ngx_rbtree_node_t *temp,
    ngx_rbtree_node_t *node, ngx_rbtree_node_t *sentinel);
static void ngx_http_llm_cache_hash_add(ngx_http_llm_cache_hash_t *h,
    const void *data, size_t len);
static void ngx_http_llm_cache_hash_str(ngx_http_llm_cache_hash_t *h,
    u_char tag, const u_char *data, size_t len);
static ngx_int_t ngx_http_llm_cache_hash_value(ngx_http_llm_cache_hash_t *h,
    ngx_http_llm_json_t *json, uint32_t tok, ngx_uint_t top);
static ngx_int_t ngx_http_llm_cache_hash_object(ngx_http_llm_cache_hash_t *h,
    ngx_http_llm_json_t *json, uint32_t obj, ngx_uint_t top);
static ngx_int_t ngx_http_llm_cache_decode(ngx_pool_t *pool,
    ngx_http_llm_json_t *json, uint32_t tok, ngx_str_t *out);
static int ngx_libc_cdecl ngx_http_llm_cache_member_cmp(const void *one,
    const void *two);
static ngx_http_llm_cache_node_t *ngx_http_llm_cache_find(
    ngx_http_llm_cache_zone_t *zone, u_char *digest);
static void ngx_http_llm_cache_delete(ngx_http_llm_cache_zone_t *zone,
    ngx_http_llm_cache_node_t *cn);
static ngx_uint_t ngx_http_llm_cache_expired(ngx_http_llm_cache_zone_t *zone,
    ngx_http_llm_cache_node_t *cn, time_t now);
static ngx_int_t ngx_http_llm_cache_fetch(ngx_http_request_t *r,
    ngx_http_llm_ctx_t *ctx, ngx_http_llm_cache_ctx_t *cctx);
static ngx_int_t ngx_http_llm_cache_arm(ngx_http_request_t *r,
    ngx_http_llm_ctx_t *ctx, ngx_http_llm_cache_ctx_t *cctx);
static void ngx_http_llm_cache_cleanup(void *data);
static ngx_int_t ngx_http_llm_cache_read_json(ngx_http_request_t *r,
    ngx_http_llm_ctx_t *ctx, ngx_http_llm_cache_ctx_t *cctx);
static ngx_int_t ngx_http_llm_cache_append(ngx_http_request_t *r,
    ngx_http_llm_cache_ctx_t *cctx, ngx_http_llm_json_t *json, uint32_t tok);
static ngx_int_t ngx_http_llm_cache_copy(ngx_http_request_t *r,
    ngx_http_llm_json_t *json, uint32_t tok, size_t max, ngx_str_t *out);
static void ngx_http_llm_cache_store(ngx_http_request_t *r,
    ngx_http_llm_ctx_t *ctx, ngx_http_llm_cache_ctx_t *cctx);
static ngx_int_t ngx_http_llm_cache_handler(ngx_http_request_t *r);
static ngx_buf_t *ngx_http_llm_cache_openai(ngx_http_request_t *r,
    ngx_http_llm_ctx_t *ctx, ngx_http_llm_cache_ctx_t *cctx);
static ngx_buf_t *ngx_http_llm_cache_anthropic(ngx_http_request_t *r,
    ngx_http_llm_ctx_t *ctx, ngx_http_llm_cache_ctx_t *cctx);
static size_t ngx_http_llm_cache_piece(u_char *p, u_char *last);
static void ngx_http_llm_cache_responses_event(ngx_http_request_t *r,
    ngx_http_llm_ctx_t *ctx, ngx_http_llm_cache_ctx_t *cctx,
    ngx_http_llm_json_t *json);
static ngx_int_t ngx_http_llm_cache_responses_json(ngx_http_request_t *r,
    ngx_http_llm_cache_ctx_t *cctx, ngx_http_llm_json_t *json);
static ngx_buf_t *ngx_http_llm_cache_responses(ngx_http_request_t *r,
    ngx_http_llm_ctx_t *ctx, ngx_http_llm_cache_ctx_t *cctx);
static u_char *ngx_http_llm_cache_id(u_char *p);
static ngx_int_t ngx_http_llm_cache_gemini_json(ngx_http_request_t *r,
    ngx_http_llm_cache_ctx_t *cctx, ngx_http_llm_json_t *json);
static ngx_buf_t *ngx_http_llm_cache_gemini(ngx_http_request_t *r,
    ngx_http_llm_cache_ctx_t *cctx);
static ngx_int_t ngx_http_llm_cache_set_header(ngx_http_request_t *r,
    ngx_str_t *key, ngx_str_t *value);
static ngx_int_t ngx_http_llm_cache_header_filter(ngx_http_request_t *r);
static ngx_int_t ngx_http_llm_cache_variable_status(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static ngx_int_t ngx_http_llm_cache_variable_similarity(
    ngx_http_request_t *r, ngx_http_variable_value_t *v, uintptr_t data);
#if (NGX_HTTP_LLM_CACHE_BENCH)
static uint64_t ngx_http_llm_cache_ns(void);
static ngx_int_t ngx_http_llm_cache_variable_bench(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
#endif
static ngx_int_t ngx_http_llm_cache_init_zone(ngx_shm_zone_t *shm_zone,
    void *data);
static char *ngx_http_llm_cache_zone(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_llm_cache(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_llm_cache_scope_slot(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_llm_cache_semantic(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_llm_cache_embedder(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_llm_cache_scripts(ngx_conf_t *cf, ngx_str_t *value,
    ngx_http_llm_cache_loc_conf_t *clcf);
static void *ngx_http_llm_cache_create_main_conf(ngx_conf_t *cf);
static char *ngx_http_llm_cache_init_main_conf(ngx_conf_t *cf, void *conf);
static void *ngx_http_llm_cache_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_llm_cache_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child);
static ngx_int_t ngx_http_llm_cache_preconfiguration(ngx_conf_t *cf);
static ngx_int_t ngx_http_llm_cache_postconfiguration(ngx_conf_t *cf);
static void ngx_http_llm_cache_exit_process(ngx_cycle_t *cycle);
static void ngx_http_llm_cache_redis_store(ngx_http_request_t *r,
    ngx_http_llm_ctx_t *ctx, ngx_http_llm_cache_ctx_t *cctx, time_t now);
static ngx_int_t ngx_http_llm_cache_redis_lookup(ngx_http_request_t *r,
    ngx_http_llm_cache_ctx_t *cctx);


static ngx_command_t  ngx_http_llm_cache_commands[] = {

    { ngx_string("llm_cache_zone"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_1MORE,
      ngx_http_llm_cache_zone,
      0,
      0,
      NULL },

    { ngx_string("llm_cache"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_llm_cache,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("llm_cache_scope"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_http_llm_cache_scope_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_llm_cache_loc_conf_t, scope),
      NULL },

    { ngx_string("llm_cache_bypass"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_http_set_predicate_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_llm_cache_loc_conf_t, bypass),
      NULL },

    { ngx_string("llm_cache_semantic"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_llm_cache_semantic,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("llm_cache_embedder"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1234,
      ngx_http_llm_cache_embedder,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_llm_cache_module_ctx = {
    ngx_http_llm_cache_preconfiguration,   /* preconfiguration */
    ngx_http_llm_cache_postconfiguration,  /* postconfiguration */

    ngx_http_llm_cache_create_main_conf,   /* create main configuration */
    ngx_http_llm_cache_init_main_conf,     /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    ngx_http_llm_cache_create_loc_conf,    /* create location configuration */
    ngx_http_llm_cache_merge_loc_conf      /* merge location configuration */
};


ngx_module_t  ngx_http_llm_cache_module = {
    NGX_MODULE_V1,
    &ngx_http_llm_cache_module_ctx,        /* module context */
    ngx_http_llm_cache_commands,           /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    NULL,                                  /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    ngx_http_llm_cache_exit_process,       /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


static ngx_http_variable_t  ngx_http_llm_cache_vars[] = {

    { ngx_string("llm_cache_status"), NULL,
      ngx_http_llm_cache_variable_status, 0, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("llm_cache_similarity"), NULL,
      ngx_http_llm_cache_variable_similarity, 0, NGX_HTTP_VAR_NOCACHEABLE, 0 },

#if (NGX_HTTP_LLM_CACHE_BENCH)
    { ngx_string("llm_cache_bench"), NULL,
      ngx_http_llm_cache_variable_bench, 0, NGX_HTTP_VAR_NOCACHEABLE, 0 },
#endif

      ngx_http_null_variable
};


static ngx_str_t  ngx_http_llm_cache_statuses[] = {
    ngx_null_string,
    ngx_string("MISS"),
    ngx_string("HIT"),
    ngx_string("BYPASS"),
    ngx_string("SEMANTIC")
};


/*
 * Top-level members left out of the key: the framing of the answer, and
 * the caller's bookkeeping, which does not change what the model says.
 * The model is keyed as the effective model, after routing.
 */

static ngx_str_t  ngx_http_llm_cache_unkeyed[] = {
    ngx_string("model"),
    ngx_string("stream"),
    ngx_string("stream_options"),
    ngx_string("user"),
    ngx_string("metadata"),
    ngx_string("store"),
    ngx_string("service_tier"),
    ngx_string("prompt_cache_key"),
    ngx_string("safety_identifier"),
    ngx_null_string
};


static ngx_http_output_header_filter_pt  ngx_http_next_header_filter;

#if (NGX_OPENSSL)
static EVP_MD_CTX  *ngx_http_llm_cache_md;
#endif


#define ngx_http_llm_cache_get(json, obj, key)                                \
    ngx_http_llm_json_object_get(json, obj, key, sizeof(key) - 1)

#define ngx_http_llm_cache_is(json, tok, t)                                   \
    ((tok) != NGX_HTTP_LLM_NONE && (json)->tokens[tok].type == (t))


/*
 * The pre-content pipeline's cache step, before budgets.  NGX_DECLINED: go
 * on (a miss, or the cache does not apply); NGX_OK: a hit, the content
 * handler is ours; an HTTP status on an internal error.
 */

ngx_int_t
ngx_http_llm_cache_lookup(ngx_http_request_t *r, ngx_http_llm_ctx_t *ctx)
{
    ngx_int_t                       rc;
    ngx_uint_t                      cc;
    ngx_http_llm_cache_ctx_t       *cctx;
    ngx_http_llm_cache_zone_t      *zone;
    ngx_http_llm_cache_loc_conf_t  *clcf;
#if (NGX_HTTP_LLM_CACHE_BENCH)
    uint64_t                        t0;
#endif

    clcf = ngx_http_get_module_loc_conf(r, ngx_http_llm_cache_module);

    if (clcf->shm_zone == NULL || r != r->main || ctx->shadow) {
        return NGX_DECLINED;
    }

    zone = clcf->shm_zone->data;

    cctx = ngx_pcalloc(r->pool, sizeof(ngx_http_llm_cache_ctx_t));
    if (cctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->cache = cctx;
    cctx->zone = zone;
    cctx->request = r;
    cctx->ctx = ctx;
    cctx->status = NGX_HTTP_LLM_CACHE_BYPASS;

    if (ngx_http_llm_cache_applies(r, ctx) != NGX_OK) {
        goto bypass;
    }

    /* Cache-Control: no-store: neither read nor written; no-cache: written */

    cc = ngx_http_llm_cache_control(r);

    if (cc & NGX_HTTP_LLM_CACHE_NO_STORE) {
        ngx_log_debug0(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                       "llm cache: \"no-store\" asked by the client");
        goto bypass;
    }

    rc = ngx_http_llm_cache_scope(r, clcf, &cctx->scope);

    if (rc == NGX_ERROR) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (rc == NGX_DECLINED) {
        ngx_log_debug0(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                       "llm cache: no credentials, or an empty scope");
        goto bypass;
    }

#if (NGX_HTTP_LLM_CACHE_BENCH)
    t0 = ngx_http_llm_cache_ns();
#endif

    if (ngx_http_llm_cache_key(r, ctx, cctx, &ctx->model) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

#if (NGX_HTTP_LLM_CACHE_BENCH)
    cctx->key_ns = ngx_http_llm_cache_ns() - t0;
#endif

    cctx->store = 1;

    if (clcf->semantic && ctx->endpoint != NGX_HTTP_LLM_EP_RESPONSES
        && ctx->api != NGX_HTTP_LLM_API_GEMINI)
    {
#if (NGX_HTTP_LLM_CACHE_BENCH)
        t0 = ngx_http_llm_cache_ns();
#endif
        rc = ngx_http_llm_cache_semantic_key(r, ctx, cctx, clcf);

        if (rc == NGX_ERROR) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
#if (NGX_HTTP_LLM_CACHE_BENCH)
        cctx->sem_key_ns = ngx_http_llm_cache_ns() - t0;
#endif
    }

    if ((cc & NGX_HTTP_LLM_CACHE_NO_CACHE)
        || ngx_http_test_predicates(r, clcf->bypass) == NGX_DECLINED)
    {
        ngx_log_debug0(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                       "llm cache: lookup bypassed");

        if (ngx_http_llm_cache_arm(r, ctx, cctx) != NGX_OK) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        goto bypass;
    }

#if (NGX_HTTP_LLM_CACHE_BENCH)
    t0 = ngx_http_llm_cache_ns();
#endif

    rc = ngx_http_llm_cache_fetch(r, ctx, cctx);

#if (NGX_HTTP_LLM_CACHE_BENCH)
    cctx->lookup_ns = ngx_http_llm_cache_ns() - t0;
#endif

    if (rc == NGX_ERROR) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (rc == NGX_OK) {
        cctx->status = NGX_HTTP_LLM_CACHE_HIT;
        cctx->store = 0;
        r->content_handler = ngx_http_llm_cache_handler;
        return NGX_OK;
    }

    if (zone->redis
        && ngx_http_llm_cache_redis_lookup(r, cctx) == NGX_AGAIN)
    {
        /* an exact miss here: Redis is asked, the request waits */
        return NGX_AGAIN;
    }

    if (cctx->remote) {
        /* the vector of the last message is asked for, the request waits */

        rc = ngx_http_llm_cache_embed_start(r, ctx, cctx, clcf);

        if (rc == NGX_AGAIN) {
            return NGX_AGAIN;
        }

        if (rc == NGX_ERROR) {
            /* the embedder is not asked: the request just misses */
            ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                          "llm cache \"%V\": could not ask the embedder "
                          "\"%V\"", &zone->name, &clcf->embedder_uri);
        }
    }

    return ngx_http_llm_cache_semantic_end(r, ctx, cctx);

bypass:

    ngx_shmtx_lock(&zone->shpool->mutex);
    zone->sh->bypassed++;
    ngx_shmtx_unlock(&zone->shpool->mutex);

    return NGX_DECLINED;
}


/*
 * After an exact miss: the semantic lookup, if the request has an
 * embedding, then a hit (NGX_OK) or a miss (NGX_DECLINED, the answer will
 * be read and stored).
 */

static ngx_int_t
ngx_http_llm_cache_semantic_end(ngx_http_request_t *r,
    ngx_http_llm_ctx_t *ctx, ngx_http_llm_cache_ctx_t *cctx)
{
    ngx_int_t                       rc;
    ngx_http_llm_cache_zone_t      *zone;
    ngx_http_llm_cache_loc_conf_t  *clcf;
#if (NGX_HTTP_LLM_CACHE_BENCH)
    uint64_t                        t0;
#endif

    clcf = ngx_http_get_module_loc_conf(r, ngx_http_llm_cache_module);
    zone = cctx->zone;

    if (cctx->semantic) {
#if (NGX_HTTP_LLM_CACHE_BENCH)
        t0 = ngx_http_llm_cache_ns();
#endif
        rc = ngx_http_llm_cache_semantic_fetch(r, ctx, cctx,
                                               clcf->semantic / 1000.0);
#if (NGX_HTTP_LLM_CACHE_BENCH)
        cctx->sem_lookup_ns = ngx_http_llm_cache_ns() - t0;
#endif

        if (rc == NGX_ERROR) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        if (rc == NGX_OK) {
            cctx->status = NGX_HTTP_LLM_CACHE_SEMANTIC;
            cctx->store = 0;
            r->content_handler = ngx_http_llm_cache_handler;
            return NGX_OK;
        }
    }

    cctx->status = NGX_HTTP_LLM_CACHE_MISS;

    ngx_shmtx_lock(&zone->shpool->mutex);
    zone->sh->misses++;
    ngx_shmtx_unlock(&zone->shpool->mutex);

    if (ngx_http_llm_cache_arm(r, ctx, cctx) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return NGX_DECLINED;
}


/*
 * Chat requests whose answer an entry can reproduce: one choice, no
 * log probabilities, no audio.
 */

static ngx_int_t
ngx_http_llm_cache_applies(ngx_http_request_t *r, ngx_http_llm_ctx_t *ctx)
{
    int64_t               n;
    uint32_t              t, m;
    ngx_str_t             s;
    ngx_http_llm_json_t  *json;

    json = &ctx->req.json;

    if (ctx->api == NGX_HTTP_LLM_API_GEMINI) {
        /* Gemini: whole answers (:generateContent) of one candidate */

        t = ngx_http_llm_cache_get(json, 0, "contents");

        return (ctx->endpoint == NGX_HTTP_LLM_EP_GENERATE
                && !ctx->req.stream
                && ctx->req.choices <= 1
                && ngx_http_llm_cache_is(json, t, NGX_HTTP_LLM_JSON_ARRAY))
               ? NGX_OK : NGX_DECLINED;
    }

    if (ctx->endpoint == NGX_HTTP_LLM_EP_RESPONSES) {
        /*
         * The Responses API: not a request that continues a stored
         * response (its context is not in the body), not a background one
         */

        t = ngx_http_llm_cache_get(json, 0, "background");

        return (ctx->unknown_context
                || ngx_http_llm_cache_is(json, t, NGX_HTTP_LLM_JSON_TRUE))
               ? NGX_DECLINED : NGX_OK;
    }

    t = ngx_http_llm_cache_get(json, 0, "messages");

    if (!ngx_http_llm_cache_is(json, t, NGX_HTTP_LLM_JSON_ARRAY)) {
        return NGX_DECLINED;
    }

    if (ctx->api == NGX_HTTP_LLM_API_ANTHROPIC) {
        return NGX_OK;
    }

    t = ngx_http_llm_cache_get(json, 0, "n");

    if (ngx_http_llm_cache_is(json, t, NGX_HTTP_LLM_JSON_NUMBER)
        && (ngx_http_llm_json_get_int(json, t, &n) != NGX_HTTP_LLM_JSON_OK
            || n != 1))
    {
        return NGX_DECLINED;
    }

    t = ngx_http_llm_cache_get(json, 0, "logprobs");

    if (ngx_http_llm_cache_is(json, t, NGX_HTTP_LLM_JSON_TRUE)) {
        return NGX_DECLINED;
    }

    t = ngx_http_llm_cache_get(json, 0, "modalities");

    if (ngx_http_llm_cache_is(json, t, NGX_HTTP_LLM_JSON_ARRAY)) {
        for (m = ngx_http_llm_json_first(json, t);
             m != NGX_HTTP_LLM_NONE;
             m = json->tokens[m].next)
        {
            if (json->tokens[m].type != NGX_HTTP_LLM_JSON_STRING) {
                continue;
            }

            ngx_http_llm_json_raw_string(json, m, (const u_char **) &s.data,
                                         &s.len);

            if (s.len != 4 || ngx_strncmp(s.data, "text", 4) != 0) {
                return NGX_DECLINED;
            }
        }
    }

    return NGX_OK;
}


/* the client's Cache-Control: no-store, no-cache */

static ngx_uint_t
ngx_http_llm_cache_control(ngx_http_request_t *r)
{
    u_char           *p, *last, *start;
    ngx_uint_t        i, cc;
    ngx_list_part_t  *part;
    ngx_table_elt_t  *h;

    cc = 0;

    part = &r->headers_in.headers.part;
    h = part->elts;

    for (i = 0; /* void */; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                break;
            }

            part = part->next;
            h = part->elts;
            i = 0;
        }

        if (h[i].key.len != sizeof("Cache-Control") - 1
            || ngx_strncasecmp(h[i].key.data, (u_char *) "Cache-Control",
                               sizeof("Cache-Control") - 1) != 0)
        {
            continue;
        }

        p = h[i].value.data;
        last = p + h[i].value.len;

        while (p < last) {

            while (p < last && (*p == ' ' || *p == '\t' || *p == ',')) {
                p++;
            }

            start = p;

            while (p < last && *p != ',' && *p != ' ' && *p != '\t'
                   && *p != '=')
            {
                p++;
            }

            if (p - start == 8
                && ngx_strncasecmp(start, (u_char *) "no-store", 8) == 0)
            {
                cc |= NGX_HTTP_LLM_CACHE_NO_STORE;

            } else if (p - start == 8
                       && ngx_strncasecmp(start, (u_char *) "no-cache", 8)
                          == 0)
            {
                cc |= NGX_HTTP_LLM_CACHE_NO_CACHE;
            }

            while (p < last && *p != ',') {
                p++;
            }
        }
    }

    return cc;
}


/*
 * The scope: the llm_cache_scope values, or the caller's credentials
 * (Authorization, x-api-key, api-key).  NGX_DECLINED: no credentials and no
 * llm_cache_scope, or llm_cache_scope values from variables that are all
 * empty: the cache is not used.  Each value is length-prefixed,
 * so ("ab", "c") and ("a", "bc") differ.
 */

static ngx_int_t
ngx_http_llm_cache_scope(ngx_http_request_t *r,
    ngx_http_llm_cache_loc_conf_t *clcf, ngx_str_t *scope)
{
    u_char                    *p;
    size_t                     len;
    ngx_str_t                  val[4], *v;
    ngx_uint_t                 i, n, found;
    ngx_list_part_t           *part;
    ngx_table_elt_t           *h;
    ngx_http_complex_value_t  *cv;

    static ngx_str_t  names[] = {
        ngx_string("Authorization"),
        ngx_string("x-api-key"),
        ngx_string("api-key"),
        ngx_string("x-goog-api-key")      /* Gemini */
    };

    if (clcf->scope) {
        cv = clcf->scope->elts;
        n = clcf->scope->nelts;

        v = ngx_palloc(r->pool, n * sizeof(ngx_str_t));
        if (v == NULL) {
            return NGX_ERROR;
        }

        /*
         * Values with variables that all come out empty (the header of
         * "llm_cache_scope $http_x_tenant" missing) name nobody: no cache,
         * as without credentials.  Constants name nobody either; only a
         * scope of constants alone ("") is shared, on purpose.
         */

        found = 1;

        for (i = 0; i < n; i++) {
            if (ngx_http_complex_value(r, &cv[i], &v[i]) != NGX_OK) {
                return NGX_ERROR;
            }

            if (cv[i].lengths != NULL && found != 2) {
                found = v[i].len ? 2 : 0;
            }
        }

    } else {
        v = val;
        n = 3;
        found = 0;

        ngx_memzero(val, sizeof(val));

        part = &r->headers_in.headers.part;
        h = part->elts;

        for (i = 0; /* void */; i++) {

            if (i >= part->nelts) {
                if (part->next == NULL) {
                    break;
                }

                part = part->next;
                h = part->elts;
                i = 0;
            }

            for (len = 0; len < 4; len++) {
                if (h[i].key.len == names[len].len
                    && ngx_strncasecmp(h[i].key.data, names[len].data,
                                       names[len].len) == 0
                    && h[i].value.len)
                {
                    val[len] = h[i].value;
                    found = 1;
                }
            }
        }

        /* the fourth only when present: the other APIs' keys unchanged */

        if (val[3].len) {
            n = 4;
        }
    }

    if (!found) {
        return NGX_DECLINED;
    }

    len = 0;

    for (i = 0; i < n; i++) {
        len += 4 + v[i].len;
    }

    p = ngx_pnalloc(r->pool, len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    scope->data = p;
    scope->len = len;

    for (i = 0; i < n; i++) {
        *p++ = (u_char) (v[i].len >> 24);
        *p++ = (u_char) (v[i].len >> 16);
        *p++ = (u_char) (v[i].len >> 8);
        *p++ = (u_char) v[i].len;
        p = ngx_cpymem(p, v[i].data, v[i].len);
    }

    return NGX_OK;
}


/*
 * The key: a digest (SHA-256, cut to 128 bits) of the scope, the API, the
 * model and the canonical form of the request body.
 */

static ngx_int_t
ngx_http_llm_cache_key(ngx_http_request_t *r, ngx_http_llm_ctx_t *ctx,
    ngx_http_llm_cache_ctx_t *cctx, ngx_str_t *model)
{
    if (ngx_http_llm_cache_digest(r, ctx, cctx, model, NGX_HTTP_LLM_NONE,
                                  NULL, cctx->digest)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    cctx->key_model = *model;

    return NGX_OK;
}


/*
 * The digest of a request: all of it, or all but one token (the last user
 * message of a semantic lookup, with the signature of its words).
 */

static ngx_int_t
ngx_http_llm_cache_digest(ngx_http_request_t *r, ngx_http_llm_ctx_t *ctx,
    ngx_http_llm_cache_ctx_t *cctx, ngx_str_t *model, uint32_t skip,
    uint32_t *signature, u_char *digest)
{
    u_char                     api;
    ngx_int_t                  rc;
    ngx_http_llm_cache_hash_t  h;
#if (NGX_OPENSSL)
    u_char                     md[EVP_MAX_MD_SIZE];
    unsigned int               mdlen;

    if (ngx_http_llm_cache_md == NULL) {
        /* one per worker, reused, freed at the worker's exit */
        ngx_http_llm_cache_md = EVP_MD_CTX_new();
        if (ngx_http_llm_cache_md == NULL) {
            return NGX_ERROR;
        }
    }

    if (EVP_DigestInit_ex(ngx_http_llm_cache_md, EVP_sha256(), NULL) != 1) {
        return NGX_ERROR;
    }

    h.md = ngx_http_llm_cache_md;
#else
    u_char                     md[20];

    ngx_sha1_init(&h.sha1);
#endif

    h.pool = r->pool;
    h.skip = skip;
    h.scratch = NULL;
    h.scratch_size = 0;
    h.n = 0;

    api = (ctx->endpoint == NGX_HTTP_LLM_EP_RESPONSES) ? 'R'
                                                        : (u_char) ctx->api;

    if (skip == NGX_HTTP_LLM_NONE) {
        ngx_http_llm_cache_hash_add(&h, "llm-cache/1", sizeof("llm-cache/1"));

    } else {
        ngx_http_llm_cache_hash_add(&h, "llm-cache-semantic/1",
                                    sizeof("llm-cache-semantic/1"));
    }

    ngx_http_llm_cache_hash_add(&h, &api, 1);
    ngx_http_llm_cache_hash_str(&h, 'S', cctx->scope.data, cctx->scope.len);
    ngx_http_llm_cache_hash_str(&h, 'M', model->data, model->len);

    rc = ngx_http_llm_cache_hash_value(&h, &ctx->req.json, 0, 1);

    if (signature) {
        ngx_http_llm_cache_hash_add(&h, signature, sizeof(uint32_t));
    }

    if (h.scratch) {
        ngx_pfree(r->pool, h.scratch);
    }

    if (rc != NGX_OK) {
        return NGX_ERROR;
    }

#if (NGX_OPENSSL)
    if (EVP_DigestUpdate(h.md, h.buf, h.n) != 1
        || EVP_DigestFinal_ex(h.md, md, &mdlen) != 1)
    {
        return NGX_ERROR;
    }
#else
    ngx_sha1_update(&h.sha1, h.buf, h.n);
    ngx_sha1_final(md, &h.sha1);
#endif

    ngx_memcpy(digest, md, NGX_HTTP_LLM_CACHE_DIGEST);

    return NGX_OK;
}


static void
ngx_http_llm_cache_hash_add(ngx_http_llm_cache_hash_t *h, const void *data,
    size_t len)
{
    size_t         n;
    const u_char  *p;

    p = data;

    while (len) {
        if (h->n == sizeof(h->buf)) {
#if (NGX_OPENSSL)
            (void) EVP_DigestUpdate(h->md, h->buf, h->n);
#else
            ngx_sha1_update(&h->sha1, h->buf, h->n);
#endif
            h->n = 0;
        }

        n = ngx_min(len, sizeof(h->buf) - h->n);

        ngx_memcpy(h->buf + h->n, p, n);

        h->n += n;
        p += n;
        len -= n;
    }
}


static void
ngx_http_llm_cache_hash_str(ngx_http_llm_cache_hash_t *h, u_char tag,
    const u_char *data, size_t len)
{
    u_char  head[5];

    head[0] = tag;
    head[1] = (u_char) (len >> 24);
    head[2] = (u_char) (len >> 16);
    head[3] = (u_char) (len >> 8);
    head[4] = (u_char) len;

    ngx_http_llm_cache_hash_add(h, head, 5);
    ngx_http_llm_cache_hash_add(h, data, len);
}


/*
 * The canonical form of a JSON value: a type tag, then strings decoded and
 * length-prefixed, numbers by value (1, 1.0 and 1e0 are the same), arrays in
 * order, object members sorted by name.
 */

static ngx_int_t
ngx_http_llm_cache_hash_value(ngx_http_llm_cache_hash_t *h,
    ngx_http_llm_json_t *json, uint32_t tok, ngx_uint_t top)
{
    u_char                      num[9];
    double                      d;
    int64_t                     i;
    uint32_t                    e;
    ngx_str_t                   s;
    ngx_http_llm_json_token_t  *t;

    if (tok == h->skip) {
        ngx_http_llm_cache_hash_add(h, "X", 1);
        return NGX_OK;
    }

    t = &json->tokens[tok];

    switch (t->type) {

    case NGX_HTTP_LLM_JSON_OBJECT:
        return ngx_http_llm_cache_hash_object(h, json, tok, top);

    case NGX_HTTP_LLM_JSON_ARRAY:
        num[0] = 'a';
        num[1] = (u_char) (t->size >> 24);
        num[2] = (u_char) (t->size >> 16);
        num[3] = (u_char) (t->size >> 8);
        num[4] = (u_char) t->size;
        ngx_http_llm_cache_hash_add(h, num, 5);

        for (e = ngx_http_llm_json_first(json, tok);
             e != NGX_HTTP_LLM_NONE;
             e = json->tokens[e].next)
        {
            if (ngx_http_llm_cache_hash_value(h, json, e, 0) != NGX_OK) {
                return NGX_ERROR;
            }
        }

        return NGX_OK;

    case NGX_HTTP_LLM_JSON_STRING:
        ngx_http_llm_json_raw_string(json, tok, (const u_char **) &s.data,
                                     &s.len);

        if (t->escaped) {
            if (s.len > h->scratch_size) {
                if (h->scratch) {
                    ngx_pfree(h->pool, h->scratch);
                }

                h->scratch_size = ngx_max(s.len, 256);
                h->scratch = ngx_pnalloc(h->pool, h->scratch_size);
                if (h->scratch == NULL) {
                    h->scratch_size = 0;
                    return NGX_ERROR;
                }
            }

            s.len = ngx_http_llm_json_decode_string(s.data, s.len,
                                                    h->scratch);
            s.data = h->scratch;
        }

        ngx_http_llm_cache_hash_str(h, 's', s.data, s.len);
        return NGX_OK;

    case NGX_HTTP_LLM_JSON_NUMBER:
        if (t->integer
            && ngx_http_llm_json_get_int(json, tok, &i) == NGX_HTTP_LLM_JSON_OK)
        {
            goto integer;
        }

        if (ngx_http_llm_json_get_double(json, tok, &d)
            != NGX_HTTP_LLM_JSON_OK)
        {
            /* out of range: by its text */
            ngx_http_llm_cache_hash_str(h, 'N', json->data + t->start,
                                        t->end - t->start);
            return NGX_OK;
        }

        if (d > -9.2e18 && d < 9.2e18 && d == (double) (int64_t) d) {
            i = (int64_t) d;
            goto integer;
        }

        num[0] = 'd';
        ngx_memcpy(&num[1], &d, 8);
        ngx_http_llm_cache_hash_add(h, num, 9);
        return NGX_OK;

    case NGX_HTTP_LLM_JSON_TRUE:
        ngx_http_llm_cache_hash_add(h, "t", 1);
        return NGX_OK;

    case NGX_HTTP_LLM_JSON_FALSE:
        ngx_http_llm_cache_hash_add(h, "f", 1);
        return NGX_OK;

    default: /* NGX_HTTP_LLM_JSON_NULL */
        ngx_http_llm_cache_hash_add(h, "n", 1);
        return NGX_OK;
    }

integer:

    num[0] = 'i';
    ngx_memcpy(&num[1], &i, 8);
    ngx_http_llm_cache_hash_add(h, num, 9);

    return NGX_OK;
}


static ngx_int_t
ngx_http_llm_cache_hash_object(ngx_http_llm_cache_hash_t *h,
    ngx_http_llm_json_t *json, uint32_t obj, ngx_uint_t top)
{
    u_char                        head[5];
    uint32_t                      k;
    ngx_str_t                    *u;
    ngx_uint_t                    i, n;
    ngx_http_llm_cache_member_t  *m, local[16];

    n = json->tokens[obj].size;

    if (n <= 16) {
        m = local;

    } else {
        m = ngx_palloc(h->pool, n * sizeof(ngx_http_llm_cache_member_t));
        if (m == NULL) {
            return NGX_ERROR;
        }
    }

    i = 0;

    for (k = ngx_http_llm_json_first(json, obj);
         k != NGX_HTTP_LLM_NONE && i < n;
         k = json->tokens[k].next)
    {
        if (ngx_http_llm_cache_decode(h->pool, json, k, &m[i].key) != NGX_OK)
        {
            return NGX_ERROR;
        }

        if (top) {
            for (u = ngx_http_llm_cache_unkeyed; u->len; u++) {
                if (u->len == m[i].key.len
                    && ngx_strncmp(u->data, m[i].key.data, u->len) == 0)
                {
                    break;
                }
            }

            if (u->len) {
                continue;
            }
        }

        m[i].value = k + 1;
        i++;
    }

    n = i;

    if (n > 1) {
        ngx_qsort(m, n, sizeof(ngx_http_llm_cache_member_t),
                  ngx_http_llm_cache_member_cmp);
    }

    head[0] = 'o';
    head[1] = (u_char) (n >> 24);
    head[2] = (u_char) (n >> 16);
    head[3] = (u_char) (n >> 8);
    head[4] = (u_char) n;
    ngx_http_llm_cache_hash_add(h, head, 5);

    for (i = 0; i < n; i++) {
        ngx_http_llm_cache_hash_str(h, 'k', m[i].key.data, m[i].key.len);

        if (ngx_http_llm_cache_hash_value(h, json, m[i].value, 0) != NGX_OK) {
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


/* a string token, decoded: in place when it has no escapes */

static ngx_int_t
ngx_http_llm_cache_decode(ngx_pool_t *pool, ngx_http_llm_json_t *json,
    uint32_t tok, ngx_str_t *out)
{
    size_t         len;
    const u_char  *raw;

    ngx_http_llm_json_raw_string(json, tok, &raw, &len);

    if (!json->tokens[tok].escaped) {
        out->data = (u_char *) raw;
        out->len = len;
        return NGX_OK;
    }

    out->data = ngx_pnalloc(pool, len);
    if (out->data == NULL) {
        return NGX_ERROR;
    }

    out->len = ngx_http_llm_json_decode_string(raw, len, out->data);

    return NGX_OK;
}


static int ngx_libc_cdecl
ngx_http_llm_cache_member_cmp(const void *one, const void *two)
{
    const ngx_http_llm_cache_member_t  *a = one;
    const ngx_http_llm_cache_member_t  *b = two;

    return ngx_memn2cmp(a->key.data, b->key.data, a->key.len, b->key.len);
}


/* the zone's entry for a digest, or NULL; the zone is locked */

static ngx_http_llm_cache_node_t *
ngx_http_llm_cache_find(ngx_http_llm_cache_zone_t *zone, u_char *digest)
{
    return (ngx_http_llm_cache_node_t *)
               ngx_http_llm_cache_find_digest(&zone->sh->rbtree, digest);
}


static void
ngx_http_llm_cache_delete(ngx_http_llm_cache_zone_t *zone,
    ngx_http_llm_cache_node_t *cn)
{
    ngx_http_llm_cache_sem_t     *sem;
    ngx_http_llm_cache_bucket_t  *b;

    sem = ngx_http_llm_cache_sem(cn);

    if (sem) {
        b = sem->bucket;

        ngx_queue_remove(&sem->link);
        zone->sh->sem_entries--;

        if (ngx_queue_empty(&b->entries)) {
            ngx_rbtree_delete(&zone->sh->sem_rbtree, &b->node);
            ngx_slab_free_locked(zone->shpool, b);
            zone->sh->buckets--;
        }
    }

    ngx_queue_remove(&cn->queue);
    ngx_rbtree_delete(&zone->sh->rbtree, &cn->node);

    zone->sh->entries--;
    zone->sh->bytes -= ngx_http_llm_cache_node_size(cn);

    ngx_slab_free_locked(zone->shpool, cn);
}


static ngx_uint_t
ngx_http_llm_cache_expired(ngx_http_llm_cache_zone_t *zone,
    ngx_http_llm_cache_node_t *cn, time_t now)
{
    /* the zone's current ttl: a reload with a new ttl applies at once */
    return (now - cn->created >= zone->ttl || now < cn->created);
}


/*
 * Look the key up; on a hit, copy the entry into the request's pool (the
 * entry may be evicted while the answer is sent).  NGX_OK: a hit;
 * NGX_DECLINED: a miss.
 */

static ngx_int_t
ngx_http_llm_cache_fetch(ngx_http_request_t *r, ngx_http_llm_ctx_t *ctx,
    ngx_http_llm_cache_ctx_t *cctx)
{
    time_t                      now;
    ngx_http_llm_cache_node_t  *cn;
    ngx_http_llm_cache_zone_t  *zone;

    zone = cctx->zone;
    now = ngx_time();

    ngx_shmtx_lock(&zone->shpool->mutex);

    cn = ngx_http_llm_cache_find(zone, cctx->digest);

    if (cn && ngx_http_llm_cache_expired(zone, cn, now)) {
        ngx_http_llm_cache_delete(zone, cn);
        zone->sh->expired++;
        cn = NULL;
    }

    if (cn == NULL) {
        ngx_shmtx_unlock(&zone->shpool->mutex);
        return NGX_DECLINED;
    }

    if (ngx_http_llm_cache_copy_entry(r, ctx, cctx, cn) != NGX_OK) {
        ngx_shmtx_unlock(&zone->shpool->mutex);
        return NGX_ERROR;
    }

    zone->sh->hits++;

    ngx_shmtx_unlock(&zone->shpool->mutex);

    cctx->similarity = 1;

    ngx_log_debug4(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "llm cache \"%V\": hit, model \"%V\", %uD+%uD tokens",
                   &zone->name, &ctx->model, cctx->prompt_tokens,
                   cctx->completion_tokens);

    return NGX_OK;
}


/*
 * A copy of an entry into the request's pool (the entry may be evicted
 * while the answer is sent), the entry made the most recent, the savings
 * counted.  The zone is locked.
 */

static ngx_int_t
ngx_http_llm_cache_copy_entry(ngx_http_request_t *r, ngx_http_llm_ctx_t *ctx,
    ngx_http_llm_cache_ctx_t *cctx, ngx_http_llm_cache_node_t *cn)
{
    u_char                     *p;
    size_t                      size;
    uint64_t                    nano;
    ngx_http_llm_cache_sem_t   *sem;
    ngx_http_llm_cache_zone_t  *zone;

    zone = cctx->zone;

    size = cn->model_len + cn->finish_len + cn->stop_len + cn->text_len;

    p = ngx_pnalloc(r->pool, size ? size : 1);
    if (p == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(p, cn->data, size);

    cctx->model.data = p;
    cctx->model.len = cn->model_len;
    p += cn->model_len;

    cctx->finish.data = p;
    cctx->finish.len = cn->finish_len;
    p += cn->finish_len;

    cctx->stop.data = p;
    cctx->stop.len = cn->stop_len;
    p += cn->stop_len;

    cctx->text.data = p;
    cctx->text.len = cn->text_len;

    cctx->prompt_tokens = cn->prompt_tokens;
    cctx->completion_tokens = cn->completion_tokens;
    cctx->created = cn->created;

    ngx_queue_remove(&cn->queue);
    ngx_queue_insert_head(&zone->sh->queue, &cn->queue);

    sem = ngx_http_llm_cache_sem(cn);

    if (sem) {
        ngx_queue_remove(&sem->link);
        ngx_queue_insert_head(&sem->bucket->entries, &sem->link);
    }

    if (ngx_http_llm_cost_of(ctx, cn->prompt_tokens, cn->completion_tokens,
                             &nano)
        != NGX_OK)
    {
        nano = 0;
    }

    zone->sh->tokens_saved += cn->prompt_tokens + cn->completion_tokens;
    zone->sh->nano_usd_saved += nano;

    return NGX_OK;
}


/*
 * The semantic key of a request: the embedding of its last message, which
 * must be the user's and a string, and the digest of the rest of the
 * request with the signature of that message's words.  NGX_DECLINED: the
 * request cannot be compared.
 */

static ngx_int_t
ngx_http_llm_cache_semantic_key(ngx_http_request_t *r,
    ngx_http_llm_ctx_t *ctx, ngx_http_llm_cache_ctx_t *cctx,
    ngx_http_llm_cache_loc_conf_t *clcf)
{
    uint32_t                    m, last, t, sig;
    ngx_str_t                   role, text;
    ngx_http_llm_json_t        *json;
    ngx_http_llm_embed_t       *e;
    ngx_http_llm_embed_guard_t  guard;

    json = &ctx->req.json;

    if (ctx->req.messages_tok == NGX_HTTP_LLM_NONE) {
        return NGX_DECLINED;
    }

    last = NGX_HTTP_LLM_NONE;

    for (m = ngx_http_llm_json_first(json, ctx->req.messages_tok);
         m != NGX_HTTP_LLM_NONE;
         m = json->tokens[m].next)
    {
        last = m;
    }

    if (!ngx_http_llm_cache_is(json, last, NGX_HTTP_LLM_JSON_OBJECT)) {
        return NGX_DECLINED;
    }

    t = ngx_http_llm_cache_get(json, last, "role");

    if (!ngx_http_llm_cache_is(json, t, NGX_HTTP_LLM_JSON_STRING)) {
        return NGX_DECLINED;
    }

    ngx_http_llm_json_raw_string(json, t, (const u_char **) &role.data,
                                 &role.len);

    if (role.len != 4 || ngx_strncmp(role.data, "user", 4) != 0) {
        return NGX_DECLINED;
    }

    t = ngx_http_llm_cache_get(json, last, "content");

    if (!ngx_http_llm_cache_is(json, t, NGX_HTTP_LLM_JSON_STRING)) {
        return NGX_DECLINED;
    }

    if (ngx_http_llm_cache_decode(r->pool, json, t, &text) != NGX_OK) {
        return NGX_ERROR;
    }

    e = ngx_palloc(r->pool, sizeof(ngx_http_llm_embed_t));
    if (e == NULL) {
        return NGX_ERROR;
    }

    if (clcf->embedder == NGX_HTTP_LLM_CACHE_REMOTE
        && !ngx_http_llm_embed_scripts_in(text.data, text.len,
                                          clcf->embedder_scripts))
    {
        /*
         * Mostly letters the embedder does not read (scripts=): it is not
         * asked, the builtin embedder compares near-duplicates instead.
         */

        ngx_log_debug0(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                       "llm cache: the message is not in the embedder's "
                       "scripts, the builtin embedder compares it");

    } else if (clcf->embedder == NGX_HTTP_LLM_CACHE_REMOTE) {

        /*
         * The vector will be the service's; the builtin embedder gives the
         * guard only (of any text), the parts of it that were measured to
         * pay with a real model (docs/cache.md): the negations and the
         * numbers must be equal (they are in the bucket's digest), and no
         * antonym pair may be flipped ("enable" / "disable", compared
         * entry by entry).  The bucket: context, guard, embedder, model.
         */

        (void) ngx_http_llm_embed_parts(text.data, text.len, e, &guard);

        cctx->flip = guard.flip;

        sig = (ngx_http_llm_embed_guard_hash(&guard) * 16777619)
              ^ clcf->embedder_tag;

        if (ngx_http_llm_cache_digest(r, ctx, cctx, &ctx->model, t, &sig,
                                      cctx->sem_digest)
            != NGX_OK)
        {
            return NGX_ERROR;
        }

        cctx->sem_tok = t;
        cctx->remote = 1;

        return NGX_OK;
    }

    if (ngx_http_llm_embed(text.data, text.len, e) != 0) {
        return NGX_DECLINED;
    }

    /* texts with different guards never match: they need no comparison */

    sig = (e->signature * 16777619) ^ e->guard;

    if (ngx_http_llm_cache_digest(r, ctx, cctx, &ctx->model, t, &sig,
                                  cctx->sem_digest)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    cctx->embed = e;
    cctx->semantic = 1;

    return NGX_OK;
}


/*
 * A semantic lookup: the entry of the request's bucket most similar to it,
 * at or above the threshold, with the same words up to typos.  NGX_OK: a
 * hit; NGX_DECLINED: none.
 */

static ngx_int_t
ngx_http_llm_cache_semantic_fetch(ngx_http_request_t *r,
    ngx_http_llm_ctx_t *ctx, ngx_http_llm_cache_ctx_t *cctx, double threshold)
{
    double                        sim, best;
    time_t                        now;
    ngx_uint_t                    n;
    ngx_queue_t                  *q;
    ngx_http_llm_cache_sem_t     *sem;
    ngx_http_llm_cache_vec_t     *vec;
    ngx_http_llm_cache_node_t    *hit;
    ngx_http_llm_cache_zone_t    *zone;
    ngx_http_llm_cache_bucket_t  *b;

    zone = cctx->zone;
    now = ngx_time();
    best = 0;
    hit = NULL;

    ngx_shmtx_lock(&zone->shpool->mutex);

    b = ngx_http_llm_cache_find_bucket(zone, cctx->sem_digest);

    if (b && cctx->vec) {

        /* a remote embedder's: the most recent entries of the bucket */

        n = 0;

        for (q = ngx_queue_head(&b->entries);
             q != ngx_queue_sentinel(&b->entries)
             && n < NGX_HTTP_LLM_CACHE_SCAN;
             q = ngx_queue_next(q))
        {
            sem = ngx_queue_data(q, ngx_http_llm_cache_sem_t, link);

            if (!(sem->node->node.data & NGX_HTTP_LLM_CACHE_VEC)
                || ngx_http_llm_cache_expired(zone, sem->node, now))
            {
                continue;
            }

            n++;

            vec = (ngx_http_llm_cache_vec_t *) &sem->embed;

            if (vec->dim != cctx->vec->dim) {
                continue;
            }

            sim = ngx_http_llm_embed_cosine_i8(cctx->vec->v,
                                               cctx->vec->norm2,
                                               vec->v, vec->norm2,
                                               vec->dim, threshold);

            /* antonyms, swapped words, names: above the threshold only */

            if (sim >= threshold && sim > best
                && !ngx_http_llm_embed_flipped(&vec->flip, &cctx->vec->flip))
            {
                best = sim;
                hit = sem->node;
            }
        }

        b = NULL;
    }

    if (b) {
        for (q = ngx_queue_head(&b->entries);
             q != ngx_queue_sentinel(&b->entries);
             q = ngx_queue_next(q))
        {
            sem = ngx_queue_data(q, ngx_http_llm_cache_sem_t, link);

            if ((sem->node->node.data & NGX_HTTP_LLM_CACHE_VEC)
                || ngx_http_llm_cache_expired(zone, sem->node, now))
            {
                continue;
            }

            sim = ngx_http_llm_embed_cosine(cctx->embed, &sem->embed);

            if (sim >= threshold && sim > best
                && ngx_http_llm_embed_same_words(cctx->embed, &sem->embed))
            {
                best = sim;
                hit = sem->node;
            }
        }
    }

    if (hit == NULL) {
        ngx_shmtx_unlock(&zone->shpool->mutex);
        return NGX_DECLINED;
    }

    if (ngx_http_llm_cache_copy_entry(r, ctx, cctx, hit) != NGX_OK) {
        ngx_shmtx_unlock(&zone->shpool->mutex);
        return NGX_ERROR;
    }

    zone->sh->semantic_hits++;

    ngx_shmtx_unlock(&zone->shpool->mutex);

    cctx->similarity = best;

    ngx_log_debug3(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "llm cache \"%V\": semantic hit, model \"%V\", "
                   "similarity %.3f", &zone->name, &ctx->model, best);

    return NGX_OK;
}


/*
 * A remote embedder: a background subrequest to its location, which
 * proxies to an OpenAI-compatible /v1/embeddings, with the last user
 * message as input; the request waits for it, at most the timeout.
 */

static ngx_int_t
ngx_http_llm_cache_embed_start(ngx_http_request_t *r, ngx_http_llm_ctx_t *ctx,
    ngx_http_llm_cache_ctx_t *cctx, ngx_http_llm_cache_loc_conf_t *clcf)
{
    u_char                      *p;
    ngx_str_t                    input, body;
    ngx_http_request_t          *sr;
    ngx_http_llm_ctx_t          *ectx;
    ngx_http_cleanup_t          *cln;
    ngx_http_post_subrequest_t  *ps;

    static u_char  model[] = "{\"model\":\"";
    static u_char  in[] = "\",\"input\":\"";
    static u_char  fmt[] = "\",\"encoding_format\":\"float\"}";

    /* the message as it came, escapes kept: it is valid in a JSON string */

    ngx_http_llm_json_raw_string(&ctx->req.json, cctx->sem_tok,
                                 (const u_char **) &input.data, &input.len);

    body.len = sizeof(model) - 1
               + ngx_http_llm_json_encoded_len(clcf->embedder_model.data,
                                               clcf->embedder_model.len)
               + sizeof(in) - 1 + input.len + sizeof(fmt) - 1;

    body.data = ngx_pnalloc(r->pool, body.len);
    ectx = ngx_pcalloc(r->pool, sizeof(ngx_http_llm_ctx_t));
    ps = ngx_palloc(r->pool, sizeof(ngx_http_post_subrequest_t));
    cln = ngx_http_cleanup_add(r, 0);

    if (body.data == NULL || ectx == NULL || ps == NULL || cln == NULL) {
        return NGX_ERROR;
    }

    p = ngx_cpymem(body.data, model, sizeof(model) - 1);
    p = ngx_http_llm_json_encode_string(p, clcf->embedder_model.data,
                                        clcf->embedder_model.len);
    p = ngx_cpymem(p, in, sizeof(in) - 1);
    p = ngx_cpymem(p, input.data, input.len);
    ngx_memcpy(p, fmt, sizeof(fmt) - 1);

    ectx->ttft = -1;
    ectx->embedding = 1;
    ectx->primary = ctx;

    ps->handler = ngx_http_llm_cache_embed_finished;
    ps->data = cctx;

    if (ngx_http_llm_subrequest(r, &clcf->embedder_uri, NULL, &body, ectx,
                                ps, &sr)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    /*
     * The subrequest shares the client's headers: its Accept-Encoding is
     * set aside now (and given back to the answer) so that the service's
     * answer comes uncompressed.
     */

    if (ngx_http_llm_identity_encoding(r, ctx) != NGX_OK) {
        return NGX_ERROR;
    }

    cctx->embed_sr = sr;
    cctx->embed_ctx = ectx;
    cctx->embed_started = ngx_current_msec;
    cctx->embed_wait = 1;

    cctx->embed_timer.handler = ngx_http_llm_cache_embed_timeout;
    cctx->embed_timer.data = cctx;
    cctx->embed_timer.log = r->connection->log;
    ngx_add_timer(&cctx->embed_timer, clcf->embedder_timeout);

    cln->handler = ngx_http_llm_cache_embed_cleanup;
    cln->data = cctx;

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "llm cache: embedder \"%V\" asked, %uz bytes",
                   &clcf->embedder_uri, body.len);

    return NGX_AGAIN;
}


/* the embedder's subrequest ends: its vector read, the request goes on */

static ngx_int_t
ngx_http_llm_cache_embed_finished(ngx_http_request_t *sr, void *data,
    ngx_int_t rc)
{
    ngx_http_llm_cache_ctx_t *cctx = data;

    ngx_str_t                       err;
    ngx_http_request_t             *r;
    ngx_http_llm_cache_zone_t      *zone;
    ngx_http_llm_cache_loc_conf_t  *clcf;

    if (!cctx->embed_wait || cctx->embed_gone) {
        /* timed out before, or the request is torn down */
        return rc;
    }

    r = cctx->request;
    zone = cctx->zone;
    clcf = ngx_http_get_module_loc_conf(r, ngx_http_llm_cache_module);

    if (cctx->embed_ctx->shadow_status == 0) {
        cctx->embed_ctx->shadow_status = sr->headers_out.status
                                         ? sr->headers_out.status
                                         : (rc > 0) ? (ngx_uint_t) rc : 0;
    }

    if (ngx_http_llm_cache_embed_read(sr, cctx, cctx->embed_ctx, &err)
        == NGX_OK)
    {
        ngx_shmtx_lock(&zone->shpool->mutex);
        zone->sh->embed_ok++;
        ngx_shmtx_unlock(&zone->shpool->mutex);

        cctx->semantic = 1;

        ngx_log_debug3(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                       "llm cache: embedder \"%V\": %ui dimensions in %Mms",
                       &clcf->embedder_uri, (ngx_uint_t) cctx->vec->dim,
                       ngx_current_msec - cctx->embed_started);

    } else {
        ngx_shmtx_lock(&zone->shpool->mutex);
        zone->sh->embed_errors++;
        ngx_shmtx_unlock(&zone->shpool->mutex);

        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "llm cache \"%V\": embedder \"%V\" failed: %V; "
                      "looked up as a miss", &zone->name,
                      &clcf->embedder_uri, &err);
    }

    /* its answer is not needed any more (the vector is a copy) */

    if (cctx->embed_ctx->capture) {
        ngx_pfree(r->pool, cctx->embed_ctx->capture->start);
        cctx->embed_ctx->capture = NULL;
    }

    ngx_http_llm_cache_embed_done(cctx);

    return rc;
}


/*
 * The embedder did not answer in time: the request goes on as a miss, and
 * the subrequest's upstream times out the way nginx's own read timeout
 * would do it, so that the client's connection is not held by it.
 */

static void
ngx_http_llm_cache_embed_timeout(ngx_event_t *ev)
{
    ngx_http_llm_cache_ctx_t *cctx = ev->data;

    ngx_connection_t               *c, *pc;
    ngx_http_request_t             *r;
    ngx_http_upstream_t            *u;
    ngx_http_llm_cache_zone_t      *zone;
    ngx_http_llm_cache_loc_conf_t  *clcf;

    if (!cctx->embed_wait || cctx->embed_gone) {
        return;
    }

    r = cctx->request;
    c = r->connection;
    zone = cctx->zone;
    clcf = ngx_http_get_module_loc_conf(r, ngx_http_llm_cache_module);

    ngx_shmtx_lock(&zone->shpool->mutex);
    zone->sh->embed_timeouts++;
    ngx_shmtx_unlock(&zone->shpool->mutex);

    ngx_log_error(NGX_LOG_WARN, c->log, 0,
                  "llm cache \"%V\": embedder \"%V\" did not answer in %Mms; "
                  "looked up as a miss", &zone->name, &clcf->embedder_uri,
                  clcf->embedder_timeout);

    u = cctx->embed_sr->upstream;

    ngx_http_llm_cache_embed_done(cctx);

    /* nothing of the request is touched after this: it may have ended */

    if (u && u->peer.connection) {
        pc = u->peer.connection;
        pc->read->timedout = 1;
        pc->read->handler(pc->read);
        return;
    }

    ngx_http_run_posted_requests(c);
}


/* the request ends (or is torn down) with the embedder asked: forgotten */

static void
ngx_http_llm_cache_embed_cleanup(void *data)
{
    ngx_http_llm_cache_ctx_t *cctx = data;

    if (cctx->embed_timer.timer_set) {
        ngx_del_timer(&cctx->embed_timer);
    }

    cctx->embed_gone = 1;
}


/* the rest of the lookup, with or without a vector, then the pipeline */

static void
ngx_http_llm_cache_embed_done(ngx_http_llm_cache_ctx_t *cctx)
{
    ngx_int_t            rc;
    ngx_http_request_t  *r;

    r = cctx->request;

    cctx->embed_wait = 0;

    if (cctx->embed_timer.timer_set) {
        ngx_del_timer(&cctx->embed_timer);
    }

    rc = ngx_http_llm_cache_semantic_end(r, cctx->ctx, cctx);

    if (rc == NGX_ERROR) {
        rc = NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_http_llm_resume(r, cctx->ctx, rc);
}


/*
 * The embedder's answer: {"data": [{"embedding": [numbers]}], ...}; its
 * vector normalized to the largest component and rounded to signed bytes.
 */

static ngx_int_t
ngx_http_llm_cache_embed_read(ngx_http_request_t *sr,
    ngx_http_llm_cache_ctx_t *cctx, ngx_http_llm_ctx_t *ectx, ngx_str_t *err)
{
    long                       q;
    double                     x, max, scale;
    uint32_t                   t, e, i, dim;
    ngx_buf_t                 *body;
    ngx_http_llm_json_t        json;
    ngx_http_llm_cache_vec_t  *vec;

    static u_char  buf[64];

    if (ectx->shadow_status != NGX_HTTP_OK) {
        err->data = buf;
        err->len = ngx_sprintf(buf, "status %ui", ectx->shadow_status) - buf;
        return NGX_ERROR;
    }

    body = ectx->capture;

    if (body == NULL || body->last == body->pos) {
        ngx_str_set(err, "empty answer");
        return NGX_ERROR;
    }

    if (ectx->mode != NGX_HTTP_LLM_MODE_JSON) {
        ngx_str_set(err, "answer too large");
        return NGX_ERROR;
    }

    if (sr->headers_out.content_encoding
        && sr->headers_out.content_encoding->value.len
        && !(sr->headers_out.content_encoding->value.len == 8
             && ngx_strncasecmp(sr->headers_out.content_encoding->value.data,
                                (u_char *) "identity", 8) == 0))
    {
        ngx_str_set(err, "compressed answer (proxy_set_header "
                    "Accept-Encoding \"\" in its location)");
        return NGX_ERROR;
    }

    /* counted first, then parsed into tokens of the right number */

    ngx_memzero(&json, sizeof(ngx_http_llm_json_t));
    json.data = body->pos;
    json.len = body->last - body->pos;
    json.max_depth = 8;

    if (ngx_http_llm_json_parse(&json) != NGX_HTTP_LLM_JSON_OK
        || json.ntokens > 4 * NGX_HTTP_LLM_CACHE_MAX_DIM + 64)
    {
        ngx_str_set(err, "invalid answer (not an embeddings list)");
        return NGX_ERROR;
    }

    json.max_tokens = json.ntokens;
    json.tokens = ngx_palloc(sr->pool,
                             json.ntokens * sizeof(ngx_http_llm_json_token_t));
    if (json.tokens == NULL) {
        ngx_str_set(err, "out of memory");
        return NGX_ERROR;
    }

    if (ngx_http_llm_json_parse(&json) != NGX_HTTP_LLM_JSON_OK) {
        ngx_str_set(err, "invalid answer (not an embeddings list)");
        return NGX_ERROR;
    }

    t = ngx_http_llm_cache_get(&json, 0, "data");

    if (!ngx_http_llm_cache_is(&json, t, NGX_HTTP_LLM_JSON_ARRAY)) {
        ngx_str_set(err, "invalid answer (no \"data\" list)");
        return NGX_ERROR;
    }

    t = ngx_http_llm_json_first(&json, t);

    if (!ngx_http_llm_cache_is(&json, t, NGX_HTTP_LLM_JSON_OBJECT)) {
        ngx_str_set(err, "invalid answer (no embedding in \"data\")");
        return NGX_ERROR;
    }

    t = ngx_http_llm_cache_get(&json, t, "embedding");

    if (!ngx_http_llm_cache_is(&json, t, NGX_HTTP_LLM_JSON_ARRAY)) {
        ngx_str_set(err, "invalid answer (\"embedding\" is not a list of "
                    "numbers; base64 is not read)");
        return NGX_ERROR;
    }

    dim = json.tokens[t].size;

    if (dim == 0 || dim > NGX_HTTP_LLM_CACHE_MAX_DIM) {
        err->data = buf;
        err->len = ngx_sprintf(buf, "%uD dimensions (1 to %d are read)",
                               dim, NGX_HTTP_LLM_CACHE_MAX_DIM) - buf;
        return NGX_ERROR;
    }

    max = 0;

    for (e = ngx_http_llm_json_first(&json, t);
         e != NGX_HTTP_LLM_NONE;
         e = json.tokens[e].next)
    {
        if (json.tokens[e].type != NGX_HTTP_LLM_JSON_NUMBER
            || ngx_http_llm_json_get_double(&json, e, &x)
               != NGX_HTTP_LLM_JSON_OK)
        {
            ngx_str_set(err, "invalid answer (\"embedding\" is not a list "
                        "of numbers)");
            return NGX_ERROR;
        }

        if (x < 0) {
            x = -x;
        }

        if (x > max) {
            max = x;
        }
    }

    if (!(max > 0) || max > 1e30) {
        ngx_str_set(err, "invalid answer (a zero or unbounded vector)");
        return NGX_ERROR;
    }

    vec = ngx_palloc(sr->pool, offsetof(ngx_http_llm_cache_vec_t, v) + dim);
    if (vec == NULL) {
        ngx_str_set(err, "out of memory");
        return NGX_ERROR;
    }

    vec->flip = cctx->flip;
    vec->dim = (uint16_t) dim;
    vec->norm2 = 0;

    scale = 127 / max;
    i = 0;

    for (e = ngx_http_llm_json_first(&json, t);
         e != NGX_HTTP_LLM_NONE;
         e = json.tokens[e].next)
    {
        (void) ngx_http_llm_json_get_double(&json, e, &x);

        q = (long) (x * scale + (x < 0 ? -0.5 : 0.5));
        vec->v[i++] = (int8_t) q;
        vec->norm2 += (uint32_t) (q * q);
    }

    ngx_pfree(sr->pool, json.tokens);

    cctx->vec = vec;

    return NGX_OK;
}


/* the semantic bucket of a digest, or NULL; the zone is locked */

static ngx_http_llm_cache_bucket_t *
ngx_http_llm_cache_find_bucket(ngx_http_llm_cache_zone_t *zone,
    u_char *digest)
{
    return (ngx_http_llm_cache_bucket_t *)
               ngx_http_llm_cache_find_digest(&zone->sh->sem_rbtree, digest);
}


/* the semantic part of an entry, after its text, or NULL */

static ngx_http_llm_cache_sem_t *
ngx_http_llm_cache_sem(ngx_http_llm_cache_node_t *cn)
{
    u_char  *p;

    if (!(cn->node.data & NGX_HTTP_LLM_CACHE_SEM)) {
        return NULL;
    }

    p = cn->data + cn->model_len + cn->finish_len + cn->stop_len
        + cn->text_len;

    return (ngx_http_llm_cache_sem_t *) ngx_align_ptr(p, NGX_ALIGNMENT);
}


/* the bytes of an entry */

static size_t
ngx_http_llm_cache_node_size(ngx_http_llm_cache_node_t *cn)
{
    ngx_http_llm_cache_sem_t  *sem;

    sem = ngx_http_llm_cache_sem(cn);

    if (sem && (cn->node.data & NGX_HTTP_LLM_CACHE_VEC)) {
        return (u_char *) &sem->embed
               + ngx_http_llm_cache_vec_size(
                                   (ngx_http_llm_cache_vec_t *) &sem->embed)
               - (u_char *) cn;
    }

    if (sem) {
        return (u_char *) &sem->embed + ngx_http_llm_embed_size(&sem->embed)
               - (u_char *) cn;
    }

    return offsetof(ngx_http_llm_cache_node_t, data)
           + cn->model_len + cn->finish_len + cn->stop_len + cn->text_len;
}


/* a miss or a bypass: the answer is read as it passes, stored at the end */

static ngx_int_t
ngx_http_llm_cache_arm(ngx_http_request_t *r, ngx_http_llm_ctx_t *ctx,
    ngx_http_llm_cache_ctx_t *cctx)
{
    ngx_http_cleanup_t  *cln;

    cln = ngx_http_cleanup_add(r, 0);
    if (cln == NULL) {
        return NGX_ERROR;
    }

    cln->handler = ngx_http_llm_cache_cleanup;
    cln->data = ctx;

    cctx->attempt = ctx->attempts;

    ctx->cache_collect = 1;

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "llm cache: miss, model \"%V\", the answer of attempt %ui "
                   "will be read for storing", &ctx->model, ctx->attempts);

    return NGX_OK;
}


/*
 * Called by the usage reader for every event of a streamed answer, parsed:
 * the text is assembled; anything that an entry cannot reproduce (an error,
 * a tool call, a refusal, another choice) marks the answer as not kept.
 */

void
ngx_http_llm_cache_event(ngx_http_request_t *r, ngx_http_llm_ctx_t *ctx,
    ngx_http_llm_json_t *json)
{
    size_t                     len;
    u_char                    *type;
    int64_t                    index;
    uint32_t                   t, c, d, v;
    ngx_http_llm_cache_ctx_t  *cctx;

    cctx = ctx->cache;

    if (cctx == NULL) {
        return;
    }

    if (cctx->attempt != ctx->attempts) {
        /* a fallback attempt: its answer replaces the failed one's */

        cctx->attempt = ctx->attempts;
        cctx->text.len = 0;
        ngx_str_null(&cctx->model);
        ngx_str_null(&cctx->finish);
        ngx_str_null(&cctx->stop);
        cctx->failed = 0;
        cctx->too_large = 0;
        cctx->message = 0;
    }

    if (cctx->failed) {
        return;
    }

    t = ngx_http_llm_cache_get(json, 0, "error");

    if (t != NGX_HTTP_LLM_NONE
        && json->tokens[t].type != NGX_HTTP_LLM_JSON_NULL)
    {
        /* "error": null is no error (a Responses API object has one) */
        goto failed;
    }

    if (ctx->endpoint == NGX_HTTP_LLM_EP_RESPONSES) {
        ngx_http_llm_cache_responses_event(r, ctx, cctx, json);
        return;
    }

    if (ctx->api == NGX_HTTP_LLM_API_ANTHROPIC) {
        t = ngx_http_llm_cache_get(json, 0, "type");

        if (!ngx_http_llm_cache_is(json, t, NGX_HTTP_LLM_JSON_STRING)) {
            return;
        }

        ngx_http_llm_json_raw_string(json, t, (const u_char **) &type, &len);

        if (len == 13 && ngx_strncmp(type, "message_start", 13) == 0) {
            v = ngx_http_llm_cache_get(json, 0, "message");
            v = ngx_http_llm_cache_get(json, v, "model");

            if (ngx_http_llm_cache_copy(r, json, v,
                                        NGX_HTTP_LLM_CACHE_MAX_MODEL,
                                        &cctx->model)
                != NGX_OK)
            {
                goto failed;
            }

            return;
        }

        if (len == 19 && ngx_strncmp(type, "content_block_start", 19) == 0) {
            v = ngx_http_llm_cache_get(json, 0, "content_block");
            v = ngx_http_llm_cache_get(json, v, "type");

            if (!ngx_http_llm_cache_is(json, v, NGX_HTTP_LLM_JSON_STRING)) {
                goto failed;
            }

            ngx_http_llm_json_raw_string(json, v, (const u_char **) &type,
                                         &len);

            /* text is kept, thinking is left out, anything else is not */

            if ((len == 4 && ngx_strncmp(type, "text", 4) == 0)
                || (len == 8 && ngx_strncmp(type, "thinking", 8) == 0)
                || (len == 17
                    && ngx_strncmp(type, "redacted_thinking", 17) == 0))
            {
                return;
            }

            goto failed;
        }

        if (len == 19 && ngx_strncmp(type, "content_block_delta", 19) == 0) {
            d = ngx_http_llm_cache_get(json, 0, "delta");
            v = ngx_http_llm_cache_get(json, d, "type");

            if (!ngx_http_llm_cache_is(json, v, NGX_HTTP_LLM_JSON_STRING)) {
                goto failed;
            }

            ngx_http_llm_json_raw_string(json, v, (const u_char **) &type,
                                         &len);

            if (len == 10 && ngx_strncmp(type, "text_delta", 10) == 0) {
                v = ngx_http_llm_cache_get(json, d, "text");

                if (ngx_http_llm_cache_is(json, v, NGX_HTTP_LLM_JSON_STRING)
                    && ngx_http_llm_cache_append(r, cctx, json, v) != NGX_OK)
                {
                    goto failed;
                }

                return;
            }

            if ((len == 14 && ngx_strncmp(type, "thinking_delta", 14) == 0)
                || (len == 15
                    && ngx_strncmp(type, "signature_delta", 15) == 0))
            {
                return;
            }

            goto failed;
        }

        if (len == 13 && ngx_strncmp(type, "message_delta", 13) == 0) {
            d = ngx_http_llm_cache_get(json, 0, "delta");

            if (ngx_http_llm_cache_copy(r, json,
                                        ngx_http_llm_cache_get(json, d,
                                                           "stop_reason"),
                                        32, &cctx->finish)
                != NGX_OK
                || ngx_http_llm_cache_copy(r, json,
                                           ngx_http_llm_cache_get(json, d,
                                                          "stop_sequence"),
                                           NGX_HTTP_LLM_CACHE_MAX_STOP,
                                           &cctx->stop)
                   != NGX_OK)
            {
                goto failed;
            }
        }

        return;
    }

    /* OpenAI chunks */

    if (cctx->model.len == 0
        && ngx_http_llm_cache_copy(r, json,
                                   ngx_http_llm_cache_get(json, 0, "model"),
                                   NGX_HTTP_LLM_CACHE_MAX_MODEL, &cctx->model)
           != NGX_OK)
    {
        goto failed;
    }

    t = ngx_http_llm_cache_get(json, 0, "choices");

    if (!ngx_http_llm_cache_is(json, t, NGX_HTTP_LLM_JSON_ARRAY)) {
        return;
    }

    for (c = ngx_http_llm_json_first(json, t);
         c != NGX_HTTP_LLM_NONE;
         c = json->tokens[c].next)
    {
        v = ngx_http_llm_cache_get(json, c, "index");

        if (ngx_http_llm_cache_is(json, v, NGX_HTTP_LLM_JSON_NUMBER)
            && (ngx_http_llm_json_get_int(json, v, &index)
                != NGX_HTTP_LLM_JSON_OK
                || index != 0))
        {
            goto failed;
        }

        d = ngx_http_llm_cache_get(json, c, "delta");

        if (ngx_http_llm_cache_is(json, d, NGX_HTTP_LLM_JSON_OBJECT)) {

            v = ngx_http_llm_cache_get(json, d, "tool_calls");

            if (ngx_http_llm_cache_is(json, v, NGX_HTTP_LLM_JSON_ARRAY)
                && json->tokens[v].size)
            {
                goto failed;
            }

            v = ngx_http_llm_cache_get(json, d, "function_call");

            if (v != NGX_HTTP_LLM_NONE
                && json->tokens[v].type != NGX_HTTP_LLM_JSON_NULL)
            {
                goto failed;
            }

            v = ngx_http_llm_cache_get(json, d, "refusal");

            if (ngx_http_llm_cache_is(json, v, NGX_HTTP_LLM_JSON_STRING)) {
                goto failed;
            }

            v = ngx_http_llm_cache_get(json, d, "content");

            if (ngx_http_llm_cache_is(json, v, NGX_HTTP_LLM_JSON_STRING)
                && ngx_http_llm_cache_append(r, cctx, json, v) != NGX_OK)
            {
                goto failed;
            }
        }

        v = ngx_http_llm_cache_get(json, c, "finish_reason");

        if (ngx_http_llm_cache_is(json, v, NGX_HTTP_LLM_JSON_STRING)
            && ngx_http_llm_cache_copy(r, json, v, 32, &cctx->finish)
               != NGX_OK)
        {
            goto failed;
        }
    }

    return;

failed:

    ngx_log_debug0(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "llm cache: the answer will not be stored");

    cctx->failed = 1;
}


/* append a text token's decoded value to the answer, within max_entry */

static ngx_int_t
ngx_http_llm_cache_append(ngx_http_request_t *r,
    ngx_http_llm_cache_ctx_t *cctx, ngx_http_llm_json_t *json, uint32_t tok)
{
    u_char        *p;
    size_t         len, size;
    const u_char  *raw;

    ngx_http_llm_json_raw_string(json, tok, &raw, &len);

    if (len == 0) {
        return NGX_OK;
    }

    if (cctx->text.len + len > cctx->text_size) {

        /* decoded text is never longer than its raw JSON form */

        size = ngx_max(cctx->text_size * 2, 4096);
        size = ngx_max(size, cctx->text.len + len);

        p = ngx_pnalloc(r->pool, size);
        if (p == NULL) {
            return NGX_ERROR;
        }

        if (cctx->text.len) {
            ngx_memcpy(p, cctx->text.data, cctx->text.len);
            ngx_pfree(r->pool, cctx->text.data);
        }

        cctx->text.data = p;
        cctx->text_size = size;
    }

    p = cctx->text.data + cctx->text.len;

    if (json->tokens[tok].escaped) {
        cctx->text.len += ngx_http_llm_json_decode_string(raw, len, p);

    } else {
        ngx_memcpy(p, raw, len);
        cctx->text.len += len;
    }

    if (cctx->text.len > cctx->zone->max_entry) {
        cctx->too_large = 1;
        return NGX_ERROR;
    }

    return NGX_OK;
}


/* a short string of the answer (model, finish reason), copied */

static ngx_int_t
ngx_http_llm_cache_copy(ngx_http_request_t *r, ngx_http_llm_json_t *json,
    uint32_t tok, size_t max, ngx_str_t *out)
{
    ngx_str_t  s;

    if (!ngx_http_llm_cache_is(json, tok, NGX_HTTP_LLM_JSON_STRING)) {
        return NGX_OK;
    }

    if (ngx_http_llm_cache_decode(r->pool, json, tok, &s) != NGX_OK) {
        return NGX_ERROR;
    }

    if (s.len > max) {
        /* not something an entry keeps */
        return NGX_ERROR;
    }

    out->data = ngx_pnalloc(r->pool, s.len ? s.len : 1);
    if (out->data == NULL) {
        return NGX_ERROR;
    }

    out->len = s.len;
    ngx_memcpy(out->data, s.data, s.len);

    return NGX_OK;
}


/* the end of the request: store a complete, successful answer */

static void
ngx_http_llm_cache_cleanup(void *data)
{
    ngx_http_llm_ctx_t *ctx = data;

    ngx_http_request_t        *r;
    ngx_http_llm_cache_ctx_t  *cctx;

    r = ctx->request;
    cctx = ctx->cache;

    ctx->cache_collect = 0;

    if (cctx == NULL || !cctx->store) {
        return;
    }

    cctx->store = 0;

    if (r->headers_out.status != NGX_HTTP_OK || !ctx->answered
        || !ctx->complete || ctx->cut || ctx->cut_stream || ctx->client_abort
        || cctx->failed || ctx->no_store)
    {
        ngx_log_debug6(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                       "llm cache: not stored: status %ui answered:%ui "
                       "complete:%ui cut:%ui abort:%ui failed:%ui",
                       r->headers_out.status, (ngx_uint_t) ctx->answered,
                       (ngx_uint_t) ctx->complete,
                       (ngx_uint_t) (ctx->cut || ctx->cut_stream),
                       (ngx_uint_t) ctx->client_abort,
                       (ngx_uint_t) cctx->failed);

        if (cctx->too_large) {
            ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                          "llm cache \"%V\": the answer of model \"%V\" is "
                          "larger than max_entry=%uz, not stored",
                          &cctx->zone->name, &ctx->model,
                          cctx->zone->max_entry);
        }

        return;
    }

    if (ctx->st == NULL) {
        /* a JSON answer: read from the filter's capture */

        if (ngx_http_llm_cache_read_json(r, ctx, cctx) != NGX_OK) {
            if (cctx->too_large) {
                ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                              "llm cache \"%V\": the answer of model \"%V\" "
                              "is larger than max_entry=%uz, not stored",
                              &cctx->zone->name, &ctx->model,
                              cctx->zone->max_entry);
            }

            return;
        }
    }

    ngx_http_llm_cache_store(r, ctx, cctx);
}


/*
 * The answer's last byte is about to be sent: store it now, so that the
 * client's next request finds it (the request's cleanup may run only after
 * the client saw the end, e.g. with a lingering close).
 */

void
ngx_http_llm_cache_end(ngx_http_llm_ctx_t *ctx)
{
    if (ctx->cache) {
        ngx_http_llm_cache_cleanup(ctx);
    }
}


static ngx_int_t
ngx_http_llm_cache_read_json(ngx_http_request_t *r, ngx_http_llm_ctx_t *ctx,
    ngx_http_llm_cache_ctx_t *cctx)
{
    size_t               len;
    u_char              *type;
    uint32_t             t, c, m, v;
    ngx_str_t            body;
    ngx_http_llm_json_t  json;

    if (ctx->capture == NULL) {
        return NGX_DECLINED;
    }

    body.data = ctx->capture->pos;
    body.len = ctx->capture->last - ctx->capture->pos;

    if (ngx_http_llm_parse_json(r, ctx, &body, &json) != NGX_OK) {
        return NGX_DECLINED;
    }

    t = ngx_http_llm_cache_get(&json, 0, "error");

    if (t != NGX_HTTP_LLM_NONE
        && json.tokens[t].type != NGX_HTTP_LLM_JSON_NULL)
    {
        /* "error": null is no error (a Responses API object has one) */
        return NGX_DECLINED;
    }

    if (ngx_http_llm_cache_copy(r, &json,
                                ngx_http_llm_cache_get(&json, 0, "model"),
                                NGX_HTTP_LLM_CACHE_MAX_MODEL, &cctx->model)
        != NGX_OK)
    {
        return NGX_DECLINED;
    }

    if (ctx->endpoint == NGX_HTTP_LLM_EP_RESPONSES) {
        return ngx_http_llm_cache_responses_json(r, cctx, &json);
    }

    if (ctx->api == NGX_HTTP_LLM_API_GEMINI) {
        return ngx_http_llm_cache_gemini_json(r, cctx, &json);
    }

    if (ctx->api == NGX_HTTP_LLM_API_ANTHROPIC) {
        t = ngx_http_llm_cache_get(&json, 0, "content");

        if (!ngx_http_llm_cache_is(&json, t, NGX_HTTP_LLM_JSON_ARRAY)) {
            return NGX_DECLINED;
        }

        for (c = ngx_http_llm_json_first(&json, t);
             c != NGX_HTTP_LLM_NONE;
             c = json.tokens[c].next)
        {
            v = ngx_http_llm_cache_get(&json, c, "type");

            if (!ngx_http_llm_cache_is(&json, v, NGX_HTTP_LLM_JSON_STRING)) {
                return NGX_DECLINED;
            }

            ngx_http_llm_json_raw_string(&json, v, (const u_char **) &type,
                                         &len);

            if (len == 4 && ngx_strncmp(type, "text", 4) == 0) {
                /* cited text: its citations cannot be replayed */

                v = ngx_http_llm_cache_get(&json, c, "citations");

                if (v != NGX_HTTP_LLM_NONE
                    && json.tokens[v].type != NGX_HTTP_LLM_JSON_NULL)
                {
                    return NGX_DECLINED;
                }

                v = ngx_http_llm_cache_get(&json, c, "text");

                if (ngx_http_llm_cache_is(&json, v, NGX_HTTP_LLM_JSON_STRING)
                    && ngx_http_llm_cache_append(r, cctx, &json, v) != NGX_OK)
                {
                    return NGX_DECLINED;
                }

                continue;
            }

            if ((len == 8 && ngx_strncmp(type, "thinking", 8) == 0)
                || (len == 17
                    && ngx_strncmp(type, "redacted_thinking", 17) == 0))
            {
                continue;
            }

            return NGX_DECLINED;
        }

        if (ngx_http_llm_cache_copy(r, &json,
                                    ngx_http_llm_cache_get(&json, 0,
                                                           "stop_reason"),
                                    32, &cctx->finish)
            != NGX_OK
            || ngx_http_llm_cache_copy(r, &json,
                                       ngx_http_llm_cache_get(&json, 0,
                                                          "stop_sequence"),
                                       NGX_HTTP_LLM_CACHE_MAX_STOP,
                                       &cctx->stop)
               != NGX_OK)
        {
            return NGX_DECLINED;
        }

        return NGX_OK;
    }

    t = ngx_http_llm_cache_get(&json, 0, "choices");

    if (!ngx_http_llm_cache_is(&json, t, NGX_HTTP_LLM_JSON_ARRAY)
        || json.tokens[t].size != 1)
    {
        return NGX_DECLINED;
    }

    c = ngx_http_llm_json_first(&json, t);
    m = ngx_http_llm_cache_get(&json, c, "message");

    if (!ngx_http_llm_cache_is(&json, m, NGX_HTTP_LLM_JSON_OBJECT)) {
        return NGX_DECLINED;
    }

    v = ngx_http_llm_cache_get(&json, m, "tool_calls");

    if (ngx_http_llm_cache_is(&json, v, NGX_HTTP_LLM_JSON_ARRAY)
        && json.tokens[v].size)
    {
        return NGX_DECLINED;
    }

    v = ngx_http_llm_cache_get(&json, m, "function_call");

    if (v != NGX_HTTP_LLM_NONE
        && !ngx_http_llm_cache_is(&json, v, NGX_HTTP_LLM_JSON_NULL))
    {
        return NGX_DECLINED;
    }

    v = ngx_http_llm_cache_get(&json, m, "refusal");

    if (ngx_http_llm_cache_is(&json, v, NGX_HTTP_LLM_JSON_STRING)) {
        return NGX_DECLINED;
    }

    v = ngx_http_llm_cache_get(&json, m, "content");

    if (!ngx_http_llm_cache_is(&json, v, NGX_HTTP_LLM_JSON_STRING)
        || ngx_http_llm_cache_append(r, cctx, &json, v) != NGX_OK)
    {
        return NGX_DECLINED;
    }

    if (ngx_http_llm_cache_copy(r, &json,
                                ngx_http_llm_cache_get(&json, c,
                                                       "finish_reason"),
                                32, &cctx->finish)
        != NGX_OK)
    {
        return NGX_DECLINED;
    }

    return NGX_OK;
}


/* an allocation in a locked zone; a full zone evicts its LRU entries */

static void *
ngx_http_llm_cache_alloc(ngx_http_llm_cache_zone_t *zone, size_t size,
    ngx_uint_t *evicted)
{
    void                       *p;
    ngx_queue_t                *q;
    ngx_http_llm_cache_node_t  *old;

    for ( ;; ) {
        p = ngx_slab_alloc_locked(zone->shpool, size);
        if (p) {
            return p;
        }

        if (ngx_queue_empty(&zone->sh->queue)) {
            return NULL;
        }

        q = ngx_queue_last(&zone->sh->queue);
        old = ngx_queue_data(q, ngx_http_llm_cache_node_t, queue);

        ngx_http_llm_cache_delete(zone, old);
        zone->sh->evicted++;
        (*evicted)++;
    }
}


static void
ngx_http_llm_cache_store(ngx_http_request_t *r, ngx_http_llm_ctx_t *ctx,
    ngx_http_llm_cache_ctx_t *cctx)
{
    u_char                     *p;
    size_t                      size;
    time_t                      now;
    ngx_str_t                  *f, model;
    ngx_uint_t                  evicted, expired;
    ngx_queue_t                  *q;
    ngx_http_llm_cache_sem_t     *sem;
    ngx_http_llm_cache_node_t    *cn, *old;
    ngx_http_llm_cache_zone_t    *zone;
    ngx_http_llm_cache_bucket_t  *b;

    static ngx_str_t  openai_ok[] = {
        ngx_string("stop"), ngx_string("length"), ngx_null_string
    };

    static ngx_str_t  anthropic_ok[] = {
        ngx_string("end_turn"), ngx_string("max_tokens"),
        ngx_string("stop_sequence"), ngx_null_string
    };

    static ngx_str_t  gemini_ok[] = {
        ngx_string("STOP"), ngx_string("MAX_TOKENS"), ngx_null_string
    };

    zone = cctx->zone;

    if (cctx->text.len == 0) {
        return;
    }

    /* only answers that ended on their own or at their length limit */

    if (cctx->finish.len == 0) {
        if (ctx->api == NGX_HTTP_LLM_API_ANTHROPIC) {
            ngx_str_set(&cctx->finish, "end_turn");

        } else if (ctx->api == NGX_HTTP_LLM_API_GEMINI) {
            ngx_str_set(&cctx->finish, "STOP");

        } else {
            ngx_str_set(&cctx->finish, "stop");
        }
    }

    for (f = (ctx->api == NGX_HTTP_LLM_API_ANTHROPIC) ? anthropic_ok
             : (ctx->api == NGX_HTTP_LLM_API_GEMINI) ? gemini_ok : openai_ok;
         f->len;
         f++)
    {
        if (f->len == cctx->finish.len
            && ngx_strncmp(f->data, cctx->finish.data, f->len) == 0)
        {
            break;
        }
    }

    if (f->len == 0) {
        ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                       "llm cache: not stored: finish reason \"%V\"",
                       &cctx->finish);
        return;
    }

    if (ctx->model.len != cctx->key_model.len
        || ngx_strncmp(ctx->model.data, cctx->key_model.data,
                       ctx->model.len) != 0)
    {
        /* a fallback model answered: the entry is keyed by that model */

        model = ctx->model;

        if (ngx_http_llm_cache_key(r, ctx, cctx, &model) != NGX_OK) {
            return;
        }

        cctx->semantic = 0;
    }

    if (cctx->model.len == 0) {
        cctx->model.data = ctx->model.data;
        cctx->model.len = ngx_min(ctx->model.len,
                                  NGX_HTTP_LLM_CACHE_MAX_MODEL);
    }

    if (cctx->stop.len > NGX_HTTP_LLM_CACHE_MAX_STOP) {
        cctx->stop.len = 0;
    }

    size = offsetof(ngx_http_llm_cache_node_t, data)
           + cctx->model.len + cctx->finish.len + cctx->stop.len
           + cctx->text.len;

    if (cctx->semantic) {
        size = ngx_align(size, NGX_ALIGNMENT)
               + offsetof(ngx_http_llm_cache_sem_t, embed)
               + (cctx->vec ? ngx_http_llm_cache_vec_size(cctx->vec)
                            : ngx_http_llm_embed_size(cctx->embed));
    }

    now = ngx_time();
    evicted = 0;
    expired = 0;

    if (zone->redis) {
        /* for the other nginx of the fleet: the exact entry */
        ngx_http_llm_cache_redis_store(r, ctx, cctx, now);
    }

    ngx_shmtx_lock(&zone->shpool->mutex);

    /* the same key stored meanwhile by another request: replaced */

    old = ngx_http_llm_cache_find(zone, cctx->digest);

    if (old) {
        ngx_http_llm_cache_delete(zone, old);
    }

    /* up to two stale entries at the tail go first */

    while (expired < 2 && !ngx_queue_empty(&zone->sh->queue)) {
        q = ngx_queue_last(&zone->sh->queue);
        old = ngx_queue_data(q, ngx_http_llm_cache_node_t, queue);

        if (!ngx_http_llm_cache_expired(zone, old, now)) {
            break;
        }

        ngx_http_llm_cache_delete(zone, old);
        zone->sh->expired++;
        expired++;
    }

    cn = ngx_http_llm_cache_alloc(zone, size, &evicted);

    if (cn == NULL) {
        ngx_shmtx_unlock(&zone->shpool->mutex);

        ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                      "llm cache \"%V\": no room for an entry of %uz bytes, "
                      "not stored", &zone->name, size);
        return;
    }

    ngx_memcpy(&cn->node.key, cctx->digest, sizeof(ngx_rbtree_key_t));
    ngx_memcpy(cn->digest, cctx->digest, NGX_HTTP_LLM_CACHE_DIGEST);

    cn->created = now;
    cn->prompt_tokens = (uint32_t) ngx_min(ctx->prompt_tokens, 0xffffffff);
    cn->completion_tokens = (uint32_t) ngx_min(ctx->completion_tokens,
                                               0xffffffff);
    cn->text_len = (uint32_t) cctx->text.len;
    cn->model_len = (u_char) cctx->model.len;
    cn->finish_len = (u_char) cctx->finish.len;
    cn->stop_len = (u_short) cctx->stop.len;

    cn->node.data = 0;

    p = cn->data;
    p = ngx_cpymem(p, cctx->model.data, cctx->model.len);
    p = ngx_cpymem(p, cctx->finish.data, cctx->finish.len);
    p = ngx_cpymem(p, cctx->stop.data, cctx->stop.len);
    ngx_memcpy(p, cctx->text.data, cctx->text.len);

    if (cctx->semantic) {
        /* into the bucket of its context and words, made if needed */

        b = ngx_http_llm_cache_find_bucket(zone, cctx->sem_digest);

        if (b == NULL) {
            b = ngx_http_llm_cache_alloc(zone,
                                         sizeof(ngx_http_llm_cache_bucket_t),
                                         &evicted);
            if (b) {
                ngx_memcpy(&b->node.key, cctx->sem_digest,
                           sizeof(ngx_rbtree_key_t));
                ngx_memcpy(b->digest, cctx->sem_digest,
                           NGX_HTTP_LLM_CACHE_DIGEST);
                ngx_queue_init(&b->entries);

                ngx_rbtree_insert(&zone->sh->sem_rbtree, &b->node);
                zone->sh->buckets++;
            }
        }

        if (b) {
            cn->node.data = NGX_HTTP_LLM_CACHE_SEM;

            sem = ngx_http_llm_cache_sem(cn);

            sem->bucket = b;
            sem->node = cn;

            if (cctx->vec) {
                cn->node.data |= NGX_HTTP_LLM_CACHE_VEC;
                ngx_memcpy(&sem->embed, cctx->vec,
                           ngx_http_llm_cache_vec_size(cctx->vec));

            } else {
                ngx_memcpy(&sem->embed, cctx->embed,
                           ngx_http_llm_embed_size(cctx->embed));
            }

            ngx_queue_insert_head(&b->entries, &sem->link);
            zone->sh->sem_entries++;
        }
    }

    ngx_rbtree_insert(&zone->sh->rbtree, &cn->node);
    ngx_queue_insert_head(&zone->sh->queue, &cn->queue);

    zone->sh->entries++;
    zone->sh->bytes += ngx_http_llm_cache_node_size(cn);
    zone->sh->stored++;

    if (evicted && now - zone->sh->warned < NGX_HTTP_LLM_CACHE_WARN_EVERY) {
        evicted = 0;

    } else if (evicted) {
        zone->sh->warned = now;
    }

    ngx_shmtx_unlock(&zone->shpool->mutex);

    if (evicted) {
        ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                      "llm cache \"%V\" is full: evicted %ui least recently "
                      "used entries (this warning is logged at most once "
                      "a minute)", &zone->name, evicted);
    }

    ngx_log_debug3(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "llm cache \"%V\": stored %uz bytes, model \"%V\"",
                   &zone->name, size, &ctx->model);
}


/* the content handler of a hit: the entry in the format asked for */

static ngx_int_t
ngx_http_llm_cache_handler(ngx_http_request_t *r)
{
    ngx_int_t                  rc;
    ngx_buf_t                 *b;
    ngx_chain_t                out;
    ngx_http_llm_ctx_t        *ctx;
    ngx_http_llm_cache_ctx_t  *cctx;

    ctx = ngx_http_llm_get_ctx(r);

    if (ctx == NULL || ctx->cache == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    cctx = ctx->cache;

    /* the figures of the cached answer: what this hit saved */

    ctx->prompt_tokens = cctx->prompt_tokens;
    ctx->completion_tokens = cctx->completion_tokens;
    ctx->completion_estimate = cctx->completion_tokens;
    ctx->prompt_reported = 1;
    ctx->usage_reported = 1;

    if (ctx->api == NGX_HTTP_LLM_API_ANTHROPIC) {
        b = ngx_http_llm_cache_anthropic(r, ctx, cctx);

    } else if (ctx->endpoint == NGX_HTTP_LLM_EP_RESPONSES) {
        b = ngx_http_llm_cache_responses(r, ctx, cctx);

    } else if (ctx->api == NGX_HTTP_LLM_API_GEMINI) {
        b = ngx_http_llm_cache_gemini(r, cctx);

    } else {
        b = ngx_http_llm_cache_openai(r, ctx, cctx);
    }

    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    b->last_buf = 1;
    b->last_in_chain = 1;
    b->flush = 1;

    r->headers_out.status = NGX_HTTP_OK;
    r->headers_out.content_length_n = b->last - b->pos;

    if (ctx->req.stream) {
        ngx_str_set(&r->headers_out.content_type, "text/event-stream");

    } else {
        ngx_str_set(&r->headers_out.content_type, "application/json");
    }

    r->headers_out.content_type_len = r->headers_out.content_type.len;
    r->headers_out.content_type_lowcase = NULL;

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    out.buf = b;
    out.next = NULL;

    return ngx_http_output_filter(r, &out);
}


/*
 * OpenAI: a chat.completion, or chunks: the role, the text in pieces, the
 * finish reason, usage if the client asked for it, [DONE].
 */

static ngx_buf_t *
ngx_http_llm_cache_openai(ngx_http_request_t *r, ngx_http_llm_ctx_t *ctx,
    ngx_http_llm_cache_ctx_t *cctx)
{
    u_char     *p, *id, *id_end, *text, *last;
    size_t      len, piece, pieces, head;
    time_t      created;
    ngx_buf_t  *b;

    created = ngx_time();

    /* the id, the creation time and the model, once, reused by each chunk */

    head = sizeof("chatcmpl-") - 1 + 24;

    id = ngx_pnalloc(r->pool, head);
    if (id == NULL) {
        return NULL;
    }

    id_end = ngx_cpymem(id, "chatcmpl-", sizeof("chatcmpl-") - 1);
    id_end = ngx_http_llm_cache_id(id_end);

    pieces = cctx->text.len / NGX_HTTP_LLM_CACHE_MIN_PIECE + 2;

    len = ngx_http_llm_json_encoded_len(cctx->text.data, cctx->text.len)
          + (pieces + 4)
            * (256 + head + NGX_TIME_T_LEN
               + ngx_http_llm_json_encoded_len(cctx->model.data,
                                               cctx->model.len)
               + ngx_http_llm_json_encoded_len(cctx->finish.data,
                                               cctx->finish.len)
               + 3 * NGX_INT32_LEN);

    b = ngx_create_temp_buf(r->pool, len);
    if (b == NULL) {
        return NULL;
    }

    p = b->last;

#define ngx_http_llm_cache_chunk_head(p)                                      \
    p = ngx_cpymem(p, "data: {\"id\":\"", sizeof("data: {\"id\":\"") - 1);   \
    p = ngx_cpymem(p, id, id_end - id);                                       \
    p = ngx_sprintf(p, "\",\"object\":\"chat.completion.chunk\","            \
                    "\"created\":%T,\"model\":\"", created);                  \
    p = ngx_http_llm_json_encode_string(p, cctx->model.data,                  \
                                        cctx->model.len);                     \
    p = ngx_cpymem(p, "\",", 2)

    if (!ctx->req.stream) {
        p = ngx_cpymem(p, "{\"id\":\"", sizeof("{\"id\":\"") - 1);
        p = ngx_cpymem(p, id, id_end - id);
        p = ngx_sprintf(p, "\",\"object\":\"chat.completion\",\"created\":%T,"
                        "\"model\":\"", created);
        p = ngx_http_llm_json_encode_string(p, cctx->model.data,
                                            cctx->model.len);
        p = ngx_cpymem(p, "\",\"choices\":[{\"index\":0,\"message\":"
                       "{\"role\":\"assistant\",\"content\":\"",
                       sizeof("\",\"choices\":[{\"index\":0,\"message\":"
                              "{\"role\":\"assistant\",\"content\":\"") - 1);
        p = ngx_http_llm_json_encode_string(p, cctx->text.data,
                                            cctx->text.len);
        p = ngx_cpymem(p, "\",\"refusal\":null},\"logprobs\":null,"
                       "\"finish_reason\":\"",
                       sizeof("\",\"refusal\":null},\"logprobs\":null,"
                              "\"finish_reason\":\"") - 1);
        p = ngx_http_llm_json_encode_string(p, cctx->finish.data,
                                            cctx->finish.len);
        p = ngx_sprintf(p, "\"}],\"usage\":{\"prompt_tokens\":%uD,"
                        "\"completion_tokens\":%uD,\"total_tokens\":%uD}}\n",
                        cctx->prompt_tokens, cctx->completion_tokens,
                        cctx->prompt_tokens + cctx->completion_tokens);

        b->last = p;
        return b;
    }

    ngx_http_llm_cache_chunk_head(p);
    p = ngx_cpymem(p, "\"choices\":[{\"index\":0,\"delta\":{\"role\":"
                   "\"assistant\",\"content\":\"\"},\"logprobs\":null,"
                   "\"finish_reason\":null}]}\n\n",
                   sizeof("\"choices\":[{\"index\":0,\"delta\":{\"role\":"
                          "\"assistant\",\"content\":\"\"},\"logprobs\":null,"
                          "\"finish_reason\":null}]}\n\n") - 1);

    text = cctx->text.data;
    last = text + cctx->text.len;

    while (text < last) {
        piece = ngx_http_llm_cache_piece(text, last);

        ngx_http_llm_cache_chunk_head(p);
        p = ngx_cpymem(p, "\"choices\":[{\"index\":0,\"delta\":{\"content\":\"",
                       sizeof("\"choices\":[{\"index\":0,\"delta\":"
                              "{\"content\":\"") - 1);
        p = ngx_http_llm_json_encode_string(p, text, piece);
        p = ngx_cpymem(p, "\"},\"logprobs\":null,\"finish_reason\":null}]}"
                       "\n\n",
                       sizeof("\"},\"logprobs\":null,\"finish_reason\":null}]}"
                              "\n\n") - 1);

        text += piece;
    }

    ngx_http_llm_cache_chunk_head(p);
    p = ngx_cpymem(p, "\"choices\":[{\"index\":0,\"delta\":{},"
                   "\"logprobs\":null,\"finish_reason\":\"",
                   sizeof("\"choices\":[{\"index\":0,\"delta\":{},"
                          "\"logprobs\":null,\"finish_reason\":\"") - 1);
    p = ngx_http_llm_json_encode_string(p, cctx->finish.data,
                                        cctx->finish.len);
    p = ngx_cpymem(p, "\"}]}\n\n", sizeof("\"}]}\n\n") - 1);

    if (ctx->req.include_usage) {
        ngx_http_llm_cache_chunk_head(p);
        p = ngx_sprintf(p, "\"choices\":[],\"usage\":{\"prompt_tokens\":%uD,"
                        "\"completion_tokens\":%uD,\"total_tokens\":%uD}}"
                        "\n\n",
                        cctx->prompt_tokens, cctx->completion_tokens,
                        cctx->prompt_tokens + cctx->completion_tokens);
    }

#undef ngx_http_llm_cache_chunk_head

    p = ngx_cpymem(p, "data: [DONE]\n\n", sizeof("data: [DONE]\n\n") - 1);

    b->last = p;

    return b;
}


/*
 * Gemini: a whole generateContent answer of one candidate whose parts are
 * text (thought parts are left out, as they are of Anthropic's thinking);
 * any other part (a function call, code, inline data) is not kept.
 */

static ngx_int_t
ngx_http_llm_cache_gemini_json(ngx_http_request_t *r,
    ngx_http_llm_cache_ctx_t *cctx, ngx_http_llm_json_t *json)
{
    uint32_t  t, c, v;

    t = ngx_http_llm_cache_get(json, 0, "candidates");

    if (!ngx_http_llm_cache_is(json, t, NGX_HTTP_LLM_JSON_ARRAY)
        || json->tokens[t].size != 1)
    {
        return NGX_DECLINED;
    }

    c = ngx_http_llm_json_first(json, t);

    t = ngx_http_llm_cache_get(json, c, "content");
    t = ngx_http_llm_cache_get(json, t, "parts");

    if (!ngx_http_llm_cache_is(json, t, NGX_HTTP_LLM_JSON_ARRAY)) {
        return NGX_DECLINED;
    }

    for (t = ngx_http_llm_json_first(json, t);
         t != NGX_HTTP_LLM_NONE;
         t = json->tokens[t].next)
    {
        v = ngx_http_llm_cache_get(json, t, "thought");

        if (ngx_http_llm_cache_is(json, v, NGX_HTTP_LLM_JSON_TRUE)) {
            continue;
        }

        v = ngx_http_llm_cache_get(json, t, "text");

        if (!ngx_http_llm_cache_is(json, v, NGX_HTTP_LLM_JSON_STRING)
            || ngx_http_llm_cache_get(json, t, "functionCall")
               != NGX_HTTP_LLM_NONE
            || ngx_http_llm_cache_get(json, t, "executableCode")
               != NGX_HTTP_LLM_NONE
            || ngx_http_llm_cache_get(json, t, "inlineData")
               != NGX_HTTP_LLM_NONE
            || ngx_http_llm_cache_append(r, cctx, json, v) != NGX_OK)
        {
            return NGX_DECLINED;
        }
    }

    if (ngx_http_llm_cache_copy(r, json,
                                ngx_http_llm_cache_get(json, c,
                                                       "finishReason"),
                                32, &cctx->finish)
        != NGX_OK
        || ngx_http_llm_cache_copy(r, json,
                                   ngx_http_llm_cache_get(json, 0,
                                                          "modelVersion"),
                                   NGX_HTTP_LLM_CACHE_MAX_MODEL, &cctx->model)
           != NGX_OK)
    {
        return NGX_DECLINED;
    }

    return NGX_OK;
}


/* Gemini: a generateContent answer with the text in one part */

static ngx_buf_t *
ngx_http_llm_cache_gemini(ngx_http_request_t *r,
    ngx_http_llm_cache_ctx_t *cctx)
{
    u_char     *p;
    size_t      len;
    ngx_buf_t  *b;

    len = sizeof("{\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"") - 1
          + ngx_http_llm_json_encoded_len(cctx->text.data, cctx->text.len)
          + sizeof("\"}],\"role\":\"model\"},\"finishReason\":\"") - 1
          + ngx_http_llm_json_encoded_len(cctx->finish.data,
                                          cctx->finish.len)
          + sizeof("\",\"index\":0}],\"usageMetadata\":{"
                   "\"promptTokenCount\":,\"candidatesTokenCount\":,"
                   "\"totalTokenCount\":},\"modelVersion\":\"\"}\n") - 1
          + 3 * NGX_INT64_LEN
          + ngx_http_llm_json_encoded_len(cctx->model.data, cctx->model.len);

    b = ngx_create_temp_buf(r->pool, len);
    if (b == NULL) {
        return NULL;
    }

    p = ngx_cpymem(b->last, "{\"candidates\":[{\"content\":{\"parts\":"
                   "[{\"text\":\"",
                   sizeof("{\"candidates\":[{\"content\":{\"parts\":"
                          "[{\"text\":\"") - 1);
    p = ngx_http_llm_json_encode_string(p, cctx->text.data, cctx->text.len);
    p = ngx_cpymem(p, "\"}],\"role\":\"model\"},\"finishReason\":\"",
                   sizeof("\"}],\"role\":\"model\"},\"finishReason\":\"")
                   - 1);
    p = ngx_http_llm_json_encode_string(p, cctx->finish.data,
                                        cctx->finish.len);
    p = ngx_sprintf(p, "\",\"index\":0}],\"usageMetadata\":{"
                    "\"promptTokenCount\":%uD,\"candidatesTokenCount\":%uD,"
                    "\"totalTokenCount\":%uD},\"modelVersion\":\"",
                    cctx->prompt_tokens, cctx->completion_tokens,
                    cctx->prompt_tokens + cctx->completion_tokens);
    p = ngx_http_llm_json_encode_string(p, cctx->model.data, cctx->model.len);
    p = ngx_cpymem(p, "\"}\n", 3);

    b->last = p;

    return b;
}


/*
 * Anthropic: a message, or its events: message_start, one text block
 * (start, deltas, stop), message_delta with the stop reason and the output
 * tokens, message_stop.
 */

static ngx_buf_t *
ngx_http_llm_cache_anthropic(ngx_http_request_t *r, ngx_http_llm_ctx_t *ctx,
    ngx_http_llm_cache_ctx_t *cctx)
{
    u_char     *p, *id, *id_end, *text, *last;
    size_t      len, piece, pieces;
    ngx_buf_t  *b;

    id = ngx_pnalloc(r->pool, sizeof("msg_") - 1 + 24);
    if (id == NULL) {
        return NULL;
    }

    id_end = ngx_cpymem(id, "msg_", sizeof("msg_") - 1);
    id_end = ngx_http_llm_cache_id(id_end);

    pieces = cctx->text.len / NGX_HTTP_LLM_CACHE_MIN_PIECE + 2;

    len = ngx_http_llm_json_encoded_len(cctx->text.data, cctx->text.len)
          + pieces * 256
          + 1024 + (id_end - id)
          + ngx_http_llm_json_encoded_len(cctx->model.data, cctx->model.len)
          + ngx_http_llm_json_encoded_len(cctx->finish.data, cctx->finish.len)
          + ngx_http_llm_json_encoded_len(cctx->stop.data, cctx->stop.len)
          + 3 * NGX_INT32_LEN;

    b = ngx_create_temp_buf(r->pool, len);
    if (b == NULL) {
        return NULL;
    }

    p = b->last;

    if (!ctx->req.stream) {
        p = ngx_cpymem(p, "{\"id\":\"", sizeof("{\"id\":\"") - 1);
        p = ngx_cpymem(p, id, id_end - id);
        p = ngx_cpymem(p, "\",\"type\":\"message\",\"role\":\"assistant\","
                       "\"model\":\"",
                       sizeof("\",\"type\":\"message\",\"role\":\"assistant\","
                              "\"model\":\"") - 1);
        p = ngx_http_llm_json_encode_string(p, cctx->model.data,
                                            cctx->model.len);
        p = ngx_cpymem(p, "\",\"content\":[{\"type\":\"text\",\"text\":\"",
                       sizeof("\",\"content\":[{\"type\":\"text\","
                              "\"text\":\"") - 1);
        p = ngx_http_llm_json_encode_string(p, cctx->text.data,
                                            cctx->text.len);
        p = ngx_cpymem(p, "\"}],\"stop_reason\":\"",
                       sizeof("\"}],\"stop_reason\":\"") - 1);
        p = ngx_http_llm_json_encode_string(p, cctx->finish.data,
                                            cctx->finish.len);
        p = ngx_cpymem(p, "\",\"stop_sequence\":",
                       sizeof("\",\"stop_sequence\":") - 1);

        if (cctx->stop.len) {
            *p++ = '"';
            p = ngx_http_llm_json_encode_string(p, cctx->stop.data,
                                                cctx->stop.len);
            *p++ = '"';

        } else {
            p = ngx_cpymem(p, "null", 4);
        }

        p = ngx_sprintf(p, ",\"usage\":{\"input_tokens\":%uD,"
                        "\"output_tokens\":%uD}}\n",
                        cctx->prompt_tokens, cctx->completion_tokens);

        b->last = p;
        return b;
    }

    p = ngx_cpymem(p, "event: message_start\ndata: {\"type\":\"message_start\","
                   "\"message\":{\"id\":\"",
                   sizeof("event: message_start\ndata: {\"type\":"
                          "\"message_start\",\"message\":{\"id\":\"") - 1);
    p = ngx_cpymem(p, id, id_end - id);
    p = ngx_cpymem(p, "\",\"type\":\"message\",\"role\":\"assistant\","
                   "\"model\":\"",
                   sizeof("\",\"type\":\"message\",\"role\":\"assistant\","
                          "\"model\":\"") - 1);
    p = ngx_http_llm_json_encode_string(p, cctx->model.data, cctx->model.len);
    p = ngx_sprintf(p, "\",\"content\":[],\"stop_reason\":null,"
                    "\"stop_sequence\":null,\"usage\":{\"input_tokens\":%uD,"
                    "\"output_tokens\":1}}}\n\n"
                    "event: content_block_start\n"
                    "data: {\"type\":\"content_block_start\",\"index\":0,"
                    "\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n",
                    cctx->prompt_tokens);

    text = cctx->text.data;
    last = text + cctx->text.len;

    while (text < last) {
        piece = ngx_http_llm_cache_piece(text, last);

        p = ngx_cpymem(p, "event: content_block_delta\n"
                       "data: {\"type\":\"content_block_delta\",\"index\":0,"
                       "\"delta\":{\"type\":\"text_delta\",\"text\":\"",
                       sizeof("event: content_block_delta\n"
                              "data: {\"type\":\"content_block_delta\","
                              "\"index\":0,\"delta\":{\"type\":\"text_delta\","
                              "\"text\":\"") - 1);
        p = ngx_http_llm_json_encode_string(p, text, piece);
        p = ngx_cpymem(p, "\"}}\n\n", sizeof("\"}}\n\n") - 1);

        text += piece;
    }

    p = ngx_cpymem(p, "event: content_block_stop\n"
                   "data: {\"type\":\"content_block_stop\",\"index\":0}\n\n"
                   "event: message_delta\n"
                   "data: {\"type\":\"message_delta\",\"delta\":"
                   "{\"stop_reason\":\"",
                   sizeof("event: content_block_stop\n"
                          "data: {\"type\":\"content_block_stop\","
                          "\"index\":0}\n\n"
                          "event: message_delta\n"
                          "data: {\"type\":\"message_delta\",\"delta\":"
                          "{\"stop_reason\":\"") - 1);
    p = ngx_http_llm_json_encode_string(p, cctx->finish.data,
                                        cctx->finish.len);
    p = ngx_cpymem(p, "\",\"stop_sequence\":",
                   sizeof("\",\"stop_sequence\":") - 1);

    if (cctx->stop.len) {
        *p++ = '"';
        p = ngx_http_llm_json_encode_string(p, cctx->stop.data,
                                            cctx->stop.len);
        *p++ = '"';

    } else {
        p = ngx_cpymem(p, "null", 4);
    }

    p = ngx_sprintf(p, "},\"usage\":{\"output_tokens\":%uD}}\n\n"
                    "event: message_stop\n"
                    "data: {\"type\":\"message_stop\"}\n\n",
                    cctx->completion_tokens);

    b->last = p;

    return b;
}


/*
 * The length of the next piece of a replayed stream: about
 * NGX_HTTP_LLM_CACHE_PIECE bytes, cut after a space when there is one past
 * the minimum, never inside a UTF-8 sequence.
 */

static size_t
ngx_http_llm_cache_piece(u_char *p, u_char *last)
{
    u_char  *end, *q;

    if (last - p <= NGX_HTTP_LLM_CACHE_PIECE) {
        return last - p;
    }

    end = p + NGX_HTTP_LLM_CACHE_PIECE;

    for (q = end; q > p + NGX_HTTP_LLM_CACHE_MIN_PIECE; q--) {
        if (q[-1] == ' ' || q[-1] == '\n') {
            return q - p;
        }
    }

    while (end > p + 1 && (*end & 0xc0) == 0x80) {
        end--;
    }

    return end - p;
}


static u_char *
ngx_http_llm_cache_id(u_char *p)
{
    return ngx_sprintf(p, "%08xD%08xD%08xD", (uint32_t) ngx_random(),
                       (uint32_t) ngx_random(), (uint32_t) ngx_random());
}


/* X-LLM-Cache on every answer to a request the cache looked at */

static ngx_int_t
ngx_http_llm_cache_header_filter(ngx_http_request_t *r)
{
    ngx_str_t                  key;
    ngx_http_llm_ctx_t        *ctx;
    ngx_http_llm_cache_ctx_t  *cctx;

    if (r != r->main) {
        return ngx_http_next_header_filter(r);
    }

    ctx = ngx_http_llm_get_ctx(r);

    if (ctx == NULL || ctx->cache == NULL) {
        return ngx_http_next_header_filter(r);
    }

    cctx = ctx->cache;

    ngx_str_set(&key, "X-LLM-Cache");

    if (ngx_http_llm_cache_set_header(r, &key,
                                      &ngx_http_llm_cache_statuses[
                                                          cctx->status])
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    return ngx_http_next_header_filter(r);
}


static ngx_int_t
ngx_http_llm_cache_set_header(ngx_http_request_t *r, ngx_str_t *key,
    ngx_str_t *value)
{
    ngx_uint_t        i;
    ngx_list_part_t  *part;
    ngx_table_elt_t  *h;

    part = &r->headers_out.headers.part;
    h = part->elts;

    for (i = 0; /* void */; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                break;
            }

            part = part->next;
            h = part->elts;
            i = 0;
        }

        if (h[i].hash != 0
            && h[i].key.len == key->len
            && ngx_strncasecmp(h[i].key.data, key->data, key->len) == 0)
        {
            h[i].value = *value;
            return NGX_OK;
        }
    }

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    h->hash = 1;
    h->key = *key;
    h->value = *value;
    h->lowcase_key = NULL;
#if (nginx_version >= 1023000)
    h->next = NULL;
#endif

    return NGX_OK;
}


static ngx_int_t
ngx_http_llm_cache_variable_status(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    ngx_str_t                 *s;
    ngx_http_llm_ctx_t        *ctx;
    ngx_http_llm_cache_ctx_t  *cctx;

    ctx = ngx_http_llm_get_ctx(r);

    if (ctx == NULL || ctx->cache == NULL) {
        v->not_found = 1;
        return NGX_OK;
    }

    cctx = ctx->cache;
    s = &ngx_http_llm_cache_statuses[cctx->status];

    v->len = s->len;
    v->data = s->data;
    v->valid = 1;
    v->no_cacheable = 0;
    v->not_found = 0;

    return NGX_OK;
}


static ngx_int_t
ngx_http_llm_cache_variable_similarity(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    ngx_http_llm_ctx_t        *ctx;
    ngx_http_llm_cache_ctx_t  *cctx;

    ctx = ngx_http_llm_get_ctx(r);

    if (ctx == NULL || ctx->cache == NULL) {
        v->not_found = 1;
        return NGX_OK;
    }

    cctx = ctx->cache;

    if (cctx->status != NGX_HTTP_LLM_CACHE_HIT
        && cctx->status != NGX_HTTP_LLM_CACHE_SEMANTIC)
    {
        v->not_found = 1;
        return NGX_OK;
    }

    v->data = ngx_pnalloc(r->pool, sizeof("1.000") - 1);
    if (v->data == NULL) {
        return NGX_ERROR;
    }

    v->len = ngx_sprintf(v->data, "%.3f", cctx->similarity) - v->data;
    v->valid = 1;
    v->no_cacheable = 0;
    v->not_found = 0;

    return NGX_OK;
}


/* llm_status: the zones' counters, in the Prometheus text format or JSON */

size_t
ngx_http_llm_cache_status_size(void)
{
    ngx_http_llm_cache_main_conf_t  *cmcf;

    cmcf = ngx_http_cycle_get_module_main_conf(ngx_cycle,
                                               ngx_http_llm_cache_module);

    if (cmcf == NULL || cmcf->zones.nelts == 0) {
        return 0;
    }

    return 2048 + cmcf->zones.nelts * 3072;
}


u_char *
ngx_http_llm_cache_status(u_char *p, ngx_uint_t json)
{
    size_t                           len;
    u_char                          *name;
    ngx_uint_t                       i, f;
    ngx_http_llm_cache_sh_t          sh;
    ngx_http_llm_cache_zone_t      **zones;
    ngx_http_llm_cache_main_conf_t  *cmcf;

    static const char  *families[] = {
        "llm_cache_requests_total", "counter",
            "Cache lookups by zone and result (bypass: not looked up).",
        "llm_cache_stored_total", "counter", "Answers stored.",
        "llm_cache_evicted_total", "counter",
            "Entries evicted from a full zone.",
        "llm_cache_expired_total", "counter", "Entries dropped at their ttl.",
        "llm_cache_entries", "gauge",
            "Entries held (kind: all, or semantic: comparable by meaning).",
        "llm_cache_bytes", "gauge", "Bytes of the entries held.",
        "llm_cache_saved_tokens_total", "counter",
            "Tokens of the answers served from the cache.",
        "llm_cache_saved_usd_total", "counter",
            "Their cost at the catalogue's prices, in USD.",
        "llm_cache_embedder_requests_total", "counter",
            "Calls of a remote embedder by result (error and timeout: "
            "looked up as a miss).",
        NULL
    };

    cmcf = ngx_http_cycle_get_module_main_conf(ngx_cycle,
                                               ngx_http_llm_cache_module);

    if (cmcf == NULL || cmcf->zones.nelts == 0) {
        return p;
    }

    zones = cmcf->zones.elts;

    if (json) {
        p = ngx_cpymem(p, ",\"cache\":{", sizeof(",\"cache\":{") - 1);
    }

    for (f = 0; json ? f < 1 : families[3 * f] != NULL; f++) {

        if (!json) {
            p = ngx_sprintf(p, "# HELP %s %s\n# TYPE %s %s\n",
                            families[3 * f], families[3 * f + 2],
                            families[3 * f], families[3 * f + 1]);
        }

        for (i = 0; i < cmcf->zones.nelts; i++) {

            if (zones[i]->sh == NULL) {
                continue;
            }

            ngx_shmtx_lock(&zones[i]->shpool->mutex);
            sh = *zones[i]->sh;
            ngx_shmtx_unlock(&zones[i]->shpool->mutex);

            len = ngx_min(zones[i]->name.len, 64);
            name = zones[i]->name.data;

            if (json) {
                p = ngx_sprintf(p, "%s\"%*s\":{\"hits\":%uL,"
                                "\"semantic_hits\":%uL,\"misses\":%uL,"
                                "\"bypassed\":%uL,\"stored\":%uL,"
                                "\"evicted\":%uL,\"expired\":%uL,"
                                "\"entries\":%ui,\"semantic_entries\":%ui,"
                                "\"bytes\":%uz,\"saved_tokens\":%uL,"
                                "\"saved_usd\":%uL.%09uL,"
                                "\"embedder\":{\"ok\":%uL,\"errors\":%uL,"
                                "\"timeouts\":%uL}}",
                                i ? "," : "", len, name, sh.hits,
                                sh.semantic_hits, sh.misses,
                                sh.bypassed, sh.stored, sh.evicted,
                                sh.expired, sh.entries, sh.sem_entries,
                                sh.bytes, sh.tokens_saved,
                                sh.nano_usd_saved / 1000000000,
                                sh.nano_usd_saved % 1000000000,
                                sh.embed_ok, sh.embed_errors,
                                sh.embed_timeouts);
                continue;
            }

            switch (f) {

            case 0:
                p = ngx_sprintf(p, "%s{zone=\"%*s\",result=\"hit\"} %uL\n"
                                "%s{zone=\"%*s\",result=\"semantic\"} %uL\n"
                                "%s{zone=\"%*s\",result=\"miss\"} %uL\n"
                                "%s{zone=\"%*s\",result=\"bypass\"} %uL\n",
                                families[0], len, name, sh.hits,
                                families[0], len, name, sh.semantic_hits,
                                families[0], len, name, sh.misses,
                                families[0], len, name, sh.bypassed);
                break;

            case 1:
                p = ngx_sprintf(p, "%s{zone=\"%*s\"} %uL\n", families[3],
                                len, name, sh.stored);
                break;

            case 2:
                p = ngx_sprintf(p, "%s{zone=\"%*s\"} %uL\n", families[6],
                                len, name, sh.evicted);
                break;

            case 3:
                p = ngx_sprintf(p, "%s{zone=\"%*s\"} %uL\n", families[9],
                                len, name, sh.expired);
                break;

            case 4:
                p = ngx_sprintf(p, "%s{zone=\"%*s\",kind=\"all\"} %ui\n"
                                "%s{zone=\"%*s\",kind=\"semantic\"} %ui\n",
                                families[12], len, name, sh.entries,
                                families[12], len, name, sh.sem_entries);
                break;

            case 5:
                p = ngx_sprintf(p, "%s{zone=\"%*s\"} %uz\n", families[15],
                                len, name, sh.bytes);
                break;

            case 6:
                p = ngx_sprintf(p, "%s{zone=\"%*s\"} %uL\n", families[18],
                                len, name, sh.tokens_saved);
                break;

            case 7:
                p = ngx_sprintf(p, "%s{zone=\"%*s\"} %uL.%09uL\n",
                                families[21], len, name,
                                sh.nano_usd_saved / 1000000000,
                                sh.nano_usd_saved % 1000000000);
                break;

            default: /* 8 */
                p = ngx_sprintf(p, "%s{zone=\"%*s\",result=\"ok\"} %uL\n"
                                "%s{zone=\"%*s\",result=\"error\"} %uL\n"
                                "%s{zone=\"%*s\",result=\"timeout\"} %uL\n",
                                families[24], len, name, sh.embed_ok,
                                families[24], len, name, sh.embed_errors,
                                families[24], len, name, sh.embed_timeouts);
                break;
            }
        }
    }

    if (json) {
        *p++ = '}';
    }

    return p;
}


#if (NGX_HTTP_LLM_CACHE_BENCH)

/*
 * Benchmark builds only (-DNGX_HTTP_LLM_CACHE_BENCH): the time of the key's
 * digest and of the zone's lookup, the zone's entries and their bytes, the
 * time of the semantic key (embedding and digest) and of the semantic
 * lookup, the semantic entries and buckets: "KEY_NS LOOKUP_NS ENTRIES BYTES
 * SEM_KEY_NS SEM_LOOKUP_NS SEM_ENTRIES BUCKETS".
 */

static uint64_t
ngx_http_llm_cache_ns(void)
{
    struct timespec  ts;

    (void) clock_gettime(CLOCK_MONOTONIC, &ts);

    return (uint64_t) ts.tv_sec * 1000000000 + ts.tv_nsec;
}


static ngx_int_t
ngx_http_llm_cache_variable_bench(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    u_char                         *p;
    size_t                          bytes;
    ngx_uint_t                      entries, sem_entries, buckets;
    ngx_http_llm_ctx_t             *ctx;
    ngx_http_llm_cache_ctx_t       *cctx;
    ngx_http_llm_cache_zone_t      *zone;
    ngx_http_llm_cache_loc_conf_t  *clcf;

    ctx = ngx_http_llm_get_ctx(r);
    cctx = ctx ? ctx->cache : NULL;

    clcf = ngx_http_get_module_loc_conf(r, ngx_http_llm_cache_module);

    if (clcf->shm_zone == NULL) {
        v->not_found = 1;
        return NGX_OK;
    }

    zone = clcf->shm_zone->data;

    ngx_shmtx_lock(&zone->shpool->mutex);
    entries = zone->sh->entries;
    bytes = zone->sh->bytes;
    sem_entries = zone->sh->sem_entries;
    buckets = zone->sh->buckets;
    ngx_shmtx_unlock(&zone->shpool->mutex);

    p = ngx_pnalloc(r->pool, 8 * NGX_INT64_LEN);
    if (p == NULL) {
        return NGX_ERROR;
    }

    v->data = p;
    p = ngx_sprintf(p, "%uL %uL %ui %uz %uL %uL %ui %ui",
                    cctx ? cctx->key_ns : 0, cctx ? cctx->lookup_ns : 0,
                    entries, bytes, cctx ? cctx->sem_key_ns : 0,
                    cctx ? cctx->sem_lookup_ns : 0, sem_entries, buckets);
    v->len = p - v->data;
    v->valid = 1;
    v->no_cacheable = 0;
    v->not_found = 0;

    return NGX_OK;
}

#endif


static ngx_int_t
ngx_http_llm_cache_init_zone(ngx_shm_zone_t *shm_zone, void *data)
{
    ngx_http_llm_cache_zone_t  *ozone = data;

    ngx_uint_t                  created;
    ngx_http_llm_cache_zone_t  *zone;

    zone = shm_zone->data;

    if (ozone) {
        /* reload: the entries live on */
        zone->sh = ozone->sh;
        zone->shpool = ozone->shpool;
        return NGX_OK;
    }

    zone->shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;

    zone->sh = ngx_http_llm_shm_state(shm_zone,
                                      sizeof(ngx_http_llm_cache_sh_t),
                                      ngx_http_llm_cache_rbtree_insert_value,
                                      "llm_cache_zone", &created);
    if (zone->sh == NULL) {
        return NGX_ERROR;
    }

    if (created) {
        ngx_rbtree_init(&zone->sh->sem_rbtree, &zone->sh->sem_sentinel,
                        ngx_http_llm_cache_rbtree_insert_value);
    }

    return NGX_OK;
}


/*
 * Entries and semantic buckets: both trees are ordered by the digest, which
 * both nodes keep at the same offset (checked below), so one insert and one
 * search serve.
 */

typedef char  ngx_http_llm_cache_digest_at_same_offset[
    (offsetof(ngx_http_llm_cache_node_t, digest)
     == offsetof(ngx_http_llm_cache_bucket_t, digest)) ? 1 : -1];


static ngx_rbtree_node_t *
ngx_http_llm_cache_find_digest(ngx_rbtree_t *tree, u_char *digest)
{
    ngx_int_t                   rc;
    ngx_rbtree_key_t            key;
    ngx_rbtree_node_t          *node, *sentinel;
    ngx_http_llm_cache_node_t  *cn;

    ngx_memcpy(&key, digest, sizeof(ngx_rbtree_key_t));

    node = tree->root;
    sentinel = tree->sentinel;

    while (node != sentinel) {

        if (key != node->key) {
            node = (key < node->key) ? node->left : node->right;
            continue;
        }

        cn = (ngx_http_llm_cache_node_t *) node;

        rc = ngx_memcmp(digest, cn->digest, NGX_HTTP_LLM_CACHE_DIGEST);

        if (rc == 0) {
            return node;
        }

        node = (rc < 0) ? node->left : node->right;
    }

    return NULL;
}


static void
ngx_http_llm_cache_rbtree_insert_value(ngx_rbtree_node_t *temp,
    ngx_rbtree_node_t *node, ngx_rbtree_node_t *sentinel)
{
    ngx_rbtree_node_t          **p;
    ngx_http_llm_cache_node_t   *a, *b;

    for ( ;; ) {

        if (node->key < temp->key) {
            p = &temp->left;

        } else if (node->key > temp->key) {
            p = &temp->right;

        } else {
            a = (ngx_http_llm_cache_node_t *) node;
            b = (ngx_http_llm_cache_node_t *) temp;

            p = (ngx_memcmp(a->digest, b->digest, NGX_HTTP_LLM_CACHE_DIGEST)
                 < 0) ? &temp->left : &temp->right;
        }

        if (*p == sentinel) {
            break;
        }

        temp = *p;
    }

    *p = node;
    node->parent = temp;
    node->left = sentinel;
    node->right = sentinel;
    ngx_rbt_red(node);
}


/* llm_cache_zone zone=NAME:SIZE [ttl=TIME] [max_entry=SIZE]; */

static char *
ngx_http_llm_cache_zone(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_llm_cache_main_conf_t *cmcf = conf;

    ssize_t                      size, max;
    time_t                       ttl;
    ngx_str_t                   *value, name, s;
    ngx_uint_t                   i;
    ngx_shm_zone_t              *shm_zone;
    ngx_http_llm_cache_zone_t   *zone, **zp;
    ngx_http_llm_redis_t        *redis;

    value = cf->args->elts;

    size = 0;
    max = NGX_CONF_UNSET;
    ttl = NGX_HTTP_LLM_CACHE_TTL;
    redis = NULL;
    ngx_str_null(&name);

    for (i = 1; i < cf->args->nelts; i++) {

        if (ngx_strncmp(value[i].data, "zone=", 5) == 0) {

            if (ngx_http_llm_parse_zone(cf, &value[i], "llm_cache_zone", &name,
                                        &size)
                != NGX_OK)
            {
                return NGX_CONF_ERROR;
            }

            continue;
        }

        if (ngx_strncmp(value[i].data, "ttl=", 4) == 0) {

            s.data = value[i].data + 4;
            s.len = value[i].len - 4;

            ttl = ngx_parse_time(&s, 1);

            if (ttl == (time_t) NGX_ERROR || ttl == 0) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "llm_cache_zone: invalid ttl \"%V\" "
                                   "(a time of at least 1s, e.g. 10m)",
                                   &value[i]);
                return NGX_CONF_ERROR;
            }

            continue;
        }

        if (ngx_strncmp(value[i].data, "max_entry=", 10) == 0) {

            s.data = value[i].data + 10;
            s.len = value[i].len - 10;

            max = ngx_parse_size(&s);

            if (max == NGX_ERROR || max == 0) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "llm_cache_zone: invalid max_entry \"%V\"",
                                   &value[i]);
                return NGX_CONF_ERROR;
            }

            continue;
        }

        if (ngx_strncmp(value[i].data, "redis=", 6) == 0) {

            s.data = value[i].data + 6;
            s.len = value[i].len - 6;

            redis = ngx_http_llm_redis_find(cf, &s);

            if (redis == NULL) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "llm_cache_zone: no llm_redis \"%V\" "
                                   "declared before", &s);
                return NGX_CONF_ERROR;
            }

            continue;
        }

        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "llm_cache_zone: invalid parameter \"%V\"",
                           &value[i]);
        return NGX_CONF_ERROR;
    }

    if (name.len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "llm_cache_zone: \"zone=\" is required");
        return NGX_CONF_ERROR;
    }

    if (max == NGX_CONF_UNSET) {
        max = ngx_min(NGX_HTTP_LLM_CACHE_MAX_ENTRY, size / 8);

    } else if (max > size / 4) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "llm_cache_zone \"%V\": max_entry=%z is more than "
                           "a quarter of the zone", &name, max);
        return NGX_CONF_ERROR;
    }

    zone = ngx_pcalloc(cf->pool, sizeof(ngx_http_llm_cache_zone_t));
    if (zone == NULL) {
        return NGX_CONF_ERROR;
    }

    zone->name = name;
    zone->ttl = ttl;
    zone->max_entry = (size_t) max;
    zone->redis = redis;

    shm_zone = ngx_shared_memory_add(cf, &name, size,
                                     &ngx_http_llm_cache_module);
    if (shm_zone == NULL) {
        return NGX_CONF_ERROR;
    }

    if (shm_zone->data) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "llm_cache_zone \"%V\" is duplicate", &name);
        return NGX_CONF_ERROR;
    }

    shm_zone->init = ngx_http_llm_cache_init_zone;
    shm_zone->data = zone;

    zone->shm_zone = shm_zone;

    zp = ngx_array_push(&cmcf->zones);
    if (zp == NULL) {
        return NGX_CONF_ERROR;
    }

    *zp = zone;

    return NGX_CONF_OK;
}


/* llm_cache NAME | off; */

static char *
ngx_http_llm_cache(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_llm_cache_loc_conf_t *clcf = conf;

    ngx_str_t                       *value;
    ngx_http_llm_cache_ref_t        *ref;
    ngx_http_llm_cache_main_conf_t  *cmcf;

    if (clcf->shm_zone != NGX_CONF_UNSET_PTR) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (ngx_strcmp(value[1].data, "off") == 0) {
        clcf->shm_zone = NULL;
        return NGX_CONF_OK;
    }

    clcf->shm_zone = ngx_shared_memory_add(cf, &value[1], 0,
                                           &ngx_http_llm_cache_module);
    if (clcf->shm_zone == NULL) {
        return NGX_CONF_ERROR;
    }

    /* checked once the http block is read: zones may be declared later */

    cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_llm_cache_module);

    ref = ngx_array_push(&cmcf->refs);
    if (ref == NULL) {
        return NGX_CONF_ERROR;
    }

    ref->shm_zone = clcf->shm_zone;
    ref->file = cf->conf_file->file.name.data;
    ref->line = cf->conf_file->line;

    return NGX_CONF_OK;
}


/* llm_cache_scope $var ...; ("" alone: shared by every caller) */

static char *
ngx_http_llm_cache_scope_slot(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_llm_cache_loc_conf_t *clcf = conf;

    ngx_str_t                         *value;
    ngx_uint_t                         i;
    ngx_http_complex_value_t          *cv;
    ngx_http_compile_complex_value_t   ccv;

    if (clcf->scope != NGX_CONF_UNSET_PTR) {
        return "is duplicate";
    }

    clcf->scope = ngx_array_create(cf->pool, cf->args->nelts - 1,
                                   sizeof(ngx_http_complex_value_t));
    if (clcf->scope == NULL) {
        return NGX_CONF_ERROR;
    }

    value = cf->args->elts;

    for (i = 1; i < cf->args->nelts; i++) {
        cv = ngx_array_push(clcf->scope);
        if (cv == NULL) {
            return NGX_CONF_ERROR;
        }

        ngx_memzero(&ccv, sizeof(ngx_http_compile_complex_value_t));

        ccv.cf = cf;
        ccv.value = &value[i];
        ccv.complex_value = cv;

        if (ngx_http_compile_complex_value(&ccv) != NGX_OK) {
            return NGX_CONF_ERROR;
        }
    }

    return NGX_CONF_OK;
}


/* llm_cache_semantic THRESHOLD | on | off; (cosine, 0 < THRESHOLD <= 1) */

static char *
ngx_http_llm_cache_semantic(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_llm_cache_loc_conf_t *clcf = conf;

    ngx_int_t   n;
    ngx_str_t  *value;

    if (clcf->semantic != NGX_CONF_UNSET) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (ngx_strcmp(value[1].data, "off") == 0) {
        clcf->semantic = 0;
        return NGX_CONF_OK;
    }

    if (ngx_strcmp(value[1].data, "on") == 0) {
        clcf->semantic = NGX_HTTP_LLM_CACHE_THRESHOLD;
        return NGX_CONF_OK;
    }

    n = ngx_atofp(value[1].data, value[1].len, 3);

    if (n <= 0 || n > 1000) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "llm_cache_semantic: invalid threshold \"%V\" "
                           "(a cosine similarity above 0 and at most 1, "
                           "with up to 3 decimals, e.g. 0.8; or on, off)",
                           &value[1]);
        return NGX_CONF_ERROR;
    }

    clcf->semantic = n;

    return NGX_CONF_OK;
}


/* llm_cache_embedder builtin | URI [model=NAME] [timeout=TIME]; */

static char *
ngx_http_llm_cache_embedder(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_llm_cache_loc_conf_t *clcf = conf;

    u_char      *eq;
    ngx_str_t   *value, s;
    ngx_uint_t   i, j;

    if (clcf->embedder != NGX_CONF_UNSET) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (ngx_strcmp(value[1].data, "builtin") == 0) {

        if (cf->args->nelts > 2) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "llm_cache_embedder builtin takes no "
                               "parameters, \"%V\" given", &value[2]);
            return NGX_CONF_ERROR;
        }

        clcf->embedder = NGX_HTTP_LLM_CACHE_BUILTIN;
        return NGX_CONF_OK;
    }

    if (value[1].len < 2 || value[1].data[0] != '/') {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "llm_cache_embedder \"%V\": \"builtin\" or the "
                           "URI of a location (starting with \"/\") that "
                           "proxies to an OpenAI-compatible /v1/embeddings",
                           &value[1]);
        return NGX_CONF_ERROR;
    }

    clcf->embedder = NGX_HTTP_LLM_CACHE_REMOTE;
    clcf->embedder_uri = value[1];
    ngx_str_set(&clcf->embedder_model, "text-embedding-3-small");
    clcf->embedder_timeout = NGX_HTTP_LLM_CACHE_EMBED_TIMEOUT;
    clcf->embedder_scripts = NGX_HTTP_LLM_SCRIPT_ALL;

    for (i = 2; i < cf->args->nelts; i++) {

        /* each parameter once: "scripts=latin scripts=han" is an error */

        eq = ngx_strlchr(value[i].data, value[i].data + value[i].len, '=');

        for (j = 2; eq && j < i; j++) {
            if (value[j].len > (size_t) (eq - value[i].data)
                && ngx_strncmp(value[j].data, value[i].data,
                               eq - value[i].data + 1) == 0)
            {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "llm_cache_embedder: duplicate parameter "
                                   "\"%V\"", &value[i]);
                return NGX_CONF_ERROR;
            }
        }

        if (ngx_strncmp(value[i].data, "model=", 6) == 0
            && value[i].len > 6)
        {
            clcf->embedder_model.data = value[i].data + 6;
            clcf->embedder_model.len = value[i].len - 6;
            continue;
        }

        if (ngx_strncmp(value[i].data, "timeout=", 8) == 0) {
            s.data = value[i].data + 8;
            s.len = value[i].len - 8;

            clcf->embedder_timeout = ngx_parse_time(&s, 0);

            if (clcf->embedder_timeout == (ngx_msec_t) NGX_ERROR
                || clcf->embedder_timeout == 0)
            {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "llm_cache_embedder: invalid timeout "
                                   "\"%V\" (a time above 0, e.g. 500ms)",
                                   &s);
                return NGX_CONF_ERROR;
            }

            continue;
        }

        if (ngx_strncmp(value[i].data, "scripts=", 8) == 0) {
            if (ngx_http_llm_cache_scripts(cf, &value[i], clcf)
                != NGX_CONF_OK)
            {
                return NGX_CONF_ERROR;
            }

            continue;
        }

        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "llm_cache_embedder: invalid parameter \"%V\" "
                           "(model=NAME, timeout=TIME or scripts=LIST)",
                           &value[i]);
        return NGX_CONF_ERROR;
    }

    /* entries of another embedder or model are never compared */

    clcf->embedder_tag = ngx_crc32_short(clcf->embedder_uri.data,
                                         clcf->embedder_uri.len)
                         ^ (ngx_crc32_short(clcf->embedder_model.data,
                                            clcf->embedder_model.len)
                            * 16777619);

    return NGX_CONF_OK;
}


/* scripts=latin,cyrillic,...: the scripts the embedder reads */

static char *
ngx_http_llm_cache_scripts(ngx_conf_t *cf, ngx_str_t *value,
    ngx_http_llm_cache_loc_conf_t *clcf)
{
    u_char    *p, *last, *comma;
    uint32_t   script, mask;

    p = value->data + 8;
    last = value->data + value->len;
    mask = 0;

    if (p == last) {
        goto invalid;
    }

    while (p < last) {
        comma = ngx_strlchr(p, last, ',');
        if (comma == NULL) {
            comma = last;
        }

        script = ngx_http_llm_embed_script(p, comma - p);

        if (script == 0) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "llm_cache_embedder: unknown script \"%*s\" "
                               "in \"%V\" (latin, greek, cyrillic, armenian, "
                               "hebrew, arabic, devanagari, bengali, thai, "
                               "georgian, hangul, han, kana, or all)",
                               (size_t) (comma - p), p, value);
            return NGX_CONF_ERROR;
        }

        mask |= script;
        p = comma + 1;

        if (comma + 1 == last) {
            goto invalid;
        }
    }

    clcf->embedder_scripts = mask;

    return NGX_CONF_OK;

invalid:

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "llm_cache_embedder: invalid \"%V\" (scripts= and a "
                       "list of scripts separated by commas)", value);
    return NGX_CONF_ERROR;
}


static void *
ngx_http_llm_cache_create_main_conf(ngx_conf_t *cf)
{
    ngx_http_llm_cache_main_conf_t  *cmcf;

    cmcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_llm_cache_main_conf_t));
    if (cmcf == NULL) {
        return NULL;
    }

    if (ngx_array_init(&cmcf->refs, cf->pool, 4,
                       sizeof(ngx_http_llm_cache_ref_t))
        != NGX_OK
        || ngx_array_init(&cmcf->zones, cf->pool, 4,
                          sizeof(ngx_http_llm_cache_zone_t *))
           != NGX_OK)
    {
        return NULL;
    }

    return cmcf;
}


/* after the http block: every llm_cache names a declared zone */

static char *
ngx_http_llm_cache_init_main_conf(ngx_conf_t *cf, void *conf)
{
    ngx_http_llm_cache_main_conf_t *cmcf = conf;

    ngx_uint_t                 i;
    ngx_http_llm_cache_ref_t  *ref;

    ref = cmcf->refs.elts;

    for (i = 0; i < cmcf->refs.nelts; i++) {
        if (ref[i].shm_zone->data == NULL) {
            ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                          "llm_cache \"%V\": no llm_cache_zone with this "
                          "name in %s:%ui", &ref[i].shm_zone->shm.name,
                          ref[i].file, ref[i].line);
            return NGX_CONF_ERROR;
        }
    }

    return NGX_CONF_OK;
}


static void *
ngx_http_llm_cache_create_loc_conf(ngx_conf_t *cf)
{
    ngx_http_llm_cache_loc_conf_t  *conf;

    conf = ngx_pcalloc(cf->pool, sizeof(ngx_http_llm_cache_loc_conf_t));
    if (conf == NULL) {
        return NULL;
    }

    conf->shm_zone = NGX_CONF_UNSET_PTR;
    conf->scope = NGX_CONF_UNSET_PTR;
    conf->bypass = NGX_CONF_UNSET_PTR;
    conf->semantic = NGX_CONF_UNSET;
    conf->embedder = NGX_CONF_UNSET;

    return conf;
}


static char *
ngx_http_llm_cache_merge_loc_conf(ngx_conf_t *cf, void *parent, void *child)
{
    ngx_http_llm_cache_loc_conf_t *prev = parent;
    ngx_http_llm_cache_loc_conf_t *conf = child;

    ngx_conf_merge_ptr_value(conf->shm_zone, prev->shm_zone, NULL);
    ngx_conf_merge_ptr_value(conf->scope, prev->scope, NULL);
    ngx_conf_merge_ptr_value(conf->bypass, prev->bypass, NULL);
    ngx_conf_merge_value(conf->semantic, prev->semantic, 0);
    if (conf->embedder == NGX_CONF_UNSET) {
        conf->embedder = (prev->embedder == NGX_CONF_UNSET)
                         ? NGX_HTTP_LLM_CACHE_BUILTIN : prev->embedder;
        conf->embedder_uri = prev->embedder_uri;
        conf->embedder_model = prev->embedder_model;
        conf->embedder_timeout = prev->embedder_timeout;
        conf->embedder_tag = prev->embedder_tag;
        conf->embedder_scripts = prev->embedder_scripts;
    }

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_http_llm_cache_preconfiguration(ngx_conf_t *cf)
{
    ngx_http_variable_t  *var, *v;

    for (v = ngx_http_llm_cache_vars; v->name.len; v++) {
        var = ngx_http_add_variable(cf, &v->name, v->flags);
        if (var == NULL) {
            return NGX_ERROR;
        }

        var->get_handler = v->get_handler;
        var->data = v->data;
    }

    return NGX_OK;
}


/* the answer's events, parsed: captured while a miss is armed */

static void
ngx_http_llm_cache_event_hook(ngx_http_request_t *r, ngx_http_llm_ctx_t *ctx,
    ngx_http_llm_json_t *json)
{
    if (ctx->cache_collect) {
        ngx_http_llm_cache_event(r, ctx, json);
    }
}


static ngx_int_t
ngx_http_llm_cache_postconfiguration(ngx_conf_t *cf)
{
    ngx_http_llm_hook_t  *h;

    ngx_http_next_header_filter = ngx_http_top_header_filter;
    ngx_http_top_header_filter = ngx_http_llm_cache_header_filter;

    /* the pipeline's hooks (see ngx_http_llm_module.h) */

    h = ngx_http_llm_add_hook(cf, NGX_HTTP_LLM_HOOK_ANSWER);
    if (h == NULL) {
        return NGX_ERROR;
    }

    h->request = ngx_http_llm_cache_lookup;

    h = ngx_http_llm_add_hook(cf, NGX_HTTP_LLM_HOOK_EVENT);
    if (h == NULL) {
        return NGX_ERROR;
    }

    h->json = ngx_http_llm_cache_event_hook;

    h = ngx_http_llm_add_hook(cf, NGX_HTTP_LLM_HOOK_END);
    if (h == NULL) {
        return NGX_ERROR;
    }

    h->end = ngx_http_llm_cache_end;

    return ngx_http_llm_add_counters(cf, NGX_HTTP_LLM_COUNTERS_CACHE,
                                     NGX_HTTP_LLM_COUNTERS_CACHE,
                                     ngx_http_llm_cache_status_size,
                                     ngx_http_llm_cache_status);
}


static void
ngx_http_llm_cache_exit_process(ngx_cycle_t *cycle)
{
#if (NGX_OPENSSL)
    if (ngx_http_llm_cache_md) {
        EVP_MD_CTX_free(ngx_http_llm_cache_md);
        ngx_http_llm_cache_md = NULL;
    }
#endif
}


/*
 * The Responses API, streamed: one message item with one output_text part
 * is kept (reasoning items are left out); function calls, other tools'
 * items, refusals, annotations (citations) and answers that did not
 * complete are not stored.
 */

static void
ngx_http_llm_cache_responses_event(ngx_http_request_t *r,
    ngx_http_llm_ctx_t *ctx, ngx_http_llm_cache_ctx_t *cctx,
    ngx_http_llm_json_t *json)
{
    size_t         len;
    u_char        *type;
    uint32_t       t, v;
    ngx_str_t      item;

    t = ngx_http_llm_cache_get(json, 0, "type");

    if (!ngx_http_llm_cache_is(json, t, NGX_HTTP_LLM_JSON_STRING)) {
        return;
    }

    ngx_http_llm_json_raw_string(json, t, (const u_char **) &type, &len);

#define ngx_http_llm_cache_type_is(s)                                         \
    (len == sizeof(s) - 1 && ngx_strncmp(type, s, len) == 0)

    if (ngx_http_llm_cache_type_is("response.output_text.delta")) {
        v = ngx_http_llm_cache_get(json, 0, "delta");

        if (ngx_http_llm_cache_is(json, v, NGX_HTTP_LLM_JSON_STRING)
            && ngx_http_llm_cache_append(r, cctx, json, v) != NGX_OK)
        {
            goto failed;
        }

        return;
    }

    if (ngx_http_llm_cache_type_is("response.created")
        || ngx_http_llm_cache_type_is("response.completed"))
    {
        v = ngx_http_llm_cache_get(json, 0, "response");

        if (cctx->model.len == 0
            && ngx_http_llm_cache_copy(r, json,
                                       ngx_http_llm_cache_get(json, v,
                                                              "model"),
                                       NGX_HTTP_LLM_CACHE_MAX_MODEL,
                                       &cctx->model)
               != NGX_OK)
        {
            goto failed;
        }

        if (ngx_http_llm_cache_type_is("response.completed")) {
            ngx_str_set(&cctx->finish, "stop");   /* completed */
        }

        return;
    }

    if (ngx_http_llm_cache_type_is("response.output_item.added")) {
        v = ngx_http_llm_cache_get(json, 0, "item");
        v = ngx_http_llm_cache_get(json, v, "type");

        if (!ngx_http_llm_cache_is(json, v, NGX_HTTP_LLM_JSON_STRING)) {
            goto failed;
        }

        ngx_http_llm_json_raw_string(json, v, (const u_char **) &item.data,
                                     &item.len);

        if (item.len == 9 && ngx_strncmp(item.data, "reasoning", 9) == 0) {
            return;
        }

        if (item.len == 7 && ngx_strncmp(item.data, "message", 7) == 0
            && !cctx->message)
        {
            /* the first message item: the only one kept */
            cctx->message = 1;
            return;
        }

        goto failed;
    }

    if (ngx_http_llm_cache_type_is("response.content_part.added")) {
        v = ngx_http_llm_cache_get(json, 0, "content_index");

        if (ngx_http_llm_cache_is(json, v, NGX_HTTP_LLM_JSON_NUMBER)
            && json->tokens[v].end - json->tokens[v].start == 1
            && json->data[json->tokens[v].start] == '0')
        {
            /* a summary part of a reasoning item, or the message's text */
            return;
        }

        goto failed;
    }

    if (ngx_http_llm_cache_type_is("response.refusal.delta")
        || ngx_http_llm_cache_type_is("response.output_text.annotation.added")
        || ngx_http_llm_cache_type_is("response.incomplete")
        || ngx_http_llm_cache_type_is("response.failed"))
    {
        goto failed;
    }

#undef ngx_http_llm_cache_type_is

    return;

failed:

    ngx_log_debug0(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "llm cache: the answer will not be stored");

    cctx->failed = 1;
}


/* a Responses API JSON answer: the same rules */

static ngx_int_t
ngx_http_llm_cache_responses_json(ngx_http_request_t *r,
    ngx_http_llm_cache_ctx_t *cctx, ngx_http_llm_json_t *json)
{
    size_t     len;
    u_char    *type;
    uint32_t   t, item, c, v;
    ngx_uint_t messages;

    t = ngx_http_llm_cache_get(json, 0, "status");

    if (!ngx_http_llm_cache_is(json, t, NGX_HTTP_LLM_JSON_STRING)) {
        return NGX_DECLINED;
    }

    ngx_http_llm_json_raw_string(json, t, (const u_char **) &type, &len);

    if (len != 9 || ngx_strncmp(type, "completed", 9) != 0) {
        return NGX_DECLINED;
    }

    t = ngx_http_llm_cache_get(json, 0, "output");

    if (!ngx_http_llm_cache_is(json, t, NGX_HTTP_LLM_JSON_ARRAY)) {
        return NGX_DECLINED;
    }

    messages = 0;

    for (item = ngx_http_llm_json_first(json, t);
         item != NGX_HTTP_LLM_NONE;
         item = json->tokens[item].next)
    {
        v = ngx_http_llm_cache_get(json, item, "type");

        if (!ngx_http_llm_cache_is(json, v, NGX_HTTP_LLM_JSON_STRING)) {
            return NGX_DECLINED;
        }

        ngx_http_llm_json_raw_string(json, v, (const u_char **) &type, &len);

        if (len == 9 && ngx_strncmp(type, "reasoning", 9) == 0) {
            continue;
        }

        if (len != 7 || ngx_strncmp(type, "message", 7) != 0
            || messages++)
        {
            return NGX_DECLINED;
        }

        c = ngx_http_llm_cache_get(json, item, "content");

        if (!ngx_http_llm_cache_is(json, c, NGX_HTTP_LLM_JSON_ARRAY)
            || json->tokens[c].size != 1)
        {
            return NGX_DECLINED;
        }

        c = ngx_http_llm_json_first(json, c);
        v = ngx_http_llm_cache_get(json, c, "type");

        if (!ngx_http_llm_cache_is(json, v, NGX_HTTP_LLM_JSON_STRING)) {
            return NGX_DECLINED;
        }

        ngx_http_llm_json_raw_string(json, v, (const u_char **) &type, &len);

        if (len != 11 || ngx_strncmp(type, "output_text", 11) != 0) {
            return NGX_DECLINED;
        }

        v = ngx_http_llm_cache_get(json, c, "annotations");

        if (ngx_http_llm_cache_is(json, v, NGX_HTTP_LLM_JSON_ARRAY)
            && json->tokens[v].size)
        {
            return NGX_DECLINED;
        }

        v = ngx_http_llm_cache_get(json, c, "text");

        if (!ngx_http_llm_cache_is(json, v, NGX_HTTP_LLM_JSON_STRING)
            || ngx_http_llm_cache_append(r, cctx, json, v) != NGX_OK)
        {
            return NGX_DECLINED;
        }
    }

    if (messages != 1) {
        return NGX_DECLINED;
    }

    ngx_str_set(&cctx->finish, "stop");   /* completed */

    return NGX_OK;
}


/*
 * The Responses API: a response object, or its events: created,
 * in_progress, the message item and its output_text part added, the text
 * in deltas, the text, part and item done, completed (with the usage).
 */

static ngx_buf_t *
ngx_http_llm_cache_responses(ngx_http_request_t *r, ngx_http_llm_ctx_t *ctx,
    ngx_http_llm_cache_ctx_t *cctx)
{
    u_char     *p, *text, *last;
    u_char      id[64], msg[64], *id_end, *msg_end;
    size_t      len, piece, pieces, model_len, text_len;
    time_t      created;
    ngx_buf_t  *b;
    ngx_int_t   seq;

    created = ngx_time();

    id_end = ngx_cpymem(id, "resp_", sizeof("resp_") - 1);
    id_end = ngx_http_llm_cache_id(id_end);
    msg_end = ngx_cpymem(msg, "msg_", sizeof("msg_") - 1);
    msg_end = ngx_http_llm_cache_id(msg_end);

    model_len = ngx_http_llm_json_encoded_len(cctx->model.data,
                                              cctx->model.len);
    text_len = ngx_http_llm_json_encoded_len(cctx->text.data,
                                             cctx->text.len);

    pieces = cctx->text.len / NGX_HTTP_LLM_CACHE_MIN_PIECE + 2;

    len = 5 * text_len + pieces * (256 + (msg_end - msg))
          + 4096 + 3 * model_len + 3 * (id_end - id) + 6 * (msg_end - msg);

    b = ngx_create_temp_buf(r->pool, len);
    if (b == NULL) {
        return NULL;
    }

    p = b->last;

#define ngx_http_llm_cache_response(p, status)                                \
    p = ngx_cpymem(p, "{\"id\":\"", sizeof("{\"id\":\"") - 1);               \
    p = ngx_cpymem(p, id, id_end - id);                                       \
    p = ngx_sprintf(p, "\",\"object\":\"response\",\"created_at\":%T,"       \
                    "\"status\":\"" status "\",\"model\":\"", created);       \
    p = ngx_http_llm_json_encode_string(p, cctx->model.data,                  \
                                        cctx->model.len);                     \
    p = ngx_cpymem(p, "\",", 2)

#define ngx_http_llm_cache_item(p, status)                                    \
    p = ngx_cpymem(p, "{\"id\":\"", sizeof("{\"id\":\"") - 1);               \
    p = ngx_cpymem(p, msg, msg_end - msg);                                    \
    p = ngx_cpymem(p, "\",\"type\":\"message\",\"status\":\"" status         \
                   "\",\"role\":\"assistant\",\"content\":",                  \
                   sizeof("\",\"type\":\"message\",\"status\":\"" status      \
                          "\",\"role\":\"assistant\",\"content\":") - 1)

#define ngx_http_llm_cache_part(p)                                            \
    p = ngx_cpymem(p, "{\"type\":\"output_text\",\"annotations\":[],"        \
                   "\"text\":\"",                                             \
                   sizeof("{\"type\":\"output_text\",\"annotations\":[],"     \
                          "\"text\":\"") - 1);                                \
    p = ngx_http_llm_json_encode_string(p, cctx->text.data,                   \
                                        cctx->text.len);                      \
    p = ngx_cpymem(p, "\"}", 2)

#define ngx_http_llm_cache_event_head(p, name)                                \
    p = ngx_sprintf(p, "event: " name "\ndata: {\"type\":\"" name "\","      \
                    "\"sequence_number\":%i,", seq++)

#define ngx_http_llm_cache_text_ids(p)                                        \
    p = ngx_cpymem(p, "\"item_id\":\"", sizeof("\"item_id\":\"") - 1);       \
    p = ngx_cpymem(p, msg, msg_end - msg);                                    \
    p = ngx_cpymem(p, "\",\"output_index\":0,\"content_index\":0,",          \
                   sizeof("\",\"output_index\":0,\"content_index\":0,") - 1)

    if (!ctx->req.stream) {
        ngx_http_llm_cache_response(p, "completed");
        p = ngx_cpymem(p, "\"output\":[", sizeof("\"output\":[") - 1);
        ngx_http_llm_cache_item(p, "completed");
        *p++ = '[';
        ngx_http_llm_cache_part(p);
        p = ngx_sprintf(p, "]}],\"usage\":{\"input_tokens\":%uD,"
                        "\"input_tokens_details\":{\"cached_tokens\":0},"
                        "\"output_tokens\":%uD,"
                        "\"output_tokens_details\":{\"reasoning_tokens\":0},"
                        "\"total_tokens\":%uD}}\n",
                        cctx->prompt_tokens, cctx->completion_tokens,
                        cctx->prompt_tokens + cctx->completion_tokens);

        b->last = p;
        return b;
    }

    seq = 0;

    ngx_http_llm_cache_event_head(p, "response.created");
    p = ngx_cpymem(p, "\"response\":", sizeof("\"response\":") - 1);
    ngx_http_llm_cache_response(p, "in_progress");
    p = ngx_cpymem(p, "\"output\":[],\"usage\":null}}\n\n",
                   sizeof("\"output\":[],\"usage\":null}}\n\n") - 1);

    ngx_http_llm_cache_event_head(p, "response.in_progress");
    p = ngx_cpymem(p, "\"response\":", sizeof("\"response\":") - 1);
    ngx_http_llm_cache_response(p, "in_progress");
    p = ngx_cpymem(p, "\"output\":[],\"usage\":null}}\n\n",
                   sizeof("\"output\":[],\"usage\":null}}\n\n") - 1);

    ngx_http_llm_cache_event_head(p, "response.output_item.added");
    p = ngx_cpymem(p, "\"output_index\":0,\"item\":",
                   sizeof("\"output_index\":0,\"item\":") - 1);
    ngx_http_llm_cache_item(p, "in_progress");
    p = ngx_cpymem(p, "[]}}\n\n", sizeof("[]}}\n\n") - 1);

    ngx_http_llm_cache_event_head(p, "response.content_part.added");
    ngx_http_llm_cache_text_ids(p);
    p = ngx_cpymem(p, "\"part\":{\"type\":\"output_text\",\"annotations\":[],"
                   "\"text\":\"\"}}\n\n",
                   sizeof("\"part\":{\"type\":\"output_text\","
                          "\"annotations\":[],\"text\":\"\"}}\n\n") - 1);

    text = cctx->text.data;
    last = text + cctx->text.len;

    while (text < last) {
        piece = ngx_http_llm_cache_piece(text, last);

        ngx_http_llm_cache_event_head(p, "response.output_text.delta");
        ngx_http_llm_cache_text_ids(p);
        p = ngx_cpymem(p, "\"delta\":\"", sizeof("\"delta\":\"") - 1);
        p = ngx_http_llm_json_encode_string(p, text, piece);
        p = ngx_cpymem(p, "\"}\n\n", sizeof("\"}\n\n") - 1);

        text += piece;
    }

    ngx_http_llm_cache_event_head(p, "response.output_text.done");
    ngx_http_llm_cache_text_ids(p);
    p = ngx_cpymem(p, "\"text\":\"", sizeof("\"text\":\"") - 1);
    p = ngx_http_llm_json_encode_string(p, cctx->text.data, cctx->text.len);
    p = ngx_cpymem(p, "\"}\n\n", sizeof("\"}\n\n") - 1);

    ngx_http_llm_cache_event_head(p, "response.content_part.done");
    ngx_http_llm_cache_text_ids(p);
    p = ngx_cpymem(p, "\"part\":", sizeof("\"part\":") - 1);
    ngx_http_llm_cache_part(p);
    p = ngx_cpymem(p, "}\n\n", sizeof("}\n\n") - 1);

    ngx_http_llm_cache_event_head(p, "response.output_item.done");
    p = ngx_cpymem(p, "\"output_index\":0,\"item\":",
                   sizeof("\"output_index\":0,\"item\":") - 1);
    ngx_http_llm_cache_item(p, "completed");
    *p++ = '[';
    ngx_http_llm_cache_part(p);
    p = ngx_cpymem(p, "]}}\n\n", sizeof("]}}\n\n") - 1);

    ngx_http_llm_cache_event_head(p, "response.completed");
    p = ngx_cpymem(p, "\"response\":", sizeof("\"response\":") - 1);
    ngx_http_llm_cache_response(p, "completed");
    p = ngx_cpymem(p, "\"output\":[", sizeof("\"output\":[") - 1);
    ngx_http_llm_cache_item(p, "completed");
    *p++ = '[';
    ngx_http_llm_cache_part(p);
    p = ngx_sprintf(p, "]}],\"usage\":{\"input_tokens\":%uD,"
                    "\"input_tokens_details\":{\"cached_tokens\":0},"
                    "\"output_tokens\":%uD,"
                    "\"output_tokens_details\":{\"reasoning_tokens\":0},"
                    "\"total_tokens\":%uD}}}\n\n",
                    cctx->prompt_tokens, cctx->completion_tokens,
                    cctx->prompt_tokens + cctx->completion_tokens);

#undef ngx_http_llm_cache_response
#undef ngx_http_llm_cache_item
#undef ngx_http_llm_cache_part
#undef ngx_http_llm_cache_event_head
#undef ngx_http_llm_cache_text_ids

    b->last = p;

    return b;
}


/*
 * redis=NAME: the exact entries are shared by the fleet.  A complete answer
 * stored here is also SET in Redis, with the zone's TTL, under its key's
 * digest (the scope is part of it: never across tenants); an exact miss
 * here asks Redis before the upstream, the request waiting at most the
 * llm_redis timeout.  A Redis failure is a miss.
 *
 * The value: "LLC1", created (8 bytes), prompt and completion tokens (4
 * each), the text's length (4), the stop's (2), the model's and the
 * finish reason's (1 each), then model, finish, stop, text; integers in
 * the host's order (the fleet runs one build).
 */

#define NGX_HTTP_LLM_CACHE_REDIS_HEADER  28


static void ngx_http_llm_cache_redis_found(ngx_http_llm_redis_cmd_t *cmd,
    ngx_int_t rc, ngx_http_llm_resp_value_t *v, size_t n);
static void ngx_http_llm_cache_redis_cleanup(void *data);


static u_char *
ngx_http_llm_cache_redis_key(u_char *p, ngx_http_llm_cache_zone_t *zone,
    u_char *digest)
{
    p = ngx_sprintf(p, "llm:cache:{%V}:", &zone->name);
    return ngx_hex_dump(p, digest, NGX_HTTP_LLM_CACHE_DIGEST);
}


static void
ngx_http_llm_cache_redis_store(ngx_http_request_t *r, ngx_http_llm_ctx_t *ctx,
    ngx_http_llm_cache_ctx_t *cctx, time_t now)
{
    u_char                     *p;
    size_t                      size;
    uint16_t                    u16;
    uint32_t                    u32;
    uint64_t                    u64;
    ngx_str_t                   argv[5];
    ngx_http_llm_cache_zone_t  *zone;

    zone = cctx->zone;

    if (zone->name.len > 256) {
        return;
    }

    size = NGX_HTTP_LLM_CACHE_REDIS_HEADER + cctx->model.len
           + cctx->finish.len + cctx->stop.len + cctx->text.len;

    p = ngx_pnalloc(r->pool, size + 512 + 2 * NGX_HTTP_LLM_CACHE_DIGEST
                             + NGX_TIME_T_LEN);
    if (p == NULL) {
        return;
    }

    argv[2].data = p;

    p = ngx_cpymem(p, "LLC1", 4);
    u64 = (uint64_t) now;
    p = ngx_cpymem(p, &u64, 8);
    u32 = (uint32_t) ngx_min(ctx->prompt_tokens, 0xffffffff);
    p = ngx_cpymem(p, &u32, 4);
    u32 = (uint32_t) ngx_min(ctx->completion_tokens, 0xffffffff);
    p = ngx_cpymem(p, &u32, 4);
    u32 = (uint32_t) cctx->text.len;
    p = ngx_cpymem(p, &u32, 4);
    u16 = (uint16_t) cctx->stop.len;
    p = ngx_cpymem(p, &u16, 2);
    *p++ = (u_char) cctx->model.len;
    *p++ = (u_char) cctx->finish.len;
    p = ngx_cpymem(p, cctx->model.data, cctx->model.len);
    p = ngx_cpymem(p, cctx->finish.data, cctx->finish.len);
    p = ngx_cpymem(p, cctx->stop.data, cctx->stop.len);
    p = ngx_cpymem(p, cctx->text.data, cctx->text.len);

    argv[2].len = p - argv[2].data;

    argv[1].data = p;
    p = ngx_http_llm_cache_redis_key(p, zone, cctx->digest);
    argv[1].len = p - argv[1].data;

    ngx_str_set(&argv[0], "SET");
    ngx_str_set(&argv[3], "EX");

    argv[4].data = p;
    p = ngx_sprintf(p, "%T", zone->ttl);
    argv[4].len = p - argv[4].data;

    if (ngx_http_llm_redis_send(zone->redis, 5, argv, NULL, NULL) != NULL) {
        (void) ngx_atomic_fetch_add(&zone->redis->sh->cache_stores, 1);
    }
}


/* NGX_AGAIN: Redis is asked, the request waits; NGX_DECLINED: a miss */

static ngx_int_t
ngx_http_llm_cache_redis_lookup(ngx_http_request_t *r,
    ngx_http_llm_cache_ctx_t *cctx)
{
    u_char                     *p;
    ngx_str_t                   argv[2];
    ngx_pool_cleanup_t         *cln;
    ngx_http_llm_cache_zone_t  *zone;
    u_char                      key[320 + 2 * NGX_HTTP_LLM_CACHE_DIGEST];

    zone = cctx->zone;

    if (zone->name.len > 256) {
        return NGX_DECLINED;
    }

    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (cln == NULL) {
        return NGX_DECLINED;
    }

    p = ngx_http_llm_cache_redis_key(key, zone, cctx->digest);

    ngx_str_set(&argv[0], "GET");
    argv[1].data = key;
    argv[1].len = p - key;

    cctx->redis_cmd = ngx_http_llm_redis_send(zone->redis, 2, argv,
                                              ngx_http_llm_cache_redis_found,
                                              cctx);
    if (cctx->redis_cmd == NULL) {
        return NGX_DECLINED;
    }

    /* the request may go before the reply: the reply is then ignored */

    cln->handler = ngx_http_llm_cache_redis_cleanup;
    cln->data = cctx;

    return NGX_AGAIN;
}


static void
ngx_http_llm_cache_redis_cleanup(void *data)
{
    ngx_http_llm_cache_ctx_t *cctx = data;

    if (cctx->redis_cmd) {
        cctx->redis_cmd->handler = NULL;
        cctx->redis_cmd = NULL;
    }
}


/* an entry of the value, checked: NGX_OK, its fields in cctx */

static ngx_int_t
ngx_http_llm_cache_redis_decode(ngx_http_request_t *r,
    ngx_http_llm_cache_ctx_t *cctx, ngx_http_llm_resp_value_t *v)
{
    u_char          *p;
    size_t           len;
    time_t           now;
    uint16_t         stop_len;
    uint32_t         prompt, completion, text_len;
    uint64_t         created;
    ngx_uint_t       model_len, finish_len;
    const u_char    *d;

    if (v->type != NGX_HTTP_LLM_RESP_BULK
        || v->len < NGX_HTTP_LLM_CACHE_REDIS_HEADER
        || ngx_memcmp(v->data, "LLC1", 4) != 0)
    {
        return NGX_DECLINED;
    }

    d = v->data + 4;

    ngx_memcpy(&created, d, 8);
    ngx_memcpy(&prompt, d + 8, 4);
    ngx_memcpy(&completion, d + 12, 4);
    ngx_memcpy(&text_len, d + 16, 4);
    ngx_memcpy(&stop_len, d + 20, 2);
    model_len = d[22];
    finish_len = d[23];

    len = (size_t) text_len + stop_len + model_len + finish_len;

    if (len != v->len - NGX_HTTP_LLM_CACHE_REDIS_HEADER || text_len == 0
        || text_len > cctx->zone->max_entry)
    {
        return NGX_DECLINED;
    }

    /* this zone's TTL applies */

    now = ngx_time();

    if ((time_t) created > now || now - (time_t) created >= cctx->zone->ttl) {
        return NGX_DECLINED;
    }

    p = ngx_pnalloc(r->pool, len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(p, v->data + NGX_HTTP_LLM_CACHE_REDIS_HEADER, len);

    cctx->model.data = p;
    cctx->model.len = model_len;
    p += model_len;

    cctx->finish.data = p;
    cctx->finish.len = finish_len;
    p += finish_len;

    cctx->stop.data = p;
    cctx->stop.len = stop_len;
    p += stop_len;

    cctx->text.data = p;
    cctx->text.len = text_len;

    cctx->prompt_tokens = prompt;
    cctx->completion_tokens = completion;
    cctx->created = (time_t) created;

    return NGX_OK;
}


static void
ngx_http_llm_cache_redis_found(ngx_http_llm_redis_cmd_t *cmd, ngx_int_t rc,
    ngx_http_llm_resp_value_t *v, size_t n)
{
    ngx_http_llm_cache_ctx_t *cctx = cmd->data;

    uint64_t                        nano;
    ngx_connection_t               *c;
    ngx_http_request_t             *r;
    ngx_http_llm_ctx_t             *ctx;
    ngx_http_llm_cache_zone_t      *zone;
    ngx_http_llm_cache_loc_conf_t  *clcf;

    cctx->redis_cmd = NULL;

    r = cctx->request;
    ctx = cctx->ctx;
    c = r->connection;
    zone = cctx->zone;

    rc = (rc == NGX_OK) ? ngx_http_llm_cache_redis_decode(r, cctx, v)
                        : NGX_DECLINED;

    if (rc == NGX_OK) {
        cctx->status = NGX_HTTP_LLM_CACHE_HIT;
        cctx->store = 0;
        cctx->similarity = 1;
        r->content_handler = ngx_http_llm_cache_handler;

        if (ngx_http_llm_cost_of(ctx, cctx->prompt_tokens,
                                 cctx->completion_tokens, &nano)
            != NGX_OK)
        {
            nano = 0;
        }

        ngx_shmtx_lock(&zone->shpool->mutex);
        zone->sh->hits++;
        zone->sh->tokens_saved += cctx->prompt_tokens
                                  + cctx->completion_tokens;
        zone->sh->nano_usd_saved += nano;
        ngx_shmtx_unlock(&zone->shpool->mutex);

        (void) ngx_atomic_fetch_add(&zone->redis->sh->cache_hits, 1);

        ngx_log_debug1(NGX_LOG_DEBUG_HTTP, c->log, 0,
                       "llm cache \"%V\": hit in Redis", &zone->name);

        rc = NGX_OK;

    } else if (rc == NGX_ERROR) {
        rc = NGX_HTTP_INTERNAL_SERVER_ERROR;

    } else {
        (void) ngx_atomic_fetch_add(&zone->redis->sh->cache_misses, 1);

        /* the rest of the lookup: the semantic level */

        clcf = ngx_http_get_module_loc_conf(r, ngx_http_llm_cache_module);

        if (cctx->remote
            && ngx_http_llm_cache_embed_start(r, ctx, cctx, clcf) == NGX_AGAIN)
        {
            /* the embedder resumes the request */
            return;
        }

        rc = ngx_http_llm_cache_semantic_end(r, ctx, cctx);

        if (rc == NGX_ERROR) {
            rc = NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
    }

    ngx_http_llm_resume(r, ctx, rc);
    ngx_http_run_posted_requests(c);
}
