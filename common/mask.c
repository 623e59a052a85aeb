/*
 * Masking of key values for display.
 */
#include "mask.h"

#include <string.h>

/* Count how many of the n bytes at p are plain printable ASCII, from the start. */
static size_t
printable_prefix(const char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];

		if (c < 0x21 || c > 0x7e)
			break;
	}
	return i;
}

/* Count how many of the n bytes ending at p + n are plain printable ASCII, from the end. */
static size_t
printable_suffix(const char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[n - 1 - i];

		if (c < 0x21 || c > 0x7e)
			break;
	}
	return i;
}

void
mask_value(const char *v, size_t len, char out[MASK_MAX])
{
	size_t side = len / 8, lead, tail;
	char *o = out;

	if (side > 4)
		side = 4;
	lead = printable_prefix(v, side);
	tail = printable_suffix(v + len - side, side);
	memcpy(o, v, lead);
	o += lead;
	memcpy(o, "\xe2\x80\xa6", 3);
	o += 3;
	memcpy(o, v + len - tail, tail);
	o += tail;
	*o = '\0';
}
