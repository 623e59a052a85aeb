/*
 * What each op does. state_allows says first whether it may run now. Reads
 * are answered from the committed store at once; set and delete become
 * changes for the writer, unlock and passphrase jobs for the vault, lock a
 * wait for the wipe; the session handles nothing else until its change is
 * answered (read-your-writes, and a lock's reply is true when it is sent).
 */
#include "dispatch.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "agent.h"
#include "audit.h"
#include "keyd.h"
#include "log.h"
#include "mask.h"
#include "origin.h"
#include "proof.h"
#include "proto.h"
#include "scratch.h"
#include "table.h"

/* Append a time member from its preformatted ISO 8601 string, or null when unknown. */
static void
field_time(struct buf *b, const char *key, const char *iso)
{
	if (iso[0] == '\0') {
		proto_field_key(b, key);
		buf_adds(b, "null");
		return;
	}
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
	proto_field_bool(out, "locked", state_locked(k));
	proof_field(out, req->proof, k->opt.socket);
	proto_end(out);
}

/* get: one key with its value, or with "masked":true its masked value. */
static enum proto_err
op_get(struct keyd *k, struct buf *out, const struct proto_request *req)
{
	const struct entry *e = store_get(&k->store, req->name);

	if (e == NULL) {
		proto_reply_error(out, req->id, PE_NOT_FOUND, "no key by that name");
		return PE_NOT_FOUND;
	}
	if (!req->masked)
		vault_touch(&k->vault); /* it reveals a value: a use */
	proto_reply_begin(out, req->id);
	proto_field_str(out, "name", e->name, strlen(e->name));
	proto_field_str(out, "env", e->env, strlen(e->env));
	if (req->masked) {
		char masked[MASK_MAX];

		mask_value(e->value, e->value_len, masked);
		proto_field_str(out, "masked", masked, strlen(masked));
	} else {
		proto_field_str(out, "value", e->value, e->value_len);
	}
	field_time(out, "updated", e->updated_iso);
	proto_field_list(out, "origins", e->origins);
	proto_end(out);
	return PE_OK;
}

/*
 * The denied reply of a use towards an origin the key is not bound to: the
 * key, the origin, and the command that would allow it.
 */
static void
use_denied(struct buf *out, const struct proto_request *req, const struct entry *e)
{
	const char *p = e->origins, *o;
	struct buf msg = {0};
	size_t len;

	if (e->origins[0] == '\0') {
		buf_adds(&msg, "key '");
		buf_adds(&msg, e->name);
		buf_adds(&msg, "' is bound to no origin; run: ccr config bind ");
		buf_adds(&msg, e->name);
		buf_addc(&msg, ' ');
		buf_adds(&msg, req->origin);
	} else {
		buf_adds(&msg, "key '");
		buf_adds(&msg, e->name);
		buf_adds(&msg, "' is bound to ");
		while ((o = origin_list_next(&p, &len)) != NULL) {
			if (o != e->origins)
				buf_adds(&msg, ", ");
			buf_add(&msg, o, len);
		}
		buf_adds(&msg, ", not ");
		buf_adds(&msg, req->origin);
		buf_adds(&msg, "; to allow it run: ccr config bind ");
		buf_adds(&msg, e->name);
		buf_adds(&msg, " --add ");
		buf_adds(&msg, req->origin);
	}
	buf_adds(out, "{\"ok\":false");
	if (req->id[0] != '\0') {
		buf_adds(out, ",\"id\":");
		buf_adds(out, req->id);
	}
	proto_field_str(out, "error", "denied", 6);
	proto_field_str(out, "name", e->name, strlen(e->name));
	proto_field_str(out, "origin", req->origin, strlen(req->origin));
	if (e->origins[0] == '\0')
		proto_field_bool(out, "unbound", true);
	proto_field_str(out, "message", msg.data, msg.len);
	proto_end(out);
	buf_free(&msg);
}

/*
 * use: a key's value for a request to req->origin, given only when the key is
 * bound to that origin (the router's preload asks it for each upstream
 * request). *name is the key's name, for the audit record.
 */
