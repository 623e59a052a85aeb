/*
 * Unit tests for json5edit.c: finding each provider's name and api_key in the
 * router's config.json as the router's JSON5 parser would, and rewriting chosen
 * api_key literals with every other byte of the file left as written.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "json5edit.h"

/* The providers of text, which must scan; *count receives their number. */
static struct json5edit_provider *
scan_ok(const char *text, size_t *count)
{
	struct json5edit_provider *p = NULL;
	char err[256];
	int rc;

	rc = json5edit_providers(text, strlen(text), &p, count, err, sizeof err);
	if (rc != 0)
		fail_msg("unexpected error: %s", err);
	return p;
}

/* Scan text, which must fail, and return the message in a static buffer. */
static const char *
scan_error(const char *text, size_t len)
{
	static char err[256];
	struct json5edit_provider *p = (void *)1;
	size_t count = 99;

	memset(err, 'x', sizeof err);
	assert_int_equal(json5edit_providers(text, len, &p, &count, err, sizeof err), -1);
	assert_null(p);
	assert_int_equal(count, 0);
	return err;
}

/* Assert that field f is a string with the given decoded value and quote. */
static void
assert_string_field(const struct json5edit_field *f, const char *value, char quote)
{
	assert_int_equal(f->kind, JSON5EDIT_STRING);
	assert_int_equal(f->quote, quote);
	assert_int_equal(f->value.len, strlen(value));
	assert_memory_equal(f->value.data, value, strlen(value));
	assert_int_equal(f->value.data[f->value.len], '\0');
}

/* Rewrite text with values (one per provider, NULL to keep) and compare to expected. */
static void
assert_rewrite(const char *text, const char *const *values, size_t nvalues, const char *expected)
{
	struct json5edit_provider *p;
	struct buf out = {0};
	size_t count;

	p = scan_ok(text, &count);
	assert_int_equal(count, nvalues);
	assert_int_equal(json5edit_replace(text, strlen(text), p, count, values, &out), 0);
	assert_int_equal(out.len, strlen(expected));
	assert_string_equal(out.data, expected);
	json5edit_free(p, count);
	buf_free(&out);
}

static void
test_finds_the_name_and_api_key_of_each_provider(void **state)
{
	const char *text = "{\n"
	                   "  \"PORT\": 3456,\n"
	                   "  \"Providers\": [\n"
	                   "    { \"name\": \"openrouter\", \"api_base_url\": \"https://o/v1\",\n"
	                   "      \"api_key\": \"csk-test-or\", \"models\": [\"a\", \"b\"] },\n"
	                   "    { \"name\": \"cerebras\", \"api_key\": \"csk-test-cb\" }\n"
	                   "  ],\n"
	                   "  \"Router\": { \"default\": \"openrouter,a\" }\n"
	                   "}\n";
	struct json5edit_provider *p;
	size_t count;

	(void)state;
	p = scan_ok(text, &count);
	assert_int_equal(count, 2);
	assert_string_field(&p[0].name, "openrouter", '"');
	assert_string_field(&p[0].api_key, "csk-test-or", '"');
	assert_string_field(&p[1].name, "cerebras", '"');
	assert_string_field(&p[1].api_key, "csk-test-cb", '"');
	assert_memory_equal(text + p[0].api_key.start, "\"csk-test-or\"", 13);
	assert_int_equal(p[0].api_key.end - p[0].api_key.start, 13);
	assert_int_equal(text[p[0].start], '{');
	assert_int_equal(text[p[1].start], '{');
	json5edit_free(p, count);
}

static void
test_comments_that_mention_api_key_and_providers_are_not_read_as_keys(void **state)
{
	const char *text =
	    "// \"Providers\": [{ \"name\": \"evil\", \"api_key\": \"csk-test-c1\" }]\n"
	    "{\n"
	    "  /* \"Providers\": [ { name: 'x', api_key: 'csk-test-c2' } ], */\n"
	    "  // my providers; api_key: \"not-this\"\n"
	    "  \"Providers\": [\n"
	    "    { \"name\": \"openrouter\", // api_key: \"csk-test-c3\"\n"
	    "      /* \"api_key\": \"csk-test-c4\", */ \"api_key\": \"csk-test-real\" },\n"
	    "    /* { \"name\": \"ghost\", \"api_key\": \"csk-test-c5\" }, */\n"
	    "  ],\n"
	    "  /**/ \"x\": \"//not a comment /* either */\" /***/\n"
	    "}\n"
	    "// trailing: \"api_key\": \"csk-test-c6\"";
	struct json5edit_provider *p;
	size_t count;

	(void)state;
	p = scan_ok(text, &count);
	assert_int_equal(count, 1);
	assert_string_field(&p[0].name, "openrouter", '"');
	assert_string_field(&p[0].api_key, "csk-test-real", '"');
	json5edit_free(p, count);
}

static void
test_escaped_quotes_inside_values_are_decoded(void **state)
{
	const char *text = "{\"Providers\": [{\"name\": \"a\\\"b\", "
	                   "\"api_key\": \"csk-test-\\\"q\\\"-\\\\-\\'\"}]}";
	const char *values[] = {"$A_B_API_KEY"};
	struct json5edit_provider *p;
	size_t count;

	(void)state;
	p = scan_ok(text, &count);
	assert_int_equal(count, 1);
	assert_string_field(&p[0].name, "a\"b", '"');
	assert_string_field(&p[0].api_key, "csk-test-\"q\"-\\-'", '"');
	json5edit_free(p, count);
	assert_rewrite(text, values, 1,
	               "{\"Providers\": [{\"name\": \"a\\\"b\", \"api_key\": \"$A_B_API_KEY\"}]}");
}

