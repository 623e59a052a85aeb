/*
 * Origins: the scheme://host[:port] a key may be sent to (docs/PROTOCOL.md,
 * "Origin binding"). One canonical form, what WHATWG's URL gives as .origin,
 * and the list a key is bound to: canonical origins, sorted, distinct, joined
 * by single spaces ("" when unbound). Plain C on libc alone, so that the
 * client, which links no JSON library, reads and writes them the same way.
 */
#ifndef CCR_ORIGIN_H
#define CCR_ORIGIN_H

#include <stdbool.h>
#include <stddef.h>

/* The longest origin, in bytes, and the longest host in it. */
#define ORIGIN_MAX 255
#define ORIGIN_HOST_MAX 253
/* The most origins one key may be bound to. */
#define ORIGINS_MAX 16
/* Room for a whole list: ORIGINS_MAX origins, the spaces between them, and the NUL. */
#define ORIGIN_LIST_MAX (ORIGINS_MAX * (ORIGIN_MAX + 1))

/*
 * Canonicalise an origin: http or https, scheme and host lower-cased, a
 * default port (80, 443) dropped, one trailing '/' dropped, IPv4 and IPv6
 * hosts written as WHATWG writes them. Anything else (a path, a query,
 * userinfo, another scheme, an empty host, a bad port) is refused. Returns 0
 * with out (ORIGIN_MAX + 1 bytes) set, or -1 with *why (when not NULL) set to
 * a static message.
 */
int origin_canon(const char *in, char *out, const char **why);

/*
 * The origin of a full URL ("https://api.example.com/v1/chat/completions"
 * gives "https://api.example.com"): its path, query, fragment and userinfo
 * dropped, the rest canonicalised as origin_canon does. 0, or -1 with *why set.
 */
int origin_from_url(const char *url, char *out, const char **why);

/* How many origins list holds. */
size_t origin_list_count(const char *list);

/* True when list holds origin (canonical). */
bool origin_list_has(const char *list, const char *origin);

/*
 * Add a canonical origin to list (ORIGIN_LIST_MAX bytes) in its sorted place.
 * Returns 1 when added, 0 when it was there, -1 when list holds ORIGINS_MAX.
 */
int origin_list_add(char *list, const char *origin);

/* Remove origin from list; true when it was there. */
bool origin_list_remove(char *list, const char *origin);

/*
 * Walk a list: the origin at *p (its length in *len), moving *p past it, or
 * NULL at the end. Start with *p = list.
 */
const char *origin_list_next(const char **p, size_t *len);

#endif
