/*
 * Request dispatch: one decoded request in, one reply out (or a change handed
 * to the writer, answered when durable).
 */
#ifndef CCR_DISPATCH_H
#define CCR_DISPATCH_H

#include <stddef.h>

struct keyd;
struct session;
struct change;

/* Handle one request line of s: append its reply to s->out, or submit a change and set s->waiting. */
void dispatch_line(struct keyd *k, struct session *s, const char *line, size_t len);

/* The session waiting for c is gone: the change is still made and audited, its reply dropped. */
void dispatch_orphan(struct change *c);

#endif
