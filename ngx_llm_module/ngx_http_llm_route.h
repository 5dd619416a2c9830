
/*
 * Copyright (C) ngx_llm_module authors
 *
 * Routing (llm_route, fallback, shadow): the feature's module, its
 * configuration and its types.  The core and the pipeline do not include
 * this header: they know a route only as ctx->route (opaque),
 * ctx->route_alias and the ctx's fallback bits.
 */


#ifndef _NGX_HTTP_LLM_ROUTE_H_INCLUDED_
#define _NGX_HTTP_LLM_ROUTE_H_INCLUDED_


#include "ngx_http_llm_module.h"


typedef struct {
    ngx_str_t                   name;
    ngx_http_llm_model_t       *entry;
    ngx_uint_t                  weight;
    ngx_uint_t                  line;
} ngx_http_llm_target_t;


struct ngx_http_llm_route_s {
    ngx_str_t                   alias;
    ngx_array_t                 targets;       /* ngx_http_llm_target_t */
    ngx_uint_t                  total;         /* of the weights */
    ngx_array_t                 fallbacks;     /* ngx_http_llm_target_t */
    ngx_http_llm_target_t       shadow;
    ngx_uint_t                  shadow_share;  /* thousandths of a percent */
    ngx_uint_t                  shadow_max;    /* in flight, per worker */
    ngx_msec_t                  shadow_timeout;

    ngx_uint_t                  shadow_inflight;   /* in this worker */
    ngx_http_llm_stat_t        *stat;          /* its counter slot */

    u_char                     *file;
    ngx_uint_t                  line;
};


typedef struct {
    ngx_array_t                 routes;        /* ngx_http_llm_route_t */
    ngx_uint_t                  fallbacks;     /* some route has fallbacks */
} ngx_http_llm_route_main_conf_t;


typedef struct {
    ngx_http_complex_value_t   *route_key;
} ngx_http_llm_route_loc_conf_t;


extern ngx_module_t  ngx_http_llm_route_module;


#endif /* _NGX_HTTP_LLM_ROUTE_H_INCLUDED_ */
