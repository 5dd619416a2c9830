
/*
 * Copyright (C) ngx_llm_module authors
 *
 * The status page (llm_status): the feature's module and its HTML page.
 * Nothing outside the status files includes this header: the features
 * show their counters through the core's registry
 * (ngx_http_llm_add_counters()).
 */


#ifndef _NGX_HTTP_LLM_STATUS_H_INCLUDED_
#define _NGX_HTTP_LLM_STATUS_H_INCLUDED_


#include "ngx_http_llm_module.h"


/* ngx_http_llm_status_html.c */
ngx_int_t ngx_http_llm_status_html(ngx_http_request_t *r);


extern ngx_module_t  ngx_http_llm_status_module;


#endif /* _NGX_HTTP_LLM_STATUS_H_INCLUDED_ */
