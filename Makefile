# Tablet agent: build, test, demo and benchmarks.
#
#   make            build the agent daemon and the control-plane CLI
#   make demo       the main job: a whole live migration on sandbox servers
#   make test       unit tests (valgrind), fuzz smoke run, integration tests,
#                   and the integration tests again with a sanitizer build
#   make test-asan  only that sanitizer pass
#   make chaos      the chaos suite: 70 faults across the lifecycle (see README)
#   make bench-*    benchmarks against the native baselines (see README)
#
# `demo` and `test` install missing Debian packages first (tests/deps.sh).

BUILD    := build
GEN      := $(BUILD)/gen
CC       ?= cc
MARIADB_CFLAGS := $(shell mariadb_config --cflags 2>/dev/null)
MARIADB_LIBS   := $(shell mariadb_config --libs 2>/dev/null)

WARN     := -Wall -Wextra -Werror -Werror=implicit-function-declaration \
            -Wshadow -Wstrict-prototypes -Wno-missing-field-initializers
CFLAGS   ?= -O2 -g
CFLAGS   += -std=gnu11 -fno-strict-aliasing -pthread
CPPFLAGS += -Iagent -I$(GEN) $(MARIADB_CFLAGS) -D_GNU_SOURCE
LDLIBS   := -lgrpc -lgpr -lprotobuf-c -luv -lmicrohttpd $(MARIADB_LIBS) -lssl -lcrypto -lz -lm -pthread

PROTO_SRC   := $(shell find proto -name '*.proto' | sort)
HEALTH_DIR  := /usr/share/grpc-proto
HEALTH_SRC  := grpc/health/v1/health.proto
PROTO_C     := $(patsubst proto/%.proto,$(GEN)/%.pb-c.c,$(PROTO_SRC)) \
               $(GEN)/grpc/health/v1/health.pb-c.c
PROTO_O     := $(patsubst %.c,%.o,$(PROTO_C))

AGENT_SRC   := $(shell find agent -name '*.c' ! -name main.c | sort)
AGENT_O     := $(patsubst %.c,$(BUILD)/%.o,$(AGENT_SRC))
CLI_SRC     := $(shell find controlplane-mock -name '*.c' ! -name cpctl.c | sort)
CLI_O       := $(patsubst %.c,$(BUILD)/%.o,$(CLI_SRC))
LIBCP       := $(BUILD)/libcp.a
UNIT_SRC    := $(shell find tests/unit -name '*.c' | sort)
UNIT_O      := $(patsubst %.c,$(BUILD)/%.o,$(UNIT_SRC))
TOOL_SRC    := $(shell find tests/tools -name '*.c' | sort)
TOOLS       := $(patsubst tests/tools/%.c,$(BUILD)/tools/%,$(TOOL_SRC))

LIBAGENT    := $(BUILD)/libagent.a
AGENT_BIN   := $(BUILD)/tablet-agent
ROUTER_BIN  := $(BUILD)/tablet-router
CLI_BIN     := $(BUILD)/cpctl
UNIT_BIN    := $(BUILD)/unit-tests
# The README's commands build with every core (the Makefile's dependencies
# are complete: generated headers come first, objects carry their .d files).
JOBS        := -j$(shell nproc 2>/dev/null || echo 2)

.PHONY: all deps demo test test-asan asan-agent unit fuzz-smoke fuzz-smoke-decoder fuzz-smoke-classify fuzz-smoke-router fuzz-smoke-rpc fuzz-decoder fuzz-classify fuzz-router fuzz-rpc fuzz-rpc-seeds integration node-test clean \
        bench-apply bench-copy bench-cutover bench-vdiff bench-router sandbox-up sandbox-down chaos
.SECONDARY:

all: $(AGENT_BIN) $(ROUTER_BIN) $(CLI_BIN) $(TOOLS)

# --- protobuf-c code, generated at build time, never committed -------------
$(GEN)/%.pb-c.c $(GEN)/%.pb-c.h: proto/%.proto
	@mkdir -p $(GEN)
	@echo "  PROTOC  $<"
	@protoc-c --c_out=$(GEN) -Iproto $<

$(GEN)/grpc/health/v1/health.pb-c.c $(GEN)/grpc/health/v1/health.pb-c.h: $(HEALTH_DIR)/$(HEALTH_SRC)
	@mkdir -p $(GEN)
	@echo "  PROTOC  $(HEALTH_SRC)"
	@protoc-c --c_out=$(GEN) -I$(HEALTH_DIR) $(HEALTH_SRC)

