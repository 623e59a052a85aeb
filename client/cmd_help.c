/*
 * ccr-config help [COMMAND]: the list of commands, or one command's --help.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "suggest.h"

/* Print the help asked for. */
static int
cmd_help(struct cli *cli, const struct args *args)
{
	const char *word = args->argv[0];
	struct suggestion sg;
	char near[256];
	size_t i;

	if (word == NULL) {
		cli_help(cli->commands, stdout);
		return EXIT_OK;
	}
	suggest_init(&sg, word);
	for (i = 0; cli->commands[i] != NULL; i++) {
		if (strcmp(cli->commands[i]->name, word) == 0) {
			cli_command_help(cli->commands[i], stdout);
			return EXIT_OK;
		}
		suggest_offer(&sg, cli->commands[i]->name);
	}
	suggest_phrase(&sg, near, sizeof near);
	if (near[0] != '\0')
		return cli_error(EXIT_USAGE, "unknown command '%s'; did you mean %s?", word, near);
	return cli_error(EXIT_USAGE, "unknown command '%s'; ccr-config help lists the commands",
	                 word);
}

const struct command cmd_help_entry = {
    .name = "help",
    .usage = "[COMMAND]",
    .summary = "list the commands, or show one command's options and an example",
    .args = {.max = 1, .literal = true},
    .example = "ccr-config help set",
    .run = cmd_help,
};
