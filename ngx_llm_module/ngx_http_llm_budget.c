
/*
 * Copyright (C) ngx_llm_module authors
 *
 * Token budgets: a token bucket per value of a key, in shared memory.
 *
 * Admission reserves the estimated prompt plus the completion allowance in
 * every zone that applies, all or nothing, with the zones locked in one
 * order.  The end of the answer, or of the request (a request cleanup, so
 * aborts are counted too), replaces the reservation by what was really
 * used: the provider's usage, or the estimate of what was streamed.  A
 * bucket may go into debt.  In a zone with cut=on, what a stream uses
 * beyond its reservation is taken from the bucket as it flows, so that
 * parallel streams of a key see each other's use.
 *
 * A key is kept as its SHA-1, whatever its length.  A full zone makes room
 * only by evicting keys that have nothing to lose (a full bucket, no
 * request in flight); when there is none, a new key is refused (or, with
 * full=admit, not limited).
 */


#include "ngx_http_llm_budget.h"

#if (NGX_OPENSSL)
/*
 * The key's SHA-1 by OpenSSL's (its SHA-NI/AVX2 block function) rather than
 * nginx's portable one: the same digest, a fraction of the time per key
 */
#ifndef OPENSSL_SUPPRESS_DEPRECATED
#define OPENSSL_SUPPRESS_DEPRECATED
#endif
#include <openssl/sha.h>
#else
#include <ngx_sha1.h>
#endif


typedef struct {
    u_char                      color;
    u_char                      dummy;
    u_short                     ninst;         /* redis=: nginx sharing */
    uint32_t                    lease_at;      /* redis=: a lease asked
                                                  (ms, truncated), or 0 */
    ngx_queue_t                 queue;         /* LRU, head: most recent */
    ngx_msec_t                  last;          /* of the last refill */
    ngx_uint_t                  inflight;      /* reservations held */
    double                      level;         /* tokens or USD; redis=:
                                                  this nginx's share */
    u_char                      digest[NGX_HTTP_LLM_BUDGET_DIGEST];

    /* redis=, in the room left by alignment (a node fits 128 bytes) */
    float                       global;        /* Redis's level, last known */
    float                       owed;          /* made here in an outage */
    uint32_t                    short_until;   /* Redis had too little: not
                                                  asked again before (ms) */
} ngx_http_llm_budget_node_t;


/* a lease asked for, or a surplus given back (ngx_alloc: rare) */

typedef struct {
    ngx_http_llm_budget_zone_t *zone;
    ngx_http_request_t         *request;       /* NULL: nobody waits */
    ngx_http_llm_ctx_t         *ctx;
    ngx_pool_cleanup_t         *cln;
    ngx_rbtree_key_t            hash;
    u_char                      digest[NGX_HTTP_LLM_BUDGET_DIGEST];
    double                      want;
    double                      owed;          /* sent with it */
} ngx_http_llm_budget_lease_t;


/*
 * The slots of a zone's hints: each worker keeps, by the low bits of a
 * key's hash, the node it last found for a key (a pointer into the zone).
 */
#define NGX_HTTP_LLM_BUDGET_HINTS   4096


/* how many keys a full zone looks at, from the least recently used */
#define NGX_HTTP_LLM_BUDGET_SCAN    64


static ngx_int_t ngx_http_llm_budget_init_zone(ngx_shm_zone_t *shm_zone,
    void *data);
static void ngx_http_llm_budget_rbtree_insert_value(ngx_rbtree_node_t *temp,
    ngx_rbtree_node_t *node, ngx_rbtree_node_t *sentinel);
static ngx_http_llm_budget_node_t *ngx_http_llm_budget_node(
    ngx_http_llm_budget_zone_t *zone, ngx_http_llm_reservation_t *res);
static ngx_http_llm_budget_node_t *ngx_http_llm_budget_lookup(
    ngx_http_llm_budget_zone_t *zone, ngx_http_llm_reservation_t *res);
static ngx_http_llm_budget_node_t *ngx_http_llm_budget_create(
    ngx_http_llm_budget_zone_t *zone, ngx_http_llm_reservation_t *res,
    ngx_msec_t *wait);
static ngx_http_llm_budget_node_t *ngx_http_llm_budget_evictable(
    ngx_http_llm_budget_zone_t *zone, ngx_msec_t *wait);
static void ngx_http_llm_budget_refill(ngx_http_llm_budget_zone_t *zone,
    ngx_http_llm_budget_node_t *node);
static int ngx_libc_cdecl ngx_http_llm_reservation_cmp(const void *one,
    const void *two);
static void ngx_http_llm_budget_cleanup(void *data);
static ngx_int_t ngx_http_llm_budget_refusal(ngx_http_llm_ctx_t *ctx);
static double ngx_http_llm_budget_used(ngx_http_llm_ctx_t *ctx,
    ngx_http_llm_budget_zone_t *zone);
static void ngx_http_llm_budget_report(ngx_http_llm_ctx_t *ctx);
static ngx_int_t ngx_http_llm_budget_parse_rate(ngx_conf_t *cf,
    ngx_str_t *value, ngx_http_llm_budget_zone_t *zone);
static ngx_http_llm_budget_lease_t *ngx_http_llm_budget_lease_prepare(
    ngx_http_llm_budget_zone_t *zone, ngx_http_llm_reservation_t *res,
    ngx_http_llm_budget_node_t *node, double want);
static ngx_int_t ngx_http_llm_budget_lease_send(ngx_http_request_t *r,
    ngx_http_llm_ctx_t *ctx, ngx_http_llm_budget_lease_t *l);
static void ngx_http_llm_budget_leased(ngx_http_llm_redis_cmd_t *cmd,
    ngx_int_t rc, ngx_http_llm_resp_value_t *v, size_t n);
static void ngx_http_llm_budget_lease_cleanup(void *data);
static void ngx_http_llm_budget_outage_refill(
    ngx_http_llm_budget_zone_t *zone, ngx_http_llm_budget_node_t *node);


#define ngx_http_llm_usd_per_token(price)  ((double) (price) * 1e-12)

/*
 * A bucket is full: the state of a key seen for the first time.  The
 * tolerance absorbs the rounding of a reservation given back in a cost
 * zone ((level - r) + r may be a hair below level).
 */
#define ngx_http_llm_budget_is_full(zone, level)                              \
    ((level) >= (zone)->limit * (1 - 1e-9))

/* what is left of a key's budget: with redis=, this share and Redis's */
#define ngx_http_llm_budget_left(zone, node)                                  \
    ((zone)->redis ? ngx_min((node)->level + (node)->global, (zone)->limit)  \
                   : (node)->level)


/*
 * NGX_DECLINED: admitted or not limited; NGX_HTTP_SPECIAL_RESPONSE: refused,
 * the answer is prepared.
 */

