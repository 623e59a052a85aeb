/*
 * Protocol version 1 without JSON parsing: op and error names, the \u0000
 * check a request line and a keystore file share, and encoding request and
 * reply lines into a struct buf. The client links only this half;
 * the daemon's request decoder, built on cJSON, is proto_decode.c.
 */
#include "proto.h"

#include <string.h>

static const char *const op_names[OP_COUNT] = {
	[OP_HELLO] = "hello",   [OP_GET] = "get",       [OP_RESOLVE] = "resolve",
	[OP_SET] = "set",       [OP_DELETE] = "delete", [OP_LIST] = "list",
	[OP_STATUS] = "status", [OP_LOCK] = "lock",     [OP_UNLOCK] = "unlock",
	[OP_PASSPHRASE] = "passphrase", [OP_ALLOW] = "allow", [OP_GUARD] = "guard",
	[OP_USE] = "use", [OP_BIND] = "bind", [OP_RENAME] = "rename",
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
proto_has_nul_escape(const char *s, size_t len)
{
	const char *p = s, *end = s + len, *bs;

	/* Jump from backslash to backslash; most lines and keystores have none. */
	while ((bs = memchr(p, '\\', (size_t)(end - p))) != NULL) {
		if (end - bs >= 6 && bs[1] == 'u' && memcmp(bs + 2, "0000", 4) == 0)
			return true;
		p = bs + 2; /* skip the escaped character */
		if (p >= end)
			break;
	}
	return false;
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
	static const char ok[] = "{\"ok\":true", with_id[] = ",\"id\":";

	buf_add(b, ok, sizeof ok - 1);
	if (id != NULL && id[0] != '\0') {
		buf_add(b, with_id, sizeof with_id - 1);
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
proto_field_str_as(struct buf *b, const char *key, const char *value, size_t len,
                   enum buf_json_set set)
{
	proto_field_key(b, key);
	buf_add_json_as(b, value, len, set);
}

void
proto_field_list(struct buf *b, const char *key, const char *list)
{
	const char *p = list, *end;
	bool first = true;

	proto_field_key(b, key);
	buf_addc(b, '[');
	for (;;) {
		while (*p == ' ')
			p++;
		if (*p == '\0')
			break;
		end = strchr(p, ' ');
		if (end == NULL)
			end = p + strlen(p);
		if (!first)
			buf_addc(b, ',');
		buf_add_json(b, p, (size_t)(end - p));
		first = false;
		p = end;
	}
	buf_addc(b, ']');
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

enum proto_value_fault
proto_value_check(const char *v, size_t len)
{
	if (len == 0)
		return PV_EMPTY;
	if (len > PROTO_VALUE_MAX)
		return PV_TOO_LONG;
	if (memchr(v, '\n', len) != NULL || memchr(v, '\r', len) != NULL)
		return PV_LINES;
	if (memchr(v, '\0', len) != NULL)
		return PV_NUL;
	if (!utf8_valid(v, len))
		return PV_NOT_UTF8;
	return PV_OK;
}

const char *
proto_value_fault_text(enum proto_value_fault fault)
{
	switch (fault) {
	case PV_EMPTY:
		return "is empty";
	case PV_TOO_LONG:
		return "is longer than 16 KiB";
	case PV_LINES:
		return "spans several lines";
	case PV_NUL:
		return "holds a NUL character";
	case PV_NOT_UTF8:
		return "is not UTF-8 text";
	default:
		return "";
	}
}
