/*
 * Finding the names the router's config references, for exec and check, and
 * the origin each provider sends its key to, for the binding of keys (set,
 * migrate, bind --from-config, check).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "fileio.h"
#include "interp.h"
#include "json5edit.h"
#include "names.h"

int
config_default_path(char *out, size_t size)
{
	char home[PATHS_MAX], err[1024];

	if (paths_home(home, sizeof home, err, sizeof err) == -1)
		return cli_error(EXIT_FAILURE_OTHER, "%s", err);
	snprintf(out, size, "%s/config.json", home);
	return 0;
}

int
config_read(const char *path, struct buf *text)
{
	char err[1024];
	int rc = fileio_read(path, 0, text, NULL, err, sizeof err);

	if (rc == -1)
		return cli_error(EXIT_FAILURE_OTHER, "%s", err);
	return rc;
}

void
names_add(struct names *names, const char *name, size_t len)
{
	size_t i;

	for (i = 0; i < names->n; i++) {
		if (strlen(names->v[i]) == len && memcmp(names->v[i], name, len) == 0)
			return;
	}
	if (names->n == names->cap) {
		names->cap = names->cap ? names->cap * 2 : 16;
		names->v = realloc(names->v, names->cap * sizeof *names->v);
		if (names->v == NULL)
			abort();
	}
	names->v[names->n] = strndup(name, len);
	if (names->v[names->n] == NULL)
		abort();
	names->n++;
}

bool
names_has(const struct names *names, const char *name)
{
	size_t i;

	for (i = 0; i < names->n; i++) {
		if (strcmp(names->v[i], name) == 0)
			return true;
	}
	return false;
}

/* interp_scan callback: keep the names an env-backed lookup could resolve. */
static void
add_ref(void *arg, const char *name, size_t len)
{
	char tmp[ENV_MAX_LEN + 1];

	if (len == 0 || len > ENV_MAX_LEN)
		return;
	memcpy(tmp, name, len);
	tmp[len] = '\0';
	if (env_is_valid(tmp))
		names_add(arg, name, len);
}

void
config_refs(const char *text, size_t len, struct names *names)
{
	interp_scan(text, len, add_ref, names);
}

void
names_free(struct names *names)
{
	size_t i;

	for (i = 0; i < names->n; i++)
		free(names->v[i]);
	free(names->v);
	memset(names, 0, sizeof *names);
}

/* interp_expand lookup: the environment, as the router substitutes its config. */
static const char *
env_lookup(void *arg, const char *name, size_t *len)
{
	const char *v = getenv(name);

	(void)arg;
	if (v != NULL)
		*len = strlen(v);
	return v;
}

/*
 * Describe the api_base_url of the provider object that starts at text + start:
 * its end is the last '}' before limit up to which the router's parser reads
 * one object (a '}' in a comment or a later element reads as more text), and
 * only its own top-level member counts. Fills f; returns 0, or -1 when no end fits.
 */
static int
provider_member(const struct buf *text, size_t start, size_t limit, const char *key,
                struct json5edit_field *f)
{
	size_t end;

	for (end = limit; end > start; end--) {
		if (text->data[end - 1] != '}')
			continue;
		if (json5edit_top_member(text->data + start, end - start, key, f, NULL, 0) == 0)
			return 0;
	}
	return -1;
}

/* Set p->origin from the api_base_url f holds, or say in p->problem why there is none. */
static void
provider_origin(struct config_provider *p, const struct json5edit_field *f)
{
	struct buf url = {0};
	const char *why = NULL;

	if (f->kind == JSON5EDIT_ABSENT) {
		snprintf(p->problem, sizeof p->problem, "has no api_base_url");
		return;
	}
	if (f->kind != JSON5EDIT_STRING || strlen(f->value.data) != f->value.len) {
		snprintf(p->problem, sizeof p->problem, "has an api_base_url that is not a URL");
		return;
	}
	/* The router substitutes $NAME in every string of its config, this one too. */
	interp_expand(f->value.data, f->value.len, env_lookup, NULL, &url);
	buf_addc(&url, '\0');
	if (origin_from_url(url.data, p->origin, &why) != 0) {
		p->origin[0] = '\0';
		snprintf(p->problem, sizeof p->problem,
		         "has an api_base_url that is no origin (%s): %.*s",
		         why != NULL ? why : "not an http or https URL", ORIGIN_MAX, f->value.data);
	}
	buf_free(&url);
}

int
config_providers(const struct buf *text, struct config_provider **out, size_t *n, char *err,
                 size_t errsize)
{
	struct json5edit_provider *jp;
	struct config_provider *p;
	size_t count, i;

	*out = NULL;
	*n = 0;
	if (json5edit_providers(text->data, text->len, &jp, &count, err, errsize) == -1)
		return -1;
	if (count == 0)
		return 0;
	p = calloc(count, sizeof *p);
	if (p == NULL)
		abort();
	for (i = 0; i < count; i++) {
		const struct json5edit_field *name = &jp[i].name, *key = &jp[i].api_key;
		size_t limit = i + 1 < count ? jp[i + 1].start : text->len;
		struct json5edit_field url;

		if (name->kind == JSON5EDIT_STRING && name->value.len == strlen(name->value.data) &&
		    name_is_valid(name->value.data))
			snprintf(p[i].label, sizeof p[i].label, "%s", name->value.data);
		else
			snprintf(p[i].label, sizeof p[i].label, "provider %zu", i + 1);
		if (key->kind == JSON5EDIT_STRING)
			interp_scan(key->value.data, key->value.len, add_ref, &p[i].refs);
		if (provider_member(text, jp[i].start, limit, "api_base_url", &url) == 0) {
			provider_origin(&p[i], &url);
			json5edit_field_free(&url);
		} else {
			snprintf(p[i].problem, sizeof p[i].problem, "could not be read");
		}
	}
	json5edit_free(jp, count);
	*out = p;
	*n = count;
	return 0;
}

void
config_providers_free(struct config_provider *p, size_t n)
{
	size_t i;

	for (i = 0; p != NULL && i < n; i++)
		names_free(&p[i].refs);
	free(p);
}

void
config_origins(const struct config_provider *p, size_t n, const char *env, struct names *origins)
{
	size_t i, j;

	for (i = 0; i < n; i++) {
		for (j = 0; j < p[i].refs.n; j++) {
			if (strcmp(p[i].refs.v[j], env) == 0 && p[i].origin[0] != '\0')
				names_add(origins, p[i].origin, strlen(p[i].origin));
		}
	}
}

void
config_binding(const char *env, struct names *origins)
{
	struct config_provider *p = NULL;
	char home[PATHS_MAX], path[PATHS_MAX + 16], err[1024];
	struct buf text = {0};
	size_t n = 0;
	int rc;

	if (paths_home(home, sizeof home, err, sizeof err) == -1)
		return;
	snprintf(path, sizeof path, "%s/config.json", home);
	rc = fileio_read(path, 0, &text, NULL, err, sizeof err);
	if (rc == -1)
		cli_warn("%s; the key is not bound from it", err);
	else if (rc == 0 && config_providers(&text, &p, &n, err, sizeof err) == -1)
		cli_warn("%s: %s; the key is not bound from it", path, err);
	else if (rc == 0)
		config_origins(p, n, env, origins);
	config_providers_free(p, n);
	buf_free(&text);
}
