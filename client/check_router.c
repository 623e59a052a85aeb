/*
 * The router part of ccr-config check: does a running router have its keys
 * from ccr-keyd (once at start, or per request), and does a router 3.x keep
 * keys in clear in its config.sqlite.
 * Never prints a value; the keystore's values are asked for only to look for
 * them in config.sqlite, and wiped after.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "fileio.h"
#include "router.h"
#include "router3.h"

/* Append ,"key": and a copy of v (an array from the record), or [] when absent. */
static void
field_array(struct buf *b, const char *key, const struct jsonr *v)
{
	buf_addc(b, ',');
	jsonr_print_str(b, key, strlen(key));
	buf_addc(b, ':');
	if (jsonr_is(v, JSONR_ARRAY))
		jsonr_print(b, v);
	else
		buf_adds(b, "[]");
}

/* Report the router that runs, if any: did the preload record its keys? */
static void
report_running(const char *home, bool json, struct buf *out, struct buf *warnings)
{
	struct router_record rec;
	pid_t pid = router_running(home);
	bool got, per_request;

	buf_adds(out, ",\"running\":");
	buf_adds(out, pid > 0 ? "true" : "false");
	if (pid == 0)
		return;
	buf_adds(out, ",\"pid\":");
	buf_addi(out, pid);
	got = router_record_read(home, &rec) == 0 && rec.pid == pid;
	buf_adds(out, got ? ",\"keys_from_keyd\":true" : ",\"keys_from_keyd\":false");
	if (got) {
		buf_adds(out, rec.fallback ? ",\"fallback_env\":true" : ",\"fallback_env\":false");
		field_array(out, "keystore", rec.keystore);
		field_array(out, "environment", rec.environment);
		field_array(out, "missing", rec.missing);
		per_request = strcmp(rec.mode, "per-request") == 0;
		buf_adds(out, per_request ? ",\"per_request\":true" : ",\"per_request\":false");
		if (!json)
			printf("router: pid %ld (claude-code-router %s) %s from ccr-keyd: "
			       "%zu from the keystore, %zu from the environment, %zu missing%s\n",
			       (long)pid, rec.version,
			       per_request ? "gets its keys per request" : "got its keys",
			       jsonr_count(rec.keystore), jsonr_count(rec.environment),
			       jsonr_count(rec.missing),
			       rec.fallback ? " (started with --fallback-env: environment only)"
			                    : "");
	} else {
		if (!json)
			printf("router: pid %ld runs without keys from ccr-keyd\n", (long)pid);
		check_warn(
		    warnings, "router_without_keys",
		    "the running router (pid %ld) was not started through ccr-config, so it "
		    "has only the keys of its own environment; restart it with `ccr restart` "
		    "through the ccr function (or ccr-config router -- restart)",
		    (long)pid);
	}
	router_record_free(&rec);
}

/*
 * Look for every value the keystore holds in path (a config.sqlite or its
 * write-ahead log); add the env names found to the JSON array in found.
 * Returns -1 when the keystore could not be asked, else how many were found.
 */
static int
scan_sqlite(struct cli *cli, const char *path, struct buf *found, const char **why)
{
	struct jsonr *list, *values = NULL;
	const struct jsonr *k, *v;
	struct buf image = {0};
	const char **names;
	size_t count = 0;
	char err[1024];
	int rc, n = 0;

	*why = "";
	cli_protect();
	if ((list = cli_list(cli, &rc)) == NULL) {
		*why = rc == EXIT_DENIED ? "locked or denied" : "unreachable";
		return -1;
	}
	names = calloc(jsonr_count(jsonr_get(list, "keys")) + 1, sizeof *names);
	if (names == NULL)
		abort();
	jsonr_foreach(k, jsonr_get(list, "keys"))
	{
		names[count++] = cli_str(k, "env");
	}
	if (count > 0 && (values = cli_resolve(cli, names, count, &rc)) == NULL) {
		*why = rc == EXIT_DENIED ? "locked or denied" : "unreachable";
		n = -1;
		goto done;
	}
	if (fileio_read(path, 0, &image, NULL, err, sizeof err) != 0)
		goto done;
	jsonr_foreach(v, jsonr_get(values, "values"))
	{
		if (v->len > 0 && memmem(image.data, image.len, v->u.str, v->len) != NULL) {
			if (found->len > 1)
				buf_addc(found, ',');
			jsonr_print_str(found, v->key, v->key_len);
			n++;
		}
	}
done:
	wipe(image.data, image.cap);
	buf_free(&image);
	conn_reply_free(values);
	conn_reply_free(list);
	free(names);
	return n;
}

/* Report a config.sqlite (router 3.x) and whether it holds the keystore's keys in clear. */
static void
report_sqlite(struct cli *cli, const char *home, bool json, struct buf *out, struct buf *warnings)
{
	static const char *const files[] = {"config.sqlite", "config.sqlite-wal", NULL};
	struct buf found = {0};
	char path[PATHS_MAX + 32];
	const char *why = "";
	bool any = false;
	int i, n, total = 0;

	buf_addc(&found, '[');
	for (i = 0; files[i] != NULL; i++) {
		snprintf(path, sizeof path, "%s/%s", home, files[i]);
		if (access(path, F_OK) != 0)
			continue;
		any = true;
		if ((n = scan_sqlite(cli, path, &found, &why)) < 0) {
			total = -1;
			break;
		}
		total += n;
	}
	buf_addc(&found, ']');
	if (!any)
		goto done;
	snprintf(path, sizeof path, "%s/config.sqlite", home);
	proto_field_str(out, "sqlite", path, strlen(path));
	buf_adds(out, ",\"sqlite_keys_in_clear\":");
	buf_add(out, total < 0 ? "null" : found.data, total < 0 ? 4 : found.len);
	if (total < 0) {
		if (!json)
			printf("router: %s exists; the keystore is %s, so whether it holds keys in "
			       "clear is unknown\n",
			       path, why);
	} else if (total > 0) {
		if (!json)
			printf("router: %s holds %d of the keystore's keys in clear\n", path,
			       total);
		check_warn(warnings, "sqlite_keys",
		           "%s (claude-code-router 3.x) holds %d of the keystore's keys in clear: "
		           "3.x copies what it reads from the environment into it at its first "
		           "start; ccr-config migrate replaces them with references, then rotate "
		           "them",
		           path, total);
	} else if (!json) {
		printf("router: %s exists and holds none of the keystore's keys\n", path);
	}
done:
	buf_free(&found);
}

