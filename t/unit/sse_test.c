/*
 * Copyright (C) ngx_llm_module authors
 *
 * Unit tests of the incremental SSE parser; prints TAP.
 *
 *   cc -I ngx_llm_module/engines t/unit/sse_test.c \
 *       ngx_llm_module/engines/ngx_http_llm_sse.c -o build/unit/sse_test
 */


#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ngx_http_llm_sse.h"


#define MAX_EVENTS  256


typedef struct {
    size_t        start;            /* raw range in the whole stream */
    size_t        end;
    int           found;            /* ngx_http_llm_sse_read() */
    int           has_data;
    int           has_event;
    int           in_scratch;       /* data was joined into scratch */
    char         *event;
    size_t        event_len;
    char         *data;
    size_t        data_len;
} rec_t;


typedef struct {
    rec_t         ev[MAX_EVENTS];
    size_t        n;                /* complete events */
    rec_t         tail;             /* the rest, read at end of stream */
    int           bad;              /* something out of bounds or too many */
} res_t;


static int        tests;
static int        failures;


static int
ok(int cond, const char *fmt, ...)
{
    va_list  args;

    tests++;

    if (!cond) {
        failures++;
        printf("not ");
    }

    printf("ok %d - ", tests);

    va_start(args, fmt);
    vprintf(fmt, args);
    va_end(args);

    printf("\n");

    return cond;
}


static char *
dup_mem(const u_char *p, size_t len)
{
    char  *s;

    s = malloc(len + 1);
    if (s == NULL) {
        abort();
    }

    memcpy(s, p, len);
    s[len] = '\0';

    return s;
}


/* inside [start, end) */

static int
within(const u_char *p, size_t len, const u_char *start, size_t size)
{
    return p >= start && p <= start + size && len <= size - (p - start);
}


/*
 * Read one raw event from an exactly sized copy into an exactly sized
 * scratch buffer, and keep what was read.
 */

static void
read_rec(const u_char *raw, size_t len, size_t start, rec_t *r, int *bad)
{
    u_char                    *copy, *scratch;
    ngx_http_llm_sse_event_t   ev;

    copy = malloc(len ? len : 1);
    scratch = malloc(len ? len : 1);
    if (copy == NULL || scratch == NULL) {
        abort();
    }

    memcpy(copy, raw, len);

    memset(r, 0, sizeof(rec_t));

    r->start = start;
    r->end = start + len;
    r->found = ngx_http_llm_sse_read(copy, copy + len, &ev, scratch);
    r->has_data = ev.has_data;
    r->has_event = (ev.event != NULL);

    if (ev.has_data) {
        if (within(ev.data, ev.data_len, copy, len)) {
            r->in_scratch = 0;

        } else if (within(ev.data, ev.data_len, scratch, len)) {
            r->in_scratch = 1;

        } else {
            *bad = 1;
            ev.data_len = 0;
        }

        r->data = dup_mem(ev.data, ev.data_len);
        r->data_len = ev.data_len;
    }

    if (ev.event) {
        if (!within(ev.event, ev.event_len, copy, len)) {
            *bad = 1;
            ev.event_len = 0;
        }

        r->event = dup_mem(ev.event, ev.event_len);
        r->event_len = ev.event_len;
    }

    free(copy);
    free(scratch);
}


static void
free_rec(rec_t *r)
{
    free(r->event);
    free(r->data);
    r->event = NULL;
    r->data = NULL;
}


static void
free_res(res_t *res)
{
    size_t  i;

    for (i = 0; i < res->n; i++) {
        free_rec(&res->ev[i]);
    }

    free_rec(&res->tail);
}


/*
 * Feed [in, in + len) in slices ending at cuts[0], cuts[1], ... (the last
 * one is len).  Each slice is a separate buffer, as upstream buffers are:
 * an event within one slice is read in place, one that spans slices is
 * assembled in a hold buffer first.
 */

