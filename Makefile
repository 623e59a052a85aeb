# ccr-keyd — build, test, install.
#
#   make            build/ccr-keyd and build/ccr-config
#   make test       every test; ends with "N passed, M failed" (builds the test
#                   daemon $(BUILD)/test/ccr-keyd for itself, see below)
#   make test SANITIZE=1   the same under ASan + UBSan + LeakSanitizer (build/san/)
#   make test-unit | test-integration | test-model | test-node | test-smoke | test-e2e
#                   one group of those suites (tests/unit/test_*.c, tests/integration/*.bats,
#                   tests/model/*.bats, client/node/test/, the fuzz smoke and the quick
#                   benchmark, tests/e2e/*.bats); together they are make test
#   make test-suite SUITE=NAME   one suite (or several, space-separated), by the name
#                   its "# suite" line prints (integration/sealed_unlock) or its last
#                   part (sealed_unlock, test_names)
#                   Each ends with the same "N passed, M failed" line (tests/run.sh).
#   make e2e-deps   npm ci of the routers the e2e suites run (tests/e2e/deps.sh); every
#                   test target but test-unit runs it first, going on without a registry
#   make clean

PREFIX  ?= /usr/local
DESTDIR ?=
VERSION := 0.1.0

CC      ?= cc
# make V=1 shows every command.
ifeq ($(V),1)
Q =
else
Q = @
endif
PKG_CONFIG ?= pkg-config

ifeq ($(SANITIZE),1)
BUILD   ?= build/san
SANFLAGS = -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
OPT     ?= -O1 -g
else
BUILD   ?= build
SANFLAGS =
OPT     ?= -O2 -g
endif

UNAME_S := $(shell uname -s)
ifeq ($(UNAME_S),Linux)
OS_CPPFLAGS = -D_GNU_SOURCE
else
OS_CPPFLAGS = -D_DARWIN_C_SOURCE
endif

CJSON_CFLAGS  := $(shell $(PKG_CONFIG) --cflags libcjson)
CJSON_LIBS    := $(shell $(PKG_CONFIG) --libs libcjson)
UV_CFLAGS     := $(shell $(PKG_CONFIG) --cflags libuv)
UV_LIBS       := $(shell $(PKG_CONFIG) --libs libuv)
SODIUM_CFLAGS := $(shell $(PKG_CONFIG) --cflags libsodium)
SODIUM_LIBS   := $(shell $(PKG_CONFIG) --libs libsodium)
CMOCKA_CFLAGS := $(shell $(PKG_CONFIG) --cflags cmocka 2>/dev/null)
CMOCKA_LIBS   := $(shell $(PKG_CONFIG) --libs cmocka 2>/dev/null)

WARN     = -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
           -Wno-missing-field-initializers -Wno-format-truncation
CPPFLAGS += $(OS_CPPFLAGS) -DCCR_KEYD_VERSION='"$(VERSION)"' -Icommon
CFLAGS  += -std=c11 $(OPT) $(WARN) $(SANFLAGS) $(CJSON_CFLAGS) $(UV_CFLAGS) $(SODIUM_CFLAGS) \
           -fstack-protector-strong -D_FORTIFY_SOURCE=2 -fPIE
LDFLAGS += $(SANFLAGS) -pie -Wl,-z,relro,-z,now -Wl,--as-needed

