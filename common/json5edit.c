/*
 * A JSON5 scanner that follows the router's own parser (json5 2.2.3, lib/parse.js)
 * state for state, so that it accepts what the router accepts and sees the same
 * providers (or the same top-level member), and a rewriter that swaps api_key
 * literals and copies everything else. Nothing is built but the provider list or
 * the one member asked for: the rest of the document is only walked.
 */
#include "json5edit.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hex.h"
#include "utf8.h"

/* Flags kept for each open container. */
enum {
	NEST_OBJECT = 1,    /* an object; otherwise an array */
	NEST_PROVIDERS = 2, /* the top-level providers array */
	NEST_PROVIDER = 4,  /* an object element of that array */
};

/* Where the parser stands, after json5's parse states. */
enum state { ST_VALUE, ST_BEFORE_KEY, ST_BEFORE_ELEMENT, ST_AFTER_VALUE, ST_END };

/* What the next value is to us. */
enum role { ROLE_NONE, ROLE_PROVIDERS, ROLE_NAME, ROLE_API_KEY, ROLE_MEMBER };

struct scan {
	const char *s;
	size_t len, pos;
	char *err;
	size_t errsize;
	unsigned char *nest; /* one NEST_ byte per open container */
	size_t depth, nestcap;
	struct buf key;        /* the last property name that matters, decoded */
	const char *providers; /* the providers key seen so far, or NULL */
	struct json5edit_provider *list;
	size_t count, cap;
	struct json5edit_field *open;  /* a member whose container value is open */
	size_t open_depth;             /* the depth at which that container closes */
	const char *member;            /* json5edit_top_member: the key asked for, else NULL */
	struct json5edit_field *found; /* where that member is described */
};

/* Record "line L, column C: message" for offset at and return -1. */
static int __attribute__((format(printf, 3, 4)))
fail(struct scan *sc, size_t at, const char *fmt, ...)
{
	unsigned line, column;
	va_list ap;
	int n;

	if (sc->err == NULL || sc->errsize == 0)
		return -1;
	json5edit_position(sc->s, sc->len, at, &line, &column);
	n = snprintf(sc->err, sc->errsize, "line %u, column %u: ", line, column);
	if (n < 0 || (size_t)n >= sc->errsize)
		return -1;
	va_start(ap, fmt);
	vsnprintf(sc->err + n, sc->errsize - (size_t)n, fmt, ap);
	va_end(ap);
	return -1;
}

/* Report what was expected at the current position, or that the input ended. */
static int
expected(struct scan *sc, const char *what)
{
	if (sc->pos >= sc->len)
		return fail(sc, sc->pos, "unexpected end of input; expected %s", what);
	return fail(sc, sc->pos, "expected %s", what);
}

/* True for the non-ASCII characters JSON5 skips as white space (Zs, BOM, LS, PS). */
static bool
is_wide_space(uint32_t cp)
{
	return cp == 0xA0 || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 ||
	       cp == 0x2029 || cp == 0x202F || cp == 0x205F || cp == 0x3000 || cp == 0xFEFF;
}

/* True for the ASCII characters that may start (or, with digits, continue) a bare key. */
static bool
is_ident_ascii(uint32_t c, bool first)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '$' || c == '_' ||
	       (!first && c >= '0' && c <= '9');
}

/* True for a character that may appear in a bare key; non-ASCII ones are taken on trust. */
static bool
is_ident_char(uint32_t cp, bool first)
{
	if (cp < 0x80)
		return is_ident_ascii(cp, first);
	if (first && (cp == 0x200C || cp == 0x200D)) /* joiners only continue a name */
		return false;
	return !is_wide_space(cp) && !(cp >= 0xD800 && cp <= 0xDFFF);
}

/* Note an unpaired surrogate: *bad is set and out (may be NULL) gets U+FFFD for it. */
static void
put_lone(struct buf *out, bool *bad)
{
	*bad = true;
	if (out != NULL)
		utf8_add(out, 0xFFFD);
}

