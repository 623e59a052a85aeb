#!/usr/bin/env bats
# Daily use of ccr-config: a key by its env name, did-you-mean for
# commands and keys, -v and version, a key on the command line refused with how
# to clear the shell's history, white space around a key removed and said,
# errors as JSON with --json, status before the keystore exists, passphrase
# change --stdin's two lines, and --help that explains every option.

load helpers

setup() {
	common_setup
}

teardown() {
	common_teardown
}

# commands: the commands ccr-config --help lists.
commands() {
	"$CLI" --help | awk '/^commands:/ { on = 1; next } /^$/ { on = 0 } on && /^  [a-z]/ { print $1 }'
}

@test "get, set and delete take a key's env name where they take its name" {
	start_daemon
	set_key cerebras "$KEY1"
	run --separate-stderr "$CLI" get CEREBRAS_API_KEY
	[ "$status" -eq 0 ] || fail "$stderr"
	[[ "$output" == "cerebras  CEREBRAS_API_KEY  csk-…f2a9  updated "* ]] || fail "$output"
	run --separate-stderr "$CLI" --json get CEREBRAS_API_KEY
	assert_json "$output" name cerebras
	run --separate-stderr "$CLI" set CEREBRAS_API_KEY <<<"$KEY2"
	[ "$status" -eq 0 ] || fail "$stderr"
	[ "$output" = 'updated cerebras (as $CEREBRAS_API_KEY)' ] || fail "$output"
	[ "$(raw_value cerebras)" = "$KEY2" ]
	refute_json "$(req '{"op":"get","name":"CEREBRAS_API_KEY"}')" value
	run --separate-stderr "$CLI" delete CEREBRAS_API_KEY </dev/null
	[ "$status" -eq 0 ] && [ "$output" = "deleted cerebras" ] || fail "$status: $output $stderr"
	run "$CLI" --json list
	assert_json "$output" keys '[]'
}

@test "a name that is a key's name wins over another key's env name" {
	start_daemon
	set_confirmed first "$KEY1" SECOND
	req '{"op":"set","name":"SECOND","env":"OTHER_ENV","value":"'"$KEY2"'","env_confirmed":true}' >/dev/null
	run "$CLI" get SECOND
	[[ "$output" == "SECOND  OTHER_ENV  "* ]] || fail "$output"
}

@test "a mistyped command names the nearest commands, and help does too" {
	run --separate-stderr "$CLI" lsit
	[ "$status" -eq 2 ] && [ "$stderr" = "ccr-config: unknown command 'lsit'; did you mean 'list'?" ] ||
		fail "$status: $stderr"
	run --separate-stderr "$CLI" stauts
	[[ "$stderr" == *"did you mean 'status'?" ]] || fail "$stderr"
	run --separate-stderr "$CLI" imprt env
	[[ "$stderr" == *"did you mean 'import'?" ]] || fail "$stderr"
	run --separate-stderr "$CLI" help delte
	[ "$status" -eq 2 ] && [[ "$stderr" == *"did you mean 'delete'?" ]] || fail "$stderr"
	# Nothing near: no guess, the list of commands instead.
	run --separate-stderr "$CLI" frobnicate
	[ "$status" -eq 2 ] && [[ "$stderr" != *"did you mean"* && "$stderr" == *"commands:"* ]] ||
		fail "$stderr"
}

@test "a mistyped key name names the nearest names and env names, one per key" {
	start_daemon
	set_key cerebras "$KEY1"
	set_key groq "$KEY2"
	run --separate-stderr "$CLI" get cerebra
	[ "$status" -eq 1 ] && [ "$stderr" = "ccr-config: no key named cerebra (did you mean 'cerebras'?); list them with: ccr-config list" ] ||
		fail "$status: $stderr"
	run --separate-stderr "$CLI" get CEREBRAS_APIKEY
	[[ "$stderr" == *"(did you mean 'CEREBRAS_API_KEY'?)"* ]] || fail "$stderr"
	run --separate-stderr "$CLI" get Groq
	[[ "$stderr" == *"(did you mean 'groq'?)"* ]] || fail "$stderr"
	run --separate-stderr "$CLI" delete groqq </dev/null
	[ "$status" -eq 1 ] && [[ "$stderr" == *"(did you mean 'groq'?); nothing deleted" ]] || fail "$stderr"
	run --separate-stderr "$CLI" get zzzz
	[ "$status" -eq 1 ] && [[ "$stderr" != *"did you mean"* ]] || fail "$stderr"
	run "$CLI" --json list
	assert_json "$output" keys.1.name groq
}

