# Semantic cache: near-duplicates of a cached question are answered from it
# (SEMANTIC), only within the same scope, model, parameters and earlier
# turns; the threshold; look-alikes with another meaning (negation, another
# entity, numbers, opposites) miss; configuration.

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
    llm_model gpt-4o-mini upstream=mock input=1.00 output=2.00;
    llm_model gpt-4o upstream=mock;
    llm_model claude-3-5-haiku upstream=mock;

    llm_cache_zone zone=main:1m;

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
            echo '{"id":"up-1","object":"chat.completion","model":"gpt-4o-mini-2024-07-18","choices":[{"index":0,"message":{"role":"assistant","content":"Paris."},"finish_reason":"stop"}],"usage":{"prompt_tokens":12,"completion_tokens":2,"total_tokens":14}}';
        }

        location /anthropic/ {
            default_type application/json;
            echo_read_request_body;
            echo '{"id":"msg_up","type":"message","role":"assistant","model":"claude-3-5-haiku-20241022","content":[{"type":"text","text":"Paris."}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":12,"output_tokens":2}}';
        }
    }
_EOC_

our $Gateway = <<'_EOC_';
    location / {
        llm_gateway openai;
        llm_cache main;
        llm_cache_semantic on;
        proxy_pass http://mock;
        add_header X-Similarity $llm_cache_similarity always;
    }

    location /strict/ {
        llm_gateway openai;
        llm_cache main;
        llm_cache_semantic 0.99;
        proxy_pass http://mock/json/;
    }

    location /exact/ {
        llm_gateway openai;
        llm_cache main;
        proxy_pass http://mock/json/;
    }

    location /anthropic/ {
        llm_gateway anthropic;
        llm_cache main;
        llm_cache_semantic 0.8;
        llm_cache_embedder builtin;
        proxy_pass http://mock;
    }

    location = /status {
        llm_status;
    }
_EOC_

