# Self-test of the t/runner scaffold: request arrays, pipelined requests,
# raw requests.
BEGIN {
    my $echo = '/usr/lib/nginx/modules/ngx_http_echo_module.so';
    $ENV{TEST_NGINX_LOAD_MODULES} ||= $echo if -f $echo;
}

use Test::Nginx::Socket;

repeat_each(2);

# TEST 1: 3 requests x (status + body) = 6, + error_log checked after each
#         request (3)                                             -> 9
# TEST 2: 2 pipelined x (status + body)                           -> 4
# TEST 3: status + body                                           -> 2
# TEST 4: status + 1 header + body                                -> 3
# TEST 5: status + body                                           -> 2
# TEST 6: 2 x (status + header + body)                            -> 6
plan tests => repeat_each() * (9 + 4 + 2 + 3 + 2 + 6);

no_shuffle();
run_tests();

__DATA__

=== TEST 1: several requests in sequence, each over its own connection
--- config
    location /t {
        echo "uri=$uri";
    }
--- request eval
["GET /t/a", "GET /t/b", "GET /t/c"]
--- error_code eval
[200, 200, 200]
--- response_body eval
["uri=/t/a\n", "uri=/t/b\n", "uri=/t/c\n"]
--- error_log
http finalize request



=== TEST 2: pipelined requests on one keep-alive connection
--- config
    location = /foo {
        echo_read_request_body;
        echo "foo: $request_body";
    }
    location = /bar {
        echo "bar";
    }
--- pipelined_requests eval
["POST /foo
hello, world",
"GET /bar"]
--- response_body eval
["foo: hello, world\n", "bar\n"]



=== TEST 3: raw_request sent byte for byte
--- config
    location = /t {
        echo "m=$request_method h=$http_host x=$http_x_raw";
    }
--- raw_request eval
"GET /t HTTP/1.1\r
Host: raw.example\r
X-Raw: yes\r
Connection: close\r
\r
"
--- response_body
m=GET h=raw.example x=yes



=== TEST 4: raw_request split into packets, the second one delayed
--- config
    location = /t {
        echo_read_request_body;
        echo_request_body;
    }
--- raw_request eval
["POST /t HTTP/1.1\r
Host: localhost\r
Connection: close\r
Content-Len", "gth: 5\r\n\r\nhello"]
--- raw_request_middle_delay: 0.02
--- response_headers
Content-Type: text/plain
--- response_body chomp
hello



=== TEST 5: an unsupported protocol version gives 505
--- config
    location = /t {
        echo ok;
    }
--- raw_request
GET /t HTTP/2.0 THE_FUTURE_IS_NOW
--- error_code: 505
--- response_body_like: 505 HTTP Version Not Supported



=== TEST 6: more_headers per request
--- config
    location = /t {
        add_header X-Got $http_x_n;
        echo "n=$http_x_n";
    }
--- request eval
["GET /t", "GET /t"]
--- more_headers eval
["X-N: 1", "X-N: 2"]
--- response_headers eval
["X-Got: 1", "X-Got: 2"]
--- response_body eval
["n=1\n", "n=2\n"]
