/*
 * ccr-config import env [--only A,B] [--overwrite] [--dry-run] and
 * ccr-config import file PATH [--overwrite] [--dry-run]: move keys that live in
 * the environment or in an old keystore file into ccr-keyd. A key the keystore
 * already holds with the same value is left alone; a different value is replaced
 * only with --overwrite. Values go to the daemon over the socket and nowhere else:
 * they are compared in memory, never printed, never written to a file. A key
 * whose env name changes how programs load (env_is_refused) is skipped, named.
 * import env ends with the variables to delete from the shell profile (profile.c).
 */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "config.h"
#include "fileio.h"
#include "keystore.h"
#include "names.h"
#include "profile.h"

extern char **environ;

/* One key to import: where it should go and its value (wiped when released). */
struct item {
	char name[NAME_MAX_LEN + 1];
	char env[ENV_MAX_LEN + 1];
	struct buf value;
	const char *invalid;       /* why the value cannot be stored, or NULL */
	const struct jsonr *match; /* the stored key it meets (same env, else same name), or NULL */
	bool held; /* the keystore holds its value now (stored, updated, unchanged) */
};

struct items {
	struct item *v;
	size_t n, cap;
};

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

/* Append a fresh item for name and env and return it. */
static struct item *
items_add(struct items *items, const char *name, const char *env)
{
	struct item *it;

	if (items->n == items->cap) {
		items->cap = items->cap ? items->cap * 2 : 16;
		items->v = realloc(items->v, items->cap * sizeof *items->v);
		if (items->v == NULL)
			abort();
	}
	it = &items->v[items->n++];
	memset(it, 0, sizeof *it);
	snprintf(it->name, sizeof it->name, "%s", name);
	snprintf(it->env, sizeof it->env, "%s", env);
	return it;
}

/* Wipe every value and release the list. */
static void
items_free(struct items *items)
{
	size_t i;

	for (i = 0; i < items->n; i++)
		buf_free(&items->v[i].value);
	free(items->v);
	memset(items, 0, sizeof *items);
}

/* Set the value of it (white space around it removed, and said), noting why the daemon would refuse
 * it. */
static void
item_set_value(struct item *it, const char *v, size_t len)
{
	char what[ENV_MAX_LEN + 16];

	buf_add(&it->value, v, len);
	snprintf(what, sizeof what, "$%s", it->env);
	cli_trim_value(&it->value, what);
	v = it->value.data;
	len = it->value.len;
	if (len > PROTO_VALUE_MAX)
		it->invalid = "longer than 16 KiB";
	else if (memchr(v, '\n', len) != NULL || memchr(v, '\r', len) != NULL)
		it->invalid = "spans several lines";
	else if (memchr(v, '\0', len) != NULL || !proto_utf8_valid(v, len))
		it->invalid = "not UTF-8 text";
}

/* The stored key whose member key (name or env) is s, or NULL. */
static const struct jsonr *
find_key(const struct jsonr *keys, const char *key, const char *s)
{
	const struct jsonr *k;

	jsonr_foreach(k, keys)
	{
		if (strcmp(cli_str(k, key), s) == 0)
			return k;
	}
	return NULL;
}

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

	reply = cli_store(cli, name, env, it->value.data, it->value.len, &rc);
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
		printf("%s: skipped: the value is %s\n", it->name, it->invalid);
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

		it->match = find_key(keys, "env", it->env);
		if (it->match == NULL)
			it->match = find_key(keys, "name", it->name);
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

/* Order items by env name, for output that does not depend on the environment's order. */
static int
item_cmp(const void *a, const void *b)
{
	return strcmp(((const struct item *)a)->env, ((const struct item *)b)->env);
}

/* The key name a variable imports as: X_API_KEY → x, else the variable itself. */
static bool
name_for_var(const char *var, char *name)
{
	if (name_from_env(var, name))
		return true;
	if (strlen(var) > 8 && strcmp(var + strlen(var) - 8, "_API_KEY") == 0)
		return false; /* "__X_API_KEY" would be "_x": not a name */
	snprintf(name, NAME_MAX_LEN + 1, "%s", var);
	return name_is_valid(name);
}

/* Collect the variables listed in only (comma-separated). Returns 0 or an exit code. */
static int
collect_only(char *only, struct items *items)
{
	char name[NAME_MAX_LEN + 1], *var, *save = NULL;
	size_t i;

	for (var = strtok_r(only, ",", &save); var != NULL; var = strtok_r(NULL, ",", &save)) {
		const char *v = getenv(var);
		bool dup = false;

		if (!env_is_valid(var))
			return cli_error(EXIT_USAGE,
			                 "--only takes variable names (A-Z 0-9 _), such "
			                 "as CEREBRAS_API_KEY; '%s' is not one",
			                 var);
		if (env_is_refused(var)) {
			char why[ENV_MAX_LEN + 160];

			env_refused_message(var, why, sizeof why);
			return cli_error(EXIT_USAGE, "%s; nothing imported", why);
		}
		if (!name_for_var(var, name))
			return cli_error(EXIT_USAGE,
			                 "$%s does not give a key name; store it with: "
			                 "ccr-config set NAME --from-env %s",
			                 var, var);
		if (v == NULL || v[0] == '\0')
			return cli_error(EXIT_NOT_FOUND,
			                 "$%s is not set or empty; nothing imported", var);
		for (i = 0; i < items->n; i++)
			dup = dup || strcmp(items->v[i].env, var) == 0;
		if (!dup)
			item_set_value(items_add(items, name, var), v, strlen(v));
	}
	if (items->n == 0)
		return cli_error(EXIT_USAGE, "--only needs at least one variable name");
	return 0;
}

