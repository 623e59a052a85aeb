#!/usr/bin/env bats
# End-to-end: keys join the upstream request, not the router. Installed as users install
# it: the router by `npm i -g --prefix ~/.npm-global` (1.0.73; 2.0.0 in
# ~/.npm-global-2), ccr-keyd by `make install PREFIX=~/.local`, the socket in the runtime
# directory, all under one HOME, and the router started through the `ccr` function. The
# router holds tokens; each request to the fake upstream carries the stored key, asked of
# ccr-keyd for that request's origin. A second loopback listener stands for an attacker's
# server: a provider redirected there (PUT /providers, or a UI save plus /api/restart)
# must send it no key. Rotation and lock act on the very next request; no router process
# may dump core or hold a key in its environment block.

load lib
load agentlib

KEY_ALPHA=csk-test-e2e-0101-alpha-$KEY_TAG
KEY_BETA=csk-test-e2e-0102-beta-$KEY_TAG
KEY_GAMMA=csk-test-e2e-0103-gamma-$KEY_TAG
KEY_ROTATED=csk-test-e2e-0104-rotated-$KEY_TAG
KEY_EXPORTED=csk-test-e2e-0105-exported-$KEY_TAG

setup_file() {
	e2e_setup_file "$ROUTER_DIR_1:$PINNED_1" "$ROUTER_DIR_2:$PINNED_2"
	[ -e "$E2E_TMP/skip" ] || [ -e "$E2E_TMP/fail" ] && return 0
	export EVIL_RECORD=$E2E_TMP/evil.jsonl
	: >"$EVIL_RECORD"
	node "$E2E_DIR/fake-upstream.mjs" 0 "$EVIL_RECORD" >"$E2E_TMP/evil.port" 2>&1 3>&- &
	export EVIL_PID=$!
	export GHOME=$E2E_TMP/home
	mkdir -p "$GHOME"
	local out v
	for v in 1 2; do
		local prefix=$GHOME/.npm-global want=$PINNED_1
		[ "$v" = 1 ] || { prefix=$GHOME/.npm-global-2; want=$PINNED_2; }
		if ! out=$(HOME=$GHOME timeout 300 npm i -g --prefix "$prefix" --ignore-scripts \
			--no-audit --no-fund "@musistudio/claude-code-router@$want" 2>&1); then
			printf 'npm i -g router %s failed:\n%s\n' "$want" "$(tail -n 5 <<<"$out")" \
				>"$E2E_TMP/fail"
			return 0
		fi
	done
	if ! out=$(make -C "$ROOT" install PREFIX="$GHOME/.local" BUILD="$BUILD_DIR" 2>&1); then
		printf 'make install failed:\n%s\n' "$(tail -n 5 <<<"$out")" >"$E2E_TMP/fail"
		return 0
	fi
	for v in $(seq 100); do
		[ -s "$E2E_TMP/evil.port" ] && break
		sleep 0.05
	done
	EVIL_PORT=$(head -n 1 "$E2E_TMP/evil.port")
	export EVIL_PORT
}

teardown_file() {
	stop_pid "${EVIL_PID:-}"
	e2e_teardown_file
}

# Every test: the one HOME, emptied of the router's and the daemon's state; the installed
# ccr-config and ccr-keyd (default paths: no CCR_* variable), the daemon with an audit log.
setup() {
	[ -e "$E2E_TMP/skip" ] && skip "$(cat "$E2E_TMP/skip")"
	if [ -e "$E2E_TMP/fail" ]; then
		cat "$E2E_TMP/fail" >&2
		return 1
	fi
	T=$(mktemp -d "$E2E_TMP/t.XXXXXX")
	export HOME=$GHOME XDG_RUNTIME_DIR=$GHOME/run TMPDIR=$T
	unset CCR_HOME CCR_KEYS CCR_KEYD_SOCKET CCR_KEYD_NO_AUTOSTART NODE_OPTIONS CCR_ROUTER \
		ALPHA_API_KEY BETA_API_KEY GAMMA_API_KEY RESTARTING
	rm -rf "$HOME/.claude-code-router" "$XDG_RUNTIME_DIR"
	mkdir -m 700 "$HOME/.claude-code-router" "$XDG_RUNTIME_DIR"
	CCR_HOME=$HOME/.claude-code-router # for agentlib's helpers; not exported
	CCR_CONFIG=$HOME/.local/bin/ccr-config
	CCR_KEYD=$HOME/.local/bin/ccr-keyd
	"$CCR_KEYD" --audit-log "$T/audit.log" >"$T/keyd.log" 2>&1 3>&- &
	KEYD_PID=$!
	local i
	for i in $(seq 100); do
		"$CCR_CONFIG" status >/dev/null 2>&1 && break
		sleep 0.05
	done
	: >"$UPSTREAM_RECORD"
	: >"$EVIL_RECORD"
	ROUTER_PORT=$(node "$E2E_DIR/http.mjs" free-port)
	ROUTER_PID=
	printf '%s\n' "$KEY_ALPHA" "$KEY_BETA" "$KEY_GAMMA" "$KEY_ROTATED" >"$T/scan"
}

