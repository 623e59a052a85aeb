/*
 * ccr-config bind NAME [URL...] [--add|--remove] [--from-config]: show the
 * origins (scheme://host[:port]) a key is bound to, or change them. The daemon
 * hands a key out for the router's upstream requests to those origins only,
 * so a binding is what keeps a key from a server an edited config names; the
 * daemon refuses a change from inside a coding agent. URLs are reduced to
 * their origins here; the daemon stores the binding durably before it answers.
 */
#include <stdio.h>
#include <string.h>

#include "binding.h"
#include "cli.h"
#include "config.h"
#include "names.h"
#include "origin.h"
#include "suggest.h"

enum { OPT_ADD, OPT_REMOVE, OPT_FROM_CONFIG };

static const struct cmd_option options[] = {
    [OPT_ADD] = {"add", 'a', NULL, "add the origins of the URLs instead of replacing the binding"},
    [OPT_REMOVE] = {"remove", 'r', NULL, "remove the origins of the URLs from the binding"},
    [OPT_FROM_CONFIG] = {"from-config", 'c', NULL,
                         "the origins of the providers in config.json whose api_key uses the key"},
    {0},
};

/* Print a key's binding: one origin a line, or that it has none; or --json. */
static void
show(struct cli *cli, const struct jsonr *key, const struct jsonr *changed)
{
	const char *name = cli_str(key, "name"), *env = cli_str(key, "env");
	const struct jsonr *origins = jsonr_get(key, "origins"), *o;
	struct buf out = {0};

	if (cli->json) {
		cli_json_key(&out, name);
		proto_field_str(&out, "env", env, strlen(env));
		binding_copy(&out, origins);
		if (changed != NULL)
			proto_field_bool(&out, "changed", jsonr_is(changed, JSONR_TRUE));
		cli_json_out(&out);
		return;
	}
	if (jsonr_count(origins) == 0)
		printf("%s is bound to no origin\n", name);
	jsonr_foreach(o, origins)
	{
		if (jsonr_str(o) != NULL)
			printf("%s\n", o->u.str);
	}
}

/* Reduce each URL of argv to its origin, into origins. Returns 0, or EXIT_USAGE after saying why.
 */
static int
reduce(int argc, char **argv, struct names *origins)
{
	char origin[ORIGIN_MAX + 1];
	const char *why;
	int i;

	for (i = 0; i < argc; i++) {
		why = NULL;
		if (origin_from_url(argv[i], origin, &why) != 0)
			return cli_error(EXIT_USAGE,
			                 "'%s' is no origin: %s; nothing "
			                 "changed",
			                 argv[i], why != NULL ? why : "not a URL");
		names_add(origins, origin, strlen(origin));
	}
	return 0;
}

/* Add the origins config.json gives the key with env name env. Returns 0, or an exit code. */
static int
from_config(const char *env, struct names *origins)
{
	char path[PATHS_MAX];
	size_t before = origins->n;
	int rc;

	if ((rc = config_default_path(path, sizeof path)) != 0)
		return rc;
	config_binding(env, origins);
	if (origins->n == before)
		return cli_error(EXIT_NOT_FOUND,
		                 "no provider in %s both uses $%s in its api_key and has an "
		                 "api_base_url; nothing changed",
		                 path, env);
	return 0;
}

/* Send one bind of name. Returns the reply when it succeeded, else NULL with *rc set. */
static struct jsonr *
send_bind(struct cli *cli, const char *name, const char *mode, const struct names *origins, int *rc)
{
	struct buf req = {0};

	proto_request_begin(&req, OP_BIND);
	proto_field_str(&req, "name", name, strlen(name));
	binding_field(&req, origins);
	proto_field_str(&req, "mode", mode, strlen(mode));
	proto_end(&req);
	return cli_call_ok(cli, &req, rc);
}

/* Show or change one key's binding. */
static int
cmd_bind(struct cli *cli, const struct args *args)
{
	bool add = args_has(args, OPT_ADD), removing = args_has(args, OPT_REMOVE);
	bool config = args_has(args, OPT_FROM_CONFIG);
	struct jsonr *list = NULL, *reply = NULL;
	struct names origins = {0};
	const struct jsonr *key;
	const char *word = args->argv[0], *mode;
	int rc;

	if ((add && removing) || ((add || removing) && args->argc < 2 && !config))
		return cli_usage(cli);
	if (!name_is_valid(word) && !env_is_valid(word))
		return cli_error(EXIT_USAGE, "'%s' is not a key name", word);
	if ((rc = reduce(args->argc - 1, args->argv + 1, &origins)) != 0)
		goto done;
	list = cli_list(cli, &rc);
	if (list == NULL)
		goto done;
	key = suggest_find_key(jsonr_get(list, "keys"), word);
	if (key == NULL) {
		rc = suggest_no_key(jsonr_get(list, "keys"), word,
		                    "list them with: ccr-config list");
		goto done;
	}
	if (origins.n == 0 && !config) {
		show(cli, key, NULL);
		goto done;
	}
	if (config && (rc = from_config(cli_str(key, "env"), &origins)) != 0)
		goto done;
	if (origins.n > ORIGINS_MAX) {
		rc = cli_error(EXIT_USAGE,
		               "a key may be bound to at most %d origins; nothing changed",
		               ORIGINS_MAX);
		goto done;
	}
	mode = add ? "add" : removing ? "remove" : "set";
	reply = send_bind(cli, cli_str(key, "name"), mode, &origins, &rc);
	if (reply != NULL)
		show(cli, reply, jsonr_get(reply, "changed"));
done:
	conn_reply_free(reply);
	conn_reply_free(list);
	names_free(&origins);
	return rc;
}

const struct command cmd_bind_entry = {
    .name = "bind",
    .usage = "NAME [URL...] [--add|--remove] [--from-config]",
    .summary = "show or set the origins a key may be sent to (URLs are reduced to origins)",
    .options = options,
    .args = {.min = 1, .max = CMD_ARGS_ANY},
    .json = "print {\"ok\":true,\"name\",\"env\",\"origins\":[…],\"changed\"}",
    .example = "ccr-config bind cerebras https://api.cerebras.ai/v1/chat/completions",
    .run = cmd_bind,
};
