// Against the real daemon: build/ccr-keyd in a temporary directory, seeded with
// raw `set` requests, stopped by its pid.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { cleanup, raw, seed, startDaemon, tmpdir } from '../testlib/keyd.mjs';
import {
	getKey, interpolateEnvVars, interpolateEnvVarsSync, KeydError, resolve, resolveSync,
} from '../index.mjs';

const require = createRequire(import.meta.url);

const CEREBRAS = 'csk-test-node-0001';
const OPENROUTER = 'sk-or-test-node-0002';
const GEMINI = 'AIza-test-node-0003';
const ENV_CEREBRAS = 'csk-from-the-environment-9999';

let dir, keyd, opts;

before(async () => {
	dir = tmpdir('node');
	keyd = await startDaemon(dir);
	opts = { socket: keyd.sock, timeoutMs: 3000 };
	await seed(keyd.sock, [
		{ name: 'cerebras', value: CEREBRAS },              // env defaults to CEREBRAS_API_KEY
		{ name: 'open-router', value: OPENROUTER },         // OPEN_ROUTER_API_KEY
		{ name: 'gemini', value: GEMINI, env: 'GEMINI_KEY' },
	]);
}, { timeout: 15000 });

after(async () => {
	if (keyd) {
		const r = await keyd.stop();
		assert.equal(r.code, 0, `ccr-keyd exits 0 on SIGTERM: ${keyd.stderr()}`);
	}
	if (dir) cleanup(dir);
}, { timeout: 10000 });

test('seeding went through the real daemon (set defaults env to CEREBRAS_API_KEY)', async () => {
	const r = await raw(keyd.sock, { op: 'get', name: 'cerebras' });
	assert.equal(r.ok, true);
	assert.equal(r.env, 'CEREBRAS_API_KEY');
});

test('getKey: a stored key', async () => {
	const k = await getKey('cerebras', opts);
	assert.equal(k.name, 'cerebras');
	assert.equal(k.env, 'CEREBRAS_API_KEY');
	assert.equal(k.value, CEREBRAS);
	assert.equal(typeof k.updated, 'string');
	assert.match(k.updated, /^\d{4}-\d\d-\d\dT/);
	assert.deepEqual(Object.keys(k).sort(), ['env', 'name', 'updated', 'value']);
	const g = await getKey('gemini', opts);
	assert.equal(g.env, 'GEMINI_KEY');
	assert.equal(g.value, GEMINI);
});

test('getKey: a missing key is null, an invalid name is a KeydError', async () => {
	assert.equal(await getKey('nosuchkey', opts), null);
	await assert.rejects(getKey('-bad name', opts), (e) => {
		assert.ok(e instanceof KeydError);
		assert.equal(e.code, 'invalid_name');
		return true;
	});
});

test('resolve: several names in one request, only those found', async () => {
	const v = await resolve(['CEREBRAS_API_KEY', 'OPEN_ROUTER_API_KEY', 'GEMINI_KEY', 'NOT_STORED'], opts);
	assert.deepEqual(v, { CEREBRAS_API_KEY: CEREBRAS, OPEN_ROUTER_API_KEY: OPENROUTER, GEMINI_KEY: GEMINI });
	assert.deepEqual(await resolve('GEMINI_KEY', opts), { GEMINI_KEY: GEMINI });
	assert.deepEqual(await resolve([], opts), {});
	assert.deepEqual(resolveSync(['CEREBRAS_API_KEY', 'NOT_STORED'], opts), { CEREBRAS_API_KEY: CEREBRAS });
});

test('resolve: more names than one request holds are split, all answered', async () => {
	const names = ['CEREBRAS_API_KEY'];
	for (let i = 0; i < 5000; i++) names.push(`UNUSED_NAME_${i}`);
	names.push('GEMINI_KEY');
	assert.deepEqual(await resolve(names, opts), { CEREBRAS_API_KEY: CEREBRAS, GEMINI_KEY: GEMINI });
});

