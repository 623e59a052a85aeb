/*
 * Blocking client connections. Every line read may carry a key, so the input
 * buffer is wiped as lines are consumed and replies are wiped when freed.
 */
#include "conn.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

int
conn_open(struct conn *c, const char *path, int timeout_ms, char *err, size_t errsize)
{
	struct sockaddr_un sun;
	int saved;

	memset(c, 0, sizeof *c);
	c->fd = -1;
	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof sun.sun_path) {
		snprintf(err, errsize, "socket path too long: %s", path);
		errno = ENAMETOOLONG;
		return -1;
	}
	strcpy(sun.sun_path, path);
#ifdef SOCK_CLOEXEC
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
#else
	c->fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (c->fd != -1)
		fcntl(c->fd, F_SETFD, FD_CLOEXEC);
#endif
	if (c->fd == -1) {
		snprintf(err, errsize, "socket: %s", strerror(errno));
		return -1;
	}
	if (timeout_ms > 0) {
		struct timeval tv = {.tv_sec = timeout_ms / 1000,
				     .tv_usec = (timeout_ms % 1000) * 1000};

		setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
		setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	}
	if (connect(c->fd, (struct sockaddr *)&sun, sizeof sun) == -1) {
		saved = errno;
		snprintf(err, errsize, "cannot connect to %s: %s", path, strerror(saved));
		close(c->fd);
		c->fd = -1;
		errno = saved;
		return -1;
	}
	return 0;
}

int
conn_send(struct conn *c, const struct buf *req, char *err, size_t errsize)
{
	const char *p = req->data;
	size_t left = req->len;

	while (left > 0) {
		ssize_t n = send(c->fd, p, left, MSG_NOSIGNAL);

		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			snprintf(err, errsize, "cannot send to ccr-keyd: %s", strerror(errno));
			return -1;
		}
		p += n;
		left -= (size_t)n;
	}
	return 0;
}

cJSON *
conn_recv(struct conn *c, char *err, size_t errsize)
{
	size_t scanned = 0;
	char *nl;
	cJSON *reply;

	for (;;) {
		ssize_t n;

		nl = c->in.len > scanned ? memchr(c->in.data + scanned, '\n', c->in.len - scanned)
					 : NULL;
		if (nl != NULL)
			break;
		scanned = c->in.len;
		if (c->in.len > 4u * PROTO_LINE_MAX * 64) {
			snprintf(err, errsize, "reply from ccr-keyd too long");
			return NULL;
		}
		buf_reserve(&c->in, 16384);
		n = recv(c->fd, c->in.data + c->in.len, c->in.cap - c->in.len - 1, 0);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			snprintf(err, errsize, "ccr-keyd did not answer in time");
			return NULL;
		}
		if (n == -1) {
			snprintf(err, errsize, "cannot read from ccr-keyd: %s", strerror(errno));
			return NULL;
		}
		if (n == 0) {
			snprintf(err, errsize, "ccr-keyd closed the connection");
			return NULL;
		}
		c->in.len += (size_t)n;
	}
	reply = cJSON_ParseWithLength(c->in.data, (size_t)(nl - c->in.data));
	buf_consume(&c->in, (size_t)(nl - c->in.data) + 1);
	if (reply == NULL || !cJSON_IsObject(reply)) {
		conn_reply_free(reply);
		snprintf(err, errsize, "ccr-keyd sent a reply that is not JSON");
		return NULL;
	}
	return reply;
}

cJSON *
conn_call(struct conn *c, const struct buf *req, char *err, size_t errsize)
{
	char unused[256];
	cJSON *reply;

	if (conn_send(c, req, err, errsize) == -1) {
		/* A daemon that refuses us (denied, busy) says why, then closes: read that. */
		reply = conn_recv(c, unused, sizeof unused);
		return reply;
	}
	return conn_recv(c, err, errsize);
}

enum proto_err
conn_reply_error(const cJSON *reply, const char **msg)
{
	const cJSON *ok = cJSON_GetObjectItemCaseSensitive(reply, "ok");
	const cJSON *code = cJSON_GetObjectItemCaseSensitive(reply, "error");
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(reply, "message");
	enum proto_err e;

	if (msg != NULL)
		*msg = cJSON_IsString(m) ? m->valuestring : "no message";
	if (cJSON_IsTrue(ok))
		return PE_OK;
	e = proto_err_from_name(cJSON_IsString(code) ? code->valuestring : NULL);
	return e == PE_COUNT || e == PE_OK ? PE_IO_ERROR : e;
}

/* Wipe every string of a tree. */
static void
wipe_strings(cJSON *item)
{
	for (; item != NULL; item = item->next) {
		if (item->valuestring != NULL)
			wipe(item->valuestring, strlen(item->valuestring));
		if (item->string != NULL)
			wipe(item->string, strlen(item->string));
		wipe_strings(item->child);
	}
}

void
conn_reply_free(cJSON *reply)
{
	if (reply == NULL)
		return;
	wipe_strings(reply);
	cJSON_Delete(reply);
}

void
conn_close(struct conn *c)
{
	if (c->fd != -1)
		close(c->fd);
	c->fd = -1;
	buf_free(&c->in);
}
