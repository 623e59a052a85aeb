/*
 * Unit tests for names.c: the key-name rule, the env-name rule, the default env
 * name of a key and the key name an X_API_KEY variable imports as.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "names.h"

/* The default env name of name, in a static buffer. */
static const char *
default_env(const char *name)
{
	static char out[ENV_MAX_LEN + 1];

	memset(out, 'x', sizeof out);
	name_default_env(name, out);
	return out;
}

static void
test_plain_names_are_valid(void **state)
{
	(void)state;
	assert_true(name_is_valid("cerebras"));
	assert_true(name_is_valid("open-router"));
	assert_true(name_is_valid("a"));
	assert_true(name_is_valid("7"));
	assert_true(name_is_valid("Groq.v2_key-1"));
	assert_true(name_is_valid("OPENAI_API_KEY"));
}

static void
test_empty_and_null_names_are_invalid(void **state)
{
	(void)state;
	assert_false(name_is_valid(""));
	assert_false(name_is_valid(NULL));
}

static void
test_names_must_start_with_a_letter_or_digit(void **state)
{
	(void)state;
	assert_false(name_is_valid(".hidden"));
	assert_false(name_is_valid("-dash"));
	assert_false(name_is_valid("_under"));
	assert_true(name_is_valid("x.hidden"));
}

static void
test_names_reject_characters_outside_the_rule(void **state)
{
	static const char *const bad[] = {
	    "a b", "a/b", "a$b", "a:b", "a\tb", "a\nb", "caf\xc3\xa9", "a+b", "a@b", "a=b",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		if (name_is_valid(bad[i]))
			fail_msg("name \"%s\" was accepted", bad[i]);
	}
}

static void
test_names_are_at_most_128_characters(void **state)
{
	char name[130];

	(void)state;
	memset(name, 'a', sizeof name);
	name[128] = '\0';
	assert_true(name_is_valid(name));
	name[128] = 'a';
	name[129] = '\0';
	assert_false(name_is_valid(name));
}

static void
test_env_names_follow_the_shell_rule(void **state)
{
	(void)state;
	assert_true(env_is_valid("CEREBRAS_API_KEY"));
	assert_true(env_is_valid("_X"));
	assert_true(env_is_valid("A1"));
	assert_true(env_is_valid("_"));
	assert_false(env_is_valid(""));
	assert_false(env_is_valid(NULL));
	assert_false(env_is_valid("1A"));
	assert_false(env_is_valid("lower"));
	assert_false(env_is_valid("A-B"));
	assert_false(env_is_valid("A.B"));
	assert_false(env_is_valid("A B"));
}

static void
test_env_names_are_at_most_env_max_len_characters(void **state)
{
	char env[ENV_MAX_LEN + 2];

	(void)state;
	memset(env, 'A', sizeof env);
	env[ENV_MAX_LEN] = '\0';
	assert_true(env_is_valid(env));
	env[ENV_MAX_LEN] = 'A';
	env[ENV_MAX_LEN + 1] = '\0';
	assert_false(env_is_valid(env));
}

static void
test_default_env_upper_cases_and_appends_api_key(void **state)
{
	(void)state;
	assert_string_equal(default_env("cerebras"), "CEREBRAS_API_KEY");
	assert_string_equal(default_env("groq"), "GROQ_API_KEY");
}

static void
test_default_env_maps_dots_and_dashes(void **state)
{
	(void)state;
	assert_string_equal(default_env("open-router"), "OPEN_ROUTER_API_KEY");
	assert_string_equal(default_env("my.key-v2"), "MY_KEY_V2_API_KEY");
	assert_string_equal(default_env("mixed_Case"), "MIXED_CASE_API_KEY");
}

static void
test_default_env_of_an_env_name_is_itself(void **state)
{
	(void)state;
	assert_string_equal(default_env("OPENAI_API_KEY"), "OPENAI_API_KEY");
	assert_string_equal(default_env("DEEPSEEK"), "DEEPSEEK");
}

static void
test_default_env_of_a_name_starting_with_a_digit_gets_a_leading_underscore(void **state)
{
	(void)state;
	assert_string_equal(default_env("1password"), "_1PASSWORD_API_KEY");
	assert_true(env_is_valid(default_env("1password")));
	assert_string_equal(default_env("42.x-y"), "_42_X_Y_API_KEY");
}

