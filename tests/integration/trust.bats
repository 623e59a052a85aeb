#!/usr/bin/env bats
# Trust only your own daemon, and never inject a name that changes how programs
# load:
# - a daemon planted by another uid (tests/tools/planted, run as nobody through
#   setpriv) where the clients look — XDG_RUNTIME_DIR in a shared sticky
#   directory — receives nothing from ccr-config or the Node module, even when
#   root has made its directory and socket look like ours;
# - every name on the refused list (tests/tools/envlist, common/names.c) is
#   refused by set, import and migrate and never injected by exec --all or the
#   Node module, even from a keystore file that holds it;
# - an auto-started daemon keeps no descriptor of its starter above stderr.

load helpers

NODE_MOD=$(cd "$BATS_TEST_DIRNAME/../../client/node" && pwd)/index.cjs
ENVLIST=$CCR_BUILD/tools/envlist
PLANTED=$CCR_BUILD/tools/planted

setup() {
	common_setup
	for bin in "$ENVLIST" "$PLANTED"; do
		[ -x "$bin" ] || fail "$bin is missing; run: make $bin"
	done
	TRUST_BASE=
}

teardown() {
	common_teardown
	[ -z "${PLANTED_PID:-}" ] || kill "$PLANTED_PID" 2>/dev/null || true
	[ -z "$TRUST_BASE" ] || rm -rf "$TRUST_BASE"
}

# needs_other_uid: skip, saying why, where a second uid cannot be had.
needs_other_uid() {
	[ "$(id -u)" -eq 0 ] || skip "needs root to run the planted daemon as nobody"
	command -v setpriv >/dev/null || skip "needs setpriv (util-linux)"
	getent passwd nobody >/dev/null || skip "needs the user nobody"
}

# plant: a shared sticky directory as XDG_RUNTIME_DIR, where nobody has made
# ccr-keyd/ and listens on ccr-keyd/sock, recording what it receives in $RECORD.
plant() {
	needs_other_uid
	TRUST_BASE=$(mktemp -d "${TMPDIR:-/tmp}/ccr-trust.XXXXXX")
	chmod 711 "$TRUST_BASE"
	SHARED=$TRUST_BASE/shared
	mkdir -m 1777 "$SHARED"
	RECORD=$TRUST_BASE/record
	: >"$RECORD"
	chown nobody "$RECORD"
	setpriv --reuid=nobody --regid="$(id -g nobody)" --clear-groups -- \
		mkdir -m 755 "$SHARED/ccr-keyd"
	PLANTED_SOCKET=$SHARED/ccr-keyd/sock
	setpriv --reuid=nobody --regid="$(id -g nobody)" --clear-groups -- \
		"$PLANTED" "$RECORD" "$PLANTED_SOCKET" >"$TRUST_BASE/planted.out" 2>&1 3>&- </dev/null &
	PLANTED_PID=$!
	for i in $(seq 1 250); do
		grep -q listening "$TRUST_BASE/planted.out" && break
		sleep 0.02
	done
	[ -S "$PLANTED_SOCKET" ] || fail "the planted daemon did not start: $(cat "$TRUST_BASE/planted.out")"
	export XDG_RUNTIME_DIR=$SHARED
	unset CCR_KEYD_SOCKET CCR_KEYD_NO_AUTOSTART # the default path, auto-start allowed
	mkdir -p "$CCR_HOME"
	printf '%s\n' '{"Providers":[{"name":"openai","api_key":"$OPENAI_API_KEY"}]}' >"$CCR_HOME/config.json"
}

# disguise: what only root could do — the planted directory and socket now
# belong to us, mode 0700, so that only the server's uid tells them apart.
disguise() {
	chown root:root "$SHARED/ccr-keyd" "$PLANTED_SOCKET"
	chmod 700 "$SHARED/ccr-keyd"
}

# assert_nothing_received: the planted daemon's record is empty.
assert_nothing_received() {
	[ ! -s "$RECORD" ] || fail "the planted daemon received:" "$(cat "$RECORD")"
}

