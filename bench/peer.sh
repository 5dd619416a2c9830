#!/usr/bin/env bash
# Peer benchmark: the same workload through Portkey's AI gateway (npm
# @portkey-ai/gateway, on node), plain nginx proxy_pass and the gateway
# module, measured alternately in the same run, against the same mock
# upstream (bench/lib.sh).
#
#   bash bench/peer.sh              (MODULE=... to pick the .so)
#
# Portkey is installed from bench/peer/package-lock.json (npm ci, when
# bench/peer/node_modules is missing; PEER_INSTALL=0 to not try) and run
# as `node build/start-server.js --port=PORT --headless` on the CPU of the
# nginx under test, listening on 127.0.0.1 only (bench/peer/loopback.mjs).
# Requests carry x-portkey-provider: openai and x-portkey-custom-host:
# http://127.0.0.1:UP/json/v1 (or /sse/v1, /sse1/v1 for streams), which
# Portkey turns into POST /json/v1/chat/completions on the upstream: the
# same instance and the same answers as /json, /sse and /sse1 (locations
# added to the upstream's configuration here).
#
# Non-streamed: wrk -t1 -cPEER_CONNS, PEER_ROUNDS runs of PEER_DURATION s
# per path and body size, the order of the three paths rotating every
# round; then one-connection runs (1 KB body).  CPU per request: the nginx
# worker's on-CPU time (/proc/PID/schedstat), node's utime + stime
# (/proc/PID/stat, all its threads).  Streaming: bench/peer_stream.mjs.
# Without node_modules (and no way to install them) it prints why and
# exits 0.
#
# Environment: PEER_ROUNDS (3), PEER_DURATION (3 s), PEER_CONNS (16),
# PEER_SIZES ("1024 16384"), PEER_LAT_DURATION (2 s), PEER_ST_ROUNDS (6),
# PEER_ST_CONCURRENCY (5), PEER_ST_SAMPLES (100), PEER_WARMUP_REQS
# (8000 requests through Portkey before measuring), PEER_WARMUP (30 s at
# most for those), PEER_PORT (the first free in
# 18290-18299), PEER_INSTALL (1).

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PEER_ROUNDS=${PEER_ROUNDS:-3}
PEER_DURATION=${PEER_DURATION:-3}
PEER_CONNS=${PEER_CONNS:-16}
PEER_SIZES=${PEER_SIZES:-1024 16384}
PEER_LAT_DURATION=${PEER_LAT_DURATION:-2}
PEER_ST_ROUNDS=${PEER_ST_ROUNDS:-6}
PEER_ST_CONCURRENCY=${PEER_ST_CONCURRENCY:-5}
PEER_ST_SAMPLES=${PEER_ST_SAMPLES:-100}
PEER_WARMUP_REQS=${PEER_WARMUP_REQS:-8000}
PEER_WARMUP=${PEER_WARMUP:-30}
if [ -z "${PEER_PORT:-}" ]; then   # the first free port in 18290-18299
    for PEER_PORT in $(seq 18290 18299); do port_busy "$PEER_PORT" || break; done
fi
PEER_DIR=$BENCH_DIR/peer
PEER_JS=$PEER_DIR/node_modules/@portkey-ai/gateway/build/start-server.js

echo "### Peer: Portkey gateway"
echo

skip() {
    log "peer: skipped: $*"
    echo "Skipped: $*."
    exit 0
}

check_prereqs wrk curl taskset
command -v node >/dev/null || skip "node is not installed"
[ "$(node -p 'parseInt(process.versions.node)')" -ge 18 ] || skip "node $(node -v) is too old (Portkey needs 18 or later)"

