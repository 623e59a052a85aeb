# Shared by the end-to-end suites (router.bats, agent.bats): the real router from npm
# (1.0.73 in tests/e2e, 2.0.0 in tests/e2e/v2, both pinned by their package-lock.json),
# a fake upstream on 127.0.0.1, the real ccr-keyd and ccr-config from $CCR_BUILD, a
# private HOME, socket and keystore per test. Every process started here is stopped by
# its pid. When the router cannot be installed for want of a registry, every test is
# skipped and says so. See ROUTER-NOTES.md for the router facts this relies on.

E2E_DIR=$BATS_TEST_DIRNAME
ROOT=$(cd "$E2E_DIR/../.." && pwd)
BUILD_DIR=${CCR_BUILD:-$ROOT/build}
# Router line → the directory whose package.json pins it.
PINNED_1=1.0.73
PINNED_2=2.0.0
ROUTER_DIR_1=$E2E_DIR
ROUTER_DIR_2=$E2E_DIR/v2

# Obviously fake keys; none of them is ever sent anywhere but 127.0.0.1. Each bats
# run gets its own (the tag of its run directory), so that a scan of every
# /proc/*/environ never finds the keys of another run going on at the same time.
KEY_TAG=${BATS_RUN_TMPDIR##*-}
KEY_STORE=csk-test-e2e-0001-stored-$KEY_TAG
KEY_ENV=csk-test-e2e-0002-environment-$KEY_TAG

# installed_version DIR: the router version installed under DIR/node_modules, or nothing.
installed_version() {
	node -p 'require(process.argv[1]).version' \
		"$1/node_modules/@musistudio/claude-code-router/package.json" 2>/dev/null
}

# install_router DIR VERSION: make sure DIR/node_modules holds router VERSION (make
# e2e-deps installs it before the suites run; this is for a suite run alone). Writes
# $E2E_TMP/skip (with the reason) when it cannot be installed for want of a registry or
# a usable node, $E2E_TMP/fail when npm fails although the registry answers.
install_router() {
	local dir=$1 want=$2 out major rc=0
	if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
		echo "node/npm not installed: cannot run the router" >"$E2E_TMP/skip"
		return
	fi
	major=$(node -p 'process.versions.node.split(".")[0]')
	if [ "$major" -lt 20 ]; then
		echo "node $(node --version) is too old for router $want (needs >= 20)" >"$E2E_TMP/skip"
		return
	fi
	[ "$(installed_version "$dir")" = "$want" ] && return
	out=$(bash "$ROOT/tests/e2e/deps.sh" "$dir" 2>&1) || rc=$?
	if [ "$rc" -eq 2 ]; then
		printf '%s\n' "$out" | tail -n 1 | sed 's/^e2e-deps: //' >"$E2E_TMP/skip"
	elif [ "$rc" -ne 0 ]; then
		printf '%s\n' "$out" >"$E2E_TMP/fail"
	elif [ "$(installed_version "$dir")" != "$want" ]; then
		echo "npm ci succeeded but $dir holds no router $want" >"$E2E_TMP/fail"
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

# e2e_setup_file ROUTER-DIR:VERSION...: install the routers, start one fake upstream.
e2e_setup_file() {
	local r
	E2E_TMP=$(mktemp -d "${TMPDIR:-/tmp}/ccr-e2e.XXXXXX")
	export E2E_TMP
	for r in "$@"; do
		install_router "${r%%:*}" "${r#*:}"
		[ -e "$E2E_TMP/skip" ] || [ -e "$E2E_TMP/fail" ] && return 0
	done

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

e2e_teardown_file() {
	stop_pid "${UPSTREAM_PID:-}"
	[ -n "${E2E_TMP:-}" ] && rm -rf "$E2E_TMP"
}

# e2e_setup: skip or fail as setup_file found; a private HOME, socket, keystore, TMPDIR.
e2e_setup() {
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
	# override); ccr-config reads $CCR_HOME/config.json: make them the same file.
	export CCR_HOME=$HOME/.claude-code-router
	export CCR_KEYS=$CCR_HOME/keys
	# The socket in a directory of its own, as by default: an agent that ccr code starts runs
	# confined, and the socket's directory is one it cannot see.
	export CCR_KEYD_SOCKET=$T/run/keyd.sock
	export CCR_KEYD_NO_AUTOSTART=1
	export TMPDIR=$T/tmp
	unset XDG_RUNTIME_DIR E2E_TEST_API_KEY NODE_OPTIONS CCR_ROUTER
	mkdir -p "$HOME" "$TMPDIR"
	mkdir -m 700 "$CCR_HOME"
	: >"$UPSTREAM_RECORD"
	ROUTER_PORT=$(node "$E2E_DIR/http.mjs" free-port)
	ROUTER_PID= KEYD_PID=
}

# use_router LINE: put router LINE (1 or 2)'s `ccr` first on PATH.
use_router() {
	local dir
	dir=ROUTER_DIR_$1
	export PATH=${!dir}/node_modules/.bin:$PATH
}

# e2e_teardown: stop the router (by the pid it wrote, or that we got) and the daemon. After
# a restart (RESTARTING set), a new router may still be on its way: wait for it and stop it.
e2e_teardown() {
	local pid i tries=1
	[ -z "${RESTARTING:-}" ] || tries=30
	for i in $(seq "$tries"); do
		pid=$(cat "${HOME:-/nonexistent}/.claude-code-router/.claude-code-router.pid" 2>/dev/null || true)
		[ -z "$pid" ] || stop_pid "$pid"
		[ -n "${RESTARTING:-}" ] || break
		sleep 0.1
	done
	stop_pid "${ROUTER_PID:-}"
	stop_pid "${KEYD_PID:-}"
	if [ -z "${BATS_TEST_COMPLETED:-}" ] && [ -n "${T:-}" ]; then
		local f
		for f in "$T"/*.log "$T"/*.err "$T"/*.out "$UPSTREAM_RECORD"; do
			[ -e "$f" ] && { echo "--- $f"; cat "$f"; }
		done >&2
	fi
	return 0
}

# start_daemon [ARGS...]: ccr-keyd on the test's socket and keystore, with ARGS.
start_daemon() {
	"$CCR_KEYD" --socket "$CCR_KEYD_SOCKET" --keys "$CCR_KEYS" "$@" >"$T/keyd.log" 2>&1 3>&- &
	KEYD_PID=$!
	local i
	# Answering, not only bound: between bind and listen a connect is refused.
	for i in $(seq 100); do
		[ -S "$CCR_KEYD_SOCKET" ] && "$CCR_CONFIG" status >/dev/null 2>&1 && return 0
		kill -0 "$KEYD_PID" 2>/dev/null || break
		sleep 0.05
	done
	echo "ccr-keyd did not come up:" >&2
	cat "$T/keyd.log" >&2
	return 1
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
