/*
 * Unit tests for conn.c against a tiny scripted server: a forked child that
 * accepts one connection on a Unix socket and plays one script.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "buf.h"
#include "conn.h"
#include "proto.h"

struct fixture {
	char dir[64];
	char sock[128];
	int lfd;
	pid_t server;
	struct conn c;
	char err[256];
};

typedef void (*script_fn)(int fd);

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof *f);
	struct sockaddr_un sun;

	if (f == NULL)
		return -1;
	snprintf(f->dir, sizeof f->dir, "/tmp/ccr-test-conn.XXXXXX");
	if (mkdtemp(f->dir) == NULL)
		return -1;
	snprintf(f->sock, sizeof f->sock, "%s/sock", f->dir);
	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof sun.sun_path, "%s", f->sock);
	f->lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (f->lfd == -1 || bind(f->lfd, (struct sockaddr *)&sun, sizeof sun) == -1 ||
	    listen(f->lfd, 4) == -1)
		return -1;
	f->server = -1;
	f->c.fd = -1;
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[128];

	conn_close(&f->c);
	if (f->server > 0) {
		kill(f->server, SIGKILL);
		waitpid(f->server, NULL, 0);
	}
	close(f->lfd);
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
	if (system(cmd) != 0)
		fprintf(stderr, "# could not remove %s\n", f->dir);
	free(f);
	return 0;
}

/* Start a server that accepts one connection and runs script on it. */
static void
serve(struct fixture *f, script_fn script)
{
	f->server = fork();
	assert_true(f->server >= 0);
	if (f->server == 0) {
		int fd = accept(f->lfd, NULL, NULL);

		if (fd >= 0)
			script(fd);
		_exit(0);
	}
}

/* Connect the fixture's client to its server. */
static void
connect_client(struct fixture *f, int timeout_ms)
{
	if (conn_open(&f->c, f->sock, timeout_ms, f->err, sizeof f->err) != 0)
		fail_msg("conn_open: %s", f->err);
}

/* In the server: write all of s. */
static void
put(int fd, const char *s)
{
	size_t len = strlen(s);

	while (len > 0) {
		ssize_t n = write(fd, s, len);

		if (n <= 0)
			_exit(1);
		s += n;
		len -= (size_t)n;
	}
}

/* In the server: read one line into line (without the newline); -1 at EOF. */
static int
get_line(int fd, char *line, size_t size)
{
	size_t n = 0;
	char ch;

	while (read(fd, &ch, 1) == 1) {
		if (ch == '\n') {
			line[n] = '\0';
			return 0;
		}
		if (n + 1 < size)
			line[n++] = ch;
	}
	return -1;
}

/* In the server: wait until the client goes away. */
static void
drain(int fd)
{
	char tmp[256];

	while (read(fd, tmp, sizeof tmp) > 0)
		;
}

