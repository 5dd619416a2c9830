# National identification numbers, second block (issue 17): the schemes
# and layouts validated on the digit candidates of the national_id type
# (ngx_http_llm_pii_nid2_*).  Three families: a capital next to the digits
# (Mauritius), prefixed or punctuated layouts (Swiss AHV, Emirates ID,
# Belgian national number, Romanian CNP, South African ID spaced 6-4-3),
# and the numbers whose only protection is a date and one check digit,
# taken after a word that names them (Swedish personnummer bare and
# interim, Finnish henkilötunnus, Icelandic kennitala, Bulgarian EGN,
# Estonian isikukood, Peruvian CUI, JMBG; and, through a pattern of their
# own, the forms with a letter or "/" right after six digits: Finnish
# 2000s "DDMMYYA", Swedish interim "YYMMDD-TNNC", Czech "YYMMDD/NNNC");
# in a request, in a JSON answer, and in a stream sent one character per
# event.

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

our $Stream = by_char('NIC T040463768633C, AHV 756.6654.2598.72, '
    . 'ID 784-1967-7174292-9, RN 90.03.15-123.77, ZA 750330 5044 089; '
    . 'personnummer 19910412-T232, kennitala 060803-2930, '
    . 'hetu 150384-123R, isikukood 42112087049 ok');

our $Answer = 'NIC C0908361667732, CNP 2430111345593, AHV 7566654259872, '
    . 'EGN 1501052518, personnummer 9104125233; not 756.6654.2598.73.';

# a letter or "/" right after six digits (the second block's pattern)
our $Stream2 = by_char('hetu 150305A318M, personnummer 910412-R471, '
    . 'RC 905417/1236; not: lot 910412-R471 ok');

our $Mock = redact_mock(answers => [$Answer], streams => [$Stream, $Stream2]);

our $Gateway = <<'_EOC_';
    location / {
        llm_gateway openai;
        llm_redact request response;
        llm_redact_types all national_id;
        proxy_pass http://mock;
        access_log logs/error.log llm;
    }

    location /default/ {
        llm_gateway openai;
        llm_redact request response;
        rewrite ^/default(/.*)$ $1 break;
        proxy_pass http://mock;
        access_log logs/error.log llm;
    }
_EOC_

block_defaults(http_config => $Mock, config => $Gateway);

run_tests();

__DATA__

=== TEST 1: request: a capital next to the digits, prefixed and punctuated layouts; wrong check characters stay
--- request
POST /echo/chat/completions
{"model":"gpt-4o-mini","messages":[{"role":"user","content":"NIC C0908361667732 and T040463768633C, AHV 756.6654.2598.72 or 7566654259872, Emirates ID 784-1967-7174292-9, CNP 2430111345593, RN 90.03.15-123.77 and 02.07.12-045.06. Not: C0908361667733, T040463768633D, 756.6654.2598.73, 784-1967-7174292-8, 2430111345594, 90.03.15-123.78"}]}
--- response_body chomp
{"model":"gpt-4o-mini","messages":[{"role":"user","content":"NIC [NATIONAL_ID] and [NATIONAL_ID], AHV [NATIONAL_ID] or [NATIONAL_ID], Emirates ID [NATIONAL_ID], CNP [NATIONAL_ID], RN [NATIONAL_ID] and [NATIONAL_ID]. Not: C0908361667733, T040463768633D, 756.6654.2598.73, 784-1967-7174292-8, 2430111345594, 90.03.15-123.78"}]}
--- error_log
llm-log: redactions=8 
--- no_error_log
[error]