static void
test_default_env_of_a_longest_name_fits_and_is_valid(void **state)
{
	char name[NAME_MAX_LEN + 1];
	const char *env;

	(void)state;
	memset(name, 'k', NAME_MAX_LEN);
	name[NAME_MAX_LEN] = '\0';
	env = default_env(name);
	assert_int_equal(strlen(env), NAME_MAX_LEN + 8);
	assert_true(env_is_valid(env));
	assert_string_equal(env + NAME_MAX_LEN, "_API_KEY");
	name[0] = '9';
	env = default_env(name);
	assert_int_equal(strlen(env), ENV_MAX_LEN);
	assert_true(env_is_valid(env));
	assert_int_equal(env[0], '_');
}

static void
test_env_with_api_key_suffix_imports_as_lower_case_name(void **state)
{
	char out[NAME_MAX_LEN + 1];

	(void)state;
	assert_true(name_from_env("CEREBRAS_API_KEY", out));
	assert_string_equal(out, "cerebras");
	assert_true(name_from_env("OPEN_ROUTER_API_KEY", out));
	assert_string_equal(out, "open_router");
}

static void
test_env_without_api_key_suffix_does_not_import(void **state)
{
	char out[NAME_MAX_LEN + 1];

	(void)state;
	assert_false(name_from_env("CEREBRAS_TOKEN", out));
	assert_false(name_from_env("_API_KEY", out));
	assert_false(name_from_env("API_KEY", out));
	assert_false(name_from_env("lower_API_KEY", out));
}

static void
test_env_whose_stem_is_not_a_name_does_not_import(void **state)
{
	char out[NAME_MAX_LEN + 1];

	(void)state;
	assert_false(name_from_env("__API_KEY", out));
	assert_false(name_from_env("_X_API_KEY", out));
}


/* ---- names that change how programs load: never stored, never injected ---- */

static void
test_every_name_that_changes_how_programs_load_is_refused(void **state)
{
	static const char *const refused[] = {
	    "LD_PRELOAD", "LD_LIBRARY_PATH", "LD_AUDIT", "DYLD_INSERT_LIBRARIES", "NODE_OPTIONS",
	    "NODE_PATH", "PATH", "BASH_ENV", "ENV", "SHELLOPTS", "PS4", "IFS", "PYTHONPATH",
	    "PYTHONHOME", "PYTHONSTARTUP", "PERL5LIB", "PERL5OPT", "RUBYOPT", "RUBYLIB",
	    "JAVA_TOOL_OPTIONS", "_JAVA_OPTIONS", "HOME", "SHELL", "TMPDIR", "XDG_CONFIG_HOME",
	    "XDG_RUNTIME_DIR", "CCR_HOME", "CCR_KEYD_SOCKET", "CCR_KEYD_BIN", "GIT_SSH_COMMAND",
	    "GIT_EXEC_PATH", "SSH_AUTH_SOCK", "SSH_ASKPASS", "GCONV_PATH", "LOCPATH",
	    "MALLOC_CHECK_", "NODE_EXTRA_CA_CERTS", "GLIBC_TUNABLES", "ZDOTDIR", "PROMPT_COMMAND",
	    "PYTHONBREAKPOINT", "NODE_TLS_REJECT_UNAUTHORIZED",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof refused / sizeof refused[0]; i++) {
		if (!env_is_refused(refused[i]))
			fail_msg("%s is not refused", refused[i]);
	}
}

static void
test_names_that_only_look_alike_are_allowed(void **state)
{
	static const char *const allowed[] = {
	    "OPENAI_API_KEY", "GEMINI_API_KEY", "GOOGLE_API_KEY", "GITHUB_TOKEN", "GITLAB_TOKEN",
	    "PATHFINDER_API_KEY", "XPATH", "PATH_API_KEY", "HOME_API_KEY", "ENVOY_API_KEY",
	    "LD", "SSH", "CCR_API_KEY", "CEREBRAS_API_KEY", "_1PASSWORD_API_KEY", "IFS2",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof allowed / sizeof allowed[0]; i++) {
		if (env_is_refused(allowed[i]))
			fail_msg("%s is refused", allowed[i]);
	}
}

static void
test_every_entry_is_an_env_name_or_a_prefix_of_one(void **state)
{
	char tmp[ENV_MAX_LEN + 1];
	size_t i, n;

	(void)state;
	assert_true(env_refused_list[0] != NULL);
	for (i = 0; env_refused_list[i] != NULL; i++) {
		const char *e = env_refused_list[i];

		n = strlen(e);
		assert_true(n > 0 && n <= ENV_MAX_LEN);
		memcpy(tmp, e, n + 1);
		if (tmp[n - 1] == '*')
			tmp[n - 1] = 'X'; /* a prefix: any name it begins */
		if (!env_is_valid(tmp) || strchr(tmp, '*') != NULL)
			fail_msg("entry %s is not an env name or a prefix of one", e);
		if (!env_is_refused(tmp))
			fail_msg("entry %s does not refuse %s", e, tmp);
	}
}

