/*
 * The daemon under test, and its file. ccr-keyd runs with a private home and
 * explicit --keys and --socket under the test's directory, its output
 * appended to a log; it is killed and restarted by pid. The keystore file is
 * opened here independently of the daemon (libcommon's sealed.c and
 * keystore.c) and held to the model.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fileio.h"
#include "keystore.h"
#include "model.h"
#include "names.h"
#include "sealed.h"

/*
 * The daemon's test settings, set here and nowhere else in this test: fast
 * Argon2id for new passphrases, and a short delay after a wrong one.
 */
static void
test_settings(void)
{
	setenv("CCR_KEYD_TEST_FAST_KDF", "1", 1);
	setenv("CCR_KEYD_TEST_DELAY_SCALE", "0.002", 1);
}

/* Child: become ccr-keyd with the test's paths, output to the log. */
static void __attribute__((noreturn)) exec_daemon(const struct world *w)
{
	char home[600];
	int fd = open(w->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	int null = open("/dev/null", O_RDONLY | O_CLOEXEC);

	if (fd == -1 || null == -1 || dup2(fd, 1) == -1 || dup2(fd, 2) == -1 || dup2(null, 0) == -1)
		_exit(126);
	snprintf(home, sizeof home, "%s/home", w->dir);
	setenv("HOME", home, 1);
	setenv("CCR_HOME", home, 1);
	unsetenv("XDG_RUNTIME_DIR");
	unsetenv("CCR_KEYS");
	unsetenv("CCR_KEYD_SOCKET");
	test_settings();
	execl(w->keyd, "ccr-keyd", "--keys", w->keyfile, "--socket", w->sock, "--lock-after", "1h",
	      (char *)NULL);
	_exit(127);
}

int
daemon_start(struct world *w)
{
	int64_t until = now_us() + 60 * 1000000LL;
	int status;
	pid_t pid = fork();

	if (pid == -1)
		return -1;
	if (pid == 0)
		exec_daemon(w);
	w->pid = pid;
	while (now_us() < until) {
		struct wire c = {.fd = -1};
		cJSON *r = NULL;
		int why;

		if (wire_connect(&c, w->sock) == 0)
			r = wire_call(&c, "{\"op\":\"hello\"}\n", 5000, &why);
		wire_close(&c);
		buf_free(&c.in);
		if (r != NULL && jok(r)) {
			cJSON_Delete(r);
			return 0;
		}
		cJSON_Delete(r);
		if (waitpid(pid, &status, WNOHANG) == pid) {
			fprintf(stderr, "ccr-model: ccr-keyd exited during start-up (status %d)\n",
				status);
			daemon_log_tail(w, 30);
			return -1;
		}
		usleep(5000);
	}
	fprintf(stderr, "ccr-model: ccr-keyd did not answer within 60 s\n");
	return -1;
}

/* Send sig to the daemon and wait for it to end; returns its wait status. */
static int
end_daemon(struct world *w, int sig)
{
	int status = 0;

	kill(w->pid, sig);
	while (waitpid(w->pid, &status, 0) == -1 && errno == EINTR)
		;
	w->pid = -1;
	return status;
}

int
daemon_kill(struct world *w)
{
	return end_daemon(w, SIGKILL);
}

int
daemon_stop(struct world *w)
{
	return end_daemon(w, SIGTERM);
}

bool
daemon_exited(struct world *w, int *status)
{
	return w->pid > 0 && waitpid(w->pid, status, WNOHANG) == w->pid;
}

void
daemon_log_tail(const struct world *w, int lines)
{
	char cmd[700];

	fflush(stderr);
	snprintf(cmd, sizeof cmd, "tail -n %d '%s' | sed 's/^/# keyd: /' >&2", lines, w->log);
	if (system(cmd) != 0)
		fprintf(stderr, "# (no daemon log)\n");
}

/* What file_check found in the file. */
struct seen {
	struct world *w;
	long seq[MODEL_MAX_CLIENTS][MODEL_KEYS];
	bool bad;
};

/* ks_parse callback: every key in the file is a model key holding a value someone set. */
static int
check_entry(void *arg, const struct ks_entry *e, char *err, size_t errsize)
{
	struct seen *sn = arg;
	struct world *w = sn->w;
	int c, k;
	long seq;

	(void)err;
	(void)errsize;
	c = key_owner(w, e->name, &k);
	if (c < 0) {
		diverge(w, "the file holds a key nobody set: %s", e->name);
		sn->bad = true;
		return 0;
	}
	seq = value_seq(w, e->name, e->value, e->value_len, w->keys[c][k].sent);
	if (seq == -2) {
		diverge(w, "the file holds a value for %s that nobody set", e->name);
		sn->bad = true;
	} else if (strcmp(e->env, w->keys[c][k].env) != 0) {
		diverge(w, "the file gives %s the env name %s, not %s", e->name, e->env,
			w->keys[c][k].env);
		sn->bad = true;
	}
	sn->seq[c][k] = seq;
	return 0;
}

/* Open text as sealed with one of passes; fills plain. Returns the index or -1. */
static int
open_sealed(struct world *w, const struct buf *text, const char *const *passes, int npass,
	    struct buf *plain)
{
	unsigned char key[SEALED_KEY_BYTES];
	struct sealed_file f;
	char err[512];
	int i, found = -1;

	if (sealed_parse(text->data, text->len, &f, err, sizeof err) == -1) {
		diverge(w, "the sealed file does not parse: %s", err);
		return -1;
	}
	for (i = 0; i < npass && found == -1; i++) {
		if (passes[i][0] == '\0' ||
		    sealed_derive(passes[i], strlen(passes[i]), &f.params, key, false) != 0)
			continue;
		if (sealed_open(key, &f, plain, err, sizeof err) == -1)
			diverge(w, "the sealed file fails authentication under its passphrase: %s",
				err);
		found = i;
	}
	sealed_file_free(&f);
	if (found == -1)
		diverge(w, "the sealed file opens with none of the %d passphrases the model allows",
			npass);
	return found;
}

/* Hold each key in the file (or its absence) to the model; offline, narrow to it. */
static void
check_keys(struct world *w, const struct seen *sn, bool offline)
{
	int c, k, i;

	for (c = 0; c < w->nclients; c++) {
		for (k = 0; k < MODEL_KEYS; k++) {
			struct mkey *m = &w->keys[c][k];
			long f = sn->seq[c][k];
			char have[256] = "";

			if (!offline)
				continue; /* live: writes may be landing as we read */
			if (cand_has(m, f)) {
				cand_set(m, f);
				continue;
			}
			for (i = 0; i < m->ncand; i++)
				snprintf(have + strlen(have), sizeof have - strlen(have), " %ld",
					 m->cand[i]);
			diverge(w, "after a kill the file holds %s = #%ld, the model allows {%s } "
				   "(-1: absent): an acknowledged change was lost",
				m->name, f, have);
			return;
		}
	}
}

int
file_check(struct world *w, const char *const *passes, int npass, bool offline)
{
	struct buf text = {0}, plain = {0};
	struct seen sn = {.w = w};
	struct stat st;
	char err[512];
	int c, k, found = -1, rc;

	for (c = 0; c < MODEL_MAX_CLIENTS; c++)
		for (k = 0; k < MODEL_KEYS; k++)
			sn.seq[c][k] = MODEL_ABSENT;
	w->file_checks++;
	rc = fileio_read(w->keyfile, 1, &text, &st, err, sizeof err);
	if (rc == -1) {
		diverge(w, "the keystore file cannot be read: %s", err);
		goto done;
	}
	if (rc == 0 && (!S_ISREG(st.st_mode) || (st.st_mode & 077) != 0)) {
		diverge(w, "the keystore file is not a regular file of mode 0600");
		goto done;
	}
	if (rc == 0 && text.len > 30 && memcmp(text.data, "{\"version\":1,\"sealed\"", 21) == 0) {
		found = open_sealed(w, &text, passes, npass, &plain);
	} else {
		for (c = 0; c < npass && found == -1; c++)
			found = passes[c][0] == '\0' ? c : -1;
		if (found == -1)
			diverge(w, "the keystore file is plain; the model says it is sealed");
		if (rc == 0)
			buf_add(&plain, text.data, text.len);
	}
	if (found == -1)
		goto done;
	if (plain.len > 0 && ks_parse(plain.data, plain.len, check_entry, &sn, err, sizeof err) == -1) {
		diverge(w, "the keystore file's document is not valid: %s", err);
		found = -1;
		goto done;
	}
	if (sn.bad)
		found = -1;
	else
		check_keys(w, &sn, offline);
done:
	buf_free(&text);
	buf_free(&plain);
	return w->divergences > 0 ? -1 : found;
}
