/*
 * Group commit. The loop validates a batch against the store as the batch
 * itself will leave it; a libuv work thread encodes the whole document from the
 * store plus the batch and writes it durably; back on the loop the batch is
 * applied to the store (or dropped on failure, so memory never disagrees with
 * disk) and every change is answered. While the thread runs, the store is only
 * read, by both sides.
 */
#include "writer.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fileio.h"
#include "log.h"
#include "stack.h"
#include "table.h"

static void start_batch(struct writer *w);

void
writer_init(struct writer *w, uv_loop_t *loop, struct store *store, struct keyfile *file)
{
	memset(w, 0, sizeof *w);
	w->loop = loop;
	w->store = store;
	w->file = file;
	w->queue_tail = &w->queue;
}

void
writer_on_rekeyed(struct writer *w, void (*cb)(struct writer *w, struct change *c))
{
	w->rekeyed = cb;
}

unsigned long
writer_writes(const struct writer *w)
{
	return w->writes;
}

bool
writer_pending(const struct writer *w)
{
	return w->busy || w->queue != NULL;
}

/* Hand a change back to its owner (who frees it); a rekey goes by the vault first. */
static void
finish(struct writer *w, struct change *c)
{
	if (c->kind == CHANGE_REKEY && w->rekeyed != NULL)
		w->rekeyed(w, c);
	change_finish(c, w->store->arena);
}

/* Order ks entries by name for a stable, diffable file. */
static int
entry_cmp(const void *a, const void *b)
{
	const struct ks_entry *x = a, *y = b;

	return strcmp(x->name, y->name);
}

/*
 * Thread: the entries of the store as the batch leaves it, sorted by name,
 * into *out (the caller frees it); returns how many. Values are not copied:
 * they point into the store and the batch, which nobody changes meanwhile.
 */
static size_t
batch_entries(const struct writer *w, struct ks_entry **out)
{
	struct table touched;
	const struct change *c;
	struct ks_entry *v;
	size_t i, n = 0, cap = w->store->by_name.live + 1;

	table_init(&touched);
	for (c = w->batch; c != NULL; c = c->next) {
		if (c->kind == CHANGE_REKEY)
			continue;
		table_put(&touched, c->key.name, (void *)c);
		cap++;
	}
	v = calloc(cap, sizeof *v);
	if (v == NULL)
		abort();
	for (i = 0; i < w->store->by_name.cap; i++) {
		const struct entry *e = w->store->by_name.slots[i].value;

		if (e == NULL || table_get(&touched, e->name) != NULL)
			continue;
		v[n++] = (struct ks_entry){e->name,    e->env,     e->value,  e->value_len,
		                           e->created, e->updated, e->origins};
	}
	for (i = 0; i < touched.cap; i++) {
		const struct change *set;
		const struct entry *e;

		c = touched.slots[i].value;
		if (c == NULL || c->kind == CHANGE_DELETE)
			continue;
		if (c->kind == CHANGE_RENAME) {
			/* Alone in its batch: the key as stored, under its new name. */
			e = store_get(w->store, c->key.name);
			if (e != NULL)
				v[n++] = (struct ks_entry){c->key.rename.new_name,
				                           e->env,
				                           e->value,
				                           e->value_len,
				                           e->created,
				                           e->updated,
				                           e->origins};
			continue;
		}
		/* A bind keeps the value of the batch's last set of the key, else the store's. */
		set = c->kind == CHANGE_SET ? c : change_last_set(w->batch, c->key.name);
		e = store_get(w->store, c->key.name);
		if (set != NULL)
			v[n++] = (struct ks_entry){c->key.name,
			                           set->key.env,
			                           set->key.set.value,
			                           set->key.set.value_len,
			                           e != NULL ? e->created : set->key.set.time,
			                           set->key.set.time,
			                           c->key.origins};
		else if (e != NULL)
			v[n++] =
			    (struct ks_entry){e->name,    e->env,     e->value,      e->value_len,
			                      e->created, e->updated, c->key.origins};
	}
	table_free(&touched);
	qsort(v, n, sizeof *v, entry_cmp);
	*out = v;
	return n;
}

/*
 * Thread: the document the batch leaves, into w->image: encoded, and sealed
 * with the batch's generation under the key the last rekey of the batch
 * names (else the key the batch began with; plain when there is none).
 */
static void
image_build(struct writer *w)
{
	const unsigned char *key = w->batch_key;
	const struct sealed_params *params = &w->batch_params;
	struct ks_entry *v;
	size_t i, n = batch_entries(w, &v);

	buf_clear(&w->image);
	ks_encode_begin(&w->image);
	for (i = 0; i < n; i++)
		ks_encode_entry(&w->image, &v[i], i == 0);
	ks_encode_end(&w->image);
	free(v);
	if (key != NULL) {
		struct sealed_params stamped = *params;
		struct buf sealed = {0};

		stamped.generation = w->batch_record.generation;
		sealed_seal(key, &stamped, w->image.data, w->image.len, &sealed);
		buf_clear(&w->image);
		buf_add(&w->image, sealed.data, sealed.len);
		buf_free(&sealed);
	}
}

