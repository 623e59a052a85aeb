/*
 * The list of coding agents the guard knows (ccr-keyd.8, "CODING AGENTS"),
 * and how a process is matched against it: a process is an agent when its
 * executable, comm or argv[0] is a known agent's name, or when it is an
 * interpreter (node, python, bun, deno …) running a known agent's script.
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
#include "agent_rules.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"

/* A file's modification and change times in nanoseconds. */
#ifdef __APPLE__
#define MTIME_NS(st) ((st).st_mtimespec.tv_sec * 1000000000LL + (st).st_mtimespec.tv_nsec)
#define CTIME_NS(st) ((st).st_ctimespec.tv_sec * 1000000000LL + (st).st_ctimespec.tv_nsec)
#else
#define MTIME_NS(st) ((st).st_mtim.tv_sec * 1000000000LL + (st).st_mtim.tv_nsec)
#define CTIME_NS(st) ((st).st_ctim.tv_sec * 1000000000LL + (st).st_ctim.tv_nsec)
#endif

enum { AGENT_EXE, AGENT_SCRIPT, AGENT_INTERPRETER };

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

/* Rule i of the whole list: the built-in ones, then the policy file's. */
static const struct agent_rule *
rule(const struct agent_rules *list, size_t i)
{
	return i < NBUILTIN ? &builtin[i] : &list->added[i - NBUILTIN];
}

/* The number of rules in the whole list. */
static size_t
nrules(const struct agent_rules *list)
{
	return NBUILTIN + (list != NULL ? list->nadded : 0);
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
agent_rules_interpreter(const struct agent_rules *list, const char *name)
{
	size_t i;

	for (i = 0; i < nrules(list); i++) {
		const struct agent_rule *r = rule(list, i);

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
exe_match(const struct agent_rules *list, const char *name)
{
	size_t i;

	for (i = 0; name[0] != '\0' && i < nrules(list); i++) {
		const struct agent_rule *r = rule(list, i);

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
script_match(const struct agent_rules *list, const char *arg)
{
	static const char *const exts[] = {".js", ".mjs", ".cjs", ".ts", ".py", NULL};
	char base[128];
	size_t i, len;

	for (i = 0; i < nrules(list); i++) {
		const struct agent_rule *r = rule(list, i);

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
	return exe_match(list, base);
}

/* The agent p is, by the script it runs as an interpreter; NULL when none. */
static const char *
interpreter_match(const struct agent_rules *list, const struct proc_info *p)
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
			if ((name = script_match(list, module)) != NULL)
				return name;
			module[strcspn(module, "/")] = '\0';
			return exe_match(list, module);
		}
		if (arg[0] == '-')
			continue;
		seen++;
		if ((name = script_match(list, arg)) != NULL)
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
const char *
agent_rules_match(const struct agent_rules *list, const struct proc_info *p)
{
	const char *argv0 = proc_arg(p, 0);
	const char *names[3] = {proc_basename(p->exe), p->comm,
	                        argv0 != NULL ? proc_basename(argv0) : ""};
	const char *name;
	int i;

	for (i = 0; i < 3; i++) {
		if ((name = exe_match(list, names[i])) != NULL)
			return name;
	}
	for (i = 0; i < 2; i++) {
		if (names[i][0] != '\0' && agent_rules_interpreter(list, names[i]))
			return interpreter_match(list, p);
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
policy_load(struct agent_rules *list, bool force, char *err, size_t errsize)
{
	struct agent_rule *rules;
	struct stat st;
	char *text = NULL;
	size_t n;
	ssize_t got;
	int fd = open(list->policy, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC), rc = -1;

	if (fd == -1 && errno == ENOENT) {
		if (list->seen.present)
			log_info("agent policy %s removed: the built-in list only", list->policy);
		rules_free(list->added, list->nadded);
		list->added = NULL;
		list->nadded = 0;
		list->seen.present = false;
		return 0;
	}
	if (fd == -1 || fstat(fd, &st) == -1) {
		snprintf(err, errsize, "cannot read agent policy %s: %s", list->policy,
		         strerror(errno));
		goto done;
	}
	if (!force && list->seen.present && st.st_dev == list->seen.dev &&
	    st.st_ino == list->seen.ino && st.st_size == list->seen.size &&
	    MTIME_NS(st) == list->seen.mtime_ns && CTIME_NS(st) == list->seen.ctime_ns) {
		rc = 0;
		goto done;
	}
	if (!S_ISREG(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 077) != 0 ||
	    st.st_size > POLICY_SIZE_MAX) {
		snprintf(err, errsize,
		         "agent policy %s must be a regular file of yours, mode 0600, at most 64 "
		         "KiB; run: chmod 600 %s",
		         list->policy, list->policy);
		goto done;
	}
	text = calloc(1, (size_t)st.st_size + 1);
	if (text == NULL)
		abort();
	got = read(fd, text, (size_t)st.st_size);
	if (got < 0) {
		snprintf(err, errsize, "cannot read agent policy %s: %s", list->policy,
		         strerror(errno));
		goto done;
	}
	text[got] = '\0';
	if (policy_parse(text, list->policy, &rules, &n, err, errsize) == -1)
		goto done;
	rules_free(list->added, list->nadded);
	list->added = rules;
	list->nadded = n;
	list->seen.present = true;
	list->seen.dev = st.st_dev;
	list->seen.ino = st.st_ino;
	list->seen.size = st.st_size;
	list->seen.mtime_ns = MTIME_NS(st);
	list->seen.ctime_ns = CTIME_NS(st);
	log_info("agent policy %s: %zu rules added to the built-in %zu", list->policy, n, NBUILTIN);
	rc = 0;
done:
	free(text);
	if (fd != -1)
		close(fd);
	return rc;
}

int
policy_init(struct agent_rules *list, const char *dir, char *err, size_t errsize)
{
	memset(list, 0, sizeof *list);
	snprintf(list->policy, sizeof list->policy, "%s/%s", dir, AGENT_POLICY_FILE);
	return policy_load(list, true, err, errsize);
}

void
policy_refresh(struct agent_rules *list, uint64_t now_ms)
{
	char err[PATHS_MAX + 160];

	if (list->checked_ms != 0 && now_ms - list->checked_ms < 1000)
		return;
	list->checked_ms = now_ms;
	if (policy_load(list, false, err, sizeof err) == -1)
		log_warn("%s; keeping the rules read before", err);
}

void
policy_free(struct agent_rules *list)
{
	rules_free(list->added, list->nadded);
	list->added = NULL;
	list->nadded = 0;
}

size_t
agent_rules_count(const struct agent_rules *list)
{
	return nrules(list);
}
