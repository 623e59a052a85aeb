#!/usr/bin/env bats
# The keystore file: its mode and format, what the daemon refuses to load (and
# never overwrites), the flat form, durability across kill -9, and SIGHUP reload.

load helpers

setup() {
	common_setup
}

teardown() {
	common_teardown
}

# refused_start: run ccr-keyd, which must refuse to start; never let it hang.
refused_start() {
	run --separate-stderr timeout 3 "$KEYD"
	[ "$status" -eq 1 ] || fail "ccr-keyd exited with $status, not 1" "$stderr"
	[ ! -e "$CCR_KEYD_SOCKET" ] || fail "it created its socket anyway"
}

@test "the keystore is created with mode 0600 even under umask 000" {
	umask 000
	start_daemon
	set_key cerebras "$KEY1"
	[ "$(stat -c %a "$CCR_KEYS")" = 600 ]
	[ "$(stat -c %u "$CCR_KEYS")" = "$(id -u)" ]
	[ "$(stat -c %a "$(dirname "$CCR_KEYS")")" = 700 ]
}

@test "the keystore file is version 1 with value, env, created and updated per key" {
	start_daemon
	set_key cerebras "$KEY1"
	req '{"op":"set","name":"groq","env":"GROQ_TOKEN","value":"'"$KEY2"'"}' >/dev/null
	doc=$(tr -d '\n' <"$CCR_KEYS")
	assert_json "$doc" version 1
	assert_json "$doc" keys.cerebras.value "$KEY1"
	assert_json "$doc" keys.cerebras.env CEREBRAS_API_KEY
	assert_json "$doc" keys.groq.env GROQ_TOKEN
	[[ "$(jget keys.groq.created "$doc")" =~ ^20[0-9]{2}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z$ ]]
	[[ "$(jget keys.groq.updated "$doc")" =~ ^20[0-9]{2}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z$ ]]
}

@test "writes leave no temporary file beside the keystore" {
	start_daemon
	for i in 1 2 3; do
		set_key "k$i" "csk-test-temp-$i"
	done
	"$CLI" delete k2 >/dev/null
	run ls -A "$(dirname "$CCR_KEYS")"
	[ "$output" = "$(printf 'keys\nkeys.lock')" ] || fail "found: $output"
}

@test "a keystore with mode 0644 is refused with the chmod to run" {
	write_keystore "{\"cerebras\":\"$KEY1\"}" 644
	refused_start
	[[ "$stderr" == *"run: chmod 600 $CCR_KEYS"* ]]
	refute_secret "$stderr" "$KEY1"
	[ "$(stat -c %a "$CCR_KEYS")" = 644 ] # reported, not silently changed
}

@test "a keystore with mode 0640 (group readable) is refused too" {
	write_keystore "{\"cerebras\":\"$KEY1\"}" 640
	refused_start
	[[ "$stderr" == *"run: chmod 600 $CCR_KEYS"* ]]
}

@test "a keystore owned by another user is refused with the chown to run" {
	write_keystore "{\"cerebras\":\"$KEY1\"}"
	chown nobody "$CCR_KEYS"
	refused_start
	[[ "$stderr" == *"run: chown $(id -u) $CCR_KEYS"* ]]
	[ "$(stat -c %U "$CCR_KEYS")" = nobody ]
}

@test "a keystore that is a symlink is refused, says what to run, and is left alone" {
	mkdir -p "$BATS_TEST_TMPDIR/elsewhere"
	printf '{"cerebras":"%s"}' "$KEY1" >"$BATS_TEST_TMPDIR/elsewhere/keys"
	chmod 600 "$BATS_TEST_TMPDIR/elsewhere/keys"
	mkdir -p -m 700 "$CCR_HOME"
	ln -s "$BATS_TEST_TMPDIR/elsewhere/keys" "$CCR_KEYS"
	cp "$BATS_TEST_TMPDIR/elsewhere/keys" "$BATS_TEST_TMPDIR/before"
	refused_start
	[[ "$stderr" == *symlink* ]]
	[ -L "$CCR_KEYS" ]
	cmp "$BATS_TEST_TMPDIR/before" "$BATS_TEST_TMPDIR/elsewhere/keys"
	[[ "$stderr" == *"run: "*"$CCR_KEYS"* ]] || fail "no command to run in: $stderr"
}

