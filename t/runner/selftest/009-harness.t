# Meta self-test of the t/runner scaffold: runs small .t files in a
# subprocess and checks what they report (failures must fail, with useful
# messages), plus unit tests of internals.  Specific to t/runner: it is not
# meant to run under the real Test::Nginx.
use strict;
use warnings;
use Test::More;
use File::Temp qw(tempdir);
use Cwd qw(abs_path);
no warnings "once";

my $runner = abs_path('t/runner');
plan skip_all => 'run from the repository root (t/runner not found)'
    unless $runner && -f "$runner/Test/Nginx/Socket.pm";

my $tmp = tempdir(CLEANUP => 1);
my $n = 0;

# run a .t body; returns (tap output incl. stderr, exit status)
sub run_t {
    my ($body, %env) = @_;
    my $file = "$tmp/case" . ++$n . ".t";
    open my $fh, '>', $file or die $!;
    print $fh $body;
    close $fh;
    local %ENV = (%ENV, TEST_NGINX_RANDOMIZE => 1, %env);
    delete $ENV{TEST_NGINX_USE_VALGRIND} unless exists $env{TEST_NGINX_USE_VALGRIND};
    delete $ENV{HARNESS_ACTIVE};
    my $out = `$^X -I$runner $file 2>&1`;
    return ($out, $? >> 8);
}

my $head = "use Test::Nginx::Socket 'no_plan';\nno_shuffle();\nrun_tests();\n__DATA__\n";

