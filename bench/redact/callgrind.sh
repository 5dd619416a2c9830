#!/usr/bin/env bash
# Instructions per request of the redaction paths through nginx, counted by
# callgrind (robust on a machine shared with other jobs, unlike timings).
#
#   bash bench/redact/callgrind.sh                 (MODULE=... for another .so)
#   CG_SIZES="1024 16384" CG_PATHS="plain gw rq rr" CG_N=200 bash bench/redact/callgrind.sh
#   CG_START=600 ...                               (wait longer for nginx to start)
#
# One nginx under test, run under valgrind --tool=callgrind as a single
# process (master_process off), with the locations of bench/features.sh:
#
#   plain  /plain/  proxy_pass only
#   gw     /gw/     llm_gateway openai
#   rq     /rq/     + llm_redact request (mask, every type)
#   rr     /rr/     + llm_redact request response
#   pii    /rq/     the same as rq, the body with an e-mail address, a phone
#                   number and a card number in the last message (redacted:
#                   the body is rewritten)
#   ss     /gws/    a streamed answer (20 events) through llm_gateway
#   rs     /rs/     + llm_redact request response, the same stream
#
# The bodies are bench/features.sh's (bench/make_body.mjs, no personal
# data: nothing is redacted on rq and rr).  Per path: CG_WARM requests,
# a dump (discarded), CG_N requests on one keep-alive connection (one curl),
# a dump; instructions per request = the dump's total / CG_N (the worker's
# whole work: the HTTP parsing, the upstream connection, the module).
# Prints a markdown table; CG_KEEP=1 keeps the dumps (callgrind_annotate
# them) in $BENCH_TMP.

source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

CG_SIZES=${CG_SIZES:-"1024 16384"}
CG_PATHS=${CG_PATHS:-"plain gw rq rr"}
CG_N=${CG_N:-200}
CG_WARM=${CG_WARM:-20}

check_prereqs node curl valgrind callgrind_control

declare -A LOC=([plain]=plain [gw]=gw [rq]=rq [rr]=rr [pii]=rq [ss]=gws
                [rs]=rs)
declare -A UPATH=([plain]=json [gw]=json [rq]=json [rr]=json [pii]=json
                  [ss]=sse1 [rs]=sse1)

FRONT_SERVER_EXTRA="
        location = /cg-poke {
            return  204;
        }

        location /rq/ {
            llm_gateway  openai;
            llm_redact   request;
            proxy_pass   http://\$llm_upstream;
        }

        location /rr/ {
            llm_gateway  openai;
            llm_redact   request response;
            proxy_pass   http://\$llm_upstream;
        }

        location /gws/ {
            llm_gateway  openai;
            proxy_pass   http://\$llm_upstream;
        }

        location /rs/ {
            llm_gateway  openai;
            llm_redact   request response;
            proxy_pass   http://\$llm_upstream;
        }
"

# the upstream: bench/lib.sh's, with a 20-event stream without pauses
UP_EXTRA=""
write_upstream_conf "$BENCH_TMP/upstream"
sse_location sse20 0 20 >"$BENCH_TMP/sse20.conf"
sed -i "/location ~ \/sse1/e cat $BENCH_TMP/sse20.conf" "$BENCH_TMP/upstream/nginx.conf"
UPATH[ss]=sse20
UPATH[rs]=sse20
start_nginx upstream "$CLIENT_CPU"
UP_MASTER=$MASTER_PID

write_front_conf "$BENCH_TMP/front"
sed -i '1a master_process off;\ndaemon off;' "$BENCH_TMP/front/nginx.conf"

d=$BENCH_TMP/front
VG=(valgrind --tool=callgrind --compress-strings=no --callgrind-out-file="$d/cg.out"
    "$NGINX" -p "$d/" -c "$d/nginx.conf" -e "$d/error.log")
if [ "$SERVER_CPU" = all ]; then
    "${VG[@]}" 2>"$d/valgrind.log" &
else
    taskset -c "$SERVER_CPU" "${VG[@]}" 2>"$d/valgrind.log" &
