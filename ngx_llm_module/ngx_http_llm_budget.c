
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


#include "ngx_http_llm_module.h"

#include <ngx_sha1.h>


typedef struct {
    u_char                      color;
    u_char                      dummy;
    u_short                     unused;
    ngx_queue_t                 queue;         /* LRU, head: most recent */
    ngx_msec_t                  last;          /* of the last refill */
    ngx_uint_t                  inflight;      /* reservations held */
    double                      level;         /* tokens or USD */
    u_char                      digest[NGX_HTTP_LLM_BUDGET_DIGEST];
} ngx_http_llm_budget_node_t;


/* how many keys a full zone looks at, from the least recently used */
#define NGX_HTTP_LLM_BUDGET_SCAN    64


static ngx_int_t ngx_http_llm_budget_init_zone(ngx_shm_zone_t *shm_zone,
    void *data);
static void ngx_http_llm_budget_rbtree_insert_value(ngx_rbtree_node_t *temp,
    ngx_rbtree_node_t *node, ngx_rbtree_node_t *sentinel);
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


#define ngx_http_llm_usd_per_token(price)  ((double) (price) * 1e-12)

/*
 * A bucket is full: the state of a key seen for the first time.  The
 * tolerance absorbs the rounding of a reservation given back in a cost
 * zone ((level - r) + r may be a hair below level).
 */
