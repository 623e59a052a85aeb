/*
 * Unit tests for utf8.c and hex.c: what counts as well-formed UTF-8 (overlongs,
 * surrogates, code points past U+10FFFF, cut-off sequences), the code points
 * decoded and encoded, the hex digits of escapes, and the exact bytes of the
 * two escape sets of the JSON string writer.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "buf.h"
#include "hex.h"
#include "utf8.h"

/* Assert that s (NUL-terminated) is one sequence of its whole length, decoding to cp. */
static void
assert_one_sequence(const char *s, uint32_t cp)
{
	uint32_t got = 0;

	assert_int_equal(utf8_decode(s, strlen(s), &got), strlen(s));
	assert_int_equal(got, cp);
	assert_true(utf8_valid(s, strlen(s)));
}

/* Assert that no sequence starts at s and that s is not valid text. */
static void
assert_no_sequence(const char *s, size_t len)
{
	uint32_t got = 0x1234;

	assert_int_equal(utf8_decode(s, len, &got), 0);
	assert_int_equal(got, 0x1234); /* left alone */
	assert_false(utf8_valid(s, len));
}

static void
test_each_length_decodes_at_its_boundaries(void **state)
{
	(void)state;
	assert_one_sequence("A", 0x41);
	assert_one_sequence("\x7f", 0x7f);
	assert_one_sequence("\xc2\x80", 0x80);
	assert_one_sequence("\xdf\xbf", 0x7ff);
	assert_one_sequence("\xe0\xa0\x80", 0x800);
	assert_one_sequence("\xed\x9f\xbf", 0xd7ff);
	assert_one_sequence("\xee\x80\x80", 0xe000);
	assert_one_sequence("\xef\xbf\xbf", 0xffff);
	assert_one_sequence("\xf0\x90\x80\x80", 0x10000);
	assert_one_sequence("\xf4\x8f\xbf\xbf", 0x10ffff);
}

static void
test_a_nul_byte_is_one_sequence(void **state)
{
	uint32_t cp = 7;

	(void)state;
	assert_int_equal(utf8_decode("\0x", 2, &cp), 1);
	assert_int_equal(cp, 0);
	assert_true(utf8_valid("a\0b", 3));
}

static void
test_decode_reads_only_the_first_sequence(void **state)
{
	uint32_t cp;

	(void)state;
	assert_int_equal(utf8_decode("\xc3\xa9xyz", 5, &cp), 2);
	assert_int_equal(cp, 0xe9);
	assert_int_equal(utf8_decode("\xe2\x82\xac\xff", 4, NULL), 3);
}

static void
test_overlong_forms_are_refused(void **state)
{
	(void)state;
	assert_no_sequence("\xc0\x80", 2);         /* U+0000 in 2 bytes */
	assert_no_sequence("\xc1\xbf", 2);         /* U+007F in 2 bytes */
	assert_no_sequence("\xe0\x80\x80", 3);     /* U+0000 in 3 bytes */
	assert_no_sequence("\xe0\x9f\xbf", 3);     /* U+07FF in 3 bytes */
	assert_no_sequence("\xf0\x80\x80\x80", 4); /* U+0000 in 4 bytes */
	assert_no_sequence("\xf0\x8f\xbf\xbf", 4); /* U+FFFF in 4 bytes */
}

static void
test_surrogates_are_refused(void **state)
{
	(void)state;
	assert_no_sequence("\xed\xa0\x80", 3);             /* U+D800 */
	assert_no_sequence("\xed\xaf\xbf", 3);             /* U+DBFF */
	assert_no_sequence("\xed\xb0\x80", 3);             /* U+DC00 */
	assert_no_sequence("\xed\xbf\xbf", 3);             /* U+DFFF */
	assert_no_sequence("\xed\xa0\xbd\xed\xb4\x91", 6); /* a CESU-8 pair */
}

static void
test_code_points_past_u10ffff_are_refused(void **state)
{
	(void)state;
	assert_no_sequence("\xf4\x90\x80\x80", 4); /* U+110000 */
	assert_no_sequence("\xf5\x80\x80\x80", 4);
	assert_no_sequence("\xf7\xbf\xbf\xbf", 4);
	assert_no_sequence("\xf8\x88\x80\x80\x80", 5); /* the old 5-byte form */
}

static void
test_stray_and_impossible_bytes_are_refused(void **state)
{
	(void)state;
	assert_no_sequence("\x80", 1); /* a continuation byte alone */
	assert_no_sequence("\xbf", 1);
	assert_no_sequence("\xfe", 1);
	assert_no_sequence("\xff", 1);
	assert_no_sequence("\xc3\x28", 2);         /* a lead byte, then ASCII */
	assert_no_sequence("\xe2\x28\xa1", 3);     /* a bad second byte */
	assert_no_sequence("\xe2\x82\x28", 3);     /* a bad third byte */
	assert_no_sequence("\xf0\x90\x28\xbc", 4); /* a bad third byte of four */
	assert_no_sequence("\xf0\x90\x8c\x28", 4); /* a bad fourth byte */
}

