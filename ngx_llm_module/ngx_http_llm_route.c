
/*
 * Copyright (C) ngx_llm_module authors
 *
 * Model routing: weighted choice of a model for an alias, fallback to other
 * models when the chosen one fails before the answer starts, and shadow
 * traffic to a candidate model in the background.
 *
 * Fallback rides on nginx's own error_page machinery: locations with
 * llm_gateway get error pages for 429 and 5xx that redirect the request to
 * itself; the upstream of an attempt that may still fall back intercepts
 * those statuses (a per-request copy of its configuration).  The redirected
 * request comes back to the pre-content handler, which rewrites the body
 * for the next model.
 *
 * Shadow requests are background subrequests to the same location with
 * their own body; their answer is read (status, latency, usage, text) and
 * never sent.  A shadow holds the client's request until it ends, so it is
 * bounded by a timeout; the number in flight is bounded per worker.
 */


#include "ngx_http_llm_module.h"
#include "ngx_http_llm_route.h"


#define NGX_HTTP_LLM_SKETCH  4096


static char *ngx_http_llm_route_block(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_llm_route_line(ngx_conf_t *cf, ngx_command_t *dummy,
    void *conf);
static char *ngx_http_llm_route_key(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static ngx_int_t ngx_http_llm_route_resolve(ngx_conf_t *cf,
    ngx_http_llm_main_conf_t *lmcf, ngx_http_llm_route_t *route,
    ngx_http_llm_target_t *t);
static ngx_int_t ngx_http_llm_route_error_pages(ngx_conf_t *cf,
    ngx_http_core_loc_conf_t *clcf);
static ngx_int_t ngx_http_llm_route_fallback(ngx_http_request_t *r,
    ngx_http_llm_ctx_t *ctx);
static ngx_int_t ngx_http_llm_route_shadow(ngx_http_request_t *r,
    ngx_http_llm_ctx_t *ctx);
static void ngx_http_llm_collect_text(ngx_http_request_t *r,
    ngx_http_llm_ctx_t *ctx, u_char *text, size_t len);
static void ngx_http_llm_route_stat_shadow(ngx_http_llm_route_t *route,
    ngx_uint_t sent, ngx_uint_t status, ngx_msec_t latency, ngx_uint_t exact,
    ngx_uint_t similarity);
static ngx_int_t ngx_http_llm_set_model_path(ngx_http_request_t *r,
    ngx_http_llm_ctx_t *ctx, ngx_str_t *name);
static ngx_int_t ngx_http_llm_set_model(ngx_http_request_t *r,
    ngx_http_llm_ctx_t *ctx, ngx_http_llm_target_t *t);
static ngx_int_t ngx_http_llm_shadow_start(ngx_http_request_t *r,
    ngx_http_llm_ctx_t *ctx);
static ngx_int_t ngx_http_llm_shadow_done(ngx_http_request_t *r, void *data,
    ngx_int_t rc);
static void ngx_http_llm_shadow_report(void *data);
static void ngx_http_llm_shadow_timeout(ngx_event_t *ev);
static ngx_uint_t ngx_http_llm_similarity(ngx_str_t *a, ngx_str_t *b);
static ngx_int_t ngx_http_llm_reset_answer(ngx_http_request_t *r,
    ngx_http_llm_ctx_t *ctx);
static void *ngx_http_llm_route_create_main_conf(ngx_conf_t *cf);
static char *ngx_http_llm_route_init_main_conf(ngx_conf_t *cf, void *conf);
static void *ngx_http_llm_route_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_llm_route_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child);
static ngx_int_t ngx_http_llm_route_init(ngx_conf_t *cf);


static ngx_int_t  ngx_http_llm_fallback_statuses[] = {
    NGX_HTTP_TOO_MANY_REQUESTS,
    NGX_HTTP_INTERNAL_SERVER_ERROR,
    NGX_HTTP_BAD_GATEWAY,
    NGX_HTTP_SERVICE_UNAVAILABLE,
    NGX_HTTP_GATEWAY_TIME_OUT,
    0
};


static ngx_command_t  ngx_http_llm_route_commands[] = {

    { ngx_string("llm_route"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_BLOCK|NGX_CONF_TAKE1,
      ngx_http_llm_route_block,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("llm_route_key"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_llm_route_key,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_llm_route_module_ctx = {
    NULL,                                  /* preconfiguration */
    ngx_http_llm_route_init,               /* postconfiguration */

    ngx_http_llm_route_create_main_conf,   /* create main configuration */
    ngx_http_llm_route_init_main_conf,     /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    ngx_http_llm_route_create_loc_conf,    /* create location configuration */
    ngx_http_llm_route_merge_loc_conf      /* merge location configuration */
};


ngx_module_t  ngx_http_llm_route_module = {
    NGX_MODULE_V1,
    &ngx_http_llm_route_module_ctx,        /* module context */
    ngx_http_llm_route_commands,           /* module directives */
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
ngx_http_llm_route_create_main_conf(ngx_conf_t *cf)
{
    ngx_http_llm_route_main_conf_t  *rmcf;

    rmcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_llm_route_main_conf_t));
    if (rmcf == NULL) {
        return NULL;
    }

    if (ngx_array_init(&rmcf->routes, cf->pool, 4,
                       sizeof(ngx_http_llm_route_t))
        != NGX_OK)
    {
        return NULL;
    }

    return rmcf;
}


static void *
ngx_http_llm_route_create_loc_conf(ngx_conf_t *cf)
{
    ngx_http_llm_route_loc_conf_t  *conf;

    conf = ngx_pcalloc(cf->pool, sizeof(ngx_http_llm_route_loc_conf_t));
    if (conf == NULL) {
        return NULL;
    }

    conf->route_key = NGX_CONF_UNSET_PTR;

    return conf;
}


/*
 * The location's llm_gateway is known here: the core module's
 * configuration is merged first (config's module order).
 */

static char *
ngx_http_llm_route_merge_loc_conf(ngx_conf_t *cf, void *parent, void *child)
{
    ngx_http_llm_route_loc_conf_t *prev = parent;
    ngx_http_llm_route_loc_conf_t *conf = child;

    ngx_http_llm_loc_conf_t         *lcf;
    ngx_http_core_loc_conf_t        *clcf;
    ngx_http_llm_route_main_conf_t  *rmcf;

    ngx_conf_merge_ptr_value(conf->route_key, prev->route_key, NULL);

    rmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_llm_route_module);
    lcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_llm_module);

    if (lcf->api != NGX_HTTP_LLM_API_OFF && rmcf->fallbacks) {
        clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);

        if (ngx_http_llm_route_error_pages(cf, clcf) != NGX_OK) {
            return NGX_CONF_ERROR;
        }
    }

    return NGX_CONF_OK;
}


/* llm_route ALIAS { MODEL WEIGHT; fallback MODEL ...; shadow MODEL P%; } */

static char *
ngx_http_llm_route_block(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_llm_route_main_conf_t *rmcf = conf;

    char                  *rv;
    ngx_str_t             *value;
    ngx_uint_t             i;
    ngx_conf_t             save;
    ngx_http_llm_route_t  *route;

    value = cf->args->elts;

    route = rmcf->routes.elts;

    for (i = 0; i < rmcf->routes.nelts; i++) {
        if (route[i].alias.len == value[1].len
            && ngx_strncmp(route[i].alias.data, value[1].data,
                           value[1].len) == 0)
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "llm_route \"%V\" is duplicate", &value[1]);
            return NGX_CONF_ERROR;
        }
    }

    route = ngx_array_push(&rmcf->routes);
    if (route == NULL) {
        return NGX_CONF_ERROR;
    }

    ngx_memzero(route, sizeof(ngx_http_llm_route_t));

    route->alias = value[1];
    route->shadow_max = 4;
    route->shadow_timeout = 10000;
    route->file = cf->conf_file->file.name.data;
    route->line = cf->conf_file->line;

    if (ngx_array_init(&route->targets, cf->pool, 4,
                       sizeof(ngx_http_llm_target_t))
        != NGX_OK
        || ngx_array_init(&route->fallbacks, cf->pool, 2,
                          sizeof(ngx_http_llm_target_t))
           != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    save = *cf;
    cf->handler = ngx_http_llm_route_line;
    cf->handler_conf = (char *) route;

    rv = ngx_conf_parse(cf, NULL);

    *cf = save;

    if (rv != NGX_CONF_OK) {
        return rv;
    }

    if (route->targets.nelts == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "llm_route \"%V\" has no model with a weight",
                           &route->alias);
        return NGX_CONF_ERROR;
    }

    if (route->fallbacks.nelts) {
        rmcf->fallbacks = 1;
    }

    return NGX_CONF_OK;
}


