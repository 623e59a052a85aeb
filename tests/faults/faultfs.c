/*
 * faultfs: an LD_PRELOAD shim that makes the steps of a keystore save fail on
 * demand, so that tests can watch ccr-keyd meet ENOSPC, EIO or EDQUOT at each
 * step of fileio_write_atomic (create the temp file, write, fsync, close,
 * rename, open the directory, fsync the directory) and at a keystore read.
 *
 * Why a preload shim and not an injectable ops table in common/fileio.c: the
 * shim tests the very binary that ships — no test seam, no #ifdef and no
 * function pointer in the code that holds keys — and it fails the calls
 * exactly where real errors come from, the libc calls fileio.c makes. It
 * works unchanged on the plain, the sanitizer and the valgrind runs. Its one
 * limit, seeing only calls made through libc's dynamic symbols, holds here:
 * fileio.c calls open/write/fsync/close/rename by name and ccr-keyd links
 * libc dynamically. Every injected fault is logged on stderr ("faultfs:
 * injected ...") so a test can prove that its fault really happened.
 *
 *   CCR_FAULT_DIR=DIR   only files under DIR (the keystore's directory) fail
 *   CCR_FAULT="STEP:ERRNO[:nth=N][:count=C][:delay=MS][:partial];..."
 *
 * STEP is open (create the temp file: O_CREAT|O_EXCL under DIR), write, fsync
 * (fsync/fdatasync of a file opened by such an open), close (of that file;
 * the descriptor is really closed, then the error returned), rename (either
 * path under DIR), diropen (open of DIR itself), dirfsync (fsync of it) or
 * read (read of a file under DIR opened read-only). ERRNO is ENOSPC, EIO,
 * EDQUOT, EROFS, EACCES or 0 (no failure: only the delay). The Nth matching
 * call (default 1st) and the C-1 after it (default C = 1; 0 for every one
 * from the Nth on) fail; delay=MS holds each of them that long first, after
 * logging it, so that a test can kill the daemon in the middle of a step.
 * partial, for write: the faulted call writes half its bytes and returns
 * that count, and the next write on that descriptor fails — a disk filling
 * mid-file. Once its count is spent a fault is off and the calls pass through.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#define MAX_FAULTS 8
#define MAX_FDS 65536

enum step { S_OPEN, S_WRITE, S_FSYNC, S_CLOSE, S_RENAME, S_DIROPEN, S_DIRFSYNC, S_READ, S_COUNT };

enum fd_kind { FD_NONE, FD_TEMP, FD_DIR, FD_READ, FD_TEMP_BROKEN };

struct fault {
	enum step step;
	int err;         /* 0: delay only */
	long nth, count; /* fail calls nth .. nth+count-1 (count 0: all from nth) */
	long delay_ms;
	int partial;
	long seen; /* matching calls so far */
};

static const char *const step_names[S_COUNT] = {
    "open", "write", "fsync", "close", "rename", "diropen", "dirfsync", "read",
};

static struct fault faults[MAX_FAULTS];
static int nfaults = -1; /* -1: not yet configured */
static char fault_dir[4096];
static size_t fault_dir_len;
static unsigned char fd_kinds[MAX_FDS];

static int (*real_open)(const char *, int, ...);
static int (*real_open64)(const char *, int, ...);
static int (*real_openat)(int, const char *, int, ...);
static int (*real_openat64)(int, const char *, int, ...);
static int (*real___open_2)(const char *, int);
static int (*real___open64_2)(const char *, int);
static ssize_t (*real_write)(int, const void *, size_t);
static ssize_t (*real_read)(int, void *, size_t);
static int (*real_fsync)(int);
static int (*real_fdatasync)(int);
static int (*real_close)(int);
static int (*real_rename)(const char *, const char *);
static int (*real_renameat)(int, const char *, int, const char *);

/* glibc's fortified entry points have no prototype without _FORTIFY_SOURCE. */
int __open_2(const char *path, int flags);
int __open64_2(const char *path, int flags);

