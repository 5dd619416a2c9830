
/*
 * Copyright (C) ngx_llm_module authors
 *
 * The answer cache's storage: entries in a shared memory zone (slab,
 * hash table by key digest, LRU queue, TTL), the semantic buckets they
 * belong to, eviction, and the zone kept across a reload.  It knows
 * nothing of requests (see ngx_http_llm_cache_storage.h): its callers give
 * it digests, entries, a pool and a log.
 */


#include "ngx_http_llm_cache_storage.h"

#include <openssl/rand.h>


static size_t ngx_http_llm_cache_node_size(ngx_http_llm_cache_node_t *cn);
static void *ngx_http_llm_cache_alloc(ngx_http_llm_cache_zone_t *zone,
    size_t size, ngx_uint_t *evicted);
static ngx_rbtree_node_t *ngx_http_llm_cache_find_digest(ngx_rbtree_t *tree,
    u_char *digest);
static void ngx_http_llm_cache_rbtree_insert_value(ngx_rbtree_node_t *temp,
    ngx_rbtree_node_t *node, ngx_rbtree_node_t *sentinel);
static void ngx_http_llm_cache_hash_insert(ngx_http_llm_cache_sh_t *sh,
    ngx_http_llm_cache_node_t *cn);
static void ngx_http_llm_cache_hash_delete(ngx_http_llm_cache_sh_t *sh,
    ngx_http_llm_cache_node_t *cn);

/* zone bytes per bucket of the hash table */
#define NGX_HTTP_LLM_CACHE_HASH_BYTES  512

/*
 * The bucket of a key: the key's first bytes (a digest's) times the zone's
 * random odd seed, the top bits.  Clients choose what is digested, and
 * finding digests whose low bits are equal is cheap; without the seed they
 * cannot know which digests share a bucket, so they cannot grow one chain.
 */
#define ngx_http_llm_cache_bucket(sh, key)                                    \
    ((ngx_uint_t) (((uint64_t) (key) * (sh)->hash_seed) >> (sh)->hash_shift))


/* a zone's state: made, or kept across a reload */

ngx_int_t
ngx_http_llm_cache_init_zone(ngx_shm_zone_t *shm_zone, void *data)
{
    ngx_http_llm_cache_zone_t  *ozone = data;

    size_t                      len;
    ngx_uint_t                  n, bits;
    ngx_http_llm_cache_zone_t  *zone;

    zone = shm_zone->data;

    if (ozone) {
        /* reload: the entries live on */
        zone->sh = ozone->sh;
        zone->shpool = ozone->shpool;
        return NGX_OK;
    }

    zone->shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;

    if (shm_zone->shm.exists) {
        zone->sh = zone->shpool->data;
        return NGX_OK;
    }

    zone->sh = ngx_slab_calloc(zone->shpool, sizeof(ngx_http_llm_cache_sh_t));
    if (zone->sh == NULL) {
        return NGX_ERROR;
    }

    zone->shpool->data = zone->sh;

    ngx_rbtree_init(&zone->sh->rbtree, &zone->sh->sentinel,
                    ngx_http_llm_cache_rbtree_insert_value);
    ngx_queue_init(&zone->sh->queue);
    ngx_rbtree_init(&zone->sh->sem_rbtree, &zone->sh->sem_sentinel,
                    ngx_http_llm_cache_rbtree_insert_value);

    /* the hash table: a power of two of buckets, one per 512 bytes */

    bits = 6;

    for (n = 64; n * 2 <= shm_zone->shm.size / NGX_HTTP_LLM_CACHE_HASH_BYTES;
         n *= 2)
    {
        bits++;
    }

    zone->sh->hash = ngx_slab_calloc(zone->shpool,
                                     n * sizeof(ngx_rbtree_node_t *));
    if (zone->sh->hash == NULL) {
        return NGX_ERROR;
    }

    zone->sh->hash_shift = 64 - bits;

    if (RAND_bytes((u_char *) &zone->sh->hash_seed, sizeof(uint64_t)) != 1) {
        zone->sh->hash_seed = ((uint64_t) ngx_random() << 42)
                              ^ ((uint64_t) ngx_random() << 21)
                              ^ (uint64_t) ngx_random();
    }

    zone->sh->hash_seed |= 1;

    len = sizeof(" in llm_cache_zone \"\"") + shm_zone->shm.name.len;

    zone->shpool->log_ctx = ngx_slab_alloc(zone->shpool, len);
    if (zone->shpool->log_ctx == NULL) {
        return NGX_ERROR;
    }

    ngx_sprintf(zone->shpool->log_ctx, " in llm_cache_zone \"%V\"%Z",
                &shm_zone->shm.name);

    zone->shpool->log_nomem = 0;

    return NGX_OK;
}


/* the zone's entry for a digest, or NULL; the zone is locked */

