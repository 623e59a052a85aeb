/*
 * The ops answered later: set, bind, delete and rename become changes for
 * the writer, unlock and passphrase jobs for the vault, lock a wait for the
 * wipe (their rows are in ops.c). The session handles nothing else until its
 * change is answered (read-your-writes, and a lock's reply is true when it is
 * sent); change_done replies and audits.
 */
#include "ops.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "audit.h"
#include "dispatch.h"
#include "keyd.h"
#include "log.h"
#include "proto.h"

/*
 * Who asked for a change, and for what, as the request came: the reply and
 * the audit record need them to the end. A change's reply.arg.
 */
struct asker {
	struct keyd *k;
	struct session *s; /* NULL once the peer hung up */
	enum proto_op op;
	struct peer peer;
};

/* The name a change's log line and audit record give first: its key's, "" for none. */
static const char *
key_name(const struct change *c)
{
	return change_has_key(c) ? c->key.name : "";
}

/*
 * A change was answered: audit it, and reply to its session and let the
 * session go on, unless the peer hung up meanwhile (the change was made all
 * the same, so it is audited all the same).
 */
static void
change_done(struct change *c)
{
	struct asker *a = c->reply.arg;
	struct session *s = a->s;
	struct keyd *k = a->k;
	const struct key_change *key = &c->key;
	const char *op = proto_op_name(a->op), *name = key_name(c);
	char both[2 * NAME_MAX_LEN + 2];

	if (s != NULL && c->reply.result != PE_OK) {
		proto_reply_error(&s->out, c->reply.id, c->reply.result, c->reply.message);
	} else if (s != NULL) {
		proto_reply_begin(&s->out, c->reply.id);
		if (c->kind == CHANGE_SET) {
			proto_field_bool(&s->out, "created", key->set.created);
			proto_field_str(&s->out, "env", key->env, strlen(key->env));
			proto_field_list(&s->out, "origins", key->origins);
		} else if (c->kind == CHANGE_RENAME) {
			proto_field_str(&s->out, "name", key->rename.new_name,
			                strlen(key->rename.new_name));
			proto_field_str(&s->out, "env", key->env, strlen(key->env));
		} else if (c->kind == CHANGE_BIND) {
			proto_field_str(&s->out, "name", key->name, strlen(key->name));
			proto_field_str(&s->out, "env", key->env, strlen(key->env));
			proto_field_list(&s->out, "origins", key->origins);
			proto_field_bool(&s->out, "changed", key->bind.changed);
		} else if (c->kind == CHANGE_REKEY) {
			proto_field_bool(&s->out, "sealed", state_sealed(k));
		} else if (c->kind == CHANGE_UNLOCK) {
			proto_field_bool(&s->out, "locked", state_locked(k));
		} else if (c->kind == CHANGE_LOCK) {
			proto_field_bool(&s->out, "locked", true);
		}
		proto_end(&s->out);
	}
	log_debug("%s%s%s by pid %ld: %s%s", op, name[0] != '\0' ? " " : "", name,
	          (long)a->peer.pid, proto_err_name(c->reply.result),
	          s == NULL ? " (peer gone)" : "");
	if (c->kind == CHANGE_RENAME) /* the record names both: "old,new" */
		snprintf(both, sizeof both, "%s,%s", key->name, key->rename.new_name);
	audit_record(k->audit_fd, &a->peer, op,
	             c->kind == CHANGE_RENAME                        ? both
	             : name[0] != '\0'                               ? name
	             : c->kind == CHANGE_BIND && key->env[0] != '\0' ? key->env
	                                                             : NULL,
	             NULL, proto_err_name(c->reply.result));
	change_free(c, k->arena);
	free(a);
	if (s != NULL) {
		s->waiting = NULL;
		session_resume(s);
	}
}

void
dispatch_orphan(struct change *c)
{
	struct asker *a = c->reply.arg;

	a->s = NULL;
}

/* A copy of text (len bytes and its NUL) in secret memory, its length in *out_len. */
static char *
secret_copy(struct keyd *k, const char *text, size_t len, size_t *out_len)
{
	char *copy = arena_alloc(k->arena, len + 1);

	memcpy(copy, text, len + 1);
	*out_len = len;
	return copy;
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
	struct asker *a = calloc(1, sizeof *a);

	if (c == NULL || a == NULL)
		abort();
	c->kind = kind;
	a->k = k;
	a->s = s;
	a->op = req->op;
	a->peer = s->peer;
	snprintf(c->reply.id, sizeof c->reply.id, "%s", req->id);
	/* Only the ops that use a passphrase carry one into secret memory; lock takes none. */
	if (kind == CHANGE_UNLOCK || kind == CHANGE_REKEY) {
		if (req->value != NULL)
			c->seal.passphrase =
			    secret_copy(k, req->value, req->value_len, &c->seal.passphrase_len);
		if (req->new_value != NULL && kind == CHANGE_REKEY)
			c->seal.new_passphrase = secret_copy(
			    k, req->new_value, strlen(req->new_value), &c->seal.new_passphrase_len);
		c->seal.seconds = req->seconds;
	}
	c->reply.done = change_done;
	c->reply.arg = a;
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
enum proto_err
op_unlock(struct op_call *call)
{
	struct keyd *k = call->k;
	struct session *s = call->s;
	const struct proto_request *req = call->req;
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
		c->seal.action = VAULT_RENEW;
		vault_passphrase(&k->vault, c);
	}
	return PE_COUNT; /* answered later */
}

/* lock: answer locked from now on; reply once the key and values are wiped. */
enum proto_err
op_lock(struct op_call *c)
{
	struct keyd *k = c->k;
	struct session *s = c->s;
	const struct proto_request *req = c->req;

	if (k->state.now == STATE_LOCKED) {
		reply_locked(k, s, req);
		return PE_OK;
	}
	state_lock(k, change_new(k, s, req, CHANGE_LOCK));
	return PE_COUNT;
}

/* passphrase: set, change or remove the passphrase that seals the keystore. */
enum proto_err
op_passphrase(struct op_call *call)
{
	struct keyd *k = call->k;
	struct session *s = call->s;
	const struct proto_request *req = call->req;
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
	c->seal.action = action;
	vault_passphrase(&k->vault, c);
	return PE_COUNT;
}

enum proto_err
op_write(struct op_call *call, enum change_kind kind)
{
	struct keyd *k = call->k;
	const struct proto_request *req = call->req;
	struct change *c = change_new(k, call->s, req, kind);
	struct key_change *key = &c->key;

	snprintf(key->name, sizeof key->name, "%s", req->name != NULL ? req->name : "");
	snprintf(key->env, sizeof key->env, "%s", req->env != NULL ? req->env : "");
	snprintf(key->origins, sizeof key->origins, "%s", req->origins);
	if (kind == CHANGE_SET) {
		key->set.value = secret_copy(k, req->value, req->value_len, &key->set.value_len);
		key->set.time = (int64_t)time(NULL);
		key->set.has_origins = req->has_origins;
		key->set.env_confirmed = req->env_confirmed;
	} else if (kind == CHANGE_BIND) {
		key->bind.mode = req->mode;
	} else if (kind == CHANGE_RENAME) {
		snprintf(key->rename.new_name, sizeof key->rename.new_name, "%s",
		         req->new_name != NULL ? req->new_name : "");
	}
	writer_submit(&k->writer, c);
	return PE_COUNT; /* answered and audited when durable */
}
