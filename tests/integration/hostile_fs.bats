#!/usr/bin/env bats
# A hostile filesystem: symlinks where the keystore or its directory should be,
# directories others may write, a keystore changed behind the daemon's back,
# and the socket path taken by something else. Nothing is followed, nothing is
# clobbered, and every refusal says what to do.

load helpers
load ../faults/lib

ORIG="{\"version\":1,\"keys\":{\"a\":{\"value\":\"csk-test-original-aaaa1111\",\"env\":\"A_API_KEY\"}}}"

setup() {
	lib_setup
	write_keystore "$ORIG"
}

teardown() {
	common_teardown
}

# expect_refusal PATTERN: ccr-keyd exits 1 at start-up with PATTERN in its log, never listening.
expect_refusal() {
	keyd_spawn
	wait_gone "$KEYD_PID" "$KEYD_WAIT_MS" || fail "ccr-keyd kept running"
	run -1 wait "$KEYD_PID"
	grep -q -- "$1" "$KEYD_LOG" || fail "no '$1' in the log:" "$(cat "$KEYD_LOG")"
	[ ! -S "$CCR_KEYD_SOCKET" ] || fail "the socket was created"
}

# fingerprint PATH: type, mode, inode and content hash of PATH (not following a symlink).
fingerprint() {
	stat -c '%F %a %i %s' "$1"
	if [ -L "$1" ]; then readlink "$1"; elif [ -f "$1" ]; then sha256sum <"$1"; fi
}

@test "a keystore that is a symlink is refused at start-up, its target untouched" {
	mv "$CCR_KEYS" "$BATS_TEST_TMPDIR/elsewhere"
	ln -s "$BATS_TEST_TMPDIR/elsewhere" "$CCR_KEYS"
	before=$(fingerprint "$BATS_TEST_TMPDIR/elsewhere")
	expect_refusal "$CCR_KEYS is a symlink"
	[ -L "$CCR_KEYS" ]
	[ "$(fingerprint "$BATS_TEST_TMPDIR/elsewhere")" = "$before" ]
}

@test "a keystore replaced by a symlink while running: the set is io_error, nothing followed or clobbered" {
	keyd_start
	printf '%s' '{"version":1,"keys":{"planted":{"value":"csk-test-planted-0000"}}}' >"$BATS_TEST_TMPDIR/planted"
	chmod 600 "$BATS_TEST_TMPDIR/planted"
	rm "$CCR_KEYS"
	ln -s "$BATS_TEST_TMPDIR/planted" "$CCR_KEYS"
	target=$(fingerprint "$BATS_TEST_TMPDIR/planted")
	link=$(fingerprint "$CCR_KEYS")
	run req '{"op":"set","name":"a","value":"csk-test-would-clobber"}'
	assert_error "$output" io_error
	[[ "$(jget message "$output")" == *"changed by another program"*"kill -HUP"* ]]
	[ "$(fingerprint "$CCR_KEYS")" = "$link" ]
	[ "$(fingerprint "$BATS_TEST_TMPDIR/planted")" = "$target" ]
	[ -z "$(temp_files "$CCR_HOME")" ]
	# A reload refuses the symlink and keeps serving the keys it has.
	kill -HUP "$KEYD_PID"
	for _ in $(seq 1 250); do
		grep -q 'reload refused' "$KEYD_LOG" && break
		sleep 0.02
	done
	grep -q "reload refused, keeping the keys in memory: $CCR_KEYS is a symlink" "$KEYD_LOG"
	[ "$(raw_get a)" = csk-test-original-aaaa1111 ]
	[ "$(raw_get planted)" = "<absent>" ]
	[ "$(fingerprint "$BATS_TEST_TMPDIR/planted")" = "$target" ]
	keyd_stop "$KEYD_PID"
}