ngx_int_t
ngx_http_llm_budget_admit(ngx_http_request_t *r, ngx_http_llm_ctx_t *ctx)
{
    double                        tokens, usd, retry, allowance, needed;
    size_t                        prompt;
    char                         *more;
    time_t                        secs;
    ngx_str_t                     key;
    ngx_msec_t                    wait;
#if (NGX_OPENSSL)
    SHA_CTX                       sha1;
#else
    ngx_sha1_t                    sha1;
#endif
    ngx_int_t                     rc;
    ngx_uint_t                    i, n, level, too_large, full, unavailable;
    ngx_http_cleanup_t           *cln;
    ngx_http_llm_reservation_t   *lease;
    ngx_http_llm_budget_node_t   *lease_node;
    ngx_http_llm_budget_lease_t  *l;
    ngx_http_llm_model_t         *m;
    ngx_http_llm_budget_loc_conf_t  *lcf;
    ngx_shm_zone_t              **shm;
    ngx_http_llm_budget_zone_t   *zone, *refused;
    ngx_http_llm_budget_node_t   *node;
    ngx_http_llm_reservation_t   *res;

    lcf = ngx_http_get_module_loc_conf(r, ngx_http_llm_budget_module);

    if (lcf->budgets == NULL) {
        return NGX_DECLINED;
    }

    /*
     * Each of the "n" answers may use the whole allowance.  In doubles:
     * n and max_tokens may each be as large as a JSON integer goes, their
     * product is only compared.
     */

    allowance = (double) ((ctx->req.max_tokens >= 0)
                          ? (uint64_t) ctx->req.max_tokens
                          : (uint64_t) lcf->budget_allowance)
                * (double) ngx_max(ctx->req.choices, 1);

    prompt = ngx_http_llm_prompt_tokens(ctx);
    tokens = (double) prompt + allowance;

    m = ctx->entry;
    usd = 0;

    if (m) {
        usd = prompt * ngx_http_llm_usd_per_token(ngx_max(m->input, 0))
              + allowance * ngx_http_llm_usd_per_token(ngx_max(m->output, 0));
    }

    if (ngx_array_init(&ctx->reservations, r->pool, lcf->budgets->nelts,
                       sizeof(ngx_http_llm_reservation_t))
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    shm = lcf->budgets->elts;

    for (i = 0; i < lcf->budgets->nelts; i++) {
        zone = shm[i]->data;

        if (ngx_http_complex_value(r, &zone->key, &key) != NGX_OK) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        if (key.len == 0) {

            if (!zone->empty_refuse) {
                /* empty=pass: not limited by this zone */
                continue;
            }

            ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                          "llm budget \"%V\": the request has no key, %s "
                          "(empty=refuse)", &zone->name,
                          lcf->budget_dry_run ? "would be refused (dry run)"
                                              : "refused");

            if (lcf->budget_dry_run) {
                continue;
            }

            ctx->reservations.nelts = 0;

            return ngx_http_llm_fail(r, ctx, NGX_HTTP_UNAUTHORIZED,
                                     "missing_budget_key", NULL,
                                     "The request carries no key for the "
                                     "token budget \"%V\" (no API key?) and "
                                     "was refused.", &zone->name);
        }

        res = ngx_array_push(&ctx->reservations);
        if (res == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        /* the key is kept as its digest: any length, never the key itself */

#if (NGX_OPENSSL)
        if (SHA1_Init(&sha1) != 1
            || SHA1_Update(&sha1, key.data, key.len) != 1
            || SHA1_Final(res->digest, &sha1) != 1)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
#else
        ngx_sha1_init(&sha1);
        ngx_sha1_update(&sha1, key.data, key.len);
        ngx_sha1_final(res->digest, &sha1);
#endif

        ngx_memcpy(&res->hash, res->digest, sizeof(ngx_rbtree_key_t));

        res->zone = zone;
        res->reserved = zone->cost ? usd : tokens;
        res->charged = 0;
        res->remaining = zone->limit;
        res->node = NULL;
        res->held = 0;
        res->unlimited = 0;
    }

    n = ctx->reservations.nelts;

    if (n == 0) {
        return NGX_DECLINED;
    }

    res = ctx->reservations.elts;

    /* one lock order for every request: no deadlock between workers */

    if (n > 1) {
        ngx_qsort(res, n, sizeof(ngx_http_llm_reservation_t),
                  ngx_http_llm_reservation_cmp);
    }

    for (i = 0; i < n; i++) {
        ngx_shmtx_lock(&res[i].zone->shpool->mutex);
    }

    refused = NULL;
    too_large = 0;
    full = 0;
    unavailable = 0;
    retry = 0;
    lease = NULL;
    lease_node = NULL;

    for (i = 0; i < n; i++) {
        node = ngx_http_llm_budget_lookup(res[i].zone, &res[i]);

        if (node == NULL) {
            node = ngx_http_llm_budget_create(res[i].zone, &res[i], &wait);

            if (node == NULL) {
                /* no room for a new key: refused, or with full=admit free */

                if (res[i].zone->full_admit) {
                    res[i].unlimited = 1;
                    continue;
                }

                res[i].remaining = 0;

                if (refused == NULL) {
                    refused = res[i].zone;
                    full = 1;
                    retry = (double) wait;
                }

                continue;
            }
        }

        res[i].node = node;

        ngx_http_llm_budget_refill(res[i].zone, node);

        res[i].remaining = ngx_http_llm_budget_left(res[i].zone, node);

        ngx_log_debug4(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                       "llm budget \"%V\": level %.3f, reserving %.3f "
                       "of %.3f", &res[i].zone->name, node->level,
                       res[i].reserved, res[i].zone->limit);

        if (refused) {
            continue;
        }

        if (res[i].reserved > res[i].zone->limit) {
            /* never admitted: as OpenAI does, "request too large" */
            refused = res[i].zone;
            too_large = 1;
            retry = (res[i].zone->limit - ngx_max(node->level, 0))
                    / res[i].zone->rate;

        } else if (node->level < res[i].reserved) {
            refused = res[i].zone;
            retry = (res[i].reserved - node->level) / res[i].zone->rate;

            if (res[i].zone->redis && !ctx->budget_leased
                && (int32_t) (node->short_until
                              - (uint32_t) ngx_current_msec) <= 0)
            {
                /* this nginx's share is short: a lease is asked for */
                lease = &res[i];
                lease_node = node;

            } else if (res[i].zone->redis && res[i].zone->fail_closed
                       && ngx_http_llm_redis_down(res[i].zone->redis))
            {
                unavailable = 1;
                retry = 1000;
            }
        }
    }

    if (lease) {
        /* Redis is asked, the request waits for it (at most timeout=) */

        l = ngx_http_llm_budget_lease_prepare(lease->zone, lease,
                                              lease_node, lease->reserved);

        for (i = n; i > 0; i--) {
            ngx_shmtx_unlock(&res[i - 1].zone->shpool->mutex);
        }

        ctx->budget_leased = 1;
        ctx->reservations.nelts = 0;

        if (l) {
            rc = ngx_http_llm_budget_lease_send(r, ctx, l);

            if (rc == NGX_AGAIN) {
                return NGX_AGAIN;
            }
        }

        /* not asked (an outage, no memory): decided with what is here */

        return ngx_http_llm_budget_admit(r, ctx);
    }

    if (refused && !lcf->budget_dry_run) {
        refused->sh->refused++;

        if (full) {
            refused->sh->full++;
        }

        /*
         * Keys this refusal left with nothing to lose (new keys, full
         * buckets) go where a full zone looks first: a flood of refused new
         * keys makes room for itself, not at the others' expense.
         */

        for (i = 0; i < n; i++) {
            node = ngx_http_llm_budget_node(res[i].zone, &res[i]);

            if (node && node->inflight == 0
                && ngx_http_llm_budget_is_full(res[i].zone, node->level))
            {
                ngx_queue_remove(&node->queue);
                ngx_queue_insert_tail(&res[i].zone->sh->queue, &node->queue);
            }
        }

    } else {
        for (i = 0; i < n; i++) {
            node = ngx_http_llm_budget_node(res[i].zone, &res[i]);

            if (node == NULL) {
                continue;
            }

            node->level -= res[i].reserved;
            node->inflight++;

            res[i].charged = res[i].reserved;
            res[i].remaining = ngx_http_llm_budget_left(res[i].zone, node);
            res[i].held = 1;
            res[i].zone->sh->admitted++;

            if (res[i].zone->cut && !lcf->budget_dry_run) {
                ctx->budget_cut_armed = 1;
            }
        }

        ngx_log_debug2(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                       "llm budget: admitted in %ui zones%s", n,
                       ctx->budget_cut_armed ? ", streams cut on overrun"
                                             : "");
    }

    for (i = n; i > 0; i--) {
        ngx_shmtx_unlock(&res[i - 1].zone->shpool->mutex);
    }

    ngx_http_llm_budget_report(ctx);

    if (refused) {
        secs = (time_t) ((retry + 999) / 1000);
        /* a dry run one level lower, as limit_req logs its delays */
        level = lcf->budget_dry_run ? lcf->budget_log_level + 1
                                    : lcf->budget_log_level;

        /* "%f" of ngx_sprintf() goes through int64_t: bounded for display */

        needed = refused->cost ? usd * 1e6 : tokens;
        more = (needed > 1e18) ? "more than " : "";
        needed = ngx_min(needed, 1e18);

        ngx_log_error(level, r->connection->log, 0,
                      "llm: %s by llm_budget_zone \"%V\": model \"%V\", "
                      "%s%.0f %s needed, retry in %Ts",
                      lcf->budget_dry_run ? "would be refused (dry run)"
                                          : "refused",
                      &refused->name, &ctx->model, more, needed,
                      refused->cost ? "micro-USD" : "tokens", secs);

        if (!lcf->budget_dry_run) {
            ctx->retry_after = ngx_max(secs, 1);
            ctx->reservations.nelts = 0;

            if (unavailable) {
                /* fail=closed: Redis is down, this nginx's share is used */
                (void) ngx_http_llm_fail(r, ctx,
                                         NGX_HTTP_SERVICE_UNAVAILABLE,
                                         "budget_unavailable", NULL,
                                         "The token budget \"%V\" cannot "
                                         "be checked now. Please try again "
                                         "in %Ts.", &refused->name,
                                         ctx->retry_after);

                return NGX_HTTP_SPECIAL_RESPONSE;
            }

            if (too_large) {
                /* waiting cannot help: SDKs must not retry it */
                ctx->no_retry = 1;

                (void) ngx_http_llm_fail(r, ctx, lcf->budget_status,
                                         "rate_limit_exceeded", NULL,
                                         "Request too large for %V: the "
                                         "token budget \"%V\" allows %.0f %s, "
                                         "the request needs %s%.0f. Reduce the "
                                         "prompt or max_tokens.", &ctx->model,
                                         &refused->name,
                                         refused->cost ? refused->limit * 1e6
                                                       : refused->limit,
                                         refused->cost ? "micro-USD"
                                                       : "tokens",
                                         more, needed);

                return ngx_http_llm_budget_refusal(ctx);
            }

            if (full) {
                (void) ngx_http_llm_fail(r, ctx, lcf->budget_status,
                                         "rate_limit_exceeded", NULL,
                                         "Rate limit reached for %V: the "
                                         "token budget \"%V\" has no room "
                                         "for a new key. Please try again "
                                         "in %Ts.", &ctx->model,
                                         &refused->name, ctx->retry_after);

                return ngx_http_llm_budget_refusal(ctx);
            }

            (void) ngx_http_llm_fail(r, ctx, lcf->budget_status,
                                     "rate_limit_exceeded", NULL,
                                     "Rate limit reached for %V: the token "
                                     "budget \"%V\" is used up. Please try "
                                     "again in %Ts.", &ctx->model,
                                     &refused->name, ctx->retry_after);

            return ngx_http_llm_budget_refusal(ctx);
        }
    }

    cln = ngx_http_cleanup_add(r, 0);
    if (cln == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    cln->handler = ngx_http_llm_budget_cleanup;
    cln->data = ctx;

    return NGX_DECLINED;
}


/* a budget's refusal has the rate limit's type, whatever its status */

static ngx_int_t
ngx_http_llm_budget_refusal(ngx_http_llm_ctx_t *ctx)
{
    if (ctx->error == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->error->type = "tokens";

    return NGX_HTTP_SPECIAL_RESPONSE;
}


/* the end of the request: the reservation becomes what was used */

static void
ngx_http_llm_budget_cleanup(void *data)
{
    ngx_http_llm_budget_settle(data);
}


/*
 * The reservations become what was used; once only.  Called when the
 * answer has ended (before its last bytes go to the client, so that a
 * client that goes on at once finds the budget up to date), or at the end
 * of the request for the other cases (errors, aborts).
 */

void
ngx_http_llm_budget_settle(ngx_http_llm_ctx_t *ctx)
{
    double                        used;
    ngx_uint_t                    i, settled;
    ngx_http_llm_budget_lease_t  *back;
    ngx_http_llm_budget_zone_t  *zone;
    ngx_http_llm_budget_node_t  *node;
    ngx_http_llm_reservation_t  *res;

    res = ctx->reservations.elts;
    settled = 0;

    for (i = 0; i < ctx->reservations.nelts; i++) {

        if (!res[i].held) {
            continue;
        }

        res[i].held = 0;
        settled = 1;

        zone = res[i].zone;

        /* an answer that could not be read costs all it reserved */

        used = ctx->unread ? ngx_max(res[i].reserved, res[i].charged)
                           : ngx_http_llm_budget_used(ctx, zone);
        back = NULL;

        ngx_shmtx_lock(&zone->shpool->mutex);

        node = ngx_http_llm_budget_node(zone, &res[i]);

        if (node) {
            ngx_http_llm_budget_refill(zone, node);

            node->level = ngx_min(node->level + res[i].charged - used,
                                  zone->limit);
            node->inflight--;

            res[i].remaining = ngx_http_llm_budget_left(zone, node);

            if (zone->redis && node->lease_at == 0
                && node->level > 2 * zone->lease)
            {
                /* a surplus (answers shorter than reserved) goes back */
                back = ngx_http_llm_budget_lease_prepare(zone, &res[i], node,
                                                    zone->lease - node->level);
            }

            ngx_queue_remove(&node->queue);

            if (node->inflight == 0
                && ngx_http_llm_budget_is_full(zone, node->level))
            {
                /*
                 * Nothing used (an error answer, a rejected credential):
                 * the key has nothing to lose, it is the first to make
                 * room in a full zone.
                 */
                ngx_queue_insert_tail(&zone->sh->queue, &node->queue);

            } else {
                ngx_queue_insert_head(&zone->sh->queue, &node->queue);
            }
        }

        ngx_shmtx_unlock(&zone->shpool->mutex);

        if (back) {
            (void) ngx_http_llm_budget_lease_send(NULL, NULL, back);
        }

        ngx_log_debug5(NGX_LOG_DEBUG_HTTP, ctx->request->connection->log, 0,
                       "llm budget \"%V\": reserved %.3f, charged %.3f, "
                       "used %.3f, remaining %.3f", &zone->name,
                       res[i].reserved, res[i].charged, used,
                       res[i].remaining);
    }

    if (settled) {
        /* else nothing changed since the last report (the second call) */
        ngx_http_llm_budget_report(ctx);
    }
}


/*
 * What the request cost in a zone's unit.  Nothing when the upstream never
 * answered, or answered with an error; the prompt alone when the client left
 * before the answer started.
 */

static double
ngx_http_llm_budget_used(ngx_http_llm_ctx_t *ctx,
    ngx_http_llm_budget_zone_t *zone)
{
    size_t    prompt, completion;
    uint64_t  nano;

    if (!ctx->answered && !ctx->client_abort) {
        return 0;
    }

    prompt = ngx_http_llm_prompt_tokens(ctx);
    completion = ctx->answered ? ctx->completion_tokens : 0;

    if (!zone->cost) {
        return (double) (prompt + completion);
    }

    if (ngx_http_llm_cost_of(ctx, prompt, completion, &nano)
        != NGX_OK)
    {
        return 0;
    }

    return (double) nano * 1e-9;
}


/*
 * While an answer streams, in zones with cut=on: what was used beyond what
 * the bucket was charged is taken from it at once, so that every stream of
 * a key sees what the others took.  When the bucket does not cover it, the
 * event that ran past it is the last one: returns 1 to end the stream.  A
 * bucket thus goes below zero by at most one event per stream.
 */

ngx_uint_t
ngx_http_llm_budget_overrun(ngx_http_llm_ctx_t *ctx)
{
    double                       used, over;
    ngx_uint_t                   i, cut;
    ngx_http_llm_budget_zone_t  *zone;
    ngx_http_llm_budget_node_t  *node;
    ngx_http_llm_reservation_t  *res;

    res = ctx->reservations.elts;
    cut = 0;

    for (i = 0; i < ctx->reservations.nelts; i++) {

        zone = res[i].zone;

        if (!res[i].held || !zone->cut) {
            continue;
        }

        used = ngx_http_llm_budget_used(ctx, zone);
        over = used - res[i].charged;

        if (over <= 0) {
            continue;
        }

        ngx_shmtx_lock(&zone->shpool->mutex);

        node = ngx_http_llm_budget_node(zone, &res[i]);

        if (node) {
            ngx_http_llm_budget_refill(zone, node);

            if (node->level < over && !cut) {
                cut = 1;

                ngx_log_error(NGX_LOG_WARN, ctx->request->connection->log, 0,
                              "llm: the answer of model \"%V\" is cut: it "
                              "ran past llm_budget_zone \"%V\"", &ctx->model,
                              &zone->name);
            }

            node->level -= over;
            res[i].charged += over;
            res[i].remaining = ngx_http_llm_budget_left(zone, node);
        }

        ngx_shmtx_unlock(&zone->shpool->mutex);
    }

    return cut;
}


/* the tightest zone, in tokens, for the headers and $llm_budget_remaining */

static void
ngx_http_llm_budget_report(ngx_http_llm_ctx_t *ctx)
{
    double                       per_token, limit, remaining, frac, best;
    ngx_uint_t                   i;
    ngx_http_llm_reservation_t  *res;

    res = ctx->reservations.elts;
    best = 2;

    for (i = 0; i < ctx->reservations.nelts; i++) {

        if (res[i].unlimited) {
            continue;
        }

        limit = res[i].zone->limit;
        remaining = ngx_max(res[i].remaining, 0);

        frac = remaining / limit;

        if (frac >= best) {
            continue;
        }

        per_token = 1;

        if (res[i].zone->cost) {
            /* dollars as output tokens of this model */

            per_token = ctx->entry ? ngx_http_llm_usd_per_token(
                                                    ctx->entry->output) : 0;
            if (per_token <= 0) {
                continue;
            }
        }

        best = frac;

        ctx->budget_reset = (ngx_msec_t) ((limit - remaining)
                                          / res[i].zone->rate);

        limit /= per_token;
        remaining /= per_token;

        ctx->budget_limit = (uint64_t) limit;
        ctx->budget_remaining = (uint64_t) remaining;
        ctx->budgeted = 1;
    }
}


/*
 * The node of a reservation's key: the one admission found while it still
 * holds that key, else looked up (a walk of the tree is a cache miss a
 * level in a zone of many keys).  Nodes are never freed: an evicted node
 * is reused for another key by ngx_http_llm_budget_create(), never while a
 * reservation is held on it (inflight), so its digest says whether it is
 * still the key's.  A key's node is created (by its admission, or by a
 * Redis lease granted after it was evicted) only under the lock, right
 * after a lookup of its whole digest found none: the tree holds one node a
 * digest.  The zone is locked.
 */

static ngx_http_llm_budget_node_t *
ngx_http_llm_budget_node(ngx_http_llm_budget_zone_t *zone,
    ngx_http_llm_reservation_t *res)
{
    ngx_http_llm_budget_node_t  *bn;

    bn = res->node;

    if (bn != NULL
        && ngx_memcmp(bn->digest, res->digest, NGX_HTTP_LLM_BUDGET_DIGEST)
           == 0)
    {
        return bn;
    }

    bn = ngx_http_llm_budget_lookup(zone, res);
    res->node = bn;

    return bn;
}


/*
 * The node of a reservation's key, if the zone has it; the zone is locked.
 *
 * The worker's hint for the key's slot is tried first: the walk down the
 * tree of a zone of many keys is a cache miss a level (a dozen for a
 * thousand keys), the hint one or two.  A hint is a node of the zone (a
 * budget node is never freed: an evicted one is reused for another key),
 * and the node that holds a key's whole digest is the key's node: a key's
 * node is created only under the zone's lock, right after a lookup of its
 * digest found none (as ngx_http_llm_budget_node() relies on).  A hint
 * that holds another key, after an eviction or another key of the slot,
 * costs the walk it saves otherwise.
 */

static ngx_http_llm_budget_node_t *
ngx_http_llm_budget_lookup(ngx_http_llm_budget_zone_t *zone,
    ngx_http_llm_reservation_t *res)
{
    ngx_int_t                    rc;
    ngx_uint_t                   slot;
    ngx_rbtree_node_t           *node, *sentinel;
    ngx_http_llm_budget_node_t  *bn;

    slot = (ngx_uint_t) res->hash & (NGX_HTTP_LLM_BUDGET_HINTS - 1);

    if (zone->hint) {
        bn = zone->hint[slot];

        if (bn != NULL
            && ngx_memcmp(bn->digest, res->digest, NGX_HTTP_LLM_BUDGET_DIGEST)
               == 0)
        {
            return bn;
        }
    }

    node = zone->sh->rbtree.root;
    sentinel = zone->sh->rbtree.sentinel;

    while (node != sentinel) {

        if (res->hash != node->key) {
            node = (res->hash < node->key) ? node->left : node->right;
            continue;
        }

        bn = (ngx_http_llm_budget_node_t *) &node->color;

        rc = ngx_memcmp(res->digest, bn->digest, NGX_HTTP_LLM_BUDGET_DIGEST);

        if (rc == 0) {
            if (zone->hint) {
                zone->hint[slot] = bn;
            }

            return bn;
        }

        node = (rc < 0) ? node->left : node->right;
    }

    return NULL;
}


/*
 * A new key, with a full bucket, at the head of the LRU queue.  A full zone
 * makes room by evicting a key that has nothing to lose; NULL when there is
 * none, with *wait set to when one may have (ms).
 */

static ngx_http_llm_budget_node_t *
ngx_http_llm_budget_create(ngx_http_llm_budget_zone_t *zone,
    ngx_http_llm_reservation_t *res, ngx_msec_t *wait)
{
    ngx_rbtree_node_t           *node;
    ngx_http_llm_budget_node_t  *bn;

    node = ngx_slab_alloc_locked(zone->shpool,
                                 offsetof(ngx_rbtree_node_t, color)
                                 + sizeof(ngx_http_llm_budget_node_t));

    if (node == NULL) {
        bn = ngx_http_llm_budget_evictable(zone, wait);

        if (bn == NULL) {
            /* the key may be a credential: it is not logged */
            ngx_log_error(NGX_LOG_WARN, ngx_cycle->log, 0,
                          "llm_budget_zone \"%V\" is full and none of its "
                          "%ui least recently used keys can be evicted "
                          "(a request in flight, or a bucket not full): "
                          "a new key is %s", &zone->name,
                          ngx_min(zone->sh->keys, NGX_HTTP_LLM_BUDGET_SCAN),
                          zone->full_admit ? "not limited (full=admit)"
                                           : "refused");
            return NULL;
        }

        /* every node has the same size: the evicted one is reused */

        ngx_queue_remove(&bn->queue);

        node = (ngx_rbtree_node_t *)
                   ((u_char *) bn - offsetof(ngx_rbtree_node_t, color));

        ngx_rbtree_delete(&zone->sh->rbtree, node);

        zone->sh->keys--;
        zone->sh->evicted++;

        /* nothing is lost: the key would come back with a full bucket */
        ngx_log_error(NGX_LOG_INFO, ngx_cycle->log, 0,
                      "llm_budget_zone \"%V\" is full: evicted the least "
                      "recently used idle key with a full bucket",
                      &zone->name);
    }

    node->key = res->hash;

    bn = (ngx_http_llm_budget_node_t *) &node->color;

    bn->last = ngx_current_msec;
    bn->inflight = 0;
    bn->level = zone->redis ? 0 : zone->limit;
    bn->lease_at = 0;
    bn->global = zone->limit;
    bn->owed = 0;
    bn->ninst = 1;
    bn->short_until = 0;
    ngx_memcpy(bn->digest, res->digest, NGX_HTTP_LLM_BUDGET_DIGEST);

    ngx_rbtree_insert(&zone->sh->rbtree, node);
    ngx_queue_insert_head(&zone->sh->queue, &bn->queue);

    zone->sh->keys++;

    if (zone->hint) {
        zone->hint[(ngx_uint_t) res->hash & (NGX_HTTP_LLM_BUDGET_HINTS - 1)]
            = bn;
    }

    return bn;
}


/*
 * The least recently used key whose state is that of a new key: no request
 * in flight, a full bucket once refilled.  Evicting it loses nothing: it
 * would come back with a full bucket anyway.  A key in debt, with a bucket
 * not yet refilled or with a reservation is never evicted.  Only the
 * NGX_HTTP_LLM_BUDGET_SCAN least recently used keys are looked at, so that
 * a flood of new keys cannot hold the lock long; keys that used nothing
 * are put at that end when their request ends.
 */

static ngx_http_llm_budget_node_t *
ngx_http_llm_budget_evictable(ngx_http_llm_budget_zone_t *zone,
    ngx_msec_t *wait)
{
    double                       level, soonest, ms;
    ngx_uint_t                   n;
    ngx_queue_t                 *q;
    ngx_msec_int_t               elapsed;
    ngx_http_llm_budget_node_t  *bn;

    soonest = -1;
    n = 0;

    for (q = ngx_queue_last(&zone->sh->queue);
         q != ngx_queue_sentinel(&zone->sh->queue)
         && n < NGX_HTTP_LLM_BUDGET_SCAN;
         q = ngx_queue_prev(q), n++)
    {
        bn = ngx_queue_data(q, ngx_http_llm_budget_node_t, queue);

        if (bn->inflight) {
            continue;
        }

        if (zone->redis) {
            /*
             * Its share is lost to the fleet: never more is admitted.  Not
             * a key that owes Redis what an outage made here, nor one in
             * debt: that would be forgotten.
             */
            if (bn->lease_at == 0 && bn->owed <= 0 && bn->level >= 0) {
                return bn;
            }

            continue;
        }

        elapsed = (ngx_msec_int_t) (ngx_current_msec - bn->last);
        level = bn->level + ngx_max(elapsed, 0) * zone->rate;

        if (ngx_http_llm_budget_is_full(zone, level)) {
            return bn;
        }

        ms = (zone->limit - level) / zone->rate;

        if (soonest < 0 || ms < soonest) {
            soonest = ms;
        }
    }

    /* only keys in flight: they usually end within seconds */

    if (soonest < 0 || soonest < 1000) {
        soonest = 1000;
    }

    *wait = (soonest > 86400000.0 * 366) ? (ngx_msec_t) 86400000 * 366
                                         : (ngx_msec_t) soonest;

    return NULL;
}


/* continuous refill, capped at the zone's limit (which may have changed) */

static void
ngx_http_llm_budget_refill(ngx_http_llm_budget_zone_t *zone,
    ngx_http_llm_budget_node_t *node)
{
    ngx_msec_int_t  elapsed;

    if (zone->redis) {
        /* Redis's clock refills, not this one; but in an outage */
        ngx_http_llm_budget_outage_refill(zone, node);
        return;
    }

    elapsed = (ngx_msec_int_t) (ngx_current_msec - node->last);

    if (elapsed > 0) {
        node->level += elapsed * zone->rate;
        node->last = ngx_current_msec;
    }

    if (node->level > zone->limit) {
        node->level = zone->limit;
    }
}


static int ngx_libc_cdecl
ngx_http_llm_reservation_cmp(const void *one, const void *two)
{
    const ngx_http_llm_reservation_t  *a = one;
    const ngx_http_llm_reservation_t  *b = two;

    /*
     * By the shared memory's address, the same in every worker and in the
     * old and new workers of a reload.
     */

    if (a->zone->shpool == b->zone->shpool) {
        return 0;
    }

    return ((uintptr_t) a->zone->shpool < (uintptr_t) b->zone->shpool)
           ? -1 : 1;
}


static void
ngx_http_llm_budget_rbtree_insert_value(ngx_rbtree_node_t *temp,
    ngx_rbtree_node_t *node, ngx_rbtree_node_t *sentinel)
{
    ngx_rbtree_node_t          **p;
    ngx_http_llm_budget_node_t  *a, *b;

    for ( ;; ) {

        if (node->key < temp->key) {
            p = &temp->left;

        } else if (node->key > temp->key) {
            p = &temp->right;

        } else {
            a = (ngx_http_llm_budget_node_t *) &node->color;
            b = (ngx_http_llm_budget_node_t *) &temp->color;

            p = (ngx_memcmp(a->digest, b->digest,
                            NGX_HTTP_LLM_BUDGET_DIGEST) < 0)
                ? &temp->left : &temp->right;
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


static ngx_int_t
ngx_http_llm_budget_init_zone(ngx_shm_zone_t *shm_zone, void *data)
{
    ngx_http_llm_budget_zone_t  *ozone = data;

    ngx_uint_t                   created;
    ngx_http_llm_budget_zone_t  *zone;

    zone = shm_zone->data;

    if (ozone) {
        if ((ozone->redis == NULL) != (zone->redis == NULL)) {
            /* a bucket is not a share: the levels would mean another thing */
            ngx_log_error(NGX_LOG_EMERG, shm_zone->shm.log, 0,
                          "llm_budget_zone \"%V\": \"redis=\" cannot be "
                          "added or removed by a reload; give the zone "
                          "another name or size", &zone->name);
            return NGX_ERROR;
        }

        /*
         * reload: the keys and their levels live on, so they must still
         * mean the same (as limit_req does for its key)
         */

        if (zone->key.value.len != ozone->key.value.len
            || ngx_strncmp(zone->key.value.data, ozone->key.value.data,
                           zone->key.value.len)
               != 0)
        {
            ngx_log_error(NGX_LOG_EMERG, shm_zone->shm.log, 0,
                          "llm_budget_zone \"%V\" uses the \"%V\" key "
                          "while previously it used the \"%V\" key",
                          &shm_zone->shm.name, &zone->key.value,
                          &ozone->key.value);
            return NGX_ERROR;
        }

        if (zone->cost != ozone->cost) {
            ngx_log_error(NGX_LOG_EMERG, shm_zone->shm.log, 0,
                          "llm_budget_zone \"%V\" counts %s while "
                          "previously it counted %s",
                          &shm_zone->shm.name,
                          zone->cost ? "cost" : "tokens",
                          ozone->cost ? "cost" : "tokens");
            return NGX_ERROR;
        }

        ngx_log_debug2(NGX_LOG_DEBUG_HTTP, shm_zone->shm.log, 0,
                       "llm budget zone \"%V\": levels kept, %s",
                       &shm_zone->shm.name,
                       zone->cost ? "cost" : "tokens");

        zone->sh = ozone->sh;
        zone->shpool = ozone->shpool;
        return NGX_OK;
    }

    zone->shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;

    zone->sh = ngx_http_llm_shm_state(shm_zone,
                                      sizeof(ngx_http_llm_budget_sh_t),
                                      ngx_http_llm_budget_rbtree_insert_value,
                                      "llm_budget_zone", &created);

    return zone->sh ? NGX_OK : NGX_ERROR;
}


/*
 * llm_budget_zone KEY zone=NAME:SIZE tokens=N/PERIOD | cost=USD/PERIOD
 *                 [cut=on|off] [full=refuse|admit] [empty=pass|refuse]
 *                 [redis=NAME [lease=N] [fail=open|closed]];
 */

char *
ngx_http_llm_budget_zone(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_llm_budget_main_conf_t *lmcf = conf;

    ssize_t                            size;
    ngx_str_t                         *value, name;
    ngx_int_t                          cut, lease_fp;
    ngx_uint_t                         i, n, rated, seen;
    ngx_shm_zone_t                    *shm_zone;
    ngx_http_llm_budget_zone_t        *zone;
    ngx_http_compile_complex_value_t   ccv;

    static ngx_str_t  params[] = {
        ngx_string("cut="), ngx_string("full="), ngx_string("empty="),
        ngx_string("redis="), ngx_string("lease="), ngx_string("fail=")
    };

    value = cf->args->elts;

    zone = ngx_pcalloc(cf->pool, sizeof(ngx_http_llm_budget_zone_t));
    if (zone == NULL) {
        return NGX_CONF_ERROR;
    }

    ngx_memzero(&ccv, sizeof(ngx_http_compile_complex_value_t));

    ccv.cf = cf;
    ccv.value = &value[1];
    ccv.complex_value = &zone->key;

    if (ngx_http_compile_complex_value(&ccv) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    size = 0;
    ngx_str_null(&name);
    rated = 0;
    seen = 0;
    cut = -1;

    for (i = 2; i < cf->args->nelts; i++) {

        if (ngx_strncmp(value[i].data, "zone=", 5) == 0) {

            if (ngx_http_llm_parse_zone(cf, &value[i], "llm_budget_zone", &name,
                                        &size)
                != NGX_OK)
            {
                return NGX_CONF_ERROR;
            }

            continue;
        }

        if (ngx_strncmp(value[i].data, "tokens=", 7) == 0
            || ngx_strncmp(value[i].data, "cost=", 5) == 0)
        {
            if (rated) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "llm_budget_zone: \"tokens=\" and "
                                   "\"cost=\" are exclusive, and given once");
                return NGX_CONF_ERROR;
            }

            rated = 1;

            if (ngx_http_llm_budget_parse_rate(cf, &value[i], zone)
                != NGX_OK)
            {
                return NGX_CONF_ERROR;
            }

            continue;
        }

        /* each once: "full=admit full=refuse" is an error */

        for (n = 0; n < sizeof(params) / sizeof(params[0]); n++) {
            if (ngx_strncmp(value[i].data, params[n].data, params[n].len)
                == 0)
            {
                break;
            }
        }

        if (n < sizeof(params) / sizeof(params[0])) {

            if (seen & (1 << n)) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "llm_budget_zone: duplicate parameter "
                                   "\"%V\"", &value[i]);
                return NGX_CONF_ERROR;
            }

            seen |= 1 << n;
        }

        if (ngx_strcmp(value[i].data, "cut=on") == 0) {
            cut = 1;
            continue;
        }

        if (ngx_strcmp(value[i].data, "cut=off") == 0) {
            cut = 0;
            continue;
        }

        if (ngx_strcmp(value[i].data, "full=refuse") == 0) {
            zone->full_admit = 0;
            continue;
        }

        if (ngx_strcmp(value[i].data, "full=admit") == 0) {
            zone->full_admit = 1;
            continue;
        }

        if (ngx_strncmp(value[i].data, "redis=", 6) == 0) {

            zone->redis = ngx_http_llm_redis_param(cf, &value[i],
                                                   "llm_budget_zone");
            if (zone->redis == NULL) {
                return NGX_CONF_ERROR;
            }

            continue;
        }

        if (ngx_strncmp(value[i].data, "lease=", 6) == 0) {
            /* in the zone's unit: tokens, or USD */
            lease_fp = ngx_atofp(value[i].data + 6, value[i].len - 6, 6);

            if (lease_fp <= 0) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "llm_budget_zone: invalid \"%V\"",
                                   &value[i]);
                return NGX_CONF_ERROR;
            }

            zone->lease = (double) lease_fp / 1e6;
            continue;
        }

        if (ngx_strcmp(value[i].data, "fail=open") == 0) {
            zone->fail_closed = 0;
            continue;
        }

        if (ngx_strcmp(value[i].data, "fail=closed") == 0) {
            zone->fail_closed = 1;
            continue;
        }

        if (ngx_strcmp(value[i].data, "empty=pass") == 0) {
            zone->empty_refuse = 0;
            continue;
        }

        if (ngx_strcmp(value[i].data, "empty=refuse") == 0) {
            zone->empty_refuse = 1;
            continue;
        }

        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "llm_budget_zone: invalid parameter \"%V\"",
                           &value[i]);
        return NGX_CONF_ERROR;
    }

    if (name.len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "llm_budget_zone: \"zone=\" is required");
        return NGX_CONF_ERROR;
    }

    if (!rated) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "llm_budget_zone \"%V\": \"tokens=N/PERIOD\" or "
                           "\"cost=USD/PERIOD\" is required", &name);
        return NGX_CONF_ERROR;
    }

    if (zone->redis == NULL && (zone->lease > 0 || zone->fail_closed)) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "llm_budget_zone \"%V\": \"lease=\" and "
                           "\"fail=\" need \"redis=\"", &name);
        return NGX_CONF_ERROR;
    }

    if (zone->redis) {
        /* by default a twentieth of the budget: 20 leases empty it */

        if (zone->lease == 0) {
            zone->lease = zone->limit / 20;
        }

        if (zone->lease > zone->limit) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "llm_budget_zone \"%V\": \"lease=\" is "
                               "larger than the budget", &name);
            return NGX_CONF_ERROR;
        }
    }

    /* cost zones stop a stream that runs past them unless told otherwise */
    zone->cut = (cut == -1) ? zone->cost : (unsigned) cut;
    zone->name = name;

    shm_zone = ngx_http_llm_zone_add(cf, "llm_budget_zone", &name, size,
                                     &ngx_http_llm_module,
                                     ngx_http_llm_budget_init_zone, zone,
                                     &lmcf->budget_zones);
    if (shm_zone == NULL) {
        return NGX_CONF_ERROR;
    }

    zone->shm_zone = shm_zone;

    /*
     * the hints: allocated here, before the workers are forked, each
     * worker's own copy once it writes to it (the zone is mapped at the
     * same address in every worker)
     */

    zone->hint = ngx_pcalloc(cf->pool,
                             NGX_HTTP_LLM_BUDGET_HINTS * sizeof(void *));
    if (zone->hint == NULL) {
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


/* "tokens=100000/m", "cost=25.50/d" */

static ngx_int_t
ngx_http_llm_budget_parse_rate(ngx_conf_t *cf, ngx_str_t *value,
    ngx_http_llm_budget_zone_t *zone)
{
    u_char     *p, *last, *slash;
    ngx_int_t   n;
    ngx_msec_t  period;

    p = value->data;
    last = p + value->len;

    zone->cost = (*p == 'c');
    p += zone->cost ? 5 : 7;

    slash = ngx_strlchr(p, last, '/');

    if (slash == NULL || slash == p || last - slash != 2) {
        goto invalid;
    }

    switch (slash[1]) {
    case 's':
        period = 1000;
        break;
    case 'm':
        period = 60 * 1000;
        break;
    case 'h':
        period = 60 * 60 * 1000;
        break;
    case 'd':
        period = 24 * 60 * 60 * 1000;
        break;
    default:
        goto invalid;
    }

    if (zone->cost) {
        n = ngx_atofp(p, slash - p, 6);        /* micro-USD */
        if (n <= 0) {
            goto invalid;
        }

        zone->limit = (double) n / 1e6;

    } else {
        n = ngx_atoi(p, slash - p);
        if (n <= 0) {
            goto invalid;
        }

        zone->limit = (double) n;
    }

    zone->period = period;
    zone->rate = zone->limit / period;

    return NGX_OK;

invalid:

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "llm_budget_zone: invalid rate \"%V\" (tokens=N/PERIOD "
                       "or cost=USD/PERIOD, PERIOD one of s, m, h, d)", value);

    return NGX_ERROR;
}


