/*
 * A key's binding in requests, replies and messages: the "origins" arrays of
 * set, bind, get and list.
 */
#include "binding.h"

#include <stdio.h>
#include <string.h>

#include "proto.h"

void
binding_field(struct buf *b, const struct names *origins)
{
	size_t i;

	proto_field_key(b, "origins");
	buf_addc(b, '[');
	for (i = 0; i < origins->n; i++) {
		if (i > 0)
			buf_addc(b, ',');
		buf_add_json(b, origins->v[i], strlen(origins->v[i]));
	}
	buf_addc(b, ']');
}

void
binding_copy(struct buf *b, const struct jsonr *v)
{
	proto_field_key(b, "origins");
	if (jsonr_is(v, JSONR_ARRAY))
		jsonr_print(b, v);
	else
		buf_adds(b, "[]");
}

void
binding_join(const struct jsonr *v, const char *sep, char *out, size_t size)
{
	const struct jsonr *o;
	size_t used = 0;

	out[0] = '\0';
	jsonr_foreach(o, v)
	{
		int n;

		if (jsonr_str(o) == NULL || used >= size)
			continue;
		n = snprintf(out + used, size - used, "%s%s", used > 0 ? sep : "", o->u.str);
		if (n < 0)
			break;
		used += (size_t)n;
	}
}

void
binding_join_names(const struct names *origins, const char *sep, char *out, size_t size)
{
	size_t i, used = 0;

	out[0] = '\0';
	for (i = 0; i < origins->n && used < size; i++) {
		int n =
		    snprintf(out + used, size - used, "%s%s", used > 0 ? sep : "", origins->v[i]);

		if (n < 0)
			break;
		used += (size_t)n;
	}
}

bool
binding_has(const struct jsonr *v, const char *origin)
{
	const struct jsonr *o;

	jsonr_foreach(o, v)
	{
		if (jsonr_str(o) != NULL && strcmp(o->u.str, origin) == 0)
			return true;
	}
	return false;
}
