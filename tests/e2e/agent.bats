#!/usr/bin/env bats
# End-to-end: keys reach the router's server process and nothing else. The real router
# (1.0.73 and 2.0.0 from npm) runs through the `ccr` function of each shell (bash, zsh,
# fish); a stand-in `claude` on PATH (bin/claude → claude-standin.mjs) records the
# environment the agent gets, scans every /proc/*/environ while it runs, and sends one
# request to the router the way Claude Code does (URL and token from its environment,
# or with 2.x from the --settings file). The fake upstream records the key it receives.
# Also: the commands that need no key run without the daemon, a UI "save" (POST
# /api/config) and the debug log write references, a restart fetches its own keys, and
# a router 3.x gets none; and the agent that asks ccr-keyd itself, and its setsid
# orphan, are refused (the guard `ccr code` runs it under). Helpers in lib.bash and
# agentlib.bash; the other commands ccr-config runs for the agent are in commands.bats.

load lib
load agentlib

# agent_case LINE SHELL running|stopped: `ccr code` through SHELL's function with a
# router of LINE already running or not; the whole promise checked.
agent_case() {
	prepare "$1"
	export CLAUDE_STANDIN_SCAN=$T/scan
	if [ "$3" = running ]; then
		start_through "$2"
		local before=$ROUTER_PID
	fi
	in_shell "$2" 'ccr code "fix the bug"'
	[ "$status" -eq 0 ] || { cat "$T/$2.err" >&2; echo "ccr code: status $status" >&2; return 1; }
	assert_agent_clean
	assert_upstream_key "$KEY_STORE"
	wait_router
	[ "$3" != running ] || [ "$ROUTER_PID" = "$before" ] || {
		echo "ccr code started another router ($ROUTER_PID, was $before)" >&2
		return 1
	}
	assert_no_environ_holds_a_key
	refute_file_holds "$T/$2.out"
	refute_file_holds "$T/$2.err"
	# The router's warning names the variable set in both places, never a value.
	grep -qF 'E2E_TEST_API_KEY' "$T/$2.err" "$T/$2.out" || [ "$3" = running ]
}

@test "1.0.73, bash, no router: ccr code starts one with its keys; the agent gets none" {
	agent_case 1 bash stopped
}

@test "1.0.73, bash, router running: ccr code uses it; the agent gets no key" {
	agent_case 1 bash running
}

@test "1.0.73, zsh, no router: ccr code starts one with its keys; the agent gets none" {
	agent_case 1 zsh stopped
}

@test "1.0.73, zsh, router running: ccr code uses it; the agent gets no key" {
	agent_case 1 zsh running
}

@test "1.0.73, fish, no router: ccr code starts one with its keys; the agent gets none" {
	agent_case 1 fish stopped
}

@test "1.0.73, fish, router started with ccr-config router --background: the agent gets no key" {
	agent_case 1 fish running
}

@test "2.0.0, bash, no router: ccr code starts one with its keys; the agent gets none" {
	agent_case 2 bash stopped
}

@test "2.0.0, bash, router running: ccr code uses it; the agent gets no key" {
	agent_case 2 bash running
}

@test "2.0.0, zsh, no router: ccr code starts one with its keys; the agent gets none" {
	agent_case 2 zsh stopped
}

@test "2.0.0, zsh, router running: ccr code uses it; the agent gets no key" {
	agent_case 2 zsh running
}

@test "2.0.0, fish, no router: ccr code starts one with its keys; the agent gets none" {
	agent_case 2 fish stopped
}

@test "2.0.0, fish, router started with ccr-config router --background: the agent gets no key" {
	agent_case 2 fish running
}

