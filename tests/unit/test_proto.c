/*
 * Unit tests for proto.c: every way a request line can be refused, what a good
 * one decodes to, the id echo, and replies that cJSON reads back as written.
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

#include "buf.h"
#include "proto.h"

/* The outcome of decoding one line; the request is already released. */
struct outcome {
	enum proto_err err;
	const char *msg;
	char id[PROTO_ID_MAX];
};

/* Decode len bytes of line, check the message, release the request and report. */
static struct outcome
decode_n(const char *line, size_t len)
{
	struct proto_request req;
	struct outcome o;

	o.msg = NULL;
	o.err = proto_decode(line, len, &req, &o.msg);
	if (o.err != PE_OK) {
		assert_non_null(o.msg);
		assert_true(strlen(o.msg) > 0);
	}
	memcpy(o.id, req.id, sizeof o.id);
	proto_request_free(&req);
	return o;
}

/* Decode a NUL-terminated line and return only the code. */
static enum proto_err
decode_err(const char *line)
{
	return decode_n(line, strlen(line)).err;
}

/* Decode a line that must succeed and return its id, in a static buffer. */
static const char *
decode_id(const char *line)
{
	static char id[PROTO_ID_MAX];
	struct outcome o = decode_n(line, strlen(line));

	assert_int_equal(o.err, PE_OK);
	memcpy(id, o.id, sizeof id);
	return id;
}

/* Decode a line that must succeed; the caller frees req. */
static void
decode_ok(const char *line, struct proto_request *req)
{
	const char *msg = NULL;
	enum proto_err err = proto_decode(line, strlen(line), req, &msg);

	if (err != PE_OK)
		fail_msg("%s: %s (%s)", line, proto_err_name(err), msg);
}

/* A set request whose value is len copies of c. */
static char *
set_line_with_value(size_t len, char c)
{
	static const char head[] = "{\"op\":\"set\",\"name\":\"big\",\"value\":\"";
	char *line = malloc(sizeof head + len + 3);

	assert_non_null(line);
	memcpy(line, head, sizeof head - 1);
	memset(line + sizeof head - 1, c, len);
	strcpy(line + sizeof head - 1 + len, "\"}");
	return line;
}

/* Parse one reply line from b: exactly one object and one trailing newline. */
static cJSON *
parse_line(const struct buf *b)
{
	cJSON *doc;

	assert_true(b->len > 0);
	assert_int_equal(b->data[b->len - 1], '\n');
	assert_null(memchr(b->data, '\n', b->len - 1));
	doc = cJSON_ParseWithLength(b->data, b->len - 1);
	assert_non_null(doc);
	assert_true(cJSON_IsObject(doc));
	return doc;
}

/* ---- requests that decode ---- */

static void
test_hello_decodes_with_nothing_else(void **state)
{
	struct proto_request req;

	(void)state;
	decode_ok("{\"op\":\"hello\"}", &req);
	assert_int_equal(req.op, OP_HELLO);
	assert_null(req.name);
	assert_string_equal(req.id, "");
	proto_request_free(&req);
}

static void
test_every_op_decodes_by_its_wire_name(void **state)
{
	int op;

	(void)state;
	for (op = 0; op < OP_COUNT; op++) {
		char line[128];
		struct proto_request req;
		const char *msg;

		if (op == OP_GET || op == OP_SET || op == OP_DELETE || op == OP_RESOLVE ||
		    op == OP_ALLOW || op == OP_USE || op == OP_BIND || op == OP_RENAME)
			continue;
		snprintf(line, sizeof line, "{\"op\":\"%s\"}", proto_op_name((enum proto_op)op));
		assert_int_equal(proto_decode(line, strlen(line), &req, &msg), PE_OK);
		assert_int_equal(req.op, op);
		proto_request_free(&req);
	}
	assert_null(proto_op_name(OP_COUNT));
}

/* Decode line, expecting err. */
static void
decode_expect(const char *line, enum proto_err err, struct proto_request *req)
{
	const char *msg = NULL;

	assert_int_equal(proto_decode(line, strlen(line), req, &msg), err);
	if (err != PE_OK)
		assert_non_null(msg);
}

static void
test_get_decodes_masked(void **state)
{
	struct proto_request req;

	(void)state;
	decode_expect("{\"op\":\"get\",\"name\":\"a\",\"masked\":true}", PE_OK, &req);
	assert_true(req.masked);
	proto_request_free(&req);
	decode_expect("{\"op\":\"get\",\"name\":\"a\"}", PE_OK, &req);
	assert_false(req.masked);
	proto_request_free(&req);
	decode_expect("{\"op\":\"get\",\"name\":\"a\",\"masked\":1}", PE_BAD_REQUEST, &req);
	proto_request_free(&req);
}

static void
test_use_decodes_a_key_and_a_canonical_origin(void **state)
{
	struct proto_request req;

	(void)state;
	decode_expect("{\"op\":\"use\",\"env\":\"A_KEY\",\"origin\":\"HTTPS://Api.Test:443/\"}",
	              PE_OK, &req);
	assert_int_equal(req.op, OP_USE);
	assert_string_equal(req.env, "A_KEY");
	assert_null(req.name);
	assert_string_equal(req.origin, "https://api.test");
	proto_request_free(&req);
	decode_expect("{\"op\":\"use\",\"name\":\"a\",\"origin\":\"http://[::1]:8080\"}", PE_OK,
	              &req);
	assert_string_equal(req.name, "a");
	proto_request_free(&req);
	decode_expect("{\"op\":\"use\",\"name\":\"a\"}", PE_BAD_REQUEST, &req);
	proto_request_free(&req);
	decode_expect("{\"op\":\"use\",\"name\":\"a\",\"origin\":\"https://api.test/v1\"}",
	              PE_BAD_REQUEST, &req);
	proto_request_free(&req);
	decode_expect("{\"op\":\"use\",\"origin\":\"https://api.test\"}", PE_BAD_REQUEST, &req);
	proto_request_free(&req);
	decode_expect("{\"op\":\"use\",\"name\":\"a\",\"env\":\"A\",\"origin\":\"http://h\"}",
	              PE_BAD_REQUEST, &req);
	proto_request_free(&req);
	decode_expect("{\"op\":\"use\",\"env\":\"a-b\",\"origin\":\"http://h\"}", PE_INVALID_NAME,
	              &req);
	proto_request_free(&req);
}

