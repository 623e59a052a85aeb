#!/usr/bin/env node
'use strict';
/*
 * What ccr-config needs done to a claude-code-router 3.x home, run with the
 * router's own Node (3.x needs Node >= 22): ccr-config links libc only and
 * cannot read config.sqlite. Prints one JSON line on stdout; never a key.
 *
 *   node router3.cjs prepare HOME MODULE CONFIG_JSON - [KEYS_JSON]
 *       Before the router starts: with no config.sqlite yet, put ccr-keyd's
 *       plugins[] entry (plugin3.cjs registration(MODULE, CONFIG_JSON)) into
 *       HOME/config.json, which 3.x's first start imports with the entry kept
 *       (a config.json holding only that entry when there is none); with one
 *       and no server running, into its app config row (then a checkpoint).
 *       {"store":"sqlite"|"json","registered":BOOL,"names":[…],"running":PID|0}:
 *       names are those the providers' keys reference, for ccr-config to take
 *       out of the environment of everything it starts; running, the server's
 *       pid when service.json names one alive.
 *   node router3.cjs register HOME MODULE CONFIG_JSON TIMEOUT_MS [KEYS_JSON]
 *       Once the router runs: the same entry through its management API
 *       (getConfig, then saveConfig when it differs, which restarts its
 *       gateway), waiting up to TIMEOUT_MS for the API.
 *       Both fill the credentials[] pools from KEYS_JSON, the keystore's
 *       [{name, env}] (fillPools), in the same write.
 *       {"registered":true,"changed":BOOL}
 *   node router3.cjs status HOME MODULE
 *       For `ccr-config check`: {"running":PID|0, "environment":[names the server or its
 *       gateway holds in its environment], "store":…, "registered":BOOL, "module":PATH|null,
 *       "plain":[{"provider","field"}…] (provider keys that are not references),
 *       "names":[…], "backups":N (legacy_storage_backups rows holding a key in clear)}
 *   node router3.cjs migrate-plan HOME MODULE CONFIG_JSON
 *       For `ccr-config migrate`: {"running":PID} when the server runs (nothing
 *       done), else {"running":0,"entries":[{id, provider, field, name, env,
 *       value, origin}…],"backups":N}: the provider keys in clear — the one
 *       output that holds keys, on the pipe to ccr-config.
 *   node router3.cjs migrate-apply HOME MODULE CONFIG_JSON MAPPING_JSON
 *       Once ccr-config stored them: each key MAPPING ({id: "$ENV"}) names
 *       replaced by its reference, the plugin registered, legacy backups
 *       rewritten (or removed when they hold a key not replaced), then
 *       secure_delete, checkpoint, VACUUM and checkpoint, and the files'
 *       bytes checked for every value replaced.
 *
 * Exit 0; 1 with a message on stderr ("router3: …").
 */

const fs = require('node:fs');
const http = require('node:http');
const path = require('node:path');

const keyd = require('./index.cjs');
const plugin3 = require('./plugin3.cjs');

const KEY_FIELDS = ['api_key', 'apiKey', 'apikey'];
const CRED_KEY_FIELDS = ['api_key', 'apiKey', 'apikey', 'key', 'token'];

