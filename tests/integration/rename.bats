#!/usr/bin/env bats
# ccr-config rename and the daemon's rename op: a key gets another name and keeps
# its value, env name, created time and origins; the change is written alone,
# atomically and durably, before it is answered; it is refused inside a coding
# agent like set, and audited with both names.

load helpers

setup() {
	common_setup
	AUDIT=$BATS_TEST_TMPDIR/audit.log
}

teardown() {
	common_teardown
}

# raw_field NAME FIELD: a member of the raw get of NAME.
raw_field() {
	req "{\"op\":\"get\",\"name\":\"$1\"}" | jget "$2"
}

@test "rename keeps the value, env name, created time and origins, and survives a restart" {
	start_daemon --audit-log "$AUDIT"
	set_key gemini-flash "$KEY1"
	"$CLI" bind gemini-flash https://generativelanguage.googleapis.com >/dev/null
	# A created time of its own, older than the rename.
	sleep 1.1
	local created
	created=$(jget keys.0.created "$(req '{"op":"list"}')")
	run --separate-stderr "$CLI" rename gemini-flash gemini
	[ "$status" -eq 0 ] || fail "$status: $stderr"
	[ "$output" = 'renamed gemini-flash to gemini (still $GEMINI_FLASH_API_KEY: the router'"'"'s config needs no change)' ] ||
		fail "$output"
	[ "$(raw_value gemini)" = "$KEY1" ]
	[ "$(raw_field gemini env)" = GEMINI_FLASH_API_KEY ]
	[ "$(jget keys.0.created "$(req '{"op":"list"}')")" = "$created" ] || fail "created changed"
	[ "$(jget keys.0.name "$(req '{"op":"list"}')")" = gemini ]
	[ "$(jget keys.0.origins "$(req '{"op":"list"}')")" = '["https://generativelanguage.googleapis.com"]' ] ||
		fail "$(req '{"op":"list"}')"
	assert_error "$(req '{"op":"get","name":"gemini-flash"}')" not_found
	# On disk before the answer: a daemon killed now comes back with it.
	grep -q '"gemini"' "$CCR_KEYS" && ! grep -q '"gemini-flash"' "$CCR_KEYS" || fail "$(cat "$CCR_KEYS")"
	kill9_daemon "$KEYD_PID"
	start_daemon
	[ "$(raw_value gemini)" = "$KEY1" ]
	[ "$(raw_field gemini env)" = GEMINI_FLASH_API_KEY ]
	grep -q '"op":"rename","name":"gemini-flash,gemini".*"result":"ok"' "$AUDIT" || fail "$(cat "$AUDIT")"
}

@test "rename by env name; an unknown key exits 1, a name taken exits 5, and nothing changes" {
	start_daemon
	set_key cerebras "$KEY1"
	set_key groq "$KEY2"
	run --separate-stderr "$CLI" rename CEREBRAS_API_KEY cb
	[ "$status" -eq 0 ] && [ "$(raw_value cb)" = "$KEY1" ] || fail "$status: $stderr"
	run --separate-stderr "$CLI" rename nosuch other
	[ "$status" -eq 1 ] && [[ "$stderr" == *"nothing renamed"* ]] || fail "$status: $stderr"
	run --separate-stderr "$CLI" rename cb groq
	[ "$status" -eq 5 ] && [[ "$stderr" == *"a key named groq exists already"* ]] || fail "$status: $stderr"
	[ "$(raw_value cb)" = "$KEY1" ] && [ "$(raw_value groq)" = "$KEY2" ]
	run --separate-stderr "$CLI" rename cb 'bad name'
	[ "$status" -eq 2 ] || fail "$status: $stderr"
	run --separate-stderr "$CLI" --json rename cb cerebras
	assert_json "$output" name cerebras
	assert_json "$output" old_name cb
	assert_json "$output" env CEREBRAS_API_KEY
}

@test "a rename pipelined between sets is written alone and in order" {
	start_daemon
	set_key a "$KEY1"
	run req '{"op":"set","name":"x","value":"'"$KEY3"'"}' \
		'{"op":"rename","name":"a","new_name":"b"}' \
		'{"op":"set","name":"b","value":"'"$KEY2"'"}' \
		'{"op":"rename","name":"x","new_name":"b"}' \
		'{"op":"set","name":"a","value":"'"$KEY3"'","env":"A_AGAIN_API_KEY"}' \
		'{"op":"get","name":"b"}'
	[ "${#lines[@]}" -eq 6 ] || fail "$output"
	assert_ok "${lines[0]}"
	assert_ok "${lines[1]}"
	assert_json "${lines[1]}" name b
	assert_json "${lines[1]}" env A_API_KEY
	assert_ok "${lines[2]}"
	assert_error "${lines[3]}" conflict
	assert_ok "${lines[4]}"
	assert_json "${lines[5]}" value "$KEY2"
	assert_json "${lines[5]}" env A_API_KEY
	kill9_daemon "$KEYD_PID"
	start_daemon
	[ "$(raw_value b)" = "$KEY2" ] && [ "$(raw_value a)" = "$KEY3" ] && [ "$(raw_value x)" = "$KEY3" ]
	[ "$(req '{"op":"status"}' | jget keys)" = 3 ]
}

@test "rename is refused inside a coding agent and on a locked keystore" {
	export CCR_KEYD_TEST_FAST_KDF=1 CCR_KEYD_TEST_DELAY_SCALE=0.004
	use_test_build
	start_daemon --audit-log "$AUDIT"
	set_key cerebras "$KEY1"
	mkdir -p "$BATS_TEST_TMPDIR/agents"
	cp "$(command -v bash)" "$BATS_TEST_TMPDIR/agents/claude"
	run --separate-stderr "$BATS_TEST_TMPDIR/agents/claude" -c "'$CLI' rename cerebras other"$'\n''exit $?'
	[ "$status" -eq 4 ] || fail "$status: $stderr"
	[[ "$stderr" == *"a coding agent"*"rename"* ]] || fail "$stderr"
	[ "$(raw_value cerebras)" = "$KEY1" ]
	grep -q '"op":"rename","name":"cerebras,other".*"result":"denied"' "$AUDIT" ||
		grep -q '"op":"rename".*"result":"denied"' "$AUDIT" || fail "$(cat "$AUDIT")"
	printf 'pw-test-one\n' | "$CLI" passphrase set --stdin >/dev/null
	"$CLI" lock >/dev/null
	assert_error "$(req '{"op":"rename","name":"cerebras","new_name":"other"}')" locked
	assert_error "$(req '{"op":"rename","name":"cerebras"}')" bad_request
}
