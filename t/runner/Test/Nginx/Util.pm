package Test::Nginx::Util;

# Server-side half of the t/runner test scaffold: settings, nginx.conf
# generation, server root layout, starting/stopping nginx (optionally under
# valgrind) and reading its logs.  Written for ngx_llm_module; it follows the
# data format and observable behaviour of Test::Nginx (openresty/test-nginx)
# so the same .t files run under either.  See t/runner/README.md.

use strict;
use warnings;

our $VERSION = '0.29_llm';

use Exporter ();
our @ISA = ('Exporter');

use Cwd ();
use File::Spec ();
use File::Path qw(make_path remove_tree);
use IO::Socket::INET ();
use POSIX qw(:sys_wait_h);
use Time::HiRes qw(sleep time);
use Carp qw(croak);
use Fcntl ();

# ---------------------------------------------------------------------------
# settings (same names and environment variables as Test::Nginx)
# ---------------------------------------------------------------------------

our $Verbose              = $ENV{TEST_NGINX_VERBOSE};
our $NginxBinary          = $ENV{TEST_NGINX_BINARY} || _default_binary();
our $LoadModules          = $ENV{TEST_NGINX_LOAD_MODULES};
our $UseValgrind          = $ENV{TEST_NGINX_USE_VALGRIND};
our $UseHttp2             = $ENV{TEST_NGINX_USE_HTTP2};
our $Randomize            = $ENV{TEST_NGINX_RANDOMIZE};
our $NoShuffle            = 1;    # blocks always run in file order
our $RepeatEach           = 1;
our $Workers              = 1;
our $WorkerConnections    = 64;
our $LogLevel             = $ENV{TEST_NGINX_LOG_LEVEL} || 'debug';
our $MasterProcessEnabled = $ENV{TEST_NGINX_MASTER_PROCESS} || 'off';
our $DaemonEnabled        = 'on';
our $ServerAddr           = '127.0.0.1';
our $ServerName           = 'localhost';
our $ServerPort           = $ENV{TEST_NGINX_SERVER_PORT} || $ENV{TEST_NGINX_PORT} || 1984;
our $ServerPortForClient  = $ENV{TEST_NGINX_CLIENT_PORT} || $ServerPort;
our $NoRootLocation       = 0;
our $TestNginxSleep       = $ENV{TEST_NGINX_SLEEP} || 0.015;
our $Timeout              = $ENV{TEST_NGINX_TIMEOUT} || 3;
our $CheckAccumErrLog     = $ENV{TEST_NGINX_CHECK_ACCUM_ERR_LOG};
our $PostponeOutput       = $ENV{TEST_NGINX_POSTPONE_OUTPUT};
our $EventType            = $ENV{TEST_NGINX_EVENT_TYPE};
our $ReusePort            = $ENV{TEST_NGINX_REUSE_PORT};
our $WorkerUser           = $ENV{TEST_NGINX_WORKER_USER};
our $NoNginxManager       = $ENV{TEST_NGINX_NO_NGINX_MANAGER} || 0;
our $NoLongString;
our $ConfigPreamble       = '';
our $FilterHttpConfig;
our $CheckLeak            = 0;    # TEST_NGINX_CHECK_LEAK: not supported
our $Benchmark            = 0;    # TEST_NGINX_BENCHMARK: not supported
our (@BlockPreprocessors, @CleanupHandlers, @EnvToNginx);
our ($NginxVersion, $NginxRawVersion, $OpenSSLVersion, %NginxBuild);
our $ErrLogFilePos = 0;
our $InSubprocess;
our ($RunTestHelper, $CheckErrorLog, $CheckShutdownErrorLog);
our $ChildPid;            # nginx (or valgrind) when we run it in the foreground
our $NginxPid;            # pid of the running nginx master / single process
our $NginxIsForeground;
our $StderrFile;

if (defined $WorkerUser && $WorkerUser !~ /^\w+(?:\s+\w+)?$/) {
    die "Bad value in the env TEST_NGINX_WORKER_USER: $WorkerUser\n";
}

if ($UseValgrind) {
    # nginx runs as our child in the foreground so that valgrind sees it
    # exit; the master process setting is kept as it is.
    $DaemonEnabled = 'off';
}

sub gen_rand_port (;$$);
sub bail_out (@);
sub cleanup ();

my $OwnerPid = $$;

# t/runner (where this file's Test/Nginx/ directory lives)
our $RunnerDir = do {
    (my $d = File::Spec->rel2abs(__FILE__)) =~ s{/Test/Nginx/Util\.pm$}{};
    $d;
};

# Become a "child subreaper" (Linux) so that the daemonised nginx processes
# are re-parented to us and can be reaped instead of lingering as zombies
# where PID 1 does not reap.
our $Subreaper = eval {
    require 'syscall.ph';
    syscall(&SYS_prctl, 36, 1, 0, 0, 0) == 0;    # PR_SET_CHILD_SUBREAPER
} ? 1 : 0;

