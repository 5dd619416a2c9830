# PII and secret redaction: requests (each type, look-alikes, escapes,
# modes, rules files), answers (JSON and streamed, values split over
# events), tokenize round trips, counts and logs.

use Test::Nginx::Socket 'no_plan';
use FindBin;
use lib "$FindBin::Bin/lib";
use LLMTest::Suite;
use LLMTest::RedactMock qw(chunk echo_events $Stop $Done);
use JSON::PP ();
use Digest::SHA ();

$ENV{TEST_NGINX_HTML_DIR} ||= html_dir();

no_shuffle();
no_long_string();
log_level('info');
no_root_location();

# an Anthropic text delta per piece of text (chunk(): OpenAI's)
sub adelta {
    my $t = shift;
    return 'event: content_block_delta\ndata: {"type":"content_block_delta",'
        . '"index":0,"delta":{"type":"text_delta","text":"' . $t . '"}}\n\n';
}

our $Usage = 'data: {"id":"c1","choices":[],"usage":{"prompt_tokens":12,'
    . '"completion_tokens":7,"total_tokens":19}}\n\n';

our $Text = 'Write to john.doe@example.com today, or call +1 (415) 555-0100.';

our $ByChar = echo_events(\&chunk, split //, $Text);
our $ByCharA = echo_events(\&adelta, split //, $Text);
our $Placeholders = echo_events(\&chunk, 'Sure, I wrote to [EMA', 'IL_1', '] ',
                                'and [PHONE_1', ']. Also [EMAIL_9] and [', 'x]');
our $Prose = echo_events(\&chunk, 'The', ' quick', ' brown', ' fox', ' jumps',
                         ' over', ' the', ' lazy', ' dog.');

# the text of a streamed answer, all deltas joined
sub contents {
    my $body = shift;
    my $out = '';

    for my $line (split /\n/, $body) {
        next unless $line =~ /^data: (\{.*)$/;
        my $j = eval { JSON::PP::decode_json($1) } or return "bad JSON: $line";

        if (ref $j->{choices} eq 'ARRAY') {
            for my $c (@{ $j->{choices} }) {
                $out .= $c->{delta}{content} // '';
            }

        } elsif (($j->{type} // '') eq 'content_block_delta') {
            $out .= $j->{delta}{text} // '';
        }
    }

    return $out;
}

sub hmac_tag {
    return substr(Digest::SHA::hmac_sha256_hex($_[0], $_[1]), 0, 8);
}

our $Mock = <<"_EOC_";
    log_format llm 'llm-log: redactions=\$llm_redactions prompt=\$llm_prompt_tokens completion=\$llm_completion_tokens source=\$llm_tokens_source status=\$status';

    llm_model gpt-4o-mini upstream=mock;
    llm_model claude-3-5-haiku upstream=mock;

    llm_cache_zone zone=main:1m;

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
            add_header X-Got-Body \$request_body;
            echo_read_request_body;
            echo '{"id":"c2","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"I wrote to [EMAIL_1] and [EMAIL_2], not [EMAIL_3]; call [PHONE_1]. Mine is bot\\\\u0040example.org, card 4111 1111 1111 1111."},"finish_reason":"stop"}],"usage":{"prompt_tokens":20,"completion_tokens":30,"total_tokens":50}}';
        }

        location /placeholder/ {
            default_type application/json;
            add_header X-Mock upstream;
            echo_read_request_body;
            echo '{"id":"c2","object":"chat.completion","model":"gpt-4o-mini","choices":[{"index":0,"message":{"role":"assistant","content":"Hi [EMAIL_1], see you"},"finish_reason":"stop"}],"usage":{"prompt_tokens":20,"completion_tokens":30,"total_tokens":50}}';
        }

        location /anthropic/json/ {
            default_type application/json;
            echo_read_request_body;
            echo '{"id":"m1","type":"message","role":"assistant","content":[{"type":"text","text":"Hi [EMAIL_1], reach me at bot\@example.org."}],"usage":{"input_tokens":10,"output_tokens":8}}';
        }

        location /split/ {
            default_type text/event-stream;
            echo_read_request_body;
$ByChar
            echo -n '$Stop';
            echo -n '$Usage';
            echo -n '$Done';
        }

        location /anthropic/split/ {
            default_type text/event-stream;
            echo_read_request_body;
            echo -n 'event: message_start\\ndata: {"type":"message_start","message":{"id":"m1","usage":{"input_tokens":12,"output_tokens":1}}}\\n\\n';
            echo -n 'event: content_block_start\\ndata: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}\\n\\n';
$ByCharA
            echo -n 'event: content_block_stop\\ndata: {"type":"content_block_stop","index":0}\\n\\n';
            echo -n 'event: message_delta\\ndata: {"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":21}}\\n\\n';
            echo -n 'event: message_stop\\ndata: {"type":"message_stop"}\\n\\n';
        }

        location /placeholders/ {
            default_type text/event-stream;
            add_header X-Got-Body \$request_body;
            echo_read_request_body;
$Placeholders
            echo -n '$Stop';
            echo -n '$Done';
        }

        location /prose/ {
            default_type text/event-stream;
            echo_read_request_body;
$Prose
            echo -n '$Stop';
            echo -n '$Done';
        }

        location /small/ {
            default_type text/event-stream;
            echo_read_request_body;
            echo -n 'data: {"id":"c1","choices":[{"index":0,"delta":{"content":"Hi "}}]}\\n\\n';
            echo -n 'data: {"id":"c1","choices":[{"index":0,"delta":{"content":"a\@b.io"}}]}\\n\\n';
            echo -n 'data: {"id":"c1","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}\\n\\n';
            echo -n 'data: [DONE]\\n\\n';
        }

        location /unfinished/ {
            default_type text/event-stream;
            echo_read_request_body;
            echo -n 'data: {"id":"c1","model":"m","choices":[{"index":0,"delta":{"content":"mail a\@b.io"}}]}\\n\\n';
            echo -n 'data: [DONE]\\n\\n';
        }
    }
_EOC_

our $Gateway = <<'_EOC_';
    location / {
        llm_gateway openai;
        llm_redact request response;
        proxy_pass http://mock;
        access_log logs/error.log llm;
    }

    location /anthropic/ {
        llm_gateway anthropic;
        llm_redact request response;
        proxy_pass http://mock;
        access_log logs/error.log llm;
    }
_EOC_

block_defaults(http_config => $Mock, config => $Gateway);

run_tests();

__DATA__

=== TEST 1: each built-in type is masked in the request
--- request
POST /echo/chat/completions
{"model":"gpt-4o-mini","messages":[{"role":"user","content":"mail jane.roe@example.com, call (415) 555-0100, card 4111 1111 1111 1111, ssn 536-22-1234, iban DE89 3704 0044 0532 0130 00, ip 192.168.10.20 and 2001:db8::8a2e:370:7334, key AKIAIOSFODNN7EXAMPLE."}]}
--- response_body chomp
{"model":"gpt-4o-mini","messages":[{"role":"user","content":"mail [EMAIL], call [PHONE], card [CARD], ssn [SSN], iban [IBAN], ip [IP] and [IP], key [SECRET]."}]}
--- error_log
llm-log: redactions=8 
--- no_error_log
[error]



=== TEST 2: secrets: provider tokens, a JWT, a private key block
--- request eval
'POST /echo/chat/completions
{"model":"gpt-4o-mini","messages":[{"role":"system","content":"k1 sk-proj-Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXyZ k2 sk-ant-api03-AbCdEf0123456789_xyzXYZ-abcdefgh k3 ghp_aBcDeF0123456789aBcDeF0123456789aBcD k4 glpat-Ab12Cd34Ef56Gh78Ij90 k5 xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx k6 sk_live_4eC39HqLyjWDarjtT1zdp7dc k7 npm_aBcDeF0123456789aBcDeF0123456789aBcD"},{"role":"user","content":"jwt eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U and\n-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA7bq\n-----END RSA PRIVATE KEY-----\nthanks"}]}'
--- response_body eval
'{"model":"gpt-4o-mini","messages":[{"role":"system","content":"k1 [SECRET] k2 [SECRET] k3 [SECRET] k4 [SECRET] k5 [SECRET] k6 [SECRET] k7 [SECRET]"},{"role":"user","content":"jwt [SECRET] and\n[SECRET]\nthanks"}]}'
--- error_log
llm-log: redactions=9 



=== TEST 3: look-alikes are left alone
--- request
POST /echo/chat/completions
{"model":"gpt-4o-mini","messages":[{"role":"user","content":"card 4111 1111 1111 1112, iban DE89 3704 0044 0532 0130 01, version 1.2.3.4, v2.14.1, at 2024-01-15 10:30:00, order 4155550100, ISBN 978-3-16-148410-0, ssn 000-12-3456, icon@2x.png, sk-learn-tutorial-for-beginners, ratio 16:9:4"}]}
--- response_body chomp
{"model":"gpt-4o-mini","messages":[{"role":"user","content":"card 4111 1111 1111 1112, iban DE89 3704 0044 0532 0130 01, version 1.2.3.4, v2.14.1, at 2024-01-15 10:30:00, order 4155550100, ISBN 978-3-16-148410-0, ssn 000-12-3456, icon@2x.png, sk-learn-tutorial-for-beginners, ratio 16:9:4"}]}
--- error_log
llm-log: redactions=0 



=== TEST 4: escaped text is decoded before the scan, encoded after
--- request
POST /echo/chat/completions
{"model":"gpt-4o-mini","messages":[{"role":"user","content":"mail \"jo\u0040example.com\"\n\u0034111111111111111\ttab, caf\u00e9"}]}
--- response_body chomp
{"model":"gpt-4o-mini","messages":[{"role":"user","content":"mail \"[EMAIL]\"\n[CARD]\ttab, café"}]}



=== TEST 5: several values, content parts, tool call arguments, the end user's id; structure and ids untouched
--- request
POST /echo/chat/completions
{"model":"gpt-4o-mini","user":"a@b.io","messages":[{"role":"system","content":"Escalate to ops@corp.example"},{"role":"user","content":[{"type":"text","text":"I am x@y.io, +44 20 7946 0958"},{"type":"image_url","image_url":{"url":"https://e.x/a@b.io.png"}}]},{"role":"assistant","content":null,"tool_calls":[{"id":"t1","type":"function","function":{"name":"mail","arguments":"{\"to\":\"x@y.io\"}"}}]}]}
--- response_body chomp
{"model":"gpt-4o-mini","user":"[EMAIL]","messages":[{"role":"system","content":"Escalate to [EMAIL]"},{"role":"user","content":[{"type":"text","text":"I am [EMAIL], [PHONE]"},{"type":"image_url","image_url":{"url":"https://e.x/a@b.io.png"}}]},{"role":"assistant","content":null,"tool_calls":[{"id":"t1","type":"function","function":{"name":"mail","arguments":"{\"to\":\"[EMAIL]\"}"}}]}]}
--- error_log
llm-log: redactions=5 



=== TEST 6: Anthropic request: system and messages
--- request
POST /anthropic/echo/v1/messages
{"model":"claude-3-5-haiku","max_tokens":64,"system":"Owner: boss@corp.example","messages":[{"role":"user","content":[{"type":"text","text":"SSN 536-22-1234"}]}]}
--- response_body chomp
{"model":"claude-3-5-haiku","max_tokens":64,"system":"Owner: [EMAIL]","messages":[{"role":"user","content":[{"type":"text","text":"SSN [SSN]"}]}]}
--- config
    location /anthropic/ {
        llm_gateway anthropic;
        llm_redact request;
        proxy_pass http://mock/;
    }



=== TEST 7: llm_redact_types picks a subset
--- config
    location / {
        llm_gateway openai;
        llm_redact request;
        llm_redact_types email card;
        proxy_pass http://mock;
    }
--- request
POST /echo/chat/completions
{"model":"gpt-4o-mini","messages":[{"role":"user","content":"a@b.io 4111111111111111 536-22-1234 10.0.0.1"}]}
--- response_body chomp
{"model":"gpt-4o-mini","messages":[{"role":"user","content":"[EMAIL] [CARD] 536-22-1234 10.0.0.1"}]}



=== TEST 8: tokenize: the same value, the same placeholder
--- config
    location / {
        llm_gateway openai;
        llm_redact request;
        llm_redact_mode tokenize;
        proxy_pass http://mock;
    }
--- request
POST /echo/chat/completions
{"model":"gpt-4o-mini","messages":[{"role":"user","content":"a@b.io, c@d.io, a@b.io, 415-555-0100"},{"role":"user","content":"again c@d.io"}]}
--- response_body chomp
{"model":"gpt-4o-mini","messages":[{"role":"user","content":"[EMAIL_1], [EMAIL_2], [EMAIL_1], [PHONE_1]"},{"role":"user","content":"again [EMAIL_2]"}]}



=== TEST 9: hash: HMAC-SHA256 with llm_redact_secret
--- config
    location / {
        llm_gateway openai;
        llm_redact request;
        llm_redact_mode hash;
        llm_redact_secret "s3cret";
        proxy_pass http://mock;
    }
--- request
POST /echo/chat/completions
{"model":"gpt-4o-mini","messages":[{"role":"user","content":"a@b.io and 536-22-1234 and a@b.io"}]}
--- response_body eval
'{"model":"gpt-4o-mini","messages":[{"role":"user","content":"[EMAIL:' . main::hmac_tag('a@b.io', 's3cret')
. '] and [SSN:' . main::hmac_tag('536-22-1234', 's3cret') . '] and [EMAIL:'
. main::hmac_tag('a@b.io', 's3cret') . ']"}]}'



=== TEST 10: block: a 400 in OpenAI's format naming the types, nothing forwarded
--- config
    location / {
        llm_gateway openai;
        llm_redact request;
        llm_redact_mode block;
        proxy_pass http://mock;
    }
--- request
POST /echo/chat/completions
{"model":"gpt-4o-mini","messages":[{"role":"user","content":"card 4111111111111111, mail a@b.io"}]}
--- error_code: 400
--- response_body
{"error":{"message":"The request contains sensitive data (email, card) and was blocked by the gateway's redaction policy.","type":"invalid_request_error","param":null,"code":"sensitive_data"}}
--- no_error_log
4111111111111111
a@b.io



=== TEST 11: block: Anthropic's format; a clean request goes through
--- config
    location /anthropic/ {
        llm_gateway anthropic;
        llm_redact request;
        llm_redact_mode block;
        proxy_pass http://mock/;
    }
--- request eval
['POST /anthropic/echo/v1/messages
{"model":"claude-3-5-haiku","max_tokens":8,"messages":[{"role":"user","content":"key AKIAIOSFODNN7EXAMPLE"}]}',
'POST /anthropic/echo/v1/messages
{"model":"claude-3-5-haiku","max_tokens":8,"messages":[{"role":"user","content":"hello"}]}']
--- error_code eval
[400, 200]
--- response_body eval
['{"type":"error","error":{"type":"invalid_request_error","message":"The request contains sensitive data (secret) and was blocked by the gateway\'s redaction policy."}}
',
'{"model":"claude-3-5-haiku","max_tokens":8,"messages":[{"role":"user","content":"hello"}]}']



=== TEST 12: a rules file: comments, blank lines, rules that share a name
--- user_files
>>> rules.txt
# in-house identifiers
employee_id  EMP-[0-9]{6}

employee_id E#[0-9]{4}
   ticket   (?i)tkt-[0-9]{5}
--- config
    location / {
        llm_gateway openai;
        llm_redact request;
        llm_redact_types email;
        llm_redact_rules $TEST_NGINX_HTML_DIR/rules.txt;
        llm_redact_mode tokenize;
        proxy_pass http://mock;
    }
--- request
POST /echo/chat/completions
{"model":"gpt-4o-mini","messages":[{"role":"user","content":"EMP-123456 E#1234 TKT-12345 EMP-123456 a@b.io 4111111111111111"}]}
--- response_body chomp
{"model":"gpt-4o-mini","messages":[{"role":"user","content":"[EMPLOYEE_ID_1] [EMPLOYEE_ID_2] [TICKET_1] [EMPLOYEE_ID_1] [EMAIL_1] 4111111111111111"}]}



=== TEST 13: a bad rule fails with the file, the line and Hyperscan's message
--- user_files
>>> bad.txt
# rules
good EMP-[0-9]{6}
broken foo(bar
--- config
    location / {
        llm_gateway openai;
        llm_redact request;
        llm_redact_rules $TEST_NGINX_HTML_DIR/bad.txt;
    }
--- must_die
--- error_log eval
qr{llm_redact_rules ".*/bad\.txt", line 3: rule "broken": Missing close parenthesis for group started at index 3\.}



=== TEST 14: a rule line without a regular expression
--- user_files
>>> bad.txt
# a name alone
lonely
--- config
    location / {
        llm_redact request;
        llm_redact_rules $TEST_NGINX_HTML_DIR/bad.txt;
    }
--- must_die
--- error_log eval
qr{llm_redact_rules ".*/bad\.txt", line 2: a regular expression must follow the rule name}



=== TEST 15: a rule named like a built-in type, a rule that matches the empty string
--- user_files
>>> bad.txt
email x@y
--- config
    location / {
        llm_redact request;
        llm_redact_rules $TEST_NGINX_HTML_DIR/bad.txt;
    }
--- must_die
--- error_log eval
qr{llm_redact_rules ".*/bad\.txt", line 1: rule "email": the name of a built-in type}



=== TEST 16: a rule that matches the empty string
--- user_files
>>> bad.txt
anything x*
--- config
    location / {
        llm_redact request;
        llm_redact_rules $TEST_NGINX_HTML_DIR/bad.txt;
    }
--- must_die
--- error_log eval
qr{llm_redact_rules ".*/bad\.txt", line 1: rule "anything": .*empty}



=== TEST 17: a missing rules file
--- config
    location / {
        llm_redact request;
        llm_redact_rules $TEST_NGINX_HTML_DIR/nope.txt;
    }
--- must_die
--- error_log eval
qr{llm_redact_rules: open\(\) ".*/nope\.txt" failed}



=== TEST 18: hash without a secret
--- config
    location / {
        llm_redact request;
        llm_redact_mode hash;
    }
--- must_die
--- error_log
"llm_redact_mode hash" requires "llm_redact_secret"



=== TEST 19: an unknown type, an unknown place, an unknown mode
--- config
    location / {
        llm_redact_types email passport;
    }
--- must_die
--- error_log
unknown type "passport" in "llm_redact_types" directive



=== TEST 20: an unknown place
--- config
    location / {
        llm_redact answers;
    }
--- must_die
--- error_log
invalid value "answers" in "llm_redact" directive, it must be "request", "response" or "off"



=== TEST 21: an unknown mode
--- config
    location / {
        llm_redact_mode scramble;
    }
--- must_die
--- error_log
invalid value "scramble"



=== TEST 22: tokenize round trip, JSON: the provider sees placeholders, the client its data
--- config
    location / {
        llm_gateway openai;
        llm_redact request;
        llm_redact_mode tokenize;
        proxy_pass http://mock;
        access_log logs/error.log llm;
    }
--- request
POST /json/chat/completions
{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Mail jo@ex.io and al@ex.io, call 415-555-0100"}]}
--- response_headers
X-Got-Body: {"model":"gpt-4o-mini","messages":[{"role":"user","content":"Mail [EMAIL_1] and [EMAIL_2], call [PHONE_1]"}]}
--- response_body
{"id":"c2","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"I wrote to jo@ex.io and al@ex.io, not [EMAIL_3]; call 415-555-0100. Mine is bot@example.org, card 4111 1111 1111 1111."},"finish_reason":"stop"}],"usage":{"prompt_tokens":20,"completion_tokens":30,"total_tokens":50}}
--- error_log
llm-log: redactions=3 prompt=20 completion=30 source=usage status=200



=== TEST 23: tokenize and response redaction, JSON: restored values stay, new ones are redacted
--- config
    location / {
        llm_gateway openai;
        llm_redact request response;
        llm_redact_mode tokenize;
        proxy_pass http://mock;
        access_log logs/error.log llm;
    }
--- request
POST /json/chat/completions
{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Mail jo@ex.io and al@ex.io, call 415-555-0100"}]}
--- response_body
{"id":"c2","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"I wrote to jo@ex.io and al@ex.io, not [EMAIL_3]; call 415-555-0100. Mine is [EMAIL_3], card [CARD_1]."},"finish_reason":"stop"}],"usage":{"prompt_tokens":20,"completion_tokens":30,"total_tokens":50}}
--- error_log
llm-log: redactions=5 prompt=20 completion=30 source=usage status=200



=== TEST 24: response redaction of a JSON answer, usage still counted
--- config
    location / {
        llm_gateway openai;
        llm_redact response;
        proxy_pass http://mock;
        access_log logs/error.log llm;
    }
--- request
POST /json/chat/completions
{"model":"gpt-4o-mini","messages":[{"role":"user","content":"a@b.io"}]}
--- response_headers
X-Got-Body: {"model":"gpt-4o-mini","messages":[{"role":"user","content":"a@b.io"}]}
--- response_body
{"id":"c2","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"I wrote to [EMAIL_1] and [EMAIL_2], not [EMAIL_3]; call [PHONE_1]. Mine is [EMAIL], card [CARD]."},"finish_reason":"stop"}],"usage":{"prompt_tokens":20,"completion_tokens":30,"total_tokens":50}}
--- error_log
llm-log: redactions=2 prompt=20 completion=30 source=usage status=200



=== TEST 25: Anthropic JSON answer
--- request
POST /anthropic/json/v1/messages
{"model":"claude-3-5-haiku","max_tokens":64,"messages":[{"role":"user","content":"hi"}]}
--- response_body
{"id":"m1","type":"message","role":"assistant","content":[{"type":"text","text":"Hi [EMAIL_1], reach me at [EMAIL]."}],"usage":{"input_tokens":10,"output_tokens":8}}
--- error_log
llm-log: redactions=1 prompt=10 completion=8 source=usage status=200



=== TEST 26: a streamed value sent one character per event is still caught
--- request
POST /split/chat/completions
{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"hi"}]}
--- response_body_filters eval
\&main::contents
--- response_body chomp
Write to [EMAIL] today, or call [PHONE].
--- error_log
llm-log: redactions=2 prompt=12 completion=7 source=usage status=200
--- no_error_log
[error]
[warn]



=== TEST 27: no piece of a value reaches the client, the usage chunk is stripped
--- request
POST /split/chat/completions
{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"hi"}]}
--- response_body_unlike eval
qr/john|doe|example\.com|555-0100|usage/



=== TEST 28: Anthropic stream, one character per event
--- request
POST /anthropic/split/v1/messages
{"model":"claude-3-5-haiku","max_tokens":64,"stream":true,"messages":[{"role":"user","content":"hi"}]}
--- response_body_filters eval
\&main::contents
--- response_body chomp
Write to [EMAIL] today, or call [PHONE].
--- error_log
llm-log: redactions=2 prompt=12 completion=21 source=usage status=200



=== TEST 29: Anthropic stream: held text comes before content_block_stop
--- request
POST /anthropic/split/v1/messages
{"model":"claude-3-5-haiku","max_tokens":64,"stream":true,"messages":[{"role":"user","content":"hi"}]}
--- response_body_like eval
qr/"text":"\[PHONE\]\."\}\}\n\nevent: content_block_stop\n.*event: message_stop\ndata: \{"type":"message_stop"\}\n\n$/s



=== TEST 30: the exact events of a small stream
--- request
POST /small/chat/completions
{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"hi"}]}
--- response_body eval
'data: {"id":"c1","choices":[{"index":0,"delta":{"content":"Hi "}}]}

data: {"id":"c1","choices":[{"index":0,"delta":{"content":""}}]}

data: {"id":"c1","choices":[{"index":0,"delta":{"content":"[EMAIL]"},"finish_reason":"stop"}]}

data: [DONE]

'



=== TEST 31: a stream without a finish chunk: held text is flushed before [DONE]
--- request
POST /unfinished/chat/completions
{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"hi"}]}
--- response_body eval
'data: {"id":"c1","model":"m","choices":[{"index":0,"delta":{"content":"mail "}}]}

