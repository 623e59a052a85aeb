'use strict';
/*
 * Every Node entry point the router preload replaces, in one table: where it
 * is (the object and the property), the shape the wrapper relies on (a
 * function taking so many arguments; what an undocumented internal must
 * still read), and the wrapper that replaces it, named by module and export.
 * Nothing else in the preload assigns to Node's objects. verify() checks
 * every row against this Node before anything is installed, so a Node whose
 * internals differ is refused at start (router.cjs) instead of being half
 * guarded; install() puts one group of wrappers in.
 *
 * A row is {group, at, object, key, shape, wrap}: group, what installs it
 * together (router.cjs names the groups each router command gets); at, the
 * entry point as a person writes it; object(), where it lives (null: the
 * prototype of the first FileHandle, known only when fs.promises.open returns
 * one, checked and wrapped then); wrap, 'MODULE EXPORT', whose export is
 * called as EXPORT(original, ctx) and returns the replacement.
 */

const childProcess = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');

/* A function of length arguments, whose source reads each of reads (an internal's fields). */
function fn(length, reads = []) {
	return { kind: 'function', length, reads };
}

/* process.env: an own data property holding an object, that may be redefined. */
const ENV = { kind: 'environment' };

/* ChildProcess#spawn(options): undocumented; the wrappers rewrite options.file, .args and .envPairs. */
const SPAWN = fn(1, ['options.file', 'options.args', 'options.envPairs']);

/* Where the entry points live, looked up each time a row is checked or installed. */
const proc = () => process;
const top = () => globalThis;
const fsMod = () => fs;
const fsp = () => fs.promises;
const child = () => childProcess.ChildProcess.prototype;
const reply = () => require('node:http').ServerResponse.prototype; /* loaded in the router only */
const server = () => net.Server.prototype;

/* group, at, object, key, shape, wrap */
const TABLE = [
	['env', 'process.env', proc, 'env', ENV, 'guard.cjs envView'],
	['fetch', 'fetch', top, 'fetch', fn(1), 'inject.cjs fetchWithKeys'],
	['config-reads', 'fs.promises.readFile', fsp, 'readFile', fn(2), 'router.cjs heldReadPromise'],
	['config-reads', 'fs.readFile', fsMod, 'readFile', fn(3), 'router.cjs heldReadCallback'],
	['config-reads', 'fs.readFileSync', fsMod, 'readFileSync', fn(2), 'router.cjs settledReadSync'],
	['children', 'ChildProcess#spawn', child, 'spawn', SPAWN, 'guard.cjs spawnWithPreload'],
	['confine', 'ChildProcess#spawn', child, 'spawn', SPAWN, 'guard.cjs spawnConfined'],
	['writes', 'fs.writeFile', fsMod, 'writeFile', fn(4), 'guard.cjs wholeWrite'],
	['writes', 'fs.appendFile', fsMod, 'appendFile', fn(4), 'guard.cjs wholeWrite'],
	['writes', 'fs.writeFileSync', fsMod, 'writeFileSync', fn(3), 'guard.cjs wholeWrite'],
	['writes', 'fs.appendFileSync', fsMod, 'appendFileSync', fn(3), 'guard.cjs wholeWrite'],
	['writes', 'fs.promises.writeFile', fsp, 'writeFile', fn(3), 'guard.cjs wholeWrite'],
	['writes', 'fs.promises.appendFile', fsp, 'appendFile', fn(3), 'guard.cjs wholeWrite'],
	['writes', 'fs.write', fsMod, 'write', fn(6), 'guard.cjs positionalWrite'],
	['writes', 'fs.writeSync', fsMod, 'writeSync', fn(5), 'guard.cjs positionalWriteSync'],
	['writes', 'fs.writev', fsMod, 'writev', fn(4), 'guard.cjs vectorWrite'],
	['writes', 'fs.writevSync', fsMod, 'writevSync', fn(3), 'guard.cjs vectorWriteSync'],
	['writes', 'fs.promises.open', fsp, 'open', fn(3), 'guard.cjs openWithHandles'],
	['file-handle', 'FileHandle#writeFile', null, 'writeFile', fn(2), 'guard.cjs handleWhole'],
	['file-handle', 'FileHandle#appendFile', null, 'appendFile', fn(2), 'guard.cjs handleWhole'],
	['file-handle', 'FileHandle#write', null, 'write', fn(4), 'guard.cjs handleWrite'],
	['file-handle', 'FileHandle#writev', null, 'writev', fn(2), 'guard.cjs handleWritev'],
	/* replyWrite/replyEnd also read a reply's _header: where it differs they mask, never leak. */
	['replies', 'http.ServerResponse#write', reply, 'write', fn(3), 'guard.cjs replyWrite'],
	['replies', 'http.ServerResponse#end', reply, 'end', fn(3), 'guard.cjs replyEnd'],
	['listen', 'net.Server#listen', server, 'listen', fn(0), 'router.cjs listenOnce'],
	['settings', 'fs.promises.access', fsp, 'access', fn(1), 'settings.cjs accessSecured'],
	['settings', 'fs.promises.mkdir', fsp, 'mkdir', fn(2), 'settings.cjs mkdirSecured'],
	['settings', 'fs.promises.writeFile', fsp, 'writeFile', fn(3), 'settings.cjs writeFilePrivate'],
	['settings', 'fs.mkdirSync', fsMod, 'mkdirSync', fn(2), 'settings.cjs mkdirSyncSecured'],
	['settings', 'fs.writeFileSync', fsMod, 'writeFileSync', fn(3), 'settings.cjs writeFileSyncPrivate'],
].map(([group, at, object, key, shape, wrap]) => Object.freeze({ group, at, object, key, shape,
	wrap }));

