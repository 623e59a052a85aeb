#!/usr/bin/env bash
# make bench: measures ccr-keyd and ccr-config against baselines built
# in the same run, and prints every figure with its ratio, target and PASS/MISS.
#
#   BUILD=build bash tests/bench/run.sh            full run, about 4 minutes
#   BUILD=build BENCH_QUICK=1 bash tests/bench/run.sh   under a minute, proves it works
#
# Builds nothing: `make bench` / `make bench-quick` build the tools first. Prints
# TAP lines "ok N - bench: CASE ran" for each case. A MISS never fails: the exit
# status is 0 unless a case could not run (the harness broke, or a server gave a
# wrong answer, which loadgen refuses to turn into figures).
set -u
cd "$(dirname "$0")/../.."

BUILD=${BUILD:-build}
QUICK=${BENCH_QUICK:-0}
B=$BUILD/bench
KEYD=$BUILD/ccr-keyd
CONFIG=$BUILD/ccr-config

if [ "$QUICK" = 1 ]; then
	SECS=0.3 WARM=0.05 REPS=1 PROC_RUNS=10 DUR_ITERS=20 START_RUNS=1
else
	SECS=2 WARM=0.5 REPS=3 PROC_RUNS=200 DUR_ITERS=200 START_RUNS=9
fi
CLIENTS="1 8 32"
DEPTHS="1 16"

