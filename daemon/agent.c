/*
 * The agent guard. A peer's ancestry is walked by parent pid (proc.c) once
 * per connection, at the first op an agent may not run; a process in it is an
 * agent when its executable, comm or argv[0] is a known agent's name, or when
 * it is an interpreter (node, python, bun, deno …) running a known agent's
 * script; a guard that `ccr code` registered counts as one too, so that the
 * agent's double-forked or setsid children, which re-parent to the guard (a
 * child subreaper), stay inside. A walk that cannot be finished — a process
 * gone, a pid reused meanwhile, a tree deeper than anyone's — is refused.
 *
 * The policy file (AGENT_POLICY_FILE beside the keystore, 0600) only adds to
 * the built-in list, one rule a line:
 *
 *   exe NAME            a process whose executable, comm or argv[0] is NAME,
 *                       or an interpreter running a script named NAME
 *   script NAME PATH    an interpreter running a script whose path holds the
 *                       components PATH (@scope/package, or one directory);
 *                       python's -m MODULE counts as the path MODULE
 *   interpreter NAME    one more interpreter whose scripts are looked at
 *
 * Nothing in it can remove a built-in rule: a file an agent can write cannot
 * turn the guard off. It is read at start and again, when changed, at most
 * once a second as connections need it.
 */
#include "agent.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "keyd.h"
#include "log.h"
#include "proc.h"

/* A file's modification and change times in nanoseconds. */
#ifdef __APPLE__
#define MTIME_NS(st) ((st).st_mtimespec.tv_sec * 1000000000LL + (st).st_mtimespec.tv_nsec)
#define CTIME_NS(st) ((st).st_ctimespec.tv_sec * 1000000000LL + (st).st_ctimespec.tv_nsec)
#else
#define MTIME_NS(st) ((st).st_mtim.tv_sec * 1000000000LL + (st).st_mtim.tv_nsec)
#define CTIME_NS(st) ((st).st_ctim.tv_sec * 1000000000LL + (st).st_ctim.tv_nsec)
#endif

enum { AGENT_EXE, AGENT_SCRIPT, AGENT_INTERPRETER };

/* Deeper ancestries than this are refused: nobody's shell nests that far. */
#define WALK_DEPTH_MAX 128
/* Arguments of an interpreter looked at for its script, options aside. */
#define SCRIPT_ARGS_MAX 3
#define POLICY_SIZE_MAX (64 * 1024)

/*
 * The built-in list (ccr-keyd.8 lists it): coding agents' command-line
 * programs by executable, and those that run as a script by their package's
 * path. Native builds (Claude Code's own installer, Codex, opencode, goose,
 * crush …) are found by name; npm and pip installs by their script.
 */
