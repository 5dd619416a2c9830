# Internal redirects and re-sent bodies, reviewed (review4):
#
#  - an upstream's X-Accel-Redirect out of a gateway location is not a failed
#    attempt: with a route that has fallbacks anywhere in the http block,
#    routing armed every gateway request, and the redirect brought it back
#    as "The upstream of model `ok` failed (200)" (an error body with a 200)
#    instead of going on at the URI (a file, another gateway location);
#  - routing's few edits sent as a chain of buffers over the original body
#    (bodies of 4 KB and more) reach the upstream whole when they are sent
#    again: a fallback (in memory, in a temporary file, HTTP/2), error_page
#    or X-Accel-Redirect to a second gateway location, a mirror.  Under
#    valgrind too (TEST_NGINX_USE_VALGRIND=1).
use Test::Nginx::Socket 'no_plan';
use FindBin;
use lib "$FindBin::Bin/lib";
use LLMTest::Suite;

$ENV{TEST_NGINX_HTML_DIR} ||= html_dir();

no_shuffle();
no_long_string();
no_root_location();
log_level('debug');

our $Body = '{"model":"chain","messages":[{"role":"user","content":"' . ('x' x 6000) . '"}]}';
our $Want = '{"model":"ok","messages":[{"role":"user","content":"' . ('x' x 6000) . '"}]}';

our $Routes = <<'_EOC_';
    llm_route chain { m503 1; fallback ok; }
_EOC_

our $Mock = <<'_EOC_';
    llm_model ok upstream=ok;
    llm_model m503 upstream=m503;
    llm_route smart { ok 1; }

    upstream ok { server unix:$TEST_NGINX_HTML_DIR/ok.sock; }
    upstream m503 { server unix:$TEST_NGINX_HTML_DIR/m503.sock; }

    server {
        listen unix:$TEST_NGINX_HTML_DIR/ok.sock;
        access_log off;
        default_type application/json;
        client_body_buffer_size 1m;
        location / {
            add_header X-Up-Method $request_method;
            echo_read_request_body;
            echo_request_body;
        }
    }

    server {
        listen unix:$TEST_NGINX_HTML_DIR/m503.sock;
        access_log off;
        default_type application/json;
        client_body_buffer_size 1m;
        location / {
            echo_read_request_body;
            echo_status 503;
            echo '{"error":{"message":"overloaded"}}';
        }
    }
_EOC_

add_block_preprocessor(sub {
    my $block = shift;
    $block->set_value("http_config", $Routes . $Mock) unless defined $block->http_config;
});

run_tests();

__DATA__

=== TEST 1: a fallback re-sends the chained body, whole (in memory)
--- config
    location / {
        client_body_buffer_size 1m;
        llm_gateway openai;
        proxy_pass http://$llm_upstream;
    }
--- request eval
"POST /chat/completions\n$::Body"
--- response_body eval
$::Want
--- error_log eval
qr/llm: body rewritten by 1 edits, \d+ -> \d+ bytes in 3 buffers/
--- no_error_log
[alert]



=== TEST 2: the same with the body in a temporary file
--- config
    location / {
        client_body_buffer_size 1k;
        llm_gateway openai;
        proxy_pass http://$llm_upstream;
    }
--- request eval
"POST /chat/completions\n$::Body"
--- response_body eval
$::Want
--- error_log eval
qr/llm: body rewritten by 1 edits, \d+ -> \d+ bytes in 3 buffers/
--- no_error_log
[alert]



=== TEST 3: error_page = URI of a second gateway location: the chained body sent again, whole
--- http_config eval
$::Mock
--- config
    location /a/ {
        llm_gateway openai;
        proxy_intercept_errors on;
        error_page 502 503 = /b/chat/completions;
        proxy_pass http://m503;
    }
    location /b/ {
        llm_gateway openai;
        proxy_pass http://ok;
    }
--- request eval
"POST /a/chat/completions\n" . '{"model":"smart","messages":[{"role":"user","content":"' . ('x' x 6000) . '"}]}'
--- response_body eval
$::Want
--- response_headers
X-Up-Method: POST
--- error_log eval
qr/llm: body rewritten by 1 edits, \d+ -> \d+ bytes in 3 buffers/
--- no_error_log
[alert]



=== TEST 4: a mirror in the gateway location: the main request gets the chained body whole
--- config
    location / {
        llm_gateway openai;
        mirror /m;
        proxy_pass http://$llm_upstream;
    }
    location = /m {
        internal;
        proxy_pass http://ok;
    }