static void
test_bind_decodes_a_mode_and_a_sorted_distinct_list(void **state)
{
	static const char *const modes[] = {"set", "add", "remove", "initial"};
	struct proto_request req;
	char line[256];
	size_t i;

	(void)state;
	decode_expect("{\"op\":\"bind\",\"name\":\"a\",\"mode\":\"add\",\"origins\":["
	              "\"https://b.test/\",\"http://a.test:80\",\"https://B.test\"]}",
	              PE_OK, &req);
	assert_int_equal(req.mode, BIND_ADD);
	assert_true(req.has_origins);
	assert_string_equal(req.origins, "http://a.test https://b.test");
	proto_request_free(&req);
	for (i = 0; i < 4; i++) {
		snprintf(line, sizeof line,
		         "{\"op\":\"bind\",\"env\":\"A\",\"mode\":\"%s\",\"origins\":[]}",
		         modes[i]);
		decode_expect(line, PE_OK, &req);
		assert_int_equal(req.mode, (int)i);
		assert_string_equal(req.origins, "");
		proto_request_free(&req);
	}
	decode_expect("{\"op\":\"bind\",\"name\":\"a\",\"origins\":[]}", PE_BAD_REQUEST, &req);
	proto_request_free(&req);
	decode_expect("{\"op\":\"bind\",\"name\":\"a\",\"mode\":\"replace\",\"origins\":[]}",
	              PE_BAD_REQUEST, &req);
	proto_request_free(&req);
	decode_expect("{\"op\":\"bind\",\"name\":\"a\",\"mode\":\"set\"}", PE_BAD_REQUEST, &req);
	proto_request_free(&req);
	decode_expect("{\"op\":\"bind\",\"name\":\"a\",\"mode\":\"set\",\"origins\":\"http://a\"}",
	              PE_BAD_REQUEST, &req);
	proto_request_free(&req);
	decode_expect("{\"op\":\"bind\",\"name\":\"a\",\"mode\":\"set\",\"origins\":[\"a\"]}",
	              PE_BAD_REQUEST, &req);
	proto_request_free(&req);
}

static void
test_more_than_sixteen_origins_is_bad_request(void **state)
{
	struct proto_request req;
	struct buf b = {0};
	int i;

	(void)state;
	buf_adds(&b, "{\"op\":\"set\",\"name\":\"a\",\"value\":\"csk-test-1\",\"origins\":[");
	for (i = 0; i < 17; i++) {
		char o[32];

		snprintf(o, sizeof o, "%s\"http://h%d\"", i > 0 ? "," : "", i);
		buf_adds(&b, o);
		if (i == 15) {
			/* sixteen pass, and one of them twice is still sixteen */
			struct buf ok = {0};

			buf_add(&ok, b.data, b.len);
			buf_adds(&ok, ",\"http://h0\"]}");
			decode_expect(ok.data, PE_OK, &req);
			assert_int_equal(origin_list_count(req.origins), 16);
			proto_request_free(&req);
			buf_free(&ok);
		}
	}
	buf_adds(&b, "]}");
	decode_expect(b.data, PE_BAD_REQUEST, &req);
	proto_request_free(&req);
	buf_free(&b);
}

static void
test_set_decodes_optional_origins(void **state)
{
	struct proto_request req;

	(void)state;
	decode_expect("{\"op\":\"set\",\"name\":\"a\",\"value\":\"csk-test-1\"}", PE_OK, &req);
	assert_false(req.has_origins);
	proto_request_free(&req);
	decode_expect("{\"op\":\"set\",\"name\":\"a\",\"value\":\"csk-test-1\",\"origins\":[]}",
	              PE_OK, &req);
	assert_true(req.has_origins);
	assert_string_equal(req.origins, "");
	proto_request_free(&req);
	decode_expect("{\"op\":\"set\",\"name\":\"a\",\"value\":\"csk-test-1\",\"origins\":["
	              "\"ftp://a.test\"]}",
	              PE_BAD_REQUEST, &req);
	proto_request_free(&req);
}

static void
test_allow_needs_a_name_or_all_and_for(void **state)
{
	struct proto_request req;

	(void)state;
	decode_expect("{\"op\":\"allow\",\"name\":\"groq\",\"for\":600}", PE_OK, &req);
	assert_string_equal(req.name, "groq");
	assert_false(req.all);
	assert_true(req.seconds == 600);
	proto_request_free(&req);
	decode_expect("{\"op\":\"allow\",\"all\":true,\"for\":0}", PE_OK, &req);
	assert_true(req.all);
	assert_true(req.seconds == 0);
	proto_request_free(&req);
	decode_expect("{\"op\":\"allow\",\"for\":10}", PE_BAD_REQUEST, &req);
	proto_request_free(&req);
	decode_expect("{\"op\":\"allow\",\"name\":\"a\",\"all\":true,\"for\":10}", PE_BAD_REQUEST,
		      &req);
	proto_request_free(&req);
	decode_expect("{\"op\":\"allow\",\"name\":\"a\"}", PE_BAD_REQUEST, &req);
	proto_request_free(&req);
	decode_expect("{\"op\":\"allow\",\"name\":\"a\",\"for\":-1}", PE_BAD_REQUEST, &req);
	proto_request_free(&req);
	decode_expect("{\"op\":\"allow\",\"name\":\"bad name\",\"for\":1}", PE_INVALID_NAME, &req);
	proto_request_free(&req);
}

static void
test_get_decodes_its_name(void **state)
{
	struct proto_request req;

	(void)state;
	decode_ok("{\"op\":\"get\",\"name\":\"cerebras\"}", &req);
	assert_int_equal(req.op, OP_GET);
	assert_string_equal(req.name, "cerebras");
	proto_request_free(&req);
}

static void
test_set_decodes_name_value_and_env(void **state)
{
	struct proto_request req;

	(void)state;
	decode_ok("{\"op\":\"set\",\"name\":\"cerebras\",\"value\":\"csk-test-1234\","
	          "\"env\":\"MY_CEREBRAS\"}",
	          &req);
	assert_int_equal(req.op, OP_SET);
	assert_string_equal(req.name, "cerebras");
	assert_string_equal(req.value, "csk-test-1234");
	assert_int_equal(req.value_len, 13);
	assert_string_equal(req.env, "MY_CEREBRAS");
	proto_request_free(&req);
}

static void
test_set_decodes_env_confirmed_as_a_boolean_only(void **state)
{
	struct proto_request req;

	(void)state;
	decode_ok("{\"op\":\"set\",\"name\":\"k\",\"value\":\"csk-test-1\"}", &req);
	assert_false(req.env_confirmed);
	proto_request_free(&req);
	decode_ok("{\"op\":\"set\",\"name\":\"k\",\"env\":\"MAKEFILES\",\"value\":\"csk-test-1\","
	          "\"env_confirmed\":true}",
	          &req);
	assert_true(req.env_confirmed);
	proto_request_free(&req);
	decode_expect(
	    "{\"op\":\"set\",\"name\":\"k\",\"value\":\"csk-test-1\",\"env_confirmed\":1}",
	    PE_BAD_REQUEST, &req);
	proto_request_free(&req);
	decode_expect("{\"op\":\"set\",\"name\":\"k\",\"value\":\"csk-test-1\","
	              "\"env_confirmed\":\"yes\"}",
	              PE_BAD_REQUEST, &req);
	proto_request_free(&req);
}

static void
test_set_without_env_leaves_env_unset(void **state)
{
	struct proto_request req;

	(void)state;
	decode_ok("{\"op\":\"set\",\"name\":\"cerebras\",\"value\":\"csk-test-1234\"}", &req);
	assert_null(req.env);
	proto_request_free(&req);
}

