#!/bin/bash
# Builds ngx_http_llm_module.so for a given nginx binary, from that nginx
# version's source, with that binary's own configure arguments (which must
# include --with-compat, as the official nginx images' do). The build stage
# of deploy/docker/Dockerfile runs exactly this; CI runs it against
# Debian's nginx source and /usr/sbin/nginx (`make test-docker-build`) and
# loads the result into that nginx.
#
#   build-module.sh NGINX_BINARY NGINX_SRC_DIR MODULE_SRC_DIR OUT_DIR
#
# Environment: LLM_HS_PREFIX (Hyperscan/Vectorscan outside the default
# paths, see the module's config).
set -euo pipefail

nginx=$1
src=$2
module=$3
out=$4

die() { echo "build-module.sh: $*" >&2; exit 1; }

[ -x "$src/configure" ] || die "$src: not an nginx source tree"
[ -f "$module/config" ] || die "$module: no module config"

v=$("$nginx" -V 2>&1) || die "$nginx -V failed: $v"
bin_version=$(sed -n 's|^nginx version: [^/]*/\([0-9.]*\).*|\1|p' <<<"$v")
src_version=$(sed -n 's/^#define NGINX_VERSION *"\(.*\)"/\1/p' "$src/src/core/nginx.h")
[ "$bin_version" = "$src_version" ] ||
    die "$nginx is nginx $bin_version but $src holds nginx $src_version"

confargs=$(sed -n 's/^configure arguments: //p' <<<"$v")
eval "set -- $confargs"

# keep the binary's own flags (so that the module sees the same features,
# e.g. OpenSSL), without its other dynamic modules (their libraries need
# not be here, and `make modules` would build them too)
args=()
compat=no
for a in "$@"; do
    case "$a" in
        --with-compat) compat=yes; args+=("$a") ;;
        --add-module=*|--add-dynamic-module=*|--with-*=dynamic) ;;
        *) args+=("$a") ;;
    esac
done
[ $compat = yes ] ||
    die "$nginx was not configured --with-compat: a dynamic module must then be built with exactly its configure flags and compiler"

mkdir -p "$out"
out=$(cd "$out" && pwd)
module=$(cd "$module" && pwd)

cd "$src"
./configure "${args[@]}" --add-dynamic-module="$module" --builddir="$out/objs" \
    >"$out/configure.log" 2>&1 || { tail -30 "$out/configure.log" >&2; exit 1; }
grep '^checking for Hyperscan' "$out/configure.log" || true
make -j"$(nproc 2>/dev/null || echo 2)" -f "$out/objs/Makefile" modules >"$out/make.log" 2>&1 ||
    { tail -30 "$out/make.log" >&2; exit 1; }
cp "$out/objs/ngx_http_llm_module.so" "$out/ngx_http_llm_module.so"
echo "built $out/ngx_http_llm_module.so for nginx $src_version"
