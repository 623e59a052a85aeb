/*
 * ccr-config status: is the daemon running, how was it started, where are its
 * socket and keystore, how many keys, is it locked, and when will it lock
 * (unlock --for, ccr-keyd --lock-after). It never starts the daemon.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cli.h"
#include "confine.h"
#include "keystore.h"

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

/* The milliseconds in a number member, or -1 when it is absent or negative. */
static double
member_ms(const struct jsonr *reply, const char *key)
{
	const struct jsonr *m = jsonr_get(reply, key);

	return jsonr_is(m, JSONR_NUMBER) && m->u.num >= 0 ? m->u.num : -1;
}

/* Write "2h5m", "29m58s" or "45s" for ms milliseconds, rounded down. */
static void
span(double ms, char *out, size_t size)
{
	long long s = (long long)(ms / 1000);

	if (s >= 3600)
		snprintf(out, size, "%lldh%lldm", s / 3600, s % 3600 / 60);
	else if (s >= 60)
		snprintf(out, size, "%lldm%llds", s / 60, s % 60);
	else
		snprintf(out, size, "%llds", s);
}

/* Write the UTC time ms milliseconds from now, ISO 8601, to iso (KS_TIME_MAX). */
static void
from_now(double ms, char iso[KS_TIME_MAX])
{
	ks_time_format((int64_t)time(NULL) + (int64_t)(ms / 1000), iso);
}

/* Print when the keystore locks by itself: the unlock --for limit, and --lock-after. */
static void
print_lock_times(const struct jsonr *reply)
{
	double hard = member_ms(reply, "expires_in_ms"), idle = member_ms(reply, "idle_lock_in_ms");
	char iso[KS_TIME_MAX], when[64], in[32];

	if (hard >= 0) {
		from_now(hard, iso);
		cli_time_local(iso, when, sizeof when);
		span(hard, in, sizeof in);
		printf("locks      at %s, in %s (unlock --for)\n", when, in);
	}
	if (idle >= 0) {
		from_now(idle, iso);
		cli_time_local(iso, when, sizeof when);
		span(idle, in, sizeof in);
		printf("idle lock  at %s, in %s, unless a request comes first (ccr-keyd "
		       "--lock-after)\n",
		       when, in);
	}
}

/* Append ,"key":"ISO time ms from now" when ms is not -1. */
static void
field_at(struct buf *out, const char *key, double ms)
{
	char iso[KS_TIME_MAX];

	if (ms < 0)
		return;
	from_now(ms, iso);
	proto_field_str(out, key, iso, strlen(iso));
}

/*
 * Print the reply for --json: its members, then what only the client knows:
 * the keystore's mode (NULL: no keystore yet), the socket, and the lock times.
 */
static void
print_json(const struct jsonr *reply, const char *mode, const char *socket)
{
	struct buf out = {0};
	const struct jsonr *m;
	bool ok_seen = false;

	proto_reply_begin(&out, NULL);
	jsonr_foreach(m, reply)
	{
		if (!ok_seen && strcmp(m->key, "ok") == 0) {
			ok_seen = true;
			continue;
		}
		buf_addc(&out, ',');
		jsonr_print_str(&out, m->key, m->key_len);
		buf_addc(&out, ':');
		jsonr_print(&out, m);
	}
	proto_field_key(&out, "keystore_mode");
	if (mode != NULL)
		jsonr_print_str(&out, mode, strlen(mode));
	else
		buf_adds(&out, "null");
	proto_field_bool(&out, "keystore_exists", mode != NULL);
	proto_field_str_as(&out, "client_socket", socket, strlen(socket), BUF_JSON_CJSON);
	field_at(&out, "expires_at", member_ms(reply, "expires_in_ms"));
	field_at(&out, "idle_lock_at", member_ms(reply, "idle_lock_in_ms"));
	cli_json_out(&out);
}

/* Print the agent guard's lines: on or off, where this process runs, the overrides. */
static void
print_agents(const struct jsonr *agents)
{
	const struct jsonr *inside = jsonr_get(agents, "inside"), *x;
	char why[512];
	int n = 0;

	if (agents == NULL)
		return;
	if (!jsonr_is(jsonr_get(agents, "guard"), JSONR_TRUE)) {
		printf("agents     served like anyone (ccr-keyd --no-agent-guard)\n");
		return;
	}
	printf("agents     no key for coding agents; here: %s%s\n",
	       jsonr_str(inside) != NULL ? "inside " : "outside any agent",
	       jsonr_str(inside) != NULL ? jsonr_str(inside) : "");
	if (confine_available(why, sizeof why))
		printf("confined   agents that ccr starts run confined by the kernel (bubblewrap): "
		       "no keystore, socket or process of yours in reach\n");
	else
		printf("confined   no: %s; agents that ccr starts have the guard alone (no key "
		       "through the daemon), and can read a plain keystore file: seal it "
		       "(ccr-config passphrase set) and lock it when not in use\n",
		       why);
	jsonr_foreach(x, jsonr_get(agents, "allowed"))
	{
		printf("%s%s for %d s more\n", n++ == 0 ? "allowed    " : "           ",
		       jsonr_is(jsonr_get(x, "all"), JSONR_TRUE) ? "every key" : cli_str(x, "name"),
		       member_int(x, "expires_in_ms", 0) / 1000);
	}
}

/* Report the daemon's state. */
static int
cmd_status(struct cli *cli, const struct args *args)
{
	const char *keystore;
	struct stat st;
	char mode[32] = "", what[96];
	struct jsonr *reply;
	int rc;

	(void)args;
	cli->autostart = false;
	reply = cli_call_op(cli, OP_STATUS, &rc);
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
		print_lock_times(reply);
		print_agents(jsonr_get(reply, "agents"));
	}
	conn_reply_free(reply);
	return EXIT_OK;
}

const struct command cmd_status_entry = {
    .name = "status",
    .usage = "",
    .summary = "show whether ccr-keyd runs, how it was started, its socket and keystore",
    .args = {.literal = true},
    .json = "print the daemon's status reply, with keystore_mode, keystore_exists, "
            "client_socket, and expires_at and idle_lock_at (UTC) while they apply",
    .example = "ccr-config status",
    .run = cmd_status,
};
