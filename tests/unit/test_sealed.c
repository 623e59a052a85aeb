/*
 * Unit tests for sealed.c: seal and open round trip, the key check that tells a
 * wrong passphrase from a damaged file, the header bound as associated data
 * (the generation included), what the parser refuses, a fresh nonce on every
 * seal, and the floor on Argon2id's limits. Keys are derived at Argon2id's
 * minimum limits so that the tests stay fast. The fixture seals without a
 * generation, as files written before generations were.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "buf.h"
#include "sealed.h"

#define PASS "pw-test-correct-horse"
#define DOC                                                                                        \
	"{\"version\":1,\"keys\":{\"cerebras\":{\"value\":\"csk-test-0123456789abcdef0123f2a9\","  \
	"\"env\":\"CEREBRAS_API_KEY\",\"created\":\"2026-11-28T21:04:05Z\",\"updated\":"           \
	"\"2026-11-28T21:04:05Z\"}}}"

/* A key derived from PASS at the minimum limits, and the sealed document. */
struct fixture {
	struct sealed_params params;
	unsigned char key[SEALED_KEY_BYTES];
	struct buf sealed;
};

/* Derive a key for PASS (new passphrase) and seal DOC under it. */
static int
setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof *fx);

	if (fx == NULL || sealed_init() != 0)
		return -1;
	sealed_params_new(&fx->params, SEALED_LIMITS_MIN);
	if (sealed_derive(PASS, strlen(PASS), &fx->params, fx->key, true) != 0)
		return -1;
	sealed_seal(fx->key, &fx->params, DOC, strlen(DOC), &fx->sealed);
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *fx = *state;

	buf_free(&fx->sealed);
	free(fx);
	return 0;
}

/* Parse text, which must succeed. */
static void
parse_ok(const char *text, size_t len, struct sealed_file *f)
{
	char err[256] = "";

	if (sealed_parse(text, len, f, err, sizeof err) != 0)
		fail_msg("sealed_parse refused a valid document: %s", err);
}

/* Parse text, which must be refused with a message. */
static void
parse_refused(const char *text, size_t len, const char *what)
{
	struct sealed_file f;
	char err[256] = "";

	if (sealed_parse(text, len, &f, err, sizeof err) != -1)
		fail_msg("sealed_parse accepted %s", what);
	assert_true(strlen(err) > 0);
	assert_null(f.ciphertext);
}

static void
test_seal_then_open_gives_back_the_document(void **state)
{
	struct fixture *fx = *state;
	struct sealed_file f;
	struct buf plain = {0};
	char err[256];

	parse_ok(fx->sealed.data, fx->sealed.len, &f);
	assert_int_equal(f.params.opslimit, crypto_pwhash_OPSLIMIT_MIN);
	assert_int_equal(f.params.memlimit, crypto_pwhash_MEMLIMIT_MIN);
	assert_memory_equal(f.params.salt, fx->params.salt, SEALED_SALT_BYTES);
	assert_memory_equal(f.params.check, fx->params.check, SEALED_CHECK_BYTES);
	assert_int_equal(sealed_open(fx->key, &f, &plain, err, sizeof err), 0);
	assert_int_equal(plain.len, strlen(DOC));
	assert_string_equal(plain.data, DOC);
	buf_free(&plain);
	sealed_file_free(&f);
}

static void
test_open_appends_to_the_buffer_and_keeps_it_nul_terminated(void **state)
{
	struct fixture *fx = *state;
	struct sealed_file f;
	struct buf plain = {0};
	char err[256];

	buf_adds(&plain, "before:");
	parse_ok(fx->sealed.data, fx->sealed.len, &f);
	assert_int_equal(sealed_open(fx->key, &f, &plain, err, sizeof err), 0);
	assert_string_equal(plain.data, "before:" DOC);
	assert_int_equal(plain.len, strlen("before:" DOC));
	buf_free(&plain);
	sealed_file_free(&f);
}

