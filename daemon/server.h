/*
 * The listener and the peer sessions on it: accept with a peer check, split
 * input into request lines, gather replies into one write per read, apply the
 * limits of docs/DESIGN.md (connections, line length, idle time, output queue).
 */
#ifndef CCR_SERVER_H
#define CCR_SERVER_H

#include <stdbool.h>
#include <stdint.h>

#include <uv.h>

#include "buf.h"
#include "peer.h"

#define SERVER_MAX_SESSIONS 256
#define SERVER_OUT_LIMIT (1024 * 1024)

struct keyd;
struct change;
struct write_req;

/* One peer connection. */
struct session {
	uv_pipe_t pipe;
	struct keyd *k;
	struct session *prev, *next;
	struct peer peer; /* credentials; named at accept when auditing; agent verdict */
	struct buf in;
	size_t in_off;   /* bytes of in already handled */
	struct buf out;  /* replies not yet written */
	size_t queued;   /* bytes handed to uv_write and not yet written */
	struct write_req *writes; /* those uv_write requests, to wipe them at close */
	size_t unwritten;         /* libuv's write queue at the last sweep: progress */
	uint64_t last_active;     /* a request, or replies taken by the peer */
	struct change *waiting; /* a set or delete being written: handle nothing else */
	bool eof;
	bool paused; /* reads stopped: replies back up, or it waits holding over a line */
	bool closing;
	bool close_after_flush;
	bool guard; /* a registered agent guard (agent.c): never closed for idleness */
};

struct server {
	struct keyd *k;
	uv_pipe_t listener;
	bool listening;
	bool own_socket; /* we bound it, so we remove it */
	dev_t sock_dev;  /* what we bound, so that we never remove a successor's socket */
	ino_t sock_ino;
	char path[1024];
	struct session *sessions;
	unsigned nsessions;
	unsigned nguards; /* sessions that are registered guards: not held to the limit */
	uv_timer_t sweep;
	uint64_t last_activity;
	unsigned long accepted, refused;
};

/*
 * Bind and listen on the configured socket path: its directory made private,
 * a stale socket replaced, a live one refused, bound under umask 0177.
 * Returns 0, or -1 with err set.
 */
int server_listen(struct keyd *k, char *err, size_t errsize);

/* Listen on an inherited, already listening socket fd. Returns 0, or -1 with err set. */
int server_adopt(struct keyd *k, int fd, char *err, size_t errsize);

/* Stop accepting and remove the socket if we created it. */
void server_stop(struct server *srv);

/* Close every session (after a best-effort flush of its replies). */
void server_close_all(struct server *srv);

/*
 * Close every session with replies not yet written, wiping them: after a
 * lock they may hold values nobody will read before the next unlock.
 */
void server_close_unread(struct server *srv);

/*
 * Close every session holding input not yet handled (a set line still
 * arriving, say), wiping it: after a lock it may hold a value. A session
 * waiting for its lock or unlock to be answered gets that reply first.
 */
void server_drop_input(struct server *srv);

/* Continue a session after its pending change was answered. */
void session_resume(struct session *s);

#endif
