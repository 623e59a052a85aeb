/*
 * The agent guard. A peer's ancestry is walked by parent pid (proc.c) once
 * per connection, at the first op an agent may not run, and each process in
 * it is matched against the list of agents (agent_rules.c); a guard that
 * `ccr code` registered counts as an agent too, so that the agent's
 * double-forked or setsid children, which re-parent to the guard (a child
 * subreaper), stay inside. A walk that cannot be finished — a process gone, a
 * pid reused meanwhile, a tree deeper than anyone's, a peer whose pid the
 * kernel does not give — is refused. Overrides a person grants from outside
 * any agent let agents read a key, or every key, for a while.
 */
#include "agent.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "keyd.h"
#include "log.h"
#include "ops.h"
#include "proc.h"

/* Deeper ancestries than this are refused: nobody's shell nests that far. */
#define WALK_DEPTH_MAX 128

/* Milliseconds on the loop's clock. */
static uint64_t
now_ms(const struct keyd *k)
{
	return uv_now(k->loop);
}

/* The registered guard that is pid (started at start), or NULL. */
static const struct agent_guard *
guard_of(const struct agents *a, pid_t pid, unsigned long long start)
{
	const struct agent_guard *g;

	for (g = a->guards; g != NULL; g = g->next) {
		if (g->pid == pid && g->start == start)
			return g;
	}
	return NULL;
}

int
agent_init(struct keyd *k, bool off, char *err, size_t errsize)
{
	struct agents *a = &k->agents;
	char dir[PATHS_MAX];

	memset(a, 0, sizeof *a);
	a->off = off;
	paths_dirname(k->opt.keys, dir, sizeof dir);
#if !defined(__linux__) && !defined(__APPLE__)
	if (!off)
		log_warn("the agent guard needs Linux or macOS: coding agents are served here");
#endif
	return policy_init(&a->rules, dir, err, errsize);
}

void
agent_free(struct agents *a)
{
	struct agent_guard *g, *gn;
	struct agent_grant *x, *xn;

	policy_free(&a->rules);
	for (g = a->guards; g != NULL; g = gn) {
		gn = g->next;
		free(g);
	}
	for (x = a->grants; x != NULL; x = xn) {
		xn = x->next;
		free(x);
	}
	a->guards = NULL;
	a->grants = NULL;
}

/*
 * The agent whose tree pid runs in: its name into name (size bytes) and its
 * pid, or "" when none. Returns 0, or -1 when the ancestry cannot be read (a
 * process that is gone: refused).
 */
static int
walk(struct keyd *k, pid_t pid, char *name, size_t size, pid_t *agent_pid)
{
	struct agents *a = &k->agents;
	struct proc_info p;
	unsigned long long child_start = 0;
	pid_t at = pid;
	int depth, tries = 0;
	const struct agent_guard *g;
	const char *found;

	policy_refresh(&a->rules, now_ms(k));
	a->walks++;
	name[0] = '\0';
	*agent_pid = 0;
	for (depth = 0; depth < WALK_DEPTH_MAX; depth++) {
		if (proc_read(at, &p, PROC_EXE | PROC_ARGS) == -1 ||
		    (depth > 0 && p.start > child_start)) {
			/* Gone, or a newer process under its pid: the child was re-parented. Again.
			 */
			if (depth == 0 || ++tries > 3)
				return -1;
			at = pid;
			depth = -1;
			continue;
		}
		if (depth > 0 && (g = guard_of(a, at, p.start)) != NULL) {
			snprintf(name, size, "%s", g->label);
			*agent_pid = at;
			return 0;
		}
		if ((found = agent_rules_match(&a->rules, &p)) != NULL) {
			snprintf(name, size, "%s", found);
			*agent_pid = at;
			return 0;
		}
		if (p.ppid <= 0)
			return 0;
		child_start = p.start;
		at = p.ppid;
	}
	return -1;
}

