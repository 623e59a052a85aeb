/*
 * Where ccr-config import finds keys: the *_API_KEY variables of its own
 * environment (or those --only names), or an old keystore file, which is never
 * changed. Values are kept in wiped buffers and never printed.
 */
#include "import.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "fileio.h"
#include "keystore.h"

extern char **environ;

/* Append a fresh item for name and env and return it. */
struct item *
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
void
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
void
item_set_value(struct item *it, const char *v, size_t len)
{
	char what[ENV_MAX_LEN + 16];
	enum proto_value_fault fault;

	buf_add(&it->value, v, len);
	snprintf(what, sizeof what, "$%s", it->env);
	cli_trim_value(&it->value, what);
	fault = proto_value_check(it->value.data, it->value.len);
	if (fault != PV_OK)
		it->invalid = proto_value_fault_text(fault);
}

/* Order items by env name, for output that does not depend on the environment's order. */
static int
item_cmp(const void *a, const void *b)
{
	return strcmp(((const struct item *)a)->env, ((const struct item *)b)->env);
}

/* Sort the items with item_cmp. */
void
items_sort(struct items *items)
{
	qsort(items->v, items->n, sizeof *items->v, item_cmp);
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
int
import_collect_only(char *only, struct items *items)
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

/*
 * The variables that coding agents and vendor SDKs read from the environment
 * themselves, and who reads each: moving one into the keystore and out of the
 * shell profile would break running that program directly, so import env
 * sweeps none of them; --only names one on purpose. Not the router's providers
 * (OPENROUTER_API_KEY and the like), which only the router reads.
 */
static const struct {
	const char *env, *readers;
} read_directly[] = {
    {"ANTHROPIC_API_KEY", "claude (Claude Code) and the Anthropic SDKs"},
    {"ANTHROPIC_AUTH_TOKEN", "claude (Claude Code)"},
    {"CLAUDE_CODE_OAUTH_TOKEN", "claude (Claude Code)"},
    {"OPENAI_API_KEY", "codex and the OpenAI SDKs"},
    {"AZURE_OPENAI_API_KEY", "the OpenAI SDKs"},
    {"GEMINI_API_KEY", "gemini (Gemini CLI) and the Google Gen AI SDKs"},
    {"GOOGLE_API_KEY", "gemini (Gemini CLI) and the Google SDKs"},
    {NULL, NULL},
};

const char *
import_read_directly(const char *env)
{
	size_t i;

	for (i = 0; read_directly[i].env != NULL; i++) {
		if (strcmp(read_directly[i].env, env) == 0)
			return read_directly[i].readers;
	}
	return NULL;
}

/* Collect every non-empty *_API_KEY variable of our environment. Returns 0 or an exit code. */
int
import_collect_env(struct items *items)
{
	size_t left = 0;
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
		if (import_read_directly(var) != NULL) {
			printf("%s: left in the environment: %s read $%s themselves, and would "
			       "break without it in your profile (store it anyway: ccr-config "
			       "import env --only %s)\n",
			       name, import_read_directly(var), var, var);
			left++;
			continue;
		}
		item_set_value(items_add(items, name, var), eq + 1, strlen(eq + 1));
	}
	if (items->n == 0 && left > 0)
		return cli_error(EXIT_NOT_FOUND, "nothing else to import");
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
int
import_collect_file(const char *path, struct items *items)
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
