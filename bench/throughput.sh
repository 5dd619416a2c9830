#!/usr/bin/env bash
# Benchmark 1: non-streamed chat completions, gateway vs plain proxy_pass.
#
#   bash bench/throughput.sh            (MODULE=... to pick the .so)
#
# One nginx (worker_processes 1) with two locations to the same upstream
# pool (keepalive): /gw/ with llm_gateway openai and proxy_pass
# http://$llm_upstream, /plain/ with proxy_pass only.  The upstream is a
# second nginx answering a fixed chat.completion with `return 200`.  wrk
# POSTs a ~1 KB and a ~16 KB JSON body; the two paths are measured
# alternately, TP_ROUNDS rounds each, and the medians are reported, with
# the CPU time the worker under test spent per request (schedstat).
#
# Environment: TP_ROUNDS (5), TP_DURATION (3 s, loaded runs), TP_CONNS (16),
# TP_LAT_DURATION (2 s, one-connection runs), TP_SIZES ("1024 16384").

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

TP_ROUNDS=${TP_ROUNDS:-5}
TP_DURATION=${TP_DURATION:-3}
TP_CONNS=${TP_CONNS:-16}
TP_LAT_DURATION=${TP_LAT_DURATION:-2}
TP_SIZES=${TP_SIZES:-1024 16384}

check_prereqs wrk node curl taskset

# on-CPU time of a process in ns
cpu_ns() { awk '{ print $1 }' "/proc/$1/schedstat"; }

# run_wrk SIDE CONNS DURATION BODY: prints "rps p50_us p99_us cpu_us/req errors"
run_wrk() {
    local out c0 c1
    c0=$(cpu_ns "$FRONT_WORKER")
    out=$(BODY_FILE=$4 on_cpu "$CLIENT_CPU" wrk -t1 -c"$2" -d"$3"s \
          -s "$BENCH_DIR/wrk_post.lua" "$FRONT/$1/json/chat/completions" | grep '^RESULT') \
        || die "wrk failed against /$1/json"
    c1=$(cpu_ns "$FRONT_WORKER")
    awk -v c="$((c1 - c0))" '{
        for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
        printf "%s %s %s %.2f %s\n", v["rps"], v["p50_us"], v["p99_us"],
               v["requests"] ? c / 1000 / v["requests"] : 0, v["errors"]
    }' <<<"$out"
}

log "throughput: module $MODULE"
start_pair

RAW=$BENCH_TMP/throughput.tsv
: >"$RAW"

for size in $TP_SIZES; do
    body=$BENCH_TMP/body-$size.json
    make_body "$size" 0 >"$body"
    smoke json "$body"

    # warm-up (connections to the upstream, caches)
    run_wrk gw "$TP_CONNS" 1 "$body" >/dev/null
    run_wrk plain "$TP_CONNS" 1 "$body" >/dev/null

    for mode in load c1; do
        if [ $mode = load ]; then
            conns=$TP_CONNS dur=$TP_DURATION
        else
            conns=1 dur=$TP_LAT_DURATION
        fi
        for round in $(seq "$TP_ROUNDS"); do
            if [ $((round % 2)) = 1 ]; then order="gw plain"; else order="plain gw"; fi
            for side in $order; do
                r=$(run_wrk "$side" "$conns" "$dur" "$body")
                log "throughput: $(wc -c <"$body") B $mode round $round $side: $r"
                echo "$size $mode $side $round $r" >>"$RAW"
            done
        done
    done
done

stop_pair

# medians per (size, mode, side) of: rps p50 p99 cpu/req; errors summed
med() {   # SIZE MODE SIDE COLUMN
    awk -v s="$1" -v m="$2" -v d="$3" -v c="$4" \
        '$1 == s && $2 == m && $3 == d { print $c }' "$RAW" | median
}
errs() {
    awk -v s="$1" '$1 == s { e += $9 } END { print e + 0 }' "$RAW"
}
fmt() { awk "BEGIN { printf \"%.${2}f\", ($1) }"; }     # EXPR DECIMALS
sfmt() { awk "BEGIN { printf \"%+.${2}f\", ($1) }"; }   # signed
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b ? a / b : 0 }'; }
kb() { awk -v b="$1" 'BEGIN { printf "%.0f KB", b / 1024 }'; }

