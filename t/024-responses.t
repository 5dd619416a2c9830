# The Responses API (/responses) in llm_gateway openai locations: no
# stream_options injected, usage read from response.completed /
# response.incomplete / response.failed and from JSON answers, budgets
# reserved from max_output_tokens and charged, a budget's cut ending with
# response.incomplete, stream endings, routing's model rewrite, errors.

use Test::Nginx::Socket 'no_plan';
use FindBin;
use lib "$FindBin::Bin/lib";
use LLMTest::Suite;
use JSON::PP;

$ENV{TEST_NGINX_HTML_DIR} ||= html_dir();

no_shuffle();
no_long_string();
no_root_location();
log_level('info');

our $Mock = <<'_EOC_';
    log_format llm 'llm-log: ep=$llm_endpoint model=$llm_model status=$status prompt=$llm_prompt_tokens completion=$llm_completion_tokens cached=$llm_cached_tokens reasoning=$llm_reasoning_tokens source=$llm_tokens_source cost=$llm_cost remaining=$llm_budget_remaining';

    llm_model gpt-5 upstream=mock input=1.00 output=10.00 cached_input=0.10;
    llm_model gpt-5-mini upstream=mock input=1.00 output=10.00;
    llm_model broken upstream=broken;
    llm_route smart { broken 1; fallback gpt-5-mini; }
    llm_route shadowed { gpt-5 1; shadow gpt-5-mini 100%; }

    llm_budget_zone $http_x_key zone=per_key:1m tokens=1000/h;
    llm_cache_zone zone=answers:1m;

    upstream mock { server unix:$TEST_NGINX_HTML_DIR/mock.sock; }
    upstream broken { server unix:$TEST_NGINX_HTML_DIR/broken.sock; }

    server {
        listen unix:$TEST_NGINX_HTML_DIR/broken.sock;
        access_log off;
        location / {
            default_type application/json;
            echo_read_request_body;
            echo_status 503;
            echo '{"error":{"message":"overloaded"}}';
        }
    }

    server {
        listen unix:$TEST_NGINX_HTML_DIR/mock.sock;
        access_log off;

        location /echo/ {
            default_type application/json;
            echo_read_request_body;
            echo_request_body;
        }

        location /json/ {
            default_type application/json;
            echo_read_request_body;
            echo '{"id":"resp_1","object":"response","status":"completed","error":null,"incomplete_details":null,"model":"gpt-5","output":[{"type":"reasoning","id":"rs_1","summary":[]},{"type":"message","id":"msg_1","role":"assistant","content":[{"type":"output_text","text":"Paris.","annotations":[]}]}],"usage":{"input_tokens":9463,"input_tokens_details":{"cached_tokens":4096},"output_tokens":582,"output_tokens_details":{"reasoning_tokens":512},"total_tokens":10045}}';
        }

        location /big/ {
            default_type application/json;
            echo_read_request_body;
            echo '{"id":"resp_2","object":"response","status":"completed","model":"gpt-5","output":[],"usage":{"input_tokens":380,"input_tokens_details":{"cached_tokens":0},"output_tokens":600,"output_tokens_details":{"reasoning_tokens":0},"total_tokens":980}}';
        }

        location /stream/ {
            default_type text/event-stream;
            echo_read_request_body;
            echo -n 'event: response.created\ndata: {"type":"response.created","sequence_number":0,"response":{"id":"resp_3","object":"response","status":"in_progress","model":"gpt-5","output":[],"usage":null}}\n\n';
            echo -n 'event: response.reasoning_summary_text.delta\ndata: {"type":"response.reasoning_summary_text.delta","sequence_number":1,"item_id":"rs_1","output_index":0,"summary_index":0,"delta":"Thinking about capitals"}\n\n';
            echo -n 'event: response.output_text.delta\ndata: {"type":"response.output_text.delta","sequence_number":2,"item_id":"msg_1","output_index":1,"content_index":0,"delta":"Paris."}\n\n';
            echo -n 'event: response.completed\ndata: {"type":"response.completed","sequence_number":3,"response":{"id":"resp_3","object":"response","status":"completed","model":"gpt-5","output":[],"usage":{"input_tokens":9463,"input_tokens_details":{"cached_tokens":4096},"output_tokens":582,"output_tokens_details":{"reasoning_tokens":512},"total_tokens":10045}}}\n\n';
        }

        location /bigstream/ {
            default_type text/event-stream;
            echo_read_request_body;
            echo -n 'event: response.created\ndata: {"type":"response.created","sequence_number":0,"response":{"id":"resp_4","object":"response","status":"in_progress","model":"gpt-5","output":[],"usage":null}}\n\n';
            echo -n 'event: response.output_text.delta\ndata: {"type":"response.output_text.delta","sequence_number":1,"item_id":"msg_1","output_index":0,"content_index":0,"delta":"Paris."}\n\n';
            echo -n 'event: response.completed\ndata: {"type":"response.completed","sequence_number":2,"response":{"id":"resp_4","object":"response","status":"completed","model":"gpt-5","output":[],"usage":{"input_tokens":380,"input_tokens_details":{"cached_tokens":0},"output_tokens":600,"output_tokens_details":{"reasoning_tokens":0},"total_tokens":980}}}\n\n';
        }

        location /long/ {
            default_type text/event-stream;
            echo_read_request_body;
            echo -n 'event: response.created\ndata: {"type":"response.created","sequence_number":0,"response":{"id":"resp_5","object":"response","status":"in_progress","model":"gpt-5","output":[]}}\n\n';
            echo -n 'event: response.output_text.delta\ndata: {"type":"response.output_text.delta","sequence_number":1,"item_id":"m","output_index":0,"content_index":0,"delta":"one two three four five six seven eight nine ten"}\n\n';
            echo_flush;
            echo_sleep 0.05;
            echo -n 'event: response.output_text.delta\ndata: {"type":"response.output_text.delta","sequence_number":2,"item_id":"m","output_index":0,"content_index":0,"delta":" eleven twelve thirteen fourteen fifteen sixteen"}\n\n';
            echo_flush;
            echo_sleep 0.05;
            echo -n 'event: response.output_text.delta\ndata: {"type":"response.output_text.delta","sequence_number":3,"item_id":"m","output_index":0,"content_index":0,"delta":" the last words"}\n\n';
            echo -n 'event: response.completed\ndata: {"type":"response.completed","sequence_number":4,"response":{"id":"resp_5","object":"response","status":"completed","model":"gpt-5","output":[],"usage":{"input_tokens":20,"output_tokens":30,"total_tokens":50}}}\n\n';
        }

        location /cut/ {
            default_type text/event-stream;
            echo_read_request_body;
            echo -n 'event: response.created\ndata: {"type":"response.created","sequence_number":0,"response":{"id":"resp_6","object":"response","status":"in_progress","model":"gpt-5","output":[]}}\n\n';
            echo -n 'event: response.output_text.delta\ndata: {"type":"response.output_text.delta","sequence_number":1,"item_id":"m","output_index":0,"content_index":0,"delta":"Par"}\n\n';
        }

        location /failed/ {
            default_type text/event-stream;
            echo_read_request_body;
            echo -n 'event: response.created\ndata: {"type":"response.created","sequence_number":0,"response":{"id":"resp_7","object":"response","status":"in_progress","model":"gpt-5","output":[]}}\n\n';
            echo -n 'event: error\ndata: {"type":"error","sequence_number":1,"error":{"type":"insufficient_quota","code":"insufficient_quota","message":"You exceeded your current quota.","param":null}}\n\n';
            echo -n 'event: response.failed\ndata: {"type":"response.failed","sequence_number":2,"response":{"id":"resp_7","object":"response","status":"failed","error":{"code":"insufficient_quota","message":"You exceeded your current quota."},"output":[],"usage":null}}\n\n';
        }

        location /erroronly/ {
            default_type text/event-stream;
            echo_read_request_body;
            echo -n 'event: response.created\ndata: {"type":"response.created","sequence_number":0,"response":{"id":"resp_8","object":"response","status":"in_progress","model":"gpt-5","output":[]}}\n\n';
            echo -n 'event: error\ndata: {"type":"error","sequence_number":1,"code":"server_error","message":"The server had an error.","param":null}\n\n';
        }

        location /noeol/ {
            default_type text/event-stream;
            echo_read_request_body;
            echo -n 'event: response.output_text.delta\ndata: {"type":"response.output_text.delta","sequence_number":0,"delta":"Hi"}\n\n';
            echo -n 'event: response.completed\ndata: {"type":"response.completed","sequence_number":1,"response":{"id":"resp_9","status":"completed","usage":{"input_tokens":3,"output_tokens":1,"total_tokens":4}}}';
        }

        location /redact/ {
            default_type text/event-stream;
            echo_read_request_body;
            echo -n 'event: response.created\ndata: {"type":"response.created","sequence_number":0,"response":{"id":"resp_r","object":"response","status":"in_progress","model":"gpt-5","output":[]}}\n\n';
            echo -n 'event: response.output_text.delta\ndata: {"type":"response.output_text.delta","sequence_number":1,"item_id":"msg_1","output_index":0,"content_index":0,"delta":"Write to john.d"}\n\n';
            echo_flush;
            echo -n 'event: response.output_text.delta\ndata: {"type":"response.output_text.delta","sequence_number":2,"item_id":"msg_1","output_index":0,"content_index":0,"delta":"oe@exam"}\n\n';
            echo_flush;
            echo -n 'event: response.output_text.delta\ndata: {"type":"response.output_text.delta","sequence_number":3,"item_id":"msg_1","output_index":0,"content_index":0,"delta":"ple.com"}\n\n';
            echo -n 'event: response.output_text.done\ndata: {"type":"response.output_text.done","sequence_number":4,"item_id":"msg_1","output_index":0,"content_index":0,"text":"Write to john.doe@example.com"}\n\n';
            echo -n 'event: response.completed\ndata: {"type":"response.completed","sequence_number":5,"response":{"id":"resp_r","object":"response","status":"completed","model":"gpt-5","output":[{"type":"message","id":"msg_1","role":"assistant","content":[{"type":"output_text","text":"Write to john.doe@example.com","annotations":[]}]}],"usage":{"input_tokens":5,"output_tokens":9,"total_tokens":14}}}\n\n';
        }

        location /redactjson/ {
            default_type application/json;
            echo_read_request_body;
            echo '{"id":"resp_j","object":"response","status":"completed","model":"gpt-5","output":[{"type":"message","id":"msg_1","role":"assistant","content":[{"type":"output_text","text":"Mail john.doe@example.com now","annotations":[]}]}],"usage":{"input_tokens":5,"output_tokens":9,"total_tokens":14}}';
        }

        location /v1/ {
            echo "passed through: $request_method $uri";
        }
    }
