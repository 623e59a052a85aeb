# make bench / make bench-quick: the benchmark harness of tests/bench/.
# The tools link only libc (+ pthreads); run.sh builds nothing and runs them
# against the baselines and against $(BUILD)/ccr-keyd and $(BUILD)/ccr-config.

BENCH_OUT   := $(BUILD)/bench
BENCH_NAMES := echo_server loadgen durable_write proctime starttime
BENCH_TOOLS := $(BENCH_NAMES:%=$(BENCH_OUT)/%)
BENCH_DEPS  := $(BENCH_TOOLS) $(BUILD)/ccr-keyd $(BUILD)/ccr-config

.PHONY: bench bench-quick bench-tools

$(BENCH_OUT)/%: tests/bench/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ $< $(LDFLAGS) -lpthread

bench-tools: $(BENCH_TOOLS)

# The full run: every figure, medians of 3 runs of >= 2 s (about 4 minutes).
bench: $(BENCH_DEPS) e2e-deps
	@BUILD=$(BUILD) bash tests/bench/run.sh
	@echo "# the router's start through ccr start, and the latency a key adds to one request"
	@BUILD=$(BUILD) bash tests/bench/router_start.sh || echo "# bench-router could not run"
	@BUILD=$(BUILD) bash tests/bench/router_request.sh || echo "# bench-request could not run"
	@BUILD=$(BUILD) ROUTER=2 bash tests/bench/router_request.sh || \
		echo "# bench-request (2.0.0) could not run"
	@BUILD=$(BUILD) bash tests/bench/router3_request.sh || \
		echo "# bench-request3 (3.1.1) could not run"
	@echo "# what confinement by the kernel adds to an agent's start"
	@BUILD=$(BUILD) bash tests/bench/confine.sh || echo "# bench-confine could not run"

# Proves the harness works (each case runs briefly, figures not meaningful);
# prints TAP lines "ok N - bench: CASE ran" for tests/run.sh. Under a minute.
bench-quick: $(BENCH_DEPS)
	@BUILD=$(BUILD) BENCH_QUICK=1 bash tests/bench/run.sh

# Instructions per get (ccr-keyd and the echo floor) and per key loaded, with
# callgrind: stable where wall-clock figures are not. Needs valgrind.
.PHONY: bench-profile
bench-profile: $(BENCH_DEPS)
	@BUILD=$(BUILD) bash tests/bench/profile.sh

# Time from `ccr start` to the router listening, bare and through the ccr function
# (target: at most +50 ms). Needs the router: make e2e-deps.
.PHONY: bench-router
bench-router: $(BUILD)/ccr-keyd $(BUILD)/ccr-config e2e-deps
	@BUILD=$(BUILD) bash tests/bench/router_start.sh

# The latency a key joining each upstream request adds (target: added median
# at most 0.5 ms), against the same router with its key in its environment.
.PHONY: bench-request
bench-request: $(BUILD)/ccr-keyd $(BUILD)/ccr-config e2e-deps
	@BUILD=$(BUILD) bash tests/bench/router_request.sh
	@BUILD=$(BUILD) ROUTER=2 bash tests/bench/router_request.sh

# The same for router 3.x: ccr-keyd's gateway plugin against 3.1.1 with the key
# in its config, both under Node 22 (tests/e2e/v3/setup.sh installs them in build/e2e-cache).
.PHONY: bench-request3
bench-request3: $(BUILD)/ccr-keyd $(BUILD)/ccr-config e2e-deps
	@BUILD=$(BUILD) bash tests/bench/router3_request.sh

# What confinement adds to an agent's start: guard, confined and not, and true.
.PHONY: bench-confine
bench-confine: $(BUILD)/ccr-keyd $(BUILD)/ccr-config $(BENCH_OUT)/proctime
	@BUILD=$(BUILD) bash tests/bench/confine.sh
