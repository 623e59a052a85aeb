/*
 * ccr-config guard [--no-confine] [--] CMD [ARGS...]: run CMD under a guard
 * (guard.c), so that ccr-keyd gives CMD and everything it starts —
 * double-forked, setsid or not — no key and takes no change from them, and
 * confined by the kernel (confine.c), so that none of them can read the
 * keystore, reach or replace the socket, or touch a process outside: for a
 * coding agent started by hand, or by the wrappers `shell-init --agents`
 * defines. `ccr code` does this itself.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "confine.h"
#include "guard.h"

/* Become CMD (guard_run calls it in the child); returns only on failure. */
static int
become(char **cmd)
{
	return cli_exec(cmd, NULL);
}

/* Become CMD confined (guard_run calls it in the child); returns only on failure. */
static int
become_confined(char **cmd)
{
	return confine_exec(cmd);
}

enum { OPT_NO_CONFINE };

static const struct cmd_option options[] = {
    [OPT_NO_CONFINE] = {"no-confine", 0, NULL, "the guard only: no kernel confinement"},
    {0},
};

/* Run a command under a guard, confined where the kernel can. */
static int
cmd_guard(struct cli *cli, const struct args *args)
{
	const char *cmd = args->argv[0], *base;
	char label[64], why[512];
	bool confine = !args_has(args, OPT_NO_CONFINE);

	if (confine && !confine_available(why, sizeof why)) {
		cli_warn("%s runs under the guard only, not confined: %s; it can read a plain "
		         "keystore file and other processes of yours",
		         cmd, why);
		confine = false;
	}
	base = strrchr(cmd, '/') != NULL ? strrchr(cmd, '/') + 1 : cmd;
	snprintf(label, sizeof label, "%s", base);
	return guard_run(cli, label, confine ? become_confined : become, args->argv, -1);
}

const struct command cmd_guard_entry = {
    .name = "guard",
    .usage = "[--no-confine] [--] CMD [ARGS...]",
    .summary = "run CMD (a coding agent) so that it and all it starts get no key, confined",
    .options = options,
    .args = {.min = 1, .max = CMD_ARGS_ANY, .in_order = true},
    .example = "ccr-config guard -- codex",
    .run = cmd_guard,
};