static enum proto_err
op_use(struct keyd *k, struct buf *out, const struct proto_request *req, const char **name)
{
	const struct entry *e =
	    req->name != NULL ? store_get(&k->store, req->name) : store_by_env(&k->store, req->env);

	if (e == NULL) {
		proto_reply_error(out, req->id, PE_NOT_FOUND,
		                  req->name != NULL ? "no key by that name"
		                                    : "no key has that env name");
		return PE_NOT_FOUND;
	}
	*name = e->name;
	if (!origin_list_has(e->origins, req->origin)) {
		use_denied(out, req, e);
		return PE_DENIED;
	}
	vault_touch(&k->vault); /* it reveals a value, as get does */
	proto_reply_begin(out, req->id);
	proto_field_str(out, "name", e->name, strlen(e->name));
	proto_field_str(out, "env", e->env, strlen(e->env));
	proto_field_str(out, "value", e->value, e->value_len);
	proto_end(out);
	return PE_OK;
}

/*
 * Replies that may be large (resolve, up to 1 MiB; list, as long as the
 * keystore makes it) are refused with busy while the daemon already holds more
 * than this of replies its peers have not read: each connection is bounded by
 * the output limit, and this bounds them together (256 peers asking for a
 * list of 10,000 keys and never reading took 337 MiB).
 */
#define HELD_BUDGET (64u * 1024 * 1024)

/* PE_OK, or busy (answered into out) while unread replies pass HELD_BUDGET. */
static enum proto_err
held_check(struct keyd *k, struct buf *out, const struct proto_request *req)
{
	const struct session *s;
	size_t held = 0;
	char msg[160];

	for (s = k->server.sessions; s != NULL; s = s->next)
		held += s->queued + s->out.len;
	if (held <= HELD_BUDGET)
		return PE_OK;
	snprintf(msg, sizeof msg,
		 "ccr-keyd holds %zu MiB of replies that other connections have not read yet; "
		 "try again",
		 held >> 20);
	proto_reply_error(out, req->id, PE_BUSY, msg);
	return PE_BUSY;
}

/*
 * The entries a resolve answers: each env name the keystore holds, once
 * however often the request names it, into hits (room for every name).
 * Returns how many, and the bytes their "ENV":value members take in *size.
 */
static size_t
resolve_hits(struct keyd *k, const struct proto_request *req, const struct entry **hits,
	     size_t *size)
{
	const cJSON *e = req->envs != NULL ? req->envs->child : NULL;
	const char *env = req->envs != NULL ? (e != NULL ? e->valuestring : NULL) : req->env;
	struct table seen;
	size_t n = 0;

	table_init(&seen);
	*size = 0;
	while (env != NULL) {
		const struct entry *hit = table_get(&seen, env) == NULL ? store_by_env(&k->store, env)
									 : NULL;

		table_put(&seen, env, (void *)env);
		if (hit != NULL) {
			hits[n++] = hit;
			*size += (n > 1) + buf_json_len(env, strlen(env)) + 1 +
				 buf_json_len(hit->value, hit->value_len);
		}
		e = e != NULL ? e->next : NULL;
		env = e != NULL ? e->valuestring : NULL;
	}
	table_free(&seen);
	return n;
}

/*
 * resolve: values for the env names the keystore holds, each once. A reply
 * that would pass the output limit is refused with too_large before a value
 * is copied: one 57 KB request naming a 16 KiB key 4096 times would otherwise
 * take 64 MiB, and a few hundred such peers the machine's memory.
 */
