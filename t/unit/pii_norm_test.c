
/*
 * Copyright (C) ngx_llm_module authors
 *
 * Normalisation's search (ngx_http_llm_pii_norm_next(): the next no-break
 * space, soft hyphen, zero-width or full-width character to normalise)
 * against the definition: the first offset at or after i where
 * ngx_http_llm_pii_norm_char() takes a character, its length and its
 * replacement.  Random texts of ASCII, those characters, near misses (the
 * same lead bytes with other second bytes: "€", "“", U+FFFD; other
 * non-ASCII: "é"), cut sequences, at every offset and length to 300 bytes;
 * the texts end at a guard page.  Each path: AVX2 where the CPU has it,
 * SSE2, and the bytes one by one past them.  Prints TAP.
 *
 *   cc -I ngx_llm_module/engines t/unit/pii_norm_test.c -lhs -lcrypto \
 *       -o build/unit/pii_norm_test
 */


#include "ngx_http_llm_pii.c"

#include <stdarg.h>
#include <sys/mman.h>
#include <unistd.h>


#define TEXT_MAX  4096          /* a page or a multiple of it */


static int      tests;
static u_char  *area;            /* TEXT_MAX bytes before a guard page */
static uint64_t rng = 0x9e3779b97f4a7c15ULL;


static void
ok(int cond, const char *fmt, ...)
{
    va_list  args;

    tests++;

    if (!cond) {
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


/* the definition: every offset tried */

static size_t
norm_next_ref(const u_char *t, size_t i, size_t len, size_t *cl, u_char *c)
{
    for ( /* void */ ; i < len; i++) {
        *cl = ngx_http_llm_pii_norm_char(t + i, len - i, c);

        if (*cl) {
            return i;
        }
    }

    return len;
}


static size_t
make_text(u_char *buf, size_t len, unsigned density)
{
    size_t       n, k;
    const char  *piece;

    static const char  *pieces[] = {
        "\xc2\xa0", "\xc2\xad", "\xe2\x80\x8b", "\xe2\x80\x8c",
        "\xe2\x80\x8d", "\xe2\x81\xa0", "\xe2\x80\xaf", "\xe3\x80\x80",
        "\xef\xbb\xbf", "\xef\xbc\x91", "\xef\xbc\x99", "\xef\xbd\x9e",
        "\xe2\x88\x92", "\xe2\x80\x90", "\xe2\x80\x94",
        /* near misses */
        "\xe2\x82\xac", "\xe2\x80\x9c", "\xef\xbf\xbd", "\xc3\xa9",
        "\xc2\xa9", "\xe3\x81\x82", "\xef\xbc", "\xe2\x80", "\xc2",
        "\xe2", "\xef"
    };

    n = 0;

    while (n < len) {
        if (rnd(100) >= density) {
            buf[n++] = (u_char) (rnd(8) ? 'a' + rnd(26) : ' ' + rnd(32));
            continue;
        }

        piece = pieces[rnd(sizeof(pieces) / sizeof(pieces[0]))];
        k = strlen(piece);

        if (n + k > len) {
            k = len - n;
        }

        memcpy(buf + n, piece, k);
        n += k;
    }

    return n;
}


static void
check(const char *name, unsigned count)
{
    u_char    *t, c1, c2;
    size_t     len, i, a, b, cl1, cl2, checked;
    unsigned   k, bad;

    bad = 0;
    checked = 0;

    for (k = 0; k < count && !bad; k++) {
        len = rnd(301);
        t = area + TEXT_MAX - len;
        make_text(t, len, k % 4 == 0 ? 1 : k % 4 == 1 ? 5 : 30);

        for (i = 0; i <= len && !bad; i++) {
            cl1 = cl2 = 0;
            c1 = c2 = 0;

            a = norm_next_ref(t, i, len, &cl1, &c1);
            b = ngx_http_llm_pii_norm_next(t, i, len, &cl2, &c2);
            checked++;

            if (a != b || (a < len && (cl1 != cl2 || c1 != c2))) {
                bad = 1;
                printf("# %s: a text of %zu bytes from %zu: %zu (%zu, %02x)"
                       " expected, %zu (%zu, %02x)\n", name, len, i, a, cl1,
                       c1, b, cl2, c2);
            }
        }
    }

    ok(!bad, "%s: the next character to normalise, %zu searches", name,
       checked);
}


int
main(void)
{
    long     page;
    u_char  *map;

    page = sysconf(_SC_PAGESIZE);

    if (page <= 0 || TEXT_MAX % page != 0) {
        printf("Bail out! pages of %ld bytes\n", page);
        return 1;
    }

    map = mmap(NULL, TEXT_MAX + (size_t) page, PROT_READ | PROT_WRITE,
               MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

    if (map == MAP_FAILED
        || mprotect(map + TEXT_MAX, (size_t) page, PROT_NONE) != 0)
    {
        printf("Bail out! no guarded memory\n");
        return 1;
    }

    area = map;

#if (NGX_HTTP_LLM_PII_AVX2)
    if (__builtin_cpu_supports("avx2")) {
        ngx_http_llm_pii_avx2 = 1;
        check("AVX2", 4000);

    } else {
        ok(1, "# SKIP AVX2: the CPU has none");
    }

    ngx_http_llm_pii_avx2 = 0;
#endif

    check("SSE2 or bytes", 4000);

    printf("1..%d\n", tests);

    return 0;
}
