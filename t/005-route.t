# Model routing: weighted and sticky choice, fallback chains, shadow traffic,
# configuration errors.

use Test::Nginx::Socket 'no_plan';
use FindBin;
use lib "$FindBin::Bin/lib";
use LLMTest::Suite;

$ENV{TEST_NGINX_HTML_DIR} ||= html_dir();

no_shuffle();
no_long_string();
no_root_location();
log_level('info');

our $Mock = <<'_EOC_';
    log_format llm 'llm-log: requested=$llm_requested_model model=$llm_model route=$llm_route attempts=$llm_attempts shadow=$llm_shadow status=$status';

    llm_model ok upstream=ok;
    llm_model ok2 upstream=ok2;
    llm_model m503 upstream=m503;
    llm_model m429 upstream=m429;
    llm_model refused upstream=refused;
    llm_model slow upstream=slow;
    llm_model gpt-x upstream=m503;

    limit_req_zone $binary_remote_addr zone=one:1m rate=1r/m;

    upstream ok { server unix:$TEST_NGINX_HTML_DIR/ok.sock; }
    upstream ok2 { server unix:$TEST_NGINX_HTML_DIR/ok2.sock; }
    upstream m503 { server unix:$TEST_NGINX_HTML_DIR/m503.sock; }
    upstream m429 { server unix:$TEST_NGINX_HTML_DIR/m429.sock; }
    upstream refused { server unix:$TEST_NGINX_HTML_DIR/nobody-listens.sock; }
    upstream slow { server unix:$TEST_NGINX_HTML_DIR/slow.sock; }

    llm_route smart { ok 1; }
    llm_route split { ok 1; ok2 1; }
    llm_route chain { m503 1; fallback m429 refused ok; }
    llm_route dead { m503 1; fallback m429; }
    llm_route gone { m503 1; fallback refused; }
    llm_route tardy { slow 1; fallback ok; }
    llm_route gpt-x { gpt-x 1; fallback ok; }
    llm_route shadowed { ok 1; shadow ok2 100%; }
    llm_route evented { m503 1; fallback ok; }
    llm_route slowshadow { ok 1; shadow slow 100% timeout=500ms; }

    server {
        listen unix:$TEST_NGINX_HTML_DIR/ok.sock;
        access_log off;
        default_type application/json;
        location / {
            echo_read_request_body;
            echo '{"choices":[{"index":0,"message":{"role":"assistant","content":"Paris is the capital of France."}}],"usage":{"prompt_tokens":9,"completion_tokens":7,"total_tokens":16}}';
        }
        location /echo/ {
            echo_read_request_body;
            echo_request_body;
        }
        location /stream/ {
            default_type text/event-stream;
            echo_read_request_body;
            echo -n 'data: {"choices":[{"index":0,"delta":{"content":"Paris"}}]}\n\n';
            echo -n 'data: [DONE]\n\n';
        }
        location /errstream/ {
            default_type text/event-stream;
            echo_read_request_body;
            echo -n 'data: {"choices":[{"index":0,"delta":{"content":"Paris"}}]}\n\n';
            echo -n 'data: [DONE]\n\n';
        }
        location /errstream2/ {
            default_type text/event-stream;
            echo_read_request_body;
            echo -n 'data: {"choices":[{"index":0,"delta":{"content":"Paris"}}]}\n\n';
            echo -n 'data: [DONE]\n\n';
        }
    }

    server {
        listen unix:$TEST_NGINX_HTML_DIR/ok2.sock;
        access_log off;
        default_type application/json;
        location / {
            echo_read_request_body;
            echo '{"choices":[{"index":0,"message":{"role":"assistant","content":"Paris is the capital of France."}}],"usage":{"prompt_tokens":9,"completion_tokens":7,"total_tokens":16}}';
        }
    }

    server {
        listen unix:$TEST_NGINX_HTML_DIR/m503.sock;
        access_log off;
        default_type application/json;
        location / {
            echo_read_request_body;
            echo_status 503;
            echo '{"error":{"message":"overloaded"}}';
        }
        location /stream/ {
            default_type text/event-stream;
            echo_read_request_body;
            echo -n 'data: {"choices":[{"index":0,"delta":{"content":"Hel"}}]}\n\n';
            echo_flush;
            echo_sleep 5;
        }
        location /errstream/ {
            default_type text/event-stream;
            echo_read_request_body;
            echo -n ': warming up\n\n';
            echo_flush;
            echo_sleep 0.05;
            echo -n 'data: {"error":{"message":"overloaded","type":"server_error"}}\n\n';
            echo_flush;
            echo_sleep 0.05;
            echo -n 'data: [DONE]\n\n';
        }
        location /errstream2/ {
            default_type text/event-stream;
            echo_read_request_body;
            echo -n 'data: {"error":{"message":"overloaded","type":"server_error"}}\n\n';
            echo -n 'data: [DONE]\n\n';
        }
    }

    server {
        listen unix:$TEST_NGINX_HTML_DIR/m429.sock;
        access_log off;
        default_type application/json;
        location / {
            echo_read_request_body;
            echo_status 429;
            echo '{"error":{"message":"Rate limit reached","code":"rate_limit_exceeded"}}';
        }
    }

    server {
        listen unix:$TEST_NGINX_HTML_DIR/slow.sock;
        access_log off;
        default_type application/json;
        location / {
            echo_read_request_body;
            echo_sleep 3;
            echo '{"choices":[],"usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}}';
        }
    }
