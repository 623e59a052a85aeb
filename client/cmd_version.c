/*
 * ccr-config version: the version, as -v and --version print it.
 */
#include <stdio.h>

#include "cli.h"

/* Print the version. */
static int
cmd_version(struct cli *cli, const struct args *args)
{
	(void)args;
	if (cli->json) {
		struct buf out = {0};

		proto_reply_begin(&out, NULL);
		proto_field_str(&out, "version", CCR_KEYD_VERSION, sizeof CCR_KEYD_VERSION - 1);
		cli_json_out(&out);
	} else {
		printf("ccr-config %s\n", CCR_KEYD_VERSION);
	}
	return EXIT_OK;
}

const struct command cmd_version_entry = {
    .name = "version",
    .usage = "",
    .summary = "print the version (as -v and --version do)",
    .args = {.literal = true},
    .json = "print {\"ok\":true,\"version\":…}",
    .example = "ccr-config version",
    .run = cmd_version,
};
