// No daemon, no router: what router3.cjs (ccr-config's helper for router 3.x) decides about a
// configuration — the plugin's entry, the names to take out of the environment, the keys in
// clear and the names migrate gives them, a legacy backup rewritten — and what prepare writes
// into a config.json before 3.x's first start.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';

const require = createRequire(import.meta.url);
const r3 = require('../router3.cjs');
const plugin3 = require('../plugin3.cjs');

const MODULE = '/opt/ccr-keyd/node/plugin3.cjs';
const want = plugin3.registration(MODULE, { socket: '/run/s' });

function config() {
	return {
		Providers: [
			{ name: 'Open Router', api_base_url: 'https://openrouter.ai/api/v1/chat/completions',
				api_key: 'csk-test-aaaa', credentials: [{ id: 'two', api_key: 'csk-test-bbbb' },
					{ id: 'three', api_key: '${OR_3_API_KEY}' }, { id: 'four', api_key: 'csk-test-aaaa' }] },
			{ name: 'groq', api_base_url: 'https://api.groq.com/openai/v1', api_key: '$GROQ_API_KEY' },
		],
		plugins: [{ id: 'other', enabled: true }],
	};
}

test('registered: only the entry for this module and socket, enabled, with core-gateway-plugins', () => {
	assert.equal(r3.registered(config(), want), false);
	const c = r3.withEntry(config(), want);
	assert.equal(r3.registered(c, want), true);
	assert.equal(c.plugins.length, 2, 'other plugins kept');
	assert.equal(r3.registered(c, plugin3.registration('/elsewhere.cjs', { socket: '/run/s' })), false);
	assert.equal(r3.registered(c, plugin3.registration(MODULE, { socket: '/run/other' })), false);
	c.plugins[1].enabled = false;
	assert.equal(r3.registered(c, want), false);
	const again = r3.withEntry(c, want);
	assert.equal(again.plugins.filter((p) => p.id === 'ccr-keyd').length, 1, 'replaced, not added');
});

test('namesOf: the storable names the providers and their credentials reference', () => {
	assert.deepEqual(r3.namesOf(config()).sort(), ['GROQ_API_KEY', 'OR_3_API_KEY']);
	assert.deepEqual(r3.namesOf({ providers: [{ api_key: '$PATH ${LD_PRELOAD} $OK_KEY' }] }), ['OK_KEY']);
});

test('plan: each key in clear with its place, one name per value, NAME-2 for the next', () => {
	const p = r3.plan(config());
	assert.deepEqual(p.map((e) => [e.id, e.field, e.name, e.env, e.origin]), [
		['0.api_key', 'api_key', 'open-router', 'OPEN_ROUTER_API_KEY', 'https://openrouter.ai'],
		['0.c0.api_key', 'credentials[two].api_key', 'open-router-2', 'OPEN_ROUTER_2_API_KEY',
			'https://openrouter.ai'],
		['0.c2.api_key', 'credentials[four].api_key', 'open-router', 'OPEN_ROUTER_API_KEY',
			'https://openrouter.ai'],
	]);
	const c = config();
	assert.equal(r3.place(c, '0.c0.api_key').holder, c.Providers[0].credentials[0]);
	assert.equal(r3.place(c, '9.api_key'), null);
});

test('rewriteBackup: known keys become references; an unknown key means the row goes', () => {
	const refs = new Map([['csk-test-aaaa', '$A_API_KEY'], ['csk-test-bbbb', '$B_API_KEY']]);
	const text = JSON.stringify(config());
	const out = r3.rewriteBackup(text, refs);
	assert.ok(!out.includes('csk-test'));
	assert.ok(out.includes('"$A_API_KEY"') && out.includes('"$B_API_KEY"'));
	assert.equal(r3.rewriteBackup(text, new Map([['csk-test-aaaa', '$A_API_KEY']])), null);
	assert.equal(r3.backupHoldsKeys({ content: Buffer.from(text) }), true);
	assert.equal(r3.backupHoldsKeys({ content: out }), false);
});

test('prepare before the first start: the entry into config.json, the rest as it was; mode kept', () => {
	const home = fs.mkdtempSync(path.join(os.tmpdir(), 'r3-'));
	const file = path.join(home, 'config.json');
	fs.writeFileSync(file, JSON.stringify(config()), { mode: 0o600 });
	const out = r3.prepare(home, MODULE, { socket: '/run/s' });
	assert.deepEqual(out, { store: 'json', registered: true,
		names: ['OR_3_API_KEY', 'GROQ_API_KEY'], running: 0 });
	const c = JSON.parse(fs.readFileSync(file, 'utf8'));
	assert.equal(r3.registered(c, want), true);
	assert.deepEqual(c.Providers, config().Providers);
	assert.equal(fs.statSync(file).mode & 0o777, 0o600);
	const before = fs.statSync(file).mtimeMs;
	r3.prepare(home, MODULE, { socket: '/run/s' });
	assert.equal(fs.statSync(file).mtimeMs, before, 'registered already: not rewritten');
	fs.rmSync(home, { recursive: true });
});

test('prepare with no configuration writes one holding the entry alone; a non-JSON one is refused', () => {
	const home = fs.mkdtempSync(path.join(os.tmpdir(), 'r3-'));
	r3.prepare(path.join(home, 'h'), MODULE, {});
	const c = JSON.parse(fs.readFileSync(path.join(home, 'h', 'config.json'), 'utf8'));
	assert.deepEqual(Object.keys(c), ['plugins']);
	fs.writeFileSync(path.join(home, 'h', 'config.json'), '{ // JSON5\n}');
	assert.throws(() => r3.prepare(path.join(home, 'h'), MODULE, {}), /is not JSON/);
	fs.rmSync(home, { recursive: true });
});

test('fillPools: NAME, NAME-2, NAME-3 in order, as references, once; other providers and existing pools untouched', () => {
	const keys = [{ name: 'or', env: 'OR_API_KEY' }, { name: 'or-3', env: 'OR_3_API_KEY' },
		{ name: 'or-2', env: 'OR_2_API_KEY' }, { name: 'orx', env: 'ORX_API_KEY' },
		{ name: 'groq', env: 'GROQ_API_KEY' }];
	const c = { Providers: [{ name: 'OpenRouter', api_key: '$OR_API_KEY' },
		{ name: 'groq', api_key: '${GROQ_API_KEY}' }, { name: 'lit', api_key: 'csk-test-x' }] };
	assert.equal(r3.fillPools(c, keys), true);
	assert.deepEqual(c.Providers[0].credentials, [{ id: 'or', api_key: '$OR_API_KEY' },
		{ id: 'or-2', api_key: '$OR_2_API_KEY' }, { id: 'or-3', api_key: '$OR_3_API_KEY' }]);
	assert.equal(c.Providers[1].credentials, undefined, 'no groq-2: no pool');
	assert.equal(c.Providers[2].credentials, undefined);
	assert.equal(r3.fillPools(c, keys), false, 'filled already');
	assert.equal(r3.fillPools(c, []), false);
	const own = { Providers: [{ name: 'or', api_key: '$OR_API_KEY', credentials: [{ id: 'x', api_key: '$OR_2_API_KEY' }] }] };
	assert.equal(r3.fillPools(own, keys), false, 'a pool of its own stays as it is');
});
