# The randomized model-based test (included by the Makefile).
#
#   $(BUILD)/tools/ccr-model   the test: clients, a controller and faults against a
#                              real ccr-keyd, every reply checked against a model
#   make model                 run it alone (MODEL_SECONDS, MODEL_SEED, MODEL_CLIENTS)
#
# It runs against the test build of an ASan+UBSan daemon (its fast key
# derivation and short wrong-passphrase delay exist only there, see the
# Makefile): a plain `make test` builds build/san/test/ccr-keyd first (a
# `make test SANITIZE=1` builds it as its own test daemon).

MODEL_SRC := $(wildcard tests/model/*.c)
ifeq ($(SANITIZE),1)
MODEL_KEYD := $(BUILD)/test/ccr-keyd
else
MODEL_KEYD := build/san/test/ccr-keyd
endif

.PHONY: model model-keyd

$(BUILD)/tools/ccr-model: $(MODEL_SRC) tests/model/model.h $(LIBCOMMON)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  TOOL    $@")
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) -Itests/model -o $@ $(MODEL_SRC) $(LIBCOMMON) $(LDFLAGS) \
		$(CJSON_LIBS) $(SODIUM_LIBS) -lpthread

# The sanitized test daemon, through a make of its own (its objects live in build/san).
ifeq ($(SANITIZE),1)
model-keyd: $(MODEL_KEYD)
else
model-keyd:
	@$(MAKE) --no-print-directory SANITIZE=1 BUILD=build/san build/san/test/ccr-keyd
endif

test-build: $(BUILD)/tools/ccr-model model-keyd

model: all $(TOOL_BIN) $(BUILD)/tools/ccr-model model-keyd
	@BUILD=$(BUILD) CCR_MODEL_KEYD=$(CURDIR)/$(MODEL_KEYD) bash -c \
		'. tests/sandbox.bash && sandbox_enter && CCR_BUILD=$$PWD/$(BUILD) bats --tap tests/model/model.bats; rc=$$?; sandbox_leave; exit $$rc'
