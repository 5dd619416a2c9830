
/*
 * Copyright (C) ngx_llm_module authors
 *
 * Differential test of the JSON scanner: the engine against the scanner of
 * e28ee8b (t/unit/ref/ngx_http_llm_json_e28ee8b.c, its functions renamed
 * ref_*), over many random and hostile documents: random JSON (every
 * escape, surrogate pairs and lone ones, UTF-8 of every length, long plain
 * runs at every alignment), the same mutated (a byte changed, a special
 * byte inserted, invalid UTF-8, control bytes), every prefix of some of
 * them, every byte value at every offset of a 32-byte window, deep nesting.
 * Both must agree on everything: the result, the error and its offset, the
 * tokens counted and filled (every field), the "full" flag with too small
 * an array, a smaller max_depth; the decoded strings (of valid documents,
 * and of arbitrary bytes), object_get (and object_get_n, which e28ee8b had
 * not, against its object_get) for every key.  Each document is put
 * at the very end of a page followed by an inaccessible one, so that a read
 * past its end crashes.  Prints TAP.
 *
 *   cc -I ngx_llm_module/engines t/unit/json_diff_test.c \
 *       ngx_llm_module/engines/ngx_http_llm_json.c -o build/unit/json_diff
 */


#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "ngx_http_llm_json.h"


/* the reference: the scanner as of e28ee8b, renamed */

#define ngx_http_llm_json_parse          ref_json_parse
#define ngx_http_llm_json_object_get     ref_json_object_get
#define ngx_http_llm_json_first          ref_json_first
#define ngx_http_llm_json_raw_string     ref_json_raw_string
#define ngx_http_llm_json_decode_string  ref_json_decode_string
#define ngx_http_llm_json_encoded_len    ref_json_encoded_len
#define ngx_http_llm_json_encode_string  ref_json_encode_string
#define ngx_http_llm_json_get_int        ref_json_get_int
#define ngx_http_llm_json_get_double     ref_json_get_double

int ref_json_parse(ngx_http_llm_json_t *p);
uint32_t ref_json_object_get(const ngx_http_llm_json_t *p, uint32_t obj,
    const char *key, size_t key_len);
uint32_t ref_json_first(const ngx_http_llm_json_t *p, uint32_t tok);
void ref_json_raw_string(const ngx_http_llm_json_t *p, uint32_t tok,
    const u_char **s, size_t *len);
size_t ref_json_decode_string(const u_char *raw, size_t len, u_char *out);
size_t ref_json_encoded_len(const u_char *s, size_t len);
u_char *ref_json_encode_string(u_char *dst, const u_char *s, size_t len);
int ref_json_get_int(const ngx_http_llm_json_t *p, uint32_t tok,
    int64_t *out);
int ref_json_get_double(const ngx_http_llm_json_t *p, uint32_t tok,
    double *out);

#include "ref/ngx_http_llm_json_e28ee8b.c"

#undef ngx_http_llm_json_parse
#undef ngx_http_llm_json_object_get
#undef ngx_http_llm_json_first
#undef ngx_http_llm_json_raw_string
#undef ngx_http_llm_json_decode_string
#undef ngx_http_llm_json_encoded_len
#undef ngx_http_llm_json_encode_string
#undef ngx_http_llm_json_get_int
#undef ngx_http_llm_json_get_double


#define DOC_MAX     (64 * 1024)
#define TOKENS_MAX  (DOC_MAX + 16)


static int                         tests;
static int                         failures;
static size_t                      checked;
static size_t                      valid;
static char                        first_diff[512];

static u_char                     *area;        /* guarded */
static size_t                      area_size;
static u_char                      doc[DOC_MAX];
static size_t                      doc_len;

static ngx_http_llm_json_token_t   toks_a[TOKENS_MAX];
static ngx_http_llm_json_token_t   toks_b[TOKENS_MAX];
static u_char                      out_a[DOC_MAX];
static u_char                      out_b[DOC_MAX];

