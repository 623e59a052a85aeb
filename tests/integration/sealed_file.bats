#!/usr/bin/env bats
# What a sealed keystore file holds and how it is written: a change made while
# unlocked is sealed again, every write seals with a fresh nonce, no value or name
# is in the clear; a file flipped or truncated, byte by byte, is refused at start
# and unlock and never overwritten.
#
# The shared setup and helpers are in sealed.bash.

load helpers
load sealed

# says_damaged TEXT: TEXT says the file is damaged, changed, truncated or invalid.
says_damaged() {
	[[ "$1" == *damaged* || "$1" == *changed* || "$1" == *truncated* || "$1" == *"not valid"* ]]
}

@test "a change made while unlocked is sealed again and survives a restart" {
	sealed_store
	run unlock "$PW"
	[ "$status" -eq 0 ]
	set_key mistral "$KEY3"
	"$CLI" delete groq-cloud >/dev/null
	assert_is_sealed "$CCR_KEYS"
	stop_daemon "$KEYD_PID"
	[ "$STOP_STATUS" -eq 0 ]
	assert_is_sealed "$CCR_KEYS"
	start_daemon
	assert_json "$(req '{"op":"hello"}')" locked true
	run unlock "$PW"
	[ "$status" -eq 0 ]
	assert_json "$(req '{"op":"get","name":"mistral"}')" value "$KEY3"
	assert_json "$(req '{"op":"get","name":"cerebras"}')" value "$KEY1"
	assert_error "$(req '{"op":"get","name":"groq-cloud"}')" not_found
}

@test "every write seals with a fresh nonce under the same salt and limits" {
	sealed_store
	run unlock "$PW"
	[ "$status" -eq 0 ]
	before=$(cat "$CCR_KEYS")
	set_key mistral "$KEY3"
	after=$(cat "$CCR_KEYS")
	set_key mistral "$KEY3" # the same document again
	again=$(cat "$CCR_KEYS")
	assert_json "$after" sealed.salt "$(jget sealed.salt "$before")"
	assert_json "$after" sealed.opslimit "$(jget sealed.opslimit "$before")"
	[ "$(jget sealed.nonce "$before")" != "$(jget sealed.nonce "$after")" ]
	[ "$(jget sealed.nonce "$after")" != "$(jget sealed.nonce "$again")" ]
	[ "$(jget sealed.ciphertext "$after")" != "$(jget sealed.ciphertext "$again")" ]
}

@test "no stored value, name or env name appears anywhere in the sealed file" {
	start_daemon
	set_key cerebras "$KEY1"
	set_key groq-cloud "$KEY2" --env GROQ_TOKEN
	set_key mistral.eu "$KEY3"
	seal "$PW"
	check_sealed_file() {
		local s
		for s in cerebras groq-cloud mistral.eu CEREBRAS_API_KEY GROQ_TOKEN MISTRAL_EU_API_KEY \
			"$KEY1" "$KEY2" "$KEY3" "${KEY1:8:16}" "${KEY2:8:16}" "${KEY3:8:16}" csk-test \
			"$PW" value created updated; do
			! grep -qF -- "$s" "$CCR_KEYS" || fail "the sealed file contains '$s'"
		done
	}
	check_sealed_file
	# And after a write made while unlocked.
	set_key cerebras "$KEY3"
	check_sealed_file
	# The plain file did hold them (so the grep can fail).
	printf '%s\n' "$PW" | "$CLI" passphrase remove --stdin >/dev/null
	grep -qF -- "$KEY2" "$CCR_KEYS"
	grep -qF GROQ_TOKEN "$CCR_KEYS"
}

# The tamper tests start a daemon, or ask for an unlock, once per byte of a
# file: these helpers avoid starting any process they can do without.

# read_file PATH: the exact bytes of PATH (trailing newline kept) in FILE_TEXT.
read_file() {
	FILE_TEXT=
	IFS= read -r -d '' FILE_TEXT <"$1" || true
}

