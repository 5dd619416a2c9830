# Unit tests of the parts that build without nginx (JSON scanner, token
# estimator, SSE parser): each t/unit/*.c is compiled and run, and its TAP
# output is checked line by line.

use strict;
use warnings;
use Test::More;
use File::Basename qw(basename dirname);
use File::Path qw(make_path);
use File::Spec;

my $root = File::Spec->rel2abs(dirname(__FILE__) . '/..');
my $out = "$root/build/unit";
my $cc = $ENV{CC} || 'cc';

make_path($out);

my %sources = (
    json_test   => ['ngx_llm_module/ngx_http_llm_json.c'],
    tokens_test => ['ngx_llm_module/ngx_http_llm_tokens.c'],
    sse_test    => ['filters/ngx_http_llm_sse.c'],
    pii_test    => ['ngx_llm_module/ngx_http_llm_pii.c'],
    embed_test  => ['ngx_llm_module/ngx_http_llm_embed.c'],
    bpe_test    => ['ngx_llm_module/ngx_http_llm_bpe.c'],
);

# libraries to link, per test
my %libs = (
    pii_test    => '-lhs -lcrypto',
    bpe_test    => '-lpcre2-8',
);

for my $test (sort glob("$root/t/unit/*.c")) {
    my $name = basename($test, '.c');
    my $deps = $sources{$name} or do {
        fail("$name: no sources listed for it in t/000-unit.t");
        next;
    };

    my $bin = "$out/$name";
    my $cmd = join ' ', $cc, '-O1 -g -Wall -Wextra -Werror -Wno-unused-parameter',
        "-I$root/ngx_llm_module -I$root/filters", $test,
        (map { "$root/$_" } @$deps), $libs{$name} // '', "-o", $bin, '2>&1';

    my $log = `$cmd`;
    if ($? != 0) {
        fail("$name compiles");
        diag($log);
        next;
    }

    my @lines = `$bin 2>&1`;
    my $status = $?;
    my $count = 0;

    for my $line (@lines) {
        if ($line =~ /^(not )?ok \d+\s*-?\s*(.*)$/) {
            ok(!defined $1, "$name: $2");
            $count++;
        } elsif ($line =~ /^#/) {
            note($line);
        }
    }

    ok($count > 0, "$name ran tests");
    is($status, 0, "$name exit status");
}

done_testing();
