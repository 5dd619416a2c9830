package LLMTest::RedactMock;

# What the redaction tests through nginx share (t/023-pii-formats.t,
# t/032-pii-email-ids.t, t/033-pii-secrets.t, t/041-pii-secrets-third.t;
# t/004-redact.t and t/020-hostile-redact.t take chunk(), echo_events()
# and $Stop, $Done):
#
# - chunk(TEXT): an OpenAI stream event whose delta is TEXT (already
#   escaped for JSON and for a single-quoted nginx string);
# - echo_events(MAKE, PIECES): echo directives sending MAKE->(PIECE) for
#   each piece as an event of its own, each flushed;
# - by_char(TEXT): echo directives sending TEXT one character per event
#   (a JSON escape such as "\\u0022" is one character), each flushed;
# - contents(BODY): the text of a streamed answer, all deltas joined, as
#   bytes (as the body is compared);
# - $Stop, $Done: the stream's last event and its end;
# - redact_mock(answers => [A, ...], streams => [S, ...]): the mock
#   provider (http_config): /echo/ answers with the body it received,
#   /json/, /json2/, ... with a chat completion whose content is A, ...,
#   /split/, /split2/, ... with the events S, ... then $Stop and $Done; the
#   access log format "llm" logs $llm_redactions and $status;
# - $RedactGateway: the gateway location (config) redacting requests and
#   answers, logging with "llm".

use strict;
use warnings;
use JSON::PP ();
use Exporter 'import';

our @EXPORT_OK = qw(chunk echo_events by_char contents redact_mock $Stop $Done
                    $RedactGateway);
our %EXPORT_TAGS = (all => \@EXPORT_OK);

sub chunk {
    my $t = shift;
    return 'data: {"id":"c1","model":"gpt-4o-mini","choices":[{"index":0,'
        . '"delta":{"content":"' . $t . '"},"finish_reason":null}]}\n\n';
}

# echo directives that send each piece as an event of its own, flushed
sub echo_events {
    my ($make, @pieces) = @_;
    return join "\n", map { "            echo -n '" . $make->($_) . "';\n"
                            . "            echo_flush;" } @pieces;
}

# one event per character; a JSON escape ("\\u0022") is one character
sub by_char {
    my $text = shift;
    return echo_events(\&chunk, $text =~ /(\\\\u[0-9a-f]{4}|.)/g);
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

    utf8::encode($out);             # bytes, as the body is compared

    return $out;
}

our $Stop = 'data: {"id":"c1","model":"gpt-4o-mini","choices":[{"index":0,'
    . '"delta":{},"finish_reason":"stop"}]}\n\n';
our $Done = 'data: [DONE]\n\n';

sub redact_mock {
    my %a = @_;
    my $locations = '';
    my $n;

    $n = 0;

    for my $answer (@{ $a{answers} || [] }) {
        my $suffix = $n ? $n + 1 : '';
        my $id = 'c' . ($n + 2);

        $locations .= <<"_EOC_";

        location /json$suffix/ {
            default_type application/json;
            echo_read_request_body;
            echo '{"id":"$id","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"$answer"},"finish_reason":"stop"}],"usage":{"prompt_tokens":20,"completion_tokens":30,"total_tokens":50}}';
        }
_EOC_
        $n++;
    }

    $n = 0;

    for my $stream (@{ $a{streams} || [] }) {
        my $suffix = $n ? $n + 1 : '';

        $locations .= <<"_EOC_";

        location /split$suffix/ {
            default_type text/event-stream;
            echo_read_request_body;
$stream
            echo -n '$Stop';
            echo -n '$Done';
        }
_EOC_
        $n++;
    }

    return <<"_EOC_";
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
$locations    }
_EOC_
}

our $RedactGateway = <<'_EOC_';
    location / {
        llm_gateway openai;
        llm_redact request response;
        proxy_pass http://mock;
        access_log logs/error.log llm;
    }
_EOC_

1;
