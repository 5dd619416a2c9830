# PII and secret formats of issue 17 through nginx: national phone
# numbers, numbering plans, cards by issuer range, SSN variants, IPv6 and
# prefix lengths, webhooks and registry tokens, JWTs with any header, and
# values hidden behind full-width digits, zero-width or no-break spaces: in
# a request, in a JSON answer, and in a stream sent one character per
# event.

use Test::Nginx::Socket 'no_plan';
use FindBin;
use lib "$FindBin::Bin/lib";
use LLMTest::Suite;
use LLMTest::RedactMock ':all';
use JSON::PP ();

$ENV{TEST_NGINX_HTML_DIR} ||= html_dir();

no_shuffle();
no_long_string();
log_level('info');
no_root_location();

our $Stream = by_char('SSN 536221234, call me at 8 (812) 555-12-34, '
    . 'card \\\\uff14\\\\uff11\\\\uff11\\\\uff11 1111 1111 1111, '
    . 'from fe80::1%eth0 and 10.0.0.0/8, '
    . 'runner glrt-AbCdEf0123456789GhIjKl, ok');

our $Answer = 'Call 8 (812) 555-12-34 or +683 4002; card 6212 3456 7890 128 '
    . 'or 4222-2222-2222-2; SSN 536221234 or 536.22.1234; net 2001:db8::/32 '
    . 'and fe80::1%eth0; hook https://hooks.slack.com/services/T0ABCDEF1/'
    . 'B0ABCDEF2/AbCdEfGhIjKlMnOpQrStUvWx. Not +999 1234 5678 nor '
    . '7:6:5:4:3:42.42.42.42.';

our $Mock = redact_mock(answers => [$Answer], streams => [$Stream]);

our $Gateway = $RedactGateway;

block_defaults(http_config => $Mock, config => $Gateway);

run_tests();

__DATA__

=== TEST 1: request: national phone formats, numbering plans, cards by issuer range
--- request
POST /echo/chat/completions
{"model":"gpt-4o-mini","messages":[{"role":"user","content":"call me at 8 (812) 555-12-34, Tel. (11) 4567-8901, dial +683 4002; unionpay 6212 3456 7890 128, troy 9792-0011-2233-4452, mir 2200 1234 5678 9019, maestro 5018 1234 5673, visa 4222-2222-2222-2. Not: +999 1234 5678, IBAN DE89 3704 0044 0532 0130 01, 4111 1111 1111 1111 111."}]}
--- response_body chomp
{"model":"gpt-4o-mini","messages":[{"role":"user","content":"call me at [PHONE], Tel. [PHONE], dial [PHONE]; unionpay [CARD], troy [CARD], mir [CARD], maestro [CARD], visa [CARD]. Not: +999 1234 5678, IBAN DE89 3704 0044 0532 0130 01, 4111 1111 1111 1111 111."}]}
--- error_log
llm-log: redactions=8 
--- no_error_log
[error]



=== TEST 2: request: SSN variants, IPv6 forms and prefix lengths, webhooks, registry tokens, any JWT header
--- request
POST /echo/chat/completions
{"model":"gpt-4o-mini","messages":[{"role":"user","content":"SSN 536221234, ssn 536.22.1234; from 10.0.0.0/8, fe80::1%eth0, ::1, 2001:db8::/32, not 7:6:5:4:3:42.42.42.42"},{"role":"user","content":"order 536221234\nhook https://hooks.slack.com/services/T0ABCDEF1/B0ABCDEF2/AbCdEfGhIjKlMnOpQrStUvWx\nrunner glrt-AbCdEf0123456789GhIjKl\n//registry.npmjs.org/:_authToken=6f2c1a8e-41b3-4c1d-9e3a-2b7d5c9f0a14\njwt eyJraWQiOiIyMDI0LXExIiwieDV0IjoiWm05dlltRnkifQ.eyJzdWIiOiJ1LTEwMjkiLCJpYXQiOjE3MDAwMDAwMDB9.c2lnbmF0dXJlLW9mLWEtdG9rZW4tMTIz"}]}
--- response_body chomp
{"model":"gpt-4o-mini","messages":[{"role":"user","content":"SSN [SSN], ssn [SSN]; from [IP], [IP], [IP], [IP], not 7:6:5:4:3:42.42.42.42"},{"role":"user","content":"order 536221234\nhook [SECRET]\nrunner [SECRET]\n//registry.npmjs.org/:_authToken=[SECRET]\njwt [SECRET]"}]}
--- error_log
llm-log: redactions=10 
--- no_error_log
[error]



=== TEST 3: request: full-width digits, zero-width and no-break spaces do not hide a value
--- request
POST /echo/chat/completions
{"model":"gpt-4o-mini","messages":[{"role":"user","content":"card \uff14\uff11\uff11\uff11 \uff11\uff11\uff11\uff11 \uff11\uff11\uff11\uff11 \uff11\uff11\uff11\uff11, ssn 536\u200b-22-1234, call +44\u00a020\u00a07946\u00a00958, mail jo\u200be@example.com, caf\u00e9 \uff11\uff12"}]}
--- response_body chomp
{"model":"gpt-4o-mini","messages":[{"role":"user","content":"card [CARD], ssn [SSN], call [PHONE], mail [EMAIL], café １２"}]}
--- error_log
llm-log: redactions=4 
--- no_error_log
[error]



=== TEST 4: JSON answer: the new formats are masked before the client sees them
--- request
POST /json/chat/completions
{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}
--- response_body_like eval
qr/"content":"Call \[PHONE\] or \[PHONE\]; card \[CARD\] or \[CARD\]; SSN \[SSN\] or \[SSN\]; net \[IP\] and \[IP\]; hook \[SECRET\]\. Not \+999 1234 5678 nor 7:6:5:4:3:42\.42\.42\.42\."/
--- error_log
llm-log: redactions=9 
--- no_error_log
[error]



=== TEST 5: stream, one character per event: each value is seen whole
--- request
POST /split/chat/completions
{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"hi"}]}
--- response_body_filters eval
\&main::contents
--- response_body chomp
SSN [SSN], call me at [PHONE], card [CARD], from [IP] and [IP], runner [SECRET], ok
--- error_log
llm-log: redactions=6 
--- no_error_log
[error]
[warn]



=== TEST 6: stream, one character per event: no piece of a value reaches the client
--- request
POST /split/chat/completions
{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"hi"}]}
--- response_body_unlike eval
qr/536|812|555|\\uff14|\\uff11|fe80|eth0|10\.0\.0|glrt|GhIjKl/



=== TEST 7: request: 11-digit ids with a leading 1 and EAN-13 barcodes in a Maestro range stay; the same digits written as a phone or a card go
--- request
POST /echo/chat/completions
{"model":"gpt-4o-mini","messages":[{"role":"user","content":"order 16223891923 shipped, batch 14978887221; EAN 5089085209268, item 5000852489645. Call 16223891923, +1 622 389 1923 or 1-622-389-1923; maestro 5089 0852 0926 8, visa 4222222222222."}]}
--- response_body chomp
{"model":"gpt-4o-mini","messages":[{"role":"user","content":"order 16223891923 shipped, batch 14978887221; EAN 5089085209268, item 5000852489645. Call [PHONE], [PHONE] or [PHONE]; maestro [CARD], visa [CARD]."}]}
--- error_log
llm-log: redactions=5 
--- no_error_log
[error]
