'use strict';
/*
 * What keeps the keys the preload hands to claude-code-router inside the
 * router's process: an environment that answers the router's lookups of those
 * names but never lists them, so that no child inherits them; children that
 * are the router itself start with the preload instead and fetch their own;
 * and no file the process writes, nor any reply its HTTP server sends, holds a
 * key — each is written back as its `${NAME}` reference. The wrappers here
 * are named by the table of entry points (patches.cjs), which alone installs
 * them: each is called as wrapper(original, ctx). Zero dependencies:
 * node:path, node:url.
 */

const path = require('node:path');

/* Values shorter than this are replaced only where a whole config string equals them. */
const SCRUB_MIN = 8;

/*
 * process.env: a view of the real environment that also holds the names in
 * hidden (ctx.hidden, a Map of name to value, filled now or later): a lookup
 * finds them, a listing never shows them, so child_process, worker threads
 * and {...process.env} copy none of them. A value set that holds a secret
 * (ctx.isSecret) joins the hidden names instead of the real environment.
 * Before a lookup (get, `in`) of a name in ctx.watched, ctx.beforeRead(name)
 * runs (to fetch the keys first). A name that joins hidden must be deleted
 * from the real environment by whoever adds it (router.cjs, veil);
 * /proc/PID/environ, written at exec, never held them.
 */
function envView(real, ctx) {
	const { hidden, isSecret } = ctx;
	const watched = ctx.watched || new Set();
	const beforeRead = ctx.beforeRead || (() => {});
	const look = (key) => {
		if (typeof key === 'string' && watched.has(key))
			beforeRead(key);
	};
	return new Proxy(real, {
		get(target, key) {
			look(key);
			if (typeof key === 'string' && hidden.has(key))
				return hidden.get(key);
			return Reflect.get(target, key);
		},
		has(target, key) {
			look(key);
			return (typeof key === 'string' && hidden.has(key)) || Reflect.has(target, key);
		},
		set(target, key, value) {
			if (typeof key === 'string' && (hidden.has(key) || isSecret(String(value)))) {
				hidden.set(key, String(value));
				delete target[key];
				return true;
			}
			return Reflect.set(target, key, value);
		},
		defineProperty(target, key, desc) {
			if (typeof key === 'string' && 'value' in desc &&
			    (hidden.has(key) || isSecret(String(desc.value)))) {
				hidden.set(key, String(desc.value));
				delete target[key];
				return true;
			}
			return Reflect.defineProperty(target, key, desc);
		},
		deleteProperty(target, key) {
			if (typeof key === 'string')
				hidden.delete(key);
			return Reflect.deleteProperty(target, key);
		},
		getOwnPropertyDescriptor(target, key) {
			/* No look(): copying the environment needs no key (it gets none). */
			if (typeof key === 'string' && hidden.has(key))
				return { value: hidden.get(key), writable: true, enumerable: false,
					configurable: true };
			return Reflect.getOwnPropertyDescriptor(target, key);
		},
	});
}

/* envPairs ("NAME=value" strings, as child_process hands them down) with token in NODE_OPTIONS. */
function withPreload(envPairs, token) {
	const pairs = Array.isArray(envPairs) ? envPairs.slice() : [];
	const i = pairs.findIndex((p) => typeof p === 'string' && p.startsWith('NODE_OPTIONS='));
	if (i === -1) {
		pairs.push(`NODE_OPTIONS=${token}`);
	} else {
		const have = pairs[i].slice('NODE_OPTIONS='.length);
		if (!have.includes(token))
			pairs[i] = `NODE_OPTIONS=${have ? have + ' ' : ''}${token}`;
	}
	return pairs;
}

/*
 * ChildProcess#spawn, which spawn, exec, execFile and fork all pass through:
 * every child that ctx.isRouter(file, args) recognises starts with ctx.token
 * (the preload's --require option) in its NODE_OPTIONS, so that a router the
 * router starts (`cli.js start`, `ccr restart`, POST /api/restart) fetches
 * its own keys.
 */
