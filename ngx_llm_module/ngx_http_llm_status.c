
/*
 * Copyright (C) ngx_llm_module authors
 *
 * Counters in shared memory (one slot per catalogue model and per route,
 * found by name, so they survive reloads), updated with atomics in the log
 * phase, and the llm_status handler: Prometheus text, JSON, or the HTML
 * page of ngx_http_llm_status_html.c.
 */


#include "ngx_http_llm_module.h"


/*
 * The counters of the other features, which may be left out of the build
 * (config): what is not built reports nothing.
 */

#if (NGX_HTTP_LLM_BUDGET)
#include "ngx_http_llm_budget.h"

#define ngx_http_llm_budget_zones()                                           \
    (&((ngx_http_llm_budget_main_conf_t *)                                    \
       ngx_http_cycle_get_module_main_conf(ngx_cycle,                         \
                                           ngx_http_llm_budget_module))       \
      ->budget_zones)
#else
static ngx_array_t  ngx_http_llm_no_budget_zones;
#define ngx_http_llm_budget_zones()  (&ngx_http_llm_no_budget_zones)
#endif

#if !(NGX_HTTP_LLM_CACHE)
#define ngx_http_llm_cache_status_size()    0
#define ngx_http_llm_cache_status(p, json)  (p)
#endif

#if !(NGX_HTTP_LLM_REDACT)
#define ngx_http_llm_redact_status_size()    0
#define ngx_http_llm_redact_status(p, json)  (p)
#endif


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


#define ngx_http_llm_stats(lmcf)  ((ngx_http_llm_stats_t *) (lmcf)->stats)


static ngx_int_t ngx_http_llm_status_init_zone(ngx_shm_zone_t *shm_zone,
    void *data);
static ngx_http_llm_stat_t *ngx_http_llm_stat_slot(ngx_http_llm_stats_t *st,
    ngx_str_t *name, ngx_uint_t kind, ngx_uint_t limit);
static ngx_int_t ngx_http_llm_status_handler(ngx_http_request_t *r);
static u_char *ngx_http_llm_status_prometheus(u_char *p,
    ngx_http_llm_main_conf_t *lmcf);
static u_char *ngx_http_llm_status_json(u_char *p,
    ngx_http_llm_main_conf_t *lmcf);


static ngx_msec_t  ngx_http_llm_ttft_bins[NGX_HTTP_LLM_TTFT_BINS] = {
    100, 250, 500, 1000, 2500, 5000, 10000, 30000
};

static ngx_str_t  ngx_http_llm_stats_name = ngx_string("ngx_http_llm_status");

static ngx_str_t  ngx_http_llm_unlisted = ngx_string("(unlisted)");


/* the zone of counters, created with the http block */

ngx_int_t
ngx_http_llm_status_zone(ngx_conf_t *cf, ngx_http_llm_main_conf_t *lmcf)
{
    ngx_shm_zone_t  *shm_zone;

    shm_zone = ngx_shared_memory_add(cf, &ngx_http_llm_stats_name,
                                     sizeof(ngx_http_llm_stats_t)
                                     + 16 * ngx_pagesize,
                                     &ngx_http_llm_module);
    if (shm_zone == NULL) {
        return NGX_ERROR;
    }

    shm_zone->init = ngx_http_llm_status_init_zone;
    shm_zone->data = lmcf;

    return NGX_OK;
}


