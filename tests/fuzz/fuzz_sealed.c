/*
 * libFuzzer target: the sealed keystore loader, fed any file contents. Parse
 * the envelope, then open it with a fixed key (the key the seed corpus was
 * sealed with). Whatever parses must have its ciphertext and fields as
 * promised (a generation in range); whatever opens must seal again, at the
 * same generation, and open to the same document; a failed open must leave
 * the output buffer as it was.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "buf.h"
#include "sealed.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The seed corpus's key: bytes 0, 1, …, 31. */
static unsigned char key[SEALED_KEY_BYTES];

/* Seal plain again under f's header and check that it opens to the same bytes. */
static void
reseal_round_trip(const struct sealed_file *f, const struct buf *plain)
{
	struct buf again = {0}, back = {0};
	struct sealed_file g;
	char err[256];

	sealed_seal(key, &f->params, plain->data, plain->len, &again);
	if (sealed_parse(again.data, again.len, &g, err, sizeof err) != 0)
		abort();
	if (memcmp(g.nonce, f->nonce, SEALED_NONCE_BYTES) == 0)
		abort(); /* a fresh nonce every time */
	if (g.params.generation != f->params.generation)
		abort(); /* the generation is kept as sealed */
	if (sealed_open(key, &g, &back, err, sizeof err) != 0 || back.len != plain->len ||
	    memcmp(back.data, plain->data, plain->len) != 0)
		abort();
	sealed_file_free(&g);
	buf_free(&again);
	buf_free(&back);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	struct sealed_file f;
	struct buf plain = {0};
	char err[512];
	size_t i;

	if (!ready) {
		if (sealed_init() != 0)
			abort();
		for (i = 0; i < sizeof key; i++)
			key[i] = (unsigned char)i;
		ready = 1;
	}
	err[0] = '\0';
	if (sealed_parse((const char *)data, size, &f, err, sizeof err) != 0) {
		if (err[0] == '\0' || f.ciphertext != NULL)
			abort(); /* a refusal says why and holds nothing */
		return 0;
	}
	if (f.ciphertext == NULL || f.ciphertext_len < crypto_aead_xchacha20poly1305_ietf_ABYTES ||
	    f.params.opslimit < crypto_pwhash_OPSLIMIT_MIN ||
	    f.params.memlimit < crypto_pwhash_MEMLIMIT_MIN ||
	    f.params.generation > SEALED_GENERATION_MAX)
		abort();
	buf_adds(&plain, "kept");
	if (sealed_open(key, &f, &plain, err, sizeof err) == 0) {
		struct buf doc = {plain.data + 4, plain.len - 4, plain.cap - 4};

		if (memcmp(plain.data, "kept", 4) != 0 || plain.data[plain.len] != '\0')
			abort();
		reseal_round_trip(&f, &doc);
	} else if (plain.len != 4 || memcmp(plain.data, "kept", 4) != 0 || err[0] == '\0') {
		abort();
	}
	buf_free(&plain);
	sealed_file_free(&f);
	return 0;
}
