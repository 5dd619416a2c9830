# ngx_llm_module
#
#   make              build build/ngx_http_llm_module.so against Debian's nginx
#   make test         build, then run the t/ suite with prove
#   make test-ui      build, then test the status page in headless Chromium
#   make run          build, then run the quickstart gateway on 127.0.0.1:8080
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

SRCS := $(wildcard ngx_llm_module/*.c ngx_llm_module/*.h filters/*.c filters/*.h)

DEBIAN_PACKAGES := nginx nginx-dev libnginx-mod-http-echo libhyperscan-dev \
    libpcre2-dev libssl-dev zlib1g-dev gcc make curl \
    libtest-base-perl libtext-diff-perl libtest-longstring-perl \
    libhttp-message-perl liburi-perl liblist-moreutils-perl libwww-perl

SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

# the project's own Test::Nginx-compatible runner, only when the real one
# is not installed
PROVE_INC := $(shell perl -MTest::Nginx::Socket -e1 2>/dev/null \
                     || echo "-I $(CURDIR)/t/runner")

export TEST_NGINX_BINARY ?= $(NGINX_BIN)
export TEST_NGINX_RANDOMIZE ?= 1
export TEST_NGINX_LOAD_MODULES ?= $(MODULE) $(ECHO_MODULE)

.PHONY: all deps build test test-ui test-valgrind test-runner run bench fuzz \
	phone-tables clean

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
	        --with-cc-opt="$$(dpkg-buildflags --get CFLAGS) -fPIC $$(dpkg-buildflags --get CPPFLAGS)" \
	        --with-ld-opt="$$(dpkg-buildflags --get LDFLAGS) -fPIC" \
	        "$${NGX_CONF_FLAGS[@]}" \
	        --add-dynamic-module=$(CURDIR) --builddir=$(OBJS) >$(BUILD)/configure.log; \
	else \
	    ./configure --with-compat --with-http_v2_module \
	        --add-dynamic-module=$(CURDIR) --builddir=$(OBJS) >$(BUILD)/configure.log; \
	fi

$(MODULE): $(OBJS)/Makefile $(SRCS)
	$(MAKE) -s -f $(OBJS)/Makefile -C $(NGINX_SRC) modules
	cp $(OBJS)/ngx_http_llm_module.so $(MODULE).tmp && mv -f $(MODULE).tmp $(MODULE)

test: build
	prove $(PROVE_INC) -j$(PROVE_JOBS) t/

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

test-runner: deps
	TEST_NGINX_LOAD_MODULES=$(ECHO_MODULE) prove -I t/runner t/runner/selftest/

run: build
	@mkdir -p $(BUILD)/run
	@echo "gateway on http://127.0.0.1:8080 (mock upstream on 127.0.0.1:8081); Ctrl-C stops"
	$(NGINX_BIN) -p $(CURDIR)/ -c conf/quickstart.conf -e stderr -g 'daemon off;'

FUZZ_TARGETS := json sse pii

$(BUILD)/fuzz/%_fuzz: fuzz/%_fuzz.c ngx_llm_module/*.c ngx_llm_module/*.h filters/*.c filters/*.h
	@command -v clang >/dev/null || { $(SUDO) apt-get install -y -qq clang >/dev/null; }
	@mkdir -p $(BUILD)/fuzz
	clang -g -O1 -fsanitize=fuzzer,address,undefined -I ngx_llm_module -I filters \
	    $< $(FUZZ_SRCS_$*) $(FUZZ_LIBS_$*) -o $@

FUZZ_SRCS_json := ngx_llm_module/ngx_http_llm_json.c
FUZZ_SRCS_sse  := filters/ngx_http_llm_sse.c
FUZZ_SRCS_pii  := ngx_llm_module/ngx_http_llm_pii.c
FUZZ_LIBS_pii  := -lhs -lcrypto

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
	$(BUILD)/gen_phone_tables > ngx_llm_module/ngx_http_llm_pii_phone.h

clean:
	rm -rf $(BUILD) t/servroot*
