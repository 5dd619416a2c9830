
/*
 * Copyright (C) ngx_llm_module authors
 *
 * Header and body filters of gateway answers.
 *
 * Event streams are passed on event by event, unbuffered and flushed.
 * Complete events that need no change go out in place (zero-copy buffers
 * that point into the upstream's buffer, released when sent, the way
 * sub_filter does it); only an event split over two reads is copied, into
 * a hold buffer, until its end arrives.  Every event is read for usage.
 *
 * JSON answers pass unchanged; a bounded copy is kept to read their usage.
 */


#include "ngx_http_llm_module.h"
#include "ngx_http_llm_sse.h"


#define NGX_HTTP_LLM_HOLD_SIZE      4096
#define NGX_HTTP_LLM_MAX_EVENT      (1024 * 1024)

/*
 * Copies of the answer sent on and not yet written to the client above
 * which the upstream's buffers are no longer released: nginx stops reading
 * the upstream once its buffer is full, as it does without this filter.
 */
#define NGX_HTTP_LLM_MAX_PENDING    (64 * 1024)
#define NGX_HTTP_LLM_MAX_CAPTURE    (4 * 1024 * 1024)

/* the error event of a stream the event hook could not read */
#define NGX_HTTP_LLM_UNREAD_MESSAGE                                           \
    "The answer could not be checked for sensitive data (an event larger "   \
    "than 1 MiB) and was ended by the gateway."


struct ngx_http_llm_stream_s {
    ngx_http_llm_sse_t          sse;

    ngx_buf_t                  *hold;        /* an event split over reads */

    ngx_chain_t                *busy;        /* sent on, not yet written */
    ngx_chain_t                *free_hold;   /* hold buffers to reuse */
    ngx_chain_t                *free_ref;    /* zero-copy buffers to reuse */

    size_t                      pending;     /* bytes of copies in busy */
    ngx_chain_t                *deferred;    /* upstream buffers read, kept
                                                busy while pending is high */
    ngx_chain_t               **deferred_last;

    u_char                     *scratch;     /* joined "data:" lines */
    size_t                      scratch_size;

    ngx_str_t                   replacement; /* of the last event read */

    ngx_chain_t                *held;        /* output before the header */
    ngx_chain_t               **held_last;

    unsigned                    opaque:1;    /* gave up reading events */
    unsigned                    finished:1;  /* last buffer sent */
};


static ngx_int_t ngx_http_llm_header_filter(ngx_http_request_t *r);
static ngx_int_t ngx_http_llm_content_hook(ngx_http_request_t *r,
    ngx_http_llm_ctx_t *ctx);
static ngx_int_t ngx_http_llm_content_handler(ngx_http_request_t *r);
static ngx_int_t ngx_http_llm_body_filter(ngx_http_request_t *r,
    ngx_chain_t *in);
static const char *ngx_http_llm_unreadable(ngx_http_request_t *r);
static ngx_int_t ngx_http_llm_unread(ngx_http_request_t *r,
    ngx_http_llm_ctx_t *ctx, const char *reason);
static ngx_uint_t ngx_http_llm_vectors(ngx_http_request_t *r);
static ngx_int_t ngx_http_llm_withheld_body(ngx_http_request_t *r,
    ngx_http_llm_ctx_t *ctx, ngx_chain_t *in);
static ngx_int_t ngx_http_llm_start_stream(ngx_http_request_t *r,
    ngx_http_llm_ctx_t *ctx);
static ngx_int_t ngx_http_llm_budget_headers(ngx_http_request_t *r,
    ngx_http_llm_ctx_t *ctx);
static ngx_int_t ngx_http_llm_add_header(ngx_http_request_t *r,
    ngx_str_t *key, ngx_str_t *value, ngx_uint_t replace);
static ngx_int_t ngx_http_llm_set_headers(ngx_http_request_t *r,
    ngx_str_t *key, ngx_str_t *value, ngx_uint_t n, ngx_uint_t replace);
static ngx_int_t ngx_http_llm_stream_body(ngx_http_request_t *r,
    ngx_http_llm_ctx_t *ctx, ngx_chain_t *in);
static ngx_int_t ngx_http_llm_stream_buf(ngx_http_request_t *r,
    ngx_http_llm_ctx_t *ctx, ngx_buf_t *b, ngx_chain_t ***ll);
static ngx_int_t ngx_http_llm_stream_event(ngx_http_request_t *r,
    ngx_http_llm_ctx_t *ctx, u_char *p, u_char *last);
static ngx_int_t ngx_http_llm_hold(ngx_http_request_t *r,
    ngx_http_llm_stream_t *st, u_char *p, u_char *last);
static ngx_int_t ngx_http_llm_emit_replacement(ngx_http_request_t *r,
    ngx_http_llm_stream_t *st, ngx_chain_t ***ll);
static ngx_int_t ngx_http_llm_drop_hold(ngx_http_request_t *r,
    ngx_http_llm_stream_t *st, ngx_chain_t ***ll);
static ngx_int_t ngx_http_llm_emit(ngx_http_request_t *r,
    ngx_http_llm_stream_t *st, ngx_chain_t ***ll, ngx_buf_t *b);
static ngx_buf_t *ngx_http_llm_ref_buf(ngx_http_request_t *r,
    ngx_http_llm_stream_t *st, u_char *p, u_char *last);
static ngx_int_t ngx_http_llm_stream_end(ngx_http_request_t *r,
    ngx_http_llm_ctx_t *ctx, ngx_chain_t ***ll);
static ngx_int_t ngx_http_llm_held(ngx_http_request_t *r,
    ngx_http_llm_ctx_t *ctx, ngx_chain_t *in, ngx_chain_t **out,
    ngx_uint_t last);
static ngx_int_t ngx_http_llm_hook_flush(ngx_http_request_t *r,
    ngx_http_llm_ctx_t *ctx, ngx_chain_t ***ll);
static ngx_int_t ngx_http_llm_stream_cut(ngx_http_request_t *r,
    ngx_http_llm_ctx_t *ctx, ngx_chain_t ***ll);
static void ngx_http_llm_stream_release(ngx_http_llm_stream_t *st);
static ngx_int_t ngx_http_llm_stream_finished(ngx_http_request_t *r,
    ngx_http_llm_ctx_t *ctx, ngx_chain_t *in);
static ngx_int_t ngx_http_llm_stream_done_with(ngx_http_request_t *r,
    ngx_http_llm_stream_t *st, ngx_buf_t *b);
static void ngx_http_llm_stream_undefer(ngx_http_request_t *r,
    ngx_http_llm_stream_t *st);
static ngx_int_t ngx_http_llm_json_body(ngx_http_request_t *r,
    ngx_http_llm_ctx_t *ctx, ngx_chain_t *in);
static ngx_int_t ngx_http_llm_capture_body(ngx_http_request_t *r,
    ngx_http_llm_ctx_t *ctx, ngx_chain_t *in);
static void ngx_http_llm_answer_end(ngx_http_llm_ctx_t *ctx);
static ngx_uint_t ngx_http_llm_whole_event(ngx_http_request_t *r,
    ngx_http_llm_ctx_t *ctx, u_char *p, u_char *last);
static ngx_int_t ngx_http_llm_stream_interrupted(ngx_http_request_t *r,
    ngx_http_llm_ctx_t *ctx, ngx_str_t *ev);
static ngx_buf_t *ngx_http_llm_cut_events(ngx_http_request_t *r,
    ngx_http_llm_ctx_t *ctx);
static ngx_int_t ngx_http_llm_filter_init(ngx_conf_t *cf);


static ngx_http_module_t  ngx_http_llm_filter_module_ctx = {
    NULL,                                  /* preconfiguration */
    ngx_http_llm_filter_init,              /* postconfiguration */

    NULL,                                  /* create main configuration */
    NULL,                                  /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    NULL,                                  /* create location configuration */
    NULL                                   /* merge location configuration */
};


