# Shared zones across workers and reloads: concurrent admission against one
# small budget with two workers, budget state kept by "nginx -s reload",
# no failed request while reloading under load, a full zone evicting idle
# keys and never a key with a request in flight.
#
# These need several processes and signals, which the Test::Nginx data
# format does not express, so this file drives nginx itself (plain TAP).

use strict;
use warnings;
use Test::More;
use FindBin;
use lib "$FindBin::Bin/lib";
use LLMTest::Plain;
use LLMTest::Features;
llm_require("budget");

my $ng = LLMTest::Plain->new('llm-shm');
my $root = $ng->root;
my $port = $ng->port;

# requests held in flight while a flood of new keys goes through
my $hold = 3 * slow();

$ng->write_conf(workers => 2, http => <<"_EOC_");
    llm_model gpt-4o-mini upstream=mock;

    llm_budget_zone \$http_x_key zone=small:1m tokens=1000/h;
    llm_budget_zone \$http_x_key zone=tiny:32k tokens=100000/h;
    llm_budget_zone \$http_x_key zone=held:32k tokens=100000/h;

    upstream mock {
        server unix:$root/html/mock.sock;
    }

    server {
        listen unix:$root/html/mock.sock;
        default_type application/json;

        # uses more than it reserves: no refund can let in more requests
        # than the budget covers, however the requests overlap in time
        location /slow/ {
            echo_read_request_body;
            echo_sleep 0.5;
            echo '{"choices":[],"usage":{"prompt_tokens":100,"completion_tokens":100,"total_tokens":200}}';
        }

        location /big/ {
            echo_read_request_body;
            echo '{"choices":[],"usage":{"prompt_tokens":900,"completion_tokens":900,"total_tokens":1800}}';
        }

        location /hold/ {
            echo_read_request_body;
            echo_sleep $hold;
            echo '{"choices":[],"usage":{"prompt_tokens":50000,"completion_tokens":1,"total_tokens":50001}}';
        }

        location /ok/ {
            echo_read_request_body;
            echo '{"choices":[],"usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}}';
        }
    }

    server {
        listen 127.0.0.1:$port;

        location / {
            llm_gateway openai;
            llm_budget small;
            proxy_pass http://mock;
        }

        location /tiny/ {
            llm_gateway openai;
            llm_budget tiny;
            proxy_pass http://mock/ok/;
        }

        location /held/ {
            llm_gateway openai;
            llm_budget held;
            proxy_pass http://mock/hold/;
        }

        location /held-ok/ {
            llm_gateway openai;
            llm_budget held;
            proxy_pass http://mock/ok/;
        }
    }
_EOC_

$ng->start('nginx starts with two workers');

# the answer's status
sub request { $ng->post(@_)->{status} }

my $body = '{"model":"gpt-4o-mini","max_tokens":100,"messages":[{"role":"user","content":"Hi"}]}';

# 1. many parallel requests against one small budget: at most what it covers

{
    my $n = 30;

    my @statuses = in_parallel($n, sub {
        request('/slow/chat/completions', $body, 'X-Key' => 'concurrent');
    });

    my $admitted = grep { $_ eq '200' } @statuses;
    my $refused = grep { $_ eq '429' } @statuses;

    is(scalar @statuses, $n, "$n parallel requests answered");
    is($admitted + $refused, $n, 'each was admitted (200) or refused (429)');

    # each reserves the prompt estimate (>= 8) plus max_tokens 100
    cmp_ok($admitted, '<=', int(1000 / 108),
           "no more admitted than the budget covers ($admitted)");
    cmp_ok($admitted, '>=', 1, 'some were admitted');
}

# 2. "nginx -s reload" keeps the budget's state

{
    is(request('/big/chat/completions', $body, 'X-Key' => 'reload'),
       200, 'a request that overruns the budget');
    is(request('/ok/chat/completions', $body, 'X-Key' => 'reload'),
       429, 'the next one is refused');

    $ng->reload;

    is(request('/ok/chat/completions', $body, 'X-Key' => 'reload'),
       429, 'still refused after a reload: the zone kept its state');
    is(request('/ok/chat/completions', $body, 'X-Key' => 'other'),
       200, 'other keys are admitted after the reload');
}

# 3. reloads under load drop no request

{
    my ($ok, $failed) = $ng->reload_under_load(
        seconds => 3, reloads => 3, gap => 0.6,
        request => sub { request('/ok/chat/completions', $body) eq '200' });

    cmp_ok($ok, '>', 20, "requests went on during 3 reloads ($ok)");
    is($failed, 0, 'no request failed during the reloads');
}

# 4. a full zone evicts the least recently used idle keys, requests go on;
#    keys are kept as digests: 3 KB keys take no more room than short ones

{
    my $failed = 0;

    # paced as in part 5: each key's 2 tokens are refilled in 72 ms
    for my $i (1 .. 300) {
        my $s = request('/tiny/chat/completions', $body,
                        'X-Key' => "key$i-" . ('x' x 3000));
        $failed++ if $s ne '200';
        sleep 0.002;
    }

    is($failed, 0, '300 keys of 3 KB in a 32 KB zone: every request admitted');
    like(slurp("$root/logs/error.log"),
         qr/llm_budget_zone "tiny" is full: evicted the least recently used idle key with a full bucket/,
         'the eviction is logged');
    unlike(slurp("$root/logs/error.log"), qr/key\d+-xxx/,
           'the keys (maybe credentials) are not logged');
}

unlike(slurp("$root/logs/error.log"), qr/\[(alert|crit|emerg)\]/,
       'no alert in the error log');

# 5. keys with a request in flight are never evicted: a flood of new keys
#    while requests are held goes through, and the held keys are charged
#    when their requests end (an evicted key would come back full)

{
    my @held = map {
        my $i = $_;
        in_background(sub {
            request('/held/chat/completions', $body,
                    'X-Key' => "held$i-" . ('x' x 3000));
        });
    } 1 .. 4;

    sleep 0.5 * slow();

    my $failed = 0;

    # each flood key uses 2 tokens, refilled in 72 ms: paced so that the
    # least recently used of the ~190 keys the zone holds is idle and full
    # again when a new key needs its room (unpaced, a fast machine fills
    # the zone within 72 ms, and then a new key is rightly refused)

    for my $i (1 .. 300) {
        $failed++ if request('/held-ok/chat/completions', $body,
                             'X-Key' => "flood$i") ne '200';
        sleep 0.002;
    }

    is($failed, 0, 'a flood of 300 new keys while 4 are in flight: all admitted');
    is(join(' ', map { $_->() // 'none' } @held), '200 200 200 200',
       'the held requests were served');

    my $r = $ng->post('/held-ok/chat/completions', $body,
                      'X-Key' => 'held1-' . ('x' x 3000));

    cmp_ok($r->{header}{'x-ratelimit-remaining-tokens'} // 100000, '<', 60000,
           'a held key kept its state through the flood: charged its 50001 tokens');
}

$ng->stop;
$ng->check_valgrind;

done_testing();
