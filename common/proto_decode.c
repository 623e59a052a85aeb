/*
 * Decoding request lines for protocol version 1 (the daemon's side): the
 * table of request shapes, one row per op, and the two paths through it —
 * the scanner's for the plainest lines, cJSON's for everything. Kept apart
 * from proto.c so that the client, which only encodes requests, links no
 * JSON library for it.
 */
#include "proto_decode.h"

#include <stddef.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "origin.h"

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

/* The string members of a request, each a bit of a shape's members. */
enum member {
	M_NAME = 1 << 0,
	M_ENV = 1 << 1,
	M_VALUE = 1 << 2,
	M_ACTION = 1 << 3,
	M_NEW_VALUE = 1 << 4,
	M_NEW_NAME = 1 << 5,
	M_PROOF = 1 << 6,
};

/* Taken in every op, whether it reads them or not: a stray one must be a string too. */
#define M_EVERY (M_NAME | M_ENV | M_VALUE | M_ACTION | M_NEW_VALUE)

/* Where each string member goes in struct proto_request. */
static const struct {
	const char *key;
	enum member bit;
	size_t offset;
} members[] = {
	{"name", M_NAME, offsetof(struct proto_request, name)},
	{"env", M_ENV, offsetof(struct proto_request, env)},
	{"value", M_VALUE, offsetof(struct proto_request, value)},
	{"action", M_ACTION, offsetof(struct proto_request, action)},
	{"new_value", M_NEW_VALUE, offsetof(struct proto_request, new_value)},
	{"new_name", M_NEW_NAME, offsetof(struct proto_request, new_name)},
	{"proof", M_PROOF, offsetof(struct proto_request, proof)},
};

/* Which members besides the strings the scanner may take for a row; 0: it leaves the op to cJSON. */
enum scanned { S_PLAIN = 1 << 0, S_MASKED = 1 << 1, S_ORIGIN = 1 << 2 };

/*
 * The shape of each op's request, one row per op (the daemon's side of the
 * table, what each op may do and who runs it, is daemon/ops.c): the string
 * members it takes, the check of everything else it carries, and for the
 * scanner's fast path, what else it may take and the check after it.
 */
static const struct shape {
	unsigned strings; /* enum member bits */
	enum proto_err (*check)(struct proto_request *req, const char **msg); /* NULL: none */
	unsigned scan;    /* enum scanned bits */
	enum proto_err (*check_scanned)(struct proto_request *req, const char **msg);
} shapes[OP_COUNT] = {
	[OP_HELLO] = {M_EVERY | M_PROOF, NULL, S_PLAIN, NULL},
	[OP_GET] = {M_EVERY, proto_check_get, S_MASKED, proto_check_name},
	[OP_RESOLVE] = {M_EVERY & ~M_ENV, proto_check_resolve}, /* its "env" may be an array */
	[OP_SET] = {M_EVERY, proto_check_set},
	[OP_DELETE] = {M_EVERY, proto_check_name},
	[OP_LIST] = {M_EVERY, NULL, S_PLAIN, NULL},
	[OP_STATUS] = {M_EVERY, NULL, S_PLAIN, NULL},
	[OP_LOCK] = {M_EVERY, NULL},
	[OP_UNLOCK] = {M_EVERY, proto_check_unlock},
	[OP_PASSPHRASE] = {M_EVERY, NULL}, /* the daemon checks "action" and its values */
	[OP_ALLOW] = {M_EVERY, proto_check_allow},
	[OP_GUARD] = {M_EVERY, NULL},
	[OP_USE] = {M_EVERY, proto_check_use, S_ORIGIN, proto_check_use_scanned},
	[OP_BIND] = {M_EVERY, proto_check_bind},
	[OP_RENAME] = {M_EVERY | M_NEW_NAME, proto_check_rename},
};

/* True when the len bytes at key are the member name word. */
static inline bool
key_is(const char *key, size_t len, const char *word)
{
	return len == strlen(word) && memcmp(key, word, len) == 0;
}

