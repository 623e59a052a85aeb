/*
 * ccr-config migrate for a router 3.x home: the provider keys its
 * config.sqlite holds in clear (api_key, credentials[].api_key) go into
 * ccr-keyd, bound to their providers' origins, and the store gets references
 * ($ENV) instead, with ccr-keyd's plugin registered and no copy left (the
 * helper, router3.cjs: legacy backups rewritten or removed, secure_delete,
 * checkpoint, VACUUM, and a check of the files' bytes). Only while the
 * router is stopped: its server keeps the config in memory and would write
 * it back. Keys are stored first; the store is rewritten only once all are.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "config.h"
#include "mask.h"
#include "names.h"
#include "router.h"
#include "router3.h"

/* What becomes of one distinct key in clear. */
struct key3 {
	const char *value; /* from the helper's reply */
	char name[NAME_MAX_LEN + 1];
	char env[ENV_MAX_LEN + 1];
	struct names origins; /* of the providers that use it */
	bool reuse;           /* the keystore holds it already under env */
	bool stored;
};

bool
router3_store_exists(void)
{
	struct router_install r;
	char home[PATHS_MAX], err[1024], path[PATHS_MAX + 32];

	if (router_find(&r) != 0 || r.major != 3 || !router_supported(&r) ||
	    router_home(home, sizeof home, err, sizeof err) == -1)
		return false;
	snprintf(path, sizeof path, "%s/config.sqlite", home);
	return access(path, F_OK) == 0;
}

