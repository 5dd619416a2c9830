# Regressions for the review of the merged main (fdc6846): redaction of the
# requests outside the endpoint table, the exact tokenizer on one long
# piece, Gemini answers under response redaction, tokenize mode with
# stored Responses state, $llm_api_key per API, Gemini candidateCount,
# token-ID inputs, the format of withheld answers, configuration checks.

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
    llm_model * upstream=mock;

    upstream mock { server unix:$TEST_NGINX_HTML_DIR/mock.sock; }

    log_format upstream_body escape=none 'upstream log: $request_uri $request_body';

    server {
        listen unix:$TEST_NGINX_HTML_DIR/mock.sock;
        access_log logs/error.log upstream_body;

        location / {
            default_type application/json;
            echo_read_request_body;
            echo "upstream got: $request_body";
        }

        location /gans/ {
            default_type application/json;
            echo_read_request_body;
            echo '{"candidates":[{"content":{"role":"model","parts":[{"text":"Mail bob@example.com, "},{"text":"card 4111 1111 1111 1111 or [EMAIL_1]"}]},"finishReason":"STOP"}],"usageMetadata":{"promptTokenCount":3,"candidatesTokenCount":9,"totalTokenCount":12}}';
        }

        location /gsse/ {
            default_type text/event-stream;
            echo_read_request_body;
            echo -n 'data: {"candidates":[{"content":{"role":"model","parts":[{"text":"Mail bob@exa"}]}}]}\r\n\r\n';
            echo -n 'data: {"candidates":[{"content":{"role":"model","parts":[{"text":"mple.com"}]},"finishReason":"STOP"}]}\r\n\r\n';
        }

        location /gz/ {
            default_type application/json;
            add_header Content-Encoding gzip;
            echo_read_request_body;
            echo -n 'xxxx';
        }

        location /gzsse/ {
            default_type text/event-stream;
            add_header Content-Encoding gzip;
            echo_read_request_body;
            echo -n 'xxxx';
        }

        location /garr/ {
            default_type application/json;
            echo_read_request_body;
            echo '[{"candidates":[{"content":{"role":"model","parts":[{"text":"Mail bob@exa"}]}}]},{"candidates":[{"content":{"role":"model","parts":[{"text":"mple.com"}]},"finishReason":"STOP"}]}]';
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



=== TEST 5: fix 3 - a Gemini answer is redacted (llm_redact response)
--- config
    location /gans/ {
        llm_gateway gemini;
        llm_redact response;
        proxy_pass http://mock;
    }
--- request
POST /gans/v1beta/models/gemini-2.0-flash:generateContent
{"contents":[{"role":"user","parts":[{"text":"hi"}]}]}
--- response_body_like: ^\{"candidates":\[\{"content":\{"role":"model","parts":\[\{"text":"Mail \[EMAIL\], "\},\{"text":"card \[CARD\] or \[EMAIL_1\]"\}\]\}
--- error_code: 200



=== TEST 6: fix 3 - tokenize placeholders are restored in a Gemini answer
--- config
    location /gans/ {
        llm_gateway gemini;
        llm_redact request;
        llm_redact_mode tokenize;
        proxy_pass http://mock;
    }
--- request
POST /gans/v1beta/models/gemini-2.0-flash:generateContent
{"contents":[{"role":"user","parts":[{"text":"write to alice@example.org"}]}]}
--- response_body_like: "text":"card 4111 1111 1111 1111 or alice@example\.org"
--- error_code: 200



=== TEST 7: fix 3 - a Gemini SSE stream under response redaction is withheld, with an error event in Google's format
--- config
    location /gsse/ {
        llm_gateway gemini;
        llm_redact response;
        proxy_pass http://mock;
    }
--- request
POST /gsse/v1beta/models/gemini-2.0-flash:streamGenerateContent?alt=sse
{"contents":[{"role":"user","parts":[{"text":"hi"}]}]}
--- response_headers
Content-Type: text/event-stream
--- response_body_like: ^data: \{"error":\{"code":502,"message":"The gateway could not read the answer \(a Gemini stream is not redacted\)[^"]*","status":"UNAVAILABLE"\}\}\n\n$
--- error_code: 200
--- error_log
a Gemini stream is not redacted
--- no_error_log
[alert]
[crit]
[emerg]



=== TEST 8: fix 3 - a Gemini stream as a JSON array under response redaction is withheld with a 502 in Google's format
--- config
    location /garr/ {
        llm_gateway gemini;
        llm_redact response;
        proxy_pass http://mock;
    }
--- request
POST /garr/v1beta/models/gemini-2.0-flash:streamGenerateContent
{"contents":[{"role":"user","parts":[{"text":"hi"}]}]}
--- response_body_like: ^\{"error":\{"code":502,"message":"[^"]+","status":"UNAVAILABLE"\}\}$
--- error_code: 502
--- error_log
must be redacted and cannot be read
--- no_error_log
[alert]
[crit]
[emerg]



=== TEST 9: fix 3 - without redaction a Gemini stream passes as it is
--- config
    location /gsse/ {
        llm_gateway gemini;
        proxy_pass http://mock;
    }
--- request
POST /gsse/v1beta/models/gemini-2.0-flash:streamGenerateContent?alt=sse
{"contents":[{"role":"user","parts":[{"text":"hi"}]}]}
--- response_body_like: bob@exa.*mple\.com
--- error_code: 200



=== TEST 10: fix 8 - an unreadable Gemini answer is withheld with a 502 in Google's format
--- config
    location /gz/ {
        llm_gateway gemini;
        llm_redact response;
        proxy_pass http://mock;
    }
--- request
POST /gz/v1beta/models/gemini-2.0-flash:generateContent
{"contents":[{"role":"user","parts":[{"text":"hi"}]}]}
--- response_body_like: ^\{"error":\{"code":502,"message":"The gateway could not read the answer \(it is encoded\)[^"]*","status":"UNAVAILABLE"\}\}$
--- error_code: 502
--- error_log
must be redacted and cannot be read
--- no_error_log
[alert]
[crit]
[emerg]



=== TEST 11: fix 8 - an unreadable Responses stream is withheld with an error event of the Responses API
--- config
    location /gzsse/ {
        llm_gateway openai;
        llm_redact response;
        proxy_pass http://mock;
    }
--- request
POST /gzsse/v1/responses
{"model":"gpt-4o","input":"hi","stream":true}
--- response_body_like: ^event: error\ndata: \{"type":"error","code":"answer_unreadable","message":"The gateway could not read the answer \(it is encoded\)[^"]*","param":null,"sequence_number":0\}\n\n$
--- error_code: 200
--- error_log
must be redacted and cannot be read
--- no_error_log
[alert]
[crit]
[emerg]



=== TEST 12: fix 8 - a Responses answer that is not a stream keeps the OpenAI error object
--- config
    location /gz/ {
        llm_gateway openai;
        llm_redact response;
        proxy_pass http://mock;
    }
--- request
POST /gz/v1/responses
{"model":"gpt-4o","input":"hi"}
--- response_body_like: ^\{"error":\{"message":"The gateway could not read the answer \(it is encoded\)[^"]*","type":"server_error","param":null,"code":"answer_unreadable"\}\}$
--- error_code: 502
--- error_log
must be redacted and cannot be read
--- no_error_log
[alert]
[crit]
[emerg]



=== TEST 13: fix 4 - tokenize mode refuses Responses requests that use the provider's stored state
--- config
    location /v1/ {
        llm_gateway openai;
        llm_redact request;
        llm_redact_mode tokenize;
        proxy_pass http://mock;
    }
--- pipelined_requests eval
['POST /v1/responses
{"model":"gpt-4o","previous_response_id":"resp_1","input":"and mail it to bob@example.com"}',
'POST /v1/responses
{"model":"gpt-4o","conversation":{"id":"conv_1"},"input":"hi"}']
--- response_body_like eval
['^\{"error":\{"message":"previous_response_id cannot be used through this gateway: its redaction policy \(tokenize\)[^"]*","type":"invalid_request_error","param":"previous_response_id","code":"unsupported_with_tokenize"\}\}',
'"param":"conversation","code":"unsupported_with_tokenize"']
--- error_code eval
[400, 400]
--- no_error_log
upstream log:



=== TEST 14: fix 4 - a null previous_response_id is no stored state: tokenized and passed
--- config
    location /v1/ {
        llm_gateway openai;
        llm_redact request;
        llm_redact_mode tokenize;
        proxy_pass http://mock;
    }
--- request
POST /v1/responses
{"model":"gpt-4o","previous_response_id":null,"input":"mail bob@example.com"}
--- response_body
upstream got: {"model":"gpt-4o","previous_response_id":null,"input":"mail bob@example.com"}
--- error_code: 200
--- error_log
upstream log: /v1/responses {"model":"gpt-4o","previous_response_id":null,"input":"mail [EMAIL_1]"}



=== TEST 15: fix 5 - $llm_api_key prefers the API's own credential (anthropic: x-api-key; gemini: x-goog-api-key, then ?key=; openai: Bearer, then api-key)
--- config
    location /a/ {
        llm_gateway anthropic;
        add_header X-Key "[$llm_api_key]";
        return 204;
    }
    location /g/ {
        llm_gateway gemini;
        add_header X-Key "[$llm_api_key]";
        return 204;
    }
    location /o/ {
        llm_gateway openai;
        add_header X-Key "[$llm_api_key]";
        return 204;
    }
--- request eval
["GET /a/", "GET /a/", "GET /g/?alt=sse&key=g-arg", "GET /g/?key=g-arg", "GET /g/?key=g-arg", "GET /o/", "GET /o/"]
--- more_headers eval
["Authorization: Bearer junk-1\nx-api-key: sk-ant-real", "Authorization: Bearer only-bearer", "", "x-goog-api-key: g-header", "Authorization: Bearer junk-2", "x-api-key: other\nAuthorization: Bearer sk-oai", "x-api-key: other\napi-key: azure-key"]
--- error_code eval
[204, 204, 204, 204, 204, 204, 204]
--- response_headers eval
["X-Key: [sk-ant-real]", "X-Key: [only-bearer]", "X-Key: [g-arg]", "X-Key: [g-header]", "X-Key: [g-arg]", "X-Key: [sk-oai]", "X-Key: [azure-key]"]



=== TEST 16: fix 5 - empty=refuse refuses a request without a key (401), empty=pass (the default) lets it through
--- http_config eval
$::Mock . '    llm_budget_zone $llm_api_key zone=strict:1m tokens=100000/h empty=refuse;
    llm_budget_zone $llm_api_key zone=lax:1m tokens=100000/h;'
--- config
    location /strict/ {
        llm_gateway openai;
        llm_budget strict;
        proxy_pass http://mock;
    }
    location /lax/ {
        llm_gateway openai;
        llm_budget lax;
        proxy_pass http://mock;
    }
--- request eval
["POST /strict/v1/chat/completions
{\"model\":\"gpt-4o\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}",
"POST /strict/v1/chat/completions
{\"model\":\"gpt-4o\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}",
"POST /lax/v1/chat/completions
{\"model\":\"gpt-4o\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}"]
--- more_headers eval
["", "Authorization: Bearer sk-1", ""]
--- error_code eval
[401, 200, 200]
--- response_body_like eval
['"code":"missing_budget_key"', 'upstream got', 'upstream got']



=== TEST 17: fix 6 - Gemini candidateCount multiplies the completion allowance reserved
--- http_config eval
$::Mock . '    llm_budget_zone $http_x_key zone=gem:1m tokens=300/h;'
--- config
    location /gans/ {
        llm_gateway gemini;
        llm_budget gem;
        proxy_pass http://mock;
    }
--- request eval
["POST /gans/v1beta/models/gemini-2.0-flash:generateContent
{\"contents\":[{\"role\":\"user\",\"parts\":[{\"text\":\"hi\"}]}],\"generationConfig\":{\"maxOutputTokens\":100,\"candidateCount\":4}}",
"POST /gans/v1beta/models/gemini-2.0-flash:generateContent
{\"contents\":[{\"role\":\"user\",\"parts\":[{\"text\":\"hi\"}]}],\"generationConfig\":{\"maxOutputTokens\":100,\"candidateCount\":1}}"]
--- more_headers
X-Key: k1
--- error_code eval
[429, 200]
--- response_body_like eval
['^\{"error":\{"code":429,"message":"Request too large for gemini-2.0-flash: the token budget \\\\"gem\\\\" allows 300 tokens, the request needs 4\d\d\.[^"]*","status":"RESOURCE_EXHAUSTED"\}\}', '"candidates"']



=== TEST 18: fix 7 - token-ID inputs of embeddings count one token per ID
--- http_config eval
$::Mock . q{    log_format llm028 'llm-log: ep=$llm_endpoint prompt=$llm_prompt_tokens source=$llm_tokens_source';}
--- config
    location /v1/ {
        llm_gateway openai;
        proxy_pass http://mock;
        access_log logs/error.log llm028;
    }
--- request eval
"POST /v1/embeddings
{\"model\":\"text-embedding-3-small\",\"input\":[[1000,1001,1002,1003,1004,1005,1006,1007,1008,1009,1010,1011,1012,1013,1014,1015,1016,1017,1018,1019,1020,1021,1022,1023,1024,1025,1026,1027,1028,1029,1030,1031,1032,1033,1034,1035,1036,1037,1038,1039,1040,1041,1042,1043,1044,1045,1046,1047,1048,1049,1050,1051,1052,1053,1054,1055,1056,1057,1058,1059,1060,1061,1062,1063,1064,1065,1066,1067,1068,1069,1070,1071,1072,1073,1074,1075,1076,1077,1078,1079,1080,1081,1082,1083,1084,1085,1086,1087,1088,1089,1090,1091,1092,1093,1094,1095,1096,1097,1098,1099],[5000,5001,5002,5003,5004,5005,5006,5007,5008,5009,5010,5011,5012,5013,5014,5015,5016,5017,5018,5019,5020,5021,5022,5023,5024,5025,5026,5027,5028,5029,5030,5031,5032,5033,5034,5035,5036,5037,5038,5039,5040,5041,5042,5043,5044,5045,5046,5047,5048,5049]]}"
--- error_code: 200
--- error_log eval
qr/llm-log: ep=embeddings prompt=161 source=estimate/



=== TEST 19: fix 7 - a legacy completions prompt of token IDs counts one token per ID
--- http_config eval
$::Mock . q{    log_format llm028 'llm-log: ep=$llm_endpoint prompt=$llm_prompt_tokens source=$llm_tokens_source';}
--- config
    location /v1/ {
        llm_gateway openai;
        proxy_pass http://mock;
        access_log logs/error.log llm028;
    }
--- request eval
"POST /v1/completions
{\"model\":\"gpt-3.5-turbo-instruct\",\"prompt\":[7000,7001,7002,7003,7004,7005,7006,7007,7008,7009,7010,7011,7012,7013,7014,7015,7016,7017,7018,7019,7020,7021,7022,7023,7024,7025,7026,7027,7028,7029],\"max_tokens\":1}"
--- error_code: 200
--- error_log eval
qr/llm-log: ep=completions prompt=37 source=estimate/



=== TEST 20: fix 9 - nginx -t: a duplicate parameter of llm_budget_zone
--- http_config eval
$::Mock . '    llm_budget_zone $llm_api_key zone=dup:1m tokens=1000/h full=admit full=refuse;'
--- config
--- must_die
--- error_log
llm_budget_zone: duplicate parameter "full=refuse"



=== TEST 21: fix 9 - nginx -t: a duplicate parameter of llm_cache_embedder
--- http_config eval
$::Mock . '    llm_cache_zone zone=answers:1m ttl=1h;'
--- config
    location /v1/ {
        llm_gateway openai;
        llm_cache answers;
        llm_cache_semantic 0.95;
        llm_cache_embedder /_emb scripts=latin scripts=han;
        proxy_pass http://mock;
    }
--- must_die
--- error_log
llm_cache_embedder: duplicate parameter "scripts=han"