/*
 * Append UTF-16 unit u to out (may be NULL), pairing surrogates as JavaScript does;
 * an unpaired one sets *bad and stands as U+FFFD.
 */
static void
put_unit(struct buf *out, uint32_t *high, bool *bad, uint32_t u)
{
	if (*high != 0) {
		if (u >= 0xDC00 && u <= 0xDFFF) {
			u = 0x10000 + ((*high - 0xD800) << 10) + (u - 0xDC00);
			*high = 0;
			if (out != NULL)
				utf8_add(out, u);
			return;
		}
		*high = 0;
		put_lone(out, bad);
	}
	if (u >= 0xD800 && u <= 0xDBFF) {
		*high = u;
		return;
	}
	if (u >= 0xDC00 && u <= 0xDFFF) {
		put_lone(out, bad);
		return;
	}
	if (out != NULL)
		utf8_add(out, u);
}

/* Skip a comment that starts at the current '/'. */
static int
skip_comment(struct scan *sc)
{
	size_t start = sc->pos, n;
	bool block;
	uint32_t cp;

	if (sc->pos + 1 >= sc->len || (sc->s[sc->pos + 1] != '*' && sc->s[sc->pos + 1] != '/'))
		return fail(sc, start, "a '/' that does not start a comment");
	block = sc->s[sc->pos + 1] == '*';
	sc->pos += 2;
	while (sc->pos < sc->len) {
		char c = sc->s[sc->pos];

		if (block && c == '*' && sc->pos + 1 < sc->len && sc->s[sc->pos + 1] == '/') {
			sc->pos += 2;
			return 0;
		}
		if (!block && (c == '\n' || c == '\r'))
			return 0;
		n = utf8_decode(sc->s + sc->pos, sc->len - sc->pos, &cp);
		if (n == 0)
			return fail(sc, sc->pos, "invalid UTF-8");
		if (!block && (cp == 0x2028 || cp == 0x2029))
			return 0;
		sc->pos += n;
	}
	if (block)
		return fail(sc, start, "unterminated comment");
	return 0;
}

/* Skip white space and comments up to the next token or the end. */
static int
skip_space(struct scan *sc)
{
	uint32_t cp;
	size_t n;

	while (sc->pos < sc->len) {
		switch (sc->s[sc->pos]) {
		case '\t':
		case '\v':
		case '\f':
		case ' ':
		case '\n':
		case '\r':
			sc->pos++;
			continue;
		case '/':
			if (skip_comment(sc) < 0)
				return -1;
			continue;
		}
		if ((unsigned char)sc->s[sc->pos] < 0x80)
			return 0;
		n = utf8_decode(sc->s + sc->pos, sc->len - sc->pos, &cp);
		if (n == 0)
			return fail(sc, sc->pos, "invalid UTF-8");
		if (!is_wide_space(cp))
			return 0;
		sc->pos += n;
	}
	return 0;
}

/* Read the escape after a backslash inside a string, sending what it means to out. */
static int
scan_escape(struct scan *sc, struct buf *out, uint32_t *high, bool *bad)
{
	static const char plain[] = "bfnrtv";
	size_t at = sc->pos++, n;
	const char *e;
	uint32_t u;
	char c;

	if (sc->pos >= sc->len)
		return fail(sc, at, "unterminated escape");
	c = sc->s[sc->pos];
	if (c != '\0' && (e = strchr(plain, c)) != NULL) {
		u = (uint32_t) "\b\f\n\r\t\v"[e - plain];
	} else if (c == '0') {
		if (sc->pos + 1 < sc->len && sc->s[sc->pos + 1] >= '0' && sc->s[sc->pos + 1] <= '9')
			return fail(sc, at, "invalid escape (\\0 followed by a digit)");
		u = 0;
	} else if (c == 'x' || c == 'u') {
		n = c == 'x' ? 2 : 4;
		if (!hex_read(sc->s + sc->pos + 1, sc->len - sc->pos - 1, n, &u))
			return fail(sc, at, "invalid \\%c escape", c);
		sc->pos += n;
	} else if (c == '\n' || c == '\r') {
		/* A line continuation stands for nothing. */
		if (c == '\r' && sc->pos + 1 < sc->len && sc->s[sc->pos + 1] == '\n')
			sc->pos++;
		sc->pos++;
		return 0;
	} else if (c >= '1' && c <= '9') {
		return fail(sc, at, "invalid escape (\\ followed by a digit)");
	} else {
		n = utf8_decode(sc->s + sc->pos, sc->len - sc->pos, &u);
		if (n == 0)
			return fail(sc, sc->pos, "invalid UTF-8");
		sc->pos += n;
		if (u != 0x2028 && u != 0x2029) /* else a line continuation */
			put_unit(out, high, bad, u);
		return 0;
	}
	sc->pos++;
	put_unit(out, high, bad, u);
	return 0;
}

