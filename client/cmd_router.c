/*
 * ccr-config router [--keep-env] [--fallback-env] [--background] [--] [ARGS...]:
 * claude-code-router's `ccr ARGS` with its keys reaching the router's server
 * process and nothing else; the `ccr` shell function runs every `ccr …` but
 * `ccr config …` through it. `start` and `restart` start the router with the
 * preload (client/node/preload.cjs), which asks ccr-keyd in-process at the
 * router's own config load; the commands that start the agent (`code`, and
 * with router 2.x every first word that is not one of its commands: a preset)
 * and `ui` first make sure such a router runs (started as `ccr start` would
 * be), then run without any key — the agent's under a guard that ccr-keyd
 * refuses everything below (guard.c), with the router's token on a pipe;
 * `activate` and `env` get that token too, to print it; every other command
 * is the router's own, run as is without a word from ccr-keyd.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "config.h"
#include "confine.h"
#include "guard.h"
#include "json5edit.h"
#include "router.h"
#include "router3.h"

/* Router 2.x's own commands (its cli.js); any other first word names a preset, which runs the
 * agent. */
static const char *const router2_commands[] = {
    "start",    "stop", "restart", "status", "statusline", "code", "model", "preset", "install",
    "activate", "env",  "ui",      "-v",     "version",    "-h",   "help",  NULL};

/* The options of the command. */
struct router_opts {
	bool keep_env;   /* code/ui: keep the provider names the user exported */
	bool fallback;   /* start with the plain environment when ccr-keyd cannot help */
	bool background; /* start: detach and return once the router listens */
	bool confine;    /* code: the agent confined by the kernel (the default) */
};

static void agent_names(struct names *providers, struct names *token);

/* The router commands that run its server. */
static const char *const serving[] = {"start", "restart", NULL};

/* Become the router's `ccr` with args (router_exec); returns only on failure, as a shell would. */
static int
become(char **args)
{
	return router_exec(args, cli_one_of(args[1], serving));
}

/*
 * Take name out of the environment, its value (when set and not empty) added
 * to the JSON object begun in values: the string unsetenv leaves behind —
 * in the environment block this process was started with, which
 * /proc/PID/environ shows for as long as it runs — is overwritten first.
 */
static void
env_take(const char *name, struct buf *values, bool keep)
{
	char *v = getenv(name);

	if (v == NULL)
		return;
	if (values != NULL && v[0] != '\0') {
		buf_addc(values, values->len == 0 ? '{' : ',');
		buf_add_json(values, name, strlen(name));
		buf_addc(values, ':');
		buf_add_json(values, v, strlen(v));
	}
	if (keep)
		return;
	explicit_bzero(v, strlen(v));
	unsetenv(name);
}

/*
 * Put values (a JSON object; "{}" when empty) on a pipe whose read end the
 * router inherits, named by the environment variable var, and return that end
 * in *fd. Written whole before anyone reads: more than a pipe holds at once is
 * refused. Returns 0, or an exit code after printing why.
 */
static int
pass_on_pipe(struct buf *values, const char *var, const char *what, int *fd)
{
	char num[16];
	int fds[2] = {-1, -1}, rc = 0;

	*fd = -1;
	if (values->len == 0)
		buf_adds(values, "{");
	buf_addc(values, '}');
	if (values->len > 60000 || pipe(fds) == -1 || fcntl(fds[1], F_SETFD, FD_CLOEXEC) == -1 ||
	    write(fds[1], values->data, values->len) != (ssize_t)values->len) {
		rc = cli_error(EXIT_FAILURE_OTHER, "cannot pass %s on a pipe: %s", what,
		               values->len > 60000 ? "over 60,000 bytes" : strerror(errno));
		if (fds[0] != -1)
			close(fds[0]);
	} else {
		snprintf(num, sizeof num, "%d", fds[0]);
		setenv(var, num, 1);
		*fd = fds[0];
	}
	if (fds[1] != -1)
		close(fds[1]);
	return rc;
}