static uint64_t                    rng = 0x9e3779b97f4a7c15ULL;


static void
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
}


static uint32_t
rnd(uint32_t n)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;

    return n ? (uint32_t) ((rng >> 11) % n) : 0;
}


static void
put(const void *s, size_t n)
{
    if (doc_len + n <= DOC_MAX) {
        memcpy(doc + doc_len, s, n);
        doc_len += n;
    }
}


static void
putc1(u_char c)
{
    put(&c, 1);
}


static void
put_ws(void)
{
    static const char  ws[] = " \t\r\n";

    while (rnd(4) == 0) {
        putc1((u_char) ws[rnd(4)]);
    }
}


static void
put_hex4(uint32_t v)
{
    char  buf[8];

    snprintf(buf, sizeof(buf), rnd(2) ? "%04x" : "%04X", v & 0xffff);
    put(buf, 4);
}


static void
put_utf8(uint32_t cp)
{
    if (cp < 0x80) {
        putc1((u_char) cp);

    } else if (cp < 0x800) {
        putc1((u_char) (0xc0 | (cp >> 6)));
        putc1((u_char) (0x80 | (cp & 0x3f)));

    } else if (cp < 0x10000) {
        putc1((u_char) (0xe0 | (cp >> 12)));
        putc1((u_char) (0x80 | ((cp >> 6) & 0x3f)));
        putc1((u_char) (0x80 | (cp & 0x3f)));

    } else {
        putc1((u_char) (0xf0 | (cp >> 18)));
        putc1((u_char) (0x80 | ((cp >> 12) & 0x3f)));
        putc1((u_char) (0x80 | ((cp >> 6) & 0x3f)));
        putc1((u_char) (0x80 | (cp & 0x3f)));
    }
}


/* string contents: plain runs, escapes, UTF-8, now and then a bad byte */

static void
put_string_body(int hostile)
{
    uint32_t     n, i, k, cp;
    static const char  esc[] = "\"\\/bfnrt";
    static const u_char  bad[][4] = {
        { 0x80 }, { 0xbf }, { 0xc0, 0x80 }, { 0xc1, 0xbf }, { 0xc2 },
        { 0xe0, 0x80, 0x80 }, { 0xed, 0xa0, 0x80 }, { 0xef, 0xbf },
        { 0xf0, 0x80, 0x80, 0x80 }, { 0xf4, 0x90, 0x80, 0x80 }, { 0xf5 },
        { 0xff }, { 0xe2, 0x28, 0xa1 }, { 0xf0, 0x9f, 0x98 }
    };

    n = rnd(8) == 0 ? rnd(200) : rnd(12);

    for (i = 0; i < n; i++) {

        switch (rnd(hostile ? 12 : 16)) {

        case 0:
            putc1('\\');
            putc1((u_char) esc[rnd(8)]);
            break;

        case 1:
            putc1('\\');
            putc1('u');
            k = rnd(6);
            cp = (k == 0) ? 0xd800 + rnd(0x400)
               : (k == 1) ? 0xdc00 + rnd(0x400)
               : (k == 2) ? rnd(0x20)
               : rnd(0x10000);
            put_hex4(cp);

            if (cp >= 0xd800 && cp < 0xdc00 && rnd(4)) {
                putc1('\\');
                putc1('u');
                put_hex4(rnd(4) ? 0xdc00 + rnd(0x400) : rnd(0x10000));
            }

            break;

        case 2:
            put_utf8(0x80 + rnd(0x780));
            break;

        case 3:
            cp = 0x800 + rnd(0xf800);
            put_utf8((cp >= 0xd800 && cp < 0xe000) ? 0xe000 : cp);
            break;

        case 4:
            put_utf8(0x10000 + rnd(0x100000));
            break;

        case 5:
            /* a long plain run, any length: every alignment */
            for (k = rnd(70); k; k--) {
                putc1((u_char) (' ' + 2 + rnd(0x5a)));
            }
            break;

        case 6:
            if (hostile) {
                k = rnd(sizeof(bad) / sizeof(bad[0]));
                put(bad[k], bad[k][1] == 0 ? 1 : bad[k][2] == 0 ? 2
                            : bad[k][3] == 0 ? 3 : 4);
                break;
            }

            /* fall through */

        case 7:
            if (hostile && rnd(2)) {
                putc1((u_char) rnd(0x20));
                break;
            }

            /* fall through */

        default:
            putc1((u_char) ("abcdefghij klmnop-_.:,{}[]"[rnd(26)]));
        }
    }
}


