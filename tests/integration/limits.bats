#!/usr/bin/env bats
# Limits under load: connections, idle and slow peers, peers that never read,
# half-closes, huge lines, invalid UTF-8, deep nesting, 100,000 keys. The
# daemon's RSS before and after each case is printed as "# rss ..." lines.

load helpers
load ../faults/lib

setup() {
	lib_setup
}

teardown() {
	common_teardown
}

# rss_note CASE BEFORE AFTER [MORE]: print the RSS figures of one case.
rss_note() {
	note "rss $1: before $2 kB, after $3 kB${4:+, $4}"
}

# assert_grew_less RSS_BEFORE RSS_AFTER KB: RSS grew by less than KB (not checked under valgrind).
assert_grew_less() {
	under_memcheck && return 0
	[ $(($2 - $1)) -lt "$3" ] || fail "RSS grew from $1 kB to $2 kB (limit +$3 kB)"
}

# Generate a version-1 keystore of N keys named k000000.. straight into $CCR_KEYS.
generate_keystore() {
	mkdir -p "$CCR_HOME"
	chmod 700 "$CCR_HOME"
	awk -v n="$1" 'BEGIN {
		printf "{\"version\":1,\"keys\":{"
		for (i = 0; i < n; i++)
			printf "%s\n\"k%06d\":{\"value\":\"csk-test-generated-%06d-abcdefgh\",\"env\":\"K%06d_API_KEY\",\"created\":\"2026-01-02T03:04:05Z\",\"updated\":\"2026-01-02T03:04:05Z\"}", (i ? "," : ""), i, i, i
		printf "\n}}\n"
	}' >"$CCR_KEYS"
	chmod 600 "$CCR_KEYS"
}

# big_keystore N SIZE: a keystore of N keys big000.. (env BIG000_API_KEY..), each value
# csk-test-NNN- and SIZE bytes of padding.
big_keystore() {
	mkdir -p "$CCR_HOME"
	chmod 700 "$CCR_HOME"
	awk -v n="$1" -v size="$2" 'BEGIN {
		pad = "rrrrrrrrrrrrrrrr"
		while (length(pad) < size) pad = pad pad
		pad = substr(pad, 1, size)
		printf "{\"version\":1,\"keys\":{"
		for (i = 0; i < n; i++)
			printf "%s\n\"big%03d\":{\"value\":\"csk-test-%03d-%s\"}", (i ? "," : ""), i, i, pad
		printf "\n}}\n"
	}' >"$CCR_KEYS"
	chmod 600 "$CCR_KEYS"
}

# hwm PID: the peak resident set size of PID in KiB.
hwm() {
	awk '/^VmHWM:/ { print $2 }' "/proc/$1/status"
}

# peak_measured: the daemons started next keep no freed memory aside, so that
# their peak RSS is the replies they hold (AddressSanitizer's quarantine keeps
# up to 256 MB of freed buffers under make test SANITIZE=1).
peak_measured() {
	[ "${SANITIZE:-}" = 1 ] &&
		KEYD_ENV+=("ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=0")
	return 0
}

# amplified FILE: a keystore of one 16 KiB key, big (env BIG_API_KEY), and in FILE
# a 57 KB resolve that names it 4096 times.
amplified() {
	write_keystore "{\"version\":1,\"keys\":{\"big\":{\"value\":\"csk-test-$(head -c 16370 /dev/zero | tr '\0' v)\"}}}"
	{
		printf '{"op":"resolve","env":['
		for ((i = 0; i < 4095; i++)); do printf '"BIG_API_KEY",'; done
		printf '"BIG_API_KEY"]}\n'
	} >"$1"
}

