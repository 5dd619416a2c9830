# Endpoints by the URI's last segments (one table, ngx_http_llm_api.c):
# embeddings (usage, cost, budgets with no completion allowance), Gemini
# (llm_gateway gemini: generateContent, streamGenerateContent?alt=sse, the
# model from the path, usageMetadata, budgets, errors in Google's format),
# what passes through untouched (count_tokens, batches, files), and how
# streams end: a provider's own error event ends the stream with nothing
# appended, a last event without its blank line is read, reasoning deltas
# are estimated; Gemini routing (the model segment of the path rewritten:
# weights, fallback, shadow) and the exact cache of generateContent.

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
    log_format llm 'llm-log: ep=$llm_endpoint model=$llm_model status=$status prompt=$llm_prompt_tokens completion=$llm_completion_tokens cached=$llm_cached_tokens reasoning=$llm_reasoning_tokens source=$llm_tokens_source cost=$llm_cost';

    llm_model text-embedding-3-small upstream=mock input=20.00;
    llm_model gemini-2.5-flash upstream=mock input=1.00 output=10.00;
    llm_model gemini-2.5-pro upstream=mock input=2.00 output=20.00;
    llm_model gem-down upstream=mock;
    llm_model gem-busy upstream=mock;
    llm_model gem-shadow upstream=mock;
    llm_model * upstream=mock;
    llm_route gemsplit { gemini-2.5-flash 1; gemini-2.5-pro 1; }
    llm_route gemchain { gem-down 1; fallback gem-busy gemini-2.5-pro; }
    llm_route gemshadowed { gemini-2.5-flash 1; shadow gem-shadow 100%; }
    llm_cache_zone zone=answers:1m;
    log_format mockgot 'mock-got: $request_method $request_uri';

    llm_budget_zone $http_x_key zone=per_key:1m tokens=500/h;

    upstream mock { server unix:$TEST_NGINX_HTML_DIR/mock.sock; }

    server {
        listen unix:$TEST_NGINX_HTML_DIR/mock.sock;
        access_log off;

        location /v1/ {
            echo "passed through: $request_method $uri";
        }

        location ~ ^/(gemroute/)?v1beta/models/gem-down: {
            access_log logs/error.log mockgot;
            return 503 '{"error":{"code":503,"message":"down","status":"UNAVAILABLE"}}';
        }

        location ~ ^/(gemroute/)?v1beta/models/gem-busy: {
            access_log logs/error.log mockgot;
            return 429 '{"error":{"code":429,"message":"busy","status":"RESOURCE_EXHAUSTED"}}';
        }

        location ~ ^/(gemroute/)?v1beta/models/ {
            default_type application/json;
            access_log logs/error.log mockgot;
            echo_read_request_body;
            echo '{"candidates":[{"content":{"parts":[{"text":"Paris."}],"role":"model"},"finishReason":"STOP","index":0}],"usageMetadata":{"promptTokenCount":12,"candidatesTokenCount":2,"totalTokenCount":14}}';
        }

        location /emb/ {
            default_type application/json;
            echo_read_request_body;
            echo '{"object":"list","data":[{"object":"embedding","index":0,"embedding":[0.1,0.2]}],"model":"text-embedding-3-small","usage":{"prompt_tokens":400,"total_tokens":400}}';
        }

        location /gem/ {
            default_type application/json;
            echo_read_request_body;
            echo '{"candidates":[{"content":{"parts":[{"text":"Paris."}],"role":"model"},"finishReason":"STOP","index":0}],"usageMetadata":{"promptTokenCount":12,"candidatesTokenCount":2,"totalTokenCount":60,"cachedContentTokenCount":4,"thoughtsTokenCount":46},"modelVersion":"gemini-2.5-flash"}';
        }

        location /gemarray/ {
            default_type application/json;
            echo_read_request_body;
            echo '[{"candidates":[{"content":{"parts":[{"text":"Par"}],"role":"model"},"index":0}],"usageMetadata":{"promptTokenCount":12,"candidatesTokenCount":1,"totalTokenCount":13}},{"candidates":[{"content":{"parts":[{"text":"is."}],"role":"model"},"finishReason":"STOP","index":0}],"usageMetadata":{"promptTokenCount":12,"candidatesTokenCount":3,"totalTokenCount":15}}]';
        }

        location /gemsse/ {
            default_type text/event-stream;
            echo_read_request_body;
            echo -n 'data: {"candidates":[{"content":{"parts":[{"text":"thinking it over","thought":true}],"role":"model"},"index":0}],"usageMetadata":{"promptTokenCount":12,"totalTokenCount":12}}\r\n\r\n';
            echo -n 'data: {"candidates":[{"content":{"parts":[{"text":"Paris."}],"role":"model"},"finishReason":"STOP","index":0}],"usageMetadata":{"promptTokenCount":12,"candidatesTokenCount":2,"totalTokenCount":60,"thoughtsTokenCount":46}}\r\n\r\n';
        }

        location /gemcut/ {
            default_type text/event-stream;
            echo_read_request_body;
            echo -n 'data: {"candidates":[{"content":{"parts":[{"text":"one two three four five six seven eight nine ten eleven twelve"}],"role":"model"},"index":0}]}\r\n\r\n';
        }

        location /gemlong/ {
            default_type text/event-stream;
            echo_read_request_body;
            echo -n 'data: {"candidates":[{"content":{"parts":[{"text":"one two three four five six seven eight nine ten"}],"role":"model"},"index":0}]}\r\n\r\n';
            echo_flush;
            echo_sleep 0.05;
            echo -n 'data: {"candidates":[{"content":{"parts":[{"text":" the last words"}],"role":"model"},"finishReason":"STOP","index":0}],"usageMetadata":{"promptTokenCount":5,"candidatesTokenCount":20,"totalTokenCount":25}}\r\n\r\n';
        }

        location /groqerr/ {
            default_type text/event-stream;
            echo_read_request_body;
            echo -n 'data: {"choices":[{"index":0,"delta":{"content":"Hel"}}]}\n\n';
            echo -n 'event: error\ndata: {"error":{"message":"Service Unavailable","type":"internal_server_error"}}\n\n';
        }

        location /reasoning/ {
            default_type text/event-stream;
            echo_read_request_body;
            echo -n 'data: {"choices":[{"index":0,"delta":{"reasoning":"Let me think about the capital of France, which is a well known city"}}]}\n\n';
        }

        location /overloaded/ {
            default_type text/event-stream;
            echo_read_request_body;
            echo -n 'event: message_start\ndata: {"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","content":[],"model":"claude-x","usage":{"input_tokens":10,"output_tokens":1}}}\n\n';
            echo -n 'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hel"}}\n\n';
            echo -n 'event: error\ndata: {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}\n\n';
        }

        location /noeol/ {
            default_type text/event-stream;
            echo_read_request_body;
            echo -n 'event: message_start\ndata: {"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","content":[],"model":"claude-x","usage":{"input_tokens":10,"output_tokens":1}}}\n\n';
            echo -n 'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"Hmm, let me see what the user wants here"}}\n\n';
            echo -n 'event: message_delta\ndata: {"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":15}}\n\n';
            echo -n 'event: message_stop\ndata: {"type":"message_stop"}';
        }

        location /midline/ {
            default_type text/event-stream;
            echo_read_request_body;
            echo -n 'event: message_start\ndata: {"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","content":[],"model":"claude-x","usage":{"input_tokens":10,"output_tokens":1}}}\n\n';
            echo -n 'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"Hmm, let me see what the user wants here"}}\n\n';
            echo -n 'event: content_block_delta\ndata: {"type":"content_block_delta","ind';
        }
    }
