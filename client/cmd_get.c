/*
 * ccr-config get NAME: one key's env name, masked value, update time and the
 * origins it is bound to. NAME may be the key's env name too. The daemon masks
 * the value, so it never leaves the daemon, and a masked get is served inside a
 * coding agent too.
 */
#include <stdio.h>
#include <string.h>

#include "binding.h"
#include "cli.h"
#include "names.h"
#include "suggest.h"

/* Print one key (a get reply or a list entry, both with name, env, masked, updated, origins). */
static void
show(struct cli *cli, const struct jsonr *key)
{
	struct buf out = {0};
	char when[64], bound[BINDING_TEXT_MAX];

	if (!cli->json) {
		cli_time_local(cli_str(key, "updated"), when, sizeof when);
		binding_join(jsonr_get(key, "origins"), ", ", bound, sizeof bound);
		printf("%s  %s  %s  updated %s  bound to %s\n", cli_str(key, "name"),
		       cli_str(key, "env"), cli_str(key, "masked"), when,
		       bound[0] != '\0' ? bound : "no origin");
		return;
	}
	buf_adds(&out, "{\"ok\":true,\"name\":");
	jsonr_print_str(&out, cli_str(key, "name"), strlen(cli_str(key, "name")));
	proto_field_str(&out, "env", cli_str(key, "env"), strlen(cli_str(key, "env")));
	proto_field_str(&out, "masked", cli_str(key, "masked"), strlen(cli_str(key, "masked")));
	proto_field_str(&out, "updated", cli_str(key, "updated"), strlen(cli_str(key, "updated")));
	binding_copy(&out, jsonr_get(key, "origins"));
	buf_adds(&out, "}\n");
	cli_json_out(&out);
	buf_free(&out);
}

/*
 * Not a key's name: find it by env name in a list, or say which names are
 * near. Costs a list, so only a miss pays for it.
 */
static int
look_up(struct cli *cli, const char *word)
{
	const struct jsonr *key;
	struct jsonr *list;
	int rc = EXIT_OK;

	list = cli_list(cli, &rc);
	if (list == NULL)
		return rc;
	key = suggest_find_key(jsonr_get(list, "keys"), word);
	if (key == NULL)
		rc = suggest_no_key(jsonr_get(list, "keys"), word,
		                    "list them with: ccr-config list");
	else
		show(cli, key);
	conn_reply_free(list);
	return rc;
}

/* Show one key, masked. */
static int
cmd_get(struct cli *cli, int argc, char **argv)
{
	const char *word = argc == 2 ? argv[1] : NULL;
	struct buf req = {0};
	struct jsonr *reply;
	enum proto_err err;
	int rc;

	if (word == NULL || word[0] == '-')
		return cli_usage(cli);
	if (!name_is_valid(word) && !env_is_valid(word))
		return cli_error(EXIT_USAGE, "'%s' is not a key name", word);
	if (!name_is_valid(word))
		return look_up(cli, word);
	proto_request_begin(&req, OP_GET);
	proto_field_str(&req, "name", word, strlen(word));
	proto_field_bool(&req, "masked", true);
	proto_end(&req);
	reply = cli_call(cli, &req, &rc);
	buf_free(&req);
	if (reply == NULL)
		return rc;
	err = conn_reply_error(reply, NULL);
	if (err == PE_OK)
		show(cli, reply);
	else if (err == PE_NOT_FOUND)
		rc = look_up(cli, word);
	else
		rc = cli_reply_failed(reply);
	conn_reply_free(reply);
	return rc;
}

const struct command cmd_get_entry = {
    .name = "get",
    .usage = "NAME",
    .summary = "show a key's env name, masked value, update time and origins (NAME or env name)",
    .json = "print {\"ok\":true,\"name\",\"env\",\"masked\",\"updated\",\"origins\":[…]}",
    .example = "ccr-config get OPENROUTER_API_KEY",
    .run = cmd_get,
};
