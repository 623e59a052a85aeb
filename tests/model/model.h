/*
 * ccr-model: a randomized, model-based test of ccr-keyd, in the
 * spirit of Jepsen and of FoundationDB's simulation testing. Client threads
 * issue random requests on keys of their own while a controller thread locks,
 * unlocks, changes passphrases, and sends SIGHUP and SIGKILL at random
 * moments; every reply is checked against a sequential model of the keystore,
 * and the file on disk against the same model. Shared declarations.
 */
#ifndef CCR_MODEL_H
#define CCR_MODEL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <cjson/cJSON.h>

#include "buf.h"

#define MODEL_MAX_CLIENTS 32
#define MODEL_KEYS 4       /* keys each client owns */
#define MODEL_MAX_CAND 32  /* values a key may hold after replies were lost */
#define MODEL_ABSENT (-1L) /* a candidate "value": the key does not exist */
#define MODEL_PASS_MAX 64
/*
 * The daemon keeps its clock in whole milliseconds and turns "for" into whole
 * milliseconds: a hard limit may come up to this many microseconds sooner or
 * later than the model's window says.
 */
#define MODEL_SLACK_US 5000
#define MODEL_NOTES 32 /* recent client events kept for a divergence report */
#define MODEL_GNOTES 48 /* recent global events (controller, faults) kept too */

/* The keystore's lock state as the model knows it. */
enum gmode { G_PLAIN, G_LOCKED, G_UNLOCKED };

/* A small, seedable random number generator (splitmix64). */
struct rng {
	uint64_t s;
};

/* One key a client owns, and what it may hold now. */
struct mkey {
	char name[16];
	char env[32];
	long cand[MODEL_MAX_CAND]; /* sequence numbers of values, or MODEL_ABSENT */
	int ncand;
	long sent; /* the highest sequence number sent in a set (others read it) */
};

/* One connection to the daemon, reading reply lines. */
struct wire {
	int fd;
	struct buf in;
};

/* Everything the threads share; every field below settings is under mu. */
struct world {
	/* Settings, fixed before the threads start. */
	uint64_t seed;
	int nclients;
	double seconds;
	long max_ops;
	bool hup, kill, term;
	char actions[256]; /* ",lock,unlock," from MODEL_ACTIONS, "" for all */
	char dir[512], keyfile[600], sock[600], log[600], keyd[600];
	int64_t start_us;

	pthread_mutex_t mu;
	pthread_cond_t cv;
	/* The daemon: clients connect while up; they park while it restarts. */
	pid_t pid;
	unsigned gen;
	bool up;
	int parked, exited; /* clients waiting for the daemon, clients done */
	/* The model of the keystore's state. */
	enum gmode mode;
	bool unsure;  /* a global change is under way: locked or not is unknown */
	uint64_t ver; /* bumped at each start and end of a global change */
	int64_t hard_lo, hard_hi; /* the unlock's hard limit lies in [lo, hi] (µs); 0: none */
	char pass[MODEL_PASS_MAX]; /* the passphrase, "" when plain */
	struct mkey keys[MODEL_MAX_CLIENTS][MODEL_KEYS];
	/* Results. */
	bool stop;
	int divergences;
	unsigned long ops, client_ops[MODEL_MAX_CLIENTS];
	unsigned long locks, unlocks, wrong, rekeys, shortens, hups, kills, terms, autolocks;
	unsigned long file_checks, lost_replies, locked_replies;
	/* Files that would undo the seal, swapped in and refused at SIGHUP (faults.c). */
	unsigned long swaps_plain, swaps_older;
	struct buf old_copy; /* a sealed keystore file as it was earlier, for a rollback */
	/* The daemon's transition counts ("state/event"): this life's latest, earlier lives' sum. */
	char trans_names[128][40];
	unsigned long trans_now[128], trans_sum[128];
	int ntrans;
	char notes[MODEL_NOTES][200], gnotes[MODEL_GNOTES][200];
	unsigned long nnotes, ngnotes;
};

