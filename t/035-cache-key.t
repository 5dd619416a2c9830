# The exact cache's keys, pinned: Redis holds them (redis= on
# llm_cache_zone), so the nginx of a fleet, old and new, must compute the
# same key for the same request.  Each request's key, read back from
# Redis, must equal the digest of the canonical form described in
# ngx_http_llm_cache_key.c, computed here in Perl from the request alone:
# SHA-256, cut to 16 bytes, of "llm-cache/1\0", the API, the scope
# (length-prefixed credentials), the effective model and the body's
# structure (strings decoded, numbers by value, members sorted, the
# unkeyed top-level members left out).  Bodies with escapes, long strings
# (larger than any buffer of the walk), more than 16 members, numbers of
# every form, several messages and content parts, for OpenAI and
# Anthropic.  A change in the key's computation (a walk that hashes other
# bytes) fails here.  The budget's keys too: the SHA-1 of the key, in hex.
#
# One nginx and a redis-server: plain TAP (t/lib/LLMTest/Plain.pm).

use strict;
use warnings;
use Test::More;
use FindBin;
use lib "$FindBin::Bin/lib";
use LLMTest::Plain;
use LLMTest::Features;
llm_require("cache");
use LLMTest::Redis;
use LLMTest::CacheKey;
use JSON::PP;
use Time::HiRes qw(sleep);

my $ng = LLMTest::Plain->new("llm-cache-key");

my $redis = LLMTest::Redis->start($ng->root . '/redis');
my $rport = $redis->port;

my $root = $ng->root;
my $port = $ng->port;

$ng->write_conf(workers => 1, http => <<"_EOC_");
    llm_model gpt-4o-mini upstream=mock;
    llm_model claude-3-5-haiku-latest upstream=mock;
    llm_route canary { gpt-4o-mini 1; }

    llm_redis main 127.0.0.1:$rport;

    llm_cache_zone zone=keys:1m ttl=10m redis=main;
    llm_budget_zone \$http_x_key zone=bk:1m tokens=1000000/d redis=main;

    upstream mock {
        server unix:$root/html/mock.sock;
    }

    server {
        listen unix:$root/html/mock.sock;
        default_type application/json;

        location /oa/ {
            echo_read_request_body;
            echo '{"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"ok"},"finish_reason":"stop"}],"usage":{"prompt_tokens":5,"completion_tokens":1,"total_tokens":6}}';
        }

        location /an/ {
            echo_read_request_body;
            echo '{"model":"m","type":"message","role":"assistant","content":[{"type":"text","text":"ok"}],"stop_reason":"end_turn","usage":{"input_tokens":5,"output_tokens":1}}';
        }
    }

    server {
        listen 127.0.0.1:$port;

        location /v1/chat/ {
            llm_gateway openai;
            llm_cache keys;
            proxy_pass http://mock/oa/;
        }

        location /bu/ {
            llm_gateway openai;
            llm_budget bk;
            proxy_pass http://mock/oa/;
        }

        location /v1/messages {
            llm_gateway anthropic;
            llm_cache keys;
            proxy_pass http://mock/an/;
        }
    }
_EOC_

$ng->start("nginx starts");

# (the canonical form, in Perl: LLMTest::CacheKey's cache_key())

# --- the requests -----------------------------------------------------------

my $long = join ' ', map { "word$_" } 1 .. 1500;                 # ~12 KB, no escape
my $long_esc = join '\n', map { "line \\\"$_\\\" caf\\u00e9" } 1 .. 700;   # ~14 KB, escapes
my $many = join ',', map { sprintf '"p%02d":%d', 40 - $_, $_ } 1 .. 20;

