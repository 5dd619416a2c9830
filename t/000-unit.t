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
my $out = $ENV{LLM_UNIT_OUT} || "$root/build/unit";
my $cc = $ENV{CC} || 'cc';

make_path($out);

my %sources = (
    json_test   => ['ngx_llm_module/engines/ngx_http_llm_json.c'],
    json_nosimd_test => ['ngx_llm_module/engines/ngx_http_llm_json.c'],
    json_diff_test => ['ngx_llm_module/engines/ngx_http_llm_json.c'],
    json_diff_nosimd_test => ['ngx_llm_module/engines/ngx_http_llm_json.c'],
    json_diff_sse2_test => ['ngx_llm_module/engines/ngx_http_llm_json.c'],
    tokens_test => ['ngx_llm_module/engines/ngx_http_llm_tokens.c'],
    tokens_fast_test => ['ngx_llm_module/engines/ngx_http_llm_tokens.c',
                         'ngx_llm_module/engines/ngx_http_llm_json.c'],
    tokens_fast_nosimd_test => ['ngx_llm_module/engines/ngx_http_llm_tokens.c',
                                'ngx_llm_module/engines/ngx_http_llm_json.c'],
    tokens_diff_test => ['ngx_llm_module/engines/ngx_http_llm_tokens.c',
                         'ngx_llm_module/engines/ngx_http_llm_json.c'],
    tokens_diff_nosimd_test => ['ngx_llm_module/engines/ngx_http_llm_tokens.c',
                                'ngx_llm_module/engines/ngx_http_llm_json.c'],
    tokens_diff_sse2_test => ['ngx_llm_module/engines/ngx_http_llm_tokens.c',
                              'ngx_llm_module/engines/ngx_http_llm_json.c'],
    tokens_masks_test => [],       # includes ngx_http_llm_tokens.c
    tokens_masks_nosimd_test => [],
    sse_test    => ['ngx_llm_module/engines/ngx_http_llm_sse.c'],
    pii_test    => ['ngx_llm_module/engines/ngx_http_llm_pii.c'],
    pii_apart_test => [],          # includes ngx_http_llm_pii.c
    pii_norm_test => [],           # includes ngx_http_llm_pii.c
    embed_test  => ['ngx_llm_module/engines/ngx_http_llm_embed.c'],
    bpe_test    => ['ngx_llm_module/engines/ngx_http_llm_bpe.c'],
    resp_test   => ['ngx_llm_module/engines/ngx_http_llm_resp.c'],
    memo_hash_test => [],          # includes ngx_http_llm_memo_hash.h
);

# compiler flags, per test: the estimator's and the JSON scanner's
# portable paths (no SSE2/NEON), their SSE2 paths on a CPU with AVX2
my %cflags = (
    tokens_fast_nosimd_test => '-DNGX_HTTP_LLM_TOKENS_NO_SIMD',
    tokens_diff_nosimd_test => '-DNGX_HTTP_LLM_TOKENS_NO_SIMD',
    tokens_diff_sse2_test => '-DNGX_HTTP_LLM_TOKENS_NO_AVX2',
    tokens_masks_nosimd_test => '-DNGX_HTTP_LLM_TOKENS_NO_SIMD',
    json_nosimd_test => '-DNGX_HTTP_LLM_JSON_NO_SIMD',
    json_diff_nosimd_test => '-DNGX_HTTP_LLM_JSON_NO_SIMD',
    json_diff_sse2_test => '-DNGX_HTTP_LLM_JSON_NO_AVX2',
);

# libraries to link, per test
my %libs = (
    pii_test    => '-lhs -lcrypto',
    pii_apart_test => '-lhs -lcrypto',
    pii_norm_test => '-lhs -lcrypto',
    bpe_test    => '-lpcre2-8',
);

# LLM_UNIT_HS_PREFIX=/prefix: the tests that use libhs are built against
# the Hyperscan or Vectorscan under that prefix (include/hs/hs.h, lib or
# lib/<multiarch>), with an rpath to it (`make test-vectorscan` points it at
# an unpacked libvectorscan-dev, which cannot be installed beside
# libhyperscan-dev)
my ($hs_prefix, $hs_libdir) = ($ENV{LLM_UNIT_HS_PREFIX});
if ($hs_prefix) {
    my $multiarch = `$cc -print-multiarch 2>/dev/null` // '';
    chomp $multiarch;
    ($hs_libdir) = grep { -f "$_/libhs.so" }
        "$hs_prefix/lib64", "$hs_prefix/lib/$multiarch", "$hs_prefix/lib";
    BAIL_OUT("LLM_UNIT_HS_PREFIX=$hs_prefix: no include/hs/hs.h or libhs.so there")
        unless $hs_libdir && -f "$hs_prefix/include/hs/hs.h";
    for my $t (qw(pii_test pii_apart_test pii_norm_test)) {
        $libs{$t} = "-I$hs_prefix/include -L$hs_libdir -Wl,-rpath,$hs_libdir "
                  . $libs{$t};
    }
}

# without Hyperscan or Vectorscan (config then builds the module without
# redaction), the tests that need libhs skip
my $have_hs = $hs_prefix || -f '/usr/include/hs/hs.h'
    || system("pkg-config --exists libhs 2>/dev/null") == 0;

for my $test (sort glob("$root/t/unit/*.c")) {
    my $name = basename($test, '.c');

    if (!$have_hs && ($libs{$name} // '') =~ /-lhs/) {
        SKIP: { skip("$name: no Hyperscan or Vectorscan (hs/hs.h)", 1) }
        next;
    }
    my $deps = $sources{$name} or do {
        fail("$name: no sources listed for it in t/000-unit.t");
        next;
    };

    my $bin = "$out/$name";
    my $cmd = join ' ', $cc, '-O1 -g -Wall -Wextra -Werror -Wno-unused-parameter',
        $cflags{$name} // '',
        "-I$root/ngx_llm_module/engines", $test,
        (map { "$root/$_" } @$deps), $libs{$name} // '', "-o", $bin, '2>&1';

    my $log = `$cmd`;
    if ($? != 0) {
        fail("$name compiles");
        diag($log);
        next;
    }

    if ($hs_prefix && ($libs{$name} // "") =~ /-lhs/) {
        my ($hs) = `ldd $bin` =~ /^\s*libhs\.so\S*\s+=>\s+(\S+)/m;
        like($hs // 'none', qr/^\Q$hs_libdir\E\//, "$name: libhs from $hs_libdir");
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