if [ ! -f "$PEER_JS" ]; then
    [ "${PEER_INSTALL:-1}" = 1 ] || skip "bench/peer/node_modules is not installed (PEER_INSTALL=0)"
    command -v npm >/dev/null || skip "bench/peer/node_modules is not installed and npm is missing"
    log "peer: npm ci in bench/peer"
    # no install scripts: the gateway's only one is patch-package, with
    # no patches in the published package
    (cd "$PEER_DIR" && npm ci --ignore-scripts --no-audit --no-fund) >"$BENCH_TMP/npm.log" 2>&1 \
        || skip "npm ci in bench/peer failed: $(grep -v '^npm warn' "$BENCH_TMP/npm.log" | tail -2 | tr '\n' ' ')"
    [ -f "$PEER_JS" ] || skip "npm ci in bench/peer did not install $PEER_JS"
fi
pkg_version() { node -p "require('$PEER_DIR/node_modules/$1/package.json').version"; }
PEER_VERSION=$(pkg_version @portkey-ai/gateway)
HONO_NODE_VERSION=$(pkg_version @hono/node-server)
[ "$HONO_NODE_VERSION" = 1.13.8 ] \
    || log "peer: warning: @hono/node-server $HONO_NODE_VERSION, not 1.13.8: Portkey's streams may answer 500"

port_busy "$PEER_PORT" && die "port $PEER_PORT (PEER_PORT) is in use"

# ---------------------------------------------------------------------------
# instances: the upstream with the paths Portkey calls, the nginx under
# test, Portkey

peer_locations() {
    echo "        location ~ ^/json/v1/chat/completions\$ {"
    echo "            return 200 '$CHAT_JSON';"
    echo "        }"
    echo
    sse_location sse/v1/chat/completions 0.05 20
    echo
    sse_location sse1/v1/chat/completions 0 1
    echo
}

write_upstream_conf "$BENCH_TMP/upstream"
peer_locations >"$BENCH_TMP/peer-locations.conf"
awk -v f="$BENCH_TMP/peer-locations.conf" -v l="listen  127.0.0.1:$UP_PORT " '
    { print }
    !done && index($0, l) { while ((getline x < f) > 0) print x; done = 1 }
    END { if (!done) exit 1 }' "$BENCH_TMP/upstream/nginx.conf" >"$BENCH_TMP/upstream/nginx.conf.new" \
    || die "no listen line in the upstream configuration"
mv "$BENCH_TMP/upstream/nginx.conf.new" "$BENCH_TMP/upstream/nginx.conf"
write_front_conf "$BENCH_TMP/front"
start_nginx upstream "$CLIENT_CPU"
UP_MASTER=$MASTER_PID
start_nginx front "$SERVER_CPU"
FRONT_MASTER=$MASTER_PID FRONT_WORKER=$WORKER_PID

peer_cmd=(node --import "$PEER_DIR/loopback.mjs" "$PEER_JS" --port="$PEER_PORT" --headless)
[ "$SERVER_CPU" = all ] || peer_cmd=(taskset -c "$SERVER_CPU" "${peer_cmd[@]}")
log "peer: Portkey $PEER_VERSION (@hono/node-server $HONO_NODE_VERSION) on 127.0.0.1:$PEER_PORT"
(cd "$BENCH_TMP" && exec "${peer_cmd[@]}") >"$BENCH_TMP/peer.log" 2>&1 &
PEER_PID=$!
STARTED_MASTERS+=("$PEER_PID")   # stopped (TERM) by lib.sh's cleanup
PEER=http://127.0.0.1:$PEER_PORT
for i in $(seq 200); do
    curl -fs -o /dev/null "$PEER/" && break
    [ -d "/proc/$PEER_PID" ] || die "Portkey exited: $(tail -3 "$BENCH_TMP/peer.log")"
    sleep 0.05
done
curl -fs -o /dev/null "$PEER/" || die "Portkey did not answer on $PEER"

# PATH: the upstream path Portkey should call (json, sse, sse1)
peer_headers() {
    printf '%s\n' "x-portkey-provider: openai" \
        "x-portkey-custom-host: http://127.0.0.1:$UP_PORT/$1/v1" \
        "Authorization: Bearer sk-bench"
}
url_of() {   # SIDE UPSTREAM-PATH
    case $1 in
        portkey) echo "$PEER/v1/chat/completions" ;;
        gw) echo "$FRONT/gw/$2/chat/completions" ;;
        plain) [ "$2" = json ] && echo "$FRONT/plain/json" || echo "$FRONT/plain/stream/$2" ;;
    esac
}
hdr_args() {   # SIDE UPSTREAM-PATH: curl/wrk -H arguments, one a line
    [ "$1" = portkey ] || return 0
    peer_headers "$2" | while IFS= read -r h; do printf -- '-H\n%s\n' "$h"; done
}

