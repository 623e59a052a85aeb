/*
 * Lock, unlock and passphrases for the sealed keystore. Key derivation is
 * Argon2id at the file's limits, so it runs on a libuv work thread while the
 * loop keeps answering other peers; one job runs at a time. A wrong
 * passphrase is answered only after a delay that doubles with each failure.
 * Locking marks the keystore locked at once and wipes the key and every value
 * as soon as no write or job still needs them.
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

#define DELAY_BASE_MS 250.0
#define DELAY_MAX_MS 16000.0

static void wipe_when_idle(struct vault *v);

/* Hand a finished job back to its owner; the vault is free again. */
static void
finish(struct vault *v, struct change *c)
{
	v->busy = false;
	v->job = NULL;
	if (c->arg != NULL && c->done != NULL)
		c->done(c);
	else
		change_free(c, v->k->arena);
	if (v->wipe_pending)
		wipe_when_idle(v);
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
	snprintf(c->message, sizeof c->message, "wrong passphrase");
	c->result = PE_DENIED;
	uv_timer_start(&v->delay, on_delay, (uint64_t)ms, 0);
}

/* Thread: read and open the sealed file with the passphrase in c->value. */
static void
unlock_work(uv_work_t *req)
{
	struct vault *v = req->data;
	struct change *c = v->job;
	struct buf text = {0};
	struct sealed_file f;
	char err[512];
	int rc;

	c->result = PE_IO_ERROR;
	rc = fileio_read(v->k->opt.keys, 1, &text, &v->file_st, err, sizeof err);
	if (rc != 0) {
		snprintf(c->message, sizeof c->message, "%s",
			 rc == 1 ? "the keystore file is gone" : err);
		return;
	}
	if (sealed_parse(text.data, text.len, &f, err, sizeof err) == -1) {
		snprintf(c->message, sizeof c->message, "%s; ccr-keyd will not overwrite it", err);
		buf_free(&text);
		return;
	}
	buf_free(&text);
	rc = sealed_derive(c->value, c->value_len, &f.params, c->key, false);
	if (rc == -2) {
		c->result = PE_DENIED;
	} else if (rc == -1) {
		snprintf(c->message, sizeof c->message, "out of memory deriving the key");
	} else if (sealed_open(c->key, &f, &v->plain, err, sizeof err) == -1) {
		snprintf(c->message, sizeof c->message, "%s; ccr-keyd will not overwrite it", err);
	} else {
		c->params = f.params;
		c->result = PE_OK;
	}
	sealed_file_free(&f);
}

/* Loop: the unlock job is done; load the keys or answer why not. */
static void
unlock_done(uv_work_t *req, int status)
{
	struct vault *v = req->data;
	struct change *c = v->job;
	struct keyd *k = v->k;
	char err[512];

	if (status != 0 && c->result == PE_OK)
		c->result = PE_IO_ERROR;
	if (c->result == PE_DENIED) {
		buf_free(&v->plain);
		deny_later(v, c);
		return;
	}
	if (c->result == PE_OK && v->cancel_unlock) {
		c->result = PE_LOCKED;
		snprintf(c->message, sizeof c->message, "locked while the unlock was under way");
	}
	v->cancel_unlock = false;
	if (c->result == PE_OK && store_load(&k->store, v->plain.data, v->plain.len, err,
					     sizeof err) != KS_FORM_V1) {
		store_free(&k->store);
		store_init(&k->store, k->arena);
		c->result = PE_IO_ERROR;
		snprintf(c->message, sizeof c->message, "the sealed keystore opened but holds no valid "
							"document (%s)", err);
	}
	buf_free(&v->plain);
	if (c->result == PE_OK) {
		v->key = c->key;
		c->key = NULL;
		v->params = c->params;
		v->failures = 0;
		v->last_use = uv_now(k->loop);
		v->deadline = c->seconds > 0 ? v->last_use + (uint64_t)(c->seconds * 1000) : 0;
		k->locked = false;
		k->writer.seal_key = v->key;
		k->writer.seal_params = &v->params;
		writer_set_disk(&k->writer, &v->file_st);
		log_info("unlocked: %zu keys", store_count(&k->store));
	} else {
		log_warn("unlock failed: %s", c->message);
	}
	finish(v, c);
}