ngx_module_t  ngx_http_llm_filter_module = {
    NGX_MODULE_V1,
    &ngx_http_llm_filter_module_ctx,       /* module context */
    NULL,                                  /* module directives */
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


static ngx_http_output_header_filter_pt  ngx_http_next_header_filter;
static ngx_http_output_body_filter_pt    ngx_http_next_body_filter;

/* tags of the two kinds of buffers the stream filter sends */
static ngx_uint_t  ngx_http_llm_hold_tag;
static ngx_uint_t  ngx_http_llm_ref_tag;


static ngx_int_t
ngx_http_llm_header_filter(ngx_http_request_t *r)
{
    ngx_str_t                    *type, key, value;
    ngx_uint_t                    i;
    const char                   *unread;
    ngx_http_llm_ctx_t           *ctx;
    ngx_http_llm_saved_header_t  *saved;

    if (r != r->main) {
        ctx = ngx_http_get_module_ctx(r, ngx_http_llm_module);

        if (ctx && (ctx->shadow || ctx->embedding)) {
            /* a shadow's or an embedder's answer is read, never sent */
            ctx->shadow_status = r->headers_out.status;
            ctx->mode = NGX_HTTP_LLM_MODE_JSON;
            ctx->stream = (r->headers_out.content_type.len >= 17
                           && ngx_strncasecmp(r->headers_out.content_type.data,
                                              (u_char *) "text/event-stream",
                                              17) == 0);
            return NGX_OK;
        }

        return ngx_http_next_header_filter(r);
    }

    ctx = ngx_http_llm_get_ctx(r);

    if (ctx == NULL || !ctx->parsed || ctx->headers_done) {
        return ngx_http_next_header_filter(r);
    }

    ctx->headers_done = 1;

    /* an answer is on its way to the client: no fallback any more */
    ctx->fallback_wait = 0;

    if (ctx->budgeted && ngx_http_llm_budget_headers(r, ctx) != NGX_OK) {
        return NGX_ERROR;
    }

    if (ctx->no_retry) {
        /*
         * A refusal that waiting cannot change: the official SDKs (OpenAI,
         * Anthropic) honour this header before the status and Retry-After.
         */

        ngx_str_set(&key, "x-should-retry");
        ngx_str_set(&value, "false");

        if (ngx_http_llm_add_header(r, &key, &value, 1) != NGX_OK) {
            return NGX_ERROR;
        }
    }

    if (ctx->error) {
        return ngx_http_next_header_filter(r);
    }

    if (r->upstream && r->headers_out.status == NGX_HTTP_OK) {
        ctx->answered = 1;
    }

    /* the client's Accept-Encoding again, for gzip and the access log */

    if (ctx->accept_encoding) {
        saved = ctx->accept_encoding->elts;

        for (i = 0; i < ctx->accept_encoding->nelts; i++) {
            saved[i].header->value = saved[i].value;
        }

        ctx->accept_encoding = NULL;
    }

    if (r->headers_out.status != NGX_HTTP_OK || r->header_only) {
        /* errors before the answer starts pass through unchanged */
        return ngx_http_next_header_filter(r);
    }

    type = &r->headers_out.content_type;

    unread = ngx_http_llm_unreadable(r);

    if (unread == NULL && ctx->api == NGX_HTTP_LLM_API_GEMINI
        && (ctx->event_hook || ctx->json_hook)
        && (ctx->endpoint == NGX_HTTP_LLM_EP_STREAM_GENERATE
            || (type->len >= 17
                && ngx_strncasecmp(type->data,
                                   (u_char *) "text/event-stream", 17)
                   == 0)))
    {
        /*
         * Gemini streams (SSE or a JSON array of chunks) are not redacted
         * chunk by chunk (a value split across chunks would pass): with
         * response redaction, or placeholders to restore, they are
         * withheld, fail closed.  Whole Gemini answers are redacted.
         */
        unread = "a Gemini stream is not redacted";
    }

    if (unread) {
        return ngx_http_llm_unread(r, ctx, unread);
    }

    if (type->len >= 17
        && ngx_strncasecmp(type->data, (u_char *) "text/event-stream", 17)
           == 0)
    {
        if (ngx_http_llm_start_stream(r, ctx) != NGX_OK) {
            return NGX_ERROR;
        }

        if (ctx->stream && r->upstream && ctx->fallback_left) {
            /*
             * A stream whose first event is an error falls back: the
             * header waits for that first event (see ngx_http_llm_held).
             */

            ctx->header_held = 1;
            ctx->fallback_wait = 1;
            ctx->st->held_last = &ctx->st->held;

            return NGX_OK;
        }

    } else {
        /* JSON, text or no type: read whole (parsed if it parses) */

        ctx->mode = NGX_HTTP_LLM_MODE_JSON;

        if (ctx->json_hook && !ngx_http_llm_vectors(r)) {
            /* the answer may change: held whole, sent with a new length */
            ctx->hold_json = 1;
            r->filter_need_in_memory = 1;

            /* the capture is sized by it (ngx_http_llm_capture_body()) */
            ctx->held_length = r->headers_out.content_length_n;

            ngx_http_clear_content_length(r);
            ngx_http_clear_accept_ranges(r);
            ngx_http_clear_etag(r);
        }
    }

    return ngx_http_next_header_filter(r);
}


/*
 * Which answers the module reads: every 200 answer of a gateway request
 * (events of a text/event-stream as events, anything else whole: parsed
 * when it is JSON, else scanned as text), unless it cannot be read: it is
 * encoded (Content-Encoding other than identity: the upstream was asked
 * for identity and did not comply), larger than the capture limit, or
 * audio, an image or a video.  Returns why not, or NULL.
 */

static const char *
ngx_http_llm_unreadable(ngx_http_request_t *r)
{
    u_char     *p, *last;
    ngx_str_t  *type;

    if (r->headers_out.content_encoding
        && r->headers_out.content_encoding->hash)
    {
        p = r->headers_out.content_encoding->value.data;
        last = p + r->headers_out.content_encoding->value.len;

        while (p < last && (*p == ' ' || *p == '\t')) {
            p++;
        }

        while (last > p && (last[-1] == ' ' || last[-1] == '\t')) {
            last--;
        }

        if (p != last
            && !(last - p == 8
                 && ngx_strncasecmp(p, (u_char *) "identity", 8) == 0))
        {
            return "it is encoded";
        }
    }

    type = &r->headers_out.content_type;

    if (type->len >= 17
        && ngx_strncasecmp(type->data, (u_char *) "text/event-stream", 17)
           == 0)
    {
        return NULL;
    }

    if (r->headers_out.content_length_n > NGX_HTTP_LLM_MAX_CAPTURE) {
        return "it is too large";
    }

    if ((type->len >= 6
         && (ngx_strncasecmp(type->data, (u_char *) "audio/", 6) == 0
             || ngx_strncasecmp(type->data, (u_char *) "image/", 6) == 0
             || ngx_strncasecmp(type->data, (u_char *) "video/", 6) == 0)))
    {
        return "media";
    }

    return NULL;
}


/*
 * An answer that cannot be read: the budgets keep all they reserved (its
 * usage is unknown), the cache does not keep it, and when it must be
 * redacted it is withheld: a 502 in the API's format, or for a stream an
 * error event.  Audio, images and video pass: there is no text to redact.
 */

static ngx_int_t
ngx_http_llm_unread(ngx_http_request_t *r, ngx_http_llm_ctx_t *ctx,
    const char *reason)
{
    size_t       len;
    ngx_buf_t   *b;
    ngx_str_t   *type;
    ngx_uint_t   sse;

    if (ngx_http_llm_vectors(r)) {
        /*
         * Embeddings: vectors, no text to redact, and no completion to
         * count (the prompt is estimated from the request): passed.
         */
        ngx_log_debug2(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                       "llm: the embeddings of model \"%V\" are not read: "
                       "%s", &ctx->model, reason);
        return ngx_http_next_header_filter(r);
    }

    ctx->unread = 1;
    ctx->no_store = 1;

    type = &r->headers_out.content_type;

    if ((ctx->event_hook == NULL && ctx->json_hook == NULL)
        || ngx_strcmp(reason, "media") == 0)
    {
        ngx_log_debug2(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                       "llm: the answer of model \"%V\" is not read: %s",
                       &ctx->model, reason);
        return ngx_http_next_header_filter(r);
    }

    ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                  "llm: the answer of model \"%V\" must be redacted and "
                  "cannot be read (%s, Content-Type \"%V\"): withheld",
                  &ctx->model, reason, type);

    len = sizeof("event: error\ndata: {\"type\":\"error\",\"error\":"
                 "{\"type\":\"api_error\",\"message\":\"\"}}\n\n"
                 "{\"message\":\"\",\"type\":\"server_error\",\"param\":null,"
                 "\"code\":\"answer_unreadable\"}") - 1
          + 256;

    b = ngx_create_temp_buf(r->pool, len);
    if (b == NULL) {
        return NGX_ERROR;
    }

    /*
     * The client asked for a stream: it gets one, with an error event in
     * its API's format (a Gemini stream without alt=sse is a JSON array:
     * it gets a JSON error).
     */

    sse = ctx->req.stream;

    if (ctx->api == NGX_HTTP_LLM_API_GEMINI) {
        sse = (type->len >= 17
               && ngx_strncasecmp(type->data, (u_char *) "text/event-stream",
                                  17)
                  == 0);
    }

    if (sse) {
        if (ctx->api == NGX_HTTP_LLM_API_ANTHROPIC
            || ctx->endpoint == NGX_HTTP_LLM_EP_RESPONSES)
        {
            b->last = ngx_cpymem(b->last, "event: error\ndata: ", 19);

        } else {
            b->last = ngx_cpymem(b->last, "data: ", 6);
        }
    }

    if (ctx->api == NGX_HTTP_LLM_API_ANTHROPIC) {
        b->last = ngx_sprintf(b->last,
                              "{\"type\":\"error\",\"error\":{\"type\":"
                              "\"api_error\",\"message\":\"The gateway could "
                              "not read the answer (%s) and does not pass an "
                              "answer it cannot redact.\"}}", reason);

    } else if (ctx->api == NGX_HTTP_LLM_API_GEMINI) {
        b->last = ngx_sprintf(b->last,
                              "{\"error\":{\"code\":502,\"message\":\"The "
                              "gateway could not read the answer (%s) and "
                              "does not pass an answer it cannot redact.\","
                              "\"status\":\"UNAVAILABLE\"}}", reason);

    } else if (sse && ctx->endpoint == NGX_HTTP_LLM_EP_RESPONSES) {
        b->last = ngx_sprintf(b->last,
                              "{\"type\":\"error\",\"code\":"
                              "\"answer_unreadable\",\"message\":\"The "
                              "gateway could not read the answer (%s) and "
                              "does not pass an answer it cannot redact.\","
                              "\"param\":null,\"sequence_number\":0}",
                              reason);

    } else {
        b->last = ngx_sprintf(b->last,
                              "{\"error\":{\"message\":\"The gateway could "
                              "not read the answer (%s) and does not pass an "
                              "answer it cannot redact.\",\"type\":"
                              "\"server_error\",\"param\":null,\"code\":"
                              "\"answer_unreadable\"}}", reason);
    }

    b->last = ngx_cpymem(b->last, sse ? "\n\n" : "\n", sse ? 2 : 1);
    b->last_buf = 1;
    b->last_in_chain = 1;

    ctx->withheld = b;
    ctx->mode = NGX_HTTP_LLM_MODE_WITHHELD;

    if (!sse) {
        r->headers_out.status = NGX_HTTP_BAD_GATEWAY;
        r->headers_out.status_line.len = 0;
        ngx_str_set(&r->headers_out.content_type, "application/json");

    } else {
        ngx_str_set(&r->headers_out.content_type, "text/event-stream");
    }

    r->headers_out.content_type_len = r->headers_out.content_type.len;
    r->headers_out.content_type_lowcase = NULL;
    r->headers_out.charset.len = 0;

    if (r->headers_out.content_encoding) {
        r->headers_out.content_encoding->hash = 0;
        r->headers_out.content_encoding = NULL;
    }

    r->headers_out.content_length_n = b->last - b->pos;

    if (r->headers_out.content_length) {
        r->headers_out.content_length->hash = 0;
        r->headers_out.content_length = NULL;
    }

    ngx_http_clear_accept_ranges(r);
    ngx_http_clear_last_modified(r);
    ngx_http_clear_etag(r);

    return ngx_http_next_header_filter(r);
}


