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
use JSON::PP ();

$ENV{TEST_NGINX_HTML_DIR} ||= html_dir();

no_shuffle();
no_long_string();
log_level('info');
no_root_location();

sub chunk {
    my $t = shift;
    return 'data: {"id":"c1","model":"gpt-4o-mini","choices":[{"index":0,'
        . '"delta":{"content":"' . $t . '"},"finish_reason":null}]}\n\n';
}

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

# the text of a streamed answer, all deltas joined
sub contents {
    my $body = shift;
    my $out = '';

    for my $line (split /\n/, $body) {
        next unless $line =~ /^data: (\{.*)$/;
        my $j = eval { JSON::PP::decode_json($1) } or return "bad JSON: $line";

        for my $c (@{ $j->{choices} || [] }) {
            $out .= $c->{delta}{content} // '';
        }
    }

    utf8::encode($out);

    return $out;
}

our $Stop = 'data: {"id":"c1","model":"gpt-4o-mini","choices":[{"index":0,'
    . '"delta":{},"finish_reason":"stop"}]}\n\n';
our $Done = 'data: [DONE]\n\n';

our $Stream = by_char('mail "a b"@example.org, o\'brien@example.ie, '
    . 'me@[IPv6:2001:db8::1], user+mailbox/department=shipping@example.tld, '
    . 'x=jo@ex.io; not git@github.com:org/repo nor react@18.2.0; '
    . 'CPF 390.533.447-05, DNI 78699688 j, CN 11010119491001001X, ok');

our $Answer = 'Write to \\"quoted local part\\"@example.org or '
    . 'admin@[192.0.2.1] or test@io, see https://x.example/?email='
    . 'jo@example.com&a=1; not @Component, user@localhost, '
    . 'git@github.com:org/repo.git. CPF 390.533.447-05, RUT 76086428-5, '
    . 'CURP BOXW310820HNERXN09, not 390.533.447-06.';

our $Mock = <<"_EOC_";
    log_format llm 'llm-log: redactions=\$llm_redactions status=\$status';

    llm_model gpt-4o-mini upstream=mock;

    upstream mock {
        server unix:\$TEST_NGINX_HTML_DIR/mock.sock;
    }

    server {
        listen unix:\$TEST_NGINX_HTML_DIR/mock.sock;
        access_log off;
        error_log logs/mock.log info;

        # what the provider receives
        location /echo/ {
            default_type text/plain;
            echo_read_request_body;
            echo -n \$request_body;
        }

        location /json/ {
            default_type application/json;
            echo_read_request_body;
            echo '{"id":"c2","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"$Answer"},"finish_reason":"stop"}],"usage":{"prompt_tokens":20,"completion_tokens":30,"total_tokens":50}}';
        }

        location /split/ {
            default_type text/event-stream;
            echo_read_request_body;
$Stream
            echo -n '$Stop';
            echo -n '$Done';
        }
    }
_EOC_

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

add_block_preprocessor(sub {
    my $block = shift;

    $block->set_value("http_config", $Mock) unless defined $block->http_config;
    $block->set_value("config", $Gateway) unless defined $block->config;
});

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
