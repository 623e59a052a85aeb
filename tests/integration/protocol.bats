#!/usr/bin/env bats
# The wire protocol over a real socket with raw requests: every op, pipelining,
# concurrency, limits, and bad input that gets a clear error and loses nothing.

load helpers

setup() {
	common_setup
	start_daemon
}

teardown() {
	common_teardown
}

# set_req NAME VALUE [ID]: a set request line.
set_req() {
	printf '{"op":"set","name":"%s","value":"%s"%s}' "$1" "$2" "${3:+,\"id\":$3}"
}

# line_of LENGTH: a hello request padded with spaces to exactly LENGTH bytes.
line_of() {
	local head='{"op":"hello",' tail='"id":1}'
	printf '%s%*s%s' "$head" $(($1 - ${#head} - ${#tail})) '' "$tail"
}

@test "hello names the server and protocol 1 and says whether it is locked" {
	run req '{"op":"hello","id":"h1"}'
	[ "$status" -eq 0 ]
	assert_ok "$output"
	assert_json "$output" id h1
	assert_json "$output" server ccr-keyd
	assert_json "$output" protocol 1
	assert_json "$output" locked false
	[[ "$(jget version "$output")" =~ ^[0-9]+\.[0-9]+\.[0-9]+ ]]
}

@test "set is answered with created and env, get returns the value and update time" {
	run req "$(set_req cerebras "$KEY1" 1)" "$(set_req cerebras "$KEY2" 2)" \
		'{"op":"get","name":"cerebras","id":3}'
	assert_json "${lines[0]}" created true
	assert_json "${lines[0]}" env CEREBRAS_API_KEY
	assert_json "${lines[1]}" created false
	assert_json "${lines[2]}" value "$KEY2"
	assert_json "${lines[2]}" env CEREBRAS_API_KEY
	assert_json "${lines[2]}" name cerebras
	[[ "$(jget updated "${lines[2]}")" =~ ^20[0-9]{2}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$ ]]
}

@test "list gives every key masked with times and never a value" {
	req "$(set_req b-key "$KEY2")" "$(set_req a-key "$KEY1")" >/dev/null
	run req '{"op":"list"}'
	assert_ok "$output"
	assert_json "$output" keys.0.name a-key
	assert_json "$output" keys.0.env A_KEY_API_KEY
	assert_json "$output" keys.0.masked 'csk-…f2a9'
	assert_json "$output" keys.1.name b-key
	[ -n "$(jget keys.1.created "$output")" ]
	[ -n "$(jget keys.1.updated "$output")" ]
	refute_json "$output" keys.0.value
	refute_secret "$output" "$KEY1" "$KEY2"
}

@test "resolve returns the values of the env names it holds and skips the rest" {
	req "$(set_req cerebras "$KEY1")" "$(set_req groq "$KEY2")" >/dev/null
	run req '{"op":"resolve","env":["CEREBRAS_API_KEY","NOT_THERE"]}' \
		'{"op":"resolve","env":"GROQ_API_KEY"}'
	assert_json "${lines[0]}" values.CEREBRAS_API_KEY "$KEY1"
	refute_json "${lines[0]}" values.NOT_THERE
	assert_json "${lines[1]}" values "{\"GROQ_API_KEY\":\"$KEY2\"}"
}

@test "delete removes a key; deleting or getting a missing key is not_found" {
	req "$(set_req cerebras "$KEY1")" >/dev/null
	run req '{"op":"delete","name":"cerebras","id":1}' '{"op":"get","name":"cerebras","id":2}' \
		'{"op":"delete","name":"cerebras","id":3}'
	assert_ok "${lines[0]}"
	assert_error "${lines[1]}" not_found
	assert_error "${lines[2]}" not_found
	assert_json "${lines[2]}" id 3
}

@test "status reports keys, keystore, locked, sealed, uptime and connections" {
	req "$(set_req cerebras "$KEY1")" >/dev/null
	run req '{"op":"status"}'
	assert_ok "$output"
	assert_json "$output" keys 1
	assert_json "$output" keystore "$CCR_KEYS"
	assert_json "$output" locked false
	assert_json "$output" sealed false
	[[ "$(jget uptime_s "$output")" =~ ^[0-9]+$ ]]
	[ "$(jget connections "$output")" -ge 1 ]
}

@test "status reports the state machine: its state, reloads, and the count of each transition" {
	stop_daemon "$KEYD_PID"
	use_test_build
	CCR_KEYD_TEST_FAST_KDF=1 start_daemon
	run req '{"op":"status"}'
	assert_json "$output" state plain
	assert_json "$output" reloads 0
	assert_json "$output" transitions.plain/seal 0
	refute_json "$output" expires_in_ms
	req '{"op":"passphrase","action":"set","new_value":"pw-test-status"}' >/dev/null
	req '{"op":"unlock","for":600}' >/dev/null
	kill -HUP "$KEYD_PID"
	for ((i = 0; i < 100; i++)); do
		[ "$(jget reloads "$(req '{"op":"status"}')")" = 1 ] && break
		sleep 0.02
	done
	# The key held opens the file: a reload keeps it unlocked, --for's limit too.
	run req '{"op":"status"}'
	assert_json "$output" reloads 1
	assert_json "$output" state unlocked
	assert_json "$output" transitions.plain/seal 1
	assert_json "$output" transitions.sealing/sealed 1
	assert_json "$output" transitions.unlocked/reload-opened 1
	assert_json "$output" transitions.unlocked/reload-sealed 0
	[ -n "$(jget expires_in_ms "$output")" ] || fail "the hard limit was dropped: $output"
	assert_ok "$(req '{"op":"lock"}')"
	run req '{"op":"status"}'
	assert_json "$output" state locked
	assert_json "$output" transitions.unlocked/lock 1
	assert_json "$output" transitions.locking/wiped 1
	refute_json "$output" expires_in_ms
	assert_ok "$(req '{"op":"unlock","value":"pw-test-status","for":600}')"
	run req '{"op":"status"}'
	assert_json "$output" state unlocked
	[ "$(jget expires_in_ms "$output")" -le 600000 ] && [ "$(jget expires_in_ms "$output")" -gt 590000 ]
}

@test "pipelined requests on one connection are answered in order with their ids" {
	run req '{"op":"hello","id":1}' "$(set_req cerebras "$KEY1" '"two"')" \
		'{"op":"get","name":"cerebras","id":3}' '{"op":"nope","id":4}' \
		"$(set_req groq "$KEY2" 5)" '{"op":"delete","name":"cerebras","id":6}' \
		'{"op":"get","name":"cerebras","id":7}' '{"op":"list","id":8}' \
		'{"op":"get","name":"groq","id":{"bad":1}}' '{"op":"get","name":"groq","id":10}'
	[ "${#lines[@]}" -eq 10 ]
	ids=$(printf '%s\n' "${lines[@]}" | jget id | tr '\n' ' ')
	[ "$ids" = "1 two 3 4 5 6 7 8 10 " ] || fail "ids in order: $ids"
	assert_json "${lines[2]}" value "$KEY1" # read-your-writes: the set came first
	assert_error "${lines[3]}" unknown_op
	assert_error "${lines[6]}" not_found
	assert_json "${lines[7]}" keys.0.name groq
	assert_error "${lines[8]}" bad_request # an id that is not a number or string
	assert_json "${lines[9]}" value "$KEY2"
}

@test "a hundred pipelined requests sent in one write all get replies in order" {
	mapfile -t reqs < <(seq 1 50 | awk '{
		printf "{\"op\":\"set\",\"name\":\"k%d\",\"value\":\"csk-test-pipelined-%d\",\"id\":%d}\n", $1, $1, $1
		printf "{\"op\":\"get\",\"name\":\"k%d\",\"id\":%d}\n", $1, $1 + 1000 }')
	run req "${reqs[@]}"
	[ "${#lines[@]}" -eq 100 ]
	want=$(seq 1 50 | awk '{ print $1; print "csk-test-pipelined-" $1 }')
	got=$(printf '%s\n' "${lines[@]}" | awk 'NR % 2 == 1' | jget id |
		paste -d '\n' - <(printf '%s\n' "${lines[@]}" | awk 'NR % 2 == 0' | jget value))
	[ "$got" = "$want" ] || fail "replies out of order or wrong"
}

@test "50 concurrent clients each set and get their own key" {
	dir=$BATS_TEST_TMPDIR
	seq 1 50 | awk -v dir="$dir" '{
		printf "{\"op\":\"set\",\"name\":\"client-%d\",\"value\":\"csk-test-concurrent-%d\"}\n", $1, $1 > (dir "/in" $1)
		printf "{\"op\":\"get\",\"name\":\"client-%d\"}\n", $1 > (dir "/in" $1) }'
	pids=()
	for i in $(seq 1 50); do
		"$SOCKCAT" --half-close --lines 2 --timeout 10000 "$CCR_KEYD_SOCKET" \
			<"$dir/in$i" >"$dir/out$i" 2>&1 3>&- &
		pids+=($!)
	done
	for pid in "${pids[@]}"; do
		wait "$pid"
	done
	outs=$(seq -f "$dir/out%g" 1 50)
	[ "$(awk 'FNR == 1' $outs | jget created | sort | uniq -c | tr -s ' ')" = " 50 true" ]
	[ "$(awk 'FNR == 2' $outs | jget value)" = "$(seq -f 'csk-test-concurrent-%g' 1 50)" ]
	run req '{"op":"status"}'
	assert_json "$output" keys 50
	# Every acknowledged set is on disk.
	[ "$(grep -c '"value":"csk-test-concurrent-' "$CCR_KEYS")" -eq 50 ]
}

@test "concurrent sets of two names with one env name: exactly one wins, the other is conflict" {
	pids=()
	for i in 1 2 3 4 5 6; do
		printf '{"op":"set","name":"racer-%s","env":"RACE_KEY","value":"csk-test-race-%s"}\n' \
			"$i" "$i" |
			"$SOCKCAT" --half-close --lines 1 "$CCR_KEYD_SOCKET" >"$BATS_TEST_TMPDIR/race$i" 3>&- &
		pids+=($!)
	done
	for pid in "${pids[@]}"; do
		wait "$pid"
	done
	[ "$(cat "$BATS_TEST_TMPDIR"/race* | grep -c '"ok":true')" -eq 1 ]
	[ "$(cat "$BATS_TEST_TMPDIR"/race* | grep -c '"error":"conflict"')" -eq 5 ]
	run req '{"op":"resolve","env":"RACE_KEY"}'
	[[ "$output" == *'"RACE_KEY":"csk-test-race-'* ]]
}

@test "malformed JSON is bad_request and the connection still serves" {
	run req '{"op":"get",' 'not json at all' '[1,2]' '{"op":"hello"} trailing' '{"op":"hello","id":5}'
	assert_error "${lines[0]}" bad_request
	assert_error "${lines[1]}" bad_request
	assert_error "${lines[2]}" bad_request
	assert_error "${lines[3]}" bad_request
	assert_ok "${lines[4]}"
	assert_json "${lines[4]}" id 5
}

@test "a request without op, or with a name that is not a string, is bad_request" {
	run req '{"name":"x","id":1}' '{"op":"get","id":2}' '{"op":"get","name":7,"id":3}' \
		'{"op":"set","name":"x","id":4}' '{"op":"set","name":"x","value":5,"id":6}'
	for i in 0 1 2 3 4; do
		assert_error "${lines[$i]}" bad_request
	done
	assert_json "${lines[1]}" id 2
}

@test "invalid UTF-8 is bad_request" {
	run bash -c "printf '{\"op\":\"get\",\"name\":\"\\xff\\xfe\"}\n{\"op\":\"hello\"}\n' |
		'$SOCKCAT' --half-close --lines 2 '$CCR_KEYD_SOCKET'"
	assert_error "${lines[0]}" bad_request
	assert_ok "${lines[1]}"
}

@test "a request line of exactly 64 KiB is served" {
	run bash -c "$(declare -f line_of); { line_of 65536; echo; } | '$SOCKCAT' --lines 1 '$CCR_KEYD_SOCKET'"
	assert_ok "$output"
	assert_json "$output" id 1
}

@test "a request line over 64 KiB is too_large and the daemon closes the connection" {
	big=$BATS_TEST_TMPDIR/big
	{
		line_of 65537
		printf '\n{"op":"hello","id":2}\n'
	} >"$big"
	# No half-close and no line limit: sockcat stops at EOF only if the daemon closes.
	run "$SOCKCAT" --timeout 5000 "$CCR_KEYD_SOCKET" <"$big"
	[ "$status" -eq 0 ] || fail "the connection was not closed (sockcat status $status)"
	[ "${#lines[@]}" -eq 1 ]
	assert_error "${lines[0]}" too_large
	# The daemon itself is fine.
	run req '{"op":"hello"}'
	assert_ok "$output"
}

@test "an endless line without a newline is too_large once past 64 KiB, then closed" {
	run bash -c "head -c 200000 /dev/zero | tr '\\0' ' ' | '$SOCKCAT' --timeout 5000 '$CCR_KEYD_SOCKET'"
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 1 ]
	assert_error "${lines[0]}" too_large
}

@test "a value of exactly 16 KiB is stored" {
	v=$(head -c 16384 /dev/zero | tr '\0' v)
	run req "$(set_req big "$v")" '{"op":"get","name":"big"}'
	assert_ok "${lines[0]}"
	[ "$(jget value "${lines[1]}")" = "$v" ]
}

@test "a value over 16 KiB is too_large, nothing is stored and the connection still serves" {
	v=$(head -c 16385 /dev/zero | tr '\0' v)
	run req "$(set_req big "$v" 1)" '{"op":"get","name":"big","id":2}'
	assert_error "${lines[0]}" too_large
	assert_json "${lines[0]}" id 1
	assert_error "${lines[1]}" not_found
	[[ "$output" != *vvvvvvvv* ]]
}

@test "a value with a newline, carriage return or NUL is invalid_value and is not stored" {
	run req '{"op":"set","name":"nl","value":"csk-test-a\nb"}' \
		'{"op":"set","name":"cr","value":"csk-test-a\rb"}' \
		'{"op":"set","name":"nul","value":"csk-test-a\u0000hidden"}' \
		'{"op":"set","name":"empty","value":""}' \
		'{"op":"list"}'
	for i in 0 1 2 3; do
		assert_error "${lines[$i]}" invalid_value
	done
	assert_json "${lines[4]}" keys '[]'
	[[ "$output" != *hidden* ]]
	[[ "$output" != *csk-test-a* ]]
}

@test "an invalid name is invalid_name for get, set and delete" {
	long=$(printf 'n%.0s' $(seq 1 129))
	run req '{"op":"get","name":"a/b","id":1}' \
		"$(set_req -leading-dash "$KEY1" 2)" \
		'{"op":"delete","name":"","id":3}' \
		"$(set_req "$long" "$KEY1" 4)" \
		"$(set_req 'sp ace' "$KEY1" 5)" \
		'{"op":"set","name":"ok","env":"lower","value":"csk-test-x","id":6}' \
		'{"op":"list"}'
	for i in 0 1 2 3 4 5; do
		assert_error "${lines[$i]}" invalid_name
		assert_json "${lines[$i]}" id $((i + 1))
	done
	assert_json "${lines[6]}" keys '[]'
	refute_secret "$output" "$KEY1"
}

@test "a name of 128 characters is valid" {
	name=$(printf 'n%.0s' $(seq 1 128))
	run req "$(set_req "$name" "$KEY1")" "{\"op\":\"get\",\"name\":\"$name\"}"
	assert_ok "${lines[0]}"
	assert_json "${lines[1]}" value "$KEY1"
}

@test "an unknown op is unknown_op with the id echoed" {
	run req '{"op":"frobnicate","id":42}' '{"op":"hello"}'
	assert_error "${lines[0]}" unknown_op
	assert_json "${lines[0]}" id 42
	assert_ok "${lines[1]}"
}

@test "two keys with one env name: the second set is conflict naming the first" {
	run req "$(set_req open-router "$KEY1" 1)" "$(set_req open.router "$KEY2" 2)" \
		'{"op":"set","name":"other","env":"OPEN_ROUTER_API_KEY","value":"csk-test-c","id":3}' \
		'{"op":"get","name":"open-router"}' '{"op":"get","name":"open.router"}'
	assert_ok "${lines[0]}"
	assert_error "${lines[1]}" conflict
	[[ "$(jget message "${lines[1]}")" == *open-router*OPEN_ROUTER_API_KEY* ]]
	assert_error "${lines[2]}" conflict
	[[ "$(jget message "${lines[2]}")" == *open-router* ]]
	assert_json "${lines[3]}" value "$KEY1"
	assert_error "${lines[4]}" not_found
	refute_secret "$output" "$KEY2"
}

@test "a key can move to a new env name and free the old one" {
	run req '{"op":"set","name":"a","env":"SHARED","value":"csk-test-a","env_confirmed":true}' \
		'{"op":"set","name":"a","env":"OTHER","value":"csk-test-a","env_confirmed":true}' \
		'{"op":"set","name":"b","env":"SHARED","value":"csk-test-b","env_confirmed":true}' \
		'{"op":"resolve","env":["SHARED","OTHER"]}'
	assert_ok "${lines[2]}"
	assert_json "${lines[3]}" values.SHARED csk-test-b
	assert_json "${lines[3]}" values.OTHER csk-test-a
}

@test "a half-closed socket still gets every reply, including a last line without newline" {
	run bash -c "printf '%s\n%s\n%s' '{\"op\":\"hello\",\"id\":1}' '$(set_req hc "$KEY1" 2)' \
		'{\"op\":\"get\",\"name\":\"hc\",\"id\":3}' |
		'$SOCKCAT' --half-close --timeout 5000 '$CCR_KEYD_SOCKET'"
	[ "$status" -eq 0 ] # ended at EOF: the daemon closed after the last reply
	[ "${#lines[@]}" -eq 3 ]
	assert_json "${lines[1]}" created true
	assert_json "${lines[2]}" value "$KEY1"
}

@test "a request sent one byte at a time is answered" {
	run bash -c "echo '{\"op\":\"hello\",\"id\":\"slow\"}' |
		'$SOCKCAT' --slow 3 --lines 1 '$CCR_KEYD_SOCKET'"
	assert_ok "$output"
	assert_json "$output" id slow
}

@test "CRLF line endings are accepted" {
	run bash -c "printf '{\"op\":\"hello\",\"id\":1}\r\n' |
		'$SOCKCAT' --half-close --lines 1 '$CCR_KEYD_SOCKET'"
	assert_ok "$output"
}

@test "error replies and the verbose log never contain the value that was sent" {
	stop_daemon "$KEYD_PID"
	start_daemon --verbose
	secret=csk-test-SECRETMARKER-0123456789
	run req "{\"op\":\"set\",\"name\":\"bad name\",\"value\":\"$secret\"}" \
		"{\"op\":\"set\",\"name\":\"x\",\"value\":\"$secret\n\"}" \
		"{\"op\":\"set\",\"name\":\"y\",\"value\":\"$secret\",\"extra\":[}" \
		"{\"op\":\"bogus\",\"value\":\"$secret\"}"
	[ "${#lines[@]}" -eq 4 ]
	[[ "$output" != *SECRETMARKER* ]]
	req "$(set_req good "$secret")" '{"op":"get","name":"good"}' '{"op":"delete","name":"good"}' \
		>/dev/null
	grep -q 'set good' "$KEYD_LOG" # the log does record changes
	[ "$(grep -c SECRETMARKER "$KEYD_LOG")" -eq 0 ]
}

@test "more than 256 connections: the next one gets busy and is closed" {
	held=$BATS_TEST_TMPDIR/held
	"$SOCKCAT" --hold 256 --timeout 20000 "$CCR_KEYD_SOCKET" >"$held" 2>&1 3>&- &
	holder=$!
	for i in $(seq 1 250); do
		[ -s "$held" ] && break
		sleep 0.02
	done
	[ "$(cat "$held")" = "held 256" ] || fail "$(cat "$held")"
	run bash -c "echo '{\"op\":\"hello\"}' | '$SOCKCAT' --timeout 5000 '$CCR_KEYD_SOCKET'"
	[ "$status" -eq 0 ] # closed by the daemon
	assert_error "$output" busy
	kill "$holder"
	wait "$holder" || true
	# Once the held connections are gone, new ones are served again.
	for i in $(seq 1 100); do
		run req '{"op":"hello"}'
		[[ "$output" == *'"ok":true'* ]] && break
		sleep 0.02
	done
	assert_ok "$output"
}

@test "an idle connection is closed after --connection-idle seconds" {
	stop_daemon "$KEYD_PID"
	start_daemon --connection-idle 1
	start=$(date +%s%N)
	run "$SOCKCAT" --hold 1 --timeout 5000 "$CCR_KEYD_SOCKET"
	elapsed=$((($(date +%s%N) - start) / 1000000))
	[ "$status" -eq 0 ] || fail "not closed within 5 s"
	[ "${lines[1]}" = closed ]
	[ "$elapsed" -ge 900 ] || fail "closed after $elapsed ms, before the idle limit"
}

@test "a connection that sends a request within every idle period stays open" {
	stop_daemon "$KEYD_PID"
	start_daemon --connection-idle 1
	# 12 requests of 18 bytes at one byte every 10 ms: a request every ~0.2 s, 2.2 s in all.
	run bash -c "yes '{\"op\":\"hello\"}' | head -n 12 |
		'$SOCKCAT' --slow 10 --lines 12 --timeout 6000 '$CCR_KEYD_SOCKET'"
	[ "$status" -eq 0 ] || fail "closed after ${#lines[@]} replies"
	[ "${#lines[@]}" -eq 12 ]
}

# big_keystore N: restart the daemon on a keystore of N keys, so that one list
# reply is about N * 130 bytes.
big_keystore() {
	stop_daemon "$KEYD_PID"
	write_keystore "{$(seq -w 1 "$1" |
		awk '{ printf "\"key-%s\":\"csk-test-%s-abcdefghijklmnopqrstuvwxyz\",", $1, $1 }')\"last\":\"csk-test-last-value-0123456789\"}"
	start_daemon
}

@test "a client that stops reading makes the daemon pause at about 1 MiB, not buffer it all" {
	big_keystore 200 # ~26 KB per list reply, 999 of them: ~26 MB of replies
	yes '{"op":"list"}' | head -n 999 >"$BATS_TEST_TMPDIR/reqs"
	rss() { awk '/^VmRSS:/ { print $2 }' "/proc/$KEYD_PID/status"; }
	before=$(rss)
	"$SOCKCAT" --delay 1500 --lines 999 --timeout 10000 "$CCR_KEYD_SOCKET" \
		<"$BATS_TEST_TMPDIR/reqs" >"$BATS_TEST_TMPDIR/out" 3>&- &
	client=$!
	sleep 1
	during=$(rss)
	wait "$client"
	[ "$(wc -l <"$BATS_TEST_TMPDIR/out")" -eq 999 ]
	[ $((during - before)) -lt 8192 ] || fail "RSS grew by $((during - before)) KiB"
}

# Replies handled while a paused session resumed were once never flushed: the
# last replies of a burst were lost unless the client half-closed.
@test "a pipelined burst whose replies exceed 1 MiB gets every reply, the last one included" {
	big_keystore 200
	{
		yes '{"op":"list"}' | head -n 300 # ~8 MB of replies
		echo '{"op":"hello","id":"last"}'
	} >"$BATS_TEST_TMPDIR/reqs"
	run "$SOCKCAT" --lines 301 --timeout 3000 "$CCR_KEYD_SOCKET" <"$BATS_TEST_TMPDIR/reqs"
	[ "$status" -eq 0 ] || fail "got ${#lines[@]} of 301 replies (sockcat status $status)"
	assert_json "${lines[300]}" id last
}

@test "values with quotes, backslashes, tabs, control and non-ASCII characters round-trip exactly" {
	# As JSON string literals, with the exact value each must come back as.
	lits=('csk-test-\"quoted\"' 'csk-test-back\\slash' 'csk-test-tab\there' 'csk-test-\u0001ctl'
		'csk-test-ünïcødé-ключ-🔑' 'csk-test-\u00e9\ud83d\udd11' 'csk-test-/\/slashes')
	want=('csk-test-"quoted"' 'csk-test-back\slash' $'csk-test-tab\there' $'csk-test-\x01ctl'
		'csk-test-ünïcødé-ключ-🔑' 'csk-test-é🔑' 'csk-test-//slashes')
	sets=() gets=()
	for i in "${!lits[@]}"; do
		sets+=("{\"op\":\"set\",\"name\":\"v$i\",\"value\":\"${lits[$i]}\"}")
		gets+=("{\"op\":\"get\",\"name\":\"v$i\"}")
	done
	run req "${sets[@]}"
	[ "$(grep -c '"ok":true' <<<"$output")" -eq "${#lits[@]}" ] || fail "$output"
	check() {
		local got i=0
		while IFS= read -r line; do
			got=$(jget value "$line")
			[ "$got" = "${want[$i]}" ] || fail "v$i: want '${want[$i]}', got '$got'"
			i=$((i + 1))
		done < <(req "${gets[@]}")
		[ "$i" -eq "${#want[@]}" ]
	}
	check
	stop_daemon "$KEYD_PID" # and back from the file
	start_daemon
	check
}

@test "ids are echoed exactly: strings with escapes, negative and fractional numbers" {
	run req '{"op":"hello","id":"a\"b\\c é"}' '{"op":"hello","id":-7}' '{"op":"hello","id":2.5}' \
		'{"op":"nope","id":"x"}'
	[ "$(jget id "${lines[0]}")" = 'a"b\c é' ]
	assert_json "${lines[1]}" id -7
	assert_json "${lines[2]}" id 2.5
	assert_json "${lines[3]}" id x
}

@test "list never shows more than a quarter of a key, nor over 4 characters a side" {
	sets=()
	for len in 1 3 4 7 8 15 16 24 31 32 33 64 200; do
		v=$(printf 'K%.0s' $(seq 1 "$len"))
		sets+=("{\"op\":\"set\",\"name\":\"len$len\",\"value\":\"$v\"}")
	done
	req "${sets[@]}" >/dev/null
	run req '{"op":"list"}'
	for len in 1 3 4 7 8 15 16 24 31 32 33 64 200; do
		masked=$(jget keys <<<"$output" | tr '{' '\n' | grep "\"len$len\"" |
			sed 's/.*"masked":"\([^"]*\)".*/\1/')
		shown=${masked//…/}
		[[ "$masked" == *…* ]] || fail "len $len: no ellipsis in '$masked'"
		[ "$((${#shown} * 4))" -le "$len" ] || fail "len $len: '$masked' shows too much"
		[ "${#shown}" -le 8 ] || fail "len $len: '$masked' shows over 4 a side"
	done
}

@test "deleting a key frees its env name for another key" {
	run req '{"op":"set","name":"a","env":"SHARED","value":"csk-test-a","env_confirmed":true}' \
		'{"op":"delete","name":"a"}' \
		'{"op":"set","name":"b","env":"SHARED","value":"csk-test-b","env_confirmed":true}' \
		'{"op":"resolve","env":"SHARED"}'
	assert_ok "${lines[2]}"
	assert_json "${lines[3]}" values.SHARED csk-test-b
}

@test "blank lines between requests are ignored" {
	run bash -c "printf '\n\n{\"op\":\"hello\",\"id\":1}\n\n\r\n{\"op\":\"hello\",\"id\":2}\n' |
		'$SOCKCAT' --half-close '$CCR_KEYD_SOCKET'"
	[ "${#lines[@]}" -eq 2 ]
	assert_json "${lines[0]}" id 1
	assert_json "${lines[1]}" id 2
}

@test "a set whose client hangs up before the reply is still stored" {
	# A 1 ms timeout: sockcat sends and closes long before the write is durable.
	"$SOCKCAT" --timeout 1 "$CCR_KEYD_SOCKET" <<<"$(set_req orphan "$KEY1")" || true
	# Up to 30 s: on a loaded machine one durable write alone can take seconds.
	for i in $(seq 1 1500); do
		run req '{"op":"get","name":"orphan"}'
		[[ "$output" == *'"ok":true'* ]] && break
		sleep 0.02
	done
	assert_json "$output" value "$KEY1"
	alive "$KEYD_PID"
}

@test "the audit log records each request with the peer's uid and pid, never a value" {
	stop_daemon "$KEYD_PID"
	start_daemon --audit-log "$BATS_TEST_TMPDIR/audit"
	secret=csk-test-AUDITMARKER-0123456789
	printf '%s\n' "$(set_req cerebras "$secret")" '{"op":"get","name":"cerebras"}' \
		'{"op":"resolve","env":["CEREBRAS_API_KEY"]}' "$(set_req 'bad name' "$secret")" |
		"$SOCKCAT" --half-close "$CCR_KEYD_SOCKET" >/dev/null 3>&- &
	client=$!
	wait "$client"
	# Past the hello with which start_daemon waited for the socket.
	audit=$(grep -v '"op":"hello"' "$BATS_TEST_TMPDIR/audit")
	[ "$(jget op <<<"$audit" | tr '\n' ' ')" = "set get resolve set " ] || fail "$audit"
	[ "$(jget pid <<<"$audit" | sort -u)" = "$client" ]
	[ "$(jget uid <<<"$audit" | sort -u)" = "$(id -u)" ]
	[ "$(jget result <<<"$audit" | tail -1)" = invalid_name ]
	[ "$(stat -c %a "$BATS_TEST_TMPDIR/audit")" = 600 ]
	[ "$(grep -c AUDITMARKER "$BATS_TEST_TMPDIR/audit")" -eq 0 ]
}
