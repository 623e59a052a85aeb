/*
 * What each op does. Reads are answered from the committed store at once;
 * set and delete become changes for the writer, and the session handles
 * nothing else until its change is answered (read-your-writes).
 */
#include "dispatch.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "audit.h"
#include "keyd.h"
#include "log.h"
#include "mask.h"
#include "proto.h"

/* Append the "updated" (or other) time member as an ISO 8601 string, or null when unknown. */
static void
field_time(struct buf *b, const char *key, int64_t t)
{
	char iso[KS_TIME_MAX];

	if (t <= 0) {
		proto_field_key(b, key);
		buf_adds(b, "null");
		return;
	}
	ks_time_format(t, iso);
	proto_field_str(b, key, iso, strlen(iso));
}

/* hello: who we are and whether we are locked. */
static void
op_hello(struct keyd *k, struct buf *out, const struct proto_request *req)
{
	proto_reply_begin(out, req->id);
	proto_field_str(out, "server", "ccr-keyd", 8);
	proto_field_str(out, "version", CCR_KEYD_VERSION, strlen(CCR_KEYD_VERSION));
	proto_field_int(out, "protocol", PROTO_VERSION);
	proto_field_bool(out, "locked", k->locked);
	proto_end(out);
}

/* get: one key with its value. */
static enum proto_err
op_get(struct keyd *k, struct buf *out, const struct proto_request *req)
{
	const struct entry *e = store_get(&k->store, req->name);

	if (e == NULL) {
		proto_reply_error(out, req->id, PE_NOT_FOUND, "no key by that name");
		return PE_NOT_FOUND;
	}
	proto_reply_begin(out, req->id);
	proto_field_str(out, "name", e->name, strlen(e->name));
	proto_field_str(out, "env", e->env, strlen(e->env));
	proto_field_str(out, "value", e->value, e->value_len);
	field_time(out, "updated", e->updated);
	proto_end(out);
	return PE_OK;
}

/* Append ENV:value to a resolve reply when the keystore has ENV. */
static void
resolve_one(struct keyd *k, struct buf *out, const char *env, int *n)
{
	const struct entry *e = store_by_env(&k->store, env);

	if (e == NULL)
		return;
	if ((*n)++ > 0)
		buf_addc(out, ',');
	buf_add_json(out, env, strlen(env));
	buf_addc(out, ':');
	buf_add_json(out, e->value, e->value_len);
}

/* resolve: values for the env names the keystore holds. */
static void
op_resolve(struct keyd *k, struct buf *out, const struct proto_request *req)
{
	const cJSON *e;
	int n = 0;

	proto_reply_begin(out, req->id);
	proto_field_key(out, "values");
	buf_addc(out, '{');
	if (req->envs == NULL) {
		resolve_one(k, out, req->env, &n);
	} else {
		cJSON_ArrayForEach(e, req->envs)
		{
			resolve_one(k, out, e->valuestring, &n);
		}
	}
	buf_addc(out, '}');
	proto_end(out);
}

/* list: every key, masked. */
static void
op_list(struct keyd *k, struct buf *out, const struct proto_request *req)
{
	size_t i, n;
	const struct entry **v = store_sorted(&k->store, &n);
	char masked[MASK_MAX];

	proto_reply_begin(out, req->id);
	proto_field_key(out, "keys");
	buf_addc(out, '[');
	for (i = 0; i < n; i++) {
		const struct entry *e = v[i];

		buf_adds(out, i == 0 ? "{\"name\":" : ",{\"name\":");
		buf_add_json(out, e->name, strlen(e->name));
		proto_field_str(out, "env", e->env, strlen(e->env));
		mask_value(e->value, e->value_len, masked);
		proto_field_str(out, "masked", masked, strlen(masked));
		field_time(out, "created", e->created);
		field_time(out, "updated", e->updated);
		buf_addc(out, '}');
	}
	buf_addc(out, ']');
	proto_end(out);
	free(v);
}

/* status: what a user asks when something is off. */
static void
op_status(struct keyd *k, struct buf *out, const struct proto_request *req)
{
	static const char *const modes[] = {
		[STARTED_BY_HAND] = "by hand",
		[STARTED_BY_CLIENT] = "by the client",
		[STARTED_BY_SOCKET] = "socket-activated",
	};

	proto_reply_begin(out, req->id);
	proto_field_int(out, "keys", (long long)store_count(&k->store));
	proto_field_str(out, "keystore", k->opt.keys, strlen(k->opt.keys));
	proto_field_str(out, "socket", k->opt.socket, strlen(k->opt.socket));
	proto_field_bool(out, "locked", k->locked);
	proto_field_bool(out, "sealed", k->sealed);
	proto_field_int(out, "uptime_s", (long long)((uv_now(k->loop) - k->started_ms) / 1000));
	proto_field_int(out, "connections", k->server.nsessions);
	proto_field_int(out, "pid", (long long)getpid());
	proto_field_str(out, "version", CCR_KEYD_VERSION, strlen(CCR_KEYD_VERSION));
	proto_field_str(out, "started", modes[k->started_by], strlen(modes[k->started_by]));
	proto_field_int(out, "writes", (long long)k->writer.writes);
	proto_end(out);
}

