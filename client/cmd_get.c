/*
 * ccr-config get NAME: one key's env name, masked value and update time. NAME
 * may be the key's env name too. One list request: the value never leaves the
 * daemon, which masks it.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "names.h"
#include "suggest.h"

/* Show one key, masked. */
static int
cmd_get(struct cli *cli, int argc, char **argv)
{
	const char *word = argc == 2 ? argv[1] : NULL;
	const struct jsonr *key;
	struct jsonr *list;
	struct buf out = {0};
	char when[64];
	int rc;

	if (word == NULL || word[0] == '-')
		return cli_usage(cli);
	if (!name_is_valid(word) && !env_is_valid(word))
		return cli_error(EXIT_USAGE, "'%s' is not a key name", word);
	list = cli_list(cli, &rc);
	if (list == NULL)
		return rc;
	key = suggest_find_key(jsonr_get(list, "keys"), word);
	if (key == NULL) {
		rc = suggest_no_key(jsonr_get(list, "keys"), word,
		                    "list them with: ccr-config list");
	} else if (cli->json) {
		buf_adds(&out, "{\"ok\":true,\"name\":");
		jsonr_print_str(&out, cli_str(key, "name"), strlen(cli_str(key, "name")));
		proto_field_str(&out, "env", cli_str(key, "env"), strlen(cli_str(key, "env")));
		proto_field_str(&out, "masked", cli_str(key, "masked"),
		                strlen(cli_str(key, "masked")));
		proto_field_str(&out, "updated", cli_str(key, "updated"),
		                strlen(cli_str(key, "updated")));
		buf_adds(&out, "}\n");
		cli_json_out(&out);
	} else {
		cli_time_local(cli_str(key, "updated"), when, sizeof when);
		printf("%s  %s  %s  updated %s\n", cli_str(key, "name"), cli_str(key, "env"),
		       cli_str(key, "masked"), when);
	}
	buf_free(&out);
	conn_reply_free(list);
	return rc;
}

const struct command cmd_get_entry = {
    .name = "get",
    .usage = "NAME",
    .summary = "show a key's env name, masked value and update time (NAME or its env name)",
    .json = "print {\"ok\":true,\"name\",\"env\",\"masked\",\"updated\"}",
    .example = "ccr-config get OPENROUTER_API_KEY",
    .run = cmd_get,
};
