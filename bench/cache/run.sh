#!/usr/bin/env bash
# Cache benchmark: what a hit costs against a trip to the upstream, how the
# lookup scales with the number of entries, and the memory of an entry.
#
#   bash bench/cache/run.sh            (about 1.5 minutes, plus a build)
#
# 1. Latency and worker CPU per request, non-streamed chat completions of
#    about 1 KB: plain proxy_pass, the gateway without a cache (the mock
#    upstream on loopback answers at once: the most favourable upstream
#    there is) and cache hits, with 1 and 16 connections (wrk).
# 2. Lookup time with 10,000 and 100,000 entries in the zone: random
#    requests over all the keys (all hits), the time of the key's digest and
#    of the zone's lookup (lock, tree walk, copy of the entry) measured in
#    the worker, p50 and p99.  This needs a module built with
#    LLM_CACHE_BENCH=1 (built here, in the work directory): config then
#    adds bench/cache/ngx_http_llm_cache_bench.c, which times the lookup's
#    steps (clock_gettime()) and makes the $llm_cache_bench variable.
# 3. Semantic lookup with 10,000 and 100,000 semantic entries: short
#    questions ("What is the capital of country number N?") stored, then
#    asked again as near-duplicates (lower case, no question mark): the time
#    of the embedding and the digest, and of the semantic lookup (the bucket
#    of the context and words' signature, the cosines, the word check).
# 4. Memory per entry: a zone of CA_MEM_ZONE filled past its capacity; its
#    size divided by the entries it holds when it evicts; exact entries, and
#    entries with their semantic part.
#
# Environment: CA_DURATION (5 s per latency run), CA_BODY (1024 bytes),
# CA_MEM_ZONE (8m), BENCH_MODULE (a bench .so already built), and those of
# bench/lib.sh.

source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

CA_DURATION=${CA_DURATION:-5}
CA_BODY=${CA_BODY:-1024}
CA_MEM_ZONE=${CA_MEM_ZONE:-8m}
LUA=$BENCH_DIR/cache/wrk_cache.lua

if [ -z "${BENCH_MODULE:-}" ]; then
    log "cache: building the module with LLM_CACHE_BENCH=1"
    BUILD=$BENCH_TMP/build LLM_CACHE_BENCH=1 \
        make -s -C "$REPO" build >"$BENCH_TMP/build.log" 2>&1 \
        || die "the bench build failed: $(tail -5 "$BENCH_TMP/build.log")"
    BENCH_MODULE=$BENCH_TMP/build/ngx_http_llm_module.so
fi

MODULE=$BENCH_MODULE

check_prereqs wrk curl taskset

cpu_ns() { awk '{ print $1 }' "/proc/$1/schedstat"; }

# run_wrk MODE KEYS CONNS DURATION PATH [COUNT [START]]: the RESULT line,
# plus cpu_ns=
run_wrk() {
    local out c0 c1
    c0=$(cpu_ns "$FRONT_WORKER")
    out=$(MODE=$1 KEYS=$2 BODY_SIZE=$CA_BODY COUNT=${6:-0} START=${7:-0} \
          SHORT=${SHORT:-0} VARIANT=${VARIANT:-0} \
          on_cpu "$CLIENT_CPU" \
          wrk -t1 -c"$3" -d"$4"s -s "$LUA" "$FRONT/$5/chat/completions" | grep '^RESULT') \
        || die "wrk failed against /$5"
    c1=$(cpu_ns "$FRONT_WORKER")
    echo "$out cpu_ns=$((c1 - c0))"
}

field() {   # NAME LINE
    sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<" $2"
}

bench_var() {   # PATH: "KEY_NS LOOKUP_NS ENTRIES BYTES"
    curl -s "$FRONT/$1"
}

# fill PATH KEYS: requests questions 1..KEYS until the zone holds them
fill() {
    local entries i r start=0
    for i in $(seq 60); do
        r=$(run_wrk fill "$2" 16 2 "$1/json" 0 "$start")
        start=$((start + $(field requests "$r")))
        entries=$(bench_var "$1-stats" | awk '{ print $3 }')
        [ "$entries" -ge "$2" ] && return 0
    done
    die "the zone holds $entries entries after filling $2"
}

