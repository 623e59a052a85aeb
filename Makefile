# ccr-keyd — build, test, install.
#
#   make            build/ccr-keyd and build/ccr-config
#   make test       every test; ends with "N passed, M failed"
#   make test SANITIZE=1   the same under ASan + UBSan + LeakSanitizer (build/san/)
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

.PHONY: all test clean install uninstall
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

# The client is started for every `ccr config …` and every router start: it links
# only libc and cJSON (no libuv, no libsodium) so that it starts as fast as /bin/true.
$(BUILD)/ccr-config: $(CLIENT_OBJ) $(LIBCOMMON)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(CJSON_LIBS)

$(BUILD)/tests/%: tests/unit/%.c $(LIBDAEMON) $(LIBCOMMON)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  TEST    $@")
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) $(CMOCKA_CFLAGS) -Idaemon -Iclient -o $@ $< $(LIBDAEMON) \
		$(LIBCOMMON) $(LDFLAGS) $(CMOCKA_LIBS) $(UV_LIBS) $(SODIUM_LIBS) $(CJSON_LIBS) -lpthread

$(BUILD)/tools/%: tests/tools/%.c $(LIBCOMMON)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  TOOL    $@")
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ $< $(LIBCOMMON) $(LDFLAGS) $(CJSON_LIBS) -lpthread

test: all $(UNIT_BIN) $(TOOL_BIN)
	@BUILD=$(BUILD) SANITIZE=$(SANITIZE) bash tests/run.sh

clean:
	rm -rf build

-include $(COMMON_OBJ:.o=.d) $(DAEMON_OBJ:.o=.d) $(CLIENT_OBJ:.o=.d)

# Fragments owned by their areas: benchmarks, fuzzing, installation.
-include tests/bench/bench.mk
-include tests/fuzz/fuzz.mk
-include mk/install.mk
-include tests/faults/faults.mk