/* The slot of req that the string member called key (len bytes) fills in its op, or NULL. */
static const char **
member_slot(struct proto_request *req, const char *key, size_t len)
{
	size_t i;

	for (i = 0; i < sizeof members / sizeof members[0]; i++) {
		if (key_is(key, len, members[i].key))
			return (shapes[req->op].strings & members[i].bit) != 0
			           ? (const char **)((char *)req + members[i].offset)
			           : NULL;
	}
	return NULL;
}

/* Fill the op's members of req and check them, as its row in shapes says. */
static enum proto_err
decode_members(struct proto_request *req, const char **msg)
{
	const struct shape *shape = &shapes[req->op];
	bool bad = false;
	const cJSON *m;
	const char **slot;

	/* One pass over the members; the first of a repeated key counts, as with cJSON's lookup. */
	for (m = req->doc->child; m != NULL; m = m->next) {
		slot = member_slot(req, m->string, strlen(m->string));
		if (slot == NULL || *slot != NULL || cJSON_IsNull(m))
			continue;
		if (!cJSON_IsString(m))
			bad = true;
		else
			*slot = m->valuestring;
	}
	if (bad) {
		*msg = "name, env, value, action and proof must be strings";
		return PE_BAD_REQUEST;
	}
	/*
	 * In every op, whether it reads them or not: a value or passphrase longer
	 * than a key may be is refused here, so nothing after the decoder ever
	 * sees one (the daemon's secret memory holds nothing larger).
	 */
	req->value_len = req->value != NULL ? strlen(req->value) : 0;
	if (req->value_len > PROTO_VALUE_MAX ||
	    (req->new_value != NULL && strlen(req->new_value) > PROTO_VALUE_MAX)) {
		*msg = "a value or passphrase may be at most 16 KiB";
		return PE_TOO_LARGE;
	}
	return shape->check != NULL ? shape->check(req, msg) : PE_OK;
}

