/*
 * ccr-config set NAME [--env VAR] [--from-env VAR]: store a key read from stdin,
 * a prompt with echo off, or a variable of our own environment — never argv.
 * NAME may be the env name of a stored key, which is then the key updated.
 * An env name that changes how programs load (env_is_refused) is refused here,
 * before the key is read; the daemon refuses a default env name that is one.
 * An env name that does not look like a credential's (env_is_credential) is
 * stored only after a yes typed on the terminal (confirm_env); without one,
 * nothing is read and nothing stored.
 * A key the router's config references is bound, when it has no binding yet, to
 * the origins of the providers that use it (config_binding).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "binding.h"
#include "cli.h"
#include "config.h"
#include "hint.h"
#include "mask.h"
#include "names.h"
#include "suggest.h"

enum { OPT_ENV, OPT_FROM_ENV };

static const struct cmd_option options[] = {
    [OPT_ENV] = {"env", 'e', "VAR", "store it as $VAR instead of the default env name"},
    [OPT_FROM_ENV] = {"from-env", 'f', "VAR", "take the key from the variable VAR of this shell"},
    {0},
};

/*
 * Refuse a key given on the command line without ever printing it, and say how
 * to take it out of the shell's history. first is the first argument, second
 * the next one (NULL when first is NAME=VALUE). The name is echoed only when
 * it is the shorter of the two, so that `set KEY NAME` does not print the key.
 */
static int
refuse_argv_value(const char *first, const char *second)
{
	char name[NAME_MAX_LEN + 1] = "NAME";
	const char *eq = strchr(first, '=');
	size_t len = eq != NULL ? (size_t)(eq - first) : strlen(first);
	const char *other = eq != NULL ? eq + 1 : second;

	if (len > 0 && len <= NAME_MAX_LEN && other != NULL && len < strlen(other)) {
		memcpy(name, first, len);
		name[len] = '\0';
		if (!name_is_valid(name))
			snprintf(name, sizeof name, "NAME");
	}
	return cli_error(
	    EXIT_USAGE,
	    "refusing to take a key from the command line; nothing stored.\n"
	    "  The key showed in ps, and your shell has saved it in its history. Remove it there:\n"
	    "    bash: history -d N (N from: history | grep 'config set'), then: history -w\n"
	    "    zsh:  end this shell with: unset HISTFILE; exit  (it then does not save its "
	    "history),\n"
	    "          and delete the line from ${HISTFILE:-~/.zsh_history} if it is there "
	    "already\n"
	    "    fish: history delete --contains 'config set'  (then pick the line)\n"
	    "  Then store the key with: ccr-config set %s  (it asks without echo), or pipe it in: "
	    "… | ccr-config set %s",
	    name, name);
}

/*
 * Ask the person at the terminal whether env, which does not look like a
 * credential's name, is meant: MAKEFILES or TAR_OPTIONS in a keystore run
 * code in every program `exec` starts. Returns 0 after a yes, else an exit code.
 */
static int
confirm_env(const char *name, const char *env)
{
	char question[ENV_MAX_LEN + NAME_MAX_LEN + 200], why[ENV_MAX_LEN + 200];

	env_unconfirmed_message(env, why, sizeof why);
	if (!isatty(STDERR_FILENO))
		return cli_error(EXIT_USAGE, "%s; nothing stored", why);
	fprintf(stderr,
	        "$%s does not look like a credential's name: every program that `ccr-config exec`\n"
	        "starts would get the key as $%s, and a program may read it as an option or a\n"
	        "command to run.\n",
	        env, env);
	snprintf(question, sizeof question, "Store %s as $%s anyway? [y/N] ", name, env);
	if (!cli_confirm(question))
		return cli_error(EXIT_USAGE,
		                 "not confirmed: nothing stored; choose a name such as "
		                 "%s_API_KEY with --env",
		                 env);
	return 0;
}

/* Read the value: from $from, or stdin, or a prompt. Returns 0 or an exit code. */
static int
read_value(const char *name, const char *from, struct buf *value)
{
	char prompt[NAME_MAX_LEN + 32];
	enum proto_value_fault fault;
	const char *v;

	if (from == NULL) {
		snprintf(prompt, sizeof prompt, "Key for %s: ", name);
		return cli_read_secret(prompt, value);
	}
	v = getenv(from);
	if (v == NULL || v[0] == '\0')
		return cli_error(EXIT_NOT_FOUND, "$%s is not set or empty; nothing stored", from);
	fault = proto_value_check(v, strlen(v));
	if (fault == PV_TOO_LONG || fault == PV_LINES)
		return cli_error(EXIT_USAGE,
		                 "$%s is longer than 16 KiB or spans lines; nothing stored", from);
	if (fault != PV_OK)
		return cli_error(EXIT_USAGE, "$%s %s; nothing stored", from,
		                 proto_value_fault_text(fault));
	buf_adds(value, v);
	cli_trim_value(value, "the key");
	if (value->len == 0)
		return cli_error(EXIT_USAGE, "$%s holds only white space; nothing stored", from);
	return 0;
}

/*
 * Warn about each origin the config gives the key that its binding, kept from
 * before, does not include: the router will be refused the key there.
 */
