/*
 * ccr-config status: is the daemon running, how was it started, where are its
 * socket and keystore, how many keys, is it locked. It never starts the daemon.
 */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"

/* Report the daemon's state. */
static int
cmd_status(struct cli *cli, int argc, char **argv)
{
	struct buf req = {0};
	const char *keystore;
	struct stat st;
	char mode[32] = "missing";
	cJSON *reply, *m;
	int rc;

	(void)argv;
	if (argc != 1)
		return cli_usage(cli);
	cli->autostart = false;
	proto_request_begin(&req, OP_STATUS);
	proto_end(&req);
	reply = cli_call(cli, &req, &rc);
	buf_free(&req);
	if (reply == NULL)
		return rc;
	if (conn_reply_error(reply, NULL) != PE_OK) {
		rc = cli_reply_failed(reply);
		conn_reply_free(reply);
		return rc;
	}
	keystore = cli_str(reply, "keystore");
	if (lstat(keystore, &st) == 0)
		snprintf(mode, sizeof mode, "%04o", (unsigned)(st.st_mode & 07777));
	if (cli->json) {
		char *text;

		cJSON_AddStringToObject(reply, "keystore_mode", mode);
		cJSON_AddStringToObject(reply, "client_socket", cli->socket);
		cJSON_DeleteItemFromObjectCaseSensitive(reply, "ok");
		text = cJSON_PrintUnformatted(reply);
		if (text != NULL)
			printf("%s\n", text);
		cJSON_free(text);
	} else {
		m = cJSON_GetObjectItemCaseSensitive(reply, "pid");
		printf("daemon     running (pid %d, version %s, started %s, up %d s)\n",
		       cJSON_IsNumber(m) ? m->valueint : -1, cli_str(reply, "version"),
		       cli_str(reply, "started"),
		       cJSON_GetObjectItemCaseSensitive(reply, "uptime_s")
			       ? cJSON_GetObjectItemCaseSensitive(reply, "uptime_s")->valueint
			       : 0);
		printf("socket     %s\n", cli->socket);
		printf("keystore   %s (mode %s)\n", keystore, mode);
		m = cJSON_GetObjectItemCaseSensitive(reply, "keys");
		printf("keys       %d\n", cJSON_IsNumber(m) ? m->valueint : 0);
		printf("sealed     %s\n",
		       cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(reply, "sealed")) ? "yes" : "no");
		printf("locked     %s\n",
		       cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(reply, "locked")) ? "yes" : "no");
	}
	conn_reply_free(reply);
	return EXIT_OK;
}

const struct command cmd_status_entry = {
	.name = "status",
	.usage = "",
	.summary = "show whether ccr-keyd runs, how it was started, its socket and keystore",
	.run = cmd_status,
};
