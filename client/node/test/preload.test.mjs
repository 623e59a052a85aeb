// The router preload (preload.cjs, router.cjs, guard.cjs): its pieces one by one,
// then whole, in real Node processes started with --require against the real
// build/ccr-keyd and a stand-in router package whose cli.js does what the router
// does with keys (JSON5-free config, the router's interpolation, children, file
// writes, a listening server). The real router runs in tests/e2e/agent.bats.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { cleanup, seed, standInRouter, startDaemon, tmpdir } from '../testlib/keyd.mjs';

const require = createRequire(import.meta.url);
const router = require('../router.cjs');
const guard = require('../guard.cjs');

const HERE = path.dirname(fileURLToPath(import.meta.url));
const PRELOAD = path.resolve(HERE, '../preload.cjs');
const TOKEN = router.requireOption(PRELOAD);
const STORED = 'csk-test-preload-0001-stored';
const SPARE = 'csk-test-preload-0002-spare';
const EXPORTED = 'csk-test-preload-0003-exported';

let dir, keyd;

before(async () => {
	dir = tmpdir('preload');
	keyd = await startDaemon(dir);
	await seed(keyd.sock, [
		{ name: 'stored', value: STORED, env: 'STORED_API_KEY' },
		{ name: 'spare', value: SPARE },
	]);
}, { timeout: 15000 });

after(async () => {
	if (keyd)
		await keyd.stop();
	if (dir)
		cleanup(dir);
}, { timeout: 10000 });

test('stripSelf takes out only the preload\'s own --require, and NODE_OPTIONS when nothing is left', () => {
	const env = { NODE_OPTIONS: `--max-old-space-size=512 ${TOKEN} --title=x` };
	router.stripSelf(env, PRELOAD);
	assert.equal(env.NODE_OPTIONS, '--max-old-space-size=512 --title=x');
	const only = { NODE_OPTIONS: TOKEN };
	router.stripSelf(only, PRELOAD);
	assert.equal('NODE_OPTIONS' in only, false);
	const other = { NODE_OPTIONS: '--require=/elsewhere/preload.cjs' };
	router.stripSelf(other, PRELOAD);
	assert.equal(other.NODE_OPTIONS, '--require=/elsewhere/preload.cjs');
	const odd = '/tmp/a b/"q"\\/preload.cjs';
	assert.equal(router.requireOption(odd), '--require="/tmp/a b/\\"q\\"\\\\/preload.cjs"');
	const quoted = { NODE_OPTIONS: `-r x.cjs ${router.requireOption(odd)}` };
	router.stripSelf(quoted, odd);
	assert.equal(quoted.NODE_OPTIONS, '-r x.cjs');
});

test('configNames finds $NAME, ${NAME} and escaped references, as the router would substitute them', () => {
	const text = '{ a: "$ONE", b: \'${TWO}\', c: "\\u0024THREE", d: "$lower", e: "${a-b}" }';
	assert.deepEqual(router.configNames(text).sort(), ['ONE', 'THREE', 'TWO', 'a-b']);
});

test('identify knows the router by its package.json, and unsupported says why for 3.x', () => {
	const pkg = standInRouter(tmpdir('identify'), '3.1.1');
	const r = router.identify(pkg.bin);
	assert.equal(r.version, '3.1.1');
	assert.equal(r.cli, fs.realpathSync(pkg.cli));
	assert.match(router.unsupported(r.version, r.major), /3\.1\.1.*config\.sqlite/);
	assert.equal(router.unsupported('1.0.73', 1), null);
	assert.equal(router.unsupported('2.0.0', 2), null);
	assert.equal(router.identify(path.join(HERE, 'pure.test.mjs')), null);
	cleanup(path.dirname(path.dirname(pkg.root)));
});

