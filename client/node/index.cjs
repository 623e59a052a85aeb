'use strict';
/*
 * @ccr-keyd/client — the Node side of ccr-keyd, for claude-code-router's own code.
 *
 * One implementation, CommonJS; index.mjs re-exports it for ES modules.
 * Zero dependencies: node:crypto, node:fs, node:net, node:os, node:path and
 * node:worker_threads only.
 *
 * Protocol (docs/DESIGN.md, "Protocol"): newline-delimited JSON over a Unix stream
 * socket, one request line, one reply line, "id" echoed. Before the first
 * request the daemon proves that it runs as our user (README.md, "Whom it
 * talks to"); names that change how programs load are never asked for or
 * returned (REFUSED_ENV).
 */

const crypto = require('node:crypto');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');

const DEFAULT_TIMEOUT_MS = 2000;
const REPLY_MAX = 1024 * 1024; /* a reply line over 1 MiB is an error */
const LINE_MAX = 64 * 1024; /* the daemon's request line limit */
const RESOLVE_MAX = 4096; /* the daemon's limit of names per resolve */
const ENV_MAX_LEN = 137; /* common/names.h */
const ENV_NAME = /^[A-Z_][A-Z0-9_]*$/;
/*
 * Environment names that change how a program loads or where it looks: never
 * asked for, returned or substituted from the keystore. A copy of
 * env_refused_list in common/names.c, entry for entry ('LD_*' is a prefix);
 * tests/integration/trust.bats proves the two equal.
 */
const REFUSED_ENV = Object.freeze([
	'LD_*', 'DYLD_*', 'GCONV_PATH', 'GETCONF_DIR', 'GLIBC_TUNABLES', 'HOSTALIASES',
	'LOCALDOMAIN', 'LOCPATH', 'MALLOC_*', 'NIS_PATH', 'NLSPATH', 'RESOLV_HOST_CONF',
	'RES_OPTIONS', 'TZDIR', 'PATH', 'HOME', 'SHELL', 'TMPDIR', 'TMP', 'TEMP', 'XDG_*',
	'BASH_*', 'BASHOPTS', 'CDPATH', 'ENV', 'FPATH', 'GLOBIGNORE', 'IFS', 'INPUTRC',
	'PROMPT_COMMAND', 'PS0', 'PS1', 'PS2', 'PS3', 'PS4', 'SHELLOPTS', 'ZDOTDIR', 'NODE_*',
	'NPM_CONFIG_*', 'ELECTRON_RUN_AS_NODE', 'PYTHON*', 'PERL*', 'RUBY*', 'GEM_HOME',
	'GEM_PATH', 'BUNDLE_GEMFILE', 'JAVA_TOOL_OPTIONS', '_JAVA_OPTIONS', 'JDK_JAVA_OPTIONS',
	'JAVA_HOME', 'CLASSPATH', 'LUA_*', 'PHPRC', 'PHP_INI_SCAN_DIR', 'GOENV', 'GOFLAGS',
	'GOPATH', 'GOPROXY', 'GOROOT', 'GOTOOLCHAIN', 'SSL_CERT_FILE', 'SSL_CERT_DIR',
	'OPENSSL_CONF', 'OPENSSL_ENGINES', 'OPENSSL_MODULES', 'CURL_CA_BUNDLE',
	'REQUESTS_CA_BUNDLE', 'GIT_*', 'SSH_*', 'GNUPGHOME', 'GPG_AGENT_INFO', 'EDITOR',
	'VISUAL', 'PAGER', 'MANPAGER', 'LESSOPEN', 'LESSCLOSE', 'BROWSER', 'TERMINFO',
	'TERMINFO_DIRS', 'GTK_MODULES', 'GTK_PATH', 'GIO_MODULE_DIR', 'QT_PLUGIN_PATH',
	'DBUS_SESSION_BUS_ADDRESS', 'CCR_HOME', 'CCR_KEYS', 'CCR_KEYD_*',
]);

/* The router's own pattern (src/utils/index.ts, interpolateEnvVars). */
const REF_SOURCE = '\\$\\{([^}]+)\\}|\\$([A-Z_][A-Z0-9_]*)';

