# Redaction against hostile and careless requests (issue 12): the bound on
# distinct tokenized values, every string of the request scanned (tool
# inputs, documents, thinking, legacy function calls, predictions, the
# Responses API), structure and opaque payloads left alone, and a stream
# that cannot be read (an event over 1 MiB) failing closed.

use Test::Nginx::Socket 'no_plan';
use FindBin;
use lib "$FindBin::Bin/lib";
use LLMTest::Suite;
use LLMTest::RedactMock qw(chunk echo_events);
use JSON::PP ();

$ENV{TEST_NGINX_HTML_DIR} ||= html_dir();

no_shuffle();
no_long_string();
log_level('info');
no_root_location();

# the text of a streamed answer, all deltas joined; then what else it has
sub contents {
    my $body = shift;
    my $out = '';

    for my $line (split /\n/, $body) {
        next unless $line =~ /^data: (\{.*)$/;
        my $j = eval { JSON::PP::decode_json($1) } or return "bad JSON";

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

# the text, whether it ends with the gateway's error, whether a value leaked
sub outcome {
    my $body = shift;
    my $text = contents($body);
    my $err = ($body =~ /"code":"answer_unreadable"\}\}\n\ndata: \[DONE\]\n\n\z/
               || $body =~ /event: error\ndata: \{"type":"error","error":\{"type":"api_error","message":"The answer could not be checked for sensitive data[^"]*"\}\}\n\n\z/)
              ? 'error' : 'no error';
    my $leak = ($body =~ /leak/) ? 'leaked' : 'nothing leaked';
    $text =~ s/x{1000,}/<x...>/;
    return "$text | $err | $leak";
}

# a prompt with n distinct e-mail addresses
sub addresses {
    my ($n, $api) = @_;
    my $text = join ' ', map { "user$_\@example.com" } 1 .. $n;
    return $api && $api eq 'anthropic'
        ? '{"model":"claude-3-5-haiku","max_tokens":8,"messages":[{"role":"user","content":"' . $text . '"}]}'
        : '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"' . $text . '"}]}';
}

# a private key block streamed four characters an event
our @Key = ('Key: -----BEGIN PRIVATE KEY----- ',
            (map { sprintf 'Mk%02d', $_ % 100 } 1 .. 2000),
            ' -----END PRIVATE KEY----- ', 'done.');
our $KeyEvents = echo_events(\&chunk, @Key);

our $Big = 'x' x 1100000;

our $Mock = <<"_EOC_";
    log_format llm 'llm-log: redactions=\$llm_redactions status=\$status';

    llm_model gpt-4o-mini upstream=mock;
    llm_model claude-3-5-haiku upstream=mock;

    upstream mock {
        server unix:\$TEST_NGINX_HTML_DIR/mock.sock;
    }

    server {
        listen unix:\$TEST_NGINX_HTML_DIR/mock.sock;
        access_log off;
        error_log logs/mock.log info;
        client_max_body_size 16m;
        client_body_buffer_size 16m;

        # what the provider receives
        location /echo/ {
            default_type text/plain;
            echo_read_request_body;
            echo -n \$request_body;
        }

        location /json/ {
            default_type application/json;
            echo_read_request_body;
            echo '{"id":"c2","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"I wrote to [EMAIL_1] and [EMAIL_2], not [EMAIL_3]. Mine is bot\@example.org, card 4111 1111 1111 1111."},"finish_reason":"stop"}],"usage":{"prompt_tokens":20,"completion_tokens":30,"total_tokens":50}}';
        }

        # an event of 1.1 MB, with a value at its end, then more values
        location /big/ {
            default_type text/event-stream;
            echo_read_request_body;
            echo -n 'data: {"id":"c1","choices":[{"index":0,"delta":{"content":"Hello there, "},"finish_reason":null}]}\\n\\n';
            echo_flush;
            echo -n 'data: {"id":"c1","choices":[{"index":0,"delta":{"content":"';
            echo_duplicate 1100000 'x';
            echo -n ' leak1\@example.com"},"finish_reason":null}]}\\n\\n';
            echo -n 'data: {"id":"c1","choices":[{"index":0,"delta":{"content":"mail leak2\@example.com"},"finish_reason":null}]}\\n\\n';
            echo -n 'data: {"id":"c1","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}\\n\\n';
            echo -n 'data: [DONE]\\n\\n';
        }

        location /abig/ {
            default_type text/event-stream;
            echo_read_request_body;
            echo -n 'event: message_start\\ndata: {"type":"message_start","message":{"id":"m1","usage":{"input_tokens":12,"output_tokens":1}}}\\n\\n';
            echo -n 'event: content_block_start\\ndata: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}\\n\\n';
            echo -n 'event: content_block_delta\\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hello there, "}}\\n\\n';
            echo_flush;
            echo -n 'event: content_block_delta\\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"';
            echo_duplicate 1100000 'x';
            echo -n ' leak1\@example.com"}}\\n\\n';
            echo -n 'event: content_block_delta\\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"mail leak2\@example.com"}}\\n\\n';
            echo -n 'event: content_block_stop\\ndata: {"type":"content_block_stop","index":0}\\n\\n';
            echo -n 'event: message_delta\\ndata: {"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":21}}\\n\\n';
            echo -n 'event: message_stop\\ndata: {"type":"message_stop"}\\n\\n';
        }

        # events and answers that are not JSON
        location /rawevent/ {
            default_type text/event-stream;
            echo_read_request_body;
            echo -n 'data: {"id":"c1","choices":[{"index":0,"delta":{"content":"Hi. "},"finish_reason":null}]}\n\n';
            echo -n 'event: note\ndata: contact leak\@example.com\ndata: or card 4111 1111 1111 1111\n\n';
            echo -n 'data: {"id":"c1","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}\n\n';
            echo -n 'data: [DONE]\n\n';
        }

        location /rawjson/ {
            default_type application/json;
            echo_read_request_body;
            echo -n 'Sorry: write to leak\@example.com, not [EMAIL_1]';
        }

        location /static/ {
            alias \$TEST_NGINX_HTML_DIR/;
            default_type application/json;
        }

        location /key/ {
            default_type text/event-stream;
            echo_read_request_body;
$KeyEvents
            echo -n 'data: {"id":"c1","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}\\n\\n';
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
        proxy_pass http://mock/;
        access_log logs/error.log llm;
    }
_EOC_

block_defaults(http_config => $Mock, config => $Gateway);

run_tests();

__DATA__

=== TEST 1: tokenize: 10000 distinct values pass (the default bound), 10001 are refused with a 400 in the API's format
--- config
    location / {
        llm_gateway openai;
        llm_redact request response;
        llm_redact_mode tokenize;
        proxy_pass http://mock;
    }
--- request eval
["POST /echo/chat/completions\n" . main::addresses(10000),
 "POST /echo/chat/completions\n" . main::addresses(10001)]
--- error_code eval
[200, 400]
--- response_body_like eval
[qr/^\{"model":"gpt-4o-mini","messages":\[\{"role":"user","content":"\[EMAIL_1\] \[EMAIL_2\] .* \[EMAIL_9999\] \[EMAIL_10000\]"\}\]\}$/,
 qr/^\{"error":\{"message":"The request contains more than 10000 distinct sensitive values, more than the gateway's redaction policy allows in one request.","type":"invalid_request_error","param":null,"code":"too_many_sensitive_values"\}\}$/]
--- no_error_log
[error]
example.com



=== TEST 2: llm_redact_max_values: past the bound, a 400 in Anthropic's format; no value logged
--- config
    location /anthropic/ {
        llm_gateway anthropic;
        llm_redact request response;
        llm_redact_mode tokenize;
        llm_redact_max_values 3;
        proxy_pass http://mock/;
    }
--- request
POST /anthropic/echo/v1/messages
{"model":"claude-3-5-haiku","max_tokens":8,"messages":[{"role":"user","content":"a@b.io c@d.io"},{"role":"user","content":"e@f.io g@h.io"}]}
--- error_code: 400
--- response_body
{"type":"error","error":{"type":"invalid_request_error","message":"The request contains more than 3 distinct sensitive values, more than the gateway's redaction policy allows in one request."}}
--- error_log
llm redact: the request has more than 3 distinct values to tokenize (llm_redact_max_values)
--- no_error_log
[error]
b.io
f.io



=== TEST 3: llm_redact_max_values: a value repeated counts once
--- config
    location /anthropic/ {
        llm_gateway anthropic;
        llm_redact request response;
        llm_redact_mode tokenize;
        llm_redact_max_values 3;
        proxy_pass http://mock/;
    }
--- request
POST /anthropic/echo/v1/messages
{"model":"claude-3-5-haiku","max_tokens":8,"messages":[{"role":"user","content":"a@b.io c@d.io a@b.io 4111 1111 1111 1111 c@d.io"}]}
--- response_body chomp
{"model":"claude-3-5-haiku","max_tokens":8,"messages":[{"role":"user","content":"[EMAIL_1] [EMAIL_2] [EMAIL_1] [CARD_1] [EMAIL_2]"}]}



=== TEST 4: tokenize: a new value of the answer past the bound is masked; the request's placeholders are restored
--- config
    location / {
        llm_gateway openai;
        llm_redact request response;
        llm_redact_mode tokenize;
        llm_redact_max_values 2;
        proxy_pass http://mock;
    }
--- request
POST /json/chat/completions
{"model":"gpt-4o-mini","messages":[{"role":"user","content":"to jo@ex.io and al@ex.io"}]}
--- response_body_like eval
qr/"content":"I wrote to jo\@ex.io and al\@ex.io, not \[EMAIL_3\]. Mine is \[EMAIL\], card \[CARD\]."/



=== TEST 5: Anthropic: tool_use input (nested), document text sources, thinking and tool results are scanned; ids, names, signatures and base64 data are not
--- request
POST /anthropic/echo/v1/messages
{"model":"claude-3-5-haiku","max_tokens":64,"messages":[{"role":"user","content":[{"type":"document","source":{"type":"text","media_type":"text/plain","data":"Contract of jo@ex.io"}},{"type":"image","source":{"type":"base64","media_type":"image/png","data":"DE89370400440532013000"}}]},{"role":"assistant","content":[{"type":"thinking","thinking":"The user jo@ex.io wants mail","signature":"EqQBCgIYAhIMDE89370400440532013000"},{"type":"redacted_thinking","data":"DE89370400440532013000"},{"type":"tool_use","id":"toolu_DE89370400440532013000","name":"send_mail","input":{"to":"jo@ex.io","cc":["x@y.io"],"body":{"text":"card 4111 1111 1111 1111"}}}]},{"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_DE89370400440532013000","content":"sent to jo@ex.io"}]}]}
--- response_body chomp
{"model":"claude-3-5-haiku","max_tokens":64,"messages":[{"role":"user","content":[{"type":"document","source":{"type":"text","media_type":"text/plain","data":"Contract of [EMAIL]"}},{"type":"image","source":{"type":"base64","media_type":"image/png","data":"DE89370400440532013000"}}]},{"role":"assistant","content":[{"type":"thinking","thinking":"The user [EMAIL] wants mail","signature":"EqQBCgIYAhIMDE89370400440532013000"},{"type":"redacted_thinking","data":"DE89370400440532013000"},{"type":"tool_use","id":"toolu_DE89370400440532013000","name":"send_mail","input":{"to":"[EMAIL]","cc":["[EMAIL]"],"body":{"text":"card [CARD]"}}}]},{"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_DE89370400440532013000","content":"sent to [EMAIL]"}]}]}
--- error_log
llm-log: redactions=6 status=200