/* Entry points this Node may lack: fetch (router.cjs warns, and no key reaches a provider). */
const OPTIONAL = new Set(['fetch']);

/* The replacements installed, so that a second wrapper of one entry point stacks on the first. */
const ours = new WeakSet();

/* Why row's entry point on target differs from the shape its wrapper relies on, or null. */
function differs(row, target) {
	const s = row.shape;
	if (s.kind === 'environment') {
		const d = Object.getOwnPropertyDescriptor(target, row.key);
		if (d === undefined || !('value' in d) || d.value === null || typeof d.value !== 'object')
			return `${row.at} is not an object property`;
		return d.configurable ? null : `${row.at} cannot be redefined`;
	}
	const v = target[row.key];
	if (v === undefined)
		return `${row.at} is missing`;
	if (typeof v !== 'function')
		return `${row.at} is a ${typeof v}, not a function`;
	if (ours.has(v))
		return null;
	if (v.length !== s.length)
		return `${row.at} takes ${v.length} arguments, not ${s.length}`;
	const source = Function.prototype.toString.call(v);
	for (const r of s.reads) {
		if (!source.includes(r))
			return `${row.at} no longer reads ${r}`;
	}
	return null;
}

/* One line for a row that differs: the Node, the entry point, why, and which wrapper needs it. */
function describe(row, why) {
	return `this Node (${process.version}) differs from what the router preload wraps: ${why} ` +
		`(${row.wrap} wraps it)`;
}

/* The function a row's wrap names. */
function wrapper(row) {
	const [file, name] = row.wrap.split(' ');
	return require(`./${file}`)[name];
}

/*
 * Check every row whose entry point is known at start. Returns null when all
 * are as expected, else the line describing the first that is not (an
 * optional entry point may be absent).
 */
function verify() {
	for (const row of TABLE) {
		if (row.object === null)
			continue;
		const target = row.object();
		if (OPTIONAL.has(row.at) && target[row.key] === undefined)
			continue;
		const why = differs(row, target);
		if (why !== null)
			return describe(row, why);
	}
	return null;
}

/*
 * Replace each entry point of group with its wrapper, wrap(original, ctx);
 * on object instead of the row's own for a group whose object comes later
 * (file-handle). Each row is checked first: one that differs throws, with
 * describe()'s line as its message, and nothing more of the group is
 * installed. Returns false when an optional entry point is absent (left so).
 */
function install(group, ctx, object = null) {
	const rows = TABLE.filter((r) => r.group === group);
	if (rows.length === 0)
		throw new Error(`patches: no group ${group}`);
	let all = true;
	for (const row of rows) {
		const target = object || row.object();
		if (OPTIONAL.has(row.at) && target[row.key] === undefined) {
			all = false;
			continue;
		}
		const why = differs(row, target);
		if (why !== null)
			throw new Error(describe(row, why));
		const replacement = wrapper(row)(target[row.key], ctx);
		ours.add(replacement);
		if (row.shape.kind === 'environment')
			Object.defineProperty(target, row.key, { value: replacement, writable: true,
				enumerable: true, configurable: true });
		else
			target[row.key] = replacement;
	}
	return all;
}

module.exports = { TABLE, OPTIONAL, verify, install, differs, wrapper };
