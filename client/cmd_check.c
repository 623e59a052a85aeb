/*
 * ccr-config check [CONFIG]: say, for every name the router's config references,
 * where the router will get it (keystore, environment, both, or nowhere) and the
 * origins a stored key is bound to, warn where the router itself would expose
 * the keys it is given (tests/e2e/ROUTER-NOTES.md) and where a binding lacks
 * the origin a provider sends its key to (check_binding.c), and say whether a
 * running router gets its keys (check_router.c). One list and one resolve
 * request; no value is ever printed.
 */
#include <ctype.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "binding.h"
#include "check.h"
#include "cli.h"
#include "config.h"
#include "hint.h"
#include "interp.h"
#include "json5edit.h"
#include "names.h"

/* Where the router will get one name. */
enum source {
	SRC_KEYSTORE,    /* only the keystore has it */
	SRC_ENVIRONMENT, /* only the environment has it (or the keystore was not asked) */
	SRC_BOTH,        /* both; exec puts the keystore's in the environment */
	SRC_MISSING,     /* neither: the router sends "$NAME" as written */
	SRC_UNKNOWN,     /* not in the environment, and the keystore could not be asked */
};

static const char *const source_names[] = {"keystore", "environment", "both", "missing", "unknown"};

/* One referenced name and what was found for it. */
struct ref {
	const char *env; /* the name as referenced */
	bool env_only;   /* a braced name no keystore entry can have, like ${a-b} */
	enum source source;
	const char *key;             /* the keystore name that holds it, or NULL */
	const struct jsonr *origins; /* that key's binding (its list entry's "origins") */
	bool provider;               /* a provider's api_key uses it: its binding matters */
	bool same;                   /* SRC_BOTH: the two values are equal */
};

/* What the keystore answered, kept for the whole check. */
struct keystore_view {
	int rc;             /* 0, or the exit code of the failure (3 unreachable, 4 locked …) */
	const char *state;  /* "ok", "unreachable", "locked", "denied", "failed", "not asked" */
	struct jsonr *list; /* the list reply: env ↔ key name */
	struct jsonr *resolved; /* the resolve reply: the values found */
};

/* True for a braced name worth reporting even though it is not an env name. */
static bool
plausible_braced(const char *name, size_t len)
{
	size_t i;

	if (len == 0 || len > NAME_MAX_LEN)
		return false;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];

		/* Quotes, braces and line breaks mean the scan ran across JSON5 syntax. */
		if (c < 0x20 || c > 0x7e || strchr("\"'\\${=", c) != NULL)
			return false;
	}
	return true;
}

/* interp_scan callback: keep the braced names that are not env names (config_refs has those). */
static void
add_other_ref(void *arg, const char *name, size_t len)
{
	char tmp[NAME_MAX_LEN + 1];

	if (!plausible_braced(name, len))
		return;
	memcpy(tmp, name, len);
	tmp[len] = '\0';
	if (!env_is_valid(tmp))
		names_add(arg, name, len);
}

/* The env name's value in the environment, or NULL when unset or empty (the router's ||). */
static const char *
env_value(const char *name)
{
	const char *v = getenv(name);

	return v != NULL && v[0] != '\0' ? v : NULL;
}

/* The keystore's value for an env name, or NULL. */
static const char *
keystore_value(const struct keystore_view *ks, const char *env)
{
	const struct jsonr *v;

	if (ks->resolved == NULL)
		return NULL;
	v = jsonr_get(jsonr_get(ks->resolved, "values"), env);
	return jsonr_is(v, JSONR_STRING) && v->u.str[0] != '\0' ? v->u.str : NULL;
}

/* The keystore's list entry whose env name is env, or NULL. */
static const struct jsonr *
keystore_entry(const struct keystore_view *ks, const char *env)
{
	const struct jsonr *k;

	jsonr_foreach(k, jsonr_get(ks->list, "keys"))
	{
		if (strcmp(cli_str(k, "env"), env) == 0)
			return k;
	}
	return NULL;
}

/* Send one request, with env as its "env" when not NULL; fill *reply, or ks->rc and ks->state. */
static void
ask(struct cli *cli, struct keystore_view *ks, enum proto_op op, const struct names *env,
    struct jsonr **reply)
{
	struct buf req = {0};
	enum proto_err err;
	struct jsonr *r;
	size_t i;
	int rc;

