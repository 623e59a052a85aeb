/*
 * Sessions on the daemon's Unix socket. Each read is split into lines; every
 * complete line is answered into the session's output buffer, and the buffer
 * goes out in one write per read (uv_try_write first, so the common case
 * allocates nothing). Secrets pass through the input and output buffers, which
 * are wiped as they are consumed.
 */
#include "server.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "agent.h"
#include "audit.h"
#include "dispatch.h"
#include "keyd.h"
#include "log.h"
#include "proto.h"

#define READ_CHUNK 16384

/* A reply buffer handed to uv_write, on its session's list until written. */
struct write_req {
	uv_write_t req;
	struct session *s;
	struct write_req *next;
	struct buf data;
};

static void session_close(struct session *s);
static void process(struct session *s);
static void flush(struct session *s);
static void read_again(struct session *s);
static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b);
static void on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *b);

/* Milliseconds on the loop's clock. */
static uint64_t
now_ms(const struct server *srv)
{
	return uv_now(srv->k->loop);
}

/* Release a session's memory once libuv has closed its handle. */
static void
on_session_closed(uv_handle_t *h)
{
	struct session *s = h->data;
	struct server *srv = &s->k->server;

	if (s->prev != NULL)
		s->prev->next = s->next;
	else
		srv->sessions = s->next;
	if (s->next != NULL)
		s->next->prev = s->prev;
	srv->nsessions--;
	srv->last_activity = now_ms(srv);
	if (s->guard) {
		srv->nguards--;
		agent_session_closed(s->k, s);
	}
	buf_free(&s->in);
	buf_free(&s->out);
	free(s);
}

/*
 * Close a session; a change it waits for is orphaned and still made. Its
 * buffers are wiped now, replies handed to libuv too (nothing more is sent
 * once the handle is closing): they may hold values, and a lock answers
 * only once nothing of one is left.
 */
static void
session_close(struct session *s)
{
	struct write_req *w;

	if (s->closing)
		return;
	s->closing = true;
	if (s->waiting != NULL)
		dispatch_orphan(s->waiting);
	s->waiting = NULL;
	uv_close((uv_handle_t *)&s->pipe, on_session_closed);
	for (w = s->writes; w != NULL; w = w->next)
		wipe(w->data.data, w->data.cap);
	buf_free(&s->in);
	buf_free(&s->out);
	s->in_off = 0;
}

/* True when a session has nothing left to do: its replies are out and it is closing or done. */
static bool
finished(const struct session *s)
{
	return s->queued == 0 && s->out.len == 0 &&
	       s->waiting == NULL && (s->close_after_flush || (s->eof && s->in.len == s->in_off));
}

/* A queued write finished: release it, and resume a paused or finished session. */
static void
on_write(uv_write_t *req, int status)
{
	struct write_req *w = (struct write_req *)req, **p;
	struct session *s = w->s;

	for (p = &s->writes; *p != w; p = &(*p)->next)
		;
	*p = w->next;
	s->queued -= w->data.len;
	buf_free(&w->data);
	free(w);
	if (s->closing)
		return;
	s->last_active = now_ms(&s->k->server); /* the peer is taking its replies */
	if (status < 0) {
		session_close(s);
		return;
	}
	if (finished(s)) {
		session_close(s);
		return;
	}
	if (s->paused && s->queued <= SERVER_OUT_LIMIT / 2) {
		process(s);
		flush(s); /* after EOF no read will come to flush these replies */
		read_again(s);
	}
}

/* True when a session waiting for its change holds over a line of input it has not handled. */
static bool
input_backs_up(const struct session *s)
{
	return s->waiting != NULL && s->in.len - s->in_off > PROTO_LINE_MAX;
}

/* Read from a paused session again once its replies drained and its input may grow. */
static void
read_again(struct session *s)
{
	if (!s->paused || s->closing || s->close_after_flush ||
	    s->queued + s->out.len > SERVER_OUT_LIMIT / 2 || input_backs_up(s))
		return;
	s->paused = false;
	if (!s->eof)
		uv_read_start((uv_stream_t *)&s->pipe, on_alloc, on_read);
}

