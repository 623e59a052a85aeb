/*
 * Unlocking a sealed keystore: the passphrase typed on the terminal (three
 * tries while the daemon answers it is wrong) or one line piped on stdin, sent
 * once per try. Used by unlock, and by exec and router when they find the
 * keystore locked.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

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

bool
cli_wrong_passphrase(const struct jsonr *reply)
{
	const char *msg;

	return conn_reply_error(reply, &msg) == PE_DENIED && strcmp(msg, PROTO_WRONG_PASSPHRASE) == 0;
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
		if (!cli_wrong_passphrase(reply)) {
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