/* Run a key-derivation job for c on a work thread; the vault is busy until it finishes. */
static void
start_job(struct vault *v, struct change *c, uv_work_cb work, uv_after_work_cb done)
{
	v->busy = true;
	v->job = c;
	c->key = sodium_malloc(SEALED_KEY_BYTES);
	if (c->key == NULL)
		abort();
	v->work.data = v;
	if (uv_queue_work(v->k->loop, &v->work, work, done) != 0) {
		c->result = PE_IO_ERROR;
		snprintf(c->message, sizeof c->message, "cannot start a key derivation thread");
		finish(v, c);
	}
}

void
vault_unlock(struct vault *v, struct change *c)
{
	start_job(v, c, unlock_work, unlock_done);
}

/* Thread: check the old passphrase and derive the new key, as the action needs. */
static void
rekey_work(uv_work_t *req)
{
	struct vault *v = req->data;
	struct change *c = v->job;
	struct sealed_params old = v->params;
	unsigned char scratch[SEALED_KEY_BYTES];
	int rc = 0;

	c->result = PE_OK;
	if (c->action != VAULT_SET) {
		rc = sealed_derive(c->value, c->value_len, &old, scratch, false);
		sodium_memzero(scratch, sizeof scratch);
	}
	if (rc == 0 && c->action != VAULT_REMOVE) {
		sealed_params_new(&c->params, v->limits);
		rc = sealed_derive(c->action == VAULT_SET ? c->value : c->value2,
				   c->action == VAULT_SET ? c->value_len : c->value2_len,
				   &c->params, c->key, true);
	}
	if (rc == -2) {
		c->result = PE_DENIED;
	} else if (rc != 0) {
		c->result = PE_IO_ERROR;
		snprintf(c->message, sizeof c->message, "out of memory deriving the key");
	}
}

/* Loop: keys are ready; hand the rewrite to the writer (or answer why not). */
static void
rekey_done(uv_work_t *req, int status)
{
	struct vault *v = req->data;
	struct change *c = v->job;

	if (status != 0 && c->result == PE_OK)
		c->result = PE_IO_ERROR;
	if (c->result == PE_DENIED) {
		deny_later(v, c);
		return;
	}
	if (c->result == PE_OK && v->k->locked) {
		c->result = PE_LOCKED;
		snprintf(c->message, sizeof c->message, "the keystore was locked meanwhile");
	}
	if (c->result != PE_OK) {
		finish(v, c);
		return;
	}
	if (c->action == VAULT_REMOVE) {
		sodium_free(c->key);
		c->key = NULL;
	}
	v->busy = false;
	v->job = NULL;
	c->kind = CHANGE_REKEY;
	writer_submit(&v->k->writer, c);
	if (v->wipe_pending)
		wipe_when_idle(v);
}

void
vault_passphrase(struct vault *v, struct change *c)
{
	start_job(v, c, rekey_work, rekey_done);
}

void
vault_changed(struct vault *v, struct change *c)
{
	struct keyd *k = v->k;

	if (c->kind != CHANGE_REKEY)
		return;
	if (v->key != NULL)
		sodium_free(v->key);
	v->key = c->key;
	c->key = NULL;
	if (v->key != NULL)
		v->params = c->params;
	k->sealed = v->key != NULL;
	v->last_use = uv_now(k->loop); /* sealing is a use: --lock-after counts from here */
	k->writer.seal_key = v->key;
	k->writer.seal_params = v->key != NULL ? &v->params : NULL;
	log_info("passphrase %s", c->action == VAULT_SET      ? "set: the keystore is sealed"
				  : c->action == VAULT_CHANGE ? "changed"
							      : "removed: the keystore is plain");
}

void
vault_forget(struct vault *v)
{
	if (v->key != NULL)
		sodium_free(v->key); /* sodium_free wipes before unmapping */
	v->key = NULL;
	v->deadline = 0;
	v->k->writer.seal_key = NULL;
	v->k->writer.seal_params = NULL;
}

