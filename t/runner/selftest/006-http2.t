# Self-test of the t/runner scaffold: --- http2 (sent with
# curl --http2-prior-knowledge, as Test::Nginx does).
BEGIN {
    my $echo = '/usr/lib/nginx/modules/ngx_http_echo_module.so';
    $ENV{TEST_NGINX_LOAD_MODULES} ||= $echo if -f $echo;
}

use Test::Nginx::Socket;

plan tests => repeat_each() * (3 * blocks());

no_shuffle();
run_tests();

__DATA__

=== TEST 1: GET over HTTP/2
--- http2
--- config
    location = /t {
        return 200 "proto=$server_protocol\n";
    }
--- request
GET /t
--- response_headers
Content-Type: text/plain
--- response_body
proto=HTTP/2.0



=== TEST 2: POST with a JSON body over HTTP/2
--- http2
--- config
    location = /v1/chat/completions {
        echo_read_request_body;
        echo "$http_content_type $request_body";
    }
--- request
POST /v1/chat/completions
{"model":"x","stream":true}
--- more_headers
Content-Type: application/json
--- response_headers
!Content-Length
--- response_body
application/json {"model":"x","stream":true}



=== TEST 3: streamed answer over HTTP/2
--- http2
--- config
    location = /stream {
        echo "data: 1";
        echo_flush;
        echo_sleep 0.1;
        echo "data: 2";
    }
--- request
GET /stream
--- error_code: 200
--- response_body
data: 1
data: 2
--- no_error_log
[error]