# the_commands: set, unlock, passphrase, exec and list, each of which must
# stop with exit 4 and a line matching $1 (a glob), before sending anything.
the_commands_refuse() {
	local want=$1
	run --separate-stderr "$CLI" set openai <<<"$KEY1"
	[ "$status" -eq 4 ] && [[ "$stderr" == $want ]] || fail "set: $status: $stderr"
	[[ "$output" != *stored* ]] || fail "set: $output"
	run --separate-stderr "$CLI" unlock --stdin <<<"csk-test-passphrase"
	[ "$status" -eq 4 ] && [[ "$stderr" == $want ]] || fail "unlock: $status: $stderr"
	run --separate-stderr "$CLI" passphrase set --stdin <<<"csk-test-passphrase"
	[ "$status" -eq 4 ] && [[ "$stderr" == $want ]] || fail "passphrase: $status: $stderr"
	run --separate-stderr "$CLI" exec -- sh -c 'echo "[${OPENAI_API_KEY-unset}] [${OPENAI_BASE_URL-unset}]"'
	[ "$status" -eq 4 ] && [[ "$stderr" == $want ]] || fail "exec: $status: $stderr"
	[[ "$output" != *planted* ]] || fail "exec injected: $output"
	run --separate-stderr "$CLI" exec --all -- sh -c 'echo "[${OPENAI_BASE_URL-unset}]"'
	[ "$status" -eq 4 ] && [[ "$stderr" == $want ]] || fail "exec --all: $status: $stderr"
	[[ "$output" != *planted* ]] || fail "exec --all injected: $output"
	run --separate-stderr "$CLI" list
	[ "$status" -eq 4 ] && [[ "$stderr" == $want ]] || fail "list: $status: $stderr"
	assert_nothing_received
}

# node_attempts: what the Node module makes of the socket its rules find, as
# one JSON line: per call its value or its error code and message.
node_attempts() {
	cat >"$BATS_TEST_TMPDIR/attempt.cjs" <<'EOF'
const k = require(process.env.NODE_MOD);
(async () => {
	const out = {};
	const attempt = async (what, f) => {
		try {
			out[what] = { value: await f() };
		} catch (e) {
			out[what] = { code: e.code, message: e.message };
		}
	};
	const warnings = [];
	const env = { ...process.env, OPENAI_API_KEY: 'csk-test-from-the-environment' };
	await attempt('getKey', () => k.getKey('openai'));
	await attempt('resolve', () => k.resolve(['OPENAI_API_KEY']));
	await attempt('strict', () => k.interpolateEnvVars('$OPENAI_API_KEY', { strict: true }));
	await attempt('sync', () => k.interpolateEnvVarsSync('$OPENAI_API_KEY', { strict: true }));
	await attempt('fallback', () => k.interpolateEnvVars('$OPENAI_API_KEY',
		{ env, warn: (m) => warnings.push(m) }));
	out.warnings = warnings;
	console.log(JSON.stringify(out));
})();
EOF
	NODE_MOD=$NODE_MOD node "$BATS_TEST_TMPDIR/attempt.cjs"
}

# assert_node_refused JSON GLOB: every call failed with untrusted, its message
# matching GLOB; the fallback took the environment's value, with one warning.
assert_node_refused() {
	local call
	for call in getKey resolve strict sync; do
		assert_json "$1" "$call.code" untrusted
		[[ "$(jget "$call.message" "$1")" == $2 ]] || fail "$call: $(jget "$call.message" "$1")"
	done
	assert_json "$1" fallback.value csk-test-from-the-environment
	[[ "$(jget warnings.0 "$1")" == $2 ]] || fail "warning: $1"
}

@test "a daemon planted by another uid in a shared sticky directory gets nothing from ccr-config" {
	plant
	the_commands_refuse "ccr-config: refusing to talk to $PLANTED_SOCKET: its directory $SHARED/ccr-keyd is not yours (owner uid $(id -u nobody),"*"nothing was sent"*
}

@test "a planted daemon whose directory and socket look like ours is refused by its uid" {
	plant
	disguise
	the_commands_refuse "ccr-config: refusing to talk to $PLANTED_SOCKET: the process listening there runs as uid $(id -u nobody), not as you"*
}

