#!/usr/bin/env bats
# End-to-end: the real claude-code-router (npm @musistudio/claude-code-router 1.0.73,
# pinned in tests/e2e/package.json) gets its provider key from ccr-keyd through
# `ccr-config exec -- ccr start`, and forwards it to a fake OpenAI-compatible upstream
# (fake-upstream.mjs) on 127.0.0.1 that records the Authorization header it receives.
# (agent.bats runs the router the way the `ccr` function does, with keys in its
# server only.) Helpers in lib.bash.

load lib

setup_file() {
	e2e_setup_file "$ROUTER_DIR_1:$PINNED_1"
}

teardown_file() {
	e2e_teardown_file
}

setup() {
	e2e_setup || return 1
	use_router 1
	write_config '$E2E_TEST_API_KEY'
}

teardown() {
	e2e_teardown
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

# store_key KEY [ORDER]: store KEY as e2e with env name E2E_TEST_API_KEY, the value on
# stdin. ORDER "documented" writes `set e2e --env VAR` (ccr-config(1)'s usage, options after
# the name); the default puts the option first, which any getopt accepts.
store_key() {
	if [ "${2:-}" = documented ]; then
		printf '%s\n' "$1" | "$CCR_CONFIG" set e2e --env E2E_TEST_API_KEY || {
			echo "\`ccr-config set NAME --env VAR\` (ccr-config(1)'s order) failed: options after" \
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