test('the scrubber writes ${NAME} for every key, restores what the config had, keeps the rest', () => {
	const restore = new Map([['Bearer ' + STORED, 'Bearer $STORED_API_KEY']]);
	const s = guard.scrubber([{ name: 'STORED_API_KEY', value: STORED }, { name: 'SHORT', value: 'abc' }],
		restore);
	assert.equal(s.text(`x ${STORED} y ${STORED}`), 'x ${STORED_API_KEY} y ${STORED_API_KEY}');
	assert.equal(s.text('abc stays'), 'abc stays');
	assert.equal(s.bytes(Buffer.from('nothing here')), null);
	assert.equal(s.bytes(Buffer.from(`k=${STORED}\n`)).toString(), 'k=${STORED_API_KEY}\n');
	const config = JSON.stringify({ a: STORED, b: 'Bearer ' + STORED, c: 'abc', d: [`x${STORED}`] }, null, 2);
	assert.deepEqual(JSON.parse(s.configText(config)), {
		a: '${STORED_API_KEY}', b: 'Bearer $STORED_API_KEY', c: '${SHORT}', d: ['x${STORED_API_KEY}'],
	});
	assert.match(s.configText(config), /^\{\n {2}"a"/);
	assert.equal(s.holds(`…${STORED}…`), true);
	assert.equal(s.holds('plain'), false);
});

test('withPreload adds the preload to NODE_OPTIONS once', () => {
	assert.deepEqual(guard.withPreload(['A=1'], TOKEN), ['A=1', `NODE_OPTIONS=${TOKEN}`]);
	assert.deepEqual(guard.withPreload(['NODE_OPTIONS=--x'], TOKEN), [`NODE_OPTIONS=--x ${TOKEN}`]);
	assert.deepEqual(guard.withPreload([`NODE_OPTIONS=${TOKEN}`], TOKEN), [`NODE_OPTIONS=${TOKEN}`]);
});

// What the stand-in router's cli.js does for `start`: the router's interpolation of its
// config, Object.assign(process.env, config), children of every kind, file writes of
// every kind, one listening server; it prints what it saw as JSON and exits.
const ROUTER_BODY = String.raw`
if (process.argv[2] === 'child') {
	// What this child was started with (its preload has already tidied process.env).
	const env = require('node:fs').readFileSync('/proc/self/environ', 'utf8').split('\0');
	console.log((env.find((e) => e.startsWith('NODE_OPTIONS=')) || '=').split('=').slice(1).join('='));
	process.exit(0);
}
if (process.argv[2] === 'child-env') {
	// The whole environment this child was started with, and what it sees now.
	const environ = require('node:fs').readFileSync('/proc/self/environ', 'utf8').split('\0').join('\n');
	console.log(environ + '\n' + JSON.stringify({ ...process.env }));
	process.exit(0);
}
const fs = require('node:fs');
const cp = require('node:child_process');
const os = require('node:os');
const path = require('node:path');
const home = path.join(os.homedir(), '.claude-code-router');
const configFile = path.join(home, 'config.json');
const interpolate = (o) => typeof o === 'string'
	? o.replace(/\$\{([^}]+)\}|\$([A-Z_][A-Z0-9_]*)/g, (m, b, u) => process.env[b || u] || m)
	: Array.isArray(o) ? o.map(interpolate)
	: o && typeof o === 'object' ? Object.fromEntries(Object.entries(o).map(([k, v]) => [k, interpolate(v)])) : o;
(async () => {
	const config = interpolate(JSON.parse(fs.readFileSync(configFile, 'utf8')));
	Object.assign(process.env, { APIKEY: config.APIKEY, EXTRA: 'Bearer ' + config.Providers[0].api_key });
	const out = { argv2: process.argv[2], config, nodeOptions: process.env.NODE_OPTIONS ?? null };
	out.spawnSync = cp.spawnSync('env').stdout.toString();
	out.execSync = cp.execSync('env', { env: { ...process.env } }).toString();
	out.fork = await new Promise((resolve) => {
		const c = cp.fork(process.argv[1], ['child-env'], { silent: true });
		let o = '';
		c.stdout.on('data', (d) => { o += d; });
		c.on('close', () => resolve(o));
	});
	// The router starts itself with spawn (restart, POST /api/restart, ccr code).
	out.childNodeOptions = await new Promise((resolve) => {
		const c = cp.spawn(process.execPath, [process.argv[1], 'child'], { stdio: ['ignore', 'pipe', 'inherit'] });
		let o = '';
		c.stdout.on('data', (d) => { o += d; });
		c.on('close', () => resolve(o.trim()));
	});
	fs.writeFileSync(path.join(home, 'sync.txt'), 'key ' + config.Providers[0].api_key);
	if (config.Providers[1])
		fs.appendFileSync(path.join(home, 'debug.log'), 'Bearer ' + config.Providers[1].api_key + '\n');
	await fs.promises.writeFile(configFile, JSON.stringify(config, null, 2));
	const h = await fs.promises.open(path.join(home, 'handle.log'), 'w');
	await h.write(Buffer.from('Bearer ' + config.Providers[0].api_key + '\n'));
	await h.close();
	const ws = fs.createWriteStream(path.join(home, 'stream.log'));
	await new Promise((r) => ws.end('authorization: Bearer ' + config.Providers[0].api_key + '\n', r));
	const server = require('node:net').createServer();
	await new Promise((r) => server.listen(0, '127.0.0.1', r));
	server.close();
	console.log(JSON.stringify(out));
})();
`;

// Run `node --require preload cli.js ARGS` for a stand-in router of version in a fresh home.
function runRouter(version, args, { env = {}, config, body = ROUTER_BODY } = {}) {
	const top = tmpdir('router');
	const pkg = standInRouter(top, version, body);
	const home = path.join(top, 'home');
	fs.mkdirSync(path.join(home, '.claude-code-router'), { recursive: true, mode: 0o700 });
	fs.writeFileSync(path.join(home, '.claude-code-router', 'config.json'), JSON.stringify(config || {
		APIKEY: 'csk-test-literal-client-key',
		Providers: [
			{ name: 'a', api_key: '$STORED_API_KEY' },
			{ name: 'b', api_key: '${EXPORTED_API_KEY}' },
			{ name: 'c', api_key: '$MISSING_API_KEY' },
		],
	}, null, 2));
	const full = { ...process.env, HOME: home, CCR_KEYD_SOCKET: keyd.sock, CCR_KEYD_NO_AUTOSTART: '1',
		NODE_OPTIONS: TOKEN, ...env };
	delete full.STORED_API_KEY;
	const r = spawnSync(process.execPath, [pkg.bin, ...args], { env: full, encoding: 'utf8', timeout: 20000 });
	return { ...r, home: path.join(home, '.claude-code-router'), top };
}

const TOKEN_FORM = /^ccrkeyd_[0-9a-f]{16}_[0-9a-f]{4}$/;

test('the router\'s server gets tokens for its provider keys; no child and no file gets a key', () => {
	const r = runRouter('1.0.73', ['start'], { env: { EXPORTED_API_KEY: EXPORTED } });
	assert.equal(r.status, 0, r.stderr);
	const out = JSON.parse(r.stdout);
	const [a, b, c] = out.config.Providers.map((p) => p.api_key);
	assert.match(a, TOKEN_FORM, 'a provider key from the keystore is a token');
	assert.match(b, TOKEN_FORM, 'a provider key from the environment is a token');
	assert.match(c, TOKEN_FORM, 'a provider key nobody has is a token too (its requests are refused)');
	assert.equal(new Set([a, b, c]).size, 3);
	assert.ok(!r.stdout.includes(STORED) && !r.stdout.includes(EXPORTED), 'the router saw a key');
	assert.equal(out.nodeOptions, null, 'the preload took itself out of NODE_OPTIONS');
	for (const k of ['spawnSync', 'execSync', 'fork'])
		assert.ok(!out[k].includes(STORED), `${k} child got the key`);
	assert.match(out.fork, /^HOME=/m, 'the forked child ran and printed its environment');
	assert.ok(!out.fork.includes('STORED_API_KEY'), 'the forked child sees the name');
	assert.equal(out.childNodeOptions, TOKEN, 'a child that is the router gets the preload');
	assert.match(r.stderr, /\$MISSING_API_KEY is referenced in config\.json but is neither/);
	assert.ok(!r.stderr.includes(STORED));
	for (const f of ['sync.txt', 'config.json', 'handle.log', 'stream.log']) {
		const text = fs.readFileSync(path.join(r.home, f), 'utf8');
		assert.ok(!text.includes(STORED), `${f} holds the key`);
		assert.ok(text.includes('STORED_API_KEY'), `${f} holds the reference: ${text}`);
	}
	const log = fs.readFileSync(path.join(r.home, 'debug.log'), 'utf8');
	assert.equal(log, 'Bearer ${EXPORTED_API_KEY}\n', 'a key from the environment is not written either');
	const saved = JSON.parse(fs.readFileSync(path.join(r.home, 'config.json'), 'utf8'));
	assert.equal(saved.Providers[0].api_key, '$STORED_API_KEY');
	assert.equal(saved.Providers[1].api_key, '${EXPORTED_API_KEY}', 'the exported value goes back as written');
	const rec = JSON.parse(fs.readFileSync(path.join(r.home, '.ccr-keyd-router.json'), 'utf8'));
	assert.equal(rec.pid, r.pid);
	assert.equal(rec.router, '1.0.73');
	assert.deepEqual(rec.keystore, ['STORED_API_KEY']);
	assert.deepEqual(rec.environment, ['EXPORTED_API_KEY']);
	assert.deepEqual(rec.missing, ['MISSING_API_KEY']);
	assert.equal(fs.statSync(path.join(r.home, '.ccr-keyd-router.json')).mode & 0o777, 0o600);
	assert.ok(!fs.readFileSync(path.join(r.home, '.ccr-keyd-router.json'), 'utf8').includes(STORED));
	cleanup(r.top);
});

test('a key the router itself puts into process.env stays out of children too', () => {
	const r = runRouter('2.0.0', ['start'], { config: {
		APIKEY: '$STORED_API_KEY', Providers: [{ name: 'a', api_key: 'literal' }],
	} });
	assert.equal(r.status, 0, r.stderr);
	const out = JSON.parse(r.stdout);
	assert.equal(out.config.APIKEY, STORED);
	assert.ok(!out.spawnSync.includes(STORED), 'Object.assign(process.env, config) leaked APIKEY');
	assert.ok(!out.spawnSync.includes('APIKEY='), 'the name itself is hidden');
	cleanup(r.top);
});

test('only keys are written back as references: a short setting or a path the config names is kept', () => {
	// A router that writes what its config gave it: a key, a log level, a directory.
	const body = String.raw`
const fs = require('node:fs');
const path = require('node:path');
const home = path.join(require('node:os').homedir(), '.claude-code-router');
const text = fs.readFileSync(path.join(home, 'config.json'), 'utf8')
	.replace(/\$\{([^}]+)\}|\$([A-Z_][A-Z0-9_]*)/g, (m, b, u) => process.env[b || u] || m);
const config = JSON.parse(text);
fs.writeFileSync(path.join(home, 'notes.txt'),
	JSON.stringify({ level: config.LOG_LEVEL, dir: config.DIR, key: config.Providers[0].api_key }));
`;
	const r = runRouter('1.0.73', ['start'], { body, env: { EXPORTED_API_KEY: EXPORTED, LVL: 'debug' },
		config: { LOG_LEVEL: '$LVL', DIR: '$HOME/project', Providers: [{ name: 'a', api_key: '$EXPORTED_API_KEY' }] } });
	assert.equal(r.status, 0, r.stderr);
	const notes = JSON.parse(fs.readFileSync(path.join(r.home, 'notes.txt'), 'utf8'));
	assert.equal(notes.level, 'debug', 'a short setting from the environment was rewritten');
	assert.equal(notes.dir, path.join(path.dirname(r.home), 'project'), '$HOME was rewritten');
	assert.equal(notes.key, '${EXPORTED_API_KEY}', 'the key from the environment is still written as its reference');
	cleanup(r.top);
});

test('daemon unreachable: provider keys need it only per request; APIKEY\'s names stop the start (exit 3) unless CCR_KEYD_FALLBACK_ENV=1', () => {
	let r = runRouter('1.0.73', ['start'], { env: { CCR_KEYD_SOCKET: path.join(dir, 'nobody') } });
	assert.equal(r.status, 0, r.stderr);
	assert.match(JSON.parse(r.stdout).config.Providers[0].api_key, TOKEN_FORM);
	cleanup(r.top);
	const config = { APIKEY: '$STORED_API_KEY', Providers: [{ name: 'a', api_key: '$EXPORTED_API_KEY' }] };
	r = runRouter('1.0.73', ['start'], { config, env: { CCR_KEYD_SOCKET: path.join(dir, 'nobody') } });
	assert.equal(r.status, 3, r.stderr);
	assert.match(r.stderr, /^ccr-keyd: ccr-keyd is not running/);
	assert.equal(r.stdout, '');
	cleanup(r.top);
	r = runRouter('1.0.73', ['start'], { config, env: { CCR_KEYD_SOCKET: path.join(dir, 'nobody'),
		CCR_KEYD_FALLBACK_ENV: '1', STORED_API_KEY: STORED } });
	assert.equal(r.status, 0, r.stderr);
	assert.match(r.stderr, /--fallback-env/);
	cleanup(r.top);
});

test('a router 3.x gets no keys and is told why in one line; the daemon is not asked', () => {
	const r = runRouter('3.1.1', ['start'], {
		env: { CCR_KEYD_SOCKET: path.join(dir, 'nobody') },
		body: 'console.log(process.env.STORED_API_KEY ?? "unset", process.env.NODE_OPTIONS ?? "none");\n',
	});
	assert.equal(r.status, 0, r.stderr);
	assert.equal(r.stdout.trim(), 'unset none');
	assert.equal(r.stderr.trim().split('\n').length, 1);
	assert.match(r.stderr, /3\.1\.1.*config\.sqlite/);
	cleanup(r.top);
});

test('in any other Node program the preload only takes itself out of NODE_OPTIONS', () => {
	const top = tmpdir('other');
	const script = path.join(top, 'cli.js');
	fs.writeFileSync(script, 'console.log(JSON.stringify({o: process.env.NODE_OPTIONS ?? null, ' +
		'k: process.env.STORED_API_KEY ?? null, w: fs.existsSync(process.env.HOME + "/.claude-code-router")}));\n'.replace('fs.', 'require("fs").'));
	const r = spawnSync(process.execPath, [script, 'start'], { encoding: 'utf8', env: {
		...process.env, NODE_OPTIONS: `${TOKEN} --no-warnings`, HOME: top,
		CCR_KEYD_SOCKET: path.join(dir, 'nobody') } });
	assert.equal(r.status, 0, r.stderr);
	assert.deepEqual(JSON.parse(r.stdout), { o: '--no-warnings', k: null, w: false });
	assert.equal(r.stderr, '');
	cleanup(top);
});

// A stand-in router whose `start` serves HTTP as the router's does: GET /config answers the
// config interpolated again (GET /api/config), /providers the keys it holds (GET
// /providers), each the way fastify sends a body (writeHead with its Content-Length, then
// end), and in the other ways a server may (setHeader, chunks, a length sent before a key).
const SERVER_BODY = String.raw`
const fs = require('node:fs');
const http = require('node:http');
const path = require('node:path');
const configFile = path.join(require('node:os').homedir(), '.claude-code-router', 'config.json');
const interpolate = (o) => typeof o === 'string'
	? o.replace(/\$\{([^}]+)\}|\$([A-Z_][A-Z0-9_]*)/g, (m, b, u) => process.env[b || u] || m)
	: Array.isArray(o) ? o.map(interpolate)
	: o && typeof o === 'object' ? Object.fromEntries(Object.entries(o).map(([k, v]) => [k, interpolate(v)])) : o;
const read = async () => interpolate(JSON.parse(await fs.promises.readFile(configFile, 'utf8')));
(async () => {
	const start = await read();
	const providers = start.Providers.map((p) => ({ name: p.name, apiKey: p.api_key }));
	const server = http.createServer(async (req, res) => {
		if (req.url === '/config') {
			const body = JSON.stringify(await read());
			res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
			return res.end(body, null, null);
		}
		if (req.url === '/providers') {
			const body = Buffer.from(JSON.stringify(providers, null, 2));
			res.setHeader('content-length', body.length);
			return res.end(body);
		}
		if (req.url === '/chunked') {
			res.write('event: a\ndata: ' + providers[0].apiKey + '\n\n');
			return res.end('data: ' + providers[1].apiKey + '\n\n');
		}
		if (req.url === '/late') {
			const first = 'x'.repeat(10) + '\n';
			const second = 'key ' + providers[0].apiKey + '\n';
			res.writeHead(200, { 'content-length': first.length + second.length });
			res.write(first);
			return setTimeout(() => res.end(second), 50);
		}
		res.writeHead(404);
		res.end();
	});
	server.listen(0, '127.0.0.1', () => console.log(server.address().port));
})();
`;

// GET path from 127.0.0.1:port: {status, headers, body}; the body as the client framed it.
function get(port, p) {
	return new Promise((resolve, reject) => {
		http.get({ host: '127.0.0.1', port, path: p, timeout: 5000 }, (res) => {
			const parts = [];
			res.on('data', (d) => parts.push(d));
			res.on('end', () => resolve({ status: res.statusCode, headers: res.headers,
				body: Buffer.concat(parts).toString('utf8') }));
			res.on('error', reject);
		}).on('error', reject).on('timeout', function () { this.destroy(new Error(`GET ${p}: timeout`)); });
	});
}

test('no reply of the server holds a key, from the keystore or the environment, and each is framed right', async () => {
	const top = tmpdir('replies');
	const pkg = standInRouter(top, '2.0.0', SERVER_BODY);
	const home = path.join(top, 'home');
	fs.mkdirSync(path.join(home, '.claude-code-router'), { recursive: true, mode: 0o700 });
	fs.writeFileSync(path.join(home, '.claude-code-router', 'config.json'), JSON.stringify({
		Providers: [{ name: 'a', api_key: '$STORED_API_KEY' }, { name: 'b', api_key: 'Bearer ${EXPORTED_API_KEY}' }],
	}));
	const env = { ...process.env, HOME: home, CCR_KEYD_SOCKET: keyd.sock, CCR_KEYD_NO_AUTOSTART: '1',
		NODE_OPTIONS: TOKEN, EXPORTED_API_KEY: EXPORTED };
	const child = spawn(process.execPath, [pkg.bin, 'start'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
	let err = '';
	child.stderr.on('data', (d) => { err += d; });
	try {
		const port = await new Promise((resolve, reject) => {
			child.stdout.once('data', (d) => resolve(Number(String(d).trim())));
			child.once('exit', () => reject(new Error(`the stand-in router exited: ${err}`)));
		});
		const config = await get(port, '/config');
		assert.equal(config.status, 200);
		assert.equal(Number(config.headers['content-length']), Buffer.byteLength(config.body));
		assert.deepEqual(JSON.parse(config.body).Providers,
			[{ name: 'a', api_key: '$STORED_API_KEY' }, { name: 'b', api_key: 'Bearer ${EXPORTED_API_KEY}' }],
			'GET /api/config shows the references as written');
		const providers = await get(port, '/providers');
		assert.equal(Number(providers.headers['content-length']), Buffer.byteLength(providers.body));
		assert.deepEqual(JSON.parse(providers.body), [
			{ name: 'a', apiKey: '$STORED_API_KEY' }, { name: 'b', apiKey: 'Bearer ${EXPORTED_API_KEY}' }]);
		const chunked = await get(port, '/chunked');
		assert.equal(chunked.body, 'event: a\ndata: ${STORED_API_KEY}\n\ndata: Bearer ${EXPORTED_API_KEY}\n\n');
		const late = await get(port, '/late');
		assert.equal(late.body, 'x'.repeat(10) + '\nkey ' + '*'.repeat('ccrkeyd_0123456789abcdef_0000'.length) + '\n',
			'a key after the length went out is overwritten, the length kept');
		for (const r of [config, providers, chunked, late]) {
			assert.ok(!r.body.includes(STORED) && !r.body.includes(EXPORTED), r.body);
		}
	} finally {
		child.kill('SIGTERM');
		cleanup(top);
	}
});

// A stand-in router 2.x whose agent commands write the agent's settings file as 2.0.0's
// `ccr code` does (cli.js K0: mkdir, access, writeFile under os.tmpdir()), print its path
// and what they see, and wait until stdin closes (or a signal ends them).
const SETTINGS_BODY = String.raw`
const fs = require('node:fs/promises');
const path = require('node:path');
const os = require('node:os');
const crypto = require('node:crypto');
(async () => {
	const text = JSON.stringify({ env: { ANTHROPIC_AUTH_TOKEN: process.env.CCR_APIKEY || 'test' } });
	const dir = path.join(os.tmpdir(), 'claude-code-router');
	const file = path.join(dir, 'ccr-settings-' + crypto.createHash('sha256').update(text, 'utf-8').digest('hex') + '.json');
	try { await fs.access(dir); } catch { await fs.mkdir(dir, { recursive: true }); }
	try { await fs.access(file); } catch { await fs.writeFile(file, text, 'utf-8'); }
	const st = await fs.stat(file);
	const umask = require('node:fs').readFileSync('/proc/self/status', 'utf8').match(/^Umask:\s*(\d+)/m)[1];
	console.log(JSON.stringify({ file, mode: st.mode & 0o777, dirMode: (await fs.stat(dir)).mode & 0o777,
		umask, token: JSON.parse(await fs.readFile(file, 'utf8')).env.ANTHROPIC_AUTH_TOKEN }));
	process.stdin.resume();
	process.stdin.on('end', () => process.exit(0));
})();
`;

// Start `node --require preload cli.js ARGS` for the settings stand-in; resolves to
// {child, seen} once it has printed what it saw. token: the pipe's JSON, as ccr-config
// writes it (on fd 3, named by CCR_KEYD_TOKEN_FD).
async function settingsRouter(top, args, token) {
	const pkg = standInRouter(path.join(top, `r${args.join('-')}${Math.random()}`.replace(/[^\w.-]/g, '')),
		'2.0.0', SETTINGS_BODY);
	const stdio = ['pipe', 'pipe', 'pipe'];
	const env = { ...process.env, HOME: top, TMPDIR: path.join(top, 'tmp'), NODE_OPTIONS: TOKEN,
		CCR_KEYD_SOCKET: path.join(top, 'nobody') };
	if (token !== undefined) {
		const f = path.join(top, `token${Math.random()}`);
		fs.writeFileSync(f, token, { mode: 0o600 });
		stdio.push(fs.openSync(f, 'r'));
		env.CCR_KEYD_TOKEN_FD = '3';
	}
	const child = spawn(process.execPath, [pkg.bin, ...args], { env, stdio });
	let err = '';
	child.stderr.on('data', (d) => { err += d; });
	const seen = await new Promise((resolve, reject) => {
		let out = '';
		child.stdout.on('data', (d) => {
			out += d;
			if (out.includes('\n'))
				resolve(JSON.parse(out));
		});
		child.once('exit', () => reject(new Error(`the stand-in exited early: ${err}`)));
	});
	const exit = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal, err })));
	return { child, seen, exit };
}