/* The default env name of a key name: upper-case, '-' and '.' as '_', then _API_KEY. */
static void
env_of(const char *name, char out[ENV_MAX_LEN + 1])
{
	size_t i, at = 0;

	if (name[0] >= '0' && name[0] <= '9')
		out[at++] = '_';
	for (i = 0; name[i] != '\0' && at < ENV_MAX_LEN - 8; i++) {
		char c = name[i];

		out[at++] = c >= 'a' && c <= 'z' ? (char)(c - 'a' + 'A')
		            : (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ? c
		                                                               : '_';
	}
	snprintf(out + at, ENV_MAX_LEN + 1 - at, "_API_KEY");
}

/* True when the keystore (list) has a key named name or with env name env. */
static bool
taken(const struct jsonr *keys, const char *name, const char *env)
{
	const struct jsonr *k;

	jsonr_foreach(k, keys)
	{
		if (strcmp(cli_str(k, "name"), name) == 0 || strcmp(cli_str(k, "env"), env) == 0)
			return true;
	}
	return false;
}

/* True when the keystore's value under env is value. */
static bool
holds(struct cli *cli, const char *env, const char *value)
{
	const char *envs[] = {env};
	struct jsonr *reply;
	const char *v;
	bool same;
	int rc;

	if ((reply = cli_resolve(cli, envs, 1, &rc)) == NULL)
		return false;
	v = cli_str(jsonr_get(reply, "values"), env);
	same = strcmp(v, value) == 0;
	conn_reply_free(reply);
	return same;
}

/*
 * Give k a name and env the keystore does not use for another value: the
 * helper's proposal, else NAME-2, NAME-3, …; reuse when the keystore holds
 * this very value under it.
 */
static int
place3(struct cli *cli, const struct jsonr *keys, struct key3 *k, const char *name)
{
	char base[NAME_MAX_LEN - 3];
	int i;

	snprintf(base, sizeof base, "%s", name);
	for (i = 1; i < 100; i++) {
		if (i == 1)
			snprintf(k->name, sizeof k->name, "%s", base);
		else
			snprintf(k->name, sizeof k->name, "%s-%d", base, i);
		env_of(k->name, k->env);
		if (!name_is_valid(k->name) || env_is_refused(k->env))
			continue;
		if (!taken(keys, k->name, k->env))
			return 0;
		if (holds(cli, k->env, k->value)) {
			k->reuse = true;
			return 0;
		}
	}
	return cli_error(EXIT_FAILURE_OTHER, "no free key name for %s", name);
}

/* Print one line per key in clear: where it is, masked, and what becomes of it. */
static void
print_entry(const struct jsonr *e, const struct key3 *k, bool dry_run)
{
	char masked[MASK_MAX];

	mask_value(k->value, strlen(k->value), masked);
	printf("%s: %s %s: %s %s ($%s)%s%s; config.sqlite %s $%s\n", cli_str(e, "provider"),
	       cli_str(e, "field"), masked,
	       k->reuse  ? (dry_run ? "would reuse" : "reused")
	       : dry_run ? "would store as"
	                 : "stored as",
	       k->name, k->env, cli_str(e, "origin")[0] != '\0' && !k->reuse ? ", bound to " : "",
	       !k->reuse ? cli_str(e, "origin") : "", dry_run ? "would use" : "uses", k->env);
}

int
router3_migrate(struct cli *cli, bool dry_run)
{
	const struct jsonr *entries, *e, *keys;
	struct jsonr *plan = NULL, *list = NULL, *done = NULL;
	struct key3 *k = NULL;
	struct buf mapping = {0};
	size_t n, i, j, nk = 0;
	long backups;
	int rc;

	cli_protect(); /* the plan holds the keys */
	if ((rc = router3_helper(cli, "migrate-plan", NULL, NULL, &plan)) != 0)
		return rc;
	if (jsonr_num(jsonr_get(plan, "running"), 0) > 0) {
		rc =
		    cli_error(EXIT_FAILURE_OTHER,
		              "router 3.x runs (pid %ld): it keeps its config in memory and writes "
		              "it back, so config.sqlite is migrated only while it is stopped; run "
		              "ccr stop, then ccr-config migrate again",
		              (long)jsonr_num(jsonr_get(plan, "running"), 0));
		goto done;
	}
	entries = jsonr_get(plan, "entries");
	n = jsonr_count(entries);
	backups = (long)jsonr_num(jsonr_get(plan, "backups"), 0);
	if (n == 0 && backups == 0) {
		printf("config.sqlite holds no provider key in clear; nothing to migrate\n");
		goto done;
	}
	if ((list = cli_list(cli, &rc)) == NULL)
		goto done;
	keys = jsonr_get(list, "keys");
	k = calloc(n + 1, sizeof *k);
	if (k == NULL)
		abort();
	/* One key3 per distinct value (the helper gives one name per value). */
	jsonr_foreach(e, entries)
	{
		for (j = 0; j < nk && strcmp(k[j].value, cli_str(e, "value")) != 0; j++)
			;
		if (j == nk) {
			k[nk].value = cli_str(e, "value");
			if ((rc = place3(cli, keys, &k[nk], cli_str(e, "name"))) != 0)
				goto done;
			nk++;
		}
		if (cli_str(e, "origin")[0] != '\0' &&
		    !names_has(&k[j].origins, cli_str(e, "origin")))
			names_add(&k[j].origins, cli_str(e, "origin"),
			          strlen(cli_str(e, "origin")));
	}
	for (j = 0; j < nk && !dry_run; j++) {
		struct jsonr *reply;
		const char *msg = "";

		if (k[j].reuse)
			continue;
		reply = cli_store(cli, k[j].name, k[j].env, k[j].value, strlen(k[j].value),
		                  &k[j].origins, &rc);
		if (reply != NULL)
			rc = cli_exit_for(conn_reply_error(reply, &msg));
		conn_reply_free(reply);
		if (rc != 0) {
			cli_error(rc, "%s was not stored: %s; config.sqlite is unchanged",
			          k[j].name, msg[0] != '\0' ? msg : "the daemon did not answer");
			goto done;
		}
		k[j].stored = true;
	}
	buf_addc(&mapping, '{');
	i = 0;
	jsonr_foreach(e, entries)
	{
		for (j = 0; j < nk && strcmp(k[j].value, cli_str(e, "value")) != 0; j++)
			;
		if (i++ > 0)
			buf_addc(&mapping, ',');
		jsonr_print_str(&mapping, cli_str(e, "id"), strlen(cli_str(e, "id")));
		buf_adds(&mapping, ":\"$");
		buf_adds(&mapping, k[j].env);
		buf_addc(&mapping, '"');
	}
	buf_addc(&mapping, '}');
	if (!dry_run &&
	    (rc = router3_helper(cli, "migrate-apply", mapping.data, NULL, &done)) != 0) {
		cli_error(rc,
		          "the keys are stored, but config.sqlite could not be rewritten (above: "
		          "why); run ccr-config migrate again");
		goto done;
	}
	jsonr_foreach(e, entries)
	{
		for (j = 0; j < nk && strcmp(k[j].value, cli_str(e, "value")) != 0; j++)
			;
		print_entry(e, &k[j], dry_run);
	}
	if (backups > 0 && dry_run)
		printf("config.sqlite: %ld legacy config backup%s holding keys would be rewritten "
		       "with the references (removed when it holds a key not migrated)\n",
		       backups, backups == 1 ? "" : "s");
	else if (backups > 0)
		printf("config.sqlite: legacy config backups holding keys: %ld rewritten with the "
		       "references, %ld removed\n",
		       (long)jsonr_num(jsonr_get(done, "backups_rewritten"), 0),
		       (long)jsonr_num(jsonr_get(done, "backups_removed"), 0));
	if (!dry_run)
		printf("config.sqlite: ccr-keyd's plugin registered; checkpointed and vacuumed: no "
		       "copy of the keys is left in it, its WAL or its free pages. The keys were "
		       "on disk in clear, where backups, sync or another program may have copied "
		       "them: rotate each at its provider (ccr-config set NAME stores the new one) "
		       "and revoke the old\n");
done:
	for (j = 0; k != NULL && j < nk; j++)
		names_free(&k[j].origins);
	free(k);
	buf_free(&mapping);
	jsonr_free(done);
	conn_reply_free(list);
	jsonr_free(plan);
	return rc;
}
