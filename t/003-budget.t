# Token budgets: reservation, reconciliation, refusal, keys, zones, cost,
# dry run, full zone, in-stream cut.

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
    log_format llm 'llm-log: key=$http_x_key status=$status prompt=$llm_prompt_tokens completion=$llm_completion_tokens source=$llm_tokens_source remaining=$llm_budget_remaining';

    llm_model gpt-4o-mini upstream=mock input=1.00 output=1000.00;

    llm_budget_zone $http_x_key zone=per_key:1m tokens=1000/h;
    llm_budget_zone $http_x_team zone=per_team:1m tokens=300/h;
    llm_budget_zone $http_x_key zone=dollars:1m cost=0.5/h;
    llm_budget_zone $http_x_key zone=tiny:32k tokens=100000/h;

    upstream mock {
        server unix:$TEST_NGINX_HTML_DIR/mock.sock;
    }

    server {
        listen unix:$TEST_NGINX_HTML_DIR/mock.sock;
        access_log off;

        location /json/ {
            default_type application/json;
            echo_read_request_body;
            echo '{"id":"c","choices":[{"index":0,"message":{"role":"assistant","content":"ok"}}],"usage":{"prompt_tokens":20,"completion_tokens":30,"total_tokens":50}}';
        }

        location /big/ {
            default_type application/json;
            echo_read_request_body;
            echo '{"id":"c","choices":[{"index":0,"message":{"role":"assistant","content":"ok"}}],"usage":{"prompt_tokens":900,"completion_tokens":600,"total_tokens":1500}}';
        }

        location /error/ {
            default_type application/json;
            echo_read_request_body;
            echo_status 500;
            echo '{"error":{"message":"boom","type":"server_error"}}';
        }

        location /long/ {
            default_type text/event-stream;
            echo_read_request_body;
            echo -n 'data: {"choices":[{"index":0,"delta":{"content":"one two three four"}}]}\n\n';
            echo_flush;
            echo_sleep 0.05;
            echo -n 'data: {"choices":[{"index":0,"delta":{"content":" five six seven eight"}}]}\n\n';
            echo_flush;
            echo_sleep 0.05;
            echo -n 'data: {"choices":[{"index":0,"delta":{"content":" nine ten eleven twelve"}}]}\n\n';
            echo_flush;
            echo_sleep 0.05;
            echo -n 'data: {"choices":[{"index":0,"delta":{"content":" thirteen fourteen"}}]}\n\n';
            echo_flush;
            echo_sleep 0.05;
            echo -n 'data: {"choices":[{"index":0,"delta":{"content":" the last words"}}]}\n\n';
            echo -n 'data: [DONE]\n\n';
        }

        location /slow/ {
            default_type text/event-stream;
            echo_read_request_body;
            echo -n 'data: {"choices":[{"index":0,"delta":{"content":"Hi"}}]}\n\n';
            echo_flush;
            echo_sleep 3;
            echo -n 'data: [DONE]\n\n';
        }
    }
_EOC_

our $Gateway = <<'_EOC_';
    location / {
        llm_gateway openai;
        llm_budget per_key;
        proxy_pass http://mock;
        access_log logs/error.log llm;
    }
_EOC_

# TEST 14 aborts between the stream's first event and its end (3 s later):
# under valgrind the first event takes longer than 0.5 s to come through
our $AbortAfter = $ENV{TEST_NGINX_USE_VALGRIND} ? 2 : 0.5;

our $Req = "{\"model\":\"gpt-4o-mini\",\"max_tokens\":100,\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}";

block_defaults(http_config => $Mock, config => $Gateway);

run_tests();

__DATA__

=== TEST 1: an admitted request carries the budget headers
--- request eval
"POST /json/chat/completions\n$::Req"
--- more_headers
X-Key: alice
--- response_headers
x-ratelimit-limit-tokens: 1000
--- raw_response_headers_like: (?i)^(?=.*\r\nx-ratelimit-remaining-tokens: 8[89]\d\r\n)(?=.*\r\nx-ratelimit-reset-tokens: (?:\d+ms|(?:\d+h)?(?:\d+m)?\d+s)\r\n)
--- error_log eval
qr/llm-log: key=alice status=200 prompt=20 completion=30 source=usage remaining=9[45]\d/



