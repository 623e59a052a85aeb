# Shared by the sealed_*.bats suites: the sealed keystore, its passphrase and
# lock, through the real client and the raw protocol, and their setup and
# teardown. Each suite does:
#
#   load helpers
#   load sealed
#
# The daemon is the test build (use_test_build), so that key derivation uses
# Argon2id's minimum limits (CCR_KEYD_TEST_FAST_KDF=1) and the wrong-passphrase
# delay is scaled down, except where a test needs them real.

# setup: common_setup with the test build, its fast key derivation and short
# wrong-passphrase delay; MEMSCAN, and the passphrases PW and PW2.
setup() {
	common_setup
	use_test_build
	export CCR_KEYD_TEST_FAST_KDF=1 CCR_KEYD_TEST_DELAY_SCALE=0.004
	MEMSCAN=$CCR_BUILD/tools/memscan
	PW=pw-test-correct-horse
	PW2=pw-test-battery-staple
}

teardown() {
	common_teardown
}

# now_ms: milliseconds since the epoch.
now_ms() {
	local ns
	ns=$(date +%s%N)
	echo $((ns / 1000000))
}

# seal PASS: give the keystore a passphrase through the real client.
seal() {
	printf '%s\n' "$1" | "$CLI" passphrase set --stdin >/dev/null
}

# unlock PASS [ARGS...]: unlock through the real client (run it under `run`).
unlock() {
	local pass=$1
	shift
	printf '%s\n' "$pass" | "$CLI" unlock --stdin "$@"
}

# sealed_store: a keystore with two keys sealed under $PW, served by a freshly
# started (so locked) daemon.
sealed_store() {
	start_daemon
	set_key cerebras "$KEY1"
	set_key groq-cloud "$KEY2" --env GROQ_TOKEN
	seal "$PW"
	stop_daemon "$KEYD_PID"
	start_daemon
}

# assert_locked_reply JSON: an error reply that says locked and what to run.
assert_locked_reply() {
	assert_error "$1" locked
	[[ "$(jget message "$1")" == *"run: ccr-config unlock"* ]] || fail "no hint in: $1"
}

# assert_client_locked CMD...: the client command fails with exit 4 and the hint.
assert_client_locked() {
	run --separate-stderr "$CLI" "$@"
	[ "$status" -eq 4 ] || fail "ccr-config $* exited $status, not 4" "$stderr"
	[[ "$stderr" == *"run: ccr-config unlock"* ]] || fail "ccr-config $*: no hint in: $stderr"
	refute_secret "$output$stderr" "$KEY1" "$KEY2"
}

# assert_is_sealed FILE: FILE is a sealed version-1 document.
assert_is_sealed() {
	local doc
	doc=$(cat "$1")
	assert_json "$doc" version 1
	assert_json "$doc" sealed.kdf argon2id13
	refute_json "$doc" keys
}

# assert_memory_clean PID WHAT SECRET...: the readable memory of PID holds no SECRET.
assert_memory_clean() {
	local pid=$1 what=$2
	shift 2
	run --separate-stderr "$MEMSCAN" --where "$pid" < <(printf '%s\n' "$@")
	[ "$status" -eq 1 ] || fail "$what: the daemon's memory still holds a secret (memscan exit $status)" "$output"
}

# assert_memory_holds PID WHAT SECRET...: the control — every SECRET is found.
assert_memory_holds() {
	local pid=$1 what=$2 i
	shift 2
	run --separate-stderr "$MEMSCAN" "$pid" < <(printf '%s\n' "$@")
	[ "$status" -eq 0 ] || fail "$what: memscan found nothing (exit $status)" "$output"
	for ((i = 1; i <= $#; i++)); do
		[[ "$output" == *"needle $i: "[1-9]* ]] || fail "$what: needle $i not found" "$output"
	done
}

# wait_for_log PATTERN: wait up to 5 s for PATTERN in the daemon's log.
wait_for_log() {
	wait_in "$KEYD_LOG" "$1"
}
