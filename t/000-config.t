# nginx -t catches bad llm_* configuration with a message naming the
# directive and the problem.

use Test::Nginx::Socket 'no_plan';
use FindBin;
use lib "$FindBin::Bin/lib";
use LLMTest::Suite;

no_shuffle();

run_tests();

__DATA__

=== TEST 1: a good configuration starts
--- http_config
    llm_model gpt-4o-mini upstream=api.openai.com input=0.15 output=0.60 cached_input=0.075;
    llm_model * upstream=127.0.0.1:8081;
--- config
    location /v1/ {
        llm_gateway openai;
        llm_stream on;
        llm_stream_usage off;
        return 200 "ok\n";
    }
--- request
GET /v1/models
--- response_body
ok



=== TEST 2: llm_gateway with an unknown API
--- config
    location /v1/ {
        llm_gateway cohere;
    }
--- must_die
--- error_log
invalid value "cohere" in "llm_gateway" directive, it must be "off", "openai", "anthropic" or "gemini"



=== TEST 3: llm_model without upstream=
--- http_config
    llm_model gpt-4o-mini input=1;
--- config
    location = /t {
        return 200;
    }
--- must_die
--- error_log
llm_model "gpt-4o-mini": "upstream=" is required



=== TEST 4: llm_model with a bad price
--- http_config
    llm_model gpt-4o-mini upstream=api.openai.com input=cheap;
--- config
    location = /t {
        return 200;
    }
--- must_die
--- error_log
llm_model "gpt-4o-mini": invalid price "input=cheap"



=== TEST 5: llm_model with a negative price
--- http_config
    llm_model gpt-4o-mini upstream=api.openai.com output=-1;
--- config
    location = /t {
        return 200;
    }
--- must_die
--- error_log
llm_model "gpt-4o-mini": invalid price "output=-1"



=== TEST 6: llm_model with an unknown parameter
--- http_config
    llm_model gpt-4o-mini upstream=api.openai.com weight=3;
--- config
    location = /t {
        return 200;
    }
--- must_die
--- error_log
llm_model "gpt-4o-mini": invalid parameter "weight=3"



=== TEST 7: a duplicate llm_model
--- http_config
    llm_model gpt-4o-mini upstream=a.example.com;
    llm_model gpt-4o-mini upstream=b.example.com;
--- config
    location = /t {
        return 200;
    }
--- must_die
--- error_log
llm_model "gpt-4o-mini" is duplicate



=== TEST 8: upstream= naming no upstream block
--- http_config
    llm_model gpt-4o-mini upstream=openai_backend;
--- config
    location = /t {
        return 200;
    }
--- must_die
--- error_log
llm_model "gpt-4o-mini": no upstream block named "openai_backend"



=== TEST 9: upstream= naming an upstream block
--- http_config
    upstream openai_backend {
        server 127.0.0.1:1;
    }
    llm_model gpt-4o-mini upstream=openai_backend;
--- config
    location = /t {
        return 200 "ok\n";
    }
--- request
GET /t
--- response_body
ok



=== TEST 10: llm_model is not allowed in a location
--- config
    location /v1/ {
        llm_model gpt-4o-mini upstream=api.openai.com;
    }
--- must_die
--- error_log
"llm_model" directive is not allowed here



=== TEST 11: llm_stream takes on or off
--- config
    location /v1/ {
        llm_gateway openai;
        llm_stream maybe;
    }
--- must_die
--- error_log
invalid value "maybe" in "llm_stream" directive, it must be "on" or "off"
