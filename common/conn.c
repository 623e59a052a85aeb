/*
 * Blocking client connections. Every line read may carry a key, so the input
 * buffer is wiped as lines are consumed and replies are wiped when freed.
 *
 * Before a byte is sent the client makes sure the socket is its own daemon's
 * (docs/DESIGN.md, "Peer check": the check runs both ways): otherwise a user who
 * plants a socket where we look (a shared XDG_RUNTIME_DIR, a directory others
 * may write) would receive our keys and passphrases and choose what exec injects.
 */
#include "conn.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "paths.h"

/* The least room a read is given: one page, less buf's terminating NUL. */
#define CONN_READ_MIN 4095

int
conn_trust_dir(const char *path, struct stat *st, char *err, size_t errsize)
{
	char dir[PATHS_MAX];
	const char *why = NULL;

	paths_dirname(path, dir, sizeof dir);
	if (lstat(dir, st) == -1) {
		int saved = errno;

		snprintf(err, errsize, "cannot connect to %s: %s", path, strerror(saved));
		errno = saved;
		return -1;
	}
	if (S_ISLNK(st->st_mode))
		why = "is a symlink";
	else if (!S_ISDIR(st->st_mode))
		why = "is not a directory";
	else if (st->st_uid != geteuid())
		why = "is not yours";
	else if (st->st_mode & 022)
		why = "is writable by others";
	if (why == NULL)
		return 0;
	snprintf(err, errsize,
	         "refusing to talk to %s: its directory %s %s (owner uid %ld, mode %04o; you are "
	         "uid %ld); nothing was sent; use a socket in a private directory of your own",
	         path, dir, why, (long)st->st_uid, (unsigned)(st->st_mode & 07777),
	         (long)geteuid());
	return CONN_UNTRUSTED;
}

/*
 * The uid of the process listening on the other end of fd: SO_PEERCRED on
 * Linux, getpeereid on macOS and the BSDs. Returns 0, or -1 where the system
 * cannot tell: then the peer is not trusted.
 */
static int
server_uid(int fd, uid_t *uid)
{
#if defined(SO_PEERCRED) && defined(__linux__)
	struct ucred uc;
	socklen_t len = sizeof uc;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &len) == -1 || len != sizeof uc)
		return -1;
	*uid = uc.uid;
	return 0;
#elif defined(__APPLE__) || defined(__FreeBSD__) || defined(__OpenBSD__) || defined(__NetBSD__)
	gid_t gid;

	return getpeereid(fd, uid, &gid);
#else
	(void)fd;
	(void)uid;
	return -1;
#endif
}

/*
 * Whether a server of uid may hear us: our own uid. On macOS launchd, which
 * runs as root, listens on an activated socket for the agent, so root is
 * accepted there (root can read our keystore anyway).
 */
static int
server_trusted(uid_t uid)
{
#ifdef __APPLE__
	if (uid == 0)
		return 1;
#endif
	return uid == geteuid();
}

/*
 * After the connect: the server runs as us and the directory is still the one
 * checked before. Returns 0 or CONN_UNTRUSTED with err set.
 */
static int
trust_server(int fd, const char *path, const struct stat *before, char *err, size_t errsize)
{
	struct stat now;
	uid_t uid;
	int rc;

	if (server_uid(fd, &uid) == -1) {
		snprintf(err, errsize,
		         "refusing to talk to %s: cannot tell which user listens there (%s); "
		         "nothing was sent",
		         path, strerror(errno));
		return CONN_UNTRUSTED;
	}
	if (!server_trusted(uid)) {
		snprintf(
		    err, errsize,
		    "refusing to talk to %s: the process listening there runs as uid %ld, not "
		    "as you (uid %ld); nothing was sent; stop it, or use a socket in a private "
		    "directory of your own",
		    path, (long)uid, (long)geteuid());
		return CONN_UNTRUSTED;
	}
	rc = conn_trust_dir(path, &now, err, errsize);
	if (rc == 0 && (now.st_dev != before->st_dev || now.st_ino != before->st_ino)) {
		snprintf(err, errsize,
		         "refusing to talk to %s: its directory was replaced while connecting; "
		         "nothing was sent",
		         path);
		rc = CONN_UNTRUSTED;
	}
	return rc == -1 ? CONN_UNTRUSTED : rc;
}

int
conn_open(struct conn *c, const char *path, int timeout_ms, char *err, size_t errsize)
{
	struct sockaddr_un sun;
	struct stat dir;
	int saved, rc;

	memset(c, 0, sizeof *c);
	c->fd = -1;
	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof sun.sun_path) {
		snprintf(err, errsize, "socket path too long: %s", path);
		errno = ENAMETOOLONG;
		return -1;
	}
	strcpy(sun.sun_path, path);
	rc = conn_trust_dir(path, &dir, err, errsize);
	if (rc != 0)
		return rc;
