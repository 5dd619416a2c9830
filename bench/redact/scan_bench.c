
/*
 * Copyright (C) ngx_llm_module authors
 *
 * Scan throughput of the built-in redaction patterns, one core:
 *
 *   engine   ngx_http_llm_pii_scan(): Hyperscan, validators, selection
 *   hs       the engine's Hyperscan stage alone (ngx_http_llm_pii_hs_scan():
 *            its databases, the runs of digits, the windows and gates),
 *            reports only counted
 *   hs1      hs_scan() of one database of all the built-in patterns (how
 *            the engine scanned before it had three)
 *   pcre2    the same patterns as one PCRE2 JIT alternation, matches only
 *   stream   the engine's stream API, text written in 16-byte deltas
 *
 * Inputs: chat-like texts (the "text" of JSON lines, the estimator's
 * corpus) scanned one message at a time, as requests are; and the
 * redaction corpus (dense with values).
 *
 *   cc -O2 -I ngx_llm_module/engines bench/redact/scan_bench.c \
 *       ngx_llm_module/engines/ngx_http_llm_pii.c ngx_llm_module/engines/ngx_http_llm_json.c \
 *       -lhs -lcrypto -lpcre2-8 -o scan_bench
 *   ./scan_bench corpus.txt chat1.jsonl [chat2.jsonl ...]
 *
 * Instruction counts (robust on a loaded machine): SCAN_ONCE=1 runs each
 * function once over the set, SCAN_INPUT=chat or dense picks one set, and
 * callgrind counts one function:
 *
 *   SCAN_ONCE=1 SCAN_INPUT=chat valgrind --tool=callgrind \
 *       --toggle-collect=run_engine ./scan_bench corpus.txt chat*.jsonl
 *
 * (run_stream for the streamed mode, run_hs for Hyperscan alone, run_hs1
 * for one database of all the patterns).
 */


#define PCRE2_CODE_UNIT_WIDTH  8

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <pcre2.h>

#include "ngx_http_llm_json.h"
#include "ngx_http_llm_pii.h"


#define RUNS        5
#define MIN_TIME    0.4            /* seconds per run */
#define DELTA       16


typedef struct {
    u_char      *data;
    size_t       len;
} text_t;


typedef struct {
    text_t      *texts;
    size_t       n;
    size_t       nalloc;
    size_t       bytes;
} set_t;


static hs_database_t        *db;
static hs_scratch_t         *scratch;
static ngx_http_llm_pii_t   *pii;
static pcre2_code           *re;
static pcre2_match_data     *md;
static unsigned long         found;
static int                   once;


static void *
bench_alloc(void *data, size_t size)
{
    return malloc(size);
}


/*
 * The thread's CPU time: on a machine shared with other jobs, the time the
 * scan was not scheduled does not count (SCAN_CLOCK=wall: elapsed time).
 */

static double
now(void)
{
    struct timespec  ts;
    static int       wall = -1;

    if (wall == -1) {
        wall = (getenv("SCAN_CLOCK") && strcmp(getenv("SCAN_CLOCK"), "wall")
                                        == 0);
    }

    clock_gettime(wall ? CLOCK_MONOTONIC : CLOCK_THREAD_CPUTIME_ID, &ts);

    return ts.tv_sec + ts.tv_nsec / 1e9;
}


static void
add(set_t *s, const u_char *p, size_t len)
{
    if (s->n == s->nalloc) {
        s->nalloc = s->nalloc ? s->nalloc * 2 : 256;
        s->texts = realloc(s->texts, s->nalloc * sizeof(text_t));
    }

    s->texts[s->n].data = malloc(len + 1);
    memcpy(s->texts[s->n].data, p, len);
    s->texts[s->n].len = len;
    s->n++;
    s->bytes += len;
}


/* the "text" of each JSON line */

static void
load_jsonl(set_t *s, const char *file)
{
    char                  line[1 << 16];
    u_char               *out;
    size_t                len;
    FILE                 *f;
    uint32_t              t;
    const u_char         *raw;
    ngx_http_llm_json_t   j;

    f = fopen(file, "r");
    if (f == NULL) {
        perror(file);
        exit(1);
    }

    while (fgets(line, sizeof(line), f)) {
        memset(&j, 0, sizeof(j));
        j.data = (u_char *) line;
        j.len = strlen(line);

        if (ngx_http_llm_json_parse(&j) != NGX_HTTP_LLM_JSON_OK) {
            continue;
        }

        j.tokens = malloc(j.ntokens * sizeof(ngx_http_llm_json_token_t));
        j.max_tokens = j.ntokens;
        ngx_http_llm_json_parse(&j);

        t = ngx_http_llm_json_object_get(&j, 0, "text", 4);

        if (t != NGX_HTTP_LLM_JSON_NONE) {
            ngx_http_llm_json_raw_string(&j, t, &raw, &len);
            out = malloc(len + 1);
            len = ngx_http_llm_json_decode_string(raw, len, out);
            add(s, out, len);
            free(out);
        }

        free(j.tokens);
    }

    fclose(f);
}