static char *
ngx_http_llm_route_line(ngx_conf_t *cf, ngx_command_t *dummy, void *conf)
{
    ngx_http_llm_route_t *route = (ngx_http_llm_route_t *) conf;

    u_char                 *p;
    ngx_int_t               n;
    ngx_str_t              *value, s;
    ngx_uint_t              i;
    ngx_http_llm_target_t  *t;

    value = cf->args->elts;

    if (value[0].len == 8 && ngx_strncmp(value[0].data, "fallback", 8) == 0) {

        if (cf->args->nelts < 2) {
            return "\"fallback\" needs at least one model";
        }

        for (i = 1; i < cf->args->nelts; i++) {
            t = ngx_array_push(&route->fallbacks);
            if (t == NULL) {
                return NGX_CONF_ERROR;
            }

            ngx_memzero(t, sizeof(ngx_http_llm_target_t));
            t->name = value[i];
            t->line = cf->conf_file->line;
        }

        return NGX_CONF_OK;
    }

    if (value[0].len == 6 && ngx_strncmp(value[0].data, "shadow", 6) == 0) {

        if (cf->args->nelts < 3 || route->shadow.name.len) {
            return "takes one \"shadow MODEL PERCENT% [max=N] "
                   "[timeout=TIME]\" line";
        }

        route->shadow.name = value[1];
        route->shadow.line = cf->conf_file->line;

        s = value[2];

        if (s.len < 2 || s.data[s.len - 1] != '%') {
            goto invalid_percent;
        }

        /* thousandths of a percent: "0.5%" -> 500 */
        n = ngx_atofp(s.data, s.len - 1, 3);

        if (n == NGX_ERROR || n > 100000) {
            goto invalid_percent;
        }

        route->shadow_share = (ngx_uint_t) n;

        for (i = 3; i < cf->args->nelts; i++) {

            if (ngx_strncmp(value[i].data, "max=", 4) == 0) {
                n = ngx_atoi(value[i].data + 4, value[i].len - 4);
                if (n <= 0) {
                    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                       "llm_route \"%V\": invalid \"%V\"",
                                       &route->alias, &value[i]);
                    return NGX_CONF_ERROR;
                }

                route->shadow_max = (ngx_uint_t) n;
                continue;
            }

            if (ngx_strncmp(value[i].data, "timeout=", 8) == 0) {
                s.data = value[i].data + 8;
                s.len = value[i].len - 8;

                route->shadow_timeout = ngx_parse_time(&s, 0);
                if (route->shadow_timeout == (ngx_msec_t) NGX_ERROR
                    || route->shadow_timeout == 0)
                {
                    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                       "llm_route \"%V\": invalid \"%V\"",
                                       &route->alias, &value[i]);
                    return NGX_CONF_ERROR;
                }

                continue;
            }

            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "llm_route \"%V\": invalid shadow parameter "
                               "\"%V\"", &route->alias, &value[i]);
            return NGX_CONF_ERROR;
        }

        return NGX_CONF_OK;
    }

    if (cf->args->nelts != 2) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "llm_route \"%V\": expected \"MODEL WEIGHT;\", "
                           "\"fallback MODEL ...;\" or \"shadow MODEL "
                           "PERCENT%%;\"", &route->alias);
        return NGX_CONF_ERROR;
    }

    n = ngx_atoi(value[1].data, value[1].len);

    if (n <= 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "llm_route \"%V\": invalid weight \"%V\" of model "
                           "\"%V\", it must be a positive integer",
                           &route->alias, &value[1], &value[0]);
        return NGX_CONF_ERROR;
    }

    t = ngx_array_push(&route->targets);
    if (t == NULL) {
        return NGX_CONF_ERROR;
    }

    ngx_memzero(t, sizeof(ngx_http_llm_target_t));

    t->name = value[0];
    t->weight = (ngx_uint_t) n;
    t->line = cf->conf_file->line;

    route->total += t->weight;

    return NGX_CONF_OK;

