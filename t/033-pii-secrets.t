# Secrets of issue 17 through nginx: a random token after a word that
# names a credential (the context detector) and the look-alikes it leaves
# alone, URLs with a password in every form (an empty user, "@" in the
# password, no scheme), JDBC URLs and connection strings, curl -u, Slack
# tokens with repeated digits, Azure AD client secrets: in a request, in a
# JSON answer, and in a stream sent one character per event.  TESTs 7 to
# 10: the second block (a provider's name before a token, more documented
# prefixes, Azure SAS, Bundler, passwords in configuration files, Zapier
# hooks, "key:secret" pairs).

use Test::Nginx::Socket 'no_plan';
use FindBin;
use lib "$FindBin::Bin/lib";
use LLMTest::Suite;
use LLMTest::RedactMock ':all';
use JSON::PP ();

$ENV{TEST_NGINX_HTML_DIR} ||= html_dir();

no_shuffle();
no_long_string();
log_level('info');
no_root_location();

our $Stream = by_char('key=zoaw0c0m50m0hz2h1fm21y4tqfyl7ifi, '
    . 'plivo token - qFj32Da8vf-g_-8qLu9P_k8XPyAHGrvKrzGTQIN4, '
    . 'db postgres://admin:P@ssw0rd@db:5432/app, '
    . 'slack xoxa-2-511111111-31111111111-3111111111111-e039d02840a0b9379c, '
    . 'client_secret: .IQ8Q~79R7TOWOspFnWcEG-dYt4KXqFqxK16cxr, '
    . 'curl -u elastic:P@ssw0rd!1 https://x, '
    . 'Server=db;User ID=sa;Password=Sup3r!ecret;Encrypt=True, ok');

our $Answer = 'Use KEY=zoaw0c0m50m0hz2h1fm21y4tqfyl7ifi or <secret>{airship '
    . 'AQAAABAAA xTiPNSDg6JjzG8fWoLb8JlE8SBcMKkCx2fZLZD91}</secret>; '
    . 'db redis://:s3cr3tpass@cache:6379/0 or admin:s3cret@db.example.com:5432/app '
    . 'or jdbc:oracle:thin:scott/tiger@dbhost:1521:orcl; '
    . 'slack xoxa-2-511111111-31111111111-3111111111111-e039d02840a0b9379c; '
    . 'azure .IQ8Q~79R7TOWOspFnWcEG-dYt4KXqFqxK16cxr. Not the key fingerprint '
    . 'SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s nor token id '
    . '9f0c2b7e-4d1a-4e8b-9c3f-5a6b7c8d9e0f.';

our $Stream2 = by_char('datadog: HAZt9xslXTTIQrh6bpy0VAq3GZuO2R8U, '
    . 'NRAK-DRG7ABH4TNGB38OBZH1D8DM8QRW, '
    . 'sas sv=2022-11-02&sp=r&sig=GP5HYb5IuBBneTofyTPDAwub%2Be601Q7hdlivKWetKxQ%3D, '
    . 'BUNDLE_GEMS__EXAMPLE__COM=deploy:f00dcafe, password = rootpw42!x, '
    . 'token = 1Vk6U2v7uFoKD90sPVOTAnkKMB647t:DItOdTXYHVvi99uc, '
    . 'zap https://hooks.zapier.com/hooks/catch/2599593/r22hib/ ok');

our $Answer2 = 'new relic ziJdi0Y4mj4TIJZ9RnvIh4TOetAf; '
    . 'sgp_82f04cfc56843619aa15d298cf22778591fcf7de; '
    . 'oc login --token=sha256~mx-dH8qzuGsepL4glLHNWHedKjhJLS9BnfVV95Q-UCb; '
    . 'DB_PWD=s3cr3t!x9 # prod; not github commit '
    . '3f9a2c7e1b4d8f6a0c5e9b2d7f1a3c8e6b4d0f2a nor password: required.';

