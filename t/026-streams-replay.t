# Replay of recorded provider streams through the gateway (issue #13).
#
# ../shared/eval/streams/ holds 198 streaming answers of five APIs
# (OpenAI chat completions and compatible servers, the Responses API,
# Anthropic messages, Gemini streamGenerateContent), recorded or rebuilt
# from public test fixtures (PROVENANCE.md there), with INDEX.jsonl: the
# usage each stream reports, its API and features.  They are read at run
# time, never copied into the repository; without them (no ../shared next
# to the checkout, nor two levels up for a worktree; or $LLM_EVAL_STREAMS)
# the test is skipped with a message.
#
# A mock upstream (a second server of the same nginx) serves each recording
# as the answer's body, byte for byte, as text/event-stream.  A streamed
# request of the recording's API goes through the gateway location of that
# API (llm_gateway openai, anthropic, gemini).  Checked for each recording:
#
#   - the client's bytes (de-chunked) equal the recording's: nothing
#     dropped, changed or appended; a recording that ends without its end
#     event (INDEX feature "truncated") gets exactly one error event of its
#     API after its bytes;
#   - the usage the gateway logged ($llm_prompt_tokens and the rest) equals
#     the recording's, where the recording reports usage, with the
#     gateway's accounting: Anthropic's prompt counts the cache reads and
#     writes, Gemini's completion counts the thoughts and its prompt the
#     tool use prompt; $llm_tokens_source is "usage".  Without usage, the
#     source is "estimate".
#
# The figure (recordings intact, usage equal) is printed as a diag.
# Plain TAP: one nginx for 198 requests, and a JSON index to read, which
# the Test::Nginx data format does not express.

use strict;
use warnings;
use Test::More;
use JSON::PP;
use Cwd qw(abs_path);
use FindBin;
use lib "$FindBin::Bin/lib";
use LLMTest::Plain;

my $dir = $ENV{LLM_EVAL_STREAMS};

if (!$dir) {
    for my $up ('..', '../..') {
        my $d = "$FindBin::Bin/../$up/shared/eval/streams";
        if (-f "$d/INDEX.jsonl") {
            $dir = abs_path($d);
            last;
        }
    }
}

if (!$dir || !-f "$dir/INDEX.jsonl") {
    plan skip_all => 'the recorded streams (../shared/eval/streams/INDEX.jsonl) '
                     . 'are not there: set LLM_EVAL_STREAMS to their directory';
}

my $json = JSON::PP->new;
my @index;

{
    open my $f, '<', "$dir/INDEX.jsonl" or die "$dir/INDEX.jsonl: $!";
    while (my $line = <$f>) {
        next unless $line =~ /\S/;
        push @index, $json->decode($line);
    }
    close $f;
}

my $ng = LLMTest::Plain->new('llm-replay', timeout => 20 * slow());
my $root = $ng->root;
my $port = $ng->port;
my $up_port = free_port();

# the recordings' files are sent as they are: no types, no gzip
$ng->write_conf(workers => 1, connections => 64, http => <<"_EOC_");
    log_format replay 'replay f=\$arg_f status=\$status prompt=\$llm_prompt_tokens completion=\$llm_completion_tokens cached=\$llm_cached_tokens reasoning=\$llm_reasoning_tokens source=\$llm_tokens_source';

    upstream recordings {
        server 127.0.0.1:$up_port;
    }

    server {
        listen 127.0.0.1:$up_port;

        location /rec/ {
            alias $dir/;
            types { }
            default_type text/event-stream;
            etag off;
        }
    }

    server {
        listen 127.0.0.1:$port;

        access_log $root/logs/replay.log replay;

        # small buffers: events are split over many reads
        proxy_buffer_size 1k;
        proxy_method GET;
        proxy_http_version 1.1;

        location /openai/ {
            llm_gateway openai;
            proxy_pass http://recordings/rec/\$arg_f;
        }

        location /anthropic/ {
            llm_gateway anthropic;
            proxy_pass http://recordings/rec/\$arg_f;
        }

        location /gemini/ {
            llm_gateway gemini;
            proxy_pass http://recordings/rec/\$arg_f;
        }
    }
_EOC_

$ng->start('nginx starts');

my %request = (
    openai_chat_completions => [
        '/openai/v1/chat/completions',
        '{"model":"m","stream":true,"stream_options":{"include_usage":true},'
        . '"messages":[{"role":"user","content":"Hi"}]}' ],
    openai_compatible_chat => [
        '/openai/v1/chat/completions',
        '{"model":"m","stream":true,"stream_options":{"include_usage":true},'
        . '"messages":[{"role":"user","content":"Hi"}]}' ],
    openai_responses => [
        '/openai/v1/responses',
        '{"model":"m","stream":true,"input":"Hi"}' ],
    anthropic_messages => [
        '/anthropic/v1/messages',
        '{"model":"m","max_tokens":1024,"stream":true,'
        . '"messages":[{"role":"user","content":"Hi"}]}' ],
    gemini => [
        '/gemini/v1beta/models/m:streamGenerateContent',
        '{"contents":[{"role":"user","parts":[{"text":"Hi"}]}]}' ],
);