/* An error from ccr-keyd or from talking to it. Never carries a secret. */
class KeydError extends Error {
	constructor(code, message, extra) {
		super(message);
		this.name = 'KeydError';
		this.code = code;
		if (extra) {
			for (const k of Object.keys(extra)) {
				if (extra[k] !== undefined)
					this[k] = extra[k];
			}
		}
	}
}

/* An environment value, or undefined when unset or empty (empty counts as unset). */
function nonEmpty(env, name) {
	if (env == null || !Object.prototype.hasOwnProperty.call(env, name))
		return undefined;
	const v = env[name];
	return typeof v === 'string' && v !== '' ? v : undefined;
}

/*
 * The router's home: $CCR_HOME, else $HOME/.claude-code-router, else the
 * password database's home. Plain concatenation, like common/paths.c.
 */
function homeDir(env = process.env) {
	const home = nonEmpty(env, 'CCR_HOME');
	if (home !== undefined)
		return home;
	let h = nonEmpty(env, 'HOME');
	if (h === undefined)
		h = os.userInfo().homedir;
	return h + '/.claude-code-router';
}

/*
 * The daemon's socket, by the C client's rules (common/paths.c): CCR_KEYD_SOCKET,
 * else $XDG_RUNTIME_DIR/ccr-keyd/sock, else $home/keyd.sock.
 */
function socketPath(env = process.env) {
	const sock = nonEmpty(env, 'CCR_KEYD_SOCKET');
	if (sock !== undefined)
		return sock;
	const run = nonEmpty(env, 'XDG_RUNTIME_DIR');
	if (run !== undefined)
		return run + '/ccr-keyd/sock';
	return homeDir(env) + '/keyd.sock';
}

function optSocket(opts) {
	if (opts && typeof opts.socket === 'string' && opts.socket !== '')
		return opts.socket;
	return socketPath(opts && opts.env ? opts.env : process.env);
}

function optTimeout(opts) {
	const t = opts && opts.timeoutMs;
	if (t === undefined || t === null)
		return DEFAULT_TIMEOUT_MS;
	if (typeof t !== 'number' || Number.isNaN(t) || t < 0)
		throw new TypeError('timeoutMs must be a non-negative number (0 for no timeout)');
	return t;
}

let nextId = 1;

function connectError(err, sock) {
	const errno = err && err.code;
	if (errno === 'ENOENT' || errno === 'ECONNREFUSED' || errno === 'ENOTDIR' ||
	    errno === 'ENOTSOCK') {
		const why = errno === 'ECONNREFUSED' ? 'nobody is listening on' : 'there is no socket at';
		return new KeydError('unreachable',
			`ccr-keyd is not running (${why} ${sock}); start it with: ccr-keyd --daemon`,
			{ socket: sock, errno });
	}
	if (errno === 'EACCES' || errno === 'EPERM')
		return new KeydError('denied',
			`cannot connect to ccr-keyd at ${sock}: permission denied; ` +
			'the socket belongs to another user or its directory is not yours',
			{ socket: sock, errno });
	return new KeydError('io_error',
		`cannot talk to ccr-keyd at ${sock}: ${errno || (err && err.message) || 'connection failed'}`,
		{ socket: sock, errno });
}

function replyError(reply, sock) {
	const code = typeof reply.error === 'string' && reply.error !== '' ? reply.error : 'io_error';
	const msg = typeof reply.message === 'string' ? reply.message : '';
	let hint = '';
	if (code === 'locked')
		hint = '; unlock the keystore first';
	else if (code === 'busy')
		hint = '; try again shortly';
	return new KeydError(code, `ccr-keyd: ${code}${msg ? ': ' + msg : ''}${hint}`,
		{ socket: sock });
}

/* True when name is on REFUSED_ENV: never taken from the keystore. */
function isRefusedEnv(name) {
	for (const r of REFUSED_ENV) {
		if (r.endsWith('*') ? name.startsWith(r.slice(0, -1)) : name === r)
			return true;
	}
	return false;
}

