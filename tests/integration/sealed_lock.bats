#!/usr/bin/env bats
# Lock wipes the daemon's memory: the key and every value, however it came in,
# replies not read yet, a set line still arriving, and a write under way or slow
# to reach the disk; an unlock that comes meanwhile waits for the wipe.
#
# The shared setup and helpers are in sealed.bash.

load helpers
load sealed

@test "lock wipes the key and every value: get answers locked and the daemon's memory no longer holds them" {
	[ "$(id -u)" -eq 0 ] || skip "reading /proc/PID/mem of a non-dumpable process needs root"
	start_daemon
	set_key cerebras "$KEY1"
	set_key groq-cloud "$KEY2" --env GROQ_TOKEN
	seal "$PW"
	# Control: unlocked, the dump does hold the values (so this test can fail).
	assert_memory_holds "$KEYD_PID" "unlocked" "$KEY1" "$KEY2"
	# The daemon keeps the key, never the passphrase.
	assert_memory_clean "$KEYD_PID" "after passphrase set" "$PW"
	run "$CLI" lock
	[ "$status" -eq 0 ] || fail "lock: $status $output"
	assert_locked_reply "$(req '{"op":"get","name":"cerebras"}')"
	assert_client_locked get cerebras
	assert_memory_clean "$KEYD_PID" "after lock" "$KEY1" "$KEY2" "${KEY1:8:16}" "${KEY2:8:16}" "$PW"
	# A wrong passphrase is not kept either.
	run unlock pw-test-wrong-guess-42
	[ "$status" -eq 4 ]
	assert_memory_clean "$KEYD_PID" "after a wrong passphrase" pw-test-wrong-guess-42
	# The same after an unlock (values decrypted from the file) and a second lock.
	run unlock "$PW"
	[ "$status" -eq 0 ]
	assert_json "$(req '{"op":"get","name":"cerebras"}')" value "$KEY1"
	assert_memory_holds "$KEYD_PID" "after unlock" "$KEY1" "$KEY2"
	assert_memory_clean "$KEYD_PID" "after unlock" "$PW"
	run "$CLI" lock
	[ "$status" -eq 0 ]
	assert_memory_clean "$KEYD_PID" "after the second lock" "$KEY1" "$KEY2" "${KEY1:8:16}" "${KEY2:8:16}" "$PW"
	grep -q 'locked: key and values wiped' "$KEYD_LOG"
}

# random_value LEN: an obviously fake key of LEN characters, random after its prefix.
random_value() {
	local tail
	tail=$(tr -dc 'A-Za-z0-9' </dev/urandom | head -c $(($1 - 9)))
	printf 'csk-test-%s' "$tail"
}

