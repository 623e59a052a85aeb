/*
 * libFuzzer target: the keystore loader, fed any file contents. A document it
 * accepts must survive encode → parse unchanged, key for key; and whatever the
 * daemon's one-pass reader (ks_parse_quick) takes, ks_parse takes too, with the
 * same keys in the same order.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "keystore.h"
#include "names.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct copy {
	struct buf doc;
	size_t n;
	int second; /* counting the re-parse */
	size_t again;
};

/* Re-encode each key; check the rules the loader promises. */
static int
take(void *arg, const struct ks_entry *e, char *err, size_t errsize)
{
	struct copy *c = arg;

	(void)err;
	(void)errsize;
	if (!name_is_valid(e->name) || !env_is_valid(e->env) || e->value_len == 0 ||
	    strlen(e->value) != e->value_len)
		abort();
	if (c->second) {
		c->again++;
		return 0;
	}
	ks_encode_entry(&c->doc, e, c->n == 0);
	c->n++;
	return 0;
}

/*
 * The quick reader either declines (-1) or gives exactly what ks_parse gave:
 * full is ks_parse's keys re-encoded, form its answer.
 */
static void
check_quick(const uint8_t *data, size_t size, int form, const struct buf *full)
{
	struct copy q = {{0}, 0, 0, 0};

	ks_encode_begin(&q.doc);
	if (ks_parse_quick((const char *)data, size, take, &q) == KS_FORM_V1) {
		ks_encode_end(&q.doc);
		if (form != KS_FORM_V1 || q.doc.len != full->len ||
		    memcmp(q.doc.data, full->data, full->len) != 0)
			abort();
	}
	buf_free(&q.doc);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct copy c = {{0}, 0, 0, 0};
	char err[512];
	int form;

	ks_encode_begin(&c.doc);
	form = ks_parse((const char *)data, size, take, &c, err, sizeof err);
	ks_encode_end(&c.doc);
	if (form == KS_FORM_V1 || form == KS_FORM_FLAT) {
		c.second = 1;
		if (ks_parse(c.doc.data, c.doc.len, take, &c, err, sizeof err) != KS_FORM_V1 ||
		    c.again != c.n)
			abort();
	}
	check_quick(data, size, form, &c.doc);
	buf_free(&c.doc);
	return 0;
}