# a quoted 12 to 15 character token after a credential word, on the
# line after a key; \\u000a is a line break, \\u0022 a quote (one event
# each)
our $Stream3 = by_char('acme key: 7X8s51fbLtByHwiUmrCaoND5bgfTFAbG\\\\u000a'
    . 'ipinfo token = \\\\u0022bb9a2f5fe555a6\\\\u0022 ok');

our $Answer3 = 'acme key: 7X8s51fbLtByHwiUmrCaoND5bgfTFAbG\\\\n'
    . 'ipinfo token = \\\\"bb9a2f5fe555a6\\\\" ok; not: order id: 1wdncxln, '
    . 'token = \\\\"refreshed\\\\"';

# a URL whose password has the longest length a URL's pattern takes (128)
# and a character that ends a run (";"), one character per event
our $Pw128 = ('k3Vq9ZrT7wLm2Xb8NcP4hJd6FsY1gR5t' x 3)
    . 'k3Vq9ZrT7wLm2Xb8NcP4hJd;6FsY1gR5';
our $Stream4 = by_char("db postgres://app:$Pw128\@db.internal:5432/app ok");

our $Mock = redact_mock(answers => [$Answer, $Answer2, $Answer3],
                       streams => [$Stream, $Stream2, $Stream3, $Stream4]);

our $Gateway = $RedactGateway;

block_defaults(http_config => $Mock, config => $Gateway);

run_tests();

__DATA__

=== TEST 1: request: a random token after a word that names a credential; hashes, ids and fingerprints next to such a word are left alone
--- request
POST /echo/chat/completions
{"model":"gpt-4o-mini","messages":[{"role":"user","content":"[DEBUG] Using adobe KEY=zoaw0c0m50m0hz2h1fm21y4tqfyl7ifi\nplivo token - 'qFj32Da8vf-g_-8qLu9P_k8XPyAHGrvKrzGTQIN4'\n<secret>{airship AQAAABAAA xTiPNSDg6JjzG8fWoLb8JlE8SBcMKkCx2fZLZD91}</secret>\nconst hubspotKey = \"3f6c1e9a-52b7-4d0e-9a8c-7e21b4d5f093\";\nAuthorization: Basic YnJvd3Nlcjo=\nthe key fingerprint is SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s, token id 9f0c2b7e-4d1a-4e8b-9c3f-5a6b7c8d9e0f, cache key: node-modules-3f2a9c8b7e6d5f4a3b2c1d0e9f8a7b6c5d4e3f2a, fixed the token refresh in commit 3f2a9c8b7e6d5f4a3b2c1d0e9f8a7b6c5d4e3f2a, public key: AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"}]}
--- response_body chomp
{"model":"gpt-4o-mini","messages":[{"role":"user","content":"[DEBUG] Using adobe KEY=[SECRET]\nplivo token - '[SECRET]'\n<secret>{airship AQAAABAAA [SECRET]}</secret>\nconst hubspotKey = \"[SECRET]\";\nAuthorization: Basic [SECRET]\nthe key fingerprint is SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s, token id 9f0c2b7e-4d1a-4e8b-9c3f-5a6b7c8d9e0f, cache key: node-modules-3f2a9c8b7e6d5f4a3b2c1d0e9f8a7b6c5d4e3f2a, fixed the token refresh in commit 3f2a9c8b7e6d5f4a3b2c1d0e9f8a7b6c5d4e3f2a, public key: AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"}]}
--- error_log
llm-log: redactions=5 
--- no_error_log
[error]



