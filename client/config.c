/*
 * Finding the names the router's config references, for exec and check.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "fileio.h"
#include "interp.h"
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
