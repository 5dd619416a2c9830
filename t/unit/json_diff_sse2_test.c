
/*
 * Copyright (C) ngx_llm_module authors
 *
 * json_diff_test.c again, with the scanner built with
 * -DNGX_HTTP_LLM_JSON_NO_AVX2 (t/000-unit.t): its SSE2 string scan even on
 * a CPU that has AVX2, against the scanner of e28ee8b.
 */

#include "json_diff_test.c"
