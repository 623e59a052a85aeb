// No daemon needed: path rules, reference scanning, the package's two entries.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esm from '../index.mjs';

const require = createRequire(import.meta.url);
const here = path.dirname(fileURLToPath(import.meta.url));
const { socketPath, homeDir, referencedNames } = esm;

test('socketPath: CCR_KEYD_SOCKET, else XDG_RUNTIME_DIR, else $CCR_HOME, else ~/.claude-code-router', () => {
	const all = { CCR_KEYD_SOCKET: '/s/sock', XDG_RUNTIME_DIR: '/run/user/1000', CCR_HOME: '/c', HOME: '/home/u' };
	assert.equal(socketPath(all), '/s/sock');
	assert.equal(socketPath({ ...all, CCR_KEYD_SOCKET: undefined }), '/run/user/1000/ccr-keyd/sock');
	assert.equal(socketPath({ CCR_HOME: '/c', HOME: '/home/u' }), '/c/keyd.sock');
	assert.equal(socketPath({ HOME: '/home/u' }), '/home/u/.claude-code-router/keyd.sock');
});

test('socketPath: empty values count as unset', () => {
	assert.equal(socketPath({ CCR_KEYD_SOCKET: '', XDG_RUNTIME_DIR: '/run/user/7', HOME: '/h' }), '/run/user/7/ccr-keyd/sock');
	assert.equal(socketPath({ CCR_KEYD_SOCKET: '', XDG_RUNTIME_DIR: '', CCR_HOME: '/c', HOME: '/h' }), '/c/keyd.sock');
	assert.equal(socketPath({ CCR_KEYD_SOCKET: '', XDG_RUNTIME_DIR: '', CCR_HOME: '', HOME: '/h' }), '/h/.claude-code-router/keyd.sock');
	assert.equal(socketPath({ HOME: '' }), os.userInfo().homedir + '/.claude-code-router/keyd.sock');
	assert.equal(socketPath({}), os.userInfo().homedir + '/.claude-code-router/keyd.sock');
});

test('socketPath: plain concatenation like the C client, and process.env by default', () => {
	assert.equal(socketPath({ XDG_RUNTIME_DIR: '/run/x/' }), '/run/x//ccr-keyd/sock');
	assert.equal(homeDir({ CCR_HOME: '/c' }), '/c');
	assert.equal(homeDir({ HOME: '/h' }), '/h/.claude-code-router');
	assert.equal(socketPath(), socketPath(process.env));
	// inherited properties are not environment variables
	assert.equal(socketPath(Object.create({ CCR_KEYD_SOCKET: '/proto' }, { HOME: { value: '/h', enumerable: true } })),
		'/h/.claude-code-router/keyd.sock');
});

test('referencedNames: every $NAME and ${NAME} in a nested value, once, in order', () => {
	assert.deepEqual(referencedNames({
		$KEY_IGNORED: 'x',
		a: ['$B_KEY', { c: '${C-dashed} $lower ${lower} $ ${} $B_KEY', n: 5 }],
		d: 'pre$D_KEY$E_KEY', e: null, f: true,
	}), ['B_KEY', 'C-dashed', 'lower', 'D_KEY', 'E_KEY']);
	assert.deepEqual(referencedNames('nothing here'), []);
	assert.deepEqual(referencedNames(42), []);
});

test('without references the daemon is never asked', async () => {
	const o = { socket: '/nonexistent/ccr-keyd/sock', strict: true };
	const v = { a: 'plain', b: [1, 'x $lower'], c: { d: null } };
	assert.deepEqual(await esm.interpolateEnvVars(v, o), v);
	assert.deepEqual(esm.interpolateEnvVarsSync(v, o), v);
});

test('package.json: zero dependencies, import and require entries that exist', () => {
	const pkg = JSON.parse(readFileSync(path.join(here, '../package.json'), 'utf8'));
	assert.equal(pkg.type, 'module');
	assert.equal(pkg.dependencies, undefined);
	assert.equal(pkg.devDependencies, undefined);
	assert.equal(pkg.exports['.'].import, './index.mjs');
	assert.equal(pkg.exports['.'].require, './index.cjs');
	assert.match(pkg.engines.node, />=\s*18/);
	for (const f of pkg.files) assert.ok(existsSync(path.join(here, '..', f)), f);
});

test('the CommonJS entry: require() gives the same functions as import', () => {
	const cjs = require('../index.cjs');
	for (const k of ['getKey', 'resolve', 'resolveSync', 'interpolateEnvVars', 'interpolateEnvVarsSync',
		'referencedNames', 'socketPath', 'homeDir', 'KeydError']) {
		assert.equal(typeof cjs[k], 'function', k);
		assert.equal(cjs[k], esm[k], `${k}: one implementation`);
	}
	assert.equal(esm.default, cjs);
	const e = new cjs.KeydError('timeout', 'm');
	assert.ok(e instanceof esm.KeydError && e instanceof Error);
	assert.equal(e.code, 'timeout');
});

test('the modules use node: built-ins only', () => {
	for (const f of ['index.cjs', 'index.mjs', 'sync-worker.cjs']) {
		const src = readFileSync(path.join(here, '..', f), 'utf8');
		for (const m of src.matchAll(/(?:require\(|from\s+)['"]([^'"]+)['"]/g))
			assert.ok(m[1].startsWith('node:') || m[1].startsWith('./'), `${f} loads ${m[1]}`);
	}
});
