#!/bin/bash
# make test-deb: installs build/libnginx-mod-http-llm_*.deb with dpkg on
# this machine, checks what the package put where, runs the system nginx
# (/usr/sbin/nginx, modules from /etc/nginx/modules-enabled as
# /etc/nginx/nginx.conf loads them) with llm directives: nginx -t, then a
# request through it, then purges the package and checks that nothing is
# left. The machine is restored (purge) on every exit, failures included;
# the system's nginx service and /etc/nginx/nginx.conf are not touched (the
# running test nginx has its own prefix, pid file and ports).
#
#   deploy/deb-test.sh build/libnginx-mod-http-llm_VERSION_ARCH.deb   (as root)
set -euo pipefail

deb=$(readlink -f "$1")
pkg=libnginx-mod-http-llm
nginx=/usr/sbin/nginx
so=/usr/lib/nginx/modules/ngx_http_llm_module.so
avail=/usr/share/nginx/modules-available/mod-http-llm.conf
link=/etc/nginx/modules-enabled/50-mod-http-llm.conf

[ "$(id -u)" = 0 ] || { echo "deb-test: must run as root (dpkg -i)" >&2; exit 1; }
[ -f "$deb" ] || { echo "deb-test: $deb: no such file" >&2; exit 1; }

pass=0 fail=0
ok()  { pass=$((pass + 1)); echo "ok - $*"; }
nok() { fail=$((fail + 1)); echo "not ok - $*"; }
check() { local what=$1; shift; if "$@" >/dev/null 2>&1; then ok "$what"; else nok "$what"; fi; }

# one test at a time on a machine (several checkouts' `make test`)
exec 9>/var/lock/ngx-llm-deb-test.lock
flock -w 900 9 || { echo "deb-test: another deb-test holds /var/lock/ngx-llm-deb-test.lock" >&2; exit 1; }

# the package's files are on the system: dpkg's status is not "not-installed"
on_system() {
    local st
    st=$(dpkg-query -W -f='${db:Status-Abbrev}' $pkg 2>/dev/null) || return 1
    [ -n "$st" ] && [ "${st:1:1}" != n ]
}

if on_system; then
    echo "deb-test: $pkg is already installed here; not touching it (dpkg --purge $pkg first)" >&2
    exit 1
fi

tmp=$(mktemp -d /tmp/deb-test.XXXXXX)
nginx_pid=

# dpkg waits for a lock held by another apt/dpkg (other builds on this machine)
dpkg_locked() {
    local i
    for i in $(seq 1 120); do
        if "$@" >"$tmp/dpkg.log" 2>&1; then return 0; fi
        grep -q 'lock' "$tmp/dpkg.log" || { cat "$tmp/dpkg.log" >&2; return 1; }
        sleep 1
    done
    cat "$tmp/dpkg.log" >&2
    return 1
}

