/*
 * Unit tests for jsonr.c: every value type, every escape, the strict grammar
 * (what it refuses and where), the depth limit, reading no byte past the given
 * length, and writing values back exactly as cJSON_PrintUnformatted does.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <cjson/cJSON.h>

#include "jsonr.h"

/* Parse a NUL-terminated text. */
static struct jsonr *
parse(const char *text)
{
	return jsonr_parse(text, strlen(text), NULL, 0);
}

/* Assert that text is refused, with a message that names a byte. */
static void
assert_refused(const char *text)
{
	char err[256] = "";
	struct jsonr *doc = jsonr_parse(text, strlen(text), err, sizeof err);

	if (doc != NULL)
		fail_msg("accepted: %s", text);
	assert_non_null(strstr(err, "byte "));
}

/* Parse text that holds one string and return a copy of its decoded bytes (length in *len). */
static char *
decode_string(const char *text, size_t *len)
{
	struct jsonr *doc = parse(text);
	char *out;

	if (doc == NULL)
		fail_msg("refused: %s", text);
	assert_int_equal(doc->type, JSONR_STRING);
	*len = doc->len;
	out = malloc(doc->len + 1);
	assert_non_null(out);
	memcpy(out, doc->u.str, doc->len + 1);
	jsonr_free(doc);
	return out;
}

/* Assert that the string literal text decodes to the want_len bytes at want. */
static void
assert_decodes(const char *text, const char *want, size_t want_len)
{
	size_t len;
	char *got = decode_string(text, &len);

	assert_int_equal(len, want_len);
	assert_memory_equal(got, want, want_len);
	assert_int_equal(got[len], '\0');
	free(got);
}

/* What jsonr_print writes for text, in a malloc'd string. */
static char *
jsonr_printed(const char *text)
{
	struct jsonr *doc = parse(text);
	struct buf b = {0};
	char *out;

	if (doc == NULL)
		fail_msg("refused: %s", text);
	jsonr_print(&b, doc);
	out = strdup(b.data);
	buf_free(&b);
	jsonr_free(doc);
	return out;
}

static void
test_every_value_type_parses(void **state)
{
	struct jsonr *doc = parse(" {\"n\":null,\"f\":false,\"t\":true,\"num\":-12.5e1,"
	                          "\"s\":\"csk-test\",\"a\":[1,2],\"o\":{\"k\":\"v\"}} ");

	(void)state;
	assert_non_null(doc);
	assert_true(jsonr_is(doc, JSONR_OBJECT));
	assert_int_equal(jsonr_count(doc), 7);
	assert_true(jsonr_is(jsonr_get(doc, "n"), JSONR_NULL));
	assert_true(jsonr_is(jsonr_get(doc, "f"), JSONR_FALSE));
	assert_true(jsonr_is(jsonr_get(doc, "t"), JSONR_TRUE));
	assert_true(jsonr_num(jsonr_get(doc, "num"), 0) == -125.0);
	assert_string_equal(jsonr_str(jsonr_get(doc, "s")), "csk-test");
	assert_int_equal(jsonr_get(doc, "s")->len, 8);
	assert_true(jsonr_is(jsonr_get(doc, "a"), JSONR_ARRAY));
	assert_int_equal(jsonr_count(jsonr_get(doc, "a")), 2);
	assert_string_equal(jsonr_str(jsonr_get(jsonr_get(doc, "o"), "k")), "v");
	assert_string_equal(jsonr_get(doc, "o")->key, "o");
	jsonr_free(doc);
}

static void
test_a_scalar_may_be_the_whole_document(void **state)
{
	struct jsonr *doc;

	(void)state;
	doc = parse("\"x\"");
	assert_string_equal(jsonr_str(doc), "x");
	jsonr_free(doc);
	doc = parse("\t7\r\n");
	assert_true(jsonr_num(doc, 0) == 7.0);
	jsonr_free(doc);
	doc = parse("null");
	assert_true(jsonr_is(doc, JSONR_NULL));
	jsonr_free(doc);
}

