# Exact answer cache: hit and miss, isolation by credentials and scope,
# parameter sensitivity, white space and key order insensitivity, streams
# stored and replayed as JSON or SSE (and the reverse), OpenAI and
# Anthropic, errors / cut streams / tool calls not stored, TTL, a full zone,
# bypass and Cache-Control, no budget charged for a hit, configuration
# errors.

use Test::Nginx::Socket 'no_plan';
use FindBin;
use lib "$FindBin::Bin/lib";
use LLMTest::Suite;

$ENV{TEST_NGINX_HTML_DIR} ||= html_dir();

no_shuffle();
no_long_string();
no_root_location();
log_level('info');

# the upstream's answer, as text (JSON-encoded in the mock's answers)
our $Text = 'Hello \"there\", from upstream\nline two';

our $Big = 'lorem ipsum ' x 250;

our $Mock = <<'_EOC_' . <<"_EOC2_";
    log_format llm 'llm-log: cache=$llm_cache_status similarity=$llm_cache_similarity prompt=$llm_prompt_tokens completion=$llm_completion_tokens cost=$llm_cost status=$status';

    llm_model gpt-4o-mini upstream=mock input=1.00 output=2.00;
    llm_model claude-3-5-haiku upstream=mock input=1.00 output=2.00;

    llm_cache_zone zone=main:1m;
    llm_cache_zone zone=short:1m ttl=3s;
    llm_cache_zone zone=tiny:32k;
    llm_cache_zone zone=small_entries:1m max_entry=100;

    llm_budget_zone $http_x_key zone=budget:1m tokens=1000/h;

    upstream mock {
        server unix:$TEST_NGINX_HTML_DIR/mock.sock;
    }

    server {
        listen unix:$TEST_NGINX_HTML_DIR/mock.sock;
        access_log off;
        add_header X-Mock upstream;

        location /json/ {
            default_type application/json;
            echo_read_request_body;
            echo '{"id":"up-1","object":"chat.completion","created":1,"model":"gpt-4o-mini-2024-07-18","choices":[{"index":0,"message":{"role":"assistant","content":"Hello \\"there\\", from upstream\\nline two"},"finish_reason":"stop"}],"usage":{"prompt_tokens":12,"completion_tokens":9,"total_tokens":21}}';
        }

        location /stream/ {
            default_type text/event-stream;
            echo_read_request_body;
            echo -n 'data: {"id":"up-2","object":"chat.completion.chunk","model":"gpt-4o-mini-2024-07-18","choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}\n\n';
            echo_flush;
            echo -n 'data: {"id":"up-2","object":"chat.completion.chunk","model":"gpt-4o-mini-2024-07-18","choices":[{"index":0,"delta":{"content":"Hello \\"there\\","},"finish_reason":null}]}\n\n';
            echo_flush;
            echo -n 'data: {"id":"up-2","object":"chat.completion.chunk","model":"gpt-4o-mini-2024-07-18","choices":[{"index":0,"delta":{"content":" from upstream\\nline two"},"finish_reason":null}]}\n\n';
            echo -n 'data: {"id":"up-2","object":"chat.completion.chunk","model":"gpt-4o-mini-2024-07-18","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}\n\n';
            echo -n 'data: {"id":"up-2","object":"chat.completion.chunk","model":"gpt-4o-mini-2024-07-18","choices":[],"usage":{"prompt_tokens":12,"completion_tokens":9,"total_tokens":21}}\n\n';
            echo -n 'data: [DONE]\n\n';
        }

        location /anthropic-json/ {
            default_type application/json;
            echo_read_request_body;
            echo '{"id":"msg_up","type":"message","role":"assistant","model":"claude-3-5-haiku-20241022","content":[{"type":"text","text":"Hello \\"there\\", from upstream\\nline two"}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":12,"output_tokens":9}}';
        }

        location /anthropic-stream/ {
            default_type text/event-stream;
            echo_read_request_body;
            echo -n 'event: message_start\ndata: {"type":"message_start","message":{"id":"msg_up","type":"message","role":"assistant","model":"claude-3-5-haiku-20241022","content":[],"usage":{"input_tokens":12,"output_tokens":1}}}\n\n';
            echo -n 'event: content_block_start\ndata: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}\n\n';
            echo -n 'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hello \\"there\\","}}\n\n';
            echo_flush;
            echo -n 'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":" from upstream\\nline two"}}\n\n';
            echo -n 'event: content_block_stop\ndata: {"type":"content_block_stop","index":0}\n\n';
            echo -n 'event: message_delta\ndata: {"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":9}}\n\n';
            echo -n 'event: message_stop\ndata: {"type":"message_stop"}\n\n';
        }

        location /error/ {
            default_type application/json;
            echo_read_request_body;
            echo_status 500;
            echo '{"error":{"message":"boom","type":"server_error"}}';
        }

        location /cut/ {
            default_type text/event-stream;
            echo_read_request_body;
            echo -n 'data: {"choices":[{"index":0,"delta":{"content":"half an answ"}}]}\n\n';
        }

        location /error-event/ {
            default_type text/event-stream;
            echo_read_request_body;
            echo -n 'data: {"choices":[{"index":0,"delta":{"content":"half an answ"}}]}\n\n';
            echo -n 'data: {"error":{"message":"overloaded","type":"server_error"}}\n\n';
            echo -n 'data: [DONE]\n\n';
        }

        location /tool/ {
            default_type application/json;
            echo_read_request_body;
            echo '{"id":"up-3","object":"chat.completion","model":"gpt-4o-mini","choices":[{"index":0,"message":{"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function","function":{"name":"f","arguments":"{}"}}]},"finish_reason":"tool_calls"}],"usage":{"prompt_tokens":12,"completion_tokens":9,"total_tokens":21}}';
        }

        location /tool-stream/ {
            default_type text/event-stream;
            echo_read_request_body;
            echo -n 'data: {"choices":[{"index":0,"delta":{"role":"assistant","tool_calls":[{"index":0,"id":"call_1","type":"function","function":{"name":"f","arguments":""}}]}}]}\n\n';
            echo -n 'data: {"choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]}\n\n';
            echo -n 'data: [DONE]\n\n';
        }

        location /filtered/ {
            default_type application/json;
            echo_read_request_body;
            echo '{"id":"up-4","object":"chat.completion","model":"gpt-4o-mini","choices":[{"index":0,"message":{"role":"assistant","content":"partial"},"finish_reason":"content_filter"}],"usage":{"prompt_tokens":12,"completion_tokens":9,"total_tokens":21}}';
        }

        location /length/ {
            default_type application/json;
            echo_read_request_body;
            echo '{"id":"up-5","object":"chat.completion","model":"gpt-4o-mini","choices":[{"index":0,"message":{"role":"assistant","content":"a truncated"},"finish_reason":"length"}],"usage":{"prompt_tokens":12,"completion_tokens":2,"total_tokens":14}}';
        }

        location /costly/ {
            default_type application/json;
            echo_read_request_body;
            echo '{"id":"up-6","object":"chat.completion","model":"gpt-4o-mini","choices":[{"index":0,"message":{"role":"assistant","content":"expensive"},"finish_reason":"stop"}],"usage":{"prompt_tokens":900,"completion_tokens":600,"total_tokens":1500}}';
        }
_EOC_
        location /big/ {
            default_type application/json;
            echo_read_request_body;
            echo '{"id":"up-7","object":"chat.completion","model":"gpt-4o-mini","choices":[{"index":0,"message":{"role":"assistant","content":"$Big"},"finish_reason":"stop"}],"usage":{"prompt_tokens":5,"completion_tokens":500,"total_tokens":505}}';
        }
    }