=== TEST 2: request: a date and one check digit after the word that names the number; the same numbers without it stay
--- request
POST /echo/chat/completions
{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Not: order 9104125233 shipped, build 150384-123R, ref 060803-2930, batch 1501052518, lot 19910412-T232, account 42112087049.\nThe applicant's personnummer 9104125233 (or 19910412-T232), henkilötunnus 150384-123R, kennitala 060803-2930, ЕГН 1501052518, isikukood 42112087049; personnummer 9104125234 is wrong"}]}
--- response_body chomp
{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Not: order 9104125233 shipped, build 150384-123R, ref 060803-2930, batch 1501052518, lot 19910412-T232, account 42112087049.\nThe applicant's personnummer [NATIONAL_ID] (or [NATIONAL_ID]), henkilötunnus [NATIONAL_ID], kennitala [NATIONAL_ID], ЕГН [NATIONAL_ID], isikukood [NATIONAL_ID]; personnummer 9104125234 is wrong"}]}
--- error_log
llm-log: redactions=6 
--- no_error_log
[error]



=== TEST 3: request: national IDs are left alone by default
--- request
POST /default/echo/chat/completions
{"model":"gpt-4o-mini","messages":[{"role":"user","content":"NIC C0908361667732, AHV 756.6654.2598.72, personnummer 9104125233"}]}
--- response_body chomp
{"model":"gpt-4o-mini","messages":[{"role":"user","content":"NIC C0908361667732, AHV 756.6654.2598.72, personnummer 9104125233"}]}
--- error_log
llm-log: redactions=0 
--- no_error_log
[error]



=== TEST 4: JSON answer: the new schemes are masked before the client sees them
--- request
POST /json/chat/completions
{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}
--- response_body_like eval
qr/"content":"NIC \[NATIONAL_ID\], CNP \[NATIONAL_ID\], AHV \[NATIONAL_ID\], EGN \[NATIONAL_ID\], personnummer \[NATIONAL_ID\]; not 756\.6654\.2598\.73\."/
--- error_log
llm-log: redactions=5 
--- no_error_log
[error]



=== TEST 5: stream, one character per event: each value is seen whole, its letters included
--- request
POST /split/chat/completions
{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"hi"}]}
--- response_body_filters eval
\&main::contents
--- response_body chomp
NIC [NATIONAL_ID], AHV [NATIONAL_ID], ID [NATIONAL_ID], RN [NATIONAL_ID], ZA [NATIONAL_ID]; personnummer [NATIONAL_ID], kennitala [NATIONAL_ID], hetu [NATIONAL_ID], isikukood [NATIONAL_ID] ok
--- error_log
llm-log: redactions=9 
--- no_error_log
[error]
[warn]



=== TEST 6: stream, one character per event: no piece of a value reaches the client
--- request
POST /split/chat/completions
{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"hi"}]}
--- response_body_unlike eval
qr/T04|633C|6654|2598|1967|7174|123\.77|5044|T232|0604|2930|150384|123R|42112/



=== TEST 7: request: a letter or "/" right after six digits, after a word that names the number
--- request
POST /echo/chat/completions
{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Not: ref 150305A318M, lot 910412-R471, page 905417/1236, and far from any word of the kind.\nhenkilötunnus 150305A318M, personnummer 910412-R471 or 910412R471, rodné číslo 905417/1236, DNI 10812543-H; hetu 150305A318N is wrong"}]}
--- response_body chomp
{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Not: ref 150305A318M, lot 910412-R471, page 905417/1236, and far from any word of the kind.\nhenkilötunnus [NATIONAL_ID], personnummer [NATIONAL_ID] or [NATIONAL_ID], rodné číslo [NATIONAL_ID], DNI [NATIONAL_ID]; hetu 150305A318N is wrong"}]}
--- error_log
llm-log: redactions=5 
--- no_error_log
[error]



=== TEST 8: stream, one character per event: the letter and the serial are held with the date
--- request
POST /split2/chat/completions
{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"hi"}]}
--- response_body_filters eval
\&main::contents
--- response_body chomp
hetu [NATIONAL_ID], personnummer [NATIONAL_ID], RC [NATIONAL_ID]; not: lot 910412-R471 ok
--- error_log
llm-log: redactions=3 
--- no_error_log
[error]
[warn]
