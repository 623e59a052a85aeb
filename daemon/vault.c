/*
 * Deriving the sealed keystore's key. Argon2id at the file's limits is slow by
 * design, so each job runs on a libuv work thread while the loop keeps
 * answering other peers; one job runs at a time. A wrong passphrase is
 * answered only after a delay that doubles with each failure. A job never
 * touches the store: an unlock opens the file into a buffer, and the loop
 * loads that into a fresh store, installed only while the state machine is
 * still unlocking (so the store is empty and the writer idle). A job whose
 * state moved on meanwhile (a lock, a reload) is answered and changes nothing.
 */
#include "vault.h"

#include <sodium.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fileio.h"
#include "keyd.h"
#include "log.h"
#include "stack.h"

#define DELAY_BASE_MS 250.0
#define DELAY_MAX_MS 16000.0

uint64_t
vault_now(void)
{
	return uv_hrtime() / 1000000;
}

bool
vault_busy(const struct vault *v)
{
	return v->job != NULL;
}

/* Answer the job's request; the vault is free again. */
static void
finish(struct vault *v, struct change *c)
{
	v->job = NULL;
	change_finish(c, v->k->arena);
	state_wipe_stack_soon(v->k); /* the passphrase passed through the loop's stack */
}

/* The delay after a wrong passphrase is over: answer denied. */
static void
on_delay(uv_timer_t *t)
{
	struct vault *v = t->data;

	finish(v, v->job);
}

/* Answer a wrong passphrase late, later each time. */
static void
deny_later(struct vault *v, struct change *c)
{
	double ms = DELAY_BASE_MS;
	unsigned i;

	v->failures++;
	for (i = 1; i < v->failures && ms < DELAY_MAX_MS; i++)
		ms *= 2;
	if (ms > DELAY_MAX_MS)
		ms = DELAY_MAX_MS;
	ms *= v->delay_scale;
	log_warn("wrong passphrase (failure %u in a row); answering in %.0f ms", v->failures, ms);
	snprintf(c->reply.message, sizeof c->reply.message, "%s", PROTO_WRONG_PASSPHRASE);
	c->reply.result = PE_DENIED;
	uv_timer_start(&v->delay, on_delay, (uint64_t)ms, 0);
}

/* A job finished after its state moved on: say why it changed nothing. */
static void
refuse_stale(struct vault *v, struct change *c)
{
	struct keyd *k = v->k;

	if (k->state.now == STATE_STOPPING) {
		c->reply.result = PE_BUSY;
		snprintf(c->reply.message, sizeof c->reply.message, "ccr-keyd is shutting down");
	} else if (state_locked(k)) {
		c->reply.result = PE_LOCKED;
		snprintf(c->reply.message, sizeof c->reply.message,
		         "the keystore was locked meanwhile; run: "
		         "ccr-config unlock");
	} else {
		c->reply.result = PE_BUSY;
		snprintf(c->reply.message, sizeof c->reply.message,
		         "the keystore was reloaded from disk "
		         "meanwhile; try again");
	}
	finish(v, c);
}

/* Thread: the file opened; record its generation when it is newer than the record's. */
static void
record_opened(struct vault *v, const struct sealed_file *f)
{
	v->opened = true;
	v->opened_generation = f->params.generation;
	(void)keyfile_record_opened(&v->k->keyfile, &v->record, f->params.generation,
				    v->record_err, sizeof v->record_err);
}

/* Thread: read and open the sealed file with the passphrase in c->seal.passphrase. */
static void
unlock_work(uv_work_t *req)
{
	struct vault *v = req->data;
	struct change *c = v->job;
	struct buf text = {0};
	struct sealed_file f;
	char err[512];
	int rc;

	c->reply.result = PE_IO_ERROR;
	rc = fileio_read(keyfile_path(&v->k->keyfile), 1, &text, &v->file_st, err, sizeof err);
	if (rc != 0) {
		snprintf(c->reply.message, sizeof c->reply.message, "%s",
		         rc == 1 ? "the keystore file is gone" : err);
		buf_free(&text);
	} else if (sealed_parse(text.data, text.len, &f, err, sizeof err) == -1) {
		snprintf(c->reply.message, sizeof c->reply.message,
		         "%s; ccr-keyd will not overwrite it", err);
		buf_free(&text);
	} else {
		struct keyfile_doc doc = {.form = KS_FORM_SEALED, .params = &f.params};

		buf_free(&text);
		/* The file is one to open when admitted against the record as the job started. */
		rc = keyfile_admit(&v->k->keyfile, &v->record, true, &doc, KEYFILE_UNLOCK,
		                   c->reply.message, sizeof c->reply.message) == -1
		         ? -3
		         : sealed_derive(c->seal.passphrase, c->seal.passphrase_len, &f.params,
		                         c->seal.key, false);
		if (rc == -3) {
			/* refused before deriving: c->reply.message says why */
		} else if (rc == -2) {
			c->reply.result = PE_DENIED;
		} else if (rc == -1) {
			snprintf(c->reply.message, sizeof c->reply.message,
			         "out of memory deriving the key");
		} else if (sealed_open(c->seal.key, &f, &v->plain, err, sizeof err) == -1) {
			snprintf(c->reply.message, sizeof c->reply.message,
			         "%s; ccr-keyd will not overwrite it", err);
		} else {
			record_opened(v, &f);
			c->seal.params = f.params;
			c->reply.result = PE_OK;
		}
		sealed_file_free(&f);
	}
	stack_wipe(); /* Argon2id and the cipher left the passphrase and values there */
}