/* the redaction corpus, labels removed */

static void
load_corpus(set_t *s, const char *file)
{
    char    line[1 << 16], text[1 << 16], *p, *o;
    FILE   *f;

    f = fopen(file, "r");
    if (f == NULL) {
        perror(file);
        exit(1);
    }

    while (fgets(line, sizeof(line), f)) {
        o = text;

        for (p = line; *p && *p != '\n'; /* void */) {
            if (p[0] == '\\' && p[1] == 'n') {
                *o++ = '\n';
                p += 2;

            } else if (strncmp(p, "\xc2\xab", 2) == 0) {
                p = strchr(p, ':') + 1;

            } else if (strncmp(p, "\xc2\xbb", 2) == 0) {
                p += 2;

            } else {
                *o++ = *p++;
            }
        }

        add(s, (u_char *) text, o - text);
    }

    fclose(f);
}


static int
on_hs(unsigned int id, unsigned long long from, unsigned long long to,
    unsigned int flags, void *ctx)
{
    found++;
    return 0;
}


static void
run_engine(set_t *s)
{
    size_t                      i;
    ngx_http_llm_pii_matches_t  m;

    memset(&m, 0, sizeof(m));
    m.alloc = bench_alloc;

    for (i = 0; i < s->n; i++) {
        ngx_http_llm_pii_scan(pii, scratch, s->texts[i].data,
                              s->texts[i].len, 0, &m);
        found += m.nelts;
    }
}


static void
run_hs(set_t *s)
{
    size_t                      i;
    static ngx_http_llm_pii_matches_t  m;

    m.alloc = bench_alloc;

    for (i = 0; i < s->n; i++) {
        ngx_http_llm_pii_hs_scan(pii, scratch, s->texts[i].data,
                                 s->texts[i].len, on_hs, NULL, &m);
    }
}


static void
run_hs1(set_t *s)
{
    size_t  i;

    for (i = 0; i < s->n; i++) {
        hs_scan(db, (const char *) s->texts[i].data,
                (unsigned) s->texts[i].len, 0, scratch, on_hs, NULL);
    }
}


static void
run_pcre2(set_t *s)
{
    int          rc;
    size_t       i, off;
    PCRE2_SIZE  *ov;

    for (i = 0; i < s->n; i++) {
        off = 0;

        for ( ;; ) {
            rc = pcre2_jit_match(re, s->texts[i].data, s->texts[i].len, off,
                                 0, md, NULL);
            if (rc < 0) {
                break;
            }

            found++;
            ov = pcre2_get_ovector_pointer(md);
            off = (ov[1] > ov[0]) ? ov[1] : ov[0] + 1;

            if (off > s->texts[i].len) {
                break;
            }
        }
    }
}


static void
run_stream(set_t *s)
{
    size_t                      i, pos, n;
    ngx_http_llm_pii_stream_t   st;

    memset(&st, 0, sizeof(st));
    st.matches.alloc = bench_alloc;

    for (i = 0; i < s->n; i++) {
        st.len = 0;
        st.from = 0;
        st.cut = 0;
        st.swallow = 0;

        for (pos = 0; pos < s->texts[i].len; pos += n) {
            n = s->texts[i].len - pos;
            if (n > DELTA) {
                n = DELTA;
            }

            ngx_http_llm_pii_stream_write(&st, s->texts[i].data + pos, n);
            ngx_http_llm_pii_stream_scan(pii, scratch, &st,
                                         pos + n == s->texts[i].len
                                         ? NGX_HTTP_LLM_PII_FINAL : 0);
            found += st.matches.nelts;
            ngx_http_llm_pii_stream_consume(&st);
        }
    }
}


static int
cmp_double(const void *a, const void *b)
{
    double  x = *(const double *) a, y = *(const double *) b;

    return (x > y) - (x < y);
}


/* MB/s, the median of RUNS runs of at least MIN_TIME each */

static double
measure(void (*fn)(set_t *), set_t *s, unsigned long *matches)
{
    int      r, runs;
    double   t0, t, mbs[RUNS];
    size_t   bytes;

    runs = once ? 1 : RUNS;

    for (r = 0; r < runs; r++) {
        bytes = 0;
        found = 0;
        t0 = now();

        do {
            fn(s);
            bytes += s->bytes;
            t = now() - t0;
        } while (t < MIN_TIME && !once);

        mbs[r] = bytes / t / 1e6;
        *matches = found * s->bytes / bytes;
    }

    qsort(mbs, runs, sizeof(double), cmp_double);

    return mbs[runs / 2];
}