static ngx_int_t
ngx_http_llm_status_init_zone(ngx_shm_zone_t *shm_zone, void *data)
{
    ngx_http_llm_main_conf_t  *olmcf = data;

    ngx_str_t                 *first;
    ngx_uint_t                 i, missing, limit;
    ngx_slab_pool_t           *shpool;
    ngx_http_llm_model_t      *m;
    ngx_http_llm_route_t      *route;
    ngx_http_llm_main_conf_t  *lmcf;

    lmcf = shm_zone->data;

    if (olmcf) {
        /* reload: the counters live on, slots are found by name again */
        lmcf->stats = olmcf->stats;

    } else {
        shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;

        if (shm_zone->shm.exists) {
            lmcf->stats = shpool->data;

        } else {
            lmcf->stats = ngx_slab_calloc(shpool,
                                          sizeof(ngx_http_llm_stats_t));
            if (lmcf->stats == NULL) {
                return NGX_ERROR;
            }

            shpool->data = lmcf->stats;
        }
    }

    /*
     * The last slot is kept for "(unlisted)", where the models without a
     * slot of their own are counted, if it does not have one yet; it comes
     * after the configured models on the status page.
     */

    limit = NGX_HTTP_LLM_STAT_SLOTS;

    if (ngx_http_llm_stat_slot(lmcf->stats, &ngx_http_llm_unlisted,
                               NGX_HTTP_LLM_STAT_MODEL, 0)
        == NULL)
    {
        limit--;
    }

    first = NULL;
    missing = 0;

    m = lmcf->models.elts;

    for (i = 0; i < lmcf->models.nelts; i++) {
        m[i].stat = ngx_http_llm_stat_slot(lmcf->stats, &m[i].name,
                                           NGX_HTTP_LLM_STAT_MODEL, limit);
        if (m[i].stat == NULL) {
            first = first ? first : &m[i].name;
            missing++;
        }
    }

    if (lmcf->default_model) {
        lmcf->default_model->stat = ngx_http_llm_stat_slot(lmcf->stats,
                                          &lmcf->default_model->name,
                                          NGX_HTTP_LLM_STAT_MODEL, limit);
        if (lmcf->default_model->stat == NULL) {
            first = first ? first : &lmcf->default_model->name;
            missing++;
        }
    }

    lmcf->unlisted = ngx_http_llm_stat_slot(lmcf->stats,
                                            &ngx_http_llm_unlisted,
                                            NGX_HTTP_LLM_STAT_MODEL,
                                            NGX_HTTP_LLM_STAT_SLOTS);

    route = lmcf->routes.elts;

    for (i = 0; i < lmcf->routes.nelts; i++) {
        route[i].stat = ngx_http_llm_stat_slot(lmcf->stats, &route[i].alias,
                                               NGX_HTTP_LLM_STAT_ROUTE,
                                               NGX_HTTP_LLM_STAT_SLOTS);
        if (route[i].stat == NULL) {
            first = first ? first : &route[i].alias;
            missing++;
        }
    }

    if (missing) {
        ngx_log_error(NGX_LOG_WARN, shm_zone->shm.log, 0,
                      "llm_status: counters are kept for %d models and "
                      "routes (those of earlier configurations included, "
                      "until a restart): %ui more, from \"%V\" on, are "
                      "counted as \"(unlisted)\" (models) or not at all "
                      "(routes)", NGX_HTTP_LLM_STAT_SLOTS, missing, first);
    }

    return NGX_OK;
}


/*
 * The slot of a name, made among the first "limit" slots if it has none
 * (limit 0: found only).  Runs in the master while the configuration
 * loads: no lock needed.
 */

static ngx_http_llm_stat_t *
ngx_http_llm_stat_slot(ngx_http_llm_stats_t *st, ngx_str_t *name,
    ngx_uint_t kind, ngx_uint_t limit)
{
    size_t                len;
    ngx_uint_t            i;
    ngx_http_llm_stat_t  *s;

    len = ngx_min(name->len, NGX_HTTP_LLM_STAT_NAME);

    for (i = 0; i < st->nslots; i++) {
        s = &st->slots[i];

        if (s->kind == kind && s->len == len
            && ngx_strncmp(s->name, name->data, len) == 0)
        {
            return s;
        }
    }

    if (st->nslots >= limit) {
        return NULL;
    }

    s = &st->slots[st->nslots++];

    ngx_memcpy(s->name, name->data, len);
    s->len = len;
    s->kind = kind;

    return s;
}


/* the log phase: count a finished gateway request */

