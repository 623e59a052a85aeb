// Test support (kept outside test/, which node --test runs file by file):
// start the real build/ccr-keyd in a private temporary directory, talk raw
// protocol to it, stop it by its pid; a stand-in router package.
import { spawn } from 'node:child_process';
import fs, { existsSync, mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const KEYD = path.join(process.env.CCR_BUILD || path.join(ROOT, 'build'), 'ccr-keyd');

export function tmpdir(tag = 'node') {
	return mkdtempSync(path.join(os.tmpdir(), `ccr-keyd-${tag}-`));
}

// One raw request line, one reply line (parsed).
export function raw(sock, obj, timeoutMs = 3000) {
	return new Promise((resolve, reject) => {
		const c = net.createConnection({ path: sock });
		let buf = '';
		const t = setTimeout(() => { c.destroy(); reject(new Error(`no reply from ${sock}`)); }, timeoutMs);
		c.on('connect', () => c.write(JSON.stringify(obj) + '\n'));
		c.on('data', (d) => {
			buf += d.toString('utf8');
			const nl = buf.indexOf('\n');
			if (nl >= 0) {
				clearTimeout(t);
				c.destroy();
				try { resolve(JSON.parse(buf.slice(0, nl))); } catch (e) { reject(e); }
			}
		});
		c.on('error', (e) => { clearTimeout(t); reject(e); });
	});
}

// Start ccr-keyd on dir/sock with keystore dir/keys; resolves once it answers hello.
export async function startDaemon(dir) {
	if (!existsSync(KEYD))
		throw new Error(`${KEYD} does not exist; build it first with: make`);
	const sock = path.join(dir, 'sock');
	const keys = path.join(dir, 'keys');
	const env = { ...process.env, CCR_HOME: dir, CCR_KEYD_NO_AUTOSTART: '1' };
	delete env.CCR_KEYD_SOCKET;
	delete env.CCR_KEYS;
	const child = spawn(KEYD, ['--socket', sock, '--keys', keys], { env, stdio: ['ignore', 'ignore', 'pipe'] });
	let stderr = '';
	child.stderr.on('data', (d) => { stderr += d; });
	let exited = null;
	child.on('exit', (code, sig) => { exited = { code, sig }; });
	const deadline = Date.now() + 5000;
	for (;;) {
		if (exited)
			throw new Error(`ccr-keyd exited (${JSON.stringify(exited)}): ${stderr}`);
		try {
			const r = await raw(sock, { op: 'hello' }, 500);
			if (r.ok)
				break;
		} catch { /* not yet */ }
		if (Date.now() > deadline) {
			child.kill('SIGKILL');
			throw new Error(`ccr-keyd did not answer on ${sock} within 5 s: ${stderr}`);
		}
		await new Promise((r) => setTimeout(r, 25));
	}
	return {
		child, sock, keys, dir,
		stderr: () => stderr,
		async stop() {
			if (exited) return exited;
			const done = new Promise((r) => child.once('exit', (code, sig) => r({ code, sig })));
			process.kill(child.pid, 'SIGTERM');
			const t = setTimeout(() => { if (!exited) process.kill(child.pid, 'SIGKILL'); }, 3000);
			const r = await done;
			clearTimeout(t);
			return r;
		},
	};
}

export async function seed(sock, keys) {
	for (const k of keys) {
		const r = await raw(sock, { op: 'set', ...k });
		if (!r.ok)
			throw new Error(`seeding ${k.name}: ${r.error}: ${r.message}`);
	}
}

export function cleanup(dir) {
	rmSync(dir, { recursive: true, force: true });
}

// A stand-in router package in dir: package.json with version, dist/cli.js (body), bin/ccr.
export function standInRouter(dir, version, body = 'console.log("stand-in");\n') {
	const root = path.join(dir, 'node_modules', '@musistudio', 'claude-code-router');
	fs.mkdirSync(path.join(root, 'dist'), { recursive: true });
	fs.mkdirSync(path.join(dir, 'bin'), { recursive: true });
	fs.writeFileSync(path.join(root, 'package.json'),
		JSON.stringify({ name: '@musistudio/claude-code-router', version }));
	const cli = path.join(root, 'dist', 'cli.js');
	fs.writeFileSync(cli, '#!/usr/bin/env node\n' + body, { mode: 0o755 });
	const bin = path.join(dir, 'bin', 'ccr');
	fs.symlinkSync(cli, bin);
	return { root, cli, bin };
}
