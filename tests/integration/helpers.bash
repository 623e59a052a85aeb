# Shared by every integration test: a private home, socket and keystore per
# test, the real binaries from $CCR_BUILD, and daemons started and stopped by
# their pid (never by name). Each .bats file does:
#
#   load helpers
#   setup() { common_setup; }
#   teardown() { common_teardown; }

bats_require_minimum_version 1.5.0

ROOT=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
CCR_BUILD=${CCR_BUILD:-$ROOT/build}
KEYD=$CCR_BUILD/ccr-keyd
# The test build (make test makes it): the only one that honours CCR_KEYD_TEST_*.
KEYD_TEST=$CCR_BUILD/test/ccr-keyd
CLI=$CCR_BUILD/ccr-config
SOCKCAT=$CCR_BUILD/tools/sockcat
JSONGET=$CCR_BUILD/tools/jsonget

# Obviously fake keys. KEY1 is long enough to be masked as csk-…f2a9.
KEY1=csk-test-0123456789abcdef0123f2a9
KEY2=csk-test-zyxwvutsrqponmlkjihg7b3c
KEY3=csk-test-aaaabbbbccccddddeeee9d4e

# fail MESSAGE...: end the test with a message on the TAP stream.
fail() {
	printf '# %s\n' "$@" >&2
	return 1
}

# common_setup: point every path at this test's temporary directory.
common_setup() {
	export TZ=UTC CCR_KEYD_NO_AUTOSTART=1
	export CCR_HOME=$BATS_TEST_TMPDIR/home
	export CCR_KEYD_SOCKET=$BATS_TEST_TMPDIR/run/sock
	export CCR_KEYS=$CCR_HOME/keys
	unset XDG_RUNTIME_DIR CCR_KEYD_BIN
	KEYD_LOG=$BATS_TEST_TMPDIR/keyd.log
	CHILD_PIDS=()
	DETACHED_PIDS=()
	local bin
	for bin in "$KEYD" "$CLI" "$SOCKCAT" "$JSONGET"; do
		[ -x "$bin" ] || fail "$bin is missing; run: make all build/tools/sockcat build/tools/jsonget"
	done
}

# use_test_build: daemons started from here on are the test build, whose key
# derivation and wrong-passphrase delay CCR_KEYD_TEST_FAST_KDF and
# CCR_KEYD_TEST_DELAY_SCALE shorten (build/ccr-keyd ignores them).
use_test_build() {
	[ -x "$KEYD_TEST" ] || fail "$KEYD_TEST is missing; run: make $KEYD_TEST"
	KEYD=$KEYD_TEST
}

# common_teardown: stop every daemon this test started that still runs.
common_teardown() {
	local pid
	for pid in "${CHILD_PIDS[@]}" "${DETACHED_PIDS[@]}"; do
		alive "$pid" || continue
		kill -TERM "$pid" 2>/dev/null || true
		wait_gone "$pid" 2000 || kill -KILL "$pid" 2>/dev/null || true
	done
	if [ -n "${BATS_TEST_COMPLETED:-}" ] || [ ! -s "${KEYD_LOG:-/nonexistent}" ]; then
		return 0
	fi
	printf '# --- daemon log ---\n' >&2
	sed 's/^/# /' "$KEYD_LOG" >&2
}

# alive PID: true while PID runs (a zombie does not count).
alive() {
	local state
	state=$(cut -d' ' -f3 "/proc/$1/stat" 2>/dev/null) || return 1
	[ -n "$state" ] && [ "$state" != Z ] && [ "$state" != X ]
}

# wait_gone PID [MS]: wait up to MS (default 5000) for PID to exit.
wait_gone() {
	local i
	for ((i = 0; i < ${2:-5000} / 20; i++)); do
		alive "$1" || return 0
		sleep 0.02
	done
	! alive "$1"
}

# wait_in FILE PATTERN [MS]: wait up to MS (default 5000) for a line matching
# PATTERN in FILE; fail with FILE's contents when none comes.
wait_in() {
	local i
	for ((i = 0; i < ${3:-5000} / 20; i++)); do
		grep -q -- "$2" "$1" 2>/dev/null && return 0
		sleep 0.02
	done
	fail "no '$2' in $1 within ${3:-5000} ms:" "$(cat "$1" 2>/dev/null)"
}

# answers SOCKET: true when something at SOCKET replies to a hello.
answers() {
	local reply
	reply=$(echo '{"op":"hello"}' |
		"$SOCKCAT" --half-close --lines 1 --timeout 1000 "$1" 2>/dev/null) || return 1
	[ -n "$reply" ]
}

# wait_for_socket SOCKET [PID]: wait up to 5 s for SOCKET to answer; fail early
# when PID (the daemon) has exited.
wait_for_socket() {
	local i
	for ((i = 0; i < 250; i++)); do
		answers "$1" && return 0
		if [ -n "${2:-}" ] && ! alive "$2"; then
			fail "ccr-keyd (pid $2) exited before $1 answered"
			return 1
		fi
		sleep 0.02
	done
	fail "nothing answered on $1 within 5 s"
}

