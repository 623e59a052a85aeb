#!/usr/bin/env bats
# Fault injection: every step of a keystore save fails with ENOSPC, EIO and
# EDQUOT in turn (tests/faults/faultfs.c, preloaded into the real daemon).
# For each: the client gets io_error (ccr-config exits 5), the old file is
# byte-identical, memory is rolled back, no temp file is left, and once the
# fault is spent the daemon saves again.

load helpers
load ../faults/lib

OLD=csk-test-old-value-0000aaaa1111
ERRNOS=(ENOSPC EIO EDQUOT)

setup() {
	lib_setup
	write_keystore "{\"version\":1,\"keys\":{\"a\":{\"value\":\"$OLD\",\"env\":\"A_API_KEY\"}}}"
	cp -p "$CCR_KEYS" "$BATS_TEST_TMPDIR/keys.orig"
}

teardown() {
	common_teardown
}

# strerror_of ERRNO: the message libc gives for ERRNO.
strerror_of() {
	case $1 in
	ENOSPC) echo 'No space left on device' ;;
	EIO) echo 'Input/output error' ;;
	EDQUOT) echo 'Disk quota exceeded' ;;
	esac
}

# start_with_faults STEP: a daemon whose first three saves fail at STEP with
# ENOSPC, EIO and EDQUOT, then a fourth with EIO; later saves succeed.
start_with_faults() {
	use_faultfs "$1:ENOSPC:nth=1;$1:EIO:nth=2;$1:EDQUOT:nth=3;$1:EIO:nth=4"
	keyd_start
}

# assert_untouched: the old file, byte for byte, the old value in memory, no temp file.
assert_untouched() {
	cmp -s "$BATS_TEST_TMPDIR/keys.orig" "$CCR_KEYS" || fail "the keystore file changed:" "$(cat "$CCR_KEYS")"
	[ "$(stat -c %a "$CCR_KEYS")" = 600 ]
	[ "$(raw_get a)" = "$OLD" ] || fail "memory was not rolled back: a is $(raw_get a)"
	[ -z "$(temp_files "$CCR_HOME")" ] || fail "temp files left: $(temp_files "$CCR_HOME")"
}

# fault_each_errno STEP: the whole contract for one step of the save.
fault_each_errno() {
	local step=$1 e n=0 new
	start_with_faults "$step"
	for e in "${ERRNOS[@]}"; do
		n=$((n + 1))
		new=csk-test-new-value-$step-$e
		run -5 bash -c "printf '%s\n' '$new' | '$CLI' set a"
		[[ "$output" == *"$(strerror_of "$e")"* ]] || fail "no '$(strerror_of "$e")' in: $output"
		refute_secret "$output" "$new" "$OLD"
		grep -q "faultfs: injected $step $e (call $n)" "$KEYD_LOG" || fail "no $step $e was injected"
		assert_untouched
	done
	# The same fault seen on the wire: io_error with a message, for a delete too.
	run req '{"op":"delete","name":"a","id":"d"}'
	assert_error "$output" io_error
	assert_json "$output" id d
	assert_untouched
	# The faults are spent: the daemon saves again.
	new=csk-test-after-faults-$step
	set_key a "$new"
	[ "$(raw_get a)" = "$new" ]
	grep -q "\"value\":\"$new\"" "$CCR_KEYS"
	[ -z "$(temp_files "$CCR_HOME")" ]
	note "fault $step: ENOSPC, EIO, EDQUOT (set) and EIO (delete) -> io_error, file intact," \
		"rolled back, no temp file; the next save succeeded"
	keyd_stop "$KEYD_PID"
}

@test "creating the temp file fails: io_error, old file intact, rolled back, daemon keeps serving" {
	fault_each_errno open
}

@test "writing the temp file fails: io_error, old file intact, temp removed, daemon keeps serving" {
	fault_each_errno write
}

@test "fsync of the temp file fails: io_error, old file intact, temp removed, daemon keeps serving" {
	fault_each_errno fsync
}

@test "closing the temp file fails: io_error, old file intact, temp removed, daemon keeps serving" {
	fault_each_errno close
}

@test "rename fails: io_error, old file intact, temp removed, daemon keeps serving" {
	fault_each_errno rename
}

@test "a disk filling mid-file (short write, then ENOSPC) is io_error and leaves nothing behind" {
	use_faultfs write:ENOSPC:nth=1:partial
	keyd_start
	run -5 bash -c "printf '%s\n' 'csk-test-partial-write-value' | '$CLI' set a"
	[[ "$output" == *'No space left on device'* ]]
	grep -q 'faultfs: injected write ENOSPC (call 1) partial' "$KEYD_LOG"
	assert_untouched
	set_key a csk-test-after-partial
	[ "$(raw_get a)" = csk-test-after-partial ]
	keyd_stop "$KEYD_PID"
}