@test "auto-start spawns nothing in a socket directory of another uid" {
	plant
	kill "$PLANTED_PID"
	wait "$PLANTED_PID" 2>/dev/null || true
	PLANTED_PID=
	rm -f "$PLANTED_SOCKET"
	before=$(ls -la "$SHARED/ccr-keyd")
	run --separate-stderr "$CLI" list
	[ "$status" -eq 4 ] || fail "$status: $stderr"
	[[ "$stderr" == "ccr-config: refusing to talk to $PLANTED_SOCKET: its directory $SHARED/ccr-keyd is not yours (owner uid $(id -u nobody),"* ]] ||
		fail "$stderr"
	[ -z "$(pids_with_arg "$PLANTED_SOCKET")" ] || fail "a ccr-keyd was started there"
	[ "$(ls -la "$SHARED/ccr-keyd")" = "$before" ] || fail "something was created in it"
}

@test "the Node module sends nothing to a daemon planted in a shared sticky directory" {
	plant
	run node_attempts
	[ "$status" -eq 0 ] || fail "$output"
	assert_node_refused "$output" "refusing to talk to ccr-keyd at $PLANTED_SOCKET: its directory $SHARED/ccr-keyd is not yours (owner uid $(id -u nobody),*nothing was sent*"
	assert_nothing_received
}

@test "the Node module sends a planted daemon that looks like ours only a hello it cannot answer" {
	plant
	disguise
	run node_attempts
	[ "$status" -eq 0 ] || fail "$output"
	assert_node_refused "$output" "refusing to talk to ccr-keyd at $PLANTED_SOCKET: the process listening there did not prove that it runs as you*"
	# Five connections, each with a hello naming a proof file and nothing else.
	[ "$(wc -l <"$RECORD")" -eq 5 ] || fail "$(cat "$RECORD")"
	while IFS= read -r line; do
		assert_json "$line" op hello
		[ "$(jget . "$line" | grep -o '"[a-z]*":' | sort | paste -sd' ')" = '"id": "op": "proof":' ] ||
			fail "more than a hello: $line"
		[[ "$(jget proof "$line")" == "$SHARED/ccr-keyd/.ccr-proof-"* ]] || fail "$line"
		[ ! -e "$(jget proof "$line")" ] || fail "the proof file was left behind"
	done <"$RECORD"
	refute_secret "$(cat "$RECORD")" csk-test-from-the-environment
}

@test "the real daemon, as our own uid, proves itself to the Node module" {
	start_daemon
	set_key openai "$KEY1"
	export CCR_KEYD_SOCKET
	run node_attempts
	[ "$status" -eq 0 ] || fail "$output"
	assert_json "$output" getKey.value.value "$KEY1"
	assert_json "$output" strict.value "$KEY1"
	assert_json "$output" sync.value "$KEY1"
	[ -z "$(find "$(dirname "$CCR_KEYD_SOCKET")" -name '.ccr-proof-*')" ] || fail "a proof file was left behind"
}

@test "hello echoes a proof only from a .ccr-proof- file directly in the socket's directory" {
	start_daemon
	dir=$(dirname "$CCR_KEYD_SOCKET")
	token=$(printf '%064x' 42)
	# hello_proof PATH: the proof the daemon echoes for PATH ("" for none).
	hello_proof() {
		local r
		r=$(req "{\"op\":\"hello\",\"proof\":\"$1\"}")
		assert_ok "$r"
		jget proof "$r" || true
	}
	# What the Node module writes: echoed, however the directory is spelled.
	printf '%s' "$token" >"$dir/.ccr-proof-1-abcd"
	chmod 600 "$dir/.ccr-proof-1-abcd"
	[ "$(hello_proof "$dir/.ccr-proof-1-abcd")" = "$token" ] || fail "the proof was not echoed"
	[ "$(hello_proof "$dir/../$(basename "$dir")/.ccr-proof-1-abcd")" = "$token" ]
	# A hex key elsewhere, one in the directory under another name, one a level
	# down, and a link to one: never read.
	secret=$BATS_TEST_TMPDIR/secrets
	mkdir -m 700 "$secret" "$dir/sub"
	for f in "$secret/.ccr-proof-key" "$secret/key" "$dir/key" "$dir/sub/.ccr-proof-2" \
		"$dir/.ccr-proof-"; do
		printf '%s' "$token" >"$f"
		chmod 600 "$f"
		[ -z "$(hello_proof "$f")" ] || fail "the daemon echoed $f"
	done
	ln -s "$secret/key" "$dir/.ccr-proof-link"
	[ -z "$(hello_proof "$dir/.ccr-proof-link")" ] || fail "the daemon followed a link"
}