/* llm_budget NAME; several per location */

char *
ngx_http_llm_budget(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_llm_budget_loc_conf_t *lcf = conf;

    ngx_str_t                        *value;
    ngx_uint_t                        i;
    ngx_shm_zone_t                   *shm_zone, **zp;
    ngx_http_llm_budget_main_conf_t  *lmcf;

    value = cf->args->elts;

    shm_zone = ngx_shared_memory_add(cf, &value[1], 0, &ngx_http_llm_module);
    if (shm_zone == NULL) {
        return NGX_CONF_ERROR;
    }

    if (lcf->budgets == NGX_CONF_UNSET_PTR) {
        lcf->budgets = ngx_array_create(cf->pool, 2,
                                        sizeof(ngx_shm_zone_t *));
        if (lcf->budgets == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    zp = lcf->budgets->elts;

    for (i = 0; i < lcf->budgets->nelts; i++) {
        if (zp[i] == shm_zone) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "llm_budget \"%V\" is duplicate", &value[1]);
            return NGX_CONF_ERROR;
        }
    }

    zp = ngx_array_push(lcf->budgets);
    if (zp == NULL) {
        return NGX_CONF_ERROR;
    }

    *zp = shm_zone;

    /* checked once the http block is read: zones may be declared later */

    lmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_llm_budget_module);

    if (ngx_http_llm_zone_ref(cf, &lmcf->budget_refs, shm_zone) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


/* after the http block: every llm_budget names a declared zone */

ngx_int_t
ngx_http_llm_budget_check(ngx_conf_t *cf,
    ngx_http_llm_budget_main_conf_t *lmcf)
{
    /*
     * The zone is looked up by name under the core module's tag, which
     * other zones of the module share (llm_redis's counters, the status
     * zone): only an llm_budget_zone will do.
     */

    return ngx_http_llm_zone_refs_check(cf, &lmcf->budget_refs,
                                        ngx_http_llm_budget_init_zone,
                                        "llm_budget", "llm_budget_zone");
}


/*
 * redis=NAME: the zone's buckets live in Redis, shared by every nginx that
 * names the same zone and the same Redis.  Each nginx admits from its own
 * share of a key (node->level, in this shared memory, for all its
 * workers), taken from Redis in leases by a Lua script that refills the
 * bucket with Redis's clock (TIME), never a node's.  A request waits for
 * Redis only when the share is short (once per lease, not per request);
 * the reconciliation is batched: a share grown by answers shorter than
 * their reservation goes back to Redis once it exceeds two leases.
 *
 * In an outage with fail=open, a key's share refills here at the rate
 * divided by the number of nginx seen taking leases in the last minute
 * (the last known share); what is made so is owed, and taken from Redis
 * with the next lease, so that the fleet converges when it is back.
 */

/*
 * KEYS: the bucket, the set of nginx taking leases.  ARGV: limit, period
 * (ms), what is asked (< 0: given back), who asks.  Amounts are integers
 * (tokens, or nano-USD).  Returns: granted, the level left, how many nginx.
 */

static ngx_str_t  ngx_http_llm_budget_script = ngx_string(
    "local t = redis.call('TIME')\n"
    "local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"
    "local limit = tonumber(ARGV[1])\n"
    "local rate = limit / tonumber(ARGV[2])\n"
    "local want = tonumber(ARGV[3])\n"
    "local b = redis.call('HMGET', KEYS[1], 'l', 't')\n"
    "local level = tonumber(b[1])\n"
    "local ts = tonumber(b[2])\n"
    "if level == nil or ts == nil then level = limit ts = now end\n"
    "if now > ts then level = level + (now - ts) * rate end\n"
    "if level > limit then level = limit end\n"
    "local grant = 0\n"
    "if want < 0 then\n"
    "  level = math.min(limit, level - want)\n"
    "elseif want > 0 then\n"
    "  grant = math.min(want, math.max(math.floor(level), 0))\n"
    "  level = level - grant\n"
    "end\n"
    "local ttl = math.min(math.ceil((limit - level) / rate), 31536000000)\n"
    "redis.call('HSET', KEYS[1], 'l', string.format('%.17g', level),"
    " 't', string.format('%.0f', now))\n"
    "redis.call('PEXPIRE', KEYS[1], string.format('%.0f', ttl + 60000))\n"
    "redis.call('ZADD', KEYS[2], string.format('%.0f', now), ARGV[4])\n"
    "redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf',"
    " string.format('%.0f', now - 60000))\n"
    "redis.call('PEXPIRE', KEYS[2], 120000)\n"
    "return {string.format('%.0f', grant), string.format('%.0f', level),"
    " redis.call('ZCARD', KEYS[2])}\n");


#define ngx_http_llm_budget_unit(zone)  ((zone)->cost ? 1e9 : 1.0)


/*
 * Under the zone's lock: a lease for a request that needs "want" (> 0), or
 * a surplus given back (want < 0).  The share is not touched until Redis
 * answers, but for what is given back, taken from it at once.
 */

static ngx_http_llm_budget_lease_t *
ngx_http_llm_budget_lease_prepare(ngx_http_llm_budget_zone_t *zone,
    ngx_http_llm_reservation_t *res, ngx_http_llm_budget_node_t *node,
    double want)
{
    double                        target;
    ngx_http_llm_budget_lease_t  *l;

    l = ngx_alloc(sizeof(ngx_http_llm_budget_lease_t), ngx_cycle->log);
    if (l == NULL) {
        return NULL;
    }

    ngx_memzero(l, sizeof(ngx_http_llm_budget_lease_t));

    l->zone = zone;
    l->hash = res->hash;
    ngx_memcpy(l->digest, res->digest, NGX_HTTP_LLM_BUDGET_DIGEST);

    if (want > 0) {
        /*
         * A whole lease, and the share back to zero when in debt; just what
         * is needed when a lease is already on its way (parallel requests
         * of this nginx do not hoard).
         */

        target = (node->lease_at
                  && (uint32_t) ngx_current_msec - node->lease_at
                     < 2 * zone->redis->timeout)
                 ? want : ngx_max(zone->lease, want);

        l->want = target - node->level;

        /* what an outage made here is paid for with it */

        l->owed = node->owed;
        l->want += node->owed;
        node->owed = 0;

    } else {
        l->want = want;
        node->level += want;
    }

    node->lease_at = (uint32_t) ngx_current_msec ? (uint32_t) ngx_current_msec
                                                 : 1;

    return l;
}


/* NGX_AGAIN: asked, the handler runs later; NGX_DECLINED: not asked */

static ngx_int_t
ngx_http_llm_budget_lease_send(ngx_http_request_t *r, ngx_http_llm_ctx_t *ctx,
    ngx_http_llm_budget_lease_t *l)
{
    u_char                      *p, *last;
    ngx_str_t                    argv[9];
    ngx_pool_cleanup_t          *cln;
    ngx_http_llm_budget_zone_t  *zone;
    ngx_http_llm_budget_node_t  *node;
    ngx_http_llm_reservation_t   res;
    ngx_http_llm_redis_cmd_t    *cmd;
    double                       unit;
    u_char                       buf[1024];

    zone = l->zone;
    unit = ngx_http_llm_budget_unit(zone);
    cln = NULL;
    cmd = NULL;

    if (zone->name.len > 256) {
        goto failed;
    }

    if (r) {
        cln = ngx_pool_cleanup_add(r->pool, 0);
        if (cln == NULL) {
            goto failed;
        }

        cln->handler = ngx_http_llm_budget_lease_cleanup;
        cln->data = l;

        l->request = r;
        l->ctx = ctx;
        l->cln = cln;
    }

    p = buf;
    last = buf + sizeof(buf);

    ngx_str_set(&argv[0], "EVAL");
    argv[1] = ngx_http_llm_budget_script;
    ngx_str_set(&argv[2], "2");

    argv[3].data = p;
    p = ngx_slprintf(p, last, "llm:budget:{%V}:", &zone->name);
    p = ngx_hex_dump(p, l->digest, NGX_HTTP_LLM_BUDGET_DIGEST);
    argv[3].len = p - argv[3].data;

    argv[4].data = p;
    p = ngx_slprintf(p, last, "llm:budget:{%V}:nginx", &zone->name);
    argv[4].len = p - argv[4].data;

    argv[5].data = p;
    p = ngx_slprintf(p, last, "%.0f", zone->limit * unit);
    argv[5].len = p - argv[5].data;

    argv[6].data = p;
    p = ngx_slprintf(p, last, "%M", zone->period);
    argv[6].len = p - argv[6].data;

    argv[7].data = p;
    p = ngx_slprintf(p, last, "%.0f", l->want * unit);
    argv[7].len = p - argv[7].data;

    argv[8].data = p;
    p = ngx_slprintf(p, last, "%016uxL", zone->redis->sh->instance);
    argv[8].len = p - argv[8].data;

    cmd = ngx_http_llm_redis_send(zone->redis, 9, argv,
                                  ngx_http_llm_budget_leased, l);
    if (cmd) {
        return NGX_AGAIN;
    }

failed:

    if (cln) {
        cln->handler = NULL;
    }

    /* not asked: the share is as it was */

    res.hash = l->hash;
    ngx_memcpy(res.digest, l->digest, NGX_HTTP_LLM_BUDGET_DIGEST);

    ngx_shmtx_lock(&zone->shpool->mutex);

    node = ngx_http_llm_budget_lookup(zone, &res);

    if (node) {
        node->owed += l->owed;
        node->lease_at = 0;

        if (l->want - l->owed < 0) {
            node->level -= l->want - l->owed;
        }
    }

    ngx_shmtx_unlock(&zone->shpool->mutex);

    ngx_free(l);

    return NGX_DECLINED;
}


/* Redis answered a lease (or failed to): the share is updated */

static void
ngx_http_llm_budget_leased(ngx_http_llm_redis_cmd_t *cmd, ngx_int_t rc,
    ngx_http_llm_resp_value_t *v, size_t n)
{
    ngx_http_llm_budget_lease_t *l = cmd->data;

    double                       unit;
    int64_t                      granted, level, ninst;
    ngx_str_t                    text;
    ngx_uint_t                   ok;
    ngx_msec_t                   wait;
    ngx_connection_t            *c;
    ngx_http_request_t          *r;
    ngx_http_llm_ctx_t          *ctx;
    ngx_pool_cleanup_t          *cln;
    ngx_http_llm_budget_zone_t  *zone;
    ngx_http_llm_budget_node_t  *node;
    ngx_http_llm_reservation_t   res;

    zone = l->zone;
    unit = ngx_http_llm_budget_unit(zone);
    ok = 0;
    granted = 0;
    level = 0;
    ninst = 1;

    if (rc == NGX_OK) {
        if (v[0].type == NGX_HTTP_LLM_RESP_ARRAY && v[0].integer == 3
            && n >= 4
            && ngx_http_llm_redis_number(&v[1], &granted) == NGX_OK
            && ngx_http_llm_redis_number(&v[2], &level) == NGX_OK
            && ngx_http_llm_redis_number(&v[3], &ninst) == NGX_OK)
        {
            ok = 1;

        } else {
            text.data = (u_char *) v[0].data;
            text.len = (v[0].type == NGX_HTTP_LLM_RESP_ERROR)
                       ? ngx_min(v[0].len, 200) : 0;

            ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                          "llm_budget_zone \"%V\": unexpected reply of "
                          "llm_redis \"%V\" to a lease: %V", &zone->name,
                          &zone->redis->name, &text);
        }
    }

    res.hash = l->hash;
    ngx_memcpy(res.digest, l->digest, NGX_HTTP_LLM_BUDGET_DIGEST);

    ngx_shmtx_lock(&zone->shpool->mutex);

    node = ngx_http_llm_budget_lookup(zone, &res);

    if (node == NULL && ok && granted > 0) {
        /* evicted meanwhile: what was granted is not lost */
        node = ngx_http_llm_budget_create(zone, &res, &wait);
    }

    if (node) {
        if (ok) {
            node->level += (double) granted / unit - l->owed;
            node->global = (float) ((double) level / unit);
            node->ninst = (u_short) ngx_min(ngx_max(ninst, 1), 65535);

            if (l->want > 0 && (double) granted < l->want * unit - 0.5) {
                /*
                 * The key is used up fleet-wide: refused requests do not
                 * ask again before the refill (or a second) could help.
                 */
                wait = (ngx_msec_t) ngx_min((l->want - granted / unit)
                                            / zone->rate, 1000.0);
                node->short_until = (uint32_t) (ngx_current_msec + wait);
            }

        } else {
            /*
             * Not known to be applied: what was owed stays owed; a surplus
             * that may not have gone back is lost (never counted twice).
             */
            node->owed += l->owed;
        }

        node->lease_at = 0;
    }

    ngx_shmtx_unlock(&zone->shpool->mutex);

    if (ok) {
        if (l->want > 0) {
            (void) ngx_atomic_fetch_add(&zone->redis->sh->leases, 1);

            if ((double) granted < l->want * unit - 0.5) {
                (void) ngx_atomic_fetch_add(&zone->redis->sh->lease_short, 1);
            }

        } else {
            (void) ngx_atomic_fetch_add(&zone->redis->sh->returns, 1);
        }
    }

    ngx_log_debug5(NGX_LOG_DEBUG_HTTP, ngx_cycle->log, 0,
                   "llm budget \"%V\": lease of %.0f: ok:%ui granted %L, "
                   "Redis level %L", &zone->name, l->want * unit, ok,
                   granted, level);

    r = l->request;
    ctx = l->ctx;
    cln = l->cln;

    ngx_free(l);

    if (r) {
        /* from Redis's connection: the client's posted requests are run */

        c = r->connection;
        cln->handler = NULL;
        ngx_http_llm_resume(r, ctx, NGX_DECLINED);
        ngx_http_run_posted_requests(c);
    }
}


