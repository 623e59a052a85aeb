#!/usr/bin/env bats
# The audit log (--audit-log): 0600, append-only JSON lines with time, op,
# name, uid, pid, exe and result for every request, and never a value — not
# in the audit log, not anywhere in the daemon's own output.

load helpers
load ../faults/lib

# Values this session stores or tries to store; none may be written anywhere.
V1=csk-test-AUDIT-first-0123456789abcdef
V2=csk-test-AUDIT-second-fedcba9876543210
V3=csk-test-AUDIT-third-aaaabbbbccccdddd
V_BAD=csk-test-AUDIT-refused-1111222233334444

setup() {
	lib_setup
	AUDIT=$BATS_TEST_TMPDIR/audit.log
}

teardown() {
	common_teardown
}

# session: every op, through the raw protocol and through the real client.
session() {
	req '{"op":"hello"}' \
		"{\"op\":\"set\",\"name\":\"cerebras\",\"value\":\"$V1\"}" \
		"{\"op\":\"set\",\"name\":\"groq\",\"env\":\"GROQ_KEY\",\"value\":\"$V2\"}" \
		'{"op":"get","name":"cerebras"}' \
		'{"op":"get","name":"absent"}' \
		'{"op":"resolve","env":"GROQ_KEY"}' \
		'{"op":"resolve","env":["CEREBRAS_API_KEY","NOPE"]}' \
		'{"op":"list"}' \
		'{"op":"status"}' \
		"{\"op\":\"set\",\"name\":\"bad name\",\"value\":\"$V_BAD\"}" \
		"{\"op\":\"set\",\"name\":\"other\",\"env\":\"GROQ_KEY\",\"value\":\"$V_BAD\"}" \
		"{\"op\":\"set\",\"name\":\"x\",\"value\":\"$V_BAD\",\"broken\":[}" \
		"{\"op\":\"frobnicate\",\"value\":\"$V_BAD\"}" \
		'{"op":"lock"}' \
		"{\"op\":\"unlock\",\"passphrase\":\"$V_BAD\"}" \
		'{"op":"delete","name":"groq"}' \
		'{"op":"delete","name":"groq"}' >"$BATS_TEST_TMPDIR/replies"
	set_key openai "$V3"
	"$CLI" get openai >/dev/null
	"$CLI" list >/dev/null
	"$CLI" status >/dev/null
	"$CLI" delete openai >/dev/null
	kill -HUP "$KEYD_PID"
}