/*
 * Read the string literal at the current quote, decoding it into out when out is
 * not NULL; *bad is set when it holds an unpaired surrogate escape.
 */
static int
scan_string(struct scan *sc, struct buf *out, bool *bad)
{
	size_t start = sc->pos, n;
	char quote = sc->s[sc->pos++];
	uint32_t high = 0, cp;

	*bad = false;
	if (out != NULL)
		buf_add(out, "", 0); /* a decoded empty string is "", not NULL */
	for (;;) {
		char c;

		if (sc->pos >= sc->len)
			return fail(sc, start, "unterminated string");
		c = sc->s[sc->pos];
		if (c == quote)
			break;
		if (c == '\n' || c == '\r')
			return fail(sc, sc->pos, "line break inside a string (write it as \\n)");
		if (c == '\\') {
			if (scan_escape(sc, out, &high, bad) < 0)
				return -1;
			continue;
		}
		n = utf8_decode(sc->s + sc->pos, sc->len - sc->pos, &cp);
		if (n == 0)
			return fail(sc, sc->pos, "invalid UTF-8");
		put_unit(out, &high, bad, cp);
		sc->pos += n;
	}
	sc->pos++;
	if (high != 0)
		put_lone(out, bad);
	return 0;
}

/* Read the unquoted property name at the current position, decoding it into out. */
static int
scan_ident(struct scan *sc, struct buf *out)
{
	bool first = true, bad = false;
	uint32_t high = 0, cp;
	size_t n;

	if (out != NULL)
		buf_add(out, "", 0);
	while (sc->pos < sc->len) {
		if (sc->s[sc->pos] == '\\') {
			if (sc->pos + 1 >= sc->len || sc->s[sc->pos + 1] != 'u' ||
			    !hex_read(sc->s + sc->pos + 2, sc->len - sc->pos - 2, 4, &cp))
				return fail(sc, sc->pos, "invalid escape in a property name");
			if (!is_ident_char(cp, first))
				return fail(sc, sc->pos, "invalid character in a property name");
			n = 6;
		} else {
			n = utf8_decode(sc->s + sc->pos, sc->len - sc->pos, &cp);
			if (n == 0)
				return fail(sc, sc->pos, "invalid UTF-8");
			if (!is_ident_char(cp, first))
				break;
		}
		put_unit(out, &high, &bad, cp);
		sc->pos += n;
		first = false;
	}
	if (first)
		return expected(sc, "a property name or '}'");
	return 0;
}

/* Match the word w at the current position. */
static int
scan_word(struct scan *sc, const char *w)
{
	size_t n = strlen(w);

	if (sc->len - sc->pos < n || memcmp(sc->s + sc->pos, w, n) != 0)
		return fail(sc, sc->pos, "invalid value; expected %s", w);
	sc->pos += n;
	return 0;
}

/* Advance over the decimal digits at the current position; return how many. */
static size_t
skip_digits(struct scan *sc)
{
	size_t start = sc->pos;

	while (sc->pos < sc->len && sc->s[sc->pos] >= '0' && sc->s[sc->pos] <= '9')
		sc->pos++;
	return sc->pos - start;
}