_EOC_

our $Gateway = <<'_EOC_';
    location / {
        llm_gateway openai;
        proxy_pass http://$llm_upstream;
        proxy_read_timeout 1s;
        add_header X-Model $llm_model;
        add_header X-Attempts $llm_attempts;
        access_log logs/error.log llm;
    }
_EOC_

block_defaults(http_config => $Mock, config => $Gateway);

run_tests();

__DATA__

=== TEST 1: an alias is routed to its model, and the body's model rewritten
--- request
POST /echo/chat/completions
{"model":"smart","messages":[{"role":"user","content":"Hi"}]}
--- response_body chomp
{"model":"ok","messages":[{"role":"user","content":"Hi"}]}
--- response_headers
X-Model: ok
X-Attempts: 1
--- error_log
llm-log: requested=smart model=ok route=smart attempts=1 shadow=- status=200



=== TEST 2: a model that is not an alias is left alone
--- request
POST /echo/chat/completions
{"model": "ok" ,"messages":[]}
--- response_body chomp
{"model": "ok" ,"messages":[]}
--- error_log
llm-log: requested=ok model=ok route=- attempts=1



=== TEST 3: sticky routing: the same key gets the same model
--- config
    location / {
        llm_gateway openai;
        llm_route_key $http_x_user;
        proxy_pass http://$llm_upstream;
        add_header X-Model $llm_model;
    }
--- request eval
[map { "POST /chat/completions\n{\"model\":\"split\",\"messages\":[]}" } 1 .. 6]
--- more_headers
X-User: user-1234
--- response_headers eval
[map { "X-Model: ok" } 1 .. 6]



=== TEST 4: another key may get another model, and keeps it
--- config
    location / {
        llm_gateway openai;
        llm_route_key $http_x_user;
        proxy_pass http://$llm_upstream;
        add_header X-Model $llm_model;
    }
--- request eval
[map { "POST /chat/completions\n{\"model\":\"split\",\"messages\":[]}" } 1 .. 6]
--- more_headers
X-User: user-1
--- response_headers eval
[map { "X-Model: ok2" } 1 .. 6]



=== TEST 5: a fallback chain over 503, 429 and a refused connection
--- no_error_log
[alert]
[emerg]
--- request
POST /chat/completions
{"model":"chain","messages":[{"role":"user","content":"Hi"}]}
--- response_body_like: Paris is the capital
--- response_headers
X-Model: ok
X-Attempts: 4
--- error_log
llm: model "m503" failed with 503, falling back to "m429"
llm: model "m429" failed with 429, falling back to "refused"
llm: model "refused" failed with 502, falling back to "ok"
llm-log: requested=chain model=ok route=chain attempts=4 shadow=- status=200



=== TEST 6: a fallback after a timeout
--- no_error_log
[alert]
[crit]
[emerg]
--- request
POST /chat/completions
{"model":"tardy","messages":[]}
--- response_body_like: Paris is the capital
--- response_headers
X-Model: ok
X-Attempts: 2
--- error_log
upstream timed out
llm: model "slow" failed with 504, falling back to "ok"



=== TEST 7: when the last fallback answers with an error, the client gets that answer unchanged
--- request
POST /chat/completions
{"model":"dead","messages":[]}
--- error_code: 429
--- response_body
{"error":{"message":"Rate limit reached","code":"rate_limit_exceeded"}}
--- error_log
llm: model "m503" failed with 503, falling back to "m429"



=== TEST 8: when the last fallback cannot be reached, the client gets an error in the API's format
--- no_error_log
[alert]
[emerg]
--- request
POST /chat/completions
{"model":"gone","messages":[]}
--- error_code: 502
--- response_body
{"error":{"message":"The upstream of model `refused` failed (502).","type":"server_error","param":null,"code":"upstream_error"}}
--- error_log
llm: model "refused" failed with 502 and no fallback is left



=== TEST 9: a route named like a model gives that model a fallback
--- request
POST /echo/chat/completions
{"model":"gpt-x","messages":[]}
--- response_body chomp
{"model":"ok","messages":[]}
--- response_headers
X-Attempts: 2



=== TEST 10: no fallback once the answer has started streaming
--- request
POST /stream/chat/completions
{"model":"chain","stream":true,"messages":[]}
--- response_body eval
"data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hel\"}}]}\n\ndata: {\"error\":{\"message\":\"The upstream's stream ended before the answer was complete.\",\"type\":\"server_error\",\"param\":null,\"code\":\"stream_interrupted\"}}\n\ndata: [DONE]\n\n"
--- error_log
llm-log: requested=chain model=m503 route=chain attempts=1
--- no_error_log
falling back



