#!/usr/bin/env node
// Time from `ccr start` to the router listening: the bare router against the same
// router started through the `ccr` shell function (ccr-config router, the preload,
// one resolve). Zero dependencies; run by router_start.sh, which sets up a private
// HOME, a daemon with the keys and the router's config.
//
//   node router_start.mjs RUNS PORT FUNCTION-FILE
//
// Each run starts `bash --norc --noprofile -c CMD` (the bare router: `command ccr
// start`; through the function: `. FUNCTION-FILE; ccr start`, the function printed by
// ccr-config shell-init bash once, as a shell profile has it), polls 127.0.0.1:PORT
// every millisecond until it accepts, then stops the router by the pid in its pid file
// and waits until the port is free. The two kinds alternate, RUNS of each. Prints the
// median and spread of each and the difference of the medians, in milliseconds.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

const [runsArg, portArg, fnFile] = process.argv.slice(2);
const runs = Number(runsArg) || 20;
const port = Number(portArg);
const pidFile = path.join(os.homedir(), '.claude-code-router', '.claude-code-router.pid');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function accepts() {
	return new Promise((resolve) => {
		const s = net.createConnection({ host: '127.0.0.1', port });
		s.once('connect', () => { s.destroy(); resolve(true); });
		s.once('error', () => resolve(false));
	});
}

function alive(pid) {
	try {
		process.kill(pid, 0);
		return true;
	} catch {
		return false;
	}
}

async function once(cmd) {
	const t0 = process.hrtime.bigint();
	const child = spawn('bash', ['--norc', '--noprofile', '-c', cmd], { stdio: 'ignore' });
	let exited = null;
	child.on('exit', (code) => { exited = code; });
	for (;;) {
		if (await accepts())
			break;
		if (exited !== null)
			throw new Error(`${cmd}: exited with ${exited} before listening`);
		if (process.hrtime.bigint() - t0 > 60_000_000_000n)
			throw new Error(`${cmd}: not listening after 60 s`);
		await sleep(1);
	}
	const ms = Number(process.hrtime.bigint() - t0) / 1e6;
	const pid = Number(fs.readFileSync(pidFile, 'utf8'));
	process.kill(pid, 'SIGTERM');
	while (alive(pid) || await accepts())
		await sleep(5);
	return ms;
}

function stats(xs) {
	const s = [...xs].sort((a, b) => a - b);
	const q = (f) => s[Math.min(s.length - 1, Math.floor(f * (s.length - 1) + 0.5))];
	return { median: q(0.5), p10: q(0.1), p90: q(0.9) };
}

const kinds = {
	bare: 'command ccr start',
	'through the function': `. '${fnFile}'; ccr start`,
};
const times = { bare: [], 'through the function': [] };
await once(kinds.bare); // warm the page cache
for (let i = 0; i < runs; i++) {
	for (const k of Object.keys(kinds))
		times[k].push(await once(kinds[k]));
}
const fmt = (x) => x.toFixed(1).padStart(7);
for (const k of Object.keys(kinds)) {
	const s = stats(times[k]);
	console.log(`${k.padEnd(22)} median ${fmt(s.median)} ms   p10 ${fmt(s.p10)}   p90 ${fmt(s.p90)}   (n=${runs})`);
}
const d = stats(times['through the function']).median - stats(times.bare).median;
console.log(`${'difference'.padEnd(22)} median ${fmt(d)} ms   target: at most +50 ms   ${d <= 50 ? 'PASS' : 'MISS'}`);