@test "-v, -V, --version and version print the same version line" {
	want=$("$CLI" --version)
	[[ "$want" =~ ^ccr-config\ [0-9]+\.[0-9]+\.[0-9]+ ]] || fail "$want"
	[ "$("$CLI" -v)" = "$want" ]
	[ "$("$CLI" -V)" = "$want" ]
	[ "$("$CLI" version)" = "$want" ]
	assert_json "$("$CLI" --json version)" version "${want#ccr-config }"
}

@test "set NAME VALUE and NAME=VALUE are refused with how to clear the shell's history, never echoing the key" {
	start_daemon
	for args in "cerebras $KEY1" "cerebras=$KEY1" "cerebras --env CEREBRAS_API_KEY $KEY1"; do
		# shellcheck disable=SC2086 # split on purpose: the arguments as typed
		run --separate-stderr "$CLI" set $args </dev/null
		[ "$status" -eq 2 ] || fail "$args: $status"
		refute_secret "$output$stderr" "$KEY1"
		[[ "$stderr" == "ccr-config: refusing to take a key from the command line; nothing stored."* ]] ||
			fail "$stderr"
		[[ "$stderr" == *"bash: history -d N"*"history -w"* ]] || fail "no bash: $stderr"
		[[ "$stderr" == *"zsh:  end this shell with: unset HISTFILE; exit"* ]] || fail "no zsh: $stderr"
		[[ "$stderr" == *"fish: history delete --contains 'config set'"* ]] || fail "no fish: $stderr"
		[[ "$stderr" == *"ccr-config set cerebras  (it asks without echo)"* ]] || fail "$stderr"
	done
	# The key first: it is a valid name too, and must not be offered back as one.
	run --separate-stderr "$CLI" set "$KEY1" cerebras </dev/null
	[ "$status" -eq 2 ] || fail "key first: $status"
	refute_secret "$output$stderr" "$KEY1"
	[[ "$stderr" == *"ccr-config set NAME  (it asks without echo)"* ]] || fail "$stderr"
	run "$CLI" --json list
	assert_json "$output" keys '[]'
}

@test "white space around a key is removed before it is stored, and said, never the key" {
	start_daemon
	run --separate-stderr "$CLI" set cerebras < <(printf '  %s\t\n' "$KEY1")
	[ "$status" -eq 0 ] || fail "$stderr"
	[ "$stderr" = "ccr-config: warning: removed 2 white-space characters from the start of the key and 1 from its end before storing it (a bad paste?)" ] ||
		fail "$stderr"
	refute_secret "$output$stderr" "$KEY1"
	[ "$(raw_value cerebras)" = "$KEY1" ]
	PASTED="$KEY2 " run --separate-stderr "$CLI" set groq --from-env PASTED
	[ "$stderr" = "ccr-config: warning: removed 1 white-space character from the end of the key before storing it (a bad paste?)" ] ||
		fail "$stderr"
	[ "$(raw_value groq)" = "$KEY2" ]
	# A key as it should be: not a word about it.
	run --separate-stderr "$CLI" set other <<<"$KEY3"
	[ -z "$stderr" ] || fail "$stderr"
	# Only white space: no key.
	run --separate-stderr "$CLI" set blank < <(printf ' \t \n')
	[ "$status" -eq 2 ] && [[ "$stderr" == *"no key given; nothing stored" ]] || fail "$stderr"
	run --separate-stderr "$CLI" get blank
	[ "$status" -eq 1 ]
}