@test "256 connections are held and served; one more gets busy and is closed" {
	keyd_start
	before=$(rss "$KEYD_PID")
	peer_start hold "$CCR_KEYD_SOCKET" 256
	held=$(peer_line)
	[ "$held" = "hold: open 256 served 256" ] || fail "got: $held"
	during=$(rss "$KEYD_PID")
	run "$SOCKCAT" --timeout 5000 "$CCR_KEYD_SOCKET" </dev/null
	[ "$status" -eq 0 ] || fail "the 257th connection was not closed (sockcat status $status)"
	assert_error "$output" busy
	peer_release
	[ "$(tail -n 1 "$PEER_OUT")" = released ]
	for _ in $(seq 1 250); do
		run req '{"op":"hello"}'
		[[ "$output" == *'"ok":true'* ]] && break
		sleep 0.02
	done
	assert_ok "$output"
	rss_note "256 connections" "$before" "$(rss "$KEYD_PID")" "with 256 open $during kB"
	assert_grew_less "$before" "$during" 8192
	keyd_stop "$KEYD_PID"
}

# 256 connections that each register as an agent guard (never closed
# for idleness) used to hold every slot, and the router's preload and
# ccr-config got "too many connections" for as long as their holder lived.
@test "256 guard registrations lock out neither ccr-config status nor a get" {
	keyd_start
	req "{\"op\":\"set\",\"name\":\"cerebras\",\"value\":\"$KEY1\"}" >/dev/null
	peer_start guard "$CCR_KEYD_SOCKET" 256
	held=$(peer_line)
	# One process tree registers at most 8; the refused ones are closed.
	[ "$held" = "guard: open 256 registered 8" ] || fail "got: $held"
	run "$CLI" status
	[ "$status" -eq 0 ] || fail "status: $status $output"
	reply=$(req '{"op":"get","name":"cerebras"}')
	assert_json "$reply" value "$KEY1"
	[ "$(req '{"op":"status"}' | jget agents.guards | tr -cd , | wc -c)" -eq 7 ] ||
		fail "not 8 guards: $(req '{"op":"status"}' | jget agents.guards)"
	# A second holder in the same tree gets none, and still nobody is locked out.
	run "$TPEER" guard "$CCR_KEYD_SOCKET" 300 </dev/null
	[ "${lines[0]}" = "guard: open 300 registered 0" ] || fail "got: $output"
	run "$CLI" status
	[ "$status" -eq 0 ] || fail "status: $status $output"
	peer_release
	keyd_stop "$KEYD_PID"
}

@test "a guard whose process is gone is dropped, though its connection stays open" {
	keyd_start
	peer_start guard "$CCR_KEYD_SOCKET" 1 orphan
	held=$(peer_line)
	[ "$held" = "guard: open 1 registered 1" ] || fail "got: $held"
	dropped=
	for ((i = 0; i < 150; i++)); do
		if [ "$(req '{"op":"status"}' | jget agents.guards)" = "[]" ]; then
			dropped=yes
			break
		fi
		sleep 0.02
	done
	[ -n "$dropped" ] || fail "the guard of a process that is gone is still registered"
	peer_release
	keyd_stop "$KEYD_PID"
}

@test "a peer sending one byte a second is closed at the idle limit" {
	keyd_start --connection-idle 2
	before=$(rss "$KEYD_PID")
	start=$(date +%s%N)
	run bash -c "printf '%s\n' '{\"op\":\"hello\",\"id\":\"slowloris-slowloris-slowloris\"}' |
		'$SOCKCAT' --slow 1000 --timeout 20000 '$CCR_KEYD_SOCKET'"
	elapsed=$((($(date +%s%N) - start) / 1000000))
	note "slow peer (1 byte/s) closed after $elapsed ms with --connection-idle 2"
	[ "$status" -eq 0 ] || fail "not closed within 20 s (sockcat status $status)"
	[ -z "$output" ] || fail "a reply came: $output"
	[ "$elapsed" -ge 1900 ] || fail "closed after $elapsed ms, before the idle limit"
	[ "$elapsed" -lt 6000 ] || fail "closed after $elapsed ms, long after the 2 s idle limit"
	run req '{"op":"hello"}'
	assert_ok "$output"
	rss_note "slow peer" "$before" "$(rss "$KEYD_PID")"
	keyd_stop "$KEYD_PID"
}