=== TEST 2: the reservation is reconciled to the reported usage (refund)
--- request eval
["POST /json/chat/completions\n$::Req", "POST /json/chat/completions\n$::Req"]
--- more_headers
X-Key: bob
--- response_headers_like eval
["x-ratelimit-remaining-tokens: ^8[89]\\d\$", "x-ratelimit-remaining-tokens: ^8[34]\\d\$"]



=== TEST 3: usage above the reservation puts the bucket in debt; the next request is refused with Retry-After in OpenAI's format
--- request eval
["POST /big/chat/completions\n$::Req", "POST /json/chat/completions\n$::Req"]
--- more_headers
X-Key: carol
--- error_code eval
[200, 429]
--- response_body_like eval
["\"total_tokens\":1500", "^\\{\"error\":\\{\"message\":\"Rate limit reached for gpt-4o-mini: the token budget \\\\\"per_key\\\\\" is used up. Please try again in \\d+s.\",\"type\":\"tokens\",\"param\":null,\"code\":\"rate_limit_exceeded\"\\}\\}\$"]
--- response_headers_like eval
["x-ratelimit-remaining-tokens: ^\\d+\$", "Retry-After: ^\\d+\$"]



=== TEST 4: a request larger than the whole budget is refused at once
--- request
POST /json/chat/completions
{"model":"gpt-4o-mini","max_tokens":5000,"messages":[{"role":"user","content":"Hi"}]}
--- more_headers
X-Key: carl
--- error_code: 429
--- response_body_like: ^\{"error":\{"message":"Request too large for gpt-4o-mini: the token budget \\"per_key\\" allows 1000 tokens, the request needs \d+. Reduce the prompt or max_tokens.","type":"tokens","param":null,"code":"rate_limit_exceeded"\}\}$
--- response_headers_like
Retry-After: ^\d+$
x-ratelimit-limit-tokens: ^1000$
x-ratelimit-remaining-tokens: ^1000$
--- error_log eval
qr/llm: refused by llm_budget_zone "per_key": model "gpt-4o-mini", \d+ tokens needed, retry in \d+s/



=== TEST 5: keys are independent
--- config
    location / {
        llm_gateway openai;
        llm_budget per_key;
        proxy_pass http://mock;
    }
--- request eval
["POST /big/chat/completions\n$::Req", "POST /json/chat/completions\n$::Req", "POST /json/chat/completions\n$::Req"]
--- more_headers eval
["X-Key: dave", "X-Key: dave", "X-Key: erin"]
--- error_code eval
[200, 429, 200]



=== TEST 6: an empty key is not limited
--- request eval
["POST /big/chat/completions\n$::Req", "POST /big/chat/completions\n$::Req"]
--- error_code eval
[200, 200]
--- response_headers eval
["!x-ratelimit-limit-tokens", "!x-ratelimit-limit-tokens"]



=== TEST 7: several zones: all must admit, the tightest is reported
--- config
    location / {
        llm_gateway openai;
        llm_budget per_key;
        llm_budget per_team;
        proxy_pass http://mock;
    }
--- request eval
["POST /big/chat/completions\n$::Req", "POST /json/chat/completions\n$::Req", "POST /json/chat/completions\n$::Req"]
--- more_headers eval
["X-Key: k1\nX-Team: t1", "X-Key: k2\nX-Team: t1", "X-Key: k2"]
--- error_code eval
[200, 429, 200]
--- response_headers_like eval
["x-ratelimit-limit-tokens: ^300\$", "Retry-After: ^\\d+\$", "x-ratelimit-limit-tokens: ^1000\$"]
--- response_body_like eval
["", "the token budget \\\\\"per_team\\\\\" is used up", ""]



=== TEST 8: a refused request reserves nothing in the other zones
--- config
    location / {
        llm_gateway openai;
        llm_budget per_key;
        llm_budget per_team;
        proxy_pass http://mock;
    }
