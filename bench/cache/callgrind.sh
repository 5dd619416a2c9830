#!/usr/bin/env bash
# The cache's cost in instructions per request: the nginx under test runs
# under valgrind --tool=callgrind (one process, master_process off), the
# mock upstream of bench/lib.sh answers its chat.completion; after a
# warm-up, the counters are zeroed, N requests are sent one after the other
# on one keep-alive connection, and the counters dumped.  Instruction
# counts do not depend on the machine's load, unlike times.
#
#   bash bench/cache/callgrind.sh                  /gw/ and /cm/, 1 KB
#   CG_PATHS="gw cm" CG_N=200 CG_SIZE=16384 bash bench/cache/callgrind.sh
#
# Paths (as bench/features.sh's): gw, llm_gateway alone; cm, + llm_cache,
# every body different (a miss and a store); ch, + llm_cache, the same body
# every time (hits).  The bodies are bench/make_body.mjs's with a tag of
# letters in the last message (bench/wrk_features.lua's), Authorization
# (the cache's scope) and X-Key headers.
#
# valgrind runs the code OpenSSL picks on its CPU, not the host's: without
# the SHA extensions (SHA-NI), the key's SHA-256 counts several times the
# instructions it takes on a CPU that has them (see docs/benchmarks.md 7c).
#
# Environment: CG_PATHS ("gw cm"), CG_N (200 requests), CG_WARM (50),
# CG_SIZE (1024 bytes), CG_OUT (a directory to keep the callgrind files
# in, for callgrind_annotate), and those of bench/lib.sh.

source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

CG_PATHS=${CG_PATHS:-gw cm}
CG_N=${CG_N:-200}
CG_WARM=${CG_WARM:-50}
CG_SIZE=${CG_SIZE:-1024}

check_prereqs valgrind callgrind_control python3 node curl

BODY=$BENCH_TMP/body.json
make_body "$CG_SIZE" 0 | node -e '
    let s = "";
    process.stdin.on("data", d => s += d).on("end", () => {
        const b = JSON.parse(s), m = b.messages[b.messages.length - 1];
        m.content += " @UNIQ@";
        process.stdout.write(JSON.stringify(b));
    });' >"$BODY"

# client PATH N START UNIQUE: N requests on one connection
client() {
    python3 - "$FRONT_PORT" "$1" "$2" "$3" "$4" "$BODY" <<'EOF'
import http.client, sys
port, path, n, start, unique, body = sys.argv[1:7]
body = open(body, 'rb').read()
def letters(k):
    return ''.join(chr(97 + (k // 26 ** i) % 26) for i in range(7, -1, -1))
c = http.client.HTTPConnection('127.0.0.1', int(port))
bad = 0
for i in range(int(start), int(start) + int(n)):
    tag = ('cgcgcgcg ' + letters(i)) if unique == '1' else 'same tagsametag'
    c.request('POST', path, body.replace(b'@UNIQ@', tag.encode()),
              {'Content-Type': 'application/json',
               'Authorization': 'Bearer sk-bench',
               'X-Key': 'key-%04d' % (i % 1000)})
    r = c.getresponse()
    r.read()
    bad += r.status != 200
if bad:
    sys.exit('%d answers were not 200' % bad)
EOF
}

write_upstream_conf "$BENCH_TMP/upstream"
start_nginx upstream all

for p in $CG_PATHS; do
    case $p in
    gw) unique=1 ;;
    cm) unique=1 ;;
    ch) unique=0 ;;
    *)  die "unknown path '$p' (gw, cm or ch)" ;;
    esac

    d=$BENCH_TMP/front-$p
    mkdir -p "$d"
    {
        echo "load_module $MODULE;"
        echo "master_process off;"
        echo "daemon off;"
        common_conf "$d"
        echo "http {"
        common_http "$d"
        cat <<EOF
    llm_model  gpt-4o-mini  upstream=bench_up  input=0.15  output=0.60;
    llm_cache_zone  zone=cg:64m  ttl=1h;

    upstream bench_up {
        server  127.0.0.1:$UP_PORT;
        keepalive  64;
        keepalive_requests  1000000;
    }

    server {
        listen  127.0.0.1:$FRONT_PORT;

        proxy_http_version  1.1;
        proxy_set_header    Connection "";

        location /gw/ {
            llm_gateway  openai;
            proxy_pass   http://\$llm_upstream;
        }

        location /cm/ {
            llm_gateway  openai;
            llm_cache    cg;
            proxy_pass   http://\$llm_upstream;
        }

        location /ch/ {
            llm_gateway  openai;
            llm_cache    cg;
            proxy_pass   http://\$llm_upstream;
        }
    }
}
EOF
    } >"$d/nginx.conf"

    valgrind --tool=callgrind --callgrind-out-file="$d/callgrind.out" \
        "$NGINX" -p "$d/" -c "$d/nginx.conf" -e "$d/error.log" \
        2>"$d/valgrind.log" &
    vg=$!

    for i in $(seq 200); do
        curl -s -o /dev/null "$FRONT/$p/" && break
        sleep 0.1
    done

    client "/$p/json/chat/completions" "$CG_WARM" 1000000 "$unique" \
        || die "$p: the warm-up failed"
    callgrind_control -z "$vg" >/dev/null 2>&1
    client "/$p/json/chat/completions" "$CG_N" 0 "$unique" \
        || die "$p: the requests failed"
    callgrind_control -d "$vg" >/dev/null 2>&1
    kill "$vg"
    wait "$vg" 2>/dev/null || true

    out=$(ls "$d"/callgrind.out.* | head -1)
    ir=$(awk '/^summary:/ { print $2; exit }' "$out")
    printf '%-3s %6s bytes  %d requests  %d instructions per request\n' \
        "$p" "$(wc -c <"$BODY")" "$CG_N" "$((ir / CG_N))"

    if [ -n "${CG_OUT:-}" ]; then
        mkdir -p "$CG_OUT"
        cp "$out" "$CG_OUT/callgrind.$p.out"
    fi
done