/* Walk the ancestry of the peer of s once, and keep what it found in s->peer. */
static void
check(struct keyd *k, struct session *s)
{
	struct peer *peer = &s->peer;
	uv_os_fd_t fd;
	int rc;

	if (peer->agent_state != PEER_UNCHECKED)
		return;
	if (peer->pid <= 0) {
#if defined(__linux__) || defined(__APPLE__)
		/*
		 * The kernel gives pids here, and gave none for this peer (Linux
		 * says 0 for a process outside our pid namespace, a container's):
		 * an ancestry nobody can walk is refused, never taken as clean.
		 */
		peer->agent_state = PEER_UNKNOWN;
		snprintf(peer->agent, sizeof peer->agent, "?");
		log_debug("peer with no pid (another pid namespace?): treated as inside an agent");
#else
		/* No pid on this system at all: nothing to walk, and nobody is told apart. */
		peer->agent_state = PEER_OUTSIDE;
#endif
		return;
	}
	if (!proc_same_pidns(peer->pid)) {
		/*
		 * A confined agent (ccr-config confine, guard, ccr code: a pid
		 * namespace of its own) that reached the socket anyway, or a
		 * container's process: known as such from the peer itself, also
		 * by a daemon started after it was.
		 */
		peer->agent_state = PEER_INSIDE;
		peer->agent_pid = peer->pid;
		snprintf(peer->agent, sizeof peer->agent, "a confinement (another pid namespace)");
		log_debug("peer pid %ld runs in another pid namespace: treated as inside an agent",
		          (long)peer->pid);
		return;
	}
	rc = walk(k, peer->pid, peer->agent, sizeof peer->agent, &peer->agent_pid);
	/* The walk read the peer's pid: valid only if the peer still holds it. */
	if (rc == 0 && uv_fileno((uv_handle_t *)&s->pipe, &fd) == 0 && peer_alive(fd) == 0)
		rc = -1;
	if (rc == -1) {
		peer->agent_state = PEER_UNKNOWN;
		snprintf(peer->agent, sizeof peer->agent, "?");
	} else {
		peer->agent_state = peer->agent[0] != '\0' ? PEER_INSIDE : PEER_OUTSIDE;
	}
	if (peer->agent_state != PEER_OUTSIDE)
		log_debug("peer pid %ld runs inside %s (pid %ld)", (long)peer->pid, peer->agent,
		          (long)peer->agent_pid);
}

/* Forget the overrides that have expired. */
static void
grants_prune(struct keyd *k)
{
	struct agent_grant **x = &k->agents.grants, *dead;

	while (*x != NULL) {
		if ((*x)->until_ms > now_ms(k)) {
			x = &(*x)->next;
			continue;
		}
		dead = *x;
		*x = dead->next;
		free(dead);
	}
}

/* The override for name ("" for the one that covers every key) in force now, or NULL. */
static struct agent_grant *
grant_of(struct keyd *k, const char *name)
{
	struct agent_grant *x;

	grants_prune(k);
	for (x = k->agents.grants; x != NULL; x = x->next) {
		if (strcmp(x->name, name) == 0)
			return x;
	}
	return NULL;
}

/* True when an override lets agents read the key called name. */
static bool
granted(struct keyd *k, const char *name)
{
	return grant_of(k, "") != NULL || grant_of(k, name) != NULL;
}

/*
 * The first key req would reveal that no override covers, or NULL: the key
 * its row names (ops.c: get's "name"; use's "name" or "env"), or of each env
 * name a resolve asks for that the keystore holds.
 */
static const char *
ungranted(struct keyd *k, const struct proto_request *req, enum op_names names)
{
	const struct entry *e;
	const cJSON *v;

	if (names == NAMES_KEY) {
		e = req->name != NULL ? store_get(&k->store, req->name)
		                      : store_by_env(&k->store, req->env);
		return e != NULL && !granted(k, e->name) ? e->name : NULL;
	}
	if (names == NAMES_NAME)
		return store_get(&k->store, req->name) != NULL && !granted(k, req->name) ? req->name
		                                                                         : NULL;
	if (req->envs == NULL) {
		e = req->env != NULL ? store_by_env(&k->store, req->env) : NULL;
		return e != NULL && !granted(k, e->name) ? e->name : NULL;
	}
	cJSON_ArrayForEach(v, req->envs)
	{
		e = store_by_env(&k->store, v->valuestring);
		if (e != NULL && !granted(k, e->name))
			return e->name;
	}
	return NULL;
}

