/*
 * claude-code-router as ccr-config sees it: the installed router and its
 * version, its home and pid file, the preload's record, the preload itself,
 * and starting a router in the background and waiting until it listens.
 */
#include "router.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

#define ROUTER_PACKAGE "@musistudio/claude-code-router"
/* How long a router started in the background may take to listen (5-6 s seen under load). */
#define START_TIMEOUT_MS 30000
#define SMALL_FILE_MAX (64 * 1024)

/* Read a small file (at most SMALL_FILE_MAX bytes) into out. Returns 0, 1 when absent, -1. */
static int
read_small(const char *path, struct buf *out)
{
	FILE *f = fopen(path, "re");
	size_t n;

	if (f == NULL)
		return errno == ENOENT || errno == ENOTDIR ? 1 : -1;
	buf_reserve(out, SMALL_FILE_MAX + 1);
	n = fread(out->data, 1, SMALL_FILE_MAX + 1, f);
	fclose(f);
	if (n > SMALL_FILE_MAX)
		return -1;
	out->len = n;
	out->data[n] = '\0';
	return 0;
}

const char *
router_command(void)
{
	const char *c = getenv("CCR_ROUTER");

	return c != NULL && c[0] != '\0' ? c : "ccr";
}

/* Read the router's package.json in dir/package.json into out->version; 0, 1 absent, -1. */
static int
read_package(const char *dir, struct router_install *out)
{
	char pkg[PATHS_MAX + 32];
	struct buf text = {0};
	struct jsonr *doc = NULL;
	const char *name, *version;
	int rc;

	snprintf(pkg, sizeof pkg, "%s/package.json", dir);
	if ((rc = read_small(pkg, &text)) != 0)
		goto done;
	rc = -1;
	if ((doc = jsonr_parse(text.data, text.len, NULL, 0)) == NULL)
		goto done;
	name = jsonr_str(jsonr_get(doc, "name"));
	version = jsonr_str(jsonr_get(doc, "version"));
	if (name == NULL || strcmp(name, ROUTER_PACKAGE) != 0 || version == NULL)
		goto done;
	snprintf(out->dir, sizeof out->dir, "%s", dir);
	snprintf(out->version, sizeof out->version, "%s", version);
	if (version[0] >= '0' && version[0] <= '9')
		out->major = atoi(version);
	rc = 0;
done:
	jsonr_free(doc);
	buf_free(&text);
	return rc;
}

int
router_find(struct router_install *out)
{
	char found[PATHS_MAX], real[PATH_MAX], dir[PATH_MAX], *slash;
	int up, rc = 1;

	memset(out, 0, sizeof *out);
	out->major = -1;
	if (cli_which(router_command(), found, sizeof found) == -1 || realpath(found, real) == NULL)
		return -1;
	slash = strrchr(real, '/');
	if (slash == NULL || strcmp(slash + 1, "cli.js") != 0)
		return -1;
	snprintf(out->cli, sizeof out->cli, "%s", real);
	/* 1.x, 2.x: PACKAGE/dist/cli.js; 3.x: PACKAGE/dist/main/cli.js. */
	snprintf(dir, sizeof dir, "%.*s", (int)(slash - real), real);
	for (up = 0; up < 2 && rc == 1; up++) {
		if ((slash = strrchr(dir, '/')) == NULL)
			return -1;
		*slash = '\0';
		rc = read_package(dir, out);
	}
	return rc == 0 ? 0 : -1;
}

bool
router_supported(const struct router_install *r)
{
	char gateway[PATHS_MAX + 64];

	if (r->major == 1 || r->major == 2)
		return true;
	/* 3.x loads ccr-keyd's gateway plugin in the gateway child this file starts. */
	snprintf(gateway, sizeof gateway, "%s/dist/main/gateway-bootstrap.js", r->dir);
	return r->major == 3 && access(gateway, R_OK) == 0;
}

int
router_home(char *out, size_t size, char *err, size_t errsize)
{
	const char *home = getenv("HOME");

	if (home == NULL || home[0] == '\0') {
		snprintf(err, errsize, "no home directory: set HOME");
		return -1;
	}
	if ((size_t)snprintf(out, size, "%s/.claude-code-router", home) >= size) {
		snprintf(err, errsize, "the home directory's path is too long");
		return -1;
	}
	return 0;
}

