/*
 * Unit tests for fileio.c: what fileio_read refuses, and what
 * fileio_write_atomic leaves behind when it succeeds and when it fails.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "buf.h"
#include "fileio.h"

/* Each test gets a fresh temporary directory. */
struct fixture {
	char dir[64];
	char path[256];
	char err[512];
	struct buf out;
};

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof *f);

	if (f == NULL)
		return -1;
	snprintf(f->dir, sizeof f->dir, "/tmp/ccr-test-fileio.XXXXXX");
	if (mkdtemp(f->dir) == NULL)
		return -1;
	snprintf(f->path, sizeof f->path, "%s/keys", f->dir);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[200];

	snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
	if (system(cmd) != 0)
		fprintf(stderr, "# could not remove %s\n", f->dir);
	buf_free(&f->out);
	free(f);
	return 0;
}

/* Create path with content s and exactly mode. */
static void
make_file(const char *path, const char *s, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, s, strlen(s)), (ssize_t)strlen(s));
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
}

/* The whole content of path, in a static buffer. */
static const char *
slurp(const char *path)
{
	static char data[4096];
	FILE *fp = fopen(path, "r");
	size_t n;

	assert_non_null(fp);
	n = fread(data, 1, sizeof data - 1, fp);
	data[n] = '\0';
	fclose(fp);
	return data;
}

/* How many entries, other than . and .., dir holds. */
static int
count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	assert_non_null(d);
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			n++;
	}
	closedir(d);
	return n;
}

/* ---- fileio_read ---- */

static void
test_read_returns_the_whole_file_and_its_status(void **state)
{
	struct fixture *f = *state;
	struct stat st;

	make_file(f->path, "{\"cerebras\":\"csk-test-0001\"}", 0600);
	assert_int_equal(fileio_read(f->path, 1, &f->out, &st, f->err, sizeof f->err), 0);
	assert_int_equal(f->out.len, 28);
	assert_string_equal(f->out.data, "{\"cerebras\":\"csk-test-0001\"}");
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(st.st_size, 28);
}

static void
test_read_of_a_large_file_keeps_every_byte(void **state)
{
	struct fixture *f = *state;
	size_t len = 300000, i;
	char *data = malloc(len);

	assert_non_null(data);
	for (i = 0; i < len; i++)
		data[i] = (char)('a' + i % 23);
	assert_int_equal(fileio_write_atomic(f->path, data, len, 0600, f->err, sizeof f->err), 0);
	assert_int_equal(fileio_read(f->path, 1, &f->out, NULL, f->err, sizeof f->err), 0);
	assert_int_equal(f->out.len, len);
	assert_memory_equal(f->out.data, data, len);
	assert_int_equal(f->out.data[len], '\0');
	free(data);
}

static void
test_read_of_an_empty_file_is_empty(void **state)
{
	struct fixture *f = *state;

	make_file(f->path, "", 0600);
	assert_int_equal(fileio_read(f->path, 1, &f->out, NULL, f->err, sizeof f->err), 0);
	assert_int_equal(f->out.len, 0);
}

static void
test_read_of_a_missing_file_returns_1(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(fileio_read(f->path, 1, &f->out, NULL, f->err, sizeof f->err), 1);
	assert_int_equal(f->out.len, 0);
}

static void
test_read_refuses_a_symlink_to_a_good_file(void **state)
{
	struct fixture *f = *state;
	char target[300];

	snprintf(target, sizeof target, "%s/real", f->dir);
	make_file(target, "{\"a\":\"csk-test-1\"}", 0600);
	assert_int_equal(symlink(target, f->path), 0);
	assert_int_equal(fileio_read(f->path, 1, &f->out, NULL, f->err, sizeof f->err), -1);
	assert_non_null(strstr(f->err, "symlink"));
	assert_int_equal(f->out.len, 0);
}

static void
test_read_refuses_a_dangling_symlink_rather_than_calling_it_missing(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(symlink("/nonexistent/ccr-test-target", f->path), 0);
	assert_int_equal(fileio_read(f->path, 1, &f->out, NULL, f->err, sizeof f->err), -1);
	assert_non_null(strstr(f->err, "symlink"));
}

static void
test_read_refuses_mode_0644_when_private(void **state)
{
	struct fixture *f = *state;

	make_file(f->path, "{\"a\":\"csk-test-1\"}", 0644);
	assert_int_equal(fileio_read(f->path, 1, &f->out, NULL, f->err, sizeof f->err), -1);
	assert_non_null(strstr(f->err, "chmod 600"));
	assert_non_null(strstr(f->err, "0644"));
	assert_int_equal(f->out.len, 0);
}