data: {"id":"c1","object":"chat.completion.chunk","model":"m","choices":[{"index":0,"delta":{"content":"[EMAIL]"},"finish_reason":null}]}

data: [DONE]

'



=== TEST 32: tokenize round trip in a stream, placeholders split over events
--- config
    location / {
        llm_gateway openai;
        llm_redact request;
        llm_redact_mode tokenize;
        proxy_pass http://mock;
    }
--- request
POST /placeholders/chat/completions
{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"Mail jo@ex.io, call +1 (415) 555-0100"}]}
--- response_headers
X-Got-Body: {"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"Mail [EMAIL_1], call [PHONE_1]"}],"stream_options":{"include_usage":true}}
--- response_body_filters eval
\&main::contents
--- response_body chomp
Sure, I wrote to jo@ex.io and +1 (415) 555-0100. Also [EMAIL_9] and [x]



=== TEST 33: prose streams through unchanged
--- request
POST /prose/chat/completions
{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"hi"}]}
--- response_body_filters eval
\&main::contents
--- response_body chomp
The quick brown fox jumps over the lazy dog.
--- error_log
llm-log: redactions=0 



=== TEST 34: values never reach the error log, even at debug level
--- log_level: debug
--- config
    location / {
        llm_gateway openai;
        llm_redact request response;
        llm_redact_mode tokenize;
        proxy_pass http://mock;
    }
