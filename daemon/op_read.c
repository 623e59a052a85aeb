/*
 * The ops answered at once from the committed store and the daemon's state:
 * hello, get, use, resolve, list and status (their rows are in ops.c). Each
 * appends its whole reply, success or error, to the session's output.
 */
#include "ops.h"

#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "keyd.h"
#include "mask.h"
#include "origin.h"
#include "proof.h"
#include "proto.h"
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
enum proto_err
op_hello(struct op_call *c)
{
	struct buf *out = &c->s->out;
	const struct proto_request *req = c->req;
	struct keyd *k = c->k;

	proto_reply_begin(out, req->id);
	proto_field_str(out, "server", "ccr-keyd", 8);
	proto_field_str(out, "version", CCR_KEYD_VERSION, strlen(CCR_KEYD_VERSION));
	proto_field_int(out, "protocol", PROTO_VERSION);
	proto_field_bool(out, "locked", state_locked(k));
	proof_field(out, req->proof, k->opt.socket);
	proto_end(out);
	return PE_OK;
}

/* get: one key with its value, or with "masked":true its masked value. */
enum proto_err
op_get(struct op_call *c)
{
	struct buf *out = &c->s->out;
	const struct proto_request *req = c->req;
	struct keyd *k = c->k;
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
 * request). The key's name is the audit record's.
 */
enum proto_err
op_use(struct op_call *c)
{
	struct buf *out = &c->s->out;
	const struct proto_request *req = c->req;
	struct keyd *k = c->k;
	const struct entry *e =
	    req->name != NULL ? store_get(&k->store, req->name) : store_by_env(&k->store, req->env);

	if (e == NULL) {
		proto_reply_error(out, req->id, PE_NOT_FOUND,
		                  req->name != NULL ? "no key by that name"
		                                    : "no key has that env name");
		return PE_NOT_FOUND;
	}
	c->audited = e->name;
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
enum proto_err
op_resolve(struct op_call *c)
{
	struct buf *out = &c->s->out;
	const struct proto_request *req = c->req;
	struct keyd *k = c->k;
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
enum proto_err
op_list(struct op_call *c)
{
	struct buf *out = &c->s->out;
	const struct proto_request *req = c->req;
	struct keyd *k = c->k;
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
enum proto_err
op_status(struct op_call *c)
{
	struct keyd *k = c->k;
	struct session *s = c->s;
	const struct proto_request *req = c->req;
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
	proto_field_int(out, "writes", (long long)writer_writes(&k->writer));
	proto_field_int(out, "reloads", (long long)k->reloads);
	state_report(k, out);
	agent_report(k, s, out);
	proto_end(out);
	return PE_OK;
}
