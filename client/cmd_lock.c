/*
 * ccr-config lock: wipe the sealed keystore's key and values from the daemon now.
 */
#include <stdio.h>

#include "cli.h"

/* Lock the keystore. */
static int
cmd_lock(struct cli *cli, const struct args *args)
{
	struct jsonr *reply;
	int rc;

	(void)args;
	cli->autostart = false;
	reply = cli_call_op(cli, OP_LOCK, &rc);
	if (reply == NULL)
		return rc;
	if (cli->json) {
		struct buf out = {0};

		proto_reply_begin(&out, NULL);
		proto_field_bool(&out, "locked", true);
		cli_json_out(&out);
	} else {
		printf("locked: the key and every value are wiped from ccr-keyd's memory\n");
	}
	conn_reply_free(reply);
	return rc;
}

const struct command cmd_lock_entry = {
    .name = "lock",
    .usage = "",
    .summary = "lock the sealed keystore: wipe its key and values from the daemon",
    .args = {.literal = true},
    .json = "print {\"ok\":true,\"locked\":true}",
    .example = "ccr-config lock",
    .run = cmd_lock,
};