static enum proto_err
op_resolve(struct keyd *k, struct buf *out, const struct proto_request *req)
{
	size_t names = req->envs != NULL ? (size_t)cJSON_GetArraySize(req->envs) : 1;
	const struct entry **hits = calloc(names > 0 ? names : 1, sizeof *hits);
	struct buf head = {0};
	size_t i, n, size, total;
	char msg[160];

	if (hits == NULL)
		abort();
	if (held_check(k, out, req) != PE_OK) {
		free(hits);
		return PE_BUSY;
	}
	n = resolve_hits(k, req, hits, &size);
	proto_reply_begin(&head, req->id);
	proto_field_key(&head, "values");
	total = head.len + 1 + size + 3; /* {…}}\n */
	buf_free(&head);
	if (total > SERVER_OUT_LIMIT) {
		free(hits);
		snprintf(msg, sizeof msg,
			 "the values would make a reply of %zu bytes, more than the %d a reply "
			 "may be; ask for fewer names at a time",
			 total, SERVER_OUT_LIMIT);
		proto_reply_error(out, req->id, PE_TOO_LARGE, msg);
		return PE_TOO_LARGE;
	}
	if (n > 0)
		vault_touch(&k->vault); /* it reveals a value: a use */
	proto_reply_begin(out, req->id);
	proto_field_key(out, "values");
	buf_addc(out, '{');
	for (i = 0; i < n; i++) {
		if (i > 0)
			buf_addc(out, ',');
		buf_add_json(out, hits[i]->env, strlen(hits[i]->env));
		buf_addc(out, ':');
		buf_add_json(out, hits[i]->value, hits[i]->value_len);
	}
	buf_addc(out, '}');
	proto_end(out);
	free(hits);
	return PE_OK;
}

/*
 * list: every key, masked. Its length is the keystore's (about 130 bytes a
 * key), never the request's, so it is not held to the 1 MiB of a resolve: a
 * list of 100,000 keys is one 13 MB reply. held_check bounds many of them.
 */
static enum proto_err
op_list(struct keyd *k, struct buf *out, const struct proto_request *req)
{
	size_t i, n;
	const struct entry **v;
	char masked[MASK_MAX], created[KS_TIME_MAX];

	if (held_check(k, out, req) != PE_OK)
		return PE_BUSY;
	v = store_sorted(&k->store, &n);

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
		if (e->created > 0)
			ks_time_format(e->created, created);
		field_time(out, "created", e->created > 0 ? created : "");
		field_time(out, "updated", e->updated_iso);
		proto_field_list(out, "origins", e->origins);
		buf_addc(out, '}');
	}
	buf_addc(out, ']');
	proto_end(out);
	free(v);
	return PE_OK;
}

/* status: what a user asks when something is off. */
static void
op_status(struct keyd *k, struct session *s, const struct proto_request *req)
{
	struct buf *out = &s->out;
	static const char *const modes[] = {
		[STARTED_BY_HAND] = "by hand",
		[STARTED_BY_CLIENT] = "by the client",
		[STARTED_BY_SOCKET] = "socket-activated",
	};
	const char *state = state_name(k->state.now);
	int64_t hard_ms, idle_ms;

	vault_lock_times(&k->vault, &hard_ms, &idle_ms);
	proto_reply_begin(out, req->id);
	proto_field_int(out, "keys", (long long)store_count(&k->store));
	proto_field_str(out, "keystore", k->opt.keys, strlen(k->opt.keys));
	proto_field_str(out, "socket", k->opt.socket, strlen(k->opt.socket));
	proto_field_bool(out, "locked", state_locked(k));
	proto_field_bool(out, "sealed", state_sealed(k));
	proto_field_str(out, "state", state, strlen(state));
	if (hard_ms >= 0)
		proto_field_int(out, "expires_in_ms", hard_ms);
	if (idle_ms >= 0)
		proto_field_int(out, "idle_lock_in_ms", idle_ms);
	proto_field_int(out, "uptime_s", (long long)((uv_now(k->loop) - k->started_ms) / 1000));
	proto_field_int(out, "connections", k->server.nsessions);
	proto_field_int(out, "pid", (long long)getpid());
	proto_field_str(out, "version", CCR_KEYD_VERSION, strlen(CCR_KEYD_VERSION));
	proto_field_str(out, "started", modes[k->started_by], strlen(modes[k->started_by]));
	proto_field_int(out, "writes", (long long)k->writer.writes);
	proto_field_int(out, "reloads", (long long)k->reloads);
	state_report(k, out);
	agent_report(k, s, out);
	proto_end(out);
}

/*
 * The names a request is about, for the audit log: its key name (a use or
 * bind by env name: the env name), or a resolve's env names joined.
 */
