/*
 * libFuzzer target for json5edit.c. Every input is scanned; when the scan
 * succeeds, every string api_key is rewritten, first to "$X" and then to its own
 * decoded value, and each output must scan again to the same providers with only
 * the rewritten spans changed. A failed scan must leave a "line L, column C:"
 * message and no list.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "json5edit.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Stop the run: libFuzzer reports the input that got here. */
#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond))                                                                       \
			abort();                                                                   \
	} while (0)

/* True when fields a and b hold the same kind and, for strings, the same value. */
static int
same_field(const struct json5edit_field *a, const struct json5edit_field *b)
{
	if (a->kind != b->kind)
		return 0;
	if (a->kind != JSON5EDIT_STRING)
		return 1;
	return a->quote == b->quote && a->value.len == b->value.len &&
	       memcmp(a->value.data, b->value.data, a->value.len) == 0;
}

/* Check the invariants of one field of a provider found in text. */
static void
check_field(const char *text, size_t size, const struct json5edit_field *f)
{
	if (f->kind == JSON5EDIT_ABSENT)
		return;
	CHECK(f->start < f->end && f->end <= size);
	if (f->kind == JSON5EDIT_STRING) {
		CHECK(f->quote == '"' || f->quote == '\'');
		CHECK(text[f->start] == f->quote && text[f->end - 1] == f->quote);
		CHECK(f->value.data != NULL && f->value.data[f->value.len] == '\0');
	}
}

/*
 * Rewrite the api_keys of p chosen by values, scan the result and check that it
 * has the same providers, with the chosen keys now decoding to expect (or, when
 * expect is NULL, to what they were) and every other byte where it was.
 */
static void
rewrite_and_rescan(const char *text, size_t size, const struct json5edit_provider *p, size_t count,
                   const char *const *values, const char *expect)
{
	struct json5edit_provider *q;
	struct buf out = {0};
	size_t i, count2, at = 0, oat = 0; /* text[at] was copied to out.data[oat] */
	char err[256];

	CHECK(json5edit_replace(text, size, p, count, values, &out) == 0);
	CHECK(json5edit_providers(out.data, out.len, &q, &count2, err, sizeof err) == 0);
	CHECK(count2 == count);
	for (i = 0; i < count; i++) {
		const struct json5edit_field *k = &p[i].api_key, *k2 = &q[i].api_key;

		CHECK(p[i].start >= at && q[i].start == oat + (p[i].start - at));
		CHECK(same_field(&p[i].name, &q[i].name));
		if (values[i] == NULL) {
			CHECK(same_field(k, k2));
			continue;
		}
		/* The bytes between rewritten spans are the original ones. */
		CHECK(k2->start == oat + (k->start - at));
		CHECK(memcmp(out.data + oat, text + at, k->start - at) == 0);
		CHECK(k2->kind == JSON5EDIT_STRING && k2->quote == k->quote);
		if (expect != NULL)
			CHECK(k2->value.len == strlen(expect) &&
			      memcmp(k2->value.data, expect, k2->value.len) == 0);
		else
			CHECK(same_field(k, k2));
		at = k->end;
		oat = k2->end;
	}
	CHECK(out.len - oat == size - at);
	CHECK(memcmp(out.data + oat, text + at, size - at) == 0);
	json5edit_free(q, count2);
	buf_free(&out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	struct json5edit_provider *p;
	const char **values;
	size_t count, i;
	char err[256];

	if (json5edit_providers(text, size, &p, &count, err, sizeof err) != 0) {
		CHECK(p == NULL && count == 0);
		CHECK(strncmp(err, "line ", 5) == 0 && strstr(err, ", column ") != NULL);
		return 0;
	}
	CHECK((count == 0) == (p == NULL));
	values = calloc(count + 1, sizeof *values);
	CHECK(values != NULL);
	for (i = 0; i < count; i++) {
		check_field(text, size, &p[i].name);
		check_field(text, size, &p[i].api_key);
		CHECK(i == 0 || p[i].start > p[i - 1].start);
		if (p[i].api_key.kind == JSON5EDIT_STRING)
			values[i] = "$X";
	}
	rewrite_and_rescan(text, size, p, count, values, "$X");
	/* Written back from its decoded value, each key must read back the same. */
	for (i = 0; i < count; i++) {
		const struct json5edit_field *k = &p[i].api_key;

		values[i] = NULL;
		if (k->kind == JSON5EDIT_STRING &&
		    memchr(k->value.data, '\0', k->value.len) == NULL)
			values[i] = k->value.data;
	}
	rewrite_and_rescan(text, size, p, count, values, NULL);
	free(values);
	json5edit_free(p, count);
	return 0;
}
