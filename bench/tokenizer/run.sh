#!/bin/sh
#
# Exact token counts (ngx_http_llm_bpe.c): speed per kind of text against
# the estimator in the same run, memory, and the estimator's error per
# language of ../shared/eval/text (docs/estimator.md).
#
#   bench/tokenizer/run.sh [TEXTS_DIR] [SECONDS]
#
# TEXTS_DIR defaults to ../shared/eval/text (read where it is); the rank
# files come from `make tokenizers`.  Environment: CC (default cc).

set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=$root/build/tokenizer
texts=${1:-$root/../shared/eval/text}
secs=${2:-3}
cc=${CC:-cc}
cflags="-O2 -g -Wall -Wextra -Werror -Wno-unused-parameter"

[ -f "$texts/texts.jsonl" ] || texts=/work/shared/eval/text
[ -f "$root/build/tokenizers/o200k_base.tiktoken" ] || make -C "$root" tokenizers

mkdir -p "$build/bench"

$cc $cflags -I "$root/ngx_llm_module/engines" "$here/bpe_tool.c" \
    "$root/ngx_llm_module/engines/ngx_http_llm_bpe.c" \
    "$root/ngx_llm_module/engines/ngx_http_llm_tokens.c" -lpcre2-8 -o "$build/bpe_tool"
$cc $cflags -DNGX_HTTP_LLM_TOKENS_PARTS -I "$root/ngx_llm_module/engines" \
    "$here/bpe_tool.c" "$root/ngx_llm_module/engines/ngx_http_llm_bpe.c" -lpcre2-8 \
    -o "$build/bpe_parts"

python3 "$here/frames.py" "$texts/texts.jsonl" "$build/bench"

echo "CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo

for enc in o200k_base cl100k_base; do
    for g in english code cjk other all; do
        echo "== $enc, $g"
        "$build/bpe_tool" bench $enc "$root/build/tokenizers/$enc.tiktoken" \
            "$build/bench/$g.frames" "$secs"
    done
done

echo
echo "== estimator error per language (o200k_base)"
python3 "$here/fit_lang.py" "$texts" --fixed zh=1.09,ja=1.09,ko=1.09
