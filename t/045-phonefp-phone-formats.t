# Phone numbers (issue 17, the phone validators' precision and recall):
# the NANP rule reads the plan's groups and reserved area codes (a yymmdd
# build stamp before four digits, "build 230916-0478", and N9X, 37X, 96X
# area codes are no phone numbers); the context rule takes a number after
# "my number" (13 languages) and after "reach ... on/at"; a trunk-0 area
# code may have a separator of its own ("030 212-345", "(02) 212-3456");
# "+", a calling code and a short national number of its plan
# ("+98 9601"); a two-digit area code in parentheses ("(11) 2345-6789"),
# Spain's 3-2-2-2 ("612 34 56 78"), the trunk 8 of the former Soviet
# plans ("8 (812) 555-12-34").  In a request, in a JSON answer, and in a stream sent one
# character per event.  Review 6a (branch phonefix, TESTs 7-10): a label's
# number before a date, a decimal, a year or time range ("Rechnung Nr. 05
# 12.03.2024", "Season 02 2019-2020", "bus 07 1030-1130"), "reach" with an
# object that is no person or desk or before a date, a quantity, a time
# range, an IPv4 address, "my numbers are ..." and counts, Spain's 3-2-2-2
# starting with 8 before a colon are no phone numbers.

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

our $Stream = by_char('build 230916-0478, nightly 200612 6663; '
    . 'My number is 44 123 4567, reach me at 689 1234, '
    . 'office (02) 212-3456 or 030 212-345, dial +98 9601; '
    . '(11) 2345-6789, 612 34 56 78, 8 (812) 555-12-34; '
    . 'not 492-555-0100 ok');

our $Answer = 'Il mio numero è 612 34 56 78; you can reach the front desk '
    . 'on 800 12 34; build 250722-7103 is out.';

our $Negatives = 'Not: You can reach us on 2024-05-12, reach the milestone '
    . 'at 2024-06-30, reach us at 0800-1700, reached the target at 12 000 000, '
    . 'reach the supercalifragilisticexpialidocious antidisestablishmentarianism '
    . 'on 689 1234; My numbers are 4 8 15 16 23 42, my number: 42 17 9 33 8; '
    . 'Rechnung Nr. 05 12.03.2024, row 07 2024-03-15, Season 02 2019-2020, '
    . 'bus 07 1030-1130, Hours 0800 1200-1600; row 812 34 56 78: ok.';

our $Stream2 = by_char($Negatives . ' Yes: reach me at 689 1234');

our $Answer2 = 'You can reach the server at 192.168.0.10 over SSH; we reached '
    . 'the agreement on 12 03 2024; Invoice 04 15.03.2024 paid; my number: '
    . '2 4 6 8 10 12; reach the front desk on 800 12 34.';

our $Mock = redact_mock(answers => [$Answer, $Answer2],
                        streams => [$Stream, $Stream2]);

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

=== TEST 1: request: build stamps and reserved area codes are no NANP numbers; numbers written in the plan's groups are
--- request
POST /echo/chat/completions
{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Not: build 230916-0478, nightly 200612 6663, build 250722-7103, 492-555-0100, 375-555-0100, 965 555 0100. Phones: 415-555-0100, (415)555-0100, 250-722-7103"}]}
--- response_body chomp
{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Not: build 230916-0478, nightly 200612 6663, build 250722-7103, 492-555-0100, 375-555-0100, 965 555 0100. Phones: [PHONE], [PHONE], [PHONE]"}]}
--- error_log
llm-log: redactions=3 
--- no_error_log
[error]



=== TEST 2: request: a number after "my number" and after "reach ... on/at"; a quantity after them is none
--- request
POST /echo/chat/completions
{"model":"gpt-4o-mini","messages":[{"role":"user","content":"My number is 44 123 4567, text me. Il mio numero è 612 34 56 78. Мой номер: 8 029 491-19-11. You can reach the front desk on 800 12 34 or reach me at 689 1234. Not: our number of users grew to 12 345 678; the value reached the maximum at 4 294 967 295; you can reach us on 2024-05-12; my numbers are 4 8 15 16 23 42."}]}
--- response_body chomp
{"model":"gpt-4o-mini","messages":[{"role":"user","content":"My number is [PHONE], text me. Il mio numero è [PHONE]. Мой номер: [PHONE]. You can reach the front desk on [PHONE] or reach me at [PHONE]. Not: our number of users grew to 12 345 678; the value reached the maximum at 4 294 967 295; you can reach us on 2024-05-12; my numbers are 4 8 15 16 23 42."}]}
--- error_log
llm-log: redactions=5 
--- no_error_log
[error]



=== TEST 3: request: a trunk-0 area code with a separator of its own; "+" and a short national number of its plan; "(11) 2345-6789", "612 34 56 78", "8 (812) 555-12-34"
--- request
POST /echo/chat/completions
{"model":"gpt-4o-mini","messages":[{"role":"user","content":"office 030 212-345, (02) 212-3456, 077-123 45 67, 011 15-2345-6789; dial +98 9601 or +4702000; (11) 2345-6789, 612 34 56 78, 8 (812) 555-12-34. Not: 05-11-2024 10:30, +1234567, (12) 2019-2020, 612 34 56 78 90"}]}
--- response_body chomp
{"model":"gpt-4o-mini","messages":[{"role":"user","content":"office [PHONE], [PHONE], [PHONE], [PHONE]; dial [PHONE] or [PHONE]; [PHONE], [PHONE], [PHONE]. Not: 05-11-2024 10:30, +1234567, (12) 2019-2020, 612 34 56 78 90"}]}
--- error_log
llm-log: redactions=9 
--- no_error_log
[error]



=== TEST 4: JSON answer: the new formats are masked, the build stamp stays
--- request
POST /json/chat/completions
{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}
--- response_body_like eval
qr/"content":"Il mio numero è \[PHONE\]; you can reach the front desk on \[PHONE\]; build 250722-7103 is out\."/
--- error_log
llm-log: redactions=2 
--- no_error_log
[error]



=== TEST 5: stream, one character per event: each number is seen whole with the words before it; the build stamp and the reserved area code stay
--- request
POST /split/chat/completions
{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"hi"}]}
--- response_body_filters eval
\&main::contents
--- response_body chomp
build 230916-0478, nightly 200612 6663; My number is [PHONE], reach me at [PHONE], office [PHONE] or [PHONE], dial [PHONE]; [PHONE], [PHONE], [PHONE]; not 492-555-0100 ok
--- error_log
llm-log: redactions=8 
--- no_error_log
[error]
[warn]