static void
pause_ms(long ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

static double
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

/* ---- scripts ---- */

/* Send every request line back as its reply, until the client leaves. */
static void
script_echo(int fd)
{
	char line[8192];

	while (get_line(fd, line, sizeof line) == 0) {
		put(fd, line);
		put(fd, "\n");
	}
}

/* One reply, in three pieces with pauses between. */
static void
script_split(int fd)
{
	char line[256];

	get_line(fd, line, sizeof line);
	put(fd, "{\"ok\":tr");
	pause_ms(50);
	put(fd, "ue,\"value\":\"csk-te");
	pause_ms(50);
	put(fd, "st-split\"}\n");
	drain(fd);
}

/* Two replies in one write. */
static void
script_two_at_once(int fd)
{
	put(fd, "{\"ok\":true,\"n\":1}\n{\"ok\":true,\"n\":2}\n");
	drain(fd);
}

/* Close at once. */
static void
script_close(int fd)
{
	close(fd);
}

/* Half a reply, then close. */
static void
script_half_then_close(int fd)
{
	put(fd, "{\"ok\":true,\"value\":\"csk-");
	close(fd);
}

/* Never answer; give up after 3 s so that a missing timeout fails instead of hanging. */
static void
script_silent(int fd)
{
	(void)fd;
	pause_ms(3000);
}

/* A line that is not JSON, one that is not an object, then a good one. */
static void
script_garbage_then_good(int fd)
{
	put(fd, "not json at all\n[1,2]\n{\"ok\":true,\"n\":3}\n");
	drain(fd);
}

/* A reply with something after its object, then a good one with escapes. */
static void
script_trailing_then_escaped(int fd)
{
	put(fd, "{\"ok\":true,\"n\":1} x\n{\"ok\":true,\"n\":1}{}\n"
		"{\"ok\":true,\"value\":\"csk-\\u00e9\\ud83d\\ude00\\n\\\"\"}\n");
	drain(fd);
}

/* A reply much larger than one read. */
static void
script_large(int fd)
{
	static char reply[200100];
	size_t n;

	n = (size_t)snprintf(reply, sizeof reply, "{\"ok\":true,\"value\":\"");
	memset(reply + n, 'v', 200000);
	n += 200000;
	memcpy(reply + n, "\"}\n", 4);
	put(fd, reply);
	drain(fd);
}

/* ---- tests ---- */

static void
test_open_of_a_missing_socket_fails_with_enoent(void **state)
{
	struct fixture *f = *state;
	char path[128];

	snprintf(path, sizeof path, "%s/nobody", f->dir);
	f->err[0] = '\0';
	errno = 0;
	assert_int_equal(conn_open(&f->c, path, 0, f->err, sizeof f->err), -1);
	assert_int_equal(errno, ENOENT);
	assert_int_equal(f->c.fd, -1);
	assert_non_null(strstr(f->err, path));
}

static void
test_open_of_a_socket_nobody_listens_on_fails_with_econnrefused(void **state)
{
	struct fixture *f = *state;
	struct sockaddr_un sun;
	char path[128];
	int fd;

	snprintf(path, sizeof path, "%s/stale", f->dir);
	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof sun.sun_path, "%s", path);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sun, sizeof sun), 0);
	close(fd);
	errno = 0;
	assert_int_equal(conn_open(&f->c, path, 0, f->err, sizeof f->err), -1);
	assert_int_equal(errno, ECONNREFUSED);
}

static void
test_open_of_a_path_too_long_for_a_socket_fails(void **state)
{
	struct fixture *f = *state;
	char path[300];

	memset(path, 'p', sizeof path - 1);
	path[0] = '/';
	path[sizeof path - 1] = '\0';
	errno = 0;
	f->err[0] = '\0';
	assert_int_equal(conn_open(&f->c, path, 0, f->err, sizeof f->err), -1);
	assert_int_equal(errno, ENAMETOOLONG);
	assert_non_null(strstr(f->err, "too long"));
}

static void
test_a_request_line_gets_its_reply(void **state)
{
	struct fixture *f = *state;
	struct buf req = {0};
	struct jsonr *reply;

	serve(f, script_echo);
	connect_client(f, 2000);
	proto_request_begin(&req, OP_GET);
	proto_field_str(&req, "name", "cerebras", 8);
	proto_field_int(&req, "id", 5);
	proto_end(&req);
	assert_int_equal(conn_send(&f->c, &req, f->err, sizeof f->err), 0);
	reply = conn_recv(&f->c, f->err, sizeof f->err);
	assert_non_null(reply);
	assert_string_equal(jsonr_str(jsonr_get(reply, "op")), "get");
	assert_string_equal(jsonr_str(jsonr_get(reply, "name")),
	                    "cerebras");
	assert_int_equal(jsonr_num(jsonr_get(reply, "id"), -1), 5);
	conn_reply_free(reply);
	buf_free(&req);
}

static void
test_pipelined_requests_get_their_replies_in_order(void **state)
{
	struct fixture *f = *state;
	struct buf req = {0};
	int i;

	serve(f, script_echo);
	connect_client(f, 2000);
	for (i = 0; i < 10; i++) {
		proto_request_begin(&req, OP_HELLO);
		proto_field_int(&req, "id", i);
		proto_end(&req);
	}
	assert_int_equal(conn_send(&f->c, &req, f->err, sizeof f->err), 0);
	for (i = 0; i < 10; i++) {
		struct jsonr *reply = conn_recv(&f->c, f->err, sizeof f->err);

		assert_non_null(reply);
		assert_int_equal(jsonr_num(jsonr_get(reply, "id"), -1), i);
		conn_reply_free(reply);
	}
	buf_free(&req);
}

