/*
 * Unit tests for keystore.c: the version-1 document, the flat form, the sealed
 * envelope, everything a keystore file is refused for, times, and encode→parse.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "buf.h"
#include "keystore.h"
#include "names.h"
#include "origin.h"
#include "proto.h"

#define MAX_KEYS 8

/* What ks_parse called back with, copied out. */
struct seen {
	int n;
	struct {
		char name[NAME_MAX_LEN + 1];
		char env[ENV_MAX_LEN + 1];
		char *value;
		size_t value_len;
		int64_t created, updated;
		char origins[ORIGIN_LIST_MAX];
	} k[MAX_KEYS];
	int fail_at; /* refuse the entry with this index, -1 never */
};

static int
collect(void *arg, const struct ks_entry *e, char *err, size_t errsize)
{
	struct seen *s = arg;

	if (s->n == s->fail_at) {
		snprintf(err, errsize, "test refused %s", e->name);
		return -1;
	}
	assert_true(s->n < MAX_KEYS);
	snprintf(s->k[s->n].name, sizeof s->k[s->n].name, "%s", e->name);
	snprintf(s->k[s->n].env, sizeof s->k[s->n].env, "%s", e->env);
	s->k[s->n].value = malloc(e->value_len + 1);
	assert_non_null(s->k[s->n].value);
	memcpy(s->k[s->n].value, e->value, e->value_len);
	s->k[s->n].value[e->value_len] = '\0';
	s->k[s->n].value_len = e->value_len;
	s->k[s->n].created = e->created;
	s->k[s->n].updated = e->updated;
	snprintf(s->k[s->n].origins, sizeof s->k[s->n].origins, "%s",
	         e->origins != NULL ? e->origins : "");
	s->n++;
	return 0;
}

static void
seen_free(struct seen *s)
{
	int i;

	for (i = 0; i < s->n; i++)
		free(s->k[i].value);
	s->n = 0;
}

/* Parse text; s receives the keys. */
static int
parse(const char *text, struct seen *s, char *err, size_t errsize)
{
	memset(s, 0, sizeof *s);
	s->fail_at = -1;
	err[0] = '\0';
	return ks_parse(text, strlen(text), collect, s, err, errsize);
}

/* Parse text that must be refused: -1, an error message and no key delivered after it. */
static void
assert_refused(const char *text)
{
	struct seen s;
	char err[256];
	int rc = parse(text, &s, err, sizeof err);

	seen_free(&s);
	if (rc != -1)
		fail_msg("accepted as form %d: %s", rc, text);
	if (err[0] == '\0')
		fail_msg("refused without a message: %s", text);
}

static void
test_v1_document_yields_every_key_with_its_fields(void **state)
{
	const char *text =
	    "{\"version\":1,\"keys\":{"
	    "\"cerebras\":{\"value\":\"csk-test-0001\",\"env\":\"CEREBRAS_API_KEY\","
	    "\"created\":\"2026-11-28T21:04:05Z\",\"updated\":\"2026-11-28T21:04:06Z\"},"
	    "\"groq\":{\"value\":\"gsk-test-0002\",\"env\":\"MY_GROQ\"}}}";
	struct seen s;
	char err[256];

	(void)state;
	assert_int_equal(parse(text, &s, err, sizeof err), KS_FORM_V1);
	assert_int_equal(s.n, 2);
	assert_string_equal(s.k[0].name, "cerebras");
	assert_string_equal(s.k[0].value, "csk-test-0001");
	assert_int_equal(s.k[0].value_len, 13);
	assert_string_equal(s.k[0].env, "CEREBRAS_API_KEY");
	assert_int_equal(s.k[0].created, 1795899845);
	assert_int_equal(s.k[0].updated, 1795899846);
	assert_string_equal(s.k[1].name, "groq");
	assert_string_equal(s.k[1].env, "MY_GROQ");
	assert_int_equal(s.k[1].created, 0);
	assert_int_equal(s.k[1].updated, 0);
	seen_free(&s);
}

