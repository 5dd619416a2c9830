# Self-test of the t/runner scaffold: --- must_die (nginx -t style config
# rejection), checked through the error log.
use Test::Nginx::Socket;

repeat_each(2);

# per repetition: 1 "die" subtest + one per error_log/no_error_log pattern
plan tests => repeat_each() * (2 + 3 + 4);

no_shuffle();
run_tests();

__DATA__

=== TEST 1: bad "return" directive
--- config
    location = /t {
        return a b c;
    }
--- request
    GET /t
--- must_die
--- error_log
invalid number of arguments in "return" directive



=== TEST 2: unknown directive, expected exit code
--- config
    location = /t {
        llm_no_such_directive on;
    }
--- request
    GET /t
--- must_die: 1
--- error_log
[emerg]
unknown directive "llm_no_such_directive"



=== TEST 3: bad http_config
--- http_config
    upstream empty {
    }
--- config
    location = /t {
        proxy_pass http://empty;
    }
--- request
    GET /t
--- must_die
--- error_log eval
qr/no servers are inside upstream/
--- no_error_log
[alert]
[crit]
