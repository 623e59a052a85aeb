/*
 * ccr-config import env [--only A,B] [--overwrite] [--dry-run] and
 * ccr-config import file PATH [--overwrite] [--dry-run]: move keys that live in
 * the environment or in an old keystore file into ccr-keyd. A key the keystore
 * already holds with the same value is left alone; a different value is replaced
 * only with --overwrite. Values go to the daemon over the socket and nowhere else:
 * they are compared in memory, never printed, never written to a file. A key
 * whose env name changes how programs load (env_is_refused) is skipped, named.
 * The keys come from import_source.c; import env ends with the variables to
 * delete from the shell profile (profile.c).
 */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "config.h"
#include "import.h"
#include "names.h"
#include "profile.h"
#include "suggest.h"

struct options {
	bool overwrite;
	bool dry_run;
};

/* What an import run has met so far. */
struct tally {
	int first;   /* the exit code of the first failure, 0 while none */
	int differs; /* keys left as stored for want of --overwrite */
	bool fatal;  /* the daemon stopped answering: stop */
};

/* The item before it that met the same stored key, or NULL. */
static const struct item *
earlier_match(const struct items *items, const struct item *it)
{
	const struct item *o;

	for (o = items->v; o < it; o++) {
		if (o->match == it->match)
			return o;
	}
	return NULL;
}

/*
 * Ask for the values of the stored keys the items meet, with one resolve.
 * Returns the reply (NULL when there is nothing to ask) or NULL with *rc set.
 */
static struct jsonr *
matched_values(struct cli *cli, const struct items *items, int *rc)
{
	struct names envs = {0};
	struct jsonr *reply = NULL;
	size_t i;

	*rc = 0;
	for (i = 0; i < items->n; i++) {
		const char *env = cli_str(items->v[i].match, "env");

		if (items->v[i].match != NULL && env[0] != '\0')
			names_add(&envs, env, strlen(env));
	}
	if (envs.n > 0)
		reply = cli_resolve(cli, (const char *const *)envs.v, envs.n, rc);
	names_free(&envs);
	return reply;
}

/* Note a failure with exit code rc. */
static void
tally_fail(struct tally *t, int rc)
{
	if (t->first == 0)
		t->first = rc;
}

/* Store it under name and env and print its line. */
static void
store(struct cli *cli, struct item *it, const char *name, const char *env, const char *verb,
      struct tally *t)
{
	const char *msg = "";
	struct jsonr *reply;
	int rc;

	reply = cli_store(cli, name, env, it->value.data, it->value.len, NULL, &rc);
	if (reply == NULL) {
		tally_fail(t, rc);
		t->fatal = true;
		return;
	}
	rc = cli_exit_for(conn_reply_error(reply, &msg));
	if (rc != 0) {
		printf("%s: not stored: %s\n", it->name, msg);
		tally_fail(t, rc);
	} else if (strcmp(name, it->name) == 0) {
		printf("%s: %s (as $%s)\n", it->name, verb, cli_str(reply, "env"));
		it->held = true;
	} else {
		printf("%s: %s %s (as $%s)\n", it->name, verb, name, cli_str(reply, "env"));
		it->held = true;
	}
	conn_reply_free(reply);
}

/* Import one item; have is the value of the stored key it meets, or NULL. */
static void
import_one(struct cli *cli, const struct items *items, struct item *it, const struct jsonr *have,
           const struct options *o, struct tally *t)
{
	const char *mname = cli_str(it->match, "name"), *menv = cli_str(it->match, "env");
	const struct item *twin;
	bool same_key = strcmp(mname, it->name) == 0 && strcmp(menv, it->env) == 0;

	if (it->invalid != NULL) {
		printf("%s: skipped: the value %s\n", it->name, it->invalid);
		tally_fail(t, EXIT_FAILURE_OTHER);
		return;
	}
	if (env_is_refused(it->env)) {
		printf("%s: skipped: $%s changes how programs load or where they look, so "
		       "ccr-keyd never stores it; store the key under another env name with: "
		       "ccr-config set NAME --env VAR\n",
		       it->name, it->env);
		tally_fail(t, EXIT_FAILURE_OTHER);
		return;
	}
	if (it->match == NULL) {
		if (o->dry_run)
			printf("%s: would store (as $%s)\n", it->name, it->env);
		else
			store(cli, it, it->name, it->env, "stored", t);
		return;
	}
	twin = earlier_match(items, it);
	if (twin != NULL) {
		printf("%s: skipped: the stored key %s is already the match of %s\n", it->name,
		       mname, twin->name);
		tally_fail(t, EXIT_FAILURE_OTHER);
		return;
	}
	if (jsonr_is(have, JSONR_STRING) && strlen(have->u.str) == it->value.len &&
	    memcmp(have->u.str, it->value.data, it->value.len) == 0) {
		if (same_key)
			printf("%s: unchanged\n", it->name);
		else
			printf("%s: unchanged (exists as %s, $%s)\n", it->name, mname, menv);
		it->held = true;
		return;
	}
	if (!o->overwrite) {
		if (same_key)
			printf("%s: differs; use --overwrite to replace it\n", it->name);
		else
			printf(
			    "%s: exists as %s ($%s) and differs; use --overwrite to replace it\n",
			    it->name, mname, menv);
		t->differs++;
		tally_fail(t, EXIT_FAILURE_OTHER);
		return;
	}
	if (!o->dry_run)
		store(cli, it, mname, menv, "updated", t);
	else if (same_key)
		printf("%s: would update (as $%s)\n", it->name, menv);
	else
		printf("%s: would update %s (as $%s)\n", it->name, mname, menv);
}

