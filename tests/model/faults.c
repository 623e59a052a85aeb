/*
 * The controller's faults and side requests: status on its own or on a
 * connection of its own, SIGHUP (then waiting for the reload), SIGKILL and
 * SIGTERM (then checking how the daemon ended), a lock racing one of the
 * controller's requests from another connection, and a file that would undo
 * the seal swapped in under a SIGHUP.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fileio.h"
#include "model.h"
#include "sealed.h"

/* Ask status (caller does not hold mu); NULL when the daemon does not answer. */
cJSON *
status(struct actor *a)
{
	int why;

	return wire_call(&a->conn, "{\"op\":\"status\"}\n", CALL_TIMEOUT_MS, &why);
}

/* Ask status on a connection of its own, while a request waits on the controller's. */
cJSON *
status_aside(struct world *w)
{
	struct wire c = {.fd = -1};
	cJSON *r = NULL;
	int why;

	if (wire_connect(&c, w->sock) == 0)
		r = wire_call(&c, "{\"op\":\"status\"}\n", CALL_TIMEOUT_MS, &why);
	wire_close(&c);
	buf_free(&c.in);
	return r;
}

/* SIGHUP the daemon and wait for it to reload (reloads past before); false on a divergence. */
bool
hup(struct actor *a, double before)
{
	struct world *w = a->w;
	int64_t until = now_us() + 30 * 1000000LL;

	pthread_mutex_lock(&w->mu);
	w->hups++;
	gnote(w, "SIGHUP");
	kill(w->pid, SIGHUP);
	pthread_mutex_unlock(&w->mu);
	while (now_us() < until) {
		cJSON *s = status_aside(w);
		double n = jnum(s, "reloads", -1);

		cJSON_Delete(s);
		if (n > before)
			return true;
		usleep(1000);
	}
	pthread_mutex_lock(&w->mu);
	diverge(w, "SIGHUP was not acted on within 30 s");
	pthread_mutex_unlock(&w->mu);
	return false;
}

/* Stop clients from sending, SIGKILL (or SIGTERM) the daemon and check how it ended. */
void
kill_daemon(struct actor *a, bool term)
{
	struct world *w = a->w;
	int status;

	pthread_mutex_lock(&w->mu);
	w->up = false;
	if (term)
		w->terms++;
	else
		w->kills++;
	gnote(w, term ? "SIGTERM" : "SIGKILL");
	if (daemon_exited(w, &status))
		diverge(w, "ccr-keyd had exited already (wait status %d)", status);
	pthread_mutex_unlock(&w->mu);
	status = term ? daemon_stop(w) : daemon_kill(w);
	if (term ? !WIFEXITED(status) || WEXITSTATUS(status) != 0
		 : !WIFSIGNALED(status) || WTERMSIG(status) != SIGKILL) {
		pthread_mutex_lock(&w->mu);
		diverge(w, "ccr-keyd ended with wait status %d after the %s", status,
			term ? "SIGTERM, not with exit status 0" : "SIGKILL, not by it");
		pthread_mutex_unlock(&w->mu);
	}
}

/* A lock on a connection of its own, racing the controller's request; its reply. */
cJSON *
lock_aside(struct world *w)
{
	struct wire c = {.fd = -1};
	cJSON *r = NULL;
	int why;

	if (wire_connect(&c, w->sock) == 0)
		r = wire_call(&c, "{\"op\":\"lock\"}\n", CALL_TIMEOUT_MS, &why);
	wire_close(&c);
	buf_free(&c.in);
	pthread_mutex_lock(&w->mu);
	gnote(w, "a racing lock -> %s", r == NULL ? "nothing" : jok(r) ? "ok" : jerr(r));
	if (r == NULL)
		diverge(w, "a lock racing the controller's request got no reply");
	pthread_mutex_unlock(&w->mu);
	return r;
}

/*
 * Send req, maybe fire a fault shortly after, and read the reply (NULL when
 * lost). F_RACE leaves the racing lock's reply in *lock.
 */
cJSON *
call(struct actor *a, const char *req, enum fault f, cJSON **lock)
{
	struct world *w = a->w;
	double reloads = 0;
	cJSON *r;
	int why;

	if (f == F_HUP) {
		r = status(a);
		reloads = jnum(r, "reloads", 0);
		cJSON_Delete(r);
	}
	if (wire_send(&a->conn, req, strlen(req)) == -1) {
		pthread_mutex_lock(&w->mu);
		diverge(w, "controller: cannot send to the daemon");
		pthread_mutex_unlock(&w->mu);
		return NULL;
	}
	if (f != F_NONE)
		usleep(rng_below(&a->rng, 3000));
	if (f == F_KILL || f == F_TERM)
		kill_daemon(a, f == F_TERM);
	else if (f == F_HUP && !hup(a, reloads))
		return NULL;
	else if (f == F_RACE && (*lock = lock_aside(w)) == NULL)
		return NULL;
	r = wire_reply(&a->conn, CALL_TIMEOUT_MS, &why);
	if (r == NULL && f != F_KILL && f != F_TERM) {
		pthread_mutex_lock(&w->mu);
		diverge(w, "controller: no reply to %.*s (%s)", (int)strcspn(req, "\n"), req,
			why == 2 ? "timeout" : why == 1 ? "connection closed" : "not JSON");
		pthread_mutex_unlock(&w->mu);
	}
	return r;
}