static void
test_single_quoted_strings_are_decoded_and_stay_single_quoted(void **state)
{
	const char *text = "{'Providers': [{'name': 'groq', 'api_key': 'csk-test-\\'it\"s'}]}";
	const char *values[] = {"$GROQ_API_KEY"};
	struct json5edit_provider *p;
	size_t count;

	(void)state;
	p = scan_ok(text, &count);
	assert_int_equal(count, 1);
	assert_string_field(&p[0].name, "groq", '\'');
	assert_string_field(&p[0].api_key, "csk-test-'it\"s", '\'');
	json5edit_free(p, count);
	assert_rewrite(text, values, 1,
	               "{'Providers': [{'name': 'groq', 'api_key': '$GROQ_API_KEY'}]}");
}

static void
test_api_key_before_name_is_found(void **state)
{
	const char *text = "{\"Providers\": [{\"api_key\": \"csk-test-first\", \"models\": [],"
	                   " \"name\": \"late\"}]}";
	struct json5edit_provider *p;
	size_t count;

	(void)state;
	p = scan_ok(text, &count);
	assert_int_equal(count, 1);
	assert_string_field(&p[0].name, "late", '"');
	assert_string_field(&p[0].api_key, "csk-test-first", '"');
	json5edit_free(p, count);
}

static void
test_unquoted_and_escaped_keys_are_matched_after_decoding(void **state)
{
	const char *text = "{Providers: [{name: 'a', api_key: 'csk-test-1'},"
	                   " {\"n\\u0061me\": 'b', api\\u005fkey: 'csk-test-2'},"
	                   " {$name: 'no', api_key_: 'no', _api_key: 'no', Name: 'no'}]}";
	struct json5edit_provider *p;
	size_t count;

	(void)state;
	p = scan_ok(text, &count);
	assert_int_equal(count, 3);
	assert_string_field(&p[0].name, "a", '\'');
	assert_string_field(&p[0].api_key, "csk-test-1", '\'');
	assert_string_field(&p[1].name, "b", '\'');
	assert_string_field(&p[1].api_key, "csk-test-2", '\'');
	assert_int_equal(p[2].name.kind, JSON5EDIT_ABSENT);
	assert_int_equal(p[2].api_key.kind, JSON5EDIT_ABSENT);
	json5edit_free(p, count);
}

static void
test_crlf_line_endings_survive_a_rewrite_byte_for_byte(void **state)
{
	const char *text = "{\r\n"
	                   "\t// keys\r\n"
	                   "\t\"Providers\": [\r\n"
	                   "\t\t{\r\n"
	                   "\t\t\t\"name\": \"deepseek\",\r\n"
	                   "\t\t\t\"api_key\": \"csk-test-ds\",\r\n"
	                   "\t\t},\r\n"
	                   "\t],\r\n"
	                   "}\r\n";
	const char *expected = "{\r\n"
	                       "\t// keys\r\n"
	                       "\t\"Providers\": [\r\n"
	                       "\t\t{\r\n"
	                       "\t\t\t\"name\": \"deepseek\",\r\n"
	                       "\t\t\t\"api_key\": \"$DEEPSEEK_API_KEY\",\r\n"
	                       "\t\t},\r\n"
	                       "\t],\r\n"
	                       "}\r\n";
	const char *values[] = {"$DEEPSEEK_API_KEY"};

	(void)state;
	assert_rewrite(text, values, 1, expected);
}

static void
test_trailing_commas_are_accepted(void **state)
{
	const char *text = "{Providers: [{name: 'a', api_key: 'csk-test-1', models: ['x', 'y',],},"
	                   " {name: 'b',},], Router: {},}";
	struct json5edit_provider *p;
	size_t count;

	(void)state;
	p = scan_ok(text, &count);
	assert_int_equal(count, 2);
	assert_string_field(&p[0].api_key, "csk-test-1", '\'');
	assert_string_field(&p[1].name, "b", '\'');
	assert_int_equal(p[1].api_key.kind, JSON5EDIT_ABSENT);
	json5edit_free(p, count);
}

static void
test_twenty_providers_are_all_found_and_rewritten(void **state)
{
	struct buf text = {0}, expected = {0}, out = {0};
	const char *values[20];
	char envs[20][32], line[160];
	struct json5edit_provider *p;
	size_t count, i;
	char err[128];

	(void)state;
	buf_adds(&text, "{\n  \"Providers\": [\n");
	buf_adds(&expected, "{\n  \"Providers\": [\n");
	for (i = 0; i < 20; i++) {
		char q = i % 2 ? '\'' : '"';

		snprintf(envs[i], sizeof envs[i], "$P%02zu_API_KEY", i);
		values[i] = envs[i];
		snprintf(line, sizeof line,
		         "    /* %zu */ {name: %cp%02zu%c, api_key: %ccsk-test-%02zu%c},\n", i, q,
		         i, q, q, i, q);
		buf_adds(&text, line);
		snprintf(line, sizeof line,
		         "    /* %zu */ {name: %cp%02zu%c, api_key: %c$P%02zu_API_KEY%c},\n", i, q,
		         i, q, q, i, q);
		buf_adds(&expected, line);
	}
	buf_adds(&text, "  ],\n}\n");
	buf_adds(&expected, "  ],\n}\n");

	assert_int_equal(json5edit_providers(text.data, text.len, &p, &count, err, sizeof err), 0);
	assert_int_equal(count, 20);
	for (i = 0; i < 20; i++) {
		char name[8], key[16];

		snprintf(name, sizeof name, "p%02zu", i);
		snprintf(key, sizeof key, "csk-test-%02zu", i);
		assert_string_field(&p[i].name, name, i % 2 ? '\'' : '"');
		assert_string_field(&p[i].api_key, key, i % 2 ? '\'' : '"');
	}
	assert_int_equal(json5edit_replace(text.data, text.len, p, count, values, &out), 0);
	assert_string_equal(out.data, expected.data);
	json5edit_free(p, count);
	buf_free(&text);
	buf_free(&expected);
	buf_free(&out);
}

