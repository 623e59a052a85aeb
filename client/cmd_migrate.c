/*
 * ccr-config migrate [CONFIG] [--dry-run]: move the literal api_key values of
 * the router's config.json into ccr-keyd and make the config refer to them as
 * $ENVNAME. Every other byte of the file stays as written (json5edit). The keys
 * are stored first; the file is rewritten only once all of them are durable,
 * after a 0600 backup of the original, atomically and with the original's mode,
 * so the config never names a key the keystore lacks. A second run finds only
 * references and changes nothing. A provider whose env name would change how
 * programs load (env_is_refused) is skipped, named. A key stored is bound to the
 * origins of the providers that will use it (their api_base_url). Reading the
 * file and writing it back are in migrate_file.c.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "config.h"
#include "interp.h"
#include "json5edit.h"
#include "migrate.h"
#include "names.h"
#include "router3.h"
#include "suggest.h"

/* The longest suffix a free env name gets: "_99". */
#define FREE_ENV_TRIES 99

/* Describe an api_key that already refers to something: "already uses $A, $B". */
static void
describe_refs(struct plan *pl, const struct buf *value)
{
	struct names refs = {0};
	size_t i, at;

	config_refs(value->data, value->len, &refs);
	at = (size_t)snprintf(pl->line, sizeof pl->line, "already uses ");
	if (refs.n == 0)
		at += (size_t)snprintf(pl->line + at, sizeof pl->line - at, "a reference");
	for (i = 0; i < refs.n && at < sizeof pl->line; i++)
		at += (size_t)snprintf(pl->line + at, sizeof pl->line - at, "%s$%s",
		                       i > 0 ? ", " : "", refs.v[i]);
	if (at < sizeof pl->line)
		snprintf(pl->line + at, sizeof pl->line - at, ", left alone");
	names_free(&refs);
}

/*
 * The key name for a provider named s, which is not one: lower-case, every
 * other character a '-' (one for a run), none at either end, at most
 * NAME_MAX_LEN long ("Gemini Flash" → "gemini-flash"); "" when nothing is left.
 */
static void
derive_name(const char *s, char out[NAME_MAX_LEN + 1])
{
	size_t n = 0;

	for (; *s != '\0' && n < NAME_MAX_LEN; s++) {
		unsigned char c = (unsigned char)*s;

		if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_')
			out[n++] = (char)c;
		else if (c >= 'A' && c <= 'Z')
			out[n++] = (char)(c - 'A' + 'a');
		else if (n > 0 && out[n - 1] != '-')
			out[n++] = '-';
	}
	while (n > 0 && (out[n - 1] == '-' || out[n - 1] == '.' || out[n - 1] == '_'))
		n--;
	out[n] = '\0';
	/* A name starts with a letter or digit. */
	for (n = 0; out[n] == '.' || out[n] == '_' || out[n] == '-'; n++)
		;
	memmove(out, out + n, strlen(out + n) + 1);
}

/* First look at provider i: leave it, skip it, or make it a literal to place. */
static void
classify(struct migration *m, size_t i)
{
	const struct json5edit_provider *p = &m->p[i];
	const struct json5edit_field *name = &p->name, *key = &p->api_key;
	struct plan *pl = &m->plans[i];
	bool text = name->kind == JSON5EDIT_STRING && name->value.len > 0 &&
	            name->value.len == strlen(name->value.data);
	bool named = text && name_is_valid(name->value.data);

	if (text)
		snprintf(pl->label, sizeof pl->label, "%.*s", NAME_MAX_LEN, name->value.data);
	else
		snprintf(pl->label, sizeof pl->label, "provider %zu", i + 1);
	if (text && !named) {
		derive_name(name->value.data, pl->derived);
		named = pl->derived[0] != '\0' && name_is_valid(pl->derived);
	}
	pl->kind = PLAN_LEAVE;
	if (key->kind == JSON5EDIT_ABSENT) {
		snprintf(pl->line, sizeof pl->line, "no api_key, left alone");
	} else if (key->kind != JSON5EDIT_STRING) {
		snprintf(pl->line, sizeof pl->line, "api_key is not a string, left alone");
	} else if (key->value.len == 0) {
		snprintf(pl->line, sizeof pl->line, "api_key is empty, left alone");
	} else if (interp_has_refs(key->value.data, key->value.len)) {
		describe_refs(pl, &key->value);
	} else if (!named) {
		pl->kind = PLAN_SKIP;
		snprintf(pl->line, sizeof pl->line,
		         "api_key is a literal, but no key name can be made of the provider's "
		         "name (1-128 of A-Z a-z 0-9 . _ -); skipped");
	} else if (proto_value_check(key->value.data, key->value.len) != PV_OK) {
		pl->kind = PLAN_SKIP;
		snprintf(
		    pl->line, sizeof pl->line, "api_key %s, so it cannot be stored; skipped",
		    proto_value_fault_text(proto_value_check(key->value.data, key->value.len)));
	} else {
		pl->kind = PLAN_STORE;
		pl->value = &key->value;
		snprintf(pl->name, sizeof pl->name, "%s",
		         pl->derived[0] != '\0' ? pl->derived : name->value.data);
		name_default_env(pl->name, pl->env);
	}
	if (pl->kind == PLAN_STORE && env_is_refused(pl->env)) {
		pl->kind = PLAN_SKIP;
		snprintf(
		    pl->line, sizeof pl->line,
		    "its env name $%s changes how programs load or where they look, so "
		    "ccr-keyd never stores it; skipped (store the key by hand with: ccr-config "
		    "set NAME --env VAR, and write $VAR in the config)",
		    pl->env);
	}
}

