# Streaming: unbuffered event by event, usage counted (reported or
# estimated), usage injected and stripped, cut and aborted streams.

use Test::Nginx::Socket 'no_plan';
use FindBin;
use lib "$FindBin::Bin/lib";
use LLMTest::Suite;

$ENV{TEST_NGINX_HTML_DIR} ||= html_dir();

no_shuffle();
no_long_string();
log_level('info');
no_root_location();

our $E1 = 'data: {"id":"c1","choices":[{"index":0,"delta":{"role":"assistant","content":""}}]}\n\n';
our $E2 = 'data: {"id":"c1","choices":[{"index":0,"delta":{"content":"Hello"}}]}\n\n';
our $E3 = 'data: {"id":"c1","choices":[{"index":0,"delta":{"content":" world, how are you today?"}}]}\n\n';
our $E4 = 'data: {"id":"c1","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}\n\n';
our $U  = 'data: {"id":"c1","choices":[],"usage":{"prompt_tokens":12,"completion_tokens":7,"total_tokens":19}}\n\n';
our $D  = 'data: [DONE]\n\n';

# what the client receives, with real line ends
sub sse { my $s = join '', @_; $s =~ s/\\n/\n/g; $s }

our $Mock = <<"_EOC_";
    log_format llm 'llm-log: model=\$llm_model stream=\$llm_stream prompt=\$llm_prompt_tokens completion=\$llm_completion_tokens total=\$llm_total_tokens source=\$llm_tokens_source cost=\$llm_cost ttft=\$llm_ttft status=\$status';

    llm_model gpt-4o-mini upstream=mock input=0.15 output=0.60;
    llm_model claude-3-5-haiku upstream=mock input=0.80 output=4.00;

    upstream mock {
        server unix:\$TEST_NGINX_HTML_DIR/mock.sock;
    }

    server {
        listen unix:\$TEST_NGINX_HTML_DIR/mock.sock;
        access_log off;
        default_type text/event-stream;

        location /stream/ {
            add_header X-Got-Body \$request_body;
            echo_read_request_body;
            echo -n '$E1';
            echo_flush;
            echo -n '$E2';
            echo -n '$E3';
            echo_flush;
            echo -n '$E4';
            echo -n '$U';
            echo -n '$D';
        }

        location /plain-stream/ {
            echo_read_request_body;
            echo -n '$E1$E2$E3$E4$D';
        }

        location /slow/ {
            echo_read_request_body;
            echo -n '$E1$E2';
            echo_flush;
            echo_sleep 3;
            echo -n '$E3$E4$U$D';
        }

        location /split/ {
            echo_read_request_body;
            echo -n 'data: {"id":"c1","choices":[{"index":0,"del';
            echo_flush;
            echo_sleep 0.05;
            echo -n 'ta":{"content":"Hi"}}]}\\r';
            echo_flush;
            echo_sleep 0.05;
            echo -n '\\n\\r\\ndata: {"id":"c1","choices":[],"us';
            echo_flush;
            echo_sleep 0.05;
            echo -n 'age":{"prompt_tokens":5,"completion_tokens":1,"total_tokens":6}}\\n';
            echo_flush;
            echo_sleep 0.05;
            echo -n '\\n$D';
        }

        location /anthropic/ {
            echo_read_request_body;
            echo -n 'event: message_start\\ndata: {"type":"message_start","message":{"id":"m1","model":"claude-3-5-haiku","usage":{"input_tokens":12,"cache_creation_input_tokens":3,"cache_read_input_tokens":2,"output_tokens":1}}}\\n\\n';
            echo -n 'event: content_block_delta\\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hello"}}\\n\\n';
            echo_flush;
            echo -n ': a comment line\\n\\nevent: ping\\ndata: {"type":"ping"}\\n\\n';
            echo -n 'event: message_delta\\ndata: {"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":5}}\\n\\n';
            echo -n 'event: message_delta\\ndata: {"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":9}}\\n\\n';
            echo -n 'event: message_stop\\ndata: {"type":"message_stop"}\\n\\n';
        }

        location /json/ {
            default_type application/json;
            echo_read_request_body;
            echo '{"id":"c2","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"Hello world"},"finish_reason":"stop"}],"usage":{"prompt_tokens":20,"completion_tokens":30,"total_tokens":50,"prompt_tokens_details":{"cached_tokens":10}}}';
        }

        location /json-nousage/ {
            default_type application/json;
            echo_read_request_body;
            echo '{"id":"c3","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"The quick brown fox jumps over the lazy dog again and again."},"finish_reason":"stop"}]}';
        }

        location /ratelimited/ {
            default_type application/json;
            echo_read_request_body;
            echo_status 429;
            echo '{"error":{"message":"Rate limit reached","type":"requests","code":"rate_limit_exceeded"}}';
        }

        # a recorded stream from a file (error_page turns the POST into a GET)
        location /recorded/ {
            error_page 405 =200 /recorded.sse;
            return 405;
        }

        location = /recorded.sse {
            root html;
        }

        location /cut/ {
            proxy_pass http://unix:\$TEST_NGINX_HTML_DIR/mock.sock:/slow/;
            proxy_http_version 1.1;
            proxy_buffering off;
            proxy_read_timeout 300ms;
        }
    }