--- request
POST /split/chat/completions
{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"I am jane.roe@example.com, card 4111 1111 1111 1111, key AKIAIOSFODNN7EXAMPLE"}]}
--- response_body_filters eval
\&main::contents
--- response_body chomp
Write to [EMAIL_2] today, or call [PHONE_1].
--- error_log
llm redact: 3 values in the request
--- no_error_log
jane.roe
example.com
4111 1111
AKIAIOSFODNN7EXAMPLE
john.doe
555-0100



=== TEST 35: $llm_redactions, and llm_redact off in a nested location
--- config
    location / {
        llm_gateway openai;
        llm_redact request;
        proxy_pass http://mock;
        access_log logs/error.log llm;

        location /echo/off/ {
            llm_redact off;
            proxy_pass http://mock/echo/;
            access_log logs/error.log llm;
        }
    }
--- request
POST /echo/off/chat/completions
{"model":"gpt-4o-mini","messages":[{"role":"user","content":"a@b.io"}]}
--- response_body chomp
{"model":"gpt-4o-mini","messages":[{"role":"user","content":"a@b.io"}]}
--- error_log
llm-log: redactions=0 



=== TEST 36: the cache keeps a tokenized answer (placeholders only); a hit is restored, as JSON and as a stream
--- config
    location / {
        llm_gateway openai;
        llm_cache main;
        llm_cache_scope $host;
        llm_redact request;
        llm_redact_mode tokenize;
        proxy_pass http://mock;
    }
