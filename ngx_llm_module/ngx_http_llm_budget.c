
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
 * bucket may go into debt.
 */


#include "ngx_http_llm_module.h"


typedef struct {
    u_char                      color;
    u_char                      dummy;
    u_short                     len;
    ngx_queue_t                 queue;         /* LRU, head: most recent */
    ngx_msec_t                  last;          /* of the last refill */
    ngx_uint_t                  inflight;      /* reservations held */
    double                      level;         /* tokens or USD */
    u_char                      data[1];
} ngx_http_llm_budget_node_t;




static ngx_int_t ngx_http_llm_budget_init_zone(ngx_shm_zone_t *shm_zone,
    void *data);
static void ngx_http_llm_budget_rbtree_insert_value(ngx_rbtree_node_t *temp,
    ngx_rbtree_node_t *node, ngx_rbtree_node_t *sentinel);
static ngx_http_llm_budget_node_t *ngx_http_llm_budget_lookup(
    ngx_http_llm_budget_zone_t *zone, ngx_http_llm_reservation_t *res,
    ngx_uint_t create);
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
 * NGX_DECLINED: admitted or not limited; NGX_HTTP_SPECIAL_RESPONSE: refused,
 * the answer is prepared.
 */

ngx_int_t
ngx_http_llm_budget_admit(ngx_http_request_t *r, ngx_http_llm_ctx_t *ctx)
{
    double                        tokens, usd, retry;
    size_t                        prompt;
    time_t                        secs;
    ngx_str_t                     key;
    ngx_uint_t                    i, n, allowance, level, too_large;
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

    allowance = (ctx->req.max_tokens >= 0) ? (ngx_uint_t) ctx->req.max_tokens
                                           : lcf->budget_allowance;

    prompt = ngx_http_llm_prompt_tokens(ctx);
    tokens = (double) (prompt + allowance);

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
            continue;
        }

        if (key.len > 65535) {
            ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                          "llm_budget \"%V\": the key is %uz bytes long, "
                          "the limit is 65535", &zone->name, key.len);
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        res = ngx_array_push(&ctx->reservations);
        if (res == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        res->zone = zone;
        res->key = key;
        res->hash = ngx_crc32_short(key.data, key.len);
        res->reserved = zone->cost ? usd : tokens;
        res->remaining = zone->limit;
        res->held = 0;
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
    retry = 0;

    for (i = 0; i < n; i++) {
        node = ngx_http_llm_budget_lookup(res[i].zone, &res[i], 1);

        if (node == NULL) {
            /* the zone is full of keys in use: fail open */
            continue;
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

    } else {
        for (i = 0; i < n; i++) {
            node = ngx_http_llm_budget_lookup(res[i].zone, &res[i], 0);

            if (node == NULL) {
                continue;
            }

            node->level -= res[i].reserved;
            node->inflight++;

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

        ngx_log_error(level, r->connection->log, 0,
                      "llm: %s by llm_budget_zone \"%V\": model \"%V\", "
                      "%.0f %s needed, retry in %Ts",
                      lcf->budget_dry_run ? "would be refused (dry run)"
                                          : "refused",
                      &refused->name, &ctx->model,
                      refused->cost ? usd * 1e6 : tokens,
                      refused->cost ? "micro-USD" : "tokens", secs);

        if (!lcf->budget_dry_run) {
            ctx->retry_after = ngx_max(secs, 1);
            ctx->reservations.nelts = 0;

            if (too_large) {
                (void) ngx_http_llm_fail(r, ctx, lcf->budget_status,
                                         "rate_limit_exceeded", NULL,
                                         "Request too large for %V: the "
                                         "token budget \"%V\" allows %.0f %s, "
                                         "the request needs %.0f. Reduce the "
                                         "prompt or max_tokens.", &ctx->model,
                                         &refused->name,
                                         refused->cost ? refused->limit * 1e6
                                                       : refused->limit,
                                         refused->cost ? "micro-USD"
                                                       : "tokens",
                                         refused->cost ? usd * 1e6 : tokens);

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
    ngx_http_llm_budget_node_t  *node;
    ngx_http_llm_reservation_t  *res;

    res = ctx->reservations.elts;

    for (i = 0; i < ctx->reservations.nelts; i++) {

        if (!res[i].held) {
            continue;
        }

        res[i].held = 0;

        /* an answer that could not be read costs all it reserved */

        used = ctx->unread ? res[i].reserved
                           : ngx_http_llm_budget_used(ctx, res[i].zone);

        ngx_shmtx_lock(&res[i].zone->shpool->mutex);

        node = ngx_http_llm_budget_lookup(res[i].zone, &res[i], 0);

        if (node) {
            ngx_http_llm_budget_refill(res[i].zone, node);

            node->level = ngx_min(node->level + res[i].reserved - used,
                                  res[i].zone->limit);
            node->inflight--;

            res[i].remaining = node->level;
        }

        ngx_shmtx_unlock(&res[i].zone->shpool->mutex);

        ngx_log_debug4(NGX_LOG_DEBUG_HTTP, ctx->request->connection->log, 0,
                       "llm budget \"%V\": reserved %.3f, used %.3f, "
                       "remaining %.3f", &res[i].zone->name, res[i].reserved,
                       used, res[i].remaining);
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
 * While an answer streams: would the zones still cover it?  Called only
 * when what was used passed what was reserved.  Returns 1 to end the stream.
 */

ngx_uint_t
ngx_http_llm_budget_overrun(ngx_http_llm_ctx_t *ctx)
{
    double                       used, over;
    ngx_uint_t                   i, cut;
    ngx_http_llm_budget_node_t  *node;
    ngx_http_llm_reservation_t  *res;

    res = ctx->reservations.elts;
    cut = 0;

    for (i = 0; i < ctx->reservations.nelts && !cut; i++) {

        if (!res[i].held || !res[i].zone->cut) {
            continue;
        }

        used = ngx_http_llm_budget_used(ctx, res[i].zone);
        over = used - res[i].reserved;

        if (over <= 0) {
            continue;
        }

        ngx_shmtx_lock(&res[i].zone->shpool->mutex);

        node = ngx_http_llm_budget_lookup(res[i].zone, &res[i], 0);

        if (node) {
            ngx_http_llm_budget_refill(res[i].zone, node);
            cut = (node->level - over < 0);
        }

        ngx_shmtx_unlock(&res[i].zone->shpool->mutex);

        if (cut) {
            ngx_log_error(NGX_LOG_WARN, ctx->request->connection->log, 0,
                          "llm: the answer of model \"%V\" is cut: it ran "
                          "past llm_budget_zone \"%V\"", &ctx->model,
                          &res[i].zone->name);
        }
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


static ngx_http_llm_budget_node_t *
ngx_http_llm_budget_lookup(ngx_http_llm_budget_zone_t *zone,
    ngx_http_llm_reservation_t *res, ngx_uint_t create)
{
    size_t                       size;
    ngx_int_t                    rc;
    ngx_uint_t                   evicted;
    ngx_queue_t                 *q;
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

        rc = ngx_memn2cmp(res->key.data, bn->data, res->key.len,
                          (size_t) bn->len);

        if (rc == 0) {
            ngx_queue_remove(&bn->queue);
            ngx_queue_insert_head(&zone->sh->queue, &bn->queue);
            return bn;
        }

        node = (rc < 0) ? node->left : node->right;
    }

    if (!create) {
        return NULL;
    }

    size = offsetof(ngx_rbtree_node_t, color)
           + offsetof(ngx_http_llm_budget_node_t, data)
           + res->key.len;

    evicted = 0;

    for ( ;; ) {
        node = ngx_slab_alloc_locked(zone->shpool, size);
        if (node) {
            break;
        }

        /* full: the least recently used key that holds no reservation */

        for (q = ngx_queue_last(&zone->sh->queue);
             q != ngx_queue_sentinel(&zone->sh->queue);
             q = ngx_queue_prev(q))
        {
            bn = ngx_queue_data(q, ngx_http_llm_budget_node_t, queue);

            if (bn->inflight == 0) {
                break;
            }
        }

        if (q == ngx_queue_sentinel(&zone->sh->queue)) {
            /* the key may be a credential: it is not logged */
            ngx_log_error(NGX_LOG_ALERT, ngx_cycle->log, 0,
                          "llm_budget_zone \"%V\" is full and every key in "
                          "it is in use: a new key is not limited",
                          &zone->name);
            return NULL;
        }

        ngx_queue_remove(q);

        node = (ngx_rbtree_node_t *)
                   ((u_char *) bn - offsetof(ngx_rbtree_node_t, color));

        ngx_rbtree_delete(&zone->sh->rbtree, node);
        ngx_slab_free_locked(zone->shpool, node);

        zone->sh->keys--;
        zone->sh->evicted++;
        evicted++;
    }

    if (evicted) {
        ngx_log_error(NGX_LOG_WARN, ngx_cycle->log, 0,
                      "llm_budget_zone \"%V\" is full: evicted %ui least "
                      "recently used keys", &zone->name, evicted);
    }

    node->key = res->hash;

    bn = (ngx_http_llm_budget_node_t *) &node->color;

    bn->len = (u_short) res->key.len;
    bn->last = ngx_current_msec;
    bn->inflight = 0;
    bn->level = zone->limit;
    ngx_memcpy(bn->data, res->key.data, res->key.len);

    ngx_rbtree_insert(&zone->sh->rbtree, node);
    ngx_queue_insert_head(&zone->sh->queue, &bn->queue);

    zone->sh->keys++;

    return bn;
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

            p = (ngx_memn2cmp(a->data, b->data, a->len, b->len) < 0)
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
 *                 [cut=on|off];
 */

char *
ngx_http_llm_budget_zone(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_llm_main_conf_t *lmcf = conf;

    ssize_t                            size;
    ngx_str_t                         *value, name;
    ngx_int_t                          cut;
    ngx_uint_t                         i, rated;
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

        if (ngx_strcmp(value[i].data, "cut=on") == 0) {
            cut = 1;
            continue;
        }

        if (ngx_strcmp(value[i].data, "cut=off") == 0) {
            cut = 0;
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