@test "a keystore directory that is a symlink is refused at start-up" {
	mv "$CCR_HOME" "$BATS_TEST_TMPDIR/real-home"
	ln -s "$BATS_TEST_TMPDIR/real-home" "$CCR_HOME"
	before=$(fingerprint "$BATS_TEST_TMPDIR/real-home/keys")
	expect_refusal "$CCR_HOME is a symlink"
	[ "$(fingerprint "$BATS_TEST_TMPDIR/real-home/keys")" = "$before" ]
	[ -z "$(temp_files "$BATS_TEST_TMPDIR/real-home")" ]
}

@test "a keystore directory replaced by a symlink while running: io_error, neither file clobbered" {
	keyd_start
	mkdir -m 700 "$BATS_TEST_TMPDIR/decoy"
	printf '%s' '{"version":1,"keys":{"decoy":{"value":"csk-test-decoy-0000"}}}' >"$BATS_TEST_TMPDIR/decoy/keys"
	chmod 600 "$BATS_TEST_TMPDIR/decoy/keys"
	mv "$CCR_HOME" "$BATS_TEST_TMPDIR/moved-home"
	ln -s "$BATS_TEST_TMPDIR/decoy" "$CCR_HOME"
	decoy=$(fingerprint "$BATS_TEST_TMPDIR/decoy/keys")
	moved=$(fingerprint "$BATS_TEST_TMPDIR/moved-home/keys")
	run req '{"op":"set","name":"a","value":"csk-test-would-clobber"}'
	assert_error "$output" io_error
	[ "$(fingerprint "$BATS_TEST_TMPDIR/decoy/keys")" = "$decoy" ]
	[ "$(fingerprint "$BATS_TEST_TMPDIR/moved-home/keys")" = "$moved" ]
	[ -z "$(temp_files "$BATS_TEST_TMPDIR/decoy")" ]
	[ "$(raw_get a)" = csk-test-original-aaaa1111 ]
	keyd_stop "$KEYD_PID"
}

@test "a group-writable keystore directory is refused with a message" {
	chmod 770 "$CCR_HOME"
	expect_refusal "$CCR_HOME is writable by others; run: chmod go-w $CCR_HOME"
	[ "$(stat -c %a "$CCR_HOME")" = 770 ] # told, not silently changed
}

@test "a world-writable keystore directory is refused with a message, even with the sticky bit" {
	chmod 1777 "$CCR_HOME"
	expect_refusal "$CCR_HOME is writable by others; run: chmod go-w $CCR_HOME"
	chmod 707 "$CCR_HOME"
	: >"$KEYD_LOG"
	expect_refusal "writable by others"
}

@test "a keystore open to others, or one that is a FIFO, is refused with a message" {
	chmod 644 "$CCR_KEYS"
	expect_refusal "has mode 0644, open to others; run: chmod 600 $CCR_KEYS"
	rm "$CCR_KEYS"
	mkfifo -m 600 "$CCR_KEYS"
	: >"$KEYD_LOG"
	expect_refusal "$CCR_KEYS is not a regular file"
}

@test "a keystore rewritten by another program: the set is io_error, the file kept, SIGHUP reloads it" {
	keyd_start
	# An editor: a new file renamed over the old one.
	printf '%s' '{"version":1,"keys":{"a":{"value":"csk-test-by-editor-1"},"b":{"value":"csk-test-by-editor-2"}}}' \
		>"$CCR_HOME/keys.new"
	chmod 600 "$CCR_HOME/keys.new"
	mv "$CCR_HOME/keys.new" "$CCR_KEYS"
	theirs=$(fingerprint "$CCR_KEYS")
	run req '{"op":"set","name":"c","value":"csk-test-mine-1"}'
	assert_error "$output" io_error
	[[ "$(jget message "$output")" == *"changed by another program"*"kill -HUP $KEYD_PID"* ]] ||
		fail "the message does not say what happened and what to do: $output"
	[ "$(fingerprint "$CCR_KEYS")" = "$theirs" ]
	[ "$(raw_get c)" = "<absent>" ]
	kill -HUP "$KEYD_PID"
	for _ in $(seq 1 250); do
		[ "$(raw_get b)" = csk-test-by-editor-2 ] && break
		sleep 0.02
	done
	[ "$(raw_get a)" = csk-test-by-editor-1 ]
	[ "$(raw_get b)" = csk-test-by-editor-2 ]
	set_key c csk-test-mine-2
	grep -q csk-test-by-editor-2 "$CCR_KEYS"
	grep -q csk-test-mine-2 "$CCR_KEYS"
	keyd_stop "$KEYD_PID"
}

