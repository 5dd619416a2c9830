/*
 * Copyright (C) ngx_llm_module authors
 *
 * libFuzzer target for the incremental SSE parser, see fuzz/README.md.
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -I ngx_llm_module/engines \
 *       fuzz/sse_fuzz.c ngx_llm_module/engines/ngx_http_llm_sse.c \
 *       -o build/fuzz/sse_fuzz
 *
 * The first two input bytes choose how the rest is sliced:
 *
 *   byte 0, bits 0-4   the largest slice, 1 to 32 bytes,
 *           bit 5      ... times 8 (up to 256 bytes),
 *           bit 6      empty slices are fed in between,
 *           bit 7      all slices have the largest size;
 *   byte 1             the seed of the slice sizes.
 *
 * The stream is fed whole and in those slices, each slice in a buffer of
 * its own; events that span slices are assembled as the module does.  Both
 * must find the same events, those must tile the stream, and they must
 * agree with a line by line reading of the whole stream.  Every event is
 * read from an exactly sized copy into an exactly sized scratch buffer.
 */


#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ngx_http_llm_sse.h"


#define check(cond)                                                          \
    if (!(cond)) {                                                           \
        __builtin_trap();                                                    \
    }


typedef struct {
    size_t          start;          /* raw range in the stream */
    size_t          end;
    int             found;
    int             has_data;
    int             has_event;
    const u_char   *data;
    size_t          data_len;
    const u_char   *event;
    size_t          event_len;
} rec_t;


typedef struct {
    rec_t          *ev;
    size_t          n;              /* complete events */
    size_t          nalloc;
    rec_t           tail;           /* the rest, read at end of stream */
    u_char         *copies;         /* of the data and names read */
    size_t          used;
    size_t          size;
} res_t;


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


static u_char *
dup_mem(const u_char *p, size_t len)
{
    u_char  *s;

    s = malloc(len ? len : 1);
    check(s != NULL);

    if (len) {
        memcpy(s, p, len);
    }

    return s;
}


static void
res_init(res_t *res, size_t len)
{
    memset(res, 0, sizeof(res_t));

    res->nalloc = 16;
    res->ev = malloc(res->nalloc * sizeof(rec_t));
    check(res->ev != NULL);

    /* the data and the name of an event are not longer than the event */

    res->size = 2 * len + 1;
    res->copies = malloc(res->size);
    check(res->copies != NULL);
}


static rec_t *
res_next(res_t *res)
{
    if (res->n == res->nalloc) {
        res->nalloc *= 2;
        res->ev = realloc(res->ev, res->nalloc * sizeof(rec_t));
        check(res->ev != NULL);
    }

    memset(&res->ev[res->n], 0, sizeof(rec_t));

    return &res->ev[res->n];
}


static u_char *
res_copy(res_t *res, const u_char *p, size_t len)
{
    u_char  *s;

    check(len <= res->size - res->used);

    s = res->copies + res->used;
    res->used += len;

    if (len) {
        memcpy(s, p, len);
    }

    return s;
}


static int
within(const u_char *p, size_t len, const u_char *start, size_t size)
{
    return p >= start && p <= start + size
           && len <= size - (size_t) (p - start);
}


static void
read_rec(res_t *res, const u_char *raw, size_t len, size_t start, rec_t *r)
{
    u_char                    *copy, *scratch;
    ngx_http_llm_sse_event_t   ev;

    /* exactly sized, so that ASan sees any read or write past them */

    copy = dup_mem(raw, len);
    scratch = malloc(len ? len : 1);
    check(scratch != NULL);

    memset(r, 0, sizeof(rec_t));

    r->start = start;
    r->end = start + len;
    r->found = ngx_http_llm_sse_read(copy, copy + len, &ev, scratch);
    r->has_data = ev.has_data;
    r->has_event = (ev.event != NULL);

    check(r->found == (ev.has_data || ev.event != NULL));

    if (ev.has_data) {
        check(ev.data != NULL);
        check(ev.data_len <= len);
        check(within(ev.data, ev.data_len, copy, len)
              || within(ev.data, ev.data_len, scratch, len));

        r->data = res_copy(res, ev.data, ev.data_len);
        r->data_len = ev.data_len;

    } else {
        check(ev.data == NULL && ev.data_len == 0);
    }

    if (ev.event) {
        check(within(ev.event, ev.event_len, copy, len));

        r->event = res_copy(res, ev.event, ev.event_len);
        r->event_len = ev.event_len;

    } else {
        check(ev.event_len == 0);
    }

    free(copy);
    free(scratch);
}