static void
test_set_value_keeps_utf8_and_escapes_decoded(void **state)
{
	struct proto_request req;

	(void)state;
	decode_ok("{\"op\":\"set\",\"name\":\"k\",\"value\":\"csk-\\\"q\\\\\xc3\xa9\\u20ac\"}",
	          &req);
	assert_string_equal(req.value, "csk-\"q\\\xc3\xa9\xe2\x82\xac");
	assert_int_equal(req.value_len, strlen("csk-\"q\\\xc3\xa9\xe2\x82\xac"));
	proto_request_free(&req);
}

static void
test_members_may_come_in_any_order_with_whitespace(void **state)
{
	struct proto_request req;

	(void)state;
	decode_ok(" { \"name\" : \"groq\" , \"id\" : 7 , \"op\" : \"delete\" } ", &req);
	assert_int_equal(req.op, OP_DELETE);
	assert_string_equal(req.name, "groq");
	assert_string_equal(req.id, "7");
	proto_request_free(&req);
}

static void
test_unlock_decodes_passphrase_and_seconds(void **state)
{
	struct proto_request req;

	(void)state;
	decode_ok("{\"op\":\"unlock\",\"value\":\"test passphrase\",\"for\":300}", &req);
	assert_int_equal(req.op, OP_UNLOCK);
	assert_string_equal(req.value, "test passphrase");
	assert_int_equal(req.value_len, 15);
	assert_true(req.seconds == 300.0);
	proto_request_free(&req);
}

static void
test_unlock_with_negative_or_non_number_seconds_is_bad_request(void **state)
{
	(void)state;
	assert_int_equal(decode_err("{\"op\":\"unlock\",\"value\":\"p\",\"for\":-1}"),
	                 PE_BAD_REQUEST);
	assert_int_equal(decode_err("{\"op\":\"unlock\",\"value\":\"p\",\"for\":\"60\"}"),
	                 PE_BAD_REQUEST);
}

static void
test_unlock_for_over_a_week_is_bad_request(void **state)
{
	struct proto_request req;

	(void)state;
	/* 1e300 and 1e999 (infinity) would make seconds * 1000 overflow a uint64_t. */
	assert_int_equal(decode_err("{\"op\":\"unlock\",\"value\":\"p\",\"for\":604801}"),
	                 PE_BAD_REQUEST);
	assert_int_equal(decode_err("{\"op\":\"unlock\",\"value\":\"p\",\"for\":1e300}"),
	                 PE_BAD_REQUEST);
	assert_int_equal(decode_err("{\"op\":\"unlock\",\"for\":1e999}"), PE_BAD_REQUEST);
	decode_ok("{\"op\":\"unlock\",\"value\":\"p\",\"for\":604800}", &req);
	assert_true(req.seconds == PROTO_FOR_MAX);
	proto_request_free(&req);
}

static void
test_allow_for_over_a_week_is_bad_request(void **state)
{
	struct proto_request req;

	(void)state;
	assert_int_equal(decode_err("{\"op\":\"allow\",\"name\":\"a\",\"for\":604801}"),
	                 PE_BAD_REQUEST);
	assert_int_equal(decode_err("{\"op\":\"allow\",\"all\":true,\"for\":1e999}"),
	                 PE_BAD_REQUEST);
	decode_ok("{\"op\":\"allow\",\"all\":true,\"for\":604800}", &req);
	assert_true(req.seconds == PROTO_FOR_MAX);
	proto_request_free(&req);
}

static void
test_passphrase_decodes_action_and_new_value(void **state)
{
	struct proto_request req;

	(void)state;
	decode_ok("{\"op\":\"passphrase\",\"action\":\"change\",\"value\":\"old test\","
	          "\"new_value\":\"new test\"}",
	          &req);
	assert_int_equal(req.op, OP_PASSPHRASE);
	assert_string_equal(req.action, "change");
	assert_string_equal(req.value, "old test");
	assert_string_equal(req.new_value, "new test");
	proto_request_free(&req);
}

/* ---- malformed lines ---- */

static void
test_bad_json_is_bad_request(void **state)
{
	static const char *const bad[] = {
	    "",
	    "{",
	    "}",
	    "{\"op\":}",
	    "{\"op\":\"get\"",
	    "{op:\"get\"}",
	    "{'op':'get'}",
	    "{\"op\":\"get\",}",
	    "not json",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		if (decode_err(bad[i]) != PE_BAD_REQUEST)
			fail_msg("\"%s\" was not bad_request", bad[i]);
	}
}

static void
test_text_after_the_object_is_bad_request(void **state)
{
	(void)state;
	assert_int_equal(decode_err("{\"op\":\"hello\"} x"), PE_BAD_REQUEST);
	assert_int_equal(decode_err("{\"op\":\"hello\"}{\"op\":\"list\"}"), PE_BAD_REQUEST);
	assert_int_equal(decode_err("{\"op\":\"hello\"} \t\r"), PE_OK);
}

static void
test_a_json_value_that_is_not_an_object_is_bad_request(void **state)
{
	static const char *const bad[] = {
	    "[]", "[{\"op\":\"hello\"}]", "\"hello\"", "42", "null", "true",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		if (decode_err(bad[i]) != PE_BAD_REQUEST)
			fail_msg("\"%s\" was not bad_request", bad[i]);
	}
}

static void
test_missing_or_non_string_op_is_bad_request(void **state)
{
	(void)state;
	assert_int_equal(decode_err("{}"), PE_BAD_REQUEST);
	assert_int_equal(decode_err("{\"name\":\"cerebras\"}"), PE_BAD_REQUEST);
	assert_int_equal(decode_err("{\"op\":1}"), PE_BAD_REQUEST);
	assert_int_equal(decode_err("{\"op\":null}"), PE_BAD_REQUEST);
	assert_int_equal(decode_err("{\"op\":[\"get\"]}"), PE_BAD_REQUEST);
}

static void
test_unknown_op_is_unknown_op(void **state)
{
	(void)state;
	assert_int_equal(decode_err("{\"op\":\"frobnicate\"}"), PE_UNKNOWN_OP);
	assert_int_equal(decode_err("{\"op\":\"\"}"), PE_UNKNOWN_OP);
	assert_int_equal(decode_err("{\"op\":\"GET\",\"name\":\"a\"}"), PE_UNKNOWN_OP);
	assert_int_equal(decode_err("{\"op\":\"get \",\"name\":\"a\"}"), PE_UNKNOWN_OP);
}

static void
test_missing_name_is_bad_request(void **state)
{
	(void)state;
	assert_int_equal(decode_err("{\"op\":\"get\"}"), PE_BAD_REQUEST);
	assert_int_equal(decode_err("{\"op\":\"delete\"}"), PE_BAD_REQUEST);
	assert_int_equal(decode_err("{\"op\":\"set\",\"value\":\"csk-test-1\"}"), PE_BAD_REQUEST);
	assert_int_equal(decode_err("{\"op\":\"get\",\"name\":null}"), PE_BAD_REQUEST);
}

static void
test_name_that_is_not_a_string_is_bad_request(void **state)
{
	(void)state;
	assert_int_equal(decode_err("{\"op\":\"get\",\"name\":42}"), PE_BAD_REQUEST);
	assert_int_equal(decode_err("{\"op\":\"get\",\"name\":[\"a\"]}"), PE_BAD_REQUEST);
	assert_int_equal(decode_err("{\"op\":\"set\",\"name\":\"a\",\"value\":1}"), PE_BAD_REQUEST);
}

