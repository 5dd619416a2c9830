
/*
 * Copyright (C) ngx_llm_module authors
 *
 * Server-sent events, incrementally: find where each event ends in a byte
 * stream that arrives in arbitrary slices, then read one complete event's
 * fields.  libc only, so that it can be fuzzed outside nginx.
 *
 * Line ends are "\n", "\r\n" or "\r" (a CR at the end of one slice and an LF
 * at the start of the next are one line end).  An event ends at an empty
 * line.  Comment lines (":...") and unknown fields are kept in the raw event
 * and skipped by the reader.
 */

#ifndef _NGX_HTTP_LLM_SSE_H_INCLUDED_
#define _NGX_HTTP_LLM_SSE_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>


typedef struct {
    unsigned                    line_empty:1;   /* nothing on this line yet */
    unsigned                    pending_cr:1;   /* last byte was a CR */
    unsigned                    started:1;      /* event has a field byte */
} ngx_http_llm_sse_t;


typedef struct {
    const u_char               *event;          /* "event:" value */
    size_t                      event_len;
    const u_char               *data;           /* "data:" lines joined by LF */
    size_t                      data_len;
    unsigned                    has_data:1;
} ngx_http_llm_sse_event_t;


void ngx_http_llm_sse_init(ngx_http_llm_sse_t *sse);

/*
 * Scan [p, last) for the end of the current event.  Returns a pointer just
 * past the line end that closes it, or NULL when the slice ends inside the
 * event (the state is kept for the next slice).  A returned event may be
 * empty (blank lines only): check with ngx_http_llm_sse_read().
 */
u_char *ngx_http_llm_sse_find_end(ngx_http_llm_sse_t *sse, u_char *p,
    u_char *last);

/*
 * Read the fields of one complete raw event [p, last).  The data of a
 * single "data:" line points into the event; several "data:" lines are
 * joined into scratch (which must have room for last - p bytes).  Returns 1
 * if the event has any "data" or "event" field, 0 if it is empty or only
 * comments.
 */
int ngx_http_llm_sse_read(const u_char *p, const u_char *last,
    ngx_http_llm_sse_event_t *ev, u_char *scratch);


#endif /* _NGX_HTTP_LLM_SSE_H_INCLUDED_ */
