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
use File::Temp qw(tempdir);
use IO::Socket::INET;
use Time::HiRes qw(sleep time);

my $nginx = $ENV{TEST_NGINX_BINARY} || 'nginx';
my @modules = split ' ', ($ENV{TEST_NGINX_LOAD_MODULES} || '');

if (!grep { /ngx_http_llm_module\.so$/ } @modules) {
    plan skip_all => 'TEST_NGINX_LOAD_MODULES does not name ngx_http_llm_module.so';
}

my $root = tempdir("llm-cache-XXXXXX", TMPDIR => 1,
                   CLEANUP => !$ENV{TEST_NGINX_NO_CLEAN});
mkdir "$root/$_" for qw(logs conf html);

my $port = free_port();
my $load = join '', map { "load_module $_;\n" } @modules;
my $user = $> == 0 ? 'user root;' : '';
my $big = 'lorem ipsum ' x 250;

sub write_conf {
    my $ttl = shift;

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
}
_EOC_
    close $fh;
}

write_conf('1h');

my $out = `$nginx -p $root/ -c conf/nginx.conf 2>&1`;
is($?, 0, 'nginx starts with two workers') or diag($out);
wait_port($port) or BAIL_OUT("nginx does not listen on $port");

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
    my @pids;

    pipe(my $r, my $w) or die $!;

    for (1 .. $n) {
        my $pid = fork() // die $!;
        if ($pid == 0) {
            close $r;
            my ($s, $c) = request('/slow/chat/completions', body('together'));
            syswrite $w, "$s $c\n";
            exit 0;
        }
        push @pids, $pid;
    }

    close $w;
    my @res = map { chomp; $_ } <$r>;
    waitpid $_, 0 for @pids;

    is(scalar(grep { /^200 (MISS|HIT)$/ } @res), $n,
       "$n concurrent requests of one key all answered");

    my ($s, $c) = request('/slow/chat/completions', body('together'));
    is("$s $c", '200 HIT', 'the key is stored once they are done');
}

# 3. "nginx -s reload" keeps the entries, also with a new ttl

{
    my ($s, $c) = request('/ok/chat/completions', body('reload'));
    is("$s $c", '200 MISS', 'stored before the reload');

    reload();

    ($s, $c) = request('/ok/chat/completions', body('reload'));
    is("$s $c", '200 HIT', 'a hit after the reload');

    write_conf('2h');
    reload();

    ($s, $c) = request('/ok/chat/completions', body('reload'));
    is("$s $c", '200 HIT', 'a hit after a reload that changed the ttl');
}

# 4. hits go on during reloads under load

{
    my $pid = fork() // die $!;

    if ($pid == 0) {
        my ($ok, $failed) = (0, 0);
        my $end = time + 2.5;

        while (time < $end) {
            my ($s, $c) = request('/ok/chat/completions', body('shared'));
            ($s eq '200' && $c eq 'HIT') ? $ok++ : $failed++;
        }

        open my $o, '>', "$root/load.txt" or die $!;
        print $o "$ok $failed\n";
        close $o;
        exit 0;
    }

    for (1 .. 3) {
        sleep 0.5;
        reload();
    }

    waitpid $pid, 0;

    open my $i, '<', "$root/load.txt" or die $!;
    my ($ok, $failed) = split ' ', scalar <$i>;
    close $i;

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

system("$nginx -p $root/ -c conf/nginx.conf -s quit 2>/dev/null");
sleep 0.3;

done_testing();


# (status, X-LLM-Cache, response)
sub request {
    my ($uri, $body, %headers) = @_;

    my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$port", Timeout => 5)
        or return ('connect-error', '', '');

    $headers{Authorization} //= 'Bearer tenant';

    my $h = join '', map { "$_: $headers{$_}\r\n" } keys %headers;

    print $s "POST $uri HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
        . "Content-Type: application/json\r\n$h"
        . "Content-Length: " . length($body) . "\r\n\r\n$body";

    local $/;
    my $resp = <$s> // '';
    close $s;

    my $status = $resp =~ m{^HTTP/1\.[01] (\d+)} ? $1 : 'no-response';
    my $cache = $resp =~ m{\r\nX-LLM-Cache: (\w+)\r\n}i ? $1 : '';

    return ($status, $cache, $resp);
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
