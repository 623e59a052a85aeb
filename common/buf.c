/*
 * Growing byte buffers that are wiped on release, and the JSON string writer
 * both sides use to build protocol lines without an allocation per field.
 */
#include "buf.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void
wipe(void *p, size_t len)
{
	if (p == NULL || len == 0)
		return;
#if defined(__GLIBC__) || defined(__OpenBSD__) || defined(__FreeBSD__)
	explicit_bzero(p, len);
#else
	volatile unsigned char *v = p;
	while (len--)
		*v++ = 0;
#endif
}

void
buf_grow(struct buf *b, size_t extra)
{
	size_t need, cap;
	char *p;

	if (b->cap - b->len > extra)
		return;
	need = b->len + extra + 1;
	/* A first block larger than 256 bytes is as large as asked (a whole file, say). */
	cap = b->cap ? b->cap : need > 256 ? need : 256;
	while (cap < need)
		cap *= 2;
	/* Never realloc: the old block could hold a secret and realloc frees it unwiped. */
	p = malloc(cap);
	if (p == NULL) {
		fputs("out of memory\n", stderr);
		abort();
	}
	if (b->data != NULL) {
		memcpy(p, b->data, b->len);
		wipe(b->data, b->cap);
		free(b->data);
	}
	p[b->len] = '\0'; /* the new block is a C string too, even before the next add */
	b->data = p;
	b->cap = cap;
}

void
buf_add(struct buf *b, const void *p, size_t len)
{
	buf_reserve(b, len);
	memcpy(b->data + b->len, p, len);
	b->len += len;
	b->data[b->len] = '\0';
}

void
buf_adds(struct buf *b, const char *s)
{
	buf_add(b, s, strlen(s));
}

void
buf_addc(struct buf *b, char c)
{
	buf_reserve(b, 1);
	b->data[b->len++] = c;
	b->data[b->len] = '\0';
}

void
buf_addi(struct buf *b, long long v)
{
	char tmp[24];
	int n = snprintf(tmp, sizeof tmp, "%lld", v);

	buf_add(b, tmp, (size_t)n);
}

/* True when a byte of w is below 0x20, '"' or '\\' (exact as a yes/no test). */
static inline bool
word_needs_escape(uint64_t w)
{
	const uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
	uint64_t q = w ^ (ones * '"'), bs = w ^ (ones * '\\');

	return ((((w - ones * 0x20) & ~w) | ((q - ones) & ~q) | ((bs - ones) & ~bs)) & highs) != 0;
}

/* Length of the prefix of s (len bytes) that JSON needs no escapes for, 8 bytes at a time. */
static size_t
plain_prefix(const char *s, size_t len)
{
	size_t i = 0;
	uint64_t w;

	for (; i + 8 <= len; i += 8) {
		memcpy(&w, s + i, 8);
		if (word_needs_escape(w))
			break;
	}
	/* The last bytes as the word that ends s, overlapping what was checked. */
	if (i < len && i + 8 > len && len >= 8) {
		memcpy(&w, s + len - 8, 8);
		if (!word_needs_escape(w))
			return len;
	}
	for (; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x20 || c == '"' || c == '\\')
			break;
	}
	return i;
}

/* The letter of c's two-character escape in set, or 0: it takes \u00XX. */
static char
short_escape(unsigned char c, enum buf_json_set set)
{
	switch (c) {
	case '"':
	case '\\':
		return (char)c;
	case '\n':
		return 'n';
	case '\r':
		return 'r';
	case '\t':
		return 't';
	case '\b':
		return set == BUF_JSON_CJSON ? 'b' : 0;
	case '\f':
		return set == BUF_JSON_CJSON ? 'f' : 0;
	default:
		return 0;
	}
}

size_t
buf_json_len(const char *s, size_t len)
{
	size_t n = 2, i, run;

	for (i = 0; i < len; i++) {
		run = plain_prefix(s + i, len - i);
		n += run;
		i += run;
		if (i == len)
			break;
		n += short_escape((unsigned char)s[i], BUF_JSON_WIRE) != 0 ? 2 : 6;
	}
	return n;
}

void
buf_add_json_as(struct buf *b, const char *s, size_t len, enum buf_json_set set)
{
	static const char hex[] = "0123456789abcdef";
	char *o, e;
	size_t i, run;

	/* Room for the worst case (every byte \u00XX) once, then no checks per byte. */
	buf_reserve(b, len * 6 + 2);
	o = b->data + b->len;
	*o++ = '"';
	for (i = 0; i < len; i++) {
		unsigned char c;

		run = plain_prefix(s + i, len - i);
		memcpy(o, s + i, run);
		o += run;
		i += run;
		if (i == len)
			break;
		c = (unsigned char)s[i];
		*o++ = '\\';
		if ((e = short_escape(c, set)) != 0) {
			*o++ = e;
			continue;
		}
		*o++ = 'u';
		*o++ = '0';
		*o++ = '0';
		*o++ = hex[c >> 4];
		*o++ = hex[c & 15];
	}
	*o++ = '"';
	b->len = (size_t)(o - b->data);
	b->data[b->len] = '\0';
}

void
buf_consume(struct buf *b, size_t n)
{
	if (n >= b->len) {
		buf_clear(b);
		return;
	}
	memmove(b->data, b->data + n, b->len - n);
	wipe(b->data + b->len - n, n);
	b->len -= n;
	b->data[b->len] = '\0';
}

void
buf_clear(struct buf *b)
{
	wipe(b->data, b->len);
	b->len = 0;
	if (b->data != NULL)
		b->data[0] = '\0';
}

void
buf_free(struct buf *b)
{
	if (b->data != NULL) {
		wipe(b->data, b->cap);
		free(b->data);
	}
	b->data = NULL;
	b->len = b->cap = 0;
}