/* an embeddings call (OpenAI's /embeddings, Gemini's embedContent) */

static ngx_uint_t
ngx_http_llm_vectors(ngx_http_request_t *r)
{
    u_char  *p, *last;

    p = r->uri.data;
    last = p + r->uri.len;

    if (last - p >= 11
        && ngx_strncasecmp(last - 11, (u_char *) "/embeddings", 11) == 0)
    {
        return 1;
    }

    return (last - p >= 12
            && ngx_strncasecmp(last - 12, (u_char *) "embedContent", 12) == 0)
           || (last - p >= 13
               && ngx_strncasecmp(last - 13, (u_char *) "embedContents", 13)
                  == 0);
}


/* the upstream's answer is dropped, the error goes out once */

static ngx_int_t
ngx_http_llm_withheld_body(ngx_http_request_t *r, ngx_http_llm_ctx_t *ctx,
    ngx_chain_t *in)
{
    ngx_chain_t  *cl, out;

    for (cl = in; cl; cl = cl->next) {
        cl->buf->pos = cl->buf->last;

        if (cl->buf->in_file) {
            cl->buf->file_pos = cl->buf->file_last;
        }
    }

    if (ctx->withheld == NULL) {
        return ngx_http_next_body_filter(r, NULL);
    }

    out.buf = ctx->withheld;
    out.next = NULL;

    ctx->withheld = NULL;

    return ngx_http_next_body_filter(r, &out);
}


static ngx_int_t
ngx_http_llm_start_stream(ngx_http_request_t *r, ngx_http_llm_ctx_t *ctx)
{
    ngx_str_t               key, value;
    ngx_http_upstream_t    *u;
    ngx_http_llm_stream_t  *st;

    st = ngx_pcalloc(r->pool, sizeof(ngx_http_llm_stream_t));
    if (st == NULL) {
        return NGX_ERROR;
    }

    ngx_http_llm_sse_init(&st->sse);

    ctx->st = st;
    ctx->mode = NGX_HTTP_LLM_MODE_STREAM;

    u = r->upstream;

    /* events may be dropped or added: the length is not the upstream's */

    ngx_http_clear_content_length(r);
    ngx_http_clear_accept_ranges(r);
    ngx_http_clear_last_modified(r);
    ngx_http_clear_etag(r);

    if (ctx->event_hook) {
        /* every event must be read: files are read into memory for it */
        r->filter_need_in_memory = 1;
    }

    if (!ctx->stream) {
        /* llm_stream off: read for usage, buffered as the location says */
        return NGX_OK;
    }

    if (u && !u->header_sent) {
        /* tested by ngx_http_upstream_send_response() after the filters */
        u->buffering = 0;
    }

#if (NGX_HTTP_GZIP)
    r->gzip_tested = 1;
    r->gzip_ok = 0;
#endif

    ngx_str_set(&key, "X-Accel-Buffering");
    ngx_str_set(&value, "no");

    if (ngx_http_llm_add_header(r, &key, &value, 1) != NGX_OK) {
        return NGX_ERROR;
    }

    ngx_str_set(&key, "Cache-Control");
    ngx_str_set(&value, "no-cache");

    if (ngx_http_llm_add_header(r, &key, &value, 0) != NGX_OK) {
        return NGX_ERROR;
    }

    ngx_log_debug0(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "llm: streaming the answer unbuffered");

    return NGX_OK;
}


/*
 * x-ratelimit-* headers of the tightest budget (the names and the duration
 * format of OpenAI's), and Retry-After on a refusal.  An upstream's header
 * of one of these names is replaced (the first of each name), as
 * ngx_http_llm_add_header() does; the response's headers are looked at once
 * for all of them (ngx_http_llm_set_headers()), and the numbers written
 * without ngx_sprintf(): every budgeted answer sends them.
 */

static ngx_str_t  ngx_http_llm_budget_header_names[] = {
    ngx_string("x-ratelimit-limit-tokens"),
    ngx_string("x-ratelimit-remaining-tokens"),
    ngx_string("x-ratelimit-reset-tokens"),
    ngx_string("Retry-After")
};

#define NGX_HTTP_LLM_BUDGET_HEADERS                                           \
    (sizeof(ngx_http_llm_budget_header_names) / sizeof(ngx_str_t))

/* the most headers ngx_http_llm_set_headers() sets at once */
#define NGX_HTTP_LLM_SET_HEADERS_MAX  4


static ngx_int_t
ngx_http_llm_budget_headers(ngx_http_request_t *r, ngx_http_llm_ctx_t *ctx)
{
    u_char      *p;
    ngx_str_t    value[NGX_HTTP_LLM_BUDGET_HEADERS];
    ngx_uint_t   n;
    ngx_msec_t   ms;

    p = ngx_pnalloc(r->pool, 3 * NGX_INT64_LEN + 32);
    if (p == NULL) {
        return NGX_ERROR;
    }

    value[0].data = p;
    p = ngx_http_llm_format_uint(p, ctx->budget_limit, 0);
    value[0].len = p - value[0].data;

    value[1].data = p;
    p = ngx_http_llm_format_uint(p, ctx->budget_remaining, 0);
    value[1].len = p - value[1].data;

    /* "%Mms" under a second, else "[%Mh][%Mm]%Ms" */

    ms = ctx->budget_reset;
    value[2].data = p;

    if (ms < 1000) {
        p = ngx_http_llm_format_uint(p, ms, 0);
        *p++ = 'm';
        *p++ = 's';

    } else {
        if (ms >= 3600000) {
            p = ngx_http_llm_format_uint(p, ms / 3600000, 0);
            *p++ = 'h';
        }

        if (ms >= 60000) {
            p = ngx_http_llm_format_uint(p, ms / 60000 % 60, 0);
            *p++ = 'm';
        }

        p = ngx_http_llm_format_uint(p, ms / 1000 % 60, 0);
        *p++ = 's';
    }

    value[2].len = p - value[2].data;

    n = 3;

    if (ctx->retry_after > 0) {
        value[3].data = p;
        p = ngx_http_llm_format_uint(p, (uint64_t) ctx->retry_after, 0);
        value[3].len = p - value[3].data;
        n = 4;
    }

    return ngx_http_llm_set_headers(r, ngx_http_llm_budget_header_names,
                                    value, n, 1);
}


/* add a response header; an existing one is replaced or, if so, kept */

static ngx_int_t
ngx_http_llm_add_header(ngx_http_request_t *r, ngx_str_t *key,
    ngx_str_t *value, ngx_uint_t replace)
{
    return ngx_http_llm_set_headers(r, key, value, 1, replace);
}


/*
 * add n response headers (n <= NGX_HTTP_LLM_SET_HEADERS_MAX), the headers
 * looked at once for all of them: the first header of each name is
 * replaced or, if so, kept; a name not there is added
 */