/* The names a request is about, for the audit log: its key name, or its env names joined. */
static const char *
audit_names(const struct proto_request *req, char *out, size_t size)
{
	const cJSON *e;
	size_t n = 0;

	if (req->op != OP_RESOLVE || req->envs == NULL)
		return req->op == OP_RESOLVE ? req->env : req->name;
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

/* The writer answered a change: reply to its session and let the session go on. */
static void
change_done(struct change *c)
{
	struct session *s = c->arg;

	if (c->result != PE_OK) {
		proto_reply_error(&s->out, c->id, c->result, c->message);
	} else {
		proto_reply_begin(&s->out, c->id);
		if (c->kind == CHANGE_SET) {
			proto_field_bool(&s->out, "created", c->created);
			proto_field_str(&s->out, "env", c->env, strlen(c->env));
		}
		proto_end(&s->out);
	}
	log_debug("%s %s by pid %ld: %s", c->kind == CHANGE_SET ? "set" : "delete", c->name,
		  (long)s->peer.pid, proto_err_name(c->result));
	audit_record(s->k->audit_fd, &s->peer, s->exe, c->kind == CHANGE_SET ? "set" : "delete",
		     c->name, proto_err_name(c->result));
	s->waiting = NULL;
	change_free(c, s->k->arena);
	session_resume(s);
}

void
dispatch_orphan(struct change *c)
{
	c->arg = NULL;
}

/* set and delete: hand a change to the writer; the session waits for it. */
static void
op_change(struct keyd *k, struct session *s, const struct proto_request *req)
{
	struct change *c = calloc(1, sizeof *c);

	if (c == NULL)
		abort();
	c->kind = req->op == OP_SET ? CHANGE_SET : CHANGE_DELETE;
	snprintf(c->name, sizeof c->name, "%s", req->name);
	snprintf(c->env, sizeof c->env, "%s", req->env != NULL ? req->env : "");
	snprintf(c->id, sizeof c->id, "%s", req->id);
	c->time = (int64_t)time(NULL);
	if (c->kind == CHANGE_SET) {
		c->value = arena_alloc(k->arena, req->value_len + 1);
		memcpy(c->value, req->value, req->value_len + 1);
		c->value_len = req->value_len;
	}
	c->done = change_done;
	c->arg = s;
	s->waiting = c;
	writer_submit(&k->writer, c);
}

void
dispatch_line(struct keyd *k, struct session *s, const char *line, size_t len)
{
	struct proto_request req;
	const char *msg = NULL;
	char names[512];
	enum proto_err err = proto_decode(line, len, &req, &msg);

	if (err != PE_OK) {
		proto_reply_error(&s->out, req.id, err, msg);
		goto done;
	}
	if (k->locked && req.op != OP_HELLO && req.op != OP_STATUS && req.op != OP_UNLOCK &&
	    req.op != OP_LOCK) {
		err = PE_LOCKED;
		proto_reply_error(&s->out, req.id, PE_LOCKED,
				  "the keystore is locked; run: ccr-config unlock");
		goto done;
	}
	switch (req.op) {
	case OP_HELLO:
		op_hello(k, &s->out, &req);
		break;
	case OP_GET:
		err = op_get(k, &s->out, &req);
		break;
	case OP_RESOLVE:
		op_resolve(k, &s->out, &req);
		break;
	case OP_LIST:
		op_list(k, &s->out, &req);
		break;
	case OP_STATUS:
		op_status(k, &s->out, &req);
		break;
	case OP_SET:
	case OP_DELETE:
		if (k->stopping) {
			err = PE_BUSY;
			proto_reply_error(&s->out, req.id, PE_BUSY, "ccr-keyd is shutting down");
			break;
		}
		op_change(k, s, &req);
		proto_request_free(&req);
		return; /* audited when answered */
	default:
		err = PE_UNKNOWN_OP;
		proto_reply_error(&s->out, req.id, PE_UNKNOWN_OP,
				  "this ccr-keyd has no sealed keystore support yet");
		break;
	}
done:
	if (k->audit_fd != -1)
		audit_record(k->audit_fd, &s->peer, s->exe,
			     req.doc != NULL ? proto_op_name(req.op) : "invalid",
			     req.doc != NULL ? audit_names(&req, names, sizeof names) : NULL,
			     proto_err_name(err));
	proto_request_free(&req);
}
