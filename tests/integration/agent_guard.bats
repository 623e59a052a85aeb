#!/usr/bin/env bats
# The agent guard (ccr-keyd.8, "CODING AGENTS"): a process inside a coding agent's
# tree gets no value and makes no change. Two stand-in agents: an executable named
# `claude` (a copy of bash), and `node` running a script at the path Claude Code's
# npm package has (node_modules/@anthropic-ai/claude-code/cli.js). Each runs
# `ccr-config exec --all -- env`, `ccr-config get`, and raw requests on the socket
# (sockcat); under `ccr-config guard --no-confine` (the guard alone: what `ccr code`
# uses where the kernel cannot confine; confinement is confine.bats's) also from a child
# it double-forks with `setsid -f`, which re-parents to the guard. All refused and
# audited with the agent's name; the same from outside any agent served. Then the
# overrides (`allow`), the policy file, --no-agent-guard, and a non-dumpable peer in
# the audit log.

load helpers

setup() {
	common_setup
	AUDIT=$BATS_TEST_TMPDIR/audit.log
	AGENT_BIN=$BATS_TEST_TMPDIR/agents
	mkdir -p "$AGENT_BIN"
	cp "$(command -v bash)" "$AGENT_BIN/claude"
	CLAUDE_JS=$BATS_TEST_TMPDIR/lib/node_modules/@anthropic-ai/claude-code/cli.js
	mkdir -p "$(dirname "$CLAUDE_JS")"
	# Like Claude Code, a node script that runs shell commands for its model.
	cat >"$CLAUDE_JS" <<'EOF'
const { spawnSync } = require('node:child_process');
const r = spawnSync('bash', ['-c', process.argv[2]], { stdio: 'inherit' });
process.exit(r.status === null ? 1 : r.status);
EOF
}

teardown() {
	common_teardown
}

# start: the daemon with an audit log and two keys.
start() {
	start_daemon --audit-log "$AUDIT" "$@"
	set_key cerebras "$KEY1"
	set_key groq "$KEY2" --env GROQ_KEY
}

# as_claude SCRIPT: run SCRIPT in bash inside the executable stand-in; output in
# $output, status in $status. The stand-in stays the parent, as an agent does: a
# lone command would replace the bash it is.
as_claude() {
	run --separate-stderr "$AGENT_BIN/claude" -c "$1"$'\n''exit $?'
}

# as_node_claude SCRIPT: the same inside the node stand-in.
as_node_claude() {
	run --separate-stderr node "$CLAUDE_JS" "$1"
}

# raw JSON: one request on the socket from the current process tree (sockcat).
RAW="printf '%s\n' \"\$1\" | '$SOCKCAT' --half-close --lines 1 --timeout 5000 \"\$CCR_KEYD_SOCKET\""

# the_commands: what the stand-ins run, each result on a line of its own.
the_commands() {
	cat <<EOF
raw() { $RAW; }
'$CLI' exec --all -- env >"\$OUT.exec" 2>"\$OUT.exec.err"; echo "exec \$?"
'$CLI' get cerebras >"\$OUT.get" 2>&1; echo "get \$?"
echo "resolve \$(raw '{"op":"resolve","env":["CEREBRAS_API_KEY","GROQ_KEY"]}')"
echo "rawget \$(raw '{"op":"get","name":"cerebras"}')"
echo "set \$(raw '{"op":"set","name":"planted","value":"csk-test-planted-by-an-agent"}')"
echo "delete \$(raw '{"op":"delete","name":"groq"}')"
echo "passphrase \$(raw '{"op":"passphrase","action":"set","new_value":"agent-pass"}')"
echo "allow \$(raw '{"op":"allow","all":true,"for":600}')"
echo "list \$(raw '{"op":"list"}')"
echo "status \$(raw '{"op":"status"}')"
echo "hello \$(raw '{"op":"hello"}')"
echo "masked \$(raw '{"op":"get","name":"cerebras","masked":true}')"
EOF
}

