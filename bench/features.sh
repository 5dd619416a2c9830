#!/usr/bin/env bash
# Benchmark 7: what each feature costs, and all of them together.
# Non-streamed chat completions through plain proxy_pass, through
# llm_gateway alone, with one feature on at a time and with every feature
# on, measured alternately in the same run.
#
#   bash bench/features.sh            (MODULE=... to pick the .so)
#   FE_SIZES="1024 16384" bash bench/features.sh
#
# One nginx under test (worker_processes 1), locations to the same upstream
# pool, differing only in their feature directives:
#
#   plain  /plain/  proxy_pass only
#   gw     /gw/     llm_gateway openai (measured twice per round: "gw" and
#          "aa", the second an A/A control that shows how large a
#          difference of nothing is)
#   bu     /bu/     + llm_budget (a zone keyed by $http_x_key, one of
#                   FE_KEYS keys at random, limits so huge nothing is refused)
#   rt     /gw/     the same location as gw, the body asks for the alias
#                   mini-canary { gpt-4o-mini 3; gpt-4o 1; } (drawn by
#                   weight, body rewritten)
#   rq     /rq/     + llm_redact request (mask, every type)
#   rr     /rr/     + llm_redact request response
#   cm     /cm/     + llm_cache, every body different: a miss and a store
#   ch     /ch/     + llm_cache, the same body every time: hits
#   lg     /lg/     + a JSON access log of every $llm_* variable
#   lb     /lb/     lg's log through a buffer (buffer=64k flush=1s): only
#                   when FE_PATHS names it, not in the default set
#   all    /all/    budget + the alias + llm_redact request response +
#                   llm_cache (misses) + the JSON access log
#
# The status counters are always on (every gateway row pays them); the
# server also has an llm_status location (read at the end for the checks).
# Every run uses the same wrk script (bench/wrk_features.lua): a body in
# which a tag of letters makes every request different (the same tag every
# time on ch), an X-Key drawn at random, Authorization (the cache's scope),
# so the client's work is the same on every path; the bodies for rt and all
# differ only by their model's name (the same length).  The request bodies
# have no personal data: nothing is redacted (checked).
#
# For each size (a fresh pair of instances: empty zones): a 1 s warm-up per
# path, FE_ROUNDS rounds of wrk -c FE_CONNS with the order rotated every
# round and reversed every other round, then FE_LAT_ROUNDS rounds with one
# connection.  Medians; worker CPU per request from /proc/PID/schedstat;
# Δ CPU: per round, minus the gateway's, median over the rounds.
# llm_status is read after the warm-up and at the end, and the logs
# counted, to check that during the runs nothing was refused, redacted or
# answered from the cache where it should not be.  The JSON logs are
# written to the work directory and removed after each size.
#
# Rate-matched mode (FE_RATE=N req/s, or FE_RATE=on for 6000):
#
#   FE_RATE=6000 FE_SIZES="1024 16384" bash bench/features.sh
#
# The default mode drives each path at saturation (closed loop), so plain
# and all on are compared at very different request rates (~45k against
# ~12k req/s at 16 KB), and part of the worker's kernel time per request
# depends on the rate itself (epoll batching when it is fast, waking the
# client and the upstream, which share the other CPU, when it is slow:
# docs/benchmarks.md 7r, 7s).  FE_RATE drives every path at the SAME
# offered rate instead (the same wrk script, paced: bench/wrk_features.lua's
# delay(), one schedule of send times a 1/N s apart, waits rounded to wrk's
# ms), below every path's capacity; the rounds, rotation, A/A control and
# medians are the default mode's.  Per path: the achieved req/s (checked:
# each path's median within FE_RATE_TOL % of the target, else flagged, and
# the runs off counted), worker CPU per request from schedstat (ns), split
# into user and system time by /proc/PID/stat's utime/stime (clock ticks,
# sampled by the kernel's 250 Hz tick: a share pooled over the path's
# rounds, applied to the schedstat total: indicative), the worker's busy
# share of its CPU (CPU/req × req/s: flagged above 75 %, near saturation),
# wrk's p50/p99 (from writing the request to the answer's end: not the time
# spent waiting for a slot), ×plain (ratio of the medians, as the default
# mode; and paired: the median of the rounds' ratios), Δ vs the gateway and
# the A/A control.  Each path's 1 s warm-up stays closed-loop: its req/s is
# printed as the path's capacity, and a rate above 70 % of the lowest is
# flagged.  The one-connection rounds are skipped (FE_LAT_ROUNDS=N runs
# them, as in the default mode, not paced).  The ratios depend on the rate
# (a lower rate adds the same wake-up costs to every path): read them at
# the stated rate (docs/benchmarks.md 7t).
#
# FE_QUICK=1: a smoke run to check the script (2 rounds of 1 s, 2 s when
# paced, one round at one connection unless paced, paths "plain gw aa all");
# any of these given explicitly wins.
#
# Environment: FE_ROUNDS (10), FE_DURATION (1 s; 3 s with FE_RATE), FE_CONNS (16),
# FE_LAT_ROUNDS (5; 0 with FE_RATE), FE_LAT_DURATION (1 s), FE_SIZES ("1024"),
# FE_KEYS (1000), FE_CACHE_ZONE (64m, each of the two miss zones),
# FE_PATHS (all of the above; a subset, with plain and gw, to measure less),
# FE_UNIQUE ("last": the per-request tag ends the last message, the rest of
# the conversation is the same in every request, as a chat client re-sending
# its history; "messages": a tag ends every message, so no message text is
# ever seen twice, e.g. by the token memo), FE_RATE (unset: saturation;
# N or "on" = 6000: rate-matched, above), FE_RATE_TOL (3 %), FE_QUICK.

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