pct() {   # FIELD P < values
    sort -n | awk -v p="$2" '{ v[NR] = $1 } END { i = int(NR * p / 100); if (i < 1) i = 1; print v[i] }'
}

# the nginx under test: /gw/ and /plain/ as in lib.sh's write_front_conf,
# and the cache's locations
write_cache_front_conf() {   # DIR
    local d=$1
    mkdir -p "$d"
    {
        echo "load_module $MODULE;"
        common_conf "$d"
        echo "http {"
        common_http "$d"
        cat <<EOF

    llm_model  gpt-4o-mini  upstream=bench_up  input=0.15  output=0.60;

    llm_cache_zone  zone=bench:128m  ttl=1h;
    llm_cache_zone  zone=mem:$CA_MEM_ZONE  ttl=1h;
    llm_cache_zone  zone=sem:256m  ttl=1h;
    llm_cache_zone  zone=memsem:$CA_MEM_ZONE  ttl=1h;
    log_format  cachebench  '\$llm_cache_status \$llm_cache_bench';

    upstream bench_up {
        server  127.0.0.1:$UP_PORT;
        keepalive  64;
        keepalive_requests  1000000;
    }

    server {
        listen  127.0.0.1:$FRONT_PORT backlog=4096;

        proxy_http_version  1.1;
        proxy_set_header    Connection "";
        proxy_read_timeout  120s;

        location /gw/ {
            llm_gateway  openai;
            proxy_pass   http://\$llm_upstream;
        }

        location /plain/ {
            proxy_pass  http://bench_up;
        }

        location /c/ {
            llm_gateway      openai;
            llm_cache        bench;
            llm_cache_scope  "";
            proxy_pass       http://\$llm_upstream;
        }

        location /cl/ {
            llm_gateway      openai;
            llm_cache        bench;
            llm_cache_scope  "";
            proxy_pass       http://\$llm_upstream;
            access_log       $d/lookup.log  cachebench;
        }

        location /m/ {
            llm_gateway      openai;
            llm_cache        mem;
            llm_cache_scope  "";
            proxy_pass       http://\$llm_upstream;
        }

        location /s/ {
            llm_gateway         openai;
            llm_cache           sem;
            llm_cache_scope     "";
            llm_cache_semantic  on;
            proxy_pass          http://\$llm_upstream;
            access_log          $d/semantic.log  cachebench;
        }

        location /ms/ {
            llm_gateway         openai;
            llm_cache           memsem;
            llm_cache_scope     "";
            llm_cache_semantic  on;
            proxy_pass          http://\$llm_upstream;
        }

        location = /s-stats {
            llm_cache  sem;
            return     200 "\$llm_cache_bench";
        }

        location = /ms-stats {
            llm_cache  memsem;
            return     200 "\$llm_cache_bench";
        }

        location = /c-stats {
            llm_cache  bench;
            return     200 "\$llm_cache_bench";
        }

        location = /m-stats {
            llm_cache  mem;
            return     200 "\$llm_cache_bench";
        }
    }
}
EOF
    } >"$d/nginx.conf"
}

log "cache: module $MODULE"

write_upstream_conf "$BENCH_TMP/upstream"
write_cache_front_conf "$BENCH_TMP/front"
start_nginx upstream "$CLIENT_CPU"
UP_MASTER=$MASTER_PID
start_nginx front "$SERVER_CPU"
FRONT_MASTER=$MASTER_PID FRONT_WORKER=$WORKER_PID

# smoke: a miss, then a hit
for want in MISS HIT; do
    got=$(curl -s -o /dev/null -D - -H 'Content-Type: application/json' \
          --data-binary '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"smoke"}]}' \
          "$FRONT/c/json/chat/completions" | tr -d '\r' | sed -n 's/^X-LLM-Cache: //ip')
    [ "$got" = "$want" ] || die "smoke test: expected $want, got '$got' ($(tail -3 "$BENCH_TMP/front/error.log"))"
done