// clang-format off
static const struct agent_rule builtin[] = {
	{AGENT_EXE, "claude", NULL},
	{AGENT_EXE, "codex", NULL},
	{AGENT_EXE, "gemini", NULL},
	{AGENT_EXE, "qwen", NULL},
	{AGENT_EXE, "cursor-agent", NULL},
	{AGENT_EXE, "aider", NULL},
	{AGENT_EXE, "opencode", NULL},
	{AGENT_EXE, "goose", NULL},
	{AGENT_EXE, "amp", NULL},
	{AGENT_EXE, "crush", NULL},
	{AGENT_EXE, "copilot", NULL},
	{AGENT_EXE, "auggie", NULL},
	{AGENT_EXE, "kilocode", NULL},
	{AGENT_EXE, "cline", NULL},
	{AGENT_EXE, "droid", NULL},
	{AGENT_EXE, "jules", NULL},
	{AGENT_EXE, "kiro-cli", NULL},
	{AGENT_EXE, "qchat", NULL},
	{AGENT_EXE, "plandex", NULL},
	{AGENT_EXE, "openhands", NULL},
	{AGENT_EXE, "gptme", NULL},
	{AGENT_SCRIPT, "claude", "@anthropic-ai/claude-code"},
	{AGENT_SCRIPT, "codex", "@openai/codex"},
	{AGENT_SCRIPT, "gemini", "@google/gemini-cli"},
	{AGENT_SCRIPT, "qwen", "@qwen-code/qwen-code"},
	{AGENT_SCRIPT, "cursor-agent", "cursor-agent"},
	{AGENT_SCRIPT, "aider", "aider"},
	{AGENT_SCRIPT, "opencode", "opencode-ai"},
	{AGENT_SCRIPT, "amp", "@sourcegraph/amp"},
	{AGENT_SCRIPT, "crush", "@charmland/crush"},
	{AGENT_SCRIPT, "copilot", "@github/copilot"},
	{AGENT_SCRIPT, "auggie", "@augmentcode/auggie"},
	{AGENT_SCRIPT, "kilocode", "@kilocode/cli"},
	{AGENT_SCRIPT, "continue", "@continuedev/cli"},
	{AGENT_SCRIPT, "jules", "@google/jules"},
	{AGENT_SCRIPT, "openhands", "openhands"},
	{AGENT_SCRIPT, "gptme", "gptme"},
	{AGENT_INTERPRETER, "node", NULL},
	{AGENT_INTERPRETER, "nodejs", NULL},
	{AGENT_INTERPRETER, "bun", NULL},
	{AGENT_INTERPRETER, "bunx", NULL},
	{AGENT_INTERPRETER, "deno", NULL},
	{AGENT_INTERPRETER, "python", NULL}, /* and python3, python3.12 … */
	{AGENT_INTERPRETER, "pypy", NULL},   /* and pypy3 … */
};
// clang-format on
#define NBUILTIN (sizeof builtin / sizeof builtin[0])

/* Milliseconds on the loop's clock. */
static uint64_t
now_ms(const struct keyd *k)
{
	return uv_now(k->loop);
}

/* Rule i of the whole list: the built-in ones, then the policy file's. */
static const struct agent_rule *
rule(const struct agents *a, size_t i)
{
	return i < NBUILTIN ? &builtin[i] : &a->rules[i - NBUILTIN];
}

/* The number of rules in the whole list. */
static size_t
nrules(const struct agents *a)
{
	return NBUILTIN + (a != NULL ? a->nrules : 0);
}

/* True when name is base, or base followed by a version ("python3.12" for "python"). */
static bool
versioned(const char *name, const char *base)
{
	size_t n = strlen(base);

	if (strncmp(name, base, n) != 0)
		return false;
	for (name += n; *name != '\0'; name++) {
		if ((*name < '0' || *name > '9') && *name != '.')
			return false;
	}
	return true;
}

bool
agent_is_interpreter(const struct agents *a, const char *name)
{
	size_t i;

	for (i = 0; i < nrules(a); i++) {
		const struct agent_rule *r = rule(a, i);

		if (r->kind != AGENT_INTERPRETER)
			continue;
		if (i < NBUILTIN && (strcmp(r->name, "python") == 0 || strcmp(r->name, "pypy") == 0)
		        ? versioned(name, r->name)
		        : strcmp(name, r->name) == 0)
			return true;
	}
	return false;
}

/* The exe rule whose name is name, or NULL. */
static const char *
exe_match(const struct agents *a, const char *name)
{
	size_t i;

	for (i = 0; name[0] != '\0' && i < nrules(a); i++) {
		const struct agent_rule *r = rule(a, i);

		if (r->kind == AGENT_EXE && strcmp(r->name, name) == 0)
			return r->name;
	}
	return NULL;
}

/* True when path holds frag as whole components ("/x/@a/b/cli.js", "npm:@a/b@1" hold "@a/b"). */
static bool
has_components(const char *path, const char *frag)
{
	size_t n = strlen(frag);
	const char *p;

	for (p = strstr(path, frag); p != NULL; p = strstr(p + 1, frag)) {
		bool start = p == path || p[-1] == '/' || p[-1] == ':';
		char after = p[n];

		if (start && (after == '\0' || after == '/' || after == '@' || after == '.'))
			return true;
	}
	return false;
}