static void
test_a_provider_already_using_a_reference_is_reported_with_its_value(void **state)
{
	const char *text =
	    "{Providers: [{name: 'a', api_key: '$A_API_KEY'},"
	    " {name: 'b', api_key: \"${B_KEY}\"}, {name: 'c', api_key: 'csk-test-c'}]}";
	struct json5edit_provider *p;
	size_t count;

	(void)state;
	p = scan_ok(text, &count);
	assert_int_equal(count, 3);
	assert_string_field(&p[0].api_key, "$A_API_KEY", '\'');
	assert_string_field(&p[1].api_key, "${B_KEY}", '"');
	assert_string_field(&p[2].api_key, "csk-test-c", '\'');
	json5edit_free(p, count);
}

static void
test_api_key_of_a_nested_object_is_not_taken(void **state)
{
	const char *text =
	    "{\"Providers\": [{\n"
	    "  \"name\": \"gemini\",\n"
	    "  \"transformer\": { \"api_key\": \"csk-test-nested\", \"name\": \"t\",\n"
	    "    \"use\": [[\"x\", { \"api_key\": \"csk-test-deeper\" }]] },\n"
	    "  \"models\": [{ \"api_key\": \"csk-test-in-array\" }]\n"
	    "}],\n"
	    "\"Router\": { \"api_key\": \"csk-test-top\", \"Providers\": [{\"name\": \"n\"}] }}";
	struct json5edit_provider *p;
	size_t count;

	(void)state;
	p = scan_ok(text, &count);
	assert_int_equal(count, 1);
	assert_string_field(&p[0].name, "gemini", '"');
	assert_int_equal(p[0].api_key.kind, JSON5EDIT_ABSENT);
	json5edit_free(p, count);
}

static void
test_a_config_without_providers_has_none(void **state)
{
	const char *texts[] = {
	    "{}",
	    "{ \"PORT\": 3456, \"Router\": {} } // \"Providers\": [{name: 'x', api_key: 'y'}]",
	    "{ \"PROVIDERS\": [{name: 'x', api_key: 'csk-test-1'}] }",
	    "{ \"Providers\": [] }",
	};
	struct json5edit_provider *p = (void *)1;
	size_t i, count = 99;

	(void)state;
	for (i = 0; i < sizeof texts / sizeof texts[0]; i++) {
		p = scan_ok(texts[i], &count);
		assert_int_equal(count, 0);
		assert_null(p);
	}
}

static void
test_a_root_that_is_not_an_object_has_no_providers(void **state)
{
	const char *texts[] = {"[{\"Providers\": [{name: 'a', api_key: 'csk-test-1'}]}]", "'text'",
	                       "42", "null"};
	size_t i, count;

	(void)state;
	for (i = 0; i < sizeof texts / sizeof texts[0]; i++) {
		assert_null(scan_ok(texts[i], &count));
		assert_int_equal(count, 0);
	}
}

static void
test_lowercase_providers_is_read_when_Providers_is_absent(void **state)
{
	const char *text = "{providers: [{name: 'low', api_key: 'csk-test-low'}]}";
	struct json5edit_provider *p;
	size_t count;

	(void)state;
	p = scan_ok(text, &count);
	assert_int_equal(count, 1);
	assert_string_field(&p[0].name, "low", '\'');
	assert_string_field(&p[0].api_key, "csk-test-low", '\'');
	json5edit_free(p, count);
}

static void
test_non_object_elements_of_providers_are_skipped(void **state)
{
	const char *text = "{Providers: [null, 1, 'x', [{name: 'in', api_key: 'csk-test-x'}],"
	                   " {name: 'ok', api_key: 'csk-test-ok'}, true]}";
	struct json5edit_provider *p;
	size_t count;

	(void)state;
	p = scan_ok(text, &count);
	assert_int_equal(count, 1);
	assert_string_field(&p[0].name, "ok", '\'');
	json5edit_free(p, count);
}

static void
test_missing_and_non_string_members_are_reported_by_kind(void **state)
{
	const char *text =
	    "{Providers: [{name: 'a'}, {name: 7, api_key: null},"
	    " {api_key: {env: 'X', list: [1, {}]}, name: ['n']}, {name: '', api_key: ''}]}";
	struct json5edit_provider *p;
	size_t count;

	(void)state;
	p = scan_ok(text, &count);
	assert_int_equal(count, 4);
	assert_int_equal(p[0].api_key.kind, JSON5EDIT_ABSENT);
	assert_int_equal(p[1].name.kind, JSON5EDIT_OTHER);
	assert_int_equal(p[1].api_key.kind, JSON5EDIT_OTHER);
	assert_memory_equal(text + p[1].api_key.start, "null", 4);
	assert_int_equal(p[1].api_key.end - p[1].api_key.start, 4);
	assert_int_equal(p[2].api_key.kind, JSON5EDIT_OTHER);
	assert_int_equal(p[2].api_key.end - p[2].api_key.start,
	                 strlen("{env: 'X', list: [1, {}]}"));
	assert_memory_equal(text + p[2].api_key.start, "{env: 'X', list: [1, {}]}",
	                    strlen("{env: 'X', list: [1, {}]}"));
	assert_int_equal(p[2].name.kind, JSON5EDIT_OTHER);
	assert_memory_equal(text + p[2].name.start, "['n']", p[2].name.end - p[2].name.start);
	assert_string_field(&p[3].name, "", '\'');
	assert_string_field(&p[3].api_key, "", '\'');
	json5edit_free(p, count);
}

