#!/usr/bin/env bats
# Moving in, part one: `set --from-env`, `import env` and `import file` against a
# real ccr-keyd. Keys come from the environment or an old keystore file, reach the
# daemon over its socket only, and never show in the output.

load helpers

# More obviously fake keys, long enough for refute_secret to check their middles.
KEY4=csk-test-44444444deadbeef44444444c0de
KEY5=csk-test-55555555feedface55555555d00d

setup() {
	common_setup
	# Whatever *_API_KEY variables the test runner has must not be imported here.
	local v
	for v in $(compgen -e); do
		[[ $v != *_API_KEY ]] || unset "$v"
	done
	unset CCR_TEST_SECRET CCR_TEST_EMPTY
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

# import_lines: the lines import printed for its keys, without the profile advice after them.
import_lines() {
	printf '%s\n' "${output%%$'\n\n'The keystore holds these now*}"
}

# no_secret_in_output: neither $output nor $stderr of the last run holds a test key.
no_secret_in_output() {
	refute_secret "$output${stderr:-}" "$KEY1" "$KEY2" "$KEY3" "$KEY4" "$KEY5"
}

@test "set --from-env stores the variable's value and prints no part of it" {
	start_daemon
	export CCR_TEST_SECRET=$KEY1
	run --separate-stderr "$CLI" set cerebras --from-env CCR_TEST_SECRET
	[ "$status" -eq 0 ]
	[ "$output" = 'stored cerebras (as $CEREBRAS_API_KEY)' ]
	no_secret_in_output
	[ "$(raw_value cerebras)" = "$KEY1" ]
}

@test "set --from-env with an absent variable exits 1 with a clear error and stores nothing" {
	start_daemon
	run --separate-stderr "$CLI" set cerebras --from-env CCR_TEST_SECRET </dev/null
	[ "$status" -eq 1 ]
	[ "$output" = '' ]
	[ "$stderr" = 'ccr-config: $CCR_TEST_SECRET is not set or empty; nothing stored' ]
	[ "$(key_count)" = 0 ]
}

@test "set --from-env with an empty variable exits 1 and stores nothing" {
	start_daemon
	export CCR_TEST_EMPTY=
	run --separate-stderr "$CLI" set cerebras --from-env CCR_TEST_EMPTY </dev/null
	[ "$status" -eq 1 ]
	[[ "$stderr" == *'$CCR_TEST_EMPTY is not set or empty; nothing stored'* ]]
	[ "$(key_count)" = 0 ]
}

@test "import env stores every *_API_KEY variable as a key named after it, sorted" {
	start_daemon
	export CEREBRAS_API_KEY=$KEY1 OPEN_ROUTER_API_KEY=$KEY2 GROQ_API_KEY=$KEY3
	export CCR_TEST_SECRET=$KEY4 # not *_API_KEY: not imported
	run --separate-stderr "$CLI" import env
	[ "$status" -eq 0 ]
	[ "$(import_lines)" = 'cerebras: stored (as $CEREBRAS_API_KEY)
groq: stored (as $GROQ_API_KEY)
open_router: stored (as $OPEN_ROUTER_API_KEY)' ]
	[ "$stderr" = '' ]
	no_secret_in_output
	[ "$(raw_value cerebras)" = "$KEY1" ]
	[ "$(raw_env cerebras)" = CEREBRAS_API_KEY ]
	[ "$(raw_value open_router)" = "$KEY2" ]
	[ "$(raw_env open_router)" = OPEN_ROUTER_API_KEY ]
	[ "$(raw_value groq)" = "$KEY3" ]
	[ "$(key_count)" = 3 ]
}

@test "import env run twice leaves every key unchanged and the keystore file untouched" {
	start_daemon
	export CEREBRAS_API_KEY=$KEY1 GROQ_API_KEY=$KEY3
	"$CLI" import env >/dev/null
	local before
	before=$(sha256sum "$CCR_KEYS")
	run --separate-stderr "$CLI" import env
	[ "$status" -eq 0 ]
	[ "$(import_lines)" = 'cerebras: unchanged
groq: unchanged' ]
	[ "$(sha256sum "$CCR_KEYS")" = "$before" ]
}

@test "import env leaves a key with a different value alone, imports the rest, exits 5" {
	start_daemon
	set_key cerebras "$KEY2"
	export CEREBRAS_API_KEY=$KEY1 GROQ_API_KEY=$KEY3
	run --separate-stderr "$CLI" import env
	[ "$status" -eq 5 ]
	[ "$(import_lines)" = 'cerebras: differs; use --overwrite to replace it
groq: stored (as $GROQ_API_KEY)' ]
	[ "$stderr" = 'ccr-config: 1 key left as stored; run again with --overwrite to replace it' ]
	no_secret_in_output
	[ "$(raw_value cerebras)" = "$KEY2" ]
	[ "$(raw_value groq)" = "$KEY3" ]
}

@test "import env --overwrite replaces a different value and exits 0" {
	start_daemon
	set_key cerebras "$KEY2"
	export CEREBRAS_API_KEY=$KEY1
	run --separate-stderr "$CLI" import env --overwrite
	[ "$status" -eq 0 ]
	[ "$(import_lines)" = 'cerebras: updated (as $CEREBRAS_API_KEY)' ]
	no_secret_in_output
	[ "$(raw_value cerebras)" = "$KEY1" ]
}

@test "import env --dry-run says what it would do and changes nothing" {
	start_daemon
	set_key cerebras "$KEY2"
	set_key groq "$KEY3"
	local before
	before=$(sha256sum "$CCR_KEYS")
	export CEREBRAS_API_KEY=$KEY1 GROQ_API_KEY=$KEY3 MISTRAL_API_KEY=$KEY4
	run --separate-stderr "$CLI" import env --dry-run
	[ "$status" -eq 5 ]
	[ "$output" = 'cerebras: differs; use --overwrite to replace it
groq: unchanged
mistral: would store (as $MISTRAL_API_KEY)' ]
	run --separate-stderr "$CLI" import env --dry-run --overwrite
	[ "$status" -eq 0 ]
	[ "$output" = 'cerebras: would update (as $CEREBRAS_API_KEY)
groq: unchanged
mistral: would store (as $MISTRAL_API_KEY)' ]
	no_secret_in_output
	[ "$(sha256sum "$CCR_KEYS")" = "$before" ]
	[ "$(raw_value cerebras)" = "$KEY2" ]
	[ "$(key_count)" = 2 ]
}

@test "import env --only imports just the variables named, any name allowed" {
	start_daemon
	export CEREBRAS_API_KEY=$KEY1 GROQ_API_KEY=$KEY3 MY_TOKEN=$KEY4
	run --separate-stderr "$CLI" import env --only MY_TOKEN,CEREBRAS_API_KEY
	[ "$status" -eq 0 ]
	[ "$(import_lines)" = 'cerebras: stored (as $CEREBRAS_API_KEY)
MY_TOKEN: stored (as $MY_TOKEN)' ]
	[ "$(raw_value MY_TOKEN)" = "$KEY4" ]
	[ "$(raw_env MY_TOKEN)" = MY_TOKEN ]
	[ "$(key_count)" = 2 ]
}

@test "import env --only with an unset variable exits 1 and imports nothing" {
	start_daemon
	export CEREBRAS_API_KEY=$KEY1
	run --separate-stderr "$CLI" import env --only CEREBRAS_API_KEY,GROQ_API_KEY
	[ "$status" -eq 1 ]
	[ "$stderr" = 'ccr-config: $GROQ_API_KEY is not set or empty; nothing imported' ]
	[ "$(key_count)" = 0 ]
}

@test "import env --only with something that is not a variable name is a usage error" {
	start_daemon
	export CEREBRAS_API_KEY=$KEY1
	run --separate-stderr "$CLI" import env --only cerebras
	[ "$status" -eq 2 ]
	[[ "$stderr" == *"'cerebras' is not one"* ]]
	[ "$(key_count)" = 0 ]
}

@test "import env with no *_API_KEY variable exits 1 and says so" {
	start_daemon
	run --separate-stderr "$CLI" import env
	[ "$status" -eq 1 ]
	[[ "$stderr" == *'no variable named *_API_KEY is set; nothing imported'* ]]
}

@test "import env skips empty variables and those that give no key name, with a warning" {
	start_daemon
	export CEREBRAS_API_KEY=$KEY1 GROQ_API_KEY= __X_API_KEY=$KEY4
	run --separate-stderr "$CLI" import env
	[ "$status" -eq 0 ]
	[ "$(import_lines)" = 'cerebras: stored (as $CEREBRAS_API_KEY)' ]
	[[ "$stderr" == *'skipping $GROQ_API_KEY: it is empty'* ]]
	[[ "$stderr" == *'skipping $__X_API_KEY: it does not give a key name'* ]]
	no_secret_in_output
	[ "$(key_count)" = 1 ]
}

@test "import env finds a key with that env name under another name: exists as NAME" {
	start_daemon
	set_key cb "$KEY1" --env CEREBRAS_API_KEY
	export CEREBRAS_API_KEY=$KEY1
	run --separate-stderr "$CLI" import env
	[ "$status" -eq 0 ]
	[ "$(import_lines)" = 'cerebras: unchanged (exists as cb, $CEREBRAS_API_KEY)' ]
	export CEREBRAS_API_KEY=$KEY2
	run --separate-stderr "$CLI" import env
	[ "$status" -eq 5 ]
	[ "$output" = 'cerebras: exists as cb ($CEREBRAS_API_KEY) and differs; use --overwrite to replace it' ]
	run --separate-stderr "$CLI" import env --overwrite
	[ "$status" -eq 0 ]
	[ "$(import_lines)" = 'cerebras: updated cb (as $CEREBRAS_API_KEY)' ]
	no_secret_in_output
	[ "$(raw_value cb)" = "$KEY2" ]
	[ "$(key_count)" = 1 ]
}

@test "import env and import file leave the value in no file but the keystore" {
	start_daemon
	mkdir "$BATS_TEST_TMPDIR/clienttmp"
	export CEREBRAS_API_KEY=$KEY1
	TMPDIR=$BATS_TEST_TMPDIR/clienttmp run "$CLI" import env
	[ "$status" -eq 0 ]
	printf '{"groq":"%s"}' "$KEY2" >"$BATS_TEST_TMPDIR/old-keys"
	TMPDIR=$BATS_TEST_TMPDIR/clienttmp run "$CLI" import file "$BATS_TEST_TMPDIR/old-keys"
	[ "$status" -eq 0 ]
	[ -z "$(ls -A "$BATS_TEST_TMPDIR/clienttmp")" ]
	[ "$(grep -rlF -e "$KEY1" "$BATS_TEST_TMPDIR")" = "$CCR_KEYS" ]
	[ "$(grep -rlF -e "$KEY2" "$BATS_TEST_TMPDIR" | sort)" = "$(printf '%s\n' "$CCR_KEYS" \
		"$BATS_TEST_TMPDIR/old-keys" | sort)" ]
}

@test "import env with the daemon down exits 3" {
	export CEREBRAS_API_KEY=$KEY1
	run --separate-stderr "$CLI" import env
	[ "$status" -eq 3 ]
	no_secret_in_output
}

@test "import file reads the flat form, stores default env names, leaves the file as it was" {
	start_daemon
	local f=$BATS_TEST_TMPDIR/old-keys before
	printf '{"cerebras":"%s","open-router":"%s"}\n' "$KEY1" "$KEY2" >"$f"
	chmod 644 "$f"
	before=$(sha256sum "$f"; stat -c '%a %Y' "$f")
	run --separate-stderr "$CLI" import file "$f"
	[ "$status" -eq 0 ]
	[ "$output" = 'cerebras: stored (as $CEREBRAS_API_KEY)
open-router: stored (as $OPEN_ROUTER_API_KEY)' ]
	no_secret_in_output
	[ "$(raw_value open-router)" = "$KEY2" ]
	[ "$(raw_env open-router)" = OPEN_ROUTER_API_KEY ]
	[ "$(sha256sum "$f"; stat -c '%a %Y' "$f")" = "$before" ]
}

@test "import file reads the version-1 form and keeps its env names" {
	start_daemon
	local f=$BATS_TEST_TMPDIR/v1-keys before
	printf '{"version":1,"keys":{"cerebras":{"value":"%s","env":"CEREBRAS_KEY_2",%s},"groq":{"value":"%s"}}}' \
		"$KEY1" '"created":"2026-01-02T03:04:05Z","updated":"2026-01-02T03:04:05Z"' "$KEY3" >"$f"
	before=$(sha256sum "$f")
	run --separate-stderr "$CLI" import file "$f"
	[ "$status" -eq 0 ]
	[ "$output" = 'cerebras: stored (as $CEREBRAS_KEY_2)
groq: stored (as $GROQ_API_KEY)' ]
	no_secret_in_output
	[ "$(raw_value cerebras)" = "$KEY1" ]
	[ "$(raw_env cerebras)" = CEREBRAS_KEY_2 ]
	[ "$(sha256sum "$f")" = "$before" ]
}

@test "import file follows the same conflict rules: unchanged, differs, --overwrite" {
	start_daemon
	set_key cerebras "$KEY1"
	set_key groq "$KEY2"
	local f=$BATS_TEST_TMPDIR/old-keys before
	printf '{"cerebras":"%s","groq":"%s","mistral":"%s"}' "$KEY1" "$KEY3" "$KEY4" >"$f"
	before=$(sha256sum "$f")
	run --separate-stderr "$CLI" import file "$f"
	[ "$status" -eq 5 ]
	[ "$output" = 'cerebras: unchanged
groq: differs; use --overwrite to replace it
mistral: stored (as $MISTRAL_API_KEY)' ]
	[ "$(raw_value groq)" = "$KEY2" ]
	run --separate-stderr "$CLI" import file "$f" --overwrite
	[ "$status" -eq 0 ]
	[ "$output" = 'cerebras: unchanged
groq: updated (as $GROQ_API_KEY)
mistral: unchanged' ]
	no_secret_in_output
	[ "$(raw_value groq)" = "$KEY3" ]
	[ "$(sha256sum "$f")" = "$before" ]
}

@test "import file --dry-run changes neither the keystore nor the file" {
	start_daemon
	set_key groq "$KEY2"
	local f=$BATS_TEST_TMPDIR/old-keys before keys_before
	printf '{"cerebras":"%s","groq":"%s"}' "$KEY1" "$KEY3" >"$f"
	before=$(sha256sum "$f")
	keys_before=$(sha256sum "$CCR_KEYS")
	run --separate-stderr "$CLI" import file --dry-run --overwrite "$f"
	[ "$status" -eq 0 ]
	[ "$output" = 'cerebras: would store (as $CEREBRAS_API_KEY)
groq: would update (as $GROQ_API_KEY)' ]
	no_secret_in_output
	[ "$(sha256sum "$f")" = "$before" ]
	[ "$(sha256sum "$CCR_KEYS")" = "$keys_before" ]
}

@test "import file: missing exits 1, invalid or sealed exits 5, no value in the message" {
	start_daemon
	local f=$BATS_TEST_TMPDIR/old-keys
	run --separate-stderr "$CLI" import file "$BATS_TEST_TMPDIR/nope"
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"nope does not exist; nothing imported"* ]]
	printf '{"cerebras":"%s",' "$KEY1" >"$f"
	run --separate-stderr "$CLI" import file "$f"
	[ "$status" -eq 5 ]
	[[ "$stderr" == *"nothing imported"* ]]
	no_secret_in_output
	printf '{"cerebras":"%s","bad name":"%s"}' "$KEY1" "$KEY2" >"$f"
	run --separate-stderr "$CLI" import file "$f"
	[ "$status" -eq 5 ]
	no_secret_in_output
	printf '{"version":1,"sealed":{"kdf":"argon2id13"}}' >"$f"
	run --separate-stderr "$CLI" import file "$f"
	[ "$status" -eq 5 ]
	[[ "$stderr" == *"is sealed with a passphrase"* ]]
	[ "$(key_count)" = 0 ]
}

@test "import file refuses two keys sharing an env name and imports nothing" {
	start_daemon
	local f=$BATS_TEST_TMPDIR/v1-keys
	printf '{"version":1,"keys":{"a":{"value":"%s","env":"SAME"},"b":{"value":"%s","env":"SAME"}}}' \
		"$KEY1" "$KEY2" >"$f"
	run --separate-stderr "$CLI" import file "$f"
	[ "$status" -eq 5 ]
	[[ "$stderr" == *"the keys a and b share the env name SAME; nothing imported"* ]]
	no_secret_in_output
	[ "$(key_count)" = 0 ]
}

@test "import with a wrong source or arguments is a usage error" {
	run --separate-stderr "$CLI" import
	[ "$status" -eq 2 ]
	run --separate-stderr "$CLI" import shell
	[ "$status" -eq 2 ]
	run --separate-stderr "$CLI" import file
	[ "$status" -eq 2 ]
	run --separate-stderr "$CLI" import env extra
	[ "$status" -eq 2 ]
	[[ "$stderr" == "usage: ccr-config import "* ]]
}

@test "import env ends with the variables to delete from the shell profile, and where it sets them" {
	start_daemon
	export HOME=$BATS_TEST_TMPDIR/h ZDOTDIR=
	mkdir -p "$HOME/.config/fish/conf.d"
	printf '# keys\nexport CEREBRAS_API_KEY=%s\n' "$KEY1" >"$HOME/.bashrc"
	printf 'GROQ_API_KEY="%s"\nexport GROQ_API_KEY\n' "$KEY2" >"$HOME/.zshrc"
	printf 'set -gx CEREBRAS_API_KEY %s\n' "$KEY1" >"$HOME/.config/fish/config.fish"
	printf 'if true\n  set --export --global GROQ_API_KEY %s\nend\n' "$KEY2" >"$HOME/.config/fish/conf.d/keys.fish"
	# A line that only mentions a name does not count.
	printf 'echo $CEREBRAS_API_KEY\n# CEREBRAS_API_KEY=old\n' >"$HOME/.profile"
	CEREBRAS_API_KEY=$KEY1 GROQ_API_KEY=$KEY2 MISTRAL_API_KEY=$KEY3 run --separate-stderr "$CLI" import env
	[ "$status" -eq 0 ] || fail "$status: $stderr"
	no_secret_in_output
	[[ "$output" == *$'\n\nThe keystore holds these now. Delete them from your shell profile'* ]] ||
		fail "$output"
	grep -qxF '  CEREBRAS_API_KEY  ~/.bashrc:2, ~/.config/fish/config.fish:1' <<<"$output" || fail "$output"
	grep -qxF '  GROQ_API_KEY      ~/.zshrc:1, ~/.config/fish/conf.d/keys.fish:2' <<<"$output" ||
		fail "$output"
	grep -qE '^  MISTRAL_API_KEY   \(not set in ~/.bashrc' <<<"$output" || fail "$output"
	grep -qF 'unset CEREBRAS_API_KEY GROQ_API_KEY MISTRAL_API_KEY (bash, zsh), set -e CEREBRAS_API_KEY GROQ_API_KEY MISTRAL_API_KEY (fish)' <<<"$output" ||
		fail "$output"
	# A key left as stored is not to be deleted from the profile; a dry run says nothing of it.
	CEREBRAS_API_KEY=$KEY4 GROQ_API_KEY=$KEY2 run --separate-stderr "$CLI" import env
	[ "$status" -eq 5 ] || fail "$status"
	[[ "$output" == *"  GROQ_API_KEY  ~/.zshrc:1"* && "$output" != *"  CEREBRAS_API_KEY "* ]] ||
		fail "$output"
	CEREBRAS_API_KEY=$KEY1 run --separate-stderr "$CLI" import env --dry-run
	[[ "$output" != *"shell profile"* ]] || fail "$output"
}

@test "import env leaves the variables that agents and SDKs read themselves, says why, and --only takes them" {
	start_daemon
	export HOME=$BATS_TEST_TMPDIR/h ZDOTDIR=
	mkdir -p "$HOME"
	printf 'export ANTHROPIC_API_KEY=%s\n' "$KEY1" >"$HOME/.bashrc"
	ANTHROPIC_API_KEY=$KEY1 OPENAI_API_KEY=$KEY2 GEMINI_API_KEY=$KEY4 GROQ_API_KEY=$KEY3 \
		run --separate-stderr "$CLI" import env
	[ "$status" -eq 0 ] || fail "$status: $stderr"
	no_secret_in_output
	[[ "$output" == *'anthropic: left in the environment: claude (Claude Code) and the Anthropic SDKs read $ANTHROPIC_API_KEY themselves, and would break without it in your profile (store it anyway: ccr-config import env --only ANTHROPIC_API_KEY)'* ]] ||
		fail "$output"
	[[ "$output" == *'openai: left in the environment: codex and the OpenAI SDKs read $OPENAI_API_KEY'* ]] || fail "$output"
	[[ "$output" == *'gemini: left in the environment: '* ]] || fail "$output"
	[[ "$output" == *'groq: stored (as $GROQ_API_KEY)'* ]] || fail "$output"
	[ "$(key_count)" = 1 ]
	# Only GROQ_API_KEY is to be deleted from the profile.
	[[ "$output" == *"unset GROQ_API_KEY (bash"* ]] || fail "$output"
	[[ "$output" != *"unset ANTHROPIC"* && "$output" != *"  ANTHROPIC_API_KEY  ~/.bashrc"* ]] || fail "$output"
	# Nothing else set: exit 1, having said why.
	ANTHROPIC_API_KEY=$KEY1 run --separate-stderr "$CLI" import env
	[ "$status" -eq 1 ] && [[ "$output" == *"anthropic: left in the environment"* ]] || fail "$status: $output $stderr"
	# Named with --only, it is stored, and the profile keeps it.
	ANTHROPIC_API_KEY=$KEY1 run --separate-stderr "$CLI" import env --only ANTHROPIC_API_KEY
	[ "$status" -eq 0 ] || fail "$status: $stderr"
	[[ "$output" == *'anthropic: stored (as $ANTHROPIC_API_KEY)'* ]] || fail "$output"
	[[ "$output" == *'keep $ANTHROPIC_API_KEY in your profile if you run claude (Claude Code) and the Anthropic SDKs directly'* ]] ||
		fail "$output"
	[[ "$output" != *"unset ANTHROPIC_API_KEY"* ]] || fail "$output"
	[ "$(raw_value anthropic)" = "$KEY1" ]
}
