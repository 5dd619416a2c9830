package LLMTest::Plain;

# Helpers of the plain-TAP tests: t/010-shm.t, t/011-route-stats.t,
# t/013-cache-shm.t, t/015-many-streams.t, t/017-backpressure.t.  They
# drive nginx themselves because they need several processes, sockets or
# signals, which the Test::Nginx data format does not express.  Core Perl
# only (no CPAN).
#
#     use FindBin;
#     use lib "$FindBin::Bin/lib";
#     use LLMTest::Plain;
#
#     my $ng = LLMTest::Plain->new('llm-foo');  # skip_all without the module
#     my $root = $ng->root;                     # logs/ conf/ html/
#     my $port = $ng->port;                     # the port start() waits for
#     $ng->write_conf(workers => 2, http => <<"_EOC_");
#         server { listen 127.0.0.1:$port; ... }
#     _EOC_
#     $ng->start('nginx starts');               # one test; BAIL_OUT if it
#                                               # does not listen
#     my $r = $ng->post($uri, $body, 'X-Key' => 'k');   # {status, ...}
#     $ng->reload;
#     $ng->stop;                                # QUIT, and wait for the exit
#     $ng->check_valgrind;                      # a test under valgrind only
#
# Also: get(), http() (a raw request), workers(), master_pid(),
# reload_under_load(); and, exported, in_parallel() and in_background()
# (code in child processes, what it returned), free_port(), wait_port(),
# slurp(), tail(), dechunk(), valgrind(), slow().
#
# TEST_NGINX_USE_VALGRIND=1 (as for the Test::Nginx files) runs the master
# in the foreground under valgrind, its workers with it (they are forks of
# it, reloads included), with t/runner/valgrind.suppress and
# t/valgrind.suppress when they exist; check_valgrind() then fails on a
# memory error or a definite or indirect leak in the logs.  A value that is
# not a number is taken as valgrind's options, as the runner does.  slow()
# is the factor (4) by which the helpers' waits grow under valgrind.

use strict;
use warnings;

use Exporter qw(import);
use Cwd qw(abs_path);
use File::Basename qw(dirname);
use File::Temp qw(tempdir);
use IO::Socket::INET;
use POSIX ();
use Test::More;
use Time::HiRes qw(sleep time);

# sleep is Time::HiRes's: the tests' "sleep 0.5" would be sleep 0 otherwise
our @EXPORT = qw(valgrind slow free_port wait_port slurp tail dechunk
                 in_background in_parallel sleep);

# t/, from t/lib/LLMTest/Plain.pm
my $T = abs_path(dirname(__FILE__) . '/../..');

my @Instances;

sub valgrind { $ENV{TEST_NGINX_USE_VALGRIND} ? 1 : 0 }

sub slow { valgrind() ? 4 : 1 }

# --- nginx ----------------------------------------------------------------

# $name prefixes the server root, a new temporary directory.  Options:
# timeout, of the HTTP helpers (seconds; 5 by default, times slow()).
sub new {
    my ($class, $name, %opt) = @_;

    my @modules = split ' ', ($ENV{TEST_NGINX_LOAD_MODULES} || '');

    if (!grep { /ngx_http_llm_module\.so$/ } @modules) {
        plan skip_all => 'TEST_NGINX_LOAD_MODULES does not name ngx_http_llm_module.so';
    }

    if (valgrind() && system('valgrind --version >/dev/null 2>&1') != 0) {
        plan skip_all => 'TEST_NGINX_USE_VALGRIND is set but valgrind is not installed';
    }

    my $root = tempdir("$name-XXXXXX", TMPDIR => 1,
                       CLEANUP => !$ENV{TEST_NGINX_NO_CLEAN});
    mkdir "$root/$_" for qw(logs conf html);

    # a signal still runs END, which stops the nginx we started
    for my $sig (qw(INT TERM HUP)) {
        $SIG{$sig} = sub { exit 1 } unless $SIG{$sig};
    }

    my $self = bless {
        root => $root,
        port => free_port(),
        binary => $ENV{TEST_NGINX_BINARY} || 'nginx',
        modules => \@modules,
        timeout => $opt{timeout} // 5 * slow(),
        owner => $$,
    }, $class;

    push @Instances, $self;
    return $self;
}

sub root { $_[0]{root} }
sub port { $_[0]{port} }

