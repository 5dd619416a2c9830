# Budgets across reloads and the level of their refusals: a reload that
# changes a budget zone's key or unit (tokens, cost) is refused with an
# [emerg] as limit_req does, and the running configuration goes on with its
# levels; llm_budget_log_level sets the level of the refusal's log line
# (a dry run logs one level lower, as limit_req logs its delays).
#
# Reloads need signals, which the Test::Nginx data format does not express,
# so this file drives nginx itself (plain TAP).

use strict;
use warnings;
use Test::More;
use FindBin;
use lib "$FindBin::Bin/lib";
use LLMTest::Plain;
use LLMTest::Features;
llm_require("budget");

my $ng = LLMTest::Plain->new('llm-budget-reload');
my $root = $ng->root;
my $port = $ng->port;

sub conf {
    my ($zone, $level) = @_;

    $ng->write_conf(http => <<"_EOC_");
    llm_model gpt-4o-mini upstream=mock;

    $zone

    upstream mock {
        server unix:$root/html/mock.sock;
    }

    server {
        listen unix:$root/html/mock.sock;
        default_type application/json;

        location / {
            echo_read_request_body;
            echo '{"choices":[],"usage":{"prompt_tokens":900,"completion_tokens":900,"total_tokens":1800}}';
        }
    }

    server {
        listen 127.0.0.1:$port;

        location / {
            llm_gateway openai;
            llm_budget b;
            $level
            proxy_pass http://mock;
        }

        location /dry/ {
            llm_gateway openai;
            llm_budget b;
            llm_budget_dry_run on;
            $level
            proxy_pass http://mock;
        }
    }
_EOC_
}

sub request { $ng->post(@_)->{status} }

my $body = '{"model":"gpt-4o-mini","max_tokens":100,"messages":[{"role":"user","content":"Hi"}]}';
my $tokens = 'llm_budget_zone $http_x_key zone=b:1m tokens=1000/h;';

conf($tokens, 'llm_budget_log_level error;');
$ng->start('nginx starts');

# the error log written since the previous call
my $seen = length slurp("$root/logs/error.log");
my $log = sub {
    my $all = slurp("$root/logs/error.log");
    my $new = substr($all, $seen);
    $seen = length $all;
    return $new;
};

is(request('/chat/completions', $body, 'X-Key' => 'k'), 200,
   'a request that overruns the budget');
is(request('/chat/completions', $body, 'X-Key' => 'k'), 429,
   'the next one is refused');


like($log->(), qr/\[error\] .*llm: refused by llm_budget_zone "b"/,
     'llm_budget_log_level error: the refusal is logged at [error]');

is(request('/dry/chat/completions', $body, 'X-Key' => 'k'), 200,
   'a dry run lets it through');
like($log->(), qr/\[warn\] .*llm: would be refused \(dry run\) by llm_budget_zone "b"/,
     'the dry run is logged one level lower, [warn]');

# 1. another key: refused, the running configuration goes on

conf('llm_budget_zone $remote_addr zone=b:1m tokens=1000/h;', '');
$ng->reload;

like($log->(), qr/\[emerg\] .*llm_budget_zone "b" uses the "\$remote_addr" key while previously it used the "\$http_x_key" key/,
     'a reload that changes the key is refused with [emerg]');
is(request('/chat/completions', $body, 'X-Key' => 'k'), 429,
   'the running configuration goes on: the key is still refused');
is(request('/chat/completions', $body, 'X-Key' => 'other'), 200,
   'and keyed by X-Key: another key is admitted');

# 2. cost instead of tokens: refused likewise

conf('llm_budget_zone $http_x_key zone=b:1m cost=1/h;', '');
$ng->reload;

like($log->(), qr/\[emerg\] .*llm_budget_zone "b" counts cost while previously it counted tokens/,
     'a reload that changes the unit is refused with [emerg]');
is(request('/chat/completions', $body, 'X-Key' => 'k'), 429,
   'the running configuration still refuses the key');

# 3. the same key and unit, another limit: accepted, the levels kept

conf('llm_budget_zone $http_x_key zone=b:1m tokens=1500/h;', '');
$ng->reload;

unlike($log->(), qr/\[emerg\]/, 'a reload that changes only the limit is accepted');
is(request('/chat/completions', $body, 'X-Key' => 'k'), 429,
   'the key kept its level through the reload');
like($log->(), qr/\[warn\] .*llm: refused by llm_budget_zone "b"/,
     'without llm_budget_log_level a refusal is logged at [warn]');

unlike(slurp("$root/logs/error.log"), qr/\[(alert|crit)\]/,
       'no alert in the error log');

$ng->stop;
$ng->check_valgrind;

done_testing();
