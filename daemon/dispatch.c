/*
 * One request line through its op's row (ops.c): decode it, ask the state
 * machine and the agent guard whether it may run now, restart --lock-after's
 * clock when it changes keys, run its handler or queue its change to the
 * writer, and audit what was answered at once.
 */
#include "dispatch.h"

#include <stdio.h>

#include <cjson/cJSON.h>

#include "agent.h"
#include "audit.h"
#include "keyd.h"
#include "ops.h"
#include "proto.h"
#include "scratch.h"

/*
 * The names a request is about, for the audit log, as its row says: its key
 * name (a use or bind by env name: the env name), or a resolve's env names
 * joined.
 */
static const char *
audit_names(const struct proto_request *req, enum op_names names, char *out, size_t size)
{
	const cJSON *e;
	size_t n = 0;

	if (names != NAMES_ENVS || req->envs == NULL)
		return names == NAMES_ENVS || (names == NAMES_KEY && req->name == NULL) ? req->env
		                                                                        : req->name;
	out[0] = '\0';
	cJSON_ArrayForEach(e, req->envs)
	{
		int m = snprintf(out + n, size - n, "%s%s", n > 0 ? "," : "", e->valuestring);

		if (m < 0 || (size_t)m >= size - n)
			break;
		n += (size_t)m;
	}
	return out;
}

/*
 * True when req changes the keystore: such a use restarts --lock-after's
 * clock here; a get, use or resolve restarts it only when it reveals a value
 * (op_get, op_use, op_resolve). A list, a masked get, or asking for a name
 * the keystore does not hold reveals nothing, so an agent that polls them
 * cannot keep the keystore unlocked for ever.
 */
static bool
changes_keys(struct keyd *k, const struct proto_request *req, enum op_touch touch)
{
	return touch == TOUCH_ALWAYS ||
	       (touch == TOUCH_IF_NAMED && store_get(&k->store, req->name) != NULL);
}

/* Record a request answered at once (not one answered later, when its change is). */
static void
audit_answered(struct keyd *k, struct session *s, const struct proto_request *req,
               const struct op_entry *op, const char *audited, enum proto_err err)
{
	char names[512];

	if (k->audit_fd == -1)
		return;
	audit_record(k->audit_fd, &s->peer,
	             op != NULL         ? proto_op_name(req->op)
	             : req->doc == NULL ? "invalid"
	                                : "unknown",
	             audited != NULL ? audited
	             : op != NULL    ? audit_names(req, op->names, names, sizeof names)
	                             : NULL,
	             req->origin[0] != '\0' ? req->origin : NULL, proto_err_name(err));
}

void
dispatch_line(struct keyd *k, struct session *s, const char *line, size_t len)
{
	struct proto_request req;
	struct op_call call = {.k = k, .s = s, .req = &req};
	const struct op_entry *op;
	const char *msg = NULL;
	enum proto_err err;

	scratch_begin();
	vault_enforce(&k->vault); /* a limit that passed locks before this request is judged */
	err = proto_decode(line, len, &req, &msg);
	op = ops_entry(req.op); /* NULL when the line names no known op */
	/* The two gates: what the daemon's state allows now, and what a coding agent may do. */
	if (err == PE_OK)
		err = state_allows(k, op->state, req.value != NULL && req.value_len > 0, &msg);
	if (err == PE_OK)
		err = agent_allows(k, s, &req, op, &msg);
	if (err != PE_OK) {
		proto_reply_error(&s->out, req.id, err, msg);
	} else {
		if (changes_keys(k, &req, op->touch))
			vault_touch(&k->vault);
		err = op->write ? op_write(&call, op->change) : op->run(&call);
	}
	if (err != PE_COUNT) /* else answered and audited when its change or job is done */
		audit_answered(k, s, &req, op, call.audited, err);
	proto_request_free(&req);
	scratch_end();
}