static void
test_v1_document_needs_exactly_version_and_keys(void **state)
{
	struct seen s;
	char err[256];

	(void)state;
	assert_int_equal(parse("{\"version\":1,\"keys\":{}}", &s, err, sizeof err), KS_FORM_V1);
	assert_int_equal(s.n, 0);
	/* A sealed file damaged in its "sealed" member must not pass for an empty keystore. */
	assert_int_equal(parse("{\"version\":1}", &s, err, sizeof err), -1);
	assert_int_equal(parse("{\"version\":1,\"realed\":{}}", &s, err, sizeof err), -1);
	assert_int_equal(parse("{\"version\":1,\"keys\":{},\"extra\":1}", &s, err, sizeof err),
			 -1);
}

static void
test_missing_env_gets_the_default_env_name(void **state)
{
	const char *text = "{\"version\":1,\"keys\":{\"open-router\":{\"value\":\"sk-or-test-1\"},"
	                   "\"OPENAI_API_KEY\":{\"value\":\"sk-test-2\"}}}";
	struct seen s;
	char err[256];

	(void)state;
	assert_int_equal(parse(text, &s, err, sizeof err), KS_FORM_V1);
	assert_int_equal(s.n, 2);
	assert_string_equal(s.k[0].env, "OPEN_ROUTER_API_KEY");
	assert_string_equal(s.k[1].env, "OPENAI_API_KEY");
	seen_free(&s);
}

static void
test_flat_form_is_read_with_default_env_names(void **state)
{
	const char *text = "{\"cerebras\":\"csk-test-0001\",\"open-router\":\"sk-or-test-2\"}";
	struct seen s;
	char err[256];

	(void)state;
	assert_int_equal(parse(text, &s, err, sizeof err), KS_FORM_FLAT);
	assert_int_equal(s.n, 2);
	assert_string_equal(s.k[0].name, "cerebras");
	assert_string_equal(s.k[0].value, "csk-test-0001");
	assert_string_equal(s.k[0].env, "CEREBRAS_API_KEY");
	assert_string_equal(s.k[1].name, "open-router");
	assert_string_equal(s.k[1].env, "OPEN_ROUTER_API_KEY");
	assert_int_equal(s.k[1].created, 0);
	seen_free(&s);
}

static void
test_flat_form_with_a_non_string_value_is_refused(void **state)
{
	(void)state;
	assert_refused("{\"cerebras\":{\"value\":\"csk-test-1\"}}");
	assert_refused("{\"cerebras\":42}");
}

static void
test_sealed_document_is_detected_without_calling_back(void **state)
{
	const char *text = "{\"version\":1,\"sealed\":{\"kdf\":\"argon2id13\",\"opslimit\":2,"
	                   "\"memlimit\":67108864,\"salt\":\"dGVzdA==\",\"nonce\":\"dGVzdA==\","
	                   "\"ciphertext\":\"dGVzdA==\"}}";
	struct seen s;
	char err[256];

	(void)state;
	assert_int_equal(parse(text, &s, err, sizeof err), KS_FORM_SEALED);
	assert_int_equal(s.n, 0);
}

static void
test_invalid_json_is_refused(void **state)
{
	(void)state;
	assert_refused("");
	assert_refused("{");
	assert_refused("{\"version\":1,\"keys\":{\"a\":{\"value\":\"csk-test-1\"}}");
	assert_refused("keys");
	assert_refused("[]");
	assert_refused("\"csk-test-1\"");
	assert_refused("null");
}

static void
test_text_after_the_document_is_refused(void **state)
{
	struct seen s;
	char err[256];

	(void)state;
	assert_refused("{\"version\":1,\"keys\":{}} trailing");
	assert_refused("{\"a\":\"csk-test-1\"}{\"b\":\"csk-test-2\"}");
	assert_int_equal(parse("{\"version\":1,\"keys\":{}}\n\n", &s, err, sizeof err), KS_FORM_V1);
}

static void
test_raw_nul_or_invalid_utf8_is_refused(void **state)
{
	static const char nul[] = "{\"a\":\"csk-test\0-1\"}";
	struct seen s;
	char err[256];

	(void)state;
	memset(&s, 0, sizeof s);
	s.fail_at = -1;
	assert_int_equal(ks_parse(nul, sizeof nul - 1, collect, &s, err, sizeof err), -1);
	assert_refused("{\"a\":\"csk-\xff\"}");
	assert_refused("{\"a\":\"csk-\xc0\xaf\"}");
	assert_refused("{\"a\":\"csk-\xed\xa0\x80\"}");
}