/* Resolve one libc symbol behind us; abort loudly when it is missing. */
static void *
next_symbol(const char *name)
{
	void *p = dlsym(RTLD_NEXT, name);

	if (p == NULL) {
		fprintf(stderr, "faultfs: cannot find %s\n", name);
		abort();
	}
	return p;
}

/* An errno name from CCR_FAULT, or -1. */
static int
parse_errno(const char *s)
{
	static const struct {
		const char *name;
		int value;
	} known[] = {{"ENOSPC", ENOSPC}, {"EIO", EIO},       {"EDQUOT", EDQUOT},
	             {"EROFS", EROFS},   {"EACCES", EACCES}, {"0", 0}};
	size_t i;

	for (i = 0; i < sizeof known / sizeof known[0]; i++) {
		if (strcmp(s, known[i].name) == 0)
			return known[i].value;
	}
	return -1;
}

/* Parse one "STEP:ERRNO[:opt...]" entry into f; 0 or -1. */
static int
parse_fault(char *spec, struct fault *f)
{
	char *save = NULL, *part = strtok_r(spec, ":", &save);
	int i;

	memset(f, 0, sizeof *f);
	f->nth = 1;
	f->count = 1;
	f->step = S_COUNT;
	for (i = 0; part != NULL && i < S_COUNT; i++) {
		if (strcmp(part, step_names[i]) == 0)
			f->step = (enum step)i;
	}
	part = strtok_r(NULL, ":", &save);
	if (f->step == S_COUNT || part == NULL || (f->err = parse_errno(part)) < 0)
		return -1;
	while ((part = strtok_r(NULL, ":", &save)) != NULL) {
		if (strncmp(part, "nth=", 4) == 0)
			f->nth = atol(part + 4);
		else if (strncmp(part, "count=", 6) == 0)
			f->count = atol(part + 6);
		else if (strncmp(part, "delay=", 6) == 0)
			f->delay_ms = atol(part + 6);
		else if (strcmp(part, "partial") == 0)
			f->partial = 1;
		else
			return -1;
	}
	return f->nth >= 1 && f->count >= 0 ? 0 : -1;
}

/* Read CCR_FAULT and CCR_FAULT_DIR once and find the real functions. */
static void
configure(void)
{
	const char *spec = getenv("CCR_FAULT"), *dir = getenv("CCR_FAULT_DIR");
	char copy[1024], *save = NULL, *one;

	if (nfaults >= 0)
		return;
	real_open = next_symbol("open");
	real_open64 = next_symbol("open64");
	real_openat = next_symbol("openat");
	real_openat64 = next_symbol("openat64");
	real___open_2 = next_symbol("__open_2");
	real___open64_2 = next_symbol("__open64_2");
	real_write = next_symbol("write");
	real_read = next_symbol("read");
	real_fsync = next_symbol("fsync");
	real_fdatasync = next_symbol("fdatasync");
	real_close = next_symbol("close");
	real_rename = next_symbol("rename");
	real_renameat = next_symbol("renameat");
	if (dir != NULL) {
		snprintf(fault_dir, sizeof fault_dir, "%s", dir);
		fault_dir_len = strlen(fault_dir);
		while (fault_dir_len > 1 && fault_dir[fault_dir_len - 1] == '/')
			fault_dir[--fault_dir_len] = '\0';
	}
	nfaults = 0;
	if (spec == NULL || dir == NULL || fault_dir_len == 0)
		return;
	snprintf(copy, sizeof copy, "%s", spec);
	for (one = strtok_r(copy, ";,", &save); one != NULL && nfaults < MAX_FAULTS;
	     one = strtok_r(NULL, ";,", &save)) {
		char entry[256];

		snprintf(entry, sizeof entry, "%s", one);
		if (parse_fault(entry, &faults[nfaults]) == -1) {
			fprintf(stderr, "faultfs: cannot parse CCR_FAULT entry '%s'\n", one);
			abort();
		}
		nfaults++;
	}
}

__attribute__((constructor)) static void
faultfs_init(void)
{
	configure();
}

