/*
 * ccr-config delete NAME [--yes]: remove a key (NAME or its env name); exit 1
 * when there is none. On a terminal it asks first, naming the key masked.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "names.h"
#include "suggest.h"

enum { OPT_YES };

static const struct cmd_option options[] = {
    [OPT_YES] = {"yes", 'y', NULL, "delete without asking (it asks only on a terminal)"},
    {0},
};

/* Say that the key was kept: a line, or --json. */
static void
kept(struct cli *cli, const char *name)
{
	struct buf out = {0};

	if (!cli->json) {
		printf("kept %s\n", name);
		return;
	}
	proto_reply_begin(&out, NULL);
	proto_field_str(&out, "kept", name, strlen(name));
	cli_json_out(&out);
}

/*
 * Find the key word names (its name or env name) with a list and, when ask,
 * ask before deleting it. Writes its name to name, or "" when declined.
 * Returns 0, or an exit code after printing why.
 */
static int
choose(struct cli *cli, const char *word, bool ask, char name[NAME_MAX_LEN + 1])
{
	const struct jsonr *key;
	struct jsonr *list;
	char question[NAME_MAX_LEN + ENV_MAX_LEN + 64];
	int rc = 0;

	name[0] = '\0';
	list = cli_list(cli, &rc);
	if (list == NULL)
		return rc;
	key = suggest_find_key(jsonr_get(list, "keys"), word);
	if (key == NULL) {
		rc = suggest_no_key(jsonr_get(list, "keys"), word, "nothing deleted");
	} else {
		snprintf(question, sizeof question, "Delete %s ($%s, %s)? [y/N] ",
		         cli_str(key, "name"), cli_str(key, "env"), cli_str(key, "masked"));
		if (!ask || cli_confirm(question))
			snprintf(name, NAME_MAX_LEN + 1, "%s", cli_str(key, "name"));
		else
			kept(cli, cli_str(key, "name"));
	}
	conn_reply_free(list);
	return rc;
}

/* Send one delete of name. Returns the reply, or NULL with *rc set. */
static struct jsonr *
send_delete(struct cli *cli, const char *name, int *rc)
{
	struct buf req = {0};
	struct jsonr *reply;

	proto_request_begin(&req, OP_DELETE);
	proto_field_str(&req, "name", name, strlen(name));
	proto_end(&req);
	reply = cli_call(cli, &req, rc);
	buf_free(&req);
	return reply;
}

/* Delete one key. */
static int
cmd_delete(struct cli *cli, const struct args *args)
{
	const char *word = args->argv[0];
	char name[NAME_MAX_LEN + 1];
	struct buf out = {0};
	bool yes = args_has(args, OPT_YES), looked = false;
	struct jsonr *reply;
	int rc;

	if (!name_is_valid(word) && !env_is_valid(word))
		return cli_error(EXIT_USAGE, "'%s' is not a key name", word);
	snprintf(name, sizeof name, "%s", word);
	if ((!yes && cli_on_terminal()) || !name_is_valid(word)) {
		rc = choose(cli, word, !yes && cli_on_terminal(), name);
		if (rc != 0 || name[0] == '\0')
			return rc;
		looked = true;
	}
	reply = send_delete(cli, name, &rc);
	if (reply != NULL && !looked && conn_reply_error(reply, NULL) == PE_NOT_FOUND) {
		/* Not a key's name: perhaps its env name, or a slip of the finger. */
		conn_reply_free(reply);
		rc = choose(cli, word, false, name);
		if (rc != 0)
			return rc;
		reply = send_delete(cli, name, &rc);
	}
	if (reply == NULL)
		return rc;
	if (conn_reply_error(reply, NULL) == PE_NOT_FOUND) {
		rc = cli_error(EXIT_NOT_FOUND, "no key named %s; nothing deleted", name);
	} else if (conn_reply_error(reply, NULL) != PE_OK) {
		rc = cli_reply_failed(reply);
	} else if (cli->json) {
		proto_reply_begin(&out, NULL);
		proto_field_str(&out, "deleted", name, strlen(name));
		cli_json_out(&out);
	} else {
		printf("deleted %s\n", name);
	}
	conn_reply_free(reply);
	return rc;
}
const struct command cmd_delete_entry = {
    .name = "delete",
    .usage = "NAME [--yes]",
    .summary = "delete a key (NAME or its env name); asks first on a terminal",
    .options = options,
    .args = {.min = 1, .max = 1},
    .json = "print {\"ok\":true,\"deleted\":NAME}",
    .example = "ccr-config delete cerebras --yes",
    .run = cmd_delete,
};
