/*
 * ccr-config unlock [--for DURATION] [--stdin]: send the passphrase; the daemon
 * derives the key and keeps the keys until lock, --for or --lock-after. On a
 * terminal a wrong passphrase may be typed again, three tries in all.
 */
#include <stdio.h>
#include <unistd.h>

#include "cli.h"
#include "duration.h"

/* How many passphrases a person at the terminal may type before unlock gives up. */
#define UNLOCK_TRIES 3

/* Send one unlock with the passphrase in pass. Returns the reply, or NULL with *rc set. */
static struct jsonr *
send_unlock(struct cli *cli, const struct buf *pass, double seconds, int *rc)
{
	struct buf req = {0};
	struct jsonr *reply;
	int saved = cli->timeout_ms;

	proto_request_begin(&req, OP_UNLOCK);
	proto_field_str(&req, "value", pass->data, pass->len);
	if (seconds > 0) {
		char num[32];

		snprintf(num, sizeof num, "%.3f", seconds); /* --for 0.5s is half a second */
		proto_field_key(&req, "for");
		buf_adds(&req, num);
	}
	proto_end(&req);
	cli->timeout_ms = 120000; /* Argon2id, plus the delay after wrong answers */
	if (cli->connected) {
		conn_close(&cli->conn);
		cli->connected = false;
	}
	reply = cli_call(cli, &req, rc);
	cli->timeout_ms = saved;
	buf_free(&req);
	return reply;
}

int
cli_unlock(struct cli *cli, double seconds, bool from_stdin)
{
	struct buf pass = {0};
	struct jsonr *reply = NULL;
	int tries = !from_stdin && isatty(STDIN_FILENO) ? UNLOCK_TRIES : 1, rc = 0, i;

	cli_protect();
	for (i = 1; i <= tries; i++) {
		buf_free(&pass);
		conn_reply_free(reply);
		reply = NULL;
		rc = cli_read_line_secret("Passphrase for the ccr-keyd keystore: ", from_stdin,
		                          "no passphrase on stdin; nothing done", &pass);
		if (rc != 0)
			break;
		reply = send_unlock(cli, &pass, seconds, &rc);
		if (reply == NULL)
			break;
		if (conn_reply_error(reply, NULL) == PE_OK) {
			rc = EXIT_OK;
			break;
		}
		if (conn_reply_error(reply, NULL) != PE_DENIED) {
			rc = cli_reply_failed(reply);
			break;
		}
		if (i == tries)
			rc = cli_error(EXIT_DENIED, "wrong passphrase; the keystore stays locked");
		else
			fprintf(stderr, "wrong passphrase; try again (%d of %d)\n", i + 1, tries);
	}
	conn_reply_free(reply);
	buf_free(&pass);
	return rc;
}

enum { OPT_FOR, OPT_STDIN };

static const struct cmd_option options[] = {
    [OPT_FOR] = {"for", 'f', "DURATION",
                 "lock again after DURATION (90s, 15m, 2h, 1d), used or not"},
    [OPT_STDIN] = {"stdin", 's', NULL, "read the passphrase as one line from stdin"},
    {0},
};

/* Unlock the keystore. */
static int
cmd_unlock(struct cli *cli, int argc, char **argv)
{
	double seconds = 0;
	bool from_stdin = false;
	int c, rc;

	while ((c = cli_getopt(cli, argc, argv)) != -1) {
		switch (c) {
		case OPT_FOR:
			seconds = duration_parse(optarg);
			if (seconds <= 0)
				return cli_error(EXIT_USAGE,
				                 "--for needs a duration (90s, 15m, 2h), not '%s'",
				                 optarg);
			break;
		case OPT_STDIN:
			from_stdin = true;
			break;
		default:
			return cli_usage(cli);
		}
	}
	if (optind != argc)
		return cli_usage(cli);
	rc = cli_unlock(cli, seconds, from_stdin);
	if (rc == EXIT_OK && cli->json) {
		struct buf out = {0};

		buf_adds(&out, "{\"ok\":true,\"locked\":false}\n");
		cli_json_out(&out);
		buf_free(&out);
	}
	return rc;
}

const struct command cmd_unlock_entry = {
    .name = "unlock",
    .usage = "[--for DURATION] [--stdin]",
    .summary = "unlock the sealed keystore with its passphrase",
    .options = options,
    .json = "print {\"ok\":true,\"locked\":false} once unlocked",
    .example = "ccr-config unlock --for 8h",
    .run = cmd_unlock,
};
