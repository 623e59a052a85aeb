#!/usr/bin/env bats
# ccr-config check against a real ccr-keyd: where the router gets each name its
# config references, exit codes, the router-exposure warnings, --json, a daemon
# that is down or locked, and never a value in any output.

load helpers

setup() {
	common_setup
	# The router reads $HOME/.claude-code-router: keep CCR_HOME there, so that
	# only the test about a different CCR_HOME sees that warning.
	export HOME=$BATS_TEST_TMPDIR/h
	export CCR_HOME=$HOME/.claude-code-router
	export CCR_KEYS=$CCR_HOME/keys
	mkdir -p "$CCR_HOME"
	unset CEREBRAS_API_KEY GROQ_API_KEY OPENAI_API_KEY MISTRAL_API_KEY CUSTOM_TOKEN LVL CCR_APIKEY
}

teardown() {
	common_teardown
}

# A config that exposes nothing: the names' lines are all check prints.
QUIET="APIKEY: 'csk-test-router-client-key', LOG_LEVEL: 'info'"

# config TEXT: write TEXT as $CCR_HOME/config.json.
config() {
	printf '%s\n' "$1" >"$CCR_HOME/config.json"
}

# config_refs NAME...: a quiet config whose providers reference each $NAME.
config_refs() {
	local p="" n
	for n in "$@"; do
		p+="{name: '${n,,}', api_base_url: 'http://127.0.0.1:9/v1/chat/completions', "
		p+="api_key: '\$$n', models: ['m']},"
	done
	config "{$QUIET, Providers: [$p]}"
}

# line NAME: the line check printed for NAME.
line() {
	grep -E "^$1 " <<<"$output"
}

# assert_line NAME TEXT: check printed "NAME  TEXT" (columns padded).
assert_line() {
	local got
	got=$(line "$1" | sed -E 's/^[^ ]+ +//')
	[ "$got" = "$2" ] || fail "expected '$1  $2' in:" "$output" "got '$got'"
}

@test "a name only the keystore holds comes from the keystore, under its key name" {
	start_daemon
	config_refs CEREBRAS_API_KEY
	set_key cerebras "$KEY1"
	run --separate-stderr "$CLI" check
	[ "$status" -eq 0 ]
	assert_line CEREBRAS_API_KEY "keystore (cerebras), bound to http://127.0.0.1:9"
	[ -z "$stderr" ] || fail "unexpected stderr: $stderr"
}

@test "a key stored with --env is found by that env name and named by its key name" {
	start_daemon
	set_key my-token "$KEY1" --env CUSTOM_TOKEN
	config "{$QUIET, Providers: [{name: 'x', api_key: '\${CUSTOM_TOKEN}'}]}"
	run --separate-stderr "$CLI" check
	[ "$status" -eq 0 ]
	assert_line CUSTOM_TOKEN "keystore (my-token), bound to no origin"
}

@test "a name only the environment holds comes from the environment" {
	start_daemon
	config_refs GROQ_API_KEY
	GROQ_API_KEY=$KEY2 run --separate-stderr "$CLI" check
	[ "$status" -eq 0 ]
	assert_line GROQ_API_KEY "environment"
}

@test "a name in both says the keystore wins and whether the values differ" {
	start_daemon
	set_key cerebras "$KEY1"
	set_key openai "$KEY3"
	config_refs CEREBRAS_API_KEY OPENAI_API_KEY
	CEREBRAS_API_KEY=$KEY2 OPENAI_API_KEY=$KEY3 run --separate-stderr "$CLI" check
	[ "$status" -eq 0 ]
	assert_line CEREBRAS_API_KEY "both (keystore wins; the values differ), bound to no origin"
	assert_line OPENAI_API_KEY "both (keystore wins; same value), bound to no origin"
}

@test "a name found nowhere is MISSING and makes check exit 1, after every line" {
	start_daemon
	set_key cerebras "$KEY1"
	config_refs MISTRAL_API_KEY CEREBRAS_API_KEY
	run --separate-stderr "$CLI" check
	[ "$status" -eq 1 ]
	assert_line MISTRAL_API_KEY "MISSING"
	assert_line CEREBRAS_API_KEY "keystore (cerebras), bound to no origin"
	[ "$(wc -l <<<"$output")" -eq 2 ]
}