/* Send what is in s->out: directly when nothing is queued, else behind the queue. */
static void
flush(struct session *s)
{
	struct write_req *w;
	uv_buf_t b;
	int n = 0;

	if (s->closing)
		return;
	if (s->out.len > 0 && s->queued == 0) {
		b = uv_buf_init(s->out.data, (unsigned)s->out.len);
		n = uv_try_write((uv_stream_t *)&s->pipe, &b, 1);
		if (n < 0 && n != UV_EAGAIN) {
			session_close(s);
			return;
		}
		if (n > 0)
			s->last_active = now_ms(&s->k->server);
		buf_consume(&s->out, n > 0 ? (size_t)n : 0);
	}
	if (s->out.len > 0) {
		w = calloc(1, sizeof *w);
		if (w == NULL)
			abort();
		w->s = s;
		w->data = s->out; /* hand the buffer over instead of copying it */
		memset(&s->out, 0, sizeof s->out);
		b = uv_buf_init(w->data.data, (unsigned)w->data.len);
		if (uv_write(&w->req, (uv_stream_t *)&s->pipe, &b, 1, on_write) != 0) {
			buf_free(&w->data);
			free(w);
			session_close(s);
			return;
		}
		s->queued += w->data.len;
		w->next = s->writes;
		s->writes = w;
	}
	if (finished(s))
		session_close(s);
}

/* Handle complete lines until the input runs out, a write is awaited, or output backs up. */
static void
process(struct session *s)
{
	while (!s->closing && s->waiting == NULL && !s->close_after_flush) {
		char *line = s->in.data + s->in_off;
		size_t avail = s->in.len - s->in_off, len;
		char *nl;

		if (s->queued + s->out.len >= SERVER_OUT_LIMIT) {
			s->paused = true;
			uv_read_stop((uv_stream_t *)&s->pipe);
			break;
		}
		nl = avail > 0 ? memchr(line, '\n', avail) : NULL;
		if (nl == NULL && !(s->eof && avail > 0)) {
			if (avail > PROTO_LINE_MAX) {
				proto_reply_error(&s->out, NULL, PE_TOO_LARGE,
						  "a request line may be at most 64 KiB");
				s->close_after_flush = true;
			}
			break;
		}
		len = nl != NULL ? (size_t)(nl - line) : avail;
		s->in_off += nl != NULL ? len + 1 : len;
		if (len > 0 && line[len - 1] == '\r')
			len--;
		if (len > PROTO_LINE_MAX) {
			proto_reply_error(&s->out, NULL, PE_TOO_LARGE,
					  "a request line may be at most 64 KiB");
			s->close_after_flush = true;
			break;
		}
		if (len == 0)
			continue;
		s->last_active = now_ms(&s->k->server);
		dispatch_line(s->k, s, line, len);
		if (s->out.len >= 65536)
			flush(s);
	}
	/* Drop handled input, wiping it: set requests carry values. */
	if (s->in_off > 0) {
		buf_consume(&s->in, s->in_off);
		s->in_off = 0;
	}
	/*
	 * Waiting for its change, a session handles nothing, so the line limit
	 * above never runs: past a line's worth of input it is not read from
	 * until the change is answered (session_resume), or it would buffer
	 * whatever its peer sends meanwhile.
	 */
	if (!s->closing && !s->paused && input_backs_up(s)) {
		s->paused = true;
		uv_read_stop((uv_stream_t *)&s->pipe);
	}
}

/* libuv wants room to read into: the free tail of the session's input buffer. */
static void
on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b)
{
	struct session *s = h->data;

	(void)suggested;
	buf_reserve(&s->in, READ_CHUNK);
	*b = uv_buf_init(s->in.data + s->in.len, (unsigned)(s->in.cap - s->in.len - 1));
}

/* Bytes arrived (or the peer closed its side): answer every complete line. */
static void
on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *b)
{
	struct session *s = stream->data;

	(void)b;
	if (nread == 0)
		return;
	if (nread < 0) {
		if (nread != UV_EOF) {
			session_close(s);
			return;
		}
		s->eof = true;
		uv_read_stop(stream);
	} else {
		s->in.len += (size_t)nread;
		s->in.data[s->in.len] = '\0';
	}
	process(s);
	flush(s);
}

