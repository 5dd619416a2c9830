# Hostile and careless requests and answers (issue 12): what the gateway
# reads.  Every Accept-Encoding header is set aside, an answer that arrives
# encoded anyway is not passed unread, answers of any type are read,
# duplicate JSON keys are refused, any Content-Type is parsed, an empty
# cache scope bypasses the cache, and $llm_api_key normalises credentials.

use Test::Nginx::Socket 'no_plan';
use FindBin;
use lib "$FindBin::Bin/lib";
use LLMTest::Suite;

$ENV{TEST_NGINX_HTML_DIR} ||= html_dir();

no_shuffle();
no_long_string();
no_root_location();
log_level('info');

our $Answer = '{"id":"c1","object":"chat.completion","model":"gpt-4o-mini","choices":[{"index":0,"message":{"role":"assistant","content":"Mail bob@example.com, card 4111 1111 1111 1111."},"finish_reason":"stop"}],"usage":{"prompt_tokens":20,"completion_tokens":4000,"total_tokens":4020}}';

our $Events = 'data: {"id":"c1","choices":[{"index":0,"delta":{"content":"Mail bob@example.com"},"finish_reason":null}]}\n\ndata: {"id":"c1","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}\n\ndata: [DONE]\n\n';

# The mock provider: /any/ honours gzip in ANY of the Accept-Encoding
# headers it receives (as a lenient provider may), /gzip/ compresses
# whatever it is asked; the compression is done by a second server.
our $Mock = <<"_EOC_";
    log_format llm 'llm-log: key=\$http_x_key status=\$status completion=\$llm_completion_tokens remaining=\$llm_budget_remaining';

    log_format embedder 'embedder asked, gzip=\$wants_gzip';

    map \$request_body \$is_shadow {
        "~shadow-model"  1;
        default          0;
    }

    log_format asked 'provider asked, gzip=\$wants_gzip shadow=\$is_shadow';

    llm_model gpt-4o-mini upstream=mock;
    llm_model claude-3-5-haiku upstream=mock;

    llm_budget_zone \$http_x_key zone=per_key:1m tokens=5000/h;

    llm_cache_zone zone=answers:1m;

    map \$echo_client_request_headers \$wants_gzip {
        "~*accept-encoding:[^\\r\\n]*gzip"  1;
        default                            0;
    }

    upstream mock {
        server unix:\$TEST_NGINX_HTML_DIR/mock.sock;
    }

    server {
        listen unix:\$TEST_NGINX_HTML_DIR/mock.sock;
        access_log off;

        location /any/ {
            if (\$wants_gzip) {
                rewrite ^/any/(.*) /gzip/\$1 last;
            }
            default_type application/json;
            echo_read_request_body;
            echo -n '$Answer';
        }

        location /gzip/ {
            proxy_set_header Accept-Encoding gzip;
            proxy_pass http://unix:\$TEST_NGINX_HTML_DIR/gzip.sock:/;
        }

        location /gzip-sse/ {
            proxy_set_header Accept-Encoding gzip;
            proxy_pass http://unix:\$TEST_NGINX_HTML_DIR/gzip.sock:/sse/;
        }

        location /text/ {
            default_type text/plain;
            echo_read_request_body;
            echo -n 'Mail bob\@example.com, card 4111 1111 1111 1111.';
        }

        location /vendor/ {
            default_type application/vnd.provider+json;
            echo_read_request_body;
            echo -n '$Answer';
        }

        location /echo/ {
            default_type application/json;
            echo_read_request_body;
            echo_request_body;
        }

        location /big/ {
            proxy_method GET;
            rewrite ^ /static/big.txt break;
            proxy_pass http://unix:\$TEST_NGINX_HTML_DIR/gzip.sock;
        }

        location /big-chunked/ {
            default_type text/plain;
            echo_read_request_body;
            echo_duplicate 900000 "word ";
        }

        location /logged/ {
            access_log logs/error.log asked;
            default_type application/json;
            echo_read_request_body;
            echo -n '$Answer';
        }

        location = /v1/embeddings {
            access_log logs/error.log embedder;
            default_type application/json;
            echo_read_request_body;
            echo -n '{"object":"list","data":[{"object":"embedding","index":0,"embedding":[0.9,0.1,-0.05,0.2]}],"model":"e","usage":{"prompt_tokens":5,"total_tokens":5}}';
        }

        location /ok/ {
            default_type application/json;
            echo_read_request_body;
            echo -n '{"id":"c1","choices":[{"index":0,"message":{"role":"assistant","content":"ok"}}],"usage":{"prompt_tokens":10,"completion_tokens":1,"total_tokens":11}}';
        }
    }

    server {
        listen unix:\$TEST_NGINX_HTML_DIR/gzip.sock;
        access_log off;

        gzip on;
        gzip_http_version 1.0;
        gzip_min_length 1;
        gzip_types application/json text/event-stream;

        location /static/ {
            alias \$TEST_NGINX_HTML_DIR/;
            default_type text/plain;
        }

        location /sse/ {
            default_type text/event-stream;
            echo_read_request_body;
            echo -n '$Events';
        }

        location / {
            default_type application/json;
            echo_read_request_body;
            echo -n '$Answer';
        }
    }