@test "a keystore that is not valid JSON is refused and left byte-for-byte untouched" {
	write_keystore "{\"version\":1,\"keys\":{\"cerebras\":{\"value\":\"$KEY1\"" # cut short
	cp -p "$CCR_KEYS" "$BATS_TEST_TMPDIR/before"
	refused_start
	[[ "$stderr" == *"$CCR_KEYS"*"not valid"* ]]
	refute_secret "$stderr" "$KEY1"
	cmp "$BATS_TEST_TMPDIR/before" "$CCR_KEYS"
	[ "$(stat -c '%a %Y' "$CCR_KEYS")" = "$(stat -c '%a %Y' "$BATS_TEST_TMPDIR/before")" ]
	run ls -A "$CCR_HOME"
	[ "$output" = "$(printf 'keys\nkeys.lock')" ] || fail "found: $output"
}

@test "a keystore that is not valid JSON is refused with a message that says what to run" {
	write_keystore 'this is not json'
	refused_start
	[[ "$stderr" == *"run: "*"$CCR_KEYS"* ]] || fail "no command to run in: $stderr"
}

@test "keystores that parse but are not valid are refused and left untouched" {
	bad=(
		'{"version":1,"keys":{"a":{"value":"csk-test-1","env":"SAME"},"b":{"value":"csk-test-2","env":"SAME"}}}'
		'{"version":2,"keys":{}}'
		'{"version":1,"keys":{"bad/name":{"value":"csk-test-1"}}}'
		'{"version":1,"keys":{"a":{"value":"csk-test-1\nx"}}}'
		'{"version":1,"keys":{"a":{"value":"csk-test-\u0000x"}}}'
		'{"a":42}'
		'[]'
		''
	)
	for doc in "${bad[@]}"; do
		write_keystore "$doc"
		cp "$CCR_KEYS" "$BATS_TEST_TMPDIR/before"
		refused_start
		cmp "$BATS_TEST_TMPDIR/before" "$CCR_KEYS" || fail "changed: $doc"
	done
}

@test "the flat {name: value} form loads, keeps its file until the next write, then is upgraded" {
	write_keystore "{\"cerebras\":\"$KEY1\",\"open-router\":\"$KEY2\"}"
	cp "$CCR_KEYS" "$BATS_TEST_TMPDIR/before"
	start_daemon
	run req '{"op":"get","name":"cerebras"}' '{"op":"resolve","env":"OPEN_ROUTER_API_KEY"}'
	assert_json "${lines[0]}" value "$KEY1"
	assert_json "${lines[0]}" env CEREBRAS_API_KEY
	assert_json "${lines[1]}" values.OPEN_ROUTER_API_KEY "$KEY2"
	cmp "$BATS_TEST_TMPDIR/before" "$CCR_KEYS" # loading alone writes nothing
	set_key groq "$KEY3"
	doc=$(tr -d '\n' <"$CCR_KEYS")
	assert_json "$doc" version 1
	assert_json "$doc" keys.cerebras.value "$KEY1"
	assert_json "$doc" keys.cerebras.env CEREBRAS_API_KEY
	assert_json "$doc" keys.open-router.value "$KEY2"
	assert_json "$doc" keys.open-router.env OPEN_ROUTER_API_KEY
	assert_json "$doc" keys.groq.value "$KEY3"
	[ "$(stat -c %a "$CCR_KEYS")" = 600 ]
}

@test "keys, env names and times survive a clean restart" {
	start_daemon
	set_key cerebras "$KEY1"
	req '{"op":"set","name":"groq","env":"GROQ_TOKEN","value":"'"$KEY2"'"}' >/dev/null
	before=$(req '{"op":"list"}')
	stop_daemon "$KEYD_PID"
	start_daemon
	[ "$(req '{"op":"list"}')" = "$before" ]
	run req '{"op":"get","name":"groq"}'
	assert_json "$output" value "$KEY2"
}