echo "### Cache"
echo
echo "Request bodies of about $CA_BODY bytes (a system prompt and a user"
echo "question), the mock upstream's fixed chat.completion (127 bytes of text),"
echo "worker_processes 1. Latency from wrk (1 thread); CPU is the worker's on-CPU"
echo "time per request."
echo
echo "| path | connections | req/s | p50 | p99 | worker CPU per request |"
echo "|---|---|---|---|---|---|"

# 1. latency: plain proxy, gateway to the upstream, cache hit

run_wrk same 1 16 1 c/json >/dev/null   # warm-up, and the one entry

for conns in 1 16; do
    for p in plain/json gw/json c/json; do
        r=$(run_wrk same 1 "$conns" "$CA_DURATION" "$p" "$([ "$p" = c/json ] && echo 1 || echo 0)")
        [ "$(field errors "$r")" = 0 ] || die "errors on /$p: $r"
        if [ "$p" = c/json ] && [ "$(field miss "$r")$(field other "$r")" != 00 ]; then
            die "/c/json: not all hits: $r"
        fi
        case $p in
            plain/json) name="plain proxy_pass to the upstream" ;;
            gw/json) name="llm_gateway, no cache, to the upstream" ;;
            c/json) name="llm_gateway, cache hit" ;;
        esac
        req=$(field requests "$r")
        printf '| %s | %s | %.0f | %s µs | %s µs | %.1f µs |\n' "$name" "$conns" \
            "$(field rps "$r")" "$(field p50_us "$r")" "$(field p99_us "$r")" \
            "$(awk -v c="$(field cpu_ns "$r")" -v n="$req" 'BEGIN { print c / n / 1000 }')"
        summary_row "cache: $name, $conns conn, p50 µs" "$(field p50_us "$r")" "" ""
    done
done

echo

# 2. lookup time at 10k and 100k entries

echo "| entries in the zone | requests (all hits) | key digest p50 / p99 | zone lookup p50 / p99 | request p50 / p99 (wrk, 16 conn) |"
echo "|---|---|---|---|---|"

for n in 10000 100000; do
    log "cache: filling $n entries"
    fill c "$n"
    : >"$BENCH_TMP/front/lookup.log"
    r=$(run_wrk random "$n" 16 "$CA_DURATION" cl/json)
    entries=$(bench_var c-stats | awk '{ print $3 }')
    hits=$(grep -c '^HIT ' "$BENCH_TMP/front/lookup.log" || true)
    total=$(wc -l <"$BENCH_TMP/front/lookup.log")
    [ "$hits" = "$total" ] || log "cache: $((total - hits)) of $total were not hits"
    k50=$(awk '$1 == "HIT" { print $2 }' "$BENCH_TMP/front/lookup.log" | pct x 50)
    k99=$(awk '$1 == "HIT" { print $2 }' "$BENCH_TMP/front/lookup.log" | pct x 99)
    l50=$(awk '$1 == "HIT" { print $3 }' "$BENCH_TMP/front/lookup.log" | pct x 50)
    l99=$(awk '$1 == "HIT" { print $3 }' "$BENCH_TMP/front/lookup.log" | pct x 99)
    printf '| %s | %s of %s | %.1f / %.1f µs | %.1f / %.1f µs | %s / %s µs |\n' \
        "$entries" "$hits" "$total" \
        "$(awk -v v="$k50" 'BEGIN { print v / 1000 }')" "$(awk -v v="$k99" 'BEGIN { print v / 1000 }')" \
        "$(awk -v v="$l50" 'BEGIN { print v / 1000 }')" "$(awk -v v="$l99" 'BEGIN { print v / 1000 }')" \
        "$(field p50_us "$r")" "$(field p99_us "$r")"
    summary_row "cache: lookup p99 at $n entries, ns" "$l99" "" ""
done

echo

# 3. semantic lookup at 10k and 100k entries: short questions, asked again
#    as near-duplicates (lower case, no question mark)

echo "| semantic entries | requests | SEMANTIC answers | buckets | embedding + digest p50 / p99 | semantic lookup p50 / p99 | request p50 / p99 (wrk, 16 conn) |"
echo "|---|---|---|---|---|---|---|"

