/*
 * The strict JSON reader and the compact writer of jsonr.h. A parse makes one
 * allocation, sized before parsing from bounds the text itself gives: at most
 * one value per ',', '[' or '{' plus the root, and decoded strings never longer
 * than the text they come from (quotes and escapes only shrink). So the values
 * can point at each other and into the strings without ever moving, and
 * jsonr_free has one block to wipe (the part of it the parse wrote).
 */
#include "jsonr.h"

#include <float.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hex.h"
#include "utf8.h"

/*
 * The allocation behind a document: the values (the root first), then the
 * strings. Only what the parse wrote is wiped when it is freed: the bounds
 * above are loose, and a large block's untouched pages cost nothing until
 * something writes them.
 */
struct block {
	size_t cap;     /* room for values */
	size_t n;       /* values written */
	size_t written; /* bytes of the strings area written */
	struct jsonr nodes[];
};

/* One parse in progress. */
struct parser {
	const unsigned char *s;
	size_t len, at;
	struct jsonr *nodes;
	size_t n, cap;
	char *arena; /* decoded strings, each NUL-terminated */
	size_t used;
	size_t scratch;  /* where the copy of a number to read ended in the arena, the farthest */
	const char *why; /* what was wrong, at byte at */
};

/* Note why the parse failed, at the current byte; returns false for the caller to return. */
static bool
fail(struct parser *p, const char *why)
{
	p->why = why;
	return false;
}

/* The byte at the current position, or -1 at the end of the text. */
static int
peek(const struct parser *p)
{
	return p->at < p->len ? p->s[p->at] : -1;
}

#define ONES 0x0101010101010101ull
#define HIGHS 0x8080808080808080ull

/* The high bit of each byte of w that equals c, and no other bit. */
static uint64_t
bytes_equal(uint64_t w, unsigned char c)
{
	uint64_t x = w ^ (ONES * c);

	return ~(((x & ~HIGHS) + ~HIGHS) | x) & HIGHS;
}

/*
 * Nonzero when one of the 8 bytes of w ends a plain run: below 0x20, '"', '\\'
 * or non-ASCII. The high bit of the first such byte in memory order is set
 * exactly (a borrow only ever flags a byte after a flagged one).
 */
static uint64_t
special_bytes(uint64_t w)
{
	uint64_t q = w ^ (ONES * '"'), bs = w ^ (ONES * '\\');

	return ((((w - ONES * 0x20) & ~w) | ((q - ONES) & ~q) | ((bs - ONES) & ~bs)) | w) & HIGHS;
}

/* Step over JSON whitespace: space, tab, LF, CR and nothing else. */
static void
skip_space(struct parser *p)
{
	while (p->at < p->len) {
		unsigned char c = p->s[p->at];

		if (c > ' ' || (c != ' ' && c != '\t' && c != '\n' && c != '\r'))
			break;
		p->at++;
	}
}

/* A fresh value, zeroed; NULL only if the bound were wrong (it cannot be). */
static struct jsonr *
new_node(struct parser *p)
{
	struct jsonr *v;

	if (p->n == p->cap)
		return NULL;
	v = &p->nodes[p->n++];
	memset(v, 0, sizeof *v);
	return v;
}

/* Read 4 hex digits at s[at..] into *out; false when there are not 4. */
static bool
hex4(const struct parser *p, size_t at, uint32_t *out)
{
	return at <= p->len && hex_read((const char *)p->s + at, p->len - at, 4, out);
}

/* Decode the \u escape at the current byte (one code point, or a surrogate pair) to o. */
static bool
unicode_escape(struct parser *p, char **o)
{
	uint32_t cp, lo;

	if (!hex4(p, p->at + 2, &cp))
		return fail(p, "invalid \\u escape");
	if (cp >= 0xdc00 && cp <= 0xdfff)
		return fail(p, "unpaired surrogate in a \\u escape");
	if (cp >= 0xd800 && cp <= 0xdbff) {
		if (p->len - p->at < 12 || p->s[p->at + 6] != '\\' || p->s[p->at + 7] != 'u' ||
		    !hex4(p, p->at + 8, &lo) || lo < 0xdc00 || lo > 0xdfff)
			return fail(p, "unpaired surrogate in a \\u escape");
		cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
		p->at += 6;
	}
	*o += utf8_encode(*o, cp);
	p->at += 6;
	return true;
}

