#!/usr/bin/env bash
# Benchmark 6: what routing costs.
#
#   bash bench/route.sh            (MODULE=... to pick the .so)
#
# (a) The routing decision and the body rewrite: non-streamed requests to
#     the same gateway location, naming the model directly
#     ("model":"gpt-4o-mini": forwarded as it is) or naming an alias routed
#     by weight (llm_route mini-canary { gpt-4o-mini 3; gpt-4o 1; }: a model
#     is drawn and the body's "model" rewritten).  wrk -c16 keep-alive,
#     order rotated every round and reversed every other; worker CPU per
#     request, paired difference
#     per round (median, quartiles), with an A/A control (the direct body
#     measured twice per round) for the noise floor.
#
# (b) A shadow to a slow model: an alias with one target and no shadow
#     (mini-primary) against the same with "shadow bench-slow 100% max=64
#     timeout=1s" (mini-shadow), whose upstream answers after 200 ms (a
#     server of the mock upstream instance on a unix socket).  A shadow is a
#     background subrequest: the client gets the whole primary answer at
#     once, but nginx ends the request, and reads the next request of a
#     keep-alive connection, only when the shadow ends.  So the clients send
#     "Connection: close" (a new connection per request) and the latency is
#     wrk's, from writing the request to the end of the response body:
#       loaded  wrk -c16, as fast as it goes; at most 64 shadows in flight,
#               so only a share of the requests get one (reported);
#       paced   wrk -c8 with 40 ms between a connection's requests (about
#               190 req/s): every request gets its shadow (checked);
#     and, to show what keep-alive clients see, one short keep-alive run
#     per path (wrk -c8).
#
# Environment: RT_ROUNDS (10, part a), RT_DURATION (1 s, part a),
# RT_CONNS (16), RT_SIZE (1024 bytes of request body), RT_SH_ROUNDS (6,
# loaded), RT_SH_DURATION (1 s, loaded), RT_PACED_ROUNDS (3),
# RT_PACED_DURATION (3 s),
# RT_PACED_CONNS (8), RT_PACED_DELAY (40 ms), RT_SLOW (0.2 s).

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

RT_ROUNDS=${RT_ROUNDS:-10}
RT_DURATION=${RT_DURATION:-1}
RT_CONNS=${RT_CONNS:-16}
RT_SIZE=${RT_SIZE:-1024}
RT_SH_ROUNDS=${RT_SH_ROUNDS:-6}
RT_SH_DURATION=${RT_SH_DURATION:-1}
RT_PACED_ROUNDS=${RT_PACED_ROUNDS:-3}
RT_PACED_DURATION=${RT_PACED_DURATION:-3}
RT_PACED_CONNS=${RT_PACED_CONNS:-8}
RT_PACED_DELAY=${RT_PACED_DELAY:-40}
RT_SLOW=${RT_SLOW:-0.2}

check_prereqs wrk node curl taskset

# on-CPU time of a process in ns
cpu_ns() { awk '{ print $1 }' "/proc/$1/schedstat"; }

# run_wrk BODY CONNS DURATION CLOSE DELAY_MS: prints
# "requests rps p50_us p99_us cpu_ns/req errors"
run_wrk() {
    local out c0 c1 b=${1/#again/direct}
    c0=$(cpu_ns "$FRONT_WORKER")
    out=$(BODY_FILE=$BENCH_TMP/$b.json CLOSE=$4 DELAY_MS=$5 on_cpu "$CLIENT_CPU" \
          wrk -t1 -c"$2" -d"$3"s --timeout 5s -s "$BENCH_DIR/wrk_route.lua" "$FRONT/gw/json/chat/completions" \
          | grep '^RESULT') || die "wrk failed ($1)"
    c1=$(cpu_ns "$FRONT_WORKER")
    awk -v c="$((c1 - c0))" '{
        for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
        printf "%s %s %s %s %.0f %s\n", v["requests"], v["rps"], v["p50_us"], v["p99_us"],
               v["requests"] ? c / v["requests"] : 0, v["errors"]
    }' <<<"$out"
}