invalid_percent:

    p = value[2].data;

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "llm_route \"%V\": invalid shadow share \"%*s\", it "
                       "must be a percentage from 0%% to 100%%",
                       &route->alias, value[2].len, p);

    return NGX_CONF_ERROR;
}


/*
 * After the http block: every model of every route is in the catalogue;
 * each route has a counter slot.
 */

static char *
ngx_http_llm_route_init_main_conf(ngx_conf_t *cf, void *conf)
{
    ngx_http_llm_route_main_conf_t *rmcf = conf;

    ngx_uint_t                 i, j;
    ngx_http_llm_route_t      *route;
    ngx_http_llm_target_t     *t;
    ngx_http_llm_main_conf_t  *lmcf;

    lmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_llm_module);

    route = rmcf->routes.elts;

    for (i = 0; i < rmcf->routes.nelts; i++) {

        if (ngx_http_llm_add_stat(cf, &route[i].alias,
                                  NGX_HTTP_LLM_STAT_ROUTE, &route[i].stat)
            != NGX_OK)
        {
            return NGX_CONF_ERROR;
        }

        t = route[i].targets.elts;
        for (j = 0; j < route[i].targets.nelts; j++) {
            if (ngx_http_llm_route_resolve(cf, lmcf, &route[i], &t[j])
                != NGX_OK)
            {
                return NGX_CONF_ERROR;
            }
        }

        t = route[i].fallbacks.elts;
        for (j = 0; j < route[i].fallbacks.nelts; j++) {
            if (ngx_http_llm_route_resolve(cf, lmcf, &route[i], &t[j])
                != NGX_OK)
            {
                return NGX_CONF_ERROR;
            }
        }

        if (route[i].shadow.name.len
            && ngx_http_llm_route_resolve(cf, lmcf, &route[i],
                                          &route[i].shadow)
               != NGX_OK)
        {
            return NGX_CONF_ERROR;
        }
    }

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_http_llm_route_resolve(ngx_conf_t *cf, ngx_http_llm_main_conf_t *lmcf,
    ngx_http_llm_route_t *route, ngx_http_llm_target_t *t)
{
    t->entry = ngx_http_llm_find_model(lmcf, &t->name);

    if (t->entry == NULL) {
        ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                      "llm_route \"%V\": unknown model \"%V\" (no llm_model "
                      "of that name) in %s:%ui", &route->alias, &t->name,
                      route->file, t->line);
        return NGX_ERROR;
    }

    return NGX_OK;
}


/*
 * Locations with llm_gateway, when some route has fallbacks: error pages
 * for the statuses that fall back, redirecting the request to itself
 * ("error_page 429 500 502 503 504 = $uri$is_args$args;"), unless the
 * location has its own error_page for a status.
 */

static ngx_int_t
ngx_http_llm_route_error_pages(ngx_conf_t *cf,
    ngx_http_core_loc_conf_t *clcf)
{
    ngx_str_t                          uri = ngx_string("$uri$is_args$args");
    ngx_uint_t                         i, j;
    ngx_array_t                       *pages;
    ngx_http_err_page_t               *err, *old;
    ngx_http_compile_complex_value_t   ccv;

    pages = ngx_array_create(cf->pool, 8, sizeof(ngx_http_err_page_t));
    if (pages == NULL) {
        return NGX_ERROR;
    }

    if (clcf->error_pages) {
        old = clcf->error_pages->elts;

        for (i = 0; i < clcf->error_pages->nelts; i++) {
            err = ngx_array_push(pages);
            if (err == NULL) {
                return NGX_ERROR;
            }

            *err = old[i];
        }
    }

    for (i = 0; ngx_http_llm_fallback_statuses[i]; i++) {

        old = pages->elts;

        for (j = 0; j < pages->nelts; j++) {
            if (old[j].status == ngx_http_llm_fallback_statuses[i]) {
                break;
            }
        }

        if (j < pages->nelts) {
            continue;
        }

        err = ngx_array_push(pages);
        if (err == NULL) {
            return NGX_ERROR;
        }

        ngx_memzero(err, sizeof(ngx_http_err_page_t));

        /*
         * No "=": the error's status stays in r->err_status, which tells
         * the pre-content handler why the request came back (a fallback
         * resets it; any other error, e.g. limit_req's 503, is answered).
         */

        err->status = ngx_http_llm_fallback_statuses[i];
        err->overwrite = -1;

        ngx_memzero(&ccv, sizeof(ngx_http_compile_complex_value_t));

        ccv.cf = cf;
        ccv.value = &uri;
        ccv.complex_value = &err->value;

        if (ngx_http_compile_complex_value(&ccv) != NGX_OK) {
            return NGX_ERROR;
        }
    }

    clcf->error_pages = pages;

    return NGX_OK;
}


/* choose the model of a routed request; NGX_DECLINED: not an alias */

