/*
 * A change's life outside the writer's batches: its end (change_finish,
 * change_free), and its check against the store as the changes validated
 * before it will leave it, without touching the store.
 */
#include "change.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void
change_finish(struct change *c, struct arena *arena)
{
	c->next = NULL;
	if (c->reply.done != NULL)
		c->reply.done(c);
	else
		change_free(c, arena);
}

void
change_free(struct change *c, struct arena *arena)
{
	if (c->kind == CHANGE_SET && c->key.set.value != NULL)
		arena_free(arena, c->key.set.value, c->key.set.value_len + 1);
	if (c->kind == CHANGE_UNLOCK || c->kind == CHANGE_REKEY) {
		if (c->seal.passphrase != NULL)
			arena_free(arena, c->seal.passphrase, c->seal.passphrase_len + 1);
		if (c->seal.new_passphrase != NULL)
			arena_free(arena, c->seal.new_passphrase, c->seal.new_passphrase_len + 1);
		if (c->seal.key != NULL)
			sodium_free(c->seal.key);
	}
	free(c);
}

bool
change_has_key(const struct change *c)
{
	return c->kind == CHANGE_SET || c->kind == CHANGE_DELETE || c->kind == CHANGE_BIND ||
	       c->kind == CHANGE_RENAME;
}

/* The latest validated change to name in the batch, or NULL. */
static const struct change *
batch_latest(const struct change *batch, const char *name)
{
	const struct change *c, *found = NULL;

	for (c = batch; c != NULL; c = c->next) {
		if (change_has_key(c) && strcmp(c->key.name, name) == 0)
			found = c;
	}
	return found;
}

const struct change *
change_last_set(const struct change *batch, const char *name)
{
	const struct change *c, *found = NULL;

	for (c = batch; c != NULL; c = c->next) {
		if (c->kind == CHANGE_SET && strcmp(c->key.name, name) == 0)
			found = c;
	}
	return found;
}

/* The env name name has in the store as the batch leaves it, or NULL when absent. */
static const char *
view_env(const struct change *batch, const struct store *store, const char *name)
{
	const struct change *c = batch_latest(batch, name);
	const struct entry *e;

	if (c != NULL)
		return c->kind != CHANGE_DELETE ? c->key.env : NULL;
	e = store_get(store, name);
	return e != NULL ? e->env : NULL;
}

/* The key that holds env in the store as the batch leaves it, or NULL. */
static const char *
view_env_owner(const struct change *batch, const struct store *store, const char *env)
{
	const struct change *c;
	const struct entry *e;
	const char *owner = NULL, *have;

	for (c = batch; c != NULL; c = c->next) {
		if ((c->kind == CHANGE_SET || c->kind == CHANGE_BIND) &&
		    strcmp(c->key.env, env) == 0 && batch_latest(batch, c->key.name) == c)
			owner = c->key.name;
	}
	if (owner != NULL)
		return owner;
	e = store_by_env(store, env);
	if (e == NULL)
		return NULL;
	have = view_env(batch, store, e->name);
	return have != NULL && strcmp(have, env) == 0 ? e->name : NULL;
}

/* The origins of name (a key that exists) in the store as the batch leaves it. */
static const char *
view_origins(const struct change *batch, const struct store *store, const char *name)
{
	const struct change *c = batch_latest(batch, name);
	const struct entry *e;

	if (c != NULL)
		return c->key.origins; /* a set or a bind: a deleted key has none to ask for */
	e = store_get(store, name);
	return e != NULL ? e->origins : "";
}

/*
 * Check a bind against the store plus the batch so far: find its key (by
 * env name when it has no name), and make c->key.origins what its mode leaves.
 */
