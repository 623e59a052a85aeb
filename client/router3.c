/*
 * claude-code-router 3.x through `ccr-config router`: 3.x has no config.json
 * to interpolate at each start (it imports one into config.sqlite at its
 * first start) and runs its model gateway in a child process, which loads
 * "core gateway plugins". ccr-keyd's (plugin3.cjs) asks the daemon for each
 * upstream request's key; this file makes sure it is registered, and that
 * nothing started holds a key in its environment: the names the providers
 * reference and every name the keystore holds are taken out first, so the
 * first-start import keeps references and the server, its gateway child and
 * the agents it or `ccr <profile>` launches ({...process.env}) get none.
 */
#include "router3.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "guard.h"
#include "router.h"

/* How long the router's API may take to answer after a start (the gateway restarts). */
#define REGISTER_TIMEOUT "30000"
/* Most the helper may print: one JSON line of names and flags. */
#define HELPER_OUT_MAX (256 * 1024)

/* The commands of 3.1.1's cli.js that start its server in the background (`start`, `ui`). */
static const char *const starting[] = {"start", "ui", NULL};
/* Its commands that run the server in the foreground, unless --daemon. */
static const char *const foreground[] = {"serve", "web", NULL};
/* Its commands that need nothing from ccr-keyd. */
static const char *const plain[] = {"stop", "-h", "--help", "help", "-v", "--version", NULL};

/* True when args (after the command) hold word. */
static bool
has_arg(char **args, const char *word)
{
	for (args += 2; *args != NULL && strcmp(*args, "--") != 0; args++) {
		if (strcmp(*args, word) == 0)
			return true;
	}
	return false;
}

/* The plugin's config in its plugins[] entry: the socket it asks, as JSON. */
static void
plugin_config(struct cli *cli, struct buf *out)
{
	buf_adds(out, "{\"socket\":");
	jsonr_print_str(out, cli->socket, strlen(cli->socket));
	buf_addc(out, '}');
}

int
router3_helper(struct cli *cli, const char *verb, const char *extra, const char *keys,
               struct jsonr **out)
{
	char home[PATHS_MAX], plugin[PATHS_MAX], helper[PATHS_MAX], err[1024];
	struct buf config = {0}, text = {0};
	char *argv[9];
	int fds[2], status, rc = 0;
	ssize_t n;
	pid_t pid;

	*out = NULL;
	if (router_home(home, sizeof home, err, sizeof err) == -1 ||
	    router_node_file("plugin3.cjs", plugin, sizeof plugin, err, sizeof err) == -1 ||
	    router_node_file("router3.cjs", helper, sizeof helper, err, sizeof err) == -1)
		return cli_error(EXIT_FAILURE_OTHER, "%s", err);
	plugin_config(cli, &config);
	argv[0] = "node";
	argv[1] = helper;
	argv[2] = (char *)verb;
	argv[3] = home;
	argv[4] = plugin;
	argv[5] = config.data;
	argv[6] = (char *)(extra != NULL ? extra : "-");
	argv[7] = (char *)(keys != NULL ? keys : "[]");
	argv[8] = NULL;
	fflush(stdout);
	fflush(stderr);
	if (pipe(fds) == -1 || (pid = fork()) == -1) {
		buf_free(&config);
		return cli_error(EXIT_FAILURE_OTHER, "cannot run node: %s", strerror(errno));
	}
	if (pid == 0) {
		close(fds[0]);
		if (dup2(fds[1], STDOUT_FILENO) == -1)
			_exit(127);
		close(fds[1]);
		execvp(argv[0], argv);
		fprintf(stderr, "ccr-config: cannot run node (router 3.x's Node): %s\n",
		        strerror(errno));
		_exit(127);
	}
	close(fds[1]);
	buf_reserve(&text, 4096);
	while ((n = read(fds[0], text.data + text.len, text.cap - text.len - 1)) > 0 ||
	       (n == -1 && errno == EINTR)) {
		text.len += n > 0 ? (size_t)n : 0;
		if (text.len > HELPER_OUT_MAX)
			break;
		buf_reserve(&text, text.len + 4096);
	}
	close(fds[0]);
	while (waitpid(pid, &status, 0) == -1 && errno == EINTR)
		;
	text.data[text.len] = '\0';
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		rc =
		    cli_error(EXIT_FAILURE_OTHER, "router 3.x: `node router3.cjs %s` failed", verb);
	else if ((*out = jsonr_parse(text.data, text.len, NULL, 0)) == NULL)
		rc = cli_error(EXIT_FAILURE_OTHER,
		               "router 3.x: `node router3.cjs %s` printed no JSON", verb);
	buf_free(&config);
	buf_free(&text);
	return rc;
}

/* Take name out of the environment, its value wiped in this process's environment block. */
static void
env_drop(const char *name)
{
	char *v = getenv(name);

	if (v == NULL)
		return;
	explicit_bzero(v, strlen(v));
	unsetenv(name);
}

/*
 * Take every name the keystore holds out of the environment, when the daemon
 * answers, and put [{name, env}…] into keys for the helper (the pools it fills).
 */
