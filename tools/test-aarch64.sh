#!/bin/bash
# The token estimator's unit tests on arm64: built with the cross compiler
# (aarch64-linux-gnu-gcc -static) and run under qemu-aarch64, so that the
# estimator's arm64 code (the bit-sliced block masks transposed with NEON,
# and without it, -DNGX_HTTP_LLM_TOKENS_NO_SIMD) is compared with e28ee8b's
# estimates on this machine.
# Skipped, with the reason, when the tools are not installed (Debian:
# apt-get install gcc-aarch64-linux-gnu qemu-user).  Emulated, the
# differential test takes about a minute of CPU a build: `make test-aarch64`, not
# part of `make test` or CI.
#
#   bash tools/test-aarch64.sh [out-dir]
#   AARCH64_CC=... AARCH64_RUN=... bash tools/test-aarch64.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$root/build/unit-aarch64}
cc=${AARCH64_CC:-aarch64-linux-gnu-gcc}
run=${AARCH64_RUN:-qemu-aarch64}

for tool in "$cc" "$run"; do
    if ! command -v "$tool" >/dev/null; then
        echo "test-aarch64: skipped: no $tool" \
             "(Debian: apt-get install gcc-aarch64-linux-gnu qemu-user)"
        exit 0
    fi
done

mkdir -p "$out"
engines=$root/ngx_llm_module/engines
status=0

# the tests, and the sources each is linked with (as in t/000-unit.t)
while read -r name flags sources; do
    srcs=()
    for s in $sources; do
        srcs+=("$engines/$s")
    done
    [ "$flags" = - ] && flags=

    # shellcheck disable=SC2086
    if ! "$cc" -O1 -g -Wall -Wextra -Werror -Wno-unused-parameter -static \
            $flags -I "$engines" "$root/t/unit/$name.c" "${srcs[@]}" \
            -o "$out/$name"
    then
        echo "not ok - $name: does not compile for aarch64"
        status=1
        continue
    fi

    log=$out/$name.log
    rc=0
    "$run" "$out/$name" > "$log" 2>&1 || rc=$?

    if [ "$rc" -ne 0 ] || grep -q '^not ok' "$log" || ! grep -q '^ok' "$log"
    then
        echo "not ok - $name under $run (exit $rc):"
        grep -v '^ok' "$log" | tail -20
        status=1
    else
        echo "ok - $name under $run: $(grep -c '^ok' "$log") tests;" \
             "$(grep '^# .*compared' "$log" || true)"
    fi
done <<'TESTS'
tokens_masks_test -
tokens_masks_nosimd_test -DNGX_HTTP_LLM_TOKENS_NO_SIMD
tokens_test - ngx_http_llm_tokens.c
tokens_fast_test - ngx_http_llm_tokens.c ngx_http_llm_json.c
tokens_diff_test - ngx_http_llm_tokens.c ngx_http_llm_json.c
tokens_diff_nosimd_test -DNGX_HTTP_LLM_TOKENS_NO_SIMD ngx_http_llm_tokens.c ngx_http_llm_json.c
TESTS

exit $status