static ngx_int_t
ngx_http_llm_set_headers(ngx_http_request_t *r, ngx_str_t *key,
    ngx_str_t *value, ngx_uint_t n, ngx_uint_t replace)
{
    ngx_uint_t        i, k;
    ngx_list_part_t  *part;
    ngx_table_elt_t  *h, *found[NGX_HTTP_LLM_SET_HEADERS_MAX];

    for (k = 0; k < n; k++) {
        found[k] = NULL;
    }

    part = &r->headers_out.headers.part;
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

        if (h[i].hash == 0) {
            continue;
        }

        for (k = 0; k < n; k++) {
            if (found[k] == NULL
                && h[i].key.len == key[k].len
                && ngx_strncasecmp(h[i].key.data, key[k].data, key[k].len)
                   == 0)
            {
                found[k] = &h[i];
                break;
            }
        }
    }

    for (k = 0; k < n; k++) {
        h = found[k];

        if (h != NULL) {
            if (replace) {
                h->value = value[k];
            }

            continue;
        }

        h = ngx_list_push(&r->headers_out.headers);
        if (h == NULL) {
            return NGX_ERROR;
        }

        h->hash = 1;
        h->key = key[k];
        h->value = value[k];
        h->lowcase_key = NULL;
#if (nginx_version >= 1023000)
        h->next = NULL;
#endif
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_llm_body_filter(ngx_http_request_t *r, ngx_chain_t *in)
{
    ngx_chain_t         *cl;
    ngx_http_llm_ctx_t  *ctx;

    if (r != r->main) {
        ctx = ngx_http_get_module_ctx(r, ngx_http_llm_module);

        if (ctx == NULL || !(ctx->shadow || ctx->embedding)) {
            return ngx_http_next_body_filter(r, in);
        }

        /* a shadow's or an embedder's answer: kept (bounded), dropped */

        if (ctx->mode == NGX_HTTP_LLM_MODE_JSON
            && ngx_http_llm_capture_body(r, ctx, in) != NGX_OK)
        {
            return NGX_ERROR;
        }

        for (cl = in; cl; cl = cl->next) {
            cl->buf->pos = cl->buf->last;

            if (cl->buf->in_file) {
                cl->buf->file_pos = cl->buf->file_last;
            }
        }

        return NGX_OK;
    }

    ctx = ngx_http_llm_get_ctx(r);

    if (ctx && ctx->hold_json && ctx->cut_unread) {
        /* a held JSON answer too large to read: nothing more goes out */
        return ngx_http_llm_json_body(r, ctx, in);
    }

    if (ctx == NULL || ctx->mode == NGX_HTTP_LLM_MODE_NONE) {
        return ngx_http_next_body_filter(r, in);
    }

    if (ctx->mode == NGX_HTTP_LLM_MODE_WITHHELD) {
        return ngx_http_llm_withheld_body(r, ctx, in);
    }

    if (ctx->mode == NGX_HTTP_LLM_MODE_JSON) {
        if (ngx_http_llm_capture_body(r, ctx, in) != NGX_OK) {
            return NGX_ERROR;
        }

        if (ctx->hold_json) {
            return ngx_http_llm_json_body(r, ctx, in);
        }

        if (ctx->mode == NGX_HTTP_LLM_MODE_NONE) {
            /* the capture saw the last buffer */
            ngx_http_llm_answer_end(ctx);
        }

        return ngx_http_next_body_filter(r, in);
    }

    if (ctx->st->finished) {
        return ngx_http_llm_stream_finished(r, ctx, in);
    }

    return ngx_http_llm_stream_body(r, ctx, in);
}


static ngx_int_t
ngx_http_llm_stream_body(ngx_http_request_t *r, ngx_http_llm_ctx_t *ctx,
    ngx_chain_t *in)
{
    ngx_int_t               rc;
    ngx_uint_t              last, flush;
    ngx_chain_t            *cl, *out, **ll;
    ngx_http_llm_stream_t  *st;

    st = ctx->st;

    out = NULL;
    ll = &out;
    last = 0;
    flush = 0;

    for (cl = in; cl; cl = cl->next) {

        if (cl->buf->last_buf) {
            last = 1;
        }

        if (cl->buf->flush) {
            flush = 1;
        }

        if (ngx_buf_size(cl->buf) == 0) {
            continue;
        }

        if (st->opaque || !ngx_buf_in_memory(cl->buf)) {

            if (ctx->event_hook && !st->opaque) {
                /*
                 * The hook (redaction) must read every event; the copy
                 * filter reads files into memory for it (see
                 * ngx_http_llm_start_stream()), so this is not expected:
                 * the stream fails closed.
                 */

                ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                              "llm: a buffer of the answer of model \"%V\" "
                              "is not in memory and cannot be read, the "
                              "stream is ended", &ctx->model);

                cl->buf->pos = cl->buf->last;

                if (cl->buf->in_file) {
                    cl->buf->file_pos = cl->buf->file_last;
                }

                ctx->cut_stream = 1;
                ctx->cut_unread = 1;
                break;
            }

            /* not readable in place: pass it on as it is */
            if (ngx_http_llm_emit(r, st, &ll, cl->buf) != NGX_OK) {
                return NGX_ERROR;
            }

            continue;
        }

        if (ngx_http_llm_stream_buf(r, ctx, cl->buf, &ll) != NGX_OK) {
            return NGX_ERROR;
        }

        if (ctx->cut_stream) {
            break;
        }
    }

    if (ctx->cut_stream) {
        /*
         * A budget ran out: the answer ends the API's way (an event the
         * event hook could not read: with an error event).  The rest of
         * the upstream's data is dropped (the buffer read last was handled
         * by ngx_http_llm_stream_buf(): it may hold the last events sent).
         */

        for (cl = cl ? cl->next : NULL; cl; cl = cl->next) {
            cl->buf->pos = cl->buf->last;

            if (cl->buf->in_file) {
                cl->buf->file_pos = cl->buf->file_last;
            }
        }

        if (ngx_http_llm_hook_flush(r, ctx, &ll) != NGX_OK
            || ngx_http_llm_stream_cut(r, ctx, &ll) != NGX_OK)
        {
            return NGX_ERROR;
        }

        last = 1;

    } else if (last) {
        if (ngx_http_llm_stream_end(r, ctx, &ll) != NGX_OK) {
            return NGX_ERROR;
        }

        ngx_http_llm_answer_end(ctx);
    }

    if (out) {
        /* each event goes to the client as soon as it is complete */
        for (cl = out; cl->next; cl = cl->next) { /* void */ }
        cl->buf->flush = 1;

        if (last) {
            cl->buf->last_buf = 1;
        }

    } else if (last || flush) {
        cl = ngx_chain_get_free_buf(r->pool, &st->free_ref);
        if (cl == NULL) {
            return NGX_ERROR;
        }

        ngx_memzero(cl->buf, sizeof(ngx_buf_t));
        cl->buf->tag = (ngx_buf_tag_t) &ngx_http_llm_ref_tag;
        cl->buf->flush = 1;
        cl->buf->last_buf = last;

        out = cl;
    }

    if (ctx->header_held) {
        rc = ngx_http_llm_held(r, ctx, in, &out, last);
        if (rc != NGX_DECLINED) {
            return rc;
        }
    }

    /*
     * Always called, with nothing new as well: that is how pending output
     * is pushed when the client becomes writable.
     */

    rc = ngx_http_next_body_filter(r, out);

    /* append what was sent on to busy, then release what has been written */

    for (ll = &st->busy; *ll; ll = &(*ll)->next) { /* void */ }
    *ll = out;

    ngx_http_llm_stream_release(st);

    if (st->deferred
        && (last || ctx->cut_stream
            || st->pending <= NGX_HTTP_LLM_MAX_PENDING))
    {
        ngx_http_llm_stream_undefer(r, st);
    }

    if (last) {
        st->finished = 1;
    }

    if (ctx->cut_stream && rc != NGX_ERROR) {

        if (r->upstream == NULL) {
            return NGX_ERROR;
        }

        /*
         * The upstream's answer is over for nginx: once what was sent is
         * written, the upstream module finalizes the request normally
         * (the client's connection stays usable) and closes the upstream
         * connection, which did not end its answer; what it sends until
         * then is dropped.
         */

        r->upstream->length = 0;
    }

    return rc;
}


/*
 * After the last buffer: nothing more goes to the client (the upstream may
 * send on after a budget's cut, and its module ends the response once
 * more); what was sent is pushed and released as it is written.
 */

static ngx_int_t
ngx_http_llm_stream_finished(ngx_http_request_t *r, ngx_http_llm_ctx_t *ctx,
    ngx_chain_t *in)
{
    ngx_int_t               rc;
    ngx_chain_t            *cl;
    ngx_http_llm_stream_t  *st;

    st = ctx->st;

    for (cl = in; cl; cl = cl->next) {
        cl->buf->pos = cl->buf->last;

        if (cl->buf->in_file) {
            cl->buf->file_pos = cl->buf->file_last;
        }
    }

    rc = ngx_http_next_body_filter(r, NULL);

    ngx_http_llm_stream_release(st);

    if (st->deferred) {
        ngx_http_llm_stream_undefer(r, st);
    }

    return rc;
}


/*
 * One upstream buffer: complete events that pass unchanged go out in place,
 * dropped events are cut out, an event split at the end is held.
 */

static ngx_int_t
ngx_http_llm_stream_buf(ngx_http_request_t *r, ngx_http_llm_ctx_t *ctx,
    ngx_buf_t *b, ngx_chain_t ***ll)
{
    u_char                 *p, *end, *start, *pass;
    ngx_int_t               rc;
    ngx_buf_t              *ref, *last_ref;
    ngx_http_llm_stream_t  *st;

    st = ctx->st;

    p = b->pos;
    pass = p;                       /* [pass, start) goes out in place */
    start = (st->hold && st->hold->last > st->hold->pos) ? NULL : p;
    last_ref = NULL;

    for ( ;; ) {
        end = ngx_http_llm_sse_find_end(&st->sse, p, b->last);
        if (end == NULL) {
            break;
        }

        if (start == NULL) {
            /* the event began in an earlier buffer: complete it there */

            if (ngx_http_llm_hold(r, st, b->pos, end) != NGX_OK) {
                return NGX_ERROR;
            }

            rc = ngx_http_llm_stream_event(r, ctx, st->hold->pos,
                                           st->hold->last);
            if (rc == NGX_ERROR) {
                return NGX_ERROR;
            }

            if (rc == NGX_HTTP_LLM_EVENT_PASS) {
                if (ngx_http_llm_emit(r, st, ll, st->hold) != NGX_OK) {
                    return NGX_ERROR;
                }

                st->hold = NULL;

            } else if (ngx_http_llm_drop_hold(r, st, ll) != NGX_OK
                       || (rc == NGX_HTTP_LLM_EVENT_REPLACE
                           && ngx_http_llm_emit_replacement(r, st, ll)
                              != NGX_OK))
            {
                return NGX_ERROR;
            }

            pass = end;

            if (ctx->cut_stream) {
                start = end;
                break;
            }

        } else {
            rc = ngx_http_llm_stream_event(r, ctx, start, end);
            if (rc == NGX_ERROR) {
                return NGX_ERROR;
            }

            if (ctx->cut_stream) {
                /* this event goes out, the rest of the stream does not */
                start = end;
                break;
            }

            if (rc == NGX_HTTP_LLM_EVENT_DROP
                || rc == NGX_HTTP_LLM_EVENT_REPLACE)
            {
                /*
                 * Line ends before the dropped event close the previous
                 * one (the LF of a CRLF split over two reads): they stay.
                 */

                while (start < end && (*start == CR || *start == LF)) {
                    start++;
                }

                if (start > pass) {
                    ref = ngx_http_llm_ref_buf(r, st, pass, start);
                    if (ref == NULL
                        || ngx_http_llm_emit(r, st, ll, ref) != NGX_OK)
                    {
                        return NGX_ERROR;
                    }

                    last_ref = ref;
                }

                if (rc == NGX_HTTP_LLM_EVENT_REPLACE
                    && ngx_http_llm_emit_replacement(r, st, ll) != NGX_OK)
                {
                    return NGX_ERROR;
                }

                pass = end;
            }
        }

        start = end;
        p = end;
    }

    if (start && start > pass) {
        ref = ngx_http_llm_ref_buf(r, st, pass, start);
        if (ref == NULL || ngx_http_llm_emit(r, st, ll, ref) != NGX_OK) {
            return NGX_ERROR;
        }

        last_ref = ref;
    }

    /* the unfinished event at the end waits in the hold buffer */

    if (start == NULL) {
        start = b->pos;
    }

    if (start < b->last && !ctx->cut_stream) {

        if ((size_t) (b->last - start)
            + (st->hold ? (size_t) (st->hold->last - st->hold->pos) : 0)
            > NGX_HTTP_LLM_MAX_EVENT
            && ctx->event_hook)
        {
            /*
             * Too large to read, so too large to redact: the event and the
             * rest of the stream are dropped, the stream ends with an
             * error event (fail closed).
             */

            ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                          "llm: an event of the answer of model \"%V\" is "
                          "larger than %uz bytes and cannot be scanned, the "
                          "stream is ended with an error", &ctx->model,
                          (size_t) NGX_HTTP_LLM_MAX_EVENT);

            if (st->hold) {
                st->hold->last = st->hold->pos;
            }

            ctx->cut_stream = 1;
            ctx->cut_unread = 1;

        } else if ((size_t) (b->last - start)
                   + (st->hold ? (size_t) (st->hold->last - st->hold->pos)
                                : 0)
                   > NGX_HTTP_LLM_MAX_EVENT)
        {
            ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                          "llm: an event of the answer of model \"%V\" is "
                          "larger than %uz bytes, the rest of the stream "
                          "is passed on unread", &ctx->model,
                          (size_t) NGX_HTTP_LLM_MAX_EVENT);

            st->opaque = 1;

            if (st->hold) {
                if (ngx_http_llm_emit(r, st, ll, st->hold) != NGX_OK) {
                    return NGX_ERROR;
                }

                st->hold = NULL;
            }

            ref = ngx_http_llm_ref_buf(r, st, start, b->last);
            if (ref == NULL || ngx_http_llm_emit(r, st, ll, ref) != NGX_OK) {
                return NGX_ERROR;
            }

            ref->shadow = b;

            return NGX_OK;

        } else if (ngx_http_llm_hold(r, st, start, b->last) != NGX_OK) {
            return NGX_ERROR;
        }
    }

    if (last_ref) {
        /* b is released when the last buffer pointing into it is written */
        last_ref->shadow = b;
        return NGX_OK;
    }

    return ngx_http_llm_stream_done_with(r, st, b);
}


