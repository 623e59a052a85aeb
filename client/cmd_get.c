/*
 * ccr-config get NAME: one key's env name, masked value and update time.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "mask.h"
#include "names.h"

/* Show one key, masked. */
static int
cmd_get(struct cli *cli, int argc, char **argv)
{
	struct buf req = {0}, out = {0};
	const char *name = argc == 2 ? argv[1] : NULL, *value;
	char masked[MASK_MAX], when[64];
	struct jsonr *reply;
	int rc;

	if (name == NULL || name[0] == '-')
		return cli_usage(cli);
	if (!name_is_valid(name))
		return cli_error(EXIT_USAGE, "'%s' is not a key name", name);
	proto_request_begin(&req, OP_GET);
	proto_field_str(&req, "name", name, strlen(name));
	proto_end(&req);
	reply = cli_call(cli, &req, &rc);
	buf_free(&req);
	if (reply == NULL)
		return rc;
	if (conn_reply_error(reply, NULL) != PE_OK) {
		rc = conn_reply_error(reply, NULL) == PE_NOT_FOUND
			     ? cli_error(EXIT_NOT_FOUND, "no key named %s; list them with: "
							 "ccr-config list", name)
			     : cli_reply_failed(reply);
		conn_reply_free(reply);
		return rc;
	}
	value = cli_str(reply, "value");
	mask_value(value, strlen(value), masked);
	if (cli->json) {
		buf_adds(&out, "{\"name\":");
		buf_add_json(&out, name, strlen(name));
		proto_field_str(&out, "env", cli_str(reply, "env"), strlen(cli_str(reply, "env")));
		proto_field_str(&out, "masked", masked, strlen(masked));
		proto_field_str(&out, "updated", cli_str(reply, "updated"),
				strlen(cli_str(reply, "updated")));
		buf_adds(&out, "}\n");
		fputs(out.data, stdout);
	} else {
		cli_time_local(cli_str(reply, "updated"), when, sizeof when);
		printf("%s  %s  %s  updated %s\n", name, cli_str(reply, "env"), masked, when);
	}
	buf_free(&out);
	conn_reply_free(reply);
	return EXIT_OK;
}

const struct command cmd_get_entry = {
	.name = "get",
	.usage = "NAME",
	.summary = "show a key's env name, masked value and update time",
	.run = cmd_get,
};
