/*
 * A client: one connection, random requests on its own four keys (set,
 * delete, get, list, resolve) and reads of other clients' keys, now and then
 * several pipelined in one write. Writes go only to its own keys, so each
 * key's history is sequential and every reply about it is checked exactly:
 * what it may hold is a set of candidates, one value normally, more only
 * after a reply was lost to a SIGKILL. Whether the keystore answers locked is
 * checked against the model's global state when no global change overlapped
 * the request, and allowed either way when one did.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "mask.h"
#include "model.h"

#define BATCH_MAX 4
#define REPLY_TIMEOUT_MS 60000

enum kind { K_SET, K_DELETE, K_GET, K_GET_OTHER, K_LIST, K_RESOLVE, K_HELLO, K_COUNT };

static const char *const kind_names[K_COUNT] = {"set", "delete", "get", "get-other", "list",
						"resolve", "hello"};
static const unsigned weights[K_COUNT] = {30, 8, 22, 10, 6, 12, 4};

/* One request of a batch. */
struct op {
	enum kind kind;
	int key;     /* own key */
	int oc, ok_; /* another client's key (get-other, resolve) */
	long seq;    /* set: the value's sequence number */
	long id;
};

/* The global state when a batch was sent. */
struct snap {
	uint64_t ver;
	enum gmode mode;
	bool unsure;
	int64_t hard_lo;
};

/* Pick a kind of request by weight. */
static enum kind
pick_kind(struct rng *r)
{
	unsigned total = 0, i, x;

	for (i = 0; i < K_COUNT; i++)
		total += weights[i];
	x = rng_below(r, total);
	for (i = 0; x >= weights[i]; i++)
		x -= weights[i];
	return (enum kind)i;
}

/* Plan one request and append its line to req (caller holds mu). */
static void
plan(struct actor *a, struct op *op, struct buf *req)
{
	struct world *w = a->w;
	struct mkey *own = w->keys[a->id];
	char line[512];
	int i;

	op->kind = pick_kind(&a->rng);
	op->key = (int)rng_below(&a->rng, MODEL_KEYS);
	op->oc = (int)rng_below(&a->rng, (unsigned)w->nclients);
	op->ok_ = (int)rng_below(&a->rng, MODEL_KEYS);
	op->id = ++a->next_id;
	switch (op->kind) {
	case K_SET:
		op->seq = ++own[op->key].sent;
		snprintf(line, sizeof line, "{\"op\":\"set\",\"id\":%ld,\"name\":\"%s\",\"value\":\"",
			 op->id, own[op->key].name);
		buf_adds(req, line);
		value_make(w, own[op->key].name, op->seq, req);
		buf_adds(req, "\"}\n");
		return;
	case K_DELETE:
	case K_GET:
	case K_GET_OTHER:
		snprintf(line, sizeof line, "{\"op\":\"%s\",\"id\":%ld,\"name\":\"%s\"}\n",
			 op->kind == K_DELETE ? "delete" : "get", op->id,
			 op->kind == K_GET_OTHER ? w->keys[op->oc][op->ok_].name
						 : own[op->key].name);
		break;
	case K_LIST:
	case K_HELLO:
		snprintf(line, sizeof line, "{\"op\":\"%s\",\"id\":%ld}\n",
			 op->kind == K_LIST ? "list" : "hello", op->id);
		break;
	default:
		snprintf(line, sizeof line, "{\"op\":\"resolve\",\"id\":%ld,\"env\":[", op->id);
		for (i = 0; i < MODEL_KEYS; i++)
			snprintf(line + strlen(line), sizeof line - strlen(line), "\"%s\",",
				 own[i].env);
		snprintf(line + strlen(line), sizeof line - strlen(line),
			 "\"%s\",\"MODEL_NOBODY_API_KEY\"]}\n", w->keys[op->oc][op->ok_].env);
	}
	buf_adds(req, line);
}

/* Drop "absent" from a key's candidates: it was seen to exist. False when nothing is left. */
static bool
cand_exists(struct mkey *k)
{
	int i, n = 0;

	for (i = 0; i < k->ncand; i++) {
		if (k->cand[i] != MODEL_ABSENT)
			k->cand[n++] = k->cand[i];
	}
	k->ncand = n;
	return n > 0;
}

/*
 * Check that answering locked (or not) was allowed for a request sent at s0
 * and answered now; record an auto-lock that only --for can explain.
 */
static void
check_lock(struct world *w, const struct snap *s0, bool locked, const char *what)
{
	bool window = s0->hard_lo != 0 && now_us() >= s0->hard_lo - MODEL_SLACK_US;
	bool exact = s0->ver == w->ver && !s0->unsure && !window;

	if (exact && locked != (s0->mode == G_LOCKED)) {
		diverge(w, "%s answered %s while the keystore is %s", what,
			locked ? "locked" : "with its keys",
			s0->mode == G_LOCKED ? "locked" : s0->mode == G_PLAIN ? "plain" : "unlocked");
		return;
	}
	if (locked)
		w->locked_replies++;
	if (locked && window && s0->ver == w->ver && !s0->unsure && s0->mode == G_UNLOCKED) {
		/* The unlock's time ran out: locked until the controller unlocks again. */
		w->mode = G_LOCKED;
		w->hard_lo = w->hard_hi = 0;
		w->ver++;
		w->autolocks++;
		gnote(w, "auto-lock seen by %s", what);
	}
}