# --- a wrong body fails, naming the block, with a diff -------------------
{
    my ($out, $rc) = run_t($head . <<'EOF');
=== TEST 1: wrong body
--- config
    location = /t { return 200 "one\ntwo\nthree\n"; }
--- request
GET /t
--- response_body
one
TWO
three
EOF
    isnt($rc, 0, 'wrong body: non-zero exit');
    like($out, qr/^ok 1 - \S+ TEST 1: wrong body - status code ok$/m, 'status subtest named after the block');
    like($out, qr/^not ok 2 - \S+ TEST 1: wrong body - response_body - response is expected/m,
         'body subtest fails');
    like($out, qr/^# -TWO\n# \+two/m, 'a unified diff is shown');
}

# --- client timeout without --- abort is a failure -----------------------
{
    my ($out, $rc) = run_t($head . <<'EOF');
=== TEST 1: too slow
--- main_config
    load_module /usr/lib/nginx/modules/ngx_http_echo_module.so;
--- config
    location = /t { echo_sleep 1; echo late; }
--- request
GET /t
--- timeout: 0.2
--- error_code:
EOF
    isnt($rc, 0, 'timeout: non-zero exit');
    like($out, qr/^not ok \d+ - ERROR: client socket timed out - \S+ TEST 1: too slow/m,
         'timeout reported');
}

# --- keep-alive without --- abort times out, as with Test::Nginx -----------
{
    my ($out, $rc) = run_t($head . <<'EOF');
=== TEST 1: keep-alive
--- config
    location = /t { return 200 "x\n"; }
--- more_headers
Connection: keep-alive
--- request
GET /t
--- timeout: 0.2
--- response_body
x
EOF
    isnt($rc, 0, 'keep-alive without abort: non-zero exit');
    like($out, qr/not ok \d+ - ERROR: client socket timed out/, q(timeout reported));
    like($out, qr/connection stayed open.*add --- abort/, q(with a hint));
    like($out, qr/^ok \d+ - \S+ TEST 1: keep-alive - response_body/m, 'body still checked');
}

# --- a truncated chunked stream fails unless the response is ignored -----
{
    my ($out, $rc) = run_t($head . <<'EOF');
=== TEST 1: cut stream
--- main_config
    load_module /usr/lib/nginx/modules/ngx_http_echo_module.so;
--- config
    location = /t { echo first; echo_flush; echo_sleep 1; echo late; }
--- request
GET /t
--- timeout: 0.2
--- abort
--- response_body
first
EOF
    isnt($rc, 0, 'truncated chunked body: non-zero exit');
    like($out, qr/no last chunk found .*ignore_response/, 'hint about --- ignore_response');
    unlike($out, qr/client socket timed out/, 'abort: the timeout itself is no failure');
}

# --- nginx failing to start fails the block and shows why; next block runs
{
    my ($out, $rc) = run_t($head . <<'EOF');
=== TEST 1: broken config
--- config
    location = /t { no_such_directive_here; }
--- request
GET /t
--- response_body
x



=== TEST 2: still running
--- config
    location = /t { return 200 "fine\n"; }
--- request
GET /t
--- response_body
fine
EOF
    isnt($rc, 0, 'start failure: non-zero exit');
    like($out, qr/^not ok 1 - \S+ TEST 1: broken config - nginx failed to start \(exit code 1\)/m,
         'start failure reported');
    like($out, qr/unknown directive "no_such_directive_here"/, "nginx's message is shown");
    like($out, qr/^ok \d+ - \S+ TEST 2: still running - response_body/m, 'next block still runs');
}

# --- ONLY and LAST ----------------------------------------------------------
{
    my $blocks = join '', map { <<"EOF" } 1 .. 3;
=== TEST $_: block $_
--- config
    location = /t { return 200 "$_\\n"; }
--- request
GET /t
--- response_body
$_
MARK$_

EOF
    (my $only = $blocks) =~ s/MARK2/--- ONLY/;
    $only =~ s/MARK\d//g;
    my ($out, $rc) = run_t($head . $only);
    is($rc, 0, 'ONLY: passes');
    like($out, qr/TEST 2: block 2/, 'ONLY: the marked block runs');
    unlike($out, qr/TEST [13]: block/, 'ONLY: the others do not');

    (my $last = $blocks) =~ s/MARK2/--- LAST/;
    $last =~ s/MARK\d//g;
    ($out, $rc) = run_t($head . $last);
    is($rc, 0, 'LAST: passes');
    like($out, qr/TEST 1: block 1.*TEST 2: block 2/s, 'LAST: blocks up to it run');
    unlike($out, qr/TEST 3: block 3/, 'LAST: later blocks do not');
}

# --- explicit plans count subtests like Test::Nginx -----------------------
{
    my ($out, $rc) = run_t(<<'EOF');
use Test::Nginx::Socket;
repeat_each(3);
plan tests => repeat_each() * (5 * blocks());
run_tests();
__DATA__
=== TEST 1: status + 2 headers + body + 1 error_log pattern = 5
--- config
    location = /t { add_header X-A a; return 200 "b\n"; }
--- request
GET /t
--- response_headers
X-A: a
!X-B
--- response_body
b
--- no_error_log
[error]
EOF
    is($rc, 0, 'explicit plan matches the subtest count');
    like($out, qr/^1\.\.15$/m, '15 subtests planned');
}

# --- undefined $TEST_NGINX_* variables bail out, with a hint ---------------
{
    my ($out, $rc) = run_t($head . <<'EOF');
=== TEST 1: html dir
--- config
    location = /t { alias $TEST_NGINX_HTML_DIR/x; }
--- request
GET /t
EOF
    isnt($rc, 0, 'undefined variable: non-zero exit');
    like($out, qr/Bail out!.*No environment TEST_NGINX_HTML_DIR defined.*html_dir\(\)/,
         'bail out message with a hint');
}

# --- forms the real Test::Nginx refuses are refused here too ---------------
# (lib/Test/Nginx/Socket.pm and Util.pm of openresty/test-nginx)
{
    # two-dimensional response_body_filters: every entry an array
    my ($out, $rc) = run_t($head . <<'EOF');
=== TEST 1: 2-D filters with a bare code ref
--- config
    location = /t { return 200 "hi"; }
--- request eval
["GET /t", "GET /t"]
--- response_body_filters eval
[[], \&CORE::uc]
--- response_body eval
["hi", "HI"]
EOF
    isnt($rc, 0, '[[], \&f]: non-zero exit');
    like($out, qr/Bail out!.*two-dimensional array only be like \[\[uc\], \[lc\]\] not \[\[uc\], lc\]/,
         '[[], \&f]: the real runner\'s message');

    ($out, $rc) = run_t($head . <<'EOF');
=== TEST 1: 2-D filters with a bare name
--- config
    location = /t { return 200 "hi"; }
--- request eval
["GET /t", "GET /t"]
--- response_body_filters eval
[["uc"], "lc"]
--- response_body eval
["HI", "hi"]
EOF
    isnt($rc, 0, '[[uc], lc]: non-zero exit');
    like($out, qr/Bail out!.*only be like \[\[uc\], \[lc\]\]/, '[[uc], lc]: refused');

    ($out, $rc) = run_t($head . <<'EOF');
=== TEST 1: 2-D filters, the accepted form
--- config
    location = /t { return 200 "Hi"; }
--- request eval
["GET /t", "GET /t", "GET /t"]
--- response_body_filters eval
[[], ["uc"], [sub { lc $_[0] }, "length"]]
--- response_body eval
["Hi", "HI", "2"]
EOF
    is($rc, 0, '[[], [uc], [\&f, length]]: accepted') or diag($out);

    # a block without --- config: its own http_config would be ignored by
    # the real runner (it keeps the previous block's nginx)
    ($out, $rc) = run_t($head . <<'EOF');
=== TEST 1: with config
--- config
    location = /t { return 200 "a"; }
--- request
GET /t
--- response_body chomp
a

=== TEST 2: http_config without config
--- http_config
    map $uri $x { default b; }
--- request
GET /t
--- response_body chomp
a
EOF
    isnt($rc, 0, 'config-less block with http_config: non-zero exit');
    like($out, qr/Bail out!.*TEST 2.*--- http_config in a block without --- config/,
         'config-less block with http_config: refused, naming the block');

    # two body checks: the real runner checks only the first (if/elsif)
    ($out, $rc) = run_t($head . <<'EOF');
=== TEST 1: like and unlike
--- config
    location = /t { return 200 "abc"; }
--- request
GET /t
--- response_body_like: ^abc$
--- response_body_unlike: b
EOF
    isnt($rc, 0, 'response_body_like + response_body_unlike: non-zero exit');
    like($out, qr/Bail out!.*--- response_body_like and --- response_body_unlike: the real Test::Nginx checks only --- response_body_like/,
         'response_body_like + response_body_unlike: refused');

    ($out, $rc) = run_t($head . <<'EOF');
=== TEST 1: body and like
--- config
    location = /t { return 200 "abc"; }
--- request
GET /t
--- response_body chomp
abc
--- response_body_like: x
EOF
    isnt($rc, 0, 'response_body + response_body_like: non-zero exit');
    like($out, qr/Bail out!.*checks only --- response_body and ignores/,
         'response_body + response_body_like: refused');

    # response_headers + response_headers_like: the second is never checked
    ($out, $rc) = run_t($head . <<'EOF');
=== TEST 1: headers and headers_like
--- config
    location = /t { add_header X-A 1; return 200 "abc"; }
--- request
GET /t
--- response_headers
X-A: 1
--- response_headers_like
X-B: ^\d+$
EOF
    isnt($rc, 0, 'response_headers + response_headers_like: non-zero exit');
    like($out, qr/Bail out!.*checks only --- response_headers and ignores the other; check the pattern with --- raw_response_headers_like/,
         'response_headers + response_headers_like: refused');
}

# --- TEST_NGINX_RANDOMIZE: own port and server root, removed afterwards ----
{
    my ($out, $rc) = run_t($head . <<'EOF');
=== TEST 1: where am I
--- config
    location = /t { return 200 "$TEST_NGINX_SERVER_ROOT $TEST_NGINX_SERVER_PORT\n"; }
--- request
GET /t
--- response_body_like: ^/\S+/t/servroot_(\d+) \1\n$
EOF
    is($rc, 0, 'randomized port and servroot');
    my ($port) = $out =~ /servroot_(\d+)/;
    ok(!-d "t/servroot_" . ($port // 'x'), 'randomized servroot removed at the end');
}

# --- internals ---------------------------------------------------------------
{
    local @INC = ($runner, @INC);
    local $ENV{TEST_NGINX_RANDOMIZE} = 1;
    require Test::Nginx::Socket;

    my $b = Test::Nginx::Socket::_build_request('t', '', 'close', ["GET /a\n"]);
    is_deeply($b, [{ value => "GET /a HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n" }],
              'plain GET request');

    $b = Test::Nginx::Socket::_build_request('t', "Content-Type: application/json\n", 'close',
                                             ["POST /v1 HTTP/1.0\n  {\"a\":1}\n\n"]);
    is($b->[0]{value}, "POST /v1 HTTP/1.0\r\nHost: localhost\r\nConnection: close\r\n"
       . "Content-Type: application/json\r\nContent-Length: 7\r\n\r\n{\"a\":1}",
       'POST: body trimmed, Content-Length after more_headers');

    $b = Test::Nginx::Socket::_build_request('t', '', 'close',
                                             ["POST /u\nna", { value => "me=x", delay_before => 1 }]);
    is(scalar @$b, 2, 'packets kept');
    like($b->[0]{value}, qr/Content-Length: 6\r\n\r\nna\z/, 'first packet ends inside the body');
    is_deeply($b->[1], { value => 'me=x', delay_before => 1 }, 'second packet and its delay');

    my ($d, $end, $err) = Test::Nginx::Socket::_dechunk("3\r\nabc\r\n1;x=y\r\nd\r\n0\r\n\r\nrest");
    is($d, 'abcd', 'de-chunking');
    is($end, length("3\r\nabc\r\n1;x=y\r\nd\r\n0\r\n\r\n"), 'end of the chunked body');
    ($d, $end, $err) = Test::Nginx::Socket::_dechunk("3\r\nabc\r\n");
    like($err, qr/no last chunk/, 'truncated chunked body detected');

    ok(Test::Nginx::Socket::_response_complete("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", 0),
       'complete by Content-Length');
    ok(!Test::Nginx::Socket::_response_complete("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n", 0),
       'chunked without the last chunk is incomplete');
    ok(Test::Nginx::Socket::_response_complete("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n", 0),
       'interim responses are skipped');
    ok(Test::Nginx::Socket::_expects_close("GET / HTTP/1.0\r\n\r\n"), 'HTTP/1.0 closes');
    ok(!Test::Nginx::Socket::_expects_close("GET / HTTP/1.1\r\nConnection: keep-alive\r\n\r\n"),
       'keep-alive');

    # valgrind log parsing
    my $logdir = $Test::Nginx::Util::LogDir;
    require File::Path;
    File::Path::make_path($logdir);
    open my $v, '>', "$logdir/valgrind.1.log" or die $!;
    print $v "==1== Warning: set address range perms: large range [0x1, 0x2) (defined)\n",
             "==1== \n";
    close $v;
    is(Test::Nginx::Util::valgrind_report(), '', 'valgrind warnings are not errors');
    open $v, '>>', "$logdir/valgrind.1.log" or die $!;
    print $v "==1== 24 bytes in 1 blocks are definitely lost in loss record 1 of 9\n",
             "==1==    at 0x1: malloc\n==1== \n";
    close $v;
    like(Test::Nginx::Util::valgrind_report(), qr/definitely lost/, 'valgrind leak reported');
    File::Path::remove_tree($Test::Nginx::Util::ServRoot);
}

done_testing();
