
/*
 * Copyright (C) ngx_llm_module authors
 *
 * json_diff_test.c again, with the scanner built with
 * -DNGX_HTTP_LLM_JSON_NO_SIMD (t/000-unit.t): the portable path against
 * the scanner of e28ee8b.
 */

#include "json_diff_test.c"