@test "--json: an error is one JSON object on stdout, with the exit code it has without" {
	# check CODE NAME ARGS...: ccr-config --json ARGS exits CODE with error NAME on stdout only.
	check() {
		local code=$1 name=$2
		shift 2
		run --separate-stderr "$CLI" --json "$@" <<<"$KEY3"
		[ "$status" -eq "$code" ] || fail "$*: exit $status, not $code"
		[ -z "$stderr" ] || fail "$*: stderr: $stderr"
		[ "${#lines[@]}" -eq 1 ] || fail "$*: $output"
		assert_error "$output" "$name"
	}
	check 3 unreachable get cerebras
	start_daemon
	set_key cerebras "$KEY1"
	req '{"op":"set","name":"first","env":"GROQ_API_KEY","value":"'"$KEY2"'"}' >/dev/null
	check 2 usage frobnicate
	check 2 usage
	check 2 usage get
	check 2 usage set cerebras --bogus
	check 1 not_found get nosuch
	check 1 not_found delete nosuch
	check 5 conflict set groq
	check 2 usage set "cerebras=$KEY1"
	refute_secret "$output" "$KEY1"
	[[ "$(jget message "$output")" == *"history"* ]] || fail "$output"
	# --json after the command works the same.
	run --separate-stderr "$CLI" get nosuch --json
	[ "$status" -eq 1 ] || fail "exit $status: $output"
	assert_error "$output" not_found
	# Success: the command's own document, with "ok":true.
	for args in "get cerebras" "list" "status" "version"; do
		# shellcheck disable=SC2086
		assert_json "$("$CLI" --json $args)" ok true
	done
	assert_json "$("$CLI" --json set groq2 <<<"$KEY3")" created true
	assert_json "$("$CLI" --json delete groq2)" deleted groq2
}

@test "status says the keystore is not created yet, and its mode once it is" {
	start_daemon
	run --separate-stderr "$CLI" status
	[[ "$output" == *"keystore   $CCR_KEYS (not created yet: the first set creates it)"* ]] ||
		fail "$output"
	[[ "$output" != *missing* ]] || fail "$output"
	run "$CLI" --json status
	assert_json "$output" keystore_exists false
	assert_json "$output" keystore_mode null
	set_key cerebras "$KEY1"
	run "$CLI" status
	[[ "$output" == *"keystore   $CCR_KEYS (mode 0600)"* ]] || fail "$output"
	assert_json "$("$CLI" --json status)" keystore_exists true
}

@test "passphrase change --stdin reads two lines, current then new, and says which is missing" {
	export CCR_KEYD_TEST_FAST_KDF=1 CCR_KEYD_TEST_DELAY_SCALE=0.004
	use_test_build
	start_daemon
	set_key cerebras "$KEY1"
	printf 'pw-test-one\n' | "$CLI" passphrase set --stdin >/dev/null
	run --separate-stderr "$CLI" passphrase change --stdin </dev/null
	[ "$status" -eq 2 ] || fail "$status: $stderr"
	[ "$stderr" = "ccr-config: passphrase change --stdin reads two lines, the current passphrase and then the new one: stdin is empty; nothing changed" ] ||
		fail "$stderr"
	run --separate-stderr "$CLI" passphrase change --stdin <<<"pw-test-one"
	[ "$status" -eq 2 ] || fail "$status: $stderr"
	[ "$stderr" = "ccr-config: passphrase change --stdin reads two lines, the current passphrase and then the new one: the second line, the new passphrase, is missing; nothing changed" ] ||
		fail "$stderr"
	run --separate-stderr "$CLI" passphrase set --stdin </dev/null
	[[ "$stderr" == *"passphrase set --stdin reads one line, the new passphrase: stdin is empty"* ]] ||
		fail "$stderr"
	run --separate-stderr "$CLI" passphrase change --stdin < <(printf '%s\n' pw-test-one pw-test-two)
	[ "$status" -eq 0 ] || fail "$status: $stderr"
	"$CLI" lock >/dev/null
	run --separate-stderr "$CLI" unlock --stdin <<<"pw-test-two"
	[ "$status" -eq 0 ] || fail "the new passphrase does not unlock: $stderr"
}

