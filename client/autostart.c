/*
 * Starting ccr-keyd on demand (docs/DESIGN.md, "Client"). Two clients may find the
 * daemon missing at once: each takes a lock file beside the socket, tries the
 * socket again under the lock, and only then spawns, so exactly one daemon
 * starts. `ccr-keyd --daemon` exits once its child listens, so waiting for it
 * is waiting for the socket. The socket's directory must pass the client's
 * trust check (conn_trust_dir) before anything is spawned or locked there, and
 * the daemon inherits no descriptor but stdin, stdout and stderr.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

#define START_TIMEOUT_MS 2000

/* Sleep for ms milliseconds. */
static void
nap(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};

	nanosleep(&ts, NULL);
}

/* Take the start-up lock within the deadline. Returns its fd or -1. */
static int
take_lock(const char *socket, long long deadline, char *err, size_t errsize)
{
	char path[PATHS_MAX + 8];
	int fd;

	snprintf(path, sizeof path, "%s.lock", socket);
	fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd == -1) {
		snprintf(err, errsize, "cannot open %s: %s", path, strerror(errno));
		return -1;
	}
	while (flock(fd, LOCK_EX | LOCK_NB) == -1) {
		if (cli_now_ms() > deadline) {
			snprintf(err, errsize, "another client holds %s", path);
			close(fd);
			return -1;
		}
		nap(5);
	}
	return fd;
}

/* True when something answers on the socket now. */
static int
answers(const char *socket)
{
	struct conn c;
	char err[256];

	if (conn_open(&c, socket, 1000, err, sizeof err) == -1)
		return 0;
	conn_close(&c);
	return 1;
}

/* The ccr-keyd to run: $CCR_KEYD_BIN, else beside this program, else from PATH. */
static void
find_daemon(char *out, size_t size)
{
	const char *bin = getenv("CCR_KEYD_BIN");
	char self[PATHS_MAX], dir[PATHS_MAX];

	if (bin != NULL && bin[0] != '\0') {
		snprintf(out, size, "%s", bin);
		return;
	}
	if (cli_self_path(self, sizeof self) == 0) {
		paths_dirname(self, dir, sizeof dir);
		snprintf(out, size, "%s/ccr-keyd", dir);
		if (access(out, X_OK) == 0)
			return;
	}
	snprintf(out, size, "ccr-keyd");
}

/*
 * Close every descriptor above stderr (in the child, before exec): the daemon
 * lives on, and must not hold a CI job's pipe or a caller's file for its life.
 * close_range where the kernel has it (Linux 5.9, FreeBSD 12.2), else a loop.
 */
static void
close_inherited(void)
{
	long fd, max;

#ifdef SYS_close_range
	if (syscall(SYS_close_range, 3u, ~0u, 0u) == 0)
		return;
#endif
	max = sysconf(_SC_OPEN_MAX);
	if (max < 0 || max > 65536)
		max = 65536;
	for (fd = 3; fd < max; fd++)
		close((int)fd);
}

/* Run `ccr-keyd --daemon` and wait for it to report that it listens. */
static int
spawn(const char *socket, long long deadline, char *err, size_t errsize)
{
	char bin[PATHS_MAX];
	int status, devnull;
	pid_t pid, done;

	find_daemon(bin, sizeof bin);
	pid = fork();
	if (pid == -1) {
		snprintf(err, errsize, "fork: %s", strerror(errno));
		return -1;
	}
	if (pid == 0) {
		devnull = open("/dev/null", O_RDWR);
		if (devnull != -1) {
			dup2(devnull, STDIN_FILENO);
			dup2(devnull, STDOUT_FILENO);
		}
		close_inherited();
		execlp(bin, "ccr-keyd", "--daemon", "--spawned-by-client", "--socket", socket,
		       (char *)NULL);
		fprintf(stderr, "ccr-config: cannot run %s: %s\n", bin, strerror(errno));
		_exit(127);
	}
	for (;;) {
		done = waitpid(pid, &status, WNOHANG);
		if (done == pid)
			break;
		if (cli_now_ms() > deadline) {
			snprintf(err, errsize, "ccr-keyd did not start within 2 s");
			return -1;
		}
		nap(2);
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		snprintf(err, errsize, "%s exited with status %d (see its message above)", bin,
			 WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
		return -1;
	}
	return 0;
}

int
autostart_daemon(const char *socket, char *err, size_t errsize)
{
	long long deadline = cli_now_ms() + START_TIMEOUT_MS;
	char dir[PATHS_MAX];
	struct stat st;
	int lock, rc = 0;

	paths_dirname(socket, dir, sizeof dir);
	if (mkdir(dir, 0700) == -1 && errno != EEXIST) {
		snprintf(err, errsize, "cannot create directory %s: %s", dir, strerror(errno));
		return -1;
	}
	rc = conn_trust_dir(socket, &st, err, errsize);
	if (rc != 0)
		return rc;
	lock = take_lock(socket, deadline, err, errsize);
	if (lock == -1)
		return -1;
	if (!answers(socket))
		rc = spawn(socket, deadline, err, errsize);
	close(lock);
	return rc;
}
