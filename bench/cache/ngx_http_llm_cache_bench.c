
/*
 * Copyright (C) ngx_llm_module authors
 *
 * Benchmark builds of the answer cache only (bench/cache/run.sh builds the
 * module with LLM_CACHE_BENCH=1, which makes config define
 * NGX_HTTP_LLM_CACHE_BENCH and add this file): the time of the key's
 * digest and of the zone's lookup, the zone's entries and their bytes, the
 * time of the semantic key (embedding and digest) and of the semantic
 * lookup, the semantic entries and buckets: "KEY_NS LOOKUP_NS ENTRIES BYTES
 * SEM_KEY_NS SEM_LOOKUP_NS SEM_ENTRIES BUCKETS" in $llm_cache_bench.
 */


#include "ngx_http_llm_cache.h"


static ngx_int_t ngx_http_llm_cache_variable_bench(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);


static ngx_str_t  ngx_http_llm_cache_bench_name =
    ngx_string("llm_cache_bench");


uint64_t
ngx_http_llm_cache_bench_ns(void)
{
    struct timespec  ts;

    (void) clock_gettime(CLOCK_MONOTONIC, &ts);

    return (uint64_t) ts.tv_sec * 1000000000 + ts.tv_nsec;
}


static ngx_int_t
ngx_http_llm_cache_variable_bench(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    u_char                         *p;
    size_t                          bytes;
    ngx_uint_t                      entries, sem_entries, buckets;
    ngx_http_llm_ctx_t             *ctx;
    ngx_http_llm_cache_ctx_t       *cctx;
    ngx_http_llm_cache_zone_t      *zone;
    ngx_http_llm_cache_loc_conf_t  *clcf;

    ctx = ngx_http_llm_get_ctx(r);
    cctx = ctx ? ctx->cache : NULL;

    clcf = ngx_http_get_module_loc_conf(r, ngx_http_llm_cache_module);

    if (clcf->shm_zone == NULL) {
        v->not_found = 1;
        return NGX_OK;
    }

    zone = clcf->shm_zone->data;

    ngx_shmtx_lock(&zone->shpool->mutex);
    entries = zone->sh->entries;
    bytes = zone->sh->bytes;
    sem_entries = zone->sh->sem_entries;
    buckets = zone->sh->buckets;
    ngx_shmtx_unlock(&zone->shpool->mutex);

    p = ngx_pnalloc(r->pool, 8 * NGX_INT64_LEN);
    if (p == NULL) {
        return NGX_ERROR;
    }

    v->data = p;
    p = ngx_sprintf(p, "%uL %uL %ui %uz %uL %uL %ui %ui",
                    cctx ? cctx->bench.key_ns : 0,
                    cctx ? cctx->bench.lookup_ns : 0,
                    entries, bytes, cctx ? cctx->bench.sem_key_ns : 0,
                    cctx ? cctx->bench.sem_lookup_ns : 0, sem_entries, buckets);
    v->len = p - v->data;
    v->valid = 1;
    v->no_cacheable = 0;
    v->not_found = 0;

    return NGX_OK;
}


/* the cache's preconfiguration: $llm_cache_bench */

ngx_int_t
ngx_http_llm_cache_bench_init(ngx_conf_t *cf)
{
    ngx_http_variable_t  *var;

    var = ngx_http_add_variable(cf, &ngx_http_llm_cache_bench_name,
                                NGX_HTTP_VAR_NOCACHEABLE);
    if (var == NULL) {
        return NGX_ERROR;
    }

    var->get_handler = ngx_http_llm_cache_variable_bench;

    return NGX_OK;
}
