/*
 * torture-peer: hostile and heavy peers for the limits tests (tests/integration/limits.bats,
 * hygiene.bats). Each mode prints one summary line on stdout.
 *
 *   torture-peer flood SOCKET N LINE      send LINE N times and never read a reply; stop
 *                                         sending once the daemon has taken nothing for 1 s,
 *                                         print "flood: sent K of N", hold until stdin ends
 *   torture-peer hold SOCKET N            open N connections, send a hello on each and read
 *                                         its reply, print "hold: open N served S", hold
 *                                         until stdin ends
 *   torture-peer guard SOCKET N [orphan]  open N connections, then register each as an
 *                                         agent guard; print "guard: open N registered R",
 *                                         hold until stdin ends (with orphan: in a child,
 *                                         the registering process gone)
 *   torture-peer churn SOCKET N           N connections one after another, ending in turn
 *                                         by closing at once, after a reply, mid-line, and
 *                                         with the reply unread; print "churn: N answered A"
 *   torture-peer halfclose SOCKET N K     N connections at once, each sends K pipelined
 *                                         hellos and shuts down its write side; print
 *                                         "halfclose: N complete C replies R"
 *   torture-peer spread SOCKET N FILE     N connections at once, each sends the request
 *                                         line in FILE and reads only the first byte of
 *                                         its reply (so the daemon has built it); print
 *                                         "spread: N sent, A answered", hold until stdin ends
 *
 * Exit status: 0 done, 1 could not connect, 2 usage or I/O error.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static const char hello[] = "{\"op\":\"hello\"}\n";

/* Milliseconds on a monotonic clock. */
static long long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A connected socket to path, or -1 (with a message). */
static int
dial(const char *path)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	int fd;

	if (strlen(path) >= sizeof sun.sun_path)
		return -1;
	memcpy(sun.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd == -1 || connect(fd, (struct sockaddr *)&sun, sizeof sun) == -1) {
		fprintf(stderr, "torture-peer: cannot connect to %s: %s\n", path, strerror(errno));
		if (fd != -1)
			close(fd);
		return -1;
	}
	return fd;
}

/* Block until stdin ends: the test decides how long a peer stays. */
static void
wait_stdin(void)
{
	char b[256];

	while (read(STDIN_FILENO, b, sizeof b) > 0) {
	}
}

/* Read one reply line from fd within timeout_ms; true when it says ok. */
static bool
read_ok(int fd, int timeout_ms)
{
	char line[4096];
	size_t n = 0;
	long long until = now_ms() + timeout_ms;

	while (n < sizeof line - 1) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		ssize_t r;

		if (poll(&p, 1, (int)(until - now_ms() > 0 ? until - now_ms() : 0)) <= 0)
			return false;
		r = recv(fd, line + n, 1, 0);
		if (r <= 0)
			return false;
		if (line[n++] == '\n')
			break;
	}
	line[n] = '\0';
	return strstr(line, "\"ok\":true") != NULL;
}

/* flood: pipeline N copies of a request and never read. */
static int
flood(const char *path, long n, const char *req)
{
	size_t len = strlen(req), off = 0;
	long sent = 0;
	long long idle_since = now_ms();
	char *line = malloc(len + 2);
	int fd = dial(path);

	if (fd == -1 || line == NULL) {
		free(line);
		return 1;
	}
	memcpy(line, req, len);
	line[len++] = '\n';
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	while (sent < n && now_ms() - idle_since < 1000) {
		ssize_t w = send(fd, line + off, len - off, MSG_NOSIGNAL);

		if (w > 0) {
			off += (size_t)w;
			if (off == len) {
				off = 0;
				sent++;
			}
			idle_since = now_ms();
		} else if (w == -1 && (errno == EAGAIN || errno == EINTR)) {
			struct pollfd p = {.fd = fd, .events = POLLOUT};

			poll(&p, 1, 100);
		} else {
			break;
		}
	}
	printf("flood: sent %ld of %ld\n", sent, n);
	fflush(stdout);
	wait_stdin();
	close(fd);
	free(line);
	return 0;
}

