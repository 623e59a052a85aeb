/*
 * sockcat: a raw Unix-socket client for the integration tests.
 *
 *   sockcat [--half-close] [--lines N] [--timeout MS] [--slow MS] [--delay MS] SOCKET
 *   sockcat --hold N [--timeout MS] SOCKET
 *
 * The first form sends stdin to SOCKET as is (all of it at once, so requests
 * are pipelined, or one byte every MS ms with --slow), shuts down its write
 * side after the last byte with --half-close, and copies every reply byte to
 * stdout until N lines, EOF or the timeout (default 5000 ms, 0 for none).
 * --delay MS reads nothing for the first MS ms: a client that stops reading.
 * The second form opens N connections, prints "held N" once they are all
 * open, then prints whatever arrives on them and "closed" for each one the
 * peer closes, until all are closed or the timeout.
 *
 * Exit status: 0 stopped at N lines or at EOF, 1 could not connect, 2 usage,
 * 3 the timeout came first.
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

enum { EXIT_DONE = 0, EXIT_NOCONNECT = 1, EXIT_USAGE = 2, EXIT_TIMEOUT = 3 };

struct options {
	bool half_close;
	long lines;      /* stop after this many reply lines; 0 for no limit */
	long timeout_ms; /* overall deadline; 0 for none */
	long slow_ms;    /* send one byte every slow_ms; 0 sends all at once */
	long hold;       /* connections to open and keep; 0 for the normal mode */
	long delay_ms;   /* read no reply for this long after connecting */
	const char *path;
};

static const char usage_text[] =
    "usage: sockcat [--half-close] [--lines N] [--timeout MS] [--slow MS] [--delay MS] SOCKET\n"
    "       sockcat --hold N [--timeout MS] SOCKET\n";

/* Milliseconds on a monotonic clock. */
static long long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Parse a non-negative decimal number; -1 when s is not one. */
static long
parse_count(const char *s)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (*s == '\0' || *end != '\0' || errno != 0 || v < 0)
		return -1;
	return v;
}

/* Read the command line into o; returns false on a usage error. */
static bool
parse_args(int argc, char **argv, struct options *o)
{
	int i;

	o->timeout_ms = 5000;
	for (i = 1; i < argc; i++) {
		const char *a = argv[i];
		long *num = NULL;

		if (strcmp(a, "--half-close") == 0)
			o->half_close = true;
		else if (strcmp(a, "--lines") == 0)
			num = &o->lines;
		else if (strcmp(a, "--timeout") == 0)
			num = &o->timeout_ms;
		else if (strcmp(a, "--slow") == 0)
			num = &o->slow_ms;
		else if (strcmp(a, "--hold") == 0)
			num = &o->hold;
		else if (strcmp(a, "--delay") == 0)
			num = &o->delay_ms;
		else if (a[0] == '-' || o->path != NULL)
			return false;
		else
			o->path = a;
		if (num != NULL && (i + 1 >= argc || (*num = parse_count(argv[++i])) < 0))
			return false;
	}
	return o->path != NULL;
}

/* Connect to the socket at path and make the descriptor non-blocking; -1 on failure. */
static int
dial(const char *path)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	int fd;

	if (strlen(path) >= sizeof sun.sun_path) {
		fprintf(stderr, "sockcat: socket path too long: %s\n", path);
		return -1;
	}
	memcpy(sun.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd == -1 || connect(fd, (struct sockaddr *)&sun, sizeof sun) == -1) {
		fprintf(stderr, "sockcat: cannot connect to %s: %s\n", path, strerror(errno));
		if (fd != -1)
			close(fd);
		return -1;
	}
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	return fd;
}

/* Read all of stdin into a malloc'd buffer; exits on failure. */
static char *
slurp_stdin(size_t *len)
{
	size_t cap = 65536, n = 0;
	char *data = malloc(cap);
	ssize_t r;

	for (;;) {
		if (n == cap)
			data = realloc(data, cap *= 2);
		if (data == NULL) {
			fputs("sockcat: out of memory\n", stderr);
			exit(EXIT_USAGE);
		}
		r = read(STDIN_FILENO, data + n, cap - n);
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	*len = n;
	return data;
}

/* Write n bytes to stdout at once, so that concurrent readers see whole chunks. */
static void
emit(const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(STDOUT_FILENO, p, n);

		if (w == -1 && errno == EINTR)
			continue;
		if (w <= 0)
			exit(EXIT_USAGE);
		p += w;
		n -= (size_t)w;
	}
}

/* Milliseconds poll may sleep before deadline (or until a send is due); -1 for ever. */
static int
poll_wait(long long deadline, long long due)
{
	long long now = now_ms(), until = deadline;

	if (due > 0 && (until == 0 || due < until))
		until = due;
	if (until == 0)
		return -1;
	return until > now ? (int)(until - now) : 0;
}

/*
 * Copy n reply bytes to stdout, counting lines; returns true once the
 * wanted number of lines has been printed (the rest is dropped).
 */
