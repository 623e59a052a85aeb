// The table of Node entry points the router preload replaces (patches.cjs): every row's
// entry point is on this Node in the shape its wrapper relies on; installing every group
// wraps every entry point; and a Node whose internals differ gets a router that does not
// start, told why in one line. No daemon needed: the refusal comes before any request.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { cleanup, standInRouter, tmpdir } from '../testlib/keyd.mjs';

const require = createRequire(import.meta.url);
const patches = require('../patches.cjs');
const router = require('../router.cjs');

const HERE = path.dirname(fileURLToPath(import.meta.url));
const PATCHES = path.resolve(HERE, '../patches.cjs');
const PRELOAD = path.resolve(HERE, '../preload.cjs');

test('every row names an entry point this Node has, in the shape its wrapper relies on', async () => {
	assert.equal(patches.verify(), null);
	const handle = await fs.promises.open(PATCHES, 'r');
	const handleProto = Object.getPrototypeOf(handle);
	await handle.close();
	for (const row of patches.TABLE) {
		const target = row.object === null ? handleProto : row.object();
		assert.notEqual(target[row.key], undefined, `${row.at} is on this Node`);
		assert.equal(patches.differs(row, target), null, row.at);
		assert.equal(typeof patches.wrapper(row), 'function', `${row.wrap} is a function`);
	}
	const spawnRow = patches.TABLE.find((r) => r.at === 'ChildProcess#spawn');
	assert.ok(spawnRow.shape.reads.includes('options.envPairs'), 'the undocumented envPairs is checked');
	assert.equal(new Set(patches.TABLE.map((r) => r.at)).size, 27, 'the entry points the preload replaces');
});

// In a child (the patches are global): the originals of every row, every group installed,
// a FileHandle opened (its rows are installed then); prints the rows still unwrapped.
const INSTALL_ALL = String.raw`
const fs = require('node:fs');
const patches = require(process.argv[1]);
const target = (row, proto) => (row.object === null ? proto : row.object());
(async () => {
	const h = await fs.promises.open(process.argv[1], 'r');
	const proto = Object.getPrototypeOf(h);
	await h.close();
	const before = patches.TABLE.map((row) => target(row, proto)[row.key]);
	const writes = { onFirstHandle: (p) => patches.install('file-handle', writes, p) };
	const ctx = { env: { hidden: new Map(), isSecret: () => false }, writes };
	for (const group of new Set(patches.TABLE.map((r) => r.group))) {
		if (group !== 'file-handle')
			patches.install(group, ctx[group] || {});
	}
	await (await fs.promises.open(process.argv[1], 'r')).close();
	const unwrapped = patches.TABLE.filter((row, i) => target(row, proto)[row.key] === before[i])
		.map((row) => row.at);
	console.log(JSON.stringify({ rows: patches.TABLE.length, unwrapped }));
})();
`;

test('installing every group wraps every entry point of the table', () => {
	const r = spawnSync(process.execPath, ['-e', INSTALL_ALL, PATCHES], { encoding: 'utf8', timeout: 20000 });
	assert.equal(r.status, 0, r.stderr);
	const out = JSON.parse(r.stdout);
	assert.equal(out.rows, patches.TABLE.length);
	assert.deepEqual(out.unwrapped, []);
});

// `ccr start` of a stand-in router, with breaker loaded before the preload: the router
// must not start, and stderr says which Node, which entry point, and what to do.
function startWithBroken(breaker) {
	const top = tmpdir('patches');
	const pkg = standInRouter(top, '1.0.73', 'console.log("the router started");\n');
	const file = path.join(top, 'breaker.cjs');
	fs.writeFileSync(file, breaker);
	fs.mkdirSync(path.join(top, 'home', '.claude-code-router'), { recursive: true, mode: 0o700 });
	const r = spawnSync(process.execPath, [pkg.bin, 'start'], { encoding: 'utf8', timeout: 20000, env: {
		...process.env, HOME: path.join(top, 'home'), CCR_KEYD_SOCKET: path.join(top, 'nobody'),
		NODE_OPTIONS: `--require=${file} ${router.requireOption(PRELOAD)}` } });
	cleanup(top);
	return r;
}

test('a Node whose internals differ gets a router that does not start, and one line that says why', () => {
	const version = process.version.replace(/\./g, '\\.');
	let r = startWithBroken("delete require('node:fs').writevSync;\n");
	assert.equal(r.status, 5, r.stderr);
	assert.equal(r.stdout, '', 'the router ran');
	assert.equal(r.stderr.trim().split('\n').length, 1);
	assert.match(r.stderr, new RegExp(`^ccr-keyd: this Node \\(${version}\\) .*fs\\.writevSync is missing ` +
		'.*the router does not start\\. Run claude-code-router with Node 20 or 22'));
	// ChildProcess#spawn that no longer hands envPairs on (the undocumented field the preload sets).
	r = startWithBroken(String.raw`
const proto = require('node:child_process').ChildProcess.prototype;
const spawn = proto.spawn;
proto.spawn = function (options) { void options.file, options.args; return spawn.call(this, options); };
`);
	assert.equal(r.status, 5, r.stderr);
	assert.equal(r.stdout, '');
	assert.match(r.stderr, new RegExp(`this Node \\(${version}\\) .*ChildProcess#spawn no longer reads ` +
		'options\\.envPairs \\(guard\\.cjs spawnWithPreload wraps it\\)'));
});