/*
 * Thread: put w->image in the keystore's place durably, with the seal record
 * around it, unless another program changed the file since we last read or
 * wrote it. w->write_errno is 0, or why not (w->write_err says it in words).
 */
static void
image_persist(struct writer *w)
{
	int rc;

	w->write_errno = 0;
	if (!keyfile_unchanged(w->file)) {
		w->write_errno = ESTALE;
		snprintf(w->write_err, sizeof w->write_err,
			 "the keystore %s was changed by another program since ccr-keyd read it; "
			 "refusing to overwrite it (reload it with: kill -HUP %ld)",
			 keyfile_path(w->file), (long)getpid());
		return;
	}
	if (keyfile_before_write(w->file, &w->batch_record, w->write_err, sizeof w->write_err) ==
	    -1) {
		w->write_errno = errno ? errno : EIO;
		return;
	}
	rc = fileio_write_atomic(keyfile_path(w->file), w->image.data, w->image.len, 0600,
	                         w->write_err, sizeof w->write_err);
	if (rc == -1) {
		w->write_errno = errno ? errno : EIO;
		keyfile_write_failed(w->file, &w->batch_record);
		return;
	}
	/*
	 * rc 1: the file is replaced and synced, its directory entry is not.
	 * Memory follows the file (answering io_error for a change that is in
	 * the file would be a lie the other way); write_done logs it.
	 */
	w->dir_unsynced = rc == 1;
	(void)keyfile_after_write(w->file, &w->batch_record, w->record_err, sizeof w->record_err);
}

/* Thread: build the document the batch leaves and write it durably. */
static void
write_work(uv_work_t *req)
{
	struct writer *w = req->data;

	image_build(w);
	image_persist(w);
	buf_free(&w->image); /* wiped; a 100,000-key image is not kept between writes */
	stack_wipe();        /* the cipher and the encoder left pieces of values there */
}

/* Loop: the write finished; apply or drop the batch and answer every change. */
static void
write_done(uv_work_t *req, int status)
{
	struct writer *w = req->data;
	struct change *c, *next;
	bool ok = status == 0 && w->write_errno == 0;

	w->writes++;
	if (!ok)
		log_warn("keystore write failed: %s", w->write_err);
	else if (w->dir_unsynced)
		log_warn("keystore written, but %s: the change is in place and may not survive a "
			 "crash",
			 w->write_err);
	w->dir_unsynced = false;
	if (ok) {
		keyfile_written(w->file, &w->batch_record);
		if (w->record_err[0] != '\0')
			log_warn("keystore written, but its seal record was not: %s; an older copy "
				 "of the keystore would not be refused",
				 w->record_err);
	}
	for (c = w->batch; c != NULL; c = next) {
		next = c->next;
		if (!ok) {
			c->reply.result = PE_IO_ERROR;
			snprintf(c->reply.message, sizeof c->reply.message,
			         "%s; nothing was changed", w->write_err);
		} else if (c->kind == CHANGE_REKEY) {
			/* The owner installs the new key when it is answered. */
		} else if (c->kind == CHANGE_SET) {
			const struct entry *e = store_get(w->store, c->key.name);

			store_put(w->store, c->key.name, c->key.env, c->key.set.value,
			          c->key.set.value_len, e != NULL ? e->created : c->key.set.time,
			          c->key.set.time, c->key.origins);
			c->key.set.value = NULL; /* the store owns it now */
			w->changes_written++;
		} else if (c->kind == CHANGE_BIND) {
			store_bind(w->store, c->key.name, c->key.origins);
			w->changes_written++;
		} else if (c->kind == CHANGE_RENAME) {
			store_rename(w->store, c->key.name, c->key.rename.new_name);
			w->changes_written++;
		} else {
			store_del(w->store, c->key.name);
			w->changes_written++;
		}
		finish(w, c);
	}
	w->batch = NULL;
	w->busy = false;
	start_batch(w);
}

/* Call and clear each callback in slots (a callback may add more; they run next time). */
static void
run_callbacks(struct writer *w, void (**slots)(struct writer *))
{
	void (*cb)(struct writer *);
	int i;

	for (i = 0; i < 4; i++) {
		if (slots[i] != NULL) {
			cb = slots[i];
			slots[i] = NULL;
			cb(w);
		}
	}
}

/* Detach the whole queue and return it: answering a change may queue new ones. */
static struct change *
take_queue(struct writer *w)
{
	struct change *c = w->queue;

	w->queue = NULL;
	w->queue_tail = &w->queue;
	return c;
}

