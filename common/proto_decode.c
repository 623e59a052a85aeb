/*
 * Decoding request lines for protocol version 1 (the daemon's side), with cJSON.
 * Kept apart from proto.c so that the client, which only encodes requests,
 * links no JSON library for it.
 */
#include "proto.h"

#include <stddef.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "names.h"

/* At most this many names in one resolve request. */
#define RESOLVE_MAX 4096

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

/* Validate the value of a set request (its length is checked already). */
static enum proto_err
check_value(struct proto_request *req, const char **msg)
{
	if (req->value == NULL) {
		*msg = "set needs a string \"value\"";
		return PE_BAD_REQUEST;
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

/*
 * Take the names that are never resolved (env_is_refused) out of a resolve's
 * array, so that the daemon answers them as absent whatever its keystore holds.
 */
static void
drop_refused(cJSON *envs)
{
	cJSON *e = envs->child, *next;

	for (; e != NULL; e = next) {
		next = e->next;
		if (env_is_refused(e->valuestring))
			cJSON_Delete(cJSON_DetachItemViaPointer(envs, e));
	}
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
		if (env_is_refused(req->env)) {
			/* Never resolved: asked as an empty list, answered as absent. */
			cJSON *none = cJSON_CreateArray();

			req->env = NULL;
			if (none == NULL || !cJSON_ReplaceItemViaPointer(req->doc, (cJSON *)env, none)) {
				cJSON_Delete(none);
				*msg = "out of memory";
				return PE_IO_ERROR;
			}
			req->envs = none;
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
	drop_refused((cJSON *)env);
	req->envs = env;
	return PE_OK;
}

/* Validate an allow request: a "name" or "all":true, and "for" in seconds (0 revokes). */
static enum proto_err
check_allow(struct proto_request *req, const char **msg)
{
	const cJSON *all = cJSON_GetObjectItemCaseSensitive(req->doc, "all");
	const cJSON *secs = cJSON_GetObjectItemCaseSensitive(req->doc, "for");

	if (all != NULL && !cJSON_IsBool(all)) {
		*msg = "\"all\" must be true or false";
		return PE_BAD_REQUEST;
	}
	req->all = cJSON_IsTrue(all);
	if (req->all == (req->name != NULL)) {
		*msg = "allow needs a \"name\" or \"all\":true";
		return PE_BAD_REQUEST;
	}
	if (req->name != NULL && !name_is_valid(req->name)) {
		*msg = "a name is 1-128 of [A-Za-z0-9._-], starting with a letter or digit";
		return PE_INVALID_NAME;
	}
	if (!cJSON_IsNumber(secs) || !(secs->valuedouble >= 0)) {
		*msg = "allow needs \"for\": a number of seconds (0 revokes)";
		return PE_BAD_REQUEST;
	}
	if (secs->valuedouble > PROTO_FOR_MAX) {
		*msg = "\"for\" may be at most a week (604800 seconds)";
		return PE_BAD_REQUEST;
	}
	req->seconds = secs->valuedouble;
	return PE_OK;
}

/* Take set's optional "env_confirmed", a boolean, into req->env_confirmed. */
static enum proto_err
take_confirmed(struct proto_request *req, const char **msg)
{
	const cJSON *c = cJSON_GetObjectItemCaseSensitive(req->doc, "env_confirmed");

	if (c == NULL)
		return PE_OK;
	if (!cJSON_IsBool(c)) {
		*msg = "\"env_confirmed\" is true or false";
		return PE_BAD_REQUEST;
	}
	req->env_confirmed = cJSON_IsTrue(c);
	return PE_OK;
}

/* Validate the key of a use or bind request: a "name" or an "env", one of them. */
static enum proto_err
check_key(struct proto_request *req, const char **msg)
{
	if ((req->name == NULL) == (req->env == NULL)) {
		*msg = "this op needs a \"name\" or an \"env\", one of them";
		return PE_BAD_REQUEST;
	}
	if (req->name != NULL && !name_is_valid(req->name)) {
		*msg = "a name is 1-128 of [A-Za-z0-9._-], starting with a letter or digit";
		return PE_INVALID_NAME;
	}
	if (req->env != NULL && !env_is_valid(req->env)) {
		*msg = "an env name is [A-Z_][A-Z0-9_]*";
		return PE_INVALID_NAME;
	}
	return PE_OK;
}

/*
 * Take "origins" (set: optional; bind: required) into req->origins, each
 * canonicalised, sorted and once: a bad origin or more than a key may hold is
 * bad_request before anything is changed.
 */
static enum proto_err
take_origins(struct proto_request *req, bool required, const char **msg)
{
	const cJSON *list = cJSON_GetObjectItemCaseSensitive(req->doc, "origins"), *e;
	char o[ORIGIN_MAX + 1];

	if (list == NULL || cJSON_IsNull(list)) {
		if (required) {
			*msg = "bind needs \"origins\": an array of origins (scheme://host[:port])";
			return PE_BAD_REQUEST;
		}
		return PE_OK;
	}
	if (!cJSON_IsArray(list)) {
		*msg = "\"origins\" is an array of origins (scheme://host[:port])";
		return PE_BAD_REQUEST;
	}
	req->has_origins = true;
	cJSON_ArrayForEach(e, list)
	{
		if (!cJSON_IsString(e)) {
			*msg = "\"origins\" is an array of origins (scheme://host[:port])";
			return PE_BAD_REQUEST;
		}
		if (origin_canon(e->valuestring, o, msg) == -1)
			return PE_BAD_REQUEST;
		if (origin_list_add(req->origins, o) == -1) {
			*msg = "a key may be bound to at most 16 origins";
			return PE_BAD_REQUEST;
		}
	}
	return PE_OK;
}

/* Validate a bind request: the key, "origins" and "mode". */
static enum proto_err
check_bind(struct proto_request *req, const char **msg)
{
	static const char *const modes[] = {[BIND_SET] = "set",
	                                    [BIND_ADD] = "add",
	                                    [BIND_REMOVE] = "remove",
	                                    [BIND_INITIAL] = "initial"};
	const cJSON *mode = cJSON_GetObjectItemCaseSensitive(req->doc, "mode");
	enum proto_err err = check_key(req, msg);
	size_t i;

	if (err != PE_OK)
		return err;
	for (i = 0; cJSON_IsString(mode) && i < sizeof modes / sizeof modes[0]; i++) {
		if (strcmp(mode->valuestring, modes[i]) == 0)
			break;
	}
	if (!cJSON_IsString(mode) || i == sizeof modes / sizeof modes[0]) {
		*msg = "bind needs \"mode\": set, add, remove or initial";
		return PE_BAD_REQUEST;
	}
	req->mode = (enum proto_bind_mode)i;
	return take_origins(req, true, msg);
}

/* Validate a use request: the key, and the "origin" the value is for. */
static enum proto_err
check_use(struct proto_request *req, const char **msg)
{
	const cJSON *origin = cJSON_GetObjectItemCaseSensitive(req->doc, "origin");
	enum proto_err err = check_key(req, msg);

	if (err != PE_OK)
		return err;
	if (!cJSON_IsString(origin)) {
		*msg = "use needs \"origin\": the scheme://host[:port] the key is for";
		return PE_BAD_REQUEST;
	}
	return origin_canon(origin->valuestring, req->origin, msg) == 0 ? PE_OK : PE_BAD_REQUEST;
}

/* Check the "name" of get, set and delete: there, and a valid key name. */
static enum proto_err
check_name(struct proto_request *req, const char **msg)
{
	if (req->name == NULL) {
		*msg = "this op needs a \"name\"";
		return PE_BAD_REQUEST;
	}
	if (!name_is_valid(req->name)) {
		*msg = "a name is 1-128 of [A-Za-z0-9._-], starting with a letter or digit";
		return PE_INVALID_NAME;
	}
	return PE_OK;
}

/* Validate a get request: the optional "masked", a boolean, and the name. */
static enum proto_err
check_get(struct proto_request *req, const char **msg)
{
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(req->doc, "masked");

	if (m != NULL) {
		if (!cJSON_IsBool(m)) {
			*msg = "\"masked\" must be true or false";
			return PE_BAD_REQUEST;
		}
		req->masked = cJSON_IsTrue(m);
	}
	return check_name(req, msg);
}

/* Validate a set request: the name, the optional env name, the value, and the rest. */
static enum proto_err
check_set(struct proto_request *req, const char **msg)
{
	enum proto_err err = check_name(req, msg);

	if (err != PE_OK)
		return err;
	if (req->env != NULL && !env_is_valid(req->env)) {
		*msg = "an env name is [A-Z_][A-Z0-9_]*";
		return PE_INVALID_NAME;
	}
	if ((err = check_value(req, msg)) != PE_OK)
		return err;
	if ((err = take_confirmed(req, msg)) != PE_OK)
		return err;
	return take_origins(req, false, msg);
}

/* Validate a rename request: both names there, and both valid. */
static enum proto_err
check_rename(struct proto_request *req, const char **msg)
{
	if (req->name == NULL || req->new_name == NULL) {
		*msg = "rename needs a \"name\" and a \"new_name\"";
		return PE_BAD_REQUEST;
	}
	if (!name_is_valid(req->name) || !name_is_valid(req->new_name)) {
		*msg = "a name is 1-128 of [A-Za-z0-9._-], starting with a letter or digit";
		return PE_INVALID_NAME;
	}
	return PE_OK;
}

/* Validate an unlock request: the optional "for", in seconds. */
static enum proto_err
check_unlock(struct proto_request *req, const char **msg)
{
	const cJSON *secs = cJSON_GetObjectItemCaseSensitive(req->doc, "for");

	/* Bounded, so that seconds * 1000 is a time the daemon can count to. */
	if (secs != NULL && (!cJSON_IsNumber(secs) || !(secs->valuedouble >= 0) ||
	                     secs->valuedouble > PROTO_FOR_MAX)) {
		*msg = "\"for\" must be a number of seconds, at most a week (604800)";
		return PE_BAD_REQUEST;
	}
	req->seconds = secs != NULL ? secs->valuedouble : 0;
	return PE_OK;
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

/*
 * The shape of each op's request, one row per op (the daemon's side of the
 * table, what each op may do and who runs it, is daemon/ops.c): the string
 * members it takes, and the check of everything else it carries.
 */
static const struct shape {
	unsigned strings; /* enum member bits */
	enum proto_err (*check)(struct proto_request *req, const char **msg); /* NULL: none */
} shapes[OP_COUNT] = {
	[OP_HELLO] = {M_EVERY | M_PROOF, NULL},
	[OP_GET] = {M_EVERY, check_get},
	[OP_RESOLVE] = {M_EVERY & ~M_ENV, check_resolve}, /* its "env" may be an array */
	[OP_SET] = {M_EVERY, check_set},
	[OP_DELETE] = {M_EVERY, check_name},
	[OP_LIST] = {M_EVERY, NULL},
	[OP_STATUS] = {M_EVERY, NULL},
	[OP_LOCK] = {M_EVERY, NULL},
	[OP_UNLOCK] = {M_EVERY, check_unlock},
	[OP_PASSPHRASE] = {M_EVERY, NULL}, /* the daemon checks "action" and its values */
	[OP_ALLOW] = {M_EVERY, check_allow},
	[OP_GUARD] = {M_EVERY, NULL},
	[OP_USE] = {M_EVERY, check_use},
	[OP_BIND] = {M_EVERY, check_bind},
	[OP_RENAME] = {M_EVERY | M_NEW_NAME, check_rename},
};

/* The slot of req that the string member called key fills in op, or NULL. */
static const char **
member_slot(struct proto_request *req, const char *key)
{
	size_t i;

	for (i = 0; i < sizeof members / sizeof members[0]; i++) {
		if (strcmp(key, members[i].key) == 0)
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
		slot = member_slot(req, m->string);
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

enum proto_err
proto_decode(const char *line, size_t len, struct proto_request *req, const char **msg)
{
	const char *end = NULL;
	const cJSON *op;
	int i;

	memset(req, 0, sizeof *req);
	req->op = OP_COUNT; /* until the line names a known op */
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
}