static void
test_no_entry_is_repeated_or_covered_by_another(void **state)
{
	size_t i, j, n;

	(void)state;
	for (i = 0; env_refused_list[i] != NULL; i++) {
		for (j = 0; env_refused_list[j] != NULL; j++) {
			const char *a = env_refused_list[i], *b = env_refused_list[j];

			if (i == j)
				continue;
			if (strcmp(a, b) == 0)
				fail_msg("%s is listed twice", a);
			n = strlen(b);
			if (b[n - 1] == '*' && strncmp(a, b, n - 1) == 0)
				fail_msg("%s is already covered by %s", a, b);
		}
	}
}

static void
test_refused_message_names_the_variable_and_fits_a_reply(void **state)
{
	char env[ENV_MAX_LEN + 1], msg[256];

	(void)state;
	env_refused_message("LD_PRELOAD", msg, sizeof msg);
	assert_non_null(strstr(msg, "$LD_PRELOAD changes how programs load or where they look"));
	memset(env, 'A', ENV_MAX_LEN);
	env[ENV_MAX_LEN] = '\0';
	env_refused_message(env, msg, sizeof msg);
	assert_non_null(strstr(msg, env));
	assert_non_null(strstr(msg, "--env")); /* the advice survives the longest name */
}

/* The names that run code: none looks like a credential's. */
static void
test_names_that_run_code_do_not_look_like_credentials(void **state)
{
	static const char *const names[] = {
	    "MAKEFILES",   "TAR_OPTIONS", "SUDO_ASKPASS",         "SYSTEMD_PAGER",
	    "KUBECONFIG",  "AWS_CONFIG_FILE", "VIMINIT",          "RSYNC_RSH",
	    "DOTNET_STARTUP_HOOKS", "GTK3_MODULES", "HTTPS_PROXY", "SSLKEYLOGFILE",
	    "KEY",         "_KEY",        "API_KEY_X",            "A_KEYS",
	    "A_KEY_",      "A_KEY_X2",    "A_KEY__2",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof names / sizeof names[0]; i++) {
		if (env_is_credential(names[i]))
			fail_msg("%s looks like a credential's name", names[i]);
	}
}

static void
test_credential_suffixes_and_numbered_variants_look_like_credentials(void **state)
{
	static const char *const names[] = {
	    "OPENAI_API_KEY", "CCR_APIKEY", "X_KEY",   "GITHUB_TOKEN", "A_SECRET",
	    "DB_PASSWORD",    "GH_PAT",     "OPENAI_API_KEY_2", "X_TOKEN_10",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof names / sizeof names[0]; i++) {
		if (!env_is_credential(names[i]))
			fail_msg("%s does not look like a credential's name", names[i]);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_plain_names_are_valid),
	    cmocka_unit_test(test_empty_and_null_names_are_invalid),
	    cmocka_unit_test(test_names_must_start_with_a_letter_or_digit),
	    cmocka_unit_test(test_names_reject_characters_outside_the_rule),
	    cmocka_unit_test(test_names_are_at_most_128_characters),
	    cmocka_unit_test(test_env_names_follow_the_shell_rule),
	    cmocka_unit_test(test_env_names_are_at_most_env_max_len_characters),
	    cmocka_unit_test(test_default_env_upper_cases_and_appends_api_key),
	    cmocka_unit_test(test_default_env_maps_dots_and_dashes),
	    cmocka_unit_test(test_default_env_of_an_env_name_is_itself),
	    cmocka_unit_test(
	        test_default_env_of_a_name_starting_with_a_digit_gets_a_leading_underscore),
	    cmocka_unit_test(test_default_env_of_a_longest_name_fits_and_is_valid),
	    cmocka_unit_test(test_env_with_api_key_suffix_imports_as_lower_case_name),
	    cmocka_unit_test(test_env_without_api_key_suffix_does_not_import),
	    cmocka_unit_test(test_env_whose_stem_is_not_a_name_does_not_import),
	    cmocka_unit_test(test_every_name_that_changes_how_programs_load_is_refused),
	    cmocka_unit_test(test_names_that_only_look_alike_are_allowed),
	    cmocka_unit_test(test_every_entry_is_an_env_name_or_a_prefix_of_one),
	    cmocka_unit_test(test_no_entry_is_repeated_or_covered_by_another),
	    cmocka_unit_test(test_refused_message_names_the_variable_and_fits_a_reply),
	    cmocka_unit_test(test_names_that_run_code_do_not_look_like_credentials),
	    cmocka_unit_test(test_credential_suffixes_and_numbered_variants_look_like_credentials),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