FE_RATE=${FE_RATE:-}
case $FE_RATE in
""|0)  FE_RATE= ;;
on)    FE_RATE=6000 ;;
*[!0-9]*) die "FE_RATE must be a number of requests a second (or on)" ;;
esac
FE_RATE_TOL=${FE_RATE_TOL:-3}
unset FE_WRK_RATE
if [ "${FE_QUICK:-0}" = 1 ]; then
    FE_ROUNDS=${FE_ROUNDS:-2}
    FE_LAT_ROUNDS=${FE_LAT_ROUNDS:-$([ -n "$FE_RATE" ] && echo 0 || echo 1)}
    FE_PATHS=${FE_PATHS:-plain gw aa all}
    FE_DURATION=${FE_DURATION:-$([ -n "$FE_RATE" ] && echo 2 || echo 1)}
fi
FE_ROUNDS=${FE_ROUNDS:-10}
if [ -n "$FE_RATE" ]; then
    FE_DURATION=${FE_DURATION:-3}
    FE_LAT_ROUNDS=${FE_LAT_ROUNDS:-0}
fi
FE_DURATION=${FE_DURATION:-1}
FE_CONNS=${FE_CONNS:-16}
FE_LAT_ROUNDS=${FE_LAT_ROUNDS:-5}
FE_LAT_DURATION=${FE_LAT_DURATION:-1}
FE_SIZES=${FE_SIZES:-1024}
FE_CACHE_ZONE=${FE_CACHE_ZONE:-64m}
FE_UNIQUE=${FE_UNIQUE:-last}
case $FE_UNIQUE in last|messages) ;; *) die "FE_UNIQUE must be last or messages" ;; esac

check_prereqs wrk node curl taskset

ALL_PATHS="plain gw aa bu rt rq rr cm ch lg all"
PATHS=${FE_PATHS:-$ALL_PATHS}
for p in $PATHS; do
    case " $ALL_PATHS lb " in *" $p "*) ;; *) die "unknown path '$p' (one of: $ALL_PATHS lb)" ;; esac
done
case " $PATHS " in *" plain "*) ;; *) die "FE_PATHS must have plain" ;; esac
case " $PATHS " in *" gw "*) ;; *) die "FE_PATHS must have gw" ;; esac
declare -A NAME=(
    [plain]="plain proxy_pass"
    [gw]="llm_gateway"
    [aa]="llm_gateway again (A/A control)"
    [bu]="+ budget (1 zone, random key)"
    [rt]="+ routing (alias, 2 weighted models)"
    [rq]="+ redaction, request"
    [rr]="+ redaction, request and response"
    [cm]="+ cache, miss and store"
    [ch]="+ cache, hit"
    [lg]="+ JSON access log (\$llm_* variables)"
    [lb]="+ the same log, buffer=64k (not in the default set)"
    [all]="**all on** (budget, routing, redaction both ways, cache miss, JSON log)"
)
source "$(dirname "${BASH_SOURCE[0]}")/features_conf.sh"

