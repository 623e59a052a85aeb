#!/usr/bin/env node
// Small loopback HTTP helpers for router.bats, so the test needs no curl. Zero deps.
//
//   node http.mjs free-port
//       print a TCP port that was free on 127.0.0.1 a moment ago
//   node http.mjs wait PORT PID TIMEOUT_MS
//       poll GET http://127.0.0.1:PORT/health until it answers 200; exit 1 when
//       TIMEOUT_MS passes or process PID is gone (the router died) first
//   node http.mjs message PORT [stream|plain] [MODEL]
//       POST one Anthropic-format request to http://127.0.0.1:PORT/v1/messages (MODEL
//       "provider,model" routes it; default: the router's default route);
//       print the status line and the body; exit 0 only on HTTP 200
//   node http.mjs get PORT PATH [TOKEN]
//   node http.mjs post PORT PATH [TOKEN]   (the JSON body on stdin)
//   node http.mjs put PORT PATH [TOKEN]    (likewise)
//       one request (Authorization: Bearer TOKEN when given); print the body; exit 0
//       only on HTTP 200 with a Content-Length that is the body's length in bytes
import http from 'node:http';
import net from 'node:net';

const [cmd, ...args] = process.argv.slice(2);

function request(port, method, path, body, token) {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
    const headers = data ? { 'content-type': 'application/json', 'content-length': data.length } : {};
    if (token)
      headers.authorization = `Bearer ${token}`;
    const req = http.request({
      host: '127.0.0.1',
      port,
      method,
      path,
      headers,
      timeout: 30000,
    }, (res) => {
      const parts = [];
      res.on('data', (d) => parts.push(d));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers,
        bytes: Buffer.concat(parts).length, body: Buffer.concat(parts).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    if (data) req.write(data);
    req.end();
  });
}

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return e.code === 'EPERM';
  }
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function main() {
  switch (cmd) {
    case 'free-port': {
      const s = net.createServer();
      await new Promise((r) => s.listen(0, '127.0.0.1', r));
      const { port } = s.address();
      await new Promise((r) => s.close(r));
      console.log(port);
      return 0;
    }
    case 'wait': {
      const [port, pid, timeout] = args.map(Number);
      const end = Date.now() + (timeout || 20000);
      while (Date.now() < end) {
        if (pid && !alive(pid)) {
          console.error(`process ${pid} exited before port ${port} answered`);
          return 1;
        }
        try {
          const r = await request(port, 'GET', '/health');
          if (r.status === 200) return 0;
        } catch {
          /* not listening yet */
        }
        await sleep(50);
      }
      console.error(`port ${port} did not answer within ${timeout} ms`);
      return 1;
    }
    case 'message': {
      const port = Number(args[0]);
      const stream = args[1] === 'stream';
      const r = await request(port, 'POST', '/v1/messages', {
        model: args[2] || 'claude-3-5-sonnet-20241022',
        max_tokens: 32,
        stream,
        messages: [{ role: 'user', content: 'ping' }],
      });
      console.log(`HTTP ${r.status}`);
      console.log(r.body);
      return r.status === 200 ? 0 : 1;
    }
    case 'get':
    case 'put':
    case 'post': {
      const [port, path, token] = args;
      let body;
      if (cmd !== 'get') {
        const parts = [];
        for await (const d of process.stdin) parts.push(d);
        body = Buffer.concat(parts).toString('utf8');
      }
      const r = await request(Number(port), cmd.toUpperCase(), path, body, token);
      console.log(r.body);
      const length = r.headers['content-length'];
      if (length !== undefined && Number(length) !== r.bytes) {
        console.error(`Content-Length ${length}, but ${r.bytes} bytes came`);
        return 1;
      }
      if (r.status !== 200) {
        console.error(`HTTP ${r.status}`);
        return 1;
      }
      return 0;
    }
    default:
      console.error('usage: http.mjs free-port | wait PORT PID TIMEOUT_MS | message PORT [stream] | ' +
        'get PORT PATH [TOKEN] | post|put PORT PATH [TOKEN]');
      return 2;
  }
}

main().then((rc) => process.exit(rc), (e) => {
  console.error(String(e && e.message || e));
  process.exit(1);
});