/* Import every item against the keystore. Returns 0 or the first failure's exit code. */
static int
import_items(struct cli *cli, struct items *items, const struct options *o)
{
	struct tally t = {0};
	const struct jsonr *keys, *values;
	struct jsonr *list, *resolved;
	size_t i;
	int rc;

	list = cli_list(cli, &rc);
	if (list == NULL)
		return rc;
	keys = jsonr_get(list, "keys");
	for (i = 0; i < items->n; i++) {
		struct item *it = &items->v[i];

		it->match = suggest_key_with(keys, "env", it->env);
		if (it->match == NULL)
			it->match = suggest_key_with(keys, "name", it->name);
	}
	resolved = matched_values(cli, items, &rc);
	if (rc != 0) {
		conn_reply_free(list);
		return rc;
	}
	values = jsonr_get(resolved, "values");
	for (i = 0; i < items->n && !t.fatal; i++) {
		struct item *it = &items->v[i];
		const struct jsonr *have = jsonr_get(values, cli_str(it->match, "env"));

		import_one(cli, items, it, it->match != NULL ? have : NULL, o, &t);
	}
	fflush(stdout);
	if (t.differs > 0)
		cli_error(t.first,
		          "%d key%s left as stored; run again with --overwrite to replace %s",
		          t.differs, t.differs == 1 ? "" : "s", t.differs == 1 ? "it" : "them");
	conn_reply_free(resolved);
	conn_reply_free(list);
	return t.first;
}

enum { OPT_ONLY, OPT_OVERWRITE, OPT_DRY_RUN };

static const struct cmd_option options[] = {
    [OPT_ONLY] = {"only", 'o', "VAR,VAR", "env: only these variables, of any name"},
    [OPT_OVERWRITE] = {"overwrite", 'w', NULL, "replace a stored key that holds another value"},
    [OPT_DRY_RUN] = {"dry-run", 'n', NULL, "say what would change, and change nothing"},
    {0},
};

/* After import env: the variables the keystore now holds, and where the profile sets them. */
static void
report_profile(const struct items *items)
{
	const char **held = calloc(items->n + 1, sizeof *held);
	size_t i, n = 0;

	if (held == NULL)
		abort();
	for (i = 0; i < items->n; i++) {
		/* --only moved it, but its own programs still read it from the profile. */
		if (items->v[i].held && import_read_directly(items->v[i].env) != NULL)
			printf("keep $%s in your profile if you run %s directly\n",
			       items->v[i].env, import_read_directly(items->v[i].env));
		else if (items->v[i].held)
			held[n++] = items->v[i].env;
	}
	fflush(stdout);
	fflush(stderr);
	profile_report(held, n);
	free(held);
}

/* Import keys from the environment or from a keystore file. */
static int
cmd_import(struct cli *cli, const struct args *args)
{
	struct options o = {.overwrite = args_has(args, OPT_OVERWRITE),
	                    .dry_run = args_has(args, OPT_DRY_RUN)};
	char *only = args->value[OPT_ONLY];
	const char *source = args->argv[0];
	struct items items = {0};
	int rc;

	cli_protect();
	if (strcmp(source, "env") == 0 && args->argc == 1) {
		rc = only != NULL ? import_collect_only(only, &items) : import_collect_env(&items);
		if (rc == 0)
			items_sort(&items);
	} else if (strcmp(source, "file") == 0 && args->argc == 2 && only == NULL) {
		rc = import_collect_file(args->argv[1], &items);
	} else {
		return cli_usage(cli);
	}
	if (rc == 0)
		rc = import_items(cli, &items, &o);
	if (strcmp(source, "env") == 0 && !o.dry_run)
		report_profile(&items);
	items_free(&items);
	return rc;
}

const struct command cmd_import_entry = {
    .name = "import",
    .usage = "env [--only VAR,VAR] [--overwrite] [--dry-run] | file PATH [--overwrite] "
             "[--dry-run]",
    .summary = "store the keys of *_API_KEY variables or of an old keystore file",
    .options = options,
    .args = {.min = 1, .max = 2},
    .example = "ccr-config import env --dry-run",
    .run = cmd_import,
};
