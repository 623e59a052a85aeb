/*
 * File reads that refuse what an attacker could have planted, and the durable
 * write sequence every save goes through (temp, fsync, rename, fsync dir).
 */
#include "fileio.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "paths.h"

/* The least room fileio_read gives each read. */
#define READ_ROOM 4096

int
fileio_read(const char *path, int private_only, struct buf *out, struct stat *st_out, char *err,
	    size_t errsize)
{
	struct stat st;
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd == -1) {
		if (errno == ENOENT)
			return 1;
		if (errno == ELOOP)
			snprintf(err, errsize,
				 "%s is a symlink, which is never followed; replace it with the file "
				 "it points to (run: cp --remove-destination \"$(readlink -f %s)\" %s)",
				 path, path, path);
		else
			snprintf(err, errsize, "cannot open %s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1) {
		snprintf(err, errsize, "cannot stat %s: %s", path, strerror(errno));
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errsize, "%s is not a regular file; move it away", path);
		goto fail;
	}
	if (st.st_uid != geteuid()) {
		snprintf(err, errsize, "%s is owned by uid %ld, not by you (uid %ld); run: chown %ld %s",
			 path, (long)st.st_uid, (long)geteuid(), (long)geteuid(), path);
		goto fail;
	}
	if (private_only && (st.st_mode & 077) != 0) {
		snprintf(err, errsize, "%s has mode %04o, open to others; run: chmod 600 %s", path,
			 (unsigned)(st.st_mode & 07777), path);
		goto fail;
	}
	if ((size_t)st.st_size > FILEIO_MAX) {
		snprintf(err, errsize, "%s is larger than %u MiB", path, FILEIO_MAX >> 20);
		goto fail;
	}
	/* The whole file and one read's room to see its end, in one block. */
	buf_reserve(out, (size_t)st.st_size + READ_ROOM + 1);
	for (;;) {
		buf_reserve(out, READ_ROOM);
		n = read(fd, out->data + out->len, out->cap - out->len - 1);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			snprintf(err, errsize, "cannot read %s: %s", path, strerror(errno));
			goto fail;
		}
		if (n == 0)
			break;
		out->len += (size_t)n;
		if (out->len > FILEIO_MAX) {
			snprintf(err, errsize, "%s is larger than %u MiB", path, FILEIO_MAX >> 20);
			goto fail;
		}
	}
	out->data[out->len] = '\0';
	if (st_out != NULL)
		*st_out = st;
	close(fd);
	return 0;
fail:
	close(fd);
	buf_clear(out);
	return -1;
}

int
fileio_write_all(int fd, const char *p, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return -1;
		if (n == 0) {
			errno = EIO;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Create a fresh temporary file beside path; returns its fd and name in tmp. */
static int
create_temp(const char *path, mode_t mode, char *tmp, size_t size)
{
	static unsigned counter;
	char dir[PATHS_MAX];
	const char *base = strrchr(path, '/');
	int i, fd;

	paths_dirname(path, dir, sizeof dir);
	base = base != NULL ? base + 1 : path;
	for (i = 0; i < 100; i++) {
		int n = snprintf(tmp, size, "%s/.%s.tmp-%ld-%u-%ld", dir, base, (long)getpid(),
				 ++counter, (long)(time(NULL) & 0xffff));

		if (n < 0 || (size_t)n >= size) {
			errno = ENAMETOOLONG;
			return -1;
		}
		fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
		if (fd != -1 || errno != EEXIST)
			return fd;
	}
	return -1;
}

int
fileio_write_atomic(const char *path, const void *data, size_t len, mode_t mode, char *err,
		    size_t errsize)
{
	char tmp[PATHS_MAX + 64], dir[PATHS_MAX];
	const char *step = "create a temporary file for";
	int fd, dfd, saved;

	fd = create_temp(path, mode, tmp, sizeof tmp);
	if (fd == -1)
		goto fail;
	step = "write";
	if (fileio_write_all(fd, data, len) == -1)
		goto fail_fd;
	step = "fsync";
	if (fsync(fd) == -1)
		goto fail_fd;
	step = "close";
	if (close(fd) == -1) {
		fd = -1;
		goto fail_fd;
	}
	fd = -1;
	step = "rename into place";
	if (rename(tmp, path) == -1)
		goto fail_fd;
	paths_dirname(path, dir, sizeof dir);
	step = "fsync the directory of";
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd == -1 || fsync(dfd) == -1) {
		/* The rename happened: the new file is in place but may not survive a crash. */
		saved = errno;
		if (dfd != -1)
			close(dfd);
		snprintf(err, errsize, "cannot %s %s: %s", step, path, strerror(saved));
		errno = saved;
		return 1;
	}
	close(dfd);
	return 0;
fail_fd:
	saved = errno;
	if (fd != -1)
		close(fd);
	unlink(tmp);
	errno = saved;
fail:
	saved = errno;
	snprintf(err, errsize, "cannot %s %s: %s", step, path, strerror(saved));
	errno = saved;
	return -1;
}

int
fileio_remove_temps(const char *path)
{
	char dir[PATHS_MAX], prefix[PATHS_MAX], victim[PATHS_MAX * 2];
	const char *base = strrchr(path, '/');
	struct dirent *d;
	struct stat st;
	size_t plen;
	int n = 0;
	DIR *dp;

	paths_dirname(path, dir, sizeof dir);
	base = base != NULL ? base + 1 : path;
	snprintf(prefix, sizeof prefix, ".%s.tmp-", base);
	plen = strlen(prefix);
	dp = opendir(dir);
	if (dp == NULL)
		return 0;
	while ((d = readdir(dp)) != NULL) {
		if (strncmp(d->d_name, prefix, plen) != 0)
			continue;
		snprintf(victim, sizeof victim, "%s/%s", dir, d->d_name);
		if (lstat(victim, &st) == 0 && S_ISREG(st.st_mode) && st.st_uid == geteuid() &&
		    unlink(victim) == 0)
			n++;
	}
	closedir(dp);
	return n;
}