@test "an empty environment variable counts as missing, as the router's || does" {
	start_daemon
	config_refs GROQ_API_KEY
	GROQ_API_KEY= run --separate-stderr "$CLI" check
	[ "$status" -eq 1 ]
	assert_line GROQ_API_KEY "MISSING"
}

@test "a braced name that is no env name is reported as environment only" {
	start_daemon
	config "{$QUIET, Providers: [{name: 'x', api_key: '\${my-key}'}]}"
	run --separate-stderr env 'my-key=csk-test-weird' "$CLI" check
	[ "$status" -eq 0 ]
	[[ "$output" == '${my-key}  environment only (no keystore entry can have this name)' ]] ||
		fail "$output"
	run --separate-stderr "$CLI" check
	[ "$status" -eq 1 ]
	[[ "$output" == '${my-key}  MISSING (environment only'* ]] || fail "$output"
}

@test "no output of check ever holds a value, in text or --json, whatever the source" {
	local all
	start_daemon
	set_key cerebras "$KEY1"
	set_key groq "$KEY2"
	config "{APIKEY: '', LOG_LEVEL: '\$LVL', Providers: [
		{name: 'a', api_key: '\$CEREBRAS_API_KEY'}, {name: 'b', api_key: '\$GROQ_API_KEY'},
		{name: 'c', api_key: '\$OPENAI_API_KEY'}, {name: 'd', api_key: '\${weird.name}'}]}"
	set_confirmed lvl "$KEY3" LVL
	all=$(GROQ_API_KEY=$KEY3 OPENAI_API_KEY=$KEY2 LVL=$KEY1 "$CLI" check 2>&1) || true
	all+=$(GROQ_API_KEY=$KEY3 OPENAI_API_KEY=$KEY2 LVL=$KEY1 "$CLI" --json check 2>&1) || true
	[[ "$all" == *"both (keystore wins; the values differ)"* ]] || fail "$all"
	[[ "$all" == *'"source":"both"'* ]] || fail "$all"
	[[ "$all" == *"LOG_LEVEL is not a level"* ]] || fail "$all"
	refute_secret "$all" "$KEY1" "$KEY2" "$KEY3"
}

@test "--json gives name, source and key for each name, the keystore state and the warnings" {
	start_daemon
	set_key cerebras "$KEY1"
	set_key openai "$KEY2"
	config '{Providers: [{api_key: "$CEREBRAS_API_KEY"}, {api_key: "$GROQ_API_KEY"},
		{api_key: "$OPENAI_API_KEY"}, {api_key: "$MISTRAL_API_KEY"}]}'
	GROQ_API_KEY=$KEY3 OPENAI_API_KEY=$KEY2 run --separate-stderr "$CLI" --json check
	[ "$status" -eq 1 ]
	assert_json "$output" keystore ok
	assert_json "$output" config "$CCR_HOME/config.json"
	assert_json "$output" names.0.name CEREBRAS_API_KEY
	assert_json "$output" names.0.source keystore
	assert_json "$output" names.0.key cerebras
	assert_json "$output" names.1.source environment
	assert_json "$output" names.1.key null
	assert_json "$output" names.2.source both
	assert_json "$output" names.2.key openai
	assert_json "$output" names.2.same_value true
	assert_json "$output" names.3.name MISTRAL_API_KEY
	assert_json "$output" names.3.source missing
	assert_json "$output" missing 1
	assert_json "$output" warnings.0.warning no_apikey
	assert_json "$output" warnings.1.warning debug_log
	[ "$(wc -l <<<"$output")" -eq 1 ]
	# --json after the command name works too.
	run --separate-stderr "$CLI" check --json
	assert_json "$output" names.0.source keystore
}

@test "a daemon that is down: says so, classifies from the environment, exits 3" {
	config_refs GROQ_API_KEY CEREBRAS_API_KEY
	GROQ_API_KEY=$KEY2 run --separate-stderr "$CLI" check
	[ "$status" -eq 3 ]
	[[ "$stderr" == *"ccr-keyd is not running"* ]] || fail "$stderr"
	assert_line GROQ_API_KEY "environment (keystore unreachable)"
	assert_line CEREBRAS_API_KEY "not in the environment; keystore unreachable"
	GROQ_API_KEY=$KEY2 run --separate-stderr "$CLI" --json check
	[ "$status" -eq 3 ]
	assert_json "$output" keystore unreachable
	assert_json "$output" names.0.source environment
	assert_json "$output" names.1.source unknown
}