_EOC_

our $Gateway = <<'_EOC_';
    location / {
        llm_gateway openai;
        proxy_pass http://mock;
        gzip on;
        gzip_min_length 1;
        gzip_types text/event-stream application/json;
        access_log logs/error.log llm;
    }

    location /anthropic/ {
        llm_gateway anthropic;
        proxy_pass http://mock;
        access_log logs/error.log llm;
    }
_EOC_

block_defaults(http_config => $Mock, config => $Gateway);

run_tests();

__DATA__

=== TEST 1: a stream is passed on event by event, usage injected and stripped
--- request
POST /stream/chat/completions
{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"Hi"}]}
--- more_headers
Accept-Encoding: gzip
--- response_body eval
main::sse($::E1, $::E2, $::E3, $::E4, $::D)
--- response_headers
Content-Type: text/event-stream
X-Accel-Buffering: no
Cache-Control: no-cache
X-Got-Body: {"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"Hi"}],"stream_options":{"include_usage":true}}
!Content-Length
!Content-Encoding
--- error_log eval
qr/llm-log: model=gpt-4o-mini stream=1 prompt=12 completion=7 total=19 source=usage cost=0.000006000 ttft=\d+ status=200/
--- no_error_log
[error]
[warn]



=== TEST 2: a client that asked for usage keeps the usage chunk
--- request
POST /stream/chat/completions
{"model":"gpt-4o-mini","stream":true,"stream_options":{"include_usage":true},"messages":[]}
--- response_body eval
main::sse($::E1, $::E2, $::E3, $::E4, $::U, $::D)
--- response_headers
X-Got-Body: {"model":"gpt-4o-mini","stream":true,"stream_options":{"include_usage":true},"messages":[]}
--- error_log
source=usage



=== TEST 3: stream_options without include_usage gets it added
--- request
POST /stream/chat/completions
{"model":"gpt-4o-mini","stream":true,"stream_options":{},"messages":[]}
--- response_body eval
main::sse($::E1, $::E2, $::E3, $::E4, $::D)
--- response_headers
X-Got-Body: {"model":"gpt-4o-mini","stream":true,"stream_options":{"include_usage":true},"messages":[]}



=== TEST 4: include_usage false is turned on, and the chunk stripped
--- request
POST /stream/chat/completions
{"model":"gpt-4o-mini","stream":true,"stream_options":{"include_usage":false},"messages":[]}
--- response_body eval
main::sse($::E1, $::E2, $::E3, $::E4, $::D)
--- response_headers
X-Got-Body: {"model":"gpt-4o-mini","stream":true,"stream_options":{"include_usage":true},"messages":[]}



=== TEST 5: llm_stream_usage off: nothing injected, tokens estimated
--- config
    location / {
        llm_gateway openai;
        llm_stream_usage off;
        proxy_pass http://mock;
        access_log logs/error.log llm;
    }
--- request
POST /plain-stream/chat/completions
{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"Hi"}]}
--- response_body eval
main::sse($::E1, $::E2, $::E3, $::E4, $::D)
--- error_log eval
qr/llm-log: model=gpt-4o-mini stream=1 prompt=\d+ completion=([5-9]|1[0-2]) total=\d+ source=estimate/



