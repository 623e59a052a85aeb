'use strict';
/*
 * The worker behind resolveSync / interpolateEnvVarsSync: does one resolve
 * (index.cjs), posts the outcome on the port, then wakes the waiting thread.
 */
const { workerData } = require('node:worker_threads');
const { resolve, KeydError } = require('./index.cjs');

const { names, socket, timeoutMs, flag, port } = workerData;

function done(message) {
	try {
		port.postMessage(message);
	} finally {
		Atomics.store(flag, 0, 1);
		Atomics.notify(flag, 0);
		port.close();
	}
}

resolve(names, { socket, timeoutMs }).then(
	(values) => done({ ok: true, values }),
	(e) => done({
		ok: false,
		error: e instanceof KeydError
			? { keyd: true, code: e.code, message: e.message, socket: e.socket, errno: e.errno }
			: { keyd: false, message: String((e && e.message) || e) },
	}),
);
