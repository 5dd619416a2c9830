# Semantic cache with a remote embedder (llm_cache_embedder URI): the last
# user message is sent to an internal location that proxies to an
# OpenAI-compatible /v1/embeddings (here a mock whose vectors depend on the
# words of the input), paraphrases are answered from the cache, the guard
# still separates negations; a slow, failing or malformed embedder only
# makes the request miss; configuration errors are refused by nginx -t.

use Test::Nginx::Socket 'no_plan';
use FindBin;
use lib "$FindBin::Bin/lib";
use LLMTest::Suite;

$ENV{TEST_NGINX_HTML_DIR} ||= html_dir();

no_shuffle();
no_long_string();
no_root_location();
log_level('info');

# 4097 numbers, one dimension too many, as echo lines of less than 4 KB
our $Big = join('', map {
    my $n = $_ < 8 ? 500 : 97;
    "            echo -n '" . ($_ ? ',' : '[') . join(',', ('0.5') x $n)
    . ($_ == 8 ? ']' : '') . "';\n"
} 0 .. 8);

our $Mock = <<'_EOC_';
    llm_model gpt-4o-mini upstream=mock input=1.00 output=2.00;

    llm_cache_zone zone=main:1m;

    upstream mock {
        server unix:$TEST_NGINX_HTML_DIR/mock.sock;
    }

    # the mock embedder: one direction per topic, whatever the words
    map $request_body $mock_vec {
        ~*(refund|money.back)    '[0.90,0.10,-0.05,0.20]';
        ~*(weather|forecast)     '[0.02,0.15,0.95,-0.10]';
        ~*tokyo                  '[0.25,0.95,0.10,0.00]';
        default                  '[-0.10,-0.90,0.10,0.30]';
    }

    log_format embedder escape=none 'embedder got: $request_body ae=$http_accept_encoding';

    server {
        listen unix:$TEST_NGINX_HTML_DIR/mock.sock;
        access_log off;
        add_header X-Mock upstream;

        location /json/ {
            default_type application/json;
            echo_read_request_body;
            echo '{"id":"up-1","object":"chat.completion","model":"gpt-4o-mini-2024-07-18","choices":[{"index":0,"message":{"role":"assistant","content":"Here is how."},"finish_reason":"stop"}],"usage":{"prompt_tokens":12,"completion_tokens":3,"total_tokens":15}}';
        }

        location /stream/ {
            default_type text/event-stream;
            echo_read_request_body;
            echo 'data: {"id":"up-2","object":"chat.completion.chunk","model":"gpt-4o-mini","choices":[{"index":0,"delta":{"role":"assistant","content":"Here "},"finish_reason":null}]}';
            echo '';
            echo 'data: {"id":"up-2","object":"chat.completion.chunk","model":"gpt-4o-mini","choices":[{"index":0,"delta":{"content":"is how."},"finish_reason":"stop"}]}';
            echo '';
            echo 'data: {"id":"up-2","object":"chat.completion.chunk","model":"gpt-4o-mini","choices":[],"usage":{"prompt_tokens":12,"completion_tokens":3,"total_tokens":15}}';
            echo '';
            echo 'data: [DONE]';
            echo '';
        }

        location = /v1/embeddings {
            access_log logs/error.log embedder;
            default_type application/json;
            if ($http_accept_encoding ~* gzip) {
                return 415;
            }
            echo_read_request_body;
            echo '{"object":"list","data":[{"object":"embedding","index":0,"embedding":$mock_vec}],"model":"text-embedding-3-small","usage":{"prompt_tokens":5,"total_tokens":5}}';
        }

        location = /v1/slow {
            echo_read_request_body;
            echo_sleep 5;
            echo '{"data":[{"embedding":[1,0]}]}';
        }

        location = /v1/fail {
            return 500 '{"error":{"message":"boom"}}';
        }

        location = /v1/garbage {
            default_type application/json;
            return 200 '{"data":[{"embedding":"AAAAAA=="}]}';
        }

        location = /v1/notjson {
            default_type application/json;
            return 200 'Service unavailable';
        }

        location = /v1/big {
            default_type application/json;
            echo -n '{"data":[{"embedding":';
$TEST_NGINX_BIG
            echo '}]}';
        }

        location = /v1/zero {
            default_type application/json;
            return 200 '{"data":[{"embedding":[0,0,0,0]}]}';
        }
    }