@test "every op is audited as a 0600 JSON line with time, op, name, uid, pid, exe and result" {
	keyd_start --audit-log "$AUDIT" --verbose
	session
	keyd_stop "$KEYD_PID"
	[ "$(stat -c '%F %a %u' "$AUDIT")" = "regular file 600 $(id -u)" ]
	n=$(wc -l <"$AUDIT")
	note "audit: $n lines for a session of 22 requests"
	[ "$n" -ge 22 ]
	# Every line is one JSON object with every field.
	for field in time op uid pid exe result; do
		[ "$(jget "$field" <"$AUDIT" | grep -c .)" -eq "$n" ] || fail "a line lacks $field:" "$(cat "$AUDIT")"
	done
	! jget time <"$AUDIT" | grep -vE '^20[0-9]{2}-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-6][0-9]Z$' ||
		fail "a time that is not ISO 8601 UTC"
	[ "$(jget uid <"$AUDIT" | sort -u)" = "$(id -u)" ]
	! jget pid <"$AUDIT" | grep -vE '^[1-9][0-9]*$' || fail "a pid that is not a pid"
	# The exe is the real client binary of each request.
	jget exe <"$AUDIT" | sort -u >"$BATS_TEST_TMPDIR/exes"
	grep -qxF "$(readlink -f "$SOCKCAT")" "$BATS_TEST_TMPDIR/exes" || fail "no sockcat exe:" "$(cat "$BATS_TEST_TMPDIR/exes")"
	grep -qxF "$(readlink -f "$CLI")" "$BATS_TEST_TMPDIR/exes" || fail "no ccr-config exe:" "$(cat "$BATS_TEST_TMPDIR/exes")"
	# Each op, with its name and result.
	ops=$(jget op <"$AUDIT" | sort -u | tr '\n' ' ')
	for op in hello set get resolve list status delete; do
		[[ " $ops" == *" $op "* ]] || fail "no $op in: $ops"
	done
	grep -q '"op":"set","name":"cerebras",.*"result":"ok"' "$AUDIT"
	grep -q '"op":"set","name":"groq",.*"result":"ok"' "$AUDIT"
	grep -q '"op":"get","name":"absent",.*"result":"not_found"' "$AUDIT"
	grep -q '"op":"resolve","name":"CEREBRAS_API_KEY,NOPE"' "$AUDIT"
	grep -q '"op":"set","name":"other",.*"result":"conflict"' "$AUDIT"
	grep -q '"op":"delete","name":"groq",.*"result":"ok"' "$AUDIT"
	grep -q '"op":"delete","name":"groq",.*"result":"not_found"' "$AUDIT"
	grep -q '"result":"bad_request"' "$AUDIT"
	grep -q '"result":"invalid_name"' "$AUDIT"
	grep -q '"op":"set","name":"openai",.*"result":"ok"' "$AUDIT"
	grep -q '"op":"delete","name":"openai",.*"result":"ok"' "$AUDIT"
}

@test "no stored or refused value appears in the audit log or in anything the daemon printed" {
	keyd_start --audit-log "$AUDIT" --verbose
	session
	# The values really went through: the replies carry them.
	grep -q "$V1" "$BATS_TEST_TMPDIR/replies"
	keyd_stop "$KEYD_PID"
	[ -s "$KEYD_LOG" ]
	note "audit: $(wc -l <"$AUDIT") audit lines and $(wc -l <"$KEYD_LOG") daemon log lines searched"
	for f in "$AUDIT" "$KEYD_LOG"; do
		for v in "$V1" "$V2" "$V3" "$V_BAD"; do
			! grep -qF -- "$v" "$f" || fail "$v is in $f"
			! grep -qF -- "${v:14:16}" "$f" || fail "part of $v is in $f"
		done
		! grep -q 'csk-test' "$f" || fail "a value prefix is in $f:" "$(grep csk-test "$f")"
	done
}

# hang_up LINE...: send the lines on one connection and close it 200 ms later with
# every reply unread, so that the daemon finds it reset.
hang_up() {
	printf '%s\n' "$@" | "$SOCKCAT" --delay 60000 --timeout 200 "$CCR_KEYD_SOCKET" || true
}

# wait_audit PATTERN: wait up to 10 s for a line matching PATTERN in the audit log.
wait_audit() {
	wait_in "$AUDIT" "$1" 10000
}

@test "a set whose peer hangs up before its answer is audited once it is written" {
	# The set's save holds its fsync for 1.5 s; the peer is gone after 0.2 s.
	use_faultfs "fsync:0:nth=1:delay=1500"
	keyd_start --audit-log "$AUDIT" --verbose
	hang_up '{"op":"get","name":"absent"}' "{\"op\":\"set\",\"name\":\"hidden\",\"value\":\"$V1\"}"
	wait_audit '"op":"set","name":"hidden",.*"result":"ok"'
	grep -q '"hidden"' "$CCR_KEYS" || fail "the set is not on disk"
	grep -q 'set hidden by pid [0-9]*: ok (peer gone)' "$KEYD_LOG" || fail "the peer was there when it was answered"
	# Who asked is the peer that asked, though it is gone.
	line=$(grep '"op":"set","name":"hidden"' "$AUDIT")
	assert_json "$line" exe "$(readlink -f "$SOCKCAT")"
	keyd_stop "$KEYD_PID"
}