static void
free_res(res_t *res)
{
    free(res->ev);
    free(res->copies);
}


/* feed the stream in slices [0, cuts[0]), [cuts[0], cuts[1]), ... */

static void
feed(const u_char *in, size_t len, const size_t *cuts, size_t ncuts,
    res_t *res)
{
    u_char              *buf, *p, *last, *end, *hold;
    size_t               i, from, hold_len, offset;
    ngx_http_llm_sse_t   sse;

    res_init(res, len);

    hold = malloc(len ? len : 1);
    check(hold != NULL);

    ngx_http_llm_sse_init(&sse);

    hold_len = 0;
    offset = 0;
    from = 0;

    for (i = 0; i < ncuts; i++) {
        check(cuts[i] >= from && cuts[i] <= len);

        buf = dup_mem(in + from, cuts[i] - from);

        p = buf;
        last = buf + (cuts[i] - from);

        for ( ;; ) {
            end = ngx_http_llm_sse_find_end(&sse, p, last);
            if (end == NULL) {
                break;
            }

            check(end >= p && end <= last);

            /* an event is not empty: it has a field byte at least */
            check(hold_len + (end - p) > 0);
            check(res->n < len);

            if (hold_len) {
                memcpy(hold + hold_len, p, end - p);
                hold_len += end - p;

                read_rec(res, hold, hold_len, offset, res_next(res));
                hold_len = 0;

            } else {
                read_rec(res, p, end - p, offset, res_next(res));
            }

            offset = res->ev[res->n].end;
            check(offset <= cuts[i]);

            res->n++;
            p = end;
        }

        check(hold_len + (last - p) <= len);

        memcpy(hold + hold_len, p, last - p);
        hold_len += last - p;

        free(buf);
        from = cuts[i];
    }

    check(from == len);

    read_rec(res, hold, hold_len, offset, &res->tail);

    free(hold);
}


static int
same_mem(const u_char *a, size_t alen, const u_char *b, size_t blen)
{
    return alen == blen && (alen == 0 || memcmp(a, b, alen) == 0);
}


static void
check_same_rec(const rec_t *a, const rec_t *b)
{
    check(a->start == b->start);
    check(a->end == b->end);
    check(a->found == b->found);
    check(a->has_data == b->has_data);
    check(a->has_event == b->has_event);

    if (a->has_data) {
        check(same_mem(a->data, a->data_len, b->data, b->data_len));
    }

    if (a->has_event) {
        check(same_mem(a->event, a->event_len, b->event, b->event_len));
    }
}


static void
check_same(const res_t *a, const res_t *b)
{
    size_t  i;

    check(a->n == b->n);

    for (i = 0; i < a->n; i++) {
        check_same_rec(&a->ev[i], &b->ev[i]);
    }

    check_same_rec(&a->tail, &b->tail);
}


/*
 * The reference: the whole stream cut into lines.  An event ends at an
 * empty line after a line with something on it; the event ends after that
 * empty line's line end, except that a CR closing an event after a line
 * that ended with a lone CR is taken alone (an LF after it begins the next
 * event), and that a CR at the very end of the stream that would take an
 * LF after it leaves the event unfinished.
 */

static void
field(const u_char *line, size_t n, rec_t *r, u_char *buf, size_t *buf_len)
{
    size_t  name_len, v;

    if (n == 0 || line[0] == ':') {
        return;
    }

    for (name_len = 0; name_len < n && line[name_len] != ':'; name_len++) {
        /* void */
    }

    v = name_len;

    if (v < n) {
        v++;

        if (v < n && line[v] == ' ') {
            v++;
        }
    }

    if (name_len == 4 && memcmp(line, "data", 4) == 0) {
        if (r->has_data) {
            buf[(*buf_len)++] = '\n';
        }

        memcpy(buf + *buf_len, line + v, n - v);
        *buf_len += n - v;

        r->has_data = 1;
        r->found = 1;

    } else if (name_len == 5 && memcmp(line, "event", 5) == 0) {
        r->event = line + v;
        r->event_len = n - v;
        r->has_event = 1;
        r->found = 1;
    }
}


