#!/usr/bin/env node
// A stand-in for Claude Code on PATH, for the end-to-end tests. Zero dependencies.
//
// `ccr code` runs `claude ARGS` (through a shell; bin/claude execs this). This records what the agent
// would see, then talks to the router once the way Claude Code does:
//   - its whole environment, as JSON, to the file named by $CLAUDE_STANDIN_RECORD
//     (plus "argv", its "umask" and, with 2.x, the "settings" file it was handed,
//     with the "settingsMode" of the file and of its directory), one object;
//   - the router's URL and token from ANTHROPIC_BASE_URL / ANTHROPIC_AUTH_TOKEN in
//     its environment, or from the "env" of the file after --settings (router 2.x);
//   - one POST {url}/v1/messages with Authorization: Bearer <token>; the reply's
//     status and body are added to the record as "status" and "reply".
//   - with $CLAUDE_STANDIN_SCAN naming a file of strings, one a line: every
//     /proc/*/environ it can read is searched for each, while the agent, `ccr code`
//     and the router all run; "scan" in the record lists "pid: line number" hits.
//   - with $CLAUDE_STANDIN_ASK naming ccr-config, it first asks ccr-keyd for keys itself, as
//     an agent told to might: `ccr-config exec --all -- env`, `ccr-config get NAME` for
//     each name in $CLAUDE_STANDIN_ASK_NAMES, and a raw resolve of the env names in
//     $CLAUDE_STANDIN_ASK_ENVS on $CCR_KEYD_SOCKET; "ask" in the record holds each
//     status and output. It also double-forks a child with `setsid -f` that, once
//     re-parented, runs the same exec and writes its output, status and parent to
//     the record's path + ".orphan".
// Exits 0 when the router answered 200, else 1.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';

const args = process.argv.slice(2);
const record = { argv: args, env: { ...process.env } };
record.umask = /^Umask:\s*([0-7]+)/m.exec(fs.readFileSync('/proc/self/status', 'utf8'))[1];
let settings = null;
const i = args.indexOf('--settings');
if (i !== -1 && args[i + 1]) {
  const mode = (f) => (fs.statSync(f).mode & 0o777).toString(8);
  record.settingsFile = args[i + 1];
  settings = JSON.parse(fs.readFileSync(args[i + 1], 'utf8'));
  record.settings = settings;
  record.settingsMode = { file: mode(args[i + 1]), dir: mode(path.dirname(args[i + 1])) };
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

/* One raw request on ccr-keyd's socket; resolves to the reply line, or the error. */
function raw(line) {
  return new Promise((resolve) => {
    const c = net.createConnection(process.env.CCR_KEYD_SOCKET);
    let got = '';
    c.on('connect', () => c.end(line + '\n'));
    c.on('data', (d) => { got += d; });
    c.on('close', () => resolve(got.trim()));
    c.on('error', (e) => resolve(`error: ${e.message}`));
  });
}

if (process.env.CLAUDE_STANDIN_ASK) {
  const cli = process.env.CLAUDE_STANDIN_ASK;
  const names = (process.env.CLAUDE_STANDIN_ASK_NAMES || '').split(',').filter(Boolean);
  const run = (args) => {
    const r = spawnSync(cli, args, { encoding: 'utf8' });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
  };
  record.ask = { exec: run(['exec', '--all', '--', 'env']), get: {} };
  for (const n of names) record.ask.get[n] = run(['get', n]);
  const envs = (process.env.CLAUDE_STANDIN_ASK_ENVS || '').split(',').filter(Boolean);
  record.ask.resolve = await raw(JSON.stringify({ op: 'resolve', env: envs }));
  const out = `${cli.replace(/'/g, '')}`;
  const orphan = `${process.env.CLAUDE_STANDIN_RECORD}.orphan`.replace(/'/g, '');
  const script = `for i in $(seq 200); do p=$(cut -d' ' -f4 /proc/$$/stat); ` +
    `c=$(cat /proc/$p/comm); [ "$c" != setsid ] && [ "$c" != node ] && [ "$c" != claude ] && break; ` +
    `sleep 0.05; done; '${out}' exec --all -- env >'${orphan}.tmp' 2>&1; ` +
    `echo "status $? parent $p $c" >>'${orphan}.tmp'; mv '${orphan}.tmp' '${orphan}'`;
  spawnSync('setsid', ['-f', 'sh', '-c', script], { stdio: 'ignore' });
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