/* Decode the string literal at the current '"' into the arena. */
static bool
parse_string(struct parser *p, const char **out, uint32_t *outlen)
{
	char *start = p->arena + p->used, *o = start;
	size_t n;

	p->at++;
	for (;;) {
		unsigned char c;

		/*
		 * A run of plain ASCII, the usual string, 8 bytes at a time, up to the
		 * first byte that is not plain, and then byte by byte. The arena has
		 * room for all 8 even past the run: decoding never outgrows the text.
		 */
		while (p->len - p->at >= 8) {
			uint64_t w, m;

			memcpy(&w, p->s + p->at, 8);
			memcpy(o, &w, 8);
			m = special_bytes(w);
			if (m != 0) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
				size_t plain = (size_t)__builtin_ctzll(m) / 8;

				o += plain;
				p->at += plain;
#endif
				break;
			}
			o += 8;
			p->at += 8;
		}
		while (p->at < p->len && (c = p->s[p->at]) >= 0x20 && c < 0x80 && c != '"' &&
		       c != '\\') {
			*o++ = (char)c;
			p->at++;
		}
		if (p->at >= p->len)
			return fail(p, "unterminated string");
		c = p->s[p->at];
		if (c == '"')
			break;
		if (c < 0x20)
			return fail(p, "control character in a string");
		if (c >= 0x80) {
			n = utf8_decode((const char *)p->s + p->at, p->len - p->at, NULL);
			if (n == 0)
				return fail(p, "invalid UTF-8 in a string");
			memcpy(o, p->s + p->at, n);
			o += n;
			p->at += n;
			continue;
		}
		/* A backslash. */
		if (p->at + 1 >= p->len)
			return fail(p, "unterminated string");
		switch (p->s[p->at + 1]) {
		case '"':
			*o++ = '"';
			break;
		case '\\':
			*o++ = '\\';
			break;
		case '/':
			*o++ = '/';
			break;
		case 'b':
			*o++ = '\b';
			break;
		case 'f':
			*o++ = '\f';
			break;
		case 'n':
			*o++ = '\n';
			break;
		case 'r':
			*o++ = '\r';
			break;
		case 't':
			*o++ = '\t';
			break;
		case 'u':
			if (!unicode_escape(p, &o))
				return false;
			continue;
		default:
			return fail(p, "invalid escape in a string");
		}
		p->at += 2;
	}
	p->at++; /* the closing quote */
	*o = '\0';
	*out = start;
	*outlen = (uint32_t)(o - start);
	p->used += (size_t)(o - start) + 1;
	return true;
}

/* True when the byte at s[at] exists and is a digit. */
static bool
digit_at(const struct parser *p, size_t at)
{
	return at < p->len && p->s[at] >= '0' && p->s[at] <= '9';
}

/* Read a number by the JSON grammar: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
static bool
parse_number(struct parser *p, struct jsonr *v)
{
	size_t start = p->at, span;
	bool integer = true, neg = false;
	char *tmp, point;

	if (peek(p) == '-') {
		neg = true;
		p->at++;
	}
	if (peek(p) == '0')
		p->at++;
	else if (digit_at(p, p->at))
		while (digit_at(p, p->at))
			p->at++;
	else
		return fail(p, "invalid number");
	if (peek(p) == '.') {
		integer = false;
		if (!digit_at(p, ++p->at))
			return fail(p, "invalid number");
		while (digit_at(p, p->at))
			p->at++;
	}
	if (peek(p) == 'e' || peek(p) == 'E') {
		integer = false;
		p->at++;
		if (peek(p) == '+' || peek(p) == '-')
			p->at++;
		if (!digit_at(p, p->at))
			return fail(p, "invalid number");
		while (digit_at(p, p->at))
			p->at++;
	}
	v->type = JSONR_NUMBER;
	span = p->at - start;
	if (integer && span - neg <= 15) {
		/* Up to 15 digits: exact in a double, no strtod needed. */
		int64_t n = 0;
		size_t i;

		for (i = start + neg; i < p->at; i++)
			n = n * 10 + (p->s[i] - '0');
		v->u.num = neg ? -(double)n : (double)n;
		return true;
	}
	/* The free end of the arena has room for the number and a NUL (see the top). */
	tmp = p->arena + p->used;
	memcpy(tmp, p->s + start, span);
	tmp[span] = '\0';
	if (p->scratch < p->used + span + 1)
		p->scratch = p->used + span + 1;
	point = localeconv()->decimal_point[0];
	if (point != '.' && point != '\0') {
		char *dot = strchr(tmp, '.');

		if (dot != NULL)
			*dot = point;
	}
	v->u.num = strtod(tmp, NULL);
	return true;
}