static void
test_every_string_escape_decodes_as_the_router_decodes_it(void **state)
{
	const char *text =
	    "{Providers: [{name: 'e', api_key: \""
	    "\\b\\f\\n\\r\\t\\v\\0|\\x41\\u00e9\\uD83D\\uDE00|\\'\\\"\\\\\\/\\a\\\xc3\xa9|"
	    "con\\\ntin\\\r\nued\\\rhere\\\xe2\x80\xa8|raw\ttab \xe2\x82\xac\xe2\x80\xa9\"}]}";
	const char expected[] = "\b\f\n\r\t\v\0|A\xc3\xa9\xf0\x9f\x98\x80|'\"\\/a\xc3\xa9|"
	                        "continuedhere|raw\ttab \xe2\x82\xac\xe2\x80\xa9";
	struct json5edit_provider *p;
	size_t count;

	(void)state;
	p = scan_ok(text, &count);
	assert_int_equal(count, 1);
	assert_int_equal(p[0].api_key.kind, JSON5EDIT_STRING);
	assert_int_equal(p[0].api_key.value.len, sizeof expected - 1);
	assert_memory_equal(p[0].api_key.value.data, expected, sizeof expected - 1);
	json5edit_free(p, count);
}

static void
test_an_unpaired_surrogate_is_refused_in_api_key_and_never_matches_a_key(void **state)
{
	const char *bad = "{Providers: [{name: 'a',\n  api_key: 'csk-test-\\uD83D'}]}";
	const char *elsewhere =
	    "{Providers: [{name: 'a', models: ['\\uDE00'],"
	    " 'api\\uD800_key': 'csk-test-no', 'api_\\uDC00key': 'csk-test-no'}],"
	    " x: '\\uD800'}";
	struct json5edit_provider *p;
	size_t count;

	(void)state;
	assert_string_equal(
	    scan_error(bad, strlen(bad)),
	    "line 2, column 12: the \"api_key\" string has an unpaired \\u surrogate");
	p = scan_ok(elsewhere, &count);
	assert_int_equal(count, 1);
	assert_int_equal(p[0].api_key.kind, JSON5EDIT_ABSENT);
	json5edit_free(p, count);
}

static void
test_numbers_of_every_json5_form_are_accepted(void **state)
{
	const char *text = "{a: [0, -0, +1, 12, 1.5, .5, 5., -.5e-3, 1E+2, 0e0, 0x1F, -0XaB, +0x0,"
	                   " Infinity, -Infinity, +Infinity, NaN, -NaN, true, false, null],"
	                   " Providers: [{name: 'n', port: 8080, api_key: 'csk-test-n'}]}";
	struct json5edit_provider *p;
	size_t count;

	(void)state;
	p = scan_ok(text, &count);
	assert_int_equal(count, 1);
	assert_string_field(&p[0].api_key, "csk-test-n", '\'');
	json5edit_free(p, count);
}

static void
test_bom_and_unicode_white_space_are_skipped(void **state)
{
	/* BOM, NBSP, ideographic space, LS, PS, vertical tab and form feed between tokens. */
	const char *text = "\xef\xbb\xbf{\xc2\xa0Providers\xe3\x80\x80:\xe2\x80\xa8[\v{\f"
	                   "name: 'w', \xe2\x80\xa9"
	                   "api_key: 'csk-test-w'}]}\xef\xbb\xbf";
	const char *values[] = {"$W_API_KEY"};
	const char *expected = "\xef\xbb\xbf{\xc2\xa0Providers\xe3\x80\x80:\xe2\x80\xa8[\v{\f"
	                       "name: 'w', \xe2\x80\xa9"
	                       "api_key: '$W_API_KEY'}]}\xef\xbb\xbf";
	struct json5edit_provider *p;
	size_t count;

	(void)state;
	p = scan_ok(text, &count);
	assert_int_equal(count, 1);
	assert_string_field(&p[0].api_key, "csk-test-w", '\'');
	json5edit_free(p, count);
	assert_rewrite(text, values, 1, expected);
}

/* One invalid document and the exact message it must produce. */
struct bad_case {
	const char *text;
	const char *message;
};

static void
test_invalid_json5_is_refused_with_line_and_column(void **state)
{
	static const struct bad_case cases[] = {
	    {"{\n  \"Providers\": [\n    { name: 'a', api_key: 'csk-test-1' }\n    { name: 'b' }\n"
	     "  ]\n}",
	     "line 4, column 5: expected ',' or ']'"},
	    {"{ a: 1 ", "line 1, column 8: unexpected end of input; expected ',' or '}'"},
	    {"{ /* unterminated", "line 1, column 3: unterminated comment"},
	    {"{ a: 'x\ny' }", "line 1, column 8: line break inside a string (write it as \\n)"},
	    {"{ a: 01 }", "line 1, column 7: expected ',' or '}'"},
	    {"{ 1a: 2 }", "line 1, column 3: expected a property name or '}'"},
	    {"{ a: \"\\1\" }", "line 1, column 7: invalid escape (\\ followed by a digit)"},
	    {"{ a: \"\\01\" }", "line 1, column 7: invalid escape (\\0 followed by a digit)"},
	    {"{ a: '\\x4' }", "line 1, column 7: invalid \\x escape"},
	    {"{ a: tru }", "line 1, column 6: invalid value; expected true"},
	    {"{ a: undefined }", "line 1, column 6: expected a value"},
	    {"{ a 1 }", "line 1, column 5: expected ':' after a property name"},
	    {"  // nothing\n", "line 2, column 1: empty document"},
	    {"{} x", "line 1, column 4: unexpected text after the end of the document"},
	    {"{ a: / }", "line 1, column 6: a '/' that does not start a comment"},
	    {"{ a: 0x }", "line 1, column 6: invalid number"},
	    {"{ a: - 1 }", "line 1, column 6: invalid number"},
	    {"{ a: 1e }", "line 1, column 6: invalid number"},
	    {"{ a: 'abc", "line 1, column 6: unterminated string"},
	    {"{\r\n  a: 1,\r\n  b: ]\r\n}", "line 3, column 6: expected a value"},
	    {"[1,,2]", "line 1, column 4: expected a value"},
	    {"{,}", "line 1, column 2: expected a property name or '}'"},
	    {"{ a\\u0020b: 1 }", "line 1, column 4: invalid character in a property name"},
	    {"{ \xc3\xa9t\xc3\xa9: 1, b: ] }", "line 1, column 14: expected a value"},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const char *got = scan_error(cases[i].text, strlen(cases[i].text));

		if (strcmp(got, cases[i].message) != 0)
			fail_msg("case %zu: got \"%s\", want \"%s\"", i, got, cases[i].message);
	}
}

