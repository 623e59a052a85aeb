/*
 * Protocol version 1 without JSON parsing: op and error names, the UTF-8 check,
 * and encoding request and reply lines into a struct buf. The client links only
 * this half; the daemon's request decoder, built on cJSON, is proto_decode.c.
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
