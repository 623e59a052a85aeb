/*
 * Unit tests for the keystore file's identity (daemon/keyfile.c): the one
 * admission rule — sealed stays sealed, never rolled back — and the
 * generation each write takes, for every reader, without a daemon.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "keyfile.h"
#include "keystore.h"

/* A keyfile for a keystore at a path nobody reads, its record sealed at generation or none. */
static void
keyfile_with(struct keyfile *f, bool sealed, unsigned long long generation)
{
	keyfile_init(f, "/nonexistent/keys.json");
	/* An unlock's keyfile_opened is how a record becomes sealed without reading one. */
	if (sealed)
		keyfile_opened(f, generation);
}

/* Sealed params with the default limits and generation g. */
static struct sealed_params
params_at(unsigned long long g)
{
	struct sealed_params p;

	sealed_params_new(&p, SEALED_LIMITS_MODERATE);
	p.generation = g;
	return p;
}

static void
test_a_plain_or_missing_file_is_refused_while_sealed(void **unused)
{
	struct keyfile f;
	struct keyfile_doc plain = {.form = KS_FORM_V1}, missing = {.form = KS_FORM_EMPTY};
	char err[1024];

	(void)unused;
	keyfile_with(&f, true, 3);
	assert_int_equal(
	    keyfile_admit(&f, keyfile_record(&f), true, &plain, KEYFILE_LOAD, err, sizeof err), -1);
	assert_non_null(strstr(err, "is plain, but it is sealed"));
	assert_int_equal(
	    keyfile_admit(&f, keyfile_record(&f), true, &missing, KEYFILE_LOAD, err, sizeof err),
	    -1);
	assert_non_null(strstr(err, "is missing, but it is sealed"));
	/* Not sealed (a passphrase remove): the plain file is the keystore. */
	assert_int_equal(
	    keyfile_admit(&f, keyfile_record(&f), false, &plain, KEYFILE_LOAD, err, sizeof err),
	    0);
}

static void
test_an_older_sealed_file_is_refused_by_every_reader(void **unused)
{
	struct keyfile f;
	struct sealed_params older = params_at(4), same = params_at(5), newer = params_at(9);
	struct keyfile_doc doc = {.form = KS_FORM_SEALED};
	char err[1024];

	(void)unused;
	keyfile_with(&f, true, 5);
	doc.params = &older;
	assert_int_equal(
	    keyfile_admit(&f, keyfile_record(&f), true, &doc, KEYFILE_LOAD, err, sizeof err), -1);
	assert_non_null(strstr(err, "older than generation 5"));
	assert_int_equal(
	    keyfile_admit(&f, keyfile_record(&f), true, &doc, KEYFILE_UNLOCK, err, sizeof err),
	    -1);
	assert_non_null(strstr(err, "an older sealed copy (generation 4"));
	doc.params = &same;
	assert_int_equal(
	    keyfile_admit(&f, keyfile_record(&f), true, &doc, KEYFILE_UNLOCK, err, sizeof err), 0);
	doc.params = &newer;
	assert_int_equal(
	    keyfile_admit(&f, keyfile_record(&f), false, &doc, KEYFILE_LOAD, err, sizeof err), 0);
}

static void
test_a_sealed_file_with_weak_limits_is_refused(void **unused)
{
	struct keyfile f;
	struct sealed_params weak;
	struct keyfile_doc doc = {.form = KS_FORM_SEALED, .params = &weak};
	char err[1024];

	(void)unused;
	keyfile_with(&f, false, 0);
	sealed_params_new(&weak, SEALED_LIMITS_MIN);
	assert_int_equal(
	    keyfile_admit(&f, keyfile_record(&f), false, &doc, KEYFILE_LOAD, err, sizeof err), -1);
	assert_non_null(strstr(err, "too weak"));
	assert_non_null(strstr(err, ".weak"));
}

