
/*
 * Copyright (C) ngx_llm_module authors
 *
 * Access phase: read the whole body, parse it, validate it, resolve the
 * model, rewrite the body; answer errors in the API's own format.
 */


#include "ngx_http_llm_module.h"


/* a key of a JSON object, decoded */
typedef struct {
    u_char                     *data;
    size_t                      len;
    uint64_t                    hash;
} ngx_http_llm_key_t;


static ngx_int_t ngx_http_llm_body_buffer(ngx_http_request_t *r,
    ngx_http_llm_ctx_t *ctx);
static void ngx_http_llm_body_buffer_done(ngx_http_request_t *r,
    ngx_http_llm_ctx_t *ctx);
static void ngx_http_llm_body_handler(ngx_http_request_t *r);
static ngx_uint_t ngx_http_llm_made_get(ngx_http_request_t *r);
static ngx_uint_t ngx_http_llm_named_location(ngx_http_request_t *r);
static const char *ngx_http_llm_body_lost(ngx_http_request_t *r);
static ngx_int_t ngx_http_llm_body_unavailable(ngx_http_request_t *r,
    ngx_http_llm_ctx_t *ctx, const char *why);
static ngx_int_t ngx_http_llm_answer_error(ngx_http_request_t *r,
    ngx_http_llm_ctx_t *ctx);
static ngx_int_t ngx_http_llm_process(ngx_http_request_t *r,
    ngx_http_llm_ctx_t *ctx);
static ngx_int_t ngx_http_llm_process_other(ngx_http_request_t *r,
    ngx_http_llm_ctx_t *ctx);
static ngx_int_t ngx_http_llm_process_rest(ngx_http_request_t *r,
    ngx_http_llm_ctx_t *ctx);
static ngx_int_t ngx_http_llm_ask_usage(ngx_http_request_t *r,
    ngx_http_llm_ctx_t *ctx);
static ngx_int_t ngx_http_llm_duplicate_keys(ngx_http_request_t *r,
    ngx_http_llm_ctx_t *ctx);
static ngx_http_llm_key_t *ngx_http_llm_duplicate_few(
    ngx_http_llm_key_t *keys, uint32_t n);
static ngx_http_llm_key_t *ngx_http_llm_duplicate_many(
    ngx_http_llm_key_t *keys, uint32_t n, uint32_t *slots);
static int ngx_libc_cdecl ngx_http_llm_key_cmp(const void *one,
    const void *two);
static ngx_int_t ngx_http_llm_read_body(ngx_http_request_t *r, size_t max,
    ngx_str_t *out);
static ngx_int_t ngx_http_llm_parse(ngx_http_request_t *r,
    ngx_http_llm_ctx_t *ctx);
static ngx_int_t ngx_http_llm_parse_messages(ngx_http_request_t *r,
    ngx_http_llm_ctx_t *ctx, uint32_t messages);
static ngx_int_t ngx_http_llm_parse_content(ngx_http_request_t *r,
    ngx_http_llm_ctx_t *ctx, uint32_t content, ngx_int_t message,
    ngx_str_t *role);
static ngx_int_t ngx_http_llm_parse_inputs(ngx_http_request_t *r,
    ngx_http_llm_ctx_t *ctx, uint32_t tok);
static ngx_int_t ngx_http_llm_add_text(ngx_http_request_t *r,
    ngx_http_llm_ctx_t *ctx, uint32_t tok, ngx_int_t message,
    ngx_str_t *role);
static ngx_int_t ngx_http_llm_decode(ngx_http_request_t *r,
    ngx_http_llm_json_t *json, uint32_t tok, ngx_str_t *out);
static const char *ngx_http_llm_anthropic_type(ngx_uint_t status);
static ngx_int_t ngx_http_llm_parse_responses(ngx_http_request_t *r,
    ngx_http_llm_ctx_t *ctx);
static ngx_int_t ngx_http_llm_parse_gemini(ngx_http_request_t *r,
    ngx_http_llm_ctx_t *ctx);
static uint32_t ngx_http_llm_get_either(ngx_http_llm_json_t *json,
    uint32_t obj, const char *name, const char *alias);


#define ngx_http_llm_tok(ctx, i)  (&(ctx)->req.json.tokens[i])


ngx_int_t
ngx_http_llm_precontent_handler(ngx_http_request_t *r)
{
    ngx_int_t                 rc;
    ngx_str_t                 model;
    ngx_uint_t                endpoint, made_get;
    const char               *lost;
    ngx_http_llm_ctx_t       *ctx;
    ngx_http_llm_loc_conf_t  *lcf;

    if (r != r->main) {
        ctx = ngx_http_get_module_ctx(r, ngx_http_llm_module);

        if (ctx) {
            /* a subrequest of a feature (a shadow): its content handler */
            (void) ngx_http_llm_run_hooks(r, ctx, NGX_HTTP_LLM_HOOK_CONTENT);
        }

        return NGX_DECLINED;
    }

    lcf = ngx_http_get_module_loc_conf(r, ngx_http_llm_module);

    ctx = ngx_http_get_module_ctx(r, ngx_http_llm_module);

    if (ctx == NULL && (r->internal || r->filter_finalize)) {

        /* after an internal redirect: error_page, try_files, ... */

        ctx = ngx_http_llm_get_ctx(r);

        lost = NULL;

        if (ctx && ctx->body_requested && !ctx->body_done) {

            /* the body read failed, nginx redirected its error */

            if (lcf->api == NGX_HTTP_LLM_API_OFF) {
                /* to a page of its own: nginx answers it */
                return NGX_DECLINED;
            }

            /* to a gateway location: no body to parse or forward (below) */

            lost = "its reading failed";
            rc = NGX_DECLINED;

        } else {
            rc = ctx ? ngx_http_llm_run_hooks(r, ctx,
                                              NGX_HTTP_LLM_HOOK_REDIRECT)
                     : NGX_DECLINED;
        }

        if (rc != NGX_DECLINED) {
            /* a feature took it back (routing: an attempt failed) */
            ctx->status = (rc == NGX_DONE) ? NGX_DECLINED : rc;

        } else if (r->error_page && r->err_status
                   && lcf->api != NGX_HTTP_LLM_API_OFF
                   && !ngx_http_llm_named_location(r))
        {
            /*
             * Brought back by the error pages fallback adds, for an error
             * that is not a failed attempt (limit_req's 503, a request
             * passed through untouched): nginx answers it as it would.
             * Those pages go to the request's own URI, never to a named
             * location: "error_page 503 @llm" (no "=") is the
             * configuration's, and the request goes on there, with
             * nginx's status kept.
             */
            return r->err_status;

        } else if (lost) {
            ctx->body_done = 1;
            ctx->status = ngx_http_llm_body_unavailable(r, ctx, lost);
        }
    }

    if (ctx && ctx->body_requested) {

        if (!ctx->body_done || ctx->status == NGX_AGAIN) {
            /* the body is being read, or a remote embedder asked */
            return NGX_DONE;
        }

        if (ctx->status != NGX_HTTP_SPECIAL_RESPONSE) {

            if (ctx->status == NGX_DECLINED && ctx->parsed) {

                if (lcf->api != NGX_HTTP_LLM_API_OFF
                    && ngx_http_llm_made_get(r))
                {
                    /* error_page to a URI made it a GET: still a model call */
                    r->method = NGX_HTTP_POST;
                    ngx_str_set(&r->method_name, "POST");
                }

                (void) ngx_http_llm_run_hooks(r, ctx,
                                              NGX_HTTP_LLM_HOOK_CONTENT);
            }

            return ctx->status;
        }

        /* a refusal prepared by the body handler: answer it once */

        return ngx_http_llm_answer_error(r, ctx);
    }

    if (lcf->api == NGX_HTTP_LLM_API_OFF) {
        return NGX_DECLINED;
    }

    made_get = 0;

    if (!(r->method & NGX_HTTP_POST)) {

        if (!ngx_http_llm_made_get(r)) {
            return NGX_DECLINED;
        }

        /* a POST that error_page sent to a URI, as a GET (see below) */

        made_get = 1;
    }

    /*
     * Only the endpoints of the table are model calls (ngx_http_llm_api.c);
     * their bodies are parsed as JSON whatever the Content-Type says (a
     * provider may read JSON labelled text/plain): a body that is not JSON
     * gets a 400.  Everything else, file uploads (multipart/form-data) to
     * audio or files endpoints among it, passes through untouched.
     */

    ngx_str_null(&model);

    endpoint = ngx_http_llm_endpoint(r, lcf->api, &model);

    if (endpoint == NGX_HTTP_LLM_EP_NONE
        && ngx_http_llm_run_hooks(r, NULL, NGX_HTTP_LLM_HOOK_OTHER)
           == NGX_DECLINED)
    {
        ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                       "llm: \"%V\" is not a model call, passed through",
                       &r->uri);
        return NGX_DECLINED;
    }

    /*
     * A POST that is not a model call (token counting, batches, anything
     * the table does not name) that an OTHER hook wants (request
     * redaction) is read and given to it: ngx_http_llm_process_other().
     * It is neither budgeted nor logged as a model call (ctx->parsed stays
     * 0).
     */

    if (made_get) {
        /*
         * error_page to a URI turns every method but HEAD into a GET
         * (ngx_http_send_error_page()); a model call is a POST whatever
         * the page, as a named location keeps it: the method is given
         * back, as routing's fallback does.
         */

        ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                       "llm: \"%V\" came through error_page as a GET, "
                       "POST again", &r->uri);

        r->method = NGX_HTTP_POST;
        ngx_str_set(&r->method_name, "POST");
    }

    ctx = ngx_http_llm_create_ctx(r);
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->api = lcf->api;
    ctx->endpoint = endpoint;
    ctx->req.model = model;
    ctx->status = NGX_DONE;
    ctx->body_requested = 1;

    if (r->internal) {

        /*
         * After an internal redirect (error_page, rewrite ... last,
         * try_files, a named location), a first location may have read
         * the body (proxy_pass: it is still there, in memory or in its
         * file, and is parsed here), or discarded it, or failed to read
         * it, or passed it on as it came: then there is nothing to parse
         * or to forward, and the request is answered with an error
         * saying so rather than sent on without its body.
         */

        lost = ngx_http_llm_body_lost(r);

        if (lost) {
            ctx->body_done = 1;
            ctx->status = ngx_http_llm_body_unavailable(r, ctx, lost);

            if (ctx->status != NGX_HTTP_SPECIAL_RESPONSE) {
                return ctx->status;
            }

            return ngx_http_llm_answer_error(r, ctx);
        }
    }

    if (ngx_http_llm_body_buffer(r, ctx) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    rc = ngx_http_read_client_request_body(r, ngx_http_llm_body_handler);

    if (rc >= NGX_HTTP_SPECIAL_RESPONSE) {
        ngx_http_llm_body_buffer_done(r, ctx);
        return rc;
    }

    ngx_http_finalize_request(r, NGX_DONE);

    return NGX_DONE;
}


