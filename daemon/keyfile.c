/*
 * The keystore file's identity and the rule of what may be admitted from
 * disk. The identity is touched on the loop, and by the writer's thread only
 * while a write is in flight (nothing else reads or changes it meanwhile);
 * an unlock's thread reads a copy of the record.
 */
#include "keyfile.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "keystore.h"
#include "log.h"

#ifdef __APPLE__
#define st_mtim st_mtimespec
#endif

#ifdef CCR_KEYD_TEST_BUILD
/* The weakest limits a sealed file may have: the test build seals with the minimum. */
#define LIMITS_FLOOR SEALED_LIMITS_MIN
#else
/* The weakest limits a sealed file may have: libsodium's interactive ones. */
#define LIMITS_FLOOR SEALED_LIMITS_INTERACTIVE
#endif

void
keyfile_init(struct keyfile *f, const char *path)
{
	memset(f, 0, sizeof *f);
	snprintf(f->path, sizeof f->path, "%s", path);
	seal_record_path(path, f->record_path, sizeof f->record_path);
}

const char *
keyfile_path(const struct keyfile *f)
{
	return f->path;
}

const char *
keyfile_record_path(const struct keyfile *f)
{
	return f->record_path;
}

const struct seal_record *
keyfile_record(const struct keyfile *f)
{
	return &f->record;
}

int
keyfile_read_record(struct keyfile *f, char *err, size_t errsize)
{
	return seal_record_read(f->record_path, &f->record, err, errsize);
}

/* Refuse a sealed file whose Argon2id limits are too weak for this build. */
static int
refuse_weak(const struct keyfile *f, const struct sealed_params *p, enum keyfile_reader who,
            char *err, size_t errsize)
{
	char why[512];

	if (sealed_check_limits(p, LIMITS_FLOOR, why, sizeof why) == 0)
		return 0;
	if (who == KEYFILE_UNLOCK)
		snprintf(err, errsize, "%s; ccr-keyd will not overwrite it", why);
	else
		snprintf(err, errsize,
		         "keystore %s is refused: %s. It is never overwritten; move it away "
		         "(run: mv %s %s.weak)",
		         f->path, why, f->path, f->path);
	return -1;
}

/* Refuse a sealed file older than the newest generation known. */
static int
refuse_older(const struct keyfile *f, unsigned long long generation, unsigned long long newest,
             enum keyfile_reader who, char *err, size_t errsize)
{
	if (generation >= newest)
		return 0;
	if (who == KEYFILE_UNLOCK)
		snprintf(
		    err, errsize,
		    "the keystore file is an older sealed copy (generation %llu; the newest "
		    "ccr-keyd wrote or opened is %llu): refused. Put the newest file back; to "
		    "accept this one, stop ccr-keyd, remove the .seal file beside it, start it "
		    "again",
		    generation, newest);
	else
		snprintf(err, errsize,
		         "keystore %s is sealed generation %llu, older than generation %llu that "
		         "ccr-keyd wrote or opened (%s records it): an older copy put back, or a "
		         "changed file, is refused, since it would undo what was changed since. "
		         "Put the newest file back; to accept this copy on purpose, stop ccr-keyd, "
		         "run: rm %s, and start it again",
		         f->path, generation, newest, f->record_path, f->record_path);
	return -1;
}

int
keyfile_admit(const struct keyfile *f, const struct seal_record *known, bool sealed,
              const struct keyfile_doc *doc, enum keyfile_reader who, char *err, size_t errsize)
{
	if (doc->form == KS_FORM_SEALED) {
		if (refuse_weak(f, doc->params, who, err, errsize) == -1)
			return -1;
		return refuse_older(f, doc->params->generation, known->generation, who, err,
		                    errsize);
	}
	if (!sealed)
		return 0;
	snprintf(err, errsize,
	         "keystore %s is %s, but it is sealed with a passphrase (%s records it): "
	         "a plain keystore in a sealed one's place is refused, since every key "
	         "would then be served and written in the clear. Put the sealed file back "
	         "(to drop the passphrase, use: ccr-config passphrase remove); to accept "
	         "this file on purpose, stop ccr-keyd, run: rm %s, and start it again",
	         f->path, doc->form == KS_FORM_EMPTY ? "missing" : "plain", f->record_path,
	         f->record_path);
	return -1;
}

/* a is not newer than b. */
static bool
not_after(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec < b->tv_sec || (a->tv_sec == b->tv_sec && a->tv_nsec <= b->tv_nsec);
}

bool
keyfile_seal_interrupted(const struct keyfile *f)
{
	struct stat keys, record;

	return f->record.sealed && lstat(f->path, &keys) == 0 && S_ISREG(keys.st_mode) &&
	       lstat(f->record_path, &record) == 0 && not_after(&keys.st_ctim, &record.st_ctim);
}

void
keyfile_unseal_interrupted(struct keyfile *f)
{
	struct seal_record plain = {.sealed = false, .generation = f->record.generation};
	char err[512];

	log_warn("the first passphrase set on %s was stopped before the sealed file was in "
	         "place: serving the plain file, which is unchanged; set the passphrase again",
	         f->path);
	if (seal_record_write(f->record_path, &plain, err, sizeof err) == -1)
		log_warn("cannot record that the keystore is plain: %s", err);
	f->record = plain;
}

/* A sealed file the record does not know as sealed: record it, so that a restart knows. */
static void
record_sealed(struct keyfile *f)
{
	struct seal_record r = {.sealed = true, .generation = f->record.generation};
	char err[512];

	if (f->record.sealed)
		return;
	if (seal_record_write(f->record_path, &r, err, sizeof err) == -1) {
		log_warn("cannot record that the keystore is sealed: %s; a plain file put in its "
		         "place would not be refused at the next start",
		         err);
		return;
	}
	f->record = r;
}