ngx_int_t
ngx_http_llm_log_handler(ngx_http_request_t *r)
{
    uint64_t                   nano;
    ngx_uint_t                 status, i;
    ngx_http_llm_ctx_t        *ctx;
    ngx_http_llm_stat_t       *s;
    ngx_http_llm_main_conf_t  *lmcf;

    ctx = ngx_http_llm_get_ctx(r);

    if (ctx == NULL || !ctx->parsed || ctx->shadow) {
        return NGX_OK;
    }

    lmcf = ngx_http_get_module_main_conf(r, ngx_http_llm_module);

    if (lmcf->stats == NULL) {
        return NGX_OK;
    }

    s = (ctx->entry && ctx->entry->stat) ? ctx->entry->stat : lmcf->unlisted;

    if (s == NULL) {
        return NGX_OK;
    }

    status = r->headers_out.status;

    if (ctx->client_abort && !ctx->answered) {
        status = NGX_HTTP_CLIENT_CLOSED_REQUEST;
    }

    ngx_atomic_fetch_add(&s->requests, 1);

    if (ctx->stream) {
        ngx_atomic_fetch_add(&s->streams, 1);
    }

    if (status >= 200 && status < 300) {
        ngx_atomic_fetch_add(&s->status_2xx, 1);

    } else if (status == NGX_HTTP_TOO_MANY_REQUESTS) {
        ngx_atomic_fetch_add(&s->status_429, 1);

    } else if (status >= 400 && status < 500) {
        ngx_atomic_fetch_add(&s->status_4xx, 1);

    } else if (status >= 500) {
        ngx_atomic_fetch_add(&s->status_5xx, 1);
    }

    if (ctx->client_abort) {
        ngx_atomic_fetch_add(&s->aborted, 1);
    }

    if (ctx->cut) {
        ngx_atomic_fetch_add(&s->cut, 1);
    }

    if (ctx->answered) {
        ngx_atomic_fetch_add(&s->prompt_tokens,
                             ngx_http_llm_prompt_tokens(ctx));
        ngx_atomic_fetch_add(&s->completion_tokens, ctx->completion_tokens);
        ngx_atomic_fetch_add(&s->cached_tokens, ctx->cached_tokens);

        if (!ctx->usage_reported) {
            ngx_atomic_fetch_add(&s->estimated, 1);
        }

        if (ngx_http_llm_cost(ctx, &nano) == NGX_OK) {
            ngx_atomic_fetch_add(&s->cost, (ngx_atomic_int_t) nano);
        }
    }

    if (ctx->ttft >= 0) {
        for (i = 0; i < NGX_HTTP_LLM_TTFT_BINS; i++) {
            if ((ngx_msec_t) ctx->ttft <= ngx_http_llm_ttft_bins[i]) {
                break;
            }
        }

        ngx_atomic_fetch_add(&s->ttft[i], 1);
        ngx_atomic_fetch_add(&s->ttft_sum, ctx->ttft);
        ngx_atomic_fetch_add(&s->ttft_count, 1);
    }

    if (ctx->attempts > 1) {
        ngx_atomic_fetch_add(&s->fallbacks, ctx->attempts - 1);
    }

    if (ctx->route && ctx->route->stat) {
        s = ctx->route->stat;

        ngx_atomic_fetch_add(&s->requests, 1);

        if (ctx->attempts > 1) {
            ngx_atomic_fetch_add(&s->fallbacks, ctx->attempts - 1);
        }
    }

    return NGX_OK;
}


/* a shadow exchange, counted on its route */

void
ngx_http_llm_stat_shadow(ngx_http_llm_route_t *route, ngx_uint_t sent,
    ngx_uint_t status, ngx_msec_t latency, ngx_uint_t exact,
    ngx_uint_t similarity)
{
    ngx_http_llm_stat_t  *s;

    s = route->stat;

    if (s == NULL) {
        return;
    }

    if (!sent) {
        ngx_atomic_fetch_add(&s->shadow_skipped, 1);
        return;
    }

    ngx_atomic_fetch_add(&s->shadow_sent, 1);

    if (status == NGX_HTTP_OK) {
        ngx_atomic_fetch_add(&s->shadow_ok, 1);

    } else {
        ngx_atomic_fetch_add(&s->shadow_errors, 1);
    }

    if (exact) {
        ngx_atomic_fetch_add(&s->shadow_agree, 1);
    }

    ngx_atomic_fetch_add(&s->shadow_similarity, similarity);
    ngx_atomic_fetch_add(&s->shadow_latency, latency);
}


/* llm_status; */

