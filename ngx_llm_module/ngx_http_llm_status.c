
/*
 * Copyright (C) ngx_llm_module authors
 *
 * The status module (llm_status): counts each gateway request on its
 * model's slot (the core's counter slots, ngx_http_llm_counters.c) in the
 * log phase, and answers the status page: Prometheus text, JSON, or the
 * HTML page of ngx_http_llm_status_html.c.  The page is the models, then
 * the sections the features registered (routes, budgets, cache, Redis,
 * redaction: ngx_http_llm_add_counters()); this file names no feature.
 */


#include "ngx_http_llm_module.h"
#include "ngx_http_llm_status.h"


static ngx_int_t ngx_http_llm_status_init(ngx_conf_t *cf);
static char *ngx_http_llm_status(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static ngx_int_t ngx_http_llm_status_log_handler(ngx_http_request_t *r);
static ngx_int_t ngx_http_llm_status_handler(ngx_http_request_t *r);
static u_char *ngx_http_llm_status_prometheus(u_char *p,
    ngx_http_llm_main_conf_t *lmcf);
static u_char *ngx_http_llm_status_json(u_char *p,
    ngx_http_llm_main_conf_t *lmcf);
static u_char *ngx_http_llm_status_sections(u_char *p,
    ngx_http_llm_main_conf_t *lmcf, ngx_uint_t json);


static ngx_command_t  ngx_http_llm_status_commands[] = {

    { ngx_string("llm_status"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_llm_status,
      0,
      0,
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_llm_status_module_ctx = {
    NULL,                                  /* preconfiguration */
    ngx_http_llm_status_init,              /* postconfiguration */

    NULL,                                  /* create main configuration */
    NULL,                                  /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    NULL,                                  /* create location configuration */
    NULL                                   /* merge location configuration */
};


ngx_module_t  ngx_http_llm_status_module = {
    NGX_MODULE_V1,
    &ngx_http_llm_status_module_ctx,       /* module context */
    ngx_http_llm_status_commands,          /* module directives */
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


static ngx_msec_t  ngx_http_llm_ttft_bins[NGX_HTTP_LLM_TTFT_BINS] = {
    100, 250, 500, 1000, 2500, 5000, 10000, 30000
};

/* the log phase is where the models are counted */

static ngx_int_t
ngx_http_llm_status_init(ngx_conf_t *cf)
{
    ngx_http_handler_pt        *h;
    ngx_http_core_main_conf_t  *cmcf;

    cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);

    /* after the access log line is written */

    h = ngx_array_push(&cmcf->phases[NGX_HTTP_LOG_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = ngx_http_llm_status_log_handler;

    return NGX_OK;
}


/* the log phase: count a finished gateway request */

static ngx_int_t
ngx_http_llm_status_log_handler(ngx_http_request_t *r)
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

    return NGX_OK;
}


/* llm_status; */

static char *
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
    ngx_uint_t                 json, i, models;
    ngx_chain_t                out;
    ngx_http_llm_stats_t      *st;
    ngx_http_llm_counters_t   *c;
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

    st = lmcf->stats;
    models = 0;

    for (i = 0; i < st->nslots; i++) {
        if (st->slots[i].kind == NGX_HTTP_LLM_STAT_MODEL) {
            models++;
        }
    }

    size = 4096 + models * 6144;

    c = lmcf->counters.elts;

    for (i = 0; i < lmcf->counters.nelts; i++) {
        size += c[i].size();
    }

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
ngx_http_llm_status_prometheus(u_char *p, ngx_http_llm_main_conf_t *lmcf)
{
    ngx_uint_t             i, j;
    ngx_atomic_uint_t      cum;
    ngx_http_llm_stat_t   *s;
    ngx_http_llm_stats_t  *st;

    st = lmcf->stats;

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

#undef ngx_http_llm_each_model

    return ngx_http_llm_status_sections(p, lmcf, 0);
}


static u_char *
ngx_http_llm_status_json(u_char *p, ngx_http_llm_main_conf_t *lmcf)
{
    ngx_uint_t             i, j, first;
    ngx_http_llm_stat_t   *s;
    ngx_http_llm_stats_t  *st;

    st = lmcf->stats;

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

    *p++ = '}';

    p = ngx_http_llm_status_sections(p, lmcf, 1);
    p = ngx_cpymem(p, "}\n", 2);

    return p;
}


/*
 * The sections the features registered (ngx_http_llm_add_counters()), in
 * the order of their ranks for the format
 */

static u_char *
ngx_http_llm_status_sections(u_char *p, ngx_http_llm_main_conf_t *lmcf,
    ngx_uint_t json)
{
    ngx_uint_t                i, rank, last, next;
    ngx_http_llm_counters_t  *c, *cur;

    c = lmcf->counters.elts;
    last = 0;

    for ( ;; ) {
        cur = NULL;
        next = NGX_MAX_UINT32_VALUE;

        for (i = 0; i < lmcf->counters.nelts; i++) {
            rank = json ? c[i].json_rank : c[i].rank;

            if (rank > last && rank < next) {
                next = rank;
                cur = &c[i];
            }
        }

        if (cur == NULL) {
            return p;
        }

        p = cur->write(p, json);
        last = next;
    }
}
