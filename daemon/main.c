/*
 * ccr-keyd: the per-user key daemon. Start-up order matters: process hygiene
 * before any key is read, the keystore lock before the keystore, the keystore
 * before the socket, so that a peer never sees a half-started daemon.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#include "activation.h"
#include "audit.h"
#include "duration.h"
#include "scratch.h"
#include "fileio.h"
#include "keyd.h"
#include "log.h"
#include "reload.h"

static const char usage_text[] =
	"usage: ccr-keyd [--socket PATH] [--keys PATH] [--daemon] [--idle-exit SECONDS]\n"
	"                [--audit-log PATH] [--lock-after DURATION] [--no-agent-guard]\n"
	"                [--verbose] [--version] [--help]\n"
	"\n"
	"Keep API keys for claude-code-router and answer get/set/list/delete over a\n"
	"Unix socket that only your user may use.\n"
	"\n"
	"  --socket PATH        socket (default $XDG_RUNTIME_DIR/ccr-keyd/sock,\n"
	"                       else $CCR_HOME/keyd.sock; env CCR_KEYD_SOCKET)\n"
	"  --keys PATH          keystore (default $CCR_HOME/keys; env CCR_KEYS)\n"
	"  --daemon             detach once listening; log to $CCR_HOME/keyd.log\n"
	"  --idle-exit SECONDS  exit after SECONDS without connections or writes\n"
	"                       (never while a sealed keystore is unlocked)\n"
	"  --audit-log PATH     append a JSON line per request (never a value) to PATH\n"
	"  --lock-after DURATION  sealed keystore: lock after DURATION unused (90s, 15m, 2h)\n"
	"  --no-agent-guard     serve processes inside coding agents like any other\n"
	"  --verbose            log every change and closed connection\n"
	"  --version            print the version and exit\n"
	"\n"
	"Signals: TERM/INT finish the write in flight and exit; HUP reloads the keystore\n"
	"once the write in flight is done.\n";

#ifdef CCR_KEYD_TEST_BUILD
#define BUILD_NOTE " (test build: honours CCR_KEYD_TEST_*, never use it for real keys)"
#else
#define BUILD_NOTE ""
#endif

/* Exit with a one-line error on stderr. */
static void __attribute__((noreturn))
die(const char *msg)
{
	fprintf(stderr, "ccr-keyd: %s\n", msg);
	exit(1);
}

/* Parse a non-negative number of seconds. */
static double
parse_seconds(const char *s, const char *opt)
{
	char *end;
	double v = strtod(s, &end);

	if (*s == '\0' || *end != '\0' || v < 0 || v > 1e9) {
		fprintf(stderr, "ccr-keyd: %s needs a number of seconds, not '%s'\n", opt, s);
		exit(2);
	}
	return v;
}

/* Make path absolute against the working directory (--daemon changes to /). */
static void
absolute(char *path, size_t size)
{
	char cwd[PATHS_MAX], tmp[PATHS_MAX];

	if (path[0] == '/' || path[0] == '\0' || getcwd(cwd, sizeof cwd) == NULL)
		return;
	if (snprintf(tmp, sizeof tmp, "%s/%s", cwd, path) >= (int)sizeof tmp)
		die("path too long");
	snprintf(path, size, "%s", tmp);
}