/* True when the keystore's key with this env name holds exactly value. */
static bool
stored_equals(const struct migration *m, const char *env, const struct buf *value)
{
	const struct jsonr *v = jsonr_get(m->values, env);

	return jsonr_is(v, JSONR_STRING) && strlen(v->u.str) == value->len &&
	       memcmp(v->u.str, value->data, value->len) == 0;
}

/* Give pl the first env name EnvName_2, _3 … that nobody holds; false when none is free. */
static bool
free_env(const struct migration *m, struct plan *pl)
{
	char base[ENV_MAX_LEN + 1], env[ENV_MAX_LEN + 8];
	int k;

	snprintf(base, sizeof base, "%s", pl->env);
	for (k = 2; k <= FREE_ENV_TRIES; k++) {
		snprintf(env, sizeof env, "%s_%d", base, k);
		if (!env_is_valid(env))
			return false;
		if (suggest_key_with(m->keys, "env", env) == NULL && !names_has(&m->taken, env)) {
			snprintf(pl->env, sizeof pl->env, "%s", env);
			return true;
		}
	}
	return false;
}

/* The env names whose stored values placing the literals needs compared. */
static void
needed_envs(const struct migration *m, struct names *envs)
{
	size_t i;

	for (i = 0; i < m->n; i++) {
		const struct plan *pl = &m->plans[i];
		const struct jsonr *k;

		if (pl->kind != PLAN_STORE)
			continue;
		k = suggest_key_with(m->keys, "name", pl->name);
		if (k == NULL)
			k = suggest_key_with(m->keys, "env", pl->env);
		if (k != NULL)
			names_add(envs, cli_str(k, "env"), strlen(cli_str(k, "env")));
	}
}

/*
 * Decide where the literal of plans[i] goes: the key of that name when it holds
 * the same value; a new key under the default env name, or under a free one when
 * that is held by another key or referenced by the config; skip when a different
 * key already has the name.
 */
static void
place(struct migration *m, size_t i)
{
	struct plan *pl = &m->plans[i];
	const struct jsonr *k;
	size_t j;

	for (j = 0; j < i; j++) {
		const struct plan *o = &m->plans[j];

		if ((o->kind != PLAN_STORE && o->kind != PLAN_REUSE) ||
		    strcmp(o->name, pl->name) != 0)
			continue;
		if (o->value->len != pl->value->len ||
		    memcmp(o->value->data, pl->value->data, pl->value->len) != 0) {
			pl->kind = PLAN_SKIP;
			snprintf(pl->line, sizeof pl->line,
			         "an earlier provider named %s has a different api_key; skipped",
			         pl->name);
			return;
		}
		pl->kind = PLAN_REUSE;
		snprintf(pl->env, sizeof pl->env, "%s", o->env);
		snprintf(pl->line, sizeof pl->line, "same key as above");
		return;
	}
	k = suggest_key_with(m->keys, "name", pl->name);
	if (k != NULL) {
		if (!stored_equals(m, cli_str(k, "env"), pl->value)) {
			pl->kind = PLAN_SKIP;
			snprintf(pl->line, sizeof pl->line,
			         "a different key is stored as %s; skipped (compare with: "
			         "ccr-config get %s; then ccr-config rename %s NEW, or delete "
			         "one)",
			         pl->name, pl->name, pl->name);
			return;
		}
		pl->kind = PLAN_REUSE;
		snprintf(pl->env, sizeof pl->env, "%s", cli_str(k, "env"));
		snprintf(pl->line, sizeof pl->line, "already stored");
		return;
	}
	k = suggest_key_with(m->keys, "env", pl->env);
	if (k != NULL && stored_equals(m, pl->env, pl->value)) {
		pl->kind = PLAN_REUSE;
		snprintf(pl->line, sizeof pl->line, "already stored as %s", cli_str(k, "name"));
		return;
	}
	if ((k != NULL || names_has(&m->taken, pl->env)) && !free_env(m, pl)) {
		pl->kind = PLAN_SKIP;
		snprintf(pl->line, sizeof pl->line,
		         "$%s and its numbered variants are all taken; skipped", pl->env);
		return;
	}
	names_add(&m->taken, pl->env, strlen(pl->env));
}

