/*
 * Judging the controller's changes: which replies a request may get given the
 * model before it and what raced it, where each reply leaves the model, and
 * whether the daemon's status afterwards (lock state, state name, the hard
 * limit of --for) is a place the reply allows.
 */
#include <stdio.h>
#include <string.h>

#include "model.h"

/* True when the reply is an error with this code. */
bool
is_err(const cJSON *r, const char *code)
{
	return r != NULL && !jok(r) && strcmp(jerr(r), code) == 0;
}

/* The state name, idle and hard limits in a status reply. */
static void
check_limits(struct world *w, const cJSON *s, const struct outcome *o, int64_t sent,
	     const char *state)
{
	bool locked = jbool(s, "locked") == 1, sealed = jbool(s, "sealed") == 1;
	double left = jnum(s, "expires_in_ms", -1);
	int64_t now = now_us();

	if (strcmp(state, !sealed ? "plain" : locked ? "locked" : "unlocked") != 0 &&
	    strcmp(state, "locking") != 0)
		diverge(w, "status says state %s at rest", state);
	else if (!locked && sealed && jnum(s, "idle_lock_in_ms", -1) < 0)
		diverge(w, "an unlocked keystore under --lock-after reports no idle_lock_in_ms");
	else if (!locked && sealed && (left >= 0) != (o->hard_lo != 0))
		diverge(w, "status %s expires_in_ms, the model %s a hard limit",
			left >= 0 ? "reports" : "lacks", o->hard_lo != 0 ? "has" : "has no");
	else if (!locked && left >= 0 && left > (double)(o->hard_hi - sent + MODEL_SLACK_US) / 1000)
		diverge(w, "the unlock's hard limit is %.0f ms away, later than the model allows "
			   "(%.0f ms): was it lengthened?",
			left, (double)(o->hard_hi - sent) / 1000);
	else if (!locked && left >= 0 && left < (double)(o->hard_lo - now - MODEL_SLACK_US) / 1000)
		diverge(w, "the unlock's hard limit is %.0f ms away, sooner than the model allows "
			   "(%.0f ms)",
			left, (double)(o->hard_lo - now) / 1000);
}

/* Check a status reply against where the change should have left the daemon, and commit it. */
void
settle(struct actor *a, const cJSON *s, struct outcome *o, int64_t sent)
{
	struct world *w = a->w;
	bool locked = jbool(s, "locked") == 1, sealed = jbool(s, "sealed") == 1;
	const char *state = jstr(s, "state");
	double left = jnum(s, "expires_in_ms", -1);
	bool window = o->hard_lo != 0 && now_us() >= o->hard_lo - MODEL_SLACK_US;

	if (s == NULL || jbool(s, "locked") < 0) {
		diverge(w, "controller: no status");
		return;
	}
	if (state == NULL)
		state = "?"; /* an older daemon: its status has less to check */
	coverage_seen(w, s);
	gnote(w, "status: %s%s, expires_in_ms %.0f; the model expects %s%s", state,
	      sealed ? "" : " (plain)", left,
	      o->expect == G_PLAIN ? "plain" : o->expect == G_LOCKED ? "locked" : "unlocked",
	      o->may_lock || window ? " (or locked)" : "");
	if (sealed != (o->passes[0][0] != '\0'))
		diverge(w, "status says sealed %d, the model's passphrase is '%s'", sealed,
			o->passes[0]);
	else if (locked && o->expect != G_LOCKED && !o->may_lock && !window)
		diverge(w, "status says locked (%s), the model says %s", state,
			o->expect == G_PLAIN ? "plain" : "unlocked");
	else if (!locked && o->expect == G_LOCKED)
		diverge(w, "status says unlocked (%s), the model says locked", state);
	else if (strcmp(state, "?") != 0)
		check_limits(w, s, o, sent, state);
	w->mode = !sealed ? G_PLAIN : locked ? G_LOCKED : G_UNLOCKED;
	if (locked && o->expect == G_UNLOCKED && window)
		w->autolocks++;
	snprintf(w->pass, sizeof w->pass, "%s", o->passes[0]);
	w->hard_lo = locked ? 0 : o->hard_lo;
	w->hard_hi = locked ? 0 : o->hard_hi;
	w->unsure = false;
	w->ver++;
}

