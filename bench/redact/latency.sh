#!/usr/bin/env bash
# Added latency of redaction per request, through nginx.
#
#   bash bench/redact/latency.sh         (MODULE=... NGINX=... to override)
#
# One nginx (worker_processes 1, pinned to CPU 0): /plain/ with
# llm_gateway openai, /mask/ with llm_redact request (mask), /redact/ with
# llm_redact request response and llm_redact_mode tokenize (the answer is
# held, scanned and its placeholders restored), all proxying to a second
# server block that
# answers a fixed chat.completion carrying two placeholders.  wrk (CPU 1)
# POSTs a ~2 KB prompt with an e-mail address, a phone number and a card
# number; one connection for latency, 16 for throughput; the locations
# alternate, RL_ROUNDS rounds each; medians are printed as a markdown table.
#
# Environment: RL_ROUNDS (5), RL_DURATION (3 s), RL_PORT (18190).

set -euo pipefail

DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$DIR/../.." && pwd)
MODULE=${MODULE:-$REPO/build/ngx_http_llm_module.so}
NGINX=${NGINX:-/usr/sbin/nginx}
RL_ROUNDS=${RL_ROUNDS:-5}
RL_DURATION=${RL_DURATION:-3}
PORT=${RL_PORT:-18190}
UP=$((PORT + 1))

TMP=$(mktemp -d)
trap '[ -f "$TMP/logs/nginx.pid" ] && kill "$(cat "$TMP/logs/nginx.pid")" 2>/dev/null; sleep 0.2; rm -rf "$TMP"' EXIT

for t in wrk curl taskset; do
    command -v $t >/dev/null || { echo "latency.sh: $t is needed" >&2; exit 1; }
done

mkdir -p "$TMP/logs" "$TMP/conf"

cat >"$TMP/conf/nginx.conf" <<EOF
load_module $MODULE;
worker_processes 1;
worker_cpu_affinity 01;
error_log logs/error.log warn;
pid logs/nginx.pid;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path $TMP/body;
    proxy_temp_path $TMP/proxy;

    upstream up {
        server 127.0.0.1:$UP;
        keepalive 32;
    }

    server {
        listen 127.0.0.1:$UP;
        location / {
            default_type application/json;
            return 200 '{"id":"c","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"I will write to [EMAIL_1] and call [PHONE_1] today."},"finish_reason":"stop"}],"usage":{"prompt_tokens":500,"completion_tokens":12,"total_tokens":512}}';
        }
    }

    server {
        listen 127.0.0.1:$PORT;

        location /plain/ {
            llm_gateway openai;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_pass http://up/;
        }

        location /mask/ {
            llm_gateway openai;
            llm_redact request;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_pass http://up/;
        }

        location /redact/ {
            llm_gateway openai;
            llm_redact request response;
            llm_redact_mode tokenize;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_pass http://up/;
        }
    }
}
EOF

# a ~2 KB prompt: prose with three values
python3 - >"$TMP/body.json" <<'EOF'
import json
prose = ("I am planning a trip next month and need help with the itinerary. "
         "We want to see museums, eat well and avoid long queues. ") * 12
text = (prose + "You can reach me at jane.roe@example.com or +1 (415) "
        "555-0100, and please book with card 4111 1111 1111 1111.")
print(json.dumps({"model": "gpt-4o-mini", "messages": [
    {"role": "system", "content": "You are a helpful travel agent."},
    {"role": "user", "content": text}]}))
EOF

taskset -c 0 "$NGINX" -p "$TMP/" -c conf/nginx.conf
sleep 0.3

out=$(curl -s "http://127.0.0.1:$PORT/redact/v1/chat/completions" \
      -H 'Content-Type: application/json' --data-binary @"$TMP/body.json")
case $out in
    *"jane.roe@example.com and call +1 (415) 555-0100"*) ;;
    *) echo "latency.sh: unexpected answer: $out" >&2; exit 1 ;;
esac

run() {   # LOCATION CONNS: "rps p50_us p99_us"
    BODY_FILE=$TMP/body.json taskset -c 1 wrk -t1 -c"$2" -d"$RL_DURATION"s \
        -s "$REPO/bench/wrk_post.lua" \
        "http://127.0.0.1:$PORT/$1/v1/chat/completions" \
    | awk '/^RESULT/ {
        for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
        if (v["errors"] > 0) { print "errors" > "/dev/stderr"; exit 1 }
        print v["rps"], v["p50_us"], v["p99_us"] }'
}

RAW=$TMP/raw
: >"$RAW"

for conns in 1 16; do
    for loc in plain mask redact; do
        run $loc "$conns" >/dev/null
    done
    for round in $(seq "$RL_ROUNDS"); do
        for loc in plain mask redact; do
            echo "$conns $loc $(run "$loc" "$conns")" >>"$RAW"
        done
    done
done

med() {   # CONNS LOCATION COLUMN
    awk -v c="$1" -v l="$2" -v k="$3" '$1 == c && $2 == l { print $k }' "$RAW" \
    | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'
}

echo "| connections | location | requests/s | p50 us | p99 us |"
echo "|---:|---|---:|---:|---:|"
for conns in 1 16; do
    for loc in plain mask redact; do
        echo "| $conns | /$loc/ | $(med "$conns" "$loc" 3) | $(med "$conns" "$loc" 4) | $(med "$conns" "$loc" 5) |"
    done
done
echo
echo "added p50 latency, one connection: request only (mask)" \
     "$(( $(med 1 mask 4) - $(med 1 plain 4) )) us," \
     "request and answer (tokenize) $(( $(med 1 redact 4) - $(med 1 plain 4) )) us"
