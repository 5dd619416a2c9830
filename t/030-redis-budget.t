# Budgets shared by a fleet through Redis (llm_redis, redis= on
# llm_budget_zone): three nginx (separate prefixes) of two workers each on
# one redis-server of the test's own.  The tokens admitted on one key under
# a saturating load, sequential and parallel, stay within 1.05 x the
# budget, at several lease sizes (the figures and Redis's operations per
# request are printed); Redis stopped under load: no 5xx, no hang, each
# nginx limited to its share (fail=open) or refusing (fail=closed), the
# outage logged once; Redis back: the fleet converges; a reload keeps the
# shares; AUTH, a unix socket, a wrong password.
#
# Several nginx and a redis-server: plain TAP (t/lib/LLMTest/Plain.pm).

use strict;
use warnings;
use Test::More;
use FindBin;
use lib "$FindBin::Bin/lib";
use LLMTest::Plain;
use LLMTest::Features;
llm_require("budget", "status");
use LLMTest::Redis;
use Time::HiRes qw(time sleep);

my @ng = map { LLMTest::Plain->new("llm-redis-budget$_") } 1 .. 3;

my $redis = LLMTest::Redis->start($ng[0]->root . '/redis');
my $rport = $redis->port;

# a second one: AUTH and a unix socket, TLS on a port
my $secure = LLMTest::Redis->start($ng[0]->root . '/secure', unix => 1,
                                   password => 's3cret', tls => 1);
my $rsock = $secure->socket;
my $tport = $secure->tls_port // 1;
my $cert = $secure->cert // '';

# a certificate nobody signed the server's with
system("openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=other"
       . " -keyout $ng[0]{root}/other.key -out $ng[0]{root}/other.pem >/dev/null 2>&1");

# an ACL user on it
$secure->cmd('ACL', 'SETUSER', 'gateway', 'on', '>gw-pass', '~llm:*', '+@all');

# 20000 tokens a day: the refill (0.23 token/s) is nothing next to a test
my $budget = 20000;
my @leases = (500, 2000, 5000);

