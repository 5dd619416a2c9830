#!/usr/bin/env bash
# Where the worker's CPU goes, natively, on one path of bench/features.sh:
# wrk drives ONE path (bench/features_conf.sh's location, bodies and wrk
# script) for PR_SECONDS while `perf record -F PR_FREQ -g` samples the front
# worker (cpu-clock: no hardware counters needed); every sample is charged
# to the component of its leaf frame (bench/profile/classify.py: kernel by
# system call, nginx core, the module's JSON scan, estimator and memo, PII
# validators, cache, redaction glue, Hyperscan, SHA-256, memcpy/memset,
# malloc/free, ...).  Per request, from the same run: the worker's CPU
# (/proc/PID/schedstat), its user/system split and minor faults
# (/proc/PID/stat), and the C library's allocator calls (an LD_PRELOAD
# counter, bench/profile/malloc_count.c, in the front nginx only).  Then,
# on a second, shorter run of the same path, `strace -c` of the worker
# (system calls per request, mmap/munmap/brk among them) unless PR_STRACE=0.
#
#   PR_PATHS="plain gw all" PR_SIZE=16384 bash bench/profile.sh
#
# The pair of instances is started as start_pair does, but with the counter
# preloaded into the front nginx only.
#
# Environment: PR_PATHS ("plain gw all"; any of features.sh's paths),
# PR_SIZE (16384), PR_SECONDS (10), PR_CONNS (16), PR_FREQ (4999),
# PR_STRACE (1), PR_OUT (a directory to keep perf.data and the reports in;
# default: the work directory, removed at exit unless BENCH_KEEP=1), FE_UNIQUE ("last", as features.sh).
# Each path runs on a fresh pair of instances, after a 2 s warm-up.
# Absolute microseconds depend on the machine's load; the shares of the
# samples much less so.

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PR_PATHS=${PR_PATHS:-plain gw all}
PR_SIZE=${PR_SIZE:-16384}
PR_SECONDS=${PR_SECONDS:-10}
PR_CONNS=${PR_CONNS:-16}
PR_FREQ=${PR_FREQ:-4999}
PR_STRACE=${PR_STRACE:-1}
FE_UNIQUE=${FE_UNIQUE:-last}

check_prereqs wrk node curl taskset perf python3
[ "$PR_STRACE" = 0 ] || check_prereqs strace

source "$(dirname "${BASH_SOURCE[0]}")/features_conf.sh"

PR_OUT=${PR_OUT:-$BENCH_TMP/profile}
mkdir -p "$PR_OUT"

MC_SO=$BENCH_TMP/malloc_count.so
cc -O2 -shared -fPIC -o "$MC_SO" "$BENCH_DIR/profile/malloc_count.c" \
    || die "could not build the allocator counter"
MC_FILE=$BENCH_TMP/malloc_count.bin

mc_read() { od -An -t u8 -w80 -v "$MC_FILE"; }
stat_field() { awk -v f="$2" '{ print $f }' "/proc/$1/stat"; }

fe_bodies "$PR_SIZE" "$FE_UNIQUE"