static void
test_ambiguous_provider_lists_are_refused(void **state)
{
	(void)state;
	assert_string_equal(scan_error("{Providers: [], providers: []}", 30),
	                    "line 1, column 17: both \"Providers\" and \"providers\" are present; "
	                    "the router reads only \"Providers\"");
	assert_string_equal(scan_error("{Providers: [],\n'Providers': []}", 32),
	                    "line 2, column 1: \"Providers\" appears twice; the router reads only "
	                    "the last");
	assert_string_equal(scan_error("{\"Providers\": {}}", 17),
	                    "line 1, column 15: the value of \"Providers\" must be an array");
	assert_string_equal(
	    scan_error("{Providers: [{api_key: 'csk-test-1', api_key: 'csk-test-2'}]}", 61),
	    "line 1, column 38: \"api_key\" appears twice in one provider");
	assert_string_equal(scan_error("{Providers: [{name: 'a', 'name': 'b'}]}", 39),
	                    "line 1, column 26: \"name\" appears twice in one provider");
}

static void
test_invalid_utf8_is_refused(void **state)
{
	(void)state;
	assert_string_equal(scan_error("{a: 'x\xff'}", 9), "line 1, column 7: invalid UTF-8");
	assert_string_equal(scan_error("// \xc0\xaf\n{}", 8), "line 1, column 4: invalid UTF-8");
	assert_string_equal(scan_error("{a: '\xed\xa0\x80'}", 10),
	                    "line 1, column 6: invalid UTF-8");
	assert_string_equal(scan_error("{a: '\xe2\x82'}", 9), "line 1, column 6: invalid UTF-8");
}

static void
test_errors_never_quote_the_text(void **state)
{
	const char *texts[] = {
	    "{Providers: [{name: 'a', api_key: 'csk-test-secret\n'}]}",
	    "{Providers: [{name: 'a', api_key: csk-test-secret}]}",
	    "{Providers: [{name: 'a', api_key: 'csk-test-secret\\9'}]}",
	    "{Providers: [{name: 'a', api_key: 'csk-test-secret'} csk-test-secret]}",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof texts / sizeof texts[0]; i++) {
		const char *err = scan_error(texts[i], strlen(texts[i]));

		assert_null(strstr(err, "csk"));
		assert_null(strstr(err, "secret"));
		assert_true(strncmp(err, "line 1, column ", 15) == 0);
	}
}

static void
test_rewrite_changes_only_the_chosen_spans(void **state)
{
	const char *text =
	    "{\n"
	    "  // my providers; api_key: \"not-this\"\n"
	    "  \"Providers\": [\n"
	    "    { \"name\": \"openrouter\", \"api_base_url\": \"https://o\", 'api_key': "
	    "'csk-test-or', models: [\"a\"], },\n"
	    "    { name: \"kept\", api_key: \"csk-test-kept\" },\n"
	    "    { api_key : /* c */ \"csk-test-x\" /* d */ , name: 'x' },\n"
	    "    { name: 'ref', api_key: '$REF_API_KEY' },\n"
	    "  ],\n"
	    "}\n";
	const char *expected =
	    "{\n"
	    "  // my providers; api_key: \"not-this\"\n"
	    "  \"Providers\": [\n"
	    "    { \"name\": \"openrouter\", \"api_base_url\": \"https://o\", 'api_key': "
	    "'$OPENROUTER_API_KEY', models: [\"a\"], },\n"
	    "    { name: \"kept\", api_key: \"csk-test-kept\" },\n"
	    "    { api_key : /* c */ \"$X_API_KEY\" /* d */ , name: 'x' },\n"
	    "    { name: 'ref', api_key: '$REF_API_KEY' },\n"
	    "  ],\n"
	    "}\n";
	const char *values[] = {"$OPENROUTER_API_KEY", NULL, "$X_API_KEY", NULL};
	const char *none[] = {NULL, NULL, NULL, NULL};

	(void)state;
	assert_rewrite(text, values, 4, expected);
	assert_rewrite(text, none, 4, text);
}

