#!/usr/bin/env bats
# The test knobs exist only in the test build: CCR_KEYD_TEST_FAST_KDF
# and CCR_KEYD_TEST_DELAY_SCALE are read by $CCR_BUILD/test/ccr-keyd, which
# `make test` builds for itself, and by nothing that is installed. Against
# $CCR_BUILD/ccr-keyd the knobs change nothing: passphrases get the moderate
# Argon2id limits and a wrong one waits its full delay. And the release build
# refuses a sealed file with the minimum limits a test build seals with.

load helpers

setup() {
	common_setup
	PW=pw-test-correct-horse
	RELEASE=$KEYD
}

teardown() {
	common_teardown
}

# seal PASS: give the keystore a passphrase through the real client.
seal() {
	printf '%s\n' "$1" | "$CLI" passphrase set --stdin >/dev/null
}

# now_ms: milliseconds since the epoch.
now_ms() {
	local ns
	ns=$(date +%s%N)
	echo $((ns / 1000000))
}

# min_sealed_file PATH: a keystore of one key sealed under $PW by the test
# build with CCR_KEYD_TEST_FAST_KDF=1 (Argon2id's minimum limits), copied to PATH.
min_sealed_file() {
	KEYD=$KEYD_TEST
	CCR_KEYD_TEST_FAST_KDF=1 start_daemon
	set_key cerebras "$KEY1"
	seal "$PW"
	stop_daemon "$KEYD_PID"
	KEYD=$RELEASE
	assert_json "$(cat "$CCR_KEYS")" sealed.opslimit 1
	cp "$CCR_KEYS" "$1"
}

@test "the release build has no test knobs, and only the test build says it is one" {
	[ -x "$KEYD_TEST" ] || fail "$KEYD_TEST is missing; run: make $KEYD_TEST"
	# (Under make memcheck both are scripts that run valgrind on the real ones.)
	if [ -z "${CCR_MEMCHECK:-}" ]; then
		! grep -q CCR_KEYD_TEST "$RELEASE" || fail "$RELEASE still names CCR_KEYD_TEST_*"
		grep -q CCR_KEYD_TEST_FAST_KDF "$KEYD_TEST" ||
			fail "the control: the test build has the knobs"
	fi
	run "$RELEASE" --version
	[ "$output" = "ccr-keyd 0.1.0" ] || fail "release: $output"
	run "$KEYD_TEST" --version
	[[ "$output" == *"(test build"* ]] || fail "test build: $output"
	# The test build warns in its log at every start; the release build never does.
	KEYD=$KEYD_TEST start_daemon
	stop_daemon "$KEYD_PID"
	grep -q 'this is the test build of ccr-keyd' "$KEYD_LOG"
	: >"$KEYD_LOG"
	KEYD=$RELEASE CCR_KEYD_TEST_FAST_KDF=1 CCR_KEYD_TEST_DELAY_SCALE=0 start_daemon
	stop_daemon "$KEYD_PID"
	! grep -q 'test build\|tests only\|CCR_KEYD_TEST' "$KEYD_LOG" || fail "$(cat "$KEYD_LOG")"
}

@test "the knobs against the release build change nothing: moderate Argon2id limits, the full wrong-passphrase delay" {
	export CCR_KEYD_TEST_FAST_KDF=1 CCR_KEYD_TEST_DELAY_SCALE=0
	start_daemon
	set_key cerebras "$KEY1"
	seal "$PW"
	# libsodium's moderate limits (3 passes, 256 MiB), not the minimum (1, 8 KiB).
	assert_json "$(cat "$CCR_KEYS")" sealed.opslimit 3
	assert_json "$(cat "$CCR_KEYS")" sealed.memlimit 268435456
	stop_daemon "$KEYD_PID"
	start_daemon
	t0=$(now_ms)
	run --separate-stderr bash -c 'printf "pw-test-wrong\n" | "$1" unlock --stdin' _ "$CLI"
	took=$(($(now_ms) - t0))
	[ "$status" -eq 4 ] || fail "wrong passphrase: exit $status" "$stderr"
	# The daemon's own account, and what the client saw: 250 ms, not 0.
	grep -q 'wrong passphrase (failure 1 in a row); answering in 250 ms$' "$KEYD_LOG" ||
		fail "$(grep 'wrong passphrase' "$KEYD_LOG")"
	[ "$took" -ge 248 ] || fail "a wrong passphrase was answered after $took ms, not 250"
	printf '%s\n' "$PW" | "$CLI" unlock --stdin >/dev/null
	assert_json "$(req '{"op":"get","name":"cerebras"}')" value "$KEY1"
}

