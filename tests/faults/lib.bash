# Helpers shared by the issue-6 suites (torture, faults, limits, hostile_fs,
# hygiene, audit in tests/integration/). Load after helpers.bash:
#
#   load helpers
#   load ../faults/lib
#
# Daemons started here honour CCR_KEYD_WRAPPER (a command put in front of
# ccr-keyd, e.g. valgrind) and are stopped by their pid, like helpers.bash's.

FAULTFS=$CCR_BUILD/tools/faultfs.so
TWRITER=$CCR_BUILD/tools/torture-writer
TPEER=$CCR_BUILD/tools/torture-peer

# Under valgrind (make memcheck) everything is ~20x slower.
if [ -n "${CCR_KEYD_WRAPPER:-}${CCR_MEMCHECK:-}" ]; then
	KEYD_WAIT_MS=${KEYD_WAIT_MS:-30000}
else
	KEYD_WAIT_MS=${KEYD_WAIT_MS:-5000}
fi

# lib_setup: common_setup plus this library's tools.
lib_setup() {
	[ "$(uname -s)" = Linux ] || skip "needs Linux (LD_PRELOAD, /proc)"
	common_setup
	local bin
	for bin in "$TWRITER" "$TPEER" "$FAULTFS"; do
		[ -e "$bin" ] || fail "$bin is missing; run: make $bin"
	done
	KEYD_ENV=()
}

# note TEXT...: a TAP comment in the test output (also when the test passes).
note() {
	printf '# %s\n' "$*" >&3
}

# under_memcheck: true when the daemon runs under valgrind.
under_memcheck() {
	[ -n "${CCR_KEYD_WRAPPER:-}${CCR_MEMCHECK:-}" ]
}

# keyd_wait SOCKET PID: wait up to KEYD_WAIT_MS for SOCKET to answer a hello;
# fail early when PID has exited.
keyd_wait() {
	local i
	for ((i = 0; i < KEYD_WAIT_MS / 20; i++)); do
		answers "$1" && return 0
		if ! alive "$2"; then
			fail "ccr-keyd (pid $2) exited before $1 answered"
			return 1
		fi
		sleep 0.02
	done
	fail "nothing answered on $1 within $KEYD_WAIT_MS ms"
}

# keyd_spawn [ARGS...]: start ccr-keyd (behind CCR_KEYD_WRAPPER, with the
# variables in the array KEYD_ENV) as a background job logging to $KEYD_LOG;
# sets KEYD_PID. Does not wait.
keyd_spawn() {
	# shellcheck disable=SC2086 # the wrapper is a command line
	env ${KEYD_ENV[@]+"${KEYD_ENV[@]}"} ${CCR_KEYD_WRAPPER:-} "$KEYD" "$@" \
		>>"$KEYD_LOG" 2>&1 3>&- </dev/null &
	KEYD_PID=$!
	CHILD_PIDS+=("$KEYD_PID")
}

# keyd_start [ARGS...]: keyd_spawn and wait until the socket answers.
keyd_start() {
	keyd_spawn "$@"
	keyd_wait "$(socket_arg "$@")" "$KEYD_PID"
}

# keyd_stop PID: SIGTERM and wait; fails unless it exits with status 0 (a
# sanitizer or valgrind finding makes the status non-zero).
keyd_stop() {
	local status=0
	kill -TERM "$1"
	if ! wait_gone "$1" "$KEYD_WAIT_MS"; then
		kill -KILL "$1" 2>/dev/null || true
		fail "ccr-keyd (pid $1) did not exit within $KEYD_WAIT_MS ms of SIGTERM"
		return 1
	fi
	wait "$1" || status=$?
	[ "$status" -eq 0 ] || fail "ccr-keyd (pid $1) exited with status $status"
}

# rss PID: the resident set size of PID in KiB.
rss() {
	awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"
}

# fd_count PID: the open file descriptors of PID.
fd_count() {
	find "/proc/$1/fd" -mindepth 1 -maxdepth 1 | wc -l
}

# temp_files DIR: the keystore temp files (.NAME.tmp-*) left in DIR.
temp_files() {
	find "$1" -maxdepth 1 -name '.*.tmp-*' -printf '%f\n'
}

# raw_get NAME: the value the daemon holds for NAME, or "<absent>".
raw_get() {
	local reply
	reply=$(req "{\"op\":\"get\",\"name\":\"$1\"}")
	if [ "$(jget ok "$reply")" = true ]; then
		jget value "$reply"
	else
		echo "<absent>"
	fi
}

# peer_start ARGS...: run torture-peer ARGS in the background with its stdin on
# a pipe the test holds (the peer stays until peer_release); its output goes
# to $PEER_OUT. One such peer at a time.
peer_start() {
	local fifo=$BATS_TEST_TMPDIR/peer.in.$RANDOM
	PEER_OUT=$BATS_TEST_TMPDIR/peer.out.$RANDOM
	mkfifo "$fifo"
	"$TPEER" "$@" <"$fifo" >"$PEER_OUT" 2>&1 3>&- &
	PEER_PID=$!
	CHILD_PIDS+=("$PEER_PID")
	exec {PEER_FD}>"$fifo"
}

# peer_line [SECONDS]: wait up to SECONDS (default 60) for the peer's first
# line and print it.
peer_line() {
	local i
	for ((i = 0; i < ${1:-60} * 50; i++)); do
		if [ -s "$PEER_OUT" ] && grep -q . "$PEER_OUT"; then
			head -n 1 "$PEER_OUT"
			return 0
		fi
		alive "$PEER_PID" || break
		sleep 0.02
	done
	# It may have printed its line just before it exited (guard ... orphan does).
	if grep -q . "$PEER_OUT"; then
		head -n 1 "$PEER_OUT"
		return 0
	fi
	fail "torture-peer printed nothing:" "$(cat "$PEER_OUT")"
}

# peer_release: end the peer's stdin and wait for it to exit.
peer_release() {
	exec {PEER_FD}>&-
	wait "$PEER_PID"
}

# use_faultfs SPEC: daemons started next get the fault shim with CCR_FAULT=SPEC
# for files under $CCR_HOME. (ASan wants to come first among the libraries;
# the shim is plain C and may precede it.)
use_faultfs() {
	KEYD_ENV=("LD_PRELOAD=$FAULTFS" "CCR_FAULT_DIR=$CCR_HOME" "CCR_FAULT=$1"
		"ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0")
}

# wait_log PATTERN [MS]: wait up to MS (default KEYD_WAIT_MS) for PATTERN in $KEYD_LOG.
wait_log() {
	wait_in "$KEYD_LOG" "$1" "${2:-$KEYD_WAIT_MS}"
}
