/*
 * What ccr-config check's parts share: its warnings, which go to stderr and
 * into the list that --json prints, the config part (check_config.c) and the
 * router part (check_router.c).
 */
#ifndef CCR_CHECK_H
#define CCR_CHECK_H

#include <stdbool.h>

#include "buf.h"
#include "cli.h"
#include "interp.h"

/* Print "ccr-config: warning: MESSAGE" and add {"warning":code,"message":…} to warnings. */
void check_warn(struct buf *warnings, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/*
 * Report on the router itself: whether one runs and got its keys from ccr-keyd
 * (its pid file and the preload's record; for 3.x, whether ccr-keyd's plugin
 * is registered and which provider keys config.sqlite holds in clear), which
 * version is installed, and whether a config.sqlite holds the keystore's keys.
 * Lines go to stdout unless json; ,"router":{…} is appended to json_out.
 * Returns true when the installed router is 3.x or later (config.json is then
 * not where its configuration lives).
 */
bool check_router(struct cli *cli, bool json, struct buf *json_out, struct buf *warnings);

/*
 * Append ,"agents":{confined, why, wrapped} to json: whether agents that ccr
 * starts run confined here, and whether this shell wraps the agent commands
 * (CCR_KEYD_WRAPS_AGENTS); with print, say it in one line on stdout too.
 */
void check_agents(struct buf *json, bool print);

/*
 * Parse the config text at path as the router would and warn about what
 * exposes its keys: no APIKEY, or one by reference; a debug log level (lookup
 * and arg expand the names LOG_LEVEL references). Returns 0, or
 * EXIT_FAILURE_OTHER after printing why the router cannot parse it, with the
 * reason in err too.
 */
int check_exposure(const struct buf *text, const char *path, interp_lookup_fn lookup, void *arg,
                   struct buf *warnings, char *err, size_t errsize);

/* Warn when the router, which reads only $HOME/.claude-code-router, would read another config. */
void check_router_home(const char *path, struct buf *warnings);

/*
 * Warn when the config text holds literal keys as api_key values, naming each
 * provider with its key masked, and the migrate command (with path when named).
 * Returns how many it found.
 */
long check_literals(const char *path, const struct buf *text, bool named, struct buf *warnings);

/*
 * Warn about each stored key (keys: a list reply's array) that a provider of the
 * config text uses when the key is bound to no origin, or its binding lacks
 * the origin of that provider's api_base_url; each warning names the command.
 */
void check_bindings(const struct buf *text, const struct jsonr *keys, struct buf *warnings);

/*
 * Warn about each stored key (keys: a list reply's array) whose env name does
 * not look like a credential's (env_is_credential), with the delete command.
 */
void check_env_names(const struct jsonr *keys, struct buf *warnings);

/*
 * Warn about each file beside the config at path that holds keys in clear, with
 * the command that removes it: migrate's PATH.bak-TIME and the router's own
 * PATH.TIME.bak (literal api_keys, or any of the nvalues values), and the
 * router's old logs, logs/ccr-*.log (any of the values). Returns how many.
 */
long check_backups(const char *path, const char *const *values, size_t nvalues,
                   struct buf *warnings);

#endif