# flip TEXT OFFSET: TEXT with the byte at OFFSET xor 1, in FLIPPED.
flip() {
	local code hex
	printf -v code '%d' "'${1:$2:1}"
	printf -v hex '%02x' $((code ^ 1))
	printf -v FLIPPED "%s\\x$hex%s" "${1:0:$2}" "${1:$2+1}"
}

# pause SECONDS: sleep without starting a process.
pause() {
	[ -n "${PAUSE_FD:-}" ] || exec {PAUSE_FD}<> <(:)
	read -r -t "$1" -u "$PAUSE_FD" || true
}

# running PID: PID has not exited (a zombie has).
running() {
	local a b state
	[ -r "/proc/$1/stat" ] && read -r a b state _ <"/proc/$1/stat" 2>/dev/null &&
		[ "$state" != Z ] && [ "$state" != X ]
}

# quick_req JSON...: like req, retrying while the socket exists but does not yet listen.
quick_req() {
	local i rc
	for ((i = 0; i < 50; i++)); do
		rc=0
		REPLY_TEXT=$(printf '%s\n' "$@" |
			"$SOCKCAT" --half-close --lines $# --timeout 5000 "$CCR_KEYD_SOCKET") || rc=$?
		[ "$rc" -ne 1 ] && return 0
		pause 0.002
	done
	fail "nothing listens on $CCR_KEYD_SOCKET"
}

# quick_start: start ccr-keyd on this test's paths without waiting for its
# socket to answer. STARTED=1 once its socket exists (KEYD_PID is the daemon),
# STARTED=0 with its output in REFUSAL when it exits first.
quick_start() {
	local err=$BATS_TEST_TMPDIR/start.err i
	"$KEYD" >"$err" 2>&1 3>&- </dev/null &
	KEYD_PID=$!
	CHILD_PIDS=("${BASE_PIDS[@]}" "$KEYD_PID")
	for ((i = 0; i < 2500; i++)); do
		if [ -S "$CCR_KEYD_SOCKET" ]; then
			STARTED=1
			return 0
		fi
		if ! running "$KEYD_PID"; then
			wait "$KEYD_PID" || true
			STARTED=0
			REFUSAL=
			IFS= read -r -d '' REFUSAL <"$err" || true
			return 0
		fi
		pause 0.002
	done
	fail "ccr-keyd neither made its socket nor exited within 5 s"
}

# quick_stop: SIGTERM the daemon quick_start started and reap it.
quick_stop() {
	kill -TERM "$KEYD_PID"
	wait "$KEYD_PID" || fail "ccr-keyd exited $? on SIGTERM"
}

# small_sealed_file PATH: seal a keystore of one short key under $PW; copy it to PATH.
small_sealed_file() {
	start_daemon
	set_key k "csk-test-tiny"
	seal "$PW"
	stop_daemon "$KEYD_PID"
	cp "$CCR_KEYS" "$1"
}

# field_span DOC FIELD: the byte offsets "FIRST LAST" of FIELD's value (in quotes or not).
field_span() {
	local head=${1%%\"$2\":*}
	local rest=${1#*\"$2\":}
	local value=${rest%%[,\}]*}
	echo "$((${#head} + ${#2} + 3)) $((${#head} + ${#2} + 2 + ${#value}))"
}

# sampled OFFSET: true for the offsets a sanitized build flips. Under
# SANITIZE=1 every start and request is ten times slower, so it flips every 3rd
# byte of the header and every 15th of the ciphertext ($c0..$c1), not each one.
sampled() {
	[ "${SANITIZE:-}" != 1 ] && return 0
	if (($1 >= c0 && $1 <= c1)); then
		(($1 % 15 == 0))
	else
		(($1 % 3 == 0))
	fi
}

# describe_byte TEXT OFFSET: the byte at OFFSET and a little context, in WHERE.
describe_byte() {
	local lo=$(($2 > 12 ? $2 - 12 : 0))
	printf -v WHERE "byte %d (%q in …%s…)" "$2" "${1:$2:1}" "${1:$lo:24}"
}

@test "every byte of a sealed file flipped in turn is refused at start or unlock, never as a wrong passphrase in nonce or ciphertext, and never overwritten" {
	export CCR_KEYD_TEST_DELAY_SCALE=0
	orig=$BATS_TEST_TMPDIR/orig
	small_sealed_file "$orig"
	read_file "$orig"
	doc=$FILE_TEXT
	read -r n0 n1 < <(field_span "$doc" nonce)
	read -r c0 c1 < <(field_span "$doc" ciphertext)
	BASE_PIDS=("${CHILD_PIDS[@]}")
	declare -A count=()
	problems=()
	# bats' per-command DEBUG trap costs ~2 ms a command: lift it for the loop
	# (a failure inside is collected, and reported once it is back).
	saved_trap=$(trap -p DEBUG)
	trap - DEBUG
	for ((off = 0; off < ${#doc}; off++)); do
		sampled "$off" || continue
		flip "$doc" "$off"
		printf '%s' "$FLIPPED" >"$CCR_KEYS"
		describe_byte "$doc" "$off"
		quick_start
		if [ "$STARTED" = 0 ]; then
			says_damaged "$REFUSAL" || problems+=("$WHERE: refused at start without saying why: $REFUSAL")
			result=start
		else
			quick_req '{"op":"hello"}' '{"op":"unlock","value":"'"$PW"'"}'
			quick_stop
			hello=${REPLY_TEXT%%$'\n'*}
			unlock=${REPLY_TEXT#*$'\n'}
			if [[ "$hello" != *'"locked":true'* ]]; then
				problems+=("$WHERE: served as a plain, unlocked keystore: $hello")
				result=served
			elif [[ "$unlock" != *'"ok":false'* ]]; then
				problems+=("$WHERE: unlock accepted it: $unlock")
				result=accepted
			elif [[ "$unlock" == *'"error":"denied"'* ]]; then
				result=denied
				((off < n0 || off > n1)) && ((off < c0 || off > c1)) ||
					problems+=("$WHERE (nonce or ciphertext) was reported as a wrong passphrase")
			else
				says_damaged "$unlock" || problems+=("$WHERE: refused without saying why: $unlock")
				result=damaged
			fi
		fi
		count[$result]=$((${count[$result]:-0} + 1))
		read_file "$CCR_KEYS"
		[ "$FILE_TEXT" = "$FLIPPED" ] || problems+=("$WHERE: the damaged file was overwritten")
	done
	eval "$saved_trap"
	printf '# %d bytes: refused at start %d, at unlock as damaged %d, as a wrong passphrase %d (salt, check, limits)\n' \
		"${#doc}" "${count[start]:-0}" "${count[damaged]:-0}" "${count[denied]:-0}" >&3
	[ "${SANITIZE:-}" = 1 ] || [ $((${count[start]:-0} + ${count[damaged]:-0} + ${count[denied]:-0})) -eq "${#doc}" ]
	[ "${#problems[@]}" -eq 0 ] || fail "${#problems[@]} flipped bytes were not refused as they should be:" "${problems[@]}"
}

@test "every byte of a sealed file flipped under a locked daemon is refused at unlock and left alone" {
	export CCR_KEYD_TEST_DELAY_SCALE=0
	orig=$BATS_TEST_TMPDIR/orig
	small_sealed_file "$orig"
	read_file "$orig"
	doc=$FILE_TEXT
	read -r c0 c1 < <(field_span "$doc" ciphertext)
	start_daemon
	problems=()
	# bats' per-command DEBUG trap costs ~2 ms a command: lift it for the loop
	# (a failure inside is collected, and reported once it is back).
	saved_trap=$(trap -p DEBUG)
	trap - DEBUG
	for ((off = 0; off < ${#doc}; off++)); do
		sampled "$off" || continue
		flip "$doc" "$off"
		printf '%s' "$FLIPPED" >"$CCR_KEYS"
		quick_req '{"op":"unlock","value":"'"$PW"'"}'
		describe_byte "$doc" "$off"
		if [[ "$REPLY_TEXT" != *'"ok":false'* ]]; then
			problems+=("$WHERE: unlock accepted the changed file: $REPLY_TEXT")
			quick_req '{"op":"lock"}'
		elif [[ "$REPLY_TEXT" != *'"error":"denied"'* ]] && ! says_damaged "$REPLY_TEXT"; then
			problems+=("$WHERE: refused without saying why: $REPLY_TEXT")
		fi
		read_file "$CCR_KEYS"
		[ "$FILE_TEXT" = "$FLIPPED" ] || problems+=("$WHERE: the damaged file was overwritten")
	done
	eval "$saved_trap"
	[ "${#problems[@]}" -eq 0 ] || fail "${#problems[@]} flipped bytes were not refused as they should be:" "${problems[@]}"
	assert_json "$(req '{"op":"hello"}')" locked true
	# The file as written still unlocks: the refusals were the flips, not the daemon.
	printf '%s' "$doc" >"$CCR_KEYS"
	assert_ok "$(req '{"op":"unlock","value":"'"$PW"'"}')"
}

@test "a truncated sealed file is refused at start, says so, and is left alone" {
	orig=$BATS_TEST_TMPDIR/orig
	small_sealed_file "$orig"
	read_file "$orig"
	doc=$FILE_TEXT
	BASE_PIDS=("${CHILD_PIDS[@]}")
	problems=()
	# bats' per-command DEBUG trap costs ~2 ms a command: lift it for the loop
	# (a failure inside is collected, and reported once it is back).
	saved_trap=$(trap -p DEBUG)
	trap - DEBUG
	# Every length through the header, then every 7th, then the last few (every
	# length of the envelope parser is in tests/unit/test_sealed.c).
	for len in $(seq 0 40) $(seq 41 7 $((${#doc} - 9))) $(seq $((${#doc} - 8)) $((${#doc} - 2))); do
		cut=${doc:0:len}
		printf '%s' "$cut" >"$CCR_KEYS"
		quick_start
		if [ "$STARTED" = 1 ]; then
			quick_req '{"op":"status"}'
			quick_stop
			problems+=("ccr-keyd started on the first $len of ${#doc} bytes: $REPLY_TEXT")
		elif ! says_damaged "$REFUSAL"; then
			problems+=("length $len: refused without saying why: $REFUSAL")
		fi
		read_file "$CCR_KEYS"
		[ "$FILE_TEXT" = "$cut" ] || problems+=("length $len: the file was changed")
	done
	eval "$saved_trap"
	[ "${#problems[@]}" -eq 0 ] || fail "${#problems[@]} truncations were not refused as they should be:" "${problems[@]}"
	[ ! -e "$CCR_KEYD_SOCKET" ]
}

@test "a sealed file truncated under a locked daemon is refused at unlock and left alone" {
	sealed_store
	cp "$CCR_KEYS" "$BATS_TEST_TMPDIR/orig"
	size=$(stat -c %s "$CCR_KEYS")
	for len in 0 1 40 $((size / 2)) $((size - 10)) $((size - 3)); do
		head -c "$len" "$BATS_TEST_TMPDIR/orig" >"$CCR_KEYS"
		cp "$CCR_KEYS" "$BATS_TEST_TMPDIR/cut"
		run --separate-stderr unlock "$PW"
		[ "$status" -ne 0 ] && [ "$status" -ne 4 ] || fail "length $len: exit $status" "$stderr"
		says_damaged "$stderr" || fail "length $len: $stderr"
		cmp -s "$BATS_TEST_TMPDIR/cut" "$CCR_KEYS" || fail "length $len: the file was changed"
	done
	assert_json "$(req '{"op":"hello"}')" locked true
}
