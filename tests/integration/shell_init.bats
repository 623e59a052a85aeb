#!/usr/bin/env bats
# ccr-config shell-init: the `ccr` function in bash, zsh and fish. `ccr config …`
# must be ccr-config, every other `ccr …` the router through `ccr-config router --`,
# with every argument passed through intact (spaces, quotes, globs, empty ones):
# `ccr start` with the preload and no key in its environment, every other
# command as is, without the daemon and without a word of ours.
# The "router" here is a stand-in script on PATH that prints its arguments, the
# key and NODE_OPTIONS it was given; the real router runs in tests/e2e/.

load helpers

setup() {
	common_setup
	mkdir -p "$CCR_HOME" "$BATS_TEST_TMPDIR/bin"
	printf '{ "Providers": [ { "name": "cerebras", "api_key": "$CEREBRAS_API_KEY" } ] }\n' \
		>"$CCR_HOME/config.json"
	# A stand-in for the router's `ccr`: one line per argument, then the key it sees.
	cat >"$BATS_TEST_TMPDIR/bin/ccr" <<'SH'
#!/bin/sh
for a in "$@"; do printf 'arg[%s]\n' "$a"; done
printf 'key[%s]\n' "${CEREBRAS_API_KEY-unset}"
printf 'nodeopt[%s]\n' "${NODE_OPTIONS-unset}"
printf 'pid[%s]\n' "$$"
SH
	chmod +x "$BATS_TEST_TMPDIR/bin/ccr"
	export PATH="$BATS_TEST_TMPDIR/bin:$PATH"
	start_daemon
	set_key cerebras "$KEY1"
}

teardown() {
	common_teardown
}