# line WHAT: the line of $output that starts with WHAT.
line() {
	printf '%s\n' "$output" | grep "^$1 " | head -n 1 | cut -d' ' -f2-
}

# assert_refused_inside AGENT: $output is what the_commands printed inside AGENT's
# tree: every value and every change refused, naming AGENT, and nothing leaked.
assert_refused_inside() {
	local agent=$1 r
	[ "$(line exec)" = 4 ] || fail "exec exited $(line exec):" "$(cat "$OUT.exec.err")"
	grep -q "refused: this process runs inside $agent (pid [0-9]*), a coding agent" "$OUT.exec.err" ||
		fail "exec said:" "$(cat "$OUT.exec.err")"
	refute_secret "$(cat "$OUT.exec" "$OUT.exec.err")" "$KEY1" "$KEY2"
	# get shows the masked value only, as outside: it asks for nothing more.
	[ "$(line get)" = 0 ] || fail "get exited $(line get):" "$(cat "$OUT.get")"
	grep -q 'cerebras  CEREBRAS_API_KEY  csk-…f2a9' "$OUT.get" || fail "get said:" "$(cat "$OUT.get")"
	for r in resolve rawget set delete passphrase allow; do
		assert_error "$(line $r)" denied
		[[ "$(jget message "$(line $r)")" == "refused: this process runs inside $agent "* ]] ||
			fail "$r: $(line $r)"
	done
	[[ "$(jget message "$(line rawget)")" == *"ccr-config allow cerebras --for 10m"* ]]
	[[ "$(jget message "$(line allow)")" == *"an agent cannot allow itself keys"* ]]
	for r in list status hello masked; do
		assert_ok "$(line $r)"
	done
	assert_json "$(line status)" agents.inside "$agent"
	assert_json "$(line masked)" masked 'csk-…f2a9'
	refute_json "$(line masked)" value
	refute_secret "$output" "$KEY1" "$KEY2"
	# Nothing changed: both keys as they were, nothing planted, no passphrase.
	[ "$("$CLI" list | wc -l)" -eq 3 ]
	assert_json "$(req '{"op":"status"}')" sealed false
	# The audit log names the agent on every refusal.
	grep -q "\"op\":\"resolve\",\"name\":\"CEREBRAS_API_KEY,GROQ_KEY\",.*\"agent\":\"$agent\",\"agent_pid\":[0-9]*,\"result\":\"denied\"" "$AUDIT" ||
		fail "no audited refusal of resolve:" "$(cat "$AUDIT")"
	for r in get set delete passphrase allow; do
		grep -q "\"op\":\"$r\".*\"agent\":\"$agent\".*\"result\":\"denied\"" "$AUDIT" ||
			fail "no audited refusal of $r:" "$(cat "$AUDIT")"
	done
	refute_secret "$(cat "$AUDIT")" "$KEY1" "$KEY2"
}

@test "outside any agent the same commands are served" {
	start
	OUT=$BATS_TEST_TMPDIR/out
	export OUT
	run --separate-stderr bash -c "$(the_commands)"
	[ "$(line exec)" = 0 ]
	grep -qx "CEREBRAS_API_KEY=$KEY1" "$OUT.exec"
	grep -qx "GROQ_KEY=$KEY2" "$OUT.exec"
	[ "$(line get)" = 0 ]
	assert_json "$(line resolve)" values.GROQ_KEY "$KEY2"
	assert_json "$(line rawget)" value "$KEY1"
	for r in set delete passphrase allow list status hello masked; do
		assert_ok "$(line $r)"
	done
	assert_json "$(line status)" agents.guard true
	assert_json "$(line status)" agents.inside null
	! grep -q '"agent"' "$AUDIT" || fail "an agent in the audit log:" "$(cat "$AUDIT")"
}