#define ngx_http_llm_budget_is_full(zone, level)                              \
    ((level) >= (zone)->limit * (1 - 1e-9))


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
    ngx_sha1_t                    sha1;
    ngx_uint_t                    i, n, level, too_large, full;
    ngx_http_cleanup_t           *cln;
    ngx_http_llm_model_t         *m;
    ngx_http_llm_loc_conf_t      *lcf;
    ngx_shm_zone_t              **shm;
    ngx_http_llm_budget_zone_t   *zone, *refused;
    ngx_http_llm_budget_node_t   *node;
    ngx_http_llm_reservation_t   *res;

    lcf = ngx_http_get_module_loc_conf(r, ngx_http_llm_module);

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

        ngx_sha1_init(&sha1);
        ngx_sha1_update(&sha1, key.data, key.len);
        ngx_sha1_final(res->digest, &sha1);

        ngx_memcpy(&res->hash, res->digest, sizeof(ngx_rbtree_key_t));

        res->zone = zone;
        res->reserved = zone->cost ? usd : tokens;
        res->charged = 0;
        res->remaining = zone->limit;
        res->held = 0;
        res->unlimited = 0;
    }

    n = ctx->reservations.nelts;

    if (n == 0) {
        return NGX_DECLINED;
    }

    res = ctx->reservations.elts;

    /* one lock order for every request: no deadlock between workers */

    ngx_qsort(res, n, sizeof(ngx_http_llm_reservation_t),
              ngx_http_llm_reservation_cmp);

    for (i = 0; i < n; i++) {
        ngx_shmtx_lock(&res[i].zone->shpool->mutex);
    }

    refused = NULL;
    too_large = 0;
    full = 0;
    retry = 0;

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

        ngx_http_llm_budget_refill(res[i].zone, node);

        res[i].remaining = node->level;

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
        }
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
            node = ngx_http_llm_budget_lookup(res[i].zone, &res[i]);

            if (node && node->inflight == 0
                && ngx_http_llm_budget_is_full(res[i].zone, node->level))
            {
                ngx_queue_remove(&node->queue);
                ngx_queue_insert_tail(&res[i].zone->sh->queue, &node->queue);
            }
        }

    } else {
        for (i = 0; i < n; i++) {
            node = ngx_http_llm_budget_lookup(res[i].zone, &res[i]);

            if (node == NULL) {
                continue;
            }

            node->level -= res[i].reserved;
            node->inflight++;

            res[i].charged = res[i].reserved;
            res[i].remaining = node->level;
            res[i].held = 1;
            res[i].zone->sh->admitted++;

            if (res[i].zone->cut && !lcf->budget_dry_run) {
                ctx->budget_cut_armed = 1;
            }
        }
    }

    for (i = n; i > 0; i--) {
        ngx_shmtx_unlock(&res[i - 1].zone->shpool->mutex);
    }

    ngx_http_llm_budget_report(ctx);

    if (refused) {
        secs = (time_t) ((retry + 999) / 1000);
        level = lcf->budget_dry_run ? NGX_LOG_NOTICE : NGX_LOG_WARN;

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
    double                       used;
    ngx_uint_t                   i;
    ngx_http_llm_budget_zone_t  *zone;
    ngx_http_llm_budget_node_t  *node;
    ngx_http_llm_reservation_t  *res;

    res = ctx->reservations.elts;

    for (i = 0; i < ctx->reservations.nelts; i++) {

        if (!res[i].held) {
            continue;
        }

        res[i].held = 0;

        zone = res[i].zone;

        /* an answer that could not be read costs all it reserved */

        used = ctx->unread ? ngx_max(res[i].reserved, res[i].charged)
                           : ngx_http_llm_budget_used(ctx, zone);

        ngx_shmtx_lock(&zone->shpool->mutex);

        node = ngx_http_llm_budget_lookup(zone, &res[i]);

        if (node) {
            ngx_http_llm_budget_refill(zone, node);

            node->level = ngx_min(node->level + res[i].charged - used,
                                  zone->limit);
            node->inflight--;

            res[i].remaining = node->level;

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

        ngx_log_debug5(NGX_LOG_DEBUG_HTTP, ctx->request->connection->log, 0,
                       "llm budget \"%V\": reserved %.3f, charged %.3f, "
                       "used %.3f, remaining %.3f", &zone->name,
                       res[i].reserved, res[i].charged, used,
                       res[i].remaining);
    }

    ngx_http_llm_budget_report(ctx);
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

        node = ngx_http_llm_budget_lookup(zone, &res[i]);

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
            res[i].remaining = node->level;
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


/* the node of a reservation's key, if the zone has it */

static ngx_http_llm_budget_node_t *
ngx_http_llm_budget_lookup(ngx_http_llm_budget_zone_t *zone,
    ngx_http_llm_reservation_t *res)
{
    ngx_int_t                    rc;
    ngx_rbtree_node_t           *node, *sentinel;
    ngx_http_llm_budget_node_t  *bn;

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

    bn->unused = 0;
    bn->last = ngx_current_msec;
    bn->inflight = 0;
    bn->level = zone->limit;
    ngx_memcpy(bn->digest, res->digest, NGX_HTTP_LLM_BUDGET_DIGEST);

    ngx_rbtree_insert(&zone->sh->rbtree, node);
    ngx_queue_insert_head(&zone->sh->queue, &bn->queue);

    zone->sh->keys++;

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
        /* reload: the keys and their levels live on */
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
 *                 [cut=on|off] [full=refuse|admit] [empty=pass|refuse];
 */

char *
ngx_http_llm_budget_zone(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_llm_main_conf_t *lmcf = conf;

    ssize_t                            size;
    ngx_str_t                         *value, name;
    ngx_int_t                          cut;
    ngx_uint_t                         i, n, rated, seen;
    ngx_shm_zone_t                    *shm_zone;
    ngx_http_llm_budget_zone_t        *zone, **zp;
    ngx_http_compile_complex_value_t   ccv;

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

        if (ngx_strncmp(value[i].data, "cut=", 4) == 0
            || ngx_strncmp(value[i].data, "full=", 5) == 0
            || ngx_strncmp(value[i].data, "empty=", 6) == 0)
        {
            /* each once: "full=admit full=refuse" is an error */

            n = (value[i].data[0] == 'c') ? 0
                : (value[i].data[0] == 'f') ? 1 : 2;

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

    /* cost zones stop a stream that runs past them unless told otherwise */
    zone->cut = (cut == -1) ? zone->cost : (unsigned) cut;
    zone->name = name;

    shm_zone = ngx_shared_memory_add(cf, &name, size, &ngx_http_llm_module);
    if (shm_zone == NULL) {
        return NGX_CONF_ERROR;
    }

    if (shm_zone->data) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "llm_budget_zone \"%V\" is duplicate", &name);
        return NGX_CONF_ERROR;
    }

    shm_zone->init = ngx_http_llm_budget_init_zone;
    shm_zone->data = zone;

    zone->shm_zone = shm_zone;

    zp = ngx_array_push(&lmcf->budget_zones);
    if (zp == NULL) {
        return NGX_CONF_ERROR;
    }

    *zp = zone;

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
    ngx_http_llm_loc_conf_t *lcf = conf;

    ngx_str_t                  *value;
    ngx_uint_t                  i;
    ngx_shm_zone_t             *shm_zone, **zp;
    ngx_http_llm_main_conf_t   *lmcf;
    ngx_http_llm_budget_ref_t  *ref;

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

    lmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_llm_module);

    ref = ngx_array_push(&lmcf->budget_refs);
    if (ref == NULL) {
        return NGX_CONF_ERROR;
    }

    ref->shm_zone = shm_zone;
    ref->file = cf->conf_file->file.name.data;
    ref->line = cf->conf_file->line;

    return NGX_CONF_OK;
}


/* after the http block: every llm_budget names a declared zone */

ngx_int_t
ngx_http_llm_budget_check(ngx_conf_t *cf, ngx_http_llm_main_conf_t *lmcf)
{
    ngx_uint_t                  i;
    ngx_http_llm_budget_ref_t  *ref;

    ref = lmcf->budget_refs.elts;

    for (i = 0; i < lmcf->budget_refs.nelts; i++) {
        if (ref[i].shm_zone->data == NULL) {
            ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                          "llm_budget \"%V\": no llm_budget_zone with this "
                          "name in %s:%ui", &ref[i].shm_zone->shm.name,
                          ref[i].file, ref[i].line);
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}