const config = () => ({
	LOG: true,
	PORT: 3456,
	APIKEY: null,
	$HOST_KEY_IS_NOT_TOUCHED: '${HOST}',
	Providers: [
		{
			name: 'cerebras',
			api_base_url: 'https://api.cerebras.ai/v1/chat/completions',
			api_key: '$CEREBRAS_API_KEY',
			models: ['qwen-3-coder-480b', '$lowercase', 'x-$OPEN_ROUTER_API_KEY-y'],
			extra: { nested: ['${GEMINI_KEY}', 7, false, null, { deep: '${CEREBRAS_API_KEY}' }] },
		},
		{ name: 'other', api_key: '${OTHER_KEY}', unresolved: '$UNSET_NAME and ${ALSO_UNSET}' },
	],
	Router: { default: 'cerebras,qwen-3-coder-480b', braced: '${my-dashed}' },
});

test('interpolateEnvVars: a nested config, keystore then environment then the text', async () => {
	const warnings = [];
	const input = config();
	const before = JSON.stringify(input);
	const out = await interpolateEnvVars(input, {
		...opts,
		env: { OTHER_KEY: 'other-env-value', HOST: 'example.org', 'my-dashed': 'dash-env', lowercase: 'no' },
		warn: (m) => warnings.push(m),
	});
	assert.deepEqual(out, {
		LOG: true,
		PORT: 3456,
		APIKEY: null,
		$HOST_KEY_IS_NOT_TOUCHED: 'example.org',
		Providers: [
			{
				name: 'cerebras',
				api_base_url: 'https://api.cerebras.ai/v1/chat/completions',
				api_key: CEREBRAS,
				models: ['qwen-3-coder-480b', '$lowercase', `x-${OPENROUTER}-y`],
				extra: { nested: [GEMINI, 7, false, null, { deep: CEREBRAS }] },
			},
			{ name: 'other', api_key: 'other-env-value', unresolved: '$UNSET_NAME and ${ALSO_UNSET}' },
		],
		Router: { default: 'cerebras,qwen-3-coder-480b', braced: 'dash-env' },
	});
	assert.equal(JSON.stringify(input), before, 'the input is not modified');
	assert.deepEqual(warnings, []);
});

test('interpolateEnvVars: strings, non-strings and the router\'s edge cases', async () => {
	const o = { ...opts, env: {}, warn: () => assert.fail('no warning expected') };
	assert.equal(await interpolateEnvVars('Bearer $CEREBRAS_API_KEY', o), `Bearer ${CEREBRAS}`);
	assert.equal(await interpolateEnvVars('${CEREBRAS_API_KEY}${GEMINI_KEY}', o), CEREBRAS + GEMINI);
	assert.equal(await interpolateEnvVars('$CEREBRAS_API_KEY$GEMINI_KEY', o), CEREBRAS + GEMINI);
	// bare names are greedy: [A-Z0-9_]* takes the suffix too
	assert.equal(await interpolateEnvVars('$CEREBRAS_API_KEYS', o), '$CEREBRAS_API_KEYS');
	assert.equal(await interpolateEnvVars('$CEREBRAS_API_KEY-x', o), `${CEREBRAS}-x`);
	assert.equal(await interpolateEnvVars('$cerebras ${cerebras} $ ${} end$', o), '$cerebras ${cerebras} $ ${} end$');
	assert.equal(await interpolateEnvVars('${UNCLOSED', o), '${UNCLOSED');
	for (const v of [42, true, false, null, undefined])
		assert.equal(await interpolateEnvVars(v, o), v);
	assert.deepEqual(await interpolateEnvVars(['$GEMINI_KEY', 1], o), [GEMINI, 1]);
});

test('interpolateEnvVars: empty values count as unset, like the router\'s ||', async () => {
	const warnings = [];
	const o = { ...opts, env: { CEREBRAS_API_KEY: '', EMPTY_ONLY: '' }, warn: (m) => warnings.push(m) };
	assert.deepEqual(await interpolateEnvVars(['$CEREBRAS_API_KEY', '$EMPTY_ONLY', '${EMPTY_ONLY}'], o),
		[CEREBRAS, '$EMPTY_ONLY', '${EMPTY_ONLY}']);
	assert.deepEqual(warnings, [], 'an empty environment value is no conflict');
});

