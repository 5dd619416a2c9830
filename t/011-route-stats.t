# Routing statistics that need many requests: weights honoured within a
# tolerance, sticky keys spread over the models, the shadow share, and the
# bound on shadow requests in flight.  Drives its own nginx (plain TAP).

use strict;
use warnings;
use Test::More;
use File::Temp qw(tempdir);
use IO::Socket::INET;
use Time::HiRes qw(sleep);

my $nginx = $ENV{TEST_NGINX_BINARY} || 'nginx';
my @modules = split ' ', ($ENV{TEST_NGINX_LOAD_MODULES} || '');

if (!grep { /ngx_http_llm_module\.so$/ } @modules) {
    plan skip_all => 'TEST_NGINX_LOAD_MODULES does not name ngx_http_llm_module.so';
}

my $root = tempdir("llm-route-XXXXXX", TMPDIR => 1,
                   CLEANUP => !$ENV{TEST_NGINX_NO_CLEAN});
mkdir "$root/$_" for qw(logs conf html);

my $port = free_port();
my $load = join '', map { "load_module $_;\n" } @modules;

# workers of a root master would run as nobody, who cannot reach $root
my $user = $> == 0 ? 'user root;' : '';

open my $fh, '>', "$root/conf/nginx.conf" or die $!;
print $fh <<"_EOC_";
$load
$user
worker_processes 1;
daemon on;
error_log logs/error.log info;
pid logs/nginx.pid;
events { worker_connections 512; }

http {
    access_log off;
    client_body_temp_path $root/body;
    proxy_temp_path $root/proxy;
    fastcgi_temp_path $root/fastcgi;
    uwsgi_temp_path $root/uwsgi;
    scgi_temp_path $root/scgi;

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
}
_EOC_
close $fh;

my $out = `$nginx -p $root/ -c conf/nginx.conf 2>&1`;
is($?, 0, 'nginx starts') or diag($out);
wait_port($port) or BAIL_OUT("nginx does not listen on $port");

sub body { '{"model":"' . shift . '","messages":[{"role":"user","content":"Hi"}]}' }

# 1. weights 3:1 over 1000 random choices (binomial sd ~ 13.7)

{
    my %n;
    for (1 .. 1000) {
        my ($status, $h) = request($port, '/chat/completions', body('weighted'));
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
            my ($s, $h) = request($port, '/sticky/chat/completions',
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
        my ($s, $h) = request($port, '/chat/completions', body('sampled'));
        $shadowed++ if ($h->{'x-shadow'} // '') eq 'b';
    }

    cmp_ok($shadowed, '>=', 55, "shadowed share near 30% ($shadowed of 300)");
    cmp_ok($shadowed, '<=', 125, "shadowed share near 30% ($shadowed of 300)");
}

# 4. at most max=2 slow shadows in flight; the others are skipped

{
    my @pids;
    pipe(my $r, my $w) or die $!;

    for (1 .. 8) {
        my $pid = fork() // die $!;
        if ($pid == 0) {
            close $r;
            my ($s, $h) = request($port, '/chat/completions', body('bounded'));
            syswrite $w, ($h->{'x-shadow'} // '-') . " $s\n";
            exit 0;
        }
        push @pids, $pid;
    }

    close $w;
    my @res = <$r>;
    waitpid $_, 0 for @pids;

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

system("$nginx -p $root/ -c conf/nginx.conf -s quit 2>/dev/null");
sleep 0.3;

done_testing();


sub request {
    my ($port, $uri, $body, %headers) = @_;

    my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$port", Timeout => 5)
        or return ('connect-error', {});

    my $h = join '', map { "$_: $headers{$_}\r\n" } keys %headers;

    print $s "POST $uri HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
        . "Content-Type: application/json\r\n$h"
        . "Content-Length: " . length($body) . "\r\n\r\n$body";

    local $/;
    my $resp = <$s> // '';
    close $s;

    my ($head) = split /\r\n\r\n/, $resp, 2;
    my %hdr;
    for my $line (split /\r\n/, $head // '') {
        $hdr{lc $1} = $2 if $line =~ /^([^:]+):\s*(.*)$/;
    }

    return (($resp =~ m{^HTTP/1\.[01] (\d+)}) ? $1 : 'no-response', \%hdr);
}

sub slurp {
    open my $f, '<', shift or return '';
    local $/;
    return <$f>;
}

sub free_port {
    for (1 .. 50) {
        my $p = 20000 + int(rand(20000));
        my $s = IO::Socket::INET->new(LocalAddr => "127.0.0.1:$p",
                                      Listen => 1, ReuseAddr => 1);
        if ($s) { close $s; return $p; }
    }
    die "no free port";
}

sub wait_port {
    my $port = shift;
    for (1 .. 100) {
        my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$port");
        if ($s) { close $s; return 1; }
        sleep 0.05;
    }
    return 0;
}
