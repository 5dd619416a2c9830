# Large bodies: a 50 MB prompt is read from its temp file, parsed and sent
# on whole; a body over the limit is refused before it is forwarded.

use Test::Nginx::Socket 'no_plan';
use FindBin;
use lib "$FindBin::Bin/lib";
use LLMTest::Suite;

$ENV{TEST_NGINX_HTML_DIR} ||= html_dir();

no_shuffle();
no_long_string();
no_root_location();

our $Words = 4_400_000;
our $Body = "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\""
            . ("lorem ipsum " x $Words) . "\"}]}";

add_block_preprocessor(sub {
    my $block = shift;

    $block->set_value("http_config", <<'_EOC_');
    upstream mock {
        server unix:$TEST_NGINX_HTML_DIR/mock.sock;
    }

    server {
        listen unix:$TEST_NGINX_HTML_DIR/mock.sock;
        access_log off;
        client_max_body_size 100m;

        location / {
            return 200 "received $http_content_length\n";
        }
    }
_EOC_
});

run_tests();

__DATA__

=== TEST 1: a 50 MB body is parsed and forwarded whole
--- config
    location / {
        client_max_body_size 64m;
        llm_gateway openai;
        proxy_pass http://mock;
        add_header X-Prompt-Tokens $llm_prompt_tokens;
        add_header X-Model $llm_model;
    }
--- request eval
"POST /v1/chat/completions\n$::Body"
--- timeout: 60
--- response_body eval
"received " . length($::Body) . "\n"
--- response_headers
X-Model: m
--- raw_response_headers_like: \r\nX-Prompt-Tokens: \d{7}\r\n
--- error_log
a client request body is buffered to a temporary file



=== TEST 2: the same body over client_max_body_size is refused, never forwarded
--- no_error_log
[alert]
[crit]
[emerg]
--- config
    location / {
        client_max_body_size 10m;
        llm_gateway openai;
        proxy_pass http://mock;
    }
--- request eval
"POST /v1/chat/completions\n$::Body"
--- timeout: 60
--- error_code: 413
