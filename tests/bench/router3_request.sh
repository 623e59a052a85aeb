#!/usr/bin/env bash
# make bench-request3: the latency ccr-keyd's gateway plugin (client/node/plugin3.cjs) adds
# to one upstream request of router 3.x: router A through the `ccr` function (its
# provider's api_key the reference $BENCH_ONE_API_KEY, the key asked of ccr-keyd per
# request), router B the same 3.1.1 started bare with the key in its config, both under
# Node 22 on one fake upstream on loopback. Target: added median <= 0.5 ms.
# Router C, the same with the key in its config and a gateway plugin whose hook does
# nothing, splits that figure: the router's own cost of running a provider hook (C − B)
# and ccr-keyd's (A − C). A last line times plugin3.cjs's authenticate() alone, in
# process, against the same daemon.
# Node 22 and the router come from tests/e2e/v3/setup.sh (cached in build/e2e-cache).
#
#   BUILD=build [ROUNDS=300] [CCR_E2E_CACHE=DIR] bash tests/bench/router3_request.sh
set -u
cd "$(dirname "$0")/../.."

BUILD=${BUILD:-build}
ROUNDS=${ROUNDS:-300}
CACHE=${CCR_E2E_CACHE:-$PWD/build/e2e-cache}
V3=$(tests/e2e/v3/setup.sh "$CACHE") || {
	echo "bench-request3: router 3.1.1 / Node 22 could not be installed in $CACHE" >&2
	exit 2
}
eval "$V3"

