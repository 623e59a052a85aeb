/*
 * ccr-config unlock [--for DURATION] [--stdin]: send the passphrase (unlock.c);
 * the daemon derives the key and keeps the keys until lock, --for or
 * --lock-after. On a terminal a wrong passphrase may be typed again, three
 * tries in all; a passphrase piped in is read as --stdin reads it.
 */
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "duration.h"

enum { OPT_FOR, OPT_STDIN };

static const struct cmd_option options[] = {
    [OPT_FOR] = {"for", 'f', "DURATION",
                 "lock again after DURATION (90s, 15m, 2h, 1d), used or not", ARG_DURATION},
    [OPT_STDIN] = {"stdin", 's', NULL,
                   "read the passphrase as one line from stdin (the default when it is piped)"},
    {0},
};

/* True when stdin is a pipe, socket or file: the passphrase was piped in (/dev/null is not). */
static bool
stdin_piped(void)
{
	struct stat st;

	return fstat(STDIN_FILENO, &st) == 0 &&
	       (S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode) || S_ISREG(st.st_mode));
}

/* Unlock the keystore. */
static int
cmd_unlock(struct cli *cli, const struct args *args)
{
	double seconds = args_has(args, OPT_FOR) ? duration_parse(args->value[OPT_FOR]) : 0;
	int rc;

	rc = cli_unlock(cli, seconds, args_has(args, OPT_STDIN) || stdin_piped());
	if (rc == EXIT_OK && cli->json) {
		struct buf out = {0};

		proto_reply_begin(&out, NULL);
		proto_field_bool(&out, "locked", false);
		cli_json_out(&out);
	}
	return rc;
}

const struct command cmd_unlock_entry = {
    .name = "unlock",
    .usage = "[--for DURATION] [--stdin]",
    .summary = "unlock the sealed keystore with its passphrase",
    .options = options,
    .args = {.min = 0, .max = 0},
    .json = "print {\"ok\":true,\"locked\":false} once unlocked",
    .example = "ccr-config unlock --for 8h",
    .run = cmd_unlock,
};
