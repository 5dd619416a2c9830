
/*
 * Copyright (C) ngx_llm_module authors
 *
 * json_test.c again, with the scanner built with
 * -DNGX_HTTP_LLM_JSON_NO_SIMD (t/000-unit.t): string contents scanned
 * eight bytes at a time in a 64-bit word, then byte by byte, instead of
 * SSE2's thirty-two.
 */

#include "json_test.c"