/* Refusing a daemon that is not our own user's. */
function untrusted(sock, why, sent = 'nothing was sent') {
	return new KeydError('untrusted', `refusing to talk to ccr-keyd at ${sock}: ${why}; ${sent}`,
		{ socket: sock });
}

/*
 * The checks before (and again after) the connect: the socket's directory is
 * ours, not a symlink, not writable by group or others; the socket, when there
 * is one, is ours (or root's: launchd). Returns the lstat of both (sock: null
 * when there is no socket, and connect will say so). Throws a KeydError.
 */
function trustPath(sock) {
	const dir = path.dirname(sock);
	const me = process.geteuid();
	let d, s = null;
	try {
		d = fs.lstatSync(dir);
	} catch (e) {
		throw connectError(e, sock);
	}
	let why = null;
	if (d.isSymbolicLink())
		why = 'is a symlink';
	else if (!d.isDirectory())
		why = 'is not a directory';
	else if (d.uid !== me)
		why = 'is not yours';
	else if (d.mode & 0o022)
		why = 'is writable by others';
	if (why)
		throw untrusted(sock, `its directory ${dir} ${why} (owner uid ${d.uid}, mode ` +
			`${(d.mode & 0o7777).toString(8).padStart(4, '0')}; you are uid ${me})`);
	try {
		s = fs.lstatSync(sock);
	} catch {
		s = null;
	}
	if (s && s.isSocket() && s.uid !== me && s.uid !== 0)
		throw untrusted(sock, `the socket is owned by uid ${s.uid}, not by you (uid ${me})`);
	return { d, s: s && s.isSocket() ? s : null };
}

/* True when two trustPath results name the same directory and socket. */
function samePath(a, b) {
	return a.d.dev === b.d.dev && a.d.ino === b.d.ino && a.s !== null && b.s !== null &&
		a.s.dev === b.s.dev && a.s.ino === b.s.ino;
}

/*
 * The proof (README.md, "Whom it talks to"): a random token in a new file of
 * ours, mode 0600, in the socket's verified directory. Only our uid (or root)
 * can read it back. Returns {file, token}; throws a KeydError.
 */
function writeProof(sock) {
	const token = crypto.randomBytes(32).toString('hex');
	const file = path.join(path.resolve(path.dirname(sock)),
		`.ccr-proof-${process.pid}-${crypto.randomBytes(8).toString('hex')}`);
	const c = fs.constants;
	let fd;
	try {
		fd = fs.openSync(file, c.O_WRONLY | c.O_CREAT | c.O_EXCL | (c.O_NOFOLLOW || 0), 0o600);
	} catch (e) {
		throw untrusted(sock, `cannot write a proof file in ${path.dirname(file)} (${e.code || e.message})`);
	}
	try {
		fs.fchmodSync(fd, 0o600);
		fs.writeSync(fd, token);
	} catch (e) {
		fs.closeSync(fd);
		removeProof(file);
		throw untrusted(sock, `cannot write the proof file ${file} (${e.code || e.message})`);
	}
	fs.closeSync(fd);
	return { file, token };
}

/* Remove a proof file; gone already is fine. (unlinkSync: rmSync costs 3 times as much.) */
function removeProof(file) {
	try {
		fs.unlinkSync(file);
	} catch {
		/* removed by someone else: nothing to do */
	}
}

/* True when the hello reply echoes the token, compared in constant time. */
function proven(reply, token) {
	if (typeof reply.proof !== 'string' || reply.proof.length !== token.length)
		return false;
	return crypto.timingSafeEqual(Buffer.from(reply.proof), Buffer.from(token));
}

/*
 * Send requests (pipelined, on one connection) and resolve with their replies in
 * order, once the daemon has proved that it runs as us: a hello with a proof
 * goes first, and nothing else is written until its answer checks out. Rejects
 * with a KeydError on the first failure reply, on an untrusted daemon, on a bad
 * or oversized reply, on a connection error and on timeout.
 */