static void
test_replacement_is_escaped_for_its_quote_style(void **state)
{
	const char *text = "{Providers: [{api_key: 'csk-test-1'}, {api_key: \"csk-test-2\"}]}";
	const char *values[] = {"it's \"q\" \\ \n\x01\xe2\x80\xa8\xc3\xa9",
	                        "it's \"q\" \\ \n\x01\xe2\x80\xa8\xc3\xa9"};
	const char *expected =
	    "{Providers: [{api_key: 'it\\'s \"q\" \\\\ \\n\\u0001\\u2028\xc3\xa9'},"
	    " {api_key: \"it's \\\"q\\\" \\\\ \\n\\u0001\\u2028\xc3\xa9\"}]}";
	struct json5edit_provider *p;
	size_t count;

	(void)state;
	assert_rewrite(text, values, 2, expected);
	/* The literals read back as the values they were written from. */
	p = scan_ok(expected, &count);
	assert_int_equal(count, 2);
	assert_string_field(&p[0].api_key, values[0], '\'');
	assert_string_field(&p[1].api_key, values[1], '"');
	json5edit_free(p, count);
}

static void
test_replace_refuses_what_it_cannot_rewrite(void **state)
{
	const char *text = "{Providers: [{name: 'a', api_key: null}, {name: 'b'},"
	                   " {name: 'c', api_key: 'csk-test-c'}]}";
	const char *on_null[] = {"$A", NULL, NULL};
	const char *on_absent[] = {NULL, "$B", NULL};
	const char *not_utf8[] = {NULL, NULL, "$C\xff"};
	struct json5edit_provider *p;
	struct buf out = {0};
	size_t count;

	(void)state;
	p = scan_ok(text, &count);
	assert_int_equal(count, 3);
	assert_int_equal(json5edit_replace(text, strlen(text), p, count, on_null, &out), -1);
	assert_int_equal(json5edit_replace(text, strlen(text), p, count, on_absent, &out), -1);
	assert_int_equal(json5edit_replace(text, strlen(text), p, count, not_utf8, &out), -1);
	/* Spans from another text are refused too. */
	assert_int_equal(
	    json5edit_replace(text, 20, p, count, (const char *[]){NULL, NULL, "$C"}, &out), -1);
	assert_int_equal(out.len, 0);
	json5edit_free(p, count);
	buf_free(&out);
}

static void
test_a_second_scan_of_the_rewritten_text_finds_only_references(void **state)
{
	const char *text = "{Providers: [{name: 'a', api_key: 'csk-test-a'},"
	                   " {name: 'b', api_key: \"csk-test-b\"}]}";
	const char *values[] = {"$A_API_KEY", "$B_API_KEY"};
	struct json5edit_provider *p, *q;
	struct buf out = {0}, again = {0};
	size_t count, count2;
	const char *none[] = {NULL, NULL};

	(void)state;
	p = scan_ok(text, &count);
	assert_int_equal(json5edit_replace(text, strlen(text), p, count, values, &out), 0);
	q = scan_ok(out.data, &count2);
	assert_int_equal(count2, 2);
	assert_string_field(&q[0].api_key, "$A_API_KEY", '\'');
	assert_string_field(&q[1].api_key, "$B_API_KEY", '"');
	/* A second run has nothing to replace, so the text comes back unchanged. */
	assert_int_equal(json5edit_replace(out.data, out.len, q, count2, none, &again), 0);
	assert_string_equal(again.data, out.data);
	json5edit_free(p, count);
	json5edit_free(q, count2);
	buf_free(&out);
	buf_free(&again);
}

static void
test_deep_nesting_is_walked_without_recursion(void **state)
{
	const size_t depth = 200000;
	struct json5edit_provider *p;
	struct buf text = {0};
	size_t i, count;
	char err[128];

	(void)state;
	buf_adds(&text, "{x: ");
	for (i = 0; i < depth; i++)
		buf_adds(&text, "[{a:");
	buf_adds(&text, "1");
	for (i = 0; i < depth; i++)
		buf_adds(&text, "}]");
	buf_adds(&text, ", Providers: [{name: 'deep', api_key: 'csk-test-d'}]}");
	assert_int_equal(json5edit_providers(text.data, text.len, &p, &count, err, sizeof err), 0);
	assert_int_equal(count, 1);
	assert_string_field(&p[0].name, "deep", '\'');
	json5edit_free(p, count);
	buf_free(&text);
}

static void
test_text_need_not_be_nul_terminated(void **state)
{
	const char text[] = "{Providers: [{name: 'a', api_key: 'csk-test-a'}]}"
	                    "garbage that is not JSON5 'unterminated";
	size_t len = strlen("{Providers: [{name: 'a', api_key: 'csk-test-a'}]}");
	const char *values[] = {"$A"};
	struct json5edit_provider *p;
	struct buf out = {0};
	size_t count;
	char err[128];

	(void)state;
	assert_int_equal(json5edit_providers(text, len, &p, &count, err, sizeof err), 0);
	assert_int_equal(count, 1);
	assert_int_equal(json5edit_replace(text, len, p, count, values, &out), 0);
	assert_string_equal(out.data, "{Providers: [{name: 'a', api_key: '$A'}]}");
	json5edit_free(p, count);
	buf_free(&out);
	/* Cut inside the string: the same bytes are now an unterminated literal. */
	assert_string_equal(scan_error(text, 40), "line 1, column 35: unterminated string");
}

static void
test_position_counts_line_breaks_and_characters(void **state)
{
	const char *text = "ab\r\ncd\ne\rf\xc3\xa9g";
	unsigned line, column;

	(void)state;
	json5edit_position(text, strlen(text), 0, &line, &column);
	assert_int_equal(line, 1);
	assert_int_equal(column, 1);
	json5edit_position(text, strlen(text), 5, &line, &column); /* 'd' */
	assert_int_equal(line, 2);
	assert_int_equal(column, 2);
	json5edit_position(text, strlen(text), 9, &line, &column); /* 'f' after a lone CR */
	assert_int_equal(line, 4);
	assert_int_equal(column, 1);
	json5edit_position(text, strlen(text), 12, &line, &column); /* 'g' after a 2-byte 'é' */
	assert_int_equal(line, 4);
	assert_int_equal(column, 3);
}

