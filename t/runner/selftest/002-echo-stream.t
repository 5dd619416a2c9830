# Self-test of the t/runner scaffold: request bodies, streamed (chunked)
# responses, client timeouts and aborts.  Needs the echo module
# (Debian: libnginx-mod-http-echo), loaded through TEST_NGINX_LOAD_MODULES.
BEGIN {
    my $echo = '/usr/lib/nginx/modules/ngx_http_echo_module.so';
    $ENV{TEST_NGINX_LOAD_MODULES} ||= $echo if -f $echo;
}

use Test::Nginx::Socket 'no_plan';

log_level('debug');
no_shuffle();
run_tests();

__DATA__

=== TEST 1: POST body echoed back (body trimmed, Content-Length added)
--- config
    location = /v1/chat/completions {
        echo_read_request_body;
        echo "len=$http_content_length type=$http_content_type";
        echo $request_body;
    }
--- request
POST /v1/chat/completions
{"model":"x","messages":[]}
--- more_headers
Content-Type: application/json
--- response_body
len=27 type=application/json
{"model":"x","messages":[]}
--- no_error_log
[error]



=== TEST 2: request eval with binary bytes, sent in two packets with a delay
--- config
    location = /echo {
        echo_read_request_body;
        echo_request_body;
    }
--- request eval
[["POST /echo\nab\x00c", { value => "d\xffe", delay_before => 0.05 }]]
--- response_body eval
"ab\x00cd\xffe"



=== TEST 3: chunked request body passed as-is
--- config
    location = /echo {
        echo_read_request_body;
        echo_request_body;
    }
--- more_headers
Transfer-Encoding: chunked
--- request eval
"POST /echo
5\r
hello\r
6\r
 world\r
0\r
\r
"
--- response_body chomp
hello world



=== TEST 4: a timed stream is read to the end and de-chunked
--- config
    location = /stream {
        echo "data: one";
        echo_flush;
        echo_sleep 0.2;
        echo "data: two";
        echo_flush;
        echo_sleep 0.1;
        echo "data: [DONE]";
    }
--- request
GET /stream
--- response_headers
Transfer-Encoding: chunked
--- response_body
data: one
data: two
data: [DONE]
--- timeout: 2



=== TEST 5: stream over HTTP/1.0 ends by connection close
--- config
    location = /stream {
        echo "a";
        echo_flush;
        echo_sleep 0.1;
        echo "b";
    }
--- request
GET /stream HTTP/1.0
--- response_headers
!Transfer-Encoding
!Content-Length
--- response_body
a
b



=== TEST 6: abort: the client gives up after the timeout, not a failure
--- config
    location = /slow {
        echo_sleep 2;
        echo "too late";
    }
--- request
GET /slow
--- timeout: 300ms
--- abort
--- ignore_response
--- no_error_log
[error]



=== TEST 7: keep-alive request: the client closes at the timeout (abort)
--- config
    location = /t {
        echo "kept alive";
    }
--- more_headers
Connection: keep-alive
--- request
GET /t
--- response_headers
Connection: keep-alive
--- response_body
kept alive
--- timeout: 1
--- abort



=== TEST 8: response_body_filters
--- config
    location = /t {
        echo "Hello";
    }
--- request
GET /t
--- response_body_filters
uc
--- response_body
HELLO



=== TEST 9: response_body_filters with code refs and length
--- config
    location = /t {
        echo "Hello";
    }
--- request
GET /t
--- response_body_filters eval
[sub { $_[0] x 2 }, "length"]
--- response_body chomp
12



=== TEST 10: error_log, no_error_log and grep_error_log
--- config
    location = /t {
        echo_read_request_body;
        echo ok;
        error_log logs/error.log debug;
    }
--- request
POST /t
marker-body
--- response_body
ok
--- error_log eval
["http finalize request", qr/http request line: "POST \/t HTTP\/1\.1"/, "http header: \"Host: localhost\""]
--- no_error_log
[error]
[alert]
--- grep_error_log eval
qr/http header: "(?:Host|Connection): [^"]+"/
--- grep_error_log_out
http header: "Host: localhost"
http header: "Connection: close"



=== TEST 11: wait before the error log is checked
--- config
    location = /t {
        echo ok;
    }
--- request
GET /t
--- wait: 0.05
--- response_body
ok
--- error_log
http request line: "GET /t HTTP/1.1"
