# The nginx configuration of bench/features.sh's paths, its request bodies,
# the order of its paths in a round and its wrk runner, shared with
# bench/callgrind.sh and bench/throughput.sh (sourced after lib.sh:
# BENCH_TMP; FE_CACHE_ZONE, the size of each of the two miss zones, 64m by
# default; FE_KEYS, the X-Keys drawn from, 1000 by default).

FE_CACHE_ZONE=${FE_CACHE_ZONE:-64m}
FE_KEYS=${FE_KEYS:-1000}

declare -A LOC=([plain]=plain [gw]=gw [aa]=gw [bu]=bu [rt]=gw [rq]=rq [rr]=rr
                [cm]=cm [ch]=ch [lg]=lg [lb]=lb [all]=all)

HUGE_TOKENS=1000000000000   # 1e12 tokens an hour: never refused

LOG_FORMAT=$(cat <<'EOF'
    log_format  llm_json  escape=json
        '{"time":"$time_iso8601","request_id":"$request_id",'
        '"remote_addr":"$remote_addr","request":"$request_method $uri",'
        '"status":$status,"request_time":$request_time,'
        '"upstream_addr":"$upstream_addr","upstream_status":"$upstream_status",'
        '"requested_model":"$llm_requested_model","route":"$llm_route",'
        '"model":"$llm_model","upstream":"$llm_upstream",'
        '"attempts":"$llm_attempts","shadow":"$llm_shadow",'
        '"stream":"$llm_stream","prompt_tokens":"$llm_prompt_tokens",'
        '"completion_tokens":"$llm_completion_tokens",'
        '"total_tokens":"$llm_total_tokens","tokens_source":"$llm_tokens_source",'
        '"cost":"$llm_cost","ttft_ms":"$llm_ttft",'
        '"budget_remaining":"$llm_budget_remaining",'
        '"cache":"$llm_cache_status","redactions":"$llm_redactions"}';
EOF
)

FRONT_HTTP_EXTRA="
    llm_model  gpt-4o  upstream=bench_up  input=2.50  output=10.00;

    llm_route  mini-canary  { gpt-4o-mini 3; gpt-4o 1; }

    llm_budget_zone  \$http_x_key  zone=fe_budget:4m      tokens=$HUGE_TOKENS/h;
    llm_budget_zone  \$http_x_key  zone=fe_budget_all:4m  tokens=$HUGE_TOKENS/h;

    llm_cache_zone  zone=fe_miss:$FE_CACHE_ZONE  ttl=1h;
    llm_cache_zone  zone=fe_hit:1m            ttl=1h;
    llm_cache_zone  zone=fe_all:$FE_CACHE_ZONE   ttl=1h;