static void
test_unsupported_version_is_refused(void **state)
{
	(void)state;
	assert_refused("{\"version\":2,\"keys\":{}}");
	assert_refused("{\"version\":\"1\",\"keys\":{}}");
	assert_refused("{\"version\":1.5,\"keys\":{}}");
}

static void
test_keys_that_is_not_an_object_is_refused(void **state)
{
	(void)state;
	assert_refused("{\"version\":1,\"keys\":[]}");
	assert_refused("{\"version\":1,\"keys\":\"cerebras\"}");
}

static void
test_invalid_key_names_are_refused(void **state)
{
	(void)state;
	assert_refused("{\"version\":1,\"keys\":{\"a b\":{\"value\":\"csk-test-1\"}}}");
	assert_refused("{\"version\":1,\"keys\":{\"-x\":{\"value\":\"csk-test-1\"}}}");
	assert_refused("{\"version\":1,\"keys\":{\"\":{\"value\":\"csk-test-1\"}}}");
	assert_refused("{\"../etc\":\"csk-test-1\"}");
	assert_refused("{\"caf\xc3\xa9\":\"csk-test-1\"}");
}

static void
test_key_without_a_string_value_is_refused(void **state)
{
	(void)state;
	assert_refused("{\"version\":1,\"keys\":{\"a\":{\"env\":\"A_API_KEY\"}}}");
	assert_refused("{\"version\":1,\"keys\":{\"a\":{\"value\":7}}}");
	assert_refused("{\"version\":1,\"keys\":{\"a\":\"csk-test-1\"}}");
}

static void
test_invalid_values_are_refused(void **state)
{
	struct buf b = {0};

	(void)state;
	assert_refused("{\"version\":1,\"keys\":{\"a\":{\"value\":\"\"}}}");
	assert_refused("{\"version\":1,\"keys\":{\"a\":{\"value\":\"csk-test\\n1\"}}}");
	assert_refused("{\"version\":1,\"keys\":{\"a\":{\"value\":\"csk-test\\r\"}}}");
	assert_refused("{\"a\":\"\"}");
	assert_refused("{\"a\":\"csk-test\\n\"}");
	buf_adds(&b, "{\"a\":\"");
	while (b.len < 6 + PROTO_VALUE_MAX + 1)
		buf_addc(&b, 'v');
	buf_adds(&b, "\"}");
	assert_refused(b.data);
	buf_free(&b);
}

static void
test_value_of_exactly_16_kib_is_accepted(void **state)
{
	struct buf b = {0};
	struct seen s;
	char err[256];

	(void)state;
	buf_adds(&b, "{\"a\":\"");
	while (b.len < 6 + PROTO_VALUE_MAX)
		buf_addc(&b, 'v');
	buf_adds(&b, "\"}");
	assert_int_equal(parse(b.data, &s, err, sizeof err), KS_FORM_FLAT);
	assert_int_equal(s.k[0].value_len, PROTO_VALUE_MAX);
	seen_free(&s);
	buf_free(&b);
}

static void
test_value_with_a_nul_escape_is_refused_not_cut_short(void **state)
{
	(void)state;
	assert_refused("{\"version\":1,\"keys\":{\"a\":{\"value\":\"csk-test\\u0000rest\"}}}");
	assert_refused("{\"a\":\"csk-test\\u0000rest\"}");
	assert_refused("{\"a\\u0000b\":\"csk-test-1\"}");
}

static void
test_an_escaped_backslash_before_u0000_is_kept_as_text(void **state)
{
	struct seen s;
	char err[256];

	(void)state;
	assert_int_equal(parse("{\"a\":\"csk-test\\\\u0000\"}", &s, err, sizeof err), KS_FORM_FLAT);
	assert_string_equal(s.k[0].value, "csk-test\\u0000");
	seen_free(&s);
}

