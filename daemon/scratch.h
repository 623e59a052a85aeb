/*
 * Request scratch memory: while the event loop decodes one request, cJSON's
 * allocations come from a bump region that is reset (and wiped) after the
 * request, instead of a malloc and a free per JSON node.
 */
#ifndef CCR_SCRATCH_H
#define CCR_SCRATCH_H

#include <stddef.h>

/* Route cJSON's allocations through the scratch hooks (call once, before any parse). */
void scratch_install(void);

/* Allocate from scratch on this thread until scratch_end. */
void scratch_begin(void);

/* Wipe what the request used and stop allocating from scratch. */
void scratch_end(void);

#endif