_EOC2_

our $Gateway = <<'_EOC_';
    location / {
        llm_gateway openai;
        llm_cache main;
        proxy_pass http://mock;
        add_header X-Status $llm_cache_status always;
        access_log logs/error.log llm;
    }

    location /anthropic-json/ {
        llm_gateway anthropic;
        llm_cache main;
        proxy_pass http://mock;
    }

    location /anthropic-stream/ {
        llm_gateway anthropic;
        llm_cache main;
        proxy_pass http://mock;
    }
_EOC_

# request bodies
sub chat {
    my ($content, $extra) = @_;
    $extra = defined $extra ? ",$extra" : '';
    return qq({"model":"gpt-4o-mini","messages":[{"role":"user","content":"$content"}]$extra});
}

sub req {
    my ($uri, $body) = @_;
    return "POST $uri\n$body";
}

our $Hi = chat('Hi');

# what a hit answers, JSON and SSE
our $JsonHit = qr/^\{"id":"chatcmpl-[0-9a-f]{24}","object":"chat\.completion","created":\d+,"model":"gpt-4o-mini-2024-07-18","choices":\[\{"index":0,"message":\{"role":"assistant","content":"Hello \\"there\\", from upstream\\nline two","refusal":null\},"logprobs":null,"finish_reason":"stop"\}\],"usage":\{"prompt_tokens":12,"completion_tokens":9,"total_tokens":21\}\}\n$/;

our $Chunk = qr/data: \{"id":"chatcmpl-[0-9a-f]{24}","object":"chat\.completion\.chunk","created":\d+,"model":"gpt-4o-mini-2024-07-18",/;

our $SseHit = qr/^${Chunk}"choices":\[\{"index":0,"delta":\{"role":"assistant","content":""\},"logprobs":null,"finish_reason":null\}\]\}\n\n${Chunk}"choices":\[\{"index":0,"delta":\{"content":"Hello \\"there\\", from upstream\\nline two"\},"logprobs":null,"finish_reason":null\}\]\}\n\n${Chunk}"choices":\[\{"index":0,"delta":\{\},"logprobs":null,"finish_reason":"stop"\}\]\}\n\ndata: \[DONE\]\n\n$/;