srand($$ ^ time);

if ($Randomize) {
    my $port = gen_rand_port(1000);
    defined $port
        or die "TEST_NGINX_RANDOMIZE: cannot find a free port after 1000 tries\n";
    $ServerPort = $ServerPortForClient = $port;
}

our $ServRoot = $Randomize
    ? File::Spec->rel2abs("t/servroot_$ServerPort")
    : ($ENV{TEST_NGINX_SERVROOT} ? File::Spec->rel2abs($ENV{TEST_NGINX_SERVROOT})
                                  : File::Spec->rel2abs('t/servroot'));
$ServRoot =~ s{/+$}{};
$ENV{TEST_NGINX_SERVER_ROOT} = $ServRoot;

our $LogDir     = "$ServRoot/logs";
our $ErrLogFile = "$LogDir/error.log";
our $AccLogFile = "$LogDir/access.log";
our $HtmlDir    = "$ServRoot/html";
our $ConfDir    = "$ServRoot/conf";
our $ConfFile   = "$ConfDir/nginx.conf";
our $PidFile    = "$LogDir/nginx.pid";

our @EXPORT = qw(
    env_to_nginx is_str no_long_string server_addr server_name
    parse_time verbose sleep_time bail_out add_cleanup_handler
    access_log_data error_log_data setup_server_root write_config_file
    get_canon_version get_nginx_version trim show_all_chars parse_headers
    get_pid_from_pidfile add_block_preprocessor timeout worker_connections
    workers master_on master_off config_preamble repeat_each
    master_process_enabled log_level no_shuffle no_root_location html_dir
    server_root server_port server_port_for_client no_nginx_manager use_hup
    check_accum_error_log is_running use_http2
    $ServerPortForClient $ServerPort $NginxVersion $PidFile $ServRoot
    $ConfFile $RunTestHelper $CheckErrorLog $CheckShutdownErrorLog
    $FilterHttpConfig $NoNginxManager $RepeatEach $CheckLeak $Benchmark
    $NoLongString $ServerAddr $ServerName
);

# ---------------------------------------------------------------------------
# public setters/getters
# ---------------------------------------------------------------------------

sub _default_binary {
    for my $dir (split /:/, $ENV{PATH} || '') {
        next if $dir eq '';
        return "$dir/nginx" if -f "$dir/nginx" && -x _;
    }
    return '/usr/sbin/nginx' if -x '/usr/sbin/nginx';
    return 'nginx';
}

sub _getset { my $ref = shift; $$ref = shift if @_; return $$ref }

sub repeat_each (@)            { _getset(\$RepeatEach, @_) }
sub workers (@)                { _getset(\$Workers, @_) }
sub worker_connections (@)     { _getset(\$WorkerConnections, @_) }
sub log_level (@)              { _getset(\$LogLevel, @_) }
sub timeout (@)                { _getset(\$Timeout, @_) }
sub server_port (@)            { _getset(\$ServerPort, @_) }
sub server_port_for_client (@) { _getset(\$ServerPortForClient, @_) }
sub server_addr (@)            { _getset(\$ServerAddr, @_) }
sub server_name (@)            { _getset(\$ServerName, @_) }
sub no_shuffle ()              { $NoShuffle = 1 }
sub no_root_location ()        { $NoRootLocation = 1 }
sub no_long_string ()          { $NoLongString = 1 }
sub no_nginx_manager ()        { $NoNginxManager = 1 }
sub check_accum_error_log ()   { $CheckAccumErrLog = 1 }
sub master_on ()               { $MasterProcessEnabled = 'on' }
sub master_off ()              { $MasterProcessEnabled = 'off' }
sub config_preamble ($)        { $ConfigPreamble = shift }
sub html_dir ()                { $HtmlDir }
sub server_root ()             { $ServRoot }
sub sleep_time                 { $TestNginxSleep }
sub verbose                    { $Verbose }

sub master_process_enabled (@) {
    if (@_) { $MasterProcessEnabled = shift() ? 'on' : 'off'; return }
    return $MasterProcessEnabled;
}

sub use_hup () {
    warn "WARNING: use_hup()/TEST_NGINX_USE_HUP is not supported by the "
       . "t/runner scaffold; nginx is restarted for every block\n";
}

sub env_to_nginx (@) {
    croak "env_to_nginx: no arguments specified" unless @_;
    for my $v (@_) {
        croak "env_to_nginx: bad argument value: $v\n"
            if $v !~ /^[A-Za-z_]/ || $v =~ /\n/;
        push @EnvToNginx, $v;
    }
}

sub add_block_preprocessor (&) { unshift @BlockPreprocessors, shift }
sub add_cleanup_handler ($)    { unshift @CleanupHandlers, shift }

