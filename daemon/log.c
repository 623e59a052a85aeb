/*
 * Timestamped log lines. The file descriptor is the only state; the daemon is
 * single-threaded on its loop, and the writer thread does not log.
 */
#include "log.h"

#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int log_fd = STDERR_FILENO;
static bool log_verbose;

int
log_open(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW | O_CLOEXEC, 0600);

	if (fd == -1)
		return -1;
	log_fd = fd;
	return 0;
}

void
log_set_verbose(bool verbose)
{
	log_verbose = verbose;
}

/* Format one line with a UTC timestamp and level, and write it in one call. */
static void
log_line(const char *level, const char *fmt, va_list ap)
{
	char line[1024];
	struct tm tm;
	time_t now = time(NULL);
	size_t n;
	int m;

	gmtime_r(&now, &tm);
	n = strftime(line, sizeof line, "%Y-%m-%dT%H:%M:%SZ ccr-keyd", &tm);
	m = snprintf(line + n, sizeof line - n, "[%ld] %s: ", (long)getpid(), level);
	if (m > 0)
		n += (size_t)m < sizeof line - n ? (size_t)m : sizeof line - n - 1;
	m = vsnprintf(line + n, sizeof line - n, fmt, ap);
	if (m > 0)
		n += (size_t)m < sizeof line - n ? (size_t)m : sizeof line - n - 1;
	if (n >= sizeof line - 1)
		n = sizeof line - 2;
	line[n++] = '\n';
	if (write(log_fd, line, n) < 0) {
		/* Nowhere left to report it. */
	}
}

void
log_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_line("info", fmt, ap);
	va_end(ap);
}

void
log_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_line("warning", fmt, ap);
	va_end(ap);
}

void
log_debug(const char *fmt, ...)
{
	va_list ap;

	if (!log_verbose)
		return;
	va_start(ap, fmt);
	log_line("debug", fmt, ap);
	va_end(ap);
}
