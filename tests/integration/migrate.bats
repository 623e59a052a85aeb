#!/usr/bin/env bats
# Moving in, part two: `ccr-config migrate` against a real ccr-keyd. Literal
# api_key values of the router's config.json go into the keystore and the file
# then says $ENVNAME there, every other byte as written; a backup is made first,
# a second run changes nothing, and the router's own substitution rule applied to
# the migrated file with the keystore gives back the original values.

load helpers

# More obviously fake keys, long enough for refute_secret to check their middles.
KEY4=csk-test-44444444deadbeef44444444c0de
KEY5=csk-test-55555555feedface55555555d00d

E2E_DIR=$BATS_TEST_DIRNAME/../e2e
ROUTER_CLI=$E2E_DIR/node_modules/@musistudio/claude-code-router/dist/cli.js
JSON5_DIR=$E2E_DIR/node_modules/json5

setup() {
	common_setup
	CONFIG=$CCR_HOME/config.json
	mkdir -p "$CCR_HOME"
	chmod 700 "$CCR_HOME"
	local v
	for v in $(compgen -e); do
		[[ $v != *_API_KEY ]] || unset "$v"
	done
}

teardown() {
	common_teardown
}

# raw_env NAME: the env name of the stored key NAME.
raw_env() {
	req "{\"op\":\"get\",\"name\":\"$1\"}" | jget env
}

# key_count: how many keys the daemon holds.
key_count() {
	req '{"op":"status"}' | jget keys
}

# write_config TEXT [MODE]: put TEXT, byte for byte, in $CONFIG.
write_config() {
	printf '%s' "$1" >"$CONFIG"
	chmod "${2:-644}" "$CONFIG"
}

# backups: the backups beside $CONFIG, one a line.
backups() {
	find "$CCR_HOME" -maxdepth 1 -name 'config.json.bak-*' | sort
}

# no_secret_in_output: neither $output nor $stderr of the last run holds a test key.
no_secret_in_output() {
	refute_secret "$output${stderr:-}" "$KEY1" "$KEY2" "$KEY3" "$KEY4" "$KEY5"
}

