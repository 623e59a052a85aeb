/*
 * The client side of the protocol: a blocking connection to ccr-keyd that sends
 * request lines and reads reply lines.
 */
#ifndef CCR_CONN_H
#define CCR_CONN_H

#include <stddef.h>

#include "buf.h"
#include "jsonr.h"
#include "proto.h"

struct conn {
	int fd;
	struct buf in;
};

/*
 * Connect to the daemon's socket at path, with a receive timeout of timeout_ms
 * (0 for none). Returns 0, or -1 with errno set (ENOENT or ECONNREFUSED mean
 * nobody is listening) and err set.
 */
int conn_open(struct conn *c, const char *path, int timeout_ms, char *err, size_t errsize);

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