# token_case LINE: APIKEY given by reference, stored in the keystore.
token_case() {
	prepare "$1" '"APIKEY": "$CCR_APIKEY",'
	printf '%s\n' "$KEY_TOKEN" | "$CCR_CONFIG" set ccr --env CCR_APIKEY >/dev/null
	in_shell bash 'ccr code "fix the bug"'
	[ "$status" -eq 0 ] || { cat "$T/bash.err" >&2; return 1; }
	# The agent reaches the router with the stored token, which the router handed it
	# (ANTHROPIC_AUTH_TOKEN, or the 2.x settings file) — under no name of the keystore.
	node -e '
		const r = require(process.argv[1]);
		const token = (r.settings && r.settings.env.ANTHROPIC_AUTH_TOKEN) || r.env.ANTHROPIC_AUTH_TOKEN;
		if (r.status !== 200) { console.error(`router answered ${r.status}: ${r.reply}`); process.exit(1); }
		if (token !== process.argv[2]) { console.error("the agent did not get the stored token"); process.exit(1); }
		if ("CCR_APIKEY" in r.env) { console.error("the agent has CCR_APIKEY"); process.exit(1); }
		for (const k of process.argv.slice(3))
			if (JSON.stringify(r).includes(k)) { console.error("the agent saw a provider key"); process.exit(1); }
	' "$CLAUDE_STANDIN_RECORD" "$KEY_TOKEN" "${ALL_KEYS[@]}"
	assert_upstream_key "$KEY_STORE"
	wait_router
	assert_no_environ_holds_a_key
	# With that token the agent may use the router's API, but it gets no key from it.
	node "$E2E_DIR/http.mjs" get "$ROUTER_PORT" /api/config "$KEY_TOKEN" >"$T/config.got"
	node "$E2E_DIR/http.mjs" get "$ROUTER_PORT" /providers "$KEY_TOKEN" >"$T/providers.got"
	refute_file_holds "$T/config.got"
	refute_file_holds "$T/providers.got"
	grep -qF '"api_key":"$E2E_TEST_API_KEY"' "$T/config.got"
	grep -qF '"APIKEY":"$CCR_APIKEY"' "$T/config.got"
}

@test "1.0.73: an APIKEY stored by reference reaches the agent only as the router's token" {
	token_case 1
}

@test "2.0.0: an APIKEY stored by reference reaches the agent only as the router's token" {
	token_case 2
}

@test "--keep-env keeps the provider keys the user exported, and adds no stored value" {
	prepare 1
	in_shell bash 'ccr-config router --keep-env -- code "fix the bug"'
	[ "$status" -eq 0 ] || { cat "$T/bash.err" >&2; return 1; }
	grep -qF "\"E2E_BACKUP_API_KEY\":\"$KEY_BACKUP\"" "$CLAUDE_STANDIN_RECORD"
	grep -qF "\"E2E_TEST_API_KEY\":\"$KEY_ENV\"" "$CLAUDE_STANDIN_RECORD"
	refute_in "$CLAUDE_STANDIN_RECORD" "$KEY_STORE"
	refute_in "$CLAUDE_STANDIN_RECORD" "$KEY_SPARE"
}

# plain_case LINE: status and stop with the daemon stopped, and with the keystore locked.
plain_case() {
	prepare "$1"
	printf 'pass-for-tests\npass-for-tests\n' | "$CCR_CONFIG" passphrase set --stdin >/dev/null
	start_through bash
	# The router's own output, for comparison.
	command ccr status </dev/null >"$T/own.out" 2>&1
	"$CCR_CONFIG" lock
	in_shell bash 'ccr status'
	[ "$status" -eq 0 ] || { cat "$T/bash.err" >&2; return 1; }
	[ ! -s "$T/bash.err" ] || { echo "stderr with a locked keystore:" >&2; cat "$T/bash.err" >&2; return 1; }
	diff "$T/own.out" "$T/bash.out" >&2
	stop_pid "$KEYD_PID"
	KEYD_PID=
	in_shell zsh 'ccr status'
	[ "$status" -eq 0 ] && [ ! -s "$T/zsh.err" ] || { cat "$T/zsh.err" >&2; return 1; }
	diff "$T/own.out" "$T/zsh.out" >&2
	in_shell fish 'ccr stop'
	[ "$status" -eq 0 ] && [ ! -s "$T/fish.err" ] || { cat "$T/fish.err" >&2; return 1; }
	[ "$(cat "$T/fish.out")" = "claude code router service has been successfully stopped." ] ||
		{ cat "$T/fish.out" >&2; return 1; }
	local i
	for i in $(seq 50); do
		kill -0 "$ROUTER_PID" 2>/dev/null || return 0
		sleep 0.1
	done
	echo "ccr stop left the router running" >&2
	return 1
}

