
/*
 * Copyright (C) ngx_llm_module authors
 *
 * libFuzzer target: the JSON scanner against the scanner of e28ee8b
 * (t/unit/ref/ngx_http_llm_json_e28ee8b.c, renamed ref_*), as
 * t/unit/json_diff_test.c does with its own documents.  For every input
 * (in a buffer of exactly its size, so that AddressSanitizer sees a read
 * past its end) both must agree on the result, the error and its offset,
 * the tokens counted and filled, "full" with one token too few, a smaller
 * max_depth; on every decoded string and number; on object_get and
 * object_get_n; on the input decoded and encoded as raw string contents.
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -I ngx_llm_module/engines \
 *       fuzz/json_diff_fuzz.c ngx_llm_module/engines/ngx_http_llm_json.c \
 *       -o build/fuzz/json_diff_fuzz
 */


#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ngx_http_llm_json.h"


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

#include "../t/unit/ref/ngx_http_llm_json_e28ee8b.c"

#undef ngx_http_llm_json_parse
#undef ngx_http_llm_json_object_get
#undef ngx_http_llm_json_first
#undef ngx_http_llm_json_raw_string
#undef ngx_http_llm_json_decode_string
#undef ngx_http_llm_json_encoded_len
#undef ngx_http_llm_json_encode_string
#undef ngx_http_llm_json_get_int
#undef ngx_http_llm_json_get_double


#define check(cond)                                                          \
    if (!(cond)) {                                                           \
        __builtin_trap();                                                    \
    }


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


static void
same(ngx_http_llm_json_t *a, ngx_http_llm_json_t *b, int ra, int rb)
{
    check(ra == rb);
    check(a->ntokens == b->ntokens);
    check(a->full == b->full);
    check(a->err_offset == b->err_offset);
    check((a->err == NULL) == (b->err == NULL));
    check(a->err == NULL || strcmp(a->err, b->err) == 0);
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int                         ra, rb;
    u_char                     *doc, *oa, *ob;
    size_t                      la, lb;
    uint32_t                    i, k, n, vals[4];
    const u_char               *raw;
    ngx_http_llm_json_t         a, b;
    ngx_http_llm_json_token_t  *ta, *tb;

    static const char  *keys[] = { "model", "messages", "a", "" };
    static const ngx_http_llm_json_name_t  names[] = {
        { "model", 5 }, { "messages", 8 }, { "a", 1 }, { "", 0 }
    };

    if (size > 1 << 20) {
        return 0;
    }

    doc = malloc(size ? size : 1);
    oa = malloc(size + 1);
    ob = malloc(size + 1);
    check(doc && oa && ob);
    memcpy(doc, data, size);

    /* the input as raw string contents: tolerated, decoded the same */

    la = ref_json_decode_string(doc, size, oa);
    lb = ngx_http_llm_json_decode_string(doc, size, ob);
    check(la == lb && memcmp(oa, ob, la) == 0);

    memset(&a, 0, sizeof(a));
    memset(&b, 0, sizeof(b));
    a.data = b.data = doc;
    a.len = b.len = size;

    ra = ref_json_parse(&a);
    rb = ngx_http_llm_json_parse(&b);
    same(&a, &b, ra, rb);

    n = a.ntokens;
    ta = malloc((n + 1) * sizeof(ngx_http_llm_json_token_t));
    tb = malloc((n + 1) * sizeof(ngx_http_llm_json_token_t));
    check(ta && tb);

    a.tokens = ta;
    b.tokens = tb;
    a.max_tokens = b.max_tokens = n + 1;

    ra = ref_json_parse(&a);
    rb = ngx_http_llm_json_parse(&b);
    same(&a, &b, ra, rb);

    a.max_depth = b.max_depth = 1 + (size & 3);
    same(&a, &b, ref_json_parse(&a), ngx_http_llm_json_parse(&b));
    a.max_depth = b.max_depth = 0;

    if (n > 0) {
        a.max_tokens = b.max_tokens = n - 1;
        same(&a, &b, ref_json_parse(&a), ngx_http_llm_json_parse(&b));
        a.max_tokens = b.max_tokens = n + 1;
    }

    ra = ref_json_parse(&a);
    rb = ngx_http_llm_json_parse(&b);

    if (ra != NGX_HTTP_LLM_JSON_OK) {
        goto done;
    }

    for (i = 0; i < n; i++) {
        check(ta[i].start == tb[i].start && ta[i].end == tb[i].end
              && ta[i].parent == tb[i].parent && ta[i].next == tb[i].next
              && ta[i].size == tb[i].size && ta[i].type == tb[i].type
              && ta[i].key == tb[i].key && ta[i].escaped == tb[i].escaped
              && ta[i].integer == tb[i].integer);
    }

    for (i = 0; i < n; i++) {

        if (ta[i].type == NGX_HTTP_LLM_JSON_STRING) {
            ref_json_raw_string(&a, i, &raw, &la);
            la = ref_json_decode_string(raw, la, oa);
            ngx_http_llm_json_raw_string(&b, i, &raw, &lb);
            lb = ngx_http_llm_json_decode_string(raw, lb, ob);
            check(la == lb && memcmp(oa, ob, la) == 0);
        }

        if (ta[i].type == NGX_HTTP_LLM_JSON_NUMBER) {
            int64_t  ia = 0, ib = 0;
            double   da = 0, db = 0;

            check(ref_json_get_int(&a, i, &ia)
                  == ngx_http_llm_json_get_int(&b, i, &ib) && ia == ib);
            check(ref_json_get_double(&a, i, &da)
                  == ngx_http_llm_json_get_double(&b, i, &db)
                  && memcmp(&da, &db, sizeof(double)) == 0);
        }

        check(ref_json_first(&a, i) == ngx_http_llm_json_first(&b, i));

        if (ta[i].type != NGX_HTTP_LLM_JSON_OBJECT) {
            continue;
        }

        ngx_http_llm_json_object_get_n(&b, i, names, 4, vals);

        for (k = 0; k < 4; k++) {
            check(ref_json_object_get(&a, i, keys[k], strlen(keys[k]))
                  == vals[k]);
            check(vals[k] == ngx_http_llm_json_object_get(&b, i, keys[k],
                                                          strlen(keys[k])));
        }

        /* every key of the object, decoded, looked up both ways */

        for (k = ta[i].size ? i + 1 : NGX_HTTP_LLM_JSON_NONE;
             k != NGX_HTTP_LLM_JSON_NONE;
             k = ta[k].next)
        {
            ref_json_raw_string(&a, k, &raw, &la);
            la = ref_json_decode_string(raw, la, oa);

            check(ref_json_object_get(&a, i, (const char *) oa, la)
                  == ngx_http_llm_json_object_get(&b, i, (const char *) oa,
                                                  la));
        }
    }

done:

    free(ta);
    free(tb);
    free(doc);
    free(oa);
    free(ob);

    return 0;
}
