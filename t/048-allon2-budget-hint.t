# Budget lookups through each worker's hints (the node last found for a
# key's slot, tried before the walk of the zone's tree): two keys of one
# slot keep their own levels, and a hint whose node an eviction gave to
# another key is not taken for the old key's node.
#
# The slot of a key is the low 12 bits of the first 8 bytes of its SHA-1,
# read as a little-endian number: "hint-a" and "hint-b144" share slot 73
# (python3 -c 'import hashlib,struct; print([struct.unpack("<Q",
# hashlib.sha1(k.encode()).digest()[:8])[0] & 4095 for k in ("hint-a",
# "hint-b144")])').

use Test::Nginx::Socket 'no_plan';
use FindBin;
use lib "$FindBin::Bin/lib";
use LLMTest::Suite;

$ENV{TEST_NGINX_HTML_DIR} ||= html_dir();

no_shuffle();
no_long_string();
no_root_location();
log_level('info');

our $Mock = <<'_EOC_';
    llm_model gpt-4o-mini upstream=mock input=1.00 output=1000.00;

    llm_budget_zone $http_x_key zone=per_key:1m tokens=1000/h;
    llm_budget_zone $http_x_key zone=tiny:32k tokens=1000/h;

    upstream mock {
        server unix:$TEST_NGINX_HTML_DIR/mock.sock;
    }

    server {
        listen unix:$TEST_NGINX_HTML_DIR/mock.sock;
        access_log off;

        location /json/ {
            default_type application/json;
            echo_read_request_body;
            echo '{"id":"c","choices":[{"index":0,"message":{"role":"assistant","content":"ok"}}],"usage":{"prompt_tokens":20,"completion_tokens":30,"total_tokens":50}}';
        }

        location /error/ {
            default_type application/json;
            echo_read_request_body;
            echo_status 500;
            echo '{"error":{"message":"boom","type":"server_error"}}';
        }
    }
_EOC_

our $Req = "{\"model\":\"gpt-4o-mini\",\"max_tokens\":100,\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}";

# enough keys that used nothing to fill the 32k zone several times over
our $Fill = 400;

block_defaults(http_config => $Mock);

run_tests();

__DATA__

=== TEST 1: two keys of one hint slot keep their own levels
--- config
    location / {
        llm_gateway openai;
        llm_budget per_key;
        proxy_pass http://mock;
    }
--- request eval
["POST /json/chat/completions\n$::Req", "POST /json/chat/completions\n$::Req",
 "POST /json/chat/completions\n$::Req", "POST /json/chat/completions\n$::Req",
 "POST /json/chat/completions\n$::Req"]
--- more_headers eval
["X-Key: hint-a", "X-Key: hint-b144", "X-Key: hint-a", "X-Key: hint-b144",
 "X-Key: hint-a"]
--- error_code eval
[200, 200, 200, 200, 200]
--- response_headers_like eval
["x-ratelimit-remaining-tokens: ^8[89]\\d\$", "x-ratelimit-remaining-tokens: ^8[89]\\d\$",
 "x-ratelimit-remaining-tokens: ^8[34]\\d\$", "x-ratelimit-remaining-tokens: ^8[34]\\d\$",
 "x-ratelimit-remaining-tokens: ^7[89]\\d\$"]



=== TEST 2: a hint whose node was evicted and given to another key is not the old key's node
The zone is filled with keys that used nothing (their answers failed), then
"stale-a" fails too: the last key that used nothing, the first evicted.
"stale-z", new in the full zone, takes its node and uses 50 tokens; then
"stale-a" again: its hint names the node that now holds "stale-z", and it
gets a node of its own with a full bucket, not stale-z's level.  The status
page shows that keys were evicted.
--- config
    location / {
        llm_gateway openai;
        llm_budget tiny;
        proxy_pass http://mock;
    }

    location = /status {
        llm_status;
    }
--- request eval
[(map { "POST /error/chat/completions\n$::Req" } 1 .. $::Fill),
 "POST /error/chat/completions\n$::Req",
 "POST /json/chat/completions\n$::Req",
 "POST /json/chat/completions\n$::Req",
 "GET /status?format=json"]
--- more_headers eval
[(map { "X-Key: fill-$_" } 1 .. $::Fill),
 "X-Key: stale-a", "X-Key: stale-z", "X-Key: stale-a", ""]
--- error_code eval
[(map { 500 } 1 .. $::Fill), 500, 200, 200, 200]
--- response_headers_like eval
[(map { "x-ratelimit-limit-tokens: ^1000\$" } 1 .. $::Fill),
 "x-ratelimit-limit-tokens: ^1000\$",
 "x-ratelimit-remaining-tokens: ^8[89]\\d\$",
 "x-ratelimit-remaining-tokens: ^8[89]\\d\$",
 "Content-Type: ^application/json\$"]
--- response_body_like eval
[(map { "boom" } 1 .. $::Fill), "boom", "\"ok\"", "\"ok\"",
 qr/"tiny":\{"admitted":\d+,"refused":0,"keys":\d+,"evicted":[1-9]\d*,"full":0\}/]