=== TEST 6: stream, one character per event: no piece of a number reaches the client
--- request
POST /split/chat/completions
{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"hi"}]}
--- response_body_unlike eval
qr/4567|689 |1234|3456|212-|9601|6789|56 78|12-34/



=== TEST 7: request: review 6a's look-alikes after the idioms and after a label are left, a number after "reach me at" is masked
--- request eval
'POST /echo/chat/completions
{"model":"gpt-4o-mini","messages":[{"role":"user","content":"' . $main::Negatives . ' Yes: reach me at 689 1234"}]}'
--- response_body eval
'{"model":"gpt-4o-mini","messages":[{"role":"user","content":"' . $main::Negatives . ' Yes: reach me at [PHONE]"}]}'
--- error_log
llm-log: redactions=1 
--- no_error_log
[error]



=== TEST 8: request: dates, quantities and times after "reach ... on/at" and after a label, IPv4 addresses after "reach"
--- request
POST /echo/chat/completions
{"model":"gpt-4o-mini","messages":[{"role":"user","content":"We reached the agreement on 12 03 2024. They reached the summit on 2023 05 29. Stocks reached their highest at 1 234.567 points. The queue reached the limit at 100 000 requests. Invoice 04 15.03.2024 paid, step 02 2024.03.15 done, chapter 04 1914-1918 war, Vol. 03 2019-2020, session 01 0900-1230. You can reach the server at 192.168.0.10 over SSH."}]}
--- response_body chomp
{"model":"gpt-4o-mini","messages":[{"role":"user","content":"We reached the agreement on 12 03 2024. They reached the summit on 2023 05 29. Stocks reached their highest at 1 234.567 points. The queue reached the limit at 100 000 requests. Invoice 04 15.03.2024 paid, step 02 2024.03.15 done, chapter 04 1914-1918 war, Vol. 03 2019-2020, session 01 0900-1230. You can reach the server at [IP] over SSH."}]}
--- error_log
llm-log: redactions=1 
--- no_error_log
[error]



=== TEST 9: JSON answer: an IPv4 address after "reach the server at", a date, an invoice's date and a count are no phone numbers; the front desk's number is
--- request
POST /json2/chat/completions
{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}
--- response_body_like eval
qr/"content":"You can reach the server at \[IP\] over SSH; we reached the agreement on 12 03 2024; Invoice 04 15\.03\.2024 paid; my number: 2 4 6 8 10 12; reach the front desk on \[PHONE\]\."/
--- error_log
llm-log: redactions=2 
--- no_error_log
[error]



=== TEST 10: stream, one character per event: review 6a's look-alikes pass as they are (the long object too: the idiom fits in the context a stream keeps), the number after "reach me at" is masked
--- request
POST /split2/chat/completions
{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"hi"}]}
--- response_body_filters eval
\&main::contents
--- response_body eval
$main::Negatives . ' Yes: reach me at [PHONE]'
--- error_log
llm-log: redactions=1 
--- no_error_log
[error]
[warn]