static void
feed(const u_char *in, size_t len, const size_t *cuts, size_t ncuts,
    res_t *res)
{
    u_char              *buf, *p, *last, *end, *hold;
    size_t               i, from, hold_len, offset;
    ngx_http_llm_sse_t   sse;

    memset(res, 0, sizeof(res_t));

    ngx_http_llm_sse_init(&sse);

    hold = malloc(len + 1);
    if (hold == NULL) {
        abort();
    }

    hold_len = 0;
    offset = 0;                     /* where the current event starts */
    from = 0;

    for (i = 0; i < ncuts; i++) {
        buf = malloc(cuts[i] - from + 1);
        if (buf == NULL) {
            abort();
        }

        memcpy(buf, in + from, cuts[i] - from);

        p = buf;
        last = buf + (cuts[i] - from);

        for ( ;; ) {
            end = ngx_http_llm_sse_find_end(&sse, p, last);
            if (end == NULL) {
                break;
            }

            /* end == p: an event closed at the end of the last slice */

            if (end < p || end > last || hold_len + (end - p) == 0
                || res->n == MAX_EVENTS)
            {
                res->bad = 1;
                break;
            }

            if (hold_len) {
                memcpy(hold + hold_len, p, end - p);
                hold_len += end - p;

                read_rec(hold, hold_len, offset, &res->ev[res->n], &res->bad);
                hold_len = 0;

            } else {
                read_rec(p, end - p, offset, &res->ev[res->n], &res->bad);
            }

            offset = res->ev[res->n].end;
            res->n++;
            p = end;
        }

        memcpy(hold + hold_len, p, last - p);
        hold_len += last - p;

        free(buf);
        from = cuts[i];
    }

    read_rec(hold, hold_len, offset, &res->tail, &res->bad);

    free(hold);
}


static void
feed_whole(const char *in, res_t *res)
{
    size_t  len;

    len = strlen(in);

    feed((const u_char *) in, len, &len, 1, res);
}


static int
same_str(const char *a, size_t alen, const char *b, size_t blen)
{
    if (a == NULL || b == NULL) {
        return a == b;
    }

    return alen == blen && memcmp(a, b, alen) == 0;
}


static int
same_rec(const rec_t *a, const rec_t *b)
{
    return a->start == b->start
           && a->end == b->end
           && a->found == b->found
           && a->has_data == b->has_data
           && a->has_event == b->has_event
           && same_str(a->event, a->event_len, b->event, b->event_len)
           && same_str(a->data, a->data_len, b->data, b->data_len);
}


static int
same_res(const res_t *a, const res_t *b)
{
    size_t  i;

    if (a->bad || b->bad || a->n != b->n) {
        return 0;
    }

    for (i = 0; i < a->n; i++) {
        if (!same_rec(&a->ev[i], &b->ev[i])) {
            return 0;
        }
    }

    return same_rec(&a->tail, &b->tail);
}


/* the ranges cover the stream, in order, without gaps */

static int
contiguous(const res_t *res, size_t len)
{
    size_t  i, at;

    at = 0;

    for (i = 0; i < res->n; i++) {
        if (res->ev[i].start != at || res->ev[i].end <= at) {
            return 0;
        }

        at = res->ev[i].end;
    }

    return res->tail.start == at && res->tail.end == len;
}


static int
data_is(const rec_t *r, const char *data)
{
    return r->has_data && same_str(r->data, r->data_len, data, strlen(data));
}


static int
event_is(const rec_t *r, const char *event)
{
    if (event == NULL) {
        return !r->has_event;
    }

    return r->has_event
           && same_str(r->event, r->event_len, event, strlen(event));
}


static int
raw_is(const char *in, const rec_t *r, const char *raw)
{
    return r->end - r->start == strlen(raw)
           && memcmp(in + r->start, raw, strlen(raw)) == 0;
}


/* find_end on one slice, from a fresh state */

static const u_char *
find_end(const char *in)
{
    ngx_http_llm_sse_t  sse;

    ngx_http_llm_sse_init(&sse);

    return ngx_http_llm_sse_find_end(&sse, (u_char *) in,
                                     (u_char *) in + strlen(in));
}


