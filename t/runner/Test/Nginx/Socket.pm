package Test::Nginx::Socket;

# Client/test half of the t/runner test scaffold for ngx_llm_module.
#
# It reads the same data format as Test::Nginx::Socket (openresty/test-nginx):
# a Test::Base spec after __DATA__, "=== TEST n: name" blocks with
# "--- section [filters]" parts, the same exported functions, section
# semantics and number of subtests per block, so one .t file runs unchanged
# under either.  It exists because Test::Nginx is not packaged for Debian.
# See t/runner/README.md for what is supported.

use v5.10.1;
use strict;
use warnings;

use Test::Base -base;    # lower-case: subclass without Spiffy's source filter

our $VERSION = '0.29_llm';

use Encode ();
use Digest::MD5 ();
use Digest::SHA ();
use File::Temp ();
use HTTP::Response ();
use IO::Select ();
use IO::Socket::INET ();
use List::Util qw(min);
use POSIX qw(EAGAIN EWOULDBLOCK EINTR :sys_wait_h);
use Scalar::Util qw(looks_like_number);
use Time::HiRes qw(sleep time);
use Test::LongString ();

use Test::Nginx::Util;

our @EXPORT = qw(
    env_to_nginx is_str plan run_tests run_test repeat_each config_preamble
    worker_connections master_process_enabled no_long_string workers
    master_on master_off log_level no_shuffle no_root_location use_hup
    server_name server_addr server_root html_dir server_port
    server_port_for_client timeout no_nginx_manager check_accum_error_log
    add_block_preprocessor bail_out add_cleanup_handler
    add_response_body_check
);

sub _value_contains ($$);

our @ResponseBodyChecks;
our $PrevConfigBlock;
our $TotalConnectFailures = 0;

$RunTestHelper         = \&run_test_helper;
$CheckErrorLog         = \&check_error_log;
$CheckShutdownErrorLog = \&check_shutdown_error_log;

sub add_response_body_check ($) { push @ResponseBodyChecks, shift }
sub set_http_config_filter ($)  { $Test::Nginx::Util::FilterHttpConfig = shift }

sub _verbose { warn "[t/runner] @_\n" if $Test::Nginx::Util::Verbose }

# ===========================================================================
# main loop
# ===========================================================================

sub run_tests () {
    get_nginx_version();

    if ($Test::Nginx::Util::Randomize || !defined $ENV{TEST_NGINX_SERVER_PORT}) {
        $ENV{TEST_NGINX_SERVER_PORT} = $Test::Nginx::Util::ServerPort;
    }

    if (!$Test::Nginx::Util::NoNginxManager) {
        Test::Nginx::Util::install_signal_handlers();
        Test::Nginx::Util::lock_server_root();
        Test::Nginx::Util::kill_stale_nginx();
    }

    for my $block (Test::Base::blocks()) {
        $_->($block) for @Test::Nginx::Util::BlockPreprocessors;
        $block->set_value('name', "$0 " . $block->name);
        run_test($block);
    }

    Test::Nginx::Util::cleanup();
}

