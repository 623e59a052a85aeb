#!/usr/bin/env bats
# The daemon's life: its socket and directory, one daemon per keystore and per
# socket, stale sockets, signals, --daemon, --idle-exit, and its command line.

load helpers

setup() {
	common_setup
}

teardown() {
	common_teardown
	# A daemon that resolved a relative path against / left this behind.
	if [[ "${REL:-}" == ccr-it-rel-* ]] && [ -d "/$REL" ]; then
		rm -rf "/${REL:?}"
	fi
}

@test "the socket is 0600 in a 0700 directory, even under umask 000" {
	umask 000
	start_daemon
	[ -S "$CCR_KEYD_SOCKET" ]
	[ "$(stat -c %a "$CCR_KEYD_SOCKET")" = 600 ]
	[ "$(stat -c %a "$(dirname "$CCR_KEYD_SOCKET")")" = 700 ]
}

@test "a socket directory writable by others is refused with the chmod to run" {
	mkdir -m 777 "$BATS_TEST_TMPDIR/run"
	chmod 777 "$BATS_TEST_TMPDIR/run"
	run --separate-stderr timeout 5 "$KEYD"
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"chmod go-w $BATS_TEST_TMPDIR/run"* ]]
	[ ! -e "$CCR_KEYD_SOCKET" ]
}

@test "a socket directory that is a symlink is refused" {
	mkdir -m 700 "$BATS_TEST_TMPDIR/real"
	ln -s "$BATS_TEST_TMPDIR/real" "$BATS_TEST_TMPDIR/run"
	run --separate-stderr timeout 5 "$KEYD"
	[ "$status" -eq 1 ]
	[[ "$stderr" == *symlink* ]]
	[ ! -e "$BATS_TEST_TMPDIR/real/sock" ]
}

@test "a second daemon on the same keystore exits 1 with a clear message and the first serves on" {
	start_daemon
	set_key cerebras "$KEY1"
	run --separate-stderr timeout 5 "$KEYD" --socket "$BATS_TEST_TMPDIR/run/other"
	[ "$status" -eq 1 ]
	[[ "$stderr" == "ccr-keyd: another ccr-keyd already serves $CCR_KEYS"* ]]
	[ ! -e "$BATS_TEST_TMPDIR/run/other" ]
	run req '{"op":"get","name":"cerebras"}'
	assert_json "$output" value "$KEY1"
}

@test "a live socket makes a second daemon say already running and exit 1" {
	start_daemon
	run --separate-stderr timeout 5 "$KEYD" --keys "$BATS_TEST_TMPDIR/other-keys"
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"already running on $CCR_KEYD_SOCKET"* ]]
	# The first daemon's socket is still there and still answers.
	run req '{"op":"status"}'
	assert_json "$output" pid "$KEYD_PID"
}

@test "a stale socket left by a killed daemon is replaced" {
	start_daemon
	set_key cerebras "$KEY1"
	kill9_daemon "$KEYD_PID"
	[ -S "$CCR_KEYD_SOCKET" ] # left behind
	! answers "$CCR_KEYD_SOCKET" || fail "something still answers on the stale socket"
	start_daemon
	grep -q "replacing stale socket $CCR_KEYD_SOCKET" "$KEYD_LOG"
	run req '{"op":"get","name":"cerebras"}'
	assert_json "$output" value "$KEY1"
}

@test "a file at the socket path that is not a socket is left alone and refused" {
	mkdir -m 700 "$BATS_TEST_TMPDIR/run"
	echo precious >"$CCR_KEYD_SOCKET"
	run --separate-stderr timeout 5 "$KEYD"
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"$CCR_KEYD_SOCKET"*"not a socket"* ]]
	[ "$(cat "$CCR_KEYD_SOCKET")" = precious ]
}

@test "SIGTERM removes the socket and exits 0" {
	start_daemon
	set_key cerebras "$KEY1"
	stop_daemon "$KEYD_PID"
	[ "$STOP_STATUS" -eq 0 ]
	[ ! -e "$CCR_KEYD_SOCKET" ]
	grep -q 'exited cleanly' "$KEYD_LOG"
}