# The directory steps come after the rename: the new file is already in place
# when they fail. Whatever the daemon answers, memory must then agree with the
# file, and the daemon must go on saving.
dir_step_keeps_memory_and_disk_agreed() {
	local step=$1 e n=0 new reply on_disk
	start_with_faults "$step"
	for e in "${ERRNOS[@]}"; do
		n=$((n + 1))
		new=csk-test-new-value-$step-$e
		reply=$(req "{\"op\":\"set\",\"name\":\"a\",\"value\":\"$new\"}")
		grep -q "faultfs: injected $step $e (call $n)" "$KEYD_LOG" || fail "no $step $e was injected"
		on_disk=$(sed -n 's/.*"a":{"value":"\([^"]*\)".*/\1/p' "$CCR_KEYS")
		[ -z "$(temp_files "$CCR_HOME")" ] || fail "temp files left: $(temp_files "$CCR_HOME")"
		[ "$(raw_get a)" = "$on_disk" ] ||
			fail "$step $e: the reply was $reply;" "the daemon holds $(raw_get a) but the file holds $on_disk"
		if [ "$(jget ok "$reply")" = false ]; then
			assert_error "$reply" io_error
			[ "$on_disk" != "$new" ] || fail "$step $e: io_error, but the change is in the file"
		fi
	done
	new=csk-test-after-faults-$step
	run req "{\"op\":\"set\",\"name\":\"a\",\"value\":\"$new\"}" '{"op":"set","name":"a","value":"csk-test-again"}'
	assert_ok "${lines[0]}" || fail "after the faults a save still fails: ${lines[0]}"
	assert_ok "${lines[1]}"
	[ "$(raw_get a)" = csk-test-again ]
	keyd_stop "$KEYD_PID"
}

@test "opening the directory for its fsync fails: memory agrees with the file, saves go on" {
	dir_step_keeps_memory_and_disk_agreed diropen
}

@test "fsync of the directory fails: memory agrees with the file, saves go on" {
	dir_step_keeps_memory_and_disk_agreed dirfsync
}

@test "a failed group commit answers io_error to every change in the batch and applies none" {
	local delay=400
	under_memcheck && delay=3000
	# The first save is held in fsync while five more sets queue up behind it;
	# they are written together, and that second save fails.
	use_faultfs "fsync:0:nth=1:delay=$delay;fsync:EIO:nth=2"
	keyd_start
	echo '{"op":"set","name":"first","value":"csk-test-first-held"}' |
		"$SOCKCAT" --half-close --lines 1 --timeout 30000 "$CCR_KEYD_SOCKET" \
			>"$BATS_TEST_TMPDIR/first" 3>&- &
	local held=$!
	sleep 0.15
	pids=()
	for i in 1 2 3 4 5; do
		echo "{\"op\":\"set\",\"name\":\"b$i\",\"value\":\"csk-test-batch-$i\"}" |
			"$SOCKCAT" --half-close --lines 1 --timeout 30000 "$CCR_KEYD_SOCKET" \
				>"$BATS_TEST_TMPDIR/b$i" 3>&- &
		pids+=($!)
	done
	wait "$held"
	for pid in "${pids[@]}"; do
		wait "$pid"
	done
	assert_ok "$(cat "$BATS_TEST_TMPDIR/first")"
	for i in 1 2 3 4 5; do
		assert_error "$(cat "$BATS_TEST_TMPDIR/b$i")" io_error
		[ "$(raw_get "b$i")" = "<absent>" ]
	done
	run req '{"op":"status"}'
	assert_json "$output" writes 2 # the five were one batch
	assert_json "$output" keys 2
	! grep -q csk-test-batch "$CCR_KEYS" || fail "the failed batch reached the file"
	grep -q csk-test-first-held "$CCR_KEYS"
	[ -z "$(temp_files "$CCR_HOME")" ]
	set_key b1 csk-test-batch-again
	[ "$(raw_get b1)" = csk-test-batch-again ]
	keyd_stop "$KEYD_PID"
}