@test "every command's --help explains each of its options in a line and shows an example" {
	local c help o
	[ "$(commands | wc -l)" -gt 10 ] || fail "the command list read from --help is short:" "$(commands)"
	for c in $(commands); do
		help=$("$CLI" "$c" --help) || fail "$c --help failed"
		[[ "$help" == "usage: ccr-config $c"* ]] || fail "$c: $help"
		# Every --option of the usage line has its own line under options:.
		for o in $(head -1 <<<"$help" | grep -oE -- '--[a-z][a-z-]+'); do
			sed -n '/^options:/,/^$/p' <<<"$help" | grep -qE -- "^  (-[a-zA-Z], |    )$o( [A-Z,]+)?  +[a-z]" ||
				fail "$c --help does not explain $o:" "$help"
		done
		sed -n '/^options:/,/^$/p' <<<"$help" | grep -qE -- '^  -h, --help +show this help' ||
			fail "$c: no --help line"
		sed -n '/^example:/,$p' <<<"$help" | grep -qE '^  .*ccr-config' || fail "$c: no example:" "$help"
		# ccr-config help CMD says the same.
		[ "$("$CLI" help "$c")" = "$help" ] || fail "help $c differs"
	done
}

@test "status shows when unlock --for and --lock-after will lock the keystore" {
	export CCR_KEYD_TEST_FAST_KDF=1 CCR_KEYD_TEST_DELAY_SCALE=0.004
	use_test_build
	start_daemon --lock-after 30m
	set_key cerebras "$KEY1"
	printf 'pw-test-one\n' | "$CLI" passphrase set --stdin >/dev/null
	# Unlocked with no --for: only the idle lock applies.
	run "$CLI" status
	[[ "$output" != *"locks      "* ]] || fail "$output"
	grep -qE '^idle lock  at [0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}, in (29m[0-5][0-9]s|30m0s), unless a request comes first \(ccr-keyd --lock-after\)$' <<<"$output" ||
		fail "$output"
	"$CLI" lock >/dev/null
	printf 'pw-test-one\n' | "$CLI" unlock --stdin --for 2h
	run "$CLI" status
	grep -qE '^locks      at [0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}, in (1h59m|2h0m) \(unlock --for\)$' <<<"$output" ||
		fail "$output"
	# The time is the local one, to the minute (TZ=UTC here): the daemon's deadline.
	at=$(sed -nE 's/^locks      at ([^,]+),.*/\1/p' <<<"$output")
	want=$(date -u -d "@$(($(date +%s) + 7200))" '+%Y-%m-%d %H:%M')
	early=$(date -u -d "@$(($(date +%s) + 7140))" '+%Y-%m-%d %H:%M')
	[ "$at" = "$want" ] || [ "$at" = "$early" ] || fail "locks at $at, not about $want"
	run "$CLI" --json status
	[[ "$(jget expires_at "$output")" =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z$ ]] || fail "$output"
	[[ "$(jget idle_lock_at "$output")" =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z$ ]] || fail "$output"
	# Locked: nothing will lock it.
	"$CLI" lock >/dev/null
	run "$CLI" status
	[[ "$output" == *"locked     yes"* && "$output" != *"lock  "* && "$output" != *"locks "* ]] ||
		fail "$output"
	refute_json "$("$CLI" --json status)" expires_at
}

