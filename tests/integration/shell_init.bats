#!/usr/bin/env bats
# ccr-config shell-init: the `ccr` function in bash, zsh and fish. `ccr config …`
# must be ccr-config, every other `ccr …` the router under `ccr-config exec --`,
# with every argument passed through intact (spaces, quotes, globs, empty ones).
# The "router" here is a stand-in script on PATH that prints its arguments and
# the key it was given; the real router runs in tests/e2e/router.bats.

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

@test "bash: ccr start runs the router under exec with its key and every argument intact" {
	run bash -c 'eval "$("$1" shell-init bash)"; ccr start "two words" "it'"'"'s" "say \"hi\"" "*" "" '"'"'$HOME'"'"'' _ "$CLI"
	[ "$status" -eq 0 ] || fail "status $status: $output"
	[[ "$output" == "$EXPECTED_ARGS"* ]] || fail "arguments changed:" "$output"
	[[ "$output" == *"key[$KEY1]"* ]] || fail "the router did not get the stored key"
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

@test "zsh: ccr start runs the router under exec with its key and every argument intact" {
	run zsh -f -c 'eval "$("$1" shell-init zsh)"; ccr start "two words" "it'"'"'s" "say \"hi\"" "*" "" '"'"'$HOME'"'"'' _ "$CLI"
	[ "$status" -eq 0 ] || fail "status $status: $output"
	[[ "$output" == "$EXPECTED_ARGS"* ]] || fail "arguments changed:" "$output"
	[[ "$output" == *"key[$KEY1]"* ]] || fail "the router did not get the stored key"
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
	[[ "$output" == *"key[$KEY1]"* ]] || fail "the router did not get the stored key"
	run fish --no-config -c "$CLI shell-init fish | source; ccr config get cerebras"
	[[ "$output" == "cerebras  CEREBRAS_API_KEY  csk-…f2a9"* ]] || fail "$output"
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