/*
 * The method is a GET that an internal redirect made of a POST: error_page
 * to a URI (ngx_http_send_error_page()) and an upstream's
 * X-Accel-Redirect to a URI make every method but HEAD a GET, and set the
 * method's name to the core module's own string; the request line keeps
 * the client's method.
 */

static ngx_uint_t
ngx_http_llm_made_get(ngx_http_request_t *r)
{
    return r->method == NGX_HTTP_GET
           && r->method_name.data == ngx_http_core_get_method.data
           && r->request_line.len > sizeof("POST ") - 1
           && ngx_strncmp(r->request_line.data, "POST ",
                          sizeof("POST ") - 1)
              == 0;
}


/* the request runs in a named location ("error_page ... @name", ...) */

static ngx_uint_t
ngx_http_llm_named_location(ngx_http_request_t *r)
{
    ngx_http_core_loc_conf_t  *clcf;

    clcf = ngx_http_get_module_loc_conf(r, ngx_http_core_module);

    return clcf->named;
}


/*
 * Why the request's body is no longer there to be read, after an internal
 * redirect: NULL when it is (read whole by a first location, in memory or
 * in its temporary file), or when nothing read it yet.
 *
 *  - discarded: ngx_http_discard_request_body() (the 413 of
 *    client_max_body_size on a Content-Length, a handler that answered
 *    without it): r->discard_body while it is being read away; once it
 *    is gone, r->headers_in.content_length_n is 0 while the header is
 *    not (a Content-Length), or r->request_body is the discard's own, with
 *    no post handler (chunked); HTTP/2: the stream skips its data;
 *  - passed on as it came (proxy_request_buffering off): nginx keeps none
 *    of it (r->request_body_no_buffering);
 *  - not read whole: its reading failed (the 413 of a chunked body, a
 *    broken chunk, a write error), rb->last_saved clear;
 *  - its temporary file closed (an upstream sent its answer).
 */

static const char *
ngx_http_llm_body_lost(ngx_http_request_t *r)
{
    ngx_chain_t              *cl;
    ngx_table_elt_t          *h;
    ngx_http_request_body_t  *rb;

    rb = r->request_body;

    if (r->discard_body) {
        return "it was discarded";
    }

#if (NGX_HTTP_V2)
    if (r->stream && r->stream->skip_data && rb == NULL) {
        return "it was discarded";
    }
#endif

    if (rb == NULL) {
        h = r->headers_in.content_length;

        if (h && r->headers_in.content_length_n == 0
            && ngx_atoof(h->value.data, h->value.len) > 0)
        {
            return "it was discarded";
        }

        /* not read yet: it is read here */
        return NULL;
    }

    if (rb->post_handler == NULL) {
        return "it was discarded";
    }

    if (r->request_body_no_buffering) {
        return "it was passed on as it came (proxy_request_buffering off)";
    }

    if (!rb->last_saved
        && (r->headers_in.content_length_n > 0 || r->headers_in.chunked))
    {
        return "its reading failed";
    }

    for (cl = rb->bufs; cl; cl = cl->next) {
        if (cl->buf->in_file
            && (cl->buf->file == NULL
                || cl->buf->file->fd == NGX_INVALID_FILE))
        {
            return "its temporary file was closed";
        }
    }

    return NULL;
}


/*
 * The error for a request whose body is not there to parse: the status
 * error_page kept (no "=", or "=4xx/5xx"), else 500; its cause in the
 * error log.
 */

static ngx_int_t
ngx_http_llm_body_unavailable(ngx_http_request_t *r, ngx_http_llm_ctx_t *ctx,
    const char *why)
{
    ngx_uint_t  status;

    status = (r->err_status >= NGX_HTTP_BAD_REQUEST)
             ? (ngx_uint_t) r->err_status : NGX_HTTP_INTERNAL_SERVER_ERROR;

    ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                  "llm: no request body to read in \"%V\" after an internal "
                  "redirect: %s before; answered with %ui",
                  &r->uri, why, status);

    /* what may be left of it on the connection is not read: no keepalive */

    if (r->request_body && !r->request_body->last_saved
        && (r->headers_in.content_length_n > 0 || r->headers_in.chunked))
    {
        r->keepalive = 0;
    }

    return ngx_http_llm_fail(r, ctx, status, "request_body_unavailable", NULL,
                             "The request body is not available to the "
                             "gateway after an internal redirect.");
}


/* a refusal prepared (ctx->error): answered once, the request finalized */

static ngx_int_t
ngx_http_llm_answer_error(ngx_http_request_t *r, ngx_http_llm_ctx_t *ctx)
{
    ngx_int_t              rc;
    ngx_http_llm_error_t  *err;

    ctx->status = NGX_DECLINED;

    err = ctx->error;

    rc = ngx_http_llm_send_error(r, ctx->api, err->status, err->type,
                                 err->code, &err->param, &err->message);

    ngx_http_finalize_request(r, rc);

    return NGX_DONE;
}


/*
 * The body in one piece of memory, so that it is parsed where it lies
 * (ngx_http_llm_read_body()) instead of joined into a copy.  nginx reads
 * a body into r->header_in after the part that came with the headers when
 * the rest fits there, else the rest into a buffer of its own, apart from
 * that part.  For a body that nginx keeps in memory anyway (the rest
 * within client_body_buffer_size and a quarter, as nginx decides), part of
 * which came with the headers: that part is moved into a buffer with room
 * for the whole body, which becomes r->header_in, and nginx reads the rest
 * right after it.  Only what came with the headers is copied (at most
 * client_header_buffer_size or a large header buffer), never the rest.
 * HTTP/1.x with a Content-Length only; the buffers the headers point into
 * are left as they are.  r->header_in is given back its own buffer as soon
 * as the body is read (ngx_http_llm_body_handler()): nginx looks at it for
 * a pipelined request after it has freed the request's pool, where the
 * other buffer was allocated.  Until then the connection is not to be kept
 * (r->keepalive is cleared, and given back with the buffer): a body that
 * is not read whole ends the connection, whatever ends the request (400,
 * an error, or a 408 that nginx does not close the connection for, as
 * with post_action), and nginx never looks at the other buffer after
 * freeing it.
 */

static ngx_int_t
ngx_http_llm_body_buffer(ngx_http_request_t *r, ngx_http_llm_ctx_t *ctx)
{
    off_t                      len, rest;
    size_t                     preread, size;
    ngx_buf_t                 *b;
    ngx_http_core_loc_conf_t  *clcf;

    len = r->headers_in.content_length_n;

    if (r->http_version > NGX_HTTP_VERSION_11
        || r->headers_in.chunked
        || len <= 0
        || r->header_in == NULL
        || r->request_body
        || r->request_body_in_file_only)
    {
        return NGX_OK;
    }

#if (NGX_HTTP_V2)
    if (r->stream) {
        return NGX_OK;
    }
#endif

    preread = r->header_in->last - r->header_in->pos;

    if (preread == 0 || (off_t) preread >= len) {
        /* one buffer already: read in one, or all came with the headers */
        return NGX_OK;
    }

    rest = len - (off_t) preread;

    if (rest <= r->header_in->end - r->header_in->last) {
        /* nginx reads it into r->header_in itself */
        return NGX_OK;
    }

    clcf = ngx_http_get_module_loc_conf(r, ngx_http_core_module);

    size = clcf->client_body_buffer_size;
    size += size >> 2;

    if (rest >= (off_t) size) {
        /* to a temporary file, as nginx would */
        return NGX_OK;
    }

    b = ngx_create_temp_buf(r->pool, (size_t) len);
    if (b == NULL) {
        return NGX_ERROR;
    }

    b->last = ngx_cpymem(b->pos, r->header_in->pos, preread);

    r->header_in->pos = r->header_in->last;

    ctx->req.header_in = r->header_in;
    r->header_in = b;

    ctx->req.keepalive = r->keepalive;
    r->keepalive = 0;

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "llm: body of %O bytes read into one buffer, %uz came "
                   "with the headers", len, preread);

    return NGX_OK;
}


/*
 * r->header_in given back its own buffer, consumed, and r->keepalive its
 * value: the body is read, or its reading failed
 * (ngx_http_llm_body_buffer()).
 */

static void
ngx_http_llm_body_buffer_done(ngx_http_request_t *r, ngx_http_llm_ctx_t *ctx)
{
    if (ctx->req.header_in == NULL) {
        return;
    }

    r->header_in = ctx->req.header_in;
    r->keepalive = ctx->req.keepalive;

    ctx->req.header_in = NULL;
}


static void
ngx_http_llm_body_handler(ngx_http_request_t *r)
{
    ngx_http_llm_ctx_t  *ctx;

    ctx = ngx_http_llm_get_ctx(r);

    ngx_http_llm_body_buffer_done(r, ctx);

    ctx->body_done = 1;
    ctx->status = ngx_http_llm_process(r, ctx);

    r->write_event_handler = ngx_http_core_run_phases;
    ngx_http_core_run_phases(r);
}


/*
 * The answer is read (for usage, or it is an embedder's), so the upstream
 * must not compress it: every Accept-Encoding header of the client (a
 * provider may honour any of them) is set to "identity", once; shadow and
 * embedder subrequests share these headers.  The header filter gives the
 * client's values back before gzip sees them.
 */

ngx_int_t
ngx_http_llm_identity_encoding(ngx_http_request_t *r, ngx_http_llm_ctx_t *ctx)
{
    ngx_uint_t                    i;
    ngx_list_part_t              *part;
    ngx_table_elt_t              *h;
    ngx_http_llm_saved_header_t  *saved;

    if (ctx->accept_encoding) {
        return NGX_OK;
    }

    part = &r->headers_in.headers.part;
    h = part->elts;

    for (i = 0; /* void */; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                break;
            }

            part = part->next;
            h = part->elts;
            i = 0;
        }

        if (h[i].key.len != sizeof("Accept-Encoding") - 1
            || ngx_strncasecmp(h[i].key.data, (u_char *) "Accept-Encoding",
                               sizeof("Accept-Encoding") - 1)
               != 0)
        {
            continue;
        }

        if (ctx->accept_encoding == NULL) {
            ctx->accept_encoding = ngx_array_create(r->pool, 2,
                                           sizeof(ngx_http_llm_saved_header_t));
            if (ctx->accept_encoding == NULL) {
                return NGX_ERROR;
            }
        }

        saved = ngx_array_push(ctx->accept_encoding);
        if (saved == NULL) {
            return NGX_ERROR;
        }

        saved->header = &h[i];
        saved->value = h[i].value;

        ngx_str_set(&h[i].value, "identity");
    }

    return NGX_OK;
}


