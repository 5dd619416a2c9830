# llm_status: counters per model, route and budget zone, as Prometheus text
# and as JSON.

use Test::Nginx::Socket 'no_plan';
use FindBin;
use lib "$FindBin::Bin/lib";
use LLMTest::Suite;

$ENV{TEST_NGINX_HTML_DIR} ||= html_dir();

no_shuffle();
no_long_string();
no_root_location();

our $Mock = <<'_EOC_';
    llm_model gpt-4o-mini upstream=mock input=1.00 output=2.00;
    llm_model other upstream=mock;

    llm_route smart { gpt-4o-mini 1; }
    llm_budget_zone $http_x_key zone=keys:1m tokens=100000/h;

    upstream mock {
        server unix:$TEST_NGINX_HTML_DIR/mock.sock;
    }

    server {
        listen unix:$TEST_NGINX_HTML_DIR/mock.sock;
        access_log off;
        default_type application/json;

        location /json/ {
            echo_read_request_body;
            echo '{"choices":[{"index":0,"message":{"role":"assistant","content":"ok"}}],"usage":{"prompt_tokens":1000,"completion_tokens":500,"total_tokens":1500}}';
        }

        location /fail/ {
            echo_read_request_body;
            echo_status 500;
            echo '{"error":{"message":"boom"}}';
        }

        location /stream/ {
            default_type text/event-stream;
            echo_read_request_body;
            echo -n 'data: {"choices":[{"index":0,"delta":{"content":"Hello"}}]}\n\n';
            echo -n 'data: {"choices":[],"usage":{"prompt_tokens":10,"completion_tokens":2,"total_tokens":12}}\n\n';
            echo -n 'data: [DONE]\n\n';
        }
    }
_EOC_

our $Gateway = <<'_EOC_';
    location / {
        llm_gateway openai;
        llm_budget keys;
        proxy_pass http://mock;
    }

    location = /status {
        llm_status;
    }
_EOC_

block_defaults(http_config => $Mock, config => $Gateway);

run_tests();

__DATA__

=== TEST 1: Prometheus text after a JSON answer, a stream, an error and a routed request
--- request eval
[
"POST /json/chat/completions\n{\"model\":\"gpt-4o-mini\",\"messages\":[]}",
"POST /stream/chat/completions\n{\"model\":\"gpt-4o-mini\",\"stream\":true,\"messages\":[]}",
"POST /fail/chat/completions\n{\"model\":\"other\",\"messages\":[]}",
"POST /json/chat/completions\n{\"model\":\"smart\",\"messages\":[]}",
"GET /status",
]
--- more_headers
X-Key: k1
--- error_code eval
[200, 200, 500, 200, 200]
--- response_body_like eval
[
"ok",
"Hello",
"boom",
"ok",
qr/llm_requests_total\{model="gpt-4o-mini"\} 3\n.*llm_requests_total\{model="other"\} 1\n.*llm_stream_requests_total\{model="gpt-4o-mini"\} 1\n.*llm_responses_total\{model="other",status="5xx"\} 1\n.*llm_tokens_total\{model="gpt-4o-mini",type="prompt"\} 2010\n.*llm_tokens_total\{model="gpt-4o-mini",type="completion"\} 1002\n.*llm_cost_usd_total\{model="gpt-4o-mini"\} 0.004014000\n.*llm_ttft_ms_bucket\{model="gpt-4o-mini",le="\+Inf"\} 3\n.*llm_route_requests_total\{route="smart"\} 1\n.*llm_budget_admitted_total\{zone="keys"\} 4\n.*llm_budget_keys\{zone="keys"\} 1\n/s,
]



=== TEST 2: JSON on ?format=json
--- request eval
[
"POST /json/chat/completions\n{\"model\":\"gpt-4o-mini\",\"messages\":[]}",
"GET /status?format=json",
]
--- more_headers
X-Key: k2
--- response_headers eval
["", "Content-Type: application/json"]
--- response_body_like eval
[
"ok",
qr/^\{"models":\{"gpt-4o-mini":\{"requests":1,"streams":0,"responses":\{"2xx":1,"429":0,"4xx":0,"5xx":0\},"aborted":0,"cut":0,"tokens":\{"prompt":1000,"completion":500,"cached":0\},"estimated":0,"cost_usd":0.002000000,"fallbacks":0,"ttft_ms":\{"count":1,.*"routes":\{"smart":\{"requests":0,.*"budgets":\{"keys":\{"admitted":1,"refused":0,"keys":1,"evicted":0,"full":0\}\}\}\n$/s,
]



=== TEST 3: only GET and HEAD
--- request
POST /status
x
--- error_code: 405



=== TEST 4: more models than counter slots (256, one kept for "(unlisted)"): the first 255 have their own counters, the others are counted as "(unlisted)"
--- http_config eval
join('', map { "    llm_model m$_ upstream=mock;\n" } 1 .. 300) . q{
    upstream mock {
        server unix:$TEST_NGINX_HTML_DIR/mock.sock;
    }

    server {
        listen unix:$TEST_NGINX_HTML_DIR/mock.sock;
        access_log off;
        default_type application/json;

        location /json/ {
            echo_read_request_body;
            echo '{"choices":[{"index":0,"message":{"role":"assistant","content":"ok"}}],"usage":{"prompt_tokens":10,"completion_tokens":5,"total_tokens":15}}';
        }
    }
}
--- config
    location / {
        llm_gateway openai;
        proxy_pass http://mock;
    }

    location = /status {
        llm_status;
    }
--- request eval
[
"POST /json/chat/completions\n{\"model\":\"m255\",\"messages\":[]}",
"POST /json/chat/completions\n{\"model\":\"m299\",\"messages\":[]}",
"GET /status?format=json",
]
--- response_body_like eval
[
"ok", "ok",
qr/^(?!.*(?:"m256"|"m299")).*"m255":\{"requests":1,.*"\(unlisted\)":\{"requests":1,"streams":0,"responses":\{"2xx":1,.*"tokens":\{"prompt":10,"completion":5,/s,
]




=== TEST 5: more models than counter slots: nginx says so when it starts
--- http_config eval
join('', map { "    llm_model m$_ upstream=mock;\n" } 1 .. 300) . q{
    upstream mock {
        server unix:$TEST_NGINX_HTML_DIR/mock.sock;
    }

    server {
        listen unix:$TEST_NGINX_HTML_DIR/mock.sock;
        access_log off;
        default_type application/json;

        location /json/ {
            echo_read_request_body;
            echo '{"choices":[{"index":0,"message":{"role":"assistant","content":"ok"}}],"usage":{"prompt_tokens":10,"completion_tokens":5,"total_tokens":15}}';
        }
    }
}
--- config
    location / {
        llm_gateway openai;
        proxy_pass http://mock;
    }

    location = /status {
        llm_status;
    }
--- request
GET /status
--- response_body_like: llm_requests_total\{model="m255"\} 0
--- error_log
llm_status: counters are kept for 256 models and routes (those of earlier configurations included, until a restart): 45 more, from "m256" on, are counted as "(unlisted)" (models) or not at all (routes)
