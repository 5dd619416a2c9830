#!/usr/bin/env bash
# The estimator's speed per script of ../shared/eval/text/texts.jsonl, this
# tree's ngx_http_llm_tokens.c against another (by default the
# implementation of e28ee8b kept in t/unit/ref/):
#
#   bash bench/estimator/scripts.sh
#   BASE=/path/to/ngx_http_llm_tokens.c TEXTS=/path/to/texts.jsonl \
#       bash bench/estimator/scripts.sh
#
# Per group of languages: the bytes, the instructions per byte of each
# build under callgrind (all the group's texts estimated once, whole), and
# the MB/s of each build: ROUNDS (5) runs of at least 0.3 s each, the two
# builds alternated, the best run of each (the machine may be loaded).
# Both builds must give the same estimates (checked: the sums of the
# estimates per group are printed and compared).

set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
base=${BASE:-$root/t/unit/ref/ngx_http_llm_tokens_e28ee8b.c}
texts=${TEXTS:-$root/../shared/eval/text/texts.jsonl}
[ -f "$texts" ] || texts=/work/shared/eval/text/texts.jsonl
rounds=${ROUNDS:-5}
cc=${CC:-cc}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

cat > "$tmp/run.c" <<'C'
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/types.h>

size_t ngx_http_llm_estimate_tokens(const u_char *text, size_t len);

/*
 * argv[1]: records "<len>\n<bytes>"; argv[2]: seconds (0: once); prints
 * the bytes, the sum of the estimates and MB/s
 */

int
main(int argc, char **argv)
{
    FILE             *f;
    long              len, n, i, rounds;
    double            s, secs;
    size_t            sum, bytes;
    u_char          **data;
    long             *lens;
    struct timespec   t0, t1;

    f = fopen(argv[1], "rb");
    secs = atof(argv[2]);
    data = malloc(100000 * sizeof(u_char *));
    lens = malloc(100000 * sizeof(long));
    n = 0;
    bytes = 0;

    while (fscanf(f, "%ld", &len) == 1 && fgetc(f) == '\n') {
        data[n] = malloc(len ? len : 1);
        if (fread(data[n], 1, len, f) != (size_t) len) {
            return 2;
        }
        lens[n++] = len;
        bytes += len;
    }

    rounds = 0;
    sum = 0;
    clock_gettime(CLOCK_MONOTONIC, &t0);

    do {
        for (i = 0; i < n; i++) {
            sum += ngx_http_llm_estimate_tokens(data[i], lens[i]);
        }

        rounds++;
        clock_gettime(CLOCK_MONOTONIC, &t1);
        s = (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;

    } while (s < secs);

    printf("%zu %zu %.1f\n", bytes, sum / rounds, bytes * rounds / s / 1e6);

    return 0;
}
C

$cc -O2 -I "$root/ngx_llm_module/engines" "$tmp/run.c" "$base" -o "$tmp/base"
$cc -O2 -I "$root/ngx_llm_module/engines" "$tmp/run.c" \
    "$root/ngx_llm_module/engines/ngx_http_llm_tokens.c" -o "$tmp/new"

node -e '
    const fs = require("fs");
    const groups = {
        latin: "en de fr es pt it id tr pl vi", cyrillic: "ru uk", greek: "el",
        arabic: "ar fa", hebrew: "he", han: "zh-Hans", japanese: "ja",
        hangul: "ko", thai: "th", devanagari: "hi", bengali: "bn",
        tamil: "ta",
        code: "c python go rust sql javascript java shell json yaml markdown",
    };
    const of = {};
    for (const [g, ls] of Object.entries(groups)) {
        for (const l of ls.split(" ")) of[l] = g;
    }
    const out = {};
    for (const line of fs.readFileSync(process.argv[1], "utf8").split("\n")) {
        if (!line) continue;
        const r = JSON.parse(line), g = of[r.lang];
        if (!g) continue;
        const b = Buffer.from(r.text, "utf8");
        (out[g] = out[g] || []).push(Buffer.from(b.length + "\n"), b);
    }
    for (const g of Object.keys(groups)) {
        fs.writeFileSync(process.argv[2] + "/" + g, Buffer.concat(out[g]));
    }
' "$texts" "$tmp"

ir() {   # BINARY FILE: instructions of the estimates, per byte
    valgrind --tool=callgrind --callgrind-out-file="$tmp/cg" "$1" "$2" 0 \
        > /dev/null 2>&1
    callgrind_annotate --inclusive=yes "$tmp/cg" \
        | awk '/ngx_http_llm_estimate_tokens/ { gsub(",", "", $1); print $1; exit }'
}

printf '%-11s %9s %12s %12s %8s %10s %10s %8s\n' script bytes \
    "base Ir/B" "new Ir/B" "Ir x" "base MB/s" "new MB/s" "MB/s x"

for g in latin cyrillic greek arabic hebrew han japanese hangul thai \
         devanagari bengali tamil code
do
    read -r bytes bsum _ < <("$tmp/base" "$tmp/$g" 0)
    read -r _ nsum _ < <("$tmp/new" "$tmp/$g" 0)
    [ "$bsum" = "$nsum" ] || { echo "$g: the estimates differ ($bsum, $nsum)" >&2; exit 1; }

    bir=$(ir "$tmp/base" "$tmp/$g")
    nir=$(ir "$tmp/new" "$tmp/$g")

    bmb=0
    nmb=0
    for r in $(seq "$rounds"); do
        read -r _ _ m < <("$tmp/base" "$tmp/$g" 0.3)
        bmb=$(awk -v a="$bmb" -v b="$m" 'BEGIN { print (b > a) ? b : a }')
        read -r _ _ m < <("$tmp/new" "$tmp/$g" 0.3)
        nmb=$(awk -v a="$nmb" -v b="$m" 'BEGIN { print (b > a) ? b : a }')
    done

    awk -v g="$g" -v n="$bytes" -v bi="$bir" -v ni="$nir" -v bm="$bmb" \
        -v nm="$nmb" 'BEGIN {
        printf "%-11s %9d %12.1f %12.1f %7.2fx %10.0f %10.0f %7.2fx\n",
               g, n, bi / n, ni / n, bi / ni, bm, nm, nm / bm }'
done