static void
test_invalid_name_is_invalid_name(void **state)
{
	static const char *const bad[] = {
	    "{\"op\":\"get\",\"name\":\"\"}",
	    "{\"op\":\"get\",\"name\":\"-lead\"}",
	    "{\"op\":\"get\",\"name\":\"a b\"}",
	    "{\"op\":\"delete\",\"name\":\"../keys\"}",
	    "{\"op\":\"set\",\"name\":\"a/b\",\"value\":\"csk-test-1\"}",
	    "{\"op\":\"get\",\"name\":\"caf\xc3\xa9\"}",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		if (decode_err(bad[i]) != PE_INVALID_NAME)
			fail_msg("%s was not invalid_name", bad[i]);
	}
}

static void
test_name_of_129_characters_is_invalid_name(void **state)
{
	char line[256];
	char name[130];

	(void)state;
	memset(name, 'n', 128);
	name[128] = '\0';
	snprintf(line, sizeof line, "{\"op\":\"get\",\"name\":\"%s\"}", name);
	assert_int_equal(decode_err(line), PE_OK);
	name[128] = 'n';
	name[129] = '\0';
	snprintf(line, sizeof line, "{\"op\":\"get\",\"name\":\"%s\"}", name);
	assert_int_equal(decode_err(line), PE_INVALID_NAME);
}

static void
test_set_with_an_invalid_env_is_invalid_name(void **state)
{
	(void)state;
	assert_int_equal(
	    decode_err(
	        "{\"op\":\"set\",\"name\":\"a\",\"value\":\"csk-test-1\",\"env\":\"lower\"}"),
	    PE_INVALID_NAME);
	assert_int_equal(
	    decode_err("{\"op\":\"set\",\"name\":\"a\",\"value\":\"csk-test-1\",\"env\":\"1X\"}"),
	    PE_INVALID_NAME);
	assert_int_equal(
	    decode_err("{\"op\":\"set\",\"name\":\"a\",\"value\":\"csk-test-1\",\"env\":7}"),
	    PE_BAD_REQUEST);
}

static void
test_set_without_a_value_is_bad_request(void **state)
{
	(void)state;
	assert_int_equal(decode_err("{\"op\":\"set\",\"name\":\"a\"}"), PE_BAD_REQUEST);
	assert_int_equal(decode_err("{\"op\":\"set\",\"name\":\"a\",\"value\":null}"),
	                 PE_BAD_REQUEST);
}

static void
test_empty_value_is_invalid_value(void **state)
{
	(void)state;
	assert_int_equal(decode_err("{\"op\":\"set\",\"name\":\"a\",\"value\":\"\"}"),
	                 PE_INVALID_VALUE);
}

static void
test_value_of_exactly_16_kib_is_accepted(void **state)
{
	char *line = set_line_with_value(PROTO_VALUE_MAX, 'v');
	struct proto_request req;

	(void)state;
	decode_ok(line, &req);
	assert_int_equal(req.value_len, PROTO_VALUE_MAX);
	proto_request_free(&req);
	free(line);
}

static void
test_value_over_16_kib_is_too_large(void **state)
{
	char *line = set_line_with_value(PROTO_VALUE_MAX + 1, 'v');

	(void)state;
	assert_int_equal(decode_err(line), PE_TOO_LARGE);
	free(line);
}

/* A request line of op with member (value or new_value) of len bytes and what else it needs. */
static char *
line_with_member(const char *op, const char *member, size_t len)
{
	char *line = malloc(len + 160);
	int n;

	assert_non_null(line);
	n = sprintf(line, "{\"op\":\"%s\",\"name\":\"big\",\"action\":\"change\",", op);
	if (strcmp(member, "new_value") == 0)
		n += sprintf(line + n, "\"value\":\"old\",");
	n += sprintf(line + n, "\"%s\":\"", member);
	memset(line + n, 'p', len);
	strcpy(line + n + len, "\"}");
	return line;
}

static void
test_a_value_or_new_value_over_16_kib_is_too_large_in_every_op(void **state)
{
	static const char *const members[] = {"value", "new_value"};
	int op, m;

	(void)state;
	for (op = 0; op < OP_COUNT; op++) {
		for (m = 0; m < 2; m++) {
			const char *name = proto_op_name((enum proto_op)op);
			char *line = line_with_member(name, members[m], PROTO_VALUE_MAX + 1);
			struct outcome o = decode_n(line, strlen(line));

			if (o.err != PE_TOO_LARGE)
				fail_msg("%s with a %s of 16 KiB + 1: %s", name, members[m],
				         proto_err_name(o.err));
			free(line);
		}
	}
	/* 16 KiB exactly is a passphrase like any other. */
	{
		char *line = line_with_member("passphrase", "new_value", PROTO_VALUE_MAX);

		assert_int_equal(decode_err(line), PE_OK);
		free(line);
	}
}

static void
test_value_with_a_newline_is_invalid_value(void **state)
{
	(void)state;
	assert_int_equal(decode_err("{\"op\":\"set\",\"name\":\"a\",\"value\":\"csk-test\\n1\"}"),
	                 PE_INVALID_VALUE);
	assert_int_equal(decode_err("{\"op\":\"set\",\"name\":\"a\",\"value\":\"csk-test\\r\"}"),
	                 PE_INVALID_VALUE);
	assert_int_equal(decode_err("{\"op\":\"set\",\"name\":\"a\",\"value\":\"\\u000a\"}"),
	                 PE_INVALID_VALUE);
}

static void
test_value_with_a_nul_escape_is_invalid_value(void **state)
{
	(void)state;
	assert_int_equal(
	    decode_err("{\"op\":\"set\",\"name\":\"a\",\"value\":\"csk-test\\u0000hidden\"}"),
	    PE_INVALID_VALUE);
	assert_int_equal(decode_err("{\"op\":\"set\",\"name\":\"a\",\"value\":\"\\u0000\"}"),
	                 PE_INVALID_VALUE);
}

static void
test_an_escaped_backslash_before_u0000_is_not_a_nul(void **state)
{
	struct proto_request req;

	(void)state;
	decode_ok("{\"op\":\"set\",\"name\":\"a\",\"value\":\"csk-test\\\\u0000\"}", &req);
	assert_string_equal(req.value, "csk-test\\u0000");
	proto_request_free(&req);
}

static void
test_error_messages_never_contain_the_value(void **state)
{
	static const char *const lines[] = {
	    "{\"op\":\"set\",\"name\":\"a\",\"value\":\"csk-test-secret\\n\"}",
	    "{\"op\":\"set\",\"name\":\"a b\",\"value\":\"csk-test-secret\"}",
	    "{\"op\":\"set\",\"name\":\"a\",\"value\":\"csk-test-secret\\u0000\"}",
	    "{\"op\":\"set\",\"name\":\"a\",\"value\":\"csk-test-secret\",\"env\":\"x\"}",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof lines / sizeof lines[0]; i++) {
		struct outcome o = decode_n(lines[i], strlen(lines[i]));

		assert_int_not_equal(o.err, PE_OK);
		assert_null(strstr(o.msg, "csk-test-secret"));
	}
}

