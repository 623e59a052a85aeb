/*
 * The daemon's life as one state machine (docs/DESIGN.md, "Keystore file"): is the
 * keystore plain, locked or unlocked, and which change of that is under way.
 * Every request asks state_allows what it may do now; every change goes
 * through state_event, the one transition function, which also does what
 * entering a state requires. The writer's idle/writing is the other half:
 * nothing that replaces or wipes the store runs while a batch is in flight.
 */
#ifndef CCR_STATE_H
#define CCR_STATE_H

#include <stdbool.h>

#include <uv.h>

#include "buf.h"
#include "proto.h"

struct keyd;
struct change;

enum state {
	STATE_PLAIN,     /* no passphrase: the store holds every key */
	STATE_SEALING,   /* plain; a passphrase set derives its key or is being written */
	STATE_LOCKED,    /* sealed, no key, an empty store */
	STATE_UNLOCKING, /* locked; an unlock checks its passphrase off the loop */
	STATE_UNLOCKED,  /* sealed and open: the key is held, the store holds every key */
	STATE_REKEYING,  /* unlocked; a passphrase change, remove or renewal is under way */
	STATE_LOCKING,   /* answers locked; the wipe waits for the batch in flight */
	STATE_STOPPING,  /* exiting once the writer is idle: serves nothing new */
	STATE_COUNT
};

enum state_event {
	EV_SEAL,          /* a passphrase set starts */
	EV_UNLOCK,        /* an unlock starts */
	EV_REKEY,         /* a passphrase change, remove or renewal starts */
	EV_OPENED,        /* the unlock opened the file: its store and key are installed */
	EV_SEALED,        /* a passphrase job ended with the file sealed under the key held */
	EV_UNSEALED,      /* passphrase remove is on disk: the file is plain */
	EV_FAILED,        /* a job ended and changed nothing */
	EV_LOCK,          /* lock, auto-lock, or the end of an unlock's time */
	EV_WIPED,         /* store, key and the loop's stack are wiped */
	EV_RELOAD_PLAIN,  /* SIGHUP read a plain file into the store (never once sealed) */
	EV_RELOAD_SEALED, /* SIGHUP read a sealed file: the store is empty */
	EV_RELOAD_REFUSED, /* SIGHUP found a file it refuses (unreadable, plain where a sealed
			      one was, an older sealed one): nothing changes */
	EV_RELOAD_OPENED, /* SIGHUP, unlocked, read a sealed file the key held opens: its keys */
	EV_STOP,          /* SIGTERM, SIGINT or --idle-exit */
	EV_COUNT
};

struct state_machine {
	enum state now;
	enum state stopped_from;     /* STATE_STOPPING: the state it left, for hello and status */
	struct change *lock_waiters;   /* lock requests answered once the wipe is done */
	struct change *pending_unlock; /* an unlock that came while locking: starts once locked */
	uv_idle_t wipe_idle;         /* wipes the loop's stack from a shallow frame */
	uv_idle_t locked_idle;       /* the same, then enters STATE_LOCKED */
	unsigned long transitions[STATE_COUNT][EV_COUNT]; /* for status and the model test */
};

/* Start in first (STATE_PLAIN or STATE_LOCKED). */
void state_init(struct keyd *k, enum state first);

/* Stop the state's loop handles (shutdown). */
void state_close(struct keyd *k);

/* The state's name ("unlocked"), as hello and status report it. */
const char *state_name(enum state s);

/* The next state after ev in s; STATE_COUNT when ev cannot happen in s. */
enum state state_next(enum state s, enum state_event ev);

/* The event's name ("lock"), for the log and status. */
const char *state_event_name(enum state_event ev);

/*
 * What an op is to the state machine: the column of state.c's verdicts it is
 * judged by (each op's row in daemon/ops.c names its gate).
 */
enum state_gate {
	GATE_ANY,        /* hello, status, allow, guard: in every state */
	GATE_READ,       /* get, use, resolve, list */
	GATE_WRITE,      /* set, bind, delete, rename */
	GATE_LOCK,
	GATE_UNLOCK,     /* with a passphrase; without one it is GATE_SHORTEN */
	GATE_SHORTEN,    /* an unlock without a passphrase: it only brings --for forward */
	GATE_PASSPHRASE,
	GATE_COUNT
};

/*
 * May a request judged by gate run now? PE_OK, or the error to answer with
 * *msg set. with_value: it carries a passphrase (a GATE_UNLOCK without one
 * is judged as GATE_SHORTEN).
 */
enum proto_err state_allows(const struct keyd *k, enum state_gate gate, bool with_value,
			    const char **msg);

/* Take ev: move to the next state and do what entering it requires. */
void state_event(struct keyd *k, enum state_event ev);

/* True when the keystore has a passphrase (the file on disk is sealed). */
bool state_sealed(const struct keyd *k);

/* True when requests for keys answer locked. */
bool state_locked(const struct keyd *k);

/*
 * Lock (a lock request, or auto-lock with c NULL): c is answered once the key
 * and every value are wiped. Not in STATE_LOCKED (answer at once: it is wiped
 * already), and only where state_allows lets OP_LOCK through.
 */
void state_lock(struct keyd *k, struct change *c);

/* Locking: start unlock c once the wipe is done (only where state_allows let it through). */
void state_defer_unlock(struct keyd *k, struct change *c);

/* Wipe the loop's stack on the next turn (after a passphrase or unlock job). */
void state_wipe_stack_soon(struct keyd *k);

/* Exiting: wipe the store and the key, answer waiting lock requests. */
void state_stopped(struct keyd *k);

/* Append "transitions":{"STATE/EVENT":count,…} for every possible transition (status). */
void state_report(const struct keyd *k, struct buf *out);

#endif