# conf/nginx.conf: the modules, the main context (workers: 1, connections:
# 512, main: more of its directives), then an http block with the access
# log off and the temporary paths in the server root, followed by http.
sub write_conf {
    my ($self, %o) = @_;

    my $root = $self->{root};
    my $load = join '', map { "load_module $_;\n" } @{ $self->{modules} };

    # workers of a root master would run as nobody, who cannot reach $root
    my $user = $> == 0 ? 'user root;' : '';

    # valgrind must see the master exit: it runs in the foreground
    my $daemon = valgrind() ? 'off' : 'on';

    my $workers = $o{workers} // 1;
    my $connections = $o{connections} // 512;
    my $main = $o{main} // '';
    my $http = $o{http} // '';

    open my $fh, '>', "$root/conf/nginx.conf" or die "$root/conf/nginx.conf: $!";
    print $fh <<"_EOC_";
$load
$user
worker_processes $workers;
master_process on;
daemon $daemon;
error_log logs/error.log info;
pid logs/nginx.pid;
$main
events { worker_connections $connections; }

http {
    access_log off;
    client_body_temp_path $root/body;
    proxy_temp_path $root/proxy;
    fastcgi_temp_path $root/fastcgi;
    uwsgi_temp_path $root/uwsgi;
    scgi_temp_path $root/scgi;

$http}
_EOC_
    close $fh or die "$root/conf/nginx.conf: $!";
}

# One test, $name: nginx started (under valgrind: it listens, and has not
# exited).  Then nginx listens on port(), or the test bails out.
sub start {
    my ($self, $name) = @_;
    my $root = $self->{root};
    my @cmd = ($self->{binary}, '-p', "$root/", '-c', 'conf/nginx.conf');

    $self->{started} = 1;

    if (!valgrind()) {
        my $out = `$self->{binary} -p $root/ -c conf/nginx.conf 2>&1`;
        is($?, 0, $name) or diag($out);

    } else {
        my @vg = valgrind_cmd("$root/logs");

        my $pid = fork() // die "fork: $!";
        if ($pid == 0) {
            # not holding the test's output open (prove waits for it)
            open STDIN, '<', '/dev/null';
            open STDOUT, '>', "$root/logs/stderr" or POSIX::_exit(126);
            open STDERR, '>&', \*STDOUT or POSIX::_exit(126);
            { no warnings 'exec'; exec @vg, @cmd; }
            POSIX::_exit(127);
        }
        $self->{child} = $pid;

        my ($up, $exited) = (0, 0);
        my $deadline = time + 120;
        while (time < $deadline) {
            if (waitpid($pid, POSIX::WNOHANG()) == $pid) {
                $exited = 1;
                delete $self->{child};
                last;
            }
            last if $up = wait_port($self->{port}, 1);
        }
        # not -1 from waitpid(): a later die() exits with 255
        $? = 0 unless $exited;

        ok($up, "$name, under valgrind")
            or diag(($exited ? "nginx exited ($?)" : 'nginx does not listen')
                    . ":\n" . tail("$root/logs/stderr") . "\n"
                    . tail("$root/logs/error.log"));
    }

    wait_port($self->{port}, 100 * slow())
        or BAIL_OUT("nginx does not listen on $self->{port}: "
                    . tail("$root/logs/error.log"));

    # the master writes its pid file after it opens the listening sockets
    for (1 .. 100 * slow()) {
        last if defined $self->master_pid;
        sleep 0.05;
    }
}

sub master_pid {
    my $self = shift;
    my $pid = slurp("$self->{root}/logs/nginx.pid");
    return $pid =~ /^(\d+)\s*$/ ? $1 : undef;
}

# the master's children, from /proc (no ps needed)
sub workers {
    my $self = shift;
    my $master = $self->master_pid // return [];
    my @w;
    for my $stat (glob '/proc/[0-9]*/stat') {
        # pid (comm) state ppid: comm may hold spaces and parentheses
        my $line = slurp($stat);
        push @w, $1 if $line =~ /^(\d+) \(.*\) \S+ (\d+) / && $2 eq $master;
    }
    return \@w;
}