static ngx_int_t
ngx_http_llm_route_request(ngx_http_request_t *r, ngx_http_llm_ctx_t *ctx)
{
    uint32_t                         hash;
    ngx_str_t                        key;
    ngx_uint_t                       i, n;
    ngx_http_llm_route_t            *route;
    ngx_http_llm_target_t           *t;
    ngx_http_llm_route_loc_conf_t   *rlcf;
    ngx_http_llm_route_main_conf_t  *rmcf;

    if (ctx->req.model_tok == NGX_HTTP_LLM_NONE
        && ctx->api != NGX_HTTP_LLM_API_GEMINI)
    {
        return NGX_DECLINED;
    }

    rmcf = ngx_http_get_module_main_conf(r, ngx_http_llm_route_module);
    rlcf = ngx_http_get_module_loc_conf(r, ngx_http_llm_route_module);

    route = rmcf->routes.elts;

    for (i = 0; i < rmcf->routes.nelts; i++) {
        if (route[i].alias.len == ctx->requested_model.len
            && ngx_strncmp(route[i].alias.data, ctx->requested_model.data,
                           ctx->requested_model.len) == 0)
        {
            break;
        }
    }

    if (i == rmcf->routes.nelts) {
        return NGX_DECLINED;
    }

    route = &route[i];
    ctx->route = route;
    ctx->route_alias = route->alias;
    ctx->fallback_left = (ctx->fallback_next < route->fallbacks.nelts);

    if (rlcf->route_key) {
        if (ngx_http_complex_value(r, rlcf->route_key, &key) != NGX_OK) {
            return NGX_ERROR;
        }

    } else {
        ngx_str_null(&key);
    }

    /* sticky by the key's hash, else random */

    if (key.len) {
        hash = ngx_murmur_hash2(key.data, key.len);
        n = hash % route->total;

    } else {
        n = (ngx_uint_t) ngx_random() % route->total;
    }

    t = route->targets.elts;

    for (i = 0; i < route->targets.nelts - 1; i++) {
        if (n < t[i].weight) {
            break;
        }

        n -= t[i].weight;
    }

    ngx_log_debug3(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "llm route \"%V\": model \"%V\" of %ui",
                   &route->alias, &t[i].name, route->targets.nelts);

    if (ngx_http_llm_set_model(r, ctx, &t[i]) != NGX_OK) {
        return NGX_ERROR;
    }

    if (route->shadow.entry
        && (ngx_uint_t) ngx_random() % 100000 < route->shadow_share)
    {
        ctx->shadow_wanted = 1;
    }

    return NGX_OK;
}


/* the body's "model" becomes the target's name */

static ngx_int_t
ngx_http_llm_set_model(ngx_http_request_t *r, ngx_http_llm_ctx_t *ctx,
    ngx_http_llm_target_t *t)
{
    ngx_uint_t            i;
    ngx_str_t             value;
    ngx_http_llm_edit_t  *e;

    ctx->model = t->name;
    ctx->entry = t->entry;

    if (ctx->api == NGX_HTTP_LLM_API_GEMINI) {
        /* Gemini: the model is the path's, the body names none */
        return ngx_http_llm_set_model_path(r, ctx, &t->name);
    }

    value.len = ngx_http_llm_json_encoded_len(t->name.data, t->name.len) + 2;
    value.data = ngx_pnalloc(r->pool, value.len);
    if (value.data == NULL) {
        return NGX_ERROR;
    }

    value.data[0] = '"';
    value.len = ngx_http_llm_json_encode_string(value.data + 1, t->name.data,
                                                t->name.len)
                - value.data;
    value.data[value.len++] = '"';

    /* an earlier attempt's edit of the model is replaced */

    e = ctx->edits.elts;

    for (i = 0; i < ctx->edits.nelts; i++) {
        if (e[i].start == ctx->req.json.tokens[ctx->req.model_tok].start) {
            e[i].text = value;
            return NGX_OK;
        }
    }

    return ngx_http_llm_edit_replace(r, ctx,
                                     ctx->req.json.tokens[ctx->req.model_tok]
                                         .start,
                                     ctx->req.json.tokens[ctx->req.model_tok]
                                         .end,
                                     &value);
}


/*
 * Gemini's model is the URI's segment before ":generateContent": r->uri
 * gets the target's name there, as "rewrite" would change it, so that
 * "proxy_pass http://$llm_upstream;" (or a proxy_pass with a URI part)
 * sends the rewritten path; $uri shows it, $request_uri stays the
 * client's.  Each attempt finds the segment again in the current URI (a
 * fallback comes back through error_page with the previous attempt's).
 */

static ngx_int_t
ngx_http_llm_set_model_path(ngx_http_request_t *r, ngx_http_llm_ctx_t *ctx,
    ngx_str_t *name)
{
    u_char     *p, *end;
    ngx_str_t   model, uri;

    ngx_str_null(&model);

    if (ngx_http_llm_endpoint(r, ctx->api, &model) == NGX_HTTP_LLM_EP_NONE
        || model.len == 0)
    {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "llm: no model segment in \"%V\" to rewrite to \"%V\"",
                      &r->uri, name);
        return NGX_ERROR;
    }

    if (model.len == name->len
        && ngx_strncmp(model.data, name->data, name->len) == 0)
    {
        return NGX_OK;
    }

    uri.len = r->uri.len - model.len + name->len;
    uri.data = ngx_pnalloc(r->pool, uri.len);
    if (uri.data == NULL) {
        return NGX_ERROR;
    }

    end = r->uri.data + r->uri.len;

    p = ngx_cpymem(uri.data, r->uri.data, model.data - r->uri.data);
    p = ngx_cpymem(p, name->data, name->len);
    ngx_memcpy(p, model.data + model.len, end - (model.data + model.len));

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "llm route: uri \"%V\" -> \"%V\"", &r->uri, &uri);

    r->uri = uri;
    r->valid_unparsed_uri = 0;

    return NGX_OK;
}


/*
 * The request came back through error_page after a failed attempt: the
 * next fallback model, or an error in the API's format when none is left.
 * Returns what the pre-content handler returns.
 */

