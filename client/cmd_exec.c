/*
 * ccr-config exec [--all | --only NAME,…] [--fallback-env] -- CMD [ARGS…]: put
 * the keys the router's config references (every key with --all, the named ones
 * with --only) into the environment and become CMD. One resolve request; the
 * keystore wins over an inherited variable (with a warning that names the
 * variable, never a value); execvp, so no shell and no child. Without a
 * config.json nothing is injected unless --all or --only names keys, and a name
 * that changes how programs load (env_is_refused) is never injected. Inside a
 * coding agent, a refusal names every key exec needs and the one allow command
 * that covers them.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#include "cli.h"
#include "config.h"
#include "names.h"
#include "suggest.h"

/* Fill names with every env name in the keystore that may be injected (--all). */
static int
all_names(struct cli *cli, struct names *names)
{
	const struct jsonr *k;
	struct jsonr *reply;
	int rc;

	reply = cli_list(cli, &rc);
	if (reply == NULL)
		return rc;
	jsonr_foreach(k, jsonr_get(reply, "keys"))
	{
		const char *env = cli_str(k, "env");

		if (env_is_refused(env))
			cli_warn(
			    "not injecting %s: its env name $%s changes how programs load or "
			    "where they look; give it another with: ccr-config set %s --env VAR",
			    cli_str(k, "name"), env, cli_str(k, "name"));
		else
			names_add(names, env, strlen(env));
	}
	conn_reply_free(reply);
	return 0;
}

/*
 * Fill names with the env names of the keys only lists (comma-separated key
 * names or env names). Returns 0, or an exit code after saying which is unknown.
 */
static int
only_names(struct cli *cli, char *only, struct names *names)
{
	struct jsonr *list;
	char *word, *save = NULL;
	int rc = 0;

	list = cli_list(cli, &rc);
	if (list == NULL)
		return rc;
	for (word = strtok_r(only, ",", &save); word != NULL && rc == 0;
	     word = strtok_r(NULL, ",", &save)) {
		const struct jsonr *k = suggest_find_key(jsonr_get(list, "keys"), word);
		const char *env = cli_str(k, "env");

		if (k == NULL)
			rc = suggest_no_key(jsonr_get(list, "keys"), word,
			                    "list them with: ccr-config list");
		else if (env_is_refused(env))
			rc = cli_error(EXIT_USAGE,
			               "%s is never injected: its env name $%s changes how programs "
			               "load or where they look; give it another with: ccr-config "
			               "set %s --env VAR",
			               cli_str(k, "name"), env, cli_str(k, "name"));
		else if (!names_has(names, env))
			names_add(names, env, strlen(env));
	}
	if (rc == 0 && names->n == 0)
		rc = cli_error(EXIT_USAGE, "--only needs at least one key name");
	conn_reply_free(list);
	return rc;
}

/*
 * A resolve refused inside a coding agent: name every key exec needs (those of
 * names the keystore holds) and the one allow command that covers them all,
 * then the daemon's refusal, which names the agent. Returns EXIT_DENIED.
 */
static int
refused_inside(struct cli *cli, const struct names *names, const char *why)
{
	struct buf keys = {0}, words = {0};
	const struct jsonr *k;
	struct jsonr *list;
	size_t n = 0;
	int rc;

	list = cli_list(cli, &rc);
	jsonr_foreach(k, jsonr_get(list, "keys"))
	{
		if (!names_has(names, cli_str(k, "env")))
			continue;
		buf_adds(&keys, n > 0 ? ", " : "");
		buf_adds(&keys, cli_str(k, "name"));
		buf_adds(&words, n > 0 ? " " : "");
		buf_adds(&words, cli_str(k, "name"));
		n++;
	}
	buf_addc(&keys, '\0');
	buf_addc(&words, '\0');
	rc = cli_error(EXIT_DENIED,
	               "%s\nexec needs %zu key%s: %s; from a terminal outside the agent, allow "
	               "%s for a while with: ccr-config allow %s --for 10m (or run CMD with some: "
	               "ccr-config exec --only NAME,… -- CMD)",
	               why, n, n == 1 ? "" : "s", keys.data, n == 1 ? "it" : "them all",
	               words.data);
	conn_reply_free(list);
	buf_free(&keys);
	buf_free(&words);
	return rc;
}

/* Forget the names the config references that are never injected: those come from the environment.
 */
static void
drop_refused(struct names *names)
{
	size_t i, n = 0;

	for (i = 0; i < names->n; i++) {
		if (env_is_refused(names->v[i]))
			free(names->v[i]);
		else
			names->v[n++] = names->v[i];
	}
	names->n = n;
}