static void
test_empty_containers_have_no_members(void **state)
{
	struct jsonr *doc = parse("[[],{}, [ ] ,{ \n}]");
	const struct jsonr *e;
	int n = 0;

	(void)state;
	assert_non_null(doc);
	assert_int_equal(jsonr_count(doc), 4);
	jsonr_foreach(e, doc)
	{
		assert_int_equal(jsonr_count(e), 0);
		assert_null(jsonr_first(e));
		n++;
	}
	assert_int_equal(n, 4);
	jsonr_free(doc);
}

static void
test_array_elements_come_in_order(void **state)
{
	struct jsonr *doc = parse("[0,1,2,3,4,5,6,7,8,9]");
	const struct jsonr *e;
	int n = 0;

	(void)state;
	jsonr_foreach(e, doc)
	{
		assert_true(jsonr_num(e, -1) == n);
		assert_null(e->key);
		n++;
	}
	assert_int_equal(n, 10);
	jsonr_free(doc);
}

static void
test_member_lookup_takes_the_first_of_a_repeated_key(void **state)
{
	struct jsonr *doc = parse("{\"a\":1,\"ab\":2,\"a\":3,\"\":4}");
	const struct jsonr *m;
	int n = 0;

	(void)state;
	assert_true(jsonr_num(jsonr_get(doc, "a"), 0) == 1.0);
	assert_true(jsonr_num(jsonr_get(doc, "ab"), 0) == 2.0);
	assert_true(jsonr_num(jsonr_get(doc, ""), 0) == 4.0);
	assert_null(jsonr_get(doc, "b"));
	assert_null(jsonr_get(doc, "A"));
	jsonr_foreach(m, doc) n++;
	assert_int_equal(n, 4); /* iteration sees every member, repeats too */
	jsonr_free(doc);
}

static void
test_member_keys_are_matched_after_decoding(void **state)
{
	struct jsonr *doc = parse("{\"a\\u0062\\n\":true}");

	(void)state;
	assert_true(jsonr_is(jsonr_get(doc, "ab\n"), JSONR_TRUE));
	assert_int_equal(jsonr_first(doc)->key_len, 3);
	jsonr_free(doc);
}

static void
test_accessors_are_safe_on_null_and_other_types(void **state)
{
	struct jsonr *doc = parse("[\"s\",1]");

	(void)state;
	assert_null(jsonr_get(NULL, "x"));
	assert_null(jsonr_get(doc, "x")); /* an array has no members by name */
	assert_null(jsonr_str(NULL));
	assert_null(jsonr_str(jsonr_first(doc)->next));
	assert_true(jsonr_num(jsonr_first(doc), 42) == 42.0);
	assert_true(jsonr_num(NULL, 42) == 42.0);
	assert_int_equal(jsonr_count(jsonr_first(doc)), 0);
	assert_null(jsonr_first(jsonr_first(doc)));
	assert_false(jsonr_is(NULL, JSONR_NULL));
	jsonr_free(doc);
	jsonr_free(NULL);
}

static void
test_every_simple_escape_decodes(void **state)
{
	(void)state;
	assert_decodes("\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"", "\"\\/\b\f\n\r\t", 8);
	assert_decodes("\"a\\nb\"", "a\nb", 3);
	assert_decodes("\"\"", "", 0);
}