function spawnWithPreload(spawn, ctx) {
	const { isRouter, token } = ctx;
	return function spawnWithPreload(options) {
		if (options && typeof options.file === 'string' && isRouter(options.file, options.args))
			options = Object.assign({}, options, { envPairs: withPreload(options.envPairs, token) });
		return spawn.call(this, options);
	};
}

/*
 * ChildProcess#spawn: every child that is not the router itself
 * (ctx.isRouter(file, args) false) — the agent `ccr code` starts, and
 * whatever else this process runs — starts through `ctx.prog confine --`
 * (ccr-config): confined by the kernel, so that it and all it starts reach
 * no file, socket or process of ccr-keyd's or the router's.
 */
function spawnConfined(spawn, ctx) {
	const { isRouter, prog } = ctx;
	return function spawnConfined(options) {
		if (options && typeof options.file === 'string' && !isRouter(options.file, options.args)) {
			const args = Array.isArray(options.args) ? options.args.slice(1) : [];
			options = Object.assign({}, options, { file: prog,
				args: [prog, 'confine', '--', options.file, ...args] });
		}
		return spawn.call(this, options);
	};
}

/* The reference written in place of a key. Braced, so that no following text joins the name. */
function reference(name) {
	return '${' + name + '}';
}

/*
 * A scrubber for the keys in secrets (an array of {name, value}): text() and
 * bytes() replace every occurrence of a value of SCRUB_MIN or more characters
 * (and of its JSON-escaped form) with its reference; configText() also puts
 * back the original string of every config value equal to a string the router
 * interpolated (restore: a Map of interpolated to original), and a whole JSON
 * string equal to a value of any length.
 */
