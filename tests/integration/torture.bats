#!/usr/bin/env bats
# Crash torture: a writer keeps sets and deletes with unique values in flight
# on four connections while ccr-keyd is killed with SIGKILL at random moments.
# After every restart the keystore parses, has mode 0600 and holds every
# acknowledged change (tests/torture/writer.c keeps and checks the log).
#
#   CCR_TORTURE_CYCLES=N   kill cycles (default 200)
#   CCR_TORTURE_SEED=S     replay the kill timings of a previous run

load helpers
load ../faults/lib

setup() {
	lib_setup
}

teardown() {
	common_teardown
}

@test "SIGKILL at random moments never loses an acknowledged set or delete" {
	under_memcheck && skip "a SIGKILLed daemon leaves no valgrind report"
	local cycles=${CCR_TORTURE_CYCLES:-200} seed=${CCR_TORTURE_SEED:-$$$RANDOM}
	local log=$BATS_TEST_TMPDIR/acks.log out=$BATS_TEST_TMPDIR/check.out
	local i ms losses=0 midwrite=0 temps=0 landed=0 reloads=0 line writer
	RANDOM=$seed
	note "torture: $cycles cycles, seed $seed (CCR_TORTURE_SEED=$seed replays the timings)"
	start=$(date +%s%N)
	for ((i = 1; i <= cycles + 1; i++)); do
		keyd_spawn
		# Every restart: the file must be sound and hold every acknowledged change.
		if ! "$TWRITER" check "$CCR_KEYD_SOCKET" "$log" "$CCR_KEYS" >"$out" 2>&1; then
			cat "$out" >&2
			fail "cycle $i: the check after the restart failed"
			return 1
		fi
		line=$(tail -n 1 "$out")
		[[ "$line" =~ landed\ ([0-9]+).*losses\ ([0-9]+).*temp-files\ ([0-9]+) ]]
		landed=$((landed + BASH_REMATCH[1]))
		losses=$((losses + BASH_REMATCH[2]))
		temps=${BASH_REMATCH[3]} # left after the restart
		[ "$i" -gt "$cycles" ] && break
		"$TWRITER" run "$CCR_KEYD_SOCKET" "$log" --conns 4 --names 8 --tag "$i" \
			--seed "$RANDOM" >/dev/null 3>&- &
		writer=$!
		# Kill anywhere from before the first request to well into a burst of writes;
		# one cycle in five, with a SIGHUP reload in flight too.
		ms=$((RANDOM % 60))
		if ((RANDOM % 5 == 0)); then
			sleep "0.0$(printf '%02d' $((ms / 2)))"
			kill -HUP "$KEYD_PID"
			reloads=$((reloads + 1))
		fi
		sleep "0.0$(printf '%02d' "$ms")"
		kill9_daemon "$KEYD_PID"
		# A temp file now means the kill landed inside a save.
		[ -z "$(temp_files "$CCR_HOME")" ] || midwrite=$((midwrite + 1))
		wait "$writer" || fail "cycle $i: the writer failed"
	done
	keyd_stop "$KEYD_PID"
	acks=$(grep -c '^ack ' "$log" || true)
	sent=$(grep -c '^sent ' "$log" || true)
	elapsed=$((($(date +%s%N) - start) / 1000000))
	note "torture: cycles $cycles ($reloads with a SIGHUP reload in flight), changes sent $sent," \
		"acknowledged $acks, losses $losses"
	note "torture: unanswered changes that landed anyway $landed; kills inside a save (a temp" \
		"file left) $midwrite; temp files left after the last restart $temps; $elapsed ms"
	[ "$losses" -eq 0 ]
	[ "$temps" -eq 0 ] || fail "$temps temp files (copies of the keystore) survived the restarts"
	# The torture did exercise the writer.
	[ "$acks" -ge "$cycles" ] || fail "only $acks changes were acknowledged in $cycles cycles"
	[ "$(stat -c %a "$CCR_KEYS")" = 600 ]
}

OLD=csk-test-before-the-crash-0000
NEW=csk-test-sent-when-it-crashed-1111

# crash_at STEP: a daemon whose first save is held at STEP gets a set of a to
# NEW and is killed with SIGKILL while held; then it is restarted without the
# shim. Sets TEMPS to the temp files the crash left behind.
crash_at() {
	local sender
	write_keystore "{\"version\":1,\"keys\":{\"a\":{\"value\":\"$OLD\",\"env\":\"A_API_KEY\"}}}"
	rm -f "$CCR_HOME"/.keys.tmp-* # only this crash's leftovers count
	use_faultfs "$1:0:nth=1:delay=10000"
	keyd_start
	req "{\"op\":\"set\",\"name\":\"a\",\"value\":\"$NEW\"}" >/dev/null 2>&1 3>&- &
	sender=$!
	wait_log "faultfs: injected $1 delay"
	kill9_daemon "$KEYD_PID"
	wait "$sender" || true
	TEMPS=$(temp_files "$CCR_HOME")
	KEYD_ENV=()
	keyd_start
	[ "$(stat -c %a "$CCR_KEYS")" = 600 ]
}

@test "SIGKILL in the middle of each step of a save leaves the old file or the new one, whole" {
	under_memcheck && skip "a SIGKILLed daemon leaves no valgrind report"
	local step want left=()
	for step in open write fsync close rename diropen dirfsync; do
		crash_at "$step"
		# Before the rename the old file stands; after it, the new one.
		case $step in
		diropen | dirfsync) want=$NEW ;;
		*) want=$OLD ;;
		esac
		[ "$(raw_get a)" = "$want" ] || fail "killed in $step: a is $(raw_get a), not $want"
		grep -q "\"value\":\"$want\"" "$CCR_KEYS"
		[ -z "$TEMPS" ] || left+=("$step")
		keyd_stop "$KEYD_PID"
		: >"$KEYD_LOG"
	done
	note "killed in each step of a save: open write fsync close rename diropen dirfsync;" \
		"the file was whole every time; the kill left a temp file in: ${left[*]:-none}"
}

@test "a restart removes the temp file a killed save left behind, and the key it held" {
	under_memcheck && skip "a SIGKILLed daemon leaves no valgrind report"
	crash_at fsync
	# The temp file held the whole keystore, with the value that was never acknowledged.
	[ -n "$TEMPS" ]
	after=$(temp_files "$CCR_HOME")
	[ -z "$after" ] || fail "after the restart $CCR_HOME still holds $after, a full copy of the" \
		"keystore with the unacknowledged value (grep: $(grep -l "$NEW" "$CCR_HOME"/.keys.tmp-* | wc -l) file)"
	! grep -rqF "$NEW" "$CCR_HOME" || fail "the unacknowledged value is still on disk"
	keyd_stop "$KEYD_PID"
}