smoke3() {   # UPSTREAM-PATH BODY-FILE
    local side code out=$BENCH_TMP/smoke.out
    for side in plain gw portkey; do
        mapfile -t h < <(hdr_args $side "$1")
        code=$(curl -s -o "$out" -w '%{http_code}' -H 'Content-Type: application/json' "${h[@]}" \
               --data-binary @"$2" "$(url_of $side "$1")")
        [ "$code" = 200 ] || die "smoke test: $side /$1 answered $code: $(head -c 300 "$out")"
        grep -q chatcmpl-bench "$out" || die "smoke test: $side /$1: not the upstream's answer: $(head -c 300 "$out")"
    done
}

# ---------------------------------------------------------------------------
# non-streamed

cpu_ns() {   # SIDE: on-CPU ns of the process under test
    if [ "$1" = portkey ]; then
        awk -v hz="$(getconf CLK_TCK)" '{ printf "%.0f\n", ($14 + $15) * 1e9 / hz }' "/proc/$PEER_PID/stat"
    else
        awk '{ print $1 }' "/proc/$FRONT_WORKER/schedstat"
    fi
}

# run_wrk SIDE CONNS DURATION BODY: prints "rps p50_us p99_us cpu_us/req errors"
run_wrk() {
    local out c0 c1 h
    mapfile -t h < <(hdr_args "$1" json)
    c0=$(cpu_ns "$1")
    out=$(BODY_FILE=$4 on_cpu "$CLIENT_CPU" wrk -t1 -c"$2" -d"$3"s "${h[@]}" \
          -s "$BENCH_DIR/wrk_post.lua" "$(url_of "$1" json)" | grep '^RESULT') \
        || die "wrk failed against $1"
    c1=$(cpu_ns "$1")
    awk -v c="$((c1 - c0))" '{
        for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
        printf "%s %s %s %.2f %s\n", v["rps"], v["p50_us"], v["p99_us"],
               v["requests"] ? c / 1000 / v["requests"] : 0, v["errors"]
    }' <<<"$out"
}

SIDES=(plain gw portkey)
order_of() {   # ROUND: the three sides rotated
    local k=$(($1 % 3))
    echo "${SIDES[@]:$k} ${SIDES[@]:0:$k}"
}

RAW=$BENCH_TMP/peer.tsv
: >"$RAW"
start=$(date +%s)

for size in $PEER_SIZES; do
    body=$BENCH_TMP/body-$size.json
    make_body "$size" 0 >"$body"
    smoke3 json "$body"
    # warm-up: 1 s on nginx; node's JIT needs several thousand requests
    # before its CPU per request settles: 2 s runs on Portkey until it has
    # served PEER_WARMUP_REQS (at the first size, 1,000 at the others) or
    # for PEER_WARMUP s at most
    for side in "${SIDES[@]}"; do
        if [ $side = portkey ]; then
            want=$PEER_WARMUP_REQS
            [ "$size" = "${PEER_SIZES%% *}" ] || want=1000
            n=0 t0=$(date +%s)
            while [ "$n" -lt "$want" ] && [ $(( $(date +%s) - t0 )) -lt "$PEER_WARMUP" ]; do
                r=$(run_wrk portkey "$PEER_CONNS" 2 "$body")
                n=$(( n + $(awk '{ printf "%.0f", $1 * 2 }' <<<"$r") ))
                log "peer: $(wc -c <"$body") B warm-up portkey ($n requests): $r"
            done
        else
            run_wrk "$side" "$PEER_CONNS" 1 "$body" >/dev/null
        fi
    done
    modes=load
    [ "$size" != "${PEER_SIZES%% *}" ] || modes="load c1"
    for mode in $modes; do
        if [ $mode = load ]; then conns=$PEER_CONNS dur=$PEER_DURATION; else conns=1 dur=$PEER_LAT_DURATION; fi
        for round in $(seq "$PEER_ROUNDS"); do
            for side in $(order_of "$round"); do
                r=$(run_wrk "$side" "$conns" "$dur" "$body")
                log "peer: $(wc -c <"$body") B $mode round $round $side: $r"
                echo "$size $mode $side $round $r" >>"$RAW"
            done
        done
    done
