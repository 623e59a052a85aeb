// Keys join the request (inject.cjs) against the real build/ccr-keyd: the fetch the
// router calls gets a token in its headers and sends the key, asked of the daemon for
// the request's origin; any refusal means the request never leaves. Two loopback
// listeners stand for the provider and for a server the key must never reach.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { createRequire } from 'node:module';
import { cleanup, raw, seed, startDaemon, tmpdir } from '../testlib/keyd.mjs';

const require = createRequire(import.meta.url);
const inject = require('../inject.cjs');
const keyd = require('../index.cjs');

const ALPHA = 'csk-test-inject-0001-alpha';
const BETA = 'csk-test-inject-0002-beta';
const EXPORTED = 'csk-test-inject-0003-exported';

let dir, daemon, provider, elsewhere, table, ctx, warned;
const realFetch = globalThis.fetch;

// A listener that records the Authorization header of every request it gets.
async function listener() {
	const seen = [];
	const server = http.createServer((req, res) => {
		seen.push(req.headers.authorization ?? null);
		req.resume();
		req.on('end', () => res.end('{"ok":true}'));
	});
	await new Promise((r) => server.listen(0, '127.0.0.1', r));
	return { seen, server, origin: `http://127.0.0.1:${server.address().port}` };
}

before(async () => {
	dir = tmpdir('inject');
	daemon = await startDaemon(dir);
	provider = await listener();
	elsewhere = await listener();
	await seed(daemon.sock, [
		{ name: 'alpha', value: ALPHA, env: 'ALPHA_API_KEY', origins: [provider.origin] },
		{ name: 'beta', value: BETA, env: 'BETA_API_KEY' },
	]);
	table = inject.tokenTable(['ALPHA_API_KEY', 'BETA_API_KEY', 'GONE_API_KEY']);
	warned = [];
	ctx = {
		session: keyd.session({ socket: daemon.sock }),
		origins: new Map([['BETA_API_KEY', new Set([provider.origin])],
			['GONE_API_KEY', new Set([provider.origin])]]),
		fallback: new Map([['GONE_API_KEY', EXPORTED]]),
		fallbackAlways: false,
		warn: (m) => warned.push(m),
	};
	assert.equal(inject.installFetch(table, ctx), true);
}, { timeout: 15000 });

after(async () => {
	globalThis.fetch = realFetch;
	ctx?.session.close();
	provider?.server.close();
	elsewhere?.server.close();
	if (daemon)
		await daemon.stop();
	if (dir)
		cleanup(dir);
}, { timeout: 10000 });

const token = (name) => table.byName.get(name);

test('tokens are fixed-length, unique to the process, and never a key', () => {
	const again = inject.tokenTable(['ALPHA_API_KEY']);
	assert.match(token('ALPHA_API_KEY'), /^ccrkeyd_[0-9a-f]{16}_0000$/);
	assert.notEqual(again.byName.get('ALPHA_API_KEY'), token('ALPHA_API_KEY'));
	assert.equal(inject.originOf('HTTPS://API.Example.com:443/v1/x?y'), 'https://api.example.com');
	assert.equal(inject.originOf('file:///etc/passwd'), null);
});

test('a request to the bound origin carries the key, in every header form and inside a string', async () => {
	let r = await fetch(`${provider.origin}/v1/chat`, { method: 'POST',
		headers: new Headers({ Authorization: `Bearer ${token('ALPHA_API_KEY')}` }), body: '{}' });
	assert.equal(r.status, 200);
	r = await fetch(new Request(`${provider.origin}/v1/chat`,
		{ headers: { authorization: `pre-${token('ALPHA_API_KEY')}-post` } }));
	assert.equal(r.status, 200);
	r = await fetch(`${provider.origin}/x`, { headers: [['authorization', token('ALPHA_API_KEY')]] });
	assert.equal(r.status, 200);
	assert.deepEqual(provider.seen.splice(0), [`Bearer ${ALPHA}`, `pre-${ALPHA}-post`, ALPHA]);
});