=== TEST 2: request: URLs with a password in every form, JDBC URLs, connection strings, curl -u
--- request
POST /echo/chat/completions
{"model":"gpt-4o-mini","messages":[{"role":"user","content":"db postgres://admin:P@ssw0rd@db:5432/app, cache redis://:s3cr3tpass@cache:6379/0, bare admin:s3cret@db.example.com:5432/app, mongo mongodb+srv://admin:Pa$$w0rd!@cluster0.abcde.mongodb.net/test, pct postgres://app:p%40ss%3Aword@db/app\nurl=jdbc:sqlserver://db:1433;user=sa;password=P@ssw0rd!;encrypt=true\njdbc:oracle:thin:scott/tiger@dbhost:1521:orcl\nServer=db;User ID=sa;Password=Sup3r$ecret!;Encrypt=True\ncurl -u elastic:P@ssw0rd$1 https://localhost:9200\nNot: http://localhost:8080/x, jdbc:mysql://localhost:3306/db?useSSL=false, Uid=sa;Pwd={your_password};, docker run -u 1000:1000 img, git push -u origin main"}]}
--- response_body chomp
{"model":"gpt-4o-mini","messages":[{"role":"user","content":"db [SECRET], cache [SECRET], bare [SECRET], mongo [SECRET], pct [SECRET]\nurl=[SECRET]\n[SECRET]\n[SECRET]\ncurl -u [SECRET] https://localhost:9200\nNot: http://localhost:8080/x, jdbc:mysql://localhost:3306/db?useSSL=false, Uid=sa;Pwd={your_password};, docker run -u 1000:1000 img, git push -u origin main"}]}
--- error_log
llm-log: redactions=9 
--- no_error_log
[error]



=== TEST 3: request: Slack tokens with repeated digits, Azure AD client secrets; placeholders are left alone
--- request
POST /echo/chat/completions
{"model":"gpt-4o-mini","messages":[{"role":"user","content":"slack xoxa-2-511111111-31111111111-3111111111111-e039d02840a0b9379c, client_secret: .IQ8Q~79R7TOWOspFnWcEG-dYt4KXqFqxK16cxr, (QtT8Q~9C-_Ij~RouHVpD2Tuf3oHWGh.DQ3kcjbAn). Not: xoxe.xoxp-1-RANDOMSTRINGHERE, xoxe.xoxp-1-SlackAppConfigurationAccessTokenHere"}]}
--- response_body chomp
{"model":"gpt-4o-mini","messages":[{"role":"user","content":"slack [SECRET], client_secret: [SECRET], ([SECRET]). Not: xoxe.xoxp-1-RANDOMSTRINGHERE, xoxe.xoxp-1-SlackAppConfigurationAccessTokenHere"}]}
--- error_log
llm-log: redactions=3 
--- no_error_log
[error]



=== TEST 4: JSON answer: the secrets are masked before the client sees them, the look-alikes are not
--- request
POST /json/chat/completions
{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}
--- response_body_like eval
qr/"content":"Use KEY=\[SECRET\] or <secret>\{airship AQAAABAAA \[SECRET\]\}<\/secret>; db \[SECRET\] or \[SECRET\] or \[SECRET\]; slack \[SECRET\]; azure \[SECRET\]\. Not the key fingerprint SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s nor token id 9f0c2b7e-4d1a-4e8b-9c3f-5a6b7c8d9e0f\."/
--- error_log
llm-log: redactions=7 
--- no_error_log
[error]



=== TEST 5: stream, one character per event: each secret is seen whole
--- request
POST /split/chat/completions
{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"hi"}]}
--- response_body_filters eval
\&main::contents
--- response_body chomp
key=[SECRET], plivo token - [SECRET], db [SECRET], slack [SECRET], client_secret: [SECRET], curl -u [SECRET] https://x, [SECRET] ok
--- error_log
llm-log: redactions=7 
--- no_error_log
[error]
[warn]



=== TEST 6: stream, one character per event: no piece of a secret reaches the client
--- request
POST /split/chat/completions
{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"hi"}]}
--- response_body_unlike eval
qr/zoaw|7ifi|qFj3|QIN4|admin|ssw0|e039|a0b9379c|IQ8Q|16cxr|elastic|Sup3r/
--- no_error_log
[error]