/* The agent a script argument names: by the components of its path, or by its basename. */
static const char *
script_match(const struct agents *a, const char *arg)
{
	static const char *const exts[] = {".js", ".mjs", ".cjs", ".ts", ".py", NULL};
	char base[128];
	size_t i, len;

	for (i = 0; i < nrules(a); i++) {
		const struct agent_rule *r = rule(a, i);

		if (r->kind == AGENT_SCRIPT && has_components(arg, r->fragment))
			return r->name;
	}
	snprintf(base, sizeof base, "%s", proc_basename(arg));
	len = strlen(base);
	for (i = 0; exts[i] != NULL; i++) {
		size_t e = strlen(exts[i]);

		if (len > e && strcmp(base + len - e, exts[i]) == 0) {
			base[len - e] = '\0';
			break;
		}
	}
	return exe_match(a, base);
}

/* The agent p is, by the script it runs as an interpreter; NULL when none. */
static const char *
interpreter_match(const struct agents *a, const struct proc_info *p)
{
	char module[256];
	const char *arg, *name;
	int i, seen = 0;

	for (i = 1; (arg = proc_arg(p, i)) != NULL && seen < SCRIPT_ARGS_MAX; i++) {
		if (strcmp(arg, "-m") == 0 && (arg = proc_arg(p, i + 1)) != NULL) {
			/* python -m pkg.main: the module's path pkg/main */
			char *dot;

			snprintf(module, sizeof module, "%s", arg);
			while ((dot = strchr(module, '.')) != NULL)
				*dot = '/';
			if ((name = script_match(a, module)) != NULL)
				return name;
			module[strcspn(module, "/")] = '\0';
			return exe_match(a, module);
		}
		if (arg[0] == '-')
			continue;
		seen++;
		if ((name = script_match(a, arg)) != NULL)
			return name;
	}
	return NULL;
}

/*
 * The agent p (read with its arguments) is, or NULL: by its executable's
 * name, its comm (what it was started as, or calls itself, as Claude Code's
 * "claude") or its argv[0] (what it was started as, whatever the file is
 * called: `exec -a claude ./2.0.30`); or, for an interpreter (by executable
 * or comm), by the script it runs.
 */
static const char *
agent_of(const struct agents *a, const struct proc_info *p)
{
	const char *argv0 = proc_arg(p, 0);
	const char *names[3] = {proc_basename(p->exe), p->comm,
				argv0 != NULL ? proc_basename(argv0) : ""};
	const char *name;
	int i;

	for (i = 0; i < 3; i++) {
		if ((name = exe_match(a, names[i])) != NULL)
			return name;
	}
	for (i = 0; i < 2; i++) {
		if (names[i][0] != '\0' && agent_is_interpreter(a, names[i]))
			return interpreter_match(a, p);
	}
	return NULL;
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

/* Free the policy file's rules. */
static void
rules_free(struct agent_rule *rules, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(rules[i].name);
		free(rules[i].fragment);
	}
	free(rules);
}

/* Parse the policy text into rules. Returns 0, or -1 with err naming the line. */
static int
policy_parse(char *text, const char *path, struct agent_rule **out, size_t *nout, char *err,
             size_t errsize)
{
	struct agent_rule *rules = NULL, *r;
	char *line, *next, *w[4], *save, *hash;
	size_t n = 0, lineno = 0;
	int nw, kind;

	for (line = text; line != NULL; line = next) {
		next = strchr(line, '\n');
		if (next != NULL)
			*next++ = '\0';
		lineno++;
		if ((hash = strchr(line, '#')) != NULL)
			*hash = '\0';
		nw = 0;
		for (w[0] = strtok_r(line, " \t\r", &save); nw < 4 && w[nw] != NULL;)
			if (++nw < 4)
				w[nw] = strtok_r(NULL, " \t\r", &save);
		if (nw == 0)
			continue;
		kind = strcmp(w[0], "exe") == 0 && nw == 2           ? AGENT_EXE
		       : strcmp(w[0], "script") == 0 && nw == 3      ? AGENT_SCRIPT
		       : strcmp(w[0], "interpreter") == 0 && nw == 2 ? AGENT_INTERPRETER
		                                                     : -1;
		if (kind == -1) {
			snprintf(err, errsize,
			         "%s line %zu: expected 'exe NAME', 'script NAME PATH' or "
			         "'interpreter NAME'",
			         path, lineno);
			rules_free(rules, n);
			return -1;
		}
		r = realloc(rules, (n + 1) * sizeof *rules);
		if (r == NULL)
			abort();
		rules = r;
		r = &rules[n++];
		r->kind = kind;
		r->name = strdup(w[1]);
		r->fragment = kind == AGENT_SCRIPT ? strdup(w[2]) : NULL;
		if (r->name == NULL || (kind == AGENT_SCRIPT && r->fragment == NULL))
			abort();
	}
	*out = rules;
	*nout = n;
	return 0;
}