# The get request, padded with JSON whitespace to 100 bytes with its newline
# (the ≈100-byte request of the echo floor); echo and ccr-keyd get the same line.
GET_REQ='{"op":"get","name":"bench-key-0001","id":1'
while [ ${#GET_REQ} -lt 98 ]; do GET_REQ="$GET_REQ "; done
GET_REQ="$GET_REQ}"
# One key per setter ({c}), a value unique to each request ({n}).
SET_REQ='{"op":"set","name":"bench-set-{c}","value":"csk-test-set-{n}-0123456789abcdef0123456789abcdef","id":{n}}'
HELLO_REQ='{"op":"hello","id":1}'
BENCH_VALUE=csk-test-bench-0123456789abcdef0123456789abcdef

for t in echo_server loadgen durable_write proctime starttime; do
	if [ ! -x "$B/$t" ]; then
		echo "bench: $B/$t is missing; run it through make bench" >&2
		exit 2
	fi
done

T_START=$(date +%s)
LOAD_START=$(cut -d' ' -f1 /proc/loadavg 2>/dev/null || echo '?')
# Nothing here may reach the user's own keys or daemon.
. tests/sandbox.bash
sandbox_enter
WORK=$(mktemp -d "${TMPDIR:-/tmp}/ccr-bench.XXXXXX")
RES=$WORK/res
mkdir -p "$RES" "$WORK/ks" "$WORK/ks1" "$WORK/ks10k" "$WORK/home" "$WORK/dw"
PIDS=()
KEYCTL_ID=

# Stop what this script started, by pid, and remove its files.
cleanup() {
	local p
	for p in "${PIDS[@]}"; do
		kill "$p" 2>/dev/null && wait "$p" 2>/dev/null
	done
	[ -n "$KEYCTL_ID" ] && keyctl unlink "$KEYCTL_ID" @u >/dev/null 2>&1
	rm -rf "$WORK"
	sandbox_check "make bench" || true
	sandbox_leave
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- TAP ---------------------------------------------------------------------
TAP_N=0 TAP_FAILED=0
tap_ok() { TAP_N=$((TAP_N + 1)); echo "ok $TAP_N - bench: $1 ran"; }
tap_skip() { TAP_N=$((TAP_N + 1)); echo "ok $TAP_N - bench: $1 # skip $2"; }
tap_fail() {
	TAP_N=$((TAP_N + 1)) TAP_FAILED=$((TAP_FAILED + 1))
	echo "not ok $TAP_N - bench: $1: $2"
}

# --- helpers -----------------------------------------------------------------
# field KEY: the value of KEY=… on the line read from stdin.
field() { awk -v k="$1" '{for(i=1;i<=NF;i++){n=index($i,"=");if(substr($i,1,n-1)==k){print substr($i,n+1);exit}}}'; }

# median_of FILE KEY: the median of KEY over the lines of FILE ("" when none).
median_of() {
	[ -s "$1" ] || return 0
	field_all "$2" <"$1" | sort -g |
		awk '{a[NR]=$1} END{if(NR==0)exit; if(NR%2)print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'
}
field_all() { awk -v k="$1" '{for(i=1;i<=NF;i++){n=index($i,"=");if(substr($i,1,n-1)==k)print substr($i,n+1)}}'; }

# calc EXPR: floating-point arithmetic; "" when an operand is empty.
calc() { awk "BEGIN{printf \"%.6g\", $1}" 2>/dev/null; }

# iso_now: the current time as the keystore writes it.
iso_now() { date -u +%Y-%m-%dT%H:%M:%SZ; }

# write_keystore FILE N_EXTRA_STYLE: version-1 keystore files, written directly, mode 0600.
write_main_keystore() {
	local now; now=$(iso_now)
	(
		umask 077
		{
			printf '{"version":1,"keys":{'
			printf '"bench-key-0001":{"value":"%s","env":"BENCH_KEY_0001_API_KEY","created":"%s","updated":"%s"}' \
				"$BENCH_VALUE" "$now" "$now"
			if [ "$2" = with20 ]; then
				for i in $(seq -w 1 20); do
					printf ',"bench-key-%s":{"value":"csk-test-bench-%s-0123456789abcdef","env":"BENCH_KEY_%s_API_KEY","created":"%s","updated":"%s"}' \
						"$i" "$i" "$i" "$now" "$now"
				done
			fi
			printf '}}\n'
		} >"$1"
	)
	chmod 600 "$1"
}
write_big_keystore() {
	local now; now=$(iso_now)
	(
		umask 077
		awk -v n="$2" -v now="$now" 'BEGIN{
			printf "{\"version\":1,\"keys\":{"
			for (i = 1; i <= n; i++) {
				printf "%s\"bench-key-%05d\":{\"value\":\"csk-test-bench-%05d-%08x%08x\",\"env\":\"BENCH_KEY_%05d_API_KEY\",\"created\":\"%s\",\"updated\":\"%s\"}",
					(i > 1 ? "," : ""), i, i, (i * 2654435761) % 4294967296, (i * 40503) % 4294967296, i, now, now
			}
			printf "}}\n"
		}' >"$1"
	)
	chmod 600 "$1"
}

# wait_hello SOCK PID: wait until the server at SOCK answers a hello; 1 when it died or never did.
wait_hello() {
	local i
	for i in $(seq 1 500); do
		kill -0 "$2" 2>/dev/null || return 1
		[ -S "$1" ] && break
		sleep 0.01
	done
	"$B/loadgen" --socket "$1" --clients 1 --depth 1 --requests 1 --warmup 0 \
		--request "$HELLO_REQ" >/dev/null 2>"$WORK/hello.err"
}

# start_server NAME SOCK PIN CMD…: start a server in the background; sets SERVER_PID.
start_server() {
	local name=$1 sock=$2 pin=$3
	shift 3
	$pin "$@" >"$WORK/$name.log" 2>&1 &
	SERVER_PID=$!
	PIDS+=("$SERVER_PID")
	if ! wait_hello "$sock" "$SERVER_PID"; then
		echo "# $name did not start; its log:" >&2
		sed 's/^/#   /' "$WORK/$name.log" "$WORK/hello.err" >&2 2>/dev/null
		return 1
	fi
}

# stop_server PID: SIGTERM and reap.
stop_server() {
	kill "$1" 2>/dev/null
	wait "$1" 2>/dev/null
	local p keep=()
	for p in "${PIDS[@]}"; do [ "$p" != "$1" ] && keep+=("$p"); done
	PIDS=("${keep[@]}")
}

# run_load RESULT SOCK PIN CLIENTS DEPTH REQUEST: one loadgen run, its line appended to RESULT.
declare -A CASE_ERR
run_load() {
	local res=$1 sock=$2 pin=$3 c=$4 d=$5 req=$6 out
	if out=$($pin "$B/loadgen" --socket "$sock" --clients "$c" --depth "$d" --seconds "$SECS" \
		--warmup "$WARM" --request "$req" 2>"$WORK/load.err"); then
		echo "$out" >>"$RES/$res"
	else
		CASE_ERR[$res]=$(head -c 300 "$WORK/load.err" | tr '\n' ' ')
	fi
}

# report_case RESULT LABEL: one TAP line for a case run REPS times.
report_case() {
	if [ -n "${CASE_ERR[$1]:-}" ]; then
		tap_fail "$2" "${CASE_ERR[$1]}"
	elif [ -s "$RES/$1" ]; then
		tap_ok "$2"
	else
		tap_fail "$2" "no result"
	fi
}

# --- set-up --------------------------------------------------------------------
# Snapshot the programs under test: every case then measures the same build, even
# when a make in the same tree relinks build/ meanwhile.
mkdir -p "$WORK/bin"
HAVE_KEYD=0
KEYD_WHY="$KEYD is not built yet"
if [ -x "$KEYD" ] && cp "$KEYD" "$WORK/bin/ccr-keyd"; then
	HAVE_KEYD=1
fi
HAVE_CONFIG=0
if [ -x "$CONFIG" ] && cp "$CONFIG" "$WORK/bin/ccr-config"; then
	HAVE_CONFIG=1
fi
SHOWN_KEYD=$KEYD SHOWN_CONFIG=$CONFIG
KEYD=$WORK/bin/ccr-keyd CONFIG=$WORK/bin/ccr-config
PIN_CMD="taskset -c 0"
HAVE_TASKSET=1
# Pinning needs taskset and CPU 0 in our allowed set (a cgroup cpuset may exclude it).
taskset -c 0 true >/dev/null 2>&1 || { HAVE_TASKSET=0; PIN_CMD=""; }

write_main_keystore "$WORK/ks/keys" with20
write_main_keystore "$WORK/ks1/keys" one
write_big_keystore "$WORK/ks10k/keys" 10000
# config.json of the router, referencing 20 names.
{
	printf '{"LOG":false,"Providers":['
	for i in $(seq -w 1 20); do
		[ "$i" != 01 ] && printf ','
		printf '{"name":"p%s","api_base_url":"https://provider-%s.invalid/v1/chat/completions","api_key":"$BENCH_KEY_%s_API_KEY","models":["model-%s"]}' \
			"$i" "$i" "$i" "$i"
	done
	printf '],"Router":{"default":"p01,model-01"}}\n'
} >"$WORK/home/config.json"

export CCR_HOME=$WORK/home
export CCR_KEYD_NO_AUTOSTART=1
unset CCR_KEYS

if [ "$QUICK" = 1 ]; then
	echo "# bench: QUICK MODE (BENCH_QUICK=1): every case runs briefly once; the figures are NOT meaningful"
else
	echo "# bench: full run: ${SECS} s per case, median of $REPS runs; whole-process medians of $PROC_RUNS"
fi
[ "$HAVE_KEYD" = 1 ] || echo "# bench: $KEYD_WHY: its rows are reported as not available"
[ "$HAVE_TASKSET" = 1 ] || echo "# bench: cannot pin to CPU 0 (taskset -c 0 true failed): the pinned cases run unpinned"
if awk -v l="$LOAD_START" 'BEGIN{exit !(l + 0 > 0.5)}'; then
	echo "# bench: warning: load average $LOAD_START before the run: other work is running, the figures will be noisy"
fi

# one_request SOCK LINE: send one request, which must be answered with "ok":true.
one_request() {
	"$B/loadgen" --socket "$1" --clients 1 --depth 1 --requests 1 --request "$2" \
		>/dev/null 2>"$WORK/one.err"
}

# A sealed copy of the keystore: a daemon on a copy sets a passphrase, and the
# get cases below run against a daemon started on the sealed file and unlocked.
SEALED_WHY="needs $KEYD"
PASS=bench-passphrase-not-secret
if [ "$HAVE_KEYD" = 1 ]; then
	mkdir -p "$WORK/kss" && cp "$WORK/ks/keys" "$WORK/kss/keys" && chmod 600 "$WORK/kss/keys"
	SEALED_WHY=
	if start_server keyd-seal "$WORK/seal.sock" "" "$KEYD" --socket "$WORK/seal.sock" \
		--keys "$WORK/kss/keys"; then
		one_request "$WORK/seal.sock" \
			'{"op":"passphrase","action":"set","new_value":"'$PASS'","id":1}' ||
			SEALED_WHY="passphrase set failed: $(head -c 200 "$WORK/one.err")"
		stop_server "$SERVER_PID"
		if [ -z "$SEALED_WHY" ] && ! grep -q '"sealed"' "$WORK/kss/keys"; then
			SEALED_WHY="the keystore is not sealed after passphrase set"
		fi
	else
		SEALED_WHY="ccr-keyd did not start on a copy of the keystore"
	fi
fi
SEALED_CASES="c32.d1 c32.d16"

# --- get throughput and latency: echo floor vs ccr-keyd, pinned and unpinned --------
for pin in pinned unpinned; do
	if [ "$pin" = pinned ]; then P=$PIN_CMD; else P=""; fi
	ES=$WORK/echo-$pin.sock KS=$WORK/keyd-$pin.sock
	ECHO_PID= KEYD_PID=
	if start_server "echo-$pin" "$ES" "$P" "$B/echo_server" --socket "$ES"; then
		ECHO_PID=$SERVER_PID
	fi
	if [ "$HAVE_KEYD" = 1 ]; then
		if start_server "keyd-$pin" "$KS" "$P" "$KEYD" --socket "$KS" --keys "$WORK/ks/keys"; then
			KEYD_PID=$SERVER_PID
		fi
	fi
	SEALED_PID= SS=$WORK/sealed-$pin.sock
	if [ "$pin" = pinned ] && [ -z "$SEALED_WHY" ]; then
		if start_server "keyd-sealed" "$SS" "$P" "$KEYD" --socket "$SS" --keys "$WORK/kss/keys"; then
			SEALED_PID=$SERVER_PID
			if ! one_request "$SS" '{"op":"unlock","value":"'$PASS'","id":1}'; then
				SEALED_WHY="unlock failed: $(head -c 200 "$WORK/one.err")"
				stop_server "$SEALED_PID"
				SEALED_PID=
			fi
		else
			SEALED_WHY="ccr-keyd did not start on the sealed keystore"
		fi
	fi
	echo "# bench: get, $pin: clients $CLIENTS x depth $DEPTHS x $REPS runs of ${SECS} s"
	for rep in $(seq 1 "$REPS"); do
		for c in $CLIENTS; do
			for d in $DEPTHS; do
				if [ -n "$ECHO_PID" ]; then
					run_load "echo.$pin.c$c.d$d" "$ES" "$P" "$c" "$d" "$GET_REQ"
				fi
				if [ -n "$KEYD_PID" ]; then
					run_load "keyd.$pin.c$c.d$d" "$KS" "$P" "$c" "$d" "$GET_REQ"
				fi
				case " $SEALED_CASES " in *" c$c.d$d "*)
					if [ -n "$SEALED_PID" ]; then
						run_load "sealed.$pin.c$c.d$d" "$SS" "$P" "$c" "$d" "$GET_REQ"
					fi ;;
				esac
			done
		done
	done
	for c in $CLIENTS; do
		for d in $DEPTHS; do
			if [ -n "$ECHO_PID" ]; then
				report_case "echo.$pin.c$c.d$d" "echo get $pin clients=$c depth=$d"
			else
				tap_fail "echo get $pin clients=$c depth=$d" "echo_server did not start"
			fi
			if [ -n "$KEYD_PID" ]; then
				report_case "keyd.$pin.c$c.d$d" "ccr-keyd get $pin clients=$c depth=$d"
			elif [ "$HAVE_KEYD" = 1 ]; then
				tap_fail "ccr-keyd get $pin clients=$c depth=$d" "ccr-keyd did not start"
			else
				tap_skip "ccr-keyd get $pin clients=$c depth=$d" "$KEYD_WHY"
			fi
		done
	done
	if [ "$pin" = pinned ]; then
		for sc in $SEALED_CASES; do
			label="ccr-keyd get, unlocked sealed keystore, $pin ${sc/./ }"
			if [ -n "$SEALED_PID" ]; then
				report_case "sealed.$pin.$sc" "$label"
			elif [ "$HAVE_KEYD" = 1 ]; then
				tap_fail "$label" "$SEALED_WHY"
			else
				tap_skip "$label" "$KEYD_WHY"
			fi
		done
		[ -n "$SEALED_PID" ] && stop_server "$SEALED_PID"
	fi
	[ -n "$ECHO_PID" ] && stop_server "$ECHO_PID"
	# The unpinned daemon stays up for set and whole-process timings.
	if [ "$pin" = pinned ] && [ -n "$KEYD_PID" ]; then
		stop_server "$KEYD_PID"
	fi
done
# KEYD_PID / KS: the unpinned daemon, if it runs.

# --- get through a new connection, with and without the agent guard ------------------
# Each request on a connection of its own, pinned: the guard walks the peer's ancestry
# (ccr-keyd.8, "CODING AGENTS") once per connection, at its first get with a value.
# The same daemon binary with --no-agent-guard is the baseline.
echo "# bench: get through a new connection, guard on and off, $REPS runs of ${SECS} s"
GUARD_WHY=
# walk_depth: how many processes the daemon reads for a loadgen started from here.
walk_depth() { local p=$BASHPID n=1; while [ "$p" -gt 0 ]; do n=$((n + 1)); p=$(cut -d' ' -f4 "/proc/$p/stat" 2>/dev/null || echo 0); done; echo $((n - 1)); }
WALK_DEPTH=$(walk_depth)
if [ -n "$KEYD_PID" ]; then
	GS=$WORK/guard-on.sock NS=$WORK/guard-off.sock GUARD_ON= GUARD_OFF=
	mkdir -p "$WORK/ksg" "$WORK/ksn"
	cp "$WORK/ks/keys" "$WORK/ksg/keys" && cp "$WORK/ks/keys" "$WORK/ksn/keys"
	chmod 600 "$WORK/ksg/keys" "$WORK/ksn/keys"
	if start_server keyd-guard-on "$GS" "$PIN_CMD" "$KEYD" --socket "$GS" --keys "$WORK/ksg/keys"; then
		GUARD_ON=$SERVER_PID
	fi
	if start_server keyd-guard-off "$NS" "$PIN_CMD" "$KEYD" --socket "$NS" --keys "$WORK/ksn/keys" \
		--no-agent-guard; then
		GUARD_OFF=$SERVER_PID
	fi
	if [ -n "$GUARD_ON" ] && [ -n "$GUARD_OFF" ]; then
		for rep in $(seq 1 "$REPS"); do
			for g in on off; do
				sock=$GS
				[ "$g" = off ] && sock=$NS
				if out=$($PIN_CMD "$B/loadgen" --socket "$sock" --clients 1 --depth 1 \
					--connect-each 1 --seconds "$SECS" --warmup "$WARM" --request "$GET_REQ" \
					2>"$WORK/load.err"); then
					echo "$out" >>"$RES/conn.$g"
				else
					CASE_ERR[conn.$g]=$(head -c 300 "$WORK/load.err" | tr '\n' ' ')
				fi
			done
		done
		report_case conn.on "get through a new connection, guard on, pinned"
		report_case conn.off "get through a new connection, guard off, pinned"
	else
		GUARD_WHY="ccr-keyd did not start for the guard cases"
		tap_fail "get through a new connection, guard on and off" "$GUARD_WHY"
	fi
	[ -n "$GUARD_ON" ] && stop_server "$GUARD_ON"
	[ -n "$GUARD_OFF" ] && stop_server "$GUARD_OFF"
else
	GUARD_WHY=$KEYD_WHY
	tap_skip "get through a new connection, guard on and off" "$KEYD_WHY"
fi

# --- set: latency vs bare durable write, 32 setters vs 1 ------------------------------
echo "# bench: set vs durable write, $REPS runs"
DW_ERR=
for rep in $(seq 1 "$REPS"); do
	if out=$("$B/durable_write" --dir "$WORK/dw" --iterations "$DUR_ITERS" --seconds "$SECS" 2>&1); then
		echo "$out" >>"$RES/durable"
	else
		DW_ERR=$out
	fi
	if [ -n "$KEYD_PID" ]; then
		run_load "set.c1" "$KS" "" 1 1 "$SET_REQ"
		run_load "set.c32" "$KS" "" 32 1 "$SET_REQ"
	fi
done
if [ -n "$DW_ERR" ]; then tap_fail "durable write" "$DW_ERR"; else tap_ok "durable write"; fi
for s in c1 c32; do
	if [ -n "$KEYD_PID" ]; then
		report_case "set.$s" "ccr-keyd set clients=${s#c}"
	elif [ "$HAVE_KEYD" = 1 ]; then
		tap_fail "ccr-keyd set clients=${s#c}" "ccr-keyd did not start"
	else
		tap_skip "ccr-keyd set clients=${s#c}" "$KEYD_WHY"
	fi
done

# --- whole-process timings --------------------------------------------------------
echo "# bench: whole-process timings, median of $PROC_RUNS runs each, interleaved"
export CCR_KEYD_SOCKET=${KS:-$WORK/none.sock}
KEYCTL_WHY=
if ! command -v keyctl >/dev/null 2>&1; then
	KEYCTL_WHY="keyctl not installed (apt-get install keyutils)"
elif ! KEYCTL_ID=$(keyctl add user ccr-bench "$BENCH_VALUE" @u 2>"$WORK/keyctl.err"); then
	KEYCTL_WHY="keyctl add failed: $(head -c 200 "$WORK/keyctl.err")"
	KEYCTL_ID=
elif ! keyctl print "$KEYCTL_ID" >/dev/null 2>"$WORK/keyctl.err"; then
	KEYCTL_WHY="keyctl print failed: $(head -c 200 "$WORK/keyctl.err")"
fi
GET_WHY= EXEC_WHY= PROC_WHY=
if [ "$HAVE_CONFIG" != 1 ]; then
	GET_WHY="$SHOWN_CONFIG is not built yet" EXEC_WHY=$GET_WHY
elif [ -z "$KEYD_PID" ]; then
	GET_WHY="no ccr-keyd running" EXEC_WHY=$GET_WHY
else
	if ! "$CONFIG" get bench-key-0001 >"$WORK/get.out" 2>&1; then
		GET_WHY="ccr-config get failed: $(head -n 1 "$WORK/get.out" | head -c 200)"
	fi
	if ! "$CONFIG" exec -- true >"$WORK/exec.out" 2>&1; then
		EXEC_WHY="ccr-config exec not available: $(head -n 1 "$WORK/exec.out" | head -c 200)"
	elif ! "$CONFIG" exec -- env | grep -q "^BENCH_KEY_20_API_KEY=csk-test-bench-20-"; then
		EXEC_WHY="ccr-config exec -- env does not show the 20 referenced keys"
	fi
fi
PT=(/bin/true)
PT_NAMES=(true)
if [ -z "$GET_WHY" ]; then PT+=(::: "$CONFIG" get bench-key-0001); PT_NAMES+=(get); fi
if [ -z "$KEYCTL_WHY" ]; then PT+=(::: keyctl print "$KEYCTL_ID"); PT_NAMES+=(keyctl); fi
if [ -z "$EXEC_WHY" ]; then PT+=(::: "$CONFIG" exec -- true); PT_NAMES+=(exec); fi
if "$B/proctime" -n "$PROC_RUNS" -w 5 "${PT[@]}" >"$WORK/proctime.out" 2>"$WORK/proctime.err"; then
	for i in "${!PT_NAMES[@]}"; do
		grep "^cmd=$((i + 1)) " "$WORK/proctime.out" >"$RES/proc.${PT_NAMES[$i]}"
	done
	tap_ok "whole-process /bin/true"
	for n in get keyctl exec; do
		case $n in
		get) label="whole-process ccr-config get" why=$GET_WHY ;;
		keyctl) label="whole-process keyctl print" why=$KEYCTL_WHY ;;
		exec) label="whole-process ccr-config exec -- true" why=$EXEC_WHY ;;
		esac
		if [ -s "$RES/proc.$n" ]; then tap_ok "$label"; else tap_skip "$label" "$why"; fi
	done
