# Self-test of the t/runner scaffold: mock upstreams declared in
# --- http_config (unix socket and random TCP port) and proxied to.
BEGIN {
    my $echo = '/usr/lib/nginx/modules/ngx_http_echo_module.so';
    $ENV{TEST_NGINX_LOAD_MODULES} ||= $echo if -f $echo;
}

use Test::Nginx::Socket;

# TEST_NGINX_HTML_DIR is not set by Test::Nginx itself: define it here so
# this file runs unchanged under the real Test::Nginx as well
$ENV{TEST_NGINX_HTML_DIR} ||= html_dir();

our $MockUpstream = <<'_EOC_';
    server {
        listen unix:$TEST_NGINX_HTML_DIR/up.sock;
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_1;

        location = /v1/chat/completions {
            default_type application/json;
            echo_read_request_body;
            echo '{"id":"mock","echo":$request_body}';
        }

        location = /sse {
            default_type text/event-stream;
            echo 'data: {"n":1}';
            echo '';
            echo_flush;
            echo_sleep 0.1;
            echo 'data: [DONE]';
            echo '';
        }

        location = /slow {
            echo 'data: first';
            echo_flush;
            echo_sleep 1.5;
            echo 'data: never seen';
        }
    }
_EOC_

add_block_preprocessor(sub {
    my $block = shift;
    if (!defined $block->http_config) {
        $block->set_value('http_config', $::MockUpstream);
    }
    if (!defined $block->no_error_log && !defined $block->error_log) {
        $block->set_value('no_error_log', '[error]');
    }
});

plan tests => repeat_each() * (3 * blocks());

no_shuffle();
run_tests();

__DATA__

=== TEST 1: proxied to a mock upstream on a unix socket
--- config
    location /v1/ {
        proxy_pass http://unix:$TEST_NGINX_HTML_DIR/up.sock:/v1/;
    }
--- request
POST /v1/chat/completions
{"model":"gpt-x"}
--- more_headers
Content-Type: application/json
--- response_body
{"id":"mock","echo":{"model":"gpt-x"}}



=== TEST 2: proxied to a mock upstream on a random TCP port
--- config
    location /v1/ {
        proxy_pass http://127.0.0.1:$TEST_NGINX_RAND_PORT_1;
    }
--- request
POST /v1/chat/completions
{"model":"m2"}
--- response_body
{"id":"mock","echo":{"model":"m2"}}



=== TEST 3: unbuffered SSE through the proxy
--- config
    location /sse {
        proxy_buffering off;
        proxy_pass http://unix:$TEST_NGINX_HTML_DIR/up.sock;
    }
--- request
GET /sse
--- response_body eval
qq{data: {"n":1}\n\ndata: [DONE]\n\n}



=== TEST 4: the client aborts a proxied stream
--- config
    location /slow {
        proxy_buffering off;
        proxy_pass http://unix:$TEST_NGINX_HTML_DIR/up.sock;
    }
--- request
GET /slow
--- timeout: 0.4
--- abort
--- ignore_response
--- wait: 0.1
--- error_log
client prematurely closed connection
--- no_error_log
[error]
[crit]



=== TEST 5: upstream down: 502 and the error is logged
--- http_config
--- config
    location /v1/ {
        proxy_pass http://unix:$TEST_NGINX_HTML_DIR/nobody-here.sock;
    }
--- request
POST /v1/chat/completions
{}
--- error_code: 502
--- error_log eval
qr/\[crit\] .*nobody-here\.sock failed \(2: No such file or directory\)/
--- response_body_like: 502 Bad Gateway
