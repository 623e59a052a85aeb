/*
 * The sealed keystore's lock (DESIGN.md, "Keystore file", sealed form): unlock
 * with a passphrase (derived off the loop, wrong answers delayed more each
 * time), lock (wipe the key and every value at once), auto-lock after idle
 * time or a hard limit, and setting, changing or removing the passphrase.
 */
#ifndef CCR_VAULT_H
#define CCR_VAULT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>

#include <uv.h>

#include "buf.h"
#include "sealed.h"

enum vault_action { VAULT_SET, VAULT_CHANGE, VAULT_REMOVE };

struct keyd;
struct change;

struct vault {
	struct keyd *k;
	unsigned char *key; /* sodium_malloc'd while unlocked and sealed */
	struct sealed_params params;
	bool busy;          /* a derivation or a delayed answer is under way */
	unsigned failures;  /* wrong passphrases in a row */
	struct change *job;
	uv_work_t work;
	uv_timer_t delay;
	uv_timer_t autolock;
	uint64_t last_use;
	uint64_t deadline; /* loop time of the hard limit, 0 for none */
	double lock_after_s;
	double delay_scale; /* tests shrink the wrong-passphrase delay */
	enum sealed_limits limits;
	struct buf plain; /* the opened document, between thread and loop */
	struct stat file_st;
	bool wipe_pending; /* lock asked while a job ran */
	bool cancel_unlock; /* lock asked while an unlock derived its key */
};

/* Set up the vault: its timers, the limits for new passphrases, --lock-after. */
void vault_init(struct vault *v, struct keyd *k, double lock_after_s);

/* A request used the keys: restart the idle clock. */
void vault_touch(struct vault *v);

/* Start an unlock (c->value is the passphrase); c is answered through its done callback. */
void vault_unlock(struct vault *v, struct change *c);

/* Start a passphrase set, change or remove (c->action); answered through c's done callback. */
void vault_passphrase(struct vault *v, struct change *c);

/* Lock now: the keystore answers locked at once, key and values are wiped once no write is in flight. */
void vault_lock(struct vault *v);

/* A rekey or unlock change was answered with success: install what it carries. */
void vault_changed(struct vault *v, struct change *c);

/* Forget the key (the file was reloaded, or we exit). */
void vault_forget(struct vault *v);

/* Stop the vault's timers (shutdown). */
void vault_close(struct vault *v);

#endif