static void
warn_unbound(const char *name, const struct names *wanted, const struct jsonr *bound)
{
	size_t i;

	if (jsonr_count(bound) == 0)
		return;
	for (i = 0; i < wanted->n; i++) {
		if (!binding_has(bound, wanted->v[i]))
			cli_warn("the router's config sends %s to %s, which its binding does not "
			         "include; if that is right, run: ccr-config bind %s --add %s",
			         name, wanted->v[i], name, wanted->v[i]);
	}
}

/* Say what was stored: a line for people (old → new, masked, on a terminal) or --json. */
static void
report(struct cli *cli, const struct jsonr *reply, const char *name, const char *old_masked,
       const struct buf *value)
{
	bool created = !jsonr_is(jsonr_get(reply, "created"), JSONR_FALSE);
	const char *env = cli_str(reply, "env");
	const struct jsonr *origins = jsonr_get(reply, "origins");
	char masked[MASK_MAX], bound[BINDING_TEXT_MAX + 16] = "";
	struct buf out = {0};

	if (cli->json) {
		cli_json_key(&out, name);
		proto_field_str(&out, "env", env, strlen(env));
		proto_field_bool(&out, "created", created);
		binding_copy(&out, origins);
		cli_json_out(&out);
		return;
	}
	if (jsonr_count(origins) > 0) {
		snprintf(bound, sizeof bound, ", bound to ");
		binding_join(origins, ", ", bound + strlen(bound), sizeof bound - strlen(bound));
	}
	if (!created && old_masked != NULL && isatty(STDOUT_FILENO)) {
		mask_value(value->data, value->len, masked);
		printf("updated %s (as $%s): %s → %s%s\n", name, env, old_masked, masked, bound);
	} else {
		printf("%s %s (as $%s)%s\n", created ? "stored" : "updated", name, env, bound);
	}
}

/* Store the value of one key. */
static int
cmd_set(struct cli *cli, const struct args *args)
{
	const char *env = args->value[OPT_ENV], *from = args->value[OPT_FROM_ENV], *word;
	const char *old_masked = NULL;
	char name[NAME_MAX_LEN + 1], why[ENV_MAX_LEN + 160], env_used[ENV_MAX_LEN + 1];
	const struct jsonr *key;
	struct jsonr *list = NULL, *reply = NULL;
	struct names origins = {0};
	struct buf value = {0};
	int rc;

	word = args->argv[0];
	if (args->argc > 1 || strchr(word, '=') != NULL)
		return refuse_argv_value(word, args->argc > 1 ? args->argv[1] : NULL);
	if (!name_is_valid(word))
		return cli_error(EXIT_USAGE, "the first argument is not a key name: use 1-128 of "
		                             "A-Z a-z 0-9 . _ -, starting with a letter or digit");
	if (env != NULL && !env_is_valid(env))
		return cli_error(
		    EXIT_USAGE, "'%s' is not an env name: use A-Z 0-9 _, not starting with a digit",
		    env);
	if (env != NULL && env_is_refused(env)) {
		env_refused_message(env, why, sizeof why);
		return cli_error(EXIT_USAGE, "%s; nothing stored", why);
	}
	cli_protect();
	/* The key it names (by name, else by env name), and its masked value, before reading. */
	list = cli_list(cli, &rc);
	if (list == NULL)
		return rc;
	key = suggest_find_key(jsonr_get(list, "keys"), word);
	snprintf(name, sizeof name, "%s", key != NULL ? cli_str(key, "name") : word);
	if (key != NULL)
		old_masked = cli_str(key, "masked");
	/* The env name the key will have, and what the router's config binds it to. */
	if (env != NULL)
		snprintf(env_used, sizeof env_used, "%s", env);
	else if (key != NULL)
		snprintf(env_used, sizeof env_used, "%s", cli_str(key, "env"));
	else
		name_default_env(name, env_used);
	/* A refused name is left to the daemon, which says why. */
	if (!env_is_credential(env_used) && !env_is_refused(env_used)) {
		rc = confirm_env(name, env_used);
		if (rc != 0)
			goto done;
		cli->env_confirmed = true;
	}
	config_binding(env_used, &origins);
	rc = read_value(name, from, &value);
	if (rc != 0)
		goto done;
	reply = cli_store(cli, name, env, value.data, value.len, &origins, &rc);
	if (reply == NULL)
		goto done;
	if (conn_reply_error(reply, NULL) != PE_OK) {
		rc = cli_reply_failed(reply);
	} else {
		report(cli, reply, name, old_masked, &value);
		warn_unbound(name, &origins, jsonr_get(reply, "origins"));
		/* The first key stored by a person: say once what sealing is for. */
		if (!cli->json && jsonr_count(jsonr_get(list, "keys")) == 0 && cli_on_terminal())
			hint_passphrase(cli, stderr);
	}
done:
	conn_reply_free(reply);
	conn_reply_free(list);
	names_free(&origins);
	buf_free(&value);
	return rc;
}

const struct command cmd_set_entry = {
    .name = "set",
    .usage = "NAME [--env VAR] [--from-env VAR]",
    .summary = "store a key: from stdin, a prompt without echo, or $VAR (never argv)",
    .options = options,
    .args = {.min = 1, .max = CMD_ARGS_ANY}, /* more than one: a key on the command line */
    .json = "print {\"ok\":true,\"name\",\"env\",\"created\",\"origins\":[…]}",
    .example = "pass show cerebras | ccr-config set cerebras",
    .run = cmd_set,
};
