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
#include "keyd.h"
#include "log.h"
#include "proto.h"

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
		c->action = VAULT_RENEW;
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

enum proto_err
op_write(struct op_call *call, enum change_kind kind)
{
	struct keyd *k = call->k;
	const struct proto_request *req = call->req;
	struct change *c = change_new(k, call->s, req, kind);

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
	return PE_COUNT; /* answered and audited when durable */
}
