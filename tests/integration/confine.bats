#!/usr/bin/env bats
# Agents that ccr starts are confined by the kernel (ccr-config confine, guard, ccr code):
# each attack of an agent running as the user, tried by a stand-in both confined and not,
# as root and as an unprivileged user (nobody, through setpriv), with the real kernel's
# enforcement (bubblewrap's mount and pid namespaces). Outside, every attack works (the
# test can fail); inside, none does, and everything an agent needs still works.

load helpers

setup() {
	common_setup
	command -v bwrap >/dev/null || fail "bubblewrap is not installed (.ci/deps installs it)"
	command -v tmux >/dev/null || fail "tmux is not installed (.ci/deps installs it)"
	# A world-readable place for the programs: the checkout may sit in a private directory.
	BASE=$(mktemp -d "${TMPDIR:-/tmp}/ccr-confine.XXXXXX")
	chmod 755 "$BASE"
	mkdir -p "$BASE/bin"
	cp "$CLI" "$KEYD" "$BASE/bin/"
	chmod 755 "$BASE/bin" "$BASE/bin/"*
}

teardown() {
	local pid
	for pid in ${OUTSIDE_PIDS:-}; do
		kill -KILL "$pid" 2>/dev/null || true
	done
	common_teardown
	rm -rf "$BASE"
}

# as_user WHO: the home, runtime directory and a key of WHO (root, or nobody), the daemon
# running as WHO on the default paths. Sets RUN (the command prefix), H, OUT, KEYD_PID.
as_user() {
	WHO=$1
	H=$BASE/home
	OUT=$BASE/out
	mkdir -p "$H/project" "$OUT"
	mkdir -m 700 "$H/.claude-code-router" "$BASE/run"
	printf '{"numStartups": 1}\n' >"$H/.claude.json"
	local envs=(env -i "HOME=$H" "XDG_RUNTIME_DIR=$BASE/run" "PATH=$BASE/bin:/usr/bin:/bin"
		"TMPDIR=$OUT" SHELL=/bin/sh CCR_KEYD_NO_AUTOSTART=1)
	if [ "$WHO" = root ]; then
		[ "$(id -u)" -eq 0 ] || skip "the root case needs root"
		RUN=("${envs[@]}")
	else
		[ "$(id -u)" -eq 0 ] || skip "needs root to run the test as nobody"
		command -v setpriv >/dev/null || fail "setpriv (util-linux) is missing"
		chown -R nobody:"$(id -gn nobody)" "$H" "$OUT" "$BASE/run"
		RUN=(setpriv --reuid=nobody --regid="$(id -g nobody)" --clear-groups "${envs[@]}")
		"${RUN[@]}" bwrap --dev-bind / / --unshare-pid --proc /proc -- true 2>"$OUT/userns" ||
			skip "this kernel gives an unprivileged user no namespaces: $(cat "$OUT/userns")"
	fi
	"${RUN[@]}" ccr-keyd >>"$KEYD_LOG" 2>&1 3>&- </dev/null &
	KEYD_PID=$!
	CHILD_PIDS+=("$KEYD_PID")
	wait_for_socket "$BASE/run/ccr-keyd/sock" "$KEYD_PID"
	printf '%s\n' "$KEY1" | "${RUN[@]}" ccr-config set alpha >/dev/null
}

# inside CMD: run the shell command CMD as an agent under the guard, confined.
inside() {
	run "${RUN[@]}" ccr-config guard -- sh -c "$1"
}

# outside CMD: the same stand-in, not confined.
outside() {
	run "${RUN[@]}" sh -c "$1"
}

