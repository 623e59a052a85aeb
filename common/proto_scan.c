/*
 * The scanner of the decoder's fast path: a strict reader of one flat JSON
 * object. What it accepts, cJSON reads to the same members; what it does not
 * accept exactly, it refuses, and the line goes to cJSON.
 */
#include "proto_decode.h"

#include <stdint.h>
#include <string.h>

/* Skip JSON whitespace (space, tab, CR, LF) from p, up to end; runs of spaces 8 at a time. */
static inline const char *
skip_space(const char *p, const char *end)
{
	if (p < end && (unsigned char)*p > ' ')
		return p; /* the usual case: none */
	while (end - p >= 8 && memcmp(p, "        ", 8) == 0)
		p += 8;
	while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
		p++;
	return p;
}

/*
 * '1' for each byte that may stand in a scanned string as itself: printable
 * ASCII but '"' (0x22) and '\\' (0x5c); '0' for the rest (and the NUL that
 * ends the literal, which no byte indexes).
 */
static const char plain[] = "00000000000000000000000000000000"  /* 0x00 */
                            "11011111111111111111111111111111"  /* 0x20 */
                            "11111111111111111111111111110111"  /* 0x40 */
                            "11111111111111111111111111111110"  /* 0x60 */
                            "00000000000000000000000000000000"  /* 0x80 */
                            "00000000000000000000000000000000"  /* 0xa0 */
                            "00000000000000000000000000000000"  /* 0xc0 */
                            "00000000000000000000000000000000"; /* 0xe0 */
_Static_assert(sizeof plain == 257, "one entry per byte value");

/*
 * Read a string of printable ASCII without escapes at p (its opening quote):
 * its bytes into *s and *len, and the byte after its closing quote returned;
 * NULL for anything else.
 */
static const char *
scan_string(const char *p, const char *end, const char **s, size_t *len)
{
	const char *q;

	if (p >= end || *p != '"')
		return NULL;
	for (q = p + 1; q < end && plain[(unsigned char)*q] == '1'; q++)
		;
	if (q >= end || *q != '"')
		return NULL;
	*s = p + 1;
	*len = (size_t)(q - (p + 1));
	return q + 1;
}

/*
 * Read an integer as JSON writes it (no leading zero, no fraction, no
 * exponent, no "-0") of at most 15 digits, so a double holds it exactly.
 */
static const char *
scan_int(const char *p, const char *end, const char **s, size_t *len)
{
	const char *q = p + (p < end && *p == '-');

	if (q >= end || *q < '0' || *q > '9' || (*q == '0' && q != p))
		return NULL;
	if (*q == '0')
		q++;
	else
		while (q < end && *q >= '0' && *q <= '9')
			q++;
	if (q - p - (*p == '-') > 15 || (q < end && (*q == '.' || *q == 'e' || *q == 'E')))
		return NULL;
	*s = p;
	*len = (size_t)(q - p);
	return q;
}

/* Read one member's value at p into m; the byte after it, or NULL. */
static const char *
scan_value(const char *p, const char *end, struct scan_member *m)
{
	if (p < end && *p == '"') {
		m->kind = SCAN_STRING;
		return scan_string(p, end, &m->value, &m->value_len);
	}
	if (end - p >= 4 && memcmp(p, "true", 4) == 0) {
		m->kind = SCAN_TRUE;
		return p + 4;
	}
	if (end - p >= 5 && memcmp(p, "false", 5) == 0) {
		m->kind = SCAN_FALSE;
		return p + 5;
	}
	m->kind = SCAN_INT;
	return scan_int(p, end, &m->value, &m->value_len);
}

bool
proto_scan(const char *line, size_t len, struct scan *sc)
{
	const char *p = line, *end = line + len;

	sc->n = 0;
	p = skip_space(p, end);
	if (p >= end || *p++ != '{')
		return false;
	p = skip_space(p, end);
	if (p < end && *p == '}')
		return skip_space(p + 1, end) == end;
	for (;;) {
		struct scan_member *m = &sc->m[sc->n];

		if (sc->n == SCAN_MEMBERS)
			return false;
		p = scan_string(p, end, &m->key, &m->key_len);
		if (p == NULL)
			return false;
		p = skip_space(p, end);
		if (p >= end || *p++ != ':')
			return false;
		p = scan_value(skip_space(p, end), end, m);
		if (p == NULL)
			return false;
		sc->n++;
		p = skip_space(p, end);
		if (p < end && *p == ',') {
			p = skip_space(p + 1, end);
			continue;
		}
		if (p < end && *p == '}')
			return skip_space(p + 1, end) == end;
		return false;
	}
}