for n in 10000 100000; do
    log "cache: filling $n semantic entries"
    SHORT=1 fill s "$n"
    : >"$BENCH_TMP/front/semantic.log"
    r=$(SHORT=1 VARIANT=1 run_wrk random "$n" 16 "$CA_DURATION" s/json)
    read -r _ _ _ _ _ _ sem_entries buckets <<<"$(bench_var s-stats)"
    l=$BENCH_TMP/front/semantic.log
    hits=$(grep -c '^SEMANTIC ' "$l" || true)
    total=$(wc -l <"$l")
    printf '| %s | %s | %s | %s | %.1f / %.1f µs | %.1f / %.1f µs | %s / %s µs |\n' \
        "$sem_entries" "$total" "$hits" "$buckets" \
        "$(awk '{ print $6 }' "$l" | pct x 50 | awk '{ print $1 / 1000 }')" \
        "$(awk '{ print $6 }' "$l" | pct x 99 | awk '{ print $1 / 1000 }')" \
        "$(awk '{ print $7 }' "$l" | pct x 50 | awk '{ print $1 / 1000 }')" \
        "$(awk '{ print $7 }' "$l" | pct x 99 | awk '{ print $1 / 1000 }')" \
        "$(field p50_us "$r")" "$(field p99_us "$r")"
done

echo

# 4. memory per entry, exact and semantic

zone_bytes=$(awk -v s="$CA_MEM_ZONE" 'BEGIN { n = s + 0; u = substr(s, length(s));
    if (u == "k" || u == "K") n *= 1024; if (u == "m" || u == "M") n *= 1048576; print n }')

echo "| entries | zone | entries held when full | zone bytes per entry | entry bytes |"
echo "|---|---|---|---|---|"

for z in m ms; do
    name=$([ $z = m ] && echo mem || echo memsem)
    log "cache: filling the $CA_MEM_ZONE zone $name past its capacity"
    start=0
    for i in $(seq 30); do
        r=$(SHORT=1 run_wrk fill 10000000 16 2 "$z/json" 0 "$start")
        start=$((start + $(field requests "$r")))
        grep -q "llm cache \"$name\" is full" "$BENCH_TMP/front/error.log" && break
    done
    grep -q "llm cache \"$name\" is full" "$BENCH_TMP/front/error.log" \
        || die "the $CA_MEM_ZONE zone $name did not fill after $start requests"
    # one more round once it evicts, so that it is full of entries
    SHORT=1 run_wrk fill 10000000 16 2 "$z/json" 0 "$start" >/dev/null
    read -r _ _ entries bytes _ <<<"$(bench_var $z-stats)"
    printf '| %s | %s | %s | %.0f | %.0f |\n' \
        "$([ $z = m ] && echo exact || echo "exact + semantic")" "$CA_MEM_ZONE" \
        "$entries" \
        "$(awk -v z="$zone_bytes" -v e="$entries" 'BEGIN { print z / e }')" \
        "$(awk -v b="$bytes" -v e="$entries" 'BEGIN { print b / e }')"
done

stop_nginx "$FRONT_MASTER"
stop_nginx "$UP_MASTER"

# 5. The remote embedder's scan: a full bucket (256 entries compared) at
#    the dimensions of common embedding models, the module's comparison
#    built with Debian's flags (-O2).

log "cache: remote embedder scan (bench/cache/vec_scan.c)"
cc -O2 -g -I "$REPO/ngx_llm_module/engines" "$BENCH_DIR/cache/vec_scan.c" \
    "$REPO/ngx_llm_module/engines/ngx_http_llm_embed.c" -o "$BENCH_TMP/vec_scan" \
    || die "vec_scan does not build"

echo
echo "Remote embedder, a full bucket (256 most recent entries compared, worst case: every comparison a miss):"
echo
echo "| dimensions | one lookup's scan | per comparison |"
echo "|---:|---:|---:|"
on_cpu "$CLIENT_CPU" "$BENCH_TMP/vec_scan" 256 | awk 'NR > 1 {
    printf "| %d | %.1f µs | %.0f ns |\n", $1, $3 / 1000, $4 }'
