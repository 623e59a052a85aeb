/*
 * Hexadecimal digits as text escapes spell them: the XX of \xXX, the XXXX of
 * \uXXXX in JSON and JSON5.
 */
#ifndef CCR_HEX_H
#define CCR_HEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Read n (at most 8) hex digits, either case, at s, which has avail bytes, into
 * *v; false, leaving *v alone, when fewer than n are there.
 */
bool hex_read(const char *s, size_t avail, size_t n, uint32_t *v);

#endif
