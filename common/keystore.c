/*
 * Reading and writing the keystore document. The file I/O (ownership checks,
 * atomic replacement) lives in fileio.c; this file knows only the format.
 */
#include "keystore.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "names.h"
#include "proto.h"

void
ks_time_format(int64_t t, char out[KS_TIME_MAX])
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL || strftime(out, KS_TIME_MAX, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(out, KS_TIME_MAX, "1970-01-01T00:00:00Z");
}

int64_t
ks_time_parse(const char *s)
{
	static const char layout[] = "dddd-dd-ddTdd:dd:ddZ";
	struct tm tm, want;
	time_t t;
	char tail;
	size_t i;

	/* sscanf alone would take signs and spaces ("2026-+1-28…"): check the layout first. */
	if (s == NULL || strlen(s) != sizeof layout - 1)
		return -1;
	for (i = 0; i < sizeof layout - 1; i++) {
		if (layout[i] == 'd' ? s[i] < '0' || s[i] > '9' : s[i] != layout[i])
			return -1;
	}
	memset(&tm, 0, sizeof tm);
	if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%c", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
		   &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &tail) != 7 ||
	    tail != 'Z')
		return -1;
	if (tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1 || tm.tm_mday > 31 ||
	    tm.tm_hour > 23 || tm.tm_min > 59 || tm.tm_sec > 60)
		return -1;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	want = tm;
	t = timegm(&tm);
	/* timegm moves a day that does not exist (Feb 30) into the next month: refuse it. */
	if (tm.tm_year != want.tm_year || tm.tm_mon != want.tm_mon || tm.tm_mday != want.tm_mday ||
	    tm.tm_hour != want.tm_hour || tm.tm_min != want.tm_min || tm.tm_sec != want.tm_sec)
		return -1;
	return (int64_t)t;
}

/* Check a stored value with the rules a set request obeys. */
static int
check_value(const char *name, const char *v, char *err, size_t errsize)
{
	size_t len = strlen(v);

	if (len == 0 || len > PROTO_VALUE_MAX || strpbrk(v, "\r\n") != NULL) {
		snprintf(err, errsize, "the value of key %s is empty, longer than 16 KiB or has a newline",
			 name);
		return -1;
	}
	return 0;
}

/* Read a created/updated member: absent is 0, anything but a valid time is an error. */
static int
member_time(const cJSON *obj, const char *key, int64_t *out)
{
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(obj, key);

	*out = 0;
	if (m == NULL)
		return 0;
	if (!cJSON_IsString(m) || (*out = ks_time_parse(m->valuestring)) < 0)
		return -1;
	return 0;
}

/* Parse the "keys" object of a version-1 document. */
static int
parse_v1(const cJSON *keys, ks_entry_fn fn, void *arg, char *err, size_t errsize)
{
	const cJSON *k;
	char env[ENV_MAX_LEN + 1];

	if (!cJSON_IsObject(keys)) {
		snprintf(err, errsize, "\"keys\" is not an object");
		return -1;
	}
	cJSON_ArrayForEach(k, keys)
	{
		const cJSON *value = cJSON_GetObjectItemCaseSensitive(k, "value");
		const cJSON *envm = cJSON_GetObjectItemCaseSensitive(k, "env");
		struct ks_entry e = {.name = k->string};

		if (!name_is_valid(k->string)) {
			snprintf(err, errsize, "\"%.128s\" is not a valid key name", k->string);
			return -1;
		}
		if (!cJSON_IsObject(k) || !cJSON_IsString(value)) {
			snprintf(err, errsize, "key %s has no string \"value\"", k->string);
			return -1;
		}
		if (check_value(k->string, value->valuestring, err, errsize) == -1)
			return -1;
		if (envm != NULL && (!cJSON_IsString(envm) || !env_is_valid(envm->valuestring))) {
			snprintf(err, errsize, "key %s has an invalid \"env\"", k->string);
			return -1;
		}
		if (envm == NULL)
			name_default_env(k->string, env);
		e.env = envm != NULL ? envm->valuestring : env;
		e.value = value->valuestring;
		e.value_len = strlen(value->valuestring);
		if (member_time(k, "created", &e.created) == -1 ||
		    member_time(k, "updated", &e.updated) == -1) {
			snprintf(err, errsize, "key %s has an invalid created or updated time", k->string);
			return -1;
		}
		if (fn(arg, &e, err, errsize) == -1)
			return -1;
	}
	return 0;
}

