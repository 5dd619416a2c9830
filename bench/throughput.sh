#!/usr/bin/env bash
# Benchmark 1: non-streamed chat completions, llm_gateway alone against
# plain proxy_pass, with a verdict on a throughput target (#15: the
# gateway alone >= 0.95x plain's req/s at 1 KB) that one run's noise
# cannot fake.
#
#   bash bench/throughput.sh               (MODULE=... to pick the .so)
#   TP_SIZES="1024 16384" bash bench/throughput.sh
#
# The nginx under test, the mock upstream, the request bodies and the wrk
# script are bench/features.sh's (bench/features_conf.sh: the same
# configuration, every request body different); three paths are measured
# in every round:
#
#   plain  /plain/  proxy_pass only
#   gw     /gw/     llm_gateway openai, no feature on
#   aa     /gw/     the same path again: an A/A control
#
# For each size (a fresh pair of instances): a 1 s warm-up per path, then
# TP_ROUNDS rounds of wrk -t1 -c TP_CONNS for TP_DURATION s per path, the
# order rotated every round and reversed every other round (fe_order).
# A path's figures are compared only within a round (seconds apart), so a
# drift of the machine's load hits both sides of a ratio alike: per round
# gw/plain, aa/plain and aa/gw (the A/A ratio, 1 in truth) of req/s and of
# the worker's CPU per request (/proc/PID/schedstat); over the rounds the
# median, the quartiles and a 95 % bootstrap interval of the median
# (bench/paired.mjs).  The verdict on TP_TARGET: met when the interval of
# gw/plain (and of aa/plain, the same question asked with the other
# gateway run) lies above it, not met when below, else undecided; the A/A
# interval shows how finely this run can tell (on a quiet machine it
# should hold 1.00 and be a few hundredths wide).  Then TP_LAT_ROUNDS
# rounds with one connection (latency without queueing).
#
# CPUs (bench/lib.sh, BENCH_PIN=1): the worker under test on CPU 0, the mock
# upstream on CPU 1, wrk on CPU 2 when there are three or more (else with
# the upstream on CPU 1).
#
# Environment: TP_ROUNDS (20), TP_DURATION (2 s), TP_CONNS (16),
# TP_LAT_ROUNDS (5), TP_LAT_DURATION (1 s), TP_SIZES ("1024"),
# TP_TARGET (0.95).  The default run takes about 3 minutes.

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

TP_ROUNDS=${TP_ROUNDS:-20}
TP_DURATION=${TP_DURATION:-2}
TP_CONNS=${TP_CONNS:-16}
TP_LAT_ROUNDS=${TP_LAT_ROUNDS:-5}
TP_LAT_DURATION=${TP_LAT_DURATION:-1}
TP_SIZES=${TP_SIZES:-1024}
TP_TARGET=${TP_TARGET:-0.95}

check_prereqs wrk node curl taskset

source "$(dirname "${BASH_SOURCE[0]}")/features_conf.sh"

PATHS="plain gw aa"

