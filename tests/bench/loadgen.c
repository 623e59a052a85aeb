/*
 * Load generator for ccr-keyd and the echo floor: N client threads, each on its
 * own connection, each keeping D pipelined requests in flight for S seconds.
 * Prints one line of key=value figures: throughput and p50/p99/p999 latency.
 *
 *   loadgen --socket P --clients N --depth D --seconds S --request LINE
 *           [--warmup S] [--expect TEXT] [--requests N]
 *
 * With --connect-each 1, each request goes on a new connection (depth 1), and
 * its latency counts from before the connect: the cost of a peer's whole visit.
 * With --requests, each client sends N requests in all and stops (for one-off
 * requests: a passphrase, an unlock); the figures then cover the whole run.
 * In LINE, "{n}" becomes a number unique to each request (set values) and "{c}"
 * the client's index (one key per setter). Every reply must be one full line
 * holding TEXT (default "ok":true) and there must be exactly one per request,
 * or the run aborts with exit status 3: a broken server posts no figures.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define IN_SIZE (256 * 1024)
#define REPLY_TIMEOUT_MS 10000

/* One client thread's connection, in-flight queue and samples. */
struct client {
	pthread_t thread;
	int index;
	int fd;
	uint64_t *sent_at; /* ring of send times, one per request in flight */
	size_t head, inflight;
	uint32_t *lat_ns; /* latencies of the replies that arrived inside the window */
	size_t nlat, cap_lat;
	uint64_t in_window; /* replies that arrived inside the window */
	uint64_t total_sent, total_replies;
	char *out;
	size_t out_cap;
	char in[IN_SIZE];
};

static const char *opt_socket;
static const char *opt_request;
static const char *opt_expect = "\"ok\":true";
static int opt_clients = 1;
static int opt_depth = 1;
static double opt_seconds = 2.0;
static double opt_warmup = -1;
static uint64_t opt_requests; /* per client; 0: run for opt_seconds */
static int opt_connect_each;   /* a new connection for every request */

static size_t expect_len;
static size_t line_len; /* the fixed request with its newline */
static int request_templated;
static uint64_t window_start, window_end; /* ns, CLOCK_MONOTONIC */
static atomic_uint_fast64_t next_n = 1;
static pthread_barrier_t ready;

static void usage(void) __attribute__((noreturn));
static void die(const struct client *c, const char *fmt, ...)
    __attribute__((noreturn, format(printf, 2, 3)));

/* Print how to call this program and exit 2. */
static void
usage(void)
{
	fprintf(stderr, "usage: loadgen --socket P --clients N --depth D --seconds S "
	                "--request LINE [--warmup S] [--expect TEXT] [--requests N] "
	                "[--connect-each 1]\n");
	exit(2);
}

/* Report a failed check and abort the whole run. */
static void
die(const struct client *c, const char *fmt, ...)
{
	va_list ap;

	flockfile(stderr);
	if (c != NULL)
		fprintf(stderr, "loadgen: FAILED: client %d: ", c->index);
	else
		fprintf(stderr, "loadgen: FAILED: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	funlockfile(stderr);
	exit(3);
}

/* Monotonic time in nanoseconds. */
static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Connect to the server, retrying for up to 10 s while it starts. */
static int
connect_to(const char *path)
{
	struct sockaddr_un sun;
	int fd, tries;

	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof sun.sun_path)
		die(NULL, "socket path too long: %s", path);
	strcpy(sun.sun_path, path);
	for (tries = 0; tries < 1000; tries++) {
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd == -1)
			die(NULL, "socket: %s", strerror(errno));
		if (connect(fd, (struct sockaddr *)&sun, sizeof sun) == 0)
			return fd;
		close(fd);
		usleep(10000);
	}
	die(NULL, "cannot connect to %s: %s", path, strerror(errno));
}

/* Append k bytes at p to c->out at *len, growing it as needed. */
static void
out_append(struct client *c, size_t *len, const char *p, size_t k)
{
	if (*len + k > c->out_cap) {
		c->out_cap = (*len + k) * 2;
		c->out = realloc(c->out, c->out_cap);
		if (c->out == NULL)
			die(c, "out of memory");
	}
	memcpy(c->out + *len, p, k);
	*len += k;
}

