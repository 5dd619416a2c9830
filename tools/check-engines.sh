#!/bin/bash
# The engines (ngx_llm_module/engines/) depend on libc, PCRE2, Hyperscan
# and OpenSSL only: compile each alone, without nginx's headers, and fail
# if an object needs a symbol of nginx (an undefined ngx_* other than the
# engines' own) or if a source includes an nginx header.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$root/build/engines}
mkdir -p "$out"
cc=${CC:-cc}
status=0
# an include of ngx_* must name a header of the engines' own folder
for inc in $(grep -hoE '#include[[:space:]]*[<"](ngx_|nginx)[^>"]*' \
                  "$root"/ngx_llm_module/engines/*.[ch] \
             | sed -E 's/.*[<"]//' | sort -u)
do
    if [ ! -f "$root/ngx_llm_module/engines/$inc" ]; then
        echo "check-engines: an engine includes $inc" >&2
        status=1
    fi
done
defined=$(mktemp)
trap 'rm -f "$defined"' EXIT
for src in "$root"/ngx_llm_module/engines/*.c; do
    obj="$out/$(basename "$src" .c).o"
    $cc -c -O1 -Wall -I "$root/ngx_llm_module/engines" "$src" -o "$obj"
    nm -g --defined-only "$obj" | awk '{print $3}' >> "$defined"
done
for obj in "$out"/*.o; do
    for sym in $(nm -u "$obj" | awk '$2 ~ /^ngx_/ {print $2}'); do
        if ! grep -qx "$sym" "$defined"; then
            echo "check-engines: $(basename "$obj") needs nginx symbol $sym" >&2
            status=1
        fi
    done
done
[ $status = 0 ] && echo "check-engines: $(ls "$out"/*.o | wc -l) engines, no nginx symbol"
exit $status
