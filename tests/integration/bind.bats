#!/usr/bin/env bats
# Origin binding from ccr-config (docs/ccr-config.1, bind): bind shows, sets,
# adds and removes a key's origins, reduces URLs to origins and takes them from
# config.json; set and migrate bind a new key to the origins of the providers
# that use it and leave a bound key's binding alone; get and list show the
# binding; check warns about unbound keys and bindings that lack a provider's
# origin, naming the command; and bind is refused inside a coding agent.

load helpers

setup() {
	common_setup
	# The router reads $HOME/.claude-code-router: keep CCR_HOME there.
	export HOME=$BATS_TEST_TMPDIR/h
	export CCR_HOME=$HOME/.claude-code-router
	export CCR_KEYS=$CCR_HOME/keys
	mkdir -p "$CCR_HOME"
	unset ALPHA_API_KEY BETA_API_KEY
}

teardown() {
	common_teardown
}

# A config that exposes nothing, so that check's warnings are the bindings' only.
QUIET="APIKEY: 'csk-test-router-client-key', LOG_LEVEL: 'info'"

# config TEXT: write TEXT as $CCR_HOME/config.json.
config() {
	printf '%s\n' "$1" >"$CCR_HOME/config.json"
}

# alpha_config: alpha's key used by two providers (one inside a longer string,
# braced), beta's by one without an api_base_url; comments hold braces.
alpha_config() {
	config "{ $QUIET, // a comment with a } in it
  Providers: [
    { name: 'one', api_base_url: 'https://API.Example.com/v1/chat/completions',
      api_key: 'Bearer \${ALPHA_API_KEY}', transformer: { use: [{ x: '}' }] } }, /* } */
    { name: 'two', api_base_url: 'http://127.0.0.1:8080/v1', api_key: '\$ALPHA_API_KEY' },
    { name: 'three', api_key: '\$BETA_API_KEY' },
  ],
}"
}

@test "bind NAME shows the origins one a line, or that there are none" {
	start_daemon
	set_key alpha "$KEY1"
	run --separate-stderr "$CLI" bind alpha
	[ "$status" -eq 0 ] && [ "$output" = "alpha is bound to no origin" ] || fail "$status: $output $stderr"
	req '{"op":"bind","name":"alpha","origins":["https://b.example","http://a.example:8080"],"mode":"set"}' >/dev/null
	run --separate-stderr "$CLI" bind ALPHA_API_KEY
	[ "$status" -eq 0 ] && [ "$output" = $'http://a.example:8080\nhttps://b.example' ] ||
		fail "$status: $output $stderr"
	run --separate-stderr "$CLI" --json bind alpha
	assert_json "$output" name alpha
	assert_json "$output" env ALPHA_API_KEY
	assert_json "$output" origins '["http://a.example:8080","https://b.example"]'
}

