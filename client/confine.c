/*
 * Confining an agent with bubblewrap (confine.h): finding bwrap, asking once
 * whether it can make its namespaces here, choosing the directories to hide,
 * and executing the agent inside.
 */
#include "confine.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "paths.h"

/* At most this many directories are hidden: the router's home, ours, the keystore's, the socket's.
 */
#define HIDDEN_MAX 4

/* Find bwrap on PATH, else in /usr/bin; write its path to out. Returns 0 or -1. */
static int
find_bwrap(char *out, size_t size)
{
	if (cli_which("bwrap", out, size) == 0)
		return 0;
	snprintf(out, size, "/usr/bin/bwrap");
	return access(out, X_OK);
}

/* True when dir is path or one of its ancestors. */
static bool
covers(const char *dir, const char *path)
{
	size_t n = strlen(dir);

	if (strcmp(dir, "/") == 0)
		return true;
	return strncmp(dir, path, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

/* Add dir (made real, created 0700 when missing) to the n directories in hidden. */
static int
add_hidden(char hidden[HIDDEN_MAX][PATH_MAX], size_t *n, const char *dir, char *err, size_t errsize)
{
	char real[PATH_MAX];
	size_t i;

	if (access(dir, F_OK) == -1 && errno == ENOENT &&
	    paths_private_dir(dir, 1, err, errsize) == -1)
		return -1;
	if (realpath(dir, real) == NULL) {
		snprintf(err, errsize, "cannot resolve %s: %s", dir, strerror(errno));
		return -1;
	}
	for (i = 0; i < *n; i++) {
		if (strcmp(hidden[i], real) == 0)
			return 0;
	}
	snprintf(hidden[(*n)++], PATH_MAX, "%s", real);
	return 0;
}

/*
 * The directories the agent must not see: the router's home, ccr-keyd's home,
 * the keystore's and the socket's directories. None may be HOME, the working
 * directory or one of their ancestors: hiding it would hide the agent's work.
 */
static int
hidden_dirs(char hidden[HIDDEN_MAX][PATH_MAX], size_t *n, char *err, size_t errsize)
{
	char p[PATHS_MAX], dir[PATHS_MAX], home[PATH_MAX], cwd[PATH_MAX];
	const char *h = getenv("HOME");
	size_t i;

	*n = 0;
	if (h == NULL || h[0] == '\0' || realpath(h, home) == NULL) {
		snprintf(err, errsize, "no home directory to confine the agent in: set HOME");
		return -1;
	}
	if (getcwd(cwd, sizeof cwd) == NULL)
		snprintf(cwd, sizeof cwd, "%s", home);
	snprintf(dir, sizeof dir, "%s/.claude-code-router", h);
	if (add_hidden(hidden, n, dir, err, errsize) == -1)
		return -1;
	if (paths_home(p, sizeof p, err, errsize) == -1 ||
	    add_hidden(hidden, n, p, err, errsize) == -1)
		return -1;
	if (paths_keystore(p, sizeof p, err, errsize) == -1)
		return -1;
	paths_dirname(p, dir, sizeof dir);
	if (add_hidden(hidden, n, dir, err, errsize) == -1)
		return -1;
	if (paths_socket(p, sizeof p, err, errsize) == -1)
		return -1;
	paths_dirname(p, dir, sizeof dir);
	if (add_hidden(hidden, n, dir, err, errsize) == -1)
		return -1;
	for (i = 0; i < *n; i++) {
		if (covers(hidden[i], home) || covers(hidden[i], cwd)) {
			snprintf(
			    err, errsize,
			    "%s holds ccr-keyd's files and also %s: hiding it would hide the "
			    "agent's work; give the keystore and the socket directories of their "
			    "own (CCR_KEYS, CCR_KEYD_SOCKET)",
			    hidden[i], covers(hidden[i], cwd) ? cwd : home);
			return -1;
		}
	}
	return 0;
}

bool
confine_available(char *why, size_t whysize)
{
	static int known = -1;
	static char reason[512];
	char bwrap[PATHS_MAX], msg[256] = "";
	int fds[2], status;
	ssize_t got = 0;
	pid_t pid;

	if (known == -1) {
		known = 0;
		if (find_bwrap(bwrap, sizeof bwrap) == -1) {
			snprintf(reason, sizeof reason,
			         "bubblewrap is not installed (Debian, Ubuntu: "
			         "apt install bubblewrap)");
		} else if (pipe(fds) == -1) {
			snprintf(reason, sizeof reason, "cannot run bubblewrap: %s",
			         strerror(errno));
		} else if ((pid = fork()) == 0) {
			int null = open("/dev/null", O_RDWR);

			dup2(null, STDIN_FILENO);
			dup2(null, STDOUT_FILENO);
			dup2(fds[1], STDERR_FILENO);
			execl(bwrap, "bwrap", "--dev-bind", "/", "/", "--unshare-pid", "--proc",
			      "/proc", "--", "/bin/sh", "-c", ":", (char *)NULL);
			_exit(127);
		} else {
			close(fds[1]);
			if (pid > 0)
				got = read(fds[0], msg, sizeof msg - 1);
			close(fds[0]);
			msg[got > 0 ? got : 0] = '\0';
			msg[strcspn(msg, "\n")] = '\0';
			if (pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
			    WEXITSTATUS(status) == 0)
				known = 1;
			else
				snprintf(reason, sizeof reason,
				         "bubblewrap cannot make its namespaces here (%s)",
				         msg[0] != '\0' ? msg : "it failed");
		}
	}
	if (!known)
		snprintf(why, whysize, "%s", reason);
	return known == 1;
}

int
confine_exec(char **cmd)
{
	char hidden[HIDDEN_MAX][PATH_MAX], bwrap[PATHS_MAX], err[PATH_MAX + 512];
	const char *fixed[] = {"--dev-bind",
	                       "/",
	                       "/",
	                       "--unshare-pid",
	                       "--die-with-parent",
	                       "--proc",
	                       "/proc",
	                       "--setenv",
	                       CONFINE_ENV,
	                       "bubblewrap",
	                       "--setenv",
	                       "CCR_KEYD_NO_AUTOSTART",
	                       "1",
	                       NULL};
	size_t n, i, argc = 0, ncmd = 0;
	char **argv;

	if (find_bwrap(bwrap, sizeof bwrap) == -1)
		return cli_error(EXIT_FAILURE_OTHER,
		                 "cannot confine %s: bubblewrap is not installed", cmd[0]);
	/* A command that cannot run fails as exec would say, not as bwrap would. */
	if (cli_which(cmd[0], err, sizeof err) == -1)
		return cli_error(errno == ENOENT ? 127 : 126, "cannot run %s: %s", cmd[0],
		                 strerror(errno));
	if (hidden_dirs(hidden, &n, err, sizeof err) == -1)
		return cli_error(EXIT_FAILURE_OTHER, "cannot confine %s: %s", cmd[0], err);
	while (cmd[ncmd] != NULL)
		ncmd++;
	argv = calloc(2 + 13 + 2 * n + 1 + ncmd + 1, sizeof *argv);
	if (argv == NULL)
		return cli_error(EXIT_FAILURE_OTHER, "out of memory");
	argv[argc++] = "bwrap";
	for (i = 0; fixed[i] != NULL; i++)
		argv[argc++] = (char *)fixed[i];
	for (i = 0; i < n; i++) {
		argv[argc++] = "--tmpfs";
		argv[argc++] = hidden[i];
	}
	argv[argc++] = "--";
	for (i = 0; i < ncmd; i++)
		argv[argc++] = cmd[i];
	fflush(stdout);
	fflush(stderr);
	execv(bwrap, argv);
	free(argv);
	return cli_error(126, "cannot run %s: %s", bwrap, strerror(errno));
}

bool
confine_inside(void)
{
	const char *v = getenv(CONFINE_ENV);

	return v != NULL && v[0] != '\0';
}
