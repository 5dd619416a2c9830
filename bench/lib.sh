# Shared helpers for the bench/*.sh scripts (sourced, not run).
#
# Environment (all optional):
#   MODULE        the module to load (default build/ngx_http_llm_module.so)
#   NGINX         nginx binary (default /usr/sbin/nginx)
#   ECHO_MODULE   echo module for the mock upstreams
#   BENCH_PORT    first of the two loopback ports used: BENCH_PORT for the
#                 nginx under test, BENCH_PORT+1 for the mock upstream
#                 (default: the first free pair in 18090-18099)
#   BENCH_PIN     1 (default on >= 2 cores): the nginx under test on CPU 0,
#                 the upstream and the load generators on CPU 1; on >= 3
#                 cores the load generators on CPU 2, apart from the
#                 upstream's instance (start_pair)
#   BENCH_TMP     work directory (default: a fresh mktemp -d, removed at exit
#                 unless BENCH_KEEP=1)
#   BENCH_SUMMARY if set, a file the scripts append summary rows to (TSV)

set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$BENCH_DIR/.." && pwd)

MODULE=${MODULE:-$REPO/build/ngx_http_llm_module.so}
case $MODULE in /*) ;; *) MODULE=$PWD/$MODULE ;; esac
NGINX=${NGINX:-/usr/sbin/nginx}
ECHO_MODULE=${ECHO_MODULE:-/usr/lib/nginx/modules/ngx_http_echo_module.so}

# the first free pair in 18090-18099 unless BENCH_PORT is given
port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
if [ -z "${BENCH_PORT:-}" ]; then
    for p in 18090 18092 18094 18096 18098; do
        if ! port_busy $p && ! port_busy $((p + 1)); then
            BENCH_PORT=$p
            break
        fi
    done
    [ -n "${BENCH_PORT:-}" ] || { echo "bench: ports 18090-18099 are all in use; set BENCH_PORT" >&2; exit 1; }
    export BENCH_PORT
fi
FRONT_PORT=$BENCH_PORT
UP_PORT=$((BENCH_PORT + 1))
FRONT=http://127.0.0.1:$FRONT_PORT

if [ "$(nproc)" -ge 2 ] && [ "${BENCH_PIN:-1}" = 1 ]; then
    SERVER_CPU=0
    UPSTREAM_CPU=1
    CLIENT_CPU=1
    [ "$(nproc)" -lt 3 ] || CLIENT_CPU=2
else
    SERVER_CPU=all
    UPSTREAM_CPU=all
    CLIENT_CPU=all
fi

log() { printf '%s\n' "$*" >&2; }
die() { log "bench: $*"; exit 1; }

# run a command on a CPU set ("all": anywhere)
on_cpu() {
    local cpu=$1; shift
    if [ "$cpu" = all ]; then "$@"; else taskset -c "$cpu" "$@"; fi
}

check_prereqs() {
    [ -f "$MODULE" ] || die "no module at $MODULE (run make build, or set MODULE=)"
    [ -x "$NGINX" ] || die "no nginx at $NGINX"
    [ -f "$ECHO_MODULE" ] || die "no echo module at $ECHO_MODULE (apt-get install libnginx-mod-http-echo)"
    local c
    for c in "$@"; do
        command -v "$c" >/dev/null || die "$c is not installed"
    done
    ulimit -n 10000 2>/dev/null || ulimit -n "$(ulimit -Hn)"
}

# the work directory: shared with the caller when BENCH_TMP is exported
if [ -z "${BENCH_TMP:-}" ]; then
    BENCH_TMP=$(mktemp -d /tmp/llm-bench.XXXXXX)
    BENCH_TMP_OWNER=$$
    export BENCH_TMP
fi

STARTED_MASTERS=()

cleanup() {
    local pid
    for pid in "${STARTED_MASTERS[@]}"; do
        kill -TERM "$pid" 2>/dev/null || true
    done
    for pid in "${STARTED_MASTERS[@]}"; do
        wait_gone "$pid" || kill -KILL "$pid" 2>/dev/null || true
    done
    if [ "${BENCH_TMP_OWNER:-}" = $$ ] && [ "${BENCH_KEEP:-0}" != 1 ]; then
        rm -rf "$BENCH_TMP"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

wait_gone() {
    local i
    for i in $(seq 100); do
        [ -d /proc/$1 ] || return 0
        sleep 0.05
    done
    return 1
}

# ---------------------------------------------------------------------------
# nginx configurations

# The mock upstream (its own nginx instance): a fixed chat.completion, a
# timed stream (/sse: 20 events 50 ms apart), a one-event stream (/sse1)
# and a slow one (/hold: 20 events 1 s apart).  Every streamed event carries "t":$msec, the time the
# upstream wrote it (nginx's ms clock), for the transit latency.

sse_location() {   # NAME INTERVAL EVENTS
    local i
    echo "        location ~ /$1(/chat/completions)?\$ {"
    echo "            default_type text/event-stream;"
    echo "            echo_read_request_body;"
    for i in $(seq 0 $(($3 - 1))); do
        [ "$i" = 0 ] || echo "            echo_sleep $2;"
        echo "            echo -n 'data: {\"id\":\"chatcmpl-bench\",\"object\":\"chat.completion.chunk\",\"created\":1700000000,\"model\":\"gpt-4o-mini\",\"t\":\$msec,\"choices\":[{\"index\":0,\"delta\":{\"content\":\" token$i\"},\"finish_reason\":null}]}\\n\\n';"
        echo "            echo_flush;"
    done
    echo "            echo -n 'data: {\"id\":\"chatcmpl-bench\",\"object\":\"chat.completion.chunk\",\"created\":1700000000,\"model\":\"gpt-4o-mini\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\\n\\n';"
    echo "            echo -n 'data: {\"id\":\"chatcmpl-bench\",\"object\":\"chat.completion.chunk\",\"created\":1700000000,\"model\":\"gpt-4o-mini\",\"choices\":[],\"usage\":{\"prompt_tokens\":25,\"completion_tokens\":$3,\"total_tokens\":$((25 + $3))}}\\n\\n';"
    echo "            echo -n 'data: [DONE]\\n\\n';"
    echo "        }"
}

CHAT_JSON='{"id":"chatcmpl-bench","object":"chat.completion","created":1700000000,"model":"gpt-4o-mini","choices":[{"index":0,"message":{"role":"assistant","content":"The gateway adds no hop: it parses the request in the worker, routes it by model and counts the usage reported by the provider."},"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":25,"completion_tokens":27,"total_tokens":52},"system_fingerprint":"fp_bench"}'

common_conf() {   # DIR
    cat <<EOF
worker_processes  1;
worker_rlimit_nofile  10000;
error_log  $1/error.log  warn;
pid        $1/nginx.pid;

events {
    worker_connections  4096;
}
EOF
}

common_http() {   # DIR
    cat <<EOF
    access_log  off;
    client_body_temp_path  $1/body;
    proxy_temp_path        $1/proxy;
    fastcgi_temp_path      $1/fastcgi;
    uwsgi_temp_path        $1/uwsgi;
    scgi_temp_path         $1/scgi;
    client_body_buffer_size  64k;
    client_max_body_size     1m;
    keepalive_requests       1000000;
EOF
}

write_upstream_conf() {   # DIR
    local d=$1
    mkdir -p "$d"
    {
        echo "load_module $ECHO_MODULE;"
        common_conf "$d"
        echo "http {"
        common_http "$d"
        cat <<EOF
    server {
        listen  127.0.0.1:$UP_PORT backlog=4096;
        default_type  application/json;

        location ~ /json(/chat/completions)?\$ {
            return 200 '$CHAT_JSON';
        }

EOF
        sse_location sse 0.05 20
        echo
        sse_location sse1 0 1
        echo
        sse_location hold 1 20
        echo "    }"
        printf '%s\n' "${UP_EXTRA:-}"
        echo "}"
    } >"$d/nginx.conf"
}

# The nginx under test: /gw/ through the module, /plain/ plain proxy_pass
# (default buffering, for JSON answers), /plain/stream/ plain proxy_pass
# with proxy_buffering off (for streams).  Same instance, same upstream
# pool with keepalive, same proxy settings.
#
# Hooks for the benchmarks that need more (empty by default): UP_EXTRA
# (http-level text of the upstream instance, e.g. another server),
# FRONT_HTTP_EXTRA (http-level directives of the nginx under test) and
# FRONT_SERVER_EXTRA (more locations in its server).

write_front_conf() {   # DIR
    local d=$1
    mkdir -p "$d"
    {
        echo "load_module $MODULE;"
        common_conf "$d"
        echo "http {"
        common_http "$d"
        cat <<EOF

    llm_model  gpt-4o-mini  upstream=bench_up  input=0.15  output=0.60;
${FRONT_HTTP_EXTRA:-}
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

        location /plain/stream/ {
            proxy_pass       http://bench_up;
            proxy_buffering  off;
        }
${FRONT_SERVER_EXTRA:-}
    }
}
EOF
    } >"$d/nginx.conf"
}

# ---------------------------------------------------------------------------
# instances

# start_nginx NAME CPU: starts the instance configured in $BENCH_TMP/NAME,
# sets MASTER_PID and WORKER_PID
start_nginx() {
    local d=$BENCH_TMP/$1 i
    rm -f "$d/nginx.pid"
    on_cpu "$2" "$NGINX" -p "$d/" -c "$d/nginx.conf" -e "$d/error.log" \
        || die "nginx $1 did not start: $(tail -3 "$d/error.log")"
    for i in $(seq 100); do
        [ -s "$d/nginx.pid" ] && break
        sleep 0.05
    done
    MASTER_PID=$(cat "$d/nginx.pid")
    STARTED_MASTERS+=("$MASTER_PID")
    WORKER_PID=
    for i in $(seq 100); do
        WORKER_PID=$(pgrep -P "$MASTER_PID" | head -1 || true)
        [ -n "$WORKER_PID" ] && break
        sleep 0.05
    done
    [ -n "$WORKER_PID" ] || die "nginx $1: no worker"
}

stop_nginx() {   # MASTER_PID
    local pid=$1 p rest=()
    kill -TERM "$pid" 2>/dev/null || true
    wait_gone "$pid" || kill -KILL "$pid" 2>/dev/null || true
    for p in "${STARTED_MASTERS[@]}"; do
        [ "$p" = "$pid" ] || rest+=("$p")
    done
    STARTED_MASTERS=("${rest[@]}")
}

# both instances, fresh; sets FRONT_MASTER FRONT_WORKER UP_MASTER UP_WORKER
start_pair() {
    write_upstream_conf "$BENCH_TMP/upstream"
    write_front_conf "$BENCH_TMP/front"
    start_nginx upstream "$UPSTREAM_CPU"
    UP_MASTER=$MASTER_PID UP_WORKER=$WORKER_PID
    start_nginx front "$SERVER_CPU"
    FRONT_MASTER=$MASTER_PID FRONT_WORKER=$WORKER_PID
}

stop_pair() {
    stop_nginx "$FRONT_MASTER"
    stop_nginx "$UP_MASTER"
}

# a chat completion request body of about SIZE bytes: make_body SIZE STREAM
make_body() {
    node "$BENCH_DIR/make_body.mjs" "$1" "$2"
}

# one POST through each side must succeed before measuring
smoke() {   # PATH-SUFFIX BODY-FILE
    local side code
    for side in gw plain; do
        code=$(curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' \
               --data-binary @"$2" "$FRONT/$side/$1/chat/completions")
        [ "$code" = 200 ] || die "smoke test: POST /$side/$1 answered $code ($(tail -3 "$BENCH_TMP/front/error.log"))"
    done
}

# worker CPU time in clock ticks (utime + stime)
cpu_ticks() {
    awk '{ print $14 + $15 }' "/proc/$1/stat"
}

median() {   # numbers on stdin
    sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) { print "nan"; exit }
        if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

quartiles() {   # numbers on stdin: "Q1 … Q3" (signed, no decimals)
    sort -g | awk '{ v[NR] = $1 }
        function q(f,   x, i) { x = 1 + (NR - 1) * f; i = int(x); return v[i] + (x - i) * (v[i + 1] - v[i]) }
        END { if (NR == 0) { print "nan"; exit } printf "%+.0f … %+.0f\n", q(0.25), q(0.75) }'
}

summary_row() {   # WHAT GATEWAY PLAIN COMPARISON
    if [ -n "${BENCH_SUMMARY:-}" ]; then
        printf '%s\t%s\t%s\t%s\n' "$@" >>"$BENCH_SUMMARY"
    fi
}
