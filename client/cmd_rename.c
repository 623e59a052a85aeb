/*
 * ccr-config rename OLD NEW: give a key (OLD: its name or env name) another
 * name. One "rename" request: the daemon writes it atomically and durably,
 * keeping the value, the env name, the created time and the origins, so the
 * router's config, which names env names, needs no change.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "names.h"
#include "suggest.h"

/* The name of the key word names (its name, else its env name) into name; 0 or an exit code. */
static int
key_name(struct cli *cli, const char *word, char name[NAME_MAX_LEN + 1])
{
	const struct jsonr *key;
	struct jsonr *list;
	int rc = 0;

	list = cli_list(cli, &rc);
	if (list == NULL)
		return rc;
	key = suggest_find_key(jsonr_get(list, "keys"), word);
	if (key == NULL)
		rc = suggest_no_key(jsonr_get(list, "keys"), word, "nothing renamed");
	else
		snprintf(name, NAME_MAX_LEN + 1, "%s", cli_str(key, "name"));
	conn_reply_free(list);
	return rc;
}

/* Rename one key. */
static int
cmd_rename(struct cli *cli, const struct args *args)
{
	char old[NAME_MAX_LEN + 1];
	const char *word = args->argv[0], *new_name = args->argv[1];
	struct buf req = {0}, out = {0};
	struct jsonr *reply;
	int rc;

	if (!name_is_valid(new_name))
		return cli_error(EXIT_USAGE, "'%s' is not a key name: use 1-128 of A-Z a-z 0-9 . _ -, "
		                             "starting with a letter or digit",
		                 new_name);
	if (!name_is_valid(word) && !env_is_valid(word))
		return cli_error(EXIT_USAGE, "'%s' is not a key name", word);
	rc = key_name(cli, word, old);
	if (rc != 0)
		return rc;
	proto_request_begin(&req, OP_RENAME);
	proto_field_str(&req, "name", old, strlen(old));
	proto_field_str(&req, "new_name", new_name, strlen(new_name));
	proto_end(&req);
	reply = cli_call_ok(cli, &req, &rc);
	if (reply == NULL)
		return rc;
	if (cli->json) {
		cli_json_key(&out, new_name);
		proto_field_str(&out, "old_name", old, strlen(old));
		proto_field_str(&out, "env", cli_str(reply, "env"), strlen(cli_str(reply, "env")));
		cli_json_out(&out);
	} else {
		printf("renamed %s to %s (still $%s: the router's config needs no change)\n", old,
		       new_name, cli_str(reply, "env"));
	}
	conn_reply_free(reply);
	return EXIT_OK;
}

const struct command cmd_rename_entry = {
    .name = "rename",
    .usage = "OLD NEW",
    .summary = "give a key another name, keeping its value, env name, times and origins",
    .args = {.min = 2, .max = 2},
    .json = "print {\"ok\":true,\"name\",\"old_name\",\"env\"}",
    .example = "ccr-config rename gemini-flash gemini",
    .run = cmd_rename,
};
