#!/usr/bin/env bats
# A sealed daemon starts locked; unlock, the growing delay after wrong
# passphrases and busy while it runs; exec offers to unlock on a terminal; SIGTERM
# leaves the file sealed; other peers are served while a key is derived.
#
# The shared setup and helpers are in sealed.bash.

load helpers
load sealed

@test "a sealed daemon starts locked: hello and status say so, every keyed op answers locked" {
	sealed_store
	assert_is_sealed "$CCR_KEYS"
	reply=$(req '{"op":"hello"}')
	assert_ok "$reply"
	assert_json "$reply" locked true
	reply=$(req '{"op":"status"}')
	assert_json "$reply" locked true
	assert_json "$reply" sealed true
	for r in '{"op":"get","name":"cerebras"}' '{"op":"resolve","env":"CEREBRAS_API_KEY"}' \
		'{"op":"resolve","env":["CEREBRAS_API_KEY","GROQ_TOKEN"]}' '{"op":"list"}' \
		'{"op":"set","name":"x","value":"csk-test-new-value-1"}' \
		'{"op":"delete","name":"cerebras"}'; do
		reply=$(req "$r")
		assert_locked_reply "$reply"
		refute_secret "$reply" "$KEY1" "$KEY2"
	done
	assert_client_locked get cerebras
	assert_client_locked list
	assert_client_locked delete cerebras
	run --separate-stderr bash -c 'printf "csk-test-new-value-2\n" | "$1" set newkey' _ "$CLI"
	[ "$status" -eq 4 ] && [[ "$stderr" == *"run: ccr-config unlock"* ]] ||
		fail "set: $status $stderr"
	run "$CLI" status
	[ "$status" -eq 0 ]
	[[ "$output" == *"locked     yes"* ]] || fail "$output"
	# Nothing was deleted or added while locked: the two keys come back.
	run unlock "$PW"
	[ "$status" -eq 0 ] || fail "unlock exited $status: $output"
	assert_json "$(req '{"op":"get","name":"cerebras"}')" value "$KEY1"
	assert_json "$(req '{"op":"get","name":"groq-cloud"}')" value "$KEY2"
	reply=$(req '{"op":"resolve","env":["CEREBRAS_API_KEY","GROQ_TOKEN"]}')
	assert_json "$reply" values.CEREBRAS_API_KEY "$KEY1"
	assert_json "$reply" values.GROQ_TOKEN "$KEY2"
	reply=$(req '{"op":"list"}')
	assert_json "$reply" keys.0.name cerebras
	assert_json "$reply" keys.1.name groq-cloud
	refute_json "$reply" keys.2
	assert_json "$(req '{"op":"hello"}')" locked false
	run "$CLI" get cerebras
	[ "$status" -eq 0 ] && [[ "$output" == cerebras* ]] || fail "get: $status $output"
}

@test "a wrong passphrase is denied (exit 4) after a delay that doubles each time, up to its cap" {
	export CCR_KEYD_TEST_DELAY_SCALE=0.02 # 250 ms base, 16 s cap → 5 ms, 320 ms
	sealed_store
	expect=(5 10 20 40 80 160 320 320)
	took=()
	for i in "${!expect[@]}"; do
		t0=$(now_ms)
		run --separate-stderr unlock pw-test-wrong-$i
		t1=$(now_ms)
		took+=($((t1 - t0)))
		[ "$status" -eq 4 ] || fail "wrong passphrase $i: exit $status" "$stderr"
		[[ "$stderr" == *"wrong passphrase"* ]] || fail "$stderr"
	done
	# The daemon's own account: "failure N in a row; answering in M ms", M doubling.
	mapfile -t logged < <(sed -n 's/.*wrong passphrase (failure \([0-9]*\) in a row); answering in \([0-9]*\) ms$/\1 \2/p' "$KEYD_LOG")
	[ "${#logged[@]}" -eq "${#expect[@]}" ] || fail "logged: ${logged[*]}"
	for i in "${!expect[@]}"; do
		[ "${logged[$i]}" = "$((i + 1)) ${expect[$i]}" ] ||
			fail "failure $((i + 1)): logged '${logged[$i]}', expected '$((i + 1)) ${expect[$i]}'"
	done
	# And what a client sees: never answered before its delay (2 ms of slack for
	# the loop's cached clock), the last well after the first. (Upper bounds would
	# be at the mercy of a busy machine.)
	for i in "${!expect[@]}"; do
		[ "${took[$i]}" -ge $((expect[i] - 2)) ] ||
			fail "answer $((i + 1)) took ${took[$i]} ms, less than ${expect[$i]} ms" "all: ${took[*]}"
	done
	[ "${took[0]}" -lt "${took[7]}" ] || fail "no growth: ${took[*]} ms"
	# The passphrase never reaches the log; the right one still works and resets the count.
	! grep -q pw-test "$KEYD_LOG" || fail "a passphrase reached the log"
	run unlock "$PW"
	[ "$status" -eq 0 ] || fail "right passphrase: exit $status $output"
	assert_json "$(req '{"op":"get","name":"cerebras"}')" value "$KEY1"
	req '{"op":"lock"}' >/dev/null
	run unlock pw-test-wrong-again
	[ "$status" -eq 4 ]
	last=$(grep 'wrong passphrase (failure' "$KEYD_LOG" | tail -1)
	[[ "$last" == *"failure 1 in a row); answering in 5 ms" ]] || fail "the count did not restart: $last"
}