/* Read a number: sign, Infinity, NaN, hexadecimal, or decimal with optional parts. */
static int
scan_number(struct scan *sc)
{
	size_t start = sc->pos;
	uint32_t u;
	char c;

	if (sc->s[sc->pos] == '+' || sc->s[sc->pos] == '-')
		sc->pos++;
	c = sc->pos < sc->len ? sc->s[sc->pos] : '\0';
	if (c == 'I')
		return scan_word(sc, "Infinity");
	if (c == 'N')
		return scan_word(sc, "NaN");
	if (c == '0' && sc->pos + 1 < sc->len &&
	    (sc->s[sc->pos + 1] == 'x' || sc->s[sc->pos + 1] == 'X')) {
		sc->pos += 2;
		if (!hex_read(sc->s + sc->pos, sc->len - sc->pos, 1, &u))
			return fail(sc, start, "invalid number");
		while (hex_read(sc->s + sc->pos, sc->len - sc->pos, 1, &u))
			sc->pos++;
		return 0;
	}
	if (c == '0')
		sc->pos++; /* a leading zero stands alone */
	else if (c != '.' && skip_digits(sc) == 0)
		return fail(sc, start, "invalid number");
	if (sc->pos < sc->len && sc->s[sc->pos] == '.') {
		sc->pos++;
		if (skip_digits(sc) == 0 && c == '.')
			return fail(sc, start, "invalid number");
	}
	if (sc->pos < sc->len && (sc->s[sc->pos] == 'e' || sc->s[sc->pos] == 'E')) {
		sc->pos++;
		if (sc->pos < sc->len && (sc->s[sc->pos] == '+' || sc->s[sc->pos] == '-'))
			sc->pos++;
		if (skip_digits(sc) == 0)
			return fail(sc, start, "invalid number");
	}
	return 0;
}

/* Open a container with the given NEST_ flags. */
static void
push(struct scan *sc, unsigned char flags)
{
	if (sc->depth == sc->nestcap) {
		size_t cap = sc->nestcap ? sc->nestcap * 2 : 32;
		unsigned char *p = realloc(sc->nest, cap);

		if (p == NULL) {
			fputs("out of memory\n", stderr);
			abort();
		}
		sc->nest = p;
		sc->nestcap = cap;
	}
	sc->nest[sc->depth++] = flags;
}

/* The flags of the innermost open container, 0 at the root. */
static unsigned char
top(const struct scan *sc)
{
	return sc->depth ? sc->nest[sc->depth - 1] : 0;
}

/* Close the innermost container, ending the span of the member it was the value of. */
static void
pop(struct scan *sc)
{
	sc->depth--;
	if (sc->open != NULL && sc->depth == sc->open_depth) {
		sc->open->end = sc->pos;
		sc->open = NULL;
	}
}

/* Start a new provider for the '{' at the current position. */
static void
add_provider(struct scan *sc)
{
	struct json5edit_provider *p;

	if (sc->count == sc->cap) {
		size_t cap = sc->cap ? sc->cap * 2 : 8;

		/* The entries hold pointers to values, not the values: realloc is safe. */
		p = realloc(sc->list, cap * sizeof *p);
		if (p == NULL) {
			fputs("out of memory\n", stderr);
			abort();
		}
		sc->list = p;
		sc->cap = cap;
	}
	p = &sc->list[sc->count++];
	memset(p, 0, sizeof *p);
	p->start = sc->pos;
}

