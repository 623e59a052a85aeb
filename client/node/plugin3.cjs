'use strict';
/*
 * ccr-keyd's provider plugin for claude-code-router 3.x (prototype).
 *
 * 3.x has no config.json to interpolate at each start and no global fetch to
 * wrap: its model gateway runs in a child process (gateway-bootstrap.js) that
 * gets the compiled config over IPC and loads "core gateway plugins" from
 * absolute module paths. This module is one: the router's own extension
 * mechanism loads it, from a plugins[] entry of the app config
 * (tests/e2e/ROUTER3-NOTES.md):
 *
 *   {"id":"ccr-keyd","enabled":true,"permissions":["core-gateway-plugins"],
 *    "coreGateway":{"plugins":[{"key":"ccr-keyd","enabled":true,
 *      "modulePath":"/…/plugin3.cjs","config":{}}]}}
 *
 * A provider's api_key (and each credentials[].api_key) holds a reference,
 * $NAME or ${NAME}, never a key. The gateway builds each upstream request with
 * the reference where the key goes (Authorization: Bearer $NAME, x-api-key:
 * $NAME, …) and then calls the providerHooks' authenticate(input) — this one
 * for every provider. It asks ccr-keyd `use` for each name, for the origin of
 * the request's URL, on a proven connection (index.cjs, session()), and puts
 * the value into a copy of the headers that carried the reference; with the
 * same rules as the 1.x/2.x preload (inject.cjs, keyFor): a key with no
 * binding yet is bound (`bind` mode `initial`) only to the origin of a
 * provider that referenced it when this gateway process started; a refusal —
 * locked, not found, the daemon gone, another origin — fails the request with
 * a message that says what to run, and nothing is sent. No key is cached.
 */

const keyd = require('./index.cjs');
const inject = require('./inject.cjs');

const KEY = 'ccr-keyd';