static void
test_call_sends_and_receives(void **state)
{
	struct fixture *f = *state;
	struct buf req = {0};
	struct jsonr *reply;

	serve(f, script_echo);
	connect_client(f, 2000);
	buf_adds(&req, "{\"ok\":true,\"value\":\"csk-test-call\"}\n");
	reply = conn_call(&f->c, &req, f->err, sizeof f->err);
	assert_non_null(reply);
	assert_string_equal(jsonr_str(jsonr_get(reply, "value")),
	                    "csk-test-call");
	conn_reply_free(reply);
	buf_free(&req);
}

static void
test_a_reply_split_across_reads_is_put_together(void **state)
{
	struct fixture *f = *state;
	struct buf req = {0};
	struct jsonr *reply;

	serve(f, script_split);
	connect_client(f, 2000);
	buf_adds(&req, "{\"op\":\"get\",\"name\":\"a\"}\n");
	reply = conn_call(&f->c, &req, f->err, sizeof f->err);
	if (reply == NULL)
		fail_msg("conn_call: %s", f->err);
	assert_true(jsonr_is(jsonr_get(reply, "ok"), JSONR_TRUE));
	assert_string_equal(jsonr_str(jsonr_get(reply, "value")),
	                    "csk-test-split");
	conn_reply_free(reply);
	buf_free(&req);
}

static void
test_two_replies_in_one_read_are_returned_one_at_a_time(void **state)
{
	struct fixture *f = *state;
	struct jsonr *a, *b;

	serve(f, script_two_at_once);
	connect_client(f, 2000);
	a = conn_recv(&f->c, f->err, sizeof f->err);
	assert_non_null(a);
	assert_int_equal(jsonr_num(jsonr_get(a, "n"), -1), 1);
	b = conn_recv(&f->c, f->err, sizeof f->err);
	assert_non_null(b);
	assert_int_equal(jsonr_num(jsonr_get(b, "n"), -1), 2);
	assert_int_equal(f->c.in.len, 0);
	conn_reply_free(a);
	conn_reply_free(b);
}

static void
test_a_reply_larger_than_one_read_arrives_whole(void **state)
{
	struct fixture *f = *state;
	const struct jsonr *value;
	struct jsonr *reply;

	serve(f, script_large);
	connect_client(f, 5000);
	reply = conn_recv(&f->c, f->err, sizeof f->err);
	if (reply == NULL)
		fail_msg("conn_recv: %s", f->err);
	value = jsonr_get(reply, "value");
	assert_true(jsonr_is(value, JSONR_STRING));
	assert_int_equal(value->len, 200000);
	conn_reply_free(reply);
}

static void
test_a_closed_connection_is_reported(void **state)
{
	struct fixture *f = *state;

	serve(f, script_close);
	connect_client(f, 2000);
	f->err[0] = '\0';
	assert_null(conn_recv(&f->c, f->err, sizeof f->err));
	assert_non_null(strstr(f->err, "closed"));
}

static void
test_a_connection_closed_mid_reply_is_reported(void **state)
{
	struct fixture *f = *state;

	serve(f, script_half_then_close);
	connect_client(f, 2000);
	f->err[0] = '\0';
	assert_null(conn_recv(&f->c, f->err, sizeof f->err));
	assert_non_null(strstr(f->err, "closed"));
}

static void
test_send_to_a_closed_peer_fails_without_killing_the_client(void **state)
{
	struct fixture *f = *state;
	struct buf req = {0};

	serve(f, script_close);
	connect_client(f, 2000);
	assert_null(conn_recv(&f->c, f->err, sizeof f->err)); /* the peer is gone */
	buf_adds(&req, "{\"op\":\"hello\"}\n");
	f->err[0] = '\0';
	assert_int_equal(conn_send(&f->c, &req, f->err, sizeof f->err), -1);
	assert_non_null(strstr(f->err, "cannot send"));
	buf_free(&req);
}