cleanup() {
    local rc=$?
    if [ -n "$nginx_pid" ] && kill -0 "$nginx_pid" 2>/dev/null; then
        kill -QUIT "$nginx_pid" 2>/dev/null || true
        for _ in $(seq 1 50); do kill -0 "$nginx_pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$nginx_pid" 2>/dev/null || true
    fi
    if on_system; then
        dpkg_locked dpkg --purge $pkg || echo "deb-test: WARNING: dpkg --purge $pkg failed" >&2
    fi
    rm -rf "$tmp"
    exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

echo "# $deb"
dpkg-deb -f "$deb" Package Version Architecture Depends | sed 's/^/# /'

# --- the package's metadata -----------------------------------------------
abi=$(sed -n 's/^nginx:abi=//p' /usr/share/nginx/src/debian/libnginx-mod.abisubstvars)
depends=$(dpkg-deb -f "$deb" Depends)
if [ -n "$abi" ] && grep -qE "(^|, )$abi(,|$)" <<<"$depends"; then
    ok "Depends names the exact nginx ABI ($abi)"
else
    nok "Depends names the exact nginx ABI ($abi): $depends"
fi
check "Depends names the regex library (libhyperscan5 or libvectorscan5)" \
    grep -qE 'lib(hyperscan|vectorscan)5' <<<"$depends"
check "nginx provides that ABI" \
    grep -qE "(^|, )$abi(,|$)" <<<"$(dpkg-query -W -f='${Provides}' nginx)"

# --- install ----------------------------------------------------------------
if dpkg_locked dpkg -i "$deb"; then ok "dpkg -i"; else nok "dpkg -i"; exit 1; fi
check "installed" test "$(dpkg-query -W -f='${db:Status-Abbrev}' $pkg)" = "ii "
check "$so" test -f "$so"
check "$avail loads it" grep -qx 'load_module modules/ngx_http_llm_module.so;' "$avail"
check "$link -> $avail" test "$(readlink "$link")" = "$avail"
check "README.Debian" test -f /usr/share/doc/$pkg/README.Debian
doc() { test -f "/usr/share/doc/$pkg/$1" || test -f "/usr/share/doc/$pkg/$1.gz"; }
check "docs: directives.md" doc directives.md
check "docs: install.md" doc install.md
check "examples: quickstart.conf" test -f /usr/share/doc/$pkg/examples/quickstart.conf
check "copyright" test -f /usr/share/doc/$pkg/copyright
check "the system configuration still passes nginx -t (module loaded, no llm directive)" \
    "$nginx" -t -q

# --- the system nginx with llm directives -----------------------------------
free_port() {
    perl -MIO::Socket::INET -e '$s = IO::Socket::INET->new(LocalAddr => "127.0.0.1",
        LocalPort => 0, Listen => 1) or die "$!\n"; print $s->sockport, "\n"'
}
port=$(free_port)
mock=$(free_port)
mkdir -p "$tmp/logs"
cat >"$tmp/nginx.conf" <<CONF
# modules as /etc/nginx/nginx.conf loads them: the package's link among them
include /etc/nginx/modules-enabled/*.conf;

worker_processes 1;
pid $tmp/nginx.pid;
error_log $tmp/logs/error.log info;

events { worker_connections 64; }

http {
    client_body_temp_path $tmp/body;
    proxy_temp_path       $tmp/proxy;
    fastcgi_temp_path     $tmp/fastcgi;
    uwsgi_temp_path       $tmp/uwsgi;
    scgi_temp_path        $tmp/scgi;

    log_format llm 'model=\$llm_model prompt=\$llm_prompt_tokens completion=\$llm_completion_tokens source=\$llm_tokens_source cost=\$llm_cost';
    access_log $tmp/logs/access.log llm;

    llm_model gpt-4o-mini upstream=mock input=0.15 output=0.60;
    llm_budget_zone \$remote_addr zone=per_client:1m tokens=100000/m;

    upstream mock { server 127.0.0.1:$mock; }

    server {
        listen 127.0.0.1:$port;
        location = /v1/chat/completions {
            llm_gateway openai;
            llm_budget  per_client;
            proxy_pass  http://\$llm_upstream;
        }
        location = /llm-status { llm_status; }
    }

    server {
        listen 127.0.0.1:$mock;
        access_log off;
        default_type application/json;
        location / {
            return 200 '{"id":"c1","object":"chat.completion","model":"gpt-4o-mini","choices":[{"index":0,"message":{"role":"assistant","content":"Hi"},"finish_reason":"stop"}],"usage":{"prompt_tokens":12,"completion_tokens":7,"total_tokens":19}}';
        }
    }
}
CONF

# the default prefix (/usr/share/nginx), as for the system configuration:
# the load files' "modules/..." resolve there
if "$nginx" -t -q -c "$tmp/nginx.conf" 2>"$tmp/t.log"; then
    ok "nginx -t with llm directives, the module loaded from modules-enabled"
else
    nok "nginx -t with llm directives"; cat "$tmp/t.log"; exit 1
fi
"$nginx" -c "$tmp/nginx.conf"
for _ in $(seq 1 50); do [ -s "$tmp/nginx.pid" ] && break; sleep 0.1; done
nginx_pid=$(cat "$tmp/nginx.pid")

body=$(curl -sS -m 10 -H 'Content-Type: application/json' \
    -d '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Hi"}]}' \
    "http://127.0.0.1:$port/v1/chat/completions")
check "a request through the system nginx: the upstream's answer" grep -q '"content":"Hi"' <<<"$body"
bad=$(curl -sS -m 10 -o /dev/null -w '%{http_code}' -d '{"model":' \
    "http://127.0.0.1:$port/v1/chat/completions")
check "a malformed request: 400 from the module (status $bad)" test "$bad" = 400
sleep 0.2
check "the access log: model and usage from the module" \
    grep -q 'model=gpt-4o-mini prompt=12 completion=7 source=usage' "$tmp/logs/access.log"
status=$(curl -sS -m 10 "http://127.0.0.1:$port/llm-status")
check "llm_status answers" test -n "$status"

kill -QUIT "$nginx_pid"
for _ in $(seq 1 50); do kill -0 "$nginx_pid" 2>/dev/null || break; sleep 0.1; done
nginx_pid=

# --- purge ------------------------------------------------------------------
if dpkg_locked dpkg --purge $pkg; then ok "dpkg --purge"; else nok "dpkg --purge"; fi
not_on_system() { ! on_system; }
check "not installed any more" not_on_system
check "$so removed" test ! -e "$so"
check "$avail removed" test ! -e "$avail"
check "$link and $link.removed removed" test ! -e "$link" -a ! -L "$link" -a ! -L "$link.removed"
check "the system configuration passes nginx -t after the purge" \
    "$nginx" -t -q

echo "deb-test: $pass passed, $fail failed"
[ "$fail" = 0 ]
