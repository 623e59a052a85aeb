/*
 * Unit tests for interp.c: substitution held to claude-code-router's rule to the
 * letter, the reference test used by migrate, and the config-text scanner.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <cjson/cJSON.h>

#include "interp.h"

/* One variable of the test environment; vlen 0 means strlen(value). */
struct var {
	const char *name;
	const char *value;
	size_t vlen;
};

/* The environment every expansion test runs against. */
static const struct var vars[] = {
    {"A", "a", 0},
    {"B", "b", 0},
    {"FOO", "foo-value", 0},
    {"EMPTY", "", 0},
    {"a-b", "dash", 0},
    {"A $B", "spaced", 0},
    {"\xc3\xa9", "accent", 0},
    {"REF", "$A ${B}", 0},
    {"SHORT", "secretXX", 6},
    {"${A", "opened", 0},
};

/* A lookup that answers from vars and records every name it is asked for. */
struct world {
	struct buf asked; /* each name asked for, followed by '\n' */
	int calls;
};

/* Answer name from vars, recording the question in the world at arg. */
static const char *
world_lookup(void *arg, const char *name, size_t *len)
{
	struct world *w = arg;
	size_t i;

	w->calls++;
	buf_adds(&w->asked, name);
	buf_addc(&w->asked, '\n');
	for (i = 0; i < sizeof vars / sizeof vars[0]; i++) {
		if (strcmp(vars[i].name, name) == 0) {
			*len = vars[i].vlen ? vars[i].vlen : strlen(vars[i].value);
			return vars[i].value;
		}
	}
	return NULL;
}

/* Expand len bytes of in against vars; the caller frees the result. */
static char *
expand_n(struct world *w, const char *in, size_t len)
{
	struct buf out = {0};
	char *s;

	interp_expand(in, len, world_lookup, w, &out);
	assert_non_null(out.data);
	assert_int_equal(strlen(out.data), out.len);
	s = strdup(out.data);
	buf_free(&out);
	return s;
}

/* Assert that in expands to want, and return how many lookups it took. */
static int
check_expand(const char *in, const char *want)
{
	struct world w = {0};
	char *got = expand_n(&w, in, strlen(in));

	assert_string_equal(got, want);
	free(got);
	buf_free(&w.asked);
	return w.calls;
}

/* Collected names reported by interp_scan, each between '\n's. */
struct names {
	struct buf list;
	int count;
};

/* Record one reported name. */
static void
collect(void *arg, const char *name, size_t len)
{
	struct names *n = arg;

	if (n->list.len == 0)
		buf_addc(&n->list, '\n');
	buf_add(&n->list, name, len);
	buf_addc(&n->list, '\n');
	n->count++;
}

/* How many times name was reported. */
static int
reported(struct names *n, const char *name)
{
	char key[256];
	const char *p;
	int times = 0;

	snprintf(key, sizeof key, "\n%s\n", name);
	for (p = n->list.data; p != NULL && (p = strstr(p, key)) != NULL; p++)
		times++;
	return times;
}

/* Scan a NUL-terminated config text into n. */
static void
scan(struct names *n, const char *text)
{
	interp_scan(text, strlen(text), collect, n);
}

static void
test_bare_reference_is_replaced(void **state)
{
	(void)state;
	assert_int_equal(check_expand("key=$FOO;", "key=foo-value;"), 1);
}

static void
test_braced_reference_is_replaced(void **state)
{
	(void)state;
	assert_int_equal(check_expand("Bearer ${FOO}", "Bearer foo-value"), 1);
}

static void
test_braced_reference_with_dash_is_looked_up(void **state)
{
	struct world w = {0};
	char *got;

	(void)state;
	got = expand_n(&w, "<${a-b}>", 8);
	assert_string_equal(got, "<dash>");
	assert_string_equal(w.asked.data, "a-b\n");
	free(got);
	buf_free(&w.asked);
}

static void
test_braced_name_is_anything_up_to_the_first_closing_brace(void **state)
{
	struct world w = {0};
	char *got;

	(void)state;
	check_expand("${A $B}", "spaced");
	got = expand_n(&w, "${${A}}", 7);
	assert_string_equal(got, "opened}");
	assert_string_equal(w.asked.data, "${A\n");
	free(got);
	buf_free(&w.asked);
}

static void
test_lowercase_bare_name_is_left_alone(void **state)
{
	(void)state;
	assert_int_equal(check_expand("$a $foo $lower_case", "$a $foo $lower_case"), 0);
}

static void
test_bare_name_ends_at_first_non_name_char(void **state)
{
	struct world w = {0};
	char *got;

	(void)state;
	got = expand_n(&w, "$FOO-x $FOO.y $Aoo $B2", 22);
	assert_string_equal(got, "foo-value-x foo-value.y aoo $B2");
	assert_string_equal(w.asked.data, "FOO\nFOO\nA\nB2\n");
	free(got);
	buf_free(&w.asked);
}

