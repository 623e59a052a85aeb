#!/usr/bin/env bash
# make memcheck: the integration suites with every ccr-keyd they start running
# under valgrind memcheck; fails on any memcheck error or definite leak.
#
# The suites start "$CCR_BUILD/ccr-keyd", so CCR_BUILD points at a look-alike
# of the build directory whose ccr-keyd execs valgrind on the real one (same
# pid, so tests still stop it by its pid) and whose other files link to the
# real build. No suite needs to know; the fault suites also see CCR_MEMCHECK=1
# and skip what valgrind cannot show (SIGKILL torture, set-uid copies) and
# relax RSS bounds. Each daemon writes its own valgrind log; a run that ended
# by SIGKILL has no summary and is counted apart.
#
#   MEMCHECK_SUITES="protocol faults"   run only these tests/integration suites
#   MEMCHECK_SKIP="torture"             suites left out (default below)
#
# All suites take about 20 minutes on a 2-core machine. A few tests cannot
# pass with valgrind in the way and are listed in KNOWN below with the reason;
# their failures are shown but do not fail the run. The verdict is valgrind's:
# no error and no definite leak in any daemon run, and no other failure.
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
real=$PWD/$BUILD
# Left out by default: torture kills every daemon with SIGKILL (no report);
# the e2e, install, docs and completion suites start no daemon of their own.
MEMCHECK_SKIP=${MEMCHECK_SKIP:-torture install docs completion}

# "suite: test name prefix" — reason.
KNOWN=(
	# strace follows valgrind, whose JIT maps pages writable and executable.
	"activation: the daemon opens only AF_UNIX sockets, maps nothing writable and executable"
	# Argon2id under valgrind takes longer than the test's 5 s reply timeout.
	"check: a locked keystore: exits 4 with the unlock hint"
	# 256 connections accepted under valgrind can outlast the test's 5 s sockcat timeout.
	"protocol: more than 256 connections: the next one gets busy and is closed"
	# Millisecond delays measured on the wall clock drown in valgrind's slowdown.
	"sealed_unlock: a wrong passphrase is denied (exit 4) after a delay that doubles each time"
	# Argon2id under valgrind takes longer than the test's 5 s reply timeout.
	"sealed_unlock: other peers are answered while passphrase set, unlock or change derives a key"
)

# Nothing here may reach the user's own keys or daemon.
. tests/sandbox.bash
sandbox_enter
work=$(mktemp -d "${TMPDIR:-/tmp}/ccr-memcheck.XXXXXX")
trap 'rm -rf "$work"; sandbox_leave' EXIT
mkdir -p "$work/build/tools" "$work/build/test" "$work/vg"
# Suites run daemons as nobody too (peer.bats): let them reach the wrapper and write a log.
chmod 755 "$work" "$work/build" "$work/build/tools" "$work/build/test"
chmod 1777 "$work/vg"
for f in "$real"/*; do
	case $(basename "$f") in
	ccr-keyd | tools | test) ;;
	*) ln -s "$f" "$work/build/" ;;
	esac
done
ln -s "$real"/tools/* "$work/build/tools/"
# Both daemons run under valgrind: the release build, and the test build that
# the suites needing the test knobs start (make test builds it).
for keyd in ccr-keyd test/ccr-keyd; do
	cat >"$work/build/$keyd" <<EOF
#!/bin/sh
exec valgrind --tool=memcheck --error-exitcode=99 --leak-check=full \\
	--errors-for-leak-kinds=definite --show-leak-kinds=definite --num-callers=30 \\
	--log-file="$work/vg/%p.log" "$real/$keyd" "\$@"
EOF
	chmod 755 "$work/build/$keyd"
done

suites=()
if [ -n "${MEMCHECK_SUITES:-}" ]; then
	for s in $MEMCHECK_SUITES; do suites+=("tests/integration/$s.bats"); done
else
	for t in tests/integration/*.bats; do
		name=$(basename "$t" .bats)
		[[ " $MEMCHECK_SKIP " == *" $name "* ]] || suites+=("$t")
	done
fi

export CCR_BUILD=$work/build CCR_TEST_ROOT=$PWD CCR_MEMCHECK=1
# known SUITE TEST: true when the failing TEST of SUITE is in KNOWN.
known() {
	local k
	for k in "${KNOWN[@]}"; do
		[[ "$1: $2" == "$k"* ]] && return 0
	done
	return 1
}

passed=0 failed=0 expected=0
for t in "${suites[@]}"; do
	name=$(basename "$t" .bats)
	printf '# suite %s (ccr-keyd under valgrind)\n' "$name"
	out=$(bats --tap "$t" 2>&1)
	printf '%s\n' "$out" | sed 's/^/  /'
	passed=$((passed + $(grep -Ec '^ok [0-9]+' <<<"$out")))
	while read -r test; do
		if known "$name" "$test"; then
			expected=$((expected + 1))
			printf '# known under valgrind, not counted: %s: %s\n' "$name" "$test"
		else
			failed=$((failed + 1))
		fi
	done < <(sed -n 's/^not ok [0-9]* //p' <<<"$out")
	sandbox_check "memcheck suite $name" || failed=$((failed + 1))
done

runs=0 errors=0 leaks=0 killed=0 bad=()
for log in "$work"/vg/*.log; do
	[ -e "$log" ] || continue
	runs=$((runs + 1))
	n=$(sed -n 's/.*ERROR SUMMARY: \([0-9]*\) errors.*/\1/p' "$log" | tail -n 1)
	if [ -z "$n" ]; then
		killed=$((killed + 1)) # SIGKILLed by its test: valgrind had no chance to report
		continue
	fi
	if [ "$n" -gt 0 ]; then
		errors=$((errors + n))
		grep -q 'definitely lost: [1-9]' "$log" && leaks=$((leaks + 1))
		bad+=("$log")
	fi
done
for log in "${bad[@]+"${bad[@]}"}"; do
	printf '# --- %s ---\n' "$(basename "$log")"
	sed 's/^/# /' "$log"
done
echo "memcheck: $runs ccr-keyd runs under valgrind ($killed ended by SIGKILL, unreported)," \
	"$errors errors, $leaks runs with a definite leak;" \
	"tests: $passed passed, $failed failed, $expected known to fail under valgrind"
[ "$errors" -eq 0 ] && [ "$leaks" -eq 0 ] && [ "$failed" -eq 0 ]
