/*
 * Sealing and opening the keystore with libsodium. The associated data is a
 * canonical rendering of the header, so changing any header field — the
 * generation, limits, salt, key check — makes the file fail to open rather
 * than weakening it or passing an old copy off as new. A file with a
 * generation has associated data of its own form, so removing the member to
 * pose as a file from before generations fails too.
 */
#include "sealed.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#define KDF_NAME "argon2id13"
#define CHECK_LABEL "ccr-keyd sealed keystore key check v1"
#define B64 sodium_base64_VARIANT_ORIGINAL

int
sealed_init(void)
{
	return sodium_init() < 0 ? -1 : 0;
}

/* The Argon2id limits of a level. */
static void
level_limits(enum sealed_limits level, unsigned long long *ops, size_t *mem)
{
	switch (level) {
	case SEALED_LIMITS_MIN:
		*ops = crypto_pwhash_OPSLIMIT_MIN;
		*mem = crypto_pwhash_MEMLIMIT_MIN;
		break;
	case SEALED_LIMITS_INTERACTIVE:
		*ops = crypto_pwhash_OPSLIMIT_INTERACTIVE;
		*mem = crypto_pwhash_MEMLIMIT_INTERACTIVE;
		break;
	default:
		*ops = crypto_pwhash_OPSLIMIT_MODERATE;
		*mem = crypto_pwhash_MEMLIMIT_MODERATE;
	}
}

void
sealed_params_new(struct sealed_params *p, enum sealed_limits level)
{
	memset(p, 0, sizeof *p);
	level_limits(level, &p->opslimit, &p->memlimit);
	randombytes_buf(p->salt, sizeof p->salt);
}

int
sealed_check_limits(const struct sealed_params *p, enum sealed_limits floor, char *err,
		    size_t errsize)
{
	unsigned long long ops;
	size_t mem;

	level_limits(floor, &ops, &mem);
	if (p->opslimit >= ops && p->memlimit >= mem)
		return 0;
	snprintf(err, errsize,
		 "the sealed keystore's key derivation is too weak (Argon2id opslimit %llu, "
		 "memlimit %zu KiB; at least %llu and %zu KiB are accepted): it was sealed by a "
		 "test build of ccr-keyd, or made to be guessed fast",
		 p->opslimit, p->memlimit / 1024, ops, mem / 1024);
	return -1;
}

/* Append bin as base64. */
static void
add_b64(struct buf *b, const unsigned char *bin, size_t len)
{
	size_t n = sodium_base64_ENCODED_LEN(len, B64);

	buf_reserve(b, n);
	sodium_bin2base64(b->data + b->len, n, bin, len, B64);
	b->len += n - 1;
}

/* Render the header as the associated data. */
static void
header_ad(const struct sealed_params *p, struct buf *ad)
{
	char nums[64];

	if (p->generation > 0) {
		snprintf(nums, sizeof nums, "ccr-keyd/sealed/1+generation|%llu|", p->generation);
		buf_adds(ad, nums);
		buf_adds(ad, KDF_NAME "|");
	} else {
		buf_adds(ad, "ccr-keyd/sealed/1|" KDF_NAME "|");
	}
	snprintf(nums, sizeof nums, "%llu|%zu|", p->opslimit, p->memlimit);
	buf_adds(ad, nums);
	add_b64(ad, p->salt, sizeof p->salt);
	buf_addc(ad, '|');
	add_b64(ad, p->check, sizeof p->check);
}

/* Decode a base64 member of exactly want bytes (want 0: any length, malloc'd into *out). */
static int
get_b64(const cJSON *obj, const char *key, unsigned char *fixed, size_t want, unsigned char **out,
	size_t *outlen)
{
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(obj, key);
	size_t len, bin_len;
	unsigned char *dst;

	if (!cJSON_IsString(m))
		return -1;
	len = strlen(m->valuestring);
	dst = want ? fixed : malloc(len / 4 * 3 + 3);
	if (dst == NULL)
		return -1;
	if (sodium_base642bin(dst, want ? want : len / 4 * 3 + 3, m->valuestring, len, NULL,
			      &bin_len, NULL, B64) != 0 ||
	    (want && bin_len != want)) {
		if (!want)
			free(dst);
		return -1;
	}
	if (!want) {
		*out = dst;
		*outlen = bin_len;
	}
	return 0;
}