teardown() {
	e2e_teardown
}

# router_line V: router V (1 or 2) as installed globally, first on PATH after ~/.local/bin.
router_line() {
	local prefix=$HOME/.npm-global
	[ "$1" = 1 ] || prefix=$HOME/.npm-global-2
	export PATH=$HOME/.local/bin:$prefix/bin:$PATH
	[ -L "$prefix/bin/ccr" ] # the layout of item 1: bin/ccr is npm's symlink
}

# write_providers: three providers on the fake upstream, referencing $ALPHA_API_KEY,
# ${BETA_API_KEY} and GAMMA_API_KEY inside a longer string.
write_providers() {
	local up=http://127.0.0.1:$UPSTREAM_PORT/v1/chat/completions
	cat >"$HOME/.claude-code-router/config.json" <<EOF
{
  "HOST": "127.0.0.1",
  "PORT": $ROUTER_PORT,
  "LOG": false,
  "Providers": [
    { "name": "alpha", "api_base_url": "$up", "api_key": "\$ALPHA_API_KEY", "models": ["m"] },
    { "name": "beta", "api_base_url": "$up", "api_key": "\${BETA_API_KEY}", "models": ["m"] },
    { "name": "gamma", "api_base_url": "$up", "api_key": "pre-\${GAMMA_API_KEY}-post",
      "models": ["m"] }
  ],
  "Router": { "default": "alpha,m" }
}
EOF
}

# store_keys: alpha stored after the config exists (bound by set), beta and gamma before
# (bound at their first use by the router).
store_keys() {
	printf '%s\n' "$KEY_BETA" | "$CCR_CONFIG" set beta >/dev/null
	printf '%s\n' "$KEY_GAMMA" | "$CCR_CONFIG" set gamma >/dev/null
	write_providers
	printf '%s\n' "$KEY_ALPHA" | "$CCR_CONFIG" set alpha >/dev/null
}

# ask MODEL [stream]: one request through the router; its reply in $output.
ask() {
	run node "$E2E_DIR/http.mjs" message "$ROUTER_PORT" "${2:-plain}" "$1"
	echo "$output"
}

# upstream_got AUTHORIZATION: the last request the fake upstream saw carried it.
upstream_got() {
	local last
	last=$(tail -n 1 "$UPSTREAM_RECORD")
	[[ "$last" == *"\"authorization\":\"$1\""* ]] || {
		echo "upstream's last request: $last; expected Authorization: $1" >&2
		return 1
	}
}

# assert_no_core_and_no_environ: the router may not dump core, and no process's
# environment block holds a stored or exported key.
assert_no_core_and_no_environ() {
	grep -E '^Max core file size +0 +0 ' "/proc/$ROUTER_PID/limits" || {
		grep 'core' "/proc/$ROUTER_PID/limits" >&2
		return 1
	}
	local f n=0
	for f in /proc/[0-9]*/environ; do
		if grep -qaF -f "$T/scan" "$f" 2>/dev/null || grep -qaF "$KEY_EXPORTED" "$f" 2>/dev/null
		then
			echo "$f holds a key: $(tr '\0' ' ' <"${f%environ}cmdline")" >&2
			return 1
		fi
		n=$((n + 1))
	done
	[ "$n" -gt 1 ]
}