# ---- names that change how programs load ----

# samples: one env name per entry of the refused list ("LD_*" gives LD_X).
samples() {
	"$ENVLIST" | sed 's/\*$/X/'
}

@test "every sample of the refused list is refused, and the list is not empty" {
	[ "$(samples | wc -l)" -gt 50 ]
	run "$ENVLIST" $(samples)
	[ "$(grep -c allowed <<<"$output")" -eq 0 ] || fail "$output"
	# names that only look alike stay allowed
	run "$ENVLIST" OPENAI_API_KEY GEMINI_API_KEY GITHUB_TOKEN GOOGLE_API_KEY PATHFINDER_API_KEY
	[ "$(grep -c refused <<<"$output")" -eq 0 ] || fail "$output"
}

@test "set refuses every refused env name, naming it, before reading the key" {
	start_daemon
	for env in $(samples); do
		run --separate-stderr "$CLI" set k --env "$env" <<<"$KEY1"
		[ "$status" -eq 2 ] || fail "$env: $status: $stderr"
		[[ "$stderr" == "ccr-config: \$$env changes how programs load or where they look"*"nothing stored" ]] ||
			fail "$env: $stderr"
	done
	run "$CLI" --json list
	assert_json "$output" keys '[]'
}

@test "the daemon refuses every refused env name at set, given or by default" {
	start_daemon
	for env in $(samples); do
		run req "{\"op\":\"set\",\"name\":\"k\",\"env\":\"$env\",\"value\":\"csk-test-x\"}"
		assert_error "$output" invalid_name
		[[ "$(jget message "$output")" == "\$$env changes how programs load"* ]] || fail "$output"
	done
	# a key name that is its own env name, and one whose default is refused
	run --separate-stderr "$CLI" set PATH <<<"$KEY1"
	[ "$status" -eq 5 ] && [[ "$stderr" == *"\$PATH changes how programs load"* ]] || fail "$stderr"
	run --separate-stderr "$CLI" set node <<<"$KEY1"
	[ "$status" -eq 5 ] && [[ "$stderr" == *"\$NODE_API_KEY changes how programs load"* ]] || fail "$stderr"
	run "$CLI" --json list
	assert_json "$output" keys '[]'
}

@test "import file skips every key with a refused env name, naming it, and stores the rest" {
	start_daemon
	{
		printf '{"version":1,"keys":{"good":{"value":"%s","env":"GOOD_API_KEY"}' "$KEY1"
		i=0
		for env in $(samples); do
			printf ',"k%d":{"value":"csk-test-planted-%d","env":"%s"}' "$i" "$i" "$env"
			i=$((i + 1))
		done
		printf '}}\n'
	} >"$BATS_TEST_TMPDIR/old-keys"
	run --separate-stderr "$CLI" import file "$BATS_TEST_TMPDIR/old-keys"
	[ "$status" -eq 5 ] || fail "$status: $stderr"
	i=0
	for env in $(samples); do
		grep -qxF "k$i: skipped: \$$env changes how programs load or where they look, so ccr-keyd never stores it; store the key under another env name with: ccr-config set NAME --env VAR" <<<"$output" ||
			fail "k$i ($env) not named: $output"
		i=$((i + 1))
	done
	grep -qx 'good: stored (as $GOOD_API_KEY)' <<<"$output" || fail "$output"
	run "$CLI" --json list
	assert_json "$output" keys.0.name good
	refute_json "$output" keys.1
}

@test "import env refuses a refused variable with --only, and skips one that ends in _API_KEY" {
	start_daemon
	run --separate-stderr "$CLI" import env --only LD_PRELOAD
	[ "$status" -eq 2 ] || fail "$status: $stderr"
	[[ "$stderr" == "ccr-config: \$LD_PRELOAD changes how programs load"*"nothing imported" ]] || fail "$stderr"
	NODE_API_KEY=csk-test-node GOOD_API_KEY=$KEY1 run --separate-stderr "$CLI" import env
	[ "$status" -eq 5 ] || fail "$status: $stderr"
	grep -q '^node: skipped: \$NODE_API_KEY changes how programs load' <<<"$output" || fail "$output"
	grep -qx 'good: stored (as $GOOD_API_KEY)' <<<"$output" || fail "$output"
}