static void
test_line_over_64_kib_is_too_large(void **state)
{
	size_t len = PROTO_LINE_MAX + 1;
	char *line = malloc(len);

	(void)state;
	assert_non_null(line);
	memset(line, ' ', len);
	memcpy(line, "{\"op\":\"hello\"}", 14);
	assert_int_equal(decode_n(line, len).err, PE_TOO_LARGE);
	assert_int_equal(decode_n(line, len - 1).err, PE_OK);
	free(line);
}

static void
test_a_raw_nul_byte_in_the_line_is_bad_request(void **state)
{
	static const char line[] = "{\"op\":\"get\",\"name\":\"a\0b\"}";

	(void)state;
	assert_int_equal(decode_n(line, sizeof line - 1).err, PE_BAD_REQUEST);
}

/* ---- UTF-8 ---- */

static void
test_well_formed_utf8_is_valid(void **state)
{
	static const char *const good[] = {
	    "",
	    "plain ascii",
	    "\xc2\x80",         /* U+0080, smallest two-byte */
	    "\xdf\xbf",         /* U+07FF */
	    "\xe0\xa0\x80",     /* U+0800, smallest three-byte */
	    "\xed\x9f\xbf",     /* U+D7FF, just below the surrogates */
	    "\xee\x80\x80",     /* U+E000, just above them */
	    "\xef\xbf\xbf",     /* U+FFFF */
	    "\xf0\x90\x80\x80", /* U+10000, smallest four-byte */
	    "\xf4\x8f\xbf\xbf", /* U+10FFFF, the last code point */
	    "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x94\x91",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof good / sizeof good[0]; i++) {
		if (!proto_utf8_valid(good[i], strlen(good[i])))
			fail_msg("well-formed UTF-8 #%zu was refused", i);
	}
}

static void
test_malformed_utf8_is_invalid(void **state)
{
	static const char *const bad[] = {
	    "\x80", /* lone continuation byte */
	    "\xbf",
	    "\xff", /* never valid */
	    "\xfe",
	    "\xc3",         /* truncated two-byte */
	    "\xe2\x82",     /* truncated three-byte */
	    "\xf0\x9f\x94", /* truncated four-byte */
	    "\xc3\x28",     /* bad continuation */
	    "\xe2\x28\xa1",
	    "\xf5\x80\x80\x80", /* lead byte past U+10FFFF */
	    "\xf4\x90\x80\x80", /* U+110000 */
	    "\xf8\x88\x80\x80\x80",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		if (proto_utf8_valid(bad[i], strlen(bad[i])))
			fail_msg("malformed UTF-8 #%zu was accepted", i);
	}
}

static void
test_overlong_utf8_is_invalid(void **state)
{
	static const char *const bad[] = {
	    "\xc0\xaf",         /* '/' in two bytes */
	    "\xc1\xbf",         /* U+007F in two bytes */
	    "\xc0\x80",         /* NUL in two bytes */
	    "\xe0\x80\xaf",     /* '/' in three bytes */
	    "\xe0\x9f\xbf",     /* U+07FF in three bytes */
	    "\xf0\x80\x80\xaf", /* '/' in four bytes */
	    "\xf0\x8f\xbf\xbf", /* U+FFFF in four bytes */
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		if (proto_utf8_valid(bad[i], strlen(bad[i])))
			fail_msg("overlong UTF-8 #%zu was accepted", i);
	}
}

static void
test_utf8_encoded_surrogates_are_invalid(void **state)
{
	(void)state;
	assert_false(proto_utf8_valid("\xed\xa0\x80", 3));             /* U+D800 */
	assert_false(proto_utf8_valid("\xed\xbf\xbf", 3));             /* U+DFFF */
	assert_false(proto_utf8_valid("\xed\xa0\xbd\xed\xb4\x91", 6)); /* CESU-8 pair */
}

static void
test_utf8_check_stops_at_the_given_length(void **state)
{
	(void)state;
	/* The two-byte character is cut by the length, not by the string. */
	assert_false(proto_utf8_valid("ab\xc3\xa9", 3));
	assert_true(proto_utf8_valid("ab\xc3\xa9", 4));
}

static void
test_invalid_utf8_in_a_request_is_bad_request(void **state)
{
	static const char *const bad[] = {
	    "{\"op\":\"get\",\"name\":\"\xff\"}",
	    "{\"op\":\"get\",\"name\":\"\xc0\xaf\"}",
	    "{\"op\":\"set\",\"name\":\"a\",\"value\":\"\xe0\x80\xaf\"}",
	    "{\"op\":\"set\",\"name\":\"a\",\"value\":\"\xed\xa0\x80\"}",
	    "{\"op\":\"set\",\"name\":\"a\",\"value\":\"csk-\xc3\"}",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		if (decode_err(bad[i]) != PE_BAD_REQUEST)
			fail_msg("request #%zu with bad UTF-8 was not bad_request", i);
	}
}

static void
test_escaped_lone_surrogates_are_bad_request(void **state)
{
	(void)state;
	assert_int_equal(decode_err("{\"op\":\"set\",\"name\":\"a\",\"value\":\"x\\ud800\"}"),
	                 PE_BAD_REQUEST);
	assert_int_equal(decode_err("{\"op\":\"set\",\"name\":\"a\",\"value\":\"x\\udc00\"}"),
	                 PE_BAD_REQUEST);
	assert_int_equal(
	    decode_err("{\"op\":\"set\",\"name\":\"a\",\"value\":\"x\\ud83d\\u0041\"}"),
	    PE_BAD_REQUEST);
}

static void
test_escaped_surrogate_pair_decodes_to_four_bytes(void **state)
{
	struct proto_request req;

	(void)state;
	decode_ok("{\"op\":\"set\",\"name\":\"a\",\"value\":\"\\ud83d\\udd11\"}", &req);
	assert_string_equal(req.value, "\xf0\x9f\x94\x91");
	proto_request_free(&req);
}

/* ---- id ---- */

static void
test_numeric_id_is_echoed_as_json_text(void **state)
{
	(void)state;
	assert_string_equal(decode_id("{\"op\":\"hello\",\"id\":1}"), "1");
	assert_string_equal(decode_id("{\"op\":\"hello\",\"id\":-42}"), "-42");
	assert_string_equal(decode_id("{\"op\":\"hello\",\"id\":2.5}"), "2.5");
}

static void
test_string_id_is_echoed_as_a_json_string(void **state)
{
	const char *line = "{\"op\":\"hello\",\"id\":\"req-1\"}";
	const char *esc = "{\"op\":\"hello\",\"id\":\"a\\\"b\"}";

	(void)state;
	assert_string_equal(decode_n(line, strlen(line)).id, "\"req-1\"");
	assert_string_equal(decode_n(esc, strlen(esc)).id, "\"a\\\"b\"");
}