for my $i (0 .. 2) {
    my $ng = $ng[$i];
    my $root = $ng->root;
    my $port = $ng->port;

    my $zones = join '', map {
        "    llm_budget_zone \$http_x_key zone=l$_:1m tokens=$budget/d redis=main lease=$_;\n"
    } @leases;

    my $locations = join '', map {
        "        location /l$_/ { llm_gateway openai; llm_budget l$_; proxy_pass http://mock/ok/; }\n"
    } @leases;

    $ng->write_conf(workers => 2, http => <<"_EOC_");
    llm_model gpt-4o-mini upstream=mock;

    llm_redis main 127.0.0.1:$rport timeout=${\ (300 * slow())}ms;
    llm_redis secure unix:$rsock password=s3cret;
    llm_redis wrong unix:$rsock password=wrong;
    llm_redis acl unix:$rsock user=gateway password=gw-pass db=0;
    llm_redis tls 127.0.0.1:$tport password=s3cret tls;
    llm_redis tlsca 127.0.0.1:$tport password=s3cret tls tls_ca=$cert;
    llm_redis tlsbad 127.0.0.1:$tport password=s3cret tls tls_ca=$ng[0]{root}/other.pem;

$zones
    llm_budget_zone \$http_x_key zone=open:1m tokens=$budget/d redis=main lease=1000;
    llm_budget_zone \$http_x_key zone=closed:1m tokens=$budget/d redis=main lease=1000 fail=closed;
    llm_budget_zone \$http_x_key zone=secure:1m tokens=1000/d redis=secure lease=100;
    llm_budget_zone \$http_x_key zone=wrong:1m tokens=1000/d redis=wrong lease=100;
    llm_budget_zone \$http_x_key zone=acl:1m tokens=1000/d redis=acl lease=100;
    llm_budget_zone \$http_x_key zone=tls:1m tokens=1000/d redis=tls lease=100;
    llm_budget_zone \$http_x_key zone=tlsca:1m tokens=1000/d redis=tlsca lease=100;
    llm_budget_zone \$http_x_key zone=tlsbad:1m tokens=1000/d redis=tlsbad lease=100;

    upstream mock {
        server unix:$root/html/mock.sock;
    }

    server {
        listen unix:$root/html/mock.sock;
        default_type application/json;

        # 100 tokens an answer, as reserved (prompt estimate + max_tokens)
        location /ok/ {
            echo_read_request_body;
            echo '{"choices":[],"usage":{"prompt_tokens":10,"completion_tokens":90,"total_tokens":100}}';
        }
    }

    server {
        listen 127.0.0.1:$port;

$locations
        location /open/ { llm_gateway openai; llm_budget open; proxy_pass http://mock/ok/; }
        location /closed/ { llm_gateway openai; llm_budget closed; proxy_pass http://mock/ok/; }
        location /secure/ { llm_gateway openai; llm_budget secure; proxy_pass http://mock/ok/; }
        location /wrong/ { llm_gateway openai; llm_budget wrong; proxy_pass http://mock/ok/; }
        location /acl/ { llm_gateway openai; llm_budget acl; proxy_pass http://mock/ok/; }
        location /tls/ { llm_gateway openai; llm_budget tls; proxy_pass http://mock/ok/; }
        location /tlsca/ { llm_gateway openai; llm_budget tlsca; proxy_pass http://mock/ok/; }
        location /tlsbad/ { llm_gateway openai; llm_budget tlsbad; proxy_pass http://mock/ok/; }
        location /status { llm_status; }
    }
_EOC_

    $ng->start("nginx " . ($i + 1) . " of 3 starts with two workers");
}

my $body = '{"model":"gpt-4o-mini","max_tokens":90,"messages":[{"role":"user","content":"Hi"}]}';

sub status {
    my ($i, $uri, $key) = @_;
    return $ng[$i]->post("$uri/chat/completions", $body, 'X-Key' => $key)->{status};
}

# the tokens an admitted request uses (the mock's usage)
my $used = 100;

# 1. sequential: requests go round the three nginx until each refuses

my %seq;

for my $lease (@leases) {
    my $before = $redis->calls('eval');
    my ($admitted, $sent, $other, $refused_in_row) = (0, 0, 0, 0);

    while ($sent < 2 * $budget / $used && $refused_in_row < 9) {
        my $s = status($sent % 3, "/l$lease", 'seq');
        $sent++;

        if ($s eq '200') { $admitted++; $refused_in_row = 0; }
        elsif ($s eq '429') { $refused_in_row++; }
        else { $other++; }
    }

    my $ops = ($redis->calls('eval') - $before) / $sent;
    my $ratio = $admitted * $used / $budget;

    $seq{$lease} = [$ratio, $ops];

    is($other, 0, "sequential, lease=$lease: every answer a 200 or a 429");
    cmp_ok($ratio, '<=', 1.05,
           sprintf("sequential, lease=%d: %.3f x the budget admitted (<= 1.05)",
                   $lease, $ratio));
    cmp_ok($ratio, '>=', 0.9,
           sprintf("sequential, lease=%d: the budget is used (%.3f)", $lease, $ratio));
}

# 2. parallel: 12 clients, 4 on each nginx, until each is refused 5 times
#    in a row (the key of each lease size is a new one)

my %par;

for my $lease (@leases) {
    my $before = $redis->calls('eval');

    my @out = in_parallel(12, sub {
        my ($c) = @_;
        my ($admitted, $sent, $other, $row) = (0, 0, 0, 0);

        while ($sent < 100 && $row < 5) {
            my $s = status($c % 3, "/l$lease", 'par');
            $sent++;
            if ($s eq '200') { $admitted++; $row = 0; }
            elsif ($s eq '429') { $row++; }
            else { $other++; }
        }

        return "$admitted $sent $other";
    });

    my ($admitted, $sent, $other) = (0, 0, 0);
    for (@out) {
        my @f = split ' ';
        $admitted += $f[0]; $sent += $f[1]; $other += $f[2];
    }

    my $ops = ($redis->calls('eval') - $before) / ($sent || 1);
    my $ratio = $admitted * $used / $budget;

    $par{$lease} = [$ratio, $ops];

    is(scalar @out, 12, "parallel, lease=$lease: 12 clients ended");
    is($other, 0, "parallel, lease=$lease: every answer a 200 or a 429");
    cmp_ok($ratio, '<=', 1.05,
           sprintf("parallel, lease=%d: %.3f x the budget admitted (<= 1.05)",
                   $lease, $ratio));
    cmp_ok($ratio, '>=', 0.8,
           sprintf("parallel, lease=%d: the budget is used (%.3f)", $lease, $ratio));
}

for my $lease (@leases) {
    diag(sprintf("lease=%-5d sequential: %.3f x budget, %.3f Redis ops/request; "
                 . "parallel: %.3f x budget, %.3f Redis ops/request",
                 $lease, @{ $seq{$lease} }, @{ $par{$lease} }));
}

# 3. steady state: a key far from its limit costs <= 0.1 Redis ops/request

{
    my $before = $redis->calls('eval');
    my $n = 90;
    my $ok = 0;

    for my $k (0 .. $n - 1) {
        $ok++ if status($k % 3, '/l5000', 'steady') eq '200';
    }

    my $ops = ($redis->calls('eval') - $before) / $n;

    is($ok, $n, "steady state: $n requests admitted");
    cmp_ok($ops, '<=', 0.1, sprintf("steady state: %.3f Redis ops/request (<= 0.1)", $ops));
}

# 4. a reload keeps this nginx's shares: no lease for the next request

{
    is(status(0, '/open', 'reload'), 200, 'a share is leased');
    my $before = $redis->calls('eval');

    $ng[0]->reload;

    is(status(0, '/open', 'reload'), 200, 'admitted after the reload');
    is($redis->calls('eval') - $before, 0, 'from the share kept: Redis was not asked');
}

# 5. AUTH on a unix socket; a wrong password is said in the log, and the
#    requests go on without Redis (fail=open, an empty share: refused)

{
    is(status(0, '/secure', 'auth'), 200, 'AUTH and a unix socket: admitted');
    cmp_ok($secure->cmd('EXISTS', 'llm:budget:{secure}:nginx'), '==', 1,
           'the lease was taken from the Redis that needs a password');

    is(status(0, '/acl', 'acl'), 200, 'an ACL user (AUTH user password): admitted');
    cmp_ok($secure->cmd('EXISTS', 'llm:budget:{acl}:nginx'), '==', 1,
           'the lease was taken as that user');

    my $s = status(0, '/wrong', 'auth');
    is($s, 429, 'a wrong password: refused (no share), not an error');
    like(slurp($ng[0]->root . '/logs/error.log'),
         qr/llm_redis "wrong" \(unix:\S+\): AUTH refused: WRONGPASS/,
         'the wrong password is said in the error log');
}

# 5b. TLS: encrypted, verified against a CA when told; an untrusted
#     certificate is said in the log, requests go on without Redis

SKIP: {
    skip 'no openssl to make a certificate', 6 unless $secure->cert;

    is(status(0, '/tls', 'tls'), 200, 'tls: admitted from a lease taken over TLS');
    cmp_ok($secure->cmd('EXISTS', 'llm:budget:{tls}:nginx'), '==', 1,
           'tls: the lease is in Redis');
    is(status(1, '/tlsca', 'tls'), 200, 'tls tls_ca=: the certificate verified, admitted');
    cmp_ok($secure->cmd('EXISTS', 'llm:budget:{tlsca}:nginx'), '==', 1,
           'tls tls_ca=: the lease is in Redis');
    is(status(2, '/tlsbad', 'tls'), 429, 'an untrusted certificate: no lease, refused (no error)');
    like(slurp($ng[2]->root . '/logs/error.log'),
         qr/llm_redis "tlsbad" \(127\.0\.0\.1:\d+\): its certificate is not trusted/,
         'the untrusted certificate is said in the error log');
}

# 6. Redis stopped under load: no 5xx, no hang; fail=open: each nginx
#    admits from its share only; fail=closed: refused with a 503

{
    # shares on every nginx for both zones
    for my $i (0 .. 2) {
        status($i, '/open', 'outage');
        status($i, '/closed', 'outage');
    }

    $redis->stop;

    my ($admitted, $refused, $other, $slowest) = (0, 0, 0, 0);
    my %closed;

    for my $k (0 .. 59) {
        my $t0 = time;
        my $s = status($k % 3, '/open', 'outage');
        my $t = time - $t0;
        $slowest = $t if $t > $slowest;

        if ($s eq '200') { $admitted++ } elsif ($s eq '429') { $refused++ } else { $other++ }

        $closed{ status($k % 3, '/closed', 'outage') }++;
    }

    is($other, 0, 'Redis down, fail=open: no answer but 200 or 429');
    cmp_ok($slowest, '<', 1.5 * slow(), sprintf('no request waited (slowest %.2fs)', $slowest));
    cmp_ok($admitted, '>=', 3, "admitted from the shares ($admitted)");
    cmp_ok($admitted * $used, '<=', 3 * 2 * 1000 + 3 * 100,
           'no more than the shares held (3 nginx, at most 2 leases each)');
    ok(!grep({ $_ ne '200' && $_ ne '503' } keys %closed),
       'fail=closed: 200 from the share, then 503 ' . join(',', %closed));
    ok($closed{503}, 'fail=closed refuses once the share is used');

    my $log = slurp($ng[0]->root . '/logs/error.log');
    my $n = () = $log =~ /llm_redis "main" \(127\.0\.0\.1:\d+\): [^\n]*requests go on without it/g;
    cmp_ok($n, '>=', 1, 'the outage is logged');
    cmp_ok($n, '<=', 2, "once per interval, not per request ($n)");

    # Redis is back (empty, as after a restart without persistence)

    $redis->restart;
    sleep 1.2 * slow();

    my $back = 0;
    for my $k (0 .. 5) {
        $back++ if status($k % 3, '/open', 'after') eq '200';
    }

    is($back, 6, 'Redis back: the fleet admits again, no operator action');

    like(slurp($ng[0]->root . '/logs/error.log') . slurp($ng[1]->root . '/logs/error.log')
         . slurp($ng[2]->root . '/logs/error.log'),
         qr/llm_redis "main" \(127\.0\.0\.1:\d+\) answers again after \d+ms/,
         'the end of the outage is logged');
}

# 6b. Redis stopped and restarted while 6 clients send requests to the
#     three nginx: no 5xx, no request waits longer than the timeout

{
    my @load = map {
        my $c = $_;
        in_background(sub {
            my ($n, $bad, $slowest) = (0, 0, 0);
            my $end = time + 3 * slow();
            while (time < $end) {
                my $t0 = time;
                my $s = status($c % 3, '/open', "load$c");
                my $t = time - $t0;
                $slowest = $t if $t > $slowest;
                $n++;
                $bad++ if $s ne '200' && $s ne '429';
            }
            return "$n $bad $slowest";
        });
    } 1 .. 6;

    sleep 0.8 * slow();
    $redis->stop;
    sleep 1 * slow();
    $redis->restart;

    my ($n, $bad, $slowest) = (0, 0, 0);
    for my $w (@load) {
        my @f = split ' ', ($w->() // '0 1 99');
        $n += $f[0]; $bad += $f[1]; $slowest = $f[2] if $f[2] > $slowest;
    }

    cmp_ok($n, '>', 30, "requests went on while Redis stopped and came back ($n)");
    is($bad, 0, 'none answered but 200 or 429 (no 5xx)');
    cmp_ok($slowest, '<', 1.5 * slow(), sprintf('no request hung (slowest %.2fs)', $slowest));
}

# 7. llm_status: the Redis counters (calls by result, latency, leases,
#    outages and their time)

{
    my $json = $ng[0]->get('/status?format=json')->{body} // '';

    like($json, qr/"redis":\{"main":\{"up":true,"calls":\{"ok":[1-9]\d*,"error":\d+,"failed":[1-9]\d*,"timeout":\d+,"skipped":\d+\},"latency_ms":\{"sum":\d+,"max":\d+\},"connects":[1-9]\d*,"outages":[1-9]\d*,"outage_ms":[1-9]\d*,"leases":\{"taken":[1-9]\d*,"short":[1-9]\d*,"returned":\d+\}/,
         'JSON: calls by result, latency, connects, the outage and its time, leases');
    like($json, qr/"wrong":\{"up":false,/, 'JSON: the Redis with a wrong password is not up');

    my $prom = $ng[0]->get('/status')->{body} // '';

    like($prom, qr/^llm_redis_up\{redis="main"\} 1$/m, 'Prometheus: llm_redis_up');
    like($prom, qr/^llm_redis_calls_total\{redis="main",result="ok"\} [1-9]\d*$/m,
         'Prometheus: llm_redis_calls_total by result');
    like($prom, qr/^llm_redis_outage_ms_total\{redis="main"\} [1-9]\d*$/m,
         'Prometheus: the outage time');
}

for my $ng (@ng) {
    unlike(slurp($ng->root . '/logs/error.log'), qr/\[(alert|crit|emerg)\]|segfault|exited on signal/,
           'no alert or crash in the error log');
}

$_->stop for @ng;
$_->check_valgrind for @ng;

done_testing();
