#!/usr/bin/env bats
# End-to-end: the real claude-code-router (npm @musistudio/claude-code-router, pinned in
# tests/e2e/package.json) gets its provider key from ccr-keyd through
# `ccr-config exec -- ccr start`, and forwards it to a fake OpenAI-compatible upstream
# (fake-upstream.mjs) on 127.0.0.1 that records the Authorization header it receives.
#
# Everything runs on loopback with a temporary HOME, CCR_HOME, socket and keystore. Every
# process started here (upstream, ccr-keyd, router) is stopped by its pid.
# When the router cannot be installed because the npm registry is unreachable, every
# test is skipped and says so. See ROUTER-NOTES.md for the router facts this relies on.

E2E_DIR=$BATS_TEST_DIRNAME
ROOT=$(cd "$E2E_DIR/../.." && pwd)
BUILD_DIR=${CCR_BUILD:-$ROOT/build}
PINNED=1.0.73
ROUTER_PKG=$E2E_DIR/node_modules/@musistudio/claude-code-router

# Obviously fake keys; none of them is ever sent anywhere but 127.0.0.1.
KEY_STORE=csk-test-e2e-0001-stored
KEY_ENV=csk-test-e2e-0002-environment

# installed_version: the router version in tests/e2e/node_modules, or nothing.
installed_version() {
	node -p 'require(process.argv[1]).version' "$ROUTER_PKG/package.json" 2>/dev/null
}

# install_router: make sure the pinned router is in tests/e2e/node_modules. Writes
# $E2E_TMP/skip (with the reason) when it cannot be installed for want of a registry or
# a usable node, $E2E_TMP/fail when npm fails although the registry answers.
install_router() {
	local out major reason
	if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
		echo "node/npm not installed: cannot run the router" >"$E2E_TMP/skip"
		return
	fi
	major=$(node -p 'process.versions.node.split(".")[0]')
	if [ "$major" -lt 20 ]; then
		echo "node $(node --version) is too old for router $PINNED (needs >= 20)" >"$E2E_TMP/skip"
		return
	fi
	[ "$(installed_version)" = "$PINNED" ] && return
	if out=$(timeout 300 npm ci --prefix "$E2E_DIR" --ignore-scripts --no-audit --no-fund \
		--fetch-retries=1 --fetch-retry-mintimeout=1000 --fetch-retry-maxtimeout=2000 \
		--fetch-timeout=20000 2>&1); then
		[ "$(installed_version)" = "$PINNED" ] && return
		echo "npm ci succeeded but $ROUTER_PKG is not version $PINNED" >"$E2E_TMP/fail"
		return
	fi
	if timeout 30 npm ping --fetch-retries=0 --fetch-timeout=20000 >/dev/null 2>&1; then
		printf 'npm ci --prefix tests/e2e failed although the registry answers:\n%s\n' \
			"$(printf '%s\n' "$out" | tail -n 15)" >"$E2E_TMP/fail"
	else
		reason=$(printf '%s\n' "$out" | grep -m1 'request to' ||
			printf '%s\n' "$out" | grep -m1 'npm error code' ||
			printf '%s\n' "$out" | tail -n 1)
		echo "npm registry unreachable: ${reason#npm error }" >"$E2E_TMP/skip"
	fi
}

# stop_pid PID: SIGTERM, wait up to 5 s, then SIGKILL. Only ever our own pids.
stop_pid() {
	local pid=$1 i
	[ -n "$pid" ] || return 0
	kill -TERM "$pid" 2>/dev/null || return 0
	for i in $(seq 50); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
}

setup_file() {
	E2E_TMP=$(mktemp -d "${TMPDIR:-/tmp}/ccr-e2e.XXXXXX")
	export E2E_TMP
	install_router
	[ -e "$E2E_TMP/skip" ] || [ -e "$E2E_TMP/fail" ] && return 0

	# One fake upstream for the whole file; each test truncates its record first.
	export UPSTREAM_RECORD=$E2E_TMP/upstream.jsonl
	: >"$UPSTREAM_RECORD"
	node "$E2E_DIR/fake-upstream.mjs" 0 "$UPSTREAM_RECORD" >"$E2E_TMP/upstream.port" \
		2>"$E2E_TMP/upstream.err" 3>&- &
	export UPSTREAM_PID=$!
	local i
	for i in $(seq 100); do
		[ -s "$E2E_TMP/upstream.port" ] && break
		sleep 0.05
	done
	UPSTREAM_PORT=$(head -n 1 "$E2E_TMP/upstream.port")
	export UPSTREAM_PORT
	if [ -z "$UPSTREAM_PORT" ]; then
		{ echo "fake upstream did not start:"; cat "$E2E_TMP/upstream.err"; } >"$E2E_TMP/fail"
	fi
}