--- request eval
"POST /chat/completions\n" . '{"model":"smart","messages":[{"role":"user","content":"' . ('x' x 6000) . '"}]}'
--- response_body eval
$::Want
--- error_log eval
qr/llm: body rewritten by 1 edits, \d+ -> \d+ bytes in 3 buffers/
--- no_error_log
[alert]



=== TEST 5: a fallback, HTTP/2
--- config
    location / {
        client_body_buffer_size 1m;
        llm_gateway openai;
        proxy_pass http://$llm_upstream;
    }
--- http2
--- request eval
"POST /chat/completions\n$::Body"
--- response_body eval
$::Want
--- error_log eval
qr/llm: body rewritten by 1 edits, \d+ -> \d+ bytes in 3 buffers/
--- no_error_log
[alert]



=== TEST 6: a fallback, HTTP/2, the body in a temporary file
--- config
    location / {
        client_body_buffer_size 1k;
        llm_gateway openai;
        proxy_pass http://$llm_upstream;
    }
--- http2
--- request eval
"POST /chat/completions\n$::Body"
--- response_body eval
$::Want
--- error_log eval
qr/llm: body rewritten by 1 edits, \d+ -> \d+ bytes in 3 buffers/
--- no_error_log
[alert]



=== TEST 7: X-Accel-Redirect to a second gateway location: a POST there, the chained body whole
--- http_config eval
$::Mock . q{
    server {
        listen unix:$TEST_NGINX_HTML_DIR/xa.sock;
        location / {
            echo_read_request_body;
            add_header X-Accel-Redirect /b/chat/completions;
            echo "";
        }
    }
    upstream xa { server unix:$TEST_NGINX_HTML_DIR/xa.sock; }
}
--- config
    location /a/ {
        llm_gateway openai;
        proxy_pass http://xa;
    }
    location /b/ {
        llm_gateway openai;
        proxy_pass http://$llm_upstream;
    }
--- request eval
"POST /a/chat/completions\n" . '{"model":"smart","messages":[{"role":"user","content":"' . ('x' x 6000) . '"}]}'
--- response_body eval
$::Want
--- response_headers
X-Up-Method: POST
--- error_log eval
qr/llm: body rewritten by 1 edits, \d+ -> \d+ bytes in 3 buffers/
--- no_error_log
[alert]



=== TEST 8: the same with a route with fallbacks elsewhere in the http block: not taken for a failed attempt
--- http_config eval
$::Routes . $::Mock . q{
    server {
        listen unix:$TEST_NGINX_HTML_DIR/xa.sock;
        location / {
            echo_read_request_body;
            add_header X-Accel-Redirect /b/chat/completions;
            echo "";
        }
    }
    upstream xa { server unix:$TEST_NGINX_HTML_DIR/xa.sock; }
}
--- config
    location /a/ {
        llm_gateway openai;
        proxy_pass http://xa;
    }
    location /b/ {
        llm_gateway openai;
        proxy_pass http://$llm_upstream;
    }
--- request eval
"POST /a/chat/completions\n" . '{"model":"smart","messages":[{"role":"user","content":"' . ('x' x 6000) . '"}]}'
--- response_body eval
$::Want
--- response_headers
X-Up-Method: POST
--- error_log eval
qr/llm: body rewritten by 1 edits, \d+ -> \d+ bytes in 3 buffers/
--- no_error_log
[alert]



=== TEST 9: X-Accel-Redirect to a file, a route with fallbacks elsewhere: the file is the answer
--- http_config eval
$::Routes . $::Mock . q{
    server {
        listen unix:$TEST_NGINX_HTML_DIR/xa.sock;
        location / {
            echo_read_request_body;
            add_header X-Accel-Redirect /files/answer.json;
            echo "";
        }
    }
    upstream xa { server unix:$TEST_NGINX_HTML_DIR/xa.sock; }
}
--- config
    location /a/ {
        llm_gateway openai;
        proxy_pass http://xa;
    }
    location /files/ {
        internal;
        alias html/;
    }
--- user_files
>>> answer.json
{"choices":[{"index":0,"message":{"role":"assistant","content":"from a file"}}]}
--- request
POST /a/chat/completions
{"model":"smart","messages":[{"role":"user","content":"Hi"}]}
--- response_body
{"choices":[{"index":0,"message":{"role":"assistant","content":"from a file"}}]}
--- no_error_log
[alert]