/* A value in a reply: which of name's values it is, or a divergence. */
static long
seen_value(struct world *w, const struct mkey *m, const cJSON *v, const char *what)
{
	long seq;

	if (!cJSON_IsString(v)) {
		diverge(w, "%s: no string value for %s", what, m->name);
		return -2;
	}
	seq = value_seq(w, m->name, v->valuestring, strlen(v->valuestring), m->sent);
	if (seq == -2)
		diverge(w, "%s: %s holds a value nobody set", what, m->name);
	return seq;
}

/* An own key was seen holding seq (or absent): it must be a candidate; now it is the one. */
static void
seen_own(struct world *w, struct mkey *m, long seq, const char *what)
{
	char have[256] = "";
	int i;

	if (cand_has(m, seq)) {
		cand_set(m, seq);
		return;
	}
	for (i = 0; i < m->ncand; i++)
		snprintf(have + strlen(have), sizeof have - strlen(have), " %ld", m->cand[i]);
	diverge(w, "%s: %s holds #%ld, the model allows {%s } (-1: absent)", what, m->name, seq,
		have);
}

/* list: every key listed is a model key; own keys listed exactly when they exist. */
static void
check_list(struct actor *a, const cJSON *r, const char *what)
{
	struct world *w = a->w;
	bool listed[MODEL_KEYS] = {false};
	const cJSON *e, *keys = cJSON_GetObjectItemCaseSensitive(r, "keys");
	int c, k, i;

	cJSON_ArrayForEach(e, keys)
	{
		const char *name = jstr(e, "name"), *masked = jstr(e, "masked");
		char want[MASK_MAX];
		bool match = false;
		struct mkey *m;

		c = name != NULL ? key_owner(w, name, &k) : -1;
		if (c < 0 || masked == NULL) {
			diverge(w, "%s: lists a key nobody set: %s", what, name ? name : "?");
			return;
		}
		if (c != a->id)
			continue;
		m = &w->keys[c][k];
		listed[k] = true;
		for (i = 0; i < m->ncand && !match; i++) {
			struct buf v = {0};

			if (m->cand[i] == MODEL_ABSENT)
				continue;
			value_make(w, m->name, m->cand[i], &v);
			mask_value(v.data, v.len, want);
			match = strcmp(want, masked) == 0;
			buf_free(&v);
		}
		if (!match) {
			diverge(w, "%s: %s is listed, masked %s, as no value the model allows", what,
				m->name, masked);
			return;
		}
	}
	for (k = 0; k < MODEL_KEYS; k++) {
		struct mkey *m = &w->keys[a->id][k];

		if (listed[k] && !cand_exists(m))
			diverge(w, "%s: lists %s, which the model says is absent", what, m->name);
		else if (!listed[k])
			seen_own(w, m, MODEL_ABSENT, what);
	}
}

/* resolve: own env names exactly, another's as some value it was set to, an unknown one never. */
static void
check_resolve(struct actor *a, const struct op *op, const cJSON *r, const char *what)
{
	struct world *w = a->w;
	const cJSON *vals = cJSON_GetObjectItemCaseSensitive(r, "values"), *v;
	const struct mkey *other = &w->keys[op->oc][op->ok_];
	int k;

	if (!cJSON_IsObject(vals)) {
		diverge(w, "%s: no values object", what);
		return;
	}
	for (k = 0; k < MODEL_KEYS && w->divergences == 0; k++) {
		struct mkey *m = &w->keys[a->id][k];
		long seq = MODEL_ABSENT;

		v = cJSON_GetObjectItemCaseSensitive(vals, m->env);
		if (v != NULL && (seq = seen_value(w, m, v, what)) == -2)
			return;
		seen_own(w, m, seq, what);
	}
	v = cJSON_GetObjectItemCaseSensitive(vals, other->env);
	if (v != NULL && op->oc != a->id)
		seen_value(w, other, v, what);
	if (cJSON_GetObjectItemCaseSensitive(vals, "MODEL_NOBODY_API_KEY") != NULL)
		diverge(w, "%s: resolves an env name no key has", what);
}

