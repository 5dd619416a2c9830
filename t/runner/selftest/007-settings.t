# Self-test of the t/runner scaffold: global settings and block-level
# special sections.
use Test::Nginx::Socket;

master_on();
workers(2);
log_level('info');
worker_connections(128);
no_root_location();
no_long_string();
env_to_nginx('LLM_SELFTEST_VAR=42');

our $DefaultConfig = <<'_EOC_';
    location = /t {
        return 200 "pid-ok\n";
    }
_EOC_

# fill in defaults for blocks that do not say otherwise
add_block_preprocessor(sub {
    my $block = shift;
    $block->set_value('config', $::DefaultConfig) unless defined $block->config;
    $block->set_value('request', 'GET /t') unless defined $block->request;
});

# TEST 1: status + body + 2 shutdown log patterns
# TEST 2: skipped by skip_nginx: 3
# TEST 3: status + body + no_error_log
# TEST 4: status + body (SKIP block not counted)
# TEST 5: status + body
plan tests => repeat_each() * (4 + 3 + 3 + 2 + 2);

no_shuffle();
run_tests();

__DATA__

=== TEST 1: master + 2 workers, info log level, generated config
--- init
my $conf = do { local (@ARGV, $/) = ($Test::Nginx::Util::ConfFile); <> };
for my $re (qr/^\s*worker_processes\s+2;/m, qr/^\s*master_process\s+on;/m,
            qr/^\s*error_log\s+\S+\s+info;/m, qr/^\s*env\s+LLM_SELFTEST_VAR=42;/m,
            qr/worker_connections\s+128;/)
{
    die "generated nginx.conf does not match $re\n" unless $conf =~ $re;
}
die "the root location should be off\n" if $conf =~ m{location / \{};
--- response_body
pid-ok
--- shutdown_error_log
gracefully shutting down
exit



=== TEST 2: skip_nginx skips the given number of subtests
--- skip_nginx
3: > 0.1.0
--- response_body
never checked
--- no_error_log
[error]



=== TEST 3: no_root_location: no location / unless the block has one
--- config
    location = /t {
        return 200 "only t\n";
    }
--- request
GET /nothing-here
--- error_code: 404
--- response_body_like: 404 Not Found
--- no_error_log
[alert]



=== TEST 4: defaults from the block preprocessor
--- response_body
pid-ok



=== TEST 5: a skipped block is not run and not counted
--- SKIP
--- response_body
nothing



=== TEST 6: main_config and post_main_config
--- main_config
    worker_rlimit_nofile 1024;
--- post_main_config
    timer_resolution 10ms;
--- response_body
pid-ok
