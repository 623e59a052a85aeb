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
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
