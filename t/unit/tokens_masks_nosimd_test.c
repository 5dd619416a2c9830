
/*
 * Copyright (C) ngx_llm_module authors
 *
 * tokens_masks_test.c again, with the estimator built with
 * -DNGX_HTTP_LLM_TOKENS_NO_SIMD (t/000-unit.t): the bit-sliced block masks.
 */

#include "tokens_masks_test.c"
