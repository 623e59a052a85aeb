#!/usr/bin/env bats
# Process hygiene, read back from the kernel: not dumpable, no core file,
# umask 077, refuses to run set-uid or set-gid, stdin on /dev/null, and no
# file descriptor leaked across a thousand connections.
#
# How "not dumpable" is checked. PR_SET_DUMPABLE is not in /proc/PID/status,
# and PR_GET_DUMPABLE answers only for the calling process. What the flag
# does is visible from outside, though, through two kernel rules:
#  1. proc_pid_make_inode/task_dump_owner: the /proc/PID files of a process
#     that is not dumpable are owned by root, not by the process's uid;
#  2. ptrace_may_access: a process of the same uid without CAP_SYS_PTRACE may
#     not read /proc/PID/environ (PTRACE_MODE_READ) of a process that is not
#     dumpable — the very protection PR_SET_DUMPABLE 0 is for. Yama does not
#     change read-mode checks, so only dumpability can explain a refusal.
# Both need the daemon to run as an unprivileged uid (root would pass the
# ptrace check and own the files anyway), so as root the daemon runs as
# nobody via setpriv. A control process of the same uid (sleep) shows the
# opposite on both counts, so the test cannot pass for another reason.

load helpers
load ../faults/lib

setup() {
	lib_setup
	SHARED_DIR=
}

teardown() {
	common_teardown
	[ -z "$SHARED_DIR" ] || rm -rf "$SHARED_DIR"
}

# as_nobody CMD...: run CMD as uid/gid 65534 with no groups.
as_nobody() {
	setpriv --reuid=65534 --regid=65534 --clear-groups -- "$@"
}

# nobody_paths: a home, keystore and socket that uid 65534 owns, outside the
# bats directory (which only root may enter). Sets SHARED_DIR and the CCR_ paths.
nobody_paths() {
	SHARED_DIR=$(mktemp -d "${TMPDIR:-/tmp}/ccr-hygiene.XXXXXX")
	chmod 711 "$SHARED_DIR"
	mkdir -m 700 "$SHARED_DIR/home" "$SHARED_DIR/run"
	chown 65534:65534 "$SHARED_DIR/home" "$SHARED_DIR/run"
	export CCR_HOME=$SHARED_DIR/home CCR_KEYS=$SHARED_DIR/home/keys
	export CCR_KEYD_SOCKET=$SHARED_DIR/run/sock
}

@test "the daemon is not dumpable: its /proc files are root's and its own uid may not read its environ" {
	under_memcheck && skip "valgrind's process is not the daemon's own"
	[ "$(id -u)" -eq 0 ] || skip "needs root to run the daemon as another uid"
	nobody_paths
	# setpriv itself, not a function: $! must be the daemon's pid.
	setpriv --reuid=65534 --regid=65534 --clear-groups -- "$KEYD" >>"$KEYD_LOG" 2>&1 3>&- </dev/null &
	KEYD_PID=$!
	CHILD_PIDS+=("$KEYD_PID")
	keyd_wait "$CCR_KEYD_SOCKET" "$KEYD_PID"
	setpriv --reuid=65534 --regid=65534 --clear-groups -- sleep 30 3>&- &
	control=$!
	CHILD_PIDS+=("$control")
	sleep 0.1
	[ "$(stat -c %u /proc/"$KEYD_PID")" = 65534 ] # it does run as nobody
	[ "$(awk '/^Uid:/ { print $2, $3 }' /proc/"$KEYD_PID"/status)" = "65534 65534" ]
	# 1. /proc files owned by root: the kernel's mark of a process that is not dumpable.
	[ "$(stat -c %u /proc/"$KEYD_PID"/status)" = 0 ] || fail "/proc/$KEYD_PID/status is not root's: dumpable"
	[ "$(stat -c %u /proc/"$control"/status)" = 65534 ]
	# 2. The same uid may not read it as a debugger would.
	run as_nobody cat /proc/"$KEYD_PID"/environ
	[ "$status" -ne 0 ] && [[ "$output" == *"Permission denied"* ]] ||
		fail "uid 65534 read the daemon's environ: it is dumpable"
	run as_nobody cat /proc/"$control"/environ
	[ "$status" -eq 0 ]
	note "dumpable: /proc/$KEYD_PID/status owned by uid 0, environ refused to its own uid 65534;" \
		"control: owned by 65534, readable"
	kill "$control"
	keyd_stop "$KEYD_PID"
}

@test "core files are off (RLIMIT_CORE 0 0) even when started with unlimited cores, and umask is 077" {
	CCR_KEYD_WRAPPER="prlimit --core=unlimited:unlimited -- ${CCR_KEYD_WRAPPER:-}" keyd_start
	grep -E '^Max core file size +0 +0 +bytes' /proc/"$KEYD_PID"/limits ||
		fail "$(grep core /proc/"$KEYD_PID"/limits)"
	[ "$(prlimit --core=unlimited:unlimited -- cat /proc/self/limits | awk '/core/ { print $5 }')" = unlimited ]
	[ "$(awk '/^Umask:/ { print $2 }' /proc/"$KEYD_PID"/status)" = 0077 ]
	note "$(grep core /proc/"$KEYD_PID"/limits); Umask $(awk '/^Umask:/ { print $2 }' /proc/"$KEYD_PID"/status)"
	keyd_stop "$KEYD_PID"
}

