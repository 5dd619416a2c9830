#!/usr/bin/env bash
# Every allocation of one request from nginx's pools, with its size and its
# caller, then nginx's request pool replayed (bench/pool/replay.py): which
# allocation opens each new 4 KB block, and what the blocks before it had
# left.  A block less is a posix_memalign() and a free() less a request.
#
#   PT_PATH=all bash bench/pool/trace.sh           (MODULE=... to pick the .so)
#
# One path per run (PT_PATH: a path of bench/features.sh, "all" by
# default), PT_SIZE (1024) bytes of body: a one-process nginx configured as
# bench/features.sh's gets one request (not traced: the zones, the
# connection), then gdb attaches, breaks on ngx_palloc, ngx_pnalloc,
# ngx_pcalloc and ngx_memalign, and prints size and return address of each
# while a second request, with another body, is answered.  The trace is
# kept in PT_OUT (default: $BENCH_TMP/pool-PATH.txt, printed at the end).
# nginx is stripped: its own callers print as "No symbol matches".

source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
source "$(dirname "${BASH_SOURCE[0]}")/../features_conf.sh"

PT_PATH=${PT_PATH:-all}
PT_SIZE=${PT_SIZE:-1024}

check_prereqs gdb curl node python3

PT_OUT=${PT_OUT:-$BENCH_TMP/pool-$PT_PATH.txt}

fe_bodies "$PT_SIZE" last

write_upstream_conf "$BENCH_TMP/upstream"
write_front_conf "$BENCH_TMP/front"
start_nginx upstream "$CLIENT_CPU"

d=$BENCH_TMP/front
"$NGINX" -p "$d/" -c "$d/nginx.conf" -e "$d/error.log" \
    -g 'daemon off; master_process off;' &
FRONT_PID=$!
trap 'kill -KILL "$FRONT_PID" 2>/dev/null || true; cleanup' EXIT

for _ in $(seq 100); do
    port_busy "$FRONT_PORT" && break
    sleep 0.1
done
port_busy "$FRONT_PORT" || die "nginx did not start: $(tail -3 "$d/error.log")"

body=$BENCH_TMP/body-$PT_SIZE.json
case $PT_PATH in rt|all) body=$BENCH_TMP/body-$PT_SIZE-alias.json ;; esac

request() {   # TAG
    sed "s/@UNIQ@/$1/" "$body" >"$BENCH_TMP/req.json"
    curl -s -o /dev/null -w '%{http_code}\n' -H 'Content-Type: application/json' \
        -H 'Authorization: Bearer sk-bench' -H 'X-Key: key-0001' \
        --data-binary @"$BENCH_TMP/req.json" \
        "$FRONT/${LOC[$PT_PATH]}/json/chat/completions"
}

[ "$(request warmup)" = 200 ] || die "the first request was not answered 200"

cat >"$BENCH_TMP/gdb.cmd" <<'G'
set pagination off
break ngx_palloc
commands
silent
printf "palloc %lu ", $rsi
info symbol *(void**)$rsp
continue
end
break ngx_pnalloc
commands
silent
printf "pnalloc %lu ", $rsi
info symbol *(void**)$rsp
continue
end
break ngx_pcalloc
commands
silent
printf "pcalloc %lu ", $rsi
info symbol *(void**)$rsp
continue
end
break ngx_memalign
commands
silent
printf "MEMALIGN %lu ", $rsi
info symbol *(void**)$rsp
continue
end
continue
G

gdb -p "$FRONT_PID" -batch -x "$BENCH_TMP/gdb.cmd" >"$PT_OUT" 2>&1 &
GDB_PID=$!

for _ in $(seq 100); do
    grep -q '^Breakpoint 4' "$PT_OUT" 2>/dev/null && break
    sleep 0.1
done
sleep 1

code=$(request traced)

sleep 1
kill -INT "$GDB_PID" 2>/dev/null || true
for _ in $(seq 50); do
    kill -0 "$GDB_PID" 2>/dev/null || break
    sleep 0.1
done
kill -KILL "$GDB_PID" 2>/dev/null || true
wait "$GDB_PID" 2>/dev/null || true

[ "$code" = 200 ] || die "the traced request was not answered 200 ($code)"

log "pool trace of $PT_PATH ($PT_SIZE B): $PT_OUT"
python3 "$(dirname "${BASH_SOURCE[0]}")/replay.py" "$PT_OUT"
