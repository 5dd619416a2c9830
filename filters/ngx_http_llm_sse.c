
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


u_char *
ngx_http_llm_sse_find_end(ngx_http_llm_sse_t *sse, u_char *p, u_char *last)
{
    u_char  c;

    while (p < last) {
        c = *p++;

        if (c == '\n' && sse->pending_cr) {
            /* the LF of a CRLF: the line end was counted at the CR */
            sse->pending_cr = 0;
            continue;
        }

        sse->pending_cr = (c == '\r');

        if (c == '\n' || c == '\r') {

            if (sse->line_empty) {
                if (sse->started) {
                    sse->started = 0;

                    /* the LF of a closing CRLF belongs to this event */

                    if (c == '\r' && p < last && *p == '\n') {
                        sse->pending_cr = 0;
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
