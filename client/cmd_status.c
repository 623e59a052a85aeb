/*
 * ccr-config status: is the daemon running, how was it started, where are its
 * socket and keystore, how many keys, is it locked. It never starts the daemon.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"

/* A number member as an int, saturated at the int range, or otherwise when it is not a number. */
static int
member_int(const struct jsonr *reply, const char *key, int otherwise)
{
	const struct jsonr *m = jsonr_get(reply, key);
	double d;

	if (!jsonr_is(m, JSONR_NUMBER))
		return otherwise;
	d = m->u.num;
	if (d >= INT_MAX)
		return INT_MAX;
	if (d <= INT_MIN)
		return INT_MIN;
	return (int)d;
}

/* Print the reply for --json: its members, then what only the client knows (mode NULL: no keystore
 * yet). */
static void
print_json(const struct jsonr *reply, const char *mode, const char *socket)
{
	struct buf out = {0};
	const struct jsonr *m;
	bool ok_seen = false;

	buf_adds(&out, "{\"ok\":true,");
	jsonr_foreach(m, reply)
	{
		if (!ok_seen && strcmp(m->key, "ok") == 0) {
			ok_seen = true;
			continue;
		}
		jsonr_print_str(&out, m->key, m->key_len);
		buf_addc(&out, ':');
		jsonr_print(&out, m);
		buf_addc(&out, ',');
	}
	buf_adds(&out, "\"keystore_mode\":");
	if (mode != NULL)
		jsonr_print_str(&out, mode, strlen(mode));
	else
		buf_adds(&out, "null");
	buf_adds(&out, mode != NULL ? ",\"keystore_exists\":true" : ",\"keystore_exists\":false");
	buf_adds(&out, ",\"client_socket\":");
	jsonr_print_str(&out, socket, strlen(socket));
	buf_adds(&out, "}\n");
	cli_json_out(&out);
	buf_free(&out);
}

/* Report the daemon's state. */
static int
cmd_status(struct cli *cli, int argc, char **argv)
{
	struct buf req = {0};
	const char *keystore;
	struct stat st;
	char mode[32] = "", what[96];
	struct jsonr *reply;
	int rc;

	(void)argv;
	if (argc != 1)
		return cli_usage(cli);
	cli->autostart = false;
	proto_request_begin(&req, OP_STATUS);
	proto_end(&req);
	reply = cli_call_ok(cli, &req, &rc);
	if (reply == NULL)
		return rc;
	keystore = cli_str(reply, "keystore");
	if (lstat(keystore, &st) == 0) {
		snprintf(mode, sizeof mode, "%04o", (unsigned)(st.st_mode & 07777));
		snprintf(what, sizeof what, "mode %s", mode);
	} else if (errno == ENOENT) {
		snprintf(what, sizeof what, "not created yet: the first set creates it");
	} else {
		snprintf(what, sizeof what, "cannot be read: %s", strerror(errno));
	}
	if (cli->json) {
		print_json(reply, mode[0] ? mode : NULL, cli->socket);
	} else {
		printf("daemon     running (pid %d, version %s, started %s, up %d s)\n",
		       member_int(reply, "pid", -1), cli_str(reply, "version"),
		       cli_str(reply, "started"), member_int(reply, "uptime_s", 0));
		printf("socket     %s\n", cli->socket);
		printf("keystore   %s (%s)\n", keystore, what);
		printf("keys       %d\n", member_int(reply, "keys", 0));
		printf("sealed     %s\n",
		       jsonr_is(jsonr_get(reply, "sealed"), JSONR_TRUE) ? "yes" : "no");
		printf("locked     %s\n",
		       jsonr_is(jsonr_get(reply, "locked"), JSONR_TRUE) ? "yes" : "no");
	}
	conn_reply_free(reply);
	return EXIT_OK;
}

const struct command cmd_status_entry = {
    .name = "status",
    .usage = "",
    .summary = "show whether ccr-keyd runs, how it was started, its socket and keystore",
    .json = "print the daemon's status reply, with keystore_mode, keystore_exists and "
            "client_socket",
    .example = "ccr-config status",
    .run = cmd_status,
};