sub _check_eval_errors ($) {
    my $block = shift;
    my $map = $block->{_section_map} && $block->{_section_map}[0] or return;
    for my $sec (keys %$map) {
        next unless ($map->{$sec}{filters} // '') =~ /\beval\b/;
        my $v = $block->$sec;
        next if ref $v || !defined $v;
        if ($v =~ /at \(eval \d+\) line \d+/) {
            bail_out($block->name . " - the \"eval\" filter of --- $sec failed: $v");
        }
    }
}

sub _skip_spec ($) {
    my $block = shift;
    my $name = $block->name;
    my ($n, $skip, $reason);
    my $ver = $Test::Nginx::Util::NginxVersion;

    my $cmp = sub {
        my ($op, $a, $b) = @_;
        return $op eq '<'  ? $a < $b  : $op eq '<=' ? $a <= $b
             : $op eq '>'  ? $a > $b  : $a >= $b;
    };

    if (defined(my $spec = $block->skip_eval)) {
        if ($spec =~ /^\s*(\d+)\s*:\s*(.*)/s) {
            $n = $1;
            my $code = $2;
            $reason = 'skip_eval';
            $skip = eval $code;
            bail_out("$name - skip_eval - failed to eval the Perl code \"$code\": $@") if $@;
        }
    }
    if (defined(my $spec = $block->skip_nginx)) {
        $spec =~ /^\s*(\d+)\s*:\s*([<>]=?)\s*(\d+)\.(\d+)\.(\d+)(?:\s*:\s*(.*))?\s*$/
            or bail_out("$name - Invalid --- skip_nginx spec: $spec");
        $n = $1;
        $reason = $6 || "nginx version $2 $3.$4.$5";
        $skip = 1 if $cmp->($2, $ver, get_canon_version($3, $4, $5));
    } elsif (defined(my $spec2 = $block->skip_nginx2)) {
        $spec2 =~ /^\s*(\d+)\s*:\s*([<>]=?)\s*(\d+)\.(\d+)\.(\d+)\s*(or|and)\s*([<>]=?)\s*(\d+)\.(\d+)\.(\d+)(?:\s*:\s*(.*))?\s*$/
            or bail_out("$name - Invalid --- skip_nginx2 spec: $spec2");
        $n = $1;
        $reason = $11 || 'nginx version';
        my $x = $cmp->($2, $ver, get_canon_version($3, $4, $5));
        my $y = $cmp->($7, $ver, get_canon_version($8, $9, $10));
        $skip = 1 if $6 eq 'or' ? ($x || $y) : ($x && $y);
    }
    if (defined(my $spec = $block->skip_openssl)) {
        $spec =~ /^\s*(\d+)\s*:\s*([<>]=?)\s*(\d+)\.(\d+)\.(\d+)([a-z])?(?:\s*:\s*(.*))?\s*$/
            or bail_out("$name - Invalid --- skip_openssl spec: $spec");
        $n = $1;
        $reason = $7 || "OpenSSL version $2 $3.$4.$5" . ($6 // '');
        my $want = sprintf "%d.%03d%03d%03d", $3, $4, $5, defined $6 ? ord($6) - ord('a') : 0;
        my $have = $Test::Nginx::Util::OpenSSLVersion;
        $skip = 1 if !defined $have || $cmp->($2, $have, $want);
    }

    my ($todo, $todo_reason);
    if (defined(my $spec = $block->todo_nginx)) {
        $spec =~ /^\s*([<>]=?)\s*(\d+)\.(\d+)\.(\d+)(?:\s*:\s*(.*))?\s*$/
            or bail_out("$name - Invalid --- todo_nginx spec: $spec");
        $todo_reason = $5;
        $todo = 1 if $cmp->($1, $ver, get_canon_version($2, $3, $4));
    }
    if (defined(my $spec = $block->todo)) {
        $spec =~ /^\s*(\d+)\s*:\s*(.*)/s or bail_out("$name - Invalid --- todo spec: $spec");
        ($todo, $n, $todo_reason) = (1, $1, $2);
    }

    return ($n, $skip, $reason // 'various reasons', $todo, $todo_reason // 'various reasons');
}

sub run_test ($) {
    my $block = shift;
    my $name = $block->name;

    return if defined $block->SKIP;
    _check_eval_errors($block);

    # a block without --- config keeps the previous block's server config
    if (!defined $block->config) {
        # the real Test::Nginx does not restart nginx for a block without
        # --- config: that block's own http_config, main_config,
        # post_main_config and user_files would be silently ignored there
        for my $sec (qw(http_config main_config post_main_config user_files)) {
            bail_out("$name - --- $sec in a block without --- config: the real "
                     . "Test::Nginx keeps the previous block's nginx running and "
                     . "ignores it; give the block its own --- config")
                if defined $block->$sec && !$Test::Nginx::Util::NoNginxManager;
        }
        if ($PrevConfigBlock) {
            for my $sec (qw(config http_config main_config post_main_config)) {
                next if defined $block->$sec;
                my $v = $PrevConfigBlock->$sec;
                $block->set_value($sec, $v) if defined $v;
            }
        } elsif (!$Test::Nginx::Util::NoNginxManager) {
            bail_out("$name - No '--- config' section specified and could not get previous one. Use TEST_NGINX_NO_NGINX_MANAGER ?");
        }
    } else {
        $PrevConfigBlock = $block;
    }

    # sections the real Test::Nginx reads but never checks: of
    # response_body_eval, response_body, response_body_like and
    # response_body_unlike the first given wins (if/elsif there), the others
    # would assert nothing
    my @body = grep { defined $block->$_ }
        qw(response_body_eval response_body response_body_like response_body_unlike);
    bail_out("$name - --- $body[0] and --- $body[1]: the real Test::Nginx checks only "
             . "--- $body[0] and ignores the other; merge them into one (e.g. a "
             . "negative look-ahead, ^(?!.*unwanted) in a response_body_like)")
        if @body > 1;

    # the same for the other sections the real runner reads with if/elsif:
    # the first of each list that is given wins, the others are ignored
    for my $set ([qw(error_code_like error_code)],
                 [qw(response_headers response_headers_like)],
                 [qw(raw_request pipelined_requests request_eval request)],
                 [qw(skip_nginx skip_nginx2)])
    {
        my @given = grep { defined $block->$_ } @$set;
        bail_out("$name - --- $given[0] and --- $given[1]: the real Test::Nginx checks only "
                 . "--- $given[0] and ignores the other"
                 . ($given[0] eq 'response_headers'
                    ? "; check the pattern with --- raw_response_headers_like" : ""))
            if @given > 1;
    }

    my $rand_ports = {};
    my $config = Test::Nginx::Util::expand_env_in_text($block->config, $name, $rand_ports);

    my ($tests_to_skip, $should_skip, $skip_reason, $should_todo, $todo_reason) = _skip_spec($block);
    my $dry_run = 0;

    if (defined $block->must_die && !$Test::Nginx::Util::NoNginxManager && !$should_skip) {
        _run_must_die($block, $config, $rand_ports);
        return;
    }

    my $started;
    if (!$Test::Nginx::Util::NoNginxManager && !$should_skip) {
        Test::Nginx::Util::stop_nginx($name);
        setup_server_root();
        Test::Nginx::Util::write_user_files($block, $rand_ports);
        write_config_file($block, $config, $rand_ports);
        _verbose("starting nginx for $name");
        warn "$name\n" if $Test::Nginx::Util::UseValgrind;
        my $r = Test::Nginx::Util::start_nginx($name,
                    { foreground => $Test::Nginx::Util::DaemonEnabled eq 'off' });
        if (!$r->{ok}) {
            my $out = $r->{output} // '';
            my $missing;
            if ($ENV{TEST_NGINX_IGNORE_MISSING_DIRECTIVES}
                && (_slurp_log() . $out) =~ /\[emerg\] .*?unknown directive "([^"]+)"/)
            {
                $missing = $1;
            }
            if ($missing) {
                $dry_run = "the lack of directive $missing";
            } else {
                _report_start_failure($block, $r);
                return;
            }
        } else {
            $started = 1;
        }
    }

    if (defined $block->init) {
        eval $block->init;
        bail_out("$name - init failed: $@") if $@;
    }

    $Test::Nginx::Util::ErrLogFilePos = 0;
    for my $i (1 .. $Test::Nginx::Util::RepeatEach) {
        Test::Nginx::Util::write_user_files($block, $rand_ports) if $i > 1 && !$should_skip;
        my $tcp = $should_skip ? undef : _start_tcp_server($block);
        if ($should_skip && defined $tests_to_skip) {
            SKIP: {
                skip("$name - $skip_reason", $tests_to_skip);
            }
        } elsif ($should_todo) {
            TODO: {
                todo_skip("$name - $todo_reason", $tests_to_skip // 1);
            }
        } else {
            run_test_helper($block, $dry_run, $i - 1);
        }
        _finish_tcp_server($block, $tcp);
    }

    if (my $total = $ENV{TEST_NGINX_ERROR_LOG}) {
        my $log = _slurp_log();
        if (length $log && open my $out, '>>', $total) {
            print $out "\n=== $name\n", $log;
            close $out;
        }
    }

    if ($started && !$ENV{TEST_NGINX_NO_CLEAN}) {
        Test::Nginx::Util::stop_nginx($name);
        check_shutdown_error_log($block, $dry_run)
            if defined $block->shutdown_error_log || defined $block->no_shutdown_error_log;
        if ($Test::Nginx::Util::UseValgrind) {
            my $report = Test::Nginx::Util::valgrind_report();
            if ($report ne '') {
                fail("$name - valgrind reported memory errors or leaks");
                diag($report);
            }
        }
    }
}

sub _slurp_log () { Test::Nginx::Util::_slurp($Test::Nginx::Util::ErrLogFile) }

sub _report_start_failure ($$) {
    my ($block, $r) = @_;
    my $name = $block->name;
    my $why = $r->{error}
        // ($r->{signal} ? "killed by signal $r->{signal}" : "exit code " . ($r->{exit_code} // '?'));
    fail("$name - nginx failed to start ($why)");
    my $out = $r->{output} // '';
    my $tail = Test::Nginx::Util::error_log_tail(30);
    $out .= "(hint: another server holds port $Test::Nginx::Util::ServerPort; "
          . "TEST_NGINX_RANDOMIZE=1 picks a free port)\n"
        if $out =~ /Address already in use/;
    my $show_log = $tail ne '' && ($out !~ /\[emerg\]/ || $tail !~ /\[emerg\]/);
    diag("nginx command: " . join(' ', Test::Nginx::Util::_nginx_cmd()) . "\n"
         . ($out ne '' ? "nginx output:\n$out" : '')
         . ($show_log ? "tail of $Test::Nginx::Util::ErrLogFile:\n$tail" : '')
         . "config: $Test::Nginx::Util::ConfFile");
}

sub _run_must_die ($$$) {
    my ($block, $config, $rand_ports) = @_;
    my $name = $block->name;
    my $must_die = $block->must_die;

    # nginx must exit by itself: no valgrind, no foreground mode
    local $Test::Nginx::Util::UseValgrind;
    local $Test::Nginx::Util::DaemonEnabled = 'on';

    Test::Nginx::Util::stop_nginx($name);
    for my $i (0 .. $Test::Nginx::Util::RepeatEach - 1) {
        setup_server_root();
        Test::Nginx::Util::write_user_files($block, $rand_ports);
        write_config_file($block, $config, $rand_ports);
        my $r = Test::Nginx::Util::start_nginx($name, { must_die => 1 });
        my $status = $r->{status};

        if (($Test::Nginx::Util::NginxVersion // 0) < 1.019005 && ($r->{output} // '') ne '') {
            # no "-e": startup errors went to stderr only; make them visible
            # to --- error_log like a stock build of nginx would
            if (open my $out, '>>', $Test::Nginx::Util::ErrLogFile) {
                print $out $r->{output};
                close $out;
            }
        }

        if ($status == -1 || ($r->{exit_code} // 0) == 127 && ($r->{output} // '') =~ /^exec .* failed/m) {
            fail("$name - failed to execute the nginx command line");
        } elsif ($r->{core}) {
            fail("$name - nginx core dumped");
        } elsif (looks_like_number($must_die)) {
            is($r->{exit_code}, $must_die, "$name - die with the expected exit code");
        } else {
            isnt($status, 0, "$name - die as expected");
        }

        $Test::Nginx::Util::ErrLogFilePos = 0;
        check_error_log($block, undef, 0, $i, 0);

        if ($status == 0) {
            warn "WARNING: $name - nginx must die but it does not; killing it (req $i)\n";
            Test::Nginx::Util::stop_nginx($name);
        }
    }
}

# ===========================================================================
# requests
# ===========================================================================

sub _parse_more_headers ($) {
    my $in = shift // '';
    my ($out, $chunked) = ('', 0);
    for my $h (split /\n+/, $in) {
        next if $h =~ /^\s*#/;
        my ($k, $v) = split /:\s*/, $h, 2;
        next unless defined $k && length $k;
        $v //= '';
        $chunked = 1 if lc($k) eq 'transfer-encoding' && $v eq 'chunked';
        $out .= "$k: $v\r\n";
    }
    return ($out, $chunked);
}

# Turns "METHOD [URI [HTTP/x.y]]\n[body]" split over packets into a complete
# HTTP request split at the corresponding places.  Returns [ {value,...}, ...].
sub _build_request ($$$$) {
    my ($name, $more_headers, $conn, $packets) = @_;

    my @vals = map { ref $_ ? $_->{value} // '' : $_ } @$packets;
    my $raw = join '', @vals;

    my ($hdrs, $chunked) = _parse_more_headers($more_headers);

    $raw =~ /\A(\s*)/;
    my $skip = length $1;
    my $nl = index($raw, "\n", $skip);
    my $line_end = $nl < 0 ? length $raw : $nl;          # offset of "\n"
    my $first = substr($raw, $skip, $line_end - $skip);
    $first =~ s/\r$//;
    if ($first eq '') {
        bail_out("$name - Request line should be non-empty");
    }
    $first =~ /^(\S+)(?:[ \t]+(\S+))?(?:[ \t]+(\S+))?[ \t]*$/
        or bail_out("$name - Request line is not valid. Should be 'meth [url [version]]' but got \"$first\".");
    my ($meth, $url, $ver) = ($1, $2 // '/', $3 // 'HTTP/1.1');

    my $body_start = $nl < 0 ? length $raw : $nl + 1;
    my $body_end = length $raw;
    my $body = substr($raw, $body_start);
    my $len_header = '';
    # (the same tests as Test::Nginx, including their case sensitivity)
    if (!$chunked && $body ne '' && $hdrs !~ /(?:^|\n)Content-Length:/) {
        $body =~ /\A(\s*)/;
        $body_start += length $1;
        $body =~ /(\s*)\z/;
        $body_end -= length $1;
        $body_end = $body_start if $body_end < $body_start;
        $body = substr($raw, $body_start, $body_end - $body_start);
        $len_header = 'Content-Length: ' . length($body) . "\r\n";
    }

    my $headers = '';
    $headers .= "Host: $Test::Nginx::Util::ServerName\r\n" if $hdrs !~ /(?:^|\n)Host:/i;
    $headers .= "Connection: $conn\r\n" if $hdrs !~ /(?:^|\n)Connection/i;
    $headers .= $hdrs . $len_header . "\r\n";

    my $reqline = "$meth $url $ver";
    my $prefix = "$reqline\r\n$headers";
    my $full = $prefix . $body;

    return [ { value => $full } ] if @$packets <= 1;

    # map the packet boundaries of the original text onto the new request
    my @cuts;
    my $off = 0;
    for my $k (0 .. $#vals - 1) {
        $off += length $vals[$k];
        my $pos;
        if ($off <= $line_end) {
            $pos = $off - $skip;
            $pos = 0 if $pos < 0;
            $pos = length $reqline if $pos > length $reqline;
        } elsif ($off <= $body_start) {
            $pos = length $prefix;
        } else {
            $pos = length($prefix) + min($off, $body_end) - $body_start;
        }
        push @cuts, $pos;
    }
    my @out;
    my $prev = 0;
    for my $k (0 .. $#vals) {
        my $end = $k < $#vals ? $cuts[$k] : length $full;
        $end = $prev if $end < $prev;
        my %pkt = ref $packets->[$k] ? %{ $packets->[$k] } : ();
        $pkt{value} = substr($full, $prev, $end - $prev);
        push @out, \%pkt;
        $prev = $end;
    }
    return \@out;
}

# list of requests; each is a list of packets ({ value, delay_before })
sub get_req_from_block ($) {
    my $block = shift;
    my $name = $block->name;
    my @reqs;

    if (defined $block->raw_request) {
        my $rr = $block->raw_request;
        if (ref $rr && ref $rr eq 'ARRAY') {
            push @reqs, [ map { ref $_ ? $_ : { value => $_ } } @$rr ];
        } else {
            push @reqs, [ { value => $rr } ];
        }
        return \@reqs;
    }

    my $request;
    if (defined $block->request_eval) {
        diag("$name - request_eval DEPRECATED. Use request eval instead.");
        $request = eval $block->request_eval;
        warn $@ if $@;
    } else {
        $request = $block->request;
        if (defined $request && !ref $request) {
            1 while $request =~ s/^\s*#[^\n]+\s+|^\s+//gs;
        }
    }

    my $more = $block->more_headers // '';
    my $hdr_for = sub {
        my $i = shift;
        return $more unless ref $more eq 'ARRAY';
        my $h = $more->[$i];
        bail_out("$name - --- more_headers lacks data for request $i") unless defined $h;
        return $h;
    };

    if (my $p = $block->pipelined_requests) {
        bail_out("$name - invalid entries in --- pipelined_requests")
            unless ref $p eq 'ARRAY';
        my $all = '';
        for my $i (0 .. $#$p) {
            my $conn = $i == $#$p ? 'close' : 'keep-alive';
            $all .= _build_request($name, $hdr_for->($i), $conn, [ $p->[$i] ])->[0]{value};
        }
        push @reqs, [ { value => $all } ];
        return \@reqs;
    }

    bail_out("$name - no --- request (or --- raw_request) section") unless defined $request;

    if (!ref $request) {
        push @reqs, _build_request($name, $hdr_for->(0), 'close', [ $request ]);
    } elsif (ref $request eq 'ARRAY') {
        for my $i (0 .. $#$request) {
            my $one = $request->[$i];
            if (!ref $one) {
                push @reqs, _build_request($name, $hdr_for->($i), 'close', [ $one ]);
            } elsif (ref $one eq 'ARRAY') {
                for (@$one) {
                    bail_out("$name - Invalid syntax. $_ should be a string or hash with value.")
                        if ref $_ && ref $_ ne 'HASH';
                }
                push @reqs, _build_request($name, $hdr_for->($i), 'close', $one);
            } else {
                bail_out("$name - Invalid syntax. $one should be a string or an array of packets.");
            }
        }
    } else {
        bail_out("$name - invalid --- request: MUST be string or array of requests");
    }
    return \@reqs;
}

# Does the client expect the server to close the connection after the
# (last) response?  If not, we stop reading once the response is complete.
sub _expects_close ($) {
    my $req = shift;
    my $end = index($req, "\r\n\r\n");
    my $head = $end < 0 ? $req : substr($req, 0, $end);
    my ($ver) = $head =~ m{^\s*\S+\s+\S+\s+HTTP/(\d\.\d)};
    return 1 unless defined $ver;    # HTTP/0.9 or garbage: read to EOF
    if ($head =~ /^Connection\s*:\s*([^\r\n]*)/mi) {
        my $v = lc $1;
        return 1 if $v =~ /close/;
        return 0 if $v =~ /keep-alive/ || $v =~ /upgrade/;
    }
    return $ver eq '1.0' ? 1 : 0;
}

# scan a chunked body: returns (decoded, end_offset) or (undef, undef, error)
sub _dechunk ($) {
    my $raw = shift;
    my $pos = 0;
    my $out = '';
    while (1) {
        my $nl = index($raw, "\r\n", $pos);
        if ($nl < 0) {
            return (undef, undef, $pos >= length $raw
                ? 'no last chunk found' : 'invalid chunked body received: ' . substr($raw, $pos, 64));
        }
        my $line = substr($raw, $pos, $nl - $pos);
        if ($line !~ /^[ \t]*([0-9A-Fa-f]+)[ \t]*(?:;.*)?$/) {
            return (undef, undef, 'invalid chunked body received: ' . substr($raw, $pos, 64));
        }
        my $size = hex $1;
        $pos = $nl + 2;
        if ($size == 0) {
            # trailer section, up to the empty line
            while (1) {
                my $e = index($raw, "\r\n", $pos);
                return (undef, undef, 'no last chunk found (incomplete trailer)') if $e < 0;
                my $empty = $e == $pos;
                $pos = $e + 2;
                return ($out, $pos) if $empty;
            }
        }
        if (length($raw) - $pos < $size) {
            return (undef, undef, 'invalid chunked data received (not enough octets for the data section)');
        }
        $out .= substr($raw, $pos, $size);
        $pos += $size;
        if (substr($raw, $pos, 2) ne "\r\n") {
            return (undef, undef, length($raw) - $pos < 2
                ? 'invalid chunked data received (not enough octets for the data section)'
                : 'invalid chunked data received (expected CRLF).');
        }
        $pos += 2;
    }
}

sub _response_complete ($$) {
    my ($buf, $head_req) = @_;
    my $start = 0;
    while (1) {
        my $end = index($buf, "\r\n\r\n", $start);
        return 0 if $end < 0;
        my $head = substr($buf, $start, $end - $start);
        my ($code) = $head =~ m{^\S+\s+(\d{3})};
        return 0 unless defined $code;
        my $body_off = $end + 4;
        if ($code =~ /^1/ && $code != 101) {    # interim response
            $start = $body_off;
            next;
        }
        return 1 if $head_req || $code == 204 || $code == 304 || $code == 101;
        if ($head =~ /^Transfer-Encoding\s*:\s*chunked\s*$/mi) {
            my (undef, $e) = _dechunk(substr($buf, $body_off));
            return defined $e ? 1 : 0;
        }
        if ($head =~ /^Content-Length\s*:\s*(\d+)\s*$/mi) {
            return length($buf) - $body_off >= $1 ? 1 : 0;
        }
        return 0;
    }
}

# the nginx we started died (crash?): say so once, with its error log
sub _nginx_gone ($) {
    my $block = shift;
    my $pid = $Test::Nginx::Util::NginxPid or return 0;
    return 0 if Test::Nginx::Util::is_running($pid);
    if (!$block->{_tn_gone_reported}++) {
        diag($block->name . " - nginx (pid $pid) is gone: did it crash?\n"
             . "tail of $Test::Nginx::Util::ErrLogFile:\n" . Test::Nginx::Util::error_log_tail(20));
    }
    return 1;
}

sub _connect ($$) {
    my ($block, $timeout) = @_;
    my $addr = $block->server_addr_for_client // $Test::Nginx::Util::ServerAddr;
    my $port = $Test::Nginx::Util::ServerPortForClient;
    my $max = $TotalConnectFailures >= 2 ? 5 : ($Test::Nginx::Util::UseValgrind ? 60 : 25);
    my $err;
    for my $try (1 .. $max) {
        my $sock = IO::Socket::INET->new(PeerAddr => $addr, PeerPort => $port,
                                         Proto => 'tcp', Timeout => $timeout);
        return $sock if $sock;
        $err = $! || $@;
        last if _nginx_gone($block);
        sleep min(0.01 * $try, 0.2);
    }
    $TotalConnectFailures++;
    fail($block->name . " - Can't connect to $addr:$port: $err (aborted)");
    return undef;
}

# Sends one request (a list of packets) and reads the response.
# Returns ($raw_response, $is_head_request).
sub send_request ($$$$) {
    my ($req, $middle_delay, $timeout, $block) = @_;
    my $name = $block->name;
    my @bits = @$req;
    my $text = join '', map { $_->{value} // '' } @bits;
    my $head_req = $text =~ /^\s*HEAD\s+/ ? 1 : 0;

    if (use_http2($block)) {
        return (_send_http_req_by_curl($block, $text, $timeout), $head_req);
    }

    # Like Test::Nginx we read until the server closes the connection (or
    # the timeout).  With --- abort a timeout is expected anyway, so we stop
    # as soon as a keep-alive response is complete: same result, sooner.
    my $stop_when_complete = defined $block->abort && !$block->pipelined_requests
                             && !_expects_close($text);

    my $sock = _connect($block, $timeout) or return (undef, $head_req);
    $sock->blocking(0);
    binmode $sock;
    local $SIG{PIPE} = 'IGNORE';

    my $rsel = IO::Select->new($sock);
    my $wsel = IO::Select->new($sock);
    my $resp = '';
    my $first = shift @bits;
    my $wbuf = $first->{value} // '';
    my $woff = 0;
    my $writing = 1;
    my $werr;

    LOOP: while (1) {
        my $t0 = time;
        $! = 0;
        my ($r, $w) = IO::Select->select($rsel, $writing ? $wsel : undef, undef, $timeout);
        if (!$r && !$w) {
            next LOOP if $! == EINTR && time - $t0 < $timeout;
            # inactivity timeout
            close $sock;
            if (!defined $block->abort) {
                fail("ERROR: client socket timed out - $name");
                diag("$name - the response was complete but the connection stayed open "
                     . "(keep-alive?); add --- abort to close it at the timeout")
                    if $resp ne '' && _response_complete($resp, $head_req);
            } else {
                sleep 0.005;
            }
            return ($resp, $head_req);
        }

        if ($w && @$w) {
            WRITE: while (1) {
                my $rest = length($wbuf) - $woff;
                if ($rest > 0) {
                    my $n = syswrite($sock, $wbuf, $rest, $woff);
                    if (!defined $n) {
                        last WRITE if $! == EAGAIN || $! == EWOULDBLOCK || $! == EINTR;
                        # the server stopped reading (e.g. an early 413); keep reading
                        $werr = "$!";
                        _verbose("$name - write failed: $werr");
                        $writing = 0;
                        last WRITE;
                    }
                    $woff += $n;
                    next WRITE;
                }
                my $next = shift @bits;
                if (!defined $next) {
                    $writing = 0;
                    my $how = $block->shutdown;
                    if (defined $how) {
                        $how = 1 if $how =~ /^\s*$/;
                        shutdown($sock, $how);
                    }
                    last WRITE;
                }
                my $delay = $next->{delay_before} // $middle_delay;
                sleep $delay if $delay;
                ($wbuf, $woff) = ($next->{value} // '', 0);
            }
        }

        if ($r && @$r) {
            while (1) {
                my $buf;
                my $n = sysread($sock, $buf, 65536);
                if (!defined $n) {
                    last if $! == EAGAIN || $! == EWOULDBLOCK || $! == EINTR;
                    warn "WARNING: $name - HTTP response read failure: $!\n" if $resp eq '';
                    last LOOP;
                }
                last LOOP if $n == 0;    # closed by the server
                $resp .= $buf;
            }
            last LOOP if $stop_when_complete && !$writing && _response_complete($resp, $head_req);
        }
    }
    close $sock;
    if ($resp eq '') {
        $resp = "write failed: $werr" if defined $werr;
        _nginx_gone($block);
    }
    return ($resp, $head_req);
}

sub _run_cmd ($$) {
    my ($cmd, $limit) = @_;
    my $out = File::Temp->new(TMPDIR => 1);
    my $err = File::Temp->new(TMPDIR => 1);
    my $pid = fork();
    die "fork() failed: $!" unless defined $pid;
    if ($pid == 0) {
        $Test::Nginx::Util::InSubprocess = 1;
        open STDIN, '<', '/dev/null';
        open STDOUT, '>', $out->filename or POSIX::_exit(126);
        open STDERR, '>', $err->filename or POSIX::_exit(126);
        { no warnings "exec"; exec { $cmd->[0] } @$cmd; }
        POSIX::_exit(127);
    }
    my $deadline = time + $limit;
    my $nap = 0.002;
    while (waitpid($pid, WNOHANG) == 0) {
        if (time > $deadline) {
            kill 'KILL', $pid;
            waitpid($pid, 0);
            last;
        }
        sleep $nap;
        $nap = 0.02 if ($nap *= 2) > 0.02;
    }
    my $status = $?;
    return ($status, Test::Nginx::Util::_slurp($out->filename), Test::Nginx::Util::_slurp($err->filename));
}

sub _send_http_req_by_curl ($$$) {
    my ($block, $req, $timeout) = @_;
    my $name = $block->name;

    my ($meth, $uri, $ver);
    if ($req =~ m{^\s*(\w+)\s+(\S+)\s+HTTP/(\S+)\r?\n}) {
        ($meth, $uri, $ver) = ($1, $2, $3);
    } elsif ($req =~ m{^\s*(\w+)\s+(.*\S)\r?\n}) {
        ($meth, $uri, $ver) = ($1, $2, '0.9');
    } else {
        bail_out("$name - cannot parse the status line in the request: $req");
    }

    my @args = ('curl', '-i', '-sS', '-H', 'User-Agent:', '-H', 'Accept:', '-H', 'Host:',
                '--http2', '--http2-prior-knowledge');
    push @args, $meth eq 'HEAD' ? ('-I') : ('-X', $meth);
    push @args, '-0' if $ver ne '1.1';

    my ($headers, $body) = ('', '');
    my $hend = index($req, "\r\n\r\n");
    if ($hend >= 0) {
        $headers = substr($req, 0, $hend);
        $body = substr($req, $hend + 4);
    }
    my $has_ct;
    my @lines = split /\r\n/, $headers;
    shift @lines;    # request line
    for my $h (@lines) {
        next if $h =~ /^Connection\s*:/i;
        $has_ct = 1 if $h =~ /^\s*Content-Type\s*:/i;
        push @args, '-H', $h;
    }
    my $tmp;
    if (length $body) {
        push @args, '-H', 'Content-Type: ' unless $has_ct;
        $tmp = File::Temp->new(TMPDIR => 1);
        binmode $tmp;
        print $tmp $body;
        close $tmp;
        push @args, '--data-binary', '@' . $tmp->filename;
    }
    push @args, '--connect-timeout', $timeout, '--max-time', $timeout;
    if (defined(my $o = $block->curl_options)) {
        push @args, split ' ', $o;
    }
    my $addr = $block->server_addr_for_client // $Test::Nginx::Util::ServerAddr;
    my $proto = $block->curl_protocol // 'http';
    push @args, "$proto://$addr:$Test::Nginx::Util::ServerPortForClient$uri";
    _verbose("running: @args");

    my ($status, $out, $err) = _run_cmd(\@args, $timeout + 5);

    if ($out eq '') {
        if (defined(my $want = $block->curl_error)) {
            return undef if ref $want ? $err =~ $want : index($err, $want) >= 0;
        }
        fail("$name - curl command \"@args\" failed"
             . ($err ne '' ? ": $err" : " with no output (status $status)"));
        return undef;
    }
    warn "WARNING: $name - curl generated stderr output: $err" if $err ne '';
    return $out;
}

# ===========================================================================
# responses
# ===========================================================================

sub parse_response ($$$) {
    my ($name, $raw, $head_req) = @_;
    my $left;
    my $raw_headers = '';
    $raw_headers = $1 if $raw =~ /(.*?\r\n)\r\n/s;

    my $res = HTTP::Response->parse($raw);
    my $code = $res->code;
    if (defined $code && $code !~ /^\d+$/) {
        undef $code;
        $res->code(undef);
    }
    return ($res, $raw_headers) if $code && ($code == 304 || $code == 101);

    my $enc = $res->header('Transfer-Encoding');
    my $len = $res->header('Content-Length');
    if (defined $enc && $enc eq 'chunked') {
        my $content = $res->content // '';
        my ($decoded, $end, $err) = _dechunk($content);
        if (!defined $decoded) {
            fail("$name - $err"
                 . ($err =~ /last chunk|not enough/
                    ? ' (truncated response: the body ended before the last chunk; '
                      . 'use --- ignore_response when the client aborts on purpose)'
                    : ''));
            return;
        }
        $left = substr($content, $end) if $end < length $content;
        $res->content($decoded);
    } elsif (defined $len && $len =~ /^\s*(\d+)\s*$/ && !$head_req) {
        $len = $1;
        my $content = $res->content // '';
        if (length $content < $len) {
            warn "WARNING: $name - response body truncated: $len expected, but got ",
                 length $content, "\n";
        } elsif (length $content > $len) {
            $left = substr($content, $len);
            $res->content(substr($content, 0, $len));
        }
    } elsif ($head_req && length($res->content // '')) {
        $left = $res->content;
        $res->content('');
    }
    return ($res, $raw_headers, $left);
}

sub get_indexed_value ($$$$) {
    my ($name, $value, $idx, $need_array) = @_;
    if ($need_array) {
        return $value->[$idx] if ref $value && ref $value eq 'ARRAY';
        bail_out("$name - You asked for many requests, the expected results should be arrays as well.");
    }
    if (ref $value && ref $value eq 'ARRAY') {
        bail_out("$name - SHOULD NOT HAPPEN: idx != 0 and don't need array.") if $idx != 0;
        return $value->[0];
    }
    return $value;
}

sub _port_subst ($) {
    my $v = shift;
    return $v if !defined $v || ref $v;
    $v =~ s/\$ServerPort\b/$Test::Nginx::Util::ServerPort/g;
    $v =~ s/\$ServerPortForClient\b/$Test::Nginx::Util::ServerPortForClient/g;
    return $v;
}

sub run_test_helper ($$$) {
    my ($block, $dry_run, $repeated_idx) = @_;
    my $name = $block->name;

    my $reqs = get_req_from_block($block);
    bail_out("$name - request empty") unless @$reqs;

    my $timeout = parse_time($block->timeout);
    if (!defined $timeout) {
        $timeout = timeout();
        $timeout = 10 if $Test::Nginx::Util::UseValgrind && $timeout < 10;
    }

    my ($res, $need_array);
    my $req_idx = 0;
    for my $r (0 .. $#$reqs) {
        my ($raw, $head_req);
        if ($dry_run) {
            $raw = "HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n";
        } else {
            ($raw, $head_req) = send_request($reqs->[$r], $block->raw_request_middle_delay,
                                             $timeout, $block);
        }

        my $n = 0;
        if ($block->pipelined_requests) {
            $n = @{ $block->pipelined_requests };
            $need_array = 1;
        } else {
            $need_array = @$reqs > 1;
        }

        while (1) {
            $raw //= '';
            _verbose("response: [$raw]");
            my ($raw_headers, $left) = ('');
            if (!defined $block->ignore_response) {
                if (defined $block->http09) {
                    $res = HTTP::Response->new(200, 'OK', [], $raw);
                } else {
                    ($res, $raw_headers, $left) = parse_response($name, $raw, $head_req);
                    $raw_headers //= q();
                }
            }

            if (!$n) {
                if (defined $left && length $left) {
                    (my $l = $left) =~ s/([\0-\037\200-\377])/sprintf('\x{%02x}', ord $1)/eg;
                    warn "WARNING: $name - unexpected extra bytes after the response: \"$l\"\n";
                }
            } else {
                $raw = $left;
                $n--;
            }

            if (!defined $block->ignore_response) {
                check_error_code($block, $res, $dry_run, $req_idx, $need_array);
                check_raw_response_headers($block, $raw_headers, $dry_run, $req_idx, $need_array);
                check_response_headers($block, $res, $raw_headers, $dry_run, $req_idx, $need_array);
                transform_response_body($block, $res, $req_idx);
                check_response_body($block, $res, $dry_run, $req_idx, $repeated_idx, $need_array);
            }

            if ($n || $r < $#$reqs) {
                sleep $block->wait if $block->wait;
                check_error_log($block, $res, $dry_run, $repeated_idx, $need_array);
                check_access_log($block, $dry_run, $repeated_idx) unless defined $block->ignore_response;
            }
            $req_idx++;
            last unless $n;
        }
    }

    sleep $block->wait if $block->wait;
    check_error_log($block, $res, $dry_run, $repeated_idx, $need_array);
    check_access_log($block, $dry_run, $repeated_idx) unless defined $block->ignore_response;
}

# ===========================================================================
# checks (one subtest each, named like Test::Nginx's)
# ===========================================================================

sub _skipping ($$$) {
    my ($dry_run, $what, $code) = @_;
    SKIP: {
        skip("$what - tests skipped due to $dry_run", 1) if $dry_run;
        $code->();
    }
}

sub check_error_code ($$$$$) {
    my ($block, $res, $dry_run, $idx, $need_array) = @_;
    my $name = $block->name;
    my $code = ($res && $res->code) || '';
    _skipping($dry_run, $name, sub {
        if (defined $block->error_code_like) {
            my $pat = get_indexed_value($name, $block->error_code_like, $idx, $need_array);
            like($code, qr/$pat/sm, "$name - status code ok");
        } elsif (defined $block->error_code) {
            is($code, get_indexed_value($name, $block->error_code, $idx, $need_array),
               "$name - status code ok");
        } else {
            is($code, 200, "$name - status code ok");
        }
    });
}

sub check_raw_response_headers ($$$$$) {
    my ($block, $raw_headers, $dry_run, $idx, $need_array) = @_;
    my $name = $block->name;
    if (defined $block->raw_response_headers_like) {
        my $pat = get_indexed_value($name, $block->raw_response_headers_like, $idx, $need_array);
        _skipping($dry_run, "$name - raw_response_headers_like", sub {
            like($raw_headers, qr/$pat/s, "$name - raw resp headers like");
        });
    }
    if (defined $block->raw_response_headers_unlike) {
        my $pat = get_indexed_value($name, $block->raw_response_headers_unlike, $idx, $need_array);
        _skipping($dry_run, "$name - raw_response_headers_unlike", sub {
            unlike($raw_headers, qr/$pat/s, "$name - raw resp headers unlike");
        });
    }
}

sub check_response_headers ($$$$$$) {
    my ($block, $res, $raw_headers, $dry_run, $idx, $need_array) = @_;
    my $name = $block->name;
    if (defined $block->response_headers) {
        my $spec = get_indexed_value($name, $block->response_headers, $idx, $need_array);
        for my $h (Test::Nginx::Util::parse_header_list($spec)) {
            my ($key, $val) = @$h;
            if (!defined $val) {
                _skipping($dry_run, "$name - response_headers", sub {
                    unlike($raw_headers, qr/^\s*\Q$key\E\s*:/msi,
                           "$name - header $key not present in the raw headers");
                });
                next;
            }
            $val = _port_subst($val);
            my $actual = $res ? $res->header($key) : undef;
            $actual //= '';
            _skipping($dry_run, "$name - response_headers", sub {
                is($actual, $val, "$name - header $key ok");
            });
        }
    } elsif (defined $block->response_headers_like) {
        my $spec = get_indexed_value($name, $block->response_headers_like, $idx, $need_array);
        for my $h (Test::Nginx::Util::parse_header_list($spec)) {
            my ($key, $val) = @$h;
            $val //= '';
            my $actual = $res ? $res->header($key) : undef;
            $actual //= '';
            _skipping($dry_run, "$name - response_headers_like", sub {
                like($actual, qr/^$val$/, "$name - header $key like ok");
            });
        }
    }
}

sub _run_body_filter ($$$) {
    my ($block, $filter, $content) = @_;
    my $name = $block->name;
    if (ref $filter && ref $filter eq 'CODE') {
        return $filter->($content);
    }
    bail_out("$name - the --- response_body_filters section only supports "
             . "subroutine reference values and string values") if ref $filter;
    my %builtin = (
        md5_hex  => sub { Digest::MD5::md5_hex($_[0]) },
        sha1_hex => sub { Digest::SHA::sha1_hex($_[0]) },
        uc       => sub { uc $_[0] },
        lc       => sub { lc $_[0] },
        ucfirst  => sub { ucfirst $_[0] },
        lcfirst  => sub { lcfirst $_[0] },
        length   => sub { length $_[0] },
    );
    my $f = $builtin{$filter}
        or bail_out("$name - unknown filter, \"$filter\", specified in the --- response_body_filters section");
    return $f->($content);
}

sub transform_response_body ($$$) {
    my ($block, $res, $idx) = @_;
    return unless $res;
    my $content = $res->content;
    return unless defined $content;
    my $filters = $block->response_body_filters;
    return unless defined $filters;

    if (!ref $filters) {
        $filters =~ s/^\s+|\s+$//g;
        $filters = [ split /\s+/, $filters ];
    } elsif (ref $filters ne 'ARRAY') {
        $filters = [ $filters ];
    }
    my $list = $filters;
    if (ref $filters->[0] eq 'ARRAY') {
        # as the real Test::Nginx: in the two-dimensional form every entry
        # is an array, [[uc], [lc]], never [[uc], lc] nor [[], \&f]
        for my $elem (@$filters) {
            bail_out($block->name . " - the --- response_body_filters two-dimensional array "
                     . "only be like [[uc], [lc]] not [[uc], lc]") if ref $elem ne 'ARRAY';
        }
        $list = $filters->[$idx];
        bail_out($block->name . " - the --- response_body_filters two-dimensional array "
                 . "has no entry for request $idx") unless defined $list;
    }
    $content = _run_body_filter($block, $_, $content) for @$list;
    $res->content($content);
}

sub _body_diff ($$) {
    my ($got, $expected) = @_;
    return unless defined $got && defined $expected;
    return unless $expected =~ /\n./s || $got =~ /\n./s;
    return unless eval { require Text::Diff; 1 };
    my $d = Text::Diff::diff(\$expected, \$got, { STYLE => 'Unified' });
    diag("diff (--- expected, +++ got):\n$d") if $d ne '';
}

sub check_response_body ($$$$$$) {
    my ($block, $res, $dry_run, $idx, $repeated_idx, $need_array) = @_;
    my $name = $block->name;

    if (defined $block->response_body || defined $block->response_body_eval) {
        my $content = $res ? $res->content : undef;
        my $expected;
        if ($block->response_body_eval) {
            diag("$name - response_body_eval is DEPRECATED. Use response_body eval instead.");
            $expected = eval get_indexed_value($name, $block->response_body_eval, $idx, $need_array);
            warn $@ if $@;
        } else {
            $expected = get_indexed_value($name, $block->response_body, $idx, $need_array);
        }
        if ($block->charset && defined $expected && !ref $expected) {
            Encode::from_to($expected, 'UTF-8', $block->charset);
        }
        $expected = _port_subst($expected);

        _skipping($dry_run, "$name - response_body", sub {
            my $desc = "$name - response_body - response is expected (repeated req $repeated_idx, req $idx)";
            if (ref $expected) {
                like($content, $expected,
                     "$name - response_body - like (repeated req $repeated_idx, req $idx)");
            } elsif ($Test::Nginx::Util::NoLongString) {
                is($content, $expected, $desc);
            } else {
                Test::LongString::is_string($content, $expected, $desc)
                    or _body_diff($content, $expected);
            }
        });
    } elsif (defined $block->response_body_like || defined $block->response_body_unlike) {
        my ($pats, $type, $cmp) = defined $block->response_body_like
            ? ($block->response_body_like, 'like', \&Test::More::like)
            : ($block->response_body_unlike, 'unlike', \&Test::More::unlike);
        my $content = $res ? $res->content : undef;
        my $pat = _port_subst(get_indexed_value($name, $pats, $idx, $need_array));
        my $summary = trim($content) // '';
        $summary = substr($summary, 0, 200) . '...' if length $summary > 200;
        _skipping($dry_run, "$name - response_body_$type", sub {
            local $Test::Builder::Level = $Test::Builder::Level + 2;
            $cmp->($content, qr/$pat/s, "$name - response_body_$type - response is expected ($summary)");
        });
    }

    for my $check (@ResponseBodyChecks) {
        $check->($block, $res ? $res->content : undef, $idx, $repeated_idx, $dry_run);
    }
}

sub _pattern_list ($) {
    my $pats = shift;
    if (!ref $pats) {
        chomp $pats;
        return [ grep { length } split /\n+/, $pats ];
    }
    return [ $pats ] if ref $pats eq 'Regexp';
    return [ @$pats ];
}

sub _line_matches ($$) {
    my ($line, $pat) = @_;
    return ref $pat ? $line =~ $pat : index($line, $pat) >= 0;
}

sub fmt_str ($) {
    my $s = shift;
    chomp $s;
    $s =~ s/"/\\"/g;
    $s =~ s/\r/\\r/g;
    $s =~ s/\n/\\n/g;
    return $s;
}

sub _value_contains ($$) {
    my ($val, $pat) = @_;
    return 0 unless defined $val;
    return index("$val", $pat) >= 0 if !ref $val || ref $val eq 'Regexp';
    if (ref $val eq 'ARRAY') {
        for (@$val) { return 1 if _value_contains($_, $pat) }
    }
    return 0;
}

# every pattern of --- error_log must match a line; of --- no_error_log none
sub _check_log_patterns ($$$$$$$) {
    my ($name, $kind, $file, $pats, $lines, $dry_run, $idx) = @_;
    my $want = $kind !~ /^no_/;
    for my $pat (@{ _pattern_list($pats) }) {
        next unless defined $pat;
        my $hit;
        for my $i (0 .. $#$lines) {
            if (_line_matches($lines->[$i], $pat)) { $hit = $i; last }
        }
        my $p = fmt_str("$pat");
        _skipping($dry_run, "$name - $kind", sub {
            if ($want) {
                ok(defined $hit, defined $hit
                    ? "$name - pattern \"$pat\" matches a line in $file (req $idx)"
                    : "$name - pattern \"$pat\" should match a line in $file (req $idx)");
            } elsif (defined $hit) {
                my $ln = fmt_str($lines->[$hit]);
                my @more = @$lines[$hit + 1 .. min($hit + 9, $#$lines)];
                fail("$name - pattern \"$p\" should not match any line in $file but matches line \"$ln\" (req $idx)\n"
                     . join '', @more);
            } else {
                pass("$name - pattern \"$p\" does not match a line in $file (req $idx)");
            }
        });
    }
}

sub check_error_log ($$$$$) {
    my ($block, $res, $dry_run, $idx, $need_array) = @_;
    my $name = $block->name;
    my $lines;
    my $get = sub { $lines ||= error_log_data() };

    my $grep_pats = $block->grep_error_log;
    if (defined $grep_pats) {
        my $pat = ref $grep_pats && ref $grep_pats eq 'ARRAY' ? $grep_pats->[$idx] : $grep_pats;
        if (defined $pat) {
            my $expected = $block->grep_error_log_out;
            bail_out("$name - No --- grep_error_log_out defined but --- grep_error_log is defined")
                unless defined $expected;
            $expected = $expected->[$idx] if ref $expected && ref $expected eq 'ARRAY';
            _skipping($dry_run, "$name - grep_error_log", sub {
                my $out = '';
                for my $line (@{ $get->() }) {
                    my $m;
                    if (ref $pat) {
                        $m = $& if $line =~ $pat;
                    } elsif (index($line, $pat) >= 0) {
                        $m = $pat;
                    }
                    $out .= "$m\n" if defined $m && $m !~ /\n/;
                }
                if (ref $expected && ref $expected eq 'Regexp') {
                    like($out, $expected, "$name - grep_error_log_out (req $idx)");
                } else {
                    is_str($out, $expected, "$name - grep_error_log_out (req $idx)");
                }
            });
        }
    } elsif (defined $block->grep_error_log_out) {
        bail_out("$name - No --- grep_error_log defined but --- grep_error_log_out is defined");
    }

    my $file = 'error.log';
    if (defined $block->error_log) {
        _check_log_patterns($name, 'error_log', $file, $block->error_log, $get->(), $dry_run, $idx);
    }
    if (defined $block->no_error_log) {
        _check_log_patterns($name, 'no_error_log', $file, $block->no_error_log, $get->(), $dry_run, $idx);
    }

    return if $dry_run;

    # unexpected severe messages: an [alert] or a [crit] fails the block
    # (Test::Nginx only warns), an [emerg] is a loud warning; a block that
    # expects one names its level in --- error_log, or lists in its own
    # --- no_error_log the levels that must not appear (checked above)
    for my $level (qw(alert crit emerg)) {
        next if _value_contains($block->error_log, "[$level");
        next if defined $block->no_error_log;
        next if $level eq 'emerg' && defined $block->must_die;    # expected there
        for my $line (@{ $get->() }) {
            next if index($line, "[$level]") < 0;
            if ($level eq 'emerg') {
                warn "WARNING: $name - " . fmt_str($line) . "\n";
            } else {
                fail("$name - unexpected [$level] in error.log: " . fmt_str($line));
            }
        }
    }
    for my $line (@{ $lines || [] }) {
        if ($line =~ /\bAssertion .*?failed\b/) {
            chomp(my $l = $line);
            fail("$name - $l");
        }
    }
}

sub check_access_log ($$$) {
    my ($block, $dry_run, $idx) = @_;
    my $name = $block->name;
    return unless defined $block->access_log || defined $block->no_access_log;
    my $lines = access_log_data();
    _check_log_patterns($name, 'access_log', 'access.log', $block->access_log, $lines, $dry_run, $idx)
        if defined $block->access_log;
    _check_log_patterns($name, 'no_access_log', 'access.log', $block->no_access_log, $lines, $dry_run, $idx)
        if defined $block->no_access_log;
}

# run after nginx has been stopped at the end of the block
sub check_shutdown_error_log ($$) {
    my ($block, $dry_run) = @_;
    my $name = $block->name;
    my $lines = error_log_data();
    _check_log_patterns($name, 'no_shutdown_error_log', 'error.log', $block->no_shutdown_error_log,
                        $lines, $dry_run, 'shutdown')
        if defined $block->no_shutdown_error_log;
    _check_log_patterns($name, 'shutdown_error_log', 'error.log', $block->shutdown_error_log,
                        $lines, $dry_run, 'shutdown')
        if defined $block->shutdown_error_log;
}

# ===========================================================================
# --- tcp_listen: a one-shot TCP (or unix stream) server for the block
# ===========================================================================

sub _start_tcp_server ($) {
    my $block = shift;
    my $target = $block->tcp_listen;
    return undef unless defined $target;
    my $name = $block->name;
    my $reply = $block->tcp_reply;
    bail_out("$name - no --- tcp_reply specified but --- tcp_listen is specified")
        if !defined $reply && !defined $block->tcp_shutdown;

    my $req_len = $block->tcp_query_len;
    $req_len = length $block->tcp_query if !defined $req_len && defined $block->tcp_query;
    my $query_file = (defined $block->tcp_query || defined $block->tcp_query_len)
        ? File::Temp->new(TMPDIR => 1) : undef;

    my $listener;
    my $deadline = time + 3;
    while (1) {
        if ($target =~ /^\d+$/) {
            $listener = IO::Socket::INET->new(LocalHost => '127.0.0.1', LocalPort => $target,
                                              Proto => 'tcp', ReuseAddr => 1, Listen => 5);
        } elsif ($target =~ /\S+\.sock$/) {
            require IO::Socket::UNIX;
            unlink $target if -e $target;
            $listener = IO::Socket::UNIX->new(Local => $target, Type => Socket::SOCK_STREAM(),
                                              Listen => 5);
        } else {
            bail_out("$name - bad tcp_listen target: $target");
        }
        last if $listener || time > $deadline;
        sleep 0.05;
    }
    bail_out("$name - failed to create the tcp listening socket $target: $!") unless $listener;

    my $pid = fork();
    bail_out("$name - fork() failed: $!") unless defined $pid;
    if ($pid == 0) {
        $Test::Nginx::Util::InSubprocess = 1;
        Test::More->builder->no_ending(1);
        my $client = $listener->accept or POSIX::_exit(0);
        my ($no_read, $no_write);
        if (defined(my $how = $block->tcp_shutdown)) {
            sleep $block->tcp_shutdown_delay if $block->tcp_shutdown_delay;
            $client->shutdown($how);
            ($how == 0 || $how == 2) ? ($no_read = 1) : ($no_write = 1);
        }
        my $buf = '';
        unless ($no_read) {
            while (1) {
                my $n = sysread($client, my $b, 4096);
                last unless $n;
                $buf .= $b;
                if ($query_file && open my $out, '>', $query_file->filename) {
                    binmode $out;
                    print $out $buf;
                    close $out;
                }
                last if !$req_len || length($buf) >= $req_len;
            }
        }
        if (my $delay = parse_time($block->tcp_reply_delay)) { sleep $delay }
        unless ($no_write) {
            if (defined $reply) {
                $reply = $reply->($buf) if ref $reply eq 'CODE';
                for my $r (ref $reply eq 'ARRAY' ? @$reply : ($reply)) {
                    syswrite($client, $r);
                }
            }
        }
        if (defined $block->tcp_no_close) { sleep 1 while 1 }
        close $client;
        POSIX::_exit(0);
    }
    return { pid => $pid, listener => $listener, query_file => $query_file,
             target => $target };
}

sub _finish_tcp_server ($$) {
    my ($block, $tcp) = @_;
    return unless $tcp;
    my $name = $block->name;
    if (defined $block->tcp_query || defined $block->tcp_query_len) {
        my $got = $tcp->{query_file} ? Test::Nginx::Util::_slurp($tcp->{query_file}->filename) : '';
        is_str($got, $block->tcp_query, "$name - tcp_query ok") if defined $block->tcp_query;
        is(length($got), $block->tcp_query_len, "$name - TCP query length ok")
            if defined $block->tcp_query_len;
    }
    kill 'KILL', $tcp->{pid};
    waitpid($tcp->{pid}, 0);
    close $tcp->{listener};
    unlink $tcp->{target} if $tcp->{target} !~ /^\d+$/;
}

1;
__END__

=head1 NAME

Test::Nginx::Socket - Test::Nginx::Socket-compatible scaffold (t/runner)

=head1 DESCRIPTION

A from-scratch implementation of the Test::Nginx::Socket data format and
behaviour, used by the ngx_llm_module test suite when the real Test::Nginx is
not installed.  See F<t/runner/README.md>.

=cut