@test "kill -9 right after an acknowledged set: the key is there after restart" {
	start_daemon
	# Read all 20 acknowledgements, then kill at once, before any other step.
	seq 1 20 | awk '{ printf "{\"op\":\"set\",\"name\":\"k%d\",\"value\":\"csk-test-durable-%d\"}\n", $1, $1 }' |
		"$SOCKCAT" --lines 20 "$CCR_KEYD_SOCKET" >"$BATS_TEST_TMPDIR/acks"
	kill9_daemon "$KEYD_PID"
	[ "$(grep -c '"ok":true' "$BATS_TEST_TMPDIR/acks")" -eq 20 ]
	start_daemon
	mapfile -t gets < <(seq -f '{"op":"get","name":"k%g"}' 1 20)
	[ "$(req "${gets[@]}" | jget value)" = "$(seq -f 'csk-test-durable-%g' 1 20)" ]
}

@test "kill -9 right after the client says stored: the key is there after restart" {
	start_daemon
	"$CLI" set cerebras <<<"$KEY1" >/dev/null
	kill9_daemon "$KEYD_PID"
	start_daemon
	run req '{"op":"get","name":"cerebras"}'
	assert_json "$output" value "$KEY1"
}

@test "kill -9 right after an acknowledged delete: the key stays deleted" {
	start_daemon
	set_key cerebras "$KEY1"
	set_key groq "$KEY2"
	run req '{"op":"delete","name":"cerebras"}'
	assert_ok "$output"
	kill9_daemon "$KEYD_PID"
	start_daemon
	run req '{"op":"get","name":"cerebras"}' '{"op":"get","name":"groq"}'
	assert_error "${lines[0]}" not_found
	assert_json "${lines[1]}" value "$KEY2"
}

@test "SIGHUP reloads a keystore edited on disk" {
	start_daemon
	set_key cerebras "$KEY1"
	write_keystore "{\"version\":1,\"keys\":{\"groq\":{\"value\":\"$KEY2\",\"env\":\"GROQ_API_KEY\"}}}"
	kill -HUP "$KEYD_PID"
	for i in $(seq 1 100); do
		run req '{"op":"get","name":"groq"}'
		[[ "$output" == *'"ok":true'* ]] && break
		sleep 0.02
	done
	assert_json "$output" value "$KEY2"
	run req '{"op":"get","name":"cerebras"}'
	assert_error "$output" not_found
	alive "$KEYD_PID"
}

@test "SIGHUP with an invalid keystore on disk keeps the keys in memory and the file untouched" {
	start_daemon
	set_key cerebras "$KEY1"
	write_keystore '{"version":1,"keys":{'
	cp "$CCR_KEYS" "$BATS_TEST_TMPDIR/before"
	kill -HUP "$KEYD_PID"
	for i in $(seq 1 100); do
		grep -q 'reload refused' "$KEYD_LOG" && break
		sleep 0.02
	done
	grep -q "reload refused.*$CCR_KEYS" "$KEYD_LOG"
	run req '{"op":"get","name":"cerebras"}'
	assert_json "$output" value "$KEY1"
	cmp "$BATS_TEST_TMPDIR/before" "$CCR_KEYS"
}

@test "a keystore directory writable by others is refused with the chmod to run" {
	mkdir -p "$CCR_HOME"
	chmod 777 "$CCR_HOME"
	refused_start
	[[ "$stderr" == *"chmod go-w $CCR_HOME"* ]]
}

@test "a keystore that is a FIFO is refused at once rather than read" {
	mkdir -p -m 700 "$CCR_HOME"
	mkfifo -m 600 "$CCR_KEYS"
	refused_start
	[[ "$stderr" == *"$CCR_KEYS"*"not a regular file"* ]]
	[ -p "$CCR_KEYS" ]
}