=== TEST 6: block mode: a value in a tool_use input alone refuses the request
--- config
    location /anthropic/ {
        llm_gateway anthropic;
        llm_redact request;
        llm_redact_mode block;
        proxy_pass http://mock/;
    }
--- request
POST /anthropic/echo/v1/messages
{"model":"claude-3-5-haiku","max_tokens":64,"messages":[{"role":"user","content":"send it"},{"role":"assistant","content":[{"type":"tool_use","id":"toolu_1","name":"send_mail","input":{"to":"jo@ex.io"}}]}]}
--- error_code: 400
--- response_body
{"type":"error","error":{"type":"invalid_request_error","message":"The request contains sensitive data (email) and was blocked by the gateway's redaction policy."}}



=== TEST 7: OpenAI: legacy function_call arguments, function results, prediction, stop, metadata are scanned; data URLs, audio data and ids are not
--- request
POST /echo/chat/completions
{"model":"gpt-4o-mini","messages":[{"role":"assistant","content":null,"function_call":{"name":"lookup","arguments":"{\"email\":\"jo@ex.io\"}"}},{"role":"function","name":"lookup","content":"found jo@ex.io"},{"role":"tool","tool_call_id":"DE89370400440532013000","content":"ok"},{"role":"user","content":[{"type":"image_url","image_url":{"url":"data:image/png;base64,DE89370400440532013000"}},{"type":"input_audio","input_audio":{"data":"DE89370400440532013000","format":"wav"}},{"type":"text","text":"hi"}]}],"prediction":{"type":"content","content":[{"type":"text","text":"Dear jo@ex.io"}]},"stop":["jo@ex.io"],"metadata":{"customer":"x@y.io"}}
--- response_body chomp
{"model":"gpt-4o-mini","messages":[{"role":"assistant","content":null,"function_call":{"name":"lookup","arguments":"{\"email\":\"[EMAIL]\"}"}},{"role":"function","name":"lookup","content":"found [EMAIL]"},{"role":"tool","tool_call_id":"DE89370400440532013000","content":"ok"},{"role":"user","content":[{"type":"image_url","image_url":{"url":"data:image/png;base64,DE89370400440532013000"}},{"type":"input_audio","input_audio":{"data":"DE89370400440532013000","format":"wav"}},{"type":"text","text":"hi"}]}],"prediction":{"type":"content","content":[{"type":"text","text":"Dear [EMAIL]"}]},"stop":["[EMAIL]"],"metadata":{"customer":"[EMAIL]"}}
--- error_log
llm-log: redactions=5 status=200