=== TEST 7: request: a provider's name before a token, documented prefixes, Azure SAS, Bundler, Tableau, passwords in configuration files, key:secret pairs; look-alikes left alone
--- request
POST /echo/chat/completions
{"model":"gpt-4o-mini","messages":[{"role":"user","content":"datadog: HAZt9xslXTTIQrh6bpy0VAq3GZuO2R8U\nnew relic 'ziJdi0Y4mj4TIJZ9RnvIh4TOetAf'\nBBDC-8s0Rc3VgTg9VaZEoBFUhIiJyqGNSOvQmIQbgSc7I8gzN\nsgp_82f04cfc56843619aa15d298cf22778591fcf7de 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 NRAK-DRG7ABH4TNGB38OBZH1D8DM8QRW\npat.S1ZaRkeKPPpQqF-K4pGFj1.96fb46492dec445af9d27547.BJuIWCWGZis8pFqGmxaO HRKU-pQ-j3lWFvjLjKR7PttINXPs3nGEBBV3WIkNZAObehT_Z2HM5u1ByAUzDWj6z da2-w6i42fip1zozy5vpuynl5a4g04\noc login --token=sha256~mx-dH8qzuGsepL4glLHNWHedKjhJLS9BnfVV95Q-UCb\nfb EAAIPDtM7hU3L1QjW9eRuRc2j178KRm3sVAYfg0WyZdFGAAZWRqKpKGVzMiXVo3v1oQuEuY7nNg1nWHDnCBx0BNdm9hpaqd4q3Tx1ByTcIJH8XabOIWuSLuZYQ4\n5iDGjTC6La4alyyQSzgrmm==:jTbM88DujEo9BSxqTU5CEflgpFptgqHU\nhttps://acct.blob.core.windows.net/c/f.txt?sv=2022-11-02&ss=b&sp=r&se=2026-01-01T00:00:00Z&sig=GP5HYb5IuBBneTofyTPDAwub%2Be601Q7hdlivKWetKxQ%3D\nexport BUNDLE_GEMS__EXAMPLE__COM=deploy:f00dcafe\npassword       = \"rootpw42\"\nadmin_password: 'Tr0ub4dor&3'\ntoken = '1Vk6U2v7uFoKD90sPVOTAnkKMB647t:DItOdTXYHVvi99uc'\nPOST https://hooks.zapier.com/hooks/catch/2599593/r22hib/\nNot: github commit 3f9a2c7e1b4d8f6a0c5e9b2d7f1a3c8e6b4d0f2a, github.com/ziJdi0Y4mj4TIJZ9RnvIh4TOetAf, stripe customer cus_ziJdi0Y4mj4TIJZ9Rn, sentry event id 9f1c2b7a4e8d4c3bb5a6f0e1d2c3b4a5, datadog ID=ziJdi0Y4mj4TIJZ9RnvIh4TOetAf, password: required, password = \"changeme\", password_file = \"/run/secrets/db1\""}]}
--- response_body chomp
{"model":"gpt-4o-mini","messages":[{"role":"user","content":"datadog: [SECRET]\nnew relic '[SECRET]'\n[SECRET]\n[SECRET] [SECRET] [SECRET]\n[SECRET] [SECRET] [SECRET]\noc login --token=[SECRET]\nfb [SECRET]\n[SECRET]\n[SECRET]?[SECRET]\nexport BUNDLE_GEMS__EXAMPLE__COM=[SECRET]\npassword       = \"[SECRET]\"\nadmin_password: '[SECRET]'\ntoken = '[SECRET]'\nPOST [SECRET]\nNot: github commit 3f9a2c7e1b4d8f6a0c5e9b2d7f1a3c8e6b4d0f2a, github.com/ziJdi0Y4mj4TIJZ9RnvIh4TOetAf, stripe customer cus_ziJdi0Y4mj4TIJZ9Rn, sentry event id 9f1c2b7a4e8d4c3bb5a6f0e1d2c3b4a5, datadog ID=ziJdi0Y4mj4TIJZ9RnvIh4TOetAf, password: required, password = \"changeme\", password_file = \"/run/secrets/db1\""}]}
--- error_log
llm-log: redactions=19 
--- no_error_log
[error]