@test "migrate leaves a provider whose env name is refused in the config and stores nothing for it" {
	start_daemon
	mkdir -p "$CCR_HOME"
	{
		printf '{"Providers":[{"name":"good","api_key":"%s"}' "$KEY1"
		planted=0
		for env in $(samples) node git ld; do
			[[ "$env" =~ ^[A-Za-z0-9] ]] || continue # a provider name must be a key name
			printf ',{"name":"%s","api_key":"csk-test-planted-%d"}' "$env" "$planted"
			planted=$((planted + 1))
		done
		printf ']}\n'
	} >"$CCR_HOME/config.json"
	run --separate-stderr "$CLI" migrate
	[ "$status" -eq 5 ] || fail "$status: $stderr"
	for env in $(samples) node git ld; do
		[[ "$env" =~ ^[A-Za-z0-9] ]] || continue
		grep -q "^$env: its env name \\\$[A-Z0-9_]* changes how programs load or where they look, so ccr-keyd never stores it; skipped" <<<"$output" ||
			fail "$env not skipped: $output"
	done
	grep -q '"api_key":"$GOOD_API_KEY"' "$CCR_HOME/config.json" || fail "good was not migrated"
	n=$(grep -o csk-test-planted "$CCR_HOME/config.json" | wc -l)
	[ "$n" -eq "$planted" ] || fail "a refused literal moved: $n of $planted left"
	run "$CLI" --json list
	assert_json "$output" keys.0.name good
	refute_json "$output" keys.1
}

# plant_keystore: a keystore file that holds every sample as an env name (as
# one written before this check, or by someone else) and one good key.
plant_keystore() {
	local i=0 env
	{
		printf '{"version":1,"keys":{"good":{"value":"%s","env":"GOOD_API_KEY"}' "$KEY1"
		for env in $(samples); do
			printf ',"k%d":{"value":"csk-test-planted-%d","env":"%s"}' "$i" "$i" "$env"
			i=$((i + 1))
		done
		printf '}}'
	} >"$BATS_TEST_TMPDIR/keys.json"
	write_keystore "$(cat "$BATS_TEST_TMPDIR/keys.json")"
}

@test "exec --all never injects a refused name a keystore file holds, and names each" {
	plant_keystore
	start_daemon
	run --separate-stderr "$CLI" exec --all -- /usr/bin/env
	[ "$status" -eq 0 ] || fail "$status: $stderr"
	grep -qx "GOOD_API_KEY=$KEY1" <<<"$output" || fail "the good key was not injected"
	! grep -q csk-test-planted <<<"$output" || fail "injected: $(grep csk-test-planted <<<"$output")"
	i=0
	for env in $(samples); do
		[[ "$stderr" == *"not injecting k$i: its env name \$$env changes how programs load"* ]] ||
			fail "k$i ($env) not named: $stderr"
		i=$((i + 1))
	done
	# and a config that references them injects none either
	mkdir -p "$CCR_HOME"
	samples | sed 's/^/$/' | paste -sd' ' | sed 's/.*/{"api_key":"& $GOOD_API_KEY"}/' >"$CCR_HOME/config.json"
	run --separate-stderr "$CLI" exec -- /usr/bin/env
	[ "$status" -eq 0 ] || fail "$status: $stderr"
	grep -qx "GOOD_API_KEY=$KEY1" <<<"$output" || fail "the good key was not injected"
	! grep -q csk-test-planted <<<"$output" || fail "injected: $(grep csk-test-planted <<<"$output")"
}

@test "resolve never returns a refused name a keystore file holds, in either form" {
	plant_keystore
	start_daemon
	names=$(samples | sed 's/.*/"&"/' | paste -sd,)
	run req "{\"op\":\"resolve\",\"env\":[$names,\"GOOD_API_KEY\"]}"
	assert_ok "$output"
	assert_json "$output" values "{\"GOOD_API_KEY\":\"$KEY1\"}"
	for env in LD_X PATH _JAVA_OPTIONS; do
		run req "{\"op\":\"resolve\",\"env\":\"$env\"}"
		assert_json "$output" values '{}'
	done
}