@test "a keystore modified in place by another program is never clobbered" {
	keyd_start
	# Same inode, new content (a tool that truncates and writes).
	sleep 0.01
	printf '%s' '{"version":1,"keys":{"a":{"value":"csk-test-in-place-1"}}}' >"$CCR_KEYS"
	theirs=$(fingerprint "$CCR_KEYS")
	run req '{"op":"delete","name":"a"}'
	assert_error "$output" io_error
	[ "$(fingerprint "$CCR_KEYS")" = "$theirs" ]
	# Deleted by another program: not recreated behind its back either.
	rm "$CCR_KEYS"
	run req '{"op":"set","name":"z","value":"csk-test-z"}'
	assert_error "$output" io_error
	[ ! -e "$CCR_KEYS" ]
	keyd_stop "$KEYD_PID"
}

@test "a socket path taken by a regular file is refused and the file left alone" {
	mkdir -p "$(dirname "$CCR_KEYD_SOCKET")"
	chmod 700 "$(dirname "$CCR_KEYD_SOCKET")"
	echo 'not a socket, do not remove' >"$CCR_KEYD_SOCKET"
	chmod 640 "$CCR_KEYD_SOCKET"
	before=$(fingerprint "$CCR_KEYD_SOCKET")
	keyd_spawn
	wait_gone "$KEYD_PID" "$KEYD_WAIT_MS" || fail "ccr-keyd kept running"
	run -1 wait "$KEYD_PID"
	grep -q "$CCR_KEYD_SOCKET exists and is not a socket; move it away" "$KEYD_LOG"
	[ "$(fingerprint "$CCR_KEYD_SOCKET")" = "$before" ]
}

@test "a socket path that is a symlink, or a socket directory that is one, is refused" {
	mkdir -p "$BATS_TEST_TMPDIR/other"
	chmod 700 "$BATS_TEST_TMPDIR/other"
	mkdir -p "$(dirname "$CCR_KEYD_SOCKET")"
	chmod 700 "$(dirname "$CCR_KEYD_SOCKET")"
	ln -s "$BATS_TEST_TMPDIR/other/sock" "$CCR_KEYD_SOCKET"
	keyd_spawn
	wait_gone "$KEYD_PID" "$KEYD_WAIT_MS" || fail "ccr-keyd kept running"
	run -1 wait "$KEYD_PID"
	grep -q "exists and is not a socket" "$KEYD_LOG"
	[ -L "$CCR_KEYD_SOCKET" ]
	[ ! -e "$BATS_TEST_TMPDIR/other/sock" ]
	rm "$CCR_KEYD_SOCKET"
	rmdir "$(dirname "$CCR_KEYD_SOCKET")"
	ln -s "$BATS_TEST_TMPDIR/other" "$(dirname "$CCR_KEYD_SOCKET")"
	: >"$KEYD_LOG"
	keyd_spawn
	wait_gone "$KEYD_PID" "$KEYD_WAIT_MS" || fail "ccr-keyd kept running"
	run -1 wait "$KEYD_PID"
	grep -q "$(dirname "$CCR_KEYD_SOCKET") is a symlink" "$KEYD_LOG"
	[ ! -e "$BATS_TEST_TMPDIR/other/sock" ]
}