static void
test_every_write_once_sealed_takes_the_next_generation(void **unused)
{
	struct keyfile never, sealed, unsealed;
	struct seal_record next;

	(void)unused;
	keyfile_with(&never, false, 0);
	next = keyfile_next_record(&never, false);
	assert_false(next.sealed);
	assert_int_equal(next.generation, 0); /* never sealed: no record, no generation */
	next = keyfile_next_record(&never, true);
	assert_true(next.sealed);
	assert_int_equal(next.generation, 1);

	keyfile_with(&sealed, true, 7);
	next = keyfile_next_record(&sealed, true);
	assert_int_equal(next.generation, 8);
	next = keyfile_next_record(&sealed, false); /* the remove takes one too */
	assert_false(next.sealed);
	assert_int_equal(next.generation, 8);

	keyfile_with(&unsealed, true, 8);
	keyfile_written(&unsealed, &next); /* plain now, at 8: plain writes go on counting */
	assert_int_equal(keyfile_next_record(&unsealed, false).generation, 9);
}

static void
test_a_file_changed_by_another_program_is_noticed(void **unused)
{
	char path[] = "/tmp/test_keyfile.XXXXXX";
	struct keyfile f;
	struct stat st;
	int fd = mkstemp(path);

	(void)unused;
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "{}", 2), 2);
	assert_int_equal(fstat(fd, &st), 0);
	keyfile_init(&f, path);
	keyfile_set_disk(&f, &st);
	assert_true(keyfile_unchanged(&f));
	assert_int_equal(write(fd, "\n", 1), 1);
	assert_false(keyfile_unchanged(&f));
	close(fd);
	unlink(path);
	assert_false(keyfile_unchanged(&f)); /* gone, but recorded as there */
	keyfile_set_disk(&f, NULL);
	assert_true(keyfile_unchanged(&f));
}

/* Write a small file at path, replacing it by rename as the daemon does. */
static void
put(const char *path)
{
	char tmp[1100];
	FILE *fp;

	snprintf(tmp, sizeof tmp, "%s.tmp", path);
	fp = fopen(tmp, "w");
	assert_non_null(fp);
	fputs("{}\n", fp);
	fclose(fp);
	assert_int_equal(rename(tmp, path), 0);
}

/*
 * A first passphrase set stopped between its record and its file leaves the
 * record no older than the plain keystore (the same file time too: times move
 * in ticks); a plain file put in later is newer than the record.
 */
static void
test_a_stopped_first_seal_is_told_from_a_plain_file_put_in_later(void **unused)
{
	char dir[] = "/tmp/test_keyfile.XXXXXX", keys[1024], record[1100];
	struct keyfile f;

	(void)unused;
	assert_non_null(mkdtemp(dir));
	snprintf(keys, sizeof keys, "%s/keys", dir);
	snprintf(record, sizeof record, "%s/keys.seal", dir);
	keyfile_init(&f, keys);
	keyfile_opened(&f, 1); /* the record says sealed */
	/* One inode under both names: the very same ctime. */
	put(keys);
	assert_int_equal(link(keys, record), 0);
	assert_true(keyfile_seal_interrupted(&f));
	/* The record written later. */
	assert_int_equal(unlink(record), 0);
	usleep(20000);
	put(record);
	assert_true(keyfile_seal_interrupted(&f));
	/* A plain file put in after the record. */
	usleep(20000);
	put(keys);
	assert_false(keyfile_seal_interrupted(&f));
	/* Not sealed, or no keystore file: nothing to tell. */
	unlink(keys);
	assert_false(keyfile_seal_interrupted(&f));
	unlink(record);
	rmdir(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_a_plain_or_missing_file_is_refused_while_sealed),
		cmocka_unit_test(test_an_older_sealed_file_is_refused_by_every_reader),
		cmocka_unit_test(test_a_sealed_file_with_weak_limits_is_refused),
		cmocka_unit_test(test_every_write_once_sealed_takes_the_next_generation),
		cmocka_unit_test(test_a_file_changed_by_another_program_is_noticed),
		cmocka_unit_test(test_a_stopped_first_seal_is_told_from_a_plain_file_put_in_later),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