function scrubber(secrets = [], restore = new Map()) {
	let patterns = [];
	let exact = new Map();
	const load = (list, back) => {
		patterns = [];
		exact = new Map();
		restore = back;
		for (const { name, value } of list)
			add(name, value);
		patterns.sort((a, b) => b.text.length - a.text.length);
	};
	const add = (name, value) => {
		if (typeof value !== 'string' || value === '')
			return;
		if (!exact.has(value))
			exact.set(value, reference(name));
		if (value.length < SCRUB_MIN)
			return;
		const escaped = JSON.stringify(value).slice(1, -1);
		for (const p of escaped === value ? [value] : [value, escaped])
			patterns.push({ text: p, bytes: Buffer.from(p, 'utf8'), ref: reference(name),
				refBytes: Buffer.from(reference(name), 'utf8') });
	};
	load(secrets, restore);

	function holds(s) {
		if (exact.has(s))
			return true;
		return patterns.some((p) => s.includes(p.text));
	}
	function text(s) {
		for (const p of patterns) {
			if (s.includes(p.text))
				s = s.split(p.text).join(p.ref);
		}
		return s;
	}
	function bytes(view) {
		let buf = Buffer.from(view.buffer, view.byteOffset, view.byteLength);
		let changed = false;
		for (const p of patterns) {
			let at = buf.indexOf(p.bytes);
			if (at === -1)
				continue;
			const parts = [];
			let from = 0;
			while (at !== -1) {
				parts.push(buf.subarray(from, at), p.refBytes);
				from = at + p.bytes.length;
				at = buf.indexOf(p.bytes, from);
			}
			parts.push(buf.subarray(from));
			buf = Buffer.concat(parts);
			changed = true;
		}
		return changed ? buf : null;
	}
	/* True when buf holds a key: a value of SCRUB_MIN or more, or any value as a JSON string. */
	function found(buf) {
		if (patterns.some((p) => buf.includes(p.bytes)))
			return true;
		for (const v of exact.keys()) {
			if (buf.includes(JSON.stringify(v)))
				return true;
		}
		return false;
	}
	function body(view) {
		const buf = Buffer.from(view.buffer, view.byteOffset, view.byteLength);
		if (!found(buf))
			return null;
		const s = buf.toString('utf8');
		if (!Buffer.from(s, 'utf8').equals(buf))
			return bytes(buf); /* not whole UTF-8 text (a chunk cut in a character) */
		const out = configText(s);
		return out === s ? null : Buffer.from(out, 'utf8');
	}
	function mask(view) {
		let buf = null;
		for (const p of patterns) {
			const src = buf || Buffer.from(view.buffer, view.byteOffset, view.byteLength);
			let at = src.indexOf(p.bytes);
			if (at === -1)
				continue;
			buf = buf || Buffer.from(src);
			while (at !== -1) {
				buf.fill('*', at, at + p.bytes.length);
				at = buf.indexOf(p.bytes, at + p.bytes.length);
			}
		}
		return buf;
	}
	function configText(s) {
		let doc;
		try {
			doc = JSON.parse(s);
		} catch {
			return text(s);
		}
		let changed = false;
		const walk = (v) => {
			if (typeof v === 'string') {
				const back = restore.has(v) ? restore.get(v) : exact.get(v);
				if (back !== undefined) {
					changed = true;
					return back;
				}
				return v;
			}
			if (Array.isArray(v))
				return v.map(walk);
			if (v !== null && typeof v === 'object') {
				const out = {};
				for (const [k, e] of Object.entries(v))
					out[k] = walk(e);
				return out;
			}
			return v;
		};
		const restored = walk(doc);
		if (!changed)
			return text(s);
		const indent = /^[[{]\r?\n( +|\t)/.exec(s);
		return text(JSON.stringify(restored, null, indent ? indent[1] : undefined));
	}
	return {
		holds,
		text,
		bytes,
		configText,
		/* An HTTP reply body (or a chunk of one) without keys, or null when it holds none. */
		body,
		/* view with each key of SCRUB_MIN or more overwritten by as many '*', or null. */
		mask,
		/* Use these keys and this restore map from now on. */
		load,
		get empty() {
			return exact.size === 0;
		},
	};
}

/* True for the data forms a write accepts that can carry bytes. */
function isView(data) {
	return ArrayBuffer.isView(data);
}

/* The path a write targets, resolved, or null for a file descriptor or a handle. */
function targetPath(file) {
	if (typeof file === 'string')
		return path.resolve(file);
	if (Buffer.isBuffer(file))
		return path.resolve(file.toString());
	if (file instanceof URL && file.protocol === 'file:')
		return path.resolve(require('node:url').fileURLToPath(file));
	return null;
}

/*
 * How a positional write (fs.write, fs.writeSync, FileHandle#write) was called,
 * from the arguments after the data: the bytes it sends, where, and how many
 * it means to write. Forms: (buffer, offset, length, position), (buffer,
 * {offset, length, position}), (string, position, encoding), each maybe
 * followed by a callback.
 */
function positional(data, rest) {
	const a = rest[0];
	if (typeof data === 'string') {
		const encoding = typeof rest[1] === 'string' ? rest[1] : 'utf8';
		const bytes = Buffer.from(data, encoding);
		return { bytes, position: typeof a === 'number' || typeof a === 'bigint' ? a : null,
			want: bytes.length };
	}
	let off = 0;
	let len;
	let position = null;
	if (a !== null && typeof a === 'object') {
		off = a.offset || 0;
		len = a.length;
		position = a.position ?? null;
	} else {
		off = typeof a === 'number' ? a : 0;
		len = typeof rest[1] === 'number' ? rest[1] : undefined;
		position = typeof rest[2] === 'number' || typeof rest[2] === 'bigint' ? rest[2] : null;
	}
	if (len === undefined)
		len = data.byteLength - off;
	return { bytes: Buffer.from(data.buffer, data.byteOffset + off, len), position, want: len };
}

/* The byte count to report for a scrubbed write: the caller's, once all of clean went out. */
function reported(want, written, clean) {
	return written >= clean.length ? want : Math.min(written, want);
}

/* fs.write / fs.writeSync (fd, data, ...), sending the key-free bytes. */
function positionalWith(orig, s, callback) {
	return function (fd, data, ...rest) {
		if (typeof data !== 'string' && !isView(data))
			return orig.call(this, fd, data, ...rest);
		const w = positional(data, rest);
		const clean = s.bytes(w.bytes);
		if (clean === null)
			return orig.call(this, fd, data, ...rest);
		if (!callback)
			return reported(w.want, orig.call(this, fd, clean, 0, clean.length, w.position), clean);
		const cb = rest[rest.length - 1];
		return orig.call(this, fd, clean, 0, clean.length, w.position, (err, n) =>
			cb(err, err ? n : reported(w.want, n, clean), data));
	};
}

/* The scrubbed copies of buffers when any holds a key, else null. */
function vectorScrub(s, buffers) {
	if (!Array.isArray(buffers))
		return null;
	let any = false;
	const out = buffers.map((b) => {
		const c = isView(b) ? s.bytes(b) : null;
		if (c)
			any = true;
		return c || b;
	});
	return any ? out : null;
}

/* The byte count to report for a scrubbed vector write. */
function vectorCount(buffers, clean, written) {
	const want = buffers.reduce((n, b) => n + b.byteLength, 0);
	const sent = clean.reduce((n, b) => n + b.byteLength, 0);
	return written >= sent ? want : Math.min(written, want);
}

/* fs.writev / fs.writevSync (fd, buffers, position, cb), sending the key-free bytes. */
function vectorWith(orig, s, callback) {
	return function (fd, buffers, ...rest) {
		const clean = vectorScrub(s, buffers);
		if (clean === null)
			return orig.call(this, fd, buffers, ...rest);
		if (!callback)
			return vectorCount(buffers, clean, orig.call(this, fd, clean, ...rest));
		const cb = rest.pop();
		return orig.call(this, fd, clean, ...rest, (err, n) =>
			cb(err, err ? n : vectorCount(buffers, clean, n), buffers));
	};
}

/* fs.write, sending the key-free bytes (ctx.scrub, a scrubber). */
function positionalWrite(orig, ctx) {
	return positionalWith(orig, ctx.scrub, true);
}

/* fs.writeSync, likewise. */
function positionalWriteSync(orig, ctx) {
	return positionalWith(orig, ctx.scrub, false);
}

/* fs.writev, likewise. */
function vectorWrite(orig, ctx) {
	return vectorWith(orig, ctx.scrub, true);
}

/* fs.writevSync, likewise. */
function vectorWriteSync(orig, ctx) {
	return vectorWith(orig, ctx.scrub, false);
}

/* FileHandle#write, sending the key-free bytes. */
function handleWrite(write, ctx) {
	const s = ctx.scrub;
	return async function (data, ...rest) {
		if (typeof data !== 'string' && !isView(data))
			return write.call(this, data, ...rest);
		const w = positional(data, rest);
		const clean = s.bytes(w.bytes);
		if (clean === null)
			return write.call(this, data, ...rest);
		const r = await write.call(this, clean, 0, clean.length, w.position);
		return { bytesWritten: reported(w.want, r.bytesWritten, clean), buffer: data };
	};
}

/* FileHandle#writev, sending the key-free bytes. */
function handleWritev(writev, ctx) {
	const s = ctx.scrub;
	return async function (buffers, ...rest) {
		const clean = vectorScrub(s, buffers);
		if (clean === null)
			return writev.call(this, buffers, ...rest);
		const r = await writev.call(this, clean, ...rest);
		return { bytesWritten: vectorCount(buffers, clean, r.bytesWritten), buffers };
	};
}

/*
 * data as a write of a whole file (file: its path, or null for a handle) puts
 * it on disk: with references instead of keys (ctx.scrub, a scrubber ready
 * before any key is); a write of the whole ctx.configFile gets configText.
 */
function whole(ctx, file, data) {
	const s = ctx.scrub;
	const config = file !== null && targetPath(file) === ctx.configFile;
	if (typeof data === 'string')
		return config ? s.configText(data) : s.text(data);
	if (!isView(data))
		return data;
	if (config)
		return Buffer.from(s.configText(Buffer.from(data.buffer, data.byteOffset,
			data.byteLength).toString('utf8')), 'utf8');
	return s.bytes(data) || data;
}

/*
 * fs.writeFile/appendFile (callback, sync and promises): the data without
 * keys. With the positional and vector writes (which fs.WriteStream and
 * SyncWriteStream use) and a FileHandle's, every way this process writes a
 * file holds references instead of keys. A key split across two writes is
 * not caught.
 */
function wholeWrite(orig, ctx) {
	return function (file, data, ...rest) {
		return orig.call(this, file, whole(ctx, file, data), ...rest);
	};
}

/* FileHandle#writeFile/appendFile: the data without keys. */
function handleWhole(orig, ctx) {
	return function (data, ...rest) {
		return orig.call(this, whole(ctx, null, data), ...rest);
	};
}

/*
 * fs.promises.open: the first handle it returns hands its prototype to
 * ctx.onFirstHandle, which wraps FileHandle's writes (the class is not
 * exported, so this is the first moment they can be reached).
 */
function openWithHandles(open, ctx) {
	let seen = false;
	return async function (...args) {
		const handle = await open.apply(this, args);
		if (!seen) {
			seen = true;
			ctx.onFirstHandle(Object.getPrototypeOf(handle));
		}
		return handle;
	};
}

/*
 * Make the Content-Length res declares fit a body delta bytes shorter than
 * the one it was computed for. Headers not yet formatted are set anew; headers
 * formatted but not yet sent (fastify's writeHead, then end) are mended in
 * place. Returns false when a length already sent cannot be changed.
 */
function fitLength(res, delta) {
	if (!res.headersSent) {
		const n = Number(res.getHeader('content-length'));
		if (res.hasHeader('content-length') && Number.isInteger(n))
			res.setHeader('content-length', String(n - delta));
		return true;
	}
	const head = res._header;
	if (typeof head !== 'string')
		return false;
	const m = /\r\ncontent-length:[ \t]*(\d+)[ \t]*\r\n/i.exec(head);
	if (m === null)
		return true; /* chunked, or until the connection closes: any length goes */
	if (res._headerSent !== false)
		return false;
	res._header = head.slice(0, m.index) + `\r\nContent-Length: ${Number(m[1]) - delta}\r\n` +
		head.slice(m.index + m[0].length);
	if (typeof res._contentLength === 'number')
		res._contentLength -= delta;
	return true;
}

/* chunk as res.write / res.end (chunk, encoding) would send it, without keys. */
function replyChunk(res, s, chunk, encoding) {
	if (typeof chunk !== 'string' && !isView(chunk))
		return chunk;
	const enc = typeof encoding === 'string' && Buffer.isEncoding(encoding) ? encoding : 'utf8';
	const buf = typeof chunk === 'string' ? Buffer.from(chunk, enc) :
		Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
	const clean = s.body(buf);
	if (clean === null)
		return chunk;
	if (clean.length === buf.length || fitLength(res, buf.length - clean.length))
		return clean;
	return s.mask(buf) || buf;
}

/*
 * http.ServerResponse#write, so that no reply of this process's HTTP server
 * carries a key: the router's GET /api/config (which interpolates the config
 * again), GET /providers (the providers it holds, keys included), and whatever
 * else a route or the upstream echoes. A key becomes its reference — a JSON
 * body gets the config's own strings back, as a write of the config does — and
 * the Content-Length is made to fit; where a length already sent cannot be
 * changed, the key is overwritten with as many '*'. A key split across two
 * writes is not caught.
 */
function replyWrite(write, ctx) {
	return function (chunk, ...rest) {
		return write.call(this, replyChunk(this, ctx.scrub, chunk, rest[0]), ...rest);
	};
}

/* http.ServerResponse#end, likewise. */
function replyEnd(end, ctx) {
	return function (chunk, ...rest) {
		if (chunk === undefined || chunk === null || typeof chunk === 'function')
			return end.call(this, chunk, ...rest);
		return end.call(this, replyChunk(this, ctx.scrub, chunk, rest[0]), ...rest);
	};
}

module.exports = {
	envView,
	spawnWithPreload,
	spawnConfined,
	withPreload,
	scrubber,
	wholeWrite,
	positionalWrite,
	positionalWriteSync,
	vectorWrite,
	vectorWriteSync,
	openWithHandles,
	handleWhole,
	handleWrite,
	handleWritev,
	replyWrite,
	replyEnd,
	reference,
	SCRUB_MIN,
};
