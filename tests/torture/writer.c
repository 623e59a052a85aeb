/*
 * torture-writer: the client side of the crash torture (tests/integration/torture.bats).
 *
 *   torture-writer run SOCKET LOG [--conns N] [--names N] [--tag T] [--seed S] [--ops N]
 *   torture-writer check SOCKET LOG KEYS
 *
 * run opens N connections (default 4) to a live ccr-keyd and keeps one set or
 * delete in flight on each, on names of its own (tC-I), with values that are
 * never reused (csk-test-torture-T-C-SEQ). Before a request goes out it
 * appends "sent NAME VALUE" to LOG ("-" is a delete); once the daemon answers
 * it appends "ack NAME VALUE" (a not_found delete acknowledges absence) or
 * "nack NAME ERROR", each line written and fdatasync'd before the next
 * request. It runs until the daemon dies (every connection ends) or N ops.
 *
 * check replays LOG and holds the keystore file to it: KEYS must be a regular
 * file of ours with mode 0600 that parses as a version-1 keystore, and every
 * name must hold the last value acknowledged for it — or the value of a
 * change sent after that and never answered, which may or may not have
 * landed. How each such change turned out is appended as "seen NAME VALUE",
 * so later checks hold it too. Then the daemon on SOCKET is asked for every
 * name and must agree with the file. Prints one summary line; exits 0 when
 * nothing was lost, 1 when something was, 2 on a usage or I/O error.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <dirent.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#define MAX_CONNS 64
#define MAX_NAMES 4096
#define LINE_MAX_LEN 512
#define ABSENT "-"

/* One connection of run: one request in flight at a time. */
struct conn {
	int fd;
	long seq;
	char name[64];
	char value[128]; /* ABSENT for a delete */
	char in[8192];
	size_t in_len;
};

/* What check knows of one name. */
struct name_state {
	char *name;
	char *acked;   /* last acknowledged value, ABSENT when deleted or never set */
	char *pending; /* sent after the last ack and never answered, or NULL */
	char *disk;    /* in the keystore file, ABSENT when not there */
};

static int log_fd = -1;
static bool log_sync = true;

/* Exit with a message. */
static void __attribute__((noreturn)) die(const char *what)
{
	fprintf(stderr, "torture-writer: %s: %s\n", what, strerror(errno));
	exit(2);
}

/* Milliseconds on a monotonic clock. */
static long long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Append one line to the log, durably, before anything else happens. */
static void
log_line(const char *kind, const char *name, const char *value)
{
	char line[LINE_MAX_LEN];
	int n = snprintf(line, sizeof line, "%s %s %s\n", kind, name, value);

	if (n < 0 || (size_t)n >= sizeof line || write(log_fd, line, (size_t)n) != n)
		die("cannot write the log");
	if (log_sync && fdatasync(log_fd) == -1)
		die("cannot fdatasync the log");
}

/* Connect to the socket, retrying for up to wait_ms while it is not there yet. */
static int
dial(const char *path, long wait_ms)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	long long until = now_ms() + wait_ms;
	int fd;

	if (strlen(path) >= sizeof sun.sun_path) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(sun.sun_path, path, strlen(path) + 1);
	for (;;) {
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd == -1)
			return -1;
		if (connect(fd, (struct sockaddr *)&sun, sizeof sun) == 0)
			return fd;
		close(fd);
		if (now_ms() >= until)
			return -1;
		usleep(2000);
	}
}

/* Send all of a request; false when the daemon is gone. */
static bool
send_all(int fd, const char *p, size_t len)
{
	while (len > 0) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);

		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		p += n;
		len -= (size_t)n;
	}
	return true;
}

/* Pick the next change of connection c and send it; false when the daemon is gone. */
static bool
send_next(struct conn *c, int ci, int names, const char *tag)
{
	char req[512];
	int n;

	c->seq++;
	snprintf(c->name, sizeof c->name, "t%d-%d", ci, rand() % names);
	if (rand() % 10 < 7) {
		snprintf(c->value, sizeof c->value, "csk-test-torture-%s-%d-%ld", tag, ci, c->seq);
		n = snprintf(req, sizeof req,
		             "{\"op\":\"set\",\"name\":\"%s\",\"value\":\"%s\",\"id\":%ld}\n",
		             c->name, c->value, c->seq);
	} else {
		snprintf(c->value, sizeof c->value, ABSENT);
		n = snprintf(req, sizeof req, "{\"op\":\"delete\",\"name\":\"%s\",\"id\":%ld}\n",
		             c->name, c->seq);
	}
	log_line("sent", c->name, c->value);
	return send_all(c->fd, req, (size_t)n);
}