@test "inside an executable named claude: exec, get's value, resolve, set, delete, passphrase and allow are refused and audited" {
	start
	OUT=$BATS_TEST_TMPDIR/out
	export OUT
	as_claude "$(the_commands)"
	assert_refused_inside claude
}

@test "inside an agent whose file has another name, started as claude (exec -a): the same, found by its argv[0]" {
	start
	OUT=$BATS_TEST_TMPDIR/out
	export OUT
	# Claude Code's native installer keeps versions as files named like 2.0.30: the
	# executable's name and comm say 2.0.30, only argv[0] says claude.
	cp "$(command -v bash)" "$AGENT_BIN/2.0.30"
	script="$(the_commands)"$'\n''exit $?'
	run --separate-stderr bash -c 'exec -a claude "$0" -c "$1"' "$AGENT_BIN/2.0.30" "$script"
	assert_refused_inside claude
}

@test "inside node running Claude Code's cli.js: the same, found by its script's path" {
	start
	OUT=$BATS_TEST_TMPDIR/out
	export OUT
	as_node_claude "$(the_commands)"
	assert_refused_inside claude
	# It was the script that gave it away: node running another script is no agent.
	run node -e "require('node:child_process').execFileSync('$CLI', ['exec', '--all', '--', 'true'])"
	[ "$status" -eq 0 ]
}

# orphan_script OUT: a script for a child the agent double-forks (setsid -f): it waits
# until it is re-parented (its parent no longer the agent or setsid), then runs the
# commands; its results land in OUT.done.
orphan_script() {
	cat <<EOF
for i in \$(seq 200); do
	p=\$(cut -d' ' -f4 /proc/\$\$/stat); c=\$(cat /proc/\$p/comm)
	[ "\$c" != setsid ] && [ "\$c" != claude ] && [ "\$c" != node ] && break
	sleep 0.05
done
{ echo "parent \$p \$c"; OUT=$1; $(the_commands); } >$1.tmp 2>&1
mv $1.tmp $1.done
EOF
}

# wait_file FILE: wait up to 20 s for FILE.
wait_file() {
	local i
	for i in $(seq 400); do
		[ -e "$1" ] && return 0
		sleep 0.05
	done
	fail "no $1 after 20 s"
}

@test "under ccr-config guard, a double-forked setsid child of the agent re-parents to the guard and stays refused" {
	start
	OUT=$BATS_TEST_TMPDIR/orphan
	orphan_script "$OUT" >"$BATS_TEST_TMPDIR/orphan.sh"
	run --separate-stderr "$CLI" guard --no-confine -- "$AGENT_BIN/claude" -c "setsid -f bash '$BATS_TEST_TMPDIR/orphan.sh' </dev/null >/dev/null 2>&1; echo agent done"
	[ "$status" -eq 0 ] && [ "$output" = "agent done" ] || fail "guard: $status $output $stderr"
	wait_file "$OUT.done"
	output=$(cat "$OUT.done")
	# Its parent is the guard (ccr-config), not the agent, not init.
	[[ "$(line parent)" == *" ccr-config" ]] || fail "the orphan's parent: $(line parent)"
	# The guard registered under the agent's name; the orphan is refused as claude's.
	assert_refused_inside claude
	# The guard stays while the orphan runs, then goes, and its registration with it.
	local i
	for i in $(seq 100); do
		[ "$(jget agents.guards "$(req '{"op":"status"}')")" = "[]" ] && break
		sleep 0.05
	done
	[ "$(jget agents.guards "$(req '{"op":"status"}')")" = "[]" ] || fail "the guard is still registered"
}

