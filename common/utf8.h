/*
 * UTF-8, the one text encoding of the protocol, the keystore and the router's
 * config: reading a sequence, checking a whole text, writing a code point.
 * What "well-formed" means is decided here alone (RFC 3629): no overlong form,
 * no surrogate, nothing past U+10FFFF.
 */
#ifndef CCR_UTF8_H
#define CCR_UTF8_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

/* The longest UTF-8 sequence, in bytes (U+10000 to U+10FFFF). */
#define UTF8_MAX 4

/*
 * The length (1 to 4) of the well-formed sequence at s, which has left bytes
 * (at least one), or 0 when none starts there. Its code point goes to *cp
 * when cp is not NULL.
 */
size_t utf8_decode(const char *s, size_t left, uint32_t *cp);

/* True when the len bytes at s are well-formed UTF-8, plain ASCII 8 bytes at a time. */
bool utf8_valid(const char *s, size_t len);

/*
 * Write code point cp (at most U+10FFFF) at out, which has room for UTF8_MAX
 * bytes, and return how many it took. A lone surrogate, which JSON5's \u
 * escapes can spell, gets its 3-byte form: callers that must not write one
 * replace it first.
 */
size_t utf8_encode(char *out, uint32_t cp);

/* Append code point cp to b, as utf8_encode writes it. */
void utf8_add(struct buf *b, uint32_t cp);

#endif
