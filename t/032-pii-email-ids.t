# E-mail formats and national identification numbers of issue 17 through
# nginx: RFC 5322 local parts (atext, quoted), domain literals, dotless
# country-code domains, the left boundary at "key=" and URL queries, the
# look-alikes (git remotes, package specs, decorators); the national_id
# type (off by default, on with llm_redact_types); in a request, in a JSON
# answer, and in a stream sent one character per event.

use Test::Nginx::Socket 'no_plan';
use FindBin;
use lib "$FindBin::Bin/lib";
use LLMTest::Suite;
use LLMTest::RedactMock qw(chunk contents redact_mock $Stop $Done);
use JSON::PP ();

$ENV{TEST_NGINX_HTML_DIR} ||= html_dir();

no_shuffle();
no_long_string();
log_level('info');
no_root_location();

# one event per character of the text: JSON-escaped, then written into a
# single-quoted nginx string
sub by_char {
    my $text = shift;
    my @out;

    for my $c (split //, $text) {
        my $j = $c eq '"' ? '\\"' : $c eq '\\' ? '\\\\' : $c;
        $j =~ s/(['\\])/\\$1/g;
        push @out, "            echo -n '" . chunk($j) . "';\n"
                   . "            echo_flush;";
    }

    return join "\n", @out;
}

our $Stream = by_char('mail "a b"@example.org, o\'brien@example.ie, '
    . 'me@[IPv6:2001:db8::1], user+mailbox/department=shipping@example.tld, '
    . 'x=jo@ex.io; not git@github.com:org/repo nor react@18.2.0; '
    . 'CPF 390.533.447-05, DNI 78699688 j, CN 11010119491001001X, ok');

our $Answer = 'Write to \\"quoted local part\\"@example.org or '
    . 'admin@[192.0.2.1] or test@io, see https://x.example/?email='
    . 'jo@example.com&a=1; not @Component, user@localhost, '
    . 'git@github.com:org/repo.git. CPF 390.533.447-05, RUT 76086428-5, '
    . 'CURP BOXW310820HNERXN09, not 390.533.447-06.';

our $Mock = redact_mock(answers => [$Answer], streams => [$Stream]);

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

=== TEST 1: request: RFC 5322 local parts, quoted local parts, domain literals, dotless domains; the look-alikes stay
--- request
POST /default/echo/chat/completions
{"model":"gpt-4o-mini","messages":[{"role":"user","content":"mail \"quoted local part\"@example.org, o'brien@example.ie, user+mailbox/department=shipping@example.tld, !#$%&'*+-/=?^_`.{|}~@example.tld, me@[127.0.0.1], me@[IPv6:::1], test@io. Not: git@github.com:org/repo.git, react@18.2.0, pkg@latest, @Component, user@localhost, X@W.T, bad\"quotes\"@example.com, me@[tag:text]"}]}
--- response_body chomp
{"model":"gpt-4o-mini","messages":[{"role":"user","content":"mail [EMAIL], [EMAIL], [EMAIL], [EMAIL], [EMAIL], [EMAIL], [EMAIL]. Not: git@github.com:org/repo.git, react@18.2.0, pkg@latest, @Component, user@localhost, X@W.T, bad\"quotes\"@example.com, me@[tag:text]"}]}
--- error_log
llm-log: redactions=7 
--- no_error_log
[error]



=== TEST 2: request: the address starts after a key, a URL's query or path, quotes and markdown
--- request
POST /default/echo/chat/completions
{"model":"gpt-4o-mini","messages":[{"role":"user","content":"https://x.example/invite?email=jo@example.com&ref=1\nEMAIL=jo@example.com --author=jo@example.com x=me@example.com\nGET /users/jo@example.com/profile mailto:jo@example.com?subject=hi\n**jo@example.com** `jo@example.com` 'jo@example.com' 'o'brien@example.ie'"}]}
--- response_body chomp
{"model":"gpt-4o-mini","messages":[{"role":"user","content":"https://x.example/invite?email=[EMAIL]&ref=1\nEMAIL=[EMAIL] --author=[EMAIL] x=[EMAIL]\nGET /users/[EMAIL]/profile mailto:[EMAIL]?subject=hi\n**[EMAIL]** `[EMAIL]` '[EMAIL]' '[EMAIL]'"}]}
--- error_log
llm-log: redactions=10 
--- no_error_log
[error]



=== TEST 3: request: national IDs are left alone by default
--- request
POST /default/echo/chat/completions
{"model":"gpt-4o-mini","messages":[{"role":"user","content":"CPF 390.533.447-05, DNI 78699688J, CN 11010119491001001X, mail jo@example.com"}]}
--- response_body chomp
{"model":"gpt-4o-mini","messages":[{"role":"user","content":"CPF 390.533.447-05, DNI 78699688J, CN 11010119491001001X, mail [EMAIL]"}]}
--- error_log
llm-log: redactions=1 
--- no_error_log
[error]



=== TEST 4: request: llm_redact_types national_id: each scheme validated, invalid check digits stay
--- request
POST /echo/chat/completions
{"model":"gpt-4o-mini","messages":[{"role":"user","content":"CN 11010119491001001X, IN 2341 2341 2346, CPF 390.533.447-05, DNI 78699688J, NIE X-2482300W, CF MRTNTN23M02D969P, CURP BOXW310820HNERXN09, NIR 2 95 10 99 126 111 93, TC 10010405214, RUT 12.531.909-2, KR 971013-9019902. Not: 11010119491001001 1, 2341 2341 2347, 390.533.447-06, 78699688A, MRTNTN23M02D969Q, 10010405215"}]}
--- response_body chomp
{"model":"gpt-4o-mini","messages":[{"role":"user","content":"CN [NATIONAL_ID], IN [NATIONAL_ID], CPF [NATIONAL_ID], DNI [NATIONAL_ID], NIE [NATIONAL_ID], CF [NATIONAL_ID], CURP [NATIONAL_ID], NIR [NATIONAL_ID], TC [NATIONAL_ID], RUT [NATIONAL_ID], KR [NATIONAL_ID]. Not: 11010119491001001 1, 2341 2341 2347, 390.533.447-06, 78699688A, MRTNTN23M02D969Q, 10010405215"}]}
--- error_log
llm-log: redactions=11 
--- no_error_log
[error]



=== TEST 5: JSON answer: the new e-mail formats and national IDs are masked before the client sees them
--- request
POST /json/chat/completions
{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}
--- response_body_like eval
qr/"content":"Write to \[EMAIL\] or \[EMAIL\] or \[EMAIL\], see https:\/\/x\.example\/\?email=\[EMAIL\]&a=1; not \@Component, user\@localhost, git\@github\.com:org\/repo\.git\. CPF \[NATIONAL_ID\], RUT \[NATIONAL_ID\], CURP \[NATIONAL_ID\], not 390\.533\.447-06\."/
--- error_log
llm-log: redactions=7 
--- no_error_log
[error]



=== TEST 6: stream, one character per event: each value is seen whole
--- request
POST /split/chat/completions
{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"hi"}]}
--- response_body_filters eval
\&main::contents
--- response_body chomp
mail [EMAIL], [EMAIL], [EMAIL], [EMAIL], x=[EMAIL]; not git@github.com:org/repo nor react@18.2.0; CPF [NATIONAL_ID], DNI [NATIONAL_ID], CN [NATIONAL_ID], ok
--- error_log
llm-log: redactions=8 
--- no_error_log
[error]
[warn]



=== TEST 7: stream, one character per event: no piece of a value reaches the client
--- request
POST /split/chat/completions
{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"hi"}]}
--- response_body_unlike eval
qr/a b|brien|2001|db8|mailbox|shipping|jo\@|390|533|78699688|11010119/



=== TEST 8: llm_redact_types: national_id is a type
--- config
    location / {
        llm_redact_types national_id email;
        return 200 "ok\n";
    }
--- request
GET /
--- response_body
ok



=== TEST 9: llm_redact_types: the error names national_id
--- config
    location / {
        llm_redact_types passport;
        return 200 "ok\n";
    }
--- must_die
--- error_log
unknown type "passport" in "llm_redact_types" directive, it must be "email", "phone", "card", "ssn", "iban", "ip", "secret", "national_id" or "all"
