/*
 * Unit tests for buf.c: growing, appending, JSON string writing, consuming and
 * wiping byte buffers.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <cjson/cJSON.h>

#include "buf.h"

/* Encode len bytes of s as a JSON string and parse it back with cJSON. */
static char *
json_round_trip(const char *s, size_t len)
{
	struct buf b = {0};
	cJSON *doc;
	char *out;

	buf_add_json(&b, s, len);
	doc = cJSON_ParseWithLength(b.data, b.len);
	assert_non_null(doc);
	assert_true(cJSON_IsString(doc));
	out = strdup(doc->valuestring);
	cJSON_Delete(doc);
	buf_free(&b);
	return out;
}

static void
test_empty_buffer_grows_on_first_add(void **state)
{
	struct buf b = {0};

	(void)state;
	buf_adds(&b, "csk-test-0001");
	assert_non_null(b.data);
	assert_int_equal(b.len, 13);
	assert_true(b.cap > b.len);
	assert_string_equal(b.data, "csk-test-0001");
	buf_free(&b);
}

static void
test_appends_stay_nul_terminated_and_ordered(void **state)
{
	struct buf b = {0};

	(void)state;
	buf_add(&b, "ab", 2);
	assert_int_equal(b.data[b.len], '\0');
	buf_addc(&b, 'c');
	assert_int_equal(b.data[b.len], '\0');
	buf_adds(&b, "de");
	buf_addi(&b, -42);
	buf_addi(&b, 9223372036854775807LL);
	assert_string_equal(b.data, "abcde-429223372036854775807");
	assert_int_equal(b.len, strlen("abcde-429223372036854775807"));
	buf_free(&b);
}

static void
test_large_appends_keep_earlier_content(void **state)
{
	struct buf b = {0};
	char chunk[1000];
	size_t i;

	(void)state;
	for (i = 0; i < 100; i++) {
		memset(chunk, 'a' + (int)(i % 26), sizeof chunk);
		buf_add(&b, chunk, sizeof chunk);
	}
	assert_int_equal(b.len, 100000);
	assert_true(b.cap > b.len);
	for (i = 0; i < 100; i++)
		assert_int_equal(b.data[i * 1000 + 999], 'a' + (int)(i % 26));
	assert_int_equal(b.data[b.len], '\0');
	buf_free(&b);
}

static void
test_reserve_leaves_room_for_extra_bytes_and_a_nul(void **state)
{
	struct buf b = {0};

	(void)state;
	buf_reserve(&b, 300);
	assert_true(b.cap - b.len >= 301);
	buf_adds(&b, "x");
	buf_reserve(&b, 5000);
	assert_true(b.cap - b.len >= 5001);
	buf_free(&b);
}

static void
test_reserve_keeps_the_contents_a_c_string(void **state)
{
	struct buf b = {0};

	(void)state;
	buf_reserve(&b, 300);
	assert_int_equal(b.data[0], '\0');
	buf_adds(&b, "csk-test-1");
	/* Growing moves the contents to a new block: the terminator must move too. */
	buf_reserve(&b, 100000);
	assert_int_equal(b.data[b.len], '\0');
	assert_string_equal(b.data, "csk-test-1");
	buf_free(&b);
}

static void
test_consume_drops_the_front_and_keeps_the_rest(void **state)
{
	struct buf b = {0};

	(void)state;
	buf_adds(&b, "line one\nline two\n");
	buf_consume(&b, 9);
	assert_int_equal(b.len, 9);
	assert_string_equal(b.data, "line two\n");
	buf_free(&b);
}

static void
test_consume_wipes_the_freed_tail(void **state)
{
	struct buf b = {0};
	size_t i;

	(void)state;
	buf_adds(&b, "0123456789");
	buf_consume(&b, 4);
	assert_string_equal(b.data, "456789");
	/* Bytes 6..9 held the stale copy "6789"; they must be gone. */
	for (i = 6; i < 10; i++)
		assert_int_equal(b.data[i], '\0');
	buf_free(&b);
}

static void
test_consume_of_everything_empties_the_buffer(void **state)
{
	struct buf b = {0};

	(void)state;
	buf_adds(&b, "csk-test-secret");
	buf_consume(&b, 100);
	assert_int_equal(b.len, 0);
	assert_string_equal(b.data, "");
	assert_int_equal(b.data[5], '\0');
	buf_free(&b);
}

static void
test_clear_wipes_contents_and_keeps_memory(void **state)
{
	struct buf b = {0};
	char *before;
	size_t cap, i;

	(void)state;
	buf_adds(&b, "csk-test-secret-value");
	before = b.data;
	cap = b.cap;
	buf_clear(&b);
	assert_int_equal(b.len, 0);
	assert_ptr_equal(b.data, before);
	assert_int_equal(b.cap, cap);
	for (i = 0; i < strlen("csk-test-secret-value"); i++)
		assert_int_equal(b.data[i], '\0');
	buf_free(&b);
}

static void
test_clear_of_an_unused_buffer_is_harmless(void **state)
{
	struct buf b = {0};

	(void)state;
	buf_clear(&b);
	assert_null(b.data);
	assert_int_equal(b.len, 0);
}

static void
test_free_resets_the_buffer_for_reuse(void **state)
{
	struct buf b = {0};

	(void)state;
	buf_adds(&b, "csk-test-x");
	buf_free(&b);
	assert_null(b.data);
	assert_int_equal(b.len, 0);
	assert_int_equal(b.cap, 0);
	buf_adds(&b, "again");
	assert_string_equal(b.data, "again");
	buf_free(&b);
}