for p in $PR_PATHS; do
    [ -n "${LOC[$p]:-}" ] || die "unknown path '$p'"

    # the front nginx with the allocator counter preloaded (its worker is
    # a fork of the master: it keeps the mapping); the upstream without
    write_upstream_conf "$BENCH_TMP/upstream"
    write_front_conf "$BENCH_TMP/front"
    start_nginx upstream "$UPSTREAM_CPU"
    UP_MASTER=$MASTER_PID UP_WORKER=$WORKER_PID
    MALLOC_COUNT_FILE=$MC_FILE LD_PRELOAD=$MC_SO start_nginx front "$SERVER_CPU"
    FRONT_MASTER=$MASTER_PID FRONT_WORKER=$WORKER_PID

    fe_run_wrk "$p" "$PR_CONNS" 2 "$PR_SIZE" >/dev/null   # warm-up

    mc0=$(mc_read)
    ut0=$(stat_field "$FRONT_WORKER" 14) st0=$(stat_field "$FRONT_WORKER" 15)
    mf0=$(stat_field "$FRONT_WORKER" 10)
    perf record -q -F "$PR_FREQ" -g -p "$FRONT_WORKER" -o "$PR_OUT/perf-$p.data" \
        >/dev/null 2>"$PR_OUT/perf-$p.err" &
    perf_pid=$!
    sleep 0.3
    res=$(fe_run_wrk "$p" "$PR_CONNS" "$PR_SECONDS" "$PR_SIZE")
    kill -INT "$perf_pid"
    wait "$perf_pid" 2>/dev/null || true
    mc1=$(mc_read)
    ut1=$(stat_field "$FRONT_WORKER" 14) st1=$(stat_field "$FRONT_WORKER" 15)
    mf1=$(stat_field "$FRONT_WORKER" 10)

    read -r rps p50 p99 cpu_ns errors requests <<<"$res"
    [ "$errors" = 0 ] || log "profile: $p: $errors errors"
    {
        echo "path $p size $PR_SIZE seconds $PR_SECONDS conns $PR_CONNS"
        echo "requests $requests rps $rps worker_cpu_us_per_req $(awk -v c="$cpu_ns" 'BEGIN { printf "%.1f", c / 1000 }')"
        awk -v u="$((ut1 - ut0))" -v s="$((st1 - st0))" -v a="$mf0" -v b="$mf1" -v n="$requests" 'BEGIN {
            printf "user_share %.1f%% system_share %.1f%% (clock ticks %d/%d) minflt_per_req %.3f\n",
                   u + s ? 100 * u / (u + s) : 0, u + s ? 100 * s / (u + s) : 0, u, s, (b - a) / n }'
        paste <(tr -s ' ' '\n' <<<"$mc0" | sed '/^$/d') <(tr -s ' ' '\n' <<<"$mc1" | sed '/^$/d') \
        | awk -v n="$requests" 'BEGIN { split("malloc calloc realloc memalign free bytes lt4k 4k-32k 32k-128k ge128k", k, " ") }
              { printf "%s %.2f ", k[NR], ($2 - $1) / n } END { print "(allocator calls per request; bytes: per request)" }'
    } | tee "$PR_OUT/summary-$p.txt" >&2

    perf script -i "$PR_OUT/perf-$p.data" -F ip,sym,dso 2>/dev/null \
        | python3 "$BENCH_DIR/profile/classify.py" "$p" \
              "$(awk -v c="$cpu_ns" 'BEGIN { printf "%.1f", c / 1000 }')" >"$PR_OUT/components-$p.txt"
    perf report -i "$PR_OUT/perf-$p.data" --no-children --sort dso,sym --stdio -g none \
        --percent-limit 0.5 2>/dev/null | grep -v '^#' | sed '/^$/d' >"$PR_OUT/top-$p.txt"

    if [ "$PR_STRACE" != 0 ]; then
        strace -c -f -p "$FRONT_WORKER" -o "$PR_OUT/strace-$p.txt" 2>/dev/null &
        st=$!
        sleep 0.5
        res=$(fe_run_wrk "$p" "$PR_CONNS" 2 "$PR_SIZE")
        kill -INT "$st"
        wait "$st" 2>/dev/null || true
        n=$(awk '{ print $6 }' <<<"$res")
        awk -v n="$n" '$1 ~ /^[0-9.]+$/ && NF >= 5 { printf "%s %.2f  ", $NF, $4 / n }
                       END { print "(system calls per request, under strace)" }' \
            "$PR_OUT/strace-$p.txt" | tee -a "$PR_OUT/summary-$p.txt" >&2
    fi

    stop_pair
done

python3 "$BENCH_DIR/profile/classify.py" --table $(for p in $PR_PATHS; do echo "$PR_OUT/components-$p.txt"; done)