static bool
take_reply(const struct options *o, const char *p, size_t n, long *seen)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (p[i] == '\n' && o->lines > 0 && ++*seen == o->lines) {
			emit(p, i + 1);
			return true;
		}
	}
	emit(p, n);
	return false;
}

/* Send data on fd and print the replies: the normal mode. */
static int
converse(const struct options *o, int fd, const char *data, size_t len)
{
	long long deadline = o->timeout_ms > 0 ? now_ms() + o->timeout_ms : 0, due = 0;
	long long read_from = now_ms() + o->delay_ms;
	size_t sent = 0;
	long seen = 0;
	bool shut = false;
	char in[65536];

	for (;;) {
		struct pollfd p = {.fd = fd};
		bool may_send = sent < len && (o->slow_ms == 0 || now_ms() >= due);
		bool may_read = now_ms() >= read_from;
		long long wake = 0;
		ssize_t n;

		if (sent == len && o->half_close && !shut) {
			shutdown(fd, SHUT_WR);
			shut = true;
		}
		if (may_send)
			p.events |= POLLOUT;
		if (may_read)
			p.events |= POLLIN;
		if (sent < len && !may_send)
			wake = due;
		if (!may_read && (wake == 0 || read_from < wake))
			wake = read_from;
		if (deadline > 0 && now_ms() >= deadline)
			return EXIT_TIMEOUT;
		/* With no events, poll just sleeps until a send or the first read is due. */
		if (poll(&p, p.events != 0, poll_wait(deadline, wake)) == -1) {
			if (errno == EINTR)
				continue;
			return EXIT_USAGE;
		}
		if (may_send && (p.revents & (POLLOUT | POLLERR | POLLHUP))) {
			n = send(fd, data + sent, o->slow_ms > 0 ? 1 : len - sent, MSG_NOSIGNAL);
			if (n > 0) {
				sent += (size_t)n;
				due = now_ms() + o->slow_ms;
			} else if (n == -1 && errno != EAGAIN && errno != EINTR) {
				/* The peer closed: stop sending, keep reading. */
				sent = len;
				shut = true;
			}
		}
		if (may_read && (p.revents & (POLLIN | POLLERR | POLLHUP))) {
			n = recv(fd, in, sizeof in, 0);
			if (n > 0 && take_reply(o, in, (size_t)n, &seen))
				return EXIT_DONE;
			if (n == 0 || (n == -1 && errno != EAGAIN && errno != EINTR))
				return EXIT_DONE;
		}
	}
}

/* Open o->hold connections and keep them open, reporting what the peer does. */
static int
hold(const struct options *o)
{
	long long deadline = o->timeout_ms > 0 ? now_ms() + o->timeout_ms : 0;
	struct pollfd *p = calloc((size_t)o->hold, sizeof *p);
	long i, open_count = 0;
	char in[4096], msg[64];
	int rc = EXIT_DONE;

	if (p == NULL)
		return EXIT_USAGE;
	for (i = 0; i < o->hold; i++) {
		p[i].fd = dial(o->path);
		p[i].events = POLLIN;
		if (p[i].fd == -1) {
			emit(msg, (size_t)snprintf(msg, sizeof msg, "held %ld\n", i));
			rc = EXIT_NOCONNECT;
			goto done;
		}
		open_count++;
	}
	emit(msg, (size_t)snprintf(msg, sizeof msg, "held %ld\n", o->hold));
	while (open_count > 0) {
		if (deadline > 0 && now_ms() >= deadline) {
			rc = EXIT_TIMEOUT;
			goto done;
		}
		if (poll(p, (nfds_t)o->hold, poll_wait(deadline, 0)) == -1 && errno != EINTR) {
			rc = EXIT_USAGE;
			goto done;
		}
		for (i = 0; i < o->hold; i++) {
			ssize_t n;

			if (p[i].fd == -1 || !(p[i].revents & (POLLIN | POLLERR | POLLHUP)))
				continue;
			n = recv(p[i].fd, in, sizeof in, 0);
			if (n > 0) {
				emit(in, (size_t)n);
			} else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
				close(p[i].fd);
				p[i].fd = -1;
				open_count--;
				emit("closed\n", 7);
			}
		}
	}
done:
	for (i = 0; i < o->hold; i++) {
		if (p[i].fd > 0)
			close(p[i].fd);
	}
	free(p);
	return rc;
}

int
main(int argc, char **argv)
{
	struct options o = {0};
	size_t len;
	char *data;
	int fd, rc;

	if (!parse_args(argc, argv, &o)) {
		fputs(usage_text, stderr);
		return EXIT_USAGE;
	}
	if (o.hold > 0)
		return hold(&o);
	data = slurp_stdin(&len);
	fd = dial(o.path);
	if (fd == -1)
		return EXIT_NOCONNECT;
	rc = converse(&o, fd, data, len);
	close(fd);
	free(data);
	return rc;
}
