/*
 * Daemon start timer: starts a server command, times how long until its socket
 * answers a hello with "ok":true, reads its resident memory at that moment
 * (VmRSS and RssAnon from /proc/PID/status), then stops it with SIGTERM.
 * Prints one key=value line per command, medians over RUNS starts; several
 * commands (separated by ":::") are started in turn, round-robin.
 *
 *   starttime [-n RUNS] --socket PATH CMD ARG... [::: CMD ARG...]...
 *
 * The command's output goes to /dev/null. A command that exits before it
 * answers, or does not answer within 10 s, aborts the timing with status 3.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_CMDS 8
#define ANSWER_TIMEOUT_NS (10ull * 1000000000u)

extern char **environ;

static const char hello[] = "{\"op\":\"hello\",\"id\":1}\n";

static void usage(void) __attribute__((noreturn));

/* Print how to call this program and exit 2. */
static void
usage(void)
{
	fprintf(stderr,
	        "usage: starttime [-n RUNS] --socket PATH CMD ARG... [::: CMD ARG...]...\n");
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

/* Compare two values for qsort. */
static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Send a hello on a fresh connection; returns 1 when it was answered with ok, 0 when nobody
 * listens. */
static int
try_hello(const struct sockaddr_un *sun)
{
	char line[4096];
	size_t have = 0;
	ssize_t n;
	int fd;

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd == -1)
		return 0;
	if (connect(fd, (const struct sockaddr *)sun, sizeof *sun) == -1) {
		close(fd);
		return 0;
	}
	if (write(fd, hello, sizeof hello - 1) != (ssize_t)(sizeof hello - 1)) {
		close(fd);
		return 0;
	}
	while (have < sizeof line - 1) {
		n = read(fd, line + have, sizeof line - 1 - have);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		have += (size_t)n;
		if (memchr(line, '\n', have) != NULL)
			break;
	}
	close(fd);
	line[have] = '\0';
	if (memchr(line, '\n', have) == NULL)
		return 0;
	if (strstr(line, "\"ok\":true") == NULL) {
		fprintf(stderr, "starttime: FAILED: hello answered without \"ok\":true: %s", line);
		exit(3);
	}
	return 1;
}

/* Read a "Key:   N kB" figure from /proc/PID/status; -1 when absent. */
static long
status_kib(pid_t pid, const char *key)
{
	char path[64], line[256];
	size_t klen = strlen(key);
	long v = -1;
	FILE *f;

	snprintf(path, sizeof path, "/proc/%ld/status", (long)pid);
	f = fopen(path, "r");
	if (f == NULL)
		return -1;
	while (fgets(line, sizeof line, f) != NULL) {
		if (strncmp(line, key, klen) == 0 && line[klen] == ':') {
			v = atol(line + klen + 1);
			break;
		}
	}
	fclose(f);
	return v;
}

/* Stop the server with SIGTERM (SIGKILL after 5 s) and reap it; returns its wait status. */
static int
stop(pid_t pid)
{
	uint64_t t0 = now_ns();
	int status;
	pid_t r;

	kill(pid, SIGTERM);
	for (;;) {
		r = waitpid(pid, &status, WNOHANG);
		if (r == pid)
			return status;
		if (r == -1 && errno != EINTR)
			return 0;
		if (now_ns() - t0 > 5000000000ull) {
			fprintf(stderr, "starttime: pid %ld ignored SIGTERM for 5 s; killing it\n",
			        (long)pid);
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			return status;
		}
		usleep(1000);
	}
}

/* One start: returns the ns until hello is answered, and the RSS figures then. */
static uint64_t
start_once(char **argv, const posix_spawn_file_actions_t *fa, const struct sockaddr_un *sun,
           long *rss, long *anon)
{
	uint64_t t0, t;
	pid_t pid;
	int rc, status;

	t0 = now_ns();
	rc = posix_spawnp(&pid, argv[0], fa, NULL, argv, environ);
	if (rc != 0) {
		fprintf(stderr, "starttime: FAILED: cannot run %s: %s\n", argv[0], strerror(rc));
		exit(3);
	}
	for (;;) {
		if (try_hello(sun))
			break;
		if (waitpid(pid, &status, WNOHANG) == pid) {
			fprintf(stderr,
			        "starttime: FAILED: %s exited (status %d) before it answered; "
			        "run it by hand to see why\n",
			        argv[0], WIFEXITED(status) ? WEXITSTATUS(status) : -1);
			exit(3);
		}
		if (now_ns() - t0 > ANSWER_TIMEOUT_NS) {
			stop(pid);
			fprintf(stderr, "starttime: FAILED: %s did not answer within 10 s\n",
			        argv[0]);
			exit(3);
		}
		usleep(50);
	}
	t = now_ns() - t0;
	*rss = status_kib(pid, "VmRSS");
	*anon = status_kib(pid, "RssAnon");
	status = stop(pid);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		fprintf(stderr, "starttime: warning: %s did not exit 0 on SIGTERM (status %d)\n",
		        argv[0], WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status));
	return t;
}

int
main(int argc, char **argv)
{
	posix_spawn_file_actions_t fa;
	struct sockaddr_un sun;
	char **cmds[MAX_CMDS];
	uint64_t *times[MAX_CMDS], *rss[MAX_CMDS], *anon[MAX_CMDS];
	const char *path = NULL;
	long runs = 9, r, kib, akib;
	int ncmd = 0, i, c;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-n") == 0 && i + 1 < argc)
			runs = atol(argv[++i]);
		else if (strcmp(argv[i], "--socket") == 0 && i + 1 < argc)
			path = argv[++i];
		else if (strcmp(argv[i], "--") == 0) {
			i++;
			break;
		} else
			break;
	}
	if (i >= argc || runs < 1 || path == NULL)
		usage();
	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof sun.sun_path)
		usage();
	strcpy(sun.sun_path, path);
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
		times[c] = calloc((size_t)runs, sizeof *times[c]);
		rss[c] = calloc((size_t)runs, sizeof *rss[c]);
		anon[c] = calloc((size_t)runs, sizeof *anon[c]);
		if (times[c] == NULL || rss[c] == NULL || anon[c] == NULL) {
			fprintf(stderr, "starttime: out of memory\n");
			return 1;
		}
	}
	signal(SIGPIPE, SIG_IGN);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);

	for (r = 0; r < runs; r++) {
		for (c = 0; c < ncmd; c++) {
			times[c][r] = start_once(cmds[c], &fa, &sun, &kib, &akib);
			rss[c][r] = kib < 0 ? 0 : (uint64_t)kib;
			anon[c][r] = akib < 0 ? 0 : (uint64_t)akib;
		}
	}
	for (c = 0; c < ncmd; c++) {
		qsort(times[c], (size_t)runs, sizeof *times[c], cmp_u64);
		qsort(rss[c], (size_t)runs, sizeof *rss[c], cmp_u64);
		qsort(anon[c], (size_t)runs, sizeof *anon[c], cmp_u64);
		printf(
		    "cmd=%d runs=%ld median_us=%.1f min_us=%.1f rss_kib=%llu rss_anon_kib=%llu\n",
		    c + 1, runs, times[c][runs / 2] / 1000.0, times[c][0] / 1000.0,
		    (unsigned long long)rss[c][runs / 2], (unsigned long long)anon[c][runs / 2]);
		free(times[c]);
		free(rss[c]);
		free(anon[c]);
	}
	posix_spawn_file_actions_destroy(&fa);
	return 0;
}
