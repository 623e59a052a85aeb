/*
 * libFuzzer entry point for interp.c: expands and scans arbitrary bytes and
 * checks the properties the router's rule implies, whatever the input.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "interp.h"

/* What one lookup function answers, and the names it was asked for. */
struct oracle {
	const char *value; /* NULL: nothing is set */
	size_t vlen;
	struct buf asked; /* each name asked for: its length, then its bytes */
};

/* A list of reported names, each stored as its length followed by its bytes. */
struct names {
	struct buf list;
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Stop the fuzzer on a broken property. */
static void
check(int ok)
{
	if (!ok)
		abort();
}

/* Append one length-prefixed name to b. */
static void
add_name(struct buf *b, const char *name, size_t len)
{
	buf_add(b, &len, sizeof len);
	buf_add(b, name, len);
}

/* Answer every name with the oracle's fixed value, recording the question. */
static const char *
oracle_lookup(void *arg, const char *name, size_t *len)
{
	struct oracle *o = arg;

	add_name(&o->asked, name, strlen(name));
	*len = o->vlen;
	return o->value;
}

/* Record one name reported by interp_scan. */
static void
collect(void *arg, const char *name, size_t len)
{
	struct names *n = arg;

	add_name(&n->list, name, len);
}

/* True when the length-prefixed list holds name. */
static int
holds(const struct buf *list, const char *name, size_t len)
{
	size_t at = 0, l;

	while (at < list->len) {
		memcpy(&l, list->data + at, sizeof l);
		at += sizeof l;
		if (l == len && memcmp(list->data + at, name, len) == 0)
			return 1;
		at += l;
	}
	return 0;
}

/* Expand in through o into a fresh buffer. */
static void
expand(const char *in, size_t len, struct oracle *o, struct buf *out)
{
	interp_expand(in, len, oracle_lookup, o, out);
	check(out->data != NULL && out->data[out->len] == '\0');
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *in = (const char *)data;
	struct oracle unset = {NULL, 0}, empty = {"", 0}, mark = {"#", 1}, refs = {"${Z}$Q", 6};
	struct buf out_unset = {0}, out_empty = {0}, out_mark = {0}, out_refs = {0};
	struct names scanned = {0};
	size_t at = 0, l;

	/* Unset and empty values alike leave the text exactly as written. */
	expand(in, size, &unset, &out_unset);
	check(out_unset.len == size && memcmp(out_unset.data, in, size) == 0);
	expand(in, size, &empty, &out_empty);
	check(out_empty.len == size && memcmp(out_empty.data, in, size) == 0);

	/* Where references are found never depends on what they resolve to. */
	expand(in, size, &mark, &out_mark);
	expand(in, size, &refs, &out_refs);
	check(unset.asked.len == mark.asked.len && empty.asked.len == mark.asked.len &&
	      refs.asked.len == mark.asked.len);
	check(mark.asked.len == 0 ||
	      (memcmp(unset.asked.data, mark.asked.data, mark.asked.len) == 0 &&
	       memcmp(refs.asked.data, mark.asked.data, mark.asked.len) == 0));

	/* A string without references asks nothing; once all resolve, none are left. */
	if (!interp_has_refs(in, size))
		check(mark.asked.len == 0);
	if (size == 0 || memchr(in, '\0', size) == NULL) {
		check(interp_has_refs(in, size) == (mark.asked.len > 0));
		check(!interp_has_refs(out_mark.data, out_mark.len));
	}

	/* The scanner reports every name the router would look up in this text. */
	interp_scan(in, size, collect, &scanned);
	while (at < mark.asked.len) {
		memcpy(&l, mark.asked.data + at, sizeof l);
		at += sizeof l;
		check(holds(&scanned.list, mark.asked.data + at, l));
		at += l;
	}

	buf_free(&out_unset);
	buf_free(&out_empty);
	buf_free(&out_mark);
	buf_free(&out_refs);
	buf_free(&unset.asked);
	buf_free(&empty.asked);
	buf_free(&mark.asked);
	buf_free(&refs.asked);
	buf_free(&scanned.list);
	return 0;
}
