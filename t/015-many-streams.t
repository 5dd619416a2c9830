# Many concurrent streams with faults among them (issue #8).  A fault test,
# not a benchmark: no assertion is about time; the mock's delays only put
# the events and the faults in order.
#
# A two-worker nginx holds TEST_LLM_STREAMS (1000) streaming chat
# completions open at once through "llm_gateway openai"; the mock upstream
# (the echo module, in the same nginx) sends an event every 0.4 s.  Mixed
# with the normal streams: clients that leave in the middle of a stream
# (during a pause, or while events keep coming), before any content, or
# before the answer's header; a slow reader of large events; upstreams that
# close a chunked answer early, reset the connection (a Perl server that
# sends a TCP RST), stall past proxy_read_timeout, or end without [DONE].
#
# Checked: every stream got its own events, in order; the normal ones all
# of them and [DONE]; every failed upstream gave the module's error event
# and a clean end of the chunked answer; the llm_status counters of each
# model equal what was sent (each fault against one stream of its kind sent
# alone first); a budget zone was charged what the counters say; no worker
# crashed or was replaced and nothing alerted, up to nginx's exit; the
# connections, and the workers' descriptors, went back to where they were.
#
# TEST_LLM_STREAMS sets the number of streams.  When the open-file limit
# cannot cover them, fewer are run and a diag says so.
# TEST_NGINX_USE_VALGRIND=1 runs nginx under valgrind (100 streams, the
# mock 4 times slower); a memory error or a definite leak fails the test.
#
# Plain TAP: several processes and sockets at once, which the Test::Nginx
# data format does not express (like t/010-shm.t).

use strict;
use warnings;
use Test::More;
use IO::Socket::INET;
use IO::Poll qw(POLLIN POLLOUT);
use Socket qw(SOL_SOCKET SO_ERROR SO_LINGER SO_RCVBUF);
use Errno qw(EAGAIN EINPROGRESS EINTR EWOULDBLOCK);
use Fcntl qw(F_GETFL F_SETFL O_NONBLOCK);
use JSON::PP;
use POSIX qw(WNOHANG ceil);
use Time::HiRes qw(sleep time);
use FindBin;
use lib "$FindBin::Bin/lib";
use LLMTest::Plain;
use LLMTest::Features;
llm_require("budget", "status");

my $valgrind = valgrind();

# the mock's pace: every delay of the mock and every timeout is multiplied
my $slow = slow();

my $ng = LLMTest::Plain->new('llm-streams', timeout => 10 * $slow);

my $wanted = $ENV{TEST_LLM_STREAMS} || ($valgrind ? 100 : 1000);

# --- open-file limits ------------------------------------------------------

# per stream, in the worst case all in one worker: the client connection,
# the upstream connection and the mock's side of it (a cut stream adds two
# for the mock's own proxy)
my $per_stream = 3.2;
my ($soft, $hard) = map { my $v = `sh -c 'ulimit -${_}n' 2>/dev/null`;
                          chomp $v; $v =~ /^\d+$/ ? $v : 1e9 } qw(S H);
my $nr_open = slurp('/proc/sys/fs/nr_open') =~ /(\d+)/ ? $1 : 1048576;

# a root master may raise the workers' limit past the hard limit
my $fd_cap = $> == 0 ? $nr_open : $hard;
my $nofile = int($wanted * $per_stream) + 256;
my $streams = $wanted;

if ($nofile > $fd_cap) {
    $streams = int(($fd_cap - 256) / $per_stream);
    $nofile = $fd_cap;
    diag("the open-file limit ($fd_cap, ulimit -Hn) covers $streams streams, "
         . "not $wanted: running $streams (raise ulimit -Hn for more)");
}

if ($streams < 40) {
    plan skip_all => "the open-file limit ($fd_cap) is too low for 40 streams";
}

my $somaxconn = slurp('/proc/sys/net/core/somaxconn') =~ /(\d+)/ ? $1 : 4096;
if ($somaxconn < $streams) {
    diag("net.core.somaxconn is $somaxconn: the listen queues are shorter "
         . "than $streams, some connections may wait for a SYN retry");
}

# --- the streams -----------------------------------------------------------

my $E0 = 'data: {"id":"s%d","choices":[{"index":0,"delta":{"role":"assistant","content":""}}]}' . "\n\n";
my $C  = 'data: {"id":"s%d","choices":[{"index":0,"delta":{"content":" w%d"}}]}' . "\n\n";
my $F  = 'data: {"id":"s%d","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}' . "\n\n";
my $U  = 'data: {"id":"s%d","choices":[],"usage":{"prompt_tokens":11,"completion_tokens":8,"total_tokens":19}}' . "\n\n";
my $D  = "data: [DONE]\n\n";
my $ERR = 'data: {"error":{"message":"The upstream\'s stream ended before the answer was complete.","type":"server_error","param":null,"code":"stream_interrupted"}}' . "\n\n" . $D;

my $NC = 8;     # content events of a whole answer
my $NF = 3;     # content events before a fault
my $NFLOW = 40; # content events of abortflow, the last 37 close together
my $NBIG = 4;   # events of 90 KB in a big answer: the hold buffer grows,
my $BIG = 30000;    # an event spans many reads, the client reads slowly
my $NBIGS = 2;  # events of 30 KB before a stall: the mock's socket takes
my $BIGS = 10000;   # them all before it sleeps, the client does not yet