# the shadow counters of a route: "sent skipped errors latency_ms_sum"
shadow_stats() {   # ROUTE
    curl -s "$FRONT/status" | awk -v r="route=\"$1\"" '
        index($0, r) && /^llm_shadow_requests_total/ { s = $2 }
        index($0, r) && /^llm_shadow_skipped_total/ { k = $2 }
        index($0, r) && /^llm_shadow_errors_total/ { e = $2 }
        index($0, r) && /^llm_shadow_latency_ms_sum/ { l = $2 }
        END { print s + 0, k + 0, e + 0, l + 0 }'
}

# the slow model's upstream: a unix socket, which the workers (nobody when
# the master is root) must be able to reach
SOCK=$BENCH_TMP/upstream/slow.sock
mkdir -p "$BENCH_TMP/upstream"
chmod 711 "$BENCH_TMP" "$BENCH_TMP/upstream"

UP_EXTRA="
    server {
        listen  unix:$SOCK backlog=4096;
        default_type  application/json;

        location / {
            echo_read_request_body;
            echo_sleep  $RT_SLOW;
            echo '$CHAT_JSON';
        }
    }
"
FRONT_HTTP_EXTRA="
    llm_model  gpt-4o      upstream=bench_up    input=2.50  output=10.00;
    llm_model  bench-slow  upstream=bench_slow  input=0.15  output=0.60;

    llm_route  mini-canary   { gpt-4o-mini 3; gpt-4o 1; }
    llm_route  mini-primary  { gpt-4o-mini 1; }
    llm_route  mini-shadow   { gpt-4o-mini 1; shadow bench-slow 100% max=64 timeout=1s; }

    upstream bench_slow {
        server  unix:$SOCK;
        keepalive  64;
    }
"
FRONT_SERVER_EXTRA="
        location = /status {
            llm_status;
        }
"

log "route: module $MODULE"
start_pair

# the same body naming the model, or an alias (same length: 11 bytes)
make_body "$RT_SIZE" 0 >"$BENCH_TMP/direct.json"
for a in mini-canary mini-primary mini-shadow; do
    sed "s/\"model\":\"gpt-4o-mini\"/\"model\":\"$a\"/" "$BENCH_TMP/direct.json" >"$BENCH_TMP/$a.json"
    grep -q "\"model\":\"$a\"" "$BENCH_TMP/$a.json" || die "no model in the body"
done