/* Collect every non-empty *_API_KEY variable of our environment. Returns 0 or an exit code. */
static int
collect_env(struct items *items)
{
	char var[ENV_MAX_LEN + 2], name[NAME_MAX_LEN + 1];
	char **e;

	for (e = environ; *e != NULL; e++) {
		const char *eq = strchr(*e, '=');
		size_t len = eq != NULL ? (size_t)(eq - *e) : 0;

		if (len < 9 || memcmp(eq - 8, "_API_KEY", 8) != 0)
			continue;
		if (len > ENV_MAX_LEN) {
			cli_warn("skipping a variable named *_API_KEY longer than %d characters",
			         ENV_MAX_LEN);
			continue;
		}
		memcpy(var, *e, len);
		var[len] = '\0';
		if (!env_is_valid(var) || !name_from_env(var, name)) {
			cli_warn("skipping $%s: it does not give a key name", var);
			continue;
		}
		if (eq[1] == '\0') {
			cli_warn("skipping $%s: it is empty", var);
			continue;
		}
		item_set_value(items_add(items, name, var), eq + 1, strlen(eq + 1));
	}
	if (items->n == 0)
		return cli_error(EXIT_NOT_FOUND, "no variable named *_API_KEY is set; nothing "
		                                 "imported (name others with --only)");
	return 0;
}

/* ks_parse callback: keep one key of the file, refusing a name or env name twice. */
static int
collect_entry(void *arg, const struct ks_entry *e, char *err, size_t errsize)
{
	struct items *items = arg;
	size_t i;

	for (i = 0; i < items->n; i++) {
		if (strcmp(items->v[i].name, e->name) == 0) {
			snprintf(err, errsize, "the key %s is there twice", e->name);
			return -1;
		}
		if (strcmp(items->v[i].env, e->env) == 0) {
			snprintf(err, errsize, "the keys %s and %s share the env name %s",
			         items->v[i].name, e->name, e->env);
			return -1;
		}
	}
	item_set_value(items_add(items, e->name, e->env), e->value, e->value_len);
	return 0;
}

/* Collect the keys of a keystore file at path, never changing it. Returns 0 or an exit code. */
static int
collect_file(const char *path, struct items *items)
{
	struct buf text = {0};
	char err[1024];
	int rc, form;

	rc = fileio_read(path, 0, &text, NULL, err, sizeof err);
	if (rc == 1)
		return cli_error(EXIT_NOT_FOUND, "%s does not exist; nothing imported", path);
	if (rc == -1)
		return cli_error(EXIT_FAILURE_OTHER, "%s; nothing imported", err);
	form = ks_parse(text.data, text.len, collect_entry, items, err, sizeof err);
	buf_free(&text);
	if (form == -1)
		return cli_error(EXIT_FAILURE_OTHER, "%s: %s; nothing imported", path, err);
	if (form == KS_FORM_SEALED)
		return cli_error(EXIT_FAILURE_OTHER,
		                 "%s is sealed with a passphrase; it cannot be "
		                 "imported; nothing imported",
		                 path);
	if (items->n == 0)
		return cli_error(EXIT_NOT_FOUND, "%s holds no keys; nothing imported", path);
	return 0;
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
		if (items->v[i].held)
			held[n++] = items->v[i].env;
	}
	fflush(stderr);
	profile_report(held, n);
	free(held);
}

/* Import keys from the environment or from a keystore file. */
static int
cmd_import(struct cli *cli, int argc, char **argv)
{
	struct options o = {0};
	struct items items = {0};
	char *only = NULL;
	const char *source;
	int c, rc;

	while ((c = cli_getopt(cli, argc, argv)) != -1) {
		if (c == OPT_ONLY)
			only = optarg;
		else if (c == OPT_OVERWRITE)
			o.overwrite = true;
		else if (c == OPT_DRY_RUN)
			o.dry_run = true;
		else
			return cli_usage(cli);
	}
	if (optind >= argc)
		return cli_usage(cli);
	source = argv[optind];
	cli_protect();
	if (strcmp(source, "env") == 0 && argc - optind == 1) {
		rc = only != NULL ? collect_only(only, &items) : collect_env(&items);
		if (rc == 0)
			qsort(items.v, items.n, sizeof *items.v, item_cmp);
	} else if (strcmp(source, "file") == 0 && argc - optind == 2 && only == NULL) {
		rc = collect_file(argv[optind + 1], &items);
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
    .example = "ccr-config import env --dry-run",
    .run = cmd_import,
};
