# Secrets of issue 17, the third block, through nginx: tokens of a fixed
# format (42 client secrets, Atlassian "ATCTT3", Microsoft Entra refresh
# tokens, OpenShift tokens that end in "-", Azure storage account keys on a
# line of their own), HTTP headers that name a credential with a short
# value ("X-Api-Key: ..."), quoted tokens of digits only or letters only
# after a credential word, quoted values with other characters ("#&@*!")
# after one; and the look-alikes left alone (a SHA-512
# integrity digest, counting digits, placeholders, an identifier): in a
# request, in a JSON answer, and in a stream sent one character per event.
# Every test fails on b555a70 (the detectors did not exist).

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

# fixed formats (values made up for this test, in the documented shapes)
our $Intra = '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';
our $Atc = 'ATCTT3xFfGN0HfEr92Lq5SiRCcMS2ChE9p4ItlEitiZtNa4LvANhJDhzbMEi07uLDnzIdjyCy7o5ocFuyIEfwFiwJCPLewubiCErT6S9l-SuFER4h0xjNPOdz0u3dztzBG52m-dQUyUZQF8NtdtWFy6OO5CizFTpEXCkBK7_QlvQsdbl_4RUUk=8F3A91C2';
our $Entra = '0.AXkASGCYvUT5LQdG5HcLyME5ppMPnXIi9S8fwvyWRbyT.AgABAAAAAAD--DLA3VO7QrddgJg7WevrAgDs_CmU01sjuQUyDFvTZE1fka1_7v3X3QPFOqaNAnCJioUXtOIZaK3iF_29yK9wyhNHYCKKXPwQeQZT6Hm2hSLm6vKjMu8WXRnoKxKlbtQHevtjO_URo9slkhA3dltWW3PGWAa';
our $Osh = 'sha256~XZw2M31atfDwhSIoNk-5zx0sT2ubI9ciUYu45dGEDa-';
our $Az = 'tDat2R5Uabc5i06heo0moc4Ttv5gD+H9lzDGSMOsvBfVSVZSSshdv6s7O0Ueqivp4D7JORNaMYM74XXvWwoGkg==';

# \\u000a is a line break, \\u0022 a quote (one event each)
our $Stream = by_char("intra $Intra, jira $Atc, rt $Entra, "
    . "oc $Osh ok\\\\u000aconst k =\\\\u000a  \\\\u0022$Az\\\\u0022;\\\\u000a"
    . 'X-Api-Key: q7Rt2mZ9xK\\\\u000aApi-Token: Hb4kW9pQ2z, '
    . 'vbout token = \\\\u00228274619305172846309185\\\\u0022, '
    . 'tz token = \\\\u0022KXQRTmVBNWZpHCDLSJfY\\\\u0022, '
    . 'api_secret = \\\\u0022pk_w7Hq2Lx9#R4t&@*vZ!mN3e\\\\u0022 ok');

our $Answer = "intra $Intra, jira $Atc, rt $Entra, oc $Osh\\\\n"
    . "const k =\\\\n  \\\\\"$Az\\\\\";\\\\n"
    . 'X-Api-Key: q7Rt2mZ9xK, vbout token = \\\\"8274619305172846309185\\\\", '
    . 'tz token = \\\\"KXQRTmVBNWZpHCDLSJfY\\\\", '
    . 'api_secret = \\\\"pk_w7Hq2Lx9#R4t&@*vZ!mN3e\\\\"; not: integrity sha512-'
    . "$Az, X-Api-Key: required, token = \\\\\"12345678901234567890\\\\\", "
    . 'token = \\\\"AccessTokenValueHere\\\\", token = \\\\"a7Kd9]mQ2x#Lp4Zt8vW3\\\\"';

our $Mock = redact_mock(answers => [$Answer], streams => [$Stream]);

our $Gateway = $RedactGateway;

block_defaults(http_config => $Mock, config => $Gateway);

run_tests();

__DATA__