/* Ask for the values of names. Returns the reply, or NULL with *rc set. */
static struct jsonr *
resolve(struct cli *cli, const struct names *names, int *rc)
{
	struct buf req = {0};
	struct jsonr *reply;
	const char *msg;
	size_t i;

	proto_request_begin(&req, OP_RESOLVE);
	proto_field_key(&req, "env");
	buf_addc(&req, '[');
	for (i = 0; i < names->n; i++) {
		if (i > 0)
			buf_addc(&req, ',');
		buf_add_json(&req, names->v[i], strlen(names->v[i]));
	}
	buf_addc(&req, ']');
	proto_end(&req);
	reply = cli_call(cli, &req, rc);
	if (reply != NULL && conn_reply_error(reply, NULL) == PE_LOCKED && isatty(STDIN_FILENO) &&
	    isatty(STDERR_FILENO)) {
		/* On a terminal, offer to unlock rather than fail. */
		conn_reply_free(reply);
		reply = NULL;
		fprintf(stderr, "ccr-config: the keystore is locked.\n");
		*rc = cli_unlock(cli, 0, false);
		if (*rc == 0)
			reply = cli_call(cli, &req, rc);
	}
	buf_free(&req);
	if (reply != NULL && conn_reply_error(reply, &msg) == PE_DENIED &&
	    strstr(msg, "a coding agent") != NULL) {
		const char *and = strstr(msg, ", and ");
		char why[512];

		/* Only the refusal's first clause: what follows names one key of several. */
		snprintf(why, sizeof why, "%.*s", and != NULL ? (int)(and - msg) : (int)strlen(msg),
		         msg);
		*rc = refused_inside(cli, names, why);
		conn_reply_free(reply);
		return NULL;
	}
	if (reply != NULL && conn_reply_error(reply, NULL) != PE_OK) {
		*rc = cli_reply_failed(reply);
		conn_reply_free(reply);
		return NULL;
	}
	return reply;
}

/* Put the resolved values into our environment, warning where the environment disagrees. */
static void
inject(const struct names *names, const struct jsonr *values, bool all)
{
	size_t i;

	for (i = 0; i < names->n; i++) {
		const struct jsonr *v = jsonr_get(values, names->v[i]);
		const char *have = getenv(names->v[i]);

		if (env_is_refused(names->v[i]))
			continue; /* never: the keystore (or a planted daemon) may not choose these
			           */
		if (jsonr_is(v, JSONR_STRING)) {
			if (have != NULL && have[0] != '\0' && strcmp(have, v->u.str) != 0)
				cli_warn("$%s is set in the environment and in the keystore with "
				         "different values; using the keystore's",
				         names->v[i]);
			setenv(names->v[i], v->u.str, 1);
		} else if (!all && (have == NULL || have[0] == '\0')) {
			cli_warn(
			    "$%s is referenced in config.json but is neither in the keystore "
			    "nor in the environment; store it with: ccr-config set NAME --env %s",
			    names->v[i], names->v[i]);
		}
	}
}

enum { OPT_ALL, OPT_ONLY, OPT_FALLBACK_ENV };

static const struct cmd_option options[] = {
    [OPT_ALL] = {"all", 'a', NULL, "inject every key in the keystore, referenced or not"},
    [OPT_ONLY] = {"only", 'o', "NAME,NAME", "inject only these keys (names or env names)"},
    [OPT_FALLBACK_ENV] = {"fallback-env", 'f', NULL,
                          "run CMD with the plain environment when the daemon fails"},
    {0},
};

/* Run a command with the keys it needs. */
static int
cmd_exec(struct cli *cli, const struct args *args)
{
	struct names names = {0};
	struct buf text = {0};
	char path[PATHS_MAX];
	bool all = args_has(args, OPT_ALL), fallback = args_has(args, OPT_FALLBACK_ENV);
	char *only = args->value[OPT_ONLY];
	struct jsonr *reply = NULL;
	int rc;

	if (all && only != NULL)
		return cli_usage(cli);
#ifdef __linux__
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0); /* reset by execve for CMD */
#endif
	rc = config_default_path(path, sizeof path);
	if (rc == 0 && !all && only == NULL)
		rc = config_read(path, &text);
	if (rc > 1)
		return rc;
	if (only != NULL) {
		rc = only_names(cli, only, &names);
		all = true; /* no word about names the config references */
	} else if (all) {
		rc = all_names(cli, &names);
	} else if (rc == 1) {
		cli_warn("%s does not exist, so no key is injected; run with --all to inject "
		         "every key",
		         path);
		rc = 0;
	} else {
		config_refs(text.data, text.len, &names);
		drop_refused(&names);
	}
	buf_free(&text);
	if (rc == 0 && names.n > 0 && (reply = resolve(cli, &names, &rc)) != NULL)
		inject(&names, jsonr_get(reply, "values"), all);
	conn_reply_free(reply);
	names_free(&names);
	if (cli->connected) {
		conn_close(&cli->conn);
		cli->connected = false;
	}
	if (rc != 0) {
		if (!fallback)
			return rc;
		cli_errors_flush();
		cli_warn("starting %s with the plain environment (--fallback-env)", args->argv[0]);
	}
	return cli_exec(args->argv, NULL);
}

const struct command cmd_exec_entry = {
    .name = "exec",
    .usage = "[--all | --only NAME,NAME] [--fallback-env] -- CMD [ARGS...]",
    .summary = "run CMD with keys in its environment, by your choice: those the router's config "
               "references (every key with --all); the router itself gets them per request",
    .options = options,
    .args = {.min = 1, .max = CMD_ARGS_ANY, .in_order = true},
    .example = "ccr-config exec -- node my-agent.js",
    .run = cmd_exec,
};