keystore_case() {
	as_user "$1"
	outside 'cat ~/.claude-code-router/keys'
	[[ "$output" == *"$KEY1"* ]] || fail "the control could not read the keystore: $output"
	inside 'cat ~/.claude-code-router/keys
		echo "entries: $(find ~/.claude-code-router "$XDG_RUNTIME_DIR/ccr-keyd" -mindepth 1 | wc -l)"'
	echo "$output"
	[[ "$output" != *"$KEY1"* ]]
	[[ "$output" == *"keys: No such file"* ]]
	[[ "$output" == *"entries: 0"* ]]
	# Nor through the daemon: the socket is out of reach, and the client says why.
	inside 'ccr-config exec --all -- printenv ALPHA_API_KEY'
	[ "$status" -ne 0 ]
	[[ "$output" != *"$KEY1"* ]]
	[[ "$output" == *"runs confined by ccr-keyd"* ]]
}

@test "root: a confined agent cannot read the keystore file nor reach the socket" {
	keystore_case root
}

@test "unprivileged user: a confined agent cannot read the keystore file nor reach the socket" {
	keystore_case nobody
}

escape_case() {
	as_user "$1"
	# Outside, a setsid orphan and a tmux server read the keystore and ask the daemon.
	outside 'setsid -f sh -c "cat ~/.claude-code-router/keys >\"\$TMPDIR/orphan\" 2>&1"; sleep 0.5'
	wait_in "$OUT/orphan" "$KEY1"
	outside 'tmux -S "$TMPDIR/tmux0.sock" new-session -d "cat ~/.claude-code-router/keys >\"\$TMPDIR/tmux\" 2>&1; sleep 1"; sleep 1'
	wait_in "$OUT/tmux" "$KEY1"
	inside 'setsid -f sh -c "cat ~/.claude-code-router/keys >\"\$TMPDIR/c-orphan\" 2>&1;
		ccr-config exec --all -- env >>\"\$TMPDIR/c-orphan\" 2>&1"; sleep 1'
	wait_in "$OUT/c-orphan" 'runs confined by ccr-keyd'
	grep -q 'No such file' "$OUT/c-orphan"
	! grep -qF "$KEY1" "$OUT/c-orphan" || fail "the orphan read a key"
	inside 'tmux -S "$TMPDIR/tmux.sock" new-session -d "cat ~/.claude-code-router/keys >\"\$TMPDIR/c-tmux\" 2>&1; sleep 1"; sleep 1'
	wait_in "$OUT/c-tmux" 'No such file'
	! grep -qF "$KEY1" "$OUT/c-tmux" || fail "the tmux server read a key"
}

@test "root: a setsid orphan and a tmux server the agent starts are just as confined" {
	escape_case root
}

@test "unprivileged user: a setsid orphan and a tmux server the agent starts are just as confined" {
	escape_case nobody
}

replace_case() {
	as_user "$1"
	local sock=$BASE/run/ccr-keyd/sock before
	before=$(stat -c %i "$sock")
	outside "kill -0 $KEYD_PID"
	[ "$status" -eq 0 ] || fail "the control cannot signal the daemon"
	# Inside: no signal reaches the daemon, its socket can be neither removed nor
	# replaced, and a daemon of the agent's own listens only where the agent sees it.
	inside "kill -TERM $KEYD_PID; rm -f \"\$XDG_RUNTIME_DIR/ccr-keyd/sock\";
		ccr-keyd --daemon; sleep 0.3; ls -A \"\$XDG_RUNTIME_DIR/ccr-keyd\""
	echo "$output"
	alive "$KEYD_PID" || fail "the confined agent killed the daemon"
	[ "$(stat -c %i "$sock")" = "$before" ] || fail "the socket was replaced"
	run "${RUN[@]}" ccr-config status --json
	assert_json "$output" pid "$KEYD_PID"
	# The person's next unlock goes to the real daemon: it is the one that answers.
	run "${RUN[@]}" ccr-config get alpha
	[ "$status" -eq 0 ]
}

@test "root: a confined agent can neither signal the daemon nor remove or plant its socket" {
	replace_case root
}

@test "unprivileged user: a confined agent can neither signal the daemon nor remove or plant its socket" {
	replace_case nobody
}

