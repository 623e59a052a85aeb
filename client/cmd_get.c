/*
 * ccr-config get NAME [--reveal]: one key's env name, masked value, update time
 * and the origins it is bound to. NAME may be the key's env name too. The
 * daemon masks the value, so it never leaves the daemon, and a masked get is
 * served inside a coding agent too. --reveal prints the raw value alone, for a
 * person or a script outside any agent (as `op read` does): the daemon refuses
 * it inside an agent, and audits it.
 */
#include <stdio.h>
#include <string.h>

#include "binding.h"
#include "cli.h"
#include "names.h"
#include "suggest.h"

/* Print one key (a get reply or a list entry, both with name, env, masked, updated, origins). */
static void
show(struct cli *cli, const struct jsonr *key)
{
	struct buf out = {0};
	char when[64], bound[BINDING_TEXT_MAX];

	if (!cli->json) {
		cli_time_local(cli_str(key, "updated"), when, sizeof when);
		binding_join(jsonr_get(key, "origins"), ", ", bound, sizeof bound);
		printf("%s  %s  %s  updated %s  bound to %s\n", cli_str(key, "name"),
		       cli_str(key, "env"), cli_str(key, "masked"), when,
		       bound[0] != '\0' ? bound : "no origin");
		return;
	}
	cli_json_key(&out, cli_str(key, "name"));
	proto_field_str(&out, "env", cli_str(key, "env"), strlen(cli_str(key, "env")));
	proto_field_str(&out, "masked", cli_str(key, "masked"), strlen(cli_str(key, "masked")));
	proto_field_str(&out, "updated", cli_str(key, "updated"), strlen(cli_str(key, "updated")));
	binding_copy(&out, jsonr_get(key, "origins"));
	cli_json_out(&out);
}

/* Print the raw value of the key called name and nothing else, or its --json. */
static int
reveal(struct cli *cli, const char *name)
{
	struct buf req = {0}, out = {0};
	struct jsonr *reply;
	int rc;

	cli_protect();
	proto_request_begin(&req, OP_GET);
	proto_field_str(&req, "name", name, strlen(name));
	proto_end(&req);
	reply = cli_call_ok(cli, &req, &rc);
	if (reply == NULL)
		return rc;
	if (cli->json) {
		cli_json_key(&out, name);
		proto_field_str(&out, "env", cli_str(reply, "env"), strlen(cli_str(reply, "env")));
		proto_field_str(&out, "value", cli_str(reply, "value"),
		                strlen(cli_str(reply, "value")));
		cli_json_out(&out);
	} else {
		printf("%s\n", cli_str(reply, "value"));
	}
	conn_reply_free(reply);
	return fflush(stdout) == 0 ? EXIT_OK : EXIT_FAILURE_OTHER;
}

/*
 * Not a key's name: find it by env name in a list, or say which names are
 * near. Costs a list, so only a miss pays for it.
 */
static int
look_up(struct cli *cli, const char *word, bool raw)
{
	const struct jsonr *key;
	struct jsonr *list;
	int rc = EXIT_OK;

	list = cli_list(cli, &rc);
	if (list == NULL)
		return rc;
	key = suggest_find_key(jsonr_get(list, "keys"), word);
	if (key == NULL)
		rc = suggest_no_key(jsonr_get(list, "keys"), word,
		                    "list them with: ccr-config list");
	else if (raw)
		rc = reveal(cli, cli_str(key, "name"));
	else
		show(cli, key);
	conn_reply_free(list);
	return rc;
}

enum { OPT_REVEAL };

static const struct cmd_option options[] = {
    [OPT_REVEAL] = {"reveal", 'r', NULL,
                    "print the raw value alone (outside any agent; audited)"},
    {0},
};

/* Show one key, masked. */
static int
cmd_get(struct cli *cli, const struct args *args)
{
	const char *word = args->argv[0];
	struct buf req = {0};
	struct jsonr *reply;
	enum proto_err err;
	bool raw = args_has(args, OPT_REVEAL);
	int rc;

	if (!name_is_valid(word) && !env_is_valid(word))
		return cli_error(EXIT_USAGE, "'%s' is not a key name", word);
	if (!name_is_valid(word))
		return look_up(cli, word, raw);
	proto_request_begin(&req, OP_GET);
	proto_field_str(&req, "name", word, strlen(word));
	proto_field_bool(&req, "masked", true);
	proto_end(&req);
	reply = cli_call(cli, &req, &rc);
	buf_free(&req);
	if (reply == NULL)
		return rc;
	err = conn_reply_error(reply, NULL);
	if (err == PE_OK && raw)
		rc = reveal(cli, word);
	else if (err == PE_OK)
		show(cli, reply);
	else if (err == PE_NOT_FOUND)
		rc = look_up(cli, word, raw);
	else
		rc = cli_reply_failed(reply);
	conn_reply_free(reply);
	return rc;
}

const struct command cmd_get_entry = {
    .name = "get",
    .usage = "NAME [--reveal]",
    .summary = "show a key's env name, masked value, update time and origins (NAME or env name)",
    .options = options,
    .args = {.min = 1, .max = 1},
    .json = "print {\"ok\":true,\"name\",\"env\",\"masked\",\"updated\",\"origins\":[…]}; "
            "with --reveal {\"ok\":true,\"name\",\"env\",\"value\"}",
    .example = "ccr-config get OPENROUTER_API_KEY",
    .run = cmd_get,
};
