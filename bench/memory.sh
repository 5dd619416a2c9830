#!/usr/bin/env bash
# Benchmark 3: memory per open stream, gateway vs plain proxy_pass with
# proxy_buffering off.
#
#   bash bench/memory.sh            (MODULE=... to pick the .so)
#
# Each run starts a fresh nginx (and mock upstream), warms it up, reads the
# worker's VmRSS and Pss, opens MEM_STREAMS streams at once (the upstream
# sends an event every second for 20 s), reads them again while all are
# open, and divides the growth by the number of streams.  Runs alternate
# gateway / plain, MEM_ROUNDS per path; medians reported.
#
# Environment: MEM_STREAMS (1000), MEM_ROUNDS (2), MEM_BODY (request body
# size, 1024).

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

MEM_STREAMS=${MEM_STREAMS:-1000}
MEM_ROUNDS=${MEM_ROUNDS:-2}
MEM_BODY=${MEM_BODY:-1024}

check_prereqs node curl taskset

body=$BENCH_TMP/body-memory.json
make_body "$MEM_BODY" stream >"$body"

RAW=$BENCH_TMP/memory.tsv
: >"$RAW"

log "memory: module $MODULE, $MEM_STREAMS streams"

for round in $(seq "$MEM_ROUNDS"); do
    if [ $((round % 2)) = 1 ]; then order="gw plain"; else order="plain gw"; fi
    for side in $order; do
        if [ $side = gw ]; then base=$FRONT/gw/stream; else base=$FRONT/plain/stream; fi
        start_pair
        smoke stream/sse1 "$body"
        out=$(on_cpu "$CLIENT_CPU" node "$BENCH_DIR/hold_streams.mjs" \
              --url "$base/hold/chat/completions" --warm "$base/sse/chat/completions" --body "$body" \
              --pid "$FRONT_WORKER" --n "$MEM_STREAMS" --min-events 3) \
            || die "memory: $side round $round: not all streams held open: $out"
        stop_pair
        log "memory: round $round $side: $out"
        node -e '
            const r = JSON.parse(process.argv[1]);
            console.log([process.argv[2], r.base_rss_kb, r.open_rss_kb,
                         r.rss_per_stream_kb, r.base_pss_kb, r.open_pss_kb,
                         r.pss_per_stream_kb].join(" "));
        ' "$out" "$side" >>"$RAW"
    done
done

med() { awk -v d="$1" -v c="$2" '$1 == d { print $c }' "$RAW" | median; }
fmt() { awk "BEGIN { printf \"%.${2}f\", ($1) }"; }
sfmt() { awk "BEGIN { printf \"%+.${2}f\", ($1) }"; }

echo "### Memory per open stream"
echo
echo "$MEM_STREAMS concurrent streams held open (an event a second; $(wc -c <"$body")-byte request body), fresh nginx per run,"
echo "$MEM_ROUNDS runs per path, alternating; medians. Growth of the worker's memory"
echo "between the warmed-up idle state and all $MEM_STREAMS streams open, divided by $MEM_STREAMS."
echo
echo "| path | VmRSS idle | VmRSS open | **VmRSS per stream** | Pss idle | Pss open | **Pss per stream** |"
echo "|---|---:|---:|---:|---:|---:|---:|"
for side in plain gw; do
    name=$([ $side = gw ] && echo gateway || echo "plain (proxy_buffering off)")
    printf '| %s | %s MB | %s MB | **%s KB** | %s MB | %s MB | **%s KB** |\n' "$name" \
        "$(fmt "$(med $side 2) / 1024" 1)" "$(fmt "$(med $side 3) / 1024" 1)" \
        "$(fmt "$(med $side 4)" 1)" \
        "$(fmt "$(med $side 5) / 1024" 1)" "$(fmt "$(med $side 6) / 1024" 1)" \
        "$(fmt "$(med $side 7)" 1)"
done
printf '| **gateway − plain** | | | **%s KB** | | | **%s KB** |\n' \
    "$(sfmt "$(med gw 4) - $(med plain 4)" 1)" "$(sfmt "$(med gw 7) - $(med plain 7)" 1)"

summary_row "Memory per open stream (VmRSS)" "$(fmt "$(med gw 4)" 1) KB" \
    "$(fmt "$(med plain 4)" 1) KB" "$(sfmt "$(med gw 4) - $(med plain 4)" 1) KB"
summary_row "Memory per open stream (Pss)" "$(fmt "$(med gw 7)" 1) KB" \
    "$(fmt "$(med plain 7)" 1) KB" "$(sfmt "$(med gw 7) - $(med plain 7)" 1) KB"
