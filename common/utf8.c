/*
 * UTF-8 reading, checking and writing (utf8.h), for the protocol's request
 * check, jsonr, the JSON5 scanner, the reference scanner and the audit log.
 */
#include "utf8.h"

#include <string.h>

size_t
utf8_decode(const char *str, size_t left, uint32_t *cp)
{
	const unsigned char *s = (const unsigned char *)str;
	unsigned char c = s[0];
	uint32_t v;
	size_t n, k;

	if (c < 0x80) {
		n = 0;
		v = c;
	} else if (c >= 0xc2 && c <= 0xdf) {
		n = 1;
		v = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		n = 2;
		v = c & 0x0f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 3;
		v = c & 0x07;
	} else {
		return 0; /* a continuation byte, an overlong 2-byte lead, or past U+10FFFF */
	}
	if (left <= n)
		return 0;
	for (k = 1; k <= n; k++) {
		if ((s[k] & 0xc0) != 0x80)
			return 0;
		v = (v << 6) | (s[k] & 0x3f);
	}
	if ((n == 2 && v < 0x800) || (n == 3 && (v < 0x10000 || v > 0x10ffff)) ||
	    (v >= 0xd800 && v <= 0xdfff))
		return 0;
	if (cp != NULL)
		*cp = v;
	return n + 1;
}

bool
utf8_valid(const char *s, size_t len)
{
	size_t i = 0, n;

	while (i < len) {
		uint64_t w;

		/* Plain ASCII, the usual request, 8 bytes at a time. */
		if (i + 8 <= len) {
			memcpy(&w, s + i, 8);
			if ((w & 0x8080808080808080ull) == 0) {
				i += 8;
				continue;
			}
		}
		if ((unsigned char)s[i] < 0x80) {
			i++;
			continue;
		}
		n = utf8_decode(s + i, len - i, NULL);
		if (n == 0)
			return false;
		i += n;
	}
	return true;
}

size_t
utf8_encode(char *out, uint32_t cp)
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xc0 | (cp >> 6));
		out[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xe0 | (cp >> 12));
		out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		out[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (char)(0xf0 | (cp >> 18));
	out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	out[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

void
utf8_add(struct buf *b, uint32_t cp)
{
	char u[UTF8_MAX];

	buf_add(b, u, utf8_encode(u, cp));
}
