// Whom the module talks to, and what it never takes from a daemon. The servers
// here run in this process, as our uid: the socket's directory and the hello's
// proof are what tell them apart (README.md, "Whom it talks to"). A daemon of
// another uid is tested in tests/integration/trust.bats, which needs root.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, symlinkSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { cleanup, tmpdir } from '../testlib/keyd.mjs';
import { interpolateEnvVars, isRefusedEnv, KeydError, REFUSED_ENV, resolve } from '../index.mjs';

let dir;
const servers = [];
const sockets = new Set();
before(() => { dir = tmpdir('node-trust'); });
after(async () => {
	for (const c of sockets) c.destroy();
	for (const s of servers) await new Promise((r) => s.close(r));
	cleanup(dir);
}, { timeout: 10000 });

// A server at sock that records every line it receives into lines and answers
// each with answer(request) (an object, sent with the request's id).
async function recorder(sock, answer) {
	const lines = [];
	const s = net.createServer((c) => {
		sockets.add(c);
		c.on('close', () => sockets.delete(c));
		c.on('error', () => {});
		let buf = '';
		c.on('data', (d) => {
			buf += d;
			let nl;
			while ((nl = buf.indexOf('\n')) >= 0) {
				const line = buf.slice(0, nl);
				buf = buf.slice(nl + 1);
				lines.push(line);
				const req = JSON.parse(line);
				c.write(JSON.stringify({ ok: true, id: req.id, ...answer(req) }) + '\n');
			}
		});
	});
	servers.push(s);
	await new Promise((r, j) => { s.once('error', j); s.listen(sock, r); });
	return lines;
}

// What ccr-keyd would answer: the proof read back, and these values for resolve.
function honest(values = {}) {
	return (req) => {
		if (req.op === 'hello')
			return { proof: readFileSync(req.proof, 'utf8') };
		return { values };
	};
}

const untrusted = (pattern) => (e) => {
	assert.ok(e instanceof KeydError, `a KeydError, not ${e}`);
	assert.equal(e.code, 'untrusted');
	assert.match(e.message, pattern);
	return true;
};

test('a socket in a directory others may write gets nothing, not even a hello', async () => {
	const open = path.join(dir, 'open');
	mkdirSync(open);
	chmodSync(open, 0o777);
	const sock = path.join(open, 'sock');
	const lines = await recorder(sock, honest({ A_KEY: 'csk-test-a' }));
	await assert.rejects(resolve(['A_KEY'], { socket: sock }),
		untrusted(/^refusing to talk to ccr-keyd at .*: its directory .* is writable by others \(owner uid \d+, mode 0777; you are uid \d+\); nothing was sent$/));
	const warnings = [];
	assert.equal(await interpolateEnvVars('$A_KEY', { socket: sock, env: { A_KEY: 'env' }, warn: (m) => warnings.push(m) }), 'env');
	assert.equal(warnings.length, 1);
	assert.match(warnings[0], /writable by others/);
	assert.deepEqual(lines, []);
});

test('a socket reached through a symlinked directory gets nothing', async () => {
	const real = path.join(dir, 'real');
	mkdirSync(real, { mode: 0o700 });
	const lines = await recorder(path.join(real, 'sock'), honest({ A_KEY: 'csk-test-a' }));
	symlinkSync(real, path.join(dir, 'link'));
	await assert.rejects(resolve(['A_KEY'], { socket: path.join(dir, 'link', 'sock') }),
		untrusted(/its directory .*link is a symlink/));
	assert.deepEqual(lines, []);
});

test('a server that cannot read the proof back gets one hello and nothing else', async () => {
	const d = path.join(dir, 'liar');
	mkdirSync(d, { mode: 0o700 });
	const sock = path.join(d, 'sock');
	const lines = await recorder(sock, (req) => (req.op === 'hello'
		? { proof: '0'.repeat(64) } : { values: { A_KEY: 'csk-test-planted' } }));
	await assert.rejects(resolve(['A_KEY'], { socket: sock }),
		untrusted(/did not prove that it runs as you .*nothing but a hello was sent$/));
	assert.equal(lines.length, 1);
	const hello = JSON.parse(lines[0]);
	assert.deepEqual(Object.keys(hello).sort(), ['id', 'op', 'proof']);
	assert.equal(hello.op, 'hello');
	assert.equal(path.dirname(hello.proof), d);
	assert.equal(existsSync(hello.proof), false, 'the proof file is removed');
	// no proof at all, or a failure to the hello, is the same refusal
	const d2 = path.join(dir, 'mute');
	mkdirSync(d2, { mode: 0o700 });
	const lines2 = await recorder(path.join(d2, 'sock'), () => ({}));
	await assert.rejects(resolve(['A_KEY'], { socket: path.join(d2, 'sock') }), untrusted(/did not prove/));
	assert.equal(lines2.length, 1);
});