process_case() {
	as_user "$1"
	# A router-like process of the user's, its key in its environment block.
	"${RUN[@]}" FAKE_ROUTER_KEY="$KEY2" sleep 300 &
	local p=$!
	OUTSIDE_PIDS="$p"
	local i
	for i in $(seq 50); do
		grep -qaF "$KEY2" "/proc/$p/environ" 2>/dev/null && break
		sleep 0.02
	done
	outside "cat /proc/$p/environ; head -c 16 /proc/$p/mem >/dev/null 2>&1; echo mem=\$?"
	[[ "$output" == *"$KEY2"* ]] || fail "the control could not read the environ: $output"
	inside "cat /proc/$p/environ; cat /proc/$p/mem; kill -ABRT $p; kill -0 $p && echo SIGNALLED"
	echo "$output"
	[[ "$output" != *"$KEY2"* ]]
	[[ "$output" != *SIGNALLED* ]]
	alive "$p" || fail "the confined agent signalled a process outside"
	# The ccr-config that started the agent is outside too.
	inside 'ps -eo pid=,comm= | grep -c . ; ps -eo comm= | grep -c ccr-keyd || true'
	echo "$output"
	[ "$(printf '%s\n' "$output" | tail -n 1)" = 0 ]
}

@test "root: a confined agent cannot read, trace or signal a process outside" {
	process_case root
}

@test "unprivileged user: a confined agent cannot read, trace or signal a process outside" {
	process_case nobody
}

recognized_case() {
	as_user "$1"
	# A confined agent that reaches the socket all the same (here: a confinement that does
	# not hide it) is known by its pid namespace, also by a daemon started after it was.
	local leak=(bwrap --dev-bind / / --unshare-pid --proc /proc --)
	run "${RUN[@]}" "${leak[@]}" ccr-config exec --all -- printenv ALPHA_API_KEY
	[ "$status" -eq 4 ]
	[[ "$output" == *"a confinement (another pid namespace)"* ]]
	[[ "$output" != *"$KEY1"* ]]
	stop_daemon "$KEYD_PID"
	"${RUN[@]}" ccr-keyd >>"$KEYD_LOG" 2>&1 3>&- </dev/null &
	KEYD_PID=$!
	CHILD_PIDS+=("$KEYD_PID")
	wait_for_socket "$BASE/run/ccr-keyd/sock" "$KEYD_PID"
	run "${RUN[@]}" "${leak[@]}" ccr-config get alpha --json
	[[ "$output" != *"$KEY1"* ]]
	run "${RUN[@]}" "${leak[@]}" ccr-config exec --all -- printenv ALPHA_API_KEY
	[ "$status" -eq 4 ]
	# The same client outside is served.
	run "${RUN[@]}" ccr-config exec --all -- printenv ALPHA_API_KEY
	[ "$output" = "$KEY1" ]
}

@test "root: the daemon refuses a confined peer, also after it restarts" {
	recognized_case root
}

@test "unprivileged user: the daemon refuses a confined peer, also after it restarts" {
	recognized_case nobody
}

controls_case() {
	as_user "$1"
	# A loopback listener outside, as the router is.
	node -e 'const s = require("net").createServer((c) => c.end("router\n"));
		s.listen(0, "127.0.0.1", () => console.log(s.address().port));
		setTimeout(() => process.exit(0), 20000);' >"$OUT/port" &
	OUTSIDE_PIDS="$!"
	wait_in "$OUT/port" '[0-9]'
	local port
	port=$(head -n 1 "$OUT/port")
	inside "set -e
		cd ~/project
		echo edited >file.txt
		printf 'all:\n\t@echo made >made.txt\n' >Makefile
		make -s
		git -c user.name=t -c user.email=t@example.invalid init -q repo
		git -C repo -c user.name=t -c user.email=t@example.invalid commit -q --allow-empty -m one
		printf '{\"numStartups\": 2}\n' >~/.claude.json.tmp
		mv ~/.claude.json.tmp ~/.claude.json
		cat ~/.claude.json
		echo new >~/brand-new-file
		cat ~/brand-new-file
		"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(cat "$H/project/file.txt")" = edited ]
	[ "$(cat "$H/project/made.txt")" = made ]
	[ -d "$H/project/repo/.git" ]
	grep -q '"numStartups": 2' "$H/.claude.json"
	[ "$(cat "$H/brand-new-file")" = new ]
	run "${RUN[@]}" ccr-config guard -- bash -c "exec 3<>/dev/tcp/127.0.0.1/$port; head -n 1 <&3"
	[ "$output" = router ]
}

