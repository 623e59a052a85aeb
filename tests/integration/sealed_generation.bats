#!/usr/bin/env bats
# The seal record and the generation: once sealed, a keystore stays sealed until
# passphrase remove, and an older sealed copy, or a plain file put in its place,
# is never used.
#
# The shared setup and helpers are in sealed.bash.

load helpers
load sealed

# The seal record and the generation: once sealed, a keystore stays
# sealed until passphrase remove, and an older sealed copy is never used.

# plant_plain FILE: put a plain version-1 keystore (0600) holding a planted key into FILE.
plant_plain() {
	printf '{"version":1,"keys":{"planted":{"value":"csk-test-planted-by-someone","env":"OPENAI_API_KEY"}}}\n' >"$1"
	chmod 600 "$1"
}

# assert_generation FILE N: FILE is sealed at generation N.
assert_generation() {
	assert_json "$(cat "$1")" sealed.generation "$2"
}

# assert_record SEALED GENERATION: the seal record beside the keystore says so, 0600.
assert_record() {
	local rec=$CCR_KEYS.seal
	[ -f "$rec" ] && [ ! -L "$rec" ] || fail "no seal record at $rec"
	[ "$(stat -c %a "$rec")" = 600 ] || fail "the record has mode $(stat -c %a "$rec")"
	assert_json "$(cat "$rec")" sealed "$1"
	assert_json "$(cat "$rec")" generation "$2"
}

@test "each sealed write takes the next generation, recorded beside the keystore" {
	start_daemon
	set_key cerebras "$KEY1"
	[ ! -e "$CCR_KEYS.seal" ] || fail "a plain keystore got a seal record"
	seal "$PW"
	assert_generation "$CCR_KEYS" 1
	assert_record true 1
	set_key groq "$KEY2"
	assert_generation "$CCR_KEYS" 2
	assert_record true 2
	"$CLI" delete groq >/dev/null
	assert_generation "$CCR_KEYS" 3
	printf '%s\n%s\n' "$PW" "$PW2" | "$CLI" passphrase change --stdin >/dev/null
	assert_generation "$CCR_KEYS" 4
	assert_record true 4
	stop_daemon "$KEYD_PID"
	start_daemon
	run unlock "$PW2"
	[ "$status" -eq 0 ] || fail "unlock: $output"
	set_key groq "$KEY2"
	assert_generation "$CCR_KEYS" 5
	assert_record true 5
}

@test "a plain file put in a locked keystore's place is refused at SIGHUP: still locked, nothing of it served" {
	sealed_store
	cp "$CCR_KEYS" "$BATS_TEST_TMPDIR/sealed"
	plant_plain "$CCR_KEYS"
	cp "$CCR_KEYS" "$BATS_TEST_TMPDIR/planted"
	kill -HUP "$KEYD_PID"
	wait_for_log 'reload refused'
	grep -q "reload refused.*is plain, but it is sealed with a passphrase.*rm $CCR_KEYS.seal" "$KEYD_LOG" ||
		fail "$(grep 'reload refused' "$KEYD_LOG")"
	reply=$(req '{"op":"status"}')
	assert_json "$reply" sealed true
	assert_json "$reply" locked true
	assert_json "$reply" state locked
	assert_json "$reply" reloads 0
	assert_json "$reply" transitions.locked/reload-refused 1
	assert_locked_reply "$(req '{"op":"get","name":"planted"}')"
	assert_locked_reply "$(req '{"op":"resolve","env":"OPENAI_API_KEY"}')"
	assert_locked_reply "$(req '{"op":"set","name":"x","value":"csk-test-would-be-clear"}')"
	cmp -s "$BATS_TEST_TMPDIR/planted" "$CCR_KEYS" || fail "the planted file was written"
	# The sealed file back: it unlocks as before.
	cp "$BATS_TEST_TMPDIR/sealed" "$CCR_KEYS"
	run unlock "$PW"
	[ "$status" -eq 0 ] || fail "unlock: $output"
	assert_json "$(req '{"op":"get","name":"cerebras"}')" value "$KEY1"
}