@test "a locked keystore: exits 4 with the unlock hint, still classifying from the environment" {
	local reply
	start_daemon
	set_key cerebras "$KEY1"
	reply=$(req '{"op":"passphrase","action":"set","new_value":"test passphrase"}')
	assert_ok "$reply"
	assert_ok "$(req '{"op":"lock"}')"
	config_refs CEREBRAS_API_KEY GROQ_API_KEY
	GROQ_API_KEY=$KEY2 run --separate-stderr "$CLI" check
	[ "$status" -eq 4 ]
	[[ "$stderr" == *"locked; run: ccr-config unlock"* ]] || fail "$stderr"
	assert_line GROQ_API_KEY "environment (keystore locked)"
	assert_line CEREBRAS_API_KEY "not in the environment; keystore locked"
}

@test "a config without APIKEY, or with a falsy one, gets the /api/config warning" {
	local v
	start_daemon
	for v in "" "APIKEY: ''," "APIKEY: null," "APIKEY: false," "APIKEY: 0," "APIKEY: 0x0,"; do
		config "{$v LOG_LEVEL: 'info', /* APIKEY: 'in a comment' */ Router: {APIKEY: 'x'}}"
		run --separate-stderr "$CLI" check
		[ "$status" -eq 0 ] || fail "status $status for: $v"
		[[ "$stderr" == *"APIKEY"*"GET /api/config"*'set "APIKEY"'* ]] ||
			fail "no APIKEY warning for: $v" "$stderr"
	done
}

@test "a truthy APIKEY gets no APIKEY warning" {
	local v
	start_daemon
	for v in "'csk-test-client'" "1" "true"; do
		config "{APIKEY: $v, LOG_LEVEL: 'info'}"
		run --separate-stderr "$CLI" check
		[[ "$stderr" != *"APIKEY"* ]] || fail "APIKEY warning for: $v" "$stderr"
	done
}

@test "an APIKEY given by reference gets the warning that a router started otherwise takes it literally" {
	local v
	start_daemon
	set_key ccr "$KEY1" --env CCR_APIKEY
	for v in "'\$CCR_APIKEY'" "'\${CCR_APIKEY}'" "'prefix-\$CCR_APIKEY'"; do
		config "{APIKEY: $v, LOG_LEVEL: 'info'}"
		run --separate-stderr "$CLI" check
		[ "$status" -eq 0 ] || fail "status $status for $v: $stderr"
		[[ "$stderr" == *"APIKEY is given by reference"*"without ccr-config"*"as its login secret"* ]] ||
			fail "no reference warning for: $v" "$stderr"
		[[ "$stderr" != *"GET /api/config"* ]] || fail "the no-APIKEY warning for: $v" "$stderr"
		refute_secret "$stderr$output" "$KEY1"
	done
	run --separate-stderr "$CLI" --json check
	assert_json "$output" warnings.0.warning apikey_reference
}

@test "a debug log level, stated or by default, gets the Authorization-header warning" {
	local v
	start_daemon
	for v in "" "LOG_LEVEL: ''," "LOG_LEVEL: 'debug'," "LOG_LEVEL: 'DEBUG'," \
		"LOG_LEVEL: 'Trace'," "LOG_LEVEL: null," "LOG: true," "LOG: 'false'," "LOG: 0,"; do
		config "{APIKEY: 'k', $v}"
		run --separate-stderr "$CLI" check
		[ "$status" -eq 0 ] || fail "status $status for: $v"
		[[ "$stderr" == *"debug level"*"Authorization"*"logs/"*'"LOG_LEVEL": "info"'* ]] ||
			fail "no log warning for: $v" "$stderr"
	done
}

@test "info and quieter levels, or LOG false, get no log warning" {
	local v
	start_daemon
	for v in "LOG_LEVEL: 'info'" "LOG_LEVEL: 'WARN'" "LOG_LEVEL: 'silent'" "LOG: false" \
		"LOG: false, LOG_LEVEL: 'debug'"; do
		config "{APIKEY: 'k', $v}"
		run --separate-stderr "$CLI" check
		[ "$status" -eq 0 ] || fail "status $status for: $v"
		[ -z "$stderr" ] || fail "unexpected stderr for: $v" "$stderr"
	done
}