# Generated code is not ours to fix: compile it without -Werror. A .proto
# may import another (router.proto uses controlplane's Mode), so every
# header is generated first.
$(GEN)/%.pb-c.o: $(GEN)/%.pb-c.c | $(PROTO_C)
	@echo "  CC      $<"
	@$(CC) $(CPPFLAGS) $(CFLAGS) -w -c -o $@ $<

# Every object depends on the generated headers being present.
$(BUILD)/%.o: %.c | $(PROTO_C)
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	@$(CC) $(CPPFLAGS) $(CFLAGS) $(WARN) -MMD -MP -c -o $@ $<

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)

$(LIBAGENT): $(AGENT_O) $(PROTO_O)
	@rm -f $@
	@ar rcs $@ $^

$(AGENT_BIN): $(BUILD)/agent/main.o $(LIBAGENT)
	@echo "  LINK    $@"
	@$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

$(ROUTER_BIN): $(BUILD)/agent/router/main.o $(LIBAGENT)
	@echo "  LINK    $@"
	@$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

$(LIBCP): $(CLI_O)
	@rm -f $@
	@ar rcs $@ $^

$(CLI_BIN): $(BUILD)/controlplane-mock/cpctl.o $(LIBCP) $(LIBAGENT)
	@echo "  LINK    $@"
	@$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tools/%: $(BUILD)/tests/tools/%.o $(LIBCP) $(LIBAGENT)
	@mkdir -p $(dir $@)
	@echo "  LINK    $@"
	@$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

$(UNIT_BIN): $(UNIT_O) $(LIBCP) $(LIBAGENT)
	@echo "  LINK    $@"
	@$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS) -lcunit

# --- fuzzing (libFuzzer + ASan + UBSan) ------------------------------------
# Four targets: the binlog decoder, the router's statement classifier and
# protocol parsers, and the agent's gRPC request path.
# make fuzz-smoke (part of make test): the decoder for FUZZ_SECONDS (default
# 30), the router's classifier and its protocol parsers for
# FUZZ_CLASSIFY_SECONDS and FUZZ_ROUTER_SECONDS (default 15 each), the
# request path for FUZZ_RPC_SECONDS (default 10), as many at once as make's
# -j allows; it fails when a fuzzer finds something. make fuzz-decoder, fuzz-classify, fuzz-router, fuzz-rpc:
# one long run each, FUZZ_SECONDS (default 900), with statistics. Crashes
# land in build/fuzz/crash-*.
FUZZ_FLAGS   := -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
FUZZ_DEC_SRC := agent/vrepl/decoder.c agent/db/schema.c agent/db/db.c agent/lib/sbuf.c \
                agent/lib/secret.c tests/fuzz/fuzz_decoder.c
FUZZ_DEC     := $(BUILD)/fuzz/fuzz_decoder
FUZZ_RUN     := $(FUZZ_DEC) -max_len=4096 -artifact_prefix=$(BUILD)/fuzz/crash- \
                $(BUILD)/fuzz/corpus-decoder tests/fuzz/corpus/decoder
FUZZ_CLS_SRC := agent/router/classify.c tests/fuzz/fuzz_classify.c
FUZZ_CLS     := $(BUILD)/fuzz/fuzz_classify
FUZZ_CLS_RUN := $(FUZZ_CLS) -max_len=4096 -dict=tests/fuzz/classify.dict \
                -artifact_prefix=$(BUILD)/fuzz/crash-classify- \
                $(BUILD)/fuzz/corpus-classify tests/fuzz/corpus/classify

FUZZ_RTR_SRC := agent/router/wire.c agent/router/resp.c agent/lib/sbuf.c tests/fuzz/fuzz_router.c
FUZZ_RTR     := $(BUILD)/fuzz/fuzz_router
FUZZ_RTR_RUN := $(FUZZ_RTR) -max_len=8192 -artifact_prefix=$(BUILD)/fuzz/crash-router- \
                $(BUILD)/fuzz/corpus-router tests/fuzz/corpus/router