char *
ngx_http_llm_status(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_core_loc_conf_t  *clcf;

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    clcf->handler = ngx_http_llm_status_handler;

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_http_llm_status_handler(ngx_http_request_t *r)
{
    size_t                     size;
    ngx_int_t                  rc;
    ngx_str_t                  format;
    ngx_buf_t                 *b;
    ngx_uint_t                 json, nzones;
    ngx_chain_t                out;
    ngx_http_llm_main_conf_t  *lmcf;

    if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD))) {
        return NGX_HTTP_NOT_ALLOWED;
    }

    rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    lmcf = ngx_http_get_module_main_conf(r, ngx_http_llm_module);

    if (lmcf->stats == NULL) {
        return NGX_HTTP_SERVICE_UNAVAILABLE;
    }

    if (ngx_http_arg(r, (u_char *) "format", 6, &format) != NGX_OK) {
        format.len = 0;
    }

    if (format.len == 4 && ngx_strncmp(format.data, "html", 4) == 0) {
        return ngx_http_llm_status_html(r);
    }

    json = (format.len == 4 && ngx_strncmp(format.data, "json", 4) == 0);

    nzones = ngx_http_llm_budget_zones()->nelts;

    size = 4096 + ngx_http_llm_stats(lmcf)->nslots * 6144 + nzones * 1024
           + ngx_http_llm_cache_status_size()
           + ngx_http_llm_redact_status_size()
           + ngx_http_llm_redis_status_size(lmcf);

    b = ngx_create_temp_buf(r->pool, size);
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (json) {
        b->last = ngx_http_llm_status_json(b->last, lmcf);
        ngx_str_set(&r->headers_out.content_type, "application/json");

    } else {
        b->last = ngx_http_llm_status_prometheus(b->last, lmcf);
        ngx_str_set(&r->headers_out.content_type,
                    "text/plain; version=0.0.4");
    }

    r->headers_out.content_type_len = r->headers_out.content_type.len;
    r->headers_out.status = NGX_HTTP_OK;
    r->headers_out.content_length_n = b->last - b->pos;

    b->last_buf = (r == r->main) ? 1 : 0;
    b->last_in_chain = 1;

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    out.buf = b;
    out.next = NULL;

    return ngx_http_output_filter(r, &out);
}


#define ngx_http_llm_v(x)  ((ngx_atomic_uint_t) (x))


static u_char *
ngx_http_llm_prom_family(u_char *p, const char *name, const char *type,
    const char *help)
{
    return ngx_sprintf(p, "# HELP %s %s\n# TYPE %s %s\n", name, help, name,
                       type);
}