ngx_http_llm_cache_node_t *
ngx_http_llm_cache_find(ngx_http_llm_cache_zone_t *zone, u_char *digest)
{
    ngx_rbtree_key_t            key;
    ngx_rbtree_node_t          *node;
    ngx_http_llm_cache_node_t  *cn;

    ngx_memcpy(&key, digest, sizeof(ngx_rbtree_key_t));

    /* a chain goes through its nodes' left links */

    for (node = zone->sh->hash[ngx_http_llm_cache_bucket(zone->sh, key)];
         node;
         node = node->left)
    {
        cn = (ngx_http_llm_cache_node_t *) node;

        if (node->key == key
            && ngx_memcmp(cn->digest, digest, NGX_HTTP_LLM_CACHE_DIGEST) == 0)
        {
            return cn;
        }
    }

    return NULL;
}


static void
ngx_http_llm_cache_hash_insert(ngx_http_llm_cache_sh_t *sh,
    ngx_http_llm_cache_node_t *cn)
{
    ngx_rbtree_node_t  **head;

    head = &sh->hash[ngx_http_llm_cache_bucket(sh, cn->node.key)];

    cn->node.left = *head;
    *head = &cn->node;
}


static void
ngx_http_llm_cache_hash_delete(ngx_http_llm_cache_sh_t *sh,
    ngx_http_llm_cache_node_t *cn)
{
    ngx_rbtree_node_t  **p;

    for (p = &sh->hash[ngx_http_llm_cache_bucket(sh, cn->node.key)]; *p; p = &(*p)->left) {
        if (*p == &cn->node) {
            *p = cn->node.left;
            return;
        }
    }
}


void
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
    ngx_http_llm_cache_hash_delete(zone->sh, cn);

    zone->sh->entries--;
    zone->sh->bytes -= ngx_http_llm_cache_node_size(cn);

    ngx_slab_free_locked(zone->shpool, cn);
}


ngx_uint_t
ngx_http_llm_cache_expired(ngx_http_llm_cache_zone_t *zone,
    ngx_http_llm_cache_node_t *cn, time_t now)
{
    /* the zone's current ttl: a reload with a new ttl applies at once */
    return (now - cn->created >= zone->ttl || now < cn->created);
}


/* the semantic bucket of a digest, or NULL; the zone is locked */

ngx_http_llm_cache_bucket_t *
ngx_http_llm_cache_find_bucket(ngx_http_llm_cache_zone_t *zone,
    u_char *digest)
{
    return (ngx_http_llm_cache_bucket_t *)
               ngx_http_llm_cache_find_digest(&zone->sh->sem_rbtree, digest);
}


/* the semantic part of an entry, after its text, or NULL */

ngx_http_llm_cache_sem_t *
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




/*
 * The semantic buckets' tree, ordered by the digest, which a bucket keeps
 * at the offset of an entry's (checked below: the insert reads it through
 * the entry's type).
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


/*
 * Look a digest up; on a hit, copy the entry into the pool (the entry may
 * be evicted while the answer is sent).  NGX_OK: a hit; NGX_DECLINED: a
 * miss.
 */

ngx_int_t
ngx_http_llm_cache_read(ngx_http_llm_cache_zone_t *zone, u_char *digest,
    ngx_pool_t *pool, ngx_http_llm_cache_entry_t *e,
    ngx_http_llm_cache_cost_pt cost, void *data)
{
    time_t                      now;
    ngx_http_llm_cache_node_t  *cn;

    now = ngx_time();

    ngx_shmtx_lock(&zone->shpool->mutex);

    cn = ngx_http_llm_cache_find(zone, digest);

    if (cn && ngx_http_llm_cache_expired(zone, cn, now)) {
        ngx_http_llm_cache_delete(zone, cn);
        zone->sh->expired++;
        cn = NULL;
    }

    if (cn == NULL) {
        ngx_shmtx_unlock(&zone->shpool->mutex);
        return NGX_DECLINED;
    }

    if (ngx_http_llm_cache_copy_node(zone, cn, pool, e, cost, data)
        != NGX_OK)
    {
        ngx_shmtx_unlock(&zone->shpool->mutex);
        return NGX_ERROR;
    }

    zone->sh->hits++;

    ngx_shmtx_unlock(&zone->shpool->mutex);

    return NGX_OK;
}


/*
 * A copy of an entry into the pool, the entry made the most recent, the
 * savings counted (cost: what its tokens are worth).  The zone is locked.
 */