# "nginx -s reload": returns once the old workers are gone, which is when
# the new ones serve
sub reload {
    my $self = shift;
    my $old = $self->workers;
    my $master = $self->master_pid // die "reload: no nginx pid file";

    kill 'HUP', $master;

    for (1 .. 100 * slow()) {
        sleep 0.05;
        my %now = map { $_ => 1 } @{ $self->workers };
        last unless grep { $now{$_} } @$old;
    }
}

# Requests in a loop for a while (seconds), in a child process, while
# nginx reloads a number of times (reloads), gap seconds apart: how many
# of them went well (request returned true) and how many did not.
sub reload_under_load {
    my ($self, %o) = @_;

    my $load = in_background(sub {
        my ($ok, $failed) = (0, 0);
        my $end = time + $o{seconds};

        while (time < $end) {
            $o{request}->() ? $ok++ : $failed++;
        }

        return "$ok $failed";
    });

    for (1 .. $o{reloads}) {
        sleep $o{gap};
        $self->reload;
    }

    return split ' ', $load->() // '';
}

# "nginx -s quit", waiting for the master to exit (fails a test when it
# does not within 10 s, times slow(), and kills it)
sub stop {
    my $self = shift;

    return if $self->{stopped}++ || !$self->{started};

    my $master = $self->master_pid // $self->{child};
    return unless $master;

    kill 'QUIT', $master;
    for (1 .. 200 * slow()) {
        last unless $self->_running($master);
        sleep 0.05;
    }

    if ($self->_running($master)) {
        fail("nginx $master did not stop after QUIT");
        kill 'KILL', $master;
    }

    waitpid($self->{child}, 0) if $self->{child};
    delete $self->{child};
}

sub _running {
    my ($self, $pid) = @_;

    # under valgrind the master is our child: reap it
    if ($self->{child} && $self->{child} == $pid
        && waitpid($pid, POSIX::WNOHANG()) == $pid)
    {
        delete $self->{child};
        return 0;
    }

    return 0 unless kill 0, $pid;

    # a zombie whose parent does not reap it has exited all the same
    return slurp("/proc/$pid/stat") !~ /^\d+ \(.*\) Z /;
}

# Under valgrind, one test after stop(): no memory error and no leak in
# valgrind's logs (and there are logs: valgrind ran).
sub check_valgrind {
    my $self = shift;
    return unless valgrind();

    my $report = valgrind_report("$self->{root}/logs");
    is($report, '', 'valgrind: no memory error or leak') or diag($report);
}

sub valgrind_cmd {
    my $logs = shift;
    my $opt = $ENV{TEST_NGINX_USE_VALGRIND};

    my @vg = ('valgrind', '-q');
    if ($opt =~ /^\d+$/) {
        push @vg, '--tool=memcheck', '--leak-check=full', '--num-callers=30',
            '--show-leak-kinds=definite,indirect',
            '--errors-for-leak-kinds=definite,indirect', '--gen-suppressions=all';
    } else {
        push @vg, split ' ', $opt;
    }

    # nginx's own false positives, then the project's
    for my $f ("$T/runner/valgrind.suppress", "$T/valgrind.suppress") {
        push @vg, "--suppressions=$f" if -f $f;
    }

    push @vg, "--log-file=$logs/valgrind.%p.log";
    return @vg;
}

# valgrind's records in the logs, but its own warnings (not errors in nginx)
sub valgrind_report {
    my $logs = shift;
    my @files = sort glob("$logs/valgrind.*.log");

    return "no valgrind log in $logs: did valgrind run?\n" unless @files;

    my $report = '';
    for my $f (@files) {
        my $cur = '';
        for my $line (split /\n/, slurp($f) . "\n==0==\n") {
            if ($line =~ /^==\d+==\s*$/) {
                $report .= "$f:\n$cur\n"
                    if $cur ne ''
                       && !($cur =~ /\A==\d+== Warning: /
                            && $cur !~ /^==\d+== (?!Warning|   )/m);
                $cur = '';
                next;
            }
            $cur .= "$line\n" if $line =~ /\S/;
        }
    }
    return $report;
}

# --- HTTP/1.1 to port(), Connection: close ----------------------------------

