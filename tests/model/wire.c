/*
 * Talking to the daemon: a blocking Unix socket per actor, requests written
 * whole, replies read a line at a time with a timeout and parsed with cJSON.
 */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "model.h"

int
wire_connect(struct wire *c, const char *path)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};

	c->fd = -1;
	if (strlen(path) >= sizeof sun.sun_path)
		return -1;
	memcpy(sun.sun_path, path, strlen(path) + 1);
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->fd == -1)
		return -1;
	if (connect(c->fd, (struct sockaddr *)&sun, sizeof sun) == -1) {
		close(c->fd);
		c->fd = -1;
		return -1;
	}
	buf_clear(&c->in);
	return 0;
}

void
wire_close(struct wire *c)
{
	if (c->fd != -1)
		close(c->fd);
	c->fd = -1;
	buf_clear(&c->in);
}

int
wire_send(struct wire *c, const char *data, size_t len)
{
	while (len > 0) {
		ssize_t n = send(c->fd, data, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		data += n;
		len -= (size_t)n;
	}
	return 0;
}

cJSON *
wire_reply(struct wire *c, int timeout_ms, int *why)
{
	int64_t until = now_us() + (int64_t)timeout_ms * 1000;
	char *nl;
	cJSON *doc;

	while ((nl = c->in.len > 0 ? memchr(c->in.data, '\n', c->in.len) : NULL) == NULL) {
		struct pollfd p = {.fd = c->fd, .events = POLLIN};
		int left = (int)((until - now_us()) / 1000);
		ssize_t n;

		if (left <= 0 || poll(&p, 1, left) == 0) {
			*why = 2;
			return NULL;
		}
		buf_reserve(&c->in, 65536);
		n = recv(c->fd, c->in.data + c->in.len, c->in.cap - c->in.len - 1, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			*why = 1;
			return NULL;
		}
		c->in.len += (size_t)n;
		c->in.data[c->in.len] = '\0';
	}
	doc = cJSON_ParseWithLength(c->in.data, (size_t)(nl - c->in.data));
	buf_consume(&c->in, (size_t)(nl - c->in.data) + 1);
	if (doc == NULL)
		*why = 3;
	return doc;
}

cJSON *
wire_call(struct wire *c, const char *req, int timeout_ms, int *why)
{
	if (c->fd == -1 || wire_send(c, req, strlen(req)) == -1) {
		*why = 1;
		return NULL;
	}
	return wire_reply(c, timeout_ms, why);
}

const char *
jstr(const cJSON *o, const char *key)
{
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsString(m) ? m->valuestring : NULL;
}

int
jbool(const cJSON *o, const char *key)
{
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsBool(m) ? cJSON_IsTrue(m) : -1;
}

double
jnum(const cJSON *o, const char *key, double dflt)
{
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsNumber(m) ? m->valuedouble : dflt;
}

bool
jok(const cJSON *o)
{
	return jbool(o, "ok") == 1;
}

const char *
jerr(const cJSON *o)
{
	const char *e = jstr(o, "error");

	return e != NULL ? e : "";
}