ngx_int_t
ngx_http_llm_cache_copy_node(ngx_http_llm_cache_zone_t *zone,
    ngx_http_llm_cache_node_t *cn, ngx_pool_t *pool,
    ngx_http_llm_cache_entry_t *e, ngx_http_llm_cache_cost_pt cost,
    void *data)
{
    u_char                    *p;
    size_t                     size;
    ngx_http_llm_cache_sem_t  *sem;

    size = cn->model_len + cn->finish_len + cn->stop_len + cn->text_len;

    p = ngx_pnalloc(pool, size ? size : 1);
    if (p == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(p, cn->data, size);

    e->model.data = p;
    e->model.len = cn->model_len;
    p += cn->model_len;

    e->finish.data = p;
    e->finish.len = cn->finish_len;
    p += cn->finish_len;

    e->stop.data = p;
    e->stop.len = cn->stop_len;
    p += cn->stop_len;

    e->text.data = p;
    e->text.len = cn->text_len;

    e->prompt_tokens = cn->prompt_tokens;
    e->completion_tokens = cn->completion_tokens;
    e->created = cn->created;

    ngx_queue_remove(&cn->queue);
    ngx_queue_insert_head(&zone->sh->queue, &cn->queue);

    sem = ngx_http_llm_cache_sem(cn);

    if (sem) {
        ngx_queue_remove(&sem->link);
        ngx_queue_insert_head(&sem->bucket->entries, &sem->link);
    }

    zone->sh->tokens_saved += cn->prompt_tokens + cn->completion_tokens;
    zone->sh->nano_usd_saved += cost(data, cn->prompt_tokens,
                                     cn->completion_tokens);

    return NGX_OK;
}


/*
 * An entry stored under its digest (one stored meanwhile under the same
 * digest is replaced), with its semantic part when sem_digest is given
 * (vec: a remote embedder's vector, or embed: the builtin's embedding).
 * NGX_DECLINED: no room for it; *size: its bytes.
 */

ngx_int_t
ngx_http_llm_cache_write(ngx_http_llm_cache_zone_t *zone, u_char *digest,
    ngx_http_llm_cache_entry_t *e, u_char *sem_digest,
    ngx_http_llm_cache_vec_t *vec, ngx_http_llm_embed_t *embed, time_t now,
    size_t *size, ngx_log_t *log)
{
    u_char                       *p;
    ngx_uint_t                    evicted, expired;
    ngx_queue_t                  *q;
    ngx_http_llm_cache_sem_t     *sem;
    ngx_http_llm_cache_node_t    *cn, *old;
    ngx_http_llm_cache_bucket_t  *b;

    *size = offsetof(ngx_http_llm_cache_node_t, data)
            + e->model.len + e->finish.len + e->stop.len + e->text.len;

    if (sem_digest) {
        *size = ngx_align(*size, NGX_ALIGNMENT)
                + offsetof(ngx_http_llm_cache_sem_t, embed)
                + (vec ? ngx_http_llm_cache_vec_size(vec)
                       : ngx_http_llm_embed_size(embed));
    }

    evicted = 0;
    expired = 0;

    ngx_shmtx_lock(&zone->shpool->mutex);

    /* the same key stored meanwhile by another request: replaced */

    old = ngx_http_llm_cache_find(zone, digest);

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

    cn = ngx_http_llm_cache_alloc(zone, *size, &evicted);

    if (cn == NULL) {
        ngx_shmtx_unlock(&zone->shpool->mutex);

        ngx_log_error(NGX_LOG_WARN, log, 0,
                      "llm cache \"%V\": no room for an entry of %uz bytes, "
                      "not stored", &zone->name, *size);
        return NGX_DECLINED;
    }

    ngx_memcpy(&cn->node.key, digest, sizeof(ngx_rbtree_key_t));
    ngx_memcpy(cn->digest, digest, NGX_HTTP_LLM_CACHE_DIGEST);

    cn->created = now;
    cn->prompt_tokens = e->prompt_tokens;
    cn->completion_tokens = e->completion_tokens;
    cn->text_len = (uint32_t) e->text.len;
    cn->model_len = (u_char) e->model.len;
    cn->finish_len = (u_char) e->finish.len;
    cn->stop_len = (u_short) e->stop.len;

    cn->node.data = 0;

    p = cn->data;
    p = ngx_cpymem(p, e->model.data, e->model.len);
    p = ngx_cpymem(p, e->finish.data, e->finish.len);
    p = ngx_cpymem(p, e->stop.data, e->stop.len);
    ngx_memcpy(p, e->text.data, e->text.len);

    if (sem_digest) {
        /* into the bucket of its context and words, made if needed */

        b = ngx_http_llm_cache_find_bucket(zone, sem_digest);

        if (b == NULL) {
            b = ngx_http_llm_cache_alloc(zone,
                                         sizeof(ngx_http_llm_cache_bucket_t),
                                         &evicted);
            if (b) {
                ngx_memcpy(&b->node.key, sem_digest,
                           sizeof(ngx_rbtree_key_t));
                ngx_memcpy(b->digest, sem_digest, NGX_HTTP_LLM_CACHE_DIGEST);
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

            if (vec) {
                cn->node.data |= NGX_HTTP_LLM_CACHE_VEC;
                ngx_memcpy(&sem->embed, vec, ngx_http_llm_cache_vec_size(vec));

            } else {
                ngx_memcpy(&sem->embed, embed, ngx_http_llm_embed_size(embed));
            }

            ngx_queue_insert_head(&b->entries, &sem->link);
            zone->sh->sem_entries++;
        }
    }

    ngx_http_llm_cache_hash_insert(zone->sh, cn);
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
        ngx_log_error(NGX_LOG_WARN, log, 0,
                      "llm cache \"%V\" is full: evicted %ui least recently "
                      "used entries (this warning is logged at most once "
                      "a minute)", &zone->name, evicted);
    }

    return NGX_OK;
}
