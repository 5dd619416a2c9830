
/*
 * Copyright (C) ngx_llm_module authors
 *
 * Throughput of the JSON scanner on a ~1 MB chat completion request.
 *
 *   cc -O2 -I ngx_llm_module/engines bench/json_bench.c \
 *       ngx_llm_module/engines/ngx_http_llm_json.c -o build/bench/json_bench
 *   ./build/bench/json_bench
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ngx_http_llm_json.h"


#define BODY_SIZE   (1024 * 1024)
#define ITERATIONS  200


static const char  *plain[] = {
    "the", "gateway", "streams", "tokens", "to", "the", "client", "while",
    "a", "budget", "is", "reserved", "and", "reconciled", "at", "the", "end",
    "of", "each", "request;", "nginx", "workers", "share", "state", "through",
    "memory", "zones,", "so", "a", "reload", "keeps", "every", "counter.",
    "Please", "summarize", "this", "document", "in", "three", "sentences",
    "and", "list", "any", "risks", "you", "see", "with", "the", "approach."
};


/* words with escapes or non-ASCII characters */

static const char  *special[] = {
    "caf\xc3\xa9", "na\xc3\xafve", "42\xe2\x82\xac", "\\\"quoted\\\"",
    "line\\nbreak", "tab\\there", "\\u00e9t\\u00e9",
    "\xe6\x97\xa5\xe6\x9c\xac",
    "\xf0\x9f\x98\x80", "C:\\\\path", "x\\/y", "end.\\n\\n"
};


/*
 * A chat completion request: messages of 50 to 2000 words, one word in
 * "every" with an escape or a non-ASCII character.
 */

static size_t
generate(char *buf, size_t size, unsigned every)
{
    size_t        n, w, msg;
    unsigned int  seed, r;

    static const char  *roles[] = { "system", "user", "assistant" };

    seed = 1;

    n = (size_t) snprintf(buf, size,
                          "{\"model\":\"gpt-4o\",\"temperature\":0.7,"
                          "\"top_p\":0.95,\"max_tokens\":4096,"
                          "\"stream\":true,\"stream_options\":"
                          "{\"include_usage\":true},\"messages\":[");

    for (msg = 0; n < size - 8192; msg++) {
        n += (size_t) snprintf(buf + n, size - n,
                               "%s{\"role\":\"%s\",\"content\":\"",
                               msg ? "," : "", roles[msg % 3]);

        seed = seed * 1103515245 + 12345;

        for (w = 50 + (seed >> 8) % 1950; w && n < size - 8192; w--) {
            seed = seed * 1103515245 + 12345;
            r = seed >> 8;

            n += (size_t) snprintf(buf + n, size - n, "%s ",
                    (r % every == 0)
                    ? special[(r / every) % (sizeof(special) / sizeof(char *))]
                    : plain[(r / every) % (sizeof(plain) / sizeof(char *))]);
        }

        n += (size_t) snprintf(buf + n, size - n, "\"}");
    }

    n += (size_t) snprintf(buf + n, size - n,
                           "],\"user\":\"tenant-42\",\"n\":1}");

    return n;
}


static double
now(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);

    return ts.tv_sec + ts.tv_nsec / 1e9;
}


static int
bench(const char *name, const char *body, size_t len)
{
    int                         i;
    double                      start, t_count, t_fill;
    ngx_http_llm_json_t         p;
    ngx_http_llm_json_token_t  *tokens;

    memset(&p, 0, sizeof(p));
    p.data = (const u_char *) body;
    p.len = len;

    if (ngx_http_llm_json_parse(&p) != NGX_HTTP_LLM_JSON_OK) {
        fprintf(stderr, "generated body is invalid: %s at %zu\n",
                p.err, p.err_offset);
        return 1;
    }

    tokens = malloc(p.ntokens * sizeof(ngx_http_llm_json_token_t));
    if (tokens == NULL) {
        return 1;
    }

    t_count = 0;
    t_fill = 0;

    for (i = 0; i < ITERATIONS; i++) {
        p.tokens = NULL;
        p.max_tokens = 0;

        start = now();

        if (ngx_http_llm_json_parse(&p) != NGX_HTTP_LLM_JSON_OK) {
            return 1;
        }

        t_count += now() - start;

        p.tokens = tokens;
        p.max_tokens = p.ntokens;

        start = now();

        if (ngx_http_llm_json_parse(&p) != NGX_HTTP_LLM_JSON_OK) {
            return 1;
        }

        t_fill += now() - start;
    }

    printf("%s: %zu bytes, %u tokens, %d times\n",
           name, len, p.ntokens, ITERATIONS);
    printf("  counting pass:       %8.1f MB/s\n",
           len * (double) ITERATIONS / t_count / 1e6);
    printf("  filling pass:        %8.1f MB/s\n",
           len * (double) ITERATIONS / t_fill / 1e6);
    printf("  counting + filling:  %8.1f MB/s (%.3f ms per body)\n",
           len * (double) ITERATIONS / (t_count + t_fill) / 1e6,
           (t_count + t_fill) * 1e3 / ITERATIONS);

    free(tokens);

    return 0;
}


int
main(void)
{
    char    *body;
    size_t   len;

    body = malloc(BODY_SIZE + 64);
    if (body == NULL) {
        return 1;
    }

    len = generate(body, BODY_SIZE + 64, 16);

    if (bench("chat body, 1 word in 16 escaped or non-ASCII", body, len)
        != 0)
    {
        return 1;
    }

    len = generate(body, BODY_SIZE + 64, 3);

    if (bench("chat body, 1 word in 3 escaped or non-ASCII", body, len)
        != 0)
    {
        return 1;
    }

    free(body);

    return 0;
}