. tests/sandbox.bash
sandbox_enter
WORK=$(mktemp -d "${TMPDIR:-/tmp}/ccr-bench-request3.XXXXXX")
PIDS=()
cleanup() {
	local p f
	# The servers (service.json) and their gateway children, which write until they exit.
	for f in "$WORK"/[abc]/.claude-code-router/service.json; do
		p=$("$NODE22" -p 'require(process.argv[1]).pid' "$f" 2>/dev/null) || continue
		PIDS+=($(cat /proc/"$p"/task/*/children 2>/dev/null) "$p")
	done
	for p in "${PIDS[@]}"; do
		kill "$p" 2>/dev/null && wait "$p" 2>/dev/null
	done
	for p in "${PIDS[@]}"; do
		for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
	done
	rm -rf "$WORK"
	sandbox_leave
}
trap cleanup EXIT
export TMPDIR=$WORK PATH=$ROUTER3_BIN:$PWD/$BUILD:$PATH CCR_KEYD_SOCKET=$WORK/sock CCR_KEYD_NO_AUTOSTART=1
unset XDG_RUNTIME_DIR NODE_OPTIONS CCR_HOME CCR_KEYS
KEY=csk-test-bench-request-0123456789abcdef
CLIENT=ccr-test-bench-client-0123456789

node tests/e2e/fake-upstream.mjs 0 /dev/null >"$WORK/up.port" 2>"$WORK/up.err" &
PIDS+=($!)
"$BUILD/ccr-keyd" --socket "$CCR_KEYD_SOCKET" --keys "$WORK/keys" >"$WORK/keyd.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 100); do [ -s "$WORK/up.port" ] && [ -S "$CCR_KEYD_SOCKET" ] && break; sleep 0.05; done
UP=$(head -n 1 "$WORK/up.port")

# config HOME PORT KEY [PLUGINS]: one provider on the fake upstream whose api_key is KEY.
config() {
	mkdir -p -m 700 "$1/.claude-code-router"
	cat >"$1/.claude-code-router/config.json" <<EOC
{ "HOST": "127.0.0.1", "PORT": $2, "APIKEY": "$CLIENT", ${4:-}
  "Providers": [ { "name": "one", "api_base_url": "http://127.0.0.1:$UP/v1/chat/completions",
                   "api_key": "$3", "models": ["m"] } ],
  "Router": { "default": "one,m" } }
EOC
}
PA=$(node tests/e2e/http.mjs free-port)
PB=$(node tests/e2e/http.mjs free-port)
WA=$(node tests/e2e/http.mjs free-port)
WB=$(node tests/e2e/http.mjs free-port)
PC=$(node tests/e2e/http.mjs free-port)
WC=$(node tests/e2e/http.mjs free-port)
cat >"$WORK/noop.cjs" <<'EOJ'
module.exports = { createGatewayPlugin: () => ({ providerHooks: [{ key: 'noop',
	authenticate: async (input) => ({ ok: true, value: input.upstreamRequest }) }] }) };
EOJ
NOOP="\"plugins\": [{\"id\": \"noop\", \"enabled\": true, \"permissions\": [\"core-gateway-plugins\"],
  \"coreGateway\": {\"plugins\": [{\"key\": \"noop\", \"enabled\": true, \"modulePath\": \"$WORK/noop.cjs\"}]}}],"
config "$WORK/a" "$PA" '$BENCH_ONE_API_KEY'
config "$WORK/b" "$PB" "$KEY"
config "$WORK/c" "$PC" "$KEY" "$NOOP"
printf '%s\n' "$KEY" | CCR_KEYS=$WORK/keys "$BUILD/ccr-config" set bench-one >/dev/null
HOME=$WORK/a "$BUILD/ccr-config" router -- start --no-open --port "$WA" >"$WORK/a.log" 2>&1 ||
	{ cat "$WORK/a.log" >&2; exit 1; }
HOME=$WORK/b "$ROUTER3_BIN/ccr" start --no-open --port "$WB" >"$WORK/b.log" 2>&1 ||
	{ cat "$WORK/b.log" >&2; exit 1; }
HOME=$WORK/c "$ROUTER3_BIN/ccr" start --no-open --port "$WC" >"$WORK/c.log" 2>&1 ||
	{ cat "$WORK/c.log" >&2; exit 1; }
for p in "$PA" "$PB" "$PC"; do node tests/e2e/v3/ccr3.mjs wait "$p" 30000 || exit 1; done

echo "# router 3.1.1 (plugin3.cjs), node $("$NODE22" --version), load $(cut -d' ' -f1-3 /proc/loadavg), $ROUNDS rounds"
echo "# A: through ccr (plugin3.cjs) vs B: key in config"
BENCH_CLIENT_KEY=$CLIENT BENCH_MODEL= BENCH_B="key in config" node tests/bench/router_request.mjs "$ROUNDS" "$PA" "$PB"
echo "# A: through ccr (plugin3.cjs) vs C: key in config and a hook that does nothing"
BENCH_CLIENT_KEY=$CLIENT BENCH_MODEL= BENCH_B="no-op hook" node tests/bench/router_request.mjs "$ROUNDS" "$PA" "$PC"
echo "# plugin3.cjs's authenticate() alone, in process (2000 calls after 200)"
"$NODE22" -e '
const p = require(process.argv[1]);
const prov = { name: "one", baseurl: process.argv[2] + "/v1", apikey: "$BENCH_ONE_API_KEY" };
const { providerHooks: [h] } = p.createGatewayPlugin({ config: { providers: [prov] },
	plugin: { config: { socket: process.argv[3] } } });
const input = () => ({ targetProviderConfig: prov, upstreamRequest: { url: process.argv[2] +
	"/v1/chat/completions", headers: { authorization: "Bearer $BENCH_ONE_API_KEY" }, body: {} } });
(async () => {
	for (let i = 0; i < 200; i++) if (!(await h.authenticate(input())).ok) throw new Error("refused");
	const t = [];
	for (let i = 0; i < 2000; i++) {
		const t0 = process.hrtime.bigint();
		await h.authenticate(input());
		t.push(Number(process.hrtime.bigint() - t0) / 1e6);
	}
	t.sort((a, b) => a - b);
	console.log(`authenticate (ms): median ${t[1000].toFixed(3)} p99 ${t[1980].toFixed(3)}`);
	process.exit(0);
})();' "$PWD/client/node/plugin3.cjs" "http://127.0.0.1:$UP" "$CCR_KEYD_SOCKET"
