# The usage figures of OpenAI-compatible answers, every name the usage
# reader knows (filters/ngx_http_llm_usage.c, ngx_http_llm_openai_usage):
# prompt_tokens_details.cached_tokens and
# completion_tokens_details.reasoning_tokens (OpenAI), DeepSeek's
# prompt_cache_hit_tokens and a top-level reasoning_tokens, a key given
# twice (the last copy counts, as it always did), in whole answers and in
# a stream's usage chunk.  And the answer's tokens wherever they are kept
# (ngx_http_llm_parse_json): in the room the request body's token array
# has past its own tokens (a large request), in an array of their own (a
# small request), and an answer with more tokens than that room holds
# (counted, then filled into a new array).  Every figure is the one the
# module read before these paths were changed (b555a70).

use Test::Nginx::Socket 'no_plan';
use FindBin;
use lib "$FindBin::Bin/lib";
use LLMTest::Suite;

$ENV{TEST_NGINX_HTML_DIR} ||= html_dir();

no_shuffle();
no_long_string();
no_root_location();
log_level('info');

# an answer with about 1,300 tokens before its usage: logprobs of 100
# tokens, thirteen JSON tokens each (echoed ten at a time: nginx's
# parameters are at most 4 KB long)
our $Logprobs = join("\n", map {
    my $from = $_ * 10 + 1;
    "            echo -n '" . join(',', map {
        qq({"token":"t$_","logprob":-0.5,"bytes":[116,$_],"top_logprobs":[{"token":"u","logprob":-1}]})
    } $from .. $from + 9) . ($from + 9 < 100 ? ",';" : "';")
} 0 .. 9);

our $Mock = <<_EOC_;
    log_format llm 'llm-log: model=\$llm_model status=\$status prompt=\$llm_prompt_tokens completion=\$llm_completion_tokens cached=\$llm_cached_tokens reasoning=\$llm_reasoning_tokens source=\$llm_tokens_source';

    llm_model gpt-4o-mini upstream=mock input=0.15 output=0.60;

    upstream mock { server unix:\$TEST_NGINX_HTML_DIR/mock.sock; }

    server {
        listen unix:\$TEST_NGINX_HTML_DIR/mock.sock;
        access_log off;
        default_type application/json;

        location /details/ {
            echo_read_request_body;
            echo -n '{"id":"c1","object":"chat.completion","model":"gpt-4o-mini","choices":[{"index":0,"message":{"role":"assistant","content":"Paris."},"finish_reason":"stop"}],"usage":{"prompt_tokens":120,"completion_tokens":80,"total_tokens":200,"prompt_tokens_details":{"cached_tokens":64,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":48,"accepted_prediction_tokens":0}}}';
        }

        location /deepseek/ {
            echo_read_request_body;
            echo -n '{"id":"c2","object":"chat.completion","model":"deepseek-reasoner","choices":[{"index":0,"message":{"role":"assistant","content":"Paris."},"finish_reason":"stop"}],"usage":{"prompt_tokens":50,"completion_tokens":30,"total_tokens":80,"prompt_cache_hit_tokens":20,"prompt_cache_miss_tokens":30,"reasoning_tokens":12}}';
        }

        location /twice/ {
            echo_read_request_body;
            echo -n '{"id":"c3","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"Paris."},"finish_reason":"stop"}],"usage":{"prompt_tokens":3,"completion_tokens":5,"prompt_tokens":11,"completion_tokens_details":{"reasoning_tokens":1},"completion_tokens_details":{"reasoning_tokens":4}}}';
        }

        location /dense/ {
            echo_read_request_body;
            echo -n '{"id":"c4","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"Paris."},"logprobs":{"content":[';
$Logprobs
            echo -n ']},"finish_reason":"stop"}],"usage":{"prompt_tokens":9,"completion_tokens":100,"total_tokens":109}}';
        }

        location /stream/ {
            default_type text/event-stream;
            echo_read_request_body;
            echo -n 'data: {"id":"c5","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"Paris."},"finish_reason":null}]}\\n\\n';
            echo -n 'data: {"id":"c5","object":"chat.completion.chunk","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}\\n\\n';
            echo -n 'data: {"id":"c5","object":"chat.completion.chunk","choices":[],"usage":{"prompt_tokens":33,"completion_tokens":7,"total_tokens":40,"prompt_tokens_details":{"cached_tokens":16},"completion_tokens_details":{"reasoning_tokens":5}}}\\n\\n';
            echo -n 'data: [DONE]\\n\\n';
        }
    }