_EOC_

our $Gateway = <<'_EOC_';
    location / {
        llm_gateway openai;
        llm_budget per_key;
        llm_budget_allowance 50;
        proxy_pass http://mock;
        access_log logs/error.log llm;
    }

    location /redact/ {
        llm_gateway openai;
        llm_redact response;
        proxy_pass http://mock;
        access_log logs/error.log llm;
    }

    location /redactjson/ {
        llm_gateway openai;
        llm_redact response;
        proxy_pass http://mock;
    }

    location /cached/ {
        llm_gateway openai;
        llm_cache answers;
        proxy_pass http://mock/stream/;
        access_log logs/error.log llm;
    }

    location /cachedjson/ {
        llm_gateway openai;
        llm_cache answers;
        proxy_pass http://mock/json/;
        access_log logs/error.log llm;
    }

    location /shadowed/ {
        llm_gateway openai;
        proxy_pass http://$llm_upstream/stream/;
        access_log logs/error.log llm;
    }

    location /routed/ {
        llm_gateway openai;
        proxy_pass http://$llm_upstream/echo/;
        access_log logs/error.log llm;
    }
_EOC_

our $Req = '{"model":"gpt-5","input":"What is the capital of France?"}';
our $SReq = '{"model":"gpt-5","stream":true,"input":[{"role":"user","content":[{"type":"input_text","text":"What is the capital of France?"}]}]}';