@test "under ccr-config guard, node's double-forked child is refused too" {
	start
	OUT=$BATS_TEST_TMPDIR/orphan
	orphan_script "$OUT" >"$BATS_TEST_TMPDIR/orphan.sh"
	run --separate-stderr "$CLI" guard --no-confine -- node "$CLAUDE_JS" "setsid -f bash '$BATS_TEST_TMPDIR/orphan.sh' </dev/null >/dev/null 2>&1"
	[ "$status" -eq 0 ] || fail "guard: $status $output $stderr"
	wait_file "$OUT.done"
	output=$(cat "$OUT.done")
	[[ "$(line parent)" == *" ccr-config" ]] || fail "the orphan's parent: $(line parent)"
	# The guard's label is its command (node); the refusal names it.
	assert_refused_inside node
}

@test "ccr-config guard passes the command's exit status and runs it without a daemon" {
	start
	run "$CLI" guard -- sh -c 'exit 7'
	[ "$status" -eq 7 ]
	run -127 "$CLI" guard -- /nonexistent/agent
	[ "$status" -eq 127 ]
	[[ "$output" == *"cannot run /nonexistent/agent"* ]]
	stop_daemon "$KEYD_PID"
	run --separate-stderr "$CLI" guard -- sh -c 'echo ran'
	[ "$status" -eq 0 ] && [ "$output" = ran ] || fail "exit $status: $output"
	[[ "$stderr" == *"the agent runs without its guard until ccr-keyd answers"* ]]
}

@test "a guard registers again with a daemon that starts while its agent runs" {
	OUT=$BATS_TEST_TMPDIR/late
	cat >"$BATS_TEST_TMPDIR/late.sh" <<EOF
for i in \$(seq 600); do [ -e '$BATS_TEST_TMPDIR/go' ] && break; sleep 0.05; done
# The guard looks once a second: wait until the daemon lists it.
for i in \$(seq 100); do
	printf '%s\n' '{"op":"status"}' | '$SOCKCAT' --half-close --lines 1 "\$CCR_KEYD_SOCKET" | grep -q '"guards":\[[0-9]' && break
	sleep 0.05
done
setsid -f bash '$BATS_TEST_TMPDIR/orphan.sh' </dev/null >/dev/null 2>&1
EOF
	orphan_script "$OUT" >"$BATS_TEST_TMPDIR/orphan.sh"
	"$CLI" guard --no-confine -- "$AGENT_BIN/claude" "$BATS_TEST_TMPDIR/late.sh" 2>"$BATS_TEST_TMPDIR/guard.err" 3>&- &
	local guard=$!
	CHILD_PIDS+=("$guard")
	start
	touch "$BATS_TEST_TMPDIR/go"
	wait "$guard"
	wait_file "$OUT.done"
	output=$(cat "$OUT.done")
	assert_refused_inside claude
}

@test "allow: granted from outside for one key, refused from inside, and it expires" {
	start
	local get='{"op":"get","name":"cerebras"}' groq='{"op":"get","name":"groq"}'
	# From inside: refused (the CLI exits 4 and names the reason).
	as_claude "'$CLI' allow cerebras --for 10m"
	[ "$status" -eq 4 ]
	[[ "$stderr" == *"an agent cannot allow itself keys"* ]]
	# From outside: granted, listed in status.
	run "$CLI" allow cerebras --for 10m
	[ "$status" -eq 0 ]
	[[ "$output" == "agents may read cerebras for 600 s"* ]]
	assert_json "$(req '{"op":"status"}')" agents.allowed.0.name cerebras
	"$CLI" status | grep -q '^allowed    cerebras for [0-9]* s more'
	as_claude "$(printf 'raw() { %s; }; raw %q; raw %q' "$RAW" "$get" "$groq")"
	assert_json "$(sed -n 1p <<<"$output")" value "$KEY1"
	assert_error "$(sed -n 2p <<<"$output")" denied
	# Revoked: refused again.
	"$CLI" allow --revoke cerebras
	as_claude "$(printf 'raw() { %s; }; raw %q' "$RAW" "$get")"
	assert_error "$output" denied
	# --all: both served; then the same for one second, and neither once it has expired.
	"$CLI" allow --all --for 10m >/dev/null
	as_claude "$(printf 'raw() { %s; }; raw %q' "$RAW" '{"op":"resolve","env":["CEREBRAS_API_KEY","GROQ_KEY"]}')"
	assert_json "$output" values.GROQ_KEY "$KEY2"
	req '{"op":"allow","all":true,"for":1}' >/dev/null
	sleep 1.2
	as_claude "$(printf 'raw() { %s; }; raw %q' "$RAW" '{"op":"resolve","env":["CEREBRAS_API_KEY","GROQ_KEY"]}')"
	assert_error "$output" denied
	[ "$(jget agents.allowed "$(req '{"op":"status"}')")" = "[]" ]
}