static void
put_number(void)
{
    char      buf[64];
    uint32_t  k;

    k = rnd(8);

    if (k == 0) {
        snprintf(buf, sizeof(buf), "%d", (int) rnd(100) - 50);

    } else if (k == 1) {
        snprintf(buf, sizeof(buf), "-%u.%ue%s%u", rnd(1000), rnd(1000),
                 rnd(2) ? "-" : "+", rnd(400));

    } else if (k == 2) {
        snprintf(buf, sizeof(buf), "%u%u%u%u", rnd(1u << 31), rnd(1u << 31),
                 rnd(1u << 31), rnd(1000));

    } else if (k == 3) {
        snprintf(buf, sizeof(buf), "0.%u", rnd(100000));

    } else {
        snprintf(buf, sizeof(buf), "%u", rnd(100000));
    }

    put(buf, strlen(buf));
}


static void
put_value(int depth, int hostile)
{
    uint32_t  n, i, k;

    static const char  *keys[] = { "model", "messages", "role", "content",
                                   "a", "m\\u006fdel" };

    put_ws();

    k = rnd(depth > 6 ? 5 : 8);

    switch (k) {

    case 0:
    case 1:
        putc1('"');
        put_string_body(hostile);
        putc1('"');
        break;

    case 2:
        put_number();
        break;

    case 3:
        k = rnd(3);
        put(k == 0 ? "true" : k == 1 ? "false" : "null", k == 1 ? 5 : 4);
        break;

    case 4:
        put("\"\"", 2);
        break;

    case 5:
    case 6:
        putc1('{');
        n = rnd(6);

        for (i = 0; i < n; i++) {
            put_ws();
            putc1('"');

            if (rnd(3)) {
                /* a key the test looks up */
                k = rnd(6);
                put(keys[k], strlen(keys[k]));

            } else {
                put_string_body(hostile);
            }

            putc1('"');
            put_ws();
            putc1(':');
            put_value(depth + 1, hostile);
            put_ws();

            if (i + 1 < n) {
                putc1(',');
            }
        }

        put_ws();
        putc1('}');
        break;

    default:
        putc1('[');
        n = rnd(6);

        for (i = 0; i < n; i++) {
            put_value(depth + 1, hostile);
            put_ws();

            if (i + 1 < n) {
                putc1(',');
            }
        }

        put_ws();
        putc1(']');
    }
}


static void
differ(const char *what, size_t len)
{
    size_t  i, n;

    if (first_diff[0]) {
        return;
    }

    n = (size_t) snprintf(first_diff, sizeof(first_diff),
                          "%s on %zu bytes: \"", what, len);

    for (i = 0; i < len && i < 120 && n + 6 < sizeof(first_diff); i++) {
        n += (size_t) snprintf(first_diff + n, sizeof(first_diff) - n,
                               (doc[i] >= 0x20 && doc[i] < 0x7f
                                && doc[i] != '\\')
                               ? "%c" : "\\x%02x", doc[i]);
    }

    snprintf(first_diff + n, sizeof(first_diff) - n, "\"");
}


static int
same_result(ngx_http_llm_json_t *a, ngx_http_llm_json_t *b, int ra, int rb)
{
    if (ra != rb || a->ntokens != b->ntokens || a->full != b->full
        || a->err_offset != b->err_offset
        || (a->err == NULL) != (b->err == NULL)
        || (a->err && strcmp(a->err, b->err) != 0))
    {
        return 0;
    }

    return 1;
}