/* Step over the literal word (true, false, null) at the current byte. */
static bool
parse_word(struct parser *p, const char *word, enum jsonr_type t, struct jsonr *v)
{
	size_t n = strlen(word);

	if (p->len - p->at < n || memcmp(p->s + p->at, word, n) != 0)
		return fail(p, "unexpected character");
	p->at += n;
	v->type = t;
	return true;
}

static bool parse_value(struct parser *p, struct jsonr *v, int depth);

/* Read an array or object at the current '[' or '{'; depth is its own nesting level. */
static bool
parse_container(struct parser *p, struct jsonr *v, int depth, bool object)
{
	const struct jsonr **link = &v->u.child;
	int close = object ? '}' : ']';

	if (depth > JSONR_DEPTH_MAX)
		return fail(p, "arrays and objects nested too deeply");
	v->type = object ? JSONR_OBJECT : JSONR_ARRAY;
	v->u.child = NULL;
	p->at++;
	skip_space(p);
	if (peek(p) == close) {
		p->at++;
		return true;
	}
	for (;;) {
		struct jsonr *m = new_node(p);

		if (m == NULL)
			return fail(p, "too many values");
		if (object) {
			if (peek(p) != '"')
				return fail(p, "expected a member name");
			if (!parse_string(p, &m->key, &m->key_len))
				return false;
			skip_space(p);
			if (peek(p) != ':')
				return fail(p, "expected ':' after a member name");
			p->at++;
			skip_space(p);
		}
		if (!parse_value(p, m, depth))
			return false;
		*link = m;
		link = &m->next;
		v->len++;
		skip_space(p);
		if (peek(p) == ',') {
			p->at++;
			skip_space(p);
			continue;
		}
		if (peek(p) == close) {
			p->at++;
			return true;
		}
		return fail(p, object ? "expected ',' or '}'" : "expected ',' or ']'");
	}
}

/* Read one value at the current byte; depth is the nesting level of its parent. */
static bool
parse_value(struct parser *p, struct jsonr *v, int depth)
{
	switch (peek(p)) {
	case '{':
		return parse_container(p, v, depth + 1, true);
	case '[':
		return parse_container(p, v, depth + 1, false);
	case '"':
		v->type = JSONR_STRING;
		return parse_string(p, &v->u.str, &v->len);
	case 't':
		return parse_word(p, "true", JSONR_TRUE, v);
	case 'f':
		return parse_word(p, "false", JSONR_FALSE, v);
	case 'n':
		return parse_word(p, "null", JSONR_NULL, v);
	case -1:
		return fail(p, "unexpected end of the text");
	default:
		if (peek(p) == '-' || digit_at(p, p->at))
			return parse_number(p, v);
		return fail(p, "unexpected character");
	}
}

/* The most values the text can hold: one per ',', '[' or '{', plus the root. */
static size_t
count_bound(const char *text, size_t len)
{
	size_t i = 0, n = 1;

	for (; i + 8 <= len; i += 8) {
		uint64_t w, m;

		memcpy(&w, text + i, 8);
		/* '[' (0x5b) and '{' (0x7b) are the two bytes that are '{' with bit 0x20 set. */
		m = bytes_equal(w, ',') | bytes_equal(w | ONES * 0x20, '{');
		n += (size_t)(((m >> 7) * ONES) >> 56); /* one bit per byte: add them up */
	}
	for (; i < len; i++)
		n += text[i] == ',' || text[i] == '[' || text[i] == '{';
	return n;
}

/*
 * How much of the arena the parse wrote: the strings (the 8-byte copies of
 * parse_string go up to 7 bytes past the last NUL) and the numbers' scratch.
 * A parse that failed may have stopped inside a string: then up to where its
 * output could have reached, which is never ahead of the text.
 */
static size_t
arena_written(const struct parser *p, bool ok)
{
	size_t end = ok ? p->used + 7 : p->at + 8;

	if (end < p->scratch)
		end = p->scratch;
	return end < p->len + 1 ? end : p->len + 1;
}

/* Wipe what the parse wrote in b, and free it. */
static void
release(struct block *b)
{
	wipe(b->nodes, b->n * sizeof(struct jsonr));
	wipe((char *)(b->nodes + b->cap), b->written);
	free(b);
}

