#!/usr/bin/env bash
# Benchmark 4: throughput of the module's JSON scanner (bench/json_bench.c:
# a ~1 MB chat completion body, counting pass + filling pass, 200 times),
# built with -O2 against ngx_llm_module/engines/ngx_http_llm_json.c.
#
#   bash bench/json.sh
#
# JSON_RUNS (3): the bench is run this many times; the median is reported.

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

JSON_RUNS=${JSON_RUNS:-3}
CC=${CC:-cc}

bin=$BENCH_TMP/json_bench
if ! "$CC" -O2 -I "$REPO/ngx_llm_module/engines" "$BENCH_DIR/json_bench.c" \
        "$REPO/ngx_llm_module/engines/ngx_http_llm_json.c" -o "$bin" 2>"$BENCH_TMP/json_bench.cc.log"
then
    log "json: json_bench.c does not build: $(head -5 "$BENCH_TMP/json_bench.cc.log")"
    echo "### JSON scanner"
    echo
    echo "bench/json_bench.c did not build; no figure."
    exit 0
fi

RAW=$BENCH_TMP/json.tsv
: >"$RAW"
for i in $(seq "$JSON_RUNS"); do
    out=$(on_cpu "$SERVER_CPU" "$bin")
    log "json: run $i: $(tr '\n' ' ' <<<"$out")"
    # one record per body the bench reports: label bytes tokens count fill both ms
    awk -v OFS='\t' '
        / bytes, [0-9]+ tokens/ {
            label = $0; sub(/: *[0-9]+ bytes,.*/, "", label)
            match($0, /[0-9]+ bytes/); bytes = substr($0, RSTART, RLENGTH - 6)
            match($0, /[0-9]+ tokens/); tokens = substr($0, RSTART, RLENGTH - 7)
        }
        /counting pass:/ { c = $(NF - 1) }
        /filling pass:/  { f = $(NF - 1) }
        /counting \+ filling:/ {
            match($0, /[0-9.]+ MB\/s/); a = substr($0, RSTART, RLENGTH - 5)
            match($0, /\([0-9.]+ ms/); ms = substr($0, RSTART + 1, RLENGTH - 4)
            print label, bytes, tokens, c, f, a, ms
        }' <<<"$out" >>"$RAW"
done

[ -s "$RAW" ] || die "json: could not read json_bench's output"

med() {   # LABEL COLUMN
    awk -F '\t' -v l="$1" -v c="$2" '$1 == l { print $c }' "$RAW" | median
}

echo "### JSON scanner (bench/json_bench.c)"
echo
echo "cc -O2 against ngx_llm_module/engines/ngx_http_llm_json.c; median of $JSON_RUNS runs"
echo "(each: 200 iterations of a counting pass then a filling pass over the body)."
echo
echo "| body | bytes | JSON tokens | counting MB/s | filling MB/s | **count + fill MB/s** | ms per body |"
echo "|---|---:|---:|---:|---:|---:|---:|"
while IFS= read -r label; do
    printf '| %s | %s | %s | %s | %s | **%s** | %s |\n' "$label" \
        "$(med "$label" 2)" "$(med "$label" 3)" "$(med "$label" 4)" \
        "$(med "$label" 5)" "$(med "$label" 6)" "$(med "$label" 7)"
    summary_row "JSON scanner, count + fill: $label" "$(med "$label" 6) MB/s" "" ""
done < <(cut -f1 "$RAW" | awk '!seen[$0]++')