static void
test_an_empty_document_seals_and_opens(void **state)
{
	struct fixture *fx = *state;
	struct buf sealed = {0}, plain = {0};
	struct sealed_file f;
	char err[256];

	sealed_seal(fx->key, &fx->params, "", 0, &sealed);
	parse_ok(sealed.data, sealed.len, &f);
	assert_int_equal(f.ciphertext_len, crypto_aead_xchacha20poly1305_ietf_ABYTES);
	assert_int_equal(sealed_open(fx->key, &f, &plain, err, sizeof err), 0);
	assert_int_equal(plain.len, 0);
	buf_free(&plain);
	buf_free(&sealed);
	sealed_file_free(&f);
}

static void
test_open_with_a_wrong_key_fails_saying_changed_or_damaged(void **state)
{
	struct fixture *fx = *state;
	unsigned char wrong[SEALED_KEY_BYTES];
	struct sealed_file f;
	struct buf plain = {0};
	char err[256] = "";

	memcpy(wrong, fx->key, sizeof wrong);
	wrong[0] ^= 1;
	parse_ok(fx->sealed.data, fx->sealed.len, &f);
	assert_int_equal(sealed_open(wrong, &f, &plain, err, sizeof err), -1);
	assert_non_null(strstr(err, "changed or damaged"));
	assert_int_equal(plain.len, 0);
	buf_free(&plain);
	sealed_file_free(&f);
}

static void
test_derive_then_verify_accepts_the_passphrase_and_gives_the_same_key(void **state)
{
	struct fixture *fx = *state;
	struct sealed_params p = fx->params;
	unsigned char key[SEALED_KEY_BYTES];

	assert_int_equal(sealed_derive(PASS, strlen(PASS), &p, key, false), 0);
	assert_memory_equal(key, fx->key, SEALED_KEY_BYTES);
	/* Verifying leaves the check as it was. */
	assert_memory_equal(p.check, fx->params.check, SEALED_CHECK_BYTES);
}

static void
test_derive_with_a_wrong_passphrase_returns_minus_two_and_wipes_the_key(void **state)
{
	struct fixture *fx = *state;
	struct sealed_params p = fx->params;
	unsigned char key[SEALED_KEY_BYTES], zero[SEALED_KEY_BYTES] = {0};
	static const char *const wrong[] = {"pw-test-correct-horsE", "pw-test-correct-hors",
	                                    "pw-test-correct-horse ", ""};
	size_t i;

	for (i = 0; i < sizeof wrong / sizeof *wrong; i++) {
		memset(key, 0xa5, sizeof key);
		assert_int_equal(sealed_derive(wrong[i], strlen(wrong[i]), &p, key, false), -2);
		assert_memory_equal(key, zero, sizeof key);
	}
	/* The length counts: the passphrase is not read as a C string. */
	assert_int_equal(sealed_derive(PASS "x", strlen(PASS), &p, key, false), 0);
}

static void
test_the_key_check_depends_on_salt_and_limits(void **state)
{
	struct fixture *fx = *state;
	struct sealed_params p;
	unsigned char key[SEALED_KEY_BYTES];

	p = fx->params;
	p.salt[0] ^= 1;
	assert_int_equal(sealed_derive(PASS, strlen(PASS), &p, key, false), -2);
	p = fx->params;
	p.opslimit++;
	assert_int_equal(sealed_derive(PASS, strlen(PASS), &p, key, false), -2);
	p = fx->params;
	p.check[SEALED_CHECK_BYTES - 1] ^= 0x80;
	assert_int_equal(sealed_derive(PASS, strlen(PASS), &p, key, false), -2);
}

static void
test_set_check_stores_a_check_that_differs_per_passphrase(void **state)
{
	struct fixture *fx = *state;
	struct sealed_params p = fx->params;
	unsigned char key[SEALED_KEY_BYTES];

	memset(p.check, 0, sizeof p.check);
	assert_int_equal(sealed_derive("pw-test-other", 13, &p, key, true), 0);
	assert_memory_not_equal(p.check, fx->params.check, SEALED_CHECK_BYTES);
	assert_memory_not_equal(key, fx->key, SEALED_KEY_BYTES);
	assert_int_equal(sealed_derive(PASS, strlen(PASS), &p, key, false), -2);
}

