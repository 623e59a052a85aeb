/*
 * ccr-keyd's preload for claude-code-router. ccr-config starts the router with
 *
 *   NODE_OPTIONS="--import=file:///…/preload.mjs" ccr start
 *
 * and the router's server then gets its keys from ccr-keyd in-process, at its
 * own config load, and nowhere else (router.cjs, guard.cjs). It is an ES module
 * loaded with --import so that it can await the one request to ccr-keyd before
 * the router's code runs: a --require preload would have to block on a worker
 * thread instead, some 35-40 ms. In any Node program that is not the router it
 * only takes itself out of NODE_OPTIONS.
 */
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

await require('./router.cjs').preload(import.meta.url);
