/*
 * Unit tests for origin.c: the canonical origin (what WHATWG's URL.origin
 * gives), what is refused, a full URL reduced to its origin, and origin lists.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "origin.h"

/* in canonicalises to want. */
static void
assert_canon(const char *in, const char *want)
{
	char out[ORIGIN_MAX + 1];
	const char *why = NULL;

	if (origin_canon(in, out, &why) != 0)
		fail_msg("\"%s\" refused: %s", in, why);
	if (strcmp(out, want) != 0)
		fail_msg("\"%s\" gave \"%s\", not \"%s\"", in, out, want);
	/* A canonical origin is its own canonical form. */
	if (origin_canon(want, out, &why) != 0 || strcmp(out, want) != 0)
		fail_msg("\"%s\" is not canonical", want);
}

/* in is refused, with a message. */
static void
assert_bad(const char *in)
{
	char out[ORIGIN_MAX + 1];
	const char *why = NULL;

	if (origin_canon(in, out, &why) == 0)
		fail_msg("\"%s\" accepted as \"%s\"", in, out);
	if (why == NULL || why[0] == '\0')
		fail_msg("\"%s\" refused without a message", in);
}

static void
test_scheme_and_host_are_lower_cased(void **state)
{
	(void)state;
	assert_canon("https://api.example.com", "https://api.example.com");
	assert_canon("HTTPS://API.Example.COM", "https://api.example.com");
	assert_canon("Http://LOCALHOST:3456", "http://localhost:3456");
}

static void
test_a_default_port_and_one_trailing_slash_are_dropped(void **state)
{
	(void)state;
	assert_canon("https://api.example.com:443", "https://api.example.com");
	assert_canon("http://api.example.com:80/", "http://api.example.com");
	assert_canon("https://api.example.com/", "https://api.example.com");
	/* The other scheme's default port is no default. */
	assert_canon("http://api.example.com:443", "http://api.example.com:443");
	assert_canon("https://api.example.com:80", "https://api.example.com:80");
	assert_canon("http://127.0.0.1:8080/", "http://127.0.0.1:8080");
}

static void
test_ipv4_hosts_are_written_as_whatwg_writes_them(void **state)
{
	(void)state;
	assert_canon("http://127.1", "http://127.0.0.1");
	assert_canon("http://0x7f.0.0.1:8080", "http://127.0.0.1:8080");
	assert_canon("http://0177.0.0.1", "http://127.0.0.1");
	assert_canon("http://2130706433", "http://127.0.0.1");
	assert_canon("http://10.0.0.1.", "http://10.0.0.1");
	assert_bad("http://256.0.0.1");
	assert_bad("http://1.2.3.4.5");
	assert_bad("http://1..2");
	assert_bad("http://08.0.0.1");
	assert_bad("http://4294967296");
	/* A name whose last label is not a number is a name. */
	assert_canon("http://1.2.3.com", "http://1.2.3.com");
}

static void
test_ipv6_hosts_are_bracketed_and_compressed(void **state)
{
	(void)state;
	assert_canon("http://[::1]:8080", "http://[::1]:8080");
	assert_canon("http://[0:0:0:0:0:0:0:1]", "http://[::1]");
	assert_canon("https://[2001:DB8:0:0:1:0:0:1]:443/", "https://[2001:db8::1:0:0:1]");
	assert_canon("http://[::ffff:1.2.3.4]", "http://[::ffff:102:304]");
	assert_canon("http://[1:0:0:2:0:0:0:3]", "http://[1:0:0:2::3]");
	assert_canon("http://[1:2:3:4:5:6:7:0]", "http://[1:2:3:4:5:6:7:0]");
	assert_bad("http://[::1");
	assert_bad("http://[::g]");
	assert_bad("http://[fe80::1%eth0]");
	assert_bad("http://[]");
	assert_bad("http://::1");
	assert_bad("http://[::1]x");
}

static void
test_paths_queries_userinfo_and_other_schemes_are_refused(void **state)
{
	(void)state;
	assert_bad("https://api.example.com/v1");
	assert_bad("https://api.example.com//");
	assert_bad("https://api.example.com?x=1");
	assert_bad("https://api.example.com#top");
	assert_bad("https://user:pw@api.example.com");
	assert_bad("https://api.example.com\\");
	assert_bad("ftp://api.example.com");
	assert_bad("ws://api.example.com");
	assert_bad("api.example.com");
	assert_bad("//api.example.com");
	assert_bad("");
	assert_bad(" https://api.example.com");
	assert_bad("https://api.example.com ");
}

static void
test_empty_hosts_and_bad_ports_are_refused(void **state)
{
	(void)state;
	assert_bad("https://");
	assert_bad("https:///");
	assert_bad("https://:8080");
	assert_bad("http://h:");
	assert_bad("http://h:0");
	assert_bad("http://h:08080");
	assert_bad("http://h:65536");
	assert_bad("http://h:123456");
	assert_bad("http://h:-1");
	assert_bad("http://h:8a");
	assert_bad("http://h_x.test");
	assert_bad("http://h\xc3\xa9.test");
	assert_bad("http://h%41.test");
	assert_canon("http://h:1", "http://h:1");
	assert_canon("http://h:65535", "http://h:65535");
}

