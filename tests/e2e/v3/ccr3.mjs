#!/usr/bin/env node
// Loopback helpers for router3.bats: the 3.x gateway and the router's own management API
// (POST /api/ccr/rpc on its web port, header x-ccr-web-auth: the ccr_web_token that
// service.json's url carries). Zero dependencies; Node >= 20.
//
//   node ccr3.mjs wait PORT TIMEOUT_MS
//       poll http://127.0.0.1:PORT/ until anything answers; exit 1 on timeout
//   node ccr3.mjs message PORT CLIENT_KEY [stream|plain] [MODEL]
//       one Anthropic-format POST /v1/messages with x-api-key: CLIENT_KEY; print the
//       status line and the body; exit 0 only on HTTP 200
//   node ccr3.mjs register ROUTER_HOME MODULE [CONFIG_JSON]
//       add (or replace) ccr-keyd's plugins[] entry (plugin3.cjs registration()) through
//       the router's API: getConfig, then saveConfig, which restarts the gateway child
//   node ccr3.mjs set-base ROUTER_HOME PROVIDER URL
//       point provider PROVIDER's api_base_url at URL through the same API
//   node ccr3.mjs config ROUTER_HOME
//       print the router's config as its API gives it (getConfig)
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const [cmd, ...args] = process.argv.slice(2);

function request(port, method, urlPath, body, headers = {}) {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const h = { ...headers, ...(data ? { 'content-type': 'application/json', 'content-length': data.length } : {}) };
    const req = http.request({ host: '127.0.0.1', port, method, path: urlPath, headers: h, timeout: 60000 },
      (res) => {
        const parts = [];
        res.on('data', (d) => parts.push(d));
        res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(parts).toString('utf8') }));
      });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    if (data)
      req.write(data);
    req.end();
  });
}

// The management API of the router whose home is routerHome.
function api(routerHome) {
  const service = JSON.parse(fs.readFileSync(path.join(routerHome, 'service.json'), 'utf8'));
  const url = new URL(service.url);
  const token = url.searchParams.get('ccr_web_token');
  return async (method, callArgs) => {
    const r = await request(Number(url.port), 'POST', '/api/ccr/rpc', { method, args: callArgs },
      { 'x-ccr-web-auth': token });
    const j = JSON.parse(r.body);
    if (r.status !== 200 || !j.ok)
      throw new Error(`${method}: HTTP ${r.status} ${r.body}`);
    return j.value;
  };
}

async function main() {
  if (cmd === 'wait') {
    const [port, timeout] = args.map(Number);
    const end = Date.now() + timeout;
    while (Date.now() < end) {
      try {
        await request(port, 'GET', '/');
        return 0;
      } catch {
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    return 1;
  }
  if (cmd === 'message') {
    const [port, key, mode = 'plain', model] = args;
    const body = { max_tokens: 16, messages: [{ role: 'user', content: 'ping' }] };
    if (model)
      body.model = model;
    if (mode === 'stream')
      body.stream = true;
    const r = await request(Number(port), 'POST', '/v1/messages', body, { 'x-api-key': key });
    process.stdout.write(`HTTP ${r.status}\n${r.body}\n`);
    return r.status === 200 ? 0 : 1;
  }
  if (cmd === 'register') {
    const [home, modulePath, configJson = '{}'] = args;
    const plugin3 = require(path.resolve(modulePath));
    const call = api(home);
    const cfg = await call('getConfig', []);
    const entry = plugin3.registration(path.resolve(modulePath), JSON.parse(configJson));
    cfg.plugins = [...(cfg.plugins || []).filter((p) => p.id !== entry.id), entry];
    const saved = await call('saveConfig', [cfg]);
    process.stdout.write(`${JSON.stringify(saved.plugins)}\n`);
    return 0;
  }
  if (cmd === 'set-base') {
    const [home, name, url] = args;
    const call = api(home);
    const cfg = await call('getConfig', []);
    const p = (cfg.Providers || []).find((x) => x.name === name);
    if (!p)
      throw new Error(`no provider ${name}`);
    p.api_base_url = url;
    await call('saveConfig', [cfg]);
    return 0;
  }
  if (cmd === 'config') {
    process.stdout.write(`${JSON.stringify(await api(args[0])('getConfig', []), null, 2)}\n`);
    return 0;
  }
  process.stderr.write('usage: ccr3.mjs wait|message|register|set-base|config …\n');
  return 2;
}

main().then((rc) => process.exit(rc), (e) => {
  process.stderr.write(`ccr3.mjs ${cmd}: ${e.message}\n`);
  process.exit(1);
});