static void
test_invalid_env_is_refused(void **state)
{
	(void)state;
	assert_refused(
	    "{\"version\":1,\"keys\":{\"a\":{\"value\":\"csk-test-1\",\"env\":\"lower_case\"}}}");
	assert_refused("{\"version\":1,\"keys\":{\"a\":{\"value\":\"csk-test-1\",\"env\":\"\"}}}");
	assert_refused("{\"version\":1,\"keys\":{\"a\":{\"value\":\"csk-test-1\",\"env\":3}}}");
}

static void
test_bad_times_in_a_document_are_refused(void **state)
{
	(void)state;
	assert_refused("{\"version\":1,\"keys\":{\"a\":{\"value\":\"csk-test-1\","
	               "\"created\":\"yesterday\"}}}");
	assert_refused("{\"version\":1,\"keys\":{\"a\":{\"value\":\"csk-test-1\","
	               "\"updated\":1795899845}}}");
	assert_refused("{\"version\":1,\"keys\":{\"a\":{\"value\":\"csk-test-1\","
	               "\"updated\":\"2026-11-28 21:04:05Z\"}}}");
}

static void
test_callback_error_stops_the_parse_with_its_message(void **state)
{
	const char *text = "{\"a\":\"csk-test-1\",\"b\":\"csk-test-2\",\"c\":\"csk-test-3\"}";
	struct seen s;
	char err[256];

	(void)state;
	memset(&s, 0, sizeof s);
	s.fail_at = 1;
	assert_int_equal(ks_parse(text, strlen(text), collect, &s, err, sizeof err), -1);
	assert_int_equal(s.n, 1);
	assert_string_equal(err, "test refused b");
	seen_free(&s);
}

static void
test_error_messages_never_contain_the_value(void **state)
{
	static const char *const docs[] = {
	    "{\"version\":1,\"keys\":{\"a\":{\"value\":\"csk-test-secret\\n\"}}}",
	    "{\"version\":1,\"keys\":{\"a b\":{\"value\":\"csk-test-secret\"}}}",
	    "{\"version\":1,\"keys\":{\"a\":{\"value\":\"csk-test-secret\",\"env\":\"x\"}}}",
	    "{\"a\":\"csk-test-secret\\r\"}",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof docs / sizeof docs[0]; i++) {
		struct seen s;
		char err[256];

		assert_int_equal(parse(docs[i], &s, err, sizeof err), -1);
		assert_null(strstr(err, "csk-test-secret"));
		seen_free(&s);
	}
}

static void
test_time_parse_reads_the_design_example(void **state)
{
	(void)state;
	assert_int_equal(ks_time_parse("2026-11-28T21:04:05Z"), 1795899845);
	assert_int_equal(ks_time_parse("2000-02-29T00:00:00Z"), 951782400);
	assert_int_equal(ks_time_parse("2038-01-19T03:14:08Z"), 2147483648LL);
}

static void
test_time_format_writes_utc_with_a_z(void **state)
{
	char t[KS_TIME_MAX];

	(void)state;
	ks_time_format(1795899845, t);
	assert_string_equal(t, "2026-11-28T21:04:05Z");
	ks_time_format(0, t);
	assert_string_equal(t, "1970-01-01T00:00:00Z");
}

static void
test_time_format_and_parse_round_trip(void **state)
{
	static const int64_t times[] = {
	    1, 59, 86399, 86400, 951782400, 1795899845, 2147483647, 2147483648LL, 4102444799LL,
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof times / sizeof times[0]; i++) {
		char t[KS_TIME_MAX];

		ks_time_format(times[i], t);
		if (ks_time_parse(t) != times[i])
			fail_msg("%lld formats as %s, which parses as %lld", (long long)times[i], t,
			         (long long)ks_time_parse(t));
	}
}

static void
test_time_parse_refuses_what_is_not_the_format(void **state)
{
	static const char *const bad[] = {
	    "",
	    "now",
	    "2026-11-28",
	    "2026-11-28T21:04:05",
	    "2026-11-28T21:04:05z",
	    "2026-11-28 21:04:05Z",
	    "2026-11-28T21:04:05+00:00",
	    "2026-11-28T21:04:05.5Z",
	    "2026/11/28T21:04:05Z",
	    "2026-11-28T21:04:05ZZ",
	    " 2026-11-28T21:04:05Z",
	    "2026-+1-28T21:04:05Z",
	    "2026-11- 8T21:04:05Z",
	    "2026-11-28T-1:04:05Z",
	    "+026-11-28T21:04:05Z",
	};
	size_t i;

	(void)state;
	assert_int_equal(ks_time_parse(NULL), -1);
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		if (ks_time_parse(bad[i]) != -1)
			fail_msg("\"%s\" parsed as %lld", bad[i], (long long)ks_time_parse(bad[i]));
	}
}

