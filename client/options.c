/*
 * A command's options live in its table entry (struct command): this file
 * parses argv by that table and prints --help from it, so the parser, the help
 * text, the man page check and the completion checks read one list.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "duration.h"

/* getopt_long's val for the option at index i: above every letter. */
#define OPT_VAL(i) (256 + (i))

/* What getopt_long reads: a command's options as long options and an optstring. */
struct getopt_view {
	struct option longopts[CMD_OPTIONS_MAX + 1];
	char optstring[2 * CMD_OPTIONS_MAX + 3];
};

/* Fill v from the command's options. */
static void
view_build(const struct command *cmd, struct getopt_view *v)
{
	const struct cmd_option *o = cmd->options;
	size_t i, n = 0;

	if (cmd->args.in_order)
		v->optstring[n++] = '+';
	v->optstring[n++] = ':'; /* a missing argument is reported as such */
	for (i = 0; o != NULL && o[i].name != NULL && i < CMD_OPTIONS_MAX; i++) {
		v->longopts[i].name = o[i].name;
		v->longopts[i].has_arg = o[i].arg != NULL ? required_argument : no_argument;
		v->longopts[i].flag = NULL;
		v->longopts[i].val = OPT_VAL(i);
		if (o[i].letter != 0) {
			v->optstring[n++] = o[i].letter;
			if (o[i].arg != NULL)
				v->optstring[n++] = ':';
		}
	}
	memset(&v->longopts[i], 0, sizeof v->longopts[i]);
	v->optstring[n] = '\0';
}

/*
 * The next option of argv: its index in cmd->options, -1 after the last
 * option, or -2 for one the command does not have, said in cli->bad_option.
 */
static int
next_option(struct cli *cli, const struct getopt_view *v, int argc, char **argv)
{
	const struct cmd_option *o = cli->cmd->options;
	int c, i;

	c = getopt_long(argc, argv, v->optstring, v->longopts, NULL);
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
	return -2;
}

/* What arg should have been to pass rule ("a duration (90s, 15m, 2h)"), or NULL when it passes. */
static const char *
arg_fault(enum cmd_arg_rule rule, const char *arg)
{
	switch (rule) {
	case ARG_DURATION:
		return duration_parse(arg) > 0 ? NULL : "a duration (90s, 15m, 2h)";
	case ARG_DURATION_1S:
		return duration_parse(arg) >= 1 ? NULL : "a duration (90s, 15m, 2h)";
	default:
		return NULL;
	}
}

int
cli_parse(struct cli *cli, int argc, char **argv, struct args *args)
{
	const struct command *cmd = cli->cmd;
	const struct cmd_option *o = cmd->options;
	static char flag[] = ""; /* the value of a flag given */
	struct getopt_view v;
	const char *fault;
	int i;

	memset(args, 0, sizeof *args);
	args->argc = argc - 1;
	args->argv = argv + 1;
	if (!cmd->args.literal) {
		view_build(cmd, &v);
		/* Start getopt afresh: glibc needs optind 0, the BSDs optreset. */
#if defined(__GLIBC__)
		optind = 0;
#else
		optreset = 1;
		optind = 1;
#endif
		opterr = 0; /* we say what was wrong, in our words */
		while ((i = next_option(cli, &v, argc, argv)) != -1) {
			if (i < 0)
				return cli_usage(cli);
			if ((fault = arg_fault(o[i].rule, optarg)) != NULL)
				return cli_error(EXIT_USAGE, "--%s needs %s, not '%s'", o[i].name,
				                 fault, optarg);
			args->value[i] = o[i].arg != NULL ? optarg : flag;
		}
		args->argc = argc - optind;
		args->argv = argv + optind;
	}
	if (args->argc < cmd->args.min ||
	    (cmd->args.max != CMD_ARGS_ANY && args->argc > cmd->args.max))
		return cli_usage(cli);
	return 0;
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