fi
VG_PID=$!      # taskset and valgrind exec: the pid of the process profiled
trap 'kill -TERM $VG_PID 2>/dev/null || true; wait $VG_PID 2>/dev/null || true; cleanup' EXIT

# nginx compiles the redaction databases under valgrind first: on a loaded
# machine that takes more than the default minute (CG_START, seconds)
for i in $(seq $((${CG_START:-60} * 10))); do
    port_busy "$FRONT_PORT" && break
    kill -0 $VG_PID 2>/dev/null || die "nginx under callgrind exited: $(tail -5 "$d/error.log" "$d/valgrind.log")"
    sleep 0.1
done
port_busy "$FRONT_PORT" || die "nginx under callgrind did not start"

# A dump is taken when the process next runs (vgdb cannot interrupt the
# worker asleep in epoll_wait here): the request is sent, then a trivial
# request (/cg-poke, "return 204") wakes the worker up.  Each dump so holds
# the batch and one poke (a few thousand instructions: under 1 % of the
# lightest path's figure at CG_N=200).
dump() {   # NAME: dumps the counters since the last dump, prints the file
    local f i c
    callgrind_control --dump="$1" $VG_PID >"$d/control.log" 2>&1 &
    c=$!
    for i in $(seq 100); do
        sleep 0.2
        curl -s -o /dev/null "$FRONT/cg-poke"
        f=$(grep -l "^desc: Trigger: dump $1\$" "$d"/cg.out.* 2>/dev/null || true)
        [ -n "$f" ] && grep -q '^totals:' "$f" && break
    done
    wait $c || die "callgrind_control: $(cat "$d/control.log")"
    [ -n "$f" ] || die "no dump $1"
    echo "$f"
}

posts() {   # PATH BODY N
    local urls=() i
    for i in $(seq "$3"); do
        urls+=(-o /dev/null "$FRONT/${LOC[$1]}/${UPATH[$1]}/chat/completions")
    done
    curl -s -w '%{http_code}\n' -H 'Content-Type: application/json' \
        -H 'Authorization: Bearer sk-bench' --data-binary @"$2" "${urls[@]}" \
        | sort | uniq -c | awk '{ printf "%s×%s ", $2, $1 }'
}

echo "| body | path | requests | statuses | instructions/request |"
echo "|---:|---|---:|---|---:|"

for size in $CG_SIZES; do
    body=$BENCH_TMP/body-$size.json
    make_body "$size" 0 | node -e '
        let s = "";
        process.stdin.on("data", d => s += d).on("end", () => {
            const b = JSON.parse(s), m = b.messages[b.messages.length - 1];
            m.content += " smoke aaaaaaaa";
            process.stdout.write(JSON.stringify(b));
        });' >"$body"
    sed 's/ smoke aaaaaaaa"/ mail jane.doe@example.com, call +44 20 7946 0958, card 4111 1111 1111 1111"/' \
        "$body" >"$BENCH_TMP/body-$size-pii.json"
    sed 's/"max_tokens":512,/"max_tokens":512,"stream":true,/' "$body" >"$BENCH_TMP/body-$size-stream.json"

    for p in $CG_PATHS; do
        b=$body
        case $p in
        pii)   b=$BENCH_TMP/body-$size-pii.json ;;
        ss|rs) b=$BENCH_TMP/body-$size-stream.json ;;
        esac
        posts "$p" "$b" "$CG_WARM" >/dev/null
        dump "warm-$p-$size" >/dev/null
        st=$(posts "$p" "$b" "$CG_N")
        f=$(dump "$p-$size")
        ir=$(awk '/^totals:/ { print $2 }' "$f")
        printf '| %s | %s | %s | %s | %s |\n' "$(wc -c <"$b")" "$p" "$CG_N" "$st" \
            "$(awk -v t="$ir" -v n="$CG_N" 'BEGIN { printf "%.0f", t / n }')"
        [ "${CG_KEEP:-0}" = 1 ] && cp "$f" "$BENCH_TMP/cg-$p-$size.out"
    done
done

kill -TERM $VG_PID 2>/dev/null || true
wait $VG_PID 2>/dev/null || true
stop_nginx "$UP_MASTER"
