# The request body read in place (ngx_http_llm_body_buffer()) at its edges:
# chunked bodies, HTTP/2, a large header buffer,
# bodies in many small pieces, a client that closes or stalls mid-body,
# client_body_in_file_only, proxy_request_buffering off, keep-alive and a
# next request in the same read as the end of a body, redaction and
# fallback re-sending the body.  The upstream (and the next request) must
# get their bytes exactly.  TESTs 9 and 10 send two requests on one
# connection: the first answer is checked, the second is checked through
# the mock's log (the runner warns about the bytes after the first answer).

use Test::Nginx::Socket 'no_plan';
use FindBin;
use lib "$FindBin::Bin/lib";
use LLMTest::Suite;
use JSON::PP ();
use Encode ();

$ENV{TEST_NGINX_HTML_DIR} ||= html_dir();

no_shuffle();
no_long_string();
log_level('info');

our $Mock = <<'_EOC_';
    llm_model gpt-4o-mini upstream=mock;
    llm_model down upstream=down;
    llm_model shadowm upstream=shadow;
    llm_route flaky { down 1; fallback gpt-4o-mini; }
    llm_route shadowed { gpt-4o-mini 1; shadow shadowm 100%; }

    log_format got 'mock-got: $request_method $http_content_length $request_length';

    upstream mock {
        server unix:$TEST_NGINX_HTML_DIR/mock.sock;
    }

    upstream shadow {
        server unix:$TEST_NGINX_HTML_DIR/shadow.sock;
    }

    log_format shadowgot 'shadow-got: $request_method $http_content_length $request_length';

    server {
        listen unix:$TEST_NGINX_HTML_DIR/shadow.sock;
        access_log logs/error.log shadowgot;
        client_body_buffer_size 1m;
        client_max_body_size 1m;

        location / {
            echo_read_request_body;
            echo '{"choices":[{"index":0,"message":{"role":"assistant","content":"ok"}}],"usage":{"prompt_tokens":9,"completion_tokens":1,"total_tokens":10}}';
        }
    }

    upstream down {
        server unix:$TEST_NGINX_HTML_DIR/down.sock;
    }

    server {
        listen unix:$TEST_NGINX_HTML_DIR/mock.sock;
        access_log logs/error.log got;
        client_body_buffer_size 1m;
        client_max_body_size 1m;

        location / {
            add_header X-Got-Length "$http_content_length";
            echo_read_request_body;
            echo_request_body;
        }
    }

    server {
        listen unix:$TEST_NGINX_HTML_DIR/down.sock;
        access_log off;

        location / {
            echo_read_request_body;
            echo_status 503;
            echo '{"error":{"message":"overloaded"}}';
        }
    }
_EOC_

our $Gateway = <<'_EOC_';
    location /v1/ {
        client_max_body_size 1m;
        client_body_buffer_size 64k;
        llm_gateway openai;
        proxy_pass http://$llm_upstream;
        add_header X-Model "$llm_model";
        add_header X-Prompt-Tokens "$llm_prompt_tokens";
    }
_EOC_

block_defaults(http_config => $Mock, config => $Gateway);

# a chat completion body of about $size bytes (as t/034)
sub body {
    my ($size, $tag, $model) = @_;
    $model //= 'gpt-4o-mini';
    my @words = ('the', 'gateway', 'caf\u00e9', "na\xc3\xafve", '\"quoted\"',
                 'line\nbreak', "42\xe2\x82\xac", '\\\\path', 'tokens', 'x');
    my ($i, $text) = (0, "$tag");
    while (length($text) < $size - 120) {
        $text .= ' ' . $words[($i * 7 + length($tag)) % @words];
        $i++;
    }
    return '{"model":"' . $model . '","messages":[{"role":"system","content":"Be brief."},'
         . '{"role":"user","content":"' . $text . '"}]}';
}

