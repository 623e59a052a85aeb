/*
 * A string-keyed hash table of pointers (open addressing, linear probing),
 * used for the store's name and env-name indexes.
 */
#ifndef CCR_TABLE_H
#define CCR_TABLE_H

#include <stddef.h>

struct table_slot {
	const char *key; /* NULL: empty; TABLE_GONE: deleted */
	void *value;
};

struct table {
	struct table_slot *slots;
	size_t cap;  /* a power of two */
	size_t used; /* live + deleted slots */
	size_t live;
};

/* Initialise an empty table. */
void table_init(struct table *t);

/* The value stored under key, or NULL. */
void *table_get(const struct table *t, const char *key);

/* Store value under key (the key string must outlive its entry). */
void table_put(struct table *t, const char *key, void *value);

/*
 * Store value under key unless key is there already: returns the value stored
 * under it then (and changes nothing), else NULL. One lookup for both.
 */
void *table_add(struct table *t, const char *key, void *value);

/* Remove key; returns its value or NULL. */
void *table_del(struct table *t, const char *key);

/* Grow an empty or small table to hold n keys without rehashing on the way. */
void table_reserve(struct table *t, size_t n);

/* Release the slots (not the keys or values). */
void table_free(struct table *t);

#endif