static void
test_id_is_kept_when_the_request_fails_after_it_is_read(void **state)
{
	const char *a = "{\"op\":\"nope\",\"id\":9}";
	const char *b = "{\"id\":\"x\",\"op\":\"get\",\"name\":\"a b\"}";
	const char *c = "{\"id\":3,\"op\":\"set\",\"name\":\"a\",\"value\":\"\\u0000\"}";
	struct outcome o;

	(void)state;
	o = decode_n(a, strlen(a));
	assert_int_equal(o.err, PE_UNKNOWN_OP);
	assert_string_equal(o.id, "9");
	o = decode_n(b, strlen(b));
	assert_int_equal(o.err, PE_INVALID_NAME);
	assert_string_equal(o.id, "\"x\"");
	o = decode_n(c, strlen(c));
	assert_int_equal(o.err, PE_INVALID_VALUE);
	assert_string_equal(o.id, "3");
}

static void
test_id_is_empty_when_the_line_is_not_json(void **state)
{
	const char *line = "{\"id\":5,";

	(void)state;
	assert_string_equal(decode_n(line, strlen(line)).id, "");
}

static void
test_string_id_of_72_bytes_is_accepted_and_73_refused(void **state)
{
	char line[256], id[80];
	struct outcome o;

	(void)state;
	memset(id, 'i', 72);
	id[72] = '\0';
	snprintf(line, sizeof line, "{\"op\":\"hello\",\"id\":\"%s\"}", id);
	o = decode_n(line, strlen(line));
	assert_int_equal(o.err, PE_OK);
	assert_int_equal(strlen(o.id), 74);
	id[72] = 'i';
	id[73] = '\0';
	snprintf(line, sizeof line, "{\"op\":\"hello\",\"id\":\"%s\"}", id);
	o = decode_n(line, strlen(line));
	assert_int_equal(o.err, PE_BAD_REQUEST);
	assert_string_equal(o.id, "");
}

static void
test_id_that_would_not_fit_once_escaped_is_refused_not_truncated(void **state)
{
	char line[1024];
	struct outcome o;
	int i, n;

	(void)state;
	/* 60 control characters: short enough as bytes, 360 bytes as JSON. */
	n = snprintf(line, sizeof line, "{\"op\":\"hello\",\"id\":\"");
	for (i = 0; i < 60; i++)
		n += snprintf(line + n, sizeof line - (size_t)n, "\\u0001");
	snprintf(line + n, sizeof line - (size_t)n, "\"}");
	o = decode_n(line, strlen(line));
	assert_int_equal(o.err, PE_BAD_REQUEST);
	assert_string_equal(o.id, "");
}

static void
test_id_of_another_type_is_bad_request(void **state)
{
	(void)state;
	assert_int_equal(decode_err("{\"op\":\"hello\",\"id\":{}}"), PE_BAD_REQUEST);
	assert_int_equal(decode_err("{\"op\":\"hello\",\"id\":[1]}"), PE_BAD_REQUEST);
	assert_int_equal(decode_err("{\"op\":\"hello\",\"id\":true}"), PE_BAD_REQUEST);
	assert_int_equal(decode_err("{\"op\":\"hello\",\"id\":null}"), PE_BAD_REQUEST);
}

/* ---- resolve ---- */

static void
test_resolve_with_a_string_sets_env(void **state)
{
	struct proto_request req;

	(void)state;
	decode_ok("{\"op\":\"resolve\",\"env\":\"CEREBRAS_API_KEY\"}", &req);
	assert_int_equal(req.op, OP_RESOLVE);
	assert_string_equal(req.env, "CEREBRAS_API_KEY");
	assert_null(req.envs);
	proto_request_free(&req);
}

static void
test_resolve_with_an_array_sets_envs(void **state)
{
	struct proto_request req;

	(void)state;
	decode_ok("{\"op\":\"resolve\",\"env\":[\"A_API_KEY\",\"B_API_KEY\"]}", &req);
	assert_null(req.env);
	assert_non_null(req.envs);
	assert_int_equal(cJSON_GetArraySize(req.envs), 2);
	assert_string_equal(cJSON_GetArrayItem(req.envs, 1)->valuestring, "B_API_KEY");
	proto_request_free(&req);
}

static void
test_resolve_with_an_invalid_env_is_invalid_name(void **state)
{
	(void)state;
	assert_int_equal(decode_err("{\"op\":\"resolve\",\"env\":\"lower\"}"), PE_INVALID_NAME);
	assert_int_equal(decode_err("{\"op\":\"resolve\",\"env\":\"\"}"), PE_INVALID_NAME);
	assert_int_equal(decode_err("{\"op\":\"resolve\",\"env\":[\"OK\",\"NOT-OK\"]}"),
	                 PE_INVALID_NAME);
}

static void
test_resolve_without_env_or_with_another_type_is_bad_request(void **state)
{
	(void)state;
	assert_int_equal(decode_err("{\"op\":\"resolve\"}"), PE_BAD_REQUEST);
	assert_int_equal(decode_err("{\"op\":\"resolve\",\"env\":5}"), PE_BAD_REQUEST);
	assert_int_equal(decode_err("{\"op\":\"resolve\",\"env\":{\"A\":1}}"), PE_BAD_REQUEST);
	assert_int_equal(decode_err("{\"op\":\"resolve\",\"env\":[\"A\",1]}"), PE_BAD_REQUEST);
}

static void
test_resolve_of_more_than_4096_names_is_too_large(void **state)
{
	struct buf b = {0};
	int i;

	(void)state;
	buf_adds(&b, "{\"op\":\"resolve\",\"env\":[");
	for (i = 0; i < 4096; i++)
		buf_adds(&b, i ? ",\"A\"" : "\"A\"");
	buf_adds(&b, "]}");
	assert_int_equal(decode_n(b.data, b.len).err, PE_OK);
	b.len -= 2;
	buf_adds(&b, ",\"A\"]}");
	assert_int_equal(decode_n(b.data, b.len).err, PE_TOO_LARGE);
	buf_free(&b);
}

/* ---- release ---- */

/* cJSON allocation hooks that count freed blocks still holding a test secret. */
static int secret_left;

static void *
counting_malloc(size_t n)
{
	size_t *p = malloc(n + 2 * sizeof *p);

	if (p == NULL)
		return NULL;
	p[0] = n;
	return p + 2;
}

static void
counting_free(void *q)
{
	size_t *p;

	if (q == NULL)
		return;
	p = (size_t *)q - 2;
	if (memmem(q, p[0], "csk-test-secret", 15) != NULL)
		secret_left++;
	free(p);
}

