#!/usr/bin/env bats
# ccr-config with a person at the terminal (script(1) gives it one; tty.bash
# types each answer once its prompt shows): delete asks first, set over a key
# shows the masked old and new values, and a passphrase may be typed three times.

load helpers
load tty

setup() {
	common_setup
	export CCR_KEYD_TEST_FAST_KDF=1 CCR_KEYD_TEST_DELAY_SCALE=0.004
	use_test_build
}

teardown() {
	common_teardown
}

@test "delete on a terminal asks first, naming the key masked: no keeps it, y deletes it" {
	start_daemon
	set_key cerebras "$KEY1"
	run on_tty "$CLI delete cerebras" "[y/N] " "n"
	[ "$status" -eq 0 ] || fail "$output"
	[[ "$output" == *'Delete cerebras ($CEREBRAS_API_KEY, csk-…f2a9)? [y/N] '* ]] || fail "$output"
	[[ "$output" == *"kept cerebras"* ]] || fail "$output"
	[ "$(raw_value cerebras)" = "$KEY1" ]
	# Just Enter keeps it too.
	run on_tty "$CLI delete cerebras" "[y/N] " ""
	[[ "$output" == *"kept cerebras"* ]] || fail "$output"
	# By its env name, and yes.
	run on_tty "$CLI delete CEREBRAS_API_KEY" "[y/N] " "y"
	[ "$status" -eq 0 ] && [[ "$output" == *"deleted cerebras"* ]] || fail "$output"
	refute_secret "$output" "$KEY1"
	run "$CLI" get cerebras
	[ "$status" -eq 1 ]
}

@test "delete --yes on a terminal, and delete without one, do not ask" {
	start_daemon
	set_key cerebras "$KEY1"
	set_key groq "$KEY2"
	run on_tty "$CLI delete cerebras --yes"
	[ "$status" -eq 0 ] || fail "$output"
	[[ "$output" != *"[y/N]"* && "$output" == *"deleted cerebras"* ]] || fail "$output"
	run --separate-stderr "$CLI" delete groq </dev/null
	[ "$status" -eq 0 ] && [ "$output" = "deleted groq" ] && [ -z "$stderr" ] || fail "$output $stderr"
}

@test "set over a key on a terminal shows the masked old value and the masked new one" {
	start_daemon
	set_key cerebras "$KEY1"
	run on_tty "$CLI set cerebras" "Key for cerebras: " "$KEY2"
	[ "$status" -eq 0 ] || fail "$output"
	[[ "$output" == *'updated cerebras (as $CEREBRAS_API_KEY): csk-…f2a9 → csk-…7b3c'* ]] ||
		fail "$output"
	refute_secret "$output" "$KEY1" "$KEY2"
	[ "$(raw_value cerebras)" = "$KEY2" ]
	# A new key has no old value to show.
	run on_tty "$CLI set groq" "Key for groq: " "$KEY3"
	[[ "$output" == *'stored groq (as $GROQ_API_KEY)'* && "$output" != *"→"* ]] || fail "$output"
	# Without a terminal the line stays as scripts know it.
	run --separate-stderr "$CLI" set cerebras <<<"$KEY3"
	[ "$output" = 'updated cerebras (as $CEREBRAS_API_KEY)' ] || fail "$output"
}

@test "unlock on a terminal gives three tries; the third wrong one leaves it locked" {
	start_daemon
	set_key cerebras "$KEY1"
	printf 'pw-test-right\n' | "$CLI" passphrase set --stdin >/dev/null
	"$CLI" lock >/dev/null
	P="Passphrase for the ccr-keyd keystore: "
	run on_tty "$CLI unlock" "$P" pw-test-wrong-1 "$P" pw-test-wrong-2 "$P" pw-test-right
	[ "$status" -eq 0 ] || fail "$output"
	[[ "$output" == *"wrong passphrase; try again (2 of 3)"*"wrong passphrase; try again (3 of 3)"* ]] ||
		fail "$output"
	[[ "$output" != *pw-test* ]] || fail "a passphrase was echoed: $output"
	assert_json "$(req '{"op":"hello"}')" locked false
	"$CLI" lock >/dev/null
	run on_tty "$CLI unlock" "$P" pw-test-wrong-1 "$P" pw-test-wrong-2 "$P" pw-test-wrong-3
	[ "$status" -eq 4 ] || fail "$status: $output"
	[[ "$output" == *"ccr-config: wrong passphrase; the keystore stays locked"* ]] || fail "$output"
	[ "$(grep -c 'Passphrase for' <<<"$output")" -eq 3 ] || fail "$output"
	assert_json "$(req '{"op":"hello"}')" locked true
	# From stdin there is one try: a script does not get to guess.
	run --separate-stderr "$CLI" unlock --stdin <<<"pw-test-wrong"
	[ "$status" -eq 4 ] && [[ "$stderr" != *"try again"* ]] || fail "$stderr"
}