@test "an unlock whose peer hangs up during the wrong-passphrase delay is audited when it is answered" {
	use_test_build
	export CCR_KEYD_TEST_FAST_KDF=1 CCR_KEYD_TEST_DELAY_SCALE=1
	keyd_start --audit-log "$AUDIT" --verbose
	set_key cerebras "$V1"
	printf 'pw-test-right\n' | "$CLI" passphrase set --stdin >/dev/null
	req '{"op":"lock"}' >/dev/null
	# Two wrong passphrases first (250 and 500 ms): the third is answered after 1 s.
	for i in 1 2; do
		printf 'pw-test-wrong\n' | "$CLI" unlock --stdin >/dev/null 2>&1 || true
	done
	hang_up '{"op":"hello"}' '{"op":"unlock","value":"pw-test-wrong-hung-up"}'
	wait_log 'unlock by pid [0-9]*: denied (peer gone)'
	[ "$(grep -c '"op":"unlock",.*"result":"denied"' "$AUDIT")" -eq 3 ] ||
		fail "not every wrong unlock is audited:" "$(cat "$AUDIT")"
	keyd_stop "$KEYD_PID"
}

@test "a peer that names itself in bytes that are not UTF-8 is audited as valid JSON; an unknown op as unknown" {
	command -v iconv >/dev/null || fail "needs iconv (libc-bin)"
	keyd_start --audit-log "$AUDIT"
	# An executable whose name (so its comm and exe) and argv[0] are not UTF-8.
	bad=$BATS_TEST_TMPDIR/$'sock\xffcat'
	cp "$SOCKCAT" "$bad"
	printf '%s\n' '{"op":"hello"}' '{"op":"frobnicate","value":"'"$V_BAD"'"}' |
		bash -c 'exec -a "$1" "$2" --half-close --lines 2 "$3"' _ $'\xfe\xffclient' "$bad" \
			"$CCR_KEYD_SOCKET" >/dev/null
	keyd_stop "$KEYD_PID"
	iconv -f UTF-8 -t UTF-8 "$AUDIT" >/dev/null || fail "the audit log is not UTF-8:" "$(cat -v "$AUDIT")"
	# The lines of this peer: the last two (keyd_start's hello came first).
	tail -n 2 "$AUDIT" >"$BATS_TEST_TMPDIR/ours"
	[ "$(jget op <"$BATS_TEST_TMPDIR/ours" | paste -sd' ')" = "hello unknown" ] || fail "$(cat "$AUDIT")"
	assert_json "$(head -n 1 "$BATS_TEST_TMPDIR/ours")" comm 'sock\xffcat'
	assert_json "$(head -n 1 "$BATS_TEST_TMPDIR/ours")" cmd '\xfe\xffclient'
	[[ "$(jget exe <"$BATS_TEST_TMPDIR/ours" | head -n 1)" == *'/sock\xffcat' ]] || fail "$(cat "$AUDIT")"
	assert_json "$(tail -n 1 "$AUDIT")" result unknown_op
	! grep -qF -- "$V_BAD" "$AUDIT" || fail "a value is in the audit log"
}

@test "the audit log is appended to across restarts, never truncated" {
	keyd_start --audit-log "$AUDIT"
	req '{"op":"hello"}' >/dev/null
	keyd_stop "$KEYD_PID"
	first=$(cat "$AUDIT")
	[ -n "$first" ]
	keyd_start --audit-log "$AUDIT"
	req '{"op":"status"}' >/dev/null
	keyd_stop "$KEYD_PID"
	[ "$(head -n "$(printf '%s\n' "$first" | wc -l)" "$AUDIT")" = "$first" ]
	tail -n 1 "$AUDIT" | grep -q '"op":"status"'
}

