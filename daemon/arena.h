/*
 * Secret memory: values live in a few large sodium_malloc regions (guarded,
 * locked, never swapped) carved into power-of-two slots, instead of one
 * sodium_malloc per value (three mappings and ~8 KiB each; docs/DESIGN.md).
 */
#ifndef CCR_ARENA_H
#define CCR_ARENA_H

#include <stddef.h>

struct arena;

/* Create an empty arena. Aborts when memory is exhausted. */
struct arena *arena_new(void);

/* A slot of at least len bytes; aborts when sodium_malloc fails. */
char *arena_alloc(struct arena *a, size_t len);

/* Wipe the slot (allocated for len bytes) and return it to the arena. */
void arena_free(struct arena *a, char *p, size_t len);

/* Wipe and release every region. */
void arena_destroy(struct arena *a);

/* Bytes of secret memory the arena holds in its regions. */
size_t arena_bytes(const struct arena *a);

/* Number of sodium_malloc regions. */
size_t arena_regions(const struct arena *a);

#endif
