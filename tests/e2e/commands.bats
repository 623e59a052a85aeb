#!/usr/bin/env bats
# End-to-end, with the real router (1.0.73 and 2.0.0 from npm) through the `ccr` function:
# the router commands other than `ccr code` that hand the agent something — a preset of
# router 2.x (`ccr PRESET "task"` starts Claude Code), `ccr activate` and `ccr env` (which
# print the router's token for the shell) — and `ccr code` when it cannot get the token it
# must hand the agent (keystore locked, daemon gone), and the settings file router 2.x
# writes for the agent, which holds that token. Helpers in lib.bash and agentlib.bash.

load lib
load agentlib
load ../integration/tty

PASS=pass-for-tests

# prepare_token LINE: prepare LINE with APIKEY by reference, KEY_TOKEN stored as CCR_APIKEY.
prepare_token() {
	prepare "$1" '"APIKEY": "$CCR_APIKEY",'
	printf '%s\n' "$KEY_TOKEN" | "$CCR_CONFIG" set ccr --env CCR_APIKEY >/dev/null
}

# record FIELD: a field of the stand-in's record (a JavaScript expression on r).
record() {
	node -p "const r = require(process.argv[1]); $1" "$CLAUDE_STANDIN_RECORD"
}

@test "2.0.0: the agent's settings file, which holds the router's token, is 0600 in a 0700 directory and goes with ccr code" {
	prepare_token 2
	# As an earlier run of the router leaves it: 0755.
	mkdir -m 755 "$TMPDIR/claude-code-router"
	in_shell bash 'umask 022; ccr code "fix the bug"'
	[ "$status" -eq 0 ] || { cat "$T/bash.err" >&2; return 1; }
	[ "$(record r.status)" = 200 ]
	[ "$(record r.settings.env.ANTHROPIC_AUTH_TOKEN)" = "$KEY_TOKEN" ]
	[ "$(record r.settingsMode.file)" = 600 ] || { record r.settingsMode >&2; return 1; }
	[ "$(record r.settingsMode.dir)" = 700 ] || { record r.settingsMode >&2; return 1; }
	# The agent's own files are made as the user's umask says.
	[ "$(record r.umask)" = 0022 ]
	local file
	file=$(record r.settingsFile)
	[ "$(dirname "$file")" = "$TMPDIR/claude-code-router" ]
	[ ! -e "$file" ] || { echo "$file is left after ccr code" >&2; return 1; }
	[ -z "$(ls -A "$TMPDIR/claude-code-router")" ] || { ls -la "$TMPDIR/claude-code-router" >&2; return 1; }
}

# write_preset NAME: a preset of router 2.x, as `ccr preset install` leaves one.
write_preset() {
	mkdir -p "$CCR_HOME/presets/$1"
	printf '{"name": "%s", "version": "1.0.0", "description": "e2e"}\n' "$1" \
		>"$CCR_HOME/presets/$1/manifest.json"
}

@test "2.0.0: a preset (ccr PRESET \"task\") runs the agent as ccr code does: under the guard, confined, no key, the token" {
	prepare_token 2
	write_preset e2e-preset
	export CLAUDE_STANDIN_SCAN=$T/scan CLAUDE_STANDIN_ASK=$CCR_CONFIG
	export CLAUDE_STANDIN_ASK_NAMES=e2e CLAUDE_STANDIN_ASK_ENVS=E2E_TEST_API_KEY
	in_shell bash 'ccr e2e-preset "fix the bug"'
	[ "$status" -eq 0 ] || { cat "$T/bash.err" >&2; echo "status $status" >&2; return 1; }
	# The agent has the router's token (its settings), and no key, no name of ours.
	node -e '
		const r = require(process.argv[1]);
		const bad = [];
		if (r.status !== 200) bad.push(`the router answered ${r.status}: ${r.reply}`);
		for (const n of ["NODE_OPTIONS", "CCR_KEYD_TOKEN_FD", "CCR_APIKEY", "E2E_TEST_API_KEY",
			"E2E_BACKUP_API_KEY"])
			if (n in r.env) bad.push(`the agent has ${n}`);
		if (!r.scan || r.scanned < 2 || r.scan.length) bad.push(`environ scan: ${r.scan}`);
		for (const k of process.argv.slice(2))
			if (JSON.stringify(r).includes(k)) bad.push("the agent saw a provider key");
		if (bad.length) { console.error(bad.join("\n")); process.exit(1); }
	' "$CLAUDE_STANDIN_RECORD" "${ALL_KEYS[@]}"
	[ "$(record r.settings.env.ANTHROPIC_BASE_URL)" = "http://127.0.0.1:$ROUTER_PORT/preset/e2e-preset" ]
	[ "$(record r.settings.env.ANTHROPIC_AUTH_TOKEN)" = "$KEY_TOKEN" ]
	# The agent's own ask for keys never reaches the daemon: it runs confined, as ccr code's.
	[ "$(record r.ask.exec.status)" = 3 ] || { record 'JSON.stringify(r.ask)' >&2; return 1; }
	[[ "$(record r.ask.exec.stderr)" == *"runs confined by ccr-keyd"* ]]
	assert_upstream_key "$KEY_STORE"
	wait_router
	assert_no_environ_holds_a_key
	refute_file_holds "$T/bash.out"
	refute_file_holds "$T/bash.err"
}