pid_t
router_running(const char *home)
{
	char path[PATHS_MAX + 32];
	struct buf text = {0};
	char *end;
	long pid;

	snprintf(path, sizeof path, "%s/.claude-code-router.pid", home);
	if (read_small(path, &text) != 0) {
		buf_free(&text);
		return 0;
	}
	pid = strtol(text.data, &end, 10);
	if (end == text.data || pid <= 0 || pid > INT_MAX)
		pid = 0;
	buf_free(&text);
	if (pid > 0 && kill((pid_t)pid, 0) == -1 && errno != EPERM)
		pid = 0;
	return (pid_t)pid;
}

int
router_record_read(const char *home, struct router_record *out)
{
	char path[PATHS_MAX + 32];
	struct buf text = {0};
	const struct jsonr *v;
	int rc;

	memset(out, 0, sizeof *out);
	out->version = "";
	out->mode = "";
	snprintf(path, sizeof path, "%s/%s", home, ROUTER_RECORD);
	rc = read_small(path, &text);
	if (rc == 0 && (out->doc = jsonr_parse(text.data, text.len, NULL, 0)) == NULL)
		rc = -1;
	buf_free(&text);
	if (rc != 0)
		return rc;
	out->pid = (pid_t)jsonr_num(jsonr_get(out->doc, "pid"), 0);
	out->port = (int)jsonr_num(jsonr_get(out->doc, "port"), 0);
	if ((v = jsonr_get(out->doc, "router")) != NULL && jsonr_str(v) != NULL)
		out->version = jsonr_str(v);
	v = jsonr_get(out->doc, "keyd");
	out->fallback = jsonr_str(v) != NULL && strcmp(jsonr_str(v), "fallback") == 0;
	if (jsonr_str(jsonr_get(out->doc, "mode")) != NULL)
		out->mode = jsonr_str(jsonr_get(out->doc, "mode"));
	out->keystore = jsonr_get(out->doc, "keystore");
	out->environment = jsonr_get(out->doc, "environment");
	out->missing = jsonr_get(out->doc, "missing");
	out->warnings = jsonr_get(out->doc, "warnings");
	return 0;
}

void
router_record_free(struct router_record *r)
{
	jsonr_free(r->doc);
	memset(r, 0, sizeof *r);
}

/* The directory this program was started from, or -1. */
static int
self_dir(char *out, size_t size)
{
	char exe[PATH_MAX];
	char *slash;

	if (cli_self_path(exe, sizeof exe) == -1)
		return -1;
	slash = strrchr(exe, '/');
	if (slash == NULL)
		return -1;
	*slash = '\0';
	snprintf(out, size, "%s", exe);
	return 0;
}

int
router_node_file(const char *name, char *out, size_t size, char *err, size_t errsize)
{
	static const char *const where[] = {
	    "../lib/ccr-keyd/node", /* make install */
	    "../client/node",       /* build/ */
	    "../../client/node",    /* build/san/ */
	    NULL,
	};
	char dir[PATHS_MAX], path[PATHS_MAX * 2], real[PATH_MAX];
	size_t i;

	if (self_dir(dir, sizeof dir) == -1) {
		snprintf(err, errsize, "cannot tell where ccr-config is installed");
		return -1;
	}
	for (i = 0; where[i] != NULL; i++) {
		snprintf(path, sizeof path, "%s/%s/%s", dir, where[i], name);
		if (realpath(path, real) != NULL && strlen(real) < size) {
			snprintf(out, size, "%s", real);
			return 0;
		}
	}
	snprintf(err, errsize,
	         "ccr-keyd's %s is missing: %s/%s/%s; reinstall ccr-keyd (make install)", name, dir,
	         where[0], name);
	return -1;
}

int
router_preload_option(struct buf *out, char *err, size_t errsize)
{
	char real[PATHS_MAX];
	const char *p;

	if (router_node_file("preload.cjs", real, sizeof real, err, errsize) == -1)
		return -1;
	/* NODE_OPTIONS splits at spaces; a quoted value takes \\ and \" escapes. */
	if (strpbrk(real, " \t\n\"'\\") == NULL) {
		buf_adds(out, "--require=");
		buf_adds(out, real);
		return 0;
	}
	buf_adds(out, "--require=\"");
	for (p = real; *p != '\0'; p++) {
		if (*p == '"' || *p == '\\')
			buf_addc(out, '\\');
		buf_addc(out, *p);
	}
	buf_addc(out, '"');
	return 0;
}