static void
keystore_names(struct cli *cli, struct buf *keys)
{
	const struct jsonr *k;
	struct jsonr *list;
	int rc;

	buf_addc(keys, '[');
	if ((list = cli_list(cli, &rc)) != NULL) {
		jsonr_foreach(k, jsonr_get(list, "keys"))
		{
			if (cli_str(k, "env")[0] == '\0')
				continue;
			env_drop(cli_str(k, "env"));
			buf_adds(keys, keys->len > 1 ? ",{\"name\":" : "{\"name\":");
			jsonr_print_str(keys, cli_str(k, "name"), strlen(cli_str(k, "name")));
			buf_adds(keys, ",\"env\":");
			jsonr_print_str(keys, cli_str(k, "env"), strlen(cli_str(k, "env")));
			buf_addc(keys, '}');
		}
	}
	buf_addc(keys, ']');
	conn_reply_free(list);
	if (cli->connected) {
		conn_close(&cli->conn);
		cli->connected = false;
	}
}

/*
 * Before anything starts: is ccr-keyd there and unlocked? On a terminal a
 * locked keystore is offered an unlock, as `ccr start` does for 1.x/2.x;
 * otherwise a warning only — the router runs, and the plugin refuses each
 * request with the reason. Returns true when the daemon answered.
 */
static bool
preflight3(struct cli *cli)
{
	struct jsonr *reply;
	bool answered;
	int rc;

	reply = cli_call_op(cli, OP_HELLO, &rc);
	answered = reply != NULL;
	if (reply == NULL) {
		cli_warn(
		    "starting the router anyway: its requests carry no key until ccr-keyd runs");
	} else if (jsonr_is(jsonr_get(reply, "locked"), JSONR_TRUE)) {
		if (isatty(STDIN_FILENO) && isatty(STDERR_FILENO)) {
			fprintf(stderr, "ccr-config: the keystore is locked.\n");
			cli_unlock(cli, 0, false);
		} else {
			cli_warn(
			    "the keystore is locked: the router's requests carry no key until: "
			    "ccr config unlock");
		}
	}
	conn_reply_free(reply);
	if (cli->connected) {
		conn_close(&cli->conn);
		cli->connected = false;
	}
	return answered;
}

/* Become the router's cli.js with args (router_exec); returns only on failure. */
static int
become3(char **args)
{
	return router_exec(args, cli_one_of(args[1], foreground));
}

/* Run the router with args and wait for it; its exit code. */
static int
run_wait(char **args)
{
	struct router_install r;
	int status;
	pid_t pid;

	fflush(stdout);
	fflush(stderr);
	if ((pid = fork()) == -1)
		return cli_error(EXIT_FAILURE_OTHER, "cannot start the router: %s",
		                 strerror(errno));
	if (pid == 0) {
		router_harden(true); /* it starts the server */
		args[0] = (char *)router_exec_file(&r);
		execvp(args[0], args);
		fprintf(stderr, "ccr-config: cannot run %s: %s\n", args[0], strerror(errno));
		_exit(127);
	}
	while (waitpid(pid, &status, 0) == -1 && errno == EINTR)
		;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/*
 * Register the plugin (and fill the pools from keys) through the running
 * router's API; quiet unless it fails or, with changed_says, changes it.
 */
static int
register_running(struct cli *cli, const char *keys, bool changed_says)
{
	struct jsonr *out;
	int rc = router3_helper(cli, "register", REGISTER_TIMEOUT, keys, &out);

	if (rc != 0)
		return cli_error(
		    EXIT_FAILURE_OTHER,
		    "the router runs, but ccr-keyd's plugin could not be registered "
		    "through its API: its requests carry no keys (stop it with: ccr stop)");
	if (changed_says && jsonr_is(jsonr_get(out, "changed"), JSONR_TRUE))
		fprintf(stderr,
		        "ccr-config: registered ccr-keyd's plugin with the running router (its "
		        "gateway restarted)\n");
	jsonr_free(out);
	return EXIT_OK;
}

/*
 * `ccr <profile>`: the server running first, with the plugin (3.x would start
 * it from the profile's process, under the guard, where ccr-keyd refuses it),
 * then the profile's command under the guard, so that ccr-keyd refuses the
 * agent and all it starts.
 */
static int
profile(struct cli *cli, char **args, const char *keys, bool running)
{
	char *start[] = {NULL, "start", "--no-open", NULL};
	int rc;

	if (!running && (rc = run_wait(start)) != 0)
		return rc;
	if ((rc = register_running(cli, keys, running)) != 0)
		return rc;
	return guard_run(cli, "ccr profile", become3, args, -1);
}

int
router3_command(struct cli *cli, char **args)
{
	const struct jsonr *n;
	struct jsonr *state;
	struct buf keys = {0};
	bool running;
	int rc;

	if (args[1] == NULL || cli_one_of(args[1], plain))
		return become3(args);
	if (preflight3(cli))
		keystore_names(cli, &keys);
	else
		buf_adds(&keys, "[]");
	if ((rc = router3_helper(cli, "prepare", NULL, keys.data, &state)) != 0)
		goto done;
	jsonr_foreach(n, jsonr_get(state, "names"))
	{
		if (jsonr_str(n) != NULL)
			env_drop(jsonr_str(n));
	}
	running = jsonr_num(jsonr_get(state, "running"), 0) > 0;
	jsonr_free(state);
	if (cli_one_of(args[1], starting) ||
	    (cli_one_of(args[1], foreground) && has_arg(args, "--daemon"))) {
		if ((rc = run_wait(args)) == 0)
			rc = register_running(cli, keys.data, true);
	} else if (cli_one_of(args[1], foreground)) {
		/* Stopped, its store has the plugin now (prepare); running, it gets it now. */
		if (!running || (rc = register_running(cli, keys.data, true)) == 0)
			rc = become3(args);
	} else {
		rc = profile(cli, args, keys.data, running);
	}
done:
	buf_free(&keys);
	return rc;
}
