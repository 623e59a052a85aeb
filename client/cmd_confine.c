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
cmd_confine(struct cli *cli, const struct args *args)
{
	char **cmd = args->argv;
	char why[512];

	/* CMD's words are its own: a leading "--" is ours, a leading option is refused. */
	if (strcmp(cmd[0], "--") == 0)
		cmd++;
	else if (cmd[0][0] == '-')
		return cli_usage(cli);
	if (cmd[0] == NULL)
		return cli_usage(cli);
	if (!confine_available(why, sizeof why))
		return cli_error(EXIT_FAILURE_OTHER, "cannot confine %s: %s", cmd[0], why);
	return confine_exec(cmd);
}

const struct command cmd_confine_entry = {
    .name = "confine",
    .usage = "[--] CMD [ARGS...]",
    .summary = "run CMD where it can reach no keystore, socket or process of ccr-keyd's "
               "(bubblewrap)",
    .args = {.min = 1, .max = CMD_ARGS_ANY, .in_order = true, .literal = true},
    .example = "ccr-config confine -- sh",
    .run = cmd_confine,
};