/*
 * An upstream buffer whose bytes were all copied (or dropped): released,
 * so that nginx reads on into it, unless the copies already sent on wait
 * for a slow client; then it stays busy until they are written, and nginx
 * stops reading the upstream when its buffer is full.
 */

static ngx_int_t
ngx_http_llm_stream_done_with(ngx_http_request_t *r,
    ngx_http_llm_stream_t *st, ngx_buf_t *b)
{
    ngx_chain_t  *cl;

    if (st->pending <= NGX_HTTP_LLM_MAX_PENDING) {
        b->pos = b->last;
        return NGX_OK;
    }

    cl = ngx_alloc_chain_link(r->pool);
    if (cl == NULL) {
        return NGX_ERROR;
    }

    cl->buf = b;
    cl->next = NULL;

    if (st->deferred == NULL) {
        st->deferred_last = &st->deferred;
    }

    *st->deferred_last = cl;
    st->deferred_last = &cl->next;

    return NGX_OK;
}


/* the client has caught up (or the answer ends): deferred buffers go */

static void
ngx_http_llm_stream_undefer(ngx_http_request_t *r, ngx_http_llm_stream_t *st)
{
    ngx_chain_t  *cl, *next;

    for (cl = st->deferred; cl; cl = next) {
        next = cl->next;
        cl->buf->pos = cl->buf->last;
        ngx_free_chain(r->pool, cl);
    }

    st->deferred = NULL;
}


static ngx_int_t
ngx_http_llm_stream_event(ngx_http_request_t *r, ngx_http_llm_ctx_t *ctx,
    u_char *p, u_char *last)
{
    size_t                     size;
    ngx_int_t                  rc;
    ngx_str_t                  event, data;
    ngx_http_llm_stream_t     *st;
    ngx_http_llm_sse_event_t   ev;

    st = ctx->st;
    size = last - p;

    if (size > st->scratch_size) {
        if (st->scratch) {
            ngx_pfree(r->pool, st->scratch);
        }

        st->scratch_size = ngx_max(size, NGX_HTTP_LLM_HOLD_SIZE);
        st->scratch = ngx_palloc(r->pool, st->scratch_size);
        if (st->scratch == NULL) {
            return NGX_ERROR;
        }
    }

    if (!ngx_http_llm_sse_read(p, last, &ev, st->scratch) || !ev.has_data) {
        return NGX_HTTP_LLM_EVENT_PASS;
    }

    event.data = (u_char *) ev.event;
    event.len = ev.event_len;
    data.data = (u_char *) ev.data;
    data.len = ev.data_len;

    rc = ngx_http_llm_usage_event(r, ctx, &event, &data);

    if (rc == NGX_HTTP_LLM_EVENT_PASS && ctx->event_hook) {
        ngx_str_null(&st->replacement);

        rc = ctx->event_hook(r, ctx, &event, &data, &st->replacement);
    }

    ngx_log_debug4(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "llm stream: event \"%V\", %uz bytes: %s%s", &event, size,
                   rc == NGX_HTTP_LLM_EVENT_PASS ? "passed"
                   : rc == NGX_HTTP_LLM_EVENT_DROP ? "dropped"
                   : rc == NGX_HTTP_LLM_EVENT_REPLACE ? "replaced" : "error",
                   ctx->cut_stream ? ", the stream is cut" : "");

    return rc;
}


/* append [p, last) to the hold buffer */

static ngx_int_t
ngx_http_llm_hold(ngx_http_request_t *r, ngx_http_llm_stream_t *st,
    u_char *p, u_char *last)
{
    u_char       *start;
    size_t        size, used;
    ngx_buf_t    *b;
    ngx_chain_t  *cl;

    b = st->hold;

    if (b == NULL) {
        cl = st->free_hold;

        if (cl) {
            st->free_hold = cl->next;
            b = cl->buf;
            b->pos = b->start;
            b->last = b->start;
            ngx_free_chain(r->pool, cl);

        } else {
            b = ngx_create_temp_buf(r->pool, NGX_HTTP_LLM_HOLD_SIZE);
            if (b == NULL) {
                return NGX_ERROR;
            }

            b->tag = (ngx_buf_tag_t) &ngx_http_llm_hold_tag;
        }

        st->hold = b;
    }

    if ((size_t) (b->end - b->last) < (size_t) (last - p)) {
        /* a large event: this one buffer grows */

        used = b->last - b->pos;
        size = ngx_max(used + (last - p), (size_t) (b->end - b->start) * 2);

        start = ngx_palloc(r->pool, size);
        if (start == NULL) {
            return NGX_ERROR;
        }

        ngx_memcpy(start, b->pos, used);

        b->start = start;
        b->pos = start;
        b->last = start + used;
        b->end = start + size;
    }

    b->last = ngx_cpymem(b->last, p, last - p);

    return NGX_OK;
}


static ngx_int_t
ngx_http_llm_emit_replacement(ngx_http_request_t *r,
    ngx_http_llm_stream_t *st, ngx_chain_t ***ll)
{
    ngx_buf_t  *b;

    if (st->replacement.len == 0) {
        return NGX_OK;
    }

    b = ngx_calloc_buf(r->pool);
    if (b == NULL) {
        return NGX_ERROR;
    }

    b->pos = st->replacement.data;
    b->last = st->replacement.data + st->replacement.len;
    b->memory = 1;

    return ngx_http_llm_emit(r, st, ll, b);
}


/* drop the held event, all but the line ends that close the one before */

static ngx_int_t
ngx_http_llm_drop_hold(ngx_http_request_t *r, ngx_http_llm_stream_t *st,
    ngx_chain_t ***ll)
{
    u_char     *p;
    ngx_buf_t  *b;

    for (p = st->hold->pos;
         p < st->hold->last && (*p == CR || *p == LF);
         p++)
    {
        /* void */
    }

    if (p > st->hold->pos) {
        b = ngx_create_temp_buf(r->pool, p - st->hold->pos);
        if (b == NULL) {
            return NGX_ERROR;
        }

        b->last = ngx_cpymem(b->pos, st->hold->pos, p - st->hold->pos);

        if (ngx_http_llm_emit(r, st, ll, b) != NGX_OK) {
            return NGX_ERROR;
        }
    }

    st->hold->last = st->hold->pos;

    return NGX_OK;
}


static ngx_int_t
ngx_http_llm_emit(ngx_http_request_t *r, ngx_http_llm_stream_t *st,
    ngx_chain_t ***ll, ngx_buf_t *b)
{
    ngx_chain_t  *cl;

    cl = ngx_alloc_chain_link(r->pool);
    if (cl == NULL) {
        return NGX_ERROR;
    }

    cl->buf = b;
    cl->next = NULL;

    **ll = cl;
    *ll = &cl->next;

    return NGX_OK;
}


static ngx_buf_t *
ngx_http_llm_ref_buf(ngx_http_request_t *r, ngx_http_llm_stream_t *st,
    u_char *p, u_char *last)
{
    ngx_buf_t    *b;
    ngx_chain_t  *cl;

    cl = st->free_ref;

    if (cl) {
        st->free_ref = cl->next;
        b = cl->buf;
        ngx_free_chain(r->pool, cl);
        ngx_memzero(b, sizeof(ngx_buf_t));

    } else {
        b = ngx_calloc_buf(r->pool);
        if (b == NULL) {
            return NULL;
        }
    }

    b->pos = p;
    b->last = last;
    b->memory = 1;
    b->tag = (ngx_buf_tag_t) &ngx_http_llm_ref_tag;

    return b;
}


/*
 * The end of the upstream's answer: a final event with no blank line after
 * it is read; a stream that did not end the way the API ends it gets an
 * error event in the API's format and a proper end.  An event cut short in
 * the middle of a line is not passed on: a client would not dispatch it,
 * and the error event would continue its line.
 */