static enum proto_err
validate_bind(const struct change *batch, const struct store *store, struct change *c)
{
	char now[ORIGIN_LIST_MAX];
	const char *have, *p, *o;
	size_t len;

	if (c->key.name[0] == '\0') {
		const char *owner = view_env_owner(batch, store, c->key.env);

		if (owner == NULL) {
			snprintf(c->reply.message, sizeof c->reply.message,
			         "no key has the env name %s", c->key.env);
			return PE_NOT_FOUND;
		}
		snprintf(c->key.name, sizeof c->key.name, "%s", owner);
	}
	have = view_env(batch, store, c->key.name);
	if (have == NULL) {
		snprintf(c->reply.message, sizeof c->reply.message, "no key named %s", c->key.name);
		return PE_NOT_FOUND;
	}
	snprintf(c->key.env, sizeof c->key.env, "%s", have);
	snprintf(now, sizeof now, "%s", view_origins(batch, store, c->key.name));
	if (c->key.bind.mode == BIND_SET || (c->key.bind.mode == BIND_INITIAL && now[0] == '\0')) {
		c->key.bind.changed = strcmp(now, c->key.origins) != 0;
		return PE_OK;
	}
	for (p = c->key.origins;
	     c->key.bind.mode != BIND_INITIAL && (o = origin_list_next(&p, &len)) != NULL;) {
		char one[ORIGIN_MAX + 1];

		memcpy(one, o, len);
		one[len] = '\0';
		if (c->key.bind.mode == BIND_REMOVE)
			origin_list_remove(now, one);
		else if (origin_list_add(now, one) == -1) {
			snprintf(c->reply.message, sizeof c->reply.message,
			         "key %s would be bound to more than %d origins", c->key.name,
			         ORIGINS_MAX);
			return PE_BAD_REQUEST;
		}
	}
	/* add, remove, or initial of a bound key: now began as the key's origins. */
	c->key.bind.changed = strcmp(now, view_origins(batch, store, c->key.name)) != 0;
	memcpy(c->key.origins, now, strlen(now) + 1);
	return PE_OK;
}

/* Check a rename: its key exists, and no key has the new name yet; fill its env. */
static enum proto_err
validate_rename(const struct change *batch, const struct store *store, struct change *c)
{
	const char *have = view_env(batch, store, c->key.name);

	if (have == NULL) {
		snprintf(c->reply.message, sizeof c->reply.message, "no key named %s", c->key.name);
		return PE_NOT_FOUND;
	}
	if (view_env(batch, store, c->key.rename.new_name) != NULL) {
		snprintf(c->reply.message, sizeof c->reply.message,
		         strcmp(c->key.name, c->key.rename.new_name) == 0
		             ? "the key is named %s already"
		             : "a key named %s exists already; choose another name, or delete it "
		               "first",
		         c->key.rename.new_name);
		return PE_CONFLICT;
	}
	snprintf(c->key.env, sizeof c->key.env, "%s", have);
	return PE_OK;
}

enum proto_err
change_validate(const struct change *batch, const struct store *store, struct change *c)
{
	const char *have, *owner;

	if (c->kind == CHANGE_REKEY)
		return PE_OK;
	if (c->kind == CHANGE_BIND)
		return validate_bind(batch, store, c);
	if (c->kind == CHANGE_RENAME)
		return validate_rename(batch, store, c);
	have = view_env(batch, store, c->key.name);
	if (c->kind == CHANGE_DELETE) {
		if (have == NULL) {
			snprintf(c->reply.message, sizeof c->reply.message, "no key named %s",
			         c->key.name);
			return PE_NOT_FOUND;
		}
		return PE_OK;
	}
	c->key.set.created = have == NULL;
	if (c->key.env[0] == '\0') {
		if (have != NULL)
			snprintf(c->key.env, sizeof c->key.env, "%s", have);
		else
			name_default_env(c->key.name, c->key.env);
	}
	if (env_is_refused(c->key.env)) {
		env_refused_message(c->key.env, c->reply.message, sizeof c->reply.message);
		return PE_INVALID_NAME;
	}
	/*
	 * Any set (a rotation too: the value is what runs) under a name unlike a
	 * credential's needs a person's yes; the agent guard has already refused
	 * every set from inside a coding agent, confirmed or not.
	 */
	if (!env_is_credential(c->key.env) && !c->key.set.env_confirmed) {
		env_unconfirmed_message(c->key.env, c->reply.message, sizeof c->reply.message);
		return PE_INVALID_NAME;
	}
	owner = view_env_owner(batch, store, c->key.env);
	if (owner != NULL && strcmp(owner, c->key.name) != 0) {
		snprintf(c->reply.message, sizeof c->reply.message,
		         "key %s already uses the env name %s; choose another with --env", owner,
		         c->key.env);
		return PE_CONFLICT;
	}
	/* Origins given bind a new or unbound key; rotating a key never rebinds it. */
	if (have != NULL &&
	    (!c->key.set.has_origins || view_origins(batch, store, c->key.name)[0] != '\0'))
		snprintf(c->key.origins, sizeof c->key.origins, "%s",
		         view_origins(batch, store, c->key.name));
	else if (!c->key.set.has_origins)
		c->key.origins[0] = '\0';
	return PE_OK;
}
