#!/usr/bin/env bats
# How long a keystore stays unlocked: unlock --for and its hard limit (shortened
# without the passphrase, renewed with it), --lock-after and what counts as a use.
#
# The shared setup and helpers are in sealed.bash.

load helpers
load sealed

# expires_ms: milliseconds until the unlock's hard limit, from status ("" when none).
expires_ms() {
	local r
	r=$(req '{"op":"status"}')
	assert_ok "$r"
	jget expires_in_ms "$r" || true
}

@test "unlock without a passphrase only shortens --for; with the right one it renews it; a wrong one changes nothing" {
	sealed_store
	assert_ok "$(req '{"op":"unlock","value":"'"$PW"'","for":60}')"
	left=$(expires_ms)
	[ "$left" -gt 50000 ] && [ "$left" -le 60000 ] || fail "after unlock --for 60: $left ms"
	# Without the passphrase "for" may bring the limit forward, never push it back.
	assert_json "$(req '{"op":"unlock","for":3600}')" locked false
	left=$(expires_ms)
	[ "$left" -le 60000 ] || fail "unlock without a passphrase lengthened the limit to $left ms"
	assert_json "$(req '{"op":"unlock","for":30}')" locked false
	left=$(expires_ms)
	[ "$left" -le 30000 ] || fail "unlock for 30 left $left ms"
	# A wrong passphrase is denied and leaves the limit as it was.
	assert_error "$(req '{"op":"unlock","value":"pw-test-wrong","for":3600}')" denied
	left=$(expires_ms)
	[ "$left" -le 30000 ] || fail "a wrong passphrase lengthened the limit to $left ms"
	assert_json "$(req '{"op":"get","name":"cerebras"}')" value "$KEY1"
	# The right passphrase renews the unlock: a longer limit, or none at all.
	assert_ok "$(req '{"op":"unlock","value":"'"$PW"'","for":3600}')"
	left=$(expires_ms)
	[ "$left" -gt 3000000 ] || fail "renewed for an hour, the limit is $left ms away"
	assert_ok "$(req '{"op":"unlock","value":"'"$PW"'"}')"
	[ -z "$(expires_ms)" ] || fail "renewed without --for, a hard limit remains"
	# With no limit, "for" alone sets one (it only shortens "never").
	assert_ok "$(req '{"op":"unlock","for":90}')"
	left=$(expires_ms)
	[ -n "$left" ] && [ "$left" -le 90000 ] || fail "unlock for 90 with no limit: '$left'"
}

@test "--lock-after locks an idle keystore, and each use restarts its clock" {
	start_daemon --lock-after 1s
	set_key cerebras "$KEY1"
	seal "$PW"
	# Used every 300 ms for 2 s: never idle for 1 s, so it stays unlocked.
	for i in 1 2 3 4 5 6 7; do
		t_last=$(now_ms)
		assert_json "$(req '{"op":"get","name":"cerebras"}')" value "$KEY1"
		sleep 0.3
	done
	for ((i = 0; i < 150; i++)); do
		[ "$(jget locked "$(req '{"op":"hello"}')")" = true ] && break
		sleep 0.02
	done
	waited=$(($(now_ms) - t_last))
	[ "$(jget locked "$(req '{"op":"hello"}')")" = true ] || fail "not locked $waited ms after the last use"
	# hello is not a use: the lock came 1 s after the last get, not sooner.
	[ "$waited" -ge 900 ] || fail "locked only $waited ms after the last use"
	assert_locked_reply "$(req '{"op":"get","name":"cerebras"}')"
	grep -q 'auto-lock: idle for --lock-after' "$KEYD_LOG"
	grep -q 'locked: key and values wiped' "$KEYD_LOG"
	if [ "$(id -u)" -eq 0 ]; then
		assert_memory_clean "$KEYD_PID" "after auto-lock" "$KEY1"
	fi
}

# Sealing is a use: once the last get/set was longer ago than --lock-after,
# the next auto-lock tick used to lock the keystore right after the client
# printed "ccr-keyd stays unlocked" (fixed in 43961ad).
@test "list and a masked get do not restart --lock-after's clock: polling them keeps nothing unlocked" {
	start_daemon --lock-after 1s
	set_key cerebras "$KEY1"
	seal "$PW"
	# Polled every 100 ms for up to 4 s, as an agent running ccr-config list or
	# ccr-config get in a loop would: neither reveals a value, so neither is a use.
	assert_ok "$(req '{"op":"list"}')"
	assert_json "$(req '{"op":"get","name":"cerebras","masked":true}')" masked 'csk-…f2a9'
	locked=false
	for ((i = 0; i < 40; i++)); do
		req '{"op":"list"}' '{"op":"get","name":"cerebras","masked":true}' '{"op":"status"}' >/dev/null
		if [ "$(jget locked "$(req '{"op":"hello"}')")" = true ]; then
			locked=true
			break
		fi
		sleep 0.1
	done
	[ "$locked" = true ] || fail "still unlocked after 4 s of list and masked get under --lock-after 1s"
	grep -q 'auto-lock: idle for --lock-after' "$KEYD_LOG"
}

