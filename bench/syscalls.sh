#!/usr/bin/env bash
# System calls per request, per path of bench/features.sh: the front
# worker under `strace -c -f` while SC_N requests are sent on one
# keep-alive connection (the requests of bench/callgrind.sh: every body
# different, X-Key one of SC_KEYS keys seen during the warm-up), and the
# worker's minor page faults per request (/proc/PID/stat, the same number
# of requests again before strace attaches: first touches of a shared
# memory zone's pages show here).  Kernel
# time is part of the worker CPU bench/features.sh measures; a feature that
# adds a read, a write or a temp file per request shows here.
#
#   SC_SIZES="1024 16384" SC_PATHS="plain gw bu cm lg all" bash bench/syscalls.sh
#
# Environment: SC_SIZES ("1024"), SC_PATHS ("plain gw bu rq rr cm lg all"),
# SC_N (200), SC_WARM (60), SC_KEYS (50).  Output: one table, calls per
# request of each system call (strace's counts / SC_N), and the total.

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

SC_SIZES=${SC_SIZES:-1024}
SC_PATHS=${SC_PATHS:-plain gw bu rq rr cm lg all}
SC_N=${SC_N:-200}
SC_WARM=${SC_WARM:-60}
CG_KEYS=${SC_KEYS:-50}

check_prereqs strace node curl

source "$(dirname "${BASH_SOURCE[0]}")/features_conf.sh"

# write_requests PATH SIZE FIRST COUNT FILE, as in bench/callgrind.sh
eval "$(sed -n '/^write_requests() {/,/^}/p; /^send() {/,/^}/p' \
        "$(dirname "${BASH_SOURCE[0]}")/callgrind.sh")"

RESULTS=$BENCH_TMP/sc-results.txt
: >"$RESULTS"

for size in $SC_SIZES; do
    make_body "$size" 0 | node -e '
        let s = "";
        process.stdin.on("data", d => s += d).on("end", () => {
            const b = JSON.parse(s), m = b.messages[b.messages.length - 1];
            m.content += " @UNIQ@";
            process.stdout.write(JSON.stringify(b));
        });' >"$BENCH_TMP/body-$size.json"
    sed 's/"model":"gpt-4o-mini"/"model":"mini-canary"/' "$BENCH_TMP/body-$size.json" \
        >"$BENCH_TMP/body-$size-alias.json"

    start_pair

    pi=0
    for p in $SC_PATHS; do
        # tags of the path's own (as bench/callgrind.sh): no memo warmed
        # by an earlier path
        pi=$((pi + 1))
        write_requests "$p" "$size" 0 "$SC_WARM" "$BENCH_TMP/warm-$p-$size.cfg" $((size * 16 + pi))
        write_requests "$p" "$size" 100000 "$SC_N" "$BENCH_TMP/run-$p-$size.cfg" $((size * 16 + pi))
        write_requests "$p" "$size" 200000 "$SC_N" "$BENCH_TMP/run2-$p-$size.cfg" $((size * 16 + pi))
        send "$BENCH_TMP/warm-$p-$size.cfg"
        f0=$(awk '{ print $10 }' /proc/$FRONT_WORKER/stat)
        send "$BENCH_TMP/run-$p-$size.cfg"
        f1=$(awk '{ print $10 }' /proc/$FRONT_WORKER/stat)
        echo "$size $p minflt $(awk -v a="$f0" -v b="$f1" -v n="$SC_N" 'BEGIN { printf "%.2f", (b - a) / n }')" >>"$RESULTS"
        out=$BENCH_TMP/strace-$p-$size.txt
        strace -c -f -p "$FRONT_WORKER" -o "$out" 2>/dev/null &
        st=$!
        sleep 0.5
        send "$BENCH_TMP/run2-$p-$size.cfg"
        sleep 0.2
        kill -INT "$st"
        wait "$st" 2>/dev/null || true
        awk -v n="$SC_N" -v p="$p" -v s="$size" '
            $1 ~ /^[0-9.]+$/ && NF >= 5 { name = $NF; calls = $4;
                                          printf "%s %s %s %.2f\n", s, p, name, calls / n }
            /total/ { printf "%s %s total %.2f\n", s, p, $4 / n }' "$out" >>"$RESULTS"
        log "syscalls: $size B $p: $(awk -v s="$size" -v p="$p" '$1 == s && $2 == p && $3 != "total" && $3 != "minflt" { printf "%s %s, ", $3, $4 }' "$RESULTS")"
    done

    stop_pair
done

calls=$(awk '{ print $3 }' "$RESULTS" | sort -u | grep -v -e total -e minflt | paste -sd ' ')
echo "| size | path | $(echo $calls | sed 's/ / | /g') | total | minor faults |"
echo "|---|---|$(for c in $calls total minflt; do printf -- '---:|'; done)"
for size in $SC_SIZES; do
    for p in $SC_PATHS; do
        printf '| %s | %s |' "$size" "$p"
        for c in $calls total minflt; do
            printf ' %s |' "$(awk -v s="$size" -v p="$p" -v c="$c" '$1 == s && $2 == p && $3 == c { v = $4 } END { print v + 0 }' "$RESULTS")"
        done
        echo
    done
done