_EOC_

our $Gateway = <<'_EOC_';
    location /v1/ {
        llm_gateway openai;
        llm_budget per_key;
        llm_budget_allowance 1000;
        proxy_pass http://mock;
        access_log logs/error.log llm;
    }

    location /anthropic/ {
        llm_gateway anthropic;
        proxy_pass http://mock/;
        access_log logs/error.log llm;
    }

    location /emb/ {
        llm_gateway openai;
        llm_budget per_key;
        llm_budget_allowance 1000;
        proxy_pass http://mock;
        access_log logs/error.log llm;
    }

    location / {
        llm_gateway openai;
        proxy_pass http://mock;
        access_log logs/error.log llm;
    }

    location /gemini/ {
        llm_gateway gemini;
        llm_budget per_key;
        llm_budget_allowance 100;
        proxy_pass http://mock/;
        access_log logs/error.log llm;
    }

    location /gemcache/ {
        llm_gateway gemini;
        llm_cache answers;
        proxy_pass http://mock/;
        access_log logs/error.log llm;
    }

    location /gemroute/ {
        llm_gateway gemini;
        llm_route_key $http_x_user;
        proxy_pass http://$llm_upstream;
        access_log logs/error.log llm;
    }
_EOC_

our $Chat = '{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"Hi"}]}';
our $Msg = '{"model":"claude-x","max_tokens":100,"stream":true,"messages":[{"role":"user","content":"Hi"}]}';
our $Gem = '{"contents":[{"role":"user","parts":[{"text":"What is the capital of France?"}]}],"systemInstruction":{"parts":[{"text":"Be brief."}]},"generationConfig":{"maxOutputTokens":50}}';