static void
test_time_parse_refuses_fields_out_of_range(void **state)
{
	static const char *const bad[] = {
	    "2026-00-28T21:04:05Z", "2026-13-28T21:04:05Z", "2026-11-00T21:04:05Z",
	    "2026-11-32T21:04:05Z", "2026-11-28T24:00:00Z", "2026-11-28T21:60:05Z",
	    "2026-11-28T21:04:61Z",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		if (ks_time_parse(bad[i]) != -1)
			fail_msg("\"%s\" parsed as %lld", bad[i], (long long)ks_time_parse(bad[i]));
	}
}

static void
test_time_parse_refuses_days_that_do_not_exist(void **state)
{
	static const char *const bad[] = {
	    "2026-02-29T00:00:00Z", /* not a leap year */
	    "2026-02-30T00:00:00Z",
	    "2026-04-31T00:00:00Z",
	    "1900-02-29T00:00:00Z",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		if (ks_time_parse(bad[i]) != -1)
			fail_msg("\"%s\" parsed as %lld", bad[i], (long long)ks_time_parse(bad[i]));
	}
	assert_true(ks_time_parse("2028-02-29T00:00:00Z") > 0);
}

static void
test_encode_then_parse_round_trips_every_field(void **state)
{
	static const char odd[] = "csk-test-\"q\"\\b\\\t\x01\xc3\xa9\xe2\x82\xac\xf0\x9f\x94\x91";
	const struct ks_entry in[] = {
	    {.name = "cerebras",
	     .env = "CEREBRAS_API_KEY",
	     .value = "csk-test-0001",
	     .value_len = 13,
	     .created = 1795899845,
	     .updated = 1795899900},
	    {.name = "odd.name-1_x",
	     .env = "ODD",
	     .value = odd,
	     .value_len = sizeof odd - 1,
	     .created = 951782400,
	     .updated = 2147483648LL},
	    {.name = "OPENAI_API_KEY",
	     .env = "OPENAI_API_KEY",
	     .value = "sk-test-3",
	     .value_len = 9},
	};
	struct buf b = {0};
	struct seen s;
	char err[256];
	size_t i;

	(void)state;
	ks_encode_begin(&b);
	for (i = 0; i < sizeof in / sizeof in[0]; i++)
		ks_encode_entry(&b, &in[i], i == 0);
	ks_encode_end(&b);
	assert_int_equal(parse(b.data, &s, err, sizeof err), KS_FORM_V1);
	assert_int_equal(s.n, 3);
	for (i = 0; i < 3; i++) {
		assert_string_equal(s.k[i].name, in[i].name);
		assert_string_equal(s.k[i].env, in[i].env);
		assert_int_equal(s.k[i].value_len, in[i].value_len);
		assert_memory_equal(s.k[i].value, in[i].value, in[i].value_len);
		assert_int_equal(s.k[i].created, in[i].created);
		assert_int_equal(s.k[i].updated, in[i].updated);
	}
	seen_free(&s);
	buf_free(&b);
}

static void
test_encoded_times_use_the_file_format(void **state)
{
	const struct ks_entry e = {.name = "a",
	                           .env = "A",
	                           .value = "csk-test-1",
	                           .value_len = 10,
	                           .created = 1795899845,
	                           .updated = 1795899846};
	struct buf b = {0};

	(void)state;
	ks_encode_begin(&b);
	ks_encode_entry(&b, &e, true);
	ks_encode_end(&b);
	assert_non_null(strstr(b.data, "\"created\":\"2026-11-28T21:04:05Z\""));
	assert_non_null(strstr(b.data, "\"updated\":\"2026-11-28T21:04:06Z\""));
	buf_free(&b);
}