@test "a LOG_LEVEL reference is judged by the value the router will get, keystore first" {
	start_daemon
	config "{APIKEY: 'k', LOG_LEVEL: '\${LVL}'}"
	LVL=debug run --separate-stderr "$CLI" check
	[[ "$stderr" == *"debug level (LOG_LEVEL is debug)"* ]] || fail "$stderr"
	set_confirmed lvl info LVL
	LVL=debug run --separate-stderr "$CLI" check
	[ "$status" -eq 0 ]
	# LOG_LEVEL is no provider's key: no binding to show.
	assert_line LVL "both (keystore wins; the values differ)"
	[[ "$stderr" != *"debug level"* ]] || fail "$stderr"
	"$CLI" delete lvl >/dev/null
	LVL=verbose run --separate-stderr "$CLI" check
	[[ "$stderr" == *"LOG_LEVEL is not a level"*"will fail to start"* ]] || fail "$stderr"
}

@test "warnings alone keep exit 0 and go to stderr, not into the table" {
	start_daemon
	set_key cerebras "$KEY1"
	config '{Providers: [{api_key: "$CEREBRAS_API_KEY"}]}'
	run --separate-stderr "$CLI" check
	[ "$status" -eq 0 ]
	[ "$output" = "CEREBRAS_API_KEY  keystore (cerebras), bound to no origin" ]
	# No APIKEY, a debug log level, and the key bound to no origin.
	[ "$(grep -c '^ccr-config: warning: ' <<<"$stderr")" -eq 3 ]
}

@test "a JSON5 config with comments, single quotes and trailing commas is read as the router reads it" {
	start_daemon
	cat >"$CCR_HOME/config.json" <<-'EOF'
	// The router's config, JSON5.
	{
	  /* "APIKEY": "not this one", */
	  LOG_LEVEL: 'info', // not debug
	  'APIKEY': 'csk-test-client-key',
	  Providers: [
	    {
	      name: 'cerebras',
	      api_base_url: 'https://api.cerebras.ai/v1/chat/completions',
	      api_key: '$CEREBRAS_API_KEY', // from the keystore
	      models: ['qwen-3-coder-480b',],
	    },
	    { name: "groq", api_key: "${GROQ_API_KEY}", },
	  ],
	}
	EOF
	set_key cerebras "$KEY1"
	GROQ_API_KEY=$KEY2 run --separate-stderr "$CLI" check
	[ "$status" -eq 0 ]
	assert_line CEREBRAS_API_KEY "keystore (cerebras), bound to https://api.cerebras.ai"
	assert_line GROQ_API_KEY "environment"
	[ -z "$stderr" ] || fail "unexpected stderr: $stderr"
}

@test "a config the router cannot parse: line and column, no text of it, exit 5" {
	start_daemon
	printf '{\n  APIKEY: "%s",\n  LOG_LEVEL: info\n}\n' "$KEY1" >"$CCR_HOME/config.json"
	run --separate-stderr "$CLI" check
	[ "$status" -eq 5 ]
	[[ "$stderr" == *"config.json: line 3, column 14: "*"JSON5 and will not start"* ]] ||
		fail "$stderr"
	refute_secret "$output$stderr" "$KEY1"
}

@test "an explicit CONFIG is checked, a missing one exits 1, extra arguments exit 2" {
	start_daemon
	set_key cerebras "$KEY1"
	printf '{APIKEY: "k", LOG: false, x: "$CEREBRAS_API_KEY"}' >"$BATS_TEST_TMPDIR/other.json"
	run --separate-stderr "$CLI" check "$BATS_TEST_TMPDIR/other.json"
	[ "$status" -eq 0 ]
	assert_line CEREBRAS_API_KEY "keystore (cerebras)"
	run --separate-stderr "$CLI" check "$BATS_TEST_TMPDIR/nope.json"
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"nope.json does not exist"* ]] || fail "$stderr"
	run --separate-stderr "$CLI" check
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"$CCR_HOME/config.json does not exist"* ]] || fail "$stderr"
	run --separate-stderr "$CLI" check a.json b.json
	[ "$status" -eq 2 ]
	run --separate-stderr "$CLI" check --bogus
	[ "$status" -eq 2 ]
}

@test "a CCR_HOME the router does not read gets a warning naming the file it reads" {
	start_daemon
	export CCR_HOME=$BATS_TEST_TMPDIR/elsewhere
	mkdir -p "$CCR_HOME"
	config "{$QUIET}"
	run --separate-stderr "$CLI" check
	[ "$status" -eq 0 ]
	[[ "$stderr" == *"the router reads $HOME/.claude-code-router/config.json"*"CCR_HOME"* ]] ||
		fail "$stderr"
	run --separate-stderr "$CLI" check "$CCR_HOME/config.json"
	[ -z "$stderr" ] || fail "unexpected stderr with an explicit CONFIG: $stderr"
}