@test "an unlock while the delay for a wrong one runs is answered busy, not queued" {
	export CCR_KEYD_TEST_DELAY_SCALE=1 # 250 ms for the first failure
	sealed_store
	unlock pw-test-wrong >/dev/null 2>&1 &
	pending=$!
	sleep 0.1
	reply=$(req '{"op":"unlock","value":"'"$PW"'"}')
	wait "$pending" || true
	assert_error "$reply" busy
	assert_json "$(req '{"op":"hello"}')" locked true
}

@test "exec without a terminal on a locked keystore fails with exit 4 and the hint, running nothing" {
	sealed_store
	printf '{"Providers":[{"name":"cerebras","api_key":"$CEREBRAS_API_KEY"}]}\n' >"$CCR_HOME/config.json"
	marker=$BATS_TEST_TMPDIR/ran
	run --separate-stderr "$CLI" exec -- sh -c 'echo "$CEREBRAS_API_KEY" >"$1"' _ "$marker" </dev/null
	[ "$status" -eq 4 ] || fail "exec exited $status" "$stderr"
	[[ "$stderr" == *"run: ccr-config unlock"* ]] || fail "$stderr"
	[ ! -e "$marker" ] || fail "the command ran anyway"
	run --separate-stderr "$CLI" exec --all -- sh -c 'echo ran >"$1"' _ "$marker" </dev/null
	[ "$status" -eq 4 ] && [[ "$stderr" == *"run: ccr-config unlock"* ]] || fail "--all: $status $stderr"
	[ ! -e "$marker" ]
	run unlock "$PW"
	run --separate-stderr "$CLI" exec -- sh -c 'printf "%s" "$CEREBRAS_API_KEY" >"$1"' _ "$marker" </dev/null
	[ "$status" -eq 0 ] || fail "exec after unlock: $status $stderr"
	[ "$(cat "$marker")" = "$KEY1" ]
}

@test "exec on a terminal offers to unlock, then runs the command with the key" {
	command -v script >/dev/null || skip "needs script(1) for a pseudo-terminal"
	sealed_store
	printf '{"Providers":[{"name":"cerebras","api_key":"$CEREBRAS_API_KEY"}]}\n' >"$CCR_HOME/config.json"
	marker=$BATS_TEST_TMPDIR/ran
	# script(1) gives ccr-config a terminal; the passphrase is typed once it prompts.
	run bash -c '(sleep 0.5; printf "%s\n" "$1") |
		timeout 20 script -qec "$2 exec -- sh -c '\''printf %s \"\$CEREBRAS_API_KEY\" >$3'\''" /dev/null' \
		_ "$PW" "$CLI" "$marker"
	[ "$status" -eq 0 ] || fail "exec on a terminal: exit $status" "$output"
	[[ "$output" == *"the keystore is locked"* && "$output" == *"Passphrase"* ]] || fail "$output"
	[ "$(cat "$marker")" = "$KEY1" ]
	assert_json "$(req '{"op":"hello"}')" locked false
}

@test "SIGTERM on an unlocked sealed daemon exits cleanly and leaves the file sealed" {
	sealed_store
	run unlock "$PW"
	cp "$CCR_KEYS" "$BATS_TEST_TMPDIR/before"
	stop_daemon "$KEYD_PID"
	[ "$STOP_STATUS" -eq 0 ]
	cmp -s "$BATS_TEST_TMPDIR/before" "$CCR_KEYS"
	grep -q 'exited cleanly' "$KEYD_LOG"
}