sub ask {
    my ($q, $extra, $uri) = @_;
    $extra = defined $extra ? ",$extra" : '';
    $uri ||= '/json/chat/completions';
    return qq(POST $uri\n{"model":"gpt-4o-mini","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"$q"}]$extra});
}

block_defaults(http_config => $Mock, config => $Gateway,
               more_headers => "Authorization: Bearer alice");

run_tests();

__DATA__

=== TEST 1: near-duplicates of a cached question are answered from it: case, punctuation, filler, word order, a typo
--- request eval
[
main::ask("What is the capital of France?"),
main::ask("what is the capital of france"),
main::ask("Can you please tell me what the capital of France is?"),
main::ask("France: what is its capital?"),
main::ask("What is the capitol of France?"),
main::ask("What is the capital of France?"),
]
--- response_headers eval
["X-LLM-Cache: MISS\nX-Mock: upstream\n!X-Similarity",
 "X-LLM-Cache: SEMANTIC\n!X-Mock",
 "X-LLM-Cache: SEMANTIC\n!X-Mock",
 "X-LLM-Cache: SEMANTIC\n!X-Mock",
 "X-LLM-Cache: SEMANTIC\n!X-Mock",
 "X-LLM-Cache: HIT\nX-Similarity: 1.000"]
--- raw_response_headers_like eval
[qr/\r\nX-LLM-Cache: MISS\r\n/, qr/\r\nX-Similarity: 1\.000\r\n/, qr/\r\nX-Similarity: 1\.000\r\n/, qr/\r\nX-Similarity: 0\.(8|9)\d\d\r\n/, qr/\r\nX-Similarity: 0\.(8|9)\d\d\r\n/, qr/\r\nX-Similarity: 1\.000\r\n/]
--- response_body_like eval
[qr/"id":"up-1"/, qr/^\{"id":"chatcmpl-[0-9a-f]{24}","object":"chat\.completion",.*"content":"Paris\.",.*"usage":\{"prompt_tokens":12,"completion_tokens":2,"total_tokens":14\}\}/, qr/chatcmpl-/, qr/chatcmpl-/, qr/chatcmpl-/, qr/chatcmpl-/]



=== TEST 2: look-alikes with another meaning miss: another entity, a negation, a number, an opposite, another question word
--- request eval
[
main::ask("What is the capital of France?"),
main::ask("What is the capital of Spain?"),
main::ask("Is coffee bad for your health?"),
main::ask("Is coffee not bad for your health?"),
main::ask("What is 15% of 80?"),
main::ask("What is 15% of 90?"),
main::ask("How do I increase my credit score?"),
main::ask("How do I decrease my credit score?"),
main::ask("Why did the Roman Empire fall?"),
main::ask("When did the Roman Empire fall?"),
main::ask("Convert 100 Celsius to Fahrenheit."),
main::ask("Convert 100 Fahrenheit to Celsius."),
]
--- response_headers eval
[("X-LLM-Cache: MISS") x 12]



=== TEST 3: only within the same context: system prompt, earlier turns, model, parameters, scope
--- request eval
[
main::ask("What is the capital of France?"),
qq(POST /json/chat/completions\n{"model":"gpt-4o-mini","messages":[{"role":"system","content":"Be verbose."},{"role":"user","content":"what is the capital of france"}]}),
qq(POST /json/chat/completions\n{"model":"gpt-4o-mini","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"Hi"},{"role":"assistant","content":"Hello"},{"role":"user","content":"what is the capital of france"}]}),
qq(POST /json/chat/completions\n{"model":"gpt-4o","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"what is the capital of france"}]}),
main::ask("what is the capital of france", '"temperature":0'),
main::ask("what is the capital of france"),
main::ask("what is the capital of france"),
]
--- more_headers eval
[("Authorization: Bearer alice") x 5, "Authorization: Bearer bob", "Authorization: Bearer alice"]
--- response_headers eval
["X-LLM-Cache: MISS", "X-LLM-Cache: MISS", "X-LLM-Cache: MISS", "X-LLM-Cache: MISS", "X-LLM-Cache: MISS", "X-LLM-Cache: MISS", "X-LLM-Cache: SEMANTIC"]



=== TEST 4: the threshold: a near-duplicate under it misses; the same words in another order pass at 0.8, not at 0.99
--- request eval
[
main::ask("How do I sort an array in Java?", undef, "/strict/chat/completions"),
main::ask("In Java, how do I sort an array?", undef, "/strict/chat/completions"),
main::ask("How do I reverse a list in Python?"),
main::ask("In Python, how do I reverse a list?"),
]
--- response_headers eval
["X-LLM-Cache: MISS", "X-LLM-Cache: MISS", "X-LLM-Cache: MISS", "X-LLM-Cache: SEMANTIC"]



=== TEST 4.1: two names that trade places around the same words miss (similarity 0.945 before the check of swapped words); the same words with a clause moved as a whole still hit
--- request eval
[
main::ask("The Comanca river is a tributary of the Redea river in Romania"),
main::ask("The Redea river is a tributary of the Comanca river in Romania"),
main::ask("In Romania, the Comanca river is a tributary of the Redea river"),
]
--- response_headers eval
["X-LLM-Cache: MISS\nX-Mock: upstream",
 "X-LLM-Cache: MISS\nX-Mock: upstream",
 "X-LLM-Cache: SEMANTIC\n!X-Mock\nX-Similarity: 0.945"]



=== TEST 5: llm_cache_semantic off (the default): exact matches only, and nothing indexed for a semantic lookup later
--- request eval
[
main::ask("What is the boiling point of water?", undef, "/exact/chat/completions"),
main::ask("what is the boiling point of water", undef, "/exact/chat/completions"),
main::ask("Tell me the boiling point of water."),
]
--- response_headers eval
["X-LLM-Cache: MISS", "X-LLM-Cache: MISS", "X-LLM-Cache: MISS"]



=== TEST 6: only a last message from the user, with text, is compared
--- request eval
[
qq(POST /json/chat/completions\n{"model":"gpt-4o-mini","messages":[{"role":"user","content":"What is the capital of France?"},{"role":"assistant","content":"Let me think."}]}),
qq(POST /json/chat/completions\n{"model":"gpt-4o-mini","messages":[{"role":"user","content":"what is the capital of france"},{"role":"assistant","content":"Let me think."}]}),
qq(POST /json/chat/completions\n{"model":"gpt-4o-mini","messages":[{"role":"user","content":[{"type":"text","text":"What is the capital of France?"}]}]}),
qq(POST /json/chat/completions\n{"model":"gpt-4o-mini","messages":[{"role":"user","content":[{"type":"text","text":"what is the capital of france"}]}]}),
]
--- response_headers eval
["X-LLM-Cache: MISS", "X-LLM-Cache: MISS", "X-LLM-Cache: MISS", "X-LLM-Cache: MISS"]



=== TEST 7: a semantic hit is replayed as a stream when the new request asks for one; Anthropic too
--- request eval
[
main::ask("What is the capital of France?"),
main::ask("what's the capital of france", '"stream":true'),
qq(POST /anthropic/v1/messages\n{"model":"claude-3-5-haiku","max_tokens":64,"system":"Be brief.","messages":[{"role":"user","content":"What is the capital of France?"}]}),
qq(POST /anthropic/v1/messages\n{"model":"claude-3-5-haiku","max_tokens":64,"system":"Be brief.","stream":true,"messages":[{"role":"user","content":"Please, what is the capital of France"}]}),
]
--- response_headers eval
["X-LLM-Cache: MISS", "X-LLM-Cache: SEMANTIC\nContent-Type: text/event-stream", "X-LLM-Cache: MISS", "X-LLM-Cache: SEMANTIC\nContent-Type: text/event-stream"]
--- response_body_like eval
[qr/up-1/, qr/"delta":\{"content":"Paris\."\}.*data: \[DONE\]\n\n$/s, qr/msg_up/, qr/"text_delta","text":"Paris\."\}.*event: message_stop\n/s]



=== TEST 8: llm_status counts semantic hits and semantic entries
--- request eval
[main::ask("What is the capital of France?"), main::ask("what is the capital of france"), "GET /status", "GET /status?format=json"]
--- response_body_like eval
[qr/up-1/, qr/chatcmpl-/, qr/llm_cache_requests_total\{zone="main",result="hit"\} 0\nllm_cache_requests_total\{zone="main",result="semantic"\} 1\nllm_cache_requests_total\{zone="main",result="miss"\} 1\n(.|\n)*llm_cache_entries\{zone="main",kind="all"\} 1\nllm_cache_entries\{zone="main",kind="semantic"\} 1\n/, qr/"cache":\{"main":\{"hits":0,"semantic_hits":1,"misses":1,"bypassed":0,"stored":1,"evicted":0,"expired":0,"entries":1,"semantic_entries":1,/]



=== TEST 9: llm_cache_semantic checks its threshold
--- config
    location / {
        llm_gateway openai;
        llm_cache main;
        llm_cache_semantic 1.5;
        proxy_pass http://mock;
    }
--- must_die
--- error_log eval
qr/\[emerg\] .*llm_cache_semantic: invalid threshold "1\.5" \(a cosine similarity above 0 and at most 1, with up to 3 decimals, e\.g\. 0\.8; or on, off\)/



