/*
 * ccr-config list: every key as a table NAME / ENV / KEY / UPDATED / ORIGINS,
 * masked; ORIGINS is the key's binding, comma-separated, or - when it has none.
 */
#include <stdio.h>
#include <string.h>

#include "binding.h"
#include "cli.h"

/* Width of the widest string member key among the list's items (at least min). */
static int
column_width(const struct jsonr *keys, const char *key, int min)
{
	const struct jsonr *k;
	int w = min;

	jsonr_foreach(k, keys)
	{
		int n = (int)strlen(cli_str(k, key));

		if (n > w)
			w = n;
	}
	return w;
}

/* Print every key. */
static int
cmd_list(struct cli *cli, const struct args *args)
{
	const struct jsonr *keys, *k;
	struct jsonr *reply;
	char when[64], bound[BINDING_TEXT_MAX];
	int rc, wn, we;

	(void)args;
	reply = cli_list(cli, &rc);
	if (reply == NULL)
		return rc;
	keys = jsonr_get(reply, "keys");
	if (cli->json) {
		struct buf out = {0};

		proto_reply_begin(&out, NULL);
		if (keys != NULL) {
			proto_field_key(&out, "keys");
			jsonr_print(&out, keys);
		}
		cli_json_out(&out);
	} else if (jsonr_count(keys) == 0) {
		fprintf(stderr, "no keys stored; add one with: ccr-config set NAME\n");
	} else {
		wn = column_width(keys, "name", 4);
		we = column_width(keys, "env", 3);
		printf("%-*s  %-*s  %-11s  %-16s  %s\n", wn, "NAME", we, "ENV", "KEY", "UPDATED",
		       "ORIGINS");
		jsonr_foreach(k, keys)
		{
			cli_time_local(cli_str(k, "updated"), when, sizeof when);
			binding_join(jsonr_get(k, "origins"), ",", bound, sizeof bound);
			/* The ellipsis is 3 bytes and 1 column: pad by bytes + 2. */
			printf("%-*s  %-*s  %-13s  %-16s  %s\n", wn, cli_str(k, "name"), we,
			       cli_str(k, "env"), cli_str(k, "masked"), when,
			       bound[0] != '\0' ? bound : "-");
		}
	}
	conn_reply_free(reply);
	return EXIT_OK;
}

const struct command cmd_list_entry = {
    .name = "list",
    .usage = "",
    .summary = "list keys: NAME ENV KEY (masked) UPDATED ORIGINS",
    .args = {.literal = true},
    .json = "print "
            "{\"ok\":true,\"keys\":[{\"name\",\"env\",\"masked\",\"created\",\"updated\","
            "\"origins\"}]}",
    .example = "ccr-config list",
    .run = cmd_list,
};