echo "### Non-streamed chat completions: gateway vs plain proxy_pass"
echo
echo "wrk -t1 -c$TP_CONNS, ${TP_DURATION} s per run, $TP_ROUNDS runs per path, alternating; medians."
echo "Worker CPU: on-CPU time (user + kernel) of the nginx worker under test per request"
echo "(/proc/PID/schedstat); req/s per worker core: what one worker would serve if CPU-bound."
echo
echo "| body | path | req/s | p50 ms | p99 ms | worker CPU µs/req | req/s per worker core (1e6 / CPU) |"
echo "|---|---|---:|---:|---:|---:|---:|"
for size in $TP_SIZES; do
    for side in plain gw; do
        name=$([ $side = gw ] && echo gateway || echo plain)
        printf '| %s | %s | %s | %s | %s | %s | %s |\n' "$(kb "$size")" "$name" \
            "$(fmt "$(med "$size" load $side 5)" 0)" \
            "$(fmt "$(med "$size" load $side 6) / 1000" 2)" \
            "$(fmt "$(med "$size" load $side 7) / 1000" 2)" \
            "$(fmt "$(med "$size" load $side 8)" 1)" \
            "$(fmt "1e6 / $(med "$size" load $side 8)" 0)"
    done
    printf '| %s | **gateway/plain** | **%s** | %s | %s | %s | **%s** |\n' "$(kb "$size")" \
        "$(ratio "$(med "$size" load gw 5)" "$(med "$size" load plain 5)")" \
        "$(ratio "$(med "$size" load gw 6)" "$(med "$size" load plain 6)")" \
        "$(ratio "$(med "$size" load gw 7)" "$(med "$size" load plain 7)")" \
        "$(ratio "$(med "$size" load gw 8)" "$(med "$size" load plain 8)")" \
        "$(ratio "$(med "$size" load plain 8)" "$(med "$size" load gw 8)")"
done
echo
echo "One connection (wrk -t1 -c1, ${TP_LAT_DURATION} s per run, $TP_ROUNDS runs per path, alternating; medians):"
echo
echo "| body | path | req/s | p50 ms | p99 ms | worker CPU µs/req |"
echo "|---|---|---:|---:|---:|---:|"
for size in $TP_SIZES; do
    for side in plain gw; do
        name=$([ $side = gw ] && echo gateway || echo plain)
        printf '| %s | %s | %s | %s | %s | %s |\n' "$(kb "$size")" "$name" \
            "$(fmt "$(med "$size" c1 $side 5)" 0)" \
            "$(fmt "$(med "$size" c1 $side 6) / 1000" 3)" \
            "$(fmt "$(med "$size" c1 $side 7) / 1000" 3)" \
            "$(fmt "$(med "$size" c1 $side 8)" 1)"
    done
    printf '| %s | **gateway − plain** | | **%s** | %s | %s |\n' "$(kb "$size")" \
        "$(sfmt "($(med "$size" c1 gw 6) - $(med "$size" c1 plain 6)) / 1000" 3)" \
        "$(sfmt "($(med "$size" c1 gw 7) - $(med "$size" c1 plain 7)) / 1000" 3)" \
        "$(sfmt "$(med "$size" c1 gw 8) - $(med "$size" c1 plain 8)" 1)"
done
echo
for size in $TP_SIZES; do
    e=$(errs "$size")
    [ "$e" = 0 ] || echo "**Warning:** $e wrk errors (non-2xx, timeouts) with the $(kb "$size") body."
done

for size in $TP_SIZES; do
    summary_row "Non-streamed req/s, $(kb "$size") body (wrk -c$TP_CONNS)" \
        "$(fmt "$(med "$size" load gw 5)" 0)" "$(fmt "$(med "$size" load plain 5)" 0)" \
        "gateway/plain $(ratio "$(med "$size" load gw 5)" "$(med "$size" load plain 5)")"
    summary_row "Worker CPU per request, $(kb "$size") body" \
        "$(fmt "$(med "$size" load gw 8)" 1) µs" "$(fmt "$(med "$size" load plain 8)" 1) µs" \
        "gateway/plain $(ratio "$(med "$size" load gw 8)" "$(med "$size" load plain 8)") (capacity $(ratio "$(med "$size" load plain 8)" "$(med "$size" load gw 8)"))"
    summary_row "p50 latency, one connection, $(kb "$size") body" \
        "$(fmt "$(med "$size" c1 gw 6) / 1000" 3) ms" "$(fmt "$(med "$size" c1 plain 6) / 1000" 3) ms" \
        "$(sfmt "($(med "$size" c1 gw 6) - $(med "$size" c1 plain 6)) / 1000" 3) ms"
done