else
	PROC_WHY="whole-process timing failed: $(head -n 1 "$WORK/proctime.err" | head -c 300)"
	tap_fail "whole-process timings" "$PROC_WHY"
	GET_WHY=${GET_WHY:-$PROC_WHY} EXEC_WHY=${EXEC_WHY:-$PROC_WHY} KEYCTL_WHY=${KEYCTL_WHY:-$PROC_WHY}
fi

# --- start-up: RSS idle and with 10,000 keys, time to load 10,000 keys --------------
START_WHY=
if [ "$HAVE_KEYD" = 1 ]; then
	echo "# bench: daemon start with 1 key and with 10,000 keys, median of $START_RUNS starts each"
	SS=$WORK/start.sock
	if "$B/starttime" -n "$START_RUNS" --socket "$SS" \
		"$KEYD" --socket "$SS" --keys "$WORK/ks1/keys" ::: \
		"$KEYD" --socket "$SS" --keys "$WORK/ks10k/keys" >"$WORK/start.out" 2>"$WORK/start.err"; then
		grep '^cmd=1 ' "$WORK/start.out" >"$RES/start.1"
		grep '^cmd=2 ' "$WORK/start.out" >"$RES/start.10k"
		tap_ok "ccr-keyd start-up, 1 key and 10,000 keys"
	else
		START_WHY="starttime failed: $(head -c 300 "$WORK/start.err" | tr '\n' ' ')"
		tap_fail "ccr-keyd start-up" "$START_WHY"
	fi