static int
same_tokens(uint32_t n)
{
    uint32_t                    i;
    ngx_http_llm_json_token_t  *a, *b;

    for (i = 0; i < n; i++) {
        a = &toks_a[i];
        b = &toks_b[i];

        if (a->start != b->start || a->end != b->end
            || a->parent != b->parent || a->next != b->next
            || a->size != b->size || a->type != b->type
            || a->key != b->key || a->escaped != b->escaped
            || a->integer != b->integer)
        {
            return 0;
        }
    }

    return 1;
}


/* the document in doc[]: both scanners, every way, must agree */

static void
check_doc(void)
{
    int                   ra, rb;
    size_t                la, lb;
    uint32_t              i, k, va, vb, depth;
    const u_char         *data, *raw;
    ngx_http_llm_json_t   a, b;

    uint32_t              vals[6];

    static const char  *keys[] = { "model", "messages", "role", "content",
                                   "a", "" };
    static const ngx_http_llm_json_name_t  names[] = {
        { "model", 5 }, { "messages", 8 }, { "role", 4 }, { "content", 7 },
        { "a", 1 }, { "", 0 }
    };

    checked++;

    /* at the end of the guarded area: a byte read past it faults */

    data = area + area_size - doc_len;
    memcpy((u_char *) data, doc, doc_len);

    /* counting */

    memset(&a, 0, sizeof(a));
    memset(&b, 0, sizeof(b));
    a.data = b.data = data;
    a.len = b.len = doc_len;

    ra = ref_json_parse(&a);
    rb = ngx_http_llm_json_parse(&b);

    if (!same_result(&a, &b, ra, rb)) {
        differ("counting pass", doc_len);
        return;
    }

    /* filling, into an array with room */

    a.tokens = toks_a;
    b.tokens = toks_b;
    a.max_tokens = b.max_tokens = TOKENS_MAX;

    ra = ref_json_parse(&a);
    rb = ngx_http_llm_json_parse(&b);

    if (!same_result(&a, &b, ra, rb)) {
        differ("filling pass", doc_len);
        return;
    }

    if (ra == NGX_HTTP_LLM_JSON_OK && !same_tokens(a.ntokens)) {
        differ("tokens", doc_len);
        return;
    }

    /* a smaller depth limit */

    depth = 1 + rnd(4);
    a.max_depth = b.max_depth = depth;

    ra = ref_json_parse(&a);
    rb = ngx_http_llm_json_parse(&b);

    if (!same_result(&a, &b, ra, rb)) {
        differ("max_depth", doc_len);
        return;
    }

    a.max_depth = b.max_depth = 0;

    /* one token too few */

    ra = ref_json_parse(&a);
    rb = ngx_http_llm_json_parse(&b);

    if (ra != NGX_HTTP_LLM_JSON_OK || a.ntokens == 0) {
        return;
    }

    valid++;

    k = a.ntokens;
    a.max_tokens = b.max_tokens = k - 1;

    ra = ref_json_parse(&a);
    rb = ngx_http_llm_json_parse(&b);

    if (!same_result(&a, &b, ra, rb)) {
        differ("too many tokens", doc_len);
        return;
    }

    a.max_tokens = b.max_tokens = TOKENS_MAX;

    (void) ref_json_parse(&a);
    (void) ngx_http_llm_json_parse(&b);

    /* every string decoded, every number read, every object's keys */

    for (i = 0; i < k; i++) {

        if (toks_a[i].type == NGX_HTTP_LLM_JSON_STRING) {
            ref_json_raw_string(&a, i, &raw, &la);
            la = ref_json_decode_string(raw, la, out_a);

            ngx_http_llm_json_raw_string(&b, i, &raw, &lb);
            lb = ngx_http_llm_json_decode_string(raw, lb, out_b);

            if (la != lb || memcmp(out_a, out_b, la) != 0) {
                differ("decoded string", doc_len);
                return;
            }

            la = ref_json_encoded_len(out_a, la);
            lb = ngx_http_llm_json_encoded_len(out_b, lb);

            if (la != lb) {
                differ("encoded length", doc_len);
                return;
            }
        }

        if (toks_a[i].type == NGX_HTTP_LLM_JSON_NUMBER) {
            int64_t  ia = 0, ib = 0;
            double   da = 0, db = 0;

            if (ref_json_get_int(&a, i, &ia)
                != ngx_http_llm_json_get_int(&b, i, &ib)
                || ia != ib
                || ref_json_get_double(&a, i, &da)
                   != ngx_http_llm_json_get_double(&b, i, &db)
                || memcmp(&da, &db, sizeof(double)) != 0)
            {
                differ("number", doc_len);
                return;
            }
        }

        if (toks_a[i].type == NGX_HTTP_LLM_JSON_OBJECT
            || toks_a[i].type == NGX_HTTP_LLM_JSON_ARRAY)
        {
            if (ref_json_first(&a, i) != ngx_http_llm_json_first(&b, i)) {
                differ("first", doc_len);
                return;
            }
        }

        if (toks_a[i].type != NGX_HTTP_LLM_JSON_OBJECT) {
            continue;
        }

        ngx_http_llm_json_object_get_n(&b, i, names,
                                       sizeof(names) / sizeof(names[0]),
                                       vals);

        for (va = 0; va < sizeof(keys) / sizeof(keys[0]); va++) {
            vb = ref_json_object_get(&a, i, keys[va], strlen(keys[va]));

            if (vb != ngx_http_llm_json_object_get(&b, i, keys[va],
                                                   strlen(keys[va]))
                || vb != vals[va])
            {
                differ("object_get", doc_len);
                return;
            }
        }

        /* each key of the object, as decoded */

        for (va = toks_a[i].size ? i + 1 : NGX_HTTP_LLM_JSON_NONE;
             va != NGX_HTTP_LLM_JSON_NONE;
             va = toks_a[va].next)
        {
            ref_json_raw_string(&a, va, &raw, &la);
            la = ref_json_decode_string(raw, la, out_a);

            vb = ngx_http_llm_json_object_get(&b, i, (const char *) out_a,
                                              la);

            if (ref_json_object_get(&a, i, (const char *) out_a, la) != vb) {
                differ("object_get of a key", doc_len);
                return;
            }
        }
    }
}


