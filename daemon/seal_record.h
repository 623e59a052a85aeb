/*
 * The seal record (docs/DESIGN.md, "Keystore file"): what the daemon remembers
 * about a keystore that is or was sealed from one start to the next — whether
 * it is sealed now, and the newest generation it wrote or opened — in a small
 * file beside it, KEYSTORE.seal. With it a plain file put in a sealed one's
 * place, or an older sealed copy put back (also after passphrase remove), is
 * refused instead of used. Only keyfile.c, the record's owner, reads and
 * writes it.
 */
#ifndef CCR_SEAL_RECORD_H
#define CCR_SEAL_RECORD_H

#include <stdbool.h>
#include <stddef.h>

struct seal_record {
	bool sealed;                   /* the keystore has a passphrase */
	unsigned long long generation; /* the newest generation written or opened; 0 for none */
};

/*
 * True when r is kept for its keystore: it is sealed, or it was (a generation
 * was written). Then every write, plain or sealed, takes the next generation
 * and records it; a keystore never sealed has no record.
 */
bool seal_record_kept(const struct seal_record *r);

/* The record's path for the keystore at keys (keys + ".seal"). Returns 0, or -1 when too long. */
int seal_record_path(const char *keys, char *out, size_t size);

/*
 * Read the record at path into r (not sealed, generation 0, when there is no
 * file). Returns 0, or -1 with err set when it is not a regular file of ours
 * with mode 0600, or not a valid record: never guessed at.
 */
int seal_record_read(const char *path, struct seal_record *r, char *err, size_t errsize);

/*
 * Replace the record at path with r, atomically and durably (fileio), 0600.
 * Returns 0, or -1 with err set (the old record, if any, is left in place).
 */
int seal_record_write(const char *path, const struct seal_record *r, char *err, size_t errsize);

#endif
