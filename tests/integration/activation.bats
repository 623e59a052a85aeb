#!/usr/bin/env bats
# Started at login: the systemd user units pass systemd-analyze verify; the
# daemon serves a socket handed over by systemd-socket-activate and ends by
# itself with --idle-exit; the unit's ExecStart also works without a socket; and
# what the daemon really does (traced) fits the hardening the unit declares.
# Every process is stopped by its pid.

load helpers

setup() {
	export TZ=UTC CCR_KEYD_NO_AUTOSTART=1
	export HOME=$BATS_TEST_TMPDIR/user
	export CCR_HOME=$BATS_TEST_TMPDIR/home
	export CCR_KEYS=$CCR_HOME/keys
	unset XDG_RUNTIME_DIR CCR_KEYD_SOCKET CCR_KEYD_BIN LISTEN_PID LISTEN_FDS LISTEN_FDNAMES
	RUN=$BATS_TEST_TMPDIR/run
	SOCK=$RUN/sock
	LOG=$BATS_TEST_TMPDIR/keyd.log
	PIDS=()
	mkdir -p -m 700 "$RUN" "$HOME"
	[ -x "$KEYD" ] && [ -x "$CLI" ] || fail "build the binaries first: make"
}

teardown() {
	local pid
	for pid in "${PIDS[@]}"; do
		alive "$pid" || continue
		kill -TERM "$pid" 2>/dev/null || true
		wait_gone "$pid" 2000 || kill -KILL "$pid" 2>/dev/null || true
	done
	if [ -z "${BATS_TEST_COMPLETED:-}" ] && [ -s "$LOG" ]; then
		printf '# --- daemon log ---\n' >&2
		sed 's/^/# /' "$LOG" >&2
	fi
}

# wait_socket PATH [PID]: wait up to 5 s for the socket file PATH to appear.
wait_socket() {
	local i
	for ((i = 0; i < 250; i++)); do
		[ -S "$1" ] && return 0
		if [ -n "${2:-}" ] && ! alive "$2"; then
			fail "pid $2 exited before $1 appeared"
			return 1
		fi
		sleep 0.02
	done
	fail "no socket at $1 within 5 s"
}

# field JSON NAME: the string or number member NAME of a flat JSON object.
field() {
	printf '%s\n' "$1" | grep -o "\"$2\":\\(\"[^\"]*\"\\|[0-9]*\\)" | head -1 |
		sed 's/^"[^"]*"://; s/^"//; s/"$//'
}

# exec_args: the arguments of the service's ExecStart after the program.
exec_args() {
	sed -n 's/^ExecStart=@BINDIR@\/ccr-keyd *//p' "$ROOT/systemd/ccr-keyd.service.in"
}

# The environment systemd-socket-activate passes on. It starts the daemon with
# an empty environment plus what -E names, so without these the daemon would
# find the real home in /etc/passwd and serve the user's own keystore.
sandbox_env() {
	local v
	for v in HOME CCR_HOME CCR_KEYS XDG_RUNTIME_DIR; do
		[ -n "${!v:-}" ] && printf -- '-E\n%s=%s\n' "$v" "${!v}"
	done
	return 0
}

# activate ARGS...: run the unit's ExecStart behind systemd-socket-activate on
# $SOCK, ARGS appended; sets PID (systemd-socket-activate becomes the daemon).
activate() {
	local env
	mapfile -t env < <(sandbox_env)
	# shellcheck disable=SC2046
	systemd-socket-activate "${env[@]}" -l "$SOCK" "$KEYD" $(exec_args) "$@" \
		>>"$LOG" 2>&1 </dev/null &
	PID=$!
	PIDS+=("$PID")
	wait_socket "$SOCK" "$PID"
}

# stage_units DIR: the units in DIR, ExecStart pointing at the built daemon.
stage_units() {
	mkdir -p "$1"
	cp "$ROOT/systemd/ccr-keyd.socket" "$1/"
	sed "s|@BINDIR@|$CCR_BUILD|g" "$ROOT/systemd/ccr-keyd.service.in" >"$1/ccr-keyd.service"
}