/* Decide what the value after the property name in sc->key (at offset at) is to us. */
static int
key_role(struct scan *sc, size_t at, enum role *role)
{
	const struct buf *k = &sc->key;
	struct json5edit_provider *p;
	const char *which;

	*role = ROLE_NONE;
	if (sc->depth == 1 && sc->member != NULL) {
		if (k->len == strlen(sc->member) && memcmp(k->data, sc->member, k->len) == 0)
			*role = ROLE_MEMBER;
		return 0;
	}
	if (sc->depth == 1) {
		if (k->len == 9 && memcmp(k->data, "Providers", 9) == 0)
			which = "Providers";
		else if (k->len == 9 && memcmp(k->data, "providers", 9) == 0)
			which = "providers";
		else
			return 0;
		if (sc->providers != NULL && strcmp(sc->providers, which) == 0)
			return fail(sc, at, "\"%s\" appears twice; the router reads only the last",
			            which);
		if (sc->providers != NULL)
			return fail(sc, at,
			            "both \"Providers\" and \"providers\" are present; the router "
			            "reads only \"Providers\"");
		sc->providers = which;
		*role = ROLE_PROVIDERS;
	} else if (top(sc) & NEST_PROVIDER) {
		p = &sc->list[sc->count - 1];
		if (k->len == 4 && memcmp(k->data, "name", 4) == 0)
			*role = ROLE_NAME;
		else if (k->len == 7 && memcmp(k->data, "api_key", 7) == 0)
			*role = ROLE_API_KEY;
		else
			return 0;
		if ((*role == ROLE_NAME ? p->name.kind : p->api_key.kind) != JSON5EDIT_ABSENT)
			return fail(sc, at, "\"%s\" appears twice in one provider",
			            *role == ROLE_NAME ? "name" : "api_key");
	}
	return 0;
}

/* Read the property name at the current position and the ':' after it. */
static int
scan_key(struct scan *sc, enum role *role)
{
	bool want = sc->depth == 1 || (top(sc) & NEST_PROVIDER), bad = false;
	size_t at = sc->pos;
	int rc;

	buf_clear(&sc->key);
	if (sc->s[sc->pos] == '"' || sc->s[sc->pos] == '\'')
		rc = scan_string(sc, want ? &sc->key : NULL, &bad);
	else
		rc = scan_ident(sc, want ? &sc->key : NULL);
	if (rc < 0)
		return -1;
	*role = ROLE_NONE;
	/* An unpaired surrogate was dropped from sc->key: the name matches nothing. */
	if (want && !bad && key_role(sc, at, role) < 0)
		return -1;
	if (skip_space(sc) < 0)
		return -1;
	if (sc->pos >= sc->len || sc->s[sc->pos] != ':')
		return expected(sc, "':' after a property name");
	sc->pos++;
	return 0;
}

/* Read the value at the current position; containers are opened, not read. */
static int
scan_value(struct scan *sc, enum role role, enum state *next)
{
	struct json5edit_field *f = NULL;
	char c = sc->s[sc->pos];
	bool bad;

	if (role == ROLE_PROVIDERS && c != '[')
		return fail(sc, sc->pos, "the value of \"%s\" must be an array", sc->providers);
	if (role == ROLE_NAME || role == ROLE_API_KEY) {
		f = role == ROLE_NAME ? &sc->list[sc->count - 1].name
		                      : &sc->list[sc->count - 1].api_key;
	} else if (role == ROLE_MEMBER) {
		f = sc->found; /* a later duplicate replaces it, as in the router */
		buf_free(&f->value);
		memset(f, 0, sizeof *f);
	}
	if (f != NULL) {
		f->kind = JSON5EDIT_OTHER;
		f->start = sc->pos;
	}
	*next = ST_AFTER_VALUE;
	switch (c) {
	case '{':
		if (top(sc) & NEST_PROVIDERS)
			add_provider(sc);
		sc->pos++;
		push(sc, NEST_OBJECT | ((top(sc) & NEST_PROVIDERS) ? NEST_PROVIDER : 0));
		if (f != NULL) {
			sc->open = f;
			sc->open_depth = sc->depth - 1;
		}
		*next = ST_BEFORE_KEY;
		return 0;
	case '[':
		sc->pos++;
		push(sc, role == ROLE_PROVIDERS ? NEST_PROVIDERS : 0);
		if (f != NULL) {
			sc->open = f;
			sc->open_depth = sc->depth - 1;
		}
		*next = ST_BEFORE_ELEMENT;
		return 0;
	case '"':
	case '\'':
		if (scan_string(sc, f ? &f->value : NULL, &bad) < 0)
			return -1;
		if (f != NULL && bad && role != ROLE_MEMBER)
			return fail(sc, f->start, "the \"%s\" string has an unpaired \\u surrogate",
			            role == ROLE_NAME ? "name" : "api_key");
		if (f != NULL) {
			f->kind = JSON5EDIT_STRING;
			f->quote = c;
		}
		break;
	case 'n':
		if (scan_word(sc, "null") < 0)
			return -1;
		break;
	case 't':
		if (scan_word(sc, "true") < 0)
			return -1;
		break;
	case 'f':
		if (scan_word(sc, "false") < 0)
			return -1;
		break;
	default:
		if (strchr("+-.IN0123456789", c) == NULL || c == '\0')
			return expected(sc, "a value");
		if (scan_number(sc) < 0)
			return -1;
	}
	if (f != NULL)
		f->end = sc->pos;
	if (f != NULL && role == ROLE_MEMBER && f->kind == JSON5EDIT_OTHER)
		buf_add(&f->value, sc->s + f->start, f->end - f->start); /* the token as written */
	return 0;
}