/* Read the command line and the environment into k->opt. */
static void
parse_options(struct keyd *k, int argc, char **argv)
{
	enum {
		OPT_IDLE_EXIT = 256,
		OPT_SPAWNED,
		OPT_CONN_IDLE,
		OPT_AUDIT,
		OPT_LOCK_AFTER,
		OPT_NO_AGENT_GUARD
	};
	static const struct option longopts[] = {
		{"socket", required_argument, NULL, 's'},
		{"keys", required_argument, NULL, 'k'},
		{"daemon", no_argument, NULL, 'd'},
		{"idle-exit", required_argument, NULL, OPT_IDLE_EXIT},
		{"audit-log", required_argument, NULL, OPT_AUDIT},
		{"lock-after", required_argument, NULL, OPT_LOCK_AFTER},
		{"no-agent-guard", no_argument, NULL, OPT_NO_AGENT_GUARD},
		{"verbose", no_argument, NULL, 'v'},
		{"version", no_argument, NULL, 'V'},
		{"help", no_argument, NULL, 'h'},
		{"spawned-by-client", no_argument, NULL, OPT_SPAWNED},
		{"connection-idle", required_argument, NULL, OPT_CONN_IDLE},
		{NULL, 0, NULL, 0},
	};
	struct keyd_options *o = &k->opt;
	char err[512];
	int c;

	o->conn_idle_s = 60;
	while ((c = getopt_long(argc, argv, "s:k:dvVh", longopts, NULL)) != -1) {
		switch (c) {
		case 's':
			snprintf(o->socket, sizeof o->socket, "%s", optarg);
			break;
		case 'k':
			snprintf(o->keys, sizeof o->keys, "%s", optarg);
			break;
		case 'd':
			o->daemonize = true;
			break;
		case OPT_IDLE_EXIT:
			o->idle_exit_s = parse_seconds(optarg, "--idle-exit");
			break;
		case OPT_LOCK_AFTER:
			o->lock_after_s = duration_parse(optarg);
			if (o->lock_after_s < 0) {
				fprintf(stderr, "ccr-keyd: --lock-after needs a duration (90s, 15m, 2h), "
						"not '%s'\n",
					optarg);
				exit(2);
			}
			break;
		case OPT_AUDIT:
			snprintf(o->audit_log, sizeof o->audit_log, "%s", optarg);
			break;
		case OPT_SPAWNED:
			o->spawned_by_client = true;
			break;
		case OPT_NO_AGENT_GUARD:
			o->no_agent_guard = true;
			break;
		case OPT_CONN_IDLE:
			o->conn_idle_s = parse_seconds(optarg, "--connection-idle");
			break;
		case 'v':
			o->verbose = true;
			break;
		case 'V':
			printf("ccr-keyd %s%s\n", CCR_KEYD_VERSION, BUILD_NOTE);
			exit(0);
		case 'h':
			fputs(usage_text, stdout);
			exit(0);
		default:
			fputs(usage_text, stderr);
			exit(2);
		}
	}
	if (optind != argc) {
		fprintf(stderr, "ccr-keyd: unexpected argument '%s'\n%s", argv[optind], usage_text);
		exit(2);
	}
	if (paths_home(o->home, sizeof o->home, err, sizeof err) == -1 ||
	    (o->keys[0] == '\0' && paths_keystore(o->keys, sizeof o->keys, err, sizeof err) == -1) ||
	    (o->socket[0] == '\0' && paths_socket(o->socket, sizeof o->socket, err, sizeof err) == -1))
		die(err);
	absolute(o->home, sizeof o->home);
	absolute(o->keys, sizeof o->keys);
	absolute(o->socket, sizeof o->socket);
	absolute(o->audit_log, sizeof o->audit_log);
}

/* Make the process safe to hold keys: no core dumps, no ptrace by peers, private files. */
static void
harden(void)
{
	struct rlimit rl = {0, 0};
	int fd;

	if (getuid() != geteuid() || getgid() != getegid())
		die("refusing to run set-uid or set-gid");
#ifdef __linux__
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == -1)
		die("cannot turn off core dumps (PR_SET_DUMPABLE)");
#endif
	if (setrlimit(RLIMIT_CORE, &rl) == -1)
		die("cannot turn off core dumps (RLIMIT_CORE)");
	umask(077);
	signal(SIGPIPE, SIG_IGN);
	/* Nothing is ever read from stdin. */
	fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (fd != -1 && fd != STDIN_FILENO) {
		dup2(fd, STDIN_FILENO);
		close(fd);
	}
}

/* Log once when secret memory may not all be locked in RAM. */
static void
check_memlock(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_MEMLOCK, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
	    rl.rlim_cur < 4u * 1024 * 1024)
		log_warn("RLIMIT_MEMLOCK is %lu KiB: keys past it cannot be locked in RAM and may "
			 "be swapped; raise it (ulimit -l) to keep them out of swap",
			 (unsigned long)(rl.rlim_cur / 1024));
}

/*
 * Say which daemon holds the keystore's lock, from what it wrote in the lock
 * file ("PID\nSOCKET\n", see note_owner), and how to reach it or stop it.
 */
