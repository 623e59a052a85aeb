/*
 * The keystore file format (docs/DESIGN.md, "Keystore file"): the version-1 document,
 * the flat form of the original proposal (read only), and the sealed envelope
 * (recognised here, opened by the sealed-keystore code).
 */
#ifndef CCR_KEYSTORE_H
#define CCR_KEYSTORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define KS_VERSION 1
/* Room for "2026-11-28T21:04:05Z". */
#define KS_TIME_MAX 24

/* One key as read from or written to the file. */
struct ks_entry {
	const char *name;
	const char *env;
	const char *value;
	size_t value_len;
	int64_t created; /* seconds since the epoch, 0 when unknown */
	int64_t updated;
	const char *origins; /* the origins the key is bound to (origin.h); NULL or "" for none */
};

/*
 * Called for each key ks_parse finds. Return 0 to go on, or -1 with err set to
 * stop the parse (a duplicate env name, say).
 */
typedef int (*ks_entry_fn)(void *arg, const struct ks_entry *e, char *err, size_t errsize);

enum ks_form {
	KS_FORM_EMPTY,  /* no file yet */
	KS_FORM_V1,     /* {"version":1,"keys":{…}} */
	KS_FORM_FLAT,   /* {"name":"value",…} */
	KS_FORM_SEALED, /* {"version":1,"sealed":{…}} */
};

/*
 * Parse a keystore document and call fn for every key. Values are checked with
 * the protocol's rules, names with the naming rules, and a missing env name is
 * the default one. Returns the form, or -1 with err set; a sealed document is
 * reported as KS_FORM_SEALED without calling fn.
 */
int ks_parse(const char *text, size_t len, ks_entry_fn fn, void *arg, char *err, size_t errsize);

/*
 * ks_parse for the usual document, a version-1 one with only the members this
 * format writes, in one pass over the text without a tree: calls fn for each
 * key as ks_parse would, and returns KS_FORM_V1. It returns -1 for anything
 * else, an error too, without saying why: fn may have been called for some
 * keys then, and the caller starts over with ks_parse, which decides.
 */
int ks_parse_quick(const char *text, size_t len, ks_entry_fn fn, void *arg);

/* Start a version-1 document in b. */
void ks_encode_begin(struct buf *b);

/* Add one key to the document begun with ks_encode_begin; first says whether it is the first. */
void ks_encode_entry(struct buf *b, const struct ks_entry *e, bool first);

/* Finish the document. */
void ks_encode_end(struct buf *b);

/* Format t as "2026-11-28T21:04:05Z" into out (KS_TIME_MAX bytes). */
void ks_time_format(int64_t t, char out[KS_TIME_MAX]);

/* Parse "2026-11-28T21:04:05Z"; returns -1 when s is not of that form. */
int64_t ks_time_parse(const char *s);

#endif