static void
test_lengths_are_bounded(void **state)
{
	char in[600], want[600];

	(void)state;
	/* 255 bytes in all is the most: 247 bytes of host after https://. */
	memset(in, 0, sizeof in);
	memcpy(in, "https://", 8);
	memset(in + 8, 'a', 247);
	memcpy(want, in, sizeof in);
	assert_canon(in, want);
	in[8 + 247] = '/'; /* the trailing slash is dropped before the count */
	assert_canon(in, want);
	in[8 + 247] = 'a';
	assert_bad(in);
	/* A default port dropped brings it back within 255. */
	memcpy(in + 8 + 247, ":443", 4);
	assert_canon(in, want);
	/* A port that stays counts. */
	memset(in, 0, sizeof in);
	memcpy(in, "https://", 8);
	memset(in + 8, 'a', 243);
	memcpy(in + 251, ":65535", 6);
	assert_bad(in);
	memset(in + 8, 'a', 500);
	assert_bad(in);
}

static void
test_a_url_is_reduced_to_its_origin(void **state)
{
	char out[ORIGIN_MAX + 1];
	static const char *const cases[][2] = {
	    {"https://api.example.com/v1/chat/completions", "https://api.example.com"},
	    {"https://api.example.com:443/v1?x=1#y", "https://api.example.com"},
	    {"HTTP://User:Pw@Localhost:3456/v1", "http://localhost:3456"},
	    {"http://a@b@host.test/", "http://host.test"},
	    {"  https://api.example.com/v1  ", "https://api.example.com"},
	    {"https://api.example.com?q", "https://api.example.com"},
	    {"https://api.example.com#f", "https://api.example.com"},
	    {"http://[::1]:8080/v1", "http://[::1]:8080"},
	    {"https://api.example.com", "https://api.example.com"},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const char *why = NULL;

		if (origin_from_url(cases[i][0], out, &why) != 0)
			fail_msg("\"%s\" refused: %s", cases[i][0], why);
		if (strcmp(out, cases[i][1]) != 0)
			fail_msg("\"%s\" gave \"%s\"", cases[i][0], out);
	}
	assert_int_equal(origin_from_url("ftp://a.test/x", out, NULL), -1);
	assert_int_equal(origin_from_url("api.example.com/v1", out, NULL), -1);
	assert_int_equal(origin_from_url("https:///v1", out, NULL), -1);
	assert_int_equal(origin_from_url("https://h:99999/v1", out, NULL), -1);
}

static void
test_a_list_stays_sorted_and_distinct(void **state)
{
	char list[ORIGIN_LIST_MAX] = "";

	(void)state;
	assert_int_equal(origin_list_add(list, "https://b.test"), 1);
	assert_int_equal(origin_list_add(list, "http://a.test"), 1);
	assert_int_equal(origin_list_add(list, "https://c.test"), 1);
	assert_int_equal(origin_list_add(list, "https://b.test"), 0);
	assert_int_equal(origin_list_add(list, "https://b.tes"), 1);
	assert_string_equal(list, "http://a.test https://b.tes https://b.test https://c.test");
	assert_int_equal(origin_list_count(list), 4);
	assert_true(origin_list_has(list, "https://b.tes"));
	assert_false(origin_list_has(list, "https://b.te"));
	assert_false(origin_list_has(list, "https://b.testx"));
	assert_true(origin_list_remove(list, "https://b.tes"));
	assert_false(origin_list_remove(list, "https://b.tes"));
	assert_string_equal(list, "http://a.test https://b.test https://c.test");
	assert_true(origin_list_remove(list, "https://c.test"));
	assert_string_equal(list, "http://a.test https://b.test");
	assert_true(origin_list_remove(list, "http://a.test"));
	assert_string_equal(list, "https://b.test");
	assert_true(origin_list_remove(list, "https://b.test"));
	assert_string_equal(list, "");
	assert_int_equal(origin_list_count(list), 0);
}

static void
test_a_list_holds_at_most_sixteen_of_the_longest_origins(void **state)
{
	char list[ORIGIN_LIST_MAX] = "", o[ORIGIN_MAX + 1];
	const char *p = list, *item;
	size_t len, n = 0;
	int i;

	(void)state;
	for (i = 0; i < ORIGINS_MAX; i++) {
		/* 255 bytes each: "https://" + 241 letters + ":1234" + one more letter before. */
		memset(o, 0, sizeof o);
		memcpy(o, "https://", 8);
		memset(o + 8, 'a' + i, 241);
		memcpy(o + 249, ":12345", 6);
		assert_int_equal(strlen(o), ORIGIN_MAX);
		assert_int_equal(origin_list_add(list, o), 1);
	}
	assert_int_equal(strlen(list), ORIGIN_LIST_MAX - 1);
	assert_int_equal(origin_list_add(list, "http://one.more"), -1);
	assert_int_equal(origin_list_add(list, o), 0);
	while ((item = origin_list_next(&p, &len)) != NULL) {
		assert_int_equal(len, ORIGIN_MAX);
		n++;
	}
	assert_int_equal(n, ORIGINS_MAX);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_scheme_and_host_are_lower_cased),
	    cmocka_unit_test(test_a_default_port_and_one_trailing_slash_are_dropped),
	    cmocka_unit_test(test_ipv4_hosts_are_written_as_whatwg_writes_them),
	    cmocka_unit_test(test_ipv6_hosts_are_bracketed_and_compressed),
	    cmocka_unit_test(test_paths_queries_userinfo_and_other_schemes_are_refused),
	    cmocka_unit_test(test_empty_hosts_and_bad_ports_are_refused),
	    cmocka_unit_test(test_lengths_are_bounded),
	    cmocka_unit_test(test_a_url_is_reduced_to_its_origin),
	    cmocka_unit_test(test_a_list_stays_sorted_and_distinct),
	    cmocka_unit_test(test_a_list_holds_at_most_sixteen_of_the_longest_origins),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