block_defaults(http_config => $Mock, config => $Gateway);

run_tests();

__DATA__

=== TEST 1: Anthropic's count_tokens passes through untouched: not logged or budgeted as a model call
--- request
POST /anthropic/v1/messages/count_tokens
{"model":"claude-x","messages":[{"role":"user","content":"Hi"}]}
--- response_body
passed through: POST /v1/messages/count_tokens
--- error_log
llm-log: ep=- model=- status=200 prompt=- completion=-



=== TEST 2: batches and files pass through untouched in an openai location, budget or not
--- request eval
["POST /v1/batches\n{\"input_file_id\":\"file-1\",\"endpoint\":\"/v1/chat/completions\",\"completion_window\":\"24h\"}", "POST /v1/files\n{\"purpose\":\"batch\"}", "POST /v1/messages/batches\n{\"requests\":[]}"]
--- more_headers
X-Key: alice
--- response_body eval
["passed through: POST /v1/batches\n", "passed through: POST /v1/files\n", "passed through: POST /v1/messages/batches\n"]
--- response_headers eval
["!x-ratelimit-limit-tokens", "!x-ratelimit-limit-tokens", "!x-ratelimit-limit-tokens"]
--- no_error_log
llm-log: ep=chat



=== TEST 3: embeddings: usage and cost read (no completion)
--- request
POST /emb/v1/embeddings
{"model":"text-embedding-3-small","input":"The food was delicious"}
--- more_headers
X-Key: bob
--- response_headers
x-ratelimit-limit-tokens: 500
--- error_log
llm-log: ep=embeddings model=text-embedding-3-small status=200 prompt=400 completion=0 cached=0 reasoning=0 source=usage cost=0.008000000



=== TEST 3b: a budget reserves no completion allowance for embeddings: a chat request of the same size cannot fit
--- request eval
["POST /emb/v1/embeddings\n{\"model\":\"text-embedding-3-small\",\"input\":\"The food was delicious\"}", "POST /emb/v1/chat/completions\n{\"model\":\"text-embedding-3-small\",\"messages\":[{\"role\":\"user\",\"content\":\"The food was delicious\"}]}"]
--- more_headers
X-Key: bob2
--- error_code eval
[200, 429]
--- response_body_like eval
["\"prompt_tokens\":400", "Request too large for text-embedding-3-small"]



=== TEST 4: Gemini generateContent: the model from the path, usageMetadata read (thoughts as completion, cached), cost
--- request eval
"POST /gemini/gem/v1beta/models/gemini-2.5-flash:generateContent\n$::Gem"
--- response_body_like: "text":"Paris\."
--- error_log
llm-log: ep=generateContent model=gemini-2.5-flash status=200 prompt=12 completion=48 cached=4 reasoning=46 source=usage cost=0.000492000



