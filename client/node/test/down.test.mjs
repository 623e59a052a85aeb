// When ccr-keyd cannot help: not running, silent, or talking nonsense. The
// servers here are not a daemon: they exercise the client's own error paths
// (the keystore itself is tested in keyd.test.mjs against build/ccr-keyd).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { cleanup, tmpdir } from '../testlib/keyd.mjs';
import { getKey, interpolateEnvVars, interpolateEnvVarsSync, KeydError, resolve } from '../index.mjs';

let dir;
const servers = [];
const sockets = new Set();
before(() => { dir = tmpdir('node-down'); });
// Close every connection first (server.close waits for them), and never hang.
after(async () => {
	for (const c of sockets) c.destroy();
	for (const s of servers) await new Promise((r) => s.close(r));
	cleanup(dir);
}, { timeout: 10000 });

// Answer the client's hello as ccr-keyd does (it runs as us: it can read the
// proof file), then hand the connection to handler with whatever followed.
function proving(handler) {
	return (c) => {
		let buf = Buffer.alloc(0);
		const onData = (d) => {
			buf = Buffer.concat([buf, d]);
			const nl = buf.indexOf(0x0a);
			if (nl < 0) return;
			c.removeListener('data', onData);
			const hello = JSON.parse(buf.subarray(0, nl).toString());
			let proof;
			try {
				proof = readFileSync(hello.proof, 'utf8');
			} catch {
				return c.destroy(); // the client gave up (a timeout test) and removed it
			}
			c.write(JSON.stringify({ ok: true, id: hello.id, server: 'test', proof }) + '\n');
			handler(c);
			if (buf.length > nl + 1) c.emit('data', buf.subarray(nl + 1));
		};
		c.on('data', onData);
	};
}

// A Unix socket server in this process; handler(conn) decides what it says
// after the hello (or from the first byte, with prove false).
async function server(name, handler, prove = true) {
	const sock = path.join(dir, name);
	const serve = prove ? proving(handler) : handler;
	const s = net.createServer((c) => {
		sockets.add(c);
		c.on('close', () => sockets.delete(c));
		serve(c);
	});
	servers.push(s);
	await new Promise((r, j) => { s.once('error', j); s.listen(sock, r); });
	return sock;
}

// Reads the request line and calls reply(conn, request).
function onRequest(reply) {
	return (c) => {
		let buf = '';
		c.on('data', (d) => {
			buf += d;
			const nl = buf.indexOf('\n');
			if (nl >= 0) reply(c, JSON.parse(buf.slice(0, nl)));
		});
		c.on('error', () => {});
	};
}

const isKeyd = (code) => (e) => {
	assert.ok(e instanceof KeydError, `a KeydError, not ${e}`);
	assert.equal(e.name, 'KeydError');
	assert.ok(e instanceof Error);
	assert.equal(e.code, code);
	return true;
};

test('daemon not running: getKey and resolve reject with code unreachable', async () => {
	const sock = path.join(dir, 'nobody-here');
	await assert.rejects(getKey('cerebras', { socket: sock }), (e) => {
		isKeyd('unreachable')(e);
		assert.match(e.message, /^ccr-keyd is not running .*; start it with: ccr-keyd --daemon$/);
		assert.equal(e.errno, 'ENOENT');
		assert.equal(e.socket, sock);
		return true;
	});
	await assert.rejects(resolve(['CEREBRAS_API_KEY'], { socket: sock }), isKeyd('unreachable'));
	// the socket path rules apply when opts.socket is absent
	await assert.rejects(getKey('cerebras', { env: { CCR_KEYD_SOCKET: sock } }), isKeyd('unreachable'));
});

test('daemon not running, a file where the socket was: ECONNREFUSED is unreachable too', async () => {
	const sock = path.join(dir, 'stale');
	writeFileSync(sock, '');
	await assert.rejects(getKey('cerebras', { socket: sock }), (e) => {
		isKeyd('unreachable')(e);
		assert.equal(e.errno, 'ECONNREFUSED');
		return true;
	});
});

test('daemon not running: interpolateEnvVars falls back to the environment, silently', async () => {
	const warnings = [];
	const o = { socket: path.join(dir, 'nobody-here'), env: { CEREBRAS_API_KEY: 'csk-env-0005' }, warn: (m) => warnings.push(m) };
	assert.deepEqual(await interpolateEnvVars({ k: '$CEREBRAS_API_KEY', m: '${MISSING}' }, o),
		{ k: 'csk-env-0005', m: '${MISSING}' });
	assert.deepEqual(interpolateEnvVarsSync({ k: '$CEREBRAS_API_KEY' }, o), { k: 'csk-env-0005' });
	assert.deepEqual(warnings, []);
});

test('daemon not running: strict interpolation rejects with unreachable', async () => {
	const o = { socket: path.join(dir, 'nobody-here'), env: { CEREBRAS_API_KEY: 'csk-env-0005' }, strict: true };
	await assert.rejects(interpolateEnvVars('$CEREBRAS_API_KEY', o), isKeyd('unreachable'));
	assert.throws(() => interpolateEnvVarsSync('$CEREBRAS_API_KEY', o), isKeyd('unreachable'));
	// nothing to look up: the daemon is not asked, even when strict
	assert.equal(await interpolateEnvVars('no references, $lower', o), 'no references, $lower');
});

