# All features on at once (#15's interaction cost): each prompt text is
# decoded once, by its first reader (redaction, else the cache key, else
# the token estimate), and the others read that decoding; the model routing
# chose and a few redacted values reach the upstream as a chain of buffers
# over the original body, not a copy.  What must not change: the bytes the
# upstream receives (the routed model, the redacted values, the rest as
# sent), the cache key (over the original texts, never the redacted ones:
# read back from Redis and computed here in Perl, as t/035), and the
# estimate of the prompt's tokens (the same whichever feature decoded the
# texts, and pinned).  The debug log shows who decoded what (the suite runs
# Debian's nginx, built --with-debug).  A retried upstream (another
# server, proxy_next_upstream) gets the chained body again, whole.
#
# One nginx and a redis-server: plain TAP (t/lib/LLMTest/Plain.pm).

use strict;
use warnings;
use Test::More;
use FindBin;
use lib "$FindBin::Bin/lib";
use LLMTest::Plain;
use LLMTest::Features;
llm_require("cache", "redact");
use LLMTest::Redis;
use LLMTest::CacheKey;
use JSON::PP;
use Time::HiRes qw(sleep);

my $ng = LLMTest::Plain->new("llm-all-on");

my $redis = LLMTest::Redis->start($ng->root . '/redis');
my $rport = $redis->port;

my $root = $ng->root;
my $port = $ng->port;

$ng->write_conf(workers => 1, http => <<"_EOC_");
    error_log logs/debug.log debug;

    llm_model gpt-4o-mini upstream=mock;
    llm_route canary { gpt-4o-mini 1; }

    llm_redis main 127.0.0.1:$rport;

    llm_cache_zone zone=keys:1m ttl=10m redis=main;
    llm_budget_zone \$http_x_key zone=bk:1m tokens=1000000/d;

    log_format wire escape=none '\$request_body';

    upstream mock {
        server unix:$root/html/mock.sock;
    }

    upstream retry {
        server unix:$root/html/bad.sock max_fails=0;
        server unix:$root/html/mock.sock backup;
    }

    server {
        listen unix:$root/html/mock.sock;
        default_type application/json;
        client_body_buffer_size 1m;

        location /oa/ {
            access_log $root/logs/wire.log wire;
            echo_read_request_body;
            echo '{"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"ok"},"finish_reason":"stop"}]}';
        }
    }

    server {
        listen unix:$root/html/bad.sock;

        location / {
            return 444;
        }
    }

    server {
        listen 127.0.0.1:$port;
        client_body_buffer_size 1m;

        location /all/ {
            llm_gateway openai;
            llm_redact request;
            llm_cache keys;
            llm_budget bk;
            add_header X-Prompt-Tokens \$llm_prompt_tokens;
            proxy_pass http://mock/oa/;
        }

        location /cb/ {
            llm_gateway openai;
            llm_cache keys;
            llm_budget bk;
            add_header X-Prompt-Tokens \$llm_prompt_tokens;
            proxy_pass http://mock/oa/;
        }

        location /bu/ {
            llm_gateway openai;
            llm_budget bk;
            add_header X-Prompt-Tokens \$llm_prompt_tokens;
            proxy_pass http://mock/oa/;
        }

        location /rt/ {
            llm_gateway openai;
            llm_redact request;
            proxy_next_upstream error non_idempotent;
            proxy_pass http://retry/oa/;
        }
    }
_EOC_

$ng->start("nginx starts");

# --- the cache key's canonical form, in Perl (LLMTest::CacheKey, as t/035) ---

# an OpenAI request's key
sub key_of { return cache_key("\x01", @_) }

# --- the logs: what one request added ---------------------------------------

my %at;

sub added {
    my ($file) = @_;
    my $path = "$root/logs/$file";
    my $text = '';

    for (1 .. 50) {
        $text = -e $path ? slurp($path) : '';
        last if length($text) > ($at{$file} // 0);
        sleep 0.05 * slow();
    }

    my $new = substr($text, $at{$file} // 0);
    $at{$file} = length $text;
    return $new;
}

sub wire {
    my $w = added('wire.log');
    chomp $w;
    return $w;
}

# --- the requests -----------------------------------------------------------

# three texts with escapes (one with a value to redact), one without; long
# enough for the token memo (256 bytes), the body for a chain (4 KB)
my $para = join ' ', map { "the gateway line $_ says \\\"hello\\\" caf\\u00e9\\n" } 1 .. 30;
my $plain = join ' ', map { "plain words $_" } 1 .. 30;
my $body = '{"model":"canary","temperature":0.5,"messages":['
         . qq({"role":"system","content":"You are \\"brief\\".\\n$para"},)
         . qq({"role":"user","content":"$para write to alice\@example.com please"},)
         . qq({"role":"assistant","content":"$plain"},)
         . qq({"role":"user","content":"again: $para"}]});

added($_) for qw(wire.log debug.log);

# what the upstream must get: the routed model, and the text with the value
# re-encoded (escapes as the gateway writes them: \" and \n, UTF-8 as is)
sub redacted {
    my ($b, $label) = @_;
    (my $raw = $para) =~ s/\\u00e9/\xc3\xa9/g;
    $b =~ s/"model":"canary"/"model":"gpt-4o-mini"/;
    $b =~ s/\Q$para\E write to alice\@example\.com please/$raw write to $label please/;
    return $b;
}

my %tokens;

