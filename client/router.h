/*
 * claude-code-router as ccr-config sees it: which one is installed and its
 * version, where it keeps its state ($HOME/.claude-code-router, whatever
 * CCR_HOME says), whether one is running (its pid file), what the preload
 * recorded about the keys the running one got, and where the preload is.
 */
#ifndef CCR_ROUTER_H
#define CCR_ROUTER_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "buf.h"
#include "jsonr.h"
#include "paths.h"

/* The preload's record of a running router, beside its pid file (0600, no values). */
#define ROUTER_RECORD ".ccr-keyd-router.json"

/* The installed router: its cli.js and the version its package.json states. */
struct router_install {
	char cli[PATHS_MAX];
	char dir[PATHS_MAX]; /* the package's directory, where its package.json is */
	char version[64];
	int major; /* -1 when the version does not start with a number */
};

/* What the preload recorded when a router's server started listening. */
struct router_record {
	pid_t pid;
	int port;
	const char *version; /* the router's version, or "" */
	bool fallback;       /* started with the plain environment (--fallback-env) */
	const char *mode;    /* "per-request": it asks ccr-keyd for each request; "" at start */
	const struct jsonr *keystore, *environment, *missing, *warnings; /* arrays of names/lines */
	struct jsonr *doc; /* owns the strings above */
};

/* The router's command: $CCR_ROUTER when set, else "ccr" (looked up on PATH). */
const char *router_command(void);

/*
 * Find the installed router: router_command() on PATH, its real path a cli.js
 * whose package.json beside its directory names @musistudio/claude-code-router.
 * Returns 0, or -1 when there is none (or it is not that package).
 */
int router_find(struct router_install *out);

/*
 * True when the version of a found router gets keys from ccr-keyd: 1.x and
 * 2.x through the preload, 3.x through its gateway plugin (plugin3.cjs) when
 * its package has the gateway that loads it (dist/main/gateway-bootstrap.js).
 */
bool router_supported(const struct router_install *r);

/*
 * The router's home, $HOME/.claude-code-router, as the router computes it
 * (CCR_HOME does not move it). Returns 0, or -1 with err set when HOME is unset.
 */
int router_home(char *out, size_t size, char *err, size_t errsize);

/* The pid its pid file names when that process is alive, else 0. */
pid_t router_running(const char *home);

/*
 * Read the preload's record in home into out. Returns 0, 1 when there is none,
 * -1 when it cannot be read or parsed. Release it with router_record_free.
 */
int router_record_read(const char *home, struct router_record *out);

/* Release a record router_record_read filled. */
void router_record_free(struct router_record *r);

/*
 * Find ccr-keyd's Node file name (preload.cjs, plugin3.cjs, …) beside this
 * program: installed (../lib/ccr-keyd/node) or in the source tree
 * (../client/node); its real path into out. Returns 0, or -1 with err set.
 */
int router_node_file(const char *name, char *out, size_t size, char *err, size_t errsize);

/*
 * Append to out the NODE_OPTIONS option that loads the preload, --require=PATH
 * (quoted when PATH holds a space, quote or backslash), found beside this
 * program: installed (../lib/ccr-keyd/node) or in the source tree
 * (../client/node). Returns 0, or -1 with err set when it is not there.
 */
int router_preload_option(struct buf *out, char *err, size_t errsize);

/*
 * The file to execute for the router's command: the real path of its cli.js
 * when router_command() is the router however npm linked it (the router finds
 * its own files beside the script Node runs, so a symlink's directory will
 * not do), else router_command() itself, looked up on PATH by exec.
 */
const char *router_exec_file(struct router_install *r);

/*
 * Become the router's command with args (args[0] is replaced): its real
 * cli.js, hardened (router_harden; server for a command that runs the
 * server). Returns only on failure, with an exit code after saying why.
 */
int router_exec(char **args, bool server);

/*
 * What every router process ccr-config starts gets, as the systemd unit gives
 * it: no core file (RLIMIT_CORE 0), and, for the server (server true), files
 * private to the user (umask 077).
 */
void router_harden(bool server);

/*
 * Start `ccr start` detached (its own session, stdio on /dev/null, as the
 * router starts itself for `ccr code`), in a grandchild, so that no process
 * of ours is left as its parent, without the n environment variables named
 * in unset. Returns its pid, or -1 after printing why.
 */
pid_t router_start_detached(char *const *unset, size_t n);

/*
 * Wait until the router started as pid records that it listens. A router
 * that exits first because another one runs already counts if that one has
 * its keys. Returns 0, or an exit code after printing why.
 */
int router_wait_listening(const char *home, pid_t pid);

#endif