=== TEST 6: events split across reads (and a CRLF split) are reassembled; the split usage chunk is dropped
--- request
POST /split/chat/completions
{"model":"gpt-4o-mini","stream":true,"messages":[]}
--- response_body eval
"data: {\"id\":\"c1\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"}}]}\r\n\r\n" . main::sse($::D)
--- error_log eval
qr/llm-log: model=gpt-4o-mini stream=1 prompt=5 completion=1 total=6 source=usage/



=== TEST 7: the first event reaches the client while the upstream still works (proxy_buffering and gzip on); the client's abort closes the upstream and the stream is counted by estimate
--- request
POST /slow/chat/completions HTTP/1.0
{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"Hi"}]}
--- more_headers
Accept-Encoding: gzip
--- timeout: 1
--- abort
--- wait: 0.5
--- response_body eval
main::sse($::E1, $::E2)
--- error_log eval
[
qr/client prematurely closed connection, so upstream connection is closed too/,
qr/llm-log: model=gpt-4o-mini stream=1 prompt=\d+ completion=1 total=\d+ source=estimate cost=\S+ ttft=\d+ status=200/,
]



=== TEST 8: the upstream cut in the middle of a stream: error event and a clean end
--- no_error_log
[alert]
[crit]
[emerg]
--- config
    location / {
        llm_gateway openai;
        proxy_pass http://mock;
        proxy_http_version 1.1;
        access_log logs/error.log llm;
    }
--- request
POST /cut/chat/completions
{"model":"gpt-4o-mini","stream":true,"messages":[]}
--- response_body eval
main::sse($::E1, $::E2) . "data: {\"error\":{\"message\":\"The upstream's stream ended before the answer was complete.\",\"type\":\"server_error\",\"param\":null,\"code\":\"stream_interrupted\"}}\n\ndata: [DONE]\n\n"
--- error_log eval
[
qr/upstream prematurely closed connection while reading upstream/,
qr/llm: upstream of model "gpt-4o-mini" failed in the middle of the stream/,
qr/llm-log: model=gpt-4o-mini stream=1 prompt=\d+ completion=1 total=\d+ source=estimate/,
]



=== TEST 9: a close-delimited (HTTP/1.0) upstream stream that ends early is completed with an error event
--- no_error_log
[alert]
[crit]
[emerg]
--- request
POST /cut/chat/completions
{"model":"gpt-4o-mini","stream":true,"messages":[]}
--- response_body eval
main::sse($::E1, $::E2) . "data: {\"error\":{\"message\":\"The upstream's stream ended before the answer was complete.\",\"type\":\"server_error\",\"param\":null,\"code\":\"stream_interrupted\"}}\n\ndata: [DONE]\n\n"
--- error_log eval
[
qr/llm: the upstream's stream of model "gpt-4o-mini" ended before its end event/,
qr/source=estimate/,
]



=== TEST 10: an upstream read timeout in the middle of a stream: error event and a clean end
--- no_error_log
[alert]
[crit]
[emerg]
--- config
    location / {
        llm_gateway openai;
        proxy_pass http://mock;
        proxy_http_version 1.1;
        proxy_read_timeout 300ms;
        access_log logs/error.log llm;
    }
