/*
 * Copyright (C) ngx_llm_module authors
 *
 * Token budgets: the feature's module, configuration and entry points.
 */


#ifndef _NGX_HTTP_LLM_BUDGET_H_INCLUDED_
#define _NGX_HTTP_LLM_BUDGET_H_INCLUDED_


#include "ngx_http_llm_module.h"


typedef struct {
    ngx_array_t                 budget_refs;   /* ngx_http_llm_zone_ref_t */
    ngx_array_t                 budget_zones;  /* ngx_http_llm_budget_zone_t * */
} ngx_http_llm_budget_main_conf_t;


typedef struct {
    ngx_array_t                *budgets;       /* ngx_shm_zone_t * */
    ngx_uint_t                  budget_status;
    ngx_flag_t                  budget_dry_run;
    ngx_uint_t                  budget_allowance;
    ngx_uint_t                  budget_log_level;  /* of refusals */
} ngx_http_llm_budget_loc_conf_t;


ngx_int_t ngx_http_llm_budget_admit(ngx_http_request_t *r,
    ngx_http_llm_ctx_t *ctx);
void ngx_http_llm_budget_settle(ngx_http_llm_ctx_t *ctx);
ngx_uint_t ngx_http_llm_budget_overrun(ngx_http_llm_ctx_t *ctx);
char *ngx_http_llm_budget_zone(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
char *ngx_http_llm_budget(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);
ngx_int_t ngx_http_llm_budget_check(ngx_conf_t *cf,
    ngx_http_llm_budget_main_conf_t *lmcf);


extern ngx_module_t  ngx_http_llm_budget_module;


#endif /* _NGX_HTTP_LLM_BUDGET_H_INCLUDED_ */
