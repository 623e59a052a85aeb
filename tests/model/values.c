/*
 * The values clients store: "csk-test-NAME-SEQ-PAD", where PAD's length and
 * letters follow from the run's seed, the key and the sequence number. So any
 * value read back (from a reply or from the file) can be traced to the one set
 * request that sent it, and a value nobody set is recognised as such. Lengths
 * vary from a few bytes to nearly the 16 KiB limit.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"

/* A 64-bit hash of the seed, a name and a sequence number. */
static uint64_t
mix(uint64_t seed, const char *name, long seq)
{
	struct rng r = {seed ^ (uint64_t)seq * 0x9e3779b97f4a7c15ull};
	const unsigned char *p;

	for (p = (const unsigned char *)name; *p != '\0'; p++)
		r.s = (r.s ^ *p) * 0x100000001b3ull;
	return rng_next(&r);
}

/* The padding's length for this value: mostly short, now and then long. */
static size_t
pad_len(uint64_t h)
{
	unsigned pick = (unsigned)(h % 100);

	h /= 100;
	if (pick < 70)
		return h % 41;
	if (pick < 95)
		return 40 + h % 361;
	if (pick < 99)
		return 400 + h % 3601;
	return 4000 + h % 12001;
}

void
value_make(const struct world *w, const char *name, long seq, struct buf *out)
{
	static const char letters[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
	uint64_t h = mix(w->seed, name, seq);
	struct rng r = {h};
	size_t n = pad_len(h), i;
	char head[64];

	snprintf(head, sizeof head, "csk-test-%s-%ld-", name, seq);
	buf_adds(out, head);
	buf_reserve(out, n);
	for (i = 0; i < n; i++)
		out->data[out->len++] = letters[rng_below(&r, sizeof letters - 1)];
	out->data[out->len] = '\0';
}

long
value_seq(const struct world *w, const char *name, const char *value, size_t len, long max_seq)
{
	char head[32];
	size_t hl = (size_t)snprintf(head, sizeof head, "csk-test-%s-", name);
	struct buf want = {0};
	char *end;
	long seq;
	bool same;

	if (len <= hl || memcmp(value, head, hl) != 0)
		return -2;
	seq = strtol(value + hl, &end, 10);
	if (end == value + hl || *end != '-' || seq < 0 || seq > max_seq)
		return -2;
	value_make(w, name, seq, &want);
	same = want.len == len && memcmp(want.data, value, len) == 0;
	buf_free(&want);
	return same ? seq : -2;
}

int
key_owner(const struct world *w, const char *name, int *kidx)
{
	int c, k, n = 0;

	if (sscanf(name, "m%dk%d%n", &c, &k, &n) != 2 || name[n] != '\0' || c < 0 ||
	    c >= w->nclients || k < 0 || k >= MODEL_KEYS)
		return -1;
	*kidx = k;
	return c;
}

bool
cand_has(const struct mkey *k, long seq)
{
	int i;

	for (i = 0; i < k->ncand; i++) {
		if (k->cand[i] == seq)
			return true;
	}
	return false;
}

void
cand_set(struct mkey *k, long seq)
{
	k->cand[0] = seq;
	k->ncand = 1;
}

void
cand_add(struct mkey *k, long seq)
{
	if (cand_has(k, seq))
		return;
	if (k->ncand == MODEL_MAX_CAND) {
		/* Never forget the newest: drop the oldest unknown. */
		memmove(k->cand, k->cand + 1, (MODEL_MAX_CAND - 1) * sizeof k->cand[0]);
		k->ncand--;
	}
	k->cand[k->ncand++] = seq;
}