=== TEST 8: JSON answer: the second block's secrets are masked, the look-alikes are not
--- request
POST /json2/chat/completions
{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}
--- response_body_like eval
qr/"content":"new relic \[SECRET\]; \[SECRET\]; oc login --token=\[SECRET\]; DB_PWD=\[SECRET\] # prod; not github commit 3f9a2c7e1b4d8f6a0c5e9b2d7f1a3c8e6b4d0f2a nor password: required\."/
--- error_log
llm-log: redactions=4 
--- no_error_log
[error]



=== TEST 9: stream, one character per event: the second block's secrets are seen whole
--- request
POST /split2/chat/completions
{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"hi"}]}
--- response_body_filters eval
\&main::contents
--- response_body chomp
datadog: [SECRET], [SECRET], sas [SECRET], BUNDLE_GEMS__EXAMPLE__COM=[SECRET], password = [SECRET], token = [SECRET], zap [SECRET] ok
--- error_log
llm-log: redactions=7 
--- no_error_log
[error]
[warn]



=== TEST 10: stream, one character per event: no piece of the second block's secrets reaches the client
--- request
POST /split2/chat/completions
{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"hi"}]}
--- response_body_unlike eval
qr/HAZt|R8U|NRAK|QRW|GP5H|KxQ|deploy|f00d|rootpw|x9|1Vk6|vi99|2599593|r22hib/
--- no_error_log
[error]



=== TEST 11: request: a quoted 12-character token after a credential word; short words and ids are left alone
--- request
POST /echo/chat/completions
{"model":"gpt-4o-mini","messages":[{"role":"user","content":"acme key: 7X8s51fbLtByHwiUmrCaoND5bgfTFAbG\nipinfo token = '3fa77bb6fe6d85'\nNot: order id: 1wdncxln, cache key: 7X8s51fbLtByHwiUmrCaoND5bgfTFAbG\nhost: db01.example.org, token = 'refreshed'"}]}
--- response_body chomp
{"model":"gpt-4o-mini","messages":[{"role":"user","content":"acme key: [SECRET]\nipinfo token = '[SECRET]'\nNot: order id: 1wdncxln, cache key: 7X8s51fbLtByHwiUmrCaoND5bgfTFAbG\nhost: db01.example.org, token = 'refreshed'"}]}
--- error_log
llm-log: redactions=2 
--- no_error_log
[error]



=== TEST 12: JSON answer: a quoted 12-character token
--- request
POST /json3/chat/completions
{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}
--- response_body_like eval
qr/"content":"acme key: \[SECRET\]\\nipinfo token = \\"\[SECRET\]\\" ok; not: order id: 1wdncxln, token = \\"refreshed\\""/
--- error_log
llm-log: redactions=2 
--- no_error_log
[error]



=== TEST 13: stream, one character per event: a quoted 12-character token, whole
--- request
POST /split3/chat/completions
{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"hi"}]}
--- response_body_filters eval
\&main::contents
--- response_body chomp
acme key: [SECRET]
ipinfo token = "[SECRET]" ok
--- error_log
llm-log: redactions=2 
--- no_error_log
[error]
[warn]



=== TEST 14: stream, one character per event: no piece of the key or the short token reaches the client
--- request
POST /split3/chat/completions
{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"hi"}]}
--- response_body_unlike eval
qr/7X8s|FAbG|bb9a|55a6/
--- no_error_log
[error]



=== TEST 15: stream, one character per event: a URL with a 128-character password is redacted whole, no piece of it reaches the client
--- request
POST /split4/chat/completions
{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"hi"}]}
--- response_body_filters eval
\&main::contents
--- response_body chomp
db [SECRET] ok
--- error_log
llm-log: redactions=1 
--- no_error_log
[error]
[warn]
