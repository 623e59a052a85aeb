/*
 * Reading and rewriting the router's config.json without reformatting it. The
 * router parses that file as JSON5 (the json5 package, 2.2.3); this module follows
 * the same grammar, finds each provider's "name" and "api_key", and replaces chosen
 * api_key literals so that every other byte of the file stays as it was written.
 */
#ifndef CCR_JSON5EDIT_H
#define CCR_JSON5EDIT_H

#include <stddef.h>

#include "buf.h"

/* What a provider member holds. */
enum json5edit_kind {
	JSON5EDIT_ABSENT, /* the member is not there */
	JSON5EDIT_STRING, /* a string literal */
	JSON5EDIT_OTHER,  /* any other value: null, a number, an object, ... */
};

/* One member of a provider object: its "name" or its "api_key". */
struct json5edit_field {
	enum json5edit_kind kind;
	size_t start, end; /* byte span of the value as written, a string's quotes included */
	char quote;        /* '"' or '\'' when kind is JSON5EDIT_STRING */
	struct buf value;  /* the decoded UTF-8 string (may hold NULs) when JSON5EDIT_STRING */
};

/* One object element of the providers array, in the order of the text. */
struct json5edit_provider {
	size_t start; /* offset of its '{' */
	struct json5edit_field name;
	struct json5edit_field api_key;
};

/*
 * Parse text (len bytes, need not be NUL-terminated) as the router does and list
 * the object elements of its top-level "Providers" array, or of "providers", which
 * the router reads when there is no "Providers". Members are matched after escapes
 * are decoded; only direct members of a provider count, never those of nested
 * objects, and never text in comments. Elements that are not objects are skipped.
 * A document whose root is not an object, or that has neither key, has no providers.
 *
 * Refused, with "line L, column C: what" in err (never any text of the file):
 * anything the router's parser rejects; bytes that are not UTF-8; both keys, or
 * one of them twice; a value of either key that is not an array; "name" or
 * "api_key" twice in one provider; a "name" or "api_key" string with an unpaired
 * \u surrogate escape. Unquoted keys with non-ASCII characters are accepted without
 * checking their Unicode category, so a few invalid keys pass.
 *
 * Returns 0 with *out (NULL when *count is 0) to be released by json5edit_free,
 * or -1 with *out NULL and *count 0.
 */
int json5edit_providers(const char *text, size_t len, struct json5edit_provider **out,
                        size_t *count, char *err, size_t errsize);

/*
 * Append to out a copy of text in which, for each i with values[i] not NULL, the
 * api_key literal of p[i] is replaced by a literal of the UTF-8 string values[i],
 * written in the same quote style and escaped as needed; every other byte is
 * copied as is. p and count are those json5edit_providers returned for this text.
 * Returns 0, or -1 with out untouched when a chosen api_key is not a string, the
 * spans do not belong to text, or a value is not UTF-8.
 */
int json5edit_replace(const char *text, size_t len, const struct json5edit_provider *p,
                      size_t count, const char *const *values, struct buf *out);

/*
 * Parse text (len bytes) as the router does and describe in *out (overwritten) its top-level
 * member named key (NUL-terminated; matched after escapes are decoded, never in
 * comments or nested objects; when the key appears more than once the last one
 * counts, as in the router). out->kind is JSON5EDIT_ABSENT when there is no such
 * member or the root is not an object; JSON5EDIT_STRING with the decoded string in
 * out->value (an unpaired \u surrogate escape decoded as U+FFFD); or
 * JSON5EDIT_OTHER with, for null, true, false or a number, the token as written
 * in out->value ("false", "0x0", "NaN" ...), and for an object or array an empty
 * out->value (text[out->start] tells which). out->start and out->end span the
 * value as written. Refused like json5edit_providers for anything the router's
 * parser rejects or bytes that are not UTF-8, with the same messages; the checks of
 * the provider list do not apply. Returns 0 with *out to be released by
 * json5edit_field_free, or -1 with out->kind JSON5EDIT_ABSENT and nothing to release.
 */
int json5edit_top_member(const char *text, size_t len, const char *key, struct json5edit_field *out,
                         char *err, size_t errsize);

/* Wipe and release the decoded value of a field; the field is then absent. */
void json5edit_field_free(struct json5edit_field *f);

/* Wipe every decoded value and release the list; p may be NULL. */
void json5edit_free(struct json5edit_provider *p, size_t count);

/*
 * Compute the 1-based line and column (in characters) of byte offset in text, for
 * messages; LF, CRLF and a lone CR each end a line.
 */
void json5edit_position(const char *text, size_t len, size_t offset, unsigned *line,
                        unsigned *column);

#endif