static void
test_unicode_escapes_decode_to_utf8(void **state)
{
	(void)state;
	assert_decodes("\"\\u0041\"", "A", 1);
	assert_decodes("\"\\u00e9\\u00E9\"", "\xc3\xa9\xc3\xa9", 4);
	assert_decodes("\"\\u20ac\"", "\xe2\x82\xac", 3);
	assert_decodes("\"\\uffff\"", "\xef\xbf\xbf", 3);
	assert_decodes("\"\\u007f\\u0080\\u07ff\\u0800\"", "\x7f\xc2\x80\xdf\xbf\xe0\xa0\x80", 8);
	/* A surrogate pair is one code point: U+1F600, and the highest, U+10FFFF. */
	assert_decodes("\"\\ud83d\\ude00\"", "\xf0\x9f\x98\x80", 4);
	assert_decodes("\"\\uDBFF\\uDFFF\"", "\xf4\x8f\xbf\xbf", 4);
	assert_decodes("\"\\ud800\\udc00x\"", "\xf0\x90\x80\x80x", 5);
	/* \u0000 is a NUL inside the string: the length says so. */
	assert_decodes("\"a\\u0000b\"", "a\0b", 3);
}

static void
test_raw_utf8_is_kept_as_written(void **state)
{
	(void)state;
	assert_decodes("\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"",
	               "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", 14);
}

static void
test_an_escape_or_a_raw_byte_decodes_at_any_position_of_a_long_string(void **state)
{
	static const char *const in[] = {"\\n", "\\\"", "\xc3\xa9", "\\u00e9", "~"};
	static const char *const want[] = {"\n", "\"", "\xc3\xa9", "\xc3\xa9", "~"};
	char text[64], expect[64];
	size_t k, pos, len;

	(void)state;
	for (k = 0; k < sizeof in / sizeof in[0]; k++) {
		for (pos = 0; pos <= 24; pos++) {
			len = (size_t)snprintf(text, sizeof text, "\"%.*s%s%.*s\"", (int)pos,
			                       "abcdefghijklmnopqrstuvwxyz", in[k], (int)(24 - pos),
			                       "ABCDEFGHIJKLMNOPQRSTUVWXYZ");
			snprintf(expect, sizeof expect, "%.*s%s%.*s", (int)pos,
			         "abcdefghijklmnopqrstuvwxyz", want[k], (int)(24 - pos),
			         "ABCDEFGHIJKLMNOPQRSTUVWXYZ");
			assert_true(len < sizeof text);
			assert_decodes(text, expect, strlen(expect));
			/* The same with a control character there instead: refused. */
			text[pos + 1] = '\x01';
			assert_refused(text);
		}
	}
}

static void
test_unpaired_surrogates_are_refused(void **state)
{
	(void)state;
	assert_refused("\"\\ud800\"");
	assert_refused("\"\\udc00\"");
	assert_refused("\"\\udfff\\ud800\"");
	assert_refused("\"\\ud800\\u0041\"");
	assert_refused("\"\\ud800\\ud800\"");
	assert_refused("\"\\ud800x\"");
	assert_refused("\"\\ud800\\n\"");
	assert_refused("\"\\ud800\\u");
	assert_refused("\"\\ud800\\udc0\"");
}

static void
test_bad_escapes_are_refused(void **state)
{
	(void)state;
	assert_refused("\"\\x41\"");
	assert_refused("\"\\U0041\"");
	assert_refused("\"\\a\"");
	assert_refused("\"\\'\"");
	assert_refused("\"\\0\"");
	assert_refused("\"\\u12\"");
	assert_refused("\"\\u12g4\"");
	assert_refused("\"\\u-123\"");
	assert_refused("\"\\u 123\"");
}

static void
test_unterminated_strings_are_refused(void **state)
{
	(void)state;
	assert_refused("\"");
	assert_refused("\"abc");
	assert_refused("\"abc\\");
	assert_refused("\"abc\\\"");
	assert_refused("\"abc\\u00");
	assert_refused("{\"a");
	assert_refused("{\"a\":\"b}");
	assert_refused("[\"a]");
}

static void
test_control_characters_in_strings_are_refused(void **state)
{
	char text[8];
	int c;

	(void)state;
	for (c = 1; c < 0x20; c++) {
		snprintf(text, sizeof text, "\"a%cb\"", c);
		assert_refused(text);
	}
	assert_null(jsonr_parse("\"a\0b\"", 5, NULL, 0));
	assert_decodes("\"a\x7f\"", "a\x7f", 2); /* DEL needs no escape */
}