/* Append one change to the queue. */
static void
enqueue(struct writer *w, struct change *c)
{
	c->next = NULL;
	*w->queue_tail = c;
	w->queue_tail = &c->next;
}

/* Put the changes of chain back at the head of the queue, in their order. */
static void
requeue(struct writer *w, struct change *chain)
{
	struct change *last = chain;

	if (chain == NULL)
		return;
	while (last->next != NULL)
		last = last->next;
	last->next = w->queue;
	if (w->queue == NULL)
		w->queue_tail = &last->next;
	w->queue = chain;
}

/* Run the barriers, take everything queued, answer what is invalid, and write the rest. */
static void
start_batch(struct writer *w)
{
	struct change *c, *next, **tail = &w->batch;

	if (w->busy)
		return;
	run_callbacks(w, w->barrier_cb);
	while (w->queue != NULL) {
		for (c = take_queue(w); c != NULL; c = next) {
			next = c->next;
			c->next = NULL;
			/*
			 * A rename is written in a batch of its own (the batch's view of
			 * the store follows one name per change): it waits for the batch
			 * before it, and what follows it waits for the next.
			 */
			if (c->kind == CHANGE_RENAME && w->batch != NULL) {
				c->next = next;
				requeue(w, c);
				break;
			}
			c->reply.result = change_validate(w->batch, w->store, c);
			if (c->reply.result != PE_OK) {
				finish(w, c);
				continue;
			}
			*tail = c;
			tail = &c->next;
			if (c->kind == CHANGE_RENAME) {
				requeue(w, next);
				break;
			}
		}
		if (w->batch != NULL)
			break;
	}
	if (w->batch != NULL) {
		bool sealing;

		/* The thread seals as the last rekey of the batch says, else as now. */
		w->batch_key = keyfile_key(w->file, &w->batch_params);
		for (c = w->batch; c != NULL; c = c->next) {
			if (c->kind == CHANGE_REKEY) {
				w->batch_key = c->seal.key;
				w->batch_params = c->seal.params;
			}
		}
		sealing = w->batch_key != NULL;
		w->busy = true;
		w->batch_record = keyfile_next_record(w->file, sealing);
		w->record_err[0] = '\0';
		w->work.data = w;
		if (uv_queue_work(w->loop, &w->work, write_work, write_done) != 0) {
			snprintf(w->write_err, sizeof w->write_err, "cannot start the writer thread");
			w->write_errno = EAGAIN;
			w->busy = false;
			write_done(&w->work, -1);
		}
		return;
	}
	run_callbacks(w, w->idle_cb);
}

/* Loop: start the queued batch on the next turn, so done never runs inside submit. */
static void
kick(uv_idle_t *h)
{
	struct writer *w = h->data;

	uv_close((uv_handle_t *)h, (uv_close_cb)free);
	start_batch(w);
}

/* Schedule start_batch for the next loop turn. */
static void
schedule(struct writer *w)
{
	uv_idle_t *h = malloc(sizeof *h);

	if (h == NULL)
		abort();
	uv_idle_init(w->loop, h);
	h->data = w;
	uv_idle_start(h, kick);
}

void
writer_submit(struct writer *w, struct change *c)
{
	enqueue(w, c);
	if (!w->busy)
		schedule(w);
}

/* Put cb in one of four slots unless it is there already; start_batch runs them. */
static void
add_callback(struct writer *w, void (**slots)(struct writer *), void (*cb)(struct writer *w))
{
	int i, free_slot = -1;

	for (i = 0; i < 4; i++) {
		if (slots[i] == cb)
			return;
		if (slots[i] == NULL && free_slot == -1)
			free_slot = i;
	}
	if (free_slot == -1)
		abort(); /* more distinct waiters than the daemon has */
	slots[free_slot] = cb;
	if (!w->busy)
		schedule(w);
}

void
writer_when_idle(struct writer *w, void (*cb)(struct writer *w))
{
	add_callback(w, w->idle_cb, cb);
}

void
writer_barrier(struct writer *w, void (*cb)(struct writer *w))
{
	add_callback(w, w->barrier_cb, cb);
}

void
writer_cancel(struct writer *w, bool rekeys_only, enum proto_err result, const char *msg)
{
	struct change *c, *next, *cancelled = NULL, **tail = &cancelled;

	/* Take the queue apart first: answering a change may queue new ones. */
	for (c = take_queue(w); c != NULL; c = next) {
		next = c->next;
		c->next = NULL;
		if (rekeys_only && c->kind != CHANGE_REKEY) {
			enqueue(w, c);
			continue;
		}
		c->reply.result = result;
		snprintf(c->reply.message, sizeof c->reply.message, "%s", msg);
		*tail = c;
		tail = &c->next;
	}
	for (c = cancelled; c != NULL; c = next) {
		next = c->next;
		finish(w, c);
	}
}