static void
test_read_refuses_any_group_or_other_bit_when_private(void **state)
{
	static const mode_t modes[] = {0640, 0620, 0610, 0604, 0602, 0601, 0660, 0666};
	struct fixture *f = *state;
	size_t i;

	for (i = 0; i < sizeof modes / sizeof modes[0]; i++) {
		make_file(f->path, "x", modes[i]);
		if (fileio_read(f->path, 1, &f->out, NULL, f->err, sizeof f->err) != -1)
			fail_msg("mode %04o was accepted as private", (unsigned)modes[i]);
	}
	make_file(f->path, "x", 0400);
	assert_int_equal(fileio_read(f->path, 1, &f->out, NULL, f->err, sizeof f->err), 0);
}

static void
test_read_accepts_mode_0644_when_not_private(void **state)
{
	struct fixture *f = *state;

	make_file(f->path, "{\"Providers\":[]}", 0644);
	assert_int_equal(fileio_read(f->path, 0, &f->out, NULL, f->err, sizeof f->err), 0);
	assert_string_equal(f->out.data, "{\"Providers\":[]}");
}

static void
test_read_refuses_a_directory(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(mkdir(f->path, 0700), 0);
	assert_int_equal(fileio_read(f->path, 1, &f->out, NULL, f->err, sizeof f->err), -1);
	assert_non_null(strstr(f->err, "not a regular file"));
}

static void
test_read_refuses_a_fifo_without_blocking(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(mkfifo(f->path, 0600), 0);
	assert_int_equal(fileio_read(f->path, 1, &f->out, NULL, f->err, sizeof f->err), -1);
	assert_non_null(strstr(f->err, "not a regular file"));
}

static void
test_read_refuses_a_file_owned_by_someone_else(void **state)
{
	struct fixture *f = *state;
	const char *path = f->path;

	if (geteuid() == 0) {
		make_file(f->path, "{}", 0600);
		assert_int_equal(chown(f->path, 65534, 65534), 0);
	} else {
		path = "/etc/passwd"; /* owned by root, readable by all */
	}
	assert_int_equal(fileio_read(path, 0, &f->out, NULL, f->err, sizeof f->err), -1);
	assert_non_null(strstr(f->err, "not by you"));
	assert_int_equal(f->out.len, 0);
}

/* ---- fileio_write_atomic ---- */

