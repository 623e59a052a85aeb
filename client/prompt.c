/*
 * What people type: keys and passphrases read without echo (or from stdin),
 * yes/no questions on the terminal, and the white space a bad paste leaves
 * around a key. Nothing read here is ever echoed or printed.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "cli.h"

/* The signals that would leave the terminal with echo off if they ended a prompt. */
static const int prompt_signals[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGTSTP, SIGTTIN, SIGTTOU};
#define PROMPT_NSIGNALS (sizeof prompt_signals / sizeof prompt_signals[0])

/* The signal that interrupted a prompt, or 0: the handler only sets it. */
static volatile sig_atomic_t prompt_signal;

/* Note the signal; the read returns EINTR and the prompt puts the terminal back first. */
static void
on_prompt_signal(int sig)
{
	prompt_signal = sig;
}

/* Catch the prompt signals (those not ignored), saving their actions in saved. */
static void
catch_signals(struct sigaction saved[PROMPT_NSIGNALS])
{
	struct sigaction sa;
	size_t i;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_prompt_signal; /* no SA_RESTART: a blocked read returns EINTR */
	sigemptyset(&sa.sa_mask);
	prompt_signal = 0;
	for (i = 0; i < PROMPT_NSIGNALS; i++) {
		sigaction(prompt_signals[i], &sa, &saved[i]);
		if (saved[i].sa_handler == SIG_IGN)
			sigaction(prompt_signals[i], &saved[i], NULL);
	}
}

