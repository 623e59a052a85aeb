/*
 * memscan: search a live process's memory for byte strings, so that the
 * integration tests can check that a locked daemon no longer holds a secret.
 *
 *   memscan PID NEEDLE...
 *
 * Reads every readable range that /proc/PID/maps lists through /proc/PID/mem
 * (root, or a ptrace-capable user: the daemon is not dumpable) and counts the
 * occurrences of each NEEDLE. Ranges over 1 GiB are reserved address space,
 * not memory (AddressSanitizer's shadow is terabytes), and are skipped.
 * Prints "scanned B bytes in R ranges (S skipped)" and one line
 * "needle I: N hits" per needle (the needle itself is never printed).
 *
 * Exit status: 0 some needle was found, 1 none was, 2 usage or nothing could
 * be read (so that "not found" is never the result of reading nothing).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CHUNK (1024 * 1024)
#define MAX_RANGE ((uint64_t)1 << 30)

enum { EXIT_FOUND = 0, EXIT_ABSENT = 1, EXIT_ERROR = 2 };

/* Count the needles in one range [start, end) of the process's memory. */
static int
scan_range(int mem, uint64_t start, uint64_t end, char **needles, const size_t *lens, int n,
           size_t overlap, unsigned long long *hits, char *buf, unsigned long long *scanned)
{
	uint64_t at = start;
	size_t kept = 0; /* bytes carried over from the previous chunk */

	while (at < end) {
		size_t want = end - at < CHUNK ? (size_t)(end - at) : CHUNK;
		ssize_t got = pread(mem, buf + kept, want, (off_t)at);
		size_t have;
		int i;

		if (got <= 0)
			return at == start ? -1 : 0;
		have = kept + (size_t)got;
		for (i = 0; i < n; i++) {
			const char *p = buf, *stop = buf + have;
			const char *hit;

			/* A hit wholly inside the carried-over bytes was counted last time. */
			while ((hit = memmem(p, (size_t)(stop - p), needles[i], lens[i])) != NULL) {
				if ((size_t)(hit - buf) + lens[i] > kept)
					hits[i]++;
				p = hit + 1;
			}
		}
		*scanned += (unsigned long long)got;
		at += (uint64_t)got;
		kept = have < overlap ? have : overlap;
		memmove(buf, buf + have - kept, kept);
	}
	return 0;
}

int
main(int argc, char **argv)
{
	char path[64], line[4096], perms[8];
	unsigned long long *hits, scanned = 0;
	size_t *lens, overlap = 0;
	int i, n, mem, ranges = 0, skipped = 0, found = 0;
	FILE *maps;
	char *buf;

	if (argc < 3) {
		fputs("usage: memscan PID NEEDLE...\n", stderr);
		return EXIT_ERROR;
	}
	n = argc - 2;
	hits = calloc((size_t)n, sizeof *hits);
	lens = calloc((size_t)n, sizeof *lens);
	if (hits == NULL || lens == NULL)
		return EXIT_ERROR;
	for (i = 0; i < n; i++) {
		lens[i] = strlen(argv[i + 2]);
		if (lens[i] == 0) {
			fputs("memscan: an empty needle matches everywhere\n", stderr);
			return EXIT_ERROR;
		}
		if (lens[i] - 1 > overlap)
			overlap = lens[i] - 1;
	}
	buf = malloc(CHUNK + overlap);
	snprintf(path, sizeof path, "/proc/%s/maps", argv[1]);
	maps = fopen(path, "r");
	snprintf(path, sizeof path, "/proc/%s/mem", argv[1]);
	mem = open(path, O_RDONLY);
	if (buf == NULL || maps == NULL || mem == -1) {
		fprintf(stderr, "memscan: cannot open /proc/%s/maps or mem: %s\n", argv[1],
		        strerror(errno));
		return EXIT_ERROR;
	}
	while (fgets(line, sizeof line, maps) != NULL) {
		uint64_t start, end;

		if (sscanf(line, "%" SCNx64 "-%" SCNx64 " %7s", &start, &end, perms) != 3 ||
		    perms[0] != 'r' || strstr(line, "[vvar") != NULL ||
		    strstr(line, "[vsyscall]") != NULL)
			continue;
		if (end - start > MAX_RANGE) {
			skipped++;
			continue;
		}
		if (scan_range(mem, start, end, argv + 2, lens, n, overlap, hits, buf, &scanned) ==
		    0)
			ranges++;
	}
	fclose(maps);
	close(mem);
	printf("scanned %llu bytes in %d ranges (%d skipped)\n", scanned, ranges, skipped);
	for (i = 0; i < n; i++) {
		printf("needle %d: %llu hits\n", i + 1, hits[i]);
		found |= hits[i] > 0;
	}
	free(buf);
	free(hits);
	free(lens);
	if (scanned == 0)
		return EXIT_ERROR;
	return found ? EXIT_FOUND : EXIT_ABSENT;
}
