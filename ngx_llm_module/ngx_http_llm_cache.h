
/*
 * Copyright (C) ngx_llm_module authors
 *
 * The answer cache's internal header, shared by its files:
 *
 *   ngx_http_llm_cache_module.c    glue: the module, directives and their
 *                                  configuration, the lookup (the pipeline's
 *                                  ANSWER hook), X-LLM-Cache, variables,
 *                                  llm_status counters
 *   ngx_http_llm_cache_key.c       what is keyed, the scope, the digest
 *   ngx_http_llm_cache_storage.c   the shared zone (no request: its own
 *                                  header, ngx_http_llm_cache_storage.h)
 *   ngx_http_llm_cache_semantic.c  the semantic key and index lookup
 *   ngx_http_llm_cache_embedder.c  a remote embedder's subrequest
 *   ngx_http_llm_cache_capture.c   the answer read as it passes, stored
 *   ngx_http_llm_cache_replay.c    a hit written in the format asked for
 *   ngx_http_llm_cache_redis.c     redis=NAME: the entries of a fleet
 *
 * Benchmark builds (bench/cache/run.sh: LLM_CACHE_BENCH=1 for config) add
 * bench/cache/ngx_http_llm_cache_bench.c.
 */


#ifndef _NGX_HTTP_LLM_CACHE_H_INCLUDED_
#define _NGX_HTTP_LLM_CACHE_H_INCLUDED_


#include "ngx_http_llm_module.h"
#include "ngx_http_llm_embed.h"
#include "ngx_http_llm_cache_storage.h"


#define NGX_HTTP_LLM_CACHE_NONE       0
#define NGX_HTTP_LLM_CACHE_MISS       1
#define NGX_HTTP_LLM_CACHE_HIT        2
#define NGX_HTTP_LLM_CACHE_BYPASS     3
#define NGX_HTTP_LLM_CACHE_SEMANTIC   4

#define NGX_HTTP_LLM_CACHE_NO_STORE   1
#define NGX_HTTP_LLM_CACHE_NO_CACHE   2

#define NGX_HTTP_LLM_CACHE_BUILTIN    1
#define NGX_HTTP_LLM_CACHE_REMOTE     2

/* a remote embedder: its vectors' dimensions at most, its default timeout */
#define NGX_HTTP_LLM_CACHE_MAX_DIM    4096
#define NGX_HTTP_LLM_CACHE_EMBED_TIMEOUT  1000

/* a remote embedder's entries compared per lookup, most recent first */
#define NGX_HTTP_LLM_CACHE_SCAN       256

/* llm_cache_semantic on: the threshold, in thousandths */
#define NGX_HTTP_LLM_CACHE_THRESHOLD  800

/* replayed stream: pieces of about this many bytes, cut at a space */
#define NGX_HTTP_LLM_CACHE_PIECE      64
#define NGX_HTTP_LLM_CACHE_MIN_PIECE  32


typedef struct {
    ngx_array_t                 refs;          /* ngx_http_llm_zone_ref_t */
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


#if (NGX_HTTP_LLM_CACHE_BENCH)

/* bench/cache/ngx_http_llm_cache_bench.c: the lookup's steps timed */

typedef struct {
    uint64_t                    t0;
    uint64_t                    key_ns;        /* time of the digest */
    uint64_t                    lookup_ns;     /* of the zone's lookup */
    uint64_t                    sem_key_ns;    /* of the embedding, digest */
    uint64_t                    sem_lookup_ns; /* of the semantic lookup */
} ngx_http_llm_cache_bench_t;

uint64_t ngx_http_llm_cache_bench_ns(void);
ngx_int_t ngx_http_llm_cache_bench_init(ngx_conf_t *cf);

#define ngx_http_llm_cache_bench_start(cctx)                                  \
    (cctx)->bench.t0 = ngx_http_llm_cache_bench_ns()
#define ngx_http_llm_cache_bench_stop(cctx, field)                            \
    (cctx)->bench.field = ngx_http_llm_cache_bench_ns() - (cctx)->bench.t0

#else

#define ngx_http_llm_cache_bench_start(cctx)
#define ngx_http_llm_cache_bench_stop(cctx, field)
#define ngx_http_llm_cache_bench_init(cf)  NGX_OK

#endif


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
    ngx_http_llm_cache_entry_t  entry;

    size_t                      text_size;     /* of the text's buffer */
    size_t                      attempt;       /* the answer read is of */

#if (NGX_HTTP_LLM_CACHE_BENCH)
    ngx_http_llm_cache_bench_t  bench;
#endif

    unsigned                    store:1;       /* store the answer */
    unsigned                    semantic:1;    /* embed or vec, sem_digest */
    unsigned                    remote:1;      /* sem_digest, vec to ask */
    unsigned                    embed_wait:1;  /* the embedder is asked */
    unsigned                    embed_gone:1;  /* the request is torn down */
    unsigned                    failed:1;      /* the answer is not kept */
    unsigned                    too_large:1;
    unsigned                    message:1;     /* Responses: its item seen */
    unsigned                    json_read:1;   /* a JSON answer: read */
    unsigned                    json_ok:1;     /* and it can be stored */
} ngx_http_llm_cache_ctx_t;


