/*
 * ccr-config delete NAME: remove a key; exit 1 when there is none.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "names.h"

/* Delete one key. */
static int
cmd_delete(struct cli *cli, int argc, char **argv)
{
	struct buf req = {0};
	const char *name = argc == 2 ? argv[1] : NULL;
	struct jsonr *reply;
	int rc;

	if (name == NULL || name[0] == '-')
		return cli_usage(cli);
	if (!name_is_valid(name))
		return cli_error(EXIT_USAGE, "'%s' is not a key name", name);
	proto_request_begin(&req, OP_DELETE);
	proto_field_str(&req, "name", name, strlen(name));
	proto_end(&req);
	reply = cli_call(cli, &req, &rc);
	buf_free(&req);
	if (reply == NULL)
		return rc;
	if (conn_reply_error(reply, NULL) == PE_NOT_FOUND)
		rc = cli_error(EXIT_NOT_FOUND, "no key named %s; nothing deleted", name);
	else if (conn_reply_error(reply, NULL) != PE_OK)
		rc = cli_reply_failed(reply);
	else
		printf("deleted %s\n", name);
	conn_reply_free(reply);
	return rc;
}

const struct command cmd_delete_entry = {
	.name = "delete",
	.usage = "NAME",
	.summary = "delete a key",
	.run = cmd_delete,
};