/*
 * The provider keys the environment holds, for a key the keystore lacks: out
 * of the environment (and of this process's environment block) and onto a
 * pipe the router's preload reads as CCR_KEYD_FALLBACK_FD, so that no router
 * process holds one in its environment block. The names APIKEY references
 * stay: they are the router's token for its clients, not a provider's key.
 * With keep (--keep-env, for the agent), the environment stays as it is and
 * the names go to kept instead, for the router's process alone to drop.
 * Returns 0, or an exit code after printing why.
 */
static int
fallback_pipe(int *fd, bool keep, struct names *kept)
{
	struct names providers = {0}, token = {0};
	struct buf values = {0};
	size_t i, j;
	int rc;

	agent_names(&providers, &token);
	for (i = 0; i < providers.n; i++) {
		for (j = 0; j < token.n && strcmp(token.v[j], providers.v[i]) != 0; j++)
			;
		if (j == token.n) {
			env_take(providers.v[i], &values, keep);
			if (keep)
				names_add(kept, providers.v[i], strlen(providers.v[i]));
		}
	}
	names_free(&providers);
	names_free(&token);
	rc = pass_on_pipe(&values, "CCR_KEYD_FALLBACK_FD", "the environment's provider keys", fd);
	buf_free(&values); /* wipes */
	return rc;
}

/*
 * Make sure ccr-keyd can hand out keys now: reachable (started when allowed)
 * and unlocked, offering to unlock on a terminal, as exec does. With
 * --fallback-env a failure only means a router with the plain environment.
 */
static int
preflight(struct cli *cli, const struct router_opts *o)
{
	struct jsonr *reply;
	int rc;

	reply = cli_call_op(cli, OP_HELLO, &rc);
	if (reply != NULL && jsonr_is(jsonr_get(reply, "locked"), JSONR_TRUE)) {
		if (isatty(STDIN_FILENO) && isatty(STDERR_FILENO)) {
			fprintf(stderr, "ccr-config: the keystore is locked.\n");
			rc = cli_unlock(cli, 0, false);
		} else {
			rc = cli_error(EXIT_DENIED,
			               "the keystore is locked; run: ccr-config unlock");
		}
	}
	conn_reply_free(reply);
	if (cli->connected) {
		conn_close(&cli->conn);
		cli->connected = false;
	}
	if (rc != 0 && o->fallback) {
		cli_warn("starting the router with the plain environment (--fallback-env)");
		setenv("CCR_KEYD_FALLBACK_ENV", "1", 1);
		rc = 0;
	}
	return rc;
}

/* Put the preload into NODE_OPTIONS, and tell it the socket when it is not the default. */
static int
with_preload(struct cli *cli)
{
	struct buf opt = {0};
	const char *have = getenv("NODE_OPTIONS");
	char sock[PATHS_MAX], err[1024];
	int rc = 0;

	if (router_preload_option(&opt, err, sizeof err) == -1) {
		rc = cli_error(EXIT_FAILURE_OTHER, "%s", err);
	} else if (have == NULL || have[0] == '\0') {
		setenv("NODE_OPTIONS", opt.data, 1);
	} else if (strstr(have, opt.data) == NULL) {
		struct buf both = {0};

		buf_adds(&both, have);
		buf_addc(&both, ' ');
		buf_add(&both, opt.data, opt.len);
		setenv("NODE_OPTIONS", both.data, 1);
		buf_free(&both);
	}
	buf_free(&opt);
	if (paths_socket(sock, sizeof sock, err, sizeof err) == -1 ||
	    strcmp(sock, cli->socket) != 0)
		setenv("CCR_KEYD_SOCKET", cli->socket, 1);
	return rc;
}

/* Start the router in the background with its keys and wait until it listens. */
static int
start_background(struct cli *cli, const struct router_opts *o, const char *home, bool quiet)
{
	struct names kept = {0};
	pid_t pid;
	int rc, fd;

	if ((rc = preflight(cli, o)) != 0 || (rc = with_preload(cli)) != 0 ||
	    (rc = fallback_pipe(&fd, o->keep_env, &kept)) != 0)
		return rc;
	pid = router_start_detached(kept.v, kept.n);
	names_free(&kept);
	close(fd);
	unsetenv("CCR_KEYD_FALLBACK_FD");
	if (pid <= 0)
		return EXIT_FAILURE_OTHER;
	rc = router_wait_listening(home, pid);
	if (rc == 0 && !quiet)
		fprintf(stderr,
		        "ccr-config: the router runs in the background with its keys "
		        "(pid %ld); stop it with: ccr stop\n",
		        (long)router_running(home));
	return rc;
}