static void
test_a_silent_daemon_times_out(void **state)
{
	struct fixture *f = *state;
	double start, took;

	serve(f, script_silent);
	connect_client(f, 200);
	f->err[0] = '\0';
	start = now_ms();
	assert_null(conn_recv(&f->c, f->err, sizeof f->err));
	took = now_ms() - start;
	assert_non_null(strstr(f->err, "did not answer in time"));
	if (took < 150 || took > 1500)
		fail_msg("a 200 ms timeout took %.0f ms", took);
}

static void
test_a_line_that_is_not_a_json_object_is_refused_and_skipped(void **state)
{
	struct fixture *f = *state;
	struct jsonr *reply;

	serve(f, script_garbage_then_good);
	connect_client(f, 2000);
	f->err[0] = '\0';
	assert_null(conn_recv(&f->c, f->err, sizeof f->err));
	assert_non_null(strstr(f->err, "not JSON"));
	f->err[0] = '\0';
	assert_null(conn_recv(&f->c, f->err, sizeof f->err));
	assert_non_null(strstr(f->err, "not JSON"));
	reply = conn_recv(&f->c, f->err, sizeof f->err);
	assert_non_null(reply);
	assert_int_equal(jsonr_num(jsonr_get(reply, "n"), -1), 3);
	conn_reply_free(reply);
}

static void
test_a_reply_with_text_after_its_object_is_refused(void **state)
{
	struct fixture *f = *state;
	struct jsonr *reply;

	serve(f, script_trailing_then_escaped);
	connect_client(f, 2000);
	f->err[0] = '\0';
	assert_null(conn_recv(&f->c, f->err, sizeof f->err));
	assert_non_null(strstr(f->err, "not JSON"));
	f->err[0] = '\0';
	assert_null(conn_recv(&f->c, f->err, sizeof f->err));
	assert_non_null(strstr(f->err, "not JSON"));
	reply = conn_recv(&f->c, f->err, sizeof f->err);
	if (reply == NULL)
		fail_msg("conn_recv: %s", f->err);
	conn_reply_free(reply);
}

static void
test_escapes_in_a_reply_are_decoded(void **state)
{
	struct fixture *f = *state;
	struct jsonr *reply;
	int i;

	serve(f, script_trailing_then_escaped);
	connect_client(f, 2000);
	for (i = 0; i < 2; i++)
		assert_null(conn_recv(&f->c, f->err, sizeof f->err));
	reply = conn_recv(&f->c, f->err, sizeof f->err);
	if (reply == NULL)
		fail_msg("conn_recv: %s", f->err);
	assert_string_equal(jsonr_str(jsonr_get(reply, "value")),
	                    "csk-\xc3\xa9\xf0\x9f\x98\x80\n\"");
	conn_reply_free(reply);
}

static void
test_close_forgets_the_fd_and_the_buffer(void **state)
{
	struct fixture *f = *state;

	serve(f, script_two_at_once);
	connect_client(f, 2000);
	conn_reply_free(conn_recv(&f->c, f->err, sizeof f->err));
	assert_true(f->c.in.len > 0); /* the second reply waits in the buffer */
	conn_close(&f->c);
	assert_int_equal(f->c.fd, -1);
	assert_null(f->c.in.data);
	assert_int_equal(f->c.in.len, 0);
	conn_close(&f->c);
}

/* Parse a reply literal for conn_reply_error. */
static enum proto_err
reply_error(const char *text, const char **msg)
{
	struct jsonr *r = jsonr_parse(text, strlen(text), NULL, 0);
	enum proto_err e;
	static char copy[256];

	assert_non_null(r);
	e = conn_reply_error(r, msg);
	if (msg != NULL) {
		snprintf(copy, sizeof copy, "%s", *msg);
		*msg = copy;
	}
	jsonr_free(r);
	return e;
}

static void
test_reply_error_of_a_success_is_ok(void **state)
{
	const char *msg = NULL;

	(void)state;
	assert_int_equal(reply_error("{\"ok\":true,\"value\":\"csk-test-1\"}", &msg), PE_OK);
	assert_int_equal(reply_error("{\"ok\":true}", NULL), PE_OK);
}