/* The passphrase was right: forget the failures; the unlock's time (seconds) starts now. */
static void
restart_clock(struct vault *v, double seconds)
{
	v->failures = 0;
	v->last_use = vault_now();
	v->deadline = seconds > 0 ? v->last_use + (uint64_t)(seconds * 1000) : 0;
}

/*
 * Loop: the job's thread is done (status from libuv). Returns its change, or
 * NULL when it is answered already: its state is no longer want (what the
 * thread opened is dropped), or the passphrase was wrong (answered later).
 */
static struct change *
job_done(struct vault *v, int status, enum state want)
{
	struct change *c = v->job;

	if (status != 0 && c->reply.result == PE_OK)
		c->reply.result = PE_IO_ERROR;
	if (v->k->state.now != want) {
		buf_free(&v->plain);
		refuse_stale(v, c);
		return NULL;
	}
	if (c->reply.result == PE_DENIED) {
		state_event(v->k, EV_FAILED);
		deny_later(v, c);
		return NULL;
	}
	return c;
}

/* Load the opened document into a fresh store and install it with the key. Returns 0 or -1. */
static int
install(struct vault *v, struct change *c)
{
	struct keyd *k = v->k;
	struct store fresh;
	char err[512];

	store_init(&fresh, k->arena);
	if (store_load(&fresh, v->plain.data, v->plain.len, err, sizeof err) != KS_FORM_V1) {
		store_free(&fresh);
		snprintf(c->reply.message, sizeof c->reply.message,
		         "the sealed keystore opened but holds no valid document (%s)", err);
		return -1;
	}
	/* Unlocking: nothing was written since the wipe, and nothing else holds the store. */
	if (store_count(&k->store) != 0 || writer_pending(&k->writer)) {
		log_warn("bug: an unlock found the store in use; not installing it");
		abort();
	}
	store_free(&k->store);
	k->store = fresh;
	v->key = c->seal.key;
	c->seal.key = NULL;
	v->params = c->seal.params;
	restart_clock(v, c->seal.seconds);
	keyfile_set_key(&k->keyfile, v->key, &v->params);
	keyfile_set_disk(&k->keyfile, &v->file_st);
	return 0;
}

/* Loop: the unlock job is done; install the keys or answer why not. */
static void
unlock_done(uv_work_t *req, int status)
{
	struct vault *v = req->data;
	struct keyd *k = v->k;
	struct change *c;

	if (v->record_err[0] != '\0')
		log_warn("cannot update the seal record: %s", v->record_err);
	/* Authenticated, even if the state moved on: writes take later generations. */
	if (v->opened)
		keyfile_opened(&k->keyfile, v->opened_generation);
	c = job_done(v, status, STATE_UNLOCKING);
	if (c == NULL)
		return;
	if (c->reply.result == PE_OK && install(v, c) == -1)
		c->reply.result = PE_IO_ERROR;
	buf_free(&v->plain);
	if (c->reply.result == PE_OK) {
		state_event(k, EV_OPENED);
		log_info("unlocked: %zu keys", store_count(&k->store));
	} else {
		state_event(k, EV_FAILED);
		log_warn("unlock failed: %s", c->reply.message);
	}
	finish(v, c);
}