/*
 * Read the policy file when it changed since the last look (or when force).
 * Returns 0 (read, unchanged or absent), or -1 with err set; the rules in
 * force stay as they were on failure.
 */
static int
policy_load(struct agents *a, bool force, char *err, size_t errsize)
{
	struct agent_rule *rules;
	struct stat st;
	char *text = NULL;
	size_t n;
	ssize_t got;
	int fd = open(a->policy, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC), rc = -1;

	if (fd == -1 && errno == ENOENT) {
		if (a->seen.present)
			log_info("agent policy %s removed: the built-in list only", a->policy);
		rules_free(a->rules, a->nrules);
		a->rules = NULL;
		a->nrules = 0;
		a->seen.present = false;
		return 0;
	}
	if (fd == -1 || fstat(fd, &st) == -1) {
		snprintf(err, errsize, "cannot read agent policy %s: %s", a->policy,
		         strerror(errno));
		goto done;
	}
	if (!force && a->seen.present && st.st_dev == a->seen.dev && st.st_ino == a->seen.ino &&
	    st.st_size == a->seen.size && MTIME_NS(st) == a->seen.mtime_ns &&
	    CTIME_NS(st) == a->seen.ctime_ns) {
		rc = 0;
		goto done;
	}
	if (!S_ISREG(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 077) != 0 ||
	    st.st_size > POLICY_SIZE_MAX) {
		snprintf(err, errsize,
		         "agent policy %s must be a regular file of yours, mode 0600, at most 64 "
		         "KiB; run: chmod 600 %s",
		         a->policy, a->policy);
		goto done;
	}
	text = calloc(1, (size_t)st.st_size + 1);
	if (text == NULL)
		abort();
	got = read(fd, text, (size_t)st.st_size);
	if (got < 0) {
		snprintf(err, errsize, "cannot read agent policy %s: %s", a->policy,
		         strerror(errno));
		goto done;
	}
	text[got] = '\0';
	if (policy_parse(text, a->policy, &rules, &n, err, errsize) == -1)
		goto done;
	rules_free(a->rules, a->nrules);
	a->rules = rules;
	a->nrules = n;
	a->seen.present = true;
	a->seen.dev = st.st_dev;
	a->seen.ino = st.st_ino;
	a->seen.size = st.st_size;
	a->seen.mtime_ns = MTIME_NS(st);
	a->seen.ctime_ns = CTIME_NS(st);
	log_info("agent policy %s: %zu rules added to the built-in %zu", a->policy, n, NBUILTIN);
	rc = 0;
done:
	free(text);
	if (fd != -1)
		close(fd);
	return rc;
}

int
agent_init(struct keyd *k, bool off, char *err, size_t errsize)
{
	struct agents *a = &k->agents;
	char dir[PATHS_MAX];

	memset(a, 0, sizeof *a);
	a->off = off;
	paths_dirname(k->opt.keys, dir, sizeof dir);
	snprintf(a->policy, sizeof a->policy, "%s/%s", dir, AGENT_POLICY_FILE);
#if !defined(__linux__) && !defined(__APPLE__)
	if (!off)
		log_warn("the agent guard needs Linux or macOS: coding agents are served here");
#endif
	return policy_load(a, true, err, errsize);
}