function call(requests, opts) {
	const sock = optSocket(opts);
	let timeoutMs, before;
	try {
		timeoutMs = optTimeout(opts);
		before = trustPath(sock);
	} catch (e) {
		return Promise.reject(e);
	}
	const takeId = () => {
		const id = nextId++;
		if (nextId > Number.MAX_SAFE_INTEGER)
			nextId = 1;
		return id;
	};
	const helloId = takeId();
	const ids = [];
	const lines = requests.map((r) => {
		const id = takeId();
		ids.push(id);
		return JSON.stringify(Object.assign({}, r, { id })) + '\n';
	});

	return new Promise((resolve, reject) => {
		const replies = [];
		let chunks = [];
		let pending = 0; /* bytes of the current, unfinished reply line */
		let settled = false;
		let timer = null;
		let proof = null; /* {file, token} while the hello is out */
		let trusted = false;
		const conn = net.createConnection({ path: sock });

		function wipe() {
			for (const c of chunks)
				c.fill(0);
			chunks = [];
			pending = 0;
		}
		function dropProof() {
			if (proof)
				removeProof(proof.file);
			proof = null;
		}
		function finish(err, value) {
			if (settled)
				return;
			settled = true;
			if (timer)
				clearTimeout(timer);
			wipe();
			dropProof();
			conn.removeAllListeners('data');
			conn.on('error', () => {});
			conn.destroy();
			if (err)
				reject(err);
			else
				resolve(value);
		}
		function protocol(what) {
			return new KeydError('protocol', `ccr-keyd at ${sock} ${what}`, { socket: sock });
		}
		/* The first reply: the hello that must carry our token. */
		function onHello(reply) {
			/* busy / denied on accept come before any request was read: no id */
			if (reply.ok === false && (reply.id === undefined || reply.id === helloId))
				return finish(replyError(reply, sock));
			if (reply.ok !== true || reply.id !== helloId || !proven(reply, proof.token))
				return finish(untrusted(sock, 'the process listening there did not prove that ' +
					`it runs as you (uid ${process.geteuid()}): it could not read back a ` +
					'file only you can read', 'nothing but a hello was sent'));
			trusted = true;
			dropProof();
			conn.write(lines.join(''));
		}
		function onLine(buf) {
			let reply;
			try {
				reply = JSON.parse(buf.toString('utf8'));
			} catch {
				reply = undefined;
			}
			buf.fill(0);
			if (reply === null || typeof reply !== 'object' || Array.isArray(reply) ||
			    typeof reply.ok !== 'boolean')
				return finish(protocol('sent a reply that is not a JSON object with "ok"'));
			if (!trusted)
				return onHello(reply);
			const want = ids[replies.length];
			if (reply.ok === false) {
				if (reply.id !== undefined && reply.id !== want)
					return finish(protocol(`answered id ${JSON.stringify(reply.id)}, expected ${want}`));
				return finish(replyError(reply, sock));
			}
			if (reply.id !== want)
				return finish(protocol(`answered id ${JSON.stringify(reply.id)}, expected ${want}`));
			replies.push(reply);
			if (replies.length === ids.length)
				finish(null, replies);
		}

		if (timeoutMs > 0 && Number.isFinite(timeoutMs)) {
			timer = setTimeout(() => {
				finish(new KeydError('timeout',
					`ccr-keyd did not answer within ${timeoutMs} ms (socket ${sock}); ` +
					'check it with: ccr-config status', { socket: sock }));
			}, timeoutMs);
		}
		let connected = false;
		conn.on('error', (err) => finish(!connected ? connectError(err, sock) :
			new KeydError('protocol', `connection to ccr-keyd at ${sock} failed: ${err.code || err.message}`,
				{ socket: sock, errno: err.code })));
		conn.on('connect', () => {
			connected = true;
			try {
				if (!samePath(before, trustPath(sock)))
					throw untrusted(sock, 'the socket or its directory was replaced while connecting');
				proof = writeProof(sock);
			} catch (e) {
				return finish(e);
			}
			conn.write(JSON.stringify({ op: 'hello', proof: proof.file, id: helloId }) + '\n');
		});
		conn.on('data', (data) => {
			let start = 0;
			for (;;) {
				const nl = data.indexOf(0x0a, start);
				if (nl === -1)
					break;
				const part = data.subarray(start, nl);
				if (pending + part.length > REPLY_MAX) {
					data.fill(0);
					return finish(protocol('sent a reply over 1 MiB'));
				}
				chunks.push(part);
				const line = Buffer.concat(chunks);
				wipe();
				onLine(line);
				if (settled) {
					data.fill(0);
					return;
				}
				start = nl + 1;
			}
			if (start < data.length) {
				const rest = Buffer.from(data.subarray(start));
				pending += rest.length;
				chunks.push(rest);
				if (pending > REPLY_MAX) {
					data.fill(0);
					return finish(protocol('sent a reply over 1 MiB'));
				}
			}
			data.fill(0);
		});
		conn.on('end', () => finish(protocol('closed the connection before answering')));
		conn.on('close', () => finish(protocol('closed the connection before answering')));
	});
}

