'use strict';
/*
 * The preload's work inside claude-code-router (loaded by preload.cjs): tell
 * whether this process is the router and which command it runs. For `start`
 * — the server — the keys its providers reference become tokens that join each
 * upstream request as it leaves (inject.cjs); the few other names its config
 * references (APIKEY) are asked for once and kept in-process (guard.cjs); a
 * 0600 record of what it got goes to a file for `ccr-config check`. The
 * commands that start the agent (`code`, and whatever ccr-config runs as one)
 * get only the values of the names APIKEY references, which ccr-config passes
 * on a pipe, for the token the router gives the agent, and keep the settings
 * file router 2.x writes for the agent private (settings.cjs); every other
 * router command only passes the preload on to the routers it starts. Any
 * other Node program is left alone. Every Node entry point this replaces is a
 * row of one table (patches.cjs), checked against this Node before any is
 * installed: a Node whose internals differ gets a router that does not start.
 */

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { fileURLToPath } = require('node:url');

const keyd = require('./index.cjs');
const guard = require('./guard.cjs');
const settings = require('./settings.cjs');
const inject = require('./inject.cjs');
const patches = require('./patches.cjs');

const { REF_SOURCE } = keyd;
const PACKAGE = '@musistudio/claude-code-router';
const RECORD = '.ccr-keyd-router.json';
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