static void
close_rec(res_t *res, rec_t *r, size_t start, size_t end, u_char *buf,
    size_t buf_len)
{
    r->start = start;
    r->end = end;

    if (r->has_data) {
        r->data = res_copy(res, buf, buf_len);
        r->data_len = buf_len;
    }
}


static void
reference(const u_char *in, size_t len, res_t *res)
{
    int      started, lone_cr, prev_lone_cr;
    size_t   i, j, le, start, buf_len;
    u_char  *buf;
    rec_t   *r;

    res_init(res, len);

    buf = malloc(len ? len : 1);
    check(buf != NULL);

    buf_len = 0;
    start = 0;
    started = 0;
    prev_lone_cr = 0;
    r = res_next(res);

    for (i = 0; i < len; i = j + le) {

        for (j = i; j < len && in[j] != '\n' && in[j] != '\r'; j++) {
            /* void */
        }

        if (j == len) {
            /* the last line, without a line end */
            field(in + i, j - i, r, buf, &buf_len);
            le = 0;
            break;
        }

        le = (in[j] == '\r' && j + 1 < len && in[j + 1] == '\n') ? 2 : 1;
        lone_cr = (in[j] == '\r' && le == 1);

        if (j > i) {
            field(in + i, j - i, r, buf, &buf_len);
            started = 1;

        } else if (started) {

            if (in[j] == '\r' && prev_lone_cr) {
                /* "\r\r": the event ends at the second CR */
                close_rec(res, r, start, j + 1, buf, buf_len);

            } else if (in[j] == '\r' && j + 1 == len) {
                /* an LF may follow */
                break;

            } else {
                close_rec(res, r, start, j + le, buf, buf_len);
            }

            start = r->end;
            res->n++;
            r = res_next(res);
            buf_len = 0;
            started = 0;
        }

        prev_lone_cr = lone_cr;
    }

    close_rec(res, r, start, len, buf, buf_len);

    res->tail = *r;

    free(buf);
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t         len, i, n, max, *cuts, at;
    uint32_t       seed;
    const u_char  *in;
    res_t          whole, sliced, ref;

    if (size < 2) {
        return 0;
    }

    max = (data[0] & 0x1f) + 1;

    if (data[0] & 0x20) {
        max *= 8;
    }

    seed = data[1] * 2654435761u + 1;

    in = data + 2;
    len = size - 2;

    /* whole */

    feed(in, len, &len, 1, &whole);

    /* the events tile the stream, in order */

    at = 0;

    for (i = 0; i < whole.n; i++) {
        check(whole.ev[i].start == at);
        check(whole.ev[i].end > at);
        at = whole.ev[i].end;
    }

    check(whole.tail.start == at && whole.tail.end == len);

    /* in slices */

    cuts = malloc((2 * len + 2) * sizeof(size_t));
    check(cuts != NULL);

    n = 0;
    at = 0;

    do {
        if (data[0] & 0x40) {
            cuts[n++] = at;
        }

        if (data[0] & 0x80) {
            at += max;

        } else {
            seed ^= seed << 13;
            seed ^= seed >> 17;
            seed ^= seed << 5;
            at += 1 + seed % max;
        }

        if (at > len) {
            at = len;
        }

        cuts[n++] = at;

    } while (at < len);

    feed(in, len, cuts, n, &sliced);
    check_same(&whole, &sliced);

    /* one byte at a time, for short streams */

    if (len <= 64) {
        free_res(&sliced);

        for (i = 0; i < len; i++) {
            cuts[i] = i + 1;
        }

        feed(in, len, cuts, len, &sliced);
        check_same(&whole, &sliced);
    }

    reference(in, len, &ref);
    check_same(&whole, &ref);

    free(cuts);
    free_res(&whole);
    free_res(&sliced);
    free_res(&ref);

    return 0;
}