@test "SIGINT removes the socket and exits 0" {
	start_daemon
	kill -INT "$KEYD_PID"
	wait_gone "$KEYD_PID" 5000
	status=0
	wait "$KEYD_PID" || status=$?
	[ "$status" -eq 0 ]
	[ ! -e "$CCR_KEYD_SOCKET" ]
}

@test "SIGTERM while clients hold connections still exits 0 promptly" {
	start_daemon
	"$SOCKCAT" --hold 5 --timeout 10000 "$CCR_KEYD_SOCKET" >"$BATS_TEST_TMPDIR/held" 3>&- &
	holder=$!
	for i in $(seq 1 100); do
		[ -s "$BATS_TEST_TMPDIR/held" ] && break
		sleep 0.02
	done
	stop_daemon "$KEYD_PID"
	[ "$STOP_STATUS" -eq 0 ]
	# The held connections were closed by the daemon, so the holder ends by itself.
	wait "$holder"
	[ "$(grep -c closed "$BATS_TEST_TMPDIR/held")" -eq 5 ]
}

@test "SIGTERM right after a pipelined burst of sets: every acknowledged set is on disk" {
	start_daemon
	seq 1 30 | awk '{ printf "{\"op\":\"set\",\"name\":\"k%d\",\"value\":\"csk-test-term-%d\"}\n", $1, $1 }' |
		"$SOCKCAT" --half-close --timeout 10000 "$CCR_KEYD_SOCKET" >"$BATS_TEST_TMPDIR/acks" 3>&- &
	client=$!
	# Signal once the first acknowledgement is back: later sets are in flight.
	for i in $(seq 1 250); do
		[ -s "$BATS_TEST_TMPDIR/acks" ] && break
		sleep 0.01
	done
	stop_daemon "$KEYD_PID"
	[ "$STOP_STATUS" -eq 0 ]
	wait "$client" || true
	acked=$(grep -c '"ok":true' "$BATS_TEST_TMPDIR/acks" || true)
	[ "$acked" -ge 1 ]
	# Acknowledgements come in request order, so the acknowledged sets are k1..kN.
	on_disk=$(grep -o '"csk-test-term-[0-9]*"' "$CCR_KEYS" | tr -d '"' | sort -t- -k4 -n)
	[ "$(head -n "$acked" <<<"$on_disk")" = "$(seq -f 'csk-test-term-%g' 1 "$acked")" ] ||
		fail "acknowledged: $acked; on disk: $on_disk"
}

@test "a set after the keystore was changed on disk is io_error and loses nothing" {
	start_daemon
	set_key cerebras "$KEY1"
	write_keystore "{\"version\":1,\"keys\":{\"groq\":{\"value\":\"$KEY2\"}}}"
	cp "$CCR_KEYS" "$BATS_TEST_TMPDIR/edited"
	run req '{"op":"set","name":"new","value":"csk-test-new"}' '{"op":"get","name":"new"}' \
		'{"op":"get","name":"cerebras"}'
	assert_error "${lines[0]}" io_error
	[[ "$(jget message "${lines[0]}")" == *"kill -HUP $KEYD_PID"* ]]
	assert_error "${lines[1]}" not_found # memory rolled back
	assert_json "${lines[2]}" value "$KEY1"
	cmp "$BATS_TEST_TMPDIR/edited" "$CCR_KEYS" # the other program's edit survives
}

@test "--daemon detaches once listening: the socket answers at once and status has its pid" {
	run --separate-stderr "$KEYD" --daemon 3>&-
	[ "$status" -eq 0 ]
	answers "$CCR_KEYD_SOCKET"
	pid=$("$CLI" status --json | jget pid)
	DETACHED_PIDS+=("$pid")
	alive "$pid"
	[ "$("$CLI" status --json | jget started)" = "by hand" ]
	grep -q "serving 0 keys" "$CCR_HOME/keyd.log"
	kill -TERM "$pid"
	wait_gone "$pid" 5000
	[ ! -e "$CCR_KEYD_SOCKET" ]
}