--- request eval
["POST /big/chat/completions\n$::Req", "POST /json/chat/completions\n$::Req", "POST /json/chat/completions\n$::Req"]
--- more_headers eval
["X-Key: solo\nX-Team: full", "X-Key: fresh\nX-Team: full", "X-Key: fresh"]
--- error_code eval
[200, 429, 200]
--- response_headers_like eval
["x-ratelimit-limit-tokens: ^300\$", "Retry-After: ^\\d+\$", "x-ratelimit-remaining-tokens: ^8[89]\\d\$"]



=== TEST 9: a cost zone charges at the catalogue's prices
--- config
    location / {
        llm_gateway openai;
        llm_budget dollars;
        proxy_pass http://mock;
    }
--- request eval
["POST /big/chat/completions\n$::Req", "POST /json/chat/completions\n$::Req"]
--- more_headers
X-Key: frank
--- error_code eval
[200, 429]
--- response_body_like eval
["", "the token budget \\\\\"dollars\\\\\" is used up"]



=== TEST 10: dry run: decide and log, never refuse
--- config
    location / {
        llm_gateway openai;
        llm_budget per_key;
        llm_budget_dry_run on;
        proxy_pass http://mock;
    }
--- request
POST /json/chat/completions
{"model":"gpt-4o-mini","max_tokens":5000,"messages":[{"role":"user","content":"Hi"}]}
--- more_headers
X-Key: gina
--- error_code: 200
--- response_headers_like
x-ratelimit-remaining-tokens: ^0$
--- error_log
would be refused (dry run) by llm_budget_zone "per_key"



=== TEST 11: llm_budget_status changes the refusal's status
--- config
    location / {
        llm_gateway openai;
        llm_budget per_key;
        llm_budget_status 503;
        proxy_pass http://mock;
    }
--- request eval
["POST /big/chat/completions\n$::Req", "POST /json/chat/completions\n$::Req"]
--- more_headers
X-Key: hank
--- error_code eval
[200, 503]
--- response_body_like eval
["", "\"type\":\"tokens\",\"param\":null,\"code\":\"rate_limit_exceeded\""]



=== TEST 12: an upstream error costs nothing
--- request eval
["POST /error/chat/completions\n$::Req", "POST /json/chat/completions\n$::Req"]
--- more_headers
X-Key: ivan
--- error_code eval
[500, 200]
--- response_headers_like eval
["x-ratelimit-remaining-tokens: ^8[89]\\d\$", "x-ratelimit-remaining-tokens: ^8[89]\\d\$"]



=== TEST 13: the Anthropic refusal is in Anthropic's format
--- config
    location / {
        llm_gateway anthropic;
        llm_budget per_key;
        proxy_pass http://mock;
    }
--- request
POST /json/v1/messages
{"model":"gpt-4o-mini","max_tokens":5000,"messages":[{"role":"user","content":"Hi"}]}
--- more_headers
X-Key: judy
--- error_code: 429
--- response_body_like: ^\{"type":"error","error":\{"type":"rate_limit_error","message":"Request too large for gpt-4o-mini



=== TEST 14: a client abort is reconciled by the estimate of what was streamed
--- request
POST /slow/chat/completions
{"model":"gpt-4o-mini","stream":true,"max_tokens":500,"messages":[{"role":"user","content":"Hi"}]}
--- more_headers
X-Key: kate
--- timeout eval: $::AbortAfter
--- abort
--- wait eval: $::AbortAfter
--- ignore_response
--- error_log eval
qr/llm-log: key=kate status=200 prompt=\d+ completion=1 source=estimate remaining=9[89]\d/



=== TEST 15: a stream that runs past a cost budget is cut with finish_reason "length"
--- http_config eval
my $c = $::Mock;
$c =~ s/cost=0.5\/h/cost=0.012\/h/;
$c
--- config
    location / {
        llm_gateway openai;
        llm_budget dollars;
        llm_budget_allowance 1;
        proxy_pass http://mock;
        access_log logs/error.log llm;
    }
--- request
POST /long/chat/completions
{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"Hi"}]}
--- more_headers
X-Key: leo
--- response_body_like: ^(?!.*the last words)data: \{"choices":\[\{"index":0,"delta":\{"content":"one two three four"\}\}\]\}\n\n.*data: \{"object":"chat.completion.chunk","choices":\[\{"index":0,"delta":\{\},"finish_reason":"length"\}\]\}\n\ndata: \[DONE\]\n\n$
--- error_log
is cut: it ran past llm_budget_zone "dollars"