static void
test_reply_error_maps_every_wire_code(void **state)
{
	int e;

	(void)state;
	for (e = PE_BAD_REQUEST; e < PE_COUNT; e++) {
		char text[200];
		const char *msg;

		snprintf(text, sizeof text, "{\"ok\":false,\"error\":\"%s\",\"message\":\"m%d\"}",
		         proto_err_name((enum proto_err)e), e);
		assert_int_equal(reply_error(text, &msg), e);
		snprintf(text, sizeof text, "m%d", e);
		assert_string_equal(msg, text);
	}
}

static void
test_reply_error_of_an_unknown_or_missing_code_is_io_error(void **state)
{
	const char *msg;

	(void)state;
	assert_int_equal(reply_error("{\"ok\":false,\"error\":\"exploded\"}", &msg), PE_IO_ERROR);
	assert_int_equal(reply_error("{\"ok\":false}", &msg), PE_IO_ERROR);
	assert_int_equal(reply_error("{\"ok\":false,\"error\":\"ok\"}", &msg), PE_IO_ERROR);
	assert_int_equal(reply_error("{\"ok\":false,\"error\":7}", &msg), PE_IO_ERROR);
	assert_int_equal(reply_error("{}", &msg), PE_IO_ERROR);
	assert_int_equal(reply_error("{\"ok\":\"true\",\"error\":\"busy\"}", &msg), PE_BUSY);
}

static void
test_reply_error_without_a_message_says_so(void **state)
{
	const char *msg = NULL;

	(void)state;
	assert_int_equal(reply_error("{\"ok\":false,\"error\":\"not_found\"}", &msg), PE_NOT_FOUND);
	assert_string_equal(msg, "no message");
}

static void
test_reply_free_of_null_is_harmless(void **state)
{
	(void)state;
	conn_reply_free(NULL);
}


/* ---- trust: the daemon must be ours before anything is sent ---- */

/* True when a client connected to the fixture's listening socket (and is waiting). */
static int
someone_connected(struct fixture *f)
{
	struct pollfd p = {.fd = f->lfd, .events = POLLIN};
	int fd;

	if (poll(&p, 1, 0) != 1)
		return 0;
	fd = accept(f->lfd, NULL, NULL);
	if (fd != -1)
		close(fd);
	return 1;
}

static void
test_open_refuses_a_socket_directory_others_may_write(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(chmod(f->dir, 01777), 0);
	assert_int_equal(conn_open(&f->c, f->sock, 0, f->err, sizeof f->err), CONN_UNTRUSTED);
	assert_int_equal(f->c.fd, -1);
	assert_non_null(strstr(f->err, f->sock));
	assert_non_null(strstr(f->err, "is writable by others (owner uid"));
	assert_non_null(strstr(f->err, "mode 1777"));
	assert_non_null(strstr(f->err, "nothing was sent"));
	assert_false(someone_connected(f));
	assert_int_equal(chmod(f->dir, 0720), 0); /* group-writable is refused too */
	assert_int_equal(conn_open(&f->c, f->sock, 0, f->err, sizeof f->err), CONN_UNTRUSTED);
	assert_false(someone_connected(f));
}

static void
test_open_refuses_a_socket_directory_that_is_a_symlink(void **state)
{
	struct fixture *f = *state;
	char link[128], path[160];

	snprintf(link, sizeof link, "%s-link", f->dir);
	snprintf(path, sizeof path, "%s/sock", link);
	unlink(link);
	assert_int_equal(symlink(f->dir, link), 0);
	assert_int_equal(conn_open(&f->c, path, 0, f->err, sizeof f->err), CONN_UNTRUSTED);
	unlink(link);
	assert_non_null(strstr(f->err, "is a symlink"));
	assert_false(someone_connected(f));
}

static void
test_open_accepts_a_private_directory_of_ours_and_a_server_of_ours(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(conn_open(&f->c, f->sock, 0, f->err, sizeof f->err), 0);
	assert_true(someone_connected(f));
}

