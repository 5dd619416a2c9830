#!/usr/bin/env bash
# Benchmark 5: what token budgets cost.  Non-streamed chat completions
# through llm_gateway without a budget, with one budget zone and with three,
# measured alternately in the same run.
#
#   bash bench/budget.sh            (MODULE=... to pick the .so)
#
# One nginx under test (worker_processes 1), gateway locations to the same
# upstream pool, differing only in their llm_budget lines:
#
#   /gw/   no budget (measured twice per round: "gw" and "aa", the second
#          an A/A control that shows how large a difference of nothing is)
#   /bk/   llm_budget bench_key     ($http_x_key: one of BU_KEYS keys)
#   /bf/   llm_budget bench_fixed   ($http_x_team: the same key every time)
#   /b3/   bench_key, bench_fixed and bench_cost (cost=, $http_x_key)
#
# Every run uses the same wrk script (bench/wrk_keys.lua: a random X-Key
# among BU_KEYS per request, a fixed X-Team), so the client's work is the
# same on every path.  The budgets are huge: nothing is refused (checked on
# llm_status, and wrk counts any non-2xx as an error).  The admission cost
# is the worker's CPU per request with budgets minus without, per round
# (paired), median over the rounds (and its quartiles).
#
# Environment: BU_ROUNDS (12), BU_DURATION (1 s), BU_CONNS (16),
# BU_SIZE (1024 bytes of request body), BU_KEYS (1000).

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

BU_ROUNDS=${BU_ROUNDS:-12}
BU_DURATION=${BU_DURATION:-1}
BU_CONNS=${BU_CONNS:-16}
BU_SIZE=${BU_SIZE:-1024}
BU_KEYS=${BU_KEYS:-1000}

check_prereqs wrk node curl taskset

# on-CPU time of a process in ns
cpu_ns() { awk '{ print $1 }' "/proc/$1/schedstat"; }

# run_wrk PATH CONNS DURATION: prints "rps p50_us p99_us cpu_ns/req errors"
run_wrk() {
    local out c0 c1 path=${1/#aa/gw}
    c0=$(cpu_ns "$FRONT_WORKER")
    out=$(BODY_FILE=$body KEYS=$BU_KEYS on_cpu "$CLIENT_CPU" wrk -t1 -c"$2" -d"$3"s \
          -s "$BENCH_DIR/wrk_keys.lua" "$FRONT/$path/json/chat/completions" | grep '^RESULT') \
        || die "wrk failed against /$path/json"
    c1=$(cpu_ns "$FRONT_WORKER")
    awk -v c="$((c1 - c0))" '{
        for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
        printf "%s %s %s %.0f %s\n", v["rps"], v["p50_us"], v["p99_us"],
               v["requests"] ? c / v["requests"] : 0, v["errors"]
    }' <<<"$out"
}

HUGE_TOKENS=1000000000000   # 1e12 tokens an hour: never refused
HUGE_USD=1000000000         # $1e9 an hour

FRONT_HTTP_EXTRA="
    llm_budget_zone  \$http_x_key   zone=bench_key:4m    tokens=$HUGE_TOKENS/h;
    llm_budget_zone  \$http_x_team  zone=bench_fixed:1m  tokens=$HUGE_TOKENS/h;
    llm_budget_zone  \$http_x_key   zone=bench_cost:4m   cost=$HUGE_USD/h;
"
FRONT_SERVER_EXTRA="
        location /bk/ {
            llm_gateway  openai;
            llm_budget   bench_key;
            proxy_pass   http://\$llm_upstream;
        }

        location /bf/ {
            llm_gateway  openai;
            llm_budget   bench_fixed;
            proxy_pass   http://\$llm_upstream;
        }

        location /b3/ {
            llm_gateway  openai;
            llm_budget   bench_key;
            llm_budget   bench_fixed;
            llm_budget   bench_cost;
            proxy_pass   http://\$llm_upstream;
        }

        location = /status {
            llm_status;
        }
"