my @cases = (
    [ 'openai, one message', '/v1/chat/completions', "\x01", ['Bearer t1', '', ''], 'gpt-4o-mini',
      '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Hi"}]}' ],
    [ 'openai, escapes, numbers, unkeyed members', '/v1/chat/completions', "\x01", ['Bearer t1', '', ''], 'gpt-4o-mini',
      '{"model":"gpt-4o-mini","stream":false,"user":"u1","metadata":{"a":"b"},"temperature":0.7,"max_tokens":100,'
      . '"seed":-12,"x_e":1.0e2,"x_f":2.50,"x_z":-0.0,"top_p":1,"n":1,"frequency_penalty":-0.5,"big":12345678901234567890,'
      . '"messages":[{"role":"system","content":"Be \"brief\"\\n\\tplease"},'
      . '{"role":"user","content":"caf\u00e9 \ud83d\ude00 \\/ end","name":"x"}],'
      . '"response_format":{"type":"text"},"logit_bias":null,"parallel_tool_calls":true}' ],
    [ 'openai, long strings with and without escapes', '/v1/chat/completions', "\x01", ['', 'k-2', ''], 'gpt-4o-mini',
      qq({"model":"gpt-4o-mini","messages":[{"role":"user","content":"$long"},)
      . qq({"role":"assistant","content":"$long_esc"},{"role":"user","content":"again $long_esc"}]}) ],
    [ 'openai, content parts, tools, many members', '/v1/chat/completions', "\x01", ['Bearer t3', '', 'k3'], 'gpt-4o-mini',
      '{"model":"canary","messages":[{"role":"user","content":[{"type":"text","text":"part \\"one\\""},'
      . '{"type":"text","text":"part two"}]},{"role":"assistant","content":"a\\nb"},'
      . '{"role":"user","content":"c\\td"},{"role":"assistant","content":"e"},{"role":"user","content":"f\\u0041"}],'
      . '"tools":[{"type":"function","function":{"name":"f","description":"does \\"f\\"\\n",'
      . '"parameters":{"type":"object","properties":{' . $many . '}}}}],"tool_choice":"auto"}' ],
    [ 'anthropic, system and escapes', '/v1/messages', "\x02", ['', 'ak-1', ''], 'claude-3-5-haiku-latest',
      '{"model":"claude-3-5-haiku-latest","max_tokens":64,"system":"sys \\"x\\"",'
      . '"messages":[{"role":"user","content":[{"type":"text","text":"q\\u00fc\\n"}]}]}' ],
);

for my $c (@cases) {
    my ($name, $uri, $api, $cred, $model, $body) = @$c;
    my %h;
    $h{Authorization} = $cred->[0] if length $cred->[0];
    $h{'x-api-key'} = $cred->[1] if length $cred->[1];
    $h{'api-key'} = $cred->[2] if length $cred->[2];
    $h{'anthropic-version'} = '2023-06-01' if $api eq "\x02";

    my $r = $ng->post($uri, $body, %h);
    my $cache = $r->{raw} =~ m{\r\nX-LLM-Cache: (\w+)\r\n}i ? $1 : '';
    is("$r->{status} $cache", '200 MISS', "$name: a miss, stored");

    is(new_keys($redis), cache_key($api, $cred, $model, $body), "$name: the key in Redis");
}

# the budget's key in Redis: the SHA-1 of the key, in hex

for my $k ('key-1', 'a much longer budget key, ' . ('x' x 100)) {
    my $r = $ng->post('/bu/v1/chat/completions',
                      '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Hi"}]}',
                      'X-Key' => $k);
    is($r->{status}, 200, "budget key of " . length($k) . " bytes: admitted");

    my $want = 'llm:budget:{bk}:' . Digest::SHA::sha1_hex($k);
    my $got = '';
    for (1 .. 50) {
        $got = join ' ', grep { $_ eq $want } split /\n/, $redis->cmd('KEYS', 'llm:budget:{bk}:*');
        last if $got;
        sleep 0.05 * slow();
    }
    is($got, $want, "budget key of " . length($k) . " bytes: its SHA-1 in Redis");
}

unlike(slurp($ng->root . '/logs/error.log'), qr/\[(alert|crit|emerg)\]|exited on signal/,
       'no alert or crash in the error log');

$ng->stop;
$ng->check_valgrind;

done_testing();