/* Read what follows a value in an object or array: ',' or the closing bracket. */
static int
scan_after_value(struct scan *sc, enum state *next)
{
	bool object = top(sc) & NEST_OBJECT;
	char close = object ? '}' : ']';

	if (sc->pos < sc->len && sc->s[sc->pos] == ',') {
		sc->pos++;
		*next = object ? ST_BEFORE_KEY : ST_BEFORE_ELEMENT;
		return 0;
	}
	if (sc->pos < sc->len && sc->s[sc->pos] == close) {
		sc->pos++;
		pop(sc);
		*next = ST_AFTER_VALUE;
		return 0;
	}
	return expected(sc, object ? "',' or '}'" : "',' or ']'");
}

/* Walk the whole document, filling sc->list. */
static int
scan_document(struct scan *sc)
{
	enum state st = ST_VALUE;
	enum role role = ROLE_NONE;

	if (skip_space(sc) < 0)
		return -1;
	if (sc->pos >= sc->len)
		return fail(sc, sc->pos, "empty document");
	for (;;) {
		if (st == ST_AFTER_VALUE && sc->depth == 0)
			st = ST_END;
		if (skip_space(sc) < 0)
			return -1;
		switch (st) {
		case ST_VALUE:
			if (sc->pos >= sc->len)
				return expected(sc, "a value");
			if (scan_value(sc, role, &st) < 0)
				return -1;
			role = ROLE_NONE;
			break;
		case ST_BEFORE_KEY:
			if (sc->pos < sc->len && sc->s[sc->pos] == '}') {
				sc->pos++;
				pop(sc);
				st = ST_AFTER_VALUE;
			} else if (sc->pos >= sc->len) {
				return expected(sc, "a property name or '}'");
			} else {
				if (scan_key(sc, &role) < 0)
					return -1;
				st = ST_VALUE;
			}
			break;
		case ST_BEFORE_ELEMENT:
			if (sc->pos < sc->len && sc->s[sc->pos] == ']') {
				sc->pos++;
				pop(sc);
				st = ST_AFTER_VALUE;
			} else {
				st = ST_VALUE;
			}
			break;
		case ST_AFTER_VALUE:
			if (scan_after_value(sc, &st) < 0)
				return -1;
			break;
		case ST_END:
			if (sc->pos < sc->len)
				return fail(sc, sc->pos,
				            "unexpected text after the end of the document");
			return 0;
		}
	}
}

int
json5edit_providers(const char *text, size_t len, struct json5edit_provider **out, size_t *count,
                    char *err, size_t errsize)
{
	struct scan sc = {.s = text, .len = len, .err = err, .errsize = errsize};
	int rc;

	if (err != NULL && errsize > 0)
		err[0] = '\0';
	rc = scan_document(&sc);
	free(sc.nest);
	buf_free(&sc.key);
	if (rc < 0) {
		json5edit_free(sc.list, sc.count);
		*out = NULL;
		*count = 0;
		return -1;
	}
	if (sc.count == 0) {
		free(sc.list);
		sc.list = NULL;
	}
	*out = sc.list;
	*count = sc.count;
	return 0;
}