static void
test_line_ends(void)
{
    res_t        res;
    const char  *in;

    in = "data: a\n\ndata: b\n\n";
    feed_whole(in, &res);
    ok(res.n == 2 && raw_is(in, &res.ev[0], "data: a\n\n")
       && raw_is(in, &res.ev[1], "data: b\n\n")
       && data_is(&res.ev[0], "a") && data_is(&res.ev[1], "b")
       && res.tail.start == res.tail.end && contiguous(&res, strlen(in)),
       "LF line ends");
    free_res(&res);

    /* the LF of the closing CRLF belongs to the event */

    in = "data: a\r\n\r\ndata: b\r\n\r\n";
    feed_whole(in, &res);
    ok(res.n == 2 && raw_is(in, &res.ev[0], "data: a\r\n\r\n")
       && raw_is(in, &res.ev[1], "data: b\r\n\r\n")
       && data_is(&res.ev[0], "a") && data_is(&res.ev[1], "b")
       && res.tail.start == res.tail.end && contiguous(&res, strlen(in)),
       "CRLF line ends");
    free_res(&res);

    in = "data: a\r\rdata: b\rdata: c\r\r";
    feed_whole(in, &res);
    ok(res.n == 2 && raw_is(in, &res.ev[0], "data: a\r\r")
       && data_is(&res.ev[0], "a") && data_is(&res.ev[1], "b\nc")
       && res.tail.start == res.tail.end,
       "lone CR line ends");
    free_res(&res);

    in = "data: a\r\ndata: b\rdata: c\n\r\n";
    feed_whole(in, &res);
    ok(res.n == 1 && data_is(&res.ev[0], "a\nb\nc")
       && raw_is(in, &res.ev[0], in) && res.tail.start == res.tail.end,
       "mixed line ends in one event");
    free_res(&res);

    /* "\n\r" is two line ends, "\r\n" one */

    ok(find_end("data: a\n\rdata: b\n\n") != NULL
       && *find_end("data: a\n\rdata: b\n\n") == 'd',
       "LF CR is two line ends");
    ok(find_end("data: a\r\ndata: b\r\n") == NULL,
       "CR LF is one line end");
    ok(find_end("data: a\r\r\n") != NULL
       && *find_end("data: a\r\r\n") == '\n',
       "after a lone CR, a closing CR ends the event at once");
    ok(find_end("data: a\r\r") != NULL,
       "a closing lone CR at the end of a slice ends the event");
    ok(find_end("data: a\r\n\r") == NULL,
       "a closing CR after a CRLF at the end of a slice waits for the LF");
}