function isObject(v) {
	return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/* The storable names a string references, in order, each once. */
function namesOf(text) {
	return typeof text === 'string' ? keyd.referencedNames(text).filter(keyd.storable) : [];
}

/* The strings of a provider (gateway form) that may carry references to keys. */
function keyStrings(p) {
	const out = [];
	if (!isObject(p))
		return out;
	for (const k of ['apikey', 'apiKey', 'api_key'])
		if (typeof p[k] === 'string')
			out.push(p[k]);
	for (const c of Array.isArray(p.credentials) ? p.credentials : [])
		if (isObject(c))
			for (const k of ['apikey', 'apiKey', 'api_key'])
				if (typeof c[k] === 'string')
					out.push(c[k]);
	return out;
}

/*
 * name → Set of origins, from the gateway config this process started with:
 * the base URL of each provider whose key strings reference the name. A key
 * with no binding yet may be bound at its first use to these, and only these.
 */
function configuredOrigins(config) {
	const origins = new Map();
	const providers = isObject(config) && Array.isArray(config.providers) ? config.providers : [];
	for (const p of providers) {
		if (!isObject(p))
			continue;
		const origin = inject.originOf(p.baseurl || p.baseUrl || p.api_base_url || '');
		for (const s of keyStrings(p)) {
			for (const n of namesOf(s)) {
				if (!origins.has(n))
					origins.set(n, new Set());
				if (origin !== null)
					origins.get(n).add(origin);
			}
		}
	}
	return origins;
}

/*
 * The header values the gateway wrote from the provider's key string: the
 * string itself or after an auth scheme ("Bearer $NAME"). Only those get a key;
 * a reference anywhere else (a client's header passed through) stays text.
 */
function carries(value, keyString) {
	if (typeof value !== 'string' || keyString === '')
		return false;
	const v = value.trim();
	return v === keyString || /^[A-Za-z][A-Za-z0-9_-]*\s+/.test(v) &&
		v.replace(/^[A-Za-z][A-Za-z0-9_-]*\s+/, '') === keyString;
}

/* Replace every reference in text by its value from values (a Map), else leave it. */
function substitute(text, values) {
	return text.replace(new RegExp(keyd.REF_SOURCE, 'g'), (m, braced, bare) => {
		const v = values.get(braced || bare);
		return v === undefined ? m : v;
	});
}

/*
 * The hook. opts: socket, timeoutMs (index.cjs session()), warn. config: the
 * gateway config this process started with. Returns {key, authenticate}.
 */
function providerHook(config, opts = {}) {
	let session = null;
	const warn = typeof opts.warn === 'function' ? opts.warn :
		(m) => console.error(`[ccr-keyd] ${m}`);
	const ctx = {
		get session() {
			if (session === null)
				session = keyd.session({ socket: opts.socket, timeoutMs: opts.timeoutMs });
			return session;
		},
		origins: configuredOrigins(config),
		fallback: new Map(), /* 3.x: keys come from the keystore only */
		fallbackAlways: false,
		warn,
	};
	async function authenticate(input) {
		const up = isObject(input) ? input.upstreamRequest : null;
		if (!isObject(up) || !isObject(up.headers))
			return { ok: true, value: up };
		const provider = isObject(input.targetProviderConfig) ? input.targetProviderConfig : {};
		const keyString = typeof provider.apikey === 'string' ? provider.apikey.trim() : '';
		const names = namesOf(keyString);
		if (names.length === 0)
			return { ok: true, value: up };
		const headers = Object.keys(up.headers).filter((h) => carries(up.headers[h], keyString));
		if (headers.length === 0)
			return { ok: true, value: up }; /* the reference goes nowhere: nothing to add */
		const origin = inject.originOf(up.url);
		const base = inject.originOf(provider.baseurl || '');
		/* Later hooks may rewrite the URL to the provider's base URL: the key must be
		 * allowed at both. */
		const targets = origin === null ? [] : base !== null && base !== origin ? [origin, base] :
			[origin];
		const values = new Map();
		for (const name of names) {
			if (targets.length === 0) {
				const message = `ccr-keyd: $${name} goes to http(s) origins only`;
				warn(message.replace(/^ccr-keyd: /, ''));
				return { ok: false, error: message };
			}
			for (const t of targets) {
				const k = await inject.keyFor(ctx, name, t);
				if (k.value === undefined) {
					warn(k.message.replace(/^ccr-keyd: /, ''));
					values.clear();
					return { ok: false, error: k.message };
				}
				values.set(name, k.value);
			}
		}
		const out = Object.assign({}, up.headers);
		for (const h of headers)
			out[h] = substitute(up.headers[h], values);
		values.clear();
		return { ok: true, value: Object.assign({}, up, { headers: out }) };
	}
	return { key: KEY, authenticate };
}

/*
 * The gateway's entry point: createGatewayPlugin({config, plugin}), config
 * being the gateway config, plugin the plugins[] entry (its "config": socket,
 * timeoutMs). One provider hook, for every provider.
 */
function createGatewayPlugin(arg = {}) {
	const own = isObject(arg.plugin) && isObject(arg.plugin.config) ? arg.plugin.config : {};
	return { providerHooks: [providerHook(arg.config, {
		socket: typeof own.socket === 'string' && own.socket !== '' ? own.socket : undefined,
		timeoutMs: typeof own.timeoutMs === 'number' ? own.timeoutMs : undefined,
	})] };
}

/*
 * The plugins[] entry that registers this module with router 3.x: code runs in
 * the gateway child only, with the one permission that needs.
 */
function registration(modulePath, config = {}) {
	return {
		id: KEY,
		enabled: true,
		permissions: ['core-gateway-plugins'],
		coreGateway: { plugins: [{ key: KEY, enabled: true, modulePath, config }] },
	};
}

module.exports = { createGatewayPlugin, providerHook, configuredOrigins, registration, KEY };
