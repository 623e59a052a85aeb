// The latency ccr-keyd adds to one upstream request: two routers of the same version
// on the same fake upstream, A through the `ccr` function (its provider key a token that
// joins each request, asked of ccr-keyd for the request's origin), B bare, its key in its
// environment. Requests alternate A, B, A, B … so that drift in the machine's speed hits
// both alike; each is timed from send to the reply's last byte.
//
//   node router_request.mjs ROUNDS PORT_A PORT_B
//
// BENCH_CLIENT_KEY, when set, goes as x-api-key (router 3.x wants its client key);
// BENCH_MODEL is the request's model ("one,m" unless set; empty: none, the default route);
// BENCH_B names router B's case ("key in env" unless set).
// Prints, for plain and streaming requests: median and p99 of A, of B, and of A − B paired
// round by round (the figure with the target: ≤ 0.5 ms median).
import http from 'node:http';

const [rounds, portA, portB] = process.argv.slice(2).map(Number);
const clientKey = process.env.BENCH_CLIENT_KEY;
const model = process.env.BENCH_MODEL ?? 'one,m';
const labelB = process.env.BENCH_B || 'key in env';

function once(port, stream) {
  const body = JSON.stringify({ ...(model ? { model } : {}), max_tokens: 8, stream,
    messages: [{ role: 'user', content: 'ping' }] });
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const req = http.request({ host: '127.0.0.1', port, method: 'POST', path: '/v1/messages',
      agent: false, headers: { 'content-type': 'application/json', 'content-length': body.length,
        ...(clientKey ? { 'x-api-key': clientKey } : {}) } },
    (res) => {
      res.on('data', () => {});
      res.on('end', () => {
        if (res.statusCode !== 200) return reject(new Error(`router on ${port}: HTTP ${res.statusCode}`));
        resolve(Number(process.hrtime.bigint() - t0) / 1e6);
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(p * s.length))];
};

for (const stream of [false, true]) {
  for (let i = 0; i < 20; i++) { await once(portA, stream); await once(portB, stream); } // warm-up
  const a = [], b = [], d = [];
  for (let i = 0; i < rounds; i++) {
    const x = await once(portA, stream);
    const y = await once(portB, stream);
    a.push(x); b.push(y); d.push(x - y);
  }
  const f = (v) => v.toFixed(3).padStart(8);
  const what = stream ? 'streaming' : 'plain    ';
  console.log(`${what}  through ccr (ms): median ${f(pct(a, 0.5))} p99 ${f(pct(a, 0.99))}` +
    `   ${labelB}: median ${f(pct(b, 0.5))} p99 ${f(pct(b, 0.99))}` +
    `   added: median ${f(pct(d, 0.5))} p99 ${f(pct(d, 0.99))}` +
    `   ${pct(d, 0.5) <= 0.5 ? 'PASS' : 'MISS'} (target: added median <= 0.5 ms)`);
}