/* The NODE_OPTIONS option that loads the preload at path: --require=PATH, quoted when needed. */
function requireOption(file) {
	if (/^[^\s"'\\]+$/.test(file))
		return `--require=${file}`;
	return `--require="${file.replace(/[\\"]/g, (c) => '\\' + c)}"`;
}

/* Remove this preload's --require option (for path self) from NODE_OPTIONS in env. */
function stripSelf(env, self) {
	const have = env.NODE_OPTIONS;
	if (typeof have !== 'string' || have === '')
		return;
	const left = have.replace(/(^|\s)(?:--require=|-r |--require )("(?:[^"\\]|\\.)*"|[^\s"]+)(?=\s|$)/g,
		(m, space, arg) => {
			const file = arg.startsWith('"') ? arg.slice(1, -1).replace(/\\(.)/g, '$1') : arg;
			return path.resolve(file) === self ? space : m;
		}).replace(/\s+/g, ' ').trim();
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
		const interpolated = written.replace(new RegExp(REF_SOURCE, 'g'), (match, braced, bare) =>
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

/* net.Server#listen: ctx.onPort gets the port of the first TCP server this process listens on. */
function listenOnce(listen, ctx) {
	let done = false;
	return function (...args) {
		this.once('listening', () => {
			const a = this.address();
			if (!done && a !== null && typeof a === 'object') {
				done = true;
				ctx.onPort(a.port);
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
 * Ask ccr-keyd once for names, without blocking: the request goes out when
 * the event loop first runs, and done(stored, error) gets the answer. Code
 * that needs the answer before that (a synchronous read of the config, a
 * lookup of a watched name) calls settleSync(), which asks on a worker thread
 * instead; the slower path, taken only by a router that reads its config in
 * some other way than 1.x and 2.x do.
 */
function fetcher(names, done) {
	let settled = false;
	let asking = false;
	const finish = (stored, err) => {
		if (settled)
			return;
		settled = true;
		done(stored, err);
	};
	const promise = names.length === 0 ? Promise.resolve().then(() => finish({}, null)) :
		keyd.resolve(names).then((v) => finish(v, null), (e) => finish(null, e));
	return {
		promise,
		get settled() {
			return settled;
		},
		settleSync() {
			if (settled || asking)
				return;
			asking = true; /* resolveSync reads process.env: no second request from there */
			let v = null;
			let err = null;
			try {
				v = names.length === 0 ? {} : keyd.resolveSync(names);
			} catch (e) {
				err = e;
			}
			finish(v, err);
		},
	};
}

/*
 * The wrappers that hold back the router's reads of ctx.configFile until
 * ctx.f (a fetcher) has settled: the promise and callback reads wait for it,
 * a synchronous read settles it synchronously. The router interpolates its
 * config right after reading it.
 */

/* True when file names ctx.configFile. */
function isConfig(ctx, file) {
	try {
		return typeof file === 'string' || Buffer.isBuffer(file) || file instanceof URL ?
			path.resolve(file instanceof URL ? fileURLToPath(file) : String(file)) === ctx.configFile :
			false;
	} catch {
		return false;
	}
}

/* fs.promises.readFile: a read of the config waits for the keys. */
function heldReadPromise(readP, ctx) {
	return function (file, ...rest) {
		if (ctx.f.settled || !isConfig(ctx, file))
			return readP.call(this, file, ...rest);
		return ctx.f.promise.then(() => readP.call(this, file, ...rest));
	};
}

/* fs.readFile: likewise. */
function heldReadCallback(readCb, ctx) {
	return function (file, ...rest) {
		if (ctx.f.settled || !isConfig(ctx, file))
			return readCb.call(this, file, ...rest);
		ctx.f.promise.then(() => readCb.call(this, file, ...rest));
		return undefined;
	};
}

/* fs.readFileSync: a read of the config asks for the keys at once. */
function settledReadSync(readS, ctx) {
	return function (file, ...rest) {
		if (!ctx.f.settled && isConfig(ctx, file))
			ctx.f.settleSync();
		return readS.call(this, file, ...rest);
	};
}

/*
 * Serve the names in hidden to the router's process.env lookups but never
 * list them (guard.cjs envView; isSecret, watched, beforeRead as there).
 * hide(name, value) adds one and takes it out of the real environment.
 */
function veil(hidden, isSecret, watched, beforeRead) {
	const real = process.env;
	patches.install('env', { hidden, isSecret, watched, beforeRead });
	return {
		hide(name, value) {
			hidden.set(name, value);
			delete real[name];
		},
	};
}

/*
 * End the process (exit 5) when this Node is not one the preload knows:
 * message, from patches.cjs, names the Node and the entry point; outcome
 * says what becomes of the router.
 */
function refuseNode(message, outcome = 'does not start') {
	process.stderr.write(`ccr-keyd: ${message}; the router ${outcome}. Run claude-code-router ` +
		'with Node 20 or 22, the versions ccr-keyd is tested with, or update ccr-keyd\n');
	process.exit(5);
}

/*
 * What to do when ccr-keyd could not answer: end the process with exec's exit
 * codes (3 unreachable, 4 locked or denied), or with fallback warn and go on
 * with the plain environment.
 */
function unanswered(err, fallback, warn) {
	const f = failure(err);
	if (!fallback) {
		process.stderr.write(`ccr-keyd: ${f.message}\n`);
		process.exit(f.status);
	}
	warn(`${f.message}; starting with the plain environment (--fallback-env)`);
}

/*
 * The config's text as JSON: as is, or with JSON5's comments, trailing commas,
 * single-quoted strings and bare keys rewritten. null when it is neither.
 */
function parseConfig(text) {
	try {
		return JSON.parse(text);
	} catch {
		/* JSON5, below */
	}
	let out = '';
	for (let i = 0; i < text.length;) {
		const c = text[i];
		if (c === '"' || c === "'") {
			let j = i + 1;
			let s = '';
			for (; j < text.length && text[j] !== c; j++) {
				if (text[j] === '\\') {
					s += text[j] + text[j + 1];
					j++;
				} else {
					s += text[j] === '"' ? '\\"' : text[j];
				}
			}
			out += `"${c === "'" ? s.replace(/\\'/g, "'") : s}"`;
			i = j + 1;
		} else if (text.startsWith('//', i)) {
			i = text.indexOf('\n', i) === -1 ? text.length : text.indexOf('\n', i);
		} else if (text.startsWith('/*', i)) {
			i = text.indexOf('*/', i) === -1 ? text.length : text.indexOf('*/', i) + 2;
		} else if (/[A-Za-z_$]/.test(c) && /[{,]\s*$/.test(out)) {
			const m = /^[A-Za-z_$][\w$]*/.exec(text.slice(i));
			out += JSON.stringify(m[0]);
			i += m[0].length;
		} else {
			out += c;
			i++;
		}
	}
	try {
		return JSON.parse(out.replace(/,(\s*[\]}])/g, '$1'));
	} catch {
		return null;
	}
}

/*
 * The names the providers' api_key strings reference, each with the origins
 * of the providers that use it (their api_base_url, references in it taken
 * from env): a Map of name to Set of origins.
 */
function providerKeys(doc, env) {
	const keys = new Map();
	const list = doc && typeof doc === 'object' ? doc.Providers || doc.providers : null;
	if (!Array.isArray(list))
		return keys;
	for (const p of list) {
		if (p === null || typeof p !== 'object' || typeof p.api_key !== 'string')
			continue;
		const url = typeof p.api_base_url === 'string' ?
			p.api_base_url.replace(new RegExp(REF_SOURCE, 'g'), (m, braced, bare) =>
				Reflect.get(env, braced || bare) || m) : '';
		const origin = inject.originOf(url);
		for (const n of keyd.referencedNames(p.api_key).filter(keyd.storable)) {
			if (!keys.has(n))
				keys.set(n, new Set());
			if (origin !== null)
				keys.get(n).add(origin);
		}
	}
	return keys;
}

/*
 * The environment's values of names, for a key the keystore lacks: those
 * ccr-config passed on the pipe fd (CCR_KEYD_FALLBACK_FD), then those still in
 * this process's environment, which are taken out of it.
 */
function takeFallback(names, fd) {
	const values = new Map();
	const passed = fd === null ? {} : readFd(fd, 'the environment\'s values of the keys');
	for (const n of names) {
		const v = typeof passed[n] === 'string' && passed[n] !== '' ? passed[n] :
			Reflect.get(process.env, n);
		if (typeof v === 'string' && v !== '')
			values.set(n, v);
		delete process.env[n];
	}
	return values;
}

/*
 * The router's server. The keys its providers' api_key strings reference
 * reach it as tokens (inject.cjs) and join each upstream request as it
 * leaves; the other names its config references (APIKEY, the router's own
 * token for its clients) are asked for once, keystore first, and kept in this
 * process. Every token and value is written back as its reference.
 */
function serve(router, token, fallbackFd) {
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
	const providers = providerKeys(parseConfig(text), process.env);
	const storable = configNames(text).filter(keyd.storable);
	const perRequest = storable.filter((n) => providers.has(n));
	const atStart = storable.filter((n) => !providers.has(n));
	const fallbackAlways = process.env.CCR_KEYD_FALLBACK_ENV === '1';
	const table = inject.tokenTable(perRequest);
	const hidden = new Map();
	const scrub = guard.scrubber(); /* tokens and values: written back as references */
	const secret = guard.scrubber(); /* the same: a value set into process.env joins hidden */
	const state = { keyd: 'ok', keystore: [], environment: [], missing: [] };
	const realEnv = process.env;
	const fromEnv = takeFallback(perRequest, fallbackFd);
	if (fallbackAlways)
		state.keyd = 'fallback'; /* ccr-config found the daemon unreachable or locked */
	const session = keyd.session();
	let veiled = null;

	/* The names asked for at start arrived (or not): hand them over and arm the guards. */
	const arrive = (stored, err) => {
		const envAtStart = [];
		if (err !== null) {
			unanswered(err, fallbackAlways || atStart.length === 0, warn);
			state.keyd = 'fallback';
		}
		for (const n of atStart) {
			const s = stored && typeof stored[n] === 'string' && stored[n] !== '' ? stored[n] : undefined;
			const e = Reflect.get(realEnv, n);
			if (s !== undefined) {
				if (typeof e === 'string' && e !== '' && e !== s)
					warn(`$${n} is set in the environment and in the keystore with different ` +
						"values; using the keystore's");
				veiled.hide(n, s);
				state.keystore.push(n);
			} else if (typeof e === 'string' && e !== '') {
				state.environment.push(n);
				envAtStart.push(n);
			} else if (stored !== null) {
				state.missing.push(n);
				warn(`$${n} is referenced in config.json but is neither in the keystore nor in ` +
					`the environment; store it with: ccr-config set NAME --env ${n}`);
			}
		}
		const lookup = (n) => (hidden.has(n) ? hidden.get(n) : Reflect.get(realEnv, n));
		const keys = [...hidden].map(([name, value]) => ({ name, value }));
		secret.load(keys, new Map());
		/*
		 * From the environment, only what looks like a key: a config may also
		 * reference $LOG_LEVEL or a $PROJECT_DIR, and writing "debug" or a path
		 * back as its reference would change what the router says.
		 */
		const env = envAtStart.map((name) => ({ name, value: Reflect.get(realEnv, name) }))
			.filter((k) => k.value.length >= guard.SCRUB_MIN);
		scrub.load(keys.concat(env), restoreMap(text, lookup));
	};
	const f = fetcher(atStart, arrive);
	veiled = veil(hidden, (v) => !secret.empty && secret.holds(v),
		new Set(atStart), () => f.settleSync());
	for (const [n, t] of table.byName)
		veiled.hide(n, t);
	if (!inject.installFetch(table, { session, origins: providers, fallback: fromEnv,
		fallbackAlways, warn }))
		warn('this Node has no global fetch, so no key reaches the providers; use Node 20 or later');
	patches.install('config-reads', { configFile, f });
	patches.install('children', { isRouter: routerChild(router.cli), token });
	/* FileHandle's writes are reached at the first handle: one that differs ends the process. */
	const writes = { scrub, configFile };
	writes.onFirstHandle = (proto) => {
		try {
			patches.install('file-handle', writes, proto);
		} catch (e) {
			refuseNode(e.message, 'stops before it writes through a file handle');
		}
	};
	patches.install('writes', writes);
	patches.install('replies', { scrub });
	const started = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
	/* Which of the per-request names the keystore holds now: for warnings and the record. */
	const listed = (perRequest.length === 0 ? Promise.resolve(null) :
		session.ask({ op: 'list' }).catch(() => null)).then((list) => {
		const have = new Set(list && list.ok && Array.isArray(list.keys) ?
			list.keys.map((k) => k.env) : []);
		for (const n of perRequest) {
			if (have.has(n)) {
				state.keystore.push(n);
				if (fromEnv.has(n))
					warn(`$${n} is set in the environment and in the keystore; using the ` +
						"keystore's (the environment's is only a fallback)");
			} else if (fromEnv.has(n)) {
				state.environment.push(n);
			} else if (list && list.ok) {
				state.missing.push(n);
				warn(`$${n} is referenced in config.json but is neither in the keystore nor ` +
					`in the environment; store it with: ccr-config set NAME --env ${n}`);
			}
		}
		return list;
	});
	patches.install('listen', { onPort: (port) => listed.then((list) => {
		writeRecord(home, {
			pid: process.pid,
			router: router.version,
			started,
			port,
			mode: 'per-request',
			per_request: perRequest,
			keyd: list && !list.ok && list.error === 'locked' ? 'locked' : state.keyd,
			keystore: state.keystore,
			environment: state.environment,
			missing: state.missing,
			warnings,
		});
	}) });
}

/* The JSON object on the pipe fd that ccr-config passed (what names it); {} when unreadable. */
function readFd(fd, what) {
	let values = {};
	try {
		const parsed = JSON.parse(fs.readFileSync(fd, 'utf8'));
		if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed))
			values = parsed;
	} catch {
		process.stderr.write(`ccr-keyd: cannot read ${what} from ccr-config\n`);
	}
	try {
		fs.closeSync(fd);
	} catch {
		/* already closed */
	}
	return values;
}

/*
 * A command that starts the agent (`ccr code`; a preset with 2.x) or prints
 * its token (`ccr activate`): the values of the names APIKEY references, which
 * ccr-config resolved and put on the pipe tokenFd (CCR_KEYD_TOKEN_FD), served
 * to the router's lookups for the agent's token only; the settings file 2.x
 * writes for the agent kept private; and, when ccr-config names itself in
 * CCR_KEYD_CONFINE, the agent started confined (`ccr-config confine`).
 */
function agent(router, token, tokenFd) {
	const hidden = new Map();
	const values = tokenFd === null ? {} : readFd(tokenFd, "the router's token (the agent's " +
		'token to the router is APIKEY as written)');
	const passed = Object.keys(values).filter((n) => keyd.storable(n) &&
		typeof values[n] === 'string' && values[n] !== '');
	const veiled = veil(hidden, () => false, new Set(passed));
	for (const n of passed)
		veiled.hide(n, values[n]);
	patches.install('settings', settings.privateSettings());
	patches.install('children', { isRouter: routerChild(router.cli), token });
	const confine = process.env.CCR_KEYD_CONFINE;
	delete process.env.CCR_KEYD_CONFINE;
	if (typeof confine === 'string' && path.isAbsolute(confine))
		patches.install('confine', { isRouter: routerChild(router.cli), prog: confine });
}

/*
 * The preload itself, loaded with --require from self (its path). Takes itself
 * out of NODE_OPTIONS at once, then acts by what this process is.
 */
function preload(self) {
	const selfPath = path.resolve(self);
	const fdOf = (name) => (/^[0-9]+$/.test(process.env[name] || '') ? Number(process.env[name]) :
		null);
	const tokenFd = fdOf('CCR_KEYD_TOKEN_FD');
	const fallbackFd = fdOf('CCR_KEYD_FALLBACK_FD');
	stripSelf(process.env, selfPath);
	delete process.env.CCR_KEYD_TOKEN_FD;
	delete process.env.CCR_KEYD_FALLBACK_FD;
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
	const differs = patches.verify();
	if (differs !== null)
		refuseNode(differs);
	const token = requireOption(selfPath);
	if (command === 'start')
		serve(router, token, fallbackFd);
	else if (command === 'code' || tokenFd !== null)
		agent(router, token, tokenFd);
	else
		patches.install('children', { isRouter: routerChild(router.cli), token });
}

module.exports = {
	preload,
	parseConfig,
	providerKeys,
	identify,
	unsupported,
	stripSelf,
	requireOption,
	configNames,
	decodeEscapes,
	restoreMap,
	routerHome,
	heldReadPromise,
	heldReadCallback,
	settledReadSync,
	listenOnce,
	RECORD,
};