static void
test_split_crlf(void)
{
    res_t        res;
    size_t       cuts[3];
    const char  *in;

    /* a CR at the end of a slice, its LF at the start of the next */

    in = "data: a\r\ndata: b\r\n\r\ndata: c\r\n\r\n";

    cuts[0] = 8;                                    /* "data: a\r" */
    cuts[1] = strlen(in);
    feed((const u_char *) in, strlen(in), cuts, 2, &res);
    ok(res.n == 2 && data_is(&res.ev[0], "a\nb")
       && raw_is(in, &res.ev[0], "data: a\r\ndata: b\r\n\r\n")
       && data_is(&res.ev[1], "c") && contiguous(&res, strlen(in)),
       "CR | LF inside an event is one line end");
    free_res(&res);

    cuts[0] = 19;                                   /* "...\r\n\r" */
    cuts[1] = 20;                                   /* "\n" */
    cuts[2] = strlen(in);
    feed((const u_char *) in, strlen(in), cuts, 3, &res);
    ok(res.n == 2 && data_is(&res.ev[0], "a\nb")
       && raw_is(in, &res.ev[0], "data: a\r\ndata: b\r\n\r\n")
       && raw_is(in, &res.ev[1], "data: c\r\n\r\n")
       && data_is(&res.ev[1], "c") && contiguous(&res, strlen(in)),
       "closing CR | LF | next event");
    free_res(&res);

    {
        u_char              *end;
        ngx_http_llm_sse_t   sse;
        u_char               a[] = "data: a\r\n\r", b[] = "\ndata: b",
                             c[] = "data: c\r\n\r\n";

        ngx_http_llm_sse_init(&sse);

        ok(ngx_http_llm_sse_find_end(&sse, a, a + sizeof(a) - 1) == NULL
           && ngx_http_llm_sse_find_end(&sse, b, b) == NULL,
           "an event closed by a CR at the end of a slice waits");

        end = ngx_http_llm_sse_find_end(&sse, b, b + sizeof(b) - 1);
        ok(end == b + 1, "... and ends after the LF that starts the next");

        ok(ngx_http_llm_sse_find_end(&sse, end, b + sizeof(b) - 1) == NULL,
           "... and the next event goes on");

        ngx_http_llm_sse_init(&sse);

        ok(ngx_http_llm_sse_find_end(&sse, a, a + sizeof(a) - 1) == NULL
           && ngx_http_llm_sse_find_end(&sse, c, c + sizeof(c) - 1) == c,
           "with no LF after it, at the very start of the next slice");

        end = ngx_http_llm_sse_find_end(&sse, c, c + sizeof(c) - 1);
        ok(end == c + sizeof(c) - 1, "... and the next event follows");
    }

    /* the stream ends right after a closing CR */

    in = "data: a\n\ndata: b\r\n\r";
    feed_whole(in, &res);
    ok(res.n == 1 && data_is(&res.tail, "b")
       && raw_is(in, &res.tail, "data: b\r\n\r"),
       "a stream that ends at a closing CR leaves the event to the end");
    free_res(&res);

    /* the LF after a CR slice does not close the event as an empty line */

    in = "data: a\r\ndata: b\n\n";
    cuts[0] = 8;
    cuts[1] = 9;
    cuts[2] = strlen(in);
    feed((const u_char *) in, strlen(in), cuts, 3, &res);
    ok(res.n == 1 && data_is(&res.ev[0], "a\nb")
       && raw_is(in, &res.ev[0], in),
       "a slice of just the LF of a CRLF");
    free_res(&res);
}


static void
test_comments_and_blanks(void)
{
    res_t        res;
    const char  *in;

    in = ": ping\n\n";
    feed_whole(in, &res);
    ok(res.n == 1 && !res.ev[0].found && !res.ev[0].has_data
       && !res.ev[0].has_event,
       "a comment-only event is read as empty");
    free_res(&res);

    in = ": OPENROUTER PROCESSING\n\ndata: x\n: mid\ndata: y\n\n:\n\n";
    feed_whole(in, &res);
    ok(res.n == 3 && !res.ev[0].found && data_is(&res.ev[1], "x\ny")
       && res.ev[1].found && !res.ev[2].found,
       "comments before, inside and after events");
    free_res(&res);

    in = "\n\n\r\n\rdata: a\n\n\n\n\r\n\ndata: b\n\n\n";
    feed_whole(in, &res);
    ok(res.n == 2 && res.ev[0].found && res.ev[1].found
       && data_is(&res.ev[0], "a") && data_is(&res.ev[1], "b")
       && raw_is(in, &res.ev[0], "\n\n\r\n\rdata: a\n\n")
       && raw_is(in, &res.tail, "\n") && !res.tail.found
       && contiguous(&res, strlen(in)),
       "blank lines between events make no events");
    free_res(&res);

    ok(find_end("\n\n\r\n\r\r\n") == NULL, "blank lines alone are no event");
}