enum proto_err
agent_allows(struct keyd *k, struct session *s, const struct proto_request *req,
             const struct op_entry *op, const char **msg)
{
	struct agents *a = &k->agents;
	const char *key = NULL, *who = s->peer.agent;
	char where[128];

	if (a->off || op->agent == AGENT_ANY || (op->harmless != NULL && op->harmless(req)))
		return PE_OK;
	check(k, s);
	if (s->peer.agent_state == PEER_OUTSIDE)
		return PE_OK;
	if (s->peer.agent_state == PEER_INSIDE && op->agent == AGENT_GRANTED &&
	    (key = ungranted(k, req, op->names)) == NULL)
		return PE_OK;
	a->refused++;
	if (s->peer.agent_state == PEER_UNKNOWN && s->peer.pid <= 0) {
		*msg = "refused: the system does not say which process this is (a process in "
		       "another pid namespace, such as a container, has no pid ccr-keyd can see), "
		       "so ccr-keyd cannot tell whether it runs inside a coding agent; run the "
		       "command from a terminal outside any agent and container";
		return PE_DENIED;
	}
	if (s->peer.agent_state == PEER_UNKNOWN) {
		*msg = "refused: ccr-keyd cannot tell whether this process runs inside a coding "
		       "agent (it or a parent exited while ccr-keyd looked); run it again from a "
		       "terminal outside any agent";
		return PE_DENIED;
	}
	snprintf(where, sizeof where,
	         "refused: this process runs inside %s (pid %ld), a coding agent", who,
	         (long)s->peer.agent_pid);
	if (key != NULL)
		snprintf(a->message, sizeof a->message,
		         "%s, and ccr-keyd gives agents no key; run the command yourself in a "
		         "terminal outside the agent, or allow it from there for a while: "
		         "ccr-config allow %s --for 10m",
		         where, key);
	else
		snprintf(a->message, sizeof a->message, "%s, %s", where, op->refusal);
	*msg = a->message;
	return PE_DENIED;
}

enum proto_err
agent_op_allow(struct op_call *c)
{
	struct keyd *k = c->k;
	struct session *s = c->s;
	const struct proto_request *req = c->req;
	const char *name = req->all ? "" : req->name;
	struct agent_grant *x = grant_of(k, name), **p;

	if (x != NULL) {
		for (p = &k->agents.grants; *p != x; p = &(*p)->next)
			;
		*p = x->next;
		free(x);
	}
	if (req->seconds > 0) {
		x = calloc(1, sizeof *x);
		if (x == NULL)
			abort();
		snprintf(x->name, sizeof x->name, "%s", name);
		x->until_ms = now_ms(k) + (uint64_t)(req->seconds * 1000);
		x->next = k->agents.grants;
		k->agents.grants = x;
	}
	log_info("agents may %sread %s%s (pid %ld)", req->seconds > 0 ? "" : "no longer ",
	         req->all ? "every key" : name, req->seconds > 0 ? " for a while" : "",
	         (long)s->peer.pid);
	proto_reply_begin(&s->out, req->id);
	if (req->all)
		proto_field_bool(&s->out, "all", true);
	else
		proto_field_str(&s->out, "name", name, strlen(name));
	proto_field_int(&s->out, "expires_in_ms",
	                req->seconds > 0 ? (long long)(req->seconds * 1000) : 0);
	proto_end(&s->out);
	return PE_OK;
}

/* The guard g's process still runs: its pid holds the process that registered. */
static bool
guard_alive(const struct agent_guard *g)
{
	struct proc_info p;

	return proc_read(g->pid, &p, 0) == 0 && p.start == g->start;
}

bool
agent_guard_alive(const struct session *s)
{
	const struct agent_guard *g;

	for (g = s->k->agents.guards; g != NULL; g = g->next) {
		if (g->s == s)
			return guard_alive(g);
	}
	return true; /* not registered (yet): nothing to drop */
}

/*
 * Refuse a guard beyond GUARDS_PER_TREE of sid's tree or GUARDS_MAX in all,
 * counting only guards whose process still runs (the sweep closes the rest):
 * PE_OK, or PE_BUSY answered into s->out and s closed after the reply.
 */
static enum proto_err
guard_room(struct keyd *k, struct session *s, const struct proto_request *req, pid_t sid)
{
	const struct agent_guard *g;
	unsigned all = 0, tree = 0;
	char msg[200];

	for (g = k->agents.guards; g != NULL; g = g->next) {
		if (!guard_alive(g))
			continue;
		all++;
		tree += g->sid == sid;
	}
	if (tree < GUARDS_PER_TREE && all < GUARDS_MAX)
		return PE_OK;
	snprintf(msg, sizeof msg,
	         tree >= GUARDS_PER_TREE
	             ? "this session already has %d guards registered; end an agent first"
	             : "ccr-keyd already has %d guards registered; end an agent first",
	         tree >= GUARDS_PER_TREE ? GUARDS_PER_TREE : GUARDS_MAX);
	log_debug("refused a guard for pid %ld: %s", (long)s->peer.pid, msg);
	proto_reply_error(&s->out, req->id, PE_BUSY, msg);
	s->close_after_flush = true; /* an unregistered guard holds no slot either */
	return PE_BUSY;
}