# kind => [model, share, what the client expects]
#   full:   the whole body, then the end of the chunked answer and EOF
#   abort:  this much of the body, then the client closes
#   head:   no byte of the answer; the client closes after a while
my %kinds = (
    normal    => ['m-normal', 10, 'full'],    # the client leaves usage out
    usage     => ['m-normal',  2, 'full'],    # include_usage: keeps the chunk
    abort     => ['m-abort',   2, 'abort'],   # after three content events
    abort0    => ['m-abort0',  1, 'abort'],   # after the first event, no content
    abortflow => ['m-abortflow', 1, 'abort'], # while events keep coming
    aborthead => ['m-aborthead', 1, 'head'],  # before the answer's header
    cut       => ['m-cut',     1, 'full'],    # chunked answer closed early
    reset     => ['m-reset',   1, 'full'],    # TCP RST
    short     => ['m-short',   1, 'full'],    # ends without [DONE]
    stall     => ['m-stall',   1, 'full'],    # proxy_read_timeout
    stallmid  => ['m-stallmid', 1, 'full'],   # the same, in the middle of a line
    stallline => ['m-stallline', 1, 'full'],  # after a line, before the blank line
    big       => ['m-big',     1, 'full'],    # large events, a slow reader
    bigstall  => ['m-bigstall', 1, 'full'],   # a slow reader, the upstream stalls
);

# readers that stop reading for a while after the first bytes
my %pause = (big => 1, bigstall => 3);
my @kind_names = sort keys %kinds;
my %models = map { $kinds{$_}[0] => 1 } @kind_names;

