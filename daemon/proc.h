/*
 * What the daemon can learn about another process of its user: its parent,
 * when it started, its names and its arguments. Read from /proc on Linux and
 * with proc_pidinfo, proc_pidpath and sysctl KERN_PROCARGS2 on macOS. The
 * audit log names peers with it and the agent guard walks ancestries with it,
 * reading no more than it needs: each /proc file costs 3 to 8 us.
 */
#ifndef CCR_PROC_H
#define CCR_PROC_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define PROC_ARGS_MAX 2048

/* One process as the system describes it. */
struct proc_info {
	pid_t pid;
	pid_t ppid;               /* 0 at the top of the tree */
	unsigned long long start; /* start time: ticks since boot (Linux), us since 1970 (macOS) */
	char comm[32];            /* the kernel's short name (what it exec'd or set, 15 bytes) */
	char exe[1024]; /* the executable's path; "" where closed (a non-dumpable process) */
	char args[PROC_ARGS_MAX]; /* argv, each argument NUL-terminated, cut at PROC_ARGS_MAX */
	size_t args_len;
	int argc;
};

/* What proc_read reads besides parent, start time and comm. */
#define PROC_EXE 1  /* the executable's path */
#define PROC_ARGS 2 /* the arguments (the dearest read: it maps the process's memory) */

/*
 * Read what the system says about pid into p: parent, start time, comm, and
 * what is asked for. Returns 0, or -1 when the process is gone or cannot be
 * read at all. A closed executable link (a non-dumpable process) leaves exe
 * empty and is no error.
 */
int proc_read(pid_t pid, struct proc_info *p, int what);

/* Read the arguments of p (proc_read without PROC_ARGS) now; -1 when it is gone. */
int proc_read_args(struct proc_info *p);

/* Argument i of p, or NULL past the last one read. */
const char *proc_arg(const struct proc_info *p, int i);

/* The last component of path ("/usr/bin/node" -> "node"). */
const char *proc_basename(const char *path);

/*
 * Write a one-line description of p for logs and the audit log: argv[0], and
 * argv[1] too when argv[0] is an interpreter running a script. Never more
 * arguments, which may hold anything.
 */
void proc_command(const struct proc_info *p, bool interpreter, char *out, size_t size);

/*
 * True when pid runs in this process's pid namespace (or the system has none).
 * False for a process in another one: a container's, or a confinement of
 * ccr-config's (bubblewrap's --unshare-pid), and when it cannot be told.
 */
bool proc_same_pidns(pid_t pid);

#endif
