'use strict';
/*
 * Keys join the request, not the router. The router's config hands it, for
 * each key a provider's api_key references, an opaque token of this process
 * (tokenTable); the router builds its upstream request with the token in a
 * header, and the fetch it calls (installFetch) swaps the token for the key at
 * that moment: asked of ccr-keyd for this request's origin (scheme, host,
 * port), which answers only for an origin the key is bound to. So a rotated
 * key is used by the next request, a locked keystore stops the next request,
 * and a provider pointed elsewhere — by PUT /providers, a UI save and a
 * restart, an edited config — gets no key: the request is not sent, and the
 * router's client is told why and what to run. The key lives in this process
 * only while its request is built and sent: never in process.env, a config
 * object, a file or a reply. A token that reaches anything else is only a
 * token.
 */

const crypto = require('node:crypto');
const patches = require('./patches.cjs');

/* ccrkeyd_ + 16 hex digits of this process + 4 hex digits of the name's index. */
const TOKEN = /ccrkeyd_[0-9a-f]{16}_[0-9a-f]{4}/g;

/* HTTP status of a request refused before it left: locked, daemon down, anything else. */
const STATUS = { locked: 423, unreachable: 503, refused: 403 };

/*
 * A token for each of names, unique to this process: {byName, byToken}.
 * Fixed length, so that text right after a reference (`${NAME}-suffix`) can
 * never run into it.
 */
function tokenTable(names) {
	const nonce = crypto.randomBytes(8).toString('hex');
	const byName = new Map();
	const byToken = new Map();
	names.forEach((name, i) => {
		const token = `ccrkeyd_${nonce}_${i.toString(16).padStart(4, '0')}`;
		byName.set(name, token);
		byToken.set(token, name);
	});
	return { byName, byToken };
}

/* The origin of a URL as the daemon binds keys (WHATWG's), or null when it has none. */
function originOf(url) {
	try {
		const o = new URL(url).origin;
		return o === 'null' ? null : o;
	} catch {
		return null;
	}
}

/* The URL a fetch goes to, from its input. */
function urlOf(input) {
	if (typeof input === 'string')
		return input;
	if (input instanceof URL)
		return input.href;
	return input && typeof input.url === 'string' ? input.url : String(input);
}

/* The headers a fetch sends (init's replace the Request's), or null when it has none. */
function headersOf(input, init) {
	try {
		if (init && init.headers !== undefined && init.headers !== null)
			return new Headers(init.headers);
		if (input && typeof input === 'object' && input.headers instanceof Headers)
			return new Headers(input.headers);
	} catch {
		/* headers fetch itself would refuse: let it */
	}
	return null;
}

/* The names whose tokens the headers carry, each once. */
function namesIn(headers, table) {
	const names = new Set();
	for (const [, v] of headers) {
		for (const t of v.match(TOKEN) || []) {
			if (table.byToken.has(t))
				names.add(table.byToken.get(t));
		}
	}
	return names;
}

/* A reply from "upstream" that never left this process: the agent reads why. */
function refusal(status, message) {
	const body = JSON.stringify({ type: 'error', error: { type: 'ccr_keyd', message } });
	return new Response(body, { status, headers: { 'content-type': 'application/json' } });
}

/*
 * What to send for name towards origin: {value} or {status, message}. ctx:
 * session (index.cjs), origins (name → Set of the origins config.json gave its
 * providers when this process started: where a key with no binding yet may be
 * bound at its first use, and where a value from the environment may go),
 * fallback (name → value from the environment, used when the keystore has no
 * such key, or with fallbackAlways when ccr-keyd cannot answer).
 */
async function keyFor(ctx, name, origin) {
	const configured = (ctx.origins.get(name) || new Set()).has(origin);
	const fromEnv = () => (configured && ctx.fallback.has(name) ? { value: ctx.fallback.get(name) } :
		null);
	let r;
	try {
		r = await ctx.session.ask({ op: 'use', env: name, origin });
		if (r.ok === false && r.error === 'denied' && r.unbound === true && configured) {
			const b = await ctx.session.ask({ op: 'bind', env: name, origins: [origin],
				mode: 'initial' });
			if (b.ok)
				r = await ctx.session.ask({ op: 'use', env: name, origin });
		}
	} catch (e) {
		const f = ctx.fallbackAlways ? fromEnv() : null;
		return f || { status: STATUS.unreachable, message: `ccr-keyd: $${name} was not sent to ` +
			`${origin}: ${String(e.message).replace(/^ccr-keyd: /, '')}` };
	}
	if (r.ok === true && typeof r.value === 'string')
		return { value: r.value };
	const why = typeof r.message === 'string' ? r.message : r.error;
	if (r.error === 'not_found')
		return fromEnv() || { status: STATUS.refused, message: `ccr-keyd: $${name} is not in ` +
			`the keystore; store it with: ccr config set NAME --env ${name}` };
	if (r.error === 'locked')
		return (ctx.fallbackAlways && fromEnv()) || { status: STATUS.locked,
			message: `ccr-keyd: the keystore is locked, so $${name} was not sent to ${origin}; ` +
				'run: ccr config unlock' };
	return { status: STATUS.refused, message: `ccr-keyd: $${name} was not sent to ${origin}: ${why}` };
}

/*
 * The global fetch, sending with each request whose headers carry a token of
 * opts.table the keys in its headers, each asked for that request's origin
 * (keyFor, with opts.ctx). A request any of whose keys is refused is not
 * sent: the caller gets a reply whose status and message say why (ctx.warn
 * gets the message too). Every other request passes untouched.
 */
function fetchWithKeys(send, opts) {
	const { table, ctx } = opts;
	return async function fetchWithKeys(input, init) {
		const headers = headersOf(input, init);
		const names = headers === null ? new Set() : namesIn(headers, table);
		if (names.size === 0)
			return send.call(this, input, init);
		const origin = originOf(urlOf(input));
		const values = new Map();
		for (const name of names) {
			const k = origin === null ? { status: STATUS.refused,
				message: `ccr-keyd: $${name} goes to http(s) origins only` } :
				await keyFor(ctx, name, origin);
			if (k.value === undefined) {
				ctx.warn(k.message.replace(/^ccr-keyd: /, ''));
				return refusal(k.status, k.message);
			}
			values.set(name, k.value);
		}
		const withKeys = new Headers();
		for (const [h, v] of headers)
			withKeys.append(h, v.replace(TOKEN, (t) =>
				(table.byToken.has(t) ? values.get(table.byToken.get(t)) : t)));
		values.clear();
		return send.call(this, input, Object.assign({}, init, { headers: withKeys }));
	};
}

/*
 * Replace globalThis.fetch with fetchWithKeys (through the table of entry
 * points, patches.cjs). False when this Node has no global fetch.
 */
function installFetch(table, ctx) {
	return patches.install('fetch', { table, ctx });
}

module.exports = { tokenTable, installFetch, fetchWithKeys, originOf, keyFor, TOKEN, STATUS };
