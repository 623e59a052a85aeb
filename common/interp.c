/*
 * Interpolation of `$NAME` / `${NAME}` by claude-code-router's own rule, and the
 * scanner that finds every name a config file may reference.
 *
 * The rule, read from @musistudio/claude-code-router 1.0.73, package/dist/cli.js,
 * module "src/utils/index.ts", function interpolateEnvVars:
 *
 * - A string value goes through String.prototype.replace with the global regex
 *   /\$\{([^}]+)\}|\$([A-Z_][A-Z0-9_]*)/g and a replacer function; the name is
 *   the braced group, else the bare one. Leftmost match first, the braced form
 *   tried first at each position, matching resumes after the previous match.
 * - The replacement is `process.env[name] || match`: an unset variable and an
 *   empty one alike keep the matched text as written (`||`, not `??`). A
 *   replacer function's result is inserted literally and the replace is one
 *   pass, so a value that itself holds `$X` is not expanded again.
 * - It recurses into arrays (map) and plain objects (Object.entries). Only
 *   string values are rewritten; object keys are copied unchanged; numbers,
 *   booleans and null pass through.
 * - It is applied by readConfigFile right after JSON5.parse (json5 2.2.3) of
 *   ~/.claude-code-router/config.json read as UTF-8, so it sees decoded string
 *   values. readConfigFile runs on every config load: `ccr start` (initConfig,
 *   which then also copies the config's top-level entries into process.env),
 *   `ccr code`, `ccr status`, and GET /api/config, which serves the
 *   interpolated config.
 * - The lookup is a plain property read on process.env, so names inherited from
 *   Object.prototype (`${__proto__}`, `${constructor}`, `${toString}`) become
 *   "[object Object]" or function source text. Not reproduced here: the lookup
 *   function decides, and an environment-backed one returns NULL for them.
 * - JSON5 string escapes the parser decodes first: \b \f \n \r \t \v \0, \xHH,
 *   \uXXXX (one UTF-16 unit each), a backslash before LF, CR, CRLF, U+2028 or
 *   U+2029 disappears, any other escaped character stands for itself. Keys may
 *   also be unquoted identifiers, and comments are allowed.
 */
#include "interp.h"

#include <stdint.h>
#include <string.h>

#include "hex.h"
#include "utf8.h"

/* One reference candidate that starts at a '$'. */
struct ref {
	size_t name;     /* offset of the name */
	size_t name_len; /* its length */
	size_t end;      /* offset just past the reference */
};

/* True when c may start a bare name: [A-Z_]. */
static bool
is_name_start(char c)
{
	return (c >= 'A' && c <= 'Z') || c == '_';
}

/* True when c may continue a bare name: [A-Z0-9_]. */
static bool
is_name_char(char c)
{
	return is_name_start(c) || (c >= '0' && c <= '9');
}

/*
 * Offset of the first '}' at or after from, or len when there is none. *next
 * caches the last answer (start it at 0); from must not decrease between calls
 * and is at least 1, which keeps the search linear over a whole string.
 */
static size_t
find_close(const char *s, size_t len, size_t from, size_t *next)
{
	const char *p;

	if (*next >= from)
		return *next;
	p = memchr(s + from, '}', len - from);
	*next = p != NULL ? (size_t)(p - s) : len;
	return *next;
}

/* Match the braced form \$\{([^}]+)\} at s[i] == '$'. */
static bool
braced_at(const char *s, size_t len, size_t i, size_t *close, struct ref *r)
{
	size_t j;

	if (i + 3 >= len || s[i + 1] != '{')
		return false;
	j = find_close(s, len, i + 2, close);
	if (j == len || j == i + 2)
		return false;
	r->name = i + 2;
	r->name_len = j - (i + 2);
	r->end = j + 1;
	return true;
}

/* Match the bare form \$([A-Z_][A-Z0-9_]*) at s[i] == '$'. */
static bool
bare_at(const char *s, size_t len, size_t i, struct ref *r)
{
	size_t j = i + 1;

	if (j >= len || !is_name_start(s[j]))
		return false;
	while (j < len && is_name_char(s[j]))
		j++;
	r->name = i + 1;
	r->name_len = j - (i + 1);
	r->end = j;
	return true;
}

/* Match the router's regex at s[i] == '$': the braced form if it fits, else the bare one. */
static bool
ref_at(const char *s, size_t len, size_t i, size_t *close, struct ref *r)
{
	return braced_at(s, len, i, close, r) || bare_at(s, len, i, r);
}

/* Ask fn for name (len bytes) through a NUL-terminated copy; NULL when it cannot be set. */
static const char *
lookup(interp_lookup_fn fn, void *arg, const char *name, size_t len, size_t *vlen)
{
	char small[256];
	struct buf big = {0};
	const char *copy, *v;

	if (fn == NULL || memchr(name, '\0', len) != NULL)
		return NULL;
	if (len < sizeof small) {
		memcpy(small, name, len);
		small[len] = '\0';
		copy = small;
	} else {
		buf_add(&big, name, len);
		copy = big.data;
	}
	*vlen = 0;
	v = fn(arg, copy, vlen);
	buf_free(&big);
	return v;
}

