/*
 * Reading and writing the keystore document. The file I/O (ownership checks,
 * atomic replacement) lives in fileio.c; this file knows only the format. It
 * reads with jsonr, so that the client can import a keystore file without a
 * JSON library of its own.
 */
#include "keystore.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "jsonr.h"
#include "names.h"
#include "origin.h"
#include "proto.h"
#include "utf8.h"

/* Days since 1970-01-01 of a proleptic Gregorian date (m 1-12). */
static int64_t
days_from_civil(int64_t y, int m, int d)
{
	int64_t era, yoe, doy;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	return era * 146097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719468;
}

/* The date of a day count since 1970-01-01. */
static void
civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
	int64_t era, doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

/* Write v (0-99) as two decimal digits. */
static void
put2(char *out, int v)
{
	out[0] = (char)('0' + v / 10);
	out[1] = (char)('0' + v % 10);
}

void
ks_time_format(int64_t t, char out[KS_TIME_MAX])
{
	int64_t days = t >= 0 ? t / 86400 : (t - 86399) / 86400, y;
	int secs = (int)(t - days * 86400), m, d;

	/* By hand: gmtime_r + strftime cost more than the rest of loading a key. */
	civil_from_days(days, &y, &m, &d);
	if (y < 0 || y > 9999) {
		memcpy(out, "1970-01-01T00:00:00Z", 21);
		return;
	}
	memcpy(out, "0000-00-00T00:00:00Z", 21);
	put2(out, (int)y / 100);
	put2(out + 2, (int)y % 100);
	put2(out + 5, m);
	put2(out + 8, d);
	put2(out + 11, secs / 3600);
	put2(out + 14, secs / 60 % 60);
	put2(out + 17, secs % 60);
}

/*
 * The n-digit decimal number at s followed by the byte sep, or -1. It reads no
 * further than the first byte that is wrong, so never past a string's NUL.
 */
static int
get_field(const char *s, int n, char sep)
{
	int v = 0, i;

	for (i = 0; i < n; i++) {
		unsigned d = (unsigned)(unsigned char)s[i] - '0';

		if (d > 9)
			return -1;
		v = v * 10 + (int)d;
	}
	return s[n] == sep ? v : -1;
}