teardown_file() {
	stop_pid "${UPSTREAM_PID:-}"
	[ -n "${E2E_TMP:-}" ] && rm -rf "$E2E_TMP"
}

setup() {
	[ -e "$E2E_TMP/skip" ] && skip "$(cat "$E2E_TMP/skip")"
	if [ -e "$E2E_TMP/fail" ]; then
		cat "$E2E_TMP/fail" >&2
		return 1
	fi
	CCR_CONFIG=$BUILD_DIR/ccr-config
	CCR_KEYD=$BUILD_DIR/ccr-keyd
	[ -x "$CCR_CONFIG" ] || { echo "missing $CCR_CONFIG: run make" >&2; return 1; }
	[ -x "$CCR_KEYD" ] || { echo "missing $CCR_KEYD: run make" >&2; return 1; }

	T=$(mktemp -d "$E2E_TMP/t.XXXXXX")
	export HOME=$T/home
	# The router reads $HOME/.claude-code-router/config.json (os.homedir(), no env
	# override); exec reads $CCR_HOME/config.json: make them the same file.
	export CCR_HOME=$HOME/.claude-code-router
	export CCR_KEYS=$CCR_HOME/keys
	export CCR_KEYD_SOCKET=$T/keyd.sock
	export CCR_KEYD_NO_AUTOSTART=1
	export TMPDIR=$T/tmp
	unset XDG_RUNTIME_DIR E2E_TEST_API_KEY
	mkdir -p "$HOME" "$TMPDIR"
	mkdir -m 700 "$CCR_HOME"
	export PATH=$E2E_DIR/node_modules/.bin:$PATH
	: >"$UPSTREAM_RECORD"
	ROUTER_PORT=$(node "$E2E_DIR/http.mjs" free-port)
	ROUTER_PID= KEYD_PID=
	write_config '$E2E_TEST_API_KEY'
}

teardown() {
	stop_pid "${ROUTER_PID:-}"
	stop_pid "${KEYD_PID:-}"
	if [ -z "${BATS_TEST_COMPLETED:-}" ] && [ -n "${T:-}" ]; then
		local f
		for f in "$T/keyd.log" "$T/exec.err" "$T/exec.out" "$UPSTREAM_RECORD"; do
			[ -e "$f" ] && { echo "--- $f"; cat "$f"; }
		done >&2
	fi
	return 0
}

# write_config REF: the router config, one provider pointing at the fake upstream with
# "api_key": REF (as written, e.g. '$E2E_TEST_API_KEY'). No APIKEY: loopback only.
write_config() {
	cat >"$CCR_HOME/config.json" <<EOF
{
  // JSON5, as the router reads it.
  "LOG": false,
  "HOST": "127.0.0.1",
  "PORT": $ROUTER_PORT,
  "Providers": [
    {
      "name": "e2e",
      "api_base_url": "http://127.0.0.1:$UPSTREAM_PORT/v1/chat/completions",
      "api_key": "$1",
      "models": ["fake-model"]
    }
  ],
  "Router": { "default": "e2e,fake-model" }
}
EOF
}

start_daemon() {
	"$CCR_KEYD" --socket "$CCR_KEYD_SOCKET" --keys "$CCR_KEYS" >"$T/keyd.log" 2>&1 3>&- &
	KEYD_PID=$!
	local i
	for i in $(seq 100); do
		[ -S "$CCR_KEYD_SOCKET" ] && return 0
		kill -0 "$KEYD_PID" 2>/dev/null || break
		sleep 0.05
	done
	echo "ccr-keyd did not come up:" >&2
	cat "$T/keyd.log" >&2
	return 1
}

# store_key KEY [ORDER]: store KEY as e2e with env name E2E_TEST_API_KEY, the value on
# stdin. ORDER "documented" writes `set e2e --env VAR` (DESIGN.md's usage, options after
# the name); the default puts the option first, which any getopt accepts.
store_key() {
	if [ "${2:-}" = documented ]; then
		printf '%s\n' "$1" | "$CCR_CONFIG" set e2e --env E2E_TEST_API_KEY || {
			echo "\`ccr-config set NAME --env VAR\` (DESIGN.md's order) failed: options after" \
				"NAME must parse (glibc keeps the first getopt's '+' mode unless optind = 0)" >&2
			return 1
		}
	else
		printf '%s\n' "$1" | "$CCR_CONFIG" set --env E2E_TEST_API_KEY e2e
	fi
}