done

med() {   # SIZE MODE SIDE COLUMN
    awk -v s="$1" -v m="$2" -v d="$3" -v c="$4" '$1 == s && $2 == m && $3 == d { print $c }' "$RAW" | median
}
fmt() { awk "BEGIN { printf \"%.${2}f\", ($1) }"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b ? a / b : 0 }'; }
kb() { awk -v b="$1" 'BEGIN { printf "%.0f KB", b / 1024 }'; }
name_of() { case $1 in plain) echo "plain nginx" ;; gw) echo "ngx_llm_module" ;; portkey) echo "Portkey $PEER_VERSION" ;; esac; }

echo "Portkey $PEER_VERSION (npm @portkey-ai/gateway, @hono/node-server $HONO_NODE_VERSION) on node $(node -v),"
echo "one process, pinned like the nginx under test; plain nginx and ngx_llm_module: one nginx worker."
echo "Same upstream, same bodies; the order of the three paths rotates every round; medians."
echo
echo "Non-streamed: wrk -t1 -c$PEER_CONNS, $PEER_DURATION s per run, $PEER_ROUNDS runs per path, after a warm-up"
echo "($PEER_WARMUP_REQS requests or $PEER_WARMUP s through Portkey, for node's JIT; 1 s on nginx)."
echo "CPU: nginx worker on-CPU time (/proc/PID/schedstat), node utime + stime (/proc/PID/stat)"
echo "per request; per core: 1e6 / CPU µs, what one core would serve when the gateway is the bottleneck."
echo
echo "| body | path | req/s | p50 ms | p99 ms | CPU µs/req | req/s per core | CPU vs plain |"
echo "|---|---|---:|---:|---:|---:|---:|---:|"
for size in $PEER_SIZES; do
    for side in "${SIDES[@]}"; do
        printf '| %s | %s | %s | %s | %s | %s | %s | %s× |\n' "$(kb "$size")" "$(name_of $side)" \
            "$(fmt "$(med "$size" load $side 5)" 0)" \
            "$(fmt "$(med "$size" load $side 6) / 1000" 2)" \
            "$(fmt "$(med "$size" load $side 7) / 1000" 2)" \
            "$(fmt "$(med "$size" load $side 8)" 1)" \
            "$(fmt "1e6 / $(med "$size" load $side 8)" 0)" \
            "$(ratio "$(med "$size" load $side 8)" "$(med "$size" load plain 8)")"
    done
    printf '| %s | **Portkey / ngx_llm_module** | %s | %s | %s | **%s×** | %s | |\n' "$(kb "$size")" \
        "$(ratio "$(med "$size" load portkey 5)" "$(med "$size" load gw 5)")" \
        "$(ratio "$(med "$size" load portkey 6)" "$(med "$size" load gw 6)")" \
        "$(ratio "$(med "$size" load portkey 7)" "$(med "$size" load gw 7)")" \
        "$(ratio "$(med "$size" load portkey 8)" "$(med "$size" load gw 8)")" \
        "$(ratio "$(med "$size" load gw 8)" "$(med "$size" load portkey 8)")"