for b in direct mini-canary mini-primary mini-shadow; do
    code=$(curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' \
           --data-binary @"$BENCH_TMP/$b.json" "$FRONT/gw/json/chat/completions")
    [ "$code" = 200 ] || die "smoke test: $b answered $code ($(tail -3 "$BENCH_TMP/front/error.log"))"
done
sleep 0.5
read -r sent _ errs _ <<<"$(shadow_stats mini-shadow)"
[ "$sent" = 1 ] && [ "$errs" = 0 ] \
    || die "smoke test: the shadow did not answer ($(tail -3 "$BENCH_TMP/front/error.log"))"

RAW=$BENCH_TMP/route.tsv
: >"$RAW"

# (a) routing decision + rewrite

run_wrk direct "$RT_CONNS" 1 0 0 >/dev/null
run_wrk mini-canary "$RT_CONNS" 1 0 0 >/dev/null

A_BODIES=(direct again mini-canary)
for round in $(seq "$RT_ROUNDS"); do
    # rotate the order every round, reverse it every other round
    order=()
    for i in 0 1 2; do
        if [ $((round % 2)) = 1 ]; then
            order+=("${A_BODIES[$(( (i + round - 1) % 3 ))]}")
        else
            order+=("${A_BODIES[$(( (2 - i + round - 1) % 3 ))]}")
        fi
    done
    for b in "${order[@]}"; do
        r=$(run_wrk "$b" "$RT_CONNS" "$RT_DURATION" 0 0)
        log "route: (a) round $round $b: $r"
        echo "a $b $round $r" >>"$RAW"
    done
done

# (b) shadow: loaded and paced runs with Connection: close, alternated;
# each run is followed by a pause longer than the slow answer, so that no
# shadow of one run is still in flight in the next.

pause=$(awk -v s="$RT_SLOW" 'BEGIN { print s + 0.3 }')

run_wrk mini-primary "$RT_CONNS" 1 1 0 >/dev/null
run_wrk mini-shadow "$RT_CONNS" 1 1 0 >/dev/null
sleep "$pause"

for mode in loaded paced; do
    if [ $mode = loaded ]; then
        conns=$RT_CONNS dur=$RT_SH_DURATION delay=0 rounds=$RT_SH_ROUNDS
    else
        conns=$RT_PACED_CONNS dur=$RT_PACED_DURATION delay=$RT_PACED_DELAY rounds=$RT_PACED_ROUNDS
    fi
    for round in $(seq "$rounds"); do
        if [ $((round % 2)) = 1 ]; then order="mini-primary mini-shadow"; else order="mini-shadow mini-primary"; fi
        for b in $order; do
            s0=$(shadow_stats mini-shadow)
            r=$(run_wrk "$b" "$conns" "$dur" 1 "$delay")
            sleep "$pause"
            s1=$(shadow_stats mini-shadow)
            # shadows sent, skipped, failed, and their mean latency, in this run
            sh=$(awk -v a="$s0" -v b="$s1" 'BEGIN { split(a, x, " "); split(b, y, " ");
                 n = y[1] - x[1]; printf "%d %d %d %.0f", n, y[2] - x[2], y[3] - x[3],
                 n ? (y[4] - x[4]) / n : 0 }')
            log "route: (b) $mode round $round $b: $r shadows $sh"
            echo "$mode $b $round $r $sh" >>"$RAW"
        done
    done
done

# keep-alive clients, for the record: a connection's next request waits
# for the shadow of the previous one
for b in mini-primary mini-shadow; do
    r=$(run_wrk "$b" "$RT_PACED_CONNS" 1 0 0)
    sleep "$pause"
    log "route: (b) keep-alive $b: $r"
    echo "keepalive $b 1 $r 0 0 0 0" >>"$RAW"
done

stop_pair

# columns: 1 mode, 2 body, 3 round, 4 requests, 5 rps, 6 p50_us, 7 p99_us,
# 8 cpu_ns/req, 9 errors, 10 shadows sent, 11 skipped, 12 shadow errors,
# 13 shadow mean latency ms
med() {   # MODE BODY COLUMN
    awk -v m="$1" -v b="$2" -v c="$3" '$1 == m && $2 == b { print $c }' "$RAW" | median
}
sum() {   # MODE BODY COLUMN
    awk -v m="$1" -v b="$2" -v c="$3" '$1 == m && $2 == b { s += $c } END { print s + 0 }' "$RAW"
}
pdiff() {   # MODE BODY BASE: per round BODY minus BASE (CPU ns/req), median
    awk -v m="$1" -v p="$2" -v q="$3" '$1 != m { next } $2 == q { base[$3] = $8 } $2 == p { v[$3] = $8 }
        END { for (r in v) if (r in base) print v[r] - base[r] }' "$RAW" | median
}
pquart() {   # the quartiles of the per-round differences
    awk -v m="$1" -v p="$2" -v q="$3" '$1 != m { next } $2 == q { base[$3] = $8 } $2 == p { v[$3] = $8 }
        END { for (r in v) if (r in base) print v[r] - base[r] }' "$RAW" | quartiles
}
fmt() { awk "BEGIN { printf \"%.${2}f\", ($1) }"; }
sfmt() { awk "BEGIN { printf \"%+.${2}f\", ($1) }"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b ? a / b : 0 }'; }
errors=$(awk '{ e += $9 } END { print e + 0 }' "$RAW")

echo "### Routing: decision and body rewrite"
echo
echo "wrk -t1 -c$RT_CONNS (keep-alive) -s bench/wrk_route.lua, ${RT_DURATION} s per run, $RT_ROUNDS runs per body,"
echo "order rotated every round, reversed every other; $(wc -c <"$BENCH_TMP/direct.json") B body naming \`gpt-4o-mini\` (forwarded as it is) or the"
echo "alias \`mini-canary\` (\`{ gpt-4o-mini 3; gpt-4o 1; }\`: drawn by weight, body rewritten); medians. Δ CPU:"
echo "per round, minus the direct body's CPU per request: median and quartiles of the rounds; the A/A"
echo "row sends the direct body a second time (the noise floor of this run)."
echo
echo "| model in the body | req/s | p50 ms | p99 ms | worker CPU µs/req | **Δ CPU ns/req** | Δ quartiles (ns) |"
echo "|---|---:|---:|---:|---:|---:|---|"
for b in direct again mini-canary; do
    case $b in
    direct) name="gpt-4o-mini (direct)" d="" ds="" ;;
    again)  name="gpt-4o-mini again (A/A control)" d="$(sfmt "$(pdiff a again direct)" 0)" ds=$(pquart a again direct) ;;
    *)      name="mini-canary (routed, rewritten)" d="**$(sfmt "$(pdiff a mini-canary direct)" 0)**" ds=$(pquart a mini-canary direct) ;;
    esac
    printf '| %s | %s | %s | %s | %s | %s | %s |\n' "$name" \
        "$(fmt "$(med a $b 5)" 0)" "$(fmt "$(med a $b 6) / 1000" 2)" \
        "$(fmt "$(med a $b 7) / 1000" 2)" "$(fmt "$(med a $b 8) / 1000" 1)" "$d" "$ds"
