# Back-pressure through the stream filter: a client that stops reading
# must stop the upstream too, whatever the size of the answer's events.
#
# The filter copies the parts of an event split over reads; before, the
# upstream's buffer was released once copied, so nginx read on while the
# client did not, and a paused client made the worker hold the rest of the
# answer (each event larger than a read: all of it).  Now the copies sent
# on and not yet written are counted, and above 64 KB the upstream's
# buffers stay busy until the client catches up: nginx stops reading the
# upstream once its buffer is full, as plain proxy_pass does.
#
# The upstream is a Perl server that writes a 20 MB stream of 90 KB events
# as fast as it can, with a small socket buffer, and notes when it has
# written the last byte; the client reads the header and the first events,
# pauses, then reads the rest.  The order of the two moments is checked
# (the upstream cannot finish while the client pauses), not a duration.
#
# TEST_NGINX_USE_VALGRIND=1 runs nginx under valgrind (the client pauses
# longer); a memory error or a definite leak fails the test.
#
# Plain TAP: a server and a client with socket options, which the
# Test::Nginx data format does not express (like t/010-shm.t).

use strict;
use warnings;
use Test::More;
use IO::Socket::INET;
use Socket qw(SOL_SOCKET SO_RCVBUF SO_SNDBUF);
use Time::HiRes qw(sleep time);
use FindBin;
use lib "$FindBin::Bin/lib";
use LLMTest::Plain;
use LLMTest::Features;
llm_require("budget");

my $ng = LLMTest::Plain->new('llm-bp');
my $root = $ng->root;
my $port = $ng->port;
my $up_port = free_port();

my $events = 230;                  # of 90 KB: about 20 MB
my $event_text = 'x' x (90 * 1024);
my $pause = valgrind() ? 6 : 2;

$ng->write_conf(workers => 1, connections => 64, http => <<"_EOC_");
    llm_model gpt-4o-mini upstream=up;
    llm_budget_zone \$http_x_key zone=cut:1m tokens=1000/h cut=on;

    upstream up {
        server 127.0.0.1:$up_port;
    }

    server {
        listen 127.0.0.1:$port sndbuf=32k;

        location / {
            llm_gateway openai;
            proxy_pass http://\$llm_upstream;
            proxy_read_timeout 60s;
            send_timeout 60s;
        }

        location /cut/ {
            llm_gateway openai;
            llm_budget cut;
            llm_budget_allowance 1;
            proxy_pass http://\$llm_upstream;
            proxy_read_timeout 60s;
            send_timeout 60s;
        }
    }
_EOC_

# the upstream: one answer, as fast as the socket takes it

my $done_file = "$root/upstream-done";
my $listen = IO::Socket::INET->new(LocalAddr => "127.0.0.1:$up_port",
                                   Listen => 8, ReuseAddr => 1)
    or die "listen $up_port: $!";

our $up = fork() // die $!;