else
	START_WHY=$KEYD_WHY
	tap_skip "ccr-keyd start-up, 1 key and 10,000 keys" "$KEYD_WHY"
fi
[ -n "$KEYD_PID" ] && stop_server "$KEYD_PID"

# --- the tables ---------------------------------------------------------------------
# m RESULT KEY: median of KEY over the runs of a case.
m() { median_of "$RES/$1" "$2"; }
NA="n/a"
# fmt VALUE DECIMALS
fmt() { [ -n "$1" ] && awk -v v="$1" -v d="$2" 'BEGIN{printf "%.*f", d, v}' || printf '%s' "$NA"; }
# ratio A B
ratio() { [ -n "$1" ] && [ -n "$2" ] && awk -v a="$1" -v b="$2" 'BEGIN{if(b==0)exit; printf "%.2f", a/b}'; }
# pratio A B KEY [KEY_B]: the median over runs of A's KEY / B's KEY (or KEY_B), run i with run i. Runs of
# A and B alternate, so each pair saw the same machine; the median of the pairs'
# ratios resists a noisy neighbour better than the ratio of the medians.
pratio() {
	[ -s "$RES/$1" ] && [ -s "$RES/$2" ] || return 0
	paste -d' ' <(field_all "$3" <"$RES/$1") <(field_all "${4:-$3}" <"$RES/$2") |
		awk 'NF==2 && $2>0 {print $1/$2}' | sort -g |
		awk '{a[NR]=$1} END{if(NR==0)exit; v=(NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2; printf "%.2f", v}'
}
# verdict RATIO OP LIMIT
verdict() {
	[ -n "$1" ] || { printf 'n/a'; return; }
	awk -v r="$1" -v op="$2" -v l="$3" 'BEGIN{ok = (op == ">=") ? (r >= l) : (r <= l); printf (ok ? "PASS" : "MISS")}'
}