sub is_running ($) {
    my $pid = shift;
    return 0 unless $pid;
    waitpid($pid, WNOHANG) if $Subreaper;
    return 0 unless kill(0, $pid);
    # a daemonised nginx is not our child: if nobody reaps it, it stays a
    # zombie that kill(0) still reports as alive.
    if (open my $fh, '<', "/proc/$pid/stat") {
        my $stat = <$fh> // '';
        close $fh;
        return 0 if $stat =~ /^\d+ \(.*\) [ZX] /s;
    }
    return 1;
}

my $LoadedIPCRun;

sub use_http2 ($) {
    my $block = shift;
    my $cached = $block->{_tn_http2};
    return $cached->[0] if $cached;
    my $v;
    if (defined $block->http2) {
        bail_out("cannot use --- http2 with --- raw_request") if defined $block->raw_request;
        bail_out("cannot use --- http2 with --- pipelined_requests") if $block->pipelined_requests;
        $v = 1;
    } elsif ($UseHttp2 && !defined $block->raw_request && !$block->pipelined_requests
             && defined $block->request
             && (ref $block->request || $block->request !~ m{HTTP/1\.0}))
    {
        $v = 1;
    }
    # the real Test::Nginx sends HTTP/2 requests through IPC::Run (Debian:
    # libipc-run-perl): require it here too, so that a machine without it
    # fails the same way under both runners
    if ($v && !$LoadedIPCRun) {
        eval { require IPC::Run; 1 }
            or bail_out($block->name . " - HTTP/2 needs the IPC::Run Perl module "
                        . "(Debian: libipc-run-perl), as in the real Test::Nginx: $@");
        $LoadedIPCRun = 1;
    }
    $block->{_tn_http2} = [$v];
    return $v;
}

# ---------------------------------------------------------------------------
# small helpers shared with Socket.pm
# ---------------------------------------------------------------------------

sub parse_time ($) {
    my $tm = shift;
    return undef unless defined $tm;
    $tm =~ s/^\s+|\s+$//g;
    if ($tm =~ s/([^_a-zA-Z])ms$/$1/) { return $tm / 1000 }
    $tm =~ s/([^_a-zA-Z])s$/$1/;
    return $tm;
}

sub trim ($) {
    my $s = shift;
    return undef unless defined $s;
    $s =~ s/^\s+|\s+$//g;
    $s =~ s/\n/ /g;
    $s =~ s/\s{2,}/ /g;
    return $s;
}

sub show_all_chars ($) {
    my $s = shift;
    $s =~ s/\n/\\n/g;
    $s =~ s/\r/\\r/g;
    $s =~ s/\t/\\t/g;
    return $s;
}

# "Name: value" per line; "!Name" means "must be absent" (value undef).
# Returns a list of [name, value] in file order, later lines overriding.
sub parse_header_list ($) {
    my $s = shift;
    my (@order, %val);
    # as in Test::Nginx, a line without ":" (even a blank one) is an
    # "absent" check, which keeps the subtest count identical
    for my $line (split /\n/, $s // '') {
        $line =~ s/^\s+|\s+$//g;
        my ($k, $v);
        if ($line =~ s/^!\s*//) {
            $k = $line;
        } else {
            ($k, $v) = split /\s*:\s*/, $line, 2;
            $k //= '';
        }
        push @order, $k unless exists $val{$k};
        $val{$k} = $v;
    }
    return map { [$_, $val{$_}] } @order;
}

sub parse_headers ($) {
    my %h = map { ($_->[0] => $_->[1]) } parse_header_list(shift);
    return \%h;
}

sub is_str (@) {
    my ($got, $expected, $desc) = @_;
    local $Test::Builder::Level = $Test::Builder::Level + 1;
    if (ref $expected && ref $expected eq 'Regexp') {
        return Test::More::like($got, $expected, $desc);
    }
    if ($NoLongString) {
        return Test::More::is($got, $expected, $desc);
    }
    require Test::LongString;
    return Test::LongString::is_string($got, $expected, $desc);
}

sub bail_out (@) {
    cleanup();
    Test::More::BAIL_OUT(join '', @_);
}

sub gen_rand_port (;$$) {
    my ($tries, $used) = @_;
    $tries ||= 1000;
    $used ||= {};
    for (1 .. $tries) {
        my $port = int(rand 63550) + 1985;
        next if $used->{$port};
        my $ok = 1;
        for my $addr ('0.0.0.0', '127.0.0.1') {
            my $s = IO::Socket::INET->new(LocalAddr => $addr, LocalPort => $port,
                                          Proto => 'tcp', ReuseAddr => 1, Listen => 1);
            if ($s) { close $s } else { $ok = 0; last }
        }
        return $port if $ok;
    }
    return undef;
}

# ---------------------------------------------------------------------------
# nginx binary information
# ---------------------------------------------------------------------------

sub get_canon_version (@) { sprintf "%d.%03d%03d", $_[0], $_[1], $_[2] }

