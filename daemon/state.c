/*
 * The state machine. One table says which event leads where; state_event is
 * the only place the state changes, and what entering a state requires
 * happens there too: entering LOCKING waits for the writer's batch in flight
 * (a barrier), then wipes the store, the key and the loop's stack, and only
 * then enters LOCKED and answers the lock requests. So a lock's reply is true
 * when it is sent, and nothing is wiped while the writer thread reads it.
 */
#include "state.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keyd.h"
#include "log.h"
#include "stack.h"

/* Short names for the table, and X: the event cannot happen in that state. */
#define PLAIN STATE_PLAIN
#define SEALING STATE_SEALING
#define LOCKED STATE_LOCKED
#define UNLCKING STATE_UNLOCKING
#define UNLOCKED STATE_UNLOCKED
#define REKEYING STATE_REKEYING
#define LOCKING STATE_LOCKING
#define STOPPING STATE_STOPPING
#define X STATE_COUNT

/*
 * next[state][event]: where each event leads. Once sealed (locked, unlocking,
 * unlocked, rekeying, locking) a reload never makes the keystore plain: a
 * plain file there is refused (reload.c asks this table), and only a written
 * passphrase remove (UNSEALED) leads back to PLAIN. A reload never locks the
 * person out behind their back: unlocked, a sealed file that the key held
 * opens stays unlocked (RELOAD opened), and an unlock under way goes on.
 */
// clang-format off
static const enum state next[STATE_COUNT][EV_COUNT] = {
	/*            SEAL     UNLOCK    REKEY     OPENED    SEALED    UNSEALED  FAILED    LOCK      WIPED     RELOAD    RELOAD    RELOAD    RELOAD    STOP */
	/*                                                                                                   (plain)   (sealed)  (refused) (opened)       */
	[PLAIN]    = {SEALING, X,        X,        X,        X,        X,        X,        X,        X,        PLAIN,    LOCKING,  PLAIN,    X,        STOPPING},
	[SEALING]  = {X,       X,        X,        X,        UNLOCKED, X,        PLAIN,    X,        X,        PLAIN,    LOCKING,  SEALING,  X,        STOPPING},
	[LOCKED]   = {X,       UNLCKING, X,        X,        X,        X,        X,        X,        X,        X,        LOCKING,  LOCKED,   X,        STOPPING},
	[UNLCKING] = {X,       X,        X,        UNLOCKED, X,        X,        LOCKED,   LOCKING,  X,        X,        UNLCKING, UNLCKING, X,        STOPPING},
	[UNLOCKED] = {X,       X,        REKEYING, X,        X,        X,        X,        LOCKING,  X,        X,        LOCKING,  UNLOCKED, UNLOCKED, STOPPING},
	[REKEYING] = {X,       X,        X,        X,        UNLOCKED, PLAIN,    UNLOCKED, LOCKING,  X,        X,        LOCKING,  REKEYING, X,        STOPPING},
	[LOCKING]  = {X,       X,        X,        X,        LOCKING,  PLAIN,    LOCKING,  LOCKING,  LOCKED,   X,        LOCKING,  LOCKING,  X,        STOPPING},
	[STOPPING] = {X,       X,        X,        X,        STOPPING, STOPPING, STOPPING, STOPPING, STOPPING, X,        X,        X,        X,        STOPPING},
};
// clang-format on

static const char *const names[STATE_COUNT] = {
	[STATE_PLAIN] = "plain",
	[STATE_SEALING] = "sealing",
	[STATE_LOCKED] = "locked",
	[STATE_UNLOCKING] = "unlocking",
	[STATE_UNLOCKED] = "unlocked",
	[STATE_REKEYING] = "rekeying",
	[STATE_LOCKING] = "locking",
	[STATE_STOPPING] = "stopping",
};

static const char *const event_names[EV_COUNT] = {
	[EV_SEAL] = "seal",
	[EV_UNLOCK] = "unlock",
	[EV_REKEY] = "rekey",
	[EV_OPENED] = "opened",
	[EV_SEALED] = "sealed",
	[EV_UNSEALED] = "unsealed",
	[EV_FAILED] = "failed",
	[EV_LOCK] = "lock",
	[EV_WIPED] = "wiped",
	[EV_RELOAD_PLAIN] = "reload-plain",
	[EV_RELOAD_SEALED] = "reload-sealed",
	[EV_RELOAD_REFUSED] = "reload-refused",
	[EV_RELOAD_OPENED] = "reload-opened",
	[EV_STOP] = "stop",
};

/* What a request of each gate gets in each state, before the op looks at it. */
enum verdict { OK, NOT_SEALED, LOCKED_OUT, BUSY_JOB, BUSY_STOP };