/* Write the "$ENV" each placed literal becomes. */
static void
set_refs(struct migration *m)
{
	size_t i;

	for (i = 0; i < m->n; i++) {
		struct plan *pl = &m->plans[i];

		if (pl->kind == PLAN_STORE || pl->kind == PLAN_REUSE)
			snprintf(pl->ref, sizeof pl->ref, "$%s", pl->env);
	}
}

/*
 * The binding of the key plans[i] stores: the origins of the providers that will
 * reference its env name, those whose literal it is and those that do already.
 */
static void
plan_origins(struct migration *m, size_t i)
{
	struct plan *pl = &m->plans[i];
	size_t j;

	for (j = 0; j < m->n && j < m->ncp; j++) {
		const struct plan *o = &m->plans[j];

		if ((o->kind == PLAN_STORE || o->kind == PLAN_REUSE) &&
		    strcmp(o->env, pl->env) == 0 && m->cp[j].origin[0] != '\0')
			names_add(&pl->origins, m->cp[j].origin, strlen(m->cp[j].origin));
	}
	config_origins(m->cp, m->ncp, pl->env, &pl->origins);
}

/* Store every PLAN_STORE key. Returns 0, or the exit code of the first failure. */
static int
store_all(struct cli *cli, struct migration *m)
{
	int first = 0, rc;
	size_t i;

	for (i = 0; i < m->n; i++) {
		struct plan *pl = &m->plans[i];
		const char *msg = "";
		struct jsonr *reply;

		if (pl->kind != PLAN_STORE)
			continue;
		if (first == EXIT_UNREACHABLE) {
			snprintf(pl->line, sizeof pl->line, "not stored; config not changed");
			continue;
		}
		reply = cli_store(cli, pl->name, pl->env, pl->value->data, pl->value->len,
		                  &pl->origins, &rc);
		if (reply != NULL)
			rc = cli_exit_for(conn_reply_error(reply, &msg));
		if (rc == 0)
			binding_join(jsonr_get(reply, "origins"), ", ", pl->bound,
			             sizeof pl->bound);
		if (rc != 0) {
			snprintf(pl->line, sizeof pl->line, "not stored: %s; config not changed",
			         reply != NULL ? msg : "the daemon did not answer");
			first = first != 0 ? first : rc;
		} else {
			snprintf(pl->line, sizeof pl->line, "stored (as $%s), config not changed",
			         pl->env);
		}
		conn_reply_free(reply);
	}
	return first;
}

/* Turn the lines of placed literals into what a --dry-run would do. */
static void
dry_lines(struct migration *m)
{
	size_t i;

	for (i = 0; i < m->n; i++) {
		struct plan *pl = &m->plans[i];
		char what[256];

		if (pl->kind != PLAN_STORE && pl->kind != PLAN_REUSE)
			continue;
		snprintf(what, sizeof what, "%s",
		         pl->kind == PLAN_STORE ? "would store" : pl->line);
		snprintf(pl->line, sizeof pl->line, "%s, config would use %s", what, pl->ref);
		if (pl->kind == PLAN_STORE)
			binding_join_names(&pl->origins, ", ", pl->bound, sizeof pl->bound);
	}
}

/* Ask the keystore about the literals and place each. Returns 0 or an exit code. */
static int
place_all(struct cli *cli, struct migration *m, struct jsonr **list, struct jsonr **resolved)
{
	struct names envs = {0};
	size_t i;
	int rc = 0;

	*list = cli_list(cli, &rc);
	if (*list == NULL)
		return rc;
	m->keys = jsonr_get(*list, "keys");
	needed_envs(m, &envs);
	if (envs.n > 0) {
		*resolved = cli_resolve(cli, (const char *const *)envs.v, envs.n, &rc);
		m->values = jsonr_get(*resolved, "values");
	}
	names_free(&envs);
	if (rc != 0)
		return rc;
	for (i = 0; i < m->n; i++) {
		if (m->plans[i].kind == PLAN_STORE)
			place(m, i);
	}
	set_refs(m);
	return 0;
}

/* True when some literal got a place, so the config changes. */
static bool
placed(const struct migration *m)
{
	size_t i;

	for (i = 0; i < m->n; i++) {
		if (m->plans[i].ref[0] != '\0')
			return true;
	}
	return false;
}