/*
 * A connection kept open for many requests, for a process that asks often
 * (the router's preload asks once per upstream request). It is proven as
 * call() proves one — the directory checks, then a hello whose proof only our
 * uid can echo — once per connection; requests are pipelined and answered in
 * order. ask(request) resolves with the reply object, ok or not (a failure
 * reply is an answer, not an error), and rejects with a KeydError only when
 * the daemon could not be asked: not running, untrusted, a broken or late
 * reply. A connection that fails is dropped with every request on it; the
 * next ask opens a new one, so a restarted daemon is found again.
 */
function session(opts) {
	const sock = optSocket(opts);
	const timeoutMs = optTimeout(opts);
	let conn = null; /* {socket, waiting: [{id, resolve, reject, timer}], ready: Promise} */

	function drop(c, err) {
		if (conn === c)
			conn = null;
		c.dead = true;
		c.socket.removeAllListeners('data');
		c.socket.on('error', () => {});
		c.socket.destroy();
		for (const w of c.waiting.splice(0)) {
			clearTimeout(w.timer);
			w.reject(err);
		}
	}
	function protocol(what) {
		return new KeydError('protocol', `ccr-keyd at ${sock} ${what}`, { socket: sock });
	}
	/* Open and prove a connection; resolves once its hello checked out. */
	function open() {
		const c = { socket: null, waiting: [], dead: false, pending: [], size: 0 };
		c.ready = new Promise((resolve, reject) => {
			let before;
			try {
				before = trustPath(sock);
			} catch (e) {
				return reject(e);
			}
			const helloId = nextId++;
			let proof = null;
			const settle = (err) => {
				if (proof)
					removeProof(proof.file);
				proof = null;
				if (err) {
					drop(c, err);
					reject(err);
				} else {
					resolve();
				}
			};
			c.socket = net.createConnection({ path: sock });
			c.onReply = (reply) => {
				c.socket.unref(); /* an idle connection keeps no process alive */
				if (reply.ok === true && reply.id === helloId && proven(reply, proof.token)) {
					c.onReply = answer;
					return settle(null);
				}
				if (reply.ok === false && (reply.id === undefined || reply.id === helloId))
					return settle(replyError(reply, sock));
				return settle(untrusted(sock, 'the process listening there did not prove ' +
					`that it runs as you (uid ${process.geteuid()})`, 'nothing but a hello was sent'));
			};
			c.socket.on('connect', () => {
				try {
					if (!samePath(before, trustPath(sock)))
						throw untrusted(sock, 'the socket or its directory was replaced while connecting');
					proof = writeProof(sock);
				} catch (e) {
					return settle(e);
				}
				c.socket.write(JSON.stringify({ op: 'hello', proof: proof.file, id: helloId }) + '\n');
			});
			c.socket.on('error', (err) => {
				const e = c.onReply === answer ?
					new KeydError('protocol', `connection to ccr-keyd at ${sock} failed: ` +
						`${err.code || err.message}`, { socket: sock, errno: err.code }) :
					connectError(err, sock);
				settle(e);
				drop(c, e);
			});
			c.socket.on('close', () => {
				const e = protocol('closed the connection');
				settle(e);
				drop(c, e);
			});
			c.socket.on('data', (data) => lines(c, data));
		});
		return c;
	}
	/* Split data into reply lines; each parsed line goes to c.onReply, its bytes wiped. */
	function lines(c, data) {
		let start = 0;
		for (let nl = data.indexOf(0x0a); nl !== -1 && !c.dead; nl = data.indexOf(0x0a, start)) {
			c.pending.push(data.subarray(start, nl));
			const line = Buffer.concat(c.pending);
			c.pending = [];
			c.size = 0;
			start = nl + 1;
			let reply;
			try {
				reply = JSON.parse(line.toString('utf8'));
			} catch {
				reply = null;
			}
			line.fill(0);
			if (reply === null || typeof reply !== 'object' || typeof reply.ok !== 'boolean')
				drop(c, protocol('sent a reply that is not a JSON object with "ok"'));
			else
				c.onReply(reply);
		}
		if (!c.dead && start < data.length) {
			c.pending.push(Buffer.from(data.subarray(start)));
			c.size += data.length - start;
			if (c.size > REPLY_MAX)
				drop(c, protocol('sent a reply over 1 MiB'));
		}
		data.fill(0);
	}
	/* A reply on a proven connection: the oldest request's. */
	function answer(reply) {
		const c = this;
		const w = c.waiting[0];
		if (w === undefined || (reply.id !== undefined && reply.id !== w.id))
			return drop(c, protocol(`answered id ${JSON.stringify(reply.id)} out of turn`));
		c.waiting.shift();
		clearTimeout(w.timer);
		if (c.waiting.length === 0)
			c.socket.unref();
		w.resolve(reply);
	}
	async function ask(request) {
		if (conn === null || conn.dead)
			conn = open();
		const c = conn;
		await c.ready;
		if (c.dead)
			throw protocol('closed the connection');
		return new Promise((resolve, reject) => {
			const id = nextId++;
			const w = { id, resolve, reject, timer: null };
			if (timeoutMs > 0)
				w.timer = setTimeout(() => drop(c, new KeydError('timeout',
					`ccr-keyd did not answer within ${timeoutMs} ms (socket ${sock})`,
					{ socket: sock })), timeoutMs);
			c.waiting.push(w);
			c.socket.ref();
			c.socket.write(JSON.stringify(Object.assign({}, request, { id })) + '\n');
		});
	}
	return {
		ask,
		/* Close the connection; requests still waiting are refused. */
		close() {
			if (conn !== null)
				drop(conn, protocol('connection closed'));
		},
		socket: sock,
	};
}