static u_char *
ngx_http_llm_status_prometheus(u_char *p, ngx_http_llm_main_conf_t *lmcf)
{
    ngx_uint_t                    i, j, n;
    ngx_atomic_uint_t             cum;
    ngx_http_llm_stat_t          *s;
    ngx_http_llm_stats_t         *st;
    ngx_http_llm_budget_zone_t  **zones, *z;

    st = ngx_http_llm_stats(lmcf);

#define ngx_http_llm_each_model(...)                                          \
    for (i = 0; i < st->nslots; i++) {                                        \
        s = &st->slots[i];                                                    \
        if (s->kind != NGX_HTTP_LLM_STAT_MODEL) {                             \
            continue;                                                         \
        }                                                                     \
        __VA_ARGS__;                                                          \
    }

    p = ngx_http_llm_prom_family(p, "llm_requests_total", "counter",
                                 "Gateway requests by model.");
    ngx_http_llm_each_model(
        p = ngx_sprintf(p, "llm_requests_total{model=\"%*s\"} %uA\n",
                        s->len, s->name, ngx_http_llm_v(s->requests)));

    p = ngx_http_llm_prom_family(p, "llm_stream_requests_total", "counter",
                                 "Streamed requests by model.");
    ngx_http_llm_each_model(
        p = ngx_sprintf(p, "llm_stream_requests_total{model=\"%*s\"} %uA\n",
                        s->len, s->name, ngx_http_llm_v(s->streams)));

    p = ngx_http_llm_prom_family(p, "llm_responses_total", "counter",
                                 "Responses by model and status class.");
    ngx_http_llm_each_model(
        p = ngx_sprintf(p,
                        "llm_responses_total{model=\"%*s\",status=\"2xx\"} %uA\n"
                        "llm_responses_total{model=\"%*s\",status=\"429\"} %uA\n"
                        "llm_responses_total{model=\"%*s\",status=\"4xx\"} %uA\n"
                        "llm_responses_total{model=\"%*s\",status=\"5xx\"} %uA\n",
                        s->len, s->name, ngx_http_llm_v(s->status_2xx),
                        s->len, s->name, ngx_http_llm_v(s->status_429),
                        s->len, s->name, ngx_http_llm_v(s->status_4xx),
                        s->len, s->name, ngx_http_llm_v(s->status_5xx)));

    p = ngx_http_llm_prom_family(p, "llm_aborted_total", "counter",
                                 "Requests the client closed early.");
    ngx_http_llm_each_model(
        p = ngx_sprintf(p, "llm_aborted_total{model=\"%*s\"} %uA\n",
                        s->len, s->name, ngx_http_llm_v(s->aborted)));

    p = ngx_http_llm_prom_family(p, "llm_cut_total", "counter",
                                 "Streams that ended early (cut or failed).");
    ngx_http_llm_each_model(
        p = ngx_sprintf(p, "llm_cut_total{model=\"%*s\"} %uA\n",
                        s->len, s->name, ngx_http_llm_v(s->cut)));

    p = ngx_http_llm_prom_family(p, "llm_tokens_total", "counter",
                                 "Tokens by model and kind (reported usage, "
                                 "or estimates).");
    ngx_http_llm_each_model(
        p = ngx_sprintf(p,
                        "llm_tokens_total{model=\"%*s\",type=\"prompt\"} %uA\n"
                        "llm_tokens_total{model=\"%*s\",type=\"completion\"} "
                        "%uA\n"
                        "llm_tokens_total{model=\"%*s\",type=\"cached\"} %uA\n",
                        s->len, s->name, ngx_http_llm_v(s->prompt_tokens),
                        s->len, s->name, ngx_http_llm_v(s->completion_tokens),
                        s->len, s->name, ngx_http_llm_v(s->cached_tokens)));

    p = ngx_http_llm_prom_family(p, "llm_estimated_total", "counter",
                                 "Answers counted by estimate (no usage "
                                 "reported).");
    ngx_http_llm_each_model(
        p = ngx_sprintf(p, "llm_estimated_total{model=\"%*s\"} %uA\n",
                        s->len, s->name, ngx_http_llm_v(s->estimated)));

    p = ngx_http_llm_prom_family(p, "llm_cost_usd_total", "counter",
                                 "Cost in USD at the catalogue's prices.");
    ngx_http_llm_each_model(
        p = ngx_sprintf(p, "llm_cost_usd_total{model=\"%*s\"} %uA.%09uA\n",
                        s->len, s->name,
                        ngx_http_llm_v(s->cost) / 1000000000,
                        ngx_http_llm_v(s->cost) % 1000000000));

    p = ngx_http_llm_prom_family(p, "llm_fallbacks_total", "counter",
                                 "Fallback attempts, by the model that "
                                 "answered.");
    ngx_http_llm_each_model(
        p = ngx_sprintf(p, "llm_fallbacks_total{model=\"%*s\"} %uA\n",
                        s->len, s->name, ngx_http_llm_v(s->fallbacks)));

    p = ngx_http_llm_prom_family(p, "llm_ttft_ms", "histogram",
                                 "Time to the first answer content, ms.");
    ngx_http_llm_each_model(
        cum = 0;
        for (j = 0; j < NGX_HTTP_LLM_TTFT_BINS; j++) {
            cum += ngx_http_llm_v(s->ttft[j]);
            p = ngx_sprintf(p, "llm_ttft_ms_bucket{model=\"%*s\",le=\"%M\"} "
                            "%uA\n", s->len, s->name,
                            ngx_http_llm_ttft_bins[j], cum);
        }
        cum += ngx_http_llm_v(s->ttft[NGX_HTTP_LLM_TTFT_BINS]);
        p = ngx_sprintf(p, "llm_ttft_ms_bucket{model=\"%*s\",le=\"+Inf\"} "
                        "%uA\nllm_ttft_ms_sum{model=\"%*s\"} %uA\n"
                        "llm_ttft_ms_count{model=\"%*s\"} %uA\n",
                        s->len, s->name, cum,
                        s->len, s->name, ngx_http_llm_v(s->ttft_sum),
                        s->len, s->name, ngx_http_llm_v(s->ttft_count)));

#define ngx_http_llm_each_route(metric, type, help, fmt, ...)              \
    p = ngx_http_llm_prom_family(p, metric, type, help);                      \
    for (i = 0; i < st->nslots; i++) {                                        \
        s = &st->slots[i];                                                    \
        if (s->kind != NGX_HTTP_LLM_STAT_ROUTE) {                             \
            continue;                                                         \
        }                                                                     \
        p = ngx_sprintf(p, metric "{route=\"%*s\"} " fmt "\n",             \
                        s->len, s->name, __VA_ARGS__);                        \
    }

    ngx_http_llm_each_route("llm_route_requests_total", "counter",
                            "Requests by route.", "%uA",
                            ngx_http_llm_v(s->requests));
    ngx_http_llm_each_route("llm_route_fallbacks_total", "counter",
                            "Fallback attempts by route.", "%uA",
                            ngx_http_llm_v(s->fallbacks));
    ngx_http_llm_each_route("llm_shadow_requests_total", "counter",
                            "Shadow requests sent by route.", "%uA",
                            ngx_http_llm_v(s->shadow_sent));
    ngx_http_llm_each_route("llm_shadow_skipped_total", "counter",
                            "Shadow requests skipped (too many in flight).",
                            "%uA", ngx_http_llm_v(s->shadow_skipped));
    ngx_http_llm_each_route("llm_shadow_ok_total", "counter",
                            "Shadow requests answered with 200.", "%uA",
                            ngx_http_llm_v(s->shadow_ok));
    ngx_http_llm_each_route("llm_shadow_errors_total", "counter",
                            "Shadow requests that failed.", "%uA",
                            ngx_http_llm_v(s->shadow_errors));
    ngx_http_llm_each_route("llm_shadow_agree_total", "counter",
                            "Shadow answers identical to the primary's.",
                            "%uA", ngx_http_llm_v(s->shadow_agree));
    ngx_http_llm_each_route("llm_shadow_similarity_sum", "counter",
                            "Sum of the shadow answers' similarity (0..1).",
                            "%uA.%02uA",
                            ngx_http_llm_v(s->shadow_similarity) / 100,
                            ngx_http_llm_v(s->shadow_similarity) % 100);
    ngx_http_llm_each_route("llm_shadow_latency_ms_sum", "counter",
                            "Sum of the shadow requests' latency, ms.", "%uA",
                            ngx_http_llm_v(s->shadow_latency));

    zones = ngx_http_llm_budget_zones()->elts;

#define ngx_http_llm_each_zone(metric, type, help, field)                     \
    p = ngx_http_llm_prom_family(p, metric, type, help);                      \
    for (i = 0; i < ngx_http_llm_budget_zones()->nelts; i++) {                          \
        z = zones[i];                                                         \
        if (z->sh == NULL) {                                                  \
            continue;                                                         \
        }                                                                     \
        ngx_shmtx_lock(&z->shpool->mutex);                                    \
        n = z->sh->field;                                                     \
        ngx_shmtx_unlock(&z->shpool->mutex);                                  \
        p = ngx_sprintf(p, metric "{zone=\"%*s\"} %ui\n",                   \
                        ngx_min(z->name.len, NGX_HTTP_LLM_STAT_NAME),        \
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

#undef ngx_http_llm_each_route
#undef ngx_http_llm_each_zone
#undef ngx_http_llm_each_model

    p = ngx_http_llm_cache_status(p, 0);
    p = ngx_http_llm_redis_status(p, lmcf, 0);

    return ngx_http_llm_redact_status(p, 0);
}


static u_char *
ngx_http_llm_status_json(u_char *p, ngx_http_llm_main_conf_t *lmcf)
{
    ngx_uint_t                    i, j, first;
    ngx_http_llm_stat_t          *s;
    ngx_http_llm_stats_t         *st;
    ngx_http_llm_budget_zone_t  **zones, *z;

    st = ngx_http_llm_stats(lmcf);

    p = ngx_cpymem(p, "{\"models\":{", 11);
    first = 1;

    for (i = 0; i < st->nslots; i++) {
        s = &st->slots[i];

        if (s->kind != NGX_HTTP_LLM_STAT_MODEL) {
            continue;
        }

        if (!first) {
            *p++ = ',';
        }

        first = 0;

        p = ngx_sprintf(p, "\"%*s\":{\"requests\":%uA,\"streams\":%uA,"
                        "\"responses\":{\"2xx\":%uA,\"429\":%uA,\"4xx\":%uA,"
                        "\"5xx\":%uA},\"aborted\":%uA,\"cut\":%uA,"
                        "\"tokens\":{\"prompt\":%uA,\"completion\":%uA,"
                        "\"cached\":%uA},\"estimated\":%uA,"
                        "\"cost_usd\":%uA.%09uA,\"fallbacks\":%uA,"
                        "\"ttft_ms\":{\"count\":%uA,\"sum\":%uA,\"buckets\":[",
                        s->len, s->name, ngx_http_llm_v(s->requests),
                        ngx_http_llm_v(s->streams),
                        ngx_http_llm_v(s->status_2xx),
                        ngx_http_llm_v(s->status_429),
                        ngx_http_llm_v(s->status_4xx),
                        ngx_http_llm_v(s->status_5xx),
                        ngx_http_llm_v(s->aborted), ngx_http_llm_v(s->cut),
                        ngx_http_llm_v(s->prompt_tokens),
                        ngx_http_llm_v(s->completion_tokens),
                        ngx_http_llm_v(s->cached_tokens),
                        ngx_http_llm_v(s->estimated),
                        ngx_http_llm_v(s->cost) / 1000000000,
                        ngx_http_llm_v(s->cost) % 1000000000,
                        ngx_http_llm_v(s->fallbacks),
                        ngx_http_llm_v(s->ttft_count),
                        ngx_http_llm_v(s->ttft_sum));

        for (j = 0; j <= NGX_HTTP_LLM_TTFT_BINS; j++) {
            if (j < NGX_HTTP_LLM_TTFT_BINS) {
                p = ngx_sprintf(p, "{\"le\":%M,\"count\":%uA},",
                                ngx_http_llm_ttft_bins[j],
                                ngx_http_llm_v(s->ttft[j]));
            } else {
                p = ngx_sprintf(p, "{\"le\":null,\"count\":%uA}",
                                ngx_http_llm_v(s->ttft[j]));
            }
        }

        p = ngx_cpymem(p, "]}}", 3);
    }

    p = ngx_cpymem(p, "},\"routes\":{", 12);
    first = 1;

    for (i = 0; i < st->nslots; i++) {
        s = &st->slots[i];

        if (s->kind != NGX_HTTP_LLM_STAT_ROUTE) {
            continue;
        }

        if (!first) {
            *p++ = ',';
        }

        first = 0;

        p = ngx_sprintf(p, "\"%*s\":{\"requests\":%uA,\"fallbacks\":%uA,"
                        "\"shadow\":{\"sent\":%uA,\"skipped\":%uA,"
                        "\"ok\":%uA,\"errors\":%uA,\"agree\":%uA,"
                        "\"similarity_sum\":%uA.%02uA,\"latency_ms_sum\":%uA}}",
                        s->len, s->name, ngx_http_llm_v(s->requests),
                        ngx_http_llm_v(s->fallbacks),
                        ngx_http_llm_v(s->shadow_sent),
                        ngx_http_llm_v(s->shadow_skipped),
                        ngx_http_llm_v(s->shadow_ok),
                        ngx_http_llm_v(s->shadow_errors),
                        ngx_http_llm_v(s->shadow_agree),
                        ngx_http_llm_v(s->shadow_similarity) / 100,
                        ngx_http_llm_v(s->shadow_similarity) % 100,
                        ngx_http_llm_v(s->shadow_latency));
    }

    p = ngx_cpymem(p, "},\"budgets\":{", 13);

    zones = ngx_http_llm_budget_zones()->elts;
    first = 1;

    for (i = 0; i < ngx_http_llm_budget_zones()->nelts; i++) {
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
    p = ngx_http_llm_cache_status(p, 1);
    p = ngx_http_llm_redact_status(p, 1);
    p = ngx_http_llm_redis_status(p, lmcf, 1);
    p = ngx_cpymem(p, "}\n", 2);

    return p;
}
