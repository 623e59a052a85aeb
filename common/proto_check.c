/*
 * The checks of each op's request beyond its string members, one per row of
 * the decoder's table of shapes (proto_decode.c): what each member must be,
 * and the messages that say why not.
 */
#include "proto_decode.h"

#include <string.h>

#include <cjson/cJSON.h>

#include "names.h"
#include "origin.h"

/* At most this many names in one resolve request. */
#define RESOLVE_MAX 4096

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
enum proto_err
proto_check_resolve(struct proto_request *req, const char **msg)
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
enum proto_err
proto_check_allow(struct proto_request *req, const char **msg)
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
enum proto_err
proto_check_bind(struct proto_request *req, const char **msg)
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

/* Validate a use's key and its origin (NULL when absent or not a string) into req->origin. */
static enum proto_err
use_origin(struct proto_request *req, const char *origin, const char **msg)
{
	enum proto_err err = check_key(req, msg);

	if (err != PE_OK)
		return err;
	if (origin == NULL) {
		*msg = "use needs \"origin\": the scheme://host[:port] the key is for";
		return PE_BAD_REQUEST;
	}
	return origin_canon(origin, req->origin, msg) == 0 ? PE_OK : PE_BAD_REQUEST;
}

/* Validate a use request: the key, and the "origin" the value is for. */
enum proto_err
proto_check_use(struct proto_request *req, const char **msg)
{
	const cJSON *origin = cJSON_GetObjectItemCaseSensitive(req->doc, "origin");

	return use_origin(req, cJSON_IsString(origin) ? origin->valuestring : NULL, msg);
}

/* Validate a use the scanner read, its origin as sent in req->origin. */
enum proto_err
proto_check_use_scanned(struct proto_request *req, const char **msg)
{
	char sent[ORIGIN_MAX + 1];

	memcpy(sent, req->origin, sizeof sent);
	return use_origin(req, sent, msg);
}

/* Check the "name" of get, set and delete: there, and a valid key name. */
enum proto_err
proto_check_name(struct proto_request *req, const char **msg)
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
enum proto_err
proto_check_get(struct proto_request *req, const char **msg)
{
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(req->doc, "masked");

	if (m != NULL) {
		if (!cJSON_IsBool(m)) {
			*msg = "\"masked\" must be true or false";
			return PE_BAD_REQUEST;
		}
		req->masked = cJSON_IsTrue(m);
	}
	return proto_check_name(req, msg);
}

/* Validate a set request: the name, the optional env name, the value, and the rest. */
enum proto_err
proto_check_set(struct proto_request *req, const char **msg)
{
	enum proto_err err = proto_check_name(req, msg);

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
enum proto_err
proto_check_rename(struct proto_request *req, const char **msg)
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
enum proto_err
proto_check_unlock(struct proto_request *req, const char **msg)
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
