
/*
 * Copyright (C) ngx_llm_module authors
 *
 * tokens_diff_test.c again, with the estimator built with
 * -DNGX_HTTP_LLM_TOKENS_NO_SIMD (t/000-unit.t): its portable path against
 * the estimates of e28ee8b the same way.
 */

#include "tokens_diff_test.c"
