# Fuzzing with libFuzzer (clang): `make fuzz` builds every tests/fuzz/fuzz_*.c
# target into $(BUILD)/fuzz/; `make fuzz-smoke` runs each for FUZZ_SECONDS on a
# copy of its seed corpus (tests/fuzz/corpus/NAME) and fails on any crash.

FUZZ_CC      ?= clang
FUZZ_FLAGS   ?= -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
FUZZ_SECONDS ?= 12
FUZZ_SRC     := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BIN     := $(FUZZ_SRC:tests/fuzz/%.c=$(BUILD)/fuzz/%)
FUZZ_COMMON  := $(filter-out common/conn.c,$(COMMON_SRC))

.PHONY: fuzz fuzz-smoke
fuzz: $(FUZZ_BIN)

$(BUILD)/fuzz/%: tests/fuzz/%.c $(FUZZ_COMMON) $(wildcard common/*.h)
	@mkdir -p $(dir $@)
	$(Q)$(FUZZ_CC) $(FUZZ_FLAGS) $(OS_CPPFLAGS) -Icommon $(CJSON_CFLAGS) $(SODIUM_CFLAGS) \
		-o $@ $< $(FUZZ_COMMON) $(CJSON_LIBS) $(SODIUM_LIBS)

fuzz-smoke: fuzz
	@bash tests/fuzz/smoke.sh $(BUILD)/fuzz $(FUZZ_SECONDS)
