#!/usr/bin/env node
'use strict';
/*
 * What ccr-config needs done to a claude-code-router 3.x home, run with the
 * router's own Node (3.x needs Node >= 22): ccr-config links libc only and
 * cannot read config.sqlite. Prints one JSON line on stdout; never a key.
 *
 *   node router3.cjs prepare HOME MODULE CONFIG_JSON
 *       Before the router starts: with no config.sqlite yet, put ccr-keyd's
 *       plugins[] entry (plugin3.cjs registration(MODULE, CONFIG_JSON)) into
 *       HOME/config.json, which 3.x's first start imports with the entry kept
 *       (a config.json holding only that entry when there is none); with one
 *       and no server running, into its app config row (then a checkpoint).
 *       {"store":"sqlite"|"json","registered":BOOL,"names":[…],"running":PID|0}:
 *       names are those the providers' keys reference, for ccr-config to take
 *       out of the environment of everything it starts; running, the server's
 *       pid when service.json names one alive.
 *   node router3.cjs register HOME MODULE CONFIG_JSON TIMEOUT_MS
 *       Once the router runs: the same entry through its management API
 *       (getConfig, then saveConfig when it differs, which restarts its
 *       gateway), waiting up to TIMEOUT_MS for the API.
 *       {"registered":true,"changed":BOOL}
 *   node router3.cjs status HOME MODULE
 *       For `ccr-config check`: {"store":…, "registered":BOOL, "module":PATH|null,
 *       "plain":[{"provider","field"}…] (provider keys that are not references),
 *       "names":[…], "backups":N (legacy_storage_backups rows holding a key in clear)}
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

function prepare(home, modulePath, pluginConfig) {
	const want = plugin3.registration(modulePath, pluginConfig);
	const pid = running(home);
	if (fs.existsSync(path.join(home, 'config.sqlite'))) {
		/* Stopped: the entry goes into the store, for the server's first gateway to have it.
		 * Running: ccr-config registers it through the API. */
		const { db, config } = readStore(home, pid !== 0);
		let ok = registered(config, want);
		try {
			if (!ok && pid === 0) {
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
	if (!registered(config, want)) {
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

async function register(home, modulePath, pluginConfig, timeoutMs) {
	const want = plugin3.registration(modulePath, pluginConfig);
	const end = Date.now() + timeoutMs;
	let last = null;
	for (;;) {
		try {
			const call = api(home);
			const config = await call('getConfig', []);
			if (registered(config, want))
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
	return {
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

async function main(argv) {
	const [cmd, home, modulePath, configJson = '{}', timeout = '30000'] = argv;
	if (cmd === 'prepare')
		return prepare(home, modulePath, JSON.parse(configJson));
	if (cmd === 'register')
		return register(home, modulePath, JSON.parse(configJson), Number(timeout));
	if (cmd === 'status')
		return status(home, modulePath);
	throw new Error('usage: router3.cjs prepare|register|status HOME [MODULE [CONFIG_JSON]]');
}

module.exports = { keyStrings, namesOf, isReference, registered, withEntry, backupHoldsKeys,
	readStore, providersOf, api, status };

if (require.main === module) {
	main(process.argv.slice(2)).then((out) => {
		process.stdout.write(`${JSON.stringify(out)}\n`);
	}, (e) => {
		process.stderr.write(`router3: ${e.message}\n`);
		process.exit(1);
	});
}
