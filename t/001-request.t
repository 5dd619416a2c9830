# The request pipeline: what llm_gateway parses, refuses and passes through.

use Test::Nginx::Socket 'no_plan';
use FindBin;
use lib "$FindBin::Bin/lib";
use LLMTest::Suite;

$ENV{TEST_NGINX_HTML_DIR} ||= html_dir();

no_shuffle();
no_long_string();
log_level('info');

# A mock upstream that answers with what it received.
our $Mock = <<'_EOC_';
    llm_model gpt-4o-mini upstream=mock;
    llm_model claude-3-5-haiku upstream=mock;

    upstream mock {
        server unix:$TEST_NGINX_HTML_DIR/mock.sock;
    }

    server {
        listen unix:$TEST_NGINX_HTML_DIR/mock.sock;
        access_log off;

        location / {
            add_header X-Got-Length "$http_content_length";
            add_header X-Got-TE "$http_transfer_encoding";
            add_header X-Got-Method "$request_method";
            echo_read_request_body;
            echo_request_body;
        }
    }
_EOC_

our $Gateway = <<'_EOC_';
    location /v1/ {
        client_max_body_size 64k;
        llm_gateway openai;
        proxy_pass http://mock;
        add_header X-Model "$llm_model";
        add_header X-Requested "$llm_requested_model";
        add_header X-Upstream "$llm_upstream";
        add_header X-Stream "$llm_stream";
        add_header X-Prompt-Tokens "$llm_prompt_tokens";
    }

    location /anthropic/v1/ {
        llm_gateway anthropic;
        proxy_pass http://mock;
    }
_EOC_

block_defaults(http_config => $Mock, config => $Gateway);

run_tests();

__DATA__

