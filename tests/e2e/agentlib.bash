# Shared by the suites that run the router through ccr-config (agent.bats, commands.bats):
# the keys, the config, the daemon and the shell's own exports (prepare), the `ccr`
# function of each shell (in_shell), and the checks that no key went where it must not.
# Load after lib.bash.

# Both suites run both router lines, each test with a fresh home, daemon and stand-in
# agent (the bats hooks below).
setup_file() {
	e2e_setup_file "$ROUTER_DIR_1:$PINNED_1" "$ROUTER_DIR_2:$PINNED_2"
}

teardown_file() {
	e2e_teardown_file
}

setup() {
	e2e_setup || return 1
	export PATH=$E2E_DIR/bin:$BUILD_DIR:$PATH
	export CLAUDE_STANDIN_RECORD=$T/claude.json
	unset E2E_BACKUP_API_KEY CCR_APIKEY CLAUDE_STANDIN_SCAN RESTARTING
}

teardown() {
	e2e_teardown
}

# More obviously fake keys: exported only, and stored but referenced by nothing.
KEY_BACKUP=csk-test-e2e-0003-exported-$KEY_TAG
KEY_SPARE=csk-test-e2e-0004-unreferenced-$KEY_TAG
KEY_TOKEN=csk-test-e2e-0005-router-token-$KEY_TAG
ALL_KEYS=("$KEY_STORE" "$KEY_ENV" "$KEY_BACKUP" "$KEY_SPARE")

# write_config [EXTRA]: two providers on the fake upstream, e2e (the default route,
# $E2E_TEST_API_KEY) and backup (${E2E_BACKUP_API_KEY}); EXTRA is added at the top level.
write_config() {
	cat >"$CCR_HOME/config.json" <<EOF
{
  // JSON5, as the router reads it. Debug logging is the router's default.
  "HOST": "127.0.0.1",
  "PORT": $ROUTER_PORT,
  ${1:-}
  "Providers": [
    {
      "name": "e2e",
      "api_base_url": "http://127.0.0.1:$UPSTREAM_PORT/v1/chat/completions",
      "api_key": "\$E2E_TEST_API_KEY",
      "models": ["fake-model"],
    },
    {
      name: 'backup',
      api_base_url: 'http://127.0.0.1:$UPSTREAM_PORT/v1/chat/completions',
      api_key: '\${E2E_BACKUP_API_KEY}',
      models: ['fake-model'],
    },
  ],
  "Router": { "default": "e2e,fake-model" },
}
EOF
}

# prepare LINE [EXTRA]: router LINE first on PATH, the daemon with KEY_STORE as
# E2E_TEST_API_KEY and KEY_SPARE as SPARE_API_KEY, the config, and the shell's own
# exports: E2E_TEST_API_KEY (another value) and E2E_BACKUP_API_KEY.
prepare() {
	use_router "$1"
	start_daemon
	printf '%s\n' "$KEY_STORE" | "$CCR_CONFIG" set e2e --env E2E_TEST_API_KEY >/dev/null
	printf '%s\n' "$KEY_SPARE" | "$CCR_CONFIG" set spare >/dev/null
	write_config "${2:-}"
	export E2E_TEST_API_KEY=$KEY_ENV E2E_BACKUP_API_KEY=$KEY_BACKUP
	# What no environ may hold: the stored values (the exported ones are the shell's own).
	printf '%s\n' "$KEY_STORE" "$KEY_SPARE" "$KEY_TOKEN" >"$T/scan"
	chmod 600 "$T/scan"
}

# in_shell SHELL COMMAND: run COMMAND in SHELL after loading the `ccr` function, with
# stdin not a terminal; output in $T/SHELL.out and .err, status in $status.
in_shell() {
	local sh=$1 cmd=$2
	status=0
	case $sh in
	bash) bash --norc --noprofile -c 'eval "$("$0" shell-init bash)"; '"$cmd" "$CCR_CONFIG" ;;
	zsh) zsh -f -c 'eval "$("$0" shell-init zsh)"; '"$cmd" "$CCR_CONFIG" ;;
	fish) fish --no-config -c "'$CCR_CONFIG' shell-init fish | source; $cmd" ;;
	esac </dev/null >"$T/$sh.out" 2>"$T/$sh.err" || status=$?
}

# wait_router: wait until a router listens on ROUTER_PORT and has recorded that it got
# its keys; ROUTER_PID is its pid (from its pid file).
wait_router() {
	node "$E2E_DIR/http.mjs" wait "$ROUTER_PORT" 0 30000 || return 1
	local i
	for i in $(seq 100); do
		ROUTER_PID=$(cat "$CCR_HOME/.claude-code-router.pid" 2>/dev/null || true)
		[ -n "$ROUTER_PID" ] && grep -qF "\"pid\":$ROUTER_PID," "$CCR_HOME/.ccr-keyd-router.json" \
			2>/dev/null && return 0
		sleep 0.05
	done
	echo "no record of the router's keys in $CCR_HOME/.ccr-keyd-router.json" >&2
	return 1
}

# start_through SHELL: start the router through SHELL's function, in the background: `ccr
# start &` in bash and zsh; in fish, which cannot background a function, the documented
# `ccr-config router --background start`.
start_through() {
	case $1 in
	fish) in_shell fish 'ccr-config router --background start' ;;
	*) in_shell "$1" 'ccr start' & ;;
	esac
	wait_router
}

# refute_file_holds FILE: FILE holds none of the keys.
refute_file_holds() {
	local k
	for k in "${ALL_KEYS[@]}" "$KEY_TOKEN"; do
		refute_in "$1" "$k" || { echo "($1 holds a key)" >&2; return 1; }
	done
}

# assert_no_environ_holds_a_key: no /proc/*/environ holds a stored value.
assert_no_environ_holds_a_key() {
	local f n=0
	for f in /proc/[0-9]*/environ; do
		if grep -qaF -e "$KEY_STORE" -e "$KEY_SPARE" -e "$KEY_TOKEN" "$f" 2>/dev/null; then
			echo "$f holds a stored value: $(tr '\0' ' ' <"${f%environ}cmdline")" >&2
			return 1
		fi
		n=$((n + 1))
	done
	[ "$n" -gt 1 ]
}

# assert_agent_clean: the stand-in ran, got 200 from the router, and saw no key, no
# preload and no name of ours; no environ held a stored value while it ran.
assert_agent_clean() {
	[ -s "$CLAUDE_STANDIN_RECORD" ] || { echo "the stand-in claude did not run" >&2; return 1; }
	node -e '
		const r = require(process.argv[1]);
		const bad = [];
		if (r.status !== 200) bad.push(`the router answered ${r.status}: ${r.reply}`);
		for (const n of ["NODE_OPTIONS", "CCR_KEYD_TOKEN_FD", "E2E_TEST_API_KEY",
			"E2E_BACKUP_API_KEY", "SPARE_API_KEY"])
			if (n in r.env) bad.push(`the agent has ${n}`);
		if (!r.scan || r.scanned < 2) bad.push("the stand-in scanned no environ");
		else if (r.scan.length) bad.push(`environ held a key while the agent ran: ${r.scan}`);
		if (bad.length) { console.error(bad.join("\n")); process.exit(1); }
	' "$CLAUDE_STANDIN_RECORD"
	refute_file_holds "$CLAUDE_STANDIN_RECORD"
}
