/*
 * The client side of the protocol: a blocking connection to ccr-keyd that sends
 * request lines and reads reply lines.
 */
#ifndef CCR_CONN_H
#define CCR_CONN_H

#include <stddef.h>
#include <sys/stat.h>

#include "buf.h"
#include "jsonr.h"
#include "proto.h"

struct conn {
	int fd;
	struct buf in;
};

/* conn_open's answer when the socket is not our own daemon's: nothing was sent. */
#define CONN_UNTRUSTED (-2)

/*
 * Connect to the daemon's socket at path, with a receive timeout of timeout_ms
 * (0 for none), and make sure it is our own daemon before anything is sent: the
 * socket's directory must be ours, not a symlink and not writable by group or
 * others, before and after the connect (the same directory), and the process
 * listening must run as our uid (SO_PEERCRED, getpeereid). Returns 0; or
 * CONN_UNTRUSTED with err set to one line that names the path and its owner;
 * or -1 with errno set (ENOENT or ECONNREFUSED mean nobody is listening) and
 * err set.
 */
int conn_open(struct conn *c, const char *path, int timeout_ms, char *err, size_t errsize);

/*
 * The trust check on the directory of the socket at path alone, as conn_open
 * makes it; st gets the directory's lstat. Returns 0, CONN_UNTRUSTED with err
 * set, or -1 with errno and err set when the directory cannot be examined.
 */
int conn_trust_dir(const char *path, struct stat *st, char *err, size_t errsize);

/* Send the whole request line(s) in req. Returns 0, or -1 with err set. */
int conn_send(struct conn *c, const struct buf *req, char *err, size_t errsize);

/*
 * Read one reply line and parse it (jsonr, strictly). Returns the reply, a JSON
 * object, which the caller frees with conn_reply_free, or NULL with err set
 * when the connection failed or the line was not one JSON object.
 */
struct jsonr *conn_recv(struct conn *c, char *err, size_t errsize);

/* Send req and read its reply: conn_send then conn_recv. */
struct jsonr *conn_call(struct conn *c, const struct buf *req, char *err, size_t errsize);

/*
 * The error code of a reply: PE_OK when "ok" is true, else the code it names
 * (PE_IO_ERROR when it names none we know). *msg, when not NULL, gets the message.
 */
enum proto_err conn_reply_error(const struct jsonr *reply, const char **msg);

/* Wipe every string in a reply (it may hold values) and free it; reply may be NULL. */
void conn_reply_free(struct jsonr *reply);

/* Close the connection and wipe what it buffered. */
void conn_close(struct conn *c);

#endif