static void
test_fields(void)
{
    res_t        res;
    const char  *in;

    in = "data: a\ndata: b\ndata: c\n\n";
    feed_whole(in, &res);
    ok(res.n == 1 && data_is(&res.ev[0], "a\nb\nc") && res.ev[0].in_scratch,
       "multi-line data joined by LF into scratch");
    free_res(&res);

    in = "data: {\"a\":1}\n\n";
    feed_whole(in, &res);
    ok(res.n == 1 && data_is(&res.ev[0], "{\"a\":1}")
       && !res.ev[0].in_scratch,
       "single-line data points into the event");
    free_res(&res);

    in = "event: message_start\ndata: {}\n\nevent: a\nevent: b\ndata: x\n\n";
    feed_whole(in, &res);
    ok(res.n == 2 && event_is(&res.ev[0], "message_start")
       && data_is(&res.ev[0], "{}") && event_is(&res.ev[1], "b"),
       "event names, the last one counts");
    free_res(&res);

    in = "event: ping\n\n";
    feed_whole(in, &res);
    ok(res.n == 1 && res.ev[0].found && !res.ev[0].has_data
       && event_is(&res.ev[0], "ping"),
       "an event name without data");
    free_res(&res);

    in = "data:x\n\ndata: x\n\ndata:  x\n\ndata:\n\ndata: \n\n";
    feed_whole(in, &res);
    ok(res.n == 5 && data_is(&res.ev[0], "x") && data_is(&res.ev[1], "x")
       && data_is(&res.ev[2], " x") && data_is(&res.ev[3], "")
       && data_is(&res.ev[4], ""),
       "data with and without the space after the colon");
    free_res(&res);

    in = "data: a:b: c\n\n";
    feed_whole(in, &res);
    ok(res.n == 1 && data_is(&res.ev[0], "a:b: c"),
       "colons in the value are kept");
    free_res(&res);

    in = "data\n\ndata\ndata\n\nevent\ndata: x\n\n";
    feed_whole(in, &res);
    ok(res.n == 3 && res.ev[0].found && data_is(&res.ev[0], "")
       && data_is(&res.ev[1], "\n")
       && event_is(&res.ev[2], "") && data_is(&res.ev[2], "x"),
       "a field with no colon has an empty value");
    free_res(&res);

    in = "id: 7\nretry: 1000\nfoo: bar\ndata: x\nDATA: y\ndatax: z\n"
         " data: w\ndat\n\nid: 8\nretry: 5\n\n";
    feed_whole(in, &res);
    ok(res.n == 2 && data_is(&res.ev[0], "x") && event_is(&res.ev[0], NULL)
       && !res.ev[1].found && !res.ev[1].has_data,
       "unknown fields are ignored");
    free_res(&res);

    in = "data: [DONE]\n\n";
    feed_whole(in, &res);
    ok(res.n == 1 && data_is(&res.ev[0], "[DONE]"), "[DONE]");
    free_res(&res);

    in = "data: a\n\ndata: b\ndata: c";
    feed_whole(in, &res);
    ok(res.n == 1 && res.tail.found && data_is(&res.tail, "b\nc")
       && raw_is(in, &res.tail, "data: b\ndata: c"),
       "a final event without a line end is read at end of stream");
    free_res(&res);

    in = "data: a\n\nevent: done\ndata: b\n";
    feed_whole(in, &res);
    ok(res.n == 1 && res.tail.found && data_is(&res.tail, "b")
       && event_is(&res.tail, "done")
       && find_end("event: done\ndata: b\n") == NULL,
       "a final event without a blank line is not found, read at the end");
    free_res(&res);

    in = "data: a\0b\n\n";
    feed((const u_char *) in, 11, (size_t[]) { 11 }, 1, &res);
    ok(res.n == 1 && res.ev[0].data_len == 3
       && memcmp(res.ev[0].data, "a\0b", 3) == 0,
       "NUL bytes are data");
    free_res(&res);

    {
        u_char                     raw[] = "data: a\r\ndata: b\r\n";
        u_char                     scratch[sizeof(raw)];
        ngx_http_llm_sse_event_t   ev;

        ok(ngx_http_llm_sse_read(raw, raw, &ev, scratch) == 0
           && !ev.has_data && ev.event == NULL,
           "reading an empty range");

        ok(ngx_http_llm_sse_read(raw, raw + sizeof(raw) - 1, &ev, scratch)
           == 1 && ev.data == scratch && ev.data_len == 3
           && memcmp(ev.data, "a\nb", 3) == 0,
           "reading a range without its blank line");
    }
}