our $Stream = 'event: response.created
data: {"type":"response.created","sequence_number":0,"response":{"id":"resp_3","object":"response","status":"in_progress","model":"gpt-5","output":[],"usage":null}}

event: response.reasoning_summary_text.delta
data: {"type":"response.reasoning_summary_text.delta","sequence_number":1,"item_id":"rs_1","output_index":0,"summary_index":0,"delta":"Thinking about capitals"}

event: response.output_text.delta
data: {"type":"response.output_text.delta","sequence_number":2,"item_id":"msg_1","output_index":1,"content_index":0,"delta":"Paris."}

event: response.completed
data: {"type":"response.completed","sequence_number":3,"response":{"id":"resp_3","object":"response","status":"completed","model":"gpt-5","output":[],"usage":{"input_tokens":9463,"input_tokens_details":{"cached_tokens":4096},"output_tokens":582,"output_tokens_details":{"reasoning_tokens":512},"total_tokens":10045}}}

';

# the text of a streamed Responses answer: its output_text deltas joined
sub deltas {
    my $out = '';
    for my $line (split /\n/, shift) {
        next unless $line =~ /^data: (\{.*)$/;
        my $j = eval { JSON::PP::decode_json($1) } or return "bad JSON: $line";
        $out .= $j->{delta} if ($j->{type} // '') eq 'response.output_text.delta';
    }
    return $out;
}

block_defaults(http_config => $Mock, config => $Gateway);

run_tests();

__DATA__

=== TEST 1: a streamed request is forwarded without stream_options (the Responses API has no include_usage)
--- request eval
"POST /echo/v1/responses\n$::SReq"
--- response_body eval
$::SReq
--- error_log
llm-log: ep=responses model=gpt-5 status=200



=== TEST 2: a stream passes unchanged, nothing appended after response.completed; usage from response.completed (cached and reasoning tokens)
--- request eval
"POST /stream/v1/responses\n$::SReq"
--- response_body eval
$::Stream
--- response_headers
Content-Type: text/event-stream
X-Accel-Buffering: no
--- error_log
llm-log: ep=responses model=gpt-5 status=200 prompt=9463 completion=582 cached=4096 reasoning=512 source=usage cost=0.011596
--- no_error_log
ended before its end event



=== TEST 3: a JSON answer: usage read (input, output, cached, reasoning), cost
--- request eval
"POST /json/v1/responses\n$::Req"
--- response_body_like: "output_text","text":"Paris\."
--- error_log
llm-log: ep=responses model=gpt-5 status=200 prompt=9463 completion=582 cached=4096 reasoning=512 source=usage cost=0.011596



=== TEST 4: budgets are charged with the answer's usage: a second request after a 980-token answer is refused (OpenAI's format)
--- request eval
["POST /big/v1/responses\n$::Req", "POST /big/v1/responses\n$::Req"]
--- more_headers
X-Key: alice
--- error_code eval
[200, 429]
--- response_body_like eval
["\"total_tokens\":980", "^\\{\"error\":\\{\"message\":\"Rate limit reached for gpt-5: the token budget \\\\\"per_key\\\\\" is used up\\..*\",\"type\":\"tokens\",\"param\":null,\"code\":\"rate_limit_exceeded\"\\}\\}\$"]



=== TEST 5: the same with streams: response.completed's usage is charged
--- request eval
["POST /bigstream/v1/responses\n{\"model\":\"gpt-5\",\"stream\":true,\"input\":\"Hi\"}", "POST /bigstream/v1/responses\n{\"model\":\"gpt-5\",\"stream\":true,\"input\":\"Hi\"}"]
--- more_headers
X-Key: bob
--- error_code eval
[200, 429]
--- response_body_like eval
["event: response.completed\n.*\"total_tokens\":980\\}\\}\\}\n\n\$", "rate_limit_exceeded"]



=== TEST 6: the reservation counts max_output_tokens: a request that cannot fit is refused before it is sent
--- request
POST /json/v1/responses
{"model":"gpt-5","input":"Hi","max_output_tokens":5000}
--- more_headers
X-Key: carol
--- error_code: 429
--- response_body_like: "type":"tokens"
--- no_error_log
llm-log: ep=responses model=gpt-5 status=200



=== TEST 7: a stream that runs past its budget ends with response.incomplete (reason max_output_tokens, usage)
--- config
    location / {
        llm_gateway openai;
        llm_budget per_key;
        llm_budget_allowance 1;
        proxy_pass http://mock;
        access_log logs/error.log llm;
    }
--- http_config eval
my $c = $::Mock;
$c =~ s/tokens=1000\/h/tokens=15\/h cut=on/;
$c
--- request
POST /long/v1/responses
{"model":"gpt-5","stream":true,"input":"Hi"}
--- more_headers
X-Key: dave
--- response_body_like: ^(?!.*(?:the last words|\[DONE\]|chat.completion))event: response.created\n.*"delta":"one two three four five six seven eight nine ten"\}\n\n.*event: response.incomplete\ndata: \{"type":"response.incomplete","sequence_number":\d+,"response":\{"id":"resp_5","object":"response","status":"incomplete","incomplete_details":\{"reason":"max_output_tokens"\},"model":"gpt-5","output":\[\],"usage":\{"input_tokens":\d+,"input_tokens_details":\{"cached_tokens":0\},"output_tokens":\d+,"output_tokens_details":\{"reasoning_tokens":0\},"total_tokens":\d+\}\}\}\n\n$
--- error_log
is cut: it ran past llm_budget_zone "per_key"