void
session_resume(struct session *s)
{
	if (s->closing)
		return;
	process(s);
	flush(s);
	read_again(s);
}

/* Refuse a connection with one error line, then close it. */
static void
refuse(struct session *s, enum proto_err err, const char *msg)
{
	s->k->server.refused++;
	proto_reply_error(&s->out, NULL, err, msg);
	s->close_after_flush = true;
	flush(s);
}

/* A peer connected: check who it is and start reading its requests. */
static void
on_connection(uv_stream_t *listener, int status)
{
	struct keyd *k = listener->data;
	struct server *srv = &k->server;
	struct session *s;
	uv_os_fd_t fd;

	if (status < 0) {
		log_warn("accept failed: %s", uv_strerror(status));
		return;
	}
	s = calloc(1, sizeof *s);
	if (s == NULL)
		abort();
	s->k = k;
	uv_pipe_init(k->loop, &s->pipe, 0);
	s->pipe.data = s;
	s->next = srv->sessions;
	if (srv->sessions != NULL)
		srv->sessions->prev = s;
	srv->sessions = s;
	srv->nsessions++;
	s->last_active = srv->last_activity = now_ms(srv);
	if (uv_accept(listener, (uv_stream_t *)&s->pipe) != 0) {
		session_close(s);
		return;
	}
	srv->accepted++;
	if (uv_fileno((uv_handle_t *)&s->pipe, &fd) != 0 || peer_read(fd, &s->peer) == -1) {
		log_warn("refused a peer whose credentials cannot be read");
		s->peer.uid = (uid_t)-1;
		s->peer.pid = -1;
		audit_record(k->audit_fd, &s->peer, "connect", NULL, NULL, "denied");
		refuse(s, PE_DENIED, "peer credentials cannot be read; refused");
		return;
	}
	/* Named now, while it surely runs; the agent guard walks its ancestry later, if needed. */
	if (k->audit_fd != -1)
		peer_identify(&s->peer);
	if (!peer_allowed(&s->peer)) {
		audit_record(k->audit_fd, &s->peer, "connect", NULL, NULL, "denied");
		log_warn("refused peer uid %ld pid %ld: not our uid %ld", (long)s->peer.uid,
			 (long)s->peer.pid, (long)geteuid());
		refuse(s, PE_DENIED, "only the user who runs ccr-keyd may use it");
		return;
	}
	/* Guards are bounded on their own (agent.h): they never starve the router or the client. */
	if (srv->nsessions - srv->nguards > SERVER_MAX_SESSIONS) {
		log_warn("refused peer pid %ld: %d connections open", (long)s->peer.pid,
			 SERVER_MAX_SESSIONS);
		refuse(s, PE_BUSY, "too many connections; try again");
		return;
	}
	if (k->state.now == STATE_STOPPING) {
		refuse(s, PE_BUSY, "ccr-keyd is shutting down");
		return;
	}
	uv_read_start((uv_stream_t *)&s->pipe, on_alloc, on_read);
}

/*
 * True when the daemon may exit for --idle-exit: nothing is being written or
 * derived, and the keystore is plain or locked. An unlocked keystore stays
 * (exiting would lock it behind the user's back); it exits once it locks.
 */
static bool
may_exit_idle(const struct keyd *k)
{
	return (k->state.now == STATE_PLAIN || k->state.now == STATE_LOCKED) &&
	       !writer_pending(&k->writer) && !vault_busy(&k->vault);
}

/*
 * A session's replies moved out since the sweep last looked (libuv wrote
 * part of a queued reply): the peer is reading, which counts as activity.
 */
static void
note_progress(struct session *s, uint64_t now)
{
	size_t left = uv_stream_get_write_queue_size((uv_stream_t *)&s->pipe);

	if (left < s->unwritten)
		s->last_active = now;
	s->unwritten = left;
}