static void
test_dollar_at_end_is_kept(void **state)
{
	(void)state;
	assert_int_equal(check_expand("$", "$"), 0);
	assert_int_equal(check_expand("cost: 5$", "cost: 5$"), 0);
	assert_int_equal(check_expand("$A$", "a$"), 1);
}

static void
test_unterminated_brace_is_kept_and_later_bare_reference_still_replaced(void **state)
{
	(void)state;
	assert_int_equal(check_expand("${FOO", "${FOO"), 0);
	assert_int_equal(check_expand("${", "${"), 0);
	assert_int_equal(check_expand("${FOO $A", "${FOO a"), 1);
}

static void
test_empty_braces_are_kept(void **state)
{
	(void)state;
	assert_int_equal(check_expand("${}", "${}"), 0);
	assert_int_equal(check_expand("${}A}", "${}A}"), 0);
}

static void
test_adjacent_bare_references_are_both_replaced(void **state)
{
	(void)state;
	assert_int_equal(check_expand("$A$B", "ab"), 2);
}

static void
test_adjacent_braced_references_are_both_replaced(void **state)
{
	(void)state;
	assert_int_equal(check_expand("${A}${B}", "ab"), 2);
	assert_int_equal(check_expand("${A}$B${FOO}", "abfoo-value"), 3);
}

static void
test_unresolved_reference_is_kept_as_written(void **state)
{
	(void)state;
	assert_int_equal(check_expand("x ${NOPE} $NOPE ${no pe} y", "x ${NOPE} $NOPE ${no pe} y"),
	                 3);
	assert_int_equal(check_expand("$NOPE$A", "$NOPEa"), 2);
}

static void
test_empty_value_keeps_reference_as_written(void **state)
{
	(void)state;
	/* The router writes process.env[name] || match: "" is falsy. */
	assert_int_equal(check_expand("$EMPTY|${EMPTY}", "$EMPTY|${EMPTY}"), 2);
}

static void
test_double_dollar_replaces_the_second(void **state)
{
	(void)state;
	assert_int_equal(check_expand("$$A", "$a"), 1);
	assert_int_equal(check_expand("$${A}", "$a"), 1);
}

static void
test_multibyte_utf8_around_references_is_kept(void **state)
{
	(void)state;
	check_expand("\xc3\xa9$A\xe2\x82\xac${B}\xf0\x9f\x98\x80", "\xc3\xa9"
	                                                           "a\xe2\x82\xac"
	                                                           "b\xf0\x9f\x98\x80");
	check_expand("${\xc3\xa9}", "accent");
	check_expand("$\xc3\xa9", "$\xc3\xa9");
}

static void
test_substituted_value_is_not_expanded_again(void **state)
{
	(void)state;
	assert_int_equal(check_expand("$REF", "$A ${B}"), 1);
}

static void
test_value_length_comes_from_the_lookup(void **state)
{
	(void)state;
	check_expand("[$SHORT]", "[secret]");
}

static void
test_braced_name_with_nul_is_not_looked_up(void **state)
{
	static const char in[] = "${A\0B}";
	struct world w = {0};
	struct buf out = {0};

	(void)state;
	interp_expand(in, sizeof in - 1, world_lookup, &w, &out);
	assert_int_equal(w.calls, 0);
	assert_int_equal(out.len, sizeof in - 1);
	assert_memory_equal(out.data, in, sizeof in - 1);
	buf_free(&out);
	buf_free(&w.asked);
}

static void
test_long_braced_name_is_looked_up_whole(void **state)
{
	struct world w = {0};
	char in[1004];
	char *got;

	(void)state;
	memset(in, 'N', sizeof in);
	memcpy(in, "${", 2);
	in[sizeof in - 2] = '}';
	in[sizeof in - 1] = '\0';
	got = expand_n(&w, in, strlen(in));
	assert_string_equal(got, in);
	assert_int_equal(w.calls, 1);
	assert_int_equal(w.asked.len, 1000 + 1);
	free(got);
	buf_free(&w.asked);
}

static void
test_expand_appends_to_output(void **state)
{
	struct buf out = {0};

	(void)state;
	buf_adds(&out, "pre:");
	interp_expand("$A", 2, NULL, NULL, &out);
	assert_string_equal(out.data, "pre:$A");
	buf_free(&out);
	interp_expand("", 0, NULL, NULL, &out);
	assert_non_null(out.data);
	assert_string_equal(out.data, "");
	buf_free(&out);
}

static void
test_has_refs_sees_bare_and_braced_references(void **state)
{
	(void)state;
	assert_true(interp_has_refs("$CEREBRAS_API_KEY", 17));
	assert_true(interp_has_refs("Bearer ${x-y}", 13));
	assert_true(interp_has_refs("abc$_", 5));
	assert_true(interp_has_refs("${ $A", 5));
}