our $SseUsageHit = qr/^${Chunk}"choices":\[\{"index":0,"delta":\{"role":"assistant","content":""\},"logprobs":null,"finish_reason":null\}\]\}\n\n${Chunk}"choices":\[\{"index":0,"delta":\{"content":"Hello \\"there\\", from upstream\\nline two"\},"logprobs":null,"finish_reason":null\}\]\}\n\n${Chunk}"choices":\[\{"index":0,"delta":\{\},"logprobs":null,"finish_reason":"stop"\}\]\}\n\n${Chunk}"choices":\[\],"usage":\{"prompt_tokens":12,"completion_tokens":9,"total_tokens":21\}\}\n\ndata: \[DONE\]\n\n$/;

our $AnthropicJsonHit = qr/^\{"id":"msg_[0-9a-f]{24}","type":"message","role":"assistant","model":"claude-3-5-haiku-20241022","content":\[\{"type":"text","text":"Hello \\"there\\", from upstream\\nline two"\}\],"stop_reason":"end_turn","stop_sequence":null,"usage":\{"input_tokens":12,"output_tokens":9\}\}\n$/;

our $AnthropicSseHit = qr/^event: message_start\ndata: \{"type":"message_start","message":\{"id":"msg_[0-9a-f]{24}","type":"message","role":"assistant","model":"claude-3-5-haiku-20241022","content":\[\],"stop_reason":null,"stop_sequence":null,"usage":\{"input_tokens":12,"output_tokens":1\}\}\}\n\nevent: content_block_start\ndata: \{"type":"content_block_start","index":0,"content_block":\{"type":"text","text":""\}\}\n\nevent: content_block_delta\ndata: \{"type":"content_block_delta","index":0,"delta":\{"type":"text_delta","text":"Hello \\"there\\", from upstream\\nline two"\}\}\n\nevent: content_block_stop\ndata: \{"type":"content_block_stop","index":0\}\n\nevent: message_delta\ndata: \{"type":"message_delta","delta":\{"stop_reason":"end_turn","stop_sequence":null\},"usage":\{"output_tokens":9\}\}\n\nevent: message_stop\ndata: \{"type":"message_stop"\}\n\n$/;

block_defaults(http_config => $Mock, config => $Gateway);

run_tests();

__DATA__

=== TEST 1: the first request is a miss and goes upstream, the same request again is a hit answered from memory
--- request eval
[main::req("/json/chat/completions", $::Hi), main::req("/json/chat/completions", $::Hi)]
--- more_headers
Authorization: Bearer alice
--- error_code eval
[200, 200]
--- response_headers eval
["X-LLM-Cache: MISS\nX-Mock: upstream\nX-Status: MISS", "X-LLM-Cache: HIT\n!X-Mock\nX-Status: HIT\nContent-Type: application/json"]
--- response_body_like eval
[qr/"id":"up-1"/, $::JsonHit]



=== TEST 2: the access log sees $llm_cache_status and the usage of the answer
--- request eval
main::req("/json/chat/completions", $::Hi)
--- more_headers
Authorization: Bearer alice
--- error_log eval
qr/llm-log: cache=MISS similarity=- prompt=12 completion=9 cost=0\.000030000 status=200/



=== TEST 3: a hit's log line shows what it saved: the cached answer's usage and cost
--- request eval
[main::req("/json/chat/completions", $::Hi), main::req("/json/chat/completions", $::Hi)]
--- more_headers
Authorization: Bearer alice
--- error_log eval
qr/llm-log: cache=(MISS|HIT) similarity=(-|1\.000) prompt=12 completion=9 cost=0\.000030000 status=200/
--- response_headers eval
["X-LLM-Cache: MISS", "X-LLM-Cache: HIT"]



=== TEST 4: entries are isolated by the caller's credentials
--- request eval
[main::req("/json/chat/completions", $::Hi), main::req("/json/chat/completions", $::Hi), main::req("/json/chat/completions", $::Hi), main::req("/json/chat/completions", $::Hi), main::req("/json/chat/completions", $::Hi)]
--- more_headers eval
["Authorization: Bearer alice", "Authorization: Bearer bob", "x-api-key: alice", "Authorization: Bearer alice", "Authorization: Bearer bob"]
--- response_headers eval
["X-LLM-Cache: MISS", "X-LLM-Cache: MISS", "X-LLM-Cache: MISS", "X-LLM-Cache: HIT", "X-LLM-Cache: HIT"]