/*
 * Once a second: close idle sessions, and exit when idle long enough
 * (--idle-exit). A session is idle when, for the connection idle limit, it
 * sent no request and took none of its replies, and waits for no change: a
 * reply being read, however slowly, is never cut, but one nobody reads no
 * longer holds its slot and its memory for ever.
 */
static void
on_sweep(uv_timer_t *t)
{
	struct keyd *k = t->data;
	struct server *srv = &k->server;
	uint64_t now = now_ms(srv), idle = (uint64_t)(k->opt.conn_idle_s * 1000);
	struct session *s, *next;

	for (s = srv->sessions; s != NULL; s = next) {
		next = s->next;
		if (!s->closing && s->guard && !agent_guard_alive(s)) {
			log_debug("closing the guard of pid %ld: the process is gone",
			          (long)s->peer.pid);
			session_close(s);
			continue;
		}
		if (s->closing || s->guard || s->waiting != NULL)
			continue;
		note_progress(s, now);
		if (now - s->last_active >= idle) {
			log_debug("closing session of pid %ld: %s", (long)s->peer.pid,
			          s->queued + s->out.len > 0 ? "its replies unread" : "idle");
			session_close(s);
		}
	}
	if (k->opt.idle_exit_s > 0 && srv->nsessions == 0 && may_exit_idle(k) &&
	    now - srv->last_activity >= (uint64_t)(k->opt.idle_exit_s * 1000)) {
		log_info("no connection for %g s; exiting (--idle-exit)", k->opt.idle_exit_s);
		keyd_shutdown(k);
	}
}

/* Start the sweep timer; its period follows the connection idle limit for short limits. */
static void
start_sweep(struct keyd *k)
{
	uint64_t period = 1000;

	if (k->opt.conn_idle_s * 1000 < 4000)
		period = (uint64_t)(k->opt.conn_idle_s * 250) + 1;
	if (k->opt.idle_exit_s > 0 && k->opt.idle_exit_s * 1000 < 4000 &&
	    (uint64_t)(k->opt.idle_exit_s * 250) + 1 < period)
		period = (uint64_t)(k->opt.idle_exit_s * 250) + 1;
	uv_timer_init(k->loop, &k->server.sweep);
	k->server.sweep.data = k;
	uv_timer_start(&k->server.sweep, on_sweep, period, period);
	uv_unref((uv_handle_t *)&k->server.sweep);
}