/*
 * Router 3.x with its gateway: what the helper reads in config.sqlite (never
 * a value): the server's pid, whether ccr-keyd's plugin is registered, the
 * provider keys that are not references, the legacy backups holding keys.
 */
static void
report_store3(struct cli *cli, bool json, struct buf *out, struct buf *warnings)
{
	const struct jsonr *k, *plain;
	struct jsonr *st;
	bool registered;
	long running, backups;

	if (router3_helper(cli, "status", NULL, NULL, &st) != 0) {
		buf_adds(out, ",\"plugin_registered\":null");
		check_warn(warnings, "router3_unreadable",
		           "cannot read router 3.x's config.sqlite with its Node (above: why)");
		return;
	}
	if (strcmp(cli_str(st, "store") != NULL ? cli_str(st, "store") : "", "sqlite") != 0) {
		if (!json)
			printf("router: no config.sqlite yet: ccr start through the ccr function "
			       "registers ccr-keyd's plugin before the router's first start\n");
		buf_adds(out, ",\"plugin_registered\":null");
		jsonr_free(st);
		return;
	}
	registered = jsonr_is(jsonr_get(st, "registered"), JSONR_TRUE);
	running = (long)jsonr_num(jsonr_get(st, "running"), 0);
	backups = (long)jsonr_num(jsonr_get(st, "backups"), 0);
	plain = jsonr_get(st, "plain");
	buf_adds(out, registered ? ",\"plugin_registered\":true" : ",\"plugin_registered\":false");
	buf_adds(out, ",\"server_pid\":");
	buf_addi(out, running);
	field_array(out, "sqlite_plain_keys", plain);
	field_array(out, "environment", jsonr_get(st, "environment"));
	if (jsonr_count(jsonr_get(st, "environment")) > 0)
		check_warn(warnings, "router_env_keys",
		           "the running router (pid %ld) or its gateway has %zu of the names its "
		           "providers reference in its environment: it was started with them "
		           "exported, and the agents it launches inherit them; restart it through "
		           "the ccr function (ccr stop, then ccr start)",
		           running, jsonr_count(jsonr_get(st, "environment")));
	buf_adds(out, ",\"sqlite_backups_with_keys\":");
	buf_addi(out, backups);
	if (!json) {
		if (running > 0)
			printf("router: server pid %ld\n", running);
		printf("router: ccr-keyd's plugin is %s\n",
		       registered ? "registered: the gateway asks ccr-keyd for each request's key"
		                  : "not registered: run ccr start through the ccr function");
		jsonr_foreach(k, plain)
		{
			printf("router: config.sqlite: provider %s: %s holds a key in clear\n",
			       cli_str(k, "provider") != NULL ? cli_str(k, "provider") : "?",
			       cli_str(k, "field") != NULL ? cli_str(k, "field") : "?");
		}
	}
	if (!registered)
		check_warn(
		    warnings, "plugin_unregistered",
		    "ccr-keyd's plugin is not registered with router 3.x: its requests carry "
		    "no keys from ccr-keyd; run ccr start (or ccr ui, ccr <profile>) through "
		    "the ccr function");
	if (jsonr_count(plain) > 0 || backups > 0)
		check_warn(warnings, "sqlite_plain_keys",
		           "config.sqlite holds %zu provider key(s) in clear%s: run ccr-config "
		           "migrate to move them into ccr-keyd and leave references, then rotate "
		           "them at their providers",
		           jsonr_count(plain),
		           backups > 0 ? " and its legacy config backups hold more" : "");
	jsonr_free(st);
}

bool
check_router(struct cli *cli, bool json, struct buf *out, struct buf *warnings)
{
	struct router_install r;
	char home[PATHS_MAX], err[1024];
	bool found = router_find(&r) == 0, later = found && r.major >= 3;
	bool supported3 = later && router_supported(&r);

	buf_adds(out, ",\"router\":{\"installed\":");
	if (found)
		jsonr_print_str(out, r.version, strlen(r.version));
	else
		buf_adds(out, "null");
	if (found)
		buf_adds(out,
		         router_supported(&r) ? ",\"supported\":true" : ",\"supported\":false");
	if (found && !router_supported(&r) && !json)
		printf("router: claude-code-router %s is installed; ccr-keyd gives keys to 1.x and "
		       "2.x only%s\n",
		       r.version, later ? " (3.x keeps its config in config.sqlite)" : "");
	if (supported3 && !json)
		printf("router: claude-code-router %s is installed: keys per upstream request "
		       "through ccr-keyd's gateway plugin\n",
		       r.version);
	if (router_home(home, sizeof home, err, sizeof err) == 0) {
		if (supported3)
			report_store3(cli, json, out, warnings);
		else
			report_running(home, json, out, warnings);
		report_sqlite(cli, home, json, out, warnings);
	}
	buf_addc(out, '}');
	return later;
}
