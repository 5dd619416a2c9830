package LLMTest::CacheKey;

# The answer cache's key computed in Perl from the canonical form
# (docs: the cache key), for the plain tests that read the keys a gateway
# wrote into Redis (t/035-cache-key.t, t/039-all-on.t):
#
# - cache_key(API, SCOPE, MODEL, BODY): "llm:cache:{keys}:" and the hex of
#   the first 16 bytes of SHA-256 over "llm-cache/1\0", the API's byte,
#   the scope's parts (an array), the model and the body's canonical form
#   (keys sorted, the unkeyed top-level fields left out, each value tagged
#   with its type and length);
# - new_keys(REDIS): the cache keys in REDIS not seen by an earlier call,
#   sorted and joined by spaces ('' when none came within 2.5 s).

use strict;
use warnings;
use B;
use Digest::SHA qw(sha256);
use Encode qw(encode_utf8);
use JSON::PP;
use Time::HiRes qw(sleep);
use LLMTest::Plain qw(slow);
use Exporter 'import';

our @EXPORT = qw(cache_key new_keys);

my %unkeyed = map { $_ => 1 } qw(model stream stream_options user metadata
    store service_tier prompt_cache_key safety_identifier);

sub str { my ($tag, $s) = @_; return $tag . pack('N', length $s) . $s }

sub value {
    my ($v, $top) = @_;

    if (ref $v eq 'HASH') {
        my @k = sort grep { !($top && $unkeyed{$_}) } keys %$v;
        return 'o' . pack('N', scalar @k)
               . join '', map { str('k', encode_utf8($_)) . value($v->{$_}) } @k;
    }

    if (ref $v eq 'ARRAY') {
        return 'a' . pack('N', scalar @$v) . join '', map { value($_) } @$v;
    }

    return $v ? 't' : 'f' if JSON::PP::is_bool($v);
    return 'n' unless defined $v;

    my $b = B::svref_2object(\$v);
    if ($b->FLAGS & (B::SVp_IOK() | B::SVp_NOK()) and !($b->FLAGS & B::SVp_POK())) {
        return 'i' . pack('q<', $v) if $v == int($v) && abs($v) < 9.2e18;
        return 'd' . pack('d<', $v);
    }

    return str('s', encode_utf8($v));
}

sub cache_key {
    my ($api, $scope, $model, $body) = @_;
    my $c = "llm-cache/1\0" . $api . str('S', join '', map { pack('N', length $_) . $_ } @$scope)
            . str('M', $model) . value(JSON::PP->new->decode($body), 1);
    return 'llm:cache:{keys}:' . unpack('H*', substr(sha256($c), 0, 16));
}

my %seen;

sub new_keys {
    my $redis = shift;

    for (1 .. 50) {
        my @k = grep { length && !$seen{$_} } split /\n/, $redis->cmd('KEYS', 'llm:cache:{keys}:*');
        if (@k) {
            $seen{$_} = 1 for @k;
            return join ' ', sort @k;
        }
        sleep 0.05 * slow();
    }
    return '';
}

1;