# replaced TEXT FROM TO [FROM TO]...: TEXT with each FROM replaced by its TO.
replaced() {
	local text=$1
	shift
	while [ $# -ge 2 ]; do
		text=${text//"$1"/"$2"}
		shift 2
	done
	printf '%s' "$text"
}

# A config as people write them: comments, unquoted keys, single quotes, trailing commas.
sample_config() {
	cat <<EOF
{
  // Providers: a comment that says "api_key": "$KEY5" must stay as it is
  "PORT": 3456,
  "Providers": [
    {
      "name": "openrouter",
      "api_base_url": "https://openrouter.ai/api/v1/chat/completions",
      "api_key": "$KEY1",
      "models": ["google/gemini-2.5-pro-preview", "anthropic/claude-sonnet-4"],
    },
    { name: 'groq', api_key: '$KEY2', models: ['llama'] }, /* api_key: 'x' */
    { "api_key": "\$DEEPSEEK_API_KEY", "name": "deepseek" },
    { "name": "ollama", "api_base_url": "http://localhost:11434/v1/chat/completions" },
  ],
  "Router": { "default": "openrouter,anthropic/claude-sonnet-4", },
}
EOF
}

@test "migrate stores each literal under its provider's name and rewrites only those values" {
	start_daemon
	local orig
	orig=$(sample_config)
	write_config "$orig" 640
	run --separate-stderr "$CLI" migrate
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = 'openrouter: stored, config now uses $OPENROUTER_API_KEY, bound to https://openrouter.ai' ]
	[ "${lines[1]}" = 'groq: stored, config now uses $GROQ_API_KEY' ]
	[ "${lines[2]}" = 'deepseek: already uses $DEEPSEEK_API_KEY, left alone' ]
	[ "${lines[3]}" = 'ollama: no api_key, left alone' ]
	[[ "${lines[4]}" == "the original is in $CONFIG.bak-"*" (mode 0600); it still holds the literal keys, so delete it once the router works; the keys were on disk in clear, where backups, sync or another program may have copied them: rotate each at its provider (ccr-config set NAME stores the new one) and revoke the old" ]]
	[ "${#lines[@]}" -eq 5 ]
	[ "$stderr" = '' ]
	no_secret_in_output
	[ "$(cat "$CONFIG")" = "$(replaced "$orig" "$KEY1" '$OPENROUTER_API_KEY' "$KEY2" '$GROQ_API_KEY')" ]
	[ "$(raw_value openrouter)" = "$KEY1" ]
	[ "$(raw_env openrouter)" = OPENROUTER_API_KEY ]
	[ "$(raw_value groq)" = "$KEY2" ]
	[ "$(key_count)" = 2 ]
	[ "$(stat -c %a "$CONFIG")" = 640 ]
}

@test "migrate first copies the original to config.json.bak-YYYYMMDDTHHMMSS with mode 0600" {
	start_daemon
	write_config "$(sample_config)"
	cp "$CONFIG" "$BATS_TEST_TMPDIR/original"
	run "$CLI" migrate
	[ "$status" -eq 0 ]
	[ "$(backups | wc -l)" -eq 1 ]
	local bak
	bak=$(backups)
	[[ "$(basename "$bak")" =~ ^config\.json\.bak-[0-9]{8}T[0-9]{6}$ ]]
	[ "$(stat -c %a "$bak")" = 600 ]
	cmp "$bak" "$BATS_TEST_TMPDIR/original"
}

@test "a second migrate changes nothing: same bytes, no backup, keystore untouched, no daemon needed" {
	start_daemon
	write_config "$(sample_config)"
	"$CLI" migrate >/dev/null
	local config keys
	config=$(sha256sum "$CONFIG")
	keys=$(sha256sum "$CCR_KEYS")
	run --separate-stderr "$CLI" migrate
	[ "$status" -eq 0 ]
	[ "$output" = 'openrouter: already uses $OPENROUTER_API_KEY, left alone
groq: already uses $GROQ_API_KEY, left alone
deepseek: already uses $DEEPSEEK_API_KEY, left alone
ollama: no api_key, left alone' ]
	[ "$(sha256sum "$CONFIG")" = "$config" ]
	[ "$(sha256sum "$CCR_KEYS")" = "$keys" ]
	[ "$(backups | wc -l)" -eq 1 ]
	stop_daemon "$KEYD_PID"
	run --separate-stderr "$CLI" migrate
	[ "$status" -eq 0 ]
	[ "$(sha256sum "$CONFIG")" = "$config" ]
}

@test "migrate --dry-run says what would happen and changes nothing" {
	start_daemon
	set_key groq "$KEY2"
	local orig keys
	orig=$(sample_config)
	write_config "$orig"
	keys=$(sha256sum "$CCR_KEYS")
	run --separate-stderr "$CLI" migrate --dry-run
	[ "$status" -eq 0 ]
	[ "$output" = 'openrouter: would store, config would use $OPENROUTER_API_KEY, would bind to https://openrouter.ai
groq: already stored, config would use $GROQ_API_KEY
deepseek: already uses $DEEPSEEK_API_KEY, left alone
ollama: no api_key, left alone' ]
	no_secret_in_output
	[ "$(cat "$CONFIG")" = "$orig" ]
	[ "$(sha256sum "$CCR_KEYS")" = "$keys" ]
	[ -z "$(backups)" ]
	[ "$(key_count)" = 1 ]
}

@test "a key already stored with the same value is not stored again, but the config is rewritten" {
	start_daemon
	set_key openrouter "$KEY1"
	set_key groq "$KEY2"
	local keys
	keys=$(sha256sum "$CCR_KEYS")
	write_config "$(sample_config)"
	run --separate-stderr "$CLI" migrate
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = 'openrouter: already stored, config now uses $OPENROUTER_API_KEY' ]
	[ "${lines[1]}" = 'groq: already stored, config now uses $GROQ_API_KEY' ]
	[ "$(sha256sum "$CCR_KEYS")" = "$keys" ]
	grep -qF '"api_key": "$OPENROUTER_API_KEY"' "$CONFIG"
	[ "$(backups | wc -l)" -eq 1 ]
}

@test "the same key stored under another name with the default env name is used as it is" {
	start_daemon
	set_key or "$KEY1" --env OPENROUTER_API_KEY
	write_config "{Providers: [{name: 'openrouter', api_key: '$KEY1'}]}"
	run --separate-stderr "$CLI" migrate
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = 'openrouter: already stored as or, config now uses $OPENROUTER_API_KEY' ]
	[ "$(cat "$CONFIG")" = "{Providers: [{name: 'openrouter', api_key: '\$OPENROUTER_API_KEY'}]}" ]
	[ "$(key_count)" = 1 ]
}

@test "a different key stored under the provider's name is never replaced: skipped, exit 5" {
	start_daemon
	set_key openrouter "$KEY3"
	local orig
	orig=$(sample_config)
	write_config "$orig"
	run --separate-stderr "$CLI" migrate
	[ "$status" -eq 5 ]
	[ "${lines[0]}" = 'openrouter: a different key is stored as openrouter; skipped (compare with: ccr-config get openrouter; then ccr-config rename openrouter NEW, or delete one)' ]
	[ "${lines[1]}" = 'groq: stored, config now uses $GROQ_API_KEY' ]
	[ "$stderr" = 'ccr-config: 1 provider still holds a literal api_key' ]
	no_secret_in_output
	[ "$(raw_value openrouter)" = "$KEY3" ]
	[ "$(cat "$CONFIG")" = "$(replaced "$orig" "$KEY2" '$GROQ_API_KEY')" ]
}

@test "an env name held by another key, or referenced elsewhere in the config, gets a free _N variant" {
	start_daemon
	set_key other "$KEY3" --env OPENROUTER_API_KEY
	local orig
	orig="{
  Providers: [
    { name: 'openrouter', api_key: '$KEY1' },
    { name: 'groq-shell', api_key: '\$GROQ_API_KEY' },
    { name: 'groq', api_key: '$KEY2' },
  ],
  note: 'GROQ_API_KEY_2 is \${GROQ_API_KEY_2}',
}"
	write_config "$orig"
	run --separate-stderr "$CLI" migrate
	[ "$status" -eq 0 ]
	[ "$output" = 'openrouter: stored, config now uses $OPENROUTER_API_KEY_2
groq-shell: already uses $GROQ_API_KEY, left alone
groq: stored, config now uses $GROQ_API_KEY_3
'"${lines[3]}" ]
	[ "$(raw_env openrouter)" = OPENROUTER_API_KEY_2 ]
	[ "$(raw_value openrouter)" = "$KEY1" ]
	[ "$(raw_value other)" = "$KEY3" ]
	[ "$(raw_env groq)" = GROQ_API_KEY_3 ]
	[ "$(cat "$CONFIG")" = "$(replaced "$orig" "$KEY1" '$OPENROUTER_API_KEY_2' "$KEY2" '$GROQ_API_KEY_3')" ]
}

@test "providers without a usable name, without api_key or with a non-string one are reported" {
	start_daemon
	local orig
	orig="{\"Providers\": [
  {\"name\": \"+++\", \"api_key\": \"$KEY1\"},
  {\"api_key\": \"$KEY2\"},
  {\"name\": \"nokey\"},
  {\"name\": \"numeric\", \"api_key\": 42},
  {\"name\": \"empty\", \"api_key\": \"\"},
  \"not an object\",
  {\"name\": \"good\", \"api_key\": \"$KEY3\"}
]}"
	write_config "$orig"
	run --separate-stderr "$CLI" migrate
	[ "$status" -eq 5 ]
	[ "${lines[0]}" = "+++: api_key is a literal, but no key name can be made of the provider's name (1-128 of A-Z a-z 0-9 . _ -); skipped" ]
	[ "${lines[1]}" = "provider 2: api_key is a literal, but no key name can be made of the provider's name (1-128 of A-Z a-z 0-9 . _ -); skipped" ]
	[ "${lines[2]}" = 'nokey: no api_key, left alone' ]
	[ "${lines[3]}" = 'numeric: api_key is not a string, left alone' ]
	[ "${lines[4]}" = 'empty: api_key is empty, left alone' ]
	[ "${lines[5]}" = 'good: stored, config now uses $GOOD_API_KEY' ]
	[ "$stderr" = 'ccr-config: 2 providers still hold a literal api_key' ]
	no_secret_in_output
	[ "$(cat "$CONFIG")" = "$(replaced "$orig" "$KEY3" '$GOOD_API_KEY')" ]
	[ "$(key_count)" = 1 ]
}

@test "a CRLF config keeps every CR and LF byte for byte" {
	start_daemon
	local orig
	orig=$(sample_config | sed 's/$/\r/')
	write_config "$orig"
	run --separate-stderr "$CLI" migrate
	[ "$status" -eq 0 ]
	[ "$(grep -c $'\r$' "$CONFIG")" -eq "$(printf '%s\n' "$orig" | wc -l)" ]
	replaced "$orig" "$KEY1" '$OPENROUTER_API_KEY' "$KEY2" '$GROQ_API_KEY' >"$BATS_TEST_TMPDIR/expected"
	cmp "$CONFIG" "$BATS_TEST_TMPDIR/expected"
}

@test "comments holding api_key, escaped quotes, single quotes and odd member order survive" {
	start_daemon
	local orig
	orig="/* header: \"api_key\": \"$KEY4\" */
{
  providers: [ // the lower-case key the router also reads
    {
      // api_key: 'not this one'
      'api_key': 'csk-test-it\\'s-single-quoted-0123456789',
      models: [{ api_key: 'nested, not a provider member' }],
      'name': 'single',
    },
    { \"api_key\": \"csk-test-\\\"quoted\\\"-0123456789abcdef\", \"name\": \"quoted\" },
    { \"name\": \"esc\\u0061ped\", \"api_key\": \"csk-test-\\u0065scaped-0123456789\" },
  ],
}"
	write_config "$orig"
	run --separate-stderr "$CLI" migrate
	[ "$status" -eq 0 ]
	[ "$output" = 'single: stored, config now uses $SINGLE_API_KEY
quoted: stored, config now uses $QUOTED_API_KEY
escaped: stored, config now uses $ESCAPED_API_KEY
'"${lines[3]}" ]
	[ "$(raw_value single)" = "csk-test-it's-single-quoted-0123456789" ]
	[ "$(raw_value quoted)" = 'csk-test-"quoted"-0123456789abcdef' ]
	[ "$(raw_value escaped)" = 'csk-test-escaped-0123456789' ]
	[ "$(cat "$CONFIG")" = "$(replaced "$orig" \
		"'csk-test-it\\'s-single-quoted-0123456789'" "'\$SINGLE_API_KEY'" \
		'"csk-test-\"quoted\"-0123456789abcdef"' '"$QUOTED_API_KEY"' \
		'"csk-test-\u0065scaped-0123456789"' '"$ESCAPED_API_KEY"')" ]
}

# twenty_providers: 20 provider lines in alternating styles, as PROVIDERS and, with
# each literal replaced by its reference, as MIGRATED.
twenty_providers() {
	local i key
	PROVIDERS= MIGRATED=
	for i in $(seq 1 20); do
		key=csk-test-provider-$i-0123456789abcdef
		if [ $((i % 2)) -eq 0 ]; then
			PROVIDERS+="
    { \"name\": \"p$i\", \"api_key\": \"$key\", \"models\": [\"m$i\"] },"
			MIGRATED+="
    { \"name\": \"p$i\", \"api_key\": \"\$P${i}_API_KEY\", \"models\": [\"m$i\"] },"
		else
			PROVIDERS+="
    {name: 'p$i', api_key: '$key'}, // provider $i"
			MIGRATED+="
    {name: 'p$i', api_key: '\$P${i}_API_KEY'}, // provider $i"
		fi
	done
}

@test "twenty providers are all migrated in one run and a second run changes nothing" {
	start_daemon
	twenty_providers
	write_config "{
  \"Providers\": [$PROVIDERS
  ],
}"
	run --separate-stderr "$CLI" migrate
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 21 ]
	[ "${lines[0]}" = 'p1: stored, config now uses $P1_API_KEY' ]
	[ "${lines[19]}" = 'p20: stored, config now uses $P20_API_KEY' ]
	local expected="{
  \"Providers\": [$MIGRATED
  ],
}"
	[ "$(cat "$CONFIG")" = "$expected" ]
	[ "$(key_count)" = 20 ]
	[ "$(raw_value p17)" = csk-test-provider-17-0123456789abcdef ]
	run --separate-stderr "$CLI" migrate
	[ "$status" -eq 0 ]
	[ "$(cat "$CONFIG")" = "$expected" ]
	[ "$(backups | wc -l)" -eq 1 ]
}

@test "the router's own interpolateEnvVars over the migrated config gives back the original values" {
	command -v node >/dev/null || skip "node is not installed"
	[ -f "$ROUTER_CLI" ] && [ -d "$JSON5_DIR" ] ||
		skip "the router is not installed: run make e2e-deps"
	start_daemon
	twenty_providers
	# Twenty-five providers, one of which cannot move (its name), and references
	# the keystore must not start to answer for.
	local orig="{
  // api_key: \"$KEY5\" in a comment
  \"PORT\": 3456,
  \"Note\": \"\$GROQ_API_KEY and \${OPENROUTER_API_KEY_2} stay as written\",
  \"Providers\": [
    { \"name\": \"+++\", \"api_key\": \"$KEY4\" },
    { \"name\": \"openrouter\", \"api_key\": \"$KEY1\", \"models\": [\"a\"] },
    { name: 'groq', api_key: '$KEY2' },
    { \"name\": \"deepseek\", \"api_key\": \"Bearer \$DEEPSEEK_API_KEY\" },
    { \"name\": \"ollama\" },$PROVIDERS
  ],
  Router: { default: 'openrouter,a' },
}"
	write_config "$orig"
	cp "$CONFIG" "$BATS_TEST_TMPDIR/original.json"
	run --separate-stderr "$CLI" migrate
	[ "$status" -eq 5 ]
	[ "${lines[2]}" = 'groq: stored, config now uses $GROQ_API_KEY_2' ]
	! grep -qF -e "$KEY1" -e "$KEY2" -e provider-7-0123 "$CONFIG" ||
		fail "a literal key is still in the config"
	cat >"$BATS_TEST_TMPDIR/router.cjs" <<'EOF'
// router.cjs ROUTER_CLI JSON5_DIR CONFIG [EXPECTED]: read CONFIG as the router does
// (json5, then its own interpolateEnvVars, taken from its bundle, over process.env);
// print the result, or compare it with the JSON in EXPECTED.
const fs = require('node:fs');
const assert = require('node:assert');
const [cli, json5Dir, config, expected] = process.argv.slice(2);
const JSON5 = require(json5Dir);
const src = fs.readFileSync(cli, 'utf8');
const start = src.indexOf('interpolateEnvVars = (obj) => {');
const end = src.indexOf('\n    };\n', start);
assert(start >= 0 && end > start, 'interpolateEnvVars not found in the router');
const body = src.slice(start + 'interpolateEnvVars = '.length, end + '\n    }'.length);
assert(body.includes('process.env[varName] || match'), 'not the expected function');
const interpolateEnvVars = new Function(
	`let interpolateEnvVars = ${body};\nreturn interpolateEnvVars;`)();
const got = interpolateEnvVars(JSON5.parse(fs.readFileSync(config, 'utf8')));
if (expected === undefined) {
	process.stdout.write(JSON.stringify(got));
} else {
	assert.deepStrictEqual(got, JSON.parse(fs.readFileSync(expected, 'utf8')));
	console.log(`same config, ${got.Providers.length} providers`);
}
EOF
	# Before: the router reads the original with this test's environment (no keys).
	node "$BATS_TEST_TMPDIR/router.cjs" "$ROUTER_CLI" "$JSON5_DIR" \
		"$BATS_TEST_TMPDIR/original.json" >"$BATS_TEST_TMPDIR/before.json"
	grep -qF "$KEY1" "$BATS_TEST_TMPDIR/before.json"
	# After: exec puts the keys the migrated config references into its environment.
	run --separate-stderr "$CLI" exec -- node "$BATS_TEST_TMPDIR/router.cjs" "$ROUTER_CLI" \
		"$JSON5_DIR" "$CONFIG" "$BATS_TEST_TMPDIR/before.json"
	[ "$status" -eq 0 ] || fail "$output" "$stderr"
	[ "$output" = 'same config, 25 providers' ]
}

@test "ccr-config exec hands the command exactly the original literal values" {
	start_daemon
	write_config "$(sample_config)"
	"$CLI" migrate >/dev/null
	[ "$("$CLI" exec -- printenv OPENROUTER_API_KEY)" = "$KEY1" ]
	[ "$("$CLI" exec -- printenv GROQ_API_KEY)" = "$KEY2" ]
}

@test "a key that cannot be stored leaves config.json as it was and makes no backup" {
	start_daemon
	local orig
	orig=$(sample_config)
	write_config "$orig"
	# Replace the keystore behind the daemon's back: it then refuses every write.
	write_keystore '{"version":1,"keys":{}}'
	run --separate-stderr "$CLI" migrate
	[ "$status" -eq 5 ]
	[[ "${lines[0]}" == 'openrouter: not stored: '*'; config not changed' ]]
	[[ "$stderr" == *"$CONFIG is unchanged because a key could not be stored; run ccr-config migrate again once that is fixed" ]]
	no_secret_in_output
	[ "$(cat "$CONFIG")" = "$orig" ]
	[ -z "$(backups)" ]
}

@test "a backup never replaces an existing one" {
	start_daemon
	write_config "$(sample_config)"
	cp "$CONFIG" "$BATS_TEST_TMPDIR/original"
	local now s
	now=$(date -u +%s)
	for s in 0 1 2 3; do
		echo older >"$CONFIG.bak-$(date -u -d "@$((now + s))" +%Y%m%dT%H%M%S)"
	done
	run "$CLI" migrate
	[ "$status" -eq 0 ]
	[ "$(backups | wc -l)" -eq 5 ]
	local b newest
	for b in $(backups); do
		if [ "$(cat "$b")" != older ]; then
			newest=$b
		fi
	done
	[[ "$newest" == *-2 ]]
	cmp "$newest" "$BATS_TEST_TMPDIR/original"
	[ "$(stat -c %a "$newest")" = 600 ]
}

@test "migrate CONFIG works on another file and backs it up beside it" {
	start_daemon
	local f=$BATS_TEST_TMPDIR/other.json5
	printf "{Providers: [{name: 'groq', api_key: '%s'}]}\n" "$KEY2" >"$f"
	run --separate-stderr "$CLI" migrate "$f"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = 'groq: stored, config now uses $GROQ_API_KEY' ]
	[ "$(cat "$f")" = "{Providers: [{name: 'groq', api_key: '\$GROQ_API_KEY'}]}" ]
	ls "$f".bak-* >/dev/null
	[ ! -e "$CONFIG" ]
}

@test "a missing config exits 1; one the router could not parse exits 5 and is left alone" {
	start_daemon
	run --separate-stderr "$CLI" migrate
	[ "$status" -eq 1 ]
	[ "$stderr" = "ccr-config: $CONFIG does not exist; nothing to migrate" ]
	write_config "{Providers: [{name: 'groq', api_key: '$KEY2'}]"
	run --separate-stderr "$CLI" migrate
	[ "$status" -eq 5 ]
	[[ "$stderr" == "ccr-config: $CONFIG: line 1, column "*"; nothing migrated" ]]
	no_secret_in_output
	[ -z "$(backups)" ]
	[ "$(key_count)" = 0 ]
}

@test "a config with no providers has nothing to migrate" {
	write_config '{"PORT": 3456}'
	run --separate-stderr "$CLI" migrate
	[ "$status" -eq 0 ]
	[ "$output" = "$CONFIG has no providers; nothing to migrate" ]
	[ -z "$(backups)" ]
}

@test "migrate with more than one path or an unknown option is a usage error" {
	run --separate-stderr "$CLI" migrate a b
	[ "$status" -eq 2 ]
	run --separate-stderr "$CLI" migrate --overwrite
	[ "$status" -eq 2 ]
	[[ "$stderr" == *"usage: ccr-config migrate [CONFIG] [--dry-run]"* ]]
}

@test "a provider whose name is not a key name is stored under one made of it, and migrate says which" {
	start_daemon
	local orig
	orig="{\"Providers\": [
  {\"name\": \"Gemini Flash\", \"api_key\": \"$KEY1\"},
  {\"name\": \"  My Provider (EU) \", \"api_key\": \"$KEY2\"}
]}"
	write_config "$orig"
	run --separate-stderr "$CLI" migrate
	[ "$status" -eq 0 ] || fail "$status: $output $stderr"
	[ "${lines[0]}" = 'Gemini Flash: stored, config now uses $GEMINI_FLASH_API_KEY; key name gemini-flash, made of the provider'"'"'s name (another: ccr-config rename gemini-flash NEW)' ] ||
		fail "$output"
	[[ "${lines[1]}" == "  My Provider (EU) : stored, config now uses \$MY_PROVIDER-EU_API_KEY"* ||
		"${lines[1]}" == "  My Provider (EU) : stored, config now uses \$MY_PROVIDER_EU_API_KEY; key name my-provider-eu,"* ]] ||
		fail "$output"
	[ "$(raw_value gemini-flash)" = "$KEY1" ]
	[ "$(raw_env gemini-flash)" = GEMINI_FLASH_API_KEY ]
	[ "$(raw_value my-provider-eu)" = "$KEY2" ]
	no_secret_in_output
	[ "$(cat "$CONFIG")" = "$(replaced "$(replaced "$orig" "$KEY1" '$GEMINI_FLASH_API_KEY')" "$KEY2" '$MY_PROVIDER_EU_API_KEY')" ]
	# check no longer sends the user back to migrate.
	run --separate-stderr "$CLI" check
	[[ "$output$stderr" != *"ccr-config migrate"* ]] || fail "$output $stderr"
}
