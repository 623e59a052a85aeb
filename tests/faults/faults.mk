# The fault suites (included by the Makefile): the fault-injection shim, the crash-torture
# and hostile-peer tools that tests/integration/{torture,faults,limits,...}.bats use,
# and `make memcheck`.
#
#   $(BUILD)/tools/faultfs.so      LD_PRELOAD shim failing the steps of a save
#   $(BUILD)/tools/torture-writer  writer client and checker of the crash torture
#   $(BUILD)/tools/torture-peer    floods, held connections, churn, half-closes
#   make memcheck                  the integration tests with ccr-keyd under valgrind

FAULT_TOOLS := $(BUILD)/tools/faultfs.so $(BUILD)/tools/torture-writer \
               $(BUILD)/tools/torture-peer

.PHONY: memcheck

# The shim is never sanitized: it runs inside whichever daemon it is preloaded into.
$(BUILD)/tools/faultfs.so: tests/faults/faultfs.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  SHIM    $@")
	$(Q)$(CC) -std=c11 -O2 -g $(WARN) -fPIC -shared -o $@ $< -ldl

$(BUILD)/tools/torture-%: tests/torture/%.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  TOOL    $@")
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ $< $(LDFLAGS) $(CJSON_LIBS)

# The shim and the tests that use these tools need Linux (LD_PRELOAD, /proc);
# elsewhere the suites skip.
ifeq ($(UNAME_S),Linux)
test-build: $(FAULT_TOOLS)
endif

# Runs the integration suites with every ccr-keyd under valgrind memcheck and
# fails on any memcheck error or definite leak (see tests/faults/memcheck.sh).
memcheck: all $(TOOL_BIN) $(FAULT_TOOLS) $(TEST_KEYD)
	@BUILD=$(BUILD) bash tests/faults/memcheck.sh
