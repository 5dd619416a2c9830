
/*
 * Copyright (C) ngx_llm_module authors
 *
 * Which endpoint a request is: one table, by the URI's last segments and
 * the location's API (llm_gateway).  Only the endpoints listed here are
 * processed (parsed, budgeted, logged as model calls); everything else in
 * a gateway location (count_tokens, batches, files, models, ...) passes
 * through untouched.  Also: errors in Google's format for Gemini.
 */


#include "ngx_http_llm_module.h"


typedef struct {
    ngx_uint_t                  api;
    ngx_str_t                   suffix;        /* the end of the URI */
    ngx_uint_t                  endpoint;
    const char                 *name;
} ngx_http_llm_endpoint_t;


/* the first match wins: "/chat/completions" before "/completions" */

static ngx_http_llm_endpoint_t  ngx_http_llm_endpoints[] = {

    { NGX_HTTP_LLM_API_OPENAI, ngx_string("/chat/completions"),
      NGX_HTTP_LLM_EP_CHAT, "chat" },

    { NGX_HTTP_LLM_API_OPENAI, ngx_string("/responses"),
      NGX_HTTP_LLM_EP_RESPONSES, "responses" },

    { NGX_HTTP_LLM_API_OPENAI, ngx_string("/embeddings"),
      NGX_HTTP_LLM_EP_EMBEDDINGS, "embeddings" },

    { NGX_HTTP_LLM_API_OPENAI, ngx_string("/completions"),
      NGX_HTTP_LLM_EP_COMPLETIONS, "completions" },

    { NGX_HTTP_LLM_API_ANTHROPIC, ngx_string("/messages"),
      NGX_HTTP_LLM_EP_MESSAGES, "messages" },

    { NGX_HTTP_LLM_API_GEMINI, ngx_string(":generateContent"),
      NGX_HTTP_LLM_EP_GENERATE, "generateContent" },

    { NGX_HTTP_LLM_API_GEMINI, ngx_string(":streamGenerateContent"),
      NGX_HTTP_LLM_EP_STREAM_GENERATE, "streamGenerateContent" },

    { 0, ngx_null_string, NGX_HTTP_LLM_EP_NONE, "" }
};


/*
 * The endpoint of a request in a location of the given API, or
 * NGX_HTTP_LLM_EP_NONE.  For Gemini, *model is set to the model named by
 * the path (".../models/NAME:generateContent").
 */

ngx_uint_t
ngx_http_llm_endpoint(ngx_http_request_t *r, ngx_uint_t api, ngx_str_t *model)
{
    u_char                   *p, *end;
    ngx_str_t                *uri;
    ngx_http_llm_endpoint_t  *ep;

    uri = &r->uri;

    for (ep = ngx_http_llm_endpoints; ep->suffix.len; ep++) {

        if (ep->api != api
            || uri->len < ep->suffix.len
            || ngx_strncmp(uri->data + uri->len - ep->suffix.len,
                           ep->suffix.data, ep->suffix.len) != 0)
        {
            continue;
        }

        if (api == NGX_HTTP_LLM_API_GEMINI) {
            /* the last segment before the method */

            end = uri->data + uri->len - ep->suffix.len;

            for (p = end; p > uri->data && p[-1] != '/'; p--) {
                /* void */
            }

            if (p == end) {
                return NGX_HTTP_LLM_EP_NONE;
            }

            model->data = p;
            model->len = end - p;
        }

        return ep->endpoint;
    }

    return NGX_HTTP_LLM_EP_NONE;
}


const char *
ngx_http_llm_endpoint_name(ngx_uint_t endpoint)
{
    ngx_http_llm_endpoint_t  *ep;

    for (ep = ngx_http_llm_endpoints; ep->suffix.len; ep++) {
        if (ep->endpoint == endpoint) {
            return ep->name;
        }
    }

    return "";
}


static const char *
ngx_http_llm_gemini_status(ngx_uint_t status)
{
    switch (status) {
    case NGX_HTTP_BAD_REQUEST:
    case NGX_HTTP_REQUEST_ENTITY_TOO_LARGE:
        return "INVALID_ARGUMENT";
    case NGX_HTTP_UNAUTHORIZED:
        return "UNAUTHENTICATED";
    case NGX_HTTP_FORBIDDEN:
        return "PERMISSION_DENIED";
    case NGX_HTTP_NOT_FOUND:
        return "NOT_FOUND";
    case NGX_HTTP_TOO_MANY_REQUESTS:
        return "RESOURCE_EXHAUSTED";
    case NGX_HTTP_BAD_GATEWAY:
    case NGX_HTTP_SERVICE_UNAVAILABLE:
        return "UNAVAILABLE";
    case NGX_HTTP_GATEWAY_TIME_OUT:
        return "DEADLINE_EXCEEDED";
    default:
        return (status >= NGX_HTTP_INTERNAL_SERVER_ERROR)
               ? "INTERNAL" : "FAILED_PRECONDITION";
    }
}


/*
 * An error in Google's format:
 *   {"error":{"code":429,"message":"...","status":"RESOURCE_EXHAUSTED"}}
 */

ngx_int_t
ngx_http_llm_send_gemini_error(ngx_http_request_t *r, ngx_uint_t status,
    ngx_str_t *message)
{
    size_t        len;
    u_char       *p;
    ngx_int_t     rc;
    ngx_buf_t    *b;
    const char   *name;
    ngx_chain_t   out;

    name = ngx_http_llm_gemini_status(status);

    len = sizeof("{\"error\":{\"code\":,\"message\":\"\",\"status\":\"\"}}")
          - 1 + NGX_INT_T_LEN + ngx_strlen(name)
          + ngx_http_llm_json_encoded_len(message->data, message->len)
          + 1;

    b = ngx_create_temp_buf(r->pool, len);
    if (b == NULL) {
        return NGX_ERROR;
    }

    p = ngx_sprintf(b->last, "{\"error\":{\"code\":%ui,\"message\":\"",
                    status);
    p = ngx_http_llm_json_encode_string(p, message->data, message->len);
    p = ngx_sprintf(p, "\",\"status\":\"%s\"}}", name);
    *p++ = LF;

    b->last = p;
    b->last_buf = (r == r->main) ? 1 : 0;
    b->last_in_chain = 1;

    r->headers_out.status = status;
    r->headers_out.content_length_n = b->last - b->pos;
    ngx_str_set(&r->headers_out.content_type, "application/json");
    r->headers_out.content_type_len = r->headers_out.content_type.len;
    r->headers_out.content_type_lowcase = NULL;

    ngx_http_clear_accept_ranges(r);
    ngx_http_clear_last_modified(r);
    ngx_http_clear_etag(r);

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    out.buf = b;
    out.next = NULL;

    return ngx_http_output_filter(r, &out);
}
