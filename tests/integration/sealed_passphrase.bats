#!/usr/bin/env bats
# Passphrase change and remove, requests that make no sense, and values over
# 16 KiB in lock, unlock and passphrase.
#
# The shared setup and helpers are in sealed.bash.

load helpers
load sealed

@test "passphrase change: the old passphrase no longer unlocks, the new one does, values intact" {
	sealed_store
	run unlock "$PW"
	[ "$status" -eq 0 ]
	salt=$(jget sealed.salt "$(cat "$CCR_KEYS")")
	# A wrong current passphrase changes nothing.
	cp "$CCR_KEYS" "$BATS_TEST_TMPDIR/before"
	run --separate-stderr bash -c 'printf "%s\n%s\n" pw-test-not-it "$2" | "$1" passphrase change --stdin' _ "$CLI" "$PW2"
	[ "$status" -eq 4 ] || fail "change with a wrong passphrase: exit $status" "$stderr"
	cmp -s "$BATS_TEST_TMPDIR/before" "$CCR_KEYS" || fail "a refused change rewrote the file"
	run --separate-stderr bash -c 'printf "%s\n%s\n" "$2" "$3" | "$1" passphrase change --stdin' _ "$CLI" "$PW" "$PW2"
	[ "$status" -eq 0 ] || fail "change: exit $status" "$stderr"
	assert_is_sealed "$CCR_KEYS"
	[ "$(jget sealed.salt "$(cat "$CCR_KEYS")")" != "$salt" ] || fail "the salt was kept"
	# Still unlocked after the change.
	assert_json "$(req '{"op":"get","name":"cerebras"}')" value "$KEY1"
	stop_daemon "$KEYD_PID"
	start_daemon
	run --separate-stderr unlock "$PW"
	[ "$status" -eq 4 ] && [[ "$stderr" == *"wrong passphrase"* ]] || fail "old: $status $stderr"
	run unlock "$PW2"
	[ "$status" -eq 0 ] || fail "new: $status $output"
	assert_json "$(req '{"op":"get","name":"cerebras"}')" value "$KEY1"
	assert_json "$(req '{"op":"get","name":"groq-cloud"}')" value "$KEY2"
}

@test "passphrase remove makes the file plain version 1 again with every value intact" {
	sealed_store
	run unlock "$PW"
	[ "$status" -eq 0 ]
	cp "$CCR_KEYS" "$BATS_TEST_TMPDIR/before"
	run --separate-stderr bash -c 'printf "pw-test-not-it\n" | "$1" passphrase remove --stdin' _ "$CLI"
	[ "$status" -eq 4 ] || fail "remove with a wrong passphrase: exit $status" "$stderr"
	cmp -s "$BATS_TEST_TMPDIR/before" "$CCR_KEYS" || fail "a refused remove rewrote the file"
	run --separate-stderr bash -c 'printf "%s\n" "$2" | "$1" passphrase remove --stdin' _ "$CLI" "$PW"
	[ "$status" -eq 0 ] || fail "remove: exit $status" "$stderr"
	doc=$(tr -d '\n' <"$CCR_KEYS")
	assert_json "$doc" version 1
	refute_json "$doc" sealed
	assert_json "$doc" keys.cerebras.value "$KEY1"
	assert_json "$doc" keys.groq-cloud.value "$KEY2"
	assert_json "$doc" keys.groq-cloud.env GROQ_TOKEN
	[ "$(stat -c %a "$CCR_KEYS")" = 600 ]
	reply=$(req '{"op":"status"}')
	assert_json "$reply" sealed false
	assert_json "$reply" locked false
	# Nothing left to lock or unlock; a restart serves the plain file at once.
	run --separate-stderr "$CLI" lock
	[ "$status" -ne 0 ] && [[ "$stderr" == *"passphrase set"* ]] || fail "lock: $status $stderr"
	stop_daemon "$KEYD_PID"
	start_daemon
	assert_json "$(req '{"op":"hello"}')" locked false
	assert_json "$(req '{"op":"get","name":"groq-cloud"}')" value "$KEY2"
}

@test "passphrase requests that make no sense are refused without touching the file" {
	start_daemon
	set_key cerebras "$KEY1"
	assert_error "$(req '{"op":"passphrase","action":"remove","value":"pw-test-x"}')" bad_request
	assert_error "$(req '{"op":"passphrase","action":"change","value":"pw-test-x","new_value":"pw-test-y"}')" bad_request
	assert_error "$(req '{"op":"passphrase","action":"set"}')" bad_request
	assert_error "$(req '{"op":"passphrase","action":"rotate","new_value":"pw-test-y"}')" bad_request
	assert_error "$(req '{"op":"unlock","value":"pw-test-x"}')" bad_request
	assert_json "$(tr -d '\n' <"$CCR_KEYS")" keys.cerebras.value "$KEY1"
	seal "$PW"
	cp "$CCR_KEYS" "$BATS_TEST_TMPDIR/before"
	assert_error "$(req '{"op":"passphrase","action":"set","new_value":"pw-test-y"}')" bad_request
	req '{"op":"lock"}' >/dev/null
	# Locked: no passphrase change without unlocking first.
	assert_error "$(req '{"op":"passphrase","action":"change","value":"'"$PW"'","new_value":"pw-test-y"}')" locked
	assert_error "$(req '{"op":"unlock"}')" bad_request
	cmp -s "$BATS_TEST_TMPDIR/before" "$CCR_KEYS" || fail "the file was rewritten"
}

@test "a value or new_value over 16 KiB is too_large in lock, unlock and passphrase, and the daemon lives on" {
	# 40 KiB is more than the largest slot of the daemon's secret memory (32 KiB).
	big=$(head -c 40960 /dev/zero | tr '\0' p)
	start_daemon
	set_key cerebras "$KEY1"
	assert_error "$(req '{"op":"passphrase","action":"set","new_value":"'"$big"'"}')" too_large
	seal "$PW"
	# Unlocked: lock takes no value, yet one is refused before anything copies it.
	assert_error "$(req '{"op":"lock","value":"'"$big"'"}')" too_large
	assert_error "$(req '{"op":"passphrase","action":"change","value":"'"$PW"'","new_value":"'"$big"'"}')" too_large
	assert_error "$(req '{"op":"passphrase","action":"remove","value":"'"$big"'"}')" too_large
	assert_error "$(req '{"op":"get","name":"cerebras","value":"'"$big"'"}')" too_large
	assert_json "$(req '{"op":"lock"}')" locked true
	assert_error "$(req '{"op":"unlock","value":"'"$big"'"}')" too_large
	alive "$KEYD_PID" || fail "the daemon died"
	run unlock "$PW"
	[ "$status" -eq 0 ] || fail "unlock: $status $output"
	assert_json "$(req '{"op":"get","name":"cerebras"}')" value "$KEY1"
	stop_daemon "$KEYD_PID"
	[ "$STOP_STATUS" -eq 0 ] || fail "exit status $STOP_STATUS"
}
