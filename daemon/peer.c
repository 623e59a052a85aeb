/*
 * Who is on the other end of a connection. No credentials, no service: a
 * platform that cannot tell us is refused rather than trusted.
 */
#include "peer.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>
#ifdef __APPLE__
#include <sys/un.h>
#endif

#include "agent_rules.h"
#include "proc.h"

#if defined(__linux__) && !defined(SO_PEERPIDFD)
#define SO_PEERPIDFD 77 /* Linux 6.5; older headers lack it */
#endif

int
peer_read(int fd, struct peer *p)
{
	memset(p, 0, sizeof *p);
	snprintf(p->exe, sizeof p->exe, "?");
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
#ifdef LOCAL_PEERPID
	{
		pid_t pid;
		socklen_t len = sizeof pid;

		if (getsockopt(fd, SOL_LOCAL, LOCAL_PEERPID, &pid, &len) == 0 && len == sizeof pid)
			p->pid = pid;
	}
#endif
	return 0;
#else
	(void)fd;
	return -1;
#endif
}

int
peer_allowed(const struct peer *p)
{
	return p->uid == geteuid();
}

void
peer_identify(struct peer *p)
{
	struct proc_info info;
	const char *base;

	if (p->pid <= 0 || proc_read(p->pid, &info, PROC_EXE | PROC_ARGS) == -1)
		return;
	snprintf(p->exe, sizeof p->exe, "%s", info.exe[0] != '\0' ? info.exe : "?");
	snprintf(p->comm, sizeof p->comm, "%s", info.comm);
	base = proc_basename(info.exe[0] != '\0' ? info.exe : info.comm);
	proc_command(&info, agent_rules_interpreter(NULL, base), p->cmd, sizeof p->cmd);
}

int
peer_alive(int fd)
{
#if defined(__linux__) && defined(SYS_pidfd_send_signal)
	int pidfd = -1, rc, saved;
	socklen_t len = sizeof pidfd;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERPIDFD, &pidfd, &len) == -1)
		return errno == ESRCH ? 0 : -1;
	/* Signal 0 reaches a live process (or a zombie, whose pid is not free yet). */
	rc = (int)syscall(SYS_pidfd_send_signal, pidfd, 0, NULL, 0);
	saved = errno;
	close(pidfd);
	return rc == 0 ? 1 : saved == ESRCH ? 0 : -1;
#else
	(void)fd;
	return -1;
#endif
}