static void
test_a_sequence_cut_short_is_refused(void **state)
{
	(void)state;
	assert_no_sequence("\xc3", 1);
	assert_no_sequence("\xe2\x82", 2);
	assert_no_sequence("\xf0\x9f\x94", 3);
	/* The bytes after the given length do not count, even when they would complete it. */
	assert_no_sequence("\xe2\x82\xac", 2);
	assert_false(utf8_valid("ab\xc3\xa9", 3));
	assert_true(utf8_valid("ab\xc3\xa9", 4));
}

static void
test_valid_checks_every_byte_around_the_ascii_fast_path(void **state)
{
	char s[40];
	size_t at;

	(void)state;
	assert_true(utf8_valid("", 0));
	assert_true(utf8_valid("plain ascii, longer than eight bytes", 36));
	/* One bad byte anywhere among runs of ASCII is found, whatever its alignment. */
	for (at = 0; at < 32; at++) {
		memset(s, 'k', sizeof s);
		s[at] = '\xff';
		assert_false(utf8_valid(s, 32));
		memcpy(s + at, "\xe2\x82\xac", 3);
		assert_true(utf8_valid(s, 35));
		s[at + 2] = 'k';
		assert_false(utf8_valid(s, 35));
	}
}

static void
test_encode_writes_the_shortest_form(void **state)
{
	static const struct {
		uint32_t cp;
		const char *bytes;
	} cases[] = {
	    {0x00, ""},
	    {0x41, "A"},
	    {0x7f, "\x7f"},
	    {0x80, "\xc2\x80"},
	    {0x7ff, "\xdf\xbf"},
	    {0x800, "\xe0\xa0\x80"},
	    {0xfffd, "\xef\xbf\xbd"},
	    {0xffff, "\xef\xbf\xbf"},
	    {0x10000, "\xf0\x90\x80\x80"},
	    {0x1f511, "\xf0\x9f\x94\x91"},
	    {0x10ffff, "\xf4\x8f\xbf\xbf"},
	};
	char out[UTF8_MAX];
	size_t i, n, want;

	(void)state;
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		want = cases[i].cp == 0 ? 1 : strlen(cases[i].bytes);
		n = utf8_encode(out, cases[i].cp);
		assert_int_equal(n, want);
		assert_memory_equal(out, cases[i].cp == 0 ? "\0" : cases[i].bytes, n);
	}
}

static void
test_encode_then_decode_gives_back_every_code_point(void **state)
{
	char out[UTF8_MAX];
	uint32_t cp, back;
	size_t n;

	(void)state;
	for (cp = 0; cp <= 0x10ffff; cp++) {
		if (cp >= 0xd800 && cp <= 0xdfff)
			continue;
		n = utf8_encode(out, cp);
		assert_int_equal(utf8_decode(out, n, &back), n);
		assert_int_equal(back, cp);
	}
}

static void
test_a_lone_surrogate_is_encoded_in_three_bytes(void **state)
{
	char out[UTF8_MAX];

	(void)state;
	/* What JSON5's "\ud800" decodes to; the decoder itself refuses it. */
	assert_int_equal(utf8_encode(out, 0xd800), 3);
	assert_memory_equal(out, "\xed\xa0\x80", 3);
	assert_int_equal(utf8_decode(out, 3, NULL), 0);
}

static void
test_add_appends_to_a_buffer(void **state)
{
	struct buf b = {0};

	(void)state;
	buf_adds(&b, "x");
	utf8_add(&b, 0xe9);
	utf8_add(&b, 0x20ac);
	utf8_add(&b, 0x1f511);
	assert_string_equal(b.data, "x\xc3\xa9\xe2\x82\xac\xf0\x9f\x94\x91");
	buf_free(&b);
}

static void
test_hex_reads_digits_of_either_case(void **state)
{
	uint32_t v = 0;

	(void)state;
	assert_true(hex_read("00e9", 4, 4, &v));
	assert_int_equal(v, 0xe9);
	assert_true(hex_read("ABcd", 4, 4, &v));
	assert_int_equal(v, 0xabcd);
	assert_true(hex_read("7fzz", 4, 2, &v)); /* only the n asked for */
	assert_int_equal(v, 0x7f);
	assert_true(hex_read("", 0, 0, &v));
	assert_int_equal(v, 0);
}