/* the request waiting for a lease is torn down: the lease is still kept */

static void
ngx_http_llm_budget_lease_cleanup(void *data)
{
    ngx_http_llm_budget_lease_t *l = data;

    l->request = NULL;
    l->ctx = NULL;
}


static void
ngx_http_llm_budget_outage_refill(ngx_http_llm_budget_zone_t *zone,
    ngx_http_llm_budget_node_t *node)
{
    double          add, cap;
    ngx_msec_int_t  elapsed;

    elapsed = (ngx_msec_int_t) (ngx_current_msec - node->last);
    node->last = ngx_current_msec;

    if (elapsed <= 0 || zone->fail_closed
        || !ngx_http_llm_redis_down(zone->redis))
    {
        return;
    }

    /* the last known share of the refill, up to a lease */

    cap = ngx_max(zone->lease, node->level);
    add = elapsed * zone->rate / (double) ngx_max(node->ninst, 1);

    if (node->level + add > cap) {
        add = cap - node->level;
    }

    if (add > 0) {
        node->level += add;
        node->owed += add;
    }
}


/* the pipeline's hooks of budgets (see ngx_http_llm_module.h) */

static void
ngx_http_llm_budget_text_hook(ngx_http_request_t *r, ngx_http_llm_ctx_t *ctx,
    const u_char *text, size_t len)
{
    /* a stream over its reservation is cut as soon as it is seen */

    if (ctx->budget_cut_armed && ctx->mode == NGX_HTTP_LLM_MODE_STREAM
        && ngx_http_llm_budget_overrun(ctx))
    {
        ctx->budget_cut_armed = 0;
        ctx->cut_stream = 1;
    }
}


