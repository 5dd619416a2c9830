# The nginx configuration of bench/features.sh's paths, shared with
# bench/callgrind.sh (sourced after lib.sh: BENCH_TMP; FE_CACHE_ZONE, the
# size of each of the two miss zones, 64m by default).

FE_CACHE_ZONE=${FE_CACHE_ZONE:-64m}

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