static void
test_hex_refuses_a_short_or_bad_run_and_leaves_the_value(void **state)
{
	uint32_t v = 42;

	(void)state;
	assert_false(hex_read("12", 2, 4, &v));   /* fewer than n there */
	assert_false(hex_read("1234", 3, 4, &v)); /* the rest is past avail */
	assert_false(hex_read("12g4", 4, 4, &v));
	assert_false(hex_read("-123", 4, 4, &v));
	assert_false(hex_read(" 123", 4, 4, &v));
	assert_int_equal(v, 42);
}

/* The JSON literal the writer makes of the byte c in set, as a NUL-terminated string. */
static void
escape_of(unsigned char c, enum buf_json_set set, char *out, size_t size)
{
	struct buf b = {0};
	char s[1] = {(char)c};

	buf_add_json_as(&b, s, 1, set);
	snprintf(out, size, "%s", b.data);
	buf_free(&b);
}

static void
test_the_wire_escapes_are_exactly_these_bytes(void **state)
{
	static const char letter[256] = {
	    ['"'] = '"', ['\\'] = '\\', ['\n'] = 'n', ['\r'] = 'r', ['\t'] = 't'};
	char got[16], want[16];
	unsigned c;

	(void)state;
	for (c = 0; c < 256; c++) {
		if (letter[c] != 0)
			snprintf(want, sizeof want, "\"\\%c\"", letter[c]);
		else if (c < 0x20)
			snprintf(want, sizeof want, "\"\\u%04x\"", c);
		else
			snprintf(want, sizeof want, "\"%c\"", c);
		escape_of((unsigned char)c, BUF_JSON_WIRE, got, sizeof got);
		assert_string_equal(got, want);
	}
	escape_of('\b', BUF_JSON_WIRE, got, sizeof got);
	assert_string_equal(got, "\"\\u0008\"");
	escape_of('\f', BUF_JSON_WIRE, got, sizeof got);
	assert_string_equal(got, "\"\\u000c\"");
}

static void
test_the_cjson_escapes_differ_in_b_and_f_alone(void **state)
{
	char wire[16], cjson[16];
	unsigned c;

	(void)state;
	for (c = 0; c < 256; c++) {
		escape_of((unsigned char)c, BUF_JSON_WIRE, wire, sizeof wire);
		escape_of((unsigned char)c, BUF_JSON_CJSON, cjson, sizeof cjson);
		if (c == '\b')
			assert_string_equal(cjson, "\"\\b\"");
		else if (c == '\f')
			assert_string_equal(cjson, "\"\\f\"");
		else
			assert_string_equal(cjson, wire);
	}
}

static void
test_the_writer_passes_utf8_and_escapes_controls_among_it(void **state)
{
	const char s[] = "cl\xc3\xa9\b\xe2\x82\xac\f\"\x01\xf0\x9f\x94\x91\x7f";
	struct buf b = {0};

	(void)state;
	buf_add_json_as(&b, s, sizeof s - 1, BUF_JSON_WIRE);
	assert_string_equal(b.data, "\"cl\xc3\xa9\\u0008\xe2\x82\xac\\u000c\\\"\\u0001"
	                            "\xf0\x9f\x94\x91\x7f\"");
	buf_clear(&b);
	buf_add_json_as(&b, s, sizeof s - 1, BUF_JSON_CJSON);
	assert_string_equal(b.data, "\"cl\xc3\xa9\\b\xe2\x82\xac\\f\\\"\\u0001"
	                            "\xf0\x9f\x94\x91\x7f\"");
	buf_free(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_each_length_decodes_at_its_boundaries),
	    cmocka_unit_test(test_a_nul_byte_is_one_sequence),
	    cmocka_unit_test(test_decode_reads_only_the_first_sequence),
	    cmocka_unit_test(test_overlong_forms_are_refused),
	    cmocka_unit_test(test_surrogates_are_refused),
	    cmocka_unit_test(test_code_points_past_u10ffff_are_refused),
	    cmocka_unit_test(test_stray_and_impossible_bytes_are_refused),
	    cmocka_unit_test(test_a_sequence_cut_short_is_refused),
	    cmocka_unit_test(test_valid_checks_every_byte_around_the_ascii_fast_path),
	    cmocka_unit_test(test_encode_writes_the_shortest_form),
	    cmocka_unit_test(test_encode_then_decode_gives_back_every_code_point),
	    cmocka_unit_test(test_a_lone_surrogate_is_encoded_in_three_bytes),
	    cmocka_unit_test(test_add_appends_to_a_buffer),
	    cmocka_unit_test(test_hex_reads_digits_of_either_case),
	    cmocka_unit_test(test_hex_refuses_a_short_or_bad_run_and_leaves_the_value),
	    cmocka_unit_test(test_the_wire_escapes_are_exactly_these_bytes),
	    cmocka_unit_test(test_the_cjson_escapes_differ_in_b_and_f_alone),
	    cmocka_unit_test(test_the_writer_passes_utf8_and_escapes_controls_among_it),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