=== TEST 8: Responses API: instructions and input items of every type are scanned; ids and encrypted reasoning are not
--- request
POST /echo/v1/responses
{"model":"gpt-4o-mini","instructions":"Reply to jo@ex.io","input":[{"type":"message","role":"user","content":[{"type":"input_text","text":"I am x@y.io"}]},{"type":"reasoning","id":"rs_1","summary":[{"type":"summary_text","text":"user x@y.io"}],"encrypted_content":"DE89370400440532013000"},{"type":"function_call","id":"fc_1","call_id":"call_1","name":"mail","arguments":"{\"to\":\"x@y.io\"}"},{"type":"function_call_output","call_id":"call_1","output":"sent to x@y.io"}]}
--- response_body chomp
{"model":"gpt-4o-mini","instructions":"Reply to [EMAIL]","input":[{"type":"message","role":"user","content":[{"type":"input_text","text":"I am [EMAIL]"}]},{"type":"reasoning","id":"rs_1","summary":[{"type":"summary_text","text":"user [EMAIL]"}],"encrypted_content":"DE89370400440532013000"},{"type":"function_call","id":"fc_1","call_id":"call_1","name":"mail","arguments":"{\"to\":\"[EMAIL]\"}"},{"type":"function_call_output","call_id":"call_1","output":"sent to [EMAIL]"}]}
--- error_log
llm-log: redactions=5 status=200