# daemonize() changes to /, so relative paths must be made absolute before it:
# this once created /rel/keys.lock and listened on /rel/sock.
@test "--daemon resolves relative --keys and --socket against the directory it started in" {
	REL=ccr-it-rel-$(basename "$(mktemp -u)") # unique, so teardown may remove /$REL
	cd "$BATS_TEST_TMPDIR"
	run --separate-stderr "$KEYD" --daemon --keys "$REL/keys" --socket "$REL/sock" 3>&-
	DETACHED_PIDS+=($(pids_with_arg "$REL/sock"))
	[ "$status" -eq 0 ]
	[ ! -e "/$REL" ] || fail "it used /$REL: $(ls -A "/$REL" | tr '\n' ' ')"
	answers "$BATS_TEST_TMPDIR/$REL/sock"
	"$CLI" --socket "$BATS_TEST_TMPDIR/$REL/sock" set cerebras <<<"$KEY1" >/dev/null
	grep -q "$KEY1" "$BATS_TEST_TMPDIR/$REL/keys"
}

@test "--daemon reports a start-up failure on stderr and exits 1" {
	write_keystore 'not json'
	run --separate-stderr timeout 5 "$KEYD" --daemon 3>&-
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"$CCR_KEYS"*"not valid"* ]]
	[ ! -e "$CCR_KEYD_SOCKET" ]
}

@test "--idle-exit ends the daemon with status 0 after that long without connections" {
	start_daemon --idle-exit 1
	wait_gone "$KEYD_PID" 5000
	status=0
	wait "$KEYD_PID" || status=$?
	[ "$status" -eq 0 ]
	[ ! -e "$CCR_KEYD_SOCKET" ]
}

@test "--idle-exit never ends a daemon whose sealed keystore is unlocked; once locked it does" {
	use_test_build
	export CCR_KEYD_TEST_FAST_KDF=1
	start_daemon --idle-exit 1
	set_key cerebras "$KEY1"
	printf '%s\n' pw-test-idle | "$CLI" passphrase set --stdin >/dev/null
	# Unlocked, no connection, three times --idle-exit: exiting would lock it behind the
	# user's back (the next use would ask for the passphrase).
	sleep 3
	alive "$KEYD_PID" || fail "the daemon exited on idle while unlocked"
	assert_json "$(req '{"op":"get","name":"cerebras"}')" value "$KEY1"
	! grep -q 'exiting (--idle-exit)' "$KEYD_LOG" || fail "it exited idle while unlocked"
	"$CLI" lock >/dev/null
	wait_gone "$KEYD_PID" 5000 || fail "locked and idle, the daemon did not exit"
	status=0
	wait "$KEYD_PID" || status=$?
	[ "$status" -eq 0 ]
	grep -q 'exiting (--idle-exit)' "$KEYD_LOG"
}

@test "--idle-exit with --lock-after: the auto-lock comes first, then the idle exit" {
	use_test_build
	export CCR_KEYD_TEST_FAST_KDF=1
	start_daemon --idle-exit 1 --lock-after 2s
	set_key cerebras "$KEY1"
	printf '%s\n' pw-test-idle | "$CLI" passphrase set --stdin >/dev/null
	wait_gone "$KEYD_PID" 10000 || fail "the daemon did not exit after auto-lock and idle"
	locked=$(grep -n 'auto-lock: idle for --lock-after' "$KEYD_LOG" | cut -d: -f1)
	exited=$(grep -n 'exiting (--idle-exit)' "$KEYD_LOG" | cut -d: -f1)
	[ -n "$locked" ] && [ -n "$exited" ] && [ "$locked" -lt "$exited" ] ||
		fail "auto-lock at log line '$locked', idle exit at '$exited'"
}

# pipelined_sets N: N set requests for one connection to send at once.
pipelined_sets() {
	local i
	for ((i = 1; i <= $1; i++)); do
		printf '{"op":"set","name":"k%d","value":"csk-test-hup-%d"}\n' $((i % 20)) "$i"
	done
}