@test "the Node module never substitutes a refused name a keystore file holds" {
	plant_keystore
	start_daemon
	run env NODE_MOD="$NODE_MOD" CCR_KEYD_SOCKET="$CCR_KEYD_SOCKET" SAMPLES="$(samples)" node -e '
		const k = require(process.env.NODE_MOD);
		(async () => {
			const names = process.env.SAMPLES.split("\n");
			const text = names.map((n) => "$" + n).join(" ") + " $GOOD_API_KEY";
			const opts = { socket: process.env.CCR_KEYD_SOCKET, env: {}, strict: true };
			const out = {
				resolved: await k.resolve([...names, "GOOD_API_KEY"], opts),
				text: await k.interpolateEnvVars(text, opts),
				sync: k.interpolateEnvVarsSync(text, opts),
			};
			console.log(JSON.stringify(out));
		})();'
	[ "$status" -eq 0 ] || fail "$output"
	assert_json "$output" resolved "{\"GOOD_API_KEY\":\"$KEY1\"}"
	want="$(samples | sed 's/^/$/' | paste -sd' ') $KEY1"
	assert_json "$output" text "$want"
	assert_json "$output" sync "$want"
}

@test "the Node module's REFUSED_ENV is common/names.c's list, entry for entry" {
	run node -e 'console.log(require(process.argv[1]).REFUSED_ENV.join("\n"))' "$NODE_MOD"
	[ "$status" -eq 0 ] || fail "$output"
	diff <("$ENVLIST") <(printf '%s\n' "$output") || fail "the lists differ (< C, > Node)"
	# and both match names the same way
	probe="$(samples) OPENAI_API_KEY LD PATHX XPATH PYTHON NODE _JAVA_OPTIONSX GIT"
	run node -e 'const k = require(process.argv[1]);
		for (const n of process.argv.slice(2)) console.log(k.isRefusedEnv(n) ? "refused" : "allowed");' \
		"$NODE_MOD" $probe
	[ "$output" = "$("$ENVLIST" $probe)" ] || fail "the verdicts differ"
}

@test "README, ccr-config(1) and PROTOCOL.md list every refused name" {
	root=$BATS_TEST_DIRNAME/../..
	man=$(MANWIDTH=1000 man -E ascii -l "$root/docs/ccr-config.1" 2>/dev/null | col -b |
		sed -n '/^REFUSED ENVIRONMENT NAMES/,/^[A-Z]/p' | tr ',' '\n' | tr -d ' \t')
	[ -n "$man" ] || fail "ccr-config.1 has no section REFUSED ENVIRONMENT NAMES"
	for entry in $("$ENVLIST"); do
		for doc in README.md docs/PROTOCOL.md; do
			grep -qF -- "\`$entry\`" "$root/$doc" || fail "$doc does not list $entry"
		done
		grep -qxF -- "$entry" <<<"$man" || fail "ccr-config.1 does not list $entry"
	done
}

# ---- auto-start ----

@test "an auto-started daemon holds no descriptor of its starter above stderr" {
	unset CCR_KEYD_NO_AUTOSTART
	mkdir -p "$CCR_HOME"
	(
		exec 7>"$BATS_TEST_TMPDIR/held-file" 8> >(cat >/dev/null)
		readlink "/proc/$BASHPID/fd/8" >"$BATS_TEST_TMPDIR/held-pipe"
		exec "$CLI" list
	) >/dev/null
	pid=$(pids_with_arg "$CCR_KEYD_SOCKET")
	[ -n "$pid" ] || fail "no auto-started daemon on $CCR_KEYD_SOCKET"
	DETACHED_PIDS+=($pid)
	fds=$(for f in /proc/"$pid"/fd/*; do printf '%s -> %s\n' "${f##*/}" "$(readlink "$f")"; done)
	! grep -qF "$BATS_TEST_TMPDIR/held-file" <<<"$fds" || fail "it holds the file:" "$fds"
	! grep -qF "$(cat "$BATS_TEST_TMPDIR/held-pipe")" <<<"$fds" || fail "it holds the pipe:" "$fds"
	# Above stderr only what the daemon opened itself: sockets, libuv's event fds
	# and pipes (not the one held above), its own files.
	while read -r fd _ target; do
		[ "$fd" -gt 2 ] || continue
		[[ "$target" == socket:* || "$target" == anon_inode:* || "$target" == pipe:* ||
			"$target" == "$CCR_HOME"/* || "$target" == /dev/null || "$target" == /dev/urandom ]] ||
			fail "unexpected descriptor $fd -> $target"
	done <<<"$fds"
}
