/*
 * What ccr-config import works on: the keys to import, each with where it
 * should go and its value, and where they come from (import_source.c): the
 * environment or an old keystore file.
 */
#ifndef CCR_IMPORT_H
#define CCR_IMPORT_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "jsonr.h"
#include "names.h"

/* One key to import: where it should go and its value (wiped when released). */
struct item {
	char name[NAME_MAX_LEN + 1];
	char env[ENV_MAX_LEN + 1];
	struct buf value;
	const char *invalid;       /* why the value cannot be stored, or NULL */
	const struct jsonr *match; /* the stored key it meets (same env, else same name), or NULL */
	bool held; /* the keystore holds its value now (stored, updated, unchanged) */
};

/* The keys of one import, in a growing array. */
struct items {
	struct item *v;
	size_t n, cap;
};

/* Append a fresh item for name and env and return it. */
struct item *items_add(struct items *items, const char *name, const char *env);

/* Wipe every value and release the list. */
void items_free(struct items *items);

/* Order the items by env name, for output that does not depend on the environment's order. */
void items_sort(struct items *items);

/*
 * Set the value of it (white space around it removed, and said), noting why
 * the daemon would refuse it in it->invalid.
 */
void item_set_value(struct item *it, const char *v, size_t len);

/* Collect the variables listed in only (comma-separated). Returns 0 or an exit code. */
int import_collect_only(char *only, struct items *items);

/*
 * Who reads env from the environment themselves ("claude (Claude Code) and the
 * Anthropic SDKs"): import env leaves such a variable alone. NULL for others.
 */
const char *import_read_directly(const char *env);

/*
 * Collect every non-empty *_API_KEY variable of our environment but those that
 * other programs read themselves (said on stdout). Returns 0 or an exit code.
 */
int import_collect_env(struct items *items);

/* Collect the keys of a keystore file at path, never changing it. Returns 0 or an exit code. */
int import_collect_file(const char *path, struct items *items);

#endif
