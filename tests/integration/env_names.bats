#!/usr/bin/env bats
# Env names by a positive rule: a key's env name must look like a
# credential's (…_API_KEY, _APIKEY, _KEY, _TOKEN, _SECRET, _PASSWORD, _PAT,
# or one of them and _N); any other name is stored only with a person's yes —
# "env_confirmed":true on the wire, which ccr-config sends only after a y typed
# on the terminal — and never from inside a coding agent. Written as an
# attacker would: names that make programs run code (MAKEFILES, TAR_OPTIONS
# were shown to run attacker code under exec --all) are refused without a yes.
# Keystores that already hold such names keep working, and check lists them.

load helpers
load tty

setup() {
	common_setup
	AGENT_BIN=$BATS_TEST_TMPDIR/agents
	mkdir -p "$AGENT_BIN"
	cp "$(command -v bash)" "$AGENT_BIN/claude"
}

teardown() {
	common_teardown
}

# Each runs code, or picks where code or trust comes from, in some program.
ATTACKER_NAMES=(MAKEFILES TAR_OPTIONS SUDO_ASKPASS SYSTEMD_PAGER KUBECONFIG AWS_CONFIG_FILE
	VIMINIT RSYNC_RSH DOTNET_STARTUP_HOOKS GTK3_MODULES HTTPS_PROXY SSLKEYLOGFILE)

UNCONFIRMED="does not look like a credential's name"

@test "the daemon refuses each name that runs code unless the set carries a person's yes" {
	start_daemon
	for env in "${ATTACKER_NAMES[@]}"; do
		run req "{\"op\":\"set\",\"name\":\"k\",\"env\":\"$env\",\"value\":\"csk-test-attack\"}"
		assert_error "$output" invalid_name
		[[ "$(jget message "$output")" == *"\$$env $UNCONFIRMED"* ]] || fail "$env: $output"
		run req "{\"op\":\"set\",\"name\":\"k\",\"env\":\"$env\",\"value\":\"csk-test-attack\",\"env_confirmed\":false}"
		assert_error "$output" invalid_name
		assert_error "$(req '{"op":"get","name":"k"}')" not_found
		# a key name that is its own env name: its default is the same name
		run req "{\"op\":\"set\",\"name\":\"$env\",\"value\":\"csk-test-attack\"}"
		assert_error "$output" invalid_name
	done
	[ "$(jget keys "$(req '{"op":"status"}')")" = 0 ]
	! grep -q csk-test-attack "$CCR_KEYS" 2>/dev/null
	# "env_confirmed" is a boolean, nothing else
	run req '{"op":"set","name":"k","env":"MAKEFILES","value":"csk-test-attack","env_confirmed":1}'
	assert_error "$output" bad_request
}

@test "names that look like a credential's need no yes; bare suffixes and others do" {
	start_daemon
	for env in A_API_KEY A_APIKEY A_KEY A_TOKEN A_SECRET A_PASSWORD A_PAT A_API_KEY_2 GH_PAT_10; do
		run req "{\"op\":\"set\",\"name\":\"${env,,}\",\"env\":\"$env\",\"value\":\"csk-test-ok\"}"
		assert_ok "$output"
	done
	for env in KEY TOKEN _KEY API_KEY_X MY_KEYS A_KEY_ A_KEY_X2 PAT; do
		run req "{\"op\":\"set\",\"name\":\"x\",\"env\":\"$env\",\"value\":\"csk-test-no\"}"
		if [ "$env" = _KEY ] || [ "$env" = A_KEY_ ]; then
			[ "$(jget ok "$output")" = false ] || fail "$env stored: $output"
			continue
		fi
		assert_error "$output" invalid_name
		[[ "$(jget message "$output")" == *"$UNCONFIRMED"* ]] || fail "$env: $output"
	done
}

@test "a person's yes on the wire stores such a name, from outside any agent" {
	start_daemon
	run req '{"op":"set","name":"k","env":"TAR_OPTIONS","value":"csk-test-chosen","env_confirmed":true}'
	assert_ok "$output"
	assert_json "$(req '{"op":"get","name":"k"}')" env TAR_OPTIONS
	# a rotation of it needs the yes again: the value is what runs
	run req '{"op":"set","name":"k","value":"csk-test-rotated"}'
	assert_error "$output" invalid_name
	assert_json "$(req '{"op":"get","name":"k"}')" value csk-test-chosen
}