/* arbitrary bytes, as the decoder must tolerate them */

static void
check_decode_raw(void)
{
    size_t         la, lb;
    const u_char  *data;

    data = area + area_size - doc_len;
    memcpy((u_char *) data, doc, doc_len);

    la = ref_json_decode_string(data, doc_len, out_a);
    lb = ngx_http_llm_json_decode_string(data, doc_len, out_b);

    if (la != lb || memcmp(out_a, out_b, la) != 0) {
        differ("decoding arbitrary bytes", doc_len);
    }

    la = ref_json_encoded_len(data, doc_len);
    lb = ngx_http_llm_json_encoded_len(data, doc_len);

    if (la != lb
        || ref_json_encode_string(out_a, data, doc_len) - out_a != (long) la
        || ngx_http_llm_json_encode_string(out_b, data, doc_len) - out_b
           != (long) lb
        || memcmp(out_a, out_b, la) != 0)
    {
        differ("encoding arbitrary bytes", doc_len);
    }
}


static void
random_docs(int hostile, unsigned count, const char *desc)
{
    unsigned  i, k;
    size_t    before;

    first_diff[0] = '\0';
    before = checked;

    for (i = 0; i < count; i++) {
        doc_len = 0;
        put_value(0, hostile);
        put_ws();

        if (hostile) {
            /* a byte changed, or a special byte put somewhere */

            k = rnd(4);

            if (k == 0 && doc_len) {
                doc[rnd((uint32_t) doc_len)] = (u_char) rnd(256);

            } else if (k == 1 && doc_len && doc_len < DOC_MAX) {
                k = rnd((uint32_t) doc_len);
                memmove(doc + k + 1, doc + k, doc_len - k);
                doc[k] = (u_char) "\"\\\x00\x1f\x7f\x80\xc3\xe2\xf0{}[],:"[rnd(15)];
                doc_len++;
            }
        }

        check_doc();
        check_decode_raw();
    }

    ok(first_diff[0] == '\0', "%s: %zu documents, same answers%s%s", desc,
       checked - before, first_diff[0] ? ": " : "", first_diff);
}