#define ngx_http_llm_cache_get(json, obj, key)                                \
    ngx_http_llm_json_object_get(json, obj, key, sizeof(key) - 1)

#define ngx_http_llm_cache_is(json, tok, t)                                   \
    ((tok) != NGX_HTTP_LLM_NONE && (json)->tokens[tok].type == (t))


extern ngx_module_t  ngx_http_llm_cache_module;


/* ngx_http_llm_cache_module.c */
ngx_int_t ngx_http_llm_cache_semantic_end(ngx_http_request_t *r,
    ngx_http_llm_ctx_t *ctx, ngx_http_llm_cache_ctx_t *cctx);
uint64_t ngx_http_llm_cache_cost(void *data, uint32_t prompt,
    uint32_t completion);

/* ngx_http_llm_cache_key.c */
ngx_int_t ngx_http_llm_cache_applies(ngx_http_request_t *r,
    ngx_http_llm_ctx_t *ctx);
ngx_uint_t ngx_http_llm_cache_control(ngx_http_request_t *r);
ngx_int_t ngx_http_llm_cache_scope(ngx_http_request_t *r,
    ngx_http_llm_cache_loc_conf_t *clcf, ngx_str_t *scope);
ngx_int_t ngx_http_llm_cache_key(ngx_http_request_t *r,
    ngx_http_llm_ctx_t *ctx, ngx_http_llm_cache_ctx_t *cctx,
    ngx_str_t *model);
ngx_int_t ngx_http_llm_cache_digest(ngx_http_request_t *r,
    ngx_http_llm_ctx_t *ctx, ngx_http_llm_cache_ctx_t *cctx,
    ngx_str_t *model, uint32_t skip, uint32_t *signature, u_char *digest);
ngx_int_t ngx_http_llm_cache_decode(ngx_pool_t *pool,
    ngx_http_llm_json_t *json, uint32_t tok, ngx_str_t *out);
void ngx_http_llm_cache_key_exit(void);

/* ngx_http_llm_cache_semantic.c */
ngx_int_t ngx_http_llm_cache_semantic_key(ngx_http_request_t *r,
    ngx_http_llm_ctx_t *ctx, ngx_http_llm_cache_ctx_t *cctx,
    ngx_http_llm_cache_loc_conf_t *clcf);
ngx_int_t ngx_http_llm_cache_semantic_fetch(ngx_http_request_t *r,
    ngx_http_llm_ctx_t *ctx, ngx_http_llm_cache_ctx_t *cctx,
    double threshold);

/* ngx_http_llm_cache_embedder.c */
ngx_int_t ngx_http_llm_cache_embed_start(ngx_http_request_t *r,
    ngx_http_llm_ctx_t *ctx, ngx_http_llm_cache_ctx_t *cctx,
    ngx_http_llm_cache_loc_conf_t *clcf);

/* ngx_http_llm_cache_capture.c */
ngx_int_t ngx_http_llm_cache_arm(ngx_http_request_t *r,
    ngx_http_llm_ctx_t *ctx, ngx_http_llm_cache_ctx_t *cctx);

/* ngx_http_llm_cache_replay.c */
ngx_int_t ngx_http_llm_cache_handler(ngx_http_request_t *r);

/* ngx_http_llm_cache_redis.c */
void ngx_http_llm_cache_redis_store(ngx_http_request_t *r,
    ngx_http_llm_ctx_t *ctx, ngx_http_llm_cache_ctx_t *cctx, time_t now);
ngx_int_t ngx_http_llm_cache_redis_lookup(ngx_http_request_t *r,
    ngx_http_llm_cache_ctx_t *cctx);


#endif /* _NGX_HTTP_LLM_CACHE_H_INCLUDED_ */
