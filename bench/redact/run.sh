#!/usr/bin/env bash
# Redaction: recall and precision per type on the own labelled corpus and
# on the public one (../shared/eval/pii, see public_eval.py), scan
# throughput against PCRE2 JIT, and (with RL=1) the added latency through
# nginx.  Prints markdown; the figures in docs/redaction.md come from here.
#
#   bash bench/redact/run.sh            # eval + scan throughput
#   RL=1 bash bench/redact/run.sh       # + bench/redact/latency.sh
#
# corpus.txt is committed; make_corpus.py regenerates it (deterministic).

set -euo pipefail

DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$DIR/../.." && pwd)
CC=${CC:-cc}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

cpu() { if [ "$(nproc)" -ge 2 ]; then taskset -c 0 "$@"; else "$@"; fi; }

"$CC" -O2 -I "$REPO/ngx_llm_module/engines" "$DIR/eval.c" \
    "$REPO/ngx_llm_module/engines/ngx_http_llm_pii.c" -lhs -lcrypto -o "$TMP/eval"

"$CC" -O2 -I "$REPO/ngx_llm_module/engines" "$DIR/scan_bench.c" \
    "$REPO/ngx_llm_module/engines/ngx_http_llm_pii.c" \
    "$REPO/ngx_llm_module/engines/ngx_http_llm_json.c" \
    -lhs -lcrypto -lpcre2-8 -o "$TMP/scan_bench"

"$CC" -O2 -I "$REPO/ngx_llm_module/engines" "$DIR/scan_cases.c" \
    "$REPO/ngx_llm_module/engines/ngx_http_llm_pii.c" -lhs -lcrypto -o "$TMP/scan_cases"

echo "### Recall and precision (bench/redact/corpus.txt)"
echo
"$TMP/eval" "$DIR/corpus.txt"
echo
echo "### Recall and precision on the public corpus (held-out half)"
echo
# ../shared/eval/pii (or PII_CORPUS=DIR): read in place, never copied here
python3 "$DIR/public_eval.py" --split held --scanner "$TMP/scan_cases" \
    || echo "(the public corpus is not found: set PII_CORPUS)"
echo
echo "### Scan throughput"
echo
cpu "$TMP/scan_bench" "$DIR/corpus.txt" "$REPO"/bench/estimator/corpus/*.jsonl

if [ "${RL:-0}" = 1 ]; then
    echo
    echo "### Added latency through nginx"
    echo
    bash "$DIR/latency.sh"
fi