sub head {
    my ($len, $conn, $more) = @_;
    return "POST /v1/chat/completions HTTP/1.1\r\nHost: localhost\r\n"
         . "Connection: " . ($conn // 'close') . "\r\n"
         . "Content-Type: application/json\r\n" . ($more // '')
         . (defined $len ? "Content-Length: $len\r\n" : '') . "\r\n";
}

sub post {
    my ($body, $conn, $more) = @_;
    return head(length($body), $conn, $more) . $body;
}

sub chunked {
    my ($body, $size) = @_;
    my $out = '';
    for (my $i = 0; $i < length($body); $i += $size) {
        my $c = substr($body, $i, $size);
        $out .= sprintf("%x\r\n", length($c)) . $c . "\r\n";
    }
    return $out . "0\r\n\r\n";
}

# what redaction sends for body(): the text decoded, the address replaced,
# encoded again (UTF-8 as is, the JSON escapes that must be)
sub redacted {
    my $body = shift;
    my $json = JSON::PP->new->utf8(0)->allow_nonref;
    $body =~ /"role":"user","content":("(?:[^"\\]|\\.)*")/ or die;
    my ($at, $raw) = ($-[1], $1);
    my $text = $json->decode(Encode::decode('UTF-8', $raw));
    $text =~ s/john\.doe\@example\.com/[EMAIL]/g;
    substr($body, $at, length $raw) = Encode::encode('UTF-8', $json->encode($text));
    return $body;
}

our $B16 = body(16384, 'sixteen');
our $B40 = body(40000, 'forty');

run_tests();

__DATA__

=== TEST 1: a chunked body (HTTP/1.1), part of it with the headers
--- raw_request eval
my $h = ::head(undef, 'close', "Transfer-Encoding: chunked\r\n");
my $c = ::chunked($::B40, 3000);
[$h . substr($c, 0, 2000), substr($c, 2000)]
--- raw_request_middle_delay: 0.05
--- response_body eval
$::B40
--- response_headers eval
"X-Got-Length: " . length($::B40)



=== TEST 2: HTTP/2, a body larger than a DATA frame and the initial window
--- http2
--- request eval
"POST /v1/chat/completions\n" . ::body(90000, 'h2')
--- more_headers
Content-Type: application/json
--- config
    location /v1/ {
        client_max_body_size 1m;
        client_body_buffer_size 256k;
        llm_gateway openai;
        proxy_pass http://$llm_upstream;
        add_header X-Model "$llm_model";
    }
--- response_body eval
::body(90000, 'h2')
--- response_headers
X-Model: gpt-4o-mini



=== TEST 3: the headers in a large header buffer, part of the body with them
--- config
    client_header_buffer_size 1k;
    large_client_header_buffers 4 16k;

    location /v1/ {
        client_max_body_size 1m;
        client_body_buffer_size 64k;
        llm_gateway openai;
        proxy_pass http://$llm_upstream;
        add_header X-Model "$llm_model";
    }
--- raw_request eval
my $r = ::post($::B40, 'close', "X-Big: " . ('b' x 3000) . "\r\n");
my $h = index($r, "\r\n\r\n") + 4;
[substr($r, 0, $h + 9000), substr($r, $h + 9000)]
--- raw_request_middle_delay: 0.05
--- response_body eval
$::B40
--- response_headers eval
"X-Got-Length: " . length($::B40)



=== TEST 4: a body in many small pieces
--- raw_request eval
my $b = ::body(3000, 'bytes');
my $r = ::post($b);
my $h = index($r, "\r\n\r\n") + 4;
my @p = (substr($r, 0, $h + 7));
for (my $i = $h + 7; $i < length($r); $i += 97) { push @p, substr($r, $i, 97) }
\@p
--- raw_request_middle_delay: 0.002
--- response_body eval
::body(3000, 'bytes')
--- timeout: 10



=== TEST 5: a client that closes mid-body: the request ends, nothing else breaks
--- raw_request eval
my $r = ::post($::B16);
my $h = index($r, "\r\n\r\n") + 4;
[substr($r, 0, $h + 700), substr($r, $h + 700, 3000)]
--- raw_request_middle_delay: 0.05
--- shutdown: 1
--- ignore_response
--- error_log
client prematurely closed connection
--- no_error_log
[alert]
[crit]
mock-got



=== TEST 6: a client that stalls mid-body: 408, nothing else breaks
--- config
    location /v1/ {
        client_max_body_size 1m;
        client_body_buffer_size 64k;
        client_body_timeout 300ms;
        llm_gateway openai;
        proxy_pass http://$llm_upstream;
    }
--- raw_request eval
my $r = ::post($::B16);
my $h = index($r, "\r\n\r\n") + 4;
[substr($r, 0, $h + 700)]
--- ignore_response
--- timeout: 2
--- access_log
" 408 0
--- no_error_log
[alert]
[crit]
mock-got



=== TEST 7: client_body_in_file_only on: read from the file
--- config
    location /v1/ {
        client_max_body_size 1m;
        client_body_buffer_size 64k;
        client_body_in_file_only clean;
        llm_gateway openai;
        proxy_pass http://$llm_upstream;
        add_header X-Model "$llm_model";
    }
--- raw_request eval
my $r = ::post($::B16);
my $h = index($r, "\r\n\r\n") + 4;
[substr($r, 0, $h + 700), substr($r, $h + 700)]
--- raw_request_middle_delay: 0.05
--- response_body eval
$::B16
--- response_headers
X-Model: gpt-4o-mini



=== TEST 8: proxy_request_buffering off: the body is read before anyway, sent whole
--- config
    location /v1/ {
        client_max_body_size 1m;
        client_body_buffer_size 64k;
        proxy_request_buffering off;
        proxy_http_version 1.1;
        llm_gateway openai;
        proxy_pass http://$llm_upstream;
        add_header X-Model "$llm_model";
    }
--- raw_request eval
my $r = ::post($::B40);
my $h = index($r, "\r\n\r\n") + 4;
[substr($r, 0, $h + 700), substr($r, $h + 700)]
--- raw_request_middle_delay: 0.05
--- response_body eval
$::B40
--- response_headers eval
"X-Got-Length: " . length($::B40)



=== TEST 9: keep-alive: the end of a body and the next request in one packet; both are read right
--- raw_request eval
my $r = ::post($::B16, 'keep-alive');
my $h = index($r, "\r\n\r\n") + 4;
my $next = ::post(::body(500, 'next'));
[substr($r, 0, $h + 700), substr($r, $h + 700) . $next]
--- raw_request_middle_delay: 0.05
--- response_body eval
$::B16
--- error_log eval
["mock-got: POST " . length($::B16) . " ", "mock-got: POST " . length(::body(500, 'next')) . " "]
--- no_error_log
[alert]
[error]



=== TEST 10: keep-alive: a next request some time after the first answer
--- raw_request eval
my $r = ::post($::B16, 'keep-alive');
my $h = index($r, "\r\n\r\n") + 4;
[substr($r, 0, $h + 700), substr($r, $h + 700), ::post(::body(600, 'later'))]
--- raw_request_middle_delay: 0.1
--- response_body eval
$::B16
--- error_log eval
["mock-got: POST " . length($::B16) . " ", "mock-got: POST " . length(::body(600, 'later')) . " "]
--- no_error_log
[alert]
[error]



=== TEST 11: redaction rewrites a body read in place: the upstream gets the new body and its length
--- config
    location /v1/ {
        client_max_body_size 1m;
        client_body_buffer_size 64k;
        llm_gateway openai;
        llm_redact request;
        proxy_pass http://$llm_upstream;
    }
--- raw_request eval
my $b = ::body(16384, 'mail john.doe@example.com now');
my $r = ::post($b);
my $h = index($r, "\r\n\r\n") + 4;
[substr($r, 0, $h + 700), substr($r, $h + 700)]
--- raw_request_middle_delay: 0.05
--- response_body eval
::redacted(::body(16384, 'mail john.doe@example.com now'))
--- response_headers eval
"X-Got-Length: " . length(::redacted(::body(16384, 'mail john.doe@example.com now')))



=== TEST 12: a fallback re-sends the body read in place, its model rewritten
--- raw_request eval
my $b = ::body(16384, 'fallback', 'flaky');
my $r = ::post($b);
my $h = index($r, "\r\n\r\n") + 4;
[substr($r, 0, $h + 700), substr($r, $h + 700)]
--- raw_request_middle_delay: 0.05
--- response_body eval
::body(16384, 'fallback', 'gpt-4o-mini')
--- response_headers
X-Model: gpt-4o-mini



=== TEST 13: a shadow request re-sends the body read in place, its model rewritten
--- raw_request eval
my $b = ::body(16384, 'shadow', 'shadowed');
my $r = ::post($b);
my $h = index($r, "\r\n\r\n") + 4;
[substr($r, 0, $h + 700), substr($r, $h + 700)]
--- raw_request_middle_delay: 0.05
--- response_body eval
::body(16384, 'shadow', 'gpt-4o-mini')
--- wait: 0.3
--- error_log eval
["shadow-got: POST " . length(::body(16384, 'shadow', 'shadowm')) . " "]



=== TEST 14: a body not read whole, the request ended by post_action after client_body_timeout: the connection is not kept, its rest is not read as a request (a body read in place lives in the request's pool: nginx looked at r->header_in after freeing it)
--- config
    location /v1/ {
        client_max_body_size 1m;
        client_body_buffer_size 64k;
        client_body_timeout 300ms;
        post_action /after;
        llm_gateway openai;
        proxy_pass http://$llm_upstream;
    }

    location = /after {
        internal;
        return 204;
    }

    location /smuggled {
        return 200 "smuggled\n";
    }
--- raw_request eval
my $b = ::body(16384, 'stalled');
substr($b, 700, 26) = "GET /smuggled HTTP/1.0\r\n\r\n";
my $r = ::post($b, 'keep-alive');
my $h = index($r, "\r\n\r\n") + 4;
[substr($r, 0, $h + 700), { value => substr($r, $h + 700), delay_before => 0.8 }]
--- log_level: debug
--- ignore_response
--- abort
--- timeout: 2
--- wait: 0.2
--- no_access_log
GET /smuggled
--- no_error_log
set http keepalive handler
[alert]
[crit]
mock-got