_EOC_

our $Gateway = <<'_EOC_';
    location / {
        llm_gateway openai;
        proxy_pass http://mock;
        access_log logs/error.log llm;
    }
_EOC_

# a small request (its token array has little room left) and a large one
# (16 KB of text in one message: room for any answer of this file but the
# dense one)
our $Small = '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Hi"}]}';
our $Large = '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"'
             . ('What is the capital of France? ' x 530)
             . '"}]}';

block_defaults(http_config => $Mock, config => $Gateway);

run_tests();

__DATA__

=== TEST 1: OpenAI's details: cached and reasoning tokens (a small request, then a large one)
--- request eval
["POST /details/v1/chat/completions\n$::Small", "POST /details/v1/chat/completions\n$::Large"]
--- error_code eval
[200, 200]
--- grep_error_log eval
qr/llm-log: .*/
--- grep_error_log_out eval
["llm-log: model=gpt-4o-mini status=200 prompt=120 completion=80 cached=64 reasoning=48 source=usage\n",
 "llm-log: model=gpt-4o-mini status=200 prompt=120 completion=80 cached=64 reasoning=48 source=usage\n"]



=== TEST 2: DeepSeek's names: prompt_cache_hit_tokens, a top-level reasoning_tokens
--- request eval
["POST /deepseek/v1/chat/completions\n$::Small", "POST /deepseek/v1/chat/completions\n$::Large"]
--- error_code eval
[200, 200]
--- grep_error_log eval
qr/llm-log: .*/
--- grep_error_log_out eval
["llm-log: model=gpt-4o-mini status=200 prompt=50 completion=30 cached=20 reasoning=12 source=usage\n",
 "llm-log: model=gpt-4o-mini status=200 prompt=50 completion=30 cached=20 reasoning=12 source=usage\n"]



=== TEST 3: a usage member given twice in an answer: the last copy counts
--- request eval
["POST /twice/v1/chat/completions\n$::Small", "POST /twice/v1/chat/completions\n$::Large"]
--- error_code eval
[200, 200]
--- grep_error_log eval
qr/llm-log: .*/
--- grep_error_log_out eval
["llm-log: model=gpt-4o-mini status=200 prompt=11 completion=5 cached=0 reasoning=4 source=usage\n",
 "llm-log: model=gpt-4o-mini status=200 prompt=11 completion=5 cached=0 reasoning=4 source=usage\n"]



=== TEST 4: an answer of some 1,300 tokens, more than the large request's array has room for: counted, then read whole
--- request eval
["POST /dense/v1/chat/completions\n$::Small", "POST /dense/v1/chat/completions\n$::Large"]
--- error_code eval
[200, 200]
--- response_body_like eval
['"t100","logprob":-0.5,"bytes":\[116,100\]', '"t100","logprob":-0.5,"bytes":\[116,100\]']
--- grep_error_log eval
qr/llm-log: .*/
--- grep_error_log_out eval
["llm-log: model=gpt-4o-mini status=200 prompt=9 completion=100 cached=0 reasoning=0 source=usage\n",
 "llm-log: model=gpt-4o-mini status=200 prompt=9 completion=100 cached=0 reasoning=0 source=usage\n"]



=== TEST 5: a stream's usage chunk with OpenAI's details
--- request eval
my $s = $::Small; $s =~ s/^\{/{"stream":true,/;
my $l = $::Large; $l =~ s/^\{/{"stream":true,/;
["POST /stream/v1/chat/completions\n$s", "POST /stream/v1/chat/completions\n$l"]
--- error_code eval
[200, 200]
--- grep_error_log eval
qr/llm-log: .*/
--- grep_error_log_out eval
["llm-log: model=gpt-4o-mini status=200 prompt=33 completion=7 cached=16 reasoning=5 source=usage\n",
 "llm-log: model=gpt-4o-mini status=200 prompt=33 completion=7 cached=16 reasoning=5 source=usage\n"]