# start_case V SHELL: the installed router V started by SHELL's `ccr start`, with an
# unlimited core size and ALPHA_API_KEY exported by the shell as a profile would (another
# value: the keystore wins). The shell exports it in its own variables, as from an rc
# file: the environment block it was started with holds no key, so none may hold one.
start_case() {
	router_line "$1"
	store_keys
	case $2 in
	fish) in_shell fish "set -gx ALPHA_API_KEY $KEY_EXPORTED; ulimit -c unlimited;
		ccr-config router --background start" ;;
	*) in_shell "$2" "export ALPHA_API_KEY=$KEY_EXPORTED; ulimit -c unlimited; ccr start" & ;;
	esac
	wait_router || { cat "$T/$2.err" >&2; return 1; }
}

# requests_case V SHELL: item 1's layout works, every reference form and streaming carry
# the right key, nothing dumps core or holds a key in its environment.
requests_case() {
	start_case "$1" "$2"
	# The router runs its real cli.js, not npm's bin/ccr symlink.
	tr '\0' '\n' <"/proc/$ROUTER_PID/cmdline" | grep -q '/dist/cli\.js$'
	ask alpha,m
	[ "$status" -eq 0 ]
	upstream_got "Bearer $KEY_ALPHA"
	ask alpha,m stream
	[ "$status" -eq 0 ]
	upstream_got "Bearer $KEY_ALPHA"
	ask beta,m stream
	[ "$status" -eq 0 ]
	upstream_got "Bearer $KEY_BETA"
	ask gamma,m
	[ "$status" -eq 0 ]
	upstream_got "Bearer pre-$KEY_GAMMA-post"
	# set bound alpha from the config; beta and gamma were bound at their first use.
	run "$CCR_CONFIG" bind beta
	[[ "$output" == *"http://127.0.0.1:$UPSTREAM_PORT"* ]]
	grep -q '"mode":"per-request"' "$HOME/.claude-code-router/.ccr-keyd-router.json"
	assert_no_core_and_no_environ
	[ ! -s "$EVIL_RECORD" ]
}

@test "1.0.73 from npm i -g, bash: ccr start; \$NAME, \${NAME}, a key inside a string, streaming" {
	requests_case 1 bash
}

@test "2.0.0 from npm i -g, bash: ccr start; \$NAME, \${NAME}, a key inside a string, streaming" {
	requests_case 2 bash
}

@test "1.0.73 from npm i -g, zsh: the same" {
	requests_case 1 zsh
}

@test "2.0.0 from npm i -g, fish: the same" {
	requests_case 2 fish
}

# assert_refused_to_evil: the last reply was refused with the key, the origin and the
# command; the second listener got no request; the audit log names the refusal.
assert_refused_to_evil() {
	[ "$status" -ne 0 ]
	[[ "$output" == *"ccr config bind alpha --add http://127.0.0.1:$EVIL_PORT"* ]] || {
		echo "the refusal does not name the command" >&2
		return 1
	}
	[ ! -s "$EVIL_RECORD" ] || { cat "$EVIL_RECORD" >&2; return 1; }
	grep -F "http://127.0.0.1:$EVIL_PORT" "$T/audit.log" | grep -q '"op":"use"'
}

redirect_put_case() {
	start_case "$1" bash
	ask alpha,m
	[ "$status" -eq 0 ]
	run node "$E2E_DIR/http.mjs" put "$ROUTER_PORT" /providers/alpha \
		<<<"{\"baseUrl\":\"http://127.0.0.1:$EVIL_PORT/v1/chat/completions\"}"
	echo "PUT: $output"
	ask alpha,m
	assert_refused_to_evil
}

@test "1.0.73: a provider redirected by PUT /providers gets no key; the agent is told what to run" {
	redirect_put_case 1
}

@test "2.0.0: a provider redirected by PUT /providers gets no key; the agent is told what to run" {
	redirect_put_case 2
}