# The arguments every shell passes, and what the stand-in must print for them.
EXPECTED_ARGS="arg[start]
arg[two words]
arg[it's]
arg[say \"hi\"]
arg[*]
arg[]
arg[\$HOME]"

# assert_preloaded: the stand-in got the preload in NODE_OPTIONS and no key in its environment.
assert_preloaded() {
	[[ "$output" == *"key[unset]"* ]] || fail "a key reached the router's environment:" "$output"
	[[ "$output" == *"nodeopt[--require="*"/client/node/preload.cjs]"* ]] ||
		fail "the router was not started with the preload:" "$output"
}

# assert_plain: the stand-in ran as is: no key, no preload, and nothing but its own lines.
assert_plain() {
	[[ "$output" == *"key[unset]"* ]] || fail "a key reached the router's environment:" "$output"
	[[ "$output" == *"nodeopt[unset]"* ]] || fail "the preload was passed:" "$output"
	[[ "$output" != *ccr-config* && "$output" != *ccr-keyd* ]] || fail "we printed something:" "$output"
}

@test "bash: ccr start runs the router with the preload, no key, and every argument intact" {
	run bash -c 'eval "$("$1" shell-init bash)"; ccr start "two words" "it'"'"'s" "say \"hi\"" "*" "" '"'"'$HOME'"'"'' _ "$CLI"
	[ "$status" -eq 0 ] || fail "status $status: $output"
	[[ "$output" == "$EXPECTED_ARGS"* ]] || fail "arguments changed:" "$output"
	assert_preloaded
}

@test "ccr start adds no stored value to the router's environment; an exported one stays as the fallback" {
	export CEREBRAS_API_KEY=$KEY2
	run bash -c 'eval "$("$1" shell-init bash)"; ccr start' _ "$CLI"
	[ "$status" -eq 0 ] || fail "status $status: $output"
	# Exported by the user, the variable stays (the router falls back to it); the stored
	# value is never added.
	[[ "$output" == *"key[$KEY2]"* ]] || fail "$output"
	refute_secret "$output" "$KEY1"
}

@test "ccr status, stop and -v run the router as is, with the daemon stopped or locked, printing nothing of ours" {
	local cmd
	kill9_daemon "$KEYD_PID"
	for cmd in status stop -v version model; do
		run bash -c 'eval "$("$1" shell-init bash)"; ccr "$2" </dev/null' _ "$CLI" "$cmd"
		[ "$status" -eq 0 ] || fail "$cmd: status $status: $output"
		[ "$output" = "arg[$cmd]"$'\n'"key[unset]"$'\n'"nodeopt[unset]"$'\n'"pid[${output##*pid[}" ] ||
			fail "$cmd:" "$output"
		assert_plain
	done
	# Autostart allowed: still no daemon is started for them.
	unset CCR_KEYD_NO_AUTOSTART
	run bash -c 'eval "$("$1" shell-init bash)"; ccr status </dev/null' _ "$CLI"
	[ "$status" -eq 0 ] || fail "$output"
	! answers "$CCR_KEYD_SOCKET" || fail "ccr status started a daemon"
}

@test "ccr status and stop run as is with the keystore locked; ccr start refuses (exit 4) off a terminal" {
	printf 'pass-for-tests\npass-for-tests\n' | "$CLI" passphrase set --stdin >/dev/null
	"$CLI" lock
	run bash -c 'eval "$("$1" shell-init bash)"; ccr stop </dev/null' _ "$CLI"
	[ "$status" -eq 0 ] || fail "$output"
	assert_plain
	run bash -c 'eval "$("$1" shell-init bash)"; ccr start </dev/null' _ "$CLI"
	[ "$status" -eq 4 ] || fail "status $status: $output"
	[[ "$output" == *"locked"*"ccr-config unlock"* ]] || fail "$output"
	[[ "$output" != *"arg[start]"* ]] || fail "the router started anyway: $output"
}

@test "ccr start with the daemon unreachable exits 3 without starting the router" {
	kill9_daemon "$KEYD_PID"
	run bash -c 'eval "$("$1" shell-init bash)"; ccr start </dev/null' _ "$CLI"
	[ "$status" -eq 3 ] || fail "status $status: $output"
	[[ "$output" != *"arg[start]"* ]] || fail "the router started anyway: $output"
	run "$CLI" router --fallback-env -- start
	[ "$status" -eq 0 ] || fail "status $status: $output"
	[[ "$output" == *"--fallback-env"* ]] || fail "$output"
	[[ "$output" == *"arg[start]"* ]] || fail "$output"
}

@test "bash: ccr config is ccr-config, with its arguments" {
	run bash -c 'eval "$("$1" shell-init bash)"; ccr config get cerebras' _ "$CLI"
	[ "$status" -eq 0 ] || fail "status $status: $output"
	[[ "$output" == "cerebras  CEREBRAS_API_KEY  csk-…f2a9  updated "* ]] || fail "$output"
	run bash -c 'eval "$("$1" shell-init bash)"; ccr config get missing-key' _ "$CLI"
	[ "$status" -eq 1 ] || fail "exit status not passed through: $status"
}

@test "bash: the router's exit status is the function's" {
	printf '#!/bin/sh\nexit 7\n' >"$BATS_TEST_TMPDIR/bin/ccr"
	run bash -c 'eval "$("$1" shell-init bash)"; ccr status' _ "$CLI"
	[ "$status" -eq 7 ]
}

@test "exec becomes the command: same pid, no ccr-config left as a parent" {
	# The pid ccr-config was started with is the pid the command reports.
	run bash -c '"$1" exec -- sh -c '"'"'echo "inner[$$]"'"'"' & echo "outer[$!]"; wait' _ "$CLI"
	[ "$status" -eq 0 ] || fail "$output"
	inner=$(sed -n 's/^inner\[\(.*\)\]$/\1/p' <<<"$output")
	outer=$(sed -n 's/^outer\[\(.*\)\]$/\1/p' <<<"$output")
	[ -n "$inner" ] && [ "$inner" = "$outer" ] || fail "exec forked: $output"
}

@test "zsh: ccr start runs the router with the preload, no key, and every argument intact" {
	run zsh -f -c 'eval "$("$1" shell-init zsh)"; ccr start "two words" "it'"'"'s" "say \"hi\"" "*" "" '"'"'$HOME'"'"'' _ "$CLI"
	[ "$status" -eq 0 ] || fail "status $status: $output"
	[[ "$output" == "$EXPECTED_ARGS"* ]] || fail "arguments changed:" "$output"
	assert_preloaded
	kill9_daemon "$KEYD_PID"
	run zsh -f -c 'eval "$("$1" shell-init zsh)"; ccr status </dev/null' _ "$CLI"
	[ "$status" -eq 0 ] || fail "status $status: $output"
	assert_plain
}

@test "zsh: ccr config is ccr-config" {
	run zsh -f -c 'eval "$("$1" shell-init zsh)"; ccr config list' _ "$CLI"
	[ "$status" -eq 0 ] || fail "status $status: $output"
	[[ "$output" == *"cerebras"*"CEREBRAS_API_KEY"*"csk-…f2a9"* ]] || fail "$output"
}

@test "fish: ccr start and ccr config work the same way" {
	run fish --no-config -c "$CLI shell-init fish | source; ccr start 'two words' \"it's\" 'say \"hi\"' '*' '' '\$HOME'"
	[ "$status" -eq 0 ] || fail "status $status: $output"
	[[ "$output" == "$EXPECTED_ARGS"* ]] || fail "arguments changed:" "$output"
	assert_preloaded
	run fish --no-config -c "$CLI shell-init fish | source; ccr config get cerebras"
	[[ "$output" == "cerebras  CEREBRAS_API_KEY  csk-…f2a9"* ]] || fail "$output"
	kill9_daemon "$KEYD_PID"
	run fish --no-config -c "$CLI shell-init fish | source; ccr stop </dev/null"
	[ "$status" -eq 0 ] || fail "status $status: $output"
	assert_plain
}

@test "shell-init prints a path that survives spaces and quotes in its own location" {
	dir="$BATS_TEST_TMPDIR/odd dir's \"place\""
	mkdir -p "$dir"
	cp "$CLI" "$dir/ccr-config"
	cp "$KEYD" "$dir/ccr-keyd"
	run bash -c 'eval "$("$1" shell-init bash)"; ccr config get cerebras' _ "$dir/ccr-config"
	[ "$status" -eq 0 ] || fail "status $status: $output"
	run zsh -f -c 'eval "$("$1" shell-init zsh)"; ccr config get cerebras' _ "$dir/ccr-config"
	[ "$status" -eq 0 ] || fail "zsh: status $status: $output"
	run fish --no-config -c "'$dir/ccr-config' shell-init fish | source; ccr config get cerebras"
	[ "$status" -eq 0 ] || fail "fish: status $status: $output"
}

@test "shell-init refuses an unknown shell with exit 2" {
	run "$CLI" shell-init tcsh
	[ "$status" -eq 2 ]
	[[ "$output" == *"bash, zsh or fish"* ]]
}

@test "zsh: the eval exits 0 without compinit, also under set -e, and bash and fish exit 0 too" {
	run zsh -f -c 'set -e; eval "$("$1" shell-init zsh)"; echo after' _ "$CLI"
	[ "$status" -eq 0 ] || fail "zsh: status $status: $output"
	[[ "$output" == *after* ]] || fail "zsh: set -e stopped the script: $output"
	run zsh -f -c 'eval "$("$1" shell-init zsh)"' _ "$CLI"
	[ "$status" -eq 0 ] || fail "zsh: the eval's status is $status: $output"
	run zsh -f -c 'autoload -U compinit; compinit -u -D; eval "$("$1" shell-init zsh)"' _ "$CLI"
	[ "$status" -eq 0 ] || fail "zsh after compinit: status $status: $output"
	run bash --norc --noprofile -c 'set -e; eval "$("$1" shell-init bash)"; echo after' _ "$CLI"
	[ "$status" -eq 0 ] && [[ "$output" == *after* ]] || fail "bash: status $status: $output"
	run fish --no-config -c "$CLI shell-init fish | source; and echo after"
	[ "$status" -eq 0 ] && [[ "$output" == *after* ]] || fail "fish: status $status: $output"
}

@test "zsh: completion registers when compinit runs after the eval, as in a .zshrc" {
	# An interactive zsh -f reading its lines from a pipe runs precmd before each prompt.
	run zsh -f -i 2>/dev/null <<ZSH
eval "\$('$CLI' shell-init zsh)"
autoload -U compinit; compinit -u -D
print -r -- "comp[\${_comps[ccr]}]"
print -r -- "hook[\${(M)precmd_functions:#_ccr_compdef}]"
ZSH
	[[ "$output" == *"comp[_ccr_shell]"* ]] || fail "completion not registered:" "$output"
	[[ "$output" == *"hook[]"* ]] || fail "the precmd hook stayed:" "$output"
	# Before compinit, too: registered at once.
	run zsh -f -c 'autoload -U compinit; compinit -u -D; eval "$("$1" shell-init zsh)"; print -r -- "comp[${_comps[ccr]}]"' _ "$CLI"
	[[ "$output" == *"comp[_ccr_shell]"* ]] || fail "completion not registered after compinit:" "$output"
}
