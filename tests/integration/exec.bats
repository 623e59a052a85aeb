#!/usr/bin/env bats
# ccr-config exec: which names it injects, what wins, what it warns about,
# and that it asks the daemon once.

load helpers

setup() {
	common_setup
	mkdir -p "$CCR_HOME"
	AUDIT=$BATS_TEST_TMPDIR/audit.log
	start_daemon --audit-log "$AUDIT"
	set_key cerebras "$KEY1"
	set_key openrouter "$KEY2"
	set_key unused "$KEY3"
}

teardown() {
	common_teardown
}

# config TEXT: the router's config.json.
config() {
	printf '%s\n' "$1" >"$CCR_HOME/config.json"
}

@test "exec injects exactly the names config.json references, with one resolve request" {
	config '{ "Providers": [ {"name":"c","api_key":"$CEREBRAS_API_KEY"}, {"name":"o","api_key":"${OPENROUTER_API_KEY}"} ] }'
	: >"$AUDIT"
	run --separate-stderr "$CLI" exec -- sh -c 'echo "c=$CEREBRAS_API_KEY o=$OPENROUTER_API_KEY u=${UNUSED_API_KEY-none}"'
	[ "$status" -eq 0 ] || fail "$stderr"
	[ "$output" = "c=$KEY1 o=$KEY2 u=none" ] || fail "$output"
	[ "$(grep -c '"op":"resolve"' "$AUDIT")" -eq 1 ] || fail "$(cat "$AUDIT")"
	[ "$(grep -vc '"op":"resolve"' "$AUDIT")" -eq 0 ] || fail "other requests: $(cat "$AUDIT")"
}

@test "exec --all injects every key; with no config.json and no --all, none" {
	run "$CLI" exec --all -- sh -c 'echo "$UNUSED_API_KEY"'
	[ "$output" = "$KEY3" ]
	: >"$AUDIT"
	run --separate-stderr "$CLI" exec -- sh -c 'echo "[${UNUSED_API_KEY-unset}] [${CEREBRAS_API_KEY-unset}]"'
	[ "$status" -eq 0 ] || fail "$stderr"
	[ "$output" = "[unset] [unset]" ] || fail "$output"
	[[ "$stderr" == *"config.json does not exist, so no key is injected; run with --all"* ]] ||
		fail "$stderr"
	[ ! -s "$AUDIT" ] || fail "the daemon was asked: $(cat "$AUDIT")"
}

@test "the keystore wins over the environment, with a warning naming only the variable" {
	config '{"api_key":"$CEREBRAS_API_KEY"}'
	CEREBRAS_API_KEY=csk-test-from-the-environment run --separate-stderr "$CLI" exec -- sh -c 'echo "$CEREBRAS_API_KEY"'
	[ "$output" = "$KEY1" ]
	[[ "$stderr" == *'$CEREBRAS_API_KEY'*keystore* ]] || fail "no warning: $stderr"
	refute_secret "$stderr" "$KEY1" csk-test-from-the-environment
}

@test "an equal value in the environment is not warned about" {
	config '{"api_key":"$CEREBRAS_API_KEY"}'
	CEREBRAS_API_KEY=$KEY1 run --separate-stderr "$CLI" exec -- true
	[ "$status" -eq 0 ]
	[ -z "$stderr" ] || fail "unexpected: $stderr"
}

@test "a name found nowhere is warned about and the command still runs" {
	config '{"api_key":"$NOWHERE_API_KEY","other":"$CEREBRAS_API_KEY"}'
	run --separate-stderr "$CLI" exec -- sh -c 'echo "[${NOWHERE_API_KEY-unset}]"'
	[ "$status" -eq 0 ]
	[ "$output" = "[unset]" ]
	[[ "$stderr" == *'$NOWHERE_API_KEY'*"neither in the keystore nor in the environment"* ]] || fail "$stderr"
}

@test "a name only in the environment passes through without a warning" {
	config '{"api_key":"$ONLY_ENV_API_KEY"}'
	ONLY_ENV_API_KEY=csk-test-env-only run --separate-stderr "$CLI" exec -- sh -c 'echo "$ONLY_ENV_API_KEY"'
	[ "$output" = csk-test-env-only ]
	[ -z "$stderr" ] || fail "$stderr"
}

@test "the command's exit status is exec's; a missing command is 127" {
	config '{}'
	run "$CLI" exec -- sh -c 'exit 9'
	[ "$status" -eq 9 ]
	run -127 "$CLI" exec -- /nonexistent/ccr-test-command
	[ "$status" -eq 127 ]
}

@test "a config without references needs no daemon" {
	config '{"Providers":[]}'
	stop_daemon "$KEYD_PID"
	run "$CLI" exec -- sh -c 'echo ran'
	[ "$status" -eq 0 ]
	[ "$output" = ran ]
}

