/*
 * Masking: the only way a key's value reaches a human.
 */
#ifndef CCR_MASK_H
#define CCR_MASK_H

#include <stddef.h>

/* Enough for 4 + "…" (3 bytes) + 4 + NUL. */
#define MASK_MAX 16

/*
 * Write a masked form of the len-byte value v to out (MASK_MAX bytes): at most
 * 4 leading and 4 trailing characters, together never more than a quarter of
 * the value, around an ellipsis ("csk-…f2a9"). Non-printable bytes and bytes of
 * multi-byte characters are never shown; a value too short to show any is "…".
 */
void mask_value(const char *v, size_t len, char out[MASK_MAX]);

#endif