=== TEST 1: request: fixed formats, an Azure storage key on a line of its own, HTTP headers with a short value, quoted tokens of digits or letters only; look-alikes left alone
--- request
POST /echo/chat/completions
{"model":"gpt-4o-mini","messages":[{"role":"user","content":"intra 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\njira ATCTT3xFfGN0HfEr92Lq5SiRCcMS2ChE9p4ItlEitiZtNa4LvANhJDhzbMEi07uLDnzIdjyCy7o5ocFuyIEfwFiwJCPLewubiCErT6S9l-SuFER4h0xjNPOdz0u3dztzBG52m-dQUyUZQF8NtdtWFy6OO5CizFTpEXCkBK7_QlvQsdbl_4RUUk=8F3A91C2\nrt 0.AXkASGCYvUT5LQdG5HcLyME5ppMPnXIi9S8fwvyWRbyT.AgABAAAAAAD--DLA3VO7QrddgJg7WevrAgDs_CmU01sjuQUyDFvTZE1fka1_7v3X3QPFOqaNAnCJioUXtOIZaK3iF_29yK9wyhNHYCKKXPwQeQZT6Hm2hSLm6vKjMu8WXRnoKxKlbtQHevtjO_URo9slkhA3dltWW3PGWAa\noc login sha256~XZw2M31atfDwhSIoNk-5zx0sT2ubI9ciUYu45dGEDa-\nconst k =\n  \"tDat2R5Uabc5i06heo0moc4Ttv5gD+H9lzDGSMOsvBfVSVZSSshdv6s7O0Ueqivp4D7JORNaMYM74XXvWwoGkg==\";\ncurl -H \"X-Api-Key: q7Rt2mZ9xK\" -H 'Api-Token: Hb4kW9pQ2z'\nX-Auth-Token: 3vNq8LmT5w\nvbout token = '8274619305172846309185'\ntz token = 'KXQRTmVBNWZpHCDLSJfY'\n\"secret_key\" => \"pk_w7Hq2Lx9#R4t&@*vZ$mN3e\", token - 'qe$ow@k4r8-$tbxuma^61pz2-8h7d&vnkq9'\nNot: \"integrity\": \"sha512-tDat2R5Uabc5i06heo0moc4Ttv5gD+H9lzDGSMOsvBfVSVZSSshdv6s7O0Ueqivp4D7JORNaMYM74XXvWwoGkg==\", X-Api-Key: required, X-Api-Key: 12345678, X-Api-Key-Id: 7f3a9c2b1e, Content-Type: application/json, token = '12345678901234567890', token = 'AccessTokenValueHere', token = 'a7Kd9]mQ2x#Lp4Zt8vW3'"}]}
--- response_body chomp
{"model":"gpt-4o-mini","messages":[{"role":"user","content":"intra [SECRET]\njira [SECRET]\nrt [SECRET]\noc login [SECRET]\nconst k =\n  \"[SECRET]\";\ncurl -H \"X-Api-Key: [SECRET]\" -H 'Api-Token: [SECRET]'\nX-Auth-Token: [SECRET]\nvbout token = '[SECRET]'\ntz token = '[SECRET]'\n\"secret_key\" => \"[SECRET]\", token - '[SECRET]'\nNot: \"integrity\": \"sha512-tDat2R5Uabc5i06heo0moc4Ttv5gD+H9lzDGSMOsvBfVSVZSSshdv6s7O0Ueqivp4D7JORNaMYM74XXvWwoGkg==\", X-Api-Key: required, X-Api-Key: 12345678, X-Api-Key-Id: 7f3a9c2b1e, Content-Type: application/json, token = '12345678901234567890', token = 'AccessTokenValueHere', token = 'a7Kd9]mQ2x#Lp4Zt8vW3'"}]}
--- error_log
llm-log: redactions=12 
--- no_error_log
[error]



=== TEST 2: JSON answer: the third block's secrets are masked before the client sees them, the look-alikes are not
--- request
POST /json/chat/completions
{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}
--- response_body_like eval
qr/"content":"intra \[SECRET\], jira \[SECRET\], rt \[SECRET\], oc \[SECRET\]\\nconst k =\\n  \\"\[SECRET\]\\";\\nX-Api-Key: \[SECRET\], vbout token = \\"\[SECRET\]\\", tz token = \\"\[SECRET\]\\", api_secret = \\"\[SECRET\]\\"; not: integrity sha512-tDat2R5Uabc5i06heo0moc4Ttv5gD\+H9lzDGSMOsvBfVSVZSSshdv6s7O0Ueqivp4D7JORNaMYM74XXvWwoGkg==, X-Api-Key: required, token = \\"12345678901234567890\\", token = \\"AccessTokenValueHere\\", token = \\"a7Kd9\]mQ2x#Lp4Zt8vW3\\""/
--- error_log
llm-log: redactions=9 
--- no_error_log
[error]



=== TEST 3: stream, one character per event: each secret of the third block is seen whole
--- request
POST /split/chat/completions
{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"hi"}]}
--- response_body_filters eval
\&main::contents
--- response_body eval
"intra [SECRET], jira [SECRET], rt [SECRET], oc [SECRET] ok\nconst k =\n  \"[SECRET]\";\nX-Api-Key: [SECRET]\nApi-Token: [SECRET], vbout token = \"[SECRET]\", tz token = \"[SECRET]\", api_secret = \"[SECRET]\" ok"
--- error_log
llm-log: redactions=10 
--- no_error_log
[error]
[warn]



=== TEST 4: stream, one character per event: no piece of the third block's secrets reaches the client
--- request
POST /split/chat/completions
{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"hi"}]}
--- response_body_unlike eval
qr/s4t2|7aa8|ATCTT|91C2|AXkA|WAa|sha256|EDa|tDat|oGkg|q7Rt|9xK|Hb4k|Q2z|8274|9185|KXQR|SJfY|pk_w|mN3e|R4t/
--- no_error_log
[error]