sub expected {
    my ($kind, $id) = @_;
    my $e0 = sprintf $E0, $id;
    my $c = join '', map { sprintf $C, $id, $_ } 1 .. $NC;
    my $c3 = join '', map { sprintf $C, $id, $_ } 1 .. $NF;
    my $f = sprintf $F, $id;

    return $e0 . $c . $f . $D if $kind eq 'normal';
    return $e0 . $c . $f . sprintf($U, $id) . $D if $kind eq 'usage';
    return $e0 . $c3 if $kind eq 'abort';
    return $e0 if $kind eq 'abort0';
    return '' if $kind eq 'aborthead';
    return $e0 . $c3 . $f . $ERR if $kind eq 'short';
    if ($kind eq 'abortflow') {
        # what may come before nginx sees the client leave
        return $e0 . join('', map { sprintf $C, $id, $_ } 1 .. $NFLOW) . $f . $D;
    }
    if ($kind eq 'big' || $kind eq 'bigstall') {
        my ($n, $size) = $kind eq 'big' ? ($NBIG, $BIG) : ($NBIGS, $BIGS);
        my $big = join '', map {
            qq(data: {"id":"s$id","choices":[{"index":0,"delta":{"content":")
            . (" w$_" x $size) . qq("}}]}\n\n) } 1 .. $n;
        return $kind eq 'big' ? $e0 . $big . $f . $D : $e0 . $big . $ERR;
    }
    # the event cut in the middle of its line is not passed on; the one
    # that lacks only its blank line gets it
    return $e0 . $c3 . $ERR if $kind eq 'stallmid';
    return $e0 . $c3 . sprintf($C, $id, $NF + 1) . $ERR if $kind eq 'stallline';
    return $e0 . $c3 . $ERR;    # cut, reset, stall
}

sub request_body {
    my $kind = shift;
    my $opts = $kind eq 'usage' ? '"stream_options":{"include_usage":true},' : '';
    return qq({"model":"$kinds{$kind}[0]","stream":true,$opts"max_tokens":100,)
         . qq("messages":[{"role":"user","content":"Say hello, slowly."}]});
}

sub path_of {
    my $kind = shift;
    return $kind eq 'usage' ? 'normal' : $kind;
}

# --- nginx -----------------------------------------------------------------

my $root = $ng->root;
my $port = $ng->port;
my $rst_port = free_port();

# valgrind keeps the open-file limit for itself: nginx may not change it
my $rlimit = $valgrind ? '' : "worker_rlimit_nofile $nofile;";

my $t = sub { my $ms = int(shift() * $slow * 1000); "${ms}ms" };
# echo_sleep takes seconds
my ($tick, $pause, $stall, $head, $flow) = map { $_ * $slow } 0.4, 0.2, 4, 3, 0.01;
# well below the stall, well above any wait the load may cause
my ($read_timeout, $cut_timeout) = map { $t->($_) } 2, 2;
my $rst_after = 1 * $slow;

my $events = sub {
    my ($from, $to, $gap) = @_;
    join '', map { "            echo_sleep $gap;\n"
                   . "            echo -n '" . esc(sprintf $C, 0, $_) . "';\n"
                   . "            echo_flush;\n" } $from .. $to;
};
my $bigs = sub {
    my ($gap, $n, $size) = @_;
    join '', map { ($gap ? "            echo_sleep $gap;\n" : '')
        . "            echo -n '" . esc(qq(data: {"id":"s0","choices":[{"index":0,"delta":{"content":")) . "';\n"
        . "            echo_duplicate $size ' w$_';\n"
        . "            echo -n '" . esc(qq("}}]}\n\n)) . "';\n"
        . "            echo_flush;\n" } 1 .. $n;
};
my $e0 = "            echo -n '" . esc(sprintf $E0, 0) . "';\n            echo_flush;\n";
my $fin = "            echo -n '" . esc(sprintf($F, 0) . sprintf($U, 0) . $D) . "';\n";
my $finf = "            echo -n '" . esc(sprintf $F, 0) . "';\n";

my $prices = 'input=1.00 output=2.00';
my $catalogue = join '', map {
    my $up = $_ eq 'm-reset' ? 'rst' : 'mock';
    "    llm_model $_ upstream=$up $prices;\n"
} sort(keys %models), 'm-probe';

$ng->write_conf(workers => 2, connections => $nofile, main => $rlimit,
                http => <<"_EOC_");
    log_format llm '\$arg_id \$status \$llm_model \$llm_prompt_tokens '
                   '\$llm_completion_tokens \$llm_tokens_source '
                   '\$llm_budget_remaining \$upstream_status';

$catalogue
    # about 11.6 tokens a second: the refill between two probes is known
    llm_budget_zone \$budget_key zone=load:1m tokens=1000000/d;

    map \$request_method \$budget_key {
        default all;
    }

    upstream mock {
        server unix:$root/html/mock.sock;
    }

    upstream rst {
        server 127.0.0.1:$rst_port;
    }

    # the mock upstream: \$arg_id makes every stream's events its own
    server {
        listen unix:$root/html/mock.sock backlog=4096;
        default_type text/event-stream;
        keepalive_timeout 0;

        location /normal/ {
            echo_read_request_body;
$e0@{[ $events->(1, $NC, $tick) ]}$fin        }

        location /abort/ {
            echo_read_request_body;
$e0@{[ $events->(1, $NF, $pause) ]}            echo_sleep $stall;
@{[ $events->($NF + 1, $NC, $pause) ]}$fin        }

        location /abort0/ {
            echo_read_request_body;
$e0            echo_sleep $stall;
@{[ $events->(1, $NC, $pause) ]}$fin        }

        location /aborthead/ {
            echo_read_request_body;
            echo_sleep $head;
$e0@{[ $events->(1, $NC, $pause) ]}$fin        }

        # the mock's own proxy times out and closes the chunked answer
        location /cut/ {
            proxy_pass http://unix:$root/html/mock.sock:/cutsrc/;
            proxy_http_version 1.1;
            proxy_buffering off;
            proxy_read_timeout $cut_timeout;
        }

        location /cutsrc/ {
            echo_read_request_body;
$e0@{[ $events->(1, $NF, $pause) ]}            echo_sleep $stall;
@{[ $events->($NF + 1, $NC, $pause) ]}$fin        }

        location /abortflow/ {
            echo_read_request_body;
$e0@{[ $events->(1, $NF, $pause) ]}@{[ $events->($NF + 1, $NFLOW, $flow) ]}$fin        }

        location /big/ {
            echo_read_request_body;
$e0@{[ $bigs->($pause, $NBIG, $BIG) ]}$fin        }

        # all at once, then nothing: the gateway times out while the
        # client still has most of it to read
        location /bigstall/ {
            echo_read_request_body;
$e0@{[ $bigs->(0, $NBIGS, $BIGS) ]}            echo_sleep $stall;
$fin        }

        location /stallmid/ {
            echo_read_request_body;
$e0@{[ $events->(1, $NF, $pause) ]}            echo -n '@{[ esc(substr(sprintf($C, 0, $NF + 1), 0, -12)) ]}';
            echo_flush;
            echo_sleep $stall;
            echo -n '@{[ esc(substr(sprintf($C, 0, $NF + 1), -12)) ]}';
$fin        }

        location /stallline/ {
            echo_read_request_body;
$e0@{[ $events->(1, $NF, $pause) ]}            echo -n '@{[ esc(substr(sprintf($C, 0, $NF + 1), 0, -1)) ]}';
            echo_flush;
            echo_sleep $stall;
            echo -n '\\n';
$fin        }

        location /short/ {
            echo_read_request_body;
$e0@{[ $events->(1, $NF, $pause) ]}$finf        }

        location /stall/ {
            echo_read_request_body;
$e0@{[ $events->(1, $NF, $pause) ]}            echo_sleep $stall;
@{[ $events->($NF + 1, $NC, $pause) ]}$fin        }

        location /json-big/ {
            default_type application/json;
            echo_read_request_body;
            echo '{"choices":[{"index":0,"message":{"role":"assistant","content":"ok"}}],"usage":{"prompt_tokens":500000,"completion_tokens":0,"total_tokens":500000}}';
        }

        location /json/ {
            default_type application/json;
            echo_read_request_body;
            echo '{"choices":[{"index":0,"message":{"role":"assistant","content":"ok"}}],"usage":{"prompt_tokens":5,"completion_tokens":5,"total_tokens":10}}';
        }
    }

    server {
        # small socket buffers: a slow reader holds nginx back sooner
        listen 127.0.0.1:$port reuseport backlog=4096 sndbuf=16k;
        access_log logs/access.log llm;

        location / {
            llm_gateway openai;
            llm_budget load;
            proxy_pass http://mock;
            proxy_http_version 1.1;
        }

        # /stall/, /stallmid/, /stallline/ (no regex: valgrind would see
        # nginx's own PCRE2 context of it as lost)
        location /stall {
            llm_gateway openai;
            llm_budget load;
            proxy_pass http://mock;
            proxy_http_version 1.1;
            proxy_read_timeout $read_timeout;
        }

        # its 40000 estimated tokens a stream would empty the bucket: not
        # in the budget
        location /bigstall/ {
            llm_gateway openai;
            proxy_pass http://mock;
            proxy_http_version 1.1;
            proxy_read_timeout $read_timeout;
        }

        location /reset/ {
            llm_gateway openai;
            llm_budget load;
            proxy_pass http://rst;
            proxy_http_version 1.1;
        }

        # a client that leaves before the header is charged the prompt
        # estimate, which the counters do not show: not in the budget
        location /aborthead/ {
            llm_gateway openai;
            proxy_pass http://mock;
            proxy_http_version 1.1;
        }

        location = /status {
            access_log off;
            llm_status;
        }

        location = /nginx-status {
            access_log off;
            stub_status;
        }
    }
_EOC_

# a signal (LLMTest::Plain exits on it), or a closed output (| head),
# still runs END
my ($rst_pid, $test_pid) = (undef, $$);
$SIG{PIPE} = 'IGNORE';
END {
    # whatever happened: the processes this test started go away (nginx:
    # LLMTest::Plain)
    if (defined $test_pid && $$ == $test_pid) {
        kill 'KILL', $rst_pid if $rst_pid;
    }
}
$rst_pid = start_rst_server();
$ng->start('nginx starts with two workers');

# the port accepts once the master listens, maybe before the workers run
my $workers_before = $ng->workers;
for (1 .. 200 * $slow) {
    last if @$workers_before == 2;
    sleep 0.05;
    $workers_before = $ng->workers;
}
is(scalar @$workers_before, 2, 'two worker processes');

# --- 1. one stream of each kind alone: what each one does and counts -------

my $status0 = status();
is_deeply([sort grep { $status0->{models}{$_}{requests} } keys %{ $status0->{models} }],
          [], 'no request counted yet');

# the budget bucket is taken down to half, so that it does not refill to
# its capacity while the test runs (which would hide what it was charged)
like($ng->post('/json-big/chat/completions', probe_body())->{status}, qr/^200$/,
     'a request with 500000 tokens of usage');

my @calib = map { { id => 900000 + $_, kind => $kind_names[$_] } } 0 .. $#kind_names;
my $res = run_clients(\@calib);
for my $r (@$res) {
    is($r->{result}, 'ok', "alone: a $r->{kind} stream") or diag($r->{detail});
}

drained('after the streams sent alone');

my $calib = status();
my %per_request;    # model => flattened counters of one request

{
    my %sent;
    $sent{ $kinds{$_->{kind}}[0] }++ for @calib;

    for my $m (sort keys %sent) {
        my $flat = flat($calib->{models}{$m});
        for my $k (keys %$flat) {
            next if $k =~ /^ttft_ms\.(sum|buckets)/;    # times
            my $v = $flat->{$k} / $sent{$m};
            if ($v != int $v) {
                fail("$m: the $sent{$m} streams sent alone count alike ($k $flat->{$k})");
            }
            $per_request{$m}{$k} = $v;
        }
    }
}

# what the documentation says of each kind, sent alone
{
    my %want = (
        'm-normal'    => { aborted => 0, cut => 0, estimated => 0,
                           'responses.2xx' => 1, 'tokens.prompt' => 11,
                           'tokens.completion' => 8, cost_nano => 27000 },
        'm-abort'     => { aborted => 1, cut => 0, estimated => 1, 'responses.2xx' => 1 },
        'm-big'       => { aborted => 0, cut => 0, estimated => 0,
                           'responses.2xx' => 1, 'tokens.prompt' => 11,
                           'tokens.completion' => 8, cost_nano => 27000 },
        'm-abortflow' => { aborted => 1, cut => 0, estimated => 1, 'responses.2xx' => 1 },
        'm-abort0'    => { aborted => 1, cut => 0, estimated => 1, 'responses.2xx' => 1,
                           'tokens.completion' => 0 },
        'm-aborthead' => { aborted => 1, cut => 0, 'responses.4xx' => 1,
                           'tokens.prompt' => 0, 'tokens.completion' => 0 },
        map({ $_ => { aborted => 0, cut => 1, estimated => 1, 'responses.2xx' => 1 } }
            qw(m-cut m-reset m-short m-stall m-stallmid m-stallline m-bigstall)),
    );

    for my $m (sort keys %want) {
        my %got = map { $_ => $per_request{$m}{$_} } keys %{ $want{$m} };
        is_deeply(\%got, $want{$m}, "$m: one stream counts as documented")
            or diag(explain($per_request{$m}));
        is($per_request{$m}{requests}, 1, "$m: one request");
        is($per_request{$m}{streams}, 1, "$m: one stream");
    }
}

my $fd_before = worker_fds($workers_before);

# --- 2. all the streams at once ---------------------------------------------

my $probe1 = probe();

my @jobs;
{
    my $total = 0;
    $total += $kinds{$_}[1] for @kind_names;

    my %count = map { $_ => int($streams * $kinds{$_}[1] / $total) } @kind_names;
    my $sum = 0;
    $sum += $count{$_} for @kind_names;
    $count{normal} += $streams - $sum;

    # interleaved: the faults are spread over the whole batch
    my @pool = map { ($_) x $count{$_} } @kind_names;
    srand(15);
    for (my $i = @pool - 1; $i > 0; $i--) {
        my $j = int rand($i + 1);
        @pool[$i, $j] = @pool[$j, $i];
    }
    @jobs = map { { id => $_ + 1, kind => $pool[$_] } } 0 .. $#pool;

    note(sprintf "%d streams: %s", scalar @jobs,
         join ', ', map { "$count{$_} $_" } @kind_names);
}

my $t0 = time;
my $peak_active = 0;
$res = run_clients(\@jobs, sub {
    my $s = stub_status();
    $peak_active = $s->{active} if $s && $s->{active} > $peak_active;
});
my $elapsed = time - $t0;

{
    my (%ok, @examples);
    for my $r (@$res) {
        if ($r->{result} eq 'ok') {
            $ok{$r->{kind}}++;
        } else {
            push @examples, "$r->{kind} #$r->{id}: $r->{detail}" if @examples < 10;
        }
    }

    is(scalar @$res, scalar @jobs, 'every stream reported');

    for my $k (@kind_names) {
        my $n = grep { $_->{kind} eq $k } @jobs;
        is($ok{$k} // 0, $n, "$k: $n streams as expected")
            or diag(join "\n", grep { /^\Q$k\E / } @examples);
    }

    # how many were open together, from the client's side
    my @marks;
    for my $r (@$res) {
        next unless defined $r->{first} && defined $r->{end};
        push @marks, [$r->{first}, 1], [$r->{end}, -1];
    }
    my ($open, $max) = (0, 0);
    for my $m (sort { $a->[0] <=> $b->[0] || $a->[1] <=> $b->[1] } @marks) {
        $open += $m->[1];
        $max = $open if $open > $max;
    }

    my $n_normal = grep { $kinds{$_->{kind}}[0] eq 'm-normal' } @jobs;
    cmp_ok($max, '>=', $n_normal,
           "the streams were open together ($max at once, "
           . "$peak_active connections seen by stub_status)");
    note(sprintf "%d streams in %.1f s, at most %d open at once",
         scalar @jobs, $elapsed, $max);
}

drained('after the load');

# --- 3. the counters ---------------------------------------------------------

my $after = status();
my %sent;
$sent{ $kinds{$_->{kind}}[0] }++ for @jobs;

for my $m (sort keys %models) {
    my $before = flat($calib->{models}{$m});
    my $now = flat($after->{models}{$m});
    my (%got, %want);

    for my $k (sort keys %{ $per_request{$m} }) {
        # how much of a flowing answer passed before nginx saw the abort
        next if $m eq 'm-abortflow' && $k =~ /^(tokens\.completion|cost_nano)$/;
        $got{$k} = $now->{$k} - $before->{$k};
        $want{$k} = $per_request{$m}{$k} * ($sent{$m} // 0);
    }

    is_deeply(\%got, \%want, "$m: the counters of $sent{$m} streams")
        or diag(explain({ got => \%got, want => \%want }));
}

{
    # between the three events the client waited for and the whole answer
    my $m = 'm-abortflow';
    my $per_event = $per_request{'m-abort'}{'tokens.completion'} / $NF;
    my ($b, $a) = (flat($calib->{models}{$m}), flat($after->{models}{$m}));
    my $completion = $a->{'tokens.completion'} - $b->{'tokens.completion'};
    my $prompt = $a->{'tokens.prompt'} - $b->{'tokens.prompt'};
    my $cost = $a->{cost_nano} - $b->{cost_nano};
    my $n = $sent{$m};
    ok($completion >= $n * $NF * $per_event && $completion <= $n * $NFLOW * $per_event,
       "$m: completion tokens within what was streamed ($completion)");
    is($cost, $prompt * 1000 + $completion * 2000, "$m: cost of those tokens");
}

{
    my $others = 0;
    for my $m (keys %{ $after->{models} }) {
        next if $models{$m} || $m eq 'm-probe';
        $others += $after->{models}{$m}{requests};
    }
    is($others, 0, 'no request counted under another model');
}

is($after->{budgets}{load}{refused}, 0, 'the budget refused nothing');

# --- 4. the budget charged what the counters say -----------------------------

{
    my $probe2 = probe();

    my $charged = 10;    # the first probe's usage
    for my $m (keys %models) {
        next if $m eq 'm-aborthead' || $m eq 'm-bigstall';    # not budgeted
        my $b = flat($calib->{models}{$m});
        my $a = flat($after->{models}{$m});
        $charged += ($a->{'tokens.prompt'} - $b->{'tokens.prompt'})
                  + ($a->{'tokens.completion'} - $b->{'tokens.completion'});
    }

    # refill: 1000000 tokens a day, to the millisecond; the admission
    # times are known to within each probe's round trip
    my $rate = 1000000 / 86400000;
    my $lo = ($probe2->{start} - $probe1->{end}) * 1000 * $rate;
    my $hi = ($probe2->{end} - $probe1->{start}) * 1000 * $rate + 20 * $rate;
    my $drop = $probe1->{remaining} - $probe2->{remaining};

    ok($drop >= $charged - $hi - 2 && $drop <= $charged - $lo + 2,
       "the budget was charged what the counters show "
       . "(bucket down by $drop; charged $charged, refill "
       . sprintf("%.1f..%.1f)", $lo, $hi))
        or diag("remaining before $probe1->{remaining}, after $probe2->{remaining}");
}

# --- 5. nginx: workers, connections, descriptors -----------------------------

{
    my $now = $ng->workers;
    is_deeply([sort @$now], [sort @$workers_before],
              'the same two workers as before the load (none crashed or was replaced)');

    my $s = stub_status();
    is($s->{accepts}, $s->{handled}, 'every accepted connection was handled');

    my $fd_after = worker_fds($now);
    SKIP: {
        skip 'the workers\' /proc/PID/fd cannot be read', 1 unless defined $fd_before;
        is($fd_after, $fd_before, "the workers' descriptors are back to $fd_before");
    }
}

my $log_before_stop = slurp("$root/logs/error.log");

# --- 6. stop, the log, valgrind ------------------------------------------------

$ng->stop;
kill 'TERM', $rst_pid;
waitpid $rst_pid, 0;
$rst_pid = undef;

{
    # before the stop, no worker exited and no signal but SIGIO came; up to
    # the end, nothing alerted (a worker that exits with a connection left
    # open says so at the alert level)
    my @bad = grep { /signal \d+ \((?!SIGIO\))|worker process \d+ exited/ }
              split /\n/, $log_before_stop;
    push @bad, grep { /\[(alert|crit|emerg)\]/ }
               split /\n/, slurp("$root/logs/error.log");
    is(scalar @bad, 0, 'no alert, crash or exited worker in the error log')
        or diag(join "\n", @bad[0 .. ($#bad < 9 ? $#bad : 9)]);

    # the errors are those of the faults, and no other
    my @errors = grep { /\[error\]/ && !/upstream timed out \(110: |upstream prematurely closed connection while reading upstream|recv\(\) failed \(104: / }
                 split /\n/, $log_before_stop;
    is(scalar @errors, 0, 'no error in the log but those of the faults')
        or diag(join "\n", @errors[0 .. ($#errors < 9 ? $#errors : 9)]);

    # each failed upstream once, the streams sent alone included
    my %n;
    $n{$_->{kind}}++ for @jobs, @calib;
    my $failed = () = $log_before_stop =~ /llm: upstream of model "[^"]+" failed in the middle of the stream/g;
    my $ended = () = $log_before_stop =~ /llm: the upstream's stream of model "[^"]+" ended before its end event/g;
    my $failures = 0;
    $failures += $n{$_} for qw(cut reset stall stallmid stallline bigstall);
    is($failed, $failures,
       'each upstream that failed in the middle of a stream is logged once');
    is($ended, $failures + $n{short},
       'each stream that ended without its end event is logged once');
}

$ng->check_valgrind;

done_testing();


# --- helpers -------------------------------------------------------------------

sub esc {
    my $s = shift;
    $s =~ s/\n/\\n/g;
    $s =~ s/'/\\'/g;
    $s =~ s/"s0"/"s\$arg_id"/g;
    return $s;
}

# the counters of one model, flattened (cost as an integer of nano-dollars)
sub flat {
    my ($m, $prefix) = @_;
    my %f;
    return \%f unless $m;
    for my $k (keys %$m) {
        my $name = defined $prefix ? "$prefix.$k" : $k;
        my $v = $m->{$k};
        if (ref $v eq 'HASH') {
            my $sub = flat($v, $name);
            @f{keys %$sub} = values %$sub;
        } elsif (ref $v eq 'ARRAY') {
            $f{"$name.$_"} = $v->[$_]{count} for 0 .. $#$v;
        } else {
            $f{$name} = $v;
        }
    }
    return \%f;
}

sub status {
    my $r = $ng->get('/status?format=json');
    my $json = $r->{body} // '{}';
    $json =~ s/"cost_usd":(\d+)\.(\d{9})/'"cost_nano":' . ($1 * 1000000000 + $2)/ge;
    my $d = eval { decode_json($json) };
    BAIL_OUT("llm_status: not JSON: $json") unless $d;
    return $d;
}

sub stub_status {
    my $r = $ng->get('/nginx-status');
    my $b = $r->{body} // '';
    return undef unless $b =~ /Active connections:\s*(\d+).*?\n\s*(\d+)\s+(\d+)\s+(\d+)/s;
    return { active => $1, accepts => $2, handled => $3, requests => $4 };
}

# every connection and request of the load is gone: only this one is open
sub drained {
    my $what = shift;
    my $s;
    for (1 .. 400 * $slow) {
        $s = stub_status();
        last if $s && $s->{active} == 1;
        sleep 0.05;
    }
    is($s && $s->{active}, 1, "the connections are closed $what")
        or diag(explain($s));
}

sub probe_body {
    return '{"model":"m-probe","max_tokens":10,"messages":[{"role":"user","content":"Hi"}]}';
}

sub probe {
    my $start = time;
    my $r = $ng->post('/json/chat/completions', probe_body());
    my $end = time;
    my $rem = $r->{headers} =~ /^x-ratelimit-remaining-tokens:\s*(\d+)/mi ? $1 : undef;
    ok(defined $rem, 'a budget probe gets x-ratelimit-remaining-tokens')
        or diag($r->{headers});
    return { start => $start, end => $end, remaining => $rem // 0 };
}

# --- the client ------------------------------------------------------------------

# Runs the jobs, split over enough processes for the open-file limit, and
# returns one result per job.  $tick (optional) runs in the parent while
# the clients run.
sub run_clients {
    my ($jobs, $tick) = @_;
    my $per = $soft - 64;
    $per = 1000 if $per > 1000;
    my $procs = ceil(@$jobs / $per);
    $procs = 2 if $procs < 2 && @$jobs >= 100;

    my @pids;
    for my $p (0 .. $procs - 1) {
        my @mine = grep { $_ % $procs == $p } 0 .. $#$jobs;
        my $file = "$root/client.$p";
        unlink $file;
        my $pid = fork() // die "fork: $!";
        if ($pid == 0) {
            my @r = client([@$jobs[@mine]]);
            open my $o, '>', "$file.tmp" or POSIX::_exit(1);
            for my $r (@r) {
                my @f = map { $_ // '' } @$r{qw(id kind result first end detail)};
                s/([\\\t\n])/$1 eq "\n" ? '\\n' : $1 eq "\t" ? '\\t' : '\\\\'/ge for @f;
                print $o join("\t", @f), "\n";
            }
            close $o;
            rename "$file.tmp", $file;
            POSIX::_exit(0);
        }
        push @pids, $pid;
    }

    my %left = map { $_ => 1 } @pids;
    while (%left) {
        for my $pid (keys %left) {
            delete $left{$pid} if waitpid($pid, WNOHANG) == $pid;
        }
        last unless %left;
        $tick->() if $tick;
        sleep 0.1;
    }

    my @all;
    for my $p (0 .. $procs - 1) {
        open my $i, '<', "$root/client.$p" or do {
            fail("client process $p wrote no results");
            next;
        };
        while (<$i>) {
            chomp;
            my %r;
            @r{qw(id kind result first end detail)} =
                map { s/\\(.)/$1 eq 'n' ? "\n" : $1 eq 't' ? "\t" : $1/ger } split /\t/, $_, -1;
            $r{first} = undef if $r{first} eq '';
            $r{end} = undef if $r{end} eq '';
            push @all, \%r;
        }
        close $i;
    }
    return \@all;
}

# one process: non-blocking sockets and poll(2)
sub client {
    my $jobs = shift;
    my $deadline = time + 40 * $slow;
    my $poll = IO::Poll->new;
    my (%by_fd, @done);

    my $finish = sub {
        my ($st, $result, $detail) = @_;
        $poll->remove($st->{sock});
        close $st->{sock};
        delete $by_fd{ $st->{fd} };
        $st->{end} //= time;
        push @done, { id => $st->{id}, kind => $st->{kind}, result => $result,
                      first => $st->{first}, end => $st->{end},
                      detail => $detail // '' };
    };

    for my $j (@$jobs) {
        my $kind = $j->{kind};
        my $body = request_body($kind);
        my $uri = '/' . path_of($kind) . "/chat/completions?id=$j->{id}";
        my $st = {
            %$j,
            req => "POST $uri HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
                   . "Content-Type: application/json\r\n"
                   . "Content-Length: " . length($body) . "\r\n\r\n$body",
            expect => expected($kind, $j->{id}),
            # an aborting client leaves once it has this much
            abort_at => $kind eq 'abortflow'
                        ? length(expected('abort', $j->{id})) : undef,
            mode => $kinds{$kind}[2],
            raw => '', body => '', state => 'connect',
        };

        socket(my $sock, Socket::PF_INET(), Socket::SOCK_STREAM(), 0) or die "socket: $!";
        my $fl = fcntl($sock, F_GETFL, 0);
        fcntl($sock, F_SETFL, $fl | O_NONBLOCK);
        # a small receive buffer: nginx must wait for this client
        setsockopt($sock, SOL_SOCKET, SO_RCVBUF, pack('i', 4096)) if $pause{$kind};
        my $addr = Socket::pack_sockaddr_in($port, Socket::inet_aton('127.0.0.1'));
        if (!connect($sock, $addr) && $! != EINPROGRESS) {
            push @done, { %$j, result => 'FAIL', detail => "connect: $!" };
            close $sock;
            next;
        }
        $st->{sock} = $sock;
        $st->{fd} = fileno $sock;
        $by_fd{ $st->{fd} } = $st;
        $poll->mask($sock => POLLOUT);
    }

    while (%by_fd) {
        my $now = time;

        if ($now > $deadline) {
            for my $st (values %by_fd) {
                $finish->($st, 'FAIL', "stuck: still open at the deadline in state "
                          . "$st->{state}, got " . length($st->{raw}) . " bytes: "
                          . substr($st->{body}, -200));
            }
            last;
        }

        # clients that leave before the answer's header, or read again
        for my $st (values %by_fd) {
            if ($st->{resume_at} && $now >= $st->{resume_at}) {
                delete $st->{resume_at};
                $poll->mask($st->{sock} => POLLIN);
            }

            next unless $st->{close_at} && $now >= $st->{close_at};
            if ($st->{raw} eq '') {
                $finish->($st, 'ok');
            } else {
                $finish->($st, 'FAIL', 'an answer came before the client left: '
                          . substr($st->{raw}, 0, 200));
            }
        }

        my $n = $poll->poll(0.05);
        next if !defined $n || $n <= 0;

        for my $sock ($poll->handles) {
            my $ev = $poll->events($sock);
            next unless $ev;
            my $st = $by_fd{ fileno $sock } or next;

            if ($st->{state} eq 'connect') {
                my $err = unpack 'i', getsockopt($sock, SOL_SOCKET, SO_ERROR);
                if ($err) {
                    local $! = $err;
                    $finish->($st, 'FAIL', "connect: $!");
                    next;
                }
                $st->{state} = 'send';
            }

            if ($st->{state} eq 'send') {
                my $w = syswrite($sock, $st->{req});
                if (!defined $w) {
                    next if $! == EAGAIN || $! == EWOULDBLOCK || $! == EINTR;
                    $finish->($st, 'FAIL', "write: $!");
                    next;
                }
                substr($st->{req}, 0, $w, '');
                next if length $st->{req};
                $st->{state} = 'read';
                $poll->mask($sock => POLLIN);
                $st->{close_at} = time + 1 * $slow if $st->{mode} eq 'head';
                next;
            }

            my $r = sysread($sock, my $buf, 65536);
            if (!defined $r) {
                next if $! == EAGAIN || $! == EWOULDBLOCK || $! == EINTR;
                $finish->($st, 'FAIL', "read: $! after " . length($st->{raw})
                          . ' bytes: ' . substr($st->{body}, -200));
                next;
            }

            if ($r == 0) {
                $st->{end} = time;
                my ($res, $detail) = check_end($st);
                $finish->($st, $res, $detail);
                next;
            }

            $st->{raw} .= $buf;
            $st->{first} //= time;
            my $bad = parse($st);
            if ($bad) {
                $finish->($st, 'FAIL', $bad);
                next;
            }

            # a slow reader: nothing read for a while after the first bytes
            if ($pause{$st->{kind}} && !$st->{paused}) {
                $st->{paused} = 1;
                $st->{resume_at} = time + $pause{$st->{kind}} * $slow;
                $poll->mask($sock => 0);
                next;
            }

            my $at = $st->{abort_at} // length $st->{expect};
            if ($st->{mode} eq 'abort' && length $st->{body} >= $at) {
                # parse() checked that the body is a prefix of the expected
                if ($st->{abort_at} || $st->{body} eq $st->{expect}) {
                    $st->{end} = time;
                    $finish->($st, 'ok');    # the client goes away here
                } else {
                    $finish->($st, 'FAIL', "before the abort: got\n$st->{body}\n"
                              . "expected\n$st->{expect}");
                }
            }
        }
    }

    return @done;
}

# the header, then the chunked body as it arrives
sub parse {
    my $st = shift;

    if (!$st->{headers}) {
        my $i = index $st->{raw}, "\r\n\r\n";
        return undef if $i < 0;
        my $h = substr $st->{raw}, 0, $i + 4, '';
        $st->{headers} = $h;
        return "status: " . (split /\r\n/, $h)[0] unless $h =~ m{^HTTP/1\.1 200 };
        return "not chunked:\n$h" unless $h =~ /^transfer-encoding:\s*chunked\r$/mi;
        return "not an event stream:\n$h"
            unless $h =~ m{^content-type:\s*text/event-stream}mi;
    }

    while (!$st->{last}) {
        return "a bad chunk size: " . substr($st->{raw}, 0, 40)
            if $st->{raw} =~ /^[^0-9a-fA-F]/ || $st->{raw} =~ /^[0-9a-fA-F]*[^0-9a-fA-F\r;]/;
        last unless $st->{raw} =~ /^([0-9a-fA-F]+)\r\n/;
        my ($len, $size) = (length($1) + 2, hex $1);
        if ($size == 0) {
            last if length $st->{raw} < $len + 2;
            return "no CRLF after the last chunk" unless substr($st->{raw}, $len, 2) eq "\r\n";
            substr($st->{raw}, 0, $len + 2, '');
            $st->{last} = 1;
            last;
        }
        last if length $st->{raw} < $len + $size + 2;
        return "no CRLF after a chunk" unless substr($st->{raw}, $len + $size, 2) eq "\r\n";
        $st->{body} .= substr($st->{raw}, $len, $size);
        substr($st->{raw}, 0, $len + $size + 2, '');
    }

    return "bytes after the last chunk: " . substr($st->{raw}, 0, 80)
        if $st->{last} && length $st->{raw};

    # a stream must never hold anything but its own events, in order
    return "not its own events, in order: got\n$st->{body}\nexpected\n$st->{expect}"
        if substr($st->{expect}, 0, length $st->{body}) ne $st->{body};

    return undef;
}

sub check_end {
    my $st = shift;
    return ('FAIL', 'the connection closed without an answer') unless $st->{headers};
    return ('FAIL', "the connection closed before the end of the chunked answer, after:\n"
                    . substr($st->{body}, -300)) unless $st->{last};
    return ('FAIL', "the answer ended early (the client was to leave)")
        if $st->{mode} ne 'full';
    return ('FAIL', "got\n$st->{body}\nexpected\n$st->{expect}")
        if $st->{body} ne $st->{expect};
    return ('ok');
}

# --- the resetting upstream ------------------------------------------------------

# Answers each request with a chunked event stream head and its first
# events, then resets the connection (SO_LINGER 0) a while later.
sub start_rst_server {
    my $l = IO::Socket::INET->new(LocalAddr => "127.0.0.1:$rst_port", Listen => 4096,
                                  ReuseAddr => 1, Blocking => 0)
        or die "rst server: $!";
    my $pid = fork() // die $!;
    if ($pid) {
        close $l;
        return $pid;
    }

    # not holding the test's output open (prove waits for it)
    open STDOUT, '>', '/dev/null';
    open STDERR, '>', '/dev/null';
    $SIG{TERM} = sub { POSIX::_exit(0) };
    $SIG{$_} = 'DEFAULT' for qw(INT HUP);
    my $parent = getppid();
    my $poll = IO::Poll->new;
    $poll->mask($l => POLLIN);
    my %c;

    while (1) {
        $poll->poll(0.05);
        my $now = time;
        POSIX::_exit(0) if getppid() != $parent;    # the test is gone

        if ($poll->events($l)) {
            while (my $s = $l->accept) {
                $s->blocking(0);
                $c{ fileno $s } = { sock => $s, in => '' };
                $poll->mask($s => POLLIN);
            }
        }

        for my $fd (keys %c) {
            my $k = $c{$fd};
            my $s = $k->{sock};

            if ($k->{rst_at}) {
                next if $now < $k->{rst_at};
                setsockopt($s, SOL_SOCKET, SO_LINGER, pack('ii', 1, 0));
                $poll->remove($s);
                close $s;
                delete $c{$fd};
                next;
            }

            next unless $poll->events($s);
            my $r = sysread($s, my $buf, 65536);
            if (!$r) {
                next if !defined $r && ($! == EAGAIN || $! == EINTR);
                $poll->remove($s);
                close $s;
                delete $c{$fd};
                next;
            }
            $k->{in} .= $buf;
            my $i = index $k->{in}, "\r\n\r\n";
            next if $i < 0;
            my $len = $k->{in} =~ /^content-length:\s*(\d+)/mi ? $1 : 0;
            next if length($k->{in}) < $i + 4 + $len;

            my $id = $k->{in} =~ /[?&]id=(\d+)/ ? $1 : 0;
            my $body = sprintf($E0, $id) . join '', map { sprintf $C, $id, $_ } 1 .. $NF;
            $s->blocking(1);
            syswrite $s, "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                . "Transfer-Encoding: chunked\r\n\r\n"
                . sprintf("%x\r\n%s\r\n", length $body, $body);
            $poll->remove($s);
            $k->{rst_at} = $now + $rst_after;
        }
    }
}

# --- the workers' descriptors ----------------------------------------------

sub worker_fds {
    my $w = shift;
    my $n = 0;
    for my $pid (@$w) {
        opendir my $d, "/proc/$pid/fd" or return undef;
        $n += grep { /^\d+$/ } readdir $d;
        closedir $d;
    }
    return $n;
}