/* `ccr start` / `ccr restart`: the router with the preload, keys fetched in-process. */
static int
serve(struct cli *cli, const struct router_opts *o, char **args)
{
	struct router_install r;
	char home[PATHS_MAX], err[1024];
	pid_t pid;
	int rc, fd;

	if (router_find(&r) == 0 && !router_supported(&r)) {
		/* The preload says in one line why this version gets no keys. */
		if ((rc = with_preload(cli)) != 0)
			return rc;
		return become(args);
	}
	if (o->background && strcmp(args[1], "start") == 0) {
		if (router_home(home, sizeof home, err, sizeof err) == -1)
			return cli_error(EXIT_FAILURE_OTHER, "%s", err);
		if ((pid = router_running(home)) > 0) {
			fprintf(stderr, "ccr-config: the router already runs (pid %ld)\n",
			        (long)pid);
			return EXIT_OK;
		}
		return start_background(cli, o, home, false);
	}
	if ((rc = preflight(cli, o)) != 0 || (rc = with_preload(cli)) != 0 ||
	    (rc = fallback_pipe(&fd, false, NULL)) != 0)
		return rc;
	return become(args);
}

/* Make sure a router runs for `code` / `ui`, started with its keys when none does. */
static int
ensure_router(struct cli *cli, const struct router_opts *o)
{
	struct router_record rec;
	char home[PATHS_MAX], err[1024];
	pid_t pid;

	if (router_home(home, sizeof home, err, sizeof err) == -1)
		return cli_error(EXIT_FAILURE_OTHER, "%s", err);
	pid = router_running(home);
	if (pid == 0)
		return start_background(cli, o, home, true);
	if (router_record_read(home, &rec) != 0 || rec.pid != pid)
		cli_warn("the running router (pid %ld) was not started through ccr-config, so it "
		         "has no keys from ccr-keyd; restart it with: ccr restart",
		         (long)pid);
	else if (rec.fallback)
		cli_warn("the running router (pid %ld) started with the plain environment "
		         "(--fallback-env), so it has no keys from ccr-keyd; restart it with: ccr "
		         "restart",
		         (long)pid);
	router_record_free(&rec);
	return EXIT_OK;
}

/*
 * From the router's config: the names its providers reference (the keys) and
 * the names its APIKEY references (the token the router gives the agent).
 */
static void
agent_names(struct names *providers, struct names *token)
{
	struct json5edit_field f;
	struct buf text = {0};
	char home[PATHS_MAX], path[PATHS_MAX + 16], err[1024];

	if (router_home(home, sizeof home, err, sizeof err) == -1)
		return;
	snprintf(path, sizeof path, "%s/config.json", home);
	if (config_read(path, &text) != 0)
		goto done;
	if (json5edit_top_member(text.data, text.len, "Providers", &f, NULL, 0) == 0 &&
	    f.kind == JSON5EDIT_ABSENT)
		json5edit_top_member(text.data, text.len, "providers", &f, NULL, 0);
	if (f.kind == JSON5EDIT_OTHER)
		config_refs(text.data + f.start, f.end - f.start, providers);
	json5edit_field_free(&f);
	if (json5edit_top_member(text.data, text.len, "APIKEY", &f, NULL, 0) == 0 &&
	    f.kind == JSON5EDIT_STRING)
		config_refs(f.value.data, f.value.len, token);
	json5edit_field_free(&f);
done:
	buf_free(&text);
}

/*
 * The values of the names APIKEY references (token) as a JSON object, into
 * values: the daemon reachable and unlocked first (offering to unlock on a
 * terminal, as for `ccr start`), then one resolve. With --fallback-env a
 * failure leaves values empty, after a warning. Returns 0, or an exit code
 * after printing why (3 unreachable, 4 locked or refused).
 */