=== TEST 5: without credentials and without llm_cache_scope the cache is not used
--- request eval
[main::req("/json/chat/completions", $::Hi), main::req("/json/chat/completions", $::Hi)]
--- response_headers eval
["X-LLM-Cache: BYPASS\nX-Mock: upstream", "X-LLM-Cache: BYPASS\nX-Mock: upstream"]



=== TEST 6: llm_cache_scope replaces the credentials: one tenant shares its entries across keys; without the tenant, no cache
--- config
    location / {
        llm_gateway openai;
        llm_cache main;
        llm_cache_scope $http_x_tenant;
        proxy_pass http://mock;
    }
--- request eval
[main::req("/json/chat/completions", $::Hi), main::req("/json/chat/completions", $::Hi), main::req("/json/chat/completions", $::Hi), main::req("/json/chat/completions", $::Hi)]
--- more_headers eval
["X-Tenant: acme\nAuthorization: Bearer alice", "X-Tenant: acme\nAuthorization: Bearer bob", "X-Tenant: other\nAuthorization: Bearer alice", "Authorization: Bearer alice"]
--- response_headers eval
["X-LLM-Cache: MISS", "X-LLM-Cache: HIT", "X-LLM-Cache: MISS", "X-LLM-Cache: BYPASS"]



=== TEST 7: an empty scope on purpose: shared by every caller
--- config
    location / {
        llm_gateway openai;
        llm_cache main;
        llm_cache_scope "";
        proxy_pass http://mock;
    }
--- request eval
[main::req("/json/chat/completions", $::Hi), main::req("/json/chat/completions", $::Hi), main::req("/json/chat/completions", $::Hi)]
--- more_headers eval
["Authorization: Bearer alice", "Authorization: Bearer bob", ""]
--- response_headers eval
["X-LLM-Cache: MISS", "X-LLM-Cache: HIT", "X-LLM-Cache: HIT"]



=== TEST 8: every generation parameter is part of the key
--- request eval
[
main::req("/json/chat/completions", main::chat('Hi', '"temperature":0.2')),
main::req("/json/chat/completions", main::chat('Hi', '"temperature":0.3')),
main::req("/json/chat/completions", main::chat('Hi', '"temperature":0.2,"max_tokens":10')),
main::req("/json/chat/completions", main::chat('Hi', '"temperature":0.2,"seed":1')),
main::req("/json/chat/completions", main::chat('Hi', '"temperature":0.2,"stop":["x"]')),
main::req("/json/chat/completions", main::chat('Hi', '"temperature":0.2,"response_format":{"type":"json_object"}')),
main::req("/json/chat/completions", main::chat('Hi', '"temperature":0.2,"tools":[{"type":"function","function":{"name":"f"}}]')),
main::req("/json/chat/completions", main::chat('Hi', '"temperature":0.2,"top_p":0.5')),
main::req("/json/chat/completions", main::chat('Hi', '"temperature":0.2')),
]
--- more_headers
Authorization: Bearer alice
--- response_headers eval
["X-LLM-Cache: MISS", "X-LLM-Cache: MISS", "X-LLM-Cache: MISS", "X-LLM-Cache: MISS", "X-LLM-Cache: MISS", "X-LLM-Cache: MISS", "X-LLM-Cache: MISS", "X-LLM-Cache: MISS", "X-LLM-Cache: HIT"]



=== TEST 9: content, roles, the model and the API are part of the key
--- request eval
[
main::req("/json/chat/completions", main::chat('Hi')),
main::req("/json/chat/completions", main::chat('Hi ')),
main::req("/json/chat/completions", main::chat('hi')),
main::req("/json/chat/completions", '{"model":"gpt-4o-mini","messages":[{"role":"system","content":"Hi"}]}'),
main::req("/json/chat/completions", '{"model":"claude-3-5-haiku","messages":[{"role":"user","content":"Hi"}]}'),
main::req("/json/chat/completions", '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Hi"},{"role":"assistant","content":"Hello"},{"role":"user","content":"Hi"}]}'),
main::req("/json/chat/completions", main::chat('Hi')),
]
--- more_headers
Authorization: Bearer alice
--- response_headers eval
["X-LLM-Cache: MISS", "X-LLM-Cache: MISS", "X-LLM-Cache: MISS", "X-LLM-Cache: MISS", "X-LLM-Cache: MISS", "X-LLM-Cache: MISS", "X-LLM-Cache: HIT"]



