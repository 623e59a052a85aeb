/*
 * String-keyed open-addressing hash table with FNV-1a hashing. Keys and values
 * belong to the caller; the table only points at them.
 */
#include "table.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const char gone_marker;
#define TABLE_GONE (&gone_marker)

/* FNV-1a over a NUL-terminated string. */
static uint64_t
hash(const char *s)
{
	uint64_t h = 1469598103934665603ull;

	while (*s != '\0') {
		h ^= (unsigned char)*s++;
		h *= 1099511628211ull;
	}
	return h;
}

/* The slot holding key, or the first free slot where it would go. */
static struct table_slot *
find(const struct table *t, const char *key, int for_insert)
{
	size_t mask = t->cap - 1, i = (size_t)hash(key) & mask;
	struct table_slot *first_gone = NULL;

	for (;;) {
		struct table_slot *s = &t->slots[i];

		if (s->key == NULL)
			return for_insert && first_gone != NULL ? first_gone : s;
		if (s->key == TABLE_GONE) {
			if (first_gone == NULL)
				first_gone = s;
		} else if (strcmp(s->key, key) == 0) {
			return s;
		}
		i = (i + 1) & mask;
	}
}

/* Rebuild into cap slots, dropping deleted markers. */
static void
rehash(struct table *t, size_t cap)
{
	struct table_slot *old = t->slots;
	size_t oldcap = t->cap, i;

	t->slots = calloc(cap, sizeof *t->slots);
	if (t->slots == NULL)
		abort();
	t->cap = cap;
	t->used = t->live = 0;
	for (i = 0; i < oldcap; i++) {
		if (old[i].key != NULL && old[i].key != TABLE_GONE)
			table_put(t, old[i].key, old[i].value);
	}
	free(old);
}

void
table_init(struct table *t)
{
	memset(t, 0, sizeof *t);
	rehash(t, 16);
}

void *
table_get(const struct table *t, const char *key)
{
	struct table_slot *s = find(t, key, 0);

	return s->key != NULL ? s->value : NULL;
}

void
table_put(struct table *t, const char *key, void *value)
{
	struct table_slot *s;

	if ((t->used + 1) * 4 >= t->cap * 3)
		rehash(t, t->live * 2 >= t->cap / 2 ? t->cap * 2 : t->cap);
	s = find(t, key, 1);
	if (s->key == NULL) {
		t->used++;
		t->live++;
	} else if (s->key == TABLE_GONE) {
		t->live++;
	}
	s->key = key;
	s->value = value;
}

void *
table_del(struct table *t, const char *key)
{
	struct table_slot *s = find(t, key, 0);
	void *v;

	if (s->key == NULL)
		return NULL;
	v = s->value;
	s->key = TABLE_GONE;
	s->value = NULL;
	t->live--;
	return v;
}

void
table_reserve(struct table *t, size_t n)
{
	size_t cap = t->cap;

	while ((n + 1) * 4 >= cap * 3)
		cap *= 2;
	if (cap != t->cap)
		rehash(t, cap);
}

void
table_free(struct table *t)
{
	free(t->slots);
	memset(t, 0, sizeof *t);
}
