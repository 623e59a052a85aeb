/*
 * A change: deferred work and the reply it owes (a set, delete, bind or rename
 * the writer validates and writes; an unlock or passphrase job of the vault; a
 * lock waiting for the wipe), and how a key change is checked against the
 * store as the changes validated before it will leave it (change.c).
 */
#ifndef CCR_CHANGE_H
#define CCR_CHANGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "names.h"
#include "origin.h"
#include "proto.h"
#include "sealed.h"
#include "store.h"

enum change_kind {
	CHANGE_SET,
	CHANGE_DELETE,
	CHANGE_BIND,   /* change the origins of a key, by name or (name "") by env name */
	CHANGE_RENAME, /* give a key another name; always written alone in its batch */
	CHANGE_REKEY,  /* rewrite the file sealed under key (NULL: plain) */
	CHANGE_UNLOCK, /* handled by the vault, never by the writer */
	CHANGE_LOCK,   /* a lock request waiting for the wipe (state.c) */
};

/* What a passphrase job does (vault.c); an unlock of an unlocked keystore renews it. */
enum vault_action { VAULT_SET, VAULT_CHANGE, VAULT_REMOVE, VAULT_RENEW };

struct change;
/*
 * Called on the loop once a change is durable (result PE_OK) or refused,
 * whether or not its owner is still there to be answered; it frees c.
 */
typedef void (*change_done_fn)(struct change *c);

/* The answer a change owes whoever asked for it: result and message are filled before done. */
struct change_reply {
	char id[PROTO_ID_MAX]; /* the request's id, echoed in the reply */
	enum proto_err result;
	char message[256];
	change_done_fn done;
	void *arg; /* the owner's context, for done */
};

/* set: the value, and what the reply reports. */
struct key_set {
	char *value; /* arena slot of value_len + 1 bytes; the store's once written */
	size_t value_len;
	int64_t time;
	bool has_origins;   /* the request named origins (a first binding) */
	bool env_confirmed; /* a person confirmed an env name unlike a credential's */
	bool created;       /* result: the key is new */
};

/* bind: how the origins change. */
struct key_bind {
	enum proto_bind_mode mode;
	bool changed; /* result: the origins differ from the key's before */
};

/* rename: the name the key gets. */
struct key_rename {
	char new_name[NAME_MAX_LEN + 1];
};

/* A change to one key, which the writer validates and writes: set, delete, bind, rename. */
struct key_change {
	char name[NAME_MAX_LEN + 1]; /* bind: "" to find the key by env */
	char env[ENV_MAX_LEN + 1];   /* set: the env name asked for, "" for the default */
	/*
	 * set, bind: the request's origins (origin.h), and once validated the
	 * key's origins as the change leaves them, which the reply reports.
	 */
	char origins[ORIGIN_LIST_MAX];
	union {
		struct key_set set;
		struct key_bind bind;
		struct key_rename rename;
	};
};

/* A change to the sealing key: an unlock, or a passphrase job that the writer then writes. */
struct seal_change {
	enum vault_action action; /* rekey; an unlock's renewal: VAULT_RENEW */
	char *passphrase; /* arena: the current passphrase (unlock, change, remove, renew) */
	size_t passphrase_len;
	char *new_passphrase; /* arena: set, change: the new passphrase */
	size_t new_passphrase_len;
	unsigned char *key; /* sodium_malloc'd: the derived key (rekey: NULL for plain) */
	struct sealed_params params;
	double seconds; /* unlock, renew: the hard limit, 0 for none */
};

/* Deferred work and the reply it owes: one kind, and the payload of that kind. */
struct change {
	struct change *next;
	enum change_kind kind;
	struct change_reply reply;
	union {
		struct key_change key;   /* CHANGE_SET, CHANGE_DELETE, CHANGE_BIND, CHANGE_RENAME */
		struct seal_change seal; /* CHANGE_UNLOCK, CHANGE_REKEY; CHANGE_LOCK has none */
	};
};

/* True for the changes to one key, whose payload is c->key: set, delete, bind, rename. */
bool change_has_key(const struct change *c);

/* Release a change that was never submitted or whose done callback has run. */
void change_free(struct change *c, struct arena *arena);

/* Hand a change to its done callback (which answers its owner, if still there), or free it. */
void change_finish(struct change *c, struct arena *arena);

/*
 * Check c against the store plus batch, the changes validated before it (in
 * order): fill its env, created and origins, or its reply's message with why
 * it is refused. A rekey is always valid.
 */
enum proto_err change_validate(const struct change *batch, const struct store *store,
                               struct change *c);

/* The last set of name in batch, or NULL. */
const struct change *change_last_set(const struct change *batch, const char *name);

#endif
