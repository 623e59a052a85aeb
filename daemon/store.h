/*
 * The committed keys in memory: what is durable on disk, indexed by name and
 * by env name. Values are in arena (secret) memory. Only the event loop
 * changes a store, and only while no write is in flight, so the writer thread
 * may read it meanwhile.
 */
#ifndef CCR_STORE_H
#define CCR_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "buf.h"
#include "keystore.h"
#include "table.h"

/* One key: a single allocation holding the entry, its name, env name and origins. */
struct entry {
	char *value; /* arena */
	size_t value_len;
	int64_t created;
	int64_t updated;
	char updated_iso[KS_TIME_MAX]; /* "" when unknown: formatted once, not per get */
	char *env;                     /* points into name[] */
	char *origins; /* points into name[]: the origins it is bound to (origin.h), "" for none */
	char name[];
};

struct store {
	struct table by_name;
	struct table by_env;
	struct arena *arena;
};

/* Initialise an empty store whose values live in arena. */
void store_init(struct store *s, struct arena *arena);

/* The entry named name, or NULL. */
const struct entry *store_get(const struct store *s, const char *name);

/* The entry whose env name is env, or NULL. */
const struct entry *store_by_env(const struct store *s, const char *env);

/*
 * Insert or replace name. value is an arena slot of value_len + 1 bytes that
 * the store now owns; a replaced value is wiped and freed. origins is the
 * key's origin list (origin.h), NULL or "" when it is bound to none.
 */
void store_put(struct store *s, const char *name, const char *env, char *value, size_t value_len,
               int64_t created, int64_t updated, const char *origins);

/* Bind name to origins (an origin list, "" for none). Returns 0, or -1 when absent. */
int store_bind(struct store *s, const char *name, const char *origins);

/*
 * Give the key name the name new_name (which no key has), keeping its value,
 * env name, times and origins. Returns 0, or -1 when name is absent.
 */
int store_rename(struct store *s, const char *name, const char *new_name);

/* Remove name, wiping its value. Returns 0, or -1 when absent. */
int store_del(struct store *s, const char *name);

/* Number of keys. */
size_t store_count(const struct store *s);

/*
 * All entries sorted by name, in a malloc'd array of *count pointers that the
 * caller frees (not the entries).
 */
const struct entry **store_sorted(const struct store *s, size_t *count);

/*
 * Parse a keystore document into the empty store s. Returns the ks_form, or
 * -1 with err set (a duplicate env name, say).
 */
int store_load(struct store *s, const char *text, size_t len, char *err, size_t errsize);

/* Wipe every value and release everything but the arena. */
void store_free(struct store *s);

#endif