	proto_request_begin(&req, op);
	if (env != NULL) {
		proto_field_key(&req, "env");
		buf_addc(&req, '[');
		for (i = 0; i < env->n; i++) {
			if (i > 0)
				buf_addc(&req, ',');
			buf_add_json(&req, env->v[i], strlen(env->v[i]));
		}
		buf_addc(&req, ']');
	}
	proto_end(&req);
	r = cli_call(cli, &req, &rc);
	buf_free(&req);
	if (r == NULL) {
		ks->rc = rc;
		ks->state = rc == EXIT_UNREACHABLE ? "unreachable"
		            : rc == EXIT_DENIED    ? "denied"
		                                   : "failed";
		return;
	}
	err = conn_reply_error(r, NULL);
	if (err != PE_OK) {
		ks->rc = cli_reply_failed(r); /* with what to do: unlock, start it, ... */
		ks->state = err == PE_LOCKED ? "locked" : err == PE_DENIED ? "denied" : "failed";
		conn_reply_free(r);
		return;
	}
	*reply = r;
}

/* Ask the keystore which env names it has (list) and their values (resolve). */
static void
ask_keystore(struct cli *cli, const struct names *env, struct keystore_view *ks)
{
	ks->state = "not asked";
	if (env->n == 0)
		return;
	ask(cli, ks, OP_LIST, NULL, &ks->list);
	if (ks->rc == 0)
		ask(cli, ks, OP_RESOLVE, env, &ks->resolved);
	if (ks->rc == 0)
		ks->state = "ok";
}

/* Decide where the router gets r->env. */
static void
classify(struct ref *r, const struct keystore_view *ks)
{
	const char *env = env_value(r->env), *stored = NULL;

	if (!r->env_only && ks->rc == 0)
		stored = keystore_value(ks, r->env);
	if (stored != NULL) {
		const struct jsonr *k = keystore_entry(ks, r->env);

		r->key = k != NULL ? cli_str(k, "name") : NULL;
		r->origins = jsonr_get(k, "origins");
		r->source = env != NULL ? SRC_BOTH : SRC_KEYSTORE;
		r->same = env != NULL && strcmp(env, stored) == 0;
	} else if (env != NULL) {
		r->source = SRC_ENVIRONMENT;
	} else {
		r->source = !r->env_only && ks->rc != 0 ? SRC_UNKNOWN : SRC_MISSING;
	}
}

/*
 * Write ", bound to ORIGIN, …" (or to no origin) for a key of the keystore that
 * a provider uses to out; "" for one only used elsewhere (APIKEY, LOG_LEVEL).
 */
static void
describe_binding(const struct ref *r, char *out, size_t size)
{
	char list[BINDING_TEXT_MAX];

	out[0] = '\0';
	if (!r->provider)
		return;
	binding_join(r->origins, ", ", list, sizeof list);
	snprintf(out, size, ", bound to %s", list[0] != '\0' ? list : "no origin");
}

/* The text after the name on one line of the table. */
static void
describe(const struct ref *r, const struct keystore_view *ks, char *out, size_t size)
{
	char bound[BINDING_TEXT_MAX + 16];

	switch (r->source) {
	case SRC_KEYSTORE:
		describe_binding(r, bound, sizeof bound);
		snprintf(out, size, "keystore (%s)%s", r->key != NULL ? r->key : "?", bound);
		break;
	case SRC_BOTH:
		describe_binding(r, bound, sizeof bound);
		snprintf(out, size, "both (keystore wins%s)%s",
		         r->same ? "; same value" : "; the values differ", bound);
		break;
	case SRC_ENVIRONMENT:
		if (r->env_only)
			snprintf(out, size,
			         "environment only (no keystore entry can have this name)");
		else if (ks->rc != 0)
			snprintf(out, size, "environment (keystore %s)", ks->state);
		else
			snprintf(out, size, "environment");
		break;
	case SRC_MISSING:
		snprintf(out, size, "MISSING%s",
		         r->env_only ? " (environment only: no keystore entry can have this name)"
		                     : "");
		break;
	case SRC_UNKNOWN:
		snprintf(out, size, "not in the environment; keystore %s", ks->state);
		break;
	}
}

/* The name as shown: env names bare, other braced names as written. */
static void
shown_name(const struct ref *r, char *out, size_t size)
{
	snprintf(out, size, r->env_only ? "${%s}" : "%s", r->env);
}

