/*
 * String-keyed open-addressing hash table (linear probing). Keys and values
 * belong to the caller; the table only points at them.
 */
#include "table.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const char gone_marker;
#define TABLE_GONE (&gone_marker)

/*
 * A NUL-terminated string's hash, 8 bytes at a time: each word is mixed in
 * with a multiply, and the end folds the high bits down, since the table
 * takes the low bits.
 */
static uint64_t
hash(const char *s)
{
	size_t len = strlen(s);
	uint64_t h = 0x9e3779b97f4a7c15ull ^ len, w;

	for (; len >= 8; s += 8, len -= 8) {
		memcpy(&w, s, 8);
		h = (h ^ w) * 0xff51afd7ed558ccdull;
		h ^= h >> 32;
	}
	w = 0;
	memcpy(&w, s, len);
	h = (h ^ w) * 0xc4ceb9fe1a85ec53ull;
	return h ^ (h >> 29) ^ (h >> 47);
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

/* The slot where key is, or where it goes, with room made for one more key first. */
static struct table_slot *
slot_for_insert(struct table *t, const char *key)
{
	if ((t->used + 1) * 4 >= t->cap * 3)
		rehash(t, t->live * 2 >= t->cap / 2 ? t->cap * 2 : t->cap);
	return find(t, key, 1);
}

/* Store key and value in s, a slot slot_for_insert returned. */
static void
fill(struct table *t, struct table_slot *s, const char *key, void *value)
{
	if (s->key == NULL) {
		t->used++;
		t->live++;
	} else if (s->key == TABLE_GONE) {
		t->live++;
	}
	s->key = key;
	s->value = value;
}

void
table_put(struct table *t, const char *key, void *value)
{
	fill(t, slot_for_insert(t, key), key, value);
}

void *
table_add(struct table *t, const char *key, void *value)
{
	struct table_slot *s = slot_for_insert(t, key);

	if (s->key != NULL && s->key != TABLE_GONE)
		return s->value;
	fill(t, s, key, value);
	return NULL;
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