=== TEST 10: white space, member order, escapes and number spelling do not matter; stream, stream_options and user do not either
--- request eval
[
main::req("/json/chat/completions", '{"model":"gpt-4o-mini","temperature":1,"messages":[{"role":"user","content":"Hi"}]}'),
main::req("/json/chat/completions", qq({\n  "messages" : [ { "content" : "Hi",\t"role" : "user" } ],\n  "temperature" : 1.0,\n  "model" : "gpt-4o-mini"\n}\n)),
main::req("/json/chat/completions", '{"model":"gpt-4o-mini","temperature":1e0,"messages":[{"role":"user","content":"\u0048i"}]}'),
main::req("/json/chat/completions", '{"model":"gpt-4o-mini","temperature":1,"user":"u-42","messages":[{"role":"user","content":"Hi"}]}'),
main::req("/json/chat/completions", '{"model":"gpt-4o-mini","temperature":1,"stream":false,"stream_options":null,"messages":[{"role":"user","content":"Hi"}]}'),
]
--- more_headers
Authorization: Bearer alice
--- response_headers eval
["X-LLM-Cache: MISS", "X-LLM-Cache: HIT", "X-LLM-Cache: HIT", "X-LLM-Cache: HIT", "X-LLM-Cache: HIT"]



=== TEST 11: a streamed answer is assembled and stored; replayed as SSE and as JSON
--- request eval
[
main::req("/stream/chat/completions", main::chat('Hi', '"stream":true')),
main::req("/stream/chat/completions", main::chat('Hi', '"stream":true')),
main::req("/stream/chat/completions", main::chat('Hi', '"stream":true,"stream_options":{"include_usage":true}')),
main::req("/stream/chat/completions", main::chat('Hi')),
]
--- more_headers
Authorization: Bearer alice
--- response_headers eval
["X-LLM-Cache: MISS\nX-Mock: upstream", "X-LLM-Cache: HIT\n!X-Mock\nContent-Type: text/event-stream\nX-Accel-Buffering: no", "X-LLM-Cache: HIT\nContent-Type: text/event-stream", "X-LLM-Cache: HIT\nContent-Type: application/json"]
--- response_body_like eval
[qr/"id":"up-2"/, $::SseHit, $::SseUsageHit, $::JsonHit]



=== TEST 12: a JSON answer is replayed as SSE, with usage when asked
--- request eval
[
main::req("/json/chat/completions", main::chat('Hi')),
main::req("/json/chat/completions", main::chat('Hi', '"stream":true')),
main::req("/json/chat/completions", main::chat('Hi', '"stream":true,"stream_options":{"include_usage":true}')),
]
--- more_headers
Authorization: Bearer alice
--- response_headers eval
["X-LLM-Cache: MISS", "X-LLM-Cache: HIT", "X-LLM-Cache: HIT"]
--- response_body_like eval
[qr/"id":"up-1"/, $::SseHit, $::SseUsageHit]



=== TEST 13: Anthropic: a JSON message replayed as JSON and as events
--- request eval
[
main::req("/anthropic-json/v1/messages", '{"model":"claude-3-5-haiku","max_tokens":64,"messages":[{"role":"user","content":"Hi"}]}'),
main::req("/anthropic-json/v1/messages", '{"model":"claude-3-5-haiku","max_tokens":64,"messages":[{"role":"user","content":"Hi"}]}'),
main::req("/anthropic-json/v1/messages", '{"model":"claude-3-5-haiku","max_tokens":64,"stream":true,"messages":[{"role":"user","content":"Hi"}]}'),
]
--- more_headers
x-api-key: alice
--- response_headers eval
["X-LLM-Cache: MISS", "X-LLM-Cache: HIT\nContent-Type: application/json", "X-LLM-Cache: HIT\nContent-Type: text/event-stream"]
--- response_body_like eval
[qr/"id":"msg_up"/, $::AnthropicJsonHit, $::AnthropicSseHit]



=== TEST 14: Anthropic: a streamed message replayed as events and as JSON; the system prompt is in the key
--- request eval
[
main::req("/anthropic-stream/v1/messages", '{"model":"claude-3-5-haiku","max_tokens":64,"stream":true,"messages":[{"role":"user","content":"Hi"}]}'),
main::req("/anthropic-stream/v1/messages", '{"model":"claude-3-5-haiku","max_tokens":64,"stream":true,"messages":[{"role":"user","content":"Hi"}]}'),
main::req("/anthropic-stream/v1/messages", '{"model":"claude-3-5-haiku","max_tokens":64,"messages":[{"role":"user","content":"Hi"}]}'),
main::req("/anthropic-stream/v1/messages", '{"model":"claude-3-5-haiku","max_tokens":64,"system":"Be brief.","messages":[{"role":"user","content":"Hi"}]}'),
]
--- more_headers
x-api-key: alice
--- response_headers eval
["X-LLM-Cache: MISS", "X-LLM-Cache: HIT", "X-LLM-Cache: HIT", "X-LLM-Cache: MISS"]
--- response_body_like eval
[qr/"id":"msg_up"/, $::AnthropicSseHit, $::AnthropicJsonHit, qr/"id":"msg_up"/]