/* Open f, changed by change(), with the right key: it must fail. */
static void
assert_change_breaks_open(struct fixture *fx, void (*change)(struct sealed_file *),
                          const char *what)
{
	struct sealed_file f;
	struct buf plain = {0};
	char err[256] = "";

	parse_ok(fx->sealed.data, fx->sealed.len, &f);
	change(&f);
	if (sealed_open(fx->key, &f, &plain, err, sizeof err) != -1)
		fail_msg("sealed_open accepted a file whose %s was changed", what);
	assert_int_equal(plain.len, 0);
	buf_free(&plain);
	sealed_file_free(&f);
}

static void
more_ops(struct sealed_file *f)
{
	f->params.opslimit++;
}
static void
more_memory(struct sealed_file *f)
{
	f->params.memlimit += 1024;
}
static void
one_more_memory_byte(struct sealed_file *f)
{
	/* Argon2id counts KiB, so this derives the same key: only the AD can tell. */
	f->params.memlimit += 1;
}
static void
other_salt(struct sealed_file *f)
{
	f->params.salt[SEALED_SALT_BYTES / 2] ^= 1;
}
static void
other_check(struct sealed_file *f)
{
	f->params.check[0] ^= 1;
}
static void
other_nonce(struct sealed_file *f)
{
	f->nonce[SEALED_NONCE_BYTES - 1] ^= 1;
}
static void
other_ciphertext(struct sealed_file *f)
{
	f->ciphertext[0] ^= 1;
}
static void
other_tag(struct sealed_file *f)
{
	f->ciphertext[f->ciphertext_len - 1] ^= 0x80;
}
static void
shorter_ciphertext(struct sealed_file *f)
{
	f->ciphertext_len--;
}

static void
test_every_header_field_change_breaks_open(void **state)
{
	struct fixture *fx = *state;

	assert_change_breaks_open(fx, more_ops, "opslimit");
	assert_change_breaks_open(fx, more_memory, "memlimit");
	assert_change_breaks_open(fx, one_more_memory_byte, "memlimit (by one byte)");
	assert_change_breaks_open(fx, other_salt, "salt");
	assert_change_breaks_open(fx, other_check, "key check");
	assert_change_breaks_open(fx, other_nonce, "nonce");
	assert_change_breaks_open(fx, other_ciphertext, "ciphertext");
	assert_change_breaks_open(fx, other_tag, "authentication tag");
	assert_change_breaks_open(fx, shorter_ciphertext, "ciphertext length");
}

static void
test_each_seal_uses_a_fresh_nonce(void **state)
{
	struct fixture *fx = *state;
	struct sealed_file a, b;
	struct buf again = {0}, plain = {0};
	char err[256];

	sealed_seal(fx->key, &fx->params, DOC, strlen(DOC), &again);
	parse_ok(fx->sealed.data, fx->sealed.len, &a);
	parse_ok(again.data, again.len, &b);
	assert_memory_not_equal(a.nonce, b.nonce, SEALED_NONCE_BYTES);
	assert_int_equal(a.ciphertext_len, b.ciphertext_len);
	assert_memory_not_equal(a.ciphertext, b.ciphertext, a.ciphertext_len);
	/* The same salt, limits and check: only the nonce and ciphertext are new. */
	assert_memory_equal(a.params.salt, b.params.salt, SEALED_SALT_BYTES);
	assert_memory_equal(a.params.check, b.params.check, SEALED_CHECK_BYTES);
	assert_int_equal(sealed_open(fx->key, &b, &plain, err, sizeof err), 0);
	assert_string_equal(plain.data, DOC);
	/* One nonce cannot open the other's ciphertext. */
	memcpy(b.nonce, a.nonce, SEALED_NONCE_BYTES);
	buf_clear(&plain);
	assert_int_equal(sealed_open(fx->key, &b, &plain, err, sizeof err), -1);
	buf_free(&plain);
	buf_free(&again);
	sealed_file_free(&a);
	sealed_file_free(&b);
}

