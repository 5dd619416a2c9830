#!/usr/bin/env bash
# Instructions per request, per path of bench/features.sh, under callgrind:
# robust on a loaded machine where timings are not.
#
#   bash bench/callgrind.sh                       (MODULE=... to pick the .so)
#   CG_SIZES="1024 16384" CG_PATHS="plain gw bu lg all" bash bench/callgrind.sh
#
# The nginx under test runs under valgrind --tool=callgrind (one process:
# master_process off), configured as bench/features.sh's (the same
# locations, zones, route, log format); the mock upstream is a normal nginx.
# Instrumentation is off until the first path; for each path, CG_WARM
# requests (not counted: keys in the budget zone, connections), then the
# counters are zeroed, CG_N requests are sent on one keep-alive connection
# (curl -K, every body different as in bench/wrk_features.lua: a tag of
# letters; X-Key one of CG_KEYS keys, all seen during the warm-up), and the
# counters dumped: Ir (instructions executed by the worker) / CG_N.
#
# Environment: CG_SIZES ("1024"), CG_PATHS ("plain gw bu rt rq rr cm lg all"),
# CG_N (200), CG_WARM (60), CG_KEYS (50), CG_TOP (0; N > 0: the N functions
# with the most instructions of their own, per path, on stderr), CG_OUT (a
# directory to keep the dumps in, PATH-SIZE.cg, for callgrind_annotate;
# default: the work directory, removed at the end), CG_UNIQUE ("last": the
# tag ends the last message, as bench/features.sh's default; "messages": a
# tag ends every message, no message text is seen twice: FE_UNIQUE there),
# CG_VALGRIND (more valgrind options, e.g. "--cache-sim=yes": then the
# D1mr/DLmr columns of the dumps count simulated cache misses).
#
# Each path's tags start with a word of its own (the size and the path's
# place in CG_PATHS): no path sees another's texts, so the token memo of one
# path is never warmed by an earlier one (before, "bu" after "all" found the
# long tagged message in the memo and looked ~25k instructions cheaper at
# 16 KB than it is).

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

CG_SIZES=${CG_SIZES:-1024}
CG_PATHS=${CG_PATHS:-plain gw bu rt rq rr cm lg all}
CG_N=${CG_N:-200}
CG_WARM=${CG_WARM:-60}
CG_KEYS=${CG_KEYS:-50}
CG_TOP=${CG_TOP:-0}
CG_UNIQUE=${CG_UNIQUE:-last}
case $CG_UNIQUE in last|messages) ;; *) die "CG_UNIQUE must be last or messages" ;; esac
CG_OUT=${CG_OUT:-$BENCH_TMP/cg}
CG_VALGRIND=${CG_VALGRIND:-}

check_prereqs valgrind callgrind_control callgrind_annotate node curl
mkdir -p "$CG_OUT"

# the same configuration as bench/features.sh
source "$(dirname "${BASH_SOURCE[0]}")/features_conf.sh"

letters() {   # N: N in 8 letters, base 26 (as bench/wrk_features.lua)
    awk -v n="$1" 'BEGIN { s = ""; for (i = 0; i < 8; i++) { s = sprintf("%c", 97 + n % 26) s; n = int(n / 26) } print s }'
}

# write_requests PATH SIZE FIRST COUNT FILE: a curl config of COUNT requests,
# the tags numbered from FIRST
write_requests() {
    local p=$1 size=$2 first=$3 count=$4 f=$5 run=$6 body=$BENCH_TMP/body-$2.json
    case $p in rt|all) body=$BENCH_TMP/body-$2-alias.json ;; esac
    local dir=$BENCH_TMP/req-$p-$size-$first
    mkdir -p "$dir"
    node -e '
        const fs = require("fs");
        const [body, dir, first, count, keys, url, run] = process.argv.slice(1);
        const src = fs.readFileSync(body, "utf8");
        const letters = n => { let s = ""; for (let i = 0; i < 8; i++) { s = String.fromCharCode(97 + n % 26) + s; n = Math.floor(n / 26); } return s; };
        let cfg = "";
        for (let i = 0; i < +count; i++) {
            const n = +first + i, f = `${dir}/${i}.json`;
            fs.writeFileSync(f, src.split("@UNIQ@").join(letters(+run) + " " + letters(n)));
            cfg += `url = "${url}"\ndata-binary = "@${f}"\nheader = "Content-Type: application/json"\n` +
                   `header = "Authorization: Bearer sk-bench"\nheader = "X-Key: key-${String(n % +keys + 1).padStart(4, "0")}"\n` +
                   `output = "/dev/null"\nwrite-out = "%{http_code}\\n"\n` + (i + 1 < +count ? "next\n" : "");
        }
        fs.writeFileSync(process.argv[8], cfg);
    ' "$body" "$dir" "$first" "$count" "$CG_KEYS" "$FRONT/${LOC[$p]}/json/chat/completions" "$run" "$f"
}

