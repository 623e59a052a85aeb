/*
 * ccr-config unlock [--for DURATION] [--stdin]: send the passphrase once; the
 * daemon derives the key and keeps the keys until lock, --for or --lock-after.
 */
#include <getopt.h>
#include <stdio.h>

#include "cli.h"
#include "duration.h"

/* Unlock the keystore. */
static int
cmd_unlock(struct cli *cli, int argc, char **argv)
{
	static const struct option longopts[] = {
		{"for", required_argument, NULL, 'f'},
		{"stdin", no_argument, NULL, 's'},
		{NULL, 0, NULL, 0},
	};
	double seconds = 0;
	bool from_stdin = false;
	int c;

	while ((c = getopt_long(argc, argv, "f:s", longopts, NULL)) != -1) {
		if (c == 'f') {
			seconds = duration_parse(optarg);
			if (seconds <= 0)
				return cli_error(EXIT_USAGE, "--for needs a duration (90s, 15m, 2h), "
							     "not '%s'",
						 optarg);
		} else if (c == 's') {
			from_stdin = true;
		} else {
			return cli_usage(cli);
		}
	}
	if (optind != argc)
		return cli_usage(cli);
	return cli_unlock(cli, seconds, from_stdin);
}

const struct command cmd_unlock_entry = {
	.name = "unlock",
	.usage = "[--for DURATION] [--stdin]",
	.summary = "unlock the sealed keystore with its passphrase",
	.run = cmd_unlock,
};
