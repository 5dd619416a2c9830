
/*
 * Copyright (C) ngx_llm_module authors
 */


#include <string.h>

#include "ngx_http_llm_sse.h"


void
ngx_http_llm_sse_init(ngx_http_llm_sse_t *sse)
{
    sse->line_empty = 1;
    sse->pending_cr = 0;
    sse->started = 0;
}


/*
 * An event closed by an empty line that ends with a CR takes the LF after
 * that CR, so that it goes out with its whole "\r\n\r\n".  When the CR is
 * the last byte of a slice, whether an LF follows is only known with the
 * next slice: the event is then returned by the next call, just past that
 * LF, or at the very start of that slice if there is none.  Meanwhile the
 * state is "started" off with "line_empty" off, which otherwise never
 * occurs.  After a line that ended with a lone CR ("\r\r"), an event is
 * returned at once: a stream of lone CRs would otherwise have each event
 * wait for the next one.
 *
 * Where an event ends is thus the same however the stream is sliced.
 */

u_char *
ngx_http_llm_sse_find_end(ngx_http_llm_sse_t *sse, u_char *p, u_char *last)
{
    u_char    c;
    unsigned  lone_cr;

    if (!sse->started && !sse->line_empty) {

        /* the event closed by a CR at the end of the previous slice */

        if (p == last) {
            return NULL;
        }

        sse->line_empty = 1;
        sse->pending_cr = 0;

        if (*p == '\n') {
            p++;
        }

        return p;
    }

    while (p < last) {
        c = *p++;

        if (c == '\n' && sse->pending_cr) {
            /* the LF of a CRLF: the line end was counted at the CR */
            sse->pending_cr = 0;
            continue;
        }

        lone_cr = sse->pending_cr;
        sse->pending_cr = (c == '\r');

        if (c == '\n' || c == '\r') {

            if (sse->line_empty) {
                if (sse->started) {
                    sse->started = 0;

                    if (c == '\n' || lone_cr) {
                        return p;
                    }

                    /* the LF of a closing CRLF belongs to this event */

                    if (p == last) {
                        sse->line_empty = 0;
                        return NULL;
                    }

                    sse->pending_cr = 0;

                    if (*p == '\n') {
                        p++;
                    }

                    return p;
                }

                /* blank lines between events */
                continue;
            }

            sse->line_empty = 1;
            continue;
        }

        sse->line_empty = 0;
        sse->started = 1;
    }

    return NULL;
}


int
ngx_http_llm_sse_read(const u_char *p, const u_char *last,
    ngx_http_llm_sse_event_t *ev, u_char *scratch)
{
    size_t         name_len, value_len;
    const u_char  *line, *eol, *name, *value;
    u_char        *s;
    int            found, joined;

    memset(ev, 0, sizeof(ngx_http_llm_sse_event_t));

    found = 0;
    joined = 0;
    s = scratch;

    while (p < last) {

        line = p;

        for (eol = p; eol < last && *eol != '\n' && *eol != '\r'; eol++) {
            /* void */
        }

        p = eol;

        if (p < last && *p == '\r') {
            p++;
        }

        if (p < last && *p == '\n') {
            p++;
        }

        if (eol == line || *line == ':') {
            /* an empty line or a comment */
            continue;
        }

        name = line;

        for (value = line; value < eol && *value != ':'; value++) {
            /* void */
        }

        name_len = value - name;

        if (value < eol) {
            value++;

            if (value < eol && *value == ' ') {
                value++;
            }
        }

        value_len = eol - value;

        if (name_len == 4 && memcmp(name, "data", 4) == 0) {

            if (!ev->has_data) {
                ev->data = value;
                ev->data_len = value_len;
                ev->has_data = 1;

            } else {
                if (!joined) {
                    memcpy(s, ev->data, ev->data_len);
                    s += ev->data_len;
                    joined = 1;
                }

                *s++ = '\n';
                memcpy(s, value, value_len);
                s += value_len;

                ev->data = scratch;
                ev->data_len = s - scratch;
            }

            found = 1;

        } else if (name_len == 5 && memcmp(name, "event", 5) == 0) {
            ev->event = value;
            ev->event_len = value_len;
            found = 1;
        }
    }

    return found;
}
