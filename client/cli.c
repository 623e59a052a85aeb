/*
 * The ccr-config run-time: global options, dispatch to a command, the daemon
 * connection, errors and exit codes, and key input that never echoes.
 */
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#include "keystore.h"

/* How long to wait for a reply; a set waits for an fsync. */
#define CALL_TIMEOUT_MS 15000

int
cli_error(int code, const char *fmt, ...)
{
	char msg[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	fprintf(stderr, "ccr-config: %s\n", msg);
	return code;
}

void
cli_warn(const char *fmt, ...)
{
	char msg[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	fprintf(stderr, "ccr-config: warning: %s\n", msg);
}

int
cli_usage(struct cli *cli)
{
	fprintf(stderr, "usage: ccr-config %s %s\n", cli->cmd->name, cli->cmd->usage);
	return EXIT_USAGE;
}

const char *
cli_str(const struct jsonr *obj, const char *key)
{
	const struct jsonr *m = jsonr_get(obj, key);

	return jsonr_is(m, JSONR_STRING) ? m->u.str : "";
}

int
cli_exit_for(enum proto_err err)
{
	switch (err) {
	case PE_OK:
		return EXIT_OK;
	case PE_NOT_FOUND:
		return EXIT_NOT_FOUND;
	case PE_LOCKED:
	case PE_DENIED:
		return EXIT_DENIED;
	case PE_BUSY:
		return EXIT_UNREACHABLE;
	default:
		return EXIT_FAILURE_OTHER;
	}
}

int
cli_reply_failed(const struct jsonr *reply)
{
	const char *msg;
	enum proto_err err = conn_reply_error(reply, &msg);

	if (err == PE_LOCKED)
		return cli_error(EXIT_DENIED, "the keystore is locked; run: ccr-config unlock");
	return cli_error(cli_exit_for(err), "%s", msg);
}

int
cli_connect(struct cli *cli)
{
	char err[1024], why[1024];
	int saved, rc;

	if (cli->connected)
		return 0;
	int timeout = cli->timeout_ms > 0 ? cli->timeout_ms : CALL_TIMEOUT_MS;

	rc = conn_open(&cli->conn, cli->socket, timeout, err, sizeof err);
	if (rc == CONN_UNTRUSTED)
		return cli_error(EXIT_DENIED, "%s", err);
	if (rc == 0) {
		cli->connected = true;
		return 0;
	}
	saved = errno;
	if (saved == EACCES || saved == EPERM)
		return cli_error(EXIT_DENIED, "%s; the socket belongs to another user", err);
	if (saved != ENOENT && saved != ECONNREFUSED)
		return cli_error(EXIT_UNREACHABLE, "%s", err);
	if (!cli->autostart)
		return cli_error(EXIT_UNREACHABLE,
				 "ccr-keyd is not running (no answer on %s); start it with: "
				 "ccr-keyd --daemon",
				 cli->socket);
	rc = autostart_daemon(cli->socket, why, sizeof why);
	if (rc == CONN_UNTRUSTED)
		return cli_error(EXIT_DENIED, "%s", why);
	if (rc == -1)
		return cli_error(EXIT_UNREACHABLE, "ccr-keyd is not running and could not be "
						   "started: %s", why);
	rc = conn_open(&cli->conn, cli->socket, timeout, err, sizeof err);
	if (rc == CONN_UNTRUSTED)
		return cli_error(EXIT_DENIED, "%s", err);
	if (rc == -1)
		return cli_error(EXIT_UNREACHABLE, "started ccr-keyd, but %s", err);
	cli->connected = true;
	return 0;
}

struct jsonr *
cli_call(struct cli *cli, const struct buf *req, int *code)
{
	char err[1024];
	struct jsonr *reply;

	*code = cli_connect(cli);
	if (*code != 0)
		return NULL;
	reply = conn_call(&cli->conn, req, err, sizeof err);
	if (reply == NULL)
		*code = cli_error(EXIT_UNREACHABLE, "%s", err);
	return reply;
}

/* Send req and return its reply when it succeeded, else NULL with *code set. */
struct jsonr *
cli_call_ok(struct cli *cli, struct buf *req, int *code)
{
	struct jsonr *reply = cli_call(cli, req, code);

	buf_free(req);
	if (reply != NULL && conn_reply_error(reply, NULL) != PE_OK) {
		*code = cli_reply_failed(reply);
		conn_reply_free(reply);
		return NULL;
	}
	return reply;
}

struct jsonr *
cli_list(struct cli *cli, int *code)
{
	struct buf req = {0};

	proto_request_begin(&req, OP_LIST);
	proto_end(&req);
	return cli_call_ok(cli, &req, code);
}

struct jsonr *
cli_resolve(struct cli *cli, const char *const *envs, size_t n, int *code)
{
	struct buf req = {0};
	size_t i;

	proto_request_begin(&req, OP_RESOLVE);
	proto_field_key(&req, "env");
	buf_addc(&req, '[');
	for (i = 0; i < n; i++) {
		if (i > 0)
			buf_addc(&req, ',');
		buf_add_json(&req, envs[i], strlen(envs[i]));
	}
	buf_addc(&req, ']');
	proto_end(&req);
	return cli_call_ok(cli, &req, code);
}

struct jsonr *
cli_store(struct cli *cli, const char *name, const char *env, const char *value, size_t len,
	  int *code)
{
	struct buf req = {0};
	struct jsonr *reply;

	proto_request_begin(&req, OP_SET);
	proto_field_str(&req, "name", name, strlen(name));
	if (env != NULL)
		proto_field_str(&req, "env", env, strlen(env));
	proto_field_str(&req, "value", value, len);
	proto_end(&req);
	reply = cli_call(cli, &req, code);
	buf_free(&req);
	return reply;
}

/* Read up to the limit from fd into out; returns -1 on a read error. */
static int
read_fd(int fd, struct buf *out, size_t limit)
{
	for (;;) {
		ssize_t n;

		buf_reserve(out, 4096);
		n = read(fd, out->data + out->len, out->cap - out->len - 1);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return -1;
		if (n == 0)
			return 0;
		out->len += (size_t)n;
		out->data[out->len] = '\0';
		if (out->len > limit)
			return 0;
	}
}

/* Read one line from the terminal with echo off. */
static int
read_tty(const char *prompt, struct buf *out)
{
	struct termios old, quiet;
	int fd = open("/dev/tty", O_RDWR | O_CLOEXEC), rc = 0;
	char c;

	if (fd == -1)
		return cli_error(EXIT_USAGE, "no terminal to prompt on; pipe the key on stdin");
	if (tcgetattr(fd, &old) == -1) {
		close(fd);
		return cli_error(EXIT_USAGE, "cannot turn off echo; pipe the key on stdin");
	}
	quiet = old;
	quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
	quiet.c_lflag |= ICANON;
	if (write(fd, prompt, strlen(prompt)) < 0 || tcsetattr(fd, TCSAFLUSH, &quiet) == -1) {
		close(fd);
		return cli_error(EXIT_USAGE, "cannot turn off echo; pipe the key on stdin");
	}
	for (;;) {
		ssize_t n = read(fd, &c, 1);

		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0 || c == '\n' || c == '\r')
			break;
		buf_addc(out, c);
		if (out->len > PROTO_VALUE_MAX)
			break;
	}
	c = 0;
	tcsetattr(fd, TCSAFLUSH, &old);
	if (write(fd, "\n", 1) < 0)
		rc = 0;
	close(fd);
	return rc;
}

int
cli_read_secret(const char *prompt, struct buf *out)
{
	int rc;

	if (isatty(STDIN_FILENO)) {
		rc = read_tty(prompt, out);
		if (rc != 0)
			return rc;
	} else {
		if (read_fd(STDIN_FILENO, out, PROTO_VALUE_MAX + 2) == -1)
			return cli_error(EXIT_FAILURE_OTHER, "cannot read stdin: %s", strerror(errno));
		if (out->len > 0 && out->data[out->len - 1] == '\n')
			out->data[--out->len] = '\0';
		if (out->len > 0 && out->data[out->len - 1] == '\r')
			out->data[--out->len] = '\0';
	}
	if (out->len == 0)
		return cli_error(EXIT_USAGE, "no key given; nothing stored");
	if (out->len > PROTO_VALUE_MAX)
		return cli_error(EXIT_USAGE, "a key may be at most 16 KiB; nothing stored");
	if (memchr(out->data, '\n', out->len) != NULL || memchr(out->data, '\0', out->len) != NULL)
		return cli_error(EXIT_USAGE,
				 "the key spans several lines or holds a NUL byte; nothing stored");
	return 0;
}

/* Read one line from fd byte by byte, so that nothing after it is consumed. */
static int
read_line_fd(int fd, struct buf *out)
{
	char c;

	for (;;) {
		ssize_t n = read(fd, &c, 1);

		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return -1;
		if (n == 0 || c == '\n')
			break;
		buf_addc(out, c);
		if (out->len > PROTO_VALUE_MAX)
			break;
	}
	if (out->len > 0 && out->data[out->len - 1] == '\r')
		out->data[--out->len] = '\0';
	c = 0;
	return 0;
}

int
cli_read_line_secret(const char *prompt, bool from_stdin, struct buf *out)
{
	int rc;

	if (from_stdin) {
		if (read_line_fd(STDIN_FILENO, out) == -1)
			return cli_error(EXIT_FAILURE_OTHER, "cannot read stdin: %s", strerror(errno));
	} else if ((rc = read_tty(prompt, out)) != 0) {
		return rc;
	}
	if (out->len == 0)
		return cli_error(EXIT_USAGE, "empty passphrase; nothing done");
	if (out->len > PROTO_VALUE_MAX)
		return cli_error(EXIT_USAGE, "a passphrase may be at most 16 KiB");
	return 0;
}

int
cli_unlock(struct cli *cli, double seconds, bool from_stdin)
{
	struct buf pass = {0}, req = {0};
	struct jsonr *reply = NULL;
	int rc, saved = cli->timeout_ms;

	cli_protect();
	rc = cli_read_line_secret("Passphrase for the ccr-keyd keystore: ", from_stdin, &pass);
	if (rc != 0)
		goto done;
	proto_request_begin(&req, OP_UNLOCK);
	proto_field_str(&req, "value", pass.data, pass.len);
	if (seconds > 0) {
		char num[32];

		snprintf(num, sizeof num, "%.3f", seconds); /* --for 0.5s is half a second */
		proto_field_key(&req, "for");
		buf_adds(&req, num);
	}
	proto_end(&req);
	buf_free(&pass);
	cli->timeout_ms = 120000; /* Argon2id, plus the delay after wrong answers */
	if (cli->connected) {
		conn_close(&cli->conn);
		cli->connected = false;
	}
	reply = cli_call(cli, &req, &rc);
	cli->timeout_ms = saved;
	if (reply == NULL)
		goto done;
	if (conn_reply_error(reply, NULL) == PE_DENIED)
		rc = cli_error(EXIT_DENIED, "wrong passphrase; the keystore stays locked");
	else if (conn_reply_error(reply, NULL) != PE_OK)
		rc = cli_reply_failed(reply);
	else
		rc = EXIT_OK;
done:
	conn_reply_free(reply);
	buf_free(&pass);
	buf_free(&req);
	return rc;
}

void
cli_protect(void)
{
	struct rlimit rl = {0, 0};

#ifdef __linux__
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
#endif
	setrlimit(RLIMIT_CORE, &rl);
}

void
cli_time_local(const char *iso, char *out, size_t size)
{
	int64_t t = ks_time_parse(iso);
	time_t tt = (time_t)t;
	struct tm tm;

	if (t < 0 || localtime_r(&tt, &tm) == NULL || strftime(out, size, "%Y-%m-%d %H:%M", &tm) == 0)
		snprintf(out, size, "-");
}

/* Print the list of commands. */
static void
print_help(const struct command *const *commands, FILE *f)
{
	size_t i;

	fprintf(f, "usage: ccr-config [--socket PATH] [--json] COMMAND [ARGS]\n\n"
		   "Store API keys for claude-code-router in ccr-keyd and run the router with them.\n\n"
		   "commands:\n");
	for (i = 0; commands[i] != NULL; i++)
		fprintf(f, "  %-12s %s\n", commands[i]->name, commands[i]->summary);
	fprintf(f, "\nccr-config COMMAND --help shows a command's arguments.\n"
		   "Exit codes: 0 ok, 1 not found, 2 usage, 3 daemon unreachable, 4 denied or "
		   "locked, 5 other failure.\n");
}

/* Take --json and --help out of a command's arguments (before any "--"). */
static int
strip_common(struct cli *cli, int argc, char **argv, bool *help)
{
	int i, n = 0;
	bool rest = false;

	for (i = 0; i < argc; i++) {
		if (!rest && strcmp(argv[i], "--") == 0)
			rest = true;
		if (!rest && strcmp(argv[i], "--json") == 0) {
			cli->json = true;
			continue;
		}
		if (!rest && i > 0 && (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)) {
			*help = true;
			continue;
		}
		argv[n++] = argv[i];
	}
	argv[n] = NULL;
	return n;
}

int
cli_main(const struct command *const *commands, int argc, char **argv)
{
	static const struct option longopts[] = {
		{"socket", required_argument, NULL, 's'},
		{"json", no_argument, NULL, 'j'},
		{"version", no_argument, NULL, 'V'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct cli cli = {.commands = commands, .progname = "ccr-config"};
	const char *noauto = getenv("CCR_KEYD_NO_AUTOSTART");
	char err[1024];
	bool help = false;
	int c, i, rc;

	while ((c = getopt_long(argc, argv, "+s:jVh", longopts, NULL)) != -1) {
		switch (c) {
		case 's':
			snprintf(cli.socket, sizeof cli.socket, "%s", optarg);
			break;
		case 'j':
			cli.json = true;
			break;
		case 'V':
			printf("ccr-config %s\n", CCR_KEYD_VERSION);
			return EXIT_OK;
		case 'h':
			print_help(commands, stdout);
			return EXIT_OK;
		default:
			print_help(commands, stderr);
			return EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		print_help(commands, stderr);
		return EXIT_USAGE;
	}
	argc -= optind;
	argv += optind;
	if (strcmp(argv[0], "help") == 0) {
		if (argc < 2) {
			print_help(commands, stdout);
			return EXIT_OK;
		}
		argv++;
		argc--;
		help = true;
	}
	for (i = 0; commands[i] != NULL; i++) {
		if (strcmp(commands[i]->name, argv[0]) == 0)
			break;
	}
	if (commands[i] == NULL) {
		cli_error(EXIT_USAGE, "unknown command '%s'", argv[0]);
		print_help(commands, stderr);
		return EXIT_USAGE;
	}
	cli.cmd = commands[i];
	argc = strip_common(&cli, argc, argv, &help);
	if (help) {
		printf("usage: ccr-config %s %s\n  %s\n", cli.cmd->name, cli.cmd->usage,
		       cli.cmd->summary);
		return EXIT_OK;
	}
	if (cli.socket[0] == '\0' && paths_socket(cli.socket, sizeof cli.socket, err, sizeof err))
		return cli_error(EXIT_FAILURE_OTHER, "%s", err);
	cli.autostart = noauto == NULL || strcmp(noauto, "1") != 0;
	/* Start getopt afresh for the command: glibc needs optind 0, the BSDs optreset. */
#if defined(__GLIBC__)
	optind = 0;
#else
	optreset = 1;
	optind = 1;
#endif
	rc = cli.cmd->run(&cli, argc, argv);
	if (cli.connected)
		conn_close(&cli.conn);
	return rc;
}
