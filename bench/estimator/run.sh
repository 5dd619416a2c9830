#!/bin/sh
#
# Token estimator evaluation: installs the reference tokenizer (npm), builds
# bench/estimator/estimate.c against ngx_llm_module/engines/ngx_http_llm_tokens.c and
# prints the error table (docs/estimator.md).
#
#   bench/estimator/run.sh            evaluate
#   bench/estimator/run.sh --fit      refit the cost tables on the training
#                                     split (rewrites the FITTED block of
#                                     ngx_http_llm_tokens.c), then evaluate
#   bench/estimator/run.sh --corpus   rebuild corpus/ from the files of this
#                                     machine (see README.md), then evaluate
#
# Environment: CC (default cc), BUILD (default build/estimator).

set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${BUILD:-$root/build/estimator}
cc=${CC:-cc}
cflags="-O2 -Wall -Wextra -Werror -Wno-unused-parameter -Wpointer-arith"

cd "$here"

if [ ! -f node_modules/gpt-tokenizer/package.json ]; then
    npm ci --no-audit --no-fund --loglevel=error
fi

mkdir -p "$build"

case "${1:-}" in

--corpus)
    node make_corpus.mjs
    ;;

--fit)
    $cc $cflags -DESTIMATE_DUMP -I "$root/ngx_llm_module/engines" estimate.c \
        -o "$build/estimate_dump"
    node fit.mjs "$build/estimate_dump" --write
    ;;

"")
    ;;

*)
    echo "usage: $0 [--fit | --corpus]" >&2
    exit 2
    ;;
esac

$cc $cflags -I "$root/ngx_llm_module/engines" estimate.c \
    "$root/ngx_llm_module/engines/ngx_http_llm_tokens.c" -o "$build/estimate"

node eval.mjs "$build/estimate"