static void
test_params_new_gives_the_limits_of_each_level_and_a_fresh_salt(void **state)
{
	struct sealed_params a, b, c;

	(void)state;
	assert_int_equal(sealed_init(), 0);
	sealed_params_new(&a, SEALED_LIMITS_MODERATE);
	sealed_params_new(&b, SEALED_LIMITS_INTERACTIVE);
	sealed_params_new(&c, SEALED_LIMITS_MIN);
	assert_int_equal(a.opslimit, crypto_pwhash_OPSLIMIT_MODERATE);
	assert_int_equal(a.memlimit, crypto_pwhash_MEMLIMIT_MODERATE);
	assert_int_equal(b.opslimit, crypto_pwhash_OPSLIMIT_INTERACTIVE);
	assert_int_equal(b.memlimit, crypto_pwhash_MEMLIMIT_INTERACTIVE);
	assert_int_equal(c.opslimit, crypto_pwhash_OPSLIMIT_MIN);
	assert_int_equal(c.memlimit, crypto_pwhash_MEMLIMIT_MIN);
	assert_memory_not_equal(a.salt, b.salt, SEALED_SALT_BYTES);
	assert_memory_not_equal(b.salt, c.salt, SEALED_SALT_BYTES);
}

/* The members of a sealed document, in the order a seal writes them. */
enum member { M_KDF, M_OPS, M_MEM, M_SALT, M_CHECK, M_NONCE, M_CT, M_COUNT };

static const char *const member_names[M_COUNT] = {"kdf",   "opslimit", "memlimit",  "salt",
                                                  "check", "nonce",    "ciphertext"};

/*
 * Write a sealed document with the given member values (JSON text; NULL
 * leaves the member out) and version text (NULL: no version member).
 */
static void
render_doc(struct buf *out, const char *version, const char *const values[M_COUNT])
{
	int i, n = 0;

	buf_clear(out);
	buf_adds(out, "{");
	if (version != NULL) {
		buf_adds(out, "\"version\":");
		buf_adds(out, version);
		buf_adds(out, ",");
	}
	buf_adds(out, "\"sealed\":{");
	for (i = 0; i < M_COUNT; i++) {
		if (values[i] == NULL)
			continue;
		if (n++ > 0)
			buf_addc(out, ',');
		buf_addc(out, '"');
		buf_adds(out, member_names[i]);
		buf_adds(out, "\":");
		buf_adds(out, values[i]);
	}
	buf_adds(out, "}}\n");
}

/* The JSON text of bin as a base64 string. */
static char *
b64_json(const unsigned char *bin, size_t len)
{
	size_t n = sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_ORIGINAL);
	char *s = malloc(n + 2);

	assert_non_null(s);
	s[0] = '"';
	sodium_bin2base64(s + 1, n, bin, len, sodium_base64_VARIANT_ORIGINAL);
	strcat(s, "\"");
	return s;
}

/* Parse, which must refuse, the document with member m set to value (NULL: left out). */
static void
refuse_with(struct buf *doc, const char *values[M_COUNT], int m, const char *value,
            const char *what)
{
	const char *saved = values[m];

	values[m] = value;
	render_doc(doc, "1", values);
	parse_refused(doc->data, doc->len, what);
	values[m] = saved;
}