# At the first passphrase set the seal record is what makes a plain
# file put in the sealed one's place refused at the next start. Its fsync
# failing was logged and the set reported as done. Whichever of the two saves
# fails (the record's first, then the keystore's), the set fails, says so,
# and leaves the keystore plain: in memory, on disk, in status, at restart.
@test "a failed seal-record write at the first passphrase set fails it and leaves the keystore plain" {
	use_test_build
	local nth pw=correct-horse-test
	for nth in 1 2; do
		use_faultfs "fsync:ENOSPC:nth=$nth"
		KEYD_ENV+=(CCR_KEYD_TEST_FAST_KDF=1)
		keyd_start
		run -5 bash -c "printf '%s\n' '$pw' | '$CLI' passphrase set --stdin"
		[[ "$output" == *'No space left on device'* ]] || fail "fsync $nth: $output"
		grep -q "faultfs: injected fsync ENOSPC (call $nth)" "$KEYD_LOG" || fail "no fsync $nth was injected"
		refute_secret "$output" "$pw"
		assert_json "$(req '{"op":"status"}')" sealed false
		assert_json "$(req '{"op":"status"}')" state plain
		assert_untouched
		[ ! -e "$CCR_KEYS.seal" ] || fail "fsync $nth: a seal record was left: $(cat "$CCR_KEYS.seal")"
		keyd_stop "$KEYD_PID"
		# Restarted, the plain file is served, unlocked.
		KEYD_ENV=(CCR_KEYD_TEST_FAST_KDF=1)
		keyd_start
		assert_json "$(req '{"op":"status"}')" sealed false
		[ "$(raw_get a)" = "$OLD" ]
		keyd_stop "$KEYD_PID"
	done
	# With nothing failing, it seals, and the record says so.
	keyd_start
	printf '%s\n' "$pw" | "$CLI" passphrase set --stdin >/dev/null
	assert_json "$(req '{"op":"status"}')" sealed true
	[ -s "$CCR_KEYS.seal" ]
	keyd_stop "$KEYD_PID"
	note "the record's fsync, then the keystore's, failing at passphrase set: io_error, plain, no record"
}

@test "a read error at start-up is refused with a message and the file is untouched" {
	use_faultfs read:EIO:nth=1
	keyd_spawn
	wait_gone "$KEYD_PID" "$KEYD_WAIT_MS"
	run -1 wait "$KEYD_PID"
	grep -q 'faultfs: injected read EIO' "$KEYD_LOG"
	grep -q "cannot read $CCR_KEYS: Input/output error" "$KEYD_LOG" || fail "no message naming the file"
	cmp "$BATS_TEST_TMPDIR/keys.orig" "$CCR_KEYS"
}

@test "a read error during a SIGHUP reload keeps the keys in memory and the daemon serving" {
	# Start-up reads the file in two calls (the data, then end of file): the reload's first is the third.
	use_faultfs read:EIO:nth=3
	keyd_start
	kill -HUP "$KEYD_PID"
	for _ in $(seq 1 250); do
		grep -q 'reload refused' "$KEYD_LOG" && break
		sleep 0.02
	done
	grep -q 'faultfs: injected read EIO (call 3)' "$KEYD_LOG"
	grep -q 'reload refused, keeping the keys in memory' "$KEYD_LOG"
	[ "$(raw_get a)" = "$OLD" ]
	set_key a csk-test-after-reload-fault
	[ "$(raw_get a)" = csk-test-after-reload-fault ]
	keyd_stop "$KEYD_PID"
}

@test "SIGTERM in the middle of a save finishes it and the one queued behind it, then exits 0" {
	local delay=1000 settle=0.2
	under_memcheck && delay=6000 settle=2
	use_faultfs "fsync:0:nth=1:delay=$delay"
	keyd_start
	echo '{"op":"set","name":"a","value":"csk-test-in-flight"}' |
		"$SOCKCAT" --half-close --lines 1 --timeout 30000 "$CCR_KEYD_SOCKET" \
			>"$BATS_TEST_TMPDIR/first" 3>&- &
	first=$!
	wait_log 'faultfs: injected fsync delay'
	echo '{"op":"set","name":"b","value":"csk-test-queued"}' |
		"$SOCKCAT" --half-close --lines 1 --timeout 30000 "$CCR_KEYD_SOCKET" \
			>"$BATS_TEST_TMPDIR/second" 3>&- &
	second=$!
	sleep "$settle" # the second set is read and queued behind the held save
	keyd_stop "$KEYD_PID"
	wait "$first" "$second"
	assert_ok "$(cat "$BATS_TEST_TMPDIR/first")"
	assert_ok "$(cat "$BATS_TEST_TMPDIR/second")"
	grep -q csk-test-in-flight "$CCR_KEYS"
	grep -q csk-test-queued "$CCR_KEYS"
	[ -z "$(temp_files "$CCR_HOME")" ]
}