# the error event a stream cut short gets, per API
my %appended = (
    openai_chat_completions => qr/^data: \{"error":.*"code":"stream_interrupted"\}\}\n\ndata: \[DONE\]\n\n\z/s,
    openai_compatible_chat => qr/^data: \{"error":.*"code":"stream_interrupted"\}\}\n\ndata: \[DONE\]\n\n\z/s,
    openai_responses => qr/^event: error\ndata: \{"type":"error","code":"stream_interrupted",[^\n]*\}\n\n\z/s,
    anthropic_messages => qr/^event: error\ndata: \{"type":"error","error":\{"type":"api_error",[^\n]*\}\}\n\n\z/s,
);

my %answers;
my ($intact, $with_usage, $usage_equal) = (0, 0, 0);

for my $rec (@index) {
    my ($uri, $body) = @{ $request{ $rec->{api} } or die "api $rec->{api}" };
    my $file = $rec->{file};
    my $args = "f=$file" . ($rec->{api} eq 'gemini' ? '&alt=sse' : '');

    my $r = $ng->post("$uri?$args", $body);
    $answers{$file} = $r;

    my $want = slurp("$dir/$file");
    my $got = $r->{body} // '';

    my $truncated = grep { $_ eq 'truncated' } @{ $rec->{features} };

    if ($truncated && $appended{ $rec->{api} }) {
        my $ok = $r->{status} eq '200'
                 && substr($got, 0, length $want) eq $want
                 && substr($got, length $want) =~ $appended{ $rec->{api} };
        $intact++ if $ok;
        ok($ok, "$file: the recording's bytes, then one error event of its API")
            or diag("status $r->{status}; got "
                    . length($got) . " bytes, the recording has "
                    . length($want) . "; after it: "
                    . substr($got, length $want, 300));
        next;
    }

    my $ok = $r->{status} eq '200' && $got eq $want;
    $intact++ if $ok;

    ok($ok, "$file: the client gets the recording's bytes") or do {
        my $i = 0;
        $i++ while $i < length($got) && $i < length($want)
                   && substr($got, $i, 1) eq substr($want, $i, 1);
        diag("status $r->{status}; got " . length($got) . " bytes, the "
             . "recording has " . length($want) . "; they differ at byte $i:"
             . "\n  got:  " . $json->encode([substr($got, $i, 200)])
             . "\n  want: " . $json->encode([substr($want, $i, 200)]));
    };
}

# the log lines are written once the requests are over
$ng->stop;

my %logged;

for my $line (split /\n/, slurp("$root/logs/replay.log")) {
    next unless $line =~ /^replay f=(\S+) (.*)$/;
    my ($file, %v) = ($1, map { split /=/, $_, 2 } split / /, $2);
    $logged{$file} = \%v;
}

for my $rec (@index) {
    my $file = $rec->{file};
    my $log = $logged{$file};

    if (!$log) {
        fail("$file: a log line");
        next;
    }

    my $u = $rec->{usage};

    if (!$rec->{has_usage} || !$u || !defined $u->{prompt}
        || !defined $u->{completion})
    {
        is($log->{source}, 'estimate', "$file: no usage in the stream, "
                                       . "estimated");
        next;
    }

    $with_usage++;

    my %want = (prompt => $u->{prompt}, completion => $u->{completion},
                source => 'usage');

    $want{cached} = $u->{cached} if defined $u->{cached};

    if ($rec->{api} eq 'anthropic_messages') {
        # the prompt: input, cache reads and cache writes
        $want{prompt} += ($u->{cached} // 0)
                         + ($rec->{details}{cache_creation_input_tokens} // 0);

    } elsif ($rec->{api} eq 'gemini') {
        # thoughts are output, tool use prompts input
        $want{completion} += $u->{reasoning} // 0;
        $want{reasoning} = $u->{reasoning} if defined $u->{reasoning};
        $want{prompt} += tool_use_prompt(slurp("$dir/$file"));

    } else {
        $want{reasoning} = $u->{reasoning} if defined $u->{reasoning};
    }

    my %got = map { $_ => $log->{$_} } keys %want;

    my $ok = is_deeply(\%got, \%want, "$file: logged usage equals the "
                                      . "recording's");
    $usage_equal++ if $ok;
}

diag(sprintf("recorded streams replayed: %d of %d intact; usage equal to "
             . "the recording's: %d of %d that report it",
             $intact, scalar @index, $usage_equal, $with_usage));

$ng->check_valgrind;

done_testing();


# Gemini: the last usageMetadata's toolUsePromptTokenCount, 0 without one
sub tool_use_prompt {
    my $n = 0;

    for my $data ($_[0] =~ /^data: ?(.*?)\r?$/mg) {
        my $chunk = eval { $json->decode($data) } or next;
        my $u = ref $chunk eq 'HASH' && $chunk->{usageMetadata} or next;
        $n = $u->{toolUsePromptTokenCount} // 0;
    }

    return $n;
}