/* The sealed generation of the document in text, or -1 when it is not sealed. */
static long long
generation_of(const struct buf *text)
{
	struct sealed_file f;
	char err[256];
	long long g;

	if (text->len == 0 || sealed_parse(text->data, text->len, &f, err, sizeof err) == -1)
		return -1;
	g = (long long)f.params.generation;
	sealed_file_free(&f);
	return g;
}

/* The generation the seal record beside the keystore holds (0 without one). */
static long long
recorded_generation(const struct world *w)
{
	char path[700], err[256];
	struct buf text = {0};
	cJSON *doc;
	long long g = 0;

	snprintf(path, sizeof path, "%s.seal", w->keyfile);
	if (fileio_read(path, 1, &text, NULL, err, sizeof err) == 0) {
		doc = cJSON_Parse(text.data);
		g = (long long)jnum(doc, "generation", 0);
		cJSON_Delete(doc);
	}
	buf_free(&text);
	return g;
}

/* The daemon's refused reloads (all STATE/reload-refused counts) and its reloads, from status. */
static bool
refusals(struct world *w, double *refused, double *reloads)
{
	cJSON *s = status_aside(w), *e;
	const cJSON *t = cJSON_GetObjectItemCaseSensitive(s, "transitions");

	*refused = 0;
	*reloads = jnum(s, "reloads", -1);
	cJSON_ArrayForEach(e, t)
	{
		if (strstr(e->string, "/reload-refused") != NULL)
			*refused += e->valuedouble;
	}
	cJSON_Delete(s);
	return *reloads >= 0;
}

/* Write len bytes of data to path, 0600, replacing nothing (path is free). Returns 0 or -1. */
static int
put_file(const char *path, const char *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	bool ok = fd != -1 && write(fd, data, len) == (ssize_t)len;

	if (fd != -1)
		close(fd);
	return ok ? 0 : -1;
}

void
swap_refused(struct actor *a)
{
	static const char plain[] = "{\"version\":1,\"keys\":{\"planted\":{\"value\":"
				    "\"csk-test-planted\",\"env\":\"PLANTED_API_KEY\"}}}\n";
	struct world *w = a->w;
	char real[700];
	struct buf now = {0};
	double refused0, reloads0, refused, reloads;
	int64_t until;
	long long gen_now, gen_old, gen_rec;
	bool older, ok = false;
	char err[256];

	pthread_mutex_lock(&w->mu);
	w->up = false; /* park the clients: nothing may be written meanwhile */
	while (w->parked + w->exited < w->nclients)
		pthread_cond_wait(&w->cv, &w->mu);
	if (fileio_read(w->keyfile, 1, &now, NULL, err, sizeof err) != 0)
		buf_clear(&now);
	gen_now = generation_of(&now);
	gen_old = generation_of(&w->old_copy);
	gen_rec = recorded_generation(w);
	/* An older copy only when the record has moved past it; a plain file only while sealed. */
	older = gen_old >= 0 && gen_old < gen_rec && (gen_now < 0 || rng_below(&a->rng, 2) == 0);
	if (!older && gen_now < 0)
		goto done; /* plain, and no older sealed copy: nothing would be refused */
	snprintf(real, sizeof real, "%s.real", w->keyfile);
	if (!refusals(w, &refused0, &reloads0) || rename(w->keyfile, real) == -1) {
		diverge(w, "swap: cannot set aside the keystore file");
		goto done;
	}
	if (put_file(w->keyfile, older ? w->old_copy.data : plain,
		     older ? w->old_copy.len : sizeof plain - 1) == -1)
		diverge(w, "swap: cannot write %s", w->keyfile);
	gnote(w, "swap: %s in the keystore's place, SIGHUP",
	      older ? "an older sealed copy" : "a plain file");
	kill(w->pid, SIGHUP);
	for (until = now_us() + 30 * 1000000LL; now_us() < until && w->divergences == 0;) {
		if (!refusals(w, &refused, &reloads)) {
			diverge(w, "swap: no status from the daemon");
		} else if (reloads > reloads0) {
			diverge(w, "SIGHUP reloaded %s that would undo the seal",
				older ? "an older sealed copy" : "a plain file");
		} else if (refused > refused0) {
			ok = true;
			break;
		}
		usleep(1000);
	}
	if (!ok && w->divergences == 0)
		diverge(w, "swap: the SIGHUP was not refused within 30 s");
	/* The real file back by rename: the same inode and times, as the daemon last saw it. */
	if (unlink(w->keyfile) == -1 || rename(real, w->keyfile) == -1)
		diverge(w, "swap: cannot put the keystore file back");
	if (ok) {
		if (older)
			w->swaps_older++;
		else
			w->swaps_plain++;
	}
done:
	if (gen_now >= 0 && (gen_old < 0 || rng_below(&a->rng, 2) == 0)) {
		/* Keep this one as the older copy of a later swap. */
		buf_clear(&w->old_copy);
		buf_add(&w->old_copy, now.data, now.len);
	}
	buf_free(&now);
	w->up = true;
	pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->mu);
}