@test "a second daemon on the keystore names the first one's pid and socket, and how to reach it" {
	start_daemon
	other=$BATS_TEST_TMPDIR/run2/sock
	mkdir -m 700 "$BATS_TEST_TMPDIR/run2"
	run --separate-stderr timeout 5 "$KEYD" --socket "$other"
	[ "$status" -eq 1 ] || fail "$status: $stderr"
	[[ "$stderr" == "ccr-keyd: another ccr-keyd already serves $CCR_KEYS (pid $KEYD_PID, on $CCR_KEYD_SOCKET), not on the socket this one would use: the two were started with different XDG_RUNTIME_DIR or CCR_KEYD_SOCKET;"* ]] ||
		fail "$stderr"
	[[ "$stderr" == *"use it (ccr-config --socket $CCR_KEYD_SOCKET ..., or CCR_KEYD_SOCKET=$CCR_KEYD_SOCKET), stop it (kill $KEYD_PID), or use another --keys" ]] ||
		fail "$stderr"
	# A client in a shell whose socket is elsewhere passes the reason on when it cannot start one.
	unset CCR_KEYD_NO_AUTOSTART
	CCR_KEYD_BIN=$KEYD CCR_KEYD_SOCKET=$other run --separate-stderr "$CLI" list
	[ "$status" -eq 3 ] && [[ "$stderr" == *"(pid $KEYD_PID, on $CCR_KEYD_SOCKET)"* ]] || fail "$stderr"
	[ -z "$(pids_with_arg "$other")" ] || fail "a second daemon runs"
	# Once the first is gone, the next one starts and the lock file names it instead.
	kill9_daemon "$KEYD_PID"
	start_daemon --socket "$other"
	[ "$(cat "$CCR_KEYS.lock")" = "$KEYD_PID"$'\n'"$other" ] || fail "$(cat "$CCR_KEYS.lock")"
}

@test "unlock reads a piped passphrase as --stdin does, from a pipe or a file" {
	export CCR_KEYD_TEST_FAST_KDF=1 CCR_KEYD_TEST_DELAY_SCALE=0.004
	use_test_build
	start_daemon
	set_key cerebras "$KEY1"
	printf 'pw-test-one\n' | "$CLI" passphrase set --stdin >/dev/null
	"$CLI" lock >/dev/null
	run --separate-stderr bash -c 'echo pw-test-one | "$1" unlock' _ "$CLI"
	[ "$status" -eq 0 ] || fail "a piped passphrase: $status: $stderr"
	assert_json "$(req '{"op":"hello"}')" locked false
	"$CLI" lock >/dev/null
	printf 'pw-test-one\n' >"$BATS_TEST_TMPDIR/pass"
	run --separate-stderr "$CLI" unlock <"$BATS_TEST_TMPDIR/pass"
	[ "$status" -eq 0 ] || fail "a passphrase from a file: $status: $stderr"
	assert_json "$(req '{"op":"hello"}')" locked false
	"$CLI" lock >/dev/null
	# A wrong one piped in gets one try, as with --stdin.
	run --separate-stderr bash -c 'echo pw-test-wrong | "$1" unlock' _ "$CLI"
	[ "$status" -eq 4 ] && [[ "$stderr" != *"try again"* ]] || fail "$status: $stderr"
}

@test "the first set on a terminal says once what passphrase set protects against and costs" {
	load tty
	start_daemon
	run on_tty "$CLI set cerebras" "Key for cerebras: " "$KEY1"
	[ "$status" -eq 0 ] || fail "$status: $output"
	[ "$(grep -c 'passphrase set seals it' <<<"$output")" -eq 1 ] || fail "$output"
	[[ "$output" == *"The cost: after each login or lock you type it (ccr-config unlock)"* ]] || fail "$output"
	refute_secret "$output" "$KEY1"
	# The second key, a pipe, or a sealed keystore: not a word.
	run on_tty "$CLI set groq" "Key for groq: " "$KEY2"
	[[ "$output" != *"passphrase set"* ]] || fail "$output"
	"$CLI" delete groq </dev/null >/dev/null
	"$CLI" delete cerebras </dev/null >/dev/null
	run --separate-stderr "$CLI" set cerebras <<<"$KEY1"
	[[ "$output$stderr" != *"passphrase set"* ]] || fail "$output $stderr"
}