/* The writer is idle: wipe every value and the key. */
static void
wipe_now(struct writer *w)
{
	struct keyd *k = (struct keyd *)((char *)w - offsetof(struct keyd, writer));
	struct vault *v = &k->vault;

	if (v->busy) {
		v->wipe_pending = true;
		return;
	}
	v->wipe_pending = false;
	if (!k->locked)
		return; /* unlocked again meanwhile */
	store_free(&k->store);
	store_init(&k->store, k->arena);
	vault_forget(v);
	log_info("locked: key and values wiped");
}

/* Wipe once no write and no job needs the keys any more. */
static void
wipe_when_idle(struct vault *v)
{
	if (v->busy) {
		v->wipe_pending = true;
		return;
	}
	v->wipe_pending = false;
	writer_when_idle(&v->k->writer, wipe_now);
}

void
vault_lock(struct vault *v)
{
	struct keyd *k = v->k;

	if (k->locked) {
		/* A lock wins over an unlock still deriving its key. */
		if (v->busy && v->job != NULL && v->job->kind == CHANGE_UNLOCK)
			v->cancel_unlock = true;
		return;
	}
	k->locked = true;
	v->deadline = 0;
	if (!writer_pending(&k->writer) && !v->busy)
		wipe_now(&k->writer);
	else
		wipe_when_idle(v);
}

void
vault_touch(struct vault *v)
{
	v->last_use = uv_now(v->k->loop);
}

/* Lock when idle too long (--lock-after) or past the unlock's hard limit (--for). */
static void
on_autolock(uv_timer_t *t)
{
	struct vault *v = t->data;
	struct keyd *k = v->k;
	uint64_t now = uv_now(k->loop);

	if (!k->sealed || k->locked)
		return;
	if ((v->lock_after_s > 0 && now - v->last_use >= (uint64_t)(v->lock_after_s * 1000)) ||
	    (v->deadline != 0 && now >= v->deadline)) {
		log_info("auto-lock: %s", v->deadline != 0 && now >= v->deadline
						  ? "the unlock's time is up"
						  : "idle for --lock-after");
		vault_lock(v);
	}
}

void
vault_init(struct vault *v, struct keyd *k, double lock_after_s)
{
	const char *scale = getenv("CCR_KEYD_TEST_DELAY_SCALE");
	const char *fast = getenv("CCR_KEYD_TEST_FAST_KDF");

	memset(v, 0, sizeof *v);
	v->k = k;
	v->lock_after_s = lock_after_s;
	v->delay_scale = scale != NULL ? atof(scale) : 1.0;
	if (v->delay_scale < 0 || v->delay_scale > 1)
		v->delay_scale = 1.0;
	v->limits = fast != NULL && strcmp(fast, "1") == 0 ? SEALED_LIMITS_MIN
							   : SEALED_LIMITS_MODERATE;
	/* Test settings: loud, so that a stray one in a real environment is seen. */
	if (v->limits == SEALED_LIMITS_MIN)
		log_warn("CCR_KEYD_TEST_FAST_KDF=1 (tests only): new passphrases get Argon2id's "
			 "minimum limits; unset it");
	if (scale != NULL && v->delay_scale < 1.0)
		log_warn("CCR_KEYD_TEST_DELAY_SCALE=%s (tests only): wrong passphrases are answered "
			 "sooner; unset it",
			 scale);
	uv_timer_init(k->loop, &v->delay);
	v->delay.data = v;
	uv_timer_init(k->loop, &v->autolock);
	v->autolock.data = v;
	uv_timer_start(&v->autolock, on_autolock, 250, 250);
	uv_unref((uv_handle_t *)&v->autolock);
}

void
vault_close(struct vault *v)
{
	uv_timer_stop(&v->delay);
	uv_close((uv_handle_t *)&v->delay, NULL);
	uv_timer_stop(&v->autolock);
	uv_close((uv_handle_t *)&v->autolock, NULL);
}
