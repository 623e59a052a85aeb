#!/usr/bin/env bash
# make bench-request: the latency a key joining each upstream request adds:
# router A through the `ccr` function with its key in ccr-keyd (a token in the router,
# the key asked for per request), router B the same version started bare with the key in
# its environment, both on one fake upstream on loopback. Target: added median ≤ 0.5 ms.
#
#   BUILD=build [ROUNDS=300] [ROUTER=1|2] bash tests/bench/router_request.sh
set -u
cd "$(dirname "$0")/../.."

BUILD=${BUILD:-build}
ROUNDS=${ROUNDS:-300}
case ${ROUTER:-1} in
2) DIR=tests/e2e/v2 ;;
*) DIR=tests/e2e ;;
esac
BIN=$PWD/$DIR/node_modules/.bin
if [ ! -x "$BIN/ccr" ]; then
	echo "bench-request: no router in $DIR; run: make e2e-deps" >&2
	exit 2
fi

. tests/sandbox.bash
sandbox_enter
WORK=$(mktemp -d "${TMPDIR:-/tmp}/ccr-bench-request.XXXXXX")
PIDS=()
cleanup() {
	local p
	for p in "${PIDS[@]}" $(cat "$WORK"/a/.claude-code-router/.claude-code-router.pid \
		"$WORK"/b/.claude-code-router/.claude-code-router.pid 2>/dev/null); do
		kill "$p" 2>/dev/null && wait "$p" 2>/dev/null
	done
	rm -rf "$WORK"
	sandbox_leave
}
trap cleanup EXIT
export TMPDIR=$WORK PATH=$BIN:$PWD/$BUILD:$PATH CCR_KEYD_SOCKET=$WORK/sock CCR_KEYD_NO_AUTOSTART=1
unset XDG_RUNTIME_DIR NODE_OPTIONS CCR_HOME CCR_KEYS
KEY=csk-test-bench-request-0123456789abcdef

node tests/e2e/fake-upstream.mjs 0 /dev/null >"$WORK/up.port" 2>"$WORK/up.err" &
PIDS+=($!)
"$BUILD/ccr-keyd" --socket "$CCR_KEYD_SOCKET" --keys "$WORK/keys" >"$WORK/keyd.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 100); do [ -s "$WORK/up.port" ] && [ -S "$CCR_KEYD_SOCKET" ] && break; sleep 0.05; done
UP=$(head -n 1 "$WORK/up.port")

# config HOME PORT: one provider on the fake upstream, its key $BENCH_ONE_API_KEY.
config() {
	mkdir -p -m 700 "$1/.claude-code-router"
	cat >"$1/.claude-code-router/config.json" <<EOC
{ "LOG": false, "HOST": "127.0.0.1", "PORT": $2,
  "Providers": [ { "name": "one", "api_base_url": "http://127.0.0.1:$UP/v1/chat/completions",
                   "api_key": "\$BENCH_ONE_API_KEY", "models": ["m"] } ],
  "Router": { "default": "one,m" } }
EOC
}
PA=$(node tests/e2e/http.mjs free-port)
PB=$(node tests/e2e/http.mjs free-port)
config "$WORK/a" "$PA"
config "$WORK/b" "$PB"
printf '%s\n' "$KEY" | CCR_KEYS=$WORK/keys CCR_HOME=$WORK/a/.claude-code-router \
	"$BUILD/ccr-config" set bench-one >/dev/null
HOME=$WORK/a CCR_KEYS=$WORK/keys "$BUILD/ccr-config" router --background -- start >"$WORK/a.log" 2>&1 ||
	{ cat "$WORK/a.log" >&2; exit 1; }
HOME=$WORK/b BENCH_ONE_API_KEY=$KEY "$BIN/ccr" start >"$WORK/b.log" 2>&1 &
node tests/e2e/http.mjs wait "$PA" 0 30000 && node tests/e2e/http.mjs wait "$PB" 0 30000 || exit 1

echo "# router $("$BIN/ccr" -v 2>/dev/null | tail -1), node $(node --version), load $(cut -d' ' -f1-3 /proc/loadavg), $ROUNDS rounds"
node tests/bench/router_request.mjs "$ROUNDS" "$PA" "$PB"