@test "a config that references nothing needs no daemon and exits 0" {
	config "{$QUIET, Providers: [{name: 'x', api_key: 'literal \$lower'}]}"
	run --separate-stderr "$CLI" check
	[ "$status" -eq 0 ]
	[ "$output" = "$CCR_HOME/config.json references no \$NAME" ]
	# The one warning: '$lower' is no reference, so the api_key is a literal key.
	[ "$(grep -c . <<<"$stderr")" -eq 1 ] && [[ "$stderr" == *"holds 1 literal key: x ("* ]] ||
		fail "$stderr"
}

@test "check is in the command list and has its own usage" {
	run "$CLI" --help
	[[ "$output" == *"  check "* ]] || fail "$output"
	run "$CLI" check --help
	[ "$status" -eq 0 ]
	[[ "$output" == "usage: ccr-config check [CONFIG]"* ]] || fail "$output"
}

# fake_router VERSION: a router package of that version, its `ccr` first on PATH.
fake_router() {
	local pkg=$BATS_TEST_TMPDIR/r/node_modules/@musistudio/claude-code-router
	mkdir -p "$pkg/dist" "$BATS_TEST_TMPDIR/r/bin"
	printf '{"name":"@musistudio/claude-code-router","version":"%s"}\n' "$1" >"$pkg/package.json"
	printf '#!/bin/sh\nexit 0\n' >"$pkg/dist/cli.js"
	chmod +x "$pkg/dist/cli.js"
	ln -sf "$pkg/dist/cli.js" "$BATS_TEST_TMPDIR/r/bin/ccr"
	export PATH=$BATS_TEST_TMPDIR/r/bin:$PATH
}

# running_router [RECORD-PID]: a live process as the router's pid (a sleep of ours), and,
# with RECORD-PID, the preload's record naming that pid ("self": the same one).
running_router() {
	sleep 60 &
	ROUTER_PID=$!
	CHILD_PIDS+=("$ROUTER_PID")
	printf '%s' "$ROUTER_PID" >"$CCR_HOME/.claude-code-router.pid"
	if [ -n "${1:-}" ]; then
		local pid=$1
		[ "$pid" = self ] && pid=$ROUTER_PID
		printf '{"pid":%s,"router":"1.0.73","port":3456,"keyd":"ok","keystore":["CEREBRAS_API_KEY"],"environment":["GROQ_API_KEY"],"missing":[],"warnings":[]}\n' \
			"$pid" >"$CCR_HOME/.ccr-keyd-router.json"
	fi
}

@test "a running router that the preload recorded: check says it got its keys, and how many" {
	start_daemon
	config_refs CEREBRAS_API_KEY
	set_key cerebras "$KEY1"
	running_router self
	run --separate-stderr "$CLI" check
	[ "$status" -eq 0 ] || fail "$stderr"
	[[ "$output" == *"router: pid $ROUTER_PID (claude-code-router 1.0.73) got its keys from ccr-keyd: 1 from the keystore, 1 from the environment, 0 missing"* ]] ||
		fail "$output"
	[ -z "$stderr" ] || fail "$stderr"
	run --separate-stderr "$CLI" --json check
	assert_json "$output" router.running true
	assert_json "$output" router.pid "$ROUTER_PID"
	assert_json "$output" router.keys_from_keyd true
	assert_json "$output" router.keystore.0 CEREBRAS_API_KEY
}

@test "a running router without a record of its own: check warns that it has no keys from ccr-keyd" {
	start_daemon
	config_refs CEREBRAS_API_KEY
	running_router 1 # a record of another (gone) router
	run --separate-stderr "$CLI" check
	[[ "$output" == *"router: pid $ROUTER_PID runs without keys from ccr-keyd"* ]] || fail "$output"
	[[ "$stderr" == *"running router (pid $ROUTER_PID) was not started through ccr-config"*"ccr restart"* ]] ||
		fail "$stderr"
	run --separate-stderr "$CLI" --json check
	assert_json "$output" router.keys_from_keyd false
	# Not running: nothing is said, and JSON says so.
	kill "$ROUTER_PID"
	wait_gone "$ROUTER_PID"
	run --separate-stderr "$CLI" check
	[[ "$output" != *"router:"* ]] || fail "$output"
	run --separate-stderr "$CLI" --json check
	assert_json "$output" router.running false
}

