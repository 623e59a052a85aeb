#!/usr/bin/env bash
# Runs every test suite and prints one closing line "N passed, M failed[, K skipped]".
#
# Each suite speaks TAP (cmocka with CMOCKA_MESSAGE_OUTPUT=TAP, bats --tap,
# node --test --test-reporter=tap). A suite that exits non-zero without reporting
# a failing test counts as one failure, so a crash is never read as a pass.
#
# Every suite runs in a sandbox (tests/sandbox.bash): HOME, XDG_RUNTIME_DIR and
# CCR_HOME point at a temporary directory, so nothing a test starts can reach
# the user's keystore or daemon; after each suite the user's own directories
# are compared with how they were, and a change fails that suite.
set -u
cd "$(dirname "$0")/.."
export BUILD=${BUILD:-build}
export CCR_TEST_ROOT=$PWD
export CCR_BUILD=$PWD/$BUILD

passed=0 failed=0 skipped=0
logdir=$(mktemp -d "${TMPDIR:-/tmp}/ccr-tests.XXXXXX")
. tests/sandbox.bash
sandbox_enter
trap 'rm -rf "$logdir"; sandbox_leave' EXIT

# run_suite NAME CMD...: run one suite, echo its TAP, add up its results.
run_suite() {
	local name=$1; shift
	local log="$logdir/suite.log" rc p f s
	printf '# suite %s\n' "$name"
	"$@" >"$log" 2>&1
	rc=$?
	sed 's/^/  /' "$log"
	# Top-level TAP lines only; node prints nested subtests indented.
	p=$(grep -Ec '^ok [0-9]+' "$log" || true)
	s=$(grep -Eic '^ok [0-9]+.*# skip' "$log" || true)
	f=$(grep -Ec '^not ok [0-9]+' "$log" || true)
	p=$((p - s))
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		printf '  not ok - suite %s exited with status %d\n' "$name" "$rc"
		f=1
	fi
	if [ $((p + f + s)) -eq 0 ]; then
		printf '  not ok - suite %s reported no test\n' "$name"
		f=1
	fi
	sandbox_check "suite $name" || f=$((f + 1))
	passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + s))
}

# The real routers (1.0.73 pinned in tests/e2e/package.json, the 2.x line in
# tests/e2e/v2/package.json) serve the e2e tests and migrate's check against the
# router's own substitution: install them first.
for dir in tests/e2e tests/e2e/v2; do
	if [ -f "$dir/package.json" ] && [ ! -d "$dir/node_modules/@musistudio" ] &&
		command -v npm >/dev/null; then
		echo "# installing the router for the end-to-end tests: npm ci --prefix $dir"
		timeout 300 npm ci --prefix "$dir" --ignore-scripts --no-audit --no-fund >"$logdir/npm.log" 2>&1 ||
			sed 's/^/# npm: /' "$logdir/npm.log" | tail -5
	fi
done

for t in "$BUILD"/tests/test_*; do
	[ -x "$t" ] || continue
	run_suite "unit/$(basename "$t")" env CMOCKA_MESSAGE_OUTPUT=TAP "$t"
done

for t in tests/integration/*.bats; do
	[ -e "$t" ] || continue
	run_suite "integration/$(basename "$t" .bats)" bats --tap "$t"
done

# The model-based test runs against the sanitized test build of the daemon
# (make test builds it; see the Makefile).
if [ "${SANITIZE:-}" = 1 ]; then
	export CCR_MODEL_KEYD=$CCR_BUILD/test/ccr-keyd
else
	export CCR_MODEL_KEYD=$PWD/build/san/test/ccr-keyd
fi
for t in tests/model/*.bats; do
	[ -e "$t" ] || continue
	run_suite "model/$(basename "$t" .bats)" bats --tap "$t"
done

if [ -d client/node/test ]; then
	run_suite "node" node --test --test-reporter=tap client/node/test/
fi

# The fuzz smoke and the quick benchmark prove their harnesses work; the
# sanitizer run skips them (the fuzzers carry their own sanitizers).
if [ "${SANITIZE:-}" != 1 ]; then
	run_suite "fuzz-smoke" make -s fuzz-smoke
	if grep -q '^bench-quick:' tests/bench/bench.mk 2>/dev/null; then
		run_suite "bench-quick" make -s bench-quick
	fi
fi

for t in tests/e2e/*.bats; do
	[ -e "$t" ] || continue
	run_suite "e2e/$(basename "$t" .bats)" bats --tap "$t"
done

if [ "$skipped" -gt 0 ]; then
	echo "$passed passed, $failed failed, $skipped skipped"
else
	echo "$passed passed, $failed failed"
fi
[ "$failed" -eq 0 ]