@test "root: a confined agent keeps its project, HOME (new files, renames), git, make and loopback" {
	controls_case root
}

@test "unprivileged user: a confined agent keeps its project, HOME (new files, renames), git, make and loopback" {
	controls_case nobody
}

@test "guard --no-confine, and a machine without bubblewrap: the guard alone, and it says so" {
	as_user root
	inside 'echo $CCR_KEYD_CONFINED'
	[ "$output" = bubblewrap ]
	run "${RUN[@]}" ccr-config guard --no-confine -- sh -c 'cat ~/.claude-code-router/keys'
	[[ "$output" == *"$KEY1"* ]]
	# No bwrap: a view of the system where /usr/bin/bwrap is /dev/null, not executable.
	run bwrap --dev-bind / / --ro-bind /dev/null /usr/bin/bwrap -- "${RUN[@]}" \
		ccr-config guard -- sh -c 'echo ran; cat ~/.claude-code-router/keys'
	echo "$output"
	[[ "$output" == *"runs under the guard only, not confined: bubblewrap is not installed"* ]]
	[[ "$output" == *ran* ]]
	[[ "$output" == *"$KEY1"* ]] # never silently: it said so, and this is what it means
}

@test "shell-init --agents: claude in bash, zsh and fish runs under the guard, confined" {
	as_user root
	mkdir -p "$BASE/agents"
	printf '#!/bin/sh\necho "agent:${CCR_KEYD_CONFINED:-bare}"\ncat ~/.claude-code-router/keys 2>&1\n' \
		>"$BASE/agents/claude"
	chmod 755 "$BASE/agents/claude"
	local sh
	for sh in bash zsh fish; do
		case $sh in
		fish) run "${RUN[@]}" PATH="$BASE/agents:$BASE/bin:/usr/bin:/bin" fish --no-config -c \
			'ccr-config shell-init --agents fish | source; claude' ;;
		*) run "${RUN[@]}" PATH="$BASE/agents:$BASE/bin:/usr/bin:/bin" "$sh" -c \
			'eval "$(ccr-config shell-init --agents '"$sh"')"; claude' ;;
		esac
		echo "$sh: $output"
		[[ "$output" == *"agent:bubblewrap"* ]]
		[[ "$output" != *"$KEY1"* ]]
	done
	run "${RUN[@]}" bash -c 'eval "$(ccr-config shell-init --agents bash)"; echo "$CCR_KEYD_WRAPS_AGENTS"'
	[ "$output" = 1 ]
}

@test "check says whether agents run confined here, and whether this shell wraps them" {
	mkdir -p "$CCR_HOME"
	printf '{"Providers":[]}\n' >"$CCR_HOME/config.json"
	run --separate-stderr "$CLI" --json check
	assert_json "$output" agents.confined true
	assert_json "$output" agents.wrapped false
	CCR_KEYD_WRAPS_AGENTS=1 run --separate-stderr "$CLI" --json check
	assert_json "$output" agents.wrapped true
	# Where the kernel cannot, it says why.
	run --separate-stderr bwrap --dev-bind / / --ro-bind /dev/null /usr/bin/bwrap -- \
		"$CLI" --json check
	assert_json "$output" agents.confined false
	[[ "$(jget agents.why "$output")" == *"bubblewrap is not installed"* ]]
}
