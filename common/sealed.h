/*
 * The sealed keystore envelope (docs/DESIGN.md, "Keystore file"): the plain
 * version-1 document encrypted with XChaCha20-Poly1305 under a key derived from
 * a passphrase with Argon2id. The header (KDF, generation, limits, salt, key
 * check) is bound to the ciphertext as associated data, and every seal uses a
 * fresh random nonce. The generation grows by one with every write, so that
 * an older copy of the file can be told from the newest one.
 */
#ifndef CCR_SEALED_H
#define CCR_SEALED_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"

#define SEALED_KEY_BYTES 32
#define SEALED_SALT_BYTES 16
#define SEALED_CHECK_BYTES 16
#define SEALED_NONCE_BYTES 24
/* The largest generation: JSON numbers are exact up to 2^53. */
#define SEALED_GENERATION_MAX 9007199254740991ULL

struct sealed_params {
	unsigned long long opslimit;
	size_t memlimit;
	unsigned char salt[SEALED_SALT_BYTES];
	/* BLAKE2b of a fixed label under the key: tells a wrong passphrase from a damaged file. */
	unsigned char check[SEALED_CHECK_BYTES];
	/*
	 * 1 for the first seal, one more for each write after it; 0 for a file
	 * written before generations existed (it has no "generation" member).
	 */
	unsigned long long generation;
};

struct sealed_file {
	struct sealed_params params;
	unsigned char nonce[SEALED_NONCE_BYTES];
	unsigned char *ciphertext; /* malloc'd */
	size_t ciphertext_len;
};

enum sealed_limits {
	SEALED_LIMITS_MODERATE, /* the default: Argon2id's "moderate" limits */
	SEALED_LIMITS_INTERACTIVE,
	SEALED_LIMITS_MIN, /* tests only */
};

/* Initialise libsodium; returns 0 or -1. Safe to call more than once. */
int sealed_init(void);

/* Fill p with fresh random salt and the limits of the given level (check and generation 0). */
void sealed_params_new(struct sealed_params *p, enum sealed_limits level);

/*
 * Refuse p when its Argon2id limits are below those of floor (a file sealed by
 * a test build, or made for a weak derivation). Returns 0, or -1 with err set.
 */
int sealed_check_limits(const struct sealed_params *p, enum sealed_limits floor, char *err,
			size_t errsize);

/*
 * Parse a sealed document. Returns 0, or -1 with err set when it is not a
 * complete sealed document of version 1 (truncated, a field missing or of the
 * wrong size, limits or generation out of range, not byte for byte what a seal
 * writes). A document without "generation" has generation 0. Free f with
 * sealed_file_free.
 */
int sealed_parse(const char *text, size_t len, struct sealed_file *f, char *err, size_t errsize);

/* Release what sealed_parse allocated. */
void sealed_file_free(struct sealed_file *f);

/*
 * Derive the key for passphrase (len bytes) under p's salt and limits — slow by
 * design, run it off the event loop. With set_check, store the key check in p
 * (a new passphrase) and return 0; else compare with p's check and return 0
 * when it matches, -2 when the passphrase is wrong. -1: out of memory.
 */
int sealed_derive(const char *passphrase, size_t len, struct sealed_params *p,
		  unsigned char key[SEALED_KEY_BYTES], bool set_check);

/*
 * Decrypt f with key into plain (appended; the caller wipes it). Returns 0, or
 * -1 with err set when authentication fails: the file was changed or damaged.
 */
int sealed_open(const unsigned char key[SEALED_KEY_BYTES], const struct sealed_file *f,
		struct buf *plain, char *err, size_t errsize);

/*
 * Encrypt len bytes of plain under key with a fresh nonce and p's header
 * (its generation included); append the whole sealed document to out.
 */
void sealed_seal(const unsigned char key[SEALED_KEY_BYTES], const struct sealed_params *p,
		 const char *plain, size_t len, struct buf *out);

#endif