=== TEST 15: errors are not stored
--- request eval
[main::req("/error/chat/completions", $::Hi), main::req("/error/chat/completions", $::Hi)]
--- more_headers
Authorization: Bearer alice
--- error_code eval
[500, 500]
--- response_headers eval
["X-LLM-Cache: MISS", "X-LLM-Cache: MISS"]



=== TEST 16: a cut stream is not stored
--- request eval
[main::req("/cut/chat/completions", main::chat('Hi', '"stream":true')), main::req("/cut/chat/completions", main::chat('Hi', '"stream":true'))]
--- more_headers
Authorization: Bearer alice
--- response_headers eval
["X-LLM-Cache: MISS", "X-LLM-Cache: MISS"]
--- response_body_like eval
[qr/stream_interrupted/, qr/stream_interrupted/]



=== TEST 17: a stream with an error event is not stored, even when it ends with [DONE]
--- request eval
[main::req("/error-event/chat/completions", main::chat('Hi', '"stream":true')), main::req("/error-event/chat/completions", main::chat('Hi', '"stream":true'))]
--- more_headers
Authorization: Bearer alice
--- response_headers eval
["X-LLM-Cache: MISS", "X-LLM-Cache: MISS"]
--- response_body_like eval
[qr/overloaded/, qr/overloaded/]



=== TEST 18: tool calls (JSON and streamed) and filtered answers are not stored; an answer cut at its length limit is
--- request eval
[
main::req("/tool/chat/completions", $::Hi), main::req("/tool/chat/completions", $::Hi),
main::req("/tool-stream/chat/completions", main::chat('Hi', '"stream":true')), main::req("/tool-stream/chat/completions", main::chat('Hi', '"stream":true')),
main::req("/filtered/chat/completions", main::chat('Ho')), main::req("/filtered/chat/completions", main::chat('Ho')),
main::req("/length/chat/completions", main::chat('Hu')), main::req("/length/chat/completions", main::chat('Hu')),
]
--- more_headers
Authorization: Bearer alice
--- response_headers eval
["X-LLM-Cache: MISS", "X-LLM-Cache: MISS", "X-LLM-Cache: MISS", "X-LLM-Cache: MISS", "X-LLM-Cache: MISS", "X-LLM-Cache: MISS", "X-LLM-Cache: MISS", "X-LLM-Cache: HIT"]
--- response_body_like eval
[qr/tool_calls/, qr/tool_calls/, qr/tool_calls/, qr/tool_calls/, qr/content_filter/, qr/content_filter/, qr/"id":"up-5"/, qr/"content":"a truncated","refusal":null\},"logprobs":null,"finish_reason":"length"/]



=== TEST 19: requests an entry cannot reproduce are not cached: several choices, log probabilities, audio, no messages
--- request eval
[
main::req("/json/chat/completions", main::chat('Hi', '"n":2')),
main::req("/json/chat/completions", main::chat('Hi', '"logprobs":true')),
main::req("/json/chat/completions", main::chat('Hi', '"modalities":["text","audio"]')),
main::req("/json/completions", '{"model":"gpt-4o-mini","prompt":"Hi"}'),
main::req("/json/chat/completions", main::chat('Hi', '"n":1,"logprobs":false,"modalities":["text"]')),
]
--- more_headers
Authorization: Bearer alice
--- response_headers eval
["X-LLM-Cache: BYPASS", "X-LLM-Cache: BYPASS", "X-LLM-Cache: BYPASS", "X-LLM-Cache: BYPASS", "X-LLM-Cache: MISS"]



=== TEST 20: entries expire after the zone's ttl
--- config
    location / {
        llm_gateway openai;
        llm_cache short;
        proxy_pass http://mock;
    }

    location = /sleep {
        echo_sleep 3.5;
        echo ok;
    }
--- timeout: 8
--- request eval
[main::req("/json/chat/completions", $::Hi), main::req("/json/chat/completions", $::Hi), "GET /sleep", main::req("/json/chat/completions", $::Hi), main::req("/json/chat/completions", $::Hi)]
--- more_headers
Authorization: Bearer alice
--- response_headers eval
["X-LLM-Cache: MISS", "X-LLM-Cache: HIT", "!X-LLM-Cache", "X-LLM-Cache: MISS", "X-LLM-Cache: HIT"]



=== TEST 21: a full zone evicts its least recently used entries and goes on
--- config
    location / {
        llm_gateway openai;
        llm_cache tiny;
        proxy_pass http://mock;
    }
--- request eval
[
(map { main::req("/big/chat/completions", main::chat("question $_")) } 1 .. 10),
main::req("/big/chat/completions", main::chat("question 10")),
main::req("/big/chat/completions", main::chat("question 1")),
]
--- more_headers
Authorization: Bearer alice
--- error_code eval
[(200) x 12]
--- response_headers eval
[("X-LLM-Cache: MISS") x 10, "X-LLM-Cache: HIT", "X-LLM-Cache: MISS"]