echo
if [ "$QUICK" = 1 ]; then
	echo "QUICK MODE: figures below are NOT meaningful (one short run per case)."
fi
echo "## get, all cases (median of $REPS runs of ${SECS} s; latency in us)"
echo
printf '| %-9s | %7s | %5s | %10s | %10s | %5s | %-21s | %-21s |\n' \
	pinning clients depth "echo req/s" "keyd req/s" ratio "echo p50/p99/p999" "keyd p50/p99/p999"
printf '|%s|\n' "-----------|---------|-------|------------|------------|-------|-----------------------|-----------------------"
for pin in pinned unpinned; do
	for c in $CLIENTS; do
		for d in $DEPTHS; do
			e=echo.$pin.c$c.d$d k=keyd.$pin.c$c.d$d
			er=$(m "$e" rps) kr=$(m "$k" rps)
			el="$(fmt "$(m "$e" p50_us)" 0)/$(fmt "$(m "$e" p99_us)" 0)/$(fmt "$(m "$e" p999_us)" 0)"
			kl="$(fmt "$(m "$k" p50_us)" 0)/$(fmt "$(m "$k" p99_us)" 0)/$(fmt "$(m "$k" p999_us)" 0)"
			r=$(pratio "$k" "$e" rps)
			printf '| %-9s | %7s | %5s | %10s | %10s | %5s | %-21s | %-21s |\n' \
				"$pin" "$c" "$d" "$(fmt "$er" 0)" "$(fmt "$kr" 0)" "${r:-$NA}" "$el" "$kl"
		done
	done