/* Run a key-derivation job for c on a work thread; the vault is busy until it is answered. */
static void
start_job(struct vault *v, struct change *c, uv_work_cb work, uv_after_work_cb done)
{
	v->job = c;
	c->seal.key = sodium_malloc(SEALED_KEY_BYTES);
	if (c->seal.key == NULL)
		abort();
	c->seal.params = v->params; /* the thread checks the current passphrase against a copy */
	v->work.data = v;
	if (uv_queue_work(v->k->loop, &v->work, work, done) != 0) {
		c->reply.result = PE_IO_ERROR;
		snprintf(c->reply.message, sizeof c->reply.message,
		         "cannot start a key derivation thread");
		state_event(v->k, EV_FAILED);
		finish(v, c);
	}
}

void
vault_unlock(struct vault *v, struct change *c)
{
	/* The thread reads a copy of the record. */
	v->record = *keyfile_record(&v->k->keyfile);
	v->opened = false;
	v->opened_generation = 0;
	v->record_err[0] = '\0';
	state_event(v->k, EV_UNLOCK);
	start_job(v, c, unlock_work, unlock_done);
}

/* Thread: check the current passphrase and derive the new key, as the action needs. */
static void
rekey_work(uv_work_t *req)
{
	struct vault *v = req->data;
	struct change *c = v->job;
	struct sealed_params old = c->seal.params;
	unsigned char scratch[SEALED_KEY_BYTES];
	int rc = 0;

	c->reply.result = PE_OK;
	if (c->seal.action != VAULT_SET) {
		rc =
		    sealed_derive(c->seal.passphrase, c->seal.passphrase_len, &old, scratch, false);
		sodium_memzero(scratch, sizeof scratch);
	}
	if (rc == 0 && (c->seal.action == VAULT_SET || c->seal.action == VAULT_CHANGE)) {
		sealed_params_new(&c->seal.params, v->limits);
		rc = sealed_derive(c->seal.new_passphrase, c->seal.new_passphrase_len,
		                   &c->seal.params, c->seal.key, true);
	}
	if (rc == -2) {
		c->reply.result = PE_DENIED;
	} else if (rc != 0) {
		c->reply.result = PE_IO_ERROR;
		snprintf(c->reply.message, sizeof c->reply.message,
		         "out of memory deriving the key");
	}
	stack_wipe();
}

/* Loop: the passphrase is checked and the key ready; renew, or hand the rewrite to the writer. */
static void
rekey_done(uv_work_t *req, int status)
{
	struct vault *v = req->data;
	struct keyd *k = v->k;
	struct change *c =
	    job_done(v, status, v->job->seal.action == VAULT_SET ? STATE_SEALING : STATE_REKEYING);

	if (c == NULL)
		return;
	if (c->reply.result != PE_OK) {
		state_event(k, EV_FAILED);
		finish(v, c);
		return;
	}
	if (c->seal.action == VAULT_RENEW) {
		/* The passphrase is right: the unlock's time starts again. */
		restart_clock(v, c->seal.seconds);
		state_event(k, EV_SEALED);
		finish(v, c);
		return;
	}
	if (c->seal.action == VAULT_REMOVE) {
		sodium_free(c->seal.key);
		c->seal.key = NULL;
	}
	c->kind = CHANGE_REKEY; /* the job stays ours until vault_rekeyed */
	writer_submit(&k->writer, c);
}

void
vault_passphrase(struct vault *v, struct change *c)
{
	state_event(v->k, c->seal.action == VAULT_SET ? EV_SEAL : EV_REKEY);
	start_job(v, c, rekey_work, rekey_done);
}

void
vault_rekeyed(struct writer *w, struct change *c)
{
	struct keyd *k = (struct keyd *)((char *)w - offsetof(struct keyd, writer));
	struct vault *v = &k->vault;

	v->job = NULL;
	state_wipe_stack_soon(k);
	if (c->reply.result != PE_OK) {
		/* Plain or locked already: a reload cancelled it and moved the state on. */
		if (k->state.now != STATE_PLAIN && k->state.now != STATE_LOCKED)
			state_event(k, EV_FAILED);
		return;
	}
	if (v->key != NULL)
		sodium_free(v->key);
	v->key = c->seal.key;
	c->seal.key = NULL;
	if (v->key != NULL)
		v->params = c->seal.params;
	else
		v->deadline = 0; /* plain: nothing left to lock */
	v->last_use = vault_now(); /* sealing is a use: --lock-after counts from here */
	keyfile_set_key(&k->keyfile, v->key, v->key != NULL ? &v->params : NULL);
	log_info("passphrase %s", c->seal.action == VAULT_SET ? "set: the keystore is sealed"
	                          : c->seal.action == VAULT_CHANGE
	                              ? "changed"
	                              : "removed: the keystore is plain");
	state_event(k, v->key != NULL ? EV_SEALED : EV_UNSEALED);
}