/* Print the table for people. */
static void
print_table(const struct ref *refs, size_t n, const struct keystore_view *ks, const char *path)
{
	char name[NAME_MAX_LEN + 8], what[BINDING_TEXT_MAX + 256];
	int width = 0;
	size_t i;

	if (n == 0) {
		printf("%s references no $NAME\n", path);
		return;
	}
	for (i = 0; i < n; i++) {
		shown_name(&refs[i], name, sizeof name);
		if ((int)strlen(name) > width)
			width = (int)strlen(name);
	}
	for (i = 0; i < n; i++) {
		shown_name(&refs[i], name, sizeof name);
		describe(&refs[i], ks, what, sizeof what);
		printf("%-*s  %s\n", width, name, what);
	}
}

void
check_warn(struct buf *warnings, const char *code, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	cli_warn("%s", msg);
	if (warnings->len > 0)
		buf_addc(warnings, ',');
	buf_adds(warnings, "{\"warning\":");
	jsonr_print_str(warnings, code, strlen(code));
	buf_adds(warnings, ",\"message\":");
	jsonr_print_str(warnings, msg, strlen(msg));
	buf_addc(warnings, '}');
}

/* interp_expand lookup for check: the keystore's value first, then the environment. */
static const char *
lookup(void *arg, const char *name, size_t *len)
{
	const char *v = keystore_value(arg, name);

	if (v == NULL)
		v = env_value(name);
	if (v != NULL)
		*len = strlen(v);
	return v;
}

/* Print the machine-readable report. */
static void
print_json(const struct ref *refs, size_t n, const struct keystore_view *ks, const char *path,
           size_t missing, const char *config_error, const struct buf *router,
           const struct buf *warnings)
{
	struct buf out = {0};
	size_t i;

	proto_reply_begin(&out, NULL);
	proto_field_str_as(&out, "config", path, strlen(path), BUF_JSON_CJSON);
	proto_field_str(&out, "keystore", ks->state, strlen(ks->state));
	proto_field_key(&out, "names");
	buf_addc(&out, '[');
	for (i = 0; i < n; i++) {
		const char *source = source_names[refs[i].source];

		if (i > 0)
			buf_addc(&out, ',');
		buf_adds(&out, "{\"name\":");
		jsonr_print_str(&out, refs[i].env, strlen(refs[i].env));
		proto_field_str(&out, "source", source, strlen(source));
		if (refs[i].key != NULL) {
			proto_field_str(&out, "key", refs[i].key, strlen(refs[i].key));
			binding_copy(&out, refs[i].origins);
		} else {
			buf_adds(&out, ",\"key\":null");
		}
		if (refs[i].source == SRC_BOTH)
			buf_adds(&out,
			         refs[i].same ? ",\"same_value\":true" : ",\"same_value\":false");
		if (refs[i].env_only)
			buf_adds(&out, ",\"environment_only\":true");
		buf_addc(&out, '}');
	}
	buf_addc(&out, ']');
	proto_field_int(&out, "missing", (long long)missing);
	if (config_error != NULL)
		proto_field_str(&out, "config_error", config_error, strlen(config_error));
	if (router->len > 0)
		buf_add(&out, router->data, router->len);
	proto_field_key(&out, "warnings");
	buf_addc(&out, '[');
	if (warnings->len > 0)
		buf_add(&out, warnings->data, warnings->len);
	buf_addc(&out, ']');
	cli_json_out(&out);
}

/* Add the env names the api_keys of the config's providers use to used. */
static void
provider_refs(const struct buf *text, struct names *used)
{
	struct config_provider *p = NULL;
	size_t n = 0, i, j;
	char err[256];

	if (config_providers(text, &p, &n, err, sizeof err) == -1)
		return; /* check_exposure says why the router cannot parse it */
	for (i = 0; i < n; i++) {
		for (j = 0; j < p[i].refs.n; j++)
			names_add(used, p[i].refs.v[j], strlen(p[i].refs.v[j]));
	}
	config_providers_free(p, n);
}