struct jsonr *
jsonr_parse(const char *text, size_t len, char *err, size_t errsize)
{
	struct parser p = {.s = (const unsigned char *)text, .len = len};
	struct block *b;
	size_t cap, size;
	bool ok;

	if (len >= UINT32_MAX) {
		if (err != NULL)
			snprintf(err, errsize, "text of %zu bytes is too long", len);
		return NULL;
	}
	cap = count_bound(text, len);
	if (cap > (SIZE_MAX - sizeof *b - len - 1) / sizeof(struct jsonr))
		abort();
	size = sizeof *b + cap * sizeof(struct jsonr) + len + 1;
	b = malloc(size);
	if (b == NULL) {
		fputs("out of memory\n", stderr);
		abort();
	}
	b->cap = cap;
	p.nodes = b->nodes;
	p.cap = cap;
	p.arena = (char *)(b->nodes + cap);
	skip_space(&p);
	ok = parse_value(&p, new_node(&p), 0);
	b->n = p.n;
	b->written = arena_written(&p, ok);
	if (ok) {
		skip_space(&p);
		if (p.at == p.len)
			return b->nodes;
		fail(&p, "text after the value");
	}
	if (err != NULL)
		snprintf(err, errsize, "byte %zu: %s", p.at, p.why);
	release(b);
	return NULL;
}

void
jsonr_free(struct jsonr *doc)
{
	if (doc != NULL)
		release((struct block *)(void *)((char *)doc - offsetof(struct block, nodes)));
}

long
jsonr_read_string(const char *text, size_t len, size_t *at, char *out)
{
	struct parser p = {.s = (const unsigned char *)text, .len = len, .at = *at, .arena = out};
	const char *str;
	uint32_t n;
	bool ok;

	ok = len < UINT32_MAX && peek(&p) == '"' && parse_string(&p, &str, &n);
	*at = p.at;
	return ok ? (long)n : -1;
}

size_t
jsonr_skip_space(const char *text, size_t len, size_t at)
{
	struct parser p = {.s = (const unsigned char *)text, .len = len, .at = at};

	skip_space(&p);
	return p.at;
}

const struct jsonr *
jsonr_get(const struct jsonr *obj, const char *key)
{
	const struct jsonr *m;
	size_t n;

	if (!jsonr_is(obj, JSONR_OBJECT))
		return NULL;
	n = strlen(key);
	for (m = obj->u.child; m != NULL; m = m->next) {
		if (m->key_len == n && memcmp(m->key, key, n) == 0)
			return m;
	}
	return NULL;
}

const struct jsonr *
jsonr_first(const struct jsonr *v)
{
	return jsonr_is(v, JSONR_ARRAY) || jsonr_is(v, JSONR_OBJECT) ? v->u.child : NULL;
}

void
jsonr_print_str(struct buf *b, const char *s, size_t len)
{
	buf_add_json_as(b, s, len, BUF_JSON_CJSON);
}

/* True when a and b differ by no more than rounding (cJSON's compare_double). */
static bool
close_enough(double a, double b)
{
	double fa = a < 0 ? -a : a, fb = b < 0 ? -b : b, d = a - b;

	return (d < 0 ? -d : d) <= (fa > fb ? fa : fb) * DBL_EPSILON;
}

void
jsonr_print_num(struct buf *b, double d)
{
	char tmp[32], point = localeconv()->decimal_point[0];
	size_t i;
	int n;

	if (d != d || d - d != 0) {
		buf_adds(b, "null"); /* NaN or an infinity: JSON has no word for them */
		return;
	}
	n = snprintf(tmp, sizeof tmp, "%1.15g", d);
	if (!close_enough(strtod(tmp, NULL), d))
		n = snprintf(tmp, sizeof tmp, "%1.17g", d);
	for (i = 0; i < (size_t)n; i++) {
		if (tmp[i] == point)
			tmp[i] = '.';
	}
	buf_add(b, tmp, (size_t)n);
}

void
jsonr_print(struct buf *b, const struct jsonr *v)
{
	const struct jsonr *m;

	switch (v->type) {
	case JSONR_NULL:
		buf_adds(b, "null");
		break;
	case JSONR_FALSE:
		buf_adds(b, "false");
		break;
	case JSONR_TRUE:
		buf_adds(b, "true");
		break;
	case JSONR_NUMBER:
		jsonr_print_num(b, v->u.num);
		break;
	case JSONR_STRING:
		jsonr_print_str(b, v->u.str, v->len);
		break;
	case JSONR_ARRAY:
	case JSONR_OBJECT:
		buf_addc(b, v->type == JSONR_ARRAY ? '[' : '{');
		for (m = v->u.child; m != NULL; m = m->next) {
			if (m != v->u.child)
				buf_addc(b, ',');
			if (v->type == JSONR_OBJECT) {
				jsonr_print_str(b, m->key, m->key_len);
				buf_addc(b, ':');
			}
			jsonr_print(b, m);
		}
		buf_addc(b, v->type == JSONR_ARRAY ? ']' : '}');
		break;
	}
}