static void
test_free_accepts_an_empty_list(void **state)
{
	(void)state;
	json5edit_free(NULL, 0);
}

/* The top-level member key of text, which must scan. */
static struct json5edit_field
member_ok(const char *text, const char *key)
{
	struct json5edit_field f;
	char err[256];

	if (json5edit_top_member(text, strlen(text), key, &f, err, sizeof err) != 0)
		fail_msg("unexpected error: %s", err);
	return f;
}

/* Assert that the member key of text is JSON5EDIT_OTHER with the token as written. */
static void
assert_member_token(const char *text, const char *key, const char *token)
{
	struct json5edit_field f = member_ok(text, key);

	assert_int_equal(f.kind, JSON5EDIT_OTHER);
	assert_int_equal(f.value.len, strlen(token));
	assert_memory_equal(f.value.data, token, strlen(token));
	assert_memory_equal(text + f.start, token, strlen(token));
	assert_int_equal(f.end - f.start, strlen(token));
	json5edit_field_free(&f);
}

static void
test_top_member_reads_a_string_in_either_quote_style(void **state)
{
	struct json5edit_field f;

	(void)state;
	f = member_ok("{\"APIKEY\": \"sk-1\", \"LOG_LEVEL\": 'in\\u0066o'}", "APIKEY");
	assert_string_field(&f, "sk-1", '"');
	assert_int_equal(f.start, 11);
	assert_int_equal(f.end, 17);
	json5edit_field_free(&f);
	assert_int_equal(f.kind, JSON5EDIT_ABSENT);
	f = member_ok("{\"APIKEY\": \"sk-1\", \"LOG_LEVEL\": 'in\\u0066o'}", "LOG_LEVEL");
	assert_string_field(&f, "info", '\'');
	json5edit_field_free(&f);
	f = member_ok("{APIKEY: ''}", "APIKEY");
	assert_string_field(&f, "", '\'');
	assert_non_null(f.value.data);
	json5edit_field_free(&f);
}

static void
test_top_member_gives_the_token_of_a_literal_as_written(void **state)
{
	(void)state;
	assert_member_token("{LOG: false}", "LOG", "false");
	assert_member_token("{LOG: true}", "LOG", "true");
	assert_member_token("{APIKEY: null,}", "APIKEY", "null");
	assert_member_token("{APIKEY: 0x0}", "APIKEY", "0x0");
	assert_member_token("{APIKEY: -0.0e1 }", "APIKEY", "-0.0e1");
	assert_member_token("{APIKEY: NaN}", "APIKEY", "NaN");
	assert_member_token("{APIKEY: +Infinity}", "APIKEY", "+Infinity");
}

static void
test_top_member_spans_an_object_or_array_without_a_value(void **state)
{
	const char *text = "{\"APIKEY\": {\"a\": [1, {\"APIKEY\": 2}]}, \"LOG\": [false]}";
	struct json5edit_field f;

	(void)state;
	f = member_ok(text, "APIKEY");
	assert_int_equal(f.kind, JSON5EDIT_OTHER);
	assert_int_equal(f.value.len, 0);
	assert_int_equal(text[f.start], '{');
	assert_int_equal(text[f.end - 1], '}');
	assert_int_equal(f.end, strlen("{\"APIKEY\": {\"a\": [1, {\"APIKEY\": 2}]}"));
	json5edit_field_free(&f);
	f = member_ok(text, "LOG");
	assert_int_equal(f.kind, JSON5EDIT_OTHER);
	assert_int_equal(text[f.start], '[');
	assert_int_equal(text[f.end - 1], ']');
	json5edit_field_free(&f);
}

static void
test_top_member_ignores_comments_nested_members_and_lookalike_keys(void **state)
{
	const char *text = "// \"APIKEY\": \"x\"\n"
	                   "{ /* APIKEY: 'y' */\n"
	                   "  Providers: [{APIKEY: 'z', api_key: 'k'}],\n"
	                   "  Router: {APIKEY: 'w'},\n"
	                   "  APIKEY_2: 'v', apikey: 'u', 'APIKEY ': 't',\n"
	                   "}\n";
	struct json5edit_field f;

	(void)state;
	f = member_ok(text, "APIKEY");
	assert_int_equal(f.kind, JSON5EDIT_ABSENT);
	assert_null(f.value.data);
	json5edit_field_free(&f);
}

static void
test_top_member_matches_escaped_keys_and_takes_the_last_duplicate(void **state)
{
	struct json5edit_field f;

	(void)state;
	f = member_ok("{'AP\\x49KEY': 'a', \\u0041PIKEY: 'b'}", "APIKEY");
	assert_string_field(&f, "b", '\'');
	json5edit_field_free(&f);
	f = member_ok("{LOG_LEVEL: 'debug', LOG_LEVEL: {x: 1}, LOG_LEVEL: 0}", "LOG_LEVEL");
	assert_int_equal(f.kind, JSON5EDIT_OTHER);
	assert_int_equal(f.value.len, 1);
	assert_memory_equal(f.value.data, "0", 1);
	json5edit_field_free(&f);
	f = member_ok("{LOG_LEVEL: 0, LOG_LEVEL: 'trace'}", "LOG_LEVEL");
	assert_string_field(&f, "trace", '\'');
	json5edit_field_free(&f);
}

static void
test_top_member_decodes_an_unpaired_surrogate_as_a_replacement_character(void **state)
{
	struct json5edit_field f;

	(void)state;
	f = member_ok("{APIKEY: '\\uD800'}", "APIKEY");
	assert_string_field(&f, "\xEF\xBF\xBD", '\'');
	json5edit_field_free(&f);
	f = member_ok("{APIKEY: 'a\\uDC00b\\uD83D\\uDE00'}", "APIKEY");
	assert_string_field(&f,
	                    "a\xEF\xBF\xBD"
	                    "b\xF0\x9F\x98\x80",
	                    '\'');
	json5edit_field_free(&f);
}