static int
token_values(struct cli *cli, const struct router_opts *o, const struct names *token,
             struct buf *values)
{
	struct router_opts strict = *o;
	struct jsonr *reply = NULL;
	int rc;

	strict.fallback = false;
	cli_protect(); /* the reply holds the token */
	if ((rc = preflight(cli, &strict)) == 0)
		reply = cli_resolve(cli, (const char *const *)token->v, token->n, &rc);
	if (reply == NULL) {
		if (!o->fallback)
			return rc;
		cli_warn("the agent's token to the router is APIKEY as the environment gives it "
		         "(--fallback-env)");
		return 0;
	}
	jsonr_print(values, jsonr_get(reply, "values"));
	conn_reply_free(reply);
	return 0;
}

/*
 * Resolve the names APIKEY references (token) here, outside the guard, and
 * put their values on a pipe whose read end the router's command inherits as
 * CCR_KEYD_TOKEN_FD: its preload reads them once and closes it, and treats
 * the command as one that starts the agent. The guard makes ccr-keyd refuse
 * `ccr code` itself, as everything under it. Returns 0 with *fd the read end,
 * or an exit code after printing why: the agent does not start without the
 * token it needs.
 */
static int
token_pipe(struct cli *cli, const struct router_opts *o, const struct names *token, int *fd)
{
	struct buf values = {0};
	int rc = 0;

	*fd = -1;
	if (token->n > 0 && (rc = token_values(cli, o, token, &values)) != 0)
		return rc;
	if (values.len > 0)
		values.len--; /* reopen the object: pass_on_pipe closes it */
	rc = pass_on_pipe(&values, "CCR_KEYD_TOKEN_FD", "the router's token", fd);
	buf_free(&values); /* wipes */
	return rc;
}

/*
 * Have the router's preload start the agent confined by the kernel
 * (`ccr-config confine`, named in CCR_KEYD_CONFINE): the router's command
 * itself needs its home, the agent must not see it. Where the kernel cannot,
 * say so once: the agent then has the guard alone.
 */
static void
confine_agent(void)
{
	char why[512], self[PATHS_MAX];
	size_t n;

	if (!confine_available(why, sizeof why)) {
		cli_warn("the agent runs under the guard only, not confined: %s; it can read a "
		         "plain keystore file and other processes of yours (ccr-config status "
		         "says what protects you)",
		         why);
		return;
	}
	if (cli_self_path(self, sizeof self) == -1) {
		cli_warn("the agent runs under the guard only, not confined: cannot tell where "
		         "ccr-config is");
		return;
	}
	n = strlen(self);
	/* Replaced on disk while it runs (an upgrade): the path holds the new one. */
	if (n > strlen(" (deleted)") && strcmp(self + n - strlen(" (deleted)"), " (deleted)") == 0)
		self[n - strlen(" (deleted)")] = '\0';
	setenv("CCR_KEYD_CONFINE", self, 1);
}

/*
 * Run the router's command (args) for the agent: no stored value in its
 * environment — ccr-config adds none — and, unless --keep-env, none of the
 * provider keys the user exported either. For every command but `ui`, the
 * values of the names APIKEY references reach its preload on a pipe, which
 * hands only the router's token on, as the router does; and the command runs
 * under the guard (guard.c), so that ccr-keyd gives the agent and all it
 * starts nothing.
 */
static int
run_agent(struct cli *cli, const struct router_opts *o, char **args)
{
	struct names providers = {0}, token = {0};
	bool guarded = strcmp(args[1], "ui") != 0;
	int rc = 0, fd = -1;
	size_t i, j;

	agent_names(&providers, &token);
	for (i = 0; i < providers.n && !o->keep_env; i++) {
		for (j = 0; j < token.n && strcmp(token.v[j], providers.v[i]) != 0; j++)
			;
		if (j == token.n)
			env_take(providers.v[i], NULL, false);
	}
	if (guarded) {
		rc = token_pipe(cli, o, &token, &fd);
		if (o->confine)
			confine_agent();
	}
	names_free(&providers);
	names_free(&token);
	if (rc == 0)
		rc = with_preload(cli);
	if (rc != 0 || !guarded) {
		if (fd != -1)
			close(fd);
		return rc != 0 ? rc : become(args);
	}
	/* A guard's label is at most 63 of [A-Za-z0-9 ._-]: a preset's name may not be. */
	return guard_run(cli, strcmp(args[1], "code") == 0 ? "ccr code" : "ccr preset", become,
	                 args, fd);
}