=== TEST 22: an answer larger than max_entry is served and not stored
--- config
    location / {
        llm_gateway openai;
        llm_cache small_entries;
        proxy_pass http://mock;
    }
--- request eval
[main::req("/big/chat/completions", $::Hi), main::req("/big/chat/completions", $::Hi), main::req("/json/chat/completions", main::chat('Ho')), main::req("/json/chat/completions", main::chat('Ho'))]
--- more_headers
Authorization: Bearer alice
--- response_headers eval
["X-LLM-Cache: MISS", "X-LLM-Cache: MISS", "X-LLM-Cache: MISS", "X-LLM-Cache: HIT"]
--- response_body_like eval
[qr/lorem ipsum/, qr/lorem ipsum/, qr/up-1/, qr/chatcmpl-/]



=== TEST 23: llm_cache_bypass skips the lookup and still stores
--- config
    location / {
        llm_gateway openai;
        llm_cache main;
        llm_cache_bypass $http_x_refresh;
        proxy_pass http://mock;
    }
--- request eval
[main::req("/json/chat/completions", $::Hi), main::req("/json/chat/completions", $::Hi), main::req("/json/chat/completions", $::Hi), main::req("/json/chat/completions", main::chat('Ho')), main::req("/json/chat/completions", main::chat('Ho'))]
--- more_headers eval
["Authorization: Bearer alice", "Authorization: Bearer alice\nX-Refresh: 1", "Authorization: Bearer alice\nX-Refresh: 0", "Authorization: Bearer alice\nX-Refresh: yes", "Authorization: Bearer alice"]
--- response_headers eval
["X-LLM-Cache: MISS", "X-LLM-Cache: BYPASS\nX-Mock: upstream", "X-LLM-Cache: HIT", "X-LLM-Cache: BYPASS", "X-LLM-Cache: HIT"]



=== TEST 24: Cache-Control: no-store skips lookup and store; no-cache skips the lookup only
--- request eval
[main::req("/json/chat/completions", $::Hi), main::req("/json/chat/completions", $::Hi), main::req("/json/chat/completions", main::chat('Ho')), main::req("/json/chat/completions", main::chat('Ho')), main::req("/json/chat/completions", main::chat('Ho'))]
--- more_headers eval
["Authorization: Bearer alice\nCache-Control: no-store", "Authorization: Bearer alice", "Authorization: Bearer alice\nCache-Control: max-age=0, No-Cache", "Authorization: Bearer alice", "Authorization: Bearer alice\nCache-Control: no-store"]
--- response_headers eval
["X-LLM-Cache: BYPASS", "X-LLM-Cache: MISS", "X-LLM-Cache: BYPASS", "X-LLM-Cache: HIT", "X-LLM-Cache: BYPASS"]



=== TEST 25: a hit costs no budget: a key in debt is still answered from the cache
--- config
    location / {
        llm_gateway openai;
        llm_cache main;
        llm_budget budget;
        proxy_pass http://mock;
    }
--- request eval
[main::req("/costly/chat/completions", main::chat('Hi', '"max_tokens":100')), main::req("/costly/chat/completions", main::chat('Hi', '"max_tokens":100')), main::req("/costly/chat/completions", main::chat('Ho', '"max_tokens":100'))]
--- more_headers
Authorization: Bearer alice
X-Key: alice
--- error_code eval
[200, 200, 429]
--- response_headers eval
["X-LLM-Cache: MISS\nx-ratelimit-limit-tokens: 1000", "X-LLM-Cache: HIT\n!x-ratelimit-limit-tokens", "X-LLM-Cache: MISS"]
--- response_body_like eval
[qr/expensive/, qr/expensive/, qr/rate_limit_exceeded/]



=== TEST 26: llm_cache off in an inner location
--- config
    llm_cache main;

    location / {
        llm_gateway openai;
        proxy_pass http://mock;
    }

    location /json/v2/ {
        llm_gateway openai;
        llm_cache off;
        proxy_pass http://mock/json/;
    }
--- request eval
[main::req("/json/chat/completions", $::Hi), main::req("/json/chat/completions", $::Hi), main::req("/json/v2/chat/completions", $::Hi)]
--- more_headers
Authorization: Bearer alice
--- response_headers eval
["X-LLM-Cache: MISS", "X-LLM-Cache: HIT", "!X-LLM-Cache"]



=== TEST 27: llm_cache names an undeclared zone
--- config
    location / {
        llm_gateway openai;
        llm_cache nowhere;
        proxy_pass http://mock;
    }
