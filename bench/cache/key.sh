#!/usr/bin/env bash
# The cache key's digest, timed natively in the worker (SHA-256 at the
# machine's speed, SHA-NI included, which callgrind does not emulate): a
# module built with LLM_CACHE_BENCH=1 times ngx_http_llm_cache_key() and
# the zone's lookup with clock_gettime() and gives them in
# $llm_cache_bench; KEY_N different requests of each size through an
# llm_cache location, the times read back from its access log.  Several
# modules (KEY_MODULES, bench builds) are measured alternately, KEY_ROUNDS
# rounds, each on fresh instances; per module and size: the minimum and
# the median over all rounds of the key's time (ns) and of the lookup's.
#
#   KEY_MODULES="/tmp/base/ngx_http_llm_module.so build-bench/ngx_http_llm_module.so" \
#       KEY_SIZES="1024 16384" bash bench/cache/key.sh
#
# (a bench build: BUILD=build-bench LLM_CACHE_BENCH=1 make build)
#
# Environment: KEY_MODULES (required), KEY_SIZES ("1024 16384"), KEY_N
# (300), KEY_ROUNDS (3), and those of bench/lib.sh.

source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

KEY_SIZES=${KEY_SIZES:-1024 16384}
KEY_N=${KEY_N:-300}
KEY_ROUNDS=${KEY_ROUNDS:-3}
[ -n "${KEY_MODULES:-}" ] || die "KEY_MODULES: the bench builds to compare"

check_prereqs node curl

FRONT_HTTP_EXTRA="
    llm_cache_zone  zone=key_bench:64m  ttl=1h;
    log_format  key_bench  '\$llm_cache_bench';
"
FRONT_SERVER_EXTRA="
        location /ck/ {
            llm_gateway  openai;
            llm_cache    key_bench;
            access_log   $BENCH_TMP/front/key.log  key_bench;
            proxy_pass   http://\$llm_upstream;
        }
"

CG_KEYS=50
declare -A LOC=([ck]=ck)
eval "$(sed -n '/^write_requests() {/,/^}/p; /^send() {/,/^}/p' \
        "$BENCH_DIR/callgrind.sh")"

RAW=$BENCH_TMP/key.raw
: >"$RAW"

for size in $KEY_SIZES; do
    make_body "$size" 0 | node -e '
        let s = "";
        process.stdin.on("data", d => s += d).on("end", () => {
            const b = JSON.parse(s), m = b.messages[b.messages.length - 1];
            m.content += " @UNIQ@";
            process.stdout.write(JSON.stringify(b));
        });' >"$BENCH_TMP/body-$size.json"
    write_requests ck "$size" 0 20 "$BENCH_TMP/warm-$size.cfg"
    write_requests ck "$size" 100000 "$KEY_N" "$BENCH_TMP/run-$size.cfg"
done

for round in $(seq "$KEY_ROUNDS"); do
    i=0
    for MODULE in $KEY_MODULES; do
        i=$((i + 1))
        case $MODULE in /*) ;; *) MODULE=$PWD/$MODULE ;; esac
        for size in $KEY_SIZES; do
            start_pair
            send "$BENCH_TMP/warm-$size.cfg"
            : >"$BENCH_TMP/front/key.log"
            send "$BENCH_TMP/run-$size.cfg"
            sleep 0.2
            awk -v m="$i" -v s="$size" '{ print m, s, $1, $2 }' "$BENCH_TMP/front/key.log" >>"$RAW"
            stop_pair
        done
        log "key: round $round, module $i done"
    done
done

stat() {   # MODULE SIZE COLUMN: min median
    awk -v m="$1" -v s="$2" -v c="$3" '$1 == m && $2 == s { print $c }' "$RAW" | sort -n \
        | awk '{ v[NR] = $1 } END { printf "%d | %d", v[1], v[int((NR + 1) / 2)] }'
}

echo "| module | size | key ns: min | median | lookup ns: min | median |"
echo "|---|---:|---:|---:|---:|---:|"
i=0
for m in $KEY_MODULES; do
    i=$((i + 1))
    for size in $KEY_SIZES; do
        echo "| $m | $size | $(stat "$i" "$size" 3) | $(stat "$i" "$size" 4) |"
    done
done