done

echo
echo "## targets (docs/DESIGN.md, \"Performance targets\")"
echo
ROWS=()
# row FIGURE VALUE BASELINE RATIO TARGET RESULT
row() { ROWS+=("$(printf '| %-46s | %12s | %-24s | %6s | %-18s | %-6s |' "$@")"); }
# why_na REASON: the value column for a figure that could not be measured.
row_na() { row "$1" "not available" "" "" "$2" "-"; NOTES+=("$1: $3"); }
NOTES=()

KEYD_NA_WHY=${KEYD_WHY}
[ "$HAVE_KEYD" = 1 ] && KEYD_NA_WHY="ccr-keyd did not run (see the TAP lines)"

for spec in "32 1 0.92 >=" "32 16 0.65 >="; do
	set -- $spec
	er=$(m "echo.pinned.c$1.d$2" rps) kr=$(m "keyd.pinned.c$1.d$2" rps)
	if [ -n "$kr" ] && [ -n "$er" ]; then
		r=$(pratio "keyd.pinned.c$1.d$2" "echo.pinned.c$1.d$2" rps)
		row "get req/s, $1 clients, depth $2, pinned" "$(fmt "$kr" 0)" "echo $(fmt "$er" 0)" "$r" "$4 $3 x echo" "$(verdict "$r" "$4" "$3")"
	else
		row_na "get req/s, $1 clients, depth $2, pinned" "$4 $3 x echo" "$KEYD_NA_WHY"
	fi