static void
test_wipe_zeroes_every_byte(void **state)
{
	char s[] = "csk-test-abcdef";
	size_t i;

	(void)state;
	wipe(s, sizeof s - 1);
	for (i = 0; i < sizeof s; i++)
		assert_int_equal(s[i], '\0');
	wipe(NULL, 10); /* must not crash */
}

static void
test_json_string_of_plain_text_is_quoted_as_is(void **state)
{
	struct buf b = {0};

	(void)state;
	buf_add_json(&b, "cerebras", 8);
	assert_string_equal(b.data, "\"cerebras\"");
	buf_free(&b);
}

static void
test_json_string_escapes_quotes_and_backslashes(void **state)
{
	struct buf b = {0};
	char *back;

	(void)state;
	buf_add_json(&b, "a\"b\\c", 5);
	assert_string_equal(b.data, "\"a\\\"b\\\\c\"");
	buf_free(&b);
	back = json_round_trip("a\"b\\c", 5);
	assert_string_equal(back, "a\"b\\c");
	free(back);
}

static void
test_json_string_escapes_every_control_character(void **state)
{
	char in[32];
	struct buf b = {0};
	size_t i;
	cJSON *doc;

	(void)state;
	for (i = 1; i < 32; i++)
		in[i - 1] = (char)i;
	buf_add_json(&b, in, 31);
	for (i = 0; i < b.len; i++)
		assert_true((unsigned char)b.data[i] >= 0x20);
	assert_non_null(strstr(b.data, "\\n"));
	assert_non_null(strstr(b.data, "\\t"));
	assert_non_null(strstr(b.data, "\\r"));
	assert_non_null(strstr(b.data, "\\u0001"));
	assert_non_null(strstr(b.data, "\\u001f"));
	doc = cJSON_ParseWithLength(b.data, b.len);
	assert_non_null(doc);
	assert_memory_equal(doc->valuestring, in, 31);
	assert_int_equal(strlen(doc->valuestring), 31);
	cJSON_Delete(doc);
	buf_free(&b);
}

static void
test_json_string_writes_nul_as_an_escape(void **state)
{
	struct buf b = {0};

	(void)state;
	buf_add_json(&b, "a\0b", 3);
	assert_string_equal(b.data, "\"a\\u0000b\"");
	buf_free(&b);
}

static void
test_json_string_passes_utf8_through(void **state)
{
	const char *s = "cl\xc3\xa9-\xe2\x82\xac-\xf0\x9f\x94\x91";
	struct buf b = {0};
	char *back;

	(void)state;
	buf_add_json(&b, s, strlen(s));
	assert_int_equal(b.len, strlen(s) + 2);
	assert_memory_equal(b.data + 1, s, strlen(s));
	buf_free(&b);
	back = json_round_trip(s, strlen(s));
	assert_string_equal(back, s);
	free(back);
}

static void
test_json_string_appends_after_existing_content(void **state)
{
	struct buf b = {0};

	(void)state;
	buf_adds(&b, "{\"k\":");
	buf_add_json(&b, "v\n", 2);
	buf_addc(&b, '}');
	assert_string_equal(b.data, "{\"k\":\"v\\n\"}");
	buf_free(&b);
}

static void
test_json_length_is_what_the_json_string_writes(void **state)
{
	struct buf b = {0};
	char s[300];
	size_t i, len;

	(void)state;
	/* Every byte alone, then runs that mix plain text, escapes and long plain stretches. */
	for (i = 0; i < 256; i++) {
		s[0] = (char)i;
		buf_clear(&b);
		buf_add_json(&b, s, 1);
		assert_int_equal(buf_json_len(s, 1), b.len);
	}
	for (len = 0; len < sizeof s; len++) {
		for (i = 0; i < len; i++)
			s[i] = i % 11 == 3 ? '"' : i % 17 == 5 ? '\x01' : i % 23 == 7 ? '\n' : 'k';
		buf_clear(&b);
		buf_add_json(&b, s, len);
		assert_int_equal(buf_json_len(s, len), b.len);
	}
	buf_free(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_empty_buffer_grows_on_first_add),
	    cmocka_unit_test(test_appends_stay_nul_terminated_and_ordered),
	    cmocka_unit_test(test_large_appends_keep_earlier_content),
	    cmocka_unit_test(test_reserve_leaves_room_for_extra_bytes_and_a_nul),
	    cmocka_unit_test(test_reserve_keeps_the_contents_a_c_string),
	    cmocka_unit_test(test_consume_drops_the_front_and_keeps_the_rest),
	    cmocka_unit_test(test_consume_wipes_the_freed_tail),
	    cmocka_unit_test(test_consume_of_everything_empties_the_buffer),
	    cmocka_unit_test(test_clear_wipes_contents_and_keeps_memory),
	    cmocka_unit_test(test_clear_of_an_unused_buffer_is_harmless),
	    cmocka_unit_test(test_free_resets_the_buffer_for_reuse),
	    cmocka_unit_test(test_wipe_zeroes_every_byte),
	    cmocka_unit_test(test_json_string_of_plain_text_is_quoted_as_is),
	    cmocka_unit_test(test_json_string_escapes_quotes_and_backslashes),
	    cmocka_unit_test(test_json_string_escapes_every_control_character),
	    cmocka_unit_test(test_json_string_writes_nul_as_an_escape),
	    cmocka_unit_test(test_json_string_passes_utf8_through),
	    cmocka_unit_test(test_json_string_appends_after_existing_content),
	    cmocka_unit_test(test_json_length_is_what_the_json_string_writes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