$LOG_FORMAT
"
FRONT_SERVER_EXTRA="
        location /bu/ {
            llm_gateway  openai;
            llm_budget   fe_budget;
            proxy_pass   http://\$llm_upstream;
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

        location /cm/ {
            llm_gateway  openai;
            llm_cache    fe_miss;
            proxy_pass   http://\$llm_upstream;
        }

        location /ch/ {
            llm_gateway  openai;
            llm_cache    fe_hit;
            proxy_pass   http://\$llm_upstream;
        }

        location /lg/ {
            llm_gateway  openai;
            access_log   $BENCH_TMP/front/lg.json.log  llm_json;
            proxy_pass   http://\$llm_upstream;
        }

        # not in the default set of paths: lg's log, written through a
        # buffer (one write() per 64 KB instead of one per request)
        location /lb/ {
            llm_gateway  openai;
            access_log   $BENCH_TMP/front/lb.json.log  llm_json  buffer=64k  flush=1s;
            proxy_pass   http://\$llm_upstream;
        }

        location /all/ {
            llm_gateway  openai;
            llm_budget   fe_budget_all;
            llm_redact   request response;
            llm_cache    fe_all;
            access_log   $BENCH_TMP/front/all.json.log  llm_json;
            proxy_pass   http://\$llm_upstream;
        }

        location = /status {
            llm_status;
        }
"

# fe_bodies SIZE UNIQUE: the request bodies of about SIZE bytes,
# make_body's with the tag's place (@UNIQ@) at the end of the last user
# message (UNIQUE "last") or of every message ("messages"), asking for
# gpt-4o-mini ($BENCH_TMP/body-SIZE.json) or for the alias mini-canary
# (body-SIZE-alias.json, the same length).  Sets FE_BYTES: the length with
# the tags in place.
fe_bodies() {
    local mini=$BENCH_TMP/body-$1.json alias=$BENCH_TMP/body-$1-alias.json
    make_body "$1" 0 | FE_UNIQUE=$2 node -e '
        let s = "";
        process.stdin.on("data", d => s += d).on("end", () => {
            const b = JSON.parse(s);
            const all = process.env.FE_UNIQUE === "messages";
            for (const m of all ? b.messages : b.messages.slice(-1)) {
                m.content += " @UNIQ@";
            }
            process.stdout.write(JSON.stringify(b));
        });' >"$mini"
    sed 's/"model":"gpt-4o-mini"/"model":"mini-canary"/' "$mini" >"$alias"
    [ "$(wc -c <"$mini")" = "$(wc -c <"$alias")" ] \
        && grep -q '"model":"mini-canary"' "$alias" \
        || die "could not make the alias body"
    FE_BYTES=$(( $(wc -c <"$mini") + (17 - 6) * $(grep -o '@UNIQ@' "$mini" | wc -l) ))
}

# fe_order ROUND PATH...: the paths in ROUND's order, one a line: rotated
# every round (each path goes first once in n rounds) and reversed every
# other round (each path follows a different one: no path always runs
# right after plain)
fe_order() {
    local round=$1 n i j
    shift
    n=$#
    for i in $(seq 0 $((n - 1))); do
        if [ $((round % 2)) = 1 ]; then
            j=$(( (i + round - 1) % n + 1 ))
        else
            j=$(( (n - 1 - i + round - 1) % n + 1 ))
        fi
        echo "${!j}"
    done
}

# on-CPU time of a process in ns
cpu_ns() { awk '{ print $1 }' "/proc/$1/schedstat"; }

# fe_run_wrk PATH CONNS DURATION SIZE: one wrk run (bench/wrk_features.lua)
# against PATH's location with SIZE's bodies; prints "rps p50_us p99_us
# cpu_ns/req errors requests", the CPU time of the worker under test
# ($FRONT_WORKER) per request.  The number of the run, the first part of
# the bodies' tag (every body of the benchmark differs), is kept in a file
# (the function runs in a subshell).
fe_run_wrk() {
    local out c0 c1 unique=1 run body=$BENCH_TMP/body-$4.json
    run=$(( $(cat "$BENCH_TMP/fe-run" 2>/dev/null || echo 0) + 1 ))
    echo "$run" >"$BENCH_TMP/fe-run"
    case $1 in
    rt|all) body=$BENCH_TMP/body-$4-alias.json ;;
    ch)     unique=0 run=0 ;;
    esac
    c0=$(cpu_ns "$FRONT_WORKER")
    out=$(BODY_FILE=$body UNIQUE=$unique RUN=$run KEYS=$FE_KEYS on_cpu "$CLIENT_CPU" \
          wrk -t1 -c"$2" -d"$3"s -s "$BENCH_DIR/wrk_features.lua" "$FRONT/${LOC[$1]}/json/chat/completions" \
          | grep '^RESULT') \
        || die "wrk failed against /${LOC[$1]}/json"
    c1=$(cpu_ns "$FRONT_WORKER")
    awk -v c="$((c1 - c0))" '{
        for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
        printf "%s %s %s %.0f %s %s\n", v["rps"], v["p50_us"], v["p99_us"],
               v["requests"] ? c / v["requests"] : 0, v["errors"], v["requests"]
    }' <<<"$out"
}
