/*
 * Reading another process. The executable link is closed for a non-dumpable
 * process (ccr-config makes itself one): comm and argv, which stay readable,
 * still name it. Between the reads of one process its pid cannot be another
 * process's: a pid comes back only after the whole pid space has gone round.
 */
#include "proc.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifdef __APPLE__
#include <libproc.h>
#include <sys/proc_info.h>
#include <sys/sysctl.h>
#endif

/* Count the arguments in p->args and drop trailing empty ones (a title padded with NULs). */
static void
count_args(struct proc_info *p)
{
	size_t i;

	while (p->args_len > 0 && p->args[p->args_len - 1] == '\0' &&
	       (p->args_len == 1 || p->args[p->args_len - 2] == '\0'))
		p->args_len--;
	p->argc = 0;
	for (i = 0; i < p->args_len; i++) {
		if (p->args[i] == '\0')
			p->argc++;
	}
}

#ifdef __linux__
/* Parse parent, comm and start time from the text of /proc/PID/stat. */
static int
parse_stat(char *text, struct proc_info *p)
{
	char *open = strchr(text, '('), *close = strrchr(text, ')'), *f, *save = NULL;
	int field;

	if (open == NULL || close == NULL || close < open)
		return -1;
	*close = '\0';
	snprintf(p->comm, sizeof p->comm, "%s", open + 1);
	/* After ") " come field 3 (state), 4 (ppid) ... 22 (starttime). */
	for (field = 3, f = strtok_r(close + 1, " ", &save); f != NULL;
	     field++, f = strtok_r(NULL, " ", &save)) {
		if (field == 4)
			p->ppid = (pid_t)strtol(f, NULL, 10);
		if (field == 22) {
			p->start = strtoull(f, NULL, 10);
			return 0;
		}
	}
	return -1;
}

/* Read up to size - 1 bytes of /proc/PID/name; returns the count, or -1. */
static ssize_t
read_proc(pid_t pid, const char *name, char *buf, size_t size)
{
	char path[64];
	ssize_t n, total = 0;
	int fd;

	snprintf(path, sizeof path, "/proc/%ld/%s", (long)pid, name);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	while ((size_t)total < size - 1 &&
	       (n = read(fd, buf + total, size - 1 - (size_t)total)) > 0)
		total += n;
	close(fd);
	buf[total] = '\0';
	return total;
}

int
proc_read_args(struct proc_info *p)
{
	ssize_t n = read_proc(p->pid, "cmdline", p->args, sizeof p->args);

	p->args_len = n > 0 ? (size_t)n : 0;
	if (p->args_len == sizeof p->args - 1)
		p->args[p->args_len++] = '\0'; /* cut: end the last argument */
	count_args(p);
	return n < 0 ? -1 : 0;
}

int
proc_read(pid_t pid, struct proc_info *p, int what)
{
	char path[64], stat[1024];
	ssize_t n;

	p->pid = pid;
	p->ppid = 0;
	p->exe[0] = p->comm[0] = '\0';
	p->args_len = 0;
	p->argc = 0;
	if (pid <= 0 || read_proc(pid, "stat", stat, sizeof stat) <= 0 || parse_stat(stat, p) == -1)
		return -1;
	if (what & PROC_EXE) {
		snprintf(path, sizeof path, "/proc/%ld/exe", (long)pid);
		n = readlink(path, p->exe, sizeof p->exe - 1);
		p->exe[n > 0 ? n : 0] = '\0';
	}
	if ((what & PROC_ARGS) && proc_read_args(p) == -1)
		return -1;
	return 0;
}
#elif defined(__APPLE__)
/* Copy the arguments out of a KERN_PROCARGS2 buffer: argc, the exec path, padding, argv. */
static void
take_args(const char *buf, size_t size, struct proc_info *p)
{
	const char *q = buf + sizeof(int), *end = buf + size;
	int argc, i;

	if (size <= sizeof(int))
		return;
	memcpy(&argc, buf, sizeof argc);
	q += strnlen(q, (size_t)(end - q));
	while (q < end && *q == '\0')
		q++;
	for (i = 0; i < argc && q < end; i++) {
		size_t len = strnlen(q, (size_t)(end - q));

		if (p->args_len + len + 1 > sizeof p->args)
			break;
		memcpy(p->args + p->args_len, q, len);
		p->args_len += len;
		p->args[p->args_len++] = '\0';
		q += len + 1;
	}
}