static void
test_open_refuses_a_socket_directory_of_another_uid(void **state)
{
	struct fixture *f = *state;

	if (geteuid() != 0)
		skip(); /* needs root to give the directory away */
	assert_int_equal(chown(f->dir, 65534, 65534), 0);
	assert_int_equal(conn_open(&f->c, f->sock, 0, f->err, sizeof f->err), CONN_UNTRUSTED);
	assert_non_null(strstr(f->err, "is not yours (owner uid 65534"));
	assert_false(someone_connected(f));
}

static void
test_open_refuses_a_server_of_another_uid_and_sends_it_nothing(void **state)
{
	struct fixture *f = *state;
	struct sockaddr_un sun;
	char path[160];
	int status, ready[2];
	pid_t pid;
	char c;

	if (geteuid() != 0)
		skip(); /* needs root to listen as another uid */
	snprintf(path, sizeof path, "%s/other", f->dir);
	assert_int_equal(pipe(ready), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		/* Bound as root in our directory, listening as uid 65534: the peer's uid. */
		int lfd = socket(AF_UNIX, SOCK_STREAM, 0), fd;
		char buf[64];
		ssize_t n, got = 0;

		memset(&sun, 0, sizeof sun);
		sun.sun_family = AF_UNIX;
		snprintf(sun.sun_path, sizeof sun.sun_path, "%s", path);
		if (lfd == -1 || bind(lfd, (struct sockaddr *)&sun, sizeof sun) == -1 ||
		    setgid(65534) == -1 || setuid(65534) == -1 || listen(lfd, 1) == -1)
			_exit(100);
		if (write(ready[1], "r", 1) != 1)
			_exit(101);
		fd = accept(lfd, NULL, NULL);
		while (fd != -1 && (n = read(fd, buf, sizeof buf)) > 0)
			got += n;
		_exit(got > 99 ? 99 : (int)got); /* how many bytes the client sent */
	}
	close(ready[1]);
	assert_int_equal(read(ready[0], &c, 1), 1);
	close(ready[0]);
	assert_int_equal(conn_open(&f->c, path, 0, f->err, sizeof f->err), CONN_UNTRUSTED);
	assert_non_null(strstr(f->err, "the process listening there runs as uid 65534, not as you"));
	assert_non_null(strstr(f->err, path));
	assert_int_equal(f->c.fd, -1);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0); /* connected, then closed: not a byte */
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	    T(test_open_of_a_missing_socket_fails_with_enoent),
	    T(test_open_of_a_socket_nobody_listens_on_fails_with_econnrefused),
	    T(test_open_of_a_path_too_long_for_a_socket_fails),
	    T(test_a_request_line_gets_its_reply),
	    T(test_pipelined_requests_get_their_replies_in_order),
	    T(test_call_sends_and_receives),
	    T(test_a_reply_split_across_reads_is_put_together),
	    T(test_two_replies_in_one_read_are_returned_one_at_a_time),
	    T(test_a_reply_larger_than_one_read_arrives_whole),
	    T(test_a_closed_connection_is_reported),
	    T(test_a_connection_closed_mid_reply_is_reported),
	    T(test_send_to_a_closed_peer_fails_without_killing_the_client),
	    T(test_a_silent_daemon_times_out),
	    T(test_a_line_that_is_not_a_json_object_is_refused_and_skipped),
	    T(test_a_reply_with_text_after_its_object_is_refused),
	    T(test_escapes_in_a_reply_are_decoded),
	    T(test_close_forgets_the_fd_and_the_buffer),
	    T(test_open_refuses_a_socket_directory_others_may_write),
	    T(test_open_refuses_a_socket_directory_that_is_a_symlink),
	    T(test_open_accepts_a_private_directory_of_ours_and_a_server_of_ours),
	    T(test_open_refuses_a_socket_directory_of_another_uid),
	    T(test_open_refuses_a_server_of_another_uid_and_sends_it_nothing),
#undef T
	    cmocka_unit_test(test_reply_error_of_a_success_is_ok),
	    cmocka_unit_test(test_reply_error_maps_every_wire_code),
	    cmocka_unit_test(test_reply_error_of_an_unknown_or_missing_code_is_io_error),
	    cmocka_unit_test(test_reply_error_without_a_message_says_so),
	    cmocka_unit_test(test_reply_free_of_null_is_harmless),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
