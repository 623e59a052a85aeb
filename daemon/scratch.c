/*
 * A bump allocator behind cJSON's hooks. It is active only on the thread that
 * called scratch_begin (the flag is thread-local; only the loop ever sets it),
 * so cJSON use on work threads (sealed files) keeps plain malloc. A request that needs
 * more than the region falls back to malloc; free tells the two apart by
 * address.
 */
#include "scratch.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include <cjson/cJSON.h>

#include "buf.h"

#define SCRATCH_SIZE (256 * 1024)

static _Thread_local bool active;
/* Only the thread with active set touches these. */
static size_t used;
static _Alignas(16) unsigned char region[SCRATCH_SIZE];

/* cJSON's malloc: bump while a request is decoded, else malloc. */
static void *
scratch_malloc(size_t size)
{
	size_t n = (size + 15) & ~(size_t)15;

	if (active && n <= SCRATCH_SIZE - used) {
		void *p = region + used;

		used += n;
		return p;
	}
	return malloc(size);
}

/* cJSON's free: nothing for scratch memory (reset wholesale), wipe and free otherwise. */
static void
scratch_free(void *p)
{
	uintptr_t a = (uintptr_t)p, lo = (uintptr_t)region;

	if (a >= lo && a < lo + SCRATCH_SIZE)
		return;
#ifdef __GLIBC__
	if (p != NULL)
		wipe(p, malloc_usable_size(p)); /* a request too big for the region: values too */
#endif
	free(p);
}

void
scratch_install(void)
{
	cJSON_Hooks hooks = {scratch_malloc, scratch_free};

	cJSON_InitHooks(&hooks);
}

void
scratch_begin(void)
{
	active = true;
	used = 0;
}

void
scratch_end(void)
{
	wipe(region, used);
	used = 0;
	active = false;
}
