/*
 * The router's config file as the client sees it: where it is, and which
 * environment names it references.
 */
#ifndef CCR_CONFIG_H
#define CCR_CONFIG_H

#include <stddef.h>

#include "buf.h"

/* A de-duplicated list of env names, in order of first reference. */
struct names {
	char **v;
	size_t n, cap;
};

/* The default config path: $CCR_HOME/config.json. Returns 0, or an exit code after printing why. */
int config_default_path(char *out, size_t size);

/*
 * Read the config at path into text. Returns 0, 1 when it does not exist, or
 * an exit code (> 1) after printing why.
 */
int config_read(const char *path, struct buf *text);

/* Add every valid env name the config text references to names. */
void config_refs(const char *text, size_t len, struct names *names);

/* Add name to the list unless it is there already. */
void names_add(struct names *names, const char *name, size_t len);

/* Release the list. */
void names_free(struct names *names);

#endif
