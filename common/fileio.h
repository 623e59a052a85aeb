/*
 * Whole-file reads with ownership checks, and durable atomic replacement.
 */
#ifndef CCR_FILEIO_H
#define CCR_FILEIO_H

#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "buf.h"

/* The largest file fileio_read reads. */
#define FILEIO_MAX (256u * 1024 * 1024)

/*
 * Read the file at path into out, refusing a symlink, anything but a regular
 * file, a file not owned by the effective uid, and (when private is set) a file
 * that group or others may read or write. Returns 0, 1 when the file does not
 * exist, or -1 with err set to a message that says what to run. When st_out is
 * not NULL it receives the file's status.
 */
int fileio_read(const char *path, int private_only, struct buf *out, struct stat *st_out,
		char *err, size_t errsize);

/*
 * Replace path with len bytes of data, durably: a new file beside it
 * (O_CREAT|O_EXCL|O_NOFOLLOW, the given mode), write, fsync, rename over path,
 * fsync the directory. Returns 0. On failure before the rename the old file
 * is untouched, the temporary file is removed, errno is kept, and -1 is
 * returned with err set. When only the directory's fsync fails, the new file
 * is in place (its data synced) but its name may not survive a crash: 1 is
 * returned with err set, so that callers keep memory in step with the file.
 */
int fileio_write_atomic(const char *path, const void *data, size_t len, mode_t mode, char *err,
			size_t errsize);

/*
 * Remove the temporary files that fileio_write_atomic calls for path left
 * behind when the process was killed mid-save (they may hold secrets). Call it
 * only while no one else can be saving path (the daemon holds its lock).
 * Returns how many were removed.
 */
int fileio_remove_temps(const char *path);

/* Write all len bytes to fd, retrying short writes and EINTR. Returns 0, or -1 with errno set. */
int fileio_write_all(int fd, const char *p, size_t len);

#endif
