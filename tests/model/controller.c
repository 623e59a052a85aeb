/*
 * The controller: the one actor that changes the keystore's global state, one
 * change at a time — lock, unlock with the right or a wrong passphrase, with
 * and without --for, shortening --for, renewing an unlock, passphrase set,
 * change (right and wrong) and remove — and the faults: SIGHUP, SIGKILL and
 * SIGTERM alone or fired while one of its requests is in flight, a lock
 * racing it, or a plain file or an older sealed copy swapped in under a
 * SIGHUP (which must be refused). While a change is
 * under way the model is unsure (clients may see either side); afterwards
 * status says where the daemon ended, which must be a place the reply allows,
 * and the file on disk must open with the passphrase the model holds.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "model.h"

static void restart(struct actor *a, const char *const *passes, int npass);

/* A new passphrase, or a wrong one. */
static void
passphrase(struct actor *a, char *out, bool wrong)
{
	snprintf(out, MODEL_PASS_MAX, "pw-test-%s-%08x", wrong ? "wrong" : "model",
		 (unsigned)rng_next(&a->rng));
}



/* A global change starts: clients may now see either side of it. */
static int64_t
begin(struct world *w)
{
	pthread_mutex_lock(&w->mu);
	w->unsure = true;
	w->ver++;
	pthread_mutex_unlock(&w->mu);
	return now_us();
}








/* After a change: status, settle the model, and hold the file to it. */
static void
finish(struct actor *a, struct outcome *o)
{
	struct world *w = a->w;
	int64_t sent = now_us();
	cJSON *s = status(a);

	pthread_mutex_lock(&w->mu);
	settle(a, s, o, sent);
	if (w->divergences == 0)
		file_check(w, o->passes, 1, false);
	pthread_mutex_unlock(&w->mu);
	cJSON_Delete(s);
}

/* The request line for an action (A_STATUS, A_HUP, A_KILL have none). */
static void
request(struct actor *a, enum action act, double secs, char *req, size_t size, char *newpass)
{
	struct world *w = a->w;
	char wrong[MODEL_PASS_MAX], num[48] = "";

	passphrase(a, wrong, true);
	if (secs > 0)
		snprintf(num, sizeof num, ",\"for\":%.3f", secs);
	switch (act) {
	case A_LOCK:
		snprintf(req, size, "{\"op\":\"lock\"}\n");
		break;
	case A_UNLOCK:
	case A_RENEW:
		snprintf(req, size, "{\"op\":\"unlock\",\"value\":\"%s\"%s}\n", w->pass, num);
		break;
	case A_UNLOCK_WRONG:
		snprintf(req, size, "{\"op\":\"unlock\",\"value\":\"%s\"%s}\n", wrong, num);
		break;
	case A_SHORTEN:
		snprintf(req, size, "{\"op\":\"unlock\"%s}\n", num);
		break;
	case A_SET:
		passphrase(a, newpass, false);
		snprintf(req, size, "{\"op\":\"passphrase\",\"action\":\"set\",\"new_value\":\"%s\"}\n",
			 newpass);
		break;
	case A_CHANGE:
	case A_CHANGE_WRONG:
		passphrase(a, newpass, false);
		snprintf(req, size,
			 "{\"op\":\"passphrase\",\"action\":\"change\",\"value\":\"%s\","
			 "\"new_value\":\"%s\"}\n",
			 act == A_CHANGE ? w->pass : wrong, newpass);
		break;
	default:
		snprintf(req, size, "{\"op\":\"passphrase\",\"action\":\"remove\",\"value\":\"%s\"}\n",
			 w->pass);
	}
}