int
json5edit_top_member(const char *text, size_t len, const char *key, struct json5edit_field *out,
                     char *err, size_t errsize)
{
	struct scan sc = {
	    .s = text, .len = len, .err = err, .errsize = errsize, .member = key, .found = out};
	int rc;

	if (err != NULL && errsize > 0)
		err[0] = '\0';
	memset(out, 0, sizeof *out);
	rc = scan_document(&sc);
	free(sc.nest);
	buf_free(&sc.key);
	if (rc < 0) {
		buf_free(&out->value);
		memset(out, 0, sizeof *out);
		return -1;
	}
	return 0;
}

/*
 * Append value as a JSON5 string literal between quote characters. Not the JSON
 * writer (buf_add_json_as): this literal goes back into the router's own file
 * between the quote it had there (' or "), with an escape set of its own: that
 * quote, \\, \n and \r, every other control as \u00XX, and U+2028 and U+2029,
 * which JavaScript before ES2019 reads as line ends.
 */
static void
add_literal(struct buf *b, const char *value, char quote)
{
	static const char hex[] = "0123456789abcdef";
	size_t i, len = strlen(value);
	uint32_t cp;

	buf_addc(b, quote);
	for (i = 0; i < len;) {
		unsigned char c = (unsigned char)value[i];
		size_t n = utf8_decode(value + i, len - i, &cp);

		if (c == '\\' || c == (unsigned char)quote) {
			buf_addc(b, '\\');
			buf_addc(b, (char)c);
		} else if (c == '\n') {
			buf_add(b, "\\n", 2);
		} else if (c == '\r') {
			buf_add(b, "\\r", 2);
		} else if (c < 0x20) {
			char esc[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};

			buf_add(b, esc, sizeof esc);
		} else if (cp == 0x2028 || cp == 0x2029) {
			buf_adds(b, cp == 0x2028 ? "\\u2028" : "\\u2029");
		} else {
			buf_add(b, value + i, n);
		}
		i += n;
	}
	buf_addc(b, quote);
}

int
json5edit_replace(const char *text, size_t len, const struct json5edit_provider *p, size_t count,
                  const char *const *values, struct buf *out)
{
	size_t i, at = 0;

	for (i = 0; i < count; i++) {
		const struct json5edit_field *f = &p[i].api_key;

		if (values[i] == NULL)
			continue;
		if (f->kind != JSON5EDIT_STRING || f->start < at || f->end > len ||
		    f->end < f->start + 2 || text[f->start] != f->quote ||
		    text[f->end - 1] != f->quote || !utf8_valid(values[i], strlen(values[i])))
			return -1;
		at = f->end;
	}
	at = 0;
	for (i = 0; i < count; i++) {
		const struct json5edit_field *f = &p[i].api_key;

		if (values[i] == NULL)
			continue;
		buf_add(out, text + at, f->start - at);
		add_literal(out, values[i], f->quote);
		at = f->end;
	}
	buf_add(out, text + at, len - at);
	return 0;
}

void
json5edit_field_free(struct json5edit_field *f)
{
	buf_free(&f->value);
	memset(f, 0, sizeof *f);
}

void
json5edit_free(struct json5edit_provider *p, size_t count)
{
	size_t i;

	if (p == NULL)
		return;
	for (i = 0; i < count; i++) {
		buf_free(&p[i].name.value);
		buf_free(&p[i].api_key.value);
	}
	wipe(p, count * sizeof *p);
	free(p);
}

void
json5edit_position(const char *text, size_t len, size_t offset, unsigned *line, unsigned *column)
{
	size_t i;

	*line = 1;
	*column = 1;
	for (i = 0; i < offset && i < len; i++) {
		unsigned char c = (unsigned char)text[i];

		if (c == '\n' || (c == '\r' && (i + 1 >= len || text[i + 1] != '\n'))) {
			++*line;
			*column = 1;
		} else if (c != '\r' && (c & 0xC0) != 0x80) {
			++*column;
		}
	}
}
