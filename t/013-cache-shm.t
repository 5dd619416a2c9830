# The answer cache across workers and reloads: entries stored by one worker
# are served by the others, concurrent misses of one key, entries kept by
# "nginx -s reload" (also when the ttl changes), hits during reloads under
# load, a full zone evicting entries with a warning.
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
llm_require("cache");

my $ng = LLMTest::Plain->new('llm-cache');
my $root = $ng->root;
my $port = $ng->port;
my $big = 'lorem ipsum ' x 250;

sub write_conf {
    my $ttl = shift;

    $ng->write_conf(workers => 2, http => <<"_EOC_");
    llm_model gpt-4o-mini upstream=mock;

    llm_cache_zone zone=main:1m ttl=$ttl;
    llm_cache_zone zone=tiny:32k;

    upstream mock {
        server unix:$root/html/mock.sock;
    }

    server {
        listen unix:$root/html/mock.sock;
        default_type application/json;

        location /ok/ {
            echo_read_request_body;
            echo '{"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"cached text"},"finish_reason":"stop"}],"usage":{"prompt_tokens":5,"completion_tokens":2,"total_tokens":7}}';
        }

        location /slow/ {
            echo_read_request_body;
            echo_sleep 0.3;
            echo '{"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"slow text"},"finish_reason":"stop"}],"usage":{"prompt_tokens":5,"completion_tokens":2,"total_tokens":7}}';
        }

        location /big/ {
            echo_read_request_body;
            echo '{"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"$big"},"finish_reason":"stop"}],"usage":{"prompt_tokens":5,"completion_tokens":500,"total_tokens":505}}';
        }
    }

    server {
        listen 127.0.0.1:$port;

        location / {
            llm_gateway openai;
            llm_cache main;
            proxy_pass http://mock;
        }

        location /big/ {
            llm_gateway openai;
            llm_cache tiny;
            proxy_pass http://mock;
        }

        location /semantic/ {
            llm_gateway openai;
            llm_cache tiny;
            llm_cache_semantic on;
            proxy_pass http://mock/big/;
        }
    }
_EOC_
}

write_conf('1h');

$ng->start('nginx starts with two workers');

# (status, X-LLM-Cache, response)
sub request {
    my ($uri, $body, %headers) = @_;

    $headers{Authorization} //= 'Bearer tenant';

    my $r = $ng->post($uri, $body, %headers);
    my $cache = $r->{raw} =~ m{\r\nX-LLM-Cache: (\w+)\r\n}i ? $1 : '';

    return ($r->{status}, $cache, $r->{raw});
}

sub body {
    my $q = shift;
    return qq({"model":"gpt-4o-mini","messages":[{"role":"user","content":"$q"}]});
}

# 1. an entry stored by one worker is served by every worker

{
    my ($s, $c) = request('/ok/chat/completions', body('shared'));
    is("$s $c", '200 MISS', 'the first request is a miss');

    my %pids;
    my $hits = 0;

    for (1 .. 20) {
        my ($s, $c, $resp) = request('/ok/chat/completions', body('shared'));
        $hits++ if $s eq '200' && $c eq 'HIT' && $resp =~ /"content":"cached text"/;
    }

    is($hits, 20, '20 requests over two workers: all hits');
}

# 2. concurrent misses of one key: every request answered, one entry

{
    my $n = 20;

    my @res = in_parallel($n, sub {
        my ($s, $c) = request('/slow/chat/completions', body('together'));
        return "$s $c";
    });

    is(scalar(grep { /^200 (MISS|HIT)$/ } @res), $n,
       "$n concurrent requests of one key all answered");

    my ($s, $c) = request('/slow/chat/completions', body('together'));
    is("$s $c", '200 HIT', 'the key is stored once they are done');
}

# 3. "nginx -s reload" keeps the entries, also with a new ttl

{
    my ($s, $c) = request('/ok/chat/completions', body('reload'));
    is("$s $c", '200 MISS', 'stored before the reload');

    $ng->reload;

    ($s, $c) = request('/ok/chat/completions', body('reload'));
    is("$s $c", '200 HIT', 'a hit after the reload');

    write_conf('2h');
    $ng->reload;

    ($s, $c) = request('/ok/chat/completions', body('reload'));
    is("$s $c", '200 HIT', 'a hit after a reload that changed the ttl');
}

# 4. hits go on during reloads under load

{
    my ($ok, $failed) = $ng->reload_under_load(
        seconds => 2.5, reloads => 3, gap => 0.5,
        request => sub {
            my ($s, $c) = request('/ok/chat/completions', body('shared'));
            return $s eq '200' && $c eq 'HIT';
        });

    cmp_ok($ok, '>', 20, "hits went on during 3 reloads ($ok)");
    is($failed, 0, 'no request failed or missed during the reloads');
}

# 5. a full zone evicts the least recently used entries, requests go on

{
    my $failed = 0;

    for my $i (1 .. 30) {
        my ($s) = request('/big/chat/completions', body("question $i"));
        $failed++ if $s ne '200';
    }

    is($failed, 0, '30 entries of 3 KB in a 32 KB zone: every request answered');

    my ($s, $c) = request('/big/chat/completions', body('question 30'));
    is("$s $c", '200 HIT', 'the most recent entry is there');

    ($s, $c) = request('/big/chat/completions', body('question 1'));
    is("$s $c", '200 MISS', 'the oldest was evicted');

    like(slurp("$root/logs/error.log"),
         qr/\[warn\] .*llm cache "tiny" is full: evicted \d+ least recently used entries/,
         'the eviction is logged');
}

# 6. the same with semantic entries: their index follows the evictions

{
    my $failed = 0;

    for my $i (1 .. 30) {
        my ($s) = request('/semantic/chat/completions',
                          body("Which planet is number $i from the sun?"));
        $failed++ if $s ne '200';
    }

    is($failed, 0, '30 semantic entries in a 32 KB zone: every request answered');

    my ($s, $c) = request('/semantic/chat/completions',
                          body('which planet is number 30 from the sun'));
    is("$s $c", '200 SEMANTIC', 'a near-duplicate of the most recent entry');

    ($s, $c) = request('/semantic/chat/completions',
                       body('which planet is number 1 from the sun'));
    is("$s $c", '200 MISS', 'the oldest was evicted, with its index');
}

unlike(slurp("$root/logs/error.log"), qr/\[(alert|crit|emerg)\]/,
       'no alert in the error log');

$ng->stop;
$ng->check_valgrind;

done_testing();
