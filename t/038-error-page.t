# A model call that reaches a location with llm_gateway through an internal
# redirect: error_page to a named location or to a URI, rewrite ... last,
# try_files.  When a first location read the body (proxy_pass, in memory or
# in a temporary file), the gateway parses and forwards it as usual, as a
# POST even when error_page to a URI made it a GET, and $llm_upstream is
# set.  When the body is gone (discarded by client_max_body_size, a failed
# read, passed on as it came by proxy_request_buffering off), the request is
# answered with a 500 (or the status error_page kept) in the API's format,
# code request_body_unavailable, and the cause in the error log: never sent
# on without its body, never nginx's "invalid URL prefix" 500.
# (ngx_http_llm_precontent_handler(), ngx_http_llm_body_lost())

use Test::Nginx::Socket 'no_plan';
use FindBin;
use lib "$FindBin::Bin/lib";
use LLMTest::Suite;

$ENV{TEST_NGINX_HTML_DIR} ||= html_dir();

no_shuffle();
no_long_string();
log_level('info');

our $Mock = <<'_EOC_';
    llm_model gpt-4o-mini upstream=mock;

    upstream mock {
        server unix:$TEST_NGINX_HTML_DIR/mock.sock;
    }

    server {
        listen unix:$TEST_NGINX_HTML_DIR/mock.sock;
        access_log off;
        client_max_body_size 1m;
        client_body_buffer_size 1m;

        location /fail {
            return 503;
        }

        location / {
            add_header X-Got-Method "$request_method";
            add_header X-Got-Length "$http_content_length";
            echo_read_request_body;
            echo_request_body;
        }
    }
_EOC_

# the gateway locations the requests are redirected to
our $Targets = <<'_EOC_';
    location @llm {
        llm_gateway openai;
        proxy_pass http://$llm_upstream;
        add_header X-Upstream "[$llm_upstream]" always;
        add_header X-Model "$llm_model" always;
    }

    location /llm/ {
        llm_gateway openai;
        proxy_pass http://$llm_upstream;
        add_header X-Upstream "[$llm_upstream]" always;
        add_header X-Model "$llm_model" always;
    }
_EOC_

add_block_preprocessor(sub {
    my $block = shift;

    $block->set_value("http_config", $Mock) unless defined $block->http_config;
    $block->set_value("config", $block->config . $Targets);
});

sub body {
    my ($size, $tag) = @_;
    my $text = $tag;
    $text .= ' tokens and words' while length($text) < $size - 100;
    return '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"'
         . $text . '"}]}';
}