send() {   # CONFIG: all must answer 200
    local codes
    codes=$(curl -s -K "$1" | sort | uniq -c | paste -sd ' ')
    case $codes in *" 200") ;; *) die "not all 200: $codes ($(tail -3 "$BENCH_TMP/front/error.log"))" ;; esac
}

RESULTS=$BENCH_TMP/cg-results.tsv
: >"$RESULTS"

for size in $CG_SIZES; do
    fe_bodies "$size" "$CG_UNIQUE"

    write_upstream_conf "$BENCH_TMP/upstream"
    write_front_conf "$BENCH_TMP/front"
    start_nginx upstream "$CLIENT_CPU"
    UP_MASTER=$MASTER_PID

    d=$BENCH_TMP/front
    rm -f "$d/nginx.pid"
    # shellcheck disable=SC2086  # CG_VALGRIND: several words
    valgrind --tool=callgrind --instr-atstart=no --dump-instr=no $CG_VALGRIND \
        --callgrind-out-file="$CG_OUT/cg-$size.%p" \
        "$NGINX" -p "$d/" -c "$d/nginx.conf" -e "$d/error.log" \
        -g 'daemon off; master_process off;' >"$BENCH_TMP/valgrind-$size.log" 2>&1 &
    VG_PID=$!
    trap 'kill -TERM "$VG_PID" 2>/dev/null || true; cleanup' EXIT
    for i in $(seq 600); do
        port_busy "$FRONT_PORT" && break
        sleep 0.1
    done
    port_busy "$FRONT_PORT" || die "nginx under callgrind did not start: $(tail -5 "$BENCH_TMP/valgrind-$size.log")"
    callgrind_control --instr=on "$VG_PID" >/dev/null 2>&1

    pi=0
    for p in $CG_PATHS; do
        pi=$((pi + 1))
        write_requests "$p" "$size" 0 "$CG_WARM" "$BENCH_TMP/warm-$p-$size.cfg" $((size * 16 + pi))
        write_requests "$p" "$size" 100000 "$CG_N" "$BENCH_TMP/run-$p-$size.cfg" $((size * 16 + pi))
        send "$BENCH_TMP/warm-$p-$size.cfg"
        callgrind_control --zero "$VG_PID" >/dev/null 2>&1
        send "$BENCH_TMP/run-$p-$size.cfg"
        callgrind_control --dump="$p-$size" "$VG_PID" >/dev/null 2>&1
        f=$(ls -t "$CG_OUT"/cg-$size.$VG_PID.* | head -1)
        mv "$f" "$CG_OUT/$p-$size.cg"
        ir=$(awk '/^summary:/ { print $2 } /^totals:/ { t = $2 } END { }' "$CG_OUT/$p-$size.cg" | head -1)
        per=$(( ir / CG_N ))
        log "callgrind: $size B $p: $per Ir/request"
        echo "$size $p $per" >>"$RESULTS"
        if [ "$CG_TOP" -gt 0 ]; then
            # head closes the pipe early: not a failure (set -o pipefail)
            { callgrind_annotate --threshold=100 "$CG_OUT/$p-$size.cg" 2>/dev/null \
                | sed -n '/^Ir/,$p' | grep -v '^-' | head -$((CG_TOP + 2)) >&2; } || true
        fi
    done

    kill -TERM "$VG_PID" 2>/dev/null || true
    wait "$VG_PID" 2>/dev/null || true
    stop_nginx "$UP_MASTER"
done

echo "| path | $(for s in $CG_SIZES; do printf '%s B: Ir/req | ×plain | ' "$s"; done)"
echo "|---|$(for s in $CG_SIZES; do printf -- '---:|---:|'; done)"
for p in $CG_PATHS; do
    printf '| %s |' "$p"
    for s in $CG_SIZES; do
        v=$(awk -v s="$s" -v p="$p" '$1 == s && $2 == p { print $3 }' "$RESULTS")
        b=$(awk -v s="$s" '$1 == s && $2 == "plain" { print $3 }' "$RESULTS")
        printf ' %s | %s |' "$v" "$(awk -v a="$v" -v b="$b" 'BEGIN { if (b) printf "%.2f", a / b }')"
    done
    echo
done
