#!/usr/bin/env bats
# ccr-config against a real ccr-keyd: output formats, masking, exit codes,
# key input, and auto-start.

load helpers
load tty

setup() {
	common_setup
}

teardown() {
	common_teardown
}

@test "set reads the key from stdin and says under which env name it is stored" {
	start_daemon
	run --separate-stderr "$CLI" set cerebras <<<"$KEY1"
	[ "$status" -eq 0 ]
	[ "$output" = 'stored cerebras (as $CEREBRAS_API_KEY)' ]
	[ "$(raw_value cerebras)" = "$KEY1" ]
}

@test "set drops exactly one trailing newline from stdin" {
	start_daemon
	printf '%s\r\n' "$KEY1" | "$CLI" set crlf >/dev/null
	printf '%s' "$KEY2" | "$CLI" set bare >/dev/null
	[ "$(raw_value crlf)" = "$KEY1" ]
	[ "$(raw_value bare)" = "$KEY2" ]
}

@test "set of an existing key says updated and replaces the value" {
	start_daemon
	set_key cerebras "$KEY1"
	run --separate-stderr "$CLI" set cerebras <<<"$KEY2"
	[ "$status" -eq 0 ]
	[ "$output" = 'updated cerebras (as $CEREBRAS_API_KEY)' ]
	[ "$(raw_value cerebras)" = "$KEY2" ]
}

@test "set maps a name with dots and dashes to an upper-case _API_KEY env name" {
	start_daemon
	run "$CLI" set open-router.eu <<<"$KEY1"
	[ "$status" -eq 0 ]
	[ "$output" = 'stored open-router.eu (as $OPEN_ROUTER_EU_API_KEY)' ]
	run "$CLI" set MY_TOKEN <<<"$KEY2"
	[ "$output" = 'stored MY_TOKEN (as $MY_TOKEN)' ]
}

# Options after NAME once went unparsed (getopt kept the global '+' mode) and were
# refused as a key on the command line; these four tests guard against that.
@test "set --env stores the key under the env name given" {
	start_daemon
	run "$CLI" set cerebras --env CEREBRAS_KEY_2 <<<"$KEY1"
	[ "$status" -eq 0 ]
	[ "$output" = 'stored cerebras (as $CEREBRAS_KEY_2)' ]
	run "$CLI" get cerebras
	[[ "$output" == "cerebras  CEREBRAS_KEY_2  csk-…f2a9  updated "* ]]
}

@test "set --env with an invalid env name is a usage error that stores nothing" {
	start_daemon
	run --separate-stderr "$CLI" set cerebras --env lower-case <<<"$KEY1"
	[ "$status" -eq 2 ]
	[[ "$stderr" == *"'lower-case' is not an env name"* ]]
	run "$CLI" get cerebras
	[ "$status" -eq 1 ]
}

@test "set --from-env takes the key from the named variable" {
	start_daemon
	CCR_TEST_SECRET=$KEY1 run --separate-stderr "$CLI" set cerebras --from-env CCR_TEST_SECRET
	[ "$status" -eq 0 ]
	[ "$output" = 'stored cerebras (as $CEREBRAS_API_KEY)' ]
	[ "$(raw_value cerebras)" = "$KEY1" ]
}

@test "set --from-env with an unset variable fails and stores nothing" {
	start_daemon
	unset CCR_TEST_UNSET
	run --separate-stderr "$CLI" set cerebras --from-env CCR_TEST_UNSET </dev/null
	[ "$status" -ne 0 ]
	[[ "$stderr" == *CCR_TEST_UNSET* ]]
	run "$CLI" get cerebras
	[ "$status" -eq 1 ]
}

@test "set refuses a value on the command line with exit 2 and never echoes it" {
	start_daemon
	run --separate-stderr "$CLI" set cerebras "$KEY1" </dev/null
	[ "$status" -eq 2 ]
	[[ "$stderr" == *"command line"* ]]
	refute_secret "$output$stderr" "$KEY1"
	run --separate-stderr "$CLI" set "cerebras=$KEY1" </dev/null
	[ "$status" -eq 2 ]
	refute_secret "$output$stderr" "$KEY1"
	run "$CLI" list --json
	[ "$(jget keys <<<"$output")" = '[]' ]
}