test('the agent\'s settings file is 0600 in a 0700 directory, and goes when ccr code ends', async () => {
	const top = tmpdir('settings');
	fs.mkdirSync(path.join(top, 'tmp', 'claude-code-router'), { recursive: true, mode: 0o755 });
	fs.chmodSync(path.join(top, 'tmp', 'claude-code-router'), 0o755);
	try {
		const a = await settingsRouter(top, ['code', 'fix it'], '{"CCR_APIKEY":"csk-test-settings-token"}');
		assert.equal(a.seen.token, 'csk-test-settings-token', 'the token from the pipe is in the file');
		assert.equal(a.seen.mode, 0o600);
		assert.equal(a.seen.dirMode, 0o700);
		assert.equal(a.seen.umask, (0o777 & process.umask()).toString(8).padStart(4, '0'),
			'the umask is left as it was');
		// A second `ccr code` with the same settings shares the file; its end leaves it to the first.
		const b = await settingsRouter(top, ['code'], '{"CCR_APIKEY":"csk-test-settings-token"}');
		assert.equal(b.seen.file, a.seen.file);
		b.child.stdin.end();
		assert.equal((await b.exit).code, 0);
		assert.ok(fs.existsSync(a.seen.file), 'the second ccr code removed the file the first still uses');
		a.child.stdin.end();
		assert.equal((await a.exit).code, 0);
		assert.deepEqual(fs.readdirSync(path.dirname(a.seen.file)), [], 'the file and the links are gone');
		// Ended by a signal: the file goes, and the process still ends by that signal.
		const c = await settingsRouter(top, ['code'], '{}');
		assert.equal(c.seen.token, 'test');
		c.child.kill('SIGTERM');
		assert.equal((await c.exit).signal, 'SIGTERM');
		assert.deepEqual(fs.readdirSync(path.dirname(c.seen.file)), []);
	} finally {
		cleanup(top);
	}
});