void
interp_expand(const char *in, size_t len, interp_lookup_fn fn, void *arg, struct buf *out)
{
	size_t i = 0, run = 0, close = 0, vlen;
	const char *d, *v;
	struct ref r;

	buf_reserve(out, len);
	while (i < len && (d = memchr(in + i, '$', len - i)) != NULL) {
		i = (size_t)(d - in);
		if (!ref_at(in, len, i, &close, &r)) {
			i++;
			continue;
		}
		v = lookup(fn, arg, in + r.name, r.name_len, &vlen);
		if (v != NULL && vlen > 0) {
			buf_add(out, in + run, i - run);
			buf_add(out, v, vlen);
			run = r.end;
		}
		i = r.end;
	}
	/* The tail, even when empty, so that out is NUL-terminated. */
	buf_add(out, len > run ? in + run : "", len - run);
}

bool
interp_has_refs(const char *s, size_t len)
{
	size_t i = 0, close = 0;
	const char *d;
	struct ref r;

	while (i + 1 < len && (d = memchr(s + i, '$', len - i - 1)) != NULL) {
		i = (size_t)(d - s);
		if (ref_at(s, len, i, &close, &r))
			return true;
		i++;
	}
	return false;
}

/*
 * Report the reference that could start at every '$' in s, even one inside an
 * earlier match, so that no match the router could make is missed.
 */
static void
scan_candidates(const char *s, size_t len, interp_ref_fn fn, void *arg)
{
	size_t i = 0, close = 0;
	const char *d;
	struct ref r;

	while (i + 1 < len && (d = memchr(s + i, '$', len - i - 1)) != NULL) {
		i = (size_t)(d - s);
		if (braced_at(s, len, i, &close, &r))
			fn(arg, s + r.name, r.name_len);
		if (bare_at(s, len, i, &r))
			fn(arg, s + r.name, r.name_len);
		i++;
	}
}

/* The character a one-letter JSON5 escape such as \n stands for; false when c is not one. */
static bool
simple_escape(char c, char *out)
{
	switch (c) {
	case 'b':
		*out = '\b';
		return true;
	case 'f':
		*out = '\f';
		return true;
	case 'n':
		*out = '\n';
		return true;
	case 'r':
		*out = '\r';
		return true;
	case 't':
		*out = '\t';
		return true;
	case 'v':
		*out = '\v';
		return true;
	case '0':
		*out = '\0';
		return true;
	default:
		return false;
	}
}

/*
 * Append s to out with every JSON5 string escape decoded wherever it stands.
 * Inside a valid string literal this yields exactly the parsed value, because
 * no escape outside a literal can reach past its own comment or identifier into
 * one; outside literals it only adds candidates. A malformed escape drops the
 * backslash.
 */
static void
decode_escapes(const char *s, size_t len, struct buf *out)
{
	size_t i = 0, run = 0;
	const char *d;
	uint32_t v;
	char c;

	while (i < len && (d = memchr(s + i, '\\', len - i)) != NULL) {
		i = (size_t)(d - s);
		buf_add(out, s + run, i - run);
		if (++i == len) {
			run = len;
			break;
		}
		if (simple_escape(s[i], &c)) {
			buf_addc(out, c);
			i++;
		} else if (s[i] == 'x' && hex_read(s + i + 1, len - i - 1, 2, &v)) {
			utf8_add(out, v);
			i += 3;
		} else if (s[i] == 'u' && hex_read(s + i + 1, len - i - 1, 4, &v)) {
			utf8_add(out, v); /* a lone surrogate keeps its 3-byte form */
			i += 5;
		} else if (s[i] == '\n') {
			i++;
		} else if (s[i] == '\r') {
			i += i + 1 < len && s[i + 1] == '\n' ? 2 : 1;
		} else if (len - i >= 3 && memcmp(s + i, "\xe2\x80", 2) == 0 &&
		           (s[i + 2] == '\xa8' || s[i + 2] == '\xa9')) {
			i += 3; /* U+2028, U+2029 */
		} else {
			/* Any other escaped byte stands for itself, even a backslash. */
			run = i++;
			continue;
		}
		run = i;
	}
	buf_add(out, len > run ? s + run : "", len - run);
}

void
interp_scan(const char *text, size_t len, interp_ref_fn fn, void *arg)
{
	struct buf decoded = {0};

	if (len == 0)
		return;
	scan_candidates(text, len, fn, arg);
	if (memchr(text, '\\', len) == NULL)
		return;
	/* The text may hold literal keys: the decoded copy is wiped with the buffer. */
	decode_escapes(text, len, &decoded);
	scan_candidates(decoded.data, decoded.len, fn, arg);
	buf_free(&decoded);
}