@test "router 3.x: check says it gets no keys, and whether its config.sqlite holds keys in clear" {
	start_daemon
	set_key cerebras "$KEY1"
	set_key groq "$KEY2"
	fake_router 3.1.1
	# 3.x has archived config.json into config.sqlite: no config.json is expected.
	printf 'SQLite format 3\0\0junk{"api_key":"%s"}junk' "$KEY2" >"$CCR_HOME/config.sqlite"
	run --separate-stderr "$CLI" check
	[ "$status" -eq 0 ] || fail "status $status: $stderr"
	[[ "$output" == *"claude-code-router 3.1.1 is installed; ccr-keyd gives keys to 1.x and 2.x only"* ]] ||
		fail "$output"
	[[ "$output" == *"config.sqlite holds 1 of the keystore's keys in clear"* ]] || fail "$output"
	[[ "$stderr" == *"config.sqlite (claude-code-router 3.x) holds 1 of the keystore's keys in clear"* ]] ||
		fail "$stderr"
	refute_secret "$output$stderr" "$KEY1" "$KEY2"
	run --separate-stderr "$CLI" --json check
	assert_json "$output" router.installed 3.1.1
	assert_json "$output" router.supported false
	assert_json "$output" router.sqlite_keys_in_clear.0 GROQ_API_KEY
	refute_secret "$output" "$KEY1" "$KEY2"
	# Keys gone from it: it says so.
	printf 'SQLite format 3\0\0{"api_key":"$GROQ_API_KEY"}' >"$CCR_HOME/config.sqlite"
	run --separate-stderr "$CLI" check
	[[ "$output" == *"config.sqlite exists and holds none of the keystore's keys"* ]] || fail "$output"
	[ -z "$stderr" ] || fail "$stderr"
}

@test "router 1.x installed: check says nothing about the version" {
	start_daemon
	fake_router 1.0.73
	config_refs CEREBRAS_API_KEY
	set_key cerebras "$KEY1"
	run --separate-stderr "$CLI" check
	[ "$output" = "CEREBRAS_API_KEY  keystore (cerebras), bound to http://127.0.0.1:9" ] || fail "$output"
	run --separate-stderr "$CLI" --json check
	assert_json "$output" router.installed 1.0.73
	assert_json "$output" router.supported true
}

@test "literal keys in config.json are reported masked, with the migrate command" {
	start_daemon
	config "{$QUIET, Providers: [{name: 'cerebras', api_key: '$KEY1'}, {name: 'groq', api_key: '\$GROQ_API_KEY'}, {name: 'bad name', api_key: '$KEY2'}]}"
	run --separate-stderr "$CLI" check
	refute_secret "$output$stderr" "$KEY1" "$KEY2"
	[[ "$stderr" == *"warning: $CCR_HOME/config.json holds 2 literal keys: cerebras (csk-…f2a9), provider 3 (csk-…7b3c);"*"move them into the keystore with: ccr-config migrate" ]] ||
		fail "$stderr"
	# A config named on the command line is named in the command too.
	cp "$CCR_HOME/config.json" "$BATS_TEST_TMPDIR/other config.json"
	run --separate-stderr "$CLI" check "$BATS_TEST_TMPDIR/other config.json"
	[[ "$stderr" == *"ccr-config migrate '$BATS_TEST_TMPDIR/other config.json'" ]] || fail "$stderr"
	run --separate-stderr "$CLI" --json check
	[ "$(jget warnings "$output" | grep -o '"warning":"literal_key"' | wc -l)" -eq 1 ] || fail "$output"
	refute_secret "$output" "$KEY1" "$KEY2"
}

