
/*
 * Copyright (C) ngx_llm_module authors
 *
 * The token memo's hash (engines/ngx_http_llm_memo_hash.h), both forms:
 * the portable one (a multiply a word) and the AES-NI one (a round a
 * block, used by ngx_http_llm_tokenizer.c where the CPU has AES).  Each
 * must be a function of the key, the length and every byte (the same
 * input gives the same value; a byte changed anywhere, the length or the
 * key changed, give another), never read past the text (texts end at a
 * guard page), and spread texts over the memo's sets.  Prints TAP.
 *
 *   cc -I ngx_llm_module/engines t/unit/memo_hash_test.c -o build/unit/memo
 */


#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

typedef unsigned char  u_char;

#include "ngx_http_llm_memo_hash.h"


#define TEXT_MAX  4096
#define SETS      2048          /* NGX_HTTP_LLM_MEMO_SETS */


typedef uint64_t (*hash_pt)(uint64_t key, const u_char *p, size_t len);


static int       tests;
static int       failures;
static u_char   *area;           /* TEXT_MAX bytes before a guard page */
static uint64_t  rng = 0x9e3779b97f4a7c15ULL;


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


static int
cmp64(const void *a, const void *b)
{
    uint64_t  x = *(const uint64_t *) a, y = *(const uint64_t *) b;

    return (x > y) - (x < y);
}


/* a text of len bytes ending at the guard page: chat-like letters */

static u_char *
text(size_t len)
{
    size_t   i;
    u_char  *p;

    p = area + TEXT_MAX - len;

    for (i = 0; i < len; i++) {
        p[i] = rnd(6) == 0 ? ' ' : (u_char) ('a' + rnd(26));
    }

    return p;
}


static void
check(hash_pt hash, const char *name, int strict)
{
    size_t     len, i, n, distinct, dup, same;
    u_char    *p, save;
    uint64_t   h, key, *v;
    unsigned   sets[SETS], bit, max;

    v = malloc(sizeof(uint64_t) * TEXT_MAX * 8);
    if (v == NULL) {
        ok(0, "%s: memory", name);
        return;
    }

    key = 0x0123456789abcdefULL;

    /* the same input, the same value; every length from 1 to 300 */

    dup = 0;

    for (len = 1; len <= 300; len++) {
        p = text(len);
        h = hash(key, p, len);

        if (hash(key, p, len) != h) {
            dup++;
        }
    }

    ok(dup == 0, "%s: the same text, the same value", name);

    /*
     * One byte changed at each offset (one bit, or all bits), of texts of
     * several lengths: each value differs from the text's (what both forms
     * promise: one word or block changed, never the same value); strict
     * (the AES-NI form): all differ from each other too (the portable
     * form's lanes, xor'ed, let the same change in two lanes cancel
     * now and then)
     */

    dup = 0;
    same = 0;

    for (len = 256; len <= 1300; len += 347) {
        p = text(len);
        n = 0;
        v[n++] = hash(key, p, len);

        for (i = 0; i < len; i++) {
            save = p[i];

            for (bit = 0; bit < 9; bit++) {
                p[i] = (u_char) (bit < 8 ? save ^ (1u << bit) : save ^ 0xffu);
                v[n++] = hash(key, p, len);
            }

            p[i] = save;
        }

        for (i = 1; i < n; i++) {
            same += (v[i] == v[0]);
        }

        qsort(v, n, sizeof(uint64_t), cmp64);

        for (i = 1; i < n; i++) {
            dup += (v[i] == v[i - 1]);
        }
    }

    ok(same == 0, "%s: a byte changed anywhere, another value (%zu same)",
       name, same);

    if (strict) {
        ok(dup == 0, "%s: and all the changed texts' values differ (%zu same)",
           name, dup);
    }

    /* the same bytes, other lengths (a text and its prefixes, zeros at
     * the end: the padding of the last block); another key */

    p = text(600);
    memset(p + 500, 0, 100);
    n = 0;

    for (len = 480; len < 600; len++) {
        v[n++] = hash(key, p + 600 - len, len);
        v[n++] = hash(key, p, len);
        v[n++] = hash(key ^ 1, p, len);
        v[n++] = hash(key ^ 0x8000000000000000ULL, p, len);
    }

    qsort(v, n, sizeof(uint64_t), cmp64);
    dup = 0;

    for (i = 1; i < n; i++) {
        dup += (v[i] == v[i - 1]);
    }

    ok(dup == 0, "%s: lengths, zeros at the end and keys count (%zu same)",
       name, dup);

    /* spread over the sets: 2048 sets, 64k texts of 256..2048 bytes that
     * differ in one word only (a message's tag): no set far from 32 */

    memset(sets, 0, sizeof(sets));
    distinct = 0;
    p = text(2048);

    for (i = 0; i < 65536; i++) {
        len = 256 + (i % 1793);
        memcpy(p + 2048 - len + len / 2, &i, sizeof(i));
        h = hash(key, p + 2048 - len, len);
        sets[h & (SETS - 1)]++;
    }

    max = 0;

    for (i = 0; i < SETS; i++) {
        if (sets[i]) {
            distinct++;
        }

        if (sets[i] > max) {
            max = sets[i];
        }
    }

    ok(distinct == SETS && max < 80,
       "%s: spread over the memo's sets (%zu of %u used, at most %u)",
       name, distinct, SETS, max);

    free(v);
}


int
main(void)
{
    long     page;
    u_char  *map;

    page = sysconf(_SC_PAGESIZE);

    map = mmap(NULL, TEXT_MAX + (size_t) page, PROT_READ | PROT_WRITE,
               MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

    if (map == MAP_FAILED
        || mprotect(map + TEXT_MAX, (size_t) page, PROT_NONE) != 0)
    {
        printf("Bail out! no guarded memory\n");
        return 1;
    }

    area = map;

    check(ngx_http_llm_memo_hash64, "portable", 0);

#if (NGX_HTTP_LLM_MEMO_AES)
    if (__builtin_cpu_supports("aes")) {
        check(ngx_http_llm_memo_hash_aes, "AES-NI", 1);

    } else {
        ok(1, "# SKIP AES-NI: the CPU has no AES");
    }
#else
    ok(1, "# SKIP AES-NI: not built (not x86-64)");
#endif

    printf("1..%d\n", tests);

    return failures ? 1 : 0;
}