@test "set refuses empty input, a multi-line key and a key over 16 KiB, storing nothing" {
	start_daemon
	run "$CLI" set cerebras </dev/null
	[ "$status" -eq 2 ]
	run --separate-stderr "$CLI" set cerebras < <(printf '%s\n%s\n' "$KEY1" "$KEY2")
	[ "$status" -eq 2 ]
	refute_secret "$output$stderr" "$KEY1" "$KEY2"
	run "$CLI" set cerebras < <(head -c 16385 /dev/zero | tr '\0' k)
	[ "$status" -eq 2 ]
	run "$CLI" set big < <(head -c 16384 /dev/zero | tr '\0' k)
	[ "$status" -eq 0 ]
	run "$CLI" list --json
	[ "$(jget keys.0.name <<<"$output")" = big ]
	[ "$(jget keys.1 <<<"$output")" = "" ]
}

@test "get prints name, env name, masked key and update time on one line" {
	start_daemon
	set_key cerebras "$KEY1"
	iso=$(req '{"op":"get","name":"cerebras"}' | jget updated)
	run --separate-stderr "$CLI" get cerebras
	[ "$status" -eq 0 ]
	# TZ=UTC: the local time is the stored UTC time, to the minute.
	want="cerebras  CEREBRAS_API_KEY  csk-…f2a9  updated ${iso:0:10} ${iso:11:5}  bound to no origin"
	[ "$output" = "$want" ] || fail "want: $want" "got:  $output"
	[ -z "$stderr" ]
}

@test "get of a missing key exits 1 with a message on stderr only" {
	start_daemon
	run --separate-stderr "$CLI" get nosuch
	[ "$status" -eq 1 ]
	[ -z "$output" ]
	[[ "$stderr" == "ccr-config: no key named nosuch"* ]]
}

@test "get --json gives name, env, masked and updated but never the value" {
	start_daemon
	set_key cerebras "$KEY1"
	run --separate-stderr "$CLI" get cerebras --json
	[ "$status" -eq 0 ]
	assert_json "$output" name cerebras
	assert_json "$output" env CEREBRAS_API_KEY
	assert_json "$output" masked 'csk-…f2a9'
	[[ "$(jget updated "$output")" =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z$ ]]
	refute_json "$output" value
	refute_secret "$output" "$KEY1"
}

@test "list prints a NAME ENV KEY UPDATED ORIGINS table sorted by name with masked keys" {
	start_daemon
	set_key open-router "$KEY2"
	set_key cerebras "$KEY1"
	run --separate-stderr "$CLI" list
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 3 ]
	read -ra head <<<"${lines[0]}"
	[ "${head[*]}" = "NAME ENV KEY UPDATED ORIGINS" ]
	read -ra row <<<"${lines[1]}"
	[ "${row[0]} ${row[1]} ${row[2]}" = 'cerebras CEREBRAS_API_KEY csk-…f2a9' ]
	[[ "${row[3]} ${row[4]}" =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}\ [0-9]{2}:[0-9]{2}$ ]]
	[ "${row[5]}" = - ]
	read -ra row <<<"${lines[2]}"
	[ "${row[0]} ${row[1]} ${row[2]}" = 'open-router OPEN_ROUTER_API_KEY csk-…7b3c' ]
	# Columns line up: ENV starts at the same column in every line.
	col=$(awk '{ print index($0, $2) }' <<<"$output" | sort -u | wc -l)
	[ "$col" -eq 1 ]
	refute_secret "$output$stderr" "$KEY1" "$KEY2"
}

@test "list with no keys prints no table and says how to add one" {
	start_daemon
	run --separate-stderr "$CLI" list
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	[[ "$stderr" == *"ccr-config set"* ]]
}