static void
test_a_refused_secret_request_leaves_no_value_in_freed_memory(void **state)
{
	static const char *const lines[] = {
	    "{\"op\":\"set\",\"name\":\"a\",\"value\":\"csk-test-secret\\u0000\"}",
	    "{\"op\":\"set\",\"name\":\"a\",\"value\":\"csk-test-secret\",\"id\":{}}",
	    "{\"op\":\"set\",\"name\":\"a\",\"value\":\"csk-test-secret\"} x",
	    "{\"op\":\"set\",\"name\":\"a b\",\"value\":\"csk-test-secret\"}",
	    "{\"op\":\"set\",\"name\":\"a\",\"value\":\"csk-test-secret\\n\"}",
	    "{\"op\":\"unlock\",\"value\":\"csk-test-secret\",\"for\":-1}",
	    "{\"op\":\"passphrase\",\"new_value\":\"csk-test-secret\",\"id\":[]}",
	    "{\"op\":\"set\",\"name\":\"a\",\"value\":\"csk-test-secret\"}",
	};
	cJSON_Hooks hooks = {.malloc_fn = counting_malloc, .free_fn = counting_free};
	size_t i;

	(void)state;
	secret_left = 0;
	cJSON_InitHooks(&hooks);
	for (i = 0; i < sizeof lines / sizeof lines[0]; i++) {
		struct proto_request req;
		const char *msg;

		proto_decode(lines[i], strlen(lines[i]), &req, &msg);
		proto_request_free(&req);
	}
	cJSON_InitHooks(NULL);
	assert_int_equal(secret_left, 0);
}

static void
test_request_free_twice_is_harmless(void **state)
{
	struct proto_request req;

	(void)state;
	decode_ok("{\"op\":\"set\",\"name\":\"a\",\"value\":\"csk-test-1\"}", &req);
	proto_request_free(&req);
	assert_null(req.doc);
	proto_request_free(&req);
}

/* ---- names of ops and errors ---- */

static void
test_every_error_code_has_a_wire_name_that_maps_back(void **state)
{
	static const char *const wire[PE_COUNT] = {
	    "ok",       "bad_request", "unknown_op", "invalid_name", "invalid_value", "not_found",
	    "conflict", "too_large",   "locked",     "denied",       "busy",          "io_error",
	};
	int e;

	(void)state;
	for (e = 0; e < PE_COUNT; e++) {
		assert_string_equal(proto_err_name((enum proto_err)e), wire[e]);
		assert_int_equal(proto_err_from_name(wire[e]), e);
	}
}

static void
test_unknown_error_names_map_to_count(void **state)
{
	(void)state;
	assert_int_equal(proto_err_from_name("exploded"), PE_COUNT);
	assert_int_equal(proto_err_from_name(""), PE_COUNT);
	assert_int_equal(proto_err_from_name(NULL), PE_COUNT);
	assert_string_equal(proto_err_name(PE_COUNT), "io_error");
}

/* ---- encoding ---- */

static void
test_success_reply_round_trips_through_cjson(void **state)
{
	static const char value[] =
	    "csk-\"q\"\\b\\\x01\x1f\t\n\r\xc3\xa9\xe2\x82\xac\xf0\x9f\x94\x91";
	struct buf b = {0};
	cJSON *doc;

	(void)state;
	proto_reply_begin(&b, "17");
	proto_field_str(&b, "value", value, sizeof value - 1);
	proto_field_str(&b, "name", "cerebras", 8);
	proto_field_int(&b, "updated", 1795986245);
	proto_field_int(&b, "neg", -5);
	proto_field_bool(&b, "created", true);
	proto_field_bool(&b, "locked", false);
	proto_field_key(&b, "keys");
	buf_adds(&b, "[]");
	proto_end(&b);
	doc = parse_line(&b);
	assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(doc, "ok")));
	assert_int_equal(cJSON_GetObjectItemCaseSensitive(doc, "id")->valueint, 17);
	assert_string_equal(cJSON_GetObjectItemCaseSensitive(doc, "value")->valuestring, value);
	assert_string_equal(cJSON_GetObjectItemCaseSensitive(doc, "name")->valuestring, "cerebras");
	assert_true(cJSON_GetObjectItemCaseSensitive(doc, "updated")->valuedouble == 1795986245.0);
	assert_int_equal(cJSON_GetObjectItemCaseSensitive(doc, "neg")->valueint, -5);
	assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(doc, "created")));
	assert_true(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(doc, "locked")));
	assert_true(cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(doc, "keys")));
	cJSON_Delete(doc);
	buf_free(&b);
}

static void
test_reply_without_an_id_has_no_id_member(void **state)
{
	struct buf b = {0};
	cJSON *doc;

	(void)state;
	proto_reply_begin(&b, "");
	proto_end(&b);
	assert_string_equal(b.data, "{\"ok\":true}\n");
	buf_clear(&b);
	proto_reply_begin(&b, NULL);
	proto_end(&b);
	doc = parse_line(&b);
	assert_null(cJSON_GetObjectItemCaseSensitive(doc, "id"));
	cJSON_Delete(doc);
	buf_free(&b);
}

static void
test_error_reply_round_trips_with_id_code_and_message(void **state)
{
	struct buf b = {0};
	cJSON *doc;

	(void)state;
	proto_reply_error(&b, "\"req-9\"", PE_NOT_FOUND, "no key \"x\\y\"\n here");
	doc = parse_line(&b);
	assert_true(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(doc, "ok")));
	assert_string_equal(cJSON_GetObjectItemCaseSensitive(doc, "id")->valuestring, "req-9");
	assert_string_equal(cJSON_GetObjectItemCaseSensitive(doc, "error")->valuestring,
	                    "not_found");
	assert_string_equal(cJSON_GetObjectItemCaseSensitive(doc, "message")->valuestring,
	                    "no key \"x\\y\"\n here");
	cJSON_Delete(doc);
	buf_free(&b);
}

static void
test_decoded_string_id_is_echoed_intact_in_the_reply(void **state)
{
	const char *line = "{\"op\":\"nope\",\"id\":\"q\\\"\\\\\\n\xc3\xa9\"}";
	struct outcome o = decode_n(line, strlen(line));
	struct buf b = {0};
	cJSON *doc;

	(void)state;
	assert_int_equal(o.err, PE_UNKNOWN_OP);
	proto_reply_error(&b, o.id, o.err, o.msg);
	doc = parse_line(&b);
	assert_string_equal(cJSON_GetObjectItemCaseSensitive(doc, "id")->valuestring,
	                    "q\"\\\n\xc3\xa9");
	assert_string_equal(cJSON_GetObjectItemCaseSensitive(doc, "error")->valuestring,
	                    "unknown_op");
	cJSON_Delete(doc);
	buf_free(&b);
}

static void
test_encoded_request_decodes_to_what_was_sent(void **state)
{
	static const char value[] = "csk-test-\"quoted\"\\slash\xc3\xa9\x01";
	struct buf b = {0};
	struct proto_request req;
	const char *msg;

	(void)state;
	proto_request_begin(&b, OP_SET);
	proto_field_str(&b, "name", "open-router", 11);
	proto_field_str(&b, "value", value, sizeof value - 1);
	proto_field_str(&b, "env", "OR_KEY", 6);
	proto_field_int(&b, "id", 4);
	proto_end(&b);
	assert_int_equal(b.data[b.len - 1], '\n');
	assert_int_equal(proto_decode(b.data, b.len - 1, &req, &msg), PE_OK);
	assert_int_equal(req.op, OP_SET);
	assert_string_equal(req.name, "open-router");
	assert_string_equal(req.value, value);
	assert_int_equal(req.value_len, sizeof value - 1);
	assert_string_equal(req.env, "OR_KEY");
	assert_string_equal(req.id, "4");
	proto_request_free(&req);
	buf_free(&b);
}