static void
test_invalid_utf8_in_strings_is_refused(void **state)
{
	(void)state;
	assert_refused("\"\x80\"");             /* a lone continuation byte */
	assert_refused("\"\xc0\x80\"");         /* an overlong NUL */
	assert_refused("\"\xc1\xbf\"");         /* overlong */
	assert_refused("\"\xe0\x80\x80\"");     /* overlong */
	assert_refused("\"\xed\xa0\x80\"");     /* an encoded surrogate */
	assert_refused("\"\xe2\x82\"");         /* cut short */
	assert_refused("\"\xf4\x90\x80\x80\""); /* past U+10FFFF */
	assert_refused("\"\xf5\x80\x80\x80\"");
	assert_refused("\"\xff\"");
	assert_refused("\"\xe2\x82");
}

static void
test_numbers_follow_the_json_grammar(void **state)
{
	static const char *const good[] = {
	    "0",   "-0",  "7",    "-7",   "10",     "1.5", "-0.25",
	    "1e3", "1E3", "1e+3", "1e-3", "1.5E+2", "0.0", "123456789012345678901234567890",
	    NULL};
	static const char *const bad[] = {"01",  "-01",      "+1",        ".5",    "1.",    "1.e3",
	                                  "1e",  "1e+",      "-",         "--1",   "- 1",   "0x10",
	                                  "NaN", "Infinity", "-Infinity", "1_000", "1e3.5", "0.",
	                                  "00",  "1ee3",     NULL};
	size_t i;

	(void)state;
	for (i = 0; good[i] != NULL; i++) {
		struct jsonr *doc = parse(good[i]);

		if (doc == NULL)
			fail_msg("refused: %s", good[i]);
		assert_true(jsonr_is(doc, JSONR_NUMBER));
		assert_true(jsonr_num(doc, NAN) == strtod(good[i], NULL));
		jsonr_free(doc);
	}
	for (i = 0; bad[i] != NULL; i++)
		assert_refused(bad[i]);
}

static void
test_numbers_read_exactly(void **state)
{
	static const char *const texts[] = {"0.1",
	                                    "9007199254740993",
	                                    "123456789012345",
	                                    "-999999999999999",
	                                    "1234567890123456",
	                                    "2.5e-308",
	                                    "1.7976931348623157e308",
	                                    "4.9e-324",
	                                    "3.141592653589793",
	                                    NULL};
	struct jsonr *doc;
	size_t i;

	(void)state;
	for (i = 0; texts[i] != NULL; i++) {
		doc = parse(texts[i]);
		assert_non_null(doc);
		assert_true(doc->u.num == strtod(texts[i], NULL));
		jsonr_free(doc);
	}
	doc = parse("-0");
	assert_true(signbit(doc->u.num));
	jsonr_free(doc);
	doc = parse("1e999");
	assert_true(isinf(doc->u.num));
	jsonr_free(doc);
}

static void
test_literals_must_be_exact(void **state)
{
	(void)state;
	assert_refused("tru");
	assert_refused("nul");
	assert_refused("fals");
	assert_refused("True");
	assert_refused("NULL");
	assert_refused("truex");
	assert_refused("[nulll]");
	assert_refused("undefined");
}

static void
test_structural_mistakes_are_refused(void **state)
{
	static const char *const bad[] = {"[1,]",       "[,1]",    "[1 2]",    "[1,,2]",
	                                  "{,}",        "{\"a\"}", "{\"a\":}", "{\"a\" 1}",
	                                  "{\"a\":1,}", "{1:2}",   "{a:1}",    "{'a':1}",
	                                  "['a']",      "[",       "]",        "{",
	                                  "}",          "[}",      "{]",       "{\"a\":1 \"b\":2}",
	                                  ":",          ",",       "[1]]",     "{\"a\":1}}",
	                                  "/* c */ 1",  "1 // c",  NULL};
	size_t i;

	(void)state;
	for (i = 0; bad[i] != NULL; i++)
		assert_refused(bad[i]);
}