#ifdef SOCK_CLOEXEC
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
#else
	c->fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (c->fd != -1)
		fcntl(c->fd, F_SETFD, FD_CLOEXEC);
#endif
	if (c->fd == -1) {
		snprintf(err, errsize, "socket: %s", strerror(errno));
		return -1;
	}
	if (timeout_ms > 0) {
		struct timeval tv = {.tv_sec = timeout_ms / 1000,
		                     .tv_usec = (timeout_ms % 1000) * 1000};

		setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
		setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	}
	if (connect(c->fd, (struct sockaddr *)&sun, sizeof sun) == -1) {
		saved = errno;
		snprintf(err, errsize, "cannot connect to %s: %s", path, strerror(saved));
		rc = -1;
	} else {
		rc = trust_server(c->fd, path, &dir, err, errsize);
		saved = EPERM;
	}
	if (rc != 0) {
		close(c->fd);
		c->fd = -1;
		errno = saved;
	}
	return rc;
}

int
conn_send(struct conn *c, const struct buf *req, char *err, size_t errsize)
{
	const char *p = req->data;
	size_t left = req->len;

	while (left > 0) {
		ssize_t n = send(c->fd, p, left, MSG_NOSIGNAL);

		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			snprintf(err, errsize, "cannot send to ccr-keyd: %s", strerror(errno));
			return -1;
		}
		p += n;
		left -= (size_t)n;
	}
	return 0;
}

struct jsonr *
conn_recv(struct conn *c, char *err, size_t errsize)
{
	size_t scanned = 0;
	char *nl;
	struct jsonr *reply;

	for (;;) {
		ssize_t n;

		nl = c->in.len > scanned ? memchr(c->in.data + scanned, '\n', c->in.len - scanned)
		                         : NULL;
		if (nl != NULL)
			break;
		scanned = c->in.len;
		if (c->in.len > 4u * PROTO_LINE_MAX * 64) {
			snprintf(err, errsize, "reply from ccr-keyd too long");
			return NULL;
		}
		/* Room for as much again as is held, at least a page: a reply of a few hundred
		 * bytes then touches (and wipes) one small block, a long list still grows
		 * geometrically. */
		buf_reserve(&c->in, c->in.len > CONN_READ_MIN ? c->in.len : CONN_READ_MIN);
		n = recv(c->fd, c->in.data + c->in.len, c->in.cap - c->in.len - 1, 0);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			snprintf(err, errsize, "ccr-keyd did not answer in time");
			return NULL;
		}
		if (n == -1) {
			snprintf(err, errsize, "cannot read from ccr-keyd: %s", strerror(errno));
			return NULL;
		}
		if (n == 0) {
			snprintf(err, errsize, "ccr-keyd closed the connection");
			return NULL;
		}
		c->in.len += (size_t)n;
	}
	reply = jsonr_parse(c->in.data, (size_t)(nl - c->in.data), NULL, 0);
	buf_consume(&c->in, (size_t)(nl - c->in.data) + 1);
	if (reply == NULL || !jsonr_is(reply, JSONR_OBJECT)) {
		conn_reply_free(reply);
		snprintf(err, errsize, "ccr-keyd sent a reply that is not JSON");
		return NULL;
	}
	return reply;
}

struct jsonr *
conn_call(struct conn *c, const struct buf *req, char *err, size_t errsize)
{
	char unused[256];
	struct jsonr *reply;

	if (conn_send(c, req, err, errsize) == -1) {
		/* A daemon that refuses us (denied, busy) says why, then closes: read that. */
		reply = conn_recv(c, unused, sizeof unused);
		return reply;
	}
	return conn_recv(c, err, errsize);
}

enum proto_err
conn_reply_error(const struct jsonr *reply, const char **msg)
{
	const char *code = jsonr_str(jsonr_get(reply, "error"));
	const char *m = jsonr_str(jsonr_get(reply, "message"));
	enum proto_err e;

	if (msg != NULL)
		*msg = m != NULL ? m : "no message";
	if (jsonr_is(jsonr_get(reply, "ok"), JSONR_TRUE))
		return PE_OK;
	e = proto_err_from_name(code);
	return e == PE_COUNT || e == PE_OK ? PE_IO_ERROR : e;
}

void
conn_reply_free(struct jsonr *reply)
{
	jsonr_free(reply); /* wipes the decoded strings with the rest of the block */
}

void
conn_close(struct conn *c)
{
	if (c->fd != -1)
		close(c->fd);
	c->fd = -1;
	buf_free(&c->in);
}
