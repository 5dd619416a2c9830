#!/usr/bin/env bash
# Native worker CPU per request of bench/callgrind.sh's requests: a check
# of an instruction-count comparison on real hardware, builds alternated.
#
#   SQ_MODULES="/path/base.so /path/new.so" bash bench/seqcpu.sh
#
# For each of SQ_ROUNDS rounds and each module of SQ_MODULES (in that
# order), a one-process nginx (master_process off, pinned to CPU 0) is
# configured as bench/features.sh's and, for each path of SQ_PATHS, sent
# SQ_WARM requests (not counted) then SQ_N requests on one keep-alive
# connection (curl -K, every body different, as bench/callgrind.sh's);
# the process's on-CPU time over the SQ_N requests (/proc/PID/schedstat)
# divided by SQ_N.  Prints, per module and path, the minimum and the median
# over the rounds, in ns, and every round's figure.
#
# One request at a time: every request pays the wake-ups and system calls
# that wrk's sixteen connections share, so the figures are larger than
# bench/features.sh's and only their differences mean something.  On a
# loaded machine rounds of the same build differ by 10-15 %: a difference
# of 1 % is not resolved (the instruction counts of bench/callgrind.sh
# are).
#
# Environment: SQ_MODULES (required), SQ_PATHS ("plain gw bu all"), SQ_N
# (2000), SQ_WARM (200), SQ_ROUNDS (5), SQ_SIZE (1024).

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$(dirname "${BASH_SOURCE[0]}")/features_conf.sh"

SQ_MODULES=${SQ_MODULES:?set SQ_MODULES to the modules to compare}
SQ_PATHS=${SQ_PATHS:-plain gw bu all}
SQ_N=${SQ_N:-2000}
SQ_WARM=${SQ_WARM:-200}
SQ_ROUNDS=${SQ_ROUNDS:-5}
SQ_SIZE=${SQ_SIZE:-1024}
CG_KEYS=${CG_KEYS:-50}

check_prereqs node curl taskset

# bench/callgrind.sh's request writer and sender, shared as they are there
eval "$(sed -n '/^write_requests()/,/^}/p; /^send()/,/^}/p' "$BENCH_DIR/callgrind.sh")"

FRONT_PID=
stop_front() {
    if [ -n "$FRONT_PID" ]; then
        kill -TERM "$FRONT_PID" 2>/dev/null || true
        wait "$FRONT_PID" 2>/dev/null || true
        FRONT_PID=
    fi
}
trap 'stop_front; cleanup' EXIT

fe_bodies "$SQ_SIZE" last
write_upstream_conf "$BENCH_TMP/upstream"
start_nginx upstream "$CLIENT_CPU"

RES=$BENCH_TMP/seqcpu.tsv
: >"$RES"
run=0

for round in $(seq "$SQ_ROUNDS"); do
    for m in $SQ_MODULES; do
        [ -f "$m" ] || die "no module at $m"
        MODULE=$m write_front_conf "$BENCH_TMP/front"
        d=$BENCH_TMP/front
        taskset -c 0 "$NGINX" -p "$d/" -c "$d/nginx.conf" -e "$d/error.log" \
            -g 'daemon off; master_process off;' >/dev/null 2>&1 &
        FRONT_PID=$!
        for _ in $(seq 100); do
            port_busy "$FRONT_PORT" && break
            sleep 0.05
        done
        port_busy "$FRONT_PORT" || die "nginx did not start: $(tail -3 "$d/error.log")"

        for p in $SQ_PATHS; do
            run=$((run + 1))
            write_requests "$p" "$SQ_SIZE" 0 "$SQ_WARM" "$BENCH_TMP/warm.cfg" $((run + 7000))
            write_requests "$p" "$SQ_SIZE" 100000 "$SQ_N" "$BENCH_TMP/run.cfg" $((run + 7000))
            send "$BENCH_TMP/warm.cfg"
            c0=$(awk '{ print $1 }' "/proc/$FRONT_PID/schedstat")
            send "$BENCH_TMP/run.cfg"
            c1=$(awk '{ print $1 }' "/proc/$FRONT_PID/schedstat")
            echo "$(basename "$m") $p $(( (c1 - c0) / SQ_N ))" >>"$RES"
            log "seqcpu: round $round, $(basename "$m"), $p: $(( (c1 - c0) / SQ_N )) ns/request"
        done

        stop_front
    done
done

sort -k1,1 -k2,2 -k3n "$RES" | awk '
    { k = $1 " " $2; v[k] = v[k] " " $3 }
    END {
        for (k in v) {
            n = split(v[k], a, " ")
            printf "%s: min %d median %d ns/request (%s )\n", k, a[1], a[int((n + 1) / 2)], v[k]
        }
    }' | sort