/* Append the sealed document for f, exactly as every seal writes it. */
static void
render(const struct sealed_file *f, struct buf *out)
{
	char nums[64];

	buf_adds(out, "{\"version\":1,\"sealed\":{\"kdf\":\"" KDF_NAME "\",");
	if (f->params.generation > 0) {
		snprintf(nums, sizeof nums, "\"generation\":%llu,", f->params.generation);
		buf_adds(out, nums);
	}
	snprintf(nums, sizeof nums, "\"opslimit\":%llu,\"memlimit\":%zu", f->params.opslimit,
		 f->params.memlimit);
	buf_adds(out, nums);
	buf_adds(out, ",\"salt\":\"");
	add_b64(out, f->params.salt, sizeof f->params.salt);
	buf_adds(out, "\",\"check\":\"");
	add_b64(out, f->params.check, sizeof f->params.check);
	buf_adds(out, "\",\"nonce\":\"");
	add_b64(out, f->nonce, sizeof f->nonce);
	buf_adds(out, "\",\"ciphertext\":\"");
	add_b64(out, f->ciphertext, f->ciphertext_len);
	buf_adds(out, "\"}}\n");
}

int
sealed_parse(const char *text, size_t len, struct sealed_file *f, char *err, size_t errsize)
{
	struct buf canon = {0};

	cJSON *doc = cJSON_ParseWithLength(text, len);
	const cJSON *s, *kdf, *ops, *mem, *ver, *gen;
	int rc = -1;

	memset(f, 0, sizeof *f);
	s = cJSON_GetObjectItemCaseSensitive(doc, "sealed");
	ver = cJSON_GetObjectItemCaseSensitive(doc, "version");
	kdf = cJSON_GetObjectItemCaseSensitive(s, "kdf");
	ops = cJSON_GetObjectItemCaseSensitive(s, "opslimit");
	mem = cJSON_GetObjectItemCaseSensitive(s, "memlimit");
	gen = cJSON_GetObjectItemCaseSensitive(s, "generation");
	if (!cJSON_IsObject(s) || !cJSON_IsNumber(ver) || ver->valuedouble != 1) {
		snprintf(err, errsize, "not a sealed keystore of version 1 (truncated or damaged?)");
		goto done;
	}
	if (!cJSON_IsString(kdf) || strcmp(kdf->valuestring, KDF_NAME) != 0 ||
	    !cJSON_IsNumber(ops) || !cJSON_IsNumber(mem) ||
	    ops->valuedouble < crypto_pwhash_OPSLIMIT_MIN ||
	    ops->valuedouble > crypto_pwhash_OPSLIMIT_SENSITIVE * 4.0 ||
	    mem->valuedouble < crypto_pwhash_MEMLIMIT_MIN ||
	    mem->valuedouble > crypto_pwhash_MEMLIMIT_SENSITIVE * 4.0) {
		snprintf(err, errsize, "the sealed keystore's key derivation header is damaged");
		goto done;
	}
	if (gen != NULL && (!cJSON_IsNumber(gen) || gen->valuedouble < 1 ||
			    gen->valuedouble > (double)SEALED_GENERATION_MAX ||
			    gen->valuedouble != (double)(unsigned long long)gen->valuedouble)) {
		snprintf(err, errsize, "the sealed keystore's generation is damaged");
		goto done;
	}
	f->params.generation = gen != NULL ? (unsigned long long)gen->valuedouble : 0;
	f->params.opslimit = (unsigned long long)ops->valuedouble;
	f->params.memlimit = (size_t)mem->valuedouble;
	if (get_b64(s, "salt", f->params.salt, sizeof f->params.salt, NULL, NULL) == -1 ||
	    get_b64(s, "check", f->params.check, sizeof f->params.check, NULL, NULL) == -1 ||
	    get_b64(s, "nonce", f->nonce, sizeof f->nonce, NULL, NULL) == -1 ||
	    get_b64(s, "ciphertext", NULL, 0, &f->ciphertext, &f->ciphertext_len) == -1 ||
	    f->ciphertext_len < crypto_aead_xchacha20poly1305_ietf_ABYTES) {
		sealed_file_free(f);
		snprintf(err, errsize, "the sealed keystore is truncated or damaged");
		goto done;
	}
	/*
	 * Only the exact bytes a seal writes are accepted: JSON leaves room for
	 * whitespace, escapes and key order that the authentication does not cover.
	 */
	render(f, &canon);
	if (canon.len != len || memcmp(canon.data, text, len) != 0) {
		sealed_file_free(f);
		snprintf(err, errsize, "the sealed keystore was changed or damaged (it is not in the "
				       "form ccr-keyd writes)");
		goto done;
	}
	rc = 0;
done:
	buf_free(&canon);
	cJSON_Delete(doc);
	return rc;
}