static void
ngx_http_llm_budget_end_hook(ngx_http_llm_ctx_t *ctx)
{
    if (ctx->budgeted) {
        ngx_http_llm_budget_settle(ctx);
    }
}


/* llm_status: the zones' counters, read under each zone's lock */

static size_t
ngx_http_llm_budget_status_size(void)
{
    ngx_http_llm_budget_main_conf_t  *bmcf;

    bmcf = ngx_http_cycle_get_module_main_conf(ngx_cycle,
                                               ngx_http_llm_budget_module);

    return 1024 + bmcf->budget_zones.nelts * 1024;
}


static u_char *
ngx_http_llm_budget_status(u_char *p, ngx_uint_t json)
{
    ngx_uint_t                        i, n, first;
    ngx_http_llm_budget_zone_t      **zones, *z;
    ngx_http_llm_budget_main_conf_t  *bmcf;

    bmcf = ngx_http_cycle_get_module_main_conf(ngx_cycle,
                                               ngx_http_llm_budget_module);

    zones = bmcf->budget_zones.elts;

    if (json) {
        p = ngx_cpymem(p, ",\"budgets\":{", 12);
        first = 1;

        for (i = 0; i < bmcf->budget_zones.nelts; i++) {
            z = zones[i];

            if (z->sh == NULL) {
                continue;
            }

            if (!first) {
                *p++ = ',';
            }

            first = 0;

            ngx_shmtx_lock(&z->shpool->mutex);

            p = ngx_sprintf(p, "\"%*s\":{\"admitted\":%ui,\"refused\":%ui,"
                            "\"keys\":%ui,\"evicted\":%ui,\"full\":%ui}",
                            ngx_min(z->name.len, NGX_HTTP_LLM_STAT_NAME),
                            z->name.data,
                            z->sh->admitted, z->sh->refused, z->sh->keys,
                            z->sh->evicted, z->sh->full);

            ngx_shmtx_unlock(&z->shpool->mutex);
        }

        *p++ = '}';

        return p;
    }

#define ngx_http_llm_each_zone(metric, type, help, field)                     \
    p = ngx_http_llm_prom_family(p, metric, type, help);                      \
    for (i = 0; i < bmcf->budget_zones.nelts; i++) {                          \
        z = zones[i];                                                         \
        if (z->sh == NULL) {                                                  \
            continue;                                                         \
        }                                                                     \
        ngx_shmtx_lock(&z->shpool->mutex);                                    \
        n = z->sh->field;                                                     \
        ngx_shmtx_unlock(&z->shpool->mutex);                                  \
        p = ngx_sprintf(p, metric "{zone=\"%*s\"} %ui\n",                     \
                        ngx_min(z->name.len, NGX_HTTP_LLM_STAT_NAME),         \
                        z->name.data, n);                                     \
    }

    ngx_http_llm_each_zone("llm_budget_admitted_total", "counter",
                           "Requests admitted by a budget zone.", admitted);
    ngx_http_llm_each_zone("llm_budget_refused_total", "counter",
                           "Requests refused by a budget zone.", refused);
    ngx_http_llm_each_zone("llm_budget_keys", "gauge",
                           "Keys held in a budget zone.", keys);
    ngx_http_llm_each_zone("llm_budget_evicted_total", "counter",
                           "Keys evicted from a full budget zone.", evicted);
    ngx_http_llm_each_zone("llm_budget_full_total", "counter",
                           "New keys refused by a full budget zone.", full);

#undef ngx_http_llm_each_zone

    return p;
}