# slow_read FILE: copy stdin to FILE 128 KiB at a time, pausing 0.2 s after each:
# a reader that keeps taking its replies, slowly.
slow_read() {
	local size=0 was
	: >"$1"
	while :; do
		was=$size
		head -c 131072 >>"$1"
		size=$(wc -c <"$1")
		[ "$size" -gt "$was" ] || break
		sleep 0.2
	done
}

@test "a reply being read, however slowly, is not cut at the connection idle limit" {
	# 200 keys of 16 KiB: four pipelined resolves of 50 of them are 3.3 MB of
	# replies (each under the 1 MiB a reply may be).
	# (mawk's sprintf stops at 8 KiB: the padding doubles instead.)
	big_keystore 200 16000
	keyd_start --connection-idle 1
	for q in 0 1 2 3; do
		printf '{"op":"resolve","env":[%s]}\n' \
			"$(seq -f '"BIG%03g_API_KEY"' $((q * 50)) $((q * 50 + 49)) | paste -sd, -)"
	done >"$BATS_TEST_TMPDIR/resolve"
	# The peer takes its replies at about 600 KB/s: 3.3 MB take five times the idle
	# limit, and no pause is as long as it (sockcat blocks on the pipe meanwhile).
	start=$(date +%s%N)
	"$SOCKCAT" --lines 4 --timeout 60000 "$CCR_KEYD_SOCKET" <"$BATS_TEST_TMPDIR/resolve" |
		slow_read "$BATS_TEST_TMPDIR/reply"
	elapsed=$((($(date +%s%N) - start) / 1000000))
	size=$(wc -c <"$BATS_TEST_TMPDIR/reply")
	note "${size} bytes of replies taken in $elapsed ms with --connection-idle 1"
	[ "$size" -gt 3200000 ] || fail "the replies were cut after $size bytes"
	[ "$elapsed" -gt 2000 ] || fail "read in $elapsed ms: not slowly enough to test anything"
	[ "$(tail -n 1 "$BATS_TEST_TMPDIR/reply" | jget values.BIG199_API_KEY | cut -c1-13)" = csk-test-199- ]
	keyd_stop "$KEYD_PID"
}

@test "a peer that takes none of its replies for the connection idle limit is closed, its slot and memory freed" {
	keyd_start --connection-idle 1
	big=$(head -c 8192 /dev/zero | tr '\0' v)
	req "{\"op\":\"set\",\"name\":\"big\",\"value\":\"csk-test-$big\"}" >/dev/null
	before=$(rss "$KEYD_PID")
	# Pipelines gets of 8 KiB and reads nothing: its reads pause at about 1 MiB of replies.
	peer_start flood "$CCR_KEYD_SOCKET" 10000 '{"op":"get","name":"big"}'
	peer_line >/dev/null
	closed=
	for ((i = 0; i < 250; i++)); do
		if [ "$(req '{"op":"status"}' | jget connections)" = 1 ]; then
			closed=yes
			break
		fi
		sleep 0.02
	done
	[ -n "$closed" ] || fail "the peer that reads nothing still holds its connection"
	rss_note "a peer that reads nothing, closed" "$before" "$(rss "$KEYD_PID")"
	peer_release
	keyd_stop "$KEYD_PID"
}

