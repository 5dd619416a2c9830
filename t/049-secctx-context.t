# Secrets found by context (issue 17, branch secctx): a token behind a
# distinctive provider prefix of its documented length whatever it holds
# (shippo_live_aaaa..., duffel_test_..., AGE-SECRET-KEY-1QQQ..., sk-lf-<uuid>),
# a short quoted token right after a credential word ("parsehub token =
# 'vZrEclFwOqeA'"), a "name: key / e-mail" credential pair on a line of its
# own; in a request, in a JSON answer, and in a stream sent one character
# per event (the pair's key held until the line shows what it is).

use Test::Nginx::Socket 'no_plan';
use FindBin;
use lib "$FindBin::Bin/lib";
use LLMTest::Suite;
use LLMTest::RedactMock qw(by_char contents redact_mock);

$ENV{TEST_NGINX_HTML_DIR} ||= html_dir();

no_shuffle();
no_long_string();
log_level('info');
no_root_location();

# a line break is the JSON escape \\u000a, a quote \\u0027 (one event each)
(our $StreamText = "cloudflare: abcdef1234567890abcdef1234567890abcdef0 / "
    . "me\@example.com\nzipbooks = SecureP\@ss123 / admin\@secure.com\n"
    . "parsehub token = \\\\u0027vZrEclFwOqeA\\\\u0027 and "
    . "shippo_test_1111111111111111111111111111111111111111\n"
    . "version: v1.2.3-rc1 / dev\@example.com ok") =~ s/\n/\\\\u000a/g;
our $Stream = by_char($StreamText);

our $Answer = 'gocanvas: Abc123+/Xyz456mnopQRStuvw89YZ12345678ABad6C= / '
    . 'gocanvasemail = a.b@example.org\\\\nplivo token - '
    . '\\\\u0027YGIQXPGZSVVGVGOREMAE\\\\u0027';

our $Mock = redact_mock(answers => [$Answer], streams => [$Stream]);

our $Gateway = <<'_EOC_';
    location / {
        llm_gateway openai;
        llm_redact request response;
        proxy_pass http://mock;
        access_log logs/error.log llm;
    }
_EOC_

block_defaults(http_config => $Mock, config => $Gateway);

run_tests();

__DATA__

=== TEST 1: request: placeholders behind distinctive prefixes, short quoted tokens, a key / e-mail pair
--- request
POST /echo/chat/completions
{"model":"gpt-4o-mini","messages":[{"role":"user","content":"DUFFEL_API_TOKEN=duffel_test_bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\nexport AGE_KEY=\"AGE-SECRET-KEY-1QQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQ\"\nlangfuse_secret_key = sk-lf-00000000-0000-0000-0000-000000000000\nmyintervals token = 'rb1nz5xhues'\ncloze: 1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d / me@example.com"}]}
--- response_body chomp
{"model":"gpt-4o-mini","messages":[{"role":"user","content":"DUFFEL_API_TOKEN=[SECRET]\nexport AGE_KEY=\"[SECRET]\"\nlangfuse_secret_key = [SECRET]\nmyintervals token = '[SECRET]'\ncloze: [SECRET]"}]}
--- error_log
llm-log: redactions=5 
--- no_error_log
[error]



=== TEST 2: request: look-alikes stay (words, identifiers, a short hex id, a public key, a version / address line)
--- request
POST /echo/chat/completions
{"model":"gpt-4o-mini","messages":[{"role":"user","content":"token = 'XmlHttpRequest'; api_key = 'password123'; key = '5f2b3c9a1e'; secret: 'abcdefghijklmnop'; pk-lf-00000000-0000-0000-0000-000000000000; shippo_live_aaaa\nMaintainer: lukasz123 / lukasz@example.org"}]}
--- response_body chomp
{"model":"gpt-4o-mini","messages":[{"role":"user","content":"token = 'XmlHttpRequest'; api_key = 'password123'; key = '5f2b3c9a1e'; secret: 'abcdefghijklmnop'; pk-lf-00000000-0000-0000-0000-000000000000; shippo_live_aaaa\nMaintainer: lukasz123 / [EMAIL]"}]}
--- error_log
llm-log: redactions=1 
--- no_error_log
[error]



=== TEST 3: JSON answer: a pair with a named address, a one-case quoted token
--- request
POST /json/chat/completions
{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}
--- response_body_like eval
qr/"content":"gocanvas: \[SECRET\]\\nplivo token - '\[SECRET\]'"/
--- error_log
llm-log: redactions=2 
--- no_error_log
[error]



=== TEST 4: stream, one character per event: the pair's key is held until " / " and the address come
--- request
POST /split/chat/completions
{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"hi"}]}
--- response_body_filters eval
\&main::contents
--- response_body chomp
cloudflare: [SECRET]
zipbooks = [SECRET]
parsehub token = '[SECRET]' and [SECRET]
version: v1.2.3-rc1 / [EMAIL] ok
--- error_log
llm-log: redactions=5 
--- no_error_log
[error]
[warn]



=== TEST 5: stream, one character per event: no piece of a value reaches the client
--- request
POST /split/chat/completions
{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"hi"}]}
--- response_body_filters eval
\&main::contents
--- response_body_unlike eval
qr/abcdef1234|SecureP|P\@ss|vZrEc|shippo_|1111111111|me\@example|admin\@secure/