static ngx_int_t
ngx_http_llm_route_fallback(ngx_http_request_t *r, ngx_http_llm_ctx_t *ctx)
{
    ngx_http_llm_target_t       *t;
    ngx_http_upstream_state_t   *state;

    /* error_page made it a GET; the next error may redirect again */
    r->method = NGX_HTTP_POST;
    ngx_str_set(&r->method_name, "POST");
    r->error_page = 0;

    if (r->args.len == 0) {
        /* ngx_http_split_args() leaves the data unset when there are none */
        ngx_str_null(&r->args);
    }

    ctx->fallback_wait = 0;
    ctx->headers_done = 0;

    /* the failed attempt's status: the upstream's, or nginx's own */

    ctx->failed_status = r->err_status ? r->err_status : NGX_HTTP_BAD_GATEWAY;
    r->err_status = 0;

    if (ctx->fallback_event) {
        /* a 200 whose first event was an error */
        ctx->failed_status = NGX_HTTP_BAD_GATEWAY;

    } else if (r->upstream_states && r->upstream_states->nelts) {
        state = r->upstream_states->elts;
        state = &state[r->upstream_states->nelts - 1];

        if (state->status) {
            ctx->failed_status = state->status;
        }
    }

    if (ctx->route == NULL
        || ctx->fallback_next >= ctx->route->fallbacks.nelts)
    {
        ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                      "llm: model \"%V\" failed with %i and no fallback is "
                      "left", &ctx->model, ctx->failed_status);

        return ngx_http_llm_fail(r, ctx, ctx->failed_status
                                         ? (ngx_uint_t) ctx->failed_status
                                         : NGX_HTTP_BAD_GATEWAY,
                                 "upstream_error", NULL,
                                 "The upstream of model `%V` failed (%i).",
                                 &ctx->model, ctx->failed_status);
    }

    t = ctx->route->fallbacks.elts;
    t = &t[ctx->fallback_next++];

    ctx->fallback_left = (ctx->fallback_next < ctx->route->fallbacks.nelts);

    ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                  "llm: model \"%V\" failed with %i%s, falling back to \"%V\"",
                  &ctx->model, ctx->failed_status,
                  ctx->fallback_event ? " (an error event)" : "", &t->name);

    if (ngx_http_llm_reset_answer(r, ctx) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->attempts++;

    if (ngx_http_llm_set_model(r, ctx, t) != NGX_OK
        || ngx_http_llm_apply_edits(r, ctx) != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    /* the pipeline's CONTENT hooks run next (ngx_http_llm_request.c) */

    return NGX_DECLINED;
}


/*
 * Before the next attempt: forget what the failed one said (its answer, and
 * the response headers a stream's failed attempt may have left).
 */

static ngx_int_t
ngx_http_llm_reset_answer(ngx_http_request_t *r, ngx_http_llm_ctx_t *ctx)
{
    if (ctx->fallback_event) {
        ngx_memzero(&r->headers_out, sizeof(ngx_http_headers_out_t));

        if (ngx_list_init(&r->headers_out.headers, r->pool, 20,
                          sizeof(ngx_table_elt_t))
            != NGX_OK
            || ngx_list_init(&r->headers_out.trailers, r->pool, 4,
                             sizeof(ngx_table_elt_t))
               != NGX_OK)
        {
            return NGX_ERROR;
        }

        r->headers_out.content_length_n = -1;
        r->headers_out.last_modified_time = -1;
    }

    ctx->mode = NGX_HTTP_LLM_MODE_NONE;
    ctx->st = NULL;
    ctx->capture = NULL;
    ctx->headers_done = 0;
    ctx->header_held = 0;
    ctx->fallback_event = 0;
    ctx->error_first = 0;
    ctx->data_events = 0;
    ctx->complete = 0;
    ctx->cut = 0;
    ctx->answered = 0;
    ctx->usage_reported = 0;
    ctx->completion_tokens = 0;
    ctx->completion_estimate = 0;
    ctx->cached_tokens = 0;
    ctx->text_hash = 0;
    ctx->text_len = 0;
    ctx->sketch.len = 0;

    if (ctx->prompt_reported) {
        ctx->prompt_reported = 0;
        ctx->prompt_estimated = 0;
    }

    return NGX_OK;
}


/*
 * The pipeline's UPSTREAM hook: the location's content handler created the
 * upstream of an attempt (filters/ngx_http_llm_filter_module.c).
 */

static ngx_int_t
ngx_http_llm_route_upstream_hook(ngx_http_request_t *r,
    ngx_http_llm_ctx_t *ctx)
{
    ngx_http_upstream_t       *u;
    ngx_http_upstream_conf_t  *conf;

    if (ctx->route == NULL) {
        return NGX_DECLINED;
    }

    u = r->upstream;

    if (ctx->shadow) {
        /* a shadow must end soon: it holds the client's request */

        conf = ngx_palloc(r->pool, sizeof(ngx_http_upstream_conf_t));
        if (conf == NULL) {
            return NGX_DECLINED;
        }

        *conf = *u->conf;
        conf->read_timeout = ngx_min(conf->read_timeout,
                                     ctx->route->shadow_timeout);
        conf->send_timeout = ngx_min(conf->send_timeout,
                                     ctx->route->shadow_timeout);
        conf->intercept_errors = 0;
        u->conf = conf;

        return NGX_DECLINED;
    }

    if (ctx->fallback_next < ctx->route->fallbacks.nelts) {
        /* 429 and 5xx answers go to error_page: a fallback may follow */

        conf = ngx_palloc(r->pool, sizeof(ngx_http_upstream_conf_t));
        if (conf == NULL) {
            return NGX_DECLINED;
        }

        *conf = *u->conf;
        conf->intercept_errors = 1;
        u->conf = conf;
    }

    return NGX_DECLINED;
}


/* start the shadow request of a routed request, if it is wanted */

static ngx_int_t
ngx_http_llm_route_shadow(ngx_http_request_t *r, ngx_http_llm_ctx_t *ctx)
{
    ngx_http_llm_route_t  *route;

    route = ctx->route;

    if (!ctx->shadow_wanted || route == NULL) {
        return NGX_OK;
    }

    ctx->shadow_wanted = 0;

    if (route->shadow_inflight >= route->shadow_max) {
        ngx_http_llm_route_stat_shadow(route, 0, 0, 0, 0, 0);

        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "llm shadow: route \"%V\": %ui shadow requests in "
                      "flight, skipped", &route->alias,
                      route->shadow_inflight);
        return NGX_OK;
    }

    return ngx_http_llm_shadow_start(r, ctx);
}


