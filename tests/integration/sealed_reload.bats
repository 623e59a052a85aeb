#!/usr/bin/env bats
# SIGHUP on a sealed daemon: unlocked, it stays unlocked when the key held opens
# the file and locks when it does not; an unlock in flight finishes.
#
# The shared setup and helpers are in sealed.bash.

load helpers
load sealed

# A reload must not lock the person out behind their back.
@test "SIGHUP on an unlocked sealed daemon keeps it unlocked when the key held opens the file" {
	sealed_store
	run unlock "$PW" --for 1h
	[ "$status" -eq 0 ]
	kill -HUP "$KEYD_PID"
	wait_for_log 'reloaded'
	grep -q 'reloaded .*: 2 keys (sealed: still unlocked' "$KEYD_LOG" || fail "$(grep reloaded "$KEYD_LOG")"
	reply=$(req '{"op":"status"}')
	assert_json "$reply" locked false
	assert_json "$reply" reloads 1
	assert_json "$reply" transitions.unlocked/reload-opened 1
	# --for's limit is kept, not dropped
	[ -n "$(jget expires_in_ms "$reply")" ] || fail "the unlock's hard limit was dropped: $reply"
	assert_json "$(req '{"op":"get","name":"groq-cloud"}')" value "$KEY2"
	# and it goes on writing, sealed, after the file's generation
	set_key third "$KEY3"
	assert_is_sealed "$CCR_KEYS"
	stop_daemon "$KEYD_PID"
	start_daemon
	run unlock "$PW"
	[ "$status" -eq 0 ]
	assert_json "$(req '{"op":"get","name":"third"}')" value "$KEY3"
}

@test "SIGHUP with a sealed file the key held does not open locks the keystore and wipes the values" {
	sealed_store
	run unlock "$PW"
	[ "$status" -eq 0 ]
	[ "$(id -u)" -ne 0 ] || assert_memory_holds "$KEYD_PID" "unlocked" "$KEY1"
	# Sealed again elsewhere (a new salt, so a new key), with a newer generation.
	printf '{"version":1,"keys":{"fresh":{"value":"%s","env":"FRESH_API_KEY"}}}\n' "$KEY3" |
		"$CCR_BUILD/tools/sealfile" "$PW" 99 >"$CCR_KEYS.new"
	chmod 600 "$CCR_KEYS.new"
	mv "$CCR_KEYS.new" "$CCR_KEYS"
	kill -HUP "$KEYD_PID"
	wait_for_log 'reloaded'
	grep -q 'reloaded .*(sealed: locked)' "$KEYD_LOG" || fail "$(grep reloaded "$KEYD_LOG")"
	assert_json "$(req '{"op":"hello"}')" locked true
	assert_locked_reply "$(req '{"op":"get","name":"cerebras"}')"
	[ "$(id -u)" -ne 0 ] || assert_memory_clean "$KEYD_PID" "after SIGHUP" "$KEY1" "$KEY2"
	run unlock "$PW"
	[ "$status" -eq 0 ]
	assert_json "$(req '{"op":"get","name":"fresh"}')" value "$KEY3"
	assert_error "$(req '{"op":"get","name":"cerebras"}')" not_found
}

@test "an unlock in flight at SIGHUP finishes instead of failing with 'locked meanwhile'" {
	# Real (moderate) Argon2id limits, so that the unlock derives for a while.
	unset CCR_KEYD_TEST_FAST_KDF
	start_daemon
	set_key cerebras "$KEY1"
	seal "$PW"
	stop_daemon "$KEYD_PID"
	start_daemon
	out=$BATS_TEST_TMPDIR/unlock.out
	for attempt in 1 2 3 4 5; do
		"$CLI" lock >/dev/null 2>&1 || true
		rm -f "$out"
		(
			unlock "$PW" >"$out.txt" 2>&1
			echo "$?" >"$out"
		) &
		bg=$!
		# SIGHUP only once the daemon is deriving the unlock's key.
		hupped=
		for ((i = 0; i < 300; i++)); do
			state=$(req '{"op":"status"}' | jget state)
			if [ "$state" = unlocking ]; then
				kill -HUP "$KEYD_PID"
				hupped=yes
				break
			fi
			[ "$state" = unlocked ] && break
			sleep 0.01
		done
		wait "$bg"
		[ -n "$hupped" ] || continue
		# the reload happened while it derived (else: try again)
		state=$(req '{"op":"status"}')
		[ "$(jget transitions.unlocking/reload-sealed "$state")" -ge 1 ] || continue
		[ "$(cat "$out")" -eq 0 ] || fail "the unlock failed: $(cat "$out.txt")"
		[[ "$(cat "$out.txt")" != *"locked meanwhile"* ]] || fail "$(cat "$out.txt")"
		assert_json "$state" locked false
		assert_json "$(req '{"op":"get","name":"cerebras"}')" value "$KEY1"
		return 0
	done
	fail "no SIGHUP landed while an unlock derived"
}
