# Self-test of the t/runner scaffold: requests, status, headers, bodies.
# Written only with features of the real Test::Nginx::Socket, so it must pass
# under both.
use Test::Nginx::Socket;

repeat_each(2);

# every block below yields exactly 3 subtests per repetition:
# status code + one header check + body check
plan tests => repeat_each() * (3 * blocks());

no_shuffle();
run_tests();

__DATA__

=== TEST 1: plain GET on a static return
--- config
    location = /t {
        return 200 "hi";
    }
--- request
GET /t
--- response_headers
Content-Type: text/plain
--- response_body chomp
hi



=== TEST 2: header must be absent, empty value allowed
--- config
    location = /t {
        add_header X-Empty "";
        return 200 "ok\n";
    }
--- request
GET /t
--- response_headers
!X-Empty
--- response_body
ok



=== TEST 3: response_headers_like is anchored and case-insensitive on names
--- config
    location = /t {
        add_header X-Request-Id "abc-123" always;
        return 201 "created\n";
    }
--- request
POST /t
--- response_headers_like
x-request-id: [a-z]+-\d+
--- error_code: 201
--- response_body
created



=== TEST 4: error_code with eval, response_body_like is a /s regex
--- config
    location = /t {
        return 418 "line one\nline two\n";
    }
--- request
GET /t
--- error_code eval
400 + 18
--- response_headers
Content-Length: 18
--- response_body_like
one.line two



=== TEST 5: response_body_unlike
--- config
    location = /t {
        return 200 "public answer\n";
    }
--- request
GET /t
--- response_headers
X-Nothing:
--- response_body_unlike
secret



=== TEST 6: more_headers and the default request headers
--- config
    location = /t {
        return 200 "host=$http_host conn=$http_connection foo=$http_x_foo ua=[$http_user_agent]\n";
    }
--- more_headers
X-Foo: bar
# a comment line is skipped
--- request
GET /t
--- response_headers
Connection: close
--- response_body
host=localhost conn=close foo=bar ua=[]



=== TEST 7: HTTP/1.0 request line, no chunking
--- config
    location = /t {
        return 200 "v=$server_protocol\n";
    }
--- request
GET /t HTTP/1.0
--- response_headers
!Transfer-Encoding
--- response_body
v=HTTP/1.0



=== TEST 8: request comments and leading blank lines are skipped; default URI is /
--- config
    location = /index.html {
        return 200 "root\n";
    }
--- request

# fetch the default location
GET
--- response_headers
Content-Type: text/html
--- response_body
root



=== TEST 9: user_files are served from the html dir by the default root location
--- config
--- user_files
>>> a/b.txt
hello from a file
>>> c.txt
second
--- request
GET /a/b.txt
--- response_headers
Content-Length: 18
--- response_body
hello from a file



=== TEST 10: $ServerPort in expected values and $TEST_NGINX_SERVER_PORT in config
--- config
    location = /t {
        add_header X-Port $TEST_NGINX_SERVER_PORT;
        return 200 "port=$server_port\n";
    }
--- request
GET /t
--- response_headers
X-Port: $ServerPort
--- response_body
port=$ServerPort



=== TEST 11: HEAD request has no body
--- config
    location = /t {
        return 200 "body-that-is-not-sent\n";
    }
--- request
HEAD /t
--- response_headers
Content-Length: 22
--- response_body
