/*
 * A key's binding as ccr-config sends and shows it: the origins
 * (scheme://host[:port]) the daemon hands the key out for, in requests as an
 * "origins" array and to people as a list.
 */
#ifndef CCR_BINDING_H
#define CCR_BINDING_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "config.h"
#include "jsonr.h"
#include "origin.h"

/* Room for every origin of one key joined by ", ". */
#define BINDING_TEXT_MAX (ORIGINS_MAX * (ORIGIN_MAX + 2) + 1)

/* Append ,"origins":[…] holding each origin of origins. */
void binding_field(struct buf *b, const struct names *origins);

/* Append ,"origins": and a copy of the array v (a reply's), or [] when v is not one. */
void binding_copy(struct buf *b, const struct jsonr *v);

/* Write the strings of the array v joined by sep to out; "" when there is none. */
void binding_join(const struct jsonr *v, const char *sep, char *out, size_t size);

/* Write the origins of a list joined by sep to out; "" when there is none. */
void binding_join_names(const struct names *origins, const char *sep, char *out, size_t size);

/* True when the array v holds origin. */
bool binding_has(const struct jsonr *v, const char *origin);

#endif