# verify_units DIR: systemd-analyze verify on the user units in DIR.
# --user: these are user units (%t is $XDG_RUNTIME_DIR, the user manager's rules
# apply); in user mode systemd-analyze needs $XDG_RUNTIME_DIR to exist, or it
# stops with "Failed to lookup RuntimeDirectory path: No such device or
# address", so it gets a private one. Documentation=man: pages are looked up
# with man(1): MANPATH points at the pages in docs/, so a missing page fails
# instead of being skipped with --man=no.
verify_units() {
	local man=$BATS_TEST_TMPDIR/man
	mkdir -p "$man/man1" "$man/man8" "$BATS_TEST_TMPDIR/xdg"
	cp "$ROOT/docs/ccr-config.1" "$man/man1/"
	cp "$ROOT/docs/ccr-keyd.8" "$man/man8/"
	XDG_RUNTIME_DIR=$BATS_TEST_TMPDIR/xdg MANPATH=$man \
		systemd-analyze --user verify "$1/ccr-keyd.socket" "$1/ccr-keyd.service" 2>&1
}

@test "systemd-analyze verify accepts the user units, the daemon they run and their man pages" {
	stage_units "$BATS_TEST_TMPDIR/units"
	run verify_units "$BATS_TEST_TMPDIR/units"
	[ "$status" -eq 0 ] || fail "exit $status" "$output"
	[ -z "$output" ] || fail "systemd-analyze complained:" "$output"
}

@test "systemd-analyze verify does complain about a broken unit (the check above can fail)" {
	stage_units "$BATS_TEST_TMPDIR/units"
	sed -i 's/^NoNewPrivileges=/NoNewPrivilegez=/' "$BATS_TEST_TMPDIR/units/ccr-keyd.service"
	run verify_units "$BATS_TEST_TMPDIR/units"
	[[ "$output" == *"Unknown key 'NoNewPrivilegez'"* ]] || fail "$output"
	stage_units "$BATS_TEST_TMPDIR/units2"
	sed -i "s|^ExecStart=[^ ]*|ExecStart=$BATS_TEST_TMPDIR/nonexistent|" \
		"$BATS_TEST_TMPDIR/units2/ccr-keyd.service"
	run verify_units "$BATS_TEST_TMPDIR/units2"
	[ "$status" -ne 0 ] || fail "a missing ExecStart binary passed" "$output"
}

@test "the socket unit owns %t/ccr-keyd/sock, 0600 in a 0700 directory, for the service of the same name" {
	local unit=$ROOT/systemd/ccr-keyd.socket
	grep -qx 'ListenStream=%t/ccr-keyd/sock' "$unit"
	grep -qx 'SocketMode=0600' "$unit"
	grep -qx 'DirectoryMode=0700' "$unit"
	! grep -q '^Accept=yes' "$unit" || fail "the socket unit accepts per connection"
	grep -qx 'WantedBy=sockets.target' "$unit"
	# The service runs without the socket too: no hard dependency on it.
	! grep -Eq '^(Requires|BindsTo)=.*ccr-keyd.socket' "$ROOT/systemd/ccr-keyd.service.in" ||
		fail "the service requires its socket"
	[ -n "$(exec_args)" ] || fail "no ExecStart=@BINDIR@/ccr-keyd line"
}

@test "the service is hardened with the settings an unprivileged user manager applies" {
	local unit=$ROOT/systemd/ccr-keyd.service.in d
	for d in NoNewPrivileges=yes LockPersonality=yes MemoryDenyWriteExecute=yes \
		RestrictAddressFamilies=AF_UNIX SystemCallArchitectures=native UMask=0077 \
		RestrictRealtime=yes RestrictSUIDSGID=yes RestrictNamespaces=yes LimitCORE=0; do
		grep -qx "$d" "$unit" || fail "missing $d"
	done
	grep -q '^SystemCallFilter=@system-service' "$unit"
	# What is left out is said, with the reason, in the unit itself.
	for d in ProtectSystem ProtectHome PrivateTmp CapabilityBoundingSet; do
		grep -q "^# .*$d=" "$unit" || fail "no comment on why $d= is left out"
		! grep -q "^$d=" "$unit" || fail "$d= needs namespaces or privileges"
	done
}

@test "a request through a socket from systemd-socket-activate is answered, and status says socket-activated" {
	activate
	printf '%s\n' "$KEY1" | "$CLI" --socket "$SOCK" set cerebras >/dev/null
	run "$CLI" --socket "$SOCK" get cerebras
	[ "$status" -eq 0 ]
	[[ "$output" == "cerebras  CEREBRAS_API_KEY  csk-"* ]] || fail "$output"
	run "$CLI" --socket "$SOCK" --json status
	[ "$status" -eq 0 ]
	[ "$(field "$output" started)" = socket-activated ] || fail "$output"
	# systemd-socket-activate execs the daemon: the pid we watch is the daemon.
	[ "$(field "$output" pid)" = "$PID" ] || fail "status pid is not $PID" "$output"
	run "$CLI" --socket "$SOCK" status
	[[ "$output" == *"started socket-activated"* ]] || fail "$output"
}