=== TEST 9: Responses API, block mode: a value in a function_call_output alone refuses the request
--- config
    location / {
        llm_gateway openai;
        llm_redact request;
        llm_redact_mode block;
        proxy_pass http://mock;
    }
--- request
POST /echo/v1/responses
{"model":"gpt-4o-mini","input":[{"type":"function_call_output","call_id":"call_1","output":"card 4111 1111 1111 1111"}]}
--- error_code: 400
--- response_body
{"error":{"message":"The request contains sensitive data (card) and was blocked by the gateway's redaction policy.","type":"invalid_request_error","param":null,"code":"sensitive_data"}}



=== TEST 10: ids, blobs and base64 payloads are skipped only when they look like ones, and only the request's own model: text put elsewhere is scanned
--- request
POST /echo/chat/completions
{"model":"gpt-4o-mini","messages":[{"role":"tool","tool_call_id":"jo@ex.io","content":"ok"},{"role":"user","content":[{"type":"image_url","image_url":{"url":"data:image/png;base64,mail jo@ex.io"}},{"type":"input_audio","input_audio":{"data":"call +44 20 7946 0958","format":"wav"}},{"type":"text","text":"data:text/plain;base64,4111111111111111"}]}],"metadata":{"signature":"jo@ex.io","model":"x@y.io","role":"x@y.io"}}
--- response_body chomp
{"model":"gpt-4o-mini","messages":[{"role":"tool","tool_call_id":"[EMAIL]","content":"ok"},{"role":"user","content":[{"type":"image_url","image_url":{"url":"data:image/png;base64,mail [EMAIL]"}},{"type":"input_audio","input_audio":{"data":"call [PHONE]","format":"wav"}},{"type":"text","text":"data:text/plain;base64,[CARD]"}]}],"metadata":{"signature":"[EMAIL]","model":"[EMAIL]","role":"[EMAIL]"}}
--- error_log
llm-log: redactions=7 status=200