static const char *
audit_names(const struct proto_request *req, char *out, size_t size)
{
	const cJSON *e;
	size_t n = 0;

	if (req->op != OP_RESOLVE || req->envs == NULL)
		return req->op == OP_RESOLVE ||
		               ((req->op == OP_USE || req->op == OP_BIND) && req->name == NULL)
		           ? req->env
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
 * A change was answered: audit it, and reply to its session and let the
 * session go on, unless the peer hung up meanwhile (the change was made all
 * the same, so it is audited all the same).
 */
static void
change_done(struct change *c)
{
	struct session *s = c->arg;
	struct keyd *k = c->k;
	const char *op = proto_op_name(c->op);
	char both[2 * NAME_MAX_LEN + 2];

	if (s != NULL && c->result != PE_OK) {
		proto_reply_error(&s->out, c->id, c->result, c->message);
	} else if (s != NULL) {
		proto_reply_begin(&s->out, c->id);
		if (c->kind == CHANGE_SET) {
			proto_field_bool(&s->out, "created", c->created);
			proto_field_str(&s->out, "env", c->env, strlen(c->env));
			proto_field_list(&s->out, "origins", c->origins);
		} else if (c->kind == CHANGE_RENAME) {
			proto_field_str(&s->out, "name", c->new_name, strlen(c->new_name));
			proto_field_str(&s->out, "env", c->env, strlen(c->env));
		} else if (c->kind == CHANGE_BIND) {
			proto_field_str(&s->out, "name", c->name, strlen(c->name));
			proto_field_str(&s->out, "env", c->env, strlen(c->env));
			proto_field_list(&s->out, "origins", c->origins);
			proto_field_bool(&s->out, "changed", c->changed);
		} else if (c->kind == CHANGE_REKEY) {
			proto_field_bool(&s->out, "sealed", state_sealed(k));
		} else if (c->kind == CHANGE_UNLOCK) {
			proto_field_bool(&s->out, "locked", state_locked(k));
		} else if (c->kind == CHANGE_LOCK) {
			proto_field_bool(&s->out, "locked", true);
		}
		proto_end(&s->out);
	}
	log_debug("%s%s%s by pid %ld: %s%s", op, c->name[0] != '\0' ? " " : "", c->name,
	          (long)c->peer.pid, proto_err_name(c->result), s == NULL ? " (peer gone)" : "");
	if (c->kind == CHANGE_RENAME) /* the record names both: "old,new" */
		snprintf(both, sizeof both, "%s,%s", c->name, c->new_name);
	audit_record(k->audit_fd, &c->peer, op,
	             c->kind == CHANGE_RENAME                      ? both
	             : c->name[0] != '\0'                          ? c->name
	             : c->kind == CHANGE_BIND && c->env[0] != '\0' ? c->env
	                                                           : NULL,
	             NULL, proto_err_name(c->result));
	change_free(c, k->arena);
	if (s != NULL) {
		s->waiting = NULL;
		session_resume(s);
	}
}

void
dispatch_orphan(struct change *c)
{
	c->arg = NULL;
}

/*
 * A change for req, answered through change_done; the session waits for it.
 * It carries who asked and for what from here on, for the audit record.
 */
static struct change *
change_new(struct keyd *k, struct session *s, const struct proto_request *req,
	   enum change_kind kind)
{
	struct change *c = calloc(1, sizeof *c);

	if (c == NULL)
		abort();
	c->kind = kind;
	c->op = req->op;
	c->peer = s->peer;
	c->k = k;
	snprintf(c->id, sizeof c->id, "%s", req->id);
	/* Only the ops that use a passphrase carry one into secret memory; lock takes none. */
	if (req->value != NULL && (kind == CHANGE_UNLOCK || kind == CHANGE_REKEY)) {
		c->value_len = req->value_len;
		c->value = arena_alloc(k->arena, c->value_len + 1);
		memcpy(c->value, req->value, c->value_len + 1);
	}
	if (req->new_value != NULL && kind == CHANGE_REKEY) {
		c->value2_len = strlen(req->new_value);
		c->value2 = arena_alloc(k->arena, c->value2_len + 1);
		memcpy(c->value2, req->new_value, c->value2_len + 1);
	}
	c->seconds = req->seconds;
	c->done = change_done;
	c->arg = s;
	s->waiting = c;
	return c;
}

/* Reply {"ok":true,"locked":false|true} at once. */
static void
reply_locked(struct keyd *k, struct session *s, const struct proto_request *req)
{
	proto_reply_begin(&s->out, req->id);
	proto_field_bool(&s->out, "locked", state_locked(k));
	proto_end(&s->out);
}

/*
 * unlock: open the sealed keystore with a passphrase, off the loop. Once
 * unlocked, a passphrase renews the unlock (its "for" replaces the hard
 * limit); without one, "for" may only bring the hard limit forward.
 */
static enum proto_err
op_unlock(struct keyd *k, struct session *s, const struct proto_request *req)
{
	bool with_value = req->value != NULL && req->value_len > 0;
	struct change *c;

	if (!with_value && !state_locked(k)) {
		if (req->seconds > 0)
			vault_shorten(&k->vault, req->seconds);
		reply_locked(k, s, req);
		return PE_OK;
	}
	if (!with_value) {
		proto_reply_error(&s->out, req->id, PE_BAD_REQUEST, "unlock needs \"value\"");
		return PE_BAD_REQUEST;
	}
	c = change_new(k, s, req, CHANGE_UNLOCK);
	if (k->state.now == STATE_LOCKED) {
		vault_unlock(&k->vault, c);
	} else if (k->state.now == STATE_LOCKING) {
		state_defer_unlock(k, c); /* starts once the wipe is done */
	} else {
		c->action = VAULT_RENEW;
		vault_passphrase(&k->vault, c);
	}
	return PE_COUNT; /* answered later */
}

/* lock: answer locked from now on; reply once the key and values are wiped. */
static enum proto_err
op_lock(struct keyd *k, struct session *s, const struct proto_request *req)
{
	if (k->state.now == STATE_LOCKED) {
		reply_locked(k, s, req);
		return PE_OK;
	}
	state_lock(k, change_new(k, s, req, CHANGE_LOCK));
	return PE_COUNT;
}

/* passphrase: set, change or remove the passphrase that seals the keystore. */
static enum proto_err
op_passphrase(struct keyd *k, struct session *s, const struct proto_request *req)
{
	const char *a = req->action != NULL ? req->action : "";
	int action = strcmp(a, "set") == 0	  ? VAULT_SET
		     : strcmp(a, "change") == 0 ? VAULT_CHANGE
		     : strcmp(a, "remove") == 0 ? VAULT_REMOVE
						  : -1;
	const char *msg = NULL;
	struct change *c;

	if (action == -1)
		msg = "passphrase needs \"action\": set, change or remove";
	else if (action == VAULT_SET && state_sealed(k))
		msg = "the keystore already has a passphrase; use: ccr-config passphrase change";
	else if (action != VAULT_SET && !state_sealed(k))
		msg = "the keystore has no passphrase; set one with: ccr-config passphrase set";
	else if (action == VAULT_SET && (req->new_value == NULL || req->new_value[0] == '\0'))
		msg = "passphrase set needs a non-empty \"new_value\"";
	else if (action == VAULT_CHANGE && (req->new_value == NULL || req->new_value[0] == '\0'))
		msg = "passphrase change needs a non-empty \"new_value\"";
	else if (action != VAULT_SET && (req->value == NULL || req->value[0] == '\0'))
		msg = "passphrase change and remove need the current one as \"value\"";
	if (msg != NULL) {
		proto_reply_error(&s->out, req->id, PE_BAD_REQUEST, msg);
		return PE_BAD_REQUEST;
	}
	c = change_new(k, s, req, CHANGE_REKEY);
	c->action = action;
	if (action == VAULT_SET) {
		/* The new passphrase travels as value2 in every action. */
		c->value = c->value2;
		c->value_len = c->value2_len;
		c->value2 = NULL;
		c->value2_len = 0;
	}
	vault_passphrase(&k->vault, c);
	return PE_COUNT;
}

/* set, bind and delete: hand a change to the writer; the session waits for it. */
static void
op_change(struct keyd *k, struct session *s, const struct proto_request *req)
{
	struct change *c = change_new(k, s, req,
	                              req->op == OP_SET      ? CHANGE_SET
	                              : req->op == OP_BIND   ? CHANGE_BIND
	                              : req->op == OP_RENAME ? CHANGE_RENAME
	                                                     : CHANGE_DELETE);

	snprintf(c->name, sizeof c->name, "%s", req->name != NULL ? req->name : "");
	snprintf(c->env, sizeof c->env, "%s", req->env != NULL ? req->env : "");
	snprintf(c->new_name, sizeof c->new_name, "%s", req->new_name != NULL ? req->new_name : "");
	snprintf(c->origins, sizeof c->origins, "%s", req->origins);
	c->has_origins = req->has_origins;
	c->env_confirmed = req->env_confirmed;
	c->action = (int)req->mode;
	c->time = (int64_t)time(NULL);
	if (c->kind == CHANGE_SET) {
		c->value = arena_alloc(k->arena, req->value_len + 1);
		memcpy(c->value, req->value, req->value_len + 1);
		c->value_len = req->value_len;
	}
	writer_submit(&k->writer, c);
}

/*
 * True when req changes the keystore: such a use restarts --lock-after's
 * clock here; a get, use or resolve restarts it only when it reveals a value
 * (op_get, op_use, op_resolve). A list, a masked get, or asking for a name
 * the keystore does not hold reveals nothing, so an agent that polls them
 * cannot keep the keystore unlocked for ever.
 */
static bool
changes_keys(struct keyd *k, const struct proto_request *req)
{
	switch (req->op) {
	case OP_DELETE:
	case OP_RENAME:
		return store_get(&k->store, req->name) != NULL;
	case OP_SET:
	case OP_PASSPHRASE:
		return true;
	default:
		return false;
	}
}

void
dispatch_line(struct keyd *k, struct session *s, const char *line, size_t len)
{
	struct proto_request req;
	const char *msg = NULL;
	const char *audited = NULL; /* use: the key's name, for the audit record */
	char names[512];
	enum proto_err err;

	scratch_begin();
	err = proto_decode(line, len, &req, &msg);

	if (err != PE_OK) {
		proto_reply_error(&s->out, req.id, err, msg);
		goto done;
	}
	/* The two gates: what the daemon's state allows now, and what a coding agent may do. */
	err = state_allows(k, req.op, req.value != NULL && req.value_len > 0, &msg);
	if (err == PE_OK)
		err = agent_allows(k, s, &req, &msg);
	if (err != PE_OK) {
		proto_reply_error(&s->out, req.id, err, msg);
		goto done;
	}
	if (changes_keys(k, &req))
		vault_touch(&k->vault);
	switch (req.op) {
	case OP_HELLO:
		op_hello(k, &s->out, &req);
		break;
	case OP_UNLOCK:
		err = op_unlock(k, s, &req);
		break;
	case OP_LOCK:
		err = op_lock(k, s, &req);
		break;
	case OP_PASSPHRASE:
		err = op_passphrase(k, s, &req);
		break;
	case OP_GET:
		err = op_get(k, &s->out, &req);
		break;
	case OP_USE:
		err = op_use(k, &s->out, &req, &audited);
		break;
	case OP_RESOLVE:
		err = op_resolve(k, &s->out, &req);
		break;
	case OP_LIST:
		err = op_list(k, &s->out, &req);
		break;
	case OP_STATUS:
		op_status(k, s, &req);
		break;
	case OP_ALLOW:
		err = agent_op_allow(k, s, &req);
		break;
	case OP_GUARD:
		err = agent_op_guard(k, s, &req);
		break;
	case OP_SET:
	case OP_BIND:
	case OP_DELETE:
	case OP_RENAME:
		op_change(k, s, &req);
		proto_request_free(&req);
		scratch_end();
		return; /* audited when answered */
	default:
		err = PE_UNKNOWN_OP;
		proto_reply_error(&s->out, req.id, PE_UNKNOWN_OP, "unknown op");
		break;
	}
done:
	if (err == PE_COUNT) {
		/* answered and audited when the job finishes */
	} else if (k->audit_fd != -1)
		audit_record(k->audit_fd, &s->peer,
		             req.doc == NULL      ? "invalid"
		             : req.op == OP_COUNT ? "unknown"
		                                  : proto_op_name(req.op),
		             audited != NULL ? audited
		             : req.doc != NULL && req.op != OP_COUNT
		                 ? audit_names(&req, names, sizeof names)
		                 : NULL,
		             req.op == OP_USE && req.origin[0] != '\0' ? req.origin : NULL,
		             proto_err_name(err));
	proto_request_free(&req);
	scratch_end();
}