/* Append the request line to c->out at *len, substituting {n} and {c}. */
static void
append_request(struct client *c, size_t *len)
{
	const char *p = opt_request, *q;
	char num[32];
	int k;

	while (*p != '\0') {
		if (p[0] == '{' && (p[1] == 'n' || p[1] == 'c') && p[2] == '}') {
			if (p[1] == 'n')
				k = snprintf(num, sizeof num, "%" PRIuFAST64,
				             atomic_fetch_add(&next_n, 1));
			else
				k = snprintf(num, sizeof num, "%02d", c->index);
			out_append(c, len, num, (size_t)k);
			p += 3;
			continue;
		}
		q = strchr(p + 1, '{');
		if (q == NULL)
			q = p + strlen(p);
		out_append(c, len, p, (size_t)(q - p));
		p = q;
	}
	out_append(c, len, "\n", 1);
}

/* Send count new requests in one write and note their send time. */
static void
send_requests(struct client *c, int count)
{
	size_t len = 0, off = 0;
	uint64_t t;
	ssize_t n;
	int i;

	if (count == 0)
		return;
	if (request_templated) {
		for (i = 0; i < count; i++)
			append_request(c, &len);
	} else {
		/* c->out holds opt_depth copies of the fixed line. */
		len = line_len * (size_t)count;
	}
	t = now_ns();
	while (off < len) {
		n = write(c->fd, c->out + off, len - off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			die(c, "write: %s", strerror(errno));
		off += (size_t)n;
	}
	for (i = 0; i < count; i++) {
		c->sent_at[(c->head + c->inflight) % (size_t)opt_depth] = t;
		c->inflight++;
	}
	c->total_sent += (uint64_t)count;
}

/* Record one reply that arrived at time t. */
static void
record(struct client *c, uint64_t t)
{
	uint64_t d = t - c->sent_at[c->head];

	c->head = (c->head + 1) % (size_t)opt_depth;
	c->inflight--;
	c->total_replies++;
	if (t < window_start || t > window_end)
		return;
	c->in_window++;
	if (c->nlat == c->cap_lat) {
		c->cap_lat = c->cap_lat ? c->cap_lat * 2 : 65536;
		c->lat_ns = realloc(c->lat_ns, c->cap_lat * sizeof *c->lat_ns);
		if (c->lat_ns == NULL)
			die(c, "out of memory");
	}
	c->lat_ns[c->nlat++] = d > UINT32_MAX ? UINT32_MAX : (uint32_t)d;
}

/*
 * Read once and account for every full reply line in it; returns how many
 * replies arrived. A reply without the expected text, a line with no request
 * behind it, or a closed connection aborts the run.
 */
static int
read_replies(struct client *c, size_t *have)
{
	size_t start = 0, i;
	uint64_t t;
	ssize_t n;
	int got = 0;

	for (;;) {
		n = read(c->fd, c->in + *have, sizeof c->in - *have);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			die(c, "no reply within %d ms (%zu in flight)", REPLY_TIMEOUT_MS,
			    c->inflight);
		if (n == -1)
			die(c, "read: %s", strerror(errno));
		if (n == 0)
			die(c, "server closed the connection with %zu requests unanswered%s",
			    c->inflight, *have ? " and a partial reply line" : "");
		break;
	}
	t = now_ns();
	for (i = *have; i < *have + (size_t)n; i++) {
		if (c->in[i] != '\n')
			continue;
		if (c->inflight == 0)
			die(c, "a reply line with no request behind it: %.*s", (int)(i - start),
			    c->in + start);
		if (memmem(c->in + start, i - start, opt_expect, expect_len) == NULL)
			die(c, "reply without %s: %.*s", opt_expect,
			    (int)(i - start > 300 ? 300 : i - start), c->in + start);
		record(c, t);
		got++;
		start = i + 1;
	}
	*have += (size_t)n;
	*have -= start;
	if (*have == sizeof c->in)
		die(c, "a reply line longer than %d bytes", IN_SIZE);
	if (*have > 0 && start > 0)
		memmove(c->in, c->in + start, *have);
	return got;
}

/* How many of want more requests the client may still send under --requests. */
static int
allowance(const struct client *c, int want)
{
	if (opt_requests == 0 || c->total_sent + (uint64_t)want <= opt_requests)
		return want;
	return (int)(opt_requests - c->total_sent);
}

/* One client of --connect-each: connect, one request, its reply, close; again. */
static void
run_client_each(struct client *c)
{
	struct timeval tv = {.tv_sec = REPLY_TIMEOUT_MS / 1000};
	size_t have = 0;
	uint64_t t0;

	pthread_barrier_wait(&ready);
	for (;;) {
		t0 = now_ns();
		c->fd = connect_to(opt_socket);
		setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
		send_requests(c, 1);
		c->sent_at[c->head] = t0; /* the connect and accept count too */
		while (c->inflight > 0)
			read_replies(c, &have);
		close(c->fd);
		if (have != 0)
			die(c, "%zu bytes after the reply that are not a full line", have);
		if (now_ns() >= window_end || (opt_requests > 0 && c->total_sent >= opt_requests))
			break;
	}
}

/* One client: fill the pipeline, then refill it as replies come back until the window ends. */
static void *
run_client(void *arg)
{
	struct client *c = arg;
	struct timeval tv = {.tv_sec = REPLY_TIMEOUT_MS / 1000};
	size_t have = 0;
	int got;

	if (opt_connect_each) {
		run_client_each(c);
		return NULL;
	}
	c->fd = connect_to(opt_socket);
	setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	pthread_barrier_wait(&ready);

	send_requests(c, allowance(c, opt_depth));
	for (;;) {
		got = read_replies(c, &have);
		if (now_ns() >= window_end || (opt_requests > 0 && c->total_sent >= opt_requests))
			break;
		send_requests(c, allowance(c, got));
	}
	/* Drain: every request sent gets exactly one reply line. */
	while (c->inflight > 0)
		read_replies(c, &have);
	if (have != 0)
		die(c, "%zu bytes after the last reply that are not a full line", have);
	if (c->total_replies != c->total_sent)
		die(c, "%" PRIu64 " replies for %" PRIu64 " requests", c->total_replies,
		    c->total_sent);
	close(c->fd);
	return NULL;
}

/* Compare two latencies for qsort. */
static int
cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* The q-quantile of sorted samples, in microseconds. */
static double
quantile_us(const uint32_t *v, size_t n, double q)
{
	size_t i;

	if (n == 0)
		return 0;
	i = (size_t)(q * (double)(n - 1) + 0.5);
	return v[i] / 1000.0;
}

/* Parse a positive number option or exit. */
static double
number(const char *s, const char *what)
{
	char *end;
	double v = strtod(s, &end);

	if (*s == '\0' || *end != '\0' || !(v > 0)) {
		fprintf(stderr, "loadgen: %s must be a positive number\n", what);
		exit(2);
	}
	return v;
}

int
main(int argc, char **argv)
{
	struct client *clients;
	uint32_t *all;
	uint64_t total = 0, start;
	size_t nall = 0;
	double window_s;
	int i, rc;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (i + 1 >= argc)
			usage();
		if (strcmp(a, "--socket") == 0)
			opt_socket = argv[++i];
		else if (strcmp(a, "--clients") == 0)
			opt_clients = (int)number(argv[++i], a);
		else if (strcmp(a, "--depth") == 0)
			opt_depth = (int)number(argv[++i], a);
		else if (strcmp(a, "--seconds") == 0)
			opt_seconds = number(argv[++i], a);
		else if (strcmp(a, "--warmup") == 0)
			opt_warmup = strtod(argv[++i], NULL);
		else if (strcmp(a, "--request") == 0)
			opt_request = argv[++i];
		else if (strcmp(a, "--expect") == 0)
			opt_expect = argv[++i];
		else if (strcmp(a, "--requests") == 0)
			opt_requests = (uint64_t)number(argv[++i], a);
		else if (strcmp(a, "--connect-each") == 0)
			opt_connect_each = (int)number(argv[++i], a);
		else
			usage();
	}
	if (opt_socket == NULL || opt_request == NULL || opt_clients < 1 || opt_depth < 1 ||
	    opt_clients > 1000 || opt_depth > 4096 || (opt_connect_each && opt_depth != 1))
		usage();
	if (strchr(opt_request, '\n') != NULL) {
		fprintf(stderr, "loadgen: the request is one line, without its newline\n");
		return 2;
	}
	if (opt_warmup < 0)
		opt_warmup = opt_seconds * 0.1 < 0.5 ? opt_seconds * 0.1 : 0.5;
	expect_len = strlen(opt_expect);
	request_templated =
	    strstr(opt_request, "{n}") != NULL || strstr(opt_request, "{c}") != NULL;
	line_len = strlen(opt_request) + 1;

	clients = calloc((size_t)opt_clients, sizeof *clients);
	if (clients == NULL)
		die(NULL, "out of memory");
	pthread_barrier_init(&ready, NULL, (unsigned)opt_clients + 1);
	/* Until the barrier sets the window, nothing counts. */
	window_start = UINT64_MAX;
	window_end = UINT64_MAX;
	for (i = 0; i < opt_clients; i++) {
		struct client *c = &clients[i];

		c->index = i + 1;
		c->sent_at = calloc((size_t)opt_depth, sizeof *c->sent_at);
		if (!request_templated) {
			int k;

			c->out_cap = line_len * (size_t)opt_depth;
			c->out = malloc(c->out_cap);
			for (k = 0; c->out != NULL && k < opt_depth; k++) {
				memcpy(c->out + line_len * (size_t)k, opt_request, line_len - 1);
				c->out[line_len * (size_t)k + line_len - 1] = '\n';
			}
		}
		if (c->sent_at == NULL || (!request_templated && c->out == NULL))
			die(NULL, "out of memory");
	}
	for (i = 0; i < opt_clients; i++) {
		rc = pthread_create(&clients[i].thread, NULL, run_client, &clients[i]);
		if (rc != 0)
			die(NULL, "pthread_create: %s", strerror(rc));
	}
	/* Every client is connected: the run starts now for all of them. */
	start = now_ns();
	if (opt_requests > 0) {
		window_start = start;
		window_end = UINT64_MAX - 1;
	} else {
		window_start = start + (uint64_t)(opt_warmup * 1e9);
		window_end = window_start + (uint64_t)(opt_seconds * 1e9);
	}
	pthread_barrier_wait(&ready);
	for (i = 0; i < opt_clients; i++)
		pthread_join(clients[i].thread, NULL);
	window_s = opt_requests > 0 ? (double)(now_ns() - start) / 1e9 : opt_seconds;

	for (i = 0; i < opt_clients; i++) {
		total += clients[i].in_window;
		nall += clients[i].nlat;
	}
	if (total == 0)
		die(NULL, "no reply inside the measurement window");
	all = malloc(nall * sizeof *all);
	if (all == NULL)
		die(NULL, "out of memory");
	nall = 0;
	for (i = 0; i < opt_clients; i++) {
		memcpy(all + nall, clients[i].lat_ns, clients[i].nlat * sizeof *all);
		nall += clients[i].nlat;
	}
	qsort(all, nall, sizeof *all, cmp_u32);
	printf("clients=%d depth=%d seconds=%.3f requests=%" PRIu64 " rps=%.1f p50_us=%.1f "
	       "p99_us=%.1f p999_us=%.1f max_us=%.1f\n",
	       opt_clients, opt_depth, window_s, total, (double)total / window_s,
	       quantile_us(all, nall, 0.50), quantile_us(all, nall, 0.99),
	       quantile_us(all, nall, 0.999), nall ? all[nall - 1] / 1000.0 : 0.0);
	for (i = 0; i < opt_clients; i++) {
		free(clients[i].sent_at);
		free(clients[i].lat_ns);
		free(clients[i].out);
	}
	free(clients);
	free(all);
	pthread_barrier_destroy(&ready);
	return 0;
}
