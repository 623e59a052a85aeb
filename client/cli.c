/*
 * The ccr-config run-time: global options, dispatch to a command, the daemon
 * connection, and errors (as text, or as JSON with --json) with their exit codes.
 */
#include "cli.h"
#include "confine.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif
#ifdef __APPLE__
#include <mach-o/dyld.h>
#endif

#include "binding.h"
#include "keystore.h"
#include "suggest.h"

/* How long to wait for a reply; a set waits for an fsync. */
#define CALL_TIMEOUT_MS 15000

/*
 * How errors are reported in this run. With --json the first error is held and
 * printed as one JSON object on stdout when the command fails; file scope,
 * since every module reports through cli_error, which takes no context.
 */
static struct {
	bool json;     /* --json was given */
	bool pending;  /* an error is held */
	bool document; /* the command printed its own JSON: a held error goes to stderr */
	char name[32]; /* a protocol error's name, or error_name(code) */
	char message[2048];
} report;

/* The --json error name for an exit code without a protocol error behind it. */
static const char *
error_name(int code)
{
	switch (code) {
	case EXIT_NOT_FOUND:
		return "not_found";
	case EXIT_USAGE:
		return "usage";
	case EXIT_UNREACHABLE:
		return "unreachable";
	case EXIT_DENIED:
		return "denied";
	case 126:
		return "cannot_execute";
	case 127:
		return "command_not_found";
	default:
		return "failed";
	}
}

/* Report msg with exit code and error name: text on stderr, or held for --json. */
static int
report_error(int code, const char *name, const char *msg)
{
	if (!report.json || report.pending) {
		fprintf(stderr, "ccr-config: %s\n", msg);
		return code;
	}
	report.pending = true;
	snprintf(report.name, sizeof report.name, "%s", name);
	snprintf(report.message, sizeof report.message, "%s", msg);
	return code;
}