int64_t
ks_time_parse(const char *s)
{
	static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	int y, mo, d, h, mi, se, last;

	/* Digit by digit: no signs, no spaces, nothing else ("2026-+1-28…" is refused). */
	if (s == NULL || (y = get_field(s, 4, '-')) < 0 || (mo = get_field(s + 5, 2, '-')) < 0 ||
	    (d = get_field(s + 8, 2, 'T')) < 0 || (h = get_field(s + 11, 2, ':')) < 0 ||
	    (mi = get_field(s + 14, 2, ':')) < 0 || (se = get_field(s + 17, 2, 'Z')) < 0 ||
	    s[20] != '\0')
		return -1;
	if (mo < 1 || mo > 12 || h > 23 || mi > 59 || se > 59)
		return -1;
	last = mdays[mo - 1] + (mo == 2 && y % 4 == 0 && (y % 100 != 0 || y % 400 == 0));
	if (d < 1 || d > last)
		return -1; /* a day that does not exist (Feb 30) */
	return days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se;
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

/* Read a created/updated member m: absent (NULL) is 0, anything but a valid time is an error. */
static int
member_time(const struct jsonr *m, int64_t *out)
{
	*out = 0;
	if (m == NULL)
		return 0;
	if (!jsonr_is(m, JSONR_STRING) || (*out = ks_time_parse(m->u.str)) < 0)
		return -1;
	return 0;
}

/*
 * Read a key's "origins" member m into list (ORIGIN_LIST_MAX bytes): absent
 * (NULL) is unbound, as every file written before origins were is; each origin
 * is canonicalised, and the list sorted and made distinct, whatever an editor
 * left. Returns 0, or -1 with err set.
 */
static int
member_origins(const struct jsonr *m, const char *name, char *list, char *err, size_t errsize)
{
	const struct jsonr *o;
	char canon[ORIGIN_MAX + 1];
	const char *why = "an origin is not a string";

	list[0] = '\0';
	if (m == NULL)
		return 0;
	if (!jsonr_is(m, JSONR_ARRAY)) {
		snprintf(err, errsize, "key %s has an \"origins\" that is not an array", name);
		return -1;
	}
	jsonr_foreach(o, m)
	{
		if (!jsonr_is(o, JSONR_STRING) || origin_canon(o->u.str, canon, &why) == -1) {
			snprintf(err, errsize, "key %s has an invalid origin: %s", name, why);
			return -1;
		}
		if (origin_list_add(list, canon) == -1) {
			snprintf(err, errsize, "key %s has more than %d origins", name,
			         ORIGINS_MAX);
			return -1;
		}
	}
	return 0;
}

/* The members of a key's object that the format knows. */
enum { M_VALUE, M_ENV, M_CREATED, M_UPDATED, M_ORIGINS, M_COUNT };

/* Their names. */
static const struct {
	const char *name;
	uint32_t len;
} known[M_COUNT] = {
    [M_VALUE] = {"value", 5},     [M_ENV] = {"env", 3},         [M_CREATED] = {"created", 7},
    [M_UPDATED] = {"updated", 7}, [M_ORIGINS] = {"origins", 7},
};

/* Which known member one named key (len bytes) is, or -1. */
static int
known_member(const char *key, uint32_t len)
{
	int i;

	for (i = 0; i < M_COUNT; i++) {
		if (len == known[i].len && memcmp(key, known[i].name, len) == 0)
			return i;
	}
	return -1;
}

/*
 * Find the known members of the key k in one pass over it: each the first of
 * its name, as jsonr_get finds it, or NULL (all NULL when k is not an object).
 */
static void
key_members(const struct jsonr *k, const struct jsonr *found[M_COUNT])
{
	const struct jsonr *m;
	int i;

	for (i = 0; i < M_COUNT; i++)
		found[i] = NULL;
	if (!jsonr_is(k, JSONR_OBJECT))
		return;
	jsonr_foreach(m, k)
	{
		i = known_member(m->key, m->key_len);
		if (i >= 0 && found[i] == NULL)
			found[i] = m;
	}
}

/*
 * Check one key of a version-1 document, named name, whose value is_object (or
 * not), with its known members, and hand it to fn. env and origins are the
 * caller's buffers (ENV_MAX_LEN + 1 and ORIGIN_LIST_MAX bytes). Returns 0, or
 * -1 with err set.
 */
static int
take_key(const char *name, bool is_object, const struct jsonr *const member[M_COUNT], char *env,
         char *origins, ks_entry_fn fn, void *arg, char *err, size_t errsize)
{
	const struct jsonr *value = member[M_VALUE], *envm = member[M_ENV];
	struct ks_entry e = {.name = name};

	if (!name_is_valid(name)) {
		snprintf(err, errsize, "\"%.128s\" is not a valid key name", name);
		return -1;
	}
	if (!is_object || !jsonr_is(value, JSONR_STRING)) {
		snprintf(err, errsize, "key %s has no string \"value\"", name);
		return -1;
	}
	if (check_value(name, value->u.str, err, errsize) == -1)
		return -1;
	if (envm != NULL && (!jsonr_is(envm, JSONR_STRING) || !env_is_valid(envm->u.str))) {
		snprintf(err, errsize, "key %s has an invalid \"env\"", name);
		return -1;
	}
	if (envm == NULL)
		name_default_env(name, env);
	e.env = envm != NULL ? envm->u.str : env;
	e.value = value->u.str;
	e.value_len = value->len;
	if (member_time(member[M_CREATED], &e.created) == -1 ||
	    member_time(member[M_UPDATED], &e.updated) == -1) {
		snprintf(err, errsize, "key %s has an invalid created or updated time", name);
		return -1;
	}
	if (member_origins(member[M_ORIGINS], name, origins, err, errsize) == -1)
		return -1;
	e.origins = origins;
	return fn(arg, &e, err, errsize);
}

/* Parse the "keys" object of a version-1 document. */
static int
parse_v1(const struct jsonr *keys, ks_entry_fn fn, void *arg, char *err, size_t errsize)
{
	const struct jsonr *k, *member[M_COUNT];
	char env[ENV_MAX_LEN + 1], origins[ORIGIN_LIST_MAX];

	if (!jsonr_is(keys, JSONR_OBJECT)) {
		snprintf(err, errsize, "\"keys\" is not an object");
		return -1;
	}
	jsonr_foreach(k, keys)
	{
		key_members(k, member);
		if (take_key(k->key, jsonr_is(k, JSONR_OBJECT), member, env, origins, fn, arg, err,
		             errsize) == -1)
			return -1;
	}
	return 0;
}

/* Parse the flat {"name":"value"} form. */
static int
parse_flat(const struct jsonr *doc, ks_entry_fn fn, void *arg, char *err, size_t errsize)
{
	const struct jsonr *k;
	char env[ENV_MAX_LEN + 1];

	jsonr_foreach(k, doc)
	{
		struct ks_entry e = {.name = k->key, .env = env};

		if (!name_is_valid(k->key) || !jsonr_is(k, JSONR_STRING)) {
			snprintf(err, errsize, "\"%.128s\" is not a valid key name with a string value",
				 k->key);
			return -1;
		}
		if (check_value(k->key, k->u.str, err, errsize) == -1)
			return -1;
		name_default_env(k->key, env);
		e.value = k->u.str;
		e.value_len = k->len;
		if (fn(arg, &e, err, errsize) == -1)
			return -1;
	}
	return 0;
}

/*
 * ks_parse_quick's reader: a version-1 document walked in place. The strings
 * of the key being read are decoded into scratch (as long as the text: a key
 * never decodes longer than it is written), from its start again for each
 * key, so only the first pages of it are ever touched.
 */
struct quick {
	const char *s;
	size_t len, at;
	char *scratch;
	size_t used;    /* bytes of scratch the key being read holds */
	size_t written; /* the farthest scratch was written, to wipe */
};

/* Step over whitespace and take the byte c; false when another is there. */
static bool
quick_take(struct quick *q, char c)
{
	if (q->at < q->len && q->s[q->at] != c)
		q->at = jsonr_skip_space(q->s, q->len, q->at);
	if (q->at >= q->len || q->s[q->at] != c)
		return false;
	q->at++;
	return true;
}

/* Step over whitespace and decode the string there into v; false when there is none. */
static bool
quick_string(struct quick *q, struct jsonr *v)
{
	size_t from, end;
	char *out = q->scratch + q->used;
	long n;

	if (q->at < q->len && q->s[q->at] != '"')
		q->at = jsonr_skip_space(q->s, q->len, q->at);
	from = q->at;
	n = jsonr_read_string(q->s, q->len, &q->at, out);
	/* What the decoding wrote never runs ahead of what it read, plus one 8-byte copy. */
	end = q->used + (q->at - from) + 8;
	if (q->written < end)
		q->written = end < q->len + 1 ? end : q->len + 1;
	if (n < 0)
		return false;
	*v = (struct jsonr){.type = JSONR_STRING, .len = (uint32_t)n, .u.str = out};
	q->used += (size_t)n + 1;
	return true;
}

/*
 * Step over whitespace and read a member's name: which known member it is, or
 * -1 for any other name or none. A name written plainly is matched where it
 * stands, one with escapes once decoded.
 */
static int
quick_member(struct quick *q)
{
	struct jsonr m;
	uint32_t n;
	int i;

	if (q->at < q->len && q->s[q->at] != '"')
		q->at = jsonr_skip_space(q->s, q->len, q->at);
	for (i = 0; i < M_COUNT; i++) {
		n = known[i].len;
		if (q->len - q->at >= n + 2 && q->s[q->at] == '"' && q->s[q->at + n + 1] == '"' &&
		    memcmp(q->s + q->at + 1, known[i].name, n) == 0) {
			q->at += n + 2;
			return i;
		}
	}
	return quick_string(q, &m) ? known_member(m.u.str, m.len) : -1;
}

/* Read a key's "origins", an array of strings (at most ORIGINS_MAX + 1 of them) into v and o. */
static bool
quick_origins(struct quick *q, struct jsonr *v, struct jsonr o[ORIGINS_MAX + 1])
{
	const struct jsonr **link = &v->u.child;

	*v = (struct jsonr){.type = JSONR_ARRAY};
	if (!quick_take(q, '['))
		return false;
	if (quick_take(q, ']'))
		return true;
	for (;;) {
		if (v->len > ORIGINS_MAX || !quick_string(q, &o[v->len]))
			return false;
		*link = &o[v->len];
		link = &o[v->len].next;
		v->len++;
		if (quick_take(q, ']'))
			return true;
		if (!quick_take(q, ','))
			return false;
	}
}

/* Read one key, its name and its object, and take it as parse_v1 would; false when it cannot. */
static bool
quick_key(struct quick *q, ks_entry_fn fn, void *arg)
{
	struct jsonr name, members[M_COUNT], origins[ORIGINS_MAX + 1];
	const struct jsonr *member[M_COUNT] = {NULL};
	char env[ENV_MAX_LEN + 1], list[ORIGIN_LIST_MAX], err[8];
	int i;

	q->used = 0;
	if (!quick_string(q, &name) || !quick_take(q, ':') || !quick_take(q, '{'))
		return false;
	if (!quick_take(q, '}')) {
		do {
			/* A member it does not know, or one named twice: ks_parse decides. */
			i = quick_member(q);
			if (i < 0 || member[i] != NULL || !quick_take(q, ':'))
				return false;
			if (!(i == M_ORIGINS ? quick_origins(q, &members[i], origins)
			                     : quick_string(q, &members[i])))
				return false;
			member[i] = &members[i];
		} while (quick_take(q, ','));
		if (!quick_take(q, '}'))
			return false;
	}
	return take_key(name.u.str, true, member, env, list, fn, arg, err, sizeof err) == 0;
}

/* Walk the whole of q's text as {"version":1,"keys":{…}}, taking each key; false when it cannot. */
static bool
quick_document(struct quick *q, ks_entry_fn fn, void *arg)
{
	struct jsonr name;

	/* A byte-order mark, as some editors write one: read what follows it. */
	if (q->len >= 3 && memcmp(q->s, "\xef\xbb\xbf", 3) == 0)
		q->at = 3;
	if (!quick_take(q, '{') || !quick_string(q, &name) || strcmp(name.u.str, "version") != 0 ||
	    !quick_take(q, ':') || !quick_take(q, '1') || !quick_take(q, ',') ||
	    !quick_string(q, &name) || strcmp(name.u.str, "keys") != 0 || !quick_take(q, ':') ||
	    !quick_take(q, '{'))
		return false;
	if (!quick_take(q, '}')) {
		do {
			if (!quick_key(q, fn, arg))
				return false;
		} while (quick_take(q, ','));
		if (!quick_take(q, '}'))
			return false;
	}
	return quick_take(q, '}') && jsonr_skip_space(q->s, q->len, q->at) == q->len;
}

int
ks_parse_quick(const char *text, size_t len, ks_entry_fn fn, void *arg)
{
	struct quick q = {.s = text, .len = len};
	bool ok;

	/* A \u0000 anywhere is refused by ks_parse, even in a member it ignores. */
	if (len == 0 || proto_has_nul_escape(text, len))
		return -1;
	q.scratch = malloc(len + 1);
	if (q.scratch == NULL) {
		fputs("out of memory\n", stderr);
		abort();
	}
	ok = quick_document(&q, fn, arg);
	wipe(q.scratch, q.written);
	free(q.scratch);
	return ok ? KS_FORM_V1 : -1;
}

int
ks_parse(const char *text, size_t len, ks_entry_fn fn, void *arg, char *err, size_t errsize)
{
	const struct jsonr *version, *keys;
	struct jsonr *doc;
	bool nul_escape;
	size_t skip;
	int form = -1;

	/*
	 * A document jsonr reads is UTF-8 without a NUL byte (only strings may hold
	 * anything but ASCII, and jsonr checks them), so the whole text is checked
	 * for that only to say why one was refused.
	 */
	nul_escape = proto_has_nul_escape(text, len);
	/* A byte-order mark, as some editors write one: read what follows it. */
	skip = len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0 ? 3 : 0;
	doc = len == 0 || nul_escape ? NULL : jsonr_parse(text + skip, len - skip, NULL, 0);
	if (doc == NULL &&
	    (len == 0 || memchr(text, '\0', len) != NULL || !utf8_valid(text, len))) {
		snprintf(err, errsize, "not a UTF-8 JSON document");
		return -1;
	}
	if (nul_escape) {
		snprintf(err, errsize, "a name or value holds \\u0000");
		return -1;
	}
	if (doc == NULL || !jsonr_is(doc, JSONR_OBJECT)) {
		snprintf(err, errsize, "not valid JSON (or not an object)");
		goto done;
	}
	version = jsonr_get(doc, "version");
	if (version == NULL) {
		if (parse_flat(doc, fn, arg, err, errsize) == 0)
			form = KS_FORM_FLAT;
		goto done;
	}
	if (!jsonr_is(version, JSONR_NUMBER) || version->u.num != KS_VERSION) {
		snprintf(err, errsize, "unsupported keystore version (this ccr-keyd reads version 1)");
		goto done;
	}
	/*
	 * Exactly {"version":1,"keys":{…}} or {"version":1,"sealed":{…}}: a sealed
	 * file with one damaged byte in "sealed" must not pass for an empty plain
	 * keystore, which the next write would put in its place.
	 */
	if (jsonr_count(doc) != 2) {
		snprintf(err, errsize, "a version-1 keystore has exactly \"version\" and \"keys\" "
				       "(or \"sealed\")");
		goto done;
	}
	if (jsonr_get(doc, "sealed") != NULL) {
		form = KS_FORM_SEALED;
		goto done;
	}
	keys = jsonr_get(doc, "keys");
	if (keys == NULL)
		snprintf(err, errsize, "a version-1 keystore has exactly \"version\" and \"keys\" "
				       "(or \"sealed\")");
	else if (parse_v1(keys, fn, arg, err, errsize) == 0)
		form = KS_FORM_V1;
done:
	jsonr_free(doc); /* wipes every name and value it decoded */
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
	if (e->origins != NULL && e->origins[0] != '\0')
		proto_field_list(b, "origins", e->origins);
	buf_addc(b, '}');
}

void
ks_encode_end(struct buf *b)
{
	buf_adds(b, "\n}}\n");
}