static void
test_parse_refuses_missing_short_and_out_of_range_fields(void **state)
{
	struct fixture *fx = *state;
	struct sealed_file f, good;
	struct buf doc = {0};
	char ops[32], mem[32];
	const char *values[M_COUNT];
	unsigned char zero[64] = {0};
	char *salt, *check, *nonce, *ct, *bad_salt[2], *short_check, *short_nonce, *short_ct;
	int m;

	parse_ok(fx->sealed.data, fx->sealed.len, &good);
	snprintf(ops, sizeof ops, "%llu", good.params.opslimit);
	snprintf(mem, sizeof mem, "%zu", good.params.memlimit);
	salt = b64_json(good.params.salt, SEALED_SALT_BYTES);
	check = b64_json(good.params.check, SEALED_CHECK_BYTES);
	nonce = b64_json(good.nonce, SEALED_NONCE_BYTES);
	ct = b64_json(good.ciphertext, good.ciphertext_len);
	bad_salt[0] = b64_json(zero, SEALED_SALT_BYTES - 1);
	bad_salt[1] = b64_json(zero, SEALED_SALT_BYTES + 1);
	short_check = b64_json(zero, SEALED_CHECK_BYTES - 1);
	short_nonce = b64_json(zero, SEALED_NONCE_BYTES - 1);
	short_ct = b64_json(zero, crypto_aead_xchacha20poly1305_ietf_ABYTES - 1);

	/* The control: these parts put together are the document as sealed. */
	values[M_KDF] = "\"argon2id13\"";
	values[M_OPS] = ops;
	values[M_MEM] = mem;
	values[M_SALT] = salt;
	values[M_CHECK] = check;
	values[M_NONCE] = nonce;
	values[M_CT] = ct;
	render_doc(&doc, "1", values);
	assert_int_equal(doc.len, fx->sealed.len);
	assert_memory_equal(doc.data, fx->sealed.data, doc.len);
	parse_ok(doc.data, doc.len, &f);
	sealed_file_free(&f);

	for (m = 0; m < M_COUNT; m++)
		refuse_with(&doc, values, m, NULL, member_names[m]);
	refuse_with(&doc, values, M_KDF, "\"argon2i13\"", "another kdf");
	refuse_with(&doc, values, M_KDF, "7", "a kdf that is not a string");
	refuse_with(&doc, values, M_OPS, "0", "opslimit 0");
	refuse_with(&doc, values, M_OPS, "\"1\"", "opslimit as a string");
	refuse_with(&doc, values, M_OPS, "-1", "a negative opslimit");
	refuse_with(&doc, values, M_OPS, "1e30", "an absurd opslimit");
	refuse_with(&doc, values, M_MEM, "1024", "memlimit under the minimum");
	refuse_with(&doc, values, M_MEM, "1e30", "an absurd memlimit");
	refuse_with(&doc, values, M_SALT, bad_salt[0], "a short salt");
	refuse_with(&doc, values, M_SALT, bad_salt[1], "a long salt");
	refuse_with(&doc, values, M_SALT, "\"not base64!\"", "a salt that is not base64");
	refuse_with(&doc, values, M_CHECK, short_check, "a short check");
	refuse_with(&doc, values, M_NONCE, short_nonce, "a short nonce");
	refuse_with(&doc, values, M_NONCE, "null", "a null nonce");
	refuse_with(&doc, values, M_CT, short_ct, "a ciphertext shorter than its tag");
	refuse_with(&doc, values, M_CT, "\"\"", "an empty ciphertext");
	render_doc(&doc, NULL, values);
	parse_refused(doc.data, doc.len, "no version");
	render_doc(&doc, "2", values);
	parse_refused(doc.data, doc.len, "version 2");
	render_doc(&doc, "\"1\"", values);
	parse_refused(doc.data, doc.len, "a version that is a string");
	parse_refused("{\"version\":1,\"sealed\":\"x\"}\n", 26, "sealed that is not an object");
	parse_refused("{\"version\":1,\"keys\":{}}\n", 24, "a plain keystore");
	parse_refused("[]", 2, "an array");
	parse_refused("", 0, "nothing");

	buf_free(&doc);
	sealed_file_free(&good);
	free(salt);
	free(check);
	free(nonce);
	free(ct);
	free(bad_salt[0]);
	free(bad_salt[1]);
	free(short_check);
	free(short_nonce);
	free(short_ct);
}

static void
test_parse_refuses_every_truncation(void **state)
{
	struct fixture *fx = *state;
	char what[64];
	size_t len;

	/* Every length short of the whole file (the final newline included). */
	for (len = 0; len < fx->sealed.len; len++) {
		snprintf(what, sizeof what, "the first %zu of %zu bytes", len, fx->sealed.len);
		parse_refused(fx->sealed.data, len, what);
	}
}

static void
test_parse_refuses_text_after_the_document(void **state)
{
	struct fixture *fx = *state;
	struct buf doc = {0};

	buf_add(&doc, fx->sealed.data, fx->sealed.len);
	buf_adds(&doc, "{}");
	parse_refused(doc.data, doc.len, "a document followed by another");
	buf_free(&doc);
}

static void
test_error_messages_never_contain_the_document(void **state)
{
	struct fixture *fx = *state;
	unsigned char wrong[SEALED_KEY_BYTES] = {0};
	struct sealed_file f;
	struct buf plain = {0};
	char err[512] = "";

	parse_ok(fx->sealed.data, fx->sealed.len, &f);
	assert_int_equal(sealed_open(wrong, &f, &plain, err, sizeof err), -1);
	assert_null(strstr(err, "csk-test"));
	assert_null(strstr(err, PASS));
	buf_free(&plain);
	sealed_file_free(&f);
}