@test "list --json gives every key masked with its env name and times" {
	start_daemon
	set_key cerebras "$KEY1"
	req '{"op":"set","name":"open-router","env":"OR_KEY","value":"'"$KEY2"'"}' >/dev/null
	run --separate-stderr "$CLI" --json list
	[ "$status" -eq 0 ]
	assert_json "$output" keys.0.name cerebras
	assert_json "$output" keys.0.masked 'csk-…f2a9'
	assert_json "$output" keys.1.env OR_KEY
	assert_json "$output" keys.1.masked 'csk-…7b3c'
	[ -n "$(jget keys.1.created "$output")" ]
	[ -n "$(jget keys.1.updated "$output")" ]
	refute_json "$output" keys.0.value
	refute_secret "$output" "$KEY1" "$KEY2"
}

@test "delete removes a key and a second delete exits 1" {
	start_daemon
	set_key cerebras "$KEY1"
	run --separate-stderr "$CLI" delete cerebras
	[ "$status" -eq 0 ]
	[ "$output" = "deleted cerebras" ]
	run "$CLI" get cerebras
	[ "$status" -eq 1 ]
	run --separate-stderr "$CLI" delete cerebras
	[ "$status" -eq 1 ]
	[[ "$stderr" == "ccr-config: "* ]]
}

@test "status shows the daemon pid, socket, keystore path and mode, and key count" {
	start_daemon
	set_key cerebras "$KEY1"
	run --separate-stderr "$CLI" status
	[ "$status" -eq 0 ]
	[[ "$output" == *"running (pid $KEYD_PID,"* ]]
	[[ "$output" == *"socket     $CCR_KEYD_SOCKET"* ]]
	[[ "$output" == *"keystore   $CCR_KEYS (mode 0600)"* ]]
	[[ "$output" == *"keys       1"* ]]
	[[ "$output" == *"locked     no"* ]]
}

@test "status --json reports pid, keys, keystore and locked" {
	start_daemon
	set_key cerebras "$KEY1"
	set_key groq "$KEY2"
	run --separate-stderr "$CLI" status --json
	[ "$status" -eq 0 ]
	assert_json "$output" pid "$KEYD_PID"
	assert_json "$output" keys 2
	assert_json "$output" keystore "$CCR_KEYS"
	assert_json "$output" locked false
	assert_json "$output" keystore_mode 0600
}

@test "no command prints a full key: set, get, list, delete, status, plain and --json" {
	start_daemon
	all=$(
		{
			"$CLI" set cerebras <<<"$KEY1"
			"$CLI" set groq <<<"$KEY2"
			"$CLI" set cerebras <<<"$KEY3"
			"$CLI" get cerebras
			"$CLI" --json get groq
			"$CLI" list
			"$CLI" list --json
			"$CLI" status
			"$CLI" status --json
			"$CLI" delete groq
			"$CLI" get groq || true
		} 2>&1
	)
	[[ "$all" == *"csk-…9d4e"* ]] # the outputs were really produced
	refute_secret "$all" "$KEY1" "$KEY2" "$KEY3"
}

@test "exit code 2 for usage errors: unknown command, missing or invalid name" {
	run "$CLI" frobnicate
	[ "$status" -eq 2 ]
	run "$CLI" get
	[ "$status" -eq 2 ]
	run "$CLI" get 'bad/name'
	[ "$status" -eq 2 ]
	run "$CLI" delete -x
	[ "$status" -eq 2 ]
	run "$CLI"
	[ "$status" -eq 2 ]
}

@test "exit code 3 and advice when the daemon is not running and auto-start is off" {
	run --separate-stderr "$CLI" get cerebras
	[ "$status" -eq 3 ]
	[[ "$stderr" == "ccr-config: "*"not running"*"ccr-keyd"* ]]
	run "$CLI" list
	[ "$status" -eq 3 ]
	[ ! -e "$CCR_KEYD_SOCKET" ]
}

