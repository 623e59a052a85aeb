/*
 * ccr-config set NAME [--env VAR] [--from-env VAR]: store a key read from stdin,
 * a prompt with echo off, or a variable of our own environment — never argv.
 * An env name that changes how programs load (env_is_refused) is refused here,
 * before the key is read; the daemon refuses a default env name that is one.
 */
#include <stdio.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "names.h"

/* Refuse a value on the command line without ever printing it. */
static int
refuse_argv_value(void)
{
	return cli_error(EXIT_USAGE,
			 "refusing to take a key from the command line: it would show in ps and "
			 "in your shell history; pipe it on stdin (… | ccr-config set NAME), let "
			 "ccr-config prompt for it, or use --from-env VAR");
}

/* Store the value of one key. */
static int
cmd_set(struct cli *cli, int argc, char **argv)
{
	static const struct option longopts[] = {
		{"env", required_argument, NULL, 'e'},
		{"from-env", required_argument, NULL, 'f'},
		{NULL, 0, NULL, 0},
	};
	const char *env = NULL, *from = NULL, *name, *v;
	struct buf value = {0}, req = {0};
	char prompt[NAME_MAX_LEN + 32], why[ENV_MAX_LEN + 160];
	struct jsonr *reply = NULL;
	int c, rc;

	while ((c = getopt_long(argc, argv, "e:f:", longopts, NULL)) != -1) {
		if (c == 'e')
			env = optarg;
		else if (c == 'f')
			from = optarg;
		else
			return cli_usage(cli);
	}
	if (argc - optind > 1)
		return refuse_argv_value();
	if (argc - optind != 1)
		return cli_usage(cli);
	name = argv[optind];
	if (!name_is_valid(name))
		/* Not echoed: people type "set NAME=VALUE". */
		return cli_error(EXIT_USAGE, "the first argument is not a key name: use 1-128 of "
					     "A-Z a-z 0-9 . _ -, starting with a letter or digit");
	if (env != NULL && !env_is_valid(env))
		return cli_error(EXIT_USAGE, "'%s' is not an env name: use A-Z 0-9 _, not starting "
					     "with a digit", env);
	if (env != NULL && env_is_refused(env)) {
		env_refused_message(env, why, sizeof why);
		return cli_error(EXIT_USAGE, "%s; nothing stored", why);
	}
	cli_protect();
	if (from != NULL) {
		v = getenv(from);
		if (v == NULL || v[0] == '\0')
			return cli_error(EXIT_NOT_FOUND, "$%s is not set or empty; nothing stored",
					 from);
		if (strlen(v) > PROTO_VALUE_MAX || strpbrk(v, "\r\n") != NULL)
			return cli_error(EXIT_USAGE, "$%s is longer than 16 KiB or spans lines; "
						     "nothing stored", from);
		buf_adds(&value, v);
	} else {
		snprintf(prompt, sizeof prompt, "Key for %s: ", name);
		rc = cli_read_secret(prompt, &value);
		if (rc != 0)
			goto done;
	}
	proto_request_begin(&req, OP_SET);
	proto_field_str(&req, "name", name, strlen(name));
	if (env != NULL)
		proto_field_str(&req, "env", env, strlen(env));
	proto_field_str(&req, "value", value.data, value.len);
	proto_end(&req);
	buf_free(&value);
	reply = cli_call(cli, &req, &rc);
	if (reply == NULL)
		goto done;
	if (conn_reply_error(reply, NULL) != PE_OK) {
		rc = cli_reply_failed(reply);
		goto done;
	}
	printf("%s %s (as $%s)\n",
	       jsonr_is(jsonr_get(reply, "created"), JSONR_FALSE) ? "updated" : "stored", name,
	       cli_str(reply, "env"));
	rc = EXIT_OK;
done:
	conn_reply_free(reply);
	buf_free(&value);
	buf_free(&req);
	return rc;
}

const struct command cmd_set_entry = {
	.name = "set",
	.usage = "NAME [--env VAR] [--from-env VAR]",
	.summary = "store a key: from stdin, a prompt without echo, or $VAR (never argv)",
	.run = cmd_set,
};
