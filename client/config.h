/*
 * The router's config file as the client sees it: where it is, which
 * environment names it references, and which origin each provider sends its
 * key to (its api_base_url reduced to scheme://host[:port]).
 */
#ifndef CCR_CONFIG_H
#define CCR_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "names.h"
#include "origin.h"

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

/* True when name is in the list. */
bool names_has(const struct names *names, const char *name);

/* Release the list. */
void names_free(struct names *names);

/* One provider of the router's config, as a key's binding sees it. */
struct config_provider {
	char label[NAME_MAX_LEN + 32]; /* its name, or "provider N" */
	struct names refs;             /* the env names its api_key references */
	char origin[ORIGIN_MAX + 1];   /* the origin of its api_base_url, or "" */
	char problem[ORIGIN_MAX + 96]; /* why origin is "": no api_base_url, not a URL … */
};

/*
 * Read the providers of a config text as the router does. Returns 0 with *out
 * (NULL when *n is 0) to release with config_providers_free, or -1 with err set
 * when the router could not parse the text.
 */
int config_providers(const struct buf *text, struct config_provider **out, size_t *n, char *err,
                     size_t errsize);

/* Release what config_providers returned; p may be NULL. */
void config_providers_free(struct config_provider *p, size_t n);

/* Add to origins the origin of every provider whose api_key references env ($ENV or ${ENV}). */
void config_origins(const struct config_provider *p, size_t n, const char *env,
                    struct names *origins);

/*
 * The binding a key of env name env gets from $CCR_HOME/config.json: the
 * origins of the providers that reference it, added to origins. A config that
 * is missing gives none; one that cannot be read or parsed gives none, with a
 * warning naming it.
 */
void config_binding(const char *env, struct names *origins);

#endif