/* The fixture's document sealed again at generation gen, into out. */
static void
seal_at(struct fixture *fx, unsigned long long gen, struct buf *out)
{
	struct sealed_params p = fx->params;

	p.generation = gen;
	buf_clear(out);
	sealed_seal(fx->key, &p, DOC, strlen(DOC), out);
}

/* text with the first from replaced by to (which must be there), in out. */
static void
replace_once(const struct buf *text, const char *from, const char *to, struct buf *out)
{
	const char *at = strstr(text->data, from);

	assert_non_null(at);
	buf_clear(out);
	buf_add(out, text->data, (size_t)(at - text->data));
	buf_adds(out, to);
	buf_adds(out, at + strlen(from));
}

/* Parse text (which must succeed) and try to open it with fx's key; returns sealed_open's result. */
static int
parse_and_open(struct fixture *fx, const struct buf *text, unsigned long long *gen)
{
	struct buf plain = {0};
	struct sealed_file f;
	char err[256];
	int rc;

	parse_ok(text->data, text->len, &f);
	*gen = f.params.generation;
	rc = sealed_open(fx->key, &f, &plain, err, sizeof err);
	if (rc == 0)
		assert_string_equal(plain.data, DOC);
	buf_free(&plain);
	sealed_file_free(&f);
	return rc;
}

static void
test_a_file_without_a_generation_is_generation_0_and_opens(void **state)
{
	struct fixture *fx = *state;
	unsigned long long gen = 99;

	assert_null(strstr(fx->sealed.data, "generation"));
	assert_int_equal(parse_and_open(fx, &fx->sealed, &gen), 0);
	assert_int_equal(gen, 0);
}

static void
test_the_generation_is_written_in_the_header_and_read_back(void **state)
{
	struct fixture *fx = *state;
	struct buf doc = {0};
	unsigned long long gen = 0;

	seal_at(fx, 7, &doc);
	assert_non_null(strstr(doc.data, "\"kdf\":\"argon2id13\",\"generation\":7,\"opslimit\""));
	assert_int_equal(parse_and_open(fx, &doc, &gen), 0);
	assert_int_equal(gen, 7);
	seal_at(fx, SEALED_GENERATION_MAX, &doc);
	assert_int_equal(parse_and_open(fx, &doc, &gen), 0);
	assert_int_equal(gen, SEALED_GENERATION_MAX);
	buf_free(&doc);
}

static void
test_changing_or_removing_the_generation_breaks_open(void **state)
{
	struct fixture *fx = *state;
	struct buf doc = {0}, changed = {0};
	unsigned long long gen;
	struct sealed_file f;
	struct buf plain = {0};
	char err[256];
	static const unsigned long long others[] = {0, 1, 6, 8, 700};
	size_t i;

	seal_at(fx, 7, &doc);
	/* In the parsed header: any other generation, 0 (the form without one) too. */
	for (i = 0; i < sizeof others / sizeof *others; i++) {
		parse_ok(doc.data, doc.len, &f);
		f.params.generation = others[i];
		if (sealed_open(fx->key, &f, &plain, err, sizeof err) != -1)
			fail_msg("generation 7 changed to %llu still opens", others[i]);
		sealed_file_free(&f);
	}
	/* In the text: a newer number parses (it is canonical) and fails to open. */
	replace_once(&doc, "\"generation\":7,", "\"generation\":8,", &changed);
	assert_int_equal(parse_and_open(fx, &changed, &gen), -1);
	assert_int_equal(gen, 8);
	/* Without the member it reads as a file from before generations, and fails to open. */
	replace_once(&doc, "\"generation\":7,", "", &changed);
	assert_int_equal(parse_and_open(fx, &changed, &gen), -1);
	assert_int_equal(gen, 0);
	/* And a file from before generations cannot be given one. */
	replace_once(&fx->sealed, "\"opslimit\"", "\"generation\":9,\"opslimit\"", &changed);
	assert_int_equal(parse_and_open(fx, &changed, &gen), -1);
	buf_free(&plain);
	buf_free(&changed);
	buf_free(&doc);
}

