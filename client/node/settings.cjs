'use strict';
/*
 * The settings file that router 2.x's agent commands (`ccr code`, `ccr
 * PRESET`) write for Claude Code: `$TMPDIR/claude-code-router/ccr-settings-
 * <sha256>.json`, which holds the router's URL and its token. Left to itself
 * the router creates the directory 0755 and the file 0644 and never removes
 * either. Here, inside that one `ccr` process, the directory is made ours and
 * 0700, the file 0600, and the file goes when the `ccr` process ends (exit or
 * a signal) — the umask is left alone, so the agent's own files are as before.
 * The file's name is the hash of its content, so two `ccr code` at once with
 * the same settings share it: each holds a hard link to it (NAME.PID.ref), and
 * the last to end removes it. Zero dependencies: node:fs, node:os, node:path.
 */

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const FILE = /^ccr-settings-[0-9a-f]{64}\.json$/;
const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'];

/* The router's directory for them, as it computes it at each call. */
function settingsDir() {
	return path.join(os.tmpdir(), 'claude-code-router');
}

/* file (a path, Buffer or file: URL) resolved, or null. */
function resolved(file) {
	try {
		return path.resolve(file instanceof URL ? require('node:url').fileURLToPath(file) : String(file));
	} catch {
		return null;
	}
}

/* What file is to this module: 'dir', 'file' (a settings file), or null. */
function kind(file) {
	const p = resolved(file);
	const dir = settingsDir();
	if (p === dir)
		return 'dir';
	if (p !== null && path.dirname(p) === dir && FILE.test(path.basename(p)))
		return 'file';
	return null;
}

/* An error for a directory this module will not put the token in. */
function refusal(dir, why) {
	const e = new Error(`ccr-keyd: ${dir} ${why}; the agent's settings file, which holds the ` +
		"router's token, is not written there (remove it, or set TMPDIR to a directory of yours)");
	e.code = 'EACCES';
	return e;
}

/*
 * The state of one `ccr` process: the originals it calls, the files it
 * holds (path → its link), and whether its exit and signal handlers are in.
 */
function tracker(orig) {
	const held = new Map();
	let hooked = false;

	/* Create the directory 0700, or make one of ours 0700; throws for one that is not ours. */
	const secureDir = () => {
		const dir = settingsDir();
		try {
			orig.mkdirSync(dir, { recursive: true, mode: 0o700 });
		} catch (e) {
			if (e.code !== 'EEXIST')
				throw e;
		}
		const st = fs.lstatSync(dir);
		if (st.isSymbolicLink() || !st.isDirectory())
			throw refusal(dir, 'is not a directory');
		if (st.uid !== process.getuid())
			throw refusal(dir, `belongs to uid ${st.uid}`);
		if ((st.mode & 0o777) !== 0o700)
			fs.chmodSync(dir, 0o700);
	};

	/* Remove the links to file of `ccr` processes that have ended without removing theirs. */
	const sweep = (file) => {
		const base = path.basename(file);
		let names = [];
		try {
			names = fs.readdirSync(path.dirname(file));
		} catch {
			return;
		}
		for (const n of names) {
			const m = n.startsWith(base + '.') ? /^\.([0-9]+)\.ref$/.exec(n.slice(base.length)) : null;
			if (m === null || Number(m[1]) === process.pid)
				continue;
			try {
				process.kill(Number(m[1]), 0);
			} catch (e) {
				if (e.code === 'ESRCH')
					fs.rmSync(path.join(path.dirname(file), n), { force: true });
			}
		}
	};

	/* Drop every file held: our link, then the file when no other `ccr` holds one. */
	const release = () => {
		for (const [file, link] of held) {
			fs.rmSync(link, { force: true });
			sweep(file);
			try {
				if (fs.lstatSync(file).nlink === 1)
					fs.unlinkSync(file);
			} catch {
				/* gone already */
			}
		}
		held.clear();
	};

	/* A signal that would end the process: release, then end as the signal would. */
	const onSignal = (sig) => {
		release();
		if (process.listenerCount(sig) === 1) {
			process.removeListener(sig, onSignal);
			process.kill(process.pid, sig);
		}
	};

	/* Hold file with a link of our own; false when it is not there. */
	const hold = (file) => {
		const link = `${file}.${process.pid}.ref`;
		for (;;) {
			try {
				fs.linkSync(file, link);
				break;
			} catch (e) {
				if (e.code === 'ENOENT')
					return false;
				if (e.code !== 'EEXIST')
					throw e;
				fs.rmSync(link, { force: true }); /* left by an earlier process with our pid */
			}
		}
		held.set(file, link);
		if (!hooked) {
			hooked = true;
			process.on('exit', release);
			for (const sig of SIGNALS)
				process.on(sig, onSignal);
		}
		return true;
	};

	/*
	 * Take a settings file that is already there: ours and regular, made 0600
	 * and held; anything else removed (the directory is ours). True when held.
	 */
	const claim = (file) => {
		let st;
		try {
			st = fs.lstatSync(file);
		} catch {
			return false;
		}
		if (!st.isFile() || st.uid !== process.getuid()) {
			fs.rmSync(file, { force: true });
			return false;
		}
		fs.chmodSync(file, 0o600);
		return hold(file);
	};

	/* Write a settings file: a new 0600 file (O_EXCL), or the same one another `ccr` wrote. */
	const write = (file, data, encoding) => {
		secureDir();
		for (let i = 0; i < 3; i++) {
			if (claim(file))
				return;
			try {
				orig.writeFileSync(file, data, { mode: 0o600, flag: 'wx', encoding });
			} catch (e) {
				if (e.code === 'EEXIST')
					continue;
				throw e;
			}
			if (hold(file))
				return;
		}
		throw refusal(path.dirname(file), 'keeps changing under us');
	};

	return { secureDir, claim, write, release };
}