/* 0: path is not under the fault directory; 1: it is the directory; 2: it is inside it. */
static int
under_dir(const char *path)
{
	if (fault_dir_len == 0 || path == NULL || strncmp(path, fault_dir, fault_dir_len) != 0)
		return 0;
	if (path[fault_dir_len] == '\0')
		return 1;
	return path[fault_dir_len] == '/' ? 2 : 0;
}

/* Log one injected fault on stderr with a single write. */
static void
note(enum step step, const struct fault *f, const char *what)
{
	char line[256];
	int n = snprintf(line, sizeof line, "faultfs: injected %s %s (call %ld)%s%s\n",
	                 step_names[step], f->err != 0 ? strerrorname_np(f->err) : "delay", f->seen,
	                 what != NULL ? " " : "", what != NULL ? what : "");

	if (n > 0 && real_write(STDERR_FILENO, line, (size_t)n) < 0) {
		/* Nowhere to report it. */
	}
}

/*
 * Count a call at step and decide: returns the errno to fail it with, 0 to
 * let it through. Sleeps first when its fault has a delay. *partial is set
 * for a partial write.
 */
static int
should_fail(enum step step, int *partial)
{
	int i, err = 0;

	if (partial != NULL)
		*partial = 0;
	for (i = 0; i < nfaults; i++) {
		struct fault *f = &faults[i];
		long n;

		if (f->step != step)
			continue;
		n = __atomic_add_fetch(&f->seen, 1, __ATOMIC_SEQ_CST);
		if (n < f->nth || (f->count > 0 && n >= f->nth + f->count))
			continue;
		/* Logged first, so a test can act (kill the daemon) while the call is held. */
		note(step, f, f->partial ? "partial" : NULL);
		if (f->delay_ms > 0) {
			struct timespec ts = {f->delay_ms / 1000, (f->delay_ms % 1000) * 1000000L};

			nanosleep(&ts, NULL);
		}
		if (f->err != 0 && err == 0) {
			err = f->err;
			if (partial != NULL)
				*partial = f->partial;
		}
	}
	return err;
}

/* Remember what a freshly opened descriptor is, for the steps that follow. */
static void
track(int fd, const char *path, int flags)
{
	int where;

	if (fd < 0 || fd >= MAX_FDS)
		return;
	fd_kinds[fd] = FD_NONE;
	where = under_dir(path);
	if (where == 0)
		return;
	if (flags & O_DIRECTORY)
		fd_kinds[fd] = FD_DIR;
	else if (where == 2 && (flags & O_CREAT) && (flags & O_EXCL))
		fd_kinds[fd] = FD_TEMP;
	else if (where == 2 && (flags & O_ACCMODE) == O_RDONLY)
		fd_kinds[fd] = FD_READ;
}

/* The kind of fd, FD_NONE when unknown. */
static enum fd_kind
kind_of(int fd)
{
	return fd >= 0 && fd < MAX_FDS ? (enum fd_kind)fd_kinds[fd] : FD_NONE;
}

/* The shared body of every open: fail it when it is a faulted step, else open and track. */
static int
open_common(int dirfd, const char *path, int flags, mode_t mode, int which)
{
	int where, err = 0, fd;

	configure();
	where = dirfd == AT_FDCWD ? under_dir(path) : 0;
	if (where == 2 && (flags & O_CREAT) && (flags & O_EXCL))
		err = should_fail(S_OPEN, NULL);
	else if (where != 0 && (flags & O_DIRECTORY))
		err = should_fail(S_DIROPEN, NULL);
	if (err != 0) {
		errno = err;
		return -1;
	}
	switch (which) {
	case 0:
		fd = real_open(path, flags, mode);
		break;
	case 1:
		fd = real_open64(path, flags, mode);
		break;
	case 2:
		fd = real_openat(dirfd, path, flags, mode);
		break;
	default:
		fd = real_openat64(dirfd, path, flags, mode);
		break;
	}
	if (dirfd == AT_FDCWD)
		track(fd, path, flags);
	return fd;
}

/* The mode argument of an open that creates a file, else 0. */
#define OPEN_MODE(flags, mode)                                                                     \
	do {                                                                                       \
		if ((flags) & (O_CREAT | __O_TMPFILE)) {                                           \
			va_list ap;                                                                \
			va_start(ap, flags);                                                       \
			mode = (mode_t)va_arg(ap, int);                                            \
			va_end(ap);                                                                \
		}                                                                                  \
	} while (0)

