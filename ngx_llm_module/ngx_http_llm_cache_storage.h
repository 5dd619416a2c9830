
/*
 * Copyright (C) ngx_llm_module authors
 *
 * The answer cache's storage: the shared memory zone (slab, red-black trees
 * by digest, LRU queue, TTL, reload), its entries and semantic buckets.
 * Like ngx_http_file_cache.c, it knows nothing of requests: no
 * ngx_http_request_t, no module context, no configuration of a location;
 * its callers give it digests, entries and a pool.
 */


#ifndef _NGX_HTTP_LLM_CACHE_STORAGE_H_INCLUDED_
#define _NGX_HTTP_LLM_CACHE_STORAGE_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>

#include "ngx_http_llm_embed.h"


#define NGX_HTTP_LLM_CACHE_DIGEST     16          /* bytes of the key kept */

/* node.data of an entry: it has a semantic part; a remote embedder's */
#define NGX_HTTP_LLM_CACHE_SEM        0x01
#define NGX_HTTP_LLM_CACHE_VEC        0x02

#define NGX_HTTP_LLM_CACHE_TTL        3600
#define NGX_HTTP_LLM_CACHE_MAX_ENTRY  (128 * 1024)
#define NGX_HTTP_LLM_CACHE_MAX_MODEL  255
#define NGX_HTTP_LLM_CACHE_MAX_STOP   1024

/* "full zone" warnings: at most one per zone in this many seconds */
#define NGX_HTTP_LLM_CACHE_WARN_EVERY 60


typedef struct {
    ngx_rbtree_node_t           node;          /* key: the digest's start;
                                                  left: the next entry of
                                                  its hash chain */
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


#define ngx_http_llm_cache_vec_size(vec)                                      \
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


/* the zone's state, in shared memory; starts as ngx_http_llm_shm_index_t */

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
    ngx_atomic_t                misses;        /* counted without the lock */
    ngx_atomic_t                bypassed;
    uint64_t                    stored;
    uint64_t                    evicted;
    uint64_t                    expired;
    uint64_t                    tokens_saved;
    uint64_t                    nano_usd_saved;
    uint64_t                    embed_ok;      /* remote embedder calls */
    uint64_t                    embed_errors;
    uint64_t                    embed_timeouts;
    time_t                      warned;        /* last "full" warning */
    /*
     * The entries by digest: a hash table of chains (through each entry's
     * node.left), sized by the zone (a bucket per 512 bytes).  A lookup in
     * a zone of many entries touches two or three cache lines, where the
     * tree (kept above for the layout, unused by entries) touched one per
     * level, each a cache and TLB miss in a large zone.
     */
    ngx_rbtree_node_t         **hash;          /* of entries' nodes */
    ngx_uint_t                  hash_shift;    /* 64 - log2(buckets) */
    uint64_t                    hash_seed;     /* odd, random per zone: a
                                                  client cannot aim its keys
                                                  at one bucket */
} ngx_http_llm_cache_sh_t;


typedef struct {
    ngx_str_t                   name;
    ngx_http_llm_cache_sh_t    *sh;
    ngx_slab_pool_t            *shpool;
    ngx_shm_zone_t             *shm_zone;
    time_t                      ttl;
    size_t                      max_entry;
    struct ngx_http_llm_redis_s *redis;        /* redis=NAME: shared */
} ngx_http_llm_cache_zone_t;


/* an entry's contents: a hit read, or an answer to store */

typedef struct {
    ngx_str_t                   text;
    ngx_str_t                   model;
    ngx_str_t                   finish;
    ngx_str_t                   stop;
    uint32_t                    prompt_tokens;
    uint32_t                    completion_tokens;
    time_t                      created;
} ngx_http_llm_cache_entry_t;


/* what a hit saved, in nano-USD, for the zone's counters */
typedef uint64_t (*ngx_http_llm_cache_cost_pt)(void *data, uint32_t prompt,
    uint32_t completion);


ngx_int_t ngx_http_llm_cache_init_zone(ngx_shm_zone_t *shm_zone, void *data);

/* the zone is locked */
ngx_http_llm_cache_node_t *ngx_http_llm_cache_find(
    ngx_http_llm_cache_zone_t *zone, u_char *digest);
ngx_http_llm_cache_bucket_t *ngx_http_llm_cache_find_bucket(
    ngx_http_llm_cache_zone_t *zone, u_char *digest);
ngx_http_llm_cache_sem_t *ngx_http_llm_cache_sem(
    ngx_http_llm_cache_node_t *cn);
void ngx_http_llm_cache_delete(ngx_http_llm_cache_zone_t *zone,
    ngx_http_llm_cache_node_t *cn);
ngx_uint_t ngx_http_llm_cache_expired(ngx_http_llm_cache_zone_t *zone,
    ngx_http_llm_cache_node_t *cn, time_t now);
ngx_int_t ngx_http_llm_cache_copy_node(ngx_http_llm_cache_zone_t *zone,
    ngx_http_llm_cache_node_t *cn, ngx_pool_t *pool,
    ngx_http_llm_cache_entry_t *e, ngx_http_llm_cache_cost_pt cost,
    void *data);

/* the zone is not locked */
ngx_int_t ngx_http_llm_cache_read(ngx_http_llm_cache_zone_t *zone,
    u_char *digest, ngx_pool_t *pool, ngx_http_llm_cache_entry_t *e,
    ngx_http_llm_cache_cost_pt cost, void *data);
ngx_int_t ngx_http_llm_cache_write(ngx_http_llm_cache_zone_t *zone,
    u_char *digest, ngx_http_llm_cache_entry_t *e, u_char *sem_digest,
    ngx_http_llm_cache_vec_t *vec, ngx_http_llm_embed_t *embed, time_t now,
    size_t *size, ngx_log_t *log);


#endif /* _NGX_HTTP_LLM_CACHE_STORAGE_H_INCLUDED_ */