void
keyfile_loaded(struct keyfile *f, const struct stat *st, int form, unsigned long long generation,
               bool opened)
{
	if (opened && generation > f->record.generation)
		f->record.generation = generation; /* writes go on after the file's */
	keyfile_set_disk(f, st);
	if (form == KS_FORM_SEALED)
		record_sealed(f);
}

int
keyfile_record_opened(const struct keyfile *f, const struct seal_record *known,
                      unsigned long long generation, char *err, size_t errsize)
{
	struct seal_record r = {.sealed = true, .generation = generation};

	if (known->sealed && generation == known->generation)
		return 0;
	return seal_record_write(f->record_path, &r, err, errsize);
}

void
keyfile_opened(struct keyfile *f, unsigned long long generation)
{
	f->record.sealed = true;
	if (generation > f->record.generation)
		f->record.generation = generation;
}

/* Fill id from st, or mark the file absent. */
static void
disk_from_stat(struct disk_id *id, const struct stat *st)
{
	memset(id, 0, sizeof *id);
	if (st == NULL)
		return;
	id->exists = true;
	id->dev = st->st_dev;
	id->ino = st->st_ino;
	id->size = st->st_size;
	id->mtime = st->st_mtim;
}

void
keyfile_set_disk(struct keyfile *f, const struct stat *st)
{
	disk_from_stat(&f->disk, st);
}

void
keyfile_set_key(struct keyfile *f, const unsigned char *key, const struct sealed_params *params)
{
	f->seal_key = key;
	f->seal_params = params;
}

const unsigned char *
keyfile_key(const struct keyfile *f, struct sealed_params *params)
{
	if (f->seal_params != NULL)
		*params = *f->seal_params;
	return f->seal_key;
}

bool
keyfile_unchanged(const struct keyfile *f)
{
	struct disk_id now;
	struct stat st;

	if (lstat(f->path, &st) == -1)
		return !f->disk.exists && errno == ENOENT;
	disk_from_stat(&now, &st);
	return now.exists == f->disk.exists && now.dev == f->disk.dev && now.ino == f->disk.ino &&
	       now.size == f->disk.size && now.mtime.tv_sec == f->disk.mtime.tv_sec &&
	       now.mtime.tv_nsec == f->disk.mtime.tv_nsec;
}

struct seal_record
keyfile_next_record(const struct keyfile *f, bool sealing)
{
	/*
	 * Every write of a keystore that is or was ever sealed takes the
	 * next generation, plain writes too: a sealed copy from before a
	 * passphrase remove is then older than the record, whatever was
	 * written since. A keystore never sealed has no record and stays 0.
	 */
	struct seal_record next = {
	    .sealed = sealing,
	    .generation = f->record.generation + (sealing || seal_record_kept(&f->record) ? 1 : 0),
	};

	return next;
}

/* True when the write that leaves next makes a sealed keystore plain. */
static bool
unsealing(const struct keyfile *f, const struct seal_record *next)
{
	return !next->sealed && f->record.sealed;
}

/* True when the write that leaves next seals a plain keystore: the first passphrase set. */
static bool
sealing(const struct keyfile *f, const struct seal_record *next)
{
	return next->sealed && !f->record.sealed;
}

/*
 * A write that makes a sealed keystore plain records that first, so that a
 * crash between the two leaves a record that allows the plain file, never
 * one that refuses it. It keeps the old generation until the plain file is
 * in place (keyfile_after_write), so that the sealed file a crash leaves
 * behind is not refused as older either.
 *
 * A write that seals a plain keystore records that first too: sealing is
 * not done until the record says so (a plain file put in the sealed one's
 * place would be taken at the next start), so a record that cannot be
 * written fails the passphrase set before the keystore is touched.
 */
int
keyfile_before_write(const struct keyfile *f, const struct seal_record *next, char *err,
                     size_t errsize)
{
	struct seal_record plain = {.sealed = false, .generation = f->record.generation};
	char why[256];

	if (sealing(f, next)) {
		if (seal_record_write(f->record_path, next, why, sizeof why) == 0)
			return 0;
		snprintf(err, errsize,
		         "cannot record that the keystore is sealed: %s; it stays plain", why);
		return -1;
	}
	if (!unsealing(f, next))
		return 0;
	if (seal_record_write(f->record_path, &plain, why, sizeof why) == 0)
		return 0;
	snprintf(err, errsize, "cannot record that the keystore is plain: %s", why);
	return -1;
}

/* Record it sealed again, or, when it was being sealed, as it was (no record if it had none). */
void
keyfile_write_failed(const struct keyfile *f, const struct seal_record *next)
{
	char err[256];

	if (unsealing(f, next) || (sealing(f, next) && seal_record_kept(&f->record)))
		(void)seal_record_write(f->record_path, &f->record, err, sizeof err);
	else if (sealing(f, next))
		(void)unlink(f->record_path);
}

/*
 * Record the generation the write took, sealed or plain (a first sealing
 * recorded it before, in keyfile_before_write).
 */
int
keyfile_after_write(struct keyfile *f, const struct seal_record *next, char *err, size_t errsize)
{
	struct stat st;

	disk_from_stat(&f->disk, lstat(f->path, &st) == 0 ? &st : NULL);
	err[0] = '\0';
	if (next->generation != f->record.generation && !sealing(f, next))
		return seal_record_write(f->record_path, next, err, errsize);
	return 0;
}

void
keyfile_written(struct keyfile *f, const struct seal_record *next)
{
	f->record = *next;
}
