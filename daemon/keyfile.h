/*
 * The keystore file's identity (docs/DESIGN.md, "Keystore file"): what the
 * file on disk was when the daemon last read or wrote it, its seal record and
 * generation, and the key every write seals with. It alone decides what may
 * be admitted from disk — sealed stays sealed, and never goes back to an
 * older generation — for start and SIGHUP (reload.c), unlock (vault.c) and
 * the writer, who call it; nobody else touches its fields.
 */
#ifndef CCR_KEYFILE_H
#define CCR_KEYFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>
#include <time.h>

#include "seal_record.h"
#include "sealed.h"

/* What the keystore file was when we last read or wrote it. */
struct disk_id {
	bool exists;
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime;
};

/* The fields are keyfile.c's: others use the functions below. */
struct keyfile {
	char path[1024];
	char record_path[1040];
	struct disk_id disk;
	/*
	 * The seal record beside the keystore (seal_record.h), as the daemon
	 * knows it. Once a keystore was sealed, each write, sealed or plain,
	 * takes the next generation and records it after the file is in place;
	 * the write that makes the keystore plain records that first.
	 */
	struct seal_record record;
	/* While the keystore is sealed and open: the key and header every write seals with. */
	const unsigned char *seal_key;
	const struct sealed_params *seal_params;
};

/* A document read from disk, as the admission rule sees it. */
struct keyfile_doc {
	int form;                           /* enum ks_form; KS_FORM_EMPTY when there is no file */
	const struct sealed_params *params; /* a sealed file's header, else NULL */
};

/* Who reads the file: the refusal says what to do in its words. */
enum keyfile_reader {
	KEYFILE_LOAD,   /* start and SIGHUP: the message goes to the log or the terminal */
	KEYFILE_UNLOCK, /* an unlock: the message is its reply */
};

/* Set up the identity of the keystore at path: nothing known about it yet. */
void keyfile_init(struct keyfile *f, const char *path);

/* The keystore's path, and its seal record's. */
const char *keyfile_path(const struct keyfile *f);
const char *keyfile_record_path(const struct keyfile *f);

/* The seal record as the daemon knows it. */
const struct seal_record *keyfile_record(const struct keyfile *f);

/* Start: read the seal record from disk. Returns 0, or -1 with err set (never guessed at). */
int keyfile_read_record(struct keyfile *f, char *err, size_t errsize);

/*
 * Start, when the record says sealed and the keystore is plain: true when the
 * record was written after the keystore file last changed (its ctime, which
 * no copy or restore can set back; equal counts too, since file times move in
 * clock ticks of a few ms and the two writes can fall in one). Only the first passphrase set writes a
 * sealed record before its file: it was stopped before the sealed file was in
 * place, and the plain file is the keystore. A plain file put in later is
 * newer than the record, and stays refused. Then the record is made plain
 * again (keyfile_unseal_interrupted), and the plain file is served.
 */
bool keyfile_seal_interrupted(const struct keyfile *f);
void keyfile_unseal_interrupted(struct keyfile *f);

/*
 * The one admission rule: may doc, read from disk, replace or enter the
 * store? Refused: a sealed file whose Argon2id limits are too weak for this
 * build; a plain or missing file while sealed is true (the keystore is
 * sealed: at start the record says so, while running the state machine);
 * a sealed file older than known's generation (the newest written or
 * opened). known is f's record, or a copy of it taken for a work thread.
 * Returns 0, or -1 with err set to what who should be told.
 */
int keyfile_admit(const struct keyfile *f, const struct seal_record *known, bool sealed,
                  const struct keyfile_doc *doc, enum keyfile_reader who, char *err,
                  size_t errsize);

/*
 * Start, SIGHUP: an admitted file of form is in the store. Note its identity
 * (st; NULL when it is absent); one the key held opened (opened) moves the
 * generation on to its own; a sealed one the record does not know as sealed
 * is recorded as sealed, so that a restart knows.
 */
void keyfile_loaded(struct keyfile *f, const struct stat *st, int form,
                    unsigned long long generation, bool opened);

/*
 * Thread, an unlock: the sealed file of generation opened under the
 * passphrase; record its generation when it is newer than known's. Returns
 * 0, or -1 with err set (not fatal: the log says it).
 */
int keyfile_record_opened(const struct keyfile *f, const struct seal_record *known,
                          unsigned long long generation, char *err, size_t errsize);

/* Loop, an unlock: a file of generation authenticated; later writes take later generations. */
void keyfile_opened(struct keyfile *f, unsigned long long generation);

/* Record the keystore file as just read (st) or as absent (st NULL). */
void keyfile_set_disk(struct keyfile *f, const struct stat *st);

/* The key and header writes seal with from now on; NULL, NULL: plain (or locked). */
void keyfile_set_key(struct keyfile *f, const unsigned char *key,
                     const struct sealed_params *params);

/* The key writes seal with (NULL: plain), and its header in *params when there is one. */
const unsigned char *keyfile_key(const struct keyfile *f, struct sealed_params *params);

/*
 * The writer's checks and the record around a write. A write finds the file
 * as recorded or refuses (another program changed it, and overwriting would
 * lose its change: reload with SIGHUP first).
 */

/* True when the file on disk is still what we last read or wrote. */
bool keyfile_unchanged(const struct keyfile *f);

/*
 * The record a write leaves: sealed when it seals, and, when the keystore is
 * or ever was sealed, the next generation (a keystore never sealed stays 0).
 */
struct seal_record keyfile_next_record(const struct keyfile *f, bool sealing);

/*
 * Thread, before a write that leaves next: one that makes a sealed keystore
 * plain, or seals a plain one, records that first. Returns 0, or -1 with err
 * set: the keystore must not be written.
 */
int keyfile_before_write(const struct keyfile *f, const struct seal_record *next, char *err,
                         size_t errsize);

/* Thread: the write after keyfile_before_write failed; put the record back as it was. */
void keyfile_write_failed(const struct keyfile *f, const struct seal_record *next);

/*
 * Thread: the write is in place; note the file's new identity and record
 * next's generation. Returns 0, or -1 with err set when the record could not
 * be written (not fatal: an older copy would then not be refused).
 */
int keyfile_after_write(struct keyfile *f, const struct seal_record *next, char *err,
                        size_t errsize);

/* Loop: the write that left next is durable; it is the record now. */
void keyfile_written(struct keyfile *f, const struct seal_record *next);

#endif
