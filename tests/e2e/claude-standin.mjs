#!/usr/bin/env node
// A stand-in for Claude Code on PATH, for the end-to-end tests. Zero dependencies.
//
// `ccr code` runs `claude ARGS` (through a shell; bin/claude execs this). This records what the agent
// would see, then talks to the router once the way Claude Code does:
//   - its whole environment, as JSON, to the file named by $CLAUDE_STANDIN_RECORD
//     (plus "argv" and, with 2.x, the "settings" file it was handed), one object;
//   - the router's URL and token from ANTHROPIC_BASE_URL / ANTHROPIC_AUTH_TOKEN in
//     its environment, or from the "env" of the file after --settings (router 2.x);
//   - one POST {url}/v1/messages with Authorization: Bearer <token>; the reply's
//     status and body are added to the record as "status" and "reply".
//   - with $CLAUDE_STANDIN_SCAN naming a file of strings, one a line: every
//     /proc/*/environ it can read is searched for each, while the agent, `ccr code`
//     and the router all run; "scan" in the record lists "pid: line number" hits.
// Exits 0 when the router answered 200, else 1.
import fs from 'node:fs';
import http from 'node:http';

const args = process.argv.slice(2);
const record = { argv: args, env: { ...process.env } };
let settings = null;
const i = args.indexOf('--settings');
if (i !== -1 && args[i + 1]) {
  record.settingsFile = args[i + 1];
  settings = JSON.parse(fs.readFileSync(args[i + 1], 'utf8'));
  record.settings = settings;
}
const pick = (name) => (settings && settings.env && settings.env[name]) || process.env[name];
const base = pick('ANTHROPIC_BASE_URL');
const token = pick('ANTHROPIC_AUTH_TOKEN');

function save() {
  if (process.env.CLAUDE_STANDIN_RECORD)
    fs.writeFileSync(process.env.CLAUDE_STANDIN_RECORD, JSON.stringify(record) + '\n');
}

if (process.env.CLAUDE_STANDIN_SCAN) {
  const wanted = fs.readFileSync(process.env.CLAUDE_STANDIN_SCAN, 'utf8').split('\n').filter(Boolean);
  record.scan = [];
  record.scanned = 0;
  for (const pid of fs.readdirSync('/proc').filter((d) => /^[0-9]+$/.test(d))) {
    let env;
    try {
      env = fs.readFileSync(`/proc/${pid}/environ`);
    } catch {
      continue;
    }
    record.scanned++;
    wanted.forEach((w, i) => {
      if (env.includes(Buffer.from(w))) record.scan.push(`${pid}: ${i + 1}`);
    });
  }
}

if (!base) {
  record.status = 0;
  record.reply = 'no ANTHROPIC_BASE_URL';
  save();
  process.exit(1);
}
const url = new URL('/v1/messages', base);
const body = Buffer.from(JSON.stringify({
  model: 'claude-3-5-sonnet-20241022',
  max_tokens: 32,
  messages: [{ role: 'user', content: args.filter((a) => !a.startsWith('-')).join(' ') || 'ping' }],
}));
const req = http.request({
  host: url.hostname,
  port: url.port,
  method: 'POST',
  path: url.pathname,
  headers: {
    'content-type': 'application/json',
    'content-length': body.length,
    authorization: `Bearer ${token}`,
    'anthropic-version': '2023-06-01',
  },
  timeout: 30000,
}, (res) => {
  const parts = [];
  res.on('data', (d) => parts.push(d));
  res.on('end', () => {
    record.status = res.statusCode;
    record.reply = Buffer.concat(parts).toString('utf8');
    save();
    process.exit(res.statusCode === 200 ? 0 : 1);
  });
});
req.on('error', (e) => {
  record.status = 0;
  record.reply = String(e.message);
  save();
  process.exit(1);
});
req.end(body);