=== TEST 11: a stream whose first event is an error falls back (the header waits for that event)
--- request
POST /errstream/chat/completions
{"model":"evented","stream":true,"messages":[]}
--- response_body eval
"data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Paris\"}}]}\n\ndata: [DONE]\n\n"
--- response_headers
X-Model: ok
X-Attempts: 2
Content-Type: text/event-stream
--- error_log
llm: the stream of model "m503" began with an error event
llm: model "m503" failed with 502 (an error event), falling back to "ok"



=== TEST 12: the error event arrives with the header and the end of the stream
--- request
POST /errstream2/chat/completions
{"model":"evented","stream":true,"messages":[]}
--- response_body eval
"data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Paris\"}}]}\n\ndata: [DONE]\n\n"
--- response_headers
X-Attempts: 2



=== TEST 13: a shadow request: measured, compared and logged, never returned
--- request
POST /chat/completions
{"model":"shadowed","messages":[{"role":"user","content":"Capital of France?"}]}
--- response_body_like: Paris is the capital
--- response_headers
X-Model: ok
--- wait: 0.2
--- error_log eval
[
qr/llm shadow: route "shadowed" primary "ok" status 200 tokens 7 cost 0, shadow "ok2" status 200 latency \d+ms tokens 7 cost 0, exact 1 similarity 1.00/,
qr/llm-log: requested=shadowed model=ok route=shadowed attempts=1 shadow=ok2 status=200/,
]



=== TEST 14: a slow shadow does not hold the primary answer, and is cut at its timeout
--- no_error_log
[alert]
[crit]
[emerg]
--- request
POST /chat/completions
{"model":"slowshadow","messages":[{"role":"user","content":"Hi"}]}
--- timeout: 2
--- response_body_like: Paris is the capital
--- wait: 0.3
--- error_log eval
[
qr/upstream timed out/,
qr/llm shadow: route "slowshadow" primary "ok" status 200 .* shadow "slow" status 504 latency \d+ms/,
]



=== TEST 15: a shadow of a streamed primary
--- request
POST /stream/chat/completions
{"model":"shadowed","stream":true,"messages":[]}
--- response_body eval
"data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Paris\"}}]}\n\ndata: [DONE]\n\n"
--- wait: 0.2
--- error_log eval
qr/llm shadow: route "shadowed" primary "ok" status 200 tokens 1 cost 0, shadow "ok2" status 200 latency \d+ms tokens 7 cost 0, exact 0 similarity 0.\d\d/



=== TEST 16: a weight that is not a positive integer
--- http_config
    llm_model a upstream=x.example.com;
    llm_route r1 { a 0; }
--- config
    location = /t { return 200; }
--- must_die
--- error_log
llm_route "r1": invalid weight "0" of model "a", it must be a positive integer



=== TEST 17: an unknown model in a route
--- http_config
    llm_model a upstream=x.example.com;
    llm_route r1 { a 1; fallback b; }
--- config
    location = /t { return 200; }
--- must_die
--- error_log
llm_route "r1": unknown model "b" (no llm_model of that name)



=== TEST 18: an empty route
--- http_config
    llm_model a upstream=x.example.com;
    llm_route r1 { }
--- config
    location = /t { return 200; }
--- must_die
--- error_log
llm_route "r1" has no model with a weight



=== TEST 19: a shadow share over 100%
--- http_config
    llm_model a upstream=x.example.com;
    llm_route r1 { a 1; shadow a 150%; }
--- config
    location = /t { return 200; }
--- must_die
--- error_log
llm_route "r1": invalid shadow share "150%", it must be a percentage from 0% to 100%



=== TEST 20: a duplicate route
--- http_config
    llm_model a upstream=x.example.com;
    llm_route r1 { a 1; }
    llm_route r1 { a 2; }
--- config
    location = /t { return 200; }
--- must_die
--- error_log
llm_route "r1" is duplicate



=== TEST 23: limit_req's 503 in a gateway location is answered, not retried
--- no_error_log
[alert]
[crit]
[emerg]
--- config
    location / {
        llm_gateway openai;
        limit_req zone=one;
        proxy_pass http://$llm_upstream;
    }
--- request eval
[
"POST /echo/chat/completions\n{\"model\":\"ok\",\"messages\":[]}",
"POST /echo/chat/completions\n{\"model\":\"ok\",\"messages\":[]}",
]
--- error_code eval
[200, 503]
--- response_body_like eval
["\"model\":\"ok\"", "503 Service Temporarily Unavailable"]



=== TEST 24: a request passed through untouched is not sent twice when its upstream fails
--- no_error_log
[alert]
[emerg]
--- config
    location / {
        llm_gateway openai;
        proxy_pass http://refused;
    }
--- request
GET /v1/models
--- error_code: 502
--- grep_error_log eval: qr/connect\(\) to unix:\S+ failed/
--- grep_error_log_out eval
qr/^connect\(\) to unix:\S+nobody-listens.sock failed\n$/