@test "passphrase on a terminal: three tries to type the new one twice alike, and the current one" {
	start_daemon
	set_key cerebras "$KEY1"
	run on_tty "$CLI passphrase set" "New passphrase: " pw-test-a "Again: " pw-test-b \
		"New passphrase: " pw-test-c "Again: " pw-test-c
	[ "$status" -eq 0 ] || fail "$output"
	[[ "$output" == *"the two passphrases differ; try again (2 of 3)"* ]] || fail "$output"
	run on_tty "$CLI passphrase change" "Current passphrase: " pw-test-wrong \
		"New passphrase: " pw-test-d "Again: " pw-test-d "Current passphrase: " pw-test-c
	[ "$status" -eq 0 ] || fail "$output"
	[[ "$output" == *"wrong passphrase; try again (2 of 3)"*"passphrase changed"* ]] || fail "$output"
	"$CLI" lock >/dev/null
	run --separate-stderr "$CLI" unlock --stdin <<<"pw-test-d"
	[ "$status" -eq 0 ] || fail "$stderr"
}

# wait_reading PID: wait until PID sleeps in the kernel (blocked in its read of
# the terminal), so that a signal sent next interrupts that read.
wait_reading() {
	until [ "$(cut -d' ' -f3 "/proc/$1/stat" 2>/dev/null)" = S ] &&
		[ "$(cat "/proc/$1/wchan" 2>/dev/null)" != 0 ]; do
		alive "$1" || fail "pid $1 ended before it waited for input"
		sleep 0.01
	done
}

# kill_at_prompt SIGNAL: start `ccr-config set sigtest` on a terminal followed by
# `stty -a`, send SIGNAL to ccr-config once its prompt shows, and print what the
# terminal showed.
kill_at_prompt() {
	local out=$BATS_TEST_TMPDIR/tty.$1 fifo=$BATS_TEST_TMPDIR/tty.$1.in pid bg w i
	# The terminal's input: a FIFO this shell holds open, so that script sees no
	# end of input before the command is done.
	mkfifo "$fifo"
	exec {w}<>"$fifo"
	timeout 30 script -qfec "$CLI set sigtest; echo status=\$?; stty -a" /dev/null \
		<"$fifo" >"$out" 2>&1 3>&- &
	bg=$!
	for ((i = 0; i < 1000; i++)); do
		grep -q 'Key for sigtest' "$out" && break
		sleep 0.01
	done
	pid=$(pids_with_arg sigtest)
	[ -n "$pid" ] || fail "no ccr-config at the prompt:" "$(cat "$out")"
	wait_reading "$pid"
	kill "-$1" "$pid"
	wait "$bg" || true # script ends with stty; its status is the command's, checked below
	exec {w}>&-
	tr -d '\r' <"$out"
}

@test "a signal at the key prompt leaves the terminal's echo on, and stores nothing" {
	command -v script >/dev/null || skip "needs script (util-linux) for a terminal"
	start_daemon
	local sig out
	for sig in INT TERM HUP; do
		out=$(kill_at_prompt "$sig")
		[[ "$out" == *"status=$((128 + $(kill -l "$sig")))"* ]] ||
			fail "SIG$sig: not ended by the signal:" "$out"
		grep -Eq '(^| )echo( |$)' <<<"$out" || fail "SIG$sig left echo off:" "$out"
		! grep -Eq '(^| )-echo( |$)' <<<"$out" || fail "SIG$sig left echo off:" "$out"
	done
	run "$CLI" list
	[[ "$output" != *sigtest* ]] || fail "a key was stored: $output"
}

@test "^Z at the key prompt, then fg: the prompt comes back, and the key typed then is stored" {
	command -v script >/dev/null || skip "needs script (util-linux) for a terminal"
	start_daemon
	local out=$BATS_TEST_TMPDIR/tty.stop fifo=$BATS_TEST_TMPDIR/tty.stop.in pid bg w i rc=0
	local name=stoptest-$$-$RANDOM
	mkfifo "$fifo"
	exec {w}<>"$fifo"
	timeout 30 script -qfec "$CLI set $name; echo status=\$?" /dev/null \
		<"$fifo" >"$out" 2>&1 3>&- &
	bg=$!
	CHILD_PIDS+=("$bg")
	# Each wait below is for an event, bounded only by script's own timeout: a
	# loaded machine makes it later, never a failure.
	until grep -q "Key for $name" "$out"; do
		alive "$bg" || fail "no prompt:" "$(cat "$out")"
		sleep 0.01
	done
	pid=$(pids_with_arg "$name")
	[ -n "$pid" ] || fail "no ccr-config at the prompt:" "$(cat "$out")"
	wait_reading "$pid"
	kill -TSTP "$pid"
	# ^Z is handled: ccr-config stops (a shell with job control), or, since the
	# kernel drops a stop for a process group that script leaves orphaned, it
	# asks again at once. Only a stopped one needs the fg (the CONT).
	until [ "$(grep -c "Key for $name" "$out")" -ge 2 ]; do
		alive "$bg" || fail "no prompt after fg:" "$(cat "$out")"
		[ "$(cut -d' ' -f3 "/proc/$pid/stat" 2>/dev/null)" = T ] && kill -CONT "$pid"
		sleep 0.01
	done
	kill -CONT "$pid" # fg, also when the stop was dropped: harmless then
	wait_reading "$pid"
	printf '%s\n' "$KEY1" >&"$w"
	wait "$bg" || rc=$?
	exec {w}>&-
	[ "$rc" -eq 0 ] || fail "script: $rc" "$(cat "$out")"
	grep -q 'status=0' "$out" || fail "ccr-config did not succeed:" "$(cat "$out")"
	refute_secret "$(cat "$out")" "$KEY1"
	[ "$(raw_value "$name")" = "$KEY1" ] || fail "stored: $(raw_value "$name")"
}