/* Print one line per provider, with the binding of each key it stored. */
static void
print_lines(const struct migration *m)
{
	size_t i;

	for (i = 0; i < m->n; i++) {
		const struct plan *pl = &m->plans[i];

		printf("%s: %s%s%s", pl->label, pl->line,
		       pl->bound[0] == '\0' ? ""
		       : m->dry_run         ? ", would bind to "
		                            : ", bound to ",
		       pl->bound);
		if (pl->derived[0] != '\0' && (pl->kind == PLAN_STORE || pl->kind == PLAN_REUSE))
			printf("; key name %s, made of the provider's name (another: ccr-config "
			       "rename %s NEW)",
			       pl->derived, pl->derived);
		putchar('\n');
	}
	fflush(stdout);
}

enum { OPT_DRY_RUN };

static const struct cmd_option options[] = {
    [OPT_DRY_RUN] = {"dry-run", 'n', NULL, "say what would change, and change nothing"},
    {0},
};

/* Move literal api_keys out of the router's config into the keystore. */
static int
cmd_migrate(struct cli *cli, const struct args *args)
{
	struct migration m = {.dry_run = args_has(args, OPT_DRY_RUN)};
	char path[PATHS_MAX], bak[PATHS_MAX + 64] = "";
	struct jsonr *list = NULL, *resolved = NULL;
	size_t i, literals = 0, skipped = 0;
	char err[1024];
	int rc;

	/* Router 3.x keeps its configuration in config.sqlite once it has imported config.json. */
	if (args->argc == 0 && router3_store_exists())
		return router3_migrate(cli, m.dry_run);
	if (args->argc == 1)
		snprintf(path, sizeof path, "%s", args->argv[0]);
	else if ((rc = config_default_path(path, sizeof path)) != 0)
		return rc;
	m.path = path;
	cli_protect();
	rc = migrate_load(&m);
	if (rc != 0)
		goto done;
	if (m.n == 0) {
		printf("%s has no providers; nothing to migrate\n", m.path);
		goto done;
	}
	m.plans = calloc(m.n, sizeof *m.plans);
	if (m.plans == NULL)
		abort();
	config_refs(m.text.data, m.text.len, &m.taken);
	for (i = 0; i < m.n; i++) {
		classify(&m, i);
		literals += m.plans[i].kind == PLAN_STORE;
	}
	if (literals > 0 && (rc = place_all(cli, &m, &list, &resolved)) != 0)
		goto done;
	if (literals > 0 && config_providers(&m.text, &m.cp, &m.ncp, err, sizeof err) == 0) {
		for (i = 0; i < m.n; i++) {
			if (m.plans[i].kind == PLAN_STORE)
				plan_origins(&m, i);
		}
	}
	if (m.dry_run) {
		dry_lines(&m);
	} else if ((rc = store_all(cli, &m)) != 0) {
		print_lines(&m);
		cli_error(rc,
		          "%s is unchanged because a key could not be stored; run ccr-config "
		          "migrate again once that is fixed",
		          m.path);
		goto done;
	} else if (placed(&m) && (rc = migrate_rewrite(&m, bak, sizeof bak)) != 0) {
		print_lines(&m);
		goto done;
	}
	print_lines(&m);
	if (bak[0] != '\0')
		printf("the original is in %s (mode 0600); it still holds the literal keys, so "
		       "delete it once the router works; the keys were on disk in clear, where "
		       "backups, sync or another program may have copied them: rotate each at its "
		       "provider (ccr-config set NAME stores the new one) and revoke the old\n",
		       bak);
	for (i = 0; i < m.n; i++)
		skipped += m.plans[i].kind == PLAN_SKIP;
	if (skipped > 0) {
		fflush(stdout);
		rc = cli_error(EXIT_FAILURE_OTHER, "%zu provider%s still hold%s a literal api_key",
		               skipped, skipped == 1 ? "" : "s", skipped == 1 ? "s" : "");
	}
done:
	conn_reply_free(resolved);
	conn_reply_free(list);
	json5edit_free(m.p, m.n);
	names_free(&m.taken);
	for (i = 0; m.plans != NULL && i < m.n; i++)
		names_free(&m.plans[i].origins);
	free(m.plans);
	config_providers_free(m.cp, m.ncp);
	buf_free(&m.text);
	return rc;
}

const struct command cmd_migrate_entry = {
    .name = "migrate",
    .usage = "[CONFIG] [--dry-run]",
    .summary = "move literal api_keys out of the router's config.json into the keystore",
    .options = options,
    .args = {.min = 0, .max = 1},
    .example = "ccr-config migrate --dry-run",
    .run = cmd_migrate,
};