const char *
router_exec_file(struct router_install *r)
{
	return router_find(r) == 0 ? r->cli : router_command();
}

int
router_exec(char **args, bool server)
{
	struct router_install r;

	router_harden(server);
	args[0] = (char *)router_exec_file(&r);
	return cli_exec(args, "install claude-code-router (npm install -g "
	                      "@musistudio/claude-code-router) or name it in CCR_ROUTER");
}

void
router_harden(bool server)
{
	struct rlimit none = {0, 0};

	setrlimit(RLIMIT_CORE, &none);
	if (server)
		umask(077);
}

pid_t
router_start_detached(char *const *unset, size_t n)
{
	char *args[] = {NULL, "start", NULL};
	struct router_install r;
	int fds[2], status;
	pid_t mid, pid = -1;

	if (pipe(fds) == -1) {
		cli_error(EXIT_FAILURE_OTHER, "cannot start the router: %s", strerror(errno));
		return -1;
	}
	fflush(stdout);
	fflush(stderr);
	mid = fork();
	if (mid == 0) {
		close(fds[0]);
		setsid();
		pid = fork();
		if (pid == 0) {
			close(fds[1]);
			cli_detach_stdio();
			router_harden(true);
			while (n > 0)
				unsetenv(unset[--n]);
			args[0] = (char *)router_exec_file(&r);
			execvp(args[0], args);
			_exit(127);
		}
		if (write(fds[1], &pid, sizeof pid) != (ssize_t)sizeof pid)
			_exit(1);
		_exit(0);
	}
	close(fds[1]);
	if (mid > 0 && read(fds[0], &pid, sizeof pid) != (ssize_t)sizeof pid)
		pid = -1;
	close(fds[0]);
	if (mid > 0)
		waitpid(mid, &status, 0);
	if (pid <= 0)
		cli_error(EXIT_FAILURE_OTHER, "cannot start the router: %s",
		          mid == -1 ? strerror(errno) : "fork failed");
	return pid;
}

/*
 * True once pid has exited: gone, or a zombie that its parent has not reaped
 * (a subreaper may be its parent; signals still reach a zombie).
 */
static bool
gone(pid_t pid)
{
	char path[64], stat[512], *end;
	FILE *f;
	size_t n;

	if (kill(pid, 0) == -1 && errno == ESRCH)
		return true;
	snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
	if ((f = fopen(path, "re")) == NULL)
		return false;
	n = fread(stat, 1, sizeof stat - 1, f);
	fclose(f);
	stat[n] = '\0';
	end = strrchr(stat, ')');
	return end != NULL && end[1] == ' ' && (end[2] == 'Z' || end[2] == 'X');
}

/* Print the preload's warnings from a record, for a router whose stderr nobody sees. */
static void
relay_warnings(const struct router_record *rec)
{
	const struct jsonr *w;

	jsonr_foreach(w, rec->warnings)
	{
		if (jsonr_str(w) != NULL)
			fprintf(stderr, "ccr-keyd: %s\n", jsonr_str(w));
	}
}

int
router_wait_listening(const char *home, pid_t pid)
{
	long long deadline = cli_now_ms() + START_TIMEOUT_MS;
	struct timespec nap = {0, 20 * 1000000};
	struct router_record rec;
	pid_t running;

	for (;;) {
		if (router_record_read(home, &rec) == 0 && rec.pid == pid) {
			relay_warnings(&rec);
			router_record_free(&rec);
			return 0;
		}
		router_record_free(&rec);
		if (gone(pid)) {
			running = router_running(home);
			if (running > 0 && router_record_read(home, &rec) == 0 &&
			    rec.pid == running) {
				router_record_free(&rec);
				return 0;
			}
			router_record_free(&rec);
			return cli_error(EXIT_FAILURE_OTHER,
			                 "the router (pid %ld) exited before it listened; run `ccr "
			                 "start` to see why",
			                 (long)pid);
		}
		if (cli_now_ms() > deadline)
			return cli_error(EXIT_FAILURE_OTHER,
			                 "the router (pid %ld) did not listen within %d s; see "
			                 "%s/logs/",
			                 (long)pid, START_TIMEOUT_MS / 1000, home);
		nanosleep(&nap, NULL);
	}
}