# needles VALUE...: each value whole (up to 200 characters) and three 16-character
# pieces of it (after the prefix, the middle, the end), one per line.
needles() {
	local v n
	for v in "$@"; do
		n=${#v}
		[ "$n" -le 200 ] && printf '%s\n' "$v"
		printf '%s\n' "${v:9:16}" "${v:n/2:16}" "${v:n-16:16}"
	done
}

# assert_values_gone PID WHAT VALUE...: no value, nor a piece of one, is in PID's memory.
assert_values_gone() {
	local pid=$1 what=$2
	shift 2
	run --separate-stderr "$MEMSCAN" --where "$pid" < <(needles "$@")
	[ "$status" -eq 1 ] || fail "$what: the daemon's memory still holds a value (memscan exit $status)" "$output"
}

# assert_values_held PID WHAT VALUE...: the control: every value is found whole.
assert_values_held() {
	local pid=$1 what=$2 v
	shift 2
	for v in "$@"; do
		run --separate-stderr "$MEMSCAN" "$pid" < <(printf '%s\n' "${v:9:16}")
		[ "$status" -eq 0 ] || fail "$what: a value of ${#v} characters is not in memory" "$output"
	done
}

@test "lock wipes every value however it came in and was read: set, pipelined, import, migrate, passphrase set and change, get, resolve, exec" {
	[ "$(id -u)" -eq 0 ] || skip "reading /proc/PID/mem of a non-dumpable process needs root"
	local i lens=(24 32 57 200 1500 16384) v=() conf=$CCR_HOME/config.json
	for i in {0..11}; do
		v+=("$(random_value "${lens[i % 6]}")")
	done
	start_daemon
	# Through the client, several lengths.
	for i in 0 1 2 3 4 5; do
		set_key "c$i" "${v[i]}"
	done
	# Pipelined raw requests: three sets and a get in one write.
	run req "{\"op\":\"set\",\"name\":\"p6\",\"value\":\"${v[6]}\"}" \
		"{\"op\":\"set\",\"name\":\"p7\",\"value\":\"${v[7]}\"}" \
		"{\"op\":\"get\",\"name\":\"p6\"}" \
		"{\"op\":\"set\",\"name\":\"p8\",\"value\":\"${v[8]}\"}"
	[ "$(jget value "${lines[2]}")" = "${v[6]}" ] || fail "pipelined get: ${lines[2]:0:80}"
	# import file (the flat form of an old keystore).
	printf '{"i9":"%s","i10":"%s"}' "${v[9]}" "${v[10]}" >"$BATS_TEST_TMPDIR/old-keys"
	"$CLI" import file "$BATS_TEST_TMPDIR/old-keys" >/dev/null
	rm "$BATS_TEST_TMPDIR/old-keys"
	# migrate (a literal api_key in the router's config).
	printf '{"Providers":[{"name":"migrated","api_key":"%s"}]}\n' "${v[11]}" >"$conf"
	"$CLI" migrate >/dev/null
	rm -f "$conf" "$conf".bak-*
	# Every value passes through the sealed writes of passphrase set and change.
	seal "$PW"
	printf '%s\n%s\n' "$PW" "$PW2" | "$CLI" passphrase change --stdin >/dev/null
	# Values set again after the last passphrase job, so that only the lock's own wipe
	# can clear what these requests leave behind.
	for i in 1 4; do
		set_key "c$i" "${v[i]}"
	done
	run req "{\"op\":\"set\",\"name\":\"p6\",\"value\":\"${v[6]}\"}" \
		"{\"op\":\"set\",\"name\":\"p8\",\"value\":\"${v[8]}\"}"
	# Reads of every kind in between: get, resolve (raw, an array), exec.
	for i in 0 3 5; do
		"$CLI" get "c$i" >/dev/null
		assert_json "$(req "{\"op\":\"get\",\"name\":\"c$i\"}")" value "${v[i]}"
	done
	reply=$(req '{"op":"resolve","env":["C1_API_KEY","P7_API_KEY","I10_API_KEY","MIGRATED_API_KEY"]}')
	assert_json "$reply" values.MIGRATED_API_KEY "${v[11]}"
	"$CLI" exec --all -- sh -c '[ -n "$C4_API_KEY" ]'
	set_key c1 "${v[1]}" # the last request before the lock stores a value
	assert_values_held "$KEYD_PID" "unlocked" "${v[@]}"
	run "$CLI" lock
	[ "$status" -eq 0 ] || fail "lock: $status $output"
	assert_values_gone "$KEYD_PID" "after lock" "${v[@]}" "$PW" "$PW2"
	# Unlocked again (values decrypted from the file), read every way, locked again.
	run unlock "$PW2"
	[ "$status" -eq 0 ] || fail "unlock: $status $output"
	assert_json "$(req '{"op":"get","name":"i9"}')" value "${v[9]}"
	reply=$(req '{"op":"resolve","env":["C0_API_KEY","C5_API_KEY","P8_API_KEY"]}')
	assert_json "$reply" values.C5_API_KEY "${v[5]}"
	"$CLI" exec --all -- sh -c '[ -n "$I10_API_KEY" ]'
	set_key c1 "${v[1]}"
	assert_values_held "$KEYD_PID" "after unlock" "${v[@]}"
	run "$CLI" lock
	[ "$status" -eq 0 ]
	assert_values_gone "$KEYD_PID" "after the second lock" "${v[@]}" "$PW" "$PW2"
}

@test "lock closes a connection whose replies are not read yet, and wipes them with the values" {
	load ../faults/lib
	[ -x "$TPEER" ] || fail "$TPEER is missing; run: make $TPEER"
	sealed_store
	run unlock "$PW"
	[ "$status" -eq 0 ]
	# A peer pipelines gets of cerebras and reads none of the replies: about 1 MiB
	# of them, each with the value, waits in the daemon for it.
	peer_start flood "$CCR_KEYD_SOCKET" 100000 '{"op":"get","name":"cerebras"}'
	peer_line >/dev/null
	assert_json "$(req '{"op":"status"}')" connections 2
	if [ "$(id -u)" -eq 0 ]; then
		assert_memory_holds "$KEYD_PID" "with replies unread" "$KEY1"
	fi
	run "$CLI" lock
	[ "$status" -eq 0 ] || fail "lock: $status $output"
	assert_json "$(req '{"op":"status"}')" connections 1
	grep -q 'closed 1 connection with replies not yet read' "$KEYD_LOG"
	if [ "$(id -u)" -eq 0 ]; then
		assert_memory_clean "$KEYD_PID" "after lock" "$KEY1" "${KEY1:8:16}"
	fi
	peer_release
}

# A set line still arriving (read in part, no newline yet) when the
# lock runs held its value in the connection's input buffer after "every value
# wiped".
@test "lock wipes a set line still arriving, and closes its connection" {
	[ "$(id -u)" -eq 0 ] || skip "reading /proc/PID/mem of a non-dumpable process needs root"
	sealed_store
	run unlock "$PW"
	[ "$status" -eq 0 ]
	local partial=csk-test-partial-line-value-5e1f
	# Half a set line, then nothing: sockcat holds the connection open.
	printf '{"op":"set","name":"partial","value":"%s' "$partial" |
		"$SOCKCAT" --timeout 20000 "$CCR_KEYD_SOCKET" >"$BATS_TEST_TMPDIR/partial.out" &
	local cat_pid=$!
	CHILD_PIDS+=("$cat_pid")
	# The control: wait until the daemon has read it.
	for ((i = 0; i < 100; i++)); do
		"$MEMSCAN" "$KEYD_PID" < <(printf '%s\n' "$partial") >/dev/null 2>&1 && break
		sleep 0.05
	done
	assert_memory_holds "$KEYD_PID" "with a set line half read" "$partial"
	# And the lock's own peer, with half a set line behind its lock.
	run "$SOCKCAT" --lines 1 --timeout 5000 "$CCR_KEYD_SOCKET" \
		< <(printf '{"op":"lock"}\n{"op":"set","name":"behind","value":"%s-behind' "$partial")
	assert_json "${lines[0]}" locked true
	[ "$status" -eq 0 ] || fail "the lock's peer was not answered and closed: $status $output"
	grep -q 'closed 2 connections with a request not yet handled' "$KEYD_LOG" ||
		fail "$(grep closed "$KEYD_LOG")"
	assert_memory_clean "$KEYD_PID" "after lock" "$partial" "${partial:9:16}"
	# The half-sent peer was closed: its sockcat saw the end, not its timeout.
	wait "$cat_pid" || fail "the connection with half a set line was not closed (sockcat $?)"
	[ ! -s "$BATS_TEST_TMPDIR/partial.out" ] || fail "a reply came: $(cat "$BATS_TEST_TMPDIR/partial.out")"
}

@test "a lock that races a write wipes the written value too, once the write is done" {
	[ "$(id -u)" -eq 0 ] || skip "reading /proc/PID/mem of a non-dumpable process needs root"
	sealed_store
	run unlock "$PW"
	[ "$status" -eq 0 ]
	# A set and a lock on two connections at once: whichever comes first, the
	# value ends up on disk (sealed) or refused, and never left in memory.
	printf '{"op":"set","name":"mistral","value":"%s"}\n' "$KEY3" |
		"$SOCKCAT" --half-close --lines 1 "$CCR_KEYD_SOCKET" >"$BATS_TEST_TMPDIR/set.reply" &
	setter=$!
	req '{"op":"lock"}' >/dev/null
	wait "$setter"
	reply=$(cat "$BATS_TEST_TMPDIR/set.reply")
	[[ "$reply" == *'"ok":true'* || "$reply" == *'"error":"locked"'* ]] || fail "set: $reply"
	assert_json "$(req '{"op":"hello"}')" locked true
	# The lock answered once the wipe was done: nothing to wait for.
	assert_memory_clean "$KEYD_PID" "after the lock" "$KEY1" "$KEY2" "$KEY3"
	! grep -qF "$KEY3" "$CCR_KEYS" || fail "the sealed file holds a key in clear"
	assert_is_sealed "$CCR_KEYS"
}

# slow_save_daemon: a daemon whose third save (after a set and passphrase set)
# holds its fsync for 1.5 s, with cerebras stored and the keystore sealed under
# $PW; --verbose logs every answer. Then mistral is set in the background
# (SETTER, its reply in $BATS_TEST_TMPDIR/set.reply) and is in that slow save.
slow_save_daemon() {
	load ../faults/lib
	use_faultfs "fsync:0:nth=3:delay=1500"
	keyd_start --verbose
	set_key cerebras "$KEY1"
	seal "$PW"
	printf '{"op":"set","name":"mistral","value":"%s"}\n' "$KEY3" |
		"$SOCKCAT" --half-close --lines 1 --timeout 20000 "$CCR_KEYD_SOCKET" \
			>"$BATS_TEST_TMPDIR/set.reply" 3>&- &
	SETTER=$!
	wait_log 'faultfs: injected fsync delay'
}

# line_of PATTERN: the number of the first line of the daemon's log matching PATTERN.
line_of() {
	grep -n -m1 -- "$1" "$KEYD_LOG" | cut -d: -f1
}

@test "lock during a slow save answers once that change is on disk and every value is wiped" {
	slow_save_daemon
	run "$CLI" lock
	[ "$status" -eq 0 ] || fail "lock: $status $output"
	# Right away, without waiting for anything: the reply was true when it came.
	if [ "$(id -u)" -eq 0 ]; then
		assert_memory_clean "$KEYD_PID" "when lock answered" "$KEY1" "$KEY3" "$PW"
	fi
	wait "$SETTER"
	assert_ok "$(cat "$BATS_TEST_TMPDIR/set.reply")"
	set_at=$(line_of 'set mistral by pid [0-9]*: ok')
	wiped_at=$(line_of 'locked: key and values wiped')
	lock_at=$(line_of 'lock by pid [0-9]*: ok')
	[ -n "$set_at" ] && [ -n "$wiped_at" ] && [ -n "$lock_at" ] &&
		[ "$set_at" -lt "$wiped_at" ] && [ "$wiped_at" -lt "$lock_at" ] ||
		fail "log lines: set answered $set_at, wiped $wiped_at, lock answered $lock_at"
	# Acknowledged before the lock: on disk, and there after the next unlock.
	run unlock "$PW"
	[ "$status" -eq 0 ] || fail "unlock: $status $output"
	assert_json "$(req '{"op":"get","name":"mistral"}')" value "$KEY3"
	assert_json "$(req '{"op":"get","name":"cerebras"}')" value "$KEY1"
	keyd_stop "$KEYD_PID"
}

@test "an unlock that comes while a lock waits for a slow save starts once the wipe is done" {
	slow_save_daemon
	"$CLI" lock >"$BATS_TEST_TMPDIR/lock.out" 2>&1 3>&- &
	locker=$!
	wait_log 'state: unlocked -> locking (lock)'
	run unlock "$PW"
	[ "$status" -eq 0 ] || fail "an unlock during the wait: exit $status $output"
	wait "$locker" || fail "lock failed: $(cat "$BATS_TEST_TMPDIR/lock.out")"
	wait "$SETTER"
	assert_ok "$(cat "$BATS_TEST_TMPDIR/set.reply")"
	wiped_at=$(line_of 'locked: key and values wiped')
	unlocked_at=$(line_of 'unlocked: [0-9]* keys')
	[ -n "$wiped_at" ] && [ -n "$unlocked_at" ] && [ "$wiped_at" -lt "$unlocked_at" ] ||
		fail "log lines: wiped $wiped_at, unlocked $unlocked_at"
	assert_json "$(req '{"op":"get","name":"mistral"}')" value "$KEY3"
	keyd_stop "$KEYD_PID"
}

@test "an unlock that waits for the wipe with half a set line behind it is still answered, the line wiped" {
	slow_save_daemon
	"$CLI" lock >"$BATS_TEST_TMPDIR/lock.out" 2>&1 3>&- &
	locker=$!
	wait_log 'state: unlocked -> locking (lock)'
	local behind=csk-test-behind-an-unlock-77aa
	run "$SOCKCAT" --lines 1 --timeout 10000 "$CCR_KEYD_SOCKET" \
		< <(printf '{"op":"unlock","value":"%s"}\n{"op":"set","name":"behind","value":"%s' "$PW" "$behind")
	[ "$status" -eq 0 ] || fail "the unlock was not answered and closed: $status $output"
	assert_json "${lines[0]}" locked false
	wait "$locker" || fail "lock failed: $(cat "$BATS_TEST_TMPDIR/lock.out")"
	wait "$SETTER"
	assert_error "$(req '{"op":"get","name":"behind"}')" not_found
	if [ "$(id -u)" -eq 0 ]; then
		assert_memory_clean "$KEYD_PID" "after the unlock" "$behind"
	fi
	keyd_stop "$KEYD_PID"
}