/* The key called name: {name, env, value, updated}, or null when there is none. */
async function getKey(name, opts) {
	if (typeof name !== 'string')
		throw new TypeError('getKey: name must be a string');
	try {
		const [r] = await call([{ op: 'get', name }], opts);
		return { name: r.name, env: r.env, value: r.value, updated: r.updated };
	} catch (e) {
		if (e instanceof KeydError && e.code === 'not_found')
			return null;
		throw e;
	}
}

/* Split names into resolve requests within the daemon's limits. */
function resolveRequests(names) {
	const reqs = [];
	let cur = [];
	let size = 64;
	for (const n of names) {
		const cost = JSON.stringify(n).length + 1;
		if (cur.length > 0 && (cur.length >= RESOLVE_MAX || size + cost > LINE_MAX - 256)) {
			reqs.push({ op: 'resolve', env: cur });
			cur = [];
			size = 64;
		}
		cur.push(n);
		size += cost;
	}
	if (cur.length > 0)
		reqs.push({ op: 'resolve', env: cur });
	return reqs;
}

/*
 * The values of those of envNames (a string or an array of strings) that the
 * keystore holds: {ENV: value}. One resolve request (more only past the daemon's
 * per-request limits, pipelined on the same connection). Names on REFUSED_ENV
 * are neither asked for nor returned, nor is a name that was not asked for.
 */