for my $loc (qw(all cb bu)) {
    my $r = $ng->post("/$loc/v1/chat/completions", $body,
                      Authorization => "Bearer $loc-1", 'X-Key' => 'k1');
    is($r->{status}, 200, "/$loc/: 200");
    $tokens{$loc} = $r->{raw} =~ m{\r\nX-Prompt-Tokens: (\d+)\r\n}i ? $1 : '';

    my $w = wire();
    my $debug = added('debug.log');

    if ($loc eq 'all') {
        # the upstream's bytes: the routed model, the value masked, the rest as sent
        my ($label) = $w =~ /write to (\[[A-Z_]+\]) please/;
        ok(defined $label, "/all/: the e-mail address masked") or diag($w);
        is($w, redacted($body, $label // '?'),
           "/all/: the upstream got the body with the model and the value replaced");

        like($debug, qr/llm: body rewritten by 2 edits, \d+ -> \d+ bytes in 5 buffers/,
             "/all/: two edits, sent as five pieces (no copy of the body)");

        my @kept = $debug =~ /llm redact: prompt text (\d+) decoded, \d+ bytes, kept/g;
        is("@kept", "0 1 3", "/all/: the three texts with escapes decoded once, by redaction");
        unlike($debug, qr/llm: \d+ prompt texts decoded/,
               "/all/: the cache key and the estimate decoded nothing again");

        is(new_keys($redis), key_of(["Bearer all-1", '', ''], 'gpt-4o-mini', $body),
           "/all/: the cache key is over the original texts, not the redacted one");

    } elsif ($loc eq 'cb') {
        my @d = $debug =~ /llm: (\d+) prompt texts decoded/g;
        is("@d", "3", "/cb/: the texts decoded once, for the cache key and the estimate");
        is(new_keys($redis), key_of(["Bearer cb-1", '', ''], 'gpt-4o-mini', $body),
           "/cb/: the cache key");
        my $want = $body;
        $want =~ s/"model":"canary"/"model":"gpt-4o-mini"/;
        is($w, $want, "/cb/: the upstream got the body with the routed model");

    } else {
        my @d = $debug =~ /llm: (\d+) prompt texts decoded/g;
        is("@d", "3", "/bu/: the texts decoded once, for the estimate");
    }
}

# the estimate, whoever decoded the texts: the same, and as before
is("$tokens{all} $tokens{cb}", "$tokens{bu} $tokens{bu}",
   "the prompt's estimate is the same whichever feature decoded the texts");
is($tokens{bu}, 1241, "the prompt's estimate, pinned");

# the token memo's hash reads the text in four lanes of 8-byte words (0, 8,
# 16, 24 modulo 32, then the tail's words in turn): a text of the same
# length that differs in one word of any lane, or in the last partial word,
# is counted, never taken for the original

my $t = join ' ', map { "memo$_" } 1 .. 60;          # 410 bytes: 12 blocks, 3 words, 2 bytes
my $len = length $t;
my $tail = $len & ~31;
my @at = (3, 11, 19, 27, 99, (map { $tail + 8 * $_ + 1 } 0 .. (($len & 31) >> 3) - 1), $len - 1);
my @variants = map { my $v = $t; substr($v, $_, 1) = '#'; $v } @at;
my @texts = ($t, @variants);

my $r = $ng->post("/bu/v1/chat/completions",
                  '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"' . $t . '"}]}',
                  'X-Key' => 'k2');
is($r->{status}, 200, "memo: the text counted");
my $debug = added('debug.log');
added('wire.log');
like($debug, qr/llm token memo store: $len bytes/, "memo: the text stored");

$r = $ng->post("/bu/v1/chat/completions",
               '{"model":"gpt-4o-mini","messages":['
               . join(',', map { qq({"role":"user","content":"$_"}) } @texts) . ']}',
               'X-Key' => 'k2');
is($r->{status}, 200, "memo: the variants counted");
$debug = added('debug.log');
added('wire.log');
my $hits = () = $debug =~ /llm token memo hit: $len bytes/g;
my $stores = () = $debug =~ /llm token memo store: $len bytes/g;
is("$hits $stores", "1 " . scalar @variants,
   "memo: the original found, each variant (one word changed in each lane, the tail) counted");

# a retry (the first server closes the connection): the body sent again whole,
# a chain of pieces (a few edits) and a copy (more than eight edits)

my $many = '{"model":"canary","messages":['
         . join(',', map { qq({"role":"user","content":"line \\"$_\\" to bob$_\@example.org"}) } 1 .. 9)
         . ']}';

for my $c ([ 'a few edits', $body, 2 ], [ 'ten edits', $many, 10 ]) {
    my ($name, $b, $edits) = @$c;

    my $r = $ng->post("/rt/v1/chat/completions", $b);
    is($r->{status}, 200, "retry, $name: 200");

    my $w = wire();
    my ($label) = $w =~ /(\[[A-Z_]+\])/;
    my $want = redacted($b, $label // '?');
    $want =~ s/bob\d\@example\.org/$label/g if defined $label;
    is($w, $want, "retry, $name: the second server got the whole body, rewritten");

    my $debug = added('debug.log');
    like($debug, qr/llm: body rewritten by $edits edits/, "retry, $name: $edits edits");
    like($debug, qr/upstream prematurely closed|upstream sent no valid|failed \(\d+: /,
         "retry, $name: the first server failed");
}

unlike(slurp($ng->root . '/logs/error.log'), qr/\[(alert|crit|emerg)\]|exited on signal/,
       'no alert or crash in the error log');

$ng->stop;
$ng->check_valgrind;

done_testing();