static void
test_encode_omits_unknown_times(void **state)
{
	const struct ks_entry e = {.name = "a", .env = "A", .value = "csk-test-1", .value_len = 10};
	struct buf b = {0};

	(void)state;
	ks_encode_begin(&b);
	ks_encode_entry(&b, &e, true);
	ks_encode_end(&b);
	assert_null(strstr(b.data, "created"));
	assert_null(strstr(b.data, "updated"));
	buf_free(&b);
}

static void
test_origins_round_trip_sorted_and_are_left_out_when_empty(void **state)
{
	const struct ks_entry in[] = {
	    {.name = "a",
	     .env = "A",
	     .value = "csk-test-1",
	     .value_len = 10,
	     .origins = "http://127.0.0.1:8080 https://api.example.com"},
	    {.name = "b", .env = "B", .value = "csk-test-2", .value_len = 10, .origins = ""},
	    {.name = "c", .env = "C", .value = "csk-test-3", .value_len = 10},
	};
	struct buf b = {0};
	struct seen s;
	char err[256];
	size_t i;

	(void)state;
	ks_encode_begin(&b);
	for (i = 0; i < 3; i++)
		ks_encode_entry(&b, &in[i], i == 0);
	ks_encode_end(&b);
	assert_non_null(
	    strstr(b.data, "\"origins\":[\"http://127.0.0.1:8080\",\"https://api.example.com\"]}"));
	assert_null(strstr(strstr(b.data, "origins") + 1, "origins")); /* a's alone */
	assert_int_equal(parse(b.data, &s, err, sizeof err), KS_FORM_V1);
	assert_int_equal(s.n, 3);
	assert_string_equal(s.k[0].origins, "http://127.0.0.1:8080 https://api.example.com");
	assert_string_equal(s.k[1].origins, "");
	assert_string_equal(s.k[2].origins, "");
	seen_free(&s);
	buf_free(&b);
}

static void
test_a_file_without_origins_loads_its_keys_unbound(void **state)
{
	struct seen s;
	char err[256];

	(void)state;
	assert_int_equal(parse("{\"version\":1,\"keys\":{\"a\":{\"value\":\"csk-test-1\","
	                       "\"env\":\"A\",\"updated\":\"2026-11-28T21:04:05Z\"}}}",
	                       &s, err, sizeof err),
	                 KS_FORM_V1);
	assert_int_equal(s.n, 1);
	assert_string_equal(s.k[0].origins, "");
	seen_free(&s);
}

static void
test_origins_an_editor_left_are_canonicalised_sorted_and_distinct(void **state)
{
	struct seen s;
	char err[256];

	(void)state;
	assert_int_equal(parse("{\"version\":1,\"keys\":{\"a\":{\"value\":\"csk-test-1\","
	                       "\"origins\":[\"https://B.test:443/\",\"http://a.test\","
	                       "\"https://b.test\"]}}}",
	                       &s, err, sizeof err),
	                 KS_FORM_V1);
	assert_string_equal(s.k[0].origins, "http://a.test https://b.test");
	seen_free(&s);
}

static void
test_bad_origins_in_a_file_are_refused(void **state)
{
	(void)state;
	assert_refused("{\"version\":1,\"keys\":{\"a\":{\"value\":\"csk-1\","
	               "\"origins\":\"https://a.test\"}}}");
	assert_refused("{\"version\":1,\"keys\":{\"a\":{\"value\":\"csk-1\","
	               "\"origins\":[\"https://a.test/v1\"]}}}");
	assert_refused("{\"version\":1,\"keys\":{\"a\":{\"value\":\"csk-1\","
	               "\"origins\":[1]}}}");
	assert_refused("{\"version\":1,\"keys\":{\"a\":{\"value\":\"csk-1\",\"origins\":["
	               "\"http://h1\",\"http://h2\",\"http://h3\",\"http://h4\",\"http://h5\","
	               "\"http://h6\",\"http://h7\",\"http://h8\",\"http://h9\",\"http://h10\","
	               "\"http://h11\",\"http://h12\",\"http://h13\",\"http://h14\","
	               "\"http://h15\",\"http://h16\",\"http://h17\"]}}}");
}