/* Parse the flat {"name":"value"} form. */
static int
parse_flat(const cJSON *doc, ks_entry_fn fn, void *arg, char *err, size_t errsize)
{
	const cJSON *k;
	char env[ENV_MAX_LEN + 1];

	cJSON_ArrayForEach(k, doc)
	{
		struct ks_entry e = {.name = k->string, .env = env};

		if (!name_is_valid(k->string) || !cJSON_IsString(k)) {
			snprintf(err, errsize, "\"%.128s\" is not a valid key name with a string value",
				 k->string);
			return -1;
		}
		if (check_value(k->string, k->valuestring, err, errsize) == -1)
			return -1;
		name_default_env(k->string, env);
		e.value = k->valuestring;
		e.value_len = strlen(k->valuestring);
		if (fn(arg, &e, err, errsize) == -1)
			return -1;
	}
	return 0;
}

/*
 * True when the document holds a \u0000 escape: cJSON would cut the name or
 * value short at it, so the file would not mean what it says.
 */
static bool
has_nul_escape(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i + 1 < len; i++) {
		if (s[i] != '\\')
			continue;
		if (s[i + 1] == 'u' && i + 6 <= len && memcmp(s + i + 2, "0000", 4) == 0)
			return true;
		i++; /* skip the escaped character */
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

/* Wipe every string in a parsed document before it is freed. */
static void
wipe_tree(cJSON *item)
{
	for (; item != NULL; item = item->next) {
		if (item->valuestring != NULL)
			wipe(item->valuestring, strlen(item->valuestring));
		wipe_tree(item->child);
	}
}

int
ks_parse(const char *text, size_t len, ks_entry_fn fn, void *arg, char *err, size_t errsize)
{
	const cJSON *version, *keys;
	const char *end = NULL;
	cJSON *doc;
	int form = -1;

	if (len == 0 || memchr(text, '\0', len) != NULL || !proto_utf8_valid(text, len)) {
		snprintf(err, errsize, "not a UTF-8 JSON document");
		return -1;
	}
	if (has_nul_escape(text, len)) {
		snprintf(err, errsize, "a name or value holds \\u0000");
		return -1;
	}
	doc = cJSON_ParseWithLengthOpts(text, len, &end, 0);
	if (doc == NULL || !cJSON_IsObject(doc) || !only_space(end, text + len)) {
		snprintf(err, errsize, "not valid JSON (or not an object)");
		goto done;
	}
	version = cJSON_GetObjectItemCaseSensitive(doc, "version");
	if (version == NULL) {
		if (parse_flat(doc, fn, arg, err, errsize) == 0)
			form = KS_FORM_FLAT;
		goto done;
	}
	if (!cJSON_IsNumber(version) || version->valuedouble != KS_VERSION) {
		snprintf(err, errsize, "unsupported keystore version (this ccr-keyd reads version 1)");
		goto done;
	}
	/*
	 * Exactly {"version":1,"keys":{…}} or {"version":1,"sealed":{…}}: a sealed
	 * file with one damaged byte in "sealed" must not pass for an empty plain
	 * keystore, which the next write would put in its place.
	 */
	if (cJSON_GetArraySize(doc) != 2) {
		snprintf(err, errsize, "a version-1 keystore has exactly \"version\" and \"keys\" "
				       "(or \"sealed\")");
		goto done;
	}
	if (cJSON_GetObjectItemCaseSensitive(doc, "sealed") != NULL) {
		form = KS_FORM_SEALED;
		goto done;
	}
	keys = cJSON_GetObjectItemCaseSensitive(doc, "keys");
	if (keys == NULL)
		snprintf(err, errsize, "a version-1 keystore has exactly \"version\" and \"keys\" "
				       "(or \"sealed\")");
	else if (parse_v1(keys, fn, arg, err, errsize) == 0)
		form = KS_FORM_V1;
done:
	if (doc != NULL) {
		wipe_tree(doc);
		cJSON_Delete(doc);
	}
	return form;
}

void
ks_encode_begin(struct buf *b)
{
	buf_adds(b, "{\"version\":1,\"keys\":{");
}

void
ks_encode_entry(struct buf *b, const struct ks_entry *e, bool first)
{
	char t[KS_TIME_MAX];

	if (!first)
		buf_addc(b, ',');
	buf_adds(b, "\n");
	buf_add_json(b, e->name, strlen(e->name));
	buf_adds(b, ":{\"value\":");
	buf_add_json(b, e->value, e->value_len);
	buf_adds(b, ",\"env\":");
	buf_add_json(b, e->env, strlen(e->env));
	if (e->created > 0) {
		ks_time_format(e->created, t);
		buf_adds(b, ",\"created\":\"");
		buf_adds(b, t);
		buf_addc(b, '"');
	}
	if (e->updated > 0) {
		ks_time_format(e->updated, t);
		buf_adds(b, ",\"updated\":\"");
		buf_adds(b, t);
		buf_addc(b, '"');
	}
	buf_addc(b, '}');
}

void
ks_encode_end(struct buf *b)
{
	buf_adds(b, "\n}}\n");
}