/*
 * `ccr activate` / `ccr env`: the router's lines for the shell, which hand the
 * agent the router's token. When APIKEY references names, the router prints
 * it resolved, as `ccr code` gives it to the agent (never a provider key).
 */
static int
print_token(struct cli *cli, const struct router_opts *o, char **args)
{
	struct names providers = {0}, token = {0};
	struct router_install r;
	int rc, fd = -1;

	if (router_find(&r) == 0 && !router_supported(&r))
		return become(args);
	agent_names(&providers, &token);
	names_free(&providers);
	if (token.n == 0) {
		names_free(&token);
		return become(args);
	}
	rc = token_pipe(cli, o, &token, &fd);
	names_free(&token);
	if (rc == 0)
		rc = with_preload(cli);
	if (rc != 0) {
		if (fd != -1)
			close(fd);
		return rc;
	}
	return become(args);
}

/* True when args[1] names a preset of router 2.x, whose command starts the agent. */
static bool
preset(char **args)
{
	struct router_install r;

	return args[1] != NULL && router_find(&r) == 0 && r.major == 2 &&
	       !cli_one_of(args[1], router2_commands);
}

/* `ccr code`, a preset, `ccr ui`: a router with its keys first, then the command without them. */
static int
agent(struct cli *cli, const struct router_opts *o, char **args)
{
	struct router_install r;
	int rc;

	if (router_find(&r) == 0 && !router_supported(&r))
		return become(args);
	if ((rc = ensure_router(cli, o)) != 0)
		return rc;
	return run_agent(cli, o, args);
}

enum { OPT_KEEP_ENV, OPT_FALLBACK_ENV, OPT_BACKGROUND, OPT_NO_CONFINE };

static const struct cmd_option options[] = {
    [OPT_KEEP_ENV] = {"keep-env", 0, NULL, "code, ui: keep the provider keys the shell exported"},
    [OPT_FALLBACK_ENV] = {"fallback-env", 0, NULL,
                          "start, restart, code: the plain environment when the daemon fails"},
    [OPT_BACKGROUND] = {"background", 0, NULL, "start: return once the router listens"},
    [OPT_NO_CONFINE] = {"no-confine", 0, NULL,
                        "code: the agent under the guard only, not "
                        "confined by the kernel"},
    {0},
};

/* Run one router command the way that keeps its keys in its server. */
static int
cmd_router(struct cli *cli, const struct args *line)
{
	static const char *const agents[] = {"code", "ui", NULL};
	static const char *const printing[] = {"activate", "env", NULL};
	struct router_opts o = {
	    .keep_env = args_has(line, OPT_KEEP_ENV),
	    .fallback = args_has(line, OPT_FALLBACK_ENV),
	    .background = args_has(line, OPT_BACKGROUND),
	    .confine = !args_has(line, OPT_NO_CONFINE),
	};
	struct router_install r;
	/* The word before the operands (an option, "--" or "router") becomes the router's
	 * command in args[0]; args[1] is its subcommand. */
	char **args = line->argv - 1;

	if (router_find(&r) == 0 && r.major == 3 && router_supported(&r))
		return router3_command(cli, args);
	if (cli_one_of(args[1], serving))
		return serve(cli, &o, args);
	if (cli_one_of(args[1], agents) || preset(args))
		return agent(cli, &o, args);
	if (cli_one_of(args[1], printing))
		return print_token(cli, &o, args);
	return become(args);
}

const struct command cmd_router_entry = {
    .name = "router",
    .usage = "[--keep-env] [--fallback-env] [--background] [--no-confine] -- [ROUTER-ARGS...]",
    .summary = "run the router's ccr: keys only to its server (start, restart; code, ui "
               "without keys)",
    .options = options,
    .args = {.max = CMD_ARGS_ANY, .in_order = true},
    .example = "ccr-config router --background -- start",
    .run = cmd_router,
};