void
agent_free(struct agents *a)
{
	struct agent_guard *g, *gn;
	struct agent_grant *x, *xn;

	rules_free(a->rules, a->nrules);
	a->rules = NULL;
	a->nrules = 0;
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

/* Look at the policy file again when a second has passed since the last look. */
static void
policy_refresh(struct keyd *k)
{
	struct agents *a = &k->agents;
	char err[PATHS_MAX + 160];

	if (a->checked_ms != 0 && now_ms(k) - a->checked_ms < 1000)
		return;
	a->checked_ms = now_ms(k);
	if (policy_load(a, false, err, sizeof err) == -1)
		log_warn("%s; keeping the rules read before", err);
}

int
agent_find(struct keyd *k, pid_t pid, char *name, size_t size, pid_t *agent_pid)
{
	struct agents *a = &k->agents;
	struct proc_info p;
	unsigned long long child_start = 0;
	pid_t at = pid;
	int depth, tries = 0;
	const struct agent_guard *g;
	const char *found;

	policy_refresh(k);
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
		if ((found = agent_of(a, &p)) != NULL) {
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
	rc = agent_find(k, peer->pid, peer->agent, sizeof peer->agent, &peer->agent_pid);
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
 * The first key req would reveal that no override covers, or NULL: get's
 * name, or the key of each env name a resolve asks for that the keystore holds.
 */
static const char *
ungranted(struct keyd *k, const struct proto_request *req)
{
	const struct entry *e;
	const cJSON *v;

	if (req->op == OP_GET)
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
agent_allows(struct keyd *k, struct session *s, const struct proto_request *req, const char **msg)
{
	struct agents *a = &k->agents;
	const char *key = NULL, *who = s->peer.agent;
	char where[128];

	if (a->off)
		return PE_OK;
	switch (req->op) {
	case OP_GET:
		if (req->masked)
			return PE_OK;
		break;
	case OP_UNLOCK:
		if (req->value == NULL || req->value_len == 0)
			return PE_OK; /* without a passphrase it can only bring the lock forward */
		break;
	case OP_RESOLVE:
	case OP_SET:
	case OP_DELETE:
	case OP_PASSPHRASE:
	case OP_ALLOW:
		break;
	default:
		return PE_OK;
	}
	check(k, s);
	if (s->peer.agent_state == PEER_OUTSIDE)
		return PE_OK;
	if (s->peer.agent_state == PEER_INSIDE && (req->op == OP_GET || req->op == OP_RESOLVE) &&
	    (key = ungranted(k, req)) == NULL)
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
	else if (req->op == OP_ALLOW)
		snprintf(a->message, sizeof a->message,
		         "%s, and an agent cannot allow itself keys; run ccr-config allow in a "
		         "terminal outside the agent",
		         where);
	else
		snprintf(a->message, sizeof a->message,
		         "%s, and ccr-keyd takes no set, delete, unlock or passphrase from inside "
		         "one; run the command yourself in a terminal outside the agent",
		         where);
	*msg = a->message;
	return PE_DENIED;
}

enum proto_err
agent_op_allow(struct keyd *k, struct session *s, const struct proto_request *req)
{
	const char *name = req->all ? "" : req->name;
	struct agent_grant *x = grant_of(k, name), **p;

	if (req->seconds > PROTO_FOR_MAX) {
		proto_reply_error(&s->out, req->id, PE_BAD_REQUEST,
		                  "\"for\" may be at most a week (604800 seconds)");
		return PE_BAD_REQUEST;
	}
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

enum proto_err
agent_op_guard(struct keyd *k, struct session *s, const struct proto_request *req)
{
	const char *label = req->name != NULL ? req->name : "guard";
	struct agent_guard *g;
	struct proc_info p;

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
		g = calloc(1, sizeof *g);
		if (g == NULL)
			abort();
		g->s = s;
		g->pid = s->peer.pid;
		g->start = p.start;
		snprintf(g->label, sizeof g->label, "%s", label);
		g->next = k->agents.guards;
		k->agents.guards = g;
		s->guard = true;
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
	proto_field_str(out, "policy", a->policy, strlen(a->policy));
	proto_field_int(out, "rules", (long long)nrules(a));
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