static void
test_state(void)
{
    u_char              *end;
    ngx_http_llm_sse_t   sse;
    u_char               in[] = "data: a\n\n\n\ndata: b\n\n";

    ngx_http_llm_sse_init(&sse);

    end = ngx_http_llm_sse_find_end(&sse, in, in + sizeof(in) - 1);
    ok(end == in + 9, "first event ends after its blank line");

    end = ngx_http_llm_sse_find_end(&sse, end, in + sizeof(in) - 1);
    ok(end == in + sizeof(in) - 1, "second event ends at the end");

    end = ngx_http_llm_sse_find_end(&sse, end, end);
    ok(end == NULL, "an empty slice finds nothing");

    ngx_http_llm_sse_init(&sse);
    ok(ngx_http_llm_sse_find_end(&sse, in, in + 8) == NULL
       && ngx_http_llm_sse_find_end(&sse, in + 8, in + 8) == NULL
       && ngx_http_llm_sse_find_end(&sse, in + 8, in + 9) == in + 9,
       "state is kept across slices, empty ones too");
}


/* realistic streams */

#define OPENAI_CHUNK(delta, finish)                                          \
    "data: {\"id\":\"chatcmpl-9xk2\",\"object\":\"chat.completion.chunk\","    \
    "\"created\":1718000000,\"model\":\"gpt-4o-mini-2024-07-18\","           \
    "\"system_fingerprint\":\"fp_0f03d4f0ee\",\"choices\":[{\"index\":0,"    \
    "\"delta\":" delta ",\"logprobs\":null,\"finish_reason\":" finish "}],"  \
    "\"usage\":null}"

static const char  openai_stream[] =
    OPENAI_CHUNK("{\"role\":\"assistant\",\"content\":\"\",\"refusal\":null}",
                 "null") "\n\n"
    OPENAI_CHUNK("{\"content\":\"Hello\"}", "null") "\n\n"
    OPENAI_CHUNK("{\"content\":\" w\\u00f6rld\\n\\n\"}", "null") "\n\n"
    OPENAI_CHUNK("{}", "\"stop\"") "\n\n"
    "data: {\"id\":\"chatcmpl-9xk2\",\"object\":\"chat.completion.chunk\","
    "\"created\":1718000000,\"model\":\"gpt-4o-mini-2024-07-18\","
    "\"system_fingerprint\":\"fp_0f03d4f0ee\",\"choices\":[],"
    "\"usage\":{\"prompt_tokens\":12,\"completion_tokens\":3,"
    "\"total_tokens\":15,\"prompt_tokens_details\":{\"cached_tokens\":0},"
    "\"completion_tokens_details\":{\"reasoning_tokens\":0}}}\n\n"
    "data: [DONE]\n\n";

static const char  anthropic_stream[] =
    "event: message_start\n"
    "data: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_01XFDU\","
    "\"type\":\"message\",\"role\":\"assistant\",\"content\":[],"
    "\"model\":\"claude-3-5-haiku-20241022\",\"stop_reason\":null,"
    "\"stop_sequence\":null,\"usage\":{\"input_tokens\":25,"
    "\"cache_creation_input_tokens\":0,\"cache_read_input_tokens\":0,"
    "\"output_tokens\":1}}}\n\n"
    "event: content_block_start\n"
    "data: {\"type\":\"content_block_start\",\"index\":0,"
    "\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n"
    "event: ping\n"
    "data: {\"type\": \"ping\"}\n\n"
    "event: content_block_delta\n"
    "data: {\"type\":\"content_block_delta\",\"index\":0,"
    "\"delta\":{\"type\":\"text_delta\",\"text\":\"Hello\"}}\n\n"
    "event: content_block_delta\n"
    "data: {\"type\":\"content_block_delta\",\"index\":0,"
    "\"delta\":{\"type\":\"text_delta\",\"text\":\"!\\n\\ndata: no\"}}\n\n"
    "event: content_block_stop\n"
    "data: {\"type\":\"content_block_stop\",\"index\":0}\n\n"
    "event: message_delta\n"
    "data: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":"
    "\"end_turn\",\"stop_sequence\":null},\"usage\":{\"output_tokens\":15}}"
    "\n\n"
    "event: message_stop\n"
    "data: {\"type\":\"message_stop\"}\n\n";

