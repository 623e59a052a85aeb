/*
 * A slab allocator over sodium_malloc regions. Slot sizes are powers of two
 * from 32 bytes to 32 KiB (a 16 KiB value plus its NUL fits the largest). Each
 * size class has its own free list threaded through wiped slots, and its own
 * regions that grow in size as the class fills, so 10,000 small keys use a
 * handful of regions.
 */
#include "arena.h"

#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MIN_SHIFT 5  /* 32 bytes */
#define MAX_SHIFT 15 /* 32 KiB */
#define CLASSES (MAX_SHIFT - MIN_SHIFT + 1)
#define FIRST_REGION (16 * 1024)
/*
 * sodium_malloc locks a region, so all of it is resident from the start: the
 * newest region is mostly empty, and a cap of 256 KiB keeps that waste small
 * (1 MiB cost 256 KiB more with 10,000 keys) for one more region per 256 KiB.
 */
#define MAX_REGION (256 * 1024)

struct region {
	struct region *next;
	char *mem;
	size_t size;
};

struct free_slot {
	struct free_slot *next;
};

struct size_class {
	struct free_slot *free;
	char *bump; /* next never-used slot in the newest region */
	char *end;
	size_t next_region;
};

struct arena {
	struct size_class classes[CLASSES];
	struct region *regions;
	size_t bytes;
	size_t count;
};

/* The size class index for len bytes. */
static int
class_of(size_t len)
{
	int shift = MIN_SHIFT;

	while (((size_t)1 << shift) < len)
		shift++;
	return shift - MIN_SHIFT;
}

/* Add a region to class c. */
static void
grow(struct arena *a, int c)
{
	struct size_class *sc = &a->classes[c];
	size_t slot = (size_t)1 << (c + MIN_SHIFT);
	size_t size = sc->next_region;
	struct region *r;

	if (size < slot * 2)
		size = slot * 2;
	r = malloc(sizeof *r);
	if (r == NULL || (r->mem = sodium_malloc(size)) == NULL) {
		fputs("ccr-keyd: cannot allocate secure memory\n", stderr);
		abort();
	}
	r->size = size;
	r->next = a->regions;
	a->regions = r;
	a->bytes += size;
	a->count++;
	sc->bump = r->mem;
	sc->end = r->mem + size;
	if (sc->next_region < MAX_REGION)
		sc->next_region *= 2;
}

struct arena *
arena_new(void)
{
	struct arena *a = calloc(1, sizeof *a);
	int c;

	if (a == NULL)
		abort();
	for (c = 0; c < CLASSES; c++)
		a->classes[c].next_region = FIRST_REGION;
	return a;
}

char *
arena_alloc(struct arena *a, size_t len)
{
	int c = class_of(len ? len : 1);
	struct size_class *sc;
	char *p;

	if (c >= CLASSES) {
		fputs("ccr-keyd: secret larger than the arena's largest slot\n", stderr);
		abort();
	}
	sc = &a->classes[c];
	if (sc->free != NULL) {
		p = (char *)sc->free;
		sc->free = sc->free->next;
		sodium_memzero(p, sizeof(struct free_slot));
		return p;
	}
	if (sc->bump == NULL || (size_t)(sc->end - sc->bump) < ((size_t)1 << (c + MIN_SHIFT)))
		grow(a, c);
	p = sc->bump;
	sc->bump += (size_t)1 << (c + MIN_SHIFT);
	return p;
}

void
arena_free(struct arena *a, char *p, size_t len)
{
	int c = class_of(len ? len : 1);
	struct free_slot *f = (struct free_slot *)(void *)p;

	if (p == NULL)
		return;
	sodium_memzero(p, (size_t)1 << (c + MIN_SHIFT));
	f->next = a->classes[c].free;
	a->classes[c].free = f;
}

void
arena_destroy(struct arena *a)
{
	struct region *r, *next;

	if (a == NULL)
		return;
	for (r = a->regions; r != NULL; r = next) {
		next = r->next;
		sodium_memzero(r->mem, r->size);
		sodium_free(r->mem);
		free(r);
	}
	free(a);
}

size_t
arena_bytes(const struct arena *a)
{
	return a->bytes;
}

size_t
arena_regions(const struct arena *a)
{
	return a->count;
}
