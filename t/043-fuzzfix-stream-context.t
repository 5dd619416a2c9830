# Issue 17, a fuzz mismatch (fuzz/pii_fuzz.c): a quoted value with other
# characters ("#&!*") after a credential word is a secret only when a run
# of 8 value characters begins within 40 bytes after the word, or the text
# ends before (docs/redaction.md, "Streamed answers").  A stream decided on
# the text it had: one character per event, it masked a value that the
# whole answer leaves alone (tests 2, 3); with an event that ended just
# before a run that begins at the 40th byte, it let out in clear a value
# that the whole answer masks (test 5).  The stream now holds such a value
# until the rule is decided, and both are redacted the same.  Tests 2, 3
# and 5 fail on 6e4157f.

use Test::Nginx::Socket 'no_plan';
use FindBin;
use lib "$FindBin::Bin/lib";
use LLMTest::Suite;
use LLMTest::RedactMock ':all';

$ENV{TEST_NGINX_HTML_DIR} ||= html_dir();

no_shuffle();
no_long_string();
log_level('info');
no_root_location();

# the first value: no run of 8 within 40 bytes of "secret" (not a secret);
# the second: "yesterday" is one (a secret)
our $Text = 'secret: \\\\u0022Xq7#Lm2!Rt9&Bz4*\\\\u0022 then a lot of words '
    . 'come after it; secret: \\\\u0022Xq7#Lm2!Rt9&Bz4*\\\\u0022 was rotated '
    . 'yesterday';

our $Answer = $Text =~ s/\\\\u0022/\\\\"/gr;   # \" in the JSON (nginx reads \\ as \)

# a run that begins at the 40th byte after the word ("yesterday") makes the
# value a secret; a stream whose event ended just before it released the
# value in clear
our @Late = ('secret: \\\\u0022Xq7#Lm2!Rt9&Bz4*\\\\u0022 ; ; ; ; ; ; ; ; ; ;',
             'yesterday ok');

our $Mock = redact_mock(answers => [$Answer, join('', @Late) =~ s/\\\\u0022/\\\\"/gr],
                        streams => [by_char($Text), echo_events(\&chunk, @Late)]);

block_defaults(http_config => $Mock, config => $RedactGateway);

run_tests();

__DATA__

=== TEST 1: JSON answer: the whole text masks the second value only
--- request
POST /json/chat/completions
{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}
--- response_body_like eval
qr/"content":"secret: \\"Xq7#Lm2!Rt9&Bz4\*\\" then a lot of words come after it; secret: \\"\[SECRET\]\\" was rotated yesterday"/
--- error_log
llm-log: redactions=1 
--- no_error_log
[error]



=== TEST 2: stream, one character per event: the same redaction as the whole answer
--- request
POST /split/chat/completions
{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"hi"}]}
--- response_body_filters eval
\&main::contents
--- response_body eval
"secret: \"Xq7#Lm2!Rt9&Bz4*\" then a lot of words come after it; secret: \"[SECRET]\" was rotated yesterday"
--- error_log
llm-log: redactions=1 
--- no_error_log
[error]
[warn]



=== TEST 3: stream, one character per event: the redactions counted are those of the whole answer
--- request
POST /split/chat/completions
{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"hi"}]}
--- error_log
llm-log: redactions=1 
--- no_error_log
llm-log: redactions=2 
[error]



=== TEST 4: JSON answer: a run that begins at the 40th byte after the word makes the value a secret
--- request
POST /json2/chat/completions
{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}
--- response_body_like eval
qr/"content":"secret: \\"\[SECRET\]\\" ; ; ; ; ; ; ; ; ; ;yesterday ok"/
--- error_log
llm-log: redactions=1 
--- no_error_log
[error]



=== TEST 5: stream, the event ends before that run: the value is held, not let out in clear
--- request
POST /split2/chat/completions
{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"hi"}]}
--- response_body_filters eval
\&main::contents
--- response_body eval
"secret: \"[SECRET]\" ; ; ; ; ; ; ; ; ; ;yesterday ok"
--- error_log
llm-log: redactions=1 
--- no_error_log
[error]
[warn]
