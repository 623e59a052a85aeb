#!/usr/bin/env bash
# make bench-profile: instructions per request with callgrind, which counts the
# same on a noisy machine as on a quiet one. For ccr-keyd's get path and for the
# echo floor: callgrind starts with instrumentation off, loadgen drives REQUESTS
# gets at depth 16 on one connection with instrumentation on, and the count is
# divided by the requests answered. Then the instructions to load a 10,000-key
# keystore (a whole start, minus a start on a 1-key keystore). Prints the top
# functions of each profile; leaves the callgrind files in $BUILD/bench/profile/.
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
B=$BUILD/bench
OUT=$B/profile
REQUESTS=${REQUESTS:-20000}
TOP=${TOP:-15}

command -v valgrind >/dev/null 2>&1 || { echo "bench-profile: valgrind is not installed" >&2; exit 2; }
[ -x "$BUILD/ccr-keyd" ] || { echo "bench-profile: $BUILD/ccr-keyd is not built" >&2; exit 2; }
mkdir -p "$OUT"
# Nothing here may reach the user's own keys or daemon.
. tests/sandbox.bash
sandbox_enter
WORK=$(mktemp -d "${TMPDIR:-/tmp}/ccr-profile.XXXXXX")
VPID=
cleanup() {
	[ -n "$VPID" ] && kill "$VPID" 2>/dev/null && wait "$VPID" 2>/dev/null
	rm -rf "$WORK"
	sandbox_leave
}
trap cleanup EXIT

GET_REQ='{"op":"get","name":"bench-key-0001","id":1'
while [ ${#GET_REQ} -lt 98 ]; do GET_REQ="$GET_REQ "; done
GET_REQ="$GET_REQ}"
NOW=2026-11-28T21:04:05Z
(
	umask 077
	printf '{"version":1,"keys":{"bench-key-0001":{"value":"csk-test-bench-0123456789abcdef0123456789abcdef","env":"BENCH_KEY_0001_API_KEY","created":"%s","updated":"%s"}}}\n' \
		"$NOW" "$NOW" >"$WORK/keys1"
	awk -v n=10000 -v now="$NOW" 'BEGIN{
		printf "{\"version\":1,\"keys\":{"
		for (i = 1; i <= n; i++)
			printf "%s\"bench-key-%05d\":{\"value\":\"csk-test-bench-%05d-%08x%08x\",\"env\":\"BENCH_KEY_%05d_API_KEY\",\"created\":\"%s\",\"updated\":\"%s\"}",
				(i > 1 ? "," : ""), i, i, (i * 2654435761) % 4294967296, (i * 40503) % 4294967296, i, now, now
		printf "}}\n"
	}' >"$WORK/keys10k"
)

# total_ir FILE: the instruction total of a callgrind file.
total_ir() { awk '/^totals:/{t = $2} END{print t + 0}' "$1"; }

# per_request NAME SOCK CMD…: Ir per get answered by the server CMD.
per_request() {
	local name=$1 sock=$2 line n ir
	shift 2
	valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$OUT/get.$name.out" \
		"$@" >/dev/null 2>"$WORK/vg.$name.log" &
	VPID=$!
	for _ in $(seq 1 300); do [ -S "$sock" ] && break; sleep 0.05; done
	sleep 0.5
	callgrind_control -i on "$VPID" >/dev/null
	line=$("$B/loadgen" --socket "$sock" --clients 1 --depth 16 --requests "$REQUESTS" \
		--request "$GET_REQ") || { echo "bench-profile: loadgen failed on $name" >&2; exit 1; }
	callgrind_control -i off "$VPID" >/dev/null
	kill "$VPID"
	wait "$VPID" 2>/dev/null
	VPID=
	n=$(printf '%s\n' "$line" | sed -n 's/.*requests=\([0-9]*\).*/\1/p')
	ir=$(total_ir "$OUT/get.$name.out")
	echo "$name: $((ir / n)) instructions per get ($ir over $n requests)"
}

# start_ir NAME KEYS: Ir of a whole daemon start on KEYS until its socket exists.
start_ir() {
	local sock=$WORK/start.sock
	valgrind --tool=callgrind --callgrind-out-file="$OUT/start.$1.out" \
		"$BUILD/ccr-keyd" --socket "$sock" --keys "$2" >/dev/null 2>"$WORK/vg.start.log" &
	VPID=$!
	"$B/loadgen" --socket "$sock" --clients 1 --depth 1 --requests 1 \
		--request '{"op":"hello","id":1}' >/dev/null || { echo "bench-profile: no hello" >&2; exit 1; }
	kill "$VPID"
	wait "$VPID" 2>/dev/null
	VPID=
	total_ir "$OUT/start.$1.out"
}

echo "# callgrind, $REQUESTS gets at depth 16 on one connection"
per_request ccr-keyd "$WORK/keyd.sock" "$BUILD/ccr-keyd" --socket "$WORK/keyd.sock" --keys "$WORK/keys1"
per_request echo "$WORK/echo.sock" "$B/echo_server" --socket "$WORK/echo.sock"
s1=$(start_ir 1 "$WORK/keys1")
s10=$(start_ir 10k "$WORK/keys10k")
echo "load 10,000 keys: $(((s10 - s1) / 10000)) instructions per key ($s10 - $s1 for the whole start)"

for f in get.ccr-keyd start.10k; do
	echo
	echo "## $f: top $TOP functions by own instructions ($OUT/$f.out)"
	callgrind_annotate --inclusive=no "$OUT/$f.out" 2>/dev/null |
		sed -n '/file:function/,$p' | sed -n "3,$((TOP + 2))p" | cut -c1-140
	echo
	echo "## $f: top $TOP by inclusive instructions"
	callgrind_annotate --inclusive=yes "$OUT/$f.out" 2>/dev/null |
		sed -n '/file:function/,$p' | sed -n "3,$((TOP + 2))p" | cut -c1-140
done