test('a settings directory that is not ours gets no token', async () => {
	const top = tmpdir('settings-link');
	fs.mkdirSync(path.join(top, 'tmp', 'elsewhere'), { recursive: true });
	fs.symlinkSync(path.join(top, 'tmp', 'elsewhere'), path.join(top, 'tmp', 'claude-code-router'));
	try {
		await assert.rejects(settingsRouter(top, ['code'], '{"CCR_APIKEY":"csk-test-settings-token"}'),
			/claude-code-router is not a directory; the agent's settings file/);
		assert.deepEqual(fs.readdirSync(path.join(top, 'tmp', 'elsewhere')), []);
	} finally {
		cleanup(top);
	}
});

test('a command ccr-config runs as the agent\'s (a preset) gets the token from the pipe, its children do not', () => {
	const top = tmpdir('preset');
	const pkg = standInRouter(top, '2.0.0', 'console.log(JSON.stringify({ token: process.env.CCR_APIKEY ?? null, ' +
		'child: require("node:child_process").execSync("env").toString().includes("CCR_APIKEY") }));\n');
	const f = path.join(top, 'token');
	fs.writeFileSync(f, '{"CCR_APIKEY":"csk-test-preset-token"}', { mode: 0o600 });
	const fd = fs.openSync(f, 'r');
	const r = spawnSync(process.execPath, [pkg.bin, 'my-preset', 'fix it'], { encoding: 'utf8',
		stdio: ['ignore', 'pipe', 'pipe', fd], env: { ...process.env, HOME: top, TMPDIR: top,
			NODE_OPTIONS: TOKEN, CCR_KEYD_TOKEN_FD: '3', CCR_KEYD_SOCKET: path.join(top, 'nobody') } });
	fs.closeSync(fd);
	assert.equal(r.status, 0, r.stderr);
	assert.deepEqual(JSON.parse(r.stdout), { token: 'csk-test-preset-token', child: false });
	cleanup(top);
});