=== TEST 8: a stream cut upstream gets an error event in the Responses format (no [DONE]); the text is estimated
--- request eval
"POST /cut/v1/responses\n$::SReq"
--- response_body_like: ^(?!.*(?:\[DONE\])).*?(?:"delta":"Par"\}\n\nevent: error\ndata: \{"type":"error","code":"stream_interrupted","message":"The upstream's stream ended before the answer was complete.","param":null,"sequence_number":2\}\n\n$)
--- error_log eval
[qr/ended before its end event/, qr/llm-log: ep=responses model=gpt-5 status=200 prompt=\d+ completion=1 cached=0 reasoning=0 source=estimate/]



=== TEST 9: the provider's error event and response.failed end the stream: nothing is appended
--- request eval
"POST /failed/v1/responses\n$::SReq"
--- response_body_like: ^(?!.*(?:stream_interrupted|\[DONE\])).*?(?:"status":"failed".*"usage":null\}\}\n\n$)
--- no_error_log
ended before its end event



=== TEST 10: a provider's error event as the last event: the stream ends as the provider ended it
--- request eval
"POST /erroronly/v1/responses\n$::SReq"
--- response_body_like: ^(?!.*(?:stream_interrupted)).*?(?:"message":"The server had an error.","param":null\}\n\n$)
--- no_error_log
ended before its end event



