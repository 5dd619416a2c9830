
/*
 * Copyright (C) ngx_llm_module authors
 *
 * Built instead of ngx_http_llm_redact.c when redaction is left out
 * (LLM_WITHOUT_REDACT=1, or neither Hyperscan nor Vectorscan was found by
 * config): the llm_redact* directives are still known, so that nginx -t
 * says why they cannot be used instead of "unknown directive".
 */


#include "ngx_http_llm_module.h"


static char *ngx_http_llm_redact_off(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);


#define NGX_HTTP_LLM_REDACT_OFF_CONF                                          \
    NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_ANY

static ngx_command_t  ngx_http_llm_redact_commands[] = {

    { ngx_string("llm_redact"), NGX_HTTP_LLM_REDACT_OFF_CONF,
      ngx_http_llm_redact_off, 0, 0, NULL },

    { ngx_string("llm_redact_mode"), NGX_HTTP_LLM_REDACT_OFF_CONF,
      ngx_http_llm_redact_off, 0, 0, NULL },

    { ngx_string("llm_redact_types"), NGX_HTTP_LLM_REDACT_OFF_CONF,
      ngx_http_llm_redact_off, 0, 0, NULL },

    { ngx_string("llm_redact_rules"), NGX_HTTP_LLM_REDACT_OFF_CONF,
      ngx_http_llm_redact_off, 0, 0, NULL },

    { ngx_string("llm_redact_max_values"), NGX_HTTP_LLM_REDACT_OFF_CONF,
      ngx_http_llm_redact_off, 0, 0, NULL },

    { ngx_string("llm_redact_secret"), NGX_HTTP_LLM_REDACT_OFF_CONF,
      ngx_http_llm_redact_off, 0, 0, NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_llm_redact_module_ctx = {
    NULL,                                  /* preconfiguration */
    NULL,                                  /* postconfiguration */

    NULL,                                  /* create main configuration */
    NULL,                                  /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    NULL,                                  /* create location configuration */
    NULL                                   /* merge location configuration */
};


ngx_module_t  ngx_http_llm_redact_module = {
    NGX_MODULE_V1,
    &ngx_http_llm_redact_module_ctx,       /* module context */
    ngx_http_llm_redact_commands,          /* module directives */
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


static char *
ngx_http_llm_redact_off(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
#if (NGX_HTTP_LLM_NO_HS)
    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "\"%V\" needs Hyperscan or Vectorscan (libhs), which "
                       "were not found when ngx_http_llm_module was built: "
                       "install libhyperscan-dev or libvectorscan-dev (or "
                       "set LLM_HS_PREFIX) and build it again", &cmd->name);
#else
    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "\"%V\" is not available: ngx_http_llm_module was "
                       "built without redaction (LLM_WITHOUT_REDACT=1)",
                       &cmd->name);
#endif

    return NGX_CONF_ERROR;
}
