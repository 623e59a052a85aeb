/*
 * The floor for a set: the bare durable write of a 4 KiB file, the same
 * sequence every keystore save goes through (docs/DESIGN.md, "Keystore file"):
 * temp file O_CREAT|O_EXCL|O_NOFOLLOW 0600, write, fsync, close, rename over
 * the target, fsync the directory. Prints one key=value line of figures.
 *
 *   durable_write --dir DIR [--iterations N] [--seconds S] [--size BYTES]
 *
 * With --seconds it goes on past N iterations until S seconds have passed, so
 * that it samples the disk over as long a stretch as the run it is compared to.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void usage(void) __attribute__((noreturn));

/* Print how to call this program and exit 2. */
static void
usage(void)
{
	fprintf(stderr,
	        "usage: durable_write --dir DIR [--iterations N] [--seconds S] [--size BYTES]\n");
	exit(2);
}

/* Report a failed step and exit 1. */
static void
fail(const char *what, const char *path)
{
	fprintf(stderr, "durable_write: %s %s: %s\n", what, path, strerror(errno));
	exit(1);
}

/* Monotonic time in nanoseconds. */
static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Compare two durations for qsort. */
static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* One save: temp, write, fsync, rename, fsync the directory. */
static void
save(int dirfd, const char *dir, const char *tmp, const char *target, const char *data, size_t size)
{
	ssize_t n;
	size_t off = 0;
	int fd;

	fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd == -1)
		fail("create temp file in", dir);
	while (off < size) {
		n = write(fd, data + off, size - off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			fail("write temp file in", dir);
		off += (size_t)n;
	}
	if (fsync(fd) == -1)
		fail("fsync temp file in", dir);
	if (close(fd) == -1)
		fail("close temp file in", dir);
	if (renameat(dirfd, tmp, dirfd, target) == -1)
		fail("rename in", dir);
	if (fsync(dirfd) == -1)
		fail("fsync", dir);
}

int
main(int argc, char **argv)
{
	const char *dir = NULL;
	long iterations = 200, size = 4096, i, cap;
	uint64_t *d, t0, start, sum = 0;
	double seconds = 0;
	char *data;
	int dirfd;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc)
			dir = argv[++i];
		else if (strcmp(argv[i], "--iterations") == 0 && i + 1 < argc)
			iterations = atol(argv[++i]);
		else if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc)
			seconds = atof(argv[++i]);
		else if (strcmp(argv[i], "--size") == 0 && i + 1 < argc)
			size = atol(argv[++i]);
		else
			usage();
	}
	if (dir == NULL || iterations < 1 || size < 1)
		usage();

	cap = iterations;
	d = calloc((size_t)cap, sizeof *d);
	data = malloc((size_t)size);
	if (d == NULL || data == NULL) {
		fprintf(stderr, "durable_write: out of memory\n");
		return 1;
	}
	/* A keystore-like document: printable JSON-ish text ending in a newline. */
	for (i = 0; i < size; i++)
		data[i] = (char)('a' + i % 26);
	data[size - 1] = '\n';

	dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd == -1)
		fail("open", dir);
	/* One unmeasured save creates the target, as a keystore that exists already. */
	save(dirfd, dir, "keys.tmp", "keys", data, (size_t)size);
	start = now_ns();
	for (i = 0; i < iterations || now_ns() - start < (uint64_t)(seconds * 1e9); i++) {
		if (i == cap) {
			cap *= 2;
			d = realloc(d, (size_t)cap * sizeof *d);
			if (d == NULL) {
				fprintf(stderr, "durable_write: out of memory\n");
				return 1;
			}
		}
		t0 = now_ns();
		save(dirfd, dir, "keys.tmp", "keys", data, (size_t)size);
		d[i] = now_ns() - t0;
		sum += d[i];
	}
	iterations = i;
	unlinkat(dirfd, "keys", 0);
	close(dirfd);

	qsort(d, (size_t)iterations, sizeof *d, cmp_u64);
	printf("iterations=%ld size=%ld median_us=%.1f p99_us=%.1f mean_us=%.1f min_us=%.1f "
	       "max_us=%.1f\n",
	       iterations, size, d[iterations / 2] / 1000.0,
	       d[(long)(0.99 * (double)(iterations - 1) + 0.5)] / 1000.0,
	       (double)sum / (double)iterations / 1000.0, d[0] / 1000.0,
	       d[iterations - 1] / 1000.0);
	free(d);
	free(data);
	return 0;
}