_EOC_

$Mock =~ s/\$TEST_NGINX_BIG\n/$Big/;

our $Gateway = <<'_EOC_';
    location / {
        llm_gateway openai;
        llm_cache main;
        llm_cache_semantic 0.9;
        llm_cache_embedder /embed;
        proxy_pass http://mock;
        add_header X-Similarity $llm_cache_similarity always;
    }

    location /model/ {
        llm_gateway openai;
        llm_cache main;
        llm_cache_semantic 0.9;
        llm_cache_embedder /embed model=my-embedder timeout=2s;
        proxy_pass http://mock/json/;
    }

    location /slow/ {
        llm_gateway openai;
        llm_cache main;
        llm_cache_semantic 0.9;
        llm_cache_embedder /embed-slow timeout=300ms;
        proxy_pass http://mock/json/;
    }

$TEST_NGINX_FAILING
    location = /embed {
        internal;
        proxy_pass http://mock/v1/embeddings;
        proxy_set_header Authorization "Bearer sk-embedder";
    }

    location = /embed-slow {
        internal;
        proxy_pass http://mock/v1/slow;
    }

    location = /status {
        llm_status;
    }
_EOC_

# a gateway location per failing embedder, each with its embedder location
# (/embed-missing has none: a 404)
our $Failing = join('', map { <<"_EOC_" } qw(fail garbage notjson big zero missing));
    location /$_/ {
        llm_gateway openai;
        llm_cache main;
        llm_cache_semantic 0.9;
        llm_cache_embedder /embed-$_;
        proxy_pass http://mock/json/;
    }

    location = /embed-$_ {
        internal;
        proxy_pass http://mock/v1/$_;
    }

_EOC_

$Failing =~ s{(location = /embed-missing \{\n).*?\}\n}{}s;
$Gateway =~ s/\$TEST_NGINX_FAILING\n/$Failing/;

