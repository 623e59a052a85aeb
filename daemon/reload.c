/*
 * Reading the keystore file into a fresh store: at start, and at a writer
 * barrier after SIGHUP, where the reloaded store replaces the one in memory
 * and the state machine takes the file's form (plain, or sealed and locked).
 */
#include "reload.h"

#include <stdio.h>
#include <string.h>

#include "fileio.h"
#include "keyd.h"
#include "log.h"
#include "sealed.h"

/* Read the keystore file into the fresh store s (its contract is in reload.h). */
int
reload_read(struct keyd *k, struct store *s, struct stat *st, char *err, size_t errsize)
{
	struct buf text = {0};
	char why[512];
	int rc, form;

	store_init(s, k->arena);
	memset(st, 0, sizeof *st);
	rc = fileio_read(k->opt.keys, 1, &text, st, why, sizeof why);
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
				 k->opt.keys, why, k->opt.keys, k->opt.keys);
			form = -2;
		}
		sealed_file_free(&f);
	}
	buf_free(&text);
	if (form == -1)
		snprintf(err, errsize,
			 "keystore %s is not valid (%s) and is never overwritten; fix it, or move "
			 "it away to start with an empty keystore (run: mv %s %s.broken)",
			 k->opt.keys, why, k->opt.keys, k->opt.keys);
	if (form < 0) {
		store_free(s);
		form = -1;
	}
	return form;
}

/*
 * Barrier after a SIGHUP (the batch in flight is written): swap in the file's
 * contents. A sealed file comes back locked; changes still queued are then
 * refused, and so is a passphrase job that has not been written yet.
 */
static void
reload_now(struct writer *w)
{
	struct keyd *k = (struct keyd *)((char *)w - offsetof(struct keyd, writer));
	struct store fresh;
	struct stat st;
	char err[1024];
	int form;
	bool sealed;

	if (k->state.now == STATE_STOPPING)
		return;
	form = reload_read(k, &fresh, &st, err, sizeof err);
	if (form == -1) {
		log_warn("reload refused, keeping the keys in memory: %s", err);
		return;
	}
	k->reloads++;
	sealed = form == KS_FORM_SEALED;
	store_free(&k->store);
	k->store = fresh;
	vault_forget(&k->vault); /* a sealed file comes back locked, a plain one has no key */
	writer_set_disk(w, st.st_nlink > 0 ? &st : NULL);
	state_event(k, sealed ? EV_RELOAD_SEALED : EV_RELOAD_PLAIN);
	/* Only now: answering a change lets its session go on, under the new state. */
	writer_cancel(w, !sealed, sealed ? PE_LOCKED : PE_BUSY,
		      sealed ? "the keystore was reloaded from disk and is locked; nothing was "
			       "changed"
			     : "the keystore was reloaded from disk meanwhile; try again");
	log_info("reloaded %s: %zu keys%s", k->opt.keys, store_count(&k->store),
		 sealed ? " (sealed: locked)" : "");
}

/* SIGHUP: ask the writer for a barrier. */
void
reload_request(struct keyd *k)
{
	if (k->state.now != STATE_STOPPING)
		writer_barrier(&k->writer, reload_now);
}
