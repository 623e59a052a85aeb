/*
 * planted: a daemon someone else plants where ccr-config and the Node module
 * look for ccr-keyd, for tests/integration/trust.bats. It records every byte a
 * client sends and answers like an attacker would: every op succeeds, resolve
 * and get hand out values of its choosing, hello claims a proof it cannot have.
 *
 *   planted RECORD SOCKET
 *
 * Binds SOCKET (mode 0666), prints "listening" on stdout, then serves one
 * connection after another until killed, appending what each sends to RECORD.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cjson/cJSON.h>

/* The value it hands out for every name it is asked about. */
#define PLANTED_VALUE "csk-test-planted-by-another-user"

/* Write all of s to fd, ignoring failures (the client may be gone). */
static void
put(int fd, const char *s)
{
	size_t len = strlen(s);

	while (len > 0) {
		ssize_t n = write(fd, s, len);

		if (n <= 0)
			return;
		s += n;
		len -= (size_t)n;
	}
}

/* Add the members a reply to op gets, choosing its values as an attacker. */
static void
fill(cJSON *reply, const char *op, const cJSON *req)
{
	const cJSON *env = cJSON_GetObjectItemCaseSensitive(req, "env");
	const cJSON *e;
	cJSON *values, *keys, *k;

	if (strcmp(op, "hello") == 0) {
		cJSON_AddStringToObject(reply, "server", "ccr-keyd");
		cJSON_AddNumberToObject(reply, "protocol", 1);
		cJSON_AddFalseToObject(reply, "locked");
		cJSON_AddStringToObject(reply, "proof",
		                        "00000000000000000000000000000000"
		                        "00000000000000000000000000000000");
	} else if (strcmp(op, "resolve") == 0) {
		values = cJSON_AddObjectToObject(reply, "values");
		cJSON_AddStringToObject(values, "OPENAI_BASE_URL", "http://127.0.0.1:9/planted");
		if (cJSON_IsString(env))
			cJSON_AddStringToObject(values, env->valuestring, PLANTED_VALUE);
		cJSON_ArrayForEach(e, env)
		{
			if (cJSON_IsString(e))
				cJSON_AddStringToObject(values, e->valuestring, PLANTED_VALUE);
		}
	} else if (strcmp(op, "list") == 0) {
		keys = cJSON_AddArrayToObject(reply, "keys");
		k = cJSON_CreateObject();
		cJSON_AddStringToObject(k, "name", "planted");
		cJSON_AddStringToObject(k, "env", "OPENAI_BASE_URL");
		cJSON_AddStringToObject(k, "masked", "http…nted");
		cJSON_AddItemToArray(keys, k);
	} else if (strcmp(op, "get") == 0) {
		cJSON_AddStringToObject(reply, "env", "OPENAI_API_KEY");
		cJSON_AddStringToObject(reply, "value", PLANTED_VALUE);
	} else if (strcmp(op, "set") == 0) {
		cJSON_AddTrueToObject(reply, "created");
		cJSON_AddStringToObject(reply, "env", "OPENAI_API_KEY");
	} else if (strcmp(op, "status") == 0) {
		cJSON_AddNumberToObject(reply, "keys", 1);
		cJSON_AddFalseToObject(reply, "locked");
		cJSON_AddFalseToObject(reply, "sealed");
	}
}

/* Answer one request line with a success of the attacker's choosing. */
static void
answer(int fd, const char *line)
{
	cJSON *req = cJSON_Parse(line), *reply = cJSON_CreateObject(), *id;
	const cJSON *op = cJSON_GetObjectItemCaseSensitive(req, "op");
	char *text;

	cJSON_AddTrueToObject(reply, "ok");
	id = cJSON_GetObjectItemCaseSensitive(req, "id");
	if (id != NULL)
		cJSON_AddItemToObject(reply, "id", cJSON_Duplicate(id, 1));
	if (cJSON_IsString(op))
		fill(reply, op->valuestring, req);
	text = cJSON_PrintUnformatted(reply);
	if (text != NULL) {
		put(fd, text);
		put(fd, "\n");
	}
	free(text);
	cJSON_Delete(reply);
	cJSON_Delete(req);
}

/* Serve one connection to its end, recording every byte into rec. */
static void
serve(int fd, int rec)
{
	char buf[70000];
	size_t have = 0;
	ssize_t n;
	char *nl;

	while ((n = read(fd, buf + have, sizeof buf - 1 - have)) > 0) {
		if (write(rec, buf + have, (size_t)n) != n)
			perror("planted: record");
		have += (size_t)n;
		buf[have] = '\0';
		while ((nl = strchr(buf, '\n')) != NULL) {
			*nl = '\0';
			answer(fd, buf);
			have -= (size_t)(nl + 1 - buf);
			memmove(buf, nl + 1, have + 1);
		}
		if (have >= sizeof buf - 1)
			have = 0;
	}
}

int
main(int argc, char **argv)
{
	struct sockaddr_un sun;
	int lfd, fd, rec;

	if (argc != 3) {
		fprintf(stderr, "usage: planted RECORD SOCKET\n");
		return 2;
	}
	rec = open(argv[1], O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof sun.sun_path, "%s", argv[2]);
	lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	umask(0);
	if (rec == -1 || lfd == -1 || bind(lfd, (struct sockaddr *)&sun, sizeof sun) == -1 ||
	    listen(lfd, 16) == -1) {
		fprintf(stderr, "planted: %s: %s\n", argv[2], strerror(errno));
		return 1;
	}
	printf("listening\n");
	fflush(stdout);
	for (;;) {
		fd = accept(lfd, NULL, NULL);
		if (fd == -1)
			continue;
		serve(fd, rec);
		close(fd);
	}
}
