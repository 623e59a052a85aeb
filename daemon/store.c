/*
 * The in-memory keystore: two hash indexes over entries whose values sit in
 * arena memory.
 */
#include "store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void
store_init(struct store *s, struct arena *arena)
{
	table_init(&s->by_name);
	table_init(&s->by_env);
	s->arena = arena;
}

const struct entry *
store_get(const struct store *s, const char *name)
{
	return table_get(&s->by_name, name);
}

const struct entry *
store_by_env(const struct store *s, const char *env)
{
	return table_get(&s->by_env, env);
}

/* Unindex and release one entry. */
static void
entry_free(struct store *s, struct entry *e)
{
	table_del(&s->by_name, e->name);
	if (table_get(&s->by_env, e->env) == e)
		table_del(&s->by_env, e->env);
	arena_free(s->arena, e->value, e->value_len + 1);
	free(e);
}

/* A new, unindexed entry holding copies of name, env and origins; its value is the caller's. */
static struct entry *
entry_new(const char *name, const char *env, const char *origins)
{
	size_t nlen = strlen(name), elen = strlen(env),
	       olen = origins != NULL ? strlen(origins) : 0;
	struct entry *e = malloc(sizeof *e + nlen + elen + olen + 3);

	if (e == NULL)
		abort();
	memcpy(e->name, name, nlen + 1);
	e->env = e->name + nlen + 1;
	memcpy(e->env, env, elen + 1);
	e->origins = e->env + elen + 1;
	memcpy(e->origins, olen > 0 ? origins : "", olen + 1);
	return e;
}

/* Give the new entry e its value (an arena slot it now owns) and times. */
static void
entry_set(struct entry *e, char *value, size_t value_len, int64_t created, int64_t updated)
{
	e->value = value;
	e->value_len = value_len;
	e->created = created;
	e->updated = updated;
	e->updated_iso[0] = '\0';
	if (updated > 0)
		ks_time_format(updated, e->updated_iso);
}

void
store_put(struct store *s, const char *name, const char *env, char *value, size_t value_len,
          int64_t created, int64_t updated, const char *origins)
{
	struct entry *old = table_get(&s->by_name, name);
	struct entry *e = entry_new(name, env, origins);

	entry_set(e, value, value_len, created, updated);
	if (old != NULL)
		entry_free(s, old);
	table_put(&s->by_name, e->name, e);
	table_put(&s->by_env, e->env, e);
}

/* Put a new entry named name, bound to origins, in old's place; old's value moves to it. */
static void
entry_replace(struct store *s, struct entry *old, const char *name, const char *origins)
{
	struct entry *e = entry_new(name, old->env, origins);

	e->value = old->value;
	e->value_len = old->value_len;
	e->created = old->created;
	e->updated = old->updated;
	memcpy(e->updated_iso, old->updated_iso, sizeof e->updated_iso);
	/* The value moves to the new entry: unindex and free the old one without it. */
	table_del(&s->by_name, old->name);
	if (table_get(&s->by_env, old->env) == old)
		table_del(&s->by_env, old->env);
	free(old);
	table_put(&s->by_name, e->name, e);
	table_put(&s->by_env, e->env, e);
}

int
store_bind(struct store *s, const char *name, const char *origins)
{
	struct entry *old = table_get(&s->by_name, name);

	if (old == NULL)
		return -1;
	entry_replace(s, old, old->name, origins);
	return 0;
}

int
store_rename(struct store *s, const char *name, const char *new_name)
{
	struct entry *old = table_get(&s->by_name, name);

	if (old == NULL)
		return -1;
	entry_replace(s, old, new_name, old->origins);
	return 0;
}

int
store_del(struct store *s, const char *name)
{
	struct entry *e = table_get(&s->by_name, name);

	if (e == NULL)
		return -1;
	entry_free(s, e);
	return 0;
}

size_t
store_count(const struct store *s)
{
	return s->by_name.live;
}

/* Order entries by name for qsort. */
static int
by_name(const void *a, const void *b)
{
	const struct entry *const *x = a, *const *y = b;

	return strcmp((*x)->name, (*y)->name);
}

const struct entry **
store_sorted(const struct store *s, size_t *count)
{
	const struct entry **v;
	size_t i, n = 0;

	v = malloc((store_count(s) + 1) * sizeof *v);
	if (v == NULL)
		abort();
	for (i = 0; i < s->by_name.cap; i++) {
		const struct table_slot *slot = &s->by_name.slots[i];

		if (slot->value != NULL)
			v[n++] = slot->value;
	}
	qsort(v, n, sizeof *v, by_name);
	*count = n;
	return v;
}

/*
 * ks_parse callback: copy one key into the store, refusing duplicates. Each
 * index is looked up once, by the insert that finds a duplicate too.
 */
static int
load_entry(void *arg, const struct ks_entry *ke, char *err, size_t errsize)
{
	struct store *s = arg;
	struct entry *e = entry_new(ke->name, ke->env, ke->origins);
	const struct entry *other;
	char *value;

	if (table_add(&s->by_name, e->name, e) != NULL) {
		free(e);
		snprintf(err, errsize, "key %s appears twice", ke->name);
		return -1;
	}
	other = table_add(&s->by_env, e->env, e);
	if (other != NULL) {
		table_del(&s->by_name, e->name);
		free(e);
		snprintf(err, errsize, "keys %s and %s share the env name %s", other->name,
		         ke->name, ke->env);
		return -1;
	}
	value = arena_alloc(s->arena, ke->value_len + 1);
	memcpy(value, ke->value, ke->value_len + 1);
	entry_set(e, value, ke->value_len, ke->created, ke->updated);
	return 0;
}

/* Size the indexes once: a stored key with its times takes ~200 bytes of the file. */
static void
reserve_for(struct store *s, size_t len)
{
	table_reserve(&s->by_name, len / 200);
	table_reserve(&s->by_env, len / 200);
}

int
store_load(struct store *s, const char *text, size_t len, char *err, size_t errsize)
{
	reserve_for(s, len);
	if (ks_parse_quick(text, len, load_entry, s) == KS_FORM_V1)
		return KS_FORM_V1;
	/* Another form, or something wrong: empty the store and let ks_parse decide. */
	store_free(s);
	store_init(s, s->arena);
	reserve_for(s, len);
	return ks_parse(text, len, load_entry, s, err, errsize);
}

void
store_free(struct store *s)
{
	size_t i;

	for (i = 0; i < s->by_name.cap; i++) {
		struct entry *e = s->by_name.slots[i].value;

		if (e == NULL)
			continue;
		arena_free(s->arena, e->value, e->value_len + 1);
		free(e);
	}
	table_free(&s->by_name);
	table_free(&s->by_env);
}