/*
 * What reply r to act allows, given the model before it (mode m, passphrase
 * old) and whether a reload or --for may have locked the keystore meanwhile
 * (o->may_lock) or a reload made a passphrase job moot (hup): fills o and
 * returns true, or returns false for a reply no correct daemon gives. r NULL:
 * lost to a SIGKILL.
 */
bool
judge(enum action act, enum gmode m, const cJSON *r, struct outcome *o, const char *old,
      const char *newpass, double secs, int64_t t0, int64_t t1, bool hup)
{
	bool ok = r != NULL && jok(r), locked = is_err(r, "locked") && o->may_lock;
	bool busy = is_err(r, "busy") && hup;
	int64_t us = (int64_t)(secs * 1e6);

	o->expect = m;
	o->passes[0] = old;
	o->npass = 1;
	if (r == NULL) {
		o->passes[1] = act == A_SET || act == A_CHANGE ? newpass : "";
		o->npass = act == A_SET || act == A_CHANGE || act == A_REMOVE ? 2 : 1;
		return true;
	}
	if (m == G_PLAIN && act != A_SET)
		return is_err(r, "bad_request");
	if (m == G_LOCKED && (act == A_SHORTEN || act == A_SET))
		return is_err(r, act == A_SHORTEN ? "bad_request" : "locked");
	if (m == G_LOCKED && act != A_LOCK && act != A_UNLOCK && act != A_UNLOCK_WRONG)
		return is_err(r, "locked");
	if (act == A_SET && m != G_PLAIN)
		return is_err(r, "bad_request");
	if (locked)
		o->expect = G_LOCKED; /* --for ran out, or a reload, before it was done */
	switch (act) {
	case A_LOCK:
		o->expect = G_LOCKED;
		o->hard_lo = o->hard_hi = 0;
		return ok && jbool(r, "locked") == 1;
	case A_UNLOCK:
	case A_RENEW:
		if (ok) {
			o->expect = G_UNLOCKED;
			o->hard_lo = secs > 0 ? t0 + us : 0;
			o->hard_hi = secs > 0 ? t1 + us : 0;
		}
		return (ok && jbool(r, "locked") == 0) || locked;
	case A_UNLOCK_WRONG:
	case A_CHANGE_WRONG:
		return is_err(r, "denied") || locked || busy;
	case A_SHORTEN:
		if (ok && (o->hard_lo == 0 || t0 + us < o->hard_lo))
			o->hard_lo = t0 + us;
		if (ok && (o->hard_hi == 0 || t1 + us < o->hard_hi))
			o->hard_hi = t1 + us;
		if (is_err(r, "bad_request") && o->may_lock)
			o->expect = G_LOCKED;
		return (ok && jbool(r, "locked") == 0) || (is_err(r, "bad_request") && o->may_lock);
	default: /* A_SET, A_CHANGE, A_REMOVE */
		if (ok) {
			o->passes[0] = act == A_REMOVE ? "" : newpass;
			o->expect = act == A_REMOVE ? G_PLAIN : G_UNLOCKED;
			if (act != A_CHANGE)
				o->hard_lo = o->hard_hi = 0;
		}
		return (ok && jbool(r, "sealed") == (act != A_REMOVE)) || locked || busy;
	}
}

/*
 * A lock raced act (from mode m) and answered lr; op_ok: act succeeded. Fill
 * in what that tells, or return false when no order of the two explains it.
 */
bool
judge_race(enum action act, enum gmode m, bool op_ok, const cJSON *lr, struct outcome *o)
{
	bool lock_ok = jok(lr) && jbool(lr, "locked") == 1, plain = is_err(lr, "bad_request");

	if (plain)
		/* Plain when the lock came: before a passphrase set, or after a remove. */
		return m == G_PLAIN || (act == A_REMOVE && op_ok);
	if (!lock_ok || (act == A_REMOVE && op_ok))
		return false; /* a remove that landed leaves nothing to lock */
	/* Locked last, unless an unlock came after the lock. */
	if (!(act == A_UNLOCK && op_ok))
		o->expect = G_LOCKED;
	return true;
}