static ngx_int_t
ngx_http_llm_shadow_start(ngx_http_request_t *r, ngx_http_llm_ctx_t *ctx)
{
    unsigned                     valid_unparsed_uri;
    ngx_str_t                    body, uri, suri;
    ngx_http_request_t          *sr;
    ngx_http_llm_ctx_t          *sctx;
    ngx_http_cleanup_t          *cln;
    ngx_http_llm_target_t        primary;
    ngx_http_post_subrequest_t  *ps;

    /* the body for the candidate: the same edits, the shadow's model */

    primary.name = ctx->model;
    primary.entry = ctx->entry;

    uri = r->uri;
    valid_unparsed_uri = r->valid_unparsed_uri;

    if (ngx_http_llm_set_model(r, ctx, &ctx->route->shadow) != NGX_OK
        || ngx_http_llm_build_body(r, ctx, &body) != NGX_OK)
    {
        return NGX_ERROR;
    }

    /* Gemini: the shadow's path names its model; the primary's is kept */

    suri = r->uri;
    r->uri = uri;
    r->valid_unparsed_uri = valid_unparsed_uri;

    if (ngx_http_llm_set_model(r, ctx, &primary) != NGX_OK) {
        return NGX_ERROR;
    }

    sctx = ngx_pcalloc(r->pool, sizeof(ngx_http_llm_ctx_t));
    ps = ngx_palloc(r->pool, sizeof(ngx_http_post_subrequest_t));

    if (sctx == NULL || ps == NULL) {
        return NGX_ERROR;
    }

    sctx->ttft = -1;
    sctx->parsed = 1;
    sctx->shadow = 1;
    sctx->api = ctx->api;
    sctx->endpoint = ctx->endpoint;
    sctx->primary = ctx;
    sctx->route = ctx->route;
    sctx->route_alias = ctx->route_alias;
    sctx->model = ctx->route->shadow.name;
    sctx->requested_model = ctx->requested_model;
    sctx->entry = ctx->route->shadow.entry;
    sctx->collect_text = 1;
    sctx->started = ngx_current_msec;

    ps->handler = ngx_http_llm_shadow_done;
    ps->data = sctx;

    if (ngx_http_llm_subrequest(r, &suri, &r->args, &body, sctx, ps, &sr)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    sctx->request = sr;

    sctx->timer.handler = ngx_http_llm_shadow_timeout;
    sctx->timer.data = sctx;
    sctx->timer.log = r->connection->log;
    ngx_add_timer(&sctx->timer, ctx->route->shadow_timeout);

    ctx->shadow_ctx = sctx;
    ctx->collect_text = 1;
    ctx->route->shadow_inflight++;

    /* reported when the main request ends, both answers known */

    cln = ngx_http_cleanup_add(r, 0);
    if (cln == NULL) {
        return NGX_ERROR;
    }

    cln->handler = ngx_http_llm_shadow_report;
    cln->data = ctx;

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "llm shadow: \"%V\" to \"%V\"", &ctx->model,
                   &sctx->model);

    return NGX_OK;
}


static ngx_int_t
ngx_http_llm_shadow_done(ngx_http_request_t *r, void *data, ngx_int_t rc)
{
    ngx_http_llm_ctx_t *sctx = data;

    if (sctx->done) {
        return rc;
    }

    sctx->done = 1;
    sctx->route->shadow_inflight--;

    if (sctx->timer.timer_set) {
        ngx_del_timer(&sctx->timer);
    }

    sctx->shadow_status = r->headers_out.status ? r->headers_out.status
                        : (rc > 0) ? (ngx_uint_t) rc : 0;
    sctx->latency = ngx_current_msec - sctx->started;

    ngx_http_llm_shadow_read(r, sctx);

    return rc;
}


static void
ngx_http_llm_shadow_report(void *data)
{
    ngx_http_llm_ctx_t *ctx = data;

    uint64_t             pcost, scost;
    ngx_uint_t           exact, similarity;
    ngx_http_llm_ctx_t  *sctx;

    sctx = ctx->shadow_ctx;

    if (sctx->timer.timer_set) {
        ngx_del_timer(&sctx->timer);
    }

    if (!sctx->done) {
        /* the shadow did not end (the request was torn down) */
        sctx->route->shadow_inflight--;
        sctx->done = 1;
    }

    if (ngx_http_llm_cost(ctx, &pcost) != NGX_OK) {
        pcost = 0;
    }

    if (ngx_http_llm_cost(sctx, &scost) != NGX_OK) {
        scost = 0;
    }

    /* two failures do not agree: only answers are compared */

    if (ctx->request->headers_out.status == NGX_HTTP_OK
        && sctx->shadow_status == NGX_HTTP_OK)
    {
        exact = (ctx->text_hash == sctx->text_hash
                 && ctx->text_len == sctx->text_len);

        similarity = ngx_http_llm_similarity(&ctx->sketch, &sctx->sketch);

    } else {
        exact = 0;
        similarity = 0;
    }

    ngx_http_llm_route_stat_shadow(ctx->route, 1, sctx->shadow_status,
                             sctx->latency, exact, similarity);

    ngx_log_error(NGX_LOG_NOTICE, ctx->request->connection->log, 0,
                  "llm shadow: route \"%V\" primary \"%V\" status %ui "
                  "tokens %uz cost %uL, shadow \"%V\" status %ui "
                  "latency %Mms tokens %uz cost %uL, exact %ui "
                  "similarity %ui.%02ui",
                  &ctx->route->alias, &ctx->model,
                  ctx->request->headers_out.status,
                  ctx->completion_tokens, pcost,
                  &sctx->model, sctx->shadow_status, sctx->latency,
                  sctx->completion_tokens, scost, exact,
                  similarity / 100, similarity % 100);
}