/*
 * The pipeline goes on after a step that waited (the cache's remote
 * embedder): rc is that step's result, NGX_DECLINED to go on.  Called from
 * an event handler; the request runs its phases again once posted.
 */

void
ngx_http_llm_resume(ngx_http_request_t *r, ngx_http_llm_ctx_t *ctx,
    ngx_int_t rc)
{
    if (rc == NGX_DECLINED) {
        rc = ngx_http_llm_process_rest(r, ctx);
    }

    ctx->status = rc;

    r->write_event_handler = ngx_http_core_run_phases;

    if (ngx_http_post_request(r, NULL) != NGX_OK) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
    }
}


/*
 * The request pipeline.  Returns NGX_DECLINED to let the request go on to
 * the content handler, NGX_HTTP_SPECIAL_RESPONSE when an error response in
 * the API's format has been prepared, or an HTTP status for nginx to answer.
 */

static ngx_int_t
ngx_http_llm_process(ngx_http_request_t *r, ngx_http_llm_ctx_t *ctx)
{
    size_t                     max;
    ngx_int_t                  rc;
    ngx_http_llm_loc_conf_t   *lcf;
    ngx_http_core_loc_conf_t  *clcf;
    ngx_http_llm_main_conf_t  *lmcf;

    lcf = ngx_http_get_module_loc_conf(r, ngx_http_llm_module);
    lmcf = ngx_http_get_module_main_conf(r, ngx_http_llm_module);
    clcf = ngx_http_get_module_loc_conf(r, ngx_http_core_module);

    max = (clcf->client_max_body_size > 0
           && clcf->client_max_body_size < NGX_MAX_UINT32_VALUE)
          ? (size_t) clcf->client_max_body_size : NGX_MAX_UINT32_VALUE - 1;

    rc = ngx_http_llm_read_body(r, max, &ctx->req.body);

    if (rc == NGX_DECLINED) {
        return ngx_http_llm_fail(r, ctx, NGX_HTTP_REQUEST_ENTITY_TOO_LARGE,
                                 "request_too_large", NULL,
                                 "Request body is larger than %uz bytes.",
                                 max);
    }

    if (rc != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ctx->endpoint == NGX_HTTP_LLM_EP_NONE) {
        return ngx_http_llm_process_other(r, ctx);
    }

    rc = ngx_http_llm_parse(r, ctx);
    if (rc != NGX_OK) {
        return rc;
    }

    ctx->parsed = 1;
    ctx->attempts = 1;
    ctx->requested_model = ctx->req.model;
    ctx->model = ctx->req.model;
    ctx->stream = (ctx->req.stream && lcf->stream) ? 1 : 0;

    rc = ngx_http_llm_run_hooks(r, ctx, NGX_HTTP_LLM_HOOK_ROUTE);

    if (rc == NGX_ERROR) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (rc == NGX_DECLINED) {
        ctx->entry = ngx_http_llm_find_model(lmcf, &ctx->model);

        if (ctx->entry == NULL && lmcf->models.nelts) {
            return ngx_http_llm_fail(r, ctx, NGX_HTTP_NOT_FOUND,
                                     "model_not_found", "model",
                                     "The model `%V` does not exist or you "
                                     "do not have access to it.",
                                     &ctx->model);
        }
    }

    /* checks and rewrites of the request: redaction */

    rc = ngx_http_llm_run_hooks(r, ctx, NGX_HTTP_LLM_HOOK_CHECK);
    if (rc != NGX_DECLINED) {
        return rc;
    }

    /*
     * An answer from elsewhere, the cache: after the checks (a refused
     * request is never answered from the cache), before admission (a hit
     * costs no tokens).
     */

    rc = ngx_http_llm_run_hooks(r, ctx, NGX_HTTP_LLM_HOOK_ANSWER);
    if (rc != NGX_DECLINED) {
        /* NGX_AGAIN: a remote embedder was asked, ngx_http_llm_resume() */
        return rc;
    }

    return ngx_http_llm_process_rest(r, ctx);
}


/*
 * The request body's tokens, from the pool.  One pass where it can: into an
 * array sized for what request bodies usually hold (a few tokens per 100
 * bytes of chat messages, more for tool schemas), at most
 * NGX_HTTP_LLM_PARSE_GUESS_MAX tokens; only a document with more tokens is
 * counted, then filled again into an array of exactly that many (as all
 * documents once were).  NGX_DECLINED: not JSON (json->err says why, the
 * same error either way).
 */

#define NGX_HTTP_LLM_PARSE_GUESS_MAX  2048

ngx_int_t
ngx_http_llm_parse_tokens(ngx_pool_t *pool, ngx_http_llm_json_t *json)
{
    size_t  guess;

    guess = ngx_min(json->len / 32 + 64, NGX_HTTP_LLM_PARSE_GUESS_MAX);

    json->tokens = ngx_palloc(pool, guess * sizeof(ngx_http_llm_json_token_t));
    if (json->tokens == NULL) {
        return NGX_ERROR;
    }

    json->max_tokens = guess;

    if (ngx_http_llm_json_parse(json) == NGX_HTTP_LLM_JSON_OK) {
        return NGX_OK;
    }

    if (!json->full) {
        return NGX_DECLINED;
    }

    /* more tokens than guessed: count them */

    ngx_pfree(pool, json->tokens);

    json->tokens = NULL;
    json->max_tokens = 0;

    if (ngx_http_llm_json_parse(json) != NGX_HTTP_LLM_JSON_OK) {
        return NGX_DECLINED;
    }

    json->tokens = ngx_palloc(pool,
                              json->ntokens * sizeof(ngx_http_llm_json_token_t));
    if (json->tokens == NULL) {
        return NGX_ERROR;
    }

    json->max_tokens = json->ntokens;

    if (ngx_http_llm_json_parse(json) != NGX_HTTP_LLM_JSON_OK) {
        return NGX_DECLINED;
    }

    return NGX_OK;
}


/*
 * A POST that is not a model call, wanted by an OTHER hook (request
 * redaction: every string value goes through the same walk as a model
 * call's, in the location's mode): its body is parsed as JSON.  A body that
 * is not JSON (multipart uploads among others) cannot be scanned: it is
 * refused, fail closed.  An empty body has nothing to scan (POST
 * .../cancel).
 */

static ngx_int_t
ngx_http_llm_process_other(ngx_http_request_t *r, ngx_http_llm_ctx_t *ctx)
{
    ngx_int_t             rc;
    ngx_http_llm_json_t  *json;

    if (ctx->req.body.len == 0) {
        return NGX_DECLINED;
    }

    json = &ctx->req.json;

    json->data = ctx->req.body.data;
    json->len = ctx->req.body.len;

    rc = ngx_http_llm_parse_tokens(r->pool, json);

    if (rc == NGX_ERROR) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (rc != NGX_OK) {
        goto unreadable;
    }

    ctx->req.model_tok = NGX_HTTP_LLM_NONE;

    rc = ngx_http_llm_run_hooks(r, ctx, NGX_HTTP_LLM_HOOK_OTHER);
    if (rc != NGX_DECLINED) {
        return rc;
    }

    if (ctx->edits.nelts) {
        if (ngx_http_llm_apply_edits(r, ctx) != NGX_OK) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
    }

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "llm: \"%V\" is not a model call, redacted (%ui edits)",
                   &r->uri, ctx->edits.nelts);

    return NGX_DECLINED;

unreadable:

    ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                  "llm redact: the body of \"%V\" is not JSON and cannot be "
                  "scanned, refused", &r->uri);

    return ngx_http_llm_fail(r, ctx, NGX_HTTP_UNSUPPORTED_MEDIA_TYPE,
                             "unscannable_body", NULL,
                             "The request body is not JSON, so the gateway's "
                             "redaction policy cannot scan it; the request "
                             "was refused.  File uploads must go through a "
                             "location without request redaction.");
}


/*
 * The pipeline after the ANSWER hooks: admission, usage on streams, the
 * body's edits, the FORWARD hooks.
 */

