#!/usr/bin/env bash
# Benchmark: what sharing a budget through Redis costs.  Non-streamed chat
# completions through llm_gateway with a local budget zone and with the
# same zone shared through Redis (redis=, the default lease), measured
# alternately in the same run, against a redis-server of the benchmark's
# own (a free port, no persistence, stopped at the end).
#
#   bash bench/redis.sh            (MODULE=... to pick the .so)
#
#   /gw/   no budget
#   /bk/   llm_budget local    ($http_x_key: one of RB_KEYS keys)
#   /rk/   llm_budget shared   (the same, redis=main)
#
# Also: Redis calls per request on /rk/ (INFO commandstats), at steady
# state (after a warm-up in which every key took its first lease).
#
# Environment: RB_ROUNDS (8), RB_DURATION (1 s), RB_CONNS (16),
# RB_SIZE (1024 bytes of request body), RB_KEYS (1000).

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

RB_ROUNDS=${RB_ROUNDS:-8}
RB_DURATION=${RB_DURATION:-1}
RB_CONNS=${RB_CONNS:-16}
RB_SIZE=${RB_SIZE:-1024}
RB_KEYS=${RB_KEYS:-1000}

check_prereqs wrk node curl taskset redis-server redis-cli

cpu_ns() { awk '{ print $1 }' "/proc/$1/schedstat"; }

run_wrk() {
    local out c0 c1
    c0=$(cpu_ns "$FRONT_WORKER")
    out=$(BODY_FILE=$body KEYS=$RB_KEYS on_cpu "$CLIENT_CPU" wrk -t1 -c"$2" -d"$3"s \
          -s "$BENCH_DIR/wrk_keys.lua" "$FRONT/$1/json/chat/completions" | grep '^RESULT') \
        || die "wrk failed against /$1/json"
    c1=$(cpu_ns "$FRONT_WORKER")
    awk -v c="$((c1 - c0))" '{
        for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
        printf "%s %s %s %.0f %s %s\n", v["rps"], v["p50_us"], v["p99_us"],
               v["requests"] ? c / v["requests"] : 0, v["errors"], v["requests"]
    }' <<<"$out"
}

# a redis-server of our own
RPORT=$((FRONT_PORT + 3000))
redis-server --port "$RPORT" --bind 127.0.0.1 --save '' --appendonly no \
    --daemonize no --logfile "$BENCH_TMP/redis.log" --dir "$BENCH_TMP" &
RPID=$!
trap 'kill $RPID 2>/dev/null || true' EXIT
for _ in $(seq 50); do redis-cli -p "$RPORT" ping >/dev/null 2>&1 && break; sleep 0.1; done
evals() { redis-cli -p "$RPORT" info commandstats | awk -F'[=,:]' '/^cmdstat_eval:/ { print $3 }'; }

TOKENS=1000000000000   # never refused

FRONT_HTTP_EXTRA="
    llm_redis        main  127.0.0.1:$RPORT  timeout=500ms;
    llm_budget_zone  \$http_x_key  zone=local:4m   tokens=$TOKENS/h;
    llm_budget_zone  \$http_x_key  zone=shared:4m  tokens=$TOKENS/h  redis=main;
"
FRONT_SERVER_EXTRA="
        location /bk/ { llm_gateway openai; llm_budget local;  proxy_pass http://\$llm_upstream; }
        location /rk/ { llm_gateway openai; llm_budget shared; proxy_pass http://\$llm_upstream; }
"

PATHS="gw bk rk"
declare -A NAME=([gw]="no budget" [bk]="local zone" [rk]="zone shared through Redis")

start_pair

body=$BENCH_TMP/body-redis.json
make_body "$RB_SIZE" 0 >"$body"

for p in $PATHS; do
    run_wrk "$p" "$RB_CONNS" 1 >/dev/null
done

RAW=$BENCH_TMP/redis.tsv
: >"$RAW"
e0=$(evals)
rk_requests=0

for round in $(seq "$RB_ROUNDS"); do
    for p in $( [ $((round % 2)) = 1 ] && echo $PATHS || echo $PATHS | tr ' ' '\n' | tac ); do
        r=$(run_wrk "$p" "$RB_CONNS" "$RB_DURATION")
        log "redis: round $round $p: $r"
        echo "$p $round $r" >>"$RAW"
        [ "$p" = rk ] && rk_requests=$((rk_requests + $(awk '{ print $6 }' <<<"$r")))
    done
done

e1=$(evals)
stop_pair

med() { awk -v p="$1" -v c="$2" '$1 == p { print $c }' "$RAW" | median; }
pdiff() {
    awk -v p="$1" '$1 == "gw" { base[$2] = $6 } $1 == p { v[$2] = $6 }
        END { for (r in v) if (r in base) print v[r] - base[r] }' "$RAW" | median
}
fmt() { awk "BEGIN { printf \"%.${2}f\", ($1) }"; }
errors=$(awk '{ e += $7 } END { print e + 0 }' "$RAW")
ops=$(awk -v a="$e0" -v b="$e1" -v n="$rk_requests" 'BEGIN { printf "%.4f", n ? (b - a) / n : 0 }')

echo "### Budgets shared through Redis: admission cost"
echo
echo "wrk -t1 -c$RB_CONNS -s bench/wrk_keys.lua, ${RB_DURATION} s per run, $RB_ROUNDS runs per path, order reversed"
echo "every other round; $RB_KEYS keys at random; medians. Redis on the same machine (loopback)."
echo
echo "| path | req/s | p50 ms | p99 ms | worker CPU µs/req | Δ CPU ns/req vs no budget |"
echo "|---|---:|---:|---:|---:|---:|"
for p in $PATHS; do
    d=""; [ "$p" = gw ] || d=$(fmt "$(pdiff "$p")" 0)
    printf '| %s | %s | %s | %s | %s | %s |\n' "${NAME[$p]}" "$(fmt "$(med "$p" 3)" 0)" \
        "$(fmt "$(med "$p" 4) / 1000" 2)" "$(fmt "$(med "$p" 5) / 1000" 2)" \
        "$(fmt "$(med "$p" 6) / 1000" 1)" "$d"
done
echo
echo "Redis calls per request on the shared zone at steady state: $ops ($((e1 - e0)) EVAL for $rk_requests requests)."
[ "$errors" = 0 ] || echo "**Warning:** $errors wrk errors (non-2xx, timeouts)."

summary_row "Budget shared through Redis, 1 zone, random key of $RB_KEYS: worker CPU/req (baseline: local zone)" \
    "$(fmt "$(med rk 6) / 1000" 1) µs" "$(fmt "$(med bk 6) / 1000" 1) µs" "Redis calls/request $ops"