@test "1.0.73: ccr status and ccr stop need no daemon and no unlocked keystore, and print nothing of ours" {
	plain_case 1
}

@test "2.0.0: ccr status and ccr stop need no daemon and no unlocked keystore, and print nothing of ours" {
	plain_case 2
}

# save_case LINE: what the router's HTTP server answers holds no key: GET /api/config (the
# config interpolated again, served to whoever has the router's token: the agent) shows
# the references as written, GET /providers (the providers the server holds) the same,
# and each reply's Content-Length fits; routing still sends the stored key. The UI's
# "Save" (POST /api/config of what GET gave) and the debug log write references, not keys
# or tokens. (The router holds no provider key, only a token per key: a client that posts
# a key itself writes its own key, which no router could tell from any other string.)
save_case() {
	prepare "$1"
	start_through bash
	send_message
	assert_upstream_key "$KEY_STORE"
	node "$E2E_DIR/http.mjs" get "$ROUTER_PORT" /api/config >"$T/config.got"
	node "$E2E_DIR/http.mjs" get "$ROUTER_PORT" /providers >"$T/providers.got"
	refute_file_holds "$T/config.got"
	refute_file_holds "$T/providers.got"
	node -e '
		const fs = require("node:fs");
		const config = JSON.parse(fs.readFileSync(process.argv[1], "utf8"));
		const keys = config.Providers.map((p) => p.api_key);
		if (keys[0] !== "$E2E_TEST_API_KEY" || keys[1] !== "${E2E_BACKUP_API_KEY}")
			throw new Error(`GET /api/config: not the references as written: ${keys}`);
		const providers = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
		const e2e = providers.find((p) => p.name === "e2e");
		if (!e2e || e2e.apiKey !== "$E2E_TEST_API_KEY")
			throw new Error(`GET /providers: ${JSON.stringify(providers)}`);
		fs.writeFileSync(process.argv[4], JSON.stringify(config));
	' "$T/config.got" "$T/providers.got" "$KEY_STORE" "$T/config.post"
	# The server still routes with the key it holds.
	: >"$UPSTREAM_RECORD"
	send_message
	assert_upstream_key "$KEY_STORE"
	node "$E2E_DIR/http.mjs" post "$ROUTER_PORT" /api/config <"$T/config.post" >"$T/save.out"
	local f
	for f in "$CCR_HOME"/config.json*; do
		refute_file_holds "$f"
	done
	grep -qF '"api_key": "$E2E_TEST_API_KEY"' "$CCR_HOME/config.json"
	grep -qF '"api_key": "${E2E_BACKUP_API_KEY}"' "$CCR_HOME/config.json"
	if grep -qF 'ccrkeyd_' "$CCR_HOME"/config.json*; then
		echo "a token reached config.json" >&2
		return 1
	fi
	# The debug log has every upstream request's headers: the reference, not the key.
	for f in "$CCR_HOME"/logs/*; do
		refute_file_holds "$f"
		refute_in "$f" ccrkeyd_
	done
	grep -rqF 'Bearer ${E2E_TEST_API_KEY}' "$CCR_HOME/logs/"
	# After the save, without a restart, the server routes as before.
	: >"$UPSTREAM_RECORD"
	send_message
	assert_upstream_key "$KEY_STORE"
	# What the router reads back still works: restart it and route again.
	stop_pid "$ROUTER_PID"
	start_through bash
	: >"$UPSTREAM_RECORD"
	send_message
	assert_upstream_key "$KEY_STORE"
}

@test "1.0.73: GET /api/config and GET /providers serve no key; the UI's Save and the debug log write references" {
	save_case 1
}

@test "2.0.0: GET /api/config and GET /providers serve no key; the UI's Save and the debug log write references" {
	save_case 2
}

# env_case LINE: provider keys the router takes from the environment (nothing stored under
# their names) still reach the upstream, but neither the debug log nor GET /api/config
# holds them: every file and reply gets the reference.
env_case() {
	use_router "$1"
	start_daemon
	write_config
	export E2E_TEST_API_KEY=$KEY_ENV E2E_BACKUP_API_KEY=$KEY_BACKUP
	start_through bash
	grep -qF '"environment":["E2E_TEST_API_KEY","E2E_BACKUP_API_KEY"]' "$CCR_HOME/.ccr-keyd-router.json"
	send_message
	assert_upstream_key "$KEY_ENV"
	local i f
	for i in $(seq 50); do
		grep -rqF 'E2E_TEST_API_KEY' "$CCR_HOME/logs/" && break
		sleep 0.1
	done
	for f in "$CCR_HOME"/logs/*; do
		refute_in "$f" "$KEY_ENV"
		refute_in "$f" "$KEY_BACKUP"
	done
	grep -rqF 'Bearer ${E2E_TEST_API_KEY}' "$CCR_HOME/logs/"
	node "$E2E_DIR/http.mjs" get "$ROUTER_PORT" /api/config >"$T/config.got"
	refute_in "$T/config.got" "$KEY_ENV"
	refute_in "$T/config.got" "$KEY_BACKUP"
}

@test "1.0.73: keys from the environment reach the upstream, not the debug log nor GET /api/config" {
	env_case 1
}

@test "2.0.0: keys from the environment reach the upstream, not the debug log nor GET /api/config" {
	env_case 2
}

# restart_case LINE: POST /api/restart; the router it starts fetches its own keys.
restart_case() {
	prepare "$1"
	start_through bash
	local old=$ROUTER_PID i
	RESTARTING=1
	node -e '
		const r = require("node:http").request({ host: "127.0.0.1", port: Number(process.argv[1]),
			method: "POST", path: "/api/restart", headers: { "content-type": "application/json", "content-length": 2 } },
			(res) => { res.resume(); res.on("end", () => process.exit(res.statusCode === 200 ? 0 : 1)); });
		r.end("{}");
	' "$ROUTER_PORT"
	for i in $(seq 300); do
		ROUTER_PID=$(cat "$CCR_HOME/.claude-code-router.pid" 2>/dev/null || true)
		[ -n "$ROUTER_PID" ] && [ "$ROUTER_PID" != "$old" ] &&
			grep -qF "\"pid\":$ROUTER_PID," "$CCR_HOME/.ccr-keyd-router.json" 2>/dev/null && break
		sleep 0.1
	done
	[ "$ROUTER_PID" != "$old" ] || {
		echo "no new router after POST /api/restart; pid file: $ROUTER_PID" >&2
		ps -eo pid,ppid,args | grep -e cli.js -e ' ccr' >&2
		return 1
	}
	wait_router
	: >"$UPSTREAM_RECORD"
	send_message
	assert_upstream_key "$KEY_STORE"
	assert_no_environ_holds_a_key
}

@test "1.0.73: the router that POST /api/restart starts fetches its own keys" {
	restart_case 1
}

@test "2.0.0: the router that POST /api/restart starts fetches its own keys" {
	restart_case 2
}

@test "ccr start in the foreground: the router is the process the shell started, its environ holds no key" {
	prepare 1
	bash --norc --noprofile -c 'eval "$("$0" shell-init bash)"; ccr start' "$CCR_CONFIG" \
		>"$T/start.out" 2>"$T/start.err" </dev/null &
	local shell=$!
	wait_router
	# bash ran the function, whose ccr-config became the router: its only child.
	[ "$(cut -d' ' -f4 "/proc/$ROUTER_PID/stat")" = "$shell" ] ||
		{ echo "the router's parent is not the shell: ccr-config left a process between" >&2; return 1; }
	assert_no_environ_holds_a_key
	send_message
	assert_upstream_key "$KEY_STORE"
}

@test "a router package that says 3.1.1 gets no keys, and the preload says why in one line" {
	prepare 1
	local pkg=$T/r3/node_modules/@musistudio/claude-code-router
	mkdir -p "$pkg/dist" "$T/r3/bin"
	printf '{"name":"@musistudio/claude-code-router","version":"3.1.1","bin":{"ccr":"dist/cli.js"}}\n' \
		>"$pkg/package.json"
	cat >"$pkg/dist/cli.js" <<'EOF'
#!/usr/bin/env node
console.log(`stand-in 3.1.1 ${process.argv[2]}: key[${process.env.E2E_TEST_API_KEY ?? 'unset'}]`);
EOF
	chmod +x "$pkg/dist/cli.js"
	ln -s "$pkg/dist/cli.js" "$T/r3/bin/ccr"
	export PATH=$T/r3/bin:$PATH
	unset E2E_TEST_API_KEY
	stop_pid "$KEYD_PID" # 3.x needs no daemon: it is not asked
	KEYD_PID=
	in_shell bash 'ccr start'
	[ "$status" -eq 0 ] || { cat "$T/bash.err" >&2; return 1; }
	[ "$(cat "$T/bash.out")" = "stand-in 3.1.1 start: key[unset]" ] || { cat "$T/bash.out" >&2; return 1; }
	[ "$(wc -l <"$T/bash.err")" -eq 1 ] || { cat "$T/bash.err" >&2; return 1; }
	grep -qF '3.1.1' "$T/bash.err"
	grep -qF 'config.sqlite' "$T/bash.err"
}

@test "check says whether the running router gets its keys per request from ccr-keyd" {
	prepare 1
	start_through bash
	run "$CCR_CONFIG" check
	echo "$output"
	[[ "$output" == *"router: pid $ROUTER_PID (claude-code-router 1.0.73) gets its keys per request from ccr-keyd"* ]]
	stop_pid "$ROUTER_PID"
	# Started without ccr-config: check says so.
	(cd "$T" && exec ccr start) >"$T/plain.out" 2>&1 </dev/null &
	ROUTER_PID=$!
	node "$E2E_DIR/http.mjs" wait "$ROUTER_PORT" "$ROUTER_PID" 30000
	run "$CCR_CONFIG" check
	echo "$output"
	[[ "$output" == *"pid $ROUTER_PID"*"not started through ccr-config"* ]]
}

# asking_case LINE confined|guard: `ccr code` through bash with the agent asking ccr-keyd for
# keys itself: the router still gets its keys and answers. Confined (the default), none of the
# agent's asks reaches the daemon at all, nor its setsid orphan's: the kernel hides the
# socket. With `ccr-config router --no-confine -- code`, every ask is refused by the daemon
# instead, also from a child it double-forks with setsid (re-parented to the guard), and
# audited as an agent's.
asking_case() {
	prepare "$1"
	stop_pid "$KEYD_PID"
	start_daemon --audit-log "$T/audit.log"
	export CLAUDE_STANDIN_SCAN=$T/scan CLAUDE_STANDIN_ASK=$CCR_CONFIG
	export CLAUDE_STANDIN_ASK_NAMES=e2e,spare CLAUDE_STANDIN_ASK_ENVS=E2E_TEST_API_KEY,SPARE_API_KEY
	if [ "$2" = confined ]; then
		in_shell bash 'ccr code "fix the bug"'
	else
		in_shell bash 'ccr-config router --no-confine -- code "fix the bug"'
	fi
	[ "$status" -eq 0 ] || { cat "$T/bash.err" >&2; echo "ccr code: status $status" >&2; return 1; }
	assert_agent_clean
	assert_upstream_key "$KEY_STORE"
	node -e '
		const r = require(process.argv[1]);
		const confined = process.argv[2] === "confined";
		const bad = [];
		const stopped = (what, o) => {
			const ok = confined ?
				o.status === 3 && /this process runs confined by ccr-keyd \(bubblewrap\)/.test(o.stderr) :
				o.status === 4 && /refused: this process runs inside (claude|ccr code) \(pid [0-9]+\), a coding agent/.test(o.stderr);
			if (!ok)
				bad.push(`${what} was not stopped: ${JSON.stringify(o)}`);
		};
		stopped("exec --all", r.ask.exec);
		for (const n of ["e2e", "spare"]) {
			const g = r.ask.get[n];
			if (confined)
				stopped(`get ${n}`, g);
			else if (g.status !== 0 || !/  csk\S*…\S+  /.test(g.stdout))
				bad.push(`get ${n} shows no masked value: ${JSON.stringify(g)}`);
		}
		if (confined) {
			if (!/connect ENOENT/.test(r.ask.resolve)) bad.push(`raw resolve: ${r.ask.resolve}`);
		} else {
			const res = JSON.parse(r.ask.resolve);
			if (res.ok !== false || res.error !== "denied") bad.push(`raw resolve: ${r.ask.resolve}`);
		}
		if (bad.length) { console.error(bad.join("\n")); process.exit(1); }
	' "$CLAUDE_STANDIN_RECORD" "$2"
	local i
	for i in $(seq 200); do
		[ -e "$CLAUDE_STANDIN_RECORD.orphan" ] && break
		sleep 0.05
	done
	cat "$CLAUDE_STANDIN_RECORD.orphan" >&2
	refute_file_holds "$CLAUDE_STANDIN_RECORD.orphan"
	# The audit log: the router's use of the key served (its real cli.js, not npm's bin/ccr).
	grep -q '"op":"use","name":"e2e",.*"cmd":"node [^"]*/dist/cli.js",.*"result":"ok"' "$T/audit.log"
	grep -q '"op":"guard","name":"ccr code",.*"result":"ok"' "$T/audit.log"
	if [ "$2" = confined ]; then
		grep -q '^status 3 ' "$CLAUDE_STANDIN_RECORD.orphan"
		grep -q 'runs confined by ccr-keyd' "$CLAUDE_STANDIN_RECORD.orphan"
		# Nothing of the agent's reached the daemon.
		! grep -q 'claude-standin' "$T/audit.log" || { cat "$T/audit.log" >&2; return 1; }
	else
		grep -q '^status 4 parent [0-9]* ccr-config$' "$CLAUDE_STANDIN_RECORD.orphan"
		grep -q 'refused: this process runs inside ccr code' "$CLAUDE_STANDIN_RECORD.orphan"
		# The agent's asks refused as under the guard of `ccr code` (the stand-in runs as node
		# claude-standin.mjs: no name gives it away).
		grep -q '"op":"resolve","name":"E2E_TEST_API_KEY,SPARE_API_KEY",.*"cmd":"node [^"]*claude-standin.mjs","agent":"ccr code",.*"result":"denied"' "$T/audit.log"
		[ "$(grep -c '"agent":"ccr code",.*"result":"denied"' "$T/audit.log")" -ge 3 ]
	fi
	refute_file_holds "$T/audit.log"
	assert_no_environ_holds_a_key
}

@test "1.0.73: through ccr code the router gets its keys; the confined agent's asks, and its setsid orphan's, never reach the daemon" {
	asking_case 1 confined
}

@test "2.0.0: through ccr code the router gets its keys; the confined agent's asks, and its setsid orphan's, never reach the daemon" {
	asking_case 2 confined
}

@test "1.0.73: ccr code --no-confine: the agent's own asks, and its setsid orphan's, are refused by the daemon" {
	asking_case 1 guard
}

@test "2.0.0: ccr code --no-confine: the agent's own asks, and its setsid orphan's, are refused by the daemon" {
	asking_case 2 guard
}