/* The value rule: empty, too long, more than one line, a NUL, not UTF-8, in that order. */
static void
test_a_value_is_checked_for_each_part_of_the_rule_in_order(void **state)
{
	char big[PROTO_VALUE_MAX + 2];

	(void)state;
	memset(big, 'k', sizeof big);
	assert_int_equal(proto_value_check("csk-test-abc", 12), PV_OK);
	assert_int_equal(proto_value_check("", 0), PV_EMPTY);
	assert_int_equal(proto_value_check(big, PROTO_VALUE_MAX), PV_OK);
	assert_int_equal(proto_value_check(big, PROTO_VALUE_MAX + 1), PV_TOO_LONG);
	assert_int_equal(proto_value_check("a\nb", 3), PV_LINES);
	assert_int_equal(proto_value_check("a\rb", 3), PV_LINES);
	assert_int_equal(proto_value_check("a\0b", 3), PV_NUL);
	assert_int_equal(proto_value_check("a\377b", 3), PV_NOT_UTF8);
	assert_int_equal(proto_value_check("\303\251t\303\251", 5), PV_OK); /* "été" */
	assert_int_equal(proto_value_check("a\n\0\xff", 4), PV_LINES);
	assert_string_equal(proto_value_fault_text(PV_TOO_LONG), "is longer than 16 KiB");
	assert_string_equal(proto_value_fault_text(PV_OK), "");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_hello_decodes_with_nothing_else),
	    cmocka_unit_test(test_every_op_decodes_by_its_wire_name),
	    cmocka_unit_test(test_use_decodes_a_key_and_a_canonical_origin),
	    cmocka_unit_test(test_bind_decodes_a_mode_and_a_sorted_distinct_list),
	    cmocka_unit_test(test_more_than_sixteen_origins_is_bad_request),
	    cmocka_unit_test(test_set_decodes_optional_origins),
	    cmocka_unit_test(test_get_decodes_its_name),
	    cmocka_unit_test(test_get_decodes_masked),
	    cmocka_unit_test(test_allow_needs_a_name_or_all_and_for),
	    cmocka_unit_test(test_set_decodes_name_value_and_env),
	    cmocka_unit_test(test_set_without_env_leaves_env_unset),
	    cmocka_unit_test(test_set_decodes_env_confirmed_as_a_boolean_only),
	    cmocka_unit_test(test_set_value_keeps_utf8_and_escapes_decoded),
	    cmocka_unit_test(test_members_may_come_in_any_order_with_whitespace),
	    cmocka_unit_test(test_unlock_decodes_passphrase_and_seconds),
	    cmocka_unit_test(test_unlock_with_negative_or_non_number_seconds_is_bad_request),
	    cmocka_unit_test(test_unlock_for_over_a_week_is_bad_request),
	    cmocka_unit_test(test_allow_for_over_a_week_is_bad_request),
	    cmocka_unit_test(test_passphrase_decodes_action_and_new_value),
	    cmocka_unit_test(test_bad_json_is_bad_request),
	    cmocka_unit_test(test_text_after_the_object_is_bad_request),
	    cmocka_unit_test(test_a_json_value_that_is_not_an_object_is_bad_request),
	    cmocka_unit_test(test_missing_or_non_string_op_is_bad_request),
	    cmocka_unit_test(test_unknown_op_is_unknown_op),
	    cmocka_unit_test(test_missing_name_is_bad_request),
	    cmocka_unit_test(test_name_that_is_not_a_string_is_bad_request),
	    cmocka_unit_test(test_invalid_name_is_invalid_name),
	    cmocka_unit_test(test_name_of_129_characters_is_invalid_name),
	    cmocka_unit_test(test_set_with_an_invalid_env_is_invalid_name),
	    cmocka_unit_test(test_set_without_a_value_is_bad_request),
	    cmocka_unit_test(test_empty_value_is_invalid_value),
	    cmocka_unit_test(test_value_of_exactly_16_kib_is_accepted),
	    cmocka_unit_test(test_value_over_16_kib_is_too_large),
	    cmocka_unit_test(test_a_value_or_new_value_over_16_kib_is_too_large_in_every_op),
	    cmocka_unit_test(test_value_with_a_newline_is_invalid_value),
	    cmocka_unit_test(test_value_with_a_nul_escape_is_invalid_value),
	    cmocka_unit_test(test_an_escaped_backslash_before_u0000_is_not_a_nul),
	    cmocka_unit_test(test_error_messages_never_contain_the_value),
	    cmocka_unit_test(test_line_over_64_kib_is_too_large),
	    cmocka_unit_test(test_a_raw_nul_byte_in_the_line_is_bad_request),
	    cmocka_unit_test(test_well_formed_utf8_is_valid),
	    cmocka_unit_test(test_malformed_utf8_is_invalid),
	    cmocka_unit_test(test_overlong_utf8_is_invalid),
	    cmocka_unit_test(test_utf8_encoded_surrogates_are_invalid),
	    cmocka_unit_test(test_utf8_check_stops_at_the_given_length),
	    cmocka_unit_test(test_invalid_utf8_in_a_request_is_bad_request),
	    cmocka_unit_test(test_escaped_lone_surrogates_are_bad_request),
	    cmocka_unit_test(test_escaped_surrogate_pair_decodes_to_four_bytes),
	    cmocka_unit_test(test_numeric_id_is_echoed_as_json_text),
	    cmocka_unit_test(test_string_id_is_echoed_as_a_json_string),
	    cmocka_unit_test(test_id_is_kept_when_the_request_fails_after_it_is_read),
	    cmocka_unit_test(test_id_is_empty_when_the_line_is_not_json),
	    cmocka_unit_test(test_string_id_of_72_bytes_is_accepted_and_73_refused),
	    cmocka_unit_test(test_id_that_would_not_fit_once_escaped_is_refused_not_truncated),
	    cmocka_unit_test(test_id_of_another_type_is_bad_request),
	    cmocka_unit_test(test_resolve_with_a_string_sets_env),
	    cmocka_unit_test(test_resolve_with_an_array_sets_envs),
	    cmocka_unit_test(test_resolve_with_an_invalid_env_is_invalid_name),
	    cmocka_unit_test(test_resolve_without_env_or_with_another_type_is_bad_request),
	    cmocka_unit_test(test_resolve_of_more_than_4096_names_is_too_large),
	    cmocka_unit_test(test_a_refused_secret_request_leaves_no_value_in_freed_memory),
	    cmocka_unit_test(test_request_free_twice_is_harmless),
	    cmocka_unit_test(test_every_error_code_has_a_wire_name_that_maps_back),
	    cmocka_unit_test(test_unknown_error_names_map_to_count),
	    cmocka_unit_test(test_success_reply_round_trips_through_cjson),
	    cmocka_unit_test(test_reply_without_an_id_has_no_id_member),
	    cmocka_unit_test(test_error_reply_round_trips_with_id_code_and_message),
	    cmocka_unit_test(test_decoded_string_id_is_echoed_intact_in_the_reply),
	    cmocka_unit_test(test_encoded_request_decodes_to_what_was_sent),
	    cmocka_unit_test(test_a_value_is_checked_for_each_part_of_the_rule_in_order),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
