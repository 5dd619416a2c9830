package LLMTest::Features;

# Which features the module under test was built with (config's
# LLM_WITHOUT_BUDGET, LLM_WITHOUT_CACHE, LLM_WITHOUT_REDACT,
# LLM_WITHOUT_ROUTE, LLM_WITHOUT_STATUS, or no Hyperscan): the
# ngx_http_llm_module.so of TEST_NGINX_LOAD_MODULES has a feature when its
# entry point (or its ngx_module_t) is among the module's symbols.
#
#   llm_has(FEATURE)         true when built with it
#   llm_require(FEATURE...)  skips the whole file otherwise
#   llm_uses                 the pattern of each feature's directives and
#                            variables in a configuration

use strict;
use warnings;
use Test::More ();

use Exporter 'import';
our @EXPORT = qw(llm_has llm_require %llm_uses);

my %entry = (
    budget => 'ngx_http_llm_budget_admit',
    cache  => 'ngx_http_llm_cache_lookup',
    redact => 'ngx_http_llm_redact_request',
    route  => 'ngx_http_llm_route_module',
    status => 'ngx_http_llm_status_module',
);

# the directives and variables of each feature
our %llm_uses = (
    budget => qr/\bllm_budget/,
    cache  => qr/\bllm_cache/,
    redact => qr/\bllm_redact/,
    # the directives only: $llm_route is the core's variable
    route  => qr/(?<![\$\w])llm_route(?:_key)?\s/,
    status => qr/(?<![\$\w])llm_status\s*;/,
);

my %has;

sub _module {
    my ($so) = grep { m{ngx_http_llm_module\.so$} }
        split ' ', $ENV{TEST_NGINX_LOAD_MODULES} // '';
    return $so;
}

sub llm_has {
    my ($feature) = @_;
    return $has{$feature} if exists $has{$feature};
    my $so = _module();
    return $has{$feature} = 1 unless $so && -f $so;
    open(my $fh, '<:raw', $so) or return $has{$feature} = 1;
    local $/;
    my $bin = <$fh>;
    close $fh;
    return $has{$feature} = index($bin, "$entry{$feature}\0") >= 0 ? 1 : 0;
}

sub llm_require {
    for my $f (@_) {
        next if llm_has($f);
        Test::More::plan(skip_all => "the module was built without $f");
        exit 0;
    }
}

1;