/* main.c */
int64_t now_us(void);
uint64_t rng_next(struct rng *r);
unsigned rng_below(struct rng *r, unsigned n);
/* Record a client's event in the ring of recent events (caller holds mu). */
void note(struct world *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Record a global event (controller, faults) in its own ring (caller holds mu). */
void gnote(struct world *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Report a divergence (caller holds mu): print it with the recent events, stop the run. */
void diverge(struct world *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* values.c: the values clients store, recognisable as theirs. */
void value_make(const struct world *w, const char *name, long seq, struct buf *out);
/* The sequence number of value as a value of name, or -2 when nobody set it. */
long value_seq(const struct world *w, const char *name, const char *value, size_t len,
	       long max_seq);
/* The owner (client, key) of a model key name, or -1. */
int key_owner(const struct world *w, const char *name, int *kidx);
bool cand_has(const struct mkey *k, long seq);
void cand_set(struct mkey *k, long seq);
void cand_add(struct mkey *k, long seq);

/* wire.c */
int wire_connect(struct wire *c, const char *path);
void wire_close(struct wire *c);
int wire_send(struct wire *c, const char *data, size_t len);
/* The next reply: NULL with *why 1 when the connection closed, 2 on timeout, 3 not JSON. */
cJSON *wire_reply(struct wire *c, int timeout_ms, int *why);
/* One request, one reply (NULL as wire_reply). */
cJSON *wire_call(struct wire *c, const char *req, int timeout_ms, int *why);
/* Member helpers: the string, bool, number at key, or a default. */
const char *jstr(const cJSON *o, const char *key);
int jbool(const cJSON *o, const char *key);
double jnum(const cJSON *o, const char *key, double dflt);
bool jok(const cJSON *o);
const char *jerr(const cJSON *o);

/* daemon.c */
int daemon_start(struct world *w);
/* SIGKILL the daemon, wait for it; returns its wait status. */
int daemon_kill(struct world *w);
/* SIGTERM the daemon, wait for it; returns its wait status. */
int daemon_stop(struct world *w);
/* True (with *status) when the daemon has exited. */
bool daemon_exited(struct world *w, int *status);
/* Print the last lines of the daemon's log to stderr. */
void daemon_log_tail(const struct world *w, int lines);
/*
 * Open the keystore file with each of passes (npass, "" for plain) and check
 * every key in it against the model; offline (the daemon is dead) also
 * narrows each key to what the file holds. Returns the index of the
 * passphrase that opened it, or -1 after a divergence (caller holds mu).
 */
int file_check(struct world *w, const char *const *passes, int npass, bool offline);

/* The controller's actions (controller.c), faults (faults.c) and their judging (judge.c). */
#define CALL_TIMEOUT_MS 60000

enum action {
	A_LOCK,
	A_UNLOCK,
	A_UNLOCK_WRONG,
	A_RENEW,
	A_SHORTEN,
	A_SET,
	A_CHANGE,
	A_CHANGE_WRONG,
	A_REMOVE,
	A_STATUS,
	A_SWAP,
	A_HUP,
	A_KILL,
	A_TERM,
	A_COUNT
};

/* What fires while a request is in flight: nothing, a signal, or a lock from another connection. */
enum fault { F_NONE, F_HUP, F_KILL, F_TERM, F_RACE };

/* What a global change did, as its reply and the daemon's status tell. */
struct outcome {
	const char *passes[2]; /* the passphrase after it: [0], or either of two when unknown */
	int npass;
	bool may_lock; /* a reload or the end of --for may have locked it meanwhile */
	enum gmode expect;
	int64_t hard_lo, hard_hi;
};

struct actor;

/* faults.c */
/* Ask status on the actor's connection (caller does not hold mu); NULL without a reply. */
cJSON *status(struct actor *a);
/* Ask status on a connection of its own. */
cJSON *status_aside(struct world *w);
/* SIGHUP the daemon and wait until status counts more reloads than before; false on a divergence. */
bool hup(struct actor *a, double before);
/* Stop clients from sending, SIGKILL (or SIGTERM) the daemon and check how it ended. */
void kill_daemon(struct actor *a, bool term);
/* A lock on a connection of its own, racing a request; its reply (NULL after a divergence). */
cJSON *lock_aside(struct world *w);
/*
 * With the clients parked, swap in a file that would undo the seal (a plain
 * one while sealed, or an older sealed copy), SIGHUP, and check that the
 * reload is refused; then put the real file back, untouched.
 */
void swap_refused(struct actor *a);
/* Send req, fire fault f shortly after, read the reply (NULL when lost); F_RACE: *lock. */
cJSON *call(struct actor *a, const char *req, enum fault f, cJSON **lock);

/* judge.c (the caller holds mu for each) */
bool is_err(const cJSON *r, const char *code);
/*
 * The reply r to act, from mode m with passphrase old, is one a correct
 * daemon gives: fill o with where it leaves the model (r NULL: lost to a kill).
 */
bool judge(enum action act, enum gmode m, const cJSON *r, struct outcome *o, const char *old,
	   const char *newpass, double secs, int64_t t0, int64_t t1, bool hup);
/* A lock raced act and answered lr: an order of the two explains both replies (fills o). */
bool judge_race(enum action act, enum gmode m, bool op_ok, const cJSON *lr, struct outcome *o);
/* Hold a status reply (asked at sent) to o, and commit it to the model. */
void settle(struct actor *a, const cJSON *s, struct outcome *o, int64_t sent);

/* client.c, controller.c: thread bodies (arg: a struct actor). */
struct actor {
	struct world *w;
	int id;
	struct rng rng;
	struct wire conn;
	unsigned gen; /* the daemon generation conn belongs to */
	long next_id;
	pthread_t thread;
};
void *client_main(void *arg);
void *controller_main(void *arg);
/* Note the transition counts of a status reply (caller holds mu). */
void coverage_seen(struct world *w, const cJSON *status);
/* A daemon's life ended: add its counts to the sum (caller holds mu). */
void coverage_restart(struct world *w);
/* Wait until the daemon is up and connect a's connection to it (caller holds mu). */
bool actor_connect(struct actor *a);

#endif