bool
proto_op_has_shape(enum proto_op op)
{
	return (unsigned)op < OP_COUNT && shapes[op].strings != 0;
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

/* Make req the request of no op, holding nothing (the large members by their first byte). */
static void
request_clear(struct proto_request *req)
{
	memset(req, 0, offsetof(struct proto_request, origins));
	req->op = OP_COUNT; /* until the line names a known op */
	req->origins[0] = '\0';
	req->origin[0] = '\0';
}

/* Copy len bytes of s into req->text as a C string (the scanner's line fits). */
static const char *
take_text(struct proto_request *req, const char *s, size_t len)
{
	char *t = req->text + req->text_len;

	memcpy(t, s, len);
	t[len] = '\0';
	req->text_len += len + 1;
	return t;
}

/* The op whose wire name is the len bytes at s, or OP_COUNT. */
static enum proto_op
op_named(const char *s, size_t len)
{
	int i;

	for (i = 0; i < OP_COUNT; i++) {
		if (key_is(s, len, proto_op_name((enum proto_op)i)))
			return (enum proto_op)i;
	}
	return OP_COUNT;
}

/* Take a scanned "id" as take_id does: a short string or an integer, as JSON text. */
static bool
take_scanned_id(struct proto_request *req, const struct scan_member *m)
{
	if (m->kind == SCAN_INT) {
		memcpy(req->id, m->value, m->value_len);
		req->id[m->value_len] = '\0';
		return true;
	}
	/* No escapes: its JSON text is itself in quotes. */
	if (m->kind != SCAN_STRING || m->value_len > PROTO_ID_MAX / 2 - 8)
		return false;
	req->id[0] = '"';
	memcpy(req->id + 1, m->value, m->value_len);
	memcpy(req->id + 1 + m->value_len, "\"", 2);
	return true;
}

/* The members besides the strings that take_scanned has taken: each once, or to cJSON. */
enum { SEEN_ID = 1 << 0, SEEN_MASKED = 1 << 1, SEEN_ORIGIN = 1 << 2 };

/*
 * Take one scanned member of req's op into req, as the cJSON path would;
 * *seen holds the SEEN_ bits of the members taken. False when only the cJSON
 * path may say what the line means (a repeated member, a wrong type).
 */
static bool
take_scanned(struct proto_request *req, const struct scan_member *m, unsigned *seen)
{
	const struct shape *shape = &shapes[req->op];
	const char **slot;

	if (key_is(m->key, m->key_len, "op"))
		return true;
	if (key_is(m->key, m->key_len, "id")) {
		if ((*seen & SEEN_ID) != 0)
			return false;
		*seen |= SEEN_ID;
		return take_scanned_id(req, m);
	}
	if ((shape->scan & S_MASKED) != 0 && key_is(m->key, m->key_len, "masked")) {
		if ((*seen & SEEN_MASKED) != 0 || m->kind == SCAN_STRING || m->kind == SCAN_INT)
			return false;
		*seen |= SEEN_MASKED;
		req->masked = m->kind == SCAN_TRUE;
		return true;
	}
	if ((shape->scan & S_ORIGIN) != 0 && key_is(m->key, m->key_len, "origin")) {
		if ((*seen & SEEN_ORIGIN) != 0 || m->kind != SCAN_STRING ||
		    m->value_len > ORIGIN_MAX)
			return false;
		*seen |= SEEN_ORIGIN;
		memcpy(req->origin, m->value, m->value_len);
		req->origin[m->value_len] = '\0';
		return true;
	}
	slot = member_slot(req, m->key, m->key_len);
	if (slot == NULL)
		return true; /* a member this op does not read, as cJSON's path ignores it */
	if (*slot != NULL || m->kind != SCAN_STRING)
		return false;
	*slot = take_text(req, m->value, m->value_len);
	return true;
}

/*
 * The fast path: decode line by the scanner when it is one of the plainest
 * requests of an op whose row allows it, and the request is good. False
 * otherwise, with req in any state: the cJSON path then decides.
 */
static bool
decode_scanned(const char *line, size_t len, struct proto_request *req)
{
	const struct scan_member *op = NULL;
	const char *msg = NULL;
	unsigned seen = 0;
	struct scan sc;
	size_t i;

	if (len > PROTO_SCAN_MAX || !proto_scan(line, len, &sc))
		return false;
	for (i = 0; i < sc.n; i++) {
		if (!key_is(sc.m[i].key, sc.m[i].key_len, "op"))
			continue;
		if (op != NULL)
			return false;
		op = &sc.m[i];
	}
	if (op == NULL || op->kind != SCAN_STRING)
		return false;
	req->op = op_named(op->value, op->value_len);
	if (req->op == OP_COUNT || shapes[req->op].scan == 0)
		return false;
	for (i = 0; i < sc.n; i++) {
		if (!take_scanned(req, &sc.m[i], &seen))
			return false;
	}
	req->value_len = req->value != NULL ? strlen(req->value) : 0;
	return shapes[req->op].check_scanned == NULL ||
	       shapes[req->op].check_scanned(req, &msg) == PE_OK;
}

enum proto_err
proto_decode(const char *line, size_t len, struct proto_request *req, const char **msg)
{
	request_clear(req);
	if (decode_scanned(line, len, req))
		return PE_OK;
	proto_request_free(req);
	return proto_decode_tree(line, len, req, msg);
}

enum proto_err
proto_decode_tree(const char *line, size_t len, struct proto_request *req, const char **msg)
{
	const char *end = NULL;
	const cJSON *op;
	int i;

	request_clear(req);
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
		if (strcmp(op->valuestring, proto_op_name((enum proto_op)i)) == 0)
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
		       "passphrase allow guard use bind";
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
		/*
		 * Every op: any may carry a value or passphrase it does not use (a
		 * mistyped op, a passphrase pasted into a lock), and a tree too big
		 * for the scratch region lives in ordinary heap.
		 */
		wipe_strings(req->doc);
		cJSON_Delete(req->doc);
	}
	req->doc = NULL;
	if (req->text_len > 0)
		wipe(req->text, req->text_len); /* the scanner's copies, a value among them */
	req->text_len = 0;
}