=== TEST 5: Gemini streamGenerateContent?alt=sse: streamed unbuffered, unchanged; usage from the last usageMetadata
--- request eval
"POST /gemini/gemsse/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse\n$::Gem"
--- response_headers
Content-Type: text/event-stream
X-Accel-Buffering: no
--- response_body eval
"data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"thinking it over\",\"thought\":true}],\"role\":\"model\"},\"index\":0}],\"usageMetadata\":{\"promptTokenCount\":12,\"totalTokenCount\":12}}\r\n\r\ndata: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"Paris.\"}],\"role\":\"model\"},\"finishReason\":\"STOP\",\"index\":0}],\"usageMetadata\":{\"promptTokenCount\":12,\"candidatesTokenCount\":2,\"totalTokenCount\":60,\"thoughtsTokenCount\":46}}\r\n\r\n"
--- error_log
llm-log: ep=streamGenerateContent model=gemini-2.5-flash status=200 prompt=12 completion=48 cached=0 reasoning=46 source=usage



=== TEST 6: Gemini streamGenerateContent without alt=sse (a JSON array): usage from its last element
--- request eval
"POST /gemini/gemarray/v1beta/models/gemini-2.5-flash:streamGenerateContent\n$::Gem"
--- response_body_like: ^\[
--- error_log
llm-log: ep=streamGenerateContent model=gemini-2.5-flash status=200 prompt=12 completion=3 cached=0 reasoning=0 source=usage



=== TEST 7: a Gemini stream cut upstream: nothing appended (Google's streams have no end event), the text estimated
--- request eval
"POST /gemini/gemcut/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse\n$::Gem"
--- response_body eval
"data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"one two three four five six seven eight nine ten eleven twelve\"}],\"role\":\"model\"},\"index\":0}]}\r\n\r\n"
--- error_log eval
[qr/ended before its end event/, qr/llm-log: ep=streamGenerateContent model=gemini-2.5-flash status=200 prompt=\d+ completion=1\d cached=0 reasoning=0 source=estimate/]



=== TEST 8: a Gemini request is charged to the budget; the next one is refused in Google's error format with Retry-After
--- config
    location /gemini/ {
        llm_gateway gemini;
        llm_budget per_key;
        llm_budget_allowance 100;
        proxy_pass http://mock/;
    }
--- http_config eval
my $c = $::Mock;
$c =~ s/"promptTokenCount":12,"candidatesTokenCount":2,"totalTokenCount":60,"cachedContentTokenCount":4,"thoughtsTokenCount":46/"promptTokenCount":350,"candidatesTokenCount":100,"totalTokenCount":450/;
$c
--- request eval
["POST /gemini/gem/v1beta/models/gemini-2.5-flash:generateContent\n$::Gem", "POST /gemini/gem/v1beta/models/gemini-2.5-flash:generateContent\n$::Gem"]
--- more_headers
X-Key: carol
--- error_code eval
[200, 429]
--- response_body_like eval
["Paris", "^\\{\"error\":\\{\"code\":429,\"message\":\"Rate limit reached for gemini-2.5-flash: the token budget \\\\\"per_key\\\\\" is used up\\..*\",\"status\":\"RESOURCE_EXHAUSTED\"\\}\\}\$"]
--- response_headers_like eval
["x-ratelimit-remaining-tokens: \\d+", "Retry-After: \\d+"]



=== TEST 9: a Gemini stream that runs past its budget ends with a MAX_TOKENS chunk
--- http_config eval
my $c = $::Mock;
$c =~ s/tokens=500\/h/tokens=15\/h cut=on/;
$c
--- config
    location /gemini/ {
        llm_gateway gemini;
        llm_budget per_key;
        llm_budget_allowance 1;
        proxy_pass http://mock/;
    }
--- request
POST /gemini/gemlong/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse
{"contents":[{"parts":[{"text":"Hi"}]}]}
--- more_headers
X-Key: dave
--- response_body_like: ^data: \{"candidates":\[\{"content":\{"parts":\[\{"text":"one two three four five six seven eight nine ten"\}\],"role":"model"\},"index":0\}\]\}\r\n\r\ndata: \{"candidates":\[\{"content":\{"role":"model","parts":\[\{"text":""\}\]\},"finishReason":"MAX_TOKENS","index":0\}\],"usageMetadata":\{"promptTokenCount":\d+,"candidatesTokenCount":\d+,"totalTokenCount":\d+\},"modelVersion":"gemini-2.5-flash"\}\r\n\r\n$
--- error_log
is cut: it ran past llm_budget_zone "per_key"



=== TEST 10: Gemini bad requests are refused in Google's format
--- request
POST /gemini/gem/v1beta/models/gemini-2.5-flash:generateContent
{"contents":"Hi"}
--- error_code: 400
--- response_body
{"error":{"code":400,"message":"contents: expected an array of turns","status":"INVALID_ARGUMENT"}}



=== TEST 11: an OpenAI-compatible provider's error event (Groq's "event: error") ends the stream: nothing appended
--- request eval
"POST /groqerr/chat/completions\n$::Chat"
--- response_body eval
"data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hel\"}}]}\n\nevent: error\ndata: {\"error\":{\"message\":\"Service Unavailable\",\"type\":\"internal_server_error\"}}\n\n"
--- no_error_log
ended before its end event



=== TEST 12: Anthropic's overloaded_error event ends the stream: no second error appended
--- request eval
"POST /anthropic/overloaded/v1/messages\n$::Msg"
--- response_body_like: ^(?!.*(?:api_error)).*?(?:"overloaded_error","message":"Overloaded"\}\}\n\n$)
--- no_error_log
ended before its end event



