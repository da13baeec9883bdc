# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# leakwatch build.  `make` builds $(O)/leakwatch; `make test` runs every
# test; `make help` lists the targets.  O=dir builds elsewhere, V=1 shows
# the commands, CI=true turns warnings into errors.

O ?= build
OUT := $(abspath $(O))

CC ?= cc
CXX ?= c++
CLANG ?= clang
BPFTOOL ?= bpftool
ARCH ?= x86
PKG_CONFIG ?= pkg-config
PROTOC_C ?= protoc-c
NODE ?= node
NPM ?= npm

ifeq ($(V),1)
Q =
msg =
else
Q = @
msg = @printf '  %-8s %s\n' "$(1)" "$(patsubst $(OUT)/%,%,$(2))";
endif

WERROR := $(if $(filter true 1 yes,$(CI)),-Werror)
DEPFLAGS = -MMD -MP -MT $@

CFLAGS ?= -g -O2
CFLAGS += -std=gnu11 -Wall -Wextra -Wno-unused-parameter $(WERROR) \
	  -D_GNU_SOURCE $(addprefix -I,$(USER_DIRS)) -Ibpf -I$(OUT)
# libmicrohttpd: the HTTP server of --watch (user/http/)
LDLIBS := -lbpf -lelf -ldw -ljson-c -lcapstone -lstdc++ -lz -lprotobuf-c -lm \
	  $(shell $(PKG_CONFIG) --libs libmicrohttpd 2>/dev/null || echo -lmicrohttpd)

BPF_CFLAGS := -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH) -Wall $(WERROR) \
	      -Ivmlinux/$(ARCH) -Ibpf

BPF_SRCS := $(wildcard bpf/*.bpf.c)
BPF_OBJS := $(patsubst bpf/%.bpf.c,$(OUT)/bpf/%.bpf.o,$(BPF_SRCS))
SKEL := $(OUT)/leakwatch.skel.h

# user/ has one folder per stage of the pipeline (README: "How it is
# built"); headers are included by name, every folder is on the path.
USER_DIRS := $(sort $(dir $(wildcard user/*/*.c)))
USER_SRCS := $(wildcard user/*/*.c)
USER_OBJS := $(patsubst user/%.c,$(OUT)/user/%.o,$(USER_SRCS))

# Generated at build time into $(OUT)/gen: the pprof format's C bindings
# (protoc-c, from proto/profile.proto) and the -f html page with d3 and
# d3-flame-graph written into it (tools/html: npm ci, then embed.js).
GEN := $(OUT)/gen
GEN_HDRS := $(GEN)/profile.pb-c.h $(GEN)/report_page.h
GEN_OBJS := $(GEN)/profile.pb-c.o
HTML_MODULES := $(OUT)/html/node_modules

LIB_OBJS := $(filter-out $(OUT)/user/cli/main.o,$(USER_OBJS)) $(GEN_OBJS)

UNIT_SRCS := $(wildcard tests/unit/*/*.c)
UNIT_OBJS := $(patsubst tests/unit/%.c,$(OUT)/tests/unit/%.o,$(UNIT_SRCS))
UNIT_BIN := $(OUT)/tests/unit-tests

# The same unit tests built with AddressSanitizer and UBSan.
SAN_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
SAN_LIB_OBJS := $(patsubst $(OUT)/%.o,$(OUT)/san/%.o,$(LIB_OBJS))
SAN_UNIT_OBJS := $(patsubst $(OUT)/tests/unit/%.o,$(OUT)/san/tests/unit/%.o,$(UNIT_OBJS))
SAN_UNIT_BIN := $(OUT)/san/tests/unit-tests
SAN_BIN := $(OUT)/san/leakwatch
# A sanitizer finding fails the run: its own exit status, and its report
# in a log file that make san shows (stderr alone could pass unseen).
SAN_LOGS := $(OUT)/san/logs
SAN_ENV := ASAN_OPTIONS=detect_leaks=1:exitcode=99:log_path=$(SAN_LOGS)/asan \
	   UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:exitcode=99:log_path=$(SAN_LOGS)/ubsan

