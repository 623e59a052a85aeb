/*
 * Unit tests for the decoder's fast path (common/proto_scan.c and its use in
 * proto_decode.c): the plainest requests are read without a cJSON tree, and
 * every line decodes to the same request, or the same error, by either path.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "proto.h"
#include "proto_decode.h"

/* True when two decoded strings are both absent or equal. */
static bool
same_str(const char *a, const char *b)
{
	return (a == NULL) == (b == NULL) && (a == NULL || strcmp(a, b) == 0);
}

/* Decode line by both paths and fail unless they agree; returns whether the scanner read it. */
static bool
both_paths_agree(const char *line)
{
	struct proto_request a, b;
	const char *msg_a = NULL, *msg_b = NULL;
	enum proto_err err_a = proto_decode(line, strlen(line), &a, &msg_a);
	enum proto_err err_b = proto_decode_tree(line, strlen(line), &b, &msg_b);
	bool scanned = err_a == PE_OK && a.doc == NULL;

	if (err_a != err_b || a.op != b.op || strcmp(a.id, b.id) != 0)
		fail_msg("%s: %s/%s, op %d/%d, id %s/%s", line, proto_err_name(err_a),
		         proto_err_name(err_b), a.op, b.op, a.id, b.id);
	if (err_a != PE_OK)
		assert_string_equal(msg_a, msg_b);
	else if (!same_str(a.name, b.name) || !same_str(a.env, b.env) ||
	         !same_str(a.value, b.value) || a.value_len != b.value_len ||
	         !same_str(a.action, b.action) || !same_str(a.new_value, b.new_value) ||
	         !same_str(a.new_name, b.new_name) || !same_str(a.proof, b.proof) ||
	         a.masked != b.masked || strcmp(a.origin, b.origin) != 0 ||
	         strcmp(a.origins, b.origins) != 0)
		fail_msg("%s: the two paths decode different members", line);
	proto_request_free(&a);
	proto_request_free(&b);
	return scanned;
}

static void
test_the_plain_requests_are_scanned_and_decode_as_cjson_does(void **unused)
{
	static const char *const lines[] = {
	    "{\"op\":\"get\",\"name\":\"bench-key-0001\",\"id\":1                    }",
	    "{\"op\":\"get\",\"name\":\"a\",\"masked\":true,\"id\":\"req-7\"}",
	    "{\"op\":\"get\",\"name\":\"a\",\"masked\":false}",
	    " {\"id\":-42,\"name\":\"a.b_c-9\",\"op\":\"get\"}\r\n",
	    "{\"op\":\"get\",\"name\":\"a\",\"proof\":\"x\",\"new_name\":\"y\",\"other\":1}",
	    "{\"op\":\"get\",\"name\":\"a\",\"value\":\"csk-test-1\",\"env\":\"A_B\"}",
	    "{\"op\":\"use\",\"name\":\"a\",\"origin\":\"HTTPS://Api.Example.com:443/\",\"id\":7}",
	    "{\"op\":\"use\",\"env\":\"ALPHA_API_KEY\",\"origin\":\"https://api.example.com\"}",
	    "{\"op\":\"hello\",\"id\":1,\"proof\":\"/tmp/p\"}",
	    "{\"op\":\"list\",\"id\":123456789012345}",
	    "{\"op\":\"status\"}",
	    "{\"op\":\"use\",\"name\":\"a\",\"origin\":\"https://x.example\",\"masked\":7}",
	};
	size_t i;

	(void)unused;
	for (i = 0; i < sizeof lines / sizeof lines[0]; i++) {
		if (!both_paths_agree(lines[i]))
			fail_msg("not scanned: %s", lines[i]);
	}
}

static void
test_what_the_scanner_does_not_take_exactly_goes_to_cjson_alike(void **unused)
{
	static const char *const lines[] = {
	    "{\"op\":\"get\"}",
	    "{\"op\":\"get\",\"name\":\"a b\"}",
	    "{\"op\":\"get\",\"name\":\"a\",\"name\":\"b\"}",
	    "{\"op\":\"get\",\"op\":\"list\",\"name\":\"a\"}",
	    "{\"op\":\"get\",\"name\":\"a\",\"masked\":\"yes\"}",
	    "{\"op\":\"get\",\"name\":\"a\",\"masked\":1}",
	    "{\"op\":\"get\",\"name\":\"a\",\"masked\":true,\"masked\":false}",
	    "{\"op\":\"get\",\"name\":null}",
	    "{\"op\":\"get\",\"name\":5}",
	    "{\"op\":\"get\",\"name\":\"a\",\"id\":1.5}",
	    "{\"op\":\"get\",\"name\":\"a\",\"id\":1e3}",
	    "{\"op\":\"get\",\"name\":\"a\",\"id\":-0}",
	    "{\"op\":\"get\",\"name\":\"a\",\"id\":007}",
	    "{\"op\":\"get\",\"name\":\"a\",\"id\":1234567890123456}",
	    "{\"op\":\"get\",\"name\":\"a\",\"id\":true}",
	    "{\"op\":\"get\",\"name\":\"a\",\"id\":1,\"id\":2}",
	    "{\"op\":\"get\",\"name\":\"a\",\"id\":"
	    "\"0123456789012345678901234567890123456789012345678901234567890123456789012\"}",
	    "{\"op\":\"get\",\"name\":\"a\\u0062\"}",
	    "{\"op\":\"get\",\"name\":\"\xc3\xa9\"}",
	    "{\"op\":\"get\",\"name\":\"a\"} x",
	    "{\"op\":\"get\",\"name\":\"a\",}",
	    "{\"op\":\"get\" \"name\":\"a\"}",
	    "{\"op\":\"get\",\"name\":\"a\",\"x\":{}}",
	    "{\"op\":\"use\",\"name\":\"a\"}",
	    "{\"op\":\"use\",\"name\":\"a\",\"env\":\"A\",\"origin\":\"https://x.example\"}",
	    "{\"op\":\"use\",\"name\":\"a\",\"origin\":\"ftp://x.example\"}",
	    "{\"op\":\"use\",\"name\":\"a\",\"origin\":5}",
	    "{\"op\":\"set\",\"name\":\"a\",\"value\":\"csk-test-1\"}",
	    "{\"op\":\"nope\"}",
	    "{\"op\":5}",
	    "{}",
	    "[]",
	    "",
	};
	size_t i;

	(void)unused;
	for (i = 0; i < sizeof lines / sizeof lines[0]; i++)
		both_paths_agree(lines[i]);
}

static void
test_a_longer_line_than_the_scanner_reads_goes_to_cjson(void **unused)
{
	char line[PROTO_SCAN_MAX + 64];
	int n = snprintf(line, sizeof line, "{\"op\":\"get\",\"name\":\"a\"");

	(void)unused;
	while ((size_t)n < PROTO_SCAN_MAX)
		line[n++] = ' ';
	memcpy(line + n, "}", 2);
	assert_false(both_paths_agree(line));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_the_plain_requests_are_scanned_and_decode_as_cjson_does),
		cmocka_unit_test(test_what_the_scanner_does_not_take_exactly_goes_to_cjson_alike),
		cmocka_unit_test(test_a_longer_line_than_the_scanner_reads_goes_to_cjson),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
