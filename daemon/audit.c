/*
 * Audit records. Each is built in one buffer and appended with one write, so
 * concurrent daemons or a crash never interleave half lines.
 */
#include "audit.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "keystore.h"
#include "paths.h"
#include "peer.h"
#include "proto.h"
#include "utf8.h"

int
audit_open(const char *path, char *err, size_t errsize)
{
	char dir[PATHS_MAX], why[512];
	struct stat st;
	int fd = -1;

	/* Like the keystore: in a directory of ours that nobody else may write to. */
	paths_dirname(path, dir, sizeof dir);
	if (paths_private_dir(dir, 0, why, sizeof why) == -1) {
		snprintf(err, errsize, "audit log %s: %s", path, why);
		goto fail;
	}
	/* Never blocks (a FIFO without a reader fails at once) and never follows a link. */
	fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC,
		  0600);
	if (fd == -1) {
		snprintf(err, errsize, "cannot open audit log %s: %s", path,
			 errno == ELOOP	  ? "it is a symlink, which is never followed"
			 : errno == ENXIO ? "it is a FIFO or a device, not a regular file; move it away"
					  : strerror(errno));
		goto fail;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) || st.st_uid != geteuid() ||
	    (st.st_mode & 077) != 0) {
		snprintf(err, errsize, "audit log %s must be a regular file of yours with mode 0600; "
				       "run: chmod 600 %s (or move away what is there)",
			 path, path);
		goto fail;
	}
	if (fcntl(fd, F_SETFL, O_APPEND) == -1) {
		snprintf(err, errsize, "cannot set up audit log %s: %s", path, strerror(errno));
		goto fail;
	}
	return fd;
fail:
	if (fd != -1)
		close(fd);
	return -1;
}

/*
 * Append ,"key":"text" when text is not NULL. A peer names itself (its comm,
 * its argv) with any bytes it likes: what is not UTF-8 is written as the text
 * \xNN, so that every record stays one valid JSON line.
 */
static void
member(struct buf *b, const char *key, const char *text)
{
	struct buf clean = {0};
	size_t i, n, len;
	char esc[8];

	if (text == NULL)
		return;
	len = strnlen(text, 512);
	for (i = 0; i < len; i += n) {
		n = utf8_decode(text + i, len - i, NULL);
		if (n > 0) {
			buf_add(&clean, text + i, n);
			continue;
		}
		snprintf(esc, sizeof esc, "\\x%02x", (unsigned char)text[i]);
		buf_adds(&clean, esc);
		n = 1;
	}
	proto_field_str(b, key, clean.data != NULL ? clean.data : "", clean.len);
	buf_free(&clean);
}

void
audit_record(int fd, const struct peer *peer, const char *op, const char *names, const char *origin,
             const char *result)
{
	struct buf b = {0};
	char t[KS_TIME_MAX];

	if (fd == -1)
		return;
	ks_time_format((int64_t)time(NULL), t);
	buf_adds(&b, "{\"time\":\"");
	buf_adds(&b, t);
	buf_adds(&b, "\"");
	member(&b, "op", op);
	member(&b, "name", names);
	member(&b, "origin", origin);
	buf_adds(&b, ",\"uid\":");
	buf_addi(&b, peer != NULL ? (long long)peer->uid : -1);
	buf_adds(&b, ",\"pid\":");
	buf_addi(&b, peer != NULL ? (long long)peer->pid : -1);
	member(&b, "exe", peer != NULL && peer->exe[0] != '\0' ? peer->exe : "?");
	member(&b, "comm", peer != NULL ? peer->comm : "");
	member(&b, "cmd", peer != NULL ? peer->cmd : "");
	if (peer != NULL && (peer->agent_state == PEER_INSIDE || peer->agent_state == PEER_UNKNOWN)) {
		member(&b, "agent", peer->agent);
		buf_adds(&b, ",\"agent_pid\":");
		buf_addi(&b, (long long)peer->agent_pid);
	}
	member(&b, "result", result);
	buf_adds(&b, "}\n");
	if (write(fd, b.data, b.len) < 0) {
		/* A full disk must not stop the service; the log line is lost. */
	}
	buf_free(&b);
}