static void
test_has_refs_is_false_for_literal_values(void **state)
{
	static const char *const literals[] = {
	    "", "$", "csk-abc123", "$lower", "${}", "${unterminated", "cost 5$", "$1", "{A}",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof literals / sizeof literals[0]; i++)
		assert_false(interp_has_refs(literals[i], strlen(literals[i])));
	assert_false(interp_has_refs("$A", 1));
}

static void
test_scan_reports_references_in_string_values(void **state)
{
	struct names n = {0};

	(void)state;
	scan(&n, "{\"Providers\":[{\"api_key\":\"$CEREBRAS_API_KEY\"},"
	         "{'api_key':'Bearer ${OPENROUTER_API_KEY}'}]}");
	assert_int_equal(reported(&n, "CEREBRAS_API_KEY"), 1);
	assert_int_equal(reported(&n, "OPENROUTER_API_KEY"), 1);
	assert_int_equal(n.count, 2);
	buf_free(&n.list);
}

static void
test_scan_reports_references_in_comments(void **state)
{
	struct names n = {0};

	(void)state;
	scan(&n, "// set $LINE_KEY first\n/* or ${BLOCK_KEY} */\n{}");
	assert_int_equal(reported(&n, "LINE_KEY"), 1);
	assert_int_equal(reported(&n, "BLOCK_KEY"), 1);
	buf_free(&n.list);
}

static void
test_scan_reports_references_in_keys(void **state)
{
	struct names n = {0};

	(void)state;
	scan(&n, "{\"$QUOTED_KEY\": 1, $IDENT_KEY: 2}");
	assert_int_equal(reported(&n, "QUOTED_KEY"), 1);
	assert_int_equal(reported(&n, "IDENT_KEY"), 1);
	buf_free(&n.list);
}

static void
test_scan_reports_duplicates(void **state)
{
	struct names n = {0};

	(void)state;
	scan(&n, "[\"$DUP\", \"${DUP}\", \"$DUP\"]");
	assert_int_equal(reported(&n, "DUP"), 3);
	buf_free(&n.list);
}

static void
test_scan_reports_names_as_written(void **state)
{
	struct names n = {0};

	(void)state;
	scan(&n, "[\"${a-b}\", \"$lower\", \"${}\", \"$\"]");
	assert_int_equal(reported(&n, "a-b"), 1);
	assert_int_equal(reported(&n, "lower"), 0);
	assert_int_equal(n.count, 1);
	buf_free(&n.list);
}

static void
test_scan_reports_a_reference_nested_in_a_braced_name(void **state)
{
	struct names n = {0};

	(void)state;
	scan(&n, "\"${A $B}\"");
	assert_int_equal(reported(&n, "A $B"), 1);
	assert_int_equal(reported(&n, "B"), 1);
	buf_free(&n.list);
}

static void
test_scan_unterminated_brace_does_not_hide_a_later_reference(void **state)
{
	struct names n = {0};

	(void)state;
	scan(&n, "{\"a\": \"${x\", \"b\": \"$LATER\"}");
	assert_int_equal(reported(&n, "LATER"), 1);
	buf_free(&n.list);
}

static void
test_scan_decodes_escapes_that_make_a_reference(void **state)
{
	struct names n = {0};

	(void)state;
	scan(&n, "[\"\\u0024UNICODE\", \"\\x24HEX\", \"\\$IDENTITY\", \"\\u0024{BRACED}\","
	         " \"$\\u007bOPENED\\u007D\", \"$\\\nJOINED\", \"$SPLIT\\u0041\","
	         " \"$\\\r\nCRLF\", \"$\\\xe2\x80\xa8SEPARATOR\"]");
	assert_int_equal(reported(&n, "UNICODE"), 1);
	assert_int_equal(reported(&n, "HEX"), 1);
	assert_int_equal(reported(&n, "IDENTITY"), 2);
	assert_int_equal(reported(&n, "BRACED"), 1);
	assert_int_equal(reported(&n, "OPENED"), 1);
	assert_int_equal(reported(&n, "JOINED"), 1);
	assert_int_equal(reported(&n, "CRLF"), 1);
	assert_int_equal(reported(&n, "SEPARATOR"), 1);
	/* The raw text shows SPLIT, the decoded value is $SPLITA: both are reported. */
	assert_int_equal(reported(&n, "SPLITA"), 1);
	assert_int_equal(reported(&n, "SPLIT"), 1);
	buf_free(&n.list);
}

static void
test_scan_does_not_decode_an_escaped_backslash(void **state)
{
	struct names n = {0};

	(void)state;
	/* The value is \u0024NOT: no reference for the router. */
	scan(&n, "[\"\\\\u0024NOT\", \"\\\\$YES\"]");
	assert_int_equal(reported(&n, "NOT"), 0);
	assert_int_equal(reported(&n, "YES"), 2);
	buf_free(&n.list);
}