done
ep=$(m echo.pinned.c1.d1 p99_us) kp=$(m keyd.pinned.c1.d1 p99_us)
if [ -n "$kp" ] && [ -n "$ep" ]; then
	r=$(pratio keyd.pinned.c1.d1 echo.pinned.c1.d1 p99_us)
	row "get p99 us, 1 client, depth 1, pinned" "$(fmt "$kp" 1)" "echo $(fmt "$ep" 1)" "$r" "<= 1.5 x echo" "$(verdict "$r" "<=" 1.5)"
else
	row_na "get p99 us, 1 client, depth 1, pinned" "<= 1.5 x echo" "$KEYD_NA_WHY"
fi

pg=$(m proc.get median_us) pk=$(m proc.keyctl median_us) pt=$(m proc.true median_us) px=$(m proc.exec median_us)
if [ -n "$pg" ] && [ -n "$pk" ]; then
	r=$(ratio "$pg" "$pk")
	row "ccr-config get, whole process, median us" "$(fmt "$pg" 0)" "keyctl print $(fmt "$pk" 0)" "$r" "<= 1.0 x keyctl" "$(verdict "$r" "<=" 1.0)"
elif [ -n "$pg" ]; then
	row_na "ccr-config get vs keyctl print" "<= 1.0 x keyctl" "skipped: $KEYCTL_WHY"
else
	row_na "ccr-config get, whole process, median us" "<= 1.0 x keyctl" "$GET_WHY"
fi
if [ -n "$pg" ] && [ -n "$pt" ]; then
	r=$(ratio "$pg" "$pt")
	row "ccr-config get, whole process, median us" "$(fmt "$pg" 0)" "/bin/true $(fmt "$pt" 0)" "$r" "<= 1.10 x true" "$(verdict "$r" "<=" 1.10)"
else
	row_na "ccr-config get vs /bin/true" "<= 1.10 x true" "${GET_WHY:-${PROC_WHY:-/bin/true timing failed}}"
fi

sl=$(m set.c1 p50_us) dw=$(m durable median_us)
if [ -n "$sl" ] && [ -n "$dw" ]; then
	r=$(pratio set.c1 durable p50_us median_us)
	row "set latency, 1 setter, median us" "$(fmt "$sl" 0)" "durable write $(fmt "$dw" 0)" "$r" "<= 1.3 x durable" "$(verdict "$r" "<=" 1.3)"
else
	row_na "set latency, 1 setter, median us" "<= 1.3 x durable" "$KEYD_NA_WHY"
fi
s1=$(m set.c1 rps) s32=$(m set.c32 rps)
if [ -n "$s1" ] && [ -n "$s32" ]; then
	r=$(pratio set.c32 set.c1 rps)
	row "set req/s, 32 concurrent setters" "$(fmt "$s32" 0)" "1 setter $(fmt "$s1" 0)" "$r" ">= 10 x 1 setter" "$(verdict "$r" ">=" 10)"
else
	row_na "set req/s, 32 concurrent setters" ">= 10 x 1 setter" "$KEYD_NA_WHY"
fi

r1=$(m start.1 rss_kib) r10=$(m start.10k rss_kib) t1=$(m start.1 median_us) t10=$(m start.10k median_us)
if [ -n "$r1" ]; then
	v=$(calc "$r1/1024")
	row "RSS idle (1 key), MiB" "$(fmt "$v" 2)" "anon $(fmt "$(calc "$(m start.1 rss_anon_kib)/1024")" 2)" "" "<= 2.5 MiB" "$(verdict "$v" "<=" 2.5)"
else
	row_na "RSS idle (1 key), MiB" "<= 2.5 MiB" "${START_WHY}"
fi
if [ -n "$r10" ]; then
	v=$(calc "$r10/1024")
	row "RSS with 10,000 keys, MiB" "$(fmt "$v" 2)" "anon $(fmt "$(calc "$(m start.10k rss_anon_kib)/1024")" 2)" "" "<= 5 MiB" "$(verdict "$v" "<=" 5)"
else
	row_na "RSS with 10,000 keys, MiB" "<= 5 MiB" "${START_WHY}"
fi
if [ -n "$t1" ] && [ -n "$t10" ]; then
	v=$(calc "($t10-$t1)/1000")
	row "load 10,000 keys at start, ms" "$(fmt "$v" 2)" "start, 1 key $(fmt "$(calc "$t1/1000")" 2)" "" "<= 12 ms" "$(verdict "$v" "<=" 12)"
else
	row_na "load 10,000 keys at start, ms" "<= 12 ms" "${START_WHY}"
fi
if [ -n "$px" ] && [ -n "$pt" ]; then
	v=$(calc "($px-$pt)/1000")
	row "ccr-config exec -- true, 20 names, ms over" "$(fmt "$v" 2)" "/bin/true $(fmt "$(calc "$pt/1000")" 2) ms" "$(ratio "$px" "$pt")" "<= 2 ms over true" "$(verdict "$v" "<=" 2)"
else
	row_na "ccr-config exec -- true, 20 names, ms over" "<= 2 ms over true" "$EXEC_WHY"
