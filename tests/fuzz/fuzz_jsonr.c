/*
 * libFuzzer target: the strict JSON reader, fed any bytes. Whatever it accepts
 * must be a well-formed tree (counts, lengths, UTF-8), must print to text that
 * parses back to the same print, and must be accepted by cJSON too, with the
 * same values and, when no string holds a NUL, the same printed text: jsonr
 * accepts a subset of what cJSON accepts and means the same by it.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "jsonr.h"
#include "proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Check one value and everything under it; *nul is set when a string holds a NUL. */
static void
check(const struct jsonr *v, int depth, bool *nul)
{
	const struct jsonr *m;
	size_t n = 0;

	if (depth > JSONR_DEPTH_MAX)
		abort();
	switch (v->type) {
	case JSONR_STRING:
		if (v->u.str[v->len] != '\0' || !proto_utf8_valid(v->u.str, v->len))
			abort();
		*nul = *nul || strlen(v->u.str) != v->len;
		break;
	case JSONR_ARRAY:
	case JSONR_OBJECT:
		jsonr_foreach(m, v)
		{
			if ((v->type == JSONR_OBJECT) != (m->key != NULL))
				abort();
			if (m->key != NULL) {
				if (m->key[m->key_len] != '\0' ||
				    !proto_utf8_valid(m->key, m->key_len))
					abort();
				*nul = *nul || strlen(m->key) != m->key_len;
			}
			check(m, depth + 1, nul);
			n++;
		}
		if (n != v->len)
			abort();
		break;
	default:
		break;
	}
}

/* True when jsonr's value v and cJSON's item c say the same (strings up to a NUL). */
static bool
same(const struct jsonr *v, const cJSON *c)
{
	const struct jsonr *m;
	const cJSON *k;

	switch (v->type) {
	case JSONR_NULL:
		return cJSON_IsNull(c);
	case JSONR_FALSE:
		return cJSON_IsFalse(c);
	case JSONR_TRUE:
		return cJSON_IsTrue(c);
	case JSONR_NUMBER:
		return cJSON_IsNumber(c) &&
		       (c->valuedouble == v->u.num ||
		        (c->valuedouble != c->valuedouble && v->u.num != v->u.num));
	case JSONR_STRING:
		return cJSON_IsString(c) && strcmp(c->valuestring, v->u.str) == 0;
	case JSONR_ARRAY:
	case JSONR_OBJECT:
		if (v->type == JSONR_ARRAY ? !cJSON_IsArray(c) : !cJSON_IsObject(c))
			return false;
		k = c->child;
		jsonr_foreach(m, v)
		{
			if (k == NULL || !same(m, k))
				return false;
			if (m->key != NULL && (k->string == NULL || strcmp(k->string, m->key) != 0))
				return false;
			k = k->next;
		}
		return k == NULL;
	}
	return false;
}

/* True when nothing but JSON whitespace lies between p and end. */
static bool
only_space(const char *p, const char *end)
{
	for (; p < end; p++) {
		if (*p != ' ' && *p != '\t' && *p != '\n' && *p != '\r')
			return false;
	}
	return true;
}

/* True when the text holds a number token longer than cJSON's 63-byte number buffer. */
static bool
has_long_number(const uint8_t *data, size_t size)
{
	size_t i, run = 0;

	for (i = 0; i < size; i++) {
		run = strchr("0123456789+-.eE", data[i]) != NULL && data[i] != '\0' ? run + 1 : 0;
		if (run > 63)
			return true;
	}
	return false;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct jsonr *doc, *again;
	struct buf out = {0}, out2 = {0};
	const char *end = NULL;
	char err[128];
	bool nul = false;
	cJSON *c;

	doc = jsonr_parse((const char *)data, size, err, sizeof err);
	if (doc == NULL) {
		/* Refused for what the text says, never for want of room the bound promised. */
		if (strncmp(err, "byte ", 5) != 0 || strstr(err, "too many values") != NULL)
			abort();
		return 0;
	}
	check(doc, 0, &nul);
	/* What it prints, it reads back to the same print. */
	jsonr_print(&out, doc);
	again = jsonr_parse(out.data, out.len, NULL, 0);
	if (again == NULL)
		abort();
	jsonr_print(&out2, again);
	if (out2.len != out.len || memcmp(out.data, out2.data, out.len) != 0)
		abort();
	/* cJSON reads the same text the same way. */
	c = has_long_number(data, size)
	        ? NULL
	        : cJSON_ParseWithLengthOpts((const char *)data, size, &end, 0);
	if (c == NULL) {
		if (!has_long_number(data, size))
			abort();
	} else {
		char *text;

		if (!same(doc, c) || !only_space(end, (const char *)data + size))
			abort();
		text = cJSON_PrintUnformatted(c);
		if (text == NULL || (!nul && strcmp(text, out.data) != 0))
			abort();
		cJSON_free(text);
		cJSON_Delete(c);
	}
	jsonr_free(again);
	jsonr_free(doc);
	buf_free(&out);
	buf_free(&out2);
	return 0;
}