/* One global change: its request, maybe a fault during it, the checks, the model. */
static void
change(struct actor *a, enum action act, enum fault f)
{
	struct world *w = a->w;
	char req[512], newpass[MODEL_PASS_MAX] = "", old[MODEL_PASS_MAX];
	double secs = 0;
	struct outcome o = {0};
	enum gmode m;
	int64_t t0, t1;
	cJSON *r, *lock = NULL;

	if (act == A_UNLOCK || act == A_RENEW || act == A_UNLOCK_WRONG)
		secs = rng_below(&a->rng, 3) == 0 ? 0.05 + rng_below(&a->rng, 1500) / 1000.0 : 0;
	else if (act == A_SHORTEN)
		secs = 0.05 + rng_below(&a->rng, 3000) / 1000.0;
	pthread_mutex_lock(&w->mu);
	m = w->mode;
	snprintf(old, sizeof old, "%s", w->pass);
	o.hard_lo = w->hard_lo;
	o.hard_hi = w->hard_hi;
	o.may_lock = f == F_HUP || f == F_RACE || (w->hard_lo != 0);
	pthread_mutex_unlock(&w->mu);
	request(a, act, secs, req, sizeof req, newpass);
	t0 = begin(w);
	r = call(a, req, f, &lock);
	t1 = now_us();
	pthread_mutex_lock(&w->mu);
	gnote(w, "controller %.*s -> %s%s", (int)strcspn(req, "\n"), req, r == NULL ? "lost" : jok(r) ? "ok" : jerr(r),
	      f == F_HUP    ? " (SIGHUP during it)"
	      : f == F_KILL ? " (SIGKILL during it)"
	      : f == F_TERM ? " (SIGTERM during it)"
	      : f == F_RACE ? " (a lock raced it)"
			    : "");
	if (act == A_LOCK && r != NULL && jok(r))
		w->locks++;
	if ((act == A_UNLOCK || act == A_RENEW) && r != NULL && jok(r))
		w->unlocks++;
	w->wrong += act == A_UNLOCK_WRONG || act == A_CHANGE_WRONG;
	w->rekeys += (act == A_SET || act == A_CHANGE || act == A_REMOVE) && r != NULL && jok(r);
	w->shortens += act == A_SHORTEN;
	if ((r != NULL || f == F_KILL || f == F_TERM) && w->divergences == 0 &&
	    !judge(act, m, r, &o, old, newpass, secs, t0, t1, f == F_HUP))
		diverge(w, "controller: %.*s answered %s: %s", (int)strcspn(req, "\n"), req,
			r != NULL ? (jok(r) ? "ok" : jerr(r)) : "nothing",
			r != NULL && jstr(r, "message") != NULL ? jstr(r, "message") : "");
	else if (lock != NULL && r != NULL && w->divergences == 0 &&
		 !judge_race(act, m, jok(r), lock, &o))
		diverge(w, "a lock racing %.*s answered %s, which no order of the two explains",
			(int)strcspn(req, "\n"), req, jok(lock) ? "ok" : jerr(lock));
	pthread_mutex_unlock(&w->mu);
	cJSON_Delete(r);
	cJSON_Delete(lock);
	if (w->divergences > 0)
		return;
	if (f == F_KILL || f == F_TERM)
		restart(a, o.passes, o.npass);
	else
		finish(a, &o);
}

/* Bring the daemon back after a SIGKILL: check the file with the clients parked, restart. */
static void
restart(struct actor *a, const char *const *passes, int npass)
{
	struct world *w = a->w;
	int found;

	pthread_mutex_lock(&w->mu);
	while (w->parked + w->exited < w->nclients)
		pthread_cond_wait(&w->cv, &w->mu);
	coverage_restart(w);
	found = file_check(w, passes, npass, true);
	gnote(w, "after the kill the file opens with %s", found < 0 ? "nothing allowed"
							      : passes[found][0] == '\0' ? "no passphrase (plain)"
							      : passes[found]);
	if (found >= 0) {
		snprintf(w->pass, sizeof w->pass, "%s", passes[found]);
		w->mode = w->pass[0] != '\0' ? G_LOCKED : G_PLAIN;
		w->hard_lo = w->hard_hi = 0;
		if (daemon_start(w) == 0) {
			w->gen++;
			w->up = true;
		} else {
			diverge(w, "ccr-keyd did not come back after the SIGKILL");
		}
	}
	w->unsure = false;
	w->ver++;
	pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->mu);
	wire_close(&a->conn);
}

/* status alone: the daemon agrees with the model at rest (and may reveal an auto-lock). */
static void
check_status(struct actor *a, enum fault f)
{
	struct world *w = a->w;
	struct outcome o = {0};
	char pass[MODEL_PASS_MAX];
	double reloads = 0;
	cJSON *s;

	pthread_mutex_lock(&w->mu);
	snprintf(pass, sizeof pass, "%s", w->pass);
	o.passes[0] = pass;
	o.npass = 1;
	o.expect = w->mode;
	o.hard_lo = w->hard_lo;
	o.hard_hi = w->hard_hi;
	o.may_lock = f == F_HUP;
	pthread_mutex_unlock(&w->mu);
	if (f != F_NONE)
		begin(w);
	if (f == F_KILL || f == F_TERM) {
		kill_daemon(a, f == F_TERM);
		restart(a, o.passes, 1);
		return;
	}
	if (f == F_HUP) {
		s = status(a);
		reloads = jnum(s, "reloads", 0);
		cJSON_Delete(s);
		if (!hup(a, reloads))
			return;
		/* Unlocked, the file the key held opens stays unlocked: as expected. */
	}
	finish(a, &o);
}

/* The actions' names, for MODEL_ACTIONS. */
static const char *const action_names[A_COUNT] = {
	[A_LOCK] = "lock",
	[A_UNLOCK] = "unlock",
	[A_UNLOCK_WRONG] = "unlock-wrong",
	[A_RENEW] = "renew",
	[A_SHORTEN] = "shorten",
	[A_SET] = "set",
	[A_CHANGE] = "change",
	[A_CHANGE_WRONG] = "change-wrong",
	[A_REMOVE] = "remove",
	[A_STATUS] = "status",
	[A_SWAP] = "swap",
};