int
open(const char *path, int flags, ...)
{
	mode_t mode = 0;

	OPEN_MODE(flags, mode);
	return open_common(AT_FDCWD, path, flags, mode, 0);
}

int
open64(const char *path, int flags, ...)
{
	mode_t mode = 0;

	OPEN_MODE(flags, mode);
	return open_common(AT_FDCWD, path, flags, mode, 1);
}

int
openat(int dirfd, const char *path, int flags, ...)
{
	mode_t mode = 0;

	OPEN_MODE(flags, mode);
	return open_common(dirfd, path, flags, mode, 2);
}

int
openat64(int dirfd, const char *path, int flags, ...)
{
	mode_t mode = 0;

	OPEN_MODE(flags, mode);
	return open_common(dirfd, path, flags, mode, 3);
}

int
__open_2(const char *path, int flags)
{
	return open_common(AT_FDCWD, path, flags, 0, 0);
}

int
__open64_2(const char *path, int flags)
{
	return open_common(AT_FDCWD, path, flags, 0, 1);
}

ssize_t
write(int fd, const void *buf, size_t len)
{
	int err, partial;

	configure();
	if (kind_of(fd) == FD_TEMP_BROKEN) {
		errno = ENOSPC;
		return -1;
	}
	if (kind_of(fd) != FD_TEMP)
		return real_write(fd, buf, len);
	err = should_fail(S_WRITE, &partial);
	if (err == 0)
		return real_write(fd, buf, len);
	if (partial && len > 1) {
		ssize_t n = real_write(fd, buf, len / 2);

		fd_kinds[fd] = FD_TEMP_BROKEN;
		return n;
	}
	errno = err;
	return -1;
}

ssize_t
read(int fd, void *buf, size_t len)
{
	int err;

	configure();
	if (kind_of(fd) != FD_READ || (err = should_fail(S_READ, NULL)) == 0)
		return real_read(fd, buf, len);
	errno = err;
	return -1;
}

/* fsync and fdatasync: a temp file is the fsync step, the directory the dirfsync step. */
static int
sync_common(int fd, int data_only)
{
	enum fd_kind k;
	int err = 0;

	configure();
	k = kind_of(fd);
	if (k == FD_TEMP || k == FD_TEMP_BROKEN)
		err = should_fail(S_FSYNC, NULL);
	else if (k == FD_DIR)
		err = should_fail(S_DIRFSYNC, NULL);
	if (err != 0) {
		errno = err;
		return -1;
	}
	return data_only ? real_fdatasync(fd) : real_fsync(fd);
}

int
fsync(int fd)
{
	return sync_common(fd, 0);
}

int
fdatasync(int fd)
{
	return sync_common(fd, 1);
}

int
close(int fd)
{
	enum fd_kind k;
	int err = 0, rc;

	configure();
	k = kind_of(fd);
	if (k == FD_TEMP || k == FD_TEMP_BROKEN)
		err = should_fail(S_CLOSE, NULL);
	if (fd >= 0 && fd < MAX_FDS)
		fd_kinds[fd] = FD_NONE;
	rc = real_close(fd);
	if (err != 0 && rc == 0) {
		/* Like NFS reporting a deferred write error: the fd is gone all the same. */
		errno = err;
		return -1;
	}
	return rc;
}

int
rename(const char *from, const char *to)
{
	int err = 0;

	configure();
	if (under_dir(from) || under_dir(to))
		err = should_fail(S_RENAME, NULL);
	if (err != 0) {
		errno = err;
		return -1;
	}
	return real_rename(from, to);
}

int
renameat(int fromfd, const char *from, int tofd, const char *to)
{
	int err = 0;

	configure();
	if ((fromfd == AT_FDCWD && under_dir(from)) || (tofd == AT_FDCWD && under_dir(to)))
		err = should_fail(S_RENAME, NULL);
	if (err != 0) {
		errno = err;
		return -1;
	}
	return real_renameat(fromfd, from, tofd, to);
}