static ngx_int_t
ngx_http_llm_stream_end(ngx_http_request_t *r, ngx_http_llm_ctx_t *ctx,
    ngx_chain_t ***ll)
{
    u_char                  end;
    ngx_int_t               rc;
    ngx_buf_t              *b;
    ngx_str_t               ev;
    ngx_http_llm_stream_t  *st;

    st = ctx->st;
    end = 0;

    if (st->hold && st->hold->last > st->hold->pos) {
        end = st->hold->last[-1];

        if (end != LF && end != CR && !ctx->complete && !st->opaque
            && !ngx_http_llm_whole_event(r, ctx, st->hold->pos,
                                         st->hold->last))
        {
            /* cut in the middle of a line */
            rc = NGX_HTTP_LLM_EVENT_DROP;

        } else {
            rc = ngx_http_llm_stream_event(r, ctx, st->hold->pos,
                                           st->hold->last);
            if (rc == NGX_ERROR) {
                return NGX_ERROR;
            }
        }

        if (rc == NGX_HTTP_LLM_EVENT_PASS) {
            if (ngx_http_llm_emit(r, st, ll, st->hold) != NGX_OK) {
                return NGX_ERROR;
            }

            st->hold = NULL;

        } else {
            end = 0;

            if (ngx_http_llm_drop_hold(r, st, ll) != NGX_OK
                || (rc == NGX_HTTP_LLM_EVENT_REPLACE
                    && ngx_http_llm_emit_replacement(r, st, ll) != NGX_OK))
            {
                return NGX_ERROR;
            }
        }
    }

    if (ngx_http_llm_hook_flush(r, ctx, ll) != NGX_OK) {
        return NGX_ERROR;
    }

    if (ctx->complete || ctx->error_event || st->opaque) {
        /* ended the API's way, or by the provider's own error event */
        return NGX_OK;
    }

    ctx->cut = 1;

    ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                  "llm: the upstream's stream of model \"%V\" ended "
                  "before its end event", &ctx->model);

    if (ctx->api == NGX_HTTP_LLM_API_GEMINI) {
        /* Google's streams have no end event: nothing to add */
        return NGX_OK;
    }

    if (end) {
        /* the final event passed on lacks its blank line: it gets one */

        b = ngx_calloc_buf(r->pool);
        if (b == NULL) {
            return NGX_ERROR;
        }

        b->pos = (u_char *) (end == LF ? "\n" : end == CR ? "\r\n"
                                                           : "\n\n");
        b->last = b->pos + (end == LF ? 1 : 2);
        b->memory = 1;
        b->tag = (ngx_buf_tag_t) &ngx_http_llm_ref_tag;

        if (ngx_http_llm_emit(r, st, ll, b) != NGX_OK) {
            return NGX_ERROR;
        }
    }

    if (ctx->api == NGX_HTTP_LLM_API_ANTHROPIC) {
        ngx_str_set(&ev, "event: error\n"
                    "data: {\"type\":\"error\",\"error\":{\"type\":"
                    "\"api_error\",\"message\":\"The upstream's stream "
                    "ended before the answer was complete.\"}}\n\n");

    } else if (ctx->endpoint == NGX_HTTP_LLM_EP_RESPONSES) {
        if (ngx_http_llm_stream_interrupted(r, ctx, &ev) != NGX_OK) {
            return NGX_ERROR;
        }

    } else {
        ngx_str_set(&ev, "data: {\"error\":{\"message\":\"The upstream's "
                    "stream ended before the answer was complete.\","
                    "\"type\":\"server_error\",\"param\":null,"
                    "\"code\":\"stream_interrupted\"}}\n\n"
                    "data: [DONE]\n\n");
    }

    b = ngx_calloc_buf(r->pool);
    if (b == NULL) {
        return NGX_ERROR;
    }

    b->pos = ev.data;
    b->last = ev.data + ev.len;
    b->memory = 1;
    b->tag = (ngx_buf_tag_t) &ngx_http_llm_ref_tag;

    return ngx_http_llm_emit(r, st, ll, b);
}


/*
 * The header of a stream that may still fall back waits for the first
 * event.  NGX_DECLINED: the header went out, send *out (all that was held);
 * NGX_OK: still waiting, or the first event was an error: the upstream is
 * made to fail (502) before anything was sent, and error_page brings the
 * request back for the next model.
 */

static ngx_int_t
ngx_http_llm_held(ngx_http_request_t *r, ngx_http_llm_ctx_t *ctx,
    ngx_chain_t *in, ngx_chain_t **out, ngx_uint_t last)
{
    ngx_int_t               rc;
    ngx_chain_t            *cl;
    ngx_http_upstream_t    *u;
    ngx_http_llm_stream_t  *st;

    st = ctx->st;

    *st->held_last = *out;

    for (cl = *out; cl; cl = cl->next) {
        st->held_last = &cl->next;
    }

    *out = NULL;

    if (ctx->data_events == 0 && !last) {
        return NGX_OK;
    }

    if (ctx->error_first && !last && r->upstream) {

        ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                      "llm: the stream of model \"%V\" began with an error "
                      "event", &ctx->model);

        /* nothing is sent: the upstream's buffers are free again */

        for (cl = st->held; cl; cl = cl->next) {
            if (cl->buf->shadow) {
                cl->buf->shadow->pos = cl->buf->shadow->last;
            }
        }

        for (cl = in; cl; cl = cl->next) {
            cl->buf->pos = cl->buf->last;
        }

        st->held = NULL;
        st->finished = 1;

        ctx->fallback_event = 1;

        u = r->upstream;
        u->error = 1;
        u->length = -1;

        return NGX_OK;
    }

    ctx->header_held = 0;
    ctx->fallback_wait = 0;

    rc = ngx_http_next_header_filter(r);

    if (rc == NGX_ERROR || rc > NGX_OK) {
        return NGX_ERROR;
    }

    *out = st->held;
    st->held = NULL;

    return NGX_DECLINED;
}


/* whatever the event hook still holds goes out before the end */

static ngx_int_t
ngx_http_llm_hook_flush(ngx_http_request_t *r, ngx_http_llm_ctx_t *ctx,
    ngx_chain_t ***ll)
{
    ngx_int_t               rc;
    ngx_http_llm_stream_t  *st;

    st = ctx->st;

    if (ctx->event_hook == NULL || st->opaque) {
        return NGX_OK;
    }

    ngx_str_null(&st->replacement);

    rc = ctx->event_hook(r, ctx, NULL, NULL, &st->replacement);

    if (rc == NGX_ERROR
        || (rc == NGX_HTTP_LLM_EVENT_REPLACE
            && ngx_http_llm_emit_replacement(r, st, ll) != NGX_OK))
    {
        return NGX_ERROR;
    }

    return NGX_OK;
}


/* final events that end a stream cut short by a budget */

static ngx_int_t
ngx_http_llm_stream_cut(ngx_http_request_t *r, ngx_http_llm_ctx_t *ctx,
    ngx_chain_t ***ll)
{
    ngx_buf_t  *b;

    if (ctx->cut_unread) {
        /* not a budget's cut: the answer could not be read, an error */

        b = ngx_create_temp_buf(r->pool, 512 + NGX_INT64_LEN);
        if (b == NULL) {
            return NGX_ERROR;
        }

        if (ctx->api == NGX_HTTP_LLM_API_ANTHROPIC) {
            b->last = ngx_sprintf(b->last,
                          "event: error\n"
                          "data: {\"type\":\"error\",\"error\":{\"type\":"
                          "\"api_error\",\"message\":\"%s\"}}\n\n",
                          NGX_HTTP_LLM_UNREAD_MESSAGE);

        } else if (ctx->endpoint == NGX_HTTP_LLM_EP_RESPONSES) {
            b->last = ngx_sprintf(b->last,
                          "event: error\n"
                          "data: {\"type\":\"error\","
                          "\"code\":\"answer_unreadable\",\"message\":\"%s\","
                          "\"param\":null,\"sequence_number\":%L}\n\n",
                          NGX_HTTP_LLM_UNREAD_MESSAGE, ctx->sequence + 1);

        } else if (ctx->api == NGX_HTTP_LLM_API_GEMINI) {
            b->last = ngx_sprintf(b->last,
                          "data: {\"error\":{\"code\":500,\"message\":"
                          "\"%s\",\"status\":\"INTERNAL\"}}\n\n",
                          NGX_HTTP_LLM_UNREAD_MESSAGE);

        } else {
            b->last = ngx_sprintf(b->last,
                          "data: {\"error\":{\"message\":\"%s\","
                          "\"type\":\"server_error\",\"param\":null,"
                          "\"code\":\"answer_unreadable\"}}\n\n"
                          "data: [DONE]\n\n",
                          NGX_HTTP_LLM_UNREAD_MESSAGE);
        }

        ctx->cut = 1;

        return ngx_http_llm_emit(r, ctx->st, ll, b);
    }

    if (ctx->endpoint == NGX_HTTP_LLM_EP_RESPONSES
        || ctx->api == NGX_HTTP_LLM_API_GEMINI)
    {
        b = ngx_http_llm_cut_events(r, ctx);
        if (b == NULL) {
            return NGX_ERROR;
        }

        ctx->complete = 1;

        return ngx_http_llm_emit(r, ctx->st, ll, b);
    }

    b = ngx_create_temp_buf(r->pool, 320);
    if (b == NULL) {
        return NGX_ERROR;
    }

    if (ctx->api == NGX_HTTP_LLM_API_ANTHROPIC) {
        b->last = ngx_sprintf(b->last,
                      "event: message_delta\n"
                      "data: {\"type\":\"message_delta\",\"delta\":"
                      "{\"stop_reason\":\"max_tokens\",\"stop_sequence\":null},"
                      "\"usage\":{\"output_tokens\":%uz}}\n\n"
                      "event: message_stop\n"
                      "data: {\"type\":\"message_stop\"}\n\n",
                      ctx->completion_tokens);

    } else {
        b->last = ngx_cpymem(b->last,
                      "data: {\"object\":\"chat.completion.chunk\","
                      "\"choices\":[{\"index\":0,\"delta\":{},"
                      "\"finish_reason\":\"length\"}]}\n\n"
                      "data: [DONE]\n\n",
                      sizeof("data: {\"object\":\"chat.completion.chunk\","
                             "\"choices\":[{\"index\":0,\"delta\":{},"
                             "\"finish_reason\":\"length\"}]}\n\n"
                             "data: [DONE]\n\n") - 1);
    }

    ctx->complete = 1;

    return ngx_http_llm_emit(r, ctx->st, ll, b);
}