done
printf '| **routed/direct** | **%s** | %s | %s | **%s** | | |\n' \
    "$(ratio "$(med a mini-canary 5)" "$(med a direct 5)")" \
    "$(ratio "$(med a mini-canary 6)" "$(med a direct 6)")" \
    "$(ratio "$(med a mini-canary 7)" "$(med a direct 7)")" \
    "$(ratio "$(med a mini-canary 8)" "$(med a direct 8)")"
echo
echo "### Routing: a 100% shadow to a slow model"
echo
echo "\`mini-primary { gpt-4o-mini 1; }\` against \`mini-shadow { gpt-4o-mini 1; shadow bench-slow 100% max=64 timeout=1s; }\`;"
echo "bench-slow's upstream answers after $(fmt "$RT_SLOW * 1000" 0) ms. Clients send \`Connection: close\`; latency = wrk's,"
echo "from writing the request to the end of the response body. $RT_SH_ROUNDS (loaded) or $RT_PACED_ROUNDS (paced) runs per"
echo "path, alternating, medians. Shadows: sums over the runs (llm_status: sent, skipped because"
echo "max=64 were in flight, failed), their latency as the module measured it (median of the runs' means)."
echo
echo "| load | path | req/s | p50 ms | p99 ms | worker CPU µs/req | shadows | shadow mean latency |"
echo "|---|---|---:|---:|---:|---:|---|---:|"
for mode in loaded paced; do
    if [ $mode = loaded ]; then what="wrk -c$RT_CONNS, ${RT_SH_DURATION} s"
    else what="wrk -c$RT_PACED_CONNS, ${RT_PACED_DELAY} ms pause, ${RT_PACED_DURATION} s"
    fi
    for b in mini-primary mini-shadow; do
        if [ $b = mini-primary ]; then name="no shadow" sh="" lat=""
        else
            name="100% shadow"
            sh="$(sum $mode $b 10) sent ($(awk -v a="$(sum $mode $b 10)" -v b="$(sum $mode $b 11)" \
                'BEGIN { printf "%.0f", a + b ? 100 * a / (a + b) : 0 }')%), $(sum $mode $b 11) skipped, $(sum $mode $b 12) failed"
            lat="$(med $mode $b 13) ms"
        fi
        printf '| %s | %s | %s | %s | %s | %s | %s | %s |\n' "$what" "$name" \
            "$(fmt "$(med $mode $b 5)" 0)" "$(fmt "$(med $mode $b 6) / 1000" 3)" \
            "$(fmt "$(med $mode $b 7) / 1000" 3)" "$(fmt "$(med $mode $b 8) / 1000" 1)" "$sh" "$lat"
    done
    printf '| %s | **shadow − none** | %s | **%s** | **%s** | %s | | |\n' "$what" \
        "×$(ratio "$(med $mode mini-shadow 5)" "$(med $mode mini-primary 5)")" \
        "$(sfmt "($(med $mode mini-shadow 6) - $(med $mode mini-primary 6)) / 1000" 3)" \
        "$(sfmt "($(med $mode mini-shadow 7) - $(med $mode mini-primary 7)) / 1000" 3)" \
        "$(sfmt "$(pdiff $mode mini-shadow mini-primary) / 1000" 1)"