// clang-format off
static const enum verdict verdicts[STATE_COUNT][GATE_COUNT] = {
	/*            ANY  READ        WRITE       LOCK        UNLOCK      SHORTEN     PASSPHRASE */
	[PLAIN]    = {OK,  OK,         OK,         NOT_SEALED, NOT_SEALED, NOT_SEALED, OK},
	[SEALING]  = {OK,  OK,         OK,         NOT_SEALED, NOT_SEALED, NOT_SEALED, BUSY_JOB},
	[LOCKED]   = {OK,  LOCKED_OUT, LOCKED_OUT, OK,         OK,         OK,         LOCKED_OUT},
	[UNLCKING] = {OK,  LOCKED_OUT, LOCKED_OUT, OK,         BUSY_JOB,   BUSY_JOB,   LOCKED_OUT},
	[UNLOCKED] = {OK,  OK,         OK,         OK,         OK,         OK,         OK},
	[REKEYING] = {OK,  OK,         OK,         OK,         BUSY_JOB,   OK,         BUSY_JOB},
	[LOCKING]  = {OK,  LOCKED_OUT, LOCKED_OUT, OK,         OK,         OK,         LOCKED_OUT},
	[STOPPING] = {OK,  BUSY_STOP,  BUSY_STOP,  OK,         BUSY_STOP,  BUSY_STOP,  BUSY_STOP},
};
// clang-format on

static void on_locked(uv_idle_t *h);

void
state_init(struct keyd *k, enum state first)
{
	struct state_machine *st = &k->state;

	st->now = first;
	st->stopped_from = first;
	uv_idle_init(k->loop, &st->wipe_idle);
	st->wipe_idle.data = k;
	uv_idle_init(k->loop, &st->locked_idle);
	st->locked_idle.data = k;
}

void
state_close(struct keyd *k)
{
	uv_close((uv_handle_t *)&k->state.wipe_idle, NULL);
	uv_close((uv_handle_t *)&k->state.locked_idle, NULL);
}

const char *
state_name(enum state s)
{
	return s < STATE_COUNT ? names[s] : "?";
}

const char *
state_event_name(enum state_event ev)
{
	return ev < EV_COUNT ? event_names[ev] : "?";
}

enum state
state_next(enum state s, enum state_event ev)
{
	return s < STATE_COUNT && ev < EV_COUNT ? next[s][ev] : STATE_COUNT;
}

/* The state whose keys hello and status describe: the one stopping left. */
static enum state
shown(const struct keyd *k)
{
	return k->state.now == STATE_STOPPING ? k->state.stopped_from : k->state.now;
}

bool
state_sealed(const struct keyd *k)
{
	enum state s = shown(k);

	return s != STATE_PLAIN && s != STATE_SEALING;
}

bool
state_locked(const struct keyd *k)
{
	enum state s = shown(k);

	return s == STATE_LOCKED || s == STATE_UNLOCKING || s == STATE_LOCKING;
}

enum proto_err
state_allows(const struct keyd *k, enum state_gate gate, bool with_value, const char **msg)
{
	enum verdict v;

	if ((unsigned)gate >= GATE_COUNT)
		gate = GATE_ANY;
	if (gate == GATE_UNLOCK && !with_value)
		gate = GATE_SHORTEN;
	v = verdicts[k->state.now][gate];
	if (v == OK && (gate == GATE_UNLOCK || gate == GATE_PASSPHRASE) && vault_busy(&k->vault))
		v = BUSY_JOB; /* the answer to a wrong passphrase is still being delayed */
	if (v == OK && gate == GATE_UNLOCK && k->state.pending_unlock != NULL)
		v = BUSY_JOB; /* one unlock already waits for the wipe */
	if (v == OK && gate == GATE_LOCK && k->state.now == STATE_STOPPING && !state_sealed(k))
		v = NOT_SEALED;
	switch (v) {
	case OK:
		return PE_OK;
	case NOT_SEALED:
		*msg = gate == GATE_LOCK
			   ? "the keystore has no passphrase, so it cannot be locked; set "
			     "one with: ccr-config passphrase set"
			   : "the keystore has no passphrase, so nothing to unlock";
		return PE_BAD_REQUEST;
	case LOCKED_OUT:
		*msg = "the keystore is locked; run: ccr-config unlock";
		return PE_LOCKED;
	case BUSY_JOB:
		*msg = "an unlock or passphrase operation is under way; try again";
		return PE_BUSY;
	default:
		*msg = "ccr-keyd is shutting down";
		return PE_BUSY;
	}
}

/* Answer a change now with result and msg. */
static void
answer(struct keyd *k, struct change *c, enum proto_err result, const char *msg)
{
	c->reply.result = result;
	snprintf(c->reply.message, sizeof c->reply.message, "%s", msg);
	change_finish(c, k->arena);
}

/*
 * Locked: start the unlock that waited for the wipe, also when its session
 * hung up meanwhile (as one already under way goes on): it is audited when
 * answered either way.
 */
static void
start_pending_unlock(struct keyd *k)
{
	struct change *c = k->state.pending_unlock;

	k->state.pending_unlock = NULL;
	if (c == NULL)
		return;
	if (k->state.now != STATE_LOCKED || vault_busy(&k->vault))
		answer(k, c, PE_BUSY, "an unlock or passphrase operation is under way; try again");
	else
		vault_unlock(&k->vault, c);
}