@test "a backup migrate left with literal keys is reported, with the command that removes it" {
	start_daemon
	config "{$QUIET, Providers: [{name: 'cerebras', api_base_url: 'https://api.cerebras.ai/v1', api_key: '$KEY1'}]}"
	run --separate-stderr "$CLI" migrate
	[ "$status" -eq 0 ] || fail "$stderr"
	bak=$(ls "$CCR_HOME"/config.json.bak-*)
	[ -f "$bak" ]
	run --separate-stderr "$CLI" check
	[ "$status" -eq 0 ] || fail "$status: $stderr"
	refute_secret "$output$stderr" "$KEY1"
	grep -qxF "ccr-config: warning: $bak, a backup migrate left, holds 1 key in clear: cerebras (csk-…f2a9); once the router works with the keystore, remove it with: rm $bak" <<<"$stderr" ||
		fail "$stderr"
	[[ "$stderr" != *"config.json holds"* ]] || fail "the migrated config has no literal: $stderr"
	run --separate-stderr "$CLI" --json check
	assert_json "$output" warnings.0.warning backup_with_keys
	# The command it gives does remove it; then nothing is said.
	cmd=$(grep -o 'remove it with: .*' <<<"$stderr")
	cmd=${cmd#remove it with: }
	sh -c "$cmd"
	[ ! -e "$bak" ]
	run --separate-stderr "$CLI" check
	[ -z "$stderr" ] || fail "$stderr"
	# A backup that holds only references is not worth a word.
	cp "$CCR_HOME/config.json" "$CCR_HOME/config.json.bak-20260101T000000"
	run --separate-stderr "$CLI" check
	[ -z "$stderr" ] || fail "$stderr"
}

@test "the router's own backups and old logs that hold keys are reported, each with its rm, and then rotation" {
	start_daemon
	set_key cerebras "$KEY1"
	config_refs CEREBRAS_API_KEY
	local rbak=$CCR_HOME/config.json.2026-12-07T20-06-52-425Z.bak
	printf '{"Providers":[{"name":"cerebras","api_key":"%s"}]}\n' "$KEY2" >"$rbak"
	mkdir -p "$CCR_HOME/logs"
	printf '{"level":30,"msg":"request","headers":{"authorization":"Bearer %s"}}\n' "$KEY1" \
		>"$CCR_HOME/logs/ccr-20261207200652.log"
	printf '{"level":30,"msg":"nothing secret"}\n' >"$CCR_HOME/logs/ccr-20261207200700.log"
	run --separate-stderr "$CLI" check
	[ "$status" -eq 0 ] || fail "$status: $stderr"
	refute_secret "$output$stderr" "$KEY1" "$KEY2"
	grep -qxF "ccr-config: warning: $rbak, a backup the router made, holds 1 key in clear: cerebras (csk-…7b3c); once the router works with the keystore, remove it with: rm $rbak" <<<"$stderr" ||
		fail "$stderr"
	grep -qxF "ccr-config: warning: $CCR_HOME/logs/ccr-20261207200652.log, a log of the router, holds 1 key in clear: csk-…f2a9; remove it with: rm $CCR_HOME/logs/ccr-20261207200652.log" <<<"$stderr" ||
		fail "$stderr"
	[[ "$stderr" != *ccr-20261207200700.log* ]] || fail "a log without keys was reported: $stderr"
	[[ "$stderr" == *"rotate each at its provider (a new key, stored with ccr-config set NAME) and revoke the old one"* ]] ||
		fail "no word of rotation: $stderr"
	run --separate-stderr "$CLI" --json check
	[[ "$output" == *'"warning":"log_with_keys"'* && "$output" == *'"warning":"rotate"'* ]] || fail "$output"
	# Each command removes its file; then nothing is said.
	rm "$rbak" "$CCR_HOME/logs/ccr-20261207200652.log"
	run --separate-stderr "$CLI" check
	[[ "$stderr" != *"in clear"* && "$stderr" != *rotate* ]] || fail "$stderr"
}

@test "check on a terminal says once what passphrase set protects against and costs, while the keystore is plain" {
	load tty
	start_daemon
	set_key cerebras "$KEY1"
	config_refs CEREBRAS_API_KEY
	run on_tty "$CLI check"
	[ "$status" -eq 0 ] || fail "$status: $output"
	[ "$(grep -c 'passphrase set seals it' <<<"$output")" -eq 1 ] || fail "$output"
	[[ "$output" == *"a copy of it (a backup, a synced folder, a lost disk) gives away every key"* ]] || fail "$output"
	[[ "$output" == *"The cost: after each login or lock you type it (ccr-config unlock)"* ]] || fail "$output"
	# Not to a script, and not once sealed.
	run --separate-stderr "$CLI" check
	[[ "$output$stderr" != *"passphrase set"* ]] || fail "$output"
	printf 'pw-test-one\n' | "$CLI" passphrase set --stdin >/dev/null
	run on_tty "$CLI check"
	[[ "$output" != *"passphrase set seals it"* ]] || fail "$output"
}
