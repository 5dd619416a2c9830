package LLMTest::Suite;

# What every Test::Nginx file of the suite shares, loaded after
# Test::Nginx::Socket (use lib "$FindBin::Bin/lib"; use LLMTest::Suite;):
#
# - a block whose configuration uses a feature that the module under test
#   was built without (config's LLM_WITHOUT_BUDGET, LLM_WITHOUT_CACHE,
#   LLM_WITHOUT_REDACT, LLM_WITHOUT_ROUTE, LLM_WITHOUT_STATUS, or no
#   Hyperscan) is skipped, saying so;
#   (LLMTest::Features; the plain tests call its llm_require());
# - a block without --- no_error_log gets "[error]", "[alert]", "[crit]"
#   and "[emerg]" as its no_error_log: nothing at those levels may be
#   logged unless the block says so with its own --- no_error_log (listing
#   the levels that must still not appear).
#
# And block_defaults(section => value, ...), exported: a block that does
# not have one of these sections gets the value given (the file's mock
# provider as http_config, its gateway location as config); called where
# a file used to add its own preprocessor that did the same.

use strict;
use warnings;
use Test::Nginx::Util ();
use LLMTest::Features;
use Exporter 'import';

our @EXPORT = qw(block_defaults);

sub block_defaults {
    my @defaults = @_;

    Test::Nginx::Util::add_block_preprocessor(sub {
        my $block = shift;

        for (my $i = 0; $i < @defaults; $i += 2) {
            my ($name, $value) = @defaults[$i, $i + 1];

            $block->set_value($name, $value) unless defined $block->$name;
        }
    });
}

Test::Nginx::Util::add_block_preprocessor(sub {
    my $block = shift;

    if (!defined $block->no_error_log && !defined $block->must_die) {
        $block->set_value('no_error_log', "[error]\n[alert]\n[crit]\n[emerg]");
    }

    return if defined $block->skip_eval;

    my $conf = join "\n", grep { defined } $block->main_config,
        $block->http_config, $block->config;

    for my $f (sort keys %llm_uses) {
        if ($conf =~ $llm_uses{$f} && !llm_has($f)) {
            $block->set_value('skip_eval',
                              "1: 1 # the module was built without $f");
            return;
        }
    }
});

1;