/* Answer every waiting lock request with result (and msg when it is an error). */
static void
answer_waiters(struct keyd *k, enum proto_err result, const char *msg)
{
	struct change *c, *next_c;

	c = k->state.lock_waiters;
	k->state.lock_waiters = NULL;
	for (; c != NULL; c = next_c) {
		next_c = c->next;
		c->reply.result = result;
		if (msg != NULL)
			snprintf(c->reply.message, sizeof c->reply.message, "%s", msg);
		change_finish(c, k->arena);
	}
}

/*
 * Barrier: no batch is in flight. Refuse what is queued, wipe the store and
 * the key, then wipe the loop's stack from a shallow frame on the next turn.
 */
static void
lock_barrier(struct writer *w)
{
	struct keyd *k = (struct keyd *)((char *)w - offsetof(struct keyd, writer));

	if (k->state.now != STATE_LOCKING)
		return; /* the passphrase was removed meanwhile, or we are exiting */
	writer_cancel(w, false, PE_LOCKED,
		      "the keystore was locked before this change was "
		      "written; nothing was changed");
	store_free(&k->store);
	store_init(&k->store, k->arena);
	vault_forget(&k->vault);
	uv_idle_start(&k->state.locked_idle, on_locked);
}

/* Next turn after the store is wiped: wipe the stack, then the keystore is locked. */
static void
on_locked(uv_idle_t *h)
{
	struct keyd *k = h->data;

	uv_idle_stop(h);
	stack_wipe();
	if (k->state.now != STATE_LOCKING)
		return;
	if (store_count(&k->store) == 0 && k->vault.key == NULL)
		state_event(k, EV_WIPED);
	else
		writer_barrier(&k->writer, lock_barrier); /* filled again meanwhile: once more */
}

/* Next turn after a job: wipe what the passphrase left on the loop's stack. */
static void
on_wipe(uv_idle_t *h)
{
	uv_idle_stop(h);
	stack_wipe();
}

void
state_wipe_stack_soon(struct keyd *k)
{
	if (!uv_is_closing((uv_handle_t *)&k->state.wipe_idle))
		uv_idle_start(&k->state.wipe_idle, on_wipe);
}

void
state_event(struct keyd *k, enum state_event ev)
{
	struct state_machine *st = &k->state;
	enum state from = st->now, to = state_next(from, ev);

	if (to == STATE_COUNT) {
		log_warn("bug: event '%s' cannot happen in state %s", state_event_name(ev),
			 state_name(from));
		abort();
	}
	st->transitions[from][ev]++;
	st->now = to;
	if (from != to)
		log_debug("state: %s -> %s (%s)", state_name(from), state_name(to),
			  state_event_name(ev));
	if (to == STATE_STOPPING && from != STATE_STOPPING)
		st->stopped_from = from;
	if (to == STATE_LOCKING)
		writer_barrier(&k->writer, lock_barrier); /* again after a reload: harmless */
	if (ev == EV_WIPED) {
		/* Replies a peer has not taken may hold values: they go with the store. */
		server_close_unread(&k->server);
		server_drop_input(&k->server); /* a set line still arriving holds a value */
		log_info("locked: key and values wiped");
		answer_waiters(k, PE_OK, NULL);
		start_pending_unlock(k); /* last: it moves the state on */
	}
	if (from == STATE_LOCKING && to != STATE_LOCKING && to != STATE_LOCKED) {
		static const char plain[] = "the keystore became plain before the lock (its "
					    "passphrase was removed)";

		if (st->pending_unlock != NULL)
			answer(k, st->pending_unlock, to == STATE_PLAIN ? PE_BAD_REQUEST : PE_BUSY,
			       to == STATE_PLAIN ? plain : "ccr-keyd is shutting down");
		st->pending_unlock = NULL;
		if (to == STATE_PLAIN)
			answer_waiters(k, PE_BAD_REQUEST, plain);
	}
}

void
state_defer_unlock(struct keyd *k, struct change *c)
{
	k->state.pending_unlock = c;
}

void
state_lock(struct keyd *k, struct change *c)
{
	if (c != NULL) {
		c->next = k->state.lock_waiters;
		k->state.lock_waiters = c;
	}
	if (k->state.now != STATE_STOPPING)
		state_event(k, EV_LOCK); /* STOPPING: answered once everything is wiped at exit */
}

void
state_stopped(struct keyd *k)
{
	store_free(&k->store);
	store_init(&k->store, k->arena);
	vault_forget(&k->vault);
	stack_wipe();
	answer_waiters(k, PE_OK, NULL);
}

void
state_report(const struct keyd *k, struct buf *out)
{
	char key[64];
	int s, ev, n = 0;

	proto_field_key(out, "transitions");
	buf_addc(out, '{');
	for (s = 0; s < STATE_COUNT; s++) {
		for (ev = 0; ev < EV_COUNT; ev++) {
			if (next[s][ev] == STATE_COUNT)
				continue;
			snprintf(key, sizeof key, "%s/%s", names[s], event_names[ev]);
			if (n++ > 0)
				buf_addc(out, ',');
			buf_add_json(out, key, strlen(key));
			buf_addc(out, ':');
			buf_addi(out, (long long)k->state.transitions[s][ev]);
		}
	}
	buf_addc(out, '}');
}