fi
for sc in $SEALED_CASES; do
	sv=$(m "sealed.pinned.$sc" rps) pv=$(m "keyd.pinned.$sc" rps)
	c=${sc%%.*} d=${sc#*.}
	label="sealed get req/s, ${c#c} clients, depth ${d#d}, pinned"
	if [ -n "$sv" ] && [ -n "$pv" ]; then
		r=$(pratio "sealed.pinned.$sc" "keyd.pinned.$sc" rps)
		row "$label" "$(fmt "$sv" 0)" "plain $(fmt "$pv" 0)" "$r" "none (unlocked)" "-"
	else
		row_na "$label" "(none)" "${SEALED_WHY:-$KEYD_NA_WHY}"
	fi
done

gon=$(m conn.on rps) goff=$(m conn.off rps)
if [ -n "$gon" ] && [ -n "$goff" ]; then
	r=$(pratio conn.on conn.off rps)
	row "get, new connection each, guard on, req/s" "$(fmt "$gon" 0)" "guard off $(fmt "$goff" 0)" "$r" "none (a cost)" "-"
	v=$(calc "1000000/$gon - 1000000/$goff")
	row "agent guard cost per connection, us" "$(fmt "$v" 1)" "walk of $WALK_DEPTH processes" "" "none (a cost)" "-"
else
	row_na "agent guard cost per connection, us" "(none)" "${GUARD_WHY:-$KEYD_NA_WHY}"
fi
printf '| %-46s | %12s | %-24s | %6s | %-18s | %-6s |\n' figure value baseline ratio target result
printf '|%s|\n' "------------------------------------------------|--------------|--------------------------|--------|--------------------|--------"
printf '%s\n' "${ROWS[@]}"
echo
echo "## baselines"
echo
printf '| %-46s | %12s |\n' figure value
printf '|%s|\n' "------------------------------------------------|--------------"
printf '| %-46s | %12s |\n' "raw echo, 1 client, depth 1, pinned, req/s" "$(fmt "$(m echo.pinned.c1.d1 rps)" 0)"
printf '| %-46s | %12s |\n' "raw echo, 32 clients, depth 1, pinned, req/s" "$(fmt "$(m echo.pinned.c32.d1 rps)" 0)"
printf '| %-46s | %12s |\n' "raw echo, 32 clients, depth 16, pinned, req/s" "$(fmt "$(m echo.pinned.c32.d16 rps)" 0)"
printf '| %-46s | %12s |\n' "raw echo, 1 client, depth 1, pinned, p99 us" "$(fmt "$ep" 1)"
printf '| %-46s | %12s |\n' "bare durable write 4 KiB, median us" "$(fmt "$dw" 0)"
printf '| %-46s | %12s |\n' "bare durable write 4 KiB, p99 us" "$(fmt "$(m durable p99_us)" 0)"
printf '| %-46s | %12s |\n' "/bin/true, whole process, median us" "$(fmt "$pt" 0)"
if [ -n "$pk" ]; then
	printf '| %-46s | %12s |\n' "keyctl print, whole process, median us" "$(fmt "$pk" 0)"
else
	printf '| %-46s | %12s |\n' "keyctl print, whole process, median us" "skipped"
	NOTES+=("keyctl print: skipped: $KEYCTL_WHY")
fi
if [ -n "$(m set.c1 p99_us)" ]; then
	echo
	printf 'set latency us, 1 setter: p50 %s, p99 %s; 32 setters: p50 %s, p99 %s\n' \
		"$(fmt "$(m set.c1 p50_us)" 0)" "$(fmt "$(m set.c1 p99_us)" 0)" \
		"$(fmt "$(m set.c32 p50_us)" 0)" "$(fmt "$(m set.c32 p99_us)" 0)"
fi
if [ ${#NOTES[@]} -gt 0 ]; then
	echo
	echo "notes:"
	printf -- '- %s\n' "${NOTES[@]}"
fi

# The machine line.
cpu=$(awk -F': *' '/^model name/{print $2; exit}' /proc/cpuinfo 2>/dev/null)
pc() { pkg-config --modversion "$1" 2>/dev/null || echo '?'; }
echo
printf 'machine: cpu="%s" cpus=%s kernel=%s fs=%s libuv=%s cjson=%s libsodium=%s cc="%s" commit=%s mode=%s loadavg=%s/%s\n' \
	"${cpu:-unknown}" "$(nproc 2>/dev/null)" "$(uname -r)" "$(df -PT "$WORK" 2>/dev/null | awk 'NR==2{print $2}')" \
	"$(pc libuv)" "$(pc libcjson)" "$(pc libsodium)" "$(${CC:-cc} --version 2>/dev/null | head -1)" \
	"$(git describe --always --dirty 2>/dev/null)" "$([ "$QUICK" = 1 ] && echo quick || echo full)" \
	"$LOAD_START" "$(cut -d' ' -f1 /proc/loadavg 2>/dev/null || echo '?')"
echo "bench took $(($(date +%s) - T_START)) s"
echo "1..$TAP_N"
if [ "$TAP_FAILED" -gt 0 ]; then
	echo "bench: $TAP_FAILED case(s) could not run: the harness or a server is broken" >&2
	exit 1
fi
exit 0