test('interpolateEnvVars: keystore wins over a different environment value, with one warning', async () => {
	const warnings = [];
	const out = await interpolateEnvVars(
		{ a: '$CEREBRAS_API_KEY', b: ['${CEREBRAS_API_KEY}', '$CEREBRAS_API_KEY'], g: '$GEMINI_KEY' },
		{ ...opts, env: { CEREBRAS_API_KEY: ENV_CEREBRAS, GEMINI_KEY: GEMINI }, warn: (m) => warnings.push(m) });
	assert.deepEqual(out, { a: CEREBRAS, b: [CEREBRAS, CEREBRAS], g: GEMINI });
	assert.equal(warnings.length, 1, `one warning: ${JSON.stringify(warnings.length)}`);
	assert.match(warnings[0], /CEREBRAS_API_KEY/);
	assert.ok(!warnings[0].includes(CEREBRAS), 'the warning holds no keystore value');
	assert.ok(!warnings[0].includes(ENV_CEREBRAS), 'the warning holds no environment value');
	assert.ok(!warnings[0].includes(GEMINI));
});

test('interpolateEnvVars: the default warning goes to stderr and uses process.env', async () => {
	const saved = process.env.CEREBRAS_API_KEY;
	const savedError = console.error;
	const lines = [];
	process.env.CEREBRAS_API_KEY = ENV_CEREBRAS;
	console.error = (...a) => lines.push(a.join(' '));
	try {
		assert.equal(await interpolateEnvVars('$CEREBRAS_API_KEY', opts), CEREBRAS);
	} finally {
		console.error = savedError;
		if (saved === undefined) delete process.env.CEREBRAS_API_KEY;
		else process.env.CEREBRAS_API_KEY = saved;
	}
	assert.equal(lines.length, 1);
	assert.match(lines[0], /^ccr-keyd: CEREBRAS_API_KEY /);
	assert.ok(!lines[0].includes(CEREBRAS) && !lines[0].includes(ENV_CEREBRAS));
});

test('interpolateEnvVars: names the keystore lacks come from the environment', async () => {
	const warnings = [];
	const out = await interpolateEnvVars({ k: '$ANTHROPIC_API_KEY', o: '$OPEN_ROUTER_API_KEY', m: '$MISSING' },
		{ ...opts, env: { ANTHROPIC_API_KEY: 'sk-ant-env-0004' }, warn: (m) => warnings.push(m) });
	assert.deepEqual(out, { k: 'sk-ant-env-0004', o: OPENROUTER, m: '$MISSING' });
	assert.deepEqual(warnings, []);
});

test('interpolateEnvVarsSync: the same against the daemon', () => {
	const warnings = [];
	const out = interpolateEnvVarsSync(config(), {
		...opts, env: { OTHER_KEY: 'o', CEREBRAS_API_KEY: ENV_CEREBRAS }, warn: (m) => warnings.push(m),
	});
	assert.equal(out.Providers[0].api_key, CEREBRAS);
	assert.deepEqual(out.Providers[0].extra.nested, [GEMINI, 7, false, null, { deep: CEREBRAS }]);
	assert.equal(out.Providers[1].api_key, 'o');
	assert.equal(out.$HOST_KEY_IS_NOT_TOUCHED, '${HOST}');
	assert.equal(warnings.length, 1);
	assert.match(warnings[0], /CEREBRAS_API_KEY/);
	assert.ok(!warnings[0].includes(CEREBRAS) && !warnings[0].includes(ENV_CEREBRAS));
});

test('the CommonJS entry loads with require and works against the daemon', async () => {
	const cjs = require('../index.cjs');
	const esm = await import('../index.mjs');
	for (const fn of ['getKey', 'resolve', 'interpolateEnvVars', 'interpolateEnvVarsSync', 'socketPath', 'KeydError'])
		assert.equal(cjs[fn], esm[fn], `${fn} is one implementation`);
	assert.equal((await cjs.getKey('open-router', opts)).value, OPENROUTER);
	assert.equal(await cjs.interpolateEnvVars('${OPEN_ROUTER_API_KEY}', { ...opts, env: {} }), OPENROUTER);
});

test('a value never appears in an error message', async () => {
	const e = await getKey('x'.repeat(200), opts).then(() => null, (err) => err);
	assert.ok(e instanceof KeydError);
	assert.equal(e.code, 'invalid_name');
	for (const v of [CEREBRAS, OPENROUTER, GEMINI])
		assert.ok(!e.message.includes(v));
});