static void
test_empty_or_blank_text_is_refused(void **state)
{
	(void)state;
	assert_refused("");
	assert_refused(" \t\r\n");
	assert_null(jsonr_parse(NULL, 0, NULL, 0));
}

static void
test_trailing_garbage_is_refused(void **state)
{
	struct jsonr *doc;

	(void)state;
	assert_refused("{} x");
	assert_refused("{}{}");
	assert_refused("1 2");
	assert_refused("\"a\"\"b\"");
	assert_refused("{}\n{}");
	assert_refused("[] \f");          /* form feed is not JSON whitespace */
	assert_refused("\xef\xbb\xbf{}"); /* nor is a byte-order mark */
	doc = parse("{} \t\r\n ");
	assert_non_null(doc);
	jsonr_free(doc);
}

static void
test_nesting_up_to_the_limit_parses(void **state)
{
	char text[2 * JSONR_DEPTH_MAX + 1];
	struct jsonr *doc;
	int i;

	(void)state;
	for (i = 0; i < JSONR_DEPTH_MAX; i++) {
		text[i] = '[';
		text[2 * JSONR_DEPTH_MAX - 1 - i] = ']';
	}
	text[2 * JSONR_DEPTH_MAX] = '\0';
	doc = parse(text);
	assert_non_null(doc);
	jsonr_free(doc);
}

static void
test_nesting_past_the_limit_is_refused(void **state)
{
	struct buf arrays = {0}, objects = {0};
	char err[128];
	int i;

	(void)state;
	for (i = 0; i <= JSONR_DEPTH_MAX; i++) {
		buf_addc(&arrays, '[');
		buf_adds(&objects, "{\"a\":");
	}
	buf_addc(&objects, '1');
	for (i = 0; i <= JSONR_DEPTH_MAX; i++) {
		buf_addc(&arrays, ']');
		buf_addc(&objects, '}');
	}
	assert_null(jsonr_parse(arrays.data, arrays.len, err, sizeof err));
	assert_non_null(strstr(err, "nested too deeply"));
	assert_null(jsonr_parse(objects.data, objects.len, err, sizeof err));
	assert_non_null(strstr(err, "nested too deeply"));
	buf_free(&arrays);
	buf_free(&objects);
}

static void
test_a_depth_bomb_is_refused_at_the_limit(void **state)
{
	size_t n = 1000000;
	char *text = malloc(n);

	(void)state;
	assert_non_null(text);
	memset(text, '[', n);
	assert_null(jsonr_parse(text, n, NULL, 0));
	memset(text, '{', n);
	assert_null(jsonr_parse(text, n, NULL, 0));
	free(text);
}

/* Parse the bytes of text (no NUL) from a block of exactly that size, so ASan sees any over-read.
 */
static struct jsonr *
parse_exact(const char *text, size_t len)
{
	char *copy = malloc(len ? len : 1);
	struct jsonr *doc;

	assert_non_null(copy);
	memcpy(copy, text, len);
	doc = jsonr_parse(copy, len, NULL, 0);
	free(copy);
	return doc;
}