static ngx_int_t
ngx_http_llm_budget_init(ngx_conf_t *cf)
{
    ngx_http_llm_hook_t  *h;

    h = ngx_http_llm_add_hook(cf, NGX_HTTP_LLM_HOOK_ADMIT);
    if (h == NULL) {
        return NGX_ERROR;
    }

    h->request = ngx_http_llm_budget_admit;

    h = ngx_http_llm_add_hook(cf, NGX_HTTP_LLM_HOOK_TEXT);
    if (h == NULL) {
        return NGX_ERROR;
    }

    h->text = ngx_http_llm_budget_text_hook;

    h = ngx_http_llm_add_hook(cf, NGX_HTTP_LLM_HOOK_END);
    if (h == NULL) {
        return NGX_ERROR;
    }

    h->end = ngx_http_llm_budget_end_hook;

    return ngx_http_llm_add_counters(cf, NGX_HTTP_LLM_COUNTERS_BUDGETS,
                                     NGX_HTTP_LLM_COUNTERS_BUDGETS,
                                     ngx_http_llm_budget_status_size,
                                     ngx_http_llm_budget_status);
}


/* the budget module: its directives and configuration */

static void *ngx_http_llm_budget_create_main_conf(ngx_conf_t *cf);
static char *ngx_http_llm_budget_init_main_conf(ngx_conf_t *cf, void *conf);
static void *ngx_http_llm_budget_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_llm_budget_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child);