test('the proof file is ours, mode 0600, fresh for every connection', async () => {
	const d = path.join(dir, 'seen');
	mkdirSync(d, { mode: 0o700 });
	const seen = [];
	await recorder(path.join(d, 'sock'), (req) => {
		if (req.op !== 'hello')
			return { values: {} };
		const st = statSync(req.proof);
		const token = readFileSync(req.proof, 'utf8');
		seen.push({ path: req.proof, token, mode: st.mode & 0o777, uid: st.uid });
		return { proof: token };
	});
	await resolve(['A_KEY'], { socket: path.join(d, 'sock') });
	await resolve(['A_KEY'], { socket: path.join(d, 'sock') });
	assert.equal(seen.length, 2);
	assert.match(seen[0].token, /^[0-9a-f]{64}$/);
	assert.notEqual(seen[0].token, seen[1].token);
	assert.notEqual(seen[0].path, seen[1].path);
	assert.equal(seen[0].mode, 0o600);
	assert.equal(seen[0].uid, process.geteuid());
});

test('refused names are neither asked for nor returned, whatever the daemon answers', async () => {
	const d = path.join(dir, 'pushy');
	mkdirSync(d, { mode: 0o700 });
	const sock = path.join(d, 'sock');
	const lines = await recorder(sock, honest({
		A_KEY: 'csk-test-a', PATH: '/planted', NODE_OPTIONS: '--require /planted.js',
		LD_PRELOAD: '/planted.so', OTHER_API_KEY: 'csk-test-not-asked',
	}));
	const got = await resolve(['A_KEY', 'PATH', 'NODE_OPTIONS', 'LD_PRELOAD'], { socket: sock });
	assert.deepEqual(got, { A_KEY: 'csk-test-a' });
	const asked = JSON.parse(lines[1]);
	assert.deepEqual(asked.env, ['A_KEY']);
	const env = { PATH: '/usr/bin', NODE_OPTIONS: '' };
	assert.equal(await interpolateEnvVars('$A_KEY $PATH ${NODE_OPTIONS} $LD_PRELOAD', { socket: sock, env, strict: true }),
		'csk-test-a /usr/bin ${NODE_OPTIONS} $LD_PRELOAD');
	// only refused names referenced: the daemon is not asked at all
	const before = lines.length;
	assert.equal(await interpolateEnvVars('$PATH', { socket: sock, env, strict: true }), '/usr/bin');
	assert.equal(lines.length, before);
});

test('isRefusedEnv: exact names and prefixes, and look-alikes stay allowed', () => {
	for (const n of ['LD_PRELOAD', 'LD_LIBRARY_PATH', 'DYLD_INSERT_LIBRARIES', 'NODE_OPTIONS',
		'NODE_PATH', 'NODE_EXTRA_CA_CERTS', 'PATH', 'BASH_ENV', 'ENV', 'SHELLOPTS', 'PS4', 'IFS',
		'PYTHONPATH', 'PYTHONHOME', 'PYTHONSTARTUP', 'PERL5LIB', 'PERL5OPT', 'RUBYOPT', 'RUBYLIB',
		'JAVA_TOOL_OPTIONS', '_JAVA_OPTIONS', 'HOME', 'SHELL', 'TMPDIR', 'XDG_CONFIG_HOME',
		'CCR_HOME', 'CCR_KEYD_SOCKET', 'GIT_SSH_COMMAND', 'SSH_AUTH_SOCK', 'GCONV_PATH',
		'LOCPATH', 'MALLOC_CHECK_', 'GLIBC_TUNABLES', 'ZDOTDIR', 'PROMPT_COMMAND'])
		assert.equal(isRefusedEnv(n), true, n);
	for (const n of ['OPENAI_API_KEY', 'GEMINI_API_KEY', 'GITHUB_TOKEN', 'GOOGLE_API_KEY',
		'PATHFINDER_API_KEY', 'HOMEBREW_API_KEY', 'ENVOY_API_KEY', 'CCR_API_KEY', 'LD', 'SSH'])
		assert.equal(isRefusedEnv(n), false, n);
	assert.ok(Object.isFrozen(REFUSED_ENV));
	assert.ok(REFUSED_ENV.length > 50);
});