function isObject(v) {
	return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/* Open config.sqlite with node:sqlite (Node 22, as router 3.x needs). */
function openSqlite(file, readOnly) {
	let sqlite;
	const emit = process.emitWarning; /* "SQLite is an experimental feature" on stderr */
	process.emitWarning = () => {};
	try {
		sqlite = require('node:sqlite');
	} catch {
		throw new Error(`Node ${process.version} has no node:sqlite: router 3.x needs Node >= 22.13`);
	} finally {
		process.emitWarning = emit;
	}
	return new sqlite.DatabaseSync(file, { readOnly });
}

/* The app config row of a 3.x store: {db, config}; db open (close it). */
function readStore(home, readOnly = true) {
	const db = openSqlite(path.join(home, 'config.sqlite'), readOnly);
	const row = db.prepare('SELECT value_json FROM app_config WHERE key = ?').get('default');
	return { db, config: row ? JSON.parse(row.value_json) : {} };
}

function providersOf(config) {
	if (!isObject(config))
		return [];
	const p = Array.isArray(config.Providers) ? config.Providers : config.providers;
	return Array.isArray(p) ? p.filter(isObject) : [];
}

/* True when s is a reference and nothing else ($NAME or ${NAME}). */
function isReference(s) {
	return new RegExp(`^(?:${keyd.REF_SOURCE})$`).test(s.trim());
}

/*
 * Every key string of the providers: {provider, field, value, holder, prop}
 * (holder[prop] is the string), field "api_key" or "credentials[ID].api_key".
 */
function keyStrings(config) {
	const out = [];
	for (const p of providersOf(config)) {
		const name = typeof p.name === 'string' ? p.name : String(p.id || '?');
		for (const f of KEY_FIELDS)
			if (typeof p[f] === 'string' && p[f] !== '')
				out.push({ provider: name, field: f, value: p[f], holder: p, prop: f });
		const creds = Array.isArray(p.credentials) ? p.credentials : [];
		creds.forEach((c, i) => {
			if (!isObject(c))
				return;
			for (const f of CRED_KEY_FIELDS)
				if (typeof c[f] === 'string' && c[f] !== '')
					out.push({ provider: name, field: `credentials[${c.id || c.name || i}].${f}`,
						value: c[f], holder: c, prop: f, credential: c });
		});
	}
	return out;
}

function namesOf(config) {
	const names = new Set();
	for (const k of keyStrings(config))
		for (const n of keyd.referencedNames(k.value))
			if (keyd.storable(n))
				names.add(n);
	return [...names];
}

/* ccr-keyd's entry among plugins[], or null. */
function entryOf(config) {
	const list = isObject(config) && Array.isArray(config.plugins) ? config.plugins : [];
	return list.find((p) => isObject(p) && (p.id === plugin3.KEY || p.key === plugin3.KEY)) || null;
}

/* True when the config registers this module with this plugin config, enabled. */
function registered(config, want) {
	const have = entryOf(config);
	if (have === null || have.enabled === false)
		return false;
	const hp = isObject(have.coreGateway) && Array.isArray(have.coreGateway.plugins) ?
		have.coreGateway.plugins.find((p) => isObject(p) && p.key === plugin3.KEY) : null;
	const wp = want.coreGateway.plugins[0];
	return hp !== null && hp !== undefined && hp.enabled !== false &&
		(hp.modulePath || hp.path) === wp.modulePath &&
		JSON.stringify(hp.config || {}) === JSON.stringify(wp.config) &&
		Array.isArray(have.permissions) && have.permissions.includes('core-gateway-plugins');
}

/* config with want in plugins[] in place of any older ccr-keyd entry. */
function withEntry(config, want) {
	const list = Array.isArray(config.plugins) ? config.plugins : [];
	config.plugins = [...list.filter((p) => !(isObject(p) &&
		(p.id === plugin3.KEY || p.key === plugin3.KEY))), want];
	return config;
}

/*
 * Fill the credentials[] pool of each provider whose api_key is one reference
 * to a stored key NAME when the keystore (keys: [{name, env}]) also holds
 * NAME-2, NAME-3, …: one credential per key, NAME's first, each a reference
 * ({id: NAME-N, api_key: "$ENV"}), so that 3.x's own rotation and cool-down
 * work with keys it never stores. (With credentials, 3.x sends a credential's
 * key, never the provider's own.) A provider that has a pool already keeps it
 * as it is: which keys it holds is its owner's choice. Returns true when
 * config changed.
 */
function fillPools(config, keys) {
	if (!Array.isArray(keys) || keys.length === 0)
		return false;
	const byEnv = new Map(keys.filter((k) => isObject(k)).map((k) => [k.env, k]));
	let changed = false;
	for (const p of providersOf(config)) {
		const m = typeof p.api_key === 'string' ?
			new RegExp(`^(?:${keyd.REF_SOURCE})$`).exec(p.api_key.trim()) : null;
		const base = m ? byEnv.get(m[1] || m[2]) : undefined;
		if (base === undefined)
			continue;
		const re = new RegExp(`^${base.name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}-([0-9]+)$`);
		const more = keys.filter((k) => isObject(k) && re.test(k.name))
			.sort((a, b) => Number(re.exec(a.name)[1]) - Number(re.exec(b.name)[1]));
		if (more.length === 0)
			continue;
		if (Array.isArray(p.credentials) && p.credentials.length > 0)
			continue;
		p.credentials = [base, ...more].map((k) => ({ id: k.name, api_key: `$${k.env}` }));
		changed = true;
	}
	return changed;
}

/* Write text to file through a private temporary file and a rename. */
function writePrivate(file, text) {
	const tmp = `${file}.ccr-keyd-${process.pid}`;
	let mode = 0o600;
	try {
		mode = fs.statSync(file).mode & 0o600;
	} catch {
		/* a new file */
	}
	fs.writeFileSync(tmp, text, { mode: mode || 0o600, flag: 'wx' });
	fs.renameSync(tmp, file);
}

/* The pid of the router's server when service.json names one that is alive, else 0. */
function running(home) {
	try {
		const pid = JSON.parse(fs.readFileSync(path.join(home, 'service.json'), 'utf8')).pid;
		if (Number.isInteger(pid) && pid > 0) {
			process.kill(pid, 0);
			return pid;
		}
	} catch (e) {
		if (e.code === 'EPERM')
			return 1;
	}
	return 0;
}

/* Write config as the app config row of an open store, and leave nothing in its WAL. */
function writeStore(db, config) {
	const now = new Date().toISOString();
	const text = JSON.stringify(config);
	db.exec('BEGIN IMMEDIATE');
	try {
		const r = db.prepare('UPDATE app_config SET value_json = ?, updated_at = ? WHERE key = ?')
			.run(text, now, 'default');
		if (r.changes === 0)
			db.prepare('INSERT INTO app_config (key, value_json, updated_at) VALUES (?, ?, ?)')
				.run('default', text, now);
		db.exec('COMMIT');
	} catch (e) {
		db.exec('ROLLBACK');
		throw e;
	}
	db.exec('PRAGMA wal_checkpoint(TRUNCATE)');
}

function prepare(home, modulePath, pluginConfig, keys = []) {
	const want = plugin3.registration(modulePath, pluginConfig);
	const pid = running(home);
	if (fs.existsSync(path.join(home, 'config.sqlite'))) {
		/* Stopped: the entry goes into the store, for the server's first gateway to have it.
		 * Running: ccr-config registers it through the API. */
		const { db, config } = readStore(home, pid !== 0);
		let ok = registered(config, want);
		try {
			const pools = pid === 0 && fillPools(config, keys);
			if ((!ok || pools) && pid === 0) {
				writeStore(db, withEntry(config, want));
				ok = true;
			}
		} finally {
			db.close();
		}
		return { store: 'sqlite', registered: ok, names: namesOf(config), running: pid };
	}
	const file = path.join(home, 'config.json');
	let config = {};
	let text = null;
	try {
		text = fs.readFileSync(file, 'utf8');
	} catch (e) {
		if (e.code !== 'ENOENT')
			throw e;
	}
	if (text !== null) {
		try {
			config = JSON.parse(text);
		} catch (e) {
			throw new Error(`${file} is not JSON, which router 3.x imports: ${e.message}`);
		}
		if (!isObject(config))
			throw new Error(`${file} is not a JSON object`);
	}
	if (fillPools(config, keys) || !registered(config, want)) {
		fs.mkdirSync(home, { recursive: true, mode: 0o700 });
		writePrivate(file, `${JSON.stringify(withEntry(config, want), null, 2)}\n`);
	}
	return { store: 'json', registered: true, names: namesOf(config), running: pid };
}

/* The running router's management API: call(method, args) → value. */
function api(home) {
	const service = JSON.parse(fs.readFileSync(path.join(home, 'service.json'), 'utf8'));
	const url = new URL(service.url);
	const token = url.searchParams.get('ccr_web_token');
	if (!token)
		throw new Error(`${home}/service.json names no management token`);
	return (method, args) => new Promise((resolve, reject) => {
		const data = Buffer.from(JSON.stringify({ method, args }));
		const req = http.request({ host: url.hostname, port: Number(url.port), method: 'POST',
			path: '/api/ccr/rpc', timeout: 30000, headers: { 'content-type': 'application/json',
				'content-length': data.length, 'x-ccr-web-auth': token } }, (res) => {
			const parts = [];
			res.on('data', (d) => parts.push(d));
			res.on('end', () => {
				try {
					const j = JSON.parse(Buffer.concat(parts).toString('utf8'));
					if (res.statusCode === 200 && j.ok)
						return resolve(j.value);
					reject(new Error(`the router's ${method} failed: HTTP ${res.statusCode}`));
				} catch (e) {
					reject(new Error(`the router's ${method} answered no JSON: ${e.message}`));
				}
			});
		});
		req.on('timeout', () => req.destroy(new Error(`the router's ${method} timed out`)));
		req.on('error', reject);
		req.end(data);
	});
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function register(home, modulePath, pluginConfig, timeoutMs, keys = []) {
	const want = plugin3.registration(modulePath, pluginConfig);
	const end = Date.now() + timeoutMs;
	let last = null;
	for (;;) {
		try {
			const call = api(home);
			const config = await call('getConfig', []);
			const pools = fillPools(config, keys);
			if (registered(config, want) && !pools)
				return { registered: true, changed: false };
			const saved = await call('saveConfig', [withEntry(config, want)]);
			if (!registered(saved, want))
				throw new Error("the router did not keep ccr-keyd's plugins[] entry");
			return { registered: true, changed: true };
		} catch (e) {
			last = e;
		}
		if (Date.now() > end)
			throw last;
		await sleep(100);
	}
}

function status(home, modulePath) {
	if (!fs.existsSync(path.join(home, 'config.sqlite')))
		return { store: fs.existsSync(path.join(home, 'config.json')) ? 'json' : 'none' };
	const { db, config } = readStore(home);
	let backups = 0;
	try {
		for (const row of db.prepare('SELECT * FROM legacy_storage_backups').all())
			if (backupHoldsKeys(row))
				backups++;
	} catch {
		/* no such table */
	}
	db.close();
	const have = entryOf(config);
	const hp = have && isObject(have.coreGateway) && Array.isArray(have.coreGateway.plugins) ?
		have.coreGateway.plugins.find((p) => isObject(p) && p.key === plugin3.KEY) : null;
	const module = hp ? hp.modulePath || hp.path || null : null;
	const pid = running(home);
	return {
		running: pid,
		/* Names its providers reference that the server or its gateway has in its environment
		 * (started some other way than through ccr-config). */
		environment: pid > 1 ? environNames(pid, namesOf(config)) : [],
		store: 'sqlite',
		registered: have !== null && have.enabled !== false && hp !== null && hp !== undefined &&
			hp.enabled !== false && (modulePath === undefined || module === modulePath),
		module,
		plain: keyStrings(config).filter((k) => !isReference(k.value))
			.map((k) => ({ provider: k.provider, field: k.field })),
		names: namesOf(config),
		backups,
	};
}

/* Which of names are set in the environment of pid or of its children (Linux /proc). */
function environNames(pid, names) {
	const found = new Set();
	const pids = [pid];
	try {
		for (const t of fs.readdirSync(`/proc/${pid}/task`))
			for (const c of fs.readFileSync(`/proc/${pid}/task/${t}/children`, 'utf8').split(/\s+/))
				if (c !== '')
					pids.push(Number(c));
	} catch {
		/* not Linux, or gone */
	}
	for (const p of pids) {
		let env;
		try {
			env = fs.readFileSync(`/proc/${p}/environ`, 'latin1').split('\0');
		} catch {
			continue;
		}
		for (const e of env) {
			const eq = e.indexOf('=');
			if (eq > 0 && e.length > eq + 1 && names.includes(e.slice(0, eq)))
				found.add(e.slice(0, eq));
		}
	}
	return [...found];
}

/* True when a legacy_storage_backups row's text holds a provider key that is not a reference. */
function backupHoldsKeys(row) {
	for (let v of Object.values(row)) {
		if (v instanceof Uint8Array)
			v = Buffer.from(v).toString('utf8');
		if (typeof v !== 'string' || !v.includes('{'))
			continue;
		try {
			const j = JSON.parse(v);
			if (keyStrings(j).some((k) => !isReference(k.value)))
				return true;
		} catch {
			/* not JSON */
		}
	}
	return false;
}

/* The key name for a provider named s: lower-case, other characters a '-' (one for a run). */
function keyName(s) {
	return String(s).toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '')
		.slice(0, 120) || 'provider';
}

/* The env name a key name gets by default: NAME_API_KEY. */
function envName(name) {
	const e = `${name.toUpperCase().replace(/[^A-Z0-9]+/g, '_')}_API_KEY`;
	return /^[0-9]/.test(e) ? `_${e}` : e;
}

/* The origin of a provider's base URL, or "". */
function originOf(url) {
	try {
		const u = new URL(url);
		return u.protocol === 'http:' || u.protocol === 'https:' ? u.origin : '';
	} catch {
		return '';
	}
}

/*
 * The provider keys in clear, each with an id (its place), the key name and
 * env name proposed (the provider's, then -2, -3, … for more keys of it; one
 * name for one value), and the origin of its provider.
 */
function plan(config) {
	const out = [];
	const byValue = new Map();
	for (const [pi, p] of providersOf(config).entries()) {
		const base = keyName(typeof p.name === 'string' && p.name !== '' ? p.name : p.id || 'provider');
		const origin = originOf(p.api_base_url || p.baseUrl || p.baseurl || '');
		let count = 0;
		const add = (holder, prop, field, id) => {
			const value = holder[prop];
			if (typeof value !== 'string' || value.trim() === '' || isReference(value))
				return;
			let e = byValue.get(value);
			if (e === undefined) {
				count++;
				const name = count === 1 ? base : `${base}-${count}`;
				e = { name, env: envName(name), value, origins: [] };
				byValue.set(value, e);
			}
			if (origin !== '' && !e.origins.includes(origin))
				e.origins.push(origin);
			out.push({ id, provider: String(p.name || p.id || pi), field, name: e.name, env: e.env,
				value, origin });
		};
		for (const f of KEY_FIELDS)
			add(p, f, f, `${pi}.${f}`);
		(Array.isArray(p.credentials) ? p.credentials : []).forEach((c, ci) => {
			if (isObject(c))
				for (const f of CRED_KEY_FIELDS)
					add(c, f, `credentials[${c.id || c.name || ci}].${f}`, `${pi}.c${ci}.${f}`);
		});
	}
	return out;
}

/* The string an id of plan() names, as {holder, prop}, or null. */
function place(config, id) {
	const [pi, a, b] = id.split('.');
	const p = providersOf(config)[Number(pi)];
	if (!p)
		return null;
	if (b === undefined)
		return { holder: p, prop: a };
	const c = Array.isArray(p.credentials) ? p.credentials[Number(a.slice(1))] : null;
	return isObject(c) ? { holder: c, prop: b } : null;
}

function migratePlan(home) {
	const pid = running(home);
	if (pid !== 0)
		return { running: pid };
	if (!fs.existsSync(path.join(home, 'config.sqlite')))
		return { running: 0, store: 'none', entries: [] };
	const { db, config } = readStore(home);
	let backups = 0;
	try {
		for (const row of db.prepare('SELECT * FROM legacy_storage_backups').all())
			backups += backupHoldsKeys(row) ? 1 : 0;
	} catch {
		/* no such table */
	}
	db.close();
	return { running: 0, store: 'sqlite', entries: plan(config), backups };
}

/* Replace in text every literal of values (Map literal → ref) found as a JSON string. */
function rewriteBackup(text, refs) {
	let j;
	try {
		j = JSON.parse(text);
	} catch {
		return null;
	}
	for (const k of keyStrings(j)) {
		if (isReference(k.value))
			continue;
		if (!refs.has(k.value))
			return null; /* a key we do not know: the row goes */
		k.holder[k.prop] = refs.get(k.value);
	}
	return JSON.stringify(j, null, 2);
}

/*
 * Put the references of mapping ({id: ref}) in place of the keys, register
 * the plugin, rewrite (or remove) the legacy backups holding keys, and leave
 * no copy: secure_delete, checkpoint, VACUUM, checkpoint; then check the
 * files' bytes for every value replaced.
 */
function migrateApply(home, modulePath, pluginConfig, mapping) {
	if (running(home) !== 0)
		throw new Error('the router runs: stop it first (ccr stop)');
	const { db, config } = readStore(home, false);
	const refs = new Map();
	let changed = 0;
	let rewritten = 0;
	let removed = 0;
	try {
		const entries = plan(config);
		for (const e of entries) {
			const ref = mapping[e.id];
			if (typeof ref !== 'string' || !isReference(ref))
				continue;
			const at = place(config, e.id);
			if (at === null || at.holder[at.prop] !== e.value)
				throw new Error(`config.sqlite changed meanwhile (${e.provider} ${e.field})`);
			at.holder[at.prop] = ref;
			refs.set(e.value, ref);
			changed++;
		}
		db.exec('PRAGMA secure_delete = ON');
		writeStore(db, withEntry(config, plugin3.registration(modulePath, pluginConfig)));
		let rows = [];
		try {
			rows = db.prepare('SELECT id, content FROM legacy_storage_backups').all();
		} catch {
			/* no such table */
		}
		const crypto = require('node:crypto');
		for (const row of rows) {
			const text = row.content instanceof Uint8Array ? Buffer.from(row.content).toString('utf8') :
				String(row.content);
			if (!backupHoldsKeys({ content: text }))
				continue;
			const next = rewriteBackup(text, refs);
			if (next === null) {
				db.prepare('DELETE FROM legacy_storage_backups WHERE id = ?').run(row.id);
				removed++;
			} else {
				const buf = Buffer.from(next, 'utf8');
				db.prepare('UPDATE legacy_storage_backups SET content = ?, sha256 = ? WHERE id = ?')
					.run(buf, crypto.createHash('sha256').update(buf).digest('hex'), row.id);
				rewritten++;
			}
		}
		db.exec('PRAGMA wal_checkpoint(TRUNCATE)');
		db.exec('VACUUM');
		db.exec('PRAGMA wal_checkpoint(TRUNCATE)');
	} finally {
		db.close();
	}
	for (const f of ['config.sqlite', 'config.sqlite-wal', 'config.sqlite-shm']) {
		let bytes;
		try {
			bytes = fs.readFileSync(path.join(home, f));
		} catch {
			continue;
		}
		for (const v of refs.keys())
			if (bytes.includes(Buffer.from(v, 'utf8')))
				throw new Error(`${f} still holds a key after the rewrite`);
	}
	return { changed, backups_rewritten: rewritten, backups_removed: removed };
}

async function main(argv) {
	const [cmd, home, modulePath, configJson = '{}', timeout = '30000', keysJson = '[]'] = argv;
	const keys = JSON.parse(keysJson);
	if (cmd === 'prepare')
		return prepare(home, modulePath, JSON.parse(configJson), keys);
	if (cmd === 'register')
		return register(home, modulePath, JSON.parse(configJson), Number(timeout), keys);
	if (cmd === 'status')
		return status(home, modulePath);
	if (cmd === 'migrate-plan')
		return migratePlan(home);
	if (cmd === 'migrate-apply')
		return migrateApply(home, modulePath, JSON.parse(configJson), JSON.parse(timeout));
	throw new Error('usage: router3.cjs prepare|register|status HOME [MODULE [CONFIG_JSON]]');
}

module.exports = { keyStrings, namesOf, isReference, registered, withEntry, backupHoldsKeys,
	readStore, providersOf, api, status, prepare, plan, place, rewriteBackup, keyName, envName,
	fillPools };

if (require.main === module) {
	main(process.argv.slice(2)).then((out) => {
		process.stdout.write(`${JSON.stringify(out)}\n`);
	}, (e) => {
		process.stderr.write(`router3: ${e.message}\n`);
		process.exit(1);
	});
}