sub ask {
    my ($q, $uri, $extra) = @_;
    $uri ||= '/json/chat/completions';
    $extra = defined $extra ? ",$extra" : '';
    return qq(POST $uri\n{"model":"gpt-4o-mini","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"$q"}]$extra});
}

block_defaults(http_config => $Mock, config => $Gateway,
               more_headers => "Authorization: Bearer alice");

run_tests();

__DATA__

=== TEST 1: a paraphrase in other words is answered from the cache; another topic misses
--- request eval
[
main::ask("How do I get a refund?"),
main::ask("Can I have my money back, please?"),
main::ask("Is a refund possible for my order?"),
main::ask("What is the weather tomorrow?"),
main::ask("Tell me the forecast for tomorrow"),
main::ask("How do I get a refund?"),
]
--- response_headers eval
["X-LLM-Cache: MISS\nX-Mock: upstream",
 "X-LLM-Cache: SEMANTIC\n!X-Mock\nX-Similarity: 1.000",
 "X-LLM-Cache: SEMANTIC\n!X-Mock",
 "X-LLM-Cache: MISS\nX-Mock: upstream",
 "X-LLM-Cache: SEMANTIC\n!X-Mock",
 "X-LLM-Cache: HIT\n!X-Mock"]
--- response_body_like eval
[qr/"id":"up-1"/, qr/^\{"id":"chatcmpl-[0-9a-f]{24}","object":"chat\.completion",.*"content":"Here is how\.",/, qr/Here is how/, qr/"id":"up-1"/, qr/Here is how/, qr/Here is how/]
--- no_error_log
[error]
[warn]



=== TEST 2: the embedder gets the last user message as it was sent (escapes kept), the model, float encoding, the location's headers
--- request eval
main::ask('Where is \"Tokyo\" \u00e9?')
--- response_headers
X-LLM-Cache: MISS
--- error_log
embedder got: {"model":"text-embedding-3-small","input":"Where is \"Tokyo\" \u00e9?","encoding_format":"float"} ae=
--- no_error_log
[error]



=== TEST 3: model= names the embeddings model; the client's Accept-Encoding does not reach the embedder (its answer must be readable)
--- more_headers
Authorization: Bearer alice
Accept-Encoding: gzip
--- request eval
[
main::ask("How do I get a refund?", "/model/chat/completions"),
main::ask("I want my money back", "/model/chat/completions"),
]
--- response_headers eval
["X-LLM-Cache: MISS", "X-LLM-Cache: SEMANTIC"]
--- error_log eval
qr/^embedder got: \{"model":"my-embedder","input":"(How do I get a refund\?|I want my money back)","encoding_format":"float"\} ae=identity$/
--- no_error_log
[error]



=== TEST 4: the guard holds with a remote embedder: a negation with the same vector misses
--- request eval
[
main::ask("How do I get a refund?"),
main::ask("How do I not get a refund?"),
main::ask("Refund: how do I get one?"),
]
--- response_headers eval
["X-LLM-Cache: MISS", "X-LLM-Cache: MISS\nX-Mock: upstream", "X-LLM-Cache: SEMANTIC"]
--- no_error_log
[error]



=== TEST 5: scopes stay apart: another caller's paraphrase misses
--- request eval
[
main::ask("How do I get a refund?"),
main::ask("Can I have my money back?"),
]
--- more_headers eval
["Authorization: Bearer alice", "Authorization: Bearer bob"]
--- response_headers eval
["X-LLM-Cache: MISS", "X-LLM-Cache: MISS\nX-Mock: upstream"]
--- no_error_log
[error]



=== TEST 6: a streamed answer stored with its vector is replayed for a paraphrase as a stream and as JSON
--- request eval
[
main::ask("How do I get a refund?", "/stream/chat/completions", '"stream":true'),
main::ask("Money back: how?", "/stream/chat/completions", '"stream":true'),
main::ask("Could I get my money back?", "/stream/chat/completions"),
]
--- response_headers eval
["X-LLM-Cache: MISS\nContent-Type: text/event-stream",
 "X-LLM-Cache: SEMANTIC\nContent-Type: text/event-stream",
 "X-LLM-Cache: SEMANTIC\nContent-Type: application/json"]
--- response_body_like eval
[qr/"id":"up-2".*data: \[DONE\]/s, qr/^data: \{"id":"chatcmpl-.*"content":"Here .*data: \[DONE\]\n\n$/s, qr/^\{"id":"chatcmpl-.*"content":"Here is how\."/]
--- no_error_log
[error]



=== TEST 7: a slow embedder: the request misses after the timeout and is served
--- no_error_log
[alert]
[crit]
[emerg]
--- request eval
main::ask("How do I get a refund?", "/slow/chat/completions")
--- response_headers
X-LLM-Cache: MISS
X-Mock: upstream
--- response_body_like eval
qr/"id":"up-1"/
--- error_log
llm cache "main": embedder "/embed-slow" did not answer in 300ms; looked up as a miss
--- timeout: 4



=== TEST 8: a slow embedder does not hold the client: the next request on the connection is served (an exact hit), the timeout is counted
--- no_error_log
[alert]
[crit]
[emerg]
--- request eval
[
main::ask("How do I get a refund?", "/slow/chat/completions"),
main::ask("How do I get a refund?", "/slow/chat/completions"),
"GET /status?format=json",
]
--- response_headers eval
["X-LLM-Cache: MISS\nX-Mock: upstream", "X-LLM-Cache: HIT", ""]
--- response_body_like eval
[qr/"id":"up-1"/, qr/Here is how/, qr/"embedder":\{"ok":0,"errors":0,"timeouts":1\}/]
--- timeout: 4



=== TEST 8.1: an embedder that answers 500: the request misses, is served, the failure is logged
--- request eval
main::ask("How do I get a refund?", "/fail/chat/completions")
--- response_headers
X-LLM-Cache: MISS
X-Mock: upstream
--- response_body_like eval
qr/"id":"up-1"/
--- error_log eval
qr/embedder "\/embed-fail" failed: status 500; looked up as a miss/
--- no_error_log
[crit]
[alert]



=== TEST 8.2: an embedder that answers base64: the request misses, is served, the failure is logged
--- request eval
main::ask("How do I get a refund?", "/garbage/chat/completions")
--- response_headers
X-LLM-Cache: MISS
X-Mock: upstream
--- response_body_like eval
qr/"id":"up-1"/
--- error_log eval
qr/embedder "\/embed-garbage" failed: invalid answer \("embedding" is not a list of numbers; base64 is not read\)/
--- no_error_log
[crit]
[alert]



=== TEST 8.3: an embedder that answers text: the request misses, is served, the failure is logged
--- request eval
main::ask("How do I get a refund?", "/notjson/chat/completions")
--- response_headers
X-LLM-Cache: MISS
X-Mock: upstream
--- response_body_like eval
qr/"id":"up-1"/
--- error_log eval
qr/embedder "\/embed-notjson" failed: invalid answer \(not an embeddings list\)/
--- no_error_log
[crit]
[alert]



=== TEST 8.4: an embedder that answers 4097 dimensions: the request misses, is served, the failure is logged
--- request eval
main::ask("How do I get a refund?", "/big/chat/completions")
--- response_headers
X-LLM-Cache: MISS
X-Mock: upstream
--- response_body_like eval
qr/"id":"up-1"/
--- error_log eval
qr/embedder "\/embed-big" failed: 4097 dimensions \(1 to 4096 are read\)/
--- no_error_log
[crit]
[alert]



=== TEST 8.5: an embedder that answers a zero vector: the request misses, is served, the failure is logged
--- request eval
main::ask("How do I get a refund?", "/zero/chat/completions")
--- response_headers
X-LLM-Cache: MISS
X-Mock: upstream
--- response_body_like eval
qr/"id":"up-1"/
--- error_log eval
qr/embedder "\/embed-zero" failed: invalid answer \(a zero or unbounded vector\)/
--- no_error_log
[crit]
[alert]



=== TEST 8.6: an embedder that location does not exist (404): the request misses, is served, the failure is logged
--- request eval
main::ask("How do I get a refund?", "/missing/chat/completions")
--- response_headers
X-LLM-Cache: MISS
X-Mock: upstream
--- response_body_like eval
qr/"id":"up-1"/
--- error_log eval
qr/embedder "\/embed-missing" failed: status 404/
--- no_error_log
[crit]
[alert]



=== TEST 8.7: failures are counted; the next request on the connection is served
--- no_error_log
[alert]
[crit]
[emerg]
--- request eval
[
main::ask("How do I get a refund?", "/fail/chat/completions"),
main::ask("Where is my parcel?", "/garbage/chat/completions"),
"GET /status?format=json",
]
--- response_headers eval
["X-LLM-Cache: MISS\nX-Mock: upstream", "X-LLM-Cache: MISS\nX-Mock: upstream", ""]
--- response_body_like eval
[qr/"id":"up-1"/, qr/"id":"up-1"/, qr/"embedder":\{"ok":0,"errors":2,"timeouts":0\}/]



=== TEST 9: counters on llm_status: calls by result (Prometheus)
--- no_error_log
[alert]
[crit]
[emerg]
--- request eval
[
main::ask("How do I get a refund?"),
main::ask("Can I have my money back?"),
main::ask("Where is my parcel?", "/fail/chat/completions"),
"GET /status",
]
--- response_body_like eval
[qr/up-1/, qr/Here is how/, qr/up-1/,
 qr/llm_cache_embedder_requests_total\{zone="main",result="ok"\} 2\nllm_cache_embedder_requests_total\{zone="main",result="error"\} 1\nllm_cache_embedder_requests_total\{zone="main",result="timeout"\} 0\n/]



=== TEST 10: a request that cannot be compared (last message not the user's) does not call the embedder
--- request
POST /json/chat/completions
{"model":"gpt-4o-mini","messages":[{"role":"user","content":"How do I get a refund?"},{"role":"assistant","content":"Ask."}]}
--- response_headers
X-LLM-Cache: MISS
--- no_error_log
embedder got:
[error]



=== TEST 11: Cache-Control: no-cache skips the lookup: no embedder call, the answer is still stored for exact hits
--- request eval
[
main::ask("How do I get a refund?"),
main::ask("How do I get a refund?"),
]
--- more_headers eval
["Authorization: Bearer alice\nCache-Control: no-cache", "Authorization: Bearer alice"]
--- response_headers eval
["X-LLM-Cache: BYPASS", "X-LLM-Cache: HIT"]
--- no_error_log
embedder got:
[error]



=== TEST 12: nginx -t: the URI must be a location's
--- config
    location / {
        llm_gateway openai;
        llm_cache_embedder embed;
    }
--- must_die
--- error_log
llm_cache_embedder "embed": "builtin" or the URI of a location (starting with "/") that proxies to an OpenAI-compatible /v1/embeddings



=== TEST 13: nginx -t: bad parameters
--- config
    location / {
        llm_gateway openai;
        llm_cache_embedder /embed dimensions=3;
    }
--- must_die
--- error_log
llm_cache_embedder: invalid parameter "dimensions=3" (model=NAME, timeout=TIME or scripts=LIST)



=== TEST 14: nginx -t: bad timeout
--- config
    location / {
        llm_gateway openai;
        llm_cache_embedder /embed timeout=soon;
    }
--- must_die
--- error_log
llm_cache_embedder: invalid timeout "soon" (a time above 0, e.g. 500ms)



=== TEST 15: nginx -t: builtin takes no parameters
--- config
    location / {
        llm_gateway openai;
        llm_cache_embedder builtin timeout=1s;
    }
--- must_die
--- error_log
llm_cache_embedder builtin takes no parameters, "timeout=1s" given



=== TEST 16: the client goes away while the embedder is asked: the request is cleaned up at the timeout, nothing is left behind
--- request eval
main::ask("How do I get a refund?", "/slow/chat/completions")
--- timeout: 0.1
--- abort
--- ignore_response
--- wait: 0.6
--- error_log
did not answer in 300ms; looked up as a miss
--- no_error_log
[alert]
[crit]
[emerg]



=== TEST 17: HTTP/2: the same paraphrase hit
--- http2
--- request eval
[
main::ask("How do I get a refund?"),
main::ask("Can I have my money back, please?"),
]
--- response_headers eval
["X-LLM-Cache: MISS", "X-LLM-Cache: SEMANTIC"]
--- no_error_log
[error]



=== TEST 18: a remote embedder's entries are not compared by a location with the builtin embedder (and the other way round)
--- config
    location / {
        llm_gateway openai;
        llm_cache main;
        llm_cache_semantic 0.9;
        llm_cache_embedder /embed;
        proxy_pass http://mock;
    }

    location /builtin/ {
        llm_gateway openai;
        llm_cache main;
        llm_cache_semantic 0.5;
        proxy_pass http://mock/json/;
    }

    location = /embed {
        internal;
        proxy_pass http://mock/v1/embeddings;
    }
--- request eval
[
main::ask("How do I get a refund?"),
main::ask("how do I get a refund", "/builtin/chat/completions"),
main::ask("how do I get a refund?"),
]
--- response_headers eval
["X-LLM-Cache: MISS", "X-LLM-Cache: MISS", "X-LLM-Cache: SEMANTIC"]
--- no_error_log
[error]



=== TEST 19: the rest of the pipeline runs after the embedder's answer: a budget of 200 tokens admits a miss (15 used), a paraphrase is a semantic hit, a miss that may use 180 more is refused (429)
--- http_config eval
$::Mock . q{
    llm_budget_zone $http_authorization zone=tight:1m tokens=200/h;
}
--- config
    location / {
        llm_gateway openai;
        llm_cache main;
        llm_cache_semantic 0.9;
        llm_cache_embedder /embed;
        llm_budget tight;
        proxy_pass http://mock;
    }

    location = /embed {
        internal;
        proxy_pass http://mock/v1/embeddings;
    }
--- request eval
[
main::ask("How do I get a refund?", "/json/chat/completions", '"max_tokens":10'),
main::ask("Can I have my money back?", "/json/chat/completions", '"max_tokens":10'),
main::ask("What is the weather tomorrow?", "/json/chat/completions", '"max_tokens":180'),
]
--- error_code eval
[200, 200, 429]
--- response_headers eval
["X-LLM-Cache: MISS", "X-LLM-Cache: SEMANTIC", "X-LLM-Cache: MISS"]
--- response_body_like eval
[qr/"id":"up-1"/, qr/Here is how/, qr/"type":"(tokens|rate_limit_exceeded|requests)"|rate_limit/]