# run_wrk PATH CONNS DURATION [RATE]: prints "rps p50_us p99_us cpu_ns/req
# errors requests"; paced at RATE req/s if given, then with two more
# columns: the worker's user and system clock ticks (/proc/PID/stat)
run_wrk() {
    if [ -z "${4:-}" ]; then
        fe_run_wrk "$1" "$2" "$3" "$size"
        return
    fi
    local t0 t1 r
    t0=$(awk '{ print $14, $15 }' "/proc/$FRONT_WORKER/stat")
    r=$(FE_WRK_RATE=$4 fe_run_wrk "$1" "$2" "$3" "$size")
    t1=$(awk '{ print $14, $15 }' "/proc/$FRONT_WORKER/stat")
    echo "$r $t0 $t1" | awk '{ print $1, $2, $3, $4, $5, $6, $9 - $7, $10 - $8 }'
}

# one request: prints the response headers (lower case names)
post() {   # PATH TAG
    local body=$body_mini
    case $1 in rt|all) body=$body_alias ;; esac
    sed "s/@UNIQ@/$2/g" "$body" \
    | curl -s -o /dev/null -D - -H 'Content-Type: application/json' \
           -H 'Authorization: Bearer sk-bench' -H 'X-Key: key-0001' \
           --data-binary @- "$FRONT/${LOC[$1]}/json/chat/completions" \
    | tr -d '\r' | awk -F': ' 'NR == 1 { print; next } { printf "%s: %s\n", tolower($1), $2 }'
}

expect() {   # PATH WHAT HEADERS PATTERN
    grep -q "$4" <<<"$3" \
        || die "smoke test: /$1/ $2: $(paste -sd ' ' <<<"$3" | cut -c1-400) ($(tail -3 "$BENCH_TMP/front/error.log"))"
}

# each path answers 200, with the headers of its features
smoke() {
    local p h
    for p in plain gw bu rt rq rr cm ch lg all; do
        h=$(post "$p" "smoke aaaaaaaa")
        expect "$p" "answered" "$h" '^HTTP/[0-9.]* 200'
        case $p in
        bu|all) expect "$p" "has no budget headers" "$h" '^x-ratelimit-limit-tokens: ' ;;
        *)      ! grep -q '^x-ratelimit-limit-tokens: ' <<<"$h" || die "smoke test: /$p/ has budget headers" ;;
        esac
        case $p in
        cm|ch|all) expect "$p" "is not a cache miss" "$h" '^x-llm-cache: MISS' ;;
        esac
    done
    # the same body again is a hit: the bodies must differ to measure
    # misses (on all, once the same model is drawn again: the key has the
    # model the route chose)
    for p in cm ch all; do
        for i in $(seq 10); do
            h=$(post "$p" "smoke aaaaaaaa")
            grep -q '^x-llm-cache: HIT' <<<"$h" && break
        done
        expect "$p" "is not a cache hit when asked again" "$h" '^x-llm-cache: HIT'
    done
}

# what llm_status says, one line per figure: "NAME VALUE"
status_figures() {
    curl -s "$FRONT/status?format=json" | node -e '
        let s = "";
        process.stdin.on("data", d => s += d).on("end", () => {
            const j = JSON.parse(s), out = [];
            for (const z of ["fe_budget", "fe_budget_all"]) {
                const b = (j.budgets || {})[z] || {};
                out.push(`${z}.admitted ${b.admitted ?? "?"}`, `${z}.refused ${b.refused ?? "?"}`);
            }
            for (const z of ["fe_miss", "fe_hit", "fe_all"]) {
                const c = (j.cache || {})[z] || {};
                for (const k of ["hits", "misses", "stored", "evicted", "entries"]) {
                    out.push(`${z}.${k} ${c[k] ?? "?"}`);
                }
            }
            const r = (j.routes || {})["mini-canary"] || {};
            out.push(`route.requests ${r.requests ?? "?"}`);
            for (const m of ["gpt-4o-mini", "gpt-4o"]) {
                const x = (j.models || {})[m] || {}, st = x.responses || {};
                out.push(`${m}.requests ${x.requests ?? "?"}`,
                         `${m}.non2xx ${(st["429"] ?? 0) + (st["4xx"] ?? 0) + (st["5xx"] ?? 0)}`);
            }
            let red = 0;
            for (const t of Object.values(j.redactions || {})) {
                red += (t.request || 0) + (t.response || 0) + (t.blocked || 0);
            }
            out.push(`redactions ${red}`);
            console.log(out.join("\n"));
        });'
}