# the answer: status ('connect-error', 'no-response' or the code), headers
# (the text), header (lower-case name => value), body (de-chunked; undef
# without one), raw (all that came)
sub http {
    my ($self, $req) = @_;

    my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$self->{port}",
                                  Timeout => $self->{timeout})
        or return { status => 'connect-error', headers => '', header => {},
                    body => undef, raw => '' };

    print $s $req;

    local $/;
    my $raw = <$s> // '';
    close $s;

    my ($h, $b) = split /\r\n\r\n/, $raw, 2;
    $h //= '';

    my %header;
    for my $line (split /\r\n/, $h) {
        $header{lc $1} = $2 if $line =~ /^([^:]+):\s*(.*)$/;
    }

    $b = dechunk($b // '') if $h =~ /^transfer-encoding:\s*chunked/mi;

    return { status => $raw =~ m{^HTTP/1\.[01] (\d+)} ? $1 : 'no-response',
             headers => $h, header => \%header, body => $b, raw => $raw };
}

sub get {
    my ($self, $uri) = @_;
    return $self->http("GET $uri HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
}

# a JSON body, with more headers
sub post {
    my ($self, $uri, $body, %headers) = @_;
    my $h = join '', map { "$_: $headers{$_}\r\n" } keys %headers;

    return $self->http("POST $uri HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
                       . "Content-Type: application/json\r\n$h"
                       . "Content-Length: " . length($body) . "\r\n\r\n$body");
}

# --- processes --------------------------------------------------------------

# Runs $code->(@args) in a child process; returns a function that waits for
# the child and returns what $code returned (one line, no newline), undef
# when it returned nothing or died.
sub in_background {
    my ($code, @args) = @_;

    pipe(my $r, my $w) or die "pipe: $!";

    my $pid = fork() // die "fork: $!";
    if ($pid == 0) {
        close $r;
        my $out = eval { $code->(@args) };
        print STDERR "in_background: $@" if $@;
        if (defined $out) {
            $out .= "\n";
            my $off = 0;
            while ($off < length $out) {
                my $n = syswrite($w, $out, length($out) - $off, $off) or last;
                $off += $n;
            }
        }
        # no END block of the test's in a child
        POSIX::_exit(0);
    }

    close $w;

    return sub {
        my $out = do { local $/; <$r> };
        close $r;
        waitpid $pid, 0;
        return undef unless defined $out && $out ne '';
        $out =~ s/\n\z//;
        return $out;
    };
}

# $code->($i) for $i in 1 .. $n, in $n child processes at once: what they
# returned, leaving out those that returned nothing
sub in_parallel {
    my ($n, $code) = @_;
    my @wait = map { in_background($code, $_) } 1 .. $n;
    return grep { defined } map { $_->() } @wait;
}

# --- small things -------------------------------------------------------------

sub free_port {
    for (1 .. 50) {
        my $p = 20000 + int(rand(20000));
        my $s = IO::Socket::INET->new(LocalAddr => "127.0.0.1:$p",
                                      Listen => 1, ReuseAddr => 1);
        if ($s) { close $s; return $p; }
    }
    die "no free port";
}

# the port accepts a connection, tried $tries times (100) 50 ms apart
sub wait_port {
    my ($port, $tries) = @_;
    for (1 .. $tries // 100) {
        my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$port");
        if ($s) { close $s; return 1; }
        sleep 0.05;
    }
    return 0;
}

# a file's content, '' when it cannot be read
sub slurp {
    open my $f, '<', shift or return '';
    local $/;
    return <$f> // '';
}

# the last 20 lines of a file
sub tail {
    my @l = split /\n/, slurp(shift);
    return join "\n", @l > 20 ? @l[-20 .. -1] : @l;
}

sub dechunk {
    my $in = shift;
    my $out = '';
    while ($in =~ s/^([0-9a-fA-F]+)[^\r\n]*\r\n//) {
        my $n = hex $1;
        last if $n == 0;
        $out .= substr($in, 0, $n, '');
        $in =~ s/^\r\n//;
    }
    return $out;
}

# whatever happened, the nginx a test started goes away (not from a child)
END {
    my $exit = $?;    # what the test exits with; waitpid() would change it
    for my $self (@Instances) {
        next if $self->{owner} != $$ || !$self->{started} || $self->{stopped};
        $self->{stopped} = 1;
        my $master = $self->master_pid // $self->{child} // next;
        kill 'QUIT', $master;
        next unless $self->{child};
        for (1 .. 100 * slow()) {
            last if waitpid($self->{child}, POSIX::WNOHANG()) == $self->{child};
            sleep 0.05;
        }
    }
    $? = $exit;
}

1;