@test "a plain file put in an unlocked keystore's place is refused at SIGHUP: the keys in memory stay, nothing is written in the clear" {
	sealed_store
	run unlock "$PW"
	[ "$status" -eq 0 ]
	plant_plain "$CCR_KEYS"
	cp "$CCR_KEYS" "$BATS_TEST_TMPDIR/planted"
	kill -HUP "$KEYD_PID"
	wait_for_log 'reload refused'
	reply=$(req '{"op":"status"}')
	assert_json "$reply" state unlocked
	assert_json "$reply" sealed true
	assert_json "$reply" transitions.unlocked/reload-refused 1
	assert_json "$(req '{"op":"get","name":"cerebras"}')" value "$KEY1"
	assert_error "$(req '{"op":"get","name":"planted"}')" not_found
	# A write would replace a file another program put there: refused, not sealed over it.
	reply=$(req '{"op":"set","name":"newkey","value":"csk-test-must-not-be-clear"}')
	assert_error "$reply" io_error
	cmp -s "$BATS_TEST_TMPDIR/planted" "$CCR_KEYS" || fail "the planted file was written"
	! grep -q csk-test-must-not-be-clear "$CCR_KEYS" || fail "a key in clear"
}

@test "a plain or missing file in a sealed keystore's place is refused at start, saying how to accept it on purpose" {
	sealed_store
	stop_daemon "$KEYD_PID"
	cp "$CCR_KEYS" "$BATS_TEST_TMPDIR/sealed"
	plant_plain "$CCR_KEYS"
	cp "$CCR_KEYS" "$BATS_TEST_TMPDIR/planted"
	run --separate-stderr timeout 10 "$KEYD"
	[ "$status" -eq 1 ] || fail "exit $status: $stderr"
	[[ "$stderr" == *"$CCR_KEYS is plain, but it is sealed with a passphrase"* ]] || fail "$stderr"
	[[ "$stderr" == *"stop ccr-keyd, run: rm $CCR_KEYS.seal, and start it again"* ]] || fail "$stderr"
	cmp -s "$BATS_TEST_TMPDIR/planted" "$CCR_KEYS" || fail "the refused file was changed"
	[ ! -e "$CCR_KEYD_SOCKET" ] || fail "the refused daemon left a socket"
	rm "$CCR_KEYS"
	run --separate-stderr timeout 10 "$KEYD"
	[ "$status" -eq 1 ] || fail "missing keystore: exit $status: $stderr"
	[[ "$stderr" == *"$CCR_KEYS is missing, but it is sealed"* ]] || fail "$stderr"
	[ ! -e "$CCR_KEYS" ] || fail "the refused daemon created a keystore"
	# Accepting it on purpose, as the message says: remove the record.
	cp "$BATS_TEST_TMPDIR/planted" "$CCR_KEYS"
	rm "$CCR_KEYS.seal"
	start_daemon
	assert_json "$(req '{"op":"get","name":"planted"}')" value csk-test-planted-by-someone
	assert_json "$(req '{"op":"status"}')" sealed false
}

@test "rollback: an older sealed copy put back is refused at unlock, logged, never used; nothing is lost" {
	sealed_store
	cp "$CCR_KEYS" "$BATS_TEST_TMPDIR/old"
	run unlock "$PW"
	[ "$status" -eq 0 ]
	printf '%s\n%s\n' "$PW" "$PW2" | "$CLI" passphrase change --stdin >/dev/null
	set_key newkey "$KEY3"
	req '{"op":"lock"}' >/dev/null
	cp "$CCR_KEYS" "$BATS_TEST_TMPDIR/new"
	cp "$BATS_TEST_TMPDIR/old" "$CCR_KEYS"
	# The old passphrase opens the old copy's key, but the copy is older than the record.
	run --separate-stderr unlock "$PW"
	[ "$status" -ne 0 ] && [ "$status" -ne 4 ] || fail "unlock of the old copy: exit $status $stderr"
	[[ "$stderr" == *"older sealed copy (generation 1; the newest ccr-keyd wrote or opened is 3)"*"remove the .seal file beside it, start it again" ]] ||
		fail "$stderr"
	grep -q 'unlock failed: .*older sealed copy' "$KEYD_LOG" || fail "not logged: $(cat "$KEYD_LOG")"
	assert_json "$(req '{"op":"hello"}')" locked true
	assert_locked_reply "$(req '{"op":"get","name":"cerebras"}')"
	cmp -s "$BATS_TEST_TMPDIR/old" "$CCR_KEYS" || fail "the old copy was written over"
	assert_record true 3
	# The newest file back: the new passphrase opens it, newkey and all.
	cp "$BATS_TEST_TMPDIR/new" "$CCR_KEYS"
	run unlock "$PW2"
	[ "$status" -eq 0 ] || fail "unlock of the newest file: $output"
	assert_json "$(req '{"op":"get","name":"newkey"}')" value "$KEY3"
	assert_json "$(req '{"op":"get","name":"cerebras"}')" value "$KEY1"
}