_EOC_

our $Gateway = <<'_EOC_';
    location / {
        llm_gateway openai;
        llm_redact response;
        proxy_pass http://mock;
    }

    location /budget/ {
        llm_gateway openai;
        llm_budget per_key;
        proxy_pass http://mock/;
        access_log logs/error.log llm;
    }

    location /parsed/ {
        llm_gateway openai;
        proxy_pass http://mock/echo/;
        add_header X-Model "$llm_model";
    }

    location /anthropic/ {
        llm_gateway anthropic;
        proxy_pass http://mock/echo/;
    }
_EOC_

our $Req = '{"model":"gpt-4o-mini","max_tokens":100,"messages":[{"role":"user","content":"Hi"}]}';
our $StreamReq = '{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"Hi"}]}';

# a dense body: 6,000 tokens in 25 KB, more than the token array the parser
# first fills (1 per 32 bytes + 64, at most 2048): counted, then filled
our $Bias = join(',', map { qq{"$_":1} } 1 .. 3000);
our $Dense = '{"model":"gpt-4o-mini","logit_bias":{' . $Bias
             . '},"messages":[{"role":"user","content":"Hi"}]}';
our $DenseDup = '{"model":"gpt-4o-mini","logit_bias":{' . $Bias
                . ',"1":2},"messages":[{"role":"user","content":"Hi"}]}';

block_defaults(http_config => $Mock, config => $Gateway);

run_tests();

__DATA__

=== TEST 1: Accept-Encoding: every header reaches the provider as identity (a provider honouring the second one does not compress), and the answer is redacted
--- request eval
"POST /any/chat/completions\n$::Req"
--- more_headers
Accept-Encoding: identity
Accept-Encoding: gzip
--- error_code: 200
--- response_headers
!Content-Encoding
--- response_body_like: "content":"Mail \[EMAIL\], card \[CARD\]\."
--- no_error_log
[error]



=== TEST 2: Accept-Encoding: the client's headers are given back to the answer (gzip of the gateway still works)
--- config
    gzip on;
    gzip_min_length 1;
    gzip_types application/json;

    location / {
        llm_gateway openai;
        proxy_pass http://mock;
        add_header X-AE "$http_accept_encoding";
    }
--- request eval
"POST /ok/chat/completions\n$::Req"
--- more_headers
Accept-Encoding: gzip
Accept-Encoding: br
--- error_code: 200
--- response_headers
Content-Encoding: gzip
X-AE: gzip