/* CRLF, keep-alive comments, multi-line data, lone CRs, no final blank */

static const char  mixed_stream[] =
    ": OPENROUTER PROCESSING\r\n\r\n"
    "data: {\"choices\":[{\"delta\":{\"content\":\"Hi\"}}]}\r\n\r\n"
    ": keep-alive\r\n"
    "\r\n"
    "event: content_block_delta\r\n"
    "id: 42\r\n"
    "data: {\"type\":\"content_block_delta\",\r\n"
    "data:\"delta\":{\"text\":\"x\"}}\r\n"
    "\r\n\r\n"
    "data: cr\rdata: only\r\r"
    "data: z\r\n\r"
    "data\n\n"
    "event: error\n"
    "data: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\"}}\n";


static void
test_split(const char *name, const char *in, size_t nevents,
    const char *first, const char *last)
{
    int      same;
    size_t   len, i, at, cuts[2], *bytes;
    res_t    whole, res;

    len = strlen(in);

    feed_whole(in, &whole);

    ok(!whole.bad && whole.n == nevents && contiguous(&whole, len)
       && data_is(&whole.ev[0], first) && data_is(&whole.ev[nevents - 1], last),
       "%s: %zu events whole", name, nevents);

    for (i = 0; i < whole.n; i++) {
        if (!whole.ev[i].found) {
            break;
        }
    }

    ok(i == whole.n, "%s: every event has a field", name);

    /* every two-slice split */

    same = 1;
    at = 0;

    for (i = 0; i <= len && same; i++) {
        cuts[0] = i;
        cuts[1] = len;

        feed((const u_char *) in, len, cuts, 2, &res);

        if (!same_res(&whole, &res)) {
            same = 0;
            at = i;
        }

        free_res(&res);
    }

    if (!ok(same, "%s: split at every byte boundary", name)) {
        printf("# differs when split at %zu\n", at);
    }

    /* one byte at a time */

    bytes = calloc(len + 1, sizeof(size_t));
    if (bytes == NULL) {
        abort();
    }

    for (i = 0; i < len; i++) {
        bytes[i] = i + 1;
    }

    feed((const u_char *) in, len, bytes, len, &res);
    ok(same_res(&whole, &res), "%s: one byte at a time", name);
    free_res(&res);

    /* slices of 1 to 17 bytes from a fixed sequence */

    same = 1;
    at = 0;

    for (i = 0; i < len; i++) {
        at += 1 + (i * 7 + 3) % 17;

        if (at >= len) {
            break;
        }

        bytes[i] = at;
    }

    bytes[i] = len;

    feed((const u_char *) in, len, bytes, i + 1, &res);
    ok(same_res(&whole, &res), "%s: uneven slices", name);
    free_res(&res);

    free(bytes);
    free_res(&whole);
}


/* the stream with every LF made CRLF */

static char *
crlf(const char *in)
{
    char    *out, *p;
    size_t   len;

    len = strlen(in);

    out = malloc(2 * len + 1);
    if (out == NULL) {
        abort();
    }

    for (p = out; *in; in++) {
        if (*in == '\n') {
            *p++ = '\r';
        }

        *p++ = *in;
    }

    *p = '\0';

    return out;
}