@test "exit code 5 for a conflict, naming the key that holds the env name" {
	start_daemon
	req '{"op":"set","name":"first","env":"CEREBRAS_API_KEY","value":"'"$KEY1"'"}' >/dev/null
	run --separate-stderr "$CLI" set cerebras <<<"$KEY2"
	[ "$status" -eq 5 ]
	[[ "$stderr" == "ccr-config: "*first*CEREBRAS_API_KEY* ]]
	refute_secret "$output$stderr" "$KEY2"
	run "$CLI" get cerebras
	[ "$status" -eq 1 ]
}

@test "status never starts the daemon, even with auto-start allowed" {
	unset CCR_KEYD_NO_AUTOSTART
	run "$CLI" status
	[ "$status" -eq 3 ]
	sleep 0.1
	[ ! -e "$CCR_KEYD_SOCKET" ]
	[ -z "$(pids_with_arg "$CCR_KEYD_SOCKET")" ]
}

@test "auto-start: a client with no daemon running starts one and is served" {
	unset CCR_KEYD_NO_AUTOSTART
	run --separate-stderr "$CLI" set cerebras <<<"$KEY1"
	pids=$(pids_with_arg "$CCR_KEYD_SOCKET")
	DETACHED_PIDS+=($pids)
	[ "$status" -eq 0 ] || fail "set failed: $stderr"
	[ "$output" = 'stored cerebras (as $CEREBRAS_API_KEY)' ]
	[ "$(wc -w <<<"$pids")" -eq 1 ]
	run "$CLI" status --json
	assert_json "$output" pid "$pids"
	assert_json "$output" started "by the client"
	# A daemon it started detaches and logs to $CCR_HOME/keyd.log.
	grep -q "serving 0 keys from $CCR_KEYS on $CCR_KEYD_SOCKET" "$CCR_HOME/keyd.log"
}

@test "auto-start: five clients started at once start exactly one daemon" {
	unset CCR_KEYD_NO_AUTOSTART
	clients=()
	for i in 1 2 3 4 5; do
		printf 'csk-test-concurrent-autostart-%02d\n' "$i" |
			"$CLI" set "key$i" >"$BATS_TEST_TMPDIR/out$i" 2>&1 3>&- &
		clients+=($!)
	done
	failed=0
	for pid in "${clients[@]}"; do
		wait "$pid" || failed=$((failed + 1))
	done
	pids=$(pids_with_arg "$CCR_KEYD_SOCKET")
	DETACHED_PIDS+=($pids)
	[ "$failed" -eq 0 ] || fail "$failed clients failed:" "$(cat "$BATS_TEST_TMPDIR"/out*)"
	[ "$(wc -w <<<"$pids")" -eq 1 ] || fail "daemons running: $pids"
	[ "$(grep -c 'serving' "$CCR_HOME/keyd.log")" -eq 1 ]
	run "$CLI" status --json
	assert_json "$output" keys 5
}

@test "auto-start honours CCR_KEYD_BIN and reports a daemon that cannot start" {
	unset CCR_KEYD_NO_AUTOSTART
	export CCR_KEYD_BIN=/bin/false
	run --separate-stderr "$CLI" get cerebras
	[ "$status" -eq 3 ]
	[[ "$stderr" == "ccr-config: "*"could not be started"* ]]
}

@test "set on a terminal prompts for the key with echo off" {
	start_daemon
	# script gives ccr-config a terminal; the key is typed once the prompt is up.
	run on_tty "$CLI set typed" "Key for typed: " "$KEY1"
	[ "$status" -eq 0 ]
	[[ "$output" == "Key for typed: "* ]]
	[[ "$output" == *'stored typed (as $TYPED_API_KEY)'* ]]
	refute_secret "$output" "$KEY1"
	[ "$(raw_value typed)" = "$KEY1" ]
}

@test "--socket takes precedence over CCR_KEYD_SOCKET" {
	start_daemon
	real=$CCR_KEYD_SOCKET
	export CCR_KEYD_SOCKET=$BATS_TEST_TMPDIR/nowhere/sock
	run "$CLI" --socket "$real" set cerebras <<<"$KEY1"
	[ "$status" -eq 0 ]
	run "$CLI" get cerebras
	[ "$status" -eq 3 ]
}