/* hold: N connections open at once, each proven to be served. */
static int
hold(const char *path, long n)
{
	int *fds = calloc((size_t)n, sizeof *fds);
	long i, served = 0;

	if (fds == NULL)
		return 2;
	for (i = 0; i < n; i++) {
		fds[i] = dial(path);
		if (fds[i] == -1) {
			printf("hold: open %ld served 0\n", i);
			free(fds);
			return 1;
		}
	}
	for (i = 0; i < n; i++) {
		if (send(fds[i], hello, sizeof hello - 1, MSG_NOSIGNAL) > 0 &&
		    read_ok(fds[i], 5000))
			served++;
	}
	printf("hold: open %ld served %ld\n", n, served);
	fflush(stdout);
	wait_stdin();
	for (i = 0; i < n; i++)
		close(fds[i]);
	free(fds);
	printf("released\n");
	return 0;
}

/* guard: N connections first, then a guard registration on each (the guards' lock-out of other clients). */
static int
guard(const char *path, long n, bool orphan)
{
	static const char reg[] = "{\"op\":\"guard\",\"name\":\"torture\"}\n";
	int *fds = calloc((size_t)n, sizeof *fds);
	long i, registered = 0;

	if (fds == NULL)
		return 2;
	for (i = 0; i < n; i++) {
		fds[i] = dial(path);
		if (fds[i] == -1) {
			printf("guard: open %ld registered 0\n", i);
			free(fds);
			return 1;
		}
	}
	for (i = 0; i < n; i++) {
		if (send(fds[i], reg, sizeof reg - 1, MSG_NOSIGNAL) > 0 && read_ok(fds[i], 5000))
			registered++;
	}
	printf("guard: open %ld registered %ld\n", n, registered);
	fflush(stdout);
	if (orphan && fork() != 0)
		_exit(0); /* the child holds the connections; the guards' process is gone */
	wait_stdin();
	for (i = 0; i < n; i++)
		close(fds[i]);
	free(fds);
	printf("released\n");
	return 0;
}

/* churn: many short connections, ended in every way a client can end one. */
static int
churn(const char *path, long n)
{
	long i, answered = 0;

	for (i = 0; i < n; i++) {
		int fd = dial(path);

		if (fd == -1)
			return 1;
		switch (i % 4) {
		case 0: /* connect and go */
			break;
		case 1: /* a normal request */
			if (send(fd, hello, sizeof hello - 1, MSG_NOSIGNAL) > 0 &&
			    read_ok(fd, 5000))
				answered++;
			break;
		case 2: /* half a line, then gone */
			send(fd, hello, 5, MSG_NOSIGNAL);
			break;
		default: /* a request whose reply is never read */
			send(fd, hello, sizeof hello - 1, MSG_NOSIGNAL);
			break;
		}
		close(fd);
	}
	printf("churn: %ld answered %ld\n", n, answered);
	return 0;
}