async function resolve(envNames, opts) {
	const list = typeof envNames === 'string' ? [envNames] : envNames;
	if (!Array.isArray(list) || list.some((n) => typeof n !== 'string'))
		throw new TypeError('resolve: envNames must be a string or an array of strings');
	const names = [...new Set(list)].filter((n) => !isRefusedEnv(n));
	const asked = new Set(names);
	const out = {};
	if (names.length === 0)
		return out;
	const replies = await call(resolveRequests(names), opts);
	for (const r of replies) {
		const v = r.values;
		if (v === null || typeof v !== 'object' || Array.isArray(v))
			throw new KeydError('protocol', 'ccr-keyd sent a resolve reply without "values"',
				{ socket: optSocket(opts) });
		for (const k of Object.keys(v)) {
			if (typeof v[k] === 'string' && asked.has(k))
				Object.defineProperty(out, k, { value: v[k], enumerable: true, writable: true,
					configurable: true });
		}
	}
	return out;
}

/* ---- interpolation, with the router's rule to the letter ---- */

/* Every name that value (string, array, object, nested) references, in order. */
function referencedNames(value) {
	const seen = new Set();
	const walk = (obj) => {
		if (typeof obj === 'string') {
			for (const m of obj.matchAll(new RegExp(REF_SOURCE, 'g')))
				seen.add(m[1] || m[2]);
		} else if (Array.isArray(obj)) {
			obj.forEach((e) => walk(e));
		} else if (obj !== null && typeof obj === 'object') {
			for (const [, v] of Object.entries(obj))
				walk(v);
		}
	};
	walk(value);
	return [...seen];
}

/* Names the keystore could hold: env names the daemon accepts in a resolve, none refused. */
function storable(name) {
	return name.length <= ENV_MAX_LEN && ENV_NAME.test(name) && !isRefusedEnv(name);
}

function defaultWarn(message) {
	console.error(message);
}

/*
 * The substitution itself, shaped exactly like the router's interpolateEnvVars:
 * strings get every reference replaced by lookup(name) || the text as written;
 * arrays are mapped; other non-null objects become plain objects of their own
 * enumerable entries (keys untouched); anything else is returned as it is.
 */
function substitute(obj, lookup) {
	const rec = (o) => {
		if (typeof o === 'string') {
			return o.replace(new RegExp(REF_SOURCE, 'g'), (match, braced, unbraced) => {
				const varName = braced || unbraced;
				return lookup(varName) || match;
			});
		} else if (Array.isArray(o)) {
			return o.map((e) => rec(e));
		} else if (o !== null && typeof o === 'object') {
			const result = {};
			for (const [key, v] of Object.entries(o))
				result[key] = rec(v);
			return result;
		}
		return o;
	};
	return rec(obj);
}

/*
 * Given the keystore's values (or null when it was not consulted), warn about
 * conflicts and substitute: keystore first, then the environment, then the text.
 */
function apply(value, names, stored, opts) {
	const env = opts && opts.env ? opts.env : process.env;
	const warn = opts && typeof opts.warn === 'function' ? opts.warn : defaultWarn;
	const ks = (n) => (stored && Object.prototype.hasOwnProperty.call(stored, n) &&
		typeof stored[n] === 'string' && stored[n] !== '' ? stored[n] : undefined);
	for (const n of names) {
		const a = ks(n);
		const b = nonEmpty(env, n);
		if (a !== undefined && b !== undefined && a !== b)
			warn(`ccr-keyd: ${n} is set both in the keystore and in the environment, ` +
			     'with different values; using the keystore');
	}
	return substitute(value, (n) => ks(n) || nonEmpty(env, n));
}

/* What to do when the keystore could not be asked. Returns null to fall back. */
function fallback(err, opts) {
	if (opts && opts.strict)
		throw err;
	if (!(err instanceof KeydError))
		throw err;
	if (err.code !== 'unreachable') {
		const warn = opts && typeof opts.warn === 'function' ? opts.warn : defaultWarn;
		warn(`${err.message} — using the environment only`);
	}
	return null;
}