# socket_arg ARGS...: the value of --socket in ARGS, else $CCR_KEYD_SOCKET.
socket_arg() {
	local sock=$CCR_KEYD_SOCKET
	while [ $# -gt 0 ]; do
		if [ "$1" = --socket ] && [ $# -gt 1 ]; then
			sock=$2
		fi
		shift
	done
	printf '%s\n' "$sock"
}

# start_daemon [ARGS...]: run ccr-keyd in the foreground as a background job,
# logging to $KEYD_LOG; sets KEYD_PID and waits until its socket answers.
start_daemon() {
	"$KEYD" "$@" >>"$KEYD_LOG" 2>&1 3>&- </dev/null &
	KEYD_PID=$!
	CHILD_PIDS+=("$KEYD_PID")
	wait_for_socket "$(socket_arg "$@")" "$KEYD_PID"
}

# stop_daemon PID: SIGTERM one daemon started by start_daemon and wait for it;
# sets STOP_STATUS to its exit status. Fails when it does not exit within 5 s.
stop_daemon() {
	STOP_STATUS=
	kill -TERM "$1"
	if ! wait_gone "$1" 5000; then
		kill -KILL "$1" 2>/dev/null || true
		fail "ccr-keyd (pid $1) did not exit within 5 s of SIGTERM"
		return 1
	fi
	STOP_STATUS=0
	wait "$1" || STOP_STATUS=$?
}

# kill9_daemon PID: SIGKILL one daemon started by start_daemon and reap it.
kill9_daemon() {
	kill -KILL "$1"
	wait "$1" 2>/dev/null || true
}

# req JSON...: send each argument as one request line on one connection, all at
# once, half-close, and print one reply line per request.
req() {
	printf '%s\n' "$@" |
		"$SOCKCAT" --half-close --lines $# --timeout 5000 "${REQ_SOCKET:-$CCR_KEYD_SOCKET}"
}

# jget PATH [JSON]: the member at PATH of JSON (or of each line of stdin).
jget() {
	if [ $# -gt 1 ]; then
		printf '%s\n' "$2" | "$JSONGET" "$1"
	else
		"$JSONGET" "$1"
	fi
}

# raw_value NAME: the stored value of NAME, read over the raw protocol.
raw_value() {
	req "{\"op\":\"get\",\"name\":\"$1\"}" | jget value
}

# assert_json JSON PATH EXPECTED: the member at PATH of JSON is EXPECTED.
assert_json() {
	local got
	got=$(jget "$2" "$1") || true
	[ "$got" = "$3" ] || fail "expected $2 = '$3' in" "$1" "got '$got'"
}

# refute_json JSON PATH: JSON has no member at PATH.
refute_json() {
	local rc=0
	jget "$2" "$1" >/dev/null || rc=$?
	[ "$rc" -eq 1 ] || fail "expected no $2 in" "$1"
}

# assert_ok JSON: a success reply.
assert_ok() {
	assert_json "$1" ok true
}

# assert_error JSON CODE: a failure reply with error CODE and a message.
assert_error() {
	assert_json "$1" ok false
	assert_json "$1" error "$2"
	[ -n "$(jget message "$1")" ] || fail "no message in: $1"
}

# refute_secret TEXT SECRET...: TEXT holds no SECRET, nor its middle part.
refute_secret() {
	local text=$1 s
	shift
	for s in "$@"; do
		[[ "$text" != *"$s"* ]] || fail "a full key leaked:" "$text"
		[[ "$text" != *"${s:8:16}"* ]] || fail "the middle of a key leaked:" "$text"
	done
}

# set_confirmed NAME VALUE ENV: store a key under an env name unlike a
# credential's (LVL, SECOND), as ccr-config does after a person's yes on a
# terminal: a set with "env_confirmed":true.
set_confirmed() {
	local reply
	reply=$(req "{\"op\":\"set\",\"name\":\"$1\",\"env\":\"$3\",\"value\":\"$2\",\"env_confirmed\":true}")
	[[ "$reply" == *'"ok":true'* ]] || fail "set_confirmed $1 $3: $reply"
}

# set_key NAME VALUE [ARGS...]: store a key through the real client.
set_key() {
	local name=$1 value=$2
	shift 2
	printf '%s\n' "$value" | "$CLI" set "$name" "$@" >/dev/null
}

# write_keystore TEXT [MODE]: put TEXT in $CCR_KEYS (mode 0600 unless given).
write_keystore() {
	mkdir -p "$(dirname "$CCR_KEYS")"
	chmod 700 "$(dirname "$CCR_KEYS")"
	printf '%s' "$1" >"$CCR_KEYS"
	chmod "${2:-600}" "$CCR_KEYS"
}

# pids_with_arg ARG: the pids of running processes with ARG, exactly, among
# their arguments (ARG is a path unique to this test, so this never finds
# another test's or another user's process).
pids_with_arg() {
	local f pid
	for f in $(grep -lzxF -- "$1" /proc/[0-9]*/cmdline 2>/dev/null); do
		pid=${f#/proc/}
		pid=${pid%/cmdline}
		[ "$pid" != "$BASHPID" ] && alive "$pid" && echo "$pid"
	done
	return 0
}
