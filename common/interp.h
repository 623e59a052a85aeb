/*
 * The router's config interpolation: `$NAME` and `${NAME}` in string values are
 * replaced from the environment exactly as claude-code-router does it, and a
 * scanner lists every name a config file's text may reference (docs/DESIGN.md,
 * "Names and environment names").
 */
#ifndef CCR_INTERP_H
#define CCR_INTERP_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"

/*
 * Look up a referenced name. name is NUL-terminated. Return the value and store
 * its length in *len, or return NULL when the name is not set. A value of length
 * zero counts as not set, as it does in the router. The value must stay valid
 * until the next call.
 */
typedef const char *(*interp_lookup_fn)(void *arg, const char *name, size_t *len);

/*
 * Append to out the string in (len bytes) with every reference substituted the
 * way the router does: regex \$\{([^}]+)\}|\$([A-Z_][A-Z0-9_]*), leftmost match
 * first, braced form preferred, one pass (substituted values are not scanned
 * again). A reference whose lookup returns NULL or an empty value is kept as
 * written, as is a braced name containing a NUL byte (no environment can hold
 * it). fn may be NULL, meaning nothing is set. out is appended to, not cleared.
 */
void interp_expand(const char *in, size_t len, interp_lookup_fn fn, void *arg, struct buf *out);

/*
 * Receive one referenced name: len bytes at name, not NUL-terminated, valid only
 * during the call.
 */
typedef void (*interp_ref_fn)(void *arg, const char *name, size_t len);

/*
 * Call fn for every name that a config file's text (JSON5, len bytes) may
 * reference once the router has parsed it. The text is scanned as written and,
 * when it holds a backslash, again with JSON5 string escapes decoded (\uXXXX,
 * \xHH, \$, line continuations …), so "\u0024FOO" reports FOO. Every `$` is
 * tried as the start of a reference, even one inside an earlier match, so
 * nothing the router would substitute is missed; names in comments, in keys and
 * inside other references are over-included. A name may be reported more than
 * once and need not be a valid environment name: the caller filters and
 * de-duplicates.
 */
void interp_scan(const char *text, size_t len, interp_ref_fn fn, void *arg);

/*
 * True when s (len bytes) holds at least one reference by the router's rule,
 * resolved or not: tells a literal value from one the router would substitute.
 */
bool interp_has_refs(const char *s, size_t len);

#endif
