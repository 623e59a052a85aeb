/*
 * The raw floor for any daemon here: a single-threaded epoll server on a Unix
 * socket that answers each newline-terminated request line with one fixed reply
 * line shaped like ccr-keyd's answer to a get (≈150 bytes). All replies to what
 * one read brought in leave in one write; nothing is parsed and nothing is
 * allocated on the request path.
 *
 *   echo_server --socket PATH
 *
 * It removes a stale socket at PATH, prints "ready" once it listens, and runs
 * until SIGTERM or SIGINT, when it removes the socket and exits 0.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define READ_SIZE (64 * 1024)
#define LINE_MAX_BYTES (64 * 1024)
#define MAX_EVENTS 64

/* The reply a get of bench-key-0001 would bring back. */
static const char reply[] = "{\"ok\":true,\"id\":1,\"name\":\"bench-key-0001\","
                            "\"env\":\"BENCH_KEY_0001_API_KEY\","
                            "\"value\":\"csk-test-bench-0123456789abcdef0123456789abcdef\","
                            "\"updated\":\"2026-11-28T21:04:05Z\"}\n";
#define REPLY_LEN (sizeof reply - 1)

/* One client connection: the unfinished request line and unsent replies. */
struct client {
	int fd;
	size_t partial; /* bytes of an unfinished line carried to the next read */
	char *out;      /* replies the socket did not take yet */
	size_t out_len;
	size_t out_cap;
	char in[READ_SIZE];
};

static volatile sig_atomic_t stopping;

static void usage(void) __attribute__((noreturn));

/* Print how to call this program and exit 2. */
static void
usage(void)
{
	fprintf(stderr, "usage: echo_server --socket PATH\n");
	exit(2);
}

/* Ask the main loop to stop. */
static void
on_signal(int sig)
{
	(void)sig;
	stopping = 1;
}

/* Create, bind (0600 from the start) and listen on PATH; returns the fd or exits. */
static int
listen_at(const char *path)
{
	struct sockaddr_un sun;
	mode_t old;
	int fd;

	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof sun.sun_path) {
		fprintf(stderr, "echo_server: socket path too long: %s\n", path);
		exit(1);
	}
	strcpy(sun.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1) {
		perror("echo_server: socket");
		exit(1);
	}
	unlink(path);
	old = umask(0177);
	if (bind(fd, (struct sockaddr *)&sun, sizeof sun) == -1) {
		fprintf(stderr, "echo_server: bind %s: %s\n", path, strerror(errno));
		exit(1);
	}
	umask(old);
	if (listen(fd, 512) == -1) {
		perror("echo_server: listen");
		exit(1);
	}
	return fd;
}

/* Queue len bytes of replies that the socket did not take. */
static void
queue_out(struct client *c, const char *p, size_t len)
{
	if (c->out_len + len > c->out_cap) {
		c->out_cap = (c->out_len + len) * 2;
		c->out = realloc(c->out, c->out_cap);
		if (c->out == NULL) {
			perror("echo_server: realloc");
			exit(1);
		}
	}
	memcpy(c->out + c->out_len, p, len);
	c->out_len += len;
}

/* Write what is queued; returns -1 when the connection is dead. */
static int
flush_out(int ep, struct client *c)
{
	struct epoll_event ev;
	ssize_t n;
	size_t off = 0;

	while (off < c->out_len) {
		n = write(c->fd, c->out + off, c->out_len - off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN)
			break;
		if (n == -1)
			return -1;
		off += (size_t)n;
	}
	memmove(c->out, c->out + off, c->out_len - off);
	c->out_len -= off;
	/* Wait for room only while replies are pending; stop reading meanwhile. */
	ev.data.ptr = c;
	ev.events = c->out_len > 0 ? EPOLLOUT : EPOLLIN;
	if (epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev) == -1)
		return -1;
	return 0;
}

/*
 * Read what is there, answer each complete line, and send all answers in one
 * write. Returns -1 when the connection should be closed.
 */
static int
serve(int ep, struct client *c, char *batch, size_t batch_cap)
{
	size_t avail, start, i, nreply, blen;
	ssize_t n, w;

	for (;;) {
		n = read(c->fd, c->in + c->partial, sizeof c->in - c->partial);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN)
			return 0;
		if (n <= 0)
			return -1;
		break;
	}
	avail = c->partial + (size_t)n;
	nreply = 0;
	start = 0;
	for (i = c->partial; i < avail; i++) {
		if (c->in[i] == '\n') {
			nreply++;
			start = i + 1;
		}
	}
	c->partial = avail - start;
	if (c->partial == sizeof c->in)
		return -1; /* a line longer than the buffer */
	if (c->partial > 0 && start > 0)
		memmove(c->in, c->in + start, c->partial);
	if (nreply == 0)
		return 0;

	blen = 0;
	for (i = 0; i < nreply; i++) {
		if (blen + REPLY_LEN > batch_cap) {
			queue_out(c, batch, blen);
			blen = 0;
		}
		memcpy(batch + blen, reply, REPLY_LEN);
		blen += REPLY_LEN;
	}
	if (c->out_len > 0) {
		queue_out(c, batch, blen);
		return flush_out(ep, c);
	}
	w = write(c->fd, batch, blen);
	if (w == -1 && errno != EAGAIN && errno != EINTR)
		return -1;
	if (w < 0)
		w = 0;
	if ((size_t)w < blen) {
		queue_out(c, batch + w, blen - (size_t)w);
		return flush_out(ep, c);
	}
	return 0;
}

/* Close a client and forget it. */
static void
drop(struct client *c)
{
	close(c->fd);
	free(c->out);
	free(c);
}

/* Accept every pending connection and register it for reading. */
static void
accept_all(int ep, int lfd)
{
	struct epoll_event ev;
	struct client *c;
	int fd;

	for (;;) {
		fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd == -1)
			return;
		c = calloc(1, sizeof *c);
		if (c == NULL) {
			close(fd);
			return;
		}
		c->fd = fd;
		ev.events = EPOLLIN;
		ev.data.ptr = c;
		if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) == -1)
			drop(c);
	}
}

int
main(int argc, char **argv)
{
	struct epoll_event ev, events[MAX_EVENTS];
	struct sigaction sa;
	const char *path = NULL;
	static char batch[256 * 1024];
	int lfd, ep, n, i;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--socket") == 0 && i + 1 < argc)
			path = argv[++i];
		else
			usage();
	}
	if (path == NULL)
		usage();

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	lfd = listen_at(path);
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (ep == -1) {
		perror("echo_server: epoll_create1");
		return 1;
	}
	ev.events = EPOLLIN;
	ev.data.ptr = NULL;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev) == -1) {
		perror("echo_server: epoll_ctl");
		return 1;
	}
	printf("ready\n");
	fflush(stdout);

	while (!stopping) {
		n = epoll_wait(ep, events, MAX_EVENTS, -1);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			perror("echo_server: epoll_wait");
			return 1;
		}
		for (i = 0; i < n; i++) {
			struct client *c = events[i].data.ptr;
			int rc;

			if (c == NULL) {
				accept_all(ep, lfd);
				continue;
			}
			if (events[i].events & EPOLLOUT)
				rc = flush_out(ep, c);
			else
				rc = serve(ep, c, batch, sizeof batch);
			if (rc == -1)
				drop(c);
		}
	}
	unlink(path);
	return 0;
}
