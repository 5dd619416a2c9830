# Shared zones across workers and reloads: concurrent admission against one
# small budget with two workers, budget state kept by "nginx -s reload",
# no failed request while reloading under load, a full zone evicting keys.
#
# These need several processes and signals, which the Test::Nginx data
# format does not express, so this file drives nginx itself (plain TAP).

use strict;
use warnings;
use Test::More;
use File::Temp qw(tempdir);
use IO::Socket::INET;
use POSIX qw(WNOHANG);
use Time::HiRes qw(sleep time);

my $nginx = $ENV{TEST_NGINX_BINARY} || 'nginx';
my @modules = split ' ', ($ENV{TEST_NGINX_LOAD_MODULES} || '');

if (!grep { /ngx_http_llm_module\.so$/ } @modules) {
    plan skip_all => 'TEST_NGINX_LOAD_MODULES does not name ngx_http_llm_module.so';
}

my $root = tempdir("llm-shm-XXXXXX", TMPDIR => 1, CLEANUP => !$ENV{TEST_NGINX_NO_CLEAN});
mkdir "$root/$_" for qw(logs conf html);

my $port = free_port();
my $load = join '', map { "load_module $_;\n" } @modules;

# workers of a root master would run as nobody, who cannot reach $root
my $user = $> == 0 ? 'user root;' : '';

open my $fh, '>', "$root/conf/nginx.conf" or die $!;
print $fh <<"_EOC_";
$load
$user
worker_processes 2;
master_process on;
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
            echo_sleep 1.5;
            echo '{"choices":[],"usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}}';
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
}
_EOC_
close $fh;

my $out = `$nginx -p $root/ -c conf/nginx.conf 2>&1`;
is($?, 0, 'nginx starts with two workers') or diag($out);
wait_port($port) or BAIL_OUT("nginx does not listen on $port");

my $body = '{"model":"gpt-4o-mini","max_tokens":100,"messages":[{"role":"user","content":"Hi"}]}';

# 1. many parallel requests against one small budget: at most what it covers

{
    my $n = 30;
    my @pids;

    pipe(my $r, my $w) or die $!;

    for (1 .. $n) {
        my $pid = fork() // die $!;
        if ($pid == 0) {
            close $r;
            my $status = request($port, '/slow/chat/completions', $body,
                                 'X-Key' => 'concurrent');
            syswrite $w, "$status\n";
            exit 0;
        }
        push @pids, $pid;
    }

    close $w;
    my @statuses = map { chomp; $_ } <$r>;
    waitpid $_, 0 for @pids;

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
    is(request($port, '/big/chat/completions', $body, 'X-Key' => 'reload'),
       200, 'a request that overruns the budget');
    is(request($port, '/ok/chat/completions', $body, 'X-Key' => 'reload'),
       429, 'the next one is refused');

    reload();

    is(request($port, '/ok/chat/completions', $body, 'X-Key' => 'reload'),
       429, 'still refused after a reload: the zone kept its state');
    is(request($port, '/ok/chat/completions', $body, 'X-Key' => 'other'),
       200, 'other keys are admitted after the reload');
}

# 3. reloads under load drop no request

{
    my $pid = fork() // die $!;

    if ($pid == 0) {
        my ($ok, $failed) = (0, 0);
        my $end = time + 3;

        while (time < $end) {
            my $s = request($port, '/ok/chat/completions', $body);
            $s eq '200' ? $ok++ : $failed++;
        }

        open my $o, '>', "$root/load.txt" or die $!;
        print $o "$ok $failed\n";
        close $o;
        exit 0;
    }

    for (1 .. 3) {
        sleep 0.6;
        reload();
    }

    waitpid $pid, 0;

    open my $i, '<', "$root/load.txt" or die $!;
    my ($ok, $failed) = split ' ', scalar <$i>;
    close $i;

    cmp_ok($ok, '>', 20, "requests went on during 3 reloads ($ok)");
    is($failed, 0, 'no request failed during the reloads');
}

# 4. a full zone evicts the least recently used keys, requests go on

{
    my $failed = 0;

    for my $i (1 .. 40) {
        my $s = request($port, '/tiny/chat/completions', $body,
                        'X-Key' => "key$i-" . ('x' x 3000));
        $failed++ if $s ne '200';
    }

    is($failed, 0, '40 keys of 3 KB in a 32 KB zone: every request admitted');
    like(slurp("$root/logs/error.log"),
         qr/llm_budget_zone "tiny" is full: evicted \d+ least recently used keys/,
         'the eviction is logged');
}

unlike(slurp("$root/logs/error.log"), qr/\[(alert|crit|emerg)\]/,
       'no alert in the error log');

# 5. a full zone whose every key holds a reservation (requests in flight):
#    a new key cannot be stored, its request goes on unlimited, with an
#    alert; once they end, their keys can be evicted again

{
    my $n = 12;
    my @pids;

    pipe(my $r, my $w) or die $!;

    for my $i (1 .. $n) {
        my $pid = fork() // die $!;
        if ($pid == 0) {
            close $r;
            my $status = request($port, '/held/chat/completions', $body,
                                 'X-Key' => "held$i-" . ('x' x 3000));
            syswrite $w, "$status\n";
            exit 0;
        }
        push @pids, $pid;
    }

    close $w;
    my @statuses = map { chomp; $_ } <$r>;
    waitpid $_, 0 for @pids;

    is(scalar(grep { $_ eq '200' } @statuses), $n,
       "$n requests in flight with keys of 3 KB in a 32 KB zone: all served");

    my $log = slurp("$root/logs/error.log");
    my $alerts = () = $log =~ /\[alert\] .*llm_budget_zone "held" is full and every key in it is in use: a new key is not limited/g;
    cmp_ok($alerts, '>=', 1, "keys that found no room are let through, with an alert ($alerts)");
    cmp_ok($alerts, '<', $n, 'the keys that found room were stored');
    unlike($log, qr/held\d+-xxx/, 'the keys (maybe credentials) are not logged');

    # now idle: the next new key evicts one of them

    is(request($port, '/held-ok/chat/completions', $body,
               'X-Key' => 'after-' . ('y' x 3000)),
       '200', 'a new key once they ended: admitted');
    like(slurp("$root/logs/error.log"),
         qr/llm_budget_zone "held" is full: evicted \d+ least recently used keys/,
         'and stored by evicting an idle key');
}

system("$nginx -p $root/ -c conf/nginx.conf -s quit 2>/dev/null");
sleep 0.3;

done_testing();


sub request {
    my ($port, $uri, $body, %headers) = @_;

    my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$port", Timeout => 5)
        or return 'connect-error';

    my $h = join '', map { "$_: $headers{$_}\r\n" } keys %headers;

    print $s "POST $uri HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
        . "Content-Type: application/json\r\n$h"
        . "Content-Length: " . length($body) . "\r\n\r\n$body";

    local $/;
    my $resp = <$s> // '';
    close $s;

    return $resp =~ m{^HTTP/1\.[01] (\d+)} ? $1 : 'no-response';
}

sub reload {
    my $old = workers();
    system("$nginx -p $root/ -c conf/nginx.conf -s reload 2>/dev/null");

    # the new workers serve once the old ones are gone
    for (1 .. 100) {
        sleep 0.05;
        my %now = map { $_ => 1 } @{ workers() };
        last unless grep { $now{$_} } @$old;
    }
}

sub workers {
    my $master = slurp("$root/logs/nginx.pid");
    chomp $master;
    my @w = map { /(\d+)/ ? $1 : () } grep { /^\s*\d+\s+$master\s/ }
            `ps -e -o pid=,ppid=`;
    return \@w;
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