--- request eval
['POST /placeholder/chat/completions
{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Mail jo@ex.io"}]}',
'POST /placeholder/chat/completions
{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Mail jo@ex.io"}]}',
'POST /placeholder/chat/completions
{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"Mail jo@ex.io"}]}']
--- response_headers eval
["X-LLM-Cache: MISS\nX-Mock: upstream", "X-LLM-Cache: HIT\n!X-Mock", "X-LLM-Cache: HIT\n!X-Mock"]
--- response_body_filters eval
[[], [], [\&main::contents]]
--- response_body_like eval
[qr/"content":"Hi jo\@ex.io, see you"/, qr/"content":"Hi jo\@ex.io, see you"/, qr/^Hi jo\@ex.io, see you$/]



=== TEST 37: an answer in which values were redacted never reaches the cache
--- config
    location / {
        llm_gateway openai;
        llm_cache main;
        llm_cache_scope $host;
        llm_redact response;
        proxy_pass http://mock;
    }
--- request eval
['POST /json/chat/completions
{"model":"gpt-4o-mini","messages":[{"role":"user","content":"who?"}]}',
'POST /json/chat/completions
{"model":"gpt-4o-mini","messages":[{"role":"user","content":"who?"}]}',
'POST /placeholder/chat/completions
{"model":"gpt-4o-mini","messages":[{"role":"user","content":"who?"}]}',
'POST /placeholder/chat/completions
{"model":"gpt-4o-mini","messages":[{"role":"user","content":"who?"}]}']
--- response_headers eval
["X-LLM-Cache: MISS", "X-LLM-Cache: MISS", "X-LLM-Cache: MISS", "X-LLM-Cache: HIT"]
--- response_body_like eval
[qr/Mine is \[EMAIL\], card \[CARD\]/, qr/Mine is \[EMAIL\], card \[CARD\]/, qr/Hi \[EMAIL_1\]/, qr/Hi \[EMAIL_1\]/]



=== TEST 38: per-type counters on llm_status: in requests, answers, restored, blocked
--- config
    location / {
        llm_gateway openai;
        llm_redact request response;
        llm_redact_mode tokenize;
        proxy_pass http://mock;
    }

    location /blocking/ {
        llm_gateway openai;
        llm_redact request;
        llm_redact_mode block;
        proxy_pass http://mock/;
    }

    location = /status {
        llm_status;
    }
--- request eval
['POST /json/chat/completions
{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Mail jo@ex.io and al@ex.io, call 415-555-0100"}]}',
'POST /blocking/echo/chat/completions
{"model":"gpt-4o-mini","messages":[{"role":"user","content":"ssn 536-22-1234"}]}',
'GET /status?format=json',
'GET /status']
--- error_code eval
[200, 400, 200, 200]
--- response_body_like eval
[qr/jo\@ex.io/, qr/sensitive data \(ssn\)/,
qr/"redactions":\{"email":\{"request":2,"response":1,"restored":2,"blocked":0\},"phone":\{"request":1,"response":0,"restored":1,"blocked":0\},"card":\{"request":0,"response":1,"restored":0,"blocked":0\},"ssn":\{"request":1,"response":0,"restored":0,"blocked":1\},/,
qr/llm_redactions_total\{type="email",where="request"\} 2\nllm_redactions_total\{type="email",where="response"\} 1\n.*llm_redact_restored_total\{type="phone"\} 1\n.*llm_redact_blocked_total\{type="ssn"\} 1\n/s]
