package LLMTest::Redis;

# A redis-server of a test's own: on a free port (or a unix socket), no
# persistence, no system service; stopped at the end.  Core Perl only.
#
#     my $redis = LLMTest::Redis->start($dir);          # skip_all without
#     my $redis = LLMTest::Redis->start($dir, unix => 1, password => 's');
#     my $redis = LLMTest::Redis->start($dir, unix => 1, tls => 1);
#                               # also TLS on tls_port(), a self-signed
#                               # certificate in cert() (undef: no openssl)
#     $redis->port; $redis->socket;
#     $redis->cmd('INFO', 'commandstats');               # the reply, as text
#     $redis->calls('eval');                             # commandstats count
#     $redis->stop; $redis->restart;

use strict;
use warnings;
use Test::More;
use IO::Socket::INET;
use IO::Socket::UNIX;
use POSIX ();
use Time::HiRes qw(sleep);

use LLMTest::Plain qw(free_port);

my @Servers;

sub binary {
    for my $dir (split(/:/, $ENV{PATH} // ''), '/usr/bin', '/usr/sbin') {
        return "$dir/redis-server" if -x "$dir/redis-server";
    }
    return undef;
}

sub start {
    my ($class, $dir, %o) = @_;

    my $bin = binary();

    if (!$bin) {
        plan skip_all => 'redis-server is not installed (make deps installs it)';
    }

    mkdir $dir;

    my ($cert, $key);

    if ($o{tls}) {
        ($cert, $key) = ("$dir/cert.pem", "$dir/key.pem");
        system("openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1"
               . " -keyout $key -out $cert >/dev/null 2>&1") == 0
            or ($cert, $key) = ();
    }

    my $self = bless {
        bin => $bin, dir => $dir, password => $o{password},
        cert => $cert, key => $key, tls_port => $cert ? free_port() : undef,
        port => $o{unix} ? 0 : free_port(),
        socket => $o{unix} ? "$dir/redis.sock" : undef,
        owner => $$,
    }, $class;

    push @Servers, $self;

    $self->_run;
    return $self;
}

sub port { $_[0]{port} }
sub tls_port { $_[0]{tls_port} }
sub cert { $_[0]{cert} }
sub socket { $_[0]{socket} }

sub _run {
    my ($self) = @_;

    my @args = ('--port', $self->{port}, '--bind', '127.0.0.1',
                '--save', '', '--appendonly', 'no', '--dir', $self->{dir},
                '--daemonize', 'no', '--logfile', "$self->{dir}/redis.log");

    push @args, '--unixsocket', $self->{socket}, '--unixsocketperm', '700'
        if $self->{socket};
    push @args, '--requirepass', $self->{password} if $self->{password};
    push @args, '--tls-port', $self->{tls_port}, '--tls-cert-file', $self->{cert},
                '--tls-key-file', $self->{key}, '--tls-ca-cert-file', $self->{cert},
                '--tls-auth-clients', 'no'
        if $self->{cert};

    my $pid = fork() // die "fork: $!";
    if ($pid == 0) {
        open STDIN, '<', '/dev/null';
        open STDOUT, '>', '/dev/null';
        { exec $self->{bin}, @args; }
        POSIX::_exit(127);
    }

    $self->{pid} = $pid;

    for (1 .. 100) {
        return if eval { $self->cmd('PING') =~ /PONG/ };
        sleep 0.05;
    }

    die "redis-server did not start: "
        . do { local $/; open my $fh, '<', "$self->{dir}/redis.log"; <$fh> // '' };
}

sub _connect {
    my ($self) = @_;
    return $self->{socket}
        ? IO::Socket::UNIX->new(Peer => $self->{socket})
        : IO::Socket::INET->new(PeerAddr => "127.0.0.1:$self->{port}",
                                Timeout => 2);
}

# one command, its reply as text (a bulk string's content, an integer, a
# status or an error as "-ERR ...")
sub cmd {
    my ($self, @args) = @_;

    my $s = $self->_connect or die "connect to redis: $!";
    my $req = '';

    if ($self->{password}) {
        $req .= _encode('AUTH', $self->{password});
    }

    $req .= _encode(@args);
    print $s $req;

    _reply($s) if $self->{password};
    my $r = _reply($s);
    close $s;
    return $r;
}

sub _encode {
    my @a = @_;
    return '*' . @a . "\r\n" . join '', map { '$' . length($_) . "\r\n$_\r\n" } @a;
}

sub _reply {
    my ($s) = @_;
    my $line = <$s> // die "no reply from redis";
    $line =~ s/\r\n\z//;
    my $t = substr $line, 0, 1, '';
    return $line if $t eq '+' || $t eq ':';
    return "-$line" if $t eq '-';
    if ($t eq '$') {
        return undef if $line < 0;
        my $b = '';
        read($s, $b, $line + 2) // die;
        return substr $b, 0, $line;
    }
    if ($t eq '*') {
        return join "\n", map { _reply($s) // '' } 1 .. $line;
    }
    die "redis reply: $t$line";
}

# how many times a command ran since the start (INFO commandstats)
sub calls {
    my ($self, $name) = @_;
    my $info = $self->cmd('INFO', 'commandstats');
    return $info =~ /^cmdstat_\Q$name\E:calls=(\d+)/m ? $1 : 0;
}

sub stop {
    my ($self) = @_;
    return unless $self->{pid};
    kill 'TERM', $self->{pid};
    waitpid $self->{pid}, 0;
    delete $self->{pid};
}

sub restart {
    my ($self) = @_;
    $self->stop;
    $self->_run;
}

END {
    for my $s (@Servers) {
        $s->stop if $s->{owner} == $$;
    }
}

1;
