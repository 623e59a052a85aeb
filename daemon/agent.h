/*
 * The agent guard (ccr-keyd.8, "CODING AGENTS"): a peer that runs inside a
 * coding agent's process tree — the peer or one of its ancestors is a known
 * agent, by executable or by the script an interpreter runs, or a guard that
 * `ccr code` registered sits above it — gets no value and makes no change.
 * One list of agents, built in and extended by a policy file beside the
 * keystore; guards registered over the socket; overrides a person grants
 * from outside any agent, in memory, with an expiry. agent_allows is the one
 * gate: dispatch_line asks it after state_allows.
 */
#ifndef CCR_AGENT_H
#define CCR_AGENT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "agent_rules.h"
#include "buf.h"
#include "names.h"
#include "proto.h"

struct keyd;
struct session;
struct peer;
struct op_entry;
struct op_call;

/* What a coding agent may send of an op (each op's row in daemon/ops.c names its rule). */
enum agent_may {
	AGENT_ANY,     /* it reveals and changes nothing */
	AGENT_GRANTED, /* it reveals keys: only those an override covers */
	AGENT_NEVER,   /* it changes keys, the passphrase or the overrides */
};

/*
 * Guards are never closed for idleness and do not count against the
 * connection limit (SERVER_MAX_SESSIONS), so they are bounded on their own: at
 * most GUARDS_PER_TREE registered by processes of one session (getsid: a
 * terminal and what it starts), GUARDS_MAX in all. `ccr code` registers one.
 */
#define GUARDS_PER_TREE 8
#define GUARDS_MAX 32

/* A process `ccr code` runs the agent under; registered while its connection is open. */
struct agent_guard {
	struct agent_guard *next;
	const struct session *s;
	pid_t pid;
	unsigned long long start;
	pid_t sid;      /* its session: the process tree GUARDS_PER_TREE bounds */
	char label[64]; /* what runs under it ("ccr code", "aider"), for refusals */
};

/* An override: NAME ("" for every key) may be read inside agents until until_ms. */
struct agent_grant {
	struct agent_grant *next;
	uint64_t until_ms;
	char name[NAME_MAX_LEN + 1];
};

struct agents {
	bool off; /* --no-agent-guard */
	struct agent_rules rules; /* the built-in list and the policy file's additions */
	struct agent_guard *guards;
	struct agent_grant *grants;
	unsigned long walks, refused; /* for status */
	char message[512];            /* the refusal agent_allows answers with */
};

/*
 * Set the guard up for k (off with --no-agent-guard) and read the policy file
 * beside the keystore. Returns 0, or -1 with err set when the file is there
 * but not a private regular file of ours or has a line it cannot read.
 */
int agent_init(struct keyd *k, bool off, char *err, size_t errsize);

/* Release the rules, guards and grants. */
void agent_free(struct agents *a);

/*
 * May req, whose row in daemon/ops.c is op, run for the peer of s? PE_OK, or
 * PE_DENIED with *msg set to a line that says why and what a person does
 * instead (the peer's agent is then named in s->peer for the audit log).
 * Walks the peer's ancestry once per session, and only for the ops an agent
 * may not run.
 */
enum proto_err agent_allows(struct keyd *k, struct session *s, const struct proto_request *req,
                            const struct op_entry *op, const char **msg);

/* op allow: grant or (with "for":0) revoke an override; answered into the session's out. */
enum proto_err agent_op_allow(struct op_call *c);

/* op guard: register the peer of the session as a guard for as long as it is open. */
enum proto_err agent_op_guard(struct op_call *c);

/* True while the process that registered s as a guard still runs (the sweep closes it else). */
bool agent_guard_alive(const struct session *s);

/* s is closing: a guard it registered is forgotten. */
void agent_session_closed(struct keyd *k, const struct session *s);

/* Append "agents":{…} to a status reply for s: the guard, its policy, guards, overrides. */
void agent_report(struct keyd *k, struct session *s, struct buf *out);

#endif