static void
test_nothing_past_the_length_is_read(void **state)
{
	static const char *const cut[] = {
	    "\"abc", "\"a\\",  "\"a\\u12", "\"\\ud83d\\ude0", "tru", "-", "1.",  "1e",
	    "[1,",   "{\"a\"", "{\"a\":",  "\"\xe2\x82",      "[",   "{", "nul", NULL};
	struct jsonr *doc;
	size_t i;

	(void)state;
	for (i = 0; cut[i] != NULL; i++)
		assert_null(parse_exact(cut[i], strlen(cut[i])));
	/* Bytes after the length do not count, whatever they are. */
	doc = jsonr_parse("{\"a\":1}xyz", 7, NULL, 0);
	assert_non_null(doc);
	jsonr_free(doc);
	doc = jsonr_parse("123456", 3, NULL, 0);
	assert_true(jsonr_num(doc, 0) == 123.0);
	jsonr_free(doc);
	doc = parse_exact("1234567890123456789", 19); /* the strtod path */
	assert_true(jsonr_num(doc, 0) == 1234567890123456789.0);
	jsonr_free(doc);
	doc = parse_exact("\"\\ud83d\\ude00\"", 14);
	assert_string_equal(jsonr_str(doc), "\xf0\x9f\x98\x80");
	jsonr_free(doc);
}

static void
test_the_error_names_the_byte_and_never_the_text(void **state)
{
	char err[256];

	(void)state;
	assert_null(jsonr_parse("{\"value\":\"csk-secret-1234\" x}", 29, err, sizeof err));
	assert_string_equal(err, "byte 27: expected ',' or '}'");
	assert_null(strstr(err, "csk"));
	assert_null(jsonr_parse("[\"csk-secret\\q\"]", 16, err, sizeof err));
	assert_string_equal(err, "byte 12: invalid escape in a string");
	assert_null(jsonr_parse("[1] 2", 5, err, sizeof err));
	assert_string_equal(err, "byte 4: text after the value");
}

static void
test_many_values_fit_in_one_document(void **state)
{
	struct buf b = {0};
	struct jsonr *doc;
	const struct jsonr *e;
	int i, n = 0;

	(void)state;
	buf_addc(&b, '[');
	for (i = 0; i < 20000; i++) {
		if (i > 0)
			buf_addc(&b, ',');
		buf_adds(&b, i % 2 ? "{\"k\":[\"v\",{}]}" : "\"\\u00e9\"");
	}
	buf_addc(&b, ']');
	doc = jsonr_parse(b.data, b.len, NULL, 0);
	assert_non_null(doc);
	assert_int_equal(jsonr_count(doc), 20000);
	jsonr_foreach(e, doc)
	{
		if (n % 2)
			assert_string_equal(jsonr_str(jsonr_first(jsonr_get(e, "k"))), "v");
		else
			assert_string_equal(jsonr_str(e), "\xc3\xa9");
		n++;
	}
	jsonr_free(doc);
	buf_free(&b);
}

static void
test_print_writes_what_cjson_writes(void **state)
{
	static const char *const texts[] = {
	    "{\"ok\":true,\"keys\":[{\"name\":\"a\",\"env\":\"A_API_KEY\",\"masked\":\"csk-"
	    "\xe2\x80\xa6"
	    "f2a9\",\"updated\":\"2026-11-28T21:04:05Z\"}]}",
	    "{ \"a\" : [ 1 , 2.5 , -0 , 1e-7 , 1e300 , 123456789012 , 2147483648 , -2147483649 ] }",
	    "[0.1,0.3333333333333333,1e21,1e22,5e-324,1.7976931348623157e308,100,1e2,-1.5e-10]",
	    "[1e999,-1e999]",
	    "{\"s\":\"\\\"\\\\\\/\\b\\f\\n\\r\\t\\u0001\\u001f\\u007f\\u00e9\\ud83d\\ude00\"}",
	    "[[],{},[[]],{\"\":{}}]",
	    "[null,true,false,\"\"]",
	    "{\"a\":1,\"a\":2}",
	    "\"x\"",
	    "3",
	    NULL};
	size_t i;

	(void)state;
	for (i = 0; texts[i] != NULL; i++) {
		cJSON *c = cJSON_Parse(texts[i]);
		char *want, *got = jsonr_printed(texts[i]);

		assert_non_null(c);
		want = cJSON_PrintUnformatted(c);
		assert_string_equal(got, want);
		cJSON_free(want);
		cJSON_Delete(c);
		free(got);
	}
}