# The agent's request path (tests/fuzz/fuzz_rpc.c says how): what the loop
# thread runs for a request is built for fuzzing (instrumented, sanitized);
# the rest (the data path, preflight's checks, cutover: only the fixtures'
# background threads run them) comes from libagent.a as built, which keeps
# this build short. rpc_server.c is not linked: the harness replaces it. The
# link wraps where the harness stands in for the thread pool, the
# workflows' threads and the log, and how threads start.
FUZZ_RPC_SRC := $(wildcard agent/rpc/service*.c) agent/rpc/pbcheck.c agent/rpc/pbconv.c \
                agent/rpc/pbconv_workflow.c agent/config.c $(wildcard agent/lib/*.c) agent/db/db.c \
                agent/preflight/preflight.c $(addprefix agent/vrepl/,stream.c vpos.c table_filter.c) \
                $(addprefix agent/workflow/,registry.c streams.c workflows.c import.c import_def.c) \
                $(GEN)/tabletagent/v1/tabletagent.pb-c.c $(GEN)/grpc/health/v1/health.pb-c.c tests/fuzz/fuzz_rpc.c
FUZZ_RPC_O   := $(patsubst %.c,$(BUILD)/fuzz/obj/%.o,$(FUZZ_RPC_SRC))
FUZZ_RPC     := $(BUILD)/fuzz/fuzz_rpc
FUZZ_RPC_RUN := $(FUZZ_RPC) -max_len=4096 -dict=tests/fuzz/rpc.dict -artifact_prefix=$(BUILD)/fuzz/crash-rpc- \
                $(BUILD)/fuzz/corpus-rpc tests/fuzz/corpus/rpc

$(FUZZ_DEC): $(FUZZ_DEC_SRC) agent/vrepl/decoder.h agent/db/schema.h agent/db/db.h agent/lib/sbuf.h
	@mkdir -p $(dir $@) $(BUILD)/fuzz/corpus-decoder
	@echo "  FUZZ    $@"
	@clang $(FUZZ_FLAGS) -Iagent -I$(GEN) $(MARIADB_CFLAGS) -D_GNU_SOURCE $(FUZZ_DEC_SRC) -o $@ $(MARIADB_LIBS) -lz -lm

$(FUZZ_CLS): $(FUZZ_CLS_SRC) agent/router/classify.h
	@mkdir -p $(dir $@) $(BUILD)/fuzz/corpus-classify
	@echo "  FUZZ    $@"
	@clang $(FUZZ_FLAGS) $(WARN) -Iagent -D_GNU_SOURCE $(FUZZ_CLS_SRC) -o $@

$(FUZZ_RTR): $(FUZZ_RTR_SRC) agent/router/wire.h agent/router/resp.h
	@mkdir -p $(dir $@) $(BUILD)/fuzz/corpus-router
	@echo "  FUZZ    $@"
	@clang $(FUZZ_FLAGS) $(WARN) -Iagent -D_GNU_SOURCE $(FUZZ_RTR_SRC) -o $@ -lcrypto

$(BUILD)/fuzz/obj/%.o: %.c | $(PROTO_C)
	@mkdir -p $(dir $@)
	@echo "  FUZZCC  $<"
	@clang $(FUZZ_FLAGS) -std=gnu11 -fno-strict-aliasing -pthread $(CPPFLAGS) \
		$(if $(filter $(GEN)/%,$<),-w,$(WARN)) -MMD -MP -c -o $@ $<

$(FUZZ_RPC): $(FUZZ_RPC_O) $(LIBAGENT)
	@mkdir -p $(BUILD)/fuzz/corpus-rpc
	@echo "  FUZZ    $@"
	@clang $(FUZZ_FLAGS) -Wl,--wrap=uv_queue_work,--wrap=import_command_with,--wrap=log_write,--wrap=uv_thread_create \
		$^ -o $@ $(LDLIBS)

# The seeds: valid requests of every method and requests that each reach one
# check, packed by tests/fuzz/rpc_seeds.c. Run again when the .proto or the
# method table changes.
$(BUILD)/fuzz/rpc_seeds: tests/fuzz/rpc_seeds.c $(LIBAGENT)
	@mkdir -p $(dir $@)
	@echo "  LINK    $@"
	@$(CC) $(CPPFLAGS) $(CFLAGS) $(WARN) -o $@ $^ $(LDLIBS)

fuzz-rpc-seeds: $(BUILD)/fuzz/rpc_seeds
	rm -rf tests/fuzz/corpus/rpc && mkdir -p tests/fuzz/corpus/rpc
	$(BUILD)/fuzz/rpc_seeds tests/fuzz/corpus/rpc

# Each run's verdict lines are shown; the fuzzer's own exit status decides
# (piped into tail, a crash would pass). Full logs: build/fuzz/smoke-*.log.
# One target per fuzzer, so `make -j2 fuzz-smoke` (what make test runs) keeps
# both cores busy: each fuzzer is one process on one core.
FUZZ_VERDICT := grep -E 'Done [0-9]+ runs|ERROR|SUMMARY|deadly signal|written to|^classify:'
fuzz_smoke = $(1) -max_total_time=$(2) >$(BUILD)/fuzz/smoke-$(3).log 2>&1; \
	rc=$$?; $(FUZZ_VERDICT) $(BUILD)/fuzz/smoke-$(3).log | sed 's/^/$(3): /'; exit $$rc
fuzz-smoke: fuzz-smoke-decoder fuzz-smoke-classify fuzz-smoke-router fuzz-smoke-rpc
fuzz-smoke-decoder: $(FUZZ_DEC)
	@$(call fuzz_smoke,$(FUZZ_RUN),$${FUZZ_SECONDS:-30},decoder)
fuzz-smoke-classify: $(FUZZ_CLS)
	@$(call fuzz_smoke,$(FUZZ_CLS_RUN),$${FUZZ_CLASSIFY_SECONDS:-15},classify)
fuzz-smoke-router: $(FUZZ_RTR)
	@$(call fuzz_smoke,$(FUZZ_RTR_RUN),$${FUZZ_ROUTER_SECONDS:-15},router)
fuzz-smoke-rpc: $(FUZZ_RPC)
	@$(call fuzz_smoke,$(FUZZ_RPC_RUN),$${FUZZ_RPC_SECONDS:-10},rpc)

fuzz-decoder: $(FUZZ_DEC)
	$(FUZZ_RUN) -max_total_time=$${FUZZ_SECONDS:-900} -print_final_stats=1

fuzz-classify: $(FUZZ_CLS)
	$(FUZZ_CLS_RUN) -max_total_time=$${FUZZ_SECONDS:-900} -print_final_stats=1

fuzz-router: $(FUZZ_RTR)
	$(FUZZ_RTR_RUN) -max_total_time=$${FUZZ_SECONDS:-900} -print_final_stats=1

fuzz-rpc: $(FUZZ_RPC)
	@mkdir -p $(BUILD)/fuzz/corpus-rpc
	$(FUZZ_RPC_RUN) -max_total_time=$${FUZZ_SECONDS:-900} -print_final_stats=1

# --- the two commands of the README -----------------------------------------
deps:
	@tests/deps.sh

demo: deps
	@$(MAKE) $(JOBS) --no-print-directory all
	@tests/demo.sh

test: deps
	@$(MAKE) $(JOBS) --no-print-directory all $(UNIT_BIN) asan-agent
	@tests/run-tests.sh

# The agent again with AddressSanitizer and UndefinedBehaviorSanitizer, for
# the second pass of the integration tests (tests/run-tests.sh), and the
# control plane and router follower that test_router_rules.sh runs.
ASAN_FLAGS := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
asan-agent:
	@$(MAKE) --no-print-directory BUILD=$(BUILD)/asan CFLAGS="$(ASAN_FLAGS)" LDFLAGS="$(ASAN_FLAGS)" \
		$(BUILD)/asan/tablet-agent $(BUILD)/asan/tablet-router $(BUILD)/asan/cpctl $(BUILD)/asan/tools/rules_follow

# Only the sanitizer pass.
test-asan: deps
	@$(MAKE) $(JOBS) --no-print-directory all asan-agent
	@SANITIZED=only tests/run-tests.sh

unit: $(UNIT_BIN)
	tests/run-unit.sh $(UNIT_BIN)

bench-apply: deps
	@$(MAKE) $(JOBS) --no-print-directory all
	@tests/bench/bench_apply.sh

bench-copy: deps
	@$(MAKE) $(JOBS) --no-print-directory all
	@tests/bench/bench_copy.sh

# The chaos suite: the lifecycle under load with 70 faults (kills, network
# faults, server restarts), in a network namespace of its own (root).
chaos: deps
	@$(MAKE) $(JOBS) --no-print-directory all
	@tests/chaos/chaos.sh

bench-cutover: deps
	@$(MAKE) $(JOBS) --no-print-directory all
	@tests/bench/bench_cutover.sh

bench-vdiff: deps
	@$(MAKE) $(JOBS) --no-print-directory all
	@tests/bench/bench_vdiff.sh

bench-router: deps
	@$(MAKE) $(JOBS) --no-print-directory all
	@tests/bench/bench_router.sh

sandbox-up: all
	tests/sandbox.sh start

sandbox-down:
	tests/sandbox.sh stop

clean:
	rm -rf $(BUILD)