test('a daemon that accepts but never answers: KeydError timeout', async () => {
	const conns = [];
	const sock = await server('silent', (c) => { conns.push(c); c.on('error', () => {}); });
	const t0 = Date.now();
	await assert.rejects(getKey('cerebras', { socket: sock, timeoutMs: 200 }), (e) => {
		isKeyd('timeout')(e);
		assert.match(e.message, /did not answer within 200 ms/);
		return true;
	});
	const took = Date.now() - t0;
	assert.ok(took >= 190 && took < 2000, `timed out after ${took} ms`);
	await assert.rejects(resolve(['A_KEY'], { socket: sock, timeoutMs: 100 }), isKeyd('timeout'));
	assert.throws(() => interpolateEnvVarsSync('$A_KEY', { socket: sock, timeoutMs: 100, strict: true }), isKeyd('timeout'));

	// interpolation falls back to the environment, with a warning that says why
	const warnings = [];
	const out = await interpolateEnvVars('$A_KEY', { socket: sock, timeoutMs: 100, env: { A_KEY: 'env-a' }, warn: (m) => warnings.push(m) });
	assert.equal(out, 'env-a');
	assert.equal(warnings.length, 1);
	assert.match(warnings[0], /did not answer within 100 ms/);
	assert.ok(!warnings[0].includes('env-a'));
	for (const c of conns) c.destroy();
});

test('a reply in many small chunks is put together', async () => {
	const sock = await server('chunky', onRequest((c, req) => {
		const line = JSON.stringify({ ok: true, id: req.id, values: { A_KEY: 'v'.repeat(5000) } }) + '\n';
		let i = 0;
		const step = () => {
			if (i >= line.length) return;
			c.write(line.slice(i, i + 7));
			i += 7;
			setImmediate(step);
		};
		step();
	}));
	assert.deepEqual(await resolve(['A_KEY'], { socket: sock }), { A_KEY: 'v'.repeat(5000) });
});

test('a reply over 1 MiB is an error', async () => {
	const sock = await server('huge', onRequest((c) => {
		c.write('{"ok":true,"values":{"A":"' + 'x'.repeat(1024 * 1024 + 10) + '"}}\n');
	}));
	await assert.rejects(resolve(['A'], { socket: sock }), (e) => {
		isKeyd('protocol')(e);
		assert.match(e.message, /over 1 MiB/);
		return true;
	});
});

test('a reply with another id, or not JSON, or no reply at all, is a protocol error', async () => {
	const wrongId = await server('wrong-id', onRequest((c, req) => c.write(JSON.stringify({ ok: true, id: req.id + 1, values: {} }) + '\n')));
	await assert.rejects(resolve(['A'], { socket: wrongId }), isKeyd('protocol'));
	const noId = await server('no-id', onRequest((c) => c.write('{"ok":true,"values":{}}\n')));
	await assert.rejects(resolve(['A'], { socket: noId }), isKeyd('protocol'));
	const garbage = await server('garbage', onRequest((c) => c.write('hello there\n')));
	await assert.rejects(resolve(['A'], { socket: garbage }), isKeyd('protocol'));
	const hangup = await server('hangup', onRequest((c) => c.end()));
	await assert.rejects(resolve(['A'], { socket: hangup }), (e) => {
		isKeyd('protocol')(e);
		assert.match(e.message, /closed the connection before answering/);
		return true;
	});
});

test('an error reply without an id (busy, denied on accept) keeps its code', async () => {
	const busy = await server('busy', (c) => { c.on('error', () => {}); c.end('{"ok":false,"error":"busy","message":"too many connections"}\n'); }, false);
	await assert.rejects(getKey('cerebras', { socket: busy }), (e) => {
		isKeyd('busy')(e);
		assert.match(e.message, /too many connections/);
		return true;
	});
	const locked = await server('locked', onRequest((c, req) => c.write(JSON.stringify({ ok: false, id: req.id, error: 'locked', message: 'the keystore is locked' }) + '\n')));
	await assert.rejects(resolve(['A'], { socket: locked }), isKeyd('locked'));
	// a locked keystore: interpolation warns and uses the environment, strict rejects
	const warnings = [];
	assert.equal(await interpolateEnvVars('$A', { socket: locked, env: { A: 'env' }, warn: (m) => warnings.push(m) }), 'env');
	assert.equal(warnings.length, 1);
	assert.match(warnings[0], /locked/);
	await assert.rejects(interpolateEnvVars('$A', { socket: locked, strict: true }), isKeyd('locked'));
});

test('bad arguments are TypeErrors, not KeydErrors', async () => {
	await assert.rejects(getKey(42), TypeError);
	await assert.rejects(resolve([1]), TypeError);
	await assert.rejects(getKey('x', { socket: path.join(dir, 'nobody-here'), timeoutMs: -1 }), TypeError);
});