@test "exec without a command is a usage error" {
	run "$CLI" exec --
	[ "$status" -eq 2 ]
}

# as_agent SCRIPT: run SCRIPT in bash inside an executable named claude (a coding agent).
as_agent() {
	mkdir -p "$BATS_TEST_TMPDIR/agents"
	cp "$(command -v bash)" "$BATS_TEST_TMPDIR/agents/claude"
	run --separate-stderr "$BATS_TEST_TMPDIR/agents/claude" -c "$1"$'\n''exit $?'
}

@test "exec --only injects just the keys named (names or env names), and refuses an unknown one" {
	config '{ "Providers": [ {"name":"c","api_key":"$CEREBRAS_API_KEY"}, {"name":"o","api_key":"$OPENROUTER_API_KEY"} ] }'
	run --separate-stderr "$CLI" exec --only cerebras,UNUSED_API_KEY -- sh -c 'echo "c=${CEREBRAS_API_KEY-none} o=${OPENROUTER_API_KEY-none} u=${UNUSED_API_KEY-none}"'
	[ "$status" -eq 0 ] || fail "$stderr"
	[ "$output" = "c=$KEY1 o=none u=$KEY3" ] || fail "$output"
	[ -z "$stderr" ] || fail "$stderr"
	run --separate-stderr "$CLI" exec --only cerebras,nosuch -- true
	[ "$status" -eq 1 ] && [[ "$stderr" == *"nosuch"* ]] || fail "$status: $stderr"
	run --separate-stderr "$CLI" exec --all --only cerebras -- true
	[ "$status" -eq 2 ] || fail "$status: $stderr"
}

@test "inside an agent, exec's refusal names every key it needs and the one allow that covers them; then it runs" {
	config '{ "Providers": [ {"name":"c","api_key":"$CEREBRAS_API_KEY"}, {"name":"o","api_key":"$OPENROUTER_API_KEY"} ] }'
	as_agent "'$CLI' exec -- true"
	[ "$status" -eq 4 ] || fail "$status: $stderr"
	[[ "$stderr" == *"refused: this process runs inside claude (pid "*"), a coding agent"* ]] || fail "$stderr"
	[[ "$stderr" == *"exec needs 2 keys: cerebras, openrouter; from a terminal outside the agent, allow them all for a while with: ccr-config allow cerebras openrouter --for 10m (or run CMD with some: ccr-config exec --only NAME,… -- CMD)"* ]] ||
		fail "$stderr"
	# Allowing one is not enough for all, and exec says the same again.
	"$CLI" allow cerebras --for 10m >/dev/null
	as_agent "'$CLI' exec -- true"
	[ "$status" -eq 4 ] && [[ "$stderr" == *"ccr-config allow cerebras openrouter --for 10m"* ]] || fail "$stderr"
	# --only runs with the allowed one alone.
	as_agent "'$CLI' exec --only cerebras -- sh -c 'echo c=\${CEREBRAS_API_KEY-none} o=\${OPENROUTER_API_KEY-none}'"
	[ "$status" -eq 0 ] && [ "$output" = "c=$KEY1 o=none" ] || fail "$status: $output $stderr"
	# The command it named covers them all: exec runs.
	run --separate-stderr "$CLI" allow cerebras openrouter --for 10m
	[ "$status" -eq 0 ] || fail "$stderr"
	[ "$(grep -c '^agents may read' <<<"$output")" -eq 2 ] || fail "$output"
	as_agent "'$CLI' exec -- sh -c 'echo c=\${CEREBRAS_API_KEY-none} o=\${OPENROUTER_API_KEY-none}'"
	[ "$status" -eq 0 ] && [ "$output" = "c=$KEY1 o=$KEY2" ] || fail "$status: $output $stderr"
}

@test "get --reveal prints the raw value alone outside an agent, is audited, and is refused inside one" {
	: >"$AUDIT"
	run --separate-stderr "$CLI" get cerebras --reveal
	[ "$status" -eq 0 ] && [ "$output" = "$KEY1" ] && [ -z "$stderr" ] || fail "$status: $output $stderr"
	run --separate-stderr "$CLI" get OPENROUTER_API_KEY --reveal
	[ "$output" = "$KEY2" ] || fail "by env name: $output"
	run --separate-stderr "$CLI" --json get cerebras --reveal
	assert_json "$output" value "$KEY1"
	grep -q '"op":"get".*"cerebras"' "$AUDIT" || fail "not audited:" "$(cat "$AUDIT")"
	run --separate-stderr "$CLI" get nosuch --reveal
	[ "$status" -eq 1 ] || fail "$status"
	as_agent "'$CLI' get cerebras --reveal"
	[ "$status" -eq 4 ] && [ -z "$output" ] || fail "$status: $output"
	[[ "$stderr" == *"a coding agent"* ]] || fail "$stderr"
}
