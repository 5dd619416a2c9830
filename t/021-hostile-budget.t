# Budgets and cost against hostile and careless requests and upstreams
# (issue #12): keys of any size and floods of keys (defect 6), "n" answers
# (7), refusals that must not be retried (10), refusals that cost nothing
# (11), absurd usage figures (13).  Parallel streams (5) and zones full of
# keys that cannot be evicted are in t/021-hostile-budget-shm.t.

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
    log_format llm 'llm-log: status=$status prompt=$llm_prompt_tokens completion=$llm_completion_tokens source=$llm_tokens_source cost=$llm_cost';

    large_client_header_buffers 4 32k;

    llm_model gpt-4o-mini upstream=mock input=1.00 output=2.00;

    llm_budget_zone $http_authorization zone=by_credential:32k tokens=1000/h;
    llm_budget_zone $http_x_key zone=per_key:1m tokens=5000/h;

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
            echo '{"id":"c","choices":[{"index":0,"message":{"role":"assistant","content":"ok"}}],"usage":{"prompt_tokens":900,"completion_tokens":900,"total_tokens":1800}}';
        }

        # a provider that rejects the credential: nothing is used
        location /reject/ {
            default_type application/json;
            echo_read_request_body;
            echo_status 401;
            echo '{"error":{"message":"Incorrect API key provided","type":"invalid_request_error","code":"invalid_api_key"}}';
        }

        location /huge/ {
            default_type application/json;
            echo_read_request_body;
            echo '{"id":"c","choices":[{"index":0,"message":{"role":"assistant","content":"ok"}}],"usage":{"prompt_tokens":9223372036854775807,"completion_tokens":9223372036854775807,"total_tokens":9223372036854775807}}';
        }

        location /beyond/ {
            default_type application/json;
            echo_read_request_body;
            echo '{"id":"c","choices":[{"index":0,"message":{"role":"assistant","content":"ok"}}],"usage":{"prompt_tokens":1e30,"completion_tokens":99999999999999999999999,"total_tokens":0}}';
        }

        location /huge-anthropic/ {
            default_type application/json;
            echo_read_request_body;
            echo '{"id":"m","type":"message","role":"assistant","content":[{"type":"text","text":"ok"}],"usage":{"input_tokens":9223372036854775807,"cache_creation_input_tokens":9223372036854775807,"cache_read_input_tokens":5,"output_tokens":7}}';
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

our $Req = '{"model":"gpt-4o-mini","max_tokens":100,"messages":[{"role":"user","content":"Hi"}]}';

sub chat {
    my ($extra) = @_;
    return '{"model":"gpt-4o-mini",' . $extra
           . ',"messages":[{"role":"user","content":"Hi"}]}';
}

block_defaults(http_config => $Mock, config => $Gateway);

run_tests();

__DATA__

=== TEST 1: a 30 KB credential as the key neither evicts the other keys nor escapes its own budget
--- config
    location / {
        llm_gateway openai;
        llm_budget by_credential;
        proxy_pass http://mock;
    }
--- request eval
["POST /big/chat/completions\n$::Req",
 "POST /big/chat/completions\n$::Req",
 "POST /json/chat/completions\n$::Req",
 "POST /json/chat/completions\n$::Req"]
--- more_headers eval
["Authorization: Bearer debtor",
 "Authorization: Bearer " . ("k" x 30000),
 "Authorization: Bearer " . ("k" x 30000),
 "Authorization: Bearer debtor"]
--- error_code eval
[200, 200, 429, 429]
--- response_body_like eval
["", "", "the token budget \\\\\"by_credential\\\\\" is used up", "the token budget \\\\\"by_credential\\\\\" is used up"]
--- no_error_log eval
[qr/\[alert\]/, qr/kkkkkkkkkkkkkkkk/, qr/is full/]



=== TEST 2: 400 credentials that the provider rejects (charged nothing) do not evict a key in debt
--- config
    location / {
        llm_gateway openai;
        llm_budget by_credential;
        proxy_pass http://mock;
    }
--- request eval
["POST /big/chat/completions\n$::Req",
 (map { "POST /reject/chat/completions\n$::Req" } 1 .. 400),
 "POST /json/chat/completions\n$::Req"]
--- more_headers eval
["Authorization: Bearer debtor",
 (map { "Authorization: Bearer garbage-$_" } 1 .. 400),
 "Authorization: Bearer debtor"]
--- error_code eval
[200, (401) x 400, 429]
--- no_error_log
[alert]
garbage-



=== TEST 3: "n" multiplies the reservation: max_tokens 4500 x 128 answers is too large for 5000 tokens, and must not be retried
--- request eval
"POST /json/chat/completions\n" . main::chat('"max_tokens":4500,"n":128')
--- more_headers
X-Key: many
--- error_code: 429
--- response_body_like: ^\{"error":\{"message":"Request too large for gpt-4o-mini: the token budget \\"per_key\\" allows 5000 tokens, the request needs 5760\d\d. Reduce the prompt or max_tokens.","type":"tokens"
--- response_headers
x-should-retry: false
--- raw_response_headers_like: (?i)\r\nretry-after: \d+\r\n



=== TEST 4: "n" with max_completion_tokens, and with the default allowance
--- config
    location / {
        llm_gateway openai;
        llm_budget per_key;
        llm_budget_allowance 100;
        proxy_pass http://mock;
    }
--- request eval
["POST /json/chat/completions\n" . main::chat('"max_completion_tokens":100,"n":60'),
 "POST /json/chat/completions\n" . main::chat('"n":60')]
--- more_headers
X-Key: many-completion
--- error_code eval
[429, 429]
--- response_body_like eval
["the request needs 60\\d\\d\\.", "the request needs 60\\d\\d\\."]



=== TEST 5: an admitted request with "n" reserves n times its allowance
--- request eval
"POST /json/chat/completions\n" . main::chat('"max_tokens":100,"n":3')
--- more_headers
X-Key: three
--- error_code: 200
--- response_headers_like
x-ratelimit-remaining-tokens: ^46\d\d$



=== TEST 6: "n" must be a positive JSON integer: a lenient provider may read "128" or 128.0 as 128
--- request eval
["POST /json/chat/completions\n" . main::chat('"n":"128"'),
 "POST /json/chat/completions\n" . main::chat('"n":128.0'),
 "POST /json/chat/completions\n" . main::chat('"n":0'),
 "POST /json/chat/completions\n" . main::chat('"n":-1'),
 "POST /json/chat/completions\n" . main::chat('"n":null'),
 "POST /json/chat/completions\n" . main::chat('"n":1')]
--- more_headers
X-Key: bad-n
--- error_code eval
[400, 400, 400, 400, 200, 200]
--- response_body_like eval
['^\{"error":\{"message":"n: expected a positive integer","type":"invalid_request_error","param":"n","code":null\}\}$',
 '"param":"n"', '"param":"n"', '"param":"n"', '"total_tokens":50', '"total_tokens":50']



=== TEST 6b: legacy completions: best_of candidates are reserved like n answers, and must be positive integers
--- request eval
["POST /json/completions\n{\"model\":\"gpt-4o-mini\",\"prompt\":\"Hi\",\"max_tokens\":100,\"best_of\":60,\"n\":2}",
 "POST /json/completions\n{\"model\":\"gpt-4o-mini\",\"prompt\":\"Hi\",\"best_of\":\"3\"}"]
--- more_headers
X-Key: best-of
--- error_code eval
[429, 400]
--- response_body_like eval
["the request needs 60\\d\\d\\.", '^\{"error":\{"message":"best_of: expected a positive integer","type":"invalid_request_error","param":"best_of","code":null\}\}$']



=== TEST 7: no overflow: max_tokens at INT64_MAX times 128 answers is refused as too large
--- request eval
"POST /json/chat/completions\n" . main::chat('"max_tokens":9223372036854775807,"n":128')
--- more_headers
X-Key: overflow
--- error_code: 429
--- response_body_like: Request too large for gpt-4o-mini: the token budget \\"per_key\\" allows 5000 tokens, the request needs more than 1000000000000000000\.
--- response_headers
x-should-retry: false



=== TEST 8: the Responses API's max_output_tokens is the allowance
--- request
POST /json/responses
{"model":"gpt-4o-mini","input":"Hi","max_output_tokens":100000}
--- more_headers
X-Key: responses
--- error_code: 429
--- response_body_like: Request too large for gpt-4o-mini: the token budget \\"per_key\\" allows 5000 tokens, the request needs 1000\d\d\.



=== TEST 9: x-should-retry only on refusals that cannot succeed later
--- config
    location / {
        llm_gateway openai;
        llm_budget by_credential;
        llm_budget_status 503;
        proxy_pass http://mock;
    }
--- request eval
["POST /big/chat/completions\n$::Req",
 "POST /json/chat/completions\n$::Req",
 "POST /json/chat/completions\n" . main::chat('"max_tokens":2000')]
--- more_headers
Authorization: Bearer retry
--- error_code eval
[200, 503, 503]
--- response_headers eval
["!x-should-retry", "!x-should-retry", "x-should-retry: false"]
--- response_body_like eval
["", "is used up", "Request too large"]



=== TEST 10: a request refused by a budget was not forwarded: it costs 0; its prompt is the estimate
--- config
    location / {
        llm_gateway openai;
        llm_budget per_key;
        proxy_pass http://mock;
        access_log logs/error.log llm;
    }
--- request eval
"POST /json/chat/completions\n" . main::chat('"max_tokens":6000')
--- more_headers
X-Key: refused
--- error_code: 429
--- error_log eval
qr/llm-log: status=429 prompt=\d+ completion=0 source=estimate cost=0\.000000000$/m



=== TEST 11: a request blocked by redaction was not forwarded: it costs 0
--- config
    location / {
        llm_gateway openai;
        llm_redact request;
        llm_redact_mode block;
        proxy_pass http://mock;
        access_log logs/error.log llm;
    }
--- request
POST /json/chat/completions
{"model":"gpt-4o-mini","messages":[{"role":"user","content":"mail me at alice@example.com about the contract we discussed"}]}
--- error_code: 400
--- error_log eval
qr/llm-log: status=400 prompt=\d+ completion=0 source=estimate cost=0\.000000000$/m



=== TEST 12: usage of INT64_MAX is clamped to 1,000,000,000 tokens, and logged; the cost does not wrap around
--- request eval
"POST /huge/chat/completions\n$::Req"
--- more_headers
X-Key: huge
--- error_code: 200
--- error_log eval
[qr/\[warn\] .*llm: the answer of model "gpt-4o-mini" reports prompt_tokens 9223372036854775807, above 1000000000 tokens: taken as 1000000000/,
 qr/\[warn\] .*reports completion_tokens 9223372036854775807, above 1000000000 tokens/,
 qr/llm-log: status=200 prompt=1000000000 completion=1000000000 source=usage cost=3000\.000000000$/m]



=== TEST 13: usage beyond int64 or in exponent form is clamped too, not ignored
--- request eval
"POST /beyond/chat/completions\n$::Req"
--- more_headers
X-Key: beyond
--- error_code: 200
--- error_log eval
[qr/reports prompt_tokens 1e30, above 1000000000 tokens: taken as 1000000000/,
 qr/llm-log: status=200 prompt=1000000000 completion=1000000000 source=usage cost=3000\.000000000$/m]



=== TEST 14: Anthropic input + cache creation tokens at INT64_MAX do not overflow
--- config
    location / {
        llm_gateway anthropic;
        llm_budget per_key;
        proxy_pass http://mock;
        access_log logs/error.log llm;
    }
--- request
POST /huge-anthropic/v1/messages
{"model":"gpt-4o-mini","max_tokens":100,"messages":[{"role":"user","content":"Hi"}]}
--- more_headers
X-Key: anthropic-huge
--- error_code: 200
--- error_log eval
[qr/reports cache_creation_input_tokens 9223372036854775807, above 1000000000 tokens/,
 qr/reports input_tokens \+ cache_\* in all, above 1000000000 tokens: taken as 1000000000/,
 qr/llm-log: status=200 prompt=1000000000 completion=7 source=usage cost=\S+$/m]



=== TEST 15: llm_budget_zone: full= takes refuse or admit
--- http_config
    llm_budget_zone $http_x_key zone=z1:1m tokens=10/m full=maybe;
--- config
    location = /t {
        return 200;
    }
--- must_die
--- error_log
llm_budget_zone: invalid parameter "full=maybe"
