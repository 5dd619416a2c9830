
/*
 * Copyright (C) ngx_llm_module authors
 */


#include "ngx_http_llm_module.h"


static void *ngx_http_llm_create_main_conf(ngx_conf_t *cf);
static char *ngx_http_llm_init_main_conf(ngx_conf_t *cf, void *conf);
static void *ngx_http_llm_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_llm_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child);
static char *ngx_http_llm_gateway(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_llm_model(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static ngx_http_llm_model_t *ngx_http_llm_lookup_model(
    ngx_http_llm_main_conf_t *lmcf, ngx_str_t *name);
static ngx_int_t ngx_http_llm_parse_price(ngx_str_t *value, ngx_int_t *price);
static ngx_int_t ngx_http_llm_preconfiguration(ngx_conf_t *cf);
static ngx_int_t ngx_http_llm_postconfiguration(ngx_conf_t *cf);
static void ngx_http_llm_ctx_cleanup(void *data);
static size_t ngx_http_llm_redis_counters_size(void);
static u_char *ngx_http_llm_redis_counters(u_char *p, ngx_uint_t json);


static ngx_conf_enum_t  ngx_http_llm_gateway_apis[] = {
    { ngx_string("off"), NGX_HTTP_LLM_API_OFF },
    { ngx_string("openai"), NGX_HTTP_LLM_API_OPENAI },
    { ngx_string("anthropic"), NGX_HTTP_LLM_API_ANTHROPIC },
    { ngx_string("gemini"), NGX_HTTP_LLM_API_GEMINI },
    { ngx_null_string, 0 }
};


static ngx_command_t  ngx_http_llm_commands[] = {

    { ngx_string("llm_gateway"),
      NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_llm_gateway,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("llm_model"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_2MORE,
      ngx_http_llm_model,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("llm_tokenizer"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE2,
      ngx_http_llm_tokenizer,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("llm_stream"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_llm_loc_conf_t, stream),
      NULL },

    { ngx_string("llm_stream_usage"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_llm_loc_conf_t, stream_usage),
      NULL },

    { ngx_string("llm_redis"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_2MORE,
      ngx_http_llm_redis_directive,
      0,
      0,
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_llm_module_ctx = {
    ngx_http_llm_preconfiguration,         /* preconfiguration */
    ngx_http_llm_postconfiguration,        /* postconfiguration */

    ngx_http_llm_create_main_conf,         /* create main configuration */
    ngx_http_llm_init_main_conf,           /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    ngx_http_llm_create_loc_conf,          /* create location configuration */
    ngx_http_llm_merge_loc_conf            /* merge location configuration */
};


ngx_module_t  ngx_http_llm_module = {
    NGX_MODULE_V1,
    &ngx_http_llm_module_ctx,              /* module context */
    ngx_http_llm_commands,                 /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    ngx_http_llm_tokens_init_process,      /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    ngx_http_llm_redis_exit_process,       /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


ngx_http_llm_ctx_t *
ngx_http_llm_create_ctx(ngx_http_request_t *r)
{
    ngx_pool_cleanup_t  *cln;
    ngx_http_llm_ctx_t  *ctx;

    cln = ngx_pool_cleanup_add(r->pool, sizeof(ngx_http_llm_ctx_t));
    if (cln == NULL) {
        return NULL;
    }

    ctx = cln->data;
    ngx_memzero(ctx, sizeof(ngx_http_llm_ctx_t));

    /*
     * set by ngx_memzero():
     *
     *     ctx->parsed = 0;
     *     ctx->edits.elts = NULL;
     */

    ctx->request = r;
    ctx->ttft = -1;
    ctx->req.max_tokens = -1;
    ctx->req.choices = 1;
    ctx->req.temperature = -1;
    ctx->req.model_tok = NGX_HTTP_LLM_NONE;
    ctx->req.messages_tok = NGX_HTTP_LLM_NONE;
    ctx->req.stream_options_tok = NGX_HTTP_LLM_NONE;
    ctx->req.tools_tok = NGX_HTTP_LLM_NONE;

    cln->handler = ngx_http_llm_ctx_cleanup;

    ngx_http_set_ctx(r, ctx, ngx_http_llm_module);

    return ctx;
}


/*
 * Internal redirects (error_page, try_files, named locations) zero r->ctx;
 * the ctx lives on as the data of a pool cleanup, where it is found again.
 */

ngx_http_llm_ctx_t *
ngx_http_llm_get_ctx(ngx_http_request_t *r)
{
    ngx_pool_cleanup_t  *cln;
    ngx_http_llm_ctx_t  *ctx;

    if (r != r->main) {
        ctx = ngx_http_get_module_ctx(r, ngx_http_llm_module);

        if (ctx && (ctx->shadow || ctx->embedding)) {
            return ctx;
        }

        r = r->main;
    }

    ctx = ngx_http_get_module_ctx(r, ngx_http_llm_module);

    if (ctx == NULL && (r->internal || r->filter_finalize)) {
        for (cln = r->pool->cleanup; cln; cln = cln->next) {
            if (cln->handler == ngx_http_llm_ctx_cleanup) {
                ctx = cln->data;

                if (ctx->request != r) {
                    continue;
                }

                ngx_http_set_ctx(r, ctx, ngx_http_llm_module);
                break;
            }
        }
    }

    return ctx;
}


static void
ngx_http_llm_ctx_cleanup(void *data)
{
    /* the ctx only marks its pool cleanup; nothing to release yet */
}


ngx_http_llm_model_t *
ngx_http_llm_find_model(ngx_http_llm_main_conf_t *lmcf, ngx_str_t *name)
{
    ngx_http_llm_model_t  *m;

    m = ngx_http_llm_lookup_model(lmcf, name);

    return m ? m : lmcf->default_model;
}


static ngx_http_llm_model_t *
ngx_http_llm_lookup_model(ngx_http_llm_main_conf_t *lmcf, ngx_str_t *name)
{
    ngx_uint_t             i;
    ngx_http_llm_model_t  *m;

    m = lmcf->models.elts;

    for (i = 0; i < lmcf->models.nelts; i++) {
        if (m[i].name.len == name->len
            && ngx_strncmp(m[i].name.data, name->data, name->len) == 0)
        {
            return &m[i];
        }
    }

    return NULL;
}


/*
 * A background POST subrequest with its own body and context, for an answer
 * that the filter module reads and never sends (a shadow's, an embedder's:
 * sctx->shadow or sctx->embedding is set by the caller).  The location's
 * error_page is not applied to it.
 */

ngx_int_t
ngx_http_llm_subrequest(ngx_http_request_t *r, ngx_str_t *uri,
    ngx_str_t *args, ngx_str_t *body, ngx_http_llm_ctx_t *sctx,
    ngx_http_post_subrequest_t *ps, ngx_http_request_t **psr)
{
    ngx_buf_t                *b;
    ngx_chain_t              *cl;
    ngx_http_request_t       *sr;
    ngx_http_request_body_t  *rb;

    rb = ngx_pcalloc(r->pool, sizeof(ngx_http_request_body_t));
    b = ngx_calloc_buf(r->pool);
    cl = ngx_alloc_chain_link(r->pool);

    if (rb == NULL || b == NULL || cl == NULL) {
        return NGX_ERROR;
    }

    if (ngx_http_subrequest(r, uri, args, &sr, ps,
                            NGX_HTTP_SUBREQUEST_BACKGROUND)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    b->start = body->data;
    b->pos = body->data;
    b->last = body->data + body->len;
    b->end = b->last;
    b->memory = 1;
    b->last_buf = 1;
    b->last_in_chain = 1;

    cl->buf = b;
    cl->next = NULL;

    rb->bufs = cl;
    rb->buf = b;

    sr->request_body = rb;
    sr->method = NGX_HTTP_POST;
    ngx_str_set(&sr->method_name, "POST");
    sr->headers_in.content_length_n = body->len;

    /* error_page is for the client's request: this answer is only read */
    sr->error_page = 1;

    ngx_http_set_ctx(sr, sctx, ngx_http_llm_module);

    *psr = sr;

    return NGX_OK;
}


/* "zone=NAME:SIZE" of a zone directive */

ngx_int_t
ngx_http_llm_parse_zone(ngx_conf_t *cf, ngx_str_t *value,
    const char *directive, ngx_str_t *name, ssize_t *size)
{
    u_char     *p;
    ngx_str_t   s;

    name->data = value->data + 5;

    p = (u_char *) ngx_strlchr(name->data, value->data + value->len, ':');

    if (p == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "%s: invalid zone size \"%V\" (zone=NAME:SIZE)",
                           directive, value);
        return NGX_ERROR;
    }

    name->len = p - name->data;

    s.data = p + 1;
    s.len = value->data + value->len - s.data;

    *size = ngx_parse_size(&s);

    if (*size == NGX_ERROR || name->len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "%s: invalid zone \"%V\"", directive, value);
        return NGX_ERROR;
    }

    if (*size < (ssize_t) (8 * ngx_pagesize)) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "%s: zone \"%V\" is too small (at least %uz "
                           "bytes)", directive, name, 8 * ngx_pagesize);
        return NGX_ERROR;
    }

    return NGX_OK;
}


/*
 * The shared memory zone of a zone directive (llm_budget_zone,
 * llm_cache_zone), under the feature's tag: refused when the name is
 * declared twice; its data and init set, the data (a pointer) added to the
 * feature's list of zones.  NULL: an error, logged.
 */

ngx_shm_zone_t *
ngx_http_llm_zone_add(ngx_conf_t *cf, const char *directive, ngx_str_t *name,
    ssize_t size, void *tag, ngx_shm_zone_init_pt init, void *data,
    ngx_array_t *zones)
{
    void            **zp;
    ngx_shm_zone_t   *shm_zone;

    shm_zone = ngx_shared_memory_add(cf, name, size, tag);
    if (shm_zone == NULL) {
        return NULL;
    }

    if (shm_zone->data) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "%s \"%V\" is duplicate", directive, name);
        return NULL;
    }

    shm_zone->init = init;
    shm_zone->data = data;

    zp = ngx_array_push(zones);
    if (zp == NULL) {
        return NULL;
    }

    *zp = data;

    return shm_zone;
}


/*
 * A zone named by a directive (llm_budget NAME, llm_cache NAME), with the
 * place it was named at: checked once the http block is read, since zones
 * may be declared later (ngx_http_llm_zone_refs_check()).
 */

ngx_int_t
ngx_http_llm_zone_ref(ngx_conf_t *cf, ngx_array_t *refs,
    ngx_shm_zone_t *shm_zone)
{
    ngx_http_llm_zone_ref_t  *ref;

    ref = ngx_array_push(refs);
    if (ref == NULL) {
        return NGX_ERROR;
    }

    ref->shm_zone = shm_zone;
    ref->file = cf->conf_file->file.name.data;
    ref->line = cf->conf_file->line;

    return NGX_OK;
}


/*
 * After the http block: every zone named is one its zone directive
 * declared.  The name is looked up under the feature's tag, which other
 * zones may share (the core module's: llm_redis's counters, the status
 * zone), so the zone's init function must be the directive's too.
 */

ngx_int_t
ngx_http_llm_zone_refs_check(ngx_conf_t *cf, ngx_array_t *refs,
    ngx_shm_zone_init_pt init, const char *directive,
    const char *zone_directive)
{
    ngx_uint_t                i;
    ngx_http_llm_zone_ref_t  *ref;

    ref = refs->elts;

    for (i = 0; i < refs->nelts; i++) {

        if (ref[i].shm_zone->data == NULL
            || ref[i].shm_zone->init != init)
        {
            ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                          "%s \"%V\": no %s with this name in %s:%ui",
                          directive, &ref[i].shm_zone->shm.name,
                          zone_directive, ref[i].file, ref[i].line);
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


/*
 * The shared state of a zone (budget, cache): created zeroed in a new zone,
 * with its index (which it must start with) initialised and the slab's
 * messages naming the zone, or found again in a zone that exists.
 */

void *
ngx_http_llm_shm_state(ngx_shm_zone_t *shm_zone, size_t size,
    ngx_rbtree_insert_pt insert, const char *directive, ngx_uint_t *created)
{
    size_t                     len;
    ngx_slab_pool_t           *shpool;
    ngx_http_llm_shm_index_t  *index;

    shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;

    *created = 0;

    if (shm_zone->shm.exists) {
        return shpool->data;
    }

    index = ngx_slab_calloc(shpool, size);
    if (index == NULL) {
        return NULL;
    }

    shpool->data = index;

    ngx_rbtree_init(&index->rbtree, &index->sentinel, insert);
    ngx_queue_init(&index->queue);

    len = sizeof(" in  \"\"") + ngx_strlen(directive)
          + shm_zone->shm.name.len;

    shpool->log_ctx = ngx_slab_alloc(shpool, len);
    if (shpool->log_ctx == NULL) {
        return NULL;
    }

    ngx_sprintf(shpool->log_ctx, " in %s \"%V\"%Z", directive,
                &shm_zone->shm.name);

    shpool->log_nomem = 0;

    *created = 1;

    return index;
}


static void *
ngx_http_llm_create_main_conf(ngx_conf_t *cf)
{
    ngx_uint_t                 i;
    ngx_http_llm_main_conf_t  *lmcf;

    lmcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_llm_main_conf_t));
    if (lmcf == NULL) {
        return NULL;
    }

    if (ngx_array_init(&lmcf->models, cf->pool, 8,
                       sizeof(ngx_http_llm_model_t))
        != NGX_OK)
    {
        return NULL;
    }

    if (ngx_array_init(&lmcf->redis, cf->pool, 1,
                       sizeof(ngx_http_llm_redis_t *))
        != NGX_OK
        || ngx_array_init(&lmcf->stat_wants, cf->pool, 4,
                          sizeof(ngx_http_llm_stat_want_t))
           != NGX_OK
        || ngx_array_init(&lmcf->counters, cf->pool, 4,
                          sizeof(ngx_http_llm_counters_t))
           != NGX_OK)
    {
        return NULL;
    }

    for (i = 0; i < NGX_HTTP_LLM_HOOKS; i++) {
        if (ngx_array_init(&lmcf->hooks[i], cf->pool, 2,
                           sizeof(ngx_http_llm_hook_t))
            != NGX_OK)
        {
            return NULL;
        }
    }

    return lmcf;
}


/*
 * A new entry at the end of a hook list, for the caller to fill: called by
 * the features in their postconfiguration.
 */

ngx_http_llm_hook_t *
ngx_http_llm_add_hook(ngx_conf_t *cf, ngx_uint_t kind)
{
    ngx_http_llm_main_conf_t  *lmcf;

    lmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_llm_module);

    return ngx_array_push(&lmcf->hooks[kind]);
}


/*
 * The request hooks of a kind, in order: the first result other than
 * NGX_DECLINED ends the run and is returned (ROUTE, CHECK, ANSWER, ADMIT,
 * REDIRECT); FORWARD and CONTENT run them all.
 */

ngx_int_t
ngx_http_llm_run_hooks(ngx_http_request_t *r, ngx_http_llm_ctx_t *ctx,
    ngx_uint_t kind)
{
    ngx_int_t                  rc;
    ngx_uint_t                 i;
    ngx_http_llm_hook_t       *h;
    ngx_http_llm_main_conf_t  *lmcf;

    lmcf = ngx_http_get_module_main_conf(r, ngx_http_llm_module);

    h = lmcf->hooks[kind].elts;

    for (i = 0; i < lmcf->hooks[kind].nelts; i++) {
        rc = h[i].request(r, ctx);

        if (rc != NGX_DECLINED
            && kind != NGX_HTTP_LLM_HOOK_FORWARD
            && kind != NGX_HTTP_LLM_HOOK_CONTENT)
        {
            return rc;
        }
    }

    return NGX_DECLINED;
}


void
ngx_http_llm_answer_event_hooks(ngx_http_request_t *r,
    ngx_http_llm_ctx_t *ctx, ngx_http_llm_json_t *json)
{
    ngx_uint_t                 i;
    ngx_http_llm_hook_t       *h;
    ngx_http_llm_main_conf_t  *lmcf;

    lmcf = ngx_http_get_module_main_conf(r, ngx_http_llm_module);

    h = lmcf->hooks[NGX_HTTP_LLM_HOOK_EVENT].elts;

    for (i = 0; i < lmcf->hooks[NGX_HTTP_LLM_HOOK_EVENT].nelts; i++) {
        h[i].json(r, ctx, json);
    }
}


void
ngx_http_llm_answer_text_hooks(ngx_http_request_t *r,
    ngx_http_llm_ctx_t *ctx, const u_char *text, size_t len)
{
    ngx_uint_t                 i;
    ngx_http_llm_hook_t       *h;
    ngx_http_llm_main_conf_t  *lmcf;

    lmcf = ngx_http_get_module_main_conf(r, ngx_http_llm_module);

    h = lmcf->hooks[NGX_HTTP_LLM_HOOK_TEXT].elts;

    for (i = 0; i < lmcf->hooks[NGX_HTTP_LLM_HOOK_TEXT].nelts; i++) {
        h[i].text(r, ctx, text, len);
    }
}


void
ngx_http_llm_answer_end_hooks(ngx_http_llm_ctx_t *ctx)
{
    ngx_uint_t                 i;
    ngx_http_llm_hook_t       *h;
    ngx_http_llm_main_conf_t  *lmcf;

    lmcf = ngx_http_get_module_main_conf(ctx->request, ngx_http_llm_module);

    h = lmcf->hooks[NGX_HTTP_LLM_HOOK_END].elts;

    for (i = 0; i < lmcf->hooks[NGX_HTTP_LLM_HOOK_END].nelts; i++) {
        h[i].end(ctx);
    }
}


static char *
ngx_http_llm_init_main_conf(ngx_conf_t *cf, void *conf)
{
    ngx_http_llm_main_conf_t *lmcf = conf;

    ngx_uint_t                      i, j;
    ngx_http_llm_model_t           *m;
    ngx_http_upstream_srv_conf_t  **uscfp;
    ngx_http_upstream_main_conf_t  *umcf;

    if (ngx_http_llm_stats_zone(cf, lmcf) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    umcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_upstream_module);
    uscfp = umcf->upstreams.elts;

    m = lmcf->models.elts;

    for (i = 0; i < lmcf->models.nelts; i++) {
        if (ngx_http_llm_tokenizer_resolve(cf, lmcf, &m[i]) != NGX_OK) {
            return NGX_CONF_ERROR;
        }
    }

    if (lmcf->default_model
        && ngx_http_llm_tokenizer_resolve(cf, lmcf, lmcf->default_model)
           != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    /*
     * A bare name (no dot, no port) must be an upstream{} block: it is the
     * common typo that would otherwise surface only at request time, as
     * "no resolver defined".
     */

    for (i = 0; i < lmcf->models.nelts; i++) {

        if (ngx_strlchr(m[i].upstream.data,
                        m[i].upstream.data + m[i].upstream.len, '.')
            || ngx_strlchr(m[i].upstream.data,
                           m[i].upstream.data + m[i].upstream.len, ':'))
        {
            continue;
        }

        for (j = 0; j < umcf->upstreams.nelts; j++) {
            if (uscfp[j]->host.len == m[i].upstream.len
                && ngx_strncasecmp(uscfp[j]->host.data, m[i].upstream.data,
                                   m[i].upstream.len)
                   == 0)
            {
                break;
            }
        }

        if (j == umcf->upstreams.nelts) {
            ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                          "llm_model \"%V\": no upstream block named \"%V\" "
                          "in %s:%ui", &m[i].name, &m[i].upstream,
                          m[i].file, m[i].line);
            return NGX_CONF_ERROR;
        }
    }

    return NGX_CONF_OK;
}


static void *
ngx_http_llm_create_loc_conf(ngx_conf_t *cf)
{
    ngx_http_llm_loc_conf_t  *conf;

    conf = ngx_pcalloc(cf->pool, sizeof(ngx_http_llm_loc_conf_t));
    if (conf == NULL) {
        return NULL;
    }

    conf->api = NGX_CONF_UNSET_UINT;
    conf->stream = NGX_CONF_UNSET;
    conf->stream_usage = NGX_CONF_UNSET;

    return conf;
}


static char *
ngx_http_llm_merge_loc_conf(ngx_conf_t *cf, void *parent, void *child)
{
    ngx_http_llm_loc_conf_t *prev = parent;
    ngx_http_llm_loc_conf_t *conf = child;

    ngx_conf_merge_uint_value(conf->api, prev->api, NGX_HTTP_LLM_API_OFF);
    ngx_conf_merge_value(conf->stream, prev->stream, 1);
    ngx_conf_merge_value(conf->stream_usage, prev->stream_usage, 1);

    return NGX_CONF_OK;
}


/* llm_gateway openai | anthropic | off */

static char *
ngx_http_llm_gateway(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_llm_loc_conf_t *lcf = conf;

    ngx_str_t        *value;
    ngx_conf_enum_t  *e;

    if (lcf->api != NGX_CONF_UNSET_UINT) {
        return "is duplicate";
    }

    value = cf->args->elts;

    for (e = ngx_http_llm_gateway_apis; e->name.len; e++) {
        if (e->name.len == value[1].len
            && ngx_strcasecmp(e->name.data, value[1].data) == 0)
        {
            lcf->api = e->value;
            return NGX_CONF_OK;
        }
    }

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "invalid value \"%V\" in \"%V\" directive, "
                       "it must be \"off\", \"openai\", \"anthropic\" or "
                       "\"gemini\"",
                       &value[1], &cmd->name);

    return NGX_CONF_ERROR;
}


/*
 * llm_model NAME upstream=NAME [input=USD] [output=USD] [cached_input=USD]
 *     [tokenizer=NAME]
 */

static char *
ngx_http_llm_model(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_llm_main_conf_t *lmcf = conf;

    ngx_int_t             *price;
    ngx_str_t             *value, arg;
    ngx_uint_t             i;
    ngx_http_llm_model_t  *m;

    value = cf->args->elts;

    if (value[1].len == 0) {
        return "has an empty model name";
    }

    if (value[1].len == 1 && value[1].data[0] == '*') {
        if (lmcf->default_model) {
            return "\"*\" is duplicate";
        }

    } else if (ngx_http_llm_lookup_model(lmcf, &value[1]) != NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "llm_model \"%V\" is duplicate", &value[1]);
        return NGX_CONF_ERROR;
    }

    m = ngx_array_push(&lmcf->models);
    if (m == NULL) {
        return NGX_CONF_ERROR;
    }

    ngx_memzero(m, sizeof(ngx_http_llm_model_t));

    m->name = value[1];
    m->input = NGX_HTTP_LLM_PRICE_UNSET;
    m->output = NGX_HTTP_LLM_PRICE_UNSET;
    m->cached_input = NGX_HTTP_LLM_PRICE_UNSET;
    m->file = cf->conf_file->file.name.data;
    m->line = cf->conf_file->line;

    for (i = 2; i < cf->args->nelts; i++) {

        if (ngx_strncmp(value[i].data, "upstream=", 9) == 0) {
            m->upstream.data = value[i].data + 9;
            m->upstream.len = value[i].len - 9;

            if (m->upstream.len == 0) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "llm_model \"%V\": empty \"upstream=\"",
                                   &m->name);
                return NGX_CONF_ERROR;
            }

            continue;
        }

        if (ngx_strncmp(value[i].data, "tokenizer=", 10) == 0) {
            m->tokenizer_name.data = value[i].data + 10;
            m->tokenizer_name.len = value[i].len - 10;

            if (m->tokenizer_name.len == 0) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "llm_model \"%V\": empty \"tokenizer=\"",
                                   &m->name);
                return NGX_CONF_ERROR;
            }

            continue;
        }

        if (ngx_strncmp(value[i].data, "input=", 6) == 0) {
            price = &m->input;
            arg.data = value[i].data + 6;
            arg.len = value[i].len - 6;

        } else if (ngx_strncmp(value[i].data, "output=", 7) == 0) {
            price = &m->output;
            arg.data = value[i].data + 7;
            arg.len = value[i].len - 7;

        } else if (ngx_strncmp(value[i].data, "cached_input=", 13) == 0) {
            price = &m->cached_input;
            arg.data = value[i].data + 13;
            arg.len = value[i].len - 13;

        } else {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "llm_model \"%V\": invalid parameter \"%V\"",
                               &m->name, &value[i]);
            return NGX_CONF_ERROR;
        }

        if (ngx_http_llm_parse_price(&arg, price) != NGX_OK) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "llm_model \"%V\": invalid price \"%V\" "
                               "(USD per 1M tokens, e.g. 2.50)",
                               &m->name, &value[i]);
            return NGX_CONF_ERROR;
        }
    }

    if (m->upstream.len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "llm_model \"%V\": \"upstream=\" is required",
                           &m->name);
        return NGX_CONF_ERROR;
    }

    if (m->name.len == 1 && m->name.data[0] == '*') {
        /* the catch-all entry is kept out of the name search */
        lmcf->default_model = ngx_palloc(cf->pool,
                                         sizeof(ngx_http_llm_model_t));
        if (lmcf->default_model == NULL) {
            return NGX_CONF_ERROR;
        }

        *lmcf->default_model = *m;
        lmcf->models.nelts--;
    }

    return NGX_CONF_OK;
}


