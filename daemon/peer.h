/*
 * Who is on the other end of a Unix socket connection (docs/DESIGN.md, "Peer
 * check"): its credentials, what program it is, and — once the agent guard
 * asked — whether it runs inside a coding agent's process tree.
 */
#ifndef CCR_PEER_H
#define CCR_PEER_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* What the agent guard found about a peer (daemon/agent.c). */
enum peer_agent {
	PEER_UNCHECKED, /* not asked yet: the walk runs at the first op that needs it */
	PEER_OUTSIDE,   /* no agent and no guard above it */
	PEER_INSIDE,    /* inside agent (the name below) */
	PEER_UNKNOWN,   /* its ancestry could not be read: treated as inside */
};

struct peer {
	uid_t uid;
	pid_t pid;     /* -1 where the platform does not say */
	char exe[256]; /* the executable's path; "?" when closed (non-dumpable) or not read */
	char comm[32]; /* the kernel's short name, "" when not read */
	char cmd[256]; /* argv[0], and the script an interpreter runs */
	enum peer_agent agent_state;
	char agent[64]; /* PEER_INSIDE: the agent's name ("claude", or "ccr code" for a guard) */
	pid_t agent_pid;
};

/*
 * Read the credentials of the peer on fd (SO_PEERCRED on Linux, getpeereid and
 * LOCAL_PEERPID on macOS, getpeereid elsewhere). Returns 0, or -1 when they
 * cannot be read: such a peer is refused.
 */
int peer_read(int fd, struct peer *p);

/* True when the peer may use the daemon: same uid as our effective uid. */
int peer_allowed(const struct peer *p);

/*
 * Name the peer for the log and the audit log: its executable's path, its
 * comm and its command (argv[0], and an interpreter's script), which still
 * name a non-dumpable peer whose executable link is closed.
 */
void peer_identify(struct peer *p);

/*
 * Is the process that connected on fd still running? 1 yes, 0 no (it exited,
 * and its pid may be another process's by now), -1 cannot tell (no
 * SO_PEERPIDFD: Linux before 6.5, other systems).
 */
int peer_alive(int fd);

#endif
