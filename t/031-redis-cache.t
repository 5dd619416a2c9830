# The exact answer cache shared by a fleet through Redis (redis= on
# llm_cache_zone): an answer stored by one nginx is a HIT on another
# (separate prefixes, one redis-server of the test's own), never across
# tenants; the entry has the zone's TTL in Redis; Redis down: a miss, never
# an error, and no request waits longer than the timeout; Redis back:
# shared again.
#
# Several nginx and a redis-server: plain TAP (t/lib/LLMTest/Plain.pm).

use strict;
use warnings;
use Test::More;
use FindBin;
use lib "$FindBin::Bin/lib";
use LLMTest::Plain;
use LLMTest::Features;
llm_require("cache");
use LLMTest::Redis;
use Time::HiRes qw(time sleep);

my @ng = map { LLMTest::Plain->new("llm-redis-cache$_") } 1 .. 2;

my $redis = LLMTest::Redis->start($ng[0]->root . '/redis');
my $rport = $redis->port;

for my $i (0 .. 1) {
    my $ng = $ng[$i];
    my $root = $ng->root;
    my $port = $ng->port;

    $ng->write_conf(workers => 2, http => <<"_EOC_");
    llm_model gpt-4o-mini upstream=mock;

    llm_redis main 127.0.0.1:$rport timeout=${\ (300 * slow())}ms;

    llm_cache_zone zone=shared:1m ttl=10m redis=main;

    upstream mock {
        server unix:$root/html/mock.sock;
    }

    server {
        listen unix:$root/html/mock.sock;
        default_type application/json;

        location /ok/ {
            echo_read_request_body;
            echo '{"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"answer of nginx $i"},"finish_reason":"stop"}],"usage":{"prompt_tokens":5,"completion_tokens":4,"total_tokens":9}}';
        }
    }

    server {
        listen 127.0.0.1:$port;

        location / {
            llm_gateway openai;
            llm_cache shared;
            proxy_pass http://mock/ok/;
        }
    }
_EOC_

    $ng->start("nginx " . ($i + 1) . " of 2 starts with two workers");
}

# (status, X-LLM-Cache, body)
sub request {
    my ($i, $q, $tenant) = @_;

    my $r = $ng[$i]->post('/v1/chat/completions',
                          qq({"model":"gpt-4o-mini","messages":[{"role":"user","content":"$q"}]}),
                          Authorization => "Bearer $tenant");
    my $cache = $r->{raw} =~ m{\r\nX-LLM-Cache: (\w+)\r\n}i ? $1 : '';

    return ($r->{status}, $cache, $r->{body} // '');
}

# 1. stored on one nginx, a HIT on the other, with the first one's answer

{
    my ($s, $c, $b) = request(0, 'shared question', 'tenant-a');
    is("$s $c", '200 MISS', 'nginx 1: a miss, answered upstream');
    like($b, qr/answer of nginx 0/, "nginx 1: its upstream's answer");

    sleep 0.2 * slow();

    ($s, $c, $b) = request(1, 'shared question', 'tenant-a');
    is("$s $c", '200 HIT', 'nginx 2: a HIT from the entry nginx 1 stored in Redis');
    like($b, qr/answer of nginx 0/, "nginx 2: nginx 1's answer, not its upstream's");

    my @keys = grep { length } split /\n/, $redis->cmd('KEYS', 'llm:cache:{shared}:*');
    is(scalar @keys, 1, 'one entry in Redis');

    my $ttl = $redis->cmd('TTL', $keys[0]);
    cmp_ok($ttl, '>', 590, "with the zone's TTL ($ttl s)");
    cmp_ok($ttl, '<=', 600, 'no longer than it');
}

# 2. never across tenants: the scope is in the key

{
    my ($s, $c, $b) = request(1, 'shared question', 'tenant-b');
    is("$s $c", '200 MISS', 'another tenant, same question: a miss');
    like($b, qr/answer of nginx 1/, "answered by its own upstream");
}

# 3. Redis down: a miss, never an error, no wait; back: shared again

{
    $redis->stop;

    my ($slowest, @res) = (0);

    for my $k (0 .. 9) {
        my $t0 = time;
        my ($s, $c) = request($k % 2, "down $k", 'tenant-a');
        my $t = time - $t0;
        $slowest = $t if $t > $slowest;
        push @res, "$s $c";
    }

    is(scalar(grep { $_ eq '200 MISS' } @res), 10, 'Redis down: every request a 200 MISS');
    cmp_ok($slowest, '<', 1.5 * slow(), sprintf('no request waited (slowest %.2fs)', $slowest));

    my ($s, $c) = request(0, 'down 0', 'tenant-a');
    is("$s $c", '200 HIT', 'the local zone still serves its own entries');

    $redis->restart;
    sleep 1.2 * slow();

    request(0, 'after the outage', 'tenant-a');
    # the first request after the outage may find the connection down
    request(0, 'after the outage 2', 'tenant-a');
    sleep 0.2 * slow();

    ($s, $c) = request(1, 'after the outage 2', 'tenant-a');
    is("$s $c", '200 HIT', 'Redis back: entries are shared again');
}

for my $ng (@ng) {
    unlike(slurp($ng->root . '/logs/error.log'), qr/\[(alert|crit|emerg)\]|exited on signal/,
           'no alert or crash in the error log');
}

$_->stop for @ng;
$_->check_valgrind for @ng;

done_testing();
