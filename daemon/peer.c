/*
 * Who is on the other end of a connection. No credentials, no service: a
 * platform that cannot tell us is refused rather than trusted.
 */
#include "peer.h"

#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int
peer_read(int fd, struct peer *p)
{
#if defined(SO_PEERCRED) && defined(__linux__)
	struct ucred uc;
	socklen_t len = sizeof uc;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &len) == -1 || len != sizeof uc)
		return -1;
	p->uid = uc.uid;
	p->pid = uc.pid;
	return 0;
#elif defined(__APPLE__) || defined(__FreeBSD__) || defined(__OpenBSD__) || defined(__NetBSD__)
	gid_t gid;

	if (getpeereid(fd, &p->uid, &gid) == -1)
		return -1;
	p->pid = -1;
	return 0;
#else
	(void)fd;
	(void)p;
	return -1;
#endif
}

int
peer_allowed(const struct peer *p)
{
	return p->uid == geteuid();
}

void
peer_exe(pid_t pid, char *out, size_t size)
{
#ifdef __linux__
	char link[64];
	ssize_t n;

	snprintf(link, sizeof link, "/proc/%ld/exe", (long)pid);
	n = pid > 0 ? readlink(link, out, size - 1) : -1;
	if (n > 0) {
		out[n] = '\0';
		return;
	}
#else
	(void)pid;
#endif
	snprintf(out, size, "?");
}