/* move written buffers out of busy: release the upstream's, reuse ours */

static void
ngx_http_llm_stream_release(ngx_http_llm_stream_t *st)
{
    ngx_buf_t    *b;
    ngx_chain_t  *cl;

    while (st->busy) {
        cl = st->busy;
        b = cl->buf;

        if (ngx_buf_size(b) != 0) {
            break;
        }

        st->busy = cl->next;

        if (b->shadow) {
            b->shadow->pos = b->shadow->last;
            b->shadow = NULL;
        }

        if (b->tag == (ngx_buf_tag_t) &ngx_http_llm_hold_tag) {
            cl->next = st->free_hold;
            st->free_hold = cl;

        } else if (b->tag == (ngx_buf_tag_t) &ngx_http_llm_ref_tag) {
            cl->next = st->free_ref;
            st->free_ref = cl;

        } else {
            /* a buffer of the upstream passed on as it was */
            cl->next = NULL;
        }
    }

    /* what the client has yet to get of the copies */

    st->pending = 0;

    for (cl = st->busy; cl; cl = cl->next) {
        /* hold buffers and replacements (no tag); not the upstream's */

        if ((cl->buf->tag == (ngx_buf_tag_t) &ngx_http_llm_hold_tag
             || cl->buf->tag == NULL)
            && ngx_buf_in_memory(cl->buf))
        {
            st->pending += ngx_buf_size(cl->buf);
        }
    }
}


/*
 * The upstream ends the request.  After an error in the middle of a stream
 * (reset, read timeout, bad chunk) nginx would only close the connection;
 * the client gets an error event and a proper end first.
 */

void
ngx_http_llm_upstream_finalize(ngx_http_request_t *r, ngx_int_t rc)
{
    ngx_chain_t          out;
    ngx_buf_t           *b;
    ngx_http_llm_ctx_t  *ctx;

    ctx = ngx_http_llm_get_ctx(r);

    ctx->upstream_finalize(r, rc);

    if (ctx->shadow) {
        return;
    }

    if (rc == NGX_DECLINED) {
        /*
         * The upstream's X-Accel-Redirect: the request goes on at that URI
         * (ngx_http_upstream_process_headers()), the attempt did not fail
         */

        ngx_log_debug0(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                       "llm: upstream redirected the request, not a failed "
                       "attempt");

        ctx->fallback_wait = 0;
        return;
    }

    if (ctx->header_held
        && rc != NGX_HTTP_CLIENT_CLOSED_REQUEST
        && rc != NGX_HTTP_REQUEST_TIME_OUT
        && (ctx->fallback_event || rc >= NGX_HTTP_SPECIAL_RESPONSE))
    {
        /*
         * Nothing reached the client yet (the header waited): nginx may
         * answer with an error, which error_page turns into a fallback.
         */

        r->upstream->header_sent = 0;
        ctx->fallback_wait = 1;
        return;
    }

    if (rc == NGX_HTTP_CLIENT_CLOSED_REQUEST
        || rc == NGX_HTTP_REQUEST_TIME_OUT
        || r->connection->error)
    {
        ctx->client_abort = 1;
        return;
    }

    if (rc == 0 || rc == NGX_DECLINED || !r->upstream->header_sent
        || ctx->st == NULL || ctx->st->finished)
    {
        return;
    }

    ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                  "llm: upstream of model \"%V\" failed in the middle of "
                  "the stream (%i)", &ctx->model, rc);

    b = ngx_calloc_buf(r->pool);
    if (b == NULL) {
        return;
    }

    b->last_buf = 1;

    out.buf = b;
    out.next = NULL;

    (void) ngx_http_output_filter(r, &out);
}


/*
 * A JSON answer that a hook may change: what was captured is consumed, and
 * at the end the hook's body (or the original) is sent in one buffer.
 */

static ngx_int_t
ngx_http_llm_json_body(ngx_http_request_t *r, ngx_http_llm_ctx_t *ctx,
    ngx_chain_t *in)
{
    ngx_int_t     rc;
    ngx_str_t     body, out;
    ngx_buf_t    *b;
    ngx_uint_t    last;
    ngx_chain_t  *cl, out_cl;

    last = 0;

    for (cl = in; cl; cl = cl->next) {
        if (cl->buf->last_buf) {
            last = 1;
        }

        cl->buf->pos = cl->buf->last;

        if (cl->buf->in_file) {
            cl->buf->file_pos = cl->buf->file_last;
        }
    }

    if (ctx->cut_unread || (ctx->mode != NGX_HTTP_LLM_MODE_JSON && !last)) {
        /*
         * The capture gave up: the answer is too large to read, so to
         * change (redact); nothing of it is sent (fail closed), the
         * connection is closed.
         */
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "llm: the JSON answer of model \"%V\" is larger than "
                      "%uz bytes and cannot be rewritten", &ctx->model,
                      (size_t) NGX_HTTP_LLM_MAX_CAPTURE);
        return NGX_ERROR;
    }

    if (!last) {
        return NGX_OK;
    }

    ctx->hold_json = 0;

    ngx_str_null(&body);

    if (ctx->capture) {
        body.data = ctx->capture->pos;
        body.len = ctx->capture->last - ctx->capture->pos;
    }

    rc = ctx->json_hook(r, ctx, &body, &out);

    if (rc == NGX_ERROR) {
        return NGX_ERROR;
    }

    if (rc != NGX_OK) {
        out = body;
    }

    b = ngx_calloc_buf(r->pool);
    if (b == NULL) {
        return NGX_ERROR;
    }

    b->pos = out.data;
    b->last = out.data + out.len;
    b->memory = out.len ? 1 : 0;
    b->last_buf = 1;

    out_cl.buf = b;
    out_cl.next = NULL;

    ngx_http_llm_answer_end(ctx);

    return ngx_http_next_body_filter(r, &out_cl);
}


static ngx_int_t
ngx_http_llm_capture_body(ngx_http_request_t *r, ngx_http_llm_ctx_t *ctx,
    ngx_chain_t *in)
{
    size_t        size;
    ngx_str_t     body;
    ngx_buf_t    *b;
    ngx_chain_t  *cl;

    for (cl = in; cl; cl = cl->next) {
        b = cl->buf;
        size = ngx_buf_in_memory(b) ? (size_t) (b->last - b->pos) : 0;

        if (size) {
            ngx_http_llm_mark_ttft(r, ctx);
        }

        if (size && ctx->capture == NULL) {
            size_t  len;

            if (r->headers_out.content_length_n > NGX_HTTP_LLM_MAX_CAPTURE) {
                /* too large to read: the budgets keep the reservation */
                ctx->mode = NGX_HTTP_LLM_MODE_NONE;
                ctx->cut_unread = ctx->hold_json;
                ctx->unread = !ngx_http_llm_vectors(r);
                ctx->no_store = 1;
                return NGX_OK;
            }

            /*
             * A held answer's Content-Length was cleared by the header
             * filter: its value, kept, sizes the capture as well (not
             * 4 KB, one allocation of its own from the C library, for an
             * answer of a few hundred bytes); the header filter let no
             * larger one than the capture's limit be held.
             */

            if (r->headers_out.content_length_n > 0) {
                len = (size_t) r->headers_out.content_length_n;

            } else if (ctx->hold_json && ctx->held_length > 0) {
                len = (size_t) ctx->held_length;

            } else {
                len = NGX_HTTP_LLM_HOLD_SIZE;
            }

            ctx->capture = ngx_create_temp_buf(r->pool, len);
            if (ctx->capture == NULL) {
                return NGX_ERROR;
            }
        }

        if (size) {
            if ((size_t) (ctx->capture->end - ctx->capture->last) < size) {
                size_t   used, cap;
                u_char  *p;

                used = ctx->capture->last - ctx->capture->pos;
                cap = ngx_max(used + size, used * 2);

                if (cap > NGX_HTTP_LLM_MAX_CAPTURE) {
                    /* too large to read: the budgets keep the reservation */
                    ctx->mode = NGX_HTTP_LLM_MODE_NONE;
                    ctx->cut_unread = ctx->hold_json;
                    ctx->unread = !ngx_http_llm_vectors(r);
                    ctx->no_store = 1;
                    return NGX_OK;
                }

                p = ngx_palloc(r->pool, cap);
                if (p == NULL) {
                    return NGX_ERROR;
                }

                ngx_memcpy(p, ctx->capture->pos, used);
                ngx_pfree(r->pool, ctx->capture->start);

                ctx->capture->start = p;
                ctx->capture->pos = p;
                ctx->capture->last = p + used;
                ctx->capture->end = p + cap;
            }

            ctx->capture->last = ngx_cpymem(ctx->capture->last, b->pos, size);
        }

        if (b->last_buf && !ctx->shadow && !ctx->embedding) {
            if (ctx->capture) {
                body.data = ctx->capture->pos;
                body.len = ctx->capture->last - ctx->capture->pos;
                ngx_http_llm_usage_json(r, ctx, &body);
            }

            ctx->mode = NGX_HTTP_LLM_MODE_NONE;
            return NGX_OK;
        }
    }

    return NGX_OK;
}


/*
 * The answer has ended, its last bytes not yet sent: the END hooks run now
 * (the cache stores it, the budgets are settled), not when the request ends, so that
 * the client's next request sees them.
 */