@test "the policy file beside the keystore adds an agent; a loose one stops the daemon" {
	mkdir -p "$CCR_HOME"
	chmod 700 "$CCR_HOME"
	cp "$(command -v bash)" "$AGENT_BIN/my-agent"
	printf '# ours\nexe my-agent\nscript helper @acme/helper-cli\n' >"$CCR_HOME/agents"
	chmod 644 "$CCR_HOME/agents"
	run timeout 10 "$KEYD" --audit-log "$AUDIT"
	[ "$status" -ne 0 ]
	[[ "$output" == *"agent policy $CCR_HOME/agents must be a regular file of yours, mode 0600"* ]]
	chmod 600 "$CCR_HOME/agents"
	start
	run "$AGENT_BIN/my-agent" -c "'$CLI' exec --all -- true; exit \$?"
	[ "$status" -eq 4 ]
	[[ "$output" == *"inside my-agent"* ]]
	mkdir -p "$BATS_TEST_TMPDIR/n/node_modules/@acme/helper-cli"
	cp "$CLAUDE_JS" "$BATS_TEST_TMPDIR/n/node_modules/@acme/helper-cli/main.js"
	run node "$BATS_TEST_TMPDIR/n/node_modules/@acme/helper-cli/main.js" "'$CLI' exec --all -- true"
	[ "$status" -eq 4 ]
	[[ "$output" == *"inside helper"* ]]
	# A changed file is read again; a line it cannot read keeps the rules it had.
	printf 'exe my-agent\nbogus line here\n' >"$CCR_HOME/agents"
	sleep 1.1
	run "$AGENT_BIN/my-agent" -c "'$CLI' exec --all -- true; exit \$?"
	[ "$status" -eq 4 ]
	grep -q "line 2: expected 'exe NAME', 'script NAME PATH' or 'interpreter NAME'; keeping the rules read before" "$KEYD_LOG"
	# The file only adds: claude stays refused whatever it says.
	as_claude "'$CLI' exec --all -- true"
	[ "$status" -eq 4 ]
}

@test "--no-agent-guard serves agents like anyone" {
	start --no-agent-guard
	as_claude "'$CLI' exec --all -- env"
	[ "$status" -eq 0 ]
	grep -qx "CEREBRAS_API_KEY=$KEY1" <<<"$output"
	assert_json "$(req '{"op":"status"}')" agents.guard false
}

