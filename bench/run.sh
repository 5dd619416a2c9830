#!/usr/bin/env bash
# ngx_llm_module benchmarks: the gateway against plain nginx proxy_pass.
#
#   bash bench/run.sh                       all of them (about 11 minutes)
#   bash bench/run.sh throughput stream     some of them
#   MODULE=/path/to/ngx_http_llm_module.so bash bench/run.sh
#
# Benchmarks (each also runs alone: bash bench/NAME.sh):
#   throughput  non-streamed req/s, latency and worker CPU per request (wrk)
#   stream      time to first event and per-event latency (node client)
#   memory      worker memory per open stream, 1,000 streams (node client)
#   json        the JSON scanner's MB/s (bench/json_bench.c)
#   budget      token budgets: worker CPU per request without a budget, with
#               one zone and with three (wrk + bench/wrk_keys.lua)
#   route       routing: CPU of the weighted choice and body rewrite; primary
#               latency with a 100% shadow to a slow model (wrk + bench/wrk_route.lua)
#   features    plain proxy_pass, the gateway, each feature on (budget, routing,
#               redaction, cache miss and hit, JSON log) and all of them on,
#               in one run (wrk + bench/wrk_features.lua)
#   redis       budgets shared through Redis vs a local zone; Redis calls/request
#   peer        the same workload through Portkey's gateway (npm, on node, a
#               third loopback port), plain nginx and the module (bench/peer/)
#
# Prints markdown on stdout (progress on stderr).  Everything runs on two
# loopback ports (the first free pair in 18090-18099, or BENCH_PORT and
# BENCH_PORT+1), in nginx instances started
# from configurations written to a temporary directory.  See lib.sh for the
# environment variables and docs/benchmarks.md for the method.

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ALL="throughput stream memory json budget route features peer redis"
WHICH=${*:-$ALL}
for b in $WHICH; do
    case " $ALL " in *" $b "*) ;; *) die "unknown benchmark '$b' (one of: $ALL)" ;; esac
done

check_prereqs wrk node curl taskset

export MODULE BENCH_TMP
export BENCH_SUMMARY=$BENCH_TMP/summary.tsv
: >"$BENCH_SUMMARY"

start=$(date +%s)
rev=$(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo unknown)
dirty=$(git -C "$REPO" status --porcelain -- ngx_llm_module filters config 2>/dev/null | grep -q . && echo "+changes" || true)

echo "## ngx_llm_module benchmarks"
echo
echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC'); commit $rev$dirty; module $MODULE"
echo "- machine: $(nproc) CPUs ($(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)), $(awk '/MemTotal/ { printf "%.0f GB", $2 / 1048576 }' /proc/meminfo) RAM, $(uname -sr)"
echo "- $("$NGINX" -v 2>&1 | sed 's/^nginx version: //'), worker_processes 1; $(wrk -v 2>&1 | head -1 | awk '{ print $1, $2 }'); node $(node -v)"
echo "- CPUs: nginx under test on $SERVER_CPU, mock upstream on $UPSTREAM_CPU, load generators on $CLIENT_CPU (BENCH_PIN=${BENCH_PIN:-1}); load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo

for b in $WHICH; do
    log "== $b"
    bash "$BENCH_DIR/$b.sh"
    echo
done

echo "### Summary"
echo
echo "Baseline: plain nginx proxy_pass, or the gateway without the feature where the row says so."
echo
echo "| measurement | gateway | baseline | gateway vs baseline |"
echo "|---|---:|---:|---:|"
awk -F '\t' '{ printf "| %s | %s | %s | %s |\n", $1, $2, $3, $4 }' "$BENCH_SUMMARY"
echo
echo "Total time: $(( $(date +%s) - start )) s; load average after: $(cut -d' ' -f1-3 /proc/loadavg)."
