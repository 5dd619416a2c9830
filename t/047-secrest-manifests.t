# Secret recall, fourth block (issue 17): Kubernetes Secret manifests (the
# base64 members of the "data:" block of a document whose kind is Secret,
# the "kind:" line before the block or after it, a block scalar), Jenkins
# credential secrets ("{AQAAABAAA...}"), provider prefixes (Shippo,
# BestTime), a provider's name before its key (KuCoin), a base64 value with
# "=" inside, SumoLogic access ids, "curl -u key:"; in a request, in a JSON answer, and in a stream sent one
# character per event (held from the "data:" line until "kind: Secret"
# comes).

use Test::Nginx::Socket 'no_plan';
use FindBin;
use lib "$FindBin::Bin/lib";
use LLMTest::Suite;
use LLMTest::RedactMock qw(by_char contents redact_mock);

$ENV{TEST_NGINX_HTML_DIR} ||= html_dir();

no_shuffle();
no_long_string();
log_level('info');
no_root_location();

# a line break is the JSON escape \\u000a (one event)
(our $StreamText = "apiVersion: v1\ndata:\n  password: UyFCXCpkJHpEc2I9\n"
    . "kind: Secret\n---\n<secret>{AQAAABAAA 2pRMKW=JrG9+xYmqlJMa4Omf9goq}"
    . "</secret> kucoin c19c2539c53367c726a5c04c ok") =~ s/\n/\\\\u000a/g;
our $Stream = by_char($StreamText);

our $Answer = 'apiVersion: v1\\\\nkind: Secret\\\\ndata:\\\\n  tls.key: |\\\\n    '
    . 'LS0tLS1CRUdJTiBQUklWQVRFIEtFWS0tLS0t\\\\ntype: Opaque';

our $Mock = redact_mock(answers => [$Answer], streams => [$Stream]);

our $Gateway = <<'_EOC_';
    location / {
        llm_gateway openai;
        llm_redact request response;
        proxy_pass http://mock;
        access_log logs/error.log llm;
    }
_EOC_

block_defaults(http_config => $Mock, config => $Gateway);

run_tests();

__DATA__

=== TEST 1: request: a Secret's data block (kind before it), Jenkins, prefixes; a ConfigMap and short values stay
--- request
POST /echo/chat/completions
{"model":"gpt-4o-mini","messages":[{"role":"user","content":"apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\ndata:\n  password: UyFCXCpkJHpEc2I9\n  region: YWRtaW4=\n---\nkind: ConfigMap\ndata:\n  key: c2VjcmV0L215c2VjcmV0\n---\n<secret>{AQAAABAAAAAQ2pRMKWJrG9xYmqlJMa4Omf9goqsSqsM3mIaqG8t=}</secret>\nSHIPPO_API_KEY=shippo_live_4f2a9c1e8b7d6a5c3e2f1a0b9c8d7e6f5a4b3c2d, GET /besttime/keys/pri_099889f14d114dfaae476569b395eade"}]}
--- response_body chomp
{"model":"gpt-4o-mini","messages":[{"role":"user","content":"apiVersion: v1\nkind: Secret\n[SECRET]\n  region: YWRtaW4=\n---\nkind: ConfigMap\ndata:\n  key: c2VjcmV0L215c2VjcmV0\n---\n<secret>{[SECRET]}</secret>\nSHIPPO_API_KEY=[SECRET], GET /besttime/keys/[SECRET]"}]}
--- error_log
llm-log: redactions=4 
--- no_error_log
[error]



=== TEST 2: request: the kind after the data block, quoted values, a base64 value with "=" inside
--- request
POST /echo/chat/completions
{"model":"gpt-4o-mini","messages":[{"role":"user","content":"apiVersion: v1\ndata:\n\textra: \"YWRtaW46cGFzc3dvcmQ=\"\nkind: \"secret\"\nand \"getgist_secret\": \"N8Br7K+jbDiuLtKWw9Jd1Gr3OvC+vNSJ=31u\""}]}
--- response_body chomp
{"model":"gpt-4o-mini","messages":[{"role":"user","content":"apiVersion: v1\ndata:\n[SECRET]\"\nkind: \"secret\"\nand \"getgist_secret\": \"[SECRET]\""}]}
--- error_log
llm-log: redactions=2 
--- no_error_log
[error]



=== TEST 3: JSON answer: a block scalar in a Secret's data is masked before the client sees it
--- request
POST /json/chat/completions
{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}
--- response_body_like eval
qr/"content":"apiVersion: v1\\nkind: Secret\\n\[SECRET\]\\ntype: Opaque"/
--- error_log
llm-log: redactions=1 
--- no_error_log
[error]



=== TEST 4: stream, one character per event: the data block is held until "kind: Secret" comes
--- request
POST /split/chat/completions
{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"hi"}]}
--- response_body_filters eval
\&main::contents
--- response_body chomp
apiVersion: v1
data:
[SECRET]
kind: Secret
---
<secret>{AQAAABAAA [SECRET]}</secret> kucoin [SECRET] ok
--- error_log
llm-log: redactions=3 
--- no_error_log
[error]
[warn]



=== TEST 5: stream, one character per event: no piece of a value reaches the client
--- request
POST /split/chat/completions
{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"hi"}]}
--- response_body_unlike eval
qr/UyFC|Ec2I9|2pRM|JrG9|Mgoq|c19c|a5c04c/



=== TEST 6: request: SumoLogic access ids, an API key as curl's user; look-alikes stay
--- request
POST /echo/chat/completions
{"model":"gpt-4o-mini","messages":[{"role":"user","content":"sumologic_access_id = \"sug5XpdpaoxtOH\", curl -u \"d2LkV78zLx7t:\" https://localhost:9200. Not: sumo wrestling, sumo_id: superstitious, curl -u admin: x"}]}
--- response_body chomp
{"model":"gpt-4o-mini","messages":[{"role":"user","content":"sumologic_access_id = \"[SECRET]\", curl -u \"[SECRET]\" https://localhost:9200. Not: sumo wrestling, sumo_id: superstitious, curl -u admin: x"}]}
--- error_log
llm-log: redactions=2 
--- no_error_log
[error]
