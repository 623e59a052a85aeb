/*
 * Whole-process timer: runs each command N times and prints the median wall
 * time from spawn to exit, one key=value line per command. With several
 * commands (separated by ":::") the runs are interleaved round-robin, so a
 * noisy neighbour or a frequency change hits every command alike.
 *
 *   proctime [-n RUNS] [-w WARMUP] CMD ARG... [::: CMD ARG...]...
 *
 * Commands are started with posix_spawnp (vfork + exec in glibc, so the cost
 * of starting one is the same small constant for each), stdin, stdout and
 * stderr on /dev/null. A command that exits non-zero aborts the timing with
 * exit status 3: a failing command has no time worth reporting.
 */
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_CMDS 16

extern char **environ;

static void usage(void) __attribute__((noreturn));

/* Print how to call this program and exit 2. */
static void
usage(void)
{
	fprintf(stderr, "usage: proctime [-n RUNS] [-w WARMUP] CMD ARG... [::: CMD ARG...]...\n");
	exit(2);
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

/* Run argv once with the standard streams on /dev/null; returns its wall time in ns. */
static uint64_t
run_once(char **argv, const posix_spawn_file_actions_t *fa, int index)
{
	uint64_t t0, t1;
	pid_t pid;
	int rc, status;

	t0 = now_ns();
	rc = posix_spawnp(&pid, argv[0], fa, NULL, argv, environ);
	if (rc != 0) {
		fprintf(stderr, "proctime: FAILED: cannot run %s: %s\n", argv[0], strerror(rc));
		exit(3);
	}
	while (waitpid(pid, &status, 0) == -1) {
		if (errno != EINTR) {
			perror("proctime: waitpid");
			exit(3);
		}
	}
	t1 = now_ns();
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		fprintf(stderr,
		        "proctime: FAILED: command %d (%s) %s %d; run it by hand to see why\n",
		        index, argv[0], WIFEXITED(status) ? "exited with status" : "died of signal",
		        WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
		exit(3);
	}
	return t1 - t0;
}

int
main(int argc, char **argv)
{
	posix_spawn_file_actions_t fa;
	char **cmds[MAX_CMDS];
	uint64_t *times[MAX_CMDS];
	long runs = 200, warmup = 5, r;
	int ncmd = 0, i, c;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-n") == 0 && i + 1 < argc)
			runs = atol(argv[++i]);
		else if (strcmp(argv[i], "-w") == 0 && i + 1 < argc)
			warmup = atol(argv[++i]);
		else if (strcmp(argv[i], "--") == 0) {
			i++;
			break;
		} else
			break;
	}
	if (i >= argc || runs < 1 || warmup < 0)
		usage();
	/* Split the rest at ":::" into commands, in place. */
	cmds[ncmd++] = &argv[i];
	for (; i < argc; i++) {
		if (strcmp(argv[i], ":::") != 0)
			continue;
		argv[i] = NULL;
		if (ncmd == MAX_CMDS || i + 1 >= argc)
			usage();
		cmds[ncmd++] = &argv[i + 1];
	}
	for (c = 0; c < ncmd; c++) {
		if (cmds[c][0] == NULL)
			usage();
		times[c] = calloc((size_t)runs, sizeof *times[c]);
		if (times[c] == NULL) {
			fprintf(stderr, "proctime: out of memory\n");
			return 1;
		}
	}

	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);

	for (r = 0; r < warmup; r++) {
		for (c = 0; c < ncmd; c++)
			run_once(cmds[c], &fa, c + 1);
	}
	for (r = 0; r < runs; r++) {
		for (c = 0; c < ncmd; c++)
			times[c][r] = run_once(cmds[c], &fa, c + 1);
	}

	for (c = 0; c < ncmd; c++) {
		uint64_t *t = times[c], sum = 0;

		qsort(t, (size_t)runs, sizeof *t, cmp_u64);
		for (r = 0; r < runs; r++)
			sum += t[r];
		printf("cmd=%d runs=%ld median_us=%.1f p10_us=%.1f p90_us=%.1f mean_us=%.1f "
		       "min_us=%.1f\n",
		       c + 1, runs, t[runs / 2] / 1000.0, t[runs / 10] / 1000.0,
		       t[runs * 9 / 10] / 1000.0, (double)sum / (double)runs / 1000.0,
		       t[0] / 1000.0);
		free(t);
	}
	posix_spawn_file_actions_destroy(&fa);
	return 0;
}