static void
describe_owner(const struct keyd *k, const char *path, char *err, size_t errsize)
{
	char text[PATHS_MAX + 32], *sock, *end;
	ssize_t n = pread(k->lock_fd, text, sizeof text - 1, 0);
	long pid;

	text[n > 0 ? n : 0] = '\0';
	pid = strtol(text, &sock, 10);
	end = sock[0] == '\n' ? strchr(sock + 1, '\n') : NULL;
	if (pid <= 0 || end == NULL || sock[1] != '/') {
		snprintf(err, errsize,
			 "another ccr-keyd already serves %s (%s is locked); stop it first or "
			 "use another --keys",
			 k->opt.keys, path);
		return;
	}
	*end = '\0';
	sock++;
	snprintf(err, errsize,
		 "another ccr-keyd already serves %s (pid %ld, on %s)%s; use it "
		 "(ccr-config --socket %s ..., or CCR_KEYD_SOCKET=%s), stop it (kill %ld), or "
		 "use another --keys",
		 k->opt.keys, pid, sock,
		 strcmp(sock, k->opt.socket) != 0
			 ? ", not on the socket this one would use: the two were started with "
			   "different XDG_RUNTIME_DIR or CCR_KEYD_SOCKET"
			 : "",
		 sock, sock, pid);
}

/* Take the keystore's lock file so two daemons never share one keystore. */
static int
lock_keystore(struct keyd *k, char *err, size_t errsize)
{
	char path[PATHS_MAX + 8];

	snprintf(path, sizeof path, "%s.lock", k->opt.keys);
	k->lock_fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (k->lock_fd == -1) {
		snprintf(err, errsize, "cannot open lock file %s: %s", path, strerror(errno));
		return -1;
	}
	if (flock(k->lock_fd, LOCK_EX | LOCK_NB) == -1) {
		describe_owner(k, path, err, errsize);
		return -1;
	}
	if (ftruncate(k->lock_fd, 0) == -1) /* what a daemon gone before wrote */
		log_warn("cannot empty %s: %s", path, strerror(errno));
	return 0;
}

/* Write our pid and socket into the lock file we hold, for a second daemon to name. */
static void
note_owner(const struct keyd *k)
{
	char text[PATHS_MAX + 32];
	int n = snprintf(text, sizeof text, "%ld\n%s\n", (long)getpid(), k->opt.socket);

	if (n < 0 || (size_t)n >= sizeof text || pwrite(k->lock_fd, text, (size_t)n, 0) != n)
		log_warn("cannot note the pid and socket in %s.lock", k->opt.keys);
}

/* Under the keystore lock: remove what a save killed midway left behind. Returns 0. */
static int
remove_temps(struct keyd *k)
{
	int n = fileio_remove_temps(k->opt.keys) +
		fileio_remove_temps(keyfile_record_path(&k->keyfile));

	if (n > 0)
		log_info("removed %d temporary file%s that a killed save left beside %s", n,
			 n == 1 ? "" : "s", k->opt.keys);
	return 0;
}

/* Signals only trigger work on the loop; nothing runs inside a raw handler. */
static void
on_signal(uv_signal_t *h, int signum)
{
	struct keyd *k = h->data;

	if (signum == SIGHUP) {
		log_info("SIGHUP: reloading the keystore");
		reload_request(k);
		return;
	}
	log_info("%s: finishing writes and exiting", signum == SIGTERM ? "SIGTERM" : "SIGINT");
	keyd_shutdown(k);
}

/* Install the signal watchers. */
static void
watch_signals(struct keyd *k)
{
	uv_signal_t *hs[] = {&k->sig_term, &k->sig_int, &k->sig_hup};
	int sigs[] = {SIGTERM, SIGINT, SIGHUP};
	size_t i;

	for (i = 0; i < 3; i++) {
		uv_signal_init(k->loop, hs[i]);
		hs[i]->data = k;
		uv_signal_start(hs[i], on_signal, sigs[i]);
	}
}

/*
 * --daemon: fork; the parent waits until the child listens (or reports an
 * error through the pipe) so that whoever started us can connect at once.
 */
static int
daemonize(void)
{
	int fds[2];
	char msg[2048];
	ssize_t n;
	pid_t pid;

	if (pipe(fds) == -1)
		die("pipe failed");
	pid = fork();
	if (pid == -1)
		die("fork failed");
	if (pid > 0) {
		close(fds[1]);
		n = read(fds[0], msg, sizeof msg - 1);
		if (n > 0 && msg[0] == '\0')
			exit(0);
		if (n > 0) {
			msg[n] = '\0';
			fprintf(stderr, "ccr-keyd: %s\n", msg);
		} else {
			fprintf(stderr, "ccr-keyd: the daemon exited during start-up\n");
		}
		exit(1);
	}
	close(fds[0]);
	fcntl(fds[1], F_SETFD, FD_CLOEXEC);
	setsid();
	if (chdir("/") == -1)
		die("chdir / failed");
	return fds[1];
}

