# Regressions for the review of the merged main (fdc6846): redaction of the
# requests outside the endpoint table, the exact tokenizer on one long
# piece, Gemini answers under response redaction, tokenize mode with
# stored Responses state, $llm_api_key per API, Gemini candidateCount,
# token-ID inputs, the format of withheld answers, configuration checks.

use Test::Nginx::Socket 'no_plan';

$ENV{TEST_NGINX_HTML_DIR} ||= html_dir();

no_shuffle();
no_long_string();
no_root_location();
log_level('info');

our $Mock = <<'_EOC_';
    llm_model * upstream=mock;

    upstream mock { server unix:$TEST_NGINX_HTML_DIR/mock.sock; }

    server {
        listen unix:$TEST_NGINX_HTML_DIR/mock.sock;
        access_log off;

        location / {
            default_type application/json;
            echo_read_request_body;
            echo "upstream got: $request_body";
        }
    }
_EOC_

add_block_preprocessor(sub {
    my $block = shift;
    if (!defined $block->http_config) {
        $block->set_value("http_config", $main::Mock);
    }
});

run_tests();

__DATA__

=== TEST 1: fix 1 - count_tokens outside the table is redacted (mask)
--- config
    location /v1/ {
        llm_gateway anthropic;
        llm_redact request;
        proxy_pass http://mock;
    }
--- request
POST /v1/messages/count_tokens
{"model":"claude-3-5-haiku","messages":[{"role":"user","content":"mail bob@example.com now"}]}
--- response_body_like: ^upstream got: \{"model":"claude-3-5-haiku","messages":\[\{"role":"user","content":"mail \[EMAIL\] now"\}\]\}$
--- error_code: 200



=== TEST 2: fix 1 - block mode refuses PII sent to batches and input_tokens
--- config
    location /v1/ {
        llm_gateway openai;
        llm_redact request;
        llm_redact_mode block;
        proxy_pass http://mock;
    }
--- pipelined_requests eval
['POST /v1/responses/input_tokens
{"model":"gpt-4o","input":"my mail is bob@example.com"}',
'POST /v1/messages/batches
{"requests":[{"custom_id":"a","params":{"messages":[{"role":"user","content":"bob@example.com"}]}}]}',
'POST /v1/messages/batches
{"requests":[{"custom_id":"a","params":{"messages":[{"role":"user","content":"hello"}]}}]}']
--- response_body_like eval
['"code":"sensitive_data"', '"code":"sensitive_data"', 'upstream got: .*"hello"']
--- error_code eval
[400, 400, 200]



=== TEST 3: fix 1 - a multipart upload cannot be scanned: refused (fail closed)
--- config
    location /v1/ {
        llm_gateway openai;
        llm_redact request;
        proxy_pass http://mock;
    }
--- more_headers
Content-Type: multipart/form-data; boundary=x
--- request eval
"POST /v1/files
--x\r
Content-Disposition: form-data; name=\"file\"; filename=\"a.txt\"\r
\r
bob\@example.com\r
--x--\r
"
--- response_body_like: "code":"unscannable_body"
--- error_code: 415



=== TEST 4: fix 1 - an empty POST outside the table passes, an upload elsewhere too
--- config
    location /v1/ {
        llm_gateway openai;
        llm_redact request;
        proxy_pass http://mock;
    }
    location /v1/files {
        llm_gateway openai;
        proxy_pass http://mock;
    }
--- pipelined_requests eval
["POST /v1/batches/b1/cancel", "POST /v1/files\nnot json bob\@example.com"]
--- response_body eval
["upstream got: \n", "upstream got: not json bob\@example.com\n"]
--- error_code eval
[200, 200]