@test "resolve, get and use of names the keystore lacks do not restart --lock-after's clock" {
	start_daemon --lock-after 1s
	set_key cerebras "$KEY1"
	seal "$PW"
	# Polled every 100 ms for up to 4 s for names it does not hold, as an agent
	# probing for keys would: nothing is revealed, so nothing is a use.
	locked=false
	for ((i = 0; i < 40; i++)); do
		req '{"op":"resolve","env":"NOPE_API_KEY"}' '{"op":"resolve","envs":["NOPE_API_KEY","NONE_TOKEN"]}' \
			'{"op":"get","name":"nope"}' '{"op":"use","name":"nope","origin":"https://api.example.com"}' \
			'{"op":"delete","name":"nope"}' >/dev/null
		if [ "$(jget locked "$(req '{"op":"hello"}')")" = true ]; then
			locked=true
			break
		fi
		sleep 0.1
	done
	[ "$locked" = true ] || fail "still unlocked after 4 s of asking for absent names under --lock-after 1s"
	grep -q 'auto-lock: idle for --lock-after' "$KEYD_LOG"
}

@test "passphrase set under --lock-after leaves the keystore unlocked for --lock-after" {
	start_daemon --lock-after 1s
	set_key cerebras "$KEY1"
	sleep 1.3 # idle longer than --lock-after while still plain (nothing to lock)
	seal "$PW"
	sleep 0.5 # two auto-lock ticks, well under --lock-after
	reply=$(req '{"op":"get","name":"cerebras"}')
	assert_json "$reply" value "$KEY1"
}

@test "unlock --for locks when its time is up, however busy the keystore is" {
	sealed_store
	run unlock "$PW" --for 1s
	[ "$status" -eq 0 ] || fail "unlock --for: $status $output"
	t0=$(now_ms)
	for ((i = 0; i < 100; i++)); do
		reply=$(req '{"op":"get","name":"cerebras"}')
		[ "$(jget ok "$reply")" = false ] && break
		sleep 0.05
	done
	took=$(($(now_ms) - t0))
	assert_locked_reply "$reply"
	[ "$took" -ge 700 ] && [ "$took" -le 3000 ] || fail "locked after $took ms, not about 1 s"
	grep -q "auto-lock: the unlock's time is up" "$KEYD_LOG"
	run --separate-stderr "$CLI" unlock --for soon
	[ "$status" -eq 2 ] || fail "--for soon: exit $status"
}

# The client used to send "for" as a whole number of seconds: --for 0.5s went
# out as "for":0, no hard limit at all (fixed in 43961ad).
@test "unlock --for under a second still sets a hard limit" {
	sealed_store
	run unlock "$PW" --for 0.5s
	[ "$status" -eq 0 ] || fail "unlock --for 0.5s: $status $output"
	sleep 1.5 # the hard limit plus a few auto-lock ticks (every 250 ms)
	assert_locked_reply "$(req '{"op":"get","name":"cerebras"}')"
}

@test "a fractional \"for\" over the socket is honoured" {
	sealed_store
	assert_ok "$(req '{"op":"unlock","value":"'"$PW"'","for":0.5}')"
	assert_json "$(req '{"op":"get","name":"cerebras"}')" value "$KEY1"
	sleep 1.5 # the hard limit plus a few auto-lock ticks (every 250 ms)
	assert_locked_reply "$(req '{"op":"get","name":"cerebras"}')"
	assert_error "$(req '{"op":"unlock","value":"'"$PW"'","for":-1}')" bad_request
	assert_error "$(req '{"op":"unlock","value":"'"$PW"'","for":"1h"}')" bad_request
}

# The lock timer looks only four times a second: a get sent after the limit
# must be refused even when the timer has not run yet. The limit is at most 1 s
# after the unlock's reply came back, so a get sent later than that was judged
# past it; without the check on each request one of them is served.
@test "no get sent after the unlock's hard limit is served, though the lock timer has not run yet" {
	sealed_store
	assert_ok "$(req '{"op":"unlock","value":"'"$PW"'","for":1}')"
	t1=$(now_ms)
	for ((i = 0; i < 1000; i++)); do
		sent=$(now_ms)
		r=$(req '{"op":"get","name":"cerebras"}')
		[ "$(jget ok "$r")" = true ] || break
		[ "$sent" -le $((t1 + 1000)) ] || fail "a get sent $((sent - t1)) ms after the unlock for 1 s was served"
	done
	assert_locked_reply "$r"
}