/* Check where the router will get each name the config references. */
static int
cmd_check(struct cli *cli, const struct args *args)
{
	const char *given = args->argv[0]; /* the config named on the command line, or NULL */
	struct keystore_view ks = {0};
	struct names env = {0}, other = {0}, used = {0};
	struct buf text = {0};
	struct ref *refs;
	char path[PATHS_MAX], err[1024];
	struct buf warnings = {0}; /* the elements of the --json "warnings" array */
	struct buf router = {0};   /* ,"router":{…} for --json */
	size_t i, n, missing = 0, nvalues = 0;
	const char **values;
	long clear;
	int rc;

	if (given != NULL)
		snprintf(path, sizeof path, "%s", given);
	else if ((rc = config_default_path(path, sizeof path)) != 0)
		return rc;
	rc = config_read(path, &text);
	if (rc == 1 && given == NULL && check_router(cli, cli->json, &router, &warnings)) {
		/* Router 3.x: its configuration is in config.sqlite, not config.json. */
		ks.state = "not asked";
		if (cli->json)
			print_json(NULL, 0, &ks, path, 0, NULL, &router, &warnings);
		buf_free(&router);
		buf_free(&warnings);
		return EXIT_OK;
	}
	buf_free(&router);
	buf_free(&warnings);
	if (rc == 1)
		return cli_error(EXIT_NOT_FOUND,
		                 "%s does not exist; the router starts with no "
		                 "providers without it",
		                 path);
	if (rc != 0)
		return rc;
	cli_protect(); /* the resolve reply holds keys */
	config_refs(text.data, text.len, &env);
	interp_scan(text.data, text.len, add_other_ref, &other);
	provider_refs(&text, &used);
	ask_keystore(cli, &env, &ks);
	n = env.n + other.n;
	refs = calloc(n ? n : 1, sizeof *refs);
	if (refs == NULL)
		abort();
	for (i = 0; i < n; i++) {
		refs[i].env = i < env.n ? env.v[i] : other.v[i - env.n];
		refs[i].env_only = i >= env.n;
		classify(&refs[i], &ks);
		refs[i].provider = !refs[i].env_only && names_has(&used, refs[i].env);
		if (refs[i].source == SRC_MISSING)
			missing++;
	}
	if (!cli->json)
		print_table(refs, n, &ks, path);
	if (given == NULL)
		check_router_home(path, &warnings);
	err[0] = '\0';
	rc = check_exposure(&text, path, lookup, &ks, &warnings, err, sizeof err);
	check_literals(path, &text, given != NULL, &warnings);
	if (ks.rc == 0 && ks.list != NULL)
		check_bindings(&text, jsonr_get(ks.list, "keys"), &warnings);
	if (ks.rc == 0 && ks.list != NULL)
		check_env_names(jsonr_get(ks.list, "keys"), &warnings);
	/* The values the config's names have, to look for in backups and logs. */
	values = calloc(2 * n + 1, sizeof *values);
	if (values == NULL)
		abort();
	for (i = 0; i < n; i++) {
		values[nvalues] = keystore_value(&ks, refs[i].env);
		nvalues += values[nvalues] != NULL;
		values[nvalues] = env_value(refs[i].env);
		nvalues += values[nvalues] != NULL;
	}
	clear = check_backups(path, values, nvalues, &warnings);
	free(values);
	if (clear > 0)
		check_warn(&warnings, "rotate",
		           "the keys that were on disk in clear may have been copied meanwhile (by "
		           "backups, sync, an editor, another program): once they are in the "
		           "keystore, rotate each at its provider (a new key, stored with "
		           "ccr-config set NAME) and revoke the old one");
	if (!cli->json && ks.rc == 0 && isatty(STDOUT_FILENO))
		hint_passphrase(cli, stdout); /* for a person: a script's output stays as it was */
	if (given == NULL)
		check_router(cli, cli->json, &router, &warnings);
	check_agents(&router, !cli->json && isatty(STDOUT_FILENO));
	if (cli->json)
		print_json(refs, n, &ks, path, missing, err[0] ? err : NULL, &router, &warnings);
	if (ks.rc != 0)
		rc = ks.rc;
	else if (rc == 0 && missing > 0)
		rc = EXIT_NOT_FOUND;
	free(refs);
	conn_reply_free(ks.list);
	conn_reply_free(ks.resolved);
	buf_free(&warnings);
	buf_free(&router);
	names_free(&env);
	names_free(&other);
	names_free(&used);
	buf_free(&text);
	return rc;
}

const struct command cmd_check_entry = {
    .name = "check",
    .usage = "[CONFIG]",
    .summary = "say where the router gets each key its config names; warn where it leaks them",
    .args = {.min = 0, .max = 1},
    .json = "print "
            "{\"ok\":true,\"config\",\"keystore\",\"names\":[{…,\"origins\"}],\"missing\","
            "\"router\",\"warnings\":[…]}",
    .example = "ccr-config check",
    .run = cmd_check,
};