@test "2.0.0: a word that is one of the router's own commands is not taken for a preset" {
	prepare 2
	# `ccr status` needs neither the daemon nor a router: it runs as the router's own.
	stop_pid "$KEYD_PID"
	KEYD_PID=
	in_shell bash 'ccr status'
	[ "$status" -eq 0 ] || { cat "$T/bash.err" >&2; return 1; }
	[ ! -s "$T/bash.err" ] || { cat "$T/bash.err" >&2; return 1; }
	[ ! -e "$CCR_HOME/.claude-code-router.pid" ]
}

# activate_case LINE COMMAND: `ccr COMMAND` prints the lines for the shell with the
# router's token resolved, and no key; with the daemon gone and no terminal, it fails
# (exit 3) and prints nothing for the shell to evaluate.
activate_case() {
	prepare_token "$1"
	in_shell bash "ccr $2"
	[ "$status" -eq 0 ] || { cat "$T/bash.err" >&2; return 1; }
	grep -qxF "export ANTHROPIC_AUTH_TOKEN=\"$KEY_TOKEN\"" "$T/bash.out" || { cat "$T/bash.out" >&2; return 1; }
	grep -qF "export ANTHROPIC_BASE_URL=\"http://127.0.0.1:$ROUTER_PORT\"" "$T/bash.out"
	local k
	for k in "${ALL_KEYS[@]}"; do
		refute_in "$T/bash.out" "$k"
		refute_in "$T/bash.err" "$k"
	done
	refute_in "$T/bash.err" "$KEY_TOKEN"
	stop_pid "$KEYD_PID"
	KEYD_PID=
	in_shell bash "ccr $2"
	[ "$status" -eq 3 ] || { cat "$T/bash.err" >&2; echo "status $status" >&2; return 1; }
	[ ! -s "$T/bash.out" ] || { cat "$T/bash.out" >&2; return 1; }
	grep -qF 'ccr-keyd is not running' "$T/bash.err"
}

@test "1.0.73: ccr activate prints the router's token resolved, not \$CCR_APIKEY" {
	activate_case 1 activate
}

@test "2.0.0: ccr env prints the router's token resolved, not \$CCR_APIKEY" {
	activate_case 2 env
}

# cannot_case LINE locked|gone: a router with its keys runs; then the keystore is locked
# (or the daemon stopped): `ccr code` with stdin not a terminal fails with exit 4 (3) and
# starts no agent.
cannot_case() {
	prepare_token "$1"
	printf '%s\n%s\n' "$PASS" "$PASS" | "$CCR_CONFIG" passphrase set --stdin >/dev/null
	start_through bash
	if [ "$2" = locked ]; then
		"$CCR_CONFIG" lock
	else
		stop_pid "$KEYD_PID"
		KEYD_PID=
	fi
	in_shell bash 'ccr code "fix the bug"'
	local want=4 why='the keystore is locked; run: ccr-config unlock'
	[ "$2" = locked ] || want=3 why='ccr-keyd is not running'
	[ "$status" -eq "$want" ] || { cat "$T/bash.err" >&2; echo "status $status" >&2; return 1; }
	grep -qF "$why" "$T/bash.err" || { cat "$T/bash.err" >&2; return 1; }
	[ ! -e "$CLAUDE_STANDIN_RECORD" ] || { echo "the agent started" >&2; return 1; }
	[ ! -s "$UPSTREAM_RECORD" ]
}

@test "1.0.73: ccr code with the keystore locked and no terminal: exit 4, no agent" {
	cannot_case 1 locked
}

@test "2.0.0: ccr code with the daemon gone: exit 3, no agent" {
	cannot_case 2 gone
}

@test "1.0.73: ccr code on a terminal with the keystore locked offers to unlock, then runs the agent with its token" {
	prepare_token 1
	printf '%s\n%s\n' "$PASS" "$PASS" | "$CCR_CONFIG" passphrase set --stdin >/dev/null
	start_through bash
	"$CCR_CONFIG" lock
	run on_tty "'$CCR_CONFIG' router -- code 'fix the bug'" "Passphrase for the ccr-keyd keystore: " "$PASS"
	[ "$status" -eq 0 ] || { echo "$output" >&2; return 1; }
	[[ "$output" == *"the keystore is locked."* ]]
	[[ "$output" != *"$PASS"* ]]
	[ "$(record r.status)" = 200 ]
	[ "$(record r.env.ANTHROPIC_AUTH_TOKEN)" = "$KEY_TOKEN" ]
	assert_upstream_key "$KEY_STORE"
}

@test "ccr code warns of a running router that started with the plain environment (--fallback-env)" {
	use_router 1
	write_config
	export E2E_TEST_API_KEY=$KEY_ENV
	# No daemon: the router starts with the environment's keys, and its record says so.
	in_shell bash 'ccr-config router --fallback-env --background -- start'
	[ "$status" -eq 0 ] || { cat "$T/bash.err" >&2; return 1; }
	wait_router
	grep -qF '"keyd":"fallback"' "$CCR_HOME/.ccr-keyd-router.json"
	in_shell bash 'ccr code "fix the bug"'
	[ "$status" -eq 0 ] || { cat "$T/bash.err" >&2; return 1; }
	grep -qF "the running router (pid $ROUTER_PID) started with the plain environment (--fallback-env)" \
		"$T/bash.err" || { cat "$T/bash.err" >&2; return 1; }
}
