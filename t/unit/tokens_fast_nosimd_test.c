
/*
 * Copyright (C) ngx_llm_module authors
 *
 * tokens_fast_test.c again, with the estimator built with
 * -DNGX_HTTP_LLM_TOKENS_NO_SIMD (t/000-unit.t): the portable letter runs
 * (eight bytes at a time, then byte by byte) instead of SSE2's, compared
 * with the generic path and with the estimates of 9720c6e the same way.
 */

#include "tokens_fast_test.c"