static void
test_a_leading_byte_order_mark_is_skipped(void **state)
{
	struct seen s;
	char err[256];

	(void)state;
	assert_int_equal(parse("\xef\xbb\xbf{\"version\":1,\"keys\":{\"a\":{\"value\":\"csk-1\"}}}",
			       &s, err, sizeof err),
			 KS_FORM_V1);
	assert_int_equal(s.n, 1);
	assert_string_equal(s.k[0].value, "csk-1");
	seen_free(&s);
}

static void
test_json_that_is_not_strict_is_refused(void **state)
{
	(void)state;
	assert_refused("{\"version\":1,\"keys\":{\"a\":{\"value\":\"csk\t1\"}}}"); /* raw tab */
	assert_refused("{\"version\":01,\"keys\":{}}");
	assert_refused("{\"version\":1,\"keys\":{}}\f");
	assert_refused("{\"a\":\"csk-1\",}");
	assert_refused("{\"version\":1,\"keys\":{}} {}");
}

static void
test_encode_of_no_keys_parses_as_an_empty_v1_store(void **state)
{
	struct buf b = {0};
	struct seen s;
	char err[256];

	(void)state;
	ks_encode_begin(&b);
	ks_encode_end(&b);
	assert_int_equal(parse(b.data, &s, err, sizeof err), KS_FORM_V1);
	assert_int_equal(s.n, 0);
	buf_free(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_v1_document_yields_every_key_with_its_fields),
	    cmocka_unit_test(test_v1_document_needs_exactly_version_and_keys),
	    cmocka_unit_test(test_missing_env_gets_the_default_env_name),
	    cmocka_unit_test(test_flat_form_is_read_with_default_env_names),
	    cmocka_unit_test(test_flat_form_with_a_non_string_value_is_refused),
	    cmocka_unit_test(test_sealed_document_is_detected_without_calling_back),
	    cmocka_unit_test(test_invalid_json_is_refused),
	    cmocka_unit_test(test_text_after_the_document_is_refused),
	    cmocka_unit_test(test_raw_nul_or_invalid_utf8_is_refused),
	    cmocka_unit_test(test_unsupported_version_is_refused),
	    cmocka_unit_test(test_keys_that_is_not_an_object_is_refused),
	    cmocka_unit_test(test_invalid_key_names_are_refused),
	    cmocka_unit_test(test_key_without_a_string_value_is_refused),
	    cmocka_unit_test(test_invalid_values_are_refused),
	    cmocka_unit_test(test_value_of_exactly_16_kib_is_accepted),
	    cmocka_unit_test(test_value_with_a_nul_escape_is_refused_not_cut_short),
	    cmocka_unit_test(test_an_escaped_backslash_before_u0000_is_kept_as_text),
	    cmocka_unit_test(test_invalid_env_is_refused),
	    cmocka_unit_test(test_bad_times_in_a_document_are_refused),
	    cmocka_unit_test(test_callback_error_stops_the_parse_with_its_message),
	    cmocka_unit_test(test_error_messages_never_contain_the_value),
	    cmocka_unit_test(test_time_parse_reads_the_design_example),
	    cmocka_unit_test(test_time_format_writes_utc_with_a_z),
	    cmocka_unit_test(test_time_format_and_parse_round_trip),
	    cmocka_unit_test(test_time_parse_refuses_what_is_not_the_format),
	    cmocka_unit_test(test_time_parse_refuses_fields_out_of_range),
	    cmocka_unit_test(test_time_parse_refuses_days_that_do_not_exist),
	    cmocka_unit_test(test_encode_then_parse_round_trips_every_field),
	    cmocka_unit_test(test_encoded_times_use_the_file_format),
	    cmocka_unit_test(test_encode_omits_unknown_times),
	    cmocka_unit_test(test_encode_of_no_keys_parses_as_an_empty_v1_store),
	    cmocka_unit_test(test_origins_round_trip_sorted_and_are_left_out_when_empty),
	    cmocka_unit_test(test_a_file_without_origins_loads_its_keys_unbound),
	    cmocka_unit_test(test_origins_an_editor_left_are_canonicalised_sorted_and_distinct),
	    cmocka_unit_test(test_bad_origins_in_a_file_are_refused),
	    cmocka_unit_test(test_a_leading_byte_order_mark_is_skipped),
	    cmocka_unit_test(test_json_that_is_not_strict_is_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