--- must_die
--- error_log eval
qr/\[emerg\] .*llm_cache "nowhere": no llm_cache_zone with this name in .*nginx\.conf:\d+/



=== TEST 28: llm_cache_zone checks its parameters
--- http_config
    llm_cache_zone zone=z:1m ttl=soon;
--- config
--- must_die
--- error_log eval
qr/\[emerg\] .*llm_cache_zone: invalid ttl "ttl=soon"/



=== TEST 29: max_entry cannot exceed a quarter of the zone
--- http_config
    llm_cache_zone zone=z:64k max_entry=32k;
--- config
--- must_die
--- error_log eval
qr/\[emerg\] .*llm_cache_zone "z": max_entry=32768 is more than a quarter of the zone/



=== TEST 30: a cache zone name cannot be a budget zone's
--- http_config
    llm_cache_zone zone=shared:1m;
    llm_budget_zone $http_x_key zone=shared:1m tokens=10/m;
--- config
--- must_die
--- error_log eval
qr/\[emerg\] .*the shared memory zone "shared" is already declared for a different use/



=== TEST 31: routing: the key has the effective model; an answer from a fallback model is stored under that model
--- http_config
    llm_model ok upstream=ok;
    llm_model m503 upstream=m503;

    llm_route smart { m503 1; fallback ok; }
    llm_route direct { ok 1; }

    llm_cache_zone zone=main:1m;

    upstream ok { server unix:$TEST_NGINX_HTML_DIR/ok.sock; }
    upstream m503 { server unix:$TEST_NGINX_HTML_DIR/m503.sock; }

    server {
        listen unix:$TEST_NGINX_HTML_DIR/ok.sock;
        access_log off;
        default_type application/json;
        location / {
            echo_read_request_body;
            echo '{"model":"ok-1","choices":[{"index":0,"message":{"role":"assistant","content":"Paris."},"finish_reason":"stop"}],"usage":{"prompt_tokens":9,"completion_tokens":2,"total_tokens":11}}';
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
    }
--- config
    location / {
        llm_gateway openai;
        llm_cache main;
        proxy_pass http://$llm_upstream;
    }
--- request eval
[
main::req("/v1/chat/completions", '{"model":"smart","messages":[{"role":"user","content":"Capital of France?"}]}'),
main::req("/v1/chat/completions", '{"model":"ok","messages":[{"role":"user","content":"Capital of France?"}]}'),
main::req("/v1/chat/completions", '{"model":"direct","messages":[{"role":"user","content":"Capital of France?"}]}'),
main::req("/v1/chat/completions", '{"model":"smart","messages":[{"role":"user","content":"Capital of France?"}]}'),
]
--- more_headers
Authorization: Bearer alice
--- error_code eval
[200, 200, 200, 200]
--- response_headers eval
["X-LLM-Cache: MISS", "X-LLM-Cache: HIT", "X-LLM-Cache: HIT", "X-LLM-Cache: MISS"]
--- response_body_like eval
[qr/Paris/, qr/"model":"ok-1".*Paris/, qr/"model":"ok-1".*Paris/, qr/Paris/]



=== TEST 32: llm_status shows the cache's counters: lookups by result, entries, tokens and dollars saved
--- config
    location / {
        llm_gateway openai;
        llm_cache main;
        proxy_pass http://mock;
    }

    location = /status {
        llm_status;
    }
--- request eval
[main::req("/json/chat/completions", $::Hi), main::req("/json/chat/completions", $::Hi), main::req("/json/chat/completions", $::Hi), "GET /status", "GET /status?format=json"]
--- more_headers eval
["Authorization: Bearer alice", "Authorization: Bearer alice", "", "", ""]
--- response_body_like eval
[qr/up-1/, qr/chatcmpl-/, qr/up-1/, qr/# TYPE llm_cache_requests_total counter\nllm_cache_requests_total\{zone="main",result="hit"\} 1\nllm_cache_requests_total\{zone="main",result="semantic"\} 0\nllm_cache_requests_total\{zone="main",result="miss"\} 1\nllm_cache_requests_total\{zone="main",result="bypass"\} 1\n(.|\n)*llm_cache_stored_total\{zone="main"\} 1\n(.|\n)*llm_cache_entries\{zone="main",kind="all"\} 1\n(.|\n)*llm_cache_saved_tokens_total\{zone="main"\} 21\n(.|\n)*llm_cache_saved_usd_total\{zone="main"\} 0\.000030000\n/, qr/,"cache":\{"main":\{"hits":1,"semantic_hits":0,"misses":1,"bypassed":1,"stored":1,"evicted":0,"expired":0,"entries":1,"semantic_entries":0,"bytes":\d+,"saved_tokens":21,"saved_usd":0\.000030000,"embedder":\{"ok":0,"errors":0,"timeouts":0\}\},"short":\{"hits":0,/]