sub get_nginx_version () {
    return $NginxVersion if defined $NginxVersion;
    my $out = `$NginxBinary -V 2>&1`;
    if (!defined $out || $? != 0) {
        bail_out("Failed to run \"$NginxBinary -V\" (set TEST_NGINX_BINARY): "
                 . ($out // $!));
    }
    if ($out =~ m{built with OpenSSL (\d+)\.(\d+)\.(\d+)([a-z])?}) {
        $OpenSSLVersion = sprintf "%d.%03d%03d%03d", $1, $2, $3,
            defined $4 ? ord($4) - ord('a') : 0;
    }
    if ($out =~ m{(?:nginx|openresty)[^/]*/(\d+)\.(\d+)\.(\d+)} || $out =~ m{\w+/(\d+)\.(\d+)\.(\d+)}) {
        $NginxRawVersion = "$1.$2.$3";
        $NginxVersion = get_canon_version($1, $2, $3);
    } else {
        bail_out("Failed to parse the output of \"$NginxBinary -V\": $out");
    }
    %NginxBuild = ();
    if ($out =~ /configure arguments:(.*)/) {
        my $args = $1;
        while ($args =~ /--([\w-]+)(?:=(\S+))?/g) {
            $NginxBuild{$1} = defined $2 ? $2 : 1;
        }
    }
    return $NginxVersion;
}

# ---------------------------------------------------------------------------
# $TEST_NGINX_* expansion
# ---------------------------------------------------------------------------

sub expand_env_in_text ($$$) {
    my ($text, $name, $rand_ports) = @_;
    return undef unless defined $text;
    $text =~ s{\$(TEST_NGINX_[_A-Z0-9]+)}{
        my $var = $1;
        my $val;
        if ($var =~ /^TEST_NGINX_RAND_PORT_[0-9]+$/) {
            if (!defined $rand_ports->{$var}) {
                my %used = ($ServerPort => 1, map { $_ => 1 } values %$rand_ports);
                my $p = gen_rand_port(1000, \%used);
                bail_out("$name - Cannot find an available listening port number for $var.\n")
                    unless defined $p;
                $rand_ports->{$var} = $p;
            }
            $val = $rand_ports->{$var};
        } else {
            if (!defined $ENV{$var}) {
                my $hint = $var eq 'TEST_NGINX_HTML_DIR'
                    ? " (Test::Nginx does not set it; add \"\$ENV{TEST_NGINX_HTML_DIR} ||= html_dir();\" before run_tests())"
                    : '';
                bail_out("$name - No environment $var defined$hint.\n");
            }
            $val = $ENV{$var};
        }
        $val;
    }ge;
    return $text;
}

# ---------------------------------------------------------------------------
# server root
# ---------------------------------------------------------------------------

sub setup_server_root (;$) {
    if (-d $ServRoot) {
        # only remove what we create, in case TEST_NGINX_SERVROOT is misused
        remove_tree($ConfDir, $HtmlDir, $LogDir, glob("$ServRoot/*_cache"),
                    glob("$ServRoot/*_temp"));
    }
    for my $d ($ServRoot, $LogDir, $HtmlDir, $ConfDir) {
        next if -d $d;
        make_path($d) or bail_out("Failed to do mkdir $d: $!\n");
    }
    open my $out, '>', "$HtmlDir/index.html"
        or bail_out("Can't open $HtmlDir/index.html for writing: $!\n");
    print $out '<html><head><title>It works!</title></head><body>It works!</body></html>';
    close $out;
}

sub write_user_files ($$) {
    my ($block, $rand_ports) = @_;
    my $name = $block->name;
    my $files = $block->user_files;
    return unless $files;

    if (!ref $files) {
        my @list;
        my ($fname, $body, $date);
        for my $line (split /^/m, $files) {
            if ($line =~ /^>>> (\S+)(?:\s+(.+?))?\s*$/) {
                push @list, [$fname, $body, $date] if defined $fname;
                ($fname, $date, $body) = ($1, $2, undef);
            } else {
                $body .= $line;
            }
        }
        push @list, [$fname, $body, $date] if defined $fname;
        $files = \@list;
    } elsif (ref $files ne 'ARRAY') {
        bail_out("$name - wrong value type for --- user_files: ", ref $files,
                 ", only scalar or ARRAY are accepted");
    }

    for my $f (@$files) {
        my ($fname, $body, $date) = @$f;
        $body = '' unless defined $body;
        my $path = $fname =~ m{^/} ? $fname : "$HtmlDir/$fname";
        if ($path =~ m{(.*)/}) {
            my $dir = $1;
            make_path($dir) unless -d $dir;
        }
        $body = expand_env_in_text($body, $name, $rand_ports);
        open my $out, '>', $path or bail_out("$name - Cannot open $path for writing: $!\n");
        binmode $out;
        print $out $body;
        close $out;
        if ($date) {
            local $ENV{TZ} = 'GMT';
            system('touch', '-t', $date, $path) == 0
                or bail_out("$name - failed to set the time of $path to $date\n");
        }
    }
}

# ---------------------------------------------------------------------------
# nginx.conf
# ---------------------------------------------------------------------------

# Debian-style builds compile absolute temp paths (/var/lib/nginx/...) into
# nginx; keep everything inside the server root instead so the scaffold works
# without root and does not touch the system's nginx.
my @TempPaths = (
    ['http-client-body-temp-path', 'client_body_temp_path', undef],
    ['http-proxy-temp-path',       'proxy_temp_path',       'http_proxy_module'],
    ['http-fastcgi-temp-path',     'fastcgi_temp_path',     'http_fastcgi_module'],
    ['http-uwsgi-temp-path',       'uwsgi_temp_path',       'http_uwsgi_module'],
    ['http-scgi-temp-path',        'scgi_temp_path',        'http_scgi_module'],
);

sub _temp_path_config ($) {
    my $http_config = shift;
    my $out = '';
    for my $t (@TempPaths) {
        my ($opt, $directive, $module) = @$t;
        my $compiled = $NginxBuild{$opt};
        next unless defined $compiled && $compiled =~ m{^/};
        next if $module && $NginxBuild{"without-$module"};
        next if $http_config =~ /\b\Q$directive\E\b/;
        (my $dir = $directive) =~ s/_path$//;
        $out .= "    $directive $ServRoot/$dir;\n";
    }
    return $out;
}

sub write_config_file ($$$) {
    my ($block, $config, $rand_ports) = @_;
    my $name = $block->name;

    my $http_config      = expand_env_in_text($block->http_config, $name, $rand_ports) // '';
    my $main_config      = expand_env_in_text($block->main_config, $name, $rand_ports) // '';
    my $post_main_config = expand_env_in_text($block->post_main_config, $name, $rand_ports) // '';
    my $err_log_file     = $block->error_log_file || $ErrLogFile;
    my $server_name      = $block->server_name // $ServerName;
    my $log_level        = $block->log_level || $LogLevel;
    $config //= '';

    $http_config = $FilterHttpConfig->($http_config) if $FilterHttpConfig;

    my $modules = '';
    if ($LoadModules) {
        for my $m (grep { length } split /\s+/, $LoadModules) {
            next if $main_config =~ /\bload_module\s+\Q$m\E\s*;/;
            $modules .= "load_module $m;\n";
        }
    }

    my $env = '';
    for my $v (qw(LD_PRELOAD LD_LIBRARY_PATH ASAN_OPTIONS MOCKEAGAIN MOCKEAGAIN_VERBOSE
                  MOCKEAGAIN_WRITE_TIMEOUT_PATTERN MOCKNOEAGAIN MOCKNOEAGAIN_VERBOSE),
               @EnvToNginx)
    {
        my $e = $v =~ /\s/ ? "'$v'" : $v;
        $env .= "env $e;\n";
    }

    my $listen_opts = '';
    $listen_opts .= ' http2' if use_http2($block);
    $listen_opts .= ' reuseport' if $ReusePort;

    my $extra_http = _temp_path_config($http_config);
    if (defined $PostponeOutput && $http_config !~ /\bpostpone_output\b/) {
        bail_out("Bad TEST_NGINX_POSTPONE_OUTPUT value: $PostponeOutput\n")
            unless $PostponeOutput =~ /^\d+$/;
        $extra_http .= "    postpone_output $PostponeOutput;\n";
    }

    (my $qname = $server_name) =~ s/\\/\\\\/g;
    $qname =~ s/'/\\'/g;

    my $root_location = $NoRootLocation ? '' : <<_EOC_;
        location / {
            root $HtmlDir;
            index index.html index.htm;
        }
_EOC_

    my $user = '';
    if (defined $WorkerUser) {
        $user = "user $WorkerUser;\n";
    } elsif ($> == 0 && $main_config !~ /^\s*user\s/m) {
        $user = "user root;\n";
    }

    my $event_use = $EventType ? "    use $EventType;\n" : '';

    open my $out, '>', $ConfFile or bail_out("Can't open $ConfFile for writing: $!\n");
    print $out <<_EOC_;
# generated by the t/runner Test::Nginx scaffold for: $name
$modules
worker_processes  $Workers;
daemon $DaemonEnabled;
master_process $MasterProcessEnabled;
error_log $err_log_file $log_level;
pid       $PidFile;
$env
$main_config

http {
    access_log $AccLogFile;
    default_type text/plain;
    keepalive_timeout  68;
$extra_http
$http_config

    server {
        listen          $ServerPort$listen_opts;
        server_name     '$qname';

        client_max_body_size 30M;

        # Begin preamble config...
$ConfigPreamble
        # End preamble config...

        # Begin test case config...
$config
        # End test case config.

$root_location    }
}

$post_main_config

events {
    accept_mutex off;
    worker_connections  $WorkerConnections;
$event_use}
$user
_EOC_
    close $out;
}

# ---------------------------------------------------------------------------
# starting and stopping nginx
# ---------------------------------------------------------------------------

sub get_pid_from_pidfile ($) {
    my $name = shift;
    open my $in, '<', $PidFile or return undef;
    my $pid = do { local $/; <$in> };
    close $in;
    return undef unless defined $pid;
    $pid =~ s/\s+//g;
    return $pid =~ /^\d+$/ ? $pid : undef;
}

sub _nginx_cmd () {
    my @cmd = ($NginxBinary, '-p', "$ServRoot/", '-c', $ConfFile);
    # send startup errors ([emerg] ...) to the test's error.log, as a default
    # build of nginx does with "-p" (Debian's writes them to stderr only)
    push @cmd, '-e', $ErrLogFile if ($NginxVersion // 0) >= 1.019005;
    return @cmd;
}

sub valgrind_cmd () {
    my @cmd = ('valgrind', '-q');
    if ($UseValgrind =~ /^\d+$/) {
        push @cmd, '--tool=memcheck', '--leak-check=full', '--num-callers=30',
            '--show-leak-kinds=definite,indirect',
            '--errors-for-leak-kinds=definite,indirect', '--gen-suppressions=all';
    } else {
        push @cmd, split ' ', $UseValgrind;
    }
    # nginx's own false positives, then the project's suppressions
    my $builtin = "$RunnerDir/valgrind.suppress";
    push @cmd, "--suppressions=$builtin" if -f $builtin;
    for my $f ('t/valgrind.suppress', 'valgrind.suppress') {
        if (-f $f) {
            push @cmd, '--suppressions=' . File::Spec->rel2abs($f);
            last;
        }
    }
    push @cmd, "--log-file=$LogDir/valgrind.%p.log";
    return @cmd;
}

sub _slurp ($) {
    my $f = shift;
    open my $in, '<', $f or return '';
    local $/;
    my $s = <$in>;
    close $in;
    return $s // '';
}

sub _spawn ($$) {
    my ($cmd, $out_file) = @_;
    my $pid = fork();
    die "fork() failed: $!" unless defined $pid;
    if ($pid == 0) {
        $InSubprocess = 1;
        setpgrp(0, 0);
        open STDIN, '<', '/dev/null';
        open STDOUT, '>', $out_file or POSIX::_exit(126);
        open STDERR, '>&', \*STDOUT or POSIX::_exit(126);
        { no warnings "exec"; exec { $cmd->[0] } @$cmd; }
        print STDERR "exec $cmd->[0] failed: $!\n";
        POSIX::_exit(127);
    }
    return $pid;
}

sub _port_accepts ($) {
    my $port = shift;
    my $s = IO::Socket::INET->new(PeerAddr => $ServerAddr, PeerPort => $port,
                                  Proto => 'tcp', Timeout => 0.2);
    return 0 unless $s;
    close $s;
    return 1;
}

# Starts nginx with the config already written.  Returns a hash:
#   ok => 1 when nginx is up; status/exit_code/output when it is not.
sub start_nginx ($;$) {
    my ($name, $opts) = @_;
    $opts ||= {};
    my $foreground = $opts->{foreground};
    $StderrFile = "$LogDir/nginx.stderr";
    my @cmd = _nginx_cmd();

    if (!wait_port_free(1)) {
        return { ok => 0, status => -1, output => '', error =>
                 "port $ServerPort is in use by another process (another nginx? "
                 . "TEST_NGINX_RANDOMIZE=1 picks a free port)" };
    }

    if (!$foreground) {
        unlink $PidFile;
        my $pid = _spawn(\@cmd, $StderrFile);
        waitpid($pid, 0);
        my $status = $?;
        my $output = _slurp($StderrFile);
        if ($status != 0) {
            return { ok => 0, status => $status, exit_code => $status >> 8,
                     core => $status & 128, signal => $status & 127,
                     output => $output };
        }
        # the daemon writes its pid file right after forking
        my $deadline = time + 5;
        my $npid;
        until (defined($npid = get_pid_from_pidfile($name))) {
            last if time > $deadline;
            sleep 0.002;
        }
        if (!defined $npid) {
            _stop_nginx_children($name) if $Subreaper;
            return { ok => 0, status => 0, exit_code => 0, output => $output,
                     error => "nginx exited with 0 but wrote no pid file $PidFile" };
        }
        $NginxPid = $npid;
        $NginxIsForeground = 0;
        return { ok => 1, status => 0, exit_code => 0, output => $output, pid => $npid };
    }

    # foreground: valgrind (or daemon off)
    unlink $PidFile;
    my @full = $UseValgrind ? (valgrind_cmd(), @cmd) : @cmd;
    my $pid = _spawn(\@full, $StderrFile);
    $ChildPid = $pid;
    # under valgrind nginx compiles its Hyperscan databases at valgrind's
    # pace: on a loaded machine that can take minutes
    my $deadline = time + ($ENV{TEST_NGINX_START_TIMEOUT}
                           || ($UseValgrind ? 600 : 10));
    my $step = 0.005;
    while (1) {
        my $r = waitpid($pid, WNOHANG);
        if ($r == $pid) {
            my $status = $?;
            undef $ChildPid;
            return { ok => 0, status => $status, exit_code => $status >> 8,
                     core => $status & 128, signal => $status & 127,
                     output => _slurp($StderrFile) };
        }
        if (-s $PidFile && _port_accepts($ServerPort)) {
            $NginxPid = $pid;
            $NginxIsForeground = 1;
            return { ok => 1, status => 0, pid => $pid, output => _slurp($StderrFile) };
        }
        if (time > $deadline) {
            # the child is ours whether or not it wrote its pid file: stop
            # it, or it binds the port later and every next block fails
            $NginxPid = $pid;
            $NginxIsForeground = 1;
            stop_nginx($name);
            return { ok => 0, status => -1, output => _slurp($StderrFile),
                     error => "nginx did not start listening on port $ServerPort in time" };
        }
        sleep $step;
        $step = 0.05 if ($step *= 2) > 0.05;
    }
}

# Stops the nginx we started (gracefully first: QUIT, then TERM, then KILL).
sub stop_nginx (;$) {
    my $name = shift // '';
    my $pid = $NginxPid;
    $pid = get_pid_from_pidfile($name) if !$pid && -f $PidFile;
    return unless $pid;

    my $fg = $NginxIsForeground && defined $ChildPid && $ChildPid == $pid;
    my $gone = sub {
        if ($fg) {
            my $r = waitpid($pid, WNOHANG);
            return 1 if $r == $pid || $r == -1;
            return 0;
        }
        return !is_running($pid);
    };

    if (!$gone->()) {
        my @plan = $UseValgrind && $fg
            ? (['QUIT', 60], ['TERM', 10], ['KILL', 5])
            : (['QUIT', 1.5], ['TERM', 3], ['KILL', 2]);
        for my $step (@plan) {
            my ($sig, $wait) = @$step;
            if ($sig eq 'KILL') {
                warn "$name - WARNING: killing nginx (pid $pid) with SIGKILL\n";
                kill 'KILL', -$pid;    # the whole process group (workers too)
                kill 'KILL', $pid;
            } else {
                kill $sig, $pid;
            }
            my $deadline = time + $wait;
            my $nap = 0.001;
            until ($gone->()) {
                last if time > $deadline;
                sleep $nap;
                $nap = 0.02 if ($nap *= 2) > 0.02;
            }
            last if $gone->();
        }
    }
    undef $ChildPid if $fg;
    undef $NginxPid;
    undef $NginxIsForeground;
    unlink $PidFile if -f $PidFile && !is_running($pid);
    return 1;
}

# Two runs sharing a server root or a port would wipe each other's files,
# kill each other's nginx or fail to bind: the later one waits instead.
# The server root lock is taken on the directory itself (nothing extra is
# left in it); the port lock is a file in the system's temp directory.
our @ResourceLocks;

sub _wait_lock ($$) {
    my ($fh, $what) = @_;
    return 1 if flock($fh, Fcntl::LOCK_EX() | Fcntl::LOCK_NB());
    warn "# $what is in use by another test run; waiting for it "
       . "(TEST_NGINX_RANDOMIZE=1 gives each run its own)\n";
    my $deadline = time + ($ENV{TEST_NGINX_LOCK_TIMEOUT} || 1800);
    until (flock($fh, Fcntl::LOCK_EX() | Fcntl::LOCK_NB())) {
        bail_out("$what: still in use by another test run after waiting") if time > $deadline;
        sleep 0.2;
    }
    return 1;
}

# stop our nginx when the test process is interrupted (no END then)
sub install_signal_handlers () {
    my %signum = (HUP => 1, INT => 2, PIPE => 13, TERM => 15);
    for my $sig (sort keys %signum) {
        my $old = $SIG{$sig};
        next if defined $old && ref $old;    # the test installed its own
        $SIG{$sig} = sub {
            return if $$ != $OwnerPid;
            local $SIG{$sig} = 'DEFAULT';
            eval { cleanup() };
            remove_tree($ServRoot) if $Randomize && $ServRoot =~ m{/t/servroot_\d+$};
            POSIX::_exit(128 + $signum{$sig});
        };
    }
}

sub lock_server_root () {
    return if @ResourceLocks;
    make_path($ServRoot) unless -d $ServRoot;
    if (open my $fh, '<', $ServRoot) {
        _wait_lock($fh, $ServRoot);
        push @ResourceLocks, $fh;
    }
    my $lock = File::Spec->catfile(File::Spec->tmpdir, "t-runner-nginx-port-$ServerPort.lock");
    # (read-only when it exists: fs.protected_regular forbids O_CREAT on
    # another user's file in /tmp)
    my $fh;
    if (-e $lock ? open($fh, '<', $lock) : open($fh, '>>', $lock)) {
        chmod 0666, $lock;
        _wait_lock($fh, "port $ServerPort");
        push @ResourceLocks, $fh;
    }
}

# is the server port free for nginx to bind?  (give a just-stopped
# server a moment; fail fast rather than let nginx retry for 2.5s)
sub wait_port_free ($) {
    my $wait = shift;
    my $deadline = time + $wait;
    while (1) {
        my $s = IO::Socket::INET->new(LocalAddr => '0.0.0.0', LocalPort => $ServerPort,
                                      Proto => 'tcp', ReuseAddr => 1, Listen => 1);
        if ($s) { close $s; return 1 }
        return 0 if time > $deadline;
        sleep 0.02;
    }
}

# nginx processes of this server root that are our children: daemons are
# re-parented to us (subreaper), so even one whose pid file vanished can be
# found and stopped
sub _our_nginx_children () {
    my @pids;
    for my $stat (glob '/proc/[0-9]*/stat') {
        my $s = _slurp($stat);
        next unless $s =~ /^(\d+) \((.*)\) \S+ (\d+) /s && $3 == $$;
        my $pid = $1;
        (my $cmd = _slurp("/proc/$pid/cmdline")) =~ tr/\0/ /;
        push @pids, $pid if $cmd =~ /nginx/ && index($cmd, $ServRoot) >= 0;
    }
    return @pids;
}

sub _stop_nginx_children ($) {
    my $name = shift;
    for my $pid (_our_nginx_children()) {
        next if defined $ChildPid && $pid == $ChildPid;
        local $NginxPid = $pid;
        local $NginxIsForeground = 0;
        stop_nginx($name);
    }
}

# kill an nginx left running in this server root by an earlier run
sub kill_stale_nginx () {
    return unless -f $PidFile;
    my $pid = get_pid_from_pidfile('');
    if ($pid && is_running($pid)) {
        (my $cmdline = _slurp("/proc/$pid/cmdline")) =~ tr/\0/ /;
        if ($cmdline =~ /nginx|valgrind/ && index($cmdline, $ServRoot) >= 0) {
            $NginxPid = $pid;
            $NginxIsForeground = 0;
            stop_nginx('stale');
        }
    }
    unlink $PidFile;
}

# valgrind's findings for the nginx process(es) that just exited
sub valgrind_report () {
    my $report = '';
    for my $f (sort glob("$LogDir/valgrind.*.log")) {
        my $text = _slurp($f);
        my @records;
        my $cur = '';
        for my $line (split /\n/, $text) {
            if ($line =~ /^==\d+==\s*$/) {
                push @records, $cur if $cur ne '';
                $cur = '';
                next;
            }
            $cur .= "$line\n";
        }
        push @records, $cur if $cur ne '';
        for my $r (@records) {
            # valgrind's own warnings are not errors in nginx
            next if $r =~ /\A==\d+== Warning: / && $r !~ /^==\d+== (?!Warning|   )/m;
            $report .= $r . "\n";
        }
    }
    return $report;
}

# ---------------------------------------------------------------------------
# logs
# ---------------------------------------------------------------------------

sub error_log_tail (;$) {
    my $n = shift || 30;
    my @log = split /^/m, _slurp($ErrLogFile);
    return join '', @log > $n ? @log[-$n .. -1] : @log;
}

# wait until nginx stopped writing to the file (the log phase and cleanup
# handlers run just before the connection is closed, but be tolerant)
sub _settle_file ($) {
    my $file = shift;
    my $nap = $UseValgrind ? 0.1 : $TestNginxSleep;
    sleep $nap;
    my $size = -s $file // -1;
    for (1 .. 40) {
        sleep($UseValgrind ? 0.05 : 0.005);
        my $now = -s $file // -1;
        last if $now == $size;
        $size = $now;
    }
}

sub error_log_data () {
    _settle_file($ErrLogFile);
    open my $in, '<', $ErrLogFile or return [];
    if (!$CheckAccumErrLog && $ErrLogFilePos > 0) {
        seek $in, $ErrLogFilePos, 0;
    }
    my @lines = <$in>;
    $ErrLogFilePos = tell($in) unless $CheckAccumErrLog;
    close $in;
    return \@lines;
}

sub access_log_data () {
    _settle_file($AccLogFile);
    open my $in, '<', $AccLogFile or return [];
    my @lines = <$in>;
    close $in;
    return \@lines;
}

# ---------------------------------------------------------------------------
# cleanup
# ---------------------------------------------------------------------------

sub cleanup () {
    return if $$ != $OwnerPid;
    $_->() for @CleanupHandlers;
    @CleanupHandlers = ();
    return if $ENV{TEST_NGINX_NO_CLEAN};
    stop_nginx('cleanup') if $NginxPid;
    _stop_nginx_children('cleanup') if $Subreaper;
}

END {
    if ($$ == $OwnerPid && !$InSubprocess) {
        local $?;
        cleanup();
        if ($Randomize && defined $ServRoot && -d $ServRoot
            && $ServRoot =~ m{/t/servroot_\d+$} && !$ENV{TEST_NGINX_NO_CLEAN})
        {
            remove_tree($ServRoot);
        }
    }
}

1;
