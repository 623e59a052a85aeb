#!/usr/bin/env bats
# Origin binding (docs/PROTOCOL.md, "Origin binding"): each key is bound to the
# origins it may be sent to; use hands its value out only towards one of them,
# and bind changes them, durably, and never from inside a coding agent. A real
# daemon on a real socket, spoken to in raw protocol lines.

load helpers

setup() {
	common_setup
	use_test_build
	export CCR_KEYD_TEST_FAST_KDF=1 CCR_KEYD_TEST_DELAY_SCALE=0.004
	AUDIT=$BATS_TEST_TMPDIR/audit.log
	PW=pw-test-origins-horse
	API=https://api.example.com
	LOCAL=http://127.0.0.1:8080
}

teardown() {
	common_teardown
}

# rset NAME VALUE [ORIGINS_JSON]: set a key over the raw protocol; prints the reply.
rset() {
	if [ $# -gt 2 ]; then
		req "{\"op\":\"set\",\"name\":\"$1\",\"value\":\"$2\",\"origins\":$3}"
	else
		req "{\"op\":\"set\",\"name\":\"$1\",\"value\":\"$2\"}"
	fi
}

# bind NAME MODE ORIGINS_JSON: a bind request by name; prints the reply.
bind() {
	req "{\"op\":\"bind\",\"name\":\"$1\",\"mode\":\"$2\",\"origins\":$3}"
}

# use ENV ORIGIN: a use request by env name; prints the reply.
use() {
	req "{\"op\":\"use\",\"env\":\"$1\",\"origin\":\"$2\"}"
}

# origins_of NAME: the key's origins as get reports them, one JSON array.
origins_of() {
	req "{\"op\":\"get\",\"name\":\"$1\",\"masked\":true}" | jget origins
}

# stored_origins NAME: the key's "origins" member in the plain keystore file ("" when absent).
stored_origins() {
	tr -d '\n' <"$CCR_KEYS" | jget "keys.$1.origins" 2>/dev/null || true
}

@test "use towards a bound origin answers the value, by env name or by name, whatever case or default port" {
	start_daemon --audit-log "$AUDIT"
	r=$(rset alpha "$KEY1" "[\"$API\",\"$LOCAL\"]")
	assert_ok "$r"
	assert_json "$r" origins "[\"$LOCAL\",\"$API\"]"
	r=$(use ALPHA_API_KEY "$API")
	assert_ok "$r"
	assert_json "$r" name alpha
	assert_json "$r" env ALPHA_API_KEY
	assert_json "$r" value "$KEY1"
	assert_json "$(use ALPHA_API_KEY 'HTTPS://API.Example.com:443/')" value "$KEY1"
	assert_json "$(req "{\"op\":\"use\",\"name\":\"alpha\",\"origin\":\"$LOCAL\"}")" value "$KEY1"
	grep -q "\"op\":\"use\",\"name\":\"alpha\",\"origin\":\"$API\",.*\"result\":\"ok\"" "$AUDIT" ||
		fail "no audited use:" "$(cat "$AUDIT")"
	refute_secret "$(cat "$AUDIT" "$KEYD_LOG")" "$KEY1"
}

@test "use towards another origin is denied with the key, the origin and the command, and audited" {
	start_daemon --audit-log "$AUDIT"
	assert_ok "$(rset alpha "$KEY1" "[\"$API\"]")"
	r=$(use ALPHA_API_KEY 'http://evil.test:9999/')
	assert_error "$r" denied
	assert_json "$r" name alpha
	assert_json "$r" origin http://evil.test:9999
	refute_json "$r" unbound
	refute_json "$r" value
	assert_json "$r" message "key 'alpha' is bound to $API, not http://evil.test:9999; to allow it run: ccr config bind alpha --add http://evil.test:9999"
	refute_secret "$r" "$KEY1"
	grep -q '"op":"use","name":"alpha","origin":"http://evil.test:9999",.*"result":"denied"' "$AUDIT" ||
		fail "no audited refusal:" "$(cat "$AUDIT")"
	# Two origins are listed, comma-separated, in order.
	assert_ok "$(bind alpha add "[\"$LOCAL\"]")"
	r=$(req '{"op":"use","name":"alpha","origin":"https://api.example.org"}')
	[[ "$(jget message "$r")" == "key 'alpha' is bound to $LOCAL, $API, not https://api.example.org;"* ]] ||
		fail "$r"
}

@test "use of an unbound key is denied with unbound:true; of a missing key not_found" {
	start_daemon
	assert_ok "$(rset alpha "$KEY1")"
	assert_json "$(origins_of alpha)" . '[]'
	r=$(use ALPHA_API_KEY "$API")
	assert_error "$r" denied
	assert_json "$r" unbound true
	assert_json "$r" name alpha
	assert_json "$r" origin "$API"
	assert_json "$r" message "key 'alpha' is bound to no origin; run: ccr config bind alpha $API"
	refute_secret "$r" "$KEY1"
	assert_error "$(use NOPE_API_KEY "$API")" not_found
	assert_error "$(req "{\"op\":\"use\",\"name\":\"nope\",\"origin\":\"$API\"}")" not_found
}

@test "bind initial binds an unbound key only; set, add and remove change it; each reply says whether it changed" {
	start_daemon --audit-log "$AUDIT"
	assert_ok "$(rset alpha "$KEY1")"
	r=$(bind alpha initial "[\"$API/\"]")
	assert_ok "$r"
	assert_json "$r" name alpha
	assert_json "$r" env ALPHA_API_KEY
	assert_json "$r" origins "[\"$API\"]"
	assert_json "$r" changed true
	[ "$(stored_origins alpha)" = "[\"$API\"]" ] || fail "not in the file:" "$(cat "$CCR_KEYS")"
	# Bound now: initial changes nothing.
	r=$(bind alpha initial '["http://other.test"]')
	assert_json "$r" origins "[\"$API\"]"
	assert_json "$r" changed false
	# add, again (no change), remove, set, set [] (unbinds).
	assert_json "$(bind alpha add "[\"$LOCAL\",\"$API\"]")" origins "[\"$LOCAL\",\"$API\"]"
	assert_json "$(bind alpha add "[\"$LOCAL\"]")" changed false
	r=$(bind alpha remove "[\"$API\",\"http://never.test\"]")
	assert_json "$r" origins "[\"$LOCAL\"]"
	assert_json "$r" changed true
	assert_json "$(bind alpha remove '["http://never.test"]')" changed false
	r=$(req '{"op":"bind","env":"ALPHA_API_KEY","mode":"set","origins":["https://b.test","https://a.test"]}')
	assert_json "$r" name alpha
	assert_json "$r" origins '["https://a.test","https://b.test"]'
	assert_json "$(use ALPHA_API_KEY https://b.test)" value "$KEY1"
	assert_error "$(use ALPHA_API_KEY "$LOCAL")" denied
	[ "$(stored_origins alpha)" = '["https://a.test","https://b.test"]' ]
	r=$(bind alpha set '[]')
	assert_json "$r" origins '[]'
	assert_json "$r" changed true
	assert_json "$(use ALPHA_API_KEY https://a.test)" unbound true
	[ -z "$(stored_origins alpha)" ] || fail "an empty list is written:" "$(cat "$CCR_KEYS")"
	grep -q '"op":"bind","name":"alpha",.*"result":"ok"' "$AUDIT" || fail "$(cat "$AUDIT")"
	# The value and the times are the key's as before.
	assert_json "$(req '{"op":"get","name":"alpha"}')" value "$KEY1"
}

@test "bind: not_found, locked-out modes and more than 16 origins are refused, and nothing changes" {
	start_daemon --audit-log "$AUDIT"
	assert_ok "$(rset alpha "$KEY1" "[\"$API\"]")"
	assert_error "$(bind nope set "[\"$API\"]")" not_found
	assert_error "$(req "{\"op\":\"bind\",\"env\":\"NOPE\",\"mode\":\"set\",\"origins\":[\"$API\"]}")" not_found
	grep -q '"op":"bind","name":"NOPE",.*"result":"not_found"' "$AUDIT" || fail "$(cat "$AUDIT")"
	many=$(printf '"http://h%d.test",' $(seq 1 16))
	assert_error "$(bind alpha add "[${many%,}]")" bad_request
	assert_error "$(bind alpha set "[${many}\"http://h17.test\"]")" bad_request
	assert_error "$(bind alpha replace "[\"$API\"]")" bad_request
	assert_error "$(req '{"op":"bind","name":"alpha","origins":[]}')" bad_request
	assert_error "$(req '{"op":"bind","name":"alpha","mode":"set"}')" bad_request
	assert_json "$(origins_of alpha)" . "[\"$API\"]"
	# Exactly 16 is fine.
	assert_json "$(bind alpha set "[${many%,}]")" origins.15 http://h9.test
}

@test "bad origins are bad_request in set, bind and use, before anything is written" {
	start_daemon
	assert_ok "$(rset alpha "$KEY1" "[\"$API\"]")"
	before=$(cat "$CCR_KEYS")
	for o in 'https://api.example.com/v1' 'https://api.example.com?x=1' 'https://u:p@api.example.com' \
		'ftp://api.example.com' 'api.example.com' 'https://' 'http://h:0' 'http://h:070' 'http://h:65536' \
		'http://[::1' 'http://h_x' ''; do
		assert_error "$(rset alpha "$KEY2" "[\"$o\"]")" bad_request
		assert_error "$(rset beta "$KEY2" "[\"$o\"]")" bad_request
		assert_error "$(bind alpha set "[\"$o\"]")" bad_request
		assert_error "$(use ALPHA_API_KEY "$o")" bad_request
	done
	assert_error "$(rset alpha "$KEY2" '"https://a.test"')" bad_request
	assert_error "$(rset alpha "$KEY2" '[1]')" bad_request
	assert_error "$(req '{"op":"use","env":"ALPHA_API_KEY"}')" bad_request
	assert_error "$(req "{\"op\":\"use\",\"env\":\"ALPHA_API_KEY\",\"name\":\"alpha\",\"origin\":\"$API\"}")" bad_request
	[ "$(cat "$CCR_KEYS")" = "$before" ] || fail "the keystore changed"
	assert_json "$(req '{"op":"get","name":"alpha"}')" value "$KEY1"
	assert_error "$(req '{"op":"get","name":"beta"}')" not_found
}

@test "set with origins binds a new or unbound key, never rebinds a bound one, and without origins keeps the binding" {
	start_daemon
	r=$(rset alpha "$KEY1" "[\"$API\"]")
	assert_json "$r" created true
	assert_json "$r" origins "[\"$API\"]"
	# Rotating the key with other origins keeps the binding.
	r=$(rset alpha "$KEY2" '["http://evil.test"]')
	assert_json "$r" created false
	assert_json "$r" origins "[\"$API\"]"
	assert_json "$(use ALPHA_API_KEY "$API")" value "$KEY2"
	assert_error "$(use ALPHA_API_KEY http://evil.test)" denied
	# Without origins: kept.
	assert_json "$(rset alpha "$KEY1")" origins "[\"$API\"]"
	# An unbound key takes its first binding from a set.
	assert_json "$(rset beta "$KEY3")" origins '[]'
	assert_json "$(rset beta "$KEY3" "[\"$LOCAL\"]")" origins "[\"$LOCAL\"]"
	# get and list report them.
	assert_json "$(req '{"op":"get","name":"beta"}')" origins "[\"$LOCAL\"]"
	r=$(req '{"op":"list"}')
	assert_json "$r" keys.0.origins "[\"$API\"]"
	assert_json "$r" keys.1.origins "[\"$LOCAL\"]"
	[ "$(stored_origins alpha)" = "[\"$API\"]" ]
	[ "$(stored_origins beta)" = "[\"$LOCAL\"]" ]
}

@test "set and bind pipelined on one connection and across connections leave what each reply says" {
	start_daemon
	out=$(req "{\"op\":\"set\",\"name\":\"alpha\",\"value\":\"$KEY1\"}" \
		"{\"op\":\"bind\",\"name\":\"alpha\",\"mode\":\"initial\",\"origins\":[\"$API\"]}" \
		"{\"op\":\"set\",\"name\":\"alpha\",\"value\":\"$KEY2\",\"origins\":[\"$LOCAL\"]}" \
		"{\"op\":\"bind\",\"name\":\"alpha\",\"mode\":\"add\",\"origins\":[\"$LOCAL\"]}")
	mapfile -t r <<<"$out"
	assert_json "${r[1]}" origins "[\"$API\"]"
	assert_json "${r[2]}" origins "[\"$API\"]"
	assert_json "${r[3]}" origins "[\"$LOCAL\",\"$API\"]"
	# Many connections at once: their binds meet in group commits.
	pids=()
	for i in $(seq 1 20); do
		req "{\"op\":\"bind\",\"name\":\"alpha\",\"mode\":\"add\",\"origins\":[\"http://h$i.test\"]}" >"$BATS_TEST_TMPDIR/r$i" &
		pids+=($!)
	done
	wait "${pids[@]}"
	n=$(cat "$BATS_TEST_TMPDIR"/r* | jget ok | grep -c true) || true
	nbad=$(cat "$BATS_TEST_TMPDIR"/r* | jget error | grep -c bad_request) || true
	[ "$n" -eq 14 ] && [ "$nbad" -eq 6 ] || fail "$n ok and $nbad bad_request of 20 adds to a key with 2 of 16"
	bound=$(origins_of alpha)
	[ "$(jget 15 "$bound")" != "" ] || fail "$bound"
	stop_daemon "$KEYD_PID"
	[ "$(stored_origins alpha)" = "$bound" ] || fail "on disk: $(stored_origins alpha), in memory: $bound"
	start_daemon
	assert_json "$(origins_of alpha)" . "$bound"
	assert_json "$(req '{"op":"get","name":"alpha"}')" value "$KEY2"
}

@test "origins persist across a restart, and a file without them still loads, unbound" {
	# A keystore as the previous version wrote it: no origins member.
	write_keystore '{"version":1,"keys":{
"alpha":{"value":"'"$KEY1"'","env":"ALPHA_API_KEY","created":"2026-11-28T21:04:05Z","updated":"2026-11-28T21:04:05Z"},
"beta":{"value":"'"$KEY2"'","env":"BETA_KEY"}
}}
'
	start_daemon
	assert_json "$(req '{"op":"get","name":"alpha","masked":true}')" origins '[]'
	assert_json "$(use BETA_KEY "$API")" unbound true
	assert_json "$(bind beta initial "[\"$API\",\"$LOCAL\"]")" changed true
	stop_daemon "$KEYD_PID"
	# The file keeps everything else as it was.
	grep -q '"alpha":{"value":"'"$KEY1"'","env":"ALPHA_API_KEY","created":"2026-11-28T21:04:05Z","updated":"2026-11-28T21:04:05Z"}' "$CCR_KEYS" ||
		fail "$(cat "$CCR_KEYS")"
	[ "$(stored_origins beta)" = "[\"$LOCAL\",\"$API\"]" ]
	start_daemon
	assert_json "$(origins_of beta)" . "[\"$LOCAL\",\"$API\"]"
	assert_json "$(use BETA_KEY "$LOCAL")" value "$KEY2"
	assert_json "$(origins_of alpha)" . '[]'
}

@test "a sealed keystore keeps origins inside the seal; use and bind answer locked while locked" {
	start_daemon
	assert_ok "$(rset alpha "$KEY1" "[\"$API\"]")"
	assert_ok "$(req "{\"op\":\"passphrase\",\"action\":\"set\",\"new_value\":\"$PW\"}")"
	! grep -q "api.example.com" "$CCR_KEYS" || fail "an origin outside the seal:" "$(cat "$CCR_KEYS")"
	assert_ok "$(bind alpha add "[\"$LOCAL\"]")"
	stop_daemon "$KEYD_PID"
	start_daemon
	r=$(use ALPHA_API_KEY "$API")
	assert_error "$r" locked
	refute_secret "$r" "$KEY1"
	assert_error "$(bind alpha set '[]')" locked
	assert_error "$(req "{\"op\":\"use\",\"name\":\"alpha\",\"origin\":\"$API\"}")" locked
	assert_ok "$(req "{\"op\":\"unlock\",\"value\":\"$PW\"}")"
	assert_json "$(origins_of alpha)" . "[\"$LOCAL\",\"$API\"]"
	assert_json "$(use ALPHA_API_KEY "$LOCAL")" value "$KEY1"
	assert_ok "$(req '{"op":"lock"}')"
	assert_error "$(use ALPHA_API_KEY "$LOCAL")" locked
}

@test "a bind that cannot be written is io_error and changes nothing in memory" {
	start_daemon
	assert_ok "$(rset alpha "$KEY1" "[\"$API\"]")"
	# Another program changes the file: the daemon refuses to overwrite it.
	printf ' ' >>"$CCR_KEYS"
	r=$(bind alpha set "[\"$LOCAL\"]")
	assert_error "$r" io_error
	assert_json "$(origins_of alpha)" . "[\"$API\"]"
	assert_json "$(use ALPHA_API_KEY "$API")" value "$KEY1"
	assert_error "$(use ALPHA_API_KEY "$LOCAL")" denied
	kill -HUP "$KEYD_PID"
	for ((i = 0; i < 100; i++)); do
		[ "$(jget reloads "$(req '{"op":"status"}')")" = 1 ] && break
		sleep 0.02
	done
	assert_json "$(bind alpha set "[\"$LOCAL\"]")" origins "[\"$LOCAL\"]"
}

# inside_claude SCRIPT: run SCRIPT under a copy of bash named claude, a coding agent.
inside_claude() {
	mkdir -p "$BATS_TEST_TMPDIR/agents"
	cp "$(command -v bash)" "$BATS_TEST_TMPDIR/agents/claude"
	run --separate-stderr "$BATS_TEST_TMPDIR/agents/claude" -c "$1"$'\n''exit $?'
}

@test "inside a coding agent bind is refused and use is refused like get; outside both are served" {
	start_daemon --audit-log "$AUDIT"
	assert_ok "$(rset alpha "$KEY1" "[\"$API\"]")"
	raw="printf '%s\n' \"\$1\" | '$SOCKCAT' --half-close --lines 1 --timeout 5000 \"\$CCR_KEYD_SOCKET\""
	inside_claude "raw() { $raw; }
echo \"bind \$(raw '{\"op\":\"bind\",\"name\":\"alpha\",\"mode\":\"add\",\"origins\":[\"http://evil.test\"]}')\"
echo \"use \$(raw '{\"op\":\"use\",\"env\":\"ALPHA_API_KEY\",\"origin\":\"$API\"}')\"
echo \"masked \$(raw '{\"op\":\"get\",\"name\":\"alpha\",\"masked\":true}')\""
	bind_r=$(printf '%s\n' "$output" | sed -n 's/^bind //p')
	use_r=$(printf '%s\n' "$output" | sed -n 's/^use //p')
	assert_error "$bind_r" denied
	[[ "$(jget message "$bind_r")" == "refused: this process runs inside claude "*"ccr-config bind in a terminal outside the agent" ]] ||
		fail "$bind_r"
	assert_error "$use_r" denied
	[[ "$(jget message "$use_r")" == *"ccr-config allow alpha --for 10m"* ]] || fail "$use_r"
	refute_secret "$output" "$KEY1"
	assert_json "$(printf '%s\n' "$output" | sed -n 's/^masked //p')" origins "[\"$API\"]"
	grep -q '"op":"bind","name":"alpha",.*"agent":"claude".*"result":"denied"' "$AUDIT" || fail "$(cat "$AUDIT")"
	grep -q "\"op\":\"use\",\"name\":\"ALPHA_API_KEY\",\"origin\":\"$API\",.*\"agent\":\"claude\".*\"result\":\"denied\"" "$AUDIT" ||
		fail "$(cat "$AUDIT")"
	assert_json "$(origins_of alpha)" . "[\"$API\"]"
	# An override lets agents use the key as it lets them get it; never bind.
	assert_ok "$(req '{"op":"allow","name":"alpha","for":600}')"
	inside_claude "raw() { $raw; }
echo \"use \$(raw '{\"op\":\"use\",\"env\":\"ALPHA_API_KEY\",\"origin\":\"$API\"}')\"
echo \"bind \$(raw '{\"op\":\"bind\",\"name\":\"alpha\",\"mode\":\"set\",\"origins\":[]}')\""
	assert_json "$(printf '%s\n' "$output" | sed -n 's/^use //p')" value "$KEY1"
	assert_error "$(printf '%s\n' "$output" | sed -n 's/^bind //p')" denied
	assert_ok "$(bind alpha add '["http://ok.test"]')"
}

@test "--lock-after: a use that hands out the value restarts the clock; a denied one does not" {
	start_daemon --lock-after 1s
	assert_ok "$(rset alpha "$KEY1" "[\"$API\"]")"
	assert_ok "$(req "{\"op\":\"passphrase\",\"action\":\"set\",\"new_value\":\"$PW\"}")"
	# Used every 300 ms for 2 s: never idle for 1 s.
	for i in 1 2 3 4 5 6 7; do
		assert_json "$(use ALPHA_API_KEY "$API")" value "$KEY1"
		sleep 0.3
	done
	assert_json "$(req '{"op":"hello"}')" locked false
	# Asked towards another origin every 100 ms: it locks all the same.
	locked=false
	for ((i = 0; i < 40; i++)); do
		r=$(use ALPHA_API_KEY http://evil.test)
		if [ "$(jget error "$r")" = locked ]; then
			locked=true
			break
		fi
		assert_error "$r" denied
		sleep 0.1
	done
	[ "$locked" = true ] || fail "denied uses kept the keystore unlocked for 4 s under --lock-after 1s"
	grep -q 'auto-lock: idle for --lock-after' "$KEYD_LOG"
}