done
echo
n=$(sum paced mini-shadow 10)
if [ "$n" -gt 0 ]; then
    printf 'Worker CPU per shadow, paced runs: ≈ %s µs (Δ CPU per request × requests / shadows sent; in the\n' \
        "$(fmt "$(pdiff paced mini-shadow mini-primary) / 1000 * $(sum paced mini-shadow 4) / $n" 0)"
    echo "loaded runs the few shadows are lost in the noise of one new connection per request)."
fi
echo
echo "Keep-alive clients (wrk -c$RT_PACED_CONNS, keep-alive, 1 s, one run each): the answer arrives at once, but the"
echo "connection's next request is read only when the previous request's shadow has ended:"
echo
echo "| path | req/s | p50 ms | p99 ms |"
echo "|---|---:|---:|---:|"
for b in mini-primary mini-shadow; do
    printf '| %s | %s | %s | %s |\n' "$([ $b = mini-primary ] && echo "no shadow" || echo "100% shadow")" \
        "$(fmt "$(med keepalive $b 5)" 0)" "$(fmt "$(med keepalive $b 6) / 1000" 3)" \
        "$(fmt "$(med keepalive $b 7) / 1000" 3)"
done
echo
[ "$errors" = 0 ] || echo "**Warning:** $errors wrk errors (non-2xx, timeouts)."
psent=$(sum paced mini-shadow 10) pskip=$(sum paced mini-shadow 11)
[ "$pskip" = 0 ] || echo "**Note:** in the paced runs $pskip requests got no shadow (max=64 in flight)."
[ "$(( $(sum loaded mini-shadow 12) + $(sum paced mini-shadow 12) ))" = 0 ] \
    || echo "**Note:** some shadows failed (see the table): not answered within timeout=1s, or torn down with their request when wrk closed its connections at the end of a run."

summary_row "Routing by weight + body rewrite, $(wc -c <"$BENCH_TMP/direct.json") B body: worker CPU/req (baseline: the model named directly)" \
    "$(fmt "$(med a mini-canary 8) / 1000" 1) µs" "$(fmt "$(med a direct 8) / 1000" 1) µs" \
    "**$(sfmt "$(pdiff a mini-canary direct)" 0) ns/req** (×$(ratio "$(med a mini-canary 8)" "$(med a direct 8)"); A/A control $(sfmt "$(pdiff a again direct)" 0) ns); req/s ×$(ratio "$(med a mini-canary 5)" "$(med a direct 5)")"
summary_row "Primary p50 / p99 with a 100% shadow to a ${RT_SLOW}s model, paced $(fmt "$(med paced mini-shadow 5)" 0) req/s, Connection: close (baseline: no shadow)" \
    "$(fmt "$(med paced mini-shadow 6) / 1000" 3) / $(fmt "$(med paced mini-shadow 7) / 1000" 3) ms" \
    "$(fmt "$(med paced mini-primary 6) / 1000" 3) / $(fmt "$(med paced mini-primary 7) / 1000" 3) ms" \
    "$(sfmt "($(med paced mini-shadow 6) - $(med paced mini-primary 6)) / 1000" 3) / $(sfmt "($(med paced mini-shadow 7) - $(med paced mini-primary 7)) / 1000" 3) ms; $psent shadows sent, $pskip skipped"
summary_row "Primary req/s and p50 with a 100% shadow (max=64), wrk -c$RT_CONNS, Connection: close (baseline: no shadow)" \
    "$(fmt "$(med loaded mini-shadow 5)" 0) req/s, $(fmt "$(med loaded mini-shadow 6) / 1000" 2) ms" \
    "$(fmt "$(med loaded mini-primary 5)" 0) req/s, $(fmt "$(med loaded mini-primary 6) / 1000" 2) ms" \
    "req/s ×$(ratio "$(med loaded mini-shadow 5)" "$(med loaded mini-primary 5)"), p50 $(sfmt "($(med loaded mini-shadow 6) - $(med loaded mini-primary 6)) / 1000" 2) ms; $(sum loaded mini-shadow 10) shadows sent, $(sum loaded mini-shadow 11) skipped"
