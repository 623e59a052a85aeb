/*
 * Stack wiping. The part of the stack next to the caller is overwritten
 * through a local array (so that a signal arriving meanwhile lands below it).
 * On Linux the rest of the stack's mapping, down to its lowest page (from
 * /proc/self/maps for the main thread, from the thread's attributes for the
 * others), is dropped with madvise(MADV_DONTNEED): the kernel takes the pages
 * back and any later use finds zeros. So the wipe covers whatever depth any
 * call ever reached, found rather than guessed, and costs one system call.
 */
#include "stack.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#ifdef __linux__
#include <pthread.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#endif

/* Wiped through a local array: more than any signal frame needs. */
#define NEAR_BYTES (64 * 1024)
/* Where the stack's extent cannot be found (or madvise fails). */
#define FALLBACK_BYTES (256 * 1024)

#if defined(__SANITIZE_ADDRESS__) || defined(__clang__)
#define NOT_INSTRUMENTED __attribute__((noinline, no_sanitize_address))
#else
#define NOT_INSTRUMENTED __attribute__((noinline))
#endif

/* Zero [lo, hi). Not instrumented: the array it clears holds no object. */
static NOT_INSTRUMENTED void
clear(unsigned char *lo, unsigned char *hi)
{
	volatile unsigned char *b = lo;
	volatile uint64_t *w;

	while (b < hi && ((uintptr_t)b & 7) != 0)
		*b++ = 0;
	for (w = (volatile uint64_t *)b; (unsigned char *)(w + 1) <= hi; w++)
		*w = 0;
	for (b = (volatile unsigned char *)w; b < hi; b++)
		*b = 0;
}

/* Zero n bytes of stack right below the caller's frame. */
static NOT_INSTRUMENTED void
clear_near(size_t n)
{
	unsigned char pad[n + 1];

	clear(pad, pad + n);
	__asm__ __volatile__("" : : "r"(pad) : "memory");
}

#ifdef __linux__
/* The low end of the main thread's stack mapping, from /proc/self/maps. Returns 0 or -1. */
static int
main_stack(uintptr_t sp, uintptr_t *lo)
{
	char line[512];
	FILE *f = fopen("/proc/self/maps", "re");
	int rc = -1;

	if (f == NULL)
		return -1;
	while (fgets(line, sizeof line, f) != NULL) {
		unsigned long a, b;

		if (sscanf(line, "%lx-%lx", &a, &b) == 2 && sp >= a && sp < b) {
			*lo = a;
			rc = 0;
			break;
		}
	}
	fclose(f);
	return rc;
}

/* The low end of the calling thread's stack. Returns 0 or -1. */
static int
stack_low(uintptr_t sp, uintptr_t *lo)
{
	pthread_attr_t attr;
	void *addr;
	size_t size;
	int rc;

	if (getpid() == (pid_t)syscall(SYS_gettid))
		return main_stack(sp, lo);
	if (pthread_getattr_np(pthread_self(), &attr) != 0)
		return -1;
	rc = pthread_attr_getstack(&attr, &addr, &size);
	pthread_attr_destroy(&attr);
	if (rc != 0 || sp < (uintptr_t)addr || sp >= (uintptr_t)addr + size)
		return -1;
	*lo = (uintptr_t)addr;
	return 0;
}
#endif

void
stack_wipe(void)
{
	uintptr_t sp = (uintptr_t)__builtin_frame_address(0);
	size_t near = FALLBACK_BYTES;

#ifdef __linux__
	uintptr_t lo, page = (uintptr_t)sysconf(_SC_PAGESIZE), below;

	if (stack_low(sp, &lo) == 0) {
		lo &= ~(page - 1);
		below = sp > lo + NEAR_BYTES + 2 * page ? (sp - NEAR_BYTES) & ~(page - 1) : lo;
		/* Drop every page below: the kernel takes them back, a later use finds zeros. */
		if (below > lo && madvise((void *)lo, below - lo, MADV_DONTNEED) == 0)
			lo = below;
		near = sp > lo + 2 * page ? sp - lo - 2 * page : 0; /* never into the guard */
	}
#endif
	clear_near(near);
}
