/*
 * memscan: search a live process's memory for byte strings, so that the
 * integration tests can check that a locked daemon no longer holds a secret.
 *
 *   memscan [--where] PID < NEEDLES
 *
 * The needles come one per line on stdin (never on the command line, where
 * any user could read them in /proc/PID/cmdline). Reads every readable range
 * that /proc/PID/maps lists through /proc/PID/mem (root, or a ptrace-capable
 * user: the daemon is not dumpable) and counts the occurrences of each
 * needle. Ranges over 1 GiB are reserved address space, not memory
 * (AddressSanitizer's shadow is terabytes), and are skipped. Prints
 * "scanned B bytes in R ranges (S skipped)" and one line "needle I: N hits"
 * per needle (the needle itself is never printed); with --where, also one
 * line "needle I at ADDRESS in MAPPING+OFFSET" per hit, to find what holds it.
 *
 * Exit status: 0 some needle was found, 1 none was, 2 usage or nothing could
 * be read (so that "not found" is never the result of reading nothing).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CHUNK (1024 * 1024)
#define MAX_RANGE ((uint64_t)1 << 30)
#define MAX_NEEDLES 256

enum { EXIT_FOUND = 0, EXIT_ABSENT = 1, EXIT_ERROR = 2 };

/* What is searched for, and what was found. */
struct scan {
	char *needles[MAX_NEEDLES];
	size_t lens[MAX_NEEDLES];
	unsigned long long hits[MAX_NEEDLES];
	int n;
	size_t overlap; /* the longest needle less one byte */
	bool where;
	const char *range_name; /* the mapped file or [stack], [heap]…, "" when anonymous */
	unsigned long long scanned;
};

/* Report one hit at address at, inside the range [start, ...) described by its maps line. */
static void
report_hit(const struct scan *sc, int i, uint64_t at, uint64_t start)
{
	const char *name = sc->range_name;

	printf("needle %d at 0x%" PRIx64 " in %s+0x%" PRIx64 "\n", i + 1, at,
	       name[0] != '\0' ? name : "[anon]", at - start);
}

/* Count the needles in one range [start, end) of the process's memory. */
static int
scan_range(struct scan *sc, int mem, uint64_t start, uint64_t end, char *buf)
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
		for (i = 0; i < sc->n; i++) {
			const char *p = buf, *stop = buf + have;
			const char *hit;

			/* A hit wholly inside the carried-over bytes was counted last time. */
			while ((hit = memmem(p, (size_t)(stop - p), sc->needles[i], sc->lens[i])) !=
			       NULL) {
				if ((size_t)(hit - buf) + sc->lens[i] > kept) {
					sc->hits[i]++;
					if (sc->where)
						report_hit(sc, i, at - kept + (uint64_t)(hit - buf),
							   start);
				}
				p = hit + 1;
			}
		}
		sc->scanned += (unsigned long long)got;
		at += (uint64_t)got;
		kept = have < sc->overlap ? have : sc->overlap;
		memmove(buf, buf + have - kept, kept);
	}
	return 0;
}

/* Read the needles, one per line, from stdin. Returns 0, or -1 with a message printed. */
static int
read_needles(struct scan *sc)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;

	while ((len = getline(&line, &cap, stdin)) != -1) {
		if (len > 0 && line[len - 1] == '\n')
			line[--len] = '\0';
		if (len == 0) {
			fputs("memscan: an empty needle matches everywhere\n", stderr);
			return -1;
		}
		if (sc->n == MAX_NEEDLES) {
			fputs("memscan: too many needles\n", stderr);
			return -1;
		}
		sc->needles[sc->n] = strdup(line);
		sc->lens[sc->n] = (size_t)len;
		if ((size_t)len - 1 > sc->overlap)
			sc->overlap = (size_t)len - 1;
		sc->n++;
	}
	free(line);
	if (sc->n == 0) {
		fputs("memscan: no needle on stdin\n", stderr);
		return -1;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	static struct scan sc;
	char path[64], line[4096], perms[8];
	int i, mem, ranges = 0, skipped = 0, found = 0;
	const char *pid;
	FILE *maps;
	char *buf;

	sc.where = argc == 3 && strcmp(argv[1], "--where") == 0;
	if (argc != 2 + sc.where) {
		fputs("usage: memscan [--where] PID < NEEDLES (one per line)\n", stderr);
		return EXIT_ERROR;
	}
	pid = argv[1 + sc.where];
	if (read_needles(&sc) == -1)
		return EXIT_ERROR;
	buf = malloc(CHUNK + sc.overlap);
	snprintf(path, sizeof path, "/proc/%s/maps", pid);
	maps = fopen(path, "r");
	snprintf(path, sizeof path, "/proc/%s/mem", pid);
	mem = open(path, O_RDONLY);
	if (buf == NULL || maps == NULL || mem == -1) {
		fprintf(stderr, "memscan: cannot open /proc/%s/maps or mem: %s\n", pid,
			strerror(errno));
		return EXIT_ERROR;
	}
	while (fgets(line, sizeof line, maps) != NULL) {
		uint64_t start, end;
		int name_at = 0;

		line[strcspn(line, "\n")] = '\0';
		if (sscanf(line, "%" SCNx64 "-%" SCNx64 " %7s %*s %*s %*s %n", &start, &end, perms,
			   &name_at) != 3 ||
		    name_at == 0 || perms[0] != 'r' || strstr(line, "[vvar") != NULL ||
		    strstr(line, "[vsyscall]") != NULL)
			continue;
		if (end - start > MAX_RANGE) {
			skipped++;
			continue;
		}
		sc.range_name = line + name_at;
		if (scan_range(&sc, mem, start, end, buf) == 0)
			ranges++;
	}
	fclose(maps);
	close(mem);
	printf("scanned %llu bytes in %d ranges (%d skipped)\n", sc.scanned, ranges, skipped);
	for (i = 0; i < sc.n; i++) {
		printf("needle %d: %llu hits\n", i + 1, sc.hits[i]);
		found |= sc.hits[i] > 0;
	}
	free(buf);
	if (sc.scanned == 0)
		return EXIT_ERROR;
	return found ? EXIT_FOUND : EXIT_ABSENT;
}
