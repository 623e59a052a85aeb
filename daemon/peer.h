/*
 * Peer credentials of a Unix socket connection (DESIGN.md, "Peer check").
 */
#ifndef CCR_PEER_H
#define CCR_PEER_H

#include <stddef.h>
#include <sys/types.h>

struct peer {
	uid_t uid;
	pid_t pid; /* -1 where the platform does not say */
};

/*
 * Read the credentials of the peer on fd (SO_PEERCRED on Linux, getpeereid
 * elsewhere). Returns 0, or -1 when they cannot be read: such a peer is refused.
 */
int peer_read(int fd, struct peer *p);

/* True when the peer may use the daemon: same uid as our effective uid. */
int peer_allowed(const struct peer *p);

/*
 * Write the executable path of pid to out (the /proc/PID/exe link on Linux),
 * or "?" when it cannot be read.
 */
void peer_exe(pid_t pid, char *out, size_t size);

#endif