done
first=${PEER_SIZES%% *}
echo
echo "One connection (wrk -t1 -c1, $PEER_LAT_DURATION s per run, $PEER_ROUNDS runs per path, $(kb "$first") body):"
echo
echo "| path | req/s | p50 ms | p99 ms | p50 − plain ms | CPU µs/req |"
echo "|---|---:|---:|---:|---:|---:|"
for side in "${SIDES[@]}"; do
    printf '| %s | %s | %s | %s | %s | %s |\n' "$(name_of $side)" \
        "$(fmt "$(med "$first" c1 $side 5)" 0)" \
        "$(fmt "$(med "$first" c1 $side 6) / 1000" 3)" \
        "$(fmt "$(med "$first" c1 $side 7) / 1000" 3)" \
        "$(awk -v a="$(med "$first" c1 $side 6)" -v b="$(med "$first" c1 plain 6)" 'BEGIN { printf "%+.3f", (a - b) / 1000 }')" \
        "$(fmt "$(med "$first" c1 $side 8)" 1)"
done
errs=$(awk '{ e += $9 } END { print e + 0 }' "$RAW")
[ "$errs" = 0 ] || { echo; echo "**Warning:** $errs wrk errors (non-2xx, timeouts)."; }

for size in $PEER_SIZES; do
    summary_row "Peer: non-streamed req/s, $(kb "$size") body (wrk -c$PEER_CONNS)" \
        "$(fmt "$(med "$size" load gw 5)" 0)" "$(fmt "$(med "$size" load plain 5)" 0)" \
        "Portkey $(fmt "$(med "$size" load portkey 5)" 0)"
    summary_row "Peer: CPU per request, $(kb "$size") body" \
        "$(fmt "$(med "$size" load gw 8)" 1) µs" "$(fmt "$(med "$size" load plain 8)" 1) µs" \
        "Portkey $(fmt "$(med "$size" load portkey 8)" 1) µs ($(ratio "$(med "$size" load portkey 8)" "$(med "$size" load gw 8)")× gateway)"
done

# ---------------------------------------------------------------------------
# streaming

body=$BENCH_TMP/body-stream.json
make_body 1024 stream >"$body"
smoke3 sse "$body"
smoke3 sse1 "$body"
node -e '
    const [up, front, peer, fw, pp] = process.argv.slice(1);
    const h = (p) => ({ "x-portkey-provider": "openai",
                        "x-portkey-custom-host": `http://127.0.0.1:${up}/${p}/v1`,
                        "Authorization": "Bearer sk-bench" });
    console.log(JSON.stringify([
        { name: "plain", url: `${front}/plain/stream/sse`, url1: `${front}/plain/stream/sse1`, cpu: +fw },
        { name: "ngx_llm_module", url: `${front}/gw/stream/sse/chat/completions`, url1: `${front}/gw/stream/sse1/chat/completions`, cpu: +fw },
        { name: "Portkey", url: `${peer}/v1/chat/completions`, url1: `${peer}/v1/chat/completions`,
          headers: h("sse"), headers1: h("sse1"), cpu: +pp },
    ]));' "$UP_PORT" "$FRONT" "$PEER" "$FRONT_WORKER" "$PEER_PID" >"$BENCH_TMP/peer-targets.json"

# warm-up, then the measurement
node "$BENCH_DIR/peer_stream.mjs" --targets "$BENCH_TMP/peer-targets.json" --body "$body" \
    --rounds 2 --concurrency 5 --samples 50 >/dev/null
echo
echo "Streaming:"
echo
on_cpu "$CLIENT_CPU" node "$BENCH_DIR/peer_stream.mjs" --targets "$BENCH_TMP/peer-targets.json" \
    --body "$body" --rounds "$PEER_ST_ROUNDS" --concurrency "$PEER_ST_CONCURRENCY" \
    --events 20 --samples "$PEER_ST_SAMPLES" ${BENCH_SUMMARY:+--summary "$BENCH_SUMMARY"}
echo
echo "CPU per stream: the nginx worker's / node's (all threads) on-CPU time during each path's"
echo "batches (/proc/PID/task/*/schedstat) over the streams. Measured in $(( $(date +%s) - start )) s."

stop_nginx "$PEER_PID"
stop_nginx "$FRONT_MASTER"
stop_nginx "$UP_MASTER"
