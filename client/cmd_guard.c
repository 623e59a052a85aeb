/*
 * ccr-config guard [--] CMD [ARGS...]: run CMD under a guard (guard.c), so
 * that ccr-keyd gives CMD and everything it starts — double-forked, setsid or
 * not — no key and takes no change from them: for a coding agent that is not
 * on ccr-keyd's list, or one started through a wrapper. `ccr code` does this
 * itself.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "guard.h"

/* Become CMD (guard_run calls it in the child); returns only on failure. */
static int
become(char **cmd)
{
	return cli_exec(cmd, NULL);
}

/* Run a command under a guard. */
static int
cmd_guard(struct cli *cli, int argc, char **argv)
{
	const char *base;
	char label[64];
	int first = argc > 1 && strcmp(argv[1], "--") == 0 ? 2 : 1;

	if (first >= argc || (first == 1 && argv[1][0] == '-'))
		return cli_usage(cli);
	base = strrchr(argv[first], '/') != NULL ? strrchr(argv[first], '/') + 1 : argv[first];
	snprintf(label, sizeof label, "%s", base);
	return guard_run(cli, label, become, argv + first, -1);
}

const struct command cmd_guard_entry = {
    .name = "guard",
    .usage = "[--] CMD [ARGS...]",
    .summary = "run CMD (a coding agent) so that it and all it starts get no key",
    .example = "ccr-config guard -- codex",
    .in_order = true,
    .run = cmd_guard,
};