@test "with --idle-exit the socket-activated daemon ends by itself, exits 0 and leaves the socket it was given" {
	local t0 t1 rc=0
	activate --idle-exit 1
	run "$CLI" --socket "$SOCK" list
	[ "$status" -eq 0 ]
	t0=$EPOCHREALTIME
	wait_gone "$PID" 6000 || fail "pid $PID still runs 6 s after its last connection"
	t1=$EPOCHREALTIME
	wait "$PID" || rc=$?
	[ "$rc" -eq 0 ] || fail "exit status $rc"
	# Not before it was idle for a second (allow the sweep's granularity).
	awk -v a="$t0" -v b="$t1" 'BEGIN { exit !(b - a >= 0.7) }' ||
		fail "exited $(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }') s after the request"
	grep -q 'exiting (--idle-exit)' "$LOG"
	[ -S "$SOCK" ] || fail "the daemon removed a socket it did not create"
}

@test "the unit's ExecStart without a socket binds the default path under XDG_RUNTIME_DIR itself" {
	local rc=0
	export XDG_RUNTIME_DIR=$BATS_TEST_TMPDIR/xdg
	mkdir -m 700 "$XDG_RUNTIME_DIR"
	# shellcheck disable=SC2046
	"$KEYD" $(exec_args) >>"$LOG" 2>&1 </dev/null &
	PID=$!
	PIDS+=("$PID")
	wait_socket "$XDG_RUNTIME_DIR/ccr-keyd/sock" "$PID"
	[ "$(stat -c %a "$XDG_RUNTIME_DIR/ccr-keyd")" = 700 ]
	[ "$(stat -c %a "$XDG_RUNTIME_DIR/ccr-keyd/sock")" = 600 ]
	run "$CLI" --json status
	[ "$status" -eq 0 ]
	[ "$(field "$output" started)" = "by hand" ] || fail "$output"
	kill -TERM "$PID"
	wait_gone "$PID" 5000 || fail "no exit within 5 s of SIGTERM"
	wait "$PID" || rc=$?
	[ "$rc" -eq 0 ]
	[ ! -e "$XDG_RUNTIME_DIR/ccr-keyd/sock" ] || fail "its own socket was left behind"
}

@test "listening fds meant for another pid are not taken" {
	LISTEN_PID=1 LISTEN_FDS=1 LISTEN_FDNAMES=x "$KEYD" --socket "$SOCK" >>"$LOG" 2>&1 </dev/null &
	PID=$!
	PIDS+=("$PID")
	wait_socket "$SOCK" "$PID"
	run "$CLI" --socket "$SOCK" --json status
	[ "$(field "$output" started)" = "by hand" ] || fail "$output"
}

# --- what the daemon does, traced, against the unit's seccomp settings ---

# syscall_groups: "group member" lines for every group systemd knows.
syscall_groups() {
	systemd-analyze syscall-filter 2>/dev/null | awk '
		/^@/ { g = $1; next }
		/^[[:space:]]+[@a-z0-9_]/ && g != "" { print g, $1 }'
}