--- request
POST /slow/chat/completions
{"model":"gpt-4o-mini","stream":true,"messages":[]}
--- response_body eval
main::sse($::E1, $::E2) . "data: {\"error\":{\"message\":\"The upstream's stream ended before the answer was complete.\",\"type\":\"server_error\",\"param\":null,\"code\":\"stream_interrupted\"}}\n\ndata: [DONE]\n\n"
--- error_log eval
[
qr/upstream timed out/,
qr/source=estimate/,
]



=== TEST 11: an error before the stream starts passes through unchanged
--- request
POST /ratelimited/chat/completions
{"model":"gpt-4o-mini","stream":true,"messages":[]}
--- error_code: 429
--- response_body
{"error":{"message":"Rate limit reached","type":"requests","code":"rate_limit_exceeded"}}
--- response_headers
!X-Accel-Buffering



=== TEST 12: Anthropic: prompt counts cache tokens, output tokens are the last cumulative figure
--- request
POST /anthropic/v1/messages
{"model":"claude-3-5-haiku","stream":true,"max_tokens":50,"messages":[{"role":"user","content":"Hi"}]}
--- response_body_like: ^event: message_start\n.*: a comment line\n\nevent: ping\n.*event: message_stop\ndata: \{"type":"message_stop"\}\n\n$
--- error_log eval
qr/llm-log: model=claude-3-5-haiku stream=1 prompt=17 completion=9 total=26 source=usage cost=0.000049600 /



=== TEST 13: a JSON answer: usage read from the body, cached tokens priced
--- http_config eval
my $c = $::Mock;
$c =~ s/input=0.15 output=0.60/input=0.15 output=0.60 cached_input=0.075/;
$c
--- request
POST /json/chat/completions
{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Hi"}]}
--- response_body
{"id":"c2","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"Hello world"},"finish_reason":"stop"}],"usage":{"prompt_tokens":20,"completion_tokens":30,"total_tokens":50,"prompt_tokens_details":{"cached_tokens":10}}}
--- error_log
llm-log: model=gpt-4o-mini stream=0 prompt=20 completion=30 total=50 source=usage cost=0.000020250



=== TEST 14: a JSON answer without usage is estimated
--- request
POST /json-nousage/chat/completions
{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Hi"}]}
--- response_body_like: "The quick brown fox
--- error_log eval
qr/llm-log: model=gpt-4o-mini stream=0 prompt=\d+ completion=1[0-6] total=\d+ source=estimate/



=== TEST 15: a recorded stream with CRLF line ends and comments passes byte for byte
--- user_files eval
">>> recorded.sse\n: OPENROUTER PROCESSING\r\n\r\ndata: {\"id\":\"r1\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"}}]}\r\n\r\n: keep-alive\r\n\r\ndata: {\"id\":\"r1\",\"choices\":[],\r\ndata: \"usage\":{\"prompt_tokens\":3,\"completion_tokens\":2,\"total_tokens\":5}}\r\n\r\ndata: [DONE]\r\n\r\n"
--- request
POST /recorded/chat/completions
{"model":"gpt-4o-mini","stream":true,"messages":[]}
--- response_body eval
": OPENROUTER PROCESSING\r\n\r\ndata: {\"id\":\"r1\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"}}]}\r\n\r\n: keep-alive\r\n\r\ndata: [DONE]\r\n\r\n"
--- error_log
prompt=3 completion=2 total=5 source=usage



=== TEST 16: llm_stream off: a stream request is left to the location's buffering
--- config
    location / {
        llm_gateway openai;
        llm_stream off;
        proxy_pass http://mock;
        add_header X-Stream $llm_stream;
    }
--- request
POST /plain-stream/chat/completions
{"model":"gpt-4o-mini","stream":true,"messages":[]}
--- response_body eval
main::sse($::E1, $::E2, $::E3, $::E4, $::D)
--- response_headers
X-Stream: 0
!X-Accel-Buffering