sub post {
    my ($body, $conn, $extra) = @_;
    return "POST /v1/chat/completions HTTP/1.1\r\nHost: localhost\r\n"
         . "Connection: " . ($conn // 'close') . "\r\n"
         . "Content-Type: application/json\r\n" . ($extra // '')
         . "Content-Length: " . length($body) . "\r\n\r\n" . $body;
}

our $Small = body(200, 'small');
our $B40 = body(40000, 'forty');

our $Unavailable = '{"error":{"message":"The request body is not available to '
    . 'the gateway after an internal redirect.","type":"server_error",'
    . '"param":null,"code":"request_body_unavailable"}}' . "\n";

run_tests();

__DATA__

=== TEST 1: error_page = @llm after proxy_pass read the body (in memory): parsed and forwarded
--- config
    location /v1/ {
        proxy_pass http://mock/fail;
        proxy_intercept_errors on;
        error_page 503 = @llm;
    }
--- request eval
"POST /v1/chat/completions\n$::Small"
--- response_body eval
$::Small
--- response_headers
X-Upstream: [mock]
X-Model: gpt-4o-mini
X-Got-Method: POST
--- error_code: 200



=== TEST 2: error_page = URI: error_page made the POST a GET, the gateway makes it a POST again
--- config
    location /v1/ {
        proxy_pass http://mock/fail;
        proxy_intercept_errors on;
        error_page 503 = /llm/v1/chat/completions;
    }
--- request eval
"POST /v1/chat/completions\n$::Small"
--- response_body eval
$::Small
--- response_headers
X-Upstream: [mock]
X-Model: gpt-4o-mini
X-Got-Method: POST
--- error_code: 200



=== TEST 3: rewrite ... last, the body not read yet
--- config
    location /v1/ {
        rewrite ^/v1/(.*)$ /llm/v1/$1 last;
    }
--- request eval
"POST /v1/chat/completions\n$::Small"
--- response_body eval
$::Small
--- response_headers
X-Upstream: [mock]
X-Got-Method: POST
--- error_code: 200



=== TEST 4: try_files to a named location
--- config
    location /v1/ {
        try_files /nothing-here @llm;
    }
--- request eval
"POST /v1/chat/completions\n$::Small"
--- response_body eval
$::Small
--- response_headers
X-Upstream: [mock]
X-Got-Method: POST
--- error_code: 200



=== TEST 5: a 40 KB body in a temporary file (small client_body_buffer_size), error_page = URI
--- config
    location /v1/ {
        client_body_buffer_size 8k;
        proxy_pass http://mock/fail;
        proxy_intercept_errors on;
        error_page 503 = /llm/v1/chat/completions;
    }
--- raw_request eval
my $r = ::post($::B40);
my $h = index($r, "\r\n\r\n") + 4;
[substr($r, 0, $h + 1000), substr($r, $h + 1000)]
--- raw_request_middle_delay: 0.05
--- response_body eval
$::B40
--- response_headers eval
"X-Upstream: [mock]\nX-Got-Method: POST\nX-Got-Length: " . length($::B40)
--- error_code: 200
--- error_log
a client request body is buffered to a temporary file
--- no_error_log
[error]
[alert]
[crit]



=== TEST 6: client_body_in_file_only clean, error_page = @llm
--- config
    location /v1/ {
        client_body_in_file_only clean;
        proxy_pass http://mock/fail;
        proxy_intercept_errors on;
        error_page 503 = @llm;
    }
--- request eval
"POST /v1/chat/completions\n$::Small"
--- response_body eval
$::Small
--- response_headers
X-Upstream: [mock]
X-Got-Method: POST
--- error_code: 200



=== TEST 7: client_body_in_file_only clean, error_page = URI
--- config
    location /v1/ {
        client_body_in_file_only clean;
        proxy_pass http://mock/fail;
        proxy_intercept_errors on;
        error_page 503 = /llm/v1/chat/completions;
    }
--- request eval
"POST /v1/chat/completions\n$::Small"
--- response_body eval
$::Small
--- response_headers
X-Upstream: [mock]
X-Got-Method: POST
--- error_code: 200



=== TEST 8: a gateway location whose upstream fails, error_page = URI of another: the second gets a POST
--- config
    location /v1/ {
        llm_gateway openai;
        proxy_pass http://mock/fail;
        proxy_intercept_errors on;
        error_page 503 = /llm/v1/chat/completions;
    }
--- request eval
"POST /v1/chat/completions\n$::Small"
--- response_body eval
$::Small
--- response_headers
X-Upstream: [mock]
X-Got-Method: POST
--- error_code: 200



=== TEST 9: error_page 503 @llm (no "="): the gateway answers, nginx keeps the status
--- config
    location /v1/ {
        proxy_pass http://mock/fail;
        proxy_intercept_errors on;
        error_page 503 @llm;
    }
--- request eval
"POST /v1/chat/completions\n$::Small"
--- response_body eval
$::Small
--- response_headers
X-Upstream: [mock]
X-Got-Method: POST
--- error_code: 503



=== TEST 10: a body discarded by client_max_body_size, error_page 413 = @llm: 500 in the API's format, the cause logged
--- config
    location /v1/ {
        client_max_body_size 10;
        error_page 413 = @llm;
    }
--- request eval
"POST /v1/chat/completions\n$::Small"
--- response_body eval
$::Unavailable
--- response_headers
X-Upstream: []
Content-Type: application/json
--- error_code: 500
--- error_log eval
[qr/client intended to send too large body/,
 qr/\[error\] .*llm: no request body to read in "\/v1\/chat\/completions" after an internal redirect: it was discarded before; answered with 500/]
--- no_error_log
[alert]
[crit]
invalid URL prefix



=== TEST 11: the same to a named location, error_page 413 (no "="): the status kept, 413 in the API's format
--- config
    location /v1/ {
        client_max_body_size 10;
        error_page 413 @llm;
    }
--- request eval
"POST /v1/chat/completions\n$::Small"
--- response_body eval
$::Unavailable =~ s/server_error/invalid_request_error/r
--- error_code: 413
--- error_log eval
qr/\[error\] .*llm: no request body to read in "\/v1\/chat\/completions" after an internal redirect: it was discarded before; answered with 413/
--- no_error_log
[alert]
[crit]
invalid URL prefix



=== TEST 12: to a URI, error_page 413 (no "="): nginx answers its own 413, as for the routing's error pages, and closes the connection
--- config
    location /v1/ {
        client_max_body_size 10;
        error_page 413 /llm/v1/chat/completions;
    }
--- raw_request eval
::post($::Small, 'keep-alive')
. "POST /v1/chat/completions HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
. "Content-Length: " . length($::Small) . "\r\n\r\n" . $::Small
--- response_body_like: ^<html>\r?\n<head><title>413 Request Entity Too Large</title></head>
--- response_headers
Connection: close
--- error_code: 413
--- error_log
client intended to send too large body
--- no_error_log
llm: no request body
invalid URL prefix
[alert]
[crit]



=== TEST 13: keepalive after a redirected request: both answered on one connection
--- config
    location /v1/ {
        proxy_pass http://mock/fail;
        proxy_intercept_errors on;
        error_page 503 = /llm/v1/chat/completions;
    }
--- pipelined_requests eval
["POST /v1/chat/completions\n$::Small", "POST /v1/chat/completions\n$::B40"]
--- response_body eval
[$::Small, $::B40]
--- error_code eval
[200, 200]



=== TEST 14: a chunked body over client_max_body_size in a gateway location, error_page 413 = @llm: 500, not forwarded
--- config
    location /v1/ {
        client_max_body_size 100;
        llm_gateway openai;
        proxy_pass http://mock;
        error_page 413 = @llm;
    }
--- raw_request eval
"POST /v1/chat/completions HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
. "Transfer-Encoding: chunked\r\n\r\n"
. sprintf("%x\r\n%s\r\n0\r\n\r\n", length($::Small), $::Small)
--- response_body eval
$::Unavailable
--- error_code: 500
--- error_log eval
[qr/client intended to send too large chunked body/,
 qr/llm: no request body to read in "\/v1\/chat\/completions" after an internal redirect: its reading failed before; answered with 500/]
--- no_error_log
[alert]
[crit]
invalid URL prefix



=== TEST 15: the same to a location without llm_gateway: its own answer, as before
--- config
    location /v1/ {
        client_max_body_size 100;
        llm_gateway openai;
        proxy_pass http://mock;
        error_page 413 = @too_large;
    }
    location @too_large {
        default_type application/json;
        return 413 '{"error":"too large"}';
    }
--- raw_request eval
"POST /v1/chat/completions HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
. "Transfer-Encoding: chunked\r\n\r\n"
. sprintf("%x\r\n%s\r\n0\r\n\r\n", length($::Small), $::Small)
--- response_body: {"error":"too large"}
--- error_code: 413
--- error_log
client intended to send too large chunked body
--- no_error_log
llm: no request body
[alert]
[crit]



=== TEST 16: proxy_request_buffering off: the body went on as it came, 500 with the cause logged
--- config
    location /v1/ {
        proxy_request_buffering off;
        proxy_pass http://mock/fail;
        proxy_intercept_errors on;
        error_page 503 = @llm;
    }
--- raw_request eval
my $r = ::post($::B40);
my $h = index($r, "\r\n\r\n") + 4;
[substr($r, 0, $h + 100), substr($r, $h + 100)]
--- raw_request_middle_delay: 0.05
--- response_body eval
$::Unavailable
--- error_code: 500
--- error_log
it was passed on as it came (proxy_request_buffering off) before; answered with 500
--- no_error_log
[alert]
[crit]
invalid URL prefix



=== TEST 17: HTTP/2, error_page = URI after proxy_pass read the body: a POST again
--- http2
--- request eval
"POST /v1/chat/completions\n$::B40"
--- more_headers
Content-Type: application/json
--- config
    location /v1/ {
        client_body_buffer_size 64k;
        proxy_pass http://mock/fail;
        proxy_intercept_errors on;
        error_page 503 = /llm/v1/chat/completions;
    }
--- response_body eval
$::B40
--- response_headers
X-Upstream: [mock]
X-Got-Method: POST



=== TEST 18: HTTP/2, a body discarded by client_max_body_size, error_page 413 = @llm: 500 in the API's format
--- http2
--- request eval
"POST /v1/chat/completions\n$::Small"
--- more_headers
Content-Type: application/json
--- config
    location /v1/ {
        client_max_body_size 16;
        error_page 413 = @later;
    }

    # nginx answers a too large Content-Length as soon as the HEADERS frame
    # is read; curl 7.88 reports an RST_STREAM (NO_ERROR) that reaches it
    # while it still sends DATA as error 92, whoever answers. The short wait
    # lets the DATA frame go first, so only the gateway's answer is tested.
    location @later {
        echo_sleep 0.2;
        echo_exec @llm;
    }
--- response_body eval
$::Unavailable
--- error_code: 500
--- error_log
llm: no request body to read in "/v1/chat/completions" after an internal redirect: it was discarded before; answered with 500
--- no_error_log
[alert]
[crit]
invalid URL prefix
