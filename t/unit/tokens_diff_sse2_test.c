
/*
 * Copyright (C) ngx_llm_module authors
 *
 * tokens_diff_test.c again, with the estimator built with
 * -DNGX_HTTP_LLM_TOKENS_NO_AVX2 (t/000-unit.t): its SSE2 bit masks even on
 * a CPU that has AVX2, against the estimates of e28ee8b the same way.
 */

#include "tokens_diff_test.c"
