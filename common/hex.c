/*
 * Reading the hex digits of \x and \u escapes (hex.h), for jsonr, the JSON5
 * scanner and the reference scanner.
 */
#include "hex.h"

bool
hex_read(const char *s, size_t avail, size_t n, uint32_t *v)
{
	uint32_t r = 0;
	size_t k;

	if (avail < n)
		return false;
	for (k = 0; k < n; k++) {
		char c = s[k];
		uint32_t d;

		if (c >= '0' && c <= '9')
			d = (uint32_t)(c - '0');
		else if (c >= 'a' && c <= 'f')
			d = (uint32_t)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			d = (uint32_t)(c - 'A' + 10);
		else
			return false;
		r = r << 4 | d;
	}
	*v = r;
	return true;
}