/* "2.50" -> 2500000 micro-USD; up to 6 decimals */

static ngx_int_t
ngx_http_llm_parse_price(ngx_str_t *value, ngx_int_t *price)
{
    ngx_int_t  n;

    if (value->len == 0 || value->data[0] == '-') {
        return NGX_ERROR;
    }

    n = ngx_atofp(value->data, value->len, 6);
    if (n == NGX_ERROR) {
        return NGX_ERROR;
    }

    *price = n;

    return NGX_OK;
}


static ngx_int_t
ngx_http_llm_preconfiguration(ngx_conf_t *cf)
{
    return ngx_http_llm_add_variables(cf);
}


static ngx_int_t
ngx_http_llm_postconfiguration(ngx_conf_t *cf)
{
    ngx_http_handler_pt        *h;
    ngx_http_core_main_conf_t  *cmcf;

    cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);

    /*
     * Pre-content: after every access check (allow/deny, auth_basic,
     * auth_request), so unauthorised requests are neither parsed nor
     * charged to a budget; before try_files and mirror, which then see the
     * rewritten body.
     */

    h = ngx_array_push(&cmcf->phases[NGX_HTTP_PRECONTENT_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = ngx_http_llm_precontent_handler;

    /* the counters of llm_redis, on the llm_status page */

    if (ngx_http_llm_add_counters(cf, NGX_HTTP_LLM_COUNTERS_REDIS,
                                  NGX_HTTP_LLM_COUNTERS_REDIS_JSON,
                                  ngx_http_llm_redis_counters_size,
                                  ngx_http_llm_redis_counters)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    return NGX_OK;
}


static size_t
ngx_http_llm_redis_counters_size(void)
{
    return ngx_http_llm_redis_status_size(
               ngx_http_cycle_get_module_main_conf(ngx_cycle,
                                                   ngx_http_llm_module));
}


static u_char *
ngx_http_llm_redis_counters(u_char *p, ngx_uint_t json)
{
    return ngx_http_llm_redis_status(p,
               ngx_http_cycle_get_module_main_conf(ngx_cycle,
                                                   ngx_http_llm_module),
               json);
}
