#!/usr/bin/env bash
# make bench-router: time from `ccr start` to the router listening, the bare router
# against the router through the `ccr` function (ccr-config router, the preload, one
# resolve for the names its config references). Target: at most +50 ms (median).
#
#   BUILD=build [RUNS=20] [ROUTER=1|2] bash tests/bench/router_start.sh
#
# Uses the router pinned in tests/e2e (1.0.73; ROUTER=2: tests/e2e/v2, 2.0.0), which
# make e2e-deps installs (npm ci --prefix tests/e2e). Everything runs in a
# sandbox HOME with its own daemon, stopped by its pid.
set -u
cd "$(dirname "$0")/../.."

BUILD=${BUILD:-build}
RUNS=${RUNS:-20}
case ${ROUTER:-1} in
2) DIR=tests/e2e/v2 ;;
*) DIR=tests/e2e ;;
esac
BIN=$PWD/$DIR/node_modules/.bin
if [ ! -x "$BIN/ccr" ]; then
	echo "bench-router: no router in $DIR; run: make e2e-deps" >&2
	exit 2
fi

. tests/sandbox.bash
sandbox_enter
WORK=$(mktemp -d "${TMPDIR:-/tmp}/ccr-bench-router.XXXXXX")
KEYD_PID=
cleanup() {
	[ -n "$KEYD_PID" ] && kill "$KEYD_PID" 2>/dev/null && wait "$KEYD_PID" 2>/dev/null
	rm -rf "$WORK"
	sandbox_leave
}
trap cleanup EXIT

export HOME=$WORK/home CCR_HOME=$WORK/home/.claude-code-router
export CCR_KEYD_SOCKET=$WORK/sock CCR_KEYS=$CCR_HOME/keys CCR_KEYD_NO_AUTOSTART=1
export TMPDIR=$WORK PATH=$BIN:$PWD/$BUILD:$PATH
unset XDG_RUNTIME_DIR NODE_OPTIONS
mkdir -p -m 700 "$CCR_HOME"
PORT=$(node tests/e2e/http.mjs free-port)

"$BUILD/ccr-keyd" --socket "$CCR_KEYD_SOCKET" --keys "$CCR_KEYS" >"$WORK/keyd.log" 2>&1 &
KEYD_PID=$!
for _ in $(seq 100); do [ -S "$CCR_KEYD_SOCKET" ] && break; sleep 0.05; done
# Three providers, one key each in the keystore.
for n in one two three; do
	printf 'csk-test-bench-router-%s-0123456789\n' "$n" | "$BUILD/ccr-config" set "bench-$n" >/dev/null
done
cat >"$CCR_HOME/config.json" <<EOF
{
  "LOG": false, "HOST": "127.0.0.1", "PORT": $PORT,
  "Providers": [
    { "name": "one", "api_base_url": "http://127.0.0.1:9/v1/chat/completions", "api_key": "\$BENCH_ONE_API_KEY", "models": ["m"] },
    { "name": "two", "api_base_url": "http://127.0.0.1:9/v1/chat/completions", "api_key": "\$BENCH_TWO_API_KEY", "models": ["m"] },
    { "name": "three", "api_base_url": "http://127.0.0.1:9/v1/chat/completions", "api_key": "\$BENCH_THREE_API_KEY", "models": ["m"] }
  ],
  "Router": { "default": "one,m" }
}
EOF
"$BUILD/ccr-config" shell-init bash >"$WORK/function.bash"

echo "# router $("$BIN/ccr" -v | tail -1), node $(node --version), load $(cut -d' ' -f1-3 /proc/loadavg)"
node tests/bench/router_start.mjs "$RUNS" "$PORT" "$WORK/function.bash"