=== TEST 11: a last event at EOF without its blank line is read (usage) and nothing is appended
--- request eval
"POST /noeol/v1/responses\n$::SReq"
--- response_body_like: ^(?!.*(?:stream_interrupted)).*?(?:"total_tokens":4\}\}\}$)
--- error_log
llm-log: ep=responses model=gpt-5 status=200 prompt=3 completion=1
--- no_error_log
ended before its end event



=== TEST 12: routing with fallback rewrites the Responses request's model
--- request
POST /routed/v1/responses
{"model":"smart","input":"Hi"}
--- response_body chomp
{"model":"gpt-5-mini","input":"Hi"}
--- error_log
llm-log: ep=responses model=gpt-5-mini status=200



=== TEST 13: a bad input is refused in OpenAI's format, never forwarded
--- request
POST /json/v1/responses
{"model":"gpt-5","input":42}
--- error_code: 400
--- response_body
{"error":{"message":"input: expected a string or an array of input items","type":"invalid_request_error","param":"input","code":null}}



=== TEST 14: instructions, input items (function calls and outputs) and previous_response_id are accepted
--- request
POST /echo/v1/responses
{"model":"gpt-5","instructions":"Be brief.","previous_response_id":"resp_0","input":[{"type":"function_call","call_id":"c1","name":"f","arguments":"{\"a\":1}"},{"type":"function_call_output","call_id":"c1","output":"42"},{"role":"user","content":"and?"}]}
--- response_body_like: "previous_response_id":"resp_0"
--- error_log eval
qr/llm-log: ep=responses model=gpt-5 status=200 prompt=\d+/



=== TEST 15: other Responses endpoints pass through untouched, not logged as model calls (cancel, input_tokens)
--- request eval
["POST /v1/responses/resp_1/cancel\n{}", "POST /v1/responses/input_tokens\n{\"model\":\"gpt-5\",\"input\":\"Hi\"}"]
--- response_body eval
["passed through: POST /v1/responses/resp_1/cancel\n", "passed through: POST /v1/responses/input_tokens\n"]
--- error_log
llm-log: ep=- model=- status=200 prompt=- completion=-
--- no_error_log
llm-log: ep=responses



=== TEST 16: response redaction: a value split over output_text deltas is held back and redacted; the deltas join to the redacted text
--- request eval
"POST /redact/v1/responses\n$::SReq"
--- response_body_filters eval
\&main::deltas
--- response_body chomp
Write to [EMAIL]