static void
ngx_http_llm_answer_end(ngx_http_llm_ctx_t *ctx)
{
    ngx_http_llm_answer_end_hooks(ctx);
}


void
ngx_http_llm_mark_ttft(ngx_http_request_t *r, ngx_http_llm_ctx_t *ctx)
{
    ngx_time_t  *tp;

    if (ctx->ttft >= 0) {
        return;
    }

    tp = ngx_timeofday();

    ctx->ttft = (ngx_msec_int_t) ((tp->sec - r->start_sec) * 1000
                                  + (tp->msec - r->start_msec));
    if (ctx->ttft < 0) {
        ctx->ttft = 0;
    }
}


static ngx_int_t
ngx_http_llm_filter_init(ngx_conf_t *cf)
{
    ngx_http_llm_hook_t  *h;

    ngx_http_next_header_filter = ngx_http_top_header_filter;
    ngx_http_top_header_filter = ngx_http_llm_header_filter;

    ngx_http_next_body_filter = ngx_http_top_body_filter;
    ngx_http_top_body_filter = ngx_http_llm_body_filter;

    /* the wrapper of the location's content handler (see below) */

    h = ngx_http_llm_add_hook(cf, NGX_HTTP_LLM_HOOK_CONTENT);
    if (h == NULL) {
        return NGX_ERROR;
    }

    h->request = ngx_http_llm_content_hook;

    return NGX_OK;
}


/*
 * The pipeline's CONTENT hook: a gateway request (or a shadow, not an
 * embedder's subrequest) goes to the location's content handler through
 * ngx_http_llm_content_handler().
 */

static ngx_int_t
ngx_http_llm_content_hook(ngx_http_request_t *r, ngx_http_llm_ctx_t *ctx)
{
    if ((r == r->main || ctx->shadow)
        && r->content_handler
        && r->content_handler != ngx_http_llm_content_handler)
    {
        ctx->content_handler = r->content_handler;
        r->content_handler = ngx_http_llm_content_handler;
    }

    return NGX_DECLINED;
}


/*
 * The content handler of a gateway request: the location's own (proxy),
 * then the upstream it created is finalized through
 * ngx_http_llm_upstream_finalize(), and the features adjust it (UPSTREAM
 * hooks: routing).
 */

static ngx_int_t
ngx_http_llm_content_handler(ngx_http_request_t *r)
{
    ngx_int_t             rc;
    ngx_http_llm_ctx_t   *ctx;
    ngx_http_upstream_t  *u;

    ctx = ngx_http_llm_get_ctx(r);

    /*
     * Until the answer's header is sent, coming back through error_page
     * means this attempt failed (perhaps at once, inside the handler), when
     * a feature armed it (routing, with fallbacks).
     */

    ctx->fallback_wait = ctx->fallback_armed;

    /* from here on the request may reach the provider: it may cost */
    ctx->forwarded = 1;

    rc = ctx->content_handler(r);

    u = r->upstream;

    if (u == NULL || u->conf == NULL
        || u->finalize_request == ngx_http_llm_upstream_finalize)
    {
        /* no upstream, or a later attempt (run inside this one) has it */
        return rc;
    }

    ctx->upstream_finalize = u->finalize_request;
    u->finalize_request = ngx_http_llm_upstream_finalize;

    (void) ngx_http_llm_run_hooks(r, ctx, NGX_HTTP_LLM_HOOK_UPSTREAM);

    return rc;
}


/* read a shadow's captured answer: usage, text; JSON or an event stream */

void
ngx_http_llm_shadow_read(ngx_http_request_t *r, ngx_http_llm_ctx_t *sctx)
{
    u_char                    *p, *end, *scratch;
    ngx_str_t                  body, event, data;
    ngx_http_llm_sse_t         sse;
    ngx_http_llm_sse_event_t   ev;

    if (sctx->capture == NULL) {
        return;
    }

    body.data = sctx->capture->pos;
    body.len = sctx->capture->last - sctx->capture->pos;

    if (!sctx->stream) {
        ngx_http_llm_usage_json(r, sctx, &body);
        return;
    }

    scratch = ngx_pnalloc(r->pool, body.len + 1);
    if (scratch == NULL) {
        return;
    }

    ngx_http_llm_sse_init(&sse);

    sctx->mode = NGX_HTTP_LLM_MODE_STREAM;

    for (p = body.data; p < body.data + body.len; p = end) {
        end = ngx_http_llm_sse_find_end(&sse, p, body.data + body.len);
        if (end == NULL) {
            end = body.data + body.len;
        }

        if (!ngx_http_llm_sse_read(p, end, &ev, scratch) || !ev.has_data) {
            continue;
        }

        event.data = (u_char *) ev.event;
        event.len = ev.event_len;
        data.data = (u_char *) ev.data;
        data.len = ev.data_len;

        (void) ngx_http_llm_usage_event(r, sctx, &event, &data);
    }
}


/*
 * At the end of the upstream's data, an event whose last line has no line
 * end: it is a whole event when its data is a complete JSON text (or
 * [DONE]), and is then read and passed on as it is.
 */

static ngx_uint_t
ngx_http_llm_whole_event(ngx_http_request_t *r, ngx_http_llm_ctx_t *ctx,
    u_char *p, u_char *last)
{
    size_t                     size;
    ngx_http_llm_json_t        json;
    ngx_http_llm_stream_t     *st;
    ngx_http_llm_sse_event_t   ev;

    st = ctx->st;
    size = last - p;

    if (size > st->scratch_size) {
        if (st->scratch) {
            ngx_pfree(r->pool, st->scratch);
        }

        st->scratch_size = ngx_max(size, NGX_HTTP_LLM_HOLD_SIZE);
        st->scratch = ngx_palloc(r->pool, st->scratch_size);
        if (st->scratch == NULL) {
            st->scratch_size = 0;
            return 0;
        }
    }

    if (!ngx_http_llm_sse_read(p, last, &ev, st->scratch) || !ev.has_data) {
        return 0;
    }

    if (ev.data_len == 6 && ngx_strncmp(ev.data, "[DONE]", 6) == 0) {
        return 1;
    }

    ngx_memzero(&json, sizeof(ngx_http_llm_json_t));
    json.data = ev.data;
    json.len = ev.data_len;

    /* validation only: no tokens */

    return (ngx_http_llm_json_parse(&json) == NGX_HTTP_LLM_JSON_OK);
}


/* the Responses API's error event, for a stream cut short upstream */

static ngx_int_t
ngx_http_llm_stream_interrupted(ngx_http_request_t *r, ngx_http_llm_ctx_t *ctx,
    ngx_str_t *ev)
{
    u_char  *p;

    p = ngx_pnalloc(r->pool, 256 + NGX_INT64_LEN);
    if (p == NULL) {
        return NGX_ERROR;
    }

    ev->data = p;

    p = ngx_sprintf(p, "event: error\n"
                    "data: {\"type\":\"error\",\"code\":\"stream_interrupted\","
                    "\"message\":\"The upstream's stream ended before the "
                    "answer was complete.\",\"param\":null,"
                    "\"sequence_number\":%L}\n\n", ctx->sequence + 1);

    ev->len = p - ev->data;

    return NGX_OK;
}


/*
 * The end of a stream cut by a budget, for the APIs whose end carries the
 * usage: the Responses API's response.incomplete event (reason
 * max_output_tokens), Gemini's last chunk (finishReason MAX_TOKENS).
 */

static ngx_buf_t *
ngx_http_llm_cut_events(ngx_http_request_t *r, ngx_http_llm_ctx_t *ctx)
{
    size_t      len, prompt;
    ngx_buf_t  *b;

    prompt = ngx_http_llm_prompt_tokens(ctx);

    len = 512 + 4 * NGX_INT64_LEN + ctx->response_id.len
          + ngx_http_llm_json_encoded_len(ctx->model.data, ctx->model.len);

    b = ngx_create_temp_buf(r->pool, len);
    if (b == NULL) {
        return NULL;
    }

    if (ctx->api == NGX_HTTP_LLM_API_GEMINI) {
        b->last = ngx_sprintf(b->last,
                      "data: {\"candidates\":[{\"content\":{\"role\":\"model\","
                      "\"parts\":[{\"text\":\"\"}]},\"finishReason\":"
                      "\"MAX_TOKENS\",\"index\":0}],\"usageMetadata\":"
                      "{\"promptTokenCount\":%uz,\"candidatesTokenCount\":%uz,"
                      "\"totalTokenCount\":%uz},\"modelVersion\":\"",
                      prompt, ctx->completion_tokens,
                      prompt + ctx->completion_tokens);
        b->last = ngx_http_llm_json_encode_string(b->last, ctx->model.data,
                                                  ctx->model.len);
        b->last = ngx_cpymem(b->last, "\"}\r\n\r\n", 6);

        return b;
    }

    b->last = ngx_sprintf(b->last,
                  "event: response.incomplete\n"
                  "data: {\"type\":\"response.incomplete\","
                  "\"sequence_number\":%L,\"response\":{\"id\":\"%V\","
                  "\"object\":\"response\",\"status\":\"incomplete\","
                  "\"incomplete_details\":{\"reason\":\"max_output_tokens\"},"
                  "\"model\":\"",
                  ctx->sequence + 1, &ctx->response_id);
    b->last = ngx_http_llm_json_encode_string(b->last, ctx->model.data,
                                              ctx->model.len);
    b->last = ngx_sprintf(b->last,
                  "\",\"output\":[],\"usage\":{\"input_tokens\":%uz,"
                  "\"input_tokens_details\":{\"cached_tokens\":0},"
                  "\"output_tokens\":%uz,"
                  "\"output_tokens_details\":{\"reasoning_tokens\":0},"
                  "\"total_tokens\":%uz}}}\n\n",
                  prompt, ctx->completion_tokens,
                  prompt + ctx->completion_tokens);

    return b;
}