/* Check one reply against the model and apply it (caller holds mu). */
static void
check(struct actor *a, const struct op *op, const cJSON *r, const struct snap *s0)
{
	struct world *w = a->w;
	struct mkey *m = &w->keys[a->id][op->key];
	const char *err = jerr(r);
	char what[96];
	long seq;

	snprintf(what, sizeof what, "client %d %s #%ld", a->id, kind_names[op->kind], op->id);
	note(w, "%s %s -> %s", what,
	     op->kind == K_GET_OTHER ? w->keys[op->oc][op->ok_].name : m->name,
	     jok(r) ? "ok" : err);
	if ((long)jnum(r, "id", -1) != op->id) {
		diverge(w, "%s: the reply is for request %ld", what, (long)jnum(r, "id", -1));
		return;
	}
	if (op->kind == K_HELLO) {
		check_lock(w, s0, jbool(r, "locked") == 1, what);
		return;
	}
	/* Stopping for a SIGTERM: nothing new is served, nothing was changed. */
	if (strcmp(err, "busy") == 0 && (!w->up || a->gen != w->gen))
		return;
	check_lock(w, s0, strcmp(err, "locked") == 0, what);
	if (w->divergences > 0 || strcmp(err, "locked") == 0)
		return;
	if (!jok(r) && !(strcmp(err, "not_found") == 0 &&
			 (op->kind == K_GET || op->kind == K_GET_OTHER || op->kind == K_DELETE))) {
		diverge(w, "%s: unexpected %s: %s", what, err, jstr(r, "message"));
		return;
	}
	switch (op->kind) {
	case K_SET:
		if ((cand_has(m, MODEL_ABSENT) && m->ncand == 1 && jbool(r, "created") != 1) ||
		    (!cand_has(m, MODEL_ABSENT) && jbool(r, "created") != 0))
			diverge(w, "%s: \"created\":%d for %s, which may hold {%ld%s} (-1: absent)",
				what, jbool(r, "created"), m->name, m->cand[0],
				m->ncand > 1 ? " and more" : "");
		cand_set(m, op->seq);
		break;
	case K_DELETE:
		if (jok(r) && !cand_exists(m))
			diverge(w, "%s: deleted %s, which the model says is absent", what, m->name);
		else if (!jok(r))
			seen_own(w, m, MODEL_ABSENT, what);
		cand_set(m, MODEL_ABSENT);
		break;
	case K_GET:
		seq = jok(r) ? seen_value(w, m, cJSON_GetObjectItemCaseSensitive(r, "value"), what)
			     : MODEL_ABSENT;
		if (seq != -2)
			seen_own(w, m, seq, what);
		break;
	case K_GET_OTHER:
		if (jok(r))
			seen_value(w, &w->keys[op->oc][op->ok_],
				   cJSON_GetObjectItemCaseSensitive(r, "value"), what);
		break;
	case K_LIST:
		check_list(a, r, what);
		break;
	default:
		check_resolve(a, op, r, what);
	}
}

/* The batch's replies stopped: what was sent and not answered may or may not have landed. */
static void
lost(struct actor *a, const struct op *ops, int from, int n, int why)
{
	struct world *w = a->w;
	int i;

	for (i = from; i < n; i++) {
		struct mkey *m = &w->keys[a->id][ops[i].key];

		w->lost_replies++;
		if (ops[i].kind == K_SET)
			cand_add(m, ops[i].seq);
		else if (ops[i].kind == K_DELETE)
			cand_add(m, MODEL_ABSENT);
	}
	if (why == 2)
		diverge(w, "client %d: no reply within %d s", a->id, REPLY_TIMEOUT_MS / 1000);
	else if (why == 3)
		diverge(w, "client %d: a reply that is not JSON", a->id);
	else if (w->up && a->gen == w->gen)
		diverge(w, "client %d: the daemon closed the connection while it should be up",
			a->id);
	wire_close(&a->conn);
}

void *
client_main(void *arg)
{
	struct actor *a = arg;
	struct world *w = a->w;
	struct buf req = {0};
	struct op ops[BATCH_MAX];
	struct snap s0;
	int n, i, why = 0;

	pthread_mutex_lock(&w->mu);
	while (!w->stop && actor_connect(a)) {
		n = rng_below(&a->rng, 10) == 0 ? 2 + (int)rng_below(&a->rng, BATCH_MAX - 1) : 1;
		buf_clear(&req);
		for (i = 0; i < n; i++)
			plan(a, &ops[i], &req);
		s0 = (struct snap){w->ver, w->mode, w->unsure, w->hard_lo};
		pthread_mutex_unlock(&w->mu);
		why = wire_send(&a->conn, req.data, req.len) == 0 ? 0 : 1;
		for (i = 0; i < n; i++) {
			cJSON *r = why == 0 ? wire_reply(&a->conn, REPLY_TIMEOUT_MS, &why) : NULL;

			pthread_mutex_lock(&w->mu);
			if (r == NULL) {
				lost(a, ops, i, n, why);
				pthread_mutex_unlock(&w->mu);
				break;
			}
			check(a, &ops[i], r, &s0);
			w->ops++;
			w->client_ops[a->id]++;
			pthread_mutex_unlock(&w->mu);
			/* Locked: give the controller a moment, rather than a flood of refusals. */
			if (strcmp(jerr(r), "locked") == 0)
				usleep(1000 + rng_below(&a->rng, 4000));
			cJSON_Delete(r);
		}
		pthread_mutex_lock(&w->mu);
		if (w->max_ops > 0 && (long)w->ops >= w->max_ops)
			w->stop = true;
	}
	w->exited++;
	pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->mu);
	wire_close(&a->conn);
	buf_free(&a->conn.in);
	buf_free(&req);
	return NULL;
}