@test "an audit log open to others, or a symlink, is refused at start-up" {
	: >"$AUDIT"
	chmod 644 "$AUDIT"
	keyd_spawn --audit-log "$AUDIT"
	wait_gone "$KEYD_PID" "$KEYD_WAIT_MS"
	run -1 wait "$KEYD_PID"
	grep -q "audit log $AUDIT must be a regular file of yours with mode 0600" "$KEYD_LOG"
	rm "$AUDIT"
	touch "$BATS_TEST_TMPDIR/target"
	chmod 600 "$BATS_TEST_TMPDIR/target"
	ln -s "$BATS_TEST_TMPDIR/target" "$AUDIT"
	keyd_spawn --audit-log "$AUDIT"
	wait_gone "$KEYD_PID" "$KEYD_WAIT_MS"
	run -1 wait "$KEYD_PID"
	grep -q "cannot open audit log $AUDIT" "$KEYD_LOG"
	[ ! -s "$BATS_TEST_TMPDIR/target" ]
}

@test "a FIFO at the audit log path is refused at once, with or without a reader: the start never hangs" {
	mkfifo -m 600 "$AUDIT"
	# No reader: opening it for writing would wait for one for ever.
	run --separate-stderr timeout 10 "$KEYD" --audit-log "$AUDIT"
	[ "$status" -ne 124 ] || fail "ccr-keyd hung on the FIFO for 10 s"
	[ "$status" -eq 1 ] || fail "exit $status: $stderr"
	[[ "$stderr" == *"cannot open audit log $AUDIT: it is a FIFO or a device, not a regular file"* ]] ||
		fail "$stderr"
	[ ! -e "$CCR_KEYD_SOCKET" ] || fail "the refused daemon made its socket"
	# A reader holding it open: the open succeeds, and the type check refuses it.
	exec {reader}<>"$AUDIT"
	run --separate-stderr timeout 10 "$KEYD" --audit-log "$AUDIT"
	exec {reader}<&-
	[ "$status" -eq 1 ] || fail "with a reader: exit $status: $stderr"
	[[ "$stderr" == *"audit log $AUDIT must be a regular file of yours"* ]] || fail "$stderr"
	[ -p "$AUDIT" ] || fail "the FIFO was replaced"
}

@test "an audit log in a directory others may write to, or in one that is a symlink, is refused at start-up" {
	mkdir -m 700 "$BATS_TEST_TMPDIR/shared" "$BATS_TEST_TMPDIR/real"
	chmod 1777 "$BATS_TEST_TMPDIR/shared"
	run --separate-stderr timeout 10 "$KEYD" --audit-log "$BATS_TEST_TMPDIR/shared/audit.log"
	[ "$status" -eq 1 ] || fail "exit $status: $stderr"
	[[ "$stderr" == *"$BATS_TEST_TMPDIR/shared is writable by others"* ]] || fail "$stderr"
	[ ! -e "$BATS_TEST_TMPDIR/shared/audit.log" ] || fail "the log was created there"
	ln -s "$BATS_TEST_TMPDIR/real" "$BATS_TEST_TMPDIR/link"
	run --separate-stderr timeout 10 "$KEYD" --audit-log "$BATS_TEST_TMPDIR/link/audit.log"
	[ "$status" -eq 1 ] || fail "exit $status: $stderr"
	[[ "$stderr" == *"$BATS_TEST_TMPDIR/link is a symlink"* ]] || fail "$stderr"
	[ ! -e "$BATS_TEST_TMPDIR/real/audit.log" ] || fail "the log was created through the link"
	# The control: a private directory of ours is accepted.
	keyd_start --audit-log "$BATS_TEST_TMPDIR/real/audit.log"
	req '{"op":"hello"}' >/dev/null
	keyd_stop "$KEYD_PID"
	[ "$(stat -c %a "$BATS_TEST_TMPDIR/real/audit.log")" = 600 ]
	grep -q '"op":"hello"' "$BATS_TEST_TMPDIR/real/audit.log"
}