if ($up == 0) {
    $up = 0;
    $SIG{PIPE} = 'IGNORE';

    # the paused client's stream, then the one a budget cuts (nginx closes
    # that connection in the middle: the writes fail, the server goes on)

    for my $conn (1, 2) {
        my $c = $listen->accept or exit 1;
        setsockopt($c, SOL_SOCKET, SO_SNDBUF, 16 * 1024);

        my $req = '';
        while ($req !~ /\r\n\r\n/) {
            sysread($c, $req, 65536, length $req) or exit 1;
        }
        my ($len) = $req =~ /Content-Length: (\d+)/i;
        my $body = length($req) - index($req, "\r\n\r\n") - 4;
        while (defined $len && $body < $len) {
            my $n = sysread($c, my $more, 65536) or last;
            $body += $n;
        }

        my $ok = syswrite_all($c, "HTTP/1.1 200 OK\r\n"
                                  . "Content-Type: text/event-stream\r\n"
                                  . "Connection: close\r\n\r\n");

        for my $i (1 .. $events) {
            last unless $ok;
            $ok = syswrite_all($c,
                      qq(data: {"id":"e$i","object":"chat.completion.chunk",)
                      . qq("choices":[{"index":0,"delta":{"content":")
                      . $event_text . qq("},"finish_reason":null}]}\n\n));
        }

        $ok &&= syswrite_all($c, "data: [DONE]\n\n");

        if ($conn == 1) {
            open my $d, '>', $done_file or exit 1;
            printf $d "%.6f\n", time;
            close $d;
        }

        close $c;
    }

    exit 0;
}

close $listen;

# the upstream never waits for a test that stopped
END { kill 'KILL', $up if $up }

$ng->start('nginx starts');

# the client: a small receive buffer, the first events, a pause, the rest

my $s = IO::Socket::INET->new(Proto => 'tcp') or die $!;
setsockopt($s, SOL_SOCKET, SO_RCVBUF, 16 * 1024);
$s->connect(Socket::pack_sockaddr_in($port, Socket::inet_aton('127.0.0.1')))
    or die "connect: $!";

my $req = '{"model":"gpt-4o-mini","stream":true,'
          . '"messages":[{"role":"user","content":"Hi"}]}';

syswrite_all($s, "POST /v1/chat/completions HTTP/1.1\r\nHost: localhost\r\n"
                 . "Content-Type: application/json\r\nConnection: close\r\n"
                 . "Content-Length: " . length($req) . "\r\n\r\n$req");

my $got = '';
while (length $got < 200 * 1024) {
    sysread($s, $got, 65536, length $got) or last;
}

like($got, qr{^HTTP/1\.1 200 }, 'the stream starts');

sleep $pause;

my $resumed = time;
ok(!-e $done_file, "the upstream has not written its answer while the "
                   . "client paused for ${pause}s");

while (1) {
    my $n = sysread($s, $got, 1 << 20, length $got);
    last unless $n;
}
close $s;

my $done = -e $done_file ? slurp($done_file) + 0 : 0;
cmp_ok($done, '>', $resumed, 'it finished after the client went on reading');

my $body = dechunk(substr($got, index($got, "\r\n\r\n") + 4));
my @ids = $body =~ /"id":"e(\d+)"/g;

is(scalar @ids, $events, "all $events events of 90 KB reached the client");
is_deeply(\@ids, [1 .. $events], 'in order');
like($body, qr/data: \[DONE\]\n\n\z/, 'and [DONE]');

# a budget cuts the stream while the client does not read: the events
# before the cut and the API's ending reach it when it reads again

{
    my $s = IO::Socket::INET->new(Proto => 'tcp') or die $!;
    setsockopt($s, SOL_SOCKET, SO_RCVBUF, 16 * 1024);
    $s->connect(Socket::pack_sockaddr_in($port,
                                         Socket::inet_aton('127.0.0.1')))
        or die "connect: $!";

    syswrite_all($s, "POST /cut/chat/completions HTTP/1.1\r\n"
                     . "Host: localhost\r\nX-Key: slow\r\n"
                     . "Content-Type: application/json\r\n"
                     . "Connection: close\r\n"
                     . "Content-Length: " . length($req) . "\r\n\r\n$req");

    sleep $pause / 2;

    my $got = '';
    while (1) {
        my $n = sysread($s, $got, 1 << 20, length $got);
        last unless $n;
    }
    close $s;

    like($got, qr{^HTTP/1\.1 200 }, 'a stream cut by a budget while the '
                                    . 'client paused: 200');

    my $body = dechunk(substr($got, index($got, "\r\n\r\n") + 4));

    like($body, qr/^data: \{"id":"e1",/, 'the event before the cut arrives');
    like($body, qr/"finish_reason":"length"\}\]\}\n\ndata: \[DONE\]\n\n\z/,
         'then the API\'s ending and [DONE], whole');
    like($got, qr/\r\n0\r\n\r\n\z/, 'the chunked answer is complete');
}

waitpid $up, 0;

my $log = slurp("$root/logs/error.log");
like($log, qr/is cut: it ran past llm_budget_zone "cut"/, 'the cut is logged');
unlike($log, qr/\[(alert|crit|emerg)\]|signal \d+ .*exited/,
       'no alert, no crash');

$ng->stop;
$ng->check_valgrind;

done_testing();


# 1 when all was written, 0 when the peer went away
sub syswrite_all {
    my ($sock, $data) = @_;
    my $off = 0;
    while ($off < length $data) {
        my $n = syswrite($sock, $data, length($data) - $off, $off);
        return 0 unless defined $n;
        $off += $n;
    }
    return 1;
}