void
vault_shorten(struct vault *v, double seconds)
{
	uint64_t until = vault_now() + (uint64_t)(seconds * 1000);

	if (v->deadline == 0 || until < v->deadline)
		v->deadline = until;
}

void
vault_forget(struct vault *v)
{
	if (v->key != NULL)
		sodium_free(v->key); /* sodium_free wipes before unmapping */
	v->key = NULL;
	v->deadline = 0;
	keyfile_set_key(&v->k->keyfile, NULL, NULL);
}

void
vault_touch(struct vault *v)
{
	v->last_use = vault_now();
}

void
vault_lock_times(const struct vault *v, int64_t *hard_ms, int64_t *idle_ms)
{
	enum state s = v->k->state.now;
	int64_t now;

	*hard_ms = *idle_ms = -1;
	if (s != STATE_UNLOCKED && s != STATE_REKEYING)
		return;
	now = (int64_t)vault_now();
	if (v->deadline != 0)
		*hard_ms = (int64_t)v->deadline > now ? (int64_t)v->deadline - now : 0;
	if (v->lock_after_s > 0) {
		int64_t at = (int64_t)v->last_use + (int64_t)(v->lock_after_s * 1000);

		*idle_ms = at > now ? at - now : 0;
	}
}

void
vault_enforce(struct vault *v)
{
	int64_t hard, idle;

	vault_lock_times(v, &hard, &idle);
	if (hard != 0 && idle != 0)
		return;
	log_info("auto-lock: %s", hard == 0 ? "the unlock's time is up" : "idle for --lock-after");
	state_lock(v->k, NULL);
}

static void
on_autolock(uv_timer_t *t)
{
	vault_enforce(t->data);
}

#ifdef CCR_KEYD_TEST_BUILD
/*
 * The test build's settings (make test builds it as $(BUILD)/test/ccr-keyd;
 * build/ccr-keyd has no such code): CCR_KEYD_TEST_FAST_KDF=1 gives new
 * passphrases Argon2id's minimum limits, CCR_KEYD_TEST_DELAY_SCALE shrinks the
 * delay after a wrong passphrase.
 */
static void
read_test_settings(struct vault *v)
{
	const char *scale = getenv("CCR_KEYD_TEST_DELAY_SCALE");
	const char *fast = getenv("CCR_KEYD_TEST_FAST_KDF");

	v->delay_scale = scale != NULL ? atof(scale) : 1.0;
	if (v->delay_scale < 0 || v->delay_scale > 1)
		v->delay_scale = 1.0;
	v->limits =
	    fast != NULL && strcmp(fast, "1") == 0 ? SEALED_LIMITS_MIN : SEALED_LIMITS_MODERATE;
	log_warn("this is the test build of ccr-keyd: it honours CCR_KEYD_TEST_* and accepts "
		 "sealed files with Argon2id's minimum limits; never use it for real keys");
	if (v->limits == SEALED_LIMITS_MIN)
		log_warn("CCR_KEYD_TEST_FAST_KDF=1 (tests only): new passphrases get Argon2id's "
			 "minimum limits; unset it");
	if (scale != NULL && v->delay_scale < 1.0)
		log_warn(
		    "CCR_KEYD_TEST_DELAY_SCALE=%s (tests only): wrong passphrases are answered "
		    "sooner; unset it",
		    scale);
}
#else
/* The release build: the real delay and limits, whatever the environment says. */
static void
read_test_settings(struct vault *v)
{
	v->delay_scale = 1.0;
	v->limits = SEALED_LIMITS_MODERATE;
}
#endif

void
vault_init(struct vault *v, struct keyd *k, double lock_after_s)
{
	memset(v, 0, sizeof *v);
	v->k = k;
	v->lock_after_s = lock_after_s;
	read_test_settings(v);
	uv_timer_init(k->loop, &v->delay);
	v->delay.data = v;
	uv_timer_init(k->loop, &v->autolock);
	v->autolock.data = v;
	uv_timer_start(&v->autolock, on_autolock, 250, 250);
	uv_unref((uv_handle_t *)&v->autolock);
	writer_on_rekeyed(&k->writer, vault_rekeyed);
}

void
vault_close(struct vault *v)
{
	/* A wrong passphrase's answer still waiting: give it now, rather than never. */
	if (v->job != NULL && uv_is_active((uv_handle_t *)&v->delay))
		finish(v, v->job);
	uv_timer_stop(&v->delay);
	uv_close((uv_handle_t *)&v->delay, NULL);
	uv_timer_stop(&v->autolock);
	uv_close((uv_handle_t *)&v->autolock, NULL);
}
