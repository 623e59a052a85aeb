/*
 * The guard. Three processes: this one (the shell's child) forks the guard
 * and waits on a pipe for the command's pid and then its exit status; the
 * guard makes itself a child subreaper, registers with ccr-keyd over a
 * connection it keeps open (the daemon takes its pid from the peer
 * credentials and forgets it when the connection closes), forks the command,
 * and reaps everything that re-parents to it until nothing is left; the
 * command execs the router's `ccr code`, which runs the agent. Orphans of the
 * agent become the guard's children instead of init's, so the daemon finds
 * the guard above them. When ccr-keyd is not there the command runs anyway
 * (nothing can be fetched from a daemon that is not there) and the guard
 * registers as soon as one answers, looking once a second.
 */
#include "guard.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#include "cli.h"

/* The guard looks for a daemon to register with this often while it has none. */
#define RETRY_MS 1000

/*
 * Signal handlers' state, the only file-scope variables: the command's pid
 * (this process forwards TERM and HUP to it) and the guard's self-pipe.
 */
static volatile pid_t command_pid;
static int sigchld_fd = -1;

/* This process got TERM or HUP: pass it on to the command, as if it were the command. */
static void
forward(int sig)
{
	if (command_pid > 0)
		kill(command_pid, sig);
}

/* A child of the guard changed state: wake its loop. */
static void
on_sigchld(int sig)
{
	int saved = errno;
	char c = (char)sig;

	if (write(sigchld_fd, &c, 1) < 0) {
		/* the pipe is full: the loop wakes anyway */
	}
	errno = saved;
}

/* Set the disposition of sig. */
static void
handle(int sig, void (*fn)(int))
{
	struct sigaction sa;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = fn;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	sigaction(sig, &sa, NULL);
}

/*
 * Open a connection to ccr-keyd and register this process as a guard on it.
 * first: as the client does, starting the daemon when allowed and saying why
 * not; later, quietly. Returns the connection's fd, or -1.
 */
static int
enroll(struct cli *cli, const char *label, struct conn *c, bool first)
{
	struct buf req = {0};
	struct jsonr *reply = NULL;
	char err[1024];
	int rc = -1;

	if (first ? cli_connect(cli) != 0
	          : conn_open(&cli->conn, cli->socket, 2000, err, sizeof err) != 0)
		return -1;
	cli->connected = true;
	proto_request_begin(&req, OP_GUARD);
	proto_field_str(&req, "name", label, strlen(label));
	proto_end(&req);
	reply = conn_call(&cli->conn, &req, err, sizeof err);
	if (reply != NULL && conn_reply_error(reply, NULL) == PE_OK) {
		*c = cli->conn;
		rc = c->fd;
	} else {
		if (first)
			cli_warn("ccr-keyd did not take the guard: %s",
			         reply == NULL ? err : cli_str(reply, "message"));
		conn_close(&cli->conn);
	}
	cli->connected = false;
	memset(&cli->conn, 0, sizeof cli->conn);
	cli->conn.fd = -1;
	conn_reply_free(reply);
	buf_free(&req);
	return rc;
}

/* The command's process: the terminal's signals as they were, then exec. */
static void __attribute__((noreturn)) command(int (*run)(char **args), char **args)
{
	handle(SIGINT, SIG_DFL);
	handle(SIGQUIT, SIG_DFL);
	handle(SIGHUP, SIG_DFL);
	handle(SIGPIPE, SIG_DFL);
	handle(SIGCHLD, SIG_DFL);
	_exit(run(args));
}

/*
 * The guard's loop: reap every child, tell the waiting process the command's
 * status when it ends, keep (or find again) the registration, and exit once
 * no process is left under it.
 */
static void __attribute__((noreturn))
watch(struct cli *cli, const char *label, pid_t child, int status_fd, struct conn *c, int wake)
{
	struct pollfd pfd[2];
	char drain[64];
	int status, n;
	pid_t pid;

	for (;;) {
		while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
			if (pid == child && status_fd != -1) {
				if (write(status_fd, &status, sizeof status) < 0) {
					/* the waiting process is gone: nobody to tell */
				}
				close(status_fd);
				status_fd = -1;
			}
		}
		if (pid == -1 && errno == ECHILD)
			break;
		pfd[0] = (struct pollfd){.fd = wake, .events = POLLIN};
		pfd[1] = (struct pollfd){.fd = c->fd, .events = POLLIN};
		n = poll(pfd, c->fd != -1 ? 2 : 1, c->fd != -1 ? -1 : RETRY_MS);
		if (n > 0 && (pfd[0].revents & POLLIN) && read(wake, drain, sizeof drain) < 0) {
			/* nothing to drain */
		}
		if (n > 0 && c->fd != -1 && pfd[1].revents != 0 &&
		    read(c->fd, drain, sizeof drain) <= 0) {
			/* The daemon went away: find the next one and register again. */
			conn_close(c);
			c->fd = -1;
		}
		if (c->fd == -1)
			enroll(cli, label, c, false);
	}
	if (c->fd != -1)
		conn_close(c);
	_exit(0);
}