COMMON_SRC := $(wildcard common/*.c)
DAEMON_SRC := $(wildcard daemon/*.c)
CLIENT_SRC := $(wildcard client/*.c)
UNIT_SRC   := $(wildcard tests/unit/test_*.c)
TOOL_SRC   := $(wildcard tests/tools/*.c)

COMMON_OBJ := $(COMMON_SRC:%.c=$(BUILD)/obj/%.o)
DAEMON_OBJ := $(DAEMON_SRC:%.c=$(BUILD)/obj/%.o)
CLIENT_OBJ := $(CLIENT_SRC:%.c=$(BUILD)/obj/%.o)
UNIT_BIN   := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
TOOL_BIN   := $(TOOL_SRC:tests/tools/%.c=$(BUILD)/tools/%)
LIBCOMMON  := $(BUILD)/libcommon.a
# The daemon's modules without main(), for unit tests of the store, arena, table.
LIBDAEMON  := $(BUILD)/libdaemon.a

.PHONY: all test clean install uninstall test-build e2e-deps \
	test-unit test-integration test-model test-node test-smoke test-e2e test-suite
all: $(BUILD)/ccr-keyd $(BUILD)/ccr-config

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) -MMD -MP -c -o $@ $<

$(LIBCOMMON): $(COMMON_OBJ)
	@rm -f $@
	$(Q)$(AR) rcs $@ $^

$(LIBDAEMON): $(filter-out %/main.o,$(DAEMON_OBJ))
	@rm -f $@
	$(Q)$(AR) rcs $@ $^

$(BUILD)/ccr-keyd: $(DAEMON_OBJ) $(LIBCOMMON)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(UV_LIBS) $(SODIUM_LIBS) $(CJSON_LIBS) -lpthread

# The client is started for every `ccr config …` and every router start, so it
# must cost next to nothing (docs/DESIGN.md: `ccr-config get` <= 1.25 x /bin/true).
# It links libc alone: jsonr reads the replies, so no cJSON, libuv or libsodium.
# And it is a static PIE, since mapping and relocating even libc.so alone is most
# of what is left: measured here (tests/bench/proctime, pinned, medians of 600
# runs), `ccr-config get` took 0.97 x /bin/true and 0.68 x `keyctl print` static,
# against 1.37 x /bin/true dynamic (libc only) with -z now, 1.35 x with -z lazy,
# and 1.58 x with libcjson too. Lazy binding buys ~20 us and costs full RELRO, so
# the dynamic fallback keeps -z now. The static PIE keeps ASLR and RELRO (it is
# relocated by its own start code), and like any static program it picks up a
# libc update only when rebuilt.
# Static glibc has one trap: getpwuid dlopens the NSS modules nsswitch.conf names
# (systemd, sss …), and a module loaded into a static program crashes it (a uid
# missing from /etc/passwd with HOME unset did, here). So the client gets its
# own paths.o, built with PATHS_NO_NSS, which reads /etc/passwd itself. Without
# a static libc (libc.a, rcrt1.o), in sanitizer builds and off Linux, or with
# CLIENT_STATIC=0, the client is linked dynamically, still against libc alone.
ifeq ($(filter 1,$(SANITIZE))$(UNAME_S),Linux)
CLIENT_STATIC ?= 1
else
CLIENT_STATIC ?= 0
endif
CLIENT_NONSS_OBJ := $(BUILD)/obj/client-static/paths.o
# Asked only when the client is linked: can this toolchain link a static PIE?
static_pie_ok = $(shell printf 'int main(void){return 0;}\n' | \
	$(CC) -static-pie -x c - -o /dev/null 2>/dev/null && echo yes)
client_static = $(and $(filter 1,$(CLIENT_STATIC)),$(static_pie_ok))

$(CLIENT_NONSS_OBJ): common/paths.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $< (PATHS_NO_NSS)")
	$(Q)$(CC) $(CPPFLAGS) -DPATHS_NO_NSS $(CFLAGS) -MMD -MP -c -o $@ $<

$(BUILD)/ccr-config: $(CLIENT_OBJ) $(CLIENT_NONSS_OBJ) $(LIBCOMMON)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(if $(client_static),$(patsubst -pie,-static-pie,$(LDFLAGS)) \
		$(CLIENT_NONSS_OBJ),$(LDFLAGS)) -o $@ $(CLIENT_OBJ) $(LIBCOMMON)

# The test build of the daemon, which only `make test` makes: the same sources
# compiled with -DCCR_KEYD_TEST_BUILD into $(BUILD)/test/. It alone honours the
# test knobs (CCR_KEYD_TEST_FAST_KDF, CCR_KEYD_TEST_DELAY_SCALE, read in
# daemon/vault.c) and accepts sealed files with Argon2id's minimum limits;
# $(BUILD)/ccr-keyd has no such code, whatever its environment says.
TEST_DAEMON_OBJ := $(DAEMON_SRC:%.c=$(BUILD)/test/obj/%.o)
TEST_KEYD       := $(BUILD)/test/ccr-keyd

$(BUILD)/test/obj/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $< (test build)")
	$(Q)$(CC) $(CPPFLAGS) -DCCR_KEYD_TEST_BUILD $(CFLAGS) -MMD -MP -c -o $@ $<

$(TEST_KEYD): $(TEST_DAEMON_OBJ) $(LIBCOMMON)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(UV_LIBS) $(SODIUM_LIBS) $(CJSON_LIBS) -lpthread

$(BUILD)/tests/%: tests/unit/%.c $(LIBDAEMON) $(LIBCOMMON)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  TEST    $@")
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) $(CMOCKA_CFLAGS) -Idaemon -Iclient -o $@ $< $(LIBDAEMON) \
		$(LIBCOMMON) $(LDFLAGS) $(CMOCKA_LIBS) $(UV_LIBS) $(SODIUM_LIBS) $(CJSON_LIBS) -lpthread

$(BUILD)/tools/%: tests/tools/%.c $(LIBCOMMON)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  TOOL    $@")
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ $< $(LIBCOMMON) $(LDFLAGS) $(CJSON_LIBS) $(SODIUM_LIBS) \
		-lpthread

# What the suites run against; the fragments included below add their own tools.
test-build: all $(UNIT_BIN) $(TOOL_BIN) $(TEST_KEYD)

# The routers come from npm in a step of their own, before any suite runs. Named on
# the command line (as .ci/run does), it fails when they cannot be installed; as a
# prerequisite of the test targets, the want of npm or a registry is reported and the
# suites that need a router skip.
e2e-deps:
	@bash tests/e2e/deps.sh $(if $(filter e2e-deps,$(MAKECMDGOALS)),,--or-skip)

# Every suite, or one group, or the suites SUITE names: all through tests/run.sh.
RUN_TESTS = BUILD=$(BUILD) SANITIZE=$(SANITIZE) bash tests/run.sh
test test-integration test-model test-node test-smoke test-e2e test-suite: test-build e2e-deps
test-unit: $(UNIT_BIN)
test:
	@$(RUN_TESTS)
test-unit test-integration test-model test-node test-smoke test-e2e:
	@$(RUN_TESTS) $(@:test-%=%)
test-suite:
	@$(RUN_TESTS) $(SUITE)
ifneq ($(filter test-suite,$(MAKECMDGOALS)),)
ifeq ($(strip $(SUITE)),)
$(error usage: make test-suite SUITE=NAME, e.g. SUITE=sealed_unlock)
endif
endif

clean:
	rm -rf build

-include $(COMMON_OBJ:.o=.d) $(DAEMON_OBJ:.o=.d) $(CLIENT_OBJ:.o=.d) $(CLIENT_NONSS_OBJ:.o=.d) \
	$(TEST_DAEMON_OBJ:.o=.d)

# Fragments owned by their areas: benchmarks, fuzzing, installation.
-include tests/bench/bench.mk
-include tests/fuzz/fuzz.mk
-include mk/install.mk
-include tests/faults/faults.mk
-include tests/model/model.mk
