
/*
 * Copyright (C) ngx_llm_module authors
 *
 * A fast estimate of the number of o200k_base tokens of a UTF-8 text.
 * It depends on libc only, so that it can be benchmarked and unit-tested
 * outside nginx.
 *
 * The text is split the way the o200k pre-tokenizer splits it (words with
 * their leading space or punctuation character, groups of up to 3 digits,
 * punctuation runs, whitespace runs), and each piece is given a cost fitted
 * on a corpus tokenized by the real tokenizer (docs/estimator.md).  One
 * pass, O(n), no allocation; invalid UTF-8 is counted like U+FFFD and never
 * read past len.
 */

#ifndef _NGX_HTTP_LLM_TOKENS_H_INCLUDED_
#define _NGX_HTTP_LLM_TOKENS_H_INCLUDED_


#include <stddef.h>
#include <sys/types.h>


/* estimated o200k tokens of UTF-8 text (no per-message overhead) */
size_t ngx_http_llm_estimate_tokens(const u_char *text, size_t len);


#endif /* _NGX_HTTP_LLM_TOKENS_H_INCLUDED_ */
