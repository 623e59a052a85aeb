/*
 * Socket activation. systemd passes listening fds from 3 up and names them in
 * LISTEN_FDS (count), LISTEN_PID (must be ours, or they were meant for another
 * process) and LISTEN_FDNAMES; the variables are unset so that children never
 * mistake the fds for theirs. launchd hands sockets over through
 * launch_activate_socket() with the name of the plist's Sockets entry.
 */
#include "activation.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#ifdef __APPLE__
#include <launch.h>
#endif

#define LISTEN_FDS_START 3

/* Check that fd is a listening Unix stream socket. */
static int
usable(int fd, char *err, size_t errsize)
{
	int type = 0, listening = 0;
	socklen_t len = sizeof type;
	struct sockaddr_storage ss;
	socklen_t sslen = sizeof ss;

	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) == -1 || type != SOCK_STREAM ||
	    getsockname(fd, (struct sockaddr *)&ss, &sslen) == -1 || ss.ss_family != AF_UNIX) {
		snprintf(err, errsize, "inherited fd %d is not a Unix stream socket", fd);
		return -1;
	}
#ifdef SO_ACCEPTCONN
	len = sizeof listening;
	if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) == 0 && !listening) {
		snprintf(err, errsize, "inherited fd %d is not listening", fd);
		return -1;
	}
#else
	(void)listening;
#endif
	return 0;
}

#ifdef __APPLE__
int
activation_socket(char *err, size_t errsize)
{
	int *fds = NULL;
	size_t n = 0, i;
	int rc = launch_activate_socket("Listeners", &fds, &n);

	if (rc == ENOENT || rc == ESRCH)
		return -1; /* not started by launchd, or no such socket entry */
	if (rc != 0 || n == 0) {
		snprintf(err, errsize, "launch_activate_socket: %s", strerror(rc));
		return -2;
	}
	for (i = 1; i < n; i++)
		close(fds[i]);
	rc = fds[0];
	free(fds);
	fcntl(rc, F_SETFD, FD_CLOEXEC);
	return usable(rc, err, errsize) == 0 ? rc : -2;
}
#else
int
activation_socket(char *err, size_t errsize)
{
	const char *pid = getenv("LISTEN_PID"), *fds = getenv("LISTEN_FDS");
	char *end;
	long n, p;
	int fd;

	if (pid == NULL || fds == NULL)
		return -1;
	p = strtol(pid, &end, 10);
	if (*end != '\0' || p != (long)getpid())
		return -1; /* meant for another process */
	n = strtol(fds, &end, 10);
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
	if (*end != '\0' || n < 1) {
		snprintf(err, errsize, "LISTEN_FDS=%s: no socket was passed", fds);
		return -2;
	}
	for (fd = LISTEN_FDS_START + 1; fd < LISTEN_FDS_START + n; fd++)
		close(fd); /* we serve one socket */
	fd = LISTEN_FDS_START;
	if (fcntl(fd, F_SETFD, FD_CLOEXEC) == -1) {
		snprintf(err, errsize, "inherited fd %d: %s", fd, strerror(errno));
		return -2;
	}
	return usable(fd, err, errsize) == 0 ? fd : -2;
}
#endif