/* A reply line arrived on c: log its outcome. */
static void
take_reply(struct conn *c, const char *line)
{
	cJSON *doc = cJSON_Parse(line);
	const cJSON *ok = cJSON_GetObjectItemCaseSensitive(doc, "ok");
	const cJSON *err = cJSON_GetObjectItemCaseSensitive(doc, "error");
	const cJSON *id = cJSON_GetObjectItemCaseSensitive(doc, "id");

	if (doc == NULL || !cJSON_IsNumber(id) || (long)id->valuedouble != c->seq) {
		fprintf(stderr, "torture-writer: unexpected reply: %s\n", line);
		exit(2);
	}
	if (cJSON_IsTrue(ok))
		log_line("ack", c->name, c->value);
	else if (strcmp(c->value, ABSENT) == 0 && cJSON_IsString(err) &&
	         strcmp(err->valuestring, "not_found") == 0)
		log_line("ack", c->name, ABSENT);
	else
		log_line("nack", c->name, cJSON_IsString(err) ? err->valuestring : "?");
	cJSON_Delete(doc);
}

/* run: keep changes in flight on every connection until the daemon dies. */
static int
cmd_run(int argc, char **argv)
{
	struct conn conns[MAX_CONNS];
	struct pollfd pfd[MAX_CONNS];
	int nconns = 4, names = 8, i, open_count = 0;
	long ops = 0, done = 0;
	unsigned seed = (unsigned)getpid() ^ (unsigned)now_ms();
	const char *tag = "0";

	for (i = 4; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--conns") == 0)
			nconns = atoi(argv[i + 1]);
		else if (strcmp(argv[i], "--names") == 0)
			names = atoi(argv[i + 1]);
		else if (strcmp(argv[i], "--tag") == 0)
			tag = argv[i + 1];
		else if (strcmp(argv[i], "--seed") == 0)
			seed = (unsigned)strtoul(argv[i + 1], NULL, 10);
		else if (strcmp(argv[i], "--ops") == 0)
			ops = atol(argv[i + 1]);
		else
			return 2;
	}
	if (nconns < 1 || nconns > MAX_CONNS || names < 1)
		return 2;
	srand(seed);
	log_fd = open(argv[3], O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (log_fd == -1)
		die(argv[3]);
	memset(conns, 0, sizeof conns);
	for (i = 0; i < nconns; i++) {
		/* check has seen the daemon up: no retrying, it may already be killed. */
		conns[i].fd = dial(argv[2], 0);
		if (conns[i].fd == -1) {
			/* A cycle whose kill came first: nothing is sent on this connection. */
			conns[i].fd = -1;
			continue;
		}
		open_count++;
		if (!send_next(&conns[i], i, names, tag)) {
			close(conns[i].fd);
			conns[i].fd = -1;
			open_count--;
		}
	}
	while (open_count > 0 && (ops == 0 || done < ops)) {
		for (i = 0; i < nconns; i++) {
			pfd[i].fd = conns[i].fd;
			pfd[i].events = POLLIN;
			pfd[i].revents = 0;
		}
		if (poll(pfd, (nfds_t)nconns, 10000) <= 0) {
			fprintf(stderr, "torture-writer: no reply for 10 s\n");
			return 2;
		}
		for (i = 0; i < nconns; i++) {
			struct conn *c = &conns[i];
			ssize_t n;
			char *nl;

			if (c->fd == -1 || !(pfd[i].revents & (POLLIN | POLLERR | POLLHUP)))
				continue;
			n = recv(c->fd, c->in + c->in_len, sizeof c->in - c->in_len - 1, 0);
			if (n <= 0) {
				close(c->fd);
				c->fd = -1;
				open_count--;
				continue;
			}
			c->in_len += (size_t)n;
			c->in[c->in_len] = '\0';
			nl = strchr(c->in, '\n');
			if (nl == NULL)
				continue;
			*nl = '\0';
			take_reply(c, c->in);
			c->in_len = 0; /* one request in flight: nothing follows its reply */
			done++;
			if ((ops == 0 || done < ops) && !send_next(c, i, names, tag)) {
				close(c->fd);
				c->fd = -1;
				open_count--;
			}
		}
	}
	printf("run: %ld changes answered\n", done);
	return 0;
}

/* The state of name, created when new. */
static struct name_state *
lookup(struct name_state *v, size_t *n, const char *name)
{
	size_t i;

	for (i = 0; i < *n; i++) {
		if (strcmp(v[i].name, name) == 0)
			return &v[i];
	}
	if (*n == MAX_NAMES) {
		fprintf(stderr, "torture-writer: more than %d names\n", MAX_NAMES);
		exit(2);
	}
	v[*n] = (struct name_state){strdup(name), strdup(ABSENT), NULL, strdup(ABSENT)};
	return &v[(*n)++];
}

/* Replace *slot with a copy of s (or NULL). */
static void
set_str(char **slot, const char *s)
{
	free(*slot);
	*slot = s != NULL ? strdup(s) : NULL;
}

/* Read the keystore file into the disk member of each name; -1 when it is not sound. */
static int
read_keystore(const char *path, struct name_state *v, size_t *n, long *unexpected)
{
	struct stat st;
	char *text;
	cJSON *doc;
	const cJSON *keys, *k, *version;
	FILE *f;

	if (lstat(path, &st) == -1)
		return errno == ENOENT ? 0 : -1;
	if (!S_ISREG(st.st_mode) || (st.st_mode & 07777) != 0600 || st.st_uid != geteuid()) {
		fprintf(stderr,
		        "check: %s is not a regular file of ours with mode 0600 (mode %04o)\n",
		        path, (unsigned)(st.st_mode & 07777));
		return -1;
	}
	text = calloc(1, (size_t)st.st_size + 1);
	f = fopen(path, "r");
	if (text == NULL || f == NULL ||
	    fread(text, 1, (size_t)st.st_size, f) != (size_t)st.st_size)
		die(path);
	fclose(f);
	doc = cJSON_Parse(text);
	free(text);
	version = cJSON_GetObjectItemCaseSensitive(doc, "version");
	keys = cJSON_GetObjectItemCaseSensitive(doc, "keys");
	if (doc == NULL || !cJSON_IsNumber(version) || version->valuedouble != 1 ||
	    !cJSON_IsObject(keys)) {
		fprintf(stderr, "check: %s does not parse as a version-1 keystore\n", path);
		cJSON_Delete(doc);
		return -1;
	}
	cJSON_ArrayForEach(k, keys)
	{
		const cJSON *value = cJSON_GetObjectItemCaseSensitive(k, "value");
		size_t before = *n;
		struct name_state *s = lookup(v, n, k->string);

		if (*n != before) {
			fprintf(stderr, "check: UNEXPECTED key %s was never sent\n", k->string);
			(*unexpected)++;
		}
		if (!cJSON_IsString(value)) {
			fprintf(stderr, "check: key %s has no string value\n", k->string);
			cJSON_Delete(doc);
			return -1;
		}
		set_str(&s->disk, value->valuestring);
	}
	cJSON_Delete(doc);
	return 0;
}

/* Temp files of the keystore left in its directory. */
static long
count_temps(const char *keys)
{
	char dir[4096], prefix[512];
	const char *slash = strrchr(keys, '/');
	struct dirent *e;
	long n = 0;
	DIR *d;

	snprintf(dir, sizeof dir, "%.*s", slash != NULL ? (int)(slash - keys) : 1,
	         slash != NULL ? keys : ".");
	snprintf(prefix, sizeof prefix, ".%s.tmp-", slash != NULL ? slash + 1 : keys);
	d = opendir(dir);
	if (d == NULL)
		return 0;
	while ((e = readdir(d)) != NULL) {
		if (strncmp(e->d_name, prefix, strlen(prefix)) == 0)
			n++;
	}
	closedir(d);
	return n;
}

/* Ask the daemon for every name; count those where it disagrees with the file. */
static long
compare_daemon(const char *sock, struct name_state *v, size_t n)
{
	char *reqs, line[256], *replies = NULL, *p, *nl;
	size_t i, len = 0, cap = 0, got = 0;
	long mismatch = 0;
	int fd = dial(sock, 5000);
	FILE *f;

	if (fd == -1) {
		fprintf(stderr, "check: cannot connect to %s\n", sock);
		return (long)n + 1;
	}
	f = open_memstream(&reqs, &len);
	for (i = 0; i < n; i++) {
		snprintf(line, sizeof line, "{\"op\":\"get\",\"name\":\"%s\",\"id\":%zu}\n",
		         v[i].name, i);
		fputs(line, f);
	}
	fclose(f);
	if (!send_all(fd, reqs, len))
		die("send");
	free(reqs);
	len = 0;
	while (got < n) {
		ssize_t r;

		if (len + 65536 > cap) {
			cap = (len + 65536) * 2;
			replies = realloc(replies, cap);
			if (replies == NULL)
				die("realloc");
		}
		r = recv(fd, replies + len, cap - len - 1, 0);
		if (r <= 0)
			break;
		len += (size_t)r;
		replies[len] = '\0';
		got = 0;
		for (p = replies; (p = strchr(p, '\n')) != NULL; p++)
			got++;
	}
	close(fd);
	for (p = replies, i = 0; p != NULL && i < n && (nl = strchr(p, '\n')) != NULL;
	     p = nl + 1, i++) {
		cJSON *doc;
		const cJSON *val;
		const char *have;

		*nl = '\0';
		doc = cJSON_Parse(p);
		val = cJSON_GetObjectItemCaseSensitive(doc, "value");
		have = cJSON_IsString(val) ? val->valuestring : ABSENT;
		if (strcmp(have, v[i].disk) != 0) {
			fprintf(stderr, "check: DAEMON DISAGREES on %s: file %s, daemon %s\n",
			        v[i].name, v[i].disk, have);
			mismatch++;
		}
		cJSON_Delete(doc);
	}
	if (i < n) {
		fprintf(stderr, "check: the daemon answered %zu of %zu gets\n", i, n);
		mismatch += (long)(n - i);
	}
	free(replies);
	return mismatch;
}

/* check: hold the keystore file and the daemon to the log. */
static int
cmd_check(int argc, char **argv)
{
	static struct name_state v[MAX_NAMES];
	char line[LINE_MAX_LEN], kind[16], name[128], value[256];
	size_t n = 0, i;
	long acks = 0, pending = 0, landed = 0, losses = 0, unexpected = 0, mismatch, temps;
	FILE *f;

	if (argc != 5)
		return 2;
	f = fopen(argv[3], "r");
	if (f == NULL && errno != ENOENT)
		die(argv[3]);
	while (f != NULL && fgets(line, sizeof line, f) != NULL) {
		struct name_state *s;

		if (sscanf(line, "%15s %127s %255s", kind, name, value) != 3) {
			fprintf(stderr, "check: bad log line: %s", line);
			return 2;
		}
		s = lookup(v, &n, name);
		if (strcmp(kind, "sent") == 0) {
			set_str(&s->pending, value);
		} else if (strcmp(kind, "ack") == 0) {
			set_str(&s->acked, value);
			set_str(&s->pending, NULL);
			acks++;
		} else if (strcmp(kind, "nack") == 0 || strcmp(kind, "seen") == 0) {
			if (kind[0] == 's')
				set_str(&s->acked, value);
			set_str(&s->pending, NULL);
		}
	}
	if (f != NULL)
		fclose(f);
	if (read_keystore(argv[4], v, &n, &unexpected) == -1) {
		printf("check: keystore unsound\n");
		return 1;
	}
	log_fd = open(argv[3], O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (log_fd == -1)
		die(argv[3]);
	for (i = 0; i < n; i++) {
		struct name_state *s = &v[i];
		bool as_acked = strcmp(s->disk, s->acked) == 0;
		bool as_sent = s->pending != NULL && strcmp(s->disk, s->pending) == 0;

		if (s->pending != NULL) {
			pending++;
			landed += as_sent && !as_acked;
		}
		if (!as_acked && !as_sent) {
			fprintf(stderr, "check: LOST %s: acknowledged %s, on disk %s\n", s->name,
			        s->acked, s->disk);
			losses++;
		} else if (s->pending != NULL) {
			log_line("seen", s->name, s->disk);
		}
	}
	mismatch = compare_daemon(argv[2], v, n);
	temps = count_temps(argv[4]);
	printf("check: names %zu acked %ld unanswered %ld landed %ld losses %ld unexpected %ld "
	       "daemon-mismatch %ld temp-files %ld\n",
	       n, acks, pending, landed, losses, unexpected, mismatch, temps);
	return losses + unexpected + mismatch > 0 ? 1 : 0;
}

int
main(int argc, char **argv)
{
	if (getenv("TORTURE_NO_SYNC") != NULL)
		log_sync = false;
	if (argc >= 4 && strcmp(argv[1], "run") == 0)
		return cmd_run(argc, argv);
	if (argc >= 4 && strcmp(argv[1], "check") == 0)
		return cmd_check(argc, argv);
	fputs("usage: torture-writer run SOCKET LOG [--conns N] [--names N] [--tag T] [--seed S] "
	      "[--ops N]\n       torture-writer check SOCKET LOG KEYS\n",
	      stderr);
	return 2;
}