@test "a peer pipelining 10,000 requests and never reading keeps RSS bounded; others are served" {
	keyd_start
	big=$(head -c 8192 /dev/zero | tr '\0' v)
	req "{\"op\":\"set\",\"name\":\"big\",\"value\":\"csk-test-$big\"}" >/dev/null
	before=$(rss "$KEYD_PID")
	# 10,000 replies of 8 KiB would be 80 MB if the daemon queued them all.
	peer_start flood "$CCR_KEYD_SOCKET" 10000 '{"op":"get","name":"big"}'
	sent=$(peer_line)
	during=$(rss "$KEYD_PID")
	note "$sent requests were taken before the daemon stopped reading"
	# Everyone else is still served, at once.
	run req '{"op":"hello","id":1}' '{"op":"get","name":"big","id":2}' '{"op":"set","name":"other","value":"csk-test-other"}'
	assert_ok "${lines[0]}"
	[ "$(jget value "${lines[1]}")" = "csk-test-$big" ]
	assert_ok "${lines[2]}"
	peer_release
	sleep 0.2
	after=$(rss "$KEYD_PID")
	rss_note "10,000 pipelined unread gets of 8 KiB" "$before" "$after" "while flooding $during kB"
	assert_grew_less "$before" "$during" 8192
	run req '{"op":"status"}'
	assert_json "$output" connections 1
	keyd_stop "$KEYD_PID"
}

