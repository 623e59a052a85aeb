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
	local i ms losses=0 midwrite=0 temps=0 landed=0 line writer
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
		[ "${BASH_REMATCH[3]}" -gt "$temps" ] && midwrite=$((midwrite + 1))
		temps=${BASH_REMATCH[3]}
		[ "$i" -gt "$cycles" ] && break
		"$TWRITER" run "$CCR_KEYD_SOCKET" "$log" --conns 4 --names 8 --tag "$i" \
			--seed "$RANDOM" >/dev/null 3>&- &
		writer=$!
		# Kill anywhere from before the first request to well into a burst of writes.
		ms=$((RANDOM % 60))
		sleep "0.0$(printf '%02d' "$ms")"
		kill9_daemon "$KEYD_PID"
		wait "$writer" || fail "cycle $i: the writer failed"
	done
	keyd_stop "$KEYD_PID"
	acks=$(grep -c '^ack ' "$log" || true)
	sent=$(grep -c '^sent ' "$log" || true)
	elapsed=$((($(date +%s%N) - start) / 1000000))
	note "torture: cycles $cycles, changes sent $sent, acknowledged $acks, losses $losses"
	note "torture: unanswered changes that landed anyway $landed; kills that left a temp file $midwrite;" \
		"temp files left in the directory $temps; $elapsed ms"
	[ "$losses" -eq 0 ]
	# The torture did exercise the writer.
	[ "$acks" -ge "$cycles" ] || fail "only $acks changes were acknowledged in $cycles cycles"
	[ "$(stat -c %a "$CCR_KEYS")" = 600 ]
}