static ngx_conf_num_bounds_t  ngx_http_llm_budget_status_bounds = {
    ngx_conf_check_num_bounds, 400, 599
};


static ngx_conf_enum_t  ngx_http_llm_budget_log_levels[] = {
    { ngx_string("info"), NGX_LOG_INFO },
    { ngx_string("notice"), NGX_LOG_NOTICE },
    { ngx_string("warn"), NGX_LOG_WARN },
    { ngx_string("error"), NGX_LOG_ERR },
    { ngx_null_string, 0 }
};


static ngx_command_t  ngx_http_llm_budget_commands[] = {

    { ngx_string("llm_budget_zone"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_2MORE,
      ngx_http_llm_budget_zone,
      0,
      0,
      NULL },

    { ngx_string("llm_budget"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_llm_budget,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("llm_budget_status"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_llm_budget_loc_conf_t, budget_status),
      &ngx_http_llm_budget_status_bounds },

    { ngx_string("llm_budget_dry_run"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_llm_budget_loc_conf_t, budget_dry_run),
      NULL },

    { ngx_string("llm_budget_allowance"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_llm_budget_loc_conf_t, budget_allowance),
      NULL },

    { ngx_string("llm_budget_log_level"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_enum_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_llm_budget_loc_conf_t, budget_log_level),
      &ngx_http_llm_budget_log_levels },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_llm_budget_module_ctx = {
    NULL,                                  /* preconfiguration */
    ngx_http_llm_budget_init,              /* postconfiguration */

    ngx_http_llm_budget_create_main_conf,  /* create main configuration */
    ngx_http_llm_budget_init_main_conf,    /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    ngx_http_llm_budget_create_loc_conf,   /* create location configuration */
    ngx_http_llm_budget_merge_loc_conf     /* merge location configuration */
};


ngx_module_t  ngx_http_llm_budget_module = {
    NGX_MODULE_V1,
    &ngx_http_llm_budget_module_ctx,       /* module context */
    ngx_http_llm_budget_commands,          /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    NULL,                                  /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    NULL,                                  /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


static void *
ngx_http_llm_budget_create_main_conf(ngx_conf_t *cf)
{
    ngx_http_llm_budget_main_conf_t  *lmcf;

    lmcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_llm_budget_main_conf_t));
    if (lmcf == NULL) {
        return NULL;
    }

    if (ngx_array_init(&lmcf->budget_refs, cf->pool, 4,
                       sizeof(ngx_http_llm_zone_ref_t))
        != NGX_OK
        || ngx_array_init(&lmcf->budget_zones, cf->pool, 4,
                          sizeof(ngx_http_llm_budget_zone_t *))
           != NGX_OK)
    {
        return NULL;
    }

    return lmcf;
}


static char *
ngx_http_llm_budget_init_main_conf(ngx_conf_t *cf, void *conf)
{
    if (ngx_http_llm_budget_check(cf, conf) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


static void *
ngx_http_llm_budget_create_loc_conf(ngx_conf_t *cf)
{
    ngx_http_llm_budget_loc_conf_t  *conf;

    conf = ngx_pcalloc(cf->pool, sizeof(ngx_http_llm_budget_loc_conf_t));
    if (conf == NULL) {
        return NULL;
    }

    conf->budgets = NGX_CONF_UNSET_PTR;
    conf->budget_status = NGX_CONF_UNSET_UINT;
    conf->budget_dry_run = NGX_CONF_UNSET;
    conf->budget_allowance = NGX_CONF_UNSET_UINT;
    conf->budget_log_level = NGX_CONF_UNSET_UINT;

    return conf;
}


static char *
ngx_http_llm_budget_merge_loc_conf(ngx_conf_t *cf, void *parent, void *child)
{
    ngx_http_llm_budget_loc_conf_t *prev = parent;
    ngx_http_llm_budget_loc_conf_t *conf = child;

    ngx_conf_merge_ptr_value(conf->budgets, prev->budgets, NULL);
    ngx_conf_merge_uint_value(conf->budget_status, prev->budget_status,
                              NGX_HTTP_TOO_MANY_REQUESTS);
    ngx_conf_merge_value(conf->budget_dry_run, prev->budget_dry_run, 0);
    ngx_conf_merge_uint_value(conf->budget_allowance, prev->budget_allowance,
                              1024);
    ngx_conf_merge_uint_value(conf->budget_log_level, prev->budget_log_level,
                              NGX_LOG_WARN);

    return NGX_CONF_OK;
}