static void
report(const char *name, set_t *s)
{
    double          e, h, h1, p, st;
    unsigned long   me, mh, mh1, mp, ms;

    e = measure(run_engine, s, &me);
    h = measure(run_hs, s, &mh);
    h1 = measure(run_hs1, s, &mh1);
    p = measure(run_pcre2, s, &mp);
    st = measure(run_stream, s, &ms);

    printf("| %s | %zu | %.0f | %.1f | %.1f | %.1f | %.1f | %.1f | %.1fx | "
           "%.2f |\n", name, s->n, (double) s->bytes / s->n, e, h, h1, p, st,
           h / p, (double) s->bytes / s->n / e);

    fprintf(stderr, "%s: matches engine %lu hs %lu hs1 %lu pcre2 %lu "
            "stream %lu\n", name, me, mh, mh1, mp, ms);
}


int
main(int argc, char **argv)
{
    int                     bad, i, errcode;
    char                    err[256];
    size_t                  len, erroff;
    unsigned                type, flags, n, mask;
    unsigned                fl[128], ids[128];
    const char             *pat, *exprs[128];
    char                   *alt, *p;
    set_t                   chat, dense;
    hs_compile_error_t     *cerr;

    if (argc < 3) {
        fprintf(stderr, "usage: %s corpus.txt chat.jsonl...\n", argv[0]);
        return 1;
    }

    once = (getenv("SCAN_ONCE") != NULL);

    memset(&chat, 0, sizeof(chat));
    memset(&dense, 0, sizeof(dense));

    load_corpus(&dense, argv[1]);

    for (i = 2; i < argc; i++) {
        load_jsonl(&chat, argv[i]);
    }

    /* the default types; SCAN_TYPES=all adds national_id */
    mask = (getenv("SCAN_TYPES") && strcmp(getenv("SCAN_TYPES"), "all") == 0)
           ? NGX_HTTP_LLM_PII_ALL : NGX_HTTP_LLM_PII_DEFAULT;

    pii = ngx_http_llm_pii_compile(mask, NULL, 0, err, sizeof(err), &bad);
    if (pii == NULL) {
        fprintf(stderr, "compile: %s\n", err);
        return 1;
    }

    /* the same patterns: a Hyperscan database, a PCRE2 alternation */

    len = 0;

    for (i = 0, n = 0;
         (pat = ngx_http_llm_pii_builtin_pattern((unsigned) i, &type,
                                                 &flags));
         i++)
    {
        if (!(mask & (1u << type))) {
            continue;
        }

        if (n == sizeof(exprs) / sizeof(exprs[0])) {
            fprintf(stderr, "more than %u patterns\n", n);
            return 1;
        }

        exprs[n] = pat;
        fl[n] = flags;
        ids[n] = n;
        len += strlen(pat) + 16;
        n++;
    }

    if (hs_compile_multi(exprs, fl, ids, n, HS_MODE_BLOCK, NULL, &db, &cerr)
        != HS_SUCCESS)
    {
        fprintf(stderr, "hs: %s\n", cerr->message);
        return 1;
    }

    ngx_http_llm_pii_alloc_scratch(pii, &scratch);
    hs_alloc_scratch(db, &scratch);

    alt = malloc(len);
    p = alt;

    for (i = 0; i < (int) n; i++) {
        p += sprintf(p, "%s(?%s:%s)", i ? "|" : "",
                     (fl[i] & HS_FLAG_CASELESS) ? "i" : "", exprs[i]);
    }

    re = pcre2_compile((PCRE2_SPTR) alt, PCRE2_ZERO_TERMINATED, 0, &errcode,
                       &erroff, NULL);
    if (re == NULL) {
        fprintf(stderr, "pcre2: error %d at %zu\n", errcode, erroff);
        return 1;
    }

    if (pcre2_jit_compile(re, PCRE2_JIT_COMPLETE) != 0) {
        fprintf(stderr, "pcre2: no JIT\n");
        return 1;
    }

    md = pcre2_match_data_create_from_pattern(re, NULL);

    printf("%u patterns; MB/s on one core, median of %d runs\n\n", n, RUNS);
    printf("| input | texts | bytes/text | engine (Hyperscan + validators) "
           "| hs_scan only | hs_scan, one database | PCRE2 JIT alternation "
           "| engine, %d-byte stream | hs_scan / PCRE2 "
           "| engine us per text |\n", DELTA);
    printf("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");

    p = getenv("SCAN_INPUT");

    if (p == NULL || strcmp(p, "dense") != 0) {
        report("chat (estimator corpus)", &chat);
    }

    if (p == NULL || strcmp(p, "chat") != 0) {
        report("redaction corpus (dense)", &dense);
    }

    return 0;
}