static void
prefixes(unsigned count)
{
    unsigned  i;
    size_t    len, n, before;

    first_diff[0] = '\0';
    before = checked;

    for (i = 0; i < count; i++) {
        doc_len = 0;
        put_value(0, rnd(2));
        len = doc_len;

        for (n = 0; n <= len; n++) {
            doc_len = n;
            check_doc();
        }
    }

    ok(first_diff[0] == '\0', "every prefix: %zu documents%s%s",
       checked - before, first_diff[0] ? ": " : "", first_diff);
}


/* every byte value at every offset of a 32-byte window, and around it */

static void
every_byte(void)
{
    unsigned  c, off, tail, before, lo, hi;

    first_diff[0] = '\0';
    before = (unsigned) checked;

    for (c = 0; c < 256; c++) {
        for (off = 0; off < 40; off++) {
            for (tail = 0; tail < 40; tail += 13) {
                doc_len = 0;
                put("{\"k\":\"", 6);
                memset(doc + doc_len, 'a', off);
                doc_len += off;
                putc1((u_char) c);

                /* a continuation, so that valid sequences stay valid */
                if (c >= 0xc2 && c < 0xf5) {
                    lo = (c == 0xe0) ? 0xa0 : (c == 0xf0) ? 0x90 : 0x80;
                    hi = (c == 0xed) ? 0x9f : (c == 0xf4) ? 0x8f : 0xbf;
                    putc1((u_char) (lo + (off + tail) % (hi - lo + 1)));

                    if (c >= 0xe0) {
                        putc1((u_char) (0x80 + off));
                    }

                    if (c >= 0xf0) {
                        putc1((u_char) (0xbf - off));
                    }
                }

                memset(doc + doc_len, 'b', tail);
                doc_len += tail;
                put("\"}", 2);

                check_doc();

                /* the same, cut just after the byte */
                doc_len = 6 + off + 1;
                check_doc();
            }
        }
    }

    ok(first_diff[0] == '\0', "every byte at every offset: %u documents%s%s",
       (unsigned) checked - before, first_diff[0] ? ": " : "", first_diff);
}


static void
nesting(void)
{
    unsigned  d, kind, before;

    first_diff[0] = '\0';
    before = (unsigned) checked;

    for (d = 1; d < 300; d += (d < 140 ? 1 : 37)) {
        for (kind = 0; kind < 4; kind++) {
            doc_len = 0;

            for (unsigned i = 0; i < d; i++) {
                put(kind == 0 ? "[" : kind == 1 ? "{\"a\":" : kind == 2
                    ? "[{\"x\":1,\"y\":" : " [ ", kind == 1 ? 5
                    : kind == 2 ? 12 : kind == 3 ? 3 : 1);
            }

            put("\"v\"", 3);

            for (unsigned i = 0; i < d; i++) {
                put(kind == 0 ? "]" : kind == 1 ? "}" : kind == 2 ? "}]"
                    : " ] ", kind == 2 ? 2 : kind == 3 ? 3 : 1);
            }

            check_doc();

            /* unbalanced */
            doc_len -= 1 + rnd(3);
            check_doc();
        }
    }

    ok(first_diff[0] == '\0', "deep nesting: %u documents%s%s",
       (unsigned) checked - before, first_diff[0] ? ": " : "", first_diff);
}