@test "other peers are answered while passphrase set, unlock or change derives a key" {
	# Real (moderate) Argon2id limits for this passphrase, so that deriving takes a while.
	unset CCR_KEYD_TEST_FAST_KDF
	start_daemon
	set_key cerebras "$KEY1"
	out=$BATS_TEST_TMPDIR/derive.done
	(
		seal "$PW"
		echo "$? $(now_ms)" >"$out"
	) &
	bg=$!
	sleep 0.15
	# passphrase set is deriving: a get on the (still plain) store is answered meanwhile.
	t0=$(now_ms)
	get=$(req '{"op":"get","name":"cerebras"}')
	t1=$(now_ms)
	[ ! -e "$out" ] || fail "passphrase set was already answered; derivation too fast to test"
	assert_json "$get" value "$KEY1"
	[ $((t1 - t0)) -lt 400 ] || fail "get took $((t1 - t0)) ms during passphrase set"
	wait "$bg"
	read -r rc done_at <"$out"
	[ "$rc" -eq 0 ] && [ "$done_at" -gt "$t1" ] || fail "passphrase set: $rc at $done_at"
	rm -f "$out"
	stop_daemon "$KEYD_PID"
	assert_json "$(cat "$CCR_KEYS")" sealed.opslimit 3
	start_daemon
	(
		unlock "$PW" >/dev/null 2>&1
		echo "$? $(now_ms)" >"$out"
	) &
	bg=$!
	sleep 0.15
	# The unlock is deriving: hello, status and get are answered at once meanwhile.
	t0=$(now_ms)
	hello=$(req '{"op":"hello"}')
	get=$(req '{"op":"get","name":"cerebras"}')
	t1=$(now_ms)
	[ ! -e "$out" ] || fail "the unlock was already answered; derivation too fast to test"
	assert_json "$hello" locked true
	assert_locked_reply "$get"
	[ $((t1 - t0)) -lt 400 ] || fail "hello and get took $((t1 - t0)) ms during the unlock"
	wait "$bg"
	read -r rc done_at <"$out"
	[ "$rc" -eq 0 ] || fail "the unlock failed: $rc"
	[ "$done_at" -gt "$t1" ]
	# A second unlock while one derives is told busy rather than queued behind it.
	# When the first is done before the second arrives, it is answered ok instead:
	# lock and try again, so that the check never rests on the machine's speed.
	for attempt in 1 2 3 4 5; do
		"$CLI" lock >/dev/null
		rm -f "$out"
		(
			unlock "$PW" >/dev/null 2>&1
			echo "$? $(now_ms)" >"$out"
		) &
		bg=$!
		# Send the second only once the daemon is deriving the first.
		second='"ok":true'
		for ((i = 0; i < 200; i++)); do
			state=$(req '{"op":"status"}' | jget state)
			if [ "$state" = unlocking ]; then
				second=$(req '{"op":"unlock","value":"'"$PW"'"}')
				break
			fi
			[ "$state" = unlocked ] && break
			sleep 0.01
		done
		wait "$bg"
		read -r rc done_at <"$out"
		[ "$rc" -eq 0 ] || fail "the unlock failed: $rc"
		[[ "$second" == *'"ok":true'* ]] && continue
		assert_error "$second" busy
		break
	done
	[[ "$second" == *'"error":"busy"'* ]] || fail "no second unlock landed while one derived: $second"
	# Unlocked: a passphrase change derives the old key again (moderate limits);
	# gets on the unlocked store are answered meanwhile, with the value. (The new
	# key uses the minimum limits: restart with them to keep the test short.)
	stop_daemon "$KEYD_PID"
	CCR_KEYD_TEST_FAST_KDF=1 start_daemon
	run unlock "$PW"
	[ "$status" -eq 0 ]
	rm -f "$out"
	(
		printf '%s\n%s\n' "$PW" "$PW2" | "$CLI" passphrase change --stdin >/dev/null 2>&1
		echo "$? $(now_ms)" >"$out"
	) &
	bg=$!
	sleep 0.15
	t0=$(now_ms)
	get=$(req '{"op":"get","name":"cerebras"}')
	t1=$(now_ms)
	[ ! -e "$out" ] || fail "the change was already answered; derivation too fast to test"
	assert_json "$get" value "$KEY1"
	[ $((t1 - t0)) -lt 400 ] || fail "get took $((t1 - t0)) ms during the change"
	wait "$bg"
	read -r rc done_at <"$out"
	[ "$rc" -eq 0 ] || fail "the change failed: $rc"
	[ "$done_at" -gt "$t1" ]
}