static void
test_write_creates_the_file_with_the_content_and_mode_0600(void **state)
{
	struct fixture *f = *state;
	struct stat st;
	mode_t old = umask(0);
	int rc = fileio_write_atomic(f->path, "csk-test-new", 12, 0600, f->err, sizeof f->err);

	umask(old);
	assert_int_equal(rc, 0);
	assert_int_equal(lstat(f->path, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_string_equal(slurp(f->path), "csk-test-new");
}

static void
test_write_replaces_the_content_entirely(void **state)
{
	struct fixture *f = *state;
	struct stat st;

	make_file(f->path, "{\"old\":\"csk-test-a-much-longer-old-value\"}", 0644);
	assert_int_equal(fileio_write_atomic(f->path, "{}", 2, 0600, f->err, sizeof f->err), 0);
	assert_string_equal(slurp(f->path), "{}");
	assert_int_equal(lstat(f->path, &st), 0);
	assert_int_equal(st.st_size, 2);
	assert_int_equal(st.st_mode & 07777, 0600);
}

static void
test_write_replaces_the_file_by_rename_not_in_place(void **state)
{
	struct fixture *f = *state;
	char keep[300];
	struct stat st;

	/* A hard link to the old file still sees the old content afterwards. */
	make_file(f->path, "old csk-test", 0600);
	snprintf(keep, sizeof keep, "%s/old", f->dir);
	assert_int_equal(link(f->path, keep), 0);
	assert_int_equal(
	    fileio_write_atomic(f->path, "new csk-test", 12, 0600, f->err, sizeof f->err), 0);
	assert_string_equal(slurp(keep), "old csk-test");
	assert_string_equal(slurp(f->path), "new csk-test");
	assert_int_equal(lstat(f->path, &st), 0);
	assert_int_equal(st.st_nlink, 1);
}

static void
test_write_leaves_no_temporary_file_in_the_directory(void **state)
{
	struct fixture *f = *state;
	int i;

	for (i = 0; i < 5; i++)
		assert_int_equal(
		    fileio_write_atomic(f->path, "csk-test", 8, 0600, f->err, sizeof f->err), 0);
	assert_int_equal(count_entries(f->dir), 1);
}

static void
test_write_of_zero_bytes_makes_an_empty_file(void **state)
{
	struct fixture *f = *state;
	struct stat st;

	make_file(f->path, "something", 0600);
	assert_int_equal(fileio_write_atomic(f->path, "", 0, 0600, f->err, sizeof f->err), 0);
	assert_int_equal(lstat(f->path, &st), 0);
	assert_int_equal(st.st_size, 0);
}

static void
test_write_replaces_a_symlink_without_touching_its_target(void **state)
{
	struct fixture *f = *state;
	char target[300];
	struct stat st;

	snprintf(target, sizeof target, "%s/target", f->dir);
	make_file(target, "untouched", 0600);
	assert_int_equal(symlink(target, f->path), 0);
	assert_int_equal(fileio_write_atomic(f->path, "csk-test", 8, 0600, f->err, sizeof f->err),
	                 0);
	assert_string_equal(slurp(target), "untouched");
	assert_int_equal(lstat(f->path, &st), 0);
	assert_true(S_ISREG(st.st_mode));
}

static void
test_write_into_a_missing_directory_fails_cleanly(void **state)
{
	struct fixture *f = *state;
	char path[300];

	snprintf(path, sizeof path, "%s/missing/keys", f->dir);
	errno = 0;
	f->err[0] = '\0';
	assert_int_equal(fileio_write_atomic(path, "csk-test", 8, 0600, f->err, sizeof f->err), -1);
	assert_int_equal(errno, ENOENT);
	assert_non_null(strstr(f->err, path));
	assert_int_equal(count_entries(f->dir), 0);
}

static void
test_write_that_fails_to_rename_leaves_the_old_path_and_no_temp(void **state)
{
	struct fixture *f = *state;
	char inner[300];

	/* A non-empty directory where the file should go: rename must fail. */
	assert_int_equal(mkdir(f->path, 0700), 0);
	snprintf(inner, sizeof inner, "%s/inner", f->path);
	make_file(inner, "kept", 0600);
	errno = 0;
	f->err[0] = '\0';
	assert_int_equal(fileio_write_atomic(f->path, "csk-test", 8, 0600, f->err, sizeof f->err),
	                 -1);
	assert_int_not_equal(errno, 0);
	assert_non_null(strstr(f->err, "rename"));
	assert_string_equal(slurp(inner), "kept");
	assert_int_equal(count_entries(f->dir), 1);
}

static void
test_written_file_reads_back_as_private(void **state)
{
	struct fixture *f = *state;
	const char *doc = "{\"version\":1,\"keys\":{}}\n";

	assert_int_equal(
	    fileio_write_atomic(f->path, doc, strlen(doc), 0600, f->err, sizeof f->err), 0);
	assert_int_equal(fileio_read(f->path, 1, &f->out, NULL, f->err, sizeof f->err), 0);
	assert_string_equal(f->out.data, doc);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	    T(test_read_returns_the_whole_file_and_its_status),
	    T(test_read_of_a_large_file_keeps_every_byte),
	    T(test_read_of_an_empty_file_is_empty),
	    T(test_read_of_a_missing_file_returns_1),
	    T(test_read_refuses_a_symlink_to_a_good_file),
	    T(test_read_refuses_a_dangling_symlink_rather_than_calling_it_missing),
	    T(test_read_refuses_mode_0644_when_private),
	    T(test_read_refuses_any_group_or_other_bit_when_private),
	    T(test_read_accepts_mode_0644_when_not_private),
	    T(test_read_refuses_a_directory),
	    T(test_read_refuses_a_fifo_without_blocking),
	    T(test_read_refuses_a_file_owned_by_someone_else),
	    T(test_write_creates_the_file_with_the_content_and_mode_0600),
	    T(test_write_replaces_the_content_entirely),
	    T(test_write_replaces_the_file_by_rename_not_in_place),
	    T(test_write_leaves_no_temporary_file_in_the_directory),
	    T(test_write_of_zero_bytes_makes_an_empty_file),
	    T(test_write_replaces_a_symlink_without_touching_its_target),
	    T(test_write_into_a_missing_directory_fails_cleanly),
	    T(test_write_that_fails_to_rename_leaves_the_old_path_and_no_temp),
	    T(test_written_file_reads_back_as_private),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