void
sealed_file_free(struct sealed_file *f)
{
	free(f->ciphertext);
	f->ciphertext = NULL;
	f->ciphertext_len = 0;
}

int
sealed_derive(const char *passphrase, size_t len, struct sealed_params *p,
	      unsigned char key[SEALED_KEY_BYTES], bool set_check)
{
	unsigned char check[SEALED_CHECK_BYTES];

	if (crypto_pwhash(key, SEALED_KEY_BYTES, passphrase, len, p->salt, p->opslimit,
			  p->memlimit, crypto_pwhash_ALG_ARGON2ID13) != 0)
		return -1;
	crypto_generichash(check, sizeof check, (const unsigned char *)CHECK_LABEL,
			   sizeof CHECK_LABEL - 1, key, SEALED_KEY_BYTES);
	if (set_check) {
		memcpy(p->check, check, sizeof check);
		return 0;
	}
	if (sodium_memcmp(check, p->check, sizeof check) != 0) {
		sodium_memzero(key, SEALED_KEY_BYTES);
		return -2;
	}
	return 0;
}

int
sealed_open(const unsigned char key[SEALED_KEY_BYTES], const struct sealed_file *f,
	    struct buf *plain, char *err, size_t errsize)
{
	struct buf ad = {0};
	unsigned long long n = 0;
	size_t max = f->ciphertext_len - crypto_aead_xchacha20poly1305_ietf_ABYTES;
	int rc;

	header_ad(&f->params, &ad);
	buf_reserve(plain, max + 1);
	rc = crypto_aead_xchacha20poly1305_ietf_decrypt(
		(unsigned char *)plain->data + plain->len, &n, NULL, f->ciphertext,
		f->ciphertext_len, (const unsigned char *)ad.data, ad.len, f->nonce, key);
	buf_free(&ad);
	if (rc != 0) {
		snprintf(err, errsize, "the sealed keystore fails authentication: it was changed or "
				       "damaged since it was written");
		return -1;
	}
	plain->len += (size_t)n;
	plain->data[plain->len] = '\0';
	return 0;
}

void
sealed_seal(const unsigned char key[SEALED_KEY_BYTES], const struct sealed_params *p,
	    const char *plain, size_t len, struct buf *out)
{
	struct sealed_file f = {.params = *p};
	unsigned long long ctlen = 0;
	struct buf ad = {0};

	randombytes_buf(f.nonce, sizeof f.nonce);
	header_ad(p, &ad);
	f.ciphertext = malloc(len + crypto_aead_xchacha20poly1305_ietf_ABYTES);
	if (f.ciphertext == NULL)
		abort();
	crypto_aead_xchacha20poly1305_ietf_encrypt(f.ciphertext, &ctlen,
						   (const unsigned char *)plain, len,
						   (const unsigned char *)ad.data, ad.len, NULL,
						   f.nonce, key);
	f.ciphertext_len = (size_t)ctlen;
	buf_free(&ad);
	render(&f, out);
	sealed_file_free(&f);
}
