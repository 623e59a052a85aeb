'use strict';
/*
 * ccr-keyd's preload for claude-code-router. ccr-config starts the router with
 *
 *   NODE_OPTIONS="--require=/…/preload.cjs" ccr start
 *
 * and the router's server then gets its keys from ccr-keyd in-process, at its
 * own config load, and nowhere else (router.cjs, guard.cjs). The one request to
 * ccr-keyd goes out as the event loop starts, while the router starts up; the
 * router's read of its config waits for the answer. In any Node program that is
 * not the router it only takes itself out of NODE_OPTIONS.
 */
require('./router.cjs').preload(__filename);
