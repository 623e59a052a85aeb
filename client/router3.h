/*
 * claude-code-router 3.x through ccr-config: its keys come per upstream
 * request from ccr-keyd's gateway plugin (client/node/plugin3.cjs), which
 * ccr-config registers through the router's own extension mechanism; what
 * needs config.sqlite is done by a Node helper (client/node/router3.cjs) run
 * with the router's Node, since ccr-config links libc only.
 */
#ifndef CCR_ROUTER3_H
#define CCR_ROUTER3_H

#include <stdbool.h>

#include "buf.h"
#include "jsonr.h"

struct cli;

/*
 * Run the 3.x router's command args (args[0] is replaced by its cli.js): the
 * plugin registered (in config.json before the first start, through the
 * router's API once it runs), the names its providers reference out of the
 * environment of everything started, the server running before a profile's
 * agent starts, that agent under the guard. Returns only on failure or after
 * a command it waited for, with the exit code.
 */
int router3_command(struct cli *cli, char **args);

/*
 * Run the helper, `node router3.cjs VERB HOME PLUGIN CONFIG EXTRA KEYS` (HOME
 * the router's, PLUGIN plugin3.cjs's real path, CONFIG its config: the
 * socket; EXTRA "-" when NULL; KEYS the keystore's [{name, env}], "[]" when
 * NULL), and parse the JSON line it prints into *out. Returns 0, or an exit
 * code after printing why (the helper's own message when it has one).
 */
int router3_helper(struct cli *cli, const char *verb, const char *extra, const char *keys,
                   struct jsonr **out);

/* True when the installed router is a supported 3.x whose home has a config.sqlite. */
bool router3_store_exists(void);

/*
 * ccr-config migrate for that home (migrate3.c): its provider keys in clear
 * into ccr-keyd, references in their place, no copy left; with dry_run, what
 * would change, masked. Refused while the router runs. Returns an exit code.
 */
int router3_migrate(struct cli *cli, bool dry_run);

#endif
