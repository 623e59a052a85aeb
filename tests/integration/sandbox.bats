#!/usr/bin/env bats
# tests/sandbox.bash keeps the suites away from the user's own keys: it moves
# HOME, XDG_RUNTIME_DIR and CCR_HOME to a temporary directory, and its check
# fails, naming the suite, when the user's keystore or socket directory changed.
# Here a temporary directory plays the user's home.

load helpers

setup() {
	USER_HOME=$BATS_TEST_TMPDIR/user
	USER_RUN=$BATS_TEST_TMPDIR/userrun
	mkdir -p -m 700 "$USER_HOME/.claude-code-router" "$USER_RUN/ccr-keyd"
	printf '{"version":1,"keys":{}}' >"$USER_HOME/.claude-code-router/keys"
	export HOME=$USER_HOME XDG_RUNTIME_DIR=$USER_RUN
	export CCR_KEYS=$USER_HOME/.claude-code-router/keys CCR_KEYD_SOCKET=$USER_RUN/ccr-keyd/sock
	cd "$ROOT"
	. tests/sandbox.bash
}

teardown() {
	sandbox_leave
}

@test "inside the sandbox HOME, XDG_RUNTIME_DIR and CCR_HOME are temporary and CCR_* overrides are gone" {
	sandbox_enter
	[[ "$HOME" == "$SANDBOX_DIR/"* ]]
	[[ "$XDG_RUNTIME_DIR" == "$SANDBOX_DIR/"* ]]
	[[ "$CCR_HOME" == "$SANDBOX_DIR/"* ]]
	[ -z "${CCR_KEYS:-}" ] && [ -z "${CCR_KEYD_SOCKET:-}" ]
	[ "$SANDBOX_REAL_HOME" = "$USER_HOME" ]
}

@test "the check passes when the user's files are untouched, even by a new sandbox file" {
	sandbox_enter
	mkdir -p "$CCR_HOME" && echo x >"$CCR_HOME/keys"
	run sandbox_check "suite harmless"
	[ "$status" -eq 0 ] && [ -z "$output" ]
}

@test "a test key written to the user's keystore fails the check, naming the suite" {
	sandbox_enter
	printf '{"version":1,"keys":{"cerebras":{"value":"csk-test-leak"}}}' \
		>"$USER_HOME/.claude-code-router/keys"
	local rc=0 out
	# Not under `run`: the check remembers what it reported, in this shell.
	sandbox_check "suite careless" >"$BATS_TEST_TMPDIR/out" || rc=$?
	out=$(cat "$BATS_TEST_TMPDIR/out")
	[ "$rc" -eq 1 ]
	[[ "$out" == *"not ok - suite careless changed the user's own files"* ]] || {
		echo "# $out"
		false
	}
	# Reported once: the next suite is judged against the changed state.
	sandbox_check "suite next"
}

@test "a socket directory created under the user's XDG_RUNTIME_DIR, or a file removed, fails the check" {
	rmdir "$USER_RUN/ccr-keyd"
	sandbox_enter
	mkdir -m 700 "$USER_RUN/ccr-keyd"
	run sandbox_check "suite one"
	[ "$status" -eq 1 ]
	rm "$USER_HOME/.claude-code-router/keys"
	run sandbox_check "suite two"
	[ "$status" -eq 1 ]
}
