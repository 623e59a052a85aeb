/*
 * ccr-config allow NAME|--all [--for DURATION] [--revoke]: let processes
 * inside coding agents read one key (or every key) for a while, or take that
 * back. The daemon keeps it in memory only, and refuses it from inside an agent.
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
    [OPT_FOR] = {"for", 'f', "DURATION", "how long (90s, 15m, 2h; default 10m, at most a week)"},
    [OPT_REVOKE] = {"revoke", 'r', NULL, "take the override back now"},
    {0},
};

/* Grant or revoke one override. */
static int
cmd_allow(struct cli *cli, int argc, char **argv)
{
	double seconds = ALLOW_DEFAULT_S;
	bool all = false, revoke = false, timed = false;
	const char *name, *what;
	struct buf req = {0};
	struct jsonr *reply;
	int c, rc;

	while ((c = cli_getopt(cli, argc, argv)) != -1) {
		if (c == OPT_FOR) {
			seconds = duration_parse(optarg);
			timed = true;
			if (seconds < 1)
				return cli_error(EXIT_USAGE,
				                 "--for needs a duration (90s, 15m, 2h), not '%s'",
				                 optarg);
		} else if (c == OPT_ALL) {
			all = true;
		} else if (c == OPT_REVOKE) {
			revoke = true;
		} else {
			return cli_usage(cli);
		}
	}
	name = optind < argc ? argv[optind] : NULL;
	if (argc - optind != (all ? 0 : 1) || (revoke && timed))
		return cli_usage(cli);
	if (name != NULL && !name_is_valid(name))
		return cli_error(EXIT_USAGE, "'%s' is not a key name", name);
	proto_request_begin(&req, OP_ALLOW);
	if (all)
		proto_field_bool(&req, "all", true);
	else
		proto_field_str(&req, "name", name, strlen(name));
	proto_field_int(&req, "for", revoke ? 0 : (long long)seconds);
	proto_end(&req);
	reply = cli_call_ok(cli, &req, &rc);
	if (reply == NULL)
		return rc;
	what = all ? "every key" : name;
	if (revoke)
		printf("agents may no longer read %s\n", what);
	else
		printf("agents may read %s for %.0f s (until it expires, or: ccr-config allow "
		       "--revoke %s)\n",
		       what, seconds, all ? "--all" : name);
	conn_reply_free(reply);
	return EXIT_OK;
}

const struct command cmd_allow_entry = {
    .name = "allow",
    .usage = "NAME|--all [--for DURATION] [--revoke]",
    .summary = "let coding agents read a key (or --all) for a while (default 10m)",
    .options = options,
    .example = "ccr-config allow cerebras --for 15m",
    .run = cmd_allow,
};