=== TEST 1: a valid chat request is forwarded byte for byte
--- request
POST /v1/chat/completions
{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Hello there"}]}
--- more_headers
Content-Type: application/json
--- response_body chomp
{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Hello there"}]}
--- response_headers
X-Model: gpt-4o-mini
X-Requested: gpt-4o-mini
X-Upstream: mock
X-Stream: 0
X-Got-Length: 76
--- raw_response_headers_like: \r\nX-Prompt-Tokens: \d+\r\n
--- no_error_log
[error]



=== TEST 2: GET passes through untouched
--- request
GET /v1/models
--- response_body chomp
--- response_headers
X-Got-Method: GET
!X-Model
--- no_error_log
[error]



=== TEST 3: a non-JSON POST passes through untouched
--- request
POST /v1/audio/transcriptions
--boundary--
--- more_headers
Content-Type: multipart/form-data; boundary=boundary
--- response_body chomp
--boundary--
--- response_headers
!X-Model
--- no_error_log
[error]



=== TEST 4: curl -d without a Content-Type (form type) holding JSON is parsed
--- request
POST /v1/chat/completions
{"model":"gpt-4o-mini","messages":[]}
--- more_headers
Content-Type: application/x-www-form-urlencoded
--- response_body chomp
{"model":"gpt-4o-mini","messages":[]}
--- response_headers
X-Model: gpt-4o-mini



=== TEST 5: a form body is not a model call: 400, not forwarded (whatever the Content-Type, a POST is parsed)
--- request
POST /v1/chat/completions
a=b&c=d
--- more_headers
Content-Type: application/x-www-form-urlencoded
--- error_code: 400
--- response_body
{"error":{"message":"We could not parse the JSON body of your request: unexpected character at offset 0.","type":"invalid_request_error","param":null,"code":null}}
--- response_headers
!X-Model
!X-Got-Method



=== TEST 6: malformed JSON: 400 in OpenAI's format, not forwarded
--- request
POST /v1/chat/completions
{"model":"gpt-4o-mini","messages":[
--- more_headers
Content-Type: application/json
--- error_code: 400
--- response_headers
Content-Type: application/json
!X-Got-Method
--- response_body
{"error":{"message":"We could not parse the JSON body of your request: unexpected end of data at offset 35.","type":"invalid_request_error","param":null,"code":null}}
--- error_log
llm: request refused with 400



=== TEST 7: a body that is not an object
--- request
POST /v1/chat/completions
["gpt-4o-mini"]
--- error_code: 400
--- response_body
{"error":{"message":"The request body must be a JSON object.","type":"invalid_request_error","param":null,"code":null}}



=== TEST 8: missing model
--- request
POST /v1/chat/completions
{"messages":[{"role":"user","content":"hi"}]}
--- error_code: 400
--- response_body
{"error":{"message":"you must provide a model parameter","type":"invalid_request_error","param":"model","code":null}}



=== TEST 9: a model that is not a string
--- request
POST /v1/chat/completions
{"model":4,"messages":[]}
--- error_code: 400
--- response_body
{"error":{"message":"model: expected a string","type":"invalid_request_error","param":"model","code":null}}



=== TEST 10: an empty model
--- request
POST /v1/chat/completions
{"model":"","messages":[]}
--- error_code: 400
--- response_body
{"error":{"message":"model: must not be empty","type":"invalid_request_error","param":"model","code":null}}



=== TEST 11: stream that is not a boolean
--- request
POST /v1/chat/completions
{"model":"gpt-4o-mini","stream":"yes","messages":[]}
--- error_code: 400
--- response_body
{"error":{"message":"stream: expected a boolean","type":"invalid_request_error","param":"stream","code":null}}



=== TEST 12: messages that is not an array
--- request
POST /v1/chat/completions
{"model":"gpt-4o-mini","messages":{"role":"user"}}
--- error_code: 400
--- response_body
{"error":{"message":"messages: expected an array","type":"invalid_request_error","param":"messages","code":null}}



=== TEST 13: a message that is not an object
--- request
POST /v1/chat/completions
{"model":"gpt-4o-mini","messages":["hi"]}
--- error_code: 400
--- response_body
{"error":{"message":"messages[0]: expected an object","type":"invalid_request_error","param":"messages","code":null}}



=== TEST 14: content of the wrong type
--- request
POST /v1/chat/completions
{"model":"gpt-4o-mini","messages":[{"role":"user","content":"a"},{"role":"user","content":42}]}
--- error_code: 400
--- response_body
{"error":{"message":"messages[1].content: expected a string or an array","type":"invalid_request_error","param":"messages","code":null}}



=== TEST 15: a negative max_tokens
--- request
POST /v1/chat/completions
{"model":"gpt-4o-mini","max_tokens":-1,"messages":[]}
--- error_code: 400
--- response_body
{"error":{"message":"max_tokens: expected a non-negative integer","type":"invalid_request_error","param":"max_tokens","code":null}}



=== TEST 16: a fractional max_completion_tokens
--- request
POST /v1/chat/completions
{"model":"gpt-4o-mini","max_completion_tokens":1.5,"messages":[]}
--- error_code: 400
--- response_body
{"error":{"message":"max_completion_tokens: expected a non-negative integer","type":"invalid_request_error","param":"max_completion_tokens","code":null}}



=== TEST 17: a temperature that is not a number
--- request
POST /v1/chat/completions
{"model":"gpt-4o-mini","temperature":"hot","messages":[]}
--- error_code: 400
--- response_body
{"error":{"message":"temperature: expected a non-negative number","type":"invalid_request_error","param":"temperature","code":null}}



=== TEST 18: invalid UTF-8 inside a string
--- request eval
"POST /v1/chat/completions\n{\"model\":\"gpt-4o-mini\",\"messages\":[{\"role\":\"user\",\"content\":\"caf\xc3\x28\"}]}"
--- error_code: 400
--- response_body_like: invalid UTF-8 in string at offset 65



=== TEST 19: nesting deeper than the limit
--- request eval
"POST /v1/chat/completions\n{\"model\":\"gpt-4o-mini\",\"x\":" . ("[" x 200) . ("]" x 200) . "}"
--- error_code: 400
--- response_body_like: maximum nesting depth exceeded



=== TEST 20: Anthropic errors use Anthropic's format
--- request
POST /anthropic/v1/messages
{"model":"claude-3-5-haiku","max_tokens":10
--- error_code: 400
--- response_body
{"type":"error","error":{"type":"invalid_request_error","message":"We could not parse the JSON body of your request: unexpected end of data at offset 43."}}



=== TEST 21: Anthropic messages are required on /v1/messages
--- request
POST /anthropic/v1/messages
{"model":"claude-3-5-haiku","max_tokens":10}
--- error_code: 400
--- response_body
{"type":"error","error":{"type":"invalid_request_error","message":"messages: field required"}}



=== TEST 22: OpenAI messages are required on /v1/chat/completions
--- request
POST /v1/chat/completions
{"model":"gpt-4o-mini"}
--- error_code: 400
--- response_body
{"error":{"message":"you must provide a messages parameter","type":"invalid_request_error","param":"messages","code":null}}



=== TEST 23: other endpoints need no messages (embeddings)
--- request
POST /v1/embeddings
{"model":"gpt-4o-mini","input":["one","two"]}
--- response_body chomp
{"model":"gpt-4o-mini","input":["one","two"]}
--- response_headers
X-Model: gpt-4o-mini



=== TEST 24: an unknown model: 404 model_not_found (OpenAI)
--- request
POST /v1/chat/completions
{"model":"gpt-9","messages":[]}
--- error_code: 404
--- response_body
{"error":{"message":"The model `gpt-9` does not exist or you do not have access to it.","type":"invalid_request_error","param":"model","code":"model_not_found"}}



=== TEST 25: an unknown model: 404 not_found_error (Anthropic)
--- request
POST /anthropic/v1/messages
{"model":"claude-9","max_tokens":5,"messages":[]}
--- error_code: 404
--- response_body
{"type":"error","error":{"type":"not_found_error","message":"The model `claude-9` does not exist or you do not have access to it."}}



=== TEST 26: the catch-all entry takes unknown models
--- http_config eval
$::Mock . "    llm_model * upstream=mock;\n"
--- request
POST /v1/chat/completions
{"model":"some-local-model","messages":[]}
--- response_body chomp
{"model":"some-local-model","messages":[]}
--- response_headers
X-Upstream: mock



=== TEST 27: proxy_pass http://$llm_upstream picks the model's upstream
--- http_config eval
my $c = $::Mock;
$c =~ s/claude-3-5-haiku upstream=mock/claude-3-5-haiku upstream=other/;
$c . <<'_EOC_';
    upstream other {
        server unix:$TEST_NGINX_HTML_DIR/other.sock;
    }

    server {
        listen unix:$TEST_NGINX_HTML_DIR/other.sock;
        access_log off;
        location / {
            return 200 "other upstream\n";
        }
    }
_EOC_
--- config
    location /v1/ {
        llm_gateway openai;
        proxy_pass http://$llm_upstream;
    }
--- request eval
[
"POST /v1/chat/completions\n{\"model\":\"claude-3-5-haiku\",\"messages\":[]}",
"POST /v1/chat/completions\n{\"model\":\"gpt-4o-mini\",\"messages\":[]}"
]
--- response_body eval
[
"other upstream\n",
"{\"model\":\"gpt-4o-mini\",\"messages\":[]}"
]



=== TEST 28: escapes in the model name are decoded
--- request
POST /v1/chat/completions
{"model":"gpt\u002d4o\u002dmini","messages":[]}
--- response_headers
X-Model: gpt-4o-mini



=== TEST 29: a Content-Length over client_max_body_size: 413, not forwarded
--- no_error_log
[alert]
[crit]
[emerg]
--- request eval
"POST /v1/chat/completions\n{\"model\":\"gpt-4o-mini\",\"messages\":[{\"role\":\"user\",\"content\":\"" . ("a" x 70000) . "\"}]}"
--- error_code: 413
--- response_headers
!X-Got-Method
--- error_log
client intended to send too large body



=== TEST 30: a chunked body over client_max_body_size: 413, not forwarded
--- no_error_log
[alert]
[crit]
[emerg]
--- raw_request eval
my $body = "{\"model\":\"gpt-4o-mini\",\"messages\":[{\"role\":\"user\",\"content\":\"" . ("a" x 70000) . "\"}]}";
"POST /v1/chat/completions HTTP/1.1\r
Host: localhost\r
Connection: close\r
Content-Type: application/json\r
Transfer-Encoding: chunked\r
\r
" . sprintf("%x", length($body)) . "\r\n$body\r\n0\r\n\r\n"
--- error_code: 413
--- response_headers
!X-Got-Method
--- error_log
client intended to send too large chunked body



=== TEST 31: a chunked body is parsed and sent on with a Content-Length
--- raw_request eval
my $body = "{\"model\":\"gpt-4o-mini\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
"POST /v1/chat/completions HTTP/1.1\r
Host: localhost\r
Connection: close\r
Content-Type: application/json\r
Transfer-Encoding: chunked\r
\r
" . "10\r\n" . substr($body, 0, 16) . "\r\n" . sprintf("%x", length($body) - 16) . "\r\n" . substr($body, 16) . "\r\n0\r\n\r\n"
--- response_body chomp
{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}
--- response_headers
X-Model: gpt-4o-mini
X-Got-Length: 67
X-Got-TE:



=== TEST 32: a body buffered to a temp file is read from the file
--- config
    location /v1/ {
        client_max_body_size 64k;
        client_body_buffer_size 1k;
        llm_gateway openai;
        proxy_pass http://mock;
        add_header X-Model "$llm_model";
        add_header X-Prompt-Tokens "$llm_prompt_tokens";
    }
--- request eval
"POST /v1/chat/completions\n{\"model\":\"gpt-4o-mini\",\"messages\":[{\"role\":\"user\",\"content\":\"" . ("word " x 2000) . "\"}]}"
--- response_body eval
"{\"model\":\"gpt-4o-mini\",\"messages\":[{\"role\":\"user\",\"content\":\"" . ("word " x 2000) . "\"}]}"
--- response_headers
X-Model: gpt-4o-mini
--- raw_response_headers_like: \r\nX-Prompt-Tokens: (1[89]\d\d|2[01]\d\d)\r\n
--- error_log
a client request body is buffered to a temporary file



=== TEST 33: HTTP/2 request body
--- http2
--- request
POST /v1/chat/completions
{"model":"gpt-4o-mini","messages":[{"role":"user","content":"over h2"}]}
--- more_headers
Content-Type: application/json
--- response_body chomp
{"model":"gpt-4o-mini","messages":[{"role":"user","content":"over h2"}]}
--- response_headers
X-Model: gpt-4o-mini



=== TEST 34: llm_gateway off (the default) parses nothing
--- config
    location /v1/ {
        proxy_pass http://mock;
        add_header X-Model "$llm_model";
    }
--- request
POST /v1/chat/completions
{"model":"gpt-4o-mini",
--- response_body chomp
{"model":"gpt-4o-mini",
--- response_headers
!X-Model



=== TEST 35: without a catalogue every model is accepted
--- http_config
    upstream mock {
        server unix:$TEST_NGINX_HTML_DIR/mock.sock;
    }

    server {
        listen unix:$TEST_NGINX_HTML_DIR/mock.sock;
        access_log off;
        location / {
            echo_read_request_body;
            echo_request_body;
        }
    }
--- request
POST /v1/chat/completions
{"model":"anything","messages":[]}
--- response_body chomp
{"model":"anything","messages":[]}
--- response_headers
X-Model: anything
