#!/usr/bin/env bash
# Runs test suites and prints one closing line "N passed, M failed[, K skipped]";
# exits non-zero when a test failed.
#
#   tests/run.sh              every suite (make test)
#   tests/run.sh --list [WHAT...]   the names of the suites it would run, one a line
#   tests/run.sh WHAT...      only the suites WHAT names, in the same order: a group
#                             (unit, integration, model, node, smoke, e2e: make test-GROUP)
#                             or one suite by the name its "# suite" line prints
#                             (integration/sealed_unlock) or the last part of that
#                             name (sealed_unlock, test_names): make test-suite SUITE=…
#
# Each suite speaks TAP (cmocka with CMOCKA_MESSAGE_OUTPUT=TAP, bats --tap,
# node --test --test-reporter=tap). A suite that exits non-zero without reporting
# a failing test counts as one failure, so a crash is never read as a pass; so
# does a WHAT that names no suite.
#
# Every suite runs in a sandbox (tests/sandbox.bash): HOME, XDG_RUNTIME_DIR and
# CCR_HOME point at a temporary directory, so nothing a test starts can reach
# the user's keystore or daemon; after each suite the user's own directories
# are compared with how they were, and a change fails that suite.
#
# The e2e suites' routers come from npm in a step of their own before this runs
# (make e2e-deps, tests/e2e/deps.sh).
set -u
shopt -s nullglob
cd "$(dirname "$0")/.."
export BUILD=${BUILD:-build}
export CCR_TEST_ROOT=$PWD
case $BUILD in
/*) export CCR_BUILD=$BUILD ;;
*) export CCR_BUILD=$PWD/$BUILD ;;
esac

# The model-based test runs against the sanitized test build of the daemon
# (make test builds it; see the Makefile).
if [ "${SANITIZE:-}" = 1 ]; then
	export CCR_MODEL_KEYD=$CCR_BUILD/test/ccr-keyd
else
	export CCR_MODEL_KEYD=$PWD/build/san/test/ccr-keyd
fi

# suites: every suite's name, one a line, in the order make test runs them.
suites() {
	local t
	for t in "$BUILD"/tests/test_*; do
		echo "unit/${t##*/}"
	done
	for t in tests/integration/*.bats tests/model/*.bats; do
		t=${t#tests/}
		echo "${t%.bats}"
	done
	echo node
	# The fuzz smoke and the quick benchmark prove their harnesses work; the
	# sanitizer run skips them (the fuzzers carry their own sanitizers).
	if [ "${SANITIZE:-}" != 1 ]; then
		echo smoke/fuzz-smoke
		echo smoke/bench-quick
	fi
	for t in tests/e2e/*.bats; do
		t=${t#tests/}
		echo "${t%.bats}"
	done
}

# suite_run NAME: run the suite NAME, its output on stdout.
suite_run() {
	case $1 in
	unit/*) env CMOCKA_MESSAGE_OUTPUT=TAP "$BUILD/tests/${1#unit/}" ;;
	node) node --test --test-reporter=tap client/node/test/ ;;
	smoke/*) make -s "${1#smoke/}" ;;
	*) bats --tap "tests/$1.bats" ;;
	esac
}

# run_suite NAME: run one suite, echo its TAP, add up its results.
run_suite() {
	local name=$1
	local log="$logdir/suite.log" rc p f s
	printf '# suite %s\n' "$name"
	suite_run "$name" >"$log" 2>&1
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

# chosen WHAT...: the suites, in order, that a WHAT names: its group, its name,
# or the last part of its name. Every suite when there is no WHAT.
chosen() {
	local name what
	while IFS= read -r name; do
		[ $# -eq 0 ] && { echo "$name"; continue; }
		for what in "$@"; do
			if [ "$what" = "${name%%/*}" ] || [ "$what" = "$name" ] || [ "$what" = "${name##*/}" ]
			then
				echo "$name"
				break
			fi
		done
	done < <(suites)
}

if [ "${1:-}" = --list ]; then
	shift
	chosen "$@"
	exit
fi

passed=0 failed=0 skipped=0
logdir=$(mktemp -d "${TMPDIR:-/tmp}/ccr-tests.XXXXXX")
. tests/sandbox.bash
sandbox_enter
trap 'rm -rf "$logdir"; sandbox_leave' EXIT

for what in "$@"; do
	[ -n "$(chosen "$what")" ] && continue
	if [ -n "$(SANITIZE= chosen "$what")" ]; then
		printf '# %s: not run under SANITIZE=1\n' "$what"
		continue
	fi
	printf '# suite %s\n  not ok - no suite or group is named %s\n' "$what" "$what"
	failed=$((failed + 1))
done
mapfile -t names < <(chosen "$@")
for name in "${names[@]}"; do
	run_suite "$name"
done

if [ "$skipped" -gt 0 ]; then
	echo "$passed passed, $failed failed, $skipped skipped"
else
	echo "$passed passed, $failed failed"
fi
[ "$failed" -eq 0 ]