@test "auto-start replaces the stale socket of a daemon that was killed" {
	start_daemon
	set_key cerebras "$KEY1"
	kill9_daemon "$KEYD_PID"
	[ -S "$CCR_KEYD_SOCKET" ]
	unset CCR_KEYD_NO_AUTOSTART
	run --separate-stderr "$CLI" get cerebras
	DETACHED_PIDS+=($(pids_with_arg "$CCR_KEYD_SOCKET"))
	[ "$status" -eq 0 ] || fail "$stderr"
	[[ "$output" == "cerebras  CEREBRAS_API_KEY  csk-…f2a9  updated "* ]]
}

@test "auto-start with an invalid keystore exits 3 and passes on the daemon's reason" {
	write_keystore 'not json'
	unset CCR_KEYD_NO_AUTOSTART
	run --separate-stderr "$CLI" list
	DETACHED_PIDS+=($(pids_with_arg "$CCR_KEYD_SOCKET"))
	[ "$status" -eq 3 ]
	[[ "$stderr" == *"$CCR_KEYS"*"not valid"* ]]
	[[ "$stderr" == *"ccr-config: "*"could not be started"* ]]
	[ "$(cat "$CCR_KEYS")" = 'not json' ]
}

@test "get masks a key of quotes, backslashes and non-ASCII without leaking it" {
	start_daemon
	odd='csk-"test"\\back\\slash-ünï-ключ-🔑-tail9z'
	req "{\"op\":\"set\",\"name\":\"odd\",\"value\":\"${odd//\"/\\\"}\"}" >/dev/null
	run --separate-stderr "$CLI" get odd
	[ "$status" -eq 0 ]
	[[ "$output" == "odd  ODD_API_KEY  "*"…"*"  updated "* ]]
	[[ "$output" != *ключ* ]]
	[[ "$output" != *back* ]]
}

# Run as another user that /etc/passwd knows (nobody): as ourselves the client
# would ask the user's own daemon in the user's own home.
@test "without HOME or CCR_HOME the client takes the home directory from /etc/passwd" {
	[ "$(id -u)" -eq 0 ] || skip "needs root to run the client as a user other than you"
	command -v setpriv >/dev/null || skip "needs setpriv (util-linux)"
	read -r uid home < <(awk -F: -v me="$(id -u)" \
		'$3 != me && $3 > 0 && $6 != "" { print $3, $6; exit }' /etc/passwd)
	[ -n "$home" ] || skip "no other user in /etc/passwd"
	run --separate-stderr env -u HOME -u CCR_HOME -u CCR_KEYD_SOCKET -u XDG_RUNTIME_DIR \
		setpriv --reuid="$uid" --regid="$uid" --clear-groups -- "$CLI" status
	[ "$status" -eq 3 ] || fail "exit $status: $stderr"
	[[ "$stderr" == *"no answer on $home/.claude-code-router/keyd.sock"* ]] || fail "$stderr"
}

# The client is a static PIE: glibc's getpwuid there would load an NSS module
# (nsswitch.conf: files systemd) for a uid /etc/passwd lacks, and crash.
@test "without HOME a uid /etc/passwd does not know is told to set HOME, not crashed" {
	[ "$(id -u)" -eq 0 ] || skip "needs root to run the client as another uid"
	command -v setpriv >/dev/null || skip "needs setpriv (util-linux)"
	uid=54321
	while awk -F: -v u="$uid" '$3 == u { found = 1 } END { exit !found }' /etc/passwd; do
		uid=$((uid + 1))
	done
	run --separate-stderr env -u HOME -u CCR_HOME -u CCR_KEYD_SOCKET -u XDG_RUNTIME_DIR \
		setpriv --reuid="$uid" --regid="$uid" --clear-groups -- "$CLI" status
	[ "$status" -eq 5 ]
	[ "$stderr" = "ccr-config: cannot find the home directory; set HOME or CCR_HOME" ]
}
