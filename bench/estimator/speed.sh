#!/usr/bin/env bash
# The estimator's speed on a chat prompt: instructions (callgrind, robust on
# a loaded machine) and MB/s, per build of ngx_http_llm_tokens.c.
#
#   bash bench/estimator/speed.sh                 # this tree's estimator
#   SRC=/path/to/ngx_http_llm_tokens.c bash bench/estimator/speed.sh
#
# The prompt is bench/make_body.mjs's (SIZES, default "1024 16384"): its
# messages' texts, estimated one by one as the module does.  Each is run
# with the default build (SSE2 on x86-64, and AVX2 at run time when the CPU
# has it), with -DNGX_HTTP_LLM_TOKENS_NO_AVX2 (SSE2 only) and with
# -DNGX_HTTP_LLM_TOKENS_NO_SIMD (the portable path); ITERS (2000) rounds for
# the MB/s, which depend on the machine's load (VARIANTS: the builds to run,
# default "default NO_AVX2 NO_SIMD"; an older ngx_http_llm_tokens.c ignores
# the flags it does not know).  SPEED_CLOCK=cpu: the MB/s from the process's
# CPU time instead of the wall clock (less moved by other jobs on a loaded
# machine).  KEEP=dir: the programs and prompts are left in dir (to run
# them again, e.g. alternated with another build's).
#
#   ARCH=aarch64 bash bench/estimator/speed.sh
#
# builds for arm64 instead (aarch64-linux-gnu-gcc -O2 -static) and runs
# under qemu-aarch64, counting the instructions of the estimate from qemu's
# log of every instruction executed (-singlestep -d exec,nochain: one line
# an instruction, its function's name last); no MB/s (emulated).

set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
src=${SRC:-$root/ngx_llm_module/engines/ngx_http_llm_tokens.c}
sizes=${SIZES:-1024 16384}
iters=${ITERS:-2000}
cc=${CC:-cc}
if [ -n "${KEEP:-}" ]; then
    tmp=$KEEP
    mkdir -p "$tmp"
else
    tmp=$(mktemp -d)
    trap 'rm -rf "$tmp"' EXIT
fi

cat > "$tmp/speed.c" <<'C'
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/types.h>

size_t ngx_http_llm_estimate_tokens(const u_char *text, size_t len);

#ifndef SPEED_CLOCK
#define SPEED_CLOCK  CLOCK_MONOTONIC
#endif

/* texts separated by NUL bytes in argv[1]; argv[2] rounds */

int
main(int argc, char **argv)
{
    static u_char    buf[1 << 20];
    FILE            *f;
    long             i, n;
    size_t           len, tokens;
    double           s;
    u_char          *p, *z, *e;
    struct timespec  t0, t1;

    f = fopen(argv[1], "rb");
    if (f == NULL) {
        return 2;
    }

    len = fread(buf, 1, sizeof(buf), f);
    n = argc > 2 ? atol(argv[2]) : 1;
    tokens = 0;

    clock_gettime(SPEED_CLOCK, &t0);

    for (i = 0; i < n; i++) {
        for (p = buf, e = buf + len; p < e; p = z + 1) {
            z = memchr(p, 0, e - p);
            z = z ? z : e;
            tokens += ngx_http_llm_estimate_tokens(p, z - p);
        }
    }

    clock_gettime(SPEED_CLOCK, &t1);
    s = (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;

    printf("%zu bytes, %zu tokens, %.0f MB/s\n", len, tokens / n,
           len * n / s / 1e6);
    return 0;
}
C

variants=${VARIANTS:-default NO_AVX2 NO_SIMD}
clock=
[ "${SPEED_CLOCK:-}" = cpu ] && clock=-DSPEED_CLOCK=CLOCK_PROCESS_CPUTIME_ID
arch=${ARCH:-}
static=

if [ "$arch" = aarch64 ]; then
    cc=${CC_AARCH64:-aarch64-linux-gnu-gcc}
    static=-static
    variants=${VARIANTS:-default NO_SIMD}
fi

for v in $variants; do
    flags=""
    [ $v = default ] || flags=-DNGX_HTTP_LLM_TOKENS_$v
    $cc -O2 $static $flags $clock -I "$root/ngx_llm_module/engines" "$tmp/speed.c" \
        "$src" -o "$tmp/speed-$v"
done

# the instructions executed from main()'s calls of the estimator to their
# returns, in qemu's log
qemu_count() {
    qemu-aarch64 -singlestep -d exec,nochain -D "$tmp/log" "$@" > /dev/null
    awk '$NF == "main" { inside = 0; last = "main"; next }
         $NF == "ngx_http_llm_estimate_tokens" && last == "main" { inside = 1 }
         { if (inside) n++; last = $NF }
         END { print n + 0 }' "$tmp/log"
}

for size in $sizes; do
    node "$root/bench/make_body.mjs" "$size" | node -e '
        const b = JSON.parse(require("fs").readFileSync(0));
        process.stdout.write(Buffer.concat(b.messages.map(m =>
            Buffer.concat([Buffer.from(m.content), Buffer.from([0])]))));
    ' > "$tmp/body-$size"

    for v in $variants; do
        ir=-
        if [ "$arch" = aarch64 ]; then
            echo "body $size, $v build, aarch64:" \
                 "$(qemu_count "$tmp/speed-$v" "$tmp/body-$size" 1) instructions"
            continue
        fi
        if command -v valgrind > /dev/null; then
            valgrind --tool=callgrind --callgrind-out-file="$tmp/cg" \
                "$tmp/speed-$v" "$tmp/body-$size" 1 > /dev/null 2>&1
            ir=$(callgrind_annotate --inclusive=yes "$tmp/cg" \
                 | awk '/ngx_http_llm_estimate_tokens/ { print $1; exit }')
        fi
        echo "body $size, $v build: $ir instructions;" \
             "$("$tmp/speed-$v" "$tmp/body-$size" "$iters")"
    done
done
