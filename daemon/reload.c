/*
 * Reading the keystore file into a fresh store: at start, and at a writer
 * barrier after SIGHUP, where the reloaded store replaces the one in memory
 * and the state machine takes the file's form (plain, or sealed and locked).
 * What counts as sealed differs: at start the seal record says it, while
 * running the state machine does (a plain file is no way out of a sealed
 * state); the newest generation is the record's either way.
 */
#include "reload.h"

#include <stdio.h>
#include <string.h>

#include "fileio.h"
#include "keyd.h"
#include "log.h"
#include "sealed.h"

/*
 * A sealed file in text: when key (the key held, unlocked) opens it, load its
 * keys into s in place of nothing and return true; else leave s as it is.
 */
static bool
open_with(const unsigned char *key, const struct sealed_file *f, struct store *s)
{
	struct buf plain = {0};
	char why[256];
	bool opened = false;

	if (key == NULL || sealed_open(key, f, &plain, why, sizeof why) == -1) {
		buf_free(&plain);
		return false;
	}
	store_free(s);
	store_init(s, s->arena);
	if (store_load(s, plain.data, plain.len, why, sizeof why) == KS_FORM_V1)
		opened = true;
	else {
		store_free(s);
		store_init(s, s->arena);
	}
	buf_free(&plain); /* wiped */
	return opened;
}

/* The keystore file as read_file found it. */
struct reading {
	struct store store;            /* its keys: none when sealed and not opened */
	struct stat st;                /* its identity; st_nlink 0 when there is no file */
	int form;                      /* enum ks_form */
	unsigned long long generation; /* a sealed file's */
	bool opened;                   /* sealed, and the key held opened it */
};

/*
 * Read the keystore file into r as the admission rule allows (keyfile.h):
 * sealed says whether the keystore is sealed now. A sealed file that key
 * (NULL for none) opens is loaded with its keys. Returns 0, or -1 with err
 * set (nothing held).
 */
static int
read_file(struct keyd *k, struct reading *r, bool sealed, const unsigned char *key, char *err,
	  size_t errsize)
{
	const char *keys = keyfile_path(&k->keyfile);
	struct keyfile_doc doc = {0};
	struct sealed_file f;
	struct buf text = {0};
	char why[512];
	int rc;

	memset(r, 0, sizeof *r);
	store_init(&r->store, k->arena);
	rc = fileio_read(keys, 1, &text, &r->st, why, sizeof why);
	if (rc == -1) {
		snprintf(err, errsize, "%s", why);
		buf_free(&text);
		store_free(&r->store);
		return -1;
	}
	doc.form = rc == 1 ? KS_FORM_EMPTY
			   : store_load(&r->store, text.data, text.len, why, sizeof why);
	/* Check the envelope now: a damaged file is refused at start, never overwritten. */
	if (doc.form == KS_FORM_SEALED) {
		if (sealed_parse(text.data, text.len, &f, why, sizeof why) == 0)
			doc.params = &f.params;
		else
			doc.form = -1;
	}
	buf_free(&text);
	if (doc.form == -1)
		snprintf(err, errsize,
			 "keystore %s is not valid (%s) and is never overwritten; fix it, or move "
			 "it away to start with an empty keystore (run: mv %s %s.broken)",
			 keys, why, keys, keys);
	else if (keyfile_admit(&k->keyfile, keyfile_record(&k->keyfile), sealed, &doc,
			       KEYFILE_LOAD, err, errsize) == -1)
		doc.form = -1;
	else if (doc.form == KS_FORM_SEALED)
		r->opened = open_with(key, &f, &r->store);
	if (doc.params != NULL) {
		r->generation = f.params.generation;
		sealed_file_free(&f);
	}
	if (doc.form == -1) {
		store_free(&r->store);
		return -1;
	}
	r->form = doc.form;
	return 0;
}

int
reload_start(struct keyd *k, char *err, size_t errsize)
{
	struct reading r;

	if (keyfile_read_record(&k->keyfile, err, errsize) == -1)
		return -1;
	if (read_file(k, &r, keyfile_record(&k->keyfile)->sealed, NULL, err, errsize) == -1) {
		/* Refused as plain while sealed, unless a first sealing was stopped halfway. */
		if (!keyfile_seal_interrupted(&k->keyfile) ||
		    read_file(k, &r, false, NULL, err, errsize) == -1)
			return -1;
		if (r.form != KS_FORM_V1 && r.form != KS_FORM_FLAT) {
			store_free(&r.store);
			return -1; /* not plain after all: the first refusal stands */
		}
		keyfile_unseal_interrupted(&k->keyfile);
	}
	k->store = r.store;
	keyfile_loaded(&k->keyfile, r.st.st_nlink > 0 ? &r.st : NULL, r.form, r.generation,
		       false);
	return r.form;
}

/*
 * Barrier after a SIGHUP (the batch in flight is written): swap in the file's
 * contents. A sealed file that the key held opens keeps an unlocked keystore
 * unlocked, with the file's keys; any other sealed file comes back locked
 * (changes still queued are then refused, and so is a passphrase job that has
 * not been written yet), except under an unlock in flight, which goes on and
 * opens the file itself. A file that is refused changes nothing.
 */
static void
reload_now(struct writer *w)
{
	struct keyd *k = (struct keyd *)((char *)w - offsetof(struct keyd, writer));
	struct reading r;
	char err[1536];
	bool sealed;

	if (k->state.now == STATE_STOPPING)
		return;
	/* Sealed now when the state has no way to plain; unlocked, the key held may open it. */
	if (read_file(k, &r, state_next(k->state.now, EV_RELOAD_PLAIN) == STATE_COUNT,
		      k->state.now == STATE_UNLOCKED ? k->vault.key : NULL, err,
		      sizeof err) == -1) {
		state_event(k, EV_RELOAD_REFUSED);
		log_warn("reload refused, keeping the keys in memory: %s", err);
		return;
	}
	k->reloads++;
	sealed = r.form == KS_FORM_SEALED && !r.opened;
	store_free(&k->store);
	k->store = r.store;
	if (!r.opened)
		vault_forget(&k->vault); /* a sealed file comes back locked, a plain one has no key */
	keyfile_loaded(&k->keyfile, r.st.st_nlink > 0 ? &r.st : NULL, r.form, r.generation,
		       r.opened);
	state_event(k, r.opened ? EV_RELOAD_OPENED : sealed ? EV_RELOAD_SEALED : EV_RELOAD_PLAIN);
	/* Only now: answering a change lets its session go on, under the new state. */
	writer_cancel(w, !sealed, sealed ? PE_LOCKED : PE_BUSY,
		      sealed ? "the keystore was reloaded from disk and is locked; nothing was "
			       "changed"
			     : "the keystore was reloaded from disk meanwhile; try again");
	log_info("reloaded %s: %zu keys%s", keyfile_path(&k->keyfile), store_count(&k->store),
		 r.opened                    ? " (sealed: still unlocked, the key held opens it)"
		 : sealed && state_locked(k) ? " (sealed: locked)"
		 : sealed                    ? " (sealed: an unlock is under way)"
					     : "");
}

/* SIGHUP: ask the writer for a barrier. */
void
reload_request(struct keyd *k)
{
	if (k->state.now != STATE_STOPPING)
		writer_barrier(&k->writer, reload_now);
}