/* Decide what to do with something already at the socket path. */
static int
clear_path(const char *path, char *err, size_t errsize)
{
	struct sockaddr_un sun;
	struct stat st;
	int fd, rc;

	if (lstat(path, &st) == -1)
		return errno == ENOENT ? 0 : -1;
	if (!S_ISSOCK(st.st_mode)) {
		snprintf(err, errsize, "%s exists and is not a socket; move it away", path);
		return -1;
	}
	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof sun.sun_path, "%s", path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd == -1) {
		snprintf(err, errsize, "socket: %s", strerror(errno));
		return -1;
	}
	rc = connect(fd, (struct sockaddr *)&sun, sizeof sun);
	close(fd);
	if (rc == 0) {
		snprintf(err, errsize, "ccr-keyd is already running on %s", path);
		return -1;
	}
	log_info("replacing stale socket %s", path);
	if (unlink(path) == -1 && errno != ENOENT) {
		snprintf(err, errsize, "cannot remove stale socket %s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

int
server_listen(struct keyd *k, char *err, size_t errsize)
{
	struct server *srv = &k->server;
	char dir[PATHS_MAX];
	mode_t old;
	int rc;

	srv->k = k;
	snprintf(srv->path, sizeof srv->path, "%s", k->opt.socket);
	if (strlen(srv->path) >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
		snprintf(err, errsize, "socket path too long (over %zu bytes): %s",
			 sizeof(((struct sockaddr_un *)0)->sun_path) - 1, srv->path);
		return -1;
	}
	paths_dirname(srv->path, dir, sizeof dir);
	if (paths_private_dir(dir, 0, err, errsize) == -1)
		return -1;
	if (clear_path(srv->path, err, errsize) == -1)
		return -1;
	uv_pipe_init(k->loop, &srv->listener, 0);
	srv->listener.data = k;
	/* 0600 from the first instant: never chmod after bind. */
	old = umask(0177);
	rc = uv_pipe_bind(&srv->listener, srv->path);
	umask(old);
	if (rc == 0) {
		struct stat st;

		srv->own_socket = lstat(srv->path, &st) == 0;
		srv->sock_dev = srv->own_socket ? st.st_dev : 0;
		srv->sock_ino = srv->own_socket ? st.st_ino : 0;
		rc = uv_listen((uv_stream_t *)&srv->listener, 128, on_connection);
	}
	if (rc != 0) {
		snprintf(err, errsize, "cannot listen on %s: %s", srv->path, uv_strerror(rc));
		uv_close((uv_handle_t *)&srv->listener, NULL);
		return -1;
	}
	srv->listening = true;
	start_sweep(k);
	return 0;
}

int
server_adopt(struct keyd *k, int fd, char *err, size_t errsize)
{
	struct server *srv = &k->server;
	int rc;

	srv->k = k;
	uv_pipe_init(k->loop, &srv->listener, 0);
	srv->listener.data = k;
	rc = uv_pipe_open(&srv->listener, fd);
	if (rc == 0)
		rc = uv_listen((uv_stream_t *)&srv->listener, 128, on_connection);
	if (rc != 0) {
		snprintf(err, errsize, "cannot use the inherited socket: %s", uv_strerror(rc));
		return -1;
	}
	srv->listening = true;
	srv->own_socket = false;
	start_sweep(k);
	return 0;
}

void
server_stop(struct server *srv)
{
	struct stat st;

	if (!srv->listening)
		return;
	srv->listening = false;
	uv_close((uv_handle_t *)&srv->listener, NULL);
	/* Remove the socket only if it is still the one we bound, not a successor's. */
	if (srv->own_socket && lstat(srv->path, &st) == 0 && st.st_dev == srv->sock_dev &&
	    st.st_ino == srv->sock_ino && unlink(srv->path) == -1 && errno != ENOENT)
		log_warn("cannot remove %s: %s", srv->path, strerror(errno));
	uv_timer_stop(&srv->sweep);
	uv_close((uv_handle_t *)&srv->sweep, NULL);
}

/*
 * Offer each open session to close_it, which closes the ones it picks (or sees
 * them closed once answered) and says whether it did; log how many, and why.
 */
static void
close_picked(struct server *srv, bool (*close_it)(struct session *), const char *why)
{
	struct session *s, *next;
	unsigned n = 0;

	for (s = srv->sessions; s != NULL; s = next) {
		next = s->next;
		if (!s->closing && close_it(s))
			n++;
	}
	if (n > 0)
		log_info("closed %u connection%s %s", n, n == 1 ? "" : "s", why);
}

/* close_picked: close a session whose replies are not all read yet. */
static bool
close_if_unread(struct session *s)
{
	if (s->queued + s->out.len == 0)
		return false;
	session_close(s);
	return true;
}

/* close_picked: close a session with a request not yet handled, once its reply is out. */
static bool
close_if_input(struct session *s)
{
	if (s->in.len <= s->in_off)
		return false;
	if (s->waiting != NULL) {
		/* Its lock or unlock is still answered: wipe what it sent after, read no
		 * more, and close once the reply is out. */
		uv_read_stop((uv_stream_t *)&s->pipe);
		s->paused = true;
		buf_free(&s->in);
		s->in_off = 0;
		s->close_after_flush = true;
		return true;
	}
	session_close(s); /* wipes its input */
	return true;
}

void
server_close_unread(struct server *srv)
{
	close_picked(srv, close_if_unread, "with replies not yet read");
}

void
server_drop_input(struct server *srv)
{
	close_picked(srv, close_if_input, "with a request not yet handled");
}

void
server_close_all(struct server *srv)
{
	struct session *s, *next;

	for (s = srv->sessions; s != NULL; s = next) {
		next = s->next;
		flush(s);
		session_close(s);
	}
}
