'use strict';
/*
 * The preload's work inside claude-code-router (loaded by preload.mjs): tell
 * whether this process is the router and which command it runs, and for
 * `start` — the server — ask ccr-keyd once for the names its config references
 * and hand it their values in-process (guard.cjs keeps them there), recording
 * which names it got in a 0600 file for `ccr-config check`. `code` gets only
 * the names its APIKEY references (ccr-config passes them), for the token the
 * router gives the agent; every other router command only passes the preload
 * on to the routers it starts. Any other Node program is left alone.
 */

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { pathToFileURL, fileURLToPath } = require('node:url');

const keyd = require('./index.cjs');
const guard = require('./guard.cjs');

const PACKAGE = '@musistudio/claude-code-router';
const RECORD = '.ccr-keyd-router.json';
const ENV_NAME = /^[A-Z_][A-Z0-9_]*$/;
const REF = /\$\{([^}]+)\}|\$([A-Z_][A-Z0-9_]*)/g;
const LITERAL = /"(?:[^"\\\n\r]|\\[\s\S])*"|'(?:[^'\\\n\r]|\\[\s\S])*'/g;

/* The router's home, as it computes it: os.homedir() + .claude-code-router. */
function routerHome() {
	return path.join(os.homedir(), '.claude-code-router');
}

/* Which router the script is: {cli, version, major}, or null when it is not the router. */
function identify(script) {
	let cli;
	let pkg;
	if (typeof script !== 'string' || script === '')
		return null;
	try {
		cli = fs.realpathSync(script);
		if (path.basename(cli) !== 'cli.js')
			return null;
		pkg = JSON.parse(fs.readFileSync(path.join(path.dirname(path.dirname(cli)),
			'package.json'), 'utf8'));
	} catch {
		return null;
	}
	if (pkg === null || typeof pkg !== 'object' || pkg.name !== PACKAGE ||
	    typeof pkg.version !== 'string')
		return null;
	return { cli, version: pkg.version, major: Number.parseInt(pkg.version, 10) };
}

/* Why a router version gets no keys, or null when it is supported (1.x and 2.x). */
function unsupported(version, major) {
	if (major >= 3)
		return `claude-code-router ${version} stores provider keys in config.sqlite in ` +
			'clear, so ccr-keyd hands no keys to 3.x or later (supported: 1.x and 2.x)';
	if (major === 1 || major === 2)
		return null;
	return `claude-code-router ${version} is not a version ccr-keyd supports ` +
		'(1.x and 2.x); it gets no keys from ccr-keyd';
}

/* Remove this preload's --import=file:… token (of path self) from NODE_OPTIONS in env. */
function stripSelf(env, self) {
	const have = env.NODE_OPTIONS;
	if (typeof have !== 'string' || have === '')
		return;
	const left = have.replace(/(^|\s)--import=(file:\S+)(?=\s|$)/g, (m, space, url) => {
		try {
			return path.resolve(fileURLToPath(url)) === self ? '' : m;
		} catch {
			return m;
		}
	}).trim();
	if (left === '')
		delete env.NODE_OPTIONS;
	else if (left !== have)
		env.NODE_OPTIONS = left;
}