log "features: module $MODULE"

RAW=$BENCH_TMP/features.tsv
CHECKS=$BENCH_TMP/features-checks.tsv
: >"$RAW"
: >"$CHECKS"

for size in $FE_SIZES; do
    start_pair

    # the bodies: make_body's, with the tag's place at the end of the last
    # user message, asking for gpt-4o-mini or for the alias (same length)
    fe_bodies "$size" "$FE_UNIQUE"
    body_mini=$BENCH_TMP/body-$size.json
    body_alias=$BENCH_TMP/body-$size-alias.json
    bytes=$FE_BYTES

    smoke

    # warm-up: connections, keys in the budget zone, the hit path's entry
    # (at saturation: with FE_RATE, its req/s is the path's capacity)
    for p in $PATHS; do
        r=$(run_wrk "$p" "$FE_CONNS" 1)
        [ -z "$FE_RATE" ] || echo "$size warm $p 0 $r" >>"$RAW"
    done

    # the counters before the measured runs (the checks count from here on)
    sleep 0.2
    status_figures >"$BENCH_TMP/status-before"
    : >"$BENCH_TMP/front/lg.json.log"
    : >"$BENCH_TMP/front/all.json.log"

    set -- $PATHS
    for mode in $([ -n "$FE_RATE" ] && echo rate || echo load) c1; do
        rate=
        if [ $mode = load ]; then
            rounds=$FE_ROUNDS conns=$FE_CONNS dur=$FE_DURATION
        elif [ $mode = rate ]; then
            rounds=$FE_ROUNDS conns=$FE_CONNS dur=$FE_DURATION rate=$FE_RATE
        else
            rounds=$FE_LAT_ROUNDS conns=1 dur=$FE_LAT_DURATION
        fi
        for round in $(seq "$rounds"); do
            mapfile -t order < <(fe_order "$round" "$@")
            for p in "${order[@]}"; do
                r=$(run_wrk "$p" "$conns" "$dur" $rate)
                log "features: $bytes B $mode round $round $p: $r"
                echo "$size $mode $p $round $r" >>"$RAW"
            done
        done
    done

    # the checks: what the counters and the logs gained during the runs
    sleep 0.2
    status_figures | awk -v s="$size" 'NR == FNR { before[$1] = $2; next }
        { print s, $1, ($2 ~ /^[0-9]+$/ && before[$1] ~ /^[0-9]+$/) ? $2 - before[$1] : $2 }' \
        "$BENCH_TMP/status-before" - >>"$CHECKS"
    for l in lg all; do
        echo "$size $l.log_lines $(wc -l <"$BENCH_TMP/front/$l.json.log")" >>"$CHECKS"
        case " $PATHS " in *" $l "*) ;; *) continue ;; esac
        if [ -z "$(tail -1 "$BENCH_TMP/front/$l.json.log" | node -e '
                let s = ""; process.stdin.on("data", d => s += d).on("end", () => {
                    try { JSON.parse(s); console.log("ok"); } catch (e) {} });')" ]; then
            die "the last line of $l.json.log is not JSON"
        fi
    done
    # the statuses in the logs: 200, and 499 for the requests still in
    # flight when wrk stopped
    cat "$BENCH_TMP/front/"{lg,all}.json.log \
        | { grep -o '"status":[0-9]*,' || true; } | tr -dc '0-9\n' | sort | uniq -c \
        | awk -v s="$size" '{ printf "%s log_status %s×%s\n", s, $2, $1 }' >>"$CHECKS"
    grep -m1 '"status":200,' "$BENCH_TMP/front/all.json.log" >"$BENCH_TMP/all-$size.json.line" || true
    rm -f "$BENCH_TMP/front/"{lg,lb,all}.json.log

    stop_pair
done

# RAW columns: 1 size, 2 mode (load, c1; with FE_RATE: warm, rate, c1),
# 3 path, 4 round, 5 rps, 6 p50_us, 7 p99_us, 8 cpu_ns/req, 9 errors,
# 10 requests; rate rows: 11 user ticks, 12 system ticks
med() {   # SIZE MODE PATH COLUMN
    awk -v s="$1" -v m="$2" -v p="$3" -v c="$4" \
        '$1 == s && $2 == m && $3 == p { print $c }' "$RAW" | median
}
sum() {   # SIZE PATH COLUMN (every mode but the warm-up)
    awk -v s="$1" -v p="$2" -v c="$3" '$1 == s && $2 != "warm" && $3 == p { t += $c } END { print t + 0 }' "$RAW"
}
# per round, PATH minus BASE (CPU ns/req, or p50 µs with COLUMN 6): the
# differences, one a line
pdiffs() {   # SIZE MODE PATH BASE [COLUMN]
    awk -v s="$1" -v m="$2" -v p="$3" -v q="$4" -v c="${5:-8}" \
        '$1 != s || $2 != m { next } $3 == q { base[$4] = $c } $3 == p { v[$4] = $c }
        END { for (r in v) if (r in base) print v[r] - base[r] }' "$RAW"
}
check() {   # SIZE NAME
    awk -v s="$1" -v k="$2" '$1 == s && $2 == k { print $3 }' "$CHECKS"
}
fmt() { awk "BEGIN { printf \"%.${2}f\", ($1) }"; }     # EXPR DECIMALS
sfmt() { awk "BEGIN { printf \"%+.${2}f\", ($1) }"; }   # signed
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b ? a / b : 0 }'; }
kb() { awk -v b="$1" 'BEGIN { printf "%.0f KB", b / 1024 }'; }
quartiles_1() {   # numbers on stdin: "Q1 … Q3" with one decimal
    sort -g | awk '{ v[NR] = $1 }
        function q(f,   x, i) { x = 1 + (NR - 1) * f; i = int(x); return v[i] + (x - i) * (v[i + 1] - v[i]) }
        END { if (NR == 0) { print "nan"; exit } printf "%+.1f … %+.1f\n", q(0.25), q(0.75) }'
}
# FE_RATE: per round, PATH's CPU per request over BASE's, median of the rounds
pratio() {   # SIZE PATH BASE
    awk -v s="$1" -v p="$2" -v q="$3" \
        '$1 != s || $2 != "rate" { next } $3 == q { base[$4] = $8 } $3 == p { v[$4] = $8 }
        END { for (r in v) if ((r in base) && base[r] > 0) print v[r] / base[r] }' "$RAW" \
    | median | awk '{ printf "%.2f", $1 }'
}
# FE_RATE: the user share of the worker's ticks, pooled over PATH's rounds
ushare() {   # SIZE PATH
    awk -v s="$1" -v p="$2" '$1 == s && $2 == "rate" && $3 == p { u += $11; t += $11 + $12 }
        END { print t ? u / t : 0 }' "$RAW"
}
# FE_RATE: PATH's rounds whose achieved req/s is off the target by more
# than FE_RATE_TOL %
rounds_off() {   # SIZE PATH
    awk -v s="$1" -v p="$2" -v r="$FE_RATE" -v t="$FE_RATE_TOL" \
        '$1 == s && $2 == "rate" && $3 == p { d = $5 / r - 1; if (d < 0) d = -d; if (100 * d > t) n++ }
         END { print n + 0 }' "$RAW"
}