PATHS="gw aa bk bf b3"
declare -A NAME=(
    [gw]="no budget"
    [aa]="no budget, again (A/A control)"
    [bk]="1 zone, random key (1 of $BU_KEYS)"
    [bf]="1 zone, fixed key"
    [b3]="3 zones (random key tokens, fixed key tokens, random key cost)"
)

log "budget: module $MODULE"
start_pair

body=$BENCH_TMP/body-budget.json
make_body "$BU_SIZE" 0 >"$body"

# each path answers 200, the budgeted ones with the budget headers
for p in gw bk bf b3; do
    hdrs=$(curl -s -o /dev/null -D - -H 'Content-Type: application/json' \
           -H 'X-Key: key-0001' -H 'X-Team: team-bench' \
           --data-binary @"$body" "$FRONT/$p/json/chat/completions" | tr -d '\r')
    grep -q '^HTTP/[0-9.]* 200' <<<"$hdrs" \
        || die "smoke test: POST /$p/json: $(head -1 <<<"$hdrs") ($(tail -3 "$BENCH_TMP/front/error.log"))"
    if [ "$p" = gw ]; then
        ! grep -qi '^x-ratelimit-limit-tokens' <<<"$hdrs" || die "smoke test: /gw/ has budget headers"
    else
        grep -qi '^x-ratelimit-limit-tokens' <<<"$hdrs" || die "smoke test: /$p/ has no budget headers"
    fi
done

# warm-up: every key gets its bucket in each zone before measuring
for p in gw bk bf b3; do
    run_wrk "$p" "$BU_CONNS" 1 >/dev/null
done

RAW=$BENCH_TMP/budget.tsv
: >"$RAW"

set -- $PATHS
n=$#
for round in $(seq "$BU_ROUNDS"); do
    # rotate the order every round (each path goes first once in n rounds)
    # and reverse it every other round (no path always follows the same one)
    order=()
    for i in $(seq 0 $((n - 1))); do
        if [ $((round % 2)) = 1 ]; then
            j=$(( (i + round - 1) % n + 1 ))
        else
            j=$(( (n - 1 - i + round - 1) % n + 1 ))
        fi
        order+=("${!j}")
    done
    for p in "${order[@]}"; do
        r=$(run_wrk "$p" "$BU_CONNS" "$BU_DURATION")
        log "budget: round $round $p: $r"
        echo "$p $round $r" >>"$RAW"
    done
done

status=$(curl -s "$FRONT/status?format=json")

stop_pair

# medians per path of: rps p50 p99 cpu/req
med() {   # PATH COLUMN
    awk -v p="$1" -v c="$2" '$1 == p { print $c }' "$RAW" | median
}
# paired difference: per round, PATH minus gw (CPU ns/req), median
pdiff() {
    awk -v p="$1" '$1 == "gw" { base[$2] = $6 } $1 == p { v[$2] = $6 }
        END { for (r in v) if (r in base) print v[r] - base[r] }' "$RAW" | median
}
# the quartiles of the per-round differences: "Q1 … Q3"
pquart() {
    awk -v p="$1" '$1 == "gw" { base[$2] = $6 } $1 == p { v[$2] = $6 }
        END { for (r in v) if (r in base) print v[r] - base[r] }' "$RAW" | quartiles
}
fmt() { awk "BEGIN { printf \"%.${2}f\", ($1) }"; }
sfmt() { awk "BEGIN { printf \"%+.${2}f\", ($1) }"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b ? a / b : 0 }'; }

errors=$(awk '{ e += $7 } END { print e + 0 }' "$RAW")

# the zones' counters: admitted, refused, keys
zone_stats() {
    node -e '
        const s = JSON.parse(process.argv[1]).budgets || {};
        for (const z of ["bench_key", "bench_fixed", "bench_cost"]) {
            const b = s[z] || {};
            console.log(`${z} ${b.admitted ?? "?"} ${b.refused ?? "?"} ${b.keys ?? "?"} ${b.evicted ?? "?"}`);
        }' "$status"
}
refused=$(zone_stats | awk '{ r += $3 } END { print r + 0 }')