# libFuzzer targets (tests/fuzz/): clang, with the parsers built again
# with its coverage and ASan+UBSan.  make fuzz runs each FUZZ_SECONDS.
FUZZ_CC ?= clang
FUZZ_FLAGS := -g -O1 -fno-omit-frame-pointer -fsanitize=address,undefined \
	      -fno-sanitize-recover=undefined
FUZZ_SRCS := $(wildcard tests/fuzz/*.c)
FUZZ_BINS := $(patsubst tests/fuzz/%.c,$(OUT)/fuzz/%,$(FUZZ_SRCS))
FUZZ_LIB_OBJS := $(patsubst $(OUT)/user/%.o,$(OUT)/fuzz/user/%.o,$(LIB_OBJS))
FUZZ_SECONDS ?= 60

INTEG_SRCS := $(wildcard tests/integration/*.c)
# The dashboard's live test needs the daemon's /metrics: it joins the
# suite once leakwatch serves it.
ifeq ($(shell grep -l -- '"/metrics"' user/*/*.c 2>/dev/null),)
INTEG_SRCS := $(filter-out tests/integration/test_dashboard.c,$(INTEG_SRCS))
endif
INTEG_OBJS := $(patsubst tests/integration/%.c,$(OUT)/tests/integration/%.o,$(INTEG_SRCS))
INTEG_BIN := $(OUT)/tests/integration-tests
# front ends of leakwatch's modules that integration tests drive
DRIVERS := $(patsubst tests/drivers/%.c,$(OUT)/tests/drivers/%,$(wildcard tests/drivers/*.c))
# drives headless Chromium for the test of the -f html page
BROWSER_CHECK := $(OUT)/tests/browser/check_page.js
# the metrics --watch exports, which the dashboard's live test checks
K8S_METRICS := $(OUT)/tests/k8s/metrics.txt

# Fixtures keep frame pointers and their noinline functions: their leaks are
# attributed by function name, so the compiler must not merge or hide them.
FIXTURE_CFLAGS := -g -O1 -fno-omit-frame-pointer -fno-optimize-sibling-calls \
		  -fno-inline -Wall -Wextra $(WERROR) -pthread
# (dlplugin.c, reload_plugin.c, nofplib.c and nofpplugin.c are no programs:
# libraries, below; stripped.c is built by strip-variant.sh)
FIXTURE_LIB_SRCS := tests/fixtures/dlplugin.c tests/fixtures/reload_plugin.c \
		    tests/fixtures/stripped.c tests/fixtures/nofplib.c tests/fixtures/nofpplugin.c
FIXTURE_SRCS := $(filter-out $(FIXTURE_LIB_SRCS),$(wildcard tests/fixtures/*.c))
FIXTURE_CXX_SRCS := $(wildcard tests/fixtures/*.cc)
FIXTURES := $(patsubst tests/fixtures/%.c,$(OUT)/tests/fixtures/%,$(FIXTURE_SRCS)) \
	    $(patsubst tests/fixtures/%.cc,$(OUT)/tests/fixtures/%,$(FIXTURE_CXX_SRCS))

.DELETE_ON_ERROR:
.PHONY: all clean deps bench test test-all test-unit test-unit-san test-integration test-kernels demo demo-run \
	test-rules test-image \
	san fuzz soak soak-watch \
	vmlinux help fixtures

all: $(OUT)/leakwatch

help:
	@echo 'make                 build $(O)/leakwatch'
	@echo 'make demo            build, then trace the bundled leaky demo program (root)'
	@echo 'make test            unit tests, sanitized unit tests, integration tests, and the'
	@echo '                     integration tests again in Debian 6.1 and 6.12 kernels (root)'
	@echo 'make test-unit       unit tests only (no root needed)'
	@echo 'make test-integration  real BPF against fixture programs (root)'
	@echo 'make test-rules      the Kubernetes alert rules and dashboard: promtool, and their queries'
	@echo '                     against the metrics --watch exports'
	@echo 'make test-image      build tools/k8s/Dockerfile with podman from a local debootstrap base, run it (root)'
	@echo 'make san             leakwatch built with ASan+UBSan, under the integration tests (root;'
	@echo '                     SAN_FILTER=<Criterion --filter>)'
	@echo 'make test-kernels    integration tests inside Debian 6.1 and 6.12 kernels (qemu;'
	@echo '                     KERNELS="6.1 6.12", KFILTER=<Criterion --filter>)'
	@echo 'make fuzz            each libFuzzer target for FUZZ_SECONDS (default 60)'
	@echo 'make soak            leakwatch -i 1 for SOAK_SECONDS (default 1800) against a busy workload (root)'
	@echo 'make soak-watch      leakwatch --watch for SOAK_SECONDS (default 1800) on a machine where processes'
	@echo '                     start, exit, fork, exec and leak (root)'
	@echo 'make bench           benchmarks: malloc+free against the uprobe floor and bpftrace, 10M blocks, deep stacks without frame pointers, syscalls under each mapping hook (root)'
	@echo 'make vmlinux         regenerate vmlinux/$(ARCH)/vmlinux.h from this kernel'
	@echo 'make clean           remove $(O)/'
	@echo 'Variables: O=dir  V=1  CI=true (warnings are errors; tests that cannot run fail)'

$(OUT)/bpf/%.bpf.o: bpf/%.bpf.c | $(OUT)/bpf
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) $(DEPFLAGS) -c $< -o $@

# bpftool gen object is a static linker: all BPF objects become one
# skeleton, sharing maps and globals.
$(OUT)/leakwatch.bpf.o: $(BPF_OBJS)
	$(call msg,LINK,$@)
	$(Q)$(BPFTOOL) gen object $@ $^

$(SKEL): $(OUT)/leakwatch.bpf.o
	$(call msg,SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name leakwatch_bpf > $@

$(USER_OBJS) $(SAN_LIB_OBJS) $(UNIT_OBJS) $(SAN_UNIT_OBJS): | $(SKEL) $(GEN_HDRS)

$(OUT)/user/%.o: user/%.c
	$(Q)mkdir -p $(@D)
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $(DEPFLAGS) -c $< -o $@

$(GEN)/profile.pb-c.c: proto/profile.proto | $(GEN)
	$(call msg,PROTOC,$@)
	$(Q)$(PROTOC_C) --proto_path=proto --c_out=$(GEN) profile.proto

$(GEN)/profile.pb-c.h: $(GEN)/profile.pb-c.c

$(GEN)/%.o: $(GEN)/%.c
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $(DEPFLAGS) -c $< -o $@

$(OUT)/san/gen/%.o: $(GEN)/%.c | $(OUT)/san/gen
	$(call msg,CC-SAN,$@)
	$(Q)$(CC) $(CFLAGS) $(SAN_FLAGS) $(DEPFLAGS) -c $< -o $@

# npm ci installs exactly package-lock.json's versions, out of the tree
$(HTML_MODULES)/.package-lock.json: tools/html/package.json tools/html/package-lock.json
	$(call msg,NPM,$(OUT)/html)
	$(Q)mkdir -p $(OUT)/html
	$(Q)cp tools/html/package.json tools/html/package-lock.json $(OUT)/html/
	$(Q)cd $(OUT)/html && $(NPM) ci --no-audit --no-fund --ignore-scripts --loglevel=error
	$(Q)touch $@

$(GEN)/report_page.h: tools/html/page.html tools/html/embed.js $(HTML_MODULES)/.package-lock.json \
		      | $(GEN)
	$(call msg,EMBED,$@)
	$(Q)$(NODE) tools/html/embed.js tools/html/page.html $(HTML_MODULES) $@

$(OUT)/leakwatch: $(USER_OBJS) $(GEN_OBJS)
	$(call msg,LD,$@)
	$(Q)$(CC) $(CFLAGS) $^ $(LDLIBS) -o $@

$(OUT)/tests/drivers/%: tests/drivers/%.c $(LIB_OBJS)
	$(call msg,LD,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) $^ $(LDLIBS) -o $@

$(OUT)/tests/unit/%.o: tests/unit/%.c
	$(Q)mkdir -p $(@D)
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -Itests $(DEPFLAGS) -c $< -o $@

$(UNIT_BIN): $(UNIT_OBJS) $(LIB_OBJS)
	$(call msg,LD,$@)
	$(Q)$(CC) $(CFLAGS) $^ $(LDLIBS) -lcriterion -o $@

$(OUT)/san/user/%.o: user/%.c
	$(Q)mkdir -p $(@D)
	$(call msg,CC-SAN,$@)
	$(Q)$(CC) $(CFLAGS) $(SAN_FLAGS) $(DEPFLAGS) -c $< -o $@

$(SAN_BIN): $(SAN_LIB_OBJS) $(OUT)/san/user/cli/main.o
	$(call msg,LD-SAN,$@)
	$(Q)$(CC) $(CFLAGS) $(SAN_FLAGS) $^ $(LDLIBS) -o $@

$(FUZZ_LIB_OBJS): | $(SKEL) $(GEN_HDRS)

$(OUT)/fuzz/user/%.o: user/%.c
	$(Q)mkdir -p $(@D)
	$(call msg,CC-FUZZ,$@)
	$(Q)$(FUZZ_CC) $(CFLAGS) $(FUZZ_FLAGS) -fsanitize=fuzzer-no-link $(DEPFLAGS) -c $< -o $@

$(OUT)/fuzz/%: tests/fuzz/%.c tests/fuzz/fuzz.h $(FUZZ_LIB_OBJS) | $(OUT)/fuzz/user
	$(call msg,LD-FUZZ,$@)
	$(Q)$(FUZZ_CC) $(CFLAGS) $(FUZZ_FLAGS) -fsanitize=fuzzer -Itests $(DEPFLAGS) $< $(FUZZ_LIB_OBJS) \
		$(LDLIBS) -o $@

$(OUT)/san/tests/unit/%.o: tests/unit/%.c
	$(Q)mkdir -p $(@D)
	$(call msg,CC-SAN,$@)
	$(Q)$(CC) $(CFLAGS) $(SAN_FLAGS) -Itests $(DEPFLAGS) -c $< -o $@

$(SAN_UNIT_BIN): $(SAN_UNIT_OBJS) $(SAN_LIB_OBJS)
	$(call msg,LD-SAN,$@)
	$(Q)$(CC) $(CFLAGS) $(SAN_FLAGS) $^ $(LDLIBS) -lcriterion -o $@

$(OUT)/tests/integration/%.o: tests/integration/%.c | $(OUT)/tests/integration
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -Itests $(DEPFLAGS) -c $< -o $@

# libbpf: test_kernel reads kernel struct sizes from BTF, its ground truth.
$(INTEG_BIN): $(INTEG_OBJS)
	$(call msg,LD,$@)
	$(Q)$(CC) $(CFLAGS) $^ -ljson-c -lcriterion -lbpf -o $@

$(OUT)/tests/fixtures/%: tests/fixtures/%.c | $(OUT)/tests/fixtures
	$(call msg,CC,$@)
	$(Q)$(CC) $(FIXTURE_CFLAGS) $(DEPFLAGS) $< -o $@

# *_static fixtures are statically linked: their malloc lives in themselves
$(OUT)/tests/fixtures/%_static: tests/fixtures/%_static.c | $(OUT)/tests/fixtures
	$(call msg,CC,$@)
	$(Q)$(CC) $(FIXTURE_CFLAGS) -static $(DEPFLAGS) $< -o $@

# otheralloc linked with each other allocator (it also runs under LD_PRELOAD
# as otheralloc); jemapi uses jemalloc's own API.
OTHERALLOC_LIBS := je:-ljemalloc tc:-ltcmalloc_minimal mi:-lmimalloc
OTHERALLOC_FIXTURES := $(foreach l,$(OTHERALLOC_LIBS),$(OUT)/tests/fixtures/otheralloc_$(word 1,$(subst :, ,$(l))))
FIXTURES += $(OTHERALLOC_FIXTURES)

# (a static pattern: a plain otheralloc_% would also "remake" the .d files)
$(OTHERALLOC_FIXTURES): $(OUT)/tests/fixtures/otheralloc_%: tests/fixtures/otheralloc.c \
			| $(OUT)/tests/fixtures
	$(call msg,CC,$@)
	$(Q)$(CC) $(FIXTURE_CFLAGS) $(DEPFLAGS) $< -o $@ \
		$(patsubst $*:%,%,$(filter $*:%,$(OTHERALLOC_LIBS)))

# jemalloc's static library with its API renamed je_malloc, je_free...: a
# je_-prefixed jemalloc inside the executable, for --allocator-prefix.
JEMALLOC_A := /usr/lib/x86_64-linux-gnu/libjemalloc_pic.a
JE_API := aligned_alloc calloc dallocx free mallctl mallctlbymib mallctlnametomib malloc \
	  malloc_stats_print malloc_usable_size mallocx memalign nallocx posix_memalign rallocx \
	  realloc sallocx sdallocx valloc xallocx malloc_conf malloc_message

$(OUT)/tests/fixtures/libje_prefixed.a: $(JEMALLOC_A) | $(OUT)/tests/fixtures
	$(call msg,OBJCOPY,$@)
	$(Q)printf '%s je_%s\n' $(foreach f,$(JE_API),$(f) $(f)) > $@.syms
	$(Q)objcopy --redefine-syms=$@.syms $< $@

$(OUT)/tests/fixtures/jeprefixed: tests/fixtures/jeprefixed.c $(OUT)/tests/fixtures/libje_prefixed.a \
				  | $(OUT)/tests/fixtures
	$(call msg,CC,$@)
	$(Q)$(CC) $(FIXTURE_CFLAGS) $(DEPFLAGS) $< $(OUT)/tests/fixtures/libje_prefixed.a -o $@ \
		-lm -ldl

# otheralloc statically linked with musl: its malloc is in the executable
MUSL_CC ?= musl-gcc
FIXTURES += $(OUT)/tests/fixtures/otheralloc_musl

$(OUT)/tests/fixtures/otheralloc_musl: tests/fixtures/otheralloc.c | $(OUT)/tests/fixtures
	$(call msg,MUSL-CC,$@)
	$(Q)$(MUSL_CC) $(FIXTURE_CFLAGS) -static $(DEPFLAGS) $< -o $@

# dlplugin.so: the library that dlopener dlopen()s from its own directory
# once the tracer is attached, so its leaks are in a module mapped late.
FIXTURES += $(OUT)/tests/fixtures/dlplugin.so

$(OUT)/tests/fixtures/dlplugin.so: tests/fixtures/dlplugin.c | $(OUT)/tests/fixtures
	$(call msg,CC,$@)
	$(Q)$(CC) $(FIXTURE_CFLAGS) -shared -fPIC $(DEPFLAGS) $< -o $@

$(OUT)/tests/fixtures/dlopener: | $(OUT)/tests/fixtures/dlplugin.so

# Fixtures built as distributions build them: -O2, no frame pointers,
# stripped.  reload_one.so and reload_two.so: the plugins that reloader
# loads one after the other at the same address, named from .dynsym.
DIST_CFLAGS := -g -O2 -fstack-protector-strong
RELOAD_PLUGINS := $(OUT)/tests/fixtures/reload_one.so $(OUT)/tests/fixtures/reload_two.so
FIXTURES += $(RELOAD_PLUGINS)

$(OUT)/tests/fixtures/reload_one.so: PLUGIN_DEFS :=
$(OUT)/tests/fixtures/reload_two.so: PLUGIN_DEFS := -DPLUGIN_TWO
$(RELOAD_PLUGINS): tests/fixtures/reload_plugin.c | $(OUT)/tests/fixtures
	$(call msg,CC,$@)
	$(Q)$(CC) $(DIST_CFLAGS) $(PLUGIN_DEFS) -shared -fPIC $(DEPFLAGS) $< -o $@.full
	$(Q)strip --strip-all -o $@ $@.full && rm -f $@.full

$(OUT)/tests/fixtures/reloader: | $(RELOAD_PLUGINS)

# strip-*: the stripped fixture with its symbols and DWARF where each way
# of finding them looks (tests/fixtures/stripped.c)
STRIPPED_FIXTURES := $(addprefix $(OUT)/tests/fixtures/strip-,debuglink mini dynsym bare)
FIXTURES += $(STRIPPED_FIXTURES)

$(STRIPPED_FIXTURES): $(OUT)/tests/fixtures/strip-%: tests/fixtures/stripped.c tests/fixtures/fixture.h \
		      tests/fixtures/strip-variant.sh | $(OUT)/tests/fixtures
	$(call msg,STRIP,$@)
	$(Q)tests/fixtures/strip-variant.sh $* '$(CC)' '$(DIST_CFLAGS)' $< $@

# leaker as distributions build it (-O2, no frame pointers, stripped, its
# symbols and DWARF in leaker-dist.debug behind .gnu_debuglink): --watch
# must name leak_slowly in what users run.
FIXTURES += $(OUT)/tests/fixtures/leaker-dist

$(OUT)/tests/fixtures/leaker-dist: tests/fixtures/leaker.c tests/fixtures/fixture.h \
				   tests/fixtures/strip-variant.sh | $(OUT)/tests/fixtures
	$(call msg,STRIP,$@)
	$(Q)tests/fixtures/strip-variant.sh debuglink '$(CC)' '$(DIST_CFLAGS) -fomit-frame-pointer' $< $@

# Code built as distributions build it: -O2 without frame pointers (the
# CFI walker's tests).  unwind_nofp links libnofp.so and dlopen()s
# nofpplugin.so, both from its own directory; unwind_fp keeps the
# fixtures' frame pointers and calls into libnofp.so.
NOFP_CFLAGS := -g -O2 -fomit-frame-pointer -Wall -Wextra $(WERROR) -pthread
FIXTURES += $(OUT)/tests/fixtures/libnofp.so $(OUT)/tests/fixtures/nofpplugin.so \
	    $(OUT)/tests/fixtures/unwind_cxx

$(OUT)/tests/fixtures/libnofp.so: tests/fixtures/nofplib.c | $(OUT)/tests/fixtures
	$(call msg,CC,$@)
	$(Q)$(CC) $(NOFP_CFLAGS) -shared -fPIC $(DEPFLAGS) $< -o $@

$(OUT)/tests/fixtures/nofpplugin.so: tests/fixtures/nofpplugin.c | $(OUT)/tests/fixtures
	$(call msg,CC,$@)
	$(Q)$(CC) $(NOFP_CFLAGS) -shared -fPIC $(DEPFLAGS) $< -o $@

$(OUT)/tests/fixtures/unwind_nofp: tests/fixtures/unwind_nofp.c $(OUT)/tests/fixtures/libnofp.so \
				   | $(OUT)/tests/fixtures/nofpplugin.so
	$(call msg,CC,$@)
	$(Q)$(CC) $(NOFP_CFLAGS) $(DEPFLAGS) $< -o $@ -L$(OUT)/tests/fixtures -lnofp \
		-Wl,-rpath,'$$ORIGIN' -ldl

$(OUT)/tests/fixtures/unwind_fp: tests/fixtures/unwind_fp.c $(OUT)/tests/fixtures/libnofp.so \
				 | $(OUT)/tests/fixtures
	$(call msg,CC,$@)
	$(Q)$(CC) $(FIXTURE_CFLAGS) $(DEPFLAGS) $< -o $@ -L$(OUT)/tests/fixtures -lnofp \
		-Wl,-rpath,'$$ORIGIN'

$(OUT)/tests/fixtures/unwind_cxx: tests/fixtures/unwind_cxx.cc | $(OUT)/tests/fixtures
	$(call msg,CXX,$@)
	$(Q)$(CXX) $(NOFP_CFLAGS) $(DEPFLAGS) $< -o $@

$(OUT)/tests/fixtures/jemapi: tests/fixtures/jemapi.c | $(OUT)/tests/fixtures
	$(call msg,CC,$@)
	$(Q)$(CC) $(FIXTURE_CFLAGS) $(DEPFLAGS) $< -o $@ -ljemalloc

$(OUT)/tests/fixtures/%: tests/fixtures/%.cc | $(OUT)/tests/fixtures
	$(call msg,CXX,$@)
	$(Q)$(CXX) $(FIXTURE_CFLAGS) $(DEPFLAGS) $< -o $@

# Go fixtures (Debian's golang-go), built offline: they import the standard
# library only, and GOPROXY=off makes any module download fail.  Go's build
# cache stays in $(OUT).  cgoleak calls C through cgo; gommap is pure Go,
# statically linked, without libc; cgooom grows C memory until it is killed;
# symframes (pure Go) and symcgo (cgo) are for the names of Go frames.
GO ?= go
GO_ENV := GOCACHE=$(OUT)/go/cache GOPATH=$(OUT)/go/path GOPROXY=off GOFLAGS=-mod=mod \
	  GO111MODULE=on
GO_FIXTURES := $(OUT)/tests/fixtures/go/cgoleak $(OUT)/tests/fixtures/go/gommap \
	       $(OUT)/tests/fixtures/go/cgooom $(OUT)/tests/fixtures/go/symframes \
	       $(OUT)/tests/fixtures/go/symcgo
FIXTURES += $(GO_FIXTURES)

$(OUT)/tests/fixtures/go/cgoleak $(OUT)/tests/fixtures/go/cgooom \
$(OUT)/tests/fixtures/go/symcgo: GO_CGO := 1
$(OUT)/tests/fixtures/go/gommap $(OUT)/tests/fixtures/go/symframes: GO_CGO := 0
$(GO_FIXTURES): $(OUT)/tests/fixtures/go/%: tests/fixtures/go/%/main.go tests/fixtures/go/%/go.mod
	$(call msg,GO,$@)
	$(Q)mkdir -p $(@D)
	$(Q)cd tests/fixtures/go/$* && $(GO_ENV) CGO_ENABLED=$(GO_CGO) $(GO) build -o $@ .

# Java fixtures (Debian's default-jdk-headless), compiled at build time.
JAVA_FIXTURES := $(OUT)/tests/fixtures/java/InflaterLeak.class
FIXTURES += $(JAVA_FIXTURES)

$(OUT)/tests/fixtures/java/%.class: tests/fixtures/java/%.java
	$(call msg,JAVAC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)javac -d $(@D) $<

fixtures: $(FIXTURES)

$(BROWSER_CHECK): tests/browser/check_page.js
	$(Q)mkdir -p $(dir $@)
	$(Q)cp $< $@

$(K8S_METRICS): tools/k8s/metrics.txt
	$(Q)mkdir -p $(dir $@)
	$(Q)cp $< $@

$(OUT)/bpf $(OUT)/user $(OUT)/tests/unit $(OUT)/tests/integration $(OUT)/tests/fixtures \
$(OUT)/san/user $(OUT)/san/tests/unit $(OUT)/fuzz/user $(GEN) $(OUT)/san/gen:
	$(Q)mkdir -p $@

# Criterion's own runner: --jobs 1 keeps the output readable; tests that
# cannot run fail under CI=true (see tests/integration/harness.h).
test-unit: $(UNIT_BIN)
	CI=$(CI) $(UNIT_BIN) --jobs 2

test-unit-san: $(SAN_UNIT_BIN)
	CI=$(CI) ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		$(SAN_UNIT_BIN) --jobs 2

test-integration: $(OUT)/leakwatch $(INTEG_BIN) $(FIXTURES) $(BROWSER_CHECK) $(DRIVERS) $(K8S_METRICS)
	LW_BUILD_DIR=$(OUT) CI=$(CI) $(INTEG_BIN) --jobs 1

# leakwatch itself built with ASan+UBSan, under the whole integration
# suite: every finding is a failure (exit status 99 and a log).
san: $(SAN_BIN) $(INTEG_BIN) $(FIXTURES) $(BROWSER_CHECK) $(DRIVERS) $(K8S_METRICS)
	$(Q)rm -rf $(SAN_LOGS) && mkdir -p $(SAN_LOGS)
	LW_BUILD_DIR=$(OUT) LW_LEAKWATCH=$(SAN_BIN) CI=$(CI) $(SAN_ENV) $(INTEG_BIN) --jobs 1 \
		$(if $(SAN_FILTER),--filter '$(SAN_FILTER)')
	$(Q)if [ -n "$$(ls -A $(SAN_LOGS))" ]; then cat $(SAN_LOGS)/*; \
		echo "make san: sanitizer findings above" >&2; exit 1; fi

# Each fuzz target for FUZZ_SECONDS, from its seeds in tests/fuzz/corpus/
# (and, for ELF, the fixtures just built); what it learns stays in
# $(O)/fuzz/corpus/, a crash in $(O)/fuzz/artifacts/ and fails the run.
fuzz: $(FUZZ_BINS) $(FIXTURES)
	$(Q)FUZZ_SECONDS=$(FUZZ_SECONDS) OUT=$(OUT) tests/fuzz/run.sh $(notdir $(FUZZ_BINS))

# leakwatch -i 1 against a churning, forking, exec'ing, dlopen'ing workload
# for SOAK_SECONDS (default 30 minutes): RSS and fd slopes, lost events.
soak: $(OUT)/leakwatch $(FIXTURES)
	$(Q)tools/soak/soak.sh $(OUT)

# leakwatch --watch for SOAK_SECONDS on a machine where processes start,
# exit, fork, exec and leak: RSS and fd slopes, false suspects, traces.
soak-watch: $(OUT)/leakwatch $(FIXTURES)
	$(Q)tools/soak/soak-watch.sh $(OUT)

# The Kubernetes alert rules and dashboard: promtool (Debian's prometheus
# package) checks the rules and runs their unit tests
# (tools/k8s/alerts_test.yaml); check-queries.py holds every query of the
# dashboard and the rules to the metrics --watch exports
# (tools/k8s/metrics.txt) and evaluates the dashboard's; its own tests
# break the dashboard every way it must catch.
PROMTOOL ?= promtool
PYTHON3 ?= python3

test-rules: $(OUT)/leakwatch
	$(PYTHON3) tools/k8s/check-daemonset.py tools/k8s/daemonset.yaml $(OUT)/leakwatch
	$(PROMTOOL) check rules tools/k8s/alerts.yaml
	$(PROMTOOL) test rules tools/k8s/alerts_test.yaml
	$(PYTHON3) tools/k8s/check-queries.py --promtool $(PROMTOOL) tools/k8s/metrics.txt \
		tools/k8s/dashboard.json tools/k8s/alerts.yaml
	$(PYTHON3) tools/k8s/test_check_queries.py $(PROMTOOL)

# The image of tools/k8s/Dockerfile built with podman from a bookworm base
# made with debootstrap (no registry needed), and its leakwatch run (root).
test-image: $(OUT)/leakwatch
	$(Q)tools/k8s/test-image.sh $(OUT)

# make test's short pass: about a minute in all
test-fuzz:
	$(Q)$(MAKE) --no-print-directory fuzz FUZZ_SECONDS=$(if $(TEST_FUZZ_SECONDS),$(TEST_FUZZ_SECONDS),10)

# The integration tests inside other kernels (Debian's 6.1 and 6.12: kprobes
# and fentry, no uprobe sessions) booted under qemu; see tools/kernels/.
# KERNELS="6.1 6.12", KFILTER=<Criterion --filter> ("all": every test).
test-kernels: $(OUT)/leakwatch $(INTEG_BIN) $(FIXTURES) $(BROWSER_CHECK) $(DRIVERS) $(K8S_METRICS)
	LW_BUILD_DIR=$(OUT) $(if $(KERNELS),LW_KERNELS='$(KERNELS)') \
		$(if $(KFILTER),LW_KERNEL_FILTER='$(KFILTER)') tools/kernels/test-kernels.sh

# The README's two commands: both install missing Debian packages first.
deps:
	$(Q)tools/install-deps.sh

test: deps
	$(Q)$(MAKE) --no-print-directory test-all

# the kernel matrix last: it is the longest (about 8 minutes); a short
# fuzzing pass (about a minute) and the sanitized leakwatch under the
# integration suite before it
test-all: test-unit test-unit-san test-rules test-fuzz test-integration san test-kernels

demo: deps
	$(Q)$(MAKE) --no-print-directory demo-run

# Benchmarks (root): ns per malloc+free pair untraced, under an empty-probe
# floor at the same sites, under leakwatch, under a bpftrace peer; ratios.
bench: $(OUT)/leakwatch $(OUT)/tests/fixtures/leaker-dist
	$(Q)$(MAKE) --no-print-directory -C tools/bench OUT=$(OUT)/bench LW_OUT=$(OUT) run

demo-run: $(OUT)/leakwatch $(OUT)/tests/fixtures/demo
	$(OUT)/leakwatch -- $(OUT)/tests/fixtures/demo

vmlinux:
	$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > vmlinux/$(ARCH)/vmlinux.h

clean:
	rm -rf $(OUT)

-include $(wildcard $(OUT)/bpf/*.d $(OUT)/user/*/*.d $(OUT)/san/user/*/*.d $(GEN)/*.d \
	$(OUT)/san/gen/*.d $(OUT)/tests/*/*.d $(OUT)/tests/unit/*/*.d $(OUT)/san/tests/unit/*/*.d \
	$(OUT)/fuzz/user/*/*.d $(OUT)/fuzz/*.d)
