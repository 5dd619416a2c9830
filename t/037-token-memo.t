# The worker's memo of token counts (ngx_http_llm_tokenizer.c): a chat
# client re-sends its history, the memo answers for the texts counted
# before, and every figure is the one counted without it: the prompt
# estimate, the budget charged, $llm_tokens_source; a text of the same
# length that differs in one byte is counted, not taken from the memo.
#
# The estimated figures are those of a build without the memo (the base
# 425716b, or -DNGX_HTTP_LLM_NO_TOKEN_MEMO); the exact ones are computed
# when the test starts, by gpt-tokenizer (build/npm, make tokenizers),
# and those blocks skip without it.  The debug lines "llm token memo
# hit/store" show that the memo served (nginx built --with-debug).

use Test::Nginx::Socket;
use FindBin;
use lib "$FindBin::Bin/lib";
use LLMTest::Suite;
use File::Basename qw(dirname);
use File::Spec;
use JSON::PP ();
use Encode ();

my $root = File::Spec->rel2abs(dirname(__FILE__) . '/..');
my $npm = "$root/build/npm";

$ENV{TEST_NGINX_TOKENIZERS} = "$root/build/tokenizers";
$ENV{TEST_NGINX_HTML_DIR} ||= html_dir();

our $Exact = -f "$root/build/tokenizers/o200k_base.tiktoken"
             && -d "$npm/node_modules/gpt-tokenizer"
             && system('node --version >/dev/null 2>&1') == 0;

plan('no_plan');

no_shuffle();
no_long_string();
no_root_location();
log_level('debug');

# texts of 300 to 600 bytes, words from a fixed generator

sub text {
    my ($seed, $len) = @_;
    my @w = qw(the gateway counts tokens of every message before it goes
               upstream budget reserve conversation history assistant user
               system prompt answer streaming cache worker nginx module
               résumé naïve 東京 данные 42 1234 x86_64 foo_bar);
    my ($s, $t) = ($seed, '');
    while (length($t) < $len) {
        $s = ($s * 1103515245 + 12345) % 4294967296;
        $t .= ($t eq '' ? '' : ' ') . $w[int($s / 65536) % @w];
    }
    return substr($t, 0, $len);
}

our @T = (text(1, 420), text(2, 300), text(3, 512), text(4, 333),
          text(5, 600), text(6, 380));

# the last user message again, one byte changed (same length): "e" -> "3"
our $V = $T[5];
substr($V, index($V, 'e'), 1) = '3';
die "the variant must differ" if $V eq $T[5] || length($V) != length($T[5]);

# their lengths in the JSON bodies (UTF-8)

our @Bytes = map { length(Encode::encode_utf8($_)) } @T;

our @Roles = qw(system user assistant user assistant user);

my $json = JSON::PP->new->utf8->canonical;

sub body {
    my ($model, @texts) = @_;
    my $i = 0;
    return $json->encode({ model => $model, max_tokens => 10, messages => [
        map { { role => $Roles[$i++], content => $_ } } @texts ] });
}

# a conversation of three turns, then the variant alone, then the last
# user message alone (it must count differently)

sub requests {
    my ($model) = @_;
    return [ "POST /json/chat/completions\n" . body($model, @T[0 .. 1]),
             "POST /json/chat/completions\n" . body($model, @T[0 .. 3]),
             "POST /json/chat/completions\n" . body($model, @T[0 .. 5]),
             "POST /json/chat/completions\n" . body($model, $V),
             "POST /json/chat/completions\n" . body($model, $T[5]) ];
}

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

    my $tmp = "$root/build/tokenizer";
    mkdir $tmp;
    open my $fh, '>', "$tmp/037.json" or die $!;
    print $fh JSON::PP->new->utf8->encode(\@texts);
    close $fh;

    open my $p, '-|', 'node', '-e', $js, $npm, $enc, "$tmp/037.json"
        or die "node: $!";
    my $out = do { local $/; <$p> };
    close $p or die "node failed";

    return split ' ', $out;
}

# exact prompts: 3 for the reply, 4 per message (docs/estimator.md)

our @ExactPrompts;

if ($Exact) {
    my @c = ref_counts('o200k_base', @T, $V);
    die "the variant must count differently" if $c[6] == $c[5];
    my $sum = sub { my $n = 3; $n += 4 + $c[$_] for @_; $n };
    @ExactPrompts = ($sum->(0 .. 1), $sum->(0 .. 3), $sum->(0 .. 5),
                     $sum->(6), $sum->(5));
}

# the estimates without the memo (425716b gives the same)

our @EstPrompts = (241, 546, 852, 102, 100);

# [T0, T1, T0]
our $EstRepeat = 392;

sub headers {
    my ($source, $prompts) = @_;
    return [ map { "X-Prompt-Tokens: $_\nX-Tokens-Source: $source" }
             @$prompts ];
}

our $Mock = <<'_EOC_';
    log_format llm 'llm-log: prompt=$llm_prompt_tokens source=$llm_tokens_source';

    llm_model estimated-model upstream=mock;

    llm_budget_zone $http_x_key zone=per_key:1m tokens=100000/h;

    upstream mock {
        server unix:$TEST_NGINX_HTML_DIR/mock.sock;
    }

    server {
        listen unix:$TEST_NGINX_HTML_DIR/mock.sock;
        access_log off;

        location /json/ {
            default_type application/json;
            echo_read_request_body;
            echo '{"id":"c","choices":[{"index":0,"message":{"role":"assistant","content":"ok"}}]}';
        }
    }
_EOC_

# the exact model, where the rank file is there

$Mock .= "    llm_tokenizer o200k_base \$TEST_NGINX_TOKENIZERS/o200k_base.tiktoken;\n"
         . "    llm_model gpt-4o upstream=mock tokenizer=o200k_base;\n"
    if $Exact;

our $Gateway = <<'_EOC_';
    location / {
        llm_gateway openai;
        llm_budget per_key;
        proxy_pass http://mock;
        access_log logs/error.log llm;
        add_header X-Prompt-Tokens $llm_prompt_tokens;
        add_header X-Tokens-Source $llm_tokens_source;
    }
_EOC_

block_defaults(http_config => $Mock, config => $Gateway);

run_tests();

__DATA__

=== TEST 1: estimates: a re-sent history is taken from the memo, the figures are those counted without it, a same-length variant is counted
--- more_headers
X-Key: k1
--- request eval
main::requests('estimated-model')
--- error_code eval
[200, 200, 200, 200, 200]
--- response_headers eval
main::headers('estimate', \@::EstPrompts)



=== TEST 2: exact counts (o200k_base): the same, against gpt-tokenizer
--- skip_eval
4: !$::Exact
--- more_headers
X-Key: k2
--- request eval
main::requests('gpt-4o')
--- error_code eval
[200, 200, 200, 200, 200]
--- response_headers eval
main::headers('exact', \@::ExactPrompts)



=== TEST 3: the memo answers for a text counted before (fails without it): the system prompt repeated in one request
--- more_headers
X-Key: k3
--- request eval
"POST /json/chat/completions\n" . main::body('estimated-model', @::T[0, 1, 0])
--- error_code: 200
--- response_headers eval
"X-Prompt-Tokens: $::EstRepeat"
--- error_log eval
[qr/llm token memo store: $::Bytes[0] bytes/,
 qr/llm token memo store: $::Bytes[1] bytes/,
 qr/llm token memo hit: $::Bytes[0] bytes, \d+ tokens \(estimate\)/]
