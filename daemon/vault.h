/*
 * The sealed keystore's key (docs/DESIGN.md, "Keystore file", sealed form): the
 * jobs that derive it from a passphrase off the loop (unlock, passphrase set,
 * change, remove, and renewing an unlock), the growing delay after a wrong
 * passphrase, and the auto-lock clocks (--lock-after, unlock --for). Which of
 * these may start, and what follows, is state.c's to say.
 */
#ifndef CCR_VAULT_H
#define CCR_VAULT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>

#include <uv.h>

#include "buf.h"
#include "seal_record.h"
#include "sealed.h"

struct keyd;
struct change;
struct writer;

struct vault {
	struct keyd *k;
	unsigned char *key; /* sodium_malloc'd while a sealed keystore is open */
	struct sealed_params params;
	struct change *job; /* the one derivation job (or its delayed answer), NULL when none */
	unsigned failures;  /* wrong passphrases in a row */
	uv_work_t work;
	uv_timer_t delay;
	uv_timer_t autolock;
	uint64_t last_use; /* monotonic ms of the last use of a key */
	uint64_t deadline; /* monotonic ms of the unlock's hard limit, 0 for none */
	double lock_after_s;
	double delay_scale; /* tests shrink the wrong-passphrase delay */
	enum sealed_limits limits;
	struct buf plain; /* the opened document, between thread and loop */
	struct stat file_st;
	/* Unlock: the seal record as the job started (keyfile.h), and the generation it opened. */
	struct seal_record record;
	bool opened; /* the file authenticated under the passphrase */
	unsigned long long opened_generation;
	char record_err[256]; /* the thread could not update the record: why, for the log */
};

/* Set up the vault: its timers, the test settings, --lock-after. */
void vault_init(struct vault *v, struct keyd *k, double lock_after_s);

/* Milliseconds on the clock the vault's times use (CLOCK_MONOTONIC). */
uint64_t vault_now(void);

/* True while a derivation runs or a wrong passphrase's answer waits. */
bool vault_busy(const struct vault *v);

/* A request used the keys: restart the idle clock. */
void vault_touch(struct vault *v);

/* Start an unlock (c->seal.passphrase); c is answered through its done callback. */
void vault_unlock(struct vault *v, struct change *c);

/* Start a passphrase job (c->seal.action); c is answered through its done callback. */
void vault_passphrase(struct vault *v, struct change *c);

/* Bring the hard limit forward to seconds from now, never later. */
void vault_shorten(struct vault *v, double seconds);

/* The writer is done with a rekey change (written, failed or cancelled): install its outcome. */
void vault_rekeyed(struct writer *w, struct change *c);

/*
 * Lock now if the unlock's hard limit (--for) or --lock-after has passed. A
 * timer calls it four times a second, and every request before it is judged,
 * so that no request is served past a limit while the timer runs late (a
 * loaded machine, a daemon stopped and continued).
 */
void vault_enforce(struct vault *v);

/* Milliseconds until the hard limit (-1: none) and until --lock-after (-1: none). */
void vault_lock_times(const struct vault *v, int64_t *hard_ms, int64_t *idle_ms);

/* Forget the key and the hard limit (a lock, a reload, exit). */
void vault_forget(struct vault *v);

/* Stop the vault's timers (shutdown). */
void vault_close(struct vault *v);

#endif