# start_router [EXEC OPTIONS…]: `ccr-config exec OPTIONS -- ccr start` in the
# background. exec execvp's the router, so $! is the router's own pid (checked against
# the router's pid file). stdout/stderr of exec and the router go to $T/exec.{out,err}.
start_router() {
	(cd "$T" && exec "$CCR_CONFIG" exec "$@" -- ccr start) >"$T/exec.out" 2>"$T/exec.err" 3>&- &
	ROUTER_PID=$!
	if ! node "$E2E_DIR/http.mjs" wait "$ROUTER_PORT" "$ROUTER_PID" 30000; then
		echo "router did not answer on 127.0.0.1:$ROUTER_PORT" >&2
		return 1
	fi
	local pidfile=$HOME/.claude-code-router/.claude-code-router.pid
	[ "$(cat "$pidfile")" = "$ROUTER_PID" ] || {
		echo "router pid file says $(cat "$pidfile"), exec's pid was $ROUTER_PID:" \
			"exec left a process between us and the router" >&2
		return 1
	}
}

# refute_in FILE STRING: FILE does not contain STRING. (A bare `! grep` would not fail
# a bats test: errexit ignores negated commands.)
refute_in() {
	if grep -qF -- "$2" "$1"; then
		echo "$1 contains a secret it must not show" >&2
		return 1
	fi
}

# send_message [stream]: one Anthropic-format request through the router.
send_message() {
	run node "$E2E_DIR/http.mjs" message "$ROUTER_PORT" "$@"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"pong from fake upstream"* ]]
}

# assert_upstream_key KEY: the upstream saw exactly one request, with Bearer KEY.
assert_upstream_key() {
	local n
	n=$(grep -c . "$UPSTREAM_RECORD" || true)
	[ "$n" -eq 1 ] || { echo "upstream saw $n requests, expected 1" >&2; return 1; }
	grep -qF "\"url\":\"/v1/chat/completions\"" "$UPSTREAM_RECORD" || {
		echo "upstream request went to the wrong path" >&2
		return 1
	}
	grep -qF "\"authorization\":\"Bearer $1\"" "$UPSTREAM_RECORD" || {
		echo "upstream did not get Authorization: Bearer <expected key>" >&2
		return 1
	}
}

@test "key only in the keystore: exec injects it and the upstream gets Bearer <stored key>" {
	start_daemon
	store_key "$KEY_STORE" documented
	unset E2E_TEST_API_KEY
	start_router
	send_message
	assert_upstream_key "$KEY_STORE"
	refute_in "$T/exec.err" "$KEY_STORE"
	refute_in "$T/exec.out" "$KEY_STORE"
}

@test "braced \${E2E_TEST_API_KEY} reference, key only in the keystore (streaming request)" {
	write_config '${E2E_TEST_API_KEY}'
	start_daemon
	store_key "$KEY_STORE"
	start_router
	send_message stream
	assert_upstream_key "$KEY_STORE"
	grep -qF '"stream":true' "$UPSTREAM_RECORD"
}

@test "key only in the environment: exec passes it through and the upstream gets it" {
	start_daemon
	export E2E_TEST_API_KEY=$KEY_ENV
	start_router
	send_message
	assert_upstream_key "$KEY_ENV"
	refute_in "$T/exec.err" "$KEY_ENV"
}

@test "keystore and environment differ: keystore wins, warning names the variable only" {
	start_daemon
	store_key "$KEY_STORE"
	export E2E_TEST_API_KEY=$KEY_ENV
	start_router
	send_message
	assert_upstream_key "$KEY_STORE"
	grep -qF E2E_TEST_API_KEY "$T/exec.err" || {
		echo "exec printed no warning naming E2E_TEST_API_KEY" >&2
		return 1
	}
	refute_in "$T/exec.err" "$KEY_STORE"
	refute_in "$T/exec.err" "$KEY_ENV"
	refute_in "$T/exec.out" "$KEY_STORE"
	refute_in "$T/exec.out" "$KEY_ENV"
}

@test "daemon unreachable: exec refuses (exit 3) unless --fallback-env, which uses the environment" {
	export E2E_TEST_API_KEY=$KEY_ENV
	run "$CCR_CONFIG" exec -- sh -c 'echo CMD-RAN'
	echo "$output"
	[ "$status" -eq 3 ]
	[[ "$output" != *CMD-RAN* ]]
	[[ "$output" == *ccr-config:* ]]
	start_router --fallback-env
	send_message
	assert_upstream_key "$KEY_ENV"
}
