/*
 * Unit tests for mask.c: at most 4 leading and 4 trailing characters, never
 * more than a quarter of the key, nothing unprintable shown.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "mask.h"

#define ELLIPSIS "\xe2\x80\xa6"

/* The masked form of the NUL-terminated value v, in a static buffer. */
static const char *
masked(const char *v)
{
	static char out[MASK_MAX];

	memset(out, 'x', sizeof out);
	mask_value(v, strlen(v), out);
	return out;
}

/* Count the characters shown around the ellipsis. */
static size_t
shown(const char *m)
{
	return strlen(m) - strlen(ELLIPSIS);
}

static void
test_a_36_character_key_shows_4_and_4(void **state)
{
	const char *key = "csk-test-0123456789abcdef0123456f2a9";

	(void)state;
	assert_int_equal(strlen(key), 36);
	assert_string_equal(masked(key), "csk-" ELLIPSIS "f2a9");
}

static void
test_a_long_key_shows_no_more_than_4_and_4(void **state)
{
	char key[4097];

	(void)state;
	memset(key, 'z', sizeof key - 1);
	memcpy(key, "csk-test", 8);
	memcpy(key + sizeof key - 5, "TAIL", 4);
	key[sizeof key - 1] = '\0';
	assert_string_equal(masked(key), "csk-" ELLIPSIS "TAIL");
}

static void
test_a_16_character_key_shows_2_and_2(void **state)
{
	(void)state;
	assert_string_equal(masked("csk-test-abcd-yz"), "cs" ELLIPSIS "yz");
}

static void
test_short_keys_show_only_the_ellipsis(void **state)
{
	(void)state;
	assert_string_equal(masked("csk-tes"), ELLIPSIS);
	assert_string_equal(masked("x"), ELLIPSIS);
	assert_string_equal(masked(""), ELLIPSIS);
}

static void
test_no_length_shows_more_than_a_quarter_of_the_key(void **state)
{
	char key[64];
	size_t len;

	(void)state;
	for (len = 0; len < sizeof key; len++) {
		const char *m;
		size_t limit = len / 4 < 8 ? len / 4 : 8;

		memset(key, 'k', len);
		key[len] = '\0';
		m = masked(key);
		assert_non_null(strstr(m, ELLIPSIS));
		if (shown(m) > limit)
			fail_msg("a %zu-byte key shows %zu characters", len, shown(m));
	}
}

static void
test_the_shown_sides_are_balanced(void **state)
{
	(void)state;
	/* 24 bytes: a quarter is 6, so 3 and 3. */
	assert_string_equal(masked("csk-test-abcdefghijk-xyz"), "csk" ELLIPSIS "xyz");
}

static void
test_unprintable_bytes_are_never_shown(void **state)
{
	char out[MASK_MAX];
	const char key[] = "ab\ncsk-test-0123456789abcdef012\t45";

	(void)state;
	mask_value(key, sizeof key - 1, out);
	assert_null(strchr(out, '\n'));
	assert_null(strchr(out, '\t'));
	assert_string_equal(out, "ab" ELLIPSIS "45");
}

static void
test_multibyte_characters_are_never_shown(void **state)
{
	/* 36 bytes that start and end with a two-byte character. */
	const char *key = "\xc3\xa9sk-test-0123456789abcdef01234567\xc3\xa9";

	(void)state;
	assert_int_equal(strlen(key), 36);
	assert_string_equal(masked(key), ELLIPSIS);
}

static void
test_spaces_at_the_edges_are_not_shown(void **state)
{
	(void)state;
	assert_string_equal(masked("  sk-test-0123456789abcdef012345 x"), ELLIPSIS "x");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_a_36_character_key_shows_4_and_4),
	    cmocka_unit_test(test_a_long_key_shows_no_more_than_4_and_4),
	    cmocka_unit_test(test_a_16_character_key_shows_2_and_2),
	    cmocka_unit_test(test_short_keys_show_only_the_ellipsis),
	    cmocka_unit_test(test_no_length_shows_more_than_a_quarter_of_the_key),
	    cmocka_unit_test(test_the_shown_sides_are_balanced),
	    cmocka_unit_test(test_unprintable_bytes_are_never_shown),
	    cmocka_unit_test(test_multibyte_characters_are_never_shown),
	    cmocka_unit_test(test_spaces_at_the_edges_are_not_shown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