# setid_copy MODE: a copy of ccr-keyd owned by root with MODE, where nobody may run it.
setid_copy() {
	nobody_paths
	if findmnt -no OPTIONS -T "$SHARED_DIR" | grep -qw nosuid; then
		skip "$SHARED_DIR is on a nosuid filesystem"
	fi
	cp "$KEYD" "$SHARED_DIR/ccr-keyd"
	chown 0:0 "$SHARED_DIR/ccr-keyd"
	chmod "$1" "$SHARED_DIR/ccr-keyd"
}

@test "a set-uid copy refuses to run" {
	under_memcheck && skip "the daemon binary is a valgrind wrapper"
	[ "$(id -u)" -eq 0 ] || skip "needs root to make a set-uid copy run as another uid"
	setid_copy 4755
	run -1 as_nobody "$SHARED_DIR/ccr-keyd"
	[[ "$output" == *"refusing to run set-uid or set-gid"* ]] || fail "$output"
	[ ! -e "$CCR_KEYD_SOCKET" ]
	[ ! -e "$CCR_KEYS" ] && [ ! -e "$CCR_KEYS.lock" ] # refused before touching anything
}

@test "a set-gid copy refuses to run" {
	under_memcheck && skip "the daemon binary is a valgrind wrapper"
	[ "$(id -u)" -eq 0 ] || skip "needs root to make a set-gid copy run as another gid"
	setid_copy 2755
	run -1 as_nobody "$SHARED_DIR/ccr-keyd"
	[[ "$output" == *"refusing to run set-uid or set-gid"* ]] || fail "$output"
	[ ! -e "$CCR_KEYD_SOCKET" ]
}

@test "stdin is /dev/null whether the daemon was given a file, a pipe or no stdin at all" {
	echo 'not for the daemon' >"$BATS_TEST_TMPDIR/stdin"
	${CCR_KEYD_WRAPPER:-} "$KEYD" >>"$KEYD_LOG" 2>&1 3>&- <"$BATS_TEST_TMPDIR/stdin" &
	KEYD_PID=$!
	CHILD_PIDS+=("$KEYD_PID")
	keyd_wait "$CCR_KEYD_SOCKET" "$KEYD_PID"
	[ "$(readlink /proc/"$KEYD_PID"/fd/0)" = /dev/null ]
	keyd_stop "$KEYD_PID"
	mkfifo "$BATS_TEST_TMPDIR/pipe"
	${CCR_KEYD_WRAPPER:-} "$KEYD" >>"$KEYD_LOG" 2>&1 3>&- <"$BATS_TEST_TMPDIR/pipe" &
	KEYD_PID=$!
	CHILD_PIDS+=("$KEYD_PID")
	exec {writer}>"$BATS_TEST_TMPDIR/pipe"
	keyd_wait "$CCR_KEYD_SOCKET" "$KEYD_PID"
	[ "$(readlink /proc/"$KEYD_PID"/fd/0)" = /dev/null ]
	keyd_stop "$KEYD_PID"
	exec {writer}>&-
	${CCR_KEYD_WRAPPER:-} "$KEYD" >>"$KEYD_LOG" 2>&1 3>&- 0<&- &
	KEYD_PID=$!
	CHILD_PIDS+=("$KEYD_PID")
	keyd_wait "$CCR_KEYD_SOCKET" "$KEYD_PID"
	[ "$(readlink /proc/"$KEYD_PID"/fd/0)" = /dev/null ]
	keyd_stop "$KEYD_PID"
}

@test "no file descriptor leaks across a thousand connections ended every way, writes and refusals" {
	keyd_start --connection-idle 1
	req '{"op":"set","name":"warm","value":"csk-test-warm-up"}' >/dev/null
	sleep 0.1
	before=$(fd_count "$KEYD_PID")
	listing_before=$(ls -l /proc/"$KEYD_PID"/fd | awk 'NR > 1 { print $NF }' | sort)
	run "$TPEER" churn "$CCR_KEYD_SOCKET" 1000
	[ "$output" = "churn: 1000 answered 250" ] || fail "got: $output"
	for i in $(seq 1 20); do
		echo "{\"op\":\"set\",\"name\":\"k$i\",\"value\":\"csk-test-fd-$i\"}"
		echo "{\"op\":\"delete\",\"name\":\"k$i\"}"
	done | "$SOCKCAT" --half-close --lines 40 "$CCR_KEYD_SOCKET" >/dev/null
	# Refused (busy) connections, and connections closed as idle.
	peer_start hold "$CCR_KEYD_SOCKET" 256
	peer_line >/dev/null
	for _ in 1 2 3; do
		"$SOCKCAT" --timeout 5000 "$CCR_KEYD_SOCKET" </dev/null >/dev/null
	done
	# The held connections are closed by the daemon after 1 s idle.
	for _ in $(seq 1 150); do
		[ "$(req '{"op":"status"}' | jget connections)" = 1 ] && break
		sleep 0.02
	done
	peer_release
	for _ in $(seq 1 150); do
		[ "$(fd_count "$KEYD_PID")" -eq "$before" ] && break
		sleep 0.02
	done
	after=$(fd_count "$KEYD_PID")
	note "fds: $before before, $after after 1,000 churned + 1 writing + 256 idle-closed + 3 busy connections"
	[ "$after" -eq "$before" ] || fail "fds before:" "$listing_before" "after:" \
		"$(ls -l /proc/"$KEYD_PID"/fd | awk 'NR > 1 { print $NF }' | sort)"
	keyd_stop "$KEYD_PID"
}