/* Tell a waiting parent how start-up went; msg NULL means ready. */
static void
report(int fd, const char *msg)
{
	if (fd == -1)
		return;
	if (write(fd, msg != NULL ? msg : "", msg != NULL ? strlen(msg) : 1) < 0) {
		/* The parent is gone; nothing to tell. */
	}
	close(fd);
}

/* The path of an inherited socket, for status and the log. */
static void
name_inherited(int fd, char *out, size_t size)
{
	struct sockaddr_un sun;
	socklen_t len = sizeof sun;

	memset(&sun, 0, sizeof sun);
	if (getsockname(fd, (struct sockaddr *)&sun, &len) == 0 && sun.sun_family == AF_UNIX &&
	    sun.sun_path[0] != '\0')
		snprintf(out, size, "%.*s", (int)sizeof sun.sun_path, sun.sun_path);
	else
		snprintf(out, size, "(inherited fd %d)", fd);
}

/* Point stdout and stderr at the log file. */
static void
redirect_output(const char *home)
{
	char path[PATHS_MAX + 16];
	int fd;

	snprintf(path, sizeof path, "%s/keyd.log", home);
	fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd == -1)
		fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
	if (fd != -1) {
		dup2(fd, STDOUT_FILENO);
		dup2(fd, STDERR_FILENO);
		close(fd);
	}
}

int
main(int argc, char **argv)
{
	static struct keyd k;
	char err[2048], dir[PATHS_MAX];
	int ready_fd = -1, listen_fd, form;

	harden();
#ifdef __GLIBC__
	/*
	 * A fixed threshold: glibc otherwise raises it after the first large free,
	 * and later large replies (a list of 100,000 keys) stay in the heap for good.
	 */
	mallopt(M_MMAP_THRESHOLD, 256 * 1024);
#endif
	parse_options(&k, argc, argv);
	log_set_verbose(k.opt.verbose);
	listen_fd = activation_socket(err, sizeof err);
	if (listen_fd == -2)
		die(err);
	if (k.opt.daemonize && listen_fd < 0) {
		ready_fd = daemonize();
		if (paths_private_dir(k.opt.home, 1, err, sizeof err) == 0)
			redirect_output(k.opt.home);
	}
	scratch_install();
	if (sodium_init() < 0) {
		report(ready_fd, "libsodium failed to initialise");
		die("libsodium failed to initialise");
	}
	check_memlock();
	k.loop = uv_default_loop();
	k.arena = arena_new();
	k.lock_fd = -1;
	k.audit_fd = -1;
	if (k.opt.audit_log[0] != '\0' &&
	    (k.audit_fd = audit_open(k.opt.audit_log, err, sizeof err)) == -1)
		goto fail;
	k.started_by = listen_fd >= 0		 ? STARTED_BY_SOCKET
		       : k.opt.spawned_by_client ? STARTED_BY_CLIENT
						 : STARTED_BY_HAND;
	paths_dirname(k.opt.keys, dir, sizeof dir);
	keyfile_init(&k.keyfile, k.opt.keys);
	writer_init(&k.writer, k.loop, &k.store, &k.keyfile);
	if (paths_private_dir(dir, 1, err, sizeof err) == -1 ||
	    lock_keystore(&k, err, sizeof err) == -1 || remove_temps(&k) ||
	    (form = reload_start(&k, err, sizeof err)) == -1 ||
	    agent_init(&k, k.opt.no_agent_guard, err, sizeof err) == -1)
		goto fail;
	state_init(&k, form == KS_FORM_SEALED ? STATE_LOCKED : STATE_PLAIN);
	vault_init(&k.vault, &k, k.opt.lock_after_s);
	if (listen_fd >= 0 ? server_adopt(&k, listen_fd, err, sizeof err)
			   : server_listen(&k, err, sizeof err))
		goto fail;
	if (listen_fd >= 0)
		name_inherited(listen_fd, k.opt.socket, sizeof k.opt.socket);
	note_owner(&k);
	watch_signals(&k);
	k.started_ms = uv_now(k.loop);
	log_info("serving %zu keys from %s on %s%s", store_count(&k.store), k.opt.keys,
		 k.opt.socket, state_locked(&k) ? " (sealed: locked)" : "");
	report(ready_fd, NULL);
	uv_run(k.loop, UV_RUN_DEFAULT);
	vault_forget(&k.vault);
	store_free(&k.store);
	agent_free(&k.agents);
	arena_destroy(k.arena);
	uv_loop_close(k.loop);
	log_info("exited cleanly");
	return 0;
fail:
	report(ready_fd, err);
	die(err);
}
