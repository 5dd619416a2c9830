
/*
 * Copyright (C) ngx_llm_module authors
 *
 * Exact token counts of OpenAI's byte-pair encodings (o200k_base,
 * cl100k_base) from a tiktoken rank file ("token_base64 rank" per line).
 * It depends on libc and libpcre2-8 only, so that it can be benchmarked,
 * unit-tested and fuzzed outside nginx.
 *
 * A text is cut into pieces by the encoding's pre-split regular
 * expression (PCRE2, JIT-compiled), and each piece is merged pair by pair
 * by rank, lowest first, as tiktoken and gpt-tokenizer do.  Counts of short
 * pieces are remembered in a small cache.  Invalid UTF-8 is first replaced
 * with U+FFFD the way a WHATWG decoder (Node's Buffer.toString) does.
 *
 * A tokenizer is loaded once (at configuration time) and is read-only
 * afterwards except for its cache and match scratch, which are allocated on
 * the first count: after fork, so every worker has its own.  Not thread
 * safe: one tokenizer per thread.
 */

#ifndef _NGX_HTTP_LLM_BPE_H_INCLUDED_
#define _NGX_HTTP_LLM_BPE_H_INCLUDED_


#include <stddef.h>
#include <sys/types.h>


typedef struct ngx_http_llm_bpe_s  ngx_http_llm_bpe_t;


/* 1 if NAME (len bytes) is an encoding the engine knows */
int ngx_http_llm_bpe_known(const u_char *name, size_t len);

/*
 * Parse a rank file (data, len) for encoding NAME.  On error returns NULL
 * and writes a message to err (err_size bytes, NUL-terminated) and the
 * 1-based line number of the malformed line, or 0, to *line.
 */
ngx_http_llm_bpe_t *ngx_http_llm_bpe_load(const u_char *name, size_t name_len,
    const u_char *data, size_t len, char *err, size_t err_size,
    size_t *line);

void ngx_http_llm_bpe_free(ngx_http_llm_bpe_t *bpe);

/* tokens in the rank file */
size_t ngx_http_llm_bpe_tokens(ngx_http_llm_bpe_t *bpe);

/* bytes of the shared, read-only tables; and of one worker's scratch */
size_t ngx_http_llm_bpe_memory(ngx_http_llm_bpe_t *bpe);
size_t ngx_http_llm_bpe_worker_memory(ngx_http_llm_bpe_t *bpe);

/*
 * Tokens of text (no special tokens, no chat framing), as
 * encode(text).length of gpt-tokenizer; (size_t) -1 if memory for
 * scratch could not be allocated or the regex failed.
 */
size_t ngx_http_llm_bpe_count(ngx_http_llm_bpe_t *bpe, const u_char *text,
    size_t len);

/* empty this worker's caches (for tests) */
void ngx_http_llm_bpe_reset_caches(ngx_http_llm_bpe_t *bpe);

/* cache statistics: lookups and hits since load (for benchmarks) */
void ngx_http_llm_bpe_stats(ngx_http_llm_bpe_t *bpe, size_t *lookups,
    size_t *hits);


#endif /* _NGX_HTTP_LLM_BPE_H_INCLUDED_ */