# allowed_syscalls: every call the unit's SystemCallFilter= lines allow, in
# systemd's order: the first line is an allow list, "~" lines remove, others add.
allowed_syscalls() {
	local -A members allowed
	local g m line word neg
	while read -r g m; do
		members[$g]+="$m "
	done < <(syscall_groups)
	expand() {
		local w
		for w in "$@"; do
			if [[ $w == @* ]]; then
				# shellcheck disable=SC2086
				expand ${members[$w]}
			else
				printf '%s\n' "$w"
			fi
		done
	}
	while read -r line; do
		neg=0
		[[ $line == "~"* ]] && neg=1 && line=${line#\~}
		for word in $(expand $line); do
			if ((neg)); then unset "allowed[$word]"; else allowed[$word]=1; fi
		done
	done < <(sed -n 's/^SystemCallFilter=//p' "$ROOT/systemd/ccr-keyd.service.in")
	printf '%s\n' "${!allowed[@]}" | sort
}

# trace_workload MODE: run the daemon under strace, socket-activated or bound by
# itself, through set/get/list/status/delete, SIGHUP and its end; leaves the
# trace of the daemon (after its execve) in $BATS_TEST_TMPDIR/trace.MODE.
trace_workload() {
	local mode=$1 out=$BATS_TEST_TMPDIR/trace.$1 sock=$RUN/$1.sock pid rc=0 env
	# LeakSanitizer cannot run under ptrace, and the sanitizer runtime's own
	# calls and mappings are not the installed daemon's: trace the plain build.
	[ "${SANITIZE:-}" != 1 ] || skip "traced in the plain build (make test without SANITIZE)"
	command -v strace >/dev/null || fail "strace is missing: add it to .ci/deps"
	if [ "$mode" = activated ]; then
		mapfile -t env < <(sandbox_env)
		strace -f -qq -o "$out.raw" systemd-socket-activate "${env[@]}" -l "$sock" "$KEYD" \
			--keys "$CCR_KEYS" --idle-exit 1 >>"$LOG" 2>&1 </dev/null &
	else
		strace -f -qq -o "$out.raw" "$KEYD" --socket "$sock" --keys "$CCR_KEYS" \
			>>"$LOG" 2>&1 </dev/null &
	fi
	PID=$!
	PIDS+=("$PID")
	wait_socket "$sock" "$PID"
	printf '%s\n' "$KEY1" | "$CLI" --socket "$sock" set cerebras >/dev/null
	"$CLI" --socket "$sock" get cerebras >/dev/null
	"$CLI" --socket "$sock" list >/dev/null
	pid=$(field "$("$CLI" --socket "$sock" --json status)" pid)
	[ -n "$pid" ] || fail "no pid in status"
	# Stopping strace would leave its tracee running: teardown stops both.
	PIDS+=("$pid")
	kill -HUP "$pid"
	sleep 0.2
	"$CLI" --socket "$sock" delete cerebras >/dev/null
	[ "$mode" = activated ] || kill -TERM "$pid"
	wait_gone "$PID" 8000 || fail "the traced daemon did not end"
	wait "$PID" || rc=$?
	[ "$rc" -eq 0 ] || fail "the traced daemon exited with $rc"
	awk '/execve\("[^"]*\/ccr-keyd"/ { on = 1 } on' "$out.raw" >"$out"
	[ -s "$out" ] || fail "no execve of ccr-keyd in the trace"
}

# used_syscalls FILE...: the system calls in strace output, one a line.
used_syscalls() {
	sed -nE 's/^[0-9]+ +([a-z0-9_]+)\(.*/\1/p' "$@" | sort -u
}

@test "every system call the daemon makes is allowed by the unit's SystemCallFilter" {
	trace_workload activated
	trace_workload bound
	allowed_syscalls >"$BATS_TEST_TMPDIR/allowed"
	[ "$(wc -l <"$BATS_TEST_TMPDIR/allowed")" -gt 100 ] || fail "could not expand the filter"
	used_syscalls "$BATS_TEST_TMPDIR"/trace.activated "$BATS_TEST_TMPDIR"/trace.bound \
		>"$BATS_TEST_TMPDIR/used"
	grep -qx accept4 "$BATS_TEST_TMPDIR/used" || fail "the trace missed the workload"
	run comm -23 "$BATS_TEST_TMPDIR/used" "$BATS_TEST_TMPDIR/allowed"
	[ -z "$output" ] || fail "refused under the unit (EPERM):" $output
}

@test "the daemon opens only AF_UNIX sockets, maps nothing writable and executable, changes no personality" {
	trace_workload bound
	local t=$BATS_TEST_TMPDIR/trace.bound
	grep -qE ' socket\(AF_UNIX' "$t" || fail "no socket() in the trace"
	! grep -E ' socket\(' "$t" | grep -v 'socket(AF_UNIX' || fail "RestrictAddressFamilies=AF_UNIX"
	! grep -E ' (mmap|mprotect|pkey_mprotect)\(.*PROT_WRITE\|PROT_EXEC' "$t" ||
		fail "MemoryDenyWriteExecute"
	! grep -E ' (mprotect|pkey_mprotect)\(.*PROT_EXEC' "$t" || fail "MemoryDenyWriteExecute"
	! grep -E ' personality\([^0]' "$t" || fail "LockPersonality"
	! grep -E ' (chmod|fchmod|fchmodat)\(.*(S_ISUID|S_ISGID|0[4-7][0-7]{3})' "$t" ||
		fail "RestrictSUIDSGID"
	! grep -E ' (unshare|setns)\(|CLONE_NEW' "$t" || fail "RestrictNamespaces"
}