=== TEST 17: no piece of the value reaches the client: not in the deltas, nor in output_text.done or response.completed
--- request eval
"POST /redact/v1/responses\n$::SReq"
--- response_body_like: ^(?!.*(?:john|doe|example)).*?(?:"type":"response.output_text.done".*"text":"Write to \[EMAIL\]"\}\n\n.*"content":\[\{"type":"output_text","text":"Write to \[EMAIL\]","annotations")



=== TEST 18: response redaction of a JSON Responses answer
--- request eval
"POST /redactjson/v1/responses\n$::Req"
--- response_body_like: ^(?!.*(?:john)).*?(?:"text":"Mail \[EMAIL\] now")



=== TEST 19: the exact cache: a streamed Responses answer is stored and replayed as Responses events (created, the text, completed with its usage)
--- request eval
["POST /cached/v1/responses\n$::SReq", "POST /cached/v1/responses\n$::SReq"]
--- more_headers
Authorization: Bearer alice
--- response_headers eval
["X-LLM-Cache: MISS", "X-LLM-Cache: HIT"]
--- response_body_like eval
["^(?!.*chat.completion).*?event: response.completed\n", "^(?!.*(?:chat.completion|\\[DONE\\]))event: response.created\ndata: \\{\"type\":\"response.created\",\"sequence_number\":0,\"response\":\\{\"id\":\"resp_[0-9a-f]+\",\"object\":\"response\",\"created_at\":\\d+,\"status\":\"in_progress\",\"model\":\"gpt-5\",.*event: response.output_text.delta\ndata: \\{[^\n]*\"delta\":\"Paris\\.\"\\}\n\n.*event: response.output_text.done\n.*event: response.completed\ndata: \\{\"type\":\"response.completed\",\"sequence_number\":\\d+,\"response\":\\{[^\n]*\"status\":\"completed\"[^\n]*\"text\":\"Paris\\.\"[^\n]*\"usage\":\\{\"input_tokens\":9463,[^\n]*\"output_tokens\":582,[^\n]*\\}\\}\\}\n\n\$"]



=== TEST 20: a streamed answer in the cache is replayed as a JSON response object to a request without stream
--- request eval
["POST /cached/v1/responses\n{\"model\":\"gpt-5\",\"stream\":true,\"input\":\"Capital of Italy?\"}", "POST /cached/v1/responses\n{\"model\":\"gpt-5\",\"input\":\"Capital of Italy?\"}"]
--- more_headers
Authorization: Bearer bob
--- response_headers eval
["X-LLM-Cache: MISS", "X-LLM-Cache: HIT"]
--- response_body_like eval
["event: response.completed", "^\\{\"id\":\"resp_[0-9a-f]+\",\"object\":\"response\",\"created_at\":\\d+,\"status\":\"completed\",\"model\":\"gpt-5\",\"output\":\\[\\{\"id\":\"msg_[0-9a-f]+\",\"type\":\"message\",\"status\":\"completed\",\"role\":\"assistant\",\"content\":\\[\\{\"type\":\"output_text\",\"annotations\":\\[\\],\"text\":\"Paris\\.\"\\}\\]\\}\\],\"usage\":\\{\"input_tokens\":9463,.*\"output_tokens\":582,.*\\}\\}\n\$"]



=== TEST 21: a JSON Responses answer is stored and replayed; its usage is logged for the hit
--- request eval
["POST /cachedjson/v1/responses\n$::Req", "POST /cachedjson/v1/responses\n$::Req"]
--- more_headers
Authorization: Bearer carol
--- response_headers eval
["X-LLM-Cache: MISS", "X-LLM-Cache: HIT"]
--- response_body_like eval
["\"id\":\"resp_1\"", "\"status\":\"completed\".*\"text\":\"Paris\\.\""]



=== TEST 22: a request that continues a stored response (previous_response_id) is never answered from the cache
--- request eval
["POST /cachedjson/v1/responses\n{\"model\":\"gpt-5\",\"previous_response_id\":\"resp_0\",\"input\":\"and?\"}", "POST /cachedjson/v1/responses\n{\"model\":\"gpt-5\",\"previous_response_id\":\"resp_0\",\"input\":\"and?\"}"]
--- more_headers
Authorization: Bearer dan
--- response_headers eval
["X-LLM-Cache: BYPASS", "X-LLM-Cache: BYPASS"]



=== TEST 23: shadow traffic: the shadow (model rewritten) is read with the Responses usage reader; the client gets the primary's stream
--- request eval
"POST /shadowed/v1/responses\n{\"model\":\"shadowed\",\"stream\":true,\"input\":\"Hi\"}"
--- response_body eval
$::Stream
--- error_log eval
[qr/llm shadow: route "shadowed" primary "gpt-5" status 200 tokens 582 cost 11596600, shadow "gpt-5-mini" status 200 latency \d+ms tokens 582 cost 15283000, exact 1 similarity 1.00/, qr/llm-log: ep=responses model=gpt-5 status=200 prompt=9463 completion=582/]