static void
test_print_str_escapes_every_byte_as_cjson_does(void **state)
{
	char s[256];
	struct buf b = {0};
	cJSON *c;
	char *want;
	int i;

	(void)state;
	for (i = 1; i < 256; i++)
		s[i - 1] = (char)i;
	s[255] = '\0';
	jsonr_print_str(&b, s, 255);
	c = cJSON_CreateString(s);
	want = cJSON_PrintUnformatted(c);
	assert_string_equal(b.data, want);
	cJSON_free(want);
	cJSON_Delete(c);
	buf_free(&b);
}

static void
test_print_num_matches_cjson(void **state)
{
	static const double nums[] = {0,
	                              -0.0,
	                              1,
	                              -1,
	                              0.5,
	                              1.0 / 3,
	                              2.0 / 3,
	                              1e15,
	                              1e16,
	                              1e17,
	                              123456789.123456789,
	                              4.35,
	                              0.1 + 0.2,
	                              1e-300,
	                              6.02214076e23,
	                              2147483647,
	                              2147483648.0,
	                              -2147483648.0,
	                              9007199254740993.0};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof nums / sizeof nums[0]; i++) {
		struct buf b = {0};
		cJSON *c = cJSON_CreateNumber(nums[i]);
		char *want = cJSON_PrintUnformatted(c);

		jsonr_print_num(&b, nums[i]);
		assert_string_equal(b.data, want);
		cJSON_free(want);
		cJSON_Delete(c);
		buf_free(&b);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_every_value_type_parses),
	    cmocka_unit_test(test_a_scalar_may_be_the_whole_document),
	    cmocka_unit_test(test_empty_containers_have_no_members),
	    cmocka_unit_test(test_array_elements_come_in_order),
	    cmocka_unit_test(test_member_lookup_takes_the_first_of_a_repeated_key),
	    cmocka_unit_test(test_member_keys_are_matched_after_decoding),
	    cmocka_unit_test(test_accessors_are_safe_on_null_and_other_types),
	    cmocka_unit_test(test_every_simple_escape_decodes),
	    cmocka_unit_test(test_unicode_escapes_decode_to_utf8),
	    cmocka_unit_test(test_raw_utf8_is_kept_as_written),
	    cmocka_unit_test(test_an_escape_or_a_raw_byte_decodes_at_any_position_of_a_long_string),
	    cmocka_unit_test(test_unpaired_surrogates_are_refused),
	    cmocka_unit_test(test_bad_escapes_are_refused),
	    cmocka_unit_test(test_unterminated_strings_are_refused),
	    cmocka_unit_test(test_control_characters_in_strings_are_refused),
	    cmocka_unit_test(test_invalid_utf8_in_strings_is_refused),
	    cmocka_unit_test(test_numbers_follow_the_json_grammar),
	    cmocka_unit_test(test_numbers_read_exactly),
	    cmocka_unit_test(test_literals_must_be_exact),
	    cmocka_unit_test(test_structural_mistakes_are_refused),
	    cmocka_unit_test(test_empty_or_blank_text_is_refused),
	    cmocka_unit_test(test_trailing_garbage_is_refused),
	    cmocka_unit_test(test_nesting_up_to_the_limit_parses),
	    cmocka_unit_test(test_nesting_past_the_limit_is_refused),
	    cmocka_unit_test(test_a_depth_bomb_is_refused_at_the_limit),
	    cmocka_unit_test(test_nothing_past_the_length_is_read),
	    cmocka_unit_test(test_the_error_names_the_byte_and_never_the_text),
	    cmocka_unit_test(test_many_values_fit_in_one_document),
	    cmocka_unit_test(test_print_writes_what_cjson_writes),
	    cmocka_unit_test(test_print_str_escapes_every_byte_as_cjson_does),
	    cmocka_unit_test(test_print_num_matches_cjson),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
