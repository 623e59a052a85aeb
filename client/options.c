/*
 * A command's options live in its table entry (struct command): this file
 * parses argv by that table and prints --help from it, so the parser, the help
 * text, the man page check and the completion checks read one list.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"

/* getopt_long's val for the option at index i: above every letter. */
#define OPT_VAL(i) (256 + (i))

/* Fill cli->longopts and cli->optstring from the command's options. */
static void
options_build(struct cli *cli)
{
	const struct cmd_option *o = cli->cmd->options;
	size_t i, n = 0;

	if (cli->cmd->in_order)
		cli->optstring[n++] = '+';
	cli->optstring[n++] = ':'; /* a missing argument is reported as such */
	for (i = 0; o != NULL && o[i].name != NULL && i < CMD_OPTIONS_MAX; i++) {
		cli->longopts[i].name = o[i].name;
		cli->longopts[i].has_arg = o[i].arg != NULL ? required_argument : no_argument;
		cli->longopts[i].flag = NULL;
		cli->longopts[i].val = OPT_VAL(i);
		if (o[i].letter != 0) {
			cli->optstring[n++] = o[i].letter;
			if (o[i].arg != NULL)
				cli->optstring[n++] = ':';
		}
	}
	memset(&cli->longopts[i], 0, sizeof cli->longopts[i]);
	cli->optstring[n] = '\0';
}

int
cli_getopt(struct cli *cli, int argc, char **argv)
{
	const struct cmd_option *o = cli->cmd->options;
	int c, i;

	if (cli->optstring[0] == '\0')
		options_build(cli);
	opterr = 0; /* we say what was wrong, in our words */
	c = getopt_long(argc, argv, cli->optstring, cli->longopts, NULL);
	if (c == -1)
		return -1;
	if (c >= OPT_VAL(0))
		return c - OPT_VAL(0);
	for (i = 0; o != NULL && o[i].name != NULL; i++) {
		if (o[i].letter != 0 && o[i].letter == c)
			return i;
	}
	if (c == ':')
		snprintf(cli->bad_option, sizeof cli->bad_option, "%s needs an argument",
		         argv[optind - 1]);
	else if (optopt > 0 && optopt < 256)
		snprintf(cli->bad_option, sizeof cli->bad_option, "%s has no option -%c",
		         cli->cmd->name, optopt);
	else
		snprintf(cli->bad_option, sizeof cli->bad_option, "%s has no option %s",
		         cli->cmd->name, argv[optind - 1]);
	return CLI_BAD_OPTION;
}

/* Print one option line: "  -e, --env VAR     what it does". */
static void
option_line(FILE *f, char letter, const char *name, const char *arg, const char *help)
{
	char left[64];

	if (letter != 0)
		snprintf(left, sizeof left, "-%c, --%s%s%s", letter, name, arg ? " " : "",
		         arg ? arg : "");
	else
		snprintf(left, sizeof left, "    --%s%s%s", name, arg ? " " : "", arg ? arg : "");
	if (strlen(left) > 22)
		fprintf(f, "  %s\n  %-22s  %s\n", left, "", help);
	else
		fprintf(f, "  %-22s  %s\n", left, help);
}

void
cli_command_help(const struct command *cmd, FILE *f)
{
	const struct cmd_option *o;

	fprintf(f, "usage: ccr-config %s%s%s\n  %s\n\noptions:\n", cmd->name,
	        cmd->usage[0] ? " " : "", cmd->usage, cmd->summary);
	for (o = cmd->options; o != NULL && o->name != NULL; o++)
		option_line(f, o->letter, o->name, o->arg, o->help);
	option_line(f, 0, "json", NULL,
	            cmd->json != NULL ? cmd->json : "report an error as one JSON object on stdout");
	option_line(f, 'h', "help", NULL, "show this help");
	if (cmd->example != NULL)
		fprintf(f, "\nexample:\n  %s\n", cmd->example);
}

void
cli_help(const struct command *const *commands, FILE *f)
{
	size_t i;

	fprintf(
	    f, "usage: ccr-config [--socket PATH] [--json] COMMAND [ARGS]\n\n"
	       "Store API keys for claude-code-router in ccr-keyd and run the router with them.\n\n"
	       "commands:\n");
	for (i = 0; commands[i] != NULL; i++)
		fprintf(f, "  %-12s %s\n", commands[i]->name, commands[i]->summary);
	fprintf(f, "\noptions:\n");
	option_line(f, 's', "socket", "PATH", "talk to the daemon on PATH");
	option_line(f, 'j', "json", NULL, "print JSON; errors too, as {\"ok\":false,…}");
	option_line(f, 'v', "version", NULL, "print the version (also -V, ccr-config version)");
	option_line(f, 'h', "help", NULL, "show this help");
	fprintf(f, "\nccr-config COMMAND --help shows a command's options and an example.\n"
	           "Exit codes: 0 ok, 1 not found, 2 usage, 3 daemon unreachable, 4 denied or "
	           "locked, 5 other failure.\n");
}
