#!/usr/bin/env bash
# Worker time of redaction on hostile inputs, through nginx.
#
#   bash bench/redact/hostile.sh          (MODULE=... NGINX=... to override)
#
# One nginx, one worker (CPU 0 when there are two cores).  Two cases:
#
#   tokenize  one prompt with N distinct e-mail addresses, to a location
#             with llm_redact request response; llm_redact_mode tokenize;
#             llm_redact_max_values 999999 (the bound would refuse it
#             otherwise), against mask mode on the same body, and the
#             default bound (10000: a 400);
#   strings   a body with S short strings (metadata tags): the cost of
#             scanning every string, mask mode against no redaction;
#   pem       a streamed answer whose text is "-----BEGIN PRIVATE KEY-----"
#             followed by E events of four characters each (a key block
#             that never ends), to a location with llm_redact response.
#
# The mock upstream is a static file served by the same nginx.  Each figure
# is the median of HB_ROUNDS (3) curl timings (time_total, seconds): the
# request is the only one on the worker, so it is the worker's time.
# Environment: HB_ROUNDS, HB_PORT (18290), HB_N ("30000 60000 120000
# 240000"), HB_E ("4000 8000 16000"), HB_S ("100000 1000000").

set -euo pipefail

DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$DIR/../.." && pwd)
MODULE=${MODULE:-$REPO/build/ngx_http_llm_module.so}
case $MODULE in /*) ;; *) MODULE=$PWD/$MODULE ;; esac
NGINX=${NGINX:-/usr/sbin/nginx}
ROUNDS=${HB_ROUNDS:-3}
PORT=${HB_PORT:-18290}
UP=$((PORT + 1))
NS=${HB_N:-30000 60000 120000 240000}
ES=${HB_E:-4000 8000 16000}
SS=${HB_S:-100000 1000000}

TMP=$(mktemp -d)
[ -n "${HB_KEEP:-}" ] || trap '[ -f "$TMP/logs/nginx.pid" ] && kill "$(cat "$TMP/logs/nginx.pid")" 2>/dev/null; sleep 0.2; rm -rf "$TMP"' EXIT

for t in curl python3; do
    command -v $t >/dev/null || { echo "hostile.sh: $t is needed" >&2; exit 1; }
done

AFFINITY=""
[ "$(nproc)" -ge 2 ] && AFFINITY="worker_cpu_affinity 01;"

mkdir -p "$TMP/logs" "$TMP/conf" "$TMP/html"
chmod 755 "$TMP" "$TMP/html"    # the worker may run as another user

# the bodies: prompts with N addresses, streams with E events
python3 - "$TMP/html" "$NS" "$ES" "$SS" <<'EOF'
import json, sys
out, ns, es, ss = sys.argv[1], sys.argv[2].split(), sys.argv[3].split(), sys.argv[4].split()
for n in ss:
    body = {"model": "m", "messages": [{"role": "user", "content": "hi"}],
            "metadata": {"tags": ["t%d" % (i % 10) for i in range(int(n))]}}
    open("%s/strings-%s.json" % (out, n), "w").write(json.dumps(body))
for n in ns:
    text = " ".join("user%d@example.com" % i for i in range(int(n)))
    body = {"model": "m", "messages": [{"role": "user", "content": text}]}
    open("%s/prompt-%s.json" % (out, n), "w").write(json.dumps(body))
def ev(t):
    return 'data: {"id":"c","choices":[{"index":0,"delta":{"content":%s},"finish_reason":null}]}\n\n' % json.dumps(t)
for e in es:
    with open("%s/pem-%s.txt" % (out, e), "w") as f:
        f.write(ev("Here: -----BEGIN PRIVATE KEY-----\n"))
        for i in range(int(e)):
            f.write(ev("AbC%d" % (i % 10)))
        f.write('data: {"id":"c","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}\n\n')
        f.write("data: [DONE]\n\n")
EOF

cat >"$TMP/conf/nginx.conf" <<EOF
load_module $MODULE;
worker_processes 1;
$AFFINITY
error_log logs/error.log warn;
pid logs/nginx.pid;
events { worker_connections 64; }
http {
    access_log off;
    client_body_temp_path $TMP/body;
    proxy_temp_path $TMP/proxy;
    client_max_body_size 64m;
    client_body_buffer_size 64m;

    server {
        listen 127.0.0.1:$UP;
        root $TMP/html;

        location /answer/ {
            default_type application/json;
            return 200 '{"id":"c","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"Done: [EMAIL_1]."},"finish_reason":"stop"}],"usage":{"prompt_tokens":5,"completion_tokens":2,"total_tokens":7}}';
        }

        location /pem/ {
            default_type text/event-stream;
            rewrite ^/pem/(.*)\$ /\$1 break;
        }
    }

    server {
        listen 127.0.0.1:$PORT;

        location /tokenize/ {
            llm_gateway openai;
            llm_redact request response;
            llm_redact_mode tokenize;
            llm_redact_max_values 999999;
            proxy_pass http://127.0.0.1:$UP/answer/;
        }

        location /bounded/ {
            llm_gateway openai;
            llm_redact request response;
            llm_redact_mode tokenize;
            proxy_pass http://127.0.0.1:$UP/answer/;
        }

        location /plain/ {
            llm_gateway openai;
            proxy_pass http://127.0.0.1:$UP/answer/;
        }

        location /mask/ {
            llm_gateway openai;
            llm_redact request response;
            proxy_pass http://127.0.0.1:$UP/answer/;
        }

        location /pem/ {
            llm_gateway openai;
            llm_redact response;
            proxy_method GET;
            proxy_pass http://127.0.0.1:$UP/pem/;
        }
    }
}
EOF

# a build before llm_redact_max_values: without it (no bound there)
if ! "$NGINX" -t -q -p "$TMP/" -c conf/nginx.conf 2>/dev/null; then
    sed -i '/llm_redact_max_values/d' "$TMP/conf/nginx.conf"
fi

"$NGINX" -p "$TMP/" -c conf/nginx.conf
sleep 0.3

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

# time of one request: curl's time_total, the median of ROUNDS
timed() {
    local i
    for i in $(seq "$ROUNDS"); do
        curl -s -o /dev/null --max-time 300 -w '%{time_total}\n' "$@"
    done | median
}

echo "module: $MODULE"
echo
echo "| distinct e-mail addresses | tokenize s | mask s | status (tokenize) | default bound: s, status |"
echo "|---:|---:|---:|---|---|"
for n in $NS; do
    f=$TMP/html/prompt-$n.json
    status=$(curl -s -o /dev/null -w '%{http_code}' --max-time 300 \
             -H 'Content-Type: application/json' --data-binary @"$f" \
             "http://127.0.0.1:$PORT/tokenize/v1/chat/completions")
    t=$(timed -H 'Content-Type: application/json' --data-binary @"$f" \
        "http://127.0.0.1:$PORT/tokenize/v1/chat/completions")
    m=$(timed -H 'Content-Type: application/json' --data-binary @"$f" \
        "http://127.0.0.1:$PORT/mask/v1/chat/completions")
    b=$(curl -s -o /dev/null -w '%{time_total}, %{http_code}' --max-time 300 \
        -H 'Content-Type: application/json' --data-binary @"$f" \
        "http://127.0.0.1:$PORT/bounded/v1/chat/completions")
    echo "| $n | $t | $m | $status | $b |"
done

echo
echo "| short strings in the body | mask s | no redaction s |"
echo "|---:|---:|---:|"
for n in $SS; do
    f=$TMP/html/strings-$n.json
    m=$(timed -H 'Content-Type: application/json' --data-binary @"$f" \
        "http://127.0.0.1:$PORT/mask/v1/chat/completions")
    p=$(timed -H 'Content-Type: application/json' --data-binary @"$f" \
        "http://127.0.0.1:$PORT/plain/v1/chat/completions")
    echo "| $n | $m | $p |"
done

echo
echo "| four-byte events in an open key block | stream s |"
echo "|---:|---:|"
for e in $ES; do
    t=$(timed -H 'Content-Type: application/json' \
        -d '{"model":"m","stream":true,"messages":[{"role":"user","content":"key?"}]}' \
        "http://127.0.0.1:$PORT/pem/pem-$e.txt")
    echo "| $e | $t |"
done