/* True unless MODEL_FAULTS or MODEL_ACTIONS leaves act out. */
static bool
allowed(const struct world *w, int act)
{
	char token[32];

	if (act == A_HUP || act == A_KILL || act == A_TERM)
		return act == A_HUP ? w->hup : act == A_KILL ? w->kill : w->term;
	if (act == A_SWAP && !w->hup)
		return false; /* it sends a SIGHUP of its own */
	snprintf(token, sizeof token, ",%s,", action_names[act]);
	return act == A_STATUS || w->actions[0] == '\0' || strstr(w->actions, token) != NULL;
}

/* Pick the next action by the model's state; faults now and then. */
static enum action
pick(struct actor *a, enum gmode m, enum fault *f)
{
	static const unsigned plain[A_COUNT] = {
		[A_LOCK] = 1, [A_UNLOCK] = 1, [A_SET] = 20, [A_STATUS] = 6, [A_SWAP] = 1, [A_HUP] = 3,
		[A_KILL] = 2, [A_TERM] = 1};
	static const unsigned unlocked[A_COUNT] = {
		[A_LOCK] = 16, [A_RENEW] = 4, [A_UNLOCK_WRONG] = 2, [A_SHORTEN] = 4,
		[A_SET] = 1, [A_CHANGE] = 6, [A_CHANGE_WRONG] = 2, [A_REMOVE] = 4,
		[A_STATUS] = 6, [A_SWAP] = 2, [A_HUP] = 3, [A_KILL] = 2, [A_TERM] = 1};
	static const unsigned locked[A_COUNT] = {
		[A_LOCK] = 2, [A_UNLOCK] = 20, [A_UNLOCK_WRONG] = 4, [A_SHORTEN] = 1,
		[A_CHANGE] = 1, [A_STATUS] = 3, [A_SWAP] = 2, [A_HUP] = 2, [A_KILL] = 2, [A_TERM] = 1};
	const unsigned *wt = m == G_PLAIN ? plain : m == G_LOCKED ? locked : unlocked;
	struct world *w = a->w;
	unsigned total = 0, x;
	int i;

	for (i = 0; i < A_COUNT; i++)
		total += allowed(w, i) ? wt[i] : 0;
	*f = F_NONE;
	if (total == 0)
		return A_STATUS;
	x = rng_below(&a->rng, total);
	for (i = 0; i < A_COUNT; i++) {
		unsigned wi = allowed(w, i) ? wt[i] : 0;

		if (x < wi)
			break;
		x -= wi;
	}
	if (i == A_HUP || i == A_KILL || i == A_TERM) {
		*f = i == A_HUP ? F_HUP : i == A_KILL ? F_KILL : F_TERM;
		return A_STATUS;
	}
	if (i == A_SWAP)
		return A_SWAP; /* a SIGHUP of its own, at rest */
	if (i != A_STATUS && rng_below(&a->rng, 8) == 0 && (w->hup || w->kill))
		*f = !w->kill || (w->hup && rng_below(&a->rng, 2) == 0) ? F_HUP : F_KILL;
	else if (i != A_STATUS && rng_below(&a->rng, 6) == 0)
		*f = F_RACE;
	/* SET on a sealed keystore and UNLOCK on a plain one are refused: rarely tried. */
	if ((i == A_SET && m != G_PLAIN) || (i == A_UNLOCK && m == G_PLAIN))
		*f = F_NONE;
	return (enum action)i;
}

void *
controller_main(void *arg)
{
	struct actor *a = arg;
	struct world *w = a->w;
	enum action act;
	enum fault f;
	enum gmode m;
	int64_t wait, last_hard = 0;

	for (;;) {
		pthread_mutex_lock(&w->mu);
		m = w->mode;
		/* Half the time a fresh --for runs out while the clients work: see the auto-lock. */
		wait = w->hard_hi != last_hard && w->hard_hi != 0 && rng_below(&a->rng, 2) == 0
			       ? w->hard_hi - now_us()
			       : 0;
		last_hard = w->hard_hi;
		pthread_mutex_unlock(&w->mu);
		if (wait > 0)
			usleep((useconds_t)(wait + 300000));
		else
			usleep(rng_below(&a->rng, m == G_LOCKED ? 4000 : 15000));
		pthread_mutex_lock(&w->mu);
		if (w->stop || w->divergences > 0 || !actor_connect(a)) {
			pthread_mutex_unlock(&w->mu);
			break;
		}
		m = w->mode;
		pthread_mutex_unlock(&w->mu);
		act = pick(a, m, &f);
		if (act == A_SWAP) {
			swap_refused(a);
			check_status(a, F_NONE); /* refused: the state is as the model has it */
		} else if (act == A_STATUS)
			check_status(a, f);
		else
			change(a, act, f);
	}
	pthread_mutex_lock(&w->mu);
	w->stop = true;
	pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->mu);
	return NULL;
}