=== TEST 15b: the same cut over HTTP/2: the client gets the ending and [DONE], the stream ends cleanly
--- http_config eval
my $c = $::Mock;
$c =~ s/cost=0.5\/h/cost=0.012\/h/;
$c
--- config
    location / {
        llm_gateway openai;
        llm_budget dollars;
        llm_budget_allowance 1;
        proxy_pass http://mock;
        access_log logs/error.log llm;
    }
--- http2
--- request
POST /long/chat/completions
{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"Hi"}]}
--- more_headers
X-Key: leo
--- response_body_like: ^(?!.*the last words)data: \{"choices":\[\{"index":0,"delta":\{"content":"one two three four"\}\}\]\}\n\n.*data: \{"object":"chat.completion.chunk","choices":\[\{"index":0,"delta":\{\},"finish_reason":"length"\}\]\}\n\ndata: \[DONE\]\n\n$
--- error_log
is cut: it ran past llm_budget_zone "dollars"



=== TEST 15c: after a cut the connection stays usable: the next request on it is answered (HTTP/1.1 keep-alive)
--- http_config eval
my $c = $::Mock;
$c =~ s/cost=0.5\/h/cost=0.012\/h/;
$c
--- config
    location / {
        llm_gateway openai;
        llm_budget dollars;
        llm_budget_allowance 1;
        proxy_pass http://mock;
        access_log logs/error.log llm;
    }
--- more_headers
X-Key: lea
--- pipelined_requests eval
["POST /long/chat/completions\n{\"model\":\"gpt-4o-mini\",\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}",
 "POST /json/chat/completions\n{\"model\":\"gpt-4o-mini\",\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}"]
--- error_code eval
[200, 429]
--- response_body_like eval
[qr/"finish_reason":"length"\}\]\}\n\ndata: \[DONE\]\n\n$/, qr/"type":"tokens"/]
--- no_error_log
[alert]
[crit]



=== TEST 16: llm_budget naming no zone fails nginx -t
--- config
    location / {
        llm_gateway openai;
        llm_budget nosuchzone;
    }
--- must_die
--- error_log
llm_budget "nosuchzone": no llm_budget_zone with this name



=== TEST 16b: llm_budget naming another zone of the module (llm_redis's counters) fails nginx -t (it crashed a worker)
--- http_config eval
$::Mock . "    llm_redis r1 127.0.0.1:1;\n"
--- config
    location / {
        llm_gateway openai;
        llm_budget "llm_redis r1";
    }
--- must_die
--- error_log
llm_budget "llm_redis r1": no llm_budget_zone with this name



=== TEST 17: llm_budget_zone with a bad rate fails nginx -t
--- http_config
    llm_budget_zone $http_x_key zone=z1:1m tokens=10/w;
--- config
    location = /t {
        return 200;
    }
--- must_die
--- error_log
llm_budget_zone: invalid rate "tokens=10/w"



=== TEST 18: llm_budget_zone without a rate fails nginx -t
--- http_config
    llm_budget_zone $http_x_key zone=z1:1m;
--- config
    location = /t {
        return 200;
    }
--- must_die
--- error_log
llm_budget_zone "z1": "tokens=N/PERIOD" or "cost=USD/PERIOD" is required



=== TEST 19: a zone too small fails nginx -t
--- http_config
    llm_budget_zone $http_x_key zone=z1:4k tokens=10/m;
--- config
    location = /t {
        return 200;
    }
--- must_die
--- error_log
llm_budget_zone: zone "z1" is too small