/*
 * Long strings dense with escapes (\n, \", \uXXXX, surrogate pairs, lone
 * and cut ones, a backslash at the end; or only \u0041, the input that
 * decodes to the fewest bytes), decoded as raw string contents at
 * the end of the guarded area: the decoder stores 32 bytes at a time far
 * from the end and writes the escapes over them; the output must be the
 * reference's and nothing past it written (a canary).
 */

static void
long_escapes(unsigned count)
{
    static const char  *pieces[] = {
        "\\n", "\\\"", "\\\\", "\\/", "\\t", "\\b", "\\f", "\\r", "\\x",
        "\\u00e9", "\\u20ac", "\\u0041", "\\ud83d\\ude00", "\\ud800",
        "\\udc00", "\\u12", "\\uzzzz", "\\ud800\\u0041", "\xc3\xa9",
        "\xe2\x82\xac", "\xf0\x9f\x98\x80"
    };

    size_t         la, lb, n, k, len, plain;
    unsigned       i, bad, dense;
    const char    *piece;
    const u_char  *data;

    bad = 0;

    for (i = 0; i < count && !bad; i++) {
        len = 1 + rnd(i < count / 2 ? 600 : 3000);
        plain = rnd(4) == 0 ? 0 : rnd(3) == 0 ? 200 : 40;
        dense = (rnd(4) == 0);          /* \u0041 only: 6 bytes to 1 */
        n = 0;

        while (n < len) {
            if (plain && rnd(3) != 0) {
                k = rnd((uint32_t) plain + 1);

                for ( /* void */ ; k && n < len; k--) {
                    doc[n++] = (u_char) ('a' + rnd(26));
                }

                continue;
            }

            piece = dense ? "\\u0041"
                          : pieces[rnd(sizeof(pieces) / sizeof(pieces[0]))];
            k = strlen(piece);

            if (n + k > len) {
                k = len - n;        /* cut: a backslash or \u at the end */
            }

            memcpy(doc + n, piece, k);
            n += k;
        }

        data = area + area_size - len;
        memcpy((u_char *) data, doc, len);

        memset(out_b, 0xa5, len + 64);

        la = ref_json_decode_string(data, len, out_a);
        lb = ngx_http_llm_json_decode_string(data, len, out_b);

        if (la != lb || memcmp(out_a, out_b, la) != 0) {
            bad = 1;
            snprintf(first_diff, sizeof(first_diff),
                     "decoded string of %zu bytes differs", len);
            break;
        }

        for (k = lb; k < len + 64; k++) {
            if (out_b[k] != 0xa5) {
                bad = 1;
                snprintf(first_diff, sizeof(first_diff),
                         "a string of %zu bytes decoded to %zu: byte %zu "
                         "past it written", len, lb, k);
                break;
            }
        }
    }

    ok(!bad, "long strings dense with escapes: %u decoded%s%s", i,
       bad ? ": " : "", bad ? first_diff : "");
}


int
main(void)
{
    long     page;
    u_char  *map;

    page = sysconf(_SC_PAGESIZE);
    area_size = (DOC_MAX + (size_t) page - 1) / (size_t) page * (size_t) page;

    map = mmap(NULL, area_size + (size_t) page, PROT_READ | PROT_WRITE,
               MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

    if (map == MAP_FAILED
        || mprotect(map + area_size, (size_t) page, PROT_NONE) != 0)
    {
        printf("Bail out! no guarded memory\n");
        return 1;
    }

    area = map;

    random_docs(0, 30000, "random JSON");
    random_docs(1, 60000, "random hostile JSON");
    prefixes(400);
    every_byte();
    nesting();
    long_escapes(20000);

    ok(valid > 10000, "%zu of the %zu documents were valid JSON", valid,
       checked);

    printf("1..%d\n", tests);

    return failures ? 1 : 0;
}