int
main(void)
{
    char  *s;

    test_line_ends();
    test_split_crlf();
    test_comments_and_blanks();
    test_fields();
    test_state();

    test_split("openai", openai_stream, 6, "{\"id\":\"chatcmpl-9xk2\","
               "\"object\":\"chat.completion.chunk\",\"created\":1718000000,"
               "\"model\":\"gpt-4o-mini-2024-07-18\",\"system_fingerprint\":"
               "\"fp_0f03d4f0ee\",\"choices\":[{\"index\":0,\"delta\":"
               "{\"role\":\"assistant\",\"content\":\"\",\"refusal\":null},"
               "\"logprobs\":null,\"finish_reason\":null}],\"usage\":null}",
               "[DONE]");

    s = crlf(openai_stream);
    test_split("openai crlf", s, 6, "{\"id\":\"chatcmpl-9xk2\","
               "\"object\":\"chat.completion.chunk\",\"created\":1718000000,"
               "\"model\":\"gpt-4o-mini-2024-07-18\",\"system_fingerprint\":"
               "\"fp_0f03d4f0ee\",\"choices\":[{\"index\":0,\"delta\":"
               "{\"role\":\"assistant\",\"content\":\"\",\"refusal\":null},"
               "\"logprobs\":null,\"finish_reason\":null}],\"usage\":null}",
               "[DONE]");
    free(s);

    s = crlf(anthropic_stream);
    test_split("anthropic crlf", s, 8,
               "{\"type\":\"message_start\",\"message\":{\"id\":\"msg_01XFDU\","
               "\"type\":\"message\",\"role\":\"assistant\",\"content\":[],"
               "\"model\":\"claude-3-5-haiku-20241022\",\"stop_reason\":null,"
               "\"stop_sequence\":null,\"usage\":{\"input_tokens\":25,"
               "\"cache_creation_input_tokens\":0,"
               "\"cache_read_input_tokens\":0,\"output_tokens\":1}}}",
               "{\"type\":\"message_stop\"}");
    free(s);

    test_split("anthropic", anthropic_stream, 8,
               "{\"type\":\"message_start\",\"message\":{\"id\":\"msg_01XFDU\","
               "\"type\":\"message\",\"role\":\"assistant\",\"content\":[],"
               "\"model\":\"claude-3-5-haiku-20241022\",\"stop_reason\":null,"
               "\"stop_sequence\":null,\"usage\":{\"input_tokens\":25,"
               "\"cache_creation_input_tokens\":0,"
               "\"cache_read_input_tokens\":0,\"output_tokens\":1}}}",
               "{\"type\":\"message_stop\"}");

    {
        res_t  res;

        feed_whole(mixed_stream, &res);
        ok(res.n == 7 && !res.ev[0].found
           && data_is(&res.ev[1], "{\"choices\":[{\"delta\":{\"content\":"
                                  "\"Hi\"}}]}")
           && !res.ev[2].found
           && event_is(&res.ev[3], "content_block_delta")
           && data_is(&res.ev[3], "{\"type\":\"content_block_delta\",\n"
                                  "\"delta\":{\"text\":\"x\"}}")
           && data_is(&res.ev[4], "cr\nonly") && data_is(&res.ev[5], "z")
           && data_is(&res.ev[6], "")
           && event_is(&res.tail, "error") && res.tail.found,
           "mixed: events whole");
        free_res(&res);
    }

    /* the mixed stream has comment-only events: check it by hand above */

    {
        int      same;
        size_t   len, i, cuts[2];
        res_t    whole, res;

        len = strlen(mixed_stream);
        feed_whole(mixed_stream, &whole);

        same = contiguous(&whole, len);

        for (i = 0; i <= len && same; i++) {
            cuts[0] = i;
            cuts[1] = len;
            feed((const u_char *) mixed_stream, len, cuts, 2, &res);
            same = same_res(&whole, &res);
            free_res(&res);
        }

        ok(same, "mixed: split at every byte boundary");

        {
            size_t  bytes[sizeof(mixed_stream)];

            for (i = 0; i < len; i++) {
                bytes[i] = i + 1;
            }

            feed((const u_char *) mixed_stream, len, bytes, len, &res);
            ok(same_res(&whole, &res), "mixed: one byte at a time");
            free_res(&res);
        }

        free_res(&whole);
    }

    printf("1..%d\n", tests);

    if (failures) {
        printf("# %d of %d tests failed\n", failures, tests);
        return 1;
    }

    return 0;
}
