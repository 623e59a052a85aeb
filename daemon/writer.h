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

#include "change.h"
#include "keyfile.h"
#include "proto.h"
#include "sealed.h"
#include "store.h"

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

#endif