/* Put the saved actions back, then take a signal that came during the prompt as it would have been. */
static void
release_signals(const struct sigaction saved[PROMPT_NSIGNALS])
{
	size_t i;

	for (i = 0; i < PROMPT_NSIGNALS; i++)
		sigaction(prompt_signals[i], &saved[i], NULL);
	if (prompt_signal != 0)
		raise(prompt_signal);
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

/*
 * Read one line from fd byte by byte, so that nothing after it is consumed, and
 * drop a trailing CR; a CR ends the line too when cr_ends (a terminal). Returns
 * 0, 1 at the end of input before any byte, or -1 on an error.
 */
static int
read_line(int fd, bool cr_ends, struct buf *out)
{
	char c;

	for (;;) {
		ssize_t n;

		/* A signal that came before the read blocks would otherwise wait for a key. */
		if (prompt_signal != 0)
			return -1;
		n = read(fd, &c, 1);
		if (n == -1 && errno == EINTR && prompt_signal == 0)
			continue;
		if (n == -1)
			return -1;
		if (n == 0)
			return out->len == 0 ? 1 : 0;
		if (c == '\n' || (cr_ends && c == '\r'))
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

/*
 * Read one line from the terminal, with echo off unless echo. A signal that
 * comes meanwhile (^C, ^Z, kill) is taken only once echo is back on.
 */
static int
read_tty_once(const char *prompt, bool echo, struct buf *out)
{
	struct sigaction saved[PROMPT_NSIGNALS];
	struct termios old, quiet;
	int fd = open("/dev/tty", O_RDWR | O_CLOEXEC), rc = 0;

	if (fd == -1)
		return cli_error(EXIT_USAGE, "no terminal to prompt on; pipe the key on stdin");
	if (tcgetattr(fd, &old) == -1) {
		close(fd);
		return cli_error(EXIT_USAGE, "cannot turn off echo; pipe the key on stdin");
	}
	quiet = old;
	if (!echo)
		quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
	quiet.c_lflag |= ICANON;
	catch_signals(saved);
	/* Echo off first: what is typed once the prompt shows is never echoed nor flushed. */
	if (tcsetattr(fd, TCSAFLUSH, &quiet) == -1 || write(fd, prompt, strlen(prompt)) < 0) {
		tcsetattr(fd, TCSAFLUSH, &old);
		close(fd);
		release_signals(saved);
		return cli_error(EXIT_USAGE, "cannot turn off echo; pipe the key on stdin");
	}
	if (read_line(fd, true, out) == -1)
		rc = prompt_signal != 0 ? EXIT_FAILURE_OTHER
		                        : cli_error(EXIT_FAILURE_OTHER, "cannot read the terminal: %s",
		                                    strerror(errno));
	tcsetattr(fd, TCSAFLUSH, &old);
	if (!echo) {
		ssize_t w = write(fd, "\n", 1); /* the newline echo did not show */

		(void)w;
	}
	close(fd);
	if (prompt_signal != 0)
		buf_clear(out); /* half a key typed before ^C is not kept */
	release_signals(saved);
	return rc;
}

/* As read_tty_once; after ^Z and fg (a stop signal, then a continue) ask again. */
static int
read_tty(const char *prompt, bool echo, struct buf *out)
{
	for (;;) {
		int rc = read_tty_once(prompt, echo, out);

		if (prompt_signal != SIGTSTP && prompt_signal != SIGTTIN && prompt_signal != SIGTTOU)
			return rc;
	}
}

/* True for the white space a paste may carry around a key. */
static bool
is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

void
cli_trim_value(struct buf *value, const char *what)
{
	size_t lead = 0, trail = 0;

	while (lead < value->len && is_space(value->data[lead]))
		lead++;
	while (trail < value->len - lead && is_space(value->data[value->len - 1 - trail]))
		trail++;
	if (lead == 0 && trail == 0)
		return;
	memmove(value->data, value->data + lead, value->len - lead - trail);
	wipe(value->data + value->len - lead - trail, lead + trail);
	value->len -= lead + trail;
	value->data[value->len] = '\0';
	if (lead > 0 && trail > 0)
		cli_warn("removed %zu white-space character%s from the start of %s and %zu from "
		         "its end before storing it (a bad paste?)",
		         lead, lead == 1 ? "" : "s", what, trail);
	else
		cli_warn("removed %zu white-space character%s from the %s of %s before storing it "
		         "(a bad paste?)",
		         lead + trail, lead + trail == 1 ? "" : "s", lead > 0 ? "start" : "end",
		         what);
}

int
cli_read_secret(const char *prompt, struct buf *out)
{
	enum proto_value_fault fault;
	int rc;

	if (isatty(STDIN_FILENO)) {
		rc = read_tty(prompt, false, out);
		if (rc != 0)
			return rc;
	} else {
		if (read_fd(STDIN_FILENO, out, PROTO_VALUE_MAX + 2) == -1)
			return cli_error(EXIT_FAILURE_OTHER, "cannot read stdin: %s",
			                 strerror(errno));
		if (out->len > 0 && out->data[out->len - 1] == '\n')
			out->data[--out->len] = '\0';
		if (out->len > 0 && out->data[out->len - 1] == '\r')
			out->data[--out->len] = '\0';
	}
	/* Before trimming: a second line given here is a second key, or the key broken in two,
	 * never white space to drop (import, reading variables and files, trims first). */
	fault = proto_value_check(out->data, out->len);
	if (fault == PV_TOO_LONG)
		return cli_error(EXIT_USAGE, "a key may be at most 16 KiB; nothing stored");
	if (fault == PV_LINES || fault == PV_NUL)
		return cli_error(EXIT_USAGE,
		                 "the key spans several lines or holds a NUL byte; nothing stored");
	if (fault == PV_NOT_UTF8)
		return cli_error(EXIT_USAGE, "the key is not UTF-8 text; nothing stored");
	cli_trim_value(out, "the key");
	if (out->len == 0)
		return cli_error(EXIT_USAGE, "no key given; nothing stored");
	return 0;
}

int
cli_read_line_secret(const char *prompt, bool from_stdin, const char *missing, struct buf *out)
{
	int rc;

	if (from_stdin) {
		rc = read_line(STDIN_FILENO, false, out);
		if (rc == -1)
			return cli_error(EXIT_FAILURE_OTHER, "cannot read stdin: %s",
			                 strerror(errno));
		if (rc == 1 && missing != NULL)
			return cli_error(EXIT_USAGE, "%s", missing);
	} else if ((rc = read_tty(prompt, false, out)) != 0) {
		return rc;
	}
	if (out->len == 0)
		return cli_error(EXIT_USAGE, "empty passphrase; nothing done");
	if (out->len > PROTO_VALUE_MAX)
		return cli_error(EXIT_USAGE, "a passphrase may be at most 16 KiB");
	return 0;
}

bool
cli_on_terminal(void)
{
	return isatty(STDIN_FILENO) && isatty(STDERR_FILENO);
}

bool
cli_confirm(const char *question)
{
	struct buf answer = {0};
	bool yes;

	if (read_tty(question, true, &answer) != 0)
		return false;
	yes = answer.len > 0 && (strcmp(answer.data, "y") == 0 || strcmp(answer.data, "Y") == 0 ||
	                         strcasecmp(answer.data, "yes") == 0);
	buf_free(&answer);
	return yes;
}
