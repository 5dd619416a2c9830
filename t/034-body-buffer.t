# The request body read into one buffer and parsed where it lies: the part
# that came with the headers is moved into a buffer with room for the whole
# body, nginx reads the rest after it (ngx_http_llm_body_buffer()); bodies
# in several pieces of memory or in a temporary file are joined once.  What
# the upstream gets must be the body, byte for byte, however it arrived; a
# prompt text with escapes is decoded when the estimate needs it.

use Test::Nginx::Socket 'no_plan';
use FindBin;
use lib "$FindBin::Bin/lib";
use LLMTest::Suite;

$ENV{TEST_NGINX_HTML_DIR} ||= html_dir();

no_shuffle();
no_long_string();
log_level('info');

our $Mock = <<'_EOC_';
    llm_model gpt-4o-mini upstream=mock;

    upstream mock {
        server unix:$TEST_NGINX_HTML_DIR/mock.sock;
    }

    server {
        listen unix:$TEST_NGINX_HTML_DIR/mock.sock;
        access_log off;
        client_body_buffer_size 1m;
        client_max_body_size 1m;

        location / {
            add_header X-Got-Length "$http_content_length";
            echo_read_request_body;
            echo_request_body;
        }
    }
_EOC_

our $Gateway = <<'_EOC_';
    location /v1/ {
        client_max_body_size 1m;
        client_body_buffer_size 64k;
        llm_gateway openai;
        proxy_pass http://mock;
        add_header X-Model "$llm_model";
        add_header X-Prompt-Tokens "$llm_prompt_tokens";
    }
_EOC_

block_defaults(http_config => $Mock, config => $Gateway);

# a chat completion body of about $size bytes: plain words, escapes,
# non-ASCII text; $tag makes bodies differ
sub body {
    my ($size, $tag) = @_;
    my @words = ('the', 'gateway', 'caf\u00e9', "na\xc3\xafve", '\"quoted\"',
                 'line\nbreak', "42\xe2\x82\xac", '\\\\path', 'tokens', 'x');
    my ($i, $text) = (0, "$tag");
    while (length($text) < $size - 120) {
        $text .= ' ' . $words[($i * 7 + length($tag)) % @words];
        $i++;
    }
    return '{"model":"gpt-4o-mini","messages":[{"role":"system","content":"Be brief."},'
         . '{"role":"user","content":"' . $text . '"}]}';
}

sub post {
    my ($body, $conn) = @_;
    return "POST /v1/chat/completions HTTP/1.1\r\nHost: localhost\r\n"
         . "Connection: " . ($conn // 'close') . "\r\n"
         . "Content-Type: application/json\r\n"
         . "Content-Length: " . length($body) . "\r\n\r\n" . $body;
}

our $B3 = body(3000, 'three');
our $B16 = body(16384, 'sixteen');
our $B40 = body(40000, 'forty');
our $B90 = body(90000, 'ninety');

run_tests();

__DATA__

=== TEST 1: a 3 KB body, part of it with the headers: the upstream gets it whole
--- raw_request eval
::post($::B3)
--- response_body eval
$::B3
--- response_headers eval
"X-Model: gpt-4o-mini\nX-Got-Length: " . length($::B3)
--- no_error_log
[error]



=== TEST 2: a 16 KB body
--- raw_request eval
::post($::B16)
--- response_body eval
$::B16
--- response_headers eval
"X-Got-Length: " . length($::B16)



=== TEST 3: a 40 KB body arriving in pieces, a pause after the headers and within
--- raw_request eval
my $r = ::post($::B40);
my $h = index($r, "\r\n\r\n") + 4;
[substr($r, 0, $h + 300), substr($r, $h + 300, 5000), substr($r, $h + 5300)]
--- raw_request_middle_delay: 0.05
--- response_body eval
$::B40
--- response_headers eval
"X-Got-Length: " . length($::B40)



=== TEST 4: the headers alone first, then the body (nothing came with them)
--- raw_request eval
my $r = ::post($::B16);
my $h = index($r, "\r\n\r\n") + 4;
[substr($r, 0, $h), substr($r, $h)]
--- raw_request_middle_delay: 0.05
--- response_body eval
$::B16
--- response_headers eval
"X-Got-Length: " . length($::B16)



=== TEST 5: a body larger than client_body_buffer_size goes to a temporary file, joined from there
--- raw_request eval
::post($::B90)
--- response_body eval
$::B90
--- response_headers eval
"X-Got-Length: " . length($::B90)
--- error_log
a client request body is buffered to a temporary file



=== TEST 6: pipelined requests with bodies on one connection: each is read whole, none is lost
--- pipelined_requests eval
["POST /v1/chat/completions\n$::B3", "POST /v1/chat/completions\n$::B16",
 "POST /v1/chat/completions\n" . ::body(5000, 'five')]
--- response_body eval
[$::B3, $::B16, ::body(5000, 'five')]
--- no_error_log
[error]
[alert]



=== TEST 7: a body all in the first packet, a small one: one buffer as before
--- raw_request eval
::post(::body(300, 'small'))
--- response_body eval
::body(300, 'small')



=== TEST 8: escaped prompt text is decoded for the estimate: "caf\u00e9" counts as "café" (TEST 9)
--- request eval
"POST /v1/chat/completions\n" . '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"un caf\u00e9 na\u00efve \"cit\u00e9\" \ud83d\ude00 line\nend \u65e5\u672c\u8a9e"}]}'
--- response_headers
X-Prompt-Tokens: 22



=== TEST 9: the same text unescaped
--- request eval
"POST /v1/chat/completions\n" . "{\"model\":\"gpt-4o-mini\",\"messages\":[{\"role\":\"user\",\"content\":\"un caf\xc3\xa9 na\xc3\xafve \\\"cit\xc3\xa9\\\" \xf0\x9f\x98\x80 line\\nend \xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e\"}]}"
--- response_headers
X-Prompt-Tokens: 22