static void
test_parse_refuses_a_generation_that_no_seal_writes(void **state)
{
	struct fixture *fx = *state;
	struct buf doc = {0}, changed = {0};
	static const char *const bad[] = {
	    "\"generation\":0,",  "\"generation\":-1,", "\"generation\":1.5,",
	    "\"generation\":\"7\",", "\"generation\":null,", "\"generation\":7e0,",
	    "\"generation\":07,", "\"generation\":9007199254740992,",
	};
	size_t i;

	seal_at(fx, 7, &doc);
	for (i = 0; i < sizeof bad / sizeof *bad; i++) {
		replace_once(&doc, "\"generation\":7,", bad[i], &changed);
		parse_refused(changed.data, changed.len, bad[i]);
	}
	buf_free(&changed);
	buf_free(&doc);
}

static void
test_limits_below_the_floor_are_refused_with_a_message(void **state)
{
	struct sealed_params min, interactive, moderate, mixed;
	char err[512] = "";

	(void)state;
	assert_int_equal(sealed_init(), 0);
	sealed_params_new(&min, SEALED_LIMITS_MIN);
	sealed_params_new(&interactive, SEALED_LIMITS_INTERACTIVE);
	sealed_params_new(&moderate, SEALED_LIMITS_MODERATE);
	assert_int_equal(sealed_check_limits(&min, SEALED_LIMITS_MIN, err, sizeof err), 0);
	assert_int_equal(sealed_check_limits(&interactive, SEALED_LIMITS_INTERACTIVE, err, sizeof err),
			 0);
	assert_int_equal(sealed_check_limits(&moderate, SEALED_LIMITS_INTERACTIVE, err, sizeof err),
			 0);
	assert_int_equal(sealed_check_limits(&min, SEALED_LIMITS_INTERACTIVE, err, sizeof err), -1);
	assert_non_null(strstr(err, "too weak"));
	assert_non_null(strstr(err, "test build"));
	/* Each limit counts on its own. */
	mixed = moderate;
	mixed.memlimit = crypto_pwhash_MEMLIMIT_INTERACTIVE - 1024;
	assert_int_equal(sealed_check_limits(&mixed, SEALED_LIMITS_INTERACTIVE, err, sizeof err), -1);
	mixed = moderate;
	mixed.opslimit = crypto_pwhash_OPSLIMIT_INTERACTIVE - 1;
	assert_int_equal(sealed_check_limits(&mixed, SEALED_LIMITS_INTERACTIVE, err, sizeof err), -1);
	assert_int_equal(sealed_check_limits(&interactive, SEALED_LIMITS_MODERATE, err, sizeof err),
			 -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_seal_then_open_gives_back_the_document, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(
	        test_open_appends_to_the_buffer_and_keeps_it_nul_terminated, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_an_empty_document_seals_and_opens, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(
	        test_open_with_a_wrong_key_fails_saying_changed_or_damaged, setup, teardown),
	    cmocka_unit_test_setup_teardown(
	        test_derive_then_verify_accepts_the_passphrase_and_gives_the_same_key, setup,
	        teardown),
	    cmocka_unit_test_setup_teardown(
	        test_derive_with_a_wrong_passphrase_returns_minus_two_and_wipes_the_key, setup,
	        teardown),
	    cmocka_unit_test_setup_teardown(test_the_key_check_depends_on_salt_and_limits, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(
	        test_set_check_stores_a_check_that_differs_per_passphrase, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_every_header_field_change_breaks_open, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_each_seal_uses_a_fresh_nonce, setup, teardown),
	    cmocka_unit_test(test_params_new_gives_the_limits_of_each_level_and_a_fresh_salt),
	    cmocka_unit_test_setup_teardown(
	        test_parse_refuses_missing_short_and_out_of_range_fields, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_parse_refuses_every_truncation, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_parse_refuses_text_after_the_document, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_error_messages_never_contain_the_document, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(
	        test_a_file_without_a_generation_is_generation_0_and_opens, setup, teardown),
	    cmocka_unit_test_setup_teardown(
	        test_the_generation_is_written_in_the_header_and_read_back, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_changing_or_removing_the_generation_breaks_open,
	                                    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_parse_refuses_a_generation_that_no_seal_writes,
	                                    setup, teardown),
	    cmocka_unit_test(test_limits_below_the_floor_are_refused_with_a_message),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