=== TEST 3: an answer that arrives compressed anyway is withheld when it must be redacted: 502 in OpenAI's format
--- no_error_log
[alert]
[crit]
[emerg]
--- request eval
"POST /gzip/chat/completions\n$::Req"
--- error_code: 502
--- response_headers
Content-Type: application/json
!Content-Encoding
--- response_body
{"error":{"message":"The gateway could not read the answer (it is encoded) and does not pass an answer it cannot redact.","type":"server_error","param":null,"code":"answer_unreadable"}}
--- error_log
must be redacted and cannot be read (it is encoded



=== TEST 4: a compressed stream is withheld when it must be redacted: an error event
--- no_error_log
[alert]
[crit]
[emerg]
--- request eval
"POST /gzip-sse/chat/completions\n$::StreamReq"
--- error_code: 200
--- response_headers
Content-Type: text/event-stream
!Content-Encoding
--- response_body eval
qq/data: {"error":{"message":"The gateway could not read the answer (it is encoded) and does not pass an answer it cannot redact.","type":"server_error","param":null,"code":"answer_unreadable"}}\n\n/
--- error_log
must be redacted and cannot be read (it is encoded



=== TEST 5: Anthropic: the withheld answer is an error in Anthropic's format
--- no_error_log
[alert]
[crit]
[emerg]
--- config
    location / {
        llm_gateway anthropic;
        llm_redact response;
        proxy_pass http://mock;
    }
--- request
POST /gzip/v1/messages
{"model":"claude-3-5-haiku","max_tokens":64,"messages":[{"role":"user","content":"Hi"}]}
--- error_code: 502
--- response_body
{"type":"error","error":{"type":"api_error","message":"The gateway could not read the answer (it is encoded) and does not pass an answer it cannot redact."}}



=== TEST 6: a compressed answer that is not redacted passes, and the budget keeps the whole reservation (not the tiny estimate)
--- request eval
"POST /budget/gzip/chat/completions\n$::Req"
--- more_headers
X-Key: gz1
--- response_headers
Content-Encoding: gzip
x-ratelimit-remaining-tokens: 4892
--- wait: 1
--- error_log eval
qr/llm-log: key=gz1 status=200 completion=0 remaining=4892$/



=== TEST 7: a text/plain answer is read and redacted as text
--- request eval
"POST /text/chat/completions\n$::Req"
--- error_code: 200
--- response_body chomp
Mail [EMAIL], card [CARD].
--- no_error_log
[error]



=== TEST 8: an application/*+json answer is read and redacted as JSON
--- request eval
"POST /vendor/chat/completions\n$::Req"
--- error_code: 200
--- response_body_like: "content":"Mail \[EMAIL\], card \[CARD\]\."
--- no_error_log
[error]



=== TEST 9: a text/plain answer is counted for the budget (its text estimated), not as nothing
--- request eval
"POST /budget/text/chat/completions\n$::Req"
--- more_headers
X-Key: text1
--- error_code: 200
--- wait: 1
--- error_log eval
qr/llm-log: key=text1 status=200 completion=[1-3]\d remaining=49[67]\d$/



=== TEST 10: duplicate "messages": 400 naming the key, not forwarded
--- request
POST /parsed/chat/completions
{"model":"gpt-4o-mini","messages":[{"role":"user","content":"mail bob@example.com"}],"messages":[{"role":"user","content":"clean"}]}
--- error_code: 400
--- response_body
{"error":{"message":"Duplicate key \"messages\" in the JSON body: a key may appear only once in an object.","type":"invalid_request_error","param":"messages","code":null}}



=== TEST 11: duplicate "max_tokens" and "model": 400
--- request eval
["POST /parsed/chat/completions\n{\"model\":\"gpt-4o-mini\",\"max_tokens\":100000,\"max_tokens\":10,\"messages\":[]}",
 "POST /parsed/chat/completions\n{\"model\":\"gpt-4o\",\"model\":\"gpt-4o-mini\",\"messages\":[]}"]
--- error_code eval
[400, 400]
--- response_body_like eval
["Duplicate key \\\\\"max_tokens\\\\\"", "Duplicate key \\\\\"model\\\\\""]



=== TEST 12: a duplicate key in a message object, and one spelled with an escape, are refused
--- request eval
["POST /parsed/chat/completions\n{\"model\":\"gpt-4o-mini\",\"messages\":[{\"role\":\"user\",\"content\":\"a\",\"content\":\"b\"}]}",
 "POST /parsed/chat/completions\n{\"model\":\"gpt-4o-mini\",\"\\u006dodel\":\"gpt-4o\",\"messages\":[]}"]
--- error_code eval
[400, 400]
--- response_body_like eval
["\"param\":\"content\"", "\"param\":\"model\""]



=== TEST 13: a duplicate among many keys (sorted, not compared pairwise) is found; distinct keys pass
--- request eval
my $k = CORE::join ",", map { "\"k$_\":$_" } 1 .. 40;
["POST /parsed/chat/completions\n{\"model\":\"gpt-4o-mini\",\"metadata\":{$k,\"k17\":0},\"messages\":[]}",
 "POST /parsed/chat/completions\n{\"model\":\"gpt-4o-mini\",\"metadata\":{$k},\"messages\":[]}"]
--- error_code eval
[400, 200]
--- response_headers_like eval
["", "X-Model: gpt-4o-mini"]
--- response_body_like eval
["\"param\":\"k17\"", "\"k40\":40"]



=== TEST 14: duplicate keys in an Anthropic request: 400 in Anthropic's format
--- request
POST /anthropic/v1/messages
{"model":"claude-3-5-haiku","max_tokens":64,"max_tokens":1,"messages":[{"role":"user","content":"Hi"}]}
--- error_code: 400
--- response_body
{"type":"error","error":{"type":"invalid_request_error","message":"Duplicate key \"max_tokens\" in the JSON body: a key may appear only once in an object."}}



=== TEST 15: Content-Type text/plain: the body is parsed all the same (malformed: 400)
--- request
POST /parsed/chat/completions
{"model":"gpt-4o-mini","messages":[
--- more_headers
Content-Type: text/plain
--- error_code: 400
--- response_body_like: could not parse the JSON body



=== TEST 16: Content-Types that are not JSON's: the body is parsed all the same
--- request eval
["POST /parsed/chat/completions\n$::Req", "POST /parsed/chat/completions\n$::Req", "POST /parsed/chat/completions\n$::Req", "POST /parsed/chat/completions\n$::Req"]
--- more_headers eval
["Content-Type: text/json", "Content-Type: application/octet-stream", "Content-Type: */*", "Content-Type: application/json, text/plain"]
--- error_code eval
[200, 200, 200, 200]
--- response_headers eval
["X-Model: gpt-4o-mini", "X-Model: gpt-4o-mini", "X-Model: gpt-4o-mini", "X-Model: gpt-4o-mini"]



=== TEST 17: multipart/form-data to a model endpoint is parsed (400); a file upload elsewhere passes
--- request eval
["POST /parsed/chat/completions\n--b--", "POST /parsed/audio/transcriptions\n--b--"]
--- more_headers
Content-Type: multipart/form-data; boundary=b
--- error_code eval
[400, 200]
--- response_body_like eval
["could not parse the JSON body", "^--b--\$"]



=== TEST 18: a budget with a non-JSON Content-Type still applies (a request larger than the zone is refused)
--- request eval
"POST /budget/ok/chat/completions\n{\"model\":\"gpt-4o-mini\",\"max_tokens\":900000,\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}"
--- more_headers
Content-Type: text/plain
X-Key: ct1
--- error_code: 429



=== TEST 19: llm_cache_scope with its header missing: no cache (BYPASS), not a scope shared by everyone
--- config
    location / {
        llm_gateway openai;
        llm_cache answers;
        llm_cache_scope $http_x_tenant;
        proxy_pass http://mock;
        add_header X-Cache "$upstream_cache_status";
    }
--- request eval
["POST /ok/chat/completions\n{\"model\":\"gpt-4o-mini\",\"messages\":[{\"role\":\"user\",\"content\":\"scope test\"}]}",
 "POST /ok/chat/completions\n{\"model\":\"gpt-4o-mini\",\"messages\":[{\"role\":\"user\",\"content\":\"scope test\"}]}"]
--- response_headers eval
["X-LLM-Cache: BYPASS", "X-LLM-Cache: BYPASS"]



=== TEST 20: llm_cache_scope with the header: cached for that tenant only
--- config
    location / {
        llm_gateway openai;
        llm_cache answers;
        llm_cache_scope $http_x_tenant;
        proxy_pass http://mock;
    }
--- request eval
["POST /ok/chat/completions\n{\"model\":\"gpt-4o-mini\",\"messages\":[{\"role\":\"user\",\"content\":\"tenant test\"}]}",
 "POST /ok/chat/completions\n{\"model\":\"gpt-4o-mini\",\"messages\":[{\"role\":\"user\",\"content\":\"tenant test\"}]}"]
--- more_headers
X-Tenant: alice
--- response_headers eval
["X-LLM-Cache: MISS", "X-LLM-Cache: HIT"]



=== TEST 21: $llm_api_key: the Bearer token, the scheme in any case, white space trimmed; x-api-key, x-goog-api-key
--- config
    location / {
        add_header X-Key "[$llm_api_key]";
        return 204;
    }
--- request eval
["GET /", "GET /", "GET /", "GET /", "GET /", "GET /"]
--- more_headers eval
["Authorization: bearer   sk-one  ", "Authorization: BEARER sk-one", "x-api-key:  sk-two ", "x-goog-api-key: g-three", "Authorization: Basic dXNlcjpwdw==", "Authorization: Bearer sk-one\nx-api-key: other"]
--- error_code eval
[204, 204, 204, 204, 204, 204]
--- response_headers eval
["X-Key: [sk-one]", "X-Key: [sk-one]", "X-Key: [sk-two]", "X-Key: [g-three]", "X-Key: []", "X-Key: [sk-one]"]



=== TEST 22: $llm_api_key as a budget key: spellings of one key share one bucket
--- http_config eval
$::Mock . '    llm_budget_zone $llm_api_key zone=per_api_key:1m tokens=1000/h;'
--- config
    location / {
        llm_gateway openai;
        llm_budget per_api_key;
        proxy_pass http://mock;
    }
--- request eval
["POST /ok/chat/completions\n$::Req", "POST /ok/chat/completions\n$::Req", "POST /ok/chat/completions\n$::Req"]
--- more_headers eval
["Authorization: Bearer sk-split", "Authorization: bearer sk-split", "Authorization: BEARER   sk-split"]
--- response_headers_like eval
["x-ratelimit-remaining-tokens: ^89\\d\$", "x-ratelimit-remaining-tokens: ^88\\d\$", "x-ratelimit-remaining-tokens: ^87\\d\$"]



=== TEST 23: an answer larger than 4 MiB (Content-Length) that must be redacted is withheld
--- no_error_log
[alert]
[crit]
[emerg]
--- user_files eval
">>> big.txt\n" . ("word " x 900000)
--- request eval
"POST /big/chat/completions\n$::Req"
--- error_code: 502
--- response_body_like: "code":"answer_unreadable"
--- error_log
cannot be read (it is too large



=== TEST 24: an answer larger than 4 MiB (Content-Length), not redacted, passes and keeps the whole reservation
--- user_files eval
">>> big.txt\n" . ("word " x 900000)
--- request eval
"POST /budget/big/chat/completions\n$::Req"
--- more_headers
X-Key: big1
--- error_code: 200
--- response_body_like: ^word word
--- wait: 2
--- error_log eval
qr/llm-log: key=big1 status=200 completion=0 remaining=4892$/



=== TEST 25: a chunked answer that grows past 4 MiB keeps the whole reservation
--- request eval
"POST /budget/big-chunked/chat/completions\n$::Req"
--- more_headers
X-Key: big2
--- error_code: 200
--- response_body_like: ^word word
--- wait: 2
--- error_log eval
qr/llm-log: key=big2 status=200 completion=0 remaining=4892$/



=== TEST 26: embeddings carry no text: a large embeddings answer passes, redaction or not
--- user_files eval
">>> big.txt\n" . ("word " x 900000)
--- request
POST /big/embeddings
{"model":"gpt-4o-mini","input":"Hi"}
--- error_code: 200
--- response_body_like: ^word word
--- no_error_log
[error]



=== TEST 27: Accept-Encoding: the remote embedder's subrequest gets identity in every header too
--- config
    location / {
        llm_gateway openai;
        llm_cache answers;
        llm_cache_semantic 0.9;
        llm_cache_embedder /embed;
        proxy_pass http://mock;
    }

    location = /embed {
        internal;
        proxy_pass http://mock/v1/embeddings;
    }
--- request
POST /ok/chat/completions
{"model":"gpt-4o-mini","messages":[{"role":"user","content":"How do I get my money back?"}]}
--- more_headers
Authorization: Bearer sk-embed
Accept-Encoding: identity
Accept-Encoding: gzip
--- error_code: 200
--- error_log
embedder asked, gzip=0
--- no_error_log
embedder asked, gzip=1



=== TEST 28: Accept-Encoding: the shadow subrequest gets identity in every header too
--- http_config eval
$::Mock . '
    llm_model shadow-model upstream=mock;
    llm_route shadowed { gpt-4o-mini 1; shadow shadow-model 100%; }
'
--- config
    location / {
        llm_gateway openai;
        proxy_pass http://mock;
    }
--- request
POST /logged/chat/completions
{"model":"shadowed","messages":[{"role":"user","content":"Hi"}]}
--- more_headers
Accept-Encoding: identity
Accept-Encoding: gzip
--- error_code: 200
--- wait: 0.5
--- error_log
provider asked, gzip=0 shadow=0
provider asked, gzip=0 shadow=1
--- no_error_log
gzip=1



=== TEST 29: a body with more tokens than the parser's first array (6,000 in 25 KB): parsed all the same, passed as it is
--- request eval
"POST /parsed/chat/completions\n$::Dense"
--- error_code: 200
--- response_headers
X-Model: gpt-4o-mini
--- response_body eval
$::Dense
--- no_error_log
[error]



=== TEST 30: the same with a key repeated at the end of the dense object: found (every token was read)
--- request eval
"POST /parsed/chat/completions\n$::DenseDup"
--- error_code: 400
--- response_body_like: Duplicate key \\"1\\" in the JSON body
--- no_error_log
[error]