@test "SIGHUP under a write load that never lets the writer idle reloads within a batch, every time" {
	load ../faults/lib
	use_faultfs "fsync:0:nth=1:count=0:delay=15" # every save holds 15 ms
	keyd_start
	# One connection with 2,000 pipelined sets: each is queued while the one before
	# is written, so the queue never drains while they last (30 s at least).
	pipelined_sets 2000 >"$BATS_TEST_TMPDIR/sets"
	"$SOCKCAT" --timeout 120000 "$CCR_KEYD_SOCKET" <"$BATS_TEST_TMPDIR/sets" \
		>"$BATS_TEST_TMPDIR/acks" 3>&- &
	writer=$!
	CHILD_PIDS+=("$writer")
	for ((i = 0; i < 250; i++)); do
		[ "$(jget writes "$(req '{"op":"status"}')")" -ge 5 ] && break
		sleep 0.02
	done
	[ "$(jget writes "$(req '{"op":"status"}')")" -ge 5 ] || fail "the write load never started"
	for n in 1 2 3 4 5 6 7 8 9 10; do
		kill -HUP "$KEYD_PID"
		for ((i = 0; i < 150; i++)); do
			[ "$(jget reloads "$(req '{"op":"status"}')")" -ge "$n" ] && break
			sleep 0.02
		done
		[ "$(jget reloads "$(req '{"op":"status"}')")" -ge "$n" ] ||
			fail "SIGHUP $n was not acted on within 3 s under the write load"
	done
	acked=$(grep -c '"ok":true' "$BATS_TEST_TMPDIR/acks" || true)
	note "10 reloads while 2,000 pipelined sets were being written ($acked acknowledged by then)"
	[ "$acked" -lt 2000 ] || fail "the load was over before the reloads: nothing was tested"
	alive "$writer" || fail "the writer died under the reloads"
	kill "$writer"
	keyd_stop "$KEYD_PID"
}

@test "--version, --help, and a bad option exit 0, 0 and 2" {
	run "$KEYD" --version
	[ "$status" -eq 0 ]
	[[ "$output" =~ ^ccr-keyd\ [0-9]+\.[0-9]+\.[0-9]+ ]]
	run "$KEYD" --help
	[ "$status" -eq 0 ]
	[[ "$output" == *--socket* ]]
	run --separate-stderr "$KEYD" --no-such-option
	[ "$status" -eq 2 ]
	run --separate-stderr "$KEYD" --connection-idle soon
	[ "$status" -eq 2 ]
}

@test "with no socket given, daemon and client meet at \$XDG_RUNTIME_DIR/ccr-keyd/sock" {
	unset CCR_KEYD_SOCKET
	export XDG_RUNTIME_DIR=$BATS_TEST_TMPDIR/xdg
	mkdir -m 700 "$XDG_RUNTIME_DIR"
	"$KEYD" >>"$KEYD_LOG" 2>&1 3>&- </dev/null &
	KEYD_PID=$!
	CHILD_PIDS+=("$KEYD_PID")
	wait_for_socket "$XDG_RUNTIME_DIR/ccr-keyd/sock" "$KEYD_PID"
	[ "$(stat -c %a "$XDG_RUNTIME_DIR/ccr-keyd")" = 700 ]
	run "$CLI" set cerebras <<<"$KEY1"
	[ "$status" -eq 0 ]
	grep -q "$KEY1" "$CCR_HOME/keys"
}

@test "with neither socket nor XDG_RUNTIME_DIR, the socket is \$CCR_HOME/keyd.sock; CCR_HOME defaults to ~/.claude-code-router" {
	unset CCR_KEYD_SOCKET CCR_KEYS CCR_HOME
	export HOME=$BATS_TEST_TMPDIR/user
	mkdir -m 700 "$HOME"
	"$KEYD" >>"$KEYD_LOG" 2>&1 3>&- </dev/null &
	KEYD_PID=$!
	CHILD_PIDS+=("$KEYD_PID")
	wait_for_socket "$HOME/.claude-code-router/keyd.sock" "$KEYD_PID"
	run "$CLI" set cerebras <<<"$KEY1"
	[ "$status" -eq 0 ]
	grep -q "$KEY1" "$HOME/.claude-code-router/keys"
	[ "$(stat -c %a "$HOME/.claude-code-router")" = 700 ]
}

@test "a socket path too long for a Unix socket is refused with a clear message" {
	long=$BATS_TEST_TMPDIR/$(printf 'd%.0s' $(seq 1 110))
	run --separate-stderr timeout 5 "$KEYD" --socket "$long/sock"
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"too long"* ]]
	run --separate-stderr "$CLI" --socket "$long/sock" list
	[ "$status" -eq 3 ]
	[[ "$stderr" == *"too long"* ]]
}