# one POST through each path must succeed before measuring
smoke() {   # SIZE
    local p code
    for p in plain gw; do
        code=$(sed 's/@UNIQ@/smoke aaaaaaaa/g' "$BENCH_TMP/body-$1.json" \
               | curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' \
                      -H 'Authorization: Bearer sk-bench' -H 'X-Key: key-0001' \
                      --data-binary @- "$FRONT/${LOC[$p]}/json/chat/completions")
        [ "$code" = 200 ] || die "smoke test: POST /${LOC[$p]}/json answered $code ($(tail -3 "$BENCH_TMP/front/error.log"))"
    done
}

log "throughput: module $MODULE; worker on CPU $SERVER_CPU, upstream on $UPSTREAM_CPU, wrk on $CLIENT_CPU"

RAW=$BENCH_TMP/throughput.tsv
: >"$RAW"
declare -A BYTES

for size in $TP_SIZES; do
    start_pair
    fe_bodies "$size" last
    BYTES[$size]=$FE_BYTES
    smoke "$size"

    for p in $PATHS; do
        fe_run_wrk "$p" "$TP_CONNS" 1 "$size" >/dev/null
    done

    for mode in load c1; do
        if [ $mode = load ]; then
            rounds=$TP_ROUNDS conns=$TP_CONNS dur=$TP_DURATION paths=$PATHS
        else
            rounds=$TP_LAT_ROUNDS conns=1 dur=$TP_LAT_DURATION paths="plain gw"
        fi
        for round in $(seq "$rounds"); do
            for p in $(fe_order "$round" $paths); do
                r=$(fe_run_wrk "$p" "$conns" "$dur" "$size")
                log "throughput: ${BYTES[$size]} B $mode round $round/$rounds $p: $r"
                echo "$size $mode $p $round $r" >>"$RAW"
            done
        done
    done

    stop_pair
done

# RAW columns: 1 size, 2 mode, 3 path, 4 round, 5 rps, 6 p50_us, 7 p99_us,
# 8 cpu_ns/req, 9 errors, 10 requests
med() {   # SIZE MODE PATH COLUMN
    awk -v s="$1" -v m="$2" -v p="$3" -v c="$4" \
        '$1 == s && $2 == m && $3 == p { print $c }' "$RAW" | median
}
fmt() { awk "BEGIN { printf \"%.${2}f\", ($1) }"; }     # EXPR DECIMALS
sfmt() { awk "BEGIN { printf \"%+.${2}f\", ($1) }"; }   # signed
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b ? a / b : 0 }'; }
kb() { awk -v b="$1" 'BEGIN { printf "%.0f KB", b / 1024 }'; }
# paired SIZE COLUMN PAIR: "n median q1 q3 lo hi" of the per-round ratios
paired() { SIZE=$1 node "$BENCH_DIR/paired.mjs" "$RAW" "$2" "$3" | cut -d' ' -f2-; }
verdict() {   # LO HI
    awk -v lo="$1" -v hi="$2" -v t="$TP_TARGET" 'BEGIN {
        if (lo >= t) print "met"; else if (hi < t) print "**not met**"; else print "undecided" }'
}