/* halfclose: pipelined requests, then shutdown(SHUT_WR); every reply must still come. */
static int
halfclose(const char *path, long n, long k)
{
	struct pollfd *p = calloc((size_t)n, sizeof *p);
	long *lines = calloc((size_t)n, sizeof *lines);
	long i, j, open_count = 0, complete = 0, replies = 0;
	long long until = now_ms() + 20000;
	char buf[65536];

	if (p == NULL || lines == NULL)
		return 2;
	for (i = 0; i < n; i++) {
		p[i].fd = dial(path);
		p[i].events = POLLIN;
		if (p[i].fd == -1)
			return 1;
		open_count++;
	}
	for (i = 0; i < n; i++) {
		for (j = 0; j < k; j++) {
			if (send(p[i].fd, hello, sizeof hello - 1, MSG_NOSIGNAL) <= 0)
				return 2;
		}
		shutdown(p[i].fd, SHUT_WR);
	}
	while (open_count > 0 && now_ms() < until) {
		if (poll(p, (nfds_t)n, 1000) < 0 && errno != EINTR)
			return 2;
		for (i = 0; i < n; i++) {
			ssize_t r;

			if (p[i].fd == -1 || !(p[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			r = recv(p[i].fd, buf, sizeof buf, 0);
			for (j = 0; j < r; j++)
				lines[i] += buf[j] == '\n';
			if (r <= 0) {
				close(p[i].fd);
				p[i].fd = -1;
				open_count--;
				replies += lines[i];
				complete += lines[i] == k;
			}
		}
	}
	printf("halfclose: %ld complete %ld replies %ld\n", n, complete, replies);
	free(p);
	free(lines);
	return 0;
}

/* The contents of path, NUL-terminated, in *len bytes; NULL when unreadable. */
static char *
slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *data = NULL;
	long size;

	if (f != NULL && fseek(f, 0, SEEK_END) == 0 && (size = ftell(f)) >= 0 &&
	    fseek(f, 0, SEEK_SET) == 0 && (data = malloc((size_t)size + 1)) != NULL &&
	    fread(data, 1, (size_t)size, f) == (size_t)size) {
		data[size] = '\0';
		*len = (size_t)size;
	} else {
		free(data);
		data = NULL;
	}
	if (f != NULL)
		fclose(f);
	return data;
}

/* spread: one request on each of N connections, every reply begun and left unread. */
static int
spread(const char *path, long n, const char *file)
{
	size_t len = 0;
	char *req = slurp(file, &len), first;
	int *fds = calloc((size_t)n, sizeof *fds);
	long i, sent = 0, answered = 0;

	if (req == NULL || fds == NULL) {
		free(req);
		free(fds);
		return 2;
	}
	for (i = 0; i < n; i++) {
		size_t off = 0;

		fds[i] = dial(path);
		while (fds[i] != -1 && off < len) {
			ssize_t w = send(fds[i], req + off, len - off, MSG_NOSIGNAL);

			if (w <= 0)
				break;
			off += (size_t)w;
		}
		sent += off == len;
	}
	for (i = 0; i < n; i++) {
		struct pollfd p = {.fd = fds[i], .events = POLLIN};

		if (fds[i] != -1 && poll(&p, 1, 30000) == 1 && recv(fds[i], &first, 1, 0) == 1)
			answered++;
	}
	printf("spread: %ld sent, %ld answered\n", sent, answered);
	fflush(stdout);
	wait_stdin();
	for (i = 0; i < n; i++) {
		if (fds[i] != -1)
			close(fds[i]);
	}
	free(fds);
	free(req);
	return 0;
}

int
main(int argc, char **argv)
{
	if (argc == 5 && strcmp(argv[1], "flood") == 0)
		return flood(argv[2], atol(argv[3]), argv[4]);
	if (argc == 4 && strcmp(argv[1], "hold") == 0)
		return hold(argv[2], atol(argv[3]));
	if ((argc == 4 || (argc == 5 && strcmp(argv[4], "orphan") == 0)) &&
	    strcmp(argv[1], "guard") == 0)
		return guard(argv[2], atol(argv[3]), argc == 5);
	if (argc == 4 && strcmp(argv[1], "churn") == 0)
		return churn(argv[2], atol(argv[3]));
	if (argc == 5 && strcmp(argv[1], "halfclose") == 0)
		return halfclose(argv[2], atol(argv[3]), atol(argv[4]));
	if (argc == 5 && strcmp(argv[1], "spread") == 0)
		return spread(argv[2], atol(argv[3]), argv[4]);
	fputs("usage: torture-peer flood|hold|guard|churn|halfclose|spread SOCKET ...\n", stderr);
	return 2;
}
