/*
 * Growing byte buffers that are wiped on release, and the JSON string writer
 * both sides use to build protocol lines without an allocation per field.
 */
#include "buf.h"

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
buf_reserve(struct buf *b, size_t extra)
{
	size_t need, cap;
	char *p;

	if (b->cap - b->len > extra)
		return;
	need = b->len + extra + 1;
	cap = b->cap ? b->cap : 256;
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

void
buf_add_json(struct buf *b, const char *s, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	size_t i, run = 0;

	buf_reserve(b, len + 2);
	buf_addc(b, '"');
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		char esc[7];

		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		buf_add(b, s + run, i - run);
		run = i + 1;
		esc[0] = '\\';
		switch (c) {
		case '"':
		case '\\':
			esc[1] = (char)c;
			buf_add(b, esc, 2);
			break;
		case '\n':
			buf_add(b, "\\n", 2);
			break;
		case '\r':
			buf_add(b, "\\r", 2);
			break;
		case '\t':
			buf_add(b, "\\t", 2);
			break;
		default:
			memcpy(esc + 1, "u00", 3);
			esc[4] = hex[c >> 4];
			esc[5] = hex[c & 15];
			buf_add(b, esc, 6);
		}
	}
	buf_add(b, s + run, len - run);
	buf_addc(b, '"');
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