@test "a peer that pipelines behind a set on a slow fsync is not read past a line; RSS stays bounded" {
	# The set's save holds its fsync for 4 s; meanwhile the same connection
	# sends 200,000 more requests (21 MB) and reads nothing. The daemon handles
	# none of them until the set is answered, so it must stop reading them.
	use_faultfs "fsync:0:nth=1:delay=4000"
	keyd_start
	before=$(rss "$KEYD_PID")
	line='{"op":"set","name":"waiting","value":"csk-test-waiting-for-its-fsync-0123456789abcdef"}'
	peer_start flood "$CCR_KEYD_SOCKET" 200000 "$line"
	sent=$(peer_line)
	during=$(rss "$KEYD_PID")
	bytes=$(($(echo "$sent" | awk '{ print $3 }') * (${#line} + 1)))
	note "while the set waited for its fsync the peer got $bytes bytes into the socket ($sent)"
	rss_note "200,000 requests behind a waiting set" "$before" "$during"
	# What the daemon holds (a line, 64 KiB, and a read) plus what the kernel buffers.
	[ "$bytes" -lt 2000000 ] || fail "the daemon took $bytes bytes from a waiting session"
	assert_grew_less "$before" "$during" 8192
	peer_release
	# Others are served, and the daemon is alive.
	assert_ok "$(req '{"op":"hello"}')"
	keyd_stop "$KEYD_PID"
}

@test "half-closed sockets get every reply, also past the output limit" {
	keyd_start
	big=$(head -c 8192 /dev/zero | tr '\0' h)
	req "{\"op\":\"set\",\"name\":\"big\",\"value\":\"csk-test-$big\"}" >/dev/null
	before=$(rss "$KEYD_PID")
	run "$TPEER" halfclose "$CCR_KEYD_SOCKET" 50 100
	[ "$output" = "halfclose: 50 complete 50 replies 5000" ] || fail "got: $output"
	# 200 replies of 8 KiB (1.6 MB) pass the 1 MiB output limit after the peer's EOF.
	for i in $(seq 1 200); do
		echo "{\"op\":\"get\",\"name\":\"big\",\"id\":$i}"
	done >"$BATS_TEST_TMPDIR/gets"
	st=0
	"$SOCKCAT" --half-close --timeout 5000 "$CCR_KEYD_SOCKET" <"$BATS_TEST_TMPDIR/gets" \
		>"$BATS_TEST_TMPDIR/replies" || st=$?
	got=$(wc -l <"$BATS_TEST_TMPDIR/replies")
	[ "$got" -eq 200 ] || fail "$got of 200 replies came"
	[ "$(tail -n 1 "$BATS_TEST_TMPDIR/replies" | jget id)" = 200 ]
	# Every reply is out and the peer has closed its side: the daemon must close too.
	[ "$st" -eq 0 ] || fail "all 200 replies came but the daemon did not close the half-closed" \
		"connection within 5 s (sockcat status $st)"
	rss_note "half-closed sockets" "$before" "$(rss "$KEYD_PID")"
	keyd_stop "$KEYD_PID"
}

@test "a 10 MB line is too_large and the connection is closed" {
	keyd_start
	before=$(rss "$KEYD_PID")
	{
		printf '{"op":"set","name":"huge","value":"'
		head -c 10000000 /dev/zero | tr '\0' x
		printf '"}\n{"op":"hello"}\n'
	} >"$BATS_TEST_TMPDIR/huge"
	run "$SOCKCAT" --timeout 20000 "$CCR_KEYD_SOCKET" <"$BATS_TEST_TMPDIR/huge"
	[ "$status" -eq 0 ] || fail "the connection was not closed (sockcat status $status)"
	[ "${#lines[@]}" -eq 1 ]
	assert_error "${lines[0]}" too_large
	after=$(rss "$KEYD_PID")
	run req '{"op":"get","name":"huge"}'
	assert_error "$output" not_found
	rss_note "10 MB line" "$before" "$after"
	assert_grew_less "$before" "$after" 4096
	keyd_stop "$KEYD_PID"
}

@test "invalid UTF-8 anywhere in a request is bad_request and the connection goes on" {
	keyd_start
	before=$(rss "$KEYD_PID")
	# lone continuation, overlong '/', UTF-16 surrogate, truncated sequence, 0xFF, past U+10FFFF
	printf '%s\n' \
		'{"op":"get","name":"\x80abc"}' \
		'{"op":"set","name":"u","value":"csk-test-\xc0\xaf"}' \
		'{"op":"set","name":"u","value":"csk-test-\xed\xa0\x80"}' \
		'{"op":"set","name":"u","value":"csk-test-\xe2\x82"}' \
		'{"op":"hello","id":"\xff"}' \
		'{"op":"set","name":"u","value":"csk-test-\xf4\x90\x80\x80"}' \
		'{"op":"hello","id":"end"}' >"$BATS_TEST_TMPDIR/raw"
	# printf '%s' leaves the escapes as text: turn them into bytes.
	printf "$(cat "$BATS_TEST_TMPDIR/raw")" >"$BATS_TEST_TMPDIR/bad"
	run "$SOCKCAT" --half-close --lines 7 "$CCR_KEYD_SOCKET" <"$BATS_TEST_TMPDIR/bad"
	[ "${#lines[@]}" -eq 7 ]
	for i in 0 1 2 3 4 5; do
		assert_error "${lines[$i]}" bad_request
	done
	assert_json "${lines[6]}" id end
	[ "$(raw_get u)" = "<absent>" ]
	rss_note "invalid UTF-8" "$before" "$(rss "$KEYD_PID")"
	keyd_stop "$KEYD_PID"
}

@test "deeply nested JSON is refused without a crash: 100,000 [ (too_large), 65,000 [ and { (bad_request)" {
	keyd_start
	before=$(rss "$KEYD_PID")
	{
		head -c 100000 /dev/zero | tr '\0' '['
		echo
	} >"$BATS_TEST_TMPDIR/deep100k"
	run "$SOCKCAT" --timeout 10000 "$CCR_KEYD_SOCKET" <"$BATS_TEST_TMPDIR/deep100k"
	# Longer than the 64 KiB line limit: refused before any parsing.
	assert_error "${lines[0]}" too_large
	{
		printf '{"op":"hello","x":'
		head -c 65000 /dev/zero | tr '\0' '['
		printf '\n{"op":"hello","x":'
		for _ in $(seq 1 2600); do printf '{"a":{"a":{"a":{"a":{"a":'; done
		printf '\n{"op":"hello","id":"alive"}\n'
	} >"$BATS_TEST_TMPDIR/deep"
	run "$SOCKCAT" --half-close --lines 3 --timeout 10000 "$CCR_KEYD_SOCKET" <"$BATS_TEST_TMPDIR/deep"
	[ "${#lines[@]}" -eq 3 ] || fail "got ${#lines[@]} replies: $output"
	assert_error "${lines[0]}" bad_request
	assert_error "${lines[1]}" bad_request
	assert_json "${lines[2]}" id alive
	alive "$KEYD_PID"
	rss_note "deep nesting" "$before" "$(rss "$KEYD_PID")"
	keyd_stop "$KEYD_PID"
}

@test "100,000 keys in the keystore load; list, get, resolve and set work" {
	keyd_start
	empty=$(rss "$KEYD_PID")
	keyd_stop "$KEYD_PID"
	generate_keystore 100000
	size=$(stat -c %s "$CCR_KEYS")
	start=$(date +%s%N)
	keyd_start
	loaded_ms=$((($(date +%s%N) - start) / 1000000))
	loaded=$(rss "$KEYD_PID")
	run req '{"op":"status"}'
	assert_json "$output" keys 100000
	"$SOCKCAT" --half-close --lines 1 --timeout 30000 "$CCR_KEYD_SOCKET" <<<'{"op":"list"}' \
		>"$BATS_TEST_TMPDIR/list"
	[ "$(jget keys.99999.name <"$BATS_TEST_TMPDIR/list")" = k099999 ]
	[ "$(jget keys.0.masked <"$BATS_TEST_TMPDIR/list")" = 'csk-…efgh' ]
	! grep -q generated "$BATS_TEST_TMPDIR/list" || fail "the list holds a value"
	[ "$(raw_get k054321)" = csk-test-generated-054321-abcdefgh ]
	run req '{"op":"resolve","env":["K000007_API_KEY","K099998_API_KEY"]}'
	assert_json "$output" values.K099998_API_KEY csk-test-generated-099998-abcdefgh
	set_key k100000 csk-test-the-next-one
	run req '{"op":"status"}'
	assert_json "$output" keys 100001
	grep -q csk-test-the-next-one "$CCR_KEYS"
	grep -q csk-test-generated-099999-abcdefgh "$CCR_KEYS"
	after=$(rss "$KEYD_PID")
	note "100,000 keys: a $((size / 1024)) KiB file, started and answering in $loaded_ms ms"
	rss_note "100,000 keys" "$empty" "$after" "with no key $empty kB, loaded $loaded kB, after list/get/set $after kB"
	keyd_stop "$KEYD_PID"
}

@test "a resolve that names one key 4096 times answers it once" {
	amplified "$BATS_TEST_TMPDIR/resolve"
	size=$(wc -c <"$BATS_TEST_TMPDIR/resolve")
	[ "$size" -gt 57000 ] && [ "$size" -lt 65536 ] || fail "the request is $size bytes"
	keyd_start
	run "$SOCKCAT" --half-close --lines 1 --timeout 10000 "$CCR_KEYD_SOCKET" <"$BATS_TEST_TMPDIR/resolve"
	[ "$status" -eq 0 ] || fail "sockcat status $status"
	assert_ok "$output"
	[ "$(jget values.BIG_API_KEY "$output" | cut -c1-13)" = csk-test-vvvv ]
	[ "$(grep -o BIG_API_KEY <<<"$output" | wc -l)" -eq 1 ] || fail "the key was answered more than once"
	[ "${#output}" -lt 20000 ] || fail "a ${#output}-byte reply for one 16 KiB value"
	keyd_stop "$KEYD_PID"
}

@test "a resolve whose reply would pass 1 MiB is too_large, built not at all, and the connection goes on" {
	big_keystore 70 16000
	keyd_start
	before=$(hwm "$KEYD_PID")
	names=$(seq -f '"BIG%03g_API_KEY"' 0 69 | paste -sd, -)
	fits=$(seq -f '"BIG%03g_API_KEY"' 0 59 | paste -sd, -)
	run "$SOCKCAT" --half-close --lines 3 --timeout 10000 "$CCR_KEYD_SOCKET" < <(
		printf '{"op":"resolve","env":[%s],"id":1}\n' "$names"
		printf '{"op":"resolve","env":[%s],"id":2}\n' "$fits"
		printf '{"op":"hello","id":3}\n'
	)
	[ "${#lines[@]}" -eq 3 ] || fail "got ${#lines[@]} replies"
	# 70 values of 16 KiB: 1.1 MB.
	assert_error "${lines[0]}" too_large
	assert_json "${lines[0]}" id 1
	[[ "$(jget message "${lines[0]}")" == *"more than the 1048576 a reply may be"* ]] || fail "${lines[0]}"
	! grep -q csk-test <<<"${lines[0]}" || fail "the refusal carries a value"
	# 60 of them (980 KB) are one reply.
	assert_json "${lines[1]}" id 2
	[ "$(jget values.BIG059_API_KEY "${lines[1]}" | cut -c1-13)" = csk-test-059- ]
	assert_json "${lines[2]}" id 3
	# Refusing the 1.1 MB reply built nothing of it.
	rss_note "a refused 1.1 MB resolve" "$before" "$(hwm "$KEYD_PID")" "peak"
	keyd_stop "$KEYD_PID"
}

@test "256 connections each sending the amplified resolve (57 KB naming a 16 KiB key 4096 times) keep the daemon's peak RSS bounded" {
	amplified "$BATS_TEST_TMPDIR/resolve"
	peak_measured
	keyd_start
	before=$(hwm "$KEYD_PID")
	# Each connection sends it once and takes one byte of the reply, so the daemon has built it.
	peer_start spread "$CCR_KEYD_SOCKET" 256 "$BATS_TEST_TMPDIR/resolve"
	got=$(peer_line)
	[ "$got" = "spread: 256 sent, 256 answered" ] || fail "got: $got"
	peak=$(hwm "$KEYD_PID")
	peer_release
	# When a reply was not bounded, each was 64 MiB: 20 connections took the daemon to 1.4 GB.
	rss_note "256 amplified resolves" "$before" "$peak" "peak (VmHWM)"
	assert_grew_less "$before" "$peak" 65536
	run req '{"op":"resolve","env":"BIG_API_KEY"}'
	assert_json "$output" values.BIG_API_KEY "csk-test-$(head -c 16370 /dev/zero | tr '\0' v)"
	keyd_stop "$KEYD_PID"
}

@test "peers that ask for lists and never read them hold the daemon to about 64 MiB of replies; past it list and resolve are busy" {
	generate_keystore 10000
	peak_measured
	keyd_start
	before=$(hwm "$KEYD_PID")
	echo '{"op":"list"}' >"$BATS_TEST_TMPDIR/list"
	# 255 lists of 1.3 MB each would be 337 MB held; the daemon builds them until it
	# holds 64 MiB that nobody has read, and answers busy after that. (The 256th
	# connection is the test's own.)
	peer_start spread "$CCR_KEYD_SOCKET" 255 "$BATS_TEST_TMPDIR/list"
	got=$(peer_line)
	[ "$got" = "spread: 255 sent, 255 answered" ] || fail "got: $got"
	peak=$(hwm "$KEYD_PID")
	run req '{"op":"list"}' '{"op":"resolve","env":"K000001_API_KEY"}' '{"op":"get","name":"k000001"}'
	assert_error "${lines[0]}" busy
	[[ "$(jget message "${lines[0]}")" == *"MiB of replies that other connections have not read"* ]] ||
		fail "${lines[0]}"
	assert_error "${lines[1]}" busy
	assert_json "${lines[2]}" value csk-test-generated-000001-abcdefgh
	peer_release
	rss_note "255 unread lists of 10,000 keys" "$before" "$peak" "peak (VmHWM)"
	assert_grew_less "$before" "$peak" 131072
	# Read, they are gone: the next list is served whole.
	"$SOCKCAT" --half-close --lines 1 --timeout 10000 "$CCR_KEYD_SOCKET" <"$BATS_TEST_TMPDIR/list" \
		>"$BATS_TEST_TMPDIR/reply"
	[ "$(jget keys.9999.name <"$BATS_TEST_TMPDIR/reply")" = k009999 ]
	keyd_stop "$KEYD_PID"
}
