
/*
 * Copyright (C) ngx_llm_module authors
 *
 * The answer cache's replay: a hit is written, by the cache's content
 * handler, in the format the request asks for (JSON or an event stream;
 * OpenAI chat, the Responses API, Anthropic or Gemini), whatever the
 * format it was stored from: an entry holds the answer's text, model,
 * usage and finish reason, not its bytes.
 */


#include "ngx_http_llm_cache.h"


static ngx_buf_t *ngx_http_llm_cache_openai(ngx_http_request_t *r,
    ngx_http_llm_ctx_t *ctx, ngx_http_llm_cache_entry_t *e);
static ngx_buf_t *ngx_http_llm_cache_anthropic(ngx_http_request_t *r,
    ngx_http_llm_ctx_t *ctx, ngx_http_llm_cache_entry_t *e);
static ngx_buf_t *ngx_http_llm_cache_responses(ngx_http_request_t *r,
    ngx_http_llm_ctx_t *ctx, ngx_http_llm_cache_entry_t *e);
static ngx_buf_t *ngx_http_llm_cache_gemini(ngx_http_request_t *r,
    ngx_http_llm_cache_entry_t *e);
static size_t ngx_http_llm_cache_piece(u_char *p, u_char *last);
static u_char *ngx_http_llm_cache_id(u_char *p);


/* the content handler of a hit: the entry in the format asked for */