/* text with JSON5 string escapes decoded, for finding names written as \u0024NAME. */
function decodeEscapes(text) {
	const simple = { b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v', 0: '\0' };
	return text.replace(/\\(?:u([0-9a-fA-F]{4})|x([0-9a-fA-F]{2})|(\r\n|[\s\S]))/g,
		(m, u, x, c) => {
			if (u !== undefined)
				return String.fromCharCode(parseInt(u, 16));
			if (x !== undefined)
				return String.fromCharCode(parseInt(x, 16));
			if (c === '\n' || c === '\r\n' || c === '\r' || c === '\u2028' || c === '\u2029')
				return '';
			return Object.prototype.hasOwnProperty.call(simple, c) ? simple[c] : c;
		});
}

/* Every name the config text may reference (over-including comments, as ccr-config exec does). */
function configNames(text) {
	const names = new Set(keyd.referencedNames(text));
	if (text.includes('\\')) {
		for (const n of keyd.referencedNames(decodeEscapes(text)))
			names.add(n);
	}
	return [...names];
}

/*
 * A map from each string the router will make of a string literal of the
 * config text that references a name (lookup gives what the router will
 * substitute, keystore or environment) to the literal as written, so that a
 * write of the config can put the reference back.
 */
function restoreMap(text, lookup) {
	const map = new Map();
	for (const m of text.matchAll(LITERAL)) {
		const written = decodeEscapes(m[0].slice(1, -1));
		const interpolated = written.replace(REF, (match, braced, bare) =>
			lookup(braced || bare) || match);
		if (interpolated !== written && !map.has(interpolated))
			map.set(interpolated, written);
	}
	return map;
}

/* A warning: one line on stderr, kept for the record. */
function warner(list) {
	return (message) => {
		list.push(message);
		process.stderr.write(`ccr-keyd: ${message}\n`);
	};
}

/* The exit code and message for a failure to ask ccr-keyd, as ccr-config exec reports it. */
function failure(err) {
	const code = err && err.code;
	if (code === 'locked')
		return { status: 4, message: 'the keystore is locked; run: ccr-config unlock' };
	if (code === 'denied')
		return { status: 4, message: err.message };
	if (code === 'unreachable' || code === 'timeout' || code === 'protocol' || code === 'busy')
		return { status: 3, message: err.message.replace(/^ccr-keyd: /, '') };
	return { status: 5, message: (err && err.message) || String(err) };
}

/* Write the record of what this router got, without values, as a 0600 file. */
function writeRecord(home, record) {
	const file = path.join(home, RECORD);
	const tmp = `${file}.${process.pid}.tmp`;
	try {
		fs.mkdirSync(home, { recursive: true, mode: 0o700 });
		fs.writeFileSync(tmp, JSON.stringify(record) + '\n', { mode: 0o600, flag: 'wx' });
		fs.renameSync(tmp, file);
	} catch (e) {
		try {
			fs.unlinkSync(tmp);
		} catch {
			/* nothing left behind */
		}
		process.stderr.write(`ccr-keyd: cannot write ${file}: ${e.code || e.message}\n`);
	}
}

/* Call fn with the port of the first TCP server this process listens on. */
function onFirstListen(fn) {
	const net = require('node:net');
	const listen = net.Server.prototype.listen;
	let done = false;
	net.Server.prototype.listen = function (...args) {
		this.once('listening', () => {
			const a = this.address();
			if (!done && a !== null && typeof a === 'object') {
				done = true;
				fn(a.port);
			}
		});
		return listen.apply(this, args);
	};
}

/* A test of whether a child is the router itself: `ccr …`, or node with this cli.js. */
function routerChild(cli) {
	return (file, args) => {
		const argv = Array.isArray(args) ? args : [];
		if (path.basename(file) === 'ccr' || path.basename(String(argv[0] || '')) === 'ccr')
			return true;
		for (const a of argv.slice(1, 3)) {
			if (typeof a !== 'string' || a === '')
				continue;
			try {
				if (fs.realpathSync(a) === cli)
					return true;
			} catch {
				/* not a file */
			}
		}
		return false;
	};
}

/*
 * Ask ccr-keyd for names; returns {name: value} for those it holds, or null
 * after reporting why when it could not answer. A failure ends the process
 * with exec's exit codes (3 unreachable, 4 locked or denied) unless fallback.
 */
async function ask(names, fallback, warn) {
	if (names.length === 0)
		return {};
	try {
		return await keyd.resolve(names);
	} catch (e) {
		const f = failure(e);
		if (!fallback) {
			process.stderr.write(`ccr-keyd: ${f.message}\n`);
			process.exit(f.status);
		}
		warn(`${f.message}; starting with the plain environment (--fallback-env)`);
		return null;
	}
}

/* The router's server: its config's names, keystore first, kept in this process. */
async function serve(router, token) {
	const home = routerHome();
	const configFile = path.join(home, 'config.json');
	const warnings = [];
	const warn = warner(warnings);
	let text = '';
	try {
		text = fs.readFileSync(configFile, 'utf8');
	} catch {
		/* the router writes a default config; it references nothing */
	}
	const names = configNames(text);
	const storable = names.filter((n) => n.length <= 137 && ENV_NAME.test(n));
	const fallback = process.env.CCR_KEYD_FALLBACK_ENV === '1';
	const stored = await ask(storable, fallback, warn);
	const hidden = new Map();
	const fromEnv = [];
	const missing = [];
	for (const n of storable) {
		const s = stored && typeof stored[n] === 'string' && stored[n] !== '' ? stored[n] : undefined;
		const e = process.env[n];
		if (s !== undefined) {
			if (typeof e === 'string' && e !== '' && e !== s)
				warn(`$${n} is set in the environment and in the keystore with different ` +
					"values; using the keystore's");
			hidden.set(n, s);
		} else if (typeof e === 'string' && e !== '') {
			fromEnv.push(n);
		} else if (stored !== null) {
			missing.push(n);
			warn(`$${n} is referenced in config.json but is neither in the keystore nor in ` +
				`the environment; store it with: ccr-config set NAME --env ${n}`);
		}
	}
	const fromKeystore = [...hidden.keys()];
	const secrets = [...hidden].map(([name, value]) => ({ name, value }));
	const lookup = (n) => (hidden.has(n) ? hidden.get(n) : process.env[n]);
	const scrub = guard.scrubber(secrets, restoreMap(text, lookup));
	guard.veilEnvironment(hidden, (v) => !scrub.empty && scrub.holds(v));
	guard.propagate(routerChild(router.cli), token);
	await guard.guardWrites(scrub, configFile);
	const started = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
	onFirstListen((port) => writeRecord(home, {
		pid: process.pid,
		router: router.version,
		started,
		port,
		keyd: stored === null ? 'fallback' : 'ok',
		keystore: fromKeystore,
		environment: fromEnv,
		missing,
		warnings,
	}));
}

/* `ccr code`: the names APIKEY references (from ccr-config), for the agent's token only. */
async function code(router, token, list) {
	const names = list.split(',').filter((n) => ENV_NAME.test(n));
	guard.propagate(routerChild(router.cli), token);
	if (names.length === 0)
		return;
	let stored = {};
	try {
		stored = await keyd.resolve(names);
	} catch (e) {
		process.stderr.write(`ccr-keyd: ${failure(e).message}; the agent's token to the ` +
			'router is APIKEY as written\n');
	}
	const hidden = new Map();
	for (const n of names) {
		if (typeof stored[n] === 'string' && stored[n] !== '')
			hidden.set(n, stored[n]);
	}
	guard.veilEnvironment(hidden, () => false);
}

/*
 * The preload itself: self is the URL of preload.mjs. Takes itself out of
 * NODE_OPTIONS at once, then acts by what this process is.
 */
async function preload(self) {
	const selfPath = path.resolve(fileURLToPath(self));
	const tokenNames = process.env.CCR_KEYD_TOKEN_NAMES;
	stripSelf(process.env, selfPath);
	delete process.env.CCR_KEYD_TOKEN_NAMES;
	if (!require('node:worker_threads').isMainThread)
		return;
	const router = identify(process.argv[1]);
	if (router === null)
		return;
	const command = process.argv[2];
	const why = unsupported(router.version, router.major);
	if (why !== null) {
		if (command === 'start')
			process.stderr.write(`ccr-keyd: ${why}\n`);
		return;
	}
	const token = `--import=${pathToFileURL(selfPath).href}`;
	if (command === 'start')
		await serve(router, token);
	else if (command === 'code')
		await code(router, token, tokenNames || '');
	else
		guard.propagate(routerChild(router.cli), token);
}

module.exports = {
	preload,
	identify,
	unsupported,
	stripSelf,
	configNames,
	decodeEscapes,
	restoreMap,
	routerHome,
	RECORD,
};
