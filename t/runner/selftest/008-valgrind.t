# Self-test of the t/runner scaffold, meant to be run (also) with
#   TEST_NGINX_USE_VALGRIND=1 prove -I t/runner t/runner/selftest/008-valgrind.t
# nginx then runs in the foreground under valgrind; errors and definite or
# indirect leaks fail the block.  Without the variable it is a plain test.
BEGIN {
    my $echo = '/usr/lib/nginx/modules/ngx_http_echo_module.so';
    $ENV{TEST_NGINX_LOAD_MODULES} ||= $echo if -f $echo;
}

use Test::Nginx::Socket;

plan tests => repeat_each() * (3 * blocks());

no_shuffle();
run_tests();

__DATA__

=== TEST 1: request body and a streamed answer under valgrind
--- config
    location = /v1/chat/completions {
        echo_read_request_body;
        echo "data: $request_body";
        echo_flush;
        echo_sleep 0.05;
        echo "data: [DONE]";
    }
--- request
POST /v1/chat/completions
{"model":"x"}
--- response_body
data: {"model":"x"}
data: [DONE]
--- no_error_log
[error]
