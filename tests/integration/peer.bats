#!/usr/bin/env bats
# The peer check: a daemon running as another uid (nobody, through setpriv)
# refuses a peer of a different uid — here root, who passes the socket's file
# permissions — with denied, closes the connection, and logs the peer's uid and
# pid. Needs root (to run the daemon as nobody) and setpriv.

load helpers

setup() {
	common_setup
	[ "$(id -u)" -eq 0 ] || skip "needs root to run ccr-keyd as nobody"
	command -v setpriv >/dev/null || skip "needs setpriv (util-linux)"
	getent passwd nobody >/dev/null || skip "needs the user nobody"
	# BATS_TEST_TMPDIR may not be traversable by nobody: use a directory of our own.
	PEER_BASE=$(mktemp -d "${TMPDIR:-/tmp}/ccr-peer.XXXXXX")
	chmod 711 "$PEER_BASE"
	mkdir -m 700 "$PEER_BASE/nobody"
	chown nobody:"$(id -gn nobody)" "$PEER_BASE/nobody"
	NOBODY_SOCKET=$PEER_BASE/nobody/run/sock
	# The daemon as nobody: it creates its run and home directories itself.
	CCR_HOME=$PEER_BASE/nobody/home CCR_KEYS=$PEER_BASE/nobody/home/keys \
		setpriv --reuid=nobody --regid="$(id -g nobody)" --clear-groups \
		"$KEYD" --verbose --socket "$NOBODY_SOCKET" >>"$KEYD_LOG" 2>&1 3>&- </dev/null &
	KEYD_PID=$!
	CHILD_PIDS+=("$KEYD_PID")
	wait_for_socket "$NOBODY_SOCKET" "$KEYD_PID"
}

teardown() {
	common_teardown
	[ -z "${PEER_BASE:-}" ] || rm -rf "$PEER_BASE"
}

@test "the daemon under setpriv really runs as nobody with a socket nobody owns" {
	[ "$(stat -c %U "$NOBODY_SOCKET")" = nobody ]
	[ "$(awk '/^Uid:/ { print $3 }' "/proc/$KEYD_PID/status")" = "$(id -u nobody)" ]
}

@test "a peer of another uid gets denied, the connection is closed, and nothing else is served" {
	run "$SOCKCAT" --timeout 5000 "$NOBODY_SOCKET" \
		< <(printf '%s\n' '{"op":"list","id":1}' '{"op":"set","name":"x","value":"csk-test-intruder"}')
	[ "$status" -eq 0 ] || fail "the daemon did not close the connection (status $status)"
	[ "${#lines[@]}" -eq 1 ]
	assert_error "${lines[0]}" denied
	[ ! -e "$PEER_BASE/nobody/home/keys" ] # the set was never handled
}

@test "the refusal is logged with the peer's uid and pid" {
	"$SOCKCAT" --timeout 5000 "$NOBODY_SOCKET" </dev/null >"$BATS_TEST_TMPDIR/reply" 3>&- &
	peer=$!
	wait "$peer"
	grep -q '"error":"denied"' "$BATS_TEST_TMPDIR/reply"
	for i in $(seq 1 100); do
		grep -q "uid $(id -u) pid $peer" "$KEYD_LOG" && break
		sleep 0.02
	done
	grep -E "refused peer uid $(id -u) pid $peer\b" "$KEYD_LOG" ||
		fail "no log line names uid $(id -u) and pid $peer"
}

# The client checks the daemon too (tests/integration/trust.bats): it refuses a
# socket in a directory of another uid before it sends anything, every time.
@test "ccr-config against a daemon of another uid exits 4 and says why, every time" {
	for try in $(seq 1 10); do
		run --separate-stderr "$CLI" --socket "$NOBODY_SOCKET" list
		[ "$status" -eq 4 ] || fail "try $try: status $status: $stderr"
		[[ "$stderr" == "ccr-config: refusing to talk to $NOBODY_SOCKET: "*"owner uid $(id -u nobody)"* ]] ||
			fail "try $try: $stderr"
	done
}

@test "the daemon's own uid is served on the same socket" {
	run setpriv --reuid=nobody --regid="$(id -g nobody)" --clear-groups \
		"$SOCKCAT" --half-close --lines 1 "$NOBODY_SOCKET" <<<'{"op":"hello"}'
	assert_ok "$output"
}
