/*
 * Request decoding and line encoding for protocol version 1.
 */
#include "proto.h"

#include <string.h>

#include "names.h"

static const char *const op_names[OP_COUNT] = {
	[OP_HELLO] = "hello",   [OP_GET] = "get",       [OP_RESOLVE] = "resolve",
	[OP_SET] = "set",       [OP_DELETE] = "delete", [OP_LIST] = "list",
	[OP_STATUS] = "status", [OP_LOCK] = "lock",     [OP_UNLOCK] = "unlock",
	[OP_PASSPHRASE] = "passphrase",
};

static const char *const err_names[PE_COUNT] = {
	[PE_OK] = "ok",
	[PE_BAD_REQUEST] = "bad_request",
	[PE_UNKNOWN_OP] = "unknown_op",
	[PE_INVALID_NAME] = "invalid_name",
	[PE_INVALID_VALUE] = "invalid_value",
	[PE_NOT_FOUND] = "not_found",
	[PE_CONFLICT] = "conflict",
	[PE_TOO_LARGE] = "too_large",
	[PE_LOCKED] = "locked",
	[PE_DENIED] = "denied",
	[PE_BUSY] = "busy",
	[PE_IO_ERROR] = "io_error",
};

/* At most this many names in one resolve request. */
#define RESOLVE_MAX 4096

const char *
proto_op_name(enum proto_op op)
{
	return (unsigned)op < OP_COUNT ? op_names[op] : NULL;
}

const char *
proto_err_name(enum proto_err err)
{
	return (unsigned)err < PE_COUNT ? err_names[err] : "io_error";
}

enum proto_err
proto_err_from_name(const char *name)
{
	int i;

	for (i = 0; name != NULL && i < PE_COUNT; i++) {
		if (strcmp(err_names[i], name) == 0)
			return (enum proto_err)i;
	}
	return PE_COUNT;
}

bool
proto_utf8_valid(const char *str, size_t len)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0;

	while (i < len) {
		uint64_t w;

		/* Plain ASCII, the usual request, 8 bytes at a time. */
		if (i + 8 <= len) {
			memcpy(&w, s + i, 8);
			if ((w & 0x8080808080808080ull) == 0) {
				i += 8;
				continue;
			}
		}
		unsigned char c = s[i];
		size_t n, k;
		uint32_t cp;

		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			n = 1;
			cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			n = 2;
			cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			n = 3;
			cp = c & 0x07;
		} else {
			return false;
		}
		if (len - i <= n)
			return false;
		for (k = 1; k <= n; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		if ((n == 2 && cp < 0x800) || (n == 3 && (cp < 0x10000 || cp > 0x10ffff)) ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		i += n + 1;
	}
	return true;
}

/* True when the line holds a \u0000 escape, which would cut a C string short. */
bool
proto_has_nul_escape(const char *s, size_t len)
{
	const char *p = s, *end = s + len, *bs;

	/* Jump from backslash to backslash; most requests have none. */
	while ((bs = memchr(p, '\\', (size_t)(end - p))) != NULL) {
		if (end - bs >= 6 && bs[1] == 'u' && memcmp(bs + 2, "0000", 4) == 0)
			return true;
		p = bs + 2; /* skip the escaped character */
		if (p >= end)
			break;
	}
	return false;
}

/* Record the request's id as JSON text; false when it is not a short string or a number. */
static bool
take_id(const cJSON *doc, struct proto_request *req)
{
	cJSON *id = cJSON_GetObjectItemCaseSensitive(doc, "id");
	struct buf tmp = {0};
	double v;

	if (id == NULL)
		return true;
	if (cJSON_IsString(id)) {
		size_t len = strlen(id->valuestring);

		if (len > PROTO_ID_MAX / 2 - 8)
			return false;
		buf_add_json(&tmp, id->valuestring, len);
		if (tmp.len >= sizeof req->id) {
			buf_free(&tmp);
			return false;
		}
		memcpy(req->id, tmp.data, tmp.len + 1);
		buf_free(&tmp);
		return true;
	}
	if (!cJSON_IsNumber(id))
		return false;
	/* Integers, the common case, without printf's floating-point path. */
	v = id->valuedouble;
	if (v >= -1e15 && v <= 1e15 && v == (double)(long long)v) {
		char digits[24], *p = digits + sizeof digits;
		long long n = (long long)v;
		unsigned long long u = n < 0 ? 0ull - (unsigned long long)n : (unsigned long long)n;
		size_t k = 0;

		*--p = '\0';
		do {
			*--p = (char)('0' + u % 10);
			u /= 10;
		} while (u != 0);
		if (n < 0)
			*--p = '-';
		while (p[k] != '\0') {
			req->id[k] = p[k];
			k++;
		}
		req->id[k] = '\0';
		return true;
	}
	if (!cJSON_PrintPreallocated(id, req->id, sizeof req->id, 0)) {
		req->id[0] = '\0';
		return false;
	}
	return true;
}