ngx_int_t
ngx_http_llm_cache_handler(ngx_http_request_t *r)
{
    ngx_int_t                  rc;
    ngx_buf_t                 *b;
    ngx_chain_t                out;
    ngx_http_llm_ctx_t        *ctx;
    ngx_http_llm_cache_ctx_t  *cctx;

    ctx = ngx_http_llm_get_ctx(r);

    if (ctx == NULL || ctx->cache == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    cctx = ctx->cache;

    /* the figures of the cached answer: what this hit saved */

    ctx->prompt_tokens = cctx->entry.prompt_tokens;
    ctx->completion_tokens = cctx->entry.completion_tokens;
    ctx->completion_estimate = cctx->entry.completion_tokens;
    ctx->prompt_reported = 1;
    ctx->usage_reported = 1;

    if (ctx->api == NGX_HTTP_LLM_API_ANTHROPIC) {
        b = ngx_http_llm_cache_anthropic(r, ctx, &cctx->entry);

    } else if (ctx->endpoint == NGX_HTTP_LLM_EP_RESPONSES) {
        b = ngx_http_llm_cache_responses(r, ctx, &cctx->entry);

    } else if (ctx->api == NGX_HTTP_LLM_API_GEMINI) {
        b = ngx_http_llm_cache_gemini(r, &cctx->entry);

    } else {
        b = ngx_http_llm_cache_openai(r, ctx, &cctx->entry);
    }

    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    b->last_buf = 1;
    b->last_in_chain = 1;
    b->flush = 1;

    r->headers_out.status = NGX_HTTP_OK;
    r->headers_out.content_length_n = b->last - b->pos;

    if (ctx->req.stream) {
        ngx_str_set(&r->headers_out.content_type, "text/event-stream");

    } else {
        ngx_str_set(&r->headers_out.content_type, "application/json");
    }

    r->headers_out.content_type_len = r->headers_out.content_type.len;
    r->headers_out.content_type_lowcase = NULL;

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    out.buf = b;
    out.next = NULL;

    return ngx_http_output_filter(r, &out);
}


/*
 * OpenAI: a chat.completion, or chunks: the role, the text in pieces, the
 * finish reason, usage if the client asked for it, [DONE].
 */

static ngx_buf_t *
ngx_http_llm_cache_openai(ngx_http_request_t *r, ngx_http_llm_ctx_t *ctx,
    ngx_http_llm_cache_entry_t *e)
{
    u_char     *p, *id, *id_end, *text, *last;
    size_t      len, piece, pieces, head;
    time_t      created;
    ngx_buf_t  *b;

    created = ngx_time();

    /* the id, the creation time and the model, once, reused by each chunk */

    head = sizeof("chatcmpl-") - 1 + 24;

    id = ngx_pnalloc(r->pool, head);
    if (id == NULL) {
        return NULL;
    }

    id_end = ngx_cpymem(id, "chatcmpl-", sizeof("chatcmpl-") - 1);
    id_end = ngx_http_llm_cache_id(id_end);

    pieces = e->text.len / NGX_HTTP_LLM_CACHE_MIN_PIECE + 2;

    len = ngx_http_llm_json_encoded_len(e->text.data, e->text.len)
          + (pieces + 4)
            * (256 + head + NGX_TIME_T_LEN
               + ngx_http_llm_json_encoded_len(e->model.data,
                                               e->model.len)
               + ngx_http_llm_json_encoded_len(e->finish.data,
                                               e->finish.len)
               + 3 * NGX_INT32_LEN);

    b = ngx_create_temp_buf(r->pool, len);
    if (b == NULL) {
        return NULL;
    }

    p = b->last;

#define ngx_http_llm_cache_chunk_head(p)                                      \
    p = ngx_cpymem(p, "data: {\"id\":\"", sizeof("data: {\"id\":\"") - 1);    \
    p = ngx_cpymem(p, id, id_end - id);                                       \
    p = ngx_sprintf(p, "\",\"object\":\"chat.completion.chunk\","             \
                    "\"created\":%T,\"model\":\"", created);                  \
    p = ngx_http_llm_json_encode_string(p, e->model.data,                     \
                                        e->model.len);                        \
    p = ngx_cpymem(p, "\",", 2)

    if (!ctx->req.stream) {
        p = ngx_cpymem(p, "{\"id\":\"", sizeof("{\"id\":\"") - 1);
        p = ngx_cpymem(p, id, id_end - id);
        p = ngx_sprintf(p, "\",\"object\":\"chat.completion\",\"created\":%T,"
                        "\"model\":\"", created);
        p = ngx_http_llm_json_encode_string(p, e->model.data,
                                            e->model.len);
        p = ngx_cpymem(p, "\",\"choices\":[{\"index\":0,\"message\":"
                       "{\"role\":\"assistant\",\"content\":\"",
                       sizeof("\",\"choices\":[{\"index\":0,\"message\":"
                              "{\"role\":\"assistant\",\"content\":\"") - 1);
        p = ngx_http_llm_json_encode_string(p, e->text.data,
                                            e->text.len);
        p = ngx_cpymem(p, "\",\"refusal\":null},\"logprobs\":null,"
                       "\"finish_reason\":\"",
                       sizeof("\",\"refusal\":null},\"logprobs\":null,"
                              "\"finish_reason\":\"") - 1);
        p = ngx_http_llm_json_encode_string(p, e->finish.data,
                                            e->finish.len);
        p = ngx_sprintf(p, "\"}],\"usage\":{\"prompt_tokens\":%uD,"
                        "\"completion_tokens\":%uD,\"total_tokens\":%uD}}\n",
                        e->prompt_tokens, e->completion_tokens,
                        e->prompt_tokens + e->completion_tokens);

        b->last = p;
        return b;
    }

    ngx_http_llm_cache_chunk_head(p);
    p = ngx_cpymem(p, "\"choices\":[{\"index\":0,\"delta\":{\"role\":"
                   "\"assistant\",\"content\":\"\"},\"logprobs\":null,"
                   "\"finish_reason\":null}]}\n\n",
                   sizeof("\"choices\":[{\"index\":0,\"delta\":{\"role\":"
                          "\"assistant\",\"content\":\"\"},\"logprobs\":null,"
                          "\"finish_reason\":null}]}\n\n") - 1);

    text = e->text.data;
    last = text + e->text.len;

    while (text < last) {
        piece = ngx_http_llm_cache_piece(text, last);

        ngx_http_llm_cache_chunk_head(p);
        p = ngx_cpymem(p, "\"choices\":[{\"index\":0,\"delta\":{\"content\":\"",
                       sizeof("\"choices\":[{\"index\":0,\"delta\":"
                              "{\"content\":\"") - 1);
        p = ngx_http_llm_json_encode_string(p, text, piece);
        p = ngx_cpymem(p, "\"},\"logprobs\":null,\"finish_reason\":null}]}"
                       "\n\n",
                       sizeof("\"},\"logprobs\":null,\"finish_reason\":null}]}"
                              "\n\n") - 1);

        text += piece;
    }

    ngx_http_llm_cache_chunk_head(p);
    p = ngx_cpymem(p, "\"choices\":[{\"index\":0,\"delta\":{},"
                   "\"logprobs\":null,\"finish_reason\":\"",
                   sizeof("\"choices\":[{\"index\":0,\"delta\":{},"
                          "\"logprobs\":null,\"finish_reason\":\"") - 1);
    p = ngx_http_llm_json_encode_string(p, e->finish.data,
                                        e->finish.len);
    p = ngx_cpymem(p, "\"}]}\n\n", sizeof("\"}]}\n\n") - 1);

    if (ctx->req.include_usage) {
        ngx_http_llm_cache_chunk_head(p);
        p = ngx_sprintf(p, "\"choices\":[],\"usage\":{\"prompt_tokens\":%uD,"
                        "\"completion_tokens\":%uD,\"total_tokens\":%uD}}"
                        "\n\n",
                        e->prompt_tokens, e->completion_tokens,
                        e->prompt_tokens + e->completion_tokens);
    }

#undef ngx_http_llm_cache_chunk_head

    p = ngx_cpymem(p, "data: [DONE]\n\n", sizeof("data: [DONE]\n\n") - 1);

    b->last = p;

    return b;
}


/* Gemini: a generateContent answer with the text in one part */

static ngx_buf_t *
ngx_http_llm_cache_gemini(ngx_http_request_t *r,
    ngx_http_llm_cache_entry_t *e)
{
    u_char     *p;
    size_t      len;
    ngx_buf_t  *b;

    len = sizeof("{\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"") - 1
          + ngx_http_llm_json_encoded_len(e->text.data, e->text.len)
          + sizeof("\"}],\"role\":\"model\"},\"finishReason\":\"") - 1
          + ngx_http_llm_json_encoded_len(e->finish.data,
                                          e->finish.len)
          + sizeof("\",\"index\":0}],\"usageMetadata\":{"
                   "\"promptTokenCount\":,\"candidatesTokenCount\":,"
                   "\"totalTokenCount\":},\"modelVersion\":\"\"}\n") - 1
          + 3 * NGX_INT64_LEN
          + ngx_http_llm_json_encoded_len(e->model.data, e->model.len);

    b = ngx_create_temp_buf(r->pool, len);
    if (b == NULL) {
        return NULL;
    }

    p = ngx_cpymem(b->last, "{\"candidates\":[{\"content\":{\"parts\":"
                   "[{\"text\":\"",
                   sizeof("{\"candidates\":[{\"content\":{\"parts\":"
                          "[{\"text\":\"") - 1);
    p = ngx_http_llm_json_encode_string(p, e->text.data, e->text.len);
    p = ngx_cpymem(p, "\"}],\"role\":\"model\"},\"finishReason\":\"",
                   sizeof("\"}],\"role\":\"model\"},\"finishReason\":\"")
                   - 1);
    p = ngx_http_llm_json_encode_string(p, e->finish.data,
                                        e->finish.len);
    p = ngx_sprintf(p, "\",\"index\":0}],\"usageMetadata\":{"
                    "\"promptTokenCount\":%uD,\"candidatesTokenCount\":%uD,"
                    "\"totalTokenCount\":%uD},\"modelVersion\":\"",
                    e->prompt_tokens, e->completion_tokens,
                    e->prompt_tokens + e->completion_tokens);
    p = ngx_http_llm_json_encode_string(p, e->model.data, e->model.len);
    p = ngx_cpymem(p, "\"}\n", 3);

    b->last = p;

    return b;
}


/*
 * Anthropic: a message, or its events: message_start, one text block
 * (start, deltas, stop), message_delta with the stop reason and the output
 * tokens, message_stop.
 */

static ngx_buf_t *
ngx_http_llm_cache_anthropic(ngx_http_request_t *r, ngx_http_llm_ctx_t *ctx,
    ngx_http_llm_cache_entry_t *e)
{
    u_char     *p, *id, *id_end, *text, *last;
    size_t      len, piece, pieces;
    ngx_buf_t  *b;

    id = ngx_pnalloc(r->pool, sizeof("msg_") - 1 + 24);
    if (id == NULL) {
        return NULL;
    }

    id_end = ngx_cpymem(id, "msg_", sizeof("msg_") - 1);
    id_end = ngx_http_llm_cache_id(id_end);

    pieces = e->text.len / NGX_HTTP_LLM_CACHE_MIN_PIECE + 2;

    len = ngx_http_llm_json_encoded_len(e->text.data, e->text.len)
          + pieces * 256
          + 1024 + (id_end - id)
          + ngx_http_llm_json_encoded_len(e->model.data, e->model.len)
          + ngx_http_llm_json_encoded_len(e->finish.data, e->finish.len)
          + ngx_http_llm_json_encoded_len(e->stop.data, e->stop.len)
          + 3 * NGX_INT32_LEN;

    b = ngx_create_temp_buf(r->pool, len);
    if (b == NULL) {
        return NULL;
    }

    p = b->last;

    if (!ctx->req.stream) {
        p = ngx_cpymem(p, "{\"id\":\"", sizeof("{\"id\":\"") - 1);
        p = ngx_cpymem(p, id, id_end - id);
        p = ngx_cpymem(p, "\",\"type\":\"message\",\"role\":\"assistant\","
                       "\"model\":\"",
                       sizeof("\",\"type\":\"message\",\"role\":\"assistant\","
                              "\"model\":\"") - 1);
        p = ngx_http_llm_json_encode_string(p, e->model.data,
                                            e->model.len);
        p = ngx_cpymem(p, "\",\"content\":[{\"type\":\"text\",\"text\":\"",
                       sizeof("\",\"content\":[{\"type\":\"text\","
                              "\"text\":\"") - 1);
        p = ngx_http_llm_json_encode_string(p, e->text.data,
                                            e->text.len);
        p = ngx_cpymem(p, "\"}],\"stop_reason\":\"",
                       sizeof("\"}],\"stop_reason\":\"") - 1);
        p = ngx_http_llm_json_encode_string(p, e->finish.data,
                                            e->finish.len);
        p = ngx_cpymem(p, "\",\"stop_sequence\":",
                       sizeof("\",\"stop_sequence\":") - 1);

        if (e->stop.len) {
            *p++ = '"';
            p = ngx_http_llm_json_encode_string(p, e->stop.data,
                                                e->stop.len);
            *p++ = '"';

        } else {
            p = ngx_cpymem(p, "null", 4);
        }

        p = ngx_sprintf(p, ",\"usage\":{\"input_tokens\":%uD,"
                        "\"output_tokens\":%uD}}\n",
                        e->prompt_tokens, e->completion_tokens);

        b->last = p;
        return b;
    }

    p = ngx_cpymem(p, "event: message_start\ndata: {\"type\":\"message_start\","
                   "\"message\":{\"id\":\"",
                   sizeof("event: message_start\ndata: {\"type\":"
                          "\"message_start\",\"message\":{\"id\":\"") - 1);
    p = ngx_cpymem(p, id, id_end - id);
    p = ngx_cpymem(p, "\",\"type\":\"message\",\"role\":\"assistant\","
                   "\"model\":\"",
                   sizeof("\",\"type\":\"message\",\"role\":\"assistant\","
                          "\"model\":\"") - 1);
    p = ngx_http_llm_json_encode_string(p, e->model.data, e->model.len);
    p = ngx_sprintf(p, "\",\"content\":[],\"stop_reason\":null,"
                    "\"stop_sequence\":null,\"usage\":{\"input_tokens\":%uD,"
                    "\"output_tokens\":1}}}\n\n"
                    "event: content_block_start\n"
                    "data: {\"type\":\"content_block_start\",\"index\":0,"
                    "\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n",
                    e->prompt_tokens);

    text = e->text.data;
    last = text + e->text.len;

    while (text < last) {
        piece = ngx_http_llm_cache_piece(text, last);

        p = ngx_cpymem(p, "event: content_block_delta\n"
                       "data: {\"type\":\"content_block_delta\",\"index\":0,"
                       "\"delta\":{\"type\":\"text_delta\",\"text\":\"",
                       sizeof("event: content_block_delta\n"
                              "data: {\"type\":\"content_block_delta\","
                              "\"index\":0,\"delta\":{\"type\":\"text_delta\","
                              "\"text\":\"") - 1);
        p = ngx_http_llm_json_encode_string(p, text, piece);
        p = ngx_cpymem(p, "\"}}\n\n", sizeof("\"}}\n\n") - 1);

        text += piece;
    }

    p = ngx_cpymem(p, "event: content_block_stop\n"
                   "data: {\"type\":\"content_block_stop\",\"index\":0}\n\n"
                   "event: message_delta\n"
                   "data: {\"type\":\"message_delta\",\"delta\":"
                   "{\"stop_reason\":\"",
                   sizeof("event: content_block_stop\n"
                          "data: {\"type\":\"content_block_stop\","
                          "\"index\":0}\n\n"
                          "event: message_delta\n"
                          "data: {\"type\":\"message_delta\",\"delta\":"
                          "{\"stop_reason\":\"") - 1);
    p = ngx_http_llm_json_encode_string(p, e->finish.data,
                                        e->finish.len);
    p = ngx_cpymem(p, "\",\"stop_sequence\":",
                   sizeof("\",\"stop_sequence\":") - 1);

    if (e->stop.len) {
        *p++ = '"';
        p = ngx_http_llm_json_encode_string(p, e->stop.data,
                                            e->stop.len);
        *p++ = '"';

    } else {
        p = ngx_cpymem(p, "null", 4);
    }

    p = ngx_sprintf(p, "},\"usage\":{\"output_tokens\":%uD}}\n\n"
                    "event: message_stop\n"
                    "data: {\"type\":\"message_stop\"}\n\n",
                    e->completion_tokens);

    b->last = p;

    return b;
}


/*
 * The length of the next piece of a replayed stream: about
 * NGX_HTTP_LLM_CACHE_PIECE bytes, cut after a space when there is one past
 * the minimum, never inside a UTF-8 sequence.
 */

static size_t
ngx_http_llm_cache_piece(u_char *p, u_char *last)
{
    u_char  *end, *q;

    if (last - p <= NGX_HTTP_LLM_CACHE_PIECE) {
        return last - p;
    }

    end = p + NGX_HTTP_LLM_CACHE_PIECE;

    for (q = end; q > p + NGX_HTTP_LLM_CACHE_MIN_PIECE; q--) {
        if (q[-1] == ' ' || q[-1] == '\n') {
            return q - p;
        }
    }

    while (end > p + 1 && (*end & 0xc0) == 0x80) {
        end--;
    }

    return end - p;
}


static u_char *
ngx_http_llm_cache_id(u_char *p)
{
    return ngx_sprintf(p, "%08xD%08xD%08xD", (uint32_t) ngx_random(),
                       (uint32_t) ngx_random(), (uint32_t) ngx_random());
}


/*
 * The Responses API: a response object, or its events: created,
 * in_progress, the message item and its output_text part added, the text
 * in deltas, the text, part and item done, completed (with the usage).
 */

static ngx_buf_t *
ngx_http_llm_cache_responses(ngx_http_request_t *r, ngx_http_llm_ctx_t *ctx,
    ngx_http_llm_cache_entry_t *e)
{
    u_char     *p, *text, *last;
    u_char      id[64], msg[64], *id_end, *msg_end;
    size_t      len, piece, pieces, model_len, text_len;
    time_t      created;
    ngx_buf_t  *b;
    ngx_int_t   seq;

    created = ngx_time();

    id_end = ngx_cpymem(id, "resp_", sizeof("resp_") - 1);
    id_end = ngx_http_llm_cache_id(id_end);
    msg_end = ngx_cpymem(msg, "msg_", sizeof("msg_") - 1);
    msg_end = ngx_http_llm_cache_id(msg_end);

    model_len = ngx_http_llm_json_encoded_len(e->model.data,
                                              e->model.len);
    text_len = ngx_http_llm_json_encoded_len(e->text.data,
                                             e->text.len);

    pieces = e->text.len / NGX_HTTP_LLM_CACHE_MIN_PIECE + 2;

    len = 5 * text_len + pieces * (256 + (msg_end - msg))
          + 4096 + 3 * model_len + 3 * (id_end - id) + 6 * (msg_end - msg);

    b = ngx_create_temp_buf(r->pool, len);
    if (b == NULL) {
        return NULL;
    }

    p = b->last;

#define ngx_http_llm_cache_response(p, status)                                \
    p = ngx_cpymem(p, "{\"id\":\"", sizeof("{\"id\":\"") - 1);                \
    p = ngx_cpymem(p, id, id_end - id);                                       \
    p = ngx_sprintf(p, "\",\"object\":\"response\",\"created_at\":%T,"        \
                    "\"status\":\"" status "\",\"model\":\"", created);       \
    p = ngx_http_llm_json_encode_string(p, e->model.data,                     \
                                        e->model.len);                        \
    p = ngx_cpymem(p, "\",", 2)

#define ngx_http_llm_cache_item(p, status)                                    \
    p = ngx_cpymem(p, "{\"id\":\"", sizeof("{\"id\":\"") - 1);                \
    p = ngx_cpymem(p, msg, msg_end - msg);                                    \
    p = ngx_cpymem(p, "\",\"type\":\"message\",\"status\":\"" status          \
                   "\",\"role\":\"assistant\",\"content\":",                  \
                   sizeof("\",\"type\":\"message\",\"status\":\"" status      \
                          "\",\"role\":\"assistant\",\"content\":") - 1)

#define ngx_http_llm_cache_part(p)                                            \
    p = ngx_cpymem(p, "{\"type\":\"output_text\",\"annotations\":[],"         \
                   "\"text\":\"",                                             \
                   sizeof("{\"type\":\"output_text\",\"annotations\":[],"     \
                          "\"text\":\"") - 1);                                \
    p = ngx_http_llm_json_encode_string(p, e->text.data,                      \
                                        e->text.len);                         \
    p = ngx_cpymem(p, "\"}", 2)

#define ngx_http_llm_cache_event_head(p, name)                                \
    p = ngx_sprintf(p, "event: " name "\ndata: {\"type\":\"" name "\","       \
                    "\"sequence_number\":%i,", seq++)

#define ngx_http_llm_cache_text_ids(p)                                        \
    p = ngx_cpymem(p, "\"item_id\":\"", sizeof("\"item_id\":\"") - 1);        \
    p = ngx_cpymem(p, msg, msg_end - msg);                                    \
    p = ngx_cpymem(p, "\",\"output_index\":0,\"content_index\":0,",           \
                   sizeof("\",\"output_index\":0,\"content_index\":0,") - 1)

    if (!ctx->req.stream) {
        ngx_http_llm_cache_response(p, "completed");
        p = ngx_cpymem(p, "\"output\":[", sizeof("\"output\":[") - 1);
        ngx_http_llm_cache_item(p, "completed");
        *p++ = '[';
        ngx_http_llm_cache_part(p);
        p = ngx_sprintf(p, "]}],\"usage\":{\"input_tokens\":%uD,"
                        "\"input_tokens_details\":{\"cached_tokens\":0},"
                        "\"output_tokens\":%uD,"
                        "\"output_tokens_details\":{\"reasoning_tokens\":0},"
                        "\"total_tokens\":%uD}}\n",
                        e->prompt_tokens, e->completion_tokens,
                        e->prompt_tokens + e->completion_tokens);

        b->last = p;
        return b;
    }

    seq = 0;

    ngx_http_llm_cache_event_head(p, "response.created");
    p = ngx_cpymem(p, "\"response\":", sizeof("\"response\":") - 1);
    ngx_http_llm_cache_response(p, "in_progress");
    p = ngx_cpymem(p, "\"output\":[],\"usage\":null}}\n\n",
                   sizeof("\"output\":[],\"usage\":null}}\n\n") - 1);

    ngx_http_llm_cache_event_head(p, "response.in_progress");
    p = ngx_cpymem(p, "\"response\":", sizeof("\"response\":") - 1);
    ngx_http_llm_cache_response(p, "in_progress");
    p = ngx_cpymem(p, "\"output\":[],\"usage\":null}}\n\n",
                   sizeof("\"output\":[],\"usage\":null}}\n\n") - 1);

    ngx_http_llm_cache_event_head(p, "response.output_item.added");
    p = ngx_cpymem(p, "\"output_index\":0,\"item\":",
                   sizeof("\"output_index\":0,\"item\":") - 1);
    ngx_http_llm_cache_item(p, "in_progress");
    p = ngx_cpymem(p, "[]}}\n\n", sizeof("[]}}\n\n") - 1);

    ngx_http_llm_cache_event_head(p, "response.content_part.added");
    ngx_http_llm_cache_text_ids(p);
    p = ngx_cpymem(p, "\"part\":{\"type\":\"output_text\",\"annotations\":[],"
                   "\"text\":\"\"}}\n\n",
                   sizeof("\"part\":{\"type\":\"output_text\","
                          "\"annotations\":[],\"text\":\"\"}}\n\n") - 1);

    text = e->text.data;
    last = text + e->text.len;

    while (text < last) {
        piece = ngx_http_llm_cache_piece(text, last);

        ngx_http_llm_cache_event_head(p, "response.output_text.delta");
        ngx_http_llm_cache_text_ids(p);
        p = ngx_cpymem(p, "\"delta\":\"", sizeof("\"delta\":\"") - 1);
        p = ngx_http_llm_json_encode_string(p, text, piece);
        p = ngx_cpymem(p, "\"}\n\n", sizeof("\"}\n\n") - 1);

        text += piece;
    }

    ngx_http_llm_cache_event_head(p, "response.output_text.done");
    ngx_http_llm_cache_text_ids(p);
    p = ngx_cpymem(p, "\"text\":\"", sizeof("\"text\":\"") - 1);
    p = ngx_http_llm_json_encode_string(p, e->text.data, e->text.len);
    p = ngx_cpymem(p, "\"}\n\n", sizeof("\"}\n\n") - 1);

    ngx_http_llm_cache_event_head(p, "response.content_part.done");
    ngx_http_llm_cache_text_ids(p);
    p = ngx_cpymem(p, "\"part\":", sizeof("\"part\":") - 1);
    ngx_http_llm_cache_part(p);
    p = ngx_cpymem(p, "}\n\n", sizeof("}\n\n") - 1);

    ngx_http_llm_cache_event_head(p, "response.output_item.done");
    p = ngx_cpymem(p, "\"output_index\":0,\"item\":",
                   sizeof("\"output_index\":0,\"item\":") - 1);
    ngx_http_llm_cache_item(p, "completed");
    *p++ = '[';
    ngx_http_llm_cache_part(p);
    p = ngx_cpymem(p, "]}}\n\n", sizeof("]}}\n\n") - 1);

    ngx_http_llm_cache_event_head(p, "response.completed");
    p = ngx_cpymem(p, "\"response\":", sizeof("\"response\":") - 1);
    ngx_http_llm_cache_response(p, "completed");
    p = ngx_cpymem(p, "\"output\":[", sizeof("\"output\":[") - 1);
    ngx_http_llm_cache_item(p, "completed");
    *p++ = '[';
    ngx_http_llm_cache_part(p);
    p = ngx_sprintf(p, "]}],\"usage\":{\"input_tokens\":%uD,"
                    "\"input_tokens_details\":{\"cached_tokens\":0},"
                    "\"output_tokens\":%uD,"
                    "\"output_tokens_details\":{\"reasoning_tokens\":0},"
                    "\"total_tokens\":%uD}}}\n\n",
                    e->prompt_tokens, e->completion_tokens,
                    e->prompt_tokens + e->completion_tokens);

#undef ngx_http_llm_cache_response
#undef ngx_http_llm_cache_item
#undef ngx_http_llm_cache_part
#undef ngx_http_llm_cache_event_head
#undef ngx_http_llm_cache_text_ids

    b->last = p;

    return b;
}