@test "inside a coding agent a set is refused even with the yes on the wire" {
	start_daemon
	local line='{"op":"set","name":"k","env":"MAKEFILES","value":"csk-test-agent","env_confirmed":true}'
	run --separate-stderr "$AGENT_BIN/claude" -c "printf '%s\n' '$line' | '$SOCKCAT' --half-close --lines 1 \"\$CCR_KEYD_SOCKET\""
	assert_error "$output" denied
	[[ "$(jget message "$output")" == *"runs inside claude"* ]] || fail "$output"
	assert_error "$(req '{"op":"get","name":"k"}')" not_found
	# and ccr-config on a terminal inside the agent: the yes does not help
	run on_tty "'$AGENT_BIN/claude' -c \"printf '%s\\n' csk-test-agent | '$CLI' set k --env MAKEFILES\"" "anyway? [y/N]" y
	[ "$status" -ne 0 ] || fail "stored inside an agent: $output"
	[[ "$output" == *"runs inside claude"* ]] || fail "$output"
	assert_error "$(req '{"op":"get","name":"k"}')" not_found
}

@test "ccr-config set without a terminal refuses such a name in one line, before reading the key" {
	start_daemon
	for env in MAKEFILES HTTPS_PROXY; do
		run --separate-stderr "$CLI" set k --env "$env" <<<"csk-test-piped"
		[ "$status" -eq 2 ] || fail "$env: $status $stderr"
		[ "$(wc -l <<<"$stderr")" -eq 1 ] || fail "not one line: $stderr"
		[[ "$stderr" == *"\$$env $UNCONFIRMED"*"nothing stored"* ]] || fail "$stderr"
	done
	# a key name that defaults to such an env name, too
	run --separate-stderr "$CLI" set SSLKEYLOGFILE <<<"csk-test-piped"
	[ "$status" -eq 2 ] && [[ "$stderr" == *"\$SSLKEYLOGFILE $UNCONFIRMED"* ]] || fail "$status $stderr"
	[ "$(jget keys "$(req '{"op":"status"}')")" = 0 ]
}

@test "ccr-config set on a terminal asks y/N: no stores nothing, y stores it" {
	start_daemon
	run on_tty "printf '%s\\n' csk-test-typed | '$CLI' set k --env KUBECONFIG" "Store k as \$KUBECONFIG anyway? [y/N]" ""
	[ "$status" -eq 2 ] || fail "$status $output"
	[[ "$output" == *"not confirmed: nothing stored"* ]] || fail "$output"
	assert_error "$(req '{"op":"get","name":"k"}')" not_found
	run on_tty "printf '%s\\n' csk-test-typed | '$CLI' set k --env KUBECONFIG" "Store k as \$KUBECONFIG anyway? [y/N]" y
	[ "$status" -eq 0 ] || fail "$status $output"
	[[ "$output" == *'stored k (as $KUBECONFIG)'* ]] || fail "$output"
	assert_json "$(req '{"op":"get","name":"k"}')" value csk-test-typed
}

@test "a keystore that holds such names keeps serving them: get, resolve, exec; check lists each" {
	write_keystore "{\"version\":1,\"keys\":{\"good\":{\"value\":\"$KEY1\",\"env\":\"GOOD_API_KEY\"},\"legacy\":{\"value\":\"csk-test-legacy\",\"env\":\"LEGACY_ENDPOINT\"}}}"
	start_daemon
	assert_json "$(req '{"op":"get","name":"legacy"}')" value csk-test-legacy
	assert_json "$(req '{"op":"resolve","env":"LEGACY_ENDPOINT"}')" values.LEGACY_ENDPOINT csk-test-legacy
	run --separate-stderr "$CLI" exec --all -- /usr/bin/env
	[ "$status" -eq 0 ] || fail "$status $stderr"
	grep -qx "LEGACY_ENDPOINT=csk-test-legacy" <<<"$output" || fail "not injected: $output"
	grep -qx "GOOD_API_KEY=$KEY1" <<<"$output"
	mkdir -p "$CCR_HOME"
	printf '%s\n' "{APIKEY: 'csk-test-router-client-key', LOG_LEVEL: 'info', Providers: [{name: 'good', api_base_url: 'http://127.0.0.1:9/v1', api_key: '\$GOOD_API_KEY', models: ['m']}]}" >"$CCR_HOME/config.json"
	run --separate-stderr "$CLI" check
	[[ "$stderr" == *'key legacy is stored as $LEGACY_ENDPOINT, which does not look like a credential'*'ccr-config delete legacy'* ]] ||
		fail "not listed: $stderr"
	[[ "$stderr" != *'key good is stored'* ]] || fail "a credential's name was listed: $stderr"
	refute_secret "$output$stderr" csk-test-legacy
	run "$CLI" check --json
	[[ "$output" == *'"warning":"env_not_credential"'* ]] || fail "$output"
}