/*
 * claude-code-router's interpolateEnvVars(obj), keystore first: collects every
 * $NAME / ${NAME} that value references, asks ccr-keyd once, and substitutes the
 * keystore's value, else the environment's, else leaves the text as written.
 * Returns a Promise of the new value.
 *
 * opts: socket, timeoutMs, env (default process.env), warn (default console.error),
 * strict (reject instead of falling back to the environment).
 */
async function interpolateEnvVars(value, opts) {
	const names = referencedNames(value);
	const ask = names.filter(storable);
	let stored = null;
	if (ask.length > 0) {
		try {
			stored = await resolve(ask, opts);
		} catch (e) {
			stored = fallback(e, opts);
		}
	}
	return apply(value, names, stored, opts);
}

/* The synchronous resolve: a worker thread does the I/O while this thread waits. */
function resolveSync(envNames, opts) {
	const { Worker, MessageChannel, receiveMessageOnPort } = require('node:worker_threads');
	const list = typeof envNames === 'string' ? [envNames] : envNames;
	if (!Array.isArray(list) || list.some((n) => typeof n !== 'string'))
		throw new TypeError('resolveSync: envNames must be a string or an array of strings');
	if (list.length === 0)
		return {};
	const sock = optSocket(opts);
	const timeoutMs = optTimeout(opts);
	const flag = new Int32Array(new SharedArrayBuffer(4));
	const { port1, port2 } = new MessageChannel();
	const worker = new Worker(path.join(__dirname, 'sync-worker.cjs'), {
		workerData: { names: list, socket: sock, timeoutMs, flag, port: port2 },
		transferList: [port2],
		stdout: false,
		stderr: false,
	});
	try {
		/* The worker enforces timeoutMs itself; this only guards against a wedged worker. */
		const wait = timeoutMs > 0 && Number.isFinite(timeoutMs) ? timeoutMs + 5000 : undefined;
		const r = Atomics.wait(flag, 0, 0, wait);
		const msg = receiveMessageOnPort(port1);
		if (r === 'timed-out' || msg === undefined)
			throw new KeydError('timeout',
				`ccr-keyd did not answer within ${timeoutMs} ms (socket ${sock}); ` +
				'check it with: ccr-config status', { socket: sock });
		const m = msg.message;
		if (!m.ok) {
			const e = m.error || {};
			if (e.keyd)
				throw new KeydError(e.code, e.message, { socket: e.socket, errno: e.errno });
			throw new Error(e.message || 'ccr-keyd: the synchronous request failed');
		}
		const out = {};
		for (const k of Object.keys(m.values))
			Object.defineProperty(out, k, { value: m.values[k], enumerable: true, writable: true,
				configurable: true });
		return out;
	} finally {
		port1.close();
		worker.terminate();
		worker.unref();
	}
}

/*
 * The same as interpolateEnvVars, but synchronous like the router's own: for
 * call sites that cannot await. Blocks the thread for the round trip (plus the
 * start of a worker thread, some 10–30 ms) only when value references a name.
 */
function interpolateEnvVarsSync(value, opts) {
	const names = referencedNames(value);
	const ask = names.filter(storable);
	let stored = null;
	if (ask.length > 0) {
		try {
			stored = resolveSync(ask, opts);
		} catch (e) {
			stored = fallback(e, opts);
		}
	}
	return apply(value, names, stored, opts);
}

/* The package's API: index.mjs exports these names as they are (index.d.ts declares them). */
module.exports = {
	getKey,
	resolve,
	interpolateEnvVars,
	interpolateEnvVarsSync,
	resolveSync,
	referencedNames,
	socketPath,
	homeDir,
	KeydError,
	DEFAULT_TIMEOUT_MS,
	REFUSED_ENV,
	isRefusedEnv,
	storable,
	ENV_NAME,
	ENV_MAX_LEN,
	REF_SOURCE,
};
/*
 * For this package's own modules (router.cjs, plugin3.cjs): a proven
 * connection that asks many times. Added apart so that index.mjs, which
 * exports by name what the list above holds, does not export it.
 */
Object.assign(module.exports, { session });
