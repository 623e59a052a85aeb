/*
 * A small strict JSON reader (RFC 8259) for what the client reads: the daemon's
 * replies and keystore files. A document is parsed into one block of memory that
 * holds every value and every decoded string; the block is wiped when freed,
 * since replies and keystores carry keys. It never reads past the length given,
 * never needs a NUL after the text, and refuses anything but one JSON value
 * surrounded by JSON whitespace. Also writes a value back as compact JSON, byte
 * for byte as cJSON_PrintUnformatted would, for the client's --json output.
 */
#ifndef CCR_JSONR_H
#define CCR_JSONR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

/* Arrays and objects nested deeper than this are refused. */
#define JSONR_DEPTH_MAX 64

enum jsonr_type {
	JSONR_NULL,
	JSONR_FALSE,
	JSONR_TRUE,
	JSONR_NUMBER,
	JSONR_STRING,
	JSONR_ARRAY,
	JSONR_OBJECT,
};

/* One value of a parsed document; read it, never change it. */
struct jsonr {
	enum jsonr_type type;
	uint32_t len;    /* STRING: bytes (a \u0000 decodes to a NUL); ARRAY, OBJECT: members */
	const char *key; /* a member of an object: its key, NUL-terminated; else NULL */
	const struct jsonr *next; /* the next element or member of the same parent, or NULL */
	union {
		const char *str;           /* STRING: the decoded UTF-8, NUL-terminated */
		double num;                /* NUMBER */
		const struct jsonr *child; /* ARRAY, OBJECT: the first element or member, or NULL */
	} u;
	uint32_t key_len;
};

/*
 * Parse the len bytes at text as one JSON value. Returns the root value, to be
 * released with jsonr_free, or NULL with err set (when not NULL) to "byte N:
 * what was wrong" — never any of the text, which may hold a key. Strings must
 * be UTF-8 with every escape valid (surrogates in pairs); numbers follow the
 * JSON grammar and are read in the C locale's format whatever the locale.
 */
struct jsonr *jsonr_parse(const char *text, size_t len, char *err, size_t errsize);

/* Wipe and release a document jsonr_parse returned; doc may be NULL. */
void jsonr_free(struct jsonr *doc);

/*
 * For a reader that walks a document of a known shape itself, without a tree:
 * decode the string literal at text[*at] (its opening '"') as jsonr_parse
 * would, NUL-terminated, into out, which has room for len - *at bytes (and
 * may be written up to 7 bytes past the NUL). Returns the decoded length, or
 * -1 when no valid string literal starts there; *at is left where the reading
 * stopped, past the closing quote when it was valid.
 */
long jsonr_read_string(const char *text, size_t len, size_t *at, char *out);

/* The index of the first byte at or after at that is not JSON whitespace (len at the end). */
size_t jsonr_skip_space(const char *text, size_t len, size_t at);

/* The first member of obj named key, or NULL (also when obj is NULL or not an object). */
const struct jsonr *jsonr_get(const struct jsonr *obj, const char *key);

/* The first element or member of an array or object, else NULL. */
const struct jsonr *jsonr_first(const struct jsonr *v);

/* Visit every element of an array or member of an object v (v may be NULL). */
#define jsonr_foreach(e, v) for ((e) = jsonr_first(v); (e) != NULL; (e) = (e)->next)

/* True when v is not NULL and of type t. */
static inline bool
jsonr_is(const struct jsonr *v, enum jsonr_type t)
{
	return v != NULL && v->type == t;
}

/* The string v holds, or NULL when v is not a string. */
static inline const char *
jsonr_str(const struct jsonr *v)
{
	return jsonr_is(v, JSONR_STRING) ? v->u.str : NULL;
}

/* The number v holds, or otherwise when v is not a number. */
static inline double
jsonr_num(const struct jsonr *v, double otherwise)
{
	return jsonr_is(v, JSONR_NUMBER) ? v->u.num : otherwise;
}

/* The number of elements or members of an array or object, else 0. */
static inline size_t
jsonr_count(const struct jsonr *v)
{
	return jsonr_is(v, JSONR_ARRAY) || jsonr_is(v, JSONR_OBJECT) ? v->len : 0;
}

/* Append v as compact JSON, as cJSON_PrintUnformatted writes it. */
void jsonr_print(struct buf *b, const struct jsonr *v);

/* Append len bytes of s as a JSON string literal, escaped as cJSON escapes it (BUF_JSON_CJSON). */
void jsonr_print_str(struct buf *b, const char *s, size_t len);

/* Append the number d as cJSON writes it ("%1.15g", more digits when needed; null for NaN). */
void jsonr_print_num(struct buf *b, double d);

#endif
