/*
 * ccr-config passphrase set|change|remove [--stdin]: seal the keystore with a
 * passphrase, change it, or go back to a plain keystore.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

/* Read a passphrase: one line of stdin with --stdin, else a prompt (twice for a new one). */
static int
read_pass(const char *prompt, bool twice, bool from_stdin, struct buf *out)
{
	struct buf again = {0};
	char confirm[128];
	int rc;

	if (from_stdin && isatty(STDIN_FILENO))
		return cli_error(EXIT_USAGE, "--stdin needs the passphrase piped in");
	if (!from_stdin && !isatty(STDIN_FILENO))
		return cli_error(EXIT_USAGE, "no terminal to prompt on; use --stdin to pipe the "
					     "passphrase");
	rc = cli_read_line_secret(prompt, from_stdin, out);
	if (rc != 0 || !twice || from_stdin)
		return rc;
	snprintf(confirm, sizeof confirm, "Again: ");
	rc = cli_read_line_secret(confirm, false, &again);
	if (rc == 0 && (again.len != out->len || memcmp(again.data, out->data, out->len) != 0))
		rc = cli_error(EXIT_USAGE, "the two passphrases differ; nothing changed");
	buf_free(&again);
	return rc;
}

/* Set, change or remove the passphrase. */
static int
cmd_passphrase(struct cli *cli, int argc, char **argv)
{
	static const struct option longopts[] = {
		{"stdin", no_argument, NULL, 's'},
		{NULL, 0, NULL, 0},
	};
	struct buf old = {0}, fresh = {0}, req = {0};
	const char *action;
	bool from_stdin = false;
	struct jsonr *reply = NULL;
	int c, rc;

	while ((c = getopt_long(argc, argv, "s", longopts, NULL)) != -1) {
		if (c == 's')
			from_stdin = true;
		else
			return cli_usage(cli);
	}
	if (argc - optind != 1)
		return cli_usage(cli);
	action = argv[optind];
	if (strcmp(action, "set") != 0 && strcmp(action, "change") != 0 &&
	    strcmp(action, "remove") != 0)
		return cli_usage(cli);
	cli_protect();
	cli->timeout_ms = 120000; /* Argon2id at moderate limits, twice for a change */
	rc = 0;
	if (strcmp(action, "set") != 0)
		rc = read_pass("Current passphrase: ", false, from_stdin, &old);
	if (rc == 0 && strcmp(action, "remove") != 0)
		rc = read_pass("New passphrase: ", true, from_stdin, &fresh);
	if (rc != 0)
		goto done;
	proto_request_begin(&req, OP_PASSPHRASE);
	proto_field_str(&req, "action", action, strlen(action));
	if (old.len > 0)
		proto_field_str(&req, "value", old.data, old.len);
	if (fresh.len > 0)
		proto_field_str(&req, "new_value", fresh.data, fresh.len);
	proto_end(&req);
	buf_free(&old);
	buf_free(&fresh);
	reply = cli_call(cli, &req, &rc);
	if (reply == NULL)
		goto done;
	if (conn_reply_error(reply, NULL) != PE_OK) {
		rc = cli_reply_failed(reply);
		goto done;
	}
	if (strcmp(action, "remove") == 0)
		printf("passphrase removed: the keystore is plain JSON again (mode 0600)\n");
	else
		printf("passphrase %s: the keystore is sealed; ccr-keyd stays unlocked until "
		       "ccr-config lock\n",
		       strcmp(action, "set") == 0 ? "set" : "changed");
	rc = EXIT_OK;
done:
	conn_reply_free(reply);
	buf_free(&old);
	buf_free(&fresh);
	buf_free(&req);
	return rc;
}

const struct command cmd_passphrase_entry = {
	.name = "passphrase",
	.usage = "set|change|remove [--stdin]",
	.summary = "seal the keystore with a passphrase, change it, or remove it",
	.run = cmd_passphrase,
};