=== TEST 13: a last event at EOF without its line end (message_stop) is read and passed on; nothing appended
--- request eval
"POST /anthropic/noeol/v1/messages\n$::Msg"
--- response_body_like: ^(?!.*(?:api_error)).*?(?:event: message_stop\ndata: \{"type":"message_stop"\}$)
--- error_log
llm-log: ep=messages model=claude-x status=200 prompt=10 completion=15 cached=0 reasoning=0 source=usage
--- no_error_log
ended before its end event



=== TEST 14: an event cut in the middle of a line is still dropped, and the stream gets its error event; thinking is estimated
--- request eval
"POST /anthropic/midline/v1/messages\n$::Msg"
--- response_body_like: ^(?!.*"ind(?!ex)).*?(?:"thinking":"Hmm, let me see what the user wants here"\}\}\n\nevent: error\ndata: \{"type":"error","error":\{"type":"api_error",.*\}\}\n\n$)
--- error_log eval
[qr/ended before its end event/, qr/llm-log: ep=messages model=claude-x status=200 prompt=10 completion=\d+ /]



=== TEST 15: reasoning streamed as delta.reasoning (Groq, OpenRouter) is estimated as completion tokens
--- request eval
"POST /reasoning/chat/completions\n$::Chat"
--- ignore_response
--- error_log eval
qr/llm-log: ep=chat model=gpt-4o-mini status=200 prompt=\d+ completion=1\d cached=0 reasoning=0 source=estimate/



=== TEST 16: a weighted llm_route alias in a Gemini path: the chosen model's path reaches the upstream (proxy_pass http://$llm_upstream), sticky by llm_route_key
--- request eval
"POST /gemroute/v1beta/models/gemsplit:generateContent?alt=json\n$::Gem"
--- more_headers
X-User: carol
--- response_body_like: "text":"Paris\."
--- error_log eval
[qr/mock-got: POST \/gemroute\/v1beta\/models\/gemini-2\.5-flash:generateContent\?alt=json$/, qr/llm-log: ep=generateContent model=gemini-2\.5-flash status=200 prompt=12 completion=2 .* cost=0\.000032000/]
--- no_error_log
models/gemsplit



=== TEST 16b: the same alias with another llm_route_key value: the route's other model, in the path and in the cost
--- request eval
"POST /gemroute/v1beta/models/gemsplit:generateContent?alt=json\n$::Gem"
--- more_headers
X-User: alice
--- response_body_like: "text":"Paris\."
--- error_log eval
[qr/mock-got: POST \/gemroute\/v1beta\/models\/gemini-2\.5-pro:generateContent\?alt=json$/, qr/llm-log: ep=generateContent model=gemini-2\.5-pro status=200 prompt=12 completion=2 .* cost=0\.000064000/]
--- no_error_log
models/gemsplit



=== TEST 17: Gemini fallback: a 503 then a 429 first answer, the next model's path is tried (proxy_pass with a URI part); the stream's ?alt=sse is kept
--- request eval
"POST /gemini/v1beta/models/gemchain:streamGenerateContent?alt=sse\n$::Gem"
--- response_body_like: "text":"Paris\."
--- error_log eval
[qr/mock-got: POST \/v1beta\/models\/gem-down:streamGenerateContent\?alt=sse/, qr/mock-got: POST \/v1beta\/models\/gem-busy:streamGenerateContent\?alt=sse/, qr/mock-got: POST \/v1beta\/models\/gemini-2\.5-pro:streamGenerateContent\?alt=sse/, qr/model "gem-busy" failed with 429, falling back to "gemini-2\.5-pro"/, qr/llm-log: ep=streamGenerateContent model=gemini-2\.5-pro status=200/]



=== TEST 18: Gemini shadow traffic: the shadow model's path gets the same request in the background; the client gets the primary's answer
--- request eval
"POST /gemroute/v1beta/models/gemshadowed:generateContent\n$::Gem"
--- response_body_like: "text":"Paris\."
--- error_log eval
[qr/mock-got: POST \/gemroute\/v1beta\/models\/gemini-2\.5-flash:generateContent$/, qr/mock-got: POST \/gemroute\/v1beta\/models\/gem-shadow:generateContent$/, qr/llm shadow: route "gemshadowed" primary "gemini-2\.5-flash" status 200 tokens 2 .*shadow "gem-shadow" status 200 latency \d+ms tokens 2 .*exact 1/, qr/llm-log: ep=generateContent model=gemini-2\.5-flash status=200/]



=== TEST 19: the exact cache for Gemini generateContent: stored, replayed in Google's format (text, finishReason, usageMetadata, modelVersion)
--- request eval
["POST /gemcache/gem/v1beta/models/gemini-2.5-flash:generateContent\n$::Gem", "POST /gemcache/gem/v1beta/models/gemini-2.5-flash:generateContent\n$::Gem"]
--- more_headers
X-Goog-Api-Key: alice
--- response_headers eval
["X-LLM-Cache: MISS", "X-LLM-Cache: HIT"]
--- response_body eval
["{\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"Paris.\"}],\"role\":\"model\"},\"finishReason\":\"STOP\",\"index\":0}],\"usageMetadata\":{\"promptTokenCount\":12,\"candidatesTokenCount\":2,\"totalTokenCount\":60,\"cachedContentTokenCount\":4,\"thoughtsTokenCount\":46},\"modelVersion\":\"gemini-2.5-flash\"}\n", "{\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"Paris.\"}],\"role\":\"model\"},\"finishReason\":\"STOP\",\"index\":0}],\"usageMetadata\":{\"promptTokenCount\":12,\"candidatesTokenCount\":48,\"totalTokenCount\":60},\"modelVersion\":\"gemini-2.5-flash\"}\n"]



=== TEST 20: Gemini answers the cache does not keep: streams, and a request for several candidates
--- request eval
["POST /gemcache/gemsse/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse\n$::Gem", "POST /gemcache/gem/v1beta/models/gemini-2.5-flash:generateContent\n{\"contents\":[{\"role\":\"user\",\"parts\":[{\"text\":\"Hi\"}]}],\"generationConfig\":{\"candidateCount\":2}}"]
--- more_headers
X-Goog-Api-Key: alice
--- response_headers eval
["X-LLM-Cache: BYPASS", "X-LLM-Cache: BYPASS"]
--- response_body_like eval
["Paris", "Paris"]
