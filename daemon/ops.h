/*
 * The protocol's table, the daemon's half: one row per op (ops.c) saying what
 * the state machine must allow, what a coding agent may send, who handles it
 * or that it goes to the writer, what it does to --lock-after's clock, and
 * which keys its audit record names. dispatch_line reads the row; state.c and
 * agent.c judge by the columns it hands them. The other half, the request's
 * shape (which members it takes and how they are checked), is the decoder's
 * table in common/proto_decode.c, which the client and the fuzzers share.
 * Adding an op: its enum and wire name (common/proto.h, proto.c), its shape
 * row, its row here, and its handler.
 */
#ifndef CCR_OPS_H
#define CCR_OPS_H

#include <stdbool.h>

#include "agent.h"
#include "proto.h"
#include "state.h"
#include "writer.h"

struct keyd;
struct session;

/* One request on its way through its row: what a handler reads, and what it notes. */
struct op_call {
	struct keyd *k;
	struct session *s;
	const struct proto_request *req;
	const char *audited; /* a handler's own name for the audit record (use: the key found) */
};

/* Which keys a request names: for the audit record, and the key a read reveals to an agent. */
enum op_names {
	NAMES_NAME, /* its "name" */
	NAMES_KEY,  /* its key: by "name", or by "env" when it has no name (use, bind) */
	NAMES_ENVS, /* resolve's env names */
};

/* What a request does to --lock-after's clock before it runs. */
enum op_touch {
	TOUCH_NEVER,    /* a read restarts it itself, and only when it reveals a value */
	TOUCH_ALWAYS,   /* it changes the keystore */
	TOUCH_IF_NAMED, /* it changes the keystore when its "name" is a key */
};

/* An op's row. */
struct op_entry {
	/* Answer into c->s->out and return the result; PE_COUNT: answered and audited later. */
	enum proto_err (*run)(struct op_call *c);
	bool write;              /* instead of run: a change queued to the writer (op_write) */
	enum change_kind change; /* write: which change */
	enum state_gate state;   /* the state machine's column it is judged by */
	enum agent_may agent;
	/* A request of the op that reveals and changes nothing, which any agent may send. */
	bool (*harmless)(const struct proto_request *req);
	/* AGENT_NEVER: what follows "refused: … a coding agent, ": why, and what to do instead. */
	const char *refusal;
	enum op_touch touch;
	enum op_names names;
};

/* The row of op, or NULL when op is no op (OP_COUNT). */
const struct op_entry *ops_entry(enum proto_op op);

/* The handlers of reads and the like (op_read.c): hello, get, use, resolve, list, status. */
enum proto_err op_hello(struct op_call *c);
enum proto_err op_get(struct op_call *c);
enum proto_err op_use(struct op_call *c);
enum proto_err op_resolve(struct op_call *c);
enum proto_err op_list(struct op_call *c);
enum proto_err op_status(struct op_call *c);

/* The handlers whose answer may come later (op_change.c): unlock, lock, passphrase, writes. */
enum proto_err op_unlock(struct op_call *c);
enum proto_err op_lock(struct op_call *c);
enum proto_err op_passphrase(struct op_call *c);

/* Queue c's request to the writer as a change of kind; answered and audited when durable. */
enum proto_err op_write(struct op_call *c, enum change_kind kind);

#endif