/* The encoding a writeFile call names in its options, or utf8. */
function encodingOf(options) {
	if (typeof options === 'string')
		return options;
	if (options !== null && typeof options === 'object' && typeof options.encoding === 'string')
		return options.encoding;
	return 'utf8';
}

/*
 * The wrappers that keep the settings files of this process private (see the
 * top of the file), each called by the table of entry points (patches.cjs)
 * with the original and t, a tracker(): fs.promises.access, mkdir and
 * writeFile, and fs.mkdirSync and writeFileSync act where they name the
 * settings directory or a file in it.
 */

/* fs.promises.access: the directory made ours first; a settings file claimed, or absent. */
function accessSecured(access, t) {
	return async function (file, ...rest) {
		const k = kind(file);
		if (k === 'dir')
			t.secureDir();
		if (k === 'file') {
			t.secureDir();
			if (!t.claim(resolved(file))) {
				const e = new Error(`ENOENT: no such file or directory, access '${file}'`);
				e.code = 'ENOENT';
				throw e;
			}
		}
		return access.call(this, file, ...rest);
	};
}

/* fs.promises.mkdir: the settings directory made 0700 and ours. */
function mkdirSecured(mkdir, t) {
	return async function (file, ...rest) {
		if (kind(file) !== 'dir')
			return mkdir.call(this, file, ...rest);
		t.secureDir();
		return undefined;
	};
}

/* True when a writeFile of data to file is one of a settings file that this module writes. */
function isSettingsWrite(file, data) {
	return kind(file) === 'file' && (typeof data === 'string' || ArrayBuffer.isView(data));
}

/* fs.promises.writeFile: a settings file written 0600 and held. */
function writeFilePrivate(writeFile, t) {
	return async function (file, data, ...rest) {
		if (!isSettingsWrite(file, data))
			return writeFile.call(this, file, data, ...rest);
		t.write(resolved(file), data, encodingOf(rest[0]));
		return undefined;
	};
}

/* fs.mkdirSync: as mkdirSecured. */
function mkdirSyncSecured(mkdirSync, t) {
	return function (file, ...rest) {
		if (kind(file) !== 'dir')
			return mkdirSync.call(this, file, ...rest);
		t.secureDir();
		return undefined;
	};
}

/* fs.writeFileSync: as writeFilePrivate. */
function writeFileSyncPrivate(writeFileSync, t) {
	return function (file, data, ...rest) {
		if (!isSettingsWrite(file, data))
			return writeFileSync.call(this, file, data, ...rest);
		return t.write(resolved(file), data, encodingOf(rest[0]));
	};
}

/*
 * The state of this process's settings files, for the wrappers above: it
 * writes through fs.mkdirSync and writeFileSync as they are now, before the
 * wrappers are in.
 */
function privateSettings() {
	return tracker({ mkdirSync: fs.mkdirSync, writeFileSync: fs.writeFileSync });
}

module.exports = { privateSettings, accessSecured, mkdirSecured, writeFilePrivate,
	mkdirSyncSecured, writeFileSyncPrivate, settingsDir };
