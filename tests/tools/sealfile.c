/*
 * sealfile: seal a keystore document the way ccr-keyd does, for the
 * integration tests that need a sealed file the daemon did not write: one
 * from before generations (generation 0), or one of a chosen generation.
 *
 *   sealfile PASSPHRASE GENERATION <plain >sealed
 *
 * The passphrase comes from argv because this is a test tool and every
 * passphrase it sees is a test one. The key is derived with Argon2id's
 * minimum limits, which only the test build of ccr-keyd accepts.
 * Exit status: 0 done, 2 usage or I/O error.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "sealed.h"

int
main(int argc, char **argv)
{
	unsigned char key[SEALED_KEY_BYTES];
	struct sealed_params p;
	struct buf in = {0}, out = {0};
	char *end;
	unsigned long long gen;
	size_t n;

	if (argc != 3 || sealed_init() != 0) {
		fputs("usage: sealfile PASSPHRASE GENERATION <plain >sealed\n", stderr);
		return 2;
	}
	gen = strtoull(argv[2], &end, 10);
	if (*argv[2] == '\0' || *end != '\0' || gen > SEALED_GENERATION_MAX) {
		fprintf(stderr, "sealfile: not a generation: %s\n", argv[2]);
		return 2;
	}
	do {
		buf_reserve(&in, 4096);
		n = fread(in.data + in.len, 1, in.cap - in.len - 1, stdin);
		in.len += n;
	} while (n > 0);
	sealed_params_new(&p, SEALED_LIMITS_MIN);
	p.generation = gen;
	if (sealed_derive(argv[1], strlen(argv[1]), &p, key, true) != 0) {
		fputs("sealfile: cannot derive the key\n", stderr);
		return 2;
	}
	sealed_seal(key, &p, in.data, in.len, &out);
	if (fwrite(out.data, 1, out.len, stdout) != out.len || fflush(stdout) != 0)
		return 2;
	buf_free(&in);
	buf_free(&out);
	return 0;
}