M=$([ -n "$FE_RATE" ] && echo rate || echo load)   # the mode of the main table
echo "### Non-streamed chat completions: each feature, and all of them"
echo
if [ -n "$FE_RATE" ]; then
echo "**Rate-matched: every path at the same offered rate, $FE_RATE req/s.** wrk -t1 -c$FE_CONNS -s bench/wrk_features.lua"
echo "paced (FE_WRK_RATE: one schedule of send times 1/$FE_RATE s apart, waits rounded to wrk's whole ms),"
echo "${FE_DURATION} s per run, $FE_ROUNDS runs per path, order rotated every round and reversed every other round; medians."
echo "Every request body differs (a tag of letters; the cache-hit row sends one body). Capacity: the"
echo "path's saturated req/s in its 1 s warm-up (closed loop, -c$FE_CONNS, one run). Achieved: wrk's req/s"
echo "(×target; rounds off: runs more than $FE_RATE_TOL % off the target). Busy: worker CPU per request ×"
echo "achieved req/s, the share of its CPU the worker used. p50/p99: wrk's, from writing a request to the"
echo "end of its answer. Worker CPU: on-CPU time of the nginx worker under test per request"
echo "(/proc/PID/schedstat); user / system: that time split by the worker's utime/stime ticks"
echo "(/proc/PID/stat, sampled by the kernel's tick), pooled over the path's runs. ×plain: ratio of the"
echo "medians to plain proxy_pass's (paired: the median of the rounds' ratios). Δ CPU vs gateway: per round, minus the llm_gateway row's CPU per"
echo "request; median and quartiles of the rounds. The A/A row measures llm_gateway twice: its Δ and"
echo "×gateway are what a difference of nothing looks like in this run."
else
echo "wrk -t1 -c$FE_CONNS -s bench/wrk_features.lua, ${FE_DURATION} s per run, $FE_ROUNDS runs per path, order rotated every"
echo "round and reversed every other round; then $FE_LAT_ROUNDS runs of ${FE_LAT_DURATION} s per path with one connection (-c1);"
echo "medians. Every request body differs (a tag of letters; the cache-hit row sends one body). Worker"
echo "CPU: on-CPU time of the nginx worker under test per request (/proc/PID/schedstat). ×plain: req/s"
echo "and CPU per request as a ratio of plain proxy_pass's. Δ CPU vs gateway: per round, minus the"
echo "llm_gateway row's CPU per request; median and quartiles of the rounds. The A/A row measures"
echo "llm_gateway twice: its Δ is what a difference of nothing looks like in this run."
fi
for size in $FE_SIZES; do
    bytes=$(( $(wc -c <"$BENCH_TMP/body-$size.json") + 11 ))
    echo
    if [ -n "$FE_RATE" ]; then
    echo "$bytes B request body ($(kb "$size")), wrk -c$FE_CONNS paced at $FE_RATE req/s:"
    echo
    echo "| path | capacity req/s | achieved req/s | ×target | rounds off | busy | p50 µs | p99 µs | worker CPU µs/req | **CPU ×plain** | paired ×plain | user µs/req | user ×plain | system µs/req | **Δ CPU µs/req vs gateway** | Δ quartiles (µs) |"
    echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"
    pu=$(awk -v c="$(med "$size" rate plain 8)" -v f="$(ushare "$size" plain)" 'BEGIN { print c * f }')
    for p in $PATHS; do
        case $p in
        plain|gw) d="" dq="" ;;
        aa)       d="$(pdiffs "$size" rate aa gw | median | awk '{ printf "%+.1f", $1 / 1000 }') (×gateway $(ratio "$(med "$size" rate aa 8)" "$(med "$size" rate gw 8)"), paired $(pratio "$size" aa gw))"
                  dq=$(pdiffs "$size" rate aa gw | awk '{ print $1 / 1000 }' | quartiles_1) ;;
        *)        d="**$(pdiffs "$size" rate "$p" gw | median | awk '{ printf "%+.1f", $1 / 1000 }')**"
                  dq=$(pdiffs "$size" rate "$p" gw | awk '{ print $1 / 1000 }' | quartiles_1) ;;
        esac
        c=$(med "$size" rate "$p" 8) a=$(med "$size" rate "$p" 5) f=$(ushare "$size" "$p")
        printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "${NAME[$p]}" \
            "$(fmt "$(med "$size" warm "$p" 5)" 0)" \
            "$(fmt "$a" 0)" "$(fmt "$a / $FE_RATE" 3)" "$(rounds_off "$size" "$p")/$FE_ROUNDS" \
            "$(fmt "$c * $a / 1e7" 0) %" \
            "$(fmt "$(med "$size" rate "$p" 6)" 0)" \
            "$(fmt "$(med "$size" rate "$p" 7)" 0)" \
            "$(fmt "$c / 1000" 1)" \
            "$(ratio "$c" "$(med "$size" rate plain 8)")" "$(pratio "$size" "$p" plain)" \
            "$(fmt "$c * $f / 1000" 1)" "$(ratio "$(awk -v c="$c" -v f="$f" 'BEGIN { print c * f }')" "$pu")" \
            "$(fmt "$c * (1 - $f) / 1000" 1)" \
            "$d" "$dq"
    done
    lo=$(for p in $PATHS; do med "$size" rate "$p" 5; done | sort -g | head -1)
    hi=$(for p in $PATHS; do med "$size" rate "$p" 5; done | sort -g | tail -1)
    echo
    echo "Achieved req/s across the paths (medians): $(fmt "$lo" 0) … $(fmt "$hi" 0), a spread of $(fmt "100 * ($hi - $lo) / $FE_RATE" 1) % of the target."
    cap=$(for p in $PATHS; do med "$size" warm "$p" 5; done | sort -g | head -1)
    if awk -v c="$cap" -v r="$FE_RATE" 'BEGIN { exit !(r > 0.7 * c) }'; then
        echo
        echo "**Warning:** $FE_RATE req/s is $(fmt "100 * $FE_RATE / $cap" 0) % of the lowest capacity measured in the warm-ups ($(fmt "$cap" 0) req/s): above 70 %, a path may be near saturation (lower FE_RATE, or the machine is loaded)."
    fi
    for p in $PATHS; do
        a=$(med "$size" rate "$p" 5) n=$(rounds_off "$size" "$p")
        if awk -v a="$a" -v r="$FE_RATE" -v t="$FE_RATE_TOL" 'BEGIN { d = a / r - 1; exit !(100 * (d < 0 ? -d : d) > t) }'; then
            echo
            echo "**Warning: rate off:** ${NAME[$p]} achieved $(fmt "$a" 0) req/s (median), ×$(ratio "$a" "$FE_RATE") the target: not comparable (it could not keep up, or the machine stalled)."
        elif [ "$n" != 0 ]; then
            echo
            echo "**Note:** ${NAME[$p]}: $n of $FE_ROUNDS runs more than $FE_RATE_TOL % off the target (the median is within)."
        fi
        if awk -v c="$(med "$size" rate "$p" 8)" -v a="$a" 'BEGIN { exit !(c * a / 1e7 > 75) }'; then
            echo
            echo "**Warning: near saturation:** ${NAME[$p]} kept the worker $(fmt "$(med "$size" rate "$p" 8) * $a / 1e7" 0) % busy: lower FE_RATE."
        fi
    done
    else
    echo "$bytes B request body ($(kb "$size")), wrk -c$FE_CONNS:"
    echo
    echo "| path | req/s | req/s ×plain | p50 ms | p99 ms | worker CPU µs/req | CPU ×plain | **Δ CPU µs/req vs gateway** | Δ quartiles (µs) |"
    echo "|---|---:|---:|---:|---:|---:|---:|---:|---|"
    for p in $PATHS; do
        case $p in
        plain|gw) d="" dq="" ;;
        aa)       d=$(pdiffs "$size" load aa gw | median | awk '{ printf "%+.1f", $1 / 1000 }')
                  dq=$(pdiffs "$size" load aa gw | awk '{ print $1 / 1000 }' | quartiles_1) ;;
        *)        d="**$(pdiffs "$size" load "$p" gw | median | awk '{ printf "%+.1f", $1 / 1000 }')**"
                  dq=$(pdiffs "$size" load "$p" gw | awk '{ print $1 / 1000 }' | quartiles_1) ;;
        esac
        printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "${NAME[$p]}" \
            "$(fmt "$(med "$size" load "$p" 5)" 0)" \
            "$(ratio "$(med "$size" load "$p" 5)" "$(med "$size" load plain 5)")" \
            "$(fmt "$(med "$size" load "$p" 6) / 1000" 2)" \
            "$(fmt "$(med "$size" load "$p" 7) / 1000" 2)" \
            "$(fmt "$(med "$size" load "$p" 8) / 1000" 1)" \
            "$(ratio "$(med "$size" load "$p" 8)" "$(med "$size" load plain 8)")" \
            "$d" "$dq"
    done
    fi
    if [ -z "$FE_RATE" ] || [ "$FE_LAT_ROUNDS" -gt 0 ]; then
    echo
    echo "One connection (wrk -t1 -c1), $bytes B body; Δ p50: per round, minus plain's or the gateway's p50, median:"
    echo
    echo "| path | req/s | p50 ms | p99 ms | worker CPU µs/req | **Δ p50 µs vs plain** | Δ p50 µs vs gateway |"
    echo "|---|---:|---:|---:|---:|---:|---:|"
    for p in $PATHS; do
        if [ "$p" = plain ]; then dp="" dg=""
        else
            dp=$(pdiffs "$size" c1 "$p" plain 6 | median | awk '{ printf "%+.0f", $1 }')
            dg=$(pdiffs "$size" c1 "$p" gw 6 | median | awk '{ printf "%+.0f", $1 }')
            [ "$p" = gw ] && dg=""
        fi
        printf '| %s | %s | %s | %s | %s | %s | %s |\n' "${NAME[$p]}" \
            "$(fmt "$(med "$size" c1 "$p" 5)" 0)" \
            "$(fmt "$(med "$size" c1 "$p" 6) / 1000" 3)" \
            "$(fmt "$(med "$size" c1 "$p" 7) / 1000" 3)" \
            "$(fmt "$(med "$size" c1 "$p" 8) / 1000" 1)" \
            "$dp" "$dg"
    done
    fi
    echo
    echo "Checks after the runs ($bytes B): budget fe_budget $(check "$size" fe_budget.admitted) admitted,"
    echo "$(check "$size" fe_budget.refused) refused, fe_budget_all $(check "$size" fe_budget_all.admitted) admitted, $(check "$size" fe_budget_all.refused) refused;"
    echo "cache fe_miss $(check "$size" fe_miss.hits) hits, $(check "$size" fe_miss.misses) misses, $(check "$size" fe_miss.stored) stored, $(check "$size" fe_miss.evicted) evicted;"
    echo "fe_hit $(check "$size" fe_hit.hits) hits, $(check "$size" fe_hit.misses) misses; fe_all $(check "$size" fe_all.hits) hits, $(check "$size" fe_all.misses) misses,"
    echo "$(check "$size" fe_all.stored) stored, $(check "$size" fe_all.evicted) evicted; route mini-canary $(check "$size" route.requests) requests"
    echo "($(check "$size" gpt-4o.requests) answered by gpt-4o); values redacted: $(check "$size" redactions);"
    echo "non-2xx answers (llm_status): $(( $(check "$size" gpt-4o-mini.non2xx) + $(check "$size" gpt-4o.non2xx) )); wrk errors: $(awk -v s="$size" '$1 == s && $2 != "warm" { e += $9 } END { print e + 0 }' "$RAW");"
    echo "JSON log lines: $(check "$size" lg.log_lines) (lg), $(check "$size" all.log_lines) (all), for $(sum "$size" lg 10) and $(sum "$size" all 10)"
    echo "requests counted by wrk; statuses in these logs: $(check "$size" log_status | paste -sd ' ' | sed 's/ /, /g')"
    echo "(499: a request still in flight when wrk stopped, which wrk does not count; the same happens on"
    echo "every path)."
    echo
    echo "A line of the JSON log (all on):"
    echo
    echo "    $(cat "$BENCH_TMP/all-$size.json.line")"

    errors=$(awk -v s="$size" '$1 == s && $2 != "warm" { e += $9 } END { print e + 0 }' "$RAW")
    refused=$(( $(check "$size" fe_budget.refused) + $(check "$size" fe_budget_all.refused) ))
    echo
    [ "$errors" = 0 ] || echo "**Warning:** $errors wrk errors (non-2xx, timeouts) with the $(kb "$size") body."
    [ "$refused" = 0 ] || echo "**Warning:** $refused requests refused by a budget."
    [ "$(check "$size" fe_miss.hits)" = 0 ] && [ "$(check "$size" fe_all.hits)" = 0 ] \
        || echo "**Warning:** cache hits on a path meant to miss."
    [ "$(check "$size" redactions)" = 0 ] || echo "**Warning:** values were redacted: the bodies are meant to have none."
done

for size in $FE_SIZES; do
    bytes=$(kb "$size")
    for p in $PATHS; do
        case $p in
        plain|aa) continue ;;
        gw)  what="llm_gateway alone" ;;
        all) what="All features on (budget, routing, redaction both ways, cache miss, JSON log)" ;;
        *)   what="llm_gateway ${NAME[$p]}" ;;
        esac
        d=""
        [ "$p" = gw ] || d="; Δ vs gateway $(pdiffs "$size" $M "$p" gw | median | awk '{ printf "%+.1f", $1 / 1000 }') µs"
        at=""
        [ -z "$FE_RATE" ] || at=" at $FE_RATE req/s (rate-matched)"
        summary_row "$what, $bytes body: worker CPU/req$at (baseline: plain proxy_pass)" \
            "$(fmt "$(med "$size" $M "$p" 8) / 1000" 1) µs" "$(fmt "$(med "$size" $M plain 8) / 1000" 1) µs" \
            "CPU ×$(ratio "$(med "$size" $M "$p" 8)" "$(med "$size" $M plain 8)"), req/s ×$(ratio "$(med "$size" $M "$p" 5)" "$(med "$size" $M plain 5)")$d"
    done
done