redirect_restart_case() {
	start_case "$1" bash
	local before=$ROUTER_PID
	sed -i "s|127.0.0.1:$UPSTREAM_PORT|127.0.0.1:$EVIL_PORT|g" "$HOME/.claude-code-router/config.json"
	run node "$E2E_DIR/http.mjs" post "$ROUTER_PORT" /api/config \
		<"$HOME/.claude-code-router/config.json"
	RESTARTING=1
	run node "$E2E_DIR/http.mjs" post "$ROUTER_PORT" /api/restart <<<'{}'
	local i
	for i in $(seq 200); do
		ROUTER_PID=$(cat "$HOME/.claude-code-router/.claude-code-router.pid" 2>/dev/null || true)
		[ -n "$ROUTER_PID" ] && [ "$ROUTER_PID" != "$before" ] &&
			node "$E2E_DIR/http.mjs" wait "$ROUTER_PORT" 0 200 2>/dev/null && break
		sleep 0.1
	done
	[ "$ROUTER_PID" != "$before" ]
	ask alpha,m
	assert_refused_to_evil
}

@test "1.0.73: a UI save to another api_base_url plus /api/restart sends the new router no key there" {
	redirect_restart_case 1
}

@test "2.0.0: a UI save to another api_base_url plus /api/restart sends the new router no key there" {
	redirect_restart_case 2
}

rotate_lock_case() {
	start_case "$1" bash
	ask alpha,m
	upstream_got "Bearer $KEY_ALPHA"
	printf '%s\n' "$KEY_ROTATED" | "$CCR_CONFIG" set alpha >/dev/null
	ask alpha,m
	[ "$status" -eq 0 ]
	upstream_got "Bearer $KEY_ROTATED"
	printf 'a passphrase for the test\n' | "$CCR_CONFIG" passphrase set --stdin >/dev/null
	printf 'a passphrase for the test\n' | "$CCR_CONFIG" unlock --stdin >/dev/null
	ask alpha,m
	[ "$status" -eq 0 ]
	local seen
	seen=$(grep -c . "$UPSTREAM_RECORD")
	"$CCR_CONFIG" lock >/dev/null
	ask alpha,m
	[ "$status" -ne 0 ]
	[[ "$output" == *"ccr config unlock"* ]]
	[ "$(grep -c . "$UPSTREAM_RECORD")" -eq "$seen" ] # nothing went upstream
	printf 'a passphrase for the test\n' | "$CCR_CONFIG" unlock --stdin >/dev/null
	ask alpha,m
	[ "$status" -eq 0 ]
	upstream_got "Bearer $KEY_ROTATED"
}

@test "1.0.73: a rotated key is on the very next request; after lock no request leaves" {
	rotate_lock_case 1
}

@test "2.0.0: a rotated key is on the very next request; after lock no request leaves" {
	rotate_lock_case 2
}

@test "2.0.0: ccr code with a key exported: no process, the guard's ccr-config included, holds it" {
	router_line 2
	store_keys
	export CLAUDE_STANDIN_RECORD=$T/claude.json CLAUDE_STANDIN_SCAN=$T/scan
	export PATH=$E2E_DIR/bin:$PATH
	printf '%s\n' "$KEY_EXPORTED" >>"$T/scan"
	export ALPHA_API_KEY=$KEY_EXPORTED
	# The shell that exported the key holds it, as it would without ccr; nothing else may.
	in_shell bash "echo \$\$ >'$T/shell.pid'; ulimit -c unlimited; ccr code 'fix the bug'"
	[ "$status" -eq 0 ] || { cat "$T/bash.err" >&2; return 1; }
	node -e '
		const r = require(process.argv[1]);
		const shell = require("fs").readFileSync(process.argv[2], "utf8").trim();
		if (r.status !== 200) { console.error(`router answered ${r.status}: ${r.reply}`); process.exit(1); }
		const others = (r.scan || []).filter((hit) => !hit.startsWith(shell + ":"));
		if (!r.scan || r.scanned < 2 || others.length) {
			console.error(`environ scan: ${JSON.stringify(r.scan)} (shell ${shell})`); process.exit(1); }
	' "$CLAUDE_STANDIN_RECORD" "$T/shell.pid"
	upstream_got "Bearer $KEY_ALPHA"
	unset ALPHA_API_KEY
	wait_router
	assert_no_core_and_no_environ
}