int
cli_error(int code, const char *fmt, ...)
{
	char msg[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	return report_error(code, error_name(code), msg);
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

void
cli_json_key(struct buf *doc, const char *name)
{
	proto_reply_begin(doc, NULL);
	proto_field_str(doc, "name", name, strlen(name));
}

void
cli_json_out(struct buf *doc)
{
	proto_end(doc);
	fwrite(doc->data, 1, doc->len, stdout);
	buf_free(doc);
	report.document = true;
}

void
cli_errors_flush(void)
{
	if (report.pending)
		fprintf(stderr, "ccr-config: %s\n", report.message);
	report.pending = false;
	fflush(stdout);
}

/* At the end of a --json run that failed, print the error it held as one JSON object. */
static void
report_finish(int rc)
{
	struct buf out = {0};

	if (!report.json || (rc == 0 && !report.pending))
		return;
	if (rc == 0 || report.document) {
		cli_errors_flush();
		return;
	}
	if (!report.pending) {
		snprintf(report.name, sizeof report.name, "%s", error_name(rc));
		snprintf(report.message, sizeof report.message, "failed with exit status %d", rc);
	}
	buf_adds(&out, "{\"ok\":false");
	proto_field_str_as(&out, "error", report.name, strlen(report.name), BUF_JSON_CJSON);
	proto_field_str_as(&out, "message", report.message, strlen(report.message),
	                   BUF_JSON_CJSON);
	proto_end(&out);
	fwrite(out.data, 1, out.len, stdout);
	buf_free(&out);
	report.pending = false;
}

int
cli_usage(struct cli *cli)
{
	char msg[512];

	snprintf(msg, sizeof msg, "%s%susage: ccr-config %s %s (ccr-config %s --help explains it)",
	         cli->bad_option, cli->bad_option[0] ? "; " : "", cli->cmd->name, cli->cmd->usage,
	         cli->cmd->name);
	if (!report.json) {
		fprintf(stderr, "%s%s\n", cli->bad_option[0] ? "ccr-config: " : "", msg);
		return EXIT_USAGE;
	}
	return report_error(EXIT_USAGE, "usage", msg);
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
		msg = "the keystore is locked; run: ccr-config unlock";
	return report_error(cli_exit_for(err), proto_err_name(err), msg);
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
	if (confine_inside())
		return cli_error(
		    EXIT_UNREACHABLE,
		    "this process runs confined by ccr-keyd (%s): the keystore, the "
		    "socket and every process outside are out of its reach, by design; "
		    "run ccr-config in a terminal outside the agent",
		    getenv(CONFINE_ENV));
	if (!cli->autostart)
		return cli_error(EXIT_UNREACHABLE,
		                 "ccr-keyd is not running (no answer on %s); start it with: "
		                 "ccr-keyd --daemon",
		                 cli->socket);
	rc = autostart_daemon(cli->socket, why, sizeof why);
	if (rc == CONN_UNTRUSTED)
		return cli_error(EXIT_DENIED, "%s", why);
	if (rc == -1)
		return cli_error(EXIT_UNREACHABLE,
		                 "ccr-keyd is not running and could not be "
		                 "started: %s",
		                 why);
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
cli_call_op(struct cli *cli, enum proto_op op, int *code)
{
	struct buf req = {0};

	proto_request_begin(&req, op);
	proto_end(&req);
	return cli_call_ok(cli, &req, code);
}

struct jsonr *
cli_list(struct cli *cli, int *code)
{
	return cli_call_op(cli, OP_LIST, code);
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
          const struct names *origins, int *code)
{
	struct buf req = {0};
	struct jsonr *reply;

	proto_request_begin(&req, OP_SET);
	proto_field_str(&req, "name", name, strlen(name));
	if (env != NULL)
		proto_field_str(&req, "env", env, strlen(env));
	proto_field_str(&req, "value", value, len);
	if (cli->env_confirmed)
		proto_field_bool(&req, "env_confirmed", true);
	if (origins != NULL && origins->n > ORIGINS_MAX)
		cli_warn("the router's config sends %s to more than %d origins; it is not bound "
		         "from it (bind it with: ccr-config bind %s URL...)",
		         name, ORIGINS_MAX, name);
	else if (origins != NULL && origins->n > 0)
		binding_field(&req, origins);
	proto_end(&req);
	reply = cli_call(cli, &req, code);
	buf_free(&req);
	return reply;
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

int
cli_exec(char **cmd, const char *hint)
{
	int saved;

	fflush(stdout);
	fflush(stderr);
	execvp(cmd[0], cmd);
	saved = errno;
	return cli_error(saved == ENOENT ? 127 : 126, "cannot run %s: %s%s%s", cmd[0],
	                 strerror(saved), hint != NULL ? "; " : "", hint != NULL ? hint : "");
}

void
cli_detach_stdio(void)
{
	int null = open("/dev/null", O_RDWR);

	if (null == -1)
		return;
	dup2(null, STDIN_FILENO);
	dup2(null, STDOUT_FILENO);
	dup2(null, STDERR_FILENO);
	if (null > STDERR_FILENO)
		close(null);
}

int
cli_self_path(char *out, size_t size)
{
#ifdef __APPLE__
	char raw[PATH_MAX], real[PATH_MAX];
	uint32_t n = sizeof raw;

	if (_NSGetExecutablePath(raw, &n) != 0 || realpath(raw, real) == NULL)
		return -1;
	snprintf(out, size, "%s", real);
	return 0;
#else
	ssize_t n = readlink("/proc/self/exe", out, size - 1);

	if (n <= 0)
		return -1;
	out[n] = '\0';
	return 0;
#endif
}

long long
cli_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void
cli_time_local(const char *iso, char *out, size_t size)
{
	int64_t t = ks_time_parse(iso);
	time_t tt = (time_t)t;
	struct tm tm;

	if (t < 0 || localtime_r(&tt, &tm) == NULL ||
	    strftime(out, size, "%Y-%m-%d %H:%M", &tm) == 0)
		snprintf(out, size, "-");
}

/* The command called name, or NULL. */
static const struct command *
find_command(const struct command *const *commands, const char *name)
{
	size_t i;

	for (i = 0; commands[i] != NULL; i++) {
		if (strcmp(commands[i]->name, name) == 0)
			return commands[i];
	}
	return NULL;
}

/* Say that word is no command, with the nearest ones; returns EXIT_USAGE. */
static int
unknown_command(const struct command *const *commands, const char *word)
{
	struct suggestion sg;
	char near[256];
	size_t i;

	suggest_init(&sg, word);
	for (i = 0; commands[i] != NULL; i++)
		suggest_offer(&sg, commands[i]->name);
	suggest_phrase(&sg, near, sizeof near);
	if (near[0] != '\0')
		return cli_error(EXIT_USAGE, "unknown command '%s'; did you mean %s?", word, near);
	cli_error(EXIT_USAGE, "unknown command '%s'; ccr-config --help lists the commands", word);
	if (!report.json)
		cli_help(commands, stderr);
	return EXIT_USAGE;
}

/*
 * Take --json and --help out of a command's arguments: before any "--", and
 * for a command that runs another program (in_order), before its first
 * operand, so that `guard codex --help` reaches codex.
 */
static int
strip_common(struct cli *cli, int argc, char **argv, bool *help)
{
	int i, n = 0;
	bool rest = false;

	for (i = 0; i < argc; i++) {
		if (!rest && (strcmp(argv[i], "--") == 0 ||
		              (cli->cmd->args.in_order && i > 0 && argv[i][0] != '-')))
			rest = true;
		if (!rest && strcmp(argv[i], "--json") == 0) {
			cli->json = true;
			continue;
		}
		if (!rest && i > 0 &&
		    (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)) {
			*help = true;
			continue;
		}
		argv[n++] = argv[i];
	}
	argv[n] = NULL;
	return n;
}

/* Parse the arguments of cli->cmd by its table entry and run it; the connection is closed after. */
static int
run_command(struct cli *cli, int argc, char **argv)
{
	const char *noauto = getenv("CCR_KEYD_NO_AUTOSTART");
	struct args args;
	char err[1024];
	int rc;

	if (cli->socket[0] == '\0' &&
	    paths_socket(cli->socket, sizeof cli->socket, err, sizeof err))
		return cli_error(EXIT_FAILURE_OTHER, "%s", err);
	cli->autostart = noauto == NULL || strcmp(noauto, "1") != 0;
	rc = cli_parse(cli, argc, argv, &args);
	if (rc == 0)
		rc = cli->cmd->run(cli, &args);
	if (cli->connected)
		conn_close(&cli->conn);
	return rc;
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
	bool help = false;
	int c, rc;

	while ((c = getopt_long(argc, argv, "+s:jvVh", longopts, NULL)) != -1) {
		switch (c) {
		case 's':
			snprintf(cli.socket, sizeof cli.socket, "%s", optarg);
			break;
		case 'j':
			cli.json = true;
			break;
		case 'v':
		case 'V':
			printf("ccr-config %s\n", CCR_KEYD_VERSION);
			return EXIT_OK;
		case 'h':
			cli_help(commands, stdout);
			return EXIT_OK;
		default:
			cli_help(commands, stderr);
			return EXIT_USAGE;
		}
	}
	report.json = cli.json;
	if (optind >= argc && cli.json) {
		rc = cli_error(EXIT_USAGE, "no command given; ccr-config --help lists them");
		report_finish(rc);
		return rc;
	}
	if (optind >= argc) {
		cli_help(commands, stderr);
		return EXIT_USAGE;
	}
	argc -= optind;
	argv += optind;
	cli.cmd = find_command(commands, argv[0]);
	if (cli.cmd == NULL) {
		rc = unknown_command(commands, argv[0]);
		report_finish(rc);
		return rc;
	}
	argc = strip_common(&cli, argc, argv, &help);
	report.json = cli.json;
	if (help) {
		cli_command_help(cli.cmd, stdout);
		return EXIT_OK;
	}
	rc = run_command(&cli, argc, argv);
	report_finish(rc);
	return rc;
}

int
cli_which(const char *name, char *out, size_t size)
{
	const char *path = getenv("PATH"), *p, *end;
	bool denied = false;

	if (strchr(name, '/') != NULL) {
		snprintf(out, size, "%s", name);
		return access(out, X_OK);
	}
	for (p = path != NULL ? path : "/usr/bin:/bin";; p = end + 1) {
		end = strchr(p, ':');
		if (end == NULL)
			end = p + strlen(p);
		snprintf(out, size, "%.*s%s%s", (int)(end - p), p, end > p ? "/" : "", name);
		if (access(out, X_OK) == 0)
			return 0;
		denied = denied || errno == EACCES;
		if (*end == '\0')
			break;
	}
	errno = denied ? EACCES : ENOENT;
	return -1;
}

bool
cli_one_of(const char *s, const char *const *list)
{
	for (; s != NULL && *list != NULL; list++) {
		if (strcmp(s, *list) == 0)
			return true;
	}
	return false;
}