@test "bind NAME URL... makes the binding exactly their origins; --add and --remove change it" {
	start_daemon
	set_key alpha "$KEY1"
	run --separate-stderr "$CLI" bind alpha https://API.Example.com:443/v1/chat/completions?x=1 http://[::1]:8080/
	[ "$status" -eq 0 ] && [ "$output" = $'http://[::1]:8080\nhttps://api.example.com' ] ||
		fail "$status: $output $stderr"
	assert_json "$(req '{"op":"get","name":"alpha","masked":true}')" origins '["http://[::1]:8080","https://api.example.com"]'
	run --separate-stderr "$CLI" bind alpha --add https://other.example/v1
	[ "$status" -eq 0 ] && [ "$output" = $'http://[::1]:8080\nhttps://api.example.com\nhttps://other.example' ] ||
		fail "$status: $output $stderr"
	run --separate-stderr "$CLI" --json bind alpha --add https://other.example
	assert_json "$output" changed false
	run --separate-stderr "$CLI" bind alpha --remove http://[::1]:8080 https://api.example.com/v1
	[ "$status" -eq 0 ] && [ "$output" = https://other.example ] || fail "$status: $output $stderr"
	run --separate-stderr "$CLI" --json bind alpha --remove https://other.example
	assert_json "$output" changed true
	assert_json "$output" origins '[]'
	run --separate-stderr "$CLI" bind alpha
	[ "$output" = "alpha is bound to no origin" ] || fail "$output"
	# Set again replaces what was there.
	"$CLI" bind alpha https://a.example >/dev/null
	run "$CLI" bind alpha https://b.example
	[ "$output" = https://b.example ] || fail "$output"
}

@test "bind refuses what is no origin, and bad usage, and changes nothing" {
	start_daemon
	set_key alpha "$KEY1"
	"$CLI" bind alpha https://a.example >/dev/null
	for url in ftp://a.example/x 'https://a.example:99999' 'https://a.example:0' not-a-url; do
		run --separate-stderr "$CLI" bind alpha "$url"
		[ "$status" -eq 2 ] && [[ "$stderr" == *"'$url' is no origin"*"nothing changed" ]] ||
			fail "$url: $status $stderr"
	done
	run --separate-stderr "$CLI" bind alpha --add
	[ "$status" -eq 2 ] && [[ "$stderr" == *"usage: ccr-config bind"* ]] || fail "$status: $stderr"
	run --separate-stderr "$CLI" bind alpha --add --remove https://b.example
	[ "$status" -eq 2 ] || fail "$status: $stderr"
	run --separate-stderr "$CLI" bind
	[ "$status" -eq 2 ] || fail "$status: $stderr"
	run --separate-stderr "$CLI" bind alpa https://b.example
	[ "$status" -eq 1 ] && [[ "$stderr" == *"no key named alpa (did you mean 'alpha'?)"* ]] ||
		fail "$status: $stderr"
	[ "$("$CLI" bind alpha)" = https://a.example ]
}

@test "bind --from-config takes the origins of the providers whose api_key uses the key" {
	start_daemon
	set_key alpha "$KEY1"
	set_key beta "$KEY2"
	alpha_config
	"$CLI" bind alpha https://old.example >/dev/null
	run --separate-stderr "$CLI" bind alpha --from-config
	[ "$status" -eq 0 ] && [ "$output" = $'http://127.0.0.1:8080\nhttps://api.example.com' ] ||
		fail "$status: $output $stderr"
	# With --add, added to what is there.
	"$CLI" bind alpha https://old.example >/dev/null
	run --separate-stderr "$CLI" bind alpha --add --from-config
	[ "$output" = $'http://127.0.0.1:8080\nhttps://api.example.com\nhttps://old.example' ] ||
		fail "$status: $output $stderr"
	# No provider that uses beta has an api_base_url: nothing to bind it to.
	run --separate-stderr "$CLI" bind beta --from-config
	[ "$status" -eq 1 ] && [[ "$stderr" == *'uses $BETA_API_KEY'*"nothing changed" ]] ||
		fail "$status: $stderr"
	[ "$("$CLI" bind beta)" = "beta is bound to no origin" ]
}

@test "set binds a new key to its providers' origins and says so; a bound key keeps its binding" {
	start_daemon
	alpha_config
	run --separate-stderr "$CLI" set alpha <<<"$KEY1"
	[ "$status" -eq 0 ] || fail "$stderr"
	[ "$output" = 'stored alpha (as $ALPHA_API_KEY), bound to http://127.0.0.1:8080, https://api.example.com' ] ||
		fail "$output"
	assert_json "$(req '{"op":"get","name":"alpha","masked":true}')" origins '["http://127.0.0.1:8080","https://api.example.com"]'
	run --separate-stderr "$CLI" --json set beta <<<"$KEY2"
	assert_json "$output" origins '[]'
	# Rebinding is bind's job: a set that rotates a bound key leaves its binding,
	# and warns about each origin of the config that it lacks.
	"$CLI" bind alpha https://api.example.com >/dev/null
	run --separate-stderr "$CLI" set alpha <<<"$KEY3"
	[ "$status" -eq 0 ] || fail "$stderr"
	[ "$output" = 'updated alpha (as $ALPHA_API_KEY), bound to https://api.example.com' ] || fail "$output"
	[[ "$stderr" == *"sends alpha to http://127.0.0.1:8080"*"run: ccr-config bind alpha --add http://127.0.0.1:8080" ]] ||
		fail "$stderr"
	[ "$("$CLI" bind alpha)" = https://api.example.com ]
	[ "$(raw_value alpha)" = "$KEY3" ]
}

@test "set with a config that does not reference the key stores it unbound, as before" {
	start_daemon
	alpha_config
	run --separate-stderr "$CLI" set other <<<"$KEY1"
	[ "$output" = 'stored other (as $OTHER_API_KEY)' ] || fail "$output"
	rm "$CCR_HOME/config.json"
	run --separate-stderr "$CLI" set alpha <<<"$KEY2"
	[ "$output" = 'stored alpha (as $ALPHA_API_KEY)' ] && [ -z "$stderr" ] || fail "$output $stderr"
	# A config the router cannot parse: stored, unbound, with a warning.
	config '{ Providers: [ }'
	run --separate-stderr "$CLI" set beta <<<"$KEY3"
	[ "$status" -eq 0 ] && [ "$output" = 'stored beta (as $BETA_API_KEY)' ] || fail "$output"
	[[ "$stderr" == *"config.json: line 1"*"not bound from it"* ]] || fail "$stderr"
}

@test "migrate binds each key it stores to the origin of the provider it came from" {
	start_daemon
	config "{ $QUIET, Providers: [
    { name: 'alpha', api_base_url: 'https://api.example.com/v1/chat/completions', api_key: '$KEY1' },
    { name: 'nourl', api_key: '$KEY2' },
  ] }"
	run --separate-stderr "$CLI" migrate --dry-run
	[ "${lines[0]}" = 'alpha: would store, config would use $ALPHA_API_KEY, would bind to https://api.example.com' ] ||
		fail "$output"
	run --separate-stderr "$CLI" migrate
	[ "$status" -eq 0 ] || fail "$stderr"
	[ "${lines[0]}" = 'alpha: stored, config now uses $ALPHA_API_KEY, bound to https://api.example.com' ] ||
		fail "$output"
	[ "${lines[1]}" = 'nourl: stored, config now uses $NOURL_API_KEY' ] || fail "$output"
	[ "$("$CLI" bind alpha)" = https://api.example.com ]
	[ "$("$CLI" bind nourl)" = "nourl is bound to no origin" ]
}

@test "get and list show the binding; their --json carries origins arrays" {
	start_daemon
	set_key alpha "$KEY1"
	set_key beta "$KEY2"
	"$CLI" bind alpha https://b.example http://a.example:8080 >/dev/null
	run --separate-stderr "$CLI" get alpha
	[[ "$output" == "alpha  ALPHA_API_KEY  csk-…f2a9  updated "*"  bound to http://a.example:8080, https://b.example" ]] ||
		fail "$output"
	run --separate-stderr "$CLI" get beta
	[[ "$output" == *"  bound to no origin" ]] || fail "$output"
	run --separate-stderr "$CLI" --json get alpha
	assert_json "$output" origins '["http://a.example:8080","https://b.example"]'
	run --separate-stderr "$CLI" list
	[ "$status" -eq 0 ] || fail "$stderr"
	read -ra head <<<"${lines[0]}"
	[ "${head[*]}" = "NAME ENV KEY UPDATED ORIGINS" ] || fail "${lines[0]}"
	read -ra row <<<"${lines[1]}"
	[ "${row[0]} ${row[5]}" = "alpha http://a.example:8080,https://b.example" ] || fail "${lines[1]}"
	read -ra row <<<"${lines[2]}"
	[ "${row[0]} ${row[5]}" = "beta -" ] || fail "${lines[2]}"
	# ORIGINS starts at the same column in every line (the ellipsis is one column).
	[ "$(sed 's/…/./' <<<"$output" | awk '{ print length($0) - length($NF) }' | sort -u | wc -l)" -eq 1 ] ||
		fail "$output"
	run --separate-stderr "$CLI" --json list
	assert_json "$output" keys.0.origins '["http://a.example:8080","https://b.example"]'
	assert_json "$output" keys.1.origins '[]'
}

@test "check shows each key's binding and warns, with the command, about unbound keys and missing origins" {
	start_daemon
	set_key alpha "$KEY1"
	set_key beta "$KEY2"
	alpha_config
	run --separate-stderr "$CLI" check
	[ "$status" -eq 0 ] || fail "$stderr"
	[[ "$output" == *"ALPHA_API_KEY  keystore (alpha), bound to no origin"* ]] || fail "$output"
	[[ "$stderr" == *"alpha (\$ALPHA_API_KEY) is bound to no origin"*"ccr-config bind alpha --from-config"* ]] ||
		fail "$stderr"
	[[ "$stderr" == *"beta (\$BETA_API_KEY) is bound to no origin"*"ccr-config bind beta URL"* ]] ||
		fail "$stderr"
	"$CLI" bind alpha https://api.example.com >/dev/null
	run --separate-stderr "$CLI" check
	[[ "$output" == *"ALPHA_API_KEY  keystore (alpha), bound to https://api.example.com"* ]] || fail "$output"
	[[ "$stderr" == *"provider two sends alpha (\$ALPHA_API_KEY) to http://127.0.0.1:8080, but alpha is bound to https://api.example.com only"*"run: ccr-config bind alpha --add http://127.0.0.1:8080"* ]] ||
		fail "$stderr"
	[[ "$stderr" != *"alpha (\$ALPHA_API_KEY) is bound to no origin"* ]] || fail "$stderr"
	[[ "$stderr" != *"provider one"* ]] || fail "$stderr"
	run --separate-stderr "$CLI" --json check
	assert_json "$output" names.0.origins '["https://api.example.com"]'
	[[ "$output" == *'"warning":"origin_not_bound"'* && "$output" == *'"warning":"key_unbound"'* ]] ||
		fail "$output"
	# Bound as the config says: no binding warning is left for alpha.
	"$CLI" bind alpha --from-config >/dev/null
	"$CLI" bind beta https://beta.example >/dev/null
	run --separate-stderr "$CLI" check
	[ "$status" -eq 0 ] && [ -z "$stderr" ] || fail "$status: $stderr"
}

@test "check shows no binding for a key no provider sends, and wants none" {
	start_daemon
	set_key ccr "$KEY1" --env CCR_APIKEY
	config "{APIKEY: '\$CCR_APIKEY', LOG_LEVEL: 'info', Providers: []}"
	run --separate-stderr "$CLI" check
	[ "$status" -eq 0 ] || fail "$stderr"
	[ "$output" = "CCR_APIKEY  keystore (ccr)" ] || fail "$output"
	[[ "$stderr" != *"bound to no origin"* ]] || fail "$stderr"
}

@test "check says a running router gets its keys per request when its record says so" {
	start_daemon
	set_key alpha "$KEY1"
	alpha_config
	sleep 60 &
	CHILD_PIDS+=("$!")
	printf '%s' "$!" >"$CCR_HOME/.claude-code-router.pid"
	printf '{"pid":%s,"router":"1.0.73","port":3456,"keyd":"ok","mode":"per-request","keystore":["ALPHA_API_KEY"],"environment":[],"missing":[],"warnings":[]}\n' \
		"$!" >"$CCR_HOME/.ccr-keyd-router.json"
	run --separate-stderr "$CLI" check
	[[ "$output" == *"(claude-code-router 1.0.73) gets its keys per request from ccr-keyd: 1 from the keystore"* ]] ||
		fail "$output"
	run --separate-stderr "$CLI" --json check
	assert_json "$output" router.per_request true
}

@test "bind is refused inside a coding agent, and the binding stays" {
	start_daemon
	set_key alpha "$KEY1"
	"$CLI" bind alpha https://a.example >/dev/null
	local agents=$BATS_TEST_TMPDIR/agents
	mkdir -p "$agents"
	cp "$(command -v bash)" "$agents/claude"
	run --separate-stderr "$agents/claude" -c "'$CLI' bind alpha https://evil.example"$'\n''exit $?'
	[ "$status" -eq 4 ] || fail "$status: $output $stderr"
	[[ "$stderr" == "ccr-config: "*"claude"* ]] || fail "$stderr"
	[ "$(wc -l <<<"$stderr")" -eq 1 ] || fail "$stderr"
	run --separate-stderr "$agents/claude" -c "'$CLI' bind alpha --add https://evil.example"$'\n''exit $?'
	[ "$status" -eq 4 ] || fail "$status: $output $stderr"
	# Showing is a read of no value: served inside the agent too.
	run --separate-stderr "$agents/claude" -c "'$CLI' bind alpha"$'\n''exit $?'
	[ "$status" -eq 0 ] && [ "$output" = https://a.example ] || fail "$status: $output $stderr"
	[ "$("$CLI" bind alpha)" = https://a.example ]
}
