/*
 * ccr-config allow NAME...|--all [--for DURATION] [--revoke]: let processes
 * inside coding agents read the named keys (or every key) for a while, or take
 * that back. The daemon keeps it in memory only, and refuses it from inside an agent.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "duration.h"
#include "names.h"

/* How long an override lasts when --for is not given. */
#define ALLOW_DEFAULT_S 600

enum { OPT_ALL, OPT_FOR, OPT_REVOKE };

static const struct cmd_option options[] = {
    [OPT_ALL] = {"all", 'a', NULL, "every key instead of one NAME"},
    [OPT_FOR] = {"for", 'f', "DURATION", "how long (90s, 15m, 2h; default 10m, at most a week)",
                 ARG_DURATION_1S},
    [OPT_REVOKE] = {"revoke", 'r', NULL, "take the override back now"},
    {0},
};

/* Grant or revoke the override for name (NULL: every key). Returns an exit code. */
static int
send_allow(struct cli *cli, const char *name, double seconds, bool revoke)
{
	const char *what = name != NULL ? name : "every key";
	struct buf req = {0};
	struct jsonr *reply;
	int rc;

	proto_request_begin(&req, OP_ALLOW);
	if (name == NULL)
		proto_field_bool(&req, "all", true);
	else
		proto_field_str(&req, "name", name, strlen(name));
	proto_field_int(&req, "for", revoke ? 0 : (long long)seconds);
	proto_end(&req);
	reply = cli_call_ok(cli, &req, &rc);
	if (reply == NULL)
		return rc;
	if (revoke)
		printf("agents may no longer read %s\n", what);
	else
		printf("agents may read %s for %.0f s (until it expires, or: ccr-config allow "
		       "--revoke %s)\n",
		       what, seconds, name != NULL ? name : "--all");
	conn_reply_free(reply);
	return EXIT_OK;
}

/* Grant or revoke the overrides: one per NAME, or the one for every key. */
static int
cmd_allow(struct cli *cli, const struct args *args)
{
	bool all = args_has(args, OPT_ALL), revoke = args_has(args, OPT_REVOKE);
	bool timed = args_has(args, OPT_FOR);
	double seconds = timed ? duration_parse(args->value[OPT_FOR]) : ALLOW_DEFAULT_S;
	int i, rc = EXIT_OK;

	if ((all ? args->argc != 0 : args->argc == 0) || (revoke && timed))
		return cli_usage(cli);
	for (i = 0; i < args->argc; i++) {
		if (!name_is_valid(args->argv[i]))
			return cli_error(EXIT_USAGE, "'%s' is not a key name", args->argv[i]);
	}
	if (all)
		return send_allow(cli, NULL, seconds, revoke);
	/* Each name in turn (exec names them all): the first failure ends it. */
	for (i = 0; i < args->argc && rc == EXIT_OK; i++)
		rc = send_allow(cli, args->argv[i], seconds, revoke);
	return rc;
}

const struct command cmd_allow_entry = {
    .name = "allow",
    .usage = "NAME...|--all [--for DURATION] [--revoke]",
    .summary = "let coding agents read keys (or --all) for a while (default 10m)",
    .options = options,
    .args = {.max = CMD_ARGS_ANY}, /* NAME..., or none with --all */
    .example = "ccr-config allow cerebras --for 15m",
    .run = cmd_allow,
};