/* Validate the value of a set request. */
static enum proto_err
check_value(struct proto_request *req, const char **msg)
{
	if (req->value == NULL) {
		*msg = "set needs a string \"value\"";
		return PE_BAD_REQUEST;
	}
	req->value_len = strlen(req->value);
	if (req->value_len > PROTO_VALUE_MAX) {
		*msg = "a value may be at most 16 KiB";
		return PE_TOO_LARGE;
	}
	if (req->value_len == 0) {
		*msg = "a value may not be empty";
		return PE_INVALID_VALUE;
	}
	if (memchr(req->value, '\n', req->value_len) != NULL ||
	    memchr(req->value, '\r', req->value_len) != NULL) {
		*msg = "a value may not contain a newline";
		return PE_INVALID_VALUE;
	}
	return PE_OK;
}

/* Validate the env member of a resolve request: a name or an array of names. */
static enum proto_err
check_resolve(struct proto_request *req, const char **msg)
{
	const cJSON *env = cJSON_GetObjectItemCaseSensitive(req->doc, "env");
	const cJSON *e;
	int n = 0;

	if (cJSON_IsString(env)) {
		req->env = env->valuestring;
		if (!env_is_valid(req->env)) {
			*msg = "an env name is [A-Z_][A-Z0-9_]*";
			return PE_INVALID_NAME;
		}
		return PE_OK;
	}
	if (!cJSON_IsArray(env)) {
		*msg = "resolve needs \"env\": a name or an array of names";
		return PE_BAD_REQUEST;
	}
	cJSON_ArrayForEach(e, env)
	{
		if (!cJSON_IsString(e)) {
			*msg = "resolve needs \"env\": a name or an array of names";
			return PE_BAD_REQUEST;
		}
		if (!env_is_valid(e->valuestring)) {
			*msg = "an env name is [A-Z_][A-Z0-9_]*";
			return PE_INVALID_NAME;
		}
		if (++n > RESOLVE_MAX) {
			*msg = "resolve takes at most 4096 names";
			return PE_TOO_LARGE;
		}
	}
	req->envs = env;
	return PE_OK;
}

/* Fill the op-specific members of req and check them. */
static enum proto_err
decode_members(struct proto_request *req, const char **msg)
{
	bool bad = false;
	const cJSON *secs, *m;
	const char **slot;

	/* One pass over the members; the first of a repeated key counts, as with cJSON's lookup. */
	for (m = req->doc->child; m != NULL; m = m->next) {
		const char *k = m->string;

		slot = NULL;
		if (strcmp(k, "name") == 0)
			slot = &req->name;
		else if (strcmp(k, "env") == 0 && req->op != OP_RESOLVE)
			slot = &req->env;
		else if (strcmp(k, "value") == 0)
			slot = &req->value;
		else if (strcmp(k, "action") == 0)
			slot = &req->action;
		else if (strcmp(k, "new_value") == 0)
			slot = &req->new_value;
		if (slot == NULL || *slot != NULL || cJSON_IsNull(m))
			continue;
		if (!cJSON_IsString(m))
			bad = true;
		else
			*slot = m->valuestring;
	}
	if (bad) {
		*msg = "name, env, value and action must be strings";
		return PE_BAD_REQUEST;
	}
	switch (req->op) {
	case OP_GET:
	case OP_SET:
	case OP_DELETE:
		if (req->name == NULL) {
			*msg = "this op needs a \"name\"";
			return PE_BAD_REQUEST;
		}
		if (!name_is_valid(req->name)) {
			*msg = "a name is 1-128 of [A-Za-z0-9._-], starting with a letter or digit";
			return PE_INVALID_NAME;
		}
		if (req->op != OP_SET)
			return PE_OK;
		if (req->env != NULL && !env_is_valid(req->env)) {
			*msg = "an env name is [A-Z_][A-Z0-9_]*";
			return PE_INVALID_NAME;
		}
		return check_value(req, msg);
	case OP_RESOLVE:
		return check_resolve(req, msg);
	case OP_UNLOCK:
		secs = cJSON_GetObjectItemCaseSensitive(req->doc, "for");
		if (secs != NULL && (!cJSON_IsNumber(secs) || secs->valuedouble < 0)) {
			*msg = "\"for\" must be a number of seconds";
			return PE_BAD_REQUEST;
		}
		req->seconds = secs != NULL ? secs->valuedouble : 0;
		/* fall through */
	case OP_PASSPHRASE:
		if (req->value != NULL)
			req->value_len = strlen(req->value);
		return PE_OK;
	default:
		return PE_OK;
	}
}