test('a request elsewhere is not sent: the reply names the key, the origin and the command', async () => {
	const r = await fetch(`${elsewhere.origin}/v1/chat`, { method: 'POST',
		headers: { authorization: `Bearer ${token('ALPHA_API_KEY')}` }, body: '{}' });
	assert.equal(r.status, 403);
	const body = await r.text();
	assert.match(body, new RegExp(`ccr config bind alpha --add ${elsewhere.origin}`));
	assert.ok(!body.includes(ALPHA));
	assert.deepEqual(elsewhere.seen, [], 'the other listener got a request');
	assert.ok(warned.some((m) => m.includes(elsewhere.origin)));
});

test('an unbound key is bound at its first use to the origin the config gave it, and only there', async () => {
	let r = await fetch(`${elsewhere.origin}/`, { headers: { authorization: token('BETA_API_KEY') } });
	assert.equal(r.status, 403, 'an unbound key went to an origin the config never named');
	assert.match(await r.text(), /bound to no origin/);
	r = await fetch(`${provider.origin}/`, { headers: { authorization: token('BETA_API_KEY') } });
	assert.equal(r.status, 200);
	assert.deepEqual(provider.seen.splice(0), [BETA]);
	const got = await raw(daemon.sock, { op: 'get', name: 'beta' });
	assert.deepEqual(got.origins, [provider.origin]);
	assert.deepEqual(elsewhere.seen, []);
});

test('a key the keystore lacks goes from the environment, to the config\'s origin only', async () => {
	let r = await fetch(`${provider.origin}/`, { headers: { authorization: token('GONE_API_KEY') } });
	assert.equal(r.status, 200);
	assert.deepEqual(provider.seen.splice(0), [EXPORTED]);
	r = await fetch(`${elsewhere.origin}/`, { headers: { authorization: token('GONE_API_KEY') } });
	assert.equal(r.status, 403);
	assert.deepEqual(elsewhere.seen, []);
});

test('a rotated key is on the next request; a request without a token passes untouched', async () => {
	await seed(daemon.sock, [{ name: 'alpha', value: `${ALPHA}-rotated` }]);
	let r = await fetch(`${provider.origin}/`, { headers: { authorization: token('ALPHA_API_KEY') } });
	assert.equal(r.status, 200);
	r = await fetch(`${elsewhere.origin}/`, { headers: { authorization: 'Bearer something-else' } });
	assert.equal(r.status, 200);
	assert.deepEqual(provider.seen.splice(0), [`${ALPHA}-rotated`]);
	assert.deepEqual(elsewhere.seen.splice(0), ['Bearer something-else']);
});

test('locked: nothing is sent and the reply says to unlock; daemon gone: 503, found again on restart', async () => {
	const set = await raw(daemon.sock, { op: 'passphrase', action: 'set',
		new_value: 'a passphrase for the test' }, 30000);
	assert.equal(set.ok, true, JSON.stringify(set));
	const lock = await raw(daemon.sock, { op: 'lock' });
	assert.equal(lock.ok, true);
	let r = await fetch(`${provider.origin}/`, { headers: { authorization: token('ALPHA_API_KEY') } });
	assert.equal(r.status, 423);
	assert.match(await r.text(), /the keystore is locked.*run: ccr config unlock/);
	await daemon.stop();
	r = await fetch(`${provider.origin}/`, { headers: { authorization: token('ALPHA_API_KEY') } });
	assert.equal(r.status, 503);
	assert.match(await r.text(), /ccr-keyd is not running/);
	daemon = await startDaemon(dir);
	const unlock = await raw(daemon.sock, { op: 'unlock', value: 'a passphrase for the test' }, 30000);
	assert.equal(unlock.ok, true, JSON.stringify(unlock));
	r = await fetch(`${provider.origin}/`, { headers: { authorization: token('ALPHA_API_KEY') } });
	assert.equal(r.status, 200);
	assert.deepEqual(provider.seen.splice(0), [`${ALPHA}-rotated`]);
}, { timeout: 60000 });