@test "rollback: an older sealed copy is refused at start and at SIGHUP, with how to accept it on purpose" {
	sealed_store
	cp "$CCR_KEYS" "$BATS_TEST_TMPDIR/old"
	run unlock "$PW"
	set_key newkey "$KEY3"
	cp "$CCR_KEYS" "$BATS_TEST_TMPDIR/new"
	# At SIGHUP, unlocked: refused, the keys in memory kept.
	cp "$BATS_TEST_TMPDIR/old" "$CCR_KEYS"
	kill -HUP "$KEYD_PID"
	wait_for_log 'reload refused'
	grep -q "reload refused.*sealed generation 1, older than generation 2" "$KEYD_LOG" ||
		fail "$(grep 'reload refused' "$KEYD_LOG")"
	assert_json "$(req '{"op":"status"}')" state unlocked
	assert_json "$(req '{"op":"get","name":"newkey"}')" value "$KEY3"
	# At start: exit 1 with the message.
	cp "$BATS_TEST_TMPDIR/new" "$CCR_KEYS"
	stop_daemon "$KEYD_PID"
	cp "$BATS_TEST_TMPDIR/old" "$CCR_KEYS"
	run --separate-stderr timeout 10 "$KEYD"
	[ "$status" -eq 1 ] || fail "exit $status: $stderr"
	[[ "$stderr" == *"is sealed generation 1, older than generation 2"*"run: rm $CCR_KEYS.seal"* ]] ||
		fail "$stderr"
	cmp -s "$BATS_TEST_TMPDIR/old" "$CCR_KEYS" || fail "the refused file was changed"
	# Accepted on purpose: the record removed, the old copy serves, and its next write is newer.
	rm "$CCR_KEYS.seal"
	start_daemon
	run unlock "$PW"
	[ "$status" -eq 0 ] || fail "unlock: $output"
	assert_error "$(req '{"op":"get","name":"newkey"}')" not_found
	set_key other "$KEY2"
	assert_generation "$CCR_KEYS" 2
	assert_record true 2
}

@test "a sealed file from before generations opens as generation 0, and its next write is generation 1" {
	start_daemon
	stop_daemon "$KEYD_PID"
	printf '{"version":1,"keys":{"cerebras":{"value":"%s","env":"CEREBRAS_API_KEY"}}}\n' "$KEY1" |
		"$CCR_BUILD/tools/sealfile" "$PW" 0 >"$CCR_KEYS"
	chmod 600 "$CCR_KEYS"
	refute_json "$(cat "$CCR_KEYS")" sealed.generation
	start_daemon
	# Read as sealed, so recorded as sealed at once: a plain file in its place is refused.
	assert_record true 0
	run unlock "$PW"
	[ "$status" -eq 0 ] || fail "unlock: $output"
	assert_json "$(req '{"op":"get","name":"cerebras"}')" value "$KEY1"
	set_key groq "$KEY2"
	assert_generation "$CCR_KEYS" 1
	assert_record true 1
}