enum proto_err
agent_op_guard(struct op_call *c)
{
	struct keyd *k = c->k;
	struct session *s = c->s;
	const struct proto_request *req = c->req;
	const char *label = req->name != NULL ? req->name : "guard";
	struct agent_guard *g;
	struct proc_info p;
	pid_t sid;

	if (strlen(label) >= sizeof g->label || label[strspn(label, "abcdefghijklmnopqrstuvwxyz"
	                                                            "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	                                                            "0123456789 ._-")] != '\0') {
		proto_reply_error(&s->out, req->id, PE_BAD_REQUEST,
		                  "a guard's \"name\" is at most 63 of [A-Za-z0-9 ._-]");
		return PE_BAD_REQUEST;
	}
	if (s->peer.pid <= 0 || proc_read(s->peer.pid, &p, 0) == -1) {
		proto_reply_error(&s->out, req->id, PE_BAD_REQUEST,
		                  "a guard needs its pid, which this system does not give");
		return PE_BAD_REQUEST;
	}
	if (!s->guard) {
		sid = getsid(s->peer.pid);
		if (guard_room(k, s, req, sid) != PE_OK)
			return PE_BUSY;
		g = calloc(1, sizeof *g);
		if (g == NULL)
			abort();
		g->s = s;
		g->pid = s->peer.pid;
		g->start = p.start;
		g->sid = sid;
		snprintf(g->label, sizeof g->label, "%s", label);
		g->next = k->agents.guards;
		k->agents.guards = g;
		s->guard = true;
		k->server.nguards++;
		log_info("guard registered: pid %ld (%s); what runs under it is an agent's",
		         (long)g->pid, g->label);
	}
	proto_reply_begin(&s->out, req->id);
	proto_field_int(&s->out, "pid", (long long)s->peer.pid);
	proto_end(&s->out);
	return PE_OK;
}

void
agent_session_closed(struct keyd *k, const struct session *s)
{
	struct agent_guard **g = &k->agents.guards, *dead;

	while (*g != NULL) {
		if ((*g)->s != s) {
			g = &(*g)->next;
			continue;
		}
		dead = *g;
		*g = dead->next;
		log_info("guard pid %ld is gone", (long)dead->pid);
		free(dead);
	}
}

void
agent_report(struct keyd *k, struct session *s, struct buf *out)
{
	struct agents *a = &k->agents;
	const struct agent_guard *g;
	const struct agent_grant *x;
	int n = 0;

	if (!a->off)
		check(k, s);
	grants_prune(k);
	proto_field_key(out, "agents");
	buf_addc(out, '{');
	buf_adds(out, "\"guard\":");
	buf_adds(out, a->off ? "false" : "true");
	proto_field_str(out, "policy", a->rules.policy, strlen(a->rules.policy));
	proto_field_int(out, "rules", (long long)agent_rules_count(&a->rules));
	proto_field_int(out, "walks", (long long)a->walks);
	proto_field_int(out, "refused", (long long)a->refused);
	proto_field_key(out, "guards");
	buf_addc(out, '[');
	for (g = a->guards; g != NULL; g = g->next) {
		if (n++ > 0)
			buf_addc(out, ',');
		buf_addi(out, (long long)g->pid);
	}
	buf_addc(out, ']');
	proto_field_key(out, "allowed");
	buf_addc(out, '[');
	for (n = 0, x = a->grants; x != NULL; x = x->next) {
		buf_adds(out, n++ > 0 ? ",{" : "{");
		if (x->name[0] == '\0')
			buf_adds(out, "\"all\":true");
		else
			buf_adds(out, "\"all\":false");
		if (x->name[0] != '\0')
			proto_field_str(out, "name", x->name, strlen(x->name));
		proto_field_int(out, "expires_in_ms", (long long)(x->until_ms - now_ms(k)));
		buf_addc(out, '}');
	}
	buf_addc(out, ']');
	proto_field_key(out, "inside");
	if (s->peer.agent_state == PEER_INSIDE || s->peer.agent_state == PEER_UNKNOWN)
		buf_add_json(out, s->peer.agent, strlen(s->peer.agent));
	else
		buf_adds(out, "null");
	buf_addc(out, '}');
}
