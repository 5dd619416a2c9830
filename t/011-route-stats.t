# Routing statistics that need many requests: weights honoured within a
# tolerance, sticky keys spread over the models, the shadow share, and the
# bound on shadow requests in flight.  Drives its own nginx (plain TAP).

use strict;
use warnings;
use Test::More;
use Time::HiRes qw(sleep);
use FindBin;
use lib "$FindBin::Bin/lib";
use LLMTest::Plain;
use LLMTest::Features;

llm_require("route");

my $ng = LLMTest::Plain->new('llm-route');
my $root = $ng->root;
my $port = $ng->port;

$ng->write_conf(workers => 1, http => <<"_EOC_");
    llm_model a upstream=mock;
    llm_model b upstream=mock;
    llm_model c upstream=mock;
    llm_model slow upstream=slow;

    llm_route weighted { a 3; b 1; }
    llm_route three { a 1; b 1; c 1; }
    llm_route sampled { a 1; shadow b 30%; }
    llm_route bounded { a 1; shadow slow 100% max=2 timeout=2s; }

    upstream mock { server unix:$root/html/mock.sock; }
    upstream slow { server unix:$root/html/slow.sock; }

    server {
        listen unix:$root/html/mock.sock;
        default_type application/json;
        location / {
            echo_read_request_body;
            echo '{"choices":[],"usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}}';
        }
    }

    server {
        listen unix:$root/html/slow.sock;
        default_type application/json;
        location / {
            echo_read_request_body;
            echo_sleep 1;
            echo '{"choices":[],"usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}}';
        }
    }

    server {
        listen 127.0.0.1:$port;

        location / {
            llm_gateway openai;
            proxy_pass http://\$llm_upstream;
            add_header X-Model \$llm_model;
            add_header X-Shadow \$llm_shadow;
        }

        location /sticky/ {
            llm_gateway openai;
            llm_route_key \$http_x_user;
            proxy_pass http://\$llm_upstream;
            add_header X-Model \$llm_model;
        }
    }
_EOC_

$ng->start('nginx starts');

# (status, lower-case name => header value)
sub request {
    my $r = $ng->post(@_);
    return ($r->{status}, $r->{header});
}

sub body { '{"model":"' . shift . '","messages":[{"role":"user","content":"Hi"}]}' }

# 1. weights 3:1 over 1000 random choices (binomial sd ~ 13.7)

{
    my %n;
    for (1 .. 1000) {
        my ($status, $h) = request('/chat/completions', body('weighted'));
        $n{$h->{'x-model'} // 'none'}++;
    }

    my $a = $n{a} // 0;
    is(($n{a} // 0) + ($n{b} // 0), 1000, 'every request went to a or b');
    cmp_ok($a, '>=', 690, "model a got its 75% share within 4.5 sd ($a)");
    cmp_ok($a, '<=', 810, "model a got its 75% share within 4.5 sd ($a)");
}

# 2. sticky keys: each key keeps its model, keys spread over the models

{
    my (%first, %models, $moved);
    $moved = 0;

    for my $round (1 .. 3) {
        for my $u (1 .. 60) {
            my ($s, $h) = request('/sticky/chat/completions',
                                  body('three'), 'X-User' => "user-$u");
            my $m = $h->{'x-model'} // 'none';
            $first{$u} //= $m;
            $moved++ if $first{$u} ne $m;
            $models{$m}++;
        }
    }

    is($moved, 0, 'no key changed model over three rounds');
    is(scalar(grep { $_ ne 'none' } keys %models), 3,
       '60 keys use all three models');
}

# 3. a 30% shadow share over 300 requests (sd ~ 7.9)

{
    my $shadowed = 0;
    for (1 .. 300) {
        my ($s, $h) = request('/chat/completions', body('sampled'));
        $shadowed++ if ($h->{'x-shadow'} // '') eq 'b';
    }

    cmp_ok($shadowed, '>=', 55, "shadowed share near 30% ($shadowed of 300)");
    cmp_ok($shadowed, '<=', 125, "shadowed share near 30% ($shadowed of 300)");
}

# 4. at most max=2 slow shadows in flight; the others are skipped

{
    my @res = in_parallel(8, sub {
        my ($s, $h) = request('/chat/completions', body('bounded'));
        return ($h->{'x-shadow'} // '-') . " $s";
    });

    my $ok = grep { / 200$/ } @res;
    my $with = grep { /^slow / } @res;

    is($ok, 8, 'all 8 primaries answered');
    cmp_ok($with, '<=', 2, "at most 2 shadows in flight ($with)");
    cmp_ok($with, '>=', 1, 'the first ones got a shadow');

    sleep 1.5;
    like(slurp("$root/logs/error.log"), qr/shadow requests in flight, skipped/,
         'the skipped shadows are logged');
}

unlike(slurp("$root/logs/error.log"), qr/\[(alert|crit|emerg)\]/,
       'no alert in the error log');

$ng->stop;
$ng->check_valgrind;

done_testing();