echo "### Token budgets: admission cost"
echo
echo "wrk -t1 -c$BU_CONNS -s bench/wrk_keys.lua, ${BU_DURATION} s per run, $BU_ROUNDS runs per path, order rotated"
echo "every round and reversed every other round; $(wc -c <"$body") B request body (max_tokens 512); medians. All paths send the same"
echo "requests (X-Key: one of $BU_KEYS keys at random, X-Team fixed). Δ CPU: worker CPU per"
echo "request minus that of the path without budget in the same round: median of the rounds, and
the quartiles of the rounds' differences. The A/A row measures the path without budget
twice: its Δ is what a difference of nothing looks like in this run."
echo
echo "| path | req/s | p50 ms | p99 ms | worker CPU µs/req | **Δ CPU ns/req vs no budget** | Δ quartiles (ns) | CPU ratio | capacity ratio |"
echo "|---|---:|---:|---:|---:|---:|---|---:|---:|"
for p in $PATHS; do
    if [ "$p" = gw ]; then
        d="" ds="" cr="1.00" kr="1.00"
    else
        if [ "$p" = aa ]; then d=$(sfmt "$(pdiff "$p")" 0); else d="**$(sfmt "$(pdiff "$p")" 0)**"; fi
        ds=$(pquart "$p")
        cr=$(ratio "$(med "$p" 6)" "$(med gw 6)")
        kr=$(ratio "$(med gw 6)" "$(med "$p" 6)")
    fi
    printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "${NAME[$p]}" \
        "$(fmt "$(med "$p" 3)" 0)" \
        "$(fmt "$(med "$p" 4) / 1000" 2)" \
        "$(fmt "$(med "$p" 5) / 1000" 2)" \
        "$(fmt "$(med "$p" 6) / 1000" 1)" \
        "$d" "$ds" "$cr" "$kr"
done
echo
echo "req/s ratio (with / without budget): 1 zone random key $(ratio "$(med bk 3)" "$(med gw 3)"),"
echo "1 zone fixed key $(ratio "$(med bf 3)" "$(med gw 3)"), 3 zones $(ratio "$(med b3 3)" "$(med gw 3)")."
echo
echo "Zones after the run (llm_status):"
echo
echo "| zone | admitted | refused | keys | evicted |"
echo "|---|---:|---:|---:|---:|"
zone_stats | awk '{ printf "| %s | %s | %s | %s | %s |\n", $1, $2, $3, $4, $5 }'
echo
[ "$errors" = 0 ] || echo "**Warning:** $errors wrk errors (non-2xx, timeouts)."
[ "$refused" = 0 ] || echo "**Warning:** $refused requests refused by a budget: the figures are not admission costs."

aa="A/A control $(sfmt "$(pdiff aa)" 0) ns"
summary_row "Budget admission, 1 zone, random key of $BU_KEYS, $(wc -c <"$body") B body: worker CPU/req (baseline: gateway without budget)" \
    "$(fmt "$(med bk 6) / 1000" 1) µs" "$(fmt "$(med gw 6) / 1000" 1) µs" \
    "**$(sfmt "$(pdiff bk)" 0) ns/req** (×$(ratio "$(med bk 6)" "$(med gw 6)"); $aa); req/s ×$(ratio "$(med bk 3)" "$(med gw 3)")"
summary_row "Budget admission, 1 zone, fixed key: worker CPU/req (baseline: gateway without budget)" \
    "$(fmt "$(med bf 6) / 1000" 1) µs" "$(fmt "$(med gw 6) / 1000" 1) µs" \
    "$(sfmt "$(pdiff bf)" 0) ns/req (×$(ratio "$(med bf 6)" "$(med gw 6)")); req/s ×$(ratio "$(med bf 3)" "$(med gw 3)")"
summary_row "Budget admission, 3 zones: worker CPU/req (baseline: gateway without budget)" \
    "$(fmt "$(med b3 6) / 1000" 1) µs" "$(fmt "$(med gw 6) / 1000" 1) µs" \
    "**$(sfmt "$(pdiff b3)" 0) ns/req** (×$(ratio "$(med b3 6)" "$(med gw 6)")); req/s ×$(ratio "$(med b3 3)" "$(med gw 3)")"