=== TEST 11: a streamed event too large to scan ends the stream with an error; nothing of it or after it reaches the client
--- no_error_log
[alert]
[crit]
[emerg]
--- request
POST /big/chat/completions
{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"hi"}]}
--- response_body_filters eval
\&main::outcome
--- response_body chomp
Hello there,  | error | nothing leaked
--- error_log
is larger than 1048576 bytes and cannot be scanned, the stream is ended with an error



=== TEST 12: the same with Anthropic's stream: its error event
--- no_error_log
[alert]
[crit]
[emerg]
--- request
POST /anthropic/abig/v1/messages
{"model":"claude-3-5-haiku","max_tokens":64,"stream":true,"messages":[{"role":"user","content":"hi"}]}
--- response_body_filters eval
\&main::outcome
--- response_body chomp
Hello there,  | error | nothing leaked
--- error_log
is larger than 1048576 bytes and cannot be scanned, the stream is ended with an error



=== TEST 13: a private key block streamed four characters an event is held and redacted whole, the text after it flows (guard of the linear hold-back; this one passes on 53c9811 too)
--- request
POST /key/chat/completions
{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"hi"}]}
--- response_body_filters eval
\&main::contents
--- response_body chomp
Key: [SECRET] done.
--- no_error_log
[error]



=== TEST 14: llm_redact_max_values is checked by nginx -t
--- config
    location / {
        llm_gateway openai;
        llm_redact request;
        llm_redact_mode tokenize;
        llm_redact_max_values 0;
        proxy_pass http://mock;
    }
--- must_die
--- error_log
value must be between 1 and 999999



=== TEST 15: a JSON answer too large to read (over 4 MiB, with its length) is not sent: withheld with a 502 in the API's format before anything of it goes out
--- no_error_log
[alert]
[crit]
[emerg]
--- config
    location = /bigjson/chat/completions {
        llm_gateway openai;
        llm_redact response;
        proxy_method GET;
        proxy_pass http://mock/static/big.json;
    }
--- user_files eval
">>> big.json\n" . '{"id":"c","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"' . ('x' x 4300000) . ' leak\@example.com"},"finish_reason":"stop"}]}'
--- request
POST /bigjson/chat/completions
{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}
--- error_code: 502
--- response_body_like: ^(?!.*leak)\{"error":\{.*"code":"answer_unreadable"
--- error_log
cannot be read (it is too large



=== TEST 16: a streamed event that is not JSON is scanned as text, each of its lines stays a data line
--- request
POST /rawevent/chat/completions
{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"hi"}]}
--- response_body_like eval
qr/^(?!.*(?:leak|4111)).*?\n\nevent: note\ndata: contact \[EMAIL\]\ndata: or card \[CARD\]\n\ndata: /s



=== TEST 17: a JSON answer that is not JSON is scanned as text; tokenize restores the request's placeholders in it
--- config
    location / {
        llm_gateway openai;
        llm_redact request response;
        llm_redact_mode tokenize;
        proxy_pass http://mock;
    }
--- request
POST /rawjson/chat/completions
{"model":"gpt-4o-mini","messages":[{"role":"user","content":"I am jo@ex.io"}]}
--- response_body chomp
Sorry: write to [EMAIL_2], not jo@ex.io
