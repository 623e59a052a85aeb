/*
 * The writer: persists changes off the event loop with group commit
 * (docs/DESIGN.md, "Keystore file"). Changes that arrive while a write is in flight
 * are validated and written together in the next one; each is answered only
 * once the file that holds it is durable, and only then applied to the store.
 */
#ifndef CCR_WRITER_H
#define CCR_WRITER_H

#include <stdbool.h>
#include <stdint.h>

#include <uv.h>

#include "keyfile.h"
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

struct writer {
	uv_loop_t *loop;
	struct store *store;
	struct keyfile *file; /* the file's identity, record and key, checked around each write */
	struct change *queue, **queue_tail;
	struct change *batch; /* validated changes being written */
	bool busy;            /* a batch is in flight on a work thread */
	uv_work_t work;
	struct buf image; /* the document being written */
	int write_errno;
	bool dir_unsynced; /* the last write could not fsync the directory */
	char write_err[512];
	/* What the batch in flight seals with: its last rekey's key, else the current one. */
	const unsigned char *batch_key;
	struct sealed_params batch_params;
	struct seal_record batch_record; /* the seal record as the batch in flight leaves it */
	char record_err[256]; /* why the batch's record could not be written, "" when it was */
	unsigned long writes, changes_written;   /* counters for status and tests */
	void (*idle_cb[4])(struct writer *w);    /* called once when the queue drains */
	void (*barrier_cb[4])(struct writer *w); /* called once between two batches */
	/* Called for every rekey change the writer is done with, before its owner is answered. */
	void (*rekeyed)(struct writer *w, struct change *c);
};

/* Set up a writer that saves store to the keystore file on loop. */
void writer_init(struct writer *w, uv_loop_t *loop, struct store *store, struct keyfile *file);

/* Queue a change; its done callback runs on the loop later, never from within this call. */
void writer_submit(struct writer *w, struct change *c);

/* Call cb for every rekey change the writer is done with, before its owner is answered. */
void writer_on_rekeyed(struct writer *w, void (*cb)(struct writer *w, struct change *c));

/* How many batches were written (or failed), for status. */
unsigned long writer_writes(const struct writer *w);

/* True while a write is in flight or changes are queued. */
bool writer_pending(const struct writer *w);

/*
 * Call cb once when nothing is in flight or queued (on the next turn if idle
 * now). Up to four different callbacks may wait; asking twice for one is once.
 */
void writer_when_idle(struct writer *w, void (*cb)(struct writer *w));

/*
 * Call cb once the batch in flight (if any) is written and answered, before
 * the next batch starts: on a later loop turn, never from within this call.
 * Changes still queued wait for it, so a barrier comes within one batch
 * however busy the writer is. cb may replace or wipe the store, and answer
 * queued changes with writer_cancel. Up to four different callbacks may wait.
 */
void writer_barrier(struct writer *w, void (*cb)(struct writer *w));

/*
 * Answer the changes still queued (not the batch in flight) with result and
 * msg instead of writing them: all of them, or only the rekeys.
 */
void writer_cancel(struct writer *w, bool rekeys_only, enum proto_err result, const char *msg);

/* True for the changes to one key, whose payload is c->key: set, delete, bind, rename. */
bool change_has_key(const struct change *c);

/* Release a change that was never submitted or whose done callback has run. */
void change_free(struct change *c, struct arena *arena);

/* Hand a change to its done callback (which answers its owner, if still there), or free it. */
void change_finish(struct change *c, struct arena *arena);

#endif