static ngx_int_t
ngx_http_llm_process_rest(ngx_http_request_t *r, ngx_http_llm_ctx_t *ctx)
{
    ngx_int_t                 rc;
    ngx_http_llm_loc_conf_t  *lcf;

    lcf = ngx_http_get_module_loc_conf(r, ngx_http_llm_module);

    rc = ngx_http_llm_run_hooks(r, ctx, NGX_HTTP_LLM_HOOK_ADMIT);
    if (rc != NGX_DECLINED) {
        return rc;
    }

    if (ctx->stream && ctx->api == NGX_HTTP_LLM_API_OPENAI
        && (ctx->endpoint == NGX_HTTP_LLM_EP_CHAT
            || ctx->endpoint == NGX_HTTP_LLM_EP_COMPLETIONS)
        && lcf->stream_usage && !ctx->req.include_usage)
    {
        /* usage on streams: asked for here, removed from the answer */

        if (ngx_http_llm_ask_usage(r, ctx) != NGX_OK) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        ctx->strip_usage = 1;
    }

    if (ngx_http_llm_identity_encoding(r, ctx) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_log_debug3(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "llm request: model \"%V\" stream:%ui messages:%ui",
                   &ctx->model, (ngx_uint_t) ctx->stream, ctx->req.nmessages);

    if (ctx->edits.nelts) {
        if (ngx_http_llm_apply_edits(r, ctx) != NGX_OK) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
    }

    /* the body is final: shadows */

    (void) ngx_http_llm_run_hooks(r, ctx, NGX_HTTP_LLM_HOOK_FORWARD);

    return NGX_DECLINED;
}


static ngx_int_t
ngx_http_llm_ask_usage(ngx_http_request_t *r, ngx_http_llm_ctx_t *ctx)
{
    ngx_str_t  key, value;

    if (ctx->req.stream_options_tok != NGX_HTTP_LLM_NONE) {
        ngx_str_set(&key, "include_usage");
        ngx_str_set(&value, "true");

        return ngx_http_llm_edit_set_member(r, ctx,
                                            ctx->req.stream_options_tok,
                                            &key, &value);
    }

    ngx_str_set(&key, "stream_options");
    ngx_str_set(&value, "{\"include_usage\":true}");

    return ngx_http_llm_edit_set_member(r, ctx, 0, &key, &value);
}


/*
 * The body as one contiguous string: zero-copy when it lies in one piece
 * of memory (one buffer, or buffers one after the other: what
 * ngx_http_llm_body_buffer() arranges), else joined once into a copy from
 * its buffers and temp file.  NGX_DECLINED: larger than max.
 */

static ngx_int_t
ngx_http_llm_read_body(ngx_http_request_t *r, size_t max, ngx_str_t *out)
{
    off_t         len;
    u_char       *p;
    ssize_t       n;
    ngx_buf_t    *b;
    ngx_chain_t  *cl;

    ngx_str_null(out);

    if (r->request_body == NULL || r->request_body->bufs == NULL) {
        return NGX_OK;
    }

    len = 0;
    for (cl = r->request_body->bufs; cl; cl = cl->next) {
        len += ngx_buf_size(cl->buf);
    }

    if (len > (off_t) max) {
        return NGX_DECLINED;
    }

    cl = r->request_body->bufs;
    b = cl->buf;

    if (!b->in_file && (cl->next == NULL || ngx_buf_size(b) == len)) {
        out->data = b->pos;
        out->len = (size_t) len;
        return NGX_OK;
    }

    /* memory buffers that follow each other: no copy either */

    for (p = b->last, cl = cl->next;
         cl && !b->in_file;
         cl = cl->next)
    {
        if (cl->buf->in_file) {
            break;
        }

        if (ngx_buf_size(cl->buf) == 0) {
            continue;
        }

        if (cl->buf->pos != p) {
            break;
        }

        p = cl->buf->last;
    }

    if (cl == NULL && !b->in_file) {
        out->data = b->pos;
        out->len = (size_t) len;
        return NGX_OK;
    }

    cl = r->request_body->bufs;

    p = ngx_pnalloc(r->pool, (size_t) len + 1);
    if (p == NULL) {
        return NGX_ERROR;
    }

    out->data = p;

    for ( /* void */ ; cl; cl = cl->next) {
        b = cl->buf;

        if (b->in_file) {
            n = ngx_read_file(b->file, p, (size_t) (b->file_last - b->file_pos),
                              b->file_pos);
            if (n == NGX_ERROR) {
                return NGX_ERROR;
            }

            if (n != b->file_last - b->file_pos) {
                ngx_log_error(NGX_LOG_ALERT, r->connection->log, 0,
                              "llm: read only %z of %O bytes of the request "
                              "body from \"%V\"", n,
                              b->file_last - b->file_pos, &b->file->name);
                return NGX_ERROR;
            }

            p += n;
            continue;
        }

        p = ngx_cpymem(p, b->pos, b->last - b->pos);
    }

    out->len = p - out->data;

    return NGX_OK;
}


static const char  *ngx_http_llm_allowance_names[] = {
    "max_completion_tokens", "max_tokens", "max_output_tokens"
};


/*
 * The members of the body that ngx_http_llm_parse() reads, found in one
 * walk over its keys (ngx_http_llm_json_object_get_ix()); the allowance
 * names in the order of ngx_http_llm_allowance_names[].
 */

enum {
    NGX_HTTP_LLM_KEY_MODEL = 0,
    NGX_HTTP_LLM_KEY_STREAM,
    NGX_HTTP_LLM_KEY_STREAM_OPTIONS,
    NGX_HTTP_LLM_KEY_ALLOWANCE,
    NGX_HTTP_LLM_KEY_N = NGX_HTTP_LLM_KEY_ALLOWANCE + 3,
    NGX_HTTP_LLM_KEY_BEST_OF,
    NGX_HTTP_LLM_KEY_TEMPERATURE,
    NGX_HTTP_LLM_KEY_TOOLS,
    NGX_HTTP_LLM_KEY_SYSTEM,
    NGX_HTTP_LLM_KEY_MESSAGES,
    NGX_HTTP_LLM_KEY_PROMPT,
    NGX_HTTP_LLM_KEY_INPUT,
    NGX_HTTP_LLM_KEYS
};

/* the index cannot hold more names: the build fails rather than the lookup */
typedef char ngx_http_llm_keys_fit_index_t
    [NGX_HTTP_LLM_KEYS <= NGX_HTTP_LLM_JSON_INDEX_MAX ? 1 : -1];


#define ngx_http_llm_name(s)  { s, sizeof(s) - 1 }

static const ngx_http_llm_json_name_t  ngx_http_llm_body_keys[] = {
    ngx_http_llm_name("model"),
    ngx_http_llm_name("stream"),
    ngx_http_llm_name("stream_options"),
    ngx_http_llm_name("max_completion_tokens"),
    ngx_http_llm_name("max_tokens"),
    ngx_http_llm_name("max_output_tokens"),
    ngx_http_llm_name("n"),
    ngx_http_llm_name("best_of"),
    ngx_http_llm_name("temperature"),
    ngx_http_llm_name("tools"),
    ngx_http_llm_name("system"),
    ngx_http_llm_name("messages"),
    ngx_http_llm_name("prompt"),
    ngx_http_llm_name("input")
};


/* the body's names by length, built at the first request of the worker */
static ngx_http_llm_json_index_t  ngx_http_llm_body_index;


static const ngx_http_llm_json_name_t  ngx_http_llm_message_keys[] = {
    ngx_http_llm_name("role"),
    ngx_http_llm_name("content"),
    ngx_http_llm_name("tool_calls")
};


/*
 * A key given twice in one object is refused, in every object of the body:
 * the gateway reads the last copy, a provider may read the first, so the
 * two would act on different requests (a redacted "messages" and the one
 * sent, a budgeted "max_tokens" and the one used).  Keys are compared
 * decoded ("model" and "\u006dodel" are one key).  Small objects are
 * compared pairwise, larger ones through a hash set with a per-process
 * random seed; should its probes ever pass 16 per key (keys made to
 * collide), the object is sorted instead: linear in practice, O(n log n)
 * at worst, whatever the keys.
 */

static uint64_t  ngx_http_llm_key_seed;


static ngx_int_t
ngx_http_llm_duplicate_keys(ngx_http_request_t *r, ngx_http_llm_ctx_t *ctx)
{
    u_char                     *p;
    size_t                      len, cut;
    uint32_t                    i, k, n, size, nkeys, nslots, *slots;
    ngx_int_t                   rc;
    ngx_http_llm_key_t         *keys, *dup, few[8];
    ngx_http_llm_json_t        *json;
    ngx_http_llm_json_token_t  *t;

    json = &ctx->req.json;
    t = json->tokens;

    /* objects of up to 8 members (most) need no allocation */

    keys = few;
    nkeys = 8;
    slots = NULL;
    nslots = 0;

    dup = NULL;

    for (i = 0; i < json->ntokens && dup == NULL; i++) {

        if (t[i].type != NGX_HTTP_LLM_JSON_OBJECT || t[i].size < 2) {
            continue;
        }

        size = t[i].size;

        if (size > nkeys) {
            keys = ngx_palloc(r->pool, size * sizeof(ngx_http_llm_key_t));
            if (keys == NULL) {
                return NGX_HTTP_INTERNAL_SERVER_ERROR;
            }

            nkeys = size;
        }

        if (size > 8) {
            for (k = 16; k < 2 * size; k <<= 1) { /* void */ }

            if (k > nslots) {
                slots = ngx_palloc(r->pool, k * sizeof(uint32_t));
                if (slots == NULL) {
                    return NGX_HTTP_INTERNAL_SERVER_ERROR;
                }

                nslots = k;
            }
        }

        n = 0;

        for (k = i + 1; k != NGX_HTTP_LLM_NONE; k = t[k].next) {
            len = t[k].end - t[k].start - 2;
            keys[n].data = (u_char *) json->data + t[k].start + 1;

            if (t[k].escaped) {
                p = ngx_pnalloc(r->pool, len + 1);
                if (p == NULL) {
                    return NGX_HTTP_INTERNAL_SERVER_ERROR;
                }

                len = ngx_http_llm_json_decode_string(keys[n].data, len, p);
                keys[n].data = p;
            }

            keys[n].len = len;
            n++;
        }

        dup = (n <= 8) ? ngx_http_llm_duplicate_few(keys, n)
                       : ngx_http_llm_duplicate_many(keys, n, slots);
    }

    if (dup == NULL) {
        return NGX_OK;
    }

    /* the key in the message, cut short on a character boundary */

    cut = dup->len;

    if (cut > 64) {
        cut = 64;

        while (cut && (dup->data[cut] & 0xc0) == 0x80) {
            cut--;
        }
    }

    rc = ngx_http_llm_fail(r, ctx, NGX_HTTP_BAD_REQUEST, NULL, NULL,
                           "Duplicate key \"%*s%s\" in the JSON body: a key "
                           "may appear only once in an object.",
                           cut, dup->data, cut < dup->len ? "..." : "");

    if (ctx->error) {
        ctx->error->param.data = dup->data;
        ctx->error->param.len = cut;
    }

    return rc;
}


static ngx_http_llm_key_t *
ngx_http_llm_duplicate_few(ngx_http_llm_key_t *keys, uint32_t n)
{
    uint32_t  a, b;

    for (a = 0; a < n; a++) {
        for (b = a + 1; b < n; b++) {
            if (keys[a].len == keys[b].len
                && ngx_memcmp(keys[a].data, keys[b].data, keys[a].len) == 0)
            {
                return &keys[b];
            }
        }
    }

    return NULL;
}


static ngx_http_llm_key_t *
ngx_http_llm_duplicate_many(ngx_http_llm_key_t *keys, uint32_t n,
    uint32_t *slots)
{
    u_char      *p, *last;
    uint32_t     a, b, j, mask;
    uint64_t     h;
    ngx_uint_t   probes;

    if (ngx_http_llm_key_seed == 0) {
        /* random() is seeded per worker by nginx */
        ngx_http_llm_key_seed = (((uint64_t) ngx_random() << 32)
                                 ^ (uint64_t) ngx_random()) | 1;
    }

    for (mask = 16; mask < 2 * n; mask <<= 1) { /* void */ }

    ngx_memzero(slots, mask * sizeof(uint32_t));

    mask--;
    probes = 0;

    for (a = 0; a < n; a++) {

        /* FNV-1a from a random basis, then mixed */

        h = ngx_http_llm_key_seed;
        last = keys[a].data + keys[a].len;

        for (p = keys[a].data; p < last; p++) {
            h = (h ^ *p) * 0x100000001b3ULL;
        }

        h ^= h >> 29;
        h *= 0xbf58476d1ce4e5b9ULL;
        h ^= h >> 32;

        keys[a].hash = h;

        for (j = (uint32_t) h & mask; slots[j]; j = (j + 1) & mask) {
            b = slots[j] - 1;

            if (keys[b].hash == h && keys[b].len == keys[a].len
                && ngx_memcmp(keys[b].data, keys[a].data, keys[a].len) == 0)
            {
                return &keys[a];
            }

            if (++probes > 16 * (ngx_uint_t) n) {
                goto sort;
            }
        }

        slots[j] = a + 1;
    }

    return NULL;

sort:

    ngx_qsort(keys, n, sizeof(ngx_http_llm_key_t), ngx_http_llm_key_cmp);

    for (a = 1; a < n; a++) {
        if (ngx_http_llm_key_cmp(&keys[a - 1], &keys[a]) == 0) {
            return &keys[a];
        }
    }

    return NULL;
}


static int ngx_libc_cdecl
ngx_http_llm_key_cmp(const void *one, const void *two)
{
    int                        rc;
    const ngx_http_llm_key_t  *a = one;
    const ngx_http_llm_key_t  *b = two;

    rc = ngx_memcmp(a->data, b->data, ngx_min(a->len, b->len));

    if (rc != 0) {
        return rc;
    }

    return (a->len < b->len) ? -1 : (a->len > b->len);
}


static ngx_int_t
ngx_http_llm_parse(ngx_http_request_t *r, ngx_http_llm_ctx_t *ctx)
{
    int64_t                     n;
    uint32_t                    t, v, key[NGX_HTTP_LLM_KEYS];
    ngx_uint_t                  i;
    ngx_int_t                   rc;
    ngx_str_t                   system = ngx_string("system");
    const char                 *name;
    ngx_http_llm_json_t        *json;
    ngx_http_llm_request_t     *req;
    ngx_http_llm_json_token_t  *tok;

    req = &ctx->req;
    json = &req->json;

    json->data = req->body.data;
    json->len = req->body.len;

    rc = ngx_http_llm_parse_tokens(r->pool, json);

    if (rc == NGX_ERROR) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (rc != NGX_OK) {
        goto invalid;
    }

    if (json->tokens[0].type != NGX_HTTP_LLM_JSON_OBJECT) {
        return ngx_http_llm_fail(r, ctx, NGX_HTTP_BAD_REQUEST, NULL, NULL,
                                 "The request body must be a JSON object.");
    }

    rc = ngx_http_llm_duplicate_keys(r, ctx);
    if (rc != NGX_OK) {
        return rc;
    }

    if (ctx->api == NGX_HTTP_LLM_API_GEMINI) {
        /* the model is in the path, the rest is Google's own */
        return ngx_http_llm_parse_gemini(r, ctx);
    }

    if (ngx_http_llm_body_index.names == NULL) {
        (void) ngx_http_llm_json_index_init(&ngx_http_llm_body_index,
                                            ngx_http_llm_body_keys,
                                            NGX_HTTP_LLM_KEYS);
    }

    ngx_http_llm_json_object_get_ix(json, 0, &ngx_http_llm_body_index, key);

    /* model */

    t = key[NGX_HTTP_LLM_KEY_MODEL];

    if (t == NGX_HTTP_LLM_NONE) {
        return ngx_http_llm_fail(r, ctx, NGX_HTTP_BAD_REQUEST, NULL, "model",
                                 "you must provide a model parameter");
    }

    if (json->tokens[t].type != NGX_HTTP_LLM_JSON_STRING) {
        return ngx_http_llm_fail(r, ctx, NGX_HTTP_BAD_REQUEST, NULL, "model",
                                 "model: expected a string");
    }

    if (ngx_http_llm_decode(r, json, t, &req->model) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (req->model.len == 0) {
        return ngx_http_llm_fail(r, ctx, NGX_HTTP_BAD_REQUEST, NULL, "model",
                                 "model: must not be empty");
    }

    req->model_tok = t;

    /* stream, stream_options */

    t = key[NGX_HTTP_LLM_KEY_STREAM];

    if (t != NGX_HTTP_LLM_NONE) {
        tok = ngx_http_llm_tok(ctx, t);

        if (tok->type == NGX_HTTP_LLM_JSON_TRUE) {
            req->stream = 1;

        } else if (tok->type != NGX_HTTP_LLM_JSON_FALSE
                   && tok->type != NGX_HTTP_LLM_JSON_NULL)
        {
            return ngx_http_llm_fail(r, ctx, NGX_HTTP_BAD_REQUEST, NULL,
                                     "stream", "stream: expected a boolean");
        }
    }

    t = key[NGX_HTTP_LLM_KEY_STREAM_OPTIONS];

    if (t != NGX_HTTP_LLM_NONE
        && json->tokens[t].type != NGX_HTTP_LLM_JSON_NULL)
    {
        if (json->tokens[t].type != NGX_HTTP_LLM_JSON_OBJECT) {
            return ngx_http_llm_fail(r, ctx, NGX_HTTP_BAD_REQUEST, NULL,
                                     "stream_options",
                                     "stream_options: expected an object");
        }

        req->stream_options_tok = t;

        v = ngx_http_llm_json_object_get(json, t, "include_usage", 13);

        if (v != NGX_HTTP_LLM_NONE) {
            tok = ngx_http_llm_tok(ctx, v);

            if (tok->type == NGX_HTTP_LLM_JSON_TRUE) {
                req->include_usage = 1;

            } else if (tok->type != NGX_HTTP_LLM_JSON_FALSE) {
                return ngx_http_llm_fail(r, ctx, NGX_HTTP_BAD_REQUEST, NULL,
                                         "stream_options.include_usage",
                                         "stream_options.include_usage: "
                                         "expected a boolean");
            }
        }
    }

    /*
     * completion allowance: the newer name wins; "max_output_tokens" is
     * the Responses API's
     */

    for (i = 0; i < sizeof(ngx_http_llm_allowance_names)
                    / sizeof(ngx_http_llm_allowance_names[0]); i++)
    {
        name = ngx_http_llm_allowance_names[i];
        t = key[NGX_HTTP_LLM_KEY_ALLOWANCE + i];

        if (t != NGX_HTTP_LLM_NONE
            && json->tokens[t].type != NGX_HTTP_LLM_JSON_NULL)
        {
            break;
        }
    }

    if (t != NGX_HTTP_LLM_NONE
        && json->tokens[t].type != NGX_HTTP_LLM_JSON_NULL)
    {
        if (ngx_http_llm_json_get_int(json, t, &n) != NGX_HTTP_LLM_JSON_OK
            || n < 0)
        {
            return ngx_http_llm_fail(r, ctx, NGX_HTTP_BAD_REQUEST, NULL,
                                     name, "%s: expected a non-negative "
                                     "integer", name);
        }

        req->max_tokens = n;
    }

    /*
     * "n" answers, and the "best_of" candidates of legacy completions
     * (OpenAI; Anthropic has neither): each may use the whole allowance,
     * so the budgets reserve the larger times it.  Only JSON integers: a
     * lenient provider may read "128" or 128.0 as 128.
     */

    for (i = 0; ctx->api == NGX_HTTP_LLM_API_OPENAI && i < 2; i++) {
        name = i ? "best_of" : "n";
        t = key[NGX_HTTP_LLM_KEY_N + i];

        if (t == NGX_HTTP_LLM_NONE
            || json->tokens[t].type == NGX_HTTP_LLM_JSON_NULL)
        {
            continue;
        }

        if (ngx_http_llm_json_get_int(json, t, &n) != NGX_HTTP_LLM_JSON_OK
            || n < 1)
        {
            return ngx_http_llm_fail(r, ctx, NGX_HTTP_BAD_REQUEST, NULL,
                                     name, "%s: expected a positive integer",
                                     name);
        }

        req->choices = ngx_max(req->choices, n);
    }

    t = key[NGX_HTTP_LLM_KEY_TEMPERATURE];

    if (t != NGX_HTTP_LLM_NONE
        && json->tokens[t].type != NGX_HTTP_LLM_JSON_NULL)
    {
        if (json->tokens[t].type != NGX_HTTP_LLM_JSON_NUMBER
            || ngx_http_llm_json_get_double(json, t, &req->temperature)
               != NGX_HTTP_LLM_JSON_OK
            || req->temperature < 0)
        {
            return ngx_http_llm_fail(r, ctx, NGX_HTTP_BAD_REQUEST, NULL,
                                     "temperature", "temperature: expected "
                                     "a non-negative number");
        }
    }

    t = key[NGX_HTTP_LLM_KEY_TOOLS];

    if (t != NGX_HTTP_LLM_NONE
        && json->tokens[t].type != NGX_HTTP_LLM_JSON_NULL)
    {
        if (json->tokens[t].type != NGX_HTTP_LLM_JSON_ARRAY) {
            return ngx_http_llm_fail(r, ctx, NGX_HTTP_BAD_REQUEST, NULL,
                                     "tools", "tools: expected an array");
        }

        req->tools_tok = t;
        req->has_tools = (json->tokens[t].size > 0);
    }

    /* prompt text */

    if (ngx_array_init(&req->texts, r->pool, 8, sizeof(ngx_http_llm_text_t))
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ctx->endpoint == NGX_HTTP_LLM_EP_RESPONSES) {
        return ngx_http_llm_parse_responses(r, ctx);
    }

    if (ctx->endpoint == NGX_HTTP_LLM_EP_EMBEDDINGS) {
        /* an embedding has no completion: nothing to allow for */
        req->max_tokens = 0;
    }

    if (ctx->api == NGX_HTTP_LLM_API_ANTHROPIC) {
        t = key[NGX_HTTP_LLM_KEY_SYSTEM];

        if (t != NGX_HTTP_LLM_NONE
            && json->tokens[t].type != NGX_HTTP_LLM_JSON_NULL)
        {
            if (json->tokens[t].type != NGX_HTTP_LLM_JSON_STRING
                && json->tokens[t].type != NGX_HTTP_LLM_JSON_ARRAY)
            {
                return ngx_http_llm_fail(r, ctx, NGX_HTTP_BAD_REQUEST, NULL,
                                         "system", "system: expected a "
                                         "string or an array of blocks");
            }

            rc = ngx_http_llm_parse_content(r, ctx, t, -1, &system);
            if (rc != NGX_OK) {
                return rc;
            }
        }
    }

    t = key[NGX_HTTP_LLM_KEY_MESSAGES];

    if (t != NGX_HTTP_LLM_NONE) {
        return ngx_http_llm_parse_messages(r, ctx, t);
    }

    /* completions ("prompt"), embeddings and responses ("input") */

    t = key[NGX_HTTP_LLM_KEY_PROMPT];
    if (t == NGX_HTTP_LLM_NONE) {
        t = key[NGX_HTTP_LLM_KEY_INPUT];
    }

    if (t != NGX_HTTP_LLM_NONE) {
        return ngx_http_llm_parse_inputs(r, ctx, t);
    }

    if (r->uri.len >= 9
        && ngx_strncmp(r->uri.data + r->uri.len - 9, "/messages", 9) == 0)
    {
        return ngx_http_llm_fail(r, ctx, NGX_HTTP_BAD_REQUEST, NULL,
                                 "messages", "messages: field required");
    }

    if (r->uri.len >= 17
        && ngx_strncmp(r->uri.data + r->uri.len - 17, "/chat/completions",
                       17) == 0)
    {
        return ngx_http_llm_fail(r, ctx, NGX_HTTP_BAD_REQUEST, NULL,
                                 "messages", "you must provide a messages "
                                 "parameter");
    }

    return NGX_OK;

invalid:

    return ngx_http_llm_fail(r, ctx, NGX_HTTP_BAD_REQUEST, NULL, NULL,
                             "We could not parse the JSON body of your "
                             "request: %s at offset %uz.",
                             json->err, json->err_offset);
}


static ngx_int_t
ngx_http_llm_parse_messages(ngx_http_request_t *r, ngx_http_llm_ctx_t *ctx,
    uint32_t messages)
{
    uint32_t                    m, t, c, f, a, key[3];
    ngx_int_t                   i, rc;
    ngx_str_t                   role;
    ngx_http_llm_json_t        *json;
    ngx_http_llm_json_token_t  *tok;

    json = &ctx->req.json;

    if (json->tokens[messages].type != NGX_HTTP_LLM_JSON_ARRAY) {
        return ngx_http_llm_fail(r, ctx, NGX_HTTP_BAD_REQUEST, NULL,
                                 "messages", "messages: expected an array");
    }

    ctx->req.messages_tok = messages;

    i = 0;

    for (m = ngx_http_llm_json_first(json, messages);
         m != NGX_HTTP_LLM_NONE;
         m = json->tokens[m].next, i++)
    {
        if (json->tokens[m].type != NGX_HTTP_LLM_JSON_OBJECT) {
            return ngx_http_llm_fail(r, ctx, NGX_HTTP_BAD_REQUEST, NULL,
                                     "messages", "messages[%i]: expected an "
                                     "object", i);
        }

        ngx_str_null(&role);

        ngx_http_llm_json_object_get_n(json, m, ngx_http_llm_message_keys, 3,
                                       key);

        t = key[0];

        if (t != NGX_HTTP_LLM_NONE) {
            if (json->tokens[t].type != NGX_HTTP_LLM_JSON_STRING) {
                return ngx_http_llm_fail(r, ctx, NGX_HTTP_BAD_REQUEST, NULL,
                                         "messages", "messages[%i].role: "
                                         "expected a string", i);
            }

            if (ngx_http_llm_decode(r, json, t, &role) != NGX_OK) {
                return NGX_HTTP_INTERNAL_SERVER_ERROR;
            }
        }

        t = key[1];

        if (t != NGX_HTTP_LLM_NONE) {
            tok = &json->tokens[t];

            if (tok->type != NGX_HTTP_LLM_JSON_STRING
                && tok->type != NGX_HTTP_LLM_JSON_ARRAY
                && tok->type != NGX_HTTP_LLM_JSON_NULL)
            {
                return ngx_http_llm_fail(r, ctx, NGX_HTTP_BAD_REQUEST, NULL,
                                         "messages", "messages[%i].content: "
                                         "expected a string or an array", i);
            }

            rc = ngx_http_llm_parse_content(r, ctx, t, i, &role);
            if (rc != NGX_OK) {
                return rc;
            }
        }

        /* assistant tool calls: their arguments are prompt text too */

        t = key[2];

        if (t != NGX_HTTP_LLM_NONE
            && json->tokens[t].type == NGX_HTTP_LLM_JSON_ARRAY)
        {
            for (c = ngx_http_llm_json_first(json, t);
                 c != NGX_HTTP_LLM_NONE;
                 c = json->tokens[c].next)
            {
                f = ngx_http_llm_json_object_get(json, c, "function", 8);
                a = ngx_http_llm_json_object_get(json, f, "arguments", 9);

                if (a != NGX_HTTP_LLM_NONE
                    && json->tokens[a].type == NGX_HTTP_LLM_JSON_STRING)
                {
                    rc = ngx_http_llm_add_text(r, ctx, a, i, &role);
                    if (rc != NGX_OK) {
                        return rc;
                    }
                }
            }
        }
    }

    ctx->req.nmessages = i;

    return NGX_OK;
}


/*
 * A content value: a string, or an array of parts / blocks whose "text"
 * (OpenAI text parts, Anthropic text blocks) or nested "content" (Anthropic
 * tool_result blocks) carry text.  Other parts (images, audio) are skipped.
 */

static ngx_int_t
ngx_http_llm_parse_content(ngx_http_request_t *r, ngx_http_llm_ctx_t *ctx,
    uint32_t content, ngx_int_t message, ngx_str_t *role)
{
    uint32_t              p, t;
    ngx_int_t             rc;
    ngx_http_llm_json_t  *json;

    json = &ctx->req.json;

    switch (json->tokens[content].type) {

    case NGX_HTTP_LLM_JSON_STRING:
        return ngx_http_llm_add_text(r, ctx, content, message, role);

    case NGX_HTTP_LLM_JSON_ARRAY:
        break;

    default:
        return NGX_OK;
    }

    for (p = ngx_http_llm_json_first(json, content);
         p != NGX_HTTP_LLM_NONE;
         p = json->tokens[p].next)
    {
        if (json->tokens[p].type == NGX_HTTP_LLM_JSON_STRING) {
            rc = ngx_http_llm_add_text(r, ctx, p, message, role);
            if (rc != NGX_OK) {
                return rc;
            }

            continue;
        }

        if (json->tokens[p].type != NGX_HTTP_LLM_JSON_OBJECT) {
            return ngx_http_llm_fail(r, ctx, NGX_HTTP_BAD_REQUEST, NULL,
                                     "messages", "content parts must be "
                                     "strings or objects");
        }

        t = ngx_http_llm_json_object_get(json, p, "text", 4);

        if (t != NGX_HTTP_LLM_NONE) {
            if (json->tokens[t].type != NGX_HTTP_LLM_JSON_STRING) {
                return ngx_http_llm_fail(r, ctx, NGX_HTTP_BAD_REQUEST, NULL,
                                         "messages", "content part text: "
                                         "expected a string");
            }

            rc = ngx_http_llm_add_text(r, ctx, t, message, role);
            if (rc != NGX_OK) {
                return rc;
            }
        }

        t = ngx_http_llm_json_object_get(json, p, "content", 7);

        if (t != NGX_HTTP_LLM_NONE) {
            rc = ngx_http_llm_parse_content(r, ctx, t, message, role);
            if (rc != NGX_OK) {
                return rc;
            }
        }
    }

    return NGX_OK;
}


/* "prompt" / "input": a string or an array of strings (or of messages) */

static ngx_int_t
ngx_http_llm_parse_inputs(ngx_http_request_t *r, ngx_http_llm_ctx_t *ctx,
    uint32_t tok)
{
    uint32_t              i, n;
    ngx_int_t             rc;
    ngx_str_t             role;
    ngx_uint_t            ids;
    ngx_http_llm_json_t  *json;

    json = &ctx->req.json;
    ngx_str_set(&role, "user");
    ids = 0;

    if (json->tokens[tok].type == NGX_HTTP_LLM_JSON_STRING) {
        ctx->req.nmessages = 1;
        return ngx_http_llm_add_text(r, ctx, tok, 0, &role);
    }

    if (json->tokens[tok].type != NGX_HTTP_LLM_JSON_ARRAY) {
        return NGX_OK;
    }

    for (i = ngx_http_llm_json_first(json, tok);
         i != NGX_HTTP_LLM_NONE;
         i = json->tokens[i].next)
    {
        if (json->tokens[i].type == NGX_HTTP_LLM_JSON_STRING) {
            rc = ngx_http_llm_add_text(r, ctx, i, ctx->req.nmessages, &role);
            if (rc != NGX_OK) {
                return rc;
            }

            ctx->req.nmessages++;

        } else if (json->tokens[i].type == NGX_HTTP_LLM_JSON_OBJECT) {
            /* Responses API input items look like messages */
            return ngx_http_llm_parse_messages(r, ctx, tok);

        } else if (json->tokens[i].type == NGX_HTTP_LLM_JSON_NUMBER) {

            /* token IDs: [1000, 2000] is one input, each ID a token */

            if (!ids) {
                ids = 1;
                ctx->req.nmessages++;
            }

            ctx->req.token_ids++;

        } else if (json->tokens[i].type == NGX_HTTP_LLM_JSON_ARRAY) {

            /* [[1000, 2000], [3000]]: inputs of token IDs */

            ctx->req.nmessages++;

            for (n = ngx_http_llm_json_first(json, i);
                 n != NGX_HTTP_LLM_NONE;
                 n = json->tokens[n].next)
            {
                if (json->tokens[n].type == NGX_HTTP_LLM_JSON_NUMBER) {
                    ctx->req.token_ids++;
                }
            }
        }
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_llm_add_text(ngx_http_request_t *r, ngx_http_llm_ctx_t *ctx,
    uint32_t tok, ngx_int_t message, ngx_str_t *role)
{
    ngx_http_llm_text_t  *t;

    t = ngx_array_push(&ctx->req.texts);
    if (t == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    t->tok = tok;
    t->message = message;
    t->role = *role;

    /*
     * The text points into the body when the string has no escapes;
     * otherwise it is decoded when something reads it (the estimate of
     * the prompt's tokens, often never): t->text.data stays NULL until then.
     */

    if (ctx->req.json.tokens[tok].escaped) {
        t->text.data = NULL;
        t->text.len = 0;
        return NGX_OK;
    }

    ngx_http_llm_json_raw_string(&ctx->req.json, tok,
                                 (const u_char **) &t->text.data,
                                 &t->text.len);

    return NGX_OK;
}


/*
 * The decoded text of a piece of prompt text, decoded once on the first
 * call.  NGX_ERROR: no memory.
 */

ngx_int_t
ngx_http_llm_text(ngx_http_llm_ctx_t *ctx, ngx_http_llm_text_t *t,
    ngx_str_t *text)
{
    if (t->text.data == NULL
        && ngx_http_llm_decode(ctx->request, &ctx->req.json, t->tok, &t->text)
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    *text = t->text;

    return NGX_OK;
}


/*
 * Every prompt text not decoded yet, decoded into one buffer of the pool
 * (one allocation, not one a text): for the readers of them all, the cache
 * key and the token estimate.  NGX_ERROR: no memory.
 */

ngx_int_t
ngx_http_llm_texts_decode(ngx_http_llm_ctx_t *ctx)
{
    u_char               *p;
    size_t                size, len;
    ngx_uint_t            i, n;
    const u_char         *raw;
    ngx_http_llm_text_t  *t;

    t = ctx->req.texts.elts;
    size = 0;

    for (i = 0; i < ctx->req.texts.nelts; i++) {
        if (t[i].text.data == NULL) {
            ngx_http_llm_json_raw_string(&ctx->req.json, t[i].tok, &raw, &len);
            size += len;
        }
    }

    if (size == 0) {
        return NGX_OK;
    }

    /* a decoded string is never longer than the raw one */

    p = ngx_pnalloc(ctx->request->pool, size);
    if (p == NULL) {
        return NGX_ERROR;
    }

    n = 0;

    for (i = 0; i < ctx->req.texts.nelts; i++) {
        if (t[i].text.data == NULL) {
            ngx_http_llm_json_raw_string(&ctx->req.json, t[i].tok, &raw, &len);
            t[i].text.data = p;
            t[i].text.len = ngx_http_llm_json_decode_string(raw, len, p);
            p += t[i].text.len;
            n++;
        }
    }

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, ctx->request->connection->log, 0,
                   "llm: %ui prompt texts decoded, %uz bytes", n, size);

    return NGX_OK;
}


/*
 * The prompt text of STRING token tok, or NULL.  The walks of the body
 * (redaction's, the cache key's) meet the texts in about the order the
 * parser collected them: *next is where the last walk's match ended, and
 * only a few are looked at from there (a text not found is decoded again
 * by whoever needs it, never wrong).  Each text is decoded once, by the
 * first reader of the three (redaction, the cache key, the token estimate):
 * the readers that decode a string themselves keep the result in the text
 * found here.
 */

ngx_http_llm_text_t *
ngx_http_llm_text_find(ngx_http_llm_text_t *texts, ngx_uint_t ntexts,
    ngx_uint_t *next, uint32_t tok)
{
    ngx_uint_t  i, last;

    last = ngx_min(*next + 4, ntexts);

    for (i = *next; i < last; i++) {
        if (texts[i].tok == tok) {
            *next = i + 1;
            return &texts[i];
        }
    }

    return NULL;
}


static ngx_int_t
ngx_http_llm_decode(ngx_http_request_t *r, ngx_http_llm_json_t *json,
    uint32_t tok, ngx_str_t *out)
{
    size_t         len;
    const u_char  *raw;

    ngx_http_llm_json_raw_string(json, tok, &raw, &len);

    if (!json->tokens[tok].escaped) {
        out->data = (u_char *) raw;
        out->len = len;
        return NGX_OK;
    }

    out->data = ngx_pnalloc(r->pool, len);
    if (out->data == NULL) {
        return NGX_ERROR;
    }

    out->len = ngx_http_llm_json_decode_string(raw, len, out->data);

    return NGX_OK;
}


/*
 * The prompt's tokens: the provider's figure once it reported usage, else
 * an estimate, made once and only when something asks for it (budgets,
 * variables, cost): most answers report usage and need none.
 */

size_t
ngx_http_llm_prompt_tokens(ngx_http_llm_ctx_t *ctx)
{
    size_t                      n;
    ngx_str_t                   text;
    ngx_uint_t                  i;
    ngx_http_llm_text_t        *t;
    ngx_http_llm_json_token_t  *tools;

    if (ctx->prompt_reported || ctx->prompt_estimated) {
        return ctx->prompt_tokens;
    }

    ctx->prompt_estimated = 1;

    if (ctx->primary) {
        /* a shadow: the prompt is the primary's */
        ctx->prompt_tokens = ngx_http_llm_prompt_tokens(ctx->primary);
        return ctx->prompt_tokens;
    }

    n = NGX_HTTP_LLM_REPLY_TOKENS
        + ctx->req.nmessages * NGX_HTTP_LLM_MESSAGE_TOKENS;

    /* no memory: each is decoded alone below, or read raw */
    (void) ngx_http_llm_texts_decode(ctx);

    t = ctx->req.texts.elts;

    for (i = 0; i < ctx->req.texts.nelts; i++) {
        if (ngx_http_llm_text(ctx, &t[i], &text) != NGX_OK) {
            /* no memory to decode it: the raw string is close enough */
            ngx_http_llm_json_raw_string(&ctx->req.json, t[i].tok,
                                         (const u_char **) &text.data,
                                         &text.len);
        }

        n += ngx_http_llm_count_tokens(ctx, text.data, text.len);
    }

    /* inputs given as token IDs: one token each, exactly */

    n += ctx->req.token_ids;

    if (ctx->req.tools_tok != NGX_HTTP_LLM_NONE) {
        tools = ngx_http_llm_tok(ctx, ctx->req.tools_tok);
        n += ngx_http_llm_count_tokens(ctx, ctx->req.body.data + tools->start,
                                       tools->end - tools->start);
    }

    ctx->req.prompt_estimate = n;
    ctx->prompt_tokens = n;

    return n;
}


/*
 * Prepare an error answer in the API's format; the access handler sends it.
 * Returns NGX_HTTP_SPECIAL_RESPONSE, the marker of a prepared answer.
 */

ngx_int_t
ngx_http_llm_fail(ngx_http_request_t *r, ngx_http_llm_ctx_t *ctx,
    ngx_uint_t status, const char *code, const char *param,
    const char *fmt, ...)
{
    u_char                *p;
    va_list                args;
    ngx_http_llm_error_t  *err;

    err = ngx_pcalloc(r->pool, sizeof(ngx_http_llm_error_t));
    p = ngx_pnalloc(r->pool, NGX_MAX_ERROR_STR);

    if (err == NULL || p == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    va_start(args, fmt);
    err->message.data = p;
    err->message.len = ngx_vslprintf(p, p + NGX_MAX_ERROR_STR, fmt, args) - p;
    va_end(args);

    err->status = status;
    err->type = (status >= NGX_HTTP_INTERNAL_SERVER_ERROR) ? "server_error"
                                                         : "invalid_request_error";
    err->code = code;

    if (param) {
        err->param.data = (u_char *) param;
        err->param.len = ngx_strlen(param);
    }

    ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                  "llm: request refused with %ui: %V", status, &err->message);

    ctx->error = err;

    return NGX_HTTP_SPECIAL_RESPONSE;
}


static const char *
ngx_http_llm_anthropic_type(ngx_uint_t status)
{
    switch (status) {
    case NGX_HTTP_UNAUTHORIZED:
        return "authentication_error";
    case NGX_HTTP_FORBIDDEN:
        return "permission_error";
    case NGX_HTTP_NOT_FOUND:
        return "not_found_error";
    case NGX_HTTP_REQUEST_ENTITY_TOO_LARGE:
        return "request_too_large";
    case NGX_HTTP_TOO_MANY_REQUESTS:
        return "rate_limit_error";
    default:
        return (status >= NGX_HTTP_INTERNAL_SERVER_ERROR)
               ? "api_error" : "invalid_request_error";
    }
}


/*
 * Send an error in the API's own format (type: the OpenAI error type; the
 * Anthropic one follows from the status):
 *   OpenAI:    {"error":{"message":..,"type":..,"param":..,"code":..}}
 *   Anthropic: {"type":"error","error":{"type":..,"message":..}}
 */

ngx_int_t
ngx_http_llm_send_error(ngx_http_request_t *r, ngx_uint_t api,
    ngx_uint_t status, const char *type, const char *code, ngx_str_t *param,
    ngx_str_t *message)
{
    size_t        len;
    u_char       *p;
    ngx_int_t     rc;
    ngx_buf_t    *b;
    ngx_chain_t   out;

    if (api == NGX_HTTP_LLM_API_GEMINI) {
        return ngx_http_llm_send_gemini_error(r, status, message);
    }

    len = sizeof("{\"type\":\"error\",\"error\":{\"type\":\"\",\"message\":\"\""
                 ",\"param\":\"\",\"code\":\"\"}}") - 1
          + ngx_strlen(type) + (code ? ngx_strlen(code) : 4)
          + ngx_http_llm_json_encoded_len(message->data, message->len)
          + ngx_http_llm_json_encoded_len(param->data, param->len) + 4
          + sizeof(CRLF) - 1;

    b = ngx_create_temp_buf(r->pool, len);
    if (b == NULL) {
        return NGX_ERROR;
    }

    p = b->last;

    if (api == NGX_HTTP_LLM_API_ANTHROPIC) {
        p = ngx_sprintf(p, "{\"type\":\"error\",\"error\":{\"type\":\"%s\","
                        "\"message\":\"",
                        ngx_strcmp(type, "tokens") == 0
                        ? "rate_limit_error"
                        : ngx_http_llm_anthropic_type(status));
        p = ngx_http_llm_json_encode_string(p, message->data, message->len);
        p = ngx_cpymem(p, "\"}}", 3);

    } else {
        p = ngx_cpymem(p, "{\"error\":{\"message\":\"", 21);
        p = ngx_http_llm_json_encode_string(p, message->data, message->len);
        p = ngx_sprintf(p, "\",\"type\":\"%s\",\"param\":", type);

        if (param->len) {
            *p++ = '"';
            p = ngx_http_llm_json_encode_string(p, param->data, param->len);
            *p++ = '"';

        } else {
            p = ngx_cpymem(p, "null", 4);
        }

        if (code) {
            p = ngx_sprintf(p, ",\"code\":\"%s\"}}", code);

        } else {
            p = ngx_cpymem(p, ",\"code\":null}}", 14);
        }
    }

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


/*
 * The Responses API (/responses): "instructions", "input" as a string or
 * a list of items (messages with text parts, function calls and their
 * outputs, reasoning summaries), "max_output_tokens".  A request that
 * continues a stored response ("previous_response_id", "conversation")
 * carries context the gateway cannot see: the prompt estimate misses it,
 * the provider's usage is the figure that counts.
 */

static ngx_int_t
ngx_http_llm_parse_responses(ngx_http_request_t *r, ngx_http_llm_ctx_t *ctx)
{
    int64_t                     n;
    uint32_t                    t, i, v;
    ngx_int_t                   rc, k;
    ngx_str_t                   role;
    ngx_str_t                   system = ngx_string("system");
    ngx_str_t                   user = ngx_string("user");
    ngx_http_llm_json_t        *json;
    ngx_http_llm_request_t     *req;

    static const char  *texts[] = { "arguments", "output", "input", NULL };
    static const char  *parts[] = { "content", "summary", NULL };

    req = &ctx->req;
    json = &req->json;

    t = ngx_http_llm_json_object_get(json, 0, "max_output_tokens", 17);

    if (t != NGX_HTTP_LLM_NONE
        && json->tokens[t].type != NGX_HTTP_LLM_JSON_NULL)
    {
        if (ngx_http_llm_json_get_int(json, t, &n) != NGX_HTTP_LLM_JSON_OK
            || n < 0)
        {
            return ngx_http_llm_fail(r, ctx, NGX_HTTP_BAD_REQUEST, NULL,
                                     "max_output_tokens", "max_output_tokens: "
                                     "expected a non-negative integer");
        }

        req->max_tokens = n;
    }

    t = ngx_http_llm_json_object_get(json, 0, "previous_response_id", 20);
    v = ngx_http_llm_json_object_get(json, 0, "conversation", 12);

    if ((t != NGX_HTTP_LLM_NONE
         && json->tokens[t].type == NGX_HTTP_LLM_JSON_STRING)
        || (v != NGX_HTTP_LLM_NONE
            && json->tokens[v].type != NGX_HTTP_LLM_JSON_NULL))
    {
        ctx->unknown_context = 1;

        ngx_log_debug0(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                       "llm responses: the request continues a stored "
                       "response, its context is not in the body");
    }

    t = ngx_http_llm_json_object_get(json, 0, "instructions", 12);

    if (t != NGX_HTTP_LLM_NONE
        && json->tokens[t].type != NGX_HTTP_LLM_JSON_NULL)
    {
        if (json->tokens[t].type != NGX_HTTP_LLM_JSON_STRING) {
            return ngx_http_llm_fail(r, ctx, NGX_HTTP_BAD_REQUEST, NULL,
                                     "instructions", "instructions: expected "
                                     "a string");
        }

        rc = ngx_http_llm_add_text(r, ctx, t, -1, &system);
        if (rc != NGX_OK) {
            return rc;
        }
    }

    t = ngx_http_llm_json_object_get(json, 0, "input", 5);

    if (t == NGX_HTTP_LLM_NONE
        || json->tokens[t].type == NGX_HTTP_LLM_JSON_NULL)
    {
        return NGX_OK;
    }

    if (json->tokens[t].type == NGX_HTTP_LLM_JSON_STRING) {
        req->nmessages = 1;
        return ngx_http_llm_add_text(r, ctx, t, 0, &user);
    }

    if (json->tokens[t].type != NGX_HTTP_LLM_JSON_ARRAY) {
        return ngx_http_llm_fail(r, ctx, NGX_HTTP_BAD_REQUEST, NULL, "input",
                                 "input: expected a string or an array of "
                                 "input items");
    }

    req->messages_tok = t;

    for (i = ngx_http_llm_json_first(json, t);
         i != NGX_HTTP_LLM_NONE;
         i = json->tokens[i].next, req->nmessages++)
    {
        if (json->tokens[i].type == NGX_HTTP_LLM_JSON_STRING) {
            rc = ngx_http_llm_add_text(r, ctx, i, req->nmessages, &user);
            if (rc != NGX_OK) {
                return rc;
            }

            continue;
        }

        if (json->tokens[i].type != NGX_HTTP_LLM_JSON_OBJECT) {
            return ngx_http_llm_fail(r, ctx, NGX_HTTP_BAD_REQUEST, NULL,
                                     "input", "input[%ui]: expected an object",
                                     req->nmessages);
        }

        ngx_str_null(&role);

        v = ngx_http_llm_json_object_get(json, i, "role", 4);

        if (v != NGX_HTTP_LLM_NONE
            && json->tokens[v].type == NGX_HTTP_LLM_JSON_STRING
            && ngx_http_llm_decode(r, json, v, &role) != NGX_OK)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        /* message content, reasoning summaries: strings or text parts */

        for (k = 0; parts[k]; k++) {
            v = ngx_http_llm_json_object_get(json, i, parts[k],
                                             ngx_strlen(parts[k]));

            if (v == NGX_HTTP_LLM_NONE) {
                continue;
            }

            rc = ngx_http_llm_parse_content(r, ctx, v, req->nmessages, &role);
            if (rc != NGX_OK) {
                return rc;
            }
        }

        /* function and tool calls, their outputs */

        for (k = 0; texts[k]; k++) {
            v = ngx_http_llm_json_object_get(json, i, texts[k],
                                             ngx_strlen(texts[k]));

            if (v == NGX_HTTP_LLM_NONE) {
                continue;
            }

            if (json->tokens[v].type == NGX_HTTP_LLM_JSON_STRING) {
                rc = ngx_http_llm_add_text(r, ctx, v, req->nmessages, &role);

            } else if (json->tokens[v].type == NGX_HTTP_LLM_JSON_ARRAY) {
                rc = ngx_http_llm_parse_content(r, ctx, v, req->nmessages,
                                                &role);
            } else {
                rc = NGX_OK;
            }

            if (rc != NGX_OK) {
                return rc;
            }
        }
    }

    return NGX_OK;
}


/* a member by its camelCase name or its snake_case alias (Google's APIs) */

static uint32_t
ngx_http_llm_get_either(ngx_http_llm_json_t *json, uint32_t obj,
    const char *name, const char *alias)
{
    uint32_t  t;

    if (obj == NGX_HTTP_LLM_NONE) {
        return NGX_HTTP_LLM_NONE;
    }

    t = ngx_http_llm_json_object_get(json, obj, name, ngx_strlen(name));

    if (t == NGX_HTTP_LLM_NONE) {
        t = ngx_http_llm_json_object_get(json, obj, alias, ngx_strlen(alias));
    }

    return t;
}


/*
 * Gemini (generateContent, streamGenerateContent): the model is the path's,
 * "contents" hold the turns with their "parts", "systemInstruction" the
 * system prompt, "generationConfig.maxOutputTokens" the allowance.
 */

static ngx_int_t
ngx_http_llm_parse_gemini(ngx_http_request_t *r, ngx_http_llm_ctx_t *ctx)
{
    int64_t                  n;
    uint32_t                 t, c, v;
    ngx_int_t                rc;
    ngx_str_t                role;
    ngx_str_t                system = ngx_string("system");
    ngx_http_llm_json_t     *json;
    ngx_http_llm_request_t  *req;

    req = &ctx->req;
    json = &req->json;

    if (req->model.len == 0) {
        return ngx_http_llm_fail(r, ctx, NGX_HTTP_BAD_REQUEST, NULL, "model",
                                 "The path names no model.");
    }

    req->stream = (ctx->endpoint == NGX_HTTP_LLM_EP_STREAM_GENERATE);

    if (ngx_array_init(&req->texts, r->pool, 8, sizeof(ngx_http_llm_text_t))
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    t = ngx_http_llm_get_either(json, 0, "generationConfig",
                                "generation_config");
    v = ngx_http_llm_get_either(json, t, "maxOutputTokens",
                                "max_output_tokens");

    if (v != NGX_HTTP_LLM_NONE
        && json->tokens[v].type != NGX_HTTP_LLM_JSON_NULL)
    {
        if (ngx_http_llm_json_get_int(json, v, &n) != NGX_HTTP_LLM_JSON_OK
            || n < 0)
        {
            return ngx_http_llm_fail(r, ctx, NGX_HTTP_BAD_REQUEST, NULL,
                                     NULL, "generationConfig.maxOutputTokens:"
                                     " expected a non-negative integer");
        }

        req->max_tokens = n;
    }

    /* candidateCount answers, each up to maxOutputTokens: reserved so */

    t = ngx_http_llm_get_either(json, 0, "generationConfig",
                                "generation_config");
    v = ngx_http_llm_get_either(json, t, "candidateCount",
                                "candidate_count");

    if (v != NGX_HTTP_LLM_NONE
        && json->tokens[v].type != NGX_HTTP_LLM_JSON_NULL)
    {
        if (ngx_http_llm_json_get_int(json, v, &n) != NGX_HTTP_LLM_JSON_OK
            || n < 0)
        {
            return ngx_http_llm_fail(r, ctx, NGX_HTTP_BAD_REQUEST, NULL,
                                     NULL, "generationConfig.candidateCount:"
                                     " expected a non-negative integer");
        }

        req->choices = ngx_max(n, 1);
    }

    t = ngx_http_llm_json_object_get(json, 0, "tools", 5);

    if (t != NGX_HTTP_LLM_NONE
        && json->tokens[t].type == NGX_HTTP_LLM_JSON_ARRAY)
    {
        req->tools_tok = t;
        req->has_tools = (json->tokens[t].size > 0);
    }

    t = ngx_http_llm_get_either(json, 0, "systemInstruction",
                                "system_instruction");

    if (t != NGX_HTTP_LLM_NONE
        && json->tokens[t].type == NGX_HTTP_LLM_JSON_OBJECT)
    {
        v = ngx_http_llm_json_object_get(json, t, "parts", 5);

        if (v != NGX_HTTP_LLM_NONE) {
            rc = ngx_http_llm_parse_content(r, ctx, v, -1, &system);
            if (rc != NGX_OK) {
                return rc;
            }
        }
    }

    t = ngx_http_llm_json_object_get(json, 0, "contents", 8);

    if (t == NGX_HTTP_LLM_NONE
        || json->tokens[t].type != NGX_HTTP_LLM_JSON_ARRAY)
    {
        return ngx_http_llm_fail(r, ctx, NGX_HTTP_BAD_REQUEST, NULL,
                                 "contents", "contents: expected an array "
                                 "of turns");
    }

    req->messages_tok = t;

    for (c = ngx_http_llm_json_first(json, t);
         c != NGX_HTTP_LLM_NONE;
         c = json->tokens[c].next, req->nmessages++)
    {
        if (json->tokens[c].type != NGX_HTTP_LLM_JSON_OBJECT) {
            return ngx_http_llm_fail(r, ctx, NGX_HTTP_BAD_REQUEST, NULL,
                                     "contents", "contents[%ui]: expected "
                                     "an object", req->nmessages);
        }

        ngx_str_set(&role, "user");

        v = ngx_http_llm_json_object_get(json, c, "role", 4);

        if (v != NGX_HTTP_LLM_NONE
            && json->tokens[v].type == NGX_HTTP_LLM_JSON_STRING
            && ngx_http_llm_decode(r, json, v, &role) != NGX_OK)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        v = ngx_http_llm_json_object_get(json, c, "parts", 5);

        if (v != NGX_HTTP_LLM_NONE) {
            rc = ngx_http_llm_parse_content(r, ctx, v, req->nmessages, &role);
            if (rc != NGX_OK) {
                return rc;
            }
        }
    }

    return NGX_OK;
}