/* True when nothing but JSON whitespace lies between p and end. */
bool
proto_space_only(const char *p, const char *end)
{
	for (; p < end; p++) {
		if (*p != ' ' && *p != '\t' && *p != '\n' && *p != '\r')
			return false;
	}
	return true;
}

enum proto_err
proto_decode(const char *line, size_t len, struct proto_request *req, const char **msg)
{
	const char *end = NULL;
	const cJSON *op;
	int i;

	memset(req, 0, sizeof *req);
	if (len > PROTO_LINE_MAX) {
		*msg = "a request line may be at most 64 KiB";
		return PE_TOO_LARGE;
	}
	if (!proto_utf8_valid(line, len) || memchr(line, '\0', len) != NULL) {
		*msg = "a request must be UTF-8 JSON without NUL";
		return PE_BAD_REQUEST;
	}
	req->doc = cJSON_ParseWithLengthOpts(line, len, &end, 0);
	if (req->doc == NULL || !cJSON_IsObject(req->doc)) {
		*msg = "a request is one JSON object on one line";
		return PE_BAD_REQUEST;
	}
	/*
	 * Know the op before anything can fail, so that proto_request_free wipes a
	 * refused set, unlock or passphrase request too.
	 */
	op = cJSON_GetObjectItemCaseSensitive(req->doc, "op");
	for (i = 0; cJSON_IsString(op) && i < OP_COUNT; i++) {
		if (strcmp(op->valuestring, op_names[i]) == 0)
			break;
	}
	if (i < OP_COUNT)
		req->op = (enum proto_op)i;
	if (!take_id(req->doc, req)) {
		*msg = "\"id\" must be a number or a string of at most 72 bytes";
		return PE_BAD_REQUEST;
	}
	if (!proto_space_only(end, line + len)) {
		*msg = "a request is one JSON object on one line";
		return PE_BAD_REQUEST;
	}
	if (proto_has_nul_escape(line, len)) {
		*msg = "strings may not contain NUL";
		return PE_INVALID_VALUE;
	}
	if (!cJSON_IsString(op)) {
		*msg = "a request needs a string \"op\"";
		return PE_BAD_REQUEST;
	}
	if (i == OP_COUNT) {
		*msg = "unknown op; known: hello get resolve set delete list status lock unlock "
		       "passphrase";
		return PE_UNKNOWN_OP;
	}
	return decode_members(req, msg);
}

/* Wipe every string in a cJSON tree: requests may carry values and passphrases. */
static void
wipe_strings(cJSON *item)
{
	for (; item != NULL; item = item->next) {
		if (item->valuestring != NULL)
			wipe(item->valuestring, strlen(item->valuestring));
		wipe_strings(item->child);
	}
}

void
proto_request_free(struct proto_request *req)
{
	if (req->doc != NULL) {
		if (req->op == OP_SET || req->op == OP_UNLOCK || req->op == OP_PASSPHRASE)
			wipe_strings(req->doc);
		cJSON_Delete(req->doc);
	}
	req->doc = NULL;
}

void
proto_request_begin(struct buf *b, enum proto_op op)
{
	buf_adds(b, "{\"op\":\"");
	buf_adds(b, op_names[op]);
	buf_addc(b, '"');
}

void
proto_reply_begin(struct buf *b, const char *id)
{
	buf_adds(b, "{\"ok\":true");
	if (id != NULL && id[0] != '\0') {
		buf_adds(b, ",\"id\":");
		buf_adds(b, id);
	}
}

void
proto_reply_error(struct buf *b, const char *id, enum proto_err err, const char *msg)
{
	buf_adds(b, "{\"ok\":false");
	if (id != NULL && id[0] != '\0') {
		buf_adds(b, ",\"id\":");
		buf_adds(b, id);
	}
	proto_field_str(b, "error", proto_err_name(err), strlen(proto_err_name(err)));
	proto_field_str(b, "message", msg, strlen(msg));
	proto_end(b);
}

void
proto_field_key(struct buf *b, const char *key)
{
	size_t n = strlen(key);

	/* Keys are the protocol's own constants: quoted, never escaped. */
	buf_reserve(b, n + 4);
	b->data[b->len++] = ',';
	b->data[b->len++] = '"';
	memcpy(b->data + b->len, key, n);
	b->len += n;
	b->data[b->len++] = '"';
	b->data[b->len++] = ':';
	b->data[b->len] = '\0';
}

void
proto_field_str(struct buf *b, const char *key, const char *value, size_t len)
{
	proto_field_key(b, key);
	buf_add_json(b, value, len);
}

void
proto_field_int(struct buf *b, const char *key, long long v)
{
	proto_field_key(b, key);
	buf_addi(b, v);
}

void
proto_field_bool(struct buf *b, const char *key, bool v)
{
	proto_field_key(b, key);
	buf_adds(b, v ? "true" : "false");
}

void
proto_end(struct buf *b)
{
	buf_add(b, "}\n", 2);
}
