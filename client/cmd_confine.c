/*
 * ccr-config confine [--] CMD [ARGS...]: execute CMD confined by the kernel
 * (confine.c): it and all it starts see no ccr-keyd file or socket and no
 * process outside. `ccr code` and `guard` confine their agents with it; the
 * router's preload runs the agent `ccr code` starts through it.
 */
#include <string.h>

#include "cli.h"
#include "confine.h"

/* Become CMD, confined; returns only on failure. */
static int
cmd_confine(struct cli *cli, int argc, char **argv)
{
	char why[512];
	int first = argc > 1 && strcmp(argv[1], "--") == 0 ? 2 : 1;

	if (first >= argc || (first == 1 && argv[1][0] == '-'))
		return cli_usage(cli);
	if (!confine_available(why, sizeof why))
		return cli_error(EXIT_FAILURE_OTHER, "cannot confine %s: %s", argv[first], why);
	return confine_exec(argv + first);
}

const struct command cmd_confine_entry = {
    .name = "confine",
    .usage = "[--] CMD [ARGS...]",
    .summary = "run CMD where it can reach no keystore, socket or process of ccr-keyd's "
               "(bubblewrap)",
    .example = "ccr-config confine -- sh",
    .in_order = true,
    .run = cmd_confine,
};