int
proc_read_args(struct proc_info *p)
{
	int mib[3] = {CTL_KERN, KERN_PROCARGS2, (int)p->pid},
	    argmax_mib[2] = {CTL_KERN, KERN_ARGMAX};
	int argmax = 0, rc = -1;
	size_t size = sizeof argmax;
	char *buf;

	p->args_len = 0;
	if (sysctl(argmax_mib, 2, &argmax, &size, NULL, 0) == 0 && argmax > 0 &&
	    (buf = malloc((size_t)argmax)) != NULL) {
		size = (size_t)argmax;
		if (sysctl(mib, 3, buf, &size, NULL, 0) == 0) {
			take_args(buf, size, p);
			rc = 0;
		}
		free(buf);
	}
	count_args(p);
	return rc;
}

int
proc_read(pid_t pid, struct proc_info *p, int what)
{
	struct proc_bsdinfo bi;

	p->pid = pid;
	p->exe[0] = p->comm[0] = '\0';
	p->args_len = 0;
	p->argc = 0;
	if (pid <= 0 || proc_pidinfo(pid, PROC_PIDTBSDINFO, 0, &bi, sizeof bi) != (int)sizeof bi)
		return -1;
	p->ppid = (pid_t)bi.pbi_ppid;
	p->start = (unsigned long long)bi.pbi_start_tvsec * 1000000ULL + bi.pbi_start_tvusec;
	snprintf(p->comm, sizeof p->comm, "%s", bi.pbi_comm);
	if ((what & PROC_EXE) && proc_pidpath(pid, p->exe, sizeof p->exe) <= 0)
		p->exe[0] = '\0';
	if ((what & PROC_ARGS) && proc_read_args(p) == -1)
		return -1;
	return 0;
}
#else
int
proc_read_args(struct proc_info *p)
{
	(void)p;
	errno = ENOSYS;
	return -1;
}

int
proc_read(pid_t pid, struct proc_info *p, int what)
{
	(void)pid;
	(void)p;
	(void)what;
	errno = ENOSYS;
	return -1;
}
#endif

const char *
proc_arg(const struct proc_info *p, int i)
{
	const char *a = p->args;

	if (i < 0 || i >= p->argc)
		return NULL;
	while (i-- > 0)
		a += strlen(a) + 1;
	return a;
}

const char *
proc_basename(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash != NULL ? slash + 1 : path;
}

void
proc_command(const struct proc_info *p, bool interpreter, char *out, size_t size)
{
	const char *a0 = proc_arg(p, 0), *a1 = interpreter ? proc_arg(p, 1) : NULL;

	snprintf(out, size, "%s%s%s", a0 != NULL ? a0 : "", a1 != NULL ? " " : "",
	         a1 != NULL ? a1 : "");
}

#ifdef __linux__
/* How many pid namespaces deep pid is, from /proc/PID/status's NSpid line; -1 when unknown. */
static int
pidns_depth(const char *status_path)
{
	char line[512];
	int depth = -1;
	FILE *f = fopen(status_path, "re");

	if (f == NULL)
		return -1;
	while (fgets(line, sizeof line, f) != NULL) {
		char *p = line + 6, *end;

		if (strncmp(line, "NSpid:", 6) != 0)
			continue;
		for (depth = 0;; depth++) {
			strtol(p, &end, 10);
			if (end == p)
				break;
			p = end;
		}
		break;
	}
	fclose(f);
	return depth;
}
#endif

bool
proc_same_pidns(pid_t pid)
{
#ifdef __linux__
	/*
	 * Not /proc/PID/ns/pid: a non-dumpable peer's is closed to us. Its
	 * status is not, and NSpid lists its pid in each namespace from ours
	 * down: one more than ours and it runs in a namespace below ours.
	 */
	char path[64];
	int mine = pidns_depth("/proc/self/status"), theirs;

	if (mine <= 0)
		return true; /* a kernel that does not say: nothing to tell apart */
	snprintf(path, sizeof path, "/proc/%ld/status", (long)pid);
	theirs = pidns_depth(path);
	return theirs == mine;
#else
	(void)pid;
	return true;
#endif
}