echo "### Non-streamed chat completions: llm_gateway alone vs plain proxy_pass"
echo
echo "wrk -t1 -c$TP_CONNS -s bench/wrk_features.lua (bench/features.sh's bodies and configuration), ${TP_DURATION} s per run,"
echo "$TP_ROUNDS rounds of plain, gateway and gateway again (A/A), order rotated every round and reversed every"
echo "other round; worker on CPU $SERVER_CPU, mock upstream on CPU $UPSTREAM_CPU, wrk on CPU $CLIENT_CPU; load average at the end"
echo "$(cut -d' ' -f1-3 /proc/loadavg). Ratios per round, then over the rounds: median, quartiles, and a 95 %"
echo "bootstrap interval of the median (bench/paired.mjs)."
for size in $TP_SIZES; do
    echo
    echo "${BYTES[$size]} B request body ($(kb "$size")), medians of the rounds:"
    echo
    echo "| path | req/s | p50 ms | p99 ms | worker CPU µs/req |"
    echo "|---|---:|---:|---:|---:|"
    for p in $PATHS; do
        case $p in plain) name="plain proxy_pass" ;; gw) name="llm_gateway" ;; aa) name="llm_gateway again (A/A)" ;; esac
        printf '| %s | %s | %s | %s | %s |\n' "$name" \
            "$(fmt "$(med "$size" load "$p" 5)" 0)" \
            "$(fmt "$(med "$size" load "$p" 6) / 1000" 2)" \
            "$(fmt "$(med "$size" load "$p" 7) / 1000" 2)" \
            "$(fmt "$(med "$size" load "$p" 8) / 1000" 1)"
    done
    echo
    echo "| per-round ratio | rounds | median | quartiles | 95 % interval of the median | vs $TP_TARGET |"
    echo "|---|---:|---:|---|---|---|"
    for spec in "5 gw/plain req/s, gateway / plain" "5 aa/plain req/s, gateway again / plain" \
                "5 aa/gw req/s, A/A: gateway again / gateway" \
                "8 gw/plain worker CPU per request, gateway / plain" \
                "8 aa/gw worker CPU per request, A/A"; do
        read -r col pair what <<<"$spec"
        read -r n m q1 q3 lo hi <<<"$(paired "$size" "$col" "$pair")"
        v=""
        [ "$col" = 5 ] && [ "$pair" != aa/gw ] && v=$(verdict "$lo" "$hi")
        printf '| %s | %s | **%s** | %s … %s | %s … %s | %s |\n' "$what" "$n" "$m" "$q1" "$q3" "$lo" "$hi" "$v"
    done
    read -r _ gm _ _ glo ghi <<<"$(paired "$size" 5 gw/plain)"
    read -r _ am _ _ alo ahi <<<"$(paired "$size" 5 aa/plain)"
    read -r _ xm _ _ xlo xhi <<<"$(paired "$size" 5 aa/gw)"
    g=$(verdict "$glo" "$ghi") a=$(verdict "$alo" "$ahi")
    echo
    if [ "$g" = "$a" ]; then
        echo "**Verdict ($(kb "$size")): llm_gateway alone >= ${TP_TARGET}x plain proxy_pass's req/s: $g** (gw/plain $gm, interval $glo … $ghi; A/A $xm, $xlo … $xhi)."
    else
        echo "**Verdict ($(kb "$size")): undecided**: the two gateway runs disagree (gw/plain: $g, aa/plain: $a); A/A $xm, $xlo … $xhi: run again with more rounds (TP_ROUNDS) on a quieter machine."
    fi
    awk -v lo="$xlo" -v hi="$xhi" 'BEGIN { exit !(lo > 1 || hi < 1) }' \
        && echo "**Warning:** the A/A interval excludes 1.00: something other than the path changed the figures (the machine's load?); do not trust this run's verdict."
    e=$(awk -v s="$size" '$1 == s { e += $9 } END { print e + 0 }' "$RAW")
    [ "$e" = 0 ] || echo "**Warning:** $e wrk errors (non-2xx, timeouts) with the $(kb "$size") body."
    if [ "$TP_LAT_ROUNDS" -gt 0 ]; then
        echo
        echo "One connection (wrk -t1 -c1), ${TP_LAT_DURATION} s per run, $TP_LAT_ROUNDS rounds, medians; Δ p50: per round, gateway minus plain:"
        echo
        echo "| path | req/s | p50 ms | p99 ms | worker CPU µs/req |"
        echo "|---|---:|---:|---:|---:|"
        for p in plain gw; do
            printf '| %s | %s | %s | %s | %s |\n' "$([ $p = gw ] && echo llm_gateway || echo plain proxy_pass)" \
                "$(fmt "$(med "$size" c1 "$p" 5)" 0)" \
                "$(fmt "$(med "$size" c1 "$p" 6) / 1000" 3)" \
                "$(fmt "$(med "$size" c1 "$p" 7) / 1000" 3)" \
                "$(fmt "$(med "$size" c1 "$p" 8) / 1000" 1)"
        done
        dp=$(awk -v s="$size" '$1 == s && $2 == "c1" { v[$3, $4] = $6; r[$4] = 1 }
                END { for (k in r) if ((("gw", k) in v) && (("plain", k) in v)) print v["gw", k] - v["plain", k] }' "$RAW" \
             | median)
        echo "| **Δ p50, gateway − plain** | | **$(sfmt "$dp / 1000" 3)** | | |"
    fi
done

for size in $TP_SIZES; do
    read -r _ gm _ _ glo ghi <<<"$(paired "$size" 5 gw/plain)"
    read -r _ cm _ _ _ _ <<<"$(paired "$size" 8 gw/plain)"
    summary_row "Non-streamed req/s, $(kb "$size") body (wrk -c$TP_CONNS, $TP_ROUNDS rounds)" \
        "$(fmt "$(med "$size" load gw 5)" 0)" "$(fmt "$(med "$size" load plain 5)" 0)" \
        "gateway/plain $gm (95 % interval $glo … $ghi)"
    summary_row "Worker CPU per request, $(kb "$size") body" \
        "$(fmt "$(med "$size" load gw 8) / 1000" 1) µs" "$(fmt "$(med "$size" load plain 8) / 1000" 1) µs" \
        "gateway/plain $cm"
    if [ "$TP_LAT_ROUNDS" -gt 0 ]; then
        summary_row "p50 latency, one connection, $(kb "$size") body" \
            "$(fmt "$(med "$size" c1 gw 6) / 1000" 3) ms" "$(fmt "$(med "$size" c1 plain 6) / 1000" 3) ms" \
            "$(sfmt "($(med "$size" c1 gw 6) - $(med "$size" c1 plain 6)) / 1000" 3) ms"
    fi
done
