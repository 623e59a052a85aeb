/*
 * ccr-config passphrase set|change|remove [--stdin]: seal the keystore with a
 * passphrase, change it, or go back to a plain keystore. On a terminal each
 * passphrase may be typed three times; with --stdin, change reads two lines
 * (the current passphrase, then the new one), set and remove one.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

/* How many times a person at the terminal may type a passphrase that is refused. */
#define PASS_TRIES 3

enum { OPT_STDIN };

static const struct cmd_option options[] = {
    [OPT_STDIN] =
        {"stdin", 's', NULL,
         "read it from stdin: set the new, remove the current; change: current, then new"},
    {0},
};

/* What one run asks for. */
struct ask {
	const char *action; /* "set", "change" or "remove" */
	bool from_stdin;
	bool on_tty; /* a person types: confirm a new one, allow PASS_TRIES tries */
};

/* Read the current passphrase. Returns 0 or an exit code. */
static int
read_current(const struct ask *a, struct buf *out)
{
	char missing[160];

	if (strcmp(a->action, "change") == 0)
		snprintf(
		    missing, sizeof missing,
		    "passphrase change --stdin reads two lines, the current passphrase and then "
		    "the new one: stdin is empty; nothing changed");
	else
		snprintf(
		    missing, sizeof missing,
		    "passphrase remove --stdin reads one line, the current passphrase: stdin is "
		    "empty; nothing changed");
	buf_free(out);
	return cli_read_line_secret("Current passphrase: ", a->from_stdin, missing, out);
}

/* Read the new passphrase, twice on a terminal (PASS_TRIES tries to type it the same). */
static int
read_new(const struct ask *a, struct buf *out)
{
	struct buf again = {0};
	int rc = 0, i;

	for (i = 1; i <= (a->on_tty ? PASS_TRIES : 1); i++) {
		buf_free(out);
		buf_free(&again);
		rc = cli_read_line_secret("New passphrase: ", a->from_stdin,
		                          strcmp(a->action, "change") == 0
		                              ? "passphrase change --stdin reads two lines, the "
		                                "current passphrase and then "
		                                "the new one: the second line, the new passphrase, "
		                                "is missing; nothing changed"
		                              : "passphrase set --stdin reads one line, the new "
		                                "passphrase: stdin is empty; "
		                                "nothing changed",
		                          out);
		if (rc != 0 || !a->on_tty)
			break;
		rc = cli_read_line_secret("Again: ", false, NULL, &again);
		if (rc != 0)
			break;
		if (again.len == out->len && memcmp(again.data, out->data, out->len) == 0)
			break;
		rc = i < PASS_TRIES ? 0
		                    : cli_error(EXIT_USAGE, "the two passphrases differ; "
		                                            "nothing changed");
		if (i < PASS_TRIES)
			fprintf(stderr, "the two passphrases differ; try again (%d of %d)\n", i + 1,
			        PASS_TRIES);
	}
	buf_free(&again);
	return rc;
}

/* Send the request. Returns the reply, or NULL with *rc set. */
static struct jsonr *
send_passphrase(struct cli *cli, const char *action, const struct buf *old, const struct buf *fresh,
                int *rc)
{
	struct buf req = {0};
	struct jsonr *reply;

	proto_request_begin(&req, OP_PASSPHRASE);
	proto_field_str(&req, "action", action, strlen(action));
	if (old->len > 0)
		proto_field_str(&req, "value", old->data, old->len);
	if (fresh->len > 0)
		proto_field_str(&req, "new_value", fresh->data, fresh->len);
	proto_end(&req);
	reply = cli_call(cli, &req, rc);
	buf_free(&req);
	return reply;
}

/* Say what was done: a line, or --json. */
static void
report(struct cli *cli, const char *action)
{
	struct buf out = {0};

	if (cli->json) {
		proto_reply_begin(&out, NULL);
		proto_field_bool(&out, "sealed", strcmp(action, "remove") != 0);
		cli_json_out(&out);
	} else if (strcmp(action, "remove") == 0) {
		printf("passphrase removed: the keystore is plain JSON again (mode 0600)\n");
	} else {
		printf("passphrase %s: the keystore is sealed; ccr-keyd stays unlocked until "
		       "ccr-config lock\n",
		       strcmp(action, "set") == 0 ? "set" : "changed");
	}
}

/* Set, change or remove the passphrase. */
static int
cmd_passphrase(struct cli *cli, const struct args *args)
{
	struct ask a = {.action = args->argv[0], .from_stdin = args_has(args, OPT_STDIN)};
	struct buf old = {0}, fresh = {0};
	struct jsonr *reply = NULL;
	int rc = 0, i;

	if (strcmp(a.action, "set") != 0 && strcmp(a.action, "change") != 0 &&
	    strcmp(a.action, "remove") != 0)
		return cli_usage(cli);
	if (a.from_stdin && isatty(STDIN_FILENO))
		return cli_error(EXIT_USAGE, "--stdin needs the passphrase piped in");
	if (!a.from_stdin && !isatty(STDIN_FILENO))
		return cli_error(EXIT_USAGE, "no terminal to prompt on; use --stdin to pipe the "
		                             "passphrase");
	a.on_tty = !a.from_stdin;
	cli_protect();
	cli->timeout_ms = 120000; /* Argon2id at moderate limits, twice for a change */
	if (strcmp(a.action, "set") != 0)
		rc = read_current(&a, &old);
	if (rc == 0 && strcmp(a.action, "remove") != 0)
		rc = read_new(&a, &fresh);
	for (i = 1; rc == 0; i++) {
		conn_reply_free(reply);
		reply = send_passphrase(cli, a.action, &old, &fresh, &rc);
		if (reply == NULL)
			break;
		if (conn_reply_error(reply, NULL) == PE_OK) {
			report(cli, a.action);
			break;
		}
		if (!cli_wrong_passphrase(reply) || !a.on_tty || i == PASS_TRIES) {
			rc = cli_reply_failed(reply);
			break;
		}
		fprintf(stderr, "wrong passphrase; try again (%d of %d)\n", i + 1, PASS_TRIES);
		rc = read_current(&a, &old);
	}
	conn_reply_free(reply);
	buf_free(&old);
	buf_free(&fresh);
	return rc;
}

const struct command cmd_passphrase_entry = {
    .name = "passphrase",
    .usage = "set|change|remove [--stdin]",
    .summary = "seal the keystore with a passphrase, change it, or remove it",
    .options = options,
    .args = {.min = 1, .max = 1},
    .json = "print {\"ok\":true,\"sealed\":true|false}",
    .example = "printf '%s\\n' \"$OLD\" \"$NEW\" | ccr-config passphrase change --stdin",
    .run = cmd_passphrase,
};
