/*
 * The controller's faults and side requests: status on its own or on a
 * connection of its own, SIGHUP (then waiting for the reload), SIGKILL and
 * SIGTERM (then checking how the daemon ended), and a lock racing one of the
 * controller's requests from another connection.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "model.h"

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