/*
 * The shadow's time is up: its upstream times out the way nginx's own read
 * timeout would do it (504, connection closed), so the client's request,
 * which waits for its subrequests, is released.
 */

static void
ngx_http_llm_shadow_timeout(ngx_event_t *ev)
{
    ngx_http_llm_ctx_t *sctx = ev->data;

    ngx_connection_t     *c;
    ngx_http_upstream_t  *u;

    if (sctx->done) {
        return;
    }

    u = sctx->request->upstream;

    if (u == NULL || u->peer.connection == NULL) {
        return;
    }

    ngx_log_error(NGX_LOG_INFO, ev->log, 0,
                  "llm shadow: \"%V\" did not answer in %Mms",
                  &sctx->model, sctx->route->shadow_timeout);

    c = u->peer.connection;
    c->read->timedout = 1;
    c->read->handler(c->read);
}


/* keep a sketch of the answer's text (bounded) and a hash of all of it */

static void
ngx_http_llm_collect_text(ngx_http_request_t *r, ngx_http_llm_ctx_t *ctx,
    u_char *text, size_t len)
{
    size_t   n;
    u_char  *p;

    p = text;

    for (n = 0; n < len; n++) {
        ctx->text_hash = (ctx->text_hash ^ p[n]) * 16777619;
    }

    ctx->text_len += len;

    if (ctx->sketch.data == NULL) {
        ctx->sketch.data = ngx_pnalloc(r->pool, NGX_HTTP_LLM_SKETCH);
        if (ctx->sketch.data == NULL) {
            return;
        }
    }

    n = ngx_min(len, NGX_HTTP_LLM_SKETCH - ctx->sketch.len);

    ctx->sketch.len = ngx_cpymem(ctx->sketch.data + ctx->sketch.len, text, n)
                      - ctx->sketch.data;
}


/*
 * A cheap similarity of two texts in hundredths: the Jaccard index of the
 * sets of their lowercase words, hashed into 1024 bits.
 */

static ngx_uint_t
ngx_http_llm_similarity(ngx_str_t *a, ngx_str_t *b)
{
    u_char      *p, *last, c;
    uint32_t     h;
    ngx_str_t   *s;
    ngx_uint_t   i, k, inter, uni, inword;
    uint64_t     bits[2][16];

    if (a->len == 0 && b->len == 0) {
        return 100;
    }

    ngx_memzero(bits, sizeof(bits));

    for (k = 0; k < 2; k++) {
        s = (k == 0) ? a : b;

        if (s->data == NULL) {
            continue;
        }

        h = 2166136261u;
        inword = 0;
        last = s->data + s->len;

        for (p = s->data; p <= last; p++) {
            c = (p < last) ? ngx_tolower(*p) : ' ';

            if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c >= 0x80) {
                h = (h ^ c) * 16777619;
                inword = 1;
                continue;
            }

            if (inword) {
                bits[k][(h >> 6) & 15] |= (uint64_t) 1 << (h & 63);
                h = 2166136261u;
                inword = 0;
            }
        }
    }

    inter = 0;
    uni = 0;

    for (i = 0; i < 16; i++) {
        inter += __builtin_popcountll(bits[0][i] & bits[1][i]);
        uni += __builtin_popcountll(bits[0][i] | bits[1][i]);
    }

    return uni ? inter * 100 / uni : 100;
}


/* llm_route_key $var; */