@test "a peer the kernel gives no pid (the daemon in another pid namespace) is refused what an agent is, and served the rest" {
	[ "$(id -u)" -eq 0 ] || skip "needs root for unshare --pid"
	command -v unshare >/dev/null || skip "needs unshare (util-linux)"
	unshare --pid --fork --mount-proc true 2>/dev/null || skip "unshare --pid is not permitted here"
	write_keystore '{"version":1,"keys":{"cerebras":{"value":"'"$KEY1"'"}}}'
	# The daemon runs as pid 1 of a pid namespace of its own: our processes are
	# outside it, so SO_PEERCRED gives it pid 0 for each of them.
	unshare --pid --mount-proc --kill-child=SIGTERM "$KEYD" --audit-log "$AUDIT" \
		>>"$KEYD_LOG" 2>&1 3>&- </dev/null &
	KEYD_PID=$!
	CHILD_PIDS+=("$KEYD_PID")
	wait_for_socket "$CCR_KEYD_SOCKET" "$KEYD_PID"
	reply=$(req '{"op":"get","name":"cerebras"}')
	assert_error "$reply" denied
	[[ "$(jget message "$reply")" == *"does not say which process this is"* ]] || fail "$reply"
	assert_error "$(req '{"op":"resolve","env":"CEREBRAS_API_KEY"}')" denied
	assert_error "$(req '{"op":"set","name":"planted","value":"csk-test-planted"}')" denied
	assert_error "$(req '{"op":"delete","name":"cerebras"}')" denied
	assert_error "$(req '{"op":"passphrase","action":"set","new_value":"pw-test-x"}')" denied
	run "$CLI" exec --all -- env
	[ "$status" -eq 4 ] || fail "exec exited $status"
	refute_secret "$output" "$KEY1"
	# What an agent is served, this peer is served too.
	assert_json "$(req '{"op":"get","name":"cerebras","masked":true}')" masked 'csk-…f2a9'
	assert_ok "$(req '{"op":"list"}')"
	assert_json "$(req '{"op":"status"}')" agents.inside '?'
	grep -q '"op":"get","name":"cerebras","uid":[0-9]*,"pid":0,.*"result":"denied"' "$AUDIT" ||
		fail "no audited refusal:" "$(cat "$AUDIT")"
}

@test "the audit log names a non-dumpable peer by comm and command when its executable is closed" {
	[ "$(id -u)" -eq 0 ] || skip "needs root to run the daemon and the client as nobody"
	command -v setpriv >/dev/null || skip "needs setpriv (util-linux)"
	local base nob
	base=$(mktemp -d "${TMPDIR:-/tmp}/ccr-guard.XXXXXX")
	chmod 711 "$base"
	mkdir -m 700 "$base/nobody"
	chown nobody:"$(id -gn nobody)" "$base/nobody"
	touch "$base/nobody/audit.log"
	chown nobody "$base/nobody/audit.log"
	chmod 600 "$base/nobody/audit.log"
	nob=(setpriv --reuid=nobody --regid="$(id -g nobody)" --clear-groups env
		CCR_HOME="$base/nobody/home" CCR_KEYS="$base/nobody/home/keys"
		CCR_KEYD_SOCKET="$base/nobody/sock" HOME="$base/nobody")
	# nobody cannot reach a build in a private directory (a checkout in root's
	# home, or in a mktemp -d): it runs copies from here, which everyone can.
	mkdir -m 755 "$base/bin"
	cp "$KEYD" "$CLI" "$base/bin/"
	chmod 755 "$base/bin/"*
	local KEYD=$base/bin/$(basename "$KEYD") CLI=$base/bin/ccr-config
	"${nob[@]}" "$KEYD" --audit-log "$base/nobody/audit.log" >>"$KEYD_LOG" 2>&1 3>&- </dev/null &
	KEYD_PID=$!
	CHILD_PIDS+=("$KEYD_PID")
	wait_for_socket "$base/nobody/sock" "$KEYD_PID"
	# set makes ccr-config non-dumpable before it connects: its /proc/PID/exe is closed.
	printf '%s\n' "$KEY1" | "${nob[@]}" "$CLI" set cerebras
	"${nob[@]}" "$CLI" list >/dev/null
	local set
	set=$(grep '"op":"set"' "$base/nobody/audit.log")
	echo "$set"
	assert_json "$set" exe '?'
	assert_json "$set" comm ccr-config
	assert_json "$set" cmd "$CLI"
	# A dumpable peer (the list command; set's own list came before it) still
	# has its executable's path.
	assert_json "$(grep '"op":"list"' "$base/nobody/audit.log" | tail -n 1)" exe \
		"$(readlink -f "$CLI")"
	stop_daemon "$KEYD_PID"
	rm -rf "$base"
}