@test "a newer sealed file than the record (a restored backup) is opened and its generation recorded" {
	start_daemon
	set_key cerebras "$KEY1"
	seal "$PW"
	assert_record true 1
	stop_daemon "$KEYD_PID"
	printf '{"version":1,"keys":{"cerebras":{"value":"%s","env":"CEREBRAS_API_KEY"}}}\n' "$KEY2" |
		"$CCR_BUILD/tools/sealfile" "$PW" 7 >"$CCR_KEYS"
	start_daemon
	assert_record true 1
	run unlock "$PW"
	[ "$status" -eq 0 ] || fail "unlock: $output"
	assert_json "$(req '{"op":"get","name":"cerebras"}')" value "$KEY2"
	assert_record true 7
	set_key groq "$KEY3"
	assert_generation "$CCR_KEYS" 8
	assert_record true 8
}

@test "passphrase remove records the keystore plain: a restart serves the plain file; sealing again goes on counting" {
	sealed_store
	run unlock "$PW"
	set_key third "$KEY3"
	assert_record true 2
	printf '%s\n' "$PW" | "$CLI" passphrase remove --stdin >/dev/null
	assert_record false 3
	stop_daemon "$KEYD_PID"
	start_daemon
	assert_json "$(req '{"op":"status"}')" sealed false
	assert_json "$(req '{"op":"get","name":"third"}')" value "$KEY3"
	seal "$PW2"
	assert_generation "$CCR_KEYS" 4
	assert_record true 4
}

@test "kill -9 between recording a passphrase remove and writing the plain file: the sealed file still opens" {
	sealed_store
	stop_daemon "$KEYD_PID"
	# The remove's saves: the record first (rename 1), then the keystore (rename 2),
	# held here for 30 s so that the daemon dies between the two.
	load ../faults/lib
	use_faultfs "rename:0:nth=2:delay=30000"
	keyd_start
	run unlock "$PW"
	[ "$status" -eq 0 ] || fail "unlock: $status $output"
	printf '%s\n' "$PW" | "$CLI" passphrase remove --stdin >/dev/null 2>&1 3>&- &
	remover=$!
	wait_log 'faultfs: injected rename delay (call 2)'
	# The window: the record already says plain, the file is still the sealed one.
	assert_record false 1
	assert_is_sealed "$CCR_KEYS"
	kill9_daemon "$KEYD_PID"
	wait "$remover" || true
	KEYD_ENV=()
	start_daemon
	assert_json "$(req '{"op":"status"}')" state locked
	run unlock "$PW"
	[ "$status" -eq 0 ] || fail "unlock after the crash: $status $output"
	assert_json "$(req '{"op":"get","name":"cerebras"}')" value "$KEY1"
	# Done again, the remove goes through and takes the next generation.
	printf '%s\n' "$PW" | "$CLI" passphrase remove --stdin >/dev/null
	assert_record false 2
	assert_json "$(req '{"op":"get","name":"groq-cloud"}')" value "$KEY2"
}

@test "kill -9 between recording the first passphrase set and writing the sealed file: the plain file is served at restart" {
	start_daemon
	set_key cerebras "$KEY1"
	stop_daemon "$KEYD_PID"
	# The first set's saves: the record first (rename 1), then the keystore (rename 2),
	# held here for 30 s so that the daemon dies between the two.
	load ../faults/lib
	use_faultfs "rename:0:nth=2:delay=30000"
	KEYD_ENV+=(CCR_KEYD_TEST_FAST_KDF=1)
	keyd_start
	printf '%s\n' "$PW" | "$CLI" passphrase set --stdin >/dev/null 2>&1 3>&- &
	setter=$!
	wait_log 'faultfs: injected rename delay (call 2)'
	# The window: the record already says sealed, the file is still the plain one.
	assert_record true 1
	grep -q "\"value\":\"$KEY1\"" "$CCR_KEYS" || fail "the keystore is not the plain one: $(head -c 200 "$CCR_KEYS")"
	kill9_daemon "$KEYD_PID"
	wait "$setter" || true
	KEYD_ENV=()
	start_daemon
	assert_json "$(req '{"op":"status"}')" state plain
	assert_json "$(req '{"op":"get","name":"cerebras"}')" value "$KEY1"
	grep -q 'the first passphrase set on .* was stopped before the sealed file was in place' "$KEYD_LOG"
	assert_record false 1
	# Done again, the set goes through and takes the next generation.
	seal "$PW"
	assert_record true 2
	assert_is_sealed "$CCR_KEYS"
	# And a plain file put in its place afterwards is still refused at start.
	stop_daemon "$KEYD_PID"
	plant_plain "$CCR_KEYS"
	run --separate-stderr timeout 10 "$KEYD"
	[ "$status" -eq 1 ] || fail "exit $status: $stderr"
	[[ "$stderr" == *"$CCR_KEYS is plain, but it is sealed with a passphrase"* ]] || fail "$stderr"
}