@test "a sealed file with the test build's minimum limits is refused by the release build at start, reload and unlock" {
	min_sealed_file "$BATS_TEST_TMPDIR/weak"
	# At start: exit 1, and the message says what is wrong.
	run --separate-stderr timeout 10 "$RELEASE"
	[ "$status" -eq 1 ] || fail "exit $status: $stderr"
	[[ "$stderr" == *"too weak"*"opslimit 1"* ]] || fail "$stderr"
	cmp -s "$BATS_TEST_TMPDIR/weak" "$CCR_KEYS" || fail "the refused file was changed"
	# The test build opens it (the control).
	KEYD=$KEYD_TEST start_daemon
	printf '%s\n' "$PW" | "$CLI" unlock --stdin >/dev/null
	assert_json "$(req '{"op":"get","name":"cerebras"}')" value "$KEY1"
	stop_daemon "$KEYD_PID"
	# At reload: a plain release daemon keeps its keys and logs why.
	rm -f "$CCR_KEYS" "$CCR_KEYS.seal"
	start_daemon
	set_key groq "$KEY2"
	cp "$BATS_TEST_TMPDIR/weak" "$CCR_KEYS"
	kill -HUP "$KEYD_PID"
	for _ in $(seq 1 250); do
		grep -q 'reload refused' "$KEYD_LOG" && break
		sleep 0.02
	done
	grep -q "reload refused.*too weak" "$KEYD_LOG" || fail "$(cat "$KEYD_LOG")"
	assert_json "$(req '{"op":"status"}')" state plain
	assert_json "$(req '{"op":"get","name":"groq"}')" value "$KEY2"
	stop_daemon "$KEYD_PID"
	# At unlock: a locked release daemon whose file was replaced under it.
	rm "$CCR_KEYS"
	start_daemon
	set_key groq "$KEY2"
	seal "$PW"
	stop_daemon "$KEYD_PID"
	start_daemon
	cp "$BATS_TEST_TMPDIR/weak" "$CCR_KEYS"
	reply=$(req '{"op":"unlock","value":"'"$PW"'"}')
	assert_error "$reply" io_error
	[[ "$(jget message "$reply")" == *"too weak"* ]] || fail "$reply"
	assert_json "$(req '{"op":"hello"}')" locked true
	cmp -s "$BATS_TEST_TMPDIR/weak" "$CCR_KEYS" || fail "the refused file was changed"
}

# make test in parts: each group's target runs tests/run.sh GROUP, the groups together
# are every suite make test runs, in its order, and a run of a part, of one suite or of
# a name no suite has ends with the same "N passed, M failed" line.
@test "make test-unit … test-e2e are make test in parts, and each run ends with the summary line" {
	local g parts="" last list
	[ -x "$CCR_BUILD/tests/test_buf" ] || fail "$CCR_BUILD/tests/test_buf is missing; run: make test-build"
	for g in unit integration model node smoke e2e; do
		last=$(env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -C "$ROOT" --no-print-directory -n \
			"test-$g" 2>&1 | tail -n 1)
		[[ "$last" == *"bash tests/run.sh $g" ]] || fail "make -n test-$g: $last"
		# The sanitizer run has no smoke suites: an empty group adds no line.
		list=$(bash "$ROOT/tests/run.sh" --list "$g")
		[ -z "$list" ] || parts+=$list$'\n'
	done
	[ "$parts" = "$(bash "$ROOT/tests/run.sh" --list)"$'\n' ] || fail "$parts"
	[ "$(bash "$ROOT/tests/run.sh" --list test_buf)" = unit/test_buf ]
	run env BUILD="$CCR_BUILD" bash "$ROOT/tests/run.sh" test_buf
	[ "$status" -eq 0 ] || fail "$output"
	[[ "${lines[-1]}" =~ ^[1-9][0-9]*\ passed,\ 0\ failed$ ]] || fail "$output"
	run env BUILD="$CCR_BUILD" bash "$ROOT/tests/run.sh" no_such_suite
	[ "$status" -eq 1 ] || fail "$output"
	[ "${lines[-1]}" = "0 passed, 1 failed" ] || fail "$output"
}