static void
test_scan_of_text_without_references_reports_nothing(void **state)
{
	struct names n = {0};

	(void)state;
	scan(&n, "{\"api_key\": \"csk-123\", \"price\": \"5$\", \"x\": \"\\u0041\"}");
	interp_scan("", 0, collect, &n);
	assert_int_equal(n.count, 0);
	buf_free(&n.list);
}

/* Recurse through a parsed config, checking every name the router would look up was scanned. */
static void
check_value_names_scanned(const cJSON *item, struct names *n)
{
	const cJSON *child;

	if (cJSON_IsString(item)) {
		struct world w = {0};
		const char *p;
		char *got = expand_n(&w, item->valuestring, strlen(item->valuestring));

		for (p = w.asked.data; p != NULL && *p != '\0'; p = strchr(p, '\n') + 1) {
			char name[256];
			size_t len = (size_t)(strchr(p, '\n') - p);

			assert_true(len < sizeof name);
			memcpy(name, p, len);
			name[len] = '\0';
			assert_true(reported(n, name) > 0);
		}
		free(got);
		buf_free(&w.asked);
	}
	cJSON_ArrayForEach(child, item)
	{
		check_value_names_scanned(child, n);
	}
}

static void
test_scan_reports_every_name_expand_looks_up(void **state)
{
	static const char *const docs[] = {
	    "{\"k\": \"${x\", \"v\": \"$AFTER ${B} $$A${A}${}\"}",
	    "[\"\\u0024U1\\u0024U2\", \"x\\\\\\u0024DEEP\", \"${\\u007d$IN\"]",
	    "{\"a\": [\"$A\\u0042C\", {\"b\": \"${a b}}$Z\"}]}",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof docs / sizeof docs[0]; i++) {
		struct names n = {0};
		cJSON *doc = cJSON_Parse(docs[i]);

		assert_non_null(doc);
		scan(&n, docs[i]);
		check_value_names_scanned(doc, &n);
		cJSON_Delete(doc);
		buf_free(&n.list);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_bare_reference_is_replaced),
	    cmocka_unit_test(test_braced_reference_is_replaced),
	    cmocka_unit_test(test_braced_reference_with_dash_is_looked_up),
	    cmocka_unit_test(test_braced_name_is_anything_up_to_the_first_closing_brace),
	    cmocka_unit_test(test_lowercase_bare_name_is_left_alone),
	    cmocka_unit_test(test_bare_name_ends_at_first_non_name_char),
	    cmocka_unit_test(test_dollar_at_end_is_kept),
	    cmocka_unit_test(
	        test_unterminated_brace_is_kept_and_later_bare_reference_still_replaced),
	    cmocka_unit_test(test_empty_braces_are_kept),
	    cmocka_unit_test(test_adjacent_bare_references_are_both_replaced),
	    cmocka_unit_test(test_adjacent_braced_references_are_both_replaced),
	    cmocka_unit_test(test_unresolved_reference_is_kept_as_written),
	    cmocka_unit_test(test_empty_value_keeps_reference_as_written),
	    cmocka_unit_test(test_double_dollar_replaces_the_second),
	    cmocka_unit_test(test_multibyte_utf8_around_references_is_kept),
	    cmocka_unit_test(test_substituted_value_is_not_expanded_again),
	    cmocka_unit_test(test_value_length_comes_from_the_lookup),
	    cmocka_unit_test(test_braced_name_with_nul_is_not_looked_up),
	    cmocka_unit_test(test_long_braced_name_is_looked_up_whole),
	    cmocka_unit_test(test_expand_appends_to_output),
	    cmocka_unit_test(test_has_refs_sees_bare_and_braced_references),
	    cmocka_unit_test(test_has_refs_is_false_for_literal_values),
	    cmocka_unit_test(test_scan_reports_references_in_string_values),
	    cmocka_unit_test(test_scan_reports_references_in_comments),
	    cmocka_unit_test(test_scan_reports_references_in_keys),
	    cmocka_unit_test(test_scan_reports_duplicates),
	    cmocka_unit_test(test_scan_reports_names_as_written),
	    cmocka_unit_test(test_scan_reports_a_reference_nested_in_a_braced_name),
	    cmocka_unit_test(test_scan_unterminated_brace_does_not_hide_a_later_reference),
	    cmocka_unit_test(test_scan_decodes_escapes_that_make_a_reference),
	    cmocka_unit_test(test_scan_does_not_decode_an_escaped_backslash),
	    cmocka_unit_test(test_scan_of_text_without_references_reports_nothing),
	    cmocka_unit_test(test_scan_reports_every_name_expand_looks_up),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