@test "after passphrase remove every plain write takes the next generation: a sealed copy from before is refused at SIGHUP and at start" {
	start_daemon
	set_key cerebras "$KEY1"
	seal "$PW"
	set_key groq "$KEY2"
	assert_record true 2
	cp "$CCR_KEYS" "$BATS_TEST_TMPDIR/sealed-2"
	# The remove is a write of its own (generation 3), and so is each plain write after it.
	printf '%s\n' "$PW" | "$CLI" passphrase remove --stdin >/dev/null
	assert_record false 3
	set_key mistral "$KEY3"
	assert_record false 4
	"$CLI" delete groq >/dev/null
	assert_record false 5
	cp "$CCR_KEYS" "$BATS_TEST_TMPDIR/plain"
	# The sealed copy put back: refused at SIGHUP, the keys in memory kept.
	cp "$BATS_TEST_TMPDIR/sealed-2" "$CCR_KEYS"
	kill -HUP "$KEYD_PID"
	wait_for_log 'reload refused'
	grep -q "reload refused.*sealed generation 2, older than generation 5" "$KEYD_LOG" ||
		fail "$(grep 'reload refused' "$KEYD_LOG")"
	assert_json "$(req '{"op":"status"}')" state plain
	assert_json "$(req '{"op":"get","name":"mistral"}')" value "$KEY3"
	# And at start.
	cp "$BATS_TEST_TMPDIR/plain" "$CCR_KEYS"
	stop_daemon "$KEYD_PID"
	cp "$BATS_TEST_TMPDIR/sealed-2" "$CCR_KEYS"
	run --separate-stderr timeout 10 "$KEYD"
	[ "$status" -eq 1 ] || fail "exit $status: $stderr"
	[[ "$stderr" == *"is sealed generation 2, older than generation 5"* ]] || fail "$stderr"
	# A keystore never sealed keeps no record.
	rm "$CCR_KEYS" "$CCR_KEYS.seal"
	start_daemon
	set_key cerebras "$KEY1"
	[ ! -e "$CCR_KEYS.seal" ] || fail "a keystore never sealed got a seal record"
}

@test "a seal record that is a symlink, open to others or not valid is refused at start" {
	sealed_store
	stop_daemon "$KEYD_PID"
	cp "$CCR_KEYS.seal" "$BATS_TEST_TMPDIR/record"
	chmod 644 "$CCR_KEYS.seal"
	run --separate-stderr timeout 10 "$KEYD"
	[ "$status" -eq 1 ] && [[ "$stderr" == *"$CCR_KEYS.seal has mode 0644"* ]] || fail "$status: $stderr"
	rm "$CCR_KEYS.seal"
	ln -s "$BATS_TEST_TMPDIR/record" "$CCR_KEYS.seal"
	run --separate-stderr timeout 10 "$KEYD"
	[ "$status" -eq 1 ] && [[ "$stderr" == *"symlink"* ]] || fail "$status: $stderr"
	rm "$CCR_KEYS.seal"
	printf '{"version":1,"sealed":"yes","generation":1}\n' >"$CCR_KEYS.seal"
	chmod 600 "$CCR_KEYS.seal"
	run --separate-stderr timeout 10 "$KEYD"
	[ "$status" -eq 1 ] && [[ "$stderr" == *"not a valid seal record"* ]] || fail "$status: $stderr"
	assert_json "$(cat "$BATS_TEST_TMPDIR/record")" sealed true # the link was not followed to write
}
