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

/*
 * Read the keystore file into the fresh store s and its sealed generation
 * into *generation. A sealed file that key (NULL for none) opens is loaded
 * with its keys and *opened set. Returns the form, or -1 with err set (s
 * released).
 */
static int
read_file(struct keyd *k, struct store *s, struct stat *st, unsigned long long *generation,
	  const unsigned char *key, bool *opened, char *err, size_t errsize)
{
	const char *keys = k->opt.keys;
	struct buf text = {0};
	char why[512];
	int rc, form;

	store_init(s, k->arena);
	memset(st, 0, sizeof *st);
	*generation = 0;
	*opened = false;
	rc = fileio_read(keys, 1, &text, st, why, sizeof why);
	if (rc == 1) {
		buf_free(&text);
		return KS_FORM_EMPTY;
	}
	if (rc == -1) {
		snprintf(err, errsize, "%s", why);
		buf_free(&text);
		store_free(s);
		return -1;
	}
	form = store_load(s, text.data, text.len, why, sizeof why);
	if (form == KS_FORM_SEALED) {
		struct sealed_file f;

		/* Check the envelope now: a damaged file is refused at start, never overwritten. */
		if (sealed_parse(text.data, text.len, &f, why, sizeof why) == -1) {
			form = -1;
		} else if (vault_check_limits(&f.params, why, sizeof why) == -1) {
			snprintf(err, errsize,
				 "keystore %s is refused: %s. It is never overwritten; move it away "
				 "(run: mv %s %s.weak)",
				 keys, why, keys, keys);
			form = -2;
		} else {
			*opened = open_with(key, &f, s);
		}
		*generation = f.params.generation;
		sealed_file_free(&f);
	}
	buf_free(&text);
	if (form == -1)
		snprintf(err, errsize,
			 "keystore %s is not valid (%s) and is never overwritten; fix it, or move "
			 "it away to start with an empty keystore (run: mv %s %s.broken)",
			 keys, why, keys, keys);
	if (form < 0) {
		store_free(s);
		form = -1;
	}
	return form;
}

/*
 * Refuse a file that would undo the seal: plain or missing while sealed, or
 * sealed with a generation older than the newest known. Returns 0, or -1 with
 * err set to a message that says how to accept the file on purpose.
 */
static int
admit(struct keyd *k, int form, unsigned long long generation, bool sealed, char *err,
      size_t errsize)
{
	const char *keys = k->opt.keys, *record = k->writer.record_path;
	unsigned long long newest = k->writer.record.generation;

	if (form != KS_FORM_SEALED && sealed) {
		snprintf(err, errsize,
			 "keystore %s is %s, but it is sealed with a passphrase (%s records it): "
			 "a plain keystore in a sealed one's place is refused, since every key "
			 "would then be served and written in the clear. Put the sealed file back "
			 "(to drop the passphrase, use: ccr-config passphrase remove); to accept "
			 "this file on purpose, stop ccr-keyd, run: rm %s, and start it again",
			 keys, form == KS_FORM_EMPTY ? "missing" : "plain", record, record);
		return -1;
	}
	if (form == KS_FORM_SEALED && generation < newest) {
		snprintf(err, errsize,
			 "keystore %s is sealed generation %llu, older than generation %llu that "
			 "ccr-keyd wrote or opened (%s records it): an older copy put back, or a "
			 "changed file, is refused, since it would undo what was changed since. "
			 "Put the newest file back; to accept this copy on purpose, stop ccr-keyd, "
			 "run: rm %s, and start it again",
			 keys, generation, newest, record, record);
		return -1;
	}
	return 0;
}

/* A sealed file the record does not know as sealed: record it, so that a restart knows. */
static void
record_sealed(struct keyd *k)
{
	struct seal_record r = {.sealed = true, .generation = k->writer.record.generation};
	char err[512];

	if (k->writer.record.sealed)
		return;
	if (seal_record_write(k->writer.record_path, &r, err, sizeof err) == -1) {
		log_warn("cannot record that the keystore is sealed: %s; a plain file put in its "
			 "place would not be refused at the next start",
			 err);
		return;
	}
	k->writer.record = r;
}

int
reload_start(struct keyd *k, struct stat *st, char *err, size_t errsize)
{
	unsigned long long generation;
	bool opened;
	int form;

	if (seal_record_read(k->writer.record_path, &k->writer.record, err, errsize) == -1)
		return -1;
	form = read_file(k, &k->store, st, &generation, NULL, &opened, err, errsize);
	if (form == -1)
		return -1;
	if (admit(k, form, generation, k->writer.record.sealed, err, errsize) == -1) {
		store_free(&k->store);
		return -1;
	}
	if (form == KS_FORM_SEALED)
		record_sealed(k);
	return form;
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
	unsigned long long generation;
	struct store fresh;
	struct stat st;
	char err[1536];
	int form;
	bool sealed, opened;

	if (k->state.now == STATE_STOPPING)
		return;
	form = read_file(k, &fresh, &st, &generation,
			 k->state.now == STATE_UNLOCKED ? k->vault.key : NULL, &opened, err,
			 sizeof err);
	if (form != -1 &&
	    admit(k, form, generation,
		  state_next(k->state.now, EV_RELOAD_PLAIN) == STATE_COUNT, err,
		  sizeof err) == -1) {
		store_free(&fresh);
		form = -1;
	}
	if (form == -1) {
		state_event(k, EV_RELOAD_REFUSED);
		log_warn("reload refused, keeping the keys in memory: %s", err);
		return;
	}
	k->reloads++;
	sealed = form == KS_FORM_SEALED && !opened;
	store_free(&k->store);
	k->store = fresh;
	if (!opened)
		vault_forget(&k->vault); /* a sealed file comes back locked, a plain one has no key */
	else if (generation > k->writer.record.generation)
		k->writer.record.generation = generation; /* writes go on after the file's */
	writer_set_disk(w, st.st_nlink > 0 ? &st : NULL);
	if (form == KS_FORM_SEALED)
		record_sealed(k);
	state_event(k, opened ? EV_RELOAD_OPENED : sealed ? EV_RELOAD_SEALED : EV_RELOAD_PLAIN);
	/* Only now: answering a change lets its session go on, under the new state. */
	writer_cancel(w, !sealed, sealed ? PE_LOCKED : PE_BUSY,
		      sealed ? "the keystore was reloaded from disk and is locked; nothing was "
			       "changed"
			     : "the keystore was reloaded from disk meanwhile; try again");
	log_info("reloaded %s: %zu keys%s", k->opt.keys, store_count(&k->store),
		 opened                              ? " (sealed: still unlocked, the key held opens it)"
		 : sealed && state_locked(k)         ? " (sealed: locked)"
		 : sealed                            ? " (sealed: an unlock is under way)"
						     : "");
}

/* SIGHUP: ask the writer for a barrier. */
void
reload_request(struct keyd *k)
{
	if (k->state.now != STATE_STOPPING)
		writer_barrier(&k->writer, reload_now);
}