static void
test_top_member_of_a_root_that_is_not_an_object_is_absent(void **state)
{
	struct json5edit_field f;

	(void)state;
	f = member_ok("[{\"APIKEY\": \"a\"}]", "APIKEY");
	assert_int_equal(f.kind, JSON5EDIT_ABSENT);
	f = member_ok("'APIKEY'", "APIKEY");
	assert_int_equal(f.kind, JSON5EDIT_ABSENT);
}

static void
test_top_member_refuses_invalid_json5_without_quoting_it(void **state)
{
	const char *text = "{\n  APIKEY: 'csk-test-secret',\n  LOG: nope\n}";
	struct json5edit_field f;
	char err[256];

	(void)state;
	memset(&f, 'x', sizeof f);
	assert_int_equal(json5edit_top_member(text, strlen(text), "APIKEY", &f, err, sizeof err),
	                 -1);
	assert_int_equal(f.kind, JSON5EDIT_ABSENT);
	assert_null(f.value.data);
	assert_string_equal(err, "line 3, column 8: invalid value; expected null");
	assert_null(strstr(err, "csk-test"));
	text = "{'APIKEY': 'a'";
	assert_int_equal(json5edit_top_member(text, strlen(text), "APIKEY", &f, err, sizeof err),
	                 -1);
	assert_int_equal(f.kind, JSON5EDIT_ABSENT);
}

static void
test_top_member_does_not_apply_the_provider_list_checks(void **state)
{
	const char *text = "{Providers: [{name: 'a', name: 'b'}], providers: 1, Providers: 2,"
	                   " APIKEY: 'k'}";
	struct json5edit_field f;

	(void)state;
	f = member_ok(text, "APIKEY");
	assert_string_field(&f, "k", '\'');
	json5edit_field_free(&f);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_finds_the_name_and_api_key_of_each_provider),
	    cmocka_unit_test(test_comments_that_mention_api_key_and_providers_are_not_read_as_keys),
	    cmocka_unit_test(test_escaped_quotes_inside_values_are_decoded),
	    cmocka_unit_test(test_single_quoted_strings_are_decoded_and_stay_single_quoted),
	    cmocka_unit_test(test_api_key_before_name_is_found),
	    cmocka_unit_test(test_unquoted_and_escaped_keys_are_matched_after_decoding),
	    cmocka_unit_test(test_crlf_line_endings_survive_a_rewrite_byte_for_byte),
	    cmocka_unit_test(test_trailing_commas_are_accepted),
	    cmocka_unit_test(test_twenty_providers_are_all_found_and_rewritten),
	    cmocka_unit_test(test_a_provider_already_using_a_reference_is_reported_with_its_value),
	    cmocka_unit_test(test_api_key_of_a_nested_object_is_not_taken),
	    cmocka_unit_test(test_a_config_without_providers_has_none),
	    cmocka_unit_test(test_a_root_that_is_not_an_object_has_no_providers),
	    cmocka_unit_test(test_lowercase_providers_is_read_when_Providers_is_absent),
	    cmocka_unit_test(test_non_object_elements_of_providers_are_skipped),
	    cmocka_unit_test(test_missing_and_non_string_members_are_reported_by_kind),
	    cmocka_unit_test(test_every_string_escape_decodes_as_the_router_decodes_it),
	    cmocka_unit_test(
	        test_an_unpaired_surrogate_is_refused_in_api_key_and_never_matches_a_key),
	    cmocka_unit_test(test_numbers_of_every_json5_form_are_accepted),
	    cmocka_unit_test(test_bom_and_unicode_white_space_are_skipped),
	    cmocka_unit_test(test_invalid_json5_is_refused_with_line_and_column),
	    cmocka_unit_test(test_ambiguous_provider_lists_are_refused),
	    cmocka_unit_test(test_invalid_utf8_is_refused),
	    cmocka_unit_test(test_errors_never_quote_the_text),
	    cmocka_unit_test(test_rewrite_changes_only_the_chosen_spans),
	    cmocka_unit_test(test_replacement_is_escaped_for_its_quote_style),
	    cmocka_unit_test(test_replace_refuses_what_it_cannot_rewrite),
	    cmocka_unit_test(test_a_second_scan_of_the_rewritten_text_finds_only_references),
	    cmocka_unit_test(test_deep_nesting_is_walked_without_recursion),
	    cmocka_unit_test(test_text_need_not_be_nul_terminated),
	    cmocka_unit_test(test_position_counts_line_breaks_and_characters),
	    cmocka_unit_test(test_free_accepts_an_empty_list),
	    cmocka_unit_test(test_top_member_reads_a_string_in_either_quote_style),
	    cmocka_unit_test(test_top_member_gives_the_token_of_a_literal_as_written),
	    cmocka_unit_test(test_top_member_spans_an_object_or_array_without_a_value),
	    cmocka_unit_test(test_top_member_ignores_comments_nested_members_and_lookalike_keys),
	    cmocka_unit_test(test_top_member_matches_escaped_keys_and_takes_the_last_duplicate),
	    cmocka_unit_test(
	        test_top_member_decodes_an_unpaired_surrogate_as_a_replacement_character),
	    cmocka_unit_test(test_top_member_of_a_root_that_is_not_an_object_is_absent),
	    cmocka_unit_test(test_top_member_refuses_invalid_json5_without_quoting_it),
	    cmocka_unit_test(test_top_member_does_not_apply_the_provider_list_checks),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