static char *
ngx_http_llm_route_key(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_llm_route_loc_conf_t *rlcf = conf;

    ngx_str_t                         *value;
    ngx_http_compile_complex_value_t   ccv;

    if (rlcf->route_key != NGX_CONF_UNSET_PTR) {
        return "is duplicate";
    }

    value = cf->args->elts;

    rlcf->route_key = ngx_palloc(cf->pool, sizeof(ngx_http_complex_value_t));
    if (rlcf->route_key == NULL) {
        return NGX_CONF_ERROR;
    }

    ngx_memzero(&ccv, sizeof(ngx_http_compile_complex_value_t));

    ccv.cf = cf;
    ccv.value = &value[1];
    ccv.complex_value = rlcf->route_key;

    if (ngx_http_compile_complex_value(&ccv) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


/* the pipeline's hooks of routing (see ngx_http_llm_module.h) */

static ngx_int_t
ngx_http_llm_route_forward_hook(ngx_http_request_t *r,
    ngx_http_llm_ctx_t *ctx)
{
    if (ngx_http_llm_route_shadow(r, ctx) != NGX_OK) {
        /* the primary goes on whatever happens to its shadow */
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "llm shadow: could not start the shadow request of "
                      "model \"%V\"", &ctx->model);
    }

    return NGX_DECLINED;
}


static ngx_int_t
ngx_http_llm_route_content_hook(ngx_http_request_t *r,
    ngx_http_llm_ctx_t *ctx)
{
    ngx_http_llm_route_main_conf_t  *rmcf;

    rmcf = ngx_http_get_module_main_conf(r, ngx_http_llm_route_module);

    /*
     * Some route has fallbacks, so gateway locations have the error pages
     * that bring a failed attempt back: from the content handler on, until
     * the answer's header is sent, coming back means the attempt failed
     * (ngx_http_llm_route_redirect_hook()).
     */

    ctx->fallback_armed = (rmcf->fallbacks && r == r->main);

    return NGX_DECLINED;
}


/* NGX_DONE stands for the fallback's NGX_DECLINED: go on to the content */

static ngx_int_t
ngx_http_llm_route_redirect_hook(ngx_http_request_t *r,
    ngx_http_llm_ctx_t *ctx)
{
    ngx_int_t  rc;

    if (!ctx->fallback_wait) {
        return NGX_DECLINED;
    }

    /* an attempt failed and error_page brought the request back */

    rc = ngx_http_llm_route_fallback(r, ctx);

    return (rc == NGX_DECLINED) ? NGX_DONE : rc;
}


/* answer text: the shadow comparison's hash and sketch */

static void
ngx_http_llm_route_text_hook(ngx_http_request_t *r, ngx_http_llm_ctx_t *ctx,
    const u_char *text, size_t len)
{
    if (ctx->collect_text && text != NULL) {
        ngx_http_llm_collect_text(r, ctx, (u_char *) text, len);
    }
}


/* the log phase: a routed request and its fallbacks, on its route */

static ngx_int_t
ngx_http_llm_route_log_handler(ngx_http_request_t *r)
{
    ngx_http_llm_ctx_t   *ctx;
    ngx_http_llm_stat_t  *s;

    ctx = ngx_http_llm_get_ctx(r);

    if (ctx == NULL || !ctx->parsed || ctx->shadow || ctx->route == NULL) {
        return NGX_OK;
    }

    s = ctx->route->stat;

    if (s == NULL) {
        return NGX_OK;
    }

    ngx_atomic_fetch_add(&s->requests, 1);

    if (ctx->attempts > 1) {
        ngx_atomic_fetch_add(&s->fallbacks, ctx->attempts - 1);
    }

    return NGX_OK;
}


/* a shadow exchange, counted on its route */

static void
ngx_http_llm_route_stat_shadow(ngx_http_llm_route_t *route, ngx_uint_t sent,
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


/*
 * llm_status: the routes' counters (every route slot of the zone, those of
 * earlier configurations included), in the Prometheus text format or JSON
 */

static size_t
ngx_http_llm_route_status_size(void)
{
    ngx_uint_t                 i, n;
    ngx_http_llm_stats_t      *st;
    ngx_http_llm_main_conf_t  *lmcf;

    lmcf = ngx_http_cycle_get_module_main_conf(ngx_cycle,
                                               ngx_http_llm_module);
    st = lmcf->stats;

    n = 0;

    for (i = 0; st && i < st->nslots; i++) {
        if (st->slots[i].kind == NGX_HTTP_LLM_STAT_ROUTE) {
            n++;
        }
    }

    return 2048 + n * 2048;
}


#define ngx_http_llm_v(x)  ((ngx_atomic_uint_t) (x))


static u_char *
ngx_http_llm_route_status(u_char *p, ngx_uint_t json)
{
    ngx_uint_t                 i, first;
    ngx_http_llm_stat_t       *s;
    ngx_http_llm_stats_t      *st;
    ngx_http_llm_main_conf_t  *lmcf;

    lmcf = ngx_http_cycle_get_module_main_conf(ngx_cycle,
                                               ngx_http_llm_module);
    st = lmcf->stats;

    if (st == NULL) {
        return p;
    }

    if (json) {
        p = ngx_cpymem(p, ",\"routes\":{", 11);
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

            p = ngx_sprintf(p, "\"%*s\":{\"requests\":%uA,"
                            "\"fallbacks\":%uA,"
                            "\"shadow\":{\"sent\":%uA,\"skipped\":%uA,"
                            "\"ok\":%uA,\"errors\":%uA,\"agree\":%uA,"
                            "\"similarity_sum\":%uA.%02uA,"
                            "\"latency_ms_sum\":%uA}}",
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

        *p++ = '}';

        return p;
    }

#define ngx_http_llm_each_route(metric, type, help, fmt, ...)                 \
    p = ngx_http_llm_prom_family(p, metric, type, help);                      \
    for (i = 0; i < st->nslots; i++) {                                        \
        s = &st->slots[i];                                                    \
        if (s->kind != NGX_HTTP_LLM_STAT_ROUTE) {                             \
            continue;                                                         \
        }                                                                     \
        p = ngx_sprintf(p, metric "{route=\"%*s\"} " fmt "\n",                \
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

#undef ngx_http_llm_each_route

    return p;
}


static ngx_int_t
ngx_http_llm_route_init(ngx_conf_t *cf)
{
    ngx_http_handler_pt        *lh;
    ngx_http_llm_hook_t        *h;
    ngx_http_core_main_conf_t  *cmcf;

    h = ngx_http_llm_add_hook(cf, NGX_HTTP_LLM_HOOK_ROUTE);
    if (h == NULL) {
        return NGX_ERROR;
    }

    h->request = ngx_http_llm_route_request;

    h = ngx_http_llm_add_hook(cf, NGX_HTTP_LLM_HOOK_FORWARD);
    if (h == NULL) {
        return NGX_ERROR;
    }

    h->request = ngx_http_llm_route_forward_hook;

    h = ngx_http_llm_add_hook(cf, NGX_HTTP_LLM_HOOK_CONTENT);
    if (h == NULL) {
        return NGX_ERROR;
    }

    h->request = ngx_http_llm_route_content_hook;

    h = ngx_http_llm_add_hook(cf, NGX_HTTP_LLM_HOOK_REDIRECT);
    if (h == NULL) {
        return NGX_ERROR;
    }

    h->request = ngx_http_llm_route_redirect_hook;

    h = ngx_http_llm_add_hook(cf, NGX_HTTP_LLM_HOOK_TEXT);
    if (h == NULL) {
        return NGX_ERROR;
    }

    h->text = ngx_http_llm_route_text_hook;

    h = ngx_http_llm_add_hook(cf, NGX_HTTP_LLM_HOOK_UPSTREAM);
    if (h == NULL) {
        return NGX_ERROR;
    }

    h->request = ngx_http_llm_route_upstream_hook;

    /* the routes' counters, after the access log line is written */

    cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);

    lh = ngx_array_push(&cmcf->phases[NGX_HTTP_LOG_PHASE].handlers);
    if (lh == NULL) {
        return NGX_ERROR;
    }

    *lh = ngx_http_llm_route_log_handler;

    return ngx_http_llm_add_counters(cf, NGX_HTTP_LLM_COUNTERS_ROUTES,
                                     NGX_HTTP_LLM_COUNTERS_ROUTES,
                                     ngx_http_llm_route_status_size,
                                     ngx_http_llm_route_status);
}