/* The guard's process: a registered child subreaper that forks the command. */
static void __attribute__((noreturn))
guard(struct cli *cli, const char *label, int (*run)(char **args), char **args, int status_fd,
      int fd)
{
	struct conn c = {.fd = -1};
	int wake[2];
	pid_t child;

	cli_protect(); /* no ptrace, no pidfd_getfd of its connection by what runs under it */
	handle(SIGHUP, SIG_IGN);
	handle(SIGPIPE, SIG_IGN);
	if (pipe(wake) == -1 || fcntl(wake[0], F_SETFD, FD_CLOEXEC) == -1 ||
	    fcntl(wake[1], F_SETFD, FD_CLOEXEC) == -1 ||
	    fcntl(wake[0], F_SETFL, O_NONBLOCK) == -1 || fcntl(wake[1], F_SETFL, O_NONBLOCK) == -1)
		_exit(cli_error(EXIT_FAILURE_OTHER, "cannot start the guard: %s", strerror(errno)));
	sigchld_fd = wake[1];
	handle(SIGCHLD, on_sigchld);
	if (enroll(cli, label, &c, true) == -1)
		cli_warn("the agent runs without its guard until ccr-keyd answers; keys it asks "
		         "for from a ccr-keyd started meanwhile may reach it");
#ifdef __linux__
	/* Only now: a daemon that enroll started must not re-parent to the guard. */
	prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
#endif
	fflush(stderr);
	child = fork();
	if (child == 0) {
		close(wake[0]);
		close(wake[1]);
		if (c.fd != -1)
			close(c.fd);
		command(run, args);
	}
	if (child == -1)
		_exit(cli_error(EXIT_FAILURE_OTHER, "cannot start the agent: %s", strerror(errno)));
	if (fd != -1)
		close(fd);
	if (write(status_fd, &child, sizeof child) != (ssize_t)sizeof child)
		_exit(EXIT_FAILURE_OTHER);
	cli_detach_stdio();
	watch(cli, label, child, status_fd, &c, wake[0]);
}

/* Read exactly size bytes from fd; false at EOF or an error. */
static bool
read_all(int fd, void *p, size_t size)
{
	size_t got = 0;
	ssize_t n;

	while (got < size) {
		n = read(fd, (char *)p + got, size - got);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		got += (size_t)n;
	}
	return true;
}

int
guard_run(struct cli *cli, const char *label, int (*run)(char **args), char **args, int fd)
{
	int fds[2], status;
	pid_t g, child;

	if (cli->connected) {
		conn_close(&cli->conn);
		cli->connected = false;
	}
	if (pipe(fds) == -1 || fcntl(fds[0], F_SETFD, FD_CLOEXEC) == -1 ||
	    fcntl(fds[1], F_SETFD, FD_CLOEXEC) == -1)
		return cli_error(EXIT_FAILURE_OTHER, "cannot start the guard: %s", strerror(errno));
	fflush(stdout);
	fflush(stderr);
	/* The terminal's ^C and ^\ are the agent's to handle; TERM and HUP go on to it. */
	handle(SIGINT, SIG_IGN);
	handle(SIGQUIT, SIG_IGN);
	g = fork();
	if (g == 0) {
		close(fds[0]);
		guard(cli, label, run, args, fds[1], fd);
	}
	close(fds[1]);
	if (fd != -1)
		close(fd);
	if (g == -1)
		return cli_error(EXIT_FAILURE_OTHER, "cannot start the guard: %s", strerror(errno));
	if (!read_all(fds[0], &child, sizeof child)) {
		close(fds[0]);
		waitpid(g, &status, 0);
		return WIFEXITED(status) && WEXITSTATUS(status) != 0 ? WEXITSTATUS(status)
		                                                     : EXIT_FAILURE_OTHER;
	}
	command_pid = child;
	handle(SIGTERM, forward);
	handle(SIGHUP, forward);
	if (!read_all(fds[0], &status, sizeof status)) {
		close(fds[0]);
		return cli_error(EXIT_FAILURE_OTHER,
		                 "the guard of the agent (pid %ld) ended before "
		                 "the agent did",
		                 (long)g);
	}
	close(fds[0]);
	if (WIFSIGNALED(status)) {
		int sig = WTERMSIG(status);

		/* Die the same way (no core dump), so the shell reports it as for the command. */
		if (sig == SIGINT || sig == SIGTERM || sig == SIGHUP || sig == SIGKILL ||
		    sig == SIGPIPE) {
			handle(sig, SIG_DFL);
			raise(sig);
		}
		return 128 + sig;
	}
	return WIFEXITED(status) ? WEXITSTATUS(status) : EXIT_FAILURE_OTHER;
}
